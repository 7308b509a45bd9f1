/*
 * Reading and writing record streams.  Reading is two steps: a walk of
 * the MessagePack bytes that checks limits and finds where the record
 * ends, then msgpack-c's decoder on exactly those bytes.  Decoded
 * strings and bins point into the reader's buffer (no copies).
 */
#define _GNU_SOURCE             /* F_SETPIPE_SZ */
#include "nn_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_err.h"
#include "nn_io.h"

#define INITIAL_BUFFER (1u << 20)

static const char *const type_names[] = {
    [NN_REC_HEADER] = "header",   [NN_REC_SAMPLE] = "sample",
    [NN_REC_EPOCH] = "epoch",     [NN_REC_BATCH] = "batch",
    [NN_REC_METRICS] = "metrics", [NN_REC_MODEL] = "model",
    [NN_REC_PREDICTION] = "prediction",
};

/* ---- structure walk --------------------------------------------------- */

static uint64_t load_be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Report a walk error and make the next walk start a new record. */
static int walk_fail(nn_walk *w, char *err, size_t err_len, const char *fmt,
                     ...) NN_PRINTF(4, 5);

static int walk_fail(nn_walk *w, char *err, size_t err_len, const char *fmt,
                     ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    w->active = 0;
    return -1;
}

/*
 * Walk one MessagePack object at p[0..n).  Returns 1 and sets *used to
 * its length when it is complete, 0 when more bytes are needed, and -1
 * with err set when a limit is exceeded or a byte is not MessagePack.
 * Containers are counted on a small stack instead of by recursion.
 * After a 0, the next call resumes where this one stopped.  It must be
 * given the same record at p, which may have moved, and a larger n.  So
 * a record arriving in many small reads is walked once, not once per
 * read.
 */
static int walk(nn_walk *w, const uint8_t *p, size_t n, size_t *used,
                char *err, size_t err_len)
{
    if (!w->active) {
        w->pending[0] = 1;
        w->top = 0;
        w->off = 0;
        w->n_values = 1;        /* the record itself */
        w->active = 1;
    }
    for (;;) {
        while (w->top >= 0 && w->pending[w->top] == 0)
            w->top--;
        if (w->top < 0)
            break;
        /* return for more bytes before changing any state */
        if (w->off >= n)
            return 0;

        uint64_t off = w->off;
        uint8_t b = p[off];
        uint64_t head = 1, body = 0, children = 0;
        int len_bytes = 0, extra = 0;

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, booleans */
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2 * (uint64_t)(b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            body = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: len_bytes = 1; break;       /* bin8 str8 */
            case 0xc5: case 0xda: len_bytes = 2; break;
            case 0xc6: case 0xdb: len_bytes = 4; break;
            case 0xc7: len_bytes = 1; extra = 1; break;       /* ext8 */
            case 0xc8: len_bytes = 2; extra = 1; break;
            case 0xc9: len_bytes = 4; extra = 1; break;
            case 0xca: body = 4; break;                       /* float32 */
            case 0xcb: body = 8; break;
            case 0xcc: case 0xd0: body = 1; break;            /* (u)int8 */
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                       /* fixext */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: case 0xde: len_bytes = 2; break;       /* array16 map16 */
            case 0xdd: case 0xdf: len_bytes = 4; break;
            default:
                return walk_fail(w, err, err_len,
                                 "invalid MessagePack byte 0x%02x", b);
            }
        }
        if (len_bytes) {
            /* a length or count follows the type byte */
            if (off + 1 + len_bytes > n)
                return 0;
            uint64_t count = load_be(p + off + 1, len_bytes);
            head = 1 + len_bytes + extra;
            if (b >= 0xdc) {
                if (count > NN_MAX_CONTAINER)
                    return walk_fail(w, err, err_len, "container of %llu "
                                     "entries is over the limit of %u",
                                     (unsigned long long)count,
                                     NN_MAX_CONTAINER);
                children = b >= 0xde ? 2 * count : count;
            } else {
                body = count;
            }
        }

        /* the value's header is complete: take it */
        w->pending[w->top]--;
        if (children) {
            if (w->top == NN_MAX_DEPTH)
                return walk_fail(w, err, err_len, "nesting deeper than %d "
                                 "levels", NN_MAX_DEPTH);
            w->pending[++w->top] = children;
        }
        /* a container's entries count when it claims them, so a huge
         * claim fails before its entries arrive; they are not counted
         * again when reached */
        w->n_values += children;
        w->off = off + head + body;
        if (w->off > NN_MAX_RECORD_BYTES || w->n_values > NN_MAX_CONTAINER)
            return walk_fail(w, err, err_len, "record larger than the limit "
                             "of %llu bytes or %u values",
                             (unsigned long long)NN_MAX_RECORD_BYTES,
                             NN_MAX_CONTAINER);
    }
    if (w->off > n)
        return 0;
    *used = (size_t)w->off;
    w->active = 0;
    return 1;
}

