// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inet sockets, TCP and UDP over IPv4 and IPv6: one cr_inet_sk_rec per
 * socket, read through a copy of the task's fd (steal_fd). Restore makes
 * the socket in the restarter, in the tree's net namespace, before any
 * fork: options, bind, then listen() for a listener, connect() for a
 * connected UDP socket, and for an established TCP connection the TCP
 * repair interface (the network must be locked, netlock.h): in repair mode
 * connect() sends nothing, the sequence numbers, queues, options and
 * window are set by hand, and the connection leaves repair mode only at
 * cr_resume, after the network is unlocked (inet_repair_off).
 * Refused by name: a listener with connections waiting to be accepted (no
 * interface puts a connection back in an accept queue), TCP in any state
 * but listen, established or closed, a connection whose peer is not a
 * socket of the tree, and any inet socket but TCP or UDP.
 * Under the owner policy the restarter keeps its capabilities (TCP_REPAIR
 * needs CAP_NET_ADMIN) but sets nothing the owner could not: buffer sizes
 * through SO_SNDBUF/SO_RCVBUF, which the kernel caps at [wr]mem_max, and
 * refused by name: SO_MARK, SO_PRIORITY above 6, a port below
 * ip_unprivileged_port_start, queues larger than the owner's buffers hold.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "sk-inet: "
#include "files.h"
#include "log.h"
#include "netlock.h"
#include "owner-act.h"
#include "sockdiag.h"

/* The int options kept (cr_inet_sk_rec.opts, in this order). */
#define REUSEADDR_OPT 0 /* inet_opts[REUSEADDR_OPT] is SO_REUSEADDR */
#define SNDBUF_OPT    2 /* inet_opts[SNDBUF_OPT] is SO_SNDBUF */
struct inet_opt {
	int level, name;
	int family; /* 0: any, else only this one */
	int type;   /* 0: any, else only this one */
	bool early; /* set before bind (and before an established queue is refilled) */
	const char *what;
};

static const struct inet_opt inet_opts[CR_INET_NOPTS] = {
	{SOL_SOCKET, SO_REUSEADDR, 0, 0, true, "SO_REUSEADDR"},
	{SOL_SOCKET, SO_REUSEPORT, 0, 0, true, "SO_REUSEPORT"},
	{SOL_SOCKET, SO_SNDBUF, 0, 0, true, "SO_SNDBUF"},
	{SOL_SOCKET, SO_RCVBUF, 0, 0, true, "SO_RCVBUF"},
	{SOL_IPV6, IPV6_V6ONLY, AF_INET6, 0, true, "IPV6_V6ONLY"},
	{SOL_IP, IP_FREEBIND, 0, 0, true, "IP_FREEBIND"},
	{SOL_SOCKET, SO_KEEPALIVE, 0, 0, false, "SO_KEEPALIVE"},
	{SOL_SOCKET, SO_PRIORITY, 0, 0, false, "SO_PRIORITY"},
	{SOL_SOCKET, SO_RCVLOWAT, 0, 0, false, "SO_RCVLOWAT"},
	{SOL_SOCKET, SO_OOBINLINE, 0, 0, false, "SO_OOBINLINE"},
	{SOL_SOCKET, SO_BROADCAST, 0, 0, false, "SO_BROADCAST"},
	{SOL_SOCKET, SO_MARK, 0, 0, false, "SO_MARK"},
	{SOL_IP, IP_TOS, AF_INET, 0, false, "IP_TOS"},
	{SOL_IP, IP_TTL, AF_INET, 0, false, "IP_TTL"},
	{SOL_IPV6, IPV6_UNICAST_HOPS, AF_INET6, 0, false, "IPV6_UNICAST_HOPS"},
	{SOL_IPV6, IPV6_TCLASS, AF_INET6, 0, false, "IPV6_TCLASS"},
	{SOL_TCP, TCP_NODELAY, 0, SOCK_STREAM, false, "TCP_NODELAY"},
	{SOL_TCP, TCP_KEEPIDLE, 0, SOCK_STREAM, false, "TCP_KEEPIDLE"},
	{SOL_TCP, TCP_KEEPINTVL, 0, SOCK_STREAM, false, "TCP_KEEPINTVL"},
	{SOL_TCP, TCP_KEEPCNT, 0, SOCK_STREAM, false, "TCP_KEEPCNT"},
	{SOL_TCP, TCP_USER_TIMEOUT, 0, SOCK_STREAM, false, "TCP_USER_TIMEOUT"},
	{SOL_TCP, TCP_DEFER_ACCEPT, 0, SOCK_STREAM, false, "TCP_DEFER_ACCEPT"},
	{SOL_TCP, TCP_NOTSENT_LOWAT, 0, SOCK_STREAM, false, "TCP_NOTSENT_LOWAT"},
	{SOL_TCP, TCP_CORK, 0, SOCK_STREAM, false, "TCP_CORK"},
};

