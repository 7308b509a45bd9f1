/*
 * Unit tests for nn_gradcheck.  Sampled central-difference checks pass
 * on every model shape and activation, with and without dropout and
 * weight decay, in float64 and float32.  A corrupted gradient entry
 * makes the distance large, the parameters come back bit-identical,
 * and the entries checked are the ones the generator draws.
 *
 * Prints one line per failed check (file:line) and a final
 * "N passed, M failed"; exits 1 when anything failed.
 */
#include "nn_gradcheck.h"
#include "nn_model.h"
#include "nn_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Small models: 5 inputs, 3 classes, batches of 7 samples. */
#define N_INPUTS 5
#define N_CLASSES 3
#define BATCH 7

/* The step and the largest distance nn-train uses for each dtype. */
#define EPS_F64 1e-6
#define EPS_F32 5e-4
#define TOL_F64 1e-7
#define TOL_F32 1e-2

static size_t dtype_bytes(nn_dtype dtype)
{
    return dtype == NN_F64 ? sizeof(double) : sizeof(float);
}

static double get(nn_dtype dtype, const void *buf, size_t k)
{
    if (dtype == NN_F64)
        return ((const double *)buf)[k];
    return ((const float *)buf)[k];
}

static void set(nn_dtype dtype, void *buf, size_t k, double v)
{
    if (dtype == NN_F64)
        ((double *)buf)[k] = v;
    else
        ((float *)buf)[k] = (float)v;
}

/* Standard normal inputs (BATCH, N_INPUTS) in dtype and their labels. */
static void *make_batch(nn_dtype dtype, int *labels, uint64_t seed)
{
    size_t n = (size_t)BATCH * N_INPUTS;
    void *x = malloc(n * dtype_bytes(dtype));
    nn_rng rng;

    if (!x) {
        perror("malloc");
        exit(1);
    }
    nn_rng_seed(&rng, seed);
    for (size_t k = 0; k < n; k++)
        set(dtype, x, k, nn_rng_normal(&rng));
    /* every class present, so no class has an all-zero gradient row */
    for (int i = 0; i < BATCH; i++)
        labels[i] = i % N_CLASSES;
    return x;
}

typedef struct {
    const char *name;
    nn_arch arch;
    int n_hidden;               /* hidden = {4, 3}, cut to n_hidden */
    nn_activation activation;
} shape_case;

static const shape_case shapes[] = {
    {"one-layer", NN_ARCH_ONE_LAYER, 0, NN_ACT_LEAKY_RELU},
    {"leaky-relu", NN_ARCH_N_LAYERS, 2, NN_ACT_LEAKY_RELU},
    {"relu", NN_ARCH_N_LAYERS, 2, NN_ACT_RELU},
    {"tanh", NN_ARCH_N_LAYERS, 2, NN_ACT_TANH},
    {"sigmoid", NN_ARCH_N_LAYERS, 2, NN_ACT_SIGMOID},
    {"no hidden", NN_ARCH_N_LAYERS, 0, NN_ACT_LEAKY_RELU},
};

#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static nn_model *make_model(const shape_case *sc, nn_dtype dtype,
                            double dropout, uint64_t seed)
{
    nn_model_config cfg;

    nn_model_config_default(&cfg);
    cfg.arch = sc->arch;
    cfg.n_inputs = N_INPUTS;
    cfg.n_classes = N_CLASSES;
    cfg.n_hidden = sc->n_hidden;
    cfg.hidden[0] = 4;
    cfg.hidden[1] = 3;
    cfg.activation = sc->activation;
    cfg.dropout = dropout;
    cfg.dtype = dtype;
    cfg.seed = seed;
    return nn_model_create(&cfg);
}

/*
 * One training step up to the update, as nn-train runs it: a TRAIN
 * forward, the backward pass and, when lambda > 0, the weight decay.
 */
static int train_step(nn_model *model, const void *x, const int *labels,
                      double lambda)
{
    if (!nn_model_forward(model, x, BATCH, NN_MODE_TRAIN) ||
        nn_model_backward(model, labels) < 0)
        return -1;
    if (lambda > 0)
        nn_model_add_weight_decay(model, lambda, BATCH);
    return 0;
}

