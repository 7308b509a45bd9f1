/*
 * nn-train: train a OneLayer or NLayers network on batch records.
 * Every minibatch makes one optimizer step; every epoch marker closes
 * an epoch, after which the --dev samples are evaluated.  Metrics
 * records (per minibatch and per epoch) go to standard output; the
 * trained model goes to --save.  Matrix products go through OpenBLAS.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_model.h"
#include "nn_model_io.h"
#include "nn_optim.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-train [OPTION]... [FILE]...\n"
    "Train a network on batch records (from nn-batch) and write metrics\n"
    "records: one per minibatch and one per epoch.  An epoch ends at each\n"
    "epoch marker, and at the end of the input.\n"
    "\n"
    "  -m, --model=NAME         one-layer | n-layers [n-layers]\n"
    "  -l, --layers=LIST        hidden layer sizes of n-layers, comma-separated;\n"
    "                           empty for none [100]\n"
    "  -a, --activation=NAME    leaky-relu | relu | tanh | sigmoid [leaky-relu]\n"
    "  -o, --optimizer=NAME     adam | constant | exponential-decay [adam]\n"
    "  -r, --learning-rate=X    step size [0.001]\n"
    "      --decay=X            exponential-decay: rate multiplied by\n"
    "                           exp(-X * epoch) [0.9]\n"
    "      --model-seed=N       seed of the initial weights [0]\n"
    "      --bn-inference=MODE  running: batch normalisation uses running\n"
    "                           statistics outside training; batch: the\n"
    "                           statistics of the evaluated set, as the\n"
    "                           original tool does [running]\n"
    "  -d, --dev=FILE           sample records evaluated after every epoch\n"
    "  -s, --save=FILE          write the trained model to FILE\n"
    "      --threads=N          OpenBLAS threads [OPENBLAS_NUM_THREADS, or\n"
    "                           all cores]\n"
    "\n"
    "Names are case-insensitive and also take the spellings OneLayer,\n"
    "NLayers, Adam, Constant and ExponentialDecay.\n";

typedef struct {
    nn_model_config model;
    nn_optim_config optim;
    const char *dev_path;
    const char *save_path;
    int threads;
} options;

/* Labelled u8 samples held for evaluation: (n, n_inputs). */
typedef struct {
    int n, n_inputs;
    int64_t shape[3];
    uint8_t *pixels;
    int *labels;
} sample_set;

/* Running sums of one epoch of training. */
typedef struct {
    double cost_sum;            /* sum over batches of mean cost * m */
    long correct, samples, batches;
} epoch_sums;

static void parse_layers(const char *arg, nn_model_config *cfg)
{
    const char *p = arg;

    cfg->n_hidden = 0;
    while (*p) {
        char *end;
        long units = strtol(p, &end, 10);
        if (end == p || units < 1 || units > (1 << 20) ||
            (*end && *end != ','))
            nn_usage_error("invalid value '%s' for --layers: expected "
                           "comma-separated positive integers", arg);
        if (cfg->n_hidden == NN_MAX_HIDDEN)
            nn_usage_error("--layers: at most %d hidden layers", NN_MAX_HIDDEN);
        cfg->hidden[cfg->n_hidden++] = (int)units;
        p = *end ? end + 1 : end;
    }
}

static void parse_optimizer(const char *arg, nn_optim_config *cfg)
{
    char key[64];
    size_t j = 0;

    /* Lower-case and drop separators: "ExponentialDecay", "exp-decay". */
    for (const char *p = arg; *p && j < sizeof key - 1; p++)
        if (*p != '-' && *p != '_')
            key[j++] = (char)(*p | 0x20);
    key[j] = '\0';
    if (strcmp(key, "adam") == 0)
        cfg->kind = NN_OPT_ADAM;
    else if (strcmp(key, "constant") == 0)
        cfg->kind = NN_OPT_CONSTANT;
    else if (strcmp(key, "exponentialdecay") == 0 ||
             strcmp(key, "expdecay") == 0)
        cfg->kind = NN_OPT_EXP_DECAY;
    else
        nn_usage_error("invalid optimizer '%s': expected adam, constant or "
                       "exponential-decay", arg);
}

