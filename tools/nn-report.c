/*
 * nn-report: a static HTML page about the run folders that nn-run
 * leaves: the summary table from summary.json, the charts, and the
 * exact pipeline from pipeline.sh.  The page loads nothing from the
 * network: its CSS is inline and its images are files linked by
 * relative paths.  With --charts it first draws the charts by running
 * nn-plot; without it, it shows the chart files that already exist.
 */
#define _XOPEN_SOURCE 700       /* realpath */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_record.h"

extern char **environ;

static const char usage[] =
    "Usage: nn-report [OPTION]... RUN_DIR...\n"
    "Write an HTML page about run folders made by nn-run: the summary\n"
    "from summary.json, the charts, and the pipeline from pipeline.sh.\n"
    "One RUN_DIR gives RUN_DIR/index.html.  Several need --out DIR, and\n"
    "DIR/index.html then compares them.  The page needs no network and no\n"
    "server: its CSS is inline and its images are linked by relative\n"
    "paths, so keep it beside the run folders.\n"
    "\n"
    "  -o, --out=DIR      write DIR/index.html, creating DIR [RUN_DIR]\n"
    "  -c, --charts       draw the charts first with nn-plot, in each\n"
    "                     RUN_DIR: curves.png, confusion.png (when dev was\n"
    "                     evaluated), track-NAME.png (one per tracked\n"
    "                     parameter) and samples.png (from dev.nn); with\n"
    "                     --out, also DIR/curves.png with every run.\n"
    "                     It first removes these PNG files when they\n"
    "                     exist.  Without --charts the page shows those\n"
    "                     of these files, .png or .svg, that exist\n"
    "  -t, --title=TEXT   page title [nnpipe report: the run ids]\n";

typedef struct {
    const char *out_dir;        /* NULL: the only RUN_DIR */
    int charts;
    const char *title;
    char **runs;
    int n_runs;
} options;

/* A field of summary.json.  A string's value is its unquoted text, and
 * a nested object or array keeps its JSON text. */
typedef struct {
    char *key;
    char *value;
    int is_string, is_null;
} json_field;

typedef struct {
    json_field *fields;
    int n_fields;
} summary;

typedef struct {
    const char *dir;
    char *id;                   /* summary's exp_id, else the folder name */
    summary sum;
    char *pipeline;             /* NULL when pipeline.sh is missing */
    char *rel;                  /* the folder relative to the page */
} run_info;

/* ---- small helpers ---------------------------------------------------- */

static char *str_dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p)
        nn_die(ENOMEM, "out of memory");
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* DIR/FILE in a new string. */
static char *path_in(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *path = malloc(n);

    if (!path)
        nn_die(ENOMEM, "out of memory");
    snprintf(path, n, "%s%s%s", dir, *dir ? "/" : "", file);
    return path;
}

static int file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The whole of a text file of at most 4 MiB, or NULL when it is missing. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 4096, len = 0;
    char *buf;

    if (!fp && errno == ENOENT)
        return NULL;
    if (!fp)
        nn_die(errno, "cannot open '%s'", path);
    buf = malloc(cap);
    for (;;) {
        if (!buf)
            nn_die(ENOMEM, "cannot read '%s'", path);
        len += fread(buf + len, 1, cap - len - 1, fp);
        if (ferror(fp))
            nn_die(errno, "cannot read '%s'", path);
        if (feof(fp))
            break;
        if (cap >= (4u << 20))
            nn_die(0, "'%s' is larger than 4 MiB", path);
        cap *= 2;
        buf = realloc(buf, cap);
    }
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* ---- summary.json ------------------------------------------------------- */

typedef struct {
    const char *path, *text, *p;
} json_parser;

static NN_NORETURN void json_fail(const json_parser *j, const char *what)
{
    nn_die(0, "'%s': invalid JSON at byte %ld: %s", j->path,
           (long)(j->p - j->text), what);
}

