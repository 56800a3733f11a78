// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cr: checkpoint, restart and inspect a process tree (a thin tool over
 * libcr, as user-cr's checkpoint/restart/ckptinfo were over the syscalls).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr.h"

enum {
	EXIT_USAGE = 2,
	EXIT_UNSUPPORTED = 3, /* the tree holds state libcr cannot save yet */
	EXIT_BAD_IMAGE = 4,   /* corrupt, truncated or incompatible image */
	EXIT_PID_BUSY = 5,    /* a pid of the image is in use here */
	EXIT_NO_TASK = 6,     /* no such process */
};

static int exit_code(int err)
{
	switch (-err) {
	case 0:
		return 0;
	case ENOTSUP:
	case EAGAIN: /* refused as it is now; it may pass (cr_dump) */
		return EXIT_UNSUPPORTED;
	case EBADMSG:
	case EPROTO:
	case ENOEXEC:
		return EXIT_BAD_IMAGE;
	case EEXIST:
		return EXIT_PID_BUSY;
	case ESRCH:
		return EXIT_NO_TASK;
	default:
		return 1;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cr checkpoint [--leave-running | --kill] [--cgroup DIR] [--owner "
		"UID[:GID]]\n"
		"                     [--digests FILE] [--net-lock] PID DIR\n"
		"       cr restart [--pidns] [--detach] [--rollback-files [--keep-cut DIR[:MAX]]]\n"
		"                  [--inherit-fd KEY=FD]...\n"
		"                  [--owner UID[:GID]] [--verify FILE] [--netns PATH] [--net-lock] "
		"DIR\n"
		"                  [--cpu-map OLD:NEW[,OLD:NEW]...]\n"
		"       cr info [--json] DIR\n"
		"\n"
		"checkpoint  freeze the tree rooted at PID, write its image into DIR (new),\n"
		"            then let it run on (--leave-running, default) or kill it (--kill).\n"
		"            --cgroup DIR: a freezer cgroup holding exactly the tree.\n"
		"            --digests FILE: write the image files' chunk digests to FILE (JSON).\n"
		"            --net-lock: lock the tree's net namespace (not cr's own) while it\n"
		"            is frozen; unlocked if it runs on, left locked for restart if "
		"killed.\n"
		"restart     rebuild the tree with its pids, wait for the root and exit with\n"
		"            its status (128+N if killed by signal N). --pidns: in a new pid\n"
		"            namespace. --detach: print the root pid once it runs and exit.\n"
		"            --inherit-fd KEY=FD: FD stands for the image's file KEY\n"
		"            (stdin, stdout, stderr: default the restarter's 0, 1, 2).\n"
		"            --rollback-files: files open for writing that grew since the\n"
		"            checkpoint are truncated back once the tree is built; shrunk,\n"
		"            missing or replaced ones refused first. --keep-cut DIR[:MAX]:\n"
		"            what is cut goes to DIR first (N.tail, listed in DIR/index):\n"
		"            cloned where DIR shares the file's filesystem, else copied up\n"
		"            to MAX bytes in all (default 64 MiB). --abort (tests): build\n"
		"            the tree, then abort it instead of resuming; exits 1.\n"
		"            --verify FILE: read the image only through the digests in FILE\n"
		"            (from checkpoint --digests); a mismatch is refused (exit 4).\n"
		"            --netns PATH: restore into that net namespace (/proc/PID/ns/net).\n"
		"            --net-lock: lock it (again) while the sockets are rebuilt, unlock\n"
		"            it when the tree resumes (needed for established TCP).\n"
		"            --cpu-map OLD:NEW,...: each thread's saved affinity with CPU OLD\n"
		"            replaced by NEW (CPUs not listed dropped; none left: refused).\n"
		"info        describe an image (--json: machine-readable).\n"
		"--owner UID[:GID]  the owner policy: the tree belongs to UID (primary group\n"
		"            GID, default the user's; its groups from the group database) and\n"
		"            may hold no more: ids, groups, no capabilities, a bounding set and\n"
		"            limits within cr's own. checkpoint refuses a tree that holds more,\n"
		"            restart an image that would (before any task is created).\n"
		"\n"
		"Common options: -v (more messages, repeatable), -h/--help.\n"
		"Exit codes: 0 success, 1 failure, 2 usage, 3 unsupported state,\n"
		"            4 bad or incompatible image, 5 pid in use, 6 no such process.\n");
}

/* --owner UID[:GID]: groups from the user database, bounding set and limits our own. */
struct owner_arg {
	struct cr_owner o;
	gid_t groups[256];
};

static int parse_owner(const char *arg, struct owner_arg *oa)
{
	struct passwd *pw;
	char *end;
	int n = 256;

	memset(oa, 0, sizeof(*oa));
	oa->o.uid = strtoul(arg, &end, 10);
	if (end == arg || (*end && *end != ':') || (*end == ':' && !end[1]))
		return -EINVAL;
	pw = getpwuid(oa->o.uid);
	oa->o.gid = *end ? strtoul(end + 1, NULL, 10) : pw ? pw->pw_gid : oa->o.uid;
	if (pw && getgrouplist(pw->pw_name, oa->o.gid, oa->groups, &n) < 0) {
		fprintf(stderr, "cr: user %s is in more than 256 groups\n", pw->pw_name);
		return -E2BIG;
	}
	oa->o.groups = oa->groups;
	oa->o.ngroups = pw ? (size_t)n : 0;
	return cr_owner_from_task(getpid(), &oa->o);
}

static int write_digests(const struct cr_digests *dg, const char *path)
{
	char *json = NULL;
	FILE *f = NULL;
	int ret = cr_digests_to_json(dg, &json);

	if (!ret && (!(f = fopen(path, "wx")) || fputs(json, f) < 0 || fputc('\n', f) < 0))
		ret = -errno;
	if (f && fclose(f) && !ret)
		ret = -errno;
	free(json);
	if (ret)
		fprintf(stderr, "cr: can't write the digests to %s: %s\n", path, strerror(-ret));
	return ret ? 1 : 0;
}

/* The digest list in @path; NULL (said why) if it can't be read or isn't one. */
static struct cr_digests *read_digests(const char *path)
{
	struct cr_digests *dg = NULL;
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	if (!f || getdelim(&text, &len, '\0', f) < 0 || cr_digests_from_json(text, &dg))
		fprintf(stderr, "cr: %s is not a digest list\n", path);
	if (f)
		fclose(f);
	free(text);
	return dg;
}

/* Dump and release; with @digests, the digest list written there. */
static int dump_release(struct cr_frozen *f, pid_t pid, const char *dir, enum cr_release_mode mode,
			const char *digests)
{
	struct cr_digests *dg = NULL;
	int ret = cr_dump_ex(f, dir, digests ? &dg : NULL);

	/* a failed dump never kills: the tree runs on as it was */
	cr_release(f, ret ? CR_RESUME : mode);
	if (ret) {
		fprintf(stderr, "cr: checkpoint of %d failed: %s\n", pid, strerror(-ret));
		return exit_code(ret);
	}
	ret = digests ? write_digests(dg, digests) : 0;
	cr_digests_free(dg);
	return ret;
}

static int cmd_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"leave-running", no_argument, NULL, 'l'}, {"kill", no_argument, NULL, 'k'},
		{"cgroup", required_argument, NULL, 'c'},  {"owner", required_argument, NULL, 'o'},
		{"digests", required_argument, NULL, 'D'}, {"net-lock", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},	   {0},
	};
	const char *digests = NULL;
	struct cr_freeze_opts fo = {0};
	struct owner_arg owner;
	enum cr_release_mode mode = CR_RESUME;
	struct cr_frozen *f;
	int c, ret;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "lkc:o:D:Nh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_owner(optarg, &owner)) {
				fprintf(stderr, "cr: --owner takes UID[:GID]\n");
				return EXIT_USAGE;
			}
			fo.owner = &owner.o;
			break;
		case 'l':
			mode = CR_RESUME;
			break;
		case 'k':
			mode = CR_KILL;
			break;
		case 'c':
			fo.cgroup = optarg;
			break;
		case 'D':
			digests = optarg;
			break;
		case 'N':
			fo.net_lock = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || (pid = atoi(argv[optind])) <= 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ret = cr_freeze(pid, &fo, &f);
	if (ret) {
		fprintf(stderr, "cr: can't freeze %d: %s\n", pid, strerror(-ret));
		return exit_code(ret);
	}
	return dump_release(f, pid, argv[optind + 1], mode, digests);
}

