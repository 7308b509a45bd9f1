/*
 * nn-train: train a OneLayer or NLayers network on batch records.
 * Every minibatch makes one optimizer step; every epoch marker closes
 * an epoch, after which the --dev samples are evaluated.  Metrics
 * records (per minibatch, per epoch, and for checks, tracking and
 * early stopping) go to standard output; the trained model goes to
 * --save.  Matrix products go through OpenBLAS.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_cli.h"
#include "nn_err.h"
#include "nn_gradcheck.h"
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
    "Model:\n"
    "  -m, --model=NAME         one-layer | n-layers [n-layers]\n"
    "  -l, --layers=LIST        hidden layer sizes of n-layers, comma-separated;\n"
    "                           empty for none [100]\n"
    "  -a, --activation=NAME    leaky-relu | relu | tanh | sigmoid [leaky-relu]\n"
    "      --init=NAME          glorot-normal | glorot-uniform | kaiming\n"
    "                           [glorot-normal]\n"
    "      --dropout-rate=P     inverted dropout while training, 0 <= P < 1 [0]\n"
    "      --bn-inference=MODE  running: batch normalisation uses running\n"
    "                           statistics outside training; batch: those of\n"
    "                           the evaluated set, as the original does [running]\n"
    "      --precision=BITS     64 or 32, for every parameter and product\n"
    "                           [NN_PRECISION from the environment, or 64]\n"
    "      --model-seed=N       seed of the initial weights and dropout [0]\n"
    "\n"
    "Optimisation:\n"
    "  -o, --optimizer=NAME     adam | constant | exponential-decay [adam]\n"
    "  -r, --learning-rate=X    step size [0.001]\n"
    "      --decay=X            exponential-decay: rate multiplied by\n"
    "                           exp(-X * epoch) [0.9]\n"
    "      --weight-decay=L     L2: the cost gains (L / 2m) * sum of squares of\n"
    "                           every parameter, the gradient (L / m) * value,\n"
    "                           m the batch size [0]\n"
    "\n"
    "Evaluation and stopping:\n"
    "  -d, --dev=FILE           sample records evaluated after every epoch\n"
    "      --test=FILE          sample records evaluated once, at the end\n"
    "      --early-stopping-patience=N\n"
    "                           record the epoch after which the dev cost has\n"
    "                           not improved for N epochs [10]\n"
    "      --stop-early         stop there and keep the best weights\n"
    "\n"
    "Checks (MODE: exception stops the run, warning logs and goes on, off):\n"
    "      --gradient-checks=MODE   compare gradients with central\n"
    "                           differences [off]\n"
    "      --gradient-checks-every=N    in epochs 0, N, 2N, ... [25]\n"
    "      --gradient-checks-samples=K  entries per tensor [2]\n"
    "      --gradient-checks-threshold=D  largest relative distance\n"
    "                           [1e-5 in 64-bit; 0.2 in 32-bit, where rounding\n"
    "                           makes small distances meaningless]\n"
    "      --instability-checks=MODE  NaN or infinity in any layer output,\n"
    "                           gradient or updated parameter [off]\n"
    "\n"
    "Outputs:\n"
    "  -s, --save=FILE          write the trained model to FILE\n"
    "      --checkpoint=FILE    write a checkpoint after every epoch and on\n"
    "                           SIGINT (then exit with 130)\n"
    "      --resume=FILE        continue from a checkpoint, skipping the\n"
    "                           batches it has already trained on\n"
    "      --track-layer=NAME,UNITS  record UNITS rows of parameter NAME\n"
    "                           after every epoch (repeatable)\n"
    "      --profile=FILE       write per-layer forward, backward and update\n"
    "                           times for every epoch\n"
    "      --id=NAME            experiment id written in the metrics header\n"
    "      --threads=N          OpenBLAS threads [OPENBLAS_NUM_THREADS, or\n"
    "                           all cores]\n"
    "\n"
    "Names are case-insensitive and also take the spellings OneLayer,\n"
    "NLayers, Adam, Constant and ExponentialDecay.\n";

enum check_mode { CHECK_OFF, CHECK_WARNING, CHECK_EXCEPTION };

#define MAX_TRACKS 16

typedef struct {
    char name[48];
    int units;
} track;

typedef struct {
    nn_model_config model;
    nn_optim_config optim;
    double weight_decay;
    const char *dev_path, *test_path, *save_path;
    const char *checkpoint_path, *resume_path, *profile_path, *id;
    int threads;
    enum check_mode grad_mode, instability_mode;
    int grad_every, grad_samples;
    double grad_threshold;
    int patience, stop_early;
    track tracks[MAX_TRACKS];
    int n_tracks;
} options;

/* Labelled u8 samples held for evaluation: (n, n_inputs). */
typedef struct {
    const char *path;
    int n, n_inputs;
    int64_t shape[3];
    uint8_t *pixels;
    int *labels;
} sample_set;

/* State of the whole run, shared by the steps of main. */
typedef struct {
    options opt;
    char settings[512];         /* options that shape the result */
    nn_header header;
    nn_model *model, *best;     /* best: weights of the lowest dev cost */
    nn_optim *optim;
    int64_t input_shape[3];
    int n_inputs;
    void *x;                    /* (m, n_inputs) in the model dtype */
    size_t x_cap;               /* bytes */
    int x_borrowed;             /* x is the reader's buffer, to give back
                                 * after the step */
    int *labels;
    int labels_cap;
    sample_set dev, test;
    void *eval_buf;             /* (eval chunk, n_inputs) */
    int *eval_pred;
    long *confusion;            /* (C, C): true class, predicted class */
    int have_dev_result;
    nn_train_state st;
    int started;                /* the first header was read */
    int resumed;                /* still skipping batches already trained */
    int stopped;                /* --stop-early triggered */
    double start_s;
    double update_s;            /* optimizer time in this epoch */
    FILE *profile;
    nn_writer *out;
} run;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- options ---------------------------------------------------------- */

/* Lower-case name without '-' and '_', for loose matching. */
static void squash(const char *in, char *out, size_t len)
{
    size_t j = 0;

    for (; *in && j < len - 1; in++)
        if (*in != '-' && *in != '_')
            out[j++] = (char)(*in | 0x20);
    out[j] = '\0';
}