static void skip_space(json_parser *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

/* Write the UTF-8 bytes of code point cp to out; return their count. */
static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Read the 4 hex digits of a \u escape at j->p. */
static unsigned long parse_hex4(json_parser *j)
{
    char hex[5] = {0};

    for (int i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)j->p[i]))
            json_fail(j, "invalid \\u escape");
        hex[i] = j->p[i];
    }
    j->p += 4;
    return strtoul(hex, NULL, 16);
}

/* Decode a \u escape, with j->p after the 'u', joining a UTF-16
 * surrogate pair into one code point. */
static unsigned long parse_unicode_escape(json_parser *j)
{
    unsigned long cp = parse_hex4(j);

    if (cp >= 0xdc00 && cp <= 0xdfff)
        json_fail(j, "unpaired UTF-16 surrogate");
    if (cp < 0xd800 || cp > 0xdbff)
        return cp;
    if (j->p[0] != '\\' || j->p[1] != 'u')
        json_fail(j, "unpaired UTF-16 surrogate");
    j->p += 2;
    unsigned long low = parse_hex4(j);
    if (low < 0xdc00 || low > 0xdfff)
        json_fail(j, "unpaired UTF-16 surrogate");
    return 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
}

/* Parse the string at j->p, which is on its opening quote, into a new
 * string.  Decoding never makes it longer than its JSON text. */
static char *parse_string(json_parser *j)
{
    char *out = malloc(strlen(++j->p) + 1), *o = out;

    if (!out)
        nn_die(ENOMEM, "out of memory");
    for (;;) {
        char c = *j->p++;
        if (c == '"')
            break;
        if (c == '\0' || (unsigned char)c < 0x20) {
            j->p--;
            json_fail(j, "unterminated string");
        }
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': o += put_utf8(o, parse_unicode_escape(j)); break;
        default:
            j->p--;
            json_fail(j, "invalid escape");
        }
    }
    *o = '\0';
    return out;
}

/* Skip a nested object or array, strings included, and return a copy
 * of its text. */
static char *take_nested(json_parser *j)
{
    const char *start = j->p;
    int depth = 0;

    do {
        char c = *j->p;
        if (c == '\0')
            json_fail(j, "unterminated object or array");
        if (c == '"') {
            free(parse_string(j));
            continue;
        }
        depth += (c == '{' || c == '[') - (c == '}' || c == ']');
        j->p++;
    } while (depth > 0);
    return str_dup(start, (size_t)(j->p - start));
}

static void parse_value(json_parser *j, json_field *f)
{
    const char *start = j->p;

    if (*j->p == '"') {
        f->value = parse_string(j);
        f->is_string = 1;
    } else if (*j->p == '{' || *j->p == '[') {
        f->value = take_nested(j);
    } else {
        while (*j->p && (isalnum((unsigned char)*j->p) ||
                         strchr("+-.", *j->p)))
            j->p++;
        if (j->p == start)
            json_fail(j, "expected a value");
        f->value = str_dup(start, (size_t)(j->p - start));
        f->is_null = strcmp(f->value, "null") == 0;
    }
}

/* Parse the flat object that nn-run writes as summary.json. */
static void parse_summary(const char *path, const char *text, summary *s)
{
    json_parser j = {path, text, text};
    int cap = 0;

    memset(s, 0, sizeof *s);
    skip_space(&j);
    if (*j.p != '{')
        json_fail(&j, "expected '{'");
    j.p++;
    skip_space(&j);
    while (*j.p != '}') {
        if (s->n_fields == cap) {
            cap = cap ? 2 * cap : 32;
            s->fields = realloc(s->fields, (size_t)cap * sizeof *s->fields);
            if (!s->fields)
                nn_die(ENOMEM, "out of memory");
        }
        json_field *f = &s->fields[s->n_fields++];
        memset(f, 0, sizeof *f);
        if (*j.p != '"')
            json_fail(&j, "expected a key");
        f->key = parse_string(&j);
        skip_space(&j);
        if (*j.p != ':')
            json_fail(&j, "expected ':'");
        j.p++;
        skip_space(&j);
        parse_value(&j, f);
        skip_space(&j);
        if (*j.p == ',') {
            j.p++;
            skip_space(&j);
        } else if (*j.p != '}') {
            json_fail(&j, "expected ',' or '}'");
        }
    }
}

