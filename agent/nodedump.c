// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A node's part of a checkpoint's DUMP: the held tree's image, the
 * container's /tmp and /dev/shm, the job's output (batch host), each digested
 * as written into the slot's digests.json, written as the job's user into the
 * checkpoint's temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>

#include "digest.h"
#include "errmsg.h"
#include "glue.h"
#include "log.h"
#include "nodedump.h"
#include "nodejob.h"
#include "output.h"
#include "store.h"
#include "tmparchive.h"
#include "topo.h"
#include "userfs.h"

/* CLOCK_MONOTONIC and CLOCK_BOOTTIME as the task sees them (its time namespace). */
static int _task_clocks(pid_t pid, json_t *out)
{
	char path[64], name[32];
	long long sec, nsec, off[2] = {0, 0};
	struct timespec ts;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
		if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			off[0] = sec * 1000000000LL + nsec;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			off[1] = sec * 1000000000LL + nsec;
	}
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	json_object_set_new(out, "monotonic",
			    json_integer(ts.tv_sec * 1000000000LL + ts.tv_nsec + off[0]));
	clock_gettime(CLOCK_BOOTTIME, &ts);
	json_object_set_new(out, "boottime",
			    json_integer(ts.tv_sec * 1000000000LL + ts.tv_nsec + off[1]));
	return 0;
}

/* An fd the relay holds (the job's stdout or stderr), as O_PATH: reopened as the user. */
int node_relay_fd(pid_t relay, int n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", relay, n);
	return open(path, O_PATH | O_CLOEXEC);
}

int node_reopen(int pathfd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd);
	return open(path, flags | O_CLOEXEC);
}

static int _archive_into(int nodefd, const char *name, int srcdir, struct cr_digests *list,
			 json_t *rep, char *err, size_t errlen)
{
	uint64_t n = 0, skipped = 0;
	int out, ret;

	out = openat(nodefd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", name, strerror(errno));
		return ret;
	}
	ret = archive_save_digested(srcdir, out, name, list, &n, &skipped, err, errlen);
	close(out);
	if (!ret && skipped)
		log_info("%s: %llu sockets not saved", name, (unsigned long long)skipped);
	if (!ret)
		json_object_set_new(rep, name, json_integer(n));
	return ret;
}

/* Copy what the job wrote to stdout (and stderr, when another file) into the checkpoint. */
static int _save_output(int nodefd, int pathfd[2], struct cr_digests *list, json_t *rep, char *err,
			size_t errlen)
{
	static const char *const names[2] = {"stdout", "stderr"};
	struct stat st[2];
	char path[64], target[PATH_MAX];
	uint64_t len;
	ssize_t n;
	int fd, ret;

	for (int i = 0; i < 2; i++) {
		if (pathfd[i] < 0 || fstat(pathfd[i], &st[i]) < 0 || !S_ISREG(st[i].st_mode))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd[i]);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		if (i == 1 && pathfd[0] >= 0 && st[0].st_dev == st[1].st_dev &&
		    st[0].st_ino == st[1].st_ino) {
			json_object_set_new(
				rep, "stderr",
				json_pack("{s:s, s:s}", "same", "stdout", "path", target));
			continue;
		}
		fd = node_reopen(pathfd[i], O_RDONLY);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot read the job's %s (%.500s): %s", names[i],
				 target, strerror(errno));
			return ret;
		}
		ret = store_output_save(nodefd, names[i], fd, list, &len, err, errlen);
		close(fd);
		if (ret)
			return ret;
		json_object_set_new(
			rep, names[i],
			json_pack("{s:I, s:s}", "len", (json_int_t)len, "path", target));
	}
	return 0;
}

/* The container's /tmp and /dev/shm (through its init), as root. */
static int _open_tmpfs(struct node_job *j, int dfd[2], char *err, size_t errlen)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/root/tmp", j->init);
	dfd[0] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", j->init);
	dfd[1] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd[0] >= 0 && dfd[1] >= 0)
		return 0;
	ret = -errno;
	snprintf(err, errlen, "cannot open the container's /tmp and /dev/shm: %s", strerror(-ret));
	return ret;
}

