/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Engine workload: a multi-process, multi-threaded tree whose stdout is the
 * same on every run, interrupted or not.
 *
 *	tree DIR
 *
 * The parent P prints one line per step (NSTEPS steps, ~STEP_MS apart) and a
 * summary; every value printed is derived from state a checkpoint must carry:
 *
 *  - child A (setsid) reads work items that P wrote up front into a pipe (so
 *    the pipe holds data all along), computes with a worker thread and sends
 *    results back on a second pipe;
 *  - child B (setpgid(0,0)) writes values into a MAP_SHARED|MAP_ANONYMOUS
 *    region that P reads, and its "holder" thread takes a process-shared
 *    robust mutex and exits holding it (the kernel must walk the restored
 *    robust list: P then gets EOWNERDEAD, not a timeout);
 *  - two worker threads in P (mutex/condvar hand-off, __thread counters,
 *    double-precision work in registers) are joined with a timeout at the end
 *    (clear_child_tid must be restored or the join times out);
 *  - DIR/tree.dat is written with write() at the current offset, an lseek()
 *    and pwrite(); the offset is printed each step and the file's checksum
 *    in the summary;
 *  - SIGUSR1 has a handler on a sigaltstack, raised at known steps; SIGUSR2
 *    is blocked, raised at step 3 and stays pending until step 20; SIGURG is
 *    blocked throughout; mask, handler and altstack are checked every step;
 *  - child Z exits 42 at once and stays a zombie until step 24.
 *
 * A fresh start appends one line to the file named by $CR_START_LOG.
 *
 * Test hook: CR_TREE_LOSE=KIND makes the program drop one kind of state
 * (at step LOSE_STEP where that applies), as a restore that forgot it would;
 *tests/engine/selftest.sh uses it to prove the output shows each loss. Never set in engine tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSTEPS	   30
#define STEP_MS	   90 /* CR_ENGINE_STEP_MS overrides it (the sanitized pass: slower cr) */
#define LOSE_STEP  12
#define PEND_STEP  3  /* SIGUSR2 raised while blocked */
#define UNBLK_STEP 20 /* SIGUSR2 unblocked */
#define REAP_STEP  24 /* zombie reaped */
#define FREE_STEP  22 /* B's holder thread exits holding the robust mutex */
#define SEEK_STEP  15 /* lseek of the data file */
#define PWR_BASE   4096
#define ALTSZ	   (64 * 1024)
#define A_EXIT	   10
#define B_EXIT	   11
#define Z_EXIT	   42
#define JOIN_SEC   3

struct shared {
	pthread_mutex_t robust;
	uint32_t vals[NSTEPS];
};

/* A job hand-off between one thread and its workers. */
struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int gen;  /* bumped for each job */
	unsigned int done; /* workers finished with job gen */
	int quit;
	uint32_t arg;
	uint32_t res[2];
};

struct worker {
	struct pool *pool;
	int idx;
	uint32_t (*fn)(uint32_t arg);
};

static const char *lose;
static long step_ms = STEP_MS;
static char altstack[ALTSZ] __attribute__((aligned(16)));
static volatile sig_atomic_t n_usr1, n_usr1_alt, n_usr2;
static __thread unsigned int tl_jobs;
static int failed;

static int losing(const char *kind)
{
	return lose && !strcmp(lose, kind);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tree[%d]: ", getpid());
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	va_end(ap);
	_exit(99);
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 16777619u;
	return h;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* 1 on success, 0 on EOF before anything was read. */
static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read fd %d", fd);
		if (r == 0) {
			if (got)
				die("short read fd %d", fd);
			return 0;
		}
		got += r;
	}
	return 1;
}

static void write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("write fd %d", fd);
		put += r;
	}
}

static void start_log(const char *name)
{
	const char *path = getenv("CR_START_LOG");
	char line[64];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s", path);
	n = snprintf(line, sizeof(line), "%s pid %d\n", name, getpid());
	write_full(fd, line, n);
	close(fd);
}

