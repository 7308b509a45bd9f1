/*
 * nn-plot: charts of the metrics streams that nn-train writes, drawn by
 * gnuplot (learning curves, the dev confusion matrix), and image grids
 * of tracked parameter rows or sample records, written as PNG by libpng.
 * It reads each input to its end before drawing.  --watch redraws by
 * reading the files again from the start, so it watches files, not pipes.
 */
#define _XOPEN_SOURCE 700       /* realpath */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
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
#include "nn_png.h"
#include "nn_record.h"

extern char **environ;

static const char usage[] =
    "Usage: nn-plot [OPTION]... -o OUT FILE...\n"
    "Draw the metrics streams written by nn-train, or the sample records\n"
    "of a stream, into the image OUT.  OUT ending in .png is drawn with\n"
    "gnuplot's pngcairo terminal, .svg with its svg terminal; track and\n"
    "samples write PNG only.  FILE '-' is standard input.\n"
    "\n"
    "  -o, --output=OUT        image to write, .png or .svg (required)\n"
    "  -k, --kind=KIND         curves: cost and accuracy panels side by\n"
    "                          side; cost, accuracy: one of them;\n"
    "                          confusion: the last dev confusion matrix;\n"
    "                          track: tracked parameter rows as images;\n"
    "                          samples: a grid of sample images [curves]\n"
    "  -s, --size=WxH          chart size in pixels [curves 1200x500, cost\n"
    "                          and accuracy 1000x600, confusion 800x700]\n"
    "  -t, --title=TEXT        chart title [the experiment names]\n"
    "      --track-name=NAME   parameter that track draws [the first one in\n"
    "                          the stream]\n"
    "  -n, --count=N           samples: images in the grid [16]\n"
    "      --scale=N           track, samples: each pixel becomes NxN, 1 to\n"
    "                          16 [the largest up to 8 that keeps the image\n"
    "                          within 800 pixels wide]\n"
    "  -w, --watch             redraw whenever a FILE grows, checking its\n"
    "                          size once a second; a record still being\n"
    "                          written at its end waits for the next check\n"
    "      --watch-timeout=S   stop watching after S seconds in which no\n"
    "                          FILE grew [600]\n"
    "      --watch-epochs=N    stop watching once every FILE has N epoch\n"
    "                          records\n"
    "\n"
    "curves, cost and accuracy take one or more FILEs, one experiment\n"
    "each; the other kinds take one.  A minibatch is drawn at x = epoch +\n"
    "index / (minibatches in its epoch) and an epoch's training and dev\n"
    "results at x = epoch + 1, when that epoch ends, so x counts the\n"
    "epochs trained.  A red dot marks the epoch where early stopping\n"
    "triggered.  An experiment is named by the header field 'experiment',\n"
    "or else by the folder that contains its FILE.  Needs gnuplot (Debian\n"
    "package gnuplot-nox) for every kind but track and samples.\n";

typedef enum {
    KIND_CURVES, KIND_COST, KIND_ACCURACY, KIND_CONFUSION, KIND_TRACK,
    KIND_SAMPLES
} chart_kind;

static const char *const kind_names[] = {
    "curves", "cost", "accuracy", "confusion", "track", "samples", NULL
};

typedef struct {
    chart_kind kind;
    const char *output;
    int svg;
    int width, height;          /* 0: the kind's default */
    const char *title;
    const char *track_name;
    int count;
    int scale;                  /* 0: automatic */
    int watch;
    long watch_timeout_s;
    long watch_epochs;          /* 0: no epoch limit */
    char **files;
    int n_files;
} options;

typedef struct {
    int64_t epoch, index;
    double cost, accuracy;
} minibatch_point;

typedef struct {
    int64_t epoch;
    double cost, accuracy;
    int has_dev;
    double dev_cost, dev_accuracy;
} epoch_point;

/* The rows of one parameter after one epoch: values (n_rows, n_cols). */
typedef struct {
    int64_t epoch;
    int64_t n_rows, n_cols;
    double *values;
} track_frame;

/* Everything drawn from one FILE. */
typedef struct {
    const char *path;           /* FILE as given, for messages */
    char read_path[32];         /* "/dev/fd/N" while watching, else "" */
    char *name;                 /* experiment name for legends */
    int n_classes;
    char **classes;
    minibatch_point *batches;
    size_t n_batches, cap_batches;
    epoch_point *epochs;
    size_t n_epochs, cap_epochs;
    int64_t *confusion;         /* (n_classes, n_classes), or NULL */
    int64_t confusion_epoch;
    int64_t early_stop;         /* -1: never triggered */
    char *track_name;           /* the parameter kept in frames */
    char track_names[256];      /* every tracked name seen, for errors */
    track_frame *frames;
    size_t n_frames, cap_frames;
    nn_image *samples;
    size_t n_samples;
} experiment;

/*
 * The six hues that the original tool cycles through, as RGB: bright
 * for training, and gnuplot's midnight-blue, dark-red, dark-green,
 * dark-violet, dark-goldenrod and dark-orange for dev.
 */
static const char *const bright_hues[] = {
    "#0000ff", "#ff0000", "#00ff00", "#ff00ff", "#ffd700", "#ffa500"
};
static const char *const dark_hues[] = {
    "#191970", "#8b0000", "#006400", "#9400d3", "#b8860b", "#c04000"
};
#define N_HUES 6

/* ---- options ---------------------------------------------------------- */

