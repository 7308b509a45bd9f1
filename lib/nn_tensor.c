/* Element sizes, wire names, checked shape products and conversion. */
#include "nn_tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_simd.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [NN_U8] = {"u8", 1},
    [NN_I32] = {"i32", 4},
    [NN_F32] = {"f32", 4},
    [NN_F64] = {"f64", 8},
};

size_t nn_dtype_size(nn_dtype dtype)
{
    return dtypes[dtype].size;
}

const char *nn_dtype_name(nn_dtype dtype)
{
    return dtypes[dtype].name;
}

int nn_dtype_parse(const char *name, size_t len, nn_dtype *out)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
        if (strlen(dtypes[i].name) == len &&
            memcmp(dtypes[i].name, name, len) == 0) {
            *out = (nn_dtype)i;
            return 0;
        }
    }
    return -1;
}

int nn_shape_count(const int64_t *shape, int n_dims, uint64_t limit,
                   uint64_t *out)
{
    uint64_t count = 1;

    for (int i = 0; i < n_dims; i++) {
        if (shape[i] <= 0 || (uint64_t)shape[i] > limit / count)
            return -1;
        count *= (uint64_t)shape[i];
    }
    *out = count;
    return 0;
}

/*
 * One loop per pair of types, so that each one vectorises.  Unaligned
 * floats are loaded with memcpy, which compiles to a plain load.
 */
VECTORIZED
static void u8_to_f32(float *restrict out, const uint8_t *restrict in,
                      size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(in[i] * scale);
}

VECTORIZED
static void u8_to_f64(double *restrict out, const uint8_t *restrict in,
                      size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * scale;
}

VECTORIZED
static void f32_to_f64(double *restrict out, const char *restrict in,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v;

        memcpy(&v, in + i * sizeof v, sizeof v);
        out[i] = v;
    }
}

VECTORIZED
static void f64_to_f32(float *restrict out, const char *restrict in,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;

        memcpy(&v, in + i * sizeof v, sizeof v);
        out[i] = (float)v;
    }
}

/*
 * 1 when a value is NaN or infinite: all its exponent bits are set.
 * Testing the bits, not isfinite(), lets the loop vectorise.
 */
VECTORIZED
static int any_non_finite_f32(const float *v, size_t n)
{
    const uint32_t exponent = 0x7f800000u;
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t bits;

        memcpy(&bits, &v[i], sizeof bits);
        bad |= (bits & exponent) == exponent;
    }
    return bad;
}

VECTORIZED
static int any_non_finite_f64(const double *v, size_t n)
{
    const uint64_t exponent = 0x7ff0000000000000u;
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t bits;

        memcpy(&bits, &v[i], sizeof bits);
        bad |= (bits & exponent) == exponent;
    }
    return bad;
}

int nn_tensor_convert(void *dst, nn_dtype dst_dtype, const void *src,
                      nn_dtype src_dtype, size_t n, double scale)
{
    int f64 = dst_dtype == NN_F64;

    switch (src_dtype) {
    case NN_U8: {
        if (f64)
            u8_to_f64(dst, src, n, scale);
        else
            u8_to_f32(dst, src, n, scale);
        /* When 255 * scale is finite in dst_dtype, so is every result,
         * and the check can be skipped. */
        double top = 255.0 * scale;
        if (f64 ? isfinite(top) : isfinite((float)top))
            return 0;
        break;
    }
    case NN_F32:
        if (f64)
            f32_to_f64(dst, src, n);
        else
            memcpy(dst, src, n * sizeof(float));
        break;
    default:
        if (f64)
            memcpy(dst, src, n * sizeof(double));
        else
            f64_to_f32(dst, src, n);
    }
    if (f64)
        return any_non_finite_f64(dst, n) ? -1 : 0;
    return any_non_finite_f32(dst, n) ? -1 : 0;
}

/*
 * The number of values that nn_tensor_convert_in_place copies out
 * first when it widens elements of s bytes to e bytes.
 */
static size_t overlapping_values(size_t s, size_t e, size_t offset,
                                 size_t n)
{
    size_t end = n;

    for (;;) {
        size_t top = (offset + s * end + e - 1) / e;

        if (top >= end)
            return end;
        end = top;
    }
}

/* Bytes of source values converted per step when narrowing. */
#define IN_PLACE_BLOCK 4096

/*
 * Value i moves from bytes [offset + s i, offset + s i + s) to bytes
 * [e i, e i + e), where s and e are the source and result element
 * sizes.
 *
 * When widening (s < e), while values [0, end) remain, those from
 * top = ceil((offset + s end) / e) up have results past every remaining
 * source byte, so they convert directly and end moves down to top.
 * That stops once the results of the remaining values would overlap
 * their own sources, and those few are copied out first.
 *
 * Otherwise (s >= e) every result lands at or before its source, so
 * the values go in order, a block at a time copied out before its
 * results overwrite it: a block's results end before the next block's
 * sources begin.
 */
int nn_tensor_convert_in_place(void *buf, nn_dtype dst_dtype, size_t offset,
                               nn_dtype src_dtype, size_t n, double scale)
{
    size_t s = nn_dtype_size(src_dtype), e = nn_dtype_size(dst_dtype);
    const uint8_t *src = (const uint8_t *)buf + offset;
    int bad = 0;

    if (s >= e) {
        _Alignas(8) uint8_t block[IN_PLACE_BLOCK];
        size_t per_block = IN_PLACE_BLOCK / s;

        for (size_t start = 0; start < n; start += per_block) {
            size_t count = n - start < per_block ? n - start : per_block;

            memcpy(block, src + start * s, count * s);
            bad |= nn_tensor_convert((char *)buf + start * e, dst_dtype,
                                     block, src_dtype, count, scale) < 0;
        }
        return bad ? -1 : 0;
    }

    size_t n_head = overlapping_values(s, e, offset, n), end = n;
    uint8_t *head = malloc(n_head ? n_head * s : 1);

    if (!head)
        return -2;
    while (end > n_head) {
        size_t top = (offset + s * end + e - 1) / e;

        bad |= nn_tensor_convert((char *)buf + top * e, dst_dtype,
                                 src + top * s, src_dtype, end - top,
                                 scale) < 0;
        end = top;
    }
    memcpy(head, src, n_head * s);
    bad |= nn_tensor_convert(buf, dst_dtype, head, src_dtype, n_head,
                             scale) < 0;
    free(head);
    return bad ? -1 : 0;
}
