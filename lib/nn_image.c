/*
 * Pixel operations on 8-bit HWC images (see nn_image.h).  Interpolating
 * operations work in double precision and round once, to nearest with
 * halves up, when they store a sample.  No I/O and no randomness here:
 * callers pass noise in.
 */
#include "nn_image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/*
 * Sums of weighted samples that are exactly halfway between two integers
 * can come out a few ulps low, so this margin makes them round up as
 * intended.  It is far below the smallest non-tie fraction any operation
 * here produces.
 */
#define ROUND_MARGIN 1e-9

void nn_image_free(nn_image *img)
{
    if (img == NULL)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

static int image_is_valid(const nn_image *img)
{
    return img != NULL && img->data != NULL && img->width > 0
           && img->height > 0 && (img->channels == 1 || img->channels == 3)
           && (int64_t)img->width * img->height <= NN_IMAGE_MAX_PIXELS;
}

static size_t image_bytes(const nn_image *img)
{
    return (size_t)img->width * img->height * img->channels;
}

/* Allocate an uninitialised image.  *out is zeroed first either way. */
static int image_alloc(nn_image *out, int width, int height, int channels)
{
    memset(out, 0, sizeof *out);
    if (width < 1 || height < 1
        || (int64_t)width * height > NN_IMAGE_MAX_PIXELS)
        return -1;
    out->data = malloc((size_t)width * height * channels);
    if (out->data == NULL)
        return -1;
    out->width = width;
    out->height = height;
    out->channels = channels;
    return 0;
}

static int image_copy(const nn_image *in, nn_image *out)
{
    if (image_alloc(out, in->width, in->height, in->channels) != 0)
        return -1;
    memcpy(out->data, in->data, image_bytes(in));
    return 0;
}

static uint8_t round_to_u8(double v)
{
    v = floor(v + 0.5 + ROUND_MARGIN);
    if (v < 0)
        return 0;
    if (v > 255)
        return 255;
    return (uint8_t)v;
}

/* Luma 0.299 R + 0.587 G + 0.114 B of one pixel, rounded half up. */
static int pixel_luma(const uint8_t *px, int channels)
{
    if (channels == 1)
        return px[0];
    return (299 * px[0] + 587 * px[1] + 114 * px[2] + 500) / 1000;
}

/*
 * Resampling along one axis of n_in pixels to n_out: output pixel j is
 * the sum over t < n_taps[j] of weight[j * max_taps + t] times source
 * pixel first[j] + t.
 */
typedef struct {
    int max_taps;
    int *first;
    int *n_taps;
    double *weight;
} axis_taps;

static void taps_free(axis_taps *taps)
{
    free(taps->first);
    free(taps->n_taps);
    free(taps->weight);
}

/*
 * Box filter for n_out < n_in.  In units of 1/n_out of a source pixel,
 * output pixel j covers [j * n_in, (j + 1) * n_in) and source pixel i
 * covers [i * n_out, (i + 1) * n_out).  The overlaps are exact integers
 * that add up to n_in.
 */
static void box_taps(axis_taps *taps, int j, int n_in, int n_out)
{
    int64_t lo = (int64_t)j * n_in, hi = lo + n_in;
    int first = (int)(lo / n_out), last = (int)((hi - 1) / n_out);
    double *weight = taps->weight + (size_t)j * taps->max_taps;
    int i;

    taps->first[j] = first;
    taps->n_taps[j] = last - first + 1;
    for (i = first; i <= last; i++) {
        int64_t start = (int64_t)i * n_out, end = start + n_out;
        int64_t overlap = (hi < end ? hi : end) - (lo > start ? lo : start);

        weight[i - first] = (double)overlap / n_in;
    }
}

/* Linear interpolation for n_out > n_in, pixel centres aligned. */
static void linear_taps(axis_taps *taps, int j, int n_in, int n_out)
{
    double src = (j + 0.5) * n_in / n_out - 0.5;
    double *weight = taps->weight + (size_t)j * taps->max_taps;
    int i0;

    if (src < 0)
        src = 0;
    if (src > n_in - 1)
        src = n_in - 1;
    i0 = (int)floor(src);
    taps->first[j] = i0;
    if (i0 >= n_in - 1) {
        taps->n_taps[j] = 1;
        weight[0] = 1;
        return;
    }
    taps->n_taps[j] = 2;
    weight[0] = 1 - (src - i0);
    weight[1] = src - i0;
}

static int taps_build(axis_taps *taps, int n_in, int n_out)
{
    int j;

    /* A box spans n_in / n_out pixels plus a partial one at each end. */
    taps->max_taps = n_out < n_in ? n_in / n_out + 2 : 2;
    taps->first = malloc(sizeof(int) * n_out);
    taps->n_taps = malloc(sizeof(int) * n_out);
    taps->weight = malloc(sizeof(double) * n_out * taps->max_taps);
    if (taps->first == NULL || taps->n_taps == NULL
        || taps->weight == NULL) {
        taps_free(taps);
        return -1;
    }

    for (j = 0; j < n_out; j++) {
        if (n_out < n_in) {
            box_taps(taps, j, n_in, n_out);
        } else if (n_out > n_in) {
            linear_taps(taps, j, n_in, n_out);
        } else {
            taps->first[j] = j;
            taps->n_taps[j] = 1;
            taps->weight[(size_t)j * taps->max_taps] = 1;
        }
    }
    return 0;
}

/* in (H_in, W_in, C) u8 -> tmp (H_in, W_out, C) double. */
static void resize_rows(const nn_image *in, const axis_taps *taps,
                        int width, double *tmp)
{
    int c = in->channels;
    int x, y, t, k;

    for (y = 0; y < in->height; y++) {
        const uint8_t *row = in->data + (size_t)y * in->width * c;
        double *dst = tmp + (size_t)y * width * c;

        for (x = 0; x < width; x++) {
            const double *weight = taps->weight + (size_t)x * taps->max_taps;
            const uint8_t *src = row + (size_t)taps->first[x] * c;

            for (k = 0; k < c; k++) {
                double sum = 0;

                for (t = 0; t < taps->n_taps[x]; t++)
                    sum += weight[t] * src[t * c + k];
                dst[x * c + k] = sum;
            }
        }
    }
}

/* tmp (H_in, W_out, C) double -> out (H_out, W_out, C) u8. */
static void resize_columns(const double *tmp, const axis_taps *taps,
                           nn_image *out)
{
    size_t row_len = (size_t)out->width * out->channels;
    size_t x;
    int y, t;

    for (y = 0; y < out->height; y++) {
        const double *weight = taps->weight + (size_t)y * taps->max_taps;
        const double *src = tmp + (size_t)taps->first[y] * row_len;
        uint8_t *dst = out->data + (size_t)y * row_len;

        for (x = 0; x < row_len; x++) {
            double sum = 0;

            for (t = 0; t < taps->n_taps[y]; t++)
                sum += weight[t] * src[t * row_len + x];
            dst[x] = round_to_u8(sum);
        }
    }
}

int nn_image_resize(const nn_image *in, int width, int height,
                    nn_image *out)
{
    axis_taps horizontal, vertical;
    double *tmp;

    memset(out, 0, sizeof *out);
    if (!image_is_valid(in))
        return -1;
    if (width == in->width && height == in->height)
        return image_copy(in, out);
    if (image_alloc(out, width, height, in->channels) != 0)
        return -1;

    tmp = malloc(sizeof(double) * in->height * width * in->channels);
    if (tmp == NULL)
        goto fail;
    if (taps_build(&horizontal, in->width, width) != 0)
        goto fail;
    if (taps_build(&vertical, in->height, height) != 0) {
        taps_free(&horizontal);
        goto fail;
    }

    resize_rows(in, &horizontal, width, tmp);
    resize_columns(tmp, &vertical, out);
    taps_free(&horizontal);
    taps_free(&vertical);
    free(tmp);
    return 0;

fail:
    free(tmp);
    nn_image_free(out);
    return -1;
}

int nn_image_grayscale(const nn_image *in, nn_image *out)
{
    size_t i, n_pixels;

    memset(out, 0, sizeof *out);
    if (!image_is_valid(in))
        return -1;
    if (in->channels == 1)
        return image_copy(in, out);
    if (image_alloc(out, in->width, in->height, 1) != 0)
        return -1;

    n_pixels = (size_t)in->width * in->height;
    for (i = 0; i < n_pixels; i++)
        out->data[i] = (uint8_t)pixel_luma(in->data + 3 * i, 3);
    return 0;
}

/* floor(n / 2), also for negative n where C division truncates. */
static int floor_half(int n)
{
    return n >= 0 ? n / 2 : -((1 - n) / 2);
}

/*
 * Rotation by turns * 90 degrees clockwise (turns 1..3) as a pixel move.
 * T, the turned image, is tw x th.  out is the in-sized window of T whose
 * top-left corner sits at (ox, oy) in T's coordinates.
 */
static void rotate_quarters(const nn_image *in, int turns,
                            const uint8_t *fill, nn_image *out)
{
    int w = in->width, h = in->height, c = in->channels;
    int tw = turns == 2 ? w : h, th = turns == 2 ? h : w;
    int ox = floor_half(tw - w), oy = floor_half(th - h);
    int x, y;

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            int tx = x + ox, ty = y + oy, sx, sy;
            const uint8_t *src = fill;

            if (tx >= 0 && ty >= 0 && tx < tw && ty < th) {
                if (turns == 1) {           /* bottom-left corner to top-left */
                    sx = ty;
                    sy = h - 1 - tx;
                } else if (turns == 2) {
                    sx = w - 1 - tx;
                    sy = h - 1 - ty;
                } else {                    /* top-right corner to top-left */
                    sx = w - 1 - ty;
                    sy = tx;
                }
                src = in->data + ((size_t)sy * w + sx) * c;
            }
            memcpy(out->data + ((size_t)y * w + x) * c, src, c);
        }
    }
}