static chart_kind parse_kind(const char *arg)
{
    for (int i = 0; kind_names[i]; i++)
        if (strcmp(arg, kind_names[i]) == 0)
            return (chart_kind)i;
    nn_usage_error("invalid kind '%s': expected curves, cost, accuracy, "
                   "confusion, track or samples", arg);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* Check the option combinations that getopt cannot see; exit 2 if bad. */
static void check_args(options *o)
{
    if (!o->output)
        nn_usage_error("missing option --output: name the image to write");
    if (ends_with(o->output, ".svg"))
        o->svg = 1;
    else if (!ends_with(o->output, ".png"))
        nn_usage_error("invalid output '%s': expected a name ending in .png "
                       "or .svg", o->output);
    for (const char *p = o->output; *p; p++)
        if (iscntrl((unsigned char)*p))
            nn_usage_error("invalid output name: it contains a control "
                           "character");
    if (o->n_files == 0)
        nn_usage_error("missing FILE: name the streams to draw");
    if (o->kind >= KIND_CONFUSION && o->n_files > 1)
        nn_usage_error("--kind=%s takes one FILE, got %d",
                       kind_names[o->kind], o->n_files);
    if (o->kind >= KIND_TRACK && o->svg)
        nn_usage_error("--kind=%s writes PNG only: name OUT '.png'",
                       kind_names[o->kind]);
    if (o->kind >= KIND_TRACK && o->width)
        nn_usage_error("--size does not apply to --kind=%s; use --scale",
                       kind_names[o->kind]);
    if (o->watch_epochs && !o->watch)
        nn_usage_error("--watch-epochs needs --watch");
    for (int i = 0; o->watch && i < o->n_files; i++)
        if (strcmp(o->files[i], "-") == 0)
            nn_usage_error("--watch reads files: standard input cannot be "
                           "read again");
}

static void parse_args(int argc, char **argv, options *o)
{
    enum { OPT_TRACK = NN_OPT_TOOL, OPT_SCALE, OPT_TIMEOUT, OPT_EPOCHS };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"kind", required_argument, NULL, 'k'},
        {"size", required_argument, NULL, 's'},
        {"title", required_argument, NULL, 't'},
        {"track-name", required_argument, NULL, OPT_TRACK},
        {"count", required_argument, NULL, 'n'},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"watch", no_argument, NULL, 'w'},
        {"watch-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"watch-epochs", required_argument, NULL, OPT_EPOCHS},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(o, 0, sizeof *o);
    o->count = 16;
    o->watch_timeout_s = 600;
    while ((c = getopt_long(argc, argv, ":o:k:s:t:n:w" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'k': o->kind = parse_kind(optarg); break;
        case 's': nn_cli_size("--size", optarg, &o->width, &o->height); break;
        case 't': o->title = optarg; break;
        case OPT_TRACK: o->track_name = optarg; break;
        case 'n': o->count = (int)nn_cli_int("--count", optarg, 1, 10000);
            break;
        case OPT_SCALE: o->scale = (int)nn_cli_int("--scale", optarg, 1, 16);
            break;
        case 'w': o->watch = 1; break;
        case OPT_TIMEOUT:
            o->watch_timeout_s = (long)nn_cli_int("--watch-timeout", optarg,
                                                  1, 86400 * 30);
            break;
        case OPT_EPOCHS:
            o->watch_epochs = (long)nn_cli_int("--watch-epochs", optarg, 1,
                                               INT32_MAX);
            break;
        default:
            nn_cli_common(c);
        }
    }
    o->files = argv + optind;
    o->n_files = argc - optind;
    check_args(o);
}

/* ---- reading ---------------------------------------------------------- */

static void *grow(void *array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return array;
    size_t new_cap = *cap ? 2 * *cap : 64;
    void *p = realloc(array, new_cap * size);
    if (!p)
        nn_die(ENOMEM, "cannot hold the metrics");
    *cap = new_cap;
    return p;
}

static char *dup_or_die(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p)
        nn_die(ENOMEM, "cannot copy a name");
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/*
 * Name an experiment after the folder that contains path.  nn-run
 * trains in a hidden folder ".ID.tmp-XXXXXX" and renames it to ID when
 * the run succeeds, so that form also gives ID.
 */
static char *folder_name(const char *path)
{
    char *full = realpath(path, NULL);
    char *name;

    if (!full)
        return dup_or_die(path, strlen(path));
    char *slash = strrchr(full, '/');
    *slash = '\0';
    slash = strrchr(full, '/');
    const char *dir = slash ? slash + 1 : full;
    const char *tmp = strstr(dir, ".tmp-");
    if (dir[0] == '.' && tmp && tmp > dir + 1)
        name = dup_or_die(dir + 1, (size_t)(tmp - dir - 1));
    else
        name = dup_or_die(*dir ? dir : "/", strlen(*dir ? dir : "/"));
    free(full);
    return name;
}

/* Copy the classes and the experiment name from the header.  path is
 * the file that was opened. */
static void take_header(experiment *x, const nn_reader *r, const char *path)
{
    const msgpack_object *id = nn_map_get(r->obj, "experiment");

    if (id && id->type == MSGPACK_OBJECT_STR && id->via.str.size > 0)
        x->name = dup_or_die(id->via.str.ptr, id->via.str.size);
    else if (strcmp(x->path, "-") == 0)
        x->name = dup_or_die("standard input", 14);
    else
        x->name = folder_name(path);
    x->n_classes = r->header.n_classes;
    x->classes = calloc((size_t)x->n_classes, sizeof *x->classes);
    if (!x->classes)
        nn_die(ENOMEM, "cannot copy the class names");
    for (int i = 0; i < x->n_classes; i++)
        x->classes[i] = dup_or_die(r->header.classes[i],
                                   strlen(r->header.classes[i]));
}

static int64_t need_int(const nn_reader *r, const char *key)
{
    char err[160];
    int64_t v;

    if (nn_field_int(r->obj, key, &v, err, sizeof err) < 0)
        nn_reader_die(r, "metrics: %s", err);
    return v;
}

static double need_double(const nn_reader *r, const char *key)
{
    char err[160];
    double v;

    if (nn_field_double(r->obj, key, &v, err, sizeof err) < 0)
        nn_reader_die(r, "metrics: %s", err);
    return v;
}

/* Copy a dev_confusion array, which must be (classes, classes) counts. */
static void take_confusion(experiment *x, const nn_reader *r,
                           const msgpack_object *cm, int64_t epoch)
{
    int C = x->n_classes;

    if (cm->type != MSGPACK_OBJECT_ARRAY || cm->via.array.size != (uint32_t)C)
        nn_reader_die(r, "metrics: dev_confusion is not a %dx%d array of "
                      "counts", C, C);
    if (!x->confusion) {
        x->confusion = malloc((size_t)C * C * sizeof *x->confusion);
        if (!x->confusion)
            nn_die(ENOMEM, "cannot hold the confusion matrix");
    }
    for (int i = 0; i < C; i++) {
        const msgpack_object *row = &cm->via.array.ptr[i];
        if (row->type != MSGPACK_OBJECT_ARRAY ||
            row->via.array.size != (uint32_t)C)
            nn_reader_die(r, "metrics: dev_confusion is not a %dx%d array "
                          "of counts", C, C);
        for (int j = 0; j < C; j++) {
            const msgpack_object *v = &row->via.array.ptr[j];
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                v->via.u64 > INT64_MAX)
                nn_reader_die(r, "metrics: dev_confusion is not a %dx%d "
                              "array of counts", C, C);
            x->confusion[i * C + j] = (int64_t)v->via.u64;
        }
    }
    x->confusion_epoch = epoch;
}

