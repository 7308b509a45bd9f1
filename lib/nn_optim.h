/*
 * Parameter updates from the gradients in a model's nn_param list:
 * constant rate, exponentially decaying rate, and Adam.  Weight decay
 * is not applied here; add it to the gradients first with
 * nn_model_add_weight_decay.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "nn_model.h"

typedef enum {
    NN_OPT_ADAM,
    NN_OPT_CONSTANT,
    NN_OPT_EXP_DECAY
} nn_opt_kind;

typedef struct {
    nn_opt_kind kind;
    double learning_rate;       /* > 0 */
    double decay;               /* EXP_DECAY: rate per epoch, >= 0 */
    double beta1, beta2;        /* ADAM: moment decay rates, in [0, 1) */
    double epsilon;             /* ADAM: added to sqrt(s_hat), >= 0 */
} nn_optim_config;

/*
 * Fill cfg with the defaults: Adam, learning rate 0.001, decay 0.9,
 * beta1 0.9, beta2 0.999, epsilon 1e-8.
 */
void nn_optim_config_default(nn_optim_config *cfg);

typedef struct nn_optim nn_optim;

/*
 * Create an optimizer for model's parameters.  Adam's moments start at
 * zero, in the model dtype.  Returns NULL when a field of cfg is out of
 * range or memory runs out.  The model must outlive the optimizer.
 */
nn_optim *nn_optim_create(const nn_optim_config *cfg, nn_model *model);

/*
 * Update every parameter of model (the one given to nn_optim_create)
 * in place from its grad: theta -= delta, with
 *   CONSTANT   delta = lr * g
 *   EXP_DECAY  delta = lr * exp(-decay * epoch) * g, epoch from 0
 *   ADAM       v = beta1 v + (1 - beta1) g,  s = beta2 s + (1 - beta2) g^2,
 *              t = steps so far including this one,
 *              delta = lr * v_hat / (sqrt(s_hat) + epsilon) with
 *              v_hat = v / (1 - beta1^t), s_hat = s / (1 - beta2^t).
 * Every kind counts the step.
 */
void nn_optim_step(nn_optim *opt, nn_model *model, int epoch);

/* Free opt and its state.  NULL is accepted. */
void nn_optim_free(nn_optim *opt);

/* Steps taken so far (Adam's t), to save and restore with checkpoints. */
int64_t nn_optim_steps(const nn_optim *opt);
void nn_optim_set_steps(nn_optim *opt, int64_t t);

/*
 * State to save with checkpoints: for Adam, two tensors per parameter
 * in parameter order, "<param>.adam_v" then "<param>.adam_s", with the
 * parameter's shape and dtype and grad NULL; nothing for the other
 * kinds.  nn_optim_state returns NULL when i is out of range.
 */
size_t nn_optim_n_state(const nn_optim *opt);
nn_param *nn_optim_state(nn_optim *opt, size_t i);

#endif
