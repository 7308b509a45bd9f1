/*
 * nn-load: read an image dataset folder DIR/<class>/<image>.png and
 * write one sample record per image, for one partition of a seeded,
 * stratified train/dev/test split.  Images keep their own size and
 * channels (1 for gray, 3 for colour); resizing is nn-resize's job.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_idx.h"
#include "nn_image.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_png.h"
#include "nn_record.h"
#include "nn_rng.h"

static const char usage[] =
    "Usage: nn-load [OPTION]... DIR\n"
    "  or:  nn-load [OPTION]... IMAGE.png...\n"
    "Read the images of DIR/<class>/*.png and write sample records.\n"
    "Classes are the sorted names of DIR's folders.  Each class is split\n"
    "on its own (stratified) into training, dev and test, in a shuffled\n"
    "order drawn from the dataset seed: the same seed gives the same split.\n"
    "\n"
    "  -p, --partition=NAME   training | dev | test | all [all]\n"
    "  -s, --dataset-seed=N   seed of the split [0]\n"
    "      --split=T,D        training and dev fractions; test takes the\n"
    "                         rest [0.7,0.15]\n"
    "\n"
    "      --idx-labels=FILE  read the operand as an IDX image file (the MNIST\n"
    "                         format, gzip-compressed or not) labelled by the\n"
    "                         IDX file FILE\n"
    "      --classes=LIST     comma-separated names of the IDX labels 0, 1, ...\n"
    "                         [the label numbers]\n"
    "\n"
    "Given PNG files instead of a folder, it writes them in order as samples\n"
    "of one class named 'unlabeled', for nn-predict.\n";

enum { PART_TRAINING, PART_DEV, PART_TEST, PART_ALL };
static const char *const part_names[] = {"training", "dev", "test", "all"};

typedef struct {
    char *name;
    char **files;               /* sorted file names */
    int n_files;
    unsigned char *part;        /* partition of each file */
} class_dir;

typedef struct {
    const char *dir;
    char **files;               /* IMAGE.png operands, or NULL */
    const char *idx_labels;     /* IDX mode: the labels file */
    const char *class_list;     /* IDX mode: --classes */
    int n_files;
    int partition;
    uint64_t seed;
    double fraction[2];         /* training, dev */
} options;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of path that satisfy want_dir. */
static char **list_dir(const char *path, int want_dir, int *n_out)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL, full[4096];
    int n = 0, cap = 0;

    if (!d)
        nn_die(errno, "cannot read folder '%s'", path);
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;           /* ".", ".." and hidden files */
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) < 0)
            nn_die(errno, "cannot read '%s'", full);
        if (S_ISDIR(st.st_mode) != want_dir)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                nn_die(ENOMEM, "cannot list '%s'", path);
        }
        if (!(names[n++] = strdup(e->d_name)))
            nn_die(ENOMEM, "cannot list '%s'", path);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, compare_names);
    *n_out = n;
    return names;
}

/*
 * Assign each of the n items of a class to a partition.  The items are
 * shuffled, then cut in order: training takes trunc(n*t)+1, dev the
 * next trunc(n*d)+1 (or what is left), test the rest.  This is the
 * original tool's rule; with n = 100 it gives 71/16/13.  Returns the
 * partition of each item, in item order.
 */
