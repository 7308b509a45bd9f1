/* Start pipelines of programs and collect their exit statuses. */
#define _GNU_SOURCE             /* pipe2 */
#include "nn_pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn_log.h"

static volatile sig_atomic_t *stop_flag;

void nn_pipeline_set_stop(volatile sig_atomic_t *flag)
{
    stop_flag = flag;
}

void nn_pipeline_kill(nn_pipeline *p, int sig)
{
    for (int i = 0; i < p->n; i++)
        if (p->pids[i] > 0)
            kill(p->pids[i], sig);
}

nn_stage *nn_pipeline_add(nn_pipeline *p, const char *program)
{
    nn_stage *s;

    if (p->n == NN_PIPELINE_MAX_STAGES)
        nn_die(0, "internal error: more than %d stages",
               NN_PIPELINE_MAX_STAGES);
    s = &p->stages[p->n++];
    memset(s, 0, sizeof *s);
    nn_stage_add(s, "%s", program);
    return s;
}

void nn_stage_add(nn_stage *s, const char *fmt, ...)
{
    char buf[PATH_MAX + 64], *arg;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (s->argc == NN_PIPELINE_MAX_ARGS - 1 || !(arg = strdup(buf)))
        nn_die(ENOMEM, "cannot build the pipeline");
    s->argv[s->argc++] = arg;
    s->argv[s->argc] = NULL;
}

void nn_pipeline_free(nn_pipeline *p)
{
    for (int i = 0; i < p->n; i++)
        for (int a = 0; a < p->stages[i].argc; a++)
            free(p->stages[i].argv[a]);
    p->n = 0;
}

/* Quote arg for a POSIX shell when it contains anything unusual. */
static void put_quoted(FILE *fp, const char *arg)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789-_=./,:+@%";

    if (*arg && strspn(arg, plain) == strlen(arg)) {
        fputs(arg, fp);
        return;
    }
    fputc('\'', fp);
    for (; *arg; arg++) {
        if (*arg == '\'')
            fputs("'\\''", fp);
        else
            fputc(*arg, fp);
    }
    fputc('\'', fp);
}

void nn_pipeline_print(FILE *fp, const nn_pipeline *p)
{
    for (int i = 0; i < p->n; i++) {
        if (i)
            fputs(" \\\n  | ", fp);
        for (int a = 0; a < p->stages[i].argc; a++) {
            if (a)
                fputc(' ', fp);
            put_quoted(fp, p->stages[i].argv[a]);
        }
    }
    if (p->output) {
        fputs(" \\\n  > ", fp);
        put_quoted(fp, p->output);
    }
    fputc('\n', fp);
}

static void exec_stage(const nn_stage *s, const char *bin_dir)
{
    char path[PATH_MAX];

    if (bin_dir) {
        snprintf(path, sizeof path, "%s/%s", bin_dir, s->argv[0]);
        if (access(path, X_OK) == 0)
            execv(path, s->argv);
    }
    execvp(s->argv[0], s->argv);
    fprintf(stderr, "%s: cannot run '%s': %s\n", nn_err_program(),
            s->argv[0], strerror(errno));
    _exit(127);
}

void nn_pipeline_start(nn_pipeline *p, const char *bin_dir, int out_fd)
{
    int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (in_fd < 0)
        nn_die(errno, "cannot open /dev/null");
    fflush(NULL);
    for (int i = 0; i < p->n; i++) {
        int fds[2] = {-1, -1};
        int last = i == p->n - 1;
        /* close-on-exec: no stage may hold another stage's pipe open,
         * or a reader that dies would never send its writer SIGPIPE */
        if (!last && pipe2(fds, O_CLOEXEC) < 0)
            nn_die(errno, "cannot create a pipe");
        p->pids[i] = fork();
        if (p->pids[i] < 0)
            nn_die(errno, "cannot start '%s'", p->stages[i].argv[0]);
        if (p->pids[i] == 0) {
            dup2(in_fd, STDIN_FILENO);
            dup2(last ? out_fd : fds[1], STDOUT_FILENO);
            close(in_fd);
            if (!last) {
                close(fds[0]);
                close(fds[1]);
            }
            close(out_fd);
            exec_stage(&p->stages[i], bin_dir);
        }
        close(in_fd);
        if (!last) {
            close(fds[1]);
            in_fd = fds[0];
        }
    }
}

int nn_pipeline_wait(nn_pipeline *p)
{
    int failed = -1, code = 0;

    for (int i = 0; i < p->n; i++) {
        int status;
        while (waitpid(p->pids[i], &status, 0) < 0 && errno == EINTR)
            if (stop_flag && *stop_flag)
                nn_pipeline_kill(p, SIGTERM);
        p->pids[i] = 0;
        int sigpipe = WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && !sigpipe && failed < 0) {
            /* the first failure is the cause: later stages fail on
             * the input it cut short */
            failed = i;
            code = WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        }
    }
    if (failed < 0)
        return 0;
    nn_log_warn("stage %d '%s' failed with status %d", failed + 1,
                p->stages[failed].argv[0], code);
    return -1;
}