/* ---- reader ----------------------------------------------------------- */

int nn_reader_open(nn_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    if (!path || strcmp(path, "-") == 0) {
        r->fp = stdin;
    } else {
        r->fp = fopen(path, "rb");
        if (!r->fp)
            return -1;
    }
    char name[sizeof r->name];
    snprintf(r->name, sizeof r->name, "%s",
             nn_io_display_name(path, name, sizeof name));
    /* A pipe buffers 64 KiB by default, less than one batch record, so
     * the writer would refill it many times per record.  Request 1 MiB;
     * if the system rejects that, the default stays. */
    struct stat st;
    if (fstat(fileno(r->fp), &st) == 0 && S_ISFIFO(st.st_mode))
        fcntl(fileno(r->fp), F_SETPIPE_SZ, 1 << 20);
    r->cap = INITIAL_BUFFER;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        if (r->fp != stdin)
            fclose(r->fp);
        errno = ENOMEM;
        return -1;
    }
    msgpack_unpacked_init(&r->unpacked);
    return 0;
}

void nn_reader_close(nn_reader *r)
{
    if (r->fp && r->fp != stdin)
        fclose(r->fp);
    msgpack_unpacked_destroy(&r->unpacked);
    nn_header_free(&r->header);
    free(r->buf);
    free(r->spare);
    memset(r, 0, sizeof *r);
}

static int fail(nn_reader *r, const char *fmt, ...) NN_PRINTF(2, 3);

static int fail(nn_reader *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

static volatile sig_atomic_t *stop_flag;

void nn_record_set_stop(volatile sig_atomic_t *flag)
{
    stop_flag = flag;
}

/* Read more bytes, compacting or growing the buffer.  -1 on read error. */
static int fill(nn_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    /* Grow only a full buffer, and at most to twice the bytes that have
     * arrived: a length claim alone allocates nothing.  When the walk
     * has seen that the record ends before that, grow just past its
     * end, so the buffer stays near the record's size. */
    size_t need = r->walk.active ? (size_t)r->walk.off + (64u << 10) : 0;
    if (r->len == r->cap) {
        size_t cap = r->cap * 2;
        if (need > r->cap && need < cap)
            cap = need;
        char *buf = realloc(r->buf, cap);
        if (!buf)
            return fail(r, "out of memory for a record of over %zu bytes",
                        r->cap);
        r->buf = buf;
        r->cap = cap;
    }
    /* Read up to 64 KiB past the end of a record being walked, or 1 MiB
     * at a time otherwise.  A buffer handed over by
     * nn_reader_give_buffer can be far larger than a record, and
     * filling it would read records ahead only for
     * nn_reader_take_buffer to copy them out again. */
    size_t room = r->cap - r->len;
    size_t ahead = need > r->len ? need - r->len : 0;
    if (ahead < INITIAL_BUFFER)
        ahead = INITIAL_BUFFER;
    if (room > ahead)
        room = ahead;
    for (;;) {
        /* read(2), not fread: act on each record as soon as it arrives. */
        ssize_t got = read(fileno(r->fp), r->buf + r->len, room);
        if (got < 0 && errno == EINTR) {
            if (stop_flag && *stop_flag) {
                r->interrupted = 1;
                return fail(r, "interrupted");
            }
            continue;
        }
        if (got < 0)
            return fail(r, "read error: %s", strerror(errno));
        if (got == 0)
            r->eof = 1;
        r->len += (size_t)got;
        return 0;
    }
}

/*
 * The buffer that replaces a taken one is kept as r->spare when the
 * caller gives the taken one back, and reused at the next take: a
 * malloc and free per record would map and unmap 1 MiB each time, and
 * every unmap interrupts the other threads (OpenBLAS's) to flush their
 * TLBs.
 */
char *nn_reader_take_buffer(nn_reader *r, size_t *cap)
{
    size_t next = r->pos + r->raw_len, pending = r->len - next;
    size_t own = pending > INITIAL_BUFFER ? pending : INITIAL_BUFFER;
    char *fresh = r->spare, *taken = r->buf;

    if (!fresh || r->spare_cap < own) {
        fresh = malloc(own);
        if (!fresh)
            return NULL;
        free(r->spare);
    } else {
        own = r->spare_cap;
    }
    r->spare = NULL;
    r->spare_cap = 0;
    memcpy(fresh, r->buf + next, pending);
    *cap = r->cap;
    r->buf = fresh;
    r->cap = own;
    r->len = pending;
    r->pos = 0;
    r->raw_len = 0;             /* r->raw and r->obj stay in taken */
    return taken;
}

void nn_reader_give_buffer(nn_reader *r, char *buf, size_t cap)
{
    size_t pending = r->len - r->pos - r->raw_len;

    /* keep the reader's own buffer when it is the larger one */
    if (cap < r->cap || cap < pending) {
        free(buf);
        return;
    }
    memcpy(buf, r->buf + r->pos + r->raw_len, pending);
    free(r->spare);
    r->spare = r->buf;
    r->spare_cap = r->cap;
    r->buf = buf;
    r->cap = cap;
    r->len = pending;
    r->pos = 0;
    r->raw = NULL;
    r->raw_len = 0;
    r->obj = NULL;
}

static int str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *nn_map_get(const msgpack_object *obj, const char *key)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (str_eq(&kv->key, key))
            return &kv->val;
    }
    return NULL;
}

