/*
 * nn-save: write sample images back to PNG files, one per sample in
 * class folders or the first N in one grid image, optionally once per
 * E epochs.  With --tee it copies its input to standard output
 * unchanged, so it can watch the middle of a pipeline.  Files are
 * replaced atomically (nn_png_write).  Samples are not changed: scaling
 * or normalising for display is left to the stages before it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_image.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_png.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-save [OPTION]... DIR [FILE]...\n"
    "  or:  nn-save --grid=N [OPTION]... PATH.png [FILE]...\n"
    "Write sample images as PNG files.  The first form writes each sample\n"
    "to DIR/CLASS/ID.png, with CLASS from the stream header and ID the\n"
    "sample id less a final '.png'.  In both names every byte other than\n"
    "A-Z a-z 0-9 . _ - becomes '_', and so does a leading '.', so the id\n"
    "'red/000.png' of class red gives DIR/red/red_000.png.  Folders are\n"
    "created as needed.  A later sample with the same name replaces the\n"
    "file.  The second form draws the first N samples into one image,\n"
    "ceil(sqrt(n)) to a row, each centred in a cell of the largest\n"
    "sample's size, on white.  Gray samples become RGB when the grid also\n"
    "has RGB ones.  Epoch markers count epochs from 0.  Nothing goes to\n"
    "standard output unless --tee is given.  Reads the FILEs, or standard\n"
    "input.\n"
    "\n"
    "  -g, --grid=N           draw the first N samples, 1 to 10000, into\n"
    "                         the grid image PATH.png\n"
    "  -e, --every=E          write every E-th epoch only (epochs 0, E, 2E\n"
    "                         and so on), each on its own: the grid of the\n"
    "                         first N samples of that epoch to\n"
    "                         PATH-epoch-<e>.png, or the samples of that\n"
    "                         epoch to DIR/epoch-<e>/CLASS/ID.png\n"
    "  -z, --zoom=Z           enlarge every grid cell Z times, 1 to 64,\n"
    "                         repeating pixels [1]\n"
    "  -t, --tee              copy the input to standard output unchanged\n";

/* White space between grid cells and around them. */
#define GRID_GAP_PX 2

typedef struct {
    const char *dest;           /* DIR, or the grid's PATH.png */
    long grid;                  /* samples per grid, or 0 for a file each */
    long every;                 /* E of --every, or 0 for all epochs */
    int zoom;
    int tee;
} options;

/* The samples of the grid being filled, copied out of their records. */
typedef struct {
    nn_image *cells;
    long n;
} grid;

/* Where files mode writes: folders are created on the first sample. */
typedef struct {
    char *folder;               /* DIR or DIR/epoch-<e>, NULL at first */
    long folder_epoch;
    unsigned char *has_class_folder;    /* by label: folder/CLASS exists */
    char *path;
    size_t path_cap;
} file_sink;

static int parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"grid", required_argument, NULL, 'g'},
        {"every", required_argument, NULL, 'e'},
        {"zoom", required_argument, NULL, 'z'},
        {"tee", no_argument, NULL, 't'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;
    size_t n;

    memset(opt, 0, sizeof *opt);
    opt->zoom = 1;
    while ((c = getopt_long(argc, argv, ":g:e:z:t" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'g':
            opt->grid = nn_cli_int("--grid", optarg, 1, 10000);
            break;
        case 'e':
            opt->every = nn_cli_int("--every", optarg, 1, 1000000);
            break;
        case 'z':
            opt->zoom = (int)nn_cli_int("--zoom", optarg, 1, 64);
            break;
        case 't':
            opt->tee = 1;
            break;
        default:
            nn_cli_common(c);
        }
    }
    if (optind == argc)
        nn_usage_error(opt->grid ? "missing grid image PATH.png"
                                 : "missing output folder DIR");
    opt->dest = argv[optind];
    n = strlen(opt->dest);
    if (opt->grid && (n <= 4 || strcmp(opt->dest + n - 4, ".png") != 0))
        nn_usage_error("invalid grid image '%s': expected a name ending in "
                       "'.png'", opt->dest);
    if (!opt->grid && opt->zoom != 1)
        nn_usage_error("--zoom needs --grid");
    return optind + 1;
}

/* ---- names and folders ------------------------------------------------ */

/*
 * Copy name[0..n) to out (n + 1 bytes) with every byte other than
 * A-Z a-z 0-9 . _ - replaced by '_', and a leading '.' too, so the
 * result is one visible path component.  An empty name gives "_".
 */
static void safe_name(const char *name, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char ch = name[i];
        int safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
                   (ch == '.' && i > 0);
        out[i] = safe ? ch : '_';
    }
    if (n == 0)
        out[n++] = '_';
    out[n] = '\0';
}

