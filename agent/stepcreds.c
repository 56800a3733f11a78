// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the batch step's task (the relay) runs with, as the kernel says it:
 * credentials, umask, CPUs and resource limits, packed into the init's SPAWN
 * so that the script gets what it would get without a container.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "stepcreds.h"

static int _limit_value(const char *s, uint64_t *v)
{
	char *end;

	if (!strncmp(s, "unlimited", 9)) {
		*v = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s ? -1 : 0;
}

/*
 * The relay's resource limits. Not with prlimit(2): without CAP_SYS_RESOURCE
 * root cannot read another user's. /proc/PID/limits lists them in RLIMIT_*
 * order, soft limit at column 26, hard limit at column 47.
 */
static int _pack_limits(uint32_t jobid, struct cr_buf *b, pid_t pid)
{
	uint64_t cur[RLIMIT_NLIMITS], max[RLIMIT_NLIMITS];
	char path[64], line[256];
	uint32_t n = 0;
	int header;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* A header line, then one line per limit; no header leaves n at 0, an error. */
	header = fgets(line, sizeof(line), f) != NULL;
	while (header && n < RLIMIT_NLIMITS && fgets(line, sizeof(line), f)) {
		if (strlen(line) < 48 || _limit_value(line + 26, &cur[n]) ||
		    _limit_value(line + 47, &max[n]))
			break;
		n++;
	}
	fclose(f);
	if (n != RLIMIT_NLIMITS) {
		log_warnx("job %u: cannot read %s", jobid, path);
		return -EIO;
	}
	cr_pack_u32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		cr_pack_u32(b, i);
		cr_pack_u64(b, cur[i]);
		cr_pack_u64(b, max[i]);
	}
	return 0;
}

int stepcreds_pack(uint32_t jobid, uid_t job_uid, pid_t pid, struct cr_buf *b)
{
	char path[64], line[4096];
	uint32_t uid = -1, gid = -1, um = 022;
	gid_t groups[1024];
	int ng = 0, r;
	cpu_set_t cpus;
	FILE *f;
	char *p, *end;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid:\t%*u\t%u", &uid) == 1 ||
		    sscanf(line, "Gid:\t%*u\t%u", &gid) == 1 ||
		    sscanf(line, "Umask:\t%o", &um) == 1)
			continue;
		if (!strncmp(line, "Groups:", 7)) {
			for (p = line + 7; ng < 1024; p = end) {
				unsigned long g = strtoul(p, &end, 10);
				if (end == p)
					break;
				groups[ng++] = g;
			}
		}
	}
	fclose(f);
	if (uid != job_uid) {
		log_warnx("job %u: relay %d runs as uid %u, the job as %u", jobid, pid, uid,
			  job_uid);
		return -EPERM;
	}
	cr_pack_u32(b, uid);
	cr_pack_u32(b, gid);
	cr_pack_u32(b, um);
	cr_pack_bytes(b, groups, ng * sizeof(gid_t));
	CPU_ZERO(&cpus);
	r = sched_getaffinity(pid, sizeof(cpus), &cpus);
	cr_pack_bytes(b, &cpus, r < 0 ? 0 : sizeof(cpus));
	return _pack_limits(jobid, b, pid);
}