static const json_field *summary_get(const summary *s, const char *key)
{
    for (int i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].key, key) == 0)
            return &s->fields[i];
    return NULL;
}

/* ---- paths ------------------------------------------------------------ */

/* Non-empty '/'-separated parts of path. */
static size_t count_parts(const char *path)
{
    size_t n = 0;

    for (const char *p = path; *p; p++)
        n += *p != '/' && (p == path || p[-1] == '/');
    return n;
}

/*
 * The folder to, relative to the folder from; both must exist.  Returns
 * "" when they are the same folder, else a path ending in '/'.
 */
static char *relative_dir(const char *from, const char *to)
{
    char *a = realpath(from, NULL), *b = realpath(to, NULL);
    size_t i = 0, common = 0;

    if (!a || !b)
        nn_die(errno, "cannot resolve '%s'", a ? to : from);
    /* the longest common prefix that ends between two parts */
    while (a[i] && a[i] == b[i]) {
        i++;
        if ((a[i] == '/' || !a[i]) && (b[i] == '/' || !b[i]))
            common = i;
    }
    size_t n_up = count_parts(a + common);
    const char *rest = b + common;
    while (*rest == '/')
        rest++;
    size_t len = 3 * n_up + strlen(rest) + 2;
    char *rel = malloc(len);
    if (!rel)
        nn_die(ENOMEM, "out of memory");
    for (size_t k = 0; k < n_up; k++)
        memcpy(rel + 3 * k, "../", 3);
    snprintf(rel + 3 * n_up, len - 3 * n_up, "%s%s", rest, *rest ? "/" : "");
    free(a);
    free(b);
    return rel;
}

/* Write s percent-encoded as a URL path.  The result contains nothing
 * that HTML needs escaped. */
static void put_url(FILE *fp, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~/", c))
            fputc(c, fp);
        else
            fprintf(fp, "%%%02X", c);
    }
}

