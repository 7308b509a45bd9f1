/*
 * nn_optim: in-place parameter updates.  Adam reads the gradient and
 * both moments and writes the moments and the value in one pass over
 * each parameter.
 */
#include "nn_optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn_simd.h"

/* Adam has its own AVX-512 loop: GCC does not vectorise sqrt unless
 * built with -fno-math-errno. */
#if NN_HAVE_TARGET_CLONES
#define HAVE_AVX512_ADAM 1
#include <immintrin.h>
#else
#define HAVE_AVX512_ADAM 0
#endif

struct nn_optim {
    nn_optim_config cfg;
    nn_dtype dtype;
    int64_t steps;
    nn_param *state;            /* ADAM: adam_v, adam_s per parameter */
    size_t n_state;
    int avx512;                 /* 1 when the CPU has AVX-512F, for the
                                 * vector Adam loop */
};

void nn_optim_config_default(nn_optim_config *cfg)
{
    cfg->kind = NN_OPT_ADAM;
    cfg->learning_rate = 0.001;
    cfg->decay = 0.9;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->epsilon = 1e-8;
}

/* Comparisons are written so that NaN fails them. */
static int config_is_valid(const nn_optim_config *cfg)
{
    if (!(cfg->learning_rate > 0 && isfinite(cfg->learning_rate)))
        return 0;
    switch (cfg->kind) {
    case NN_OPT_CONSTANT:
        return 1;
    case NN_OPT_EXP_DECAY:
        return cfg->decay >= 0 && isfinite(cfg->decay);
    case NN_OPT_ADAM:
        return cfg->beta1 >= 0 && cfg->beta1 < 1
               && cfg->beta2 >= 0 && cfg->beta2 < 1
               && cfg->epsilon >= 0 && isfinite(cfg->epsilon);
    }
    return 0;
}

/* Allocate one zeroed moment tensor shaped like p. */
static int init_moment(nn_param *state, const nn_param *p,
                       const char *suffix, size_t elem_bytes)
{
    snprintf(state->name, sizeof state->name, "%.39s%s", p->name, suffix);
    state->rows = p->rows;
    state->cols = p->cols;
    state->size = p->size;
    state->grad = NULL;
    state->value = calloc(p->size, elem_bytes);
    return state->value ? 0 : -1;
}

nn_optim *nn_optim_create(const nn_optim_config *cfg, nn_model *model)
{
    nn_optim *opt;
    size_t n_params, elem_bytes;

    if (!cfg || !model || !config_is_valid(cfg))
        return NULL;
    opt = calloc(1, sizeof *opt);
    if (!opt)
        return NULL;
    opt->cfg = *cfg;
    opt->dtype = nn_model_get_config(model)->dtype;
#if HAVE_AVX512_ADAM
    opt->avx512 = __builtin_cpu_supports("avx512f");
#endif
    if (cfg->kind != NN_OPT_ADAM)
        return opt;

    n_params = nn_model_n_params(model);
    elem_bytes = opt->dtype == NN_F64 ? sizeof(double) : sizeof(float);
    opt->state = calloc(2 * n_params, sizeof *opt->state);
    if (!opt->state) {
        free(opt);
        return NULL;
    }
    opt->n_state = 2 * n_params;
    for (size_t i = 0; i < n_params; i++) {
        const nn_param *p = nn_model_param(model, i);

        if (init_moment(&opt->state[2 * i], p, ".adam_v", elem_bytes)
            || init_moment(&opt->state[2 * i + 1], p, ".adam_s",
                           elem_bytes)) {
            nn_optim_free(opt);
            return NULL;
        }
    }
    return opt;
}

void nn_optim_free(nn_optim *opt)
{
    if (!opt)
        return;
    for (size_t i = 0; i < opt->n_state; i++)
        free(opt->state[i].value);
    free(opt->state);
    free(opt);
}

/* theta -= rate * g */
VECTORIZED
static void descend(nn_param *p, nn_dtype dtype, double rate)
{
    if (dtype == NN_F64) {
        double *restrict theta = p->value;
        const double *restrict g = p->grad;

        for (size_t k = 0; k < p->size; k++)
            theta[k] -= rate * g[k];
    } else {
        float *restrict theta = p->value;
        const float *restrict g = p->grad;
        float r = (float)rate;

        for (size_t k = 0; k < p->size; k++)
            theta[k] -= r * g[k];
    }
}