int nn_field_int(const msgpack_object *map, const char *key, int64_t *out,
                 char *err, size_t len)
{
    const msgpack_object *o = nn_map_get(map, key);

    if (!o) {
        snprintf(err, len, "missing field '%s'", key);
        return -1;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    snprintf(err, len, "field '%s' is not an integer", key);
    return -1;
}

int nn_field_double(const msgpack_object *map, const char *key,
                    double *out, char *err, size_t len)
{
    const msgpack_object *o = nn_map_get(map, key);

    if (!o) {
        snprintf(err, len, "missing field '%s'", key);
        return -1;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return 0;
    default:
        snprintf(err, len, "field '%s' is not a number", key);
        return -1;
    }
}

int nn_field_str(const msgpack_object *map, const char *key,
                 const char **out, size_t *out_len, char *err, size_t len)
{
    const msgpack_object *o = nn_map_get(map, key);

    if (!o) {
        snprintf(err, len, "missing field '%s'", key);
        return -1;
    }
    if (o->type != MSGPACK_OBJECT_STR) {
        snprintf(err, len, "field '%s' is not a string", key);
        return -1;
    }
    *out = o->via.str.ptr;
    *out_len = o->via.str.size;
    return 0;
}

int nn_field_tensor(const msgpack_object *map, nn_tensor *out, char *err,
                    size_t len)
{
    const msgpack_object *shape, *data;
    const char *dtype;
    size_t dtype_len;
    uint64_t count;

    memset(out, 0, sizeof *out);
    if (nn_field_str(map, "dtype", &dtype, &dtype_len, err, len) < 0)
        return -1;
    if (nn_dtype_parse(dtype, dtype_len, &out->dtype) < 0) {
        snprintf(err, len, "unknown dtype '%.*s'", (int)dtype_len, dtype);
        return -1;
    }
    shape = nn_map_get(map, "shape");
    if (!shape || shape->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(err, len, "%s field 'shape'",
                 shape ? "not an array:" : "missing");
        return -1;
    }
    if (shape->via.array.size < 1 || shape->via.array.size > NN_MAX_DIMS) {
        snprintf(err, len, "shape has %u dims, expected 1 to %d",
                 shape->via.array.size, NN_MAX_DIMS);
        return -1;
    }
    out->n_dims = (int)shape->via.array.size;
    for (int i = 0; i < out->n_dims; i++) {
        const msgpack_object *d = &shape->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 == 0 ||
            d->via.u64 > NN_MAX_ELEMENTS) {
            snprintf(err, len, "shape dim %d is not a positive integer "
                     "within the limit", i);
            return -1;
        }
        out->shape[i] = (int64_t)d->via.u64;
    }
    if (nn_shape_count(out->shape, out->n_dims, NN_MAX_ELEMENTS, &count) < 0) {
        snprintf(err, len, "shape has more than %llu elements",
                 (unsigned long long)NN_MAX_ELEMENTS);
        return -1;
    }
    data = nn_map_get(map, "data");
    if (!data || data->type != MSGPACK_OBJECT_BIN) {
        snprintf(err, len, "%s field 'data'", data ? "not a bin:" : "missing");
        return -1;
    }
    if ((uint64_t)data->via.bin.size != count * nn_dtype_size(out->dtype)) {
        snprintf(err, len, "shape needs %llu bytes of %s, data has %u",
                 (unsigned long long)(count * nn_dtype_size(out->dtype)),
                 nn_dtype_name(out->dtype), data->via.bin.size);
        return -1;
    }
    out->data = data->via.bin.ptr;
    out->n_bytes = data->via.bin.size;
    return 0;
}

