/*
 * IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic
 * (two zero bytes, a type byte, the number of dims), the dims as
 * big-endian 32-bit counts, then the items back to back.  Files may be
 * gzip-compressed.  Only unsigned-byte data (type 0x08) is read.
 */
#ifndef NN_IDX_H
#define NN_IDX_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define NN_IDX_MAX_DIMS 4
#define NN_IDX_MAX_ITEMS ((uint32_t)1 << 28)
#define NN_IDX_MAX_ITEM_BYTES ((uint64_t)1 << 26)

typedef struct {
    gzFile gz;
    int n_dims;
    uint32_t dims[NN_IDX_MAX_DIMS];     /* dims[0] counts the items */
    size_t item_bytes;                  /* product of dims[1..] */
    uint32_t n_read;
} nn_idx;

/*
 * Open path and read its header.  Returns 0, or -1 with a reason in
 * err (a bad magic, an unsupported type, sizes over the limits).
 */
int nn_idx_open(nn_idx *idx, const char *path, char *err, size_t err_len);

/*
 * Read the next item (item_bytes bytes) into buf.  Returns 1, 0 when
 * every item has been read, or -1 with err set on a truncated file.
 */
int nn_idx_read(nn_idx *idx, void *buf, char *err, size_t err_len);

void nn_idx_close(nn_idx *idx);

#endif
