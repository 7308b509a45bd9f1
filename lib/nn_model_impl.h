/*
 * Layer kernels of nn_model.c, written once for both precisions.
 * nn_model.c includes this file twice, after defining
 *   REAL      the element type (double or float),
 *   FN(name)  the name with a precision suffix (name_f64, name_f32),
 *   GEMM      cblas_dgemm or cblas_sgemm,
 *   EXP, TANH the libm functions for REAL.
 * It has no include guard on purpose.
 *
 * Shapes: m samples, fan_in inputs and units outputs per layer; every
 * (m, width) buffer is row-major, one sample per row.  Per-unit
 * BatchNorm statistics are kept in double in both precisions.
 *
 * Loops over a row run the units innermost, each unit accumulating in
 * its own slot of a per-unit array, so that the compiler can vectorise
 * them (see VECTORIZED in nn_model.c) without changing the order of
 * any sum.  Row helpers take restrict pointers for the same reason.
 */

/* y += b over one row of n values. */
static inline void FN(add_row)(REAL *restrict y, const REAL *restrict b,
                               int n)
{
    for (int j = 0; j < n; j++)
        y[j] += b[j];
}

/* sum += y over one row of n values. */
static inline void FN(accumulate_row)(REAL *restrict sum,
                                      const REAL *restrict y, int n)
{
    for (int j = 0; j < n; j++)
        sum[j] += y[j];
}

/*
 * Z = X W^T (+ b), one GEMM with W read transposed in place: OpenBLAS
 * packs both operands whatever their transposes, so no layout of W
 * saves a copy, and this one keeps W (units, fan_in) as saved.
 */
VECTORIZED
static void FN(dense_forward)(nn_model *model, layer *l, const void *in,
                              int m, nn_mode mode)
{
    const REAL *x = in;                 /* (m, fan_in) */
    const REAL *w = l->w->value;        /* (units, fan_in) */
    REAL *z = l->out_buf;               /* (m, units) */
    int units = l->units, fan_in = l->fan_in;

    (void)model;
    (void)mode;
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, units, fan_in,
         1, x, fan_in, w, fan_in, 0, z, units);
    if (l->b)
        for (int i = 0; i < m; i++)
            FN(add_row)(z + (size_t)i * units, l->b->value, units);
    l->out = z;
}

/*
 * dW = dZ^T X and db = column sums of dZ; then dX = dZ W into the
 * scratch buffer that dZ is not in, unless the input is the model's.
 */
VECTORIZED
static void *FN(dense_backward)(nn_model *model, layer *l, void *dy,
                                int m)
{
    const REAL *dz = dy;                /* (m, units) */
    const REAL *x = l->in;              /* (m, fan_in) */
    const REAL *w = l->w->value;        /* (units, fan_in) */
    REAL *dw = l->w->grad;              /* (units, fan_in) */
    REAL *dx;                           /* (m, fan_in) */
    int units = l->units, fan_in = l->fan_in;

    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, units, fan_in, m,
         1, dz, units, x, fan_in, 0, dw, fan_in);
    if (l->b) {
        REAL *db = l->b->grad;          /* (units, 1) */

        for (int j = 0; j < units; j++)
            db[j] = 0;
        for (int i = 0; i < m; i++)
            FN(accumulate_row)(db, dz + (size_t)i * units, units);
    }
    if (l->first)
        return NULL;

    dx = dy == model->scratch[0] ? model->scratch[1] : model->scratch[0];
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, fan_in, units,
         1, dz, units, w, fan_in, 0, dx, fan_in);
    return dx;
}

/* y = x * mask over n values. */
static inline void FN(multiply)(REAL *restrict y, const REAL *restrict x,
                                const REAL *restrict mask, size_t n)
{
    for (size_t k = 0; k < n; k++)
        y[k] = x[k] * mask[k];
}

/*
 * Inverted dropout: keep a unit when u >= p, u ~ U[0, 1), and scale it
 * by 1 / (1 - p).  The mask stores 0 or that scale, so backward is one
 * multiply.  TRAIN draws a mask in row-major order, CHECK reuses it,
 * INFER and p = 0 pass the input through without copying it.
 */
VECTORIZED
static void FN(dropout_forward)(nn_model *model, layer *l, const void *in,
                                int m, nn_mode mode)
{
    double p = model->cfg.dropout;
    REAL *mask = l->mask;               /* (m, units) */
    size_t n = (size_t)m * l->units;

    if (p == 0 || mode == NN_MODE_INFER) {
        l->out = in;
        return;
    }
    if (mode == NN_MODE_TRAIN) {
        REAL scale = (REAL)(1.0 / (1.0 - p));

        for (size_t k = 0; k < n; k++)
            mask[k] = nn_rng_uniform(&model->rng) >= p ? scale : 0;
    }
    FN(multiply)(l->out_buf, in, mask, n);
    l->out = l->out_buf;
}

