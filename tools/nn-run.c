/*
 * nn-run: one experiment of the original Ruby tool, run as a pipeline.
 * It takes the original's flags, builds the nn-load | nn-resize |
 * nn-shuffle | nn-batch | nn-train pipeline they describe, prints it,
 * runs it, shows progress, and leaves everything in runs/<exp-id>/:
 * pipeline.sh, dev.nn, metrics.nn, model.nn and summary.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-run [--FLAG=VALUE]...\n"
    "Train one experiment through a pipeline of nn-* programs, taking the\n"
    "flags of the original ruby-neural-nets tool.  Values may follow '='\n"
    "or come as the next argument; booleans also accept a bare --flag.\n"
    "Writes runs/<exp-id>/ (replacing an earlier run of the same id).\n"
    "\n"
    "  --dataset=NAME            folder under datasets/, or a path [colors]\n"
    "  --model=NAME              OneLayer | NLayers [OneLayer]\n"
    "  --layers=LIST             hidden sizes of NLayers, comma-separated;\n"
    "                            empty for none [100]\n"
    "  --optimizer=NAME          Adam | Constant | ExponentialDecay [Adam]\n"
    "  --learning-rate=X         [0.001]\n"
    "  --decay=X                 ExponentialDecay's rate per epoch [0.9]\n"
    "  --nbr-epochs=N            [100]\n"
    "  --max-minibatch-size=N    training batch size [5000]\n"
    "  --model-seed=N            initial weights [0]\n"
    "  --dataset-seed=N          split and epoch shuffles [0]\n"
    "  --resize=W,H              resize images; they keep their own size\n"
    "                            when absent\n"
    "  --grayscale[=BOOL]        one luminance channel [false]\n"
    "  --eval-dev[=BOOL]         evaluate dev after every epoch [true]\n"
    "  --exp-id=ID               name of the run folder [main]\n"
    "  --runs-dir=DIR            where run folders go [runs]\n"
    "  --threads=N               OpenBLAS threads of nn-train\n"
    "  --debug[=BOOL]            debug logs from every stage [false]\n"
    "  -h, --help                print this help and exit\n"
    "\n"
    "Exit status: 0 ok, 1 a stage failed, 2 usage error.\n";

/* Flags of the original tool that this version does not implement yet. */
static const char *const later_flags[] = {
    "experiment", "training-times", "dropout-rate", "weight-decay",
    "gradient-checks", "instability-checks", "profiling", "track-layer",
    "display-samples", "early-stopping-patience", "nbr-clones",
    "rot-angle", "noise-intensity", "minmax-normalize", "data-loader",
    "loss", "accuracy", NULL
};

typedef struct {
    const char *dataset, *model, *layers, *optimizer, *exp_id, *runs_dir;
    const char *learning_rate, *decay;
    long epochs, batch_size, threads;
    long long model_seed, dataset_seed;
    int width, height;          /* 0: keep */
    int grayscale, eval_dev, debug;
} options;

#define MAX_ARGS 48
#define MAX_STAGES 6

typedef struct {
    char *argv[MAX_ARGS];
    int argc;
} stage;

typedef struct {
    stage stages[MAX_STAGES];
    int n;
    const char *output;         /* file the last stage writes, or NULL */
} pipeline;

static const char *bin_dir;     /* folder of this executable */

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

static void check_name(const char *flag, const char *value,
                       const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (strcasecmp(value, allowed[i]) == 0)
            return;
    nn_usage_error("invalid value '%s' for --%s", value, flag);
}

static void parse_args(int argc, char **argv, options *o)
{
    static const char *const models[] = {"OneLayer", "NLayers", "one-layer",
                                         "n-layers", NULL};
    static const char *const optimizers[] = {
        "Adam", "Constant", "ExponentialDecay", "exponential-decay", NULL};

    *o = (options){.dataset = "colors", .model = "OneLayer", .layers = "100",
                   .optimizer = "Adam", .exp_id = "main", .runs_dir = "runs",
                   .learning_rate = "0.001", .decay = "0.9", .epochs = 100,
                   .batch_size = 5000, .eval_dev = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            nn_cli_common('h');
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0)
            nn_cli_common('V');
        if (strncmp(arg, "--", 2) != 0)
            nn_usage_error("unexpected argument '%s'", arg);
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)len, arg + 2);
        for (int k = 0; later_flags[k]; k++)
            if (strcmp(name, later_flags[k]) == 0)
                nn_usage_error("option '--%s' is not supported yet", name);