static void parse_args(int argc, char **argv, options *opt)
{
    enum { OPT_DECAY = NN_OPT_TOOL, OPT_SEED, OPT_THREADS, OPT_BN };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"layers", required_argument, NULL, 'l'},
        {"activation", required_argument, NULL, 'a'},
        {"optimizer", required_argument, NULL, 'o'},
        {"learning-rate", required_argument, NULL, 'r'},
        {"decay", required_argument, NULL, OPT_DECAY},
        {"model-seed", required_argument, NULL, OPT_SEED},
        {"dev", required_argument, NULL, 'd'},
        {"save", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"bn-inference", required_argument, NULL, OPT_BN},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(opt, 0, sizeof *opt);
    nn_model_config_default(&opt->model);
    nn_optim_config_default(&opt->optim);
    opt->model.arch = NN_ARCH_N_LAYERS;
    opt->model.n_hidden = 1;
    opt->model.hidden[0] = 100;
    opt->model.bn_mode = NN_BN_RUNNING;
    while ((c = getopt_long(argc, argv, ":m:l:a:o:r:d:s:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (nn_arch_parse(optarg, &opt->model.arch) < 0)
                nn_usage_error("invalid model '%s': expected one-layer or "
                               "n-layers", optarg);
            break;
        case 'l':
            parse_layers(optarg, &opt->model);
            break;
        case 'a':
            if (nn_activation_parse(optarg, &opt->model.activation) < 0)
                nn_usage_error("invalid activation '%s': expected leaky-relu, "
                               "relu, tanh or sigmoid", optarg);
            break;
        case 'o':
            parse_optimizer(optarg, &opt->optim);
            break;
        case 'r':
            opt->optim.learning_rate = nn_cli_double("--learning-rate",
                                                     optarg, 0, 1e6);
            break;
        case OPT_DECAY:
            opt->optim.decay = nn_cli_double("--decay", optarg, 0, 1e6);
            break;
        case OPT_SEED:
            opt->model.seed = (uint64_t)nn_cli_int("--model-seed", optarg, 0,
                                                   INT64_MAX);
            break;
        case 'd':
            opt->dev_path = optarg;
            break;
        case 's':
            opt->save_path = optarg;
            break;
        case OPT_BN:
            if (strcmp(optarg, "running") == 0)
                opt->model.bn_mode = NN_BN_RUNNING;
            else if (strcmp(optarg, "batch") == 0)
                opt->model.bn_mode = NN_BN_BATCH;
            else
                nn_usage_error("invalid value '%s' for --bn-inference: "
                               "expected running or batch", optarg);
            break;
        case OPT_THREADS:
            opt->threads = (int)nn_cli_int("--threads", optarg, 1, 1024);
            break;
        default:
            nn_cli_common(c);
        }
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Read the dev samples into memory; they must all have one shape. */
static void load_samples(const char *path, const nn_header *classes,
                         sample_set *set)
{
    nn_reader r;
    size_t cap = 0;

    memset(set, 0, sizeof *set);
    if (nn_reader_open(&r, path) < 0)
        nn_die(errno, "cannot open '%s'", path);
    while (nn_reader_next_or_die(&r)) {
        nn_sample s;
        if (r.index == 1) {
            if (r.header.n_classes != classes->n_classes)
                nn_reader_die(&r, "has %d classes, the training stream %d",
                              r.header.n_classes, classes->n_classes);
            continue;
        }
        if (r.type != NN_REC_SAMPLE)
            continue;
        if (nn_reader_sample(&r, &s) < 0)
            nn_reader_die(&r, "%s", r.err);
        if (s.image.dtype != NN_U8)
            nn_reader_die(&r, "expected u8 pixels, got %s",
                          nn_dtype_name(s.image.dtype));
        if (set->n == 0) {
            memcpy(set->shape, s.image.shape, sizeof set->shape);
            set->n_inputs = (int)s.image.n_bytes;
        } else if (memcmp(set->shape, s.image.shape, sizeof set->shape)) {
            nn_reader_die(&r, "sample shape differs from the first sample's");
        }
        if ((size_t)set->n == cap) {
            cap = cap ? 2 * cap : 256;
            set->pixels = realloc(set->pixels, cap * set->n_inputs);
            set->labels = realloc(set->labels, cap * sizeof *set->labels);
            if (!set->pixels || !set->labels)
                nn_die(ENOMEM, "cannot hold the samples of '%s'", path);
        }
        memcpy(set->pixels + (size_t)set->n * set->n_inputs, s.image.data,
               set->n_inputs);
        set->labels[set->n++] = s.label;
    }
    nn_reader_close(&r);
    if (set->n == 0)
        nn_die(0, "'%s': no sample records", path);
}

/* Convert n values of a wire tensor into the model dtype. */
static void to_model_dtype(nn_dtype model, nn_dtype src, const void *data,
                           size_t n, void *dst)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        if (src == NN_U8) {
            v = ((const uint8_t *)data)[i] / 255.0;
        } else if (src == NN_F32) {
            float f;
            memcpy(&f, (const char *)data + 4 * i, 4);
            v = f;
        } else {
            memcpy(&v, (const char *)data + 8 * i, 8);
        }
        if (model == NN_F64)
            ((double *)dst)[i] = v;
        else
            ((float *)dst)[i] = (float)v;
    }
}