void nn_header_free(nn_header *h)
{
    for (int i = 0; i < h->n_classes; i++)
        free(h->classes[i]);
    free(h->classes);
    free(h->source);
    free(h->partition);
    free(h->experiment);
    memset(h, 0, sizeof *h);
}

static char *dup_str(const msgpack_object *o)
{
    char *s = malloc(o->via.str.size + 1);

    if (s) {
        memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = '\0';
    }
    return s;
}

static int parse_header(nn_reader *r, nn_header *h)
{
    const msgpack_object *o = r->obj, *classes, *field;
    char err[160];
    int64_t version;
    const char *format;
    size_t format_len;

    memset(h, 0, sizeof *h);
    if (nn_field_str(o, "format", &format, &format_len, err, sizeof err) < 0)
        return fail(r, "header: %s", err);
    if (format_len != strlen(NN_FORMAT_NAME) ||
        memcmp(format, NN_FORMAT_NAME, format_len) != 0)
        return fail(r, "not an nnpipe stream: format is '%.*s'",
                    (int)format_len, format);
    if (nn_field_int(o, "version", &version, err, sizeof err) < 0)
        return fail(r, "header: %s", err);
    if (version != NN_FORMAT_VERSION)
        return fail(r, "unsupported format version %lld (this build "
                    "reads version %d)", (long long)version,
                    NN_FORMAT_VERSION);
    classes = nn_map_get(o, "classes");
    if (!classes || classes->type != MSGPACK_OBJECT_ARRAY ||
        classes->via.array.size == 0 ||
        classes->via.array.size > NN_MAX_CLASSES)
        return fail(r, "header: field 'classes' must be an array of 1 to "
                    "%d names", NN_MAX_CLASSES);
    h->classes = calloc(classes->via.array.size, sizeof *h->classes);
    if (!h->classes)
        return fail(r, "out of memory");
    for (uint32_t i = 0; i < classes->via.array.size; i++) {
        const msgpack_object *c = &classes->via.array.ptr[i];
        if (c->type != MSGPACK_OBJECT_STR) {
            nn_header_free(h);
            return fail(r, "header: class %u is not a string", i);
        }
        h->classes[i] = dup_str(c);
        h->n_classes++;
        if (!h->classes[i]) {
            nn_header_free(h);
            return fail(r, "out of memory");
        }
    }
    field = nn_map_get(o, "source");
    if (field && field->type == MSGPACK_OBJECT_STR)
        h->source = dup_str(field);
    field = nn_map_get(o, "partition");
    if (field && field->type == MSGPACK_OBJECT_STR)
        h->partition = dup_str(field);
    field = nn_map_get(o, "experiment");
    if (field && field->type == MSGPACK_OBJECT_STR)
        h->experiment = dup_str(field);
    return 0;
}

int nn_header_same_classes(const nn_header *a, const nn_header *b)
{
    if (a->n_classes != b->n_classes)
        return 0;
    for (int i = 0; i < a->n_classes; i++)
        if (strcmp(a->classes[i], b->classes[i]) != 0)
            return 0;
    return 1;
}

static int parse_label(nn_reader *r, const msgpack_object *o, int *label)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o->via.u64 >= (uint64_t)r->header.n_classes) {
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
            o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return fail(r, "label %lld is outside the %d classes",
                        o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                            ? (long long)o->via.i64
                            : (long long)o->via.u64,
                        r->header.n_classes);
        return fail(r, "label is not an integer");
    }
    *label = (int)o->via.u64;
    return 0;
}