static void put_html(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* ---- charts ----------------------------------------------------------- */

static char nn_plot_path[PATH_MAX];

/* nn-plot beside this program when it is there, else from PATH. */
static void find_nn_plot(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

    snprintf(nn_plot_path, sizeof nn_plot_path, "nn-plot");
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    char *path = path_in(self, "nn-plot");
    if (access(path, X_OK) == 0)
        snprintf(nn_plot_path, sizeof nn_plot_path, "%s", path);
    free(path);
}

/*
 * Run nn-plot to draw the file out.  argv ends with NULL, and argv[0]
 * is set here.  When nn-plot fails, it has printed the reason, and
 * nn-report dies after it.
 */
static void run_nn_plot(char **argv, const char *out)
{
    int status;
    pid_t pid;

    argv[0] = nn_plot_path;
    int rc = posix_spawnp(&pid, nn_plot_path, NULL, NULL, argv, environ);
    if (rc != 0)
        nn_die(rc, "cannot run '%s'", nn_plot_path);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            nn_die(errno, "cannot wait for nn-plot");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        nn_die(0, "nn-plot failed to draw '%s'; see the message above", out);
}

/* The content of a metrics stream that decides which charts to draw. */
typedef struct {
    int has_epochs, has_confusion;
    char names[32][128];        /* tracked parameter names */
    int n_names;
} metrics_content;

static void add_track_name(metrics_content *m, const nn_reader *r)
{
    const char *name;
    size_t n;
    char err[160];

    if (nn_field_str(r->obj, "name", &name, &n, err, sizeof err) < 0 ||
        n == 0 || n >= sizeof m->names[0])
        return;
    for (int i = 0; i < m->n_names; i++)
        if (strlen(m->names[i]) == n && memcmp(m->names[i], name, n) == 0)
            return;
    if (m->n_names == 32) {
        nn_warn("'%s': more than 32 tracked parameters; drawing the first "
                "32", r->name);
        return;
    }
    memcpy(m->names[m->n_names], name, n);
    m->names[m->n_names++][n] = '\0';
}

static void scan_metrics(const char *path, metrics_content *m)
{
    nn_reader r;

    memset(m, 0, sizeof *m);
    if (nn_reader_open(&r, path) < 0)
        nn_die(errno, "cannot open '%s'", path);
    while (nn_reader_next_or_die(&r)) {
        const msgpack_object *scope = nn_map_get(r.obj, "scope");
        if (r.type != NN_REC_METRICS || !scope ||
            scope->type != MSGPACK_OBJECT_STR)
            continue;
        if (scope->via.str.size == 5 &&
            memcmp(scope->via.str.ptr, "epoch", 5) == 0) {
            m->has_epochs = 1;
            m->has_confusion |= nn_map_get(r.obj, "dev_confusion") != NULL;
        } else if (scope->via.str.size == 5 &&
                   memcmp(scope->via.str.ptr, "track", 5) == 0) {
            add_track_name(m, &r);
        }
    }
    nn_reader_close(&r);
}

/* Does the stream at path hold a sample record? */
static int has_samples(const char *path)
{
    nn_reader r;
    int found = 0;

    if (nn_reader_open(&r, path) < 0)
        nn_die(errno, "cannot open '%s'", path);
    while (!found && nn_reader_next_or_die(&r))
        found = r.type == NN_REC_SAMPLE;
    nn_reader_close(&r);
    return found;
}

/* Build the chart file name track-NAME.png.  NAME keeps the letters,
 * digits, '-', '_' and '.' of name, and any other character becomes '_'. */
static void track_file_name(const char *name, char *out, size_t len)
{
    size_t n = 0;

    n += (size_t)snprintf(out, len, "track-");
    for (; *name && n + 5 < len; name++)
        out[n++] = isalnum((unsigned char)*name) || strchr("-_.", *name)
                   ? *name : '_';
    snprintf(out + n, len - n, ".png");
}

/* Remove the PNG charts that --charts writes, so that none is left
 * from an earlier run whose metrics had more in them. */
static void remove_old_charts(const char *dir)
{
    static const char *const names[] = {
        "curves.png", "confusion.png", "samples.png", NULL
    };
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        nn_die(errno, "cannot read the folder '%s'", dir);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        int ours = strncmp(e->d_name, "track-", 6) == 0 && len > 10 &&
                   strcmp(e->d_name + len - 4, ".png") == 0;
        for (int i = 0; names[i] && !ours; i++)
            ours = strcmp(e->d_name, names[i]) == 0;
        if (!ours)
            continue;
        char *path = path_in(dir, e->d_name);
        if (unlink(path) < 0 && errno != ENOENT)
            nn_die(errno, "cannot remove '%s'", path);
        free(path);
    }
    closedir(d);
}

static void draw_run_charts(const char *dir)
{
    char *metrics = path_in(dir, "metrics.nn"), *dev = path_in(dir, "dev.nn");
    char *out, file[200], kind[160];
    metrics_content m;

    scan_metrics(metrics, &m);
    if (!m.has_epochs)
        nn_die(0, "no epoch metrics in '%s'", metrics);
    remove_old_charts(dir);
    out = path_in(dir, "curves.png");
    run_nn_plot((char *[]){NULL, "-q", "--kind=curves", "-o", out, metrics,
                           NULL}, out);
    free(out);
    if (m.has_confusion) {
        out = path_in(dir, "confusion.png");
        run_nn_plot((char *[]){NULL, "-q", "--kind=confusion", "-o", out,
                               metrics, NULL}, out);
        free(out);
    }
    for (int i = 0; i < m.n_names; i++) {
        track_file_name(m.names[i], file, sizeof file);
        snprintf(kind, sizeof kind, "--track-name=%s", m.names[i]);
        out = path_in(dir, file);
        run_nn_plot((char *[]){NULL, "-q", "--kind=track", kind, "-o", out,
                               metrics, NULL}, out);
        free(out);
    }
    if (file_exists(dev) && has_samples(dev)) {
        out = path_in(dir, "samples.png");
        run_nn_plot((char *[]){NULL, "-q", "--kind=samples", "-o", out, dev,
                               NULL}, out);
        free(out);
    }
    free(metrics);
    free(dev);
}

