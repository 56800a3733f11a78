/*
 * creds_uid: user and group ids of processes that dropped root: a child with
 * real/effective/saved uids 2001/2002/2003, gids 1001/1002/1003,
 * supplementary groups 100, 200, 300, 65534 and its fs uid and gid moved to
 * the saved ids (2003, 1003); a grandchild with uids and gids all 3000, no
 * supplementary groups, and dumpable set again after the drop cleared it;
 * the main process stays root.
 * Checks: after the restart getresuid(), getresgid(), the fs ids
 * (setfsuid(-1)) and getgroups() of each are what they were, and the
 * ids act: the child can't open a root-only file, can open one owned by
 * uid 2003 (its fs uid) with mode 0600; the grandchild is dumpable.
 * Skip proof: creds (every task comes back as root).
 */
#include "zdtm.h"

#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>

struct ids {
	uid_t r, e, s, fs;
	gid_t rg, eg, sg, fsg;
	int ngroups;
	gid_t groups[16];
};

static void get(struct ids *i)
{
	getresuid(&i->r, &i->e, &i->s);
	getresgid(&i->rg, &i->eg, &i->sg);
	i->fs = setfsuid(-1);
	i->fsg = setfsgid(-1);
	i->ngroups = getgroups(16, i->groups);
}

static void check(const char *who, const struct ids *w)
{
	struct ids c;

	get(&c);
	CHECK(c.r == w->r && c.e == w->e && c.s == w->s && c.fs == w->fs,
	      "%s: uids %u/%u/%u fs %u, were %u/%u/%u fs %u", who, c.r, c.e, c.s, c.fs, w->r, w->e,
	      w->s, w->fs);
	CHECK(c.rg == w->rg && c.eg == w->eg && c.sg == w->sg && c.fsg == w->fsg,
	      "%s: gids %u/%u/%u fs %u, were %u/%u/%u fs %u", who, c.rg, c.eg, c.sg, c.fsg, w->rg,
	      w->eg, w->sg, w->fsg);
	CHECK(c.ngroups == w->ngroups && !memcmp(c.groups, w->groups, c.ngroups * sizeof(gid_t)),
	      "%s: %d supplementary groups, were %d", who, c.ngroups, w->ngroups);
}

static void drop(uid_t r, uid_t e, uid_t s, gid_t rg, gid_t eg, gid_t sg, const gid_t *g, int n)
{
	if (setgroups(n, g) || setresgid(rg, eg, sg) || setresuid(r, e, s))
		test_fatal("drop to %u", r);
}

int main(void)
{
	static const gid_t groups[] = {100, 200, 300, 65534};
	const char *secret = strdup(test_path("secret")), *mine = strdup(test_path("mine"));
	struct ids want;
	struct barrier b;
	pid_t pid, gpid;
	int fd;

	fd = open(secret, O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open(mine, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || fchown(fd, 2003, 1003))
		test_fatal("create");
	close(fd);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			drop(3000, 3000, 3000, 3000, 3000, 3000, NULL, 0);
			prctl(PR_SET_DUMPABLE, 1);
			get(&want);
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", &want);
			CHECK(prctl(PR_GET_DUMPABLE) == 1, "grandchild: not dumpable");
			test_child_done();
		}
		drop(2001, 2002, 2003, 1001, 1002, 1003, groups, ARRAY_SIZE(groups));
		setfsuid(2003);
		setfsgid(1003);
		get(&want);
		if (want.fs != 2003 || want.fsg != 1003)
			test_fatal("setfsuid");
		barrier_signal(&b);
		test_wait_go();
		check("child", &want);
		fd = open(secret, O_RDONLY);
		CHECK(fd < 0 && errno == EACCES, "child: opened a root-only file");
		fd = open(mine, O_RDONLY);
		CHECK(fd >= 0, "child: can't open its fs uid's file: %s", strerror(errno));
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	get(&want);
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", &want);
	reap_child(pid, "child");
	test_done();
}
