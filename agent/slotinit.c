// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The slot root's start (slotinit.h). Its socket is made by the init, root's
 * and 0600 in a root directory, so that only crd (through the container's
 * root) reaches it; the slot root checks its peer is root as well (after a
 * restore the socket is bound again as the user).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errmsg.h"
#include "launch.h"
#include "proto.h"
#include "slotinit.h"
#include "userfs.h"

/* The slot root's process between fork and exec: never returns. */
static void _exec_root(const struct cr_job *ji, const struct job_user *u, const char *agent,
		       int lfd)
{
	char home[PATH_MAX + 8], user[300], cont[64];
	struct passwd *pw = getpwuid(u->uid);
	sigset_t none;
	int null;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	setsid();
	/* What its commands daemonize stays below it: the slot's one tree. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    dup2(lfd, 3) < 0 || fcntl(3, F_SETFD, 0) < 0 || chdir("/") < 0)
		_exit(127);
	if (setgroups(u->ngroups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		_exit(127);
	syscall(SYS_close_range, 4, ~0U, 0);
	snprintf(home, sizeof(home), "HOME=%s", pw && pw->pw_dir ? pw->pw_dir : "/");
	snprintf(user, sizeof(user), "USER=%s", u->name);
	snprintf(cont, sizeof(cont), "SLURM_CR_CONTAINER=job%u-slot%u", ji->jobid, ji->slot);
	execve(agent, (char *[]){"cr-rsh", "--slot-root", NULL},
	       (char *[]){"PATH=/usr/local/bin:/usr/bin:/bin", home, user, cont, NULL});
	_exit(127);
}

/*
 * SLOT_SOCK_DIR a directory of root's, whatever a restored /tmp made of it
 * (its archive is extracted as the job's user): nobody else can swap the
 * socket under it.
 */
static int _root_dir(char *err, size_t errlen)
{
	int fd, ret = 0;

	if (mkdir(SLOT_SOCK_DIR, 0755) < 0 && errno != EEXIST)
		return err_set(err, errlen, -errno, "mkdir %s: %s", SLOT_SOCK_DIR, strerror(errno));
	fd = open(SLOT_SOCK_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && unlink(SLOT_SOCK_DIR) == 0 && mkdir(SLOT_SOCK_DIR, 0755) == 0)
		fd = open(SLOT_SOCK_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0)
		ret = err_set(err, errlen, -errno, "%s: %s", SLOT_SOCK_DIR, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

pid_t slot_root_start(const struct cr_job *ji, const char *agent, char *err, size_t errlen)
{
	struct job_user u;
	int lfd, ret;
	pid_t pid;

	if (!agent || !*agent || access(agent, X_OK) < 0)
		return err_set(err, errlen, -ENOENT, "LaunchAgent %s is not executable",
			       agent ? agent : "(none)");
	ret = user_lookup(ji->uid, ji->gid, &u, err, errlen);
	if (ret)
		return ret;
	ret = _root_dir(err, errlen);
	if (ret)
		return ret;
	lfd = cr_unix_listen(SLOT_SOCK_PATH, 0600);
	if (lfd < 0)
		return err_set(err, errlen, lfd, "listen on %s: %s", SLOT_SOCK_PATH,
			       strerror(-lfd));
	pid = fork();
	if (pid == 0)
		_exec_root(ji, &u, agent, lfd);
	ret = pid < 0 ? -errno : pid;
	close(lfd);
	if (ret < 0)
		err_set(err, errlen, ret, "fork: %s", strerror(-ret));
	return ret;
}
