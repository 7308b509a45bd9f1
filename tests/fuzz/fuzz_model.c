/*
 * libFuzzer target for model and checkpoint files
 * (lib/nn_model_io.c, lib/nn_checkpoint.c).  Each input is loaded as a
 * model file, and a model that loads must run a forward pass on one
 * sample of the input shape it declares.  The same bytes are also
 * read as a checkpoint with nn_checkpoint_peek.
 */
#include "fuzz_common.h"
#include "nn_checkpoint.h"
#include "nn_model_io.h"

static void run_forward(nn_saved_model *m)
{
    const nn_model_config *cfg = nn_model_get_config(m->model);
    uint64_t n_inputs;
    void *x;

    FUZZ_CHECK(nn_shape_count(m->input_shape, 3, (uint64_t)1 << 30,
                              &n_inputs) == 0);
    FUZZ_CHECK(n_inputs == (uint64_t)cfg->n_inputs);
    FUZZ_CHECK(cfg->n_classes == m->header.n_classes);
    x = calloc(n_inputs, nn_dtype_size(cfg->dtype));
    FUZZ_CHECK(x != NULL);
    FUZZ_CHECK(nn_model_forward(m->model, x, 1, NN_MODE_INFER) != NULL);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    int64_t shape[3];
    nn_saved_model m;
    char err[256];

    err[0] = '\0';
    if (nn_model_load(path, &m, err, sizeof err) == 0) {
        FUZZ_CHECK(m.model != NULL);
        run_forward(&m);
        nn_saved_model_free(&m);
    } else {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(m.model == NULL);
    }
    err[0] = '\0';
    if (nn_checkpoint_peek(path, shape, err, sizeof err) != 0)
        FUZZ_CHECK(err[0] != '\0');
    return 0;
}
