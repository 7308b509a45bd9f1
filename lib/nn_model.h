/*
 * Fully connected classifiers trained by backpropagation: a one-layer
 * softmax regression and a stack of Dense -> Dropout -> BatchNorm ->
 * activation blocks under a Dense -> Dropout -> BatchNorm -> Softmax
 * output block.  Batches are row-major with samples first, (m, n_inputs)
 * in, (m, n_classes) probabilities out, in float64 or float32.
 *
 * This module computes values and gradients only.  Updates live in
 * nn_optim.h; saving and loading go through the parameter and buffer
 * lists below.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rng.h"
#include "nn_tensor.h"

typedef enum {
    NN_ARCH_ONE_LAYER,          /* Dense with bias, then softmax */
    NN_ARCH_N_LAYERS            /* hidden blocks, then the output block */
} nn_arch;

typedef enum {
    NN_ACT_LEAKY_RELU,          /* slope 0.01 for inputs <= 0 */
    NN_ACT_RELU,
    NN_ACT_TANH,
    NN_ACT_SIGMOID
} nn_activation;

/* Weight initialisers for a W of shape (r, c), c = fan-in. */
typedef enum {
    NN_INIT_GLOROT_NORMAL,      /* N(0, 2 / (r + c)) */
    NN_INIT_GLOROT_UNIFORM,     /* U(-sqrt(6 / (r + c)), +sqrt(6 / (r + c))) */
    NN_INIT_KAIMING             /* N(0, 2 / c) */
} nn_init;

/* Statistics that BatchNorm uses in NN_MODE_INFER. */
typedef enum {
    NN_BN_RUNNING,              /* running mean and variance */
    NN_BN_BATCH                 /* statistics of the batch presented */
} nn_bn_mode;

typedef enum {
    NN_MODE_INFER,              /* no dropout; bn_mode picks BatchNorm's
                                 * statistics */
    NN_MODE_TRAIN,              /* new dropout masks, batch statistics,
                                 * running statistics updated */
    NN_MODE_CHECK               /* TRAIN with the last masks and no update
                                 * of running statistics */
} nn_mode;

#define NN_MAX_HIDDEN 64

typedef struct {
    nn_arch arch;
    int n_inputs;               /* features per sample, >= 1 */
    int n_classes;              /* >= 2 */
    int n_hidden;               /* N_LAYERS: entries of hidden, 0..64 */
    int hidden[NN_MAX_HIDDEN];  /* N_LAYERS: units per hidden block */
    nn_activation activation;   /* N_LAYERS hidden blocks */
    nn_init init;               /* every Dense weight */
    double dropout;             /* probability of dropping a unit, [0, 1) */
    nn_bn_mode bn_mode;
    double bn_momentum;         /* running = momentum * running
                                 * + (1 - momentum) * batch, in [0, 1] */
    nn_dtype dtype;             /* NN_F64 or NN_F32, for every parameter,
                                 * buffer and matrix product */
    uint64_t seed;              /* initial weights and dropout masks */
} nn_model_config;

/*
 * Fill cfg with the defaults: OneLayer, hidden = {100} for N_LAYERS,
 * leaky ReLU, Glorot normal, no dropout, NN_BN_BATCH (inference on
 * batch statistics, as the Ruby original does), momentum 0.9, NN_F64,
 * seed 0.  n_inputs and n_classes are set to 0 and must be filled in.
 */
void nn_model_config_default(nn_model_config *cfg);

/*
 * A named tensor of the model, row-major (rows, cols), size = rows *
 * cols elements of the model dtype.  grad has the same shape for a
 * trainable parameter and is NULL for a buffer.
 */
typedef struct {
    char name[48];
    int64_t rows, cols;
    size_t size;
    void *value;
    void *grad;
} nn_param;

typedef struct nn_model nn_model;

/*
 * Build a model from cfg and initialise its weights from cfg->seed.
 * Returns NULL when a field of cfg is out of range or memory runs out.
 * Free the result with nn_model_free.
 */
nn_model *nn_model_create(const nn_model_config *cfg);

/* Free model and everything it owns.  NULL is accepted. */
void nn_model_free(nn_model *model);

/* The configuration the model was built with, owned by the model. */
const nn_model_config *nn_model_get_config(const nn_model *model);

/*
 * Trainable parameters, in layer order and within a layer W, B, Gamma,
 * Beta.  Names follow the Ruby original: L<layer index>_Dense_W,
 * L<index>_Dense_B (OneLayer only), L<index>_BatchNormalization_Gamma
 * and _Beta.  The pointers stay valid until nn_model_free.
 * nn_model_param returns NULL when i is out of range.  nn_model_find
 * looks the name up among the parameters, then among the buffers
 * below, and returns NULL when neither has it.
 */
