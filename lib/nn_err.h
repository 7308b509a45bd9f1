/*
 * Fatal errors and exit codes shared by every nn-* program.  Only the
 * programs call these; the library returns -1 and lets them decide.
 */
#ifndef NN_ERR_H
#define NN_ERR_H

enum {
    NN_EXIT_OK = 0,
    NN_EXIT_FAILURE = 1,        /* bad input, I/O error, diverged run */
    NN_EXIT_USAGE = 2           /* unknown option, bad value, missing arg */
};

#if defined(__GNUC__)
#define NN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NN_NORETURN __attribute__((noreturn))
#else
#define NN_PRINTF(f, a)
#define NN_NORETURN
#endif

/* Name the running program; every message starts with it. */
void nn_err_set_program(const char *argv0);
const char *nn_err_program(void);

/*
 * Print "PROG: message" (plus ": strerror(errnum)" when errnum is not 0)
 * on stderr and exit with status 1.
 */
NN_NORETURN void nn_die(int errnum, const char *fmt, ...) NN_PRINTF(2, 3);

/* Print "PROG: message", then "Try 'PROG --help'.", and exit with 2. */
NN_NORETURN void nn_usage_error(const char *fmt, ...) NN_PRINTF(1, 2);

/* Print "PROG: warning: message" on stderr and carry on. */
void nn_warn(const char *fmt, ...) NN_PRINTF(1, 2);

/*
 * Register a path to remove if the program dies before it calls
 * nn_err_forget(): half-written outputs never survive a failure.  A
 * folder is removed with everything in it.
 */
void nn_err_cleanup_path(const char *path);
void nn_err_forget(const char *path);

/*
 * Remove the registered paths on SIGINT, SIGTERM and SIGHUP too, then
 * end by the signal.  nn_cli_init calls it; a program that handles one
 * of these signals itself installs its handler afterwards.
 */
void nn_err_catch_signals(void);

#endif