static void take_epoch(experiment *x, const nn_reader *r)
{
    const msgpack_object *cm = nn_map_get(r->obj, "dev_confusion");
    epoch_point p = {0};

    p.epoch = need_int(r, "epoch");
    p.cost = need_double(r, "cost");
    p.accuracy = need_double(r, "accuracy");
    if (nn_map_get(r->obj, "dev_cost")) {
        p.has_dev = 1;
        p.dev_cost = need_double(r, "dev_cost");
        p.dev_accuracy = need_double(r, "dev_accuracy");
    }
    x->epochs = grow(x->epochs, &x->cap_epochs, x->n_epochs, sizeof p);
    x->epochs[x->n_epochs++] = p;
    if (cm)
        take_confusion(x, r, cm, p.epoch);
}

/* Remember name in the list of tracked names shown by errors. */
static void note_track_name(experiment *x, const char *name, size_t n)
{
    char quoted[128];
    size_t used = strlen(x->track_names);

    snprintf(quoted, sizeof quoted, "'%.*s'", (int)(n < 100 ? n : 100), name);
    if (strstr(x->track_names, quoted))
        return;
    snprintf(x->track_names + used, sizeof x->track_names - used, "%s%s",
             used ? ", " : "", quoted);
}

static double tensor_value(const nn_tensor *t, size_t i)
{
    if (t->dtype == NN_F32) {
        float f;
        memcpy(&f, (const char *)t->data + 4 * i, 4);
        return f;
    }
    double d;
    memcpy(&d, (const char *)t->data + 8 * i, 8);
    return d;
}

static void take_track(experiment *x, const nn_reader *r,
                       const char *wanted)
{
    const char *name;
    size_t name_len;
    nn_tensor t;
    char err[160];

    if (nn_field_str(r->obj, "name", &name, &name_len, err, sizeof err) < 0)
        nn_reader_die(r, "metrics: %s", err);
    note_track_name(x, name, name_len);
    if (!x->track_name && wanted)
        x->track_name = dup_or_die(wanted, strlen(wanted));
    else if (!x->track_name)
        x->track_name = dup_or_die(name, name_len);
    if (strlen(x->track_name) != name_len ||
        memcmp(x->track_name, name, name_len) != 0)
        return;

    if (nn_field_tensor(r->obj, &t, err, sizeof err) < 0)
        nn_reader_die(r, "metrics: track: %s", err);
    if (t.n_dims != 2 || (t.dtype != NN_F32 && t.dtype != NN_F64))
        nn_reader_die(r, "metrics: track: expected f32 or f64 values of "
                      "shape [rows, columns]");
    if (x->n_frames && (x->frames[0].n_rows != t.shape[0] ||
                        x->frames[0].n_cols != t.shape[1]))
        nn_reader_die(r, "metrics: track: shape [%lld, %lld] differs from "
                      "the first record's", (long long)t.shape[0],
                      (long long)t.shape[1]);
    track_frame f = {need_int(r, "epoch"), t.shape[0], t.shape[1], NULL};
    size_t n = (size_t)(f.n_rows * f.n_cols);
    f.values = malloc(n * sizeof *f.values);
    if (!f.values)
        nn_die(ENOMEM, "cannot hold the tracked values");
    for (size_t i = 0; i < n; i++)
        f.values[i] = tensor_value(&t, i);
    x->frames = grow(x->frames, &x->cap_frames, x->n_frames, sizeof f);
    x->frames[x->n_frames++] = f;
}

static void take_metrics(experiment *x, const nn_reader *r,
                         const options *o)
{
    const char *scope;
    size_t n;
    char err[160];

    if (nn_field_str(r->obj, "scope", &scope, &n, err, sizeof err) < 0)
        nn_reader_die(r, "metrics: %s", err);
    if (n == 9 && memcmp(scope, "minibatch", 9) == 0) {
        minibatch_point p = {need_int(r, "epoch"), need_int(r, "index"),
                             need_double(r, "cost"),
                             need_double(r, "accuracy")};
        x->batches = grow(x->batches, &x->cap_batches, x->n_batches,
                          sizeof p);
        x->batches[x->n_batches++] = p;
    } else if (n == 5 && memcmp(scope, "epoch", 5) == 0) {
        take_epoch(x, r);
    } else if (n == 10 && memcmp(scope, "early_stop", 10) == 0) {
        if (x->early_stop < 0)
            x->early_stop = need_int(r, "epoch");
    } else if (n == 5 && memcmp(scope, "track", 5) == 0 &&
               o->kind == KIND_TRACK) {
        take_track(x, r, o->track_name);
    }
}

static void take_sample(experiment *x, nn_reader *r, const options *o)
{
    nn_sample s;
    nn_image *img;

    if ((int)x->n_samples >= o->count)
        return;
    if (nn_reader_sample(r, &s) < 0)
        nn_reader_die(r, "%s", r->err);
    if (s.image.dtype != NN_U8 || (s.image.shape[2] != 1 &&
                                   s.image.shape[2] != 3))
        nn_reader_die(r, "sample: expected u8 pixels with 1 or 3 channels");
    if (!x->samples) {
        x->samples = calloc((size_t)o->count, sizeof *x->samples);
        if (!x->samples)
            nn_die(ENOMEM, "cannot hold the samples");
    }
    img = &x->samples[x->n_samples++];
    img->height = (int)s.image.shape[0];
    img->width = (int)s.image.shape[1];
    img->channels = (int)s.image.shape[2];
    img->data = malloc(s.image.n_bytes);
    if (!img->data)
        nn_die(ENOMEM, "cannot hold the samples");
    memcpy(img->data, s.image.data, s.image.n_bytes);
}

static void free_experiment(experiment *x)
{
    for (int i = 0; i < x->n_classes; i++)
        free(x->classes[i]);
    for (size_t i = 0; i < x->n_frames; i++)
        free(x->frames[i].values);
    for (size_t i = 0; i < x->n_samples; i++)
        nn_image_free(&x->samples[i]);
    free(x->classes);
    free(x->name);
    free(x->batches);
    free(x->epochs);
    free(x->confusion);
    free(x->track_name);
    free(x->frames);
    free(x->samples);
    const char *path = x->path;
    char read_path[sizeof x->read_path];
    memcpy(read_path, x->read_path, sizeof read_path);
    memset(x, 0, sizeof *x);
    x->path = path;
    memcpy(x->read_path, read_path, sizeof read_path);
    x->early_stop = -1;
}

