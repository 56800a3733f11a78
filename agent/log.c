// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	int fd;
	int verbose;
	char proc[32];
} lg = {2, 0, "crd"};

int log_init(const char *procname, const char *file, int verbose)
{
	int fd;

	lg.verbose = verbose;
	log_setproc(procname);
	if (file && *file) {
		fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
		lg.fd = fd;
	}
	return 0;
}

int log_getfd(void)
{
	return lg.fd;
}

void log_setproc(const char *procname)
{
	snprintf(lg.proc, sizeof(lg.proc), "%s", procname);
}

static void _vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char buf[2048], ts[32];
	struct timeval tv;
	struct tm tm;
	int n, m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "%s.%03ld %s[%d]: %s", ts, (long)tv.tv_usec / 1000, lg.proc,
		     getpid(), level);
	m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (suffix)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", suffix);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(lg.fd, buf, n) < 0)
		return;
}

#define LOGFN(name, level, cond, witherr)                                                          \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		if (!(cond))                                                                       \
			return;                                                                    \
		va_start(ap, fmt);                                                                 \
		_vlog(level, fmt, ap, (witherr) ? strerror(saved) : NULL);                         \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOGFN(log_warn, "error: ", 1, 1)
LOGFN(log_warnx, "error: ", 1, 0)
LOGFN(log_info, "", 1, 0)
LOGFN(log_debug, "debug: ", lg.verbose, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	_vlog("fatal: ", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_vlog("fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
