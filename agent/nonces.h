/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nonces of the node requests this node took (nonces.c), so that a
 * request delivered a second time is refused even where munged would take
 * its credential again (munged restarted, or another munged: each node has
 * its own). One empty file per nonce in <StateDir>/nonces, named
 * "<expiry>-<nonce in hex>": crd's forked workers share them, a crd restart
 * keeps them, and one whose credential has expired (munge refuses it from
 * then on) is removed by the next claim.
 */
#ifndef CR_NONCES_H
#define CR_NONCES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Clock skew between nodes that munge lets pass; kept this long after the expiry too. */
#define NONCE_SKEW_S 300

/*
 * Take @nonce, good until @expires (the credential's encode time + TTL):
 * 0 the first time, -EALREADY when it was taken before, or -errno when it
 * cannot be recorded (the request must be refused then too).
 */
int nonce_claim(const char *state_dir, const uint8_t *nonce, size_t len, time_t expires);

#endif
