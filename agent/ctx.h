/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a crd process knows for its whole life, read once at start and
 * passed explicitly to whatever needs it: cr.conf and the parts of
 * slurm.conf crd uses. Forked workers, monitors and coordinators inherit it.
 * It holds no job state: that lives in StateDir and the job monitors.
 */
#ifndef CR_CTX_H
#define CR_CTX_H

#include <limits.h>
#include <sys/types.h>

#include "conf.h"

struct crd_ctx {
	struct cr_conf conf;
	char conf_file[PATH_MAX];
	char munge_socket[PATH_MAX]; /* "": munge's default */
	uid_t slurm_uid;	     /* SlurmUser: may act on any job */
	int slurm_ok;		     /* libslurm initialised: slurmctld reachable */
};

/* cr.conf from path; -errno with a message naming the file and line in err. */
int ctx_load(struct crd_ctx *ctx, const char *path, char *err, size_t errlen);

/*
 * SlurmUser and the munge socket (AuthInfo=socket=...), read from slurm.conf:
 * $SLURM_CONF, else slurm.conf next to cr.conf, else /etc/slurm/slurm.conf;
 * $CR_MUNGE_SOCKET overrides the socket. Initialises libslurm when found.
 */
void ctx_load_slurm(struct crd_ctx *ctx);
void ctx_fini(struct crd_ctx *ctx);

#endif
