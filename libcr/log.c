// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The one piece of library-wide state: where messages go, set by the caller. */
static struct {
	int fd;
	enum cr_log_level level;
} cr_log = {2, CR_LOG_WARN};

void cr_log_setup(int fd, enum cr_log_level level)
{
	cr_log.fd = fd;
	cr_log.level = level;
}

int cr_log_enabled(enum cr_log_level level)
{
	return level <= cr_log.level;
}

static void log_vprint(const char *fmt, va_list ap, const char *suffix)
{
	char buf[1024];
	int n, m;

	n = snprintf(buf, sizeof(buf), "(%d) ", getpid());
	m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (suffix)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s\n", suffix);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(cr_log.fd, buf, n) < 0)
		return;
}

void cr_log_print(enum cr_log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (level > cr_log.level)
		return;
	va_start(ap, fmt);
	log_vprint(fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void cr_log_perror(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vprint(fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}
