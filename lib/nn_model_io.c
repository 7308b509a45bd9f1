/* Model files: a header record and a model record of named tensors. */
#include "nn_model_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn_io.h"

static const char *const arch_names[] = {"one-layer", "n-layers"};
static const char *const act_names[] = {"leaky-relu", "relu", "tanh",
                                        "sigmoid"};

const char *nn_arch_name(nn_arch arch)
{
    return arch_names[arch];
}

const char *nn_activation_name(nn_activation act)
{
    return act_names[act];
}

/* Compare ignoring case and the separators '-' and '_'. */
static int loose_equal(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-' || *a == '_')
            a++;
        while (*b == '-' || *b == '_')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if ((*a | 0x20) != (*b | 0x20))
            return 0;
        a++;
        b++;
    }
}

int nn_arch_parse(const char *s, nn_arch *out)
{
    if (loose_equal(s, "one-layer")) {
        *out = NN_ARCH_ONE_LAYER;
        return 0;
    }
    if (loose_equal(s, "n-layers")) {
        *out = NN_ARCH_N_LAYERS;
        return 0;
    }
    return -1;
}

int nn_activation_parse(const char *s, nn_activation *out)
{
    for (int i = 0; i < 4; i++) {
        if (loose_equal(s, act_names[i])) {
            *out = (nn_activation)i;
            return 0;
        }
    }
    return -1;
}

nn_param *nn_model_param_getter(void *model, size_t i)
{
    return nn_model_param(model, i);
}

nn_param *nn_model_buffer_getter(void *model, size_t i)
{
    return nn_model_buffer(model, i);
}

void nn_pack_tensor_list(msgpack_packer *pk, nn_tensor_getter get,
                         void *owner, size_t n, nn_dtype dtype)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        nn_param *p = get(owner, i);
        nn_tensor t = {.dtype = dtype, .n_dims = 2,
                       .shape = {p->rows, p->cols}, .data = p->value,
                       .n_bytes = p->size * nn_dtype_size(dtype)};
        msgpack_pack_map(pk, 4);
        nn_pack_str(pk, "name");
        nn_pack_str(pk, p->name);
        nn_pack_tensor_fields(pk, &t);
    }
}

void nn_model_write_record(nn_writer *w, nn_model *model,
                           const int64_t input_shape[3])
{
    const nn_model_config *cfg = nn_model_get_config(model);
    msgpack_packer *pk = &w->pk;

    msgpack_pack_map(pk, 9);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "model");
    nn_pack_str(pk, "arch");
    nn_pack_str(pk, nn_arch_name(cfg->arch));
    nn_pack_str(pk, "activation");
    nn_pack_str(pk, nn_activation_name(cfg->activation));
    nn_pack_str(pk, "hidden");
    msgpack_pack_array(pk, cfg->n_hidden);
    for (int i = 0; i < cfg->n_hidden; i++)
        msgpack_pack_int(pk, cfg->hidden[i]);
    nn_pack_str(pk, "input_shape");
    msgpack_pack_array(pk, 3);
    for (int i = 0; i < 3; i++)
        msgpack_pack_int64(pk, input_shape[i]);
    nn_pack_str(pk, "dtype");
    nn_pack_str(pk, nn_dtype_name(cfg->dtype));
    nn_pack_str(pk, "bn_mode");
    nn_pack_str(pk, cfg->bn_mode == NN_BN_RUNNING ? "running" : "batch");
    nn_pack_str(pk, "params");
    nn_pack_tensor_list(pk, nn_model_param_getter, model,
                        nn_model_n_params(model), cfg->dtype);
    nn_pack_str(pk, "buffers");
    nn_pack_tensor_list(pk, nn_model_buffer_getter, model,
                        nn_model_n_buffers(model), cfg->dtype);
    nn_writer_flush(w);
}

int nn_model_save(const char *path, const nn_header *header,
                  nn_model *model, const int64_t input_shape[3])
{
    nn_atomic_file f;
    nn_writer w;

    if (nn_atomic_open(&f, path) < 0)
        return -1;
    nn_writer_init(&w, f.fp);
    nn_write_header(&w, header);
    nn_model_write_record(&w, model, input_shape);
    nn_writer_free(&w);
    return nn_atomic_commit(&f);
}

