/*
 * timerfd: a relative CLOCK_MONOTONIC timer (30 s, then every 2 s); an
 * absolute CLOCK_REALTIME one with TFD_TIMER_CANCEL_ON_SET (100 s from
 * now, then every 5 s); a non-blocking one that fired once, its tick not
 * read; a periodic 10 ms one, its ticks not read; a disarmed
 * CLOCK_BOOTTIME one.
 * Checks: clocks and settime flags (fdinfo), intervals exact, time left
 * no more than before the checkpoint and not much less (the time the tree
 * was down does not count; absolute: the same expiry), the
 * unread tick of the one-shot read back once and only once, the periodic
 * one's ticks at least those that had passed, the disarmed one disarmed.
 * Skip proof: file:timerfd.
 */
#include "zdtm.h"

#include <sys/timerfd.h>

static int64_t ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void fdinfo(int fd, int *clock, unsigned int *flags)
{
	char path[64], buf[512], *c, *f;
	int fl, n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fl = open(path, O_RDONLY);
	n = fl < 0 ? -1 : read(fl, buf, sizeof(buf) - 1);
	if (fl >= 0)
		close(fl);
	buf[n > 0 ? n : 0] = 0;
	c = strstr(buf, "clockid:");
	f = strstr(buf, "settime flags:");
	*clock = c ? atoi(c + 8) : -1;
	*flags = f ? strtoul(f + 14, NULL, 8) : ~0u;
}

static void check_fd(int fd, const char *what, int clock, unsigned int flags)
{
	unsigned int fl;
	int c;

	fdinfo(fd, &c, &fl);
	CHECK(c == clock && fl == flags, "%s: clock %d flags %o, want %d %o", what, c, fl, clock,
	      flags);
}

int main(void)
{
	struct itimerspec rel = {{2, 0}, {30, 0}}, abs = {{5, 0}, {0, 0}},
			  one = {{0, 0}, {0, 1000}};
	struct itimerspec per = {{0, 10000000}, {0, 10000000}}, cur;
	int trel, tabs, tone, tper, toff;
	struct timespec now;
	int64_t abs_at, t0;
	uint64_t v;

	trel = timerfd_create(CLOCK_MONOTONIC, 0);
	tabs = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	tone = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	tper = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	toff = timerfd_create(CLOCK_BOOTTIME, 0);
	if (trel < 0 || tabs < 0 || tone < 0 || tper < 0 || toff < 0)
		test_fatal("timerfd_create");
	clock_gettime(CLOCK_REALTIME, &now);
	abs.it_value.tv_sec = now.tv_sec + 100;
	abs_at = ns(&abs.it_value);
	if (timerfd_settime(trel, 0, &rel, NULL) ||
	    timerfd_settime(tabs, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &abs, NULL) ||
	    timerfd_settime(tone, 0, &one, NULL) || timerfd_settime(tper, 0, &per, NULL))
		test_fatal("timerfd_settime");
	t0 = now_ms();
	msleep(60);
	test_ready();
	test_wait_go();

	check_fd(trel, "relative", CLOCK_MONOTONIC, 0);
	check_fd(tabs, "absolute", CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
	check_fd(toff, "disarmed", CLOCK_BOOTTIME, 0);
	timerfd_gettime(trel, &cur);
	CHECK(ns(&cur.it_interval) == 2000000000LL, "relative: interval %lld ns",
	      (long long)ns(&cur.it_interval));
	/* time left at the checkpoint: the time the tree was down does not count */
	CHECK(ns(&cur.it_value) > 25000000000LL && ns(&cur.it_value) <= 29940000000LL,
	      "relative: %lld ns left after %lld ms", (long long)ns(&cur.it_value),
	      (long long)(now_ms() - t0));
	timerfd_gettime(tabs, &cur);
	clock_gettime(CLOCK_REALTIME, &now);
	CHECK(ns(&cur.it_interval) == 5000000000LL, "absolute: interval %lld ns",
	      (long long)ns(&cur.it_interval));
	CHECK(llabs(ns(&now) + ns(&cur.it_value) - abs_at) < 20000000LL,
	      "absolute: expires %lld ns from where it was set to",
	      (long long)(ns(&now) + ns(&cur.it_value) - abs_at));
	CHECK(fcntl(tabs, F_GETFD) == FD_CLOEXEC, "absolute lost close-on-exec");
	CHECK(read(tone, &v, sizeof(v)) == sizeof(v) && v == 1, "one-shot: unread tick lost (%s)",
	      strerror(errno));
	CHECK(read(tone, &v, sizeof(v)) < 0 && errno == EAGAIN, "one-shot ticked again");
	CHECK(read(tper, &v, sizeof(v)) == sizeof(v) && v >= 5, "periodic: %llu ticks",
	      (unsigned long long)v);
	timerfd_gettime(toff, &cur);
	CHECK(!ns(&cur.it_value) && !ns(&cur.it_interval), "disarmed one is armed");
	test_done();
}