/* Draw the curves of every run in one chart, DIR/curves.png. */
static void draw_comparison(const options *o)
{
    char **argv = malloc(((size_t)o->n_runs + 6) * sizeof *argv);
    char *out = path_in(o->out_dir, "curves.png");
    int n = 1;

    if (!argv)
        nn_die(ENOMEM, "out of memory");
    argv[n++] = "-q";
    argv[n++] = "--kind=curves";
    argv[n++] = "-o";
    argv[n++] = out;
    for (int i = 0; i < o->n_runs; i++)
        argv[n++] = path_in(o->runs[i], "metrics.nn");
    argv[n] = NULL;
    run_nn_plot(argv, out);
    for (int i = 5; i < n; i++)
        free(argv[i]);
    free(argv);
    free(out);
}

/* ---- the page --------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\">\n"
    "<style>\n"
    "body { font-family: sans-serif; color: #222; max-width: 1240px;\n"
    "       margin: 1.5em auto; padding: 0 1em; }\n"
    "h1 { font-size: 1.6em; } h2 { margin-top: 2em; }\n"
    "table { border-collapse: collapse; margin: 0.5em 0 1em; }\n"
    "th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; "
    "text-align: right; }\n"
    "th { background: #f0f0f0; } .text { text-align: left; }\n"
    "figure { margin: 1em 0; }\n"
    "img { max-width: 100%; height: auto; border: 1px solid #ddd; }\n"
    "figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }\n"
    "pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }\n"
    ".note { color: #555; }\n"
    "</style>\n";

/*
 * Record on <body> how many images loaded, as data-images-loaded and
 * data-images-total, so that a headless browser can check the page.
 */
static const char page_script[] =
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  var images = document.images, loaded = 0;\n"
    "  for (var i = 0; i < images.length; i++)\n"
    "    if (images[i].complete && images[i].naturalWidth > 0) loaded++;\n"
    "  document.body.setAttribute('data-images-loaded', loaded);\n"
    "  document.body.setAttribute('data-images-total', images.length);\n"
    "});\n"
    "</script>\n";

/* The columns of the summary table: key, heading, format. */
static const struct {
    const char *key, *heading;
    char format;                /* s text, i integer, c cost, a accuracy,
                                   t seconds */
} columns[] = {
    {"exp_id", "run", 's'},
    {"parameters", "parameters", 'i'},
    {"training_samples", "training samples", 'i'},
    {"epochs", "epochs", 'i'},
    {"training_cost", "training cost", 'c'},
    {"training_accuracy", "training accuracy", 'a'},
    {"dev_cost", "dev cost", 'c'},
    {"dev_accuracy", "dev accuracy", 'a'},
    {"early_stop_epoch", "early stop epoch", 'i'},
    {"test_accuracy", "test accuracy", 'a'},
    {"seconds", "seconds", 't'},
};
#define N_COLUMNS (sizeof columns / sizeof *columns)

/* Is key a column of the summary table? */
static int in_summary_table(const char *key)
{
    for (size_t i = 0; i < N_COLUMNS; i++)
        if (strcmp(key, columns[i].key) == 0)
            return 1;
    return 0;
}

static int any_run_has(const run_info *runs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (summary_get(&runs[i].sum, key))
            return 1;
    return 0;
}

