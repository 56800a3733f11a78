// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/proto.c: framing, fd passing and the unpackers, table-driven.
 *
 * msg_rows[] has one row per message layout: its name, its type, how many
 * fds it travels with, a function that packs a valid one and a function that
 * unpacks it as its receiver does. Every row is checked the same way:
 *   - it round-trips, in memory and through cr_send/cr_recv on a socketpair:
 *     the receiver accepts it and decodes exactly what was packed;
 *   - cut at every byte it is refused, in memory (the payload is allocated
 *     at its exact size, so an over-read is an ASan error) and on the stream
 *     (cr_recv fails, frees what it took and leaks no fd);
 *   - with bytes left over, or with any length or count field off by one,
 *     zero, or huge, it is refused; with fds missing or extra, too.
 * A new message (MPI, network lock...) is one new row: a _build_*() with the
 * w_*() packers (they remember what was packed and where the length fields
 * are) and an _unpack_*() with the u_*() unpackers (they remember what was
 * decoded). test_every_type_has_a_row fails until it has one.
 *
 * The follow-ups of a node conversation (DUMP, RELEASE and the node's OK
 * and ERR) travel sealed (protoauth.h): their rows are the payload inside
 * the seal; protoauth-test checks the seal.
 *
 * The receivers unpack inline today (crd.c, monitor.c, container.c, ctl.c,
 * node.c, relay.c, and cr_recv_reply_progress in proto.c), so each
 * _unpack_*() repeats its receiver's checks and names it: the table pins the
 * format the agent accepts. When a message gets an unpack function of its
 * own (issue 9, the handler tables), its row should call that instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"
#include "protoauth.h"

#define MAX_LENS 32

/* ---- packing a valid message, remembering what and where ---- */

struct wire {
	struct cr_buf b;       /* the payload */
	struct cr_buf sent;    /* a transcript of every value packed */
	size_t lens[MAX_LENS]; /* payload offsets of the u32 length and count fields */
	int nlens;
};

/* The transcript: a tag and the value, for packing and unpacking alike. */
static void _note(struct cr_buf *t, char tag, const void *p, size_t len)
{
	uint32_t l = len;

	cr_pack_raw(t, &tag, 1);
	cr_pack_raw(t, &l, sizeof(l));
	cr_pack_raw(t, p, len);
}

static void _mark_len(struct wire *w)
{
	assert_true(w->nlens < MAX_LENS);
	w->lens[w->nlens++] = w->b.len;
}

static void w_u32(struct wire *w, uint32_t v)
{
	_note(&w->sent, 'u', &v, sizeof(v));
	cr_pack_u32(&w->b, v);
}

static void w_u64(struct wire *w, uint64_t v)
{
	_note(&w->sent, 'U', &v, sizeof(v));
	cr_pack_u64(&w->b, v);
}

/* A count of the elements that follow: a length field too. */
static void w_count(struct wire *w, uint32_t n)
{
	_mark_len(w);
	w_u32(w, n);
}

static void w_str(struct wire *w, const char *s)
{
	_note(&w->sent, 's', s, strlen(s) + 1);
	_mark_len(w);
	cr_pack_str(&w->b, s);
}

static void w_bytes(struct wire *w, const void *p, uint32_t len)
{
	_note(&w->sent, 'b', p, len);
	_mark_len(w);
	cr_pack_bytes(&w->b, p, len);
}

static void w_strv(struct wire *w, const char *const *v, uint32_t n)
{
	w_count(w, n);
	for (uint32_t i = 0; i < n; i++)
		w_str(w, v[i]);
}

/* ---- unpacking, remembering what was decoded ---- */

static struct cr_buf seen;

static int u_u32(struct cr_msg *m, uint32_t *v)
{
	if (cr_unpack_u32(m, v))
		return -EPROTO;
	_note(&seen, 'u', v, sizeof(*v));
	return 0;
}

static int u_u64(struct cr_msg *m, uint64_t *v)
{
	if (cr_unpack_u64(m, v))
		return -EPROTO;
	_note(&seen, 'U', v, sizeof(*v));
	return 0;
}

static int u_str(struct cr_msg *m, const char **s)
{
	if (cr_unpack_str(m, s))
		return -EPROTO;
	_note(&seen, 's', *s, strlen(*s) + 1);
	return 0;
}

static int u_bytes(struct cr_msg *m, const void **p, uint32_t *len)
{
	if (cr_unpack_bytes(m, p, len))
		return -EPROTO;
	_note(&seen, 'b', *p, *len);
	return 0;
}

/* container.c _unpack_strv: a count (at most MAX_STRS) and as many strings. */
#define MAX_STRS 65536

static int u_strv(struct cr_msg *m, uint32_t *n)
{
	const char *s;

	if (u_u32(m, n) || *n > MAX_STRS)
		return -EPROTO;
	for (uint32_t i = 0; i < *n; i++)
		if (u_str(m, &s))
			return -EPROTO;
	return 0;
}

