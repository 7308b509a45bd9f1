/*
 * PNG decoding and encoding with libpng 1.6.  libpng reports errors by
 * calling our error handler, which stores the message and long-jumps
 * back to the setjmp() in the function that started the work.  That
 * function then frees whatever it had allocated.  Nothing is printed.
 */
#include "nn_png.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_err.h"

#define PNG_SIGNATURE_BYTES 8
#define TEMP_NAME_ATTEMPTS 100

/*
 * Before it reads any pixel data, libpng allocates two row buffers of up
 * to 8 bytes per pixel (16-bit RGBA) and clears one of them, so the width
 * in a 70-byte header decides how much memory is used.  2^20 pixels keeps
 * each buffer at 8 MiB.  Wider images are rejected like ones over
 * NN_IMAGE_MAX_PIXELS.
 */
#define MAX_WIDTH ((png_uint_32)1 << 20)

/* Shared by libpng's I/O and error callbacks through its user pointers. */
struct png_stream {
    FILE *fp;
    char *err;
    size_t err_len;
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/*
 * libpng's messages start with a capital ("Invalid IHDR data"), and
 * errors inside a chunk are prefixed with its name ("IDAT: CRC error").
 * Rewrite them to the library's lowercase form with the chunk name last.
 */
static void on_png_error(png_structp png, png_const_charp msg)
{
    struct png_stream *stream = png_get_error_ptr(png);
    const char *text = msg, *colon = strstr(msg, ": ");
    char chunk[24] = "";
    char first[2] = "";
    size_t chunk_len = colon != NULL ? (size_t)(colon - msg) : 0;

    /* A chunk name is 4 bytes, each printed as a letter or as "[hh]". */
    if (chunk_len >= 4 && chunk_len < sizeof chunk
        && strcspn(msg, " ") > chunk_len) {
        memcpy(chunk, msg, chunk_len);
        chunk[chunk_len] = '\0';
        text = colon + 2;
    }
    if (strcmp(text, "CRC error") == 0)
        text = "bad CRC";

    /* Keep a leading acronym such as "IHDR" or "CRC" in capitals. */
    if (isupper((unsigned char)text[0])
        && islower((unsigned char)text[1])) {
        first[0] = (char)tolower((unsigned char)text[0]);
        text++;
    }

    if (chunk[0] != '\0')
        set_err(stream->err, stream->err_len, "%s%s in chunk %s", first,
                text, chunk);
    else
        set_err(stream->err, stream->err_len, "%s%s", first, text);
    png_longjmp(png, 1);
}

/* Warnings (a bad CRC in an ancillary chunk, say) are not reported. */
static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_stream(png_structp png, png_bytep buf, size_t n_bytes)
{
    struct png_stream *stream = png_get_io_ptr(png);
    char msg[128];

    if (fread(buf, 1, n_bytes, stream->fp) == n_bytes)
        return;
    if (ferror(stream->fp)) {
        snprintf(msg, sizeof msg, "read error: %s", strerror(errno));
        png_error(png, msg);
    }
    png_error(png, "truncated PNG data");
}

static void write_stream(png_structp png, png_bytep buf, size_t n_bytes)
{
    struct png_stream *stream = png_get_io_ptr(png);
    char msg[128];

    if (fwrite(buf, 1, n_bytes, stream->fp) == n_bytes)
        return;
    snprintf(msg, sizeof msg, "write error: %s", strerror(errno));
    png_error(png, msg);
}

static void flush_stream(png_structp png)
{
    struct png_stream *stream = png_get_io_ptr(png);
    char msg[128];

    if (fflush(stream->fp) == 0)
        return;
    snprintf(msg, sizeof msg, "write error: %s", strerror(errno));
    png_error(png, msg);
}

/*
 * Read and check the 8-byte signature ourselves, so that a short file
 * that starts like a PNG is reported as truncated and anything else as
 * "not a PNG file" rather than with libpng's wording.
 */
static int read_signature(FILE *fp, char *err, size_t err_len)
{
    static const uint8_t signature[PNG_SIGNATURE_BYTES] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
    };
    uint8_t buf[PNG_SIGNATURE_BYTES];
    size_t n = fread(buf, 1, sizeof buf, fp);

    if (n < sizeof buf && ferror(fp)) {
        set_err(err, err_len, "read error: %s", strerror(errno));
        return -1;
    }
    if (n == 0 || memcmp(buf, signature, n) != 0) {
        set_err(err, err_len, "not a PNG file");
        return -1;
    }
    if (n < sizeof buf) {
        set_err(err, err_len, "truncated PNG data");
        return -1;
    }
    return 0;
}