VECTORIZED
static void *FN(dropout_backward)(nn_model *model, layer *l, void *dy,
                                  int m)
{
    REAL *d = dy;                       /* (m, units) */
    const REAL *mask = l->mask;         /* (m, units) */
    size_t n = (size_t)m * l->units;

    if (model->cfg.dropout == 0)
        return dy;
    for (size_t k = 0; k < n; k++)
        d[k] *= mask[k];
    return dy;
}

/* a = f(y) over one row of n values. */
static inline void FN(activate_row)(nn_activation f, const REAL *restrict y,
                                    REAL *restrict a, int n)
{
    switch (f) {
    case NN_ACT_LEAKY_RELU:
        for (int j = 0; j < n; j++)
            a[j] = y[j] > 0 ? y[j] : (REAL)LEAKY_SLOPE * y[j];
        break;
    case NN_ACT_RELU:
        for (int j = 0; j < n; j++)
            a[j] = y[j] > 0 ? y[j] : 0;
        break;
    case NN_ACT_TANH:
        for (int j = 0; j < n; j++)
            a[j] = TANH(y[j]);
        break;
    case NN_ACT_SIGMOID:
        /* exp of a negative argument only, so nothing overflows */
        for (int j = 0; j < n; j++) {
            REAL e = EXP(-(y[j] < 0 ? -y[j] : y[j]));

            a[j] = y[j] >= 0 ? 1 / (1 + e) : e / (1 + e);
        }
        break;
    }
}

/*
 * d *= f'(y) over one row, with f' written in terms of a = f(y).  For
 * both ReLUs a > 0 exactly when y > 0, so the leaky slope applies at
 * y = 0 and ReLU's derivative there is 0.
 */
static inline void FN(activation_backward_row)(nn_activation f,
                                               const REAL *restrict a,
                                               REAL *restrict d, int n)
{
    switch (f) {
    case NN_ACT_LEAKY_RELU:
        for (int j = 0; j < n; j++)
            d[j] *= a[j] > 0 ? 1 : (REAL)LEAKY_SLOPE;
        break;
    case NN_ACT_RELU:
        for (int j = 0; j < n; j++)
            d[j] = a[j] > 0 ? d[j] : 0;
        break;
    case NN_ACT_TANH:
        for (int j = 0; j < n; j++)
            d[j] *= 1 - a[j] * a[j];
        break;
    case NN_ACT_SIGMOID:
        for (int j = 0; j < n; j++)
            d[j] *= a[j] * (1 - a[j]);
        break;
    }
}

/* sum += x over one row of n units. */
static inline void FN(sum_row)(double *restrict sum, const REAL *restrict x,
                               int n)
{
    for (int j = 0; j < n; j++)
        sum[j] += x[j];
}

/* sq += (x - mean)^2 over one row of n units. */
static inline void FN(sum_squared_deviations_row)(double *restrict sq,
                                                  const REAL *restrict x,
                                                  const double *restrict mean,
                                                  int n)
{
    for (int j = 0; j < n; j++) {
        double d = x[j] - mean[j];

        sq[j] += d * d;
    }
}

/*
 * Mean and biased variance of each unit over the batch, two passes.
 * When update is set, blend them into the running statistics; the
 * running variance takes the unbiased variance, var * m / (m - 1).
 */
VECTORIZED
static void FN(batchnorm_batch_stats)(nn_model *model, layer *l,
                                      const REAL *x, int m, int update)
{
    int units = l->units;
    double *mean = l->mean, *var = l->var, *inv_std = l->inv_std;

    for (int j = 0; j < units; j++)
        mean[j] = var[j] = 0;
    for (int i = 0; i < m; i++)
        FN(sum_row)(mean, x + (size_t)i * units, units);
    for (int j = 0; j < units; j++)
        mean[j] /= m;
    for (int i = 0; i < m; i++)
        FN(sum_squared_deviations_row)(var, x + (size_t)i * units, mean,
                                       units);
    for (int j = 0; j < units; j++) {
        var[j] /= m;
        inv_std[j] = 1 / sqrt(var[j] + BN_EPSILON);
    }
    if (!update)
        return;

    {
        REAL *run_mean = l->run_mean->value;    /* (units, 1) */
        REAL *run_var = l->run_var->value;      /* (units, 1) */
        double mom = model->cfg.bn_momentum;

        for (int j = 0; j < units; j++)
            run_mean[j] = (REAL)(mom * run_mean[j] + (1 - mom) * mean[j]);
        /* NOTE: one sample has no unbiased variance, so m = 1 leaves
         * the running variance unchanged. */
        if (m > 1) {
            double unbias = (double)m / (m - 1);

            for (int j = 0; j < units; j++)
                run_var[j] = (REAL)(mom * run_var[j]
                                    + (1 - mom) * var[j] * unbias);
        }
    }
}

