// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job network: a veth pair per container, routed by the node.
 *
 * The container's eth0 holds the slot's address as a /32 and reaches the
 * node through a gateway, 169.254.1.1 (link-local, never routed), whose
 * neighbour entry in the container is the host side's MAC: the host side
 * holds no address at all, so no subnet is cut per container and what runs
 * on the node outside containers (a plain MPI job choosing its interfaces)
 * sees no new address, the same on every node. The host
 * side routes the address to its veth. What leaves JobNetwork is
 * masqueraded behind the node's own address (an nftables table cr_jobnet),
 * so outside hosts need no route back to job addresses; between job
 * addresses nothing is translated, which is what a job network across nodes
 * builds on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netdb.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "jobnet.h"
#include "jobpeers.h"
#include "log.h"

#define GATEWAY 0xa9fe0101 /* 169.254.1.1 */

struct nl {
	struct mnl_socket *sk;
	unsigned int seq;
	char buf[8192];
};

static int _nl_open(struct nl *nl)
{
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		if (nl->sk)
			mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return ret;
	}
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

static struct nlmsghdr *_nl_msg(struct nl *nl, uint16_t type, uint16_t flags, void *fam,
				size_t famlen)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++nl->seq;
	memcpy(mnl_nlmsg_put_extra_header(h, famlen), fam, famlen);
	return h;
}

/* Send one request, wait for its acknowledgement: 0 or the kernel's -errno. */
static int _nl_talk(struct nl *nl, struct nlmsghdr *h)
{
	unsigned int portid = mnl_socket_get_portid(nl->sk);
	ssize_t n;

	if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(nl->buf, n, nl->seq, portid, NULL, NULL) < 0 ? -errno : 0;
}

static int _link_up(struct nl *nl, int index)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC,
				.ifi_index = index,
				.ifi_flags = IFF_UP,
				.ifi_change = IFF_UP};

	return _nl_talk(nl, _nl_msg(nl, RTM_NEWLINK, 0, &ifi, sizeof(ifi)));
}

static int _link_del(struct nl *nl, const char *name)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlmsghdr *h = _nl_msg(nl, RTM_DELLINK, 0, &ifi, sizeof(ifi));

	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return _nl_talk(nl, h);
}

/* A veth pair: @host here, @peer in the namespace @nsfd. */
static int _veth_add(struct nl *nl, const char *host, const char *peer, int nsfd)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlmsghdr *h = _nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	struct nlattr *info, *data, *pa;

	mnl_attr_put_strz(h, IFLA_IFNAME, host);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	pa = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* the peer's own ifinfomsg, then its attributes */
	mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(h, IFLA_IFNAME, peer);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(h, pa);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return _nl_talk(nl, h);
}

static int _addr_add(struct nl *nl, int index, uint32_t addr, unsigned char scope)
{
	struct ifaddrmsg ifa = {.ifa_family = AF_INET,
				.ifa_prefixlen = 32,
				.ifa_scope = scope,
				.ifa_index = (unsigned int)index};
	struct nlmsghdr *h =
		_nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
	uint32_t a = htonl(addr);

	mnl_attr_put(h, IFA_LOCAL, sizeof(a), &a);
	mnl_attr_put(h, IFA_ADDRESS, sizeof(a), &a);
	return _nl_talk(nl, h);
}

/* A route to @dst/@len through @index (and @gw, unless 0); EEXIST if one is there. */
static int _route_add(struct nl *nl, uint32_t dst, int len, int index, uint32_t gw)
{
	struct rtmsg rt = {.rtm_family = AF_INET,
			   .rtm_dst_len = (unsigned char)len,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_STATIC,
			   .rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
			   .rtm_type = RTN_UNICAST};
	struct nlmsghdr *h = _nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	uint32_t d = htonl(dst), g = htonl(gw);

	if (len)
		mnl_attr_put(h, RTA_DST, sizeof(d), &d);
	if (gw)
		mnl_attr_put(h, RTA_GATEWAY, sizeof(g), &g);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return _nl_talk(nl, h);
}

/* The host side's veth of a job's container: unique per job and unit on a node, 15 characters at
 * most.
 */
static void _host_name(char *buf, size_t len, uint32_t jobid, uint32_t unit)
{
	snprintf(buf, len, "cr%x_%x", jobid, unit & 0xffff);
}