size_t nn_model_n_params(const nn_model *model);
nn_param *nn_model_param(nn_model *model, size_t i);
nn_param *nn_model_find(nn_model *model, const char *name);

/* Sum of the sizes of all trainable parameters. */
size_t nn_model_n_scalars(const nn_model *model);

/*
 * The generator that draws dropout masks, after the initial weights.
 * Checkpoints save and restore it so that a resumed run draws the same
 * masks as an uninterrupted one.
 */
nn_rng *nn_model_rng(nn_model *model);

/*
 * State saved with the model but not trained: the BatchNorm running
 * statistics L<index>_BatchNormalization_RunningMean and _RunningVar,
 * shape (units, 1), starting at 0 and 1.  grad is NULL.
 * nn_model_buffer returns NULL when i is out of range.
 */
size_t nn_model_n_buffers(const nn_model *model);
nn_param *nn_model_buffer(nn_model *model, size_t i);

/*
 * Run a batch x of shape (m, n_inputs), row-major in the model dtype,
 * through the model.  Returns the class probabilities (m, n_classes),
 * owned by the model and valid until the next forward.
 *
 * x is borrowed: it must stay alive and unchanged until the backward
 * pass of this batch returns.  Internal buffers grow when m exceeds
 * every earlier m and are reused otherwise.
 *
 * NN_MODE_CHECK needs a preceding NN_MODE_TRAIN forward with the same
 * m, whose dropout masks it reuses.  Returns NULL when m < 1, x is
 * NULL, mode is unknown, that condition fails, or growing the buffers
 * runs out of memory.
 */
const void *nn_model_forward(nn_model *model, const void *x, int m,
                             nn_mode mode);

/*
 * Score the last forward, which must have had m samples.  Returns the
 * mean cross-entropy -log(p[label]) without any floor, so a zero
 * probability for the true class gives +inf.  The argmax of a sample
 * is its first maximum.  When not NULL, *n_correct receives the number
 * of samples whose argmax equals the label, and predictions (m entries)
 * receives each argmax.  Returns NaN when m does not match the last
 * forward or a label is outside [0, n_classes).
 */
double nn_model_loss(nn_model *model, const int *labels, int m,
                     int *n_correct, int *predictions);

/*
 * Overwrite every param->grad with the gradient of the mean
 * cross-entropy of the last forward, which must have been
 * NN_MODE_TRAIN or NN_MODE_CHECK.  labels has one entry per sample.
 * The gradient with respect to the input x is not computed.
 * Returns 0, or -1 (grads untouched) when no training forward came
 * before or a label is outside [0, n_classes).
 */
int nn_model_backward(nn_model *model, const int *labels);

/* Sum of squares of every trainable value, accumulated in double. */
double nn_model_l2(const nn_model *model);

/*
 * Add (lambda / m) * theta to every parameter's grad: the gradient of
 * the cost term (lambda / (2m)) * ||theta||^2, where ||theta||^2 is
 * nn_model_l2.  Call it after nn_model_backward.  Does nothing when
 * m < 1.
 */
void nn_model_add_weight_decay(nn_model *model, double lambda, int m);

/*
 * Check that every parameter value, every layer output of the last
 * forward and every grad is finite, in that order, so the first
 * offender is the likeliest cause.  Returns 0, or -1 with *where (if
 * where is not NULL) naming the first offender, such as
 * "L0_Dense_W value", "L2_BatchNormalization output" or
 * "L0_Dense_W gradient".  The string is owned by the model and valid
 * until the next call.
 */
int nn_model_check_finite(nn_model *model, const char **where);

/*
 * Per-layer timing.  While profiling is on, every forward and backward
 * adds the wall-clock seconds (CLOCK_MONOTONIC) each layer took to its
 * totals.  Layers are indexed as in the parameter names, so
 * nn_model_layer_name(model, 2) is "L2_BatchNormalization".
 * NOTE: each activation layer is computed in the pass of the BatchNorm
 * before it, so its time is counted there and its own stays 0.
 * nn_model_layer_name returns NULL and nn_model_layer_times stores
 * zeros when i is out of range.
 */
void nn_model_set_profiling(nn_model *model, int on);
size_t nn_model_n_layers(const nn_model *model);
const char *nn_model_layer_name(const nn_model *model, size_t i);
void nn_model_layer_times(const nn_model *model, size_t i,
                          double *fwd_s, double *bwd_s);
void nn_model_reset_times(nn_model *model);

#endif
