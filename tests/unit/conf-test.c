// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/conf.c: cr.conf parsing. The contract, as conf.h and conf.c give it:
 *   - cr_conf_defaults() fills every field; cr_conf_load() then sets only the
 *     keys the file names (callers load over the defaults);
 *   - one Key=Value a line; keys case-insensitive; blanks around key and
 *     value ignored; '#' starts a comment anywhere on a line; blank lines
 *     ignored; a repeated key: the last one wins;
 *   - strings must fit their field; numbers are decimal, unsigned, up to the
 *     key's maximum; DefaultInterval takes cr_interval_parse()'s forms, but
 *     not the "default" (empty) one; CompletedJobCheckpoints is remove or keep,
 *     RestoreFailure hold or fail;
 *   - the first bad line stops the load: -EINVAL and "<file>:<line>: ..." in
 *     err (lines before it have been applied); a file that cannot be opened:
 *     -errno and "<file>: <strerror>".
 * keys[] below has one row per key: a later key is one more row.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

enum key_type {
	T_STRING,
	T_UINT,
	T_INTERVAL,
	T_NET,
};

struct key_row {
	const char *key;
	enum key_type type;
	size_t off;
	size_t size;	   /* T_STRING: the field's size, NUL included */
	unsigned long max; /* T_UINT */
	const char *good;  /* a valid value other than the default */
};

#define STR(k, f, v)                                                                               \
	{                                                                                          \
		k, T_STRING, offsetof(struct cr_conf, f), sizeof(((struct cr_conf *)0)->f), 0, v   \
	}
#define UINT(k, f, m, v)                                                                           \
	{                                                                                          \
		k, T_UINT, offsetof(struct cr_conf, f), sizeof(uint32_t), m, v                     \
	}