/* Every parameter value and buffer, concatenated as raw bytes. */
static unsigned char *snapshot(nn_model *model, size_t *n_bytes)
{
    size_t elem = dtype_bytes(nn_model_get_config(model)->dtype);
    size_t total = 0, at = 0;
    unsigned char *buf;

    for (size_t i = 0; i < nn_model_n_params(model); i++)
        total += nn_model_param(model, i)->size * elem;
    for (size_t i = 0; i < nn_model_n_buffers(model); i++)
        total += nn_model_buffer(model, i)->size * elem;
    buf = malloc(total ? total : 1);
    if (!buf) {
        perror("malloc");
        exit(1);
    }
    for (size_t i = 0; i < nn_model_n_params(model); i++) {
        nn_param *p = nn_model_param(model, i);
        memcpy(buf + at, p->value, p->size * elem);
        at += p->size * elem;
    }
    for (size_t i = 0; i < nn_model_n_buffers(model); i++) {
        nn_param *p = nn_model_buffer(model, i);
        memcpy(buf + at, p->value, p->size * elem);
        at += p->size * elem;
    }
    *n_bytes = total;
    return buf;
}

static int compare_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Replay the draws nn_gradcheck makes from a copy of its generator:
 * for each tensor, n_samples indices below its size.  Returns the
 * number of distinct (tensor, index) pairs, and stores in *first_out
 * the first index drawn for tensor `target`.
 */
static int replay_draws(nn_model *model, nn_rng rng, int n_samples,
                        size_t target, size_t *first_out)
{
    size_t *idx = malloc((size_t)n_samples * sizeof *idx);
    int distinct = 0;

    if (!idx) {
        perror("malloc");
        exit(1);
    }
    for (size_t t = 0; t < nn_model_n_params(model); t++) {
        size_t size = nn_model_param(model, t)->size;
        for (int k = 0; k < n_samples; k++)
            idx[k] = (size_t)nn_rng_below(&rng, size);
        if (t == target)
            *first_out = idx[0];
        qsort(idx, n_samples, sizeof *idx, compare_index);
        for (int k = 0; k < n_samples; k++)
            distinct += k == 0 || idx[k] != idx[k - 1];
    }
    free(idx);
    return distinct;
}

/* Checks pass on every shape, with dropout and weight decay or not. */
static void test_distances(nn_dtype dtype)
{
    static const double dropouts[] = {0, 0.3};
    static const double lambdas[] = {0, 0.1};
    double eps = dtype == NN_F64 ? EPS_F64 : EPS_F32;
    double tol = dtype == NN_F64 ? TOL_F64 : TOL_F32;
    uint64_t seed = 1;

    for (size_t s = 0; s < N_SHAPES; s++) {
        for (int d = 0; d < 2; d++) {
            for (int l = 0; l < 2; l++, seed++) {
                int labels[BATCH];
                void *x = make_batch(dtype, labels, 100 + seed);
                nn_model *model = make_model(&shapes[s], dtype, dropouts[d],
                                             seed);
                nn_gradcheck_result res;
                nn_rng rng;

                CHECK(model != NULL);
                if (!model) {
                    free(x);
                    continue;
                }
                nn_rng_seed(&rng, seed);
                CHECK(train_step(model, x, labels, lambdas[l]) == 0);
                CHECK(nn_gradcheck(model, x, labels, BATCH, lambdas[l], 4,
                                   eps, &rng, &res) == 0);
                printf("%s %-10s dropout %.1f decay %.1f: distance %.3g "
                       "(limit %g), %d entries\n",
                       dtype == NN_F64 ? "f64" : "f32", shapes[s].name,
                       dropouts[d], lambdas[l], res.distance, tol,
                       res.n_checked);
                CHECK(res.distance <= tol);
                CHECK(res.distance > 0);
                CHECK(res.worst_distance <= tol);
                CHECK(res.n_checked >= (int)nn_model_n_params(model));
                CHECK(nn_model_find(model, res.worst) != NULL);
                nn_model_free(model);
                free(x);
            }
        }
    }
}

