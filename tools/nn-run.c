/*
 * nn-run: experiments of the original Ruby tool, run as pipelines.
 * It takes the original's flags, builds the nn-load | nn-resize |
 * nn-shuffle | nn-batch | nn-train pipeline each experiment describes,
 * prints it, runs it, shows progress, and leaves everything in
 * runs/<id>/: pipeline.sh, dev.nn, metrics.nn, model.nn, summary.json.
 * After the last experiment it prints a table comparing them all.
 */
#define _GNU_SOURCE             /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_model.h"
#include "nn_pipeline.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-run [--FLAG=VALUE]... [--experiment [--FLAG=VALUE]...]...\n"
    "Train experiments through pipelines of nn-* programs, taking the flags\n"
    "of the original ruby-neural-nets tool.  Values follow '=' or come as\n"
    "the next argument; booleans also accept a bare --flag.  Each run goes\n"
    "to runs/<id>/, replacing an earlier run of the same id; a table of\n"
    "all runs is printed on standard output at the end.  In it, avoidable\n"
    "bias is 1 - training accuracy and variance is training minus dev\n"
    "accuracy, negative when the dev set does better.\n"
    "\n"
    "Experiments:\n"
    "  -e, --experiment          start another experiment; its flags start\n"
    "                            from the defaults again\n"
    "  --exp-id=ID               base of the run ids; repeats get _0, _1, ...\n"
    "                            [main]\n"
    "  --training-times=N        repeat with new initial weights (model seed\n"
    "                            plus the repeat number) [1]\n"
    "\n"
    "Data:\n"
    "  --dataset=NAME            folder under datasets/, or a path [colors]\n"
    "  --data-loader=NAME        only Numo, the original's default, exists\n"
    "  --loss=NAME               only CrossEntropy\n"
    "  --accuracy=NAME           only ClassesNumo\n"
    "  --dataset-seed=N          split and epoch shuffles [0]\n"
    "  --resize=W,H              resize images; they keep their own size\n"
    "                            when absent\n"
    "  --grayscale[=BOOL]        one luminance channel [false]\n"
    "  --max-minibatch-size=N    training batch size [5000]\n"
    "  --minmax-normalize[=BOOL] stretch each image to the full 0..255 range\n"
    "                            (exact min-max) [false]\n"
    "  --trim[=BOOL]             cut the uniform border, pad back to the\n"
    "                            aspect ratio [false]\n"
    "  --adaptive-invert[=BOOL]  invert images whose top-left pixel is dark\n"
    "                            [false]\n"
    "  --nbr-clones=K            training: each sample K times per epoch [1]\n"
    "  --rot-angle=A             training: rotate by a random angle in\n"
    "                            [-A, A] degrees [0]\n"
    "  --noise-intensity=S       training: Gaussian noise of standard\n"
    "                            deviation S (pixel range 0..1) [0]\n"
    "  --display-samples=N       save a grid of N training samples per epoch\n"
    "                            as runs/<id>/samples-epoch-E.png [0]\n"
    "  --dump-minibatches[=BOOL] save every training sample of every epoch\n"
    "                            under runs/<id>/minibatches/ [false]\n"
    "  --eval-dev[=BOOL]         evaluate dev after every epoch [true]\n"
    "  --eval-test[=BOOL]        evaluate test once at the end [false]\n"
    "\n";

/* The help text continues here: ISO C caps one string literal's size. */
static const char usage_training[] =
    "Model and training:\n"
    "  --model=NAME              OneLayer | NLayers [OneLayer]\n"
    "  --layers=LIST             hidden sizes of NLayers, comma-separated;\n"
    "                            empty for none [100]\n"
    "  --activation=NAME         LeakyReLU | ReLU | Tanh | Sigmoid [LeakyReLU]\n"
    "  --init=NAME               GlorotNormal | GlorotUniform | Kaiming\n"
    "                            [GlorotNormal]\n"
    "  --dropout-rate=P          [0]\n"
    "  --weight-decay=L          L2 coefficient, see nn-train --help [0]\n"
    "  --bn-inference=MODE       running | batch [running]\n"
    "  --precision=BITS          64 | 32 [NN_PRECISION, or 64]\n"
    "  --optimizer=NAME          Adam | Constant | ExponentialDecay [Adam]\n"
    "  --learning-rate=X         [0.001]\n"
    "  --decay=X                 ExponentialDecay's rate per epoch [0.9]\n"
    "  --nbr-epochs=N            [100]\n"
    "  --early-stopping-patience=N  mark the epoch after which dev cost has\n"
    "                            not improved for N epochs [10]\n"
    "  --stop-early[=BOOL]       stop there and keep the weights of the\n"
    "                            lowest dev cost; the summary then reports\n"
    "                            that epoch (restored_epoch) [false]\n"
    "  --gradient-checks=MODE    exception | warning | off [exception]\n"
    "  --gradient-checks-every=N epochs between checks [25]\n"
    "  --gradient-checks-samples=K  entries checked per tensor [2]\n"
    "  --track-layer=NAME,UNITS  record UNITS rows of a parameter every epoch\n"
    "                            (repeatable)\n"
    "  --profiling[=BOOL]        per-layer times in runs/<id>/profile.txt\n"
    "                            [false]\n"
    "\n"
    "Global (one value for all experiments):\n"
    "  --model-seed=N            initial weights and dropout [0]\n"
    "  --instability-checks=MODE exception | warning | off [exception]\n"
    "  --runs-dir=DIR            where run folders go [runs]\n"
    "  --threads=N               OpenBLAS threads of nn-train\n"
    "  --debug[=BOOL]            debug logs from every stage [false]\n"
    "\n"
    "The modes 'byebug' of the original mean 'exception' here.  A failing\n"
    "training stage makes nn-run exit with 1; failing to draw the charts\n"
    "or the page only warns.\n"
    "\n";

#define MAX_TRACKS 16
#define MAX_EXPERIMENTS 256

