/*
 * Unit tests for nn_png and nn_image.  PNG inputs of every colour type
 * and bit depth are written with libpng directly into a temporary folder,
 * which is removed at the end.  The rest works on tiny images in memory.
 * Prints "N passed, M failed" and exits 1 when any check failed.
 */
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_image.h"
#include "nn_png.h"
#include "check.h"

static char tmp_dir[] = "/tmp/test_image.XXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void remove_tmp_dir(void)
{
    DIR *dir = opendir(tmp_dir);
    struct dirent *entry;

    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0
            && strcmp(entry->d_name, "..") != 0)
            unlink(tmp_path(entry->d_name));
    closedir(dir);
    rmdir(tmp_dir);
}

static int count_tmp_files(void)
{
    DIR *dir = opendir(tmp_dir);
    struct dirent *entry;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static int write_bytes(const char *path, const uint8_t *bytes, size_t n)
{
    FILE *fp = fopen(path, "wb");
    int rc;

    if (fp == NULL)
        return -1;
    rc = fwrite(bytes, 1, n, fp) == n ? 0 : -1;
    return fclose(fp) == 0 ? rc : -1;
}

/* Read a file of up to 64 KiB into a malloc'ed buffer of *n_out bytes. */
static uint8_t *read_bytes(const char *path, size_t *n_out)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 16);

    *n_out = 0;
    if (fp == NULL || buf == NULL) {
        if (fp != NULL)
            fclose(fp);
        free(buf);
        return NULL;
    }
    *n_out = fread(buf, 1, 1 << 16, fp);
    fclose(fp);
    return buf;
}

/* True when img has this shape and exactly these samples. */
static int image_equals(const nn_image *img, int width, int height,
                        int channels, const uint8_t *expected)
{
    size_t n = (size_t)width * height * channels;

    if (img->data == NULL || img->width != width || img->height != height
        || img->channels != channels)
        return 0;
    return memcmp(img->data, expected, n) == 0;
}

/* ---- PNG files written with libpng, sample by sample ---- */

/* Contents of a file for write_raw_png, with HWC samples, one per int. */
struct raw_png {
    int width, height, bit_depth, color_type, interlace;
    const int *samples;
    const png_color *palette;
    int n_palette;
    const png_byte *palette_alpha;      /* tRNS for a palette image */
    int n_palette_alpha;
    const png_color_16 *trans_color;    /* tRNS for gray or RGB */
};

static int samples_per_pixel(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        return 4;
    default:
        return 1;
    }
}

/* Pack one row of samples at bit_depth: big-endian for 16 bits, most
 * significant bits first below 8. */
static void pack_row(const int *samples, int n, int bit_depth, png_byte *row)
{
    int i;

    memset(row, 0, ((size_t)n * bit_depth + 7) / 8);
    for (i = 0; i < n; i++) {
        if (bit_depth == 16) {
            row[2 * i] = (png_byte)(samples[i] >> 8);
            row[2 * i + 1] = (png_byte)(samples[i] & 0xff);
        } else {
            int bit = i * bit_depth;

            row[bit / 8] |= (png_byte)(samples[i]
                                       << (8 - bit_depth - bit % 8));
        }
    }
}

static void on_test_png_error(png_structp png, png_const_charp msg)
{
    fprintf(stderr, "libpng (test writer): %s\n", msg);
    png_longjmp(png, 1);
}

static int write_raw_png(const char *path, const struct raw_png *spec)
{
    int n = spec->width * samples_per_pixel(spec->color_type);
    size_t row_bytes = ((size_t)n * spec->bit_depth + 7) / 8;
    png_byte *volatile data = malloc(row_bytes * spec->height);
    png_bytep *volatile rows = malloc(sizeof(png_bytep) * spec->height);
    FILE *fp = fopen(path, "wb");
    png_structp png;
    png_infop info;
    int y;

    if (data == NULL || rows == NULL || fp == NULL)
        goto fail_early;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                  on_test_png_error, NULL);
    if (png == NULL)
        goto fail_early;
    info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        goto fail_early;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, spec->width, spec->height, spec->bit_depth,
                 spec->color_type, spec->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (spec->palette != NULL)
        png_set_PLTE(png, info, spec->palette, spec->n_palette);
    if (spec->palette_alpha != NULL || spec->trans_color != NULL)
        png_set_tRNS(png, info, spec->palette_alpha, spec->n_palette_alpha,
                     spec->trans_color);
    for (y = 0; y < spec->height; y++) {
        rows[y] = data + y * row_bytes;
        pack_row(spec->samples + (size_t)y * n, n, spec->bit_depth, rows[y]);
    }
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(data);
    return fclose(fp);

