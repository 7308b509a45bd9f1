/*
 * Tensors as they travel in records: a dtype, a shape and raw
 * little-endian bytes.  This header describes, sizes and converts
 * them; reading them from a record lives in nn_record.h.
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

/*
 * Convert n values at src, of src_dtype NN_U8, NN_F32 or NN_F64, into
 * the model's real type dst_dtype (NN_F32 or NN_F64) at dst.  A u8
 * value v becomes v * scale computed in double, then rounded to
 * dst_dtype; floats are copied or rounded.  src may be unaligned, as
 * it is inside a record.  Returns 0, or -1 when a result is NaN or
 * infinite, because an input float was or because a double is too
 * large for float.  dst is filled either way.
 */
int nn_tensor_convert(void *dst, nn_dtype dst_dtype, const void *src,
                      nn_dtype src_dtype, size_t n, double scale);

/*
 * Convert n values of src_dtype found at offset bytes into buf to
 * dst_dtype (NN_F32 or NN_F64) at the start of buf, as
 * nn_tensor_convert would, but in place.  buf must have room for
 * max(offset + n * source size, n * result size) bytes.  Widening takes
 * extra memory of about offset * s / (e - s) bytes, for element sizes
 * s and e.  Narrowing or copying takes 4 KiB of stack.  Returns 0, -1
 * when a result is not finite, or -2 when memory runs out (buf is then
 * unchanged).
 */
int nn_tensor_convert_in_place(void *buf, nn_dtype dst_dtype, size_t offset,
                               nn_dtype src_dtype, size_t n, double scale);

#endif
