/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint a tree and run a command while it is still held, as crd does
 * when it archives a job container's /tmp and /dev/shm:
 *
 *	ckpt-hold [--net-lock] [--kill] PID DIR CMD [ARG...]
 *
 * cr_freeze(PID) (locking its net namespace with --net-lock), cr_dump into
 * DIR, run CMD (e.g. a copy of the files the tree maps and the image only
 * names: they must be saved in the state the image has them), then
 * cr_release: the tree runs on, or is killed with --kill. Exit 0 if all
 * went well, 1 if a step failed (the tree runs on unless --kill), 2 on a
 * usage error.
 */
#include <cr.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(char **argv)
{
	int st;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		execvp(argv[0], argv);
		perror("ckpt-hold: exec");
		_exit(127);
	}
	if (waitpid(p, &st, 0) != p)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	struct cr_freeze_opts fo = {0};
	struct cr_frozen *f;
	bool kill = false;
	int i = 1, ret, rc;
	pid_t pid;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--net-lock"))
			fo.net_lock = true;
		else if (!strcmp(argv[i], "--kill"))
			kill = true;
		else
			break;
	}
	if (argc - i < 3 || (pid = atoi(argv[i])) <= 0) {
		fprintf(stderr, "usage: ckpt-hold [--net-lock] [--kill] PID DIR CMD [ARG...]\n");
		return 2;
	}
	cr_log_setup(2, CR_LOG_WARN);
	ret = cr_freeze(pid, &fo, &f);
	if (ret) {
		fprintf(stderr, "ckpt-hold: freezing %d: %s\n", pid, strerror(-ret));
		return 1;
	}
	ret = cr_dump(f, argv[i + 1]);
	if (ret) {
		fprintf(stderr, "ckpt-hold: dumping %d into %s: %s\n", pid, argv[i + 1],
			strerror(-ret));
		cr_release(f, kill ? CR_KILL : CR_RESUME);
		return 1;
	}
	rc = run(&argv[i + 2]);
	if (rc)
		fprintf(stderr, "ckpt-hold: %s exited %d\n", argv[i + 2], rc);
	ret = cr_release(f, kill ? CR_KILL : CR_RESUME);
	if (ret)
		fprintf(stderr, "ckpt-hold: releasing %d: %s\n", pid, strerror(-ret));
	return rc || ret ? 1 : 0;
}
