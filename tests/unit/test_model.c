/*
 * Unit tests for nn_model and nn_optim: central-difference gradient
 * checks on every parameter entry of small models, forward-pass
 * properties, BatchNorm running statistics, initialisation, the loss,
 * the finiteness check, profiling and one-step optimizer updates.
 *
 * Prints one line per failed check (file:line) and a final
 * "N passed, M failed"; exits 1 when anything failed.
 */
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Check |got - want| <= tol * max(1, |want|) and print both if not. */
#define CHECK_NEAR(got, want, tol)                                      \
    check_near(__FILE__, __LINE__, #got, (got), (want), (tol))

static void check_near(const char *file, int line, const char *expr,
                       double got, double want, double tol)
{
    double scale = fabs(want) > 1 ? fabs(want) : 1;

    if (fabs(got - want) <= tol * scale) {
        n_passed++;
        return;
    }
    n_failed++;
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g (tolerance %g)\n",
            file, line, expr, got, want, tol);
}

/* Shapes shared by most tests: 5 inputs, 3 classes, batches of 7. */
#define N_INPUTS 5
#define N_CLASSES 3
#define BATCH 7

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

static size_t dtype_bytes(nn_dtype dtype)
{
    return dtype == NN_F64 ? sizeof(double) : sizeof(float);
}

static nn_model_config small_config(nn_arch arch, nn_dtype dtype)
{
    nn_model_config cfg;

    nn_model_config_default(&cfg);
    cfg.arch = arch;
    cfg.n_inputs = N_INPUTS;
    cfg.n_classes = N_CLASSES;
    cfg.n_hidden = 2;
    cfg.hidden[0] = 4;
    cfg.hidden[1] = 3;
    cfg.dtype = dtype;
    cfg.seed = 1234;
    return cfg;
}

/* A batch of n_rows standard normal inputs in dtype and its labels. */
static void *make_batch(nn_dtype dtype, int n_rows, int n_cols,
                        int n_classes, int *labels, uint64_t seed)
{
    void *x = malloc((size_t)n_rows * n_cols * dtype_bytes(dtype));
    nn_rng rng;

    if (!x) {
        perror("malloc");
        exit(1);
    }
    nn_rng_seed(&rng, seed);
    for (size_t k = 0; k < (size_t)n_rows * n_cols; k++)
        set(dtype, x, k, nn_rng_normal(&rng));
    for (int i = 0; i < n_rows; i++)
        labels[i] = (int)nn_rng_below(&rng, (uint64_t)n_classes);
    return x;
}

/* J = mean cross-entropy (+ lambda / (2m) ||theta||^2) in CHECK mode. */
static double cost(nn_model *model, const void *x, const int *labels,
                   int m, double lambda)
{
    double j;

    if (!nn_model_forward(model, x, m, NN_MODE_CHECK))
        return NAN;
    j = nn_model_loss(model, labels, m, NULL, NULL);
    if (lambda != 0)
        j += lambda / (2.0 * m) * nn_model_l2(model);
    return j;
}

/*
 * Compare backward's gradient with central differences on every entry
 * of every parameter.  Returns ||approx - analytic|| / (||approx|| +
 * ||analytic||).  The difference quotient divides by the perturbation
 * actually stored, which matters in float32.
 */
static double gradient_distance(nn_model *model, const void *x,
                                const int *labels, int m, double lambda,
                                double eps)
{
    nn_dtype dtype = nn_model_get_config(model)->dtype;
    size_t n = nn_model_n_scalars(model), at = 0;
    double *analytic = malloc(n * sizeof *analytic);
    double diff2 = 0, approx2 = 0, analytic2 = 0;

    if (!analytic || !nn_model_forward(model, x, m, NN_MODE_TRAIN)
        || nn_model_backward(model, labels) != 0) {
        free(analytic);
        return INFINITY;
    }
    if (lambda != 0)
        nn_model_add_weight_decay(model, lambda, m);
    for (size_t i = 0; i < nn_model_n_params(model); i++) {
        nn_param *p = nn_model_param(model, i);

        for (size_t k = 0; k < p->size; k++)
            analytic[at++] = get(dtype, p->grad, k);
    }

    at = 0;
    for (size_t i = 0; i < nn_model_n_params(model); i++) {
        nn_param *p = nn_model_param(model, i);

        for (size_t k = 0; k < p->size; k++, at++) {
            double theta = get(dtype, p->value, k), plus, minus;
            double j_plus, j_minus, approx;

            set(dtype, p->value, k, theta + eps);
            plus = get(dtype, p->value, k);
            j_plus = cost(model, x, labels, m, lambda);
            set(dtype, p->value, k, theta - eps);
            minus = get(dtype, p->value, k);
            j_minus = cost(model, x, labels, m, lambda);
            set(dtype, p->value, k, theta);

            approx = (j_plus - j_minus) / (plus - minus);
            diff2 += (approx - analytic[at]) * (approx - analytic[at]);
            approx2 += approx * approx;
            analytic2 += analytic[at] * analytic[at];
        }
    }
    free(analytic);
    return sqrt(diff2) / (sqrt(approx2) + sqrt(analytic2));
}

