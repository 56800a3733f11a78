/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A message for the caller's err buffer, and the error to return with it. */
#ifndef CR_ERRMSG_H
#define CR_ERRMSG_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static inline int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static inline int err_sys(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* As err_set, with ": <strerror(-ret)>" appended. */
static inline int err_sys(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		n = strlen(err);
		snprintf(err + n, errlen - n, ": %s", strerror(-ret));
	}
	return ret;
}

#endif
