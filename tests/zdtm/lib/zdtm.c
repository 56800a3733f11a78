/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the per-kind C/R state tests: see zdtm.h. */
#include "zdtm.h"

#include <dirent.h>
#include <pthread.h>

#define GO_TIMEOUT_MS 60000

static char fail_buf[2048];
static size_t fail_len;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void out(const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(STDOUT_FILENO, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= w;
	}
}

const char *test_dir(void)
{
	const char *d = getenv("ZDTM_DIR");

	return d ? d : "/tmp";
}

const char *test_go_path(void)
{
	const char *g = getenv("ZDTM_GO");

	if (!g) {
		out("FAIL: ZDTM_GO is not set\n");
		exit(1);
	}
	return g;
}

const char *test_path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", test_dir(), name);
	return b;
}

const char *test_uniq(void)
{
	static char u[64];
	const char *d = test_dir(), *e = d + strlen(d), *b;

	if (!u[0]) {
		while (e > d && e[-1] == '/')
			e--;
		while (e > d && e[-1] != '/')
			e--; /* "work" */
		b = e > d ? e - 1 : e;
		while (b > d && b[-1] != '/')
			b--; /* "zdtm.XXXXXX" */
		snprintf(u, sizeof(u), "%.*s", (int)(e > b ? e - b - 1 : 0), b);
		if (!u[0])
			snprintf(u, sizeof(u), "zdtm.%d", getpid());
	}
	return u;
}

void test_ready(void)
{
	test_go_path(); /* fail early if it is missing */
	out("READY\n");
}

bool test_go_seen(void)
{
	return access(test_go_path(), F_OK) == 0;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void test_wait_go_alt(const char *alt)
{
	const char *go = test_go_path();
	uint64_t end = now_ms() + GO_TIMEOUT_MS;

	while (access(go, F_OK) && (!alt || access(alt, F_OK))) {
		struct timespec ts = {0, 10 * 1000000L};

		if (now_ms() > end) {
			out("FAIL: no go file after 60 s\n");
			_exit(1);
		}
		nanosleep(&ts, NULL);
	}
}

void test_wait_go(void)
{
	test_wait_go_alt(NULL);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	if (fail_len && fail_len < sizeof(fail_buf) - 2) {
		fail_buf[fail_len++] = ';';
		fail_buf[fail_len++] = ' ';
	}
	if (fail_len < sizeof(fail_buf)) {
		va_start(ap, fmt);
		vsnprintf(fail_buf + fail_len, sizeof(fail_buf) - fail_len, fmt, ap);
		va_end(ap);
		fail_len = strlen(fail_buf);
	}
	pthread_mutex_unlock(&fail_lock);
}

bool test_failed(void)
{
	return fail_len != 0;
}

void test_done(void)
{
	char line[sizeof(fail_buf) + 16];

	if (!fail_len) {
		out("PASS\n");
		exit(0);
	}
	snprintf(line, sizeof(line), "FAIL: %s\n", fail_buf);
	out(line);
	exit(1);
}

void test_fatal(const char *fmt, ...)
{
	char line[512], msg[400];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "FAIL: %s (%s)\n", msg, strerror(e));
	out(line);
	_exit(1);
}

void test_child_done(void)
{
	char line[sizeof(fail_buf) + 32];

	if (!fail_len)
		_exit(0);
	snprintf(line, sizeof(line), "child %d: %s\n", getpid(), fail_buf);
	out(line);
	_exit(1);
}

int wait_child(pid_t pid, int ms)
{
	uint64_t end = now_ms() + ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG | __WALL);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() > end)
			return -1;
		msleep(2);
	}
}

void reap_child(pid_t pid, const char *what)
{
	int status = wait_child(pid, 5000);

	if (status == -1)
		fail("%s (pid %d) did not exit", what, pid);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s (pid %d) ended with status %#x", what, pid, status);
}

pid_t xgettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void barrier_init(struct barrier *b)
{
	if (pipe(b->fd))
		test_fatal("pipe");
}

void barrier_signal(struct barrier *b)
{
	char c = 'r';

	if (write(b->fd[1], &c, 1) != 1)
		test_fatal("barrier write");
	close(b->fd[0]);
	close(b->fd[1]);
}

void barrier_wait(struct barrier *b, int n)
{
	char c;

	close(b->fd[1]);
	for (int i = 0; i < n; i++)
		if (read(b->fd[0], &c, 1) != 1)
			test_fatal("a child died before it was ready");
	close(b->fd[0]);
}

ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
	return n;
}

int smaps_value(const void *addr, const char *key, char *out, size_t len)
{
	static char buf[1 << 20];
	char *line, *save = NULL;
	bool in = false;

	if (read_text("/proc/self/smaps", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) { /* a mapping's header line */
			in = (unsigned long)addr >= s && (unsigned long)addr < e;
			if (in && !key) {
				snprintf(out, len, "%s", line);
				return 0;
			}
			continue;
		}
		if (in && key && !strncmp(line, key, strlen(key))) {
			snprintf(out, len, "%s", line + strlen(key));
			return 0;
		}
	}
	return -1;
}

int vm_flags(const void *addr, char *out, size_t len)
{
	return smaps_value(addr, "VmFlags:", out, len);
}

bool has_vm_flag(const void *addr, const char *flag)
{
	char f[256], *tok, *save = NULL;

	if (vm_flags(addr, f, sizeof(f)))
		return false;
	for (tok = strtok_r(f, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, flag))
			return true;
	return false;
}

int maps_line(const void *addr, char *out, size_t len)
{
	char l[512];
	unsigned long s, e;
	char perms[8];

	if (smaps_value(addr, NULL, l, sizeof(l)))
		return -1;
	if (sscanf(l, "%lx-%lx %7s", &s, &e, perms) != 3)
		return -1;
	snprintf(out, len, "%lx-%lx %s", s, e, perms);
	return 0;
}

/* The syscall thread @dir (/proc/self/task/N) sits in, or -1. */
static long task_syscall(const char *dir)
{
	char path[320], buf[256];

	snprintf(path, sizeof(path), "%.300s/syscall", dir);
	return read_text(path, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Is some thread of ours but the caller in syscall @nr or @nr2? (For a
 * restored copy in a new pid namespace: /proc is the restarter's, where our
 * tids have other numbers.) */
static bool other_in_syscall(long nr, long nr2)
{
	char self[64] = "", path[300];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	DIR *d;

	n = readlink("/proc/thread-self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	d = opendir("/proc/self/task");
	while (d && !found && (de = readdir(d))) {
		long cur;

		if (de->d_name[0] == '.' ||
		    (strrchr(self, '/') && !strcmp(strrchr(self, '/') + 1, de->d_name)))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.200s", de->d_name);
		cur = task_syscall(path);
		found = cur == nr || cur == nr2;
	}
	if (d)
		closedir(d);
	return found;
}

int wait_in_syscall2(pid_t tid, long nr, long nr2)
{
	char path[64], self[32] = "";
	uint64_t end = now_ms() + 2000;
	bool same_ns;
	ssize_t n;

	n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	same_ns = atoi(self) == getpid();
	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	while (now_ms() < end) {
		long cur = same_ns ? task_syscall(path) : -1;

		if (cur == nr || cur == nr2 || (!same_ns && other_in_syscall(nr, nr2)))
			return 0;
		msleep(1);
	}
	return -1;
}