/*
 * Ask libpng for 8-bit gray or RGB whatever the file holds.  The alpha
 * channel is stripped after expansion, which also removes the one that
 * palette expansion builds from a tRNS chunk.
 */
static int request_8bit_layout(png_structp png, png_infop info)
{
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    int n_passes;

    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);   /* v * 255 / (2^depth - 1) */
    if (bit_depth == 16)
        png_set_scale_16(png);                  /* round(v * 255 / 65535) */
    png_set_strip_alpha(png);
    n_passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return n_passes;
}

static int decode(FILE *fp, nn_image *out, char *err, size_t err_len)
{
    struct png_stream stream = { fp, err, err_len };
    png_structp png;
    png_infop info;
    uint8_t *volatile data = NULL;
    png_uint_32 width, height, y;
    size_t row_bytes;
    int channels, n_passes;
    char msg[64];

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &stream,
                                 on_png_error, on_png_warning);
    if (png == NULL) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_err(err, err_len, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(data);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }

    png_set_read_fn(png, &stream, read_stream);
    png_set_sig_bytes(png, PNG_SIGNATURE_BYTES);
    /* libpng's default limit is 1e6 pixels per side.  Either side may
     * reach the pixel limit when the other is 1, and the product is
     * checked below. */
    png_set_user_limits(png, (png_uint_32)NN_IMAGE_MAX_PIXELS,
                        (png_uint_32)NN_IMAGE_MAX_PIXELS);
    /* Skip every chunk but IHDR, PLTE, tRNS, IDAT and IEND unread.  The
     * decoder uses no other, and libpng 1.6.39 allocates and clears the
     * length a text chunk claims, up to 2 GiB, before reading it. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_read_info(png, info);

    width = png_get_image_width(png, info);
    height = png_get_image_height(png, info);
    if ((int64_t)width * height > NN_IMAGE_MAX_PIXELS || width > MAX_WIDTH) {
        snprintf(msg, sizeof msg, "image too large: %lux%lu pixels",
                 (unsigned long)width, (unsigned long)height);
        png_error(png, msg);
    }

    n_passes = request_8bit_layout(png, info);
    channels = png_get_channels(png, info);
    row_bytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 3)
        || row_bytes != (size_t)width * channels)
        png_error(png, "unsupported PNG layout");

    /* Row by row rather than png_read_image, whose table of row
     * pointers would be 8 bytes per row before any row is read.  Each
     * Adam7 pass fills in its pixels over the earlier passes. */
    data = malloc(row_bytes * height);
    if (data == NULL)
        png_error(png, "out of memory");
    for (int pass = 0; pass < n_passes; pass++)
        for (y = 0; y < height; y++)
            png_read_row(png, data + y * row_bytes, NULL);
    /* Reads up to IEND, which checks the CRC of the last IDAT chunk and
     * leaves fp after this PNG. */
    png_read_end(png, NULL);

    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    out->data = data;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int nn_png_read_fp(FILE *fp, const char *name, nn_image *out, char *err,
                   size_t err_len)
{
    (void)name;
    memset(out, 0, sizeof *out);
    if (read_signature(fp, err, err_len) != 0)
        return -1;
    return decode(fp, out, err, err_len);
}

int nn_png_read(const char *path, nn_image *out, char *err, size_t err_len)
{
    FILE *fp;
    int rc, saved_errno;

    memset(out, 0, sizeof *out);
    fp = fopen(path, "rb");
    if (fp == NULL) {
        set_err(err, err_len, "cannot open: %s", strerror(errno));
        return -1;
    }
    rc = nn_png_read_fp(fp, path, out, err, err_len);
    saved_errno = errno;
    fclose(fp);
    errno = saved_errno;
    return rc;
}

static int image_is_valid(const nn_image *img)
{
    return img != NULL && img->data != NULL && img->width > 0
           && img->height > 0 && (img->channels == 1 || img->channels == 3)
           && (int64_t)img->width * img->height <= NN_IMAGE_MAX_PIXELS;
}

