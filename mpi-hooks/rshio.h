/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream between cr-rsh and the relay of the command it started
 * (rshio.c): a TCP connection between two slots of the job. The relay sends
 * the request's cookie (RSH_COOKIE_LEN bytes) first, then frames both ways:
 * u8 type, u32 length (big-endian), data.
 *	'i' stdin (cr-rsh -> relay; length 0: end of input)
 *	'o' stdout, 'e' stderr (relay -> cr-rsh)
 *	'x' the command's wait status, u32 big-endian (relay -> cr-rsh, last)
 */
#ifndef CR_RSHIO_H
#define CR_RSHIO_H

#include <stddef.h>
#include <stdint.h>

#define RSHIO_HDR   5
#define RSHIO_CHUNK 16384 /* the largest frame either side sends */

/* Exactly len bytes: 0, -ECONNRESET at EOF, or -errno. */
int rshio_read_all(int fd, void *p, size_t len);
/* One frame, whole (blocking). */
int rshio_send(int fd, uint8_t type, const void *p, uint32_t len);
/* A frame header into buf (RSHIO_HDR bytes). */
void rshio_header(uint8_t *buf, uint8_t type, uint32_t len);
/* One frame into buf (up to RSHIO_CHUNK bytes): 0, -ECONNRESET at EOF, -EPROTO, -errno. */
int rshio_recv(int fd, uint8_t *type, uint8_t *buf, uint32_t *len);

#endif