static int _addr_del(struct nl *nl, int index, uint32_t addr)
{
	struct ifaddrmsg ifa = {
		.ifa_family = AF_INET, .ifa_prefixlen = 32, .ifa_index = (unsigned int)index};
	struct nlmsghdr *h = _nl_msg(nl, RTM_DELADDR, 0, &ifa, sizeof(ifa));
	uint32_t a = htonl(addr);

	mnl_attr_put(h, IFA_LOCAL, sizeof(a), &a);
	return _nl_talk(nl, h);
}

static int _route_del(struct nl *nl, uint32_t dst, int index)
{
	struct rtmsg rt = {.rtm_family = AF_INET,
			   .rtm_dst_len = 32,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_scope = RT_SCOPE_NOWHERE};
	struct nlmsghdr *h = _nl_msg(nl, RTM_DELROUTE, 0, &rt, sizeof(rt));
	uint32_t d = htonl(dst);

	mnl_attr_put(h, RTA_DST, sizeof(d), &d);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return _nl_talk(nl, h);
}

/* Enter @pid's namespace of @type (/proc/PID/ns/@name); *self: ours, to come back. */
static int _enter(pid_t pid, const char *name, int type, int *self)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", name);
	*self = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*self < 0 || fd < 0 || setns(fd, type) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret && *self >= 0) {
		close(*self);
		*self = -1;
	}
	return ret;
}

static void _leave(int self, int type)
{
	if (setns(self, type) < 0) {
		/* crd's process would act in the job's namespace from now on */
		log_warn("job network: cannot come back to the node's namespace");
		abort();
	}
	close(self);
}

/* The gateway's permanent neighbour entry: the host side's @mac. */
static int _gateway_neigh(struct nl *nl, int index, const unsigned char mac[6])
{
	struct ndmsg nd = {.ndm_family = AF_INET, .ndm_ifindex = index, .ndm_state = NUD_PERMANENT};
	struct nlmsghdr *h =
		_nl_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
	uint32_t g = htonl(GATEWAY);

	mnl_attr_put(h, NDA_DST, sizeof(g), &g);
	mnl_attr_put(h, NDA_LLADDR, 6, mac);
	return _nl_talk(nl, h);
}

/* Inside the container: loopback up, eth0 with the slot's address, the gateway. */
static int _inside(uint32_t addr, const unsigned char mac[6], char *err, size_t errlen)
{
	struct nl nl;
	int lo, eth, ret;
	const char *what = "netlink";

	ret = _nl_open(&nl);
	if (ret)
		goto out;
	lo = (int)if_nametoindex("lo");
	eth = (int)if_nametoindex("eth0");
	what = "loopback";
	ret = lo && eth ? _link_up(&nl, lo) : -ENODEV;
	if (!ret && (what = "eth0's address"))
		ret = _addr_add(&nl, eth, addr, RT_SCOPE_UNIVERSE);
	if (!ret && (what = "eth0"))
		ret = _link_up(&nl, eth);
	if (!ret && (what = "the gateway's route"))
		ret = _route_add(&nl, GATEWAY, 32, eth, 0);
	if (!ret && (what = "the gateway's neighbour entry"))
		ret = _gateway_neigh(&nl, eth, mac);
	if (!ret && (what = "the default route"))
		ret = _route_add(&nl, 0, 0, eth, GATEWAY);
	mnl_socket_close(nl.sk);
out:
	if (ret)
		snprintf(err, errlen, "container network: %s: %s", what, strerror(-ret));
	return ret;
}

/* The host side's MAC, and no IPv6 on it (no link-local address for node programs to see). */
static int _host_side(const char *host, unsigned char mac[6])
{
	struct ifreq ifr = {0};
	char path[96];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), fd, ret = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", host);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (s >= 0)
		close(s);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", host);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1\n", 2) != 2)
			log_warn("job network: %s", path);
		close(fd);
	}
	return ret;
}

