/*
 * nn_model: building, initialising and running the layer stack.  The
 * per-precision kernels are in nn_model_impl.h; this file contains the
 * layer list, buffer management, loss, checks and timing.
 */
#include "nn_model.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_rng.h"
#include "nn_simd.h"

#define BN_EPSILON 1e-5
#define LEAKY_SLOPE 0.01

typedef enum {
    LAYER_DENSE,
    LAYER_DROPOUT,
    LAYER_BATCHNORM,
    LAYER_ACTIVATION,
    LAYER_SOFTMAX
} layer_kind;

typedef struct layer layer;

/* Read in (m, fan_in) and set l->out to the (m, units) result. */
typedef void (*layer_forward_fn)(nn_model *model, layer *l,
                                 const void *in, int m, nn_mode mode);

/*
 * Take dy, the (m, units) gradient of the output, fill the layer's
 * parameter grads and return the (m, fan_in) gradient of the input.
 * That is dy itself when computed in place, or a scratch buffer.  The
 * first layer returns NULL because its input gradient is never used.
 */
typedef void *(*layer_backward_fn)(nn_model *model, layer *l, void *dy,
                                   int m);

typedef struct {
    layer_forward_fn forward;
    layer_backward_fn backward;
} layer_ops;

struct layer {
    layer_kind kind;
    char name[32];                  /* "L2_BatchNormalization" */
    int fan_in, units;              /* input and output widths */
    int first;                      /* DENSE reading the model input */
    nn_activation activation;       /* ACTIVATION */
    layer *act;                     /* BATCHNORM: activation it computes */
    nn_param *w, *b;                /* DENSE; b is NULL without bias */
    nn_param *gamma, *beta;         /* BATCHNORM */
    nn_param *run_mean, *run_var;   /* BATCHNORM buffers */
    const void *in;                 /* (m, fan_in) input of last forward */
    const void *out;                /* (m, units) output of last forward;
                                     * may be in or out_buf */
    void *out_buf;                  /* (cap_m, units) */
    void *mask;                     /* DROPOUT (cap_m, units) */
    double *mean, *var, *inv_std;   /* BATCHNORM (units) statistics */
    double *sum_dy, *sum_dy_xhat;   /* BATCHNORM (units) backward sums */
    double *dx_scale;               /* BATCHNORM (units) gamma * inv_std
                                     * / m, for the input gradient */
    layer_ops ops;
    double forward_s, backward_s;   /* totals while profiling */
};

struct nn_model {
    nn_model_config cfg;
    size_t elem_bytes;              /* 8 for NN_F64, 4 for NN_F32 */
    nn_rng rng;                     /* initial weights, then masks */
    nn_param *params;
    size_t n_params;
    nn_param *buffers;
    size_t n_buffers;
    layer *layers;
    size_t n_layers;
    int max_units;                  /* widest layer output */
    int cap_m;                      /* rows the per-sample buffers hold */
    void *scratch[2];               /* (cap_m, max_units) gradients
                                     * passed between layers */
    int last_m;                     /* rows of the last forward, 0 none */
    nn_mode last_mode;
    int train_m;                    /* rows of the last TRAIN forward,
                                     * whose dropout masks CHECK reuses */
    const int *labels;              /* (m) during backward only */
    int profiling;
    char where[96];                 /* nn_model_check_finite result */
};

/* The activation layer is computed by the BatchNorm before it. */
static void activation_forward(nn_model *model, layer *l, const void *in,
                               int m, nn_mode mode)
{
    (void)model;
    (void)in;
    (void)m;
    (void)mode;
    l->out = l->out_buf;
}

/* The BatchNorm before it applies the derivative. */
static void *activation_backward(nn_model *model, layer *l, void *dy,
                                 int m)
{
    (void)model;
    (void)l;
    (void)m;
    return dy;
}

#define REAL double
#define FN(name) name##_f64
#define GEMM cblas_dgemm
#define EXP exp
#define TANH tanh
#include "nn_model_impl.h"
#undef REAL
#undef FN
#undef GEMM
#undef EXP
#undef TANH

#define REAL float
#define FN(name) name##_f32
#define GEMM cblas_sgemm
#define EXP expf
#define TANH tanhf
#include "nn_model_impl.h"
#undef REAL
#undef FN
#undef GEMM
#undef EXP
#undef TANH

