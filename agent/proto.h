/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire protocol between spank_cr.so, the relay, crd, the per-job monitor
 * and crctl. imsg-like: every message is a fixed header followed by exactly
 * hdr.len - CR_HDR_SIZE bytes of payload; file descriptors travel with
 * SCM_RIGHTS on the unix sockets. Payloads are packed with the cr_pack_*()
 * helpers and unpacked with cr_unpack_*(), which fail on a short payload;
 * cr_unpack_done() fails when bytes are left over (exact size check).
 */
#ifndef CR_PROTO_H
#define CR_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CR_PROTO_VERSION 1
#define CR_HDR_SIZE	 sizeof(struct cr_hdr)
#define CR_MSG_MAX	 (1u << 20) /* header + payload */
/* A message that has begun arrives whole within this, however it is paced. */
#define CR_MSG_DEADLINE_MS 10000
#define CR_FDS_MAX	   8

enum cr_msg_type {
	CR_MSG_OK = 1,	  /* str text */
	CR_MSG_ERR,	  /* u32 code, str message */
	CR_MSG_JOB_START, /* plugin prolog -> crd */
	CR_MSG_JOB_END,	  /* plugin epilog -> crd, crd -> monitor */
	CR_MSG_HELLO,	  /* relay -> crd: u32 jobid, u32 stepid */
	CR_MSG_ADOPT,	  /* crd -> monitor: u32 relay pid; fd: the relay */
	CR_MSG_SPAWN,	  /* relay -> monitor -> init; fds: stdio, script, cwd */
	CR_MSG_STARTED,	  /* monitor -> relay: u32 host pid of the script */
	CR_MSG_SIGNAL,	  /* relay -> monitor -> init: u32 signo */
	CR_MSG_EXIT,	  /* init -> monitor -> relay: u32 wait status */
	CR_MSG_STATUS,	  /* crd -> monitor; reply OK with JSON text */
	CR_MSG_SET,	  /* crd -> monitor: u32 enabled */
	CR_MSG_CTL,	  /* crctl -> crd: str munge credential */
	CR_MSG_NODE,	  /* coordinator -> crd: str munge credential (enum cr_node_op) */
	CR_MSG_DUMP,	  /* coordinator -> node: str JSON; reply OK with JSON */
	CR_MSG_RELEASE,	  /* coordinator -> node: u32 enum cr_release_how */
	CR_MSG_RESTORE,	  /* node -> monitor -> init: str JSON; fds: image dir [, stdio] */
	CR_MSG_RESUME,	  /* node -> monitor -> init: u32 1 run (STARTED), 0 abort, 2 roll back */
	CR_MSG_PROGRESS,  /* crd -> crctl, before the reply: str text */
	CR_MSG_RSH,	  /* cr-rsh -> crd, crd -> slot root: a command to start (launch.h) */
	CR_MSG_MAXTYPE,
};

/* crctl commands, carried inside the munge credential. */
enum cr_ctl_cmd {
	CR_CTL_ABLE = 1,
	CR_CTL_DISABLE,
	CR_CTL_ENABLE,
	CR_CTL_CREATE,
	CR_CTL_VACATE,
	CR_CTL_REQUEUE,
	CR_CTL_RESTART,
	CR_CTL_ERROR,
	CR_CTL_LIST,
	CR_CTL_SHOW,
	CR_CTL_EVACUATE, /* jobid 0; opts Node, Reason: evacuate.c */
	CR_CTL_MAXCMD,
};

/* What a coordinator asks of a node's crd (the payload of CR_MSG_NODE). */
enum cr_node_op {
	CR_NODE_PREPARE = 1, /* freeze the job's container here and hold it */
	CR_NODE_RESTORE,     /* restore a slot's image into the job's container here */
	CR_NODE_EXEC,	     /* start a command in the job's slot here (cr-rsh; launch.h) */
};

enum cr_release_how {
	CR_REL_RESUME = 1, /* let it run (checkpoint done or aborted; restore committed) */
	CR_REL_KILL,	   /* vacate/requeue: the job ends here */
	CR_REL_ABORT,	   /* restore: undo, leave the container empty */
	CR_REL_READY,	   /* restore: every node rebuilt; roll the files back (still stopped) */
};

