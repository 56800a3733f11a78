// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NETLINK_SOCK_DIAG for unix sockets: one exact lookup by inode gives what
 * no getsockopt does (the peer, the name as bound, the pending connections
 * of a listener, the queue lengths, the shutdown state). And the index of
 * the tree's sockets (sockdiag.h): one dump of each table, not one lookup
 * (or one walk of the tree's fds) per socket, which made a checkpoint
 * quadratic in the number of sockets.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "sockdiag: "
#include "log.h"
#include "sockdiag.h"

static int take_attr(const struct nlattr *a, void *data)
{
	struct unix_diag_info *info = data;
	const void *p = mnl_attr_get_payload(a);
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case UNIX_DIAG_NAME:
		info->namelen = len < CR_UNIX_NAME_LEN ? len : CR_UNIX_NAME_LEN;
		memcpy(info->name, p, info->namelen);
		break;
	case UNIX_DIAG_PEER:
		if (len >= sizeof(uint32_t))
			info->peer = *(const uint32_t *)p;
		break;
	case UNIX_DIAG_RQLEN:
		if (len >= sizeof(struct unix_diag_rqlen)) {
			info->rqueue = ((const struct unix_diag_rqlen *)p)->udiag_rqueue;
			info->wqueue = ((const struct unix_diag_rqlen *)p)->udiag_wqueue;
		}
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			info->shutdown = *(const uint8_t *)p;
		break;
	case UNIX_DIAG_ICONS:
		free(info->icons);
		info->icons = malloc(len ? len : 1);
		if (!info->icons)
			return MNL_CB_ERROR;
		memcpy(info->icons, p, len);
		info->nicons = len / sizeof(uint32_t);
		break;
	}
	return MNL_CB_OK;
}

static int take_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct unix_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct unix_diag_info *info = data;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_ERROR;
	info->ino = m->udiag_ino;
	info->type = m->udiag_type;
	info->state = m->udiag_state;
	return mnl_attr_parse(nlh, sizeof(*m), take_attr, data);
}

static int ask(struct mnl_socket *nl, uint32_t ino, struct unix_diag_info *info)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct unix_diag_req *req;
	ssize_t n;
	int ret;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_UNIX;
	req->udiag_ino = ino;
	req->udiag_states = -1;
	req->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
#ifdef UDIAG_SHOW_UID
	req->udiag_show |= UDIAG_SHOW_UID;
#endif
	req->udiag_cookie[0] = req->udiag_cookie[1] = ~0U; /* INET_DIAG_NOCOOKIE */
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, n, 0, 0, take_msg, info);
	return ret < 0 ? (errno ? -errno : -EIO) : 0;
}

int unix_diag_get(uint32_t ino, struct unix_diag_info *info)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	int ret;

	memset(info, 0, sizeof(*info));
	if (!nl) {
		pr_perror("Can't open a sock_diag socket for unix socket %u", ino);
		return -errno;
	}
	ret = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : ask(nl, ino, info);
	mnl_socket_close(nl);
	if (ret && ret != -ENOENT) {
		errno = -ret;
		pr_perror("sock_diag can't describe unix socket %u", ino);
	}
	if (ret) {
		free(info->icons);
		info->icons = NULL;
	}
	return ret;
}

const char *unix_name_str(const char *name, uint32_t namelen, char *buf, size_t len)
{
	if (!namelen)
		return "unbound";
	if (name[0])
		snprintf(buf, len, "%.*s", (int)namelen, name);
	else
		snprintf(buf, len, "@%.*s", (int)namelen - 1, name + 1);
	return buf;
}

/* ---- the index of the tree's sockets ---- */

struct sk_holder {
	uint32_t ino;
	pid_t pid;
	int fd;
};

/* A TCP socket of the namespace; addresses as INET_DIAG gives them (network order). */
struct tcp_ent {
	uint32_t ino;
	uint8_t family;
	uint16_t sport, dport;
	uint32_t src[4], dst[4];
};

struct sk_index {
	bool has_held, has_unix, has_tcp; /* which parts are built */
	struct sk_holder *held;		  /* sorted by ino */
	size_t nheld;
	struct unix_diag_info *unx; /* sorted by ino */
	size_t nunx;
	uint32_t *pending; /* sorted */
	size_t npending;
	struct tcp_ent *tcp; /* by inode (those with one), sorted */
	size_t ntcp;
	struct tcp_ent *tuple; /* all, sorted by family, src, sport, dst, dport */
	size_t ntuple;
};

/* @arr (of *@cap elements, @n used) with room for one more, or NULL (@arr is kept). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 64;
	void *na;

	if (n < *cap)
		return arr;
	na = realloc(arr, nc * size);
	if (na)
		*cap = nc;
	return na;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The socket fds of task @pid, into ix->held. */