/* y = gamma * (x - mean) * inv_std + beta over one row of n units. */
static inline void FN(normalize_row)(REAL *restrict y, const REAL *restrict x,
                                     const double *restrict mean,
                                     const double *restrict inv_std,
                                     const REAL *restrict gamma,
                                     const REAL *restrict beta, int n)
{
    for (int j = 0; j < n; j++)
        y[j] = (REAL)(gamma[j] * ((x[j] - mean[j]) * inv_std[j]) + beta[j]);
}

/*
 * y = gamma * (x - mean) / sqrt(var + eps) + beta, and the following
 * activation on the same row while it is in cache when l->act is set.
 * x_hat is not stored: backward recomputes it from x.
 */
VECTORIZED
static void FN(batchnorm_forward)(nn_model *model, layer *l,
                                  const void *in, int m, nn_mode mode)
{
    const REAL *x = in;                     /* (m, units) */
    REAL *y = l->out_buf;                   /* (m, units) */
    REAL *a = l->act ? l->act->out_buf : NULL;  /* (m, units) */
    int units = l->units;

    if (mode == NN_MODE_INFER && model->cfg.bn_mode == NN_BN_RUNNING) {
        const REAL *run_mean = l->run_mean->value;
        const REAL *run_var = l->run_var->value;

        for (int j = 0; j < units; j++) {
            l->mean[j] = run_mean[j];
            l->inv_std[j] = 1 / sqrt((double)run_var[j] + BN_EPSILON);
        }
    } else {
        FN(batchnorm_batch_stats)(model, l, x, m, mode == NN_MODE_TRAIN);
    }

    for (int i = 0; i < m; i++) {
        size_t row = (size_t)i * units;

        FN(normalize_row)(y + row, x + row, l->mean, l->inv_std,
                          l->gamma->value, l->beta->value, units);
        if (a)
            FN(activate_row)(l->act->activation, y + row, a + row, units);
    }
    l->out = y;
}

/*
 * sum_dy += d and sum_dy_xhat += d * x_hat over one row of n units,
 * with x_hat = (x - mean) * inv_std.
 */
static inline void FN(sum_gradient_row)(double *restrict sum_dy,
                                        double *restrict sum_dy_xhat,
                                        const REAL *restrict d,
                                        const REAL *restrict x,
                                        const double *restrict mean,
                                        const double *restrict inv_std,
                                        int n)
{
    for (int j = 0; j < n; j++) {
        double x_hat = (x[j] - mean[j]) * inv_std[j];

        sum_dy[j] += d[j];
        sum_dy_xhat[j] += d[j] * x_hat;
    }
}

/* d = scale * (m d - sum_dy - x_hat sum_dy_xhat) over one row. */
static inline void FN(batchnorm_dx_row)(REAL *restrict d,
                                        const REAL *restrict x,
                                        const double *restrict mean,
                                        const double *restrict inv_std,
                                        const double *restrict scale,
                                        const double *restrict sum_dy,
                                        const double *restrict sum_dy_xhat,
                                        double m, int n)
{
    for (int j = 0; j < n; j++) {
        double x_hat = (x[j] - mean[j]) * inv_std[j];

        d[j] = (REAL)(scale[j] * (m * (double)d[j] - sum_dy[j]
                                  - x_hat * sum_dy_xhat[j]));
    }
}

/*
 * With dy the gradient of the BatchNorm output (first taken through the
 * fused activation), and x_hat recomputed from x:
 *   dbeta = sum_i dy,  dgamma = sum_i dy * x_hat,
 *   dx = gamma / (m * sqrt(var + eps)) * (m dy - dbeta - x_hat dgamma),
 * which is the chain rule through the batch mean and biased variance
 * collected into one expression.  dx overwrites dy.
 */
