/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receive queue of a unix socket (sk-queue.c), for sk-unix.c: read with
 * MSG_PEEK at dump, fds in flight (SCM_RIGHTS) included, and sent again at
 * restore. Layout in the image: struct cr_unix_sk_rec (image.h).
 */
#ifndef CR_SK_QUEUE_H
#define CR_SK_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "files.h"
#include "sockdiag.h"

struct sk_queue {
	char *buf; /* {uint32_t len, bytes} per message */
	uint32_t len, cap, nmsgs;
	uint32_t *fdw; /* per message with fds in flight: index, count, file ids */
	uint32_t nfdw, fdcap;
};

/*
 * Dump: the queue of @sk (the dumper's copy of @fi's socket), peeked from
 * offset 0; each fd in flight dumped (dump_inflight_fd) and named by its
 * file id in q->fdw. The socket's own SO_PEEK_OFF is the caller's to keep.
 */
int sk_queue_peek(struct cr_img *img, const struct fd_info *fi, int sk,
		  const struct unix_diag_info *di, struct sk_queue *q);
void sk_queue_free(struct sk_queue *q);
/* Dump: *yes if a message queued on @fi's unix socket carries socket @ino in flight. */
int sk_queue_holds(const struct fd_info *fi, uint64_t ino, bool *yes);

/* Restore: is @r's table of fds in flight (nfdwords after ndata) sound? -EBADMSG, logged. */
int sk_queue_check(const struct cr_unix_sk_rec *r);
/*
 * @r's queued messages sent again through @via (to @to, if given), each
 * with its fds in flight (the restarter's fds of those files: every file is
 * open by then), one sendmsg per message kept.
 */
int sk_queue_refill(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_unix_sk_rec *r, int via, const struct sockaddr_un *to,
		    socklen_t tolen);

#endif /* CR_SK_QUEUE_H */
