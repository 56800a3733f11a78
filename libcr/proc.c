// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading /proc: stat, status, children, threads, links. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "proc: "
#include "log.h"
#include "internal.h"

char *proc_read_file(const char *fmt, ...)
{
	char path[256];
	size_t cap = 4096, len = 0;
	char *buf;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		len += n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	close(fd);
	return buf;
}

int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char *buf = proc_read_file("/proc/%d/stat", pid);
	unsigned long long v[53];
	char *p, *tok, *save = NULL;
	int i = 4;

	if (!buf) {
		if (errno != ENOENT && errno != ESRCH)
			pr_perror("Can't read /proc/%d/stat", pid);
		return -ESRCH; /* the caller knows whether a vanished task is an error */
	}
	/* comm may hold spaces and parentheses: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ') {
		free(buf);
		return -EINVAL;
	}
	memset(v, 0, sizeof(v));
	st->state = p[2];
	for (tok = strtok_r(p + 4, " ", &save); tok && i < 53; tok = strtok_r(NULL, " ", &save))
		v[i++] = strtoull(tok, NULL, 10);
	free(buf);
	/* field numbers as in proc(5), 1-based */
	st->ppid = v[4];
	st->pgid = v[5];
	st->sid = v[6];
	st->flags = v[9];
	st->start_code = v[26];
	st->end_code = v[27];
	st->start_stack = v[28];
	st->start_data = v[45];
	st->end_data = v[46];
	st->start_brk = v[47];
	st->arg_start = v[48];
	st->arg_end = v[49];
	st->env_start = v[50];
	st->env_end = v[51];
	st->exit_code = (int)v[52];
	st->exit_signal = (int)v[38];
	return 0;
}

int proc_status_field(const char *status, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;

			while (*v == ' ' || *v == '\t')
				v++;
			e = strchr(v, '\n');
			if (!e)
				e = v + strlen(v);
			if ((size_t)(e - v) >= outlen)
				return -E2BIG;
			memcpy(out, v, e - v);
			out[e - v] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

static int pids_append(pid_t **pids, size_t *n, pid_t pid)
{
	pid_t *np = realloc(*pids, (*n + 1) * sizeof(pid_t));

	if (!np)
		return -ENOMEM;
	np[(*n)++] = pid;
	*pids = np;
	return 0;
}

int proc_threads(pid_t pid, pid_t **tids, size_t *ntids)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	*tids = NULL;
	*ntids = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && !ret) {
		if (de->d_name[0] == '.')
			continue;
		ret = pids_append(tids, ntids, atoi(de->d_name));
	}
	closedir(d);
	if (ret) {
		free(*tids);
		*tids = NULL;
		*ntids = 0;
	}
	return ret;
}

int proc_children(pid_t pid, pid_t **pids, size_t *npids)
{
	pid_t *tids;
	size_t ntids, i;
	int ret;

	ret = proc_threads(pid, &tids, &ntids);
	if (ret)
		return ret;
	for (i = 0; i < ntids && !ret; i++) {
		char *buf = proc_read_file("/proc/%d/task/%d/children", pid, tids[i]);
		char *tok, *save = NULL;

		if (!buf)
			continue; /* the thread exited */
		for (tok = strtok_r(buf, " \n", &save); tok && !ret;
		     tok = strtok_r(NULL, " \n", &save))
			ret = pids_append(pids, npids, atoi(tok));
		free(buf);
	}
	free(tids);
	return ret;
}

int proc_readlink(char *buf, size_t len, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}