static void put_cell(FILE *fp, const json_field *f, char format)
{
    char *end;
    double v = f && !f->is_string && !f->is_null ? strtod(f->value, &end)
                                                 : 0;
    int number = f && !f->is_string && !f->is_null && *end == '\0';

    if (!f || f->is_null) {
        fputs("<td>&ndash;</td>", fp);
    } else if (!number || format == 's' || format == 'i') {
        fprintf(fp, "<td%s>", number ? "" : " class=\"text\"");
        put_html(fp, f->value);
        fputs("</td>", fp);
    } else if (format == 'c') {
        fprintf(fp, "<td>%.4f</td>", v);
    } else if (format == 'a') {
        fprintf(fp, "<td>%.2f%%</td>", 100 * v);
    } else {
        fprintf(fp, "<td>%.2f</td>", v);
    }
}

static void put_summary_table(FILE *fp, const run_info *runs, int n)
{
    fputs("<h2>Summary</h2>\n<table>\n<tr>", fp);
    for (size_t c = 0; c < N_COLUMNS; c++)
        if (c == 0 || any_run_has(runs, n, columns[c].key))
            fprintf(fp, "<th%s>%s</th>", c == 0 ? " class=\"text\"" : "",
                    columns[c].heading);
    fputs("</tr>\n", fp);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td class=\"text\">", fp);
        put_html(fp, runs[i].id);
        fputs("</td>", fp);
        for (size_t c = 1; c < N_COLUMNS; c++)
            if (any_run_has(runs, n, columns[c].key))
                put_cell(fp, summary_get(&runs[i].sum, columns[c].key),
                         columns[c].format);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n<p class=\"note\">Costs are the mean cross-entropy of "
          "the last epoch; accuracies are the share of samples classified "
          "correctly.</p>\n", fp);
}

/* Every other key of summary.json, one column per key. */
static void put_settings_table(FILE *fp, const run_info *runs, int n)
{
    const char **keys;
    size_t n_all = 1;
    int n_keys = 0;

    for (int i = 0; i < n; i++)
        n_all += (size_t)runs[i].sum.n_fields;
    keys = malloc(n_all * sizeof *keys);
    if (!keys)
        nn_die(ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < runs[i].sum.n_fields; k++) {
            const char *key = runs[i].sum.fields[k].key;
            int seen = in_summary_table(key);
            for (int j = 0; j < n_keys && !seen; j++)
                seen = strcmp(keys[j], key) == 0;
            if (!seen)
                keys[n_keys++] = key;
        }
    if (n_keys == 0) {
        free(keys);
        return;
    }
    fputs("<h2>Settings</h2>\n<table>\n<tr><th class=\"text\">run</th>", fp);
    for (int k = 0; k < n_keys; k++) {
        fputs("<th>", fp);
        put_html(fp, keys[k]);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td class=\"text\">", fp);
        put_html(fp, runs[i].id);
        fputs("</td>", fp);
        for (int k = 0; k < n_keys; k++)
            put_cell(fp, summary_get(&runs[i].sum, keys[k]), 's');
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    free(keys);
}

