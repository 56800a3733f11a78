/*
 * refuse_unix_rights: a socketpair with a message carrying an fd
 * (SCM_RIGHTS) queued. Fds in flight are not supported yet: cr checkpoint
 * must refuse (exit 3), naming the task, the fd and the socket, write
 * nothing and leave the tree running, the message still queued with its
 * fd (the dumper's peek took copies of the fds, not the originals).
 * Checks (without a restart): the message and a working fd come out.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/socket.h>
#include <sys/stat.h>

int main(void)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, buf[8];
	struct iovec iov = {"fd", 2};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct stat st;
	int sp[2], p[2], fd;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) || pipe(p) || fstat(sp[1], &st))
		test_fatal("socketpair, pipe");
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[1], sizeof(int));
	if (sendmsg(sp[0], &mh, 0) != 2)
		test_fatal("sendmsg");
	close(p[1]);
	dprintf(1, "EXPECT: Task %d fd %d: unix socket %lu has fds in flight (SCM_RIGHTS)\n",
		getpid(), sp[1], (unsigned long)st.st_ino);
	test_ready();
	test_wait_go();

	iov = (struct iovec){buf, sizeof(buf)};
	mh = (struct msghdr){.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	CHECK(recvmsg(sp[1], &mh, MSG_DONTWAIT) == 2 && !memcmp(buf, "fd", 2),
	      "the message is lost");
	c = CMSG_FIRSTHDR(&mh);
	CHECK(c && c->cmsg_type == SCM_RIGHTS, "the fd in flight is lost");
	if (c) {
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		CHECK(write(fd, "x", 1) == 1 && read(p[0], buf, 2) == 1, "the fd is not the pipe");
	}
	test_done();
}
