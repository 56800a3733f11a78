/*
 * refuse_userns: a child in a user namespace of its own (unshare
 * CLONE_NEWUSER, its uid 0 mapped to ours), where it holds every
 * capability. A restore cannot recreate the namespace, and the capabilities
 * would be granted in ours: cr checkpoint must refuse the tree (exit 3),
 * naming the task, and leave it running.
 * Checks (without a restart): the child is still in its namespace, uid 0
 * there, with its capabilities.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sched.h>

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		test_fatal("write %s", path);
	close(fd);
}

static int ns_of(const char *link, char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int main(void)
{
	char outer[64], inner[64], now[64];
	struct barrier b;
	pid_t pid;

	if (ns_of("/proc/self/ns/user", outer, sizeof(outer)))
		test_fatal("readlink");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		if (unshare(CLONE_NEWUSER))
			test_fatal("unshare(CLONE_NEWUSER)");
		write_file("/proc/self/setgroups", "deny");
		write_file("/proc/self/uid_map", "0 0 1");
		write_file("/proc/self/gid_map", "0 0 1");
		if (ns_of("/proc/self/ns/user", inner, sizeof(inner)))
			test_fatal("readlink");
		dprintf(1,
			"EXPECT: Task %d: it runs in user namespace %s, not the checkpointer's "
			"%s\n",
			getpid(), inner, outer);
		barrier_signal(&b);
		test_wait_go();
		CHECK(!ns_of("/proc/self/ns/user", now, sizeof(now)) && !strcmp(now, inner),
		      "child: in user namespace %s, was %s", now, inner);
		CHECK(getuid() == 0 && geteuid() == 0, "child: uid %d/%d, not 0", getuid(),
		      geteuid());
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