/* The node's side: the veth's end up (no address), the slot's route. */
static int _outside(struct nl *nl, const char *host, uint32_t addr, unsigned char mac[6], char *err,
		    size_t errlen)
{
	int index = (int)if_nametoindex(host), ret;
	char a[INET_ADDRSTRLEN];

	ret = index ? _host_side(host, mac) : -ENODEV;
	if (!ret)
		ret = _link_up(nl, index);
	if (ret) {
		snprintf(err, errlen, "container network: %s: %s", host, strerror(-ret));
		return ret;
	}
	ret = _route_add(nl, addr, 32, index, 0);
	if (ret == -EEXIST)
		snprintf(err, errlen, "container network: address %s is another container's",
			 inet_ntop(AF_INET, &(uint32_t){htonl(addr)}, a, sizeof(a)));
	else if (ret)
		snprintf(err, errlen, "container network: route to %s: %s",
			 inet_ntop(AF_INET, &(uint32_t){htonl(addr)}, a, sizeof(a)),
			 strerror(-ret));
	return ret;
}

/* Configure @init_pid's namespace from inside it, then come back. */
static int _in_ns(pid_t init_pid, uint32_t addr, const unsigned char mac[6], char *err,
		  size_t errlen)
{
	int self, ret = _enter(init_pid, "net", CLONE_NEWNET, &self);

	if (ret) {
		snprintf(err, errlen, "container network: cannot enter it: %s", strerror(-ret));
		return ret;
	}
	ret = _inside(addr, mac, err, errlen);
	_leave(self, CLONE_NEWNET);
	return ret;
}

int jobnet_attach(uint32_t jobid, uint32_t unit, uint32_t addr, pid_t init_pid, char *err,
		  size_t errlen)
{
	char host[IFNAMSIZ], path[64];
	unsigned char mac[6];
	struct nl nl;
	int nsfd, ret;

	_host_name(host, sizeof(host), jobid, unit);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init_pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		snprintf(err, errlen, "container network: %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = _nl_open(&nl);
	if (ret) {
		snprintf(err, errlen, "container network: netlink: %s", strerror(-ret));
		goto out;
	}
	/* A previous run's container of this job and unit: its link goes with it. */
	_link_del(&nl, host);
	ret = _veth_add(&nl, host, "eth0", nsfd);
	if (ret)
		snprintf(err, errlen, "container network: veth %s: %s", host, strerror(-ret));
	if (!ret)
		ret = _outside(&nl, host, addr, mac, err, errlen);
	if (!ret)
		ret = _in_ns(init_pid, addr, mac, err, errlen);
	if (ret)
		_link_del(&nl, host);
	mnl_socket_close(nl.sk);
out:
	close(nsfd);
	return ret;
}

void jobnet_detach(uint32_t jobid, uint32_t unit)
{
	char host[IFNAMSIZ];
	struct nl nl;

	_host_name(host, sizeof(host), jobid, unit);
	if (_nl_open(&nl))
		return;
	_link_del(&nl, host);
	mnl_socket_close(nl.sk);
}

/* eth0's IPv4 address in the calling thread's net namespace, or 0. */
static uint32_t _eth0_addr(void)
{
	struct ifaddrs *ifs, *i;
	uint32_t a = 0;

	if (getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i && !a; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, "eth0"))
			a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
	freeifaddrs(ifs);
	return a;
}

int jobnet_live(pid_t init_pid, char *host, size_t hostlen, uint32_t *addr)
{
	int self, ret;

	ret = _enter(init_pid, "uts", CLONE_NEWUTS, &self);
	if (ret)
		return ret;
	ret = gethostname(host, hostlen) < 0 ? -errno : 0;
	_leave(self, CLONE_NEWUTS);
	if (!ret)
		ret = _enter(init_pid, "net", CLONE_NEWNET, &self);
	if (ret)
		return ret;
	*addr = _eth0_addr();
	_leave(self, CLONE_NEWNET);
	return *addr ? 0 : -EADDRNOTAVAIL;
}

/* Inside the container: the new address first (the last one going would take the routes). */
static int _readdress_inside(pid_t init_pid, uint32_t from, uint32_t to)
{
	struct nl nl;
	int self, ret, eth;

	ret = _enter(init_pid, "net", CLONE_NEWNET, &self);
	if (ret)
		return ret;
	ret = _nl_open(&nl);
	eth = (int)if_nametoindex("eth0");
	if (!ret)
		ret = eth ? _addr_add(&nl, eth, to, RT_SCOPE_UNIVERSE) : -ENODEV;
	if (!ret)
		ret = _addr_del(&nl, eth, from);
	if (nl.sk)
		mnl_socket_close(nl.sk);
	_leave(self, CLONE_NEWNET);
	return ret;
}

