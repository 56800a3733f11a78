// SPDX-License-Identifier: LGPL-2.1-or-later
/* Nonces of node requests, one file each under StateDir (nonces.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "nonces.h"

#define NONCE_MAX 64

/* Remove the entries whose credential has expired: after that munge refuses it anyway. */
static void _sweep(int dfd, time_t now)
{
	struct dirent *d;
	long long exp;
	DIR *dir;
	int fd = dup(dfd);

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (sscanf(d->d_name, "%lld-", &exp) == 1 && exp + NONCE_SKEW_S >= now)
			continue;
		unlinkat(dfd, d->d_name, 0);
	}
	closedir(dir);
}

static int _open_dir(const char *state_dir)
{
	char path[PATH_MAX];
	int dfd;

	if (snprintf(path, sizeof(path), "%s/nonces", state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_warn("nonces: cannot make %s", path);
		return -errno;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		log_warn("nonces: cannot open %s", path);
		return -errno;
	}
	return dfd;
}

int nonce_claim(const char *state_dir, const uint8_t *nonce, size_t len, time_t expires)
{
	char name[32 + 2 * NONCE_MAX];
	int dfd, fd, n, ret = 0;

	if (len == 0 || len > NONCE_MAX)
		return -EINVAL;
	dfd = _open_dir(state_dir);
	if (dfd < 0)
		return dfd;
	_sweep(dfd, time(NULL));
	n = snprintf(name, sizeof(name), "%lld-", (long long)expires);
	for (size_t i = 0; i < len; i++)
		n += snprintf(name + n, sizeof(name) - n, "%02x", nonce[i]);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno == EEXIST ? -EALREADY : -errno;
		if (ret != -EALREADY)
			log_warn("nonces: cannot record %s in %s/nonces", name, state_dir);
	} else {
		close(fd);
	}
	close(dfd);
	return ret;
}