/* ---- the rows: builders ---- */

static const char *const argv_sample[] = {"/var/spool/slurmd/job00042/slurm_script", "--steps",
					  "50"};
static const char *const envp_sample[] = {"SLURM_JOB_ID=42", "PATH=/usr/bin:/bin", "HOME=/home/u",
					  "X="};

static void _build_text(struct wire *w)
{
	w_str(w, "restored");
}

static void _build_json(struct wire *w)
{
	w_str(w, "{\"seq\":3,\"dir\":\"/ckpt/job42/3\"}");
}

static void _build_u32(struct wire *w)
{
	w_u32(w, 7);
}

static void _build_err(struct wire *w)
{
	w_u32(w, CR_E_NOJOB);
	w_str(w, "job 42 is not checkpointable");
}

static void _build_job_start(struct wire *w)
{
	w_u32(w, CR_PROTO_VERSION);
	w_u32(w, 42);	/* jobid */
	w_u32(w, 1000); /* uid */
	w_u32(w, 1000); /* gid */
	w_u32(w, 600);	/* interval */
	w_str(w, "/shared/ckpt");
	w_str(w, "node1");
	w_str(w, "node[1-2]");
	w_u32(w, 0); /* restart_from */
}

/* A cr-rsh request (rshreq.h): version, host, cmd, cwd, addr, port, cookie, flags, env. */
static void _build_rsh(struct wire *w)
{
	static const char *const env[] = {"PATH=/usr/bin:/bin", "OMPI_MCA_plm=rsh"};

	w_u32(w, CR_PROTO_VERSION);
	w_str(w, "node2");
	w_str(w, "orted --daemonize -mca ess env");
	w_str(w, "/home/u/run");
	w_str(w, "100.64.0.65");
	w_u32(w, 40123);
	w_str(w, "0123456789abcdef0123456789abcdef");
	w_u32(w, 0);
	w_strv(w, env, 2);
}

static void _build_job_end(struct wire *w)
{
	w_u32(w, CR_PROTO_VERSION);
	w_u32(w, 42);
}

static void _build_hello(struct wire *w)
{
	w_u32(w, CR_PROTO_VERSION);
	w_u32(w, 42);
	w_u32(w, 0xfffffffb); /* SLURM_BATCH_SCRIPT */
}

static void _build_signal(struct wire *w)
{
	w_u32(w, SIGUSR1);
}

static void _build_empty(struct wire *w)
{
	(void)w;
}

static void _build_cred(struct wire *w)
{
	w_str(w, "MUNGE:AwQDAACm9SIqkx1hxKsbVTHFzLW0mxJzWbzr9y3Zr0CaIXuJlvBLmmYvk7ZT:");
}

static void _build_ctl_payload(struct wire *w)
{
	w_u32(w, CR_PROTO_VERSION);
	w_u32(w, CR_CTL_CREATE);
	w_u32(w, 42);
	w_u32(w, 0); /* flags */
	w_str(w, "{\"wait\":true}");
}

/* protoauth.h: version, op, jobid, target node, nonce, key, arguments */
static void _build_node_payload(struct wire *w)
{
	uint8_t nonce[CR_NONCE_LEN] = {1, 2, 3}, key[CR_CHAN_KEY_LEN] = {4, 5, 6};

	w_u32(w, CR_NODE_VERSION);
	w_u32(w, CR_NODE_PREPARE);
	w_u32(w, 42);
	w_str(w, "node2");
	w_bytes(w, nonce, sizeof(nonce));
	w_bytes(w, key, sizeof(key));
	w_str(w, "{\"coordinator\":\"node1\"}");
}

static void _build_spawn_relay(struct wire *w)
{
	w_u32(w, CR_PROTO_VERSION);
	w_strv(w, argv_sample, 3);
	w_strv(w, envp_sample, 4);
}

static void _build_spawn_init(struct wire *w)
{
	const uint32_t groups[] = {1000, 27, 100};
	const uint8_t cpus[16] = {0x0f};

	w_u32(w, 1000); /* uid */
	w_u32(w, 1000); /* gid */
	w_u32(w, 0022); /* umask */
	w_bytes(w, groups, sizeof(groups));
	w_bytes(w, cpus, sizeof(cpus));
	w_count(w, 2); /* rlimits: resource, cur, max */
	w_u32(w, 3);
	w_u64(w, 8 << 20);
	w_u64(w, UINT64_MAX);
	w_u32(w, 7);
	w_u64(w, 1024);
	w_u64(w, 4096);
	w_strv(w, argv_sample, 3);
	w_strv(w, envp_sample, 4);
}

/* ---- the rows: unpackers, as the receivers check ---- */

