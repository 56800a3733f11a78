/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging for libcr. Each .c file defines LOG_PREFIX before including this.
 * pr_perror() appends strerror(errno); its format has no "\n", "%m" or errno.
 * Every other pr_*() format ends with "\n".
 */
#ifndef CR_LOG_H
#define CR_LOG_H

#include <errno.h>

#include "cr.h"

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

void cr_log_print(enum cr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cr_log_perror(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cr_log_enabled(enum cr_log_level level);

#define pr_err(fmt, ...)    cr_log_print(CR_LOG_ERROR, "Error: " LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)   cr_log_print(CR_LOG_WARN, "Warn: " LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)   cr_log_print(CR_LOG_INFO, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)  cr_log_print(CR_LOG_DEBUG, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_perror(fmt, ...) cr_log_perror("Error: " LOG_PREFIX fmt, ##__VA_ARGS__)

#endif /* CR_LOG_H */