/*
 * Evaluate the model on set in inference mode.  With running BatchNorm
 * statistics each sample is independent, so the set goes through in
 * chunks; with batch statistics it must go through whole.
 */
static void evaluate(nn_model *model, const sample_set *set, void *buf,
                     int chunk, double *cost, double *accuracy,
                     long *confusion, int n_classes)
{
    const nn_model_config *cfg = nn_model_get_config(model);
    int *pred = malloc(chunk * sizeof *pred);
    double cost_sum = 0;
    long correct = 0;

    if (!pred)
        nn_die(ENOMEM, "cannot evaluate");
    memset(confusion, 0, sizeof *confusion * n_classes * n_classes);
    for (int start = 0; start < set->n; start += chunk) {
        int m = set->n - start < chunk ? set->n - start : chunk;
        int n_correct;
        to_model_dtype(cfg->dtype, NN_U8,
                       set->pixels + (size_t)start * set->n_inputs,
                       (size_t)m * set->n_inputs, buf);
        if (!nn_model_forward(model, buf, m, NN_MODE_INFER))
            nn_die(ENOMEM, "cannot evaluate %d samples", m);
        cost_sum += nn_model_loss(model, set->labels + start, m, &n_correct,
                                  pred) * m;
        correct += n_correct;
        for (int i = 0; i < m; i++)
            confusion[set->labels[start + i] * n_classes + pred[i]]++;
    }
    free(pred);
    *cost = cost_sum / set->n;
    *accuracy = (double)correct / set->n;
}

static void pack_kv_double(msgpack_packer *pk, const char *key, double v)
{
    nn_pack_str(pk, key);
    msgpack_pack_double(pk, v);
}

static void pack_kv_int(msgpack_packer *pk, const char *key, int64_t v)
{
    nn_pack_str(pk, key);
    msgpack_pack_int64(pk, v);
}

static void emit_minibatch(nn_writer *w, int64_t epoch, int64_t step,
                           int64_t index, int m, double cost, double acc)
{
    msgpack_packer *pk = &w->pk;

    msgpack_pack_map(pk, 8);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "metrics");
    nn_pack_str(pk, "scope");
    nn_pack_str(pk, "minibatch");
    pack_kv_int(pk, "epoch", epoch);
    pack_kv_int(pk, "step", step);
    pack_kv_int(pk, "index", index);
    pack_kv_int(pk, "samples", m);
    pack_kv_double(pk, "cost", cost);
    pack_kv_double(pk, "accuracy", acc);
    nn_writer_flush(w);
}

/* State of the whole run, shared by the steps of main. */
typedef struct {
    options opt;
    nn_header header;
    nn_model *model;
    nn_optim *optim;
    int64_t input_shape[3];
    int n_inputs;
    void *x;                    /* (max m, n_inputs) in the model dtype */
    size_t x_cap;
    int *labels;
    sample_set dev;
    void *dev_buf;
    long *confusion;            /* (C, C): true class, predicted class */
    int have_dev_result;
    int64_t epoch, step;
    epoch_sums sums;
    double start_s;
    nn_writer *out;
} run;