/* proto.c cr_recv_reply_progress */
static int _unpack_ok(struct cr_msg *m)
{
	const char *s;

	return u_str(m, &s) || cr_unpack_done(m) ? -EPROTO : 0;
}

/* proto.c cr_recv_reply_progress */
static int _unpack_err(struct cr_msg *m)
{
	const char *s;
	uint32_t code;

	return u_u32(m, &code) || u_str(m, &s) || cr_unpack_done(m) ? -EPROTO : 0;
}

/* crd.c _job_start */
static int _unpack_job_start(struct cr_msg *m)
{
	uint32_t version, u;
	const char *dir, *node, *nodelist;

	if (u_u32(m, &version) || version != CR_PROTO_VERSION || u_u32(m, &u) || u_u32(m, &u) ||
	    u_u32(m, &u) || u_u32(m, &u) || u_str(m, &dir) || u_str(m, &node) ||
	    u_str(m, &nodelist) || u_u32(m, &u) || cr_unpack_done(m) || strlen(dir) >= PATH_MAX ||
	    strlen(nodelist) >= 1024)
		return -EPROTO;
	return 0;
}

/* rshreq.c rsh_req_unpack (local.c, launch.c, mpi-hooks/slotroot.c) */
static int _unpack_rsh(struct cr_msg *m)
{
	uint32_t version, port, flags, n;
	const char *s, *cookie;

	if (u_u32(m, &version) || version != CR_PROTO_VERSION || u_str(m, &s) || u_str(m, &s) ||
	    u_str(m, &s) || u_str(m, &s) || u_u32(m, &port) || u_str(m, &cookie) ||
	    u_u32(m, &flags) || u_u32(m, &n) || n > 4096 || port == 0 || port > 65535 ||
	    strlen(cookie) != 32)
		return -EPROTO;
	for (uint32_t i = 0; i < n; i++)
		if (u_str(m, &s))
			return -EPROTO;
	return cr_unpack_done(m) ? -EPROTO : 0;
}

/* crd.c _job_end */
static int _unpack_job_end(struct cr_msg *m)
{
	uint32_t version, jobid;

	if (u_u32(m, &version) || version != CR_PROTO_VERSION || u_u32(m, &jobid) ||
	    cr_unpack_done(m))
		return -EPROTO;
	return 0;
}

/* crd.c _hello */
static int _unpack_hello(struct cr_msg *m)
{
	uint32_t version, jobid, stepid;

	if (u_u32(m, &version) || u_u32(m, &jobid) || u_u32(m, &stepid) || cr_unpack_done(m) ||
	    version != CR_PROTO_VERSION)
		return -EPROTO;
	return 0;
}

/* monitor.c _adopt */
static int _unpack_adopt(struct cr_msg *m)
{
	uint32_t pid;

	if (m->nfds != 1 || u_u32(m, &pid) || cr_unpack_done(m))
		return -EPROTO;
	return 0;
}

/* monitor.c _relay_spawn (nfds, version), then container.c _spawn (argv, envp) */
static int _unpack_spawn_relay(struct cr_msg *m)
{
	uint32_t version, nargv, nenvp;

	if (m->nfds != 5 || u_u32(m, &version) || version != CR_PROTO_VERSION ||
	    u_strv(m, &nargv) || nargv == 0 || u_strv(m, &nenvp) || cr_unpack_done(m))
		return -EPROTO;
	return 0;
}

/* container.c _spawn */
static int _unpack_spawn_init(struct cr_msg *m)
{
	uint32_t u, len, nrlim, nargv, nenvp;
	const void *p;
	uint64_t x;

	if (m->nfds != 5 || u_u32(m, &u) || u_u32(m, &u) || u_u32(m, &u) || u_bytes(m, &p, &len) ||
	    len % sizeof(gid_t) || len > 65536 * sizeof(gid_t))
		return -EPROTO;
	if (u_bytes(m, &p, &len))
		return -EPROTO;
	if (u_u32(m, &nrlim) || nrlim > 64)
		return -EPROTO;
	for (uint32_t i = 0; i < nrlim; i++)
		if (u_u32(m, &u) || u_u64(m, &x) || u_u64(m, &x))
			return -EPROTO;
	if (u_strv(m, &nargv) || nargv == 0 || u_strv(m, &nenvp) || cr_unpack_done(m))
		return -EPROTO;
	return 0;
}

/* monitor.c _init_msg (STARTED, EXIT); relay.c (EXIT); monitor.c SET; node.c RELEASE;
 * container.c RESUME */
static int _unpack_u32(struct cr_msg *m)
{
	uint32_t v;

	return u_u32(m, &v) || cr_unpack_done(m) ? -EPROTO : 0;
}

/* monitor.c _relay_msg */
static int _unpack_signal(struct cr_msg *m)
{
	uint32_t signo;

	if (u_u32(m, &signo) || cr_unpack_done(m) || !signo || signo >= NSIG)
		return -EPROTO;
	return 0;
}