#define IS(flag) (strcmp(name, flag) == 0)
#define VALUE() take_value(argc, argv, &i, eq, name)
        if (IS("dataset")) o->dataset = VALUE();
        else if (IS("model")) check_name(name, o->model = VALUE(), models);
        else if (IS("layers")) o->layers = VALUE();
        else if (IS("optimizer"))
            check_name(name, o->optimizer = VALUE(), optimizers);
        else if (IS("learning-rate")) {
            o->learning_rate = VALUE();
            nn_cli_double("--learning-rate", o->learning_rate, 0, 1e6);
        } else if (IS("decay")) {
            o->decay = VALUE();
            nn_cli_double("--decay", o->decay, 0, 1e6);
        } else if (IS("nbr-epochs"))
            o->epochs = nn_cli_int("--nbr-epochs", VALUE(), 1, 1000000);
        else if (IS("max-minibatch-size"))
            o->batch_size = nn_cli_int("--max-minibatch-size", VALUE(), 1,
                                       1 << 20);
        else if (IS("model-seed"))
            o->model_seed = nn_cli_int("--model-seed", VALUE(), 0, INT64_MAX);
        else if (IS("dataset-seed"))
            o->dataset_seed = nn_cli_int("--dataset-seed", VALUE(), 0,
                                         INT64_MAX);
        else if (IS("resize"))
            nn_cli_size("--resize", VALUE(), &o->width, &o->height);
        else if (IS("grayscale")) o->grayscale = take_bool(argc, argv, &i,
                                                           eq, name);
        else if (IS("eval-dev")) o->eval_dev = take_bool(argc, argv, &i, eq,
                                                         name);
        else if (IS("debug")) o->debug = take_bool(argc, argv, &i, eq, name);
        else if (IS("exp-id")) o->exp_id = VALUE();
        else if (IS("runs-dir")) o->runs_dir = VALUE();
        else if (IS("threads"))
            o->threads = nn_cli_int("--threads", VALUE(), 1, 1024);
        else
            nn_usage_error("unknown option '%s'", arg);
#undef IS
#undef VALUE
    }
    if (!*o->exp_id || strchr(o->exp_id, '/') || o->exp_id[0] == '.')
        nn_usage_error("invalid value '%s' for --exp-id: expected a plain "
                       "name", o->exp_id);
}

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

static void add(stage *s, const char *fmt, ...) NN_PRINTF(2, 3);

static void add(stage *s, const char *fmt, ...)
{
    va_list ap;
    char buf[PATH_MAX + 64], *arg;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (s->argc == MAX_ARGS - 1 || !(arg = strdup(buf)))
        nn_die(ENOMEM, "cannot build the pipeline");
    s->argv[s->argc++] = arg;
    s->argv[s->argc] = NULL;
}

static stage *new_stage(pipeline *p, const char *program, const options *o)
{
    stage *s = &p->stages[p->n++];

    memset(s, 0, sizeof *s);
    add(s, "%s", program);
    add(s, o->debug ? "--debug" : "-q");
    return s;
}

/* nn-load [| nn-resize] for one partition. */
static void add_source(pipeline *p, const options *o, const char *dataset,
                       const char *partition)
{
    stage *s = new_stage(p, "nn-load", o);

    add(s, "--partition=%s", partition);
    add(s, "--dataset-seed=%lld", o->dataset_seed);
    add(s, "%s", dataset);
    if (o->width || o->grayscale) {
        s = new_stage(p, "nn-resize", o);
        if (o->width)
            add(s, "--size=%dx%d", o->width, o->height);
        else
            add(s, "--keep-size");
        if (o->grayscale)
            add(s, "--grayscale");
    }
}

