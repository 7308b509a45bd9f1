/*
 * nn-predict: classify sample records with a model saved by nn-train.
 * Writes one prediction record per sample: the predicted label, its
 * class name and every class probability.  When the samples' class
 * list is the model's, their labels are compared with the predictions
 * and the accuracy and confusion matrix are reported.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_model.h"
#include "nn_model_io.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-predict --model=FILE [OPTION]... [FILE]...\n"
    "Classify sample records with a model written by nn-train --save.\n"
    "Samples must have the shape the model was trained on; resize them\n"
    "with nn-resize first.  Writes a prediction record per sample and, when\n"
    "the samples' classes are the model's, a metrics record with the\n"
    "accuracy and the confusion matrix.\n"
    "\n"
    "  -m, --model=FILE       the model to use (required)\n";

/* Largest number of samples classified in one forward pass. */
#define CHUNK 256

/* Samples waiting for a forward pass: (n, n_inputs) and their ids. */
typedef struct {
    nn_saved_model saved;
    nn_dtype dtype;
    int n_inputs, n_classes;
    int labelled;               /* the stream's classes are the model's */
    int all_at_once;            /* batch statistics: one pass over all */
    int n, cap;
    void *x;
    int *labels;
    char **ids;
    long *confusion;
    long n_total, n_correct;
    double cost_sum;
    nn_writer *out;
} predictor;

static const char *parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    const char *model = NULL;
    int c;

    while ((c = getopt_long(argc, argv, ":m:" NN_CLI_COMMON_SHORT, longopts,
                            NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else
            nn_cli_common(c);
    }
    if (!model)
        nn_usage_error("missing --model=FILE");
    return model;
}

static void grow(predictor *p)
{
    size_t elem = nn_dtype_size(p->dtype);

    p->cap = p->cap ? 2 * p->cap : CHUNK;
    p->x = realloc(p->x, (size_t)p->cap * p->n_inputs * elem);
    p->labels = realloc(p->labels, p->cap * sizeof *p->labels);
    p->ids = realloc(p->ids, p->cap * sizeof *p->ids);
    if (!p->x || !p->labels || !p->ids)
        nn_die(ENOMEM, "cannot hold %d samples", p->cap);
}

static void emit_prediction(predictor *p, int i, const void *probs)
{
    msgpack_packer *pk = &p->out->pk;
    int C = p->n_classes, best = 0;
    double prob[C];

    for (int c = 0; c < C; c++) {
        prob[c] = p->dtype == NN_F64 ? ((const double *)probs)[i * C + c]
                                     : ((const float *)probs)[i * C + c];
        if (prob[c] > prob[best])
            best = c;
    }
    msgpack_pack_map(pk, p->labelled ? 6 : 5);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "prediction");
    nn_pack_str(pk, "id");
    nn_pack_str(pk, p->ids[i]);
    nn_pack_str(pk, "label");
    msgpack_pack_int(pk, best);
    nn_pack_str(pk, "class");
    nn_pack_str(pk, p->saved.header.classes[best]);
    nn_pack_str(pk, "probabilities");
    msgpack_pack_array(pk, C);
    for (int c = 0; c < C; c++)
        msgpack_pack_double(pk, prob[c]);
    if (p->labelled) {
        nn_pack_str(pk, "true_label");
        msgpack_pack_int(pk, p->labels[i]);
        p->confusion[p->labels[i] * C + best]++;
        p->n_correct += best == p->labels[i];
        p->cost_sum -= log(prob[p->labels[i]]);
    }
    nn_writer_flush(p->out);
}

/* Classify the waiting samples and write their predictions. */
static void flush(predictor *p)
{
    if (p->n == 0)
        return;
    const void *probs = nn_model_forward(p->saved.model, p->x, p->n,
                                         NN_MODE_INFER);
    if (!probs)
        nn_die(ENOMEM, "cannot classify %d samples", p->n);
    for (int i = 0; i < p->n; i++) {
        emit_prediction(p, i, probs);
        free(p->ids[i]);
    }
    p->n_total += p->n;
    p->n = 0;
}

static void add_sample(predictor *p, const nn_reader *r, const nn_sample *s)
{
    const int64_t *want = p->saved.input_shape;
    const uint8_t *px = s->image.data;

    if (s->image.dtype != NN_U8)
        nn_reader_die(r, "sample '%.*s': expected u8 pixels, got %s",
                      (int)s->id_len, s->id, nn_dtype_name(s->image.dtype));
    if (memcmp(s->image.shape, want, 3 * sizeof *want) != 0)
        nn_reader_die(r, "sample '%.*s' has shape [%lld,%lld,%lld], the "
                      "model expects [%lld,%lld,%lld]: resize it first",
                      (int)s->id_len, s->id, (long long)s->image.shape[0],
                      (long long)s->image.shape[1],
                      (long long)s->image.shape[2], (long long)want[0],
                      (long long)want[1], (long long)want[2]);
    if (p->n == p->cap)
        grow(p);
    size_t base = (size_t)p->n * p->n_inputs;
    /* the same values as nn-train's, bit for bit */
    nn_tensor_convert((char *)p->x + base * nn_dtype_size(p->dtype),
                      p->dtype, px, NN_U8, (size_t)p->n_inputs, 1.0 / 255.0);
    p->labels[p->n] = s->label;
    p->ids[p->n] = strndup(s->id, s->id_len);
    if (!p->ids[p->n])
        nn_die(ENOMEM, "cannot hold a sample id");
    p->n++;
    if (!p->all_at_once && p->n == CHUNK)
        flush(p);
}