/* One experiment's flags; every --experiment starts from the defaults. */
typedef struct {
    const char *exp_id, *dataset, *model, *layers, *activation, *init;
    const char *optimizer, *learning_rate, *decay, *dropout, *weight_decay;
    const char *bn_inference, *precision, *grad_mode;
    const char *rot_angle, *noise;
    const char *tracks[MAX_TRACKS];
    int n_tracks;
    long epochs, batch_size, patience, grad_every, grad_samples;
    long training_times, clones, display_samples;
    long long dataset_seed;
    int width, height;          /* 0: keep */
    int grayscale, eval_dev, eval_test, stop_early, profiling;
    int minmax, trim, invert, dump_minibatches;
} experiment;

/* Flags that hold for the whole command. */
typedef struct {
    long long model_seed;
    const char *instability_mode, *runs_dir;
    long threads;
    int debug;
} globals;

/* What a finished run reports, for the summary and the table. */
typedef struct {
    char id[256];
    long long epoch, samples, parameters, early_stop_epoch;
    long long restored_epoch;   /* -1, or the epoch whose weights were kept */
    double cost, accuracy, dev_cost, dev_accuracy, seconds;
    double test_cost, test_accuracy;
    int has_dev, has_test;
    long *confusion;
    int n_classes;
    char **classes;
} result;

static const char *bin_dir;     /* folder of this executable */

/* SIGINT or SIGTERM: the run in progress is abandoned, not kept. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* DIR/FILE in a new string. */
static char *path_in(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *path = malloc(n);

    if (!path)
        nn_die(ENOMEM, "cannot build a path");
    snprintf(path, n, "%s/%s", dir, file);
    return path;
}

/* ---- options ---------------------------------------------------------- */

static void set_defaults(experiment *e)
{
    const char *bits = getenv("NN_PRECISION");

    *e = (experiment){
        .exp_id = "main", .dataset = "colors", .model = "OneLayer",
        .layers = "100", .activation = "LeakyReLU", .init = "GlorotNormal",
        .optimizer = "Adam", .learning_rate = "0.001", .decay = "0.9",
        .dropout = "0", .weight_decay = "0", .bn_inference = "running",
        .precision = bits && strcmp(bits, "32") == 0 ? "32" : "64",
        .grad_mode = "exception", .epochs = 100,
        .batch_size = 5000, .patience = 10, .grad_every = 25,
        .grad_samples = 2, .training_times = 1, .eval_dev = 1,
        .rot_angle = "0", .noise = "0", .clones = 1};
}

static int parse_bool(const char *name, const char *value)
{
    if (strcmp(value, "true") == 0)
        return 1;
    if (strcmp(value, "false") == 0)
        return 0;
    nn_usage_error("invalid value '%s' for --%s: expected true or false",
                   value, name);
}

/* Take the value of --name, either after '=' or as the next argument. */
static const char *take_value(int argc, char **argv, int *i, const char *eq,
                              const char *name)
{
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc)
        nn_usage_error("option '--%s' requires a value", name);
    return argv[++*i];
}

static int take_bool(int argc, char **argv, int *i, const char *eq,
                     const char *name)
{
    if (eq)
        return parse_bool(name, eq + 1);
    if (*i + 1 < argc && (strcmp(argv[*i + 1], "true") == 0 ||
                          strcmp(argv[*i + 1], "false") == 0))
        return parse_bool(name, argv[++*i]);
    return 1;
}

/* Check value against names (case-insensitive); returns it. */
static const char *check_name(const char *flag, const char *value,
                              const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (strcasecmp(value, allowed[i]) == 0)
            return value;
    nn_usage_error("invalid value '%s' for --%s", value, flag);
}

/* A check mode; the original's interactive 'byebug' becomes exception. */
static const char *check_mode(const char *flag, const char *value)
{
    static const char *const modes[] = {"exception", "warning", "off",
                                        "byebug", NULL};

    check_name(flag, value, modes);
    return strcasecmp(value, "byebug") == 0 ? "exception" : value;
}

/* Flags whose value is a name from a fixed list. */
static int parse_named(const char *name, const char *v, experiment *e)
{
    static const char *const models[] = {"OneLayer", "NLayers", "one-layer",
                                         "n-layers", NULL};
    static const char *const optimizers[] = {
        "Adam", "Constant", "ExponentialDecay", "exponential-decay", NULL};
    static const char *const activations[] = {
        "LeakyReLU", "ReLU", "Tanh", "Sigmoid", "leaky-relu", NULL};
    static const char *const inits[] = {
        "GlorotNormal", "GlorotUniform", "Kaiming", "glorot-normal",
        "glorot-uniform", NULL};
    static const char *const bn[] = {"running", "batch", NULL};
    static const char *const precisions[] = {"64", "32", NULL};

    if (strcmp(name, "model") == 0)
        e->model = check_name(name, v, models);
    else if (strcmp(name, "optimizer") == 0)
        e->optimizer = check_name(name, v, optimizers);
    else if (strcmp(name, "activation") == 0)
        e->activation = check_name(name, v, activations);
    else if (strcmp(name, "init") == 0)
        e->init = check_name(name, v, inits);
    else if (strcmp(name, "bn-inference") == 0)
        e->bn_inference = check_name(name, v, bn);
    else if (strcmp(name, "precision") == 0)
        e->precision = check_name(name, v, precisions);
    else if (strcmp(name, "gradient-checks") == 0)
        e->grad_mode = check_mode(name, v);
    else
        return 0;
    return 1;
}

