/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The digests of what a node writes into a checkpoint. Every file of
 * node-<slot>/ is digested per CR_DIGEST_CHUNK bytes (libcr's scheme and code,
 * img-digest.h) from the bytes crd or libcr write, as they write them; never by
 * reading a file back. The lists go to node-<slot>/digests.json, whose own
 * BLAKE2b-256 (of the bytes written) goes into the MAC'd manifest; at restore
 * digests.json is read once into memory, checked against the manifest, and
 * parsed from those bytes; each file is then read through libcr's checking
 * reader (img-read.h). All functions return 0 or a negative errno; those
 * taking err/errlen write there what failed (-EBADMSG: a digest mismatch).
 */
#ifndef CR_DIGEST_H
#define CR_DIGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cr.h"

#define STORE_DIGEST_HEX 65 /* 64 hex digits + NUL */
#define DIGESTS_FILE	 "digests.json"

/* What node-<slot>/digests.json lists: the image/ directory's files, and the others. */
struct node_digests {
	struct cr_digests *image; /* node-<slot>/image/<name> (cr_dump_ex) */
	struct cr_digests *files; /* node-<slot>/<name>: tmp.tar, shm.tar, stdout, stderr */
};

/*
 * Write d as node-<slot>/digests.json into nodefd (O_EXCL, fsync'd); *entry =
 * {"digests.json": {"size": N, "blake2b": hex}} (the manifest's "files" of the
 * slot), hashed from the bytes written. *bytes = what the lists cover.
 */
int digests_write(int nodefd, const struct node_digests *d, json_t **entry, uint64_t *bytes,
		  char *err, size_t errlen);
/*
 * The slot's digests: digests.json below nodefd, read once into memory, its
 * size and BLAKE2b-256 checked against @files (the manifest's, as
 * digests_write made it), then parsed from those bytes.
 */
int digests_load(int nodefd, json_t *files, struct node_digests *d, char *err, size_t errlen);
void digests_free(struct node_digests *d);
/*
 * Every regular file below dirfd, recursively, fsync'd, and each directory
 * fsync'd as it goes (this is the commit's durability; nothing is read). A
 * symlink, device, fifo or socket below dirfd is an error naming it.
 */
int store_sync_tree(int dirfd, char *err, size_t errlen);

#endif /* CR_DIGEST_H */
