/*
 * eventfd: a semaphore eventfd holding 3, a counter above 2^32, an empty
 * non-blocking one, and one shared with a child process that adds to it
 * after the restart.
 * Checks: the semaphore gives 1 three times then EAGAIN; the counter reads
 * back whole; the empty one is still O_NONBLOCK and empty; the child's
 * write reaches the parent through the shared eventfd; close-on-exec kept.
 * Skip proof: file:eventfd.
 */
#include "zdtm.h"

#include <sys/eventfd.h>

static uint64_t rd(int fd, int *err)
{
	uint64_t v = 0;

	*err = read(fd, &v, sizeof(v)) == sizeof(v) ? 0 : errno;
	return v;
}

int main(void)
{
	uint64_t big = 0x100000005ULL, v;
	int sem, cnt, empty, shared, err;
	struct barrier b;
	pid_t pid;

	sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	cnt = eventfd(0, EFD_CLOEXEC);
	empty = eventfd(0, EFD_NONBLOCK);
	shared = eventfd(0, 0);
	if (sem < 0 || cnt < 0 || empty < 0 || shared < 0)
		test_fatal("eventfd");
	if (write(cnt, &big, sizeof(big)) != sizeof(big))
		test_fatal("write counter");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		barrier_signal(&b);
		test_wait_go();
		v = 42;
		_exit(write(shared, &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	for (int i = 0; i < 3; i++) {
		v = rd(sem, &err);
		CHECK(!err && v == 1, "semaphore read %d: %llu (%s)", i, (unsigned long long)v,
		      strerror(err));
	}
	rd(sem, &err);
	CHECK(err == EAGAIN, "semaphore not empty after 3 reads (%s)", strerror(err));
	CHECK(fcntl(sem, F_GETFL) & O_NONBLOCK, "semaphore lost O_NONBLOCK");
	v = rd(cnt, &err);
	CHECK(!err && v == big, "counter reads %llu (%s), want %llu", (unsigned long long)v,
	      strerror(err), (unsigned long long)big);
	CHECK(fcntl(cnt, F_GETFD) == FD_CLOEXEC, "counter lost close-on-exec");
	CHECK(!(fcntl(cnt, F_GETFL) & O_NONBLOCK), "counter became O_NONBLOCK");
	rd(empty, &err);
	CHECK(err == EAGAIN, "empty eventfd: %s, want EAGAIN", strerror(err));
	reap_child(pid, "child");
	v = rd(shared, &err);
	CHECK(!err && v == 42, "shared eventfd reads %llu (%s), want 42", (unsigned long long)v,
	      strerror(err));
	test_done();
}
