/*
 * Command-line plumbing shared by every program: the common options
 * (--help, --version, --quiet, --debug), checked number parsing, and
 * the usage-error path.  Each tool keeps its own getopt_long loop.
 */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <getopt.h>

#define NN_VERSION "0.1.0"

/* Long-only options of tools start at NN_OPT_TOOL to stay clear of these. */
enum { NN_OPT_DEBUG = 0x100, NN_OPT_TOOL = 0x200 };

#define NN_CLI_COMMON_SHORT "hVq"
#define NN_CLI_COMMON_LONG                                \
    {"help", no_argument, NULL, 'h'},                     \
    {"version", no_argument, NULL, 'V'},                  \
    {"quiet", no_argument, NULL, 'q'},                    \
    {"debug", no_argument, NULL, NN_OPT_DEBUG}

/*
 * Name the program from argv[0], set SIGPIPE to its default action and
 * arrange for stdout to be flushed and checked at exit.  usage is the
 * tool's help text without the common options; --help prints it, then
 * the common options and the exit codes.
 */
void nn_cli_init(int argc, char **argv, const char *usage);

/*
 * Handle one getopt_long result that is not the tool's own: the common
 * options, an unknown option ('?') or a missing value (':').  Returns
 * only for --quiet and --debug; the others print and exit.  Call it
 * from the default case, with ":" leading the short-option string.
 */
void nn_cli_common(int opt);

/* Parse an integer in [min, max] for option name, or exit with 2. */
long long nn_cli_int(const char *name, const char *arg, long long min,
                     long long max);

/* Parse a finite double in [min, max] for option name, or exit with 2. */
double nn_cli_double(const char *name, const char *arg, double min,
                     double max);

/*
 * Parse a comma-separated list of positive integers (hidden layer
 * sizes, each at most 2^20) into sizes[0..max), or exit with 2.  The
 * empty list is valid.  Returns the number of sizes.
 */
int nn_cli_sizes(const char *name, const char *arg, int *sizes, int max);

/*
 * Parse "WxH" (both in 1..65535, at most NN_IMAGE_MAX_PIXELS pixels),
 * or exit with 2.
 */
void nn_cli_size(const char *name, const char *arg, int *width, int *height);

#endif