int jobnet_readdress(uint32_t jobid, uint32_t unit, pid_t init_pid, uint32_t from, uint32_t to,
		     char *err, size_t errlen)
{
	char host[IFNAMSIZ], a[INET_ADDRSTRLEN];
	struct nl nl;
	int index, ret;

	if (from == to)
		return 0;
	_host_name(host, sizeof(host), jobid, unit);
	index = (int)if_nametoindex(host);
	ret = index ? _nl_open(&nl) : -ENODEV;
	if (ret)
		goto out;
	ret = _route_add(&nl, to, 32, index, 0);
	if (!ret && (ret = _readdress_inside(init_pid, from, to)))
		_route_del(&nl, to, index);
	if (!ret)
		_route_del(&nl, from, index);
	mnl_socket_close(nl.sk);
out:
	inet_ntop(AF_INET, &(uint32_t){htonl(to)}, a, sizeof(a));
	if (ret == -EEXIST)
		snprintf(err, errlen, "the slot's address %s is another container's on this node",
			 a);
	else if (ret)
		snprintf(err, errlen, "cannot give the container its address %s: %s", a,
			 strerror(-ret));
	return ret;
}

static int _run_nft(const char *cmd, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret;

	if (!nft) {
		snprintf(err, errlen, "job network: no nftables context");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	ret = nft_run_cmd_from_buffer(nft, cmd);
	if (ret)
		snprintf(err, errlen, "job network: nftables: %s", nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return ret ? -EIO : 0;
}

int jobnet_node_init(const struct cr_conf *conf, char *err, size_t errlen)
{
	char net[INET_ADDRSTRLEN], cmd[1024];
	uint32_t a = htonl(conf->job_net);
	int fd;

	fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2) {
		snprintf(err, errlen, "job network: cannot turn IPv4 forwarding on: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	close(fd);
	inet_ntop(AF_INET, &a, net, sizeof(net));
	/*
	 * Between job addresses only what a job's own pairs allow (one job
	 * never reaches another's slots); to outside, masqueraded. The pairs of
	 * running jobs stay across a restart of crd: the chains are rewritten,
	 * the set is kept.
	 */
	snprintf(cmd, sizeof(cmd),
		 "add table ip cr_jobnet\n"
		 "add set ip cr_jobnet pairs { type ipv4_addr . ipv4_addr; }\n"
		 "add chain ip cr_jobnet out { type nat hook postrouting priority srcnat; }\n"
		 "add chain ip cr_jobnet between { type filter hook forward priority filter; }\n"
		 "flush chain ip cr_jobnet out\n"
		 "flush chain ip cr_jobnet between\n"
		 "add rule ip cr_jobnet out ip saddr %s/%u ip daddr != %s/%u masquerade\n"
		 "add rule ip cr_jobnet between ip saddr . ip daddr @pairs accept\n"
		 "add rule ip cr_jobnet between ip saddr %s/%u ip daddr %s/%u drop\n",
		 net, conf->job_net_prefix, net, conf->job_net_prefix, net, conf->job_net_prefix,
		 net, conf->job_net_prefix);
	return _run_nft(cmd, err, errlen);
}

/* @node's IPv4 address, as the node resolves it. */
static int _node_addr(const char *node, uint32_t *addr)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	int ret = getaddrinfo(node, NULL, &hints, &res);

	if (ret)
		return ret == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	*addr = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
	freeaddrinfo(res);
	return 0;
}

/*
 * RTM_NEWROUTE or RTM_DELROUTE (that gateway's only) of @dst/32 via @gw. Never
 * replacing: a route there is another job's (the caller dropped its own).
 */
static int _peer_route(struct nl *nl, uint16_t type, uint32_t dst, uint32_t gw)
{
	int add = type == RTM_NEWROUTE;
	struct rtmsg rt = {.rtm_family = AF_INET,
			   .rtm_dst_len = 32,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_STATIC,
			   .rtm_scope = add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE,
			   .rtm_type = RTN_UNICAST};
	struct nlmsghdr *h =
		_nl_msg(nl, type, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &rt, sizeof(rt));
	uint32_t d = htonl(dst), g = htonl(gw);

	mnl_attr_put(h, RTA_DST, sizeof(d), &d);
	mnl_attr_put(h, RTA_GATEWAY, sizeof(g), &g);
	return _nl_talk(nl, h);
}

static int _peer_routes(struct nl *nl, FILE *f, const char *self, const struct job_peer *p,
			size_t n, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN];
	uint32_t gw = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(p[i].node, self))
			continue;
		inet_ntop(AF_INET, &(uint32_t){htonl(p[i].addr)}, a, sizeof(a));
		ret = _node_addr(p[i].node, &gw);
		if (ret)
			return err_set(err, errlen, ret,
				       "job network: node %s (slot %s at %s) has "
				       "no IPv4 address",
				       p[i].node, p[i].name, a);
		ret = _peer_route(nl, RTM_NEWROUTE, p[i].addr, gw);
		if (ret == -EEXIST)
			return err_set(err, errlen, ret,
				       "job network: address %s of slot %s is another job's on "
				       "this node (JobNetwork too small for the jobs running?)",
				       a, p[i].name);
		if (ret)
			return err_set(err, errlen, ret,
				       "job network: route to %s through node %s: %s", a, p[i].node,
				       strerror(-ret));
		fprintf(f, "route %08x %08x\n", p[i].addr, gw);
	}
	return 0;
}