/*
 * Is the read error the end of a file that is still being written?
 * While watching, nn-train may have written only part of a record, or
 * nothing yet; the reader flags both as incomplete.
 */
static int still_growing(const nn_reader *r)
{
    return r->incomplete;
}

/*
 * Read x from the start: x->read_path when set, else x->path.  Returns
 * 0, or -1 in watch mode when the file does not exist yet.  Any other
 * problem is fatal.
 */
static int read_experiment(experiment *x, const options *o)
{
    const char *path = x->read_path[0] ? x->read_path : x->path;
    nn_reader r;

    free_experiment(x);
    if (nn_reader_open(&r, path) < 0) {
        if (o->watch && errno == ENOENT)
            return -1;
        nn_die(errno, "cannot open '%s'", x->path);
    }
    if (x->read_path[0])
        snprintf(r.name, sizeof r.name, "'%s'", x->path);
    for (;;) {
        int rc = nn_reader_next(&r);
        if (rc == 0)
            break;
        if (rc < 0 && o->watch && still_growing(&r))
            break;
        if (rc < 0 && r.index == 0)
            nn_die(0, "%s: %s", r.name, r.err);
        if (rc < 0)
            nn_reader_die(&r, "%s", r.err);
        if (r.index == 1)
            take_header(x, &r, path);
        else if (r.type == NN_REC_METRICS)
            take_metrics(x, &r, o);
        else if (r.type == NN_REC_SAMPLE && o->kind == KIND_SAMPLES)
            take_sample(x, &r, o);
        if (o->kind == KIND_SAMPLES && (int)x->n_samples == o->count)
            break;
    }
    nn_reader_close(&r);
    return 0;
}

/*
 * Write into buf why x has nothing to draw for this kind and return
 * buf, or return NULL when x can be drawn.  While watching, minibatch
 * records are enough for the curves.
 */
static const char *missing_records(const experiment *x, const options *o,
                                   char *buf, size_t len)
{
    switch (o->kind) {
    case KIND_CURVES: case KIND_COST: case KIND_ACCURACY:
        if (x->n_epochs || (o->watch && x->n_batches))
            return NULL;
        snprintf(buf, len, "no epoch metrics in '%s'", x->path);
        return buf;
    case KIND_CONFUSION:
        if (x->confusion)
            return NULL;
        snprintf(buf, len, "no dev confusion matrix in '%s': train with "
                 "--dev", x->path);
        return buf;
    case KIND_TRACK:
        if (x->n_frames)
            return NULL;
        if (o->track_name && x->track_names[0])
            snprintf(buf, len, "no track records named '%s' in '%s' (it "
                     "tracks %s)", o->track_name, x->path, x->track_names);
        else
            snprintf(buf, len, "no track records in '%s'", x->path);
        return buf;
    default:
        if (x->n_samples)
            return NULL;
        snprintf(buf, len, "no sample records in '%s'", x->path);
        return buf;
    }
}

/* ---- gnuplot ---------------------------------------------------------- */

/* Write s as a single-quoted gnuplot string, in which '' is a quote. */
static void put_quoted(FILE *fp, const char *s)
{
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("''", fp);
        else if (iscntrl((unsigned char)*s))
            fputc('?', fp);
        else
            fputc(*s, fp);
    }
    fputc('\'', fp);
}

/* Gnuplot skips NaN points and breaks the line there. */
static void put_number(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, " %.9g", v);
    else
        fputs(" NaN", fp);
}

static void put_terminal(FILE *fp, const options *o, const char *tmp_path,
                         int width, int height)
{
    fprintf(fp, "set terminal %s size %d,%d font 'sans,%d' noenhanced "
            "background '#ffffff'\n", o->svg ? "svg" : "pngcairo",
            o->width ? o->width : width, o->height ? o->height : height,
            o->svg ? 12 : 10);
    fputs("set output ", fp);
    put_quoted(fp, tmp_path);
    fputs("\nset encoding utf8\n", fp);
}

/* Count the minibatches of epoch e as its largest index plus one.  An
 * epoch still running takes the count of the one before when larger. */
static double batches_in_epoch(const experiment *x, int64_t e)
{
    int64_t n = 0, before = 0;

    for (size_t i = 0; i < x->n_batches; i++) {
        const minibatch_point *p = &x->batches[i];
        if (p->epoch == e && p->index + 1 > n)
            n = p->index + 1;
        if (p->epoch == e - 1 && p->index + 1 > before)
            before = p->index + 1;
    }
    return (double)(n > before ? n : before);
}

/* Datablocks $mbI (x, cost, accuracy), $epI (x, cost, accuracy,
 * dev cost, dev accuracy) and $stopI (x, cost, accuracy). */
static void put_curve_data(FILE *fp, const experiment *x, int i)
{
    int64_t epoch = -1;
    double n = 1;

    fprintf(fp, "$mb%d << EOD\n", i);
    for (size_t k = 0; k < x->n_batches; k++) {
        const minibatch_point *p = &x->batches[k];
        if (p->epoch != epoch) {
            epoch = p->epoch;
            n = batches_in_epoch(x, epoch);
        }
        put_number(fp, (double)p->epoch + (double)p->index / n);
        put_number(fp, p->cost);
        put_number(fp, p->accuracy);
        fputc('\n', fp);
    }
    fprintf(fp, "EOD\n$ep%d << EOD\n", i);
    for (size_t k = 0; k < x->n_epochs; k++) {
        const epoch_point *p = &x->epochs[k];
        put_number(fp, (double)p->epoch + 1);
        put_number(fp, p->cost);
        put_number(fp, p->accuracy);
        put_number(fp, p->has_dev ? p->dev_cost : NAN);
        put_number(fp, p->has_dev ? p->dev_accuracy : NAN);
        fputc('\n', fp);
    }
    fputs("EOD\n", fp);
}

/* An early-stop dot: its x and the cost and accuracy drawn there. */
typedef struct {
    double x, cost, accuracy;
} stop_point;

/*
 * The early-stop dots of x, at most 3: on the epoch curves at the end
 * of the early-stop epoch e (x = e + 1), and on the minibatch curve at
 * the first minibatch after it, or the last of epoch e when training
 * ended there.  Returns how many there are.
 */
