/*
 * creds_fsid: file system ids that differ from the effective ids, in a
 * root task: a child with fsuid 1234 and fsgid 5678 (its other ids root's).
 * Checks: after the restart setfsuid(-1)/setfsgid(-1) read back 1234 and
 * 5678, and they act: a file the child creates belongs to 1234:5678.
 * Skip proof: creds.
 */
#include "zdtm.h"

#include <sys/fsuid.h>

int main(void)
{
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		struct stat st;
		int fd, u, g;

		setfsuid(1234);
		setfsgid(5678);
		if (setfsuid(-1) != 1234 || setfsgid(-1) != 5678)
			test_fatal("setfsuid");
		barrier_signal(&b);
		test_wait_go();
		u = setfsuid(-1);
		g = setfsgid(-1);
		CHECK(u == 1234 && g == 5678, "child: fsuid %d fsgid %d, were 1234 5678", u, g);
		fd = open(test_path("made"), O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0 && !fstat(fd, &st) && st.st_uid == 1234 && st.st_gid == 5678,
		      "child: a new file belongs to %u:%u", st.st_uid, st.st_gid);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	CHECK(setfsuid(-1) == 0 && setfsgid(-1) == 0, "main: fs ids are not root's");
	reap_child(pid, "child");
	test_done();
}
