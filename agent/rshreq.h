/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A cr-rsh launch request (rshreq.c), the payload of CR_MSG_RSH: from cr-rsh
 * to its node's crd (local.c), and from the target node's crd to the slot
 * root in the job's container there (launch.c, mpi-hooks/slotroot.c):
 *	u32 version, str host, str cmd, str cwd, str addr, u32 port,
 *	str cookie, u32 flags, u32 n, n x str env
 * The command's stdio relay connects to addr:port (the caller's slot address)
 * and sends the cookie first (mpi-hooks/rshio.h).
 */
#ifndef CR_RSHREQ_H
#define CR_RSHREQ_H

#include <stdint.h>

#include "proto.h"

#define RSH_COOKIE_LEN 32 /* hex digits */
#define RSH_MAX_ENV    4096
#define RSH_NO_STDIN   1u /* ssh -n: the command reads /dev/null */

struct rsh_req {
	const char *host, *cmd, *cwd, *addr, *cookie;
	uint32_t port, flags;
	uint32_t nenv;
	const char **env; /* nenv strings, then NULL; rsh_req_unpack allocates the array */
};

void rsh_req_pack(struct cr_buf *b, const struct rsh_req *r);
/* 0, or -EPROTO on a malformed request; free(r->env) after use. Strings point into m. */
int rsh_req_unpack(struct cr_msg *m, struct rsh_req *r);

#endif
