// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The node-to-node conversation's authentication (agent/protoauth.c) and
 * the node door's nonce record (agent/nonces.c):
 *   - a conversation round-trips both ways over a socketpair, with its
 *     sequence numbers;
 *   - a sealed message with any one byte changed (payload, type, sequence
 *     number, MAC) is refused, and so is one cut anywhere, one sent twice
 *     (replayed sequence number), one that skips ahead, one reflected back
 *     to its sender (wrong direction), one sealed with another
 *     conversation's key, and a plain message without a MAC; after a
 *     refusal that end opens and sends nothing more;
 *   - a known answer pins the seal's layout;
 *   - the NODE payload round-trips; cut at any byte, with another version
 *     or a nonce or key of the wrong size, it is refused;
 *   - a nonce is taken once; expired ones are removed, live ones kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "nonces.h"
#include "proto.h"
#include "protoauth.h"

/* Both ends of one conversation, over a socketpair. */
struct pair {
	struct cr_node_req r;
	struct cr_chan init, node;
	int sv[2];
};

static void _pair(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->r = (struct cr_node_req){
		.op = CR_NODE_PREPARE, .jobid = 7, .target = "n2", .args = "{}"};
	cr_node_req_fresh(&p->r);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sv), 0);
	cr_chan_init(&p->init, p->sv[0], CR_END_INITIATOR, &p->r);
	cr_chan_init(&p->node, p->sv[1], CR_END_NODE, &p->r);
}

static void _unpair(struct pair *p)
{
	close(p->sv[0]);
	close(p->sv[1]);
	cr_chan_fini(&p->init);
	cr_chan_fini(&p->node);
}

/* A sealed message in memory, as cr_recv would hand it over (payload malloc'd at its size). */
static struct cr_msg _sealed(struct cr_chan *c, uint32_t type, const char *text)
{
	struct cr_msg m = {0};
	struct cr_buf b;

	cr_buf_init(&b);
	cr_pack_str(&b, text);
	assert_int_equal(cr_chan_seal(c, type, &b), 0);
	m.hdr.type = type;
	m.hdr.len = CR_HDR_SIZE + b.len;
	m.data = malloc(b.len);
	assert_non_null(m.data);
	memcpy(m.data, b.data, b.len);
	cr_buf_free(&b);
	return m;
}

/*
 * Open m with a copy of c, so that a refusal does not break c (each case
 * below is one conversation's first refusal); what it said is kept in c.
 */
static int _try(struct cr_chan *c, struct cr_msg *m)
{
	struct cr_chan t = *c;
	int ret = cr_chan_open(&t, m);

	if (!ret) {
		*c = t;
		return 0;
	}
	assert_int_equal(t.broken, 1);
	c->bad_type = t.bad_type;
	memcpy(c->why, t.why, sizeof(c->why));
	return ret;
}

static struct cr_msg _copy(const struct cr_msg *m)
{
	struct cr_msg c = *m;
	size_t len = m->hdr.len - CR_HDR_SIZE;

	c.data = malloc(len ? len : 1);
	assert_non_null(c.data);
	memcpy(c.data, m->data, len);
	return c;
}

