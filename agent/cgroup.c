// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Cgroup membership: check that a peer is a given job step's task, and put a
 * container process directly into the cgroups (every hierarchy) of another.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "proctree.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Map a /proc/PID/cgroup line's controller field to its mount directory. */
static int _mount_dir(const char *ctrls, char *buf, size_t len)
{
	if (!*ctrls)
		return snprintf(buf, len, CGROUP_ROOT "/unified") >= (int)len ? -1 : 0;
	if (!strncmp(ctrls, "name=", 5))
		ctrls += 5;
	return snprintf(buf, len, CGROUP_ROOT "/%s", ctrls) >= (int)len ? -1 : 0;
}

/* Does path contain the component sequence "/job_<id>/step_<step>"? */
static int _in_step(const char *path, uint32_t jobid, const char *step)
{
	char want[64];
	const char *p;
	size_t n;

	n = snprintf(want, sizeof(want), "/job_%u/step_%s", jobid, step);
	for (p = strstr(path, want); p; p = strstr(p + 1, want))
		if (p[n] == '\0' || p[n] == '/')
			return 1;
	return 0;
}

/* Slurm's cgroup root on this node: /slurm, or /slurm_<node> (several slurmd per host). */
static int _this_node(const char *path, const char *node)
{
	size_t n = strlen(node);

	if (!strncmp(path, "/slurm/", 7))
		return 1;
	return !strncmp(path, "/slurm_", 7) && !strncmp(path + 7, node, n) && path[7 + n] == '/';
}

int cgroup_check_step(pid_t pid, uint32_t jobid, const char *node, const char *step, char *why,
		      size_t len)
{
	char path[64], line[4096], *ctrls, *cg;
	int seen_freezer = 0, ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(why, len, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ctrls = strchr(line, ':');
		if (!ctrls)
			continue;
		ctrls++;
		cg = strchr(ctrls, ':');
		if (!cg)
			continue;
		*cg++ = '\0';
		if (strstr(cg, "/job_") && !_in_step(cg, jobid, step)) {
			snprintf(why, len, "pid %d is in cgroup %s:%s, not job %u step %s", pid,
				 ctrls, cg, jobid, step);
			ret = -EPERM;
			break;
		}
		if (!strcmp(ctrls, "freezer")) {
			seen_freezer = 1;
			if (!_in_step(cg, jobid, step) || !_this_node(cg, node)) {
				snprintf(why, len,
					 "pid %d is in freezer cgroup %s, not job %u step %s", pid,
					 cg, jobid, step);
				ret = -EPERM;
				break;
			}
		}
	}
	fclose(f);
	if (!ret && !seen_freezer) {
		snprintf(why, len, "pid %d has no freezer cgroup (proctrack/cgroup required)", pid);
		ret = -EPERM;
	}
	return ret;
}

static int _write_pid(const char *dir, pid_t pid)
{
	char path[PATH_MAX], buf[32];
	int fd, n, ret = 0;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

int cgroup_move_like(pid_t pid, pid_t ref)
{
	char path[64], line[4096], dir[PATH_MAX], mnt[PATH_MAX], *ctrls, *cg;
	int ret = 0, r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", ref);
	f = fopen(path, "re");
	if (!f) {
		log_warn("cgroup: open %s", path);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ctrls = strchr(line, ':');
		if (!ctrls || !(cg = strchr(++ctrls, ':')))
			continue;
		*cg++ = '\0';
		if (_mount_dir(ctrls, mnt, sizeof(mnt)) ||
		    snprintf(dir, sizeof(dir), "%s%s", mnt, cg) >= (int)sizeof(dir))
			continue;
		r = _write_pid(dir, pid);
		if (!r)
			continue;
		if (!*ctrls || !strncmp(ctrls, "name=", 5)) {
			/* Not Slurm's: the unified and named hierarchies are best effort. */
			log_debug("cgroup: cannot move %d to %s: %s", pid, dir, strerror(-r));
			continue;
		}
		errno = -r;
		log_warn("cgroup: cannot move %d to %s", pid, dir);
		ret = r;
	}
	fclose(f);
	return ret;
}

/*
 * Move pid into the step cgroup at relative path rel (as seen in the freezer
 * hierarchy, e.g. /slurm_n1/uid_0/job_5/step_extern) in every v1 hierarchy
 * that has it; the freezer must succeed.
 */
int cgroup_move_to_step(pid_t pid, const char *rel)
{
	static const char *const ctrls[] = {"freezer", "cpuset",      "memory",
					    "devices", "cpu,cpuacct", "cpu",
					    "cpuacct", "pids",	      "blkio"};
	char dir[PATH_MAX];
	int ret;

	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		if (snprintf(dir, sizeof(dir), CGROUP_ROOT "/%s%s", ctrls[i], rel) >=
		    (int)sizeof(dir))
			return -ENAMETOOLONG;
		ret = _write_pid(dir, pid);
		if (ret && i == 0)
			return ret;
	}
	return 0;
}

/* The children of every thread of pid, appended to stack (at most max in all). */
static size_t _children_of(pid_t pid, pid_t *stack, size_t n, size_t max)
{
	char path[32];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n = proctree_children(pid, (pid_t)strtol(e->d_name, NULL, 10), stack, n,
					      max);
	if (d)
		closedir(d);
	return n;
}

/*
 * Everything the container runs follows its init into the step's cgroups,
 * top-down: a process's children are read after it moved, so a child forked
 * before its parent moved is listed and one forked after is born inside (a
 * command cr-rsh started on this node before the join is moved with its tree).
 */
static void _move_descendants(pid_t init, const char *rel)
{
	size_t n, max = 65536;
	pid_t *stack = calloc(max, sizeof(*stack));

	if (!stack) {
		log_warnx("monitor: out of memory moving the container of %d into %s", init, rel);
		return;
	}
	n = _children_of(init, stack, 0, max);
	while (n) {
		pid_t pid = stack[--n];

		/* One that just ended has no children to list either. */
		if (cgroup_move_to_step(pid, rel) == -ESRCH)
			continue;
		n = _children_of(pid, stack, n, max);
	}
	free(stack);
}

int cgroup_join_extern(const char *node, uint32_t uid, uint32_t jobid, pid_t init)
{
	char path[PATH_MAX + 32], rel[PATH_MAX];
	struct stat st;
	int ret;

	/* This node's Slurm cgroups: slurm_<node> with several slurmd per host. */
	snprintf(rel, sizeof(rel), "/slurm_%s/uid_%u/job_%u/step_extern", node, uid, jobid);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/freezer%s", rel);
	if (stat(path, &st) < 0) {
		snprintf(rel, sizeof(rel), "/slurm/uid_%u/job_%u/step_extern", uid, jobid);
		snprintf(path, sizeof(path), "/sys/fs/cgroup/freezer%s", rel);
		if (stat(path, &st) < 0)
			return -ENOENT;
	}
	ret = cgroup_move_to_step(init, rel);
	if (ret == 0)
		_move_descendants(init, rel);
	return ret;
}

int cgroup_job_alive(const char *node, uint32_t uid, uint32_t jobid)
{
	const char *fz = "/sys/fs/cgroup/freezer";
	char root[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;

	snprintf(root, sizeof(root), "%s/slurm_%s", fz, node);
	if (stat(root, &st) < 0)
		snprintf(root, sizeof(root), "%s/slurm", fz);
	if (stat(root, &st) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/uid_%u/job_%u", root, uid, jobid);
	return stat(path, &st) == 0;
}
