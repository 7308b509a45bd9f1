/*
 * Saving and loading a trained model as a record stream: a header
 * (the class names) followed by one model record that contains the
 * architecture, the expected input shape and every named tensor.
 * The layout is in docs/format.md.
 */
#ifndef NN_MODEL_IO_H
#define NN_MODEL_IO_H

#include "nn_model.h"
#include "nn_record.h"

/* A model with what a user of it needs to feed it. */
typedef struct {
    nn_model *model;
    int64_t input_shape[3];     /* height, width, channels */
    nn_header header;           /* class names; owned */
} nn_saved_model;

/* Pack the model record (not the header) and flush it to w. */
void nn_model_write_record(nn_writer *w, nn_model *model,
                           const int64_t input_shape[3]);

/*
 * Write header and model to path atomically: the file appears whole or
 * not at all.  Returns 0, or -1 with errno set.
 */
int nn_model_save(const char *path, const nn_header *header,
                  nn_model *model, const int64_t input_shape[3]);

/*
 * Load a model file written by nn_model_save.  Returns 0, or -1 with a
 * reason in err (the file name is not included).
 */
int nn_model_load(const char *path, nn_saved_model *out, char *err,
                  size_t err_len);

/* Build a model from the model record r->obj.  -1 with err on failure. */
int nn_model_from_record(const msgpack_object *rec, nn_saved_model *out,
                         char *err, size_t err_len);

void nn_saved_model_free(nn_saved_model *m);

/*
 * Pack a list of named tensors: get(owner, i) for i < n, each as a map
 * {name, dtype, shape, data}.  Used for parameters, buffers and
 * optimizer state.
 */
typedef nn_param *(*nn_tensor_getter)(void *owner, size_t i);
void nn_pack_tensor_list(msgpack_packer *pk, nn_tensor_getter get,
                         void *owner, size_t n, nn_dtype dtype);

/*
 * Copy a packed list into the tensors get(owner, i), which must match
 * it in count, order, names, shapes and dtype.  -1 with err otherwise.
 */
int nn_unpack_tensor_list(const msgpack_object *list, nn_tensor_getter get,
                          void *owner, size_t n, nn_dtype dtype, char *err,
                          size_t err_len);

/* Getters of a model's parameters and buffers, for the two above. */
nn_param *nn_model_param_getter(void *model, size_t i);
nn_param *nn_model_buffer_getter(void *model, size_t i);

/* Names of enum values as written in model records and on command lines. */
const char *nn_arch_name(nn_arch arch);
const char *nn_activation_name(nn_activation act);
/* Parse case-insensitively, accepting the original tool's spellings
 * (OneLayer, NLayers, LeakyReLU).  Return 0 or -1. */
int nn_arch_parse(const char *s, nn_arch *out);
int nn_activation_parse(const char *s, nn_activation *out);

#endif
