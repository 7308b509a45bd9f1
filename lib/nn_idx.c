/* IDX reading through zlib, which also reads uncompressed files. */
#include "nn_idx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int read_exact(gzFile gz, void *buf, size_t n)
{
    int got = gzread(gz, buf, (unsigned)n);

    return got == (int)n ? 0 : -1;
}

/*
 * Explain a failed read_exact: zlib's reason when the gzip data is
 * corrupt or cut ("unexpected end of file"), or else the message fmt,
 * for an IDX file that is itself too short or malformed.
 */
static void read_failure(gzFile gz, char *err, size_t len, const char *fmt,
                         ...)
{
    int zerr = Z_OK;
    const char *reason = gzerror(gz, &zerr);
    va_list ap;

    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        /* zlib writes "PATH: reason"; its reasons hold no ": " */
        const char *colon = strstr(reason, ": ");
        while (colon && strstr(colon + 2, ": "))
            colon = strstr(colon + 2, ": ");
        snprintf(err, len, "gzip data error: %s", colon ? colon + 2 : reason);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

int nn_idx_open(nn_idx *idx, const char *path, char *err, size_t len)
{
    unsigned char magic[4], dim[4];
    uint64_t item = 1;

    memset(idx, 0, sizeof *idx);
    idx->gz = gzopen(path, "rb");
    if (!idx->gz) {
        snprintf(err, len, "cannot open: %s", strerror(errno ? errno : ENOMEM));
        return -1;
    }
    if (read_exact(idx->gz, magic, 4) < 0) {
        read_failure(idx->gz, err, len, "not an IDX file");
        goto fail;
    }
    if (magic[0] || magic[1]) {
        snprintf(err, len, "not an IDX file");
        goto fail;
    }
    if (magic[2] != 0x08) {
        snprintf(err, len, "IDX data type 0x%02x is not supported (only "
                 "unsigned bytes, 0x08)", magic[2]);
        goto fail;
    }
    if (magic[3] < 1 || magic[3] > NN_IDX_MAX_DIMS) {
        snprintf(err, len, "IDX file has %d dims, expected 1 to %d",
                 magic[3], NN_IDX_MAX_DIMS);
        goto fail;
    }
    idx->n_dims = magic[3];
    for (int i = 0; i < idx->n_dims; i++) {
        if (read_exact(idx->gz, dim, 4) < 0) {
            read_failure(idx->gz, err, len, "truncated IDX header");
            goto fail;
        }
        idx->dims[i] = (uint32_t)dim[0] << 24 | (uint32_t)dim[1] << 16 |
                       (uint32_t)dim[2] << 8 | dim[3];
        if (i > 0)
            item *= idx->dims[i];
        if (idx->dims[i] == 0 || (i == 0 && idx->dims[0] > NN_IDX_MAX_ITEMS) ||
            item > NN_IDX_MAX_ITEM_BYTES) {
            snprintf(err, len, "IDX dim %d of %u is zero or over the limit",
                     i, idx->dims[i]);
            goto fail;
        }
    }
    idx->item_bytes = (size_t)item;
    return 0;
fail:
    gzclose(idx->gz);
    idx->gz = NULL;
    return -1;
}

int nn_idx_read(nn_idx *idx, void *buf, char *err, size_t len)
{
    if (idx->n_read == idx->dims[0])
        return 0;
    if (read_exact(idx->gz, buf, idx->item_bytes) < 0) {
        read_failure(idx->gz, err, len, "truncated IDX data: item %u of %u "
                     "is incomplete", idx->n_read + 1, idx->dims[0]);
        return -1;
    }
    idx->n_read++;
    return 1;
}

void nn_idx_close(nn_idx *idx)
{
    if (idx->gz)
        gzclose(idx->gz);
    idx->gz = NULL;
}