static const char *activation_names[] = {
    [NN_ACT_LEAKY_RELU] = "LeakyReLU",
    [NN_ACT_RELU] = "ReLU",
    [NN_ACT_TANH] = "Tanh",
    [NN_ACT_SIGMOID] = "Sigmoid",
};

void nn_model_config_default(nn_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = NN_ARCH_ONE_LAYER;
    cfg->n_hidden = 1;
    cfg->hidden[0] = 100;
    cfg->activation = NN_ACT_LEAKY_RELU;
    cfg->init = NN_INIT_GLOROT_NORMAL;
    cfg->dropout = 0;
    cfg->bn_mode = NN_BN_BATCH;
    cfg->bn_momentum = 0.9;
    cfg->dtype = NN_F64;
    cfg->seed = 0;
}

static int config_is_valid(const nn_model_config *cfg)
{
    if (cfg->arch != NN_ARCH_ONE_LAYER && cfg->arch != NN_ARCH_N_LAYERS)
        return 0;
    if (cfg->n_inputs < 1 || cfg->n_classes < 2)
        return 0;
    if (cfg->dtype != NN_F64 && cfg->dtype != NN_F32)
        return 0;
    if ((unsigned)cfg->init > NN_INIT_KAIMING)
        return 0;
    if (cfg->arch == NN_ARCH_ONE_LAYER)
        return 1;

    if (cfg->n_hidden < 0 || cfg->n_hidden > NN_MAX_HIDDEN)
        return 0;
    for (int k = 0; k < cfg->n_hidden; k++)
        if (cfg->hidden[k] < 1)
            return 0;
    if ((unsigned)cfg->activation > NN_ACT_SIGMOID)
        return 0;
    /* written so that NaN fails too */
    if (!(cfg->dropout >= 0 && cfg->dropout < 1))
        return 0;
    if (cfg->bn_mode != NN_BN_RUNNING && cfg->bn_mode != NN_BN_BATCH)
        return 0;
    return cfg->bn_momentum >= 0 && cfg->bn_momentum <= 1;
}

/* Returns 1 and sets *out = a * b * c unless that overflows size_t. */
static int mul_size(size_t a, size_t b, size_t c, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    if (c != 0 && a * b > SIZE_MAX / c)
        return 0;
    *out = a * b * c;
    return 1;
}

/*
 * Fill in p and allocate its value (zeros), and its grad (zeros) when
 * trainable.  Returns -1 on overflow or when memory runs out.
 */
static int param_init(nn_param *p, size_t elem_bytes, const char *name,
                      int64_t rows, int64_t cols, int trainable)
{
    size_t n_bytes;

    snprintf(p->name, sizeof p->name, "%s", name);
    p->rows = rows;
    p->cols = cols;
    if (!mul_size((size_t)rows, (size_t)cols, elem_bytes, &n_bytes))
        return -1;
    p->size = (size_t)rows * (size_t)cols;
    p->value = calloc(p->size, elem_bytes);
    p->grad = trainable ? calloc(p->size, elem_bytes) : NULL;
    if (!p->value || (trainable && !p->grad))
        return -1;
    return 0;
}

static void param_release(nn_param *p)
{
    free(p->value);
    free(p->grad);
}

/* Count the layers, parameters and buffers that cfg requests. */
static void count_layers(const nn_model_config *cfg, size_t *n_layers,
                         size_t *n_params, size_t *n_buffers)
{
    size_t blocks;

    if (cfg->arch == NN_ARCH_ONE_LAYER) {
        *n_layers = 2;
        *n_params = 2;
        *n_buffers = 0;
        return;
    }
    /* hidden blocks plus the output block, four layers each, with
     * W, Gamma and Beta and two running statistics per block */
    blocks = (size_t)cfg->n_hidden + 1;
    *n_layers = 4 * blocks;
    *n_params = 3 * blocks;
    *n_buffers = 2 * blocks;
}

/* index < 4 * (NN_MAX_HIDDEN + 1) has at most 3 digits, and the
 * precisions below only tell the compiler that nothing is truncated */
static void layer_name(layer *l, size_t index, const char *kind)
{
    snprintf(l->name, sizeof l->name, "L%u_%.20s",
             (unsigned)(index % 1000), kind);
}