static int index_task(struct sk_index *ix, size_t *cap, pid_t pid)
{
	struct sk_holder *h;
	char path[64];
	struct dirent *de;
	struct stat st;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		pr_perror("Can't list the fds of task %d", pid);
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISSOCK(st.st_mode))
			continue; /* an fd closed meanwhile is none of the tree's */
		h = grow(ix->held, cap, ix->nheld, sizeof(*h));
		if (!h) {
			ret = -ENOMEM;
			break;
		}
		ix->held = h;
		h[ix->nheld++] = (struct sk_holder){st.st_ino, pid, atoi(de->d_name)};
	}
	closedir(d);
	return ret;
}

/* One walk over every fd of the frozen tree. */
static int index_held(struct sk_index *ix, const struct cr_frozen *f)
{
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < f->ntasks && !ret; i++)
		if (!f->tasks[i].zombie)
			ret = index_task(ix, &cap, f->tasks[i].pid);
	if (ret == -ENOMEM)
		pr_err("No memory for the index of the tree's sockets\n");
	if (!ret && ix->nheld) /* (qsort wants a non-null array, even empty) */
		qsort(ix->held, ix->nheld, sizeof(*ix->held), cmp_u32); /* ino first */
	return ret;
}

/* A sock_diag dump (@req, @len bytes after the header), each message to @cb. */
static int diag_dump(const void *req, size_t len, mnl_cb_t cb, void *data, const char *what)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	size_t size = 32768; /* the most the kernel puts in one dump message */
	char *buf = malloc(size);
	struct nlmsghdr *nlh;
	unsigned int port;
	int ret = -ENOMEM;
	ssize_t n;

	if (!nl || !buf || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = buf ? -errno : -ENOMEM;
		goto out;
	}
	port = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	memcpy(mnl_nlmsg_put_extra_header(nlh, len), req, len);
	ret = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : MNL_CB_OK;
	while (ret == MNL_CB_OK) {
		n = mnl_socket_recvfrom(nl, buf, size);
		ret = n < 0 ? -errno : mnl_cb_run(buf, n, 1, port, cb, data);
		if (ret == MNL_CB_ERROR)
			ret = errno ? -errno : -EIO;
	}
out:
	if (ret < 0) {
		errno = -ret;
		pr_perror("sock_diag can't list the %s of the namespace", what);
	}
	free(buf);
	if (nl)
		mnl_socket_close(nl);
	return ret < 0 ? ret : 0;
}

struct unix_list {
	struct sk_index *ix;
	size_t cap;
};

static int take_unix(const struct nlmsghdr *nlh, void *data)
{
	struct unix_list *ul = data;
	struct sk_index *ix = ul->ix;
	struct unix_diag_info *u = grow(ix->unx, &ul->cap, ix->nunx, sizeof(*u));

	if (!u) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	ix->unx = u;
	memset(&ix->unx[ix->nunx], 0, sizeof(*ix->unx));
	if (take_msg(nlh, &ix->unx[ix->nunx]) < 0)
		return MNL_CB_ERROR;
	ix->nunx++;
	return MNL_CB_OK;
}

static struct sk_holder *find_held(const struct sk_index *ix, uint32_t ino)
{
	return ix->nheld ? bsearch(&ino, ix->held, ix->nheld, sizeof(*ix->held), cmp_u32) : NULL;
}

/*
 * The pending connections of the tree's listeners: asked one by one (a
 * dump's message has no room for a long list of them), into ix->pending.
 */
static int index_pending(struct sk_index *ix)
{
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < ix->nunx && !ret; i++) {
		struct unix_diag_info *u = &ix->unx[i], li;

		if (u->state != TCP_LISTEN || !u->rqueue || !find_held(ix, u->ino))
			continue;
		ret = unix_diag_get(u->ino, &li);
		if (ret == -ENOENT)
			ret = 0; /* closed meanwhile by the kernel? not one of a frozen tree */
		if (ret || !li.icons)
			continue;
		u->icons = li.icons;
		u->nicons = li.nicons;
		for (uint32_t k = 0; k < u->nicons && !ret; k++) {
			uint32_t *p = grow(ix->pending, &cap, ix->npending, sizeof(*p));

			ret = p ? 0 : -ENOMEM;
			if (p) {
				ix->pending = p;
				p[ix->npending++] = u->icons[k];
			}
		}
	}
	if (ret == -ENOMEM)
		pr_err("No memory for the pending unix connections of the tree\n");
	if (!ret && ix->npending)
		qsort(ix->pending, ix->npending, sizeof(*ix->pending), cmp_u32);
	return ret;
}

static int index_unix(struct sk_index *ix)
{
	struct unix_list ul = {ix, 0};
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = -1,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
	};
	int ret = diag_dump(&req, sizeof(req), take_unix, &ul, "unix sockets");

	if (!ret && ix->nunx)
		qsort(ix->unx, ix->nunx, sizeof(*ix->unx), cmp_u32); /* ino first */
	return ret ? ret : index_pending(ix);
}

