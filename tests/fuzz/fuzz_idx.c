/*
 * libFuzzer target for the IDX reader (lib/nn_idx.c).  The first input
 * byte picks how the rest reaches the reader.  An even byte writes it as
 * it is, so a gzip file in the corpus is read through zlib as found.  An
 * odd byte compresses it with gzip first, so mutations of a plain IDX
 * file also go through the decompressing path.
 */
#include <zlib.h>

#include "fuzz_common.h"
#include "nn_idx.h"

/* Compress data into a new gzip buffer, or return NULL if zlib fails. */
static uint8_t *gzip(const uint8_t *data, size_t size, size_t *out_len)
{
    z_stream z;
    uint8_t *out;
    size_t cap;

    memset(&z, 0, sizeof z);
    /* 15 window bits, + 16 for a gzip header and trailer */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    cap = deflateBound(&z, (uLong)size) + 32;
    out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    const char *path;
    uint8_t *item;
    nn_idx idx;
    int rc;

    if (size == 0)
        return 0;
    if (data[0] & 1) {
        size_t len;
        uint8_t *z = gzip(data + 1, size - 1, &len);
        path = fuzz_scratch_file(z, len);
        free(z);
    } else {
        path = fuzz_scratch_file(data + 1, size - 1);
    }

    err[0] = '\0';
    if (nn_idx_open(&idx, path, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(idx.n_dims >= 1 && idx.n_dims <= NN_IDX_MAX_DIMS);
    FUZZ_CHECK(idx.item_bytes >= 1 &&
               idx.item_bytes <= NN_IDX_MAX_ITEM_BYTES);
    FUZZ_CHECK(idx.dims[0] >= 1 && idx.dims[0] <= NN_IDX_MAX_ITEMS);
    item = malloc(idx.item_bytes);
    FUZZ_CHECK(item != NULL);
    while ((rc = nn_idx_read(&idx, item, err, sizeof err)) == 1)
        fuzz_touch(item, idx.item_bytes);
    FUZZ_CHECK(rc == 0 || err[0] != '\0');
    FUZZ_CHECK(rc != 0 || idx.n_read == idx.dims[0]);
    free(item);
    nn_idx_close(&idx);
    return 0;
}
