/*
 * nn_optim: in-place parameter updates.  Adam reads the gradient and
 * both moments and writes the moments and the value in one pass over
 * each parameter.
 */
#include "nn_optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct nn_optim {
    nn_optim_config cfg;
    nn_dtype dtype;
    int64_t steps;
    nn_param *state;            /* ADAM: adam_v, adam_s per parameter */
    size_t n_state;
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
static void descend(nn_param *p, nn_dtype dtype, double rate)
{
    if (dtype == NN_F64) {
        double *theta = p->value;
        const double *g = p->grad;

        for (size_t k = 0; k < p->size; k++)
            theta[k] -= rate * g[k];
    } else {
        float *theta = p->value;
        const float *g = p->grad;
        float r = (float)rate;

        for (size_t k = 0; k < p->size; k++)
            theta[k] -= r * g[k];
    }
}

/*
 * One Adam pass over p.  c1 = 1 / (1 - beta1^t) and c2 = 1 / (1 -
 * beta2^t) are the bias corrections.
 */
static void adam_f64(const nn_optim_config *cfg, nn_param *p,
                     nn_param *v_state, nn_param *s_state,
                     double c1, double c2)
{
    double *theta = p->value, *v = v_state->value, *s = s_state->value;
    const double *g = p->grad;
    double b1 = cfg->beta1, b2 = cfg->beta2;
    double lr = cfg->learning_rate, eps = cfg->epsilon;

    for (size_t k = 0; k < p->size; k++) {
        double gk = g[k];
        double vk = b1 * v[k] + (1 - b1) * gk;
        double sk = b2 * s[k] + (1 - b2) * gk * gk;

        v[k] = vk;
        s[k] = sk;
        theta[k] -= lr * (vk * c1) / (sqrt(sk * c2) + eps);
    }
}

static void adam_f32(const nn_optim_config *cfg, nn_param *p,
                     nn_param *v_state, nn_param *s_state,
                     double c1, double c2)
{
    float *theta = p->value, *v = v_state->value, *s = s_state->value;
    const float *g = p->grad;
    float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
    float lr = (float)cfg->learning_rate, eps = (float)cfg->epsilon;
    float c1f = (float)c1, c2f = (float)c2;

    for (size_t k = 0; k < p->size; k++) {
        float gk = g[k];
        float vk = b1 * v[k] + (1 - b1) * gk;
        float sk = b2 * s[k] + (1 - b2) * gk * gk;

        v[k] = vk;
        s[k] = sk;
        theta[k] -= lr * (vk * c1f) / (sqrtf(sk * c2f) + eps);
    }
}

void nn_optim_step(nn_optim *opt, nn_model *model, int epoch)
{
    size_t n_params = nn_model_n_params(model);
    double rate, c1, c2;

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
        c1 = 1 / (1 - pow(opt->cfg.beta1, (double)opt->steps));
        c2 = 1 / (1 - pow(opt->cfg.beta2, (double)opt->steps));
        for (size_t i = 0; i < n_params && 2 * i < opt->n_state; i++) {
            nn_param *p = nn_model_param(model, i);

            if (opt->dtype == NN_F64)
                adam_f64(&opt->cfg, p, &opt->state[2 * i],
                         &opt->state[2 * i + 1], c1, c2);
            else
                adam_f32(&opt->cfg, p, &opt->state[2 * i],
                         &opt->state[2 * i + 1], c1, c2);
        }
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