static int find_stop_points(const experiment *x, stop_point *out)
{
    int64_t e = x->early_stop, epoch = -1;
    const minibatch_point *mb = NULL;
    double n = 1, mb_x = 0;
    int count = 0;

    for (size_t k = 0; e >= 0 && k < x->n_batches; k++) {
        const minibatch_point *p = &x->batches[k];
        if (p->epoch != epoch) {
            epoch = p->epoch;
            n = batches_in_epoch(x, epoch);
        }
        if (p->epoch == e || (p->epoch > e && (!mb || mb->epoch == e))) {
            mb = p;
            mb_x = (double)p->epoch + (double)p->index / n;
        }
    }
    if (mb)
        out[count++] = (stop_point){mb_x, mb->cost, mb->accuracy};
    for (size_t k = 0; e >= 0 && k < x->n_epochs; k++) {
        const epoch_point *p = &x->epochs[k];
        if (p->epoch != e)
            continue;
        out[count++] = (stop_point){(double)e + 1, p->cost, p->accuracy};
        if (p->has_dev)
            out[count++] = (stop_point){(double)e + 1, p->dev_cost,
                                        p->dev_accuracy};
        break;
    }
    return count;
}

/* Datablock $stopI (x, cost, accuracy). */
static void put_stop_data(FILE *fp, const experiment *x, int i)
{
    stop_point points[3];
    int n = find_stop_points(x, points);

    fprintf(fp, "$stop%d << EOD\n", i);
    for (int k = 0; k < n; k++) {
        put_number(fp, points[k].x);
        put_number(fp, points[k].cost);
        put_number(fp, points[k].accuracy);
        fputc('\n', fp);
    }
    fputs("EOD\n", fp);
}

/* Add one element to a plot command.  *sep is "plot" for the first. */
static void put_element(FILE *fp, const char **sep, const char *style,
                        const char *title)
{
    fprintf(fp, "%s %s", *sep, style);
    if (title) {
        fputs(" title ", fp);
        put_quoted(fp, title);
    } else {
        fputs(" notitle", fp);
    }
    *sep = ", \\\n    ";
}

/*
 * Write the plot command of one measure for every experiment.  col is
 * the datablock column, 2 for cost and 3 for accuracy, and the dev
 * values are two columns further in $epI.  The minibatch line has the
 * training hue, half transparent.  It gets a legend entry only while
 * there is no epoch line to carry the name.
 */
static void put_panel_plot(FILE *fp, const experiment *xs, int n, int col,
                           int legend)
{
    const char *sep = "plot";
    const char *stop_title = legend ? "early stop" : NULL;
    char style[160], title[600];
    stop_point points[3];

    for (int i = 0; i < n; i++) {
        const experiment *x = &xs[i];
        const char *hue = bright_hues[i % N_HUES];
        int has_dev = 0;
        for (size_t k = 0; k < x->n_epochs; k++)
            has_dev |= x->epochs[k].has_dev;
        snprintf(title, sizeof title, "%s: training", x->name);
        if (x->n_batches) {
            /* #AARRGGBB, where AA = 80 is half transparent */
            snprintf(style, sizeof style, "$mb%d using 1:%d with lines lw 1 "
                     "lc rgb '#80%s'", i, col, hue + 1);
            put_element(fp, &sep, style,
                        legend && !x->n_epochs ? title : NULL);
        }
        if (x->n_epochs) {
            snprintf(style, sizeof style, "$ep%d using 1:%d with linespoints "
                     "lw 2.5 pt 7 ps 0.5 lc rgb '%s'", i, col, hue);
            put_element(fp, &sep, style, legend ? title : NULL);
        }
        if (has_dev) {
            snprintf(title, sizeof title, "%s: dev", x->name);
            snprintf(style, sizeof style, "$ep%d using 1:%d with linespoints "
                     "lw 2.5 pt 7 ps 0.5 lc rgb '%s'", i, col + 2,
                     dark_hues[i % N_HUES]);
            put_element(fp, &sep, style, legend ? title : NULL);
        }
    }
    /* the dots go last, so no later line covers them */
    for (int i = 0; i < n; i++) {
        if (find_stop_points(&xs[i], points) > 0) {
            /* a red disc with a black ring, visible on the red hues too */
            snprintf(style, sizeof style, "$stop%d using 1:%d with points "
                     "pt 7 ps 1.6 lc rgb '#ff0000'", i, col);
            put_element(fp, &sep, style, stop_title);
            snprintf(style, sizeof style, "$stop%d using 1:%d with points "
                     "pt 6 ps 1.6 lw 1.5 lc rgb '#000000'", i, col);
            put_element(fp, &sep, style, NULL);
            stop_title = NULL;
        }
    }
    fputc('\n', fp);
}

static void default_title(const experiment *xs, int n, char *buf,
                          size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i ? ", " : "", xs[i].name);
    if (used >= 80 || used >= len)
        snprintf(buf, len, "%d experiments", n);
}

static void put_cost_panel(FILE *fp, const experiment *xs, int n,
                           const char *title, int legend)
{
    fputs("set title ", fp);
    put_quoted(fp, title);
    fputs("\nset ylabel 'cost (cross-entropy)'\nset yrange [0:*]\n", fp);
    fputs(legend ? "set key top right\n" : "unset key\n", fp);
    put_panel_plot(fp, xs, n, 2, legend);
}

static void put_accuracy_panel(FILE *fp, const experiment *xs, int n,
                               const char *title, int legend)
{
    fputs("set title ", fp);
    put_quoted(fp, title);
    fputs("\nset ylabel 'accuracy (fraction)'\nset yrange [0:1]\n", fp);
    fputs(legend ? "set key bottom right\n" : "unset key\n", fp);
    put_panel_plot(fp, xs, n, 3, legend);
}

static void write_curves_script(FILE *fp, const options *o,
                                const experiment *xs, int n,
                                const char *tmp_path)
{
    char names[256], title[600];

    default_title(xs, n, names, sizeof names);
    if (o->kind == KIND_CURVES)
        put_terminal(fp, o, tmp_path, 1200, 500);
    else
        put_terminal(fp, o, tmp_path, 1000, 600);
    for (int i = 0; i < n; i++) {
        put_curve_data(fp, &xs[i], i);
        put_stop_data(fp, &xs[i], i);
    }
    fputs("set grid\nset xlabel 'epoch'\nset xrange [0:*]\n"
          "set key opaque box\n", fp);
    if (o->kind == KIND_CURVES) {
        fputs("set multiplot layout 1,2 title ", fp);
        put_quoted(fp, o->title ? o->title : names);
        fputc('\n', fp);
        put_cost_panel(fp, xs, n, "Cost", 1);
        /* the accuracy panel uses the same lines: one legend is enough */
        put_accuracy_panel(fp, xs, n, "Accuracy", 0);
        fputs("unset multiplot\n", fp);
    } else if (o->kind == KIND_COST) {
        snprintf(title, sizeof title, "Cost: %s", names);
        put_cost_panel(fp, xs, n, o->title ? o->title : title, 1);
    } else {
        snprintf(title, sizeof title, "Accuracy: %s", names);
        put_accuracy_panel(fp, xs, n, o->title ? o->title : title, 1);
    }
}