/* Create path and its missing parents, as mkdir -p does. */
static void make_folders(const char *path)
{
    char *copy = strdup(path);

    if (!copy)
        nn_die(ENOMEM, "cannot create folder '%s'", path);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;
        *p = '\0';
        if (mkdir(copy, 0777) < 0 && errno != EEXIST)
            nn_die(errno, "cannot create folder '%s'", copy);
        *p = end;
        if (end == '\0')
            break;
    }
    free(copy);
}

/* The folder part of path, or NULL when it has none. */
static char *parent_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (!slash || slash == path)
        return NULL;
    if (!(dir = strndup(path, (size_t)(slash - path))))
        nn_die(ENOMEM, "cannot build a path");
    return dir;
}

static char *format_path(const char *fmt, ...) NN_PRINTF(1, 2);

static char *format_path(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        nn_die(ENOMEM, "cannot build a path");
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void write_png(const char *path, const nn_image *img)
{
    char err[256];

    if (nn_png_write(path, img, err, sizeof err) < 0)
        nn_die(0, "cannot write '%s': %s", path, err);
}

/* ---- one file per sample ---------------------------------------------- */

/* Make sure the sink writes into the folder of this epoch. */
static void sink_enter(file_sink *fs, const options *opt, long epoch,
                       int n_classes)
{
    if (fs->folder && (!opt->every || fs->folder_epoch == epoch))
        return;
    free(fs->folder);
    fs->folder = opt->every
                     ? format_path("%s/epoch-%ld", opt->dest, epoch)
                     : format_path("%s", opt->dest);
    fs->folder_epoch = epoch;
    free(fs->has_class_folder);
    if (!(fs->has_class_folder = calloc((size_t)n_classes, 1)))
        nn_die(ENOMEM, "cannot track %d class folders", n_classes);
    make_folders(fs->folder);
}

static void sink_free(file_sink *fs)
{
    free(fs->folder);
    free(fs->has_class_folder);
    free(fs->path);
}

static void save_sample(file_sink *fs, const nn_header *h, const nn_sample *s,
                        const nn_image *img)
{
    const char *cls = h->classes[s->label];
    size_t cls_len = strlen(cls), id_len = s->id_len;
    size_t folder_len = strlen(fs->folder), need;

    if (id_len > 4 && memcmp(s->id + id_len - 4, ".png", 4) == 0)
        id_len -= 4;
    need = folder_len + cls_len + id_len + 16;
    if (need > fs->path_cap) {
        free(fs->path);
        if (!(fs->path = malloc(need)))
            nn_die(ENOMEM, "cannot build a path");
        fs->path_cap = need;
    }

    /* folder/CLASS, created once per folder */
    memcpy(fs->path, fs->folder, folder_len);
    fs->path[folder_len] = '/';
    safe_name(cls, cls_len, fs->path + folder_len + 1);
    if (!fs->has_class_folder[s->label]) {
        if (mkdir(fs->path, 0777) < 0 && errno != EEXIST)
            nn_die(errno, "cannot create folder '%s'", fs->path);
        fs->has_class_folder[s->label] = 1;
    }

    /* folder/CLASS/ID.png */
    char *end = fs->path + strlen(fs->path);
    *end++ = '/';
    safe_name(s->id, id_len, end);
    strcat(end, ".png");
    write_png(fs->path, img);
}

/* ---- grids ------------------------------------------------------------ */

static void grid_add(grid *g, const nn_image *img)
{
    size_t n = (size_t)img->width * img->height * img->channels;
    nn_image *cell = &g->cells[g->n];

    *cell = *img;
    if (!(cell->data = malloc(n)))
        nn_die(ENOMEM, "cannot keep a %dx%d sample for the grid",
               img->width, img->height);
    memcpy(cell->data, img->data, n);
    g->n++;
}

static void grid_clear(grid *g)
{
    for (long i = 0; i < g->n; i++)
        nn_image_free(&g->cells[i]);
    g->n = 0;
}

/* Copy img, zoomed, into the canvas with its top-left corner at (x0, y0). */
static void paint_cell(nn_image *canvas, const nn_image *img, int zoom,
                       int x0, int y0)
{
    int w = img->width * zoom, h = img->height * zoom;

    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data +
                             (size_t)(y / zoom) * img->width * img->channels;
        uint8_t *dst = canvas->data +
                       ((size_t)(y0 + y) * canvas->width + x0) *
                       canvas->channels;
        for (int x = 0; x < w; x++) {
            const uint8_t *px = row + (size_t)(x / zoom) * img->channels;
            for (int k = 0; k < canvas->channels; k++)
                dst[(size_t)x * canvas->channels + k] =
                    px[img->channels == 1 ? 0 : k];
        }
    }
}

