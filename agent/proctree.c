// SPDX-License-Identifier: LGPL-2.1-or-later
/* Walking a process tree through /proc (proctree.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proctree.h"

size_t proctree_children(pid_t pid, pid_t tid, pid_t *out, size_t n, size_t max)
{
	char path[64], buf[8192];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return n;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	for (char *p = buf, *e; *p && n < max; p = e) {
		long c = strtol(p, &e, 10);

		if (e == p)
			break;
		out[n++] = (pid_t)c;
	}
	return n;
}
