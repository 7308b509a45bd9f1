/*
 * Record streams: a sequence of MessagePack maps, each with a "type".
 * The layout of every record type is in docs/format.md.
 *
 * The reader walks each record's MessagePack structure before
 * decoding it, so every length and count is checked against a limit
 * before msgpack-c allocates anything, and a stream that ends inside a
 * record is reported as truncated rather than dropped.
 */
#ifndef NN_RECORD_H
#define NN_RECORD_H

#include <msgpack.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "nn_err.h"
#include "nn_tensor.h"

#define NN_FORMAT_NAME "nnpipe"
#define NN_FORMAT_VERSION 1

/* Limits applied before allocation.  A record above them is invalid. */
#define NN_MAX_RECORD_BYTES ((uint64_t)1 << 31)  /* one record, 2 GiB */
#define NN_MAX_CONTAINER ((uint32_t)1 << 24)     /* array or map entries */
#define NN_MAX_DEPTH 16
#define NN_MAX_CLASSES 65536
#define NN_MAX_ELEMENTS ((uint64_t)1 << 31)      /* one tensor */

typedef enum {
    NN_REC_UNKNOWN,             /* a type this version does not know */
    NN_REC_HEADER,
    NN_REC_SAMPLE,
    NN_REC_EPOCH,
    NN_REC_BATCH,
    NN_REC_METRICS,
    NN_REC_MODEL,
    NN_REC_PREDICTION
} nn_record_type;

/* The class list and provenance carried by a header record. */
typedef struct {
    int n_classes;
    char **classes;             /* n_classes strings, owned */
    char *source;               /* owned, may be NULL */
    char *partition;            /* owned, may be NULL */
    char *experiment;           /* owned, may be NULL: id of a run */
} nn_header;

/* Where the structure walk stopped in a record still arriving. */
typedef struct {
    uint64_t pending[NN_MAX_DEPTH + 1];  /* values left at each depth */
    uint64_t off;               /* bytes of the record walked so far */
    uint64_t n_values;          /* values counted so far */
    int top;                    /* current depth; -1 after the last value */
    int active;                 /* 0: the next walk starts a record */
} nn_walk;

typedef struct {
    FILE *fp;
    char name[512];             /* "standard input" or 'path', for errors */
    char *buf;
    size_t len, pos, cap;
    char *spare;                /* buffer kept between take and give */
    size_t spare_cap;
    int eof;
    nn_walk walk;               /* progress through the next record */
    uint64_t index;             /* 1-based number of the current record */
    msgpack_unpacked unpacked;
    const msgpack_object *obj;  /* current record, valid until next read */
    const char *raw;            /* its exact bytes, for pass-through */
    size_t raw_len;
    nn_record_type type;
    char type_name[32];
    nn_header header;           /* from the stream's first record */
    int interrupted;            /* a read stopped by nn_record_set_stop */
    int incomplete;             /* the input ended inside a record, or
                                 * before the header: a file still being
                                 * written may yet complete it */
    char err[256];
} nn_reader;

/*
 * Open path ("-" or NULL for standard input).  Returns 0, or -1 with
 * errno set.
 */
int nn_reader_open(nn_reader *r, const char *path);
void nn_reader_close(nn_reader *r);

/*
 * Read the next record into r->obj, r->raw and r->type.  The first
 * record must be a valid header; it is stored in r->header and also
 * returned.  Later headers must carry the same classes.  Returns 1 for
 * a record, 0 at the clean end of the stream, -1 with r->err set.
 */
int nn_reader_next(nn_reader *r);

/*
 * Read the next record or die with "PROG: NAME: record N: reason".
 * Returns 0 at the end of the stream, and -1 only when a signal
 * stopped the read (see nn_record_set_stop).
 */
int nn_reader_next_or_die(nn_reader *r);

