/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SysV IPC objects: state of the tree's IPC namespace, not of a task or fd.
 * One file per kind (ipc-shm.c, ipc-sem.c, ipc-msg.c), registered in
 * ipc_kinds[] (ipc.c), which dump.c and restore.c call at one place each:
 *   dump     check_ipc() before anything is written, dump_ipc() after the
 *            tasks: a helper child joins the tree's IPC namespace (setns on
 *            /proc/ROOT/ns/ipc) and sends each object through a pipe; this
 *            process writes the records. Only a tree in an IPC namespace of
 *            its own (not cr's) has its objects saved.
 *   restore  prepare_ipc() in the restarter, before the tree forks, makes
 *            every object with its id (/proc/sys/kernel/KIND_next_id) in the
 *            restarter's IPC namespace, which must hold none (under the
 *            owner policy: each owned and made by the owner, within the
 *            limits the owner could set); tasks attach
 *            shm in premap (memory.c); finish_ipc() then marks removed the
 *            segments that were; undo_ipc() removes them all on failure.
 */
#ifndef CR_IPC_H
#define CR_IPC_H

#include <stdint.h>
#include <sys/ipc.h>

#include "image.h"
#include "rst-image.h"

struct cr_frozen;

struct ipc_kind {
	const char *name; /* "shm": also /proc/sysvipc/NAME, /proc/sys/kernel/NAME_next_id */
	uint32_t rec;	  /* CR_REC_IPC_* */
	/* in the helper, inside the namespace: send every object (ipc_send) */
	int (*dump)(int out);
	/* here: write one record received (@in: data following it); NULL: as is */
	int (*save)(struct cr_img *img, const void *rec, uint32_t len, int in);
	/* restore: 0 if @len bytes hold a well-formed record */
	int (*check)(const void *rec, uint32_t len);
	/* make the object (its id set up already; @ow: ipc_create): 0 or -errno, logged */
	int (*make)(struct rst_image *img, const struct cr_owner *ow, const void *rec);
	/* after every task attached: what remains to do (shm: IPC_RMID); NULL: none */
	int (*finish)(const void *rec);
	int (*remove)(int id);
};

extern const struct ipc_kind ipc_shm_kind, ipc_sem_kind, ipc_msg_kind;

/* in the helper: one framed record (raw data may follow: ipc_write_full) */
int ipc_send(int out, uint32_t type, const void *rec, uint32_t len);
int ipc_write_full(int fd, const void *buf, size_t len);
int ipc_read_full(int fd, void *buf, size_t len);
int ipc_set_next_id(const char *kind, int id);
/*
 * The object of kind @rec (CR_REC_IPC_*) created, mode 0600, as the owner if
 * @ow (owner.h): its creator and accounting are the owner's. The id, or -1
 * with errno (for ipc_check_made).
 */
int ipc_create(const struct cr_owner *ow, uint32_t rec, key_t key, uint64_t n);
/* the common part of every object's creation: id check and IPC_SET values */
int ipc_check_made(const char *kind, const struct cr_ipc_perm *p, int got);
/* the image's owner and permission bits into an IPC_SET buffer's ipc_perm */
void ipc_perm_from(struct ipc_perm *dst, const struct cr_ipc_perm *p);

int check_ipc(struct cr_frozen *f);
int dump_ipc(struct cr_img *img, struct cr_frozen *f);

/* image-load.c: an IPC record, kept in img->ipc; RST_REC_OTHER if not one */
int collect_ipc(struct rst_image *img, struct cr_img *cimg, const struct cr_rec_hdr *h, void *p);
/* With an owner policy, objects are the owner's and made as the owner (owner.h). */
int prepare_ipc(struct rst_image *img, const struct cr_restore_opts *opts);
int finish_ipc(struct rst_image *img);
void undo_ipc(struct rst_image *img);

/* memory.c: attach segment @v->shmem_id at @at as the mapping @v was */
int ipc_shm_premap(const struct cr_vma_rec *v, uint64_t at);

#endif /* CR_IPC_H */