/* Flags whose value is a number, checked here so errors come early. */
static int parse_number(const char *name, const char *v, experiment *e)
{
    static const struct {
        const char *name;
        size_t offset;
        long min, max;
    } ints[] = {
        {"nbr-epochs", offsetof(experiment, epochs), 1, 1000000},
        {"max-minibatch-size", offsetof(experiment, batch_size), 1, 1 << 20},
        {"early-stopping-patience", offsetof(experiment, patience), 0,
         1000000},
        {"gradient-checks-every", offsetof(experiment, grad_every), 1,
         1000000},
        {"gradient-checks-samples", offsetof(experiment, grad_samples), 1,
         1000000},
        {"training-times", offsetof(experiment, training_times), 1, 1000},
        {"nbr-clones", offsetof(experiment, clones), 1, 1000000},
        {"display-samples", offsetof(experiment, display_samples), 0,
         10000},
    };
    char flag[80];

    snprintf(flag, sizeof flag, "--%s", name);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        if (strcmp(name, ints[i].name) == 0) {
            *(long *)((char *)e + ints[i].offset) =
                (long)nn_cli_int(flag, v, ints[i].min, ints[i].max);
            return 1;
        }
    }
    if (strcmp(name, "learning-rate") == 0)
        nn_cli_double(flag, e->learning_rate = v, 1e-12, 1e6);
    else if (strcmp(name, "decay") == 0)
        nn_cli_double(flag, e->decay = v, 0, 1e6);
    else if (strcmp(name, "dropout-rate") == 0)
        nn_cli_double(flag, e->dropout = v, 0, 0.999999);
    else if (strcmp(name, "weight-decay") == 0)
        nn_cli_double(flag, e->weight_decay = v, 0, 1e6);
    else if (strcmp(name, "rot-angle") == 0)
        nn_cli_double(flag, e->rot_angle = v, 0, 180);
    else if (strcmp(name, "noise-intensity") == 0)
        nn_cli_double(flag, e->noise = v, 0, 1);
    else if (strcmp(name, "dataset-seed") == 0)
        e->dataset_seed = nn_cli_int(flag, v, 0, INT64_MAX);
    else if (strcmp(name, "resize") == 0)
        nn_cli_size(flag, v, &e->width, &e->height);
    else
        return 0;
    return 1;
}

/* Ids name folders and appear in pages: letters, digits and -_.+=,@ */
static void check_exp_id(const char *id)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_.+=,@";

    if (!*id || id[0] == '.' || strlen(id) > 200 ||
        strspn(id, allowed) != strlen(id))
        nn_usage_error("invalid value '%s' for --exp-id: expected letters, "
                       "digits and -_.+=,@, not starting with '.'", id);
}

/* Hidden sizes: nothing, or positive integers separated by commas. */
static const char *check_layers(const char *list)
{
    int sizes[NN_MAX_HIDDEN];

    nn_cli_sizes("--layers", list, sizes, NN_MAX_HIDDEN);
    return list;
}

/* Parse one "--name[=value]" argument at argv[*i] into e or g. */
static void parse_flag(int argc, char **argv, int *i, experiment *e,
                       globals *g)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    char name[64];

    snprintf(name, sizeof name, "%.*s", (int)len, arg + 2);
#define IS(flag) (strcmp(name, flag) == 0)
#define VALUE() take_value(argc, argv, i, eq, name)
#define BOOL() take_bool(argc, argv, i, eq, name)
    if (IS("grayscale")) e->grayscale = BOOL();
    else if (IS("eval-dev")) e->eval_dev = BOOL();
    else if (IS("eval-test")) e->eval_test = BOOL();
    else if (IS("stop-early")) e->stop_early = BOOL();
    else if (IS("profiling")) e->profiling = BOOL();
    else if (IS("minmax-normalize")) e->minmax = BOOL();
    else if (IS("trim")) e->trim = BOOL();
    else if (IS("adaptive-invert")) e->invert = BOOL();
    else if (IS("dump-minibatches")) e->dump_minibatches = BOOL();
    else if (IS("debug")) g->debug = BOOL();
    else if (IS("dataset")) e->dataset = VALUE();
    else if (IS("layers")) e->layers = check_layers(VALUE());
    else if (IS("exp-id")) check_exp_id(e->exp_id = VALUE());
    else if (IS("runs-dir")) g->runs_dir = VALUE();
    else if (IS("model-seed"))
        g->model_seed = nn_cli_int("--model-seed", VALUE(), 0, INT64_MAX);
    else if (IS("threads"))
        g->threads = (long)nn_cli_int("--threads", VALUE(), 1, 1024);
    else if (IS("instability-checks"))
        g->instability_mode = check_mode(name, VALUE());
    else if (IS("track-layer")) {
        const char *v = VALUE(), *comma = strchr(v, ',');
        if (e->n_tracks == MAX_TRACKS)
            nn_usage_error("--track-layer: at most %d", MAX_TRACKS);
        if (!comma || comma == v)
            nn_usage_error("invalid value '%s' for --track-layer: expected "
                           "NAME,UNITS", v);
        nn_cli_int("--track-layer", comma + 1, 1, 1 << 20);
        e->tracks[e->n_tracks++] = v;
    } else if (IS("data-loader") || IS("loss") || IS("accuracy")) {
        /* Only the original's default classes exist here. */
        static const char *const numo[] = {"Numo", "CrossEntropy",
                                           "ClassesNumo", NULL};
        check_name(name, VALUE(), numo);
    } else {
        const char *v = NULL;
        static const char *const valued[] = {
            "model", "optimizer", "activation", "init", "bn-inference",
            "precision", "gradient-checks", "nbr-epochs",
            "max-minibatch-size", "early-stopping-patience",
            "gradient-checks-every", "gradient-checks-samples",
            "training-times", "learning-rate", "decay", "dropout-rate",
            "weight-decay", "dataset-seed", "resize", "nbr-clones",
            "display-samples", "rot-angle", "noise-intensity", NULL};
        for (int k = 0; valued[k]; k++)
            if (IS(valued[k]))
                v = VALUE();
        if (!v || !(parse_named(name, v, e) || parse_number(name, v, e)))
            nn_usage_error("unknown option '%s'", arg);
    }
#undef IS
#undef VALUE
#undef BOOL
}