/* Error codes in CR_MSG_ERR; crctl maps them to its exit codes. */
enum cr_err_code {
	CR_E_FAILED = 1,
	CR_E_PERM,
	CR_E_NOTSUP,
	CR_E_NOJOB,
	CR_E_PROTO,
	CR_E_BADIMG, /* a checkpoint that does not verify: fall back to an older one */
	CR_E_BUSY,   /* another checkpoint of the job is in progress */
	CR_E_AGAIN,  /* a transient failure (I/O, memory, a timeout): the same may work again */
};

struct cr_hdr {
	uint32_t type;
	uint32_t len; /* header included */
	uint32_t peerid;
	uint32_t pid;
};

struct cr_msg {
	struct cr_hdr hdr;
	uint8_t *data; /* payload, hdr.len - CR_HDR_SIZE bytes */
	size_t pos;    /* unpack cursor */
	int fds[CR_FDS_MAX];
	int nfds;
};

struct cr_buf {
	uint8_t *data;
	size_t len, cap;
	int oom;
};

void cr_buf_init(struct cr_buf *b);
void cr_buf_free(struct cr_buf *b);
void cr_pack_u32(struct cr_buf *b, uint32_t v);
void cr_pack_u64(struct cr_buf *b, uint64_t v);
void cr_pack_str(struct cr_buf *b, const char *s);
void cr_pack_bytes(struct cr_buf *b, const void *p, uint32_t len);
void cr_pack_raw(struct cr_buf *b, const void *p, size_t len); /* no length prefix */

int cr_unpack_u32(struct cr_msg *m, uint32_t *v);
int cr_unpack_u64(struct cr_msg *m, uint64_t *v);
/* Points into the message; NUL-terminated on the wire, checked. */
int cr_unpack_str(struct cr_msg *m, const char **s);
int cr_unpack_bytes(struct cr_msg *m, const void **p, uint32_t *len);
int cr_unpack_done(const struct cr_msg *m);

/* Return 0 or -errno. */
int cr_send(int fd, uint32_t type, const struct cr_buf *b, const int *fds, int nfds);
int cr_send_ok(int fd, const char *text);
/* A message whose payload is one u32 (SIGNAL, STARTED, EXIT, RELEASE). */
int cr_send_u32(int fd, uint32_t type, uint32_t v);
int cr_send_err(int fd, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Returns 0, -ECONNRESET on clean EOF before a header, -EPROTO on a bad header. */
/* CLOCK_MONOTONIC in ms: message deadlines (here) and the gate's (gate.c). */
int64_t cr_now_ms(void);
int cr_recv(int fd, struct cr_msg *m);
void cr_msg_free(struct cr_msg *m);
/* Receive one message and expect OK/ERR; the text is copied to buf. */
int cr_recv_reply(int fd, uint32_t *code, char *buf, size_t size);
/* The same, handing every PROGRESS message that comes first to progress(). */
int cr_recv_reply_progress(int fd, uint32_t *code, char *buf, size_t size,
			   void (*progress)(const char *text, void *arg), void *arg);

/* An OK or ERR message's code (0 for OK) and text, copied to buf; -EPROTO for anything else. */
int cr_parse_reply(struct cr_msg *m, uint32_t *code, char *buf, size_t size);

const char *cr_msg_name(uint32_t type);

/* Unix socket helpers. */
int cr_unix_connect(const char *path);
/*
 * A TCP connection to host:port, any address family; send_timeout_s (if > 0)
 * also bounds the connect. Returns the fd, -EHOSTUNREACH when the name does
 * not resolve, or the -errno of the last connect.
 */
int cr_tcp_connect(const char *host, uint32_t port, int send_timeout_s);
int cr_unix_listen(const char *path, mode_t mode);
/* A TCP peer's address and port as text, for log lines ("?" when unknown). */
struct cr_addr_text {
	char s[80];
};
struct cr_addr_text cr_peer_text(int fd);

#endif /* CR_PROTO_H */