static const char *tcp_state_name(int st)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established",
		[TCP_SYN_SENT] = "syn-sent",
		[TCP_SYN_RECV] = "syn-recv",
		[TCP_FIN_WAIT1] = "fin-wait-1",
		[TCP_FIN_WAIT2] = "fin-wait-2",
		[TCP_TIME_WAIT] = "time-wait",
		[TCP_CLOSE] = "closed",
		[TCP_CLOSE_WAIT] = "close-wait",
		[TCP_LAST_ACK] = "last-ack",
		[TCP_LISTEN] = "listening",
		[TCP_CLOSING] = "closing",
	};

	return st > 0 && st < (int)ARRAY_SIZE(names) && names[st] ? names[st] : "unknown";
}

/* ---- dump ---- */

/* "socket:[ino]": the socket's family and type, asked of a copy of the fd. */
static int sock_kind(const struct fd_info *fi, int *family, int *type, int *proto)
{
	socklen_t l = sizeof(int);
	int fd;

	if (!S_ISSOCK(fi->st.st_mode))
		return -ENOTSOCK;
	fd = steal_fd(fi);
	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &l) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &l) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, proto, &l)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static bool is_inet(const struct fd_info *fi, int want_type, int want_proto)
{
	int family = 0, type = 0, proto = 0;

	if (sock_kind(fi, &family, &type, &proto))
		return false;
	return (family == AF_INET || family == AF_INET6) && type == want_type &&
	       proto == want_proto;
}

static bool recognise_tcp(const struct fd_info *fi)
{
	return is_inet(fi, SOCK_STREAM, IPPROTO_TCP);
}

static bool recognise_udp(const struct fd_info *fi)
{
	return is_inet(fi, SOCK_DGRAM, IPPROTO_UDP);
}

static int tcp_info_of(int fd, struct tcp_info *ti)
{
	socklen_t l = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, SOL_TCP, TCP_INFO, ti, &l) ? -errno : 0;
}

/* Is the other end of connection @fi a socket the tree holds? (the dump's index: sockdiag.h) */
static int peer_in_tree(const struct fd_info *fi, bool *yes)
{
	uint32_t peer;
	int ret = sk_index_tcp_peer(fi->ctx, fi->st.st_ino, &peer);

	*yes = false;
	return ret || !peer ? ret : sk_index_held(fi->ctx, peer, yes);
}

/* Is @fd's peer in the tree's peer network (another node's part of the same checkpoint)? */
static bool peer_in_net(const struct fd_info *fi, int fd)
{
	const struct cr_frozen *t = fi->ctx->tree;
	struct sockaddr_in6 sa = {0};
	socklen_t l = sizeof(sa);
	uint32_t a, mask;

	if (!t || !t->peer_net_prefix || getpeername(fd, (struct sockaddr *)&sa, &l))
		return false;
	if (sa.sin6_family == AF_INET)
		a = ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr);
	else if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr))
		memcpy(&a, &sa.sin6_addr.s6_addr[12], 4), a = ntohl(a);
	else
		return false;
	mask = ~0u << (32 - t->peer_net_prefix);
	return (a & mask) == (t->peer_net & mask);
}

/*
 * Only what can be restored: the accept queue empty, the peer inside the tree
 * (or in the peer network: cr_freeze_opts).
 * What fails here passes with time (a connection accepted, closed, or a
 * script's short-lived call to outside): -EAGAIN, so a caller may try again.
 */