/* Bilinear sample of in at (sx, sy), clamped to the outer pixel centres. */
static void sample_bilinear(const nn_image *in, double sx, double sy,
                            uint8_t *dst)
{
    int w = in->width, h = in->height, c = in->channels;
    int x0, y0, x1, y1, k;
    double fx, fy;
    const uint8_t *p00, *p10, *p01, *p11;

    sx = fmin(fmax(sx, 0), w - 1);
    sy = fmin(fmax(sy, 0), h - 1);
    x0 = (int)floor(sx);
    y0 = (int)floor(sy);
    x1 = x0 + 1 < w ? x0 + 1 : x0;
    y1 = y0 + 1 < h ? y0 + 1 : y0;
    fx = sx - x0;
    fy = sy - y0;

    p00 = in->data + ((size_t)y0 * w + x0) * c;
    p10 = in->data + ((size_t)y0 * w + x1) * c;
    p01 = in->data + ((size_t)y1 * w + x0) * c;
    p11 = in->data + ((size_t)y1 * w + x1) * c;
    for (k = 0; k < c; k++) {
        double top = (1 - fx) * p00[k] + fx * p10[k];
        double bottom = (1 - fx) * p01[k] + fx * p11[k];

        dst[k] = round_to_u8((1 - fy) * top + fy * bottom);
    }
}