typedef struct {
    const char *name;
    nn_arch arch;
    int n_hidden;                   /* -1 keeps small_config's {4, 3} */
    nn_activation activation;
    double dropout;
    double lambda;
    nn_dtype dtype;
} grad_case;

static void test_gradients(void)
{
    static const grad_case cases[] = {
        { "one layer", NN_ARCH_ONE_LAYER, -1, NN_ACT_LEAKY_RELU, 0, 0,
          NN_F64 },
        { "leaky relu", NN_ARCH_N_LAYERS, -1, NN_ACT_LEAKY_RELU, 0, 0,
          NN_F64 },
        { "relu", NN_ARCH_N_LAYERS, -1, NN_ACT_RELU, 0, 0, NN_F64 },
        { "tanh", NN_ARCH_N_LAYERS, -1, NN_ACT_TANH, 0, 0, NN_F64 },
        { "sigmoid", NN_ARCH_N_LAYERS, -1, NN_ACT_SIGMOID, 0, 0, NN_F64 },
        { "no hidden", NN_ARCH_N_LAYERS, 0, NN_ACT_LEAKY_RELU, 0, 0,
          NN_F64 },
        { "dropout 0.3", NN_ARCH_N_LAYERS, -1, NN_ACT_LEAKY_RELU, 0.3, 0,
          NN_F64 },
        { "weight decay", NN_ARCH_N_LAYERS, -1, NN_ACT_TANH, 0, 0.7,
          NN_F64 },
        { "one layer decay", NN_ARCH_ONE_LAYER, -1, NN_ACT_RELU, 0, 0.7,
          NN_F64 },
        { "f32 one layer", NN_ARCH_ONE_LAYER, -1, NN_ACT_LEAKY_RELU, 0, 0,
          NN_F32 },
        { "f32 leaky relu", NN_ARCH_N_LAYERS, -1, NN_ACT_LEAKY_RELU, 0, 0,
          NN_F32 },
        { "f32 relu", NN_ARCH_N_LAYERS, -1, NN_ACT_RELU, 0, 0, NN_F32 },
        { "f32 tanh", NN_ARCH_N_LAYERS, -1, NN_ACT_TANH, 0, 0, NN_F32 },
        { "f32 no hidden", NN_ARCH_N_LAYERS, 0, NN_ACT_TANH, 0, 0, NN_F32 },
        { "f32 dropout decay", NN_ARCH_N_LAYERS, -1, NN_ACT_SIGMOID, 0.3,
          0.7, NN_F32 },
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const grad_case *gc = &cases[c];
        nn_model_config cfg = small_config(gc->arch, gc->dtype);
        int labels[BATCH];
        void *x = make_batch(gc->dtype, BATCH, N_INPUTS, N_CLASSES, labels,
                             100 + c);
        /* in float32, eps = 1e-3 moves a ReLU input of these batches across
         * the kink at 0, and much smaller eps loses J to rounding */
        double eps = gc->dtype == NN_F64 ? 1e-6 : 5e-4;
        double tol = gc->dtype == NN_F64 ? 1e-7 : 1e-2;
        nn_model *model;
        double d;

        if (gc->n_hidden >= 0)
            cfg.n_hidden = gc->n_hidden;
        cfg.activation = gc->activation;
        cfg.dropout = gc->dropout;
        model = nn_model_create(&cfg);
        CHECK(model != NULL);
        if (!model) {
            free(x);
            continue;
        }
        d = gradient_distance(model, x, labels, BATCH, gc->lambda, eps);
        printf("gradient check %-18s distance %.3g (limit %g)\n", gc->name,
               d, tol);
        CHECK(d <= tol);
        nn_model_free(model);
        free(x);
    }
}

/* CHECK forwards reuse the masks and leave running statistics alone. */
static void test_check_mode(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[BATCH];
    double *x = make_batch(NN_F64, BATCH, N_INPUTS, N_CLASSES, labels, 7);
    size_t n_out = (size_t)BATCH * N_CLASSES;
    double train_out[BATCH * N_CLASSES];
    double run_mean[4], run_var[4];
    nn_model *model;
    const double *p;
    nn_param *mean, *var;

    cfg.dropout = 0.5;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(nn_model_forward(model, x, BATCH, NN_MODE_CHECK) == NULL);

    p = nn_model_forward(model, x, BATCH, NN_MODE_TRAIN);
    CHECK(p != NULL);
    memcpy(train_out, p, sizeof train_out);
    mean = nn_model_find(model, "L2_BatchNormalization_RunningMean");
    var = nn_model_find(model, "L2_BatchNormalization_RunningVar");
    CHECK(mean != NULL);
    CHECK(var != NULL);
    if (!mean || !var) {
        nn_model_free(model);
        free(x);
        return;
    }
    memcpy(run_mean, mean->value, sizeof run_mean);
    memcpy(run_var, var->value, sizeof run_var);

    p = nn_model_forward(model, x, BATCH, NN_MODE_CHECK);
    CHECK(p != NULL);
    CHECK(memcmp(p, train_out, n_out * sizeof *p) == 0);
    CHECK(memcmp(mean->value, run_mean, sizeof run_mean) == 0);
    CHECK(memcmp(var->value, run_var, sizeof run_var) == 0);
    CHECK(nn_model_forward(model, x, BATCH - 1, NN_MODE_CHECK) == NULL);

    /* a second TRAIN forward draws new masks */
    p = nn_model_forward(model, x, BATCH, NN_MODE_TRAIN);
    CHECK(memcmp(p, train_out, n_out * sizeof *p) != 0);

    nn_model_free(model);
    free(x);
}