/* Tic labels "('name' 0, 'name' 1, ...)" for the class axes. */
static void put_class_tics(FILE *fp, const char *axis, const experiment *x)
{
    fprintf(fp, "set %s (", axis);
    for (int i = 0; i < x->n_classes; i++) {
        if (i)
            fputs(", ", fp);
        put_quoted(fp, x->classes[i]);
        fprintf(fp, " %d", i);
    }
    fputs(")\n", fp);
}

static void write_confusion_script(FILE *fp, const options *o,
                                   const experiment *x, const char *tmp_path)
{
    int C = x->n_classes;
    int64_t max = 0;
    char title[600];

    put_terminal(fp, o, tmp_path, 800, 700);
    fputs("$cm << EOD\n", fp);
    for (int i = 0; i < C; i++) {
        for (int j = 0; j < C; j++) {
            int64_t v = x->confusion[i * C + j];
            max = v > max ? v : max;
            fprintf(fp, "%s%lld", j ? " " : "", (long long)v);
        }
        fputc('\n', fp);
    }
    fputs("EOD\n", fp);
    snprintf(title, sizeof title, "%s: dev confusion matrix after epoch %lld",
             x->name, (long long)x->confusion_epoch + 1);
    fputs("set title ", fp);
    put_quoted(fp, o->title ? o->title : title);
    fprintf(fp, "\nset xlabel 'predicted class'\nset ylabel 'true class'\n"
            "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n"
            "set size ratio -1\nset tics scale 0\nunset key\n"
            "set palette defined (0 '#ffffff', 1 '#08306b')\n"
            "set cbrange [0:%lld]\nset cblabel 'samples'\n",
            C - 1, C - 1, (long long)(max > 0 ? max : 1));
    put_class_tics(fp, "xtics", x);
    put_class_tics(fp, "ytics", x);
    fputs("plot $cm matrix with image", fp);
    /* counts in the cells: white on the dark half of the palette */
    if (C <= 40)
        fprintf(fp, ", \\\n    $cm matrix using 1:2:($3 > %g ? "
                "sprintf('%%d', $3) : '') with labels tc rgb '#ffffff', \\\n"
                "    $cm matrix using 1:2:($3 <= %g ? sprintf('%%d', $3) : "
                "'') with labels tc rgb '#000000'", max / 2.0, max / 2.0);
    fputc('\n', fp);
}

/* Collapse runs of blanks and strip them from both ends, in place. */
static void squeeze_blanks(char *s)
{
    char *out = s;

    for (char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            if (out > s && out[-1] != ' ')
                *out++ = ' ';
        } else {
            *out++ = *p;
        }
    }
    while (out > s && out[-1] == ' ')
        out--;
    *out = '\0';
}

/* Is line an error report: gnuplot's "line N: ..." or any line that
 * contains "error"?  Lines gnuplot marks "warning:" are not. */
static int is_error_line(const char *line)
{
    char lower[64];
    size_t i = 0;
    const char *p = line;

    for (const char *q = line; *q; q++)
        if (strncasecmp(q, "warning:", 8) == 0)
            return 0;
    for (const char *q = line; *q; q++) {
        if (strncasecmp(q, "error", 5) == 0)
            return 1;
    }
    while (*p && i < sizeof lower - 1)
        lower[i++] = (char)tolower((unsigned char)*p++);
    lower[i] = '\0';
    return strncmp(lower, "line ", 5) == 0 &&
           isdigit((unsigned char)lower[5]);
}

/*
 * Read what gnuplot printed.  The first error line goes into
 * first_error, or the last line when gnuplot failed without one.  When
 * gnuplot succeeded, every other line is passed on as a warning.
 */
static void scan_gnuplot_output(FILE *err, int failed, char *first_error,
                                size_t len)
{
    char line[1024], last[1024] = "";

    first_error[0] = '\0';
    rewind(err);
    while (fgets(line, sizeof line, err)) {
        squeeze_blanks(line);
        if (!line[0] || strncmp(line, "gnuplot>", 8) == 0 ||
            strcmp(line, "^") == 0)
            continue;
        if (!first_error[0] && is_error_line(line))
            snprintf(first_error, len, "%s", line);
        else if (!failed)
            nn_warn("gnuplot: %s", strncasecmp(line, "warning: ", 9) == 0
                    ? line + 9 : line);
        snprintf(last, sizeof last, "%s", line);
    }
    if (failed && !first_error[0])
        snprintf(first_error, len, "%s", last);
}

/* Start gnuplot reading stdin, with stdout discarded and stderr to err. */
static pid_t spawn_gnuplot(int stdin_fd, int other_fd, FILE *err)
{
    posix_spawn_file_actions_t fa;
    char *argv[] = {"gnuplot", NULL};
    pid_t pid;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    posix_spawn_file_actions_addclose(&fa, other_fd);
    /* gnuplot draws on stdout after "cannot open file": keep it off ours */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
    /* Without a UTF-8 locale (env -i, ssh, cron) gnuplot cannot convert
     * the text of its default fonts and warns on every run. */
    setenv("LC_ALL", "C.UTF-8", 1);
    rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT)
        nn_die(0, "cannot run gnuplot: it is not on PATH; install the "
               "gnuplot-nox package");
    if (rc != 0)
        nn_die(rc, "cannot run gnuplot");
    return pid;
}

/* Feed script to gnuplot and die with its first error line if it fails. */
static void run_gnuplot(const char *script, size_t len)
{
    FILE *err = tmpfile();
    int fds[2], status;
    char first_error[1024];

    if (!err || pipe(fds) < 0)
        nn_die(errno, "cannot start gnuplot");
    pid_t pid = spawn_gnuplot(fds[0], fds[1], err);
    close(fds[0]);

    /* gnuplot may exit before it reads the whole script, and the write
     * must then fail with EPIPE instead of killing nn-plot */
    signal(SIGPIPE, SIG_IGN);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fds[1], script + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        done += (size_t)n;
    }
    close(fds[1]);
    signal(SIGPIPE, SIG_DFL);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            nn_die(errno, "cannot wait for gnuplot");

    int failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    scan_gnuplot_output(err, failed, first_error, sizeof first_error);
    fclose(err);
    if (first_error[0])
        nn_die(0, "gnuplot failed: %s", first_error);
    if (failed && WIFEXITED(status))
        nn_die(0, "gnuplot failed: exit status %d", WEXITSTATUS(status));
    if (failed)
        nn_die(0, "gnuplot failed: killed by signal %d", WTERMSIG(status));
}

