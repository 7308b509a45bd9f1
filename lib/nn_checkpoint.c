/* Checkpoint files: header, model record, checkpoint record. */
#include "nn_checkpoint.h"

#include <errno.h>
#include <string.h>

#include "nn_io.h"
#include "nn_model_io.h"

static nn_param *optim_getter(void *optim, size_t i)
{
    return nn_optim_state(optim, i);
}

static void pack_int(msgpack_packer *pk, const char *key, int64_t v)
{
    nn_pack_str(pk, key);
    msgpack_pack_int64(pk, v);
}

static void pack_double(msgpack_packer *pk, const char *key, double v)
{
    nn_pack_str(pk, key);
    msgpack_pack_double(pk, v);
}

static void pack_rng(msgpack_packer *pk, const char *key, const nn_rng *rng)
{
    nn_pack_str(pk, key);
    msgpack_pack_array(pk, 4);
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint64(pk, rng->s[i]);
}

int nn_checkpoint_save(const char *path, const nn_header *header,
                       nn_model *model, nn_optim *optim,
                       const int64_t input_shape[3], const char *settings,
                       const nn_train_state *st, nn_model *best)
{
    nn_dtype dtype = nn_model_get_config(model)->dtype;
    nn_atomic_file f;
    nn_writer w;
    msgpack_packer *pk;

    if (nn_atomic_open(&f, path) < 0)
        return -1;
    nn_writer_init(&w, f.fp);
    nn_write_header(&w, header);
    nn_model_write_record(&w, model, input_shape);
    pk = &w.pk;
    msgpack_pack_map(pk, best ? 23 : 21);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "checkpoint");
    nn_pack_str(pk, "settings");
    nn_pack_str(pk, settings);
    pack_int(pk, "epoch", st->epoch);
    pack_int(pk, "batches_done", st->batches_done);
    pack_int(pk, "step", st->step);
    pack_double(pk, "cost_sum", st->cost_sum);
    pack_int(pk, "correct", st->correct);
    pack_int(pk, "samples", st->samples);
    pack_int(pk, "nominal_batch", st->nominal_batch);
    pack_double(pk, "best_dev_cost", st->best_dev_cost);
    pack_int(pk, "bad_epochs", st->bad_epochs);
    pack_int(pk, "best_epoch", st->best_epoch);
    pack_double(pk, "best_cost", st->best_cost);
    pack_double(pk, "best_accuracy", st->best_accuracy);
    pack_double(pk, "best_dev_accuracy", st->best_dev_accuracy);
    pack_int(pk, "early_stop_epoch", st->early_stop_epoch);
    pack_double(pk, "seconds", st->seconds);
    pack_rng(pk, "model_rng", nn_model_rng(model));
    pack_rng(pk, "check_rng", &st->check_rng);
    pack_int(pk, "optim_steps", nn_optim_steps(optim));
    nn_pack_str(pk, "optim_state");
    nn_pack_tensor_list(pk, optim_getter, optim, nn_optim_n_state(optim),
                        dtype);
    if (best) {
        nn_pack_str(pk, "best_params");
        nn_pack_tensor_list(pk, nn_model_param_getter, best,
                            nn_model_n_params(best), dtype);
        nn_pack_str(pk, "best_buffers");
        nn_pack_tensor_list(pk, nn_model_buffer_getter, best,
                            nn_model_n_buffers(best), dtype);
    }
    nn_writer_flush(&w);
    nn_writer_free(&w);
    return nn_atomic_commit(&f);
}

static int get_rng(const msgpack_object *rec, const char *key, nn_rng *rng,
                   char *err, size_t len)
{
    const msgpack_object *a = nn_map_get(rec, key);

    if (!a || a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 4) {
        snprintf(err, len, "missing or invalid field '%s'", key);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (a->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            snprintf(err, len, "invalid field '%s'", key);
            return -1;
        }
        rng->s[i] = a->via.array.ptr[i].via.u64;
    }
    return 0;
}