/*
 * Lend the reader's buffer to the caller, so that a large record can be
 * converted in place instead of beside a copy.
 *
 * nn_reader_take_buffer hands over the buffer that contains the current
 * record.  The caller owns it from then on, may overwrite it, and frees
 * it or returns it with nn_reader_give_buffer.  r->obj, r->raw and
 * every pointer into the record stay valid until the caller writes to
 * it.  Bytes already read past the record move into a new buffer of
 * the reader's.  Stores the capacity in *cap and returns the buffer,
 * or NULL (nothing changed) when memory runs out.
 *
 * nn_reader_give_buffer makes buf, of cap bytes from malloc, the
 * reader's buffer for the records that follow, or frees it when the
 * reader's own buffer is larger.  Either way buf belongs to the reader
 * afterwards, and r->obj and r->raw are no longer valid.
 */
char *nn_reader_take_buffer(nn_reader *r, size_t *cap);
void nn_reader_give_buffer(nn_reader *r, char *buf, size_t cap);

/*
 * The last error as "record N: reason", or the reason alone when no
 * record was read (an empty input), written into buf.  Returns buf.
 */
const char *nn_reader_error(const nn_reader *r, char *buf, size_t len);

/* Die with "PROG: NAME: record N: <fmt>" for the current record. */
NN_NORETURN void nn_reader_die(const nn_reader *r, const char *fmt, ...)
    NN_PRINTF(2, 3);

void nn_header_free(nn_header *h);

/* 1 when a and b list the same class names in the same order. */
int nn_header_same_classes(const nn_header *a, const nn_header *b);

/*
 * Make reads that a signal interrupts while *flag is set fail with
 * r->interrupted = 1, so a program can save its work on SIGINT instead
 * of mistaking the end of a killed pipeline for the end of its input.
 */
void nn_record_set_stop(volatile sig_atomic_t *flag);

/* Map lookup by key; NULL when absent.  obj must be a map. */
const msgpack_object *nn_map_get(const msgpack_object *obj, const char *key);

/*
 * Typed field getters.  Each returns 0, or -1 with err filled
 * ("missing field 'label'", "field 'epoch' is not an integer").
 */
int nn_field_int(const msgpack_object *map, const char *key, int64_t *out,
                 char *err, size_t len);
int nn_field_double(const msgpack_object *map, const char *key,
                    double *out, char *err, size_t len);
int nn_field_str(const msgpack_object *map, const char *key,
                 const char **out, size_t *out_len, char *err, size_t len);

/*
 * Read the tensor stored as "dtype", "shape" and "data" in map, and
 * check that the shape's element count times the dtype size equals the
 * data length.  The data stays in the reader's buffer.
 */
int nn_field_tensor(const msgpack_object *map, nn_tensor *out, char *err,
                    size_t len);

/* A sample record: an image tensor (H, W, C) with a label. */
typedef struct {
    const char *id;             /* not NUL-terminated */
    size_t id_len;
    int label;
    nn_tensor image;
} nn_sample;

/* Parse and validate the current record as a sample; -1 with r->err. */
int nn_reader_sample(nn_reader *r, nn_sample *out);

/* ---- writing ---------------------------------------------------------- */

/*
 * A record writer: records are packed into a buffer and written whole,
 * so a failed program never leaves half a record behind on a pipe.
 */
typedef struct {
    FILE *fp;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} nn_writer;

void nn_writer_init(nn_writer *w, FILE *fp);
void nn_writer_free(nn_writer *w);

/* Write the packed record and reset the buffer; dies on I/O errors. */
void nn_writer_flush(nn_writer *w);

/* Copy bytes of a record read elsewhere, unchanged. */
void nn_writer_raw(nn_writer *w, const char *raw, size_t len);

void nn_write_header(nn_writer *w, const nn_header *h);
void nn_write_sample(nn_writer *w, const char *id, size_t id_len, int label,
                     const nn_tensor *image);
void nn_write_epoch(nn_writer *w, int64_t epoch);

/* Packing helpers for records built by hand. */
void nn_pack_str(msgpack_packer *pk, const char *s);
void nn_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void nn_pack_tensor_fields(msgpack_packer *pk, const nn_tensor *t);

#endif
