// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Container tmpfs archives (agent/archive.c): a tree with every kind of file
 * saved and restored and compared entry by entry; files that cannot be
 * saved; truncated and corrupt archives; hand-made archives that try to
 * write outside the target directory.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmparchive.h"

#define MIB    (1024 * 1024)
#define T0     1600000000 /* mtimes of the test tree start here */
#define MARKER "OUTSIDE-MARKER-7f3c9a"
#define LATIN1 "caf\xe9"
#define NENTRY 16 /* entries make_tree() makes, the socket aside */

static char *path_join(const char *a, const char *b)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/archive-test.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	/* Searchable by the unprivileged fsuid of test_unreadable. */
	assert_int_equal(chmod(tmpl, 0755), 0);
	return strdup(tmpl);
}

static int _unlock(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(p, 0700);
	return 0;
}

static int _remove(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_tree(char *dir)
{
	nftw(dir, _unlock, 16, FTW_PHYS);
	assert_int_equal(nftw(dir, _remove, 16, FTW_PHYS | FTW_DEPTH), 0);
	free(dir);
}

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void put_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char *p = path_join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static void put_dir(const char *dir, const char *name, mode_t mode)
{
	char *p = path_join(dir, name);

	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void set_mtime(const char *dir, const char *name, time_t t)
{
	struct timespec ts[2] = {{t - 5, 0}, {t, 0}};
	int fd = open_dir(dir);

	assert_int_equal(utimensat(fd, name, ts, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);
}

static char *read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, st.st_size, 0), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static char *read_fd(int fd, size_t *len)
{
	struct stat st;
	char *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, st.st_size, 0), st.st_size);
	*len = st.st_size;
	return buf;
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("archive-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Save @dir; the archive's fd (at offset 0) or the error. */
static int save(const char *dir, uint64_t *nentries, uint64_t *nskipped, char *err, size_t len)
{
	int dfd = open_dir(dir), out = memfd_with("", 0), ret;

	ret = archive_save_tree(dfd, out, nentries, nskipped, err, len);
	close(dfd);
	if (ret) {
		close(out);
		return ret;
	}
	assert_int_equal(lseek(out, 0, SEEK_SET), 0);
	return out;
}

static int restore(int in, const char *dir, int keep_owner, char *err, size_t len)
{
	int dfd = open_dir(dir), ret;
	char cwd[4096], after[4096];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	err[0] = '\0';
	ret = archive_restore_tree(dfd, in, keep_owner, err, len);
	assert_non_null(getcwd(after, sizeof(after)));
	assert_string_equal(cwd, after);
	close(dfd);
	if (ret)
		assert_true(err[0] != '\0');
	return ret;
}

static void make_sparse(const char *dir, const char *name)
{
	char *p = path_join(dir, name), *buf = malloc(MIB);
	int fd, i;

	assert_non_null(buf);
	for (i = 0; i < MIB; i++)
		buf[i] = (char)(i * 7 + i / 4096);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, MIB, 0), MIB);
	assert_int_equal(pwrite(fd, buf, MIB, 2 * MIB), MIB);
	close(fd);
	free(buf);
	free(p);
}

