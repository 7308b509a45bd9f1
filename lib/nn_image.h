/*
 * 8-bit images in memory and the pixel operations the augmenting tools
 * apply to them: resize, grayscale, rotate, noise, contrast stretch,
 * border trim and inversion.  No file or stream I/O happens here, because
 * PNG decoding and encoding live in nn_png.h.
 */
#ifndef NN_IMAGE_H
#define NN_IMAGE_H

#include <stdint.h>

/*
 * Largest width * height accepted anywhere in the library (64 Mi pixels,
 * 192 MiB as RGB).  Decoders check a header against it before they
 * allocate anything.
 */
#define NN_IMAGE_MAX_PIXELS ((int64_t)1 << 26)

/*
 * An image of unsigned 8-bit samples, shape (height, width, channels),
 * row-major with the channels of one pixel adjacent (HWC).  channels is
 * 1 (gray) or 3 (RGB).  data is owned by the struct, comes from malloc
 * and is released with nn_image_free.
 */
typedef struct {
    int width, height, channels;
    uint8_t *data;
} nn_image;

/*
 * Free img->data and zero the struct.  Safe on a zeroed struct, on an
 * already freed one and on NULL.
 */
void nn_image_free(nn_image *img);

/*
 * The functions below that return int take a valid input (width and
 * height >= 1, width * height <= NN_IMAGE_MAX_PIXELS, channels 1 or 3,
 * data not NULL) and fill *out with a newly allocated image that the
 * caller frees with nn_image_free.  out must not point to in.  They
 * return 0, or -1 with *out zeroed when an argument is invalid or
 * malloc fails.  The void functions change img in place and do nothing
 * when img has no data.
 */

/*
 * Stretch in to exactly width x height pixels, without keeping the aspect
 * ratio.  Each axis is scaled on its own, horizontal pass first, in double
 * precision with a single rounding to nearest at the end:
 *   - shrinking averages the source pixels an output pixel covers, each
 *     weighted by the fraction of it that is covered (box filter);
 *   - enlarging interpolates linearly between the two nearest source
 *     pixels, with pixel centres aligned: src = (dst + 0.5) * in / out
 *     - 0.5, clamped to the first and last pixel;
 *   - an axis of equal size is copied.
 * So 2x2 -> 1x1 gives the mean, and an unchanged size gives an exact copy.
 */
int nn_image_resize(const nn_image *in, int width, int height,
                    nn_image *out);

/*
 * Convert RGB to one channel of luma 0.299 R + 0.587 G + 0.114 B,
 * rounded half up.  A 1-channel input is copied.
 */
int nn_image_grayscale(const nn_image *in, nn_image *out);

/*
 * Rotate in clockwise by degrees (counter-clockwise when negative) about
 * its centre.  out has the size of in, so it is the centre of the turned
 * image.  Each output pixel is sampled from in by inverse mapping with
 * bilinear interpolation.  A pixel whose centre maps outside in takes the
 * colour fill (channels bytes, or in's top-left pixel when fill is NULL).
 *
 * Multiples of 90 degrees move pixels without interpolation, so 0 gives
 * an exact copy, 180 an exact flip, and 90 or 270 on a square image an
 * exact permutation.  On a non-square image 90 and 270 crop the centre of
 * the turned image and fill what it does not cover.  When the width and
 * height differ by an odd number the turned image cannot be centred
 * exactly and lands half a pixel right of or below the centre.
 */
int nn_image_rotate(const nn_image *in, double degrees, const uint8_t *fill,
                    nn_image *out);

/*
 * Add noise to every sample: v' = clamp(round(v + 255 * noise[i]), 0, 255)
 * where i runs over the samples in HWC order.  noise has
 * width * height * channels values in units of the full [0, 1] range, for
 * example standard normal draws times sigma.  All zeros leave img as is.
 */
void nn_image_add_noise(nn_image *img, const double *noise);

/*
 * Stretch the contrast of img: the lowest sample over all channels
 * becomes 0, the highest 255, and the rest scale linearly between them,
 * rounded half up.  A flat image (one value everywhere) is left unchanged.
 */
void nn_image_minmax(nn_image *img);

/*
 * Cut away the border of in that has the colour of pixel (0, 0), meaning
 * every channel equal, then pad the remaining box back with that colour
 * to the aspect ratio of in.  The canvas is the smallest one that
 * contains the box and has width / height equal to in's, with the other
 * side rounded to nearest.  The box sits in its centre, rounded towards
 * the top-left.  An image of that one colour only is copied unchanged.
 */
int nn_image_trim(const nn_image *in, nn_image *out);

/*
 * Invert every sample (v' = 255 - v) when the top-left pixel is dark,
 * meaning its luma (as in nn_image_grayscale) is below 128.  When that
 * pixel is background, as in scans and digit images, the result has dark
 * content on a light background whichever way round the input was.
 */
void nn_image_adaptive_invert(nn_image *img);

#endif