/* Draw a gnuplot kind into o->output through a temporary file. */
static void draw_gnuplot(const options *o, const experiment *xs, int n)
{
    nn_atomic_file out;
    char *script = NULL;
    size_t len = 0;
    struct stat st;

    if (nn_atomic_open(&out, o->output) < 0)
        nn_die(errno, "cannot create '%s'", o->output);
    FILE *fp = open_memstream(&script, &len);
    if (!fp)
        nn_die(errno, "cannot build the gnuplot script");
    if (o->kind == KIND_CONFUSION)
        write_confusion_script(fp, o, &xs[0], out.tmp_path);
    else
        write_curves_script(fp, o, xs, n, out.tmp_path);
    if (fclose(fp) != 0)
        nn_die(errno, "cannot build the gnuplot script");
    nn_log_debug("gnuplot script:\n%s", script);
    run_gnuplot(script, len);
    free(script);
    if (stat(out.tmp_path, &st) < 0 || st.st_size == 0)
        nn_die(0, "gnuplot failed: it wrote nothing to '%s'", out.tmp_path);
    if (nn_atomic_commit(&out) < 0)
        nn_die(errno, "cannot write '%s'", o->output);
}

/* ---- image grids ------------------------------------------------------ */

/* Return --scale, or the largest scale up to 8 that keeps
 * width * scale within 800 px. */
static int pick_scale(const options *o, int width)
{
    int scale = 800 / (width > 0 ? width : 1);

    if (o->scale)
        return o->scale;
    if (scale < 1)
        return 1;
    if (scale > 8)
        return 8;
    return scale;
}

/* Enlarge img in place so each pixel becomes scale x scale pixels. */
static void scale_image(nn_image *img, int scale)
{
    int w = img->width * scale, h = img->height * scale, c = img->channels;
    uint8_t *data;

    if (scale == 1)
        return;
    if ((int64_t)w * h > NN_IMAGE_MAX_PIXELS)
        nn_die(0, "image of %dx%d pixels is too large: lower --scale", w, h);
    data = malloc((size_t)w * h * c);
    if (!data)
        nn_die(ENOMEM, "cannot enlarge the image");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(data + ((size_t)y * w + x) * c,
                   img->data + ((size_t)(y / scale) * img->width +
                                x / scale) * c, c);
    free(img->data);
    img->data = data;
    img->width = w;
    img->height = h;
}

/* White pixels between the cells of a grid, before scaling. */
#define GAP_PX 2

/* Allocate img as a white canvas of width x height pixels. */
static void new_canvas(nn_image *img, int64_t width, int64_t height,
                       int channels)
{
    if (width * height > NN_IMAGE_MAX_PIXELS)
        nn_die(0, "grid of %lldx%lld pixels is too large", (long long)width,
               (long long)height);
    img->width = (int)width;
    img->height = (int)height;
    img->channels = channels;
    img->data = malloc((size_t)(width * height * channels));
    if (!img->data)
        nn_die(ENOMEM, "cannot allocate the image");
    memset(img->data, 255, (size_t)(width * height * channels));
}

static void write_png(const options *o, nn_image *img)
{
    char err[256];

    scale_image(img, pick_scale(o, img->width));
    if (nn_png_write(o->output, img, err, sizeof err) < 0)
        nn_die(0, "cannot write '%s': %s", o->output, err);
}

/*
 * Draw one tracked row at (x0, y0) as a side x side image, min-max
 * scaled to 0..255 within the row, then padded with zeros.  The image
 * has img's channels: 3 when the row length divides by 3, as in the
 * original tool.
 */
static void put_track_cell(nn_image *img, int x0, int y0, const double *row,
                           int64_t n_cols, int side)
{
    int ch = img->channels;
    double lo = INFINITY, hi = -INFINITY;

    for (int64_t i = 0; i < n_cols; i++) {
        if (isfinite(row[i])) {
            lo = row[i] < lo ? row[i] : lo;
            hi = row[i] > hi ? row[i] : hi;
        }
    }
    for (int64_t p = 0; p < (int64_t)side * side; p++) {
        uint8_t *px = img->data + ((size_t)(y0 + p / side) * img->width +
                                   (size_t)(x0 + p % side)) * ch;
        for (int c = 0; c < ch; c++) {
            int64_t i = p * ch + c;
            double v = i < n_cols ? row[i] : NAN;
            px[c] = !isfinite(v) || hi <= lo ? 0
                    : (uint8_t)lround((v - lo) / (hi - lo) * 255);
        }
    }
}

/* Draw the tracked rows as a grid: one strip per track record, top to
 * bottom, and one cell per row. */
static void draw_track(const options *o, const experiment *x)
{
    int64_t rows = x->frames[0].n_rows, cols = x->frames[0].n_cols;
    int ch = cols % 3 == 0 ? 3 : 1;
    int side = (int)ceil(sqrt((double)(cols / ch)));
    int64_t cell = side + GAP_PX;
    nn_image img;

    new_canvas(&img, rows * cell - GAP_PX,
               (int64_t)x->n_frames * cell - GAP_PX, ch);
    for (size_t f = 0; f < x->n_frames; f++)
        for (int64_t r = 0; r < rows; r++)
            put_track_cell(&img, (int)(r * cell), (int)(f * cell),
                           x->frames[f].values + r * cols, cols, side);
    write_png(o, &img);
    nn_image_free(&img);
}

/* Copy s into img at (x0, y0), repeating a gray channel into RGB. */
static void paste_image(nn_image *img, const nn_image *s, int x0, int y0)
{
    int ch = img->channels;

    for (int y = 0; y < s->height; y++) {
        for (int x = 0; x < s->width; x++) {
            const uint8_t *src = s->data +
                                 ((size_t)y * s->width + x) * s->channels;
            uint8_t *dst = img->data +
                           ((size_t)(y0 + y) * img->width + x0 + x) * ch;
            for (int c = 0; c < ch; c++)
                dst[c] = src[s->channels == 3 ? c : 0];
        }
    }
}

