/*
 * PNG files to and from nn_image through libpng.  Reading accepts every
 * colour type, bit depth and interlace mode and yields 8-bit gray or RGB.
 * Writing produces 8-bit gray or RGB, non-interlaced.  Alpha and
 * transparency are dropped, never composited, and gamma and colour
 * profiles are ignored, so samples keep their stored values.
 */
#ifndef NN_PNG_H
#define NN_PNG_H

#include <stddef.h>
#include <stdio.h>

#include "nn_image.h"

/*
 * Error reporting, common to all four functions: they return 0 on
 * success, or -1 with a short lowercase reason in err.  The reason is cut
 * to err_len bytes including the NUL, and err may be NULL when err_len
 * is 0.  It never contains the path, so a tool can write
 * "nn-load: 'x.png': not a PNG file".  Typical reasons:
 *   "not a PNG file", "truncated PNG data", "bad CRC in chunk IDAT",
 *   "image too large: 100000x100000 pixels", "cannot open: <strerror>",
 *   "read error: <strerror>", "write error: <strerror>"
 * Other failures inside libpng give its own message with the first letter
 * lowercased and any chunk name moved to the end, as in
 * "incorrect data check in chunk IDAT".  When a system call failed, errno
 * is left as that call set it.
 */

/*
 * Decode the PNG file at path into *out, which the caller frees with
 * nn_image_free.  Conversions to 8-bit samples:
 *   gray (1, 2, 4, 8, 16 bit)          -> 1 channel, scaled to 0..255
 *   gray + alpha                       -> 1 channel, alpha dropped
 *   RGB (8, 16 bit)                    -> 3 channels
 *   RGB + alpha                        -> 3 channels, alpha dropped
 *   palette (1, 2, 4, 8 bit)           -> 3 channels, tRNS ignored
 * 16-bit samples are scaled with rounding (v * 255 / 65535), not
 * truncated to their high byte.  Adam7 images are de-interlaced.  A header
 * with width * height > NN_IMAGE_MAX_PIXELS, or wider than 2^20 pixels, is
 * rejected before any pixel memory is allocated.  On failure *out is
 * zeroed.
 */
int nn_png_read(const char *path, nn_image *out, char *err, size_t err_len);

/*
 * As nn_png_read, from an open stream positioned at a PNG signature.  On
 * success the stream is left just past the IEND chunk, so several PNGs
 * can be read one after the other from a pipe.  On failure its position
 * is undefined.  fp is not closed.
 * NOTE: name is not used yet.  The reason in err never contains it, and
 * callers name the stream in their own message.
 */
int nn_png_read_fp(FILE *fp, const char *name, nn_image *out, char *err,
                   size_t err_len);

/*
 * Encode img (channels 1 or 3) as a PNG file at path.  The data goes to a
 * new file "path.tmp-XXXXXX" in the same folder, created with mode 0666
 * less the umask.  Once complete it is renamed to path, so other processes
 * see the whole old file or the whole new one, never part of one.  On
 * failure the temporary file is removed and path is untouched.  An
 * existing path that is a device or a FIFO, such as /dev/null, is
 * written in place instead.
 * NOTE: the file is not fsync()ed, so a system crash right after the
 * rename can still leave it empty on some file systems.
 */
int nn_png_write(const char *path, const nn_image *img, char *err,
                 size_t err_len);

/*
 * Encode img as PNG to an open stream.  The stream is flushed but not
 * closed.  On failure an unknown amount of the PNG may have been written.
 */
int nn_png_write_fp(FILE *fp, const nn_image *img, char *err,
                    size_t err_len);

#endif