/* A figure for dir_on_disk/file (.png, else .svg) when it exists. */
static void put_figure(FILE *fp, const char *dir_on_disk, const char *rel,
                       const char *file, const char *alt,
                       const char *caption)
{
    char name[300];
    char *path = NULL;

    for (int svg = 0; svg < 2 && !path; svg++) {
        snprintf(name, sizeof name, "%s%s", file, svg ? ".svg" : ".png");
        path = path_in(dir_on_disk, name);
        if (!file_exists(path)) {
            free(path);
            path = NULL;
        }
    }
    if (!path)
        return;
    free(path);
    fputs("<figure>\n<img src=\"", fp);
    put_url(fp, rel);
    put_url(fp, name);
    fputs("\" alt=\"", fp);
    put_html(fp, alt);
    fputs("\">\n<figcaption>", fp);
    put_html(fp, caption);
    fputs("</figcaption>\n</figure>\n", fp);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A figure for each track-NAME.png (or .svg) in the run folder, in name
 * order. */
static void put_track_figures(FILE *fp, const run_info *run)
{
    DIR *d = opendir(run->dir);
    char *names[256], caption[400], alt[300];
    struct dirent *e;
    int n = 0;

    if (!d)
        nn_die(errno, "cannot read the folder '%s'", run->dir);
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "track-", 6) == 0 && len > 10 &&
            (strcmp(e->d_name + len - 4, ".png") == 0 ||
             strcmp(e->d_name + len - 4, ".svg") == 0))
            names[n++] = str_dup(e->d_name, len - 4);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;           /* both .png and .svg: show one */
        snprintf(alt, sizeof alt, "tracked rows of %s", names[i] + 6);
        snprintf(caption, sizeof caption, "Tracked rows of %s: one strip "
                 "per epoch, from top to bottom, one image per row; each "
                 "row is scaled from its own minimum (black) to its "
                 "maximum (white).", names[i] + 6);
        put_figure(fp, run->dir, run->rel, names[i], alt, caption);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
}

static void put_run_section(FILE *fp, const run_info *run, int several)
{
    fprintf(fp, "<section>\n<h2>%s", several ? "Run " : "Charts");
    if (several)
        put_html(fp, run->id);
    fputs("</h2>\n", fp);
    put_figure(fp, run->dir, run->rel, "curves", "cost and accuracy curves",
               "Cost and accuracy against epochs trained.  Thin lines: "
               "training minibatches; thick bright lines: training, per "
               "epoch; thick dark lines: dev, per epoch; a red dot: the "
               "epoch where early stopping triggered.");
    put_figure(fp, run->dir, run->rel, "cost", "cost curves",
               "Cost against epochs trained.");
    put_figure(fp, run->dir, run->rel, "accuracy", "accuracy curves",
               "Accuracy against epochs trained.");
    put_figure(fp, run->dir, run->rel, "confusion", "dev confusion matrix",
               "Dev confusion matrix after the last epoch: rows are true "
               "classes, columns predicted classes.");
    put_track_figures(fp, run);
    put_figure(fp, run->dir, run->rel, "samples", "dev samples",
               "The first dev samples, left to right and top to bottom.");
    fputs("<h3>Pipeline</h3>\n", fp);
    if (run->pipeline) {
        fputs("<pre>", fp);
        put_html(fp, run->pipeline);
        fputs("</pre>\n", fp);
    } else {
        fputs("<p class=\"note\">No pipeline.sh in this folder.</p>\n", fp);
    }
    fputs("</section>\n", fp);
}

static void put_page(FILE *fp, const options *o, const run_info *runs,
                     int n)
{
    char title[1024];
    size_t used = 0;

    if (o->title) {
        snprintf(title, sizeof title, "%s", o->title);
    } else {
        used = (size_t)snprintf(title, sizeof title, "nnpipe report: ");
        for (int i = 0; i < n && used < sizeof title; i++)
            used += (size_t)snprintf(title + used, sizeof title - used,
                                     "%s%s", i ? ", " : "", runs[i].id);
    }
    fputs(page_head, fp);
    fputs("<title>", fp);
    put_html(fp, title);
    fputs("</title>\n</head>\n<body>\n<h1>", fp);
    put_html(fp, title);
    fputs("</h1>\n", fp);
    put_summary_table(fp, runs, n);
    put_settings_table(fp, runs, n);
    if (o->out_dir && n > 1) {
        run_info all = {.dir = o->out_dir, .rel = ""};
        fputs("<h2>Comparison</h2>\n", fp);
        put_figure(fp, all.dir, all.rel, "curves", "curves of every run",
                   "Cost and accuracy of every run against epochs trained, "
                   "one hue per run: bright for training, dark for dev.");
    }
    for (int i = 0; i < n; i++)
        put_run_section(fp, &runs[i], n > 1);
    fputs(page_script, fp);
    fputs("</body>\n</html>\n", fp);
}

