/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The job's output saved with each checkpoint (<seq>/node-0/stdout, stderr:
 * layout in store.h): copied whole from the job's output file at every
 * checkpoint and digested per chunk while written (digest.h), so that a later
 * checkpoint never changes what an earlier one saved; restored from bytes
 * read once and checked. All functions return 0 or a negative errno and
 * write to err/errlen what failed (-EBADMSG: a digest mismatch).
 */
#ifndef CR_OUTPUT_H
#define CR_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "cr.h"

/*
 * Copy srcfd (a read-only fd of the job's output file) from its start into a
 * new file nodefd/<name> ("stdout" or "stderr"), fdatasync'd, digesting the
 * bytes as they are written: their digests are appended to list as name.
 * *len = the bytes copied.
 */
int store_output_save(int nodefd, const char *name, int srcfd, struct cr_digests *list,
		      uint64_t *len, char *err, size_t errlen);
/*
 * nodefd/<name> read once through libcr's checking reader (every chunk
 * against list) into a memory file crd alone holds (*memfd, *len bytes): what
 * store_output_put writes back. Nothing is written anywhere else.
 */
int store_output_load(int nodefd, const char *name, const struct cr_digests *list, int *memfd,
		      uint64_t *len, char *err, size_t errlen);
/* dstfd (which may be O_APPEND, write-only) truncated, then memfd's len bytes. */
int store_output_put(int memfd, uint64_t len, int dstfd, const char *name, char *err,
		     size_t errlen);

#endif /* CR_OUTPUT_H */