/* Add W (and B) for the Dense layer l; *p is the next free parameter. */
static int add_dense_params(nn_model *model, layer *l, nn_param **p,
                            int with_bias)
{
    char name[48];

    snprintf(name, sizeof name, "%.31s_W", l->name);
    if (param_init(*p, model->elem_bytes, name, l->units, l->fan_in, 1))
        return -1;
    l->w = (*p)++;
    if (!with_bias)
        return 0;
    snprintf(name, sizeof name, "%.31s_B", l->name);
    if (param_init(*p, model->elem_bytes, name, l->units, 1, 1))
        return -1;
    l->b = (*p)++;
    return 0;
}

/* Add Gamma, Beta, RunningMean and RunningVar for the BatchNorm l. */
static int add_batchnorm_params(nn_model *model, layer *l, nn_param **p,
                                nn_param **buf)
{
    char name[48];
    size_t e = model->elem_bytes;

    snprintf(name, sizeof name, "%.31s_Gamma", l->name);
    if (param_init(*p, e, name, l->units, 1, 1))
        return -1;
    l->gamma = (*p)++;
    snprintf(name, sizeof name, "%.31s_Beta", l->name);
    if (param_init(*p, e, name, l->units, 1, 1))
        return -1;
    l->beta = (*p)++;
    snprintf(name, sizeof name, "%.31s_RunningMean", l->name);
    if (param_init(*buf, e, name, l->units, 1, 0))
        return -1;
    l->run_mean = (*buf)++;
    snprintf(name, sizeof name, "%.31s_RunningVar", l->name);
    if (param_init(*buf, e, name, l->units, 1, 0))
        return -1;
    l->run_var = (*buf)++;

    l->mean = calloc(6 * (size_t)l->units, sizeof(double));
    if (!l->mean)
        return -1;
    l->var = l->mean + l->units;
    l->inv_std = l->var + l->units;
    l->sum_dy = l->inv_std + l->units;
    l->sum_dy_xhat = l->sum_dy + l->units;
    l->dx_scale = l->sum_dy_xhat + l->units;
    return 0;
}

/*
 * Lay out one block of four layers starting at index i: Dense(units),
 * Dropout, BatchNorm, then act_kind (ACTIVATION or SOFTMAX).
 */
static int build_block(nn_model *model, size_t i, int fan_in, int units,
                       layer_kind act_kind, nn_param **p, nn_param **buf)
{
    layer *l = model->layers + i;

    for (int k = 0; k < 4; k++) {
        l[k].fan_in = k == 0 ? fan_in : units;
        l[k].units = units;
    }
    l[0].kind = LAYER_DENSE;
    l[0].first = i == 0;
    layer_name(&l[0], i, "Dense");
    l[1].kind = LAYER_DROPOUT;
    layer_name(&l[1], i + 1, "Dropout");
    l[2].kind = LAYER_BATCHNORM;
    layer_name(&l[2], i + 2, "BatchNormalization");
    l[3].kind = act_kind;
    if (act_kind == LAYER_ACTIVATION) {
        l[3].activation = model->cfg.activation;
        layer_name(&l[3], i + 3, activation_names[l[3].activation]);
        l[2].act = &l[3];
    } else {
        layer_name(&l[3], i + 3, "Softmax");
    }

    if (add_dense_params(model, &l[0], p, 0))
        return -1;
    return add_batchnorm_params(model, &l[2], p, buf);
}

/* Create the layers and their (zeroed) parameters and buffers. */
static int build_layers(nn_model *model)
{
    const nn_model_config *cfg = &model->cfg;
    nn_param *p = model->params, *buf = model->buffers;
    layer *l = model->layers;
    int fan_in = cfg->n_inputs;

    model->max_units = cfg->n_classes;
    if (cfg->arch == NN_ARCH_ONE_LAYER) {
        l[0].kind = LAYER_DENSE;
        l[0].first = 1;
        l[0].fan_in = fan_in;
        l[0].units = cfg->n_classes;
        layer_name(&l[0], 0, "Dense");
        l[1].kind = LAYER_SOFTMAX;
        l[1].fan_in = l[1].units = cfg->n_classes;
        layer_name(&l[1], 1, "Softmax");
        return add_dense_params(model, &l[0], &p, 1);
    }

    for (int k = 0; k < cfg->n_hidden; k++) {
        if (build_block(model, 4 * (size_t)k, fan_in, cfg->hidden[k],
                        LAYER_ACTIVATION, &p, &buf))
            return -1;
        fan_in = cfg->hidden[k];
        if (fan_in > model->max_units)
            model->max_units = fan_in;
    }
    return build_block(model, 4 * (size_t)cfg->n_hidden, fan_in,
                       cfg->n_classes, LAYER_SOFTMAX, &p, &buf);
}

