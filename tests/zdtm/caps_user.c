/*
 * caps_user: capabilities of a non-root task. A child keeps some capabilities across setresuid()
 * to uid 1000 (PR_SET_KEEPCAPS): permitted CHOWN, NET_BIND_SERVICE,
 * SYS_NICE, KILL; effective CHOWN, KILL; inheritable NET_BIND_SERVICE,
 * SYS_NICE; ambient NET_BIND_SERVICE; bounding set without SYS_BOOT,
 * MKNOD and NET_RAW. The main process stays root with a bounding set
 * without SYS_MODULE and an inheritable set of SETUID.
 * Checks: after the restart capget() reads back each set exactly (both
 * 32-bit words), PR_CAPBSET_READ every capability of the bounding set,
 * PR_CAP_AMBIENT_IS_SET every ambient one, PR_GET_KEEPCAPS the keep-caps
 * flag; and the child's CAP_CHOWN still acts (it chowns a root file).
 * (The same for root tasks: caps.)
 * Skip proof: creds.
 */
#include "zdtm.h"

#include <linux/capability.h>
#include <sys/prctl.h>

struct caps {
	struct __user_cap_data_struct d[2];
	uint64_t bnd, amb;
	int keep;
};

static int last_cap(void)
{
	char buf[16];

	return read_text("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0 ? atoi(buf) : 40;
}

static void get(struct caps *c)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	memset(c, 0, sizeof(*c));
	syscall(SYS_capget, &h, c->d);
	for (int i = 0; i <= last_cap(); i++) {
		if (prctl(PR_CAPBSET_READ, i) == 1)
			c->bnd |= 1ULL << i;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
			c->amb |= 1ULL << i;
	}
	c->keep = prctl(PR_GET_KEEPCAPS);
}

static void set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
		{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
		{(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
	};

	if (syscall(SYS_capset, &h, d))
		test_fatal("capset");
}

static void check(const char *who, const struct caps *w)
{
	struct caps c;

	get(&c);
	for (int i = 0; i < 2; i++)
		CHECK(c.d[i].effective == w->d[i].effective &&
			      c.d[i].permitted == w->d[i].permitted &&
			      c.d[i].inheritable == w->d[i].inheritable,
		      "%s: caps word %d eff %#x prm %#x inh %#x, were %#x %#x %#x", who, i,
		      c.d[i].effective, c.d[i].permitted, c.d[i].inheritable, w->d[i].effective,
		      w->d[i].permitted, w->d[i].inheritable);
	CHECK(c.bnd == w->bnd, "%s: bounding set %#llx, was %#llx", who, (unsigned long long)c.bnd,
	      (unsigned long long)w->bnd);
	CHECK(c.amb == w->amb, "%s: ambient set %#llx, was %#llx", who, (unsigned long long)c.amb,
	      (unsigned long long)w->amb);
	CHECK(c.keep == w->keep, "%s: keep-caps %d, was %d", who, c.keep, w->keep);
}

#define BIT(c) (1ULL << (c))

int main(void)
{
	const char *file = strdup(test_path("rootfile"));
	struct caps want;
	struct barrier b;
	struct stat st;
	pid_t pid;
	int fd;

	fd = open(file, O_CREAT | O_WRONLY, 0644);
	close(fd);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		uint64_t prm = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_NICE) |
			       BIT(CAP_KILL);
		uint64_t inh = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_NICE);

		if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) || prctl(PR_CAPBSET_DROP, CAP_MKNOD) ||
		    prctl(PR_CAPBSET_DROP, CAP_NET_RAW) || prctl(PR_SET_KEEPCAPS, 1) ||
		    setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			test_fatal("drop");
		set(BIT(CAP_CHOWN) | BIT(CAP_KILL), prm, inh);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
			test_fatal("ambient raise");
		get(&want);
		barrier_signal(&b);
		test_wait_go();
		check("child", &want);
		CHECK(chown(file, 1000, 1000) == 0, "child: CAP_CHOWN does not act: %s",
		      strerror(errno));
		test_child_done();
	}
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE))
		test_fatal("bounding drop");
	get(&want);
	set(((uint64_t)want.d[1].effective << 32) | want.d[0].effective,
	    ((uint64_t)want.d[1].permitted << 32) | want.d[0].permitted, BIT(CAP_SETUID));
	get(&want);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	check("main", &want);
	reap_child(pid, "child");
	CHECK(!stat(file, &st) && st.st_uid == 1000, "the child's chown did not happen");
	test_done();
}