static void build_training(pipeline *p, const options *o, const char *dataset,
                           const char *dir)
{
    stage *s;

    add_source(p, o, dataset, "training");
    s = new_stage(p, "nn-shuffle", o);
    add(s, "--epochs=%ld", o->epochs);
    add(s, "--seed=%lld", o->dataset_seed);
    s = new_stage(p, "nn-batch", o);
    add(s, "%ld", o->batch_size);
    s = new_stage(p, "nn-train", o);
    add(s, "--model=%s", o->model);
    add(s, "--layers=%s", o->layers);
    add(s, "--optimizer=%s", o->optimizer);
    add(s, "--learning-rate=%s", o->learning_rate);
    add(s, "--decay=%s", o->decay);
    add(s, "--model-seed=%lld", o->model_seed);
    if (o->eval_dev)
        add(s, "--dev=%s/dev.nn", dir);
    add(s, "--save=%s/model.nn", dir);
    if (o->threads)
        add(s, "--threads=%ld", o->threads);
}

/* Quote arg for a POSIX shell when it holds anything unusual. */
static void put_quoted(FILE *fp, const char *arg)
{
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
                       "UVWXYZ0123456789-_=./,:+@%") == strlen(arg)) {
        fputs(arg, fp);
        return;
    }
    fputc('\'', fp);
    for (; *arg; arg++) {
        if (*arg == '\'')
            fputs("'\\''", fp);
        else
            fputc(*arg, fp);
    }
    fputc('\'', fp);
}

static void print_pipeline(FILE *fp, const pipeline *p)
{
    for (int i = 0; i < p->n; i++) {
        if (i)
            fputs(" \\\n  | ", fp);
        for (int a = 0; a < p->stages[i].argc; a++) {
            if (a)
                fputc(' ', fp);
            put_quoted(fp, p->stages[i].argv[a]);
        }
    }
    if (p->output) {
        fputs(" \\\n  > ", fp);
        put_quoted(fp, p->output);
    }
    fputc('\n', fp);
}

static void exec_stage(const stage *s)
{
    char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/%s", bin_dir, s->argv[0]);
    if (access(path, X_OK) == 0)
        execv(path, s->argv);
    execvp(s->argv[0], s->argv);
    fprintf(stderr, "%s: cannot run '%s': %s\n", nn_err_program(),
            s->argv[0], strerror(errno));
    _exit(127);
}

/*
 * Start the stages connected by pipes.  The last one writes to out_fd.
 * Returns the read end of stdin of nobody: stage 0 reads /dev/null.
 */
static void start(const pipeline *p, int out_fd, pid_t *pids)
{
    int in_fd = open("/dev/null", O_RDONLY);

    if (in_fd < 0)
        nn_die(errno, "cannot open /dev/null");
    for (int i = 0; i < p->n; i++) {
        int fds[2] = {-1, -1};
        if (i < p->n - 1 && pipe(fds) < 0)
            nn_die(errno, "cannot create a pipe");
        pids[i] = fork();
        if (pids[i] < 0)
            nn_die(errno, "cannot start '%s'", p->stages[i].argv[0]);
        if (pids[i] == 0) {
            dup2(in_fd, STDIN_FILENO);
            dup2(i < p->n - 1 ? fds[1] : out_fd, STDOUT_FILENO);
            close(in_fd);
            if (fds[0] >= 0) {
                close(fds[0]);
                close(fds[1]);
            }
            close(out_fd);
            exec_stage(&p->stages[i]);
        }
        close(in_fd);
        if (i < p->n - 1) {
            close(fds[1]);
            in_fd = fds[0];
        }
    }
}

/*
 * Wait for every stage.  A stage killed by SIGPIPE only stopped because
 * a later stage did, so the failure reported is the last real one.
 */
static int wait_all(const pipeline *p, pid_t *pids)
{
    int failed = -1, code = 0;

    for (int i = 0; i < p->n; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        int sigpipe = WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && !sigpipe) {
            failed = i;
            code = WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        }
    }
    if (failed >= 0) {
        nn_log_warn("stage %d '%s' failed with status %d", failed + 1,
                    p->stages[failed].argv[0], code);
        return -1;
    }
    return 0;
}

/* Run a pipeline whose output goes to a file. */
static void run_to_file(pipeline *p, const char *path)
{
    pid_t pids[MAX_STAGES];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0)
        nn_die(errno, "cannot create '%s'", path);
    p->output = path;
    start(p, fd, pids);
    close(fd);
    if (wait_all(p, pids) < 0)
        nn_die(0, "the pipeline failed; see the messages above");
}

