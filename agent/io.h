/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole writes to files, and reading a file range in chunks (io.c). */
#ifndef CR_IO_H
#define CR_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Write all len bytes of p to fd: at offset off with pwrite(2), or at the
 * file offset when off is -1. EINTR is retried; 0 bytes written is -EIO.
 */
int io_write_all(int fd, const void *p, size_t len, off_t off);

/*
 * pread fd's [off, end) into buf, at most size bytes at a time, and hand each
 * chunk to use(arg, chunk, n, its offset); stops early where fd ends. EINTR
 * is retried; the first error of pread or use is returned. *done = the bytes
 * read.
 */
int io_read_chunks(int fd, uint64_t off, uint64_t end, uint8_t *buf, size_t size,
		   int (*use)(void *arg, const uint8_t *p, size_t n, uint64_t at), void *arg,
		   uint64_t *done);

#endif /* CR_IO_H */