static void store_value(const nn_model *model, void *buf, size_t k,
                        double v)
{
    if (model->cfg.dtype == NN_F64)
        ((double *)buf)[k] = v;
    else
        ((float *)buf)[k] = (float)v;
}

static double load_value(const nn_model *model, const void *buf, size_t k)
{
    if (model->cfg.dtype == NN_F64)
        return ((const double *)buf)[k];
    return ((const float *)buf)[k];
}

/* Draw one initial weight of a (rows, cols) matrix. */
static double draw_weight(nn_model *model, int64_t rows, int64_t cols)
{
    double fan_sum = (double)(rows + cols);

    switch (model->cfg.init) {
    case NN_INIT_GLOROT_UNIFORM: {
        double limit = sqrt(6.0 / fan_sum);

        return (2 * nn_rng_uniform(&model->rng) - 1) * limit;
    }
    case NN_INIT_KAIMING:
        return nn_rng_normal(&model->rng) * sqrt(2.0 / (double)cols);
    case NN_INIT_GLOROT_NORMAL:
    default:
        return nn_rng_normal(&model->rng) * sqrt(2.0 / fan_sum);
    }
}

/*
 * Initial values, drawing the weights in parameter order: Dense W from
 * the initialiser, Gamma and the running variances 1, the rest 0 (as
 * allocated).
 */
static void init_values(nn_model *model)
{
    for (size_t i = 0; i < model->n_layers; i++) {
        layer *l = &model->layers[i];

        if (l->kind == LAYER_DENSE) {
            for (size_t k = 0; k < l->w->size; k++)
                store_value(model, l->w->value, k,
                            draw_weight(model, l->w->rows, l->w->cols));
        } else if (l->kind == LAYER_BATCHNORM) {
            for (size_t k = 0; k < l->gamma->size; k++) {
                store_value(model, l->gamma->value, k, 1);
                store_value(model, l->run_var->value, k, 1);
            }
        }
    }
}

nn_model *nn_model_create(const nn_model_config *cfg)
{
    nn_model *model;
    const layer_ops *ops;

    if (!cfg || !config_is_valid(cfg))
        return NULL;
    model = calloc(1, sizeof *model);
    if (!model)
        return NULL;
    model->cfg = *cfg;
    model->elem_bytes = cfg->dtype == NN_F64 ? sizeof(double)
                                             : sizeof(float);
    nn_rng_seed(&model->rng, cfg->seed);

    count_layers(cfg, &model->n_layers, &model->n_params,
                 &model->n_buffers);
    model->layers = calloc(model->n_layers, sizeof *model->layers);
    model->params = calloc(model->n_params, sizeof *model->params);
    /* + 1: OneLayer has no buffers, and calloc(0) may return NULL */
    model->buffers = calloc(model->n_buffers + 1, sizeof *model->buffers);
    if (!model->layers || !model->params || !model->buffers
        || build_layers(model)) {
        nn_model_free(model);
        return NULL;
    }

    ops = cfg->dtype == NN_F64 ? layer_ops_table_f64 : layer_ops_table_f32;
    for (size_t i = 0; i < model->n_layers; i++)
        model->layers[i].ops = ops[model->layers[i].kind];
    init_values(model);
    return model;
}

void nn_model_free(nn_model *model)
{
    if (!model)
        return;
    if (model->layers) {
        for (size_t i = 0; i < model->n_layers; i++) {
            free(model->layers[i].out_buf);
            free(model->layers[i].mask);
            free(model->layers[i].mean);
        }
    }
    if (model->params)
        for (size_t i = 0; i < model->n_params; i++)
            param_release(&model->params[i]);
    if (model->buffers)
        for (size_t i = 0; i < model->n_buffers; i++)
            param_release(&model->buffers[i]);
    free(model->layers);
    free(model->params);
    free(model->buffers);
    free(model->scratch[0]);
    free(model->scratch[1]);
    free(model);
}