/* The last epoch's metrics, for the summary. */
typedef struct {
    long long epoch, samples, parameters;
    double cost, accuracy, dev_cost, dev_accuracy, seconds;
    int has_dev;
    long *confusion;
    int n_classes;
    char **classes;
} last_epoch;

static void read_epoch(const nn_reader *r, last_epoch *e)
{
    char err[160];
    int64_t v;
    const msgpack_object *cm;

    nn_field_int(r->obj, "epoch", &v, err, sizeof err);
    e->epoch = v;
    nn_field_int(r->obj, "samples", &v, err, sizeof err);
    e->samples = v;
    nn_field_int(r->obj, "parameters", &v, err, sizeof err);
    e->parameters = v;
    nn_field_double(r->obj, "cost", &e->cost, err, sizeof err);
    nn_field_double(r->obj, "accuracy", &e->accuracy, err, sizeof err);
    nn_field_double(r->obj, "seconds", &e->seconds, err, sizeof err);
    e->has_dev = nn_field_double(r->obj, "dev_accuracy", &e->dev_accuracy,
                                 err, sizeof err) == 0;
    nn_field_double(r->obj, "dev_cost", &e->dev_cost, err, sizeof err);
    cm = nn_map_get(r->obj, "dev_confusion");
    if (cm && cm->type == MSGPACK_OBJECT_ARRAY &&
        cm->via.array.size == (uint32_t)e->n_classes) {
        for (int i = 0; i < e->n_classes; i++) {
            const msgpack_object *row = &cm->via.array.ptr[i];
            for (int j = 0; j < e->n_classes; j++)
                e->confusion[i * e->n_classes + j] =
                    row->type == MSGPACK_OBJECT_ARRAY &&
                    row->via.array.size == (uint32_t)e->n_classes
                        ? (long)row->via.array.ptr[j].via.u64 : 0;
        }
    }
}

static void show_progress(const options *o, const nn_reader *r,
                          const last_epoch *e, int tty, long *batches,
                          long batches_per_epoch)
{
    char err[160];
    int64_t epoch = 0;
    double cost = 0;

    if (r->type != NN_REC_METRICS)
        return;
    const msgpack_object *scope = nn_map_get(r->obj, "scope");
    int is_epoch = scope && scope->type == MSGPACK_OBJECT_STR &&
                   scope->via.str.size == 5;
    if (!is_epoch) {
        (*batches)++;
        if (!tty)
            return;
        nn_field_int(r->obj, "epoch", &epoch, err, sizeof err);
        nn_field_double(r->obj, "cost", &cost, err, sizeof err);
        int width = 30, done = batches_per_epoch
            ? (int)(width * (*batches) / batches_per_epoch) : 0;
        fprintf(stderr, "\r[%s] epoch %lld/%ld [%-*.*s] minibatch %ld cost "
                "%.4f ", o->exp_id, (long long)epoch + 1, o->epochs, width,
                done > width ? width : done,
                "##############################", *batches, cost);
        return;
    }
    if (tty)
        fputs("\r\033[K", stderr);
    if (e->has_dev)
        nn_log_info("[%s] epoch %lld/%ld cost=%.4f accuracy=%.4f "
                    "dev_cost=%.4f dev_accuracy=%.4f elapsed=%.1fs",
                    o->exp_id, e->epoch + 1, o->epochs, e->cost,
                    e->accuracy, e->dev_cost, e->dev_accuracy, e->seconds);
    else
        nn_log_info("[%s] epoch %lld/%ld cost=%.4f accuracy=%.4f "
                    "elapsed=%.1fs", o->exp_id, e->epoch + 1, o->epochs,
                    e->cost, e->accuracy, e->seconds);
}

/*
 * Run the training pipeline into a pipe, copy its records to
 * metrics.nn and turn them into progress lines as they arrive.
 */
