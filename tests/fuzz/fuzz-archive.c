// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The restore of a job's /tmp and /dev/shm (archive_restore_tree, agent/
 * tmparchive.c) from a tar the input is, extracted as crd does it (with the
 * job's user's fs credentials: nobody here, owner not kept) into a fresh
 * directory each time, next to a directory "outside" that nobody may write
 * too. Whatever the archive, tmparchive.h's promises must hold: nothing
 * written outside the target (no "..", absolute path, symlink or hard link
 * out), only directories, regular files, symlinks and fifos in it, all the
 * extracting user's; the working directory, umask and fds as they were; a
 * refusal says why. The target is removed after each input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmparchive.h"

#define NOBODY 65534 /* the job's user, when run as root; else our own ids */
#define VICTIM "victim"
/* An absolute path the seeds name: it must never appear. */
#define ABS_OUT "/dev/shm/cr-fuzz-archive-escape"

static char base[64], outside[96], cwd[256];
static uid_t uid;
static gid_t gid;
static mode_t mask;

static void put_victim(void)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/" VICTIM, outside);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "victim", 6) != 6 || fchown(fd, uid, gid))
		abort();
	close(fd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uid = geteuid() ? geteuid() : NOBODY;
	gid = geteuid() ? getegid() : NOBODY;
	snprintf(base, sizeof(base), "/dev/shm/cr-fuzz-archive.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755))
		abort();
	snprintf(outside, sizeof(outside), "%s/outside", base);
	/* writable by the extracting user: an escape would succeed, and show */
	if (mkdir(outside, 0755) || chown(outside, uid, gid))
		abort();
	put_victim();
	atexit(cleanup);
	if (!getcwd(cwd, sizeof(cwd)))
		abort();
	mask = umask(022);
	umask(mask);
	return 0;
}

static int entries(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	if (!dp)
		abort();
	while ((d = readdir(dp)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dp);
	return n;
}

/* Outside the target: as it was. */
static void check_outside(void)
{
	char p[128], buf[8] = {0};
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/" VICTIM, outside);
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || read(fd, buf, sizeof(buf)) != 6 ||
	    memcmp(buf, "victim", 6) || st.st_nlink != 1 || (st.st_mode & 07777) != 0644 ||
	    st.st_uid != uid)
		abort(); /* written, linked or changed through the archive */
	close(fd);
	if (entries(outside) != 1 || entries(base) != 2 ||
	    faccessat(AT_FDCWD, ABS_OUT, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		abort(); /* something new next to the target */
}

/* In the target: only what archive_save_tree writes, all the extracting user's. */
static int check_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p;
	(void)ftw;
	if (flag == FTW_NS)
		abort();
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode) &&
	    !S_ISFIFO(st->st_mode))
		abort(); /* a device node or socket */
	if (st->st_uid != uid || st->st_gid != gid)
		abort(); /* ownership taken from the archive */
	return 0;
}

/* The lowest free fd: the same after an extraction as before it, or one leaked. */
static int free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	close(fd);
	return fd;
}

static void check_process(int fd_before)
{
	char now[256];

	if (!getcwd(now, sizeof(now)) || strcmp(now, cwd))
		abort(); /* left in another working directory */
	if (umask(mask) != mask)
		abort();
	if (free_fd() != fd_before)
		abort(); /* an fd leaked */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[96], err[512] = "";
	int in, dfd, ret, fd_before = free_fd();

	snprintf(target, sizeof(target), "%s/t.XXXXXX", base);
	in = memfd_create("fuzz-archive", MFD_CLOEXEC);
	if (!mkdtemp(target) || chown(target, uid, gid) || in < 0 ||
	    write(in, data, size) != (ssize_t)size || lseek(in, 0, SEEK_SET))
		abort();
	dfd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		abort();
	/* as crd does it: the job's user's fs credentials (userfs.h) */
	setfsgid(gid);
	setfsuid(uid);
	ret = archive_restore_tree(dfd, in, 0, err, sizeof(err));
	setfsuid(geteuid());
	setfsgid(getegid());
	close(dfd);
	close(in);
	if (ret && !err[0])
		abort(); /* a refusal must say why */
	check_outside();
	check_process(fd_before);
	if (!ret)
		nftw(target, check_one, 16, FTW_PHYS);
	if (nftw(target, rm_one, 16, FTW_DEPTH | FTW_PHYS))
		abort();
	return 0;
}
