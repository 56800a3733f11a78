/*
 * cwd: working directories. The main process works in $ZDTM_DIR/a/b/c, a
 * child in $ZDTM_DIR/other dir (a name with a space), a grandchild in
 * /dev/shm (another file system).
 * Checks: after the restart each process's getcwd() and the inode of "."
 * are what they were, and a relative open() finds the file there.
 * Skip proof: misc.
 */
#include "zdtm.h"

static void check(const char *who, const char *want, ino_t ino, const char *file)
{
	char cur[1024];
	struct stat st;

	CHECK(getcwd(cur, sizeof(cur)) && !strcmp(cur, want), "%s: cwd is %s, want %s", who, cur,
	      want);
	CHECK(!stat(".", &st) && st.st_ino == ino, "%s: \".\" is another directory", who);
	if (file)
		CHECK(access(file, R_OK) == 0, "%s: relative %s not found", who, file);
}

static ino_t enter(const char *dir)
{
	struct stat st;

	if (chdir(dir) || stat(".", &st))
		test_fatal("chdir %s", dir);
	return st.st_ino;
}

int main(void)
{
	char d1[512], d2[512];
	ino_t i1, i2, i3;
	struct barrier b;
	pid_t pid, gpid;
	int fd;

	snprintf(d1, sizeof(d1), "%s/a/b/c", test_dir());
	snprintf(d2, sizeof(d2), "%s/other dir", test_dir());
	if (mkdir(test_path("a"), 0755) || mkdir(test_path("a/b"), 0755) || mkdir(d1, 0700) ||
	    mkdir(d2, 0755))
		test_fatal("mkdir");
	fd = open(test_path("a/b/c/here"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	fd = open(test_path("other dir/there"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		i2 = enter(d2);
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			i3 = enter("/dev/shm");
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", "/dev/shm", i3, NULL);
			test_child_done();
		}
		barrier_signal(&b);
		test_wait_go();
		check("child", d2, i2, "there");
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	i1 = enter(d1);
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", d1, i1, "here");
	reap_child(pid, "child");
	test_done();
}
