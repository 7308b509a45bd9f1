/* Checked output, closed-pipe handling and atomic file replacement. */
#include "nn_io.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_err.h"

static void close_stdout(void)
{
    /* A full disk or a closed pipe often shows only at the final flush. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int err = errno;
        if (err == EPIPE) {
            signal(SIGPIPE, SIG_DFL);
            raise(SIGPIPE);
        }
        nn_die(err, "write error");
    }
    if (fclose(stdout) != 0 && errno != EBADF)
        nn_die(errno, "write error");
}

void nn_io_init(void)
{
    signal(SIGPIPE, SIG_DFL);
    atexit(close_stdout);
}

const char *nn_io_display_name(const char *path, char *buf, size_t len)
{
    if (!path || strcmp(path, "-") == 0)
        return "standard input";
    snprintf(buf, len, "'%s'", path);
    return buf;
}

void nn_io_write(FILE *fp, const void *data, size_t n)
{
    if (n && fwrite(data, 1, n, fp) != n) {
        int err = errno;
        if (err == EPIPE) {
            signal(SIGPIPE, SIG_DFL);
            raise(SIGPIPE);
        }
        nn_die(err, "write error");
    }
}

void nn_io_refuse_terminal(void)
{
    if (isatty(STDOUT_FILENO))
        nn_usage_error("refusing to write binary records to a terminal; "
                       "redirect or pipe the output");
}

int nn_atomic_open(nn_atomic_file *f, const char *path)
{
    size_t n = strlen(path);
    struct stat st;
    int fd;

    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) {
        free(f->path);
        free(f->tmp_path);
        errno = ENOMEM;
        return -1;
    }
    /* A device or FIFO (/dev/null, /dev/stdout) is written in place:
     * renaming a temporary over it would replace the device node. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISDIR(st.st_mode)) {
        snprintf(f->tmp_path, n + 16, "%s", path);
        f->in_place = 1;
        f->fp = fopen(path, "wb");
        if (!f->fp) {
            int err = errno;
            nn_atomic_abort(f);
            errno = err;
            return -1;
        }
        return 0;
    }
    snprintf(f->tmp_path, n + 16, "%s.tmp-XXXXXX", path);
    fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        int err = errno;
        free(f->path);
        free(f->tmp_path);
        errno = err;
        return -1;
    }
    nn_err_cleanup_path(f->tmp_path);
    /* mkstemp creates 0600; give the file the mode open(2) would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int err = errno;
        close(fd);
        nn_atomic_abort(f);
        errno = err;
        return -1;
    }
    return 0;
}

int nn_atomic_commit(nn_atomic_file *f)
{
    int rc = 0;

    if (f->in_place) {
        /* nothing to sync or rename */
        if (fflush(f->fp) != 0 || ferror(f->fp))
            rc = -1;
        if (fclose(f->fp) != 0)
            rc = -1;
        f->fp = NULL;
        int err = errno;
        nn_atomic_abort(f);
        errno = err;
        return rc;
    }
    if (fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0)
        rc = -1;
    if (fclose(f->fp) != 0)
        rc = -1;
    f->fp = NULL;
    if (rc == 0 && rename(f->tmp_path, f->path) != 0)
        rc = -1;
    if (rc != 0) {
        int err = errno;
        unlink(f->tmp_path);
        errno = err;
    }
    nn_err_forget(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return rc;
}

void nn_atomic_abort(nn_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path && !f->in_place) {
        unlink(f->tmp_path);
        nn_err_forget(f->tmp_path);
    }
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int nn_io_remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
        errno != ENOENT)
        return -1;
    return 0;
}

void nn_io_check_output(const char *option, const char *path)
{
    struct stat st;
    char *dir = strdup(path), *slash;

    if (!dir)
        nn_die(ENOMEM, "cannot check '%s'", path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        nn_usage_error("%s '%s' is a folder; name a file", option, path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    if (access(dir, W_OK) < 0)
        nn_usage_error("%s '%s': cannot write in folder '%s': %s", option,
                       path, dir, strerror(errno));
    free(dir);
}