/* monitor.c STATUS */
static int _unpack_empty(struct cr_msg *m)
{
	return cr_unpack_done(m) ? -EPROTO : 0;
}

/* ctl.c _decode (CTL, NODE); node.c DUMP */
static int _unpack_str(struct cr_msg *m)
{
	const char *s;

	return u_str(m, &s) || cr_unpack_done(m) ? -EPROTO : 0;
}

/* container.c _restore */
static int _unpack_restore(struct cr_msg *m)
{
	const char *s;

	if (m->nfds < 1 || u_str(m, &s) || cr_unpack_done(m))
		return -EPROTO;
	return 0;
}

/* ctl.c ctl_request, a crctl request */
static int _unpack_ctl_payload(struct cr_msg *m)
{
	uint32_t version, cmd, jobid, flags;
	const char *text;

	if (u_u32(m, &version) || version != CR_PROTO_VERSION || u_u32(m, &cmd) || u_u32(m, &jobid))
		return -EPROTO;
	if (u_u32(m, &flags) || u_str(m, &text) || cr_unpack_done(m) || cmd == 0 ||
	    cmd >= CR_CTL_MAXCMD)
		return -EPROTO;
	return 0;
}

/* door.c _node_door (protoauth.c cr_node_req_unpack), a coordinator's request */
static int _unpack_node_payload(struct cr_msg *m)
{
	struct cr_msg real = *m;
	struct cr_node_req r;
	uint32_t version, op, jobid, nlen, klen;
	const char *target, *text;
	const void *nonce, *key;
	int ret = -EPROTO;

	if (!u_u32(m, &version) && version == CR_NODE_VERSION && !u_u32(m, &op) &&
	    !u_u32(m, &jobid) && !u_str(m, &target) && strlen(target) < CR_NODE_NAME_MAX &&
	    !u_bytes(m, &nonce, &nlen) && nlen == CR_NONCE_LEN && !u_bytes(m, &key, &klen) &&
	    klen == CR_CHAN_KEY_LEN && !u_str(m, &text) && !cr_unpack_done(m))
		ret = 0;
	/* the receiver's own unpacker agrees */
	real.pos = 0;
	assert_int_equal(cr_node_req_unpack(&real, &r), ret);
	return ret;
}

/*
 * The layout of a PROGRESS. Its receiver, proto.c cr_recv_reply_progress, is
 * laxer (no cr_unpack_done; a bad one is skipped): test_progress_left_over.
 */
static int _unpack_progress(struct cr_msg *m)
{
	const char *s;

	return u_str(m, &s) || cr_unpack_done(m) ? -EPROTO : 0;
}

/* ---- the table ---- */

struct msg_row {
	const char *name;
	uint32_t type; /* CR_MSG_*; 0 for a payload carried inside another message */
	int nfds;      /* fds it travels with (the test sends this many) */
	int nfds_max;  /* the most its receiver takes */
	void (*build)(struct wire *w);
	int (*unpack)(struct cr_msg *m); /* 0 accepted, -EPROTO refused */
};

static const struct msg_row msg_rows[] = {
	{"OK", CR_MSG_OK, 0, 0, _build_text, _unpack_ok},
	{"ERR", CR_MSG_ERR, 0, 0, _build_err, _unpack_err},
	{"JOB_START", CR_MSG_JOB_START, 0, 0, _build_job_start, _unpack_job_start},
	{"JOB_END", CR_MSG_JOB_END, 0, 0, _build_job_end, _unpack_job_end},
	{"HELLO", CR_MSG_HELLO, 0, 0, _build_hello, _unpack_hello},
	{"ADOPT", CR_MSG_ADOPT, 1, 1, _build_u32, _unpack_adopt},
	{"SPAWN relay->monitor", CR_MSG_SPAWN, 5, 5, _build_spawn_relay, _unpack_spawn_relay},
	{"SPAWN monitor->init", CR_MSG_SPAWN, 5, 5, _build_spawn_init, _unpack_spawn_init},
	{"STARTED", CR_MSG_STARTED, 0, 0, _build_u32, _unpack_u32},
	{"SIGNAL", CR_MSG_SIGNAL, 0, 0, _build_signal, _unpack_signal},
	{"EXIT", CR_MSG_EXIT, 0, 0, _build_u32, _unpack_u32},
	{"STATUS", CR_MSG_STATUS, 0, 0, _build_empty, _unpack_empty},
	{"SET", CR_MSG_SET, 0, 0, _build_u32, _unpack_u32},
	{"CTL", CR_MSG_CTL, 0, 0, _build_cred, _unpack_str},
	{"CTL payload (in the credential)", 0, 0, 0, _build_ctl_payload, _unpack_ctl_payload},
	{"NODE", CR_MSG_NODE, 0, 0, _build_cred, _unpack_str},
	{"NODE payload (in the credential)", 0, 0, 0, _build_node_payload, _unpack_node_payload},
	{"DUMP", CR_MSG_DUMP, 0, 0, _build_json, _unpack_str},
	{"RELEASE", CR_MSG_RELEASE, 0, 0, _build_u32, _unpack_u32},
	{"RESTORE", CR_MSG_RESTORE, 1, CR_FDS_MAX, _build_json, _unpack_restore},
	{"RESUME", CR_MSG_RESUME, 0, 0, _build_u32, _unpack_u32},
	{"PROGRESS", CR_MSG_PROGRESS, 0, 0, _build_text, _unpack_progress},
	{"RSH", CR_MSG_RSH, 0, 0, _build_rsh, _unpack_rsh},
};

