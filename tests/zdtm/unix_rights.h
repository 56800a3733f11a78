/*
 * Helpers of the unix_rights_* tests: messages with fds in flight
 * (SCM_RIGHTS), sent and received, and what an fd received stands for.
 */
#include "zdtm.h"

#include <linux/kcmp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define MAX_RIGHTS 253 /* SCM_MAX_FD */

/* @len bytes and @n fds in flight (n may be 0) in one sendmsg, to @to if given. */
static inline void send_fds_to(int sk, const void *data, size_t len, const int *fds, int n,
			       const struct sockaddr_un *to, socklen_t tolen)
{
	static char cbuf[CMSG_SPACE(MAX_RIGHTS * sizeof(int))];
	struct iovec iov = {(void *)data, len};
	struct msghdr mh = {
		.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (n) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(sk, &mh, 0) != (ssize_t)len)
		test_fatal("sendmsg of %zu bytes and %d fds", len, n);
}

static inline void send_fds(int sk, const void *data, size_t len, const int *fds, int n)
{
	send_fds_to(sk, data, len, fds, n, NULL, 0);
}

/*
 * One recvmsg (non-blocking) into @buf; the fds in flight that came with it
 * in @fds, their count in *n. -1 and errno when nothing is queued.
 */
static inline ssize_t recv_fds(int sk, void *buf, size_t len, int *fds, int *n)
{
	static char cbuf[CMSG_SPACE(MAX_RIGHTS * sizeof(int)) + 64];
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t r = recvmsg(sk, &mh, MSG_DONTWAIT);

	*n = 0;
	if (r < 0)
		return r;
	CHECK(!(mh.msg_flags & MSG_CTRUNC), "control data cut short (MSG_CTRUNC)");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(fds + *n, CMSG_DATA(c), k * sizeof(int));
			*n += k;
		}
	return r;
}

static inline ino_t inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Do fds @a and @b of this process share one open file description? */
static inline bool same_file(int a, int b)
{
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

/* A file in the test's directory holding @text, open with @flags at offset @off. */
static inline int open_text(const char *name, const char *text, int flags, off_t off)
{
	int fd = open(test_path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		test_fatal("create %s", name);
	close(fd);
	fd = open(test_path(name), flags);
	if (fd < 0 || lseek(fd, off, SEEK_SET) != off)
		test_fatal("open %s", name);
	return fd;
}

/* The next @n bytes read through @fd are @want. */
static inline bool reads(int fd, const char *want)
{
	char buf[256] = "";
	size_t n = strlen(want);

	return read(fd, buf, n) == (ssize_t)n && !memcmp(buf, want, n);
}