static const struct key_row keys[] = {
	STR("NodeName", node_name, "node7"),
	STR("CheckpointDir", checkpoint_dir, "/shared/ckpt"),
	UINT("Port", port, 65535, "7070"),
	STR("SocketPath", socket_path, "/tmp/crd.sock"),
	STR("StateDir", state_dir, "/tmp/state"),
	STR("LogFile", log_file, "/var/log/crd.log"),
	UINT("KeepCount", keep_count, 1000000, "5"),
	{"DefaultInterval", T_INTERVAL, offsetof(struct cr_conf, default_interval), sizeof(long), 0,
	 "2h"},
	STR("Operators", operators, "alice,bob"),
	STR("KeyFile", key_file, "/etc/cr.key"),
	UINT("MaxWait", max_wait, 86400, "60"),
	STR("CompletedJobCheckpoints", completed, "keep"),
	STR("RestoreFailure", restore_failure, "fail"),
	{"JobNetwork", T_NET, offsetof(struct cr_conf, job_net), 2 * sizeof(uint32_t), 0,
	 "10.77.0.0/20"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char dir[] = "/tmp/conf-test.XXXXXX";
static char path[PATH_MAX];

/* Load text as a cr.conf over the defaults; err gets the message. */
static int _load(struct cr_conf *c, const char *text, char *err, size_t errlen)
{
	FILE *f;

	cr_conf_defaults(c);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	err[0] = '\0';
	return cr_conf_load(c, path, err, errlen);
}

static void _expect_ok(struct cr_conf *c, const char *text)
{
	char err[512];

	if (_load(c, text, err, sizeof(err)))
		fail_msg("refused \"%s\": %s", text, err);
}

/*
 * Refused with -EINVAL, err naming the file, the line (0: no line) and, if
 * given, more; line -1: whatever the message.
 */
static void _expect_refused(const char *text, int line, const char *want)
{
	char err[512], where[PATH_MAX + 16];
	struct cr_conf c;

	if (_load(&c, text, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted \"%s\"", text);
	if (line < 0)
		return;
	if (line)
		snprintf(where, sizeof(where), "%s:%d: ", path, line);
	else
		snprintf(where, sizeof(where), "%s: ", path);
	if (strncmp(err, where, strlen(where)))
		fail_msg("\"%s\": message \"%s\" does not start with \"%s\"", text, err, where);
	if (want && !strstr(err, want))
		fail_msg("\"%s\": message \"%s\" does not say \"%s\"", text, err, want);
}

static const char *_str(const struct cr_conf *c, const struct key_row *k)
{
	return (const char *)c + k->off;
}

static uint32_t _uint(const struct cr_conf *c, const struct key_row *k)
{
	return *(const uint32_t *)((const char *)c + k->off);
}

static long _interval(const struct cr_conf *c, const struct key_row *k)
{
	return *(const long *)((const char *)c + k->off);
}

static int _setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/cr.conf", dir);
	return 0;
}

static int _teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void test_defaults(void **state)
{
	char host[256] = "";
	struct cr_conf c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	cr_conf_defaults(&c);
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(c.node_name, host);
	assert_string_equal(c.checkpoint_dir, "/var/spool/slurm-cr/checkpoints");
	assert_int_equal(c.port, CR_PORT_DEFAULT);
	assert_string_equal(c.socket_path, "/run/slurm-cr/crd.sock");
	assert_string_equal(c.state_dir, "/run/slurm-cr/state");
	assert_string_equal(c.log_file, "");
	assert_int_equal(c.keep_count, 2);
	assert_int_equal(c.default_interval, 3600);
	assert_string_equal(c.operators, "");
	assert_string_equal(c.key_file, "/etc/slurm/cr.key");
	assert_int_equal(c.max_wait, 300);
	assert_string_equal(c.completed, "remove");
	assert_string_equal(c.restore_failure, "hold");
	assert_int_equal(c.job_net, 0x64400000);
	assert_int_equal(c.job_net_prefix, 16);
}

/* An empty file, comments and blank lines only: the defaults stay. */
static void test_empty(void **state)
{
	struct cr_conf c, d;

	(void)state;
	cr_conf_defaults(&d);
	_expect_ok(&c, "");
	assert_memory_equal(&c, &d, sizeof(c));
	_expect_ok(&c, "# nothing\n\n   \n\t# indented comment\n#Port=1\n");
	assert_memory_equal(&c, &d, sizeof(c));
	_expect_ok(&c, "\r\n   \t\r\n"); /* CRLF, blanks */
	assert_memory_equal(&c, &d, sizeof(c));
}

/* Every key: its valid value lands in its field, and only there. */
static void test_every_key(void **state)
{
	struct cr_conf c, d;
	char text[256];

	(void)state;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_row *k = &keys[i];

		snprintf(text, sizeof(text), "%s=%s\n", k->key, k->good);
		_expect_ok(&c, text);
		switch (k->type) {
		case T_STRING:
			assert_string_equal(_str(&c, k), k->good);
			break;
		case T_UINT:
			assert_int_equal(_uint(&c, k), strtoul(k->good, NULL, 10));
			break;
		case T_INTERVAL:
			assert_int_equal(_interval(&c, k), 7200);
			break;
		case T_NET:
			assert_int_equal(c.job_net, 0x0a4d0000);
			assert_int_equal(c.job_net_prefix, 20);
			break;
		}
		/* every other byte is the default's */
		cr_conf_defaults(&d);
		memcpy((char *)&d + k->off, (char *)&c + k->off, k->size);
		if (memcmp(&c, &d, sizeof(c)))
			fail_msg("%s changed another field", k->key);
	}
}

/* Keys are case-insensitive; blanks around key and value go. */
static void test_case_and_blanks(void **state)
{
	static const char *const forms[] = {
		"port=7070\n",	       "PORT=7070\n",	      "pOrT=7070\n",
		"  Port=7070\n",       "Port  =  7070\n",     "\tPort\t=\t7070\t\n",
		"Port=7070",	       "Port=7070\r\n",	      "Port=7070 # the crd port\n",
		"Port=7070#comment\n", "\n\nPort=7070\n\n\n",
	};
	struct cr_conf c;

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		_expect_ok(&c, forms[i]);
		if (c.port != 7070)
			fail_msg("\"%s\" gave port %u", forms[i], c.port);
	}
	/* blanks inside a value stay; the first '=' splits */
	_expect_ok(&c, "NodeName = my node \n");
	assert_string_equal(c.node_name, "my node");
	_expect_ok(&c, "Operators=a=b\n");
	assert_string_equal(c.operators, "a=b");
	/* '#' ends the value, wherever it is */
	_expect_ok(&c, "CheckpointDir=/ckpt#1\n");
	assert_string_equal(c.checkpoint_dir, "/ckpt");
}