static int check_tcp(const struct fd_info *fi)
{
	int fd = steal_fd(fi), ret = 0;
	struct tcp_info ti = {0};
	bool in = false;

	if (fd < 0)
		return fd;
	if (tcp_info_of(fd, &ti))
		ret = -errno;
	else
		in = ti.tcpi_state == TCP_ESTABLISHED && peer_in_net(fi, fd);
	close(fd);
	if (ret) {
		pr_perror("Can't read the state of TCP socket fd %d of task %d", fi->fd, fi->pid);
		return ret;
	}
	if (ti.tcpi_state == TCP_LISTEN && ti.tcpi_unacked) {
		pr_err("Task %d fd %d: a TCP listener with %u connections waiting to be accepted "
		       "is not supported (none could be put back in its accept queue)\n",
		       fi->pid, fi->fd, ti.tcpi_unacked);
		return -EAGAIN;
	}
	if (ti.tcpi_state != TCP_LISTEN && ti.tcpi_state != TCP_CLOSE &&
	    ti.tcpi_state != TCP_ESTABLISHED) {
		pr_err("Task %d fd %d: a TCP socket in state %s is not supported\n", fi->pid,
		       fi->fd, tcp_state_name(ti.tcpi_state));
		return -EAGAIN;
	}
	if (ti.tcpi_state == TCP_ESTABLISHED && !in && (ret = peer_in_tree(fi, &in)))
		return ret;
	if (ti.tcpi_state == TCP_ESTABLISHED && !in) {
		pr_err("Task %d fd %d: a TCP connection to a peer outside the tree is not "
		       "supported\n",
		       fi->pid, fi->fd);
		return -EAGAIN;
	}
	return 0;
}

/* Addresses and the int options. */
static void read_common(int fd, struct cr_inet_sk_rec *r)
{
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)r->src;
	socklen_t l;

	l = sizeof(r->src);
	if (!getsockname(fd, (struct sockaddr *)r->src, &l) && a->sin6_port) {
		r->srclen = l;
		r->flags |= CR_INET_BOUND;
	}
	l = sizeof(r->dst);
	if (!getpeername(fd, (struct sockaddr *)r->dst, &l)) {
		r->dstlen = l;
		r->flags |= CR_INET_CONNECTED;
	}
	for (int i = 0; i < CR_INET_NOPTS; i++) {
		const struct inet_opt *o = &inet_opts[i];

		l = sizeof(int);
		if ((o->family && o->family != (int)r->family) ||
		    (o->type && o->type != (int)r->type))
			continue;
		if (!getsockopt(fd, o->level, o->name, &r->opts[i], &l))
			r->opt_mask |= 1u << i;
	}
}

/* The bytes of one queue, peeked in repair mode. */
static int peek_queue(int fd, int queue, uint32_t *seq, char **buf, uint32_t *len)
{
	socklen_t l = sizeof(*seq);
	int req = queue == TCP_SEND_QUEUE ? SIOCOUTQ : SIOCINQ, n = 0;
	ssize_t got = 0;

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) ||
	    getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq, &l) || ioctl(fd, req, &n))
		return -errno;
	*buf = malloc(n + 1);
	if (!*buf)
		return -ENOMEM;
	if (n)
		got = recv(fd, *buf, n, MSG_PEEK | MSG_DONTWAIT);
	if (got != n)
		return got < 0 ? -errno : -EIO;
	*len = n;
	return 0;
}

/* TCP_REPAIR_OPTIONS' values (TCP_INFO and TCP_MAXSEG), window and timestamp. */
static int read_repair_state(int fd, struct cr_inet_sk_rec *r)
{
	socklen_t l = sizeof(r->mss);
	struct tcp_info ti;
	int ret = tcp_info_of(fd, &ti);

	if (ret)
		return ret;
	if (ti.tcpi_options & TCPI_OPT_SACK)
		r->tcpopts |= CR_TCPOPT_SACK;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS)
		r->tcpopts |= CR_TCPOPT_TSTAMP;
	if (ti.tcpi_options & TCPI_OPT_WSCALE)
		r->tcpopts |= CR_TCPOPT_WSCALE;
	r->snd_wscale = ti.tcpi_snd_wscale;
	r->rcv_wscale = ti.tcpi_rcv_wscale;
	if (getsockopt(fd, SOL_TCP, TCP_MAXSEG, &r->mss, &l))
		return -errno;
	l = sizeof(r->window);
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, r->window, &l))
		return -errno;
	l = sizeof(r->timestamp);
	return getsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &r->timestamp, &l) ? -errno : 0;
}