int nn_png_write_fp(FILE *fp, const nn_image *img, char *err,
                    size_t err_len)
{
    struct png_stream stream = { fp, err, err_len };
    png_structp png;
    png_infop info;
    size_t row_bytes;
    int y;

    if (!image_is_valid(img)) {
        set_err(err, err_len, "invalid image");
        return -1;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &stream,
                                  on_png_error, on_png_warning);
    if (png == NULL) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        set_err(err, err_len, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }

    png_set_write_fn(png, &stream, write_stream, flush_stream);
    png_set_IHDR(png, info, (png_uint_32)img->width,
                 (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY
                                    : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    row_bytes = (size_t)img->width * img->channels;
    for (y = 0; y < img->height; y++)
        png_write_row(png, img->data + y * row_bytes);
    png_write_end(png, NULL);
    flush_stream(png);

    png_destroy_write_struct(&png, &info);
    return 0;
}

/*
 * Create "path.tmp-XXXXXX" with O_EXCL, so an existing file is never
 * reused, and mode 0666 so that the umask applies as for any new file
 * (mkstemp() would force 0600).  The suffix mixes the time, the process
 * id and the buffer address, and a clash only costs another attempt.
 * Returns the descriptor, or -1 with errno set.
 */
static int create_temp(const char *path, char *tmp_path, size_t tmp_len)
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct timespec now;
    char suffix[7];
    uint64_t bits;
    int attempt, i, fd;

    for (attempt = 0; attempt < TEMP_NAME_ATTEMPTS; attempt++) {
        clock_gettime(CLOCK_REALTIME, &now);
        bits = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 30)
               ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)tmp_path
               ^ ((uint64_t)attempt * 0x9e3779b97f4a7c15u);
        /* One splitmix64 step, so that nearby inputs give unlike names. */
        bits = (bits ^ (bits >> 30)) * 0xbf58476d1ce4e5b9u;
        bits = (bits ^ (bits >> 27)) * 0x94d049bb133111ebu;
        bits ^= bits >> 31;

        for (i = 0; i < 6; i++) {
            suffix[i] = digits[bits % 62];
            bits /= 62;
        }
        suffix[6] = '\0';
        snprintf(tmp_path, tmp_len, "%s.tmp-%s", path, suffix);
        fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/*
 * Write to a device or FIFO (/dev/null, /dev/stdout) directly: renaming a
 * temporary over it would replace the device node.
 */
static int write_in_place(const char *path, const nn_image *img, char *err,
                          size_t err_len)
{
    FILE *fp = fopen(path, "wb");
    int rc, saved_errno;

    if (fp == NULL) {
        set_err(err, err_len, "cannot open: %s", strerror(errno));
        return -1;
    }
    rc = nn_png_write_fp(fp, img, err, err_len);
    saved_errno = errno;
    if (fclose(fp) != 0 && rc == 0) {
        set_err(err, err_len, "write error: %s", strerror(errno));
        return -1;
    }
    errno = saved_errno;
    return rc;
}

int nn_png_write(const char *path, const nn_image *img, char *err,
                 size_t err_len)
{
    size_t tmp_len = strlen(path) + sizeof ".tmp-XXXXXX";
    char *tmp_path;
    struct stat st;
    FILE *fp;
    int fd, saved_errno;

    if (!image_is_valid(img)) {
        set_err(err, err_len, "invalid image");
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return write_in_place(path, img, err, err_len);
    tmp_path = malloc(tmp_len);
    if (tmp_path == NULL) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    fd = create_temp(path, tmp_path, tmp_len);
    if (fd < 0) {
        set_err(err, err_len, "cannot create temporary file: %s",
                strerror(errno));
        free(tmp_path);
        return -1;
    }
    nn_err_cleanup_path(tmp_path);      /* removed if the program dies */
    fp = fdopen(fd, "wb");
    if (fp == NULL) {
        set_err(err, err_len, "cannot open temporary file: %s",
                strerror(errno));
        close(fd);
        goto fail;
    }

    if (nn_png_write_fp(fp, img, err, err_len) != 0) {
        saved_errno = errno;
        fclose(fp);
        errno = saved_errno;
        goto fail;
    }
    if (fclose(fp) != 0) {
        set_err(err, err_len, "write error: %s", strerror(errno));
        goto fail;
    }
    if (rename(tmp_path, path) != 0) {
        set_err(err, err_len, "cannot rename temporary file: %s",
                strerror(errno));
        goto fail;
    }
    nn_err_forget(tmp_path);
    free(tmp_path);
    return 0;

fail:
    saved_errno = errno;
    unlink(tmp_path);
    nn_err_forget(tmp_path);
    free(tmp_path);
    errno = saved_errno;
    return -1;
}
