/*
 * creds_groups: supplementary groups of root tasks: a child with groups
 * 100, 200, 300 and 65534, a grandchild with none, the main process with
 * whatever it started with. (Tasks with other uids or gids: creds_uid.)
 * Checks: after the restart getgroups() reads back each one's list, and
 * it acts: with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped, the child
 * can read a file of group 200 with mode 0040.
 * Skip proof: creds.
 */
#include "zdtm.h"

#include <grp.h>
#include <linux/capability.h>

static void check(const char *who, const gid_t *want, int n)
{
	gid_t cur[32];
	int m = getgroups(32, cur);

	CHECK(m == n && !memcmp(cur, want, n * sizeof(gid_t)),
	      "%s: %d supplementary groups (first %u), were %d (first %u)", who, m,
	      m > 0 ? cur[0] : 0, n, n > 0 ? want[0] : 0);
}

static void drop_dac(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	syscall(SYS_capget, &h, d);
	d[0].effective &= ~(1u << CAP_DAC_OVERRIDE | 1u << CAP_DAC_READ_SEARCH);
	if (syscall(SYS_capset, &h, d))
		test_fatal("capset");
}

int main(void)
{
	static const gid_t groups[] = {100, 200, 300, 65534};
	const char *file = strdup(test_path("group200"));
	gid_t mine[32];
	struct barrier b;
	pid_t pid, gpid;
	int n, fd;

	fd = open(file, O_CREAT | O_WRONLY, 0040);
	if (fd < 0 || fchown(fd, 4321, 200))
		test_fatal("create");
	close(fd);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		if (setgroups(ARRAY_SIZE(groups), groups))
			test_fatal("setgroups");
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			if (setgroups(0, NULL))
				test_fatal("setgroups");
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", NULL, 0);
			test_child_done();
		}
		drop_dac();
		barrier_signal(&b);
		test_wait_go();
		check("child", groups, ARRAY_SIZE(groups));
		fd = open(file, O_RDONLY);
		CHECK(fd >= 0, "child: can't read its group's file: %s", strerror(errno));
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	n = getgroups(32, mine);
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", mine, n);
	reap_child(pid, "child");
	test_done();
}