static void check_rows_sum_to_one(const void *p, nn_dtype dtype, int m,
                                  double tol)
{
    for (int i = 0; i < m; i++) {
        double sum = 0;

        for (int j = 0; j < N_CLASSES; j++)
            sum += get(dtype, p, (size_t)i * N_CLASSES + j);
        CHECK_NEAR(sum, 1.0, tol);
    }
}

static void test_rows_sum_to_one(void)
{
    static const nn_dtype dtypes[] = { NN_F64, NN_F32 };

    for (int d = 0; d < 2; d++) {
        double tol = dtypes[d] == NN_F64 ? 1e-14 : 1e-6;
        nn_arch arch = d == 0 ? NN_ARCH_N_LAYERS : NN_ARCH_ONE_LAYER;
        nn_model_config cfg = small_config(arch, dtypes[d]);
        int labels[BATCH];
        void *x = make_batch(dtypes[d], BATCH, N_INPUTS, N_CLASSES, labels,
                             3);
        nn_model *model = nn_model_create(&cfg);
        const void *p;

        CHECK(model != NULL);
        if (model) {
            p = nn_model_forward(model, x, BATCH, NN_MODE_TRAIN);
            CHECK(p != NULL);
            if (p)
                check_rows_sum_to_one(p, dtypes[d], BATCH, tol);
            p = nn_model_forward(model, x, BATCH, NN_MODE_INFER);
            CHECK(p != NULL);
            if (p)
                check_rows_sum_to_one(p, dtypes[d], BATCH, tol);
        }
        nn_model_free(model);
        free(x);
    }
}

/* INFER on batch statistics is the TRAIN forward minus dropout. */
static void test_infer_batch_matches_train(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[BATCH];
    double *x = make_batch(NN_F64, BATCH, N_INPUTS, N_CLASSES, labels, 9);
    double train_out[BATCH * N_CLASSES];
    nn_model *plain, *dropping;
    const double *p;

    cfg.bn_mode = NN_BN_BATCH;
    plain = nn_model_create(&cfg);
    cfg.dropout = 0.4;
    dropping = nn_model_create(&cfg);
    CHECK(plain != NULL);
    CHECK(dropping != NULL);
    if (plain && dropping) {
        p = nn_model_forward(plain, x, BATCH, NN_MODE_TRAIN);
        memcpy(train_out, p, sizeof train_out);
        p = nn_model_forward(plain, x, BATCH, NN_MODE_INFER);
        CHECK(memcmp(p, train_out, sizeof train_out) == 0);

        /* the same seed gives the same weights whatever the dropout */
        p = nn_model_forward(dropping, x, BATCH, NN_MODE_INFER);
        CHECK(memcmp(p, train_out, sizeof train_out) == 0);
    }
    nn_model_free(plain);
    nn_model_free(dropping);
    free(x);
}

/* Running statistics after one TRAIN forward, recomputed by hand. */
static void test_running_stats_update(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[BATCH];
    double *x = make_batch(NN_F64, BATCH, N_INPUTS, N_CLASSES, labels, 5);
    double z[BATCH][4];
    nn_model *model;
    const double *w, *run_mean, *run_var;

    cfg.n_hidden = 1;
    cfg.hidden[0] = 4;
    cfg.bn_momentum = 0.8;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(nn_model_forward(model, x, BATCH, NN_MODE_TRAIN) != NULL);
    w = nn_model_find(model, "L0_Dense_W")->value;      /* (4, 5) */
    run_mean = nn_model_find(model,
                             "L2_BatchNormalization_RunningMean")->value;
    run_var = nn_model_find(model,
                            "L2_BatchNormalization_RunningVar")->value;

    /* Z = X W^T is the input of the first BatchNorm (no dropout) */
    for (int i = 0; i < BATCH; i++)
        for (int u = 0; u < 4; u++) {
            z[i][u] = 0;
            for (int k = 0; k < N_INPUTS; k++)
                z[i][u] += x[i * N_INPUTS + k] * w[u * N_INPUTS + k];
        }
    for (int u = 0; u < 4; u++) {
        double mean = 0, ss = 0;

        for (int i = 0; i < BATCH; i++)
            mean += z[i][u] / BATCH;
        for (int i = 0; i < BATCH; i++)
            ss += (z[i][u] - mean) * (z[i][u] - mean);
        /* momentum * initial + (1 - momentum) * batch, with the
         * initial mean 0, initial variance 1, unbiased variance */
        CHECK_NEAR(run_mean[u], 0.2 * mean, 1e-13);
        CHECK_NEAR(run_var[u], 0.8 + 0.2 * ss / (BATCH - 1), 1e-13);
    }

    /* INFER leaves them alone */
    {
        double before = run_var[0];

        CHECK(nn_model_forward(model, x, BATCH, NN_MODE_INFER) != NULL);
        CHECK(run_var[0] == before);
    }
    nn_model_free(model);
    free(x);
}

