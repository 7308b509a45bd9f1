/*
 * Checked I/O: opening inputs ("-" is standard input), writing to
 * stdout without losing errors, quiet exit on a closed pipe, and files
 * that appear whole or not at all.
 */
#ifndef NN_IO_H
#define NN_IO_H

#include <stddef.h>
#include <stdio.h>

/* Restore SIGPIPE's default action and check stdout at exit. */
void nn_io_init(void);

/* Human name of an input for messages: "standard input" or 'path'. */
const char *nn_io_display_name(const char *path, char *buf, size_t len);

/* Write n bytes to fp or die: a closed pipe ends the program quietly. */
void nn_io_write(FILE *fp, const void *data, size_t n);

/* Exit with 2 when stdout is a terminal: records are binary. */
void nn_io_refuse_terminal(void);

/*
 * An output file written under a temporary name in the same folder and
 * renamed over path by nn_atomic_commit().  If the program dies first,
 * the temporary is removed (see nn_err_cleanup_path).  An existing path
 * that is a device or a FIFO, such as /dev/null, is written in place:
 * then in_place is 1 and tmp_path is a copy of path.
 */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp_path;             /* where to write; path when in_place */
    int in_place;
} nn_atomic_file;

/* Returns 0, or -1 with errno set. */
int nn_atomic_open(nn_atomic_file *f, const char *path);

/*
 * Exit with 2 when path cannot be an output file: it is a folder, or
 * its folder is missing or not writable.  option names the option in
 * the message.  Checked before work starts, so that a long run does
 * not fail at its end.
 */
void nn_io_check_output(const char *option, const char *path);

/* fsync, close and rename.  Returns 0, or -1 with errno set. */
int nn_atomic_commit(nn_atomic_file *f);

/* Close and remove the temporary. */
void nn_atomic_abort(nn_atomic_file *f);

/*
 * Remove path: a file, or a folder with everything in it (symbolic
 * links are removed, not followed).  A missing path is not an error.
 * Returns 0, or -1 with errno set.
 */
int nn_io_remove_tree(const char *path);

#endif