/*
 * Draw the grid's samples, ceil(sqrt(n)) to a row, each centred in a
 * cell as large as the largest sample, and write it to path.
 */
static void grid_write(const grid *g, int zoom, const char *path)
{
    int64_t cell_w = 0, cell_h = 0, width, height;
    int channels = 1, cols = 0, rows;
    nn_image canvas;

    for (long i = 0; i < g->n; i++) {
        const nn_image *img = &g->cells[i];
        if (img->width > cell_w)
            cell_w = img->width;
        if (img->height > cell_h)
            cell_h = img->height;
        if (img->channels == 3)
            channels = 3;
    }
    while ((long)cols * cols < g->n)
        cols++;
    rows = (int)((g->n + cols - 1) / cols);
    cell_w *= zoom;
    cell_h *= zoom;
    width = cols * (cell_w + GRID_GAP_PX) + GRID_GAP_PX;
    height = rows * (cell_h + GRID_GAP_PX) + GRID_GAP_PX;
    if (width > 65535 || height > 65535 ||
        width * height > NN_IMAGE_MAX_PIXELS)
        nn_die(0, "cannot write '%s': a grid of %lldx%lld pixels is over "
               "the limit of %lld pixels", path, (long long)width,
               (long long)height, (long long)NN_IMAGE_MAX_PIXELS);

    canvas.width = (int)width;
    canvas.height = (int)height;
    canvas.channels = channels;
    if (!(canvas.data = malloc((size_t)(width * height * channels))))
        nn_die(ENOMEM, "cannot draw a grid of %lldx%lld pixels",
               (long long)width, (long long)height);
    memset(canvas.data, 255, (size_t)(width * height * channels));
    for (long i = 0; i < g->n; i++) {
        const nn_image *img = &g->cells[i];
        int64_t x0 = (i % cols) * (cell_w + GRID_GAP_PX) + GRID_GAP_PX;
        int64_t y0 = (i / cols) * (cell_h + GRID_GAP_PX) + GRID_GAP_PX;
        x0 += (cell_w - (int64_t)img->width * zoom) / 2;
        y0 += (cell_h - (int64_t)img->height * zoom) / 2;
        paint_cell(&canvas, img, zoom, (int)x0, (int)y0);
    }
    write_png(path, &canvas);
    nn_image_free(&canvas);
}