/* INFER with NN_BN_RUNNING normalises with the stored statistics. */
static void test_infer_running_stats(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[BATCH];
    double *x = make_batch(NN_F64, BATCH, N_INPUTS, N_CLASSES, labels, 6);
    static const double mean[3] = { 0.5, -1.0, 0.25 };
    static const double var[3] = { 2.0, 0.5, 1.5 };
    static const double gamma[3] = { 1.5, 0.5, -1.0 };
    static const double beta[3] = { 0.1, -0.2, 0.3 };
    nn_model *model;
    const double *p, *w;

    cfg.n_hidden = 0;
    cfg.bn_mode = NN_BN_RUNNING;
    cfg.dropout = 0.2;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    memcpy(nn_model_find(model, "L2_BatchNormalization_RunningMean")->value,
           mean, sizeof mean);
    memcpy(nn_model_find(model, "L2_BatchNormalization_RunningVar")->value,
           var, sizeof var);
    memcpy(nn_model_find(model, "L2_BatchNormalization_Gamma")->value,
           gamma, sizeof gamma);
    memcpy(nn_model_find(model, "L2_BatchNormalization_Beta")->value,
           beta, sizeof beta);
    w = nn_model_find(model, "L0_Dense_W")->value;      /* (3, 5) */

    p = nn_model_forward(model, x, BATCH, NN_MODE_INFER);
    CHECK(p != NULL);
    for (int i = 0; p && i < BATCH; i++) {
        double y[3], max = -INFINITY, sum = 0;

        for (int c = 0; c < 3; c++) {
            double z = 0;

            for (int k = 0; k < N_INPUTS; k++)
                z += x[i * N_INPUTS + k] * w[c * N_INPUTS + k];
            y[c] = gamma[c] * (z - mean[c]) / sqrt(var[c] + 1e-5)
                   + beta[c];
            max = y[c] > max ? y[c] : max;
        }
        for (int c = 0; c < 3; c++)
            sum += exp(y[c] - max);
        for (int c = 0; c < 3; c++)
            CHECK_NEAR(p[i * 3 + c], exp(y[c] - max) / sum, 1e-14);
    }
    nn_model_free(model);
    free(x);
}

/* Batches of 3 after, before and between batches of 7 give the same
 * rows, so growing and reusing buffers keeps results intact. */
static void test_batch_size_changes(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F32);
    int labels[BATCH];
    float *x = make_batch(NN_F32, BATCH, N_INPUTS, N_CLASSES, labels, 8);
    float full[BATCH * N_CLASSES], head[3 * N_CLASSES];
    nn_model *model;
    const float *p;

    cfg.bn_mode = NN_BN_RUNNING;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    p = nn_model_forward(model, x, 3, NN_MODE_INFER);
    memcpy(head, p, sizeof head);
    p = nn_model_forward(model, x, BATCH, NN_MODE_INFER);
    memcpy(full, p, sizeof full);
    CHECK(memcmp(full, head, sizeof head) == 0);
    p = nn_model_forward(model, x, 3, NN_MODE_INFER);
    CHECK(memcmp(p, head, sizeof head) == 0);

    CHECK(nn_model_forward(model, x, 0, NN_MODE_INFER) == NULL);
    CHECK(nn_model_backward(model, labels) == -1);
    CHECK(isnan(nn_model_loss(model, labels, BATCH, NULL, NULL)));
    nn_model_free(model);
    free(x);
}