/*
 * The constants of one Adam step, in both precisions: c1 = 1 / (1 -
 * beta1^t) and c2 = 1 / (1 - beta2^t) are the bias corrections, and
 * one_b1 = 1 - beta1, one_b2 = 1 - beta2 are rounded once, in the
 * precision of the update.
 */
typedef struct {
    double b1, b2, one_b1, one_b2, lr, eps, c1, c2;
    float b1f, b2f, one_b1f, one_b2f, lrf, epsf, c1f, c2f;
} adam_coefs;

static void adam_coefs_init(adam_coefs *coef, const nn_optim_config *cfg,
                            int64_t t)
{
    coef->b1 = cfg->beta1;
    coef->b2 = cfg->beta2;
    coef->one_b1 = 1 - coef->b1;
    coef->one_b2 = 1 - coef->b2;
    coef->lr = cfg->learning_rate;
    coef->eps = cfg->epsilon;
    coef->c1 = 1 / (1 - pow(cfg->beta1, (double)t));
    coef->c2 = 1 / (1 - pow(cfg->beta2, (double)t));
    coef->b1f = (float)coef->b1;
    coef->b2f = (float)coef->b2;
    coef->one_b1f = 1 - coef->b1f;
    coef->one_b2f = 1 - coef->b2f;
    coef->lrf = (float)coef->lr;
    coef->epsf = (float)coef->eps;
    coef->c1f = (float)coef->c1;
    coef->c2f = (float)coef->c2;
}

/*
 * Adam over values [from, n) of one parameter.  The vector versions
 * below evaluate the same expressions in the same order, one rounding
 * per operation, so every path gives the same bits.
 */
static void adam_f64(const adam_coefs *coef, double *restrict theta,
                     double *restrict v, double *restrict s,
                     const double *restrict g, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        double gi = g[i];
        double vi = coef->b1 * v[i] + coef->one_b1 * gi;
        double si = coef->b2 * s[i] + coef->one_b2 * gi * gi;

        v[i] = vi;
        s[i] = si;
        theta[i] -= coef->lr * (vi * coef->c1)
                    / (sqrt(si * coef->c2) + coef->eps);
    }
}

static void adam_f32(const adam_coefs *coef, float *restrict theta,
                     float *restrict v, float *restrict s,
                     const float *restrict g, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        float gi = g[i];
        float vi = coef->b1f * v[i] + coef->one_b1f * gi;
        float si = coef->b2f * s[i] + coef->one_b2f * gi * gi;

        v[i] = vi;
        s[i] = si;
        theta[i] -= coef->lrf * (vi * coef->c1f)
                    / (sqrtf(si * coef->c2f) + coef->epsf);
    }
}

#if HAVE_AVX512_ADAM
/*
 * The loops above, 8 doubles or 16 floats at a time, written with
 * intrinsics because a compiler may vectorise sqrt only when it need
 * not set errno (-fno-math-errno).  Each returns the index where the
 * scalar loop must take over.  Multiplies and adds stay separate (no
 * FMA), as in the C expressions.
 */
__attribute__((target("avx512f")))
static size_t adam_f64_avx512(const adam_coefs *coef, double *theta,
                              double *v, double *s, const double *g,
                              size_t n)
{
    __m512d b1 = _mm512_set1_pd(coef->b1), b2 = _mm512_set1_pd(coef->b2);
    __m512d one_b1 = _mm512_set1_pd(coef->one_b1);
    __m512d one_b2 = _mm512_set1_pd(coef->one_b2);
    __m512d lr = _mm512_set1_pd(coef->lr);
    __m512d eps = _mm512_set1_pd(coef->eps);
    __m512d c1 = _mm512_set1_pd(coef->c1), c2 = _mm512_set1_pd(coef->c2);
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        __m512d gi = _mm512_loadu_pd(g + i);
        __m512d vi = _mm512_add_pd(_mm512_mul_pd(b1, _mm512_loadu_pd(v + i)),
                                   _mm512_mul_pd(one_b1, gi));
        __m512d si = _mm512_add_pd(
            _mm512_mul_pd(b2, _mm512_loadu_pd(s + i)),
            _mm512_mul_pd(_mm512_mul_pd(one_b2, gi), gi));
        __m512d step = _mm512_div_pd(
            _mm512_mul_pd(lr, _mm512_mul_pd(vi, c1)),
            _mm512_add_pd(_mm512_sqrt_pd(_mm512_mul_pd(si, c2)), eps));

        _mm512_storeu_pd(v + i, vi);
        _mm512_storeu_pd(s + i, si);
        _mm512_storeu_pd(theta + i,
                         _mm512_sub_pd(_mm512_loadu_pd(theta + i), step));
    }
    return i;
}

