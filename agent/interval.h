/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint interval: Slurm's time formats plus suffixed forms.
 *
 *	M   M:S   H:M:S   D-H   D-H:M   D-H:M:S   Ns  Nm  Nh  Nd
 *
 * "0" means checkpointable without periodic checkpoints. NULL, "" and the
 * string "(null)" (how SPANK hands a bare --checkpoint to remote callbacks)
 * mean the cluster's default interval and yield CR_INTERVAL_DEFAULT.
 */
#ifndef CR_INTERVAL_H
#define CR_INTERVAL_H

#include <stddef.h>

#define CR_INTERVAL_DEFAULT (-1L)
#define CR_INTERVAL_MAX	    (366L * 24 * 3600)

/* Returns 0 and sets *secs, or -EINVAL with a reason in err. */
int cr_interval_parse(const char *s, long *secs, char *err, size_t errlen);
/* Canonical form that parses back to itself: "<seconds>s", or "default". */
void cr_interval_format(long secs, char *buf, size_t len);

#endif /* CR_INTERVAL_H */