/*
 * Any angle, by inverse mapping.  With y pointing down, a clockwise turn
 * by theta maps (dx, dy) from the centre to
 *   (dx cos - dy sin, dx sin + dy cos),
 * so an output pixel at (dx, dy) samples the source at
 *   (dx cos + dy sin, -dx sin + dy cos).
 * A source pixel covers a unit square around its centre, so an output
 * pixel takes the fill only when it maps outside [-0.5, w - 0.5) x
 * [-0.5, h - 0.5).  Testing against the outer pixel centres instead would
 * fray the edges of even a slightly rotated image.
 */
static void rotate_any(const nn_image *in, double degrees,
                       const uint8_t *fill, nn_image *out)
{
    int w = in->width, h = in->height, c = in->channels;
    double theta = degrees * PI / 180;
    double cos_t = cos(theta), sin_t = sin(theta);
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    int x, y;

    for (y = 0; y < h; y++) {
        double dy = y - cy;

        for (x = 0; x < w; x++) {
            double dx = x - cx;
            double sx = cx + dx * cos_t + dy * sin_t;
            double sy = cy - dx * sin_t + dy * cos_t;
            uint8_t *dst = out->data + ((size_t)y * w + x) * c;

            if (sx < -0.5 || sx >= w - 0.5 || sy < -0.5 || sy >= h - 0.5)
                memcpy(dst, fill, c);
            else
                sample_bilinear(in, sx, sy, dst);
        }
    }
}

