/*
 * epoll: one instance holding eventfd targets registered EPOLLET,
 * EPOLLONESHOT and EPOLLEXCLUSIVE, a pipe registered level-triggered with
 * data queued, each with its own data word; a target registered under fd
 * c, then closed at c while a dup lives on, and another eventfd that took
 * number c and is registered under it too (two registrations keyed c).
 * Checks: fdinfo lists the same registrations (number, events, data);
 * close-on-exec kept; the closed-at-c eventfd, written through its dup,
 * is reported with its data; ET reports once per write, ONESHOT once only,
 * the pipe on every wait; EPOLL_CTL_MOD of c finds the eventfd now at c.
 * Skip proof: file:epoll.
 */
#include "zdtm.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "tfd:events:data " per registration, sorted (fdinfo's order is the kernel's tree's) */
static char *regs(int ep)
{
	char line[16][64], *sorted[16];
	int nl = 0;
	static char out[2][4096];
	static int k;
	char path[64], *buf = out[k++ % 2], *s, *p;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	s = calloc(1, 8192);
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, s, 8191) < 0)
		test_fatal("read %s", path);
	close(fd);
	buf[0] = 0;
	/* tfd, events and data of each line; pos/ino/sdev may differ */
	for (p = strstr(s, "tfd:"); p; p = strstr(p + 1, "\ntfd:")) {
		int tfd;
		unsigned int ev;
		unsigned long long d;

		if (nl < 16 && sscanf(*p == '\n' ? p + 1 : p, "tfd: %d events: %x data: %llx", &tfd,
				      &ev, &d) == 3) {
			snprintf(line[nl], sizeof(line[nl]), "%d:%x:%llx ", tfd, ev, d);
			sorted[nl] = line[nl];
			nl++;
		}
	}
	qsort(sorted, nl, sizeof(*sorted), cmp_str);
	for (int i = 0; i < nl; i++)
		n += snprintf(buf + n, 4096 - n, "%s", sorted[i]);
	free(s);
	return buf;
}

/* The data words epoll_wait reports now, as a bit set of 1 << data. */
static unsigned int ready(int ep)
{
	struct epoll_event ev[16];
	unsigned int set = 0;
	int n = epoll_wait(ep, ev, 16, 0);

	for (int i = 0; i < n; i++)
		set |= 1u << ev[i].data.u64;
	return set;
}

static void bump(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		fail("write eventfd: %s", strerror(errno));
}

int main(void)
{
	int ep, et, os, ex, c, cdup, d, p[2];
	struct epoll_event ev;
	char before[4096], *after;
	unsigned int got;

	ep = epoll_create1(EPOLL_CLOEXEC);
	et = eventfd(0, EFD_NONBLOCK);
	os = eventfd(0, EFD_NONBLOCK);
	ex = eventfd(0, EFD_NONBLOCK);
	c = eventfd(0, EFD_NONBLOCK);
	if (ep < 0 || et < 0 || os < 0 || ex < 0 || c < 0 || pipe(p))
		test_fatal("set up");
	ev = (struct epoll_event){EPOLLIN | EPOLLET, {.u64 = 1}};
	epoll_ctl(ep, EPOLL_CTL_ADD, et, &ev);
	ev = (struct epoll_event){EPOLLIN | EPOLLONESHOT, {.u64 = 2}};
	epoll_ctl(ep, EPOLL_CTL_ADD, os, &ev);
	ev = (struct epoll_event){EPOLLIN | EPOLLEXCLUSIVE, {.u64 = 3}};
	epoll_ctl(ep, EPOLL_CTL_ADD, ex, &ev);
	ev = (struct epoll_event){EPOLLIN, {.u64 = 4}};
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
	ev = (struct epoll_event){EPOLLIN, {.u64 = 5}};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) || write(p[1], "x", 1) != 1)
		test_fatal("pipe target");
	cdup = dup(c);
	close(c);
	d = eventfd(0, EFD_NONBLOCK); /* takes number c */
	if (d != c)
		test_fatal("eventfd got %d, not %d", d, c);
	ev = (struct epoll_event){EPOLLIN | EPOLLET, {.u64 = 6}};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev))
		test_fatal("add the second file at %d", c);
	snprintf(before, sizeof(before), "%s", regs(ep));
	test_ready();
	test_wait_go();

	after = regs(ep);
	CHECK(!strcmp(before, after), "registrations differ: before %s, after %s", before, after);
	CHECK(fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll lost close-on-exec");
	got = ready(ep);
	CHECK(got == 1u << 5, "first wait: ready set %#x, want the pipe only (%#x)", got, 1u << 5);
	bump(et);
	bump(os);
	bump(ex);
	bump(cdup);
	got = ready(ep);
	CHECK(got == (1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5),
	      "after writes: ready set %#x, want %#x", got, 0x3eu);
	got = ready(ep);
	CHECK(got == (1u << 3 | 1u << 4 | 1u << 5),
	      "second wait: ready set %#x, want %#x "
	      "(ET and ONESHOT gone)",
	      got, 0x38u);
	bump(os);
	bump(d);
	got = ready(ep);
	CHECK(got == (1u << 3 | 1u << 4 | 1u << 5 | 1u << 6),
	      "ONESHOT fired again or ET at c "
	      "missing: ready set %#x, want %#x",
	      got, 0x78u);
	ev = (struct epoll_event){EPOLLIN, {.u64 = 7}};
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, d, &ev) == 0, "MOD of fd %d: %s", d, strerror(errno));
	test_done();
}