static void test_last_wins(void **state)
{
	struct cr_conf c;

	(void)state;
	_expect_ok(&c, "Port=1\nKeepCount=3\nport=2\nPORT=3\n");
	assert_int_equal(c.port, 3);
	assert_int_equal(c.keep_count, 3);
	_expect_ok(&c, "NodeName=a\nNodeName=bb\n");
	assert_string_equal(c.node_name, "bb");
	/* a shorter string after a longer one leaves nothing of it */
	_expect_ok(&c, "NodeName=abcdef\nNodeName=x\n");
	assert_string_equal(c.node_name, "x");
}

/* conf.c reads a line into 4096 bytes: 4095 with the newline. */
#define LINE_MAX_CONF 4095

/*
 * Strings: up to the field's size less the NUL. The PATH_MAX fields cannot
 * get there: their longest value does not fit in a line (test_long_line);
 * the longest that fits is taken, one of PATH_MAX bytes is refused somehow.
 */
static void test_string_sizes(void **state)
{
	struct cr_conf c;
	size_t kl, fits;
	char *text;

	(void)state;
	text = malloc(2 * PATH_MAX);
	assert_non_null(text);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_row *k = &keys[i];

		if (k->type != T_STRING)
			continue;
		kl = strlen(k->key);
		fits = LINE_MAX_CONF - kl - 2; /* "=", "\n" */
		snprintf(text, 2 * PATH_MAX, "%s=%0*d\n", k->key, (int)k->size, 0);
		_expect_refused(text, k->size <= fits ? 1 : -1, "value too long");
		if (!strcmp(k->key, "CompletedJobCheckpoints") ||
		    !strcmp(k->key, "RestoreFailure")) {
			snprintf(text, 2 * PATH_MAX, "%s=%0*d\n", k->key, (int)k->size - 1, 0);
			_expect_refused(text, 0, "is not");
			continue;
		}
		if (k->size - 1 <= fits) {
			snprintf(text, 2 * PATH_MAX, "%s=%0*d\n", k->key, (int)k->size - 1, 0);
			_expect_ok(&c, text);
			assert_int_equal(strlen(_str(&c, k)), k->size - 1);
		} else {
			snprintf(text, 2 * PATH_MAX, "%s=%0*d\n", k->key, (int)fits, 0);
			_expect_ok(&c, text);
			assert_int_equal(strlen(_str(&c, k)), fits);
		}
	}
	free(text);
}

static void test_numbers(void **state)
{
	static const char *const bad[] = {
		"",
		"-1",
		"-0",
		"abc",
		"1x",
		"x1",
		"0x10",
		"1.5",
		"1 2",
		"1e3",
		"99999999999999999999",
		"4294967296", /* UINT32_MAX + 1 */
		"+5",	      /* strtoul takes a sign and leading blanks; a site means digits */
	};
	char text[128], want[64];
	struct cr_conf c;

	(void)state;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_row *k = &keys[i];

		if (k->type != T_UINT)
			continue;
		snprintf(want, sizeof(want), "%s: expected a number up to %lu", k->key, k->max);
		snprintf(text, sizeof(text), "%s=0\n", k->key);
		_expect_ok(&c, text);
		assert_int_equal(_uint(&c, k), 0);
		snprintf(text, sizeof(text), "%s=%lu\n", k->key, k->max);
		_expect_ok(&c, text);
		assert_int_equal(_uint(&c, k), k->max);
		snprintf(text, sizeof(text), "%s=007\n", k->key); /* decimal, not octal */
		_expect_ok(&c, text);
		assert_int_equal(_uint(&c, k), 7);
		snprintf(text, sizeof(text), "%s=%lu\n", k->key, k->max + 1);
		_expect_refused(text, 1, want);
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			snprintf(text, sizeof(text), "%s=%s\n", k->key, bad[b]);
			_expect_refused(text, 1, want);
		}
	}
}

