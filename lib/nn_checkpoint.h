/*
 * Training checkpoints: everything nn-train needs to continue a run as
 * if it had never stopped.  A checkpoint file is a header, the model
 * record, and one checkpoint record holding the counters, the partial
 * sums of the epoch in progress, the generators' states, the
 * optimizer's state and, for --stop-early, the best weights so far.
 */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include "nn_model.h"
#include "nn_optim.h"
#include "nn_record.h"
#include "nn_rng.h"

typedef struct {
    int64_t epoch;              /* epoch in progress, from 0 */
    int64_t batches_done;       /* batches of that epoch already trained */
    int64_t step;               /* batches trained in the whole run */
    double cost_sum;            /* epoch in progress: sum of cost * m */
    int64_t correct, samples;   /* epoch in progress */
    int64_t nominal_batch;      /* largest batch so far */
    double best_dev_cost;       /* early stopping: lowest dev cost */
    int64_t best_epoch;         /* the epoch that reached it, or -1 */
    double best_cost, best_accuracy, best_dev_accuracy;  /* its figures */
    int64_t bad_epochs;         /* epochs since it last improved */
    int64_t early_stop_epoch;   /* -1 until early stopping triggers */
    double seconds;             /* training time before this process */
    nn_rng check_rng;           /* gradient-check index draws */
} nn_train_state;

/*
 * Write a checkpoint to path atomically.  settings is a line that
 * describes the run's options; nn_checkpoint_load rejects a checkpoint
 * whose settings differ.  best may be NULL.  Returns 0, or -1 with
 * errno set.
 */
int nn_checkpoint_save(const char *path, const nn_header *header,
                       nn_model *model, nn_optim *optim,
                       const int64_t input_shape[3], const char *settings,
                       const nn_train_state *state, nn_model *best);

/*
 * Restore a checkpoint into model, optim, state and (when not NULL)
 * best, which the caller built with the same settings.  input_shape
 * receives the shape the model was trained on.  Returns 0, or -1 with
 * a reason in err.
 */
int nn_checkpoint_load(const char *path, const char *settings,
                       nn_model *model, nn_optim *optim,
                       int64_t input_shape[3], nn_train_state *state,
                       nn_model *best, char *err, size_t err_len);

/*
 * Read only the model's input shape and size from a checkpoint, so the
 * caller can build the model before nn_checkpoint_load.
 */
int nn_checkpoint_peek(const char *path, int64_t input_shape[3], char *err,
                       size_t err_len);

#endif
