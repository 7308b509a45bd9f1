/*
 * Timestamped logging on stderr:
 *   2026-01-31T12:04:55Z nn-train info: epoch=3 cost=0.41
 * Fatal errors do not go through here; see nn_err.h.
 */
#ifndef NN_LOG_H
#define NN_LOG_H

#include <stddef.h>

#include "nn_err.h"

typedef enum { NN_LOG_DEBUG, NN_LOG_INFO, NN_LOG_WARN, NN_LOG_QUIET } nn_log_level;

/* Lines below level are dropped.  The default is NN_LOG_INFO. */
void nn_log_set_level(nn_log_level level);
nn_log_level nn_log_get_level(void);

void nn_log_debug(const char *fmt, ...) NN_PRINTF(1, 2);
void nn_log_info(const char *fmt, ...) NN_PRINTF(1, 2);
void nn_log_warn(const char *fmt, ...) NN_PRINTF(1, 2);

/* Write the current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (21+ bytes). */
void nn_log_timestamp(char *buf, size_t len);

#endif
