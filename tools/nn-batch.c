/*
 * nn-batch: group sample records into minibatch records of at most N
 * samples and scale their u8 pixels to [0,1] floats.  An epoch marker
 * closes the current (possibly smaller) batch and passes on; other
 * records pass through unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-batch [OPTION]... N [FILE]...\n"
    "Group samples into batches of at most N, scaling pixels from 0..255\n"
    "to 0..1.  The last batch of an epoch may be smaller.  All samples of\n"
    "a batch must have the same shape.\n"
    "\n"
    "  -t, --dtype=NAME       f32 | f64 | u8, the element type of batches;\n"
    "                         u8 keeps the pixels and records the scale 1/255\n"
    "                         for the reader to apply, a quarter of the bytes\n"
    "                         of f32 [f32]\n";

typedef struct {
    long size;
    nn_dtype dtype;
} options;

/* The batch being filled: (m, H, W, C) floats and m labels. */
typedef struct {
    int64_t shape[3];           /* H, W, C of every sample */
    size_t sample_values;
    int m;
    void *data;
    int *labels;
    int64_t epoch, index;
} batch;

static int parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"dtype", required_argument, NULL, 't'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    opt->dtype = NN_F32;
    while ((c = getopt_long(argc, argv, ":t:" NN_CLI_COMMON_SHORT, longopts,
                            NULL)) != -1) {
        if (c == 't') {
            if (strcmp(optarg, "f32") == 0)
                opt->dtype = NN_F32;
            else if (strcmp(optarg, "f64") == 0)
                opt->dtype = NN_F64;
            else if (strcmp(optarg, "u8") == 0)
                opt->dtype = NN_U8;
            else
                nn_usage_error("invalid dtype '%s': expected f32, f64 or u8",
                               optarg);
        } else {
            nn_cli_common(c);
        }
    }
    if (optind == argc)
        nn_usage_error("missing batch size N");
    opt->size = nn_cli_int("the batch size", argv[optind], 1, 1 << 20);
    return optind + 1;
}

static void emit(nn_writer *w, batch *b, nn_dtype dtype)
{
    msgpack_packer *pk = &w->pk;
    nn_tensor t = {.dtype = dtype, .n_dims = 4,
                   .shape = {b->m, b->shape[0], b->shape[1], b->shape[2]},
                   .data = b->data,
                   .n_bytes = b->m * b->sample_values * nn_dtype_size(dtype)};

    if (b->m == 0)
        return;
    msgpack_pack_map(pk, dtype == NN_U8 ? 8 : 7);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "batch");
    nn_pack_str(pk, "epoch");
    msgpack_pack_int64(pk, b->epoch);
    nn_pack_str(pk, "index");
    msgpack_pack_int64(pk, b->index);
    nn_pack_str(pk, "labels");
    msgpack_pack_array(pk, b->m);
    for (int i = 0; i < b->m; i++)
        msgpack_pack_int(pk, b->labels[i]);
    nn_pack_tensor_fields(pk, &t);
    if (dtype == NN_U8) {
        nn_pack_str(pk, "scale");
        msgpack_pack_double(pk, 1.0 / 255.0);
    }
    nn_writer_flush(w);
    b->m = 0;
    b->index++;
}

/* Append one sample, allocating the batch buffers on the first one. */
static void add(const nn_reader *r, batch *b, const nn_sample *s,
                const options *opt)
{
    const uint8_t *px = s->image.data;

    if (s->image.dtype != NN_U8)
        nn_reader_die(r, "sample '%.*s': expected u8 pixels, got %s",
                      (int)s->id_len, s->id, nn_dtype_name(s->image.dtype));
    if (!b->data) {
        memcpy(b->shape, s->image.shape, sizeof b->shape);
        b->sample_values = s->image.n_bytes;
        b->data = malloc(opt->size * b->sample_values *
                         nn_dtype_size(opt->dtype));
        b->labels = malloc(opt->size * sizeof *b->labels);
        if (!b->data || !b->labels)
            nn_die(ENOMEM, "cannot allocate a batch of %ld samples",
                   opt->size);
    } else if (memcmp(b->shape, s->image.shape, sizeof b->shape) != 0) {
        nn_reader_die(r, "sample '%.*s' has shape [%lld,%lld,%lld], other "
                      "samples [%lld,%lld,%lld]: give them one size and "
                      "channel count first (nn-resize WxH --grayscale)",
                      (int)s->id_len, s->id, (long long)s->image.shape[0],
                      (long long)s->image.shape[1],
                      (long long)s->image.shape[2], (long long)b->shape[0],
                      (long long)b->shape[1], (long long)b->shape[2]);
    }
    size_t base = (size_t)b->m * b->sample_values;
    /* Floats get the values nn-train makes of u8 batches, so every
     * dtype trains the same network. */
    if (opt->dtype == NN_U8)
        memcpy((uint8_t *)b->data + base, px, b->sample_values);
    else
        nn_tensor_convert((char *)b->data + base * nn_dtype_size(opt->dtype),
                          opt->dtype, px, NN_U8, b->sample_values,
                          1.0 / 255.0);
    b->labels[b->m++] = s->label;
}

int main(int argc, char **argv)
{
    options opt;
    nn_input in;
    nn_writer w;
    batch b = {0};
    long n_batches = 0;

    nn_cli_init(argc, argv, usage);
    int first = parse_args(argc, argv, &opt);
    nn_io_refuse_terminal();
    nn_input_init(&in, argv + first, argc - first);
    nn_writer_init(&w, stdout);

    while (nn_input_next(&in) > 0) {
        nn_sample s;
        switch (in.r.type) {
        case NN_REC_SAMPLE:
            if (nn_reader_sample(&in.r, &s) < 0)
                nn_reader_die(&in.r, "%s", in.r.err);
            add(&in.r, &b, &s, &opt);
            if (b.m == opt.size) {
                emit(&w, &b, opt.dtype);
                n_batches++;
            }
            break;
        case NN_REC_EPOCH:
            n_batches += b.m > 0;
            emit(&w, &b, opt.dtype);
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
            b.epoch++;
            b.index = 0;
            break;
        default:
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
        }
    }
    n_batches += b.m > 0;
    emit(&w, &b, opt.dtype);
    nn_log_info("batches=%ld size=%ld dtype=%s", n_batches, opt.size,
                nn_dtype_name(opt.dtype));
    free(b.data);
    free(b.labels);
    nn_writer_free(&w);
    nn_input_free(&in);
    return 0;
}
