/*
 * Gradient checking: compare the gradients of the last backward pass
 * with central differences, (J(θ+ε) - J(θ-ε)) / 2ε, on a seeded sample
 * of entries of every parameter tensor.
 */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include "nn_model.h"
#include "nn_rng.h"

typedef struct {
    double distance;            /* over every checked entry */
    int n_checked;
    char worst[48];             /* tensor with the largest distance */
    double worst_distance;
} nn_gradcheck_result;

/*
 * Check the gradients now in the model's params.  The caller has run
 * an NN_MODE_TRAIN forward and a backward on (x, labels, m), and added
 * nn_model_add_weight_decay(model, lambda, m) when lambda > 0.  J is
 * the mean cross-entropy plus (lambda / (2m)) ||θ||², evaluated with
 * NN_MODE_CHECK forwards, which reuse the training pass's dropout
 * masks, so dropout does not make the check fail.
 *
 * For each tensor, n_samples flat indices are drawn from rng (with
 * replacement; repeats are checked once).  The distance is
 * ||a - n|| / (||a|| + ||n||) over the concatenated analytic (a) and
 * numerical (n) vectors, 0 when both are 0.  Parameters are restored
 * exactly.  Returns 0, or -1 when a forward pass fails.
 */
int nn_gradcheck(nn_model *model, const void *x, const int *labels, int m,
                 double lambda, int n_samples, double epsilon, nn_rng *rng,
                 nn_gradcheck_result *out);

#endif
