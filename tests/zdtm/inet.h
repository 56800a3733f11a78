/*
 * Helpers of the inet socket tests: a net namespace of the test's own with
 * loopback up (the driver sees "NETNS", locks it with cr's --net-lock and
 * restores into it), addresses, int options.
 */
#ifndef ZDTM_INET_H
#define ZDTM_INET_H

#include "zdtm.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Call first: a net namespace of our own, lo up; tells the driver. */
static inline void inet_netns(void)
{
	struct ifreq ifr = {0};
	int s;

	if (unshare(CLONE_NEWNET))
		test_fatal("unshare(CLONE_NEWNET): %m");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		test_fatal("lo: %m");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		test_fatal("lo up: %m");
	close(s);
	printf("NETNS\n");
	fflush(stdout);
}

/* An address of loopback (v6: ::1, or :: when @any) and @port. */
static inline socklen_t inet_addr_of(int v6, int port, int any, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = any ? in6addr_any : in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
	return sizeof(*a);
}

static inline void setint(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)))
		test_fatal("setsockopt %d/%d: %m", level, name);
}

static inline int getint(int fd, int level, int name)
{
	socklen_t l = sizeof(int);
	int v = -12345;

	if (getsockopt(fd, level, name, &v, &l))
		return -12345;
	return v;
}

/* The port @fd is bound to, -1 if none (or not a socket any more). */
static inline int inet_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

#endif