static void test_round_trip(void **state)
{
	struct pair p;
	struct cr_buf b;
	struct cr_msg m;
	const char *s;
	uint32_t code, how;
	char text[64];

	(void)state;
	_pair(&p);
	for (uint32_t i = 1; i <= 3; i++) {
		cr_buf_init(&b);
		cr_pack_u32(&b, CR_REL_KILL);
		assert_int_equal(cr_chan_send(&p.init, CR_MSG_RELEASE, &b), 0);
		cr_buf_free(&b);
		assert_int_equal(cr_chan_recv(&p.node, &m), 0);
		assert_int_equal(m.hdr.type, CR_MSG_RELEASE);
		assert_int_equal(cr_unpack_u32(&m, &how), 0);
		assert_int_equal(cr_unpack_done(&m), 0);
		assert_int_equal(how, CR_REL_KILL);
		cr_msg_free(&m);
		assert_int_equal(cr_chan_send_ok(&p.node, "killed"), 0);
		assert_int_equal(cr_chan_recv_reply(&p.init, &code, text, sizeof(text)), 0);
		assert_int_equal(code, 0);
		assert_string_equal(text, "killed");
		assert_int_equal(p.init.seq_out, i);
		assert_int_equal(p.node.seq_in, i);
	}
	assert_int_equal(cr_chan_send_err(&p.node, CR_E_BADIMG, "node %s: bad", "n2"), 0);
	assert_int_equal(cr_chan_recv_reply(&p.init, &code, text, sizeof(text)), 0);
	assert_int_equal(code, CR_E_BADIMG);
	assert_string_equal(text, "node n2: bad");
	/* an empty payload is sealed too */
	assert_int_equal(cr_chan_send(&p.init, CR_MSG_STATUS, NULL), 0);
	assert_int_equal(cr_chan_recv(&p.node, &m), 0);
	assert_int_equal(m.hdr.len, CR_HDR_SIZE);
	cr_msg_free(&m);
	/* DUMP's string, unpacked as node.c does */
	m = _sealed(&p.init, CR_MSG_DUMP, "{\"dir\":\"/x\"}");
	assert_int_equal(cr_chan_open(&p.node, &m), 0);
	assert_int_equal(cr_unpack_str(&m, &s), 0);
	assert_int_equal(cr_unpack_done(&m), 0);
	assert_string_equal(s, "{\"dir\":\"/x\"}");
	cr_msg_free(&m);
	_unpair(&p);
}

/* Every single byte of a sealed message changed, the header's type too: refused. */
static void test_tampered_byte(void **state)
{
	struct pair p;
	struct cr_msg good, m;
	size_t len;

	(void)state;
	_pair(&p);
	good = _sealed(&p.init, CR_MSG_DUMP, "{\"dir\":\"/ckpt/7/3.tmp\"}");
	len = good.hdr.len - CR_HDR_SIZE;
	for (size_t i = 0; i < len; i++) {
		m = _copy(&good);
		m.data[i] ^= 0x01;
		assert_int_equal(_try(&p.node, &m), -EBADMSG);
		assert_int_equal(p.node.bad_type, CR_MSG_DUMP);
		cr_msg_free(&m);
	}
	m = _copy(&good);
	m.hdr.type = CR_MSG_RELEASE;
	assert_int_equal(_try(&p.node, &m), -EBADMSG);
	assert_string_equal(p.node.why, "bad MAC");
	cr_msg_free(&m);
	assert_int_equal(p.node.seq_in, 0);
	/* the untouched one still opens: refusals moved nothing */
	assert_int_equal(cr_chan_open(&p.node, &good), 0);
	cr_msg_free(&good);
	_unpair(&p);
}

/* Cut anywhere (into or before the trailer), or sent without one: refused. */
static void test_truncated(void **state)
{
	struct pair p;
	struct cr_msg good, m;
	size_t len;

	(void)state;
	_pair(&p);
	good = _sealed(&p.init, CR_MSG_DUMP, "{}");
	len = good.hdr.len - CR_HDR_SIZE;
	for (size_t cut = 0; cut < len; cut++) {
		m = _copy(&good);
		m.hdr.len = CR_HDR_SIZE + cut;
		assert_int_equal(_try(&p.node, &m), -EBADMSG);
		cr_msg_free(&m);
	}
	cr_msg_free(&good);
	/* what a node took before this layer: RELEASE(KILL), plain */
	assert_int_equal(cr_send_u32(p.sv[0], CR_MSG_RELEASE, CR_REL_KILL), 0);
	assert_int_equal(cr_chan_recv(&p.node, &m), -EBADMSG);
	assert_int_equal(p.node.bad_type, CR_MSG_RELEASE);
	assert_string_equal(p.node.why, "no MAC (too short)");
	_unpair(&p);
}