static void test_parameter_layout(void)
{
    static const struct {
        const char *name;
        int64_t rows, cols;
    } want[] = {
        { "L0_Dense_W", 4, 5 },
        { "L2_BatchNormalization_Gamma", 4, 1 },
        { "L2_BatchNormalization_Beta", 4, 1 },
        { "L4_Dense_W", 3, 4 },
        { "L6_BatchNormalization_Gamma", 3, 1 },
        { "L6_BatchNormalization_Beta", 3, 1 },
        { "L8_Dense_W", 3, 3 },
        { "L10_BatchNormalization_Gamma", 3, 1 },
        { "L10_BatchNormalization_Beta", 3, 1 },
    };
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    nn_model *model = nn_model_create(&cfg);
    nn_model *one;
    nn_param *p;

    CHECK(model != NULL);
    if (!model)
        return;
    CHECK(nn_model_n_params(model) == 9);
    for (size_t i = 0; i < 9 && i < nn_model_n_params(model); i++) {
        p = nn_model_param(model, i);
        CHECK(strcmp(p->name, want[i].name) == 0);
        CHECK(p->rows == want[i].rows);
        CHECK(p->cols == want[i].cols);
        CHECK(p->grad != NULL);
    }
    CHECK(nn_model_param(model, 9) == NULL);
    CHECK(nn_model_n_scalars(model) == 20 + 8 + 12 + 6 + 9 + 6);
    CHECK(nn_model_n_buffers(model) == 6);
    p = nn_model_buffer(model, 5);
    CHECK(p != NULL);
    if (p) {
        CHECK(strcmp(p->name, "L10_BatchNormalization_RunningVar") == 0);
        CHECK(p->grad == NULL);
        CHECK(get(NN_F64, p->value, 2) == 1.0);
    }
    CHECK(nn_model_buffer(model, 6) == NULL);
    CHECK(nn_model_find(model, "L6_BatchNormalization_Beta")
          == nn_model_param(model, 5));
    CHECK(nn_model_find(model, "L2_BatchNormalization_RunningMean")
          == nn_model_buffer(model, 0));
    CHECK(nn_model_find(model, "P") == NULL);

    CHECK(nn_model_n_layers(model) == 12);
    CHECK(strcmp(nn_model_layer_name(model, 1), "L1_Dropout") == 0);
    CHECK(strcmp(nn_model_layer_name(model, 7), "L7_LeakyReLU") == 0);
    CHECK(strcmp(nn_model_layer_name(model, 11), "L11_Softmax") == 0);
    CHECK(nn_model_layer_name(model, 12) == NULL);
    nn_model_free(model);

    cfg = small_config(NN_ARCH_ONE_LAYER, NN_F32);
    one = nn_model_create(&cfg);
    CHECK(one != NULL);
    if (!one)
        return;
    CHECK(nn_model_n_params(one) == 2);
    CHECK(strcmp(nn_model_param(one, 0)->name, "L0_Dense_W") == 0);
    CHECK(nn_model_param(one, 0)->rows == 3);
    CHECK(nn_model_param(one, 0)->cols == 5);
    CHECK(strcmp(nn_model_param(one, 1)->name, "L0_Dense_B") == 0);
    CHECK(nn_model_n_buffers(one) == 0);
    CHECK(nn_model_n_layers(one) == 2);
    CHECK(strcmp(nn_model_layer_name(one, 1), "L1_Softmax") == 0);
    nn_model_free(one);
}

static void test_config_validation(void)
{
    nn_model_config good = small_config(NN_ARCH_N_LAYERS, NN_F64), cfg;
    nn_model *model;

    cfg = good;
    cfg.dropout = 1.0;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.dropout = NAN;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.n_classes = 1;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.n_inputs = 0;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.n_hidden = NN_MAX_HIDDEN + 1;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.hidden[1] = 0;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.bn_momentum = 1.5;
    CHECK(nn_model_create(&cfg) == NULL);
    cfg = good;
    cfg.dtype = NN_U8;
    CHECK(nn_model_create(&cfg) == NULL);
    CHECK(nn_model_create(NULL) == NULL);

    /* the largest stack: 64 hidden blocks */
    cfg = good;
    cfg.n_hidden = NN_MAX_HIDDEN;
    for (int k = 0; k < NN_MAX_HIDDEN; k++)
        cfg.hidden[k] = 2;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (model)
        CHECK(strcmp(nn_model_layer_name(model, 259), "L259_Softmax")
              == 0);
    nn_model_free(model);
}

static int same_weights(nn_model *a, nn_model *b)
{
    size_t n_bytes;

    for (size_t i = 0; i < nn_model_n_params(a); i++) {
        nn_param *pa = nn_model_param(a, i), *pb = nn_model_param(b, i);

        n_bytes = pa->size * dtype_bytes(nn_model_get_config(a)->dtype);
        if (memcmp(pa->value, pb->value, n_bytes) != 0)
            return 0;
    }
    return 1;
}

