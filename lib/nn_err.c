/*
 * Fatal errors: one line on stderr naming the program, then exit.
 * Temporary output files registered here are removed before exiting.
 */
#include "nn_err.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_io.h"

#define MAX_CLEANUP 16

static const char *program = "nn";
static char *cleanup[MAX_CLEANUP];

void nn_err_set_program(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    program = slash ? slash + 1 : argv0;
}

const char *nn_err_program(void)
{
    return program;
}

static void remove_temporaries(void)
{
    for (int i = 0; i < MAX_CLEANUP; i++) {
        if (cleanup[i]) {
            /* a file, or a folder of work in progress and its contents */
            nn_io_remove_tree(cleanup[i]);
            free(cleanup[i]);
            cleanup[i] = NULL;
        }
    }
}

/*
 * Remove the registered temporaries on SIGINT, SIGTERM or SIGHUP, then
 * die of the signal as the default action would.  Only unlink and rmdir
 * run here because they are safe in a handler, so a folder is removed
 * only when it is empty.
 */
static void on_fatal_signal(int sig)
{
    for (int i = 0; i < MAX_CLEANUP; i++)
        if (cleanup[i] && unlink(cleanup[i]) < 0)
            rmdir(cleanup[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void nn_err_catch_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        /* keep a signal the caller's parent chose to ignore ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        signal(sigs[i], on_fatal_signal);
    }
}

void nn_err_cleanup_path(const char *path)
{
    for (int i = 0; i < MAX_CLEANUP; i++) {
        if (!cleanup[i]) {
            cleanup[i] = strdup(path);
            return;
        }
    }
}

void nn_err_forget(const char *path)
{
    for (int i = 0; i < MAX_CLEANUP; i++) {
        if (cleanup[i] && strcmp(cleanup[i], path) == 0) {
            free(cleanup[i]);
            cleanup[i] = NULL;
        }
    }
}

static void vmessage(const char *prefix, int errnum, const char *fmt,
                     va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s", program, prefix);
    vfprintf(stderr, fmt, ap);
    if (errnum)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
}

void nn_die(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage("", errnum, fmt, ap);
    va_end(ap);
    remove_temporaries();
    /* _exit: stdout may hold half a record that must not be flushed. */
    _exit(NN_EXIT_FAILURE);
}

void nn_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage("", 0, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help'.\n", program);
    remove_temporaries();
    _exit(NN_EXIT_USAGE);
}

void nn_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage("warning: ", 0, fmt, ap);
    va_end(ap);
}