static void run_training(pipeline *p, const options *o, const char *dir,
                         last_epoch *e)
{
    pid_t pids[MAX_STAGES];
    int fds[2], tty = isatty(STDERR_FILENO);
    char *metrics = path_in(dir, "metrics.nn");
    long batches = 0, per_epoch = 0;
    nn_reader r;
    FILE *out;

    p->output = metrics;
    if (pipe(fds) < 0)
        nn_die(errno, "cannot create a pipe");
    start(p, fds[1], pids);
    close(fds[1]);
    if (!(out = fopen(metrics, "wb")))
        nn_die(errno, "cannot create '%s'", metrics);
    if (nn_reader_open(&r, NULL) < 0)
        nn_die(errno, "cannot read the metrics");
    r.fp = fdopen(fds[0], "rb");
    snprintf(r.name, sizeof r.name, "the metrics of nn-train");
    for (;;) {
        int got = nn_reader_next(&r);
        if (got < 0) {
            wait_all(p, pids);
            nn_die(0, "%s: %s", r.name, r.err);
        }
        if (got == 0)
            break;
        nn_io_write(out, r.raw, r.raw_len);
        if (r.index == 1) {
            e->n_classes = r.header.n_classes;
            e->classes = r.header.classes;
            e->confusion = calloc((size_t)e->n_classes * e->n_classes,
                                  sizeof *e->confusion);
            continue;
        }
        const msgpack_object *scope = nn_map_get(r.obj, "scope");
        if (r.type == NN_REC_METRICS && scope && scope->via.str.size == 5) {
            read_epoch(&r, e);
            per_epoch = batches;
            batches = 0;
        }
        show_progress(o, &r, e, tty, &batches, per_epoch);
    }
    if (fclose(out) != 0)
        nn_die(errno, "cannot write '%s'", metrics);
    if (wait_all(p, pids) < 0)
        nn_die(0, "the pipeline failed; see the messages above");
    /* keep the class names: the reader's copy goes with it */
    r.header.classes = NULL;
    r.header.n_classes = 0;
    nn_reader_close(&r);
}

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
static void put_json_number(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, "%.17g", v);
    else
        fputs("null", fp);
}

static void write_summary(const char *dir, const options *o,
                          const char *dataset, const last_epoch *e,
                          double seconds)
{
    char *path = path_in(dir, "summary.json");
    nn_atomic_file f;

    if (nn_atomic_open(&f, path) < 0)
        nn_die(errno, "cannot create '%s'", path);
    FILE *fp = f.fp;
    fputs("{\n  \"exp_id\": ", fp);
    put_json_string(fp, o->exp_id);
    fputs(",\n  \"dataset\": ", fp);
    put_json_string(fp, dataset);
    fputs(",\n  \"model\": ", fp);
    put_json_string(fp, o->model);
    fputs(",\n  \"layers\": ", fp);
    put_json_string(fp, o->layers);
    fputs(",\n  \"optimizer\": ", fp);
    put_json_string(fp, o->optimizer);
    fprintf(fp, ",\n  \"learning_rate\": %s,\n  \"max_minibatch_size\": %ld,"
            "\n  \"model_seed\": %lld,\n  \"dataset_seed\": %lld,"
            "\n  \"parameters\": %lld,\n  \"training_samples\": %lld,"
            "\n  \"epochs\": %lld,\n  \"training_cost\": ", o->learning_rate,
            o->batch_size, o->model_seed, o->dataset_seed, e->parameters,
            e->samples, e->epoch + 1);
    put_json_number(fp, e->cost);
    fputs(",\n  \"training_accuracy\": ", fp);
    put_json_number(fp, e->accuracy);
    fputs(",\n  \"dev_cost\": ", fp);
    if (e->has_dev)
        put_json_number(fp, e->dev_cost);
    else
        fputs("null", fp);
    fputs(",\n  \"dev_accuracy\": ", fp);
    if (e->has_dev)
        put_json_number(fp, e->dev_accuracy);
    else
        fputs("null", fp);
    fprintf(fp, ",\n  \"seconds\": %.3f\n}\n", seconds);
    if (nn_atomic_commit(&f) < 0)
        nn_die(errno, "cannot write '%s'", path);
}

static void print_confusion(const last_epoch *e)
{
    int C = e->n_classes;

    fprintf(stderr, "dev confusion matrix (rows: true class, columns: "
            "predicted class)\n%10s", "");
    for (int j = 0; j < C; j++)
        fprintf(stderr, " %6.6s", e->classes[j]);
    fputc('\n', stderr);
    for (int i = 0; i < C; i++) {
        fprintf(stderr, "%10.10s", e->classes[i]);
        for (int j = 0; j < C; j++)
            fprintf(stderr, " %6ld", e->confusion[i * C + j]);
        fputc('\n', stderr);
    }
}