/* Split the command line into experiments at each --experiment. */
static int parse_args(int argc, char **argv, experiment *exps, globals *g)
{
    int n = 1;

    *g = (globals){.instability_mode = "exception", .runs_dir = "runs"};
    set_defaults(&exps[0]);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            nn_cli_common('h');
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0)
            nn_cli_common('V');
        if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            nn_log_set_level(NN_LOG_WARN);
            continue;
        }
        if (strcmp(arg, "-e") == 0 || strcmp(arg, "--experiment") == 0) {
            if (n == MAX_EXPERIMENTS)
                nn_usage_error("at most %d experiments", MAX_EXPERIMENTS);
            set_defaults(&exps[n++]);
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            nn_usage_error("unexpected argument '%s'", arg);
        parse_flag(argc, argv, &i, &exps[n - 1], g);
    }
    return n;
}

/* ---- pipelines -------------------------------------------------------- */

/* datasets/NAME under the working folder, else beside the programs. */
static char *find_dataset(const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    if (strchr(name, '/'))
        return strdup(name);
    snprintf(path, sizeof path, "datasets/%s", name);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return strdup(path);
    snprintf(path, sizeof path, "%s/../datasets/%s", bin_dir, name);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return strdup(path);
    nn_die(0, "dataset '%s' not found: no folder datasets/%s", name, name);
}

static nn_stage *add_stage(nn_pipeline *p, const char *program,
                           const globals *g)
{
    nn_stage *s = nn_pipeline_add(p, program);

    nn_stage_add(s, g->debug ? "--debug" : "-q");
    return s;
}

/* nn-load [| nn-resize] for one partition. */
static void add_source(nn_pipeline *p, const experiment *e, const globals *g,
                       const char *dataset, const char *partition)
{
    nn_stage *s = add_stage(p, "nn-load", g);

    nn_stage_add(s, "--partition=%s", partition);
    nn_stage_add(s, "--dataset-seed=%lld", e->dataset_seed);
    nn_stage_add(s, "%s", dataset);
    /* deterministic preprocessing, for every partition alike */
    if (e->width || e->grayscale || e->minmax || e->trim || e->invert) {
        s = add_stage(p, "nn-resize", g);
        if (e->width)
            nn_stage_add(s, "--size=%dx%d", e->width, e->height);
        else
            nn_stage_add(s, "--keep-size");
        if (e->grayscale)
            nn_stage_add(s, "--grayscale");
        if (e->trim)
            nn_stage_add(s, "--trim");
        if (e->invert)
            nn_stage_add(s, "--adaptive-invert");
        if (e->minmax)
            nn_stage_add(s, "--minmax");
    }
}

static void add_trainer(nn_pipeline *p, const experiment *e,
                        const globals *g, long long seed, const char *id,
                        const char *dir)
{
    nn_stage *s = add_stage(p, "nn-train", g);

    nn_stage_add(s, "--id=%s", id);
    nn_stage_add(s, "--model=%s", e->model);
    nn_stage_add(s, "--layers=%s", e->layers);
    nn_stage_add(s, "--activation=%s", e->activation);
    nn_stage_add(s, "--init=%s", e->init);
    nn_stage_add(s, "--dropout-rate=%s", e->dropout);
    nn_stage_add(s, "--bn-inference=%s", e->bn_inference);
    nn_stage_add(s, "--precision=%s", e->precision);
    nn_stage_add(s, "--model-seed=%lld", seed);
    nn_stage_add(s, "--optimizer=%s", e->optimizer);
    nn_stage_add(s, "--learning-rate=%s", e->learning_rate);
    nn_stage_add(s, "--decay=%s", e->decay);
    nn_stage_add(s, "--weight-decay=%s", e->weight_decay);
    nn_stage_add(s, "--gradient-checks=%s", e->grad_mode);
    nn_stage_add(s, "--gradient-checks-every=%ld", e->grad_every);
    nn_stage_add(s, "--gradient-checks-samples=%ld", e->grad_samples);
    nn_stage_add(s, "--instability-checks=%s", g->instability_mode);
    nn_stage_add(s, "--early-stopping-patience=%ld", e->patience);
    if (e->stop_early && e->eval_dev)
        nn_stage_add(s, "--stop-early");
    for (int i = 0; i < e->n_tracks; i++)
        nn_stage_add(s, "--track-layer=%s", e->tracks[i]);
    if (e->eval_dev)
        nn_stage_add(s, "--dev=%s/dev.nn", dir);
    if (e->eval_test)
        nn_stage_add(s, "--test=%s/test.nn", dir);
    if (e->profiling)
        nn_stage_add(s, "--profile=%s/profile.txt", dir);
    nn_stage_add(s, "--save=%s/model.nn", dir);
    if (g->threads)
        nn_stage_add(s, "--threads=%ld", g->threads);
}

static void build_training(nn_pipeline *p, const experiment *e,
                           const globals *g, const char *dataset,
                           long long seed, const char *id, const char *dir)
{
    nn_stage *s;

    add_source(p, e, g, dataset, "training");
    s = add_stage(p, "nn-shuffle", g);
    nn_stage_add(s, "--epochs=%ld", e->epochs);
    nn_stage_add(s, "--seed=%lld", e->dataset_seed);
    /* augmentation after the cache: every epoch draws new randomness */
    if (e->clones > 1 || strtod(e->rot_angle, NULL) > 0 ||
        strtod(e->noise, NULL) > 0) {
        s = add_stage(p, "nn-augment", g);
        nn_stage_add(s, "--clones=%ld", e->clones);
        nn_stage_add(s, "--rotate=%s", e->rot_angle);
        nn_stage_add(s, "--noise=%s", e->noise);
        nn_stage_add(s, "--seed=%lld", e->dataset_seed);
    }
    if (e->display_samples) {
        s = add_stage(p, "nn-save", g);
        nn_stage_add(s, "--tee");
        nn_stage_add(s, "--grid=%ld", e->display_samples);
        nn_stage_add(s, "--every=1");
        nn_stage_add(s, "%s/samples.png", dir);
    }
    if (e->dump_minibatches) {
        s = add_stage(p, "nn-save", g);
        nn_stage_add(s, "--tee");
        nn_stage_add(s, "--every=1");
        nn_stage_add(s, "%s/minibatches", dir);
    }
    /* u8 batches: a quarter of f32's bytes through the pipe, and the
     * trainer scales them exactly as it scales the dev samples. */
    s = add_stage(p, "nn-batch", g);
    nn_stage_add(s, "--dtype=u8");
    nn_stage_add(s, "%ld", e->batch_size);
    add_trainer(p, e, g, seed, id, dir);
}

