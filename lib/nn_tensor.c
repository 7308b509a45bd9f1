/* Element sizes, wire names and checked shape products. */
#include "nn_tensor.h"

#include <string.h>

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