const nn_model_config *nn_model_get_config(const nn_model *model)
{
    return &model->cfg;
}

size_t nn_model_n_params(const nn_model *model)
{
    return model->n_params;
}

nn_param *nn_model_param(nn_model *model, size_t i)
{
    return i < model->n_params ? &model->params[i] : NULL;
}

nn_param *nn_model_find(nn_model *model, const char *name)
{
    for (size_t i = 0; i < model->n_params; i++)
        if (strcmp(model->params[i].name, name) == 0)
            return &model->params[i];
    for (size_t i = 0; i < model->n_buffers; i++)
        if (strcmp(model->buffers[i].name, name) == 0)
            return &model->buffers[i];
    return NULL;
}

nn_rng *nn_model_rng(nn_model *model)
{
    return &model->rng;
}

size_t nn_model_n_scalars(const nn_model *model)
{
    size_t n = 0;

    for (size_t i = 0; i < model->n_params; i++)
        n += model->params[i].size;
    return n;
}

size_t nn_model_n_buffers(const nn_model *model)
{
    return model->n_buffers;
}

nn_param *nn_model_buffer(nn_model *model, size_t i)
{
    return i < model->n_buffers ? &model->buffers[i] : NULL;
}

/* realloc *buf to n_bytes; on failure *buf is kept and -1 returned. */
static int grow(void **buf, size_t n_bytes)
{
    void *p = realloc(*buf, n_bytes);

    if (!p)
        return -1;
    *buf = p;
    return 0;
}