/*
 * An established connection, read in repair mode (the network is locked):
 * the socket stays in it until cr_release, so a killed tree sends no FIN.
 */
static int dump_established(struct dump_ctx *ctx, const struct fd_info *fi, int fd,
			    struct cr_inet_sk_rec *r, char **snd, char **rcv)
{
	int on = 1, rfd, ret;

	if (!ctx->net) {
		pr_err("Task %d fd %d: an established TCP connection needs the network locked "
		       "(--net-lock)\n",
		       fi->pid, fi->fd);
		return -ENOTSUP;
	}
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		pr_perror("Can't put TCP socket fd %d of task %d in repair mode", fi->fd, fi->pid);
		return -errno;
	}
	rfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ret = rfd < 0 ? -errno : netlock_keep_repair(ctx->net, rfd);
	if (ret) {
		if (rfd >= 0)
			close(rfd);
		on = 0;
		setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on));
		return ret;
	}
	ret = peek_queue(fd, TCP_SEND_QUEUE, &r->snd_seq, snd, &r->nsnd);
	if (!ret)
		ret = peek_queue(fd, TCP_RECV_QUEUE, &r->rcv_seq, rcv, &r->nrcv);
	if (!ret)
		ret = read_repair_state(fd, r);
	if (ret) {
		errno = -ret;
		pr_perror("Can't read TCP connection fd %d of task %d in repair mode", fi->fd,
			  fi->pid);
	}
	return ret;
}

static int dump_sock(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi, int fd,
		     struct cr_inet_sk_rec *r)
{
	char *snd = NULL, *rcv = NULL;
	struct tcp_info ti;
	socklen_t l = sizeof(int);
	int family = 0, ret = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l)) {
		pr_perror("Can't read socket fd %d of task %d", fi->fd, fi->pid);
		return -errno;
	}
	r->family = family;
	read_common(fd, r);
	if (r->type == SOCK_STREAM) {
		ret = tcp_info_of(fd, &ti);
		r->state = ti.tcpi_state;
		r->backlog = ti.tcpi_sacked; /* a listener's: sk_max_ack_backlog */
		if (!ret && r->state == TCP_ESTABLISHED)
			ret = dump_established(ctx, fi, fd, r, &snd, &rcv);
	} else if (!ioctl(fd, SIOCINQ, &family) && family > 0) {
		pr_warn("Task %d fd %d: the datagrams queued on UDP socket %llu are dropped\n",
			fi->pid, fi->fd, (unsigned long long)r->id);
	}
	if (!ret && snd && rcv && r->nsnd + r->nrcv) {
		char *all = malloc(r->nsnd + r->nrcv);

		ret = all ? 0 : -ENOMEM;
		if (all) {
			memcpy(all, snd, r->nsnd);
			memcpy(all + r->nsnd, rcv, r->nrcv);
			ret = cr_img_write2(img, CR_REC_INET_SK, r, sizeof(*r), all,
					    r->nsnd + r->nrcv);
			free(all);
		}
	} else if (!ret) {
		ret = cr_img_write(img, CR_REC_INET_SK, r, sizeof(*r));
	}
	free(snd);
	free(rcv);
	return ret;
}

static int dump_inet(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		     struct cr_file_rec *rec)
{
	struct cr_inet_sk_rec *r;
	int fd, ret;

	rec->obj_id = fi->st.st_ino;
	ret = claim_dump_object(ctx, CR_REC_INET_SK, rec->obj_id);
	if (ret <= 0)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pr_err("No memory for socket fd %d of task %d\n", fi->fd, fi->pid);
		return -ENOMEM;
	}
	r->id = rec->obj_id;
	r->type = rec->kind == CR_FILE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	fd = steal_fd(fi);
	ret = fd < 0 ? fd : dump_sock(img, ctx, fi, fd, r);
	if (fd >= 0)
		close(fd);
	free(r);
	return ret;
}

/* ---- restore ---- */