struct tcp_list {
	struct sk_index *ix;
	size_t cap;
};

static int take_tcp(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct tcp_list *tl = data;
	struct sk_index *ix = tl->ix;
	struct tcp_ent *e;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_ERROR;
	e = grow(ix->tuple, &tl->cap, ix->ntuple, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	ix->tuple = e;
	e = &ix->tuple[ix->ntuple++];
	*e = (struct tcp_ent){.ino = m->idiag_inode,
			      .family = m->idiag_family,
			      .sport = m->id.idiag_sport,
			      .dport = m->id.idiag_dport};
	memcpy(e->src, m->id.idiag_src, sizeof(e->src));
	memcpy(e->dst, m->id.idiag_dst, sizeof(e->dst));
	return MNL_CB_OK;
}

/* By local, then remote address: a connection's peer has them the other way round. */
static int cmp_tuple(const void *a, const void *b)
{
	const struct tcp_ent *x = a, *y = b;
	int c = (int)x->family - (int)y->family;

	if (!c)
		c = memcmp(x->src, y->src, sizeof(x->src));
	if (!c)
		c = (int)x->sport - (int)y->sport;
	if (!c)
		c = memcmp(x->dst, y->dst, sizeof(x->dst));
	return c ? c : (int)x->dport - (int)y->dport;
}

static int index_tcp(struct sk_index *ix)
{
	struct tcp_list tl = {ix, 0};
	struct inet_diag_req_v2 req = {.sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u};
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		req.sdiag_family = i ? AF_INET6 : AF_INET;
		ret = diag_dump(&req, sizeof(req), take_tcp, &tl, "TCP sockets");
	}
	if (ret)
		return ret;
	ix->tcp = malloc((ix->ntuple + 1) * sizeof(*ix->tcp));
	if (!ix->tcp) {
		pr_err("No memory for the index of %zu TCP sockets\n", ix->ntuple);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ix->ntuple; i++)
		if (ix->tuple[i].ino) /* time-wait, a request: no socket of anyone's */
			ix->tcp[ix->ntcp++] = ix->tuple[i];
	if (ix->ntcp)
		qsort(ix->tcp, ix->ntcp, sizeof(*ix->tcp), cmp_u32); /* ino first */
	if (ix->ntuple)
		qsort(ix->tuple, ix->ntuple, sizeof(*ix->tuple), cmp_tuple);
	return 0;
}

/* @ctx's index with the parts in @want (1 held, 2 unix, 4 tcp) built. */
static int index_get(struct dump_ctx *ctx, int want, struct sk_index **out)
{
	struct sk_index *ix = ctx->sk;
	int ret = 0;

	if (!ix)
		ix = ctx->sk = calloc(1, sizeof(*ix));
	if (!ix) {
		pr_err("No memory for the index of the tree's sockets\n");
		return -ENOMEM;
	}
	/* the unix part asks which listeners the tree holds */
	if (!ix->has_held && (want & 3)) {
		ret = index_held(ix, ctx->tree);
		ix->has_held = !ret;
	}
	if (!ret && !ix->has_unix && (want & 2)) {
		ret = index_unix(ix);
		ix->has_unix = !ret;
	}
	if (!ret && !ix->has_tcp && (want & 4)) {
		ret = index_tcp(ix);
		ix->has_tcp = !ret;
	}
	*out = ix;
	return ret;
}

int sk_index_held(struct dump_ctx *ctx, uint32_t ino, bool *yes)
{
	struct sk_index *ix;
	int ret = index_get(ctx, 1, &ix);

	*yes = !ret && find_held(ix, ino);
	return ret;
}

int sk_index_pending(struct dump_ctx *ctx, uint32_t ino, bool *yes)
{
	struct sk_index *ix;
	int ret = index_get(ctx, 2, &ix);

	*yes = !ret && ix->npending &&
	       bsearch(&ino, ix->pending, ix->npending, sizeof(*ix->pending), cmp_u32);
	return ret;
}

int sk_index_unix(struct dump_ctx *ctx, uint32_t ino, const struct unix_diag_info **info)
{
	struct sk_index *ix;
	int ret = index_get(ctx, 2, &ix);

	*info = !ret && ix->nunx ? bsearch(&ino, ix->unx, ix->nunx, sizeof(*ix->unx), cmp_u32)
				 : NULL;
	return ret;
}

int sk_index_holder(struct dump_ctx *ctx, size_t i, uint32_t *ino, pid_t *pid, int *fd)
{
	struct sk_index *ix;
	int ret = index_get(ctx, 1, &ix);

	if (!ret && i >= ix->nheld)
		ret = -ENOENT;
	if (!ret) {
		*ino = ix->held[i].ino;
		*pid = ix->held[i].pid;
		*fd = ix->held[i].fd;
	}
	return ret;
}

