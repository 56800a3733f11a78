/*
 * umask: file mode creation masks: 027 in the main process, 0777 in a
 * child, 0 in a grandchild.
 * Checks: after the restart each process reads its own umask back, and a
 * file it creates with mode 0666 gets the mode the mask allows.
 * Skip proof: misc.
 */
#include "zdtm.h"

static void check(const char *who, mode_t want, const char *file)
{
	mode_t cur = umask(want);
	struct stat st;
	int fd;

	umask(cur);
	CHECK(cur == want, "%s: umask %03o, want %03o", who, cur, want);
	fd = open(test_path(file), O_CREAT | O_EXCL | O_WRONLY, 0666);
	CHECK(fd >= 0 && !fstat(fd, &st) && (st.st_mode & 0777) == (0666 & ~want),
	      "%s: new file has mode %03o", who, st.st_mode & 0777);
	close(fd);
}

int main(void)
{
	struct barrier b;
	pid_t pid, gpid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		umask(0777);
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			umask(0);
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", 0, "g");
			test_child_done();
		}
		barrier_signal(&b);
		test_wait_go();
		check("child", 0777, "c");
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	umask(027);
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", 027, "m");
	reap_child(pid, "child");
	test_done();
}
