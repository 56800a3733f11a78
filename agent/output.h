/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The job's output saved with its checkpoints (<jobdir>/stdout, stderr: layout
 * in store.h). Both functions return 0 or a negative errno and write to
 * err/errlen what failed.
 */
#ifndef CR_OUTPUT_H
#define CR_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/*
 * The job's stdout/stderr as written up to a checkpoint, kept in <jobdir>/<name>
 * ("stdout" or "stderr"), appended incrementally: truncate <name> to `committed`
 * (the length recorded by the last committed checkpoint; creating it when missing),
 * then append srcfd's bytes [committed, current size of srcfd) read with pread (srcfd
 * is a read-only fd of the job's output file), fdatasync. *len = new length,
 * digest = BLAKE2b-256 hex of <name>[0, len). If srcfd is shorter than committed
 * (someone truncated the job's output) copy it all from offset 0.
 */
int store_output_save(int jobfd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
		      char digest[STORE_DIGEST_HEX], char *err, size_t errlen);
/*
 * Check <name> holds >= len bytes whose [0, len) digest is `digest` (-EBADMSG
 * otherwise), then ftruncate(dstfd, 0) and write those len bytes to dstfd
 * (which may be O_APPEND, write-only). With dstfd -1, only the check.
 */
int store_output_restore(int jobfd, const char *name, uint64_t len, const char *digest, int dstfd,
			 char *err, size_t errlen);

#endif /* CR_OUTPUT_H */
