/*
 * libFuzzer target for the PNG decoder (lib/nn_png.c): each input is
 * read as a stream of PNG files through nn_png_read_fp, the way a pipe
 * of several images would be.  A decoded image must have the layout
 * nn_png.h promises.
 */
#include "fuzz_common.h"
#include "nn_png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    nn_image img;
    FILE *fp;

    if (size == 0)
        return 0;
    fp = fmemopen((void *)data, size, "rb");
    FUZZ_CHECK(fp != NULL);
    /* at most a few images, so one input cannot run for long */
    for (int i = 0; i < 4; i++) {
        err[0] = '\0';
        if (nn_png_read_fp(fp, "fuzz", &img, err, sizeof err) != 0) {
            FUZZ_CHECK(err[0] != '\0');
            FUZZ_CHECK(img.data == NULL);
            break;
        }
        FUZZ_CHECK(img.width >= 1 && img.height >= 1);
        FUZZ_CHECK(img.channels == 1 || img.channels == 3);
        FUZZ_CHECK((int64_t)img.width * img.height <= NN_IMAGE_MAX_PIXELS);
        fuzz_touch(img.data,
                   (size_t)img.width * img.height * img.channels);
        nn_image_free(&img);
    }
    fclose(fp);
    return 0;
}