fail_early:
    if (fp != NULL)
        fclose(fp);
    free(rows);
    free(data);
    return -1;
}

/*
 * Write spec to a file named name, read it back with nn_png_read and
 * compare with the expected 8-bit samples.  Returns 1 when all match.
 */
static int decodes_to(const char *name, const struct raw_png *spec,
                      int channels, const int *expected)
{
    char err[128] = "";
    nn_image img;
    int i, n, ok;

    if (write_raw_png(tmp_path(name), spec) != 0) {
        fprintf(stderr, "%s: cannot write test file\n", name);
        return 0;
    }
    if (nn_png_read(tmp_path(name), &img, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", name, err);
        return 0;
    }
    ok = img.width == spec->width && img.height == spec->height
         && img.channels == channels;
    n = spec->width * spec->height * channels;
    for (i = 0; ok && i < n; i++) {
        if (img.data[i] != expected[i]) {
            fprintf(stderr, "%s: sample %d is %d, expected %d\n", name, i,
                    img.data[i], expected[i]);
            ok = 0;
        }
    }
    nn_image_free(&img);
    return ok;
}

/* ---- PNG reading ---- */

static void test_read_gray_low_depths(void)
{
    static const int depths[] = { 1, 2, 4, 8 };
    int samples[9 * 2], expected[9 * 2];
    size_t d;
    int i;

    /* Width 9 leaves a partly used last byte at 1, 2 and 4 bits. */
    for (d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        int max = (1 << depths[d]) - 1;
        struct raw_png spec = { 9, 2, depths[d], PNG_COLOR_TYPE_GRAY,
                                PNG_INTERLACE_NONE, samples, NULL, 0, NULL,
                                0, NULL };
        char name[32];

        for (i = 0; i < 18; i++) {
            samples[i] = (i * 7 + 3) % (max + 1);
            expected[i] = samples[i] * 255 / max;   /* exact for these */
        }
        snprintf(name, sizeof name, "gray%d.png", depths[d]);
        CHECK(decodes_to(name, &spec, 1, expected));
    }
}

static void test_read_gray16_scaled(void)
{
    /* 496 and 1000 tell scaling (2, 4) from keeping the high byte (1, 3). */
    static const int samples[] = { 0, 496, 1000, 32768, 25700, 65535 };
    static const int expected[] = { 0, 2, 4, 128, 100, 255 };
    struct raw_png spec = { 3, 2, 16, PNG_COLOR_TYPE_GRAY,
                            PNG_INTERLACE_NONE, samples, NULL, 0, NULL, 0,
                            NULL };

    CHECK(decodes_to("gray16.png", &spec, 1, expected));
}

static void test_read_gray_alpha(void)
{
    static const int samples[] = { 10, 255, 20, 0, 30, 128, 40, 1 };
    static const int expected[] = { 10, 20, 30, 40 };
    struct raw_png spec = { 2, 2, 8, PNG_COLOR_TYPE_GRAY_ALPHA,
                            PNG_INTERLACE_NONE, samples, NULL, 0, NULL, 0,
                            NULL };

    CHECK(decodes_to("gray_alpha.png", &spec, 1, expected));
}

static void test_read_rgb(void)
{
    static const int rgb8[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
                                1, 2, 3, 250, 251, 252, 7, 8, 9 };
    static const int rgb16[] = { 0, 496, 65535, 32768, 1000, 25700 };
    static const int rgb16_expected[] = { 0, 2, 255, 128, 4, 100 };
    static const int rgba[] = { 1, 2, 3, 0, 4, 5, 6, 255 };
    static const int rgba_expected[] = { 1, 2, 3, 4, 5, 6 };
    png_color_16 transparent = { 0, 1, 2, 3, 0 };
    struct raw_png spec8 = { 3, 2, 8, PNG_COLOR_TYPE_RGB,
                             PNG_INTERLACE_NONE, rgb8, NULL, 0, NULL, 0,
                             &transparent };
    struct raw_png spec16 = { 2, 1, 16, PNG_COLOR_TYPE_RGB,
                              PNG_INTERLACE_NONE, rgb16, NULL, 0, NULL, 0,
                              NULL };
    struct raw_png spec_rgba = { 1, 2, 8, PNG_COLOR_TYPE_RGB_ALPHA,
                                 PNG_INTERLACE_NONE, rgba, NULL, 0, NULL, 0,
                                 NULL };

    /* The tRNS colour (1, 2, 3) in rgb8 must not add an alpha channel. */
    CHECK(decodes_to("rgb8.png", &spec8, 3, rgb8));
    CHECK(decodes_to("rgb16.png", &spec16, 3, rgb16_expected));
    CHECK(decodes_to("rgba.png", &spec_rgba, 3, rgba_expected));
}

static void test_read_palette(void)
{
    static const png_color palette[] = {
        { 0, 0, 0 }, { 255, 0, 0 }, { 10, 200, 30 }, { 255, 255, 255 }
    };
    static const png_byte alpha[] = { 0, 128 };
    static const int samples[] = { 0, 1, 2, 3, 3, 2, 1, 0, 2, 2 };
    int expected[10 * 3];
    struct raw_png spec8 = { 5, 2, 8, PNG_COLOR_TYPE_PALETTE,
                             PNG_INTERLACE_NONE, samples, palette, 4, alpha,
                             2, NULL };
    struct raw_png spec2 = spec8;
    int i;

    for (i = 0; i < 10; i++) {
        expected[3 * i] = palette[samples[i]].red;
        expected[3 * i + 1] = palette[samples[i]].green;
        expected[3 * i + 2] = palette[samples[i]].blue;
    }
    /* With tRNS present, libpng's expansion would add alpha unless the
     * reader strips it. */
    CHECK(decodes_to("palette8.png", &spec8, 3, expected));
    spec2.bit_depth = 2;
    CHECK(decodes_to("palette2.png", &spec2, 3, expected));
}

static void test_read_interlaced(void)
{
    int rgb[9 * 7 * 3], gray[11 * 5], gray_expected[11 * 5];
    struct raw_png spec_rgb = { 9, 7, 8, PNG_COLOR_TYPE_RGB,
                                PNG_INTERLACE_ADAM7, rgb, NULL, 0, NULL, 0,
                                NULL };
    struct raw_png spec_gray = { 11, 5, 2, PNG_COLOR_TYPE_GRAY,
                                 PNG_INTERLACE_ADAM7, gray, NULL, 0, NULL, 0,
                                 NULL };
    int x, y;

    /* Distinct values everywhere, so a pixel from the wrong pass shows. */
    for (y = 0; y < 7; y++) {
        for (x = 0; x < 9; x++) {
            int *px = rgb + (y * 9 + x) * 3;

            px[0] = x * 20 + y;
            px[1] = y * 30 + x;
            px[2] = (x * y * 5) % 256;
        }
    }
    for (x = 0; x < 11 * 5; x++) {
        gray[x] = (x * 5 + x / 11) % 4;
        gray_expected[x] = gray[x] * 85;
    }
    CHECK(decodes_to("adam7_rgb.png", &spec_rgb, 3, rgb));
    CHECK(decodes_to("adam7_gray2.png", &spec_gray, 1, gray_expected));
}

/* ---- PNG writing ---- */

static void test_png_round_trip(void)
{
    static uint8_t gray[] = { 0, 1, 127, 128, 254, 255, 9, 99, 199, 42 };
    static uint8_t rgb[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
                             12, 34, 56, 78, 90, 123, 200, 100, 50 };
    nn_image gray_img = { 5, 2, 1, gray }, rgb_img = { 3, 2, 3, rgb };
    nn_image back;
    char err[128] = "";
    int n_before = count_tmp_files();

    CHECK(nn_png_write(tmp_path("rt_gray.png"), &gray_img, err,
                       sizeof err) == 0);
    CHECK(nn_png_read(tmp_path("rt_gray.png"), &back, err, sizeof err) == 0);
    CHECK(image_equals(&back, 5, 2, 1, gray));
    nn_image_free(&back);

    CHECK(nn_png_write(tmp_path("rt_rgb.png"), &rgb_img, err,
                       sizeof err) == 0);
    CHECK(nn_png_read(tmp_path("rt_rgb.png"), &back, err, sizeof err) == 0);
    CHECK(image_equals(&back, 3, 2, 3, rgb));
    nn_image_free(&back);

    /* Overwriting replaces the file and leaves no temporary behind. */
    CHECK(nn_png_write(tmp_path("rt_gray.png"), &rgb_img, err,
                       sizeof err) == 0);
    CHECK(nn_png_read(tmp_path("rt_gray.png"), &back, err, sizeof err) == 0);
    CHECK(back.channels == 3);
    nn_image_free(&back);
    CHECK(count_tmp_files() == n_before + 2);
    unlink(tmp_path("rt_gray.png"));
    unlink(tmp_path("rt_rgb.png"));
}

static void test_png_write_failures(void)
{
    static uint8_t px[] = { 1, 2, 3, 4 };
    nn_image img = { 2, 2, 1, px }, bad = { 2, 2, 2, px };
    char err[128] = "";
    int n_before = count_tmp_files();

    CHECK(nn_png_write(tmp_path("missing/x.png"), &img, err,
                       sizeof err) == -1);
    CHECK(strncmp(err, "cannot create temporary file: ", 30) == 0);
    CHECK(nn_png_write(tmp_path("bad.png"), &bad, err, sizeof err) == -1);
    CHECK(strcmp(err, "invalid image") == 0);
    CHECK(nn_png_write_fp(stdout, NULL, err, sizeof err) == -1);
    CHECK(count_tmp_files() == n_before);
}

static void test_png_read_fp_sequence(void)
{
    static uint8_t a_px[] = { 1, 2 }, b_px[] = { 3, 4, 5 };
    nn_image a = { 2, 1, 1, a_px }, b = { 1, 1, 3, b_px }, back;
    char err[128] = "";
    FILE *fp = tmpfile();

    CHECK(fp != NULL);
    if (fp == NULL)
        return;
    CHECK(nn_png_write_fp(fp, &a, err, sizeof err) == 0);
    CHECK(nn_png_write_fp(fp, &b, err, sizeof err) == 0);
    rewind(fp);
    CHECK(nn_png_read_fp(fp, "<stream>", &back, err, sizeof err) == 0);
    CHECK(image_equals(&back, 2, 1, 1, a_px));
    nn_image_free(&back);
    CHECK(nn_png_read_fp(fp, "<stream>", &back, err, sizeof err) == 0);
    CHECK(image_equals(&back, 1, 1, 3, b_px));
    nn_image_free(&back);
    CHECK(nn_png_read_fp(fp, "<stream>", &back, err, sizeof err) == -1);
    CHECK(strcmp(err, "not a PNG file") == 0);
    fclose(fp);
}

/* ---- PNG rejection ---- */

static uint32_t crc32_bytes(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return crc ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Put a chunk with its length and CRC at buf + at.  Returns its end. */
static size_t put_chunk(uint8_t *buf, size_t at, const char *type,
                        const uint8_t *data, uint32_t n)
{
    put_be32(buf + at, n);
    memcpy(buf + at + 4, type, 4);
    if (n > 0)
        memcpy(buf + at + 8, data, n);
    put_be32(buf + at + 8 + n, crc32_bytes(buf + at + 4, n + 4));
    return at + 12 + n;
}

/* Read path and expect failure with exactly the reason want. */
static int rejects_with(const char *path, const char *want)
{
    char err[128] = "";
    nn_image img;
    int rc = nn_png_read(path, &img, err, sizeof err);

    if (rc == 0) {
        nn_image_free(&img);
        fprintf(stderr, "%s: accepted, expected '%s'\n", path, want);
        return 0;
    }
    if (strcmp(err, want) != 0 || img.data != NULL) {
        fprintf(stderr, "%s: got '%s', expected '%s'\n", path, err, want);
        return 0;
    }
    return 1;
}

static void test_png_rejects(void)
{
    static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G',
                                          '\r', '\n', 0x1a, '\n' };
    uint8_t px[16 * 16], ihdr[13], huge[128];
    nn_image img = { 16, 16, 1, px };
    char err[128] = "";
    uint8_t *bytes;
    size_t n_bytes, at;
    int i;

    for (i = 0; i < 16 * 16; i++)
        px[i] = (uint8_t)(i * 37);
    CHECK(nn_png_write(tmp_path("good.png"), &img, err, sizeof err) == 0);
    bytes = read_bytes(tmp_path("good.png"), &n_bytes);
    CHECK(bytes != NULL);
    CHECK(n_bytes > 60);
    if (bytes == NULL || n_bytes <= 60) {
        free(bytes);
        return;
    }

    CHECK(write_bytes(tmp_path("cut.png"), bytes, n_bytes / 2) == 0);
    CHECK(rejects_with(tmp_path("cut.png"), "truncated PNG data"));
    CHECK(write_bytes(tmp_path("cut_sig.png"), bytes, 5) == 0);
    CHECK(rejects_with(tmp_path("cut_sig.png"), "truncated PNG data"));
    CHECK(write_bytes(tmp_path("empty.png"), bytes, 0) == 0);
    CHECK(rejects_with(tmp_path("empty.png"), "not a PNG file"));
    CHECK(write_bytes(tmp_path("text.png"),
                      (const uint8_t *)"hello, world\n", 13) == 0);
    CHECK(rejects_with(tmp_path("text.png"), "not a PNG file"));
    CHECK(rejects_with(tmp_path("absent.png"),
                       "cannot open: No such file or directory"));

    /* Flip one bit of the stored CRC of the first IDAT chunk. */
    for (at = 8; at + 12 <= n_bytes; ) {
        uint32_t len = (uint32_t)bytes[at] << 24 | bytes[at + 1] << 16
                       | bytes[at + 2] << 8 | bytes[at + 3];

        if (memcmp(bytes + at + 4, "IDAT", 4) == 0) {
            bytes[at + 8 + len] ^= 0x01;
            break;
        }
        at += 12 + len;
    }
    CHECK(write_bytes(tmp_path("crc.png"), bytes, n_bytes) == 0);
    CHECK(rejects_with(tmp_path("crc.png"), "bad CRC in chunk IDAT"));
    free(bytes);

    /* A well-formed header for 100000 x 100000 8-bit gray, then an empty
     * IDAT and IEND: rejected before any pixel memory is allocated. */
    put_be32(ihdr, 100000);
    put_be32(ihdr + 4, 100000);
    memcpy(ihdr + 8, "\x08\x00\x00\x00\x00", 5);
    memcpy(huge, signature, 8);
    at = put_chunk(huge, 8, "IHDR", ihdr, 13);
    at = put_chunk(huge, at, "IDAT", NULL, 0);
    at = put_chunk(huge, at, "IEND", NULL, 0);
    CHECK(write_bytes(tmp_path("huge.png"), huge, at) == 0);
    CHECK(rejects_with(tmp_path("huge.png"),
                       "image too large: 100000x100000 pixels"));
}

/* ---- image operations ---- */

static void test_resize(void)
{
    static uint8_t square[] = { 10, 20, 30, 41 };
    static uint8_t halves[] = { 1, 2, 3, 4 };
    static uint8_t rgb_square[] = { 0, 10, 100, 2, 20, 200,
                                    4, 30, 100, 6, 41, 201 };
    static uint8_t column[] = { 0, 100 };
    static uint8_t thirds[] = { 0, 90, 180 };
    static uint8_t row4[] = { 0, 10, 20, 30 };
    static uint8_t rgb6[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9,
                              10, 11, 12, 13, 14, 15, 16, 17, 18 };
    nn_image in, out;

    /* 2x2 -> 1x1 is the mean: 25.25 -> 25, and 2.5 rounds up to 3. */
    in = (nn_image){ 2, 2, 1, square };
    CHECK(nn_image_resize(&in, 1, 1, &out) == 0);
    CHECK(image_equals(&out, 1, 1, 1, (const uint8_t[]){ 25 }));
    nn_image_free(&out);
    in = (nn_image){ 2, 2, 1, halves };
    CHECK(nn_image_resize(&in, 1, 1, &out) == 0);
    CHECK(image_equals(&out, 1, 1, 1, (const uint8_t[]){ 3 }));
    nn_image_free(&out);
    in = (nn_image){ 2, 2, 3, rgb_square };
    CHECK(nn_image_resize(&in, 1, 1, &out) == 0);
    CHECK(image_equals(&out, 1, 1, 3, (const uint8_t[]){ 3, 25, 150 }));
    nn_image_free(&out);

    /* 1x2 -> 1x4: source rows sampled at -0.25 (clamped), 0.25, 0.75 and
     * 1.25 (clamped). */
    in = (nn_image){ 1, 2, 1, column };
    CHECK(nn_image_resize(&in, 1, 4, &out) == 0);
    CHECK(image_equals(&out, 1, 4, 1, (const uint8_t[]){ 0, 25, 75, 100 }));
    nn_image_free(&out);

    /* 3 -> 2 covers 1.5 pixels each: 2/3 * 0 + 1/3 * 90 = 30, and
     * 1/3 * 90 + 2/3 * 180 = 150. */
    in = (nn_image){ 3, 1, 1, thirds };
    CHECK(nn_image_resize(&in, 2, 1, &out) == 0);
    CHECK(image_equals(&out, 2, 1, 1, (const uint8_t[]){ 30, 150 }));
    nn_image_free(&out);

    /* Shrink one axis while enlarging the other. */
    in = (nn_image){ 4, 1, 1, row4 };
    CHECK(nn_image_resize(&in, 2, 2, &out) == 0);
    CHECK(image_equals(&out, 2, 2, 1, (const uint8_t[]){ 5, 25, 5, 25 }));
    nn_image_free(&out);

    in = (nn_image){ 3, 2, 3, rgb6 };
    CHECK(nn_image_resize(&in, 3, 2, &out) == 0);
    CHECK(image_equals(&out, 3, 2, 3, rgb6));
    nn_image_free(&out);

    CHECK(nn_image_resize(&in, 0, 2, &out) == -1);
    CHECK(out.data == NULL);
}

static void test_grayscale(void)
{
    static uint8_t rgb[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
                             255, 255, 255, 10, 20, 30, 0, 0, 0 };
    static uint8_t gray[] = { 7, 8, 9 };
    nn_image in = { 3, 2, 3, rgb }, out;

    /* 76.245, 149.685, 29.07, 255, 18.15, 0 */
    CHECK(nn_image_grayscale(&in, &out) == 0);
    CHECK(image_equals(&out, 3, 2, 1,
                       (const uint8_t[]){ 76, 150, 29, 255, 18, 0 }));
    nn_image_free(&out);
    in = (nn_image){ 3, 1, 1, gray };
    CHECK(nn_image_grayscale(&in, &out) == 0);
    CHECK(image_equals(&out, 3, 1, 1, gray));
    nn_image_free(&out);
}

static void test_rotate_quarter_turns(void)
{
    static uint8_t g3[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static uint8_t g4[] = { 1, 2, 3, 4, 5, 6, 7, 8,
                            9, 10, 11, 12, 13, 14, 15, 16 };
    static const uint8_t g3_cw[] = { 7, 4, 1, 8, 5, 2, 9, 6, 3 };
    static const uint8_t g4_cw[] = { 13, 9, 5, 1, 14, 10, 6, 2,
                                     15, 11, 7, 3, 16, 12, 8, 4 };
    static const uint8_t g4_ccw[] = { 4, 8, 12, 16, 3, 7, 11, 15,
                                      2, 6, 10, 14, 1, 5, 9, 13 };
    static const uint8_t g3_half[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    nn_image in = { 3, 3, 1, g3 }, out;

    CHECK(nn_image_rotate(&in, 90, NULL, &out) == 0);
    CHECK(image_equals(&out, 3, 3, 1, g3_cw));
    nn_image_free(&out);
    CHECK(nn_image_rotate(&in, 180, NULL, &out) == 0);
    CHECK(image_equals(&out, 3, 3, 1, g3_half));
    nn_image_free(&out);
    CHECK(nn_image_rotate(&in, -270, NULL, &out) == 0);
    CHECK(image_equals(&out, 3, 3, 1, g3_cw));
    nn_image_free(&out);

    in = (nn_image){ 4, 4, 1, g4 };
    CHECK(nn_image_rotate(&in, 90, NULL, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, g4_cw));
    nn_image_free(&out);
    CHECK(nn_image_rotate(&in, 270, NULL, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, g4_ccw));
    nn_image_free(&out);
    CHECK(nn_image_rotate(&in, -90, NULL, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, g4_ccw));
    nn_image_free(&out);

    /* Just off 90 degrees takes the interpolating path, which must agree
     * on direction and centre with the pixel move. */
    CHECK(nn_image_rotate(&in, 90.0000001, NULL, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, g4_cw));
    nn_image_free(&out);
    CHECK(nn_image_rotate(&in, 89.9999, NULL, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, g4_cw));
    nn_image_free(&out);
}

static void test_rotate_identity_and_fill(void)
{
    static uint8_t rgb[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9,
                             10, 11, 12, 13, 14, 15, 16, 17, 18 };
    static uint8_t wide[] = { 1, 2, 3, 4, 5, 6 };
    static uint8_t g3[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static uint8_t g4[16];
    const uint8_t zero = 0, light = 200;
    nn_image in = { 3, 2, 3, rgb }, once, twice;

    CHECK(nn_image_rotate(&in, 0, NULL, &once) == 0);
    CHECK(image_equals(&once, 3, 2, 3, rgb));
    nn_image_free(&once);
    CHECK(nn_image_rotate(&in, 360, NULL, &once) == 0);
    CHECK(image_equals(&once, 3, 2, 3, rgb));
    nn_image_free(&once);
    CHECK(nn_image_rotate(&in, 180, NULL, &once) == 0);
    CHECK(nn_image_rotate(&once, 180, NULL, &twice) == 0);
    CHECK(image_equals(&twice, 3, 2, 3, rgb));
    nn_image_free(&once);
    nn_image_free(&twice);

    /* 3x2 turned is 2x3 with rows {4 1} {5 2} {6 3}.  Its centre crop
     * leaves the left column uncovered. */
    in = (nn_image){ 3, 2, 1, wide };
    CHECK(nn_image_rotate(&in, 90, &zero, &once) == 0);
    CHECK(image_equals(&once, 3, 2, 1, (const uint8_t[]){ 0, 4, 1,
                                                         0, 5, 2 }));
    nn_image_free(&once);
    CHECK(nn_image_rotate(&in, 90, NULL, &once) == 0);
    CHECK(image_equals(&once, 3, 2, 1, (const uint8_t[]){ 1, 4, 1,
                                                         1, 5, 2 }));
    nn_image_free(&once);

    /* 45 degrees clockwise: the top-left output pixel samples the left
     * middle (4), not the top middle (2) as counter-clockwise would. */
    in = (nn_image){ 3, 3, 1, g3 };
    CHECK(nn_image_rotate(&in, 45, NULL, &once) == 0);
    CHECK(once.data != NULL);
    if (once.data != NULL) {
        CHECK(once.data[0] == 4);
        CHECK(once.data[4] == 5);
    }
    nn_image_free(&once);

    /* On 4x4 the corners map outside the source and take the fill. */
    memset(g4, 50, sizeof g4);
    in = (nn_image){ 4, 4, 1, g4 };
    CHECK(nn_image_rotate(&in, 45, &light, &once) == 0);
    CHECK(once.data != NULL);
    if (once.data != NULL) {
        CHECK(once.data[0] == 200);
        CHECK(once.data[15] == 200);
        CHECK(once.data[5] == 50);
    }
    nn_image_free(&once);
}

static void test_add_noise(void)
{
    uint8_t px[] = { 0, 100, 200, 255, 100, 100 };
    const double zeros[6] = { 0 };
    const double noise[6] = { -0.1, 0.5, 0.2, 0.01, -1, 1 };
    nn_image img = { 3, 2, 1, px };

    nn_image_add_noise(&img, zeros);
    CHECK(memcmp(px, (const uint8_t[]){ 0, 100, 200, 255, 100, 100 }, 6)
          == 0);
    /* 100 + 127.5 rounds up, and the rest clamp to [0, 255]. */
    nn_image_add_noise(&img, noise);
    CHECK(memcmp(px, (const uint8_t[]){ 0, 228, 251, 255, 0, 255 }, 6)
          == 0);
}

static void test_minmax(void)
{
    uint8_t gray[] = { 50, 100, 150 };
    uint8_t flat[] = { 7, 7, 7 };
    uint8_t rgb[] = { 20, 40, 60, 30, 50, 220 };
    nn_image img = { 3, 1, 1, gray };

    /* (100 - 50) * 255 / 100 = 127.5 rounds up. */
    nn_image_minmax(&img);
    CHECK(memcmp(gray, (const uint8_t[]){ 0, 128, 255 }, 3) == 0);
    img = (nn_image){ 3, 1, 1, flat };
    nn_image_minmax(&img);
    CHECK(memcmp(flat, (const uint8_t[]){ 7, 7, 7 }, 3) == 0);
    /* One range, 20..220, over all channels: 40 -> 25.5 -> 26. */
    img = (nn_image){ 2, 1, 3, rgb };
    nn_image_minmax(&img);
    CHECK(memcmp(rgb, (const uint8_t[]){ 0, 26, 51, 13, 38, 255 }, 6)
          == 0);
}

static void test_trim(void)
{
    /* 6x4 (3:2) with content in x 2..3, y 1..2: the 2x2 box grows to
     * 3x2 with the box at the left, the rounding going to the top-left. */
    static uint8_t wide[] = { 0, 0, 0, 0, 0, 0,
                              0, 0, 9, 0, 0, 0,
                              0, 0, 0, 8, 0, 0,
                              0, 0, 0, 0, 0, 0 };
    /* 4x4 with a full-width line at the bottom: 4x1 grows to 4x4 and the
     * line moves to row 1. */
    static uint8_t low[] = { 255, 255, 255, 255, 255, 255, 255, 255,
                             255, 255, 255, 255, 1, 2, 3, 4 };
    static const uint8_t low_trimmed[] = { 255, 255, 255, 255, 1, 2, 3, 4,
                                           255, 255, 255, 255,
                                           255, 255, 255, 255 };
    /* One channel differing is enough to count as content. */
    static uint8_t rgb[27];
    static uint8_t flat[] = { 5, 5, 5, 5 };
    nn_image in = { 6, 4, 1, wide }, out;
    int i;

    CHECK(nn_image_trim(&in, &out) == 0);
    CHECK(image_equals(&out, 3, 2, 1, (const uint8_t[]){ 9, 0, 0,
                                                        0, 8, 0 }));
    nn_image_free(&out);

    in = (nn_image){ 4, 4, 1, low };
    CHECK(nn_image_trim(&in, &out) == 0);
    CHECK(image_equals(&out, 4, 4, 1, low_trimmed));
    nn_image_free(&out);

    for (i = 0; i < 9; i++)
        memcpy(rgb + 3 * i, "\x0a\x14\x1e", 3);
    rgb[3 * 4 + 2] = 31;
    in = (nn_image){ 3, 3, 3, rgb };
    CHECK(nn_image_trim(&in, &out) == 0);
    CHECK(image_equals(&out, 1, 1, 3, (const uint8_t[]){ 10, 20, 31 }));
    nn_image_free(&out);

    in = (nn_image){ 2, 2, 1, flat };
    CHECK(nn_image_trim(&in, &out) == 0);
    CHECK(image_equals(&out, 2, 2, 1, flat));
    nn_image_free(&out);
}

static void test_adaptive_invert(void)
{
    uint8_t dark[] = { 0, 255, 10 };
    uint8_t light[] = { 200, 0, 10 };
    uint8_t blue_first[] = { 0, 0, 255, 1, 2, 3 };    /* luma 29 */
    uint8_t yellow_first[] = { 255, 255, 0, 1, 2, 3 }; /* luma 226 */
    nn_image img = { 3, 1, 1, dark };

    nn_image_adaptive_invert(&img);
    CHECK(memcmp(dark, (const uint8_t[]){ 255, 0, 245 }, 3) == 0);
    img = (nn_image){ 3, 1, 1, light };
    nn_image_adaptive_invert(&img);
    CHECK(memcmp(light, (const uint8_t[]){ 200, 0, 10 }, 3) == 0);
    img = (nn_image){ 2, 1, 3, blue_first };
    nn_image_adaptive_invert(&img);
    CHECK(memcmp(blue_first,
                 (const uint8_t[]){ 255, 255, 0, 254, 253, 252 }, 6) == 0);
    img = (nn_image){ 2, 1, 3, yellow_first };
    nn_image_adaptive_invert(&img);
    CHECK(memcmp(yellow_first, (const uint8_t[]){ 255, 255, 0, 1, 2, 3 }, 6)
          == 0);
}

static void test_image_free(void)
{
    nn_image img = { 0, 0, 0, NULL };

    nn_image_free(&img);
    nn_image_free(NULL);
    img.data = malloc(4);
    img.width = img.height = 2;
    img.channels = 1;
    nn_image_free(&img);
    CHECK(img.data == NULL);
    CHECK(img.width == 0);
    CHECK(img.channels == 0);
    nn_image_free(&img);
}

int main(void)
{
    if (mkdtemp(tmp_dir) == NULL) {
        perror("test_image: mkdtemp");
        return 1;
    }

    test_read_gray_low_depths();
    test_read_gray16_scaled();
    test_read_gray_alpha();
    test_read_rgb();
    test_read_palette();
    test_read_interlaced();
    test_png_round_trip();
    test_png_write_failures();
    test_png_read_fp_sequence();
    test_png_rejects();

    test_resize();
    test_grayscale();
    test_rotate_quarter_turns();
    test_rotate_identity_and_fill();
    test_add_noise();
    test_minmax();
    test_trim();
    test_adaptive_invert();
    test_image_free();

    remove_tmp_dir();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