static void build_model(run *run, const nn_reader *r, const nn_tensor *t)
{
    options *opt = &run->opt;
    const char *lib_info = "";

    run->input_shape[0] = t->shape[1];
    run->input_shape[1] = t->shape[2];
    run->input_shape[2] = t->shape[3];
    run->n_inputs = (int)(t->n_bytes / nn_dtype_size(t->dtype) / t->shape[0]);
    if (opt->model.arch == NN_ARCH_ONE_LAYER)
        opt->model.n_hidden = 0;
    opt->model.n_inputs = run->n_inputs;
    opt->model.n_classes = run->header.n_classes;
    run->model = nn_model_create(&opt->model);
    if (!run->model)
        nn_reader_die(r, "cannot build a network for %d inputs and %d "
                      "classes", run->n_inputs, run->header.n_classes);
    run->optim = nn_optim_create(&opt->optim, run->model);
    if (!run->optim)
        nn_die(ENOMEM, "cannot create the optimizer");
    if (run->dev.n && run->dev.n_inputs != run->n_inputs)
        nn_die(0, "'%s': samples have %d values, the training batches %d",
               opt->dev_path, run->dev.n_inputs, run->n_inputs);
#ifdef OPENBLAS_VERSION
    lib_info = OPENBLAS_VERSION;
#endif
    nn_log_info("model=%s inputs=%d classes=%d parameters=%zu optimizer=%d "
                "learning_rate=%g seed=%llu threads=%d blas=%s",
                nn_arch_name(opt->model.arch), run->n_inputs,
                run->header.n_classes, nn_model_n_scalars(run->model),
                (int)opt->optim.kind, opt->optim.learning_rate,
                (unsigned long long)opt->model.seed,
                openblas_get_num_threads(), lib_info);
}

/* One minibatch: forward, loss, backward, optimizer step, metrics. */
static void train_batch(run *run, const nn_reader *r)
{
    const msgpack_object *labels = nn_map_get(r->obj, "labels");
    nn_tensor t;
    char err[160];
    int64_t index = 0;
    int n_correct;

    if (nn_field_tensor(r->obj, &t, err, sizeof err) < 0)
        nn_reader_die(r, "batch: %s", err);
    if (t.n_dims != 4)
        nn_reader_die(r, "batch: expected shape [m, height, width, "
                      "channels], got %d dims", t.n_dims);
    if (t.dtype != NN_F32 && t.dtype != NN_F64 && t.dtype != NN_U8)
        nn_reader_die(r, "batch: unsupported dtype %s",
                      nn_dtype_name(t.dtype));
    if (!run->model)
        build_model(run, r, &t);
    else if (t.shape[1] != run->input_shape[0] ||
             t.shape[2] != run->input_shape[1] ||
             t.shape[3] != run->input_shape[2])
        nn_reader_die(r, "batch: sample shape [%lld,%lld,%lld] differs from "
                      "the first batch's [%lld,%lld,%lld]",
                      (long long)t.shape[1], (long long)t.shape[2],
                      (long long)t.shape[3], (long long)run->input_shape[0],
                      (long long)run->input_shape[1],
                      (long long)run->input_shape[2]);
    int m = (int)t.shape[0];
    size_t n = (size_t)m * run->n_inputs;
    size_t bytes = n * nn_dtype_size(run->opt.model.dtype);
    if (bytes > run->x_cap) {
        free(run->x);
        free(run->labels);
        run->x = malloc(bytes);
        run->labels = malloc(m * sizeof *run->labels);
        if (!run->x || !run->labels)
            nn_die(ENOMEM, "cannot hold a batch of %d samples", m);
        run->x_cap = bytes;
    }
    for (int i = 0; i < m; i++)
        run->labels[i] = (int)labels->via.array.ptr[i].via.u64;
    to_model_dtype(run->opt.model.dtype, t.dtype, t.data, n, run->x);
    nn_field_int(r->obj, "index", &index, err, sizeof err);

    if (!nn_model_forward(run->model, run->x, m, NN_MODE_TRAIN))
        nn_die(ENOMEM, "cannot run a batch of %d samples", m);
    double cost = nn_model_loss(run->model, run->labels, m, &n_correct, NULL);
    nn_model_backward(run->model, run->labels);
    nn_optim_step(run->optim, run->model, (int)run->epoch);

    run->sums.cost_sum += cost * m;
    run->sums.correct += n_correct;
    run->sums.samples += m;
    run->sums.batches++;
    emit_minibatch(run->out, run->epoch, run->step++, index, m, cost,
                   (double)n_correct / m);
}

