/*
 * Helpers shared by the libFuzzer targets: the loaders under test read
 * from a path or a file descriptor, so each input is written to one
 * scratch file per process first.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_scratch_path[4096];

static void fuzz_remove_scratch(void)
{
    if (fuzz_scratch_path[0])
        unlink(fuzz_scratch_path);
}

/*
 * Replace the scratch file's contents with data[0..size) and return its
 * path.  The file is created on the first call, in TMPDIR or /tmp, and
 * removed when the process exits normally.
 */
static inline const char *fuzz_scratch_file(const uint8_t *data,
                                            size_t size)
{
    FILE *fp;

    if (!fuzz_scratch_path[0]) {
        const char *dir = getenv("TMPDIR");
        int fd;

        snprintf(fuzz_scratch_path, sizeof fuzz_scratch_path,
                 "%s/nn-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
        fd = mkstemp(fuzz_scratch_path);
        if (fd < 0) {
            perror("fuzz: cannot create a scratch file");
            abort();
        }
        close(fd);
        atexit(fuzz_remove_scratch);
    }
    fp = fopen(fuzz_scratch_path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp)) {
        perror("fuzz: cannot write the scratch file");
        abort();
    }
    return fuzz_scratch_path;
}

/*
 * Read every byte of a buffer the library handed out, so that
 * AddressSanitizer reports a buffer shorter than its stated length.
 */
static inline unsigned fuzz_touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    unsigned sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += b[i];
    return sum;
}

/* Stop with a message that libFuzzer records as a crash. */
#define FUZZ_CHECK(cond)                                                \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond,    \
                    __FILE__, __LINE__);                                \
            abort();                                                    \
        }                                                               \
    } while (0)

#endif
