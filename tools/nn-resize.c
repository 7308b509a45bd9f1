/*
 * nn-resize: deterministic preprocessing of sample images: resize to
 * WxH (area averaging when shrinking, bilinear when enlarging) and,
 * on request, convert to one luminance channel.  Other records pass
 * through unchanged.
 */
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
    "Resize every sample image to W by H pixels, stretching it (the aspect\n"
    "ratio is not kept).  Shrinking averages the covered area; enlarging\n"
    "interpolates bilinearly.  Reads the FILEs, or standard input.\n"
    "\n"
    "  -s, --size=WxH         target size; W,H is also accepted\n"
    "  -k, --keep-size        keep each image's size (for --grayscale alone)\n"
    "  -g, --grayscale        convert RGB to one luminance channel\n"
    "                         (0.299 R + 0.587 G + 0.114 B), after resizing\n";

typedef struct {
    int width, height;          /* 0 when each image keeps its size */
    int grayscale;
} options;

static int parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"size", required_argument, NULL, 's'},
        {"keep-size", no_argument, NULL, 'k'},
        {"grayscale", no_argument, NULL, 'g'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c, keep = 0;

    memset(opt, 0, sizeof *opt);
    while ((c = getopt_long(argc, argv, ":s:kg" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            nn_cli_size("--size", optarg, &opt->width, &opt->height);
            break;
        case 'k':
            keep = 1;
            break;
        case 'g':
            opt->grayscale = 1;
            break;
        default:
            nn_cli_common(c);
        }
    }
    if (keep && opt->width)
        nn_usage_error("--size and --keep-size exclude each other");
    if (keep || opt->width)
        return optind;
    if (optind == argc)
        nn_usage_error("missing target size WxH");
    nn_cli_size("the size", argv[optind], &opt->width, &opt->height);
    return optind + 1;
}

/* Apply the options to one sample; returns the new image (owned). */
static nn_image transform(const nn_reader *r, const nn_sample *s,
                          const options *opt)
{
    nn_image in, out = {0}, gray = {0};

    if (s->image.dtype != NN_U8)
        nn_reader_die(r, "sample '%.*s': expected u8 pixels, got %s",
                      (int)s->id_len, s->id, nn_dtype_name(s->image.dtype));
    if (s->image.shape[2] != 1 && s->image.shape[2] != 3)
        nn_reader_die(r, "sample '%.*s': expected 1 or 3 channels, got %lld",
                      (int)s->id_len, s->id, (long long)s->image.shape[2]);
    in.height = (int)s->image.shape[0];
    in.width = (int)s->image.shape[1];
    in.channels = (int)s->image.shape[2];
    in.data = (uint8_t *)s->image.data;
    if (nn_image_resize(&in, opt->width ? opt->width : in.width,
                        opt->height ? opt->height : in.height, &out) < 0)
        nn_die(ENOMEM, "cannot resize sample '%.*s'", (int)s->id_len, s->id);
    if (opt->grayscale && out.channels == 3) {
        if (nn_image_grayscale(&out, &gray) < 0)
            nn_die(ENOMEM, "cannot convert sample '%.*s'", (int)s->id_len,
                   s->id);
        nn_image_free(&out);
        out = gray;
    }
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

    while (nn_input_next(&in)) {
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
    nn_log_info("samples=%ld size=%dx%d grayscale=%d", n_samples, opt.width,
                opt.height, opt.grayscale);
    nn_writer_free(&w);
    nn_input_free(&in);
    return 0;
}