static void end_epoch(run *run)
{
    msgpack_packer *pk = &run->out->pk;
    int C = run->header.n_classes;
    double cost = run->sums.cost_sum / run->sums.samples;
    double acc = (double)run->sums.correct / run->sums.samples;
    double dev_cost = 0, dev_acc = 0;

    if (run->dev.n) {
        evaluate(run->model, &run->dev, run->dev_buf,
                 run->opt.model.bn_mode == NN_BN_BATCH ? run->dev.n
                 : (run->dev.n < 1024 ? run->dev.n : 1024),
                 &dev_cost, &dev_acc, run->confusion, C);
        run->have_dev_result = 1;
    }
    msgpack_pack_map(pk, run->dev.n ? 12 : 8);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "metrics");
    nn_pack_str(pk, "scope");
    nn_pack_str(pk, "epoch");
    pack_kv_int(pk, "epoch", run->epoch);
    pack_kv_int(pk, "samples", run->sums.samples);
    pack_kv_int(pk, "parameters", (int64_t)nn_model_n_scalars(run->model));
    pack_kv_double(pk, "cost", cost);
    pack_kv_double(pk, "accuracy", acc);
    pack_kv_double(pk, "seconds", now_s() - run->start_s);
    if (run->dev.n) {
        pack_kv_int(pk, "dev_samples", run->dev.n);
        pack_kv_double(pk, "dev_cost", dev_cost);
        pack_kv_double(pk, "dev_accuracy", dev_acc);
        nn_pack_str(pk, "dev_confusion");
        msgpack_pack_array(pk, C);
        for (int i = 0; i < C; i++) {
            msgpack_pack_array(pk, C);
            for (int j = 0; j < C; j++)
                msgpack_pack_int64(pk, run->confusion[i * C + j]);
        }
        nn_log_info("epoch=%lld cost=%.6f accuracy=%.4f dev_cost=%.6f "
                    "dev_accuracy=%.4f", (long long)run->epoch, cost, acc,
                    dev_cost, dev_acc);
    } else {
        nn_log_info("epoch=%lld cost=%.6f accuracy=%.4f",
                    (long long)run->epoch, cost, acc);
    }
    nn_writer_flush(run->out);
    run->epoch++;
    memset(&run->sums, 0, sizeof run->sums);
}

/* The dev confusion matrix as a table on stderr: rows are true classes. */
static void print_confusion(const run *run)
{
    int C = run->header.n_classes;

    fprintf(stderr, "dev confusion matrix (rows: true class, columns: "
            "predicted class)\n%10s", "");
    for (int j = 0; j < C; j++)
        fprintf(stderr, " %6.6s", run->header.classes[j]);
    fputc('\n', stderr);
    for (int i = 0; i < C; i++) {
        fprintf(stderr, "%10.10s", run->header.classes[i]);
        for (int j = 0; j < C; j++)
            fprintf(stderr, " %6ld", run->confusion[i * C + j]);
        fputc('\n', stderr);
    }
}

int main(int argc, char **argv)
{
    run run = {0};
    nn_input in;
    nn_writer w;

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &run.opt);
    nn_io_refuse_terminal();
    if (run.opt.threads)
        openblas_set_num_threads(run.opt.threads);
    run.start_s = now_s();
    nn_input_init(&in, argv + optind, argc - optind);
    nn_writer_init(&w, stdout);
    run.out = &w;

    while (nn_input_next(&in)) {
        switch (in.r.type) {
        case NN_REC_HEADER:
            run.header = in.header;
            if (run.opt.dev_path) {
                load_samples(run.opt.dev_path, &run.header, &run.dev);
                run.dev_buf = malloc((size_t)(run.dev.n < 1024 ? 1024 :
                                     run.dev.n) * run.dev.n_inputs * 8);
                if (!run.dev_buf)
                    nn_die(ENOMEM, "cannot hold the dev samples");
            }
            run.confusion = calloc((size_t)run.header.n_classes *
                                   run.header.n_classes, sizeof(long));
            if (!run.confusion)
                nn_die(ENOMEM, "cannot allocate the confusion matrix");
            nn_write_header(&w, &(nn_header){.n_classes = in.header.n_classes,
                            .classes = in.header.classes,
                            .source = "nn-train", .partition = NULL});
            break;
        case NN_REC_BATCH:
            train_batch(&run, &in.r);
            break;
        case NN_REC_EPOCH:
            if (run.sums.batches)
                end_epoch(&run);
            break;
        case NN_REC_SAMPLE:
            nn_reader_die(&in.r, "got a sample record: nn-train reads "
                          "batches; put nn-batch before it");
        default:
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
        }
    }
    if (run.sums.batches)
        end_epoch(&run);
    if (!run.model)
        nn_die(0, "no batch records in the input: nothing to train");
    if (run.have_dev_result && nn_log_get_level() <= NN_LOG_INFO)
        print_confusion(&run);
    if (run.opt.save_path &&
        nn_model_save(run.opt.save_path, &run.header, run.model,
                      run.input_shape) < 0)
        nn_die(errno, "cannot write the model to '%s'", run.opt.save_path);
    nn_writer_free(&w);
    return 0;
}