#define NROWS (sizeof(msg_rows) / sizeof(msg_rows[0]))

/* ---- helpers ---- */

static void _wire_build(const struct msg_row *r, struct wire *w)
{
	memset(w, 0, sizeof(*w));
	cr_buf_init(&w->b);
	cr_buf_init(&w->sent);
	r->build(w);
	assert_false(w->b.oom);
}

static void _wire_free(struct wire *w)
{
	cr_buf_free(&w->b);
	cr_buf_free(&w->sent);
}

/*
 * Unpack len bytes of payload as the row's receiver, from a copy allocated at
 * exactly that size (none when empty, as cr_recv does).
 */
static int _unpack_bytes(const struct msg_row *r, const void *p, size_t len, int nfds)
{
	struct cr_msg m = {0};
	int ret;

	m.hdr.type = r->type;
	m.hdr.len = CR_HDR_SIZE + len;
	if (len) {
		m.data = malloc(len);
		assert_non_null(m.data);
		memcpy(m.data, p, len);
	}
	m.nfds = nfds;
	for (int i = 0; i < CR_FDS_MAX; i++)
		m.fds[i] = -1;
	cr_buf_free(&seen);
	ret = r->unpack(&m);
	free(m.data);
	return ret;
}

static void _expect_refused(const struct msg_row *r, const void *p, size_t len, int nfds,
			    const char *what)
{
	if (_unpack_bytes(r, p, len, nfds) == 0)
		fail_msg("%s: accepted %s", r->name, what);
}

/* Did the receiver decode exactly what the builder packed? */
static int _same_transcript(const struct wire *w)
{
	return seen.len == w->sent.len && (!seen.len || !memcmp(seen.data, w->sent.data, seen.len));
}

static int _nfds_open(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void _socketpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- the checks every row gets ---- */

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		struct wire w;

		_wire_build(r, &w);
		if (_unpack_bytes(r, w.b.data, w.b.len, r->nfds))
			fail_msg("%s: a valid one is refused", r->name);
		if (!_same_transcript(&w))
			fail_msg("%s: decoded other values than were packed", r->name);
		_wire_free(&w);
	}
}

/* The same through a socket: framing, fds, and cr_recv's allocation. */
static void test_round_trip_socket(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		int sv[2], fds[CR_FDS_MAX], before;
		struct cr_msg m;
		struct wire w;

		if (!r->type)
			continue; /* travels inside another message */
		before = _nfds_open();
		_wire_build(r, &w);
		_socketpair(sv);
		for (int k = 0; k < r->nfds; k++)
			fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_int_equal(cr_send(sv[0], r->type, &w.b, fds, r->nfds), 0);
		assert_int_equal(cr_recv(sv[1], &m), 0);
		assert_int_equal(m.hdr.type, r->type);
		assert_int_equal(m.hdr.len, CR_HDR_SIZE + w.b.len);
		assert_int_equal(m.hdr.pid, getpid());
		assert_int_equal(m.nfds, r->nfds);
		cr_buf_free(&seen);
		if (r->unpack(&m))
			fail_msg("%s: refused after cr_send/cr_recv", r->name);
		if (!_same_transcript(&w))
			fail_msg("%s: decoded other values than were sent", r->name);
		cr_msg_free(&m);
		for (int k = 0; k < r->nfds; k++)
			close(fds[k]);
		close(sv[0]);
		close(sv[1]);
		_wire_free(&w);
		assert_int_equal(_nfds_open(), before);
	}
}

static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		char what[64];
		struct wire w;

		_wire_build(r, &w);
		for (size_t k = 0; k < w.b.len; k++) {
			snprintf(what, sizeof(what), "cut to %zu of %zu bytes", k, w.b.len);
			_expect_refused(r, w.b.data, k, r->nfds, what);
		}
		_wire_free(&w);
	}
}