/* The same message twice, one from the future, an old one after a newer one: refused. */
static void test_replayed_seq(void **state)
{
	struct pair p;
	struct cr_msg m1, m2, m3, again;

	(void)state;
	_pair(&p);
	m1 = _sealed(&p.init, CR_MSG_RELEASE, "a");
	m2 = _sealed(&p.init, CR_MSG_RELEASE, "b");
	m3 = _sealed(&p.init, CR_MSG_RELEASE, "c");
	again = _copy(&m1);
	assert_int_equal(cr_chan_open(&p.node, &m1), 0);
	assert_int_equal(_try(&p.node, &again), -EBADMSG);
	assert_string_equal(p.node.why, "replayed (old sequence number)");
	assert_int_equal(_try(&p.node, &m3), -EBADMSG);
	assert_string_equal(p.node.why, "out of sequence");
	assert_int_equal(cr_chan_open(&p.node, &m2), 0);
	cr_msg_free(&m1);
	cr_msg_free(&again);
	m1 = _copy(&m3);
	assert_int_equal(cr_chan_open(&p.node, &m3), 0);
	assert_int_equal(_try(&p.node, &m1), -EBADMSG);
	cr_msg_free(&m1);
	cr_msg_free(&m2);
	cr_msg_free(&m3);
	_unpair(&p);
}

/* A message reflected back to its sender, or sealed in another conversation: refused. */
static void test_wrong_direction_and_key(void **state)
{
	struct pair p, other;
	struct cr_msg m, c;

	(void)state;
	_pair(&p);
	_pair(&other);
	m = _sealed(&p.init, CR_MSG_RELEASE, "x");
	c = _copy(&m);
	assert_int_equal(_try(&p.init, &c), -EBADMSG);
	assert_string_equal(p.init.why, "bad MAC");
	cr_msg_free(&c);
	c = _copy(&m);
	assert_int_equal(_try(&other.node, &c), -EBADMSG);
	cr_msg_free(&c);
	assert_int_equal(cr_chan_open(&p.node, &m), 0);
	cr_msg_free(&m);
	/* and a node's reply: not for the node */
	m = _sealed(&p.node, CR_MSG_OK, "frozen");
	c = _copy(&m);
	assert_int_equal(_try(&p.node, &c), -EBADMSG);
	cr_msg_free(&c);
	assert_int_equal(cr_chan_open(&p.init, &m), 0);
	cr_msg_free(&m);
	_unpair(&p);
	_unpair(&other);
}

/*
 * The wire format, pinned: RELEASE(KILL), the first the coordinator seals,
 * key all zeroes (HMAC-SHA-512 cut to 32 bytes, as Python's hmac computes it).
 */
static void test_known_answer(void **state)
{
	static const uint8_t mac[CR_CHAN_MAC_LEN] = {
		0x78, 0x50, 0x63, 0x8f, 0x00, 0x9c, 0xc6, 0x2f, 0xad, 0x37, 0x5b,
		0xc3, 0x3f, 0x13, 0x60, 0xb4, 0x23, 0xe7, 0x82, 0x14, 0xab, 0x43,
		0x94, 0x3c, 0x40, 0x2e, 0x78, 0x28, 0xe0, 0xba, 0xd0, 0xb8};
	struct cr_node_req r = {0};
	struct cr_chan c;
	struct cr_buf b;
	uint64_t seq;

	(void)state;
	cr_chan_init(&c, -1, CR_END_INITIATOR, &r);
	cr_buf_init(&b);
	cr_pack_u32(&b, CR_REL_KILL);
	assert_int_equal(cr_chan_seal(&c, CR_MSG_RELEASE, &b), 0);
	assert_int_equal(b.len, 4 + CR_CHAN_TRAILER);
	memcpy(&seq, b.data + 4, sizeof(seq));
	assert_int_equal(seq, 1);
	assert_memory_equal(b.data + 12, mac, sizeof(mac));
	cr_buf_free(&b);
}

/* After one refusal the conversation is over: nothing opens, nothing is sent. */
static void test_broken(void **state)
{
	struct pair p;
	struct cr_msg good, bad;

	(void)state;
	_pair(&p);
	good = _sealed(&p.init, CR_MSG_RELEASE, "x");
	bad = _copy(&good);
	bad.data[0] ^= 1;
	assert_int_equal(cr_chan_open(&p.node, &bad), -EBADMSG);
	assert_int_equal(cr_chan_open(&p.node, &good), -EBADMSG);
	assert_string_equal(p.node.why, "the conversation was broken before");
	assert_int_equal(cr_chan_send_ok(&p.node, "resumed"), -EPIPE);
	assert_int_equal(cr_chan_send_err(&p.node, CR_E_FAILED, "x"), -EPIPE);
	cr_msg_free(&good);
	cr_msg_free(&bad);
	_unpair(&p);
}

