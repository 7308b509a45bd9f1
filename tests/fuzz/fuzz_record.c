/*
 * libFuzzer target for the record stream reader (lib/nn_record.c):
 * every input is read as a stream until the end or the first error,
 * and each record the reader accepts is checked against the promises
 * of docs/format.md.  A record that passed validation but breaks one
 * of them aborts, so libFuzzer saves it.
 *
 * Each input is read three times.  The first read is from a file,
 * which arrives in one read.  The second is from the file again,
 * lending the reader's buffer after every sample and batch as nn-train
 * does.  The third is from a pipe that a thread fills a few bytes at a
 * time, also lending, so the reader must resume its walk of a record
 * across many reads.  All must give the same records and the same
 * error.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include "fuzz_common.h"
#include "nn_record.h"

/* What reading one stream gave: a digest of its records and its end. */
typedef struct {
    uint64_t digest;            /* of every record's type and length */
    uint64_t n_records;
    int rc;                     /* last nn_reader_next result */
    char err[256];
} outcome;

/* The writing end of the pipe and what a thread writes to it. */
typedef struct {
    int fd;
    const uint8_t *data;
    size_t size, chunk;
} feed;

/* Visit every value of obj, as nn-dump does, reading each string. */
static unsigned visit(const msgpack_object *o, int depth)
{
    unsigned sum = 0;
    char err[160];
    nn_tensor t;

    FUZZ_CHECK(depth <= NN_MAX_DEPTH + 1);
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        return fuzz_touch(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return fuzz_touch(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return fuzz_touch(o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            sum += visit(&o->via.array.ptr[i], depth + 1);
        return sum;
    case MSGPACK_OBJECT_MAP:
        /* any map with a dtype is read as a tensor, like nn-dump does */
        if (nn_map_get(o, "dtype") &&
            nn_field_tensor(o, &t, err, sizeof err) == 0)
            sum += fuzz_touch(t.data, t.n_bytes);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            sum += visit(&o->via.map.ptr[i].key, depth + 1);
            sum += visit(&o->via.map.ptr[i].val, depth + 1);
        }
        return sum;
    default:
        return 0;
    }
}

/* The element count of a tensor the reader accepted, checked again. */
static uint64_t checked_count(const nn_tensor *t)
{
    uint64_t count;

    FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= NN_MAX_DIMS);
    FUZZ_CHECK(nn_shape_count(t->shape, t->n_dims, NN_MAX_ELEMENTS,
                              &count) == 0);
    FUZZ_CHECK(t->n_bytes == count * nn_dtype_size(t->dtype));
    fuzz_touch(t->data, t->n_bytes);
    return count;
}

static void check_sample(nn_reader *r)
{
    nn_sample s;

    FUZZ_CHECK(nn_reader_sample(r, &s) == 0);
    FUZZ_CHECK(s.label >= 0 && s.label < r->header.n_classes);
    FUZZ_CHECK(s.image.n_dims == 3);
    checked_count(&s.image);
    fuzz_touch(s.id, s.id_len);
}

