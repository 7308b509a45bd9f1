/*
 * Running a pipeline of nn-* programs from C, the way a shell runs
 * `a | b | c > file`: one process per stage, connected by pipes, with
 * the exit statuses collected so the failing stage can be named.
 */
#ifndef NN_PIPELINE_H
#define NN_PIPELINE_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "nn_err.h"

#define NN_PIPELINE_MAX_ARGS 64
#define NN_PIPELINE_MAX_STAGES 10

typedef struct {
    char *argv[NN_PIPELINE_MAX_ARGS];   /* owned, NULL-terminated */
    int argc;
} nn_stage;

typedef struct {
    nn_stage stages[NN_PIPELINE_MAX_STAGES];
    int n;
    const char *output;         /* shown as "> output"; not owned */
    pid_t pids[NN_PIPELINE_MAX_STAGES];
} nn_pipeline;

/* Append a stage running program; returns it for nn_stage_add. */
nn_stage *nn_pipeline_add(nn_pipeline *p, const char *program);

/* Append one printf-formatted argument to a stage. */
void nn_stage_add(nn_stage *s, const char *fmt, ...) NN_PRINTF(2, 3);

/* Free the stages' arguments. */
void nn_pipeline_free(nn_pipeline *p);

/* Write the pipeline as a shell command line, quoting where needed. */
void nn_pipeline_print(FILE *fp, const nn_pipeline *p);

/*
 * Start every stage.  Programs are looked up in bin_dir first, then on
 * PATH.  Stage 0 reads /dev/null; the last stage writes to out_fd.
 * Dies when a pipe or a process cannot be created.
 */
void nn_pipeline_start(nn_pipeline *p, const char *bin_dir, int out_fd);

/*
 * Wait for every stage.  A stage killed by SIGPIPE only stopped
 * because a later one did, so it is not a failure.  Returns 0, or -1
 * after logging the first stage that failed and how.
 */
int nn_pipeline_wait(nn_pipeline *p);

/* Send sig to every stage still running. */
void nn_pipeline_kill(nn_pipeline *p, int sig);

/*
 * While *flag is set, a signal that interrupts nn_pipeline_wait makes
 * it send SIGTERM to the stages, so the wait ends soon after.
 */
void nn_pipeline_set_stop(volatile sig_atomic_t *flag);

#endif