int nn_reader_sample(nn_reader *r, nn_sample *out)
{
    const msgpack_object *o = r->obj, *label;
    char err[160];

    memset(out, 0, sizeof *out);
    if (nn_field_str(o, "id", &out->id, &out->id_len, err, sizeof err) < 0)
        return fail(r, "sample: %s", err);
    label = nn_map_get(o, "label");
    if (!label)
        return fail(r, "sample: missing field 'label'");
    if (parse_label(r, label, &out->label) < 0)
        return -1;
    if (nn_field_tensor(o, &out->image, err, sizeof err) < 0)
        return fail(r, "sample: %s", err);
    if (out->image.n_dims != 3)
        return fail(r, "sample: expected shape [height, width, channels], "
                    "got %d dims", out->image.n_dims);
    return 0;
}

/* Check the fields of the record types this version defines. */
static int validate(nn_reader *r)
{
    const msgpack_object *o = r->obj;
    char err[160];
    int64_t v = 0;              /* read below even when the field is bad */

    switch (r->type) {
    case NN_REC_SAMPLE: {
        nn_sample s;
        return nn_reader_sample(r, &s);
    }
    case NN_REC_EPOCH:
        if (nn_field_int(o, "epoch", &v, err, sizeof err) < 0 || v < 0)
            return fail(r, "epoch: %s", v < 0 ? "negative epoch" : err);
        return 0;
    case NN_REC_BATCH: {
        nn_tensor t;
        const msgpack_object *labels = nn_map_get(o, "labels");
        int label;
        if (nn_field_tensor(o, &t, err, sizeof err) < 0)
            return fail(r, "batch: %s", err);
        if (!labels || labels->type != MSGPACK_OBJECT_ARRAY ||
            labels->via.array.size != (uint64_t)t.shape[0])
            return fail(r, "batch: field 'labels' must be an array of "
                        "%lld labels", (long long)t.shape[0]);
        for (uint32_t i = 0; i < labels->via.array.size; i++)
            if (parse_label(r, &labels->via.array.ptr[i], &label) < 0)
                return -1;
        return 0;
    }
    default:
        return 0;
    }
}

int nn_reader_next(nn_reader *r)
{
    size_t used = 0, off = 0;
    const msgpack_object *type;

    r->pos += r->raw_len;
    r->raw = NULL;
    r->raw_len = 0;
    r->obj = NULL;
    for (;;) {
        if (r->pos == r->len && r->eof) {
            if (r->index == 0) {
                r->incomplete = 1;
                return fail(r, "empty stream: no header record");
            }
            return 0;
        }
        int done = walk(&r->walk, (const uint8_t *)r->buf + r->pos,
                        r->len - r->pos, &used, r->err, sizeof r->err);
        if (done < 0) {
            r->index++;
            return -1;
        }
        if (done)
            break;
        if (r->eof) {
            r->index++;
            r->incomplete = 1;
            return fail(r, "truncated record: the stream ends inside it "
                        "after %zu bytes", r->len - r->pos);
        }
        if (fill(r) < 0)
            return -1;
    }
    r->index++;
    if (msgpack_unpack_next(&r->unpacked, r->buf + r->pos, used, &off) !=
            MSGPACK_UNPACK_SUCCESS || off != used)
        return fail(r, "invalid MessagePack data");
    r->obj = &r->unpacked.data;
    r->raw = r->buf + r->pos;
    r->raw_len = used;

    if (r->obj->type != MSGPACK_OBJECT_MAP)
        return fail(r, "record is not a map");
    type = nn_map_get(r->obj, "type");
    if (!type || type->type != MSGPACK_OBJECT_STR)
        return fail(r, "record has no string field 'type'");
    snprintf(r->type_name, sizeof r->type_name, "%.*s",
             (int)type->via.str.size, type->via.str.ptr);
    r->type = NN_REC_UNKNOWN;
    for (size_t i = 1; i < sizeof type_names / sizeof *type_names; i++)
        if (str_eq(type, type_names[i]))
            r->type = (nn_record_type)i;

    if (r->index == 1) {
        if (r->type != NN_REC_HEADER)
            return fail(r, "stream does not start with a header record "
                        "(got '%s')", r->type_name);
        return parse_header(r, &r->header) < 0 ? -1 : 1;
    }
    if (r->type == NN_REC_HEADER) {
        nn_header h;
        if (parse_header(r, &h) < 0)
            return -1;
        int same = nn_header_same_classes(&h, &r->header);
        nn_header_free(&h);
        if (!same)
            return fail(r, "header lists other classes than the first one");
        return 1;
    }
    return validate(r) < 0 ? -1 : 1;
}

