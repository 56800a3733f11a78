/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole writes to files (io.c). */
#ifndef CR_IO_H
#define CR_IO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write all len bytes of p to fd: at offset off with pwrite(2), or at the
 * file offset when off is -1. EINTR is retried; 0 bytes written is -EIO.
 */
int io_write_all(int fd, const void *p, size_t len, off_t off);

#endif /* CR_IO_H */