/* Make every per-sample buffer hold at least m rows. */
static int reserve_rows(nn_model *model, int m)
{
    size_t n_bytes;

    if (m <= model->cap_m)
        return 0;
    for (size_t i = 0; i < model->n_layers; i++) {
        layer *l = &model->layers[i];

        if (!mul_size((size_t)m, (size_t)l->units, model->elem_bytes,
                      &n_bytes))
            return -1;
        /* dropout with p = 0 passes its input through */
        if (l->kind == LAYER_DROPOUT && model->cfg.dropout == 0)
            continue;
        if (grow(&l->out_buf, n_bytes))
            return -1;
        if (l->kind == LAYER_DROPOUT && grow(&l->mask, n_bytes))
            return -1;
    }
    if (!mul_size((size_t)m, (size_t)model->max_units, model->elem_bytes,
                  &n_bytes))
        return -1;
    if (grow(&model->scratch[0], n_bytes)
        || grow(&model->scratch[1], n_bytes))
        return -1;
    model->cap_m = m;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const void *nn_model_forward(nn_model *model, const void *x, int m,
                             nn_mode mode)
{
    const void *in = x;

    if (m < 1 || !x || (unsigned)mode > NN_MODE_CHECK)
        return NULL;
    if (mode == NN_MODE_CHECK && m != model->train_m)
        return NULL;
    /* growing may move the buffers that the last batch's pointers use */
    model->last_m = 0;
    if (reserve_rows(model, m))
        return NULL;

    for (size_t i = 0; i < model->n_layers; i++) {
        layer *l = &model->layers[i];
        double t0 = model->profiling ? now_s() : 0;

        l->in = in;
        l->ops.forward(model, l, in, m, mode);
        in = l->out;
        if (model->profiling)
            l->forward_s += now_s() - t0;
    }
    model->last_m = m;
    model->last_mode = mode;
    if (mode == NN_MODE_TRAIN)
        model->train_m = m;
    return in;
}

/* The probabilities of the last forward: the softmax output. */
static const void *probabilities(const nn_model *model)
{
    return model->layers[model->n_layers - 1].out;
}

double nn_model_loss(nn_model *model, const int *labels, int m,
                     int *n_correct, int *predictions)
{
    const void *p = probabilities(model);   /* (m, classes) */
    int n = model->cfg.n_classes, correct = 0;
    double sum = 0;

    if (m < 1 || m != model->last_m)
        return NAN;
    for (int i = 0; i < m; i++)
        if (labels[i] < 0 || labels[i] >= n)
            return NAN;

    for (int i = 0; i < m; i++) {
        size_t row = (size_t)i * n;
        int best = 0;
        double best_p = load_value(model, p, row);

        for (int j = 1; j < n; j++) {
            double pj = load_value(model, p, row + j);

            if (pj > best_p) {
                best_p = pj;
                best = j;
            }
        }
        sum -= log(load_value(model, p, row + labels[i]));
        correct += best == labels[i];
        if (predictions)
            predictions[i] = best;
    }
    if (n_correct)
        *n_correct = correct;
    return sum / m;
}

int nn_model_backward(nn_model *model, const int *labels)
{
    int m = model->last_m;
    void *dy = NULL;

    if (m < 1 || model->last_mode == NN_MODE_INFER || !labels)
        return -1;
    for (int i = 0; i < m; i++)
        if (labels[i] < 0 || labels[i] >= model->cfg.n_classes)
            return -1;

    model->labels = labels;
    /* the softmax layer starts from the labels, and the first Dense
     * returns NULL because the gradient of x is never used */
    for (size_t i = model->n_layers; i-- > 0;) {
        layer *l = &model->layers[i];
        double t0 = model->profiling ? now_s() : 0;

        dy = l->ops.backward(model, l, dy, m);
        if (model->profiling)
            l->backward_s += now_s() - t0;
        if (!dy)
            break;
    }
    model->labels = NULL;
    return 0;
}

double nn_model_l2(const nn_model *model)
{
    double sum = 0;

    for (size_t i = 0; i < model->n_params; i++) {
        const nn_param *p = &model->params[i];

        if (model->cfg.dtype == NN_F64)
            sum += sum_squares_f64(p->value, p->size);
        else
            sum += sum_squares_f32(p->value, p->size);
    }
    return sum;
}

void nn_model_add_weight_decay(nn_model *model, double lambda, int m)
{
    double c;

    if (m < 1)
        return;
    c = lambda / m;
    for (size_t i = 0; i < model->n_params; i++) {
        nn_param *p = &model->params[i];

        if (model->cfg.dtype == NN_F64)
            add_scaled_f64(p->grad, p->value, p->size, c);
        else
            add_scaled_f32(p->grad, p->value, p->size, c);
    }
}

static int all_finite(const nn_model *model, const void *buf, size_t n)
{
    return model->cfg.dtype == NN_F64 ? all_finite_f64(buf, n)
                                      : all_finite_f32(buf, n);
}

/*
 * Find the first tensor with a NaN or an infinity, in the order that
 * nn_model_check_finite documents.  Returns its name and sets *part,
 * or returns NULL.
 */
static const char *find_non_finite(const nn_model *model, const char **part)
{
    const nn_param *p = model->params;

    *part = "value";
    for (size_t i = 0; i < model->n_params; i++)
        if (!all_finite(model, p[i].value, p[i].size))
            return p[i].name;

    *part = "output";
    for (size_t i = 0; model->last_m > 0 && i < model->n_layers; i++) {
        const layer *l = &model->layers[i];

        if (!all_finite(model, l->out, (size_t)model->last_m * l->units))
            return l->name;
    }

    *part = "gradient";
    for (size_t i = 0; i < model->n_params; i++)
        if (!all_finite(model, p[i].grad, p[i].size))
            return p[i].name;
    return NULL;
}

int nn_model_check_finite(nn_model *model, const char **where)
{
    const char *part;
    const char *offender = find_non_finite(model, &part);

    if (!offender)
        return 0;
    snprintf(model->where, sizeof model->where, "%s %s", offender, part);
    if (where)
        *where = model->where;
    return -1;
}

void nn_model_set_profiling(nn_model *model, int on)
{
    model->profiling = on != 0;
}

size_t nn_model_n_layers(const nn_model *model)
{
    return model->n_layers;
}

const char *nn_model_layer_name(const nn_model *model, size_t i)
{
    return i < model->n_layers ? model->layers[i].name : NULL;
}

void nn_model_layer_times(const nn_model *model, size_t i, double *fwd_s,
                          double *bwd_s)
{
    const layer *l = i < model->n_layers ? &model->layers[i] : NULL;

    if (fwd_s)
        *fwd_s = l ? l->forward_s : 0;
    if (bwd_s)
        *bwd_s = l ? l->backward_s : 0;
}

void nn_model_reset_times(nn_model *model)
{
    for (size_t i = 0; i < model->n_layers; i++)
        model->layers[i].forward_s = model->layers[i].backward_s = 0;
}
