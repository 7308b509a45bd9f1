/*
 * The inputs of a filter: the FILE operands in order, or standard
 * input when there are none, read as one stream.  Each file starts
 * with its own header; the first is passed on, later ones must list
 * the same classes and are dropped.
 */
#ifndef NN_INPUT_H
#define NN_INPUT_H

#include "nn_image.h"
#include "nn_record.h"

typedef struct {
    char **paths;
    int n_paths, next_path;
    int open;
    int header_seen;
    nn_header header;           /* the first file's header (a copy) */
    nn_reader r;                /* the file being read */
} nn_input;

/* Start reading paths[0..n) ("-" is standard input; n = 0 means it). */
void nn_input_init(nn_input *in, char **paths, int n);

/*
 * Read the next record of the joined stream into in->r, or die with a
 * message naming the file and record.  The header is returned once,
 * as the first record.  Returns 1 for a record, 0 at the end, and -1
 * when a signal stopped the read (see nn_record_set_stop).
 */
int nn_input_next(nn_input *in);

void nn_input_free(nn_input *in);

/*
 * View a sample's pixels as an image (not a copy, valid while the
 * record is), or die naming the record when they are not u8 with 1
 * or 3 channels and at most NN_IMAGE_MAX_PIXELS pixels.
 */
nn_image nn_sample_view(const nn_reader *r, const nn_sample *s);

#endif