/* Run a pipeline whose output goes to a file. */
static void run_to_file(nn_pipeline *p, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        nn_die(errno, "cannot create '%s'", path);
    nn_pipeline_start(p, bin_dir, fd);
    close(fd);
    if (nn_pipeline_wait(p) < 0)
        nn_die(0, stop_signal ? "interrupted" :
               "the pipeline failed; see the messages above");
}

/* ---- progress and results --------------------------------------------- */

static int scope_is(const nn_reader *r, const char *scope)
{
    const msgpack_object *o = nn_map_get(r->obj, "scope");

    return r->type == NN_REC_METRICS && o && o->type == MSGPACK_OBJECT_STR &&
           o->via.str.size == strlen(scope) &&
           memcmp(o->via.str.ptr, scope, o->via.str.size) == 0;
}

static void read_confusion(const msgpack_object *cm, result *res)
{
    int C = res->n_classes;

    if (!cm || cm->type != MSGPACK_OBJECT_ARRAY ||
        cm->via.array.size != (uint32_t)C)
        return;
    for (int i = 0; i < C; i++) {
        const msgpack_object *row = &cm->via.array.ptr[i];
        for (int j = 0; j < C; j++)
            res->confusion[i * C + j] =
                row->type == MSGPACK_OBJECT_ARRAY &&
                row->via.array.size == (uint32_t)C
                    ? (long)row->via.array.ptr[j].via.u64 : 0;
    }
}

/* Take what the summary needs from a metrics record. */
static void read_metrics(const nn_reader *r, result *res)
{
    char err[160];
    int64_t v = 0;

    if (scope_is(r, "epoch")) {
        nn_field_int(r->obj, "epoch", &v, err, sizeof err);
        res->epoch = v;
        nn_field_int(r->obj, "samples", &v, err, sizeof err);
        res->samples = v;
        nn_field_int(r->obj, "parameters", &v, err, sizeof err);
        res->parameters = v;
        nn_field_double(r->obj, "cost", &res->cost, err, sizeof err);
        nn_field_double(r->obj, "accuracy", &res->accuracy, err, sizeof err);
        nn_field_double(r->obj, "seconds", &res->seconds, err, sizeof err);
        res->has_dev = nn_field_double(r->obj, "dev_accuracy",
                                       &res->dev_accuracy, err,
                                       sizeof err) == 0;
        nn_field_double(r->obj, "dev_cost", &res->dev_cost, err, sizeof err);
        read_confusion(nn_map_get(r->obj, "dev_confusion"), res);
    } else if (scope_is(r, "early_stop")) {
        nn_field_int(r->obj, "epoch", &v, err, sizeof err);
        res->early_stop_epoch = v;
    } else if (scope_is(r, "restored")) {
        /* --stop-early kept an earlier epoch's weights: report those */
        nn_field_int(r->obj, "epoch", &v, err, sizeof err);
        res->restored_epoch = v;
        nn_field_double(r->obj, "cost", &res->cost, err, sizeof err);
        nn_field_double(r->obj, "accuracy", &res->accuracy, err, sizeof err);
        nn_field_double(r->obj, "dev_cost", &res->dev_cost, err, sizeof err);
        nn_field_double(r->obj, "dev_accuracy", &res->dev_accuracy, err,
                        sizeof err);
    } else if (scope_is(r, "test")) {
        res->has_test = 1;
        nn_field_double(r->obj, "cost", &res->test_cost, err, sizeof err);
        nn_field_double(r->obj, "accuracy", &res->test_accuracy, err,
                        sizeof err);
    }
}

/* Progress on a terminal: one live line, rewritten per minibatch. */
typedef struct {
    int tty;
    long batches, per_epoch;    /* this epoch; the last full epoch's */
    double start_s;
} progress;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void show_minibatch(const nn_reader *r, const result *res,
                           const experiment *e, progress *pr)
{
    char err[160], eta[32] = "?";
    int64_t epoch = 0;
    double cost = 0, acc = 0, elapsed = now_s() - pr->start_s;

    pr->batches++;
    if (!pr->tty)
        return;
    nn_field_int(r->obj, "epoch", &epoch, err, sizeof err);
    nn_field_double(r->obj, "cost", &cost, err, sizeof err);
    nn_field_double(r->obj, "accuracy", &acc, err, sizeof err);
    if (pr->per_epoch) {
        double done = epoch + (double)pr->batches / pr->per_epoch;
        snprintf(eta, sizeof eta, "%.0fs", elapsed / done *
                 (e->epochs - done));
    }
    char dev[16] = "-", total[24] = "";
    if (res->has_dev)
        snprintf(dev, sizeof dev, "%.4f", res->dev_accuracy);
    if (pr->per_epoch)
        snprintf(total, sizeof total, "/%ld", pr->per_epoch);
    fprintf(stderr, "\r\033[K[%s] epoch %lld/%ld minibatch %ld%s cost %.4f "
            "accuracy %.4f dev accuracy %s elapsed %.1fs eta %s", res->id,
            (long long)epoch + 1, e->epochs, pr->batches, total, cost, acc,
            dev, elapsed, eta);
}

