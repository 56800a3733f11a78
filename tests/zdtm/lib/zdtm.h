/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the per-kind C/R state tests (CRIU zdtm style).
 *
 * A test sets its state up, calls test_ready() (prints "READY"), then
 * test_wait_go(): it polls every 10 ms (nanosleep, a restartable syscall)
 * for the file named by $ZDTM_GO, which the driver creates once the test has
 * been checkpointed, killed and restarted (or refused). It then checks every
 * bit of its state, calling fail() for each difference, and ends with
 * test_done(): "PASS" and exit 0, or "FAIL: <what differed>" and exit 1.
 * Output goes straight to fd 1 (no stdio buffers to duplicate in fork).
 */
#ifndef ZDTM_H
#define ZDTM_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The test's scratch directory ($ZDTM_DIR) and the go file ($ZDTM_GO). */
const char *test_dir(void);
const char *test_go_path(void);
/* $ZDTM_DIR/name in a static buffer (one of 8, reused in turn). */
const char *test_path(const char *name);
/* A word unique to this run (from $ZDTM_DIR), for names in shared places such
 * as /dev/shm: pids repeat across the drivers' pid namespaces. The driver
 * removes /dev/shm/ *<word>* when the run ends. */
const char *test_uniq(void);

void test_ready(void);
/* Poll for the go file (or for @alt too, if not NULL); FAIL after 60 s. */
void test_wait_go(void);
void test_wait_go_alt(const char *alt);
bool test_go_seen(void);

/* Record one difference; any thread or process may call it. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test_failed(void);
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

/* Print PASS or FAIL: ... and exit 0 or 1. */
__attribute__((noreturn)) void test_done(void);
/* A set-up step failed: FAIL at once (strerror(errno) appended). */
__attribute__((noreturn, format(printf, 1, 2))) void test_fatal(const char *fmt, ...);
/* In a child process: print "child PID: ..." if it saw a difference, _exit 1/0. */
__attribute__((noreturn)) void test_child_done(void);

/* Wait for child @pid for up to @ms ms; -1 on timeout. Returns the wait status. */
int wait_child(pid_t pid, int ms);
/* wait_child() and fail() unless it exited 0. */
void reap_child(pid_t pid, const char *what);

void msleep(int ms);
uint64_t now_ms(void);
pid_t xgettid(void);

/* A pipe that children write one byte to when they are ready. */
struct barrier {
	int fd[2];
};
void barrier_init(struct barrier *b);
void barrier_signal(struct barrier *b);	     /* child: one byte, closes both ends */
void barrier_wait(struct barrier *b, int n); /* parent: n bytes, closes both ends */

/* Read a whole small file into @buf (NUL-terminated); -1 on error. */
ssize_t read_text(const char *path, char *buf, size_t len);
/* The value of field @key ("Rss:") of the mapping holding @addr in
 * /proc/self/smaps, or its header line (range, perms...) if @key is NULL. */
int smaps_value(const void *addr, const char *key, char *out, size_t len);
/* The VmFlags line of the mapping holding @addr, from /proc/self/smaps. */
int vm_flags(const void *addr, char *out, size_t len);
bool has_vm_flag(const void *addr, const char *flag);
/* The /proc/self/maps line of the mapping holding @addr (without the path). */
int maps_line(const void *addr, char *out, size_t len);
/* Wait until thread @tid of this process sits in syscall @nr or @nr2 (or 2 s
 * pass); -1 on timeout. Restored in a new pid namespace (/proc is then the
 * restarter's), any other thread of ours in that syscall will do. */
int wait_in_syscall2(pid_t tid, long nr, long nr2);
#define wait_in_syscall(tid, nr) wait_in_syscall2(tid, nr, nr)

#endif