/* A sender that dies mid-message: cr_recv fails and keeps nothing. */
static void test_truncated_stream(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		struct cr_hdr hdr = {0};
		uint8_t *full;
		size_t total;
		struct wire w;
		struct cr_msg m;
		int sv[2], before;

		if (!r->type)
			continue;
		_wire_build(r, &w);
		hdr.type = r->type;
		hdr.len = CR_HDR_SIZE + w.b.len;
		total = hdr.len;
		full = malloc(total);
		assert_non_null(full);
		memcpy(full, &hdr, CR_HDR_SIZE);
		if (w.b.len)
			memcpy(full + CR_HDR_SIZE, w.b.data, w.b.len);
		before = _nfds_open();
		for (size_t k = 0; k < total; k++) {
			_socketpair(sv);
			assert_int_equal(write(sv[0], full, k), (ssize_t)k);
			close(sv[0]);
			int ret = cr_recv(sv[1], &m);
			if (ret == 0)
				fail_msg("%s: cr_recv accepted %zu of %zu bytes", r->name, k,
					 total);
			assert_int_equal(ret, k == 0 ? -ECONNRESET : -EPIPE);
			assert_null(m.data);
			close(sv[1]);
		}
		assert_int_equal(_nfds_open(), before);
		free(full);
		_wire_free(&w);
	}
}

static void test_left_over(void **state)
{
	static const size_t extra[] = {1, 3, 4, 8, 64};

	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		char what[64];
		uint8_t *p;
		struct wire w;

		_wire_build(r, &w);
		for (size_t e = 0; e < sizeof(extra) / sizeof(extra[0]); e++) {
			p = calloc(1, w.b.len + extra[e]);
			assert_non_null(p);
			if (w.b.len)
				memcpy(p, w.b.data, w.b.len);
			snprintf(what, sizeof(what), "%zu bytes left over", extra[e]);
			_expect_refused(r, p, w.b.len + extra[e], r->nfds, what);
			free(p);
		}
		_wire_free(&w);
	}
}

static void test_bad_lengths(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		char what[96];
		uint32_t orig, bad[7];
		struct wire w;
		uint8_t *p;

		_wire_build(r, &w);
		p = malloc(w.b.len ? w.b.len : 1);
		assert_non_null(p);
		for (int f = 0; f < w.nlens; f++) {
			size_t off = w.lens[f];
			int nbad = 0;

			memcpy(&orig, w.b.data + off, sizeof(orig));
			bad[nbad++] = orig + 1;
			if (orig > 0)
				bad[nbad++] = orig - 1;
			bad[nbad++] = w.b.len - off - sizeof(orig) + 1; /* one past the end */
			bad[nbad++] = 0;
			bad[nbad++] = 0x7fffffff;
			bad[nbad++] = 0x80000000;
			bad[nbad++] = 0xffffffff;
			for (int b = 0; b < nbad; b++) {
				if (bad[b] == orig)
					continue;
				memcpy(p, w.b.data, w.b.len);
				memcpy(p + off, &bad[b], sizeof(bad[b]));
				snprintf(what, sizeof(what),
					 "length field %d (at %zu) %u instead of %u", f, off,
					 bad[b], orig);
				_expect_refused(r, p, w.b.len, r->nfds, what);
			}
		}
		free(p);
		_wire_free(&w);
	}
}

static void test_wrong_fds(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct msg_row *r = &msg_rows[i];
		struct wire w;

		if (!r->nfds)
			continue;
		_wire_build(r, &w);
		_expect_refused(r, w.b.data, w.b.len, r->nfds - 1, "one fd missing");
		if (r->nfds_max < CR_FDS_MAX)
			_expect_refused(r, w.b.data, w.b.len, r->nfds_max + 1, "an fd too many");
		_wire_free(&w);
	}
}

/* Later issues add rows: no message type goes without one. */
static void test_every_type_has_a_row(void **state)
{
	(void)state;
	for (uint32_t t = 1; t < CR_MSG_MAXTYPE; t++) {
		int found = 0;

		for (size_t i = 0; i < NROWS; i++)
			found |= msg_rows[i].type == t;
		if (!found)
			fail_msg("%s (%u) has no row in msg_rows[]", cr_msg_name(t), t);
		assert_string_not_equal(cr_msg_name(t), "UNKNOWN");
	}
	assert_string_equal(cr_msg_name(0), "UNKNOWN");
	assert_string_equal(cr_msg_name(CR_MSG_MAXTYPE), "UNKNOWN");
	assert_string_equal(cr_msg_name(UINT32_MAX), "UNKNOWN");
}

/* ---- the primitives and the framing, beyond the table ---- */

static void test_unpack_str(void **state)
{
	static const struct {
		const char *bytes;
		uint32_t len;
		int ok;
	} cases[] = {
		{"abc", 4, 1},	  /* "abc\0" */
		{"", 1, 1},	  /* "" */
		{"abc", 3, 0},	  /* no NUL */
		{"", 0, 0},	  /* not even the NUL */
		{"a\0bc", 5, 0},  /* a NUL inside */
		{"ab\0\0", 4, 0}, /* two NULs at the end */
	};
	const struct msg_row r = {"str", CR_MSG_OK, 0, 0, NULL, _unpack_ok};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[16];

		memcpy(p, &cases[i].len, 4);
		memcpy(p + 4, cases[i].bytes, cases[i].len);
		if ((_unpack_bytes(&r, p, 4 + cases[i].len, 0) == 0) != cases[i].ok)
			fail_msg("string case %zu: %s", i, cases[i].ok ? "refused" : "accepted");
	}
}