static void _req_buf(struct cr_buf *b, const struct cr_node_req *r)
{
	cr_buf_init(b);
	cr_node_req_pack(b, r);
	assert_false(b->oom);
}

static int _req_unpack(const void *p, size_t len, struct cr_node_req *r)
{
	struct cr_msg m = {.hdr.len = CR_HDR_SIZE + len};
	int ret;

	m.data = malloc(len ? len : 1);
	assert_non_null(m.data);
	memcpy(m.data, p, len);
	ret = cr_node_req_unpack(&m, r);
	free(m.data);
	return ret;
}

static void test_node_req(void **state)
{
	struct cr_node_req r = {
		.op = CR_NODE_RESTORE, .jobid = 42, .target = "node3", .args = "{}"};
	struct cr_node_req got;
	struct cr_buf b, x;
	struct cr_msg m = {0};

	(void)state;
	cr_node_req_fresh(&r);
	_req_buf(&b, &r);
	m.hdr.len = CR_HDR_SIZE + b.len;
	m.data = b.data;
	assert_int_equal(cr_node_req_unpack(&m, &got), 0);
	assert_int_equal(got.op, CR_NODE_RESTORE);
	assert_int_equal(got.jobid, 42);
	assert_string_equal(got.target, "node3");
	assert_string_equal(got.args, "{}");
	assert_memory_equal(got.nonce, r.nonce, sizeof(r.nonce));
	assert_memory_equal(got.key, r.key, sizeof(r.key));
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(_req_unpack(b.data, cut, &got), -EPROTO);
	/* bytes left over */
	cr_pack_u32(&b, 0);
	assert_int_equal(_req_unpack(b.data, b.len, &got), -EPROTO);
	cr_buf_free(&b);
	/* the layout before: version 1, no target, nonce or key */
	cr_buf_init(&x);
	cr_pack_u32(&x, CR_PROTO_VERSION);
	cr_pack_u32(&x, CR_NODE_PREPARE);
	cr_pack_u32(&x, 42);
	cr_pack_str(&x, "{}");
	assert_int_equal(_req_unpack(x.data, x.len, &got), -EPROTO);
	cr_buf_free(&x);
	/* a short nonce */
	cr_buf_init(&x);
	cr_pack_u32(&x, CR_NODE_VERSION);
	cr_pack_u32(&x, CR_NODE_PREPARE);
	cr_pack_u32(&x, 42);
	cr_pack_str(&x, "node3");
	cr_pack_bytes(&x, r.nonce, sizeof(r.nonce) - 1);
	cr_pack_bytes(&x, r.key, sizeof(r.key));
	cr_pack_str(&x, "{}");
	assert_int_equal(_req_unpack(x.data, x.len, &got), -EPROTO);
	cr_buf_free(&x);
}

static int _count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_nonces(void **state)
{
	char tmp[] = "/tmp/protoauth-test.XXXXXX", dir[64], path[128];
	uint8_t a[CR_NONCE_LEN] = {1}, b[CR_NONCE_LEN] = {2};
	time_t now = time(NULL);
	int fd;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	assert_int_equal(nonce_claim(tmp, a, sizeof(a), now + 300), 0);
	assert_int_equal(nonce_claim(tmp, a, sizeof(a), now + 300), -EALREADY);
	assert_int_equal(nonce_claim(tmp, b, sizeof(b), now + 300), 0);
	snprintf(dir, sizeof(dir), "%s/nonces", tmp);
	assert_int_equal(_count(dir), 2);
	/* one long expired (and past the skew): removed by the next claim */
	snprintf(path, sizeof(path), "%s/%lld-%032x", dir, (long long)(now - NONCE_SKEW_S - 10), 3);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(_count(dir), 3);
	assert_int_equal(nonce_claim(tmp, a, sizeof(a), now + 300), -EALREADY);
	assert_int_equal(_count(dir), 2);
	assert_int_equal(system((snprintf(path, sizeof(path), "rm -rf %s", tmp), path)), 0);
	/* where no record can be made: refused, not taken */
	assert_true(nonce_claim("/proc/nonexistent", a, sizeof(a), now) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampered_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_replayed_seq),
		cmocka_unit_test(test_wrong_direction_and_key),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_node_req),
		cmocka_unit_test(test_nonces),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
