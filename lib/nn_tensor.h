/*
 * Tensors as they travel in records: a dtype, a shape and raw
 * little-endian bytes.  This header only describes and sizes them;
 * reading them from a record lives in nn_record.h.
 */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define NN_MAX_DIMS 8

/* Element types, spelled as numpy spells them on the wire. */
typedef enum {
    NN_U8,
    NN_I32,
    NN_F32,
    NN_F64
} nn_dtype;

typedef struct {
    nn_dtype dtype;
    int n_dims;
    int64_t shape[NN_MAX_DIMS];
    const void *data;           /* borrowed; n_bytes long */
    size_t n_bytes;
} nn_tensor;

/* Size in bytes of one element of dtype. */
size_t nn_dtype_size(nn_dtype dtype);

/* Wire name of dtype ("u8", "i32", "f32", "f64"). */
const char *nn_dtype_name(nn_dtype dtype);

/* Parse a wire name of len bytes.  Returns 0 and sets *out, or -1. */
int nn_dtype_parse(const char *name, size_t len, nn_dtype *out);

/*
 * Multiply the dims of shape into *out.  Returns -1 when a dim is not
 * positive or the product exceeds limit, before anything overflows.
 */
int nn_shape_count(const int64_t *shape, int n_dims, uint64_t limit,
                   uint64_t *out);

#endif