/* Integer work: an xorshift chain. */
static uint32_t work_int(uint32_t arg)
{
	uint32_t x = arg * 2654435761u + 1;
	int i;

	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
	}
	return x ^ ++tl_jobs;
}

/* Floating-point work: live xmm state while a checkpoint may land. */
static uint32_t work_fp(uint32_t arg)
{
	double x = 1.0 + arg, y = 0.5;
	uint64_t bits;
	int i;

	for (i = 0; i < 400000; i++) {
		x = x * 0.9999993 + (double)(i ^ arg) * 1e-7;
		y = y * 1.0000001 + x * 1e-9;
	}
	x += y;
	memcpy(&bits, &x, sizeof(bits));
	return (uint32_t)(bits ^ (bits >> 32)) ^ ++tl_jobs;
}

static void block_all_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	unsigned int seen = 0;

	block_all_signals();
	if (losing("tid") && w->idx == 0)
		syscall(SYS_set_tid_address, NULL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->lock);
		uint32_t r = w->fn(p->arg);
		pthread_mutex_lock(&p->lock);
		p->res[w->idx] = r;
		p->done++;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

/* Run one job on @nworkers workers and wait for all of them. */
static void pool_run(struct pool *p, int nworkers, uint32_t arg)
{
	pthread_mutex_lock(&p->lock);
	p->arg = arg;
	p->done = 0;
	p->gen++;
	pthread_cond_broadcast(&p->cond);
	while (p->done < (unsigned int)nworkers)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void pool_quit(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* pthread_join with a deadline: 0 or ETIMEDOUT. */
static int join_timed(pthread_t t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += JOIN_SEC;
	return pthread_timedjoin_np(t, NULL, &ts);
}

static void start_worker(pthread_t *t, struct worker *w)
{
	errno = pthread_create(t, NULL, worker_main, w);
	if (errno)
		die("pthread_create");
}

/* Child A: setsid(), turn items from @in into results on @out. */
static void child_a(int in, int out)
{
	struct pool pool;
	struct worker w = {&pool, 0, work_int};
	pthread_t t;
	uint32_t item;
	int n = 0, ok, dup = 0;

	if (setsid() < 0)
		die("setsid");
	pool_init(&pool);
	start_worker(&t, &w);
	while (read_full(in, &item, sizeof(item))) {
		if (losing("pipe") && n == LOSE_STEP)
			dup = read_full(in, &item, sizeof(item)); /* one item lost */
		msleep(step_ms);
		pool_run(&pool, 1, item);
		ok = getsid(0) == getpid() && getpgrp() == getpid();
		item = pool.res[0] ^ (ok ? 0 : 0x80000000u);
		write_full(out, &item, sizeof(item));
		if (dup) /* keep the count of results, or P waits forever */
			write_full(out, &item, sizeof(item));
		dup = 0;
		n++;
	}
	pool_quit(&pool);
	_exit(join_timed(t) ? 20 : A_EXIT);
}

struct holder {
	struct shared *shm;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state; /* 0 start, 1 locked, 2 told to exit */
};

/* B's thread that exits holding the robust mutex. */
static void *holder_main(void *arg)
{
	struct holder *h = arg;
	struct {
		void *next;
		long off;
		void *pending;
	} empty;

	block_all_signals();
	if (pthread_mutex_lock(&h->shm->robust))
		die("robust lock");
	pthread_mutex_lock(&h->lock);
	h->state = 1;
	pthread_cond_broadcast(&h->cond);
	while (h->state != 2)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	if (losing("robust")) {
		empty.next = &empty;
		empty.off = 0;
		empty.pending = NULL;
		syscall(SYS_set_robust_list, &empty, sizeof(empty));
	}
	return NULL;
}

/* Child B: setpgid(0,0), publish values through the shared mapping. */
static void child_b(struct shared *shm, int out)
{
	struct pool pool;
	struct worker w = {&pool, 0, work_int};
	struct holder h = {.shm = shm};
	pthread_t t, ht;
	uint32_t s;
	int hret = 0;

	if (setpgid(0, 0) < 0)
		die("setpgid");
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	pool_init(&pool);
	start_worker(&t, &w);
	errno = pthread_create(&ht, NULL, holder_main, &h);
	if (errno)
		die("pthread_create");
	pthread_mutex_lock(&h.lock);
	while (h.state != 1)
		pthread_cond_wait(&h.cond, &h.lock);
	pthread_mutex_unlock(&h.lock);
	for (s = 0; s < NSTEPS; s++) {
		if (losing("pgid") && s == LOSE_STEP)
			setpgid(0, getpgid(getppid()));
		pool_run(&pool, 1, s + 0x1000);
		__atomic_store_n(&shm->vals[s], pool.res[0], __ATOMIC_RELEASE);
		write_full(out, &s, sizeof(s));
		if (s == FREE_STEP) {
			pthread_mutex_lock(&h.lock);
			h.state = 2;
			pthread_cond_broadcast(&h.cond);
			pthread_mutex_unlock(&h.lock);
			hret = join_timed(ht);
		}
		msleep(step_ms);
	}
	pool_quit(&pool);
	_exit(join_timed(t) || hret ? 21 : B_EXIT);
}

static void on_usr1(int sig)
{
	char *sp = __builtin_frame_address(0);

	(void)sig;
	n_usr1++;
	if (sp >= altstack && sp < altstack + ALTSZ)
		n_usr1_alt++;
}

static void on_usr2(int sig)
{
	(void)sig;
	n_usr2++;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	if (sigaction(sig, &sa, NULL))
		die("sigaction %d", sig);
}

static void setup_signals(void)
{
	stack_t ss = {.ss_sp = altstack, .ss_size = ALTSZ, .ss_flags = 0};
	sigset_t set;

	if (sigaltstack(&ss, NULL))
		die("sigaltstack");
	set_handler(SIGUSR1, on_usr1);
	set_handler(SIGUSR2, on_usr2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGURG);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask");
}

/* Are mask, SIGUSR1 handler and altstack what this step expects? */
static void check_signals(int step, int *mask_ok, int *hnd_ok, int *alt_ok)
{
	struct sigaction sa;
	sigset_t cur;
	stack_t ss;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	*mask_ok = sigismember(&cur, SIGURG) && !sigismember(&cur, SIGUSR1) &&
		   sigismember(&cur, SIGUSR2) == (step < UNBLK_STEP);
	sigaction(SIGUSR1, NULL, &sa);
	*hnd_ok = sa.sa_handler == on_usr1 && (sa.sa_flags & SA_ONSTACK) &&
		  (sa.sa_flags & SA_RESTART) && sigismember(&sa.sa_mask, SIGTERM) &&
		  !sigismember(&sa.sa_mask, SIGUSR2);
	sigaltstack(NULL, &ss);
	*alt_ok = ss.ss_sp == altstack && ss.ss_size == ALTSZ && !(ss.ss_flags & SS_DISABLE);
}

/* Drop one kind of state, as a restore that forgot it would. */
static void lose_state(struct shared **shm, int fd, pid_t z)
{
	stack_t ss = {.ss_flags = SS_DISABLE};
	sigset_t set;
	void *copy;

	if (losing("altstack"))
		sigaltstack(&ss, NULL);
	if (losing("handler"))
		signal(SIGUSR1, SIG_IGN);
	if (losing("mask")) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	if (losing("pending")) {
		signal(SIGUSR2, SIG_IGN); /* discards the pending one */
		set_handler(SIGUSR2, on_usr2);
	}
	if (losing("zombie"))
		waitpid(z, NULL, 0);
	if (losing("offset"))
		lseek(fd, 0, SEEK_SET);
	if (losing("shm")) {
		copy = malloc(sizeof(**shm));
		memcpy(copy, *shm, sizeof(**shm));
		*shm = mmap(*shm, sizeof(**shm), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		memcpy(*shm, copy, sizeof(**shm));
		free(copy);
	}
}

struct parent {
	struct shared *shm;
	pid_t a, b, z;
	int to_a, from_a, from_b, fd;
	struct pool pool;
	pthread_t t[2];
	struct worker w[2];
	uint32_t sum_w, sum_a, sum_b;
};

static char zombie_state(pid_t z, int reaped)
{
	siginfo_t si;

	if (reaped)
		return '-';
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, z, &si, WEXITED | WNOHANG | WNOWAIT))
		return 'E';
	return si.si_pid == z && si.si_code == CLD_EXITED && si.si_status == Z_EXIT ? 'Z' : '?';
}

static int zst_reaped = -1;

static void step(struct parent *p, int s)
{
	uint32_t w, a, b, tok;
	char rec[40];
	int mask_ok, hnd_ok, alt_ok, st, pend, n;
	sigset_t ps;

	if (s == LOSE_STEP && lose)
		lose_state(&p->shm, p->fd, p->z);
	pool_run(&p->pool, 2, s);
	w = p->pool.res[0] ^ p->pool.res[1];
	if (!read_full(p->from_a, &a, sizeof(a)))
		die("EOF from A at step %d", s);
	if (!read_full(p->from_b, &tok, sizeof(tok)) || tok != (uint32_t)s)
		die("bad token from B at step %d", s);
	b = __atomic_load_n(&p->shm->vals[tok], __ATOMIC_ACQUIRE);
	p->sum_w = fnv(p->sum_w, &w, 4);
	p->sum_a = fnv(p->sum_a, &a, 4);
	p->sum_b = fnv(p->sum_b, &b, 4);

	if (s == SEEK_STEP && lseek(p->fd, 2048, SEEK_SET) < 0)
		die("lseek");
	n = snprintf(rec, sizeof(rec), "%02d %08" PRIx32 " %04" PRIx32 "\n", s, w, a & 0xffff);
	write_full(p->fd, rec, n);
	if (pwrite(p->fd, &b, sizeof(b), PWR_BASE + s * sizeof(b)) != sizeof(b))
		die("pwrite");

	if (s % 4 == 1)
		raise(SIGUSR1);
	if (s == PEND_STEP)
		raise(SIGUSR2);
	if (s == UNBLK_STEP) {
		sigemptyset(&ps);
		sigaddset(&ps, SIGUSR2);
		sigprocmask(SIG_UNBLOCK, &ps, NULL);
	}
	if (s == REAP_STEP) {
		if (waitpid(p->z, &st, 0) == p->z)
			zst_reaped = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		else
			zst_reaped = -errno;
	}
	sigpending(&ps);
	pend = sigismember(&ps, SIGUSR2);
	check_signals(s, &mask_ok, &hnd_ok, &alt_ok);
	printf("step %02d w=%08" PRIx32 " a=%08" PRIx32 " b=%08" PRIx32
	       " off=%ld usr1=%d/%d usr2=%d pend=%d mask=%d hnd=%d alt=%d z=%c sidA=%d pgB=%d\n",
	       s, w, a, b, (long)lseek(p->fd, 0, SEEK_CUR), (int)n_usr1, (int)n_usr1_alt,
	       (int)n_usr2, pend, mask_ok, hnd_ok, alt_ok, zombie_state(p->z, s >= REAP_STEP),
	       getsid(p->a) == p->a && getpgid(p->a) == p->a,
	       getpgid(p->b) == p->b && getsid(p->b) == getsid(0));
	failed |= !mask_ok || !hnd_ok || !alt_ok;
	msleep(step_ms);
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid %d", pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *robust_result(struct shared *shm)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += JOIN_SEC;
	r = pthread_mutex_timedlock(&shm->robust, &ts);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(&shm->robust);
		pthread_mutex_unlock(&shm->robust);
		return "EOWNERDEAD";
	}
	if (r == 0)
		pthread_mutex_unlock(&shm->robust);
	failed = 1;
	return r == ETIMEDOUT ? "ETIMEDOUT" : r ? "error" : "unowned";
}

