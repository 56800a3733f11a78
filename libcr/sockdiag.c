// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NETLINK_SOCK_DIAG for unix sockets: one exact lookup by inode gives what
 * no getsockopt does (the peer, the name as bound, the pending connections
 * of a listener, the queue lengths, the shutdown state).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
