/*
 * securebits: a child running as root with SECBIT_NOROOT,
 * SECBIT_NO_SETUID_FIXUP and SECBIT_KEEP_CAPS set and SECBIT_NOROOT
 * locked; a grandchild, root with only CAP_KILL and CAP_SETPCAP left,
 * with SECBIT_NO_CAP_AMBIENT_RAISE set and locked and no ambient
 * capability. (With an ambient capability: securebits_ambient.)
 * Checks: after the restart PR_GET_SECUREBITS reads back each one's bits,
 * and they act: the locked bit can't be cleared (EPERM), the grandchild
 * can't raise an ambient capability (EPERM) and keeps its capability sets.
 * Skip proof: creds.
 */
#include "zdtm.h"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

static void check(const char *who, int want)
{
	int cur = prctl(PR_GET_SECUREBITS);

	CHECK(cur == want, "%s: securebits %#x, were %#x", who, cur, want);
}

int main(void)
{
	const int child_bits =
		SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS;
	struct barrier b;
	pid_t pid, gpid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
			const uint32_t keep = 1u << CAP_KILL | 1u << CAP_SETPCAP;
			struct __user_cap_data_struct d[2] = {{keep, keep, keep}, {0, 0, 0}};
			int bits;

			if (syscall(SYS_capset, &h, d) ||
			    prctl(PR_SET_SECUREBITS,
				  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED))
				test_fatal("grandchild set-up");
			bits = prctl(PR_GET_SECUREBITS);
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", bits);
			CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == -1 &&
				      errno == EPERM,
			      "grandchild: raised an ambient cap under NO_CAP_AMBIENT_RAISE");
			memset(d, 0, sizeof(d));
			syscall(SYS_capget, &h, d);
			CHECK(d[0].effective == keep && d[0].permitted == keep &&
				      d[0].inheritable == keep && !d[1].effective &&
				      !d[1].permitted,
			      "grandchild: caps eff %#x prm %#x inh %#x", d[0].effective,
			      d[0].permitted, d[0].inheritable);
			test_child_done();
		}
		if (prctl(PR_SET_SECUREBITS, child_bits))
			test_fatal("PR_SET_SECUREBITS");
		barrier_signal(&b);
		test_wait_go();
		check("child", child_bits);
		CHECK(prctl(PR_SET_SECUREBITS, child_bits & ~SECBIT_NOROOT) == -1 && errno == EPERM,
		      "child: cleared a locked securebit");
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", 0);
	reap_child(pid, "child");
	test_done();
}
