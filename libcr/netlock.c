// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The network lock (netlock.h): a table "cr_netlock" of the inet family
 * whose input and output chains drop every packet, made with libnftables
 * inside the locked namespace. Adding it is idempotent, so a caller that
 * locked the namespace itself (crd, cr_net_lock) may ask again. The
 * caller's own namespace is never locked: that would cut off the host.
 */
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "netlock: "
#include "log.h"
#include "netlock.h"
#include "internal.h"

static const char lock_cmd[] =
	"add table inet cr_netlock\n"
	"add chain inet cr_netlock in { type filter hook input priority -400; policy drop; }\n"
	"add chain inet cr_netlock out { type filter hook output priority -400; policy drop; }\n";
/* "add" first: deleting a table that is not there is an error */
static const char unlock_cmd[] = "add table inet cr_netlock\ndelete table inet cr_netlock\n";

static int run_nft(const char *cmd)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret;

	if (!nft) {
		pr_err("Can't make an nftables context\n");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	ret = nft_run_cmd_from_buffer(nft, cmd);
	if (ret)
		pr_err("nftables refused \"%.40s...\": %s\n", cmd, nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return ret ? -EIO : 0;
}

static bool same_ns(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Run @cmd in the namespace @nsfd: this thread goes there and comes back.
 * @own_ok: locking our own namespace is what the caller means (a restarter
 * inside the tree's own namespace, such as a container's init).
 */
static int nft_in_ns(int nsfd, const char *cmd, bool lock, bool own_ok)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ret;

	if (self < 0) {
		pr_perror("Can't open our own net namespace");
		return -errno;
	}
	if (lock && !own_ok && same_ns(self, nsfd)) {
		pr_err("Refusing to lock our own net namespace: the tree must have one of its "
		       "own\n");
		close(self);
		return -EPERM;
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		ret = -errno;
		pr_perror("Can't enter the net namespace to %s it", lock ? "lock" : "unlock");
		close(self);
		return ret;
	}
	ret = run_nft(cmd);
	if (setns(self, CLONE_NEWNET) < 0) {
		pr_perror("Can't come back to our own net namespace");
		ret = ret ? ret : -errno;
	}
	close(self);
	return ret;
}

int cr_net_lock(int nsfd)
{
	return nft_in_ns(nsfd, lock_cmd, true, false);
}

int cr_net_unlock(int nsfd)
{
	return nft_in_ns(nsfd, unlock_cmd, false, false);
}

static int lock_path(const char *path, bool own_ok, struct cr_netlock **out)
{
	struct cr_netlock *nl = calloc(1, sizeof(*nl));
	int ret;

	*out = NULL;
	if (!nl) {
		pr_err("No memory for the network lock\n");
		return -ENOMEM;
	}
	nl->nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nl->nsfd < 0) {
		ret = -errno;
		pr_perror("Can't open net namespace %s", path);
		free(nl);
		return ret;
	}
	ret = nft_in_ns(nl->nsfd, lock_cmd, true, own_ok);
	if (ret) {
		close(nl->nsfd);
		free(nl);
		return ret;
	}
	pr_info("Net namespace %s locked\n", path);
	*out = nl;
	return 0;
}

int netlock_task(pid_t pid, struct cr_netlock **out)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return lock_path(path, false, out);
}

int netlock_enter(const char *path, bool lock, struct cr_netlock **out)
{
	int fd, ret;

	*out = NULL;
	if (lock) {
		/* no path: the caller's own namespace, which it asked to have locked */
		ret = path ? lock_path(path, false, out)
			   : lock_path("/proc/thread-self/ns/net", true, out);
		if (ret || !*out)
			return ret ? ret : -EIO;
		fd = (*out)->nsfd;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		pr_perror("Can't open net namespace %s", path);
		return -errno;
	}
	ret = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	if (ret)
		pr_perror("Can't enter net namespace %s", path);
	if (!lock)
		close(fd);
	else if (ret) {
		netlock_release(*out, false);
		*out = NULL;
	}
	return ret;
}

int netlock_keep_repair(struct cr_netlock *nl, int fd)
{
	int *n = realloc(nl->repair_fds, (nl->nrepair + 1) * sizeof(*n));

	if (!n) {
		pr_err("No memory to keep socket fd %d in repair mode\n", fd);
		return -ENOMEM;
	}
	nl->repair_fds = n;
	n[nl->nrepair++] = fd;
	return 0;
}

int netlock_release(struct cr_netlock *nl, bool killed)
{
	int off = 0, ret = 0;

	if (!nl)
		return 0;
	for (size_t i = 0; i < nl->nrepair; i++) {
		/* killed: closed in repair mode, the socket sends nothing */
		if (!killed &&
		    setsockopt(nl->repair_fds[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off))) {
			pr_perror("Can't take a TCP socket out of repair mode");
			ret = -errno;
		}
		close(nl->repair_fds[i]);
	}
	if (!killed) {
		int r = cr_net_unlock(nl->nsfd);

		ret = ret ? ret : r;
	}
	close(nl->nsfd);
	free(nl->repair_fds);
	free(nl);
	return ret;
}