int nn_image_rotate(const nn_image *in, double degrees, const uint8_t *fill,
                    nn_image *out)
{
    double reduced, quarters;

    memset(out, 0, sizeof *out);
    if (!image_is_valid(in) || !isfinite(degrees))
        return -1;
    if (fill == NULL)
        fill = in->data;

    /* Angles within 1e-9 quarter turns of a multiple of 90 degrees are
     * treated as that multiple. */
    reduced = fmod(degrees, 360);
    if (reduced < 0)
        reduced += 360;
    quarters = reduced / 90;
    if (fabs(quarters - round(quarters)) < 1e-9) {
        int turns = (int)round(quarters) % 4;

        if (turns == 0)
            return image_copy(in, out);
        if (image_alloc(out, in->width, in->height, in->channels) != 0)
            return -1;
        rotate_quarters(in, turns, fill, out);
        return 0;
    }

    if (image_alloc(out, in->width, in->height, in->channels) != 0)
        return -1;
    rotate_any(in, reduced, fill, out);
    return 0;
}

void nn_image_add_noise(nn_image *img, const double *noise)
{
    size_t i, n;

    if (img == NULL || img->data == NULL || noise == NULL)
        return;
    n = image_bytes(img);
    for (i = 0; i < n; i++)
        img->data[i] = round_to_u8(img->data[i] + 255 * noise[i]);
}

void nn_image_minmax(nn_image *img)
{
    size_t i, n;
    int lo = 255, hi = 0, range;

    if (img == NULL || img->data == NULL)
        return;
    n = image_bytes(img);
    for (i = 0; i < n; i++) {
        if (img->data[i] < lo)
            lo = img->data[i];
        if (img->data[i] > hi)
            hi = img->data[i];
    }
    if (hi == lo)
        return;

    /* (v - lo) * 255 / range, rounded half up in integers. */
    range = hi - lo;
    for (i = 0; i < n; i++)
        img->data[i] = (uint8_t)((2 * 255 * (img->data[i] - lo) + range)
                                 / (2 * range));
}

/*
 * Bounding box of the pixels that differ from background in any channel.
 * Returns 0 when there are none.
 */
static int find_content(const nn_image *in, const uint8_t *background,
                        int *x_min, int *y_min, int *x_max, int *y_max)
{
    int c = in->channels, found = 0;
    int x, y;

    *x_min = in->width;
    *y_min = in->height;
    *x_max = *y_max = -1;
    for (y = 0; y < in->height; y++) {
        for (x = 0; x < in->width; x++) {
            const uint8_t *px = in->data + ((size_t)y * in->width + x) * c;

            if (memcmp(px, background, c) == 0)
                continue;
            found = 1;
            if (x < *x_min)
                *x_min = x;
            if (x > *x_max)
                *x_max = x;
            if (y < *y_min)
                *y_min = y;
            if (y > *y_max)
                *y_max = y;
        }
    }
    return found;
}

int nn_image_trim(const nn_image *in, nn_image *out)
{
    uint8_t background[3];
    int x_min, y_min, x_max, y_max, box_w, box_h, canvas_w, canvas_h;
    int ox, oy, c, x, y;
    int64_t w, h;

    memset(out, 0, sizeof *out);
    if (!image_is_valid(in))
        return -1;
    c = in->channels;
    memcpy(background, in->data, c);
    if (!find_content(in, background, &x_min, &y_min, &x_max, &y_max))
        return image_copy(in, out);

    /* Grow the short side of the box until canvas_w / canvas_h = w / h,
     * rounding that side to nearest, which never takes it below the box. */
    w = in->width;
    h = in->height;
    box_w = x_max - x_min + 1;
    box_h = y_max - y_min + 1;
    if (box_w * h >= box_h * w) {
        canvas_w = box_w;
        canvas_h = (int)((2 * box_w * h + w) / (2 * w));
    } else {
        canvas_h = box_h;
        canvas_w = (int)((2 * box_h * w + h) / (2 * h));
    }
    if (image_alloc(out, canvas_w, canvas_h, c) != 0)
        return -1;

    for (x = 0; x < canvas_w * canvas_h; x++)
        memcpy(out->data + (size_t)x * c, background, c);
    ox = (canvas_w - box_w) / 2;
    oy = (canvas_h - box_h) / 2;
    for (y = 0; y < box_h; y++)
        memcpy(out->data + ((size_t)(y + oy) * canvas_w + ox) * c,
               in->data + ((size_t)(y + y_min) * in->width + x_min) * c,
               (size_t)box_w * c);
    return 0;
}

void nn_image_adaptive_invert(nn_image *img)
{
    size_t i, n;

    if (img == NULL || img->data == NULL)
        return;
    if (pixel_luma(img->data, img->channels) >= 128)
        return;
    n = image_bytes(img);
    for (i = 0; i < n; i++)
        img->data[i] = (uint8_t)(255 - img->data[i]);
}