static void show_epoch(const result *res, const experiment *e,
                       progress *pr)
{
    pr->per_epoch = pr->batches;
    pr->batches = 0;
    if (pr->tty)
        fputs("\r\033[K", stderr);
    if (res->has_dev)
        nn_log_info("[%s] epoch %lld/%ld cost=%.4f accuracy=%.4f "
                    "dev_cost=%.4f dev_accuracy=%.4f elapsed=%.1fs",
                    res->id, res->epoch + 1, e->epochs, res->cost,
                    res->accuracy, res->dev_cost, res->dev_accuracy,
                    res->seconds);
    else
        nn_log_info("[%s] epoch %lld/%ld cost=%.4f accuracy=%.4f "
                    "elapsed=%.1fs", res->id, res->epoch + 1, e->epochs,
                    res->cost, res->accuracy, res->seconds);
}

/*
 * Run the training pipeline into a pipe, copy its records to
 * metrics.nn and turn them into progress as they arrive.
 */
static void run_training(nn_pipeline *p, const experiment *e,
                         const char *dir, result *res)
{
    progress pr = {.tty = isatty(STDERR_FILENO), .start_s = now_s()};
    char *metrics = path_in(dir, "metrics.nn");
    int fds[2];
    nn_reader r;
    FILE *out;

    if (pipe2(fds, O_CLOEXEC) < 0)
        nn_die(errno, "cannot create a pipe");
    nn_pipeline_start(p, bin_dir, fds[1]);
    close(fds[1]);
    if (!(out = fopen(metrics, "wb")))
        nn_die(errno, "cannot create '%s'", metrics);
    if (nn_reader_open(&r, NULL) < 0)
        nn_die(errno, "cannot read the metrics");
    r.fp = fdopen(fds[0], "rb");
    snprintf(r.name, sizeof r.name, "the output of nn-train");
    for (;;) {
        int got = nn_reader_next(&r);
        if (got < 0 && r.interrupted) {
            nn_pipeline_kill(p, SIGTERM);
            nn_pipeline_wait(p);
            nn_die(0, "interrupted");
        }
        if (got < 0) {
            nn_pipeline_wait(p);
            char why[300];
            nn_die(0, "%s: %s", r.name, nn_reader_error(&r, why, sizeof why));
        }
        if (got == 0)
            break;
        nn_io_write(out, r.raw, r.raw_len);
        if (r.index == 1) {
            res->n_classes = r.header.n_classes;
            res->classes = r.header.classes;
            res->confusion = calloc((size_t)res->n_classes * res->n_classes,
                                    sizeof *res->confusion);
            r.header.classes = NULL;        /* kept by res */
            r.header.n_classes = 0;
            continue;
        }
        read_metrics(&r, res);
        if (scope_is(&r, "minibatch"))
            show_minibatch(&r, res, e, &pr);
        else if (scope_is(&r, "epoch"))
            show_epoch(res, e, &pr);
    }
    if (pr.tty)
        fputs("\r\033[K", stderr);
    if (fclose(out) != 0)
        nn_die(errno, "cannot write '%s'", metrics);
    if (nn_pipeline_wait(p) < 0)
        nn_die(0, stop_signal ? "interrupted" :
               "the pipeline failed; see the messages above");
    nn_reader_close(&r);
    free(metrics);
}

/* ---- outputs ---------------------------------------------------------- */

static void put_json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

/* JSON has no NaN or infinity: a diverged cost is written as null. */
static void put_json_number(FILE *fp, double v, int present)
{
    if (present && isfinite(v))
        fprintf(fp, "%.17g", v);
    else
        fputs("null", fp);
}

static void put_json_field(FILE *fp, const char *key, double v, int present)
{
    fprintf(fp, ",\n  \"%s\": ", key);
    put_json_number(fp, v, present);
}

static void write_summary(const char *dir, const experiment *e,
                          long long seed, const result *res, double seconds)
{
    char *path = path_in(dir, "summary.json");
    nn_atomic_file f;

    if (nn_atomic_open(&f, path) < 0)
        nn_die(errno, "cannot create '%s'", path);
    FILE *fp = f.fp;
    const char *names[][2] = {
        {"exp_id", res->id}, {"dataset", e->dataset}, {"model", e->model},
        {"layers", e->layers}, {"optimizer", e->optimizer},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        fprintf(fp, "%s\n  \"%s\": ", i ? "," : "{", names[i][0]);
        put_json_string(fp, names[i][1]);
    }
    put_json_field(fp, "learning_rate", strtod(e->learning_rate, NULL), 1);
    fprintf(fp, ",\n  \"max_minibatch_size\": %ld,"
            "\n  \"model_seed\": %lld,\n  \"dataset_seed\": %lld,"
            "\n  \"parameters\": %lld,\n  \"training_samples\": %lld,"
            "\n  \"epochs\": %lld", e->batch_size, seed,
            e->dataset_seed, res->parameters, res->samples, res->epoch + 1);
    put_json_field(fp, "training_cost", res->cost, 1);
    put_json_field(fp, "training_accuracy", res->accuracy, 1);
    put_json_field(fp, "dev_cost", res->dev_cost, res->has_dev);
    put_json_field(fp, "dev_accuracy", res->dev_accuracy, res->has_dev);
    fputs(",\n  \"early_stop_epoch\": ", fp);
    if (res->early_stop_epoch >= 0)
        fprintf(fp, "%lld", res->early_stop_epoch);
    else
        fputs("null", fp);
    fputs(",\n  \"restored_epoch\": ", fp);
    if (res->restored_epoch >= 0)
        fprintf(fp, "%lld", res->restored_epoch);
    else
        fputs("null", fp);
    if (e->eval_test) {
        put_json_field(fp, "test_cost", res->test_cost, res->has_test);
        put_json_field(fp, "test_accuracy", res->test_accuracy,
                       res->has_test);
    }
    fprintf(fp, ",\n  \"seconds\": %.3f\n}\n", seconds);
    if (nn_atomic_commit(&f) < 0)
        nn_die(errno, "cannot write '%s'", path);
    free(path);
}