static void test_unpack_leaves_cursor(void **state)
{
	uint8_t p[6] = {1, 0, 0, 0, 9, 9};
	struct cr_msg m = {0};
	const void *b;
	uint32_t v, len;
	uint64_t x;

	(void)state;
	m.hdr.len = CR_HDR_SIZE + sizeof(p);
	m.data = p;
	assert_int_equal(cr_unpack_u32(&m, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(m.pos, 4);
	/* a refused unpack does not move on */
	assert_int_equal(cr_unpack_u64(&m, &x), -EPROTO);
	assert_int_equal(cr_unpack_u32(&m, &v), -EPROTO);
	assert_int_equal(cr_unpack_bytes(&m, &b, &len), -EPROTO);
	assert_int_equal(m.pos, 4);
	assert_int_equal(cr_unpack_done(&m), -EPROTO);
	m.pos = 6;
	assert_int_equal(cr_unpack_done(&m), 0);
}

/* cr_recv refuses a header that lies, before reading or allocating. */
static void test_recv_bad_header(void **state)
{
	static const struct cr_hdr bad[] = {
		{CR_MSG_OK, CR_HDR_SIZE - 1, 0, 0},
		{CR_MSG_OK, 0, 0, 0},
		{CR_MSG_OK, CR_MSG_MAX + 1, 0, 0},
		{CR_MSG_OK, UINT32_MAX, 0, 0},
		{0, CR_HDR_SIZE, 0, 0},
		{CR_MSG_MAXTYPE, CR_HDR_SIZE, 0, 0},
		{UINT32_MAX, CR_HDR_SIZE, 0, 0},
	};
	struct cr_msg m;
	int sv[2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_socketpair(sv);
		assert_int_equal(write(sv[0], &bad[i], sizeof(bad[i])), sizeof(bad[i]));
		assert_int_equal(cr_recv(sv[1], &m), -EPROTO);
		assert_null(m.data);
		close(sv[0]);
		close(sv[1]);
	}
}

/* The largest message passes; one byte more is refused at the sender. */
static void test_largest(void **state)
{
	size_t max = CR_MSG_MAX - CR_HDR_SIZE;
	struct cr_msg m;
	struct cr_buf b;
	uint8_t *big;
	int sv[2], st;
	pid_t pid;

	(void)state;
	big = calloc(1, max + 1);
	assert_non_null(big);
	cr_buf_init(&b);
	cr_pack_raw(&b, big, max);
	_socketpair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(cr_send(sv[0], CR_MSG_DUMP, &b, NULL, 0) ? 1 : 0);
	assert_int_equal(cr_recv(sv[1], &m), 0);
	assert_int_equal(m.hdr.len, CR_MSG_MAX);
	cr_msg_free(&m);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
	cr_pack_raw(&b, big, 1);
	assert_int_equal(cr_send(sv[0], CR_MSG_DUMP, &b, NULL, 0), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	cr_buf_free(&b);
	free(big);
}

static void test_send_refuses(void **state)
{
	int sv[2], fds[CR_FDS_MAX + 1];
	struct cr_buf b;

	(void)state;
	_socketpair(sv);
	for (int i = 0; i <= CR_FDS_MAX; i++)
		fds[i] = 0;
	assert_int_equal(cr_send(sv[0], CR_MSG_OK, NULL, fds, CR_FDS_MAX + 1), -EMSGSIZE);
	assert_int_equal(cr_send(sv[0], CR_MSG_OK, NULL, fds, -1), -EMSGSIZE);
	cr_buf_init(&b);
	b.oom = 1; /* a packer ran out of memory */
	assert_int_equal(cr_send(sv[0], CR_MSG_OK, &b, NULL, 0), -ENOMEM);
	/* packing after an out-of-memory adds nothing */
	cr_pack_u32(&b, 1);
	assert_int_equal(b.len, 0);
	cr_buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

/* More fds than CR_FDS_MAX, sent around cr_send: refused, none leaked. */
static void test_recv_too_many_fds(void **state)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (CR_FDS_MAX + 4))];
		struct cmsghdr align;
	} u;
	struct cr_hdr hdr = {CR_MSG_OK, CR_HDR_SIZE, 0, 0};
	struct iovec iov = {&hdr, sizeof(hdr)};
	struct msghdr mh = {0};
	int sv[2], fds[CR_FDS_MAX + 4], before;
	struct cmsghdr *c;
	struct cr_msg m;

	(void)state;
	before = _nfds_open();
	_socketpair(sv);
	for (int i = 0; i < CR_FDS_MAX + 4; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sv[0], &mh, 0), sizeof(hdr));
	for (int i = 0; i < CR_FDS_MAX + 4; i++)
		close(fds[i]);
	assert_int_equal(cr_recv(sv[1], &m), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(_nfds_open(), before);
}

