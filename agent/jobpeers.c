// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A job's slots as its containers see one another (jobpeers.h). A slot keeps
 * the name it first ran under (its processes have it: mpirun's node list,
 * orted's) and its address wherever it is restored; only its node changes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "io.h"
#include "jobnetreg.h"
#include "jobpeers.h"
#include "log.h"

#define HOSTS_MARK   "# slurm-cr job container"
#define MAX_HOSTS_SZ (1 << 20)
#define MAX_PEERS    4096

uint32_t jobpeers_slot_addr(const struct cr_conf *conf, uint32_t block, uint32_t slot)
{
	uint32_t b = block + slot / JNR_SLOTS;

	return conf->job_net + b * JNR_BLOCK + 1 + slot % JNR_SLOTS;
}

int jobpeers_fresh(const struct cr_conf *conf, uint32_t block, const char *nodelist,
		   struct job_peer **out, size_t *n)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	int count = hl ? slurm_hostlist_count(hl) : 0;
	struct job_peer *p = count > 0 && count <= MAX_PEERS ? calloc(count, sizeof(*p)) : NULL;
	char *h;

	*n = 0;
	while (p && (h = slurm_hostlist_shift(hl)) && *n < (size_t)count) {
		snprintf(p[*n].name, sizeof(p[*n].name), "%s", h);
		snprintf(p[*n].node, sizeof(p[*n].node), "%s", h);
		p[*n].addr = jobpeers_slot_addr(conf, block, (uint32_t)*n);
		(*n)++;
		free(h);
	}
	if (hl)
		slurm_hostlist_destroy(hl);
	*out = p;
	return p ? 0 : -EINVAL;
}

json_t *jobpeers_json(const struct job_peer *p, size_t n)
{
	json_t *a = json_array();
	char s[INET_ADDRSTRLEN];

	for (size_t i = 0; a && i < n; i++) {
		inet_ntop(AF_INET, &(uint32_t){htonl(p[i].addr)}, s, sizeof(s));
		json_array_append_new(a, json_pack("[s, s, s]", p[i].name, p[i].node, s));
	}
	return a;
}

int jobpeers_from_json(json_t *a, struct job_peer **out, size_t *n)
{
	size_t count = json_array_size(a);
	struct job_peer *p = count && count <= MAX_PEERS ? calloc(count, sizeof(*p)) : NULL;
	const char *name, *node, *addr;
	struct in_addr in;

	*out = NULL;
	*n = 0;
	if (!p)
		return count ? -ENOMEM : -EBADMSG;
	for (size_t i = 0; i < count; i++) {
		if (json_unpack(json_array_get(a, i), "[s, s, s]", &name, &node, &addr) ||
		    strlen(name) >= sizeof(p[i].name) || strlen(node) >= sizeof(p[i].node) ||
		    strpbrk(name, " \t\n#") || inet_pton(AF_INET, addr, &in) != 1) {
			free(p);
			return -EBADMSG;
		}
		snprintf(p[i].name, sizeof(p[i].name), "%s", name);
		snprintf(p[i].node, sizeof(p[i].node), "%s", node);
		p[i].addr = ntohl(in.s_addr);
	}
	*out = p;
	*n = count;
	return 0;
}

static int _read_small(int fd, char **out)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_HOSTS_SZ)
		return -EFBIG;
	*out = malloc(st.st_size + 1);
	if (!*out)
		return -ENOMEM;
	n = pread(fd, *out, st.st_size, 0);
	if (n < 0)
		return -errno;
	(*out)[n] = '\0';
	return 0;
}

static void _hosts_line(FILE *f, const struct job_peer *p)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &(uint32_t){htonl(p->addr)}, a, sizeof(a));
	fprintf(f, "%s\t%s\t%s\n", a, p->name, HOSTS_MARK);
}

/* Our lines (self first), then @old's but ours, into @to (from its start). */
static int _hosts_write(const char *old, int to, const struct job_peer *p, size_t n, size_t self)
{
	char *copy = strdup(old ? old : ""), *rest, *line, *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int ret = 0;

	if (!f || !copy) {
		if (f)
			fclose(f);
		free(copy);
		free(out);
		return -ENOMEM;
	}
	_hosts_line(f, &p[self]);
	for (size_t i = 0; i < n; i++)
		if (i != self)
			_hosts_line(f, &p[i]);
	for (rest = copy; (line = strsep(&rest, "\n"));)
		if (*line && !strstr(line, HOSTS_MARK))
			fprintf(f, "%s\n", line);
	fclose(f);
	if (ftruncate(to, 0) < 0)
		ret = -errno;
	else
		ret = io_write_all(to, out, outlen, 0);
	free(copy);
	free(out);
	return ret;
}

int jobpeers_hosts_fd(int fd, const struct job_peer *p, size_t n, size_t self)
{
	char *old = NULL;
	int ret = self < n ? _read_small(fd, &old) : -EINVAL;

	if (!ret)
		ret = _hosts_write(old, fd, p, n, self);
	if (ret)
		log_warnx("job container: its hosts file: %s", strerror(-ret));
	free(old);
	return ret;
}

int jobpeers_hosts(const char *from, const char *to, const struct job_peer *p, size_t n,
		   size_t self)
{
	char *old = NULL;
	int fd, ret;

	if (self >= n)
		return -EINVAL;
	fd = open(from, O_RDONLY | O_CLOEXEC);
	/* a node without /etc/hosts: the container's has our lines only */
	ret = fd < 0 ? (errno == ENOENT ? 0 : -errno) : _read_small(fd, &old);
	if (fd >= 0)
		close(fd);
	fd = ret ? -1 : open(to, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (!ret)
		ret = fd < 0 ? -errno : _hosts_write(old, fd, p, n, self);
	if (ret)
		log_warnx("job container: hosts file %s: %s", to, strerror(-ret));
	if (fd >= 0)
		close(fd);
	free(old);
	return ret;
}