static void print_confusion(const result *res)
{
    int C = res->n_classes;

    fprintf(stderr, "[%s] dev confusion matrix (rows: true class, columns: "
            "predicted class)\n%10s", res->id, "");
    for (int j = 0; j < C; j++)
        fprintf(stderr, " %6.6s", res->classes[j]);
    fputc('\n', stderr);
    for (int i = 0; i < C; i++) {
        fprintf(stderr, "%10.10s", res->classes[i]);
        for (int j = 0; j < C; j++)
            fprintf(stderr, " %6ld", res->confusion[i * C + j]);
        fputc('\n', stderr);
    }
}

static void write_script(const char *dir, nn_pipeline *const *pipelines,
                         int n)
{
    char *path = path_in(dir, "pipeline.sh");
    FILE *fp;

    if (!(fp = fopen(path, "w")))
        nn_die(errno, "cannot create '%s'", path);
    fputs("#!/bin/sh\n# The pipelines nn-run ran, from the folder it ran "
          "in, with the nn-*\n# programs on PATH.\nset -e\n", fp);
    for (int i = 0; i < n; i++)
        nn_pipeline_print(fp, pipelines[i]);
    if (fclose(fp) != 0)
        nn_die(errno, "cannot write '%s'", path);
    chmod(path, 0755);
    free(path);
}

/* Remove a run folder and everything in it; a missing one is fine. */
static void remove_run_dir(const char *dir)
{
    if (nn_io_remove_tree(dir) < 0)
        nn_die(errno, "cannot remove '%s'", dir);
}

static char *tmp_dir_path;

static void remove_tmp_dir(void)
{
    if (tmp_dir_path)
        remove_run_dir(tmp_dir_path);
}

/*
 * Charts and index.html for each of the n run folders, and with out
 * set, one page there comparing them.  Training already succeeded, so
 * a failure to draw is a warning, not an error.
 */
static void draw_report(const char *out, char *const *run_dirs, int n)
{
    nn_pipeline p = {0};
    nn_stage *s = nn_pipeline_add(&p, "nn-report");
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    nn_stage_add(s, "-q");
    nn_stage_add(s, "--charts");
    if (out)
        nn_stage_add(s, "--out=%s", out);
    for (int i = 0; i < n; i++)
        nn_stage_add(s, "%s", run_dirs[i]);
    nn_pipeline_start(&p, bin_dir, fd);
    close(fd);
    if (nn_pipeline_wait(&p) < 0)
        nn_log_warn("the charts or page in %s are incomplete",
                    out ? out : run_dirs[0]);
    nn_pipeline_free(&p);
}

/* ---- experiments ------------------------------------------------------ */

/* The id itself when no earlier run used it, else id_0, id_1, ... */
static void unique_id(const char *base, char ids[][256], int n_ids,
                      char *out)
{
    snprintf(out, 256, "%s", base);
    for (int k = -1;; k++) {
        int used = 0;
        if (k >= 0)
            snprintf(out, 256, "%s_%d", base, k);
        for (int i = 0; i < n_ids; i++)
            used |= strcmp(ids[i], out) == 0;
        if (!used)
            return;
    }
}

/*
 * Run one experiment as id with the given model seed, in a hidden
 * folder that replaces runs/<id> only when everything succeeded.
 */
static void run_experiment(const experiment *e, const globals *g,
                           long long seed, result *res)
{
    nn_pipeline dev = {0}, test = {0}, train = {0};
    nn_pipeline dev_shown = {0}, test_shown = {0}, train_shown = {0};
    nn_pipeline *shown[3];
    char final_dir[PATH_MAX], tmp_dir[PATH_MAX];
    int n_shown = 0;
    double t0 = now_s();
    char *dataset = find_dataset(e->dataset);

    res->early_stop_epoch = -1;
    res->restored_epoch = -1;
    snprintf(final_dir, sizeof final_dir, "%s/%s", g->runs_dir, res->id);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/.%s.tmp-XXXXXX", g->runs_dir,
             res->id);
    if (!mkdtemp(tmp_dir))
        nn_die(errno, "cannot create a folder in '%s'", g->runs_dir);
    tmp_dir_path = tmp_dir;
    nn_err_cleanup_path(tmp_dir);
    chmod(tmp_dir, 0755);

    /* the same pipelines twice: one runs in tmp_dir, one is shown */
    if (e->eval_dev) {
        add_source(&dev, e, g, dataset, "dev");
        add_source(&dev_shown, e, g, dataset, "dev");
        dev_shown.output = path_in(final_dir, "dev.nn");
        shown[n_shown++] = &dev_shown;
    }
    if (e->eval_test) {
        add_source(&test, e, g, dataset, "test");
        add_source(&test_shown, e, g, dataset, "test");
        test_shown.output = path_in(final_dir, "test.nn");
        shown[n_shown++] = &test_shown;
    }
    build_training(&train, e, g, dataset, seed, res->id, tmp_dir);
    build_training(&train_shown, e, g, dataset, seed, res->id, final_dir);
    train_shown.output = path_in(final_dir, "metrics.nn");
    shown[n_shown++] = &train_shown;
    write_script(tmp_dir, shown, n_shown);
    nn_log_info("[%s] running, results in %s/:", res->id, final_dir);
    for (int i = 0; i < n_shown && nn_log_get_level() <= NN_LOG_INFO; i++)
        nn_pipeline_print(stderr, shown[i]);

    char *dev_path = path_in(tmp_dir, "dev.nn");
    char *test_path = path_in(tmp_dir, "test.nn");
    if (e->eval_dev)
        run_to_file(&dev, dev_path);
    if (e->eval_test)
        run_to_file(&test, test_path);
    run_training(&train, e, tmp_dir, res);
    write_summary(tmp_dir, e, seed, res, now_s() - t0);
    /* draw before publishing: the folder appears with its page */
    char *dirs[] = {tmp_dir};
    draw_report(NULL, dirs, 1);

    /* swap the finished run in, then delete the one it replaces */
    char old_dir[PATH_MAX + 8];
    snprintf(old_dir, sizeof old_dir, "%s.old", tmp_dir);
    if (rename(final_dir, old_dir) < 0 && errno != ENOENT)
        nn_die(errno, "cannot replace '%s'", final_dir);
    if (rename(tmp_dir, final_dir) < 0)
        nn_die(errno, "cannot rename '%s' to '%s'", tmp_dir, final_dir);
    tmp_dir_path = NULL;
    nn_err_forget(tmp_dir);
    remove_run_dir(old_dir);
    if (res->has_dev && nn_log_get_level() <= NN_LOG_INFO)
        print_confusion(res);
    nn_log_info("[%s] done in %.1fs: training_accuracy=%.4f%s, results in "
                "%s/", res->id, now_s() - t0, res->accuracy,
                res->has_dev ? "" : " (no dev set)", final_dir);
    nn_pipeline_free(&dev);
    nn_pipeline_free(&test);
    nn_pipeline_free(&train);
    nn_pipeline_free(&dev_shown);
    nn_pipeline_free(&test_shown);
    nn_pipeline_free(&train_shown);
    free((char *)dev_shown.output);
    free((char *)test_shown.output);
    free((char *)train_shown.output);
    free(dev_path);
    free(test_path);
    free(dataset);
}

