/*
 * Unit tests for nn_tensor_convert: u8 pixels times a scale, float
 * widening and narrowing, unaligned sources, the NaN and infinity
 * checks that keep bad inputs out of training, and conversion in place
 * inside a record's buffer.
 */
#include "nn_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Sizes past the vector width, so both the vector loop and its scalar
 * remainder run. */
#define N_VALUES 1000

static void test_u8_scale_is_exact(void)
{
    /* Every pixel value must become v * scale computed in double,
     * which nn-train and nn-predict both feed the model.  v / 255.0
     * would differ from v * (1 / 255.0) in the last bit for 24 values. */
    unsigned char px[N_VALUES];
    double f64[N_VALUES];
    float f32[N_VALUES];
    double scale = 1.0 / 255.0;
    int same64 = 1, same32 = 1;

    for (int i = 0; i < N_VALUES; i++)
        px[i] = (unsigned char)(i % 256);
    CHECK(nn_tensor_convert(f64, NN_F64, px, NN_U8, N_VALUES, scale) == 0);
    CHECK(nn_tensor_convert(f32, NN_F32, px, NN_U8, N_VALUES, scale) == 0);
    for (int i = 0; i < N_VALUES; i++) {
        same64 &= f64[i] == px[i] * scale;
        same32 &= f32[i] == (float)(px[i] * scale);
    }
    CHECK(same64);
    CHECK(same32);
    CHECK(f64[255] == 255 * scale);
    CHECK(f32[0] == 0.0f);
}

static void test_unaligned_floats(void)
{
    /* Tensors sit inside records at any byte offset. */
    char raw[1 + N_VALUES * sizeof(double)];
    double f64[N_VALUES];
    float f32[N_VALUES];
    int same = 1;

    for (int i = 0; i < N_VALUES; i++) {
        float v = (float)i / 7;

        memcpy(raw + 1 + i * sizeof v, &v, sizeof v);
    }
    CHECK(nn_tensor_convert(f64, NN_F64, raw + 1, NN_F32, N_VALUES, 1) == 0);
    CHECK(nn_tensor_convert(f32, NN_F32, raw + 1, NN_F32, N_VALUES, 1) == 0);
    for (int i = 0; i < N_VALUES; i++)
        same &= f64[i] == (double)((float)i / 7) && f32[i] == (float)i / 7;
    CHECK(same);

    for (int i = 0; i < N_VALUES; i++) {
        double v = i / 7.0;

        memcpy(raw + 1 + i * sizeof v, &v, sizeof v);
    }
    CHECK(nn_tensor_convert(f32, NN_F32, raw + 1, NN_F64, N_VALUES, 1) == 0);
    CHECK(nn_tensor_convert(f64, NN_F64, raw + 1, NN_F64, N_VALUES, 1) == 0);
    same = 1;
    for (int i = 0; i < N_VALUES; i++)
        same &= f32[i] == (float)(i / 7.0) && f64[i] == i / 7.0;
    CHECK(same);
}

static void test_non_finite_rejected(void)
{
    double in64[N_VALUES], out64[N_VALUES];
    float in32[N_VALUES], out32[N_VALUES];
    unsigned char px[N_VALUES];

    for (int i = 0; i < N_VALUES; i++) {
        in64[i] = i;
        in32[i] = (float)i;
        px[i] = (unsigned char)i;
    }
    /* the last value, which the scalar remainder loop handles */
    in64[N_VALUES - 1] = NAN;
    CHECK(nn_tensor_convert(out64, NN_F64, in64, NN_F64, N_VALUES, 1) < 0);
    CHECK(nn_tensor_convert(out32, NN_F32, in64, NN_F64, N_VALUES, 1) < 0);
    in64[N_VALUES - 1] = 0;
    in64[3] = -INFINITY;
    CHECK(nn_tensor_convert(out64, NN_F64, in64, NN_F64, N_VALUES, 1) < 0);
    in64[3] = 1e300;            /* finite, but not as a float */
    CHECK(nn_tensor_convert(out64, NN_F64, in64, NN_F64, N_VALUES, 1) == 0);
    CHECK(nn_tensor_convert(out32, NN_F32, in64, NN_F64, N_VALUES, 1) < 0);

    in32[500] = NAN;
    CHECK(nn_tensor_convert(out32, NN_F32, in32, NN_F32, N_VALUES, 1) < 0);
    CHECK(nn_tensor_convert(out64, NN_F64, in32, NN_F32, N_VALUES, 1) < 0);

    /* 255 * 1e307 overflows a double, 255 * 1e37 a float, but a batch
     * without large pixels still converts */
    CHECK(nn_tensor_convert(out64, NN_F64, px, NN_U8, N_VALUES, 1e307) < 0);
    CHECK(nn_tensor_convert(out32, NN_F32, px, NN_U8, N_VALUES, 1e37) < 0);
    memset(px, 1, sizeof px);
    CHECK(nn_tensor_convert(out32, NN_F32, px, NN_U8, N_VALUES, 1e37) == 0);
    CHECK(out32[0] == 1e37f);
}