int nn_unpack_tensor_list(const msgpack_object *list, nn_tensor_getter get,
                          void *owner, size_t n, nn_dtype dtype, char *err,
                          size_t len)
{
    if (!list || list->type != MSGPACK_OBJECT_ARRAY ||
        list->via.array.size != n) {
        snprintf(err, len, "record has %u tensors where this network "
                 "has %zu", list && list->type == MSGPACK_OBJECT_ARRAY
                 ? list->via.array.size : 0, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *o = &list->via.array.ptr[i];
        nn_param *p = get(owner, i);
        const char *name;
        size_t name_len;
        nn_tensor t;
        if (nn_field_str(o, "name", &name, &name_len, err, len) < 0 ||
            nn_field_tensor(o, &t, err, len) < 0)
            return -1;
        if (name_len != strlen(p->name) || memcmp(name, p->name, name_len)) {
            snprintf(err, len, "tensor %zu is '%.*s', expected '%s'", i,
                     (int)name_len, name, p->name);
            return -1;
        }
        if (t.dtype != dtype || t.n_dims != 2 || t.shape[0] != p->rows ||
            t.shape[1] != p->cols) {
            snprintf(err, len, "tensor '%s' has the wrong shape or dtype "
                     "(expected %s [%lld,%lld])", p->name,
                     nn_dtype_name(dtype), (long long)p->rows,
                     (long long)p->cols);
            return -1;
        }
        memcpy(p->value, t.data, t.n_bytes);
    }
    return 0;
}

/* Copy the string field key of rec into name; -1 when absent. */
static int get_name(const msgpack_object *rec, const char *key, char *name,
                    size_t name_len)
{
    const char *s;
    size_t n;
    char err[80];

    if (nn_field_str(rec, key, &s, &n, err, sizeof err) < 0)
        return -1;
    snprintf(name, name_len, "%.*s", (int)n, s);
    return 0;
}

static int fail(char *err, size_t len, const char *msg)
{
    snprintf(err, len, "%s", msg);
    return -1;
}

/* Values in the Dense weight matrices of the network cfg describes. */
static uint64_t dense_weight_values(const nn_model_config *cfg)
{
    uint64_t fan_in = (uint64_t)cfg->n_inputs, total = 0;

    /* at most 65 layers of 2^30 x 2^20: no overflow */
    if (cfg->arch == NN_ARCH_N_LAYERS) {
        for (int i = 0; i < cfg->n_hidden; i++) {
            total += fan_in * (uint64_t)cfg->hidden[i];
            fan_in = (uint64_t)cfg->hidden[i];
        }
    }
    return total + fan_in * (uint64_t)cfg->n_classes;
}

/* Bytes of the "data" bins in a list of tensor maps; 0 if not a list. */
static uint64_t stored_bytes(const msgpack_object *list)
{
    uint64_t total = 0;

    if (!list || list->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *data = nn_map_get(&list->via.array.ptr[i],
                                                "data");
        if (data && data->type == MSGPACK_OBJECT_BIN)
            total += data->via.bin.size;
    }
    return total;
}

/*
 * Every value of the model's tensors is finite, and every running
 * variance is not negative: a model that breaks either predicts NaN.
 */
static int check_values(nn_model *model, char *err, size_t len)
{
    int f64 = nn_model_get_config(model)->dtype == NN_F64;

    for (size_t b = 0; b < 2; b++) {
        size_t n = b ? nn_model_n_buffers(model) : nn_model_n_params(model);
        for (size_t t = 0; t < n; t++) {
            nn_param *p = b ? nn_model_buffer(model, t)
                            : nn_model_param(model, t);
            int variance = strstr(p->name, "Var") != NULL;
            for (size_t i = 0; i < p->size; i++) {
                double v = f64 ? ((const double *)p->value)[i]
                               : ((const float *)p->value)[i];
                if (!isfinite(v) || (variance && v < 0)) {
                    snprintf(err, len, "tensor '%s' holds %g at %zu",
                             p->name, v, i);
                    return -1;
                }
            }
        }
    }
    return 0;
}

int nn_model_from_record(const msgpack_object *rec, nn_saved_model *out,
                         char *err, size_t len)
{
    nn_model_config cfg;
    const msgpack_object *hidden, *shape;
    char name[32];
    uint64_t n_inputs;

    nn_model_config_default(&cfg);
    cfg.n_classes = out->header.n_classes;
    if (get_name(rec, "arch", name, sizeof name) < 0 ||
        nn_arch_parse(name, &cfg.arch) < 0)
        return fail(err, len, "unknown or missing arch");
    if (get_name(rec, "activation", name, sizeof name) < 0 ||
        nn_activation_parse(name, &cfg.activation) < 0)
        return fail(err, len, "unknown or missing activation");
    if (get_name(rec, "dtype", name, sizeof name) < 0 ||
        nn_dtype_parse(name, strlen(name), &cfg.dtype) < 0 ||
        (cfg.dtype != NN_F32 && cfg.dtype != NN_F64))
        return fail(err, len, "model dtype must be f32 or f64");
    if (get_name(rec, "bn_mode", name, sizeof name) < 0)
        return fail(err, len, "missing field 'bn_mode'");
    if (strcmp(name, "batch") != 0 && strcmp(name, "running") != 0)
        return fail(err, len, "field 'bn_mode' must be running or batch");
    cfg.bn_mode = strcmp(name, "batch") == 0 ? NN_BN_BATCH : NN_BN_RUNNING;
    hidden = nn_map_get(rec, "hidden");
    if (!hidden || hidden->type != MSGPACK_OBJECT_ARRAY ||
        hidden->via.array.size > NN_MAX_HIDDEN)
        return fail(err, len, "missing or invalid field 'hidden'");
    cfg.n_hidden = (int)hidden->via.array.size;
    for (int i = 0; i < cfg.n_hidden; i++) {
        const msgpack_object *h = &hidden->via.array.ptr[i];
        if (h->type != MSGPACK_OBJECT_POSITIVE_INTEGER || h->via.u64 == 0 ||
            h->via.u64 > (1u << 20))
            return fail(err, len, "invalid hidden layer size");
        cfg.hidden[i] = (int)h->via.u64;
    }
    shape = nn_map_get(rec, "input_shape");
    if (!shape || shape->type != MSGPACK_OBJECT_ARRAY ||
        shape->via.array.size != 3)
        return fail(err, len, "missing or invalid 'input_shape'");
    for (int i = 0; i < 3; i++) {
        const msgpack_object *d = &shape->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 == 0 ||
            d->via.u64 > 65535)
            return fail(err, len, "invalid 'input_shape'");
        out->input_shape[i] = (int64_t)d->via.u64;
    }
    if (nn_shape_count(out->input_shape, 3, 1u << 30, &n_inputs) < 0)
        return fail(err, len, "invalid 'input_shape'");
    cfg.n_inputs = (int)n_inputs;
    /* A few header bytes can describe a network of terabytes.  Its
     * weights must be in the record, so compare before allocating. */
    uint64_t needed = dense_weight_values(&cfg) * nn_dtype_size(cfg.dtype);
    uint64_t stored = stored_bytes(nn_map_get(rec, "params")) +
                      stored_bytes(nn_map_get(rec, "buffers"));
    if (stored < needed)
        return snprintf(err, len, "model record holds %llu bytes of "
                        "tensors, but its network needs %llu bytes of weights",
                        (unsigned long long)stored,
                        (unsigned long long)needed), -1;
    out->model = nn_model_create(&cfg);
    if (!out->model)
        return fail(err, len, "cannot build the network it describes");
    if (nn_unpack_tensor_list(nn_map_get(rec, "params"),
                              nn_model_param_getter, out->model,
                              nn_model_n_params(out->model), cfg.dtype, err,
                              len) < 0 ||
        nn_unpack_tensor_list(nn_map_get(rec, "buffers"),
                              nn_model_buffer_getter, out->model,
                              nn_model_n_buffers(out->model), cfg.dtype, err,
                              len) < 0 ||
        check_values(out->model, err, len) < 0) {
        nn_model_free(out->model);
        out->model = NULL;
        return -1;
    }
    return 0;
}

int nn_model_load(const char *path, nn_saved_model *out, char *err,
                  size_t len)
{
    nn_reader r;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (nn_reader_open(&r, path) < 0) {
        snprintf(err, len, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (nn_reader_next(&r) != 1) {
        nn_reader_error(&r, err, len);
        goto done;
    }
    for (;;) {
        int got = nn_reader_next(&r);
        if (got < 0) {
            nn_reader_error(&r, err, len);
            goto done;
        }
        if (got == 0) {
            snprintf(err, len, "no model record");
            goto done;
        }
        if (r.type == NN_REC_MODEL)
            break;
    }
    /* Take the class names now: later records were checked against them. */
    out->header = r.header;
    memset(&r.header, 0, sizeof r.header);
    rc = nn_model_from_record(r.obj, out, err, len);
done:
    nn_reader_close(&r);
    if (rc < 0)
        nn_saved_model_free(out);
    return rc;
}

void nn_saved_model_free(nn_saved_model *m)
{
    nn_model_free(m->model);
    nn_header_free(&m->header);
    memset(m, 0, sizeof *m);
}