static unsigned char *split_items(int n, nn_rng *rng, const double *fraction)
{
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    unsigned char *part = malloc(n ? n : 1);
    int n_train, n_dev;

    if (!order || !part)
        nn_die(ENOMEM, "cannot split %d items", n);
    for (int i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    nn_rng_shuffle(rng, order, (size_t)n);
    n_train = (int)((double)n * fraction[0]) + 1;
    if (n_train > n)
        n_train = n;
    n_dev = (int)((double)n * fraction[1]) + 1;
    if (n_dev > n - n_train)
        n_dev = n - n_train;
    for (int i = 0; i < n; i++)
        part[order[i]] = i < n_train ? PART_TRAINING
                         : i < n_train + n_dev ? PART_DEV : PART_TEST;
    free(order);
    return part;
}

static void parse_split(const char *arg, double *fraction)
{
    char *end;
    double t = strtod(arg, &end), d;

    if (end == arg || *end != ',')
        nn_usage_error("invalid value '%s' for --split: expected T,D", arg);
    d = strtod(end + 1, &end);
    if (*end || !(t > 0 && d >= 0 && t + d <= 1))
        nn_usage_error("invalid value '%s' for --split: fractions must be "
                       "positive and sum to at most 1", arg);
    fraction[0] = t;
    fraction[1] = d;
}

static void parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"partition", required_argument, NULL, 'p'},
        {"dataset-seed", required_argument, NULL, 's'},
        {"split", required_argument, NULL, NN_OPT_TOOL},
        {"idx-labels", required_argument, NULL, NN_OPT_TOOL + 1},
        {"classes", required_argument, NULL, NN_OPT_TOOL + 2},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(opt, 0, sizeof *opt);
    opt->partition = PART_ALL;
    opt->fraction[0] = 0.7;
    opt->fraction[1] = 0.15;
    while ((c = getopt_long(argc, argv, ":p:s:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            opt->partition = -1;
            for (int i = 0; i <= PART_ALL; i++)
                if (strcmp(optarg, part_names[i]) == 0)
                    opt->partition = i;
            if (opt->partition < 0)
                nn_usage_error("invalid partition '%s': expected training, "
                               "dev, test or all", optarg);
            break;
        case 's':
            opt->seed = (uint64_t)nn_cli_int("--dataset-seed", optarg, 0,
                                             INT64_MAX);
            break;
        case NN_OPT_TOOL:
            parse_split(optarg, opt->fraction);
            break;
        case NN_OPT_TOOL + 1:
            opt->idx_labels = optarg;
            break;
        case NN_OPT_TOOL + 2:
            opt->class_list = optarg;
            break;
        default:
            nn_cli_common(c);
        }
    }
    struct stat st;

    if (optind == argc)
        nn_usage_error("missing dataset folder DIR");
    opt->dir = argv[optind];
    if (opt->idx_labels) {
        if (optind != argc - 1)
            nn_usage_error("--idx-labels takes one IDX image file");
    } else if (stat(opt->dir, &st) == 0 && S_ISREG(st.st_mode)) {
        opt->files = argv + optind;
        opt->n_files = argc - optind;
    } else if (optind != argc - 1) {
        nn_usage_error("expected one dataset folder DIR");
    }
}

/* Decode one image and write it as a sample record. */
static void emit_image(nn_writer *w, const char *dir, const class_dir *c,
                       int label, int file)
{
    char path[4096], id[1024], err[256];
    nn_image img = {0};
    nn_tensor t = {0};

    if (dir)
        snprintf(path, sizeof path, "%s/%s/%s", dir, c->name, c->files[file]);
    else
        snprintf(path, sizeof path, "%s", c->files[file]);
    if (nn_png_read(path, &img, err, sizeof err) < 0)
        nn_die(0, "'%s': %s", path, err);
    int id_len = dir ? snprintf(id, sizeof id, "%s/%s", c->name,
                                c->files[file])
                     : snprintf(id, sizeof id, "%s", c->files[file]);
    t.dtype = NN_U8;
    t.n_dims = 3;
    t.shape[0] = img.height;
    t.shape[1] = img.width;
    t.shape[2] = img.channels;
    t.data = img.data;
    t.n_bytes = (size_t)img.width * img.height * img.channels;
    nn_write_sample(w, id, (size_t)id_len, label, &t);
    nn_image_free(&img);
}

/* IMAGE.png operands: samples of the single class "unlabeled". */
static void emit_files(const options *opt)
{
    char *unlabeled = "unlabeled";
    class_dir c = {.name = "", .files = opt->files, .n_files = opt->n_files};
    nn_header header = {.n_classes = 1, .classes = &unlabeled,
                        .source = "files", .partition = "all"};
    nn_writer w;

    nn_writer_init(&w, stdout);
    nn_write_header(&w, &header);
    for (int f = 0; f < opt->n_files; f++)
        emit_image(&w, NULL, &c, 0, f);
    nn_writer_free(&w);
}