static void put_percent(double fraction, int present)
{
    if (present && isfinite(fraction))
        printf(" %.1f%% |", 100 * fraction);
    else
        printf(" - |");
}

/*
 * The comparison table of the original's README, in Markdown.  Bias is
 * the avoidable bias against a perfect classifier (1 - training
 * accuracy); variance is training minus dev accuracy.
 */
static void print_table(const result *res, int n)
{
    int test = 0;

    for (int i = 0; i < n; i++)
        test |= res[i].has_test;
    printf("| experiment | # parameters | params/samples | training cost "
           "| training accuracy | dev cost | dev accuracy | early stop "
           "epoch | avoidable bias | variance |%s\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s\n",
           test ? " test accuracy |" : "", test ? "---:|" : "");
    for (int i = 0; i < n; i++) {
        const result *r = &res[i];
        printf("| %s | %lld | %.2f | %.4f |", r->id, r->parameters,
               r->samples ? (double)r->parameters / r->samples : 0.0,
               r->cost);
        put_percent(r->accuracy, 1);
        if (r->has_dev)
            printf(" %.4f |", r->dev_cost);
        else
            printf(" - |");
        put_percent(r->dev_accuracy, r->has_dev);
        if (r->early_stop_epoch >= 0)
            printf(" %lld |", r->early_stop_epoch);
        else
            printf(" - |");
        put_percent(1 - r->accuracy, 1);
        put_percent(r->accuracy - r->dev_accuracy, r->has_dev);
        if (test)
            put_percent(r->test_accuracy, r->has_test);
        putchar('\n');
    }
}

static void find_bin_dir(const char *argv0)
{
    static char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);

    if (n <= 0) {
        snprintf(dir, sizeof dir, "%s", argv0);
        n = (ssize_t)strlen(dir);
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    bin_dir = dir;
}

int main(int argc, char **argv)
{
    static experiment exps[MAX_EXPERIMENTS];
    static char ids[MAX_EXPERIMENTS * 8][256];
    globals g;
    result *results;
    int n_exps, n_runs = 0, cap = 0;

    static char help[sizeof usage + sizeof usage_training];
    snprintf(help, sizeof help, "%s%s", usage, usage_training);
    nn_cli_init(argc, argv, help);
    find_bin_dir(argv[0]);
    n_exps = parse_args(argc, argv, exps, &g);
    if (g.debug)
        nn_log_set_level(NN_LOG_DEBUG);
    for (int i = 0; i < n_exps; i++) {
        cap += (int)exps[i].training_times;
        if (exps[i].stop_early && !exps[i].eval_dev)
            nn_usage_error("--stop-early needs the dev set: it cannot go "
                           "with --eval-dev=false");
    }
    if (cap > MAX_EXPERIMENTS * 8)
        nn_usage_error("more than %d runs in one command", MAX_EXPERIMENTS * 8);
    results = calloc(cap, sizeof *results);
    if (!results)
        nn_die(ENOMEM, "cannot hold the results");
    if (mkdir(g.runs_dir, 0755) < 0 && errno != EEXIST)
        nn_die(errno, "cannot create '%s'", g.runs_dir);
    /* On SIGINT or SIGTERM, stop the stages and remove the unfinished
     * run folder (nn_die does) instead of leaving it behind. */
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stderr (nn-run ... 2>&1 | head) must not kill the run
     * halfway; the stages reset SIGPIPE for themselves. */
    signal(SIGPIPE, SIG_IGN);
    nn_record_set_stop(&stop_signal);
    nn_pipeline_set_stop(&stop_signal);
    atexit(remove_tmp_dir);

    for (int i = 0; i < n_exps; i++) {
        for (long r = 0; r < exps[i].training_times; r++) {
            result *res = &results[n_runs];
            unique_id(exps[i].exp_id, ids, n_runs, res->id);
            snprintf(ids[n_runs++], 256, "%s", res->id);
            run_experiment(&exps[i], &g, g.model_seed + r, res);
        }
    }
    if (n_runs > 1) {
        /* NOTE: nn-report takes at most NN_PIPELINE_MAX_ARGS folders. */
        char *dirs[NN_PIPELINE_MAX_ARGS - 8];
        int n = n_runs < (int)(sizeof dirs / sizeof *dirs)
                ? n_runs : (int)(sizeof dirs / sizeof *dirs);
        for (int i = 0; i < n; i++)
            dirs[i] = path_in(g.runs_dir, results[i].id);
        draw_report(g.runs_dir, dirs, n);
        nn_log_info("comparison page: %s/index.html", g.runs_dir);
        for (int i = 0; i < n; i++)
            free(dirs[i]);
    }
    print_table(results, n_runs);
    for (int i = 0; i < n_runs; i++) {
        for (int c = 0; c < results[i].n_classes; c++)
            free(results[i].classes[c]);
        free(results[i].classes);
        free(results[i].confusion);
    }
    free(results);
    return 0;
}