static void _pair(FILE *cmd, FILE *f, uint32_t from, uint32_t to)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &(uint32_t){htonl(from)}, a, sizeof(a));
	inet_ntop(AF_INET, &(uint32_t){htonl(to)}, b, sizeof(b));
	fprintf(cmd, "%s . %s, %s . %s, ", a, b, b, a);
	fprintf(f, "pair %08x %08x\n", from, to);
}

/* What the node forwards between job addresses: each slot here with every other of the job. */
static int _peer_pairs(FILE *f, const char *self, const struct job_peer *p, size_t n, char *err,
		       size_t errlen)
{
	char *text = NULL;
	size_t len = 0, count = 0;
	FILE *cmd = open_memstream(&text, &len);
	int ret = 0;

	if (!cmd)
		return err_set(err, errlen, -ENOMEM, "job network: out of memory");
	fprintf(cmd, "add element ip cr_jobnet pairs { ");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n && !strcmp(p[i].node, self); j++)
			/* two slots here: their pair once */
			if (j != i && (strcmp(p[j].node, self) || j > i) && ++count)
				_pair(cmd, f, p[i].addr, p[j].addr);
	fprintf(cmd, "}\n");
	fclose(cmd);
	if (count)
		ret = _run_nft(text, err, errlen);
	free(text);
	return ret;
}

int jobnet_routes(const char *path, const char *self_node, const struct job_peer *p, size_t n,
		  char *err, size_t errlen)
{
	FILE *f = fopen(path, "we");
	struct nl nl;
	int ret;

	if (!f)
		return err_set(err, errlen, -errno, "job network: %s: %s", path, strerror(errno));
	ret = _nl_open(&nl);
	if (ret)
		err_set(err, errlen, ret, "job network: netlink: %s", strerror(-ret));
	else {
		ret = _peer_routes(&nl, f, self_node, p, n, err, errlen);
		mnl_socket_close(nl.sk);
	}
	if (!ret)
		ret = _peer_pairs(f, self_node, p, n, err, errlen);
	/* what is in already is written: a failure still drops it */
	if (fclose(f) && !ret)
		ret = err_set(err, errlen, -EIO, "job network: %s: cannot write", path);
	return ret;
}

void jobnet_routes_drop(const char *path)
{
	FILE *f = fopen(path, "re");
	char kind[8], cmd[256], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], err[256];
	unsigned int x, y;
	struct nl nl = {0};

	if (!f)
		return;
	if (_nl_open(&nl))
		nl.sk = NULL;
	while (fscanf(f, "%7s %x %x\n", kind, &x, &y) == 3) {
		if (!strcmp(kind, "route") && nl.sk) {
			_peer_route(&nl, RTM_DELROUTE, x, y);
			continue;
		}
		inet_ntop(AF_INET, &(uint32_t){htonl(x)}, a, sizeof(a));
		inet_ntop(AF_INET, &(uint32_t){htonl(y)}, b, sizeof(b));
		/* one by one: one already gone would fail the others */
		snprintf(cmd, sizeof(cmd),
			 "delete element ip cr_jobnet pairs { %s . %s }\n"
			 "delete element ip cr_jobnet pairs { %s . %s }\n",
			 a, b, b, a);
		_run_nft(cmd, err, sizeof(err));
	}
	if (nl.sk)
		mnl_socket_close(nl.sk);
	fclose(f);
	unlink(path);
}
