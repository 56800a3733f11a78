/*
 * inotify: a non-blocking inotify with watches on a directory (IN_CREATE,
 * IN_DELETE), a file (IN_MODIFY, IN_ONESHOT) and another file
 * (IN_CLOSE_WRITE), with a gap in the watch numbers (a watch removed).
 * Checks: the same watch descriptors and masks (fdinfo); creating a file
 * in the directory, writing the first file and closing the second after
 * writing give one event each with their descriptors (the one-shot watch
 * then goes, IN_IGNORED); nothing more; O_NONBLOCK kept.
 * Skip proof: file:inotify.
 */
#include "zdtm.h"

#include <sys/inotify.h>

static char *watches(int fd)
{
	static char out[2][1024];
	static int k;
	char path[64], buf[2048], *o = out[k++ % 2], *p;
	size_t n = 0;
	int f, r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	r = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
	if (f >= 0)
		close(f);
	buf[r > 0 ? r : 0] = 0;
	o[0] = 0;
	/* the kernel lists watches newest first: keep its order, both sides agree */
	for (p = strstr(buf, "inotify wd:"); p; p = strstr(p + 1, "inotify wd:")) {
		int wd;
		unsigned int mask;

		if (sscanf(p, "inotify wd:%d ino:%*x sdev:%*x mask:%x", &wd, &mask) == 2)
			n += snprintf(o + n, sizeof(out[0]) - n, "%d:%x ", wd, mask);
	}
	return o;
}

/* The events queued now, as "wd:mask " each. */
static char *events(int fd)
{
	static char out[1024];
	char buf[4096] __attribute__((aligned(8)));
	size_t n = 0;
	ssize_t r = read(fd, buf, sizeof(buf));

	out[0] = 0;
	for (ssize_t off = 0; r > 0 && off < r;) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);

		n += snprintf(out + n, sizeof(out) - n, "%d:%x ", e->wd, e->mask);
		off += sizeof(*e) + e->len;
	}
	return out;
}

int main(void)
{
	char dir[256], f1[300], f2[300], f3[300], before[1024], want[256], *got;
	int in, w1, w2, w3, w4, fd;

	snprintf(dir, sizeof(dir), "%s", test_path("watched"));
	snprintf(f1, sizeof(f1), "%s", test_path("f1"));
	snprintf(f2, sizeof(f2), "%s", test_path("f2"));
	snprintf(f3, sizeof(f3), "%s", test_path("f3"));
	if (mkdir(dir, 0700) || close(open(f1, O_CREAT | O_WRONLY, 0600)) ||
	    close(open(f2, O_CREAT | O_WRONLY, 0600)) || close(open(f3, O_CREAT | O_WRONLY, 0600)))
		test_fatal("set up files");
	in = inotify_init1(IN_NONBLOCK);
	w1 = inotify_add_watch(in, dir, IN_CREATE | IN_DELETE);
	w2 = inotify_add_watch(in, f1, IN_MODIFY | IN_ONESHOT);
	w3 = inotify_add_watch(in, f3, IN_ATTRIB);
	if (in < 0 || w1 < 0 || w2 < 0 || w3 < 0 || inotify_rm_watch(in, w3))
		test_fatal("watches");
	w4 = inotify_add_watch(in, f2, IN_CLOSE_WRITE);
	if (w4 < 0)
		test_fatal("watch f2");
	events(in); /* the IN_IGNORED of the removed watch */
	snprintf(before, sizeof(before), "%s", watches(in));
	test_ready();
	test_wait_go();

	got = watches(in);
	CHECK(!strcmp(got, before), "watches differ: before %s, after %s", before, got);
	CHECK(fcntl(in, F_GETFL) & O_NONBLOCK, "inotify lost O_NONBLOCK");
	got = events(in);
	CHECK(!*got, "events queued after restart: %s", got);
	close(open(test_path("watched/new"), O_CREAT | O_WRONLY, 0600));
	fd = open(f1, O_WRONLY);
	if (fd < 0 || write(fd, "x", 1) != 1)
		test_fatal("write f1");
	close(fd);
	fd = open(f2, O_WRONLY);
	if (fd < 0 || write(fd, "y", 1) != 1)
		test_fatal("write f2");
	close(fd);
	snprintf(want, sizeof(want), "%d:%x %d:%x %d:%x %d:%x ", w1, IN_CREATE, w2, IN_MODIFY, w2,
		 IN_IGNORED, w4, IN_CLOSE_WRITE);
	got = events(in);
	CHECK(!strcmp(got, want), "events %s, want %s", got, want);
	test_done();
}