static void test_seeds(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    nn_model *a = nn_model_create(&cfg), *b = nn_model_create(&cfg);
    nn_model *c, *f;
    nn_param *w64, *w32;
    int narrowed = 1;

    cfg.seed++;
    c = nn_model_create(&cfg);
    cfg.seed--;
    cfg.dtype = NN_F32;
    f = nn_model_create(&cfg);
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK(c != NULL);
    CHECK(f != NULL);
    if (a && b && c && f) {
        CHECK(same_weights(a, b));
        CHECK(!same_weights(a, c));

        /* float32 draws the same numbers and rounds them */
        w64 = nn_model_param(a, 0);
        w32 = nn_model_param(f, 0);
        for (size_t k = 0; k < w64->size; k++)
            narrowed &= (float)get(NN_F64, w64->value, k)
                        == (float)get(NN_F32, w32->value, k);
        CHECK(narrowed);
    }
    nn_model_free(a);
    nn_model_free(b);
    nn_model_free(c);
    nn_model_free(f);
}

/*
 * Sample variance of a 200 x 300 weight matrix for each initialiser.
 * With 60000 draws the relative standard error of a variance is about
 * 0.6%, so the 4% bound fails a correct initialiser with odds far
 * below 1 in 10^6.
 */
static void test_initialisers(void)
{
    static const nn_init inits[] = {
        NN_INIT_GLOROT_NORMAL, NN_INIT_GLOROT_UNIFORM, NN_INIT_KAIMING
    };
    static const double want_var[] = {
        2.0 / 500, 6.0 / 500 / 3, 2.0 / 300
    };

    for (int i = 0; i < 3; i++) {
        nn_model_config cfg = small_config(NN_ARCH_ONE_LAYER, NN_F64);
        nn_model *model;
        const nn_param *w;
        double sum = 0, sum_sq = 0, max_abs = 0, var;

        cfg.n_inputs = 300;
        cfg.n_classes = 200;
        cfg.init = inits[i];
        model = nn_model_create(&cfg);
        CHECK(model != NULL);
        if (!model)
            continue;
        w = nn_model_param(model, 0);
        for (size_t k = 0; k < w->size; k++) {
            double v = get(NN_F64, w->value, k);

            sum += v;
            sum_sq += v * v;
            max_abs = fabs(v) > max_abs ? fabs(v) : max_abs;
        }
        var = sum_sq / w->size - (sum / w->size) * (sum / w->size);
        CHECK(fabs(var / want_var[i] - 1) < 0.04);
        if (inits[i] == NN_INIT_GLOROT_UNIFORM)
            CHECK(max_abs <= sqrt(6.0 / 500));
        CHECK(get(NN_F64, nn_model_param(model, 1)->value, 0) == 0);
        nn_model_free(model);
    }
}

/*
 * OneLayer with W = [[0, 0], [1, 0], [0, 1]] and b = 0: sample 0,
 * x = (ln 2, ln 3), has logits (0, ln 2, ln 3) and probabilities
 * (1/6, 2/6, 3/6); sample 1, x = 0, has 1/3 each, a three-way tie.
 */
static void test_loss_by_hand(void)
{
    nn_model_config cfg = small_config(NN_ARCH_ONE_LAYER, NN_F64);
    double x[4] = { log(2.0), log(3.0), 0, 0 };
    double far[2] = { -1000, 0 };
    static const double w[6] = { 0, 0, 1, 0, 0, 1 };
    int labels[2] = { 2, 1 }, predictions[2], n_correct = -1;
    int bad[2] = { 2, 3 };
    nn_model *model;
    double loss;

    cfg.n_inputs = 2;
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model)
        return;
    memcpy(nn_model_find(model, "L0_Dense_W")->value, w, sizeof w);

    CHECK(nn_model_forward(model, x, 2, NN_MODE_INFER) != NULL);
    loss = nn_model_loss(model, labels, 2, &n_correct, predictions);
    /* (-ln(3/6) - ln(1/3)) / 2 = ln(6) / 2 */
    CHECK_NEAR(loss, log(6.0) / 2, 1e-15);
    CHECK(n_correct == 1);
    CHECK(predictions[0] == 2);
    CHECK(predictions[1] == 0);
    CHECK(isnan(nn_model_loss(model, bad, 2, NULL, NULL)));
    CHECK(isnan(nn_model_loss(model, labels, 1, NULL, NULL)));

    /* logits (0, -1000, 0): exp(-1000) is 0 in double, so -log gives
     * +inf for label 1 */
    CHECK(nn_model_forward(model, far, 1, NN_MODE_INFER) != NULL);
    labels[0] = 1;
    CHECK(isinf(nn_model_loss(model, labels, 1, NULL, NULL)));
    nn_model_free(model);
}