/* The class names of IDX labels: --classes, or "0" .. "n-1". */
static char **idx_class_names(const options *opt, int n_labels, int *n_out)
{
    char **names = calloc(NN_MAX_CLASSES, sizeof *names);
    int n = 0;

    if (!names)
        nn_die(ENOMEM, "cannot name the classes");
    if (opt->class_list) {
        char *list = strdup(opt->class_list), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t && n < NN_MAX_CLASSES;
             t = strtok_r(NULL, ",", &save))
            names[n++] = t;
        if (n < n_labels)
            nn_usage_error("--classes names %d classes, the labels go up "
                           "to %d", n, n_labels - 1);
    } else {
        for (; n < n_labels; n++) {
            char buf[16];
            snprintf(buf, sizeof buf, "%d", n);
            names[n] = strdup(buf);
        }
    }
    *n_out = n;
    return names;
}

/* Read an IDX file fully (labels are small) or die naming it. */
static uint8_t *read_idx_labels(const char *path, uint32_t *n_out)
{
    char err[256];
    nn_idx idx;

    if (nn_idx_open(&idx, path, err, sizeof err) < 0)
        nn_die(0, "'%s': %s", path, err);
    if (idx.n_dims != 1)
        nn_die(0, "'%s': expected a 1-dim IDX label file, got %d dims",
               path, idx.n_dims);
    uint8_t *labels = malloc(idx.dims[0]);
    if (!labels)
        nn_die(ENOMEM, "cannot hold %u labels", idx.dims[0]);
    for (uint32_t i = 0; i < idx.dims[0]; i++)
        if (nn_idx_read(&idx, &labels[i], err, sizeof err) != 1)
            nn_die(0, "'%s': %s", path, err);
    *n_out = idx.dims[0];
    nn_idx_close(&idx);
    return labels;
}

/*
 * IDX mode: labels first, split per class as for folders, then the
 * images streamed in file order.  Ids are "<images file>#<index>".
 */
static void emit_idx(const options *opt)
{
    char err[256], id[64];
    uint32_t n_labels;
    uint8_t *labels = read_idx_labels(opt->idx_labels, &n_labels);
    int max_label = 0, n_classes;
    nn_idx idx;
    nn_rng rng;
    nn_writer w;

    for (uint32_t i = 0; i < n_labels; i++)
        max_label = labels[i] > max_label ? labels[i] : max_label;
    char **names = idx_class_names(opt, max_label + 1, &n_classes);
    if (nn_idx_open(&idx, opt->dir, err, sizeof err) < 0)
        nn_die(0, "'%s': %s", opt->dir, err);
    if (idx.n_dims != 3 && idx.n_dims != 4)
        nn_die(0, "'%s': expected IDX images of 3 or 4 dims, got %d",
               opt->dir, idx.n_dims);
    if (idx.dims[0] != n_labels)
        nn_die(0, "'%s' holds %u images but '%s' %u labels", opt->dir,
               idx.dims[0], opt->idx_labels, n_labels);

    /* the same stratified split as for folders: per class, label order */
    unsigned char *part = malloc(n_labels ? n_labels : 1);
    uint32_t *members = malloc((n_labels ? n_labels : 1) * sizeof *members);
    if (!part || !members)
        nn_die(ENOMEM, "cannot split %u images", n_labels);
    nn_rng_seed(&rng, opt->seed);
    for (int c = 0; c < n_classes; c++) {
        int n = 0;
        for (uint32_t i = 0; i < n_labels; i++)
            if (labels[i] == c)
                members[n++] = i;
        unsigned char *p = split_items(n, &rng, opt->fraction);
        for (int k = 0; k < n; k++)
            part[members[k]] = p[k];
        free(p);
    }

    nn_header header = {.n_classes = n_classes, .classes = names,
                        .source = (char *)opt->dir,
                        .partition = (char *)part_names[opt->partition]};
    uint8_t *pixels = malloc(idx.item_bytes);
    nn_tensor t = {.dtype = NN_U8, .n_dims = 3,
                   .shape = {idx.dims[1], idx.dims[2],
                             idx.n_dims == 4 ? idx.dims[3] : 1},
                   .data = pixels, .n_bytes = idx.item_bytes};
    if (!pixels)
        nn_die(ENOMEM, "cannot hold an image");
    nn_writer_init(&w, stdout);
    nn_write_header(&w, &header);
    for (uint32_t i = 0; nn_idx_read(&idx, pixels, err, sizeof err) == 1;
         i++) {
        if (opt->partition != PART_ALL && part[i] != opt->partition)
            continue;
        int n = snprintf(id, sizeof id, "%u", i);
        nn_write_sample(&w, id, (size_t)n, labels[i], &t);
    }
    if (idx.n_read != idx.dims[0])
        nn_die(0, "'%s': %s", opt->dir, err);
    nn_writer_free(&w);
    nn_idx_close(&idx);
    free(pixels);
    free(part);
    free(members);
    free(labels);
    if (!opt->class_list)
        for (int c = 0; c < n_classes; c++)
            free(names[c]);
    else
        free(names[0]);         /* the strtok_r copy of the list */
    free(names);
}