static int collect_inet(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_inet_sk_rec *r = obj->rec;
	int ret;

	ret = image_check_len(img, h, sizeof(*r),
			      h->len < sizeof(*r) ? 0 : (uint64_t)r->nsnd + r->nrcv);
	if (ret)
		return ret;
	if (r->srclen > sizeof(r->src) || r->dstlen > sizeof(r->dst) ||
	    (r->family != AF_INET && r->family != AF_INET6)) {
		pr_err("Socket %llu: bad addresses in the image\n", (unsigned long long)r->id);
		return -EBADMSG;
	}
	obj->id = r->id;
	return 0;
}

/*
 * Options of one phase (@early: before bind); buffers are forced (we are
 * root), unless @own (the owner policy): then set as the owner would.
 */
static int set_opts(int fd, const struct cr_inet_sk_rec *r, bool early, bool own)
{
	bool repair = r->type == SOCK_STREAM && r->state == TCP_ESTABLISHED;

	for (int i = 0; i < CR_INET_NOPTS; i++) {
		const struct inet_opt *o = &inet_opts[i];
		int name = o->name, val = r->opts[i];
		/* the owner's repaired connection binds a local address only: IP_FREEBIND after */
		bool late_fb = own && repair && o->level == SOL_IP && name == IP_FREEBIND;

		if (!(r->opt_mask & 1u << i) || (o->early && !late_fb) != early)
			continue;
		if (o->level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF)) {
			/* getsockopt gave the doubled size the kernel keeps */
			if (!own)
				name = name == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
			val /= 2;
		}
		if (setsockopt(fd, o->level, name, &val, sizeof(val))) {
			pr_perror("Can't set %s to %d on socket %llu", o->what, val,
				  (unsigned long long)r->id);
			return -errno;
		}
	}
	return 0;
}

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/* One queue refilled in repair mode: no packet leaves, the bytes count as sent/received. */
static int fill_queue(int fd, int queue, const char *buf, uint32_t len)
{
	uint32_t off = 0;

	if (set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue))
		return -errno;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_DONTWAIT);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
	}
	return 0;
}

static int set_repair_options(int fd, const struct cr_inet_sk_rec *r)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n++] = (struct tcp_repair_opt){TCPOPT_MAXSEG, r->mss};
	if (r->tcpopts & CR_TCPOPT_WSCALE)
		o[n++] =
			(struct tcp_repair_opt){TCPOPT_WINDOW, r->snd_wscale | r->rcv_wscale << 16};
	if (r->tcpopts & CR_TCPOPT_SACK)
		o[n++] = (struct tcp_repair_opt){TCPOPT_SACK_PERMITTED, 0};
	if (r->tcpopts & CR_TCPOPT_TSTAMP)
		o[n++] = (struct tcp_repair_opt){TCPOPT_TIMESTAMP, 0};
	return setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0])) ? -errno : 0;
}

/* In repair mode (set before bind: the port may be shared with a listener). */
static int restore_established(int fd, const struct cr_inet_sk_rec *r, bool own)
{
	const char *data = (const char *)(r + 1);
	int ret;

	ret = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (!ret)
		ret = set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, r->snd_seq - r->nsnd);
	if (!ret)
		ret = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	if (!ret)
		ret = set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, r->rcv_seq - r->nrcv);
	/*
	 * The connection's segment size is set at connect from its clamp, the
	 * default 536 on a new socket (TCPOPT_MAXSEG below changes the clamp
	 * only): clamped to the peer's MSS first, it sends full segments
	 * (TCP_MAXSEG takes at most 32767: loopback's 65483 is more).
	 */
	if (!ret && r->mss)
		ret = set_int(fd, SOL_TCP, TCP_MAXSEG, r->mss < 32767 ? (int)r->mss : 32767);
	if (!ret && connect(fd, (const struct sockaddr *)r->dst, r->dstlen))
		ret = -errno;
	if (!ret)
		ret = set_repair_options(fd, r);
	if (!ret && (r->tcpopts & CR_TCPOPT_TSTAMP))
		ret = set_int(fd, SOL_TCP, TCP_TIMESTAMP, r->timestamp);
	if (!ret)
		ret = fill_queue(fd, TCP_RECV_QUEUE, data + r->nsnd, r->nrcv);
	/* refilled in bigger or smaller pieces than written: room for all of it, then its size back
	 */
	if (!ret)
		ret = set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, r->nsnd + (1 << 20));
	if (!ret)
		ret = fill_queue(fd, TCP_SEND_QUEUE, data, r->nsnd);
	if (!ret && (r->opt_mask & 1u << SNDBUF_OPT))
		ret = set_int(fd, SOL_SOCKET, own ? SO_SNDBUF : SO_SNDBUFFORCE,
			      r->opts[SNDBUF_OPT] / 2);
	if (!ret && setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, r->window, sizeof(r->window)))
		ret = -errno;
	if (ret) {
		errno = -ret;
		pr_perror("Can't rebuild TCP connection %llu in repair mode",
			  (unsigned long long)r->id);
	}
	return ret;
}