/* PATH.png, or PATH-epoch-<e>.png with --every. */
static char *grid_path(const options *opt, long epoch)
{
    if (!opt->every)
        return format_path("%s", opt->dest);
    return format_path("%.*s-epoch-%ld.png", (int)(strlen(opt->dest) - 4),
                       opt->dest, epoch);
}

/* Write the grid when it has samples, then empty it. */
static long grid_flush(grid *g, const options *opt, long epoch)
{
    if (g->n == 0)
        return 0;
    char *path = grid_path(opt, epoch);
    grid_write(g, opt->zoom, path);
    nn_log_debug("wrote '%s' samples=%ld", path, g->n);
    free(path);
    grid_clear(g);
    return 1;
}

/* ---- main ------------------------------------------------------------- */

/* The state main keeps from one record to the next. */
typedef struct {
    const options *opt;
    grid g;
    file_sink fs;
    long epoch;                 /* epoch markers seen so far */
    int grid_done;              /* this epoch's grid is written */
    long n_samples, n_files, n_grids;
} saver;

/* True when the current epoch is one that --every selects. */
static int epoch_chosen(const saver *sv)
{
    return !sv->opt->every || sv->epoch % sv->opt->every == 0;
}

/* At an epoch marker with --every: write the epoch's short grid. */
static void end_epoch(saver *sv)
{
    if (sv->opt->grid && epoch_chosen(sv))
        sv->n_grids += grid_flush(&sv->g, sv->opt, sv->epoch);
    sv->epoch++;
    sv->grid_done = 0;
}

/* Save the current sample record to its file or to the grid. */
static void take_sample(saver *sv, nn_input *in)
{
    const options *opt = sv->opt;
    nn_sample s;

    sv->n_samples++;
    if (!epoch_chosen(sv) || (opt->grid && sv->grid_done))
        return;
    if (nn_reader_sample(&in->r, &s) < 0)
        nn_reader_die(&in->r, "%s", in->r.err);
    nn_image img = nn_sample_view(&in->r, &s);

    if (!opt->grid) {
        sink_enter(&sv->fs, opt, sv->epoch, in->header.n_classes);
        save_sample(&sv->fs, &in->header, &s, &img);
        sv->n_files++;
        return;
    }
    grid_add(&sv->g, &img);
    if (sv->g.n == opt->grid) {
        sv->n_grids += grid_flush(&sv->g, opt, sv->epoch);
        sv->grid_done = 1;
    }
}

/* Create the grid's folder and room for its samples. */
static void prepare_grid(saver *sv)
{
    char *dir = parent_folder(sv->opt->dest);

    if (dir)
        make_folders(dir);
    free(dir);
    sv->g.cells = calloc((size_t)sv->opt->grid, sizeof *sv->g.cells);
    if (!sv->g.cells)
        nn_die(ENOMEM, "cannot hold a grid of %ld samples", sv->opt->grid);
}

int main(int argc, char **argv)
{
    options opt;
    nn_input in;
    saver sv = {0};

    nn_cli_init(argc, argv, usage);
    int first = parse_args(argc, argv, &opt);
    sv.opt = &opt;
    if (opt.tee)
        nn_io_refuse_terminal();
    if (opt.grid)
        prepare_grid(&sv);
    nn_input_init(&in, argv + first, argc - first);

    while (nn_input_next(&in) > 0) {
        if (opt.tee)
            nn_io_write(stdout, in.r.raw, in.r.raw_len);
        if (in.r.type == NN_REC_EPOCH && opt.every)
            end_epoch(&sv);
        else if (in.r.type == NN_REC_SAMPLE)
            take_sample(&sv, &in);
    }

    if (opt.grid) {
        sv.n_grids += grid_flush(&sv.g, &opt, sv.epoch);
        nn_log_info("samples=%ld grids=%ld", sv.n_samples, sv.n_grids);
    } else {
        nn_log_info("samples=%ld files=%ld", sv.n_samples, sv.n_files);
    }
    grid_clear(&sv.g);
    free(sv.g.cells);
    sink_free(&sv.fs);
    nn_input_free(&in);
    return 0;
}