static void parse_optimizer(const char *arg, nn_optim_config *cfg)
{
    char key[64];

    squash(arg, key, sizeof key);
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

static void parse_init(const char *arg, nn_init *init)
{
    char key[64];

    squash(arg, key, sizeof key);
    if (strcmp(key, "glorotnormal") == 0)
        *init = NN_INIT_GLOROT_NORMAL;
    else if (strcmp(key, "glorotuniform") == 0)
        *init = NN_INIT_GLOROT_UNIFORM;
    else if (strcmp(key, "kaiming") == 0)
        *init = NN_INIT_KAIMING;
    else
        nn_usage_error("invalid initialiser '%s': expected glorot-normal, "
                       "glorot-uniform or kaiming", arg);
}

static enum check_mode parse_mode(const char *name, const char *arg)
{
    if (strcmp(arg, "exception") == 0)
        return CHECK_EXCEPTION;
    if (strcmp(arg, "warning") == 0)
        return CHECK_WARNING;
    if (strcmp(arg, "off") == 0)
        return CHECK_OFF;
    nn_usage_error("invalid value '%s' for %s: expected exception, warning "
                   "or off", arg, name);
}

static void parse_track(const char *arg, options *opt)
{
    const char *comma = strchr(arg, ',');
    track *t;

    if (!comma || comma == arg || (size_t)(comma - arg) >= sizeof t->name)
        nn_usage_error("invalid value '%s' for --track-layer: expected "
                       "NAME,UNITS", arg);
    /* A repeated name keeps its last unit count, as in the original. */
    for (t = opt->tracks; t < opt->tracks + opt->n_tracks; t++)
        if (strncmp(t->name, arg, comma - arg) == 0 &&
            t->name[comma - arg] == '\0')
            break;
    if (t == opt->tracks + opt->n_tracks) {
        if (opt->n_tracks == MAX_TRACKS)
            nn_usage_error("--track-layer: at most %d parameters", MAX_TRACKS);
        opt->n_tracks++;
    }
    snprintf(t->name, sizeof t->name, "%.*s", (int)(comma - arg), arg);
    t->units = (int)nn_cli_int("--track-layer", comma + 1, 1, 1 << 20);
}

enum {
    OPT_DECAY = NN_OPT_TOOL, OPT_SEED, OPT_THREADS, OPT_BN, OPT_INIT,
    OPT_DROPOUT, OPT_PRECISION, OPT_WEIGHT_DECAY, OPT_TEST, OPT_PATIENCE,
    OPT_STOP_EARLY, OPT_GRAD, OPT_GRAD_EVERY, OPT_GRAD_SAMPLES,
    OPT_GRAD_THRESHOLD, OPT_INSTABILITY, OPT_CHECKPOINT, OPT_RESUME,
    OPT_TRACK, OPT_PROFILE, OPT_ID
};

static const struct option longopts[] = {
    {"model", required_argument, NULL, 'm'},
    {"layers", required_argument, NULL, 'l'},
    {"activation", required_argument, NULL, 'a'},
    {"init", required_argument, NULL, OPT_INIT},
    {"dropout-rate", required_argument, NULL, OPT_DROPOUT},
    {"bn-inference", required_argument, NULL, OPT_BN},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"model-seed", required_argument, NULL, OPT_SEED},
    {"optimizer", required_argument, NULL, 'o'},
    {"learning-rate", required_argument, NULL, 'r'},
    {"decay", required_argument, NULL, OPT_DECAY},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"dev", required_argument, NULL, 'd'},
    {"test", required_argument, NULL, OPT_TEST},
    {"early-stopping-patience", required_argument, NULL, OPT_PATIENCE},
    {"stop-early", no_argument, NULL, OPT_STOP_EARLY},
    {"gradient-checks", required_argument, NULL, OPT_GRAD},
    {"gradient-checks-every", required_argument, NULL, OPT_GRAD_EVERY},
    {"gradient-checks-samples", required_argument, NULL, OPT_GRAD_SAMPLES},
    {"gradient-checks-threshold", required_argument, NULL,
     OPT_GRAD_THRESHOLD},
    {"instability-checks", required_argument, NULL, OPT_INSTABILITY},
    {"save", required_argument, NULL, 's'},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"track-layer", required_argument, NULL, OPT_TRACK},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"id", required_argument, NULL, OPT_ID},
    {"threads", required_argument, NULL, OPT_THREADS},
    NN_CLI_COMMON_LONG,
    {NULL, 0, NULL, 0}
};

/* Options of the model itself; returns 0 when c is not one of them. */
static int parse_model_option(int c, options *opt)
{
    nn_model_config *m = &opt->model;

    switch (c) {
    case 'm':
        if (nn_arch_parse(optarg, &m->arch) < 0)
            nn_usage_error("invalid model '%s': expected one-layer or "
                           "n-layers", optarg);
        return 1;
    case 'l':
        m->n_hidden = nn_cli_sizes("--layers", optarg, m->hidden,
                                   NN_MAX_HIDDEN);
        return 1;
    case 'a':
        if (nn_activation_parse(optarg, &m->activation) < 0)
            nn_usage_error("invalid activation '%s': expected leaky-relu, "
                           "relu, tanh or sigmoid", optarg);
        return 1;
    case OPT_INIT:
        parse_init(optarg, &m->init);
        return 1;
    case OPT_DROPOUT:
        m->dropout = nn_cli_double("--dropout-rate", optarg, 0, 0.999999);
        return 1;
    case OPT_BN:
        if (strcmp(optarg, "running") == 0)
            m->bn_mode = NN_BN_RUNNING;
        else if (strcmp(optarg, "batch") == 0)
            m->bn_mode = NN_BN_BATCH;
        else
            nn_usage_error("invalid value '%s' for --bn-inference: "
                           "expected running or batch", optarg);
        return 1;
    case OPT_PRECISION:
        if (strcmp(optarg, "64") == 0)
            m->dtype = NN_F64;
        else if (strcmp(optarg, "32") == 0)
            m->dtype = NN_F32;
        else
            nn_usage_error("invalid value '%s' for --precision: expected 64 "
                           "or 32", optarg);
        return 1;
    case OPT_SEED:
        m->seed = (uint64_t)nn_cli_int("--model-seed", optarg, 0, INT64_MAX);
        return 1;
    default:
        return 0;
    }
}