/*
 * @r's address bound. A connection the killed tree accepted (from a listener
 * without SO_REUSEADDR) and closed left a TIME_WAIT socket on the port, which
 * keeps a listener from binding it, SO_REUSEADDR or not, for 60 s: those of
 * this namespace on that port are destroyed and the bind tried again.
 */
static int bind_sock(int fd, const struct cr_inet_sk_rec *r)
{
	const struct sockaddr *a = (const struct sockaddr *)r->src;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)r->src;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)r->src;
	uint16_t port = ntohs(a4->sin_port); /* sin6_port: the same place */
	int ret = bind(fd, a, r->srclen) ? -errno : 0, ntw = 0;

	if (ret == -EADDRINUSE && r->type == SOCK_STREAM &&
	    !tcp_time_wait_destroy(r->family,
				   r->family == AF_INET6 ? (const void *)&a6->sin6_addr
							 : (const void *)&a4->sin_addr,
				   port, &ntw) &&
	    ntw)
		ret = bind(fd, a, r->srclen) ? -errno : 0;
	if (!ret && ntw)
		pr_info("Socket %llu: destroyed %d TIME_WAIT sockets on port %u to bind it\n",
			(unsigned long long)r->id, ntw, port);
	if (ret) {
		errno = -ret;
		pr_perror("Can't bind socket %llu to port %u%s", (unsigned long long)r->id, port,
			  ntw ? " (even with its TIME_WAIT sockets destroyed)" : "");
	}
	return ret;
}