__attribute__((target("avx512f")))
static size_t adam_f32_avx512(const adam_coefs *coef, float *theta,
                              float *v, float *s, const float *g, size_t n)
{
    __m512 b1 = _mm512_set1_ps(coef->b1f), b2 = _mm512_set1_ps(coef->b2f);
    __m512 one_b1 = _mm512_set1_ps(coef->one_b1f);
    __m512 one_b2 = _mm512_set1_ps(coef->one_b2f);
    __m512 lr = _mm512_set1_ps(coef->lrf);
    __m512 eps = _mm512_set1_ps(coef->epsf);
    __m512 c1 = _mm512_set1_ps(coef->c1f), c2 = _mm512_set1_ps(coef->c2f);
    size_t i;

    for (i = 0; i + 16 <= n; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(v + i)),
                                  _mm512_mul_ps(one_b1, gi));
        __m512 si = _mm512_add_ps(
            _mm512_mul_ps(b2, _mm512_loadu_ps(s + i)),
            _mm512_mul_ps(_mm512_mul_ps(one_b2, gi), gi));
        __m512 step = _mm512_div_ps(
            _mm512_mul_ps(lr, _mm512_mul_ps(vi, c1)),
            _mm512_add_ps(_mm512_sqrt_ps(_mm512_mul_ps(si, c2)), eps));

        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(s + i, si);
        _mm512_storeu_ps(theta + i,
                         _mm512_sub_ps(_mm512_loadu_ps(theta + i), step));
    }
    return i;
}
#endif

/* One Adam pass over p, through the vector loop when the CPU has one. */
static void adam_update(const nn_optim *opt, const adam_coefs *coef,
                        nn_param *p, nn_param *v_state, nn_param *s_state)
{
    size_t from = 0;

    if (opt->dtype == NN_F64) {
#if HAVE_AVX512_ADAM
        if (opt->avx512)
            from = adam_f64_avx512(coef, p->value, v_state->value,
                                   s_state->value, p->grad, p->size);
#endif
        adam_f64(coef, p->value, v_state->value, s_state->value, p->grad,
                 from, p->size);
    } else {
#if HAVE_AVX512_ADAM
        if (opt->avx512)
            from = adam_f32_avx512(coef, p->value, v_state->value,
                                   s_state->value, p->grad, p->size);
#endif
        adam_f32(coef, p->value, v_state->value, s_state->value, p->grad,
                 from, p->size);
    }
}

void nn_optim_step(nn_optim *opt, nn_model *model, int epoch)
{
    size_t n_params = nn_model_n_params(model);
    double rate;
    adam_coefs coefs;

    opt->steps++;
    switch (opt->cfg.kind) {
    case NN_OPT_CONSTANT:
    case NN_OPT_EXP_DECAY:
        rate = opt->cfg.learning_rate;
        if (opt->cfg.kind == NN_OPT_EXP_DECAY)
            rate *= exp(-opt->cfg.decay * epoch);
        for (size_t i = 0; i < n_params; i++)
            descend(nn_model_param(model, i), opt->dtype, rate);
        break;
    case NN_OPT_ADAM:
        adam_coefs_init(&coefs, &opt->cfg, opt->steps);
        for (size_t i = 0; i < n_params && 2 * i < opt->n_state; i++)
            adam_update(opt, &coefs, nn_model_param(model, i),
                        &opt->state[2 * i], &opt->state[2 * i + 1]);
        break;
    }
}

int64_t nn_optim_steps(const nn_optim *opt)
{
    return opt->steps;
}

void nn_optim_set_steps(nn_optim *opt, int64_t t)
{
    opt->steps = t;
}

size_t nn_optim_n_state(const nn_optim *opt)
{
    return opt->n_state;
}

nn_param *nn_optim_state(nn_optim *opt, size_t i)
{
    return i < opt->n_state ? &opt->state[i] : NULL;
}
