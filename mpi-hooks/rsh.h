/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cr-rsh's parts: the launch agent (rsh.c) and the slot root (slotroot.c). */
#ifndef CR_RSH_H
#define CR_RSH_H

/* ssh's status for a launch that failed (cr-rsh's own error). */
#define RSH_EXIT_FAIL 255

/*
 * The slot root: listens on fd 3 (made by the container's init) for crd's
 * launch requests and starts each command with its stdio relay. Never returns.
 */
void slot_root_main(void) __attribute__((noreturn));

#endif