int sk_index_tcp_peer(struct dump_ctx *ctx, uint32_t ino, uint32_t *peer)
{
	struct tcp_ent key, *me, *p;
	struct sk_index *ix;
	int ret = index_get(ctx, 4, &ix);

	*peer = 0;
	me = !ret && ix->ntcp ? bsearch(&ino, ix->tcp, ix->ntcp, sizeof(*ix->tcp), cmp_u32) : NULL;
	if (!me)
		return ret;
	key = (struct tcp_ent){.family = me->family, .sport = me->dport, .dport = me->sport};
	memcpy(key.src, me->dst, sizeof(key.src));
	memcpy(key.dst, me->src, sizeof(key.dst));
	p = bsearch(&key, ix->tuple, ix->ntuple, sizeof(*ix->tuple), cmp_tuple);
	/* the first of equal ones, then the first with a socket that is not this one */
	while (p && p > ix->tuple && !cmp_tuple(p - 1, &key))
		p--;
	for (; p && p < ix->tuple + ix->ntuple && !cmp_tuple(p, &key) && !*peer; p++)
		if (p->ino && p->ino != ino)
			*peer = p->ino;
	return 0;
}

void sk_index_free(struct dump_ctx *ctx)
{
	struct sk_index *ix = ctx->sk;

	if (!ix)
		return;
	for (size_t i = 0; i < ix->nunx; i++)
		free(ix->unx[i].icons);
	free(ix->held);
	free(ix->unx);
	free(ix->pending);
	free(ix->tcp);
	free(ix->tuple);
	free(ix);
	ctx->sk = NULL;
}

/* ---- restore: TIME_WAIT sockets in the way of a bind ---- */

struct tw_list {
	int family;	  /* of the address bound */
	uint32_t addr[4]; /* all zero: the wildcard */
	uint16_t port;	  /* network order */
	struct inet_diag_msg *tw;
	size_t n, cap;
};

static int take_tw(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	static const uint32_t any[4];
	struct tw_list *tl = data;
	struct inet_diag_msg *nt;
	size_t alen = tl->family == AF_INET6 ? 16 : 4;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_ERROR;
	if (m->idiag_state != TCP_TIME_WAIT || m->id.idiag_sport != tl->port ||
	    (memcmp(tl->addr, any, alen) && m->idiag_family == tl->family &&
	     memcmp(m->id.idiag_src, tl->addr, alen)))
		return MNL_CB_OK; /* another port, or a specific address of the same family */
	nt = grow(tl->tw, &tl->cap, tl->n, sizeof(*nt));
	if (!nt) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	tl->tw = nt;
	nt[tl->n++] = *m;
	return MNL_CB_OK;
}

/* One SOCK_DESTROY of the socket @m describes, acknowledged. */
static int destroy_one(struct mnl_socket *nl, const struct inet_diag_msg *m)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	unsigned int port = mnl_socket_get_portid(nl);
	ssize_t n;

	nlh->nlmsg_type = SOCK_DESTROY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 2;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	*req = (struct inet_diag_req_v2){.sdiag_family = m->idiag_family,
					 .sdiag_protocol = IPPROTO_TCP,
					 .idiag_states = 1u << TCP_TIME_WAIT,
					 .id = m->id};
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, n, 2, port, NULL, NULL) < 0 ? (errno ? -errno : -EIO) : 0;
}

int tcp_time_wait_destroy(int family, const void *addr, uint16_t port, int *n)
{
	struct tw_list tl = {.family = family, .port = htons(port)};
	struct inet_diag_req_v2 req = {.sdiag_protocol = IPPROTO_TCP,
				       .idiag_states = 1u << TCP_TIME_WAIT};
	struct mnl_socket *nl = NULL;
	int ret = 0;

	memcpy(tl.addr, addr, family == AF_INET6 ? 16 : 4);
	/* a v6 wildcard holds the port for v4 too: both tables */
	for (int i = 0; i < 2 && !ret; i++) {
		req.sdiag_family = i ? AF_INET6 : AF_INET;
		ret = diag_dump(&req, sizeof(req), take_tw, &tl, "TIME_WAIT sockets");
	}
	*n = tl.n;
	if (!ret && tl.n) {
		nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
		ret = !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	}
	for (size_t i = 0; i < tl.n && !ret; i++) {
		ret = destroy_one(nl, &tl.tw[i]);
		if (ret == -ENOENT)
			ret = 0; /* its time ran out meanwhile */
	}
	if (ret && tl.n) {
		errno = -ret;
		pr_perror("Can't destroy the %zu TIME_WAIT sockets on port %u", tl.n, port);
	}
	if (nl)
		mnl_socket_close(nl);
	free(tl.tw);
	return ret;
}
