/*
 * nn-shuffle: the cache and the epoch shuffler.  It reads every sample
 * of its input into memory once, then writes --epochs passes over
 * them, each in its own seeded random order and each followed by an
 * epoch marker.  Records other than samples pass through at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_log.h"
#include "nn_record.h"
#include "nn_rng.h"

static const char usage[] =
    "Usage: nn-shuffle [OPTION]... [FILE]...\n"
    "Cache every sample in memory, then write it once per epoch, each\n"
    "epoch in a new random order followed by an epoch marker.  The whole\n"
    "input is held in memory; --max-memory bounds it.\n"
    "\n"
    "  -e, --epochs=N         number of passes [1]\n"
    "  -s, --seed=N           seed of the shuffles [0]\n"
    "      --max-memory=MiB   fail when the cached samples need more [16384]\n";

typedef struct {
    long epochs;
    uint64_t seed;
    size_t max_bytes;
} options;

/* The cached samples: their raw record bytes, back to back. */
typedef struct {
    char *bytes;
    size_t len, cap;
    size_t *offset;             /* n + 1 entries */
    size_t n, n_cap;
} cache;

static void parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"epochs", required_argument, NULL, 'e'},
        {"seed", required_argument, NULL, 's'},
        {"max-memory", required_argument, NULL, NN_OPT_TOOL},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    int c;

    opt->epochs = 1;
    opt->seed = 0;
    opt->max_bytes = (size_t)16384 << 20;
    while ((c = getopt_long(argc, argv, ":e:s:" NN_CLI_COMMON_SHORT,
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            opt->epochs = nn_cli_int("--epochs", optarg, 1, 1000000);
            break;
        case 's':
            opt->seed = (uint64_t)nn_cli_int("--seed", optarg, 0, INT64_MAX);
            break;
        case NN_OPT_TOOL:
            opt->max_bytes = (size_t)nn_cli_int("--max-memory", optarg, 1,
                                                1 << 24) << 20;
            break;
        default:
            nn_cli_common(c);
        }
    }
}

static void cache_add(cache *c, const char *raw, size_t len, size_t limit)
{
    if (c->len + len > limit)
        nn_die(0, "the cached samples need more than --max-memory=%zu MiB",
               limit >> 20);
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 20;
        while (cap < c->len + len)
            cap *= 2;
        if (!(c->bytes = realloc(c->bytes, cap)))
            nn_die(ENOMEM, "cannot cache %zu bytes of samples", cap);
        c->cap = cap;
    }
    if (c->n + 2 > c->n_cap) {
        c->n_cap = c->n_cap ? 2 * c->n_cap : 1024;
        if (!(c->offset = realloc(c->offset, c->n_cap * sizeof *c->offset)))
            nn_die(ENOMEM, "cannot cache samples");
    }
    memcpy(c->bytes + c->len, raw, len);
    c->offset[c->n] = c->len;
    c->len += len;
    c->offset[++c->n] = c->len;
}

int main(int argc, char **argv)
{
    options opt;
    nn_input in;
    nn_writer w;
    nn_rng rng;
    cache c = {0};
    uint32_t *order;

    nn_cli_init(argc, argv, usage);
    parse_args(argc, argv, &opt);
    nn_io_refuse_terminal();
    nn_input_init(&in, argv + optind, argc - optind);
    nn_writer_init(&w, stdout);

    /* fill the cache; pass every other record on at once */
    while (nn_input_next(&in) > 0) {
        if (in.r.type == NN_REC_SAMPLE) {
            if (c.n >= UINT32_MAX - 1)
                nn_reader_die(&in.r, "more than %u samples", UINT32_MAX - 1);
            cache_add(&c, in.r.raw, in.r.raw_len, opt.max_bytes);
        } else if (in.r.type == NN_REC_EPOCH) {
            nn_log_debug("dropping an epoch marker of the input");
        } else {
            nn_writer_raw(&w, in.r.raw, in.r.raw_len);
        }
    }
    nn_log_info("cached=%zu bytes=%zu epochs=%ld seed=%llu", c.n, c.len,
                opt.epochs, (unsigned long long)opt.seed);

    /* one shuffled pass per epoch, each closed by a marker */
    order = malloc((c.n ? c.n : 1) * sizeof *order);
    if (!order)
        nn_die(ENOMEM, "cannot shuffle %zu samples", c.n);
    for (size_t i = 0; i < c.n; i++)
        order[i] = (uint32_t)i;
    nn_rng_seed(&rng, opt.seed);
    for (long e = 0; e < opt.epochs; e++) {
        nn_rng_shuffle(&rng, order, c.n);
        for (size_t i = 0; i < c.n; i++) {
            size_t k = order[i];
            nn_writer_raw(&w, c.bytes + c.offset[k],
                          c.offset[k + 1] - c.offset[k]);
        }
        nn_write_epoch(&w, e);
    }
    free(order);
    free(c.bytes);
    free(c.offset);
    nn_writer_free(&w);
    nn_input_free(&in);
    return 0;
}
