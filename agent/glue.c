// SPDX-License-Identifier: LGPL-2.1-or-later
/* libcr glue and fault points, for the node's part (node.c), the container's init and the
 * coordinator. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cr.h>

#include "glue.h"
#include "log.h"

/* libcr logs to a memfd while it works, so its first error can be sent back. */
int libcr_log_begin(void)
{
	int fd = memfd_create("libcr-log", MFD_CLOEXEC);

	cr_log_setup(fd >= 0 ? fd : log_getfd(), CR_LOG_WARN);
	return fd;
}

void libcr_log_end(int fd, char *err, size_t errlen)
{
	char buf[8192], *line, *first = NULL, *save;
	ssize_t n;

	cr_log_setup(log_getfd(), CR_LOG_WARN);
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		log_warnx("libcr: %s", line);
		if (!first)
			first = line;
	}
	/* The first error is the cause; what follows reports the unwinding. */
	if (first && err && !*err)
		snprintf(err, errlen, "%s", first);
}

/*
 * CR_FAULT=STEP[@NODE][+SECS], when it names step (and node, when both say
 * one): the "+SECS" part or "" (1); 0 when it does not.
 */
static int _fault_match(const char *node, const char *step, const char **secs)
{
	const char *f = getenv("CR_FAULT"), *at, *plus;
	size_t n, nn;

	if (!f)
		return 0;
	plus = strchr(f, '+');
	at = strchr(f, '@');
	if (at && plus && at > plus)
		at = NULL;
	n = at ? (size_t)(at - f) : plus ? (size_t)(plus - f) : strlen(f);
	nn = at ? (plus ? (size_t)(plus - at - 1) : strlen(at + 1)) : 0;
	if (n != strlen(step) || strncmp(f, step, n) ||
	    (at && node && (nn != strlen(node) || strncmp(at + 1, node, nn))))
		return 0;
	*secs = plus ? plus : "";
	return 1;
}

/* CR_FAULT=STEP[@NODE][+SECS]: die at STEP, or with +SECS stall there (a hang, a slow node). */
void fault_point_at(const char *node, const char *step)
{
	const char *secs;

	if (!_fault_match(node, step, &secs))
		return;
	if (*secs) {
		log_warnx("CR_FAULT=%s: stalling here", getenv("CR_FAULT"));
		sleep((unsigned)atoi(secs + 1));
		return;
	}
	log_warnx("CR_FAULT=%s: crashing here", getenv("CR_FAULT"));
	kill(getpid(), SIGKILL);
}

int fault_delay(const struct crd_ctx *ctx, const char *step)
{
	const char *secs;

	return _fault_match(ctx->conf.node_name, step, &secs) && *secs ? atoi(secs + 1) : 0;
}

void fault_point(const struct crd_ctx *ctx, const char *step)
{
	fault_point_at(ctx->conf.node_name, step);
}