/* Open path and read up to its model record (1) and checkpoint (2). */
static int read_records(nn_reader *r, const char *path, int want,
                        char *err, size_t len)
{
    if (nn_reader_open(r, path) < 0) {
        snprintf(err, len, "cannot open: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        int got = nn_reader_next(r);
        if (got < 0) {
            nn_reader_error(r, err, len);
            return -1;
        }
        if (got == 0) {
            snprintf(err, len, "not a checkpoint: no %s record",
                     want == 1 ? "model" : "checkpoint");
            return -1;
        }
        if ((want == 1 && r->type == NN_REC_MODEL) ||
            (want == 2 && strcmp(r->type_name, "checkpoint") == 0))
            return 0;
    }
}

int nn_checkpoint_peek(const char *path, int64_t input_shape[3], char *err,
                       size_t len)
{
    nn_reader r;
    int rc = read_records(&r, path, 1, err, len);

    if (rc == 0) {
        const msgpack_object *shape = nn_map_get(r.obj, "input_shape");
        if (!shape || shape->type != MSGPACK_OBJECT_ARRAY ||
            shape->via.array.size != 3) {
            snprintf(err, len, "model record has no valid input_shape");
            rc = -1;
        } else {
            for (int i = 0; i < 3; i++) {
                const msgpack_object *d = &shape->via.array.ptr[i];
                if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                    d->via.u64 == 0 || d->via.u64 > 65535) {
                    snprintf(err, len, "model record has no valid "
                             "input_shape");
                    rc = -1;
                    break;
                }
                input_shape[i] = (int64_t)d->via.u64;
            }
        }
    }
    nn_reader_close(&r);
    return rc;
}

/* Read the checkpoint record's counters into st. */
static int get_state(const msgpack_object *rec, nn_train_state *st,
                     char *err, size_t len)
{
    struct { const char *key; int64_t *out; } ints[] = {
        {"epoch", &st->epoch}, {"batches_done", &st->batches_done},
        {"step", &st->step}, {"correct", &st->correct},
        {"samples", &st->samples}, {"nominal_batch", &st->nominal_batch},
        {"bad_epochs", &st->bad_epochs}, {"best_epoch", &st->best_epoch},
        {"early_stop_epoch", &st->early_stop_epoch},
    };
    struct { const char *key; double *out; } doubles[] = {
        {"cost_sum", &st->cost_sum}, {"best_dev_cost", &st->best_dev_cost},
        {"seconds", &st->seconds}, {"best_cost", &st->best_cost},
        {"best_accuracy", &st->best_accuracy},
        {"best_dev_accuracy", &st->best_dev_accuracy},
    };

    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (nn_field_int(rec, ints[i].key, ints[i].out, err, len) < 0)
            return -1;
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        if (nn_field_double(rec, doubles[i].key, doubles[i].out, err,
                            len) < 0)
            return -1;
    return get_rng(rec, "check_rng", &st->check_rng, err, len);
}

int nn_checkpoint_load(const char *path, const char *settings,
                       nn_model *model, nn_optim *optim,
                       int64_t input_shape[3], nn_train_state *st,
                       nn_model *best, char *err, size_t len)
{
    nn_dtype dtype = nn_model_get_config(model)->dtype;
    const char *saved;
    size_t saved_len;
    int64_t steps;
    nn_reader r;
    int rc = -1;

    if (nn_checkpoint_peek(path, input_shape, err, len) < 0)
        return -1;
    if (read_records(&r, path, 1, err, len) < 0)
        goto done;
    if (nn_unpack_tensor_list(nn_map_get(r.obj, "params"),
                              nn_model_param_getter, model,
                              nn_model_n_params(model), dtype, err, len) < 0 ||
        nn_unpack_tensor_list(nn_map_get(r.obj, "buffers"),
                              nn_model_buffer_getter, model,
                              nn_model_n_buffers(model), dtype, err, len) < 0)
        goto done;
    nn_reader_close(&r);
    if (read_records(&r, path, 2, err, len) < 0)
        goto done;
    if (nn_field_str(r.obj, "settings", &saved, &saved_len, err, len) < 0)
        goto done;
    if (saved_len != strlen(settings) ||
        memcmp(saved, settings, saved_len) != 0) {
        snprintf(err, len, "written with other settings: %.*s",
                 (int)saved_len, saved);
        goto done;
    }
    if (get_state(r.obj, st, err, len) < 0 ||
        get_rng(r.obj, "model_rng", nn_model_rng(model), err, len) < 0 ||
        nn_field_int(r.obj, "optim_steps", &steps, err, len) < 0 ||
        nn_unpack_tensor_list(nn_map_get(r.obj, "optim_state"),
                              optim_getter, optim, nn_optim_n_state(optim),
                              dtype, err, len) < 0)
        goto done;
    nn_optim_set_steps(optim, steps);
    if (best &&
        (nn_unpack_tensor_list(nn_map_get(r.obj, "best_params"),
                               nn_model_param_getter, best,
                               nn_model_n_params(best), dtype, err, len) < 0 ||
         nn_unpack_tensor_list(nn_map_get(r.obj, "best_buffers"),
                               nn_model_buffer_getter, best,
                               nn_model_n_buffers(best), dtype, err,
                               len) < 0))
        goto done;
    rc = 0;
done:
    nn_reader_close(&r);
    return rc;
}