static void test_interval(void **state)
{
	static const struct {
		const char *v;
		long secs;
	} good[] = {
		{"0", 0},     {"30", 1800},   {"90s", 90},
		{"1:30", 90}, {"1-0", 86400}, {"366d", 366 * 86400},
	};
	static const char *const bad[] = {"abc", "1y", "367d", "1:60", "-5", "1:2:3:4"};
	struct cr_conf c;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "DefaultInterval=%s\n", good[i].v);
		_expect_ok(&c, text);
		if (c.default_interval != good[i].secs)
			fail_msg("%s gave %ld, want %ld", text, c.default_interval, good[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "DefaultInterval=%s\n", bad[i]);
		_expect_refused(text, 1, "DefaultInterval: ");
	}
	/* the "cluster default" forms mean nothing here */
	_expect_refused("DefaultInterval=\n", 1, "an interval is required");
	_expect_refused("DefaultInterval=(null)\n", 1, "an interval is required");
}

static void test_completed(void **state)
{
	struct cr_conf c;

	(void)state;
	_expect_ok(&c, "CompletedJobCheckpoints=keep\n");
	assert_string_equal(c.completed, "keep");
	_expect_ok(&c, "CompletedJobCheckpoints = remove # the default\n");
	assert_string_equal(c.completed, "remove");
	_expect_refused("CompletedJobCheckpoints=Keep\n", 0, "\"Keep\" is not remove or keep");
	_expect_refused("CompletedJobCheckpoints=\n", 0, "is not remove or keep");
	_expect_refused("CompletedJobCheckpoints=delete\nPort=1\n", 0, "is not remove or keep");
	/* RestoreFailure: hold or fail, nothing else */
	_expect_ok(&c, "RestoreFailure=fail\n");
	assert_string_equal(c.restore_failure, "fail");
	_expect_ok(&c, "restorefailure = hold # the default\n");
	assert_string_equal(c.restore_failure, "hold");
	_expect_refused("RestoreFailure=Hold\n", 0, "\"Hold\" is not hold or fail");
	_expect_refused("RestoreFailure=\n", 0, "is not hold or fail");
	_expect_refused("RestoreFailure=requeue\n", 0, "is not hold or fail");
}

/* JobNetwork: an IPv4 prefix of 8 to 24 bits, no host bits */
static void test_job_network(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0",  "10.0.0.0/",    "10.0.0.0/7",  "10.0.0.0/25",
		"10.0.0/16", "10.0.0.0/16x", "x/16",	    "10.0.0.0/-16",
		"/16",	     "fd00::/16",    "10.0.0.0/+8", "300.0.0.0/8",
	};
	struct cr_conf c;

	(void)state;
	_expect_ok(&c, "JobNetwork = 172.16.0.0/12\n");
	assert_int_equal(c.job_net, 0xac100000);
	assert_int_equal(c.job_net_prefix, 12);
	_expect_ok(&c, "JobNetwork=10.1.2.0/24\n");
	assert_int_equal(c.job_net, 0x0a010200);
	assert_int_equal(c.job_net_prefix, 24);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];

		snprintf(text, sizeof(text), "JobNetwork=%s\n", bad[i]);
		_expect_refused(text, 1, "expected an IPv4 prefix");
	}
	_expect_refused("JobNetwork=10.1.2.3/16\n", 1, "has host bits set");
}

static void test_bad_lines(void **state)
{
	(void)state;
	_expect_refused("Port\n", 1, "expected Key=Value");
	_expect_refused("# fine\n\nPort=1\nPort 2\n", 4, "expected Key=Value");
	_expect_refused("=5\n", 1, "unknown key \"\"");
	_expect_refused("Prot=5\n", 1, "unknown key \"Prot\"");
	_expect_refused("Port=1\nNode Name=x\n", 2, "unknown key \"Node Name\"");
	_expect_refused("PortX=1\n", 1, "unknown key \"PortX\"");
	_expect_refused("Por=1\n", 1, "unknown key \"Por\"");
	_expect_refused("Port=1\nKeepCount=-1\n", 2, "KeepCount: ");
}