static pid_t forward_to;

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static int wait_child(pid_t child, pid_t root)
{
	static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = forward_signal};
	int status;

	forward_to = root;
	for (size_t i = 0; i < sizeof(fwd) / sizeof(*fwd); i++)
		sigaction(fwd[i], &sa, NULL);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			perror("cr: waitpid");
			return 1;
		}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int add_inherit(struct cr_inherit_fd **inh, size_t *n, char *arg)
{
	char *eq = strchr(arg, '=');
	struct cr_inherit_fd *ni;

	if (!eq || eq == arg || !eq[1])
		return -EINVAL;
	*eq = '\0';
	ni = realloc(*inh, (*n + 1) * sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	ni[*n].key = arg;
	ni[*n].fd = atoi(eq + 1);
	*inh = ni;
	(*n)++;
	return 0;
}

/* --cpu-map OLD:NEW[,OLD:NEW]...: into @map, indexed by OLD, -1 elsewhere. */
static int parse_cpu_map(const char *arg, int *map, size_t *n)
{
	const char *p = arg;
	long from, to;
	char *e;

	for (size_t i = 0; i < 1024; i++)
		map[i] = -1;
	*n = 0;
	while (*p) {
		from = strtol(p, &e, 10);
		if (e == p || *e != ':' || from < 0 || from >= 1024)
			return -EINVAL;
		p = e + 1;
		to = strtol(p, &e, 10);
		if (e == p || (*e && *e != ',') || to < 0 || to >= 1024)
			return -EINVAL;
		map[from] = (int)to;
		*n = (size_t)from + 1 > *n ? (size_t)from + 1 : *n;
		p = *e ? e + 1 : e;
	}
	return *n ? 0 : -EINVAL;
}

/* Rebuild the tree from @dir, then resume it (or abort it: --abort) and wait for it. */
static int restart(const char *dir, const struct cr_restore_opts *ro, const char *keep_dir,
		   struct cr_rollback_keep *keep, bool detach, bool abort_built)
{
	struct cr_restored *r;
	pid_t child, root;
	int ret;

	/* orphans of the restored tree come to us, not to the machine's init */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = cr_restore(dir, ro, &r);
	if (ret) {
		fprintf(stderr, "cr: restart from %s failed: %s\n", dir, strerror(-ret));
		return exit_code(ret);
	}
	if (abort_built) {
		cr_abort(r);
		fprintf(stderr, "cr: restart from %s aborted once the tree was built (--abort)\n",
			dir);
		return 1;
	}
	child = cr_restored_child(r);
	root = cr_restored_root(r);
	/* now: cr_restore rearranges the fds of the restarter, which builds the tree */
	keep->dirfd = keep_dir ? open(keep_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (keep_dir && keep->dirfd < 0) {
		ret = -errno;
		cr_abort(r);
		fprintf(stderr, "cr: --keep-cut %s: %s\n", keep_dir, strerror(-ret));
		return 1;
	}
	ret = cr_rollback_keep(r, keep_dir ? keep : NULL);
	if (keep->dirfd >= 0)
		close(keep->dirfd);
	if (ret) {
		cr_abort(r);
		fprintf(stderr, "cr: can't roll the files back: %s\n", strerror(-ret));
		return 1;
	}
	ret = cr_resume(r);
	if (ret) {
		fprintf(stderr, "cr: can't resume the restored tree: %s\n", strerror(-ret));
		return 1;
	}
	if (detach) {
		printf("%d\n", root);
		return 0;
	}
	return wait_child(child, root);
}

struct restart_args {
	struct cr_restore_opts ro;
	struct owner_arg owner;
	struct cr_inherit_fd *inh;
	size_t ninh;
	const char *verify;
	const char *keep_dir; /* --keep-cut; opened once the tree is built */
	struct cr_rollback_keep keep;
	bool detach, abort_built;
	int cpu_map[1024];
};

/* --keep-cut DIR[:MAX]: where the rollback keeps what it cuts (default bound 64 MiB). */
static int parse_keep(char *arg, struct restart_args *a)
{
	char *colon = strrchr(arg, ':'), *end;

	a->keep.max_copy = 64ull << 20;
	if (colon) {
		*colon = '\0';
		a->keep.max_copy = strtoull(colon + 1, &end, 10);
		if (end == colon + 1 || *end)
			return -EINVAL;
	}
	a->keep_dir = arg;
	return 0;
}

/* The restart options that take a value: -1 (said why) when it is not one. */
static int parse_restart_value(int c, char *arg, struct restart_args *a)
{
	switch (c) {
	case 'o':
		if (parse_owner(arg, &a->owner)) {
			fprintf(stderr, "cr: --owner takes UID[:GID]\n");
			return -1;
		}
		a->ro.owner = &a->owner.o;
		return 0;
	case 'k':
		if (parse_keep(arg, a)) {
			fprintf(stderr, "cr: --keep-cut takes DIR[:MAXBYTES]\n");
			return -1;
		}
		return 0;
	case 'C':
		if (parse_cpu_map(arg, a->cpu_map, &a->ro.ncpu_map)) {
			fprintf(stderr,
				"cr: --cpu-map takes OLD:NEW[,OLD:NEW]... (CPUs below 1024)\n");
			return -1;
		}
		a->ro.cpu_map = a->cpu_map;
		return 0;
	default: /* 'i' */
		if (add_inherit(&a->inh, &a->ninh, arg)) {
			fprintf(stderr, "cr: --inherit-fd takes KEY=FD\n");
			return -1;
		}
		return 0;
	}
}

/* Options that need another: true (said which) when one is missing. */
static bool restart_args_conflict(const struct restart_args *a)
{
	if (a->keep_dir && !a->ro.rollback_files) {
		fprintf(stderr, "cr: --keep-cut needs --rollback-files\n");
		return true;
	}
	if (a->ro.net_lock && !a->ro.netns) {
		fprintf(stderr,
			"cr: --net-lock needs --netns: cr's own namespace is never locked\n");
		return true;
	}
	return false;
}

/* 0, or the exit status to return now (usage error, or 0 after --help). */
static int parse_restart(int argc, char **argv, struct restart_args *a, bool *done)
{
	static const struct option opts[] = {
		{"pidns", no_argument, NULL, 'p'},
		{"detach", no_argument, NULL, 'd'},
		{"inherit-fd", required_argument, NULL, 'i'},
		{"skip", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"rollback-files", no_argument, NULL, 'r'},
		{"owner", required_argument, NULL, 'o'},
		{"abort", no_argument, NULL, 'a'},
		{"verify", required_argument, NULL, 'V'},
		{"net-lock", no_argument, NULL, 'N'},
		{"netns", required_argument, NULL, 'n'},
		{"keep-cut", required_argument, NULL, 'k'},
		{"cpu-map", required_argument, NULL, 'C'},
		{0},
	};
	int c;

	*done = true;
	while ((c = getopt_long(argc, argv, "pdi:s:hrao:V:Nn:k:C:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->ro.new_pidns = true;
			break;
		case 'd':
			a->detach = true;
			break;
		case 'r':
			a->ro.rollback_files = true;
			break;
		case 'a': /* test: a coordinator that aborts once the tree is built */
			a->abort_built = true;
			break;
		case 'V':
			a->verify = optarg;
			break;
		case 'N':
			a->ro.net_lock = true;
			break;
		case 'n':
			a->ro.netns = optarg;
			break;
		case 'o':
		case 'k':
		case 'C':
		case 'i':
			if (parse_restart_value(c, optarg, a))
				return EXIT_USAGE;
			break;
		case 's': /* debug: kinds of state not to restore, for tests */
			a->ro.skip = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (restart_args_conflict(a))
		return EXIT_USAGE;
	*done = false;
	return 0;
}

static int cmd_restart(int argc, char **argv)
{
	struct restart_args a = {0};
	struct cr_digests *dg = NULL;
	bool done;
	int ret;

	ret = parse_restart(argc, argv, &a, &done);
	if (done || (a.verify && !(dg = read_digests(a.verify)))) {
		free(a.inh);
		return done ? ret : EXIT_USAGE;
	}
	a.ro.digests = dg;
	a.ro.inherit = a.inh;
	a.ro.ninherit = a.ninh;
	ret = restart(argv[optind], &a.ro, a.keep_dir, &a.keep, a.detach, a.abort_built);
	free(a.inh);
	cr_digests_free(dg);
	return ret;
}

static void print_human(const char *text)
{
	json_t *j = json_loads(text, 0, NULL), *t;
	size_t i;

	if (!j)
		return;
	printf("image version %lld, %s, kernel %s, %lld tasks, %lld bytes of data\n",
	       json_integer_value(json_object_get(j, "version")),
	       json_string_value(json_object_get(j, "arch")),
	       json_string_value(json_object_get(j, "kernel")),
	       json_integer_value(json_object_get(j, "ntasks")),
	       json_integer_value(json_object_get(j, "data_bytes")));
	json_array_foreach(json_object_get(j, "tasks"), i, t)
	{
		printf("  pid %-7lld ppid %-7lld pgid %-7lld sid %-7lld %-16s threads %zu "
		       "mappings %zu fds %zu pages %lld bytes%s\n",
		       json_integer_value(json_object_get(t, "pid")),
		       json_integer_value(json_object_get(t, "ppid")),
		       json_integer_value(json_object_get(t, "pgid")),
		       json_integer_value(json_object_get(t, "sid")),
		       json_string_value(json_object_get(t, "comm")),
		       json_array_size(json_object_get(t, "threads")),
		       json_array_size(json_object_get(t, "mappings")),
		       json_array_size(json_object_get(t, "fds")),
		       json_integer_value(json_object_get(t, "pages_bytes")),
		       json_is_true(json_object_get(t, "zombie")) ? " (zombie)" : "");
	}
	json_decref(j);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool as_json = false;
	char *text;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			as_json = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ret = cr_image_describe(argv[optind], &text);
	if (ret) {
		fprintf(stderr, "cr: can't read image %s: %s\n", argv[optind], strerror(-ret));
		return exit_code(ret);
	}
	if (as_json)
		printf("%s\n", text);
	else
		print_human(text);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	int verbose = 0;

	while (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "-vv"))) {
		verbose += strlen(argv[1]) - 1;
		argv++;
		argc--;
	}
	cr_log_setup(2, verbose >= 2 ? CR_LOG_DEBUG : verbose ? CR_LOG_INFO : CR_LOG_WARN);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "checkpoint"))
		return cmd_checkpoint(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restart"))
		return cmd_restart(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "cr: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