/*
 * As the job's user: the image, the tmpfs archives, the output into nodefd;
 * the digests of what was written (digests.h) into digests.json and rep.
 */
static int _dump_into(const struct crd_ctx *ctx, struct node_job *j, struct cr_frozen *frozen,
		      int nodefd, const int dfd[2], int outfd[2], json_t *rep, char *err,
		      size_t errlen)
{
	struct cr_digests files = {0};
	struct node_digests d = {.files = &files};
	json_t *entry = NULL;
	char path[64];
	uint64_t bytes = 0;
	int logfd, ret = 0;

	if (frozen) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/image", nodefd);
		logfd = libcr_log_begin();
		ret = cr_dump_ex(frozen, path, &d.image);
		libcr_log_end(logfd, err, errlen);
		if (ret && !*err)
			snprintf(err, errlen, "dump failed: %s", strerror(-ret));
		if (ret)
			return ret;
	}
	fault_point(ctx, "dump");
	ret = _archive_into(nodefd, "tmp.tar", dfd[0], &files, rep, err, errlen);
	if (!ret)
		ret = _archive_into(nodefd, "shm.tar", dfd[1], &files, rep, err, errlen);
	if (!ret && j->batch)
		ret = _save_output(nodefd, outfd, &files, rep, err, errlen);
	if (!ret)
		ret = digests_write(nodefd, &d, &entry, &bytes, err, errlen);
	if (!ret)
		ret = store_sync_tree(nodefd, err, errlen);
	if (!ret) {
		json_object_set_new(rep, "files", entry);
		json_object_set_new(rep, "bytes", json_integer(bytes));
		entry = NULL;
	}
	json_decref(entry);
	cr_digests_free(d.image);
	d.files = NULL;
	for (size_t i = 0; i < files.nfiles; i++)
		free(files.files[i].chunk);
	free(files.files);
	return ret;
}

void node_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int node_dump(const struct crd_ctx *ctx, struct node_job *j, struct cr_frozen *frozen, json_t *args,
	      json_t *rep, char *err, size_t errlen)
{
	const char *ckdir = json_string_value(json_object_get(args, "ckdir"));
	const char *tmp = json_string_value(json_object_get(args, "tmp"));
	int dfd[2] = {-1, -1}, outfd[2] = {-1, -1}, jobfd = -1, nodefd = -1, ret;
	struct job_user u;
	json_t *clocks;
	char path[PATH_MAX];

	if (!ckdir || !tmp || strchr(tmp, '/') || strncmp(tmp, ".tmp-", 5))
		return err_set(err, errlen, -EPROTO, "bad DUMP arguments");
	/* As root: the container's tmpfs, through its init, and the relay's stdio. */
	ret = _open_tmpfs(j, dfd, err, errlen);
	if (ret)
		goto out;
	if (j->batch && j->relay > 0) {
		outfd[0] = node_relay_fd(j->relay, 1);
		outfd[1] = node_relay_fd(j->relay, 2);
	}
	clocks = json_object();
	if (frozen && _task_clocks(j->script, clocks) < 0)
		log_warn("job %u: cannot read the clocks of pid %d", j->jobid, j->script);
	json_object_set_new(rep, "clocks", clocks);
	/* the node's topology, the tasks' bindings: what a restore maps (topo.h) */
	json_object_set_new(rep, "topology", topo_slot(j->init, frozen ? j->script : 0));
	ret = user_lookup(j->uid, j->gid, &u, err, errlen);
	if (!ret)
		ret = user_fs_enter(&u, err, errlen);
	if (!ret)
		ret = jobfd = store_job_open(ckdir, j->jobid, 0, err, errlen);
	snprintf(path, sizeof(path), "%s/node-%u", tmp, j->slot);
	if (ret >= 0)
		ret = nodefd = store_open_dir(jobfd, path, 1, err, errlen);
	if (ret >= 0)
		ret = _dump_into(ctx, j, frozen, nodefd, dfd, outfd, rep, err, errlen);
	user_fs_leave();
out:
	node_close_fds(outfd, 2);
	node_close_fds(dfd, 2);
	if (nodefd >= 0)
		close(nodefd);
	if (jobfd >= 0)
		close(jobfd);
	return ret;
}