struct progress_log {
	char text[256];
	int n;
};

static void _progress(const char *text, void *arg)
{
	struct progress_log *l = arg;

	snprintf(l->text, sizeof(l->text), "%s", text);
	l->n++;
}

static void _send_built(int fd, uint32_t type, void (*build)(struct wire *w))
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	build(&w);
	assert_int_equal(cr_send(fd, type, &w.b, NULL, 0), 0);
	_wire_free(&w);
}

static void _send_raw(int fd, uint32_t type, const void *p, size_t len)
{
	struct cr_buf b;

	cr_buf_init(&b);
	cr_pack_raw(&b, p, len);
	assert_int_equal(cr_send(fd, type, &b, NULL, 0), 0);
	cr_buf_free(&b);
}

static void test_recv_reply(void **state)
{
	struct progress_log log = {"", 0};
	uint32_t code;
	char buf[64];
	int sv[2];

	(void)state;
	_socketpair(sv);
	assert_int_equal(cr_send_ok(sv[0], "fine"), 0);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), 0);
	assert_int_equal(code, 0);
	assert_string_equal(buf, "fine");

	assert_int_equal(cr_send_err(sv[0], CR_E_BUSY, "busy %d", 3), 0);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), 0);
	assert_int_equal(code, CR_E_BUSY);
	assert_string_equal(buf, "busy 3");

	/* an ERR with code 0 still fails */
	assert_int_equal(cr_send_err(sv[0], 0, "zero"), 0);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), 0);
	assert_int_equal(code, CR_E_FAILED);

	/* the text is cut to the buffer, NUL-terminated */
	assert_int_equal(cr_send_ok(sv[0], "0123456789"), 0);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, 5), 0);
	assert_string_equal(buf, "0123");

	/* PROGRESS before the reply goes to the callback */
	_send_built(sv[0], CR_MSG_PROGRESS, _build_text);
	_send_built(sv[0], CR_MSG_PROGRESS, _build_json);
	assert_int_equal(cr_send_ok(sv[0], "done"), 0);
	assert_int_equal(cr_recv_reply_progress(sv[1], &code, buf, sizeof(buf), _progress, &log),
			 0);
	assert_int_equal(log.n, 2);
	assert_string_equal(buf, "done");

	/* neither OK nor ERR */
	_send_built(sv[0], CR_MSG_STARTED, _build_u32);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), -EPROTO);
	assert_string_equal(buf, "");

	/* a malformed OK and ERR */
	_send_raw(sv[0], CR_MSG_OK, "\2\0\0\0ab", 6);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), -EPROTO);
	_send_raw(sv[0], CR_MSG_ERR, "\1\0\0", 3);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), -EPROTO);

	/* the peer went away */
	close(sv[0]);
	assert_int_equal(cr_recv_reply(sv[1], &code, buf, sizeof(buf)), -ECONNRESET);
	close(sv[1]);
}

/*
 * proto.h promises an exact size check: cr_recv_reply_progress took a
 * PROGRESS without cr_unpack_done (bytes left over were ignored, and a
 * PROGRESS it could not unpack was skipped). Now refused.
 */
static void test_progress_left_over(void **state)
{
	struct progress_log log = {"", 0};
	uint32_t code;
	char buf[64];
	int sv[2];

	(void)state;
	_socketpair(sv);
	_send_raw(sv[0], CR_MSG_PROGRESS, "\3\0\0\0ab\0XYZ", 10);
	assert_int_equal(cr_send_ok(sv[0], "done"), 0);
	assert_int_equal(cr_recv_reply_progress(sv[1], &code, buf, sizeof(buf), _progress, &log),
			 -EPROTO);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),	cmocka_unit_test(test_round_trip_socket),
		cmocka_unit_test(test_truncated),	cmocka_unit_test(test_truncated_stream),
		cmocka_unit_test(test_left_over),	cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_wrong_fds),	cmocka_unit_test(test_every_type_has_a_row),
		cmocka_unit_test(test_unpack_str),	cmocka_unit_test(test_unpack_leaves_cursor),
		cmocka_unit_test(test_recv_bad_header), cmocka_unit_test(test_largest),
		cmocka_unit_test(test_send_refuses),	cmocka_unit_test(test_recv_too_many_fds),
		cmocka_unit_test(test_recv_reply),	cmocka_unit_test(test_progress_left_over),
	};
	int ret;

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	cr_buf_free(&seen);
	return ret;
}