static int make_sock(const struct cr_restore_opts *opts, const struct cr_inet_sk_rec *r)
{
	bool repair = r->type == SOCK_STREAM && r->state == TCP_ESTABLISHED;
	bool own = opts && opts->owner;
	int fd, ret;

	if (repair && !(opts && opts->net_lock)) {
		pr_err("TCP connection %llu: restoring an established connection needs the "
		       "network locked (--net-lock)\n",
		       (unsigned long long)r->id);
		return -ENOTSUP;
	}
	fd = socket(r->family, r->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("Can't create socket %llu", (unsigned long long)r->id);
		return -errno;
	}
	/* repair mode after SO_REUSEADDR, which would undo its forced reuse of the port */
	ret = set_opts(fd, r, true, own);
	if (!ret && repair && set_int(fd, SOL_TCP, TCP_REPAIR, 1)) {
		ret = -errno;
		pr_perror("Can't put socket %llu in repair mode", (unsigned long long)r->id);
	}
	if (!ret && (r->flags & CR_INET_BOUND))
		ret = bind_sock(fd, r);
	if (!ret && repair)
		ret = restore_established(fd, r, own);
	else if (!ret && r->type == SOCK_STREAM && r->state == TCP_LISTEN &&
		 listen(fd, r->backlog)) {
		ret = -errno;
		pr_perror("Can't listen on socket %llu", (unsigned long long)r->id);
	} else if (!ret && r->type == SOCK_DGRAM && (r->flags & CR_INET_CONNECTED) &&
		   connect(fd, (const struct sockaddr *)r->dst, r->dstlen)) {
		ret = -errno;
		pr_perror("Can't connect UDP socket %llu", (unsigned long long)r->id);
	}
	if (!ret)
		ret = set_opts(fd, r, false, own);
	if (!ret && repair && (r->opt_mask & 1u << REUSEADDR_OPT))
		ret = set_int(fd, SOL_SOCKET, SO_REUSEADDR, r->opts[REUSEADDR_OPT]);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Field @n (from 0) of a sysctl of the restarter's net namespace, or @dflt. */
static long sysctl_field(const char *name, int n, long dflt)
{
	char *s = proc_read_file("/proc/sys/net/%s", name), *p = s, *e;
	long v = dflt;

	for (int i = 0; p && i <= n; i++, p = e) {
		v = strtol(p, &e, 10);
		if (e == p) {
			v = dflt;
			break;
		}
	}
	free(s);
	return v;
}

/* The most a queue can hold for the owner: the larger of 2 * [wr]mem_max and tcp_[wr]mem[2]. */
static long owner_queue_max(bool snd)
{
	long core = 2 * sysctl_field(snd ? "core/wmem_max" : "core/rmem_max", 0, 212992);
	long tcp = sysctl_field(snd ? "ipv4/tcp_wmem" : "ipv4/tcp_rmem", 2, 6291456);

	return core > tcp ? core : tcp;
}

/* The privileged option of @r, named in @what, or NULL. */
static const char *privileged_opt(const struct cr_inet_sk_rec *r, char *what, size_t len)
{
	for (int i = 0; i < CR_INET_NOPTS; i++) {
		const struct inet_opt *o = &inet_opts[i];
		int v = r->opts[i];

		if (!(r->opt_mask & 1u << i) || o->level != SOL_SOCKET)
			continue;
		if ((o->name == SO_MARK && v) || (o->name == SO_PRIORITY && (v < 0 || v > 6))) {
			snprintf(what, len, "%s %d", o->what, v);
			return what;
		}
	}
	return NULL;
}

/* Is the other end of established connection @r in the peer network (cr_restore_opts)? */
static bool peer_in_opts_net(const struct cr_restore_opts *opts, const struct cr_inet_sk_rec *r)
{
	const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)r->dst;
	uint32_t a, mask;

	if (!opts->peer_net_prefix || opts->peer_net_prefix > 32)
		return false;
	if (sa->sin6_family == AF_INET && r->dstlen >= sizeof(struct sockaddr_in))
		a = ntohl(((const struct sockaddr_in *)r->dst)->sin_addr.s_addr);
	else if (sa->sin6_family == AF_INET6 && r->dstlen >= sizeof(*sa) &&
		 IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr))
		memcpy(&a, &sa->sin6_addr.s6_addr[12], 4), a = ntohl(a);
	else
		return false;
	mask = ~0u << (32 - opts->peer_net_prefix);
	return (a & mask) == (opts->peer_net & mask);
}

/* Is the other end of established connection @r in the image? */
static bool peer_in_image(const struct rst_image *img, const struct cr_inet_sk_rec *r)
{
	for (size_t i = 0; i < img->nfobjs; i++) {
		const struct cr_inet_sk_rec *p = img->fobjs[i].rec;

		if (img->fobjs[i].type == CR_REC_INET_SK && p != r && p->type == SOCK_STREAM &&
		    p->state == TCP_ESTABLISHED && p->srclen == r->dstlen &&
		    p->dstlen == r->srclen && !memcmp(p->src, r->dst, r->dstlen) &&
		    !memcmp(p->dst, r->src, r->srclen))
			return true;
	}
	return false;
}

/*
 * Under the owner policy: what the owner could not have set is refused,
 * naming task and fd. A repaired connection sends segments the image
 * writes (sequence numbers and all), which only a raw socket could send:
 * both of its ends must be in the image (as the dump ensures).
 */