static void check_batch(nn_reader *r)
{
    const msgpack_object *labels = nn_map_get(r->obj, "labels");
    char err[160];
    nn_tensor t;

    FUZZ_CHECK(nn_field_tensor(r->obj, &t, err, sizeof err) == 0);
    checked_count(&t);
    FUZZ_CHECK(labels && labels->type == MSGPACK_OBJECT_ARRAY);
    FUZZ_CHECK(labels->via.array.size == (uint64_t)t.shape[0]);
    for (uint32_t i = 0; i < labels->via.array.size; i++) {
        const msgpack_object *l = &labels->via.array.ptr[i];
        FUZZ_CHECK(l->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
        FUZZ_CHECK(l->via.u64 < (uint64_t)r->header.n_classes);
    }
}

static void check_header(const nn_header *h)
{
    FUZZ_CHECK(h->n_classes >= 1 && h->n_classes <= NN_MAX_CLASSES);
    for (int i = 0; i < h->n_classes; i++)
        FUZZ_CHECK(h->classes[i] != NULL);
}

/*
 * Take the buffer of the record just read, overwrite it whole as an
 * in-place conversion would, grow it, and give it back: the reader
 * must go on with the bytes it had read past the record.
 */
static void lend_buffer(nn_reader *r)
{
    size_t cap;
    char *buf = nn_reader_take_buffer(r, &cap);

    FUZZ_CHECK(buf != NULL);
    memset(buf, 0xa5, cap);
    char *grown = realloc(buf, cap + cap / 2 + 1);
    FUZZ_CHECK(grown != NULL);
    nn_reader_give_buffer(r, grown, cap + cap / 2 + 1);
}

/*
 * Read the stream at path to its end or first error into *out, lending
 * the buffer after each sample and batch when lend is set.
 */
static void read_stream(const char *path, size_t size, int lend,
                        outcome *out)
{
    nn_reader r;
    int rc;

    memset(out, 0, sizeof *out);
    FUZZ_CHECK(nn_reader_open(&r, path) == 0);
    while ((rc = nn_reader_next(&r)) == 1) {
        FUZZ_CHECK(r.obj && r.obj->type == MSGPACK_OBJECT_MAP);
        FUZZ_CHECK(r.raw >= r.buf && r.raw + r.raw_len <= r.buf + r.len);
        FUZZ_CHECK(r.raw_len <= size);
        check_header(&r.header);
        visit(r.obj, 0);
        if (r.type == NN_REC_SAMPLE)
            check_sample(&r);
        else if (r.type == NN_REC_BATCH)
            check_batch(&r);
        out->digest = out->digest * 1000003 + r.raw_len * 31 + r.type;
        out->n_records++;
        if (lend && (r.type == NN_REC_SAMPLE || r.type == NN_REC_BATCH))
            lend_buffer(&r);
    }
    /* an error always comes with a reason */
    FUZZ_CHECK(rc == 0 || r.err[0] != '\0');
    FUZZ_CHECK(rc != 0 || r.index >= 1);
    out->rc = rc;
    if (rc < 0)
        snprintf(out->err, sizeof out->err, "%s", r.err);
    nn_reader_close(&r);
}

/* Write the input to the pipe in chunks, then close it. */
static void *write_chunks(void *arg)
{
    const feed *f = arg;

    for (size_t at = 0; at < f->size; at += f->chunk) {
        size_t n = f->size - at < f->chunk ? f->size - at : f->chunk;
        /* the reader stops at the first error: EPIPE ends the feed */
        if (write(f->fd, f->data + at, n) != (ssize_t)n)
            break;
    }
    close(f->fd);
    return NULL;
}

/* Read data through a pipe fed 1 to 16 bytes at a time, lending. */
static void read_through_pipe(const uint8_t *data, size_t size,
                              outcome *out)
{
    int fds[2];
    char path[64];
    pthread_t writer;
    feed f;

    FUZZ_CHECK(pipe(fds) == 0);
    f.fd = fds[1];
    f.data = data;
    f.size = size;
    f.chunk = size ? (size_t)(data[size - 1] % 16) + 1 : 1;
    FUZZ_CHECK(pthread_create(&writer, NULL, write_chunks, &f) == 0);
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    read_stream(path, size, 1, out);
    close(fds[0]);
    pthread_join(writer, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    outcome whole, lent, piped;

    /* a reader that stops early closes the pipe under the writer */
    signal(SIGPIPE, SIG_IGN);
    read_stream(path, size, 0, &whole);
    read_stream(path, size, 1, &lent);
    read_through_pipe(data, size, &piped);
    FUZZ_CHECK(whole.n_records == lent.n_records);
    FUZZ_CHECK(whole.digest == lent.digest);
    FUZZ_CHECK(whole.rc == lent.rc);
    FUZZ_CHECK(strcmp(whole.err, lent.err) == 0);
    FUZZ_CHECK(whole.n_records == piped.n_records);
    FUZZ_CHECK(whole.digest == piped.digest);
    FUZZ_CHECK(whole.rc == piped.rc);
    FUZZ_CHECK(strcmp(whole.err, piped.err) == 0);
    return 0;
}
