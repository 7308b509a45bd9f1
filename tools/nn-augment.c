/*
 * nn-augment: random data augmentation of sample images, one record at
 * a time.  Each sample is cloned, rotated and given Gaussian noise, in
 * that order, with draws from one seeded generator in record order.
 * It sits after nn-shuffle, so every epoch and every clone draws anew.
 * Other records pass through unchanged.  No cropping or scaling here:
 * output images keep their input size.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_image.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_record.h"
#include "nn_rng.h"

static const char usage[] =
    "Usage: nn-augment [OPTION]... [FILE]...\n"
    "Augment every sample image: clone it, rotate it about its centre,\n"
    "add Gaussian noise, in that order.  Images keep their size.  One\n"
    "generator seeded by --seed draws, in record order, one angle and then\n"
    "one noise value per channel for each written sample, so the same\n"
    "seed and input give the same bytes.  An option at 0 draws nothing.\n"
    "Reads the FILEs, or standard input.\n"
    "\n"
    "  -c, --clones=K         write every sample K times in a row; for K > 1\n"
    "                         the ids become ID#0 ... ID#K-1 [1]\n"
    "  -r, --rotate=A         rotate clockwise by an angle drawn uniformly\n"
    "                         between -A and A degrees, 0 to 180; any real\n"
    "                         angle, not only whole degrees [0]\n"
    "      --rotate-exact=A   rotate by exactly A degrees, -360 to 360,\n"
    "                         drawing nothing (for tests and figures)\n"
    "      --fill=V|R,G,B     colour of the corners a rotation uncovers, a\n"
    "                         gray level or an RGB triple, 0 to 255 each\n"
    "                         [each image's top-left pixel]\n"
    "  -n, --noise=S          add noise of standard deviation S, 0 to 1, in\n"
    "                         units of the full pixel range (255 * S in\n"
    "                         pixel values), then clamp and round [0]\n"
    "  -s, --seed=N           seed of the draws, which differ from those of\n"
    "                         nn-shuffle with the same seed [0]\n";

enum { OPT_ROTATE_EXACT = NN_OPT_TOOL, OPT_FILL };

/*
 * Mixed into --seed before seeding, so that nn-augment and nn-shuffle
 * given the same seed draw unrelated numbers instead of one sequence.
 */
#define SEED_SALT UINT64_C(0x6175676d656e7400)   /* ASCII "augment", 0 */

typedef struct {
    long clones;
    double rotate;              /* largest |angle| drawn, degrees */
    int exact;                  /* --rotate-exact was given */
    double exact_degrees;
    int has_fill;
    uint8_t fill[3];            /* R, G, B, or a gray level three times */
    double noise;               /* standard deviation, fraction of 255 */
    uint64_t seed;
} options;

/* Buffers reused from one sample to the next. */
typedef struct {
    double *noise;
    size_t noise_cap;
    char *id;
    size_t id_cap;
} scratch;

/* Parse "V" or "R,G,B", each 0..255, into fill. */
static void parse_fill(const char *arg, uint8_t fill[3])
{
    long v[3];
    int n = 0;
    const char *p = arg;
    char *end;

    while (n < 3) {
        errno = 0;
        v[n] = strtol(p, &end, 10);
        if (!isdigit((unsigned char)*p) || errno || v[n] > 255)
            break;
        n++;
        if (*end != ',')
            break;
        p = end + 1;
    }
    if ((n != 1 && n != 3) || *end)
        nn_usage_error("invalid value '%s' for --fill: expected a gray "
                       "level or R,G,B, each 0 to 255", arg);
    for (int i = 0; i < 3; i++)
        fill[i] = (uint8_t)(n == 1 ? v[0] : v[i]);
}

