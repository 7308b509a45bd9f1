/* Several record files read as one stream. */
#include "nn_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn_io.h"

static char *stdin_path[] = {"-"};

void nn_input_init(nn_input *in, char **paths, int n)
{
    memset(in, 0, sizeof *in);
    in->paths = n > 0 ? paths : stdin_path;
    in->n_paths = n > 0 ? n : 1;
}

static void copy_header(nn_header *dst, const nn_header *src)
{
    dst->n_classes = src->n_classes;
    dst->classes = calloc(src->n_classes, sizeof *dst->classes);
    if (!dst->classes)
        nn_die(ENOMEM, "cannot copy the header");
    for (int i = 0; i < src->n_classes; i++)
        if (!(dst->classes[i] = strdup(src->classes[i])))
            nn_die(ENOMEM, "cannot copy the header");
    dst->source = src->source ? strdup(src->source) : NULL;
    dst->partition = src->partition ? strdup(src->partition) : NULL;
    dst->experiment = src->experiment ? strdup(src->experiment) : NULL;
}

int nn_input_next(nn_input *in)
{
    for (;;) {
        if (!in->open) {
            if (in->next_path == in->n_paths)
                return 0;
            const char *path = in->paths[in->next_path++];
            if (nn_reader_open(&in->r, path) < 0) {
                char name[512];
                nn_die(errno, "cannot open %s",
                       nn_io_display_name(path, name, sizeof name));
            }
            in->open = 1;
        }
        int got = nn_reader_next_or_die(&in->r);
        if (got < 0)
            return -1;
        if (got == 0) {
            nn_reader_close(&in->r);
            in->open = 0;
            continue;
        }
        if (in->r.index != 1)
            return 1;
        /* The header that opens each file. */
        if (!in->header_seen) {
            copy_header(&in->header, &in->r.header);
            in->header_seen = 1;
            return 1;
        }
        if (!nn_header_same_classes(&in->header, &in->r.header))
            nn_reader_die(&in->r, "header lists other classes than the "
                          "first input");
    }
}

void nn_input_free(nn_input *in)
{
    if (in->open)
        nn_reader_close(&in->r);
    nn_header_free(&in->header);
}

nn_image nn_sample_view(const nn_reader *r, const nn_sample *s)
{
    nn_image img;

    if (s->image.dtype != NN_U8)
        nn_reader_die(r, "sample '%.*s': expected u8 pixels, got %s",
                      (int)s->id_len, s->id, nn_dtype_name(s->image.dtype));
    if (s->image.shape[2] != 1 && s->image.shape[2] != 3)
        nn_reader_die(r, "sample '%.*s': expected 1 or 3 channels, got %lld",
                      (int)s->id_len, s->id, (long long)s->image.shape[2]);
    if (s->image.shape[0] * s->image.shape[1] > NN_IMAGE_MAX_PIXELS)
        nn_reader_die(r, "sample '%.*s': more than %lld pixels",
                      (int)s->id_len, s->id,
                      (long long)NN_IMAGE_MAX_PIXELS);
    img.height = (int)s->image.shape[0];
    img.width = (int)s->image.shape[1];
    img.channels = (int)s->image.shape[2];
    img.data = (uint8_t *)s->image.data;
    return img;
}