VECTORIZED
static void *FN(batchnorm_backward)(nn_model *model, layer *l, void *dy,
                                    int m)
{
    const REAL *x = l->in;                  /* (m, units) */
    const REAL *a = l->act ? l->act->out : NULL;    /* (m, units) */
    const REAL *gamma = l->gamma->value;    /* (units, 1) */
    REAL *dgamma = l->gamma->grad;          /* (units, 1) */
    REAL *dbeta = l->beta->grad;            /* (units, 1) */
    REAL *d = dy;                           /* (m, units) */
    double *sum_dy = l->sum_dy, *sum_dy_xhat = l->sum_dy_xhat;
    double *scale = l->dx_scale;
    int units = l->units;

    (void)model;
    for (int j = 0; j < units; j++)
        sum_dy[j] = sum_dy_xhat[j] = 0;
    for (int i = 0; i < m; i++) {
        size_t row = (size_t)i * units;

        if (a)
            FN(activation_backward_row)(l->act->activation, a + row,
                                        d + row, units);
        FN(sum_gradient_row)(sum_dy, sum_dy_xhat, d + row, x + row,
                             l->mean, l->inv_std, units);
    }
    for (int j = 0; j < units; j++) {
        dbeta[j] = (REAL)sum_dy[j];
        dgamma[j] = (REAL)sum_dy_xhat[j];
        scale[j] = gamma[j] * l->inv_std[j] / m;
    }

    for (int i = 0; i < m; i++) {
        size_t row = (size_t)i * units;

        FN(batchnorm_dx_row)(d + row, x + row, l->mean, l->inv_std, scale,
                             sum_dy, sum_dy_xhat, m, units);
    }
    return dy;
}

/* p = exp(z - max z) / sum exp(z - max z), row by row. */
static void FN(softmax_forward)(nn_model *model, layer *l, const void *in,
                                int m, nn_mode mode)
{
    const REAL *z = in;                 /* (m, classes) */
    REAL *p = l->out_buf;               /* (m, classes) */
    int n = l->units;

    (void)model;
    (void)mode;
    for (int i = 0; i < m; i++) {
        const REAL *zr = z + (size_t)i * n;
        REAL *pr = p + (size_t)i * n;
        REAL max = zr[0], sum = 0;

        for (int j = 1; j < n; j++)
            max = zr[j] > max ? zr[j] : max;
        for (int j = 0; j < n; j++) {
            pr[j] = EXP(zr[j] - max);
            sum += pr[j];
        }
        for (int j = 0; j < n; j++)
            pr[j] /= sum;
    }
    l->out = p;
}

/*
 * Gradient of the mean cross-entropy with respect to the logits:
 * (p - onehot(label)) / m, written to the first scratch buffer.  The
 * labels were checked by the caller.
 */
VECTORIZED
static void *FN(softmax_backward)(nn_model *model, layer *l, void *dy,
                                  int m)
{
    const REAL *p = l->out;             /* (m, classes) */
    REAL *dz = model->scratch[0];       /* (m, classes) */
    int n = l->units;
    REAL inv_m = (REAL)(1.0 / m);

    (void)dy;
    for (int i = 0; i < m; i++) {
        const REAL *pr = p + (size_t)i * n;
        REAL *dr = dz + (size_t)i * n;

        for (int j = 0; j < n; j++)
            dr[j] = pr[j] * inv_m;
        dr[model->labels[i]] -= inv_m;
    }
    return dz;
}

/* Returns 1 when all n values are finite. */
static int FN(all_finite)(const void *buf, size_t n)
{
    const REAL *v = buf;

    for (size_t k = 0; k < n; k++)
        if (!isfinite(v[k]))
            return 0;
    return 1;
}

/* Sum of v[k]^2 accumulated in double. */
static double FN(sum_squares)(const void *buf, size_t n)
{
    const REAL *v = buf;
    double sum = 0;

    for (size_t k = 0; k < n; k++)
        sum += (double)v[k] * v[k];
    return sum;
}

/* g += c * v, elementwise over n values. */
VECTORIZED
static void FN(add_scaled)(void *grad, const void *value, size_t n,
                           double c)
{
    REAL *restrict g = grad;
    const REAL *restrict v = value;
    REAL cr = (REAL)c;

    for (size_t k = 0; k < n; k++)
        g[k] += cr * v[k];
}

static const layer_ops FN(layer_ops_table)[] = {
    [LAYER_DENSE] = { FN(dense_forward), FN(dense_backward) },
    [LAYER_DROPOUT] = { FN(dropout_forward), FN(dropout_backward) },
    [LAYER_BATCHNORM] = { FN(batchnorm_forward), FN(batchnorm_backward) },
    [LAYER_ACTIVATION] = { activation_forward, activation_backward },
    [LAYER_SOFTMAX] = { FN(softmax_forward), FN(softmax_backward) },
};