static void parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"clones", required_argument, NULL, 'c'},
        {"rotate", required_argument, NULL, 'r'},
        {"rotate-exact", required_argument, NULL, OPT_ROTATE_EXACT},
        {"fill", required_argument, NULL, OPT_FILL},
        {"noise", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c, random_rotation = 0;

    memset(opt, 0, sizeof *opt);
    opt->clones = 1;
    while ((c = getopt_long(argc, argv, ":c:r:n:s:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opt->clones = nn_cli_int("--clones", optarg, 1, 1000000);
            break;
        case 'r':
            opt->rotate = nn_cli_double("--rotate", optarg, 0, 180);
            random_rotation = 1;
            break;
        case OPT_ROTATE_EXACT:
            opt->exact_degrees = nn_cli_double("--rotate-exact", optarg,
                                               -360, 360);
            opt->exact = 1;
            break;
        case OPT_FILL:
            parse_fill(optarg, opt->fill);
            opt->has_fill = 1;
            break;
        case 'n':
            opt->noise = nn_cli_double("--noise", optarg, 0, 1);
            break;
        case 's':
            opt->seed = (uint64_t)nn_cli_int("--seed", optarg, 0, INT64_MAX);
            break;
        default:
            nn_cli_common(c);
        }
    }
    if (random_rotation && opt->exact)
        nn_usage_error("--rotate and --rotate-exact exclude each other");
}

static void *grow(void *buf, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return buf;
    buf = realloc(buf, need * elem_size);
    if (!buf)
        nn_die(ENOMEM, "cannot allocate %zu bytes", need * elem_size);
    *cap = need;
    return buf;
}

/*
 * Make one augmented copy of in: rotate, then add noise.  The draws
 * happen in this order: the angle, then one normal value per channel
 * of every pixel in HWC order.
 */
static nn_image augment(const nn_image *in, const options *opt,
                        nn_rng *rng, scratch *sc)
{
    nn_image out;
    double degrees = 0;
    int rotating = opt->exact || opt->rotate > 0;

    if (opt->exact)
        degrees = opt->exact_degrees;
    else if (opt->rotate > 0)
        degrees = opt->rotate * (2 * nn_rng_uniform(rng) - 1);

    if (rotating) {
        const uint8_t *fill = NULL;
        uint8_t gray;
        if (opt->has_fill && in->channels == 3) {
            fill = opt->fill;
        } else if (opt->has_fill) {
            /* luma, as nn_image_grayscale computes it */
            gray = (uint8_t)((299 * opt->fill[0] + 587 * opt->fill[1] +
                              114 * opt->fill[2] + 500) / 1000);
            fill = &gray;
        }
        if (nn_image_rotate(in, degrees, fill, &out) < 0)
            nn_die(ENOMEM, "cannot rotate a %dx%d image", in->width,
                   in->height);
    } else {
        size_t n = (size_t)in->width * in->height * in->channels;
        out = *in;
        if (!(out.data = malloc(n)))
            nn_die(ENOMEM, "cannot copy a %dx%d image", in->width,
                   in->height);
        memcpy(out.data, in->data, n);
    }

    if (opt->noise > 0) {
        size_t n = (size_t)out.width * out.height * out.channels;
        sc->noise = grow(sc->noise, &sc->noise_cap, n, sizeof *sc->noise);
        for (size_t i = 0; i < n; i++)
            sc->noise[i] = opt->noise * nn_rng_normal(rng);
        nn_image_add_noise(&out, sc->noise);
    }
    return out;
}

/* Write the clones of one sample and return how many were written. */
static long emit_clones(nn_writer *w, const nn_reader *r, const nn_sample *s,
                        const options *opt, nn_rng *rng, scratch *sc)
{
    nn_image in = nn_sample_view(r, s);
    int transform = opt->exact || opt->rotate > 0 || opt->noise > 0;

    /* Without a transform and a clone suffix the record is unchanged. */
    if (!transform && opt->clones == 1) {
        nn_writer_raw(w, r->raw, r->raw_len);
        return 1;
    }
    for (long k = 0; k < opt->clones; k++) {
        nn_image img = transform ? augment(&in, opt, rng, sc) : in;
        nn_tensor t = {.dtype = NN_U8, .n_dims = 3,
                       .shape = {img.height, img.width, img.channels},
                       .data = img.data,
                       .n_bytes = (size_t)img.width * img.height *
                                  img.channels};
        const char *id = s->id;
        size_t id_len = s->id_len;

        if (opt->clones > 1) {
            sc->id = grow(sc->id, &sc->id_cap, s->id_len + 24, 1);
            id_len = (size_t)snprintf(sc->id, sc->id_cap, "%.*s#%ld",
                                      (int)s->id_len, s->id, k);
            id = sc->id;
        }
        nn_write_sample(w, id, id_len, s->label, &t);
        if (transform)
            nn_image_free(&img);
    }
    return opt->clones;
}

int main(int argc, char **argv)
{
    options opt;
    nn_input in;
    nn_writer w;
    nn_rng rng;
    scratch sc = {0};
    long n_read = 0, n_written = 0;

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &opt);
    nn_io_refuse_terminal();
    nn_input_init(&in, argv + optind, argc - optind);
    nn_writer_init(&w, stdout);
    nn_rng_seed(&rng, opt.seed ^ SEED_SALT);

    while (nn_input_next(&in) > 0) {
        nn_sample s;
        if (in.r.type != NN_REC_SAMPLE) {
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
            continue;
        }
        if (nn_reader_sample(&in.r, &s) < 0)
            nn_reader_die(&in.r, "%s", in.r.err);
        n_written += emit_clones(&w, &in.r, &s, &opt, &rng, &sc);
        n_read++;
    }
    nn_log_info("samples=%ld written=%ld clones=%ld %s=%g noise=%g "
                "seed=%llu", n_read, n_written, opt.clones,
                opt.exact ? "rotate_exact" : "rotate",
                opt.exact ? opt.exact_degrees : opt.rotate, opt.noise,
                (unsigned long long)opt.seed);
    free(sc.noise);
    free(sc.id);
    nn_writer_free(&w);
    nn_input_free(&in);
    return 0;
}
