/* Central-difference gradient checks on sampled parameter entries. */
#include "nn_gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double get_value(const nn_param *p, nn_dtype dtype, size_t i)
{
    return dtype == NN_F64 ? ((const double *)p->value)[i]
                           : ((const float *)p->value)[i];
}

static void set_value(nn_param *p, nn_dtype dtype, size_t i, double v)
{
    if (dtype == NN_F64)
        ((double *)p->value)[i] = v;
    else
        ((float *)p->value)[i] = (float)v;
}

static double get_grad(const nn_param *p, nn_dtype dtype, size_t i)
{
    return dtype == NN_F64 ? ((const double *)p->grad)[i]
                           : ((const float *)p->grad)[i];
}

/* J at the current parameters, as the training objective defines it. */
static int objective(nn_model *model, const void *x, const int *labels,
                     int m, double lambda, double *j)
{
    if (!nn_model_forward(model, x, m, NN_MODE_CHECK))
        return -1;
    *j = nn_model_loss(model, labels, m, NULL, NULL);
    if (lambda > 0)
        *j += lambda / (2.0 * m) * nn_model_l2(model);
    return 0;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

int nn_gradcheck(nn_model *model, const void *x, const int *labels, int m,
                 double lambda, int n_samples, double epsilon, nn_rng *rng,
                 nn_gradcheck_result *out)
{
    nn_dtype dtype = nn_model_get_config(model)->dtype;
    double diff2 = 0, a2 = 0, n2 = 0;
    size_t *idx = malloc((n_samples > 0 ? n_samples : 1) * sizeof *idx);

    if (!idx)
        return -1;
    memset(out, 0, sizeof *out);
    for (size_t t = 0; t < nn_model_n_params(model); t++) {
        nn_param *p = nn_model_param(model, t);
        double t_diff2 = 0, t_a2 = 0, t_n2 = 0;

        for (int k = 0; k < n_samples; k++)
            idx[k] = (size_t)nn_rng_below(rng, p->size);
        qsort(idx, n_samples, sizeof *idx, compare_size);
        for (int k = 0; k < n_samples; k++) {
            size_t i = idx[k];
            double saved = get_value(p, dtype, i), j_plus, j_minus;
            if (k > 0 && idx[k - 1] == i)
                continue;
            set_value(p, dtype, i, saved + epsilon);
            int rc = objective(model, x, labels, m, lambda, &j_plus);
            set_value(p, dtype, i, saved - epsilon);
            rc |= objective(model, x, labels, m, lambda, &j_minus);
            set_value(p, dtype, i, saved);
            if (rc < 0) {
                free(idx);
                return -1;
            }
            /* Divide by the step actually taken, which rounding in f32
             * can make differ from 2ε. */
            double step = (double)(dtype == NN_F64 ? (saved + epsilon) -
                                   (saved - epsilon)
                                   : (float)(saved + epsilon) -
                                   (float)(saved - epsilon));
            double numerical = (j_plus - j_minus) / step;
            double analytic = get_grad(p, dtype, i);
            t_diff2 += (analytic - numerical) * (analytic - numerical);
            t_a2 += analytic * analytic;
            t_n2 += numerical * numerical;
            out->n_checked++;
        }
        double t_dist = t_a2 + t_n2 > 0
            ? sqrt(t_diff2) / (sqrt(t_a2) + sqrt(t_n2)) : 0;
        if (t == 0 || t_dist > out->worst_distance) {
            out->worst_distance = t_dist;
            snprintf(out->worst, sizeof out->worst, "%s", p->name);
        }
        diff2 += t_diff2;
        a2 += t_a2;
        n2 += t_n2;
    }
    out->distance = a2 + n2 > 0 ? sqrt(diff2) / (sqrt(a2) + sqrt(n2)) : 0;
    free(idx);
    return 0;
}