static uint32_t file_sum(int fd, off_t *size)
{
	char buf[8192];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		die("fstat");
	if (st.st_size > (off_t)sizeof(buf))
		die("data file too big (%lld)", (long long)st.st_size);
	n = pread(fd, buf, st.st_size, 0);
	if (n != st.st_size)
		die("pread");
	*size = st.st_size;
	return fnv(2166136261u, buf, n);
}

static void finish(struct parent *p)
{
	int j0, j1, sa, sb;
	const char *rob;
	uint32_t fsum;
	off_t size;

	pool_quit(&p->pool);
	j0 = join_timed(p->t[0]);
	j1 = join_timed(p->t[1]);
	close(p->to_a);
	sa = child_status(p->a);
	sb = child_status(p->b);
	rob = robust_result(p->shm);
	fsum = file_sum(p->fd, &size);
	printf("summary w=%08" PRIx32 " a=%08" PRIx32 " b=%08" PRIx32 " file=%08" PRIx32
	       "/%lld usr1=%d/%d usr2=%d zombie=%d A=%d B=%d join=%s,%s robust=%s\n",
	       p->sum_w, p->sum_a, p->sum_b, fsum, (long long)size, (int)n_usr1, (int)n_usr1_alt,
	       (int)n_usr2, zst_reaped, sa, sb, j0 ? "ETIMEDOUT" : "ok", j1 ? "ETIMEDOUT" : "ok",
	       rob);
	failed |= j0 || j1 || sa != A_EXIT || sb != B_EXIT || zst_reaped != Z_EXIT || n_usr2 != 1 ||
		  n_usr1 != n_usr1_alt;
}

