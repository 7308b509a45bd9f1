/* Timestamped stderr logging with three levels. */
#include "nn_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static nn_log_level threshold = NN_LOG_INFO;

void nn_log_set_level(nn_log_level level)
{
    threshold = level;
}

nn_log_level nn_log_get_level(void)
{
    return threshold;
}

void nn_log_timestamp(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void vlog(nn_log_level level, const char *name, const char *fmt,
                 va_list ap)
{
    char stamp[32];

    if (level < threshold)
        return;
    nn_log_timestamp(stamp, sizeof stamp);
    /* One fprintf per piece would interleave with other stages. */
    char line[4096];
    int n = snprintf(line, sizeof line, "%s %s %s: ", stamp,
                     nn_err_program(), name);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

#define DEFINE_LOG(fn, level, name)             \
    void fn(const char *fmt, ...)               \
    {                                           \
        va_list ap;                             \
        va_start(ap, fmt);                      \
        vlog(level, name, fmt, ap);             \
        va_end(ap);                             \
    }

DEFINE_LOG(nn_log_debug, NN_LOG_DEBUG, "debug")
DEFINE_LOG(nn_log_info, NN_LOG_INFO, "info")
DEFINE_LOG(nn_log_warn, NN_LOG_WARN, "warn")
