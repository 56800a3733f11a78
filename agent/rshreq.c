// SPDX-License-Identifier: LGPL-2.1-or-later
/* A cr-rsh launch request on the wire (layout in rshreq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rshreq.h"

void rsh_req_pack(struct cr_buf *b, const struct rsh_req *r)
{
	cr_pack_u32(b, CR_PROTO_VERSION);
	cr_pack_str(b, r->host);
	cr_pack_str(b, r->cmd);
	cr_pack_str(b, r->cwd);
	cr_pack_str(b, r->addr);
	cr_pack_u32(b, r->port);
	cr_pack_str(b, r->cookie);
	cr_pack_u32(b, r->flags);
	cr_pack_u32(b, r->nenv);
	for (uint32_t i = 0; i < r->nenv; i++)
		cr_pack_str(b, r->env[i]);
}

int rsh_req_unpack(struct cr_msg *m, struct rsh_req *r)
{
	uint32_t version;

	memset(r, 0, sizeof(*r));
	if (cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_str(m, &r->host) || cr_unpack_str(m, &r->cmd) || cr_unpack_str(m, &r->cwd) ||
	    cr_unpack_str(m, &r->addr) || cr_unpack_u32(m, &r->port) ||
	    cr_unpack_str(m, &r->cookie) || cr_unpack_u32(m, &r->flags) ||
	    cr_unpack_u32(m, &r->nenv) || r->nenv > RSH_MAX_ENV || r->port == 0 ||
	    r->port > 65535 || strlen(r->cookie) != RSH_COOKIE_LEN)
		return -EPROTO;
	r->env = calloc(r->nenv + 1, sizeof(*r->env));
	if (!r->env)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->nenv; i++)
		if (cr_unpack_str(m, &r->env[i]))
			goto bad;
	if (cr_unpack_done(m))
		goto bad;
	return 0;
bad:
	free(r->env);
	r->env = NULL;
	return -EPROTO;
}