void nn_reader_die(const nn_reader *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_die(0, "%s: record %llu: %s", r->name,
           (unsigned long long)r->index, msg);
}

const char *nn_reader_error(const nn_reader *r, char *buf, size_t len)
{
    if (r->index == 0)
        snprintf(buf, len, "%s", r->err);
    else
        snprintf(buf, len, "record %llu: %s", (unsigned long long)r->index,
                 r->err);
    return buf;
}

int nn_reader_next_or_die(nn_reader *r)
{
    int rc = nn_reader_next(r);

    if (rc < 0 && r->interrupted)
        return -1;
    if (rc < 0) {
        if (r->index == 0)
            nn_die(0, "%s: %s", r->name, r->err);
        nn_reader_die(r, "%s", r->err);
    }
    return rc;
}

/* ---- writer ----------------------------------------------------------- */

void nn_writer_init(nn_writer *w, FILE *fp)
{
    w->fp = fp;
    msgpack_sbuffer_init(&w->sbuf);
    msgpack_packer_init(&w->pk, &w->sbuf, msgpack_sbuffer_write);
}

void nn_writer_free(nn_writer *w)
{
    msgpack_sbuffer_destroy(&w->sbuf);
}

void nn_writer_flush(nn_writer *w)
{
    nn_io_write(w->fp, w->sbuf.data, w->sbuf.size);
    msgpack_sbuffer_clear(&w->sbuf);
}

void nn_writer_raw(nn_writer *w, const char *raw, size_t len)
{
    nn_io_write(w->fp, raw, len);
}

void nn_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void nn_pack_str(msgpack_packer *pk, const char *s)
{
    nn_pack_strn(pk, s, strlen(s));
}

void nn_pack_tensor_fields(msgpack_packer *pk, const nn_tensor *t)
{
    nn_pack_str(pk, "dtype");
    nn_pack_str(pk, nn_dtype_name(t->dtype));
    nn_pack_str(pk, "shape");
    msgpack_pack_array(pk, t->n_dims);
    for (int i = 0; i < t->n_dims; i++)
        msgpack_pack_int64(pk, t->shape[i]);
    nn_pack_str(pk, "data");
    msgpack_pack_bin(pk, t->n_bytes);
    msgpack_pack_bin_body(pk, t->data, t->n_bytes);
}

void nn_write_header(nn_writer *w, const nn_header *h)
{
    msgpack_packer *pk = &w->pk;
    int n = 4 + (h->source != NULL) + (h->partition != NULL) +
            (h->experiment != NULL);

    msgpack_pack_map(pk, n);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "header");
    nn_pack_str(pk, "format");
    nn_pack_str(pk, NN_FORMAT_NAME);
    nn_pack_str(pk, "version");
    msgpack_pack_int(pk, NN_FORMAT_VERSION);
    nn_pack_str(pk, "classes");
    msgpack_pack_array(pk, h->n_classes);
    for (int i = 0; i < h->n_classes; i++)
        nn_pack_str(pk, h->classes[i]);
    if (h->source) {
        nn_pack_str(pk, "source");
        nn_pack_str(pk, h->source);
    }
    if (h->partition) {
        nn_pack_str(pk, "partition");
        nn_pack_str(pk, h->partition);
    }
    if (h->experiment) {
        nn_pack_str(pk, "experiment");
        nn_pack_str(pk, h->experiment);
    }
    nn_writer_flush(w);
}

void nn_write_sample(nn_writer *w, const char *id, size_t id_len, int label,
                     const nn_tensor *image)
{
    msgpack_packer *pk = &w->pk;

    msgpack_pack_map(pk, 6);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "sample");
    nn_pack_str(pk, "id");
    nn_pack_strn(pk, id, id_len);
    nn_pack_str(pk, "label");
    msgpack_pack_int(pk, label);
    nn_pack_tensor_fields(pk, image);
    nn_writer_flush(w);
}

void nn_write_epoch(nn_writer *w, int64_t epoch)
{
    msgpack_packer *pk = &w->pk;

    msgpack_pack_map(pk, 2);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "epoch");
    nn_pack_str(pk, "epoch");
    msgpack_pack_int64(pk, epoch);
    nn_writer_flush(w);
}