/* Options of optimisation and checks; returns 0 when c is not one. */
static int parse_training_option(int c, options *opt)
{
    switch (c) {
    case 'o':
        parse_optimizer(optarg, &opt->optim);
        return 1;
    case 'r':
        opt->optim.learning_rate = nn_cli_double("--learning-rate", optarg,
                                                 1e-12, 1e6);
        return 1;
    case OPT_DECAY:
        opt->optim.decay = nn_cli_double("--decay", optarg, 0, 1e6);
        return 1;
    case OPT_WEIGHT_DECAY:
        opt->weight_decay = nn_cli_double("--weight-decay", optarg, 0, 1e6);
        return 1;
    case OPT_PATIENCE:
        opt->patience = (int)nn_cli_int("--early-stopping-patience", optarg,
                                        0, 1000000);
        return 1;
    case OPT_STOP_EARLY:
        opt->stop_early = 1;
        return 1;
    case OPT_GRAD:
        opt->grad_mode = parse_mode("--gradient-checks", optarg);
        return 1;
    case OPT_GRAD_EVERY:
        opt->grad_every = (int)nn_cli_int("--gradient-checks-every", optarg,
                                          1, 1000000);
        return 1;
    case OPT_GRAD_SAMPLES:
        opt->grad_samples = (int)nn_cli_int("--gradient-checks-samples",
                                            optarg, 1, 1000000);
        return 1;
    case OPT_GRAD_THRESHOLD:
        opt->grad_threshold = nn_cli_double("--gradient-checks-threshold",
                                            optarg, 0, 1);
        return 1;
    case OPT_INSTABILITY:
        opt->instability_mode = parse_mode("--instability-checks", optarg);
        return 1;
    default:
        return 0;
    }
}

/*
 * Outputs must be writable, distinct from each other and from the
 * inputs, so a run can neither fail at its end nor overwrite its data.
 * (--checkpoint and --resume may name one file: that is how a run
 * continues.)
 */
static void check_outputs(const options *opt)
{
    const char *outs[][2] = {{"--save", opt->save_path},
                             {"--checkpoint", opt->checkpoint_path},
                             {"--profile", opt->profile_path}};
    const char *ins[][2] = {{"--dev", opt->dev_path},
                            {"--test", opt->test_path}};

    for (int i = 0; i < 3; i++) {
        if (!outs[i][1])
            continue;
        nn_io_check_output(outs[i][0], outs[i][1]);
        for (int j = 0; j < 3; j++)
            if (j != i && outs[j][1] && strcmp(outs[i][1], outs[j][1]) == 0)
                nn_usage_error("%s and %s name the same file '%s'",
                               outs[i][0], outs[j][0], outs[i][1]);
        for (int j = 0; j < 2; j++)
            if (ins[j][1] && strcmp(outs[i][1], ins[j][1]) == 0)
                nn_usage_error("%s would overwrite the %s file '%s'",
                               outs[i][0], ins[j][0], outs[i][1]);
    }
}