/*
 * Adding 1 to one gradient entry that the check samples must show:
 * the distance grows far past the limit, and the worst tensor is the
 * corrupted one.
 */
static void test_corrupted_gradient(nn_dtype dtype)
{
    double eps = dtype == NN_F64 ? EPS_F64 : EPS_F32;
    double tol = dtype == NN_F64 ? TOL_F64 : TOL_F32;

    for (size_t s = 0; s < N_SHAPES; s++) {
        int labels[BATCH];
        void *x = make_batch(dtype, labels, 7);
        nn_model *model = make_model(&shapes[s], dtype, 0, 11);
        nn_gradcheck_result res;
        nn_rng rng;
        size_t target, first = 0;

        CHECK(model != NULL);
        if (!model) {
            free(x);
            continue;
        }
        target = nn_model_n_params(model) - 1;
        nn_param *p = nn_model_param(model, target);
        int n_samples = (int)p->size;
        CHECK(train_step(model, x, labels, 0) == 0);
        nn_rng_seed(&rng, 5);
        replay_draws(model, rng, n_samples, target, &first);
        set(dtype, p->grad, first, get(dtype, p->grad, first) + 1.0);
        CHECK(nn_gradcheck(model, x, labels, BATCH, 0, n_samples, eps, &rng,
                           &res) == 0);
        printf("%s %-10s corrupted %s[%zu]: distance %.3g\n",
               dtype == NN_F64 ? "f64" : "f32", shapes[s].name, p->name,
               first, res.distance);
        /* 10 times the float32 limit, 10^6 times the float64 one */
        CHECK(res.distance > 0.1);
        CHECK(res.distance > 10 * tol);
        CHECK(strcmp(res.worst, p->name) == 0);
        CHECK(res.worst_distance >= res.distance);
        nn_model_free(model);
        free(x);
    }
}

/* J includes the L2 term, so a missing weight decay gradient shows. */
static void test_missing_weight_decay(void)
{
    int labels[BATCH];
    void *x = make_batch(NN_F64, labels, 3);
    nn_model *model = make_model(&shapes[1], NN_F64, 0, 4);
    nn_gradcheck_result res;
    nn_rng rng;

    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(train_step(model, x, labels, 0) == 0);
    nn_rng_seed(&rng, 1);
    CHECK(nn_gradcheck(model, x, labels, BATCH, 1.0, 4, EPS_F64, &rng,
                       &res) == 0);
    CHECK(res.distance > 1e-3);
    nn_model_free(model);
    free(x);
}

/* Values, buffers and gradients are unchanged, bit for bit. */
static void test_parameters_restored(nn_dtype dtype)
{
    double eps = dtype == NN_F64 ? EPS_F64 : EPS_F32;

    for (size_t s = 0; s < N_SHAPES; s++) {
        int labels[BATCH];
        void *x = make_batch(dtype, labels, 9);
        nn_model *model = make_model(&shapes[s], dtype, 0.3, 21);
        nn_gradcheck_result res;
        size_t n_before, n_after, n_grad = 0;
        nn_rng rng;

        CHECK(model != NULL);
        if (!model) {
            free(x);
            continue;
        }
        CHECK(train_step(model, x, labels, 0.1) == 0);
        unsigned char *before = snapshot(model, &n_before);
        size_t elem = dtype_bytes(dtype);
        for (size_t i = 0; i < nn_model_n_params(model); i++)
            n_grad += nn_model_param(model, i)->size * elem;
        unsigned char *grads = malloc(n_grad), *at = grads;
        if (!grads) {
            perror("malloc");
            exit(1);
        }
        for (size_t i = 0; i < nn_model_n_params(model); i++) {
            nn_param *p = nn_model_param(model, i);
            memcpy(at, p->grad, p->size * elem);
            at += p->size * elem;
        }

        nn_rng_seed(&rng, 2);
        CHECK(nn_gradcheck(model, x, labels, BATCH, 0.1, 50, eps, &rng,
                           &res) == 0);
        unsigned char *after = snapshot(model, &n_after);
        CHECK(n_before == n_after);
        CHECK(memcmp(before, after, n_before) == 0);
        at = grads;
        for (size_t i = 0; i < nn_model_n_params(model); i++) {
            nn_param *p = nn_model_param(model, i);
            CHECK(memcmp(at, p->grad, p->size * elem) == 0);
            at += p->size * elem;
        }
        free(before);
        free(after);
        free(grads);
        nn_model_free(model);
        free(x);
    }
}