static int check_owner(const struct rst_image *img, const struct cr_restore_opts *opts,
		       const struct cr_file_rec *rec, const struct cr_inet_sk_rec *r)
{
	uint16_t port = ntohs(((const struct sockaddr_in *)r->src)->sin_port); /* _in6: same */
	long start = sysctl_field("ipv4/ip_unprivileged_port_start", 0, 1024);
	char what[64];
	int fd;
	pid_t pid = owner_holder(img, rec->kind, rec->obj_id, &fd);

	if (privileged_opt(r, what, sizeof(what))) {
		pr_err("Task %d fd %d: %s needs CAP_NET_ADMIN, which the job's owner does not "
		       "have\n",
		       pid, fd, what);
		return -EPERM;
	}
	if ((r->flags & CR_INET_BOUND) && port && port < start) {
		pr_err("Task %d fd %d: port %u is below net.ipv4.ip_unprivileged_port_start (%ld): "
		       "binding it needs CAP_NET_BIND_SERVICE, which the job's owner does not "
		       "have\n",
		       pid, fd, port, start);
		return -EPERM;
	}
	if (r->type == SOCK_STREAM && r->state == TCP_ESTABLISHED && !peer_in_image(img, r) &&
	    !peer_in_opts_net(opts, r)) {
		pr_err("Task %d fd %d: TCP connection %llu: its other end is not in the image: a "
		       "repaired connection to elsewhere needs CAP_NET_RAW, which the job's owner "
		       "does not have\n",
		       pid, fd, (unsigned long long)r->id);
		return -EPERM;
	}
	if (r->nsnd > owner_queue_max(true) || r->nrcv > owner_queue_max(false)) {
		pr_err("Task %d fd %d: %u bytes to send and %u received are more than the job's "
		       "owner's socket buffers hold (%ld, %ld)\n",
		       pid, fd, r->nsnd, r->nrcv, owner_queue_max(true), owner_queue_max(false));
		return -EPERM;
	}
	return 0;
}

static int open_inet(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_INET_SK, rec->obj_id);
	int ret;

	if (!obj) {
		pr_err("Socket %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	ret = opts && opts->owner ? check_owner(img, opts, rec, obj->rec) : 0;
	if (!ret)
		ret = make_sock(opts, obj->rec);
	if (ret < 0)
		return ret;
	*fd = ret;
	if (fcntl(*fd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
		ret = -errno;
		pr_perror("Can't set the flags of socket %llu", (unsigned long long)rec->obj_id);
		close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

/* The established connection behind file @f, or NULL. */
static const struct cr_inet_sk_rec *repaired_sock(struct rst_image *img,
						  const struct rst_img_file *f)
{
	const struct rst_file_obj *obj;
	const struct cr_inet_sk_rec *r;

	if (f->rec->kind != CR_FILE_TCP || (img->skip_kinds & 1ull << CR_FILE_TCP))
		return NULL;
	obj = find_file_obj(img, CR_REC_INET_SK, f->rec->obj_id);
	r = obj ? obj->rec : NULL;
	return r && r->state == TCP_ESTABLISHED ? r : NULL;
}

/* Repair mode off needs CAP_NET_ADMIN, which the restored task may have lost: we do it. */
static int repair_off_one(pid_t pid, int fd, uint64_t id)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), sk, ret = 0;

	if (pidfd < 0) {
		pr_perror("Can't open a pidfd for restored task %d", pid);
		return -errno;
	}
	sk = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (sk < 0 || set_int(sk, SOL_TCP, TCP_REPAIR, 0)) {
		ret = -errno;
		pr_perror("Can't take TCP connection %llu (task %d fd %d) out of repair mode",
			  (unsigned long long)id, pid, fd);
	}
	if (sk >= 0)
		close(sk);
	close(pidfd);
	return ret;
}

int inet_repair_off(struct rst_image *img)
{
	bool *done = calloc(img->nfiles + 1, sizeof(*done));
	int ret = 0;

	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < img->ntasks && !ret; i++) {
		const struct rst_img_task *t = &img->tasks[i];

		for (size_t k = 0; k < t->nfds && !ret; k++)
			for (size_t j = 0; j < img->nfiles && !ret; j++) {
				const struct cr_inet_sk_rec *r;

				if (img->files[j].rec->id != t->fds[k].file_id || done[j])
					continue;
				r = repaired_sock(img, &img->files[j]);
				if (r)
					ret = repair_off_one(t->outer_pid, t->fds[k].fd, r->id);
				done[j] = true;
			}
	}
	free(done);
	return ret;
}

const struct file_ops tcp_ops = {
	.name = "tcp",
	.kind = CR_FILE_TCP,
	.obj_type = CR_REC_INET_SK,
	.recognise = recognise_tcp,
	.check = check_tcp,
	.dump = dump_inet,
	.collect = collect_inet,
	.open = open_inet,
};

/* A UDP socket's record is a CR_REC_INET_SK too: tcp_ops collects it. */
const struct file_ops udp_ops = {
	.name = "udp",
	.kind = CR_FILE_UDP,
	.recognise = recognise_udp,
	.dump = dump_inet,
	.open = open_inet,
};