static void parse_args(int argc, char **argv, options *opt)
{
    int c;

    memset(opt, 0, sizeof *opt);
    nn_model_config_default(&opt->model);
    nn_optim_config_default(&opt->optim);
    opt->model.arch = NN_ARCH_N_LAYERS;
    opt->model.n_hidden = 1;
    opt->model.hidden[0] = 100;
    opt->model.bn_mode = NN_BN_RUNNING;
    /* The test suite runs twice, once with NN_PRECISION=32. */
    const char *bits = getenv("NN_PRECISION");
    if (bits && strcmp(bits, "32") == 0)
        opt->model.dtype = NN_F32;
    opt->grad_every = 25;
    opt->grad_samples = 2;
    opt->patience = 10;
    while ((c = getopt_long(argc, argv, ":m:l:a:o:r:d:s:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        if (parse_model_option(c, opt) || parse_training_option(c, opt))
            continue;
        switch (c) {
        case 'd': opt->dev_path = optarg; break;
        case OPT_TEST: opt->test_path = optarg; break;
        case 's': opt->save_path = optarg; break;
        case OPT_CHECKPOINT: opt->checkpoint_path = optarg; break;
        case OPT_RESUME: opt->resume_path = optarg; break;
        case OPT_PROFILE: opt->profile_path = optarg; break;
        case OPT_ID: opt->id = optarg; break;
        case OPT_TRACK: parse_track(optarg, opt); break;
        case OPT_THREADS:
            opt->threads = (int)nn_cli_int("--threads", optarg, 1, 1024);
            break;
        default:
            nn_cli_common(c);
        }
    }
    if (opt->model.arch == NN_ARCH_ONE_LAYER) {
        opt->model.n_hidden = 0;
        if (opt->model.dropout > 0)
            nn_log_warn("--dropout-rate applies to n-layers only; "
                        "one-layer has no dropout");
    }
    if (opt->grad_threshold == 0)
        opt->grad_threshold = opt->model.dtype == NN_F64 ? 1e-5 : 0.2;
    if (opt->stop_early && !opt->dev_path)
        nn_usage_error("--stop-early needs --dev: early stopping watches "
                       "the dev cost");
    check_outputs(opt);
}

static const char *const init_names[] = {
    [NN_INIT_GLOROT_NORMAL] = "glorot-normal",
    [NN_INIT_GLOROT_UNIFORM] = "glorot-uniform",
    [NN_INIT_KAIMING] = "kaiming"};
static const char *const optimizer_names[] = {
    [NN_OPT_ADAM] = "adam", [NN_OPT_CONSTANT] = "constant",
    [NN_OPT_EXP_DECAY] = "exponential-decay"};

/* The options that change the trained weights, as one line. */
static void describe_settings(const options *o, char *buf, size_t len)
{
    int n = snprintf(buf, len, "model=%s hidden=", nn_arch_name(o->model.arch));

    for (int i = 0; i < o->model.n_hidden && n < (int)len; i++)
        n += snprintf(buf + n, len - n, "%s%d", i ? "," : "",
                      o->model.hidden[i]);
    if (n < (int)len)
        snprintf(buf + n, len - n, " activation=%s init=%s dropout=%g "
                 "bn=%s precision=%d seed=%llu optimizer=%s "
                 "learning_rate=%.17g decay=%g weight_decay=%.17g "
                 "patience=%d stop_early=%d",
                 nn_activation_name(o->model.activation),
                 init_names[o->model.init], o->model.dropout,
                 o->model.bn_mode == NN_BN_RUNNING ? "running" : "batch",
                 o->model.dtype == NN_F64 ? 64 : 32,
                 (unsigned long long)o->model.seed,
                 optimizer_names[o->optim.kind], o->optim.learning_rate,
                 o->optim.decay, o->weight_decay, o->patience,
                 o->stop_early);
}

/* ---- data ------------------------------------------------------------- */

/* Read labelled samples into memory; they must all have one shape. */
static void load_samples(const char *path, const nn_header *classes,
                         sample_set *set)
{
    nn_reader r;
    size_t cap = 0;

    memset(set, 0, sizeof *set);
    set->path = path;
    if (nn_reader_open(&r, path) < 0)
        nn_die(errno, "cannot open '%s'", path);
    while (nn_reader_next_or_die(&r) > 0) {
        nn_sample s;
        if (r.index == 1) {
            if (!nn_header_same_classes(&r.header, classes))
                nn_reader_die(&r, "its classes are not the training "
                              "stream's");
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
        nn_die(0, "'%s': no sample records: the partition is empty (a "
               "class needs at least 4 images to give one dev sample)",
               path);
}

/* Largest number of samples evaluated in one forward pass. */
#define EVAL_CHUNK 1024

/*
 * Evaluate the model on set in inference mode; cost includes the L2
 * term of the training objective.  With running BatchNorm statistics
 * each sample is independent, so the set goes through in chunks; with
 * batch statistics it must go through whole.
 */
static void evaluate(run *run, const sample_set *set, double *cost,
                     double *accuracy)
{
    nn_model *model = run->model;
    int C = run->header.n_classes;
    int chunk = run->opt.model.bn_mode == NN_BN_BATCH ? set->n
                : (set->n < EVAL_CHUNK ? set->n : EVAL_CHUNK);
    double cost_sum = 0;
    long correct = 0;

    /* Profiles time training; evaluation passes would blur them. */
    nn_model_set_profiling(model, 0);
    memset(run->confusion, 0, sizeof *run->confusion * C * C);
    for (int start = 0; start < set->n; start += chunk) {
        int m = set->n - start < chunk ? set->n - start : chunk;
        int n_correct;
        nn_tensor_convert(run->eval_buf, run->opt.model.dtype,
                          set->pixels + (size_t)start * set->n_inputs,
                          NN_U8, (size_t)m * set->n_inputs, 1.0 / 255.0);
        if (!nn_model_forward(model, run->eval_buf, m, NN_MODE_INFER))
            nn_die(ENOMEM, "cannot evaluate %d samples", m);
        cost_sum += nn_model_loss(model, set->labels + start, m, &n_correct,
                                  run->eval_pred) * m;
        correct += n_correct;
        for (int i = 0; i < m; i++)
            run->confusion[set->labels[start + i] * C + run->eval_pred[i]]++;
    }
    nn_model_set_profiling(model, run->profile != NULL);
    *cost = cost_sum / set->n;
    if (run->opt.weight_decay > 0)
        *cost += run->opt.weight_decay / (2.0 * run->st.nominal_batch) *
                 nn_model_l2(model);
    *accuracy = (double)correct / set->n;
}

/* ---- metrics records -------------------------------------------------- */

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

/* Start a metrics record of n fields besides type and scope. */
static msgpack_packer *begin_metrics(run *run, const char *scope, int n)
{
    msgpack_packer *pk = &run->out->pk;

    msgpack_pack_map(pk, n + 2);
    nn_pack_str(pk, "type");
    nn_pack_str(pk, "metrics");
    nn_pack_str(pk, "scope");
    nn_pack_str(pk, scope);
    return pk;
}

static void pack_confusion(msgpack_packer *pk, const run *run)
{
    int C = run->header.n_classes;

    msgpack_pack_array(pk, C);
    for (int i = 0; i < C; i++) {
        msgpack_pack_array(pk, C);
        for (int j = 0; j < C; j++)
            msgpack_pack_int64(pk, run->confusion[i * C + j]);
    }
}

/*
 * Record rows floor(i * rows / units) of each tracked parameter, the
 * original's choice of evenly spread units.
 */
static void emit_tracks(run *run)
{
    size_t elem = nn_dtype_size(run->opt.model.dtype);

    for (int t = 0; t < run->opt.n_tracks; t++) {
        const track *tr = &run->opt.tracks[t];
        nn_param *p = nn_model_find(run->model, tr->name);
        int64_t rows[1024];
        int n = 0;
        for (int i = 0; i < tr->units && n < 1024; i++) {
            int64_t r = (int64_t)i * p->rows / tr->units;
            if (n == 0 || rows[n - 1] != r)
                rows[n++] = r;
        }
        msgpack_packer *pk = begin_metrics(run, "track", 6);
        pack_kv_int(pk, "epoch", run->st.epoch);
        nn_pack_str(pk, "name");
        nn_pack_str(pk, tr->name);
        nn_pack_str(pk, "rows");
        msgpack_pack_array(pk, n);
        for (int i = 0; i < n; i++)
            msgpack_pack_int64(pk, rows[i]);
        nn_pack_str(pk, "dtype");
        nn_pack_str(pk, nn_dtype_name(run->opt.model.dtype));
        nn_pack_str(pk, "shape");
        msgpack_pack_array(pk, 2);
        msgpack_pack_int(pk, n);
        msgpack_pack_int64(pk, p->cols);
        nn_pack_str(pk, "data");
        msgpack_pack_bin(pk, (size_t)n * p->cols * elem);
        for (int i = 0; i < n; i++)
            msgpack_pack_bin_body(pk, (char *)p->value +
                                  (size_t)rows[i] * p->cols * elem,
                                  p->cols * elem);
        nn_writer_flush(run->out);
    }
}

/* ---- checks ----------------------------------------------------------- */

static void report_check(enum check_mode mode, const char *fmt, ...)
    NN_PRINTF(2, 3);

static void report_check(enum check_mode mode, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (mode == CHECK_EXCEPTION)
        nn_die(0, "%s", msg);
    nn_log_warn("%s", msg);
}

static void check_instability(run *run, const char *when)
{
    const char *where;

    if (run->opt.instability_mode == CHECK_OFF)
        return;
    if (nn_model_check_finite(run->model, &where) < 0)
        report_check(run->opt.instability_mode, "numerical instability at "
                     "epoch %lld %s: %s is NaN or infinite",
                     (long long)run->st.epoch, when, where);
}

static void check_gradients(run *run, int m)
{
    nn_gradcheck_result res;
    double eps = run->opt.model.dtype == NN_F64 ? 1e-6 : 5e-4;

    if (nn_gradcheck(run->model, run->x, run->labels, m,
                     run->opt.weight_decay, run->opt.grad_samples, eps,
                     &run->st.check_rng, &res) < 0)
        nn_die(ENOMEM, "gradient check failed to run");
    msgpack_packer *pk = begin_metrics(run, "gradient_check", 5);
    pack_kv_int(pk, "epoch", run->st.epoch);
    pack_kv_int(pk, "step", run->st.step);
    pack_kv_int(pk, "entries", res.n_checked);
    pack_kv_double(pk, "distance", res.distance);
    nn_pack_str(pk, "worst");
    nn_pack_str(pk, res.worst);
    nn_writer_flush(run->out);
    nn_log_debug("gradient check: epoch=%lld step=%lld entries=%d "
                 "distance=%.3g worst=%s", (long long)run->st.epoch,
                 (long long)run->st.step, res.n_checked, res.distance,
                 res.worst);
    if (!(res.distance <= run->opt.grad_threshold))
        report_check(run->opt.grad_mode, "gradient check failed at epoch "
                     "%lld, step %lld: relative distance %.3g is above %g "
                     "(worst tensor %s: %.3g)", (long long)run->st.epoch,
                     (long long)run->st.step, res.distance,
                     run->opt.grad_threshold, res.worst, res.worst_distance);
}

/* ---- model ------------------------------------------------------------ */

static void copy_weights(nn_model *dst, nn_model *src)
{
    size_t elem = nn_dtype_size(nn_model_get_config(src)->dtype);

    for (size_t i = 0; i < nn_model_n_params(src); i++)
        memcpy(nn_model_param(dst, i)->value, nn_model_param(src, i)->value,
               nn_model_param(src, i)->size * elem);
    for (size_t i = 0; i < nn_model_n_buffers(src); i++)
        memcpy(nn_model_buffer(dst, i)->value, nn_model_buffer(src, i)->value,
               nn_model_buffer(src, i)->size * elem);
}

/* Exit with 2 when a --track-layer name is not a parameter. */
static void check_tracks(run *run)
{
    for (int t = 0; t < run->opt.n_tracks; t++) {
        if (nn_model_find(run->model, run->opt.tracks[t].name))
            continue;
        char names[2048];
        int n = 0;
        for (size_t i = 0; i < nn_model_n_params(run->model) &&
                           n < (int)sizeof names; i++)
            n += snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
                          nn_model_param(run->model, i)->name);
        nn_usage_error("unknown parameter '%s' for --track-layer; known "
                       "names: %s", run->opt.tracks[t].name, names);
    }
}

static void resume(run *run)
{
    char err[300];
    int64_t shape[3];

    if (nn_checkpoint_peek(run->opt.resume_path, shape, err, sizeof err) < 0)
        nn_die(0, "cannot resume from '%s': %s", run->opt.resume_path, err);
    if (memcmp(shape, run->input_shape, sizeof shape) != 0)
        nn_die(0, "cannot resume from '%s': it was trained on %lldx%lldx%lld "
               "samples, the input has %lldx%lldx%lld",
               run->opt.resume_path, (long long)shape[0], (long long)shape[1],
               (long long)shape[2], (long long)run->input_shape[0],
               (long long)run->input_shape[1],
               (long long)run->input_shape[2]);
    if (nn_checkpoint_load(run->opt.resume_path, run->settings, run->model,
                           run->optim, shape, &run->st, run->best, err,
                           sizeof err) < 0)
        nn_die(0, "cannot resume from '%s': %s", run->opt.resume_path, err);
    run->resumed = 1;
    nn_log_info("resuming at epoch=%lld batch=%lld from %s",
                (long long)run->st.epoch, (long long)run->st.batches_done,
                run->opt.resume_path);
}

static void build_model(run *run, const nn_reader *r, const nn_tensor *t)
{
    options *opt = &run->opt;
    size_t elem = nn_dtype_size(opt->model.dtype);
    int eval_n = EVAL_CHUNK;

    for (int i = 0; i < 3; i++)
        run->input_shape[i] = t->shape[i + 1];
    run->n_inputs = (int)(t->n_bytes / nn_dtype_size(t->dtype) / t->shape[0]);
    opt->model.n_inputs = run->n_inputs;
    opt->model.n_classes = run->header.n_classes;
    if (run->header.n_classes < 2)
        nn_reader_die(r, "the stream has %d class; a classifier needs at "
                      "least 2", run->header.n_classes);
    run->model = nn_model_create(&opt->model);
    if (!run->model)
        nn_reader_die(r, "cannot build a network for %d inputs and %d "
                      "classes: out of memory for its %s layers",
                      run->n_inputs, run->header.n_classes,
                      opt->model.arch == NN_ARCH_ONE_LAYER ? "one-layer"
                      : "hidden");
    if (opt->stop_early && !(run->best = nn_model_create(&opt->model)))
        nn_die(ENOMEM, "cannot hold the best weights");
    run->optim = nn_optim_create(&opt->optim, run->model);
    if (!run->optim)
        nn_die(ENOMEM, "cannot create the optimizer");
    check_tracks(run);
    for (sample_set *s = &run->dev; s <= &run->test; s++) {
        if (s->n && memcmp(s->shape, run->input_shape, sizeof s->shape))
            nn_die(0, "'%s': samples have shape [%lld,%lld,%lld], the "
                   "training batches [%lld,%lld,%lld]", s->path,
                   (long long)s->shape[0], (long long)s->shape[1],
                   (long long)s->shape[2], (long long)run->input_shape[0],
                   (long long)run->input_shape[1],
                   (long long)run->input_shape[2]);
        if (opt->model.bn_mode == NN_BN_BATCH && s->n > eval_n)
            eval_n = s->n;
    }
    if (run->dev.n || run->test.n) {
        run->eval_buf = malloc((size_t)eval_n * run->n_inputs * elem);
        run->eval_pred = malloc(eval_n * sizeof *run->eval_pred);
        if (!run->eval_buf || !run->eval_pred)
            nn_die(ENOMEM, "cannot allocate the evaluation buffers");
    }

    run->st.best_dev_cost = INFINITY;
    run->st.best_epoch = -1;
    run->st.early_stop_epoch = -1;
    nn_rng_seed(&run->st.check_rng, opt->model.seed ^ 0x9e3779b97f4a7c15u);
    if (opt->resume_path)
        resume(run);
    if (opt->profile_path)
        nn_model_set_profiling(run->model, 1);
    nn_log_info("inputs=%d classes=%d parameters=%zu threads=%d %s",
                run->n_inputs, run->header.n_classes,
                nn_model_n_scalars(run->model), openblas_get_num_threads(),
                run->settings);
}

/* ---- training --------------------------------------------------------- */

static void write_checkpoint(run *run)
{
    nn_train_state st = run->st;

    st.seconds += now_s() - run->start_s;
    if (nn_checkpoint_save(run->opt.checkpoint_path, &run->header,
                           run->model, run->optim, run->input_shape,
                           run->settings, &st, run->best) < 0)
        nn_die(errno, "cannot write the checkpoint '%s'",
               run->opt.checkpoint_path);
}

/*
 * Check a batch record, build the model on the first one, and copy its
 * labels.  Returns the number of samples; *t and *scale describe the
 * pixels, still in the record.
 */
static int check_batch(run *run, const nn_reader *r, nn_tensor *t,
                       double *scale)
{
    const msgpack_object *labels = nn_map_get(r->obj, "labels");
    char err[160];

    if (nn_field_tensor(r->obj, t, err, sizeof err) < 0)
        nn_reader_die(r, "batch: %s", err);
    if (t->n_dims != 4)
        nn_reader_die(r, "batch: expected shape [m, height, width, "
                      "channels], got %d dims", t->n_dims);
    if (t->dtype != NN_F32 && t->dtype != NN_F64 && t->dtype != NN_U8)
        nn_reader_die(r, "batch: unsupported dtype %s",
                      nn_dtype_name(t->dtype));
    if (!run->model)
        build_model(run, r, t);
    else if (memcmp(&t->shape[1], run->input_shape, sizeof run->input_shape))
        nn_reader_die(r, "batch: sample shape [%lld,%lld,%lld] differs from "
                      "the first batch's [%lld,%lld,%lld]",
                      (long long)t->shape[1], (long long)t->shape[2],
                      (long long)t->shape[3], (long long)run->input_shape[0],
                      (long long)run->input_shape[1],
                      (long long)run->input_shape[2]);
    int m = (int)t->shape[0];
    if (m > run->labels_cap) {
        free(run->labels);
        run->labels = malloc(m * sizeof *run->labels);
        if (!run->labels)
            nn_die(ENOMEM, "cannot hold the labels of %d samples", m);
        run->labels_cap = m;
    }
    for (int i = 0; i < m; i++)
        run->labels[i] = (int)labels->via.array.ptr[i].via.u64;
    *scale = 1.0 / 255.0;
    if (t->dtype == NN_U8 && nn_map_get(r->obj, "scale") &&
        nn_field_double(r->obj, "scale", scale, err, sizeof err) < 0)
        nn_reader_die(r, "batch: %s", err);
    if (!(*scale > 0 && isfinite(*scale)))
        nn_reader_die(r, "batch: scale %g is not a positive finite number",
                      *scale);
    return m;
}

/*
 * Batches of at least this many bytes are converted in place.  The
 * reader copies the bytes it read past the record (up to 64 KiB for
 * records this large) when nn-train borrows its buffer, and again when
 * nn-train gives it back.  For small batches that copying would cost
 * more than the memory it saves is worth.
 */
#define IN_PLACE_MIN_BYTES (4u << 20)

/*
 * Make run->x hold the batch's m samples in the model dtype.  Large
 * batches are converted in place inside the reader's buffer, which
 * nn-train borrows until give_back_batch.  Otherwise the batch would
 * sit in memory twice, as the record and as the model's floats: a u8
 * record adds a quarter (32-bit) or an eighth (64-bit) to the peak, an
 * f32 record in 32-bit doubles it.  The record's fields are unreadable
 * afterwards.
 */
static void convert_batch(run *run, nn_reader *r, const nn_tensor *t, int m,
                          double scale)
{
    nn_dtype dtype = run->opt.model.dtype;
    size_t n = (size_t)m * run->n_inputs;
    size_t bytes = n * nn_dtype_size(dtype);
    int rc;

    /* msgpack-c points bin objects into the buffer it unpacked */
    const char *data = t->data;
    int inside = data >= r->buf && data + t->n_bytes <= r->buf + r->len;
    size_t offset = inside ? (size_t)(data - r->buf) : 0;
    size_t need = offset + t->n_bytes > bytes ? offset + t->n_bytes : bytes;
    /* Smaller batches go in place too when a large one has left the
     * reader a buffer with room for their floats, because a buffer of
     * their own would come on top of it. */
    int big_buffer = r->cap >= IN_PLACE_MIN_BYTES && r->cap >= need;
    if (inside && (t->n_bytes >= IN_PLACE_MIN_BYTES || big_buffer)) {
        size_t cap;
        char *buf = nn_reader_take_buffer(r, &cap);

        if (!buf)
            nn_die(ENOMEM, "cannot hold a batch of %d samples", m);
        if (cap < need) {
            char *grown = realloc(buf, need);
            if (!grown)
                nn_die(ENOMEM, "cannot hold a batch of %d samples", m);
            buf = grown;
            cap = need;
        }
        free(run->x);
        run->x = buf;
        run->x_cap = cap;
        run->x_borrowed = 1;
        rc = nn_tensor_convert_in_place(buf, dtype, offset, t->dtype, n,
                                        scale);
        if (rc == -2)
            nn_die(ENOMEM, "cannot convert a batch of %d samples", m);
    } else {
        if (bytes > run->x_cap) {
            free(run->x);
            run->x = malloc(bytes);
            if (!run->x)
                nn_die(ENOMEM, "cannot hold a batch of %d samples", m);
            run->x_cap = bytes;
        }
        rc = nn_tensor_convert(run->x, dtype, t->data, t->dtype, n, scale);
    }
    /* no network can learn from NaN or infinite inputs */
    if (rc < 0)
        nn_reader_die(r, "batch: NaN or infinity in the input data");
}

/* Return a borrowed batch buffer to the reader for the next record. */
static void give_back_batch(run *run, nn_reader *r)
{
    if (!run->x_borrowed)
        return;
    nn_reader_give_buffer(r, run->x, run->x_cap);
    run->x = NULL;
    run->x_cap = 0;
    run->x_borrowed = 0;
}

/* While resuming: is this batch one the checkpoint already trained? */
static int already_trained(run *run, const nn_reader *r)
{
    int64_t epoch = run->st.epoch, index = 0;
    char err[160];

    if (!run->resumed)
        return 0;
    nn_field_int(r->obj, "epoch", &epoch, err, sizeof err);
    nn_field_int(r->obj, "index", &index, err, sizeof err);
    if (epoch < run->st.epoch ||
        (epoch == run->st.epoch && index < run->st.batches_done))
        return 1;
    run->resumed = 0;
    return 0;
}

/* One minibatch: forward, loss, backward, checks, optimizer step. */
static void train_batch(run *run, nn_reader *r)
{
    nn_train_state *st = &run->st;
    double lambda = run->opt.weight_decay;
    nn_tensor t;
    double scale;
    int n_correct;

    if (run->model && already_trained(run, r))
        return;
    int m = check_batch(run, r, &t, &scale);
    if (already_trained(run, r))
        return;
    convert_batch(run, r, &t, m, scale);

    if (!nn_model_forward(run->model, run->x, m, NN_MODE_TRAIN))
        nn_die(ENOMEM, "cannot run a batch of %d samples", m);
    double cost = nn_model_loss(run->model, run->labels, m, &n_correct, NULL);
    if (lambda > 0)
        cost += lambda / (2.0 * m) * nn_model_l2(run->model);
    nn_model_backward(run->model, run->labels);
    if (lambda > 0)
        nn_model_add_weight_decay(run->model, lambda, m);
    if (run->opt.grad_mode != CHECK_OFF &&
        st->epoch % run->opt.grad_every == 0)
        check_gradients(run, m);
    double t0 = now_s();
    nn_optim_step(run->optim, run->model, (int)st->epoch);
    run->update_s += now_s() - t0;
    check_instability(run, "after an update");

    if (m > st->nominal_batch)
        st->nominal_batch = m;
    st->cost_sum += cost * m;
    st->correct += n_correct;
    st->samples += m;
    msgpack_packer *pk = begin_metrics(run, "minibatch", 6);
    pack_kv_int(pk, "epoch", st->epoch);
    pack_kv_int(pk, "step", st->step);
    pack_kv_int(pk, "index", st->batches_done);
    pack_kv_int(pk, "samples", m);
    pack_kv_double(pk, "cost", cost);
    pack_kv_double(pk, "accuracy", (double)n_correct / m);
    nn_writer_flush(run->out);
    give_back_batch(run, r);
    st->step++;
    st->batches_done++;
}

/*
 * Update early stopping with this epoch's dev cost.  After patience
 * epochs without a new lowest cost, the epoch is marked.  With
 * --stop-early, the weights of the lowest cost come back and training
 * stops.  Equal or NaN costs do not count as improvements.
 */
static void update_early_stopping(run *run, double cost, double acc,
                                  double dev_cost, double dev_acc)
{
    nn_train_state *st = &run->st;

    if (st->early_stop_epoch >= 0)
        return;
    if (dev_cost < st->best_dev_cost) {
        st->best_dev_cost = dev_cost;
        st->best_epoch = st->epoch;
        st->best_cost = cost;
        st->best_accuracy = acc;
        st->best_dev_accuracy = dev_acc;
        st->bad_epochs = 0;
        if (run->best)
            copy_weights(run->best, run->model);
    } else {
        st->bad_epochs++;
    }
    if (st->bad_epochs < run->opt.patience)
        return;
    st->early_stop_epoch = st->epoch;
    msgpack_packer *pk = begin_metrics(run, "early_stop", 2);
    pack_kv_int(pk, "epoch", st->epoch);
    pack_kv_double(pk, "best_dev_cost", st->best_dev_cost);
    nn_writer_flush(run->out);
    nn_log_info("early stopping: no lower dev cost for %d epochs at "
                "epoch=%lld%s", run->opt.patience, (long long)st->epoch,
                run->best ? "; keeping the best weights and stopping" : "");
    if (run->best) {
        /* The saved model is the best epoch's.  The record names that
         * epoch and its figures, so summaries describe the kept weights. */
        copy_weights(run->model, run->best);
        run->stopped = 1;
        pk = begin_metrics(run, "restored", 5);
        pack_kv_int(pk, "epoch", st->best_epoch);
        pack_kv_double(pk, "cost", st->best_cost);
        pack_kv_double(pk, "accuracy", st->best_accuracy);
        pack_kv_double(pk, "dev_cost", st->best_dev_cost);
        pack_kv_double(pk, "dev_accuracy", st->best_dev_accuracy);
        nn_writer_flush(run->out);
    }
}

static void write_profile(run *run, double epoch_s)
{
    FILE *fp = run->profile;

    fprintf(fp, "epoch %lld: %.3f s, optimizer updates %.3f ms\n",
            (long long)run->st.epoch, epoch_s, run->update_s * 1e3);
    fprintf(fp, "  %-28s %12s %12s\n", "layer", "forward_ms", "backward_ms");
    for (size_t i = 0; i < nn_model_n_layers(run->model); i++) {
        double f, b;
        nn_model_layer_times(run->model, i, &f, &b);
        fprintf(fp, "  %-28s %12.3f %12.3f\n",
                nn_model_layer_name(run->model, i), f * 1e3, b * 1e3);
    }
    nn_model_reset_times(run->model);
}

static void end_epoch(run *run)
{
    nn_train_state *st = &run->st;
    double cost = st->cost_sum / st->samples;
    double acc = (double)st->correct / st->samples;
    double dev_cost = 0, dev_acc = 0, seconds = st->seconds +
                                                now_s() - run->start_s;
    static double last_epoch_end;

    if (run->dev.n) {
        evaluate(run, &run->dev, &dev_cost, &dev_acc);
        check_instability(run, "in the dev evaluation");
        run->have_dev_result = 1;
    }
    msgpack_packer *pk = begin_metrics(run, "epoch", run->dev.n ? 10 : 6);
    pack_kv_int(pk, "epoch", st->epoch);
    pack_kv_int(pk, "samples", st->samples);
    pack_kv_int(pk, "parameters", (int64_t)nn_model_n_scalars(run->model));
    pack_kv_double(pk, "cost", cost);
    pack_kv_double(pk, "accuracy", acc);
    pack_kv_double(pk, "seconds", seconds);
    if (run->dev.n) {
        pack_kv_int(pk, "dev_samples", run->dev.n);
        pack_kv_double(pk, "dev_cost", dev_cost);
        pack_kv_double(pk, "dev_accuracy", dev_acc);
        nn_pack_str(pk, "dev_confusion");
        pack_confusion(pk, run);
        nn_log_info("epoch=%lld cost=%.6f accuracy=%.4f dev_cost=%.6f "
                    "dev_accuracy=%.4f", (long long)st->epoch, cost, acc,
                    dev_cost, dev_acc);
    } else {
        nn_log_info("epoch=%lld cost=%.6f accuracy=%.4f",
                    (long long)st->epoch, cost, acc);
    }
    nn_writer_flush(run->out);
    if (run->dev.n)
        update_early_stopping(run, cost, acc, dev_cost, dev_acc);
    emit_tracks(run);
    if (run->profile) {
        double t = now_s();
        write_profile(run, t - (last_epoch_end ? last_epoch_end
                                : run->start_s));
        last_epoch_end = t;
    }
    st->epoch++;
    st->batches_done = 0;
    st->cost_sum = 0;
    st->correct = st->samples = 0;
    run->update_s = 0;
    if (run->opt.checkpoint_path)
        write_checkpoint(run);
}

/* The confusion matrix as a table on stderr: rows are true classes. */
static void print_confusion(const run *run, const char *what)
{
    int C = run->header.n_classes;

    fprintf(stderr, "%s confusion matrix (rows: true class, columns: "
            "predicted class)\n%10s", what, "");
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

/* ---- main ------------------------------------------------------------- */

/* The training stream's header: load the evaluation sets, start output. */
static void start(run *run, const nn_header *header)
{
    int C = header->n_classes;

    run->started = 1;
    run->header = *header;
    if (run->opt.dev_path)
        load_samples(run->opt.dev_path, header, &run->dev);
    if (run->opt.test_path)
        load_samples(run->opt.test_path, header, &run->test);
    run->confusion = calloc((size_t)C * C, sizeof *run->confusion);
    if (!run->confusion)
        nn_die(ENOMEM, "cannot allocate the confusion matrix");
    nn_write_header(run->out, &(nn_header){
        .n_classes = C, .classes = header->classes, .source = "nn-train",
        .experiment = (char *)run->opt.id});
}

static void evaluate_test(run *run)
{
    double cost, acc;

    evaluate(run, &run->test, &cost, &acc);
    msgpack_packer *pk = begin_metrics(run, "test", 4);
    pack_kv_int(pk, "samples", run->test.n);
    pack_kv_double(pk, "cost", cost);
    pack_kv_double(pk, "accuracy", acc);
    nn_pack_str(pk, "confusion");
    pack_confusion(pk, run);
    nn_writer_flush(run->out);
    nn_log_info("test_cost=%.6f test_accuracy=%.4f samples=%d", cost, acc,
                run->test.n);
}

/* SIGINT: save what the run has learned and leave with 130. */
static void stop_on_interrupt(run *run)
{
    if (run->model && run->opt.checkpoint_path) {
        write_checkpoint(run);
        nn_log_warn("interrupted: checkpoint written to '%s'; continue with "
                    "--resume=%s", run->opt.checkpoint_path,
                    run->opt.checkpoint_path);
    } else {
        nn_log_warn("interrupted");
    }
    /* _exit after flushing: the metrics so far are kept, and leak
     * checkers do not report the run's state, which is still in use */
    fflush(stdout);
    _exit(128 + SIGINT);
}

static void finish(run *run)
{
    if (!run->model)
        nn_die(0, "no batch records in the input: nothing to train");
    if (run->have_dev_result && nn_log_get_level() <= NN_LOG_INFO)
        print_confusion(run, "dev");
    if (run->test.n)
        evaluate_test(run);
    if (run->opt.save_path &&
        nn_model_save(run->opt.save_path, &run->header, run->model,
                      run->input_shape) < 0)
        nn_die(errno, "cannot write the model to '%s'", run->opt.save_path);
}

/* Release what the run allocated, so leak checkers see a clean exit. */
static void free_run(run *run)
{
    nn_optim_free(run->optim);
    nn_model_free(run->model);
    nn_model_free(run->best);
    free(run->x);
    free(run->labels);
    free(run->eval_buf);
    free(run->eval_pred);
    free(run->confusion);
    for (sample_set *s = &run->dev; s <= &run->test; s++) {
        free(s->pixels);
        free(s->labels);
    }
}

int main(int argc, char **argv)
{
    run run = {0};
    nn_input in;
    nn_writer w;
    nn_atomic_file profile = {0};
    struct sigaction sa = {0};

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &run.opt);
    describe_settings(&run.opt, run.settings, sizeof run.settings);
    nn_io_refuse_terminal();
    if (run.opt.threads)
        openblas_set_num_threads(run.opt.threads);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    nn_record_set_stop(&interrupted);
    if (run.opt.profile_path) {
        if (nn_atomic_open(&profile, run.opt.profile_path) < 0)
            nn_die(errno, "cannot create '%s'", run.opt.profile_path);
        run.profile = profile.fp;
    }
    run.start_s = now_s();
    nn_input_init(&in, argv + optind, argc - optind);
    nn_writer_init(&w, stdout);
    run.out = &w;

    for (;;) {
        int got = nn_input_next(&in);
        if (interrupted || got < 0)
            stop_on_interrupt(&run);
        if (got == 0 || run.stopped)
            break;
        int64_t marker = 0;
        char err[160];
        switch (in.r.type) {
        case NN_REC_HEADER:
            /* A later header (streams joined by cat) lists the same
             * classes, as the reader checked, so the run goes on. */
            if (!run.started)
                start(&run, &in.header);
            break;
        case NN_REC_BATCH:
            train_batch(&run, &in.r);
            break;
        case NN_REC_EPOCH:
            nn_field_int(in.r.obj, "epoch", &marker, err, sizeof err);
            if (run.st.batches_done && !(run.resumed &&
                                         marker < run.st.epoch))
                end_epoch(&run);
            break;
        case NN_REC_SAMPLE:
            nn_reader_die(&in.r, "got a sample record: nn-train reads "
                          "batches; put nn-batch before it");
        default:
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
        }
        if (interrupted)
            stop_on_interrupt(&run);
    }
    if (run.st.batches_done && !run.stopped)
        end_epoch(&run);
    finish(&run);
    if (run.profile && nn_atomic_commit(&profile) < 0)
        nn_die(errno, "cannot write '%s'", run.opt.profile_path);
    nn_writer_free(&w);
    free_run(&run);
    nn_input_free(&in);         /* owns the header run.header copies */
    return 0;
}
