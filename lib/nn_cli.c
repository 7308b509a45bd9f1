/* Common options, checked number parsing and usage errors. */
#include "nn_cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_err.h"
#include "nn_image.h"
#include "nn_io.h"
#include "nn_log.h"

static const char *usage_text = "";
static char **saved_argv;

static const char common_help[] =
    "  -q, --quiet          log warnings and errors only\n"
    "      --debug          also log debug lines\n"
    "  -h, --help           print this help and exit\n"
    "  -V, --version        print the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n";

void nn_cli_init(int argc, char **argv, const char *usage)
{
    (void)argc;
    saved_argv = argv;
    usage_text = usage;
    nn_err_set_program(argv[0]);
    opterr = 0;
    nn_io_init();
    nn_err_catch_signals();
}

void nn_cli_common(int opt)
{
    switch (opt) {
    case 'h':
        fputs(usage_text, stdout);
        fputs(common_help, stdout);
        exit(NN_EXIT_OK);
    case 'V':
        printf("%s %s\n", nn_err_program(), NN_VERSION);
        exit(NN_EXIT_OK);
    case 'q':
        nn_log_set_level(NN_LOG_WARN);
        return;
    case NN_OPT_DEBUG:
        nn_log_set_level(NN_LOG_DEBUG);
        return;
    case ':': {
        /* getopt_long sets optopt for a long option too: name it as typed. */
        const char *typed = saved_argv[optind - 1];
        if (strncmp(typed, "--", 2) == 0)
            nn_usage_error("option '%.*s' requires a value",
                           (int)strcspn(typed, "="), typed);
        nn_usage_error("option '-%c' requires a value", optopt);
    }
    default: {
        /* a long option given a value it does not take (--help=x) also
         * sets optopt: name it as typed */
        const char *typed = saved_argv[optind - 1];
        if (strncmp(typed, "--", 2) == 0 && strchr(typed, '='))
            nn_usage_error("option '%.*s' takes no value",
                           (int)strcspn(typed, "="), typed);
        if (optopt && optopt < NN_OPT_DEBUG)
            nn_usage_error("unknown option '-%c'", optopt);
        nn_usage_error("unknown option '%s'", typed);
    }
    }
}

long long nn_cli_int(const char *name, const char *arg, long long min,
                     long long max)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end)
        nn_usage_error("invalid value '%s' for %s: expected an integer",
                       arg, name);
    if (v < min || v > max)
        nn_usage_error("invalid value '%s' for %s: expected %lld to %lld",
                       arg, name, min, max);
    return v;
}

double nn_cli_double(const char *name, const char *arg, double min,
                     double max)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v))
        nn_usage_error("invalid value '%s' for %s: expected a number",
                       arg, name);
    if (v < min || v > max)
        nn_usage_error("invalid value '%s' for %s: expected %g to %g",
                       arg, name, min, max);
    return v;
}

void nn_cli_size(const char *name, const char *arg, int *width, int *height)
{
    const char *text = arg;
    char *end;
    long w, h;

    errno = 0;
    w = strtol(arg, &end, 10);
    if (errno || end == arg || (*end != 'x' && *end != 'X' && *end != ','))
        goto bad;
    arg = end + 1;
    h = strtol(arg, &end, 10);
    if (errno || end == arg || *end)
        goto bad;
    if (w < 1 || w > 65535 || h < 1 || h > 65535)
        goto bad;
    if ((int64_t)w * h > NN_IMAGE_MAX_PIXELS)
        nn_usage_error("invalid size '%s' for %s: %ld x %ld pixels is over "
                       "the limit of %lld", text, name, w, h,
                       (long long)NN_IMAGE_MAX_PIXELS);
    *width = (int)w;
    *height = (int)h;
    return;
bad:
    nn_usage_error("invalid size '%s' for %s: expected WxH, each 1 to 65535",
                   text, name);
}

int nn_cli_sizes(const char *name, const char *arg, int *sizes, int max)
{
    const char *p = arg;
    int n = 0;

    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 20) || (*end && *end != ','))
            nn_usage_error("invalid value '%s' for %s: expected "
                           "comma-separated positive integers", arg, name);
        if (n == max)
            nn_usage_error("%s: at most %d values", name, max);
        sizes[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return n;
}
