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
 * Assign each file of a class to a partition.  The class's files are
 * shuffled, then cut in order: training takes trunc(n*t)+1, dev the
 * next trunc(n*d)+1 (or what is left), test the rest.  This is the
 * original tool's rule; with n = 100 it gives 71/16/13.
 */
static void split_class(class_dir *c, nn_rng *rng, const double *fraction)
{
    uint32_t *order = malloc(c->n_files * sizeof *order);
    int n = c->n_files, n_train, n_dev;

    c->part = malloc(n);
    if (!order || !c->part)
        nn_die(ENOMEM, "cannot split class '%s'", c->name);
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
        c->part[order[i]] = i < n_train ? PART_TRAINING
                            : i < n_train + n_dev ? PART_DEV : PART_TEST;
    free(order);
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
        default:
            nn_cli_common(c);
        }
    }
    struct stat st;

    if (optind == argc)
        nn_usage_error("missing dataset folder DIR");
    opt->dir = argv[optind];
    if (stat(opt->dir, &st) == 0 && S_ISREG(st.st_mode)) {
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
        split_class(&classes[i], &rng, opt.fraction);
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
    return 0;
}
