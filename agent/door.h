/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crd's TCP port. A request is the payload of a munge credential, so the
 * caller's uid comes from munge, not from the request:
 *	CTL:  u32 version, u32 cmd, u32 jobid, u32 flags, str options  (crctl)
 *	NODE: the layout in protoauth.h (a coordinator; root): for this node,
 *	      first seen here, and the key that seals the rest of the exchange
 * CTL goes through the crctl door (ctl.c), NODE through the node door (node.c).
 */
#ifndef CR_DOOR_H
#define CR_DOOR_H

#include "ctx.h"
#include "proto.h"

/*
 * One request on an accepted connection, in a crd worker: @first is its
 * first message, CTL or NODE, read by crd's gate (gate.c); freed here.
 * Once munge accepted the credential, the worker's pid is written to
 * @authed_fd (crd limits the workers whose credential is not known good)
 * and the ITIMER_REAL crd set for the gate's deadline is stopped.
 * -EACCES when the credential was refused or is not one (the caller makes
 * its source wait, gate_cool), else 0 or -EPROTO.
 */
int door_request(const struct crd_ctx *ctx, int fd, struct cr_msg *first, int authed_fd);

#endif