static void report(predictor *p)
{
    int C = p->n_classes;
    msgpack_packer *pk = &p->out->pk;
    double acc = (double)p->n_correct / p->n_total;

    msgpack_pack_map(pk, 6);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "metrics");
    nn_pack_str(pk, "scope");
    nn_pack_str(pk, "prediction");
    nn_pack_str(pk, "samples");
    msgpack_pack_int64(pk, p->n_total);
    nn_pack_str(pk, "cost");
    msgpack_pack_double(pk, p->cost_sum / p->n_total);
    nn_pack_str(pk, "accuracy");
    msgpack_pack_double(pk, acc);
    nn_pack_str(pk, "confusion");
    msgpack_pack_array(pk, C);
    for (int i = 0; i < C; i++) {
        msgpack_pack_array(pk, C);
        for (int j = 0; j < C; j++)
            msgpack_pack_int64(pk, p->confusion[i * C + j]);
    }
    nn_writer_flush(p->out);
    nn_log_info("samples=%ld accuracy=%.4f cost=%.6f", p->n_total, acc,
                p->cost_sum / p->n_total);
    if (nn_log_get_level() > NN_LOG_INFO)
        return;
    fprintf(stderr, "confusion matrix (rows: true class, columns: "
            "predicted class)\n%10s", "");
    for (int j = 0; j < C; j++)
        fprintf(stderr, " %6.6s", p->saved.header.classes[j]);
    fputc('\n', stderr);
    for (int i = 0; i < C; i++) {
        fprintf(stderr, "%10.10s", p->saved.header.classes[i]);
        for (int j = 0; j < C; j++)
            fprintf(stderr, " %6ld", p->confusion[i * C + j]);
        fputc('\n', stderr);
    }
}

int main(int argc, char **argv)
{
    predictor p = {0};
    nn_input in;
    nn_writer w;
    char err[300];

    nn_cli_init(argc, argv, usage);
    const char *model_path = parse_args(argc, argv);
    nn_io_refuse_terminal();
    if (nn_model_load(model_path, &p.saved, err, sizeof err) < 0)
        nn_die(0, "'%s': %s", model_path, err);
    const nn_model_config *cfg = nn_model_get_config(p.saved.model);
    p.dtype = cfg->dtype;
    p.n_inputs = cfg->n_inputs;
    p.n_classes = cfg->n_classes;
    /* NOTE: a model that normalises with batch statistics needs the
     * whole input in one pass, as nn-train evaluated it. */
    p.all_at_once = cfg->bn_mode == NN_BN_BATCH &&
                    cfg->arch == NN_ARCH_N_LAYERS;
    p.confusion = calloc((size_t)p.n_classes * p.n_classes,
                         sizeof *p.confusion);
    if (!p.confusion)
        nn_die(ENOMEM, "cannot allocate the confusion matrix");
    nn_input_init(&in, argv + optind, argc - optind);
    nn_writer_init(&w, stdout);
    p.out = &w;

    int started = 0;
    while (nn_input_next(&in) > 0) {
        nn_sample s;
        /* a later header (streams joined by cat) lists the same classes */
        if (in.r.type == NN_REC_HEADER && !started) {
            started = 1;
            p.labelled = nn_header_same_classes(&in.header, &p.saved.header);
            if (!p.labelled)
                nn_log_info("the input's classes are not the model's: "
                            "labels are ignored");
            nn_write_header(&w, &(nn_header){
                .n_classes = p.n_classes, .classes = p.saved.header.classes,
                .source = "nn-predict"});
        } else if (in.r.type == NN_REC_HEADER) {
            continue;
        } else if (in.r.type == NN_REC_SAMPLE) {
            if (nn_reader_sample(&in.r, &s) < 0)
                nn_reader_die(&in.r, "%s", in.r.err);
            add_sample(&p, &in.r, &s);
        } else if (in.r.type == NN_REC_BATCH) {
            nn_reader_die(&in.r, "got a batch record: nn-predict reads "
                          "samples; give it the stream before nn-batch");
        } else {
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
        }
    }
    flush(&p);
    if (p.labelled && p.n_total)
        report(&p);
    nn_writer_free(&w);
    nn_input_free(&in);
    free(p.x);
    free(p.labels);
    free(p.ids);
    free(p.confusion);
    nn_saved_model_free(&p.saved);
    return 0;
}