static void test_check_finite(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[BATCH];
    double *x = make_batch(NN_F64, BATCH, N_INPUTS, N_CLASSES, labels, 4);
    nn_model *model = nn_model_create(&cfg);
    const char *where = "";
    double *w, *dgamma, saved;

    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    CHECK(nn_model_check_finite(model, &where) == 0);
    CHECK(nn_model_forward(model, x, BATCH, NN_MODE_TRAIN) != NULL);
    CHECK(nn_model_backward(model, labels) == 0);
    CHECK(nn_model_check_finite(model, &where) == 0);

    w = nn_model_find(model, "L4_Dense_W")->value;
    saved = w[3];
    w[3] = NAN;
    CHECK(nn_model_check_finite(model, &where) == -1);
    CHECK(strcmp(where, "L4_Dense_W value") == 0);
    w[3] = saved;

    dgamma = nn_model_find(model, "L2_BatchNormalization_Gamma")->grad;
    dgamma[1] = INFINITY;
    CHECK(nn_model_check_finite(model, &where) == -1);
    CHECK(strcmp(where, "L2_BatchNormalization_Gamma gradient") == 0);
    dgamma[1] = 0;

    x[2] = NAN;
    CHECK(nn_model_forward(model, x, BATCH, NN_MODE_INFER) != NULL);
    CHECK(nn_model_check_finite(model, &where) == -1);
    CHECK(strcmp(where, "L0_Dense output") == 0);
    nn_model_free(model);
    free(x);
}

static void test_profiling(void)
{
    nn_model_config cfg = small_config(NN_ARCH_N_LAYERS, NN_F64);
    int labels[64];
    double *x, fwd, bwd;
    nn_model *model;

    cfg.n_inputs = 200;
    cfg.hidden[0] = 64;
    cfg.hidden[1] = 32;
    x = make_batch(NN_F64, 64, 200, N_CLASSES, labels, 2);
    model = nn_model_create(&cfg);
    CHECK(model != NULL);
    if (!model) {
        free(x);
        return;
    }
    nn_model_forward(model, x, 64, NN_MODE_TRAIN);
    nn_model_layer_times(model, 0, &fwd, &bwd);
    CHECK(fwd == 0);
    CHECK(bwd == 0);

    nn_model_set_profiling(model, 1);
    for (int r = 0; r < 5; r++) {
        nn_model_forward(model, x, 64, NN_MODE_TRAIN);
        nn_model_backward(model, labels);
    }
    nn_model_layer_times(model, 0, &fwd, &bwd);
    CHECK(fwd > 0);
    CHECK(bwd > 0);
    nn_model_layer_times(model, 2, &fwd, &bwd);
    CHECK(fwd > 0);
    CHECK(bwd > 0);
    nn_model_layer_times(model, 99, &fwd, &bwd);
    CHECK(fwd == 0);
    CHECK(bwd == 0);

    nn_model_reset_times(model);
    nn_model_layer_times(model, 0, &fwd, &bwd);
    CHECK(fwd == 0);
    CHECK(bwd == 0);
    nn_model_free(model);
    free(x);
}

/*
 * Optimizer fixture: OneLayer with one input and two classes, so the
 * parameters are W = (1, -2) and b = (0.5, 0), with gradients
 * (0.5, 0.25) and (-1, 0).
 */
static nn_model *optim_model(nn_dtype dtype)
{
    nn_model_config cfg = small_config(NN_ARCH_ONE_LAYER, dtype);
    static const double theta[4] = { 1, -2, 0.5, 0 };
    static const double grad[4] = { 0.5, 0.25, -1, 0 };
    nn_model *model;

    cfg.n_inputs = 1;
    cfg.n_classes = 2;
    model = nn_model_create(&cfg);
    if (!model)
        return NULL;
    for (int k = 0; k < 4; k++) {
        nn_param *p = nn_model_param(model, (size_t)k / 2);

        set(dtype, p->value, k % 2, theta[k]);
        set(dtype, p->grad, k % 2, grad[k]);
    }
    return model;
}

static double theta_at(nn_model *model, int k)
{
    nn_param *p = nn_model_param(model, (size_t)k / 2);

    return get(nn_model_get_config(model)->dtype, p->value, k % 2);
}

/* Run one step of cfg and compare the four values with want. */
static void check_one_step(const nn_optim_config *cfg, int epoch,
                           const double want[4], nn_dtype dtype,
                           double tol)
{
    nn_model *model = optim_model(dtype);
    nn_optim *opt = model ? nn_optim_create(cfg, model) : NULL;

    CHECK(opt != NULL);
    if (opt) {
        nn_optim_step(opt, model, epoch);
        for (int k = 0; k < 4; k++)
            CHECK_NEAR(theta_at(model, k), want[k], tol);
        CHECK(nn_optim_steps(opt) == 1);
    }
    nn_optim_free(opt);
    nn_model_free(model);
}