int main(int argc, char **argv)
{
    options opt;
    class_dir *classes;
    nn_header header = {0};
    nn_writer w;
    nn_rng rng;
    char **names;
    int n_classes;
    long counts[4] = {0};

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &opt);
    nn_io_refuse_terminal();
    if (opt.files) {
        emit_files(&opt);
        return 0;
    }
    if (opt.idx_labels) {
        emit_idx(&opt);
        return 0;
    }

    /* list classes and their files, then split every class */
    names = list_dir(opt.dir, 1, &n_classes);
    if (n_classes == 0)
        nn_die(0, "'%s': no class folders: expected DIR/<class>/<image>.png",
               opt.dir);
    if (n_classes > NN_MAX_CLASSES)
        nn_die(0, "'%s': %d class folders, over the limit of %d", opt.dir,
               n_classes, NN_MAX_CLASSES);
    classes = calloc(n_classes, sizeof *classes);
    if (!classes)
        nn_die(ENOMEM, "cannot list '%s'", opt.dir);
    nn_rng_seed(&rng, opt.seed);
    for (int i = 0; i < n_classes; i++) {
        char path[4096];
        classes[i].name = names[i];
        snprintf(path, sizeof path, "%s/%s", opt.dir, names[i]);
        classes[i].files = list_dir(path, 0, &classes[i].n_files);
        if (classes[i].n_files == 0)
            nn_die(0, "'%s': class folder has no images", path);
        classes[i].part = split_items(classes[i].n_files, &rng,
                                      opt.fraction);
        for (int f = 0; f < classes[i].n_files; f++)
            counts[classes[i].part[f]]++;
    }
    nn_log_info("dataset=%s classes=%d training=%ld dev=%ld test=%ld seed=%llu",
                opt.dir, n_classes, counts[0], counts[1], counts[2],
                (unsigned long long)opt.seed);

    /* header, then the partition's images in class and file order */
    header.n_classes = n_classes;
    header.classes = names;
    header.source = (char *)opt.dir;
    header.partition = (char *)part_names[opt.partition];
    nn_writer_init(&w, stdout);
    nn_write_header(&w, &header);
    for (int i = 0; i < n_classes; i++)
        for (int f = 0; f < classes[i].n_files; f++)
            if (opt.partition == PART_ALL || classes[i].part[f] == opt.partition)
                emit_image(&w, opt.dir, &classes[i], i, f);
    nn_writer_free(&w);
    for (int i = 0; i < n_classes; i++) {
        for (int f = 0; f < classes[i].n_files; f++)
            free(classes[i].files[f]);
        free(classes[i].files);
        free(classes[i].part);
        free(names[i]);
    }
    free(classes);
    free(names);
    return 0;
}
