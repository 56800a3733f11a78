/*
 * chroot: a changed root directory. A child process chroot()s into the
 * test directory and works in /sub there; the main process keeps the real
 * root. (The child waits for the go file as "/go", inside its root.)
 * Checks: after the restart the child's "/" is the test directory (same
 * inode, "/marker" is there, "/go" is its go file), its cwd is "/sub"; the
 * main process's "/" is still the real root.
 * Skip proof: misc.
 */
#include "zdtm.h"

int main(void)
{
	struct stat st, root_st, dir_st;
	struct barrier b;
	char cur[256];
	pid_t pid;
	int fd;

	if (stat("/", &root_st) || stat(test_dir(), &dir_st) || mkdir(test_path("sub"), 0755))
		test_fatal("stat/mkdir");
	fd = open(test_path("marker"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		if (chroot(test_dir()) || chdir("/sub"))
			test_fatal("chroot");
		barrier_signal(&b);
		test_wait_go_alt("/go");
		CHECK(!stat("/", &st) && st.st_ino == dir_st.st_ino && st.st_dev == dir_st.st_dev,
		      "child: / is not the test directory");
		CHECK(access("/marker", F_OK) == 0, "child: no /marker in its root");
		CHECK(access("/go", F_OK) == 0, "child: no /go in its root");
		CHECK(getcwd(cur, sizeof(cur)) && !strcmp(cur, "/sub"), "child: cwd is %s", cur);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	CHECK(!stat("/", &st) && st.st_ino == root_st.st_ino && st.st_dev == root_st.st_dev,
	      "main: / is not the real root");
	reap_child(pid, "child");
	test_done();
}