static void test_optimizers(void)
{
    /* theta - 0.1 g */
    static const double constant[4] = { 0.95, -2.025, 0.6, 0 };
    /* theta - 0.1 exp(-0.5 * 2) g */
    static const double decayed[4] = {
        0.9816060279414279, -2.009196986029286, 0.5367879441171443, 0
    };
    /* step 1: v_hat = g and s_hat = g^2, so theta - 0.001 g / (|g| +
     * 1e-8); a zero gradient leaves theta alone */
    static const double adam1[4] = {
        0.99900000002, -2.00099999996, 0.50099999999, 0
    };
    nn_optim_config cfg;

    nn_optim_config_default(&cfg);
    CHECK(cfg.kind == NN_OPT_ADAM);
    CHECK(cfg.learning_rate == 0.001);
    CHECK(cfg.decay == 0.9);
    CHECK(cfg.beta1 == 0.9);
    CHECK(cfg.beta2 == 0.999);
    CHECK(cfg.epsilon == 1e-8);

    cfg.kind = NN_OPT_CONSTANT;
    cfg.learning_rate = 0.1;
    check_one_step(&cfg, 7, constant, NN_F64, 1e-15);
    check_one_step(&cfg, 7, constant, NN_F32, 1e-7);

    cfg.kind = NN_OPT_EXP_DECAY;
    cfg.decay = 0.5;
    check_one_step(&cfg, 2, decayed, NN_F64, 1e-15);

    nn_optim_config_default(&cfg);
    check_one_step(&cfg, 0, adam1, NN_F64, 1e-15);
    check_one_step(&cfg, 0, adam1, NN_F32, 1e-7);

    cfg.learning_rate = 0;
    CHECK(nn_optim_create(&cfg, NULL) == NULL);
}

/*
 * Adam's second step with g2 = (-0.1, 0.25, 2, 0), after adam1 above:
 * v = 0.9 * 0.1 g1 + 0.1 g2 = (0.035, 0.0475, 0.11, 0),
 * s = 0.999 * 0.001 g1^2 + 0.001 g2^2
 *   = (0.00025975, 0.0001249375, 0.004999, 0),
 * theta -= 0.001 * (v / 0.19) / (sqrt(s / 0.001999) + 1e-8).
 */
static void test_adam_second_step(void)
{
    static const double g2[4] = { -0.1, 0.25, 2, 0 };
    static const double want[4] = {
        0.9984889739569932, -2.0019999999199998, 0.5006338964652792, 0
    };
    static const double v_want[4] = { 0.035, 0.0475, 0.11, 0 };
    static const double s_want[4] = {
        0.00025975, 0.0001249375, 0.004999, 0
    };
    nn_optim_config cfg;
    nn_model *model = optim_model(NN_F64);
    nn_optim *opt;

    nn_optim_config_default(&cfg);
    opt = model ? nn_optim_create(&cfg, model) : NULL;
    CHECK(opt != NULL);
    if (!opt) {
        nn_model_free(model);
        return;
    }
    nn_optim_step(opt, model, 0);
    for (int k = 0; k < 4; k++)
        set(NN_F64, nn_model_param(model, (size_t)k / 2)->grad, k % 2,
            g2[k]);
    nn_optim_step(opt, model, 0);

    CHECK(nn_optim_steps(opt) == 2);
    CHECK(nn_optim_n_state(opt) == 4);
    CHECK(strcmp(nn_optim_state(opt, 0)->name, "L0_Dense_W.adam_v") == 0);
    CHECK(strcmp(nn_optim_state(opt, 3)->name, "L0_Dense_B.adam_s") == 0);
    CHECK(nn_optim_state(opt, 4) == NULL);
    for (int k = 0; k < 4; k++) {
        const nn_param *v = nn_optim_state(opt, (size_t)k / 2 * 2);
        const nn_param *s = nn_optim_state(opt, (size_t)k / 2 * 2 + 1);

        CHECK_NEAR(theta_at(model, k), want[k], 1e-15);
        CHECK_NEAR(get(NN_F64, v->value, k % 2), v_want[k], 1e-15);
        CHECK_NEAR(get(NN_F64, s->value, k % 2), s_want[k], 1e-15);
    }

    nn_optim_set_steps(opt, 41);
    CHECK(nn_optim_steps(opt) == 41);
    nn_optim_free(opt);
    nn_model_free(model);
}

/* grad += (lambda / m) theta, with lambda = 0.4 and m = 2. */
static void test_weight_decay(void)
{
    static const double want[4] = { 0.7, -0.15, -0.9, 0 };
    nn_model *model = optim_model(NN_F64);

    CHECK(model != NULL);
    if (!model)
        return;
    CHECK_NEAR(nn_model_l2(model), 1 + 4 + 0.25, 1e-15);
    nn_model_add_weight_decay(model, 0.4, 2);
    for (int k = 0; k < 4; k++)
        CHECK_NEAR(get(NN_F64, nn_model_param(model, (size_t)k / 2)->grad,
                       k % 2), want[k], 1e-15);
    nn_model_free(model);
}

int main(void)
{
    test_gradients();
    test_check_mode();
    test_rows_sum_to_one();
    test_infer_batch_matches_train();
    test_running_stats_update();
    test_infer_running_stats();
    test_batch_size_changes();
    test_parameter_layout();
    test_config_validation();
    test_seeds();
    test_initialisers();
    test_loss_by_hand();
    test_check_finite();
    test_profiling();
    test_optimizers();
    test_adam_second_step();
    test_weight_decay();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