static void write_script(const char *dir, const pipeline *dev,
                         const pipeline *train)
{
    char *path = path_in(dir, "pipeline.sh");
    FILE *fp;

    if (!(fp = fopen(path, "w")))
        nn_die(errno, "cannot create '%s'", path);
    fputs("#!/bin/sh\n# The pipelines nn-run ran, from the folder it ran "
          "in, with the nn-*\n# programs on PATH.\nset -e\n", fp);
    if (dev->n)
        print_pipeline(fp, dev);
    print_pipeline(fp, train);
    if (fclose(fp) != 0)
        nn_die(errno, "cannot write '%s'", path);
    chmod(path, 0755);
}

/* Remove a run folder made by nn-run (flat: files only). */
static void remove_run_dir(const char *dir)
{
    static const char *const files[] = {
        "pipeline.sh", "dev.nn", "metrics.nn", "model.nn", "summary.json",
        NULL};
    for (int i = 0; files[i]; i++) {
        char *path = path_in(dir, files[i]);
        unlink(path);
        free(path);
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        nn_die(errno, "cannot replace '%s'", dir);
}

static char *tmp_dir_path;

static void remove_tmp_dir(void)
{
    if (tmp_dir_path)
        remove_run_dir(tmp_dir_path);
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
    options o;
    pipeline dev = {0}, train = {0}, dev_shown = {0}, train_shown = {0};
    last_epoch e = {0};
    char final_dir[PATH_MAX], tmp_dir[PATH_MAX];
    struct timespec t0, t1;

    nn_cli_init(argc, argv, usage);
    find_bin_dir(argv[0]);
    parse_args(argc, argv, &o);
    if (o.debug)
        nn_log_set_level(NN_LOG_DEBUG);
    char *dataset = find_dataset(o.dataset);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* work in a hidden folder; it replaces runs/<id> only when complete */
    if (mkdir(o.runs_dir, 0755) < 0 && errno != EEXIST)
        nn_die(errno, "cannot create '%s'", o.runs_dir);
    snprintf(final_dir, sizeof final_dir, "%s/%s", o.runs_dir, o.exp_id);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/.%s.tmp-XXXXXX", o.runs_dir,
             o.exp_id);
    if (!mkdtemp(tmp_dir))
        nn_die(errno, "cannot create a folder in '%s'", o.runs_dir);
    tmp_dir_path = tmp_dir;
    atexit(remove_tmp_dir);
    chmod(tmp_dir, 0755);

    if (o.eval_dev) {
        add_source(&dev, &o, dataset, "dev");
        add_source(&dev_shown, &o, dataset, "dev");
    }
    build_training(&train, &o, dataset, tmp_dir);
    build_training(&train_shown, &o, dataset, final_dir);
    dev_shown.output = path_in(final_dir, "dev.nn");
    train_shown.output = path_in(final_dir, "metrics.nn");
    write_script(tmp_dir, &dev_shown, &train_shown);
    nn_log_info("[%s] running, results in %s/:", o.exp_id, final_dir);
    if (o.eval_dev)
        print_pipeline(stderr, &dev_shown);
    print_pipeline(stderr, &train_shown);

    if (o.eval_dev) {
        run_to_file(&dev, path_in(tmp_dir, "dev.nn"));
    }
    run_training(&train, &o, tmp_dir, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    write_summary(tmp_dir, &o, o.dataset, &e,
                  (double)(t1.tv_sec - t0.tv_sec) +
                  (t1.tv_nsec - t0.tv_nsec) * 1e-9);

    remove_run_dir(final_dir);
    if (rename(tmp_dir, final_dir) < 0)
        nn_die(errno, "cannot rename '%s' to '%s'", tmp_dir, final_dir);
    tmp_dir_path = NULL;
    if (e.has_dev)
        print_confusion(&e);
    if (e.has_dev)
        nn_log_info("[%s] done in %.1fs: training_accuracy=%.4f "
                    "dev_accuracy=%.4f, results in %s/", o.exp_id,
                    e.seconds, e.accuracy, e.dev_accuracy, final_dir);
    else
        nn_log_info("[%s] done in %.1fs: training_accuracy=%.4f, results "
                    "in %s/", o.exp_id, e.seconds, e.accuracy, final_dir);
    return 0;
}