static pid_t fork_or_die(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	return pid;
}

static void setup_children(struct parent *p, const char *dir)
{
	pthread_mutexattr_t ma;
	int to_a[2], from_a[2], from_b[2];
	char path[4096];
	siginfo_t si;
	uint32_t s;

	p->shm = mmap(NULL, sizeof(*p->shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	if (p->shm == MAP_FAILED)
		die("mmap");
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&p->shm->robust, &ma);
	snprintf(path, sizeof(path), "%s/tree.dat", dir);
	p->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (p->fd < 0)
		die("open %s", path);
	p->z = fork_or_die();
	if (!p->z)
		_exit(Z_EXIT);
	if (waitid(P_PID, p->z, &si, WEXITED | WNOWAIT)) /* a zombie from step 0 on */
		die("waitid");
	if (pipe(to_a) || pipe(from_a) || pipe(from_b))
		die("pipe");
	p->a = fork_or_die();
	if (!p->a) {
		close(to_a[1]);
		close(from_a[0]);
		close(from_b[0]);
		close(from_b[1]);
		child_a(to_a[0], from_a[1]);
	}
	p->b = fork_or_die();
	if (!p->b) {
		close(to_a[1]);
		close(from_a[0]);
		close(from_b[0]);
		child_b(p->shm, from_b[1]);
	}
	close(to_a[0]);
	close(from_a[1]);
	close(from_b[1]);
	p->to_a = to_a[1];
	p->from_a = from_a[0];
	p->from_b = from_b[0];
	for (s = 0; s < NSTEPS; s++) {
		uint32_t item = s * 7919u + 17;

		write_full(p->to_a, &item, sizeof(item));
	}
}

int main(int argc, char **argv)
{
	const char *step_env = getenv("CR_ENGINE_STEP_MS");
	struct parent p;
	int s;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	memset(&p, 0, sizeof(p));
	lose = getenv("CR_TREE_LOSE");
	if (step_env && atol(step_env) > 0)
		step_ms = atol(step_env);
	start_log("tree");
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup_signals();
	setup_children(&p, argv[1]);
	pool_init(&p.pool);
	p.w[0] = (struct worker){&p.pool, 0, work_int};
	p.w[1] = (struct worker){&p.pool, 1, work_fp};
	start_worker(&p.t[0], &p.w[0]);
	start_worker(&p.t[1], &p.w[1]);
	p.sum_w = p.sum_a = p.sum_b = 2166136261u;
	for (s = 0; s < NSTEPS; s++)
		step(&p, s);
	finish(&p);
	if (failed)
		fprintf(stderr, "tree: some state was not as expected (see the lines above)\n");
	return failed ? 1 : 0;
}
