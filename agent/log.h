/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Daemon logging, OpenBSD style: log_warn adds strerror(errno), log_warnx doesn't. */
#ifndef CR_AGENT_LOG_H
#define CR_AGENT_LOG_H

#include <stdarg.h>

int log_init(const char *procname, const char *file, int verbose);
void log_setproc(const char *procname);
int log_getfd(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