/* The first bad line stops the load; what came before it is applied. */
static void test_stops_at_first_error(void **state)
{
	struct cr_conf c;
	char err[512];

	(void)state;
	assert_int_equal(_load(&c, "Port=1\nBogus=2\nKeepCount=9\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(c.port, 1);
	assert_int_equal(c.keep_count, 2);
	assert_non_null(strstr(err, ":2: unknown key"));
}

static void test_missing_file(void **state)
{
	char err[512], p[PATH_MAX + 16];
	struct cr_conf c;

	(void)state;
	snprintf(p, sizeof(p), "%s/none.conf", dir);
	cr_conf_defaults(&c);
	assert_int_equal(cr_conf_load(&c, p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, strerror(ENOENT)));
}

static void test_operators(void **state)
{
	static const struct {
		const char *list, *user;
		int is;
	} cases[] = {
		{"alice,bob", "alice", 1},  {"alice,bob", "bob", 1},
		{"alice, bob", "bob", 1},   {"alice bob", "bob", 1},
		{",,alice,,", "alice", 1},  {"alice,bob", "ali", 0},
		{"alice,bob", "alicex", 0}, {"alice,bob", "", 0},
		{"", "alice", 0},	    {"", "", 0},
		{"bob", "Bob", 0},	    {"alice\tbob", "bob", 1},
	};
	struct cr_conf c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_conf_defaults(&c);
		snprintf(c.operators, sizeof(c.operators), "%s", cases[i].list);
		if (cr_conf_is_operator(&c, cases[i].user) != cases[i].is)
			fail_msg("\"%s\" in \"%s\": want %d", cases[i].user, cases[i].list,
				 cases[i].is);
	}
	/* through the file */
	_expect_ok(&c, "Operators = alice, bob # admins\n");
	assert_true(cr_conf_is_operator(&c, "bob"));
	assert_false(cr_conf_is_operator(&c, "admins"));
}

/*
 * Pinned as conf.c behaves today: an empty string value is taken (a key set
 * to nothing: its default is not restored); a number is digits only.
 */
static void test_lenient(void **state)
{
	struct cr_conf c;

	(void)state;
	_expect_ok(&c, "CheckpointDir=\n");
	assert_string_equal(c.checkpoint_dir, "");
}

/*
 * A line longer than conf.c's 4095-byte buffer was read as two lines: the
 * rest of a long comment was parsed as a line of its own (here it set Port),
 * and the line numbers after it were off by one. Now refused.
 */
static void test_long_line(void **state)
{
	struct cr_conf c;
	char err[512];
	char *text;

	(void)state;
	text = malloc(8192);
	assert_non_null(text);
	text[0] = '#';
	memset(text + 1, 'x', 4094);
	strcpy(text + 4095, "Port=99\n");
	int ret = _load(&c, text, err, sizeof(err));
	free(text);
	assert_int_equal(ret, -EINVAL);
	if (!strstr(err, ":1: line longer than"))
		fail_msg("not refused as too long: \"%s\"", err);
}

/* Fill the stack below us with 0xff: a later callee's uninitialised locals read it. */
static void __attribute__((noinline)) _paint_stack(void)
{
	char buf[64 * 1024];

	memset(buf, 0xff, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/*
 * A DefaultInterval that cr_interval_parse() refuses left conf.c _set()'s
 * `secs` uninitialised, and _set() then read it (secs < 0): with a negative
 * garbage value the reason was replaced by "an interval is required".
 */
static void test_interval_reason(void **state)
{
	struct cr_conf c;
	char err[512];

	(void)state;
	_paint_stack();
	assert_int_equal(_load(&c, "DefaultInterval=abc\n", err, sizeof(err)), -EINVAL);
	if (!strstr(err, "invalid checkpoint interval \"abc\""))
		fail_msg("the parser's reason is lost: \"%s\"", err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	cmocka_unit_test(test_empty),
		cmocka_unit_test(test_every_key),	cmocka_unit_test(test_case_and_blanks),
		cmocka_unit_test(test_last_wins),	cmocka_unit_test(test_string_sizes),
		cmocka_unit_test(test_numbers),		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_completed),	cmocka_unit_test(test_job_network),
		cmocka_unit_test(test_bad_lines),	cmocka_unit_test(test_stops_at_first_error),
		cmocka_unit_test(test_missing_file),	cmocka_unit_test(test_operators),
		cmocka_unit_test(test_lenient),		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_interval_reason),
	};

	return cmocka_run_group_tests(tests, _setup, _teardown);
}
