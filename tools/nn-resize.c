/*
 * nn-resize: deterministic preprocessing of sample images, in a fixed
 * order: trim the uniform border, resize to WxH (area averaging when
 * shrinking, bilinear when enlarging), convert to one luminance
 * channel, invert dark-background images, stretch to the full 0..255
 * range.  Each step runs only when asked for.  Other records pass
 * through unchanged.
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

static const char usage[] =
    "Usage: nn-resize [OPTION]... WxH [FILE]...\n"
    "  or:  nn-resize [OPTION]... --size=WxH|--keep-size [FILE]...\n"
    "  or:  nn-resize --trim|--grayscale|--adaptive-invert|--minmax\n"
    "                 [OPTION]... [WxH] [FILE]...\n"
    "Preprocess every sample image.  The steps run in this fixed order,\n"
    "each only when its option is given:\n"
    "  1. trim              cut the border, then resize the trimmed image\n"
    "  2. resize to WxH     stretch to W by H pixels (the aspect ratio is\n"
    "                       not kept): shrinking averages the covered area,\n"
    "                       enlarging interpolates bilinearly\n"
    "  3. grayscale         after resizing, as the original tool did\n"
    "  4. adaptive-invert   decided on the background's own brightness\n"
    "  5. minmax            last, so outputs span 0..255 whatever came before\n"
    "With any of --trim, --grayscale, --adaptive-invert and --minmax the\n"
    "size is optional: an operand of the form WxH or W,H is the size, and\n"
    "images keep their size (after trimming) when there is none.  Write a\n"
    "FILE named like a size as ./WxH.  Reads the FILEs, or standard input.\n"
    "\n"
    "  -s, --size=WxH         target size; W,H is also accepted\n"
    "  -k, --keep-size        keep each image's size\n"
    "  -t, --trim             remove the border that has the colour of the\n"
    "                         top-left pixel, then pad the rest back to the\n"
    "                         image's aspect ratio with that colour\n"
    "  -g, --grayscale        convert RGB to one luminance channel\n"
    "                         (0.299 R + 0.587 G + 0.114 B)\n"
    "  -i, --adaptive-invert  invert (255 - v) an image whose top-left\n"
    "                         pixel has a luma below 128, so content is\n"
    "                         dark on a light background\n"
    "  -m, --minmax           stretch each image linearly so its darkest\n"
    "                         value becomes 0 and its brightest 255, over\n"
    "                         all channels together; a flat image is kept\n";

typedef struct {
    int width, height;          /* 0 when each image keeps its size */
    int trim, grayscale, adaptive_invert, minmax;
} options;

/* True when arg has the form of a size: digits, 'x', 'X' or ',', digits. */
static int looks_like_size(const char *arg)
{
    const char *p = arg;

    while (isdigit((unsigned char)*p))
        p++;
    if (p == arg || (*p != 'x' && *p != 'X' && *p != ','))
        return 0;
    arg = ++p;
    while (isdigit((unsigned char)*p))
        p++;
    return p != arg && *p == '\0';
}

static int parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"size", required_argument, NULL, 's'},
        {"keep-size", no_argument, NULL, 'k'},
        {"trim", no_argument, NULL, 't'},
        {"grayscale", no_argument, NULL, 'g'},
        {"adaptive-invert", no_argument, NULL, 'i'},
        {"minmax", no_argument, NULL, 'm'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c, keep = 0;

    memset(opt, 0, sizeof *opt);
    while ((c = getopt_long(argc, argv, ":s:ktgim" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            nn_cli_size("--size", optarg, &opt->width, &opt->height);
            break;
        case 'k':
            keep = 1;
            break;
        case 't':
            opt->trim = 1;
            break;
        case 'g':
            opt->grayscale = 1;
            break;
        case 'i':
            opt->adaptive_invert = 1;
            break;
        case 'm':
            opt->minmax = 1;
            break;
        default:
            nn_cli_common(c);
        }
    }
    if (keep && opt->width)
        nn_usage_error("--size and --keep-size exclude each other");
    if (keep || opt->width)
        return optind;
    if (opt->trim || opt->grayscale || opt->adaptive_invert || opt->minmax) {
        /* The size is optional, so only an operand shaped like WxH is one. */
        if (optind == argc || !looks_like_size(argv[optind]))
            return optind;
    } else if (optind == argc) {
        nn_usage_error("missing target size WxH");
    }
    nn_cli_size("WxH", argv[optind], &opt->width, &opt->height);
    return optind + 1;
}

/*
 * Apply the options to one sample in the documented order and return
 * the new image (owned).  Trimming comes first because it compares the
 * border with pixel (0, 0) exactly, and resizing would blur the border
 * into near-background values that no longer match.
 */
static nn_image transform(const nn_reader *r, const nn_sample *s,
                          const options *opt)
{
    nn_image in = nn_sample_view(r, s), trimmed = {0}, out = {0}, gray = {0};

    if (opt->trim) {
        if (nn_image_trim(&in, &trimmed) < 0)
            nn_die(ENOMEM, "cannot trim sample '%.*s'", (int)s->id_len,
                   s->id);
        in = trimmed;
    }
    if (nn_image_resize(&in, opt->width ? opt->width : in.width,
                        opt->height ? opt->height : in.height, &out) < 0)
        nn_die(ENOMEM, "cannot resize sample '%.*s'", (int)s->id_len, s->id);
    nn_image_free(&trimmed);
    if (opt->grayscale && out.channels == 3) {
        if (nn_image_grayscale(&out, &gray) < 0)
            nn_die(ENOMEM, "cannot convert sample '%.*s'", (int)s->id_len,
                   s->id);
        nn_image_free(&out);
        out = gray;
    }
    if (opt->adaptive_invert)
        nn_image_adaptive_invert(&out);
    if (opt->minmax)
        nn_image_minmax(&out);
    return out;
}

int main(int argc, char **argv)
{
    options opt;
    nn_input in;
    nn_writer w;
    long n_samples = 0;

    nn_cli_init(argc, argv, usage);
    int first = parse_args(argc, argv, &opt);
    nn_io_refuse_terminal();
    nn_input_init(&in, argv + first, argc - first);
    nn_writer_init(&w, stdout);

    while (nn_input_next(&in) > 0) {
        nn_sample s;
        if (in.r.type != NN_REC_SAMPLE) {
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
            continue;
        }
        if (nn_reader_sample(&in.r, &s) < 0)
            nn_reader_die(&in.r, "%s", in.r.err);
        nn_image img = transform(&in.r, &s, &opt);
        nn_tensor t = {.dtype = NN_U8, .n_dims = 3,
                       .shape = {img.height, img.width, img.channels},
                       .data = img.data,
                       .n_bytes = (size_t)img.width * img.height * img.channels};
        nn_write_sample(&w, s.id, s.id_len, s.label, &t);
        nn_image_free(&img);
        n_samples++;
    }
    nn_log_info("samples=%ld size=%dx%d trim=%d grayscale=%d "
                "adaptive_invert=%d minmax=%d", n_samples, opt.width,
                opt.height, opt.trim, opt.grayscale, opt.adaptive_invert,
                opt.minmax);
    nn_writer_free(&w);
    nn_input_free(&in);
    return 0;
}
