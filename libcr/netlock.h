/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network lock: while a tree's sockets are read (dump) or rebuilt
 * (restore), no packet may enter or leave its net namespace, loopback
 * included, or the TCP stack moves on under us (acks, window updates,
 * FIN/RST of a killed task). An nftables table in that namespace drops
 * everything; TCP sockets dumped in repair mode stay so until release.
 */
#ifndef CR_NETLOCK_H
#define CR_NETLOCK_H

#include <stdbool.h>
#include <sys/types.h>

struct cr_netlock {
	int nsfd;	 /* the locked net namespace */
	int *repair_fds; /* dump: the tree's TCP sockets in repair mode (our copies) */
	size_t nrepair;
};

/* Lock the net namespace of task @pid (cr_freeze); *out is NULL on error. */
int netlock_task(pid_t pid, struct cr_netlock **out);
/*
 * cr_restore: move the calling thread into the net namespace at @path (NULL:
 * stay), where the sockets are made; with @lock lock it first (*out).
 */
int netlock_enter(const char *path, bool lock, struct cr_netlock **out);
/* Dump: keep @fd (ours, in repair mode) until netlock_release. 0 or -ENOMEM. */
int netlock_keep_repair(struct cr_netlock *nl, int fd);
/*
 * @killed: the tree is being killed: our copies are closed still in repair
 * mode (no FIN or RST), the namespace stays locked for the restore. Else
 * repair mode ends and the namespace is unlocked. Frees @nl.
 */
int netlock_release(struct cr_netlock *nl, bool killed);

#endif /* CR_NETLOCK_H */