/*
 * In place must give what converting into another buffer gives, for
 * every pair of types and wherever the values sit: at the start, a few
 * bytes in (unaligned for floats), straddling the block size, or past
 * every result.
 */
static void test_in_place_matches(void)
{
    static const size_t offsets[] = {0, 1, 2, 3, 6, 7, 100, 4095, 4096,
                                     12289, 30000};
    static const size_t counts[] = {1, 5, 4096, 4097, 10000, 100000};
    static const nn_dtype sources[] = {NN_U8, NN_F32, NN_F64};
    static const nn_dtype results[] = {NN_F32, NN_F64};
    double scale = 1.0 / 255.0;

    for (size_t si = 0; si < 3; si++) {
        for (size_t d = 0; d < 2; d++) {
            size_t s = nn_dtype_size(sources[si]);
            size_t e = nn_dtype_size(results[d]);

            for (size_t o = 0; o < sizeof offsets / sizeof *offsets; o++) {
                for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
                    size_t off = offsets[o], n = counts[c];
                    size_t size = off + n * s > n * e ? off + n * s : n * e;
                    unsigned char *buf = malloc(size), *in = malloc(n * s);
                    void *want = malloc(n * e);

                    for (size_t i = 0; i < n; i++) {
                        double v = (double)(i * 37 % 256) / 3;
                        float f = (float)v;
                        unsigned char px = (unsigned char)(i * 37 + off);

                        if (sources[si] == NN_U8)
                            in[i] = px;
                        else if (sources[si] == NN_F32)
                            memcpy(in + i * s, &f, s);
                        else
                            memcpy(in + i * s, &v, s);
                    }
                    memset(buf, 0xa5, size);
                    memcpy(buf + off, in, n * s);
                    nn_tensor_convert(want, results[d], in, sources[si], n,
                                      scale);
                    int rc = nn_tensor_convert_in_place(buf, results[d], off,
                                                        sources[si], n,
                                                        scale);
                    int same = memcmp(buf, want, n * e) == 0;
                    if (rc != 0 || !same)
                        fprintf(stderr, "in place: %s to %s, offset %zu "
                                "n %zu\n", nn_dtype_name(sources[si]),
                                nn_dtype_name(results[d]), off, n);
                    CHECK(rc == 0);
                    CHECK(same);
                    free(buf);
                    free(in);
                    free(want);
                }
            }
        }
    }

    /* an overflowing scale or a NaN is reported in place too */
    unsigned char raw[64] = {0};
    raw[8] = 255;
    CHECK(nn_tensor_convert_in_place(raw, NN_F32, 8, NN_U8, 4, 1e37) < 0);
    double nan = NAN;
    memset(raw, 0, sizeof raw);
    memcpy(raw + 24, &nan, sizeof nan);
    CHECK(nn_tensor_convert_in_place(raw, NN_F32, 8, NN_F64, 4, 1) < 0);
    CHECK(nn_tensor_convert_in_place(raw, NN_F64, 8, NN_F64, 4, 1) < 0);
}

int main(void)
{
    test_u8_scale_is_exact();
    test_unaligned_floats();
    test_non_finite_rejected();
    test_in_place_matches();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed != 0;
}