/* The folder's own name, for a summary without exp_id. */
static char *folder_id(const char *dir)
{
    char *full = realpath(dir, NULL);
    char *slash, *id;

    if (!full)
        nn_die(errno, "cannot resolve '%s'", dir);
    slash = strrchr(full, '/');
    id = str_dup(slash && slash[1] ? slash + 1 : full,
                 strlen(slash && slash[1] ? slash + 1 : full));
    free(full);
    return id;
}

static void load_run(run_info *run, const char *dir, const char *page_dir)
{
    char *path = path_in(dir, "summary.json");
    char *text = read_text(path);
    const json_field *id;

    memset(run, 0, sizeof *run);
    run->dir = dir;
    if (!text)
        nn_die(ENOENT, "cannot open '%s'", path);
    parse_summary(path, text, &run->sum);
    free(text);
    free(path);
    id = summary_get(&run->sum, "exp_id");
    run->id = id && id->is_string ? str_dup(id->value, strlen(id->value))
                                  : folder_id(dir);
    path = path_in(dir, "pipeline.sh");
    run->pipeline = read_text(path);
    free(path);
    run->rel = relative_dir(page_dir, dir);
}

static void free_run(run_info *run)
{
    for (int i = 0; i < run->sum.n_fields; i++) {
        free(run->sum.fields[i].key);
        free(run->sum.fields[i].value);
    }
    free(run->sum.fields);
    free(run->id);
    free(run->pipeline);
    free(run->rel);
}

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"charts", no_argument, NULL, 'c'},
        {"title", required_argument, NULL, 't'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(o, 0, sizeof *o);
    while ((c = getopt_long(argc, argv, ":o:ct:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out_dir = optarg; break;
        case 'c': o->charts = 1; break;
        case 't': o->title = optarg; break;
        default: nn_cli_common(c);
        }
    }
    o->runs = argv + optind;
    o->n_runs = argc - optind;
    if (o->n_runs == 0)
        nn_usage_error("missing RUN_DIR: name a folder made by nn-run");
    if (o->n_runs > 1 && !o->out_dir)
        nn_usage_error("%d RUN_DIRs need --out DIR for the page that "
                       "compares them", o->n_runs);
}

int main(int argc, char **argv)
{
    options o;
    run_info *runs;
    nn_atomic_file page;

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &o);
    find_nn_plot();
    const char *page_dir = o.out_dir ? o.out_dir : o.runs[0];
    if (o.out_dir && mkdir(o.out_dir, 0777) < 0 && errno != EEXIST)
        nn_die(errno, "cannot create '%s'", o.out_dir);
    for (int i = 0; i < o.n_runs; i++) {
        char *summary_path = path_in(o.runs[i], "summary.json");
        if (!file_exists(summary_path))
            nn_die(0, "'%s' is not a run folder: it has no summary.json",
                   o.runs[i]);
        free(summary_path);
    }

    if (o.charts) {
        for (int i = 0; i < o.n_runs; i++)
            draw_run_charts(o.runs[i]);
        if (o.out_dir && o.n_runs > 1)
            draw_comparison(&o);
    }
    runs = calloc(o.n_runs > 0 ? (size_t)o.n_runs : 1, sizeof *runs);
    if (!runs)
        nn_die(ENOMEM, "out of memory");
    for (int i = 0; i < o.n_runs; i++)
        load_run(&runs[i], o.runs[i], page_dir);

    char *index = path_in(page_dir, "index.html");
    if (nn_atomic_open(&page, index) < 0)
        nn_die(errno, "cannot create '%s'", index);
    put_page(page.fp, &o, runs, o.n_runs);
    if (nn_atomic_commit(&page) < 0)
        nn_die(errno, "cannot write '%s'", index);
    nn_log_info("wrote '%s'", index);
    free(index);
    for (int i = 0; i < o.n_runs; i++)
        free_run(&runs[i]);
    free(runs);
    return 0;
}