/* The entries checked are the distinct indices drawn per tensor. */
static void test_entries_counted(void)
{
    static const int samples[] = {1, 2, 5, 40};
    int labels[BATCH];
    void *x = make_batch(NN_F64, labels, 13);
    nn_model *model = make_model(&shapes[3], NN_F64, 0, 8);
    size_t n_scalars;

    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    n_scalars = nn_model_n_scalars(model);
    CHECK(train_step(model, x, labels, 0) == 0);
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        nn_gradcheck_result res;
        nn_rng rng, copy;
        size_t first;

        nn_rng_seed(&rng, 30 + i);
        copy = rng;
        int expected = replay_draws(model, copy, samples[i], 0, &first);
        CHECK(nn_gradcheck(model, x, labels, BATCH, 0, samples[i], EPS_F64,
                           &rng, &res) == 0);
        CHECK(res.n_checked == expected);
        CHECK(res.n_checked <= (int)n_scalars);
        if (samples[i] == 1)
            CHECK(res.n_checked == (int)nn_model_n_params(model));
    }
    nn_model_free(model);
    free(x);
}

/* Same generator state, same draws, same result. */
static void test_repeatable(void)
{
    int labels[BATCH];
    void *x = make_batch(NN_F64, labels, 17);
    nn_model *model = make_model(&shapes[2], NN_F64, 0.3, 3);
    nn_gradcheck_result a, b;
    nn_rng one, two;

    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(train_step(model, x, labels, 0) == 0);
    nn_rng_seed(&one, 77);
    nn_rng_seed(&two, 77);
    CHECK(nn_gradcheck(model, x, labels, BATCH, 0, 3, EPS_F64, &one,
                       &a) == 0);
    CHECK(nn_gradcheck(model, x, labels, BATCH, 0, 3, EPS_F64, &two,
                       &b) == 0);
    CHECK(a.distance == b.distance);
    CHECK(a.n_checked == b.n_checked);
    CHECK(strcmp(a.worst, b.worst) == 0);
    CHECK(memcmp(&one, &two, sizeof one) == 0);
    nn_model_free(model);
    free(x);
}

/* A batch size other than the training pass's makes the forward fail. */
static void test_forward_failure(void)
{
    int labels[BATCH];
    void *x = make_batch(NN_F64, labels, 19);
    nn_model *model = make_model(&shapes[1], NN_F64, 0, 6);
    nn_gradcheck_result res;
    size_t n_before, n_after;
    nn_rng rng;

    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(train_step(model, x, labels, 0) == 0);
    unsigned char *before = snapshot(model, &n_before);
    nn_rng_seed(&rng, 4);
    CHECK(nn_gradcheck(model, x, labels, BATCH - 1, 0, 2, EPS_F64, &rng,
                       &res) == -1);
    unsigned char *after = snapshot(model, &n_after);
    CHECK(memcmp(before, after, n_before) == 0);
    free(before);
    free(after);
    nn_model_free(model);
    free(x);
}

int main(void)
{
    test_distances(NN_F64);
    test_distances(NN_F32);
    test_corrupted_gradient(NN_F64);
    test_corrupted_gradient(NN_F32);
    test_missing_weight_decay();
    test_parameters_restored(NN_F64);
    test_parameters_restored(NN_F32);
    test_entries_counted();
    test_repeatable();
    test_forward_failure();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