static void make_socket(const char *dir, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name) <
		    (int)sizeof(sa.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/* Every kind of entry; @outside holds what a followed symlink would read. */
static void make_tree(const char *t, const char *outside)
{
	char lname[210], *target, *a, *b;

	memset(lname, 'L', 200);
	strcpy(lname + 200, ".txt");
	put_dir(t, "d1", 0755);
	put_dir(t, "d1/d2", 0750);
	put_file(t, "d1/d2/deep.txt", "deep\n", 5, 0644);
	a = path_join("d1", lname);
	put_file(t, a, "long name\n", 10, 0600);
	put_file(t, "empty", "", 0, 0644);
	make_sparse(t, "sparse");
	put_file(t, "ro", "read only\n", 10, 0400);
	put_dir(t, "rodir", 0700);
	put_file(t, "rodir/inside", "inside\n", 7, 0644);
	target = path_join(outside, "secret");
	put_file(outside, "secret", MARKER, strlen(MARKER), 0644);
	b = path_join(t, "passwd-link");
	assert_int_equal(symlink("/etc/passwd", b), 0);
	free(b);
	b = path_join(t, "outside-link");
	assert_int_equal(symlink(target, b), 0);
	free(b);
	b = path_join(t, "fifo");
	assert_int_equal(mkfifo(b, 0640), 0);
	assert_int_equal(chmod(b, 0640), 0);
	free(b);
	make_socket(t, "sock");
	put_file(t, "hl1", "hard\n", 5, 0644);
	b = path_join(t, "hl1");
	free(target);
	target = path_join(t, "hl2");
	assert_int_equal(link(b, target), 0);
	free(b);
	free(target);
	put_file(t, LATIN1, "latin-1 name\n", 13, 0644);
	put_dir(t, "sticky", 01777);

	/* Leaves first: making an entry changes its directory's mtime. */
	set_mtime(t, "d1/d2/deep.txt", T0 + 3);
	set_mtime(t, a, T0 + 4);
	set_mtime(t, "empty", T0 + 5);
	set_mtime(t, "sparse", T0 + 6);
	set_mtime(t, "ro", T0 + 7);
	set_mtime(t, "rodir/inside", T0 + 9);
	set_mtime(t, "passwd-link", T0 + 10);
	set_mtime(t, "outside-link", T0 + 11);
	set_mtime(t, "fifo", T0 + 12);
	set_mtime(t, "hl1", T0 + 13);
	set_mtime(t, LATIN1, T0 + 14);
	set_mtime(t, "sticky", T0 + 15);
	set_mtime(t, "d1/d2", T0 + 2);
	set_mtime(t, "d1", T0 + 1);
	set_mtime(t, "rodir", T0 + 8);
	b = path_join(t, "rodir");
	assert_int_equal(chmod(b, 0555), 0);
	free(b);
	free(a);
}

static int _visible(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

static void free_list(struct dirent **l, int n)
{
	while (n > 0)
		free(l[--n]);
	free(l);
}

static void compare_entry(const char *pa, const char *pb, const struct stat *sa,
			  const struct stat *sb, bool owners);

/* @b is what restoring an archive of @a must give (sockets left out). */
static void compare_trees(const char *a, const char *b, bool owners)
{
	struct dirent **la, **lb;
	struct stat sa, sb;
	int na, nb, i, j = 0;
	char *pa, *pb;

	na = scandir(a, &la, _visible, alphasort);
	nb = scandir(b, &lb, _visible, alphasort);
	assert_true(na >= 0 && nb >= 0);
	for (i = 0; i < na; i++) {
		pa = path_join(a, la[i]->d_name);
		assert_int_equal(lstat(pa, &sa), 0);
		if (S_ISSOCK(sa.st_mode)) {
			free(pa);
			continue;
		}
		if (j >= nb || strcmp(la[i]->d_name, lb[j]->d_name))
			fail_msg("%s: missing after restore", pa);
		pb = path_join(b, lb[j++]->d_name);
		assert_int_equal(lstat(pb, &sb), 0);
		compare_entry(pa, pb, &sa, &sb, owners);
		free(pa);
		free(pb);
	}
	if (j != nb)
		fail_msg("%s: %d entries, %d restored", a, na, nb);
	free_list(la, na);
	free_list(lb, nb);
}

static void compare_entry(const char *pa, const char *pb, const struct stat *sa,
			  const struct stat *sb, bool owners)
{
	char la[4096], lb[4096];
	size_t n1, n2;
	ssize_t k1, k2;
	char *d1, *d2;

	if ((sa->st_mode & S_IFMT) != (sb->st_mode & S_IFMT) ||
	    (sa->st_mode & 07777) != (sb->st_mode & 07777))
		fail_msg("%s: mode %o, restored %o", pa, sa->st_mode, sb->st_mode);
	if (sa->st_mtime != sb->st_mtime)
		fail_msg("%s: mtime %ld, restored %ld", pa, (long)sa->st_mtime, (long)sb->st_mtime);
	if (owners && (sa->st_uid != sb->st_uid || sa->st_gid != sb->st_gid))
		fail_msg("%s: owner %d:%d, restored %d:%d", pa, sa->st_uid, sa->st_gid, sb->st_uid,
			 sb->st_gid);
	if (S_ISDIR(sa->st_mode))
		compare_trees(pa, pb, owners);
	if (S_ISLNK(sa->st_mode)) {
		k1 = readlink(pa, la, sizeof(la));
		k2 = readlink(pb, lb, sizeof(lb));
		assert_true(k1 > 0);
		assert_int_equal(k1, k2);
		assert_memory_equal(la, lb, k1);
	}
	if (S_ISREG(sa->st_mode)) {
		assert_int_equal(sa->st_size, sb->st_size);
		d1 = read_all(pa, &n1);
		d2 = read_all(pb, &n2);
		assert_int_equal(n1, n2);
		if (n1 && memcmp(d1, d2, n1))
			fail_msg("%s: content differs after restore", pa);
		free(d1);
		free(d2);
	}
}

struct fixture {
	char *base;    /* holds src, dst and outside */
	char *src;     /* the tree */
	char *dst;     /* where it is restored */
	char *outside; /* nothing may appear here */
};

/* Per test, so that a failed test still removes its directories. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->base = make_tmpdir();
	f->src = path_join(f->base, "src");
	f->dst = path_join(f->base, "dst");
	f->outside = path_join(f->base, "outside");
	put_dir(f->base, "src", 0755);
	put_dir(f->base, "dst", 0755);
	put_dir(f->base, "outside", 0755);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* A failed test may have left the unprivileged fsuid on. */
	setfsuid(geteuid());
	free(f->src);
	free(f->dst);
	free(f->outside);
	rm_tree(f->base);
	free(f);
	return 0;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	uint64_t ne = 99, ns = 99;
	struct stat s1, s2;
	char err[512], *p, *q, *bytes;
	size_t len;
	int fd;

	make_tree(f->src, f->outside);
	fd = save(f->src, &ne, &ns, err, sizeof(err));
	if (fd < 0)
		fail_msg("save: %d %s", fd, err);
	assert_int_equal(ne, NENTRY);
	assert_int_equal(ns, 1);

	/* Symlinks stored as links: neither target was read. */
	bytes = read_fd(fd, &len);
	assert_null(memmem(bytes, len, MARKER, strlen(MARKER)));
	assert_null(memmem(bytes, len, "root:x:0:0", 10));
	/* The hole is not in the archive. */
	assert_true(len < 2 * MIB + 64 * 1024);
	free(bytes);

	if (restore(fd, f->dst, 0, err, sizeof(err)))
		fail_msg("restore: %s", err);
	compare_trees(f->src, f->dst, true);

	/* Still a hole, still one inode with two names. */
	p = path_join(f->src, "sparse");
	q = path_join(f->dst, "sparse");
	assert_int_equal(stat(p, &s1), 0);
	assert_int_equal(stat(q, &s2), 0);
	if (s1.st_blocks * 512 < s1.st_size)
		assert_true(s2.st_blocks * 512 <= 2 * MIB + 64 * 1024);
	free(p);
	free(q);
	p = path_join(f->dst, "hl1");
	q = path_join(f->dst, "hl2");
	assert_int_equal(stat(p, &s1), 0);
	assert_int_equal(stat(q, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(s1.st_nlink, 2);
	free(p);
	free(q);
	p = path_join(f->dst, "sock");
	assert_int_equal(lstat(p, &s1), -1);
	free(p);
	close(fd);
}

/* Equal trees give equal archives; the restored tree archives the same. */
static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	uint64_t ne, ns;
	char err[512], *a, *b;
	size_t la, lb;
	int f1, f2;

	make_tree(f->src, f->outside);
	f1 = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(f1 >= 0);
	assert_int_equal(restore(f1, f->dst, 1, err, sizeof(err)), 0);
	f2 = save(f->dst, &ne, &ns, err, sizeof(err));
	assert_true(f2 >= 0);
	assert_int_equal(ns, 0);
	a = read_fd(f1, &la);
	b = read_fd(f2, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	close(f1);
	close(f2);
}

static void test_empty_tree(void **state)
{
	struct fixture *f = *state;
	uint64_t ne = 9, ns = 9;
	char err[512];
	int fd;

	fd = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(ne, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(restore(fd, f->dst, 0, err, sizeof(err)), 0);
	compare_trees(f->src, f->dst, true);
	close(fd);
}

static void test_owner(void **state)
{
	struct fixture *f = *state;
	uint64_t ne, ns;
	struct stat st;
	char err[512], *p;
	int fd;

	if (geteuid() != 0)
		skip();
	put_file(f->src, "owned", "x", 1, 0640);
	p = path_join(f->src, "owned");
	assert_int_equal(lchown(p, 1234, 5678), 0);
	free(p);
	fd = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(restore(fd, f->dst, 1, err, sizeof(err)), 0);
	compare_trees(f->src, f->dst, true);
	p = path_join(f->dst, "owned");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(restore(fd, f->dst, 0, err, sizeof(err)), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 07777, 0640);
	free(p);
	close(fd);
}

/* A fresh empty directory below @base for one restore. */
static char *fresh_dir(const char *base)
{
	char *p = path_join(base, "tXXXXXX");

	assert_non_null(mkdtemp(p));
	return p;
}

/* Saved before what fails: some of the archive has reached outfd then. */
static void put_big(const char *dir, const char *name)
{
	char *big = malloc(256 * 1024);

	assert_non_null(big);
	memset(big, 'b', 256 * 1024);
	put_file(dir, name, big, 256 * 1024, 0644);
	free(big);
}

/*
 * A save that must fail with @want, naming @name, and leave no archive;
 * @nobody: as root, save with an unprivileged fsuid.
 */
static void save_refused(struct fixture *f, bool nobody, int want, const char *name)
{
	int dfd = open_dir(f->src), out = memfd_with("", 0), ret;
	char err[512] = "", *d;
	uint64_t ne, ns;

	if (nobody && geteuid() == 0) {
		setfsuid(65534);
		assert_int_equal(setfsuid(-1), 65534);
	}
	ret = archive_save_tree(dfd, out, &ne, &ns, err, sizeof(err));
	setfsuid(geteuid());
	close(dfd);
	if (ret != want)
		fail_msg("save gave %d, want %d (%s)", ret, want, err);
	if (!strstr(err, name))
		fail_msg("\"%s\" does not name %s", err, name);
	d = fresh_dir(f->dst);
	assert_int_equal(restore(out, d, 0, err, sizeof(err)), -EBADMSG);
	free(d);
	close(out);
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	mode_t none = geteuid() ? 0000 : 0700; /* root: not for its fsuid 65534 */
	char *p;

	put_big(f->src, "a-fine");
	put_file(f->src, "secret", "no", 2, none & 0600);
	save_refused(f, true, -EACCES, "secret");
	p = path_join(f->src, "secret");
	assert_int_equal(unlink(p), 0);
	free(p);

	put_dir(f->src, "closed", none);
	put_file(f->src, "closed2", "", 0, 0644);
	save_refused(f, true, -EACCES, "closed");
}

static void test_device_node(void **state)
{
	struct fixture *f = *state;
	char *p;

	if (geteuid() != 0)
		skip();
	put_big(f->src, "a-big");
	put_dir(f->src, "dev", 0755);
	p = path_join(f->src, "dev/null");
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
	free(p);
	save_refused(f, false, -ENOTSUP, "dev/null");
}

/* Every cut short of the end-of-archive block is refused, wherever it falls. */
static void test_truncated(void **state)
{
	struct fixture *f = *state;
	uint64_t ne, ns;
	char err[512], *bytes, *d;
	size_t len, last, ends, cut;
	int fd, in, ret;

	put_file(f->src, "a", "aaaa", 4, 0644);
	put_file(f->src, "b-empty", "", 0, 0644);
	put_file(f->src, "z", "zzz", 3, 0644);
	fd = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(fd >= 0);
	bytes = read_fd(fd, &len);
	for (last = len; last > 0 && !bytes[last - 1]; last--)
		;
	ends = (last + 511) / 512 * 512; /* z's data is last: the entries end here */
	assert_true(ends + 1024 <= len);
	for (cut = 0; cut <= len; cut += cut % 512 ? 512 - cut % 512 : 100) {
		in = memfd_with(bytes, cut);
		d = fresh_dir(f->dst);
		ret = restore(in, d, 0, err, sizeof(err));
		if (cut >= ends + 512)
			assert_int_equal(ret, 0);
		else if (ret != -EBADMSG)
			fail_msg("cut at %zu of %zu (entries end at %zu): %d %s", cut, len, ends,
				 ret, err);
		close(in);
		free(d);
	}
	free(bytes);
	close(fd);
}

static void test_corrupt(void **state)
{
	static const char text[] = "this is not a tar archive, not even close to one\n";
	struct fixture *f = *state;
	uint64_t ne, ns;
	char err[512], *bytes, *d;
	size_t len;
	int fd, in;

	put_file(f->src, "a", "aaaa", 4, 0644);
	fd = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(fd >= 0);
	bytes = read_fd(fd, &len);

	bytes[1024 + 100] ^= 0x5a; /* the ustar header's mode field */
	in = memfd_with(bytes, len);
	d = fresh_dir(f->dst);
	assert_true(restore(in, d, 0, err, sizeof(err)) < 0);
	close(in);
	free(d);

	in = memfd_with(text, sizeof(text));
	d = fresh_dir(f->dst);
	assert_true(restore(in, d, 0, err, sizeof(err)) < 0);
	close(in);
	free(d);

	in = memfd_with("", 0);
	d = fresh_dir(f->dst);
	assert_true(restore(in, d, 0, err, sizeof(err)) < 0);
	close(in);
	free(d);

	free(bytes);
	close(fd);
}

struct evil {
	const char *path;
	unsigned int type;
	const char *symlink;
	const char *hardlink;
};

/* An archive of hand-made entries, up to one with a NULL path. */
static int evil_archive(const struct evil *v)
{
	int fd = memfd_with("", 0);
	struct archive_entry *e;
	struct archive *a;

	a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (; v->path; v++) {
		e = archive_entry_new();
		archive_entry_copy_pathname(e, v->path);
		archive_entry_set_filetype(e, v->type);
		/* not the victim's mode: one set through a hard link shows */
		archive_entry_set_perm(e, v->hardlink ? 0600 : 0644);
		archive_entry_set_mtime(e, T0, 0);
		if (v->symlink)
			archive_entry_copy_symlink(e, v->symlink);
		if (v->hardlink)
			archive_entry_copy_hardlink(e, v->hardlink);
		if (v->type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, v->type == AE_IFREG && !v->hardlink ? 4 : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (archive_entry_size(e))
			assert_int_equal(archive_write_data(a, "evil", 4), 4);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return fd;
}

static int count_entries(const char *dir)
{
	struct dirent **l;
	int n = scandir(dir, &l, _visible, alphasort);

	assert_true(n >= 0);
	free_list(l, n);
	return n;
}

/* Refused, and nothing appeared outside the target. */
static void evil_refused(struct fixture *f, const struct evil *v, int i)
{
	char err[512], *d, *victim;
	int in = evil_archive(v), ret;
	struct stat st;

	d = fresh_dir(f->dst);
	ret = restore(in, d, 0, err, sizeof(err));
	if (ret != -EPERM)
		fail_msg("case %d (%s): %d %s", i, v[0].path, ret, err);
	assert_int_equal(count_entries(f->outside), 1); /* the victim */
	assert_int_equal(count_entries(f->base), 3);
	assert_int_equal(count_entries(f->dst), i + 1);
	victim = path_join(f->outside, "victim");
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_size, 6);
	free(victim);
	close(in);
	free(d);
}

static void test_escapes(void **state)
{
	struct fixture *f = *state;
	char *abs = path_join(f->outside, "abs"), *victim = path_join(f->outside, "victim");
	char *up = path_join(f->outside, "..");
	const struct evil dotdot[] = {{"../x", AE_IFREG, NULL, NULL}, {0}};
	const struct evil deep[] = {
		{"d", AE_IFDIR, NULL, NULL}, {"d/../../x", AE_IFREG, NULL, NULL}, {0}};
	const struct evil absolute[] = {{abs, AE_IFREG, NULL, NULL}, {0}};
	const struct evil through[] = {
		{"link", AE_IFLNK, f->outside, NULL}, {"link/file", AE_IFREG, NULL, NULL}, {0}};
	const struct evil through_up[] = {
		{"link", AE_IFLNK, up, NULL}, {"link/outside/x", AE_IFREG, NULL, NULL}, {0}};
	const struct evil hard_abs[] = {{"h", AE_IFREG, NULL, victim}, {0}};
	const struct evil hard_dotdot[] = {{"h", AE_IFREG, NULL, "../../outside/victim"}, {0}};
	const struct evil hard_through[] = {
		{"link", AE_IFLNK, f->outside, NULL}, {"h", AE_IFREG, NULL, "link/victim"}, {0}};
	const struct evil device[] = {{"null", AE_IFCHR, NULL, NULL}, {0}};
	int i = 0;

	put_file(f->outside, "victim", "victim", 6, 0644);
	evil_refused(f, dotdot, i++);
	evil_refused(f, deep, i++);
	evil_refused(f, absolute, i++);
	evil_refused(f, through, i++);
	evil_refused(f, through_up, i++);
	evil_refused(f, hard_abs, i++);
	evil_refused(f, hard_dotdot, i++);
	evil_refused(f, hard_through, i++);
	evil_refused(f, device, i++);
	free(abs);
	free(victim);
	free(up);
}

/*
 * A hard link to a symlink: extracting it would set its mode (and times)
 * by name, through the symlink, on the file outside (found by fuzz-archive:
 * the victim became 0643). Refused, the victim as it was.
 */
static void test_hardlink_to_symlink(void **state)
{
	struct fixture *f = *state;
	char *victim = path_join(f->outside, "victim");
	const struct evil v[] = {{"l", AE_IFLNK, victim, NULL}, {"h", AE_IFREG, NULL, "l"}, {0}};
	struct stat st;

	put_file(f->outside, "victim", "victim", 6, 0644);
	evil_refused(f, v, 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(victim);
}

/*
 * A symlink with a second name (ln without -L makes one) is saved as two
 * symlinks: what it points at keeps its mode at the restore.
 */
static void test_symlink_second_name(void **state)
{
	struct fixture *f = *state;
	char err[512], buf[16], *s1 = path_join(f->src, "s1"), *s2 = path_join(f->src, "s2");
	char *d = fresh_dir(f->dst), *names[] = {"s1", "s2"};
	uint64_t ne, ns;
	struct stat st;
	int in;

	assert_int_equal(symlink("somewhere", s1), 0);
	assert_int_equal(link(s1, s2), 0); /* link(2) does not follow */
	in = save(f->src, &ne, &ns, err, sizeof(err));
	assert_true(in >= 0);
	if (restore(in, d, 0, err, sizeof(err)))
		fail_msg("restore: %s", err);
	for (int i = 0; i < 2; i++) {
		char *p = path_join(d, names[i]);

		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		assert_int_equal(st.st_nlink, 1);
		assert_int_equal(readlink(p, buf, sizeof(buf)), 9);
		assert_memory_equal(buf, "somewhere", 9);
		free(p);
	}
	close(in);
	free(s1);
	free(s2);
	free(d);
}

/*
 * Digested while written, checked while read: the archive in the base
 * directory as "t.tar"; a bit flipped past the first chunk, a truncation, a
 * name not in the list and a symlink are refused (-EBADMSG) by the reader.
 */
static void test_digested(void **state)
{
	struct fixture *f = *state;
	struct cr_digests list = {0};
	uint64_t ne, ns;
	char err[512], *p;
	int bfd, out, dfd;
	uint8_t c;

	make_tree(f->src, f->outside);
	bfd = open_dir(f->base);
	out = openat(bfd, "t.tar", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	dfd = open_dir(f->src);
	if (archive_save_digested(dfd, out, "t.tar", &list, &ne, &ns, err, sizeof(err)))
		fail_msg("save: %s", err);
	close(dfd);
	assert_int_equal(list.nfiles, 1);
	assert_string_equal(list.files[0].name, "t.tar");
	assert_true(list.files[0].nchunks >= 2); /* the tree holds over 1 MiB of data */
	dfd = open_dir(f->dst);
	if (archive_restore_digested(dfd, bfd, "t.tar", &list, 0, err, sizeof(err)))
		fail_msg("restore: %s", err);
	close(dfd);
	compare_trees(f->src, f->dst, true);

	assert_int_equal(pread(out, &c, 1, CR_DIGEST_CHUNK + 100), 1);
	c ^= 1;
	assert_int_equal(pwrite(out, &c, 1, CR_DIGEST_CHUNK + 100), 1);
	dfd = open_dir(f->dst); /* over what is there: a refusal is not about a clean target */
	assert_int_equal(archive_restore_digested(dfd, bfd, "t.tar", &list, 0, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "t.tar: does not match its digest"));
	c ^= 1;
	assert_int_equal(pwrite(out, &c, 1, CR_DIGEST_CHUNK + 100), 1);
	assert_int_equal(ftruncate(out, CR_DIGEST_CHUNK), 0);
	assert_int_equal(archive_restore_digested(dfd, bfd, "t.tar", &list, 0, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(archive_restore_digested(dfd, bfd, "u.tar", &list, 0, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(renameat(bfd, "t.tar", bfd, "v.tar"), 0);
	assert_int_equal(symlinkat("v.tar", bfd, "t.tar"), 0);
	assert_int_equal(archive_restore_digested(dfd, bfd, "t.tar", &list, 0, err, sizeof(err)),
			 -EBADMSG);
	close(dfd);
	close(out);
	close(bfd);
	p = path_join(f->base, "v.tar");
	unlink(p);
	free(p);
	free(list.files[0].chunk);
	free(list.files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_to_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_second_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digested, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