/* Draw the samples in rows of ceil(sqrt(n)), each at the top left of a
 * cell of the largest size.  Gray samples become RGB when any is RGB. */
static void draw_samples(const options *o, const experiment *x)
{
    int n = (int)x->n_samples, per_row = (int)ceil(sqrt((double)n));
    int n_rows = (n + per_row - 1) / per_row, cell_w = 0, cell_h = 0;
    int ch = 1;
    nn_image img;

    for (int i = 0; i < n; i++) {
        if (x->samples[i].width > cell_w)
            cell_w = x->samples[i].width;
        if (x->samples[i].height > cell_h)
            cell_h = x->samples[i].height;
        if (x->samples[i].channels == 3)
            ch = 3;
    }
    new_canvas(&img, (int64_t)per_row * (cell_w + GAP_PX) - GAP_PX,
               (int64_t)n_rows * (cell_h + GAP_PX) - GAP_PX, ch);
    for (int i = 0; i < n; i++)
        paste_image(&img, &x->samples[i], (i % per_row) * (cell_w + GAP_PX),
                    (i / per_row) * (cell_h + GAP_PX));
    write_png(o, &img);
    nn_image_free(&img);
}

/* ---- main ------------------------------------------------------------- */

static void draw(const options *o, const experiment *xs, int n)
{
    if (o->kind == KIND_TRACK)
        draw_track(o, &xs[0]);
    else if (o->kind == KIND_SAMPLES)
        draw_samples(o, &xs[0]);
    else
        draw_gnuplot(o, xs, n);
}

/* Read every file.  Returns 1 when each has something to draw, else 0
 * with the first reason in why. */
static int read_all(const options *o, experiment *xs, char *why, size_t len)
{
    char reason[1024];
    int ready = 1;

    why[0] = '\0';
    for (int i = 0; i < o->n_files; i++) {
        const char *missing = reason;
        if (read_experiment(&xs[i], o) < 0)
            snprintf(reason, sizeof reason, "'%s' does not exist",
                     xs[i].path);
        else
            missing = missing_records(&xs[i], o, reason, sizeof reason);
        if (missing && ready)
            snprintf(why, len, "%s", missing);
        ready &= !missing;
    }
    return ready;
}

/* Has every file reached o->watch_epochs epoch records? */
static int epochs_reached(const options *o, const experiment *xs)
{
    if (!o->watch_epochs)
        return 0;
    for (int i = 0; i < o->n_files; i++)
        if ((long)xs[i].n_epochs < o->watch_epochs)
            return 0;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Open path for watching.  The descriptor follows the file when it is
 * renamed, as nn-run does with its folder when a run ends, and the
 * file is read again through /dev/fd/N.  Returns 0, or -1 while the
 * file does not exist.
 */
static int open_watched(experiment *x, int *fd)
{
    *fd = open(x->path, O_RDONLY);
    if (*fd < 0 && errno == ENOENT)
        return -1;
    if (*fd < 0)
        nn_die(errno, "cannot open '%s'", x->path);
    snprintf(x->read_path, sizeof x->read_path, "/dev/fd/%d", *fd);
    return 0;
}

/* Is the file open on fd no longer the one that path names? */
static int moved_away(const char *path, int fd)
{
    struct stat by_path, by_fd;

    if (stat(path, &by_path) < 0 || fstat(fd, &by_fd) < 0)
        return 1;
    return by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev;
}

/* Check the size of each file.  Returns 1 when one changed, and sets
 * *moved when a file was renamed or removed. */
static int poll_sizes(const options *o, experiment *xs, int *fds,
                      off_t *sizes, int *moved)
{
    int grew = 0;

    for (int i = 0; i < o->n_files; i++) {
        struct stat st;
        if (fds[i] < 0 && open_watched(&xs[i], &fds[i]) < 0)
            continue;
        if (fstat(fds[i], &st) < 0)
            nn_die(errno, "cannot watch '%s'", xs[i].path);
        grew |= st.st_size != sizes[i];
        sizes[i] = st.st_size;
        *moved |= moved_away(xs[i].path, fds[i]);
    }
    return grew;
}

/*
 * Redraw whenever a file changes size, until no file grew for the
 * timeout, every file has the epochs asked for, or a file was renamed
 * or removed.  The last state is drawn before stopping.
 */
static void watch(const options *o, experiment *xs)
{
    int *fds = malloc((size_t)o->n_files * sizeof *fds);
    off_t *sizes = malloc((size_t)o->n_files * sizeof *sizes);
    double last_growth = now_s();
    int drawn = 0, moved = 0;
    char why[1024];

    if (!fds || !sizes)
        nn_die(ENOMEM, "cannot watch the files");
    for (int i = 0; i < o->n_files; i++) {
        fds[i] = -1;
        sizes[i] = -1;
    }
    for (;;) {
        if (poll_sizes(o, xs, fds, sizes, &moved)) {
            last_growth = now_s();
            if (read_all(o, xs, why, sizeof why)) {
                draw(o, xs, o->n_files);
                drawn = 1;
                nn_log_info("drew '%s': epochs=%zu", o->output,
                            xs[0].n_epochs);
            }
        }
        if (moved || (drawn && epochs_reached(o, xs)) ||
            now_s() - last_growth >= (double)o->watch_timeout_s)
            break;
        sleep(1);
    }
    if (!drawn) {
        read_all(o, xs, why, sizeof why);
        nn_die(0, "%s", why);
    }
    for (int i = 0; i < o->n_files; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(sizes);
    if (moved)
        nn_log_info("a watched file was renamed or removed: stopping");
}

int main(int argc, char **argv)
{
    options o;
    experiment *xs;
    char why[1024];

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &o);
    xs = calloc(o.n_files > 0 ? (size_t)o.n_files : 1, sizeof *xs);
    if (!xs)
        nn_die(ENOMEM, "cannot hold the inputs");
    for (int i = 0; i < o.n_files; i++) {
        xs[i].path = o.files[i];
        xs[i].early_stop = -1;
    }

    if (o.watch) {
        watch(&o, xs);
    } else {
        if (!read_all(&o, xs, why, sizeof why))
            nn_die(0, "%s", why);
        draw(&o, xs, o.n_files);
        nn_log_info("wrote '%s'", o.output);
    }
    for (int i = 0; i < o.n_files; i++)
        free_experiment(&xs[i]);
    free(xs);
    return 0;
}
