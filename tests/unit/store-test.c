// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/store.c: commit/load and the MAC, tree digests, planted symlinks,
 * seq numbering, pruning, the job's saved output, the key file and (as root)
 * the job user's fs credentials. Each test gets a fresh mkdtemp'd ckdir.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "output.h"
#include "store.h"
#include "userfs.h"

#define JOBID 42

struct fx {
	char dir[64]; /* the ckdir */
	int jobfd;
	uint8_t key[STORE_KEY_LEN];
	struct store_binding b; /* the job's: this uid, JOBID, the whole manifest */
	char err[1024];
};

/* A call that must succeed; its message is shown when it does not. */
#define OK(fx, call)                                                                               \
	do {                                                                                       \
		int _r = (call);                                                                   \
		if (_r < 0)                                                                        \
			fail_msg("%s = %d (%s): %s", #call, _r, strerror(-_r), (fx)->err);         \
	} while (0)

/* A call that must fail with want and a message holding what. */
#define REFUSED(fx, call, want, what)                                                              \
	do {                                                                                       \
		(fx)->err[0] = '\0';                                                               \
		int _r = (call);                                                                   \
		if (_r != (want))                                                                  \
			fail_msg("%s = %d, want %d (%s)", #call, _r, (want), (fx)->err);           \
		if (!strstr((fx)->err, (what)))                                                    \
			fail_msg("%s: message \"%s\" does not name \"%s\"", #call, (fx)->err,      \
				 (what));                                                          \
	} while (0)

static int _rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || sodium_init() < 0)
		return -1;
	strcpy(fx->dir, "/tmp/store-test.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->jobfd = store_job_open(fx->dir, JOBID, 1, fx->err, sizeof(fx->err));
	if (fx->jobfd < 0) {
		fprintf(stderr, "store_job_open: %s\n", fx->err);
		return -1;
	}
	randombytes_buf(fx->key, sizeof(fx->key));
	fx->b = (struct store_binding){.uid = getuid(), .jobid = JOBID, .slot = -1};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	/* A failed assertion in test_user_fs may leave the job user's fs credentials on. */
	if (geteuid() == 0)
		user_fs_leave();
	close(fx->jobfd);
	nftw(fx->dir, _rm, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void _put(int dirfd, const char *rel, const void *data, size_t len)
{
	int fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		fail_msg("create %s: %s", rel, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void _puts(int dirfd, const char *rel, const char *s)
{
	_put(dirfd, rel, s, strlen(s));
}

/* The file's whole content, malloc'ed and NUL-terminated. */
static char *_get(int dirfd, const char *rel, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", rel, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (len)
		*len = st.st_size;
	return buf;
}

static int _exists(int dirfd, const char *rel, mode_t type)
{
	struct stat st;

	return fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

static void _hex(const void *p, size_t len, char hex[STORE_DIGEST_HEX])
{
	uint8_t md[32];

	crypto_generichash(md, sizeof(md), p, len, NULL, 0);
	sodium_bin2hex(hex, STORE_DIGEST_HEX, md, sizeof(md));
}

/* A checkpoint as the nodes write it: two node dirs, one nested, a file beyond one IO chunk. */
static void _fill(struct fx *fx, int dfd)
{
	size_t big = 600 * 1024 + 17;
	uint8_t *data = malloc(big);
	int fd;

	assert_non_null(data);
	randombytes_buf(data, big);
	fd = store_open_dir(dfd, "node-0", 1, fx->err, sizeof(fx->err));
	OK(fx, fd);
	close(fd);
	fd = store_open_dir(dfd, "node-0/sub", 1, fx->err, sizeof(fx->err));
	OK(fx, fd);
	close(fd);
	fd = store_open_dir(dfd, "node-1", 1, fx->err, sizeof(fx->err));
	OK(fx, fd);
	close(fd);
	_put(dfd, "node-0/pages.img", data, big);
	_puts(dfd, "node-0/sub/core.img", "core of task 1\n");
	_put(dfd, "node-1/empty.img", "", 0);
	free(data);
}

/* The digest list of node-0's files as cr_dump_ex would hand it out (one chunk each). */
static struct cr_digests *_node0_list(void)
{
	static const char *const names[] = {"core.img", "pages.img"};
	static const size_t sizes[] = {15, 17};
	static const char zeros[32];
	struct cr_digests *d = NULL;
	char json[1024], hex[STORE_DIGEST_HEX];
	int n;

	n = snprintf(json, sizeof(json),
		     "{\"algorithm\": \"blake2b-256\", \"chunk_size\": 1048576, \"files\": [");
	for (int i = 0; i < 2; i++) {
		_hex(zeros, sizes[i], hex); /* any bytes: nothing reads them here */
		n += snprintf(json + n, sizeof(json) - n,
			      "%s{\"name\": \"%s\", \"size\": %zu, \"chunks\": [\"%s\"]}",
			      i ? ", " : "", names[i], sizes[i], hex);
	}
	snprintf(json + n, sizeof(json) - n, "]}");
	assert_int_equal(cr_digests_from_json(json, &d), 0);
	return d;
}

/* Writes node-0/digests.json into dfd (the checkpoint); its manifest entry. */
static json_t *_node0_digests(struct fx *fx, int dfd, uint64_t *bytes)
{
	struct node_digests d = {.image = _node0_list()};
	json_t *entry;
	int nfd;

	nfd = store_open_dir(dfd, "node-0", 0, fx->err, sizeof(fx->err));
	OK(fx, nfd);
	OK(fx, digests_write(nfd, &d, &entry, bytes, fx->err, sizeof(fx->err)));
	close(nfd);
	digests_free(&d);
	return entry;
}

/* Commits checkpoint seq; returns its manifest as committed. */
static json_t *_checkpoint(struct fx *fx, uint32_t seq)
{
	json_t *files, *m;
	uint64_t bytes;
	int dfd;

	dfd = store_begin(fx->jobfd, seq, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	_fill(fx, dfd);
	files = _node0_digests(fx, dfd, &bytes);
	OK(fx, store_sync_tree(dfd, fx->err, sizeof(fx->err)));
	close(dfd);
	m = json_pack("{s:i, s:I, s:[{s:s, s:o}, {s:s}]}", "version", 1, "bytes", (json_int_t)bytes,
		      "slots", "node", "n0", "files", files, "node", "n1");
	assert_non_null(m);
	OK(fx, store_commit(fx->jobfd, seq, m, &fx->b, fx->key, fx->err, sizeof(fx->err)));
	return m;
}

static void _expect_list(struct fx *fx, const uint32_t *want, size_t nwant)
{
	uint32_t *seqs;
	size_t n;

	OK(fx, store_list(fx->jobfd, &seqs, &n));
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(seqs[i], want[i]);
	free(seqs);
}

static void test_commit_load(void **state)
{
	struct fx *fx = *state;
	char hex[STORE_DIGEST_HEX], *text;
	json_t *m, *loaded, *e;
	struct stat st;
	uint32_t seq;
	size_t len;

	m = _checkpoint(fx, 1);
	assert_int_equal(json_integer_value(json_object_get(m, "seq")), 1);
	assert_int_equal(strlen(json_string_value(json_object_get(m, "mac"))), 64);
	assert_false(_exists(fx->jobfd, ".tmp-1", S_IFDIR));
	assert_int_equal(fstatat(fx->jobfd, "1", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(fstatat(fx->jobfd, "1/manifest.json", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(_exists(fx->jobfd, "latest.tmp", S_IFREG));
	text = _get(fx->jobfd, "latest", NULL);
	assert_string_equal(text, "1\n");
	free(text);

	OK(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &loaded, fx->err, sizeof(fx->err)));
	assert_true(json_equal(loaded, m));
	/* Format 2; the slot's digests.json: its size and BLAKE2b-256, as written. */
	assert_int_equal(json_integer_value(json_object_get(loaded, "version")),
			 STORE_MANIFEST_VERSION);
	text = _get(fx->jobfd, "1/node-0/digests.json", &len);
	_hex(text, len, hex);
	free(text);
	e = json_object_get(json_array_get(json_object_get(loaded, "slots"), 0), "files");
	e = json_object_get(e, "digests.json");
	assert_string_equal(json_string_value(json_object_get(e, "blake2b")), hex);
	assert_int_equal(json_integer_value(json_object_get(e, "size")), len);
	assert_int_equal(json_integer_value(json_object_get(loaded, "bytes")), 15 + 17 + len);
	json_decref(loaded);
	json_decref(m);

	json_decref(_checkpoint(fx, 2));
	OK(fx, store_latest(fx->jobfd, &seq));
	assert_int_equal(seq, 2);
	_expect_list(fx, (uint32_t[]){1, 2}, 2);
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 3);
}

static void _expect_refused(struct fx *fx, uint32_t seq, const uint8_t *key, const char *what)
{
	json_t *m = (json_t *)1;

	REFUSED(fx, store_load(fx->jobfd, seq, key, &fx->b, &m, fx->err, sizeof(fx->err)), -EBADMSG,
		what);
	assert_null(m);
}

/* m sealed with key, as store_commit writes it, into path. */
static void _seal_to(json_t *m, const uint8_t *key, const char *path)
{
	char *t = store_seal(m, key);
	FILE *f = fopen(path, "w");

	assert_non_null(t);
	assert_non_null(f);
	assert_int_equal(fputs(t, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(t);
}

/* 1/manifest.json: text's seal (its first line and "mac"), then body, repeated to size bytes. */
static void _sealed_body(struct fx *fx, const char *text, const char *body, size_t size)
{
	size_t head = strchr(strchr(text, '\n') + 1, '\n') + 1 - text, n = strlen(body);
	size_t len = head + (size > n ? size : n);
	char *t = malloc(len + 1);

	assert_non_null(t);
	memcpy(t, text, head);
	for (size_t i = head; i < len; i += n)
		memcpy(t + i, body, len - i < n ? len - i : n);
	t[len] = '\0';
	_puts(fx->jobfd, "1/manifest.json", t);
	free(t);
}

static void test_manifest_refused(void **state)
{
	struct fx *fx = *state;
	uint8_t other[STORE_KEY_LEN];
	char path[256], *text;
	json_t *m, *loaded;
	int dfd;

	json_decref(_checkpoint(fx, 1));
	snprintf(path, sizeof(path), "%s/%u/1/manifest.json", fx->dir, JOBID);
	text = _get(fx->jobfd, "1/manifest.json", NULL);

	/* A value changed, still valid JSON, the mac kept. */
	m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	json_object_set_new(m, "bytes", json_integer(1));
	assert_int_equal(json_dump_file(m, path, JSON_INDENT(2)), 0);
	json_decref(m);
	_expect_refused(fx, 1, fx->key, "checkpoint 1: manifest MAC does not verify (edited?)");

	/* The mac removed. */
	m = json_loads(text, 0, NULL);
	json_object_del(m, "mac");
	assert_int_equal(json_dump_file(m, path, 0), 0);
	json_decref(m);
	_expect_refused(fx, 1, fx->key, "manifest MAC does not verify");

	/* Not JSON. */
	_puts(fx->jobfd, "1/manifest.json", "{\"seq\": 1,");
	_expect_refused(fx, 1, fx->key, "checkpoint 1");

	/*
	 * The seal kept, what follows not JSON: refused by the MAC, never parsed
	 * (a parser would name a line); and so for a body made to cost a parser
	 * much memory (16 MiB of empty arrays: some 750 MB in jansson).
	 */
	_sealed_body(fx, text, "[[[[ not json", 0);
	_expect_refused(fx, 1, fx->key, "checkpoint 1: manifest MAC does not verify (edited?)");
	_sealed_body(fx, text, "[],", 16u << 20);
	_expect_refused(fx, 1, fx->key, "checkpoint 1: manifest MAC does not verify (edited?)");
	/* Larger than any genuine manifest: not even read. */
	_sealed_body(fx, text, "[],", 33u << 20);
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)), -EFBIG,
		"1/manifest.json: not a regular file of at most 33554432 bytes");

	/* Back as committed: verifies, but not under another key. */
	_puts(fx->jobfd, "1/manifest.json", text);
	OK(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &loaded, fx->err, sizeof(fx->err)));
	json_decref(loaded);
	memcpy(other, fx->key, sizeof(other));
	other[5] ^= 1;
	_expect_refused(fx, 1, other, "manifest MAC does not verify");

	/* A genuine manifest of format 1 (sealed with the key): refused, not trusted. */
	m = json_loads(text, 0, NULL);
	json_object_set_new(m, "version", json_integer(1));
	_seal_to(m, fx->key, path);
	json_decref(m);
	m = (json_t *)1;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)),
		-EPROTONOSUPPORT, "checkpoint 1: manifest format 1 (an older crd's): refused");
	assert_null(m);

	/*
	 * Format 2, as an older crd wrote it: the MAC a member of the JSON, over
	 * the rest. Named, not taken for an edited one, whatever its MAC.
	 */
	m = json_loads(text, 0, NULL);
	json_object_set_new(m, "version", json_integer(2));
	assert_int_equal(json_dump_file(m, path, JSON_INDENT(1) | JSON_SORT_KEYS), 0);
	json_decref(m);
	m = (json_t *)1;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)),
		-EPROTONOSUPPORT, "checkpoint 1: manifest format 2 (an older crd's): refused");
	assert_null(m);
	_puts(fx->jobfd, "1/manifest.json", text);

	/* A genuine manifest of checkpoint 1 copied into checkpoint 2. */
	assert_int_equal(mkdirat(fx->jobfd, "2", 0700), 0);
	_puts(fx->jobfd, "2/manifest.json", text);
	_expect_refused(fx, 2, fx->key, "checkpoint 2");
	free(text);

	/* A manifest that is not an object is not committed. */
	dfd = store_begin(fx->jobfd, 3, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	close(dfd);
	m = json_array();
	REFUSED(fx, store_commit(fx->jobfd, 3, m, &fx->b, fx->key, fx->err, sizeof(fx->err)),
		-EINVAL, "checkpoint 3");
	json_decref(m);
	OK(fx, store_abort(fx->jobfd, 3));
	assert_false(_exists(fx->jobfd, ".tmp-3", S_IFDIR));
	OK(fx, store_abort(fx->jobfd, 3));
}

/* Loads node-0's digests: 0 or the error, with the image list checked on success. */
static int _load0(struct fx *fx, int dfd, json_t *entry)
{
	struct node_digests d;
	int nfd, ret;

	nfd = store_open_dir(dfd, "node-0", 0, fx->err, sizeof(fx->err));
	OK(fx, nfd);
	ret = digests_load(nfd, entry, &d, fx->err, sizeof(fx->err));
	close(nfd);
	if (!ret) {
		assert_int_equal(d.image->nfiles, 2);
		assert_string_equal(d.image->files[1].name, "pages.img");
		assert_int_equal(d.image->files[1].size, 17);
		assert_int_equal(d.files->nfiles, 0);
		digests_free(&d);
	}
	return ret;
}

static void test_digests(void **state)
{
	struct fx *fx = *state;
	char *text;
	size_t len;
	json_t *entry;
	uint64_t bytes;
	int dfd, fd;

	dfd = store_begin(fx->jobfd, 1, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	_fill(fx, dfd);
	entry = _node0_digests(fx, dfd, &bytes);
	OK(fx, store_sync_tree(dfd, fx->err, sizeof(fx->err)));
	OK(fx, _load0(fx, dfd, entry));
	text = _get(dfd, "node-0/digests.json", &len);

	/* A flipped byte. */
	fd = openat(dfd, "node-0/digests.json", O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text[len / 2] == '1' ? "2" : "1", 1, len / 2), 1);
	REFUSED(fx, _load0(fx, dfd, entry), -EBADMSG, "does not match its digest");
	/* Truncated. */
	assert_int_equal(ftruncate(fd, len - 1), 0);
	REFUSED(fx, _load0(fx, dfd, entry), -EBADMSG, "shorter than the manifest says");
	close(fd);
	/* Missing; a symlink to a file with the right content. */
	assert_int_equal(unlinkat(dfd, "node-0/digests.json", 0), 0);
	REFUSED(fx, _load0(fx, dfd, entry), -EBADMSG, "digests.json: missing");
	_put(dfd, "node-1/good", text, len);
	assert_int_equal(symlinkat("../node-1/good", dfd, "node-0/digests.json"), 0);
	REFUSED(fx, _load0(fx, dfd, entry), -EBADMSG, "digests.json");
	assert_int_equal(unlinkat(dfd, "node-0/digests.json", 0), 0);
	_put(dfd, "node-0/digests.json", text, len);
	OK(fx, _load0(fx, dfd, entry));
	/* A slot the manifest gives no digests. */
	REFUSED(fx, _load0(fx, dfd, NULL), -EBADMSG, "no digests for this slot");
	free(text);
	json_decref(entry);

	/* The durability walk refuses a symlinked directory, and a fifo, by name. */
	assert_int_equal(renameat(dfd, "node-0/sub", dfd, "node-0/sub.real"), 0);
	assert_int_equal(symlinkat("sub.real", dfd, "node-0/sub"), 0);
	REFUSED(fx, store_sync_tree(dfd, fx->err, sizeof(fx->err)), -ELOOP, "node-0/sub");
	assert_int_equal(unlinkat(dfd, "node-0/sub", 0), 0);
	assert_int_equal(mkfifoat(dfd, "node-1/fifo", 0600), 0);
	REFUSED(fx, store_sync_tree(dfd, fx->err, sizeof(fx->err)), -EINVAL, "node-1/fifo");
	close(dfd);
}

/* A committed checkpoint of another job, as a target to plant links to. */
static int _other_job(struct fx *fx, char *path, size_t len)
{
	struct fx other = *fx;

	other.b.jobid = JOBID + 1;
	other.jobfd = store_job_open(fx->dir, JOBID + 1, 1, fx->err, sizeof(fx->err));
	OK(fx, other.jobfd);
	json_decref(_checkpoint(&other, 1));
	snprintf(path, len, "%s/%u/1", fx->dir, JOBID + 1);
	return other.jobfd;
}

static void test_symlink_seq(void **state)
{
	struct fx *fx = *state;
	char target[256];
	uint32_t *seqs;
	json_t *m = NULL, *theirs;
	size_t n;
	int ofd, dfd;

	ofd = _other_job(fx, target, sizeof(target));
	assert_int_equal(symlinkat(target, fx->jobfd, "1"), 0);
	/* Same key and a genuine manifest for seq 1 behind the link: still refused. */
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)), -ELOOP,
		"1/manifest.json");
	assert_null(m);
	OK(fx, store_list(fx->jobfd, &seqs, &n));
	assert_int_equal(n, 0);
	free(seqs);
	REFUSED(fx, store_open_dir(fx->jobfd, "1/node-0", 0, fx->err, sizeof(fx->err)), -ELOOP,
		"1/node-0");
	REFUSED(fx, store_open_dir(fx->jobfd, "1/node-2", 1, fx->err, sizeof(fx->err)), -ELOOP,
		"1");
	assert_false(_exists(ofd, "1/node-2", S_IFDIR));

	/* Committing over it neither follows nor replaces it. */
	dfd = store_begin(fx->jobfd, 1, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	close(dfd);
	m = json_object();
	REFUSED(fx, store_commit(fx->jobfd, 1, m, &fx->b, fx->key, fx->err, sizeof(fx->err)),
		-EEXIST, "checkpoint 1");
	json_decref(m);
	assert_true(_exists(fx->jobfd, "1", S_IFLNK));
	fx->b.jobid = JOBID + 1;
	OK(fx, store_load(ofd, 1, fx->key, &fx->b, &theirs, fx->err, sizeof(fx->err)));
	fx->b.jobid = JOBID;
	assert_int_equal(json_integer_value(json_object_get(theirs, "version")),
			 STORE_MANIFEST_VERSION);
	json_decref(theirs);

	/* Marking it bad renames the link, not its target. */
	OK(fx, store_mark_bad(fx->jobfd, 1));
	assert_true(_exists(fx->jobfd, "1.bad", S_IFLNK));
	assert_true(_exists(ofd, "1", S_IFDIR));
	close(ofd);
}

static void test_symlink_tmp(void **state)
{
	struct fx *fx = *state;
	char target[256];
	json_t *m;
	int ofd, dfd;

	ofd = _other_job(fx, target, sizeof(target));
	assert_int_equal(symlinkat(target, fx->jobfd, ".tmp-5"), 0);
	REFUSED(fx, store_open_dir(fx->jobfd, ".tmp-5/node-3", 1, fx->err, sizeof(fx->err)), -ELOOP,
		".tmp-5");
	assert_false(_exists(ofd, "1/node-3", S_IFDIR));
	m = json_object();
	REFUSED(fx, store_commit(fx->jobfd, 5, m, &fx->b, fx->key, fx->err, sizeof(fx->err)),
		-ELOOP, ".tmp-5");
	json_decref(m);
	assert_true(_exists(ofd, "1/manifest.json", S_IFREG));
	assert_false(_exists(fx->jobfd, "5", S_IFLNK) || _exists(fx->jobfd, "5", S_IFDIR));

	/* abort and begin remove the link itself, and links inside a stale .tmp dir. */
	OK(fx, store_abort(fx->jobfd, 5));
	assert_false(_exists(fx->jobfd, ".tmp-5", S_IFLNK));
	assert_int_equal(symlinkat(target, fx->jobfd, ".tmp-5"), 0);
	assert_int_equal(mkdirat(fx->jobfd, ".tmp-4", 0700), 0);
	assert_int_equal(symlinkat(target, fx->jobfd, ".tmp-4/node-0"), 0);
	dfd = store_begin(fx->jobfd, 6, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	close(dfd);
	assert_false(_exists(fx->jobfd, ".tmp-5", S_IFLNK));
	assert_false(_exists(fx->jobfd, ".tmp-4", S_IFDIR));
	assert_true(_exists(fx->jobfd, ".tmp-6", S_IFDIR));
	assert_true(_exists(ofd, "1/node-0/pages.img", S_IFREG));
	assert_true(_exists(ofd, "1/manifest.json", S_IFREG));
	close(ofd);
}

static void test_symlink_latest(void **state)
{
	struct fx *fx = *state;
	char victim[256], *text;
	uint32_t seq;
	int dirfd;

	dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	_puts(dirfd, "victim", "7\n");
	snprintf(victim, sizeof(victim), "%s/victim", fx->dir);
	assert_int_equal(symlinkat(victim, fx->jobfd, "latest"), 0);
	assert_int_equal(store_latest(fx->jobfd, &seq), -ELOOP);
	/* A planted latest.tmp too: both go, neither is written through. */
	assert_int_equal(symlinkat(victim, fx->jobfd, "latest.tmp"), 0);
	json_decref(_checkpoint(fx, 1));
	OK(fx, store_latest(fx->jobfd, &seq));
	assert_int_equal(seq, 1);
	assert_true(_exists(fx->jobfd, "latest", S_IFREG));
	text = _get(dirfd, "victim", NULL);
	assert_string_equal(text, "7\n");
	free(text);

	/* Not a number. */
	_puts(fx->jobfd, "latest", "1x\n");
	assert_int_equal(store_latest(fx->jobfd, &seq), -EBADMSG);
	_puts(fx->jobfd, "latest", "");
	assert_int_equal(store_latest(fx->jobfd, &seq), -EBADMSG);
	assert_int_equal(unlinkat(fx->jobfd, "latest", 0), 0);
	assert_int_equal(store_latest(fx->jobfd, &seq), -ENOENT);
	close(dirfd);
}

static void test_symlink_jobdir(void **state)
{
	struct fx *fx = *state;
	char target[256], link[256];
	int ofd;

	ofd = _other_job(fx, target, sizeof(target));
	snprintf(target, sizeof(target), "%s/%u", fx->dir, JOBID + 1);
	snprintf(link, sizeof(link), "%s/77", fx->dir);
	assert_int_equal(symlink(target, link), 0);
	REFUSED(fx, store_job_open(fx->dir, 77, 0, fx->err, sizeof(fx->err)), -ELOOP, link);
	REFUSED(fx, store_job_open(fx->dir, 77, 1, fx->err, sizeof(fx->err)), -ELOOP, link);
	/* Removing the job removes the link; what it points to stays. */
	OK(fx, store_remove_job(fx->dir, 77, fx->err, sizeof(fx->err)));
	assert_int_equal(access(link, F_OK), -1);
	assert_true(_exists(ofd, "1/manifest.json", S_IFREG));
	OK(fx, store_remove_job(fx->dir, 77, fx->err, sizeof(fx->err)));

	/* A real one goes entirely. */
	OK(fx, store_remove_job(fx->dir, JOBID + 1, fx->err, sizeof(fx->err)));
	assert_int_equal(access(target, F_OK), -1);
	close(ofd);
}

static void test_next_seq(void **state)
{
	struct fx *fx = *state;
	uint32_t seq;

	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 1);
	assert_int_equal(mkdirat(fx->jobfd, "3", 0700), 0);
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 4);
	assert_int_equal(mkdirat(fx->jobfd, ".tmp-5", 0700), 0);
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 6);
	assert_int_equal(mkdirat(fx->jobfd, "9.bad", 0700), 0);
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 10);
	/* Names that are not seqs count for nothing. */
	_puts(fx->jobfd, "latest", "99\n");
	_puts(fx->jobfd, "stdout", "");
	_puts(fx->jobfd, "0012", "");
	_puts(fx->jobfd, "50.bak", "");
	_puts(fx->jobfd, ".tmp-60x", "");
	_puts(fx->jobfd, "99999999999", "");
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 10);
}

static void test_begin_removes_stale(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int dirfd, dfd, fd;

	dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	_puts(dirfd, "outside", "not theirs\n");
	dfd = store_begin(fx->jobfd, 2, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	_fill(fx, dfd);
	fd = store_open_dir(dfd, "node-0/sub/deeper", 1, fx->err, sizeof(fx->err));
	OK(fx, fd);
	_puts(fd, "f", "x");
	close(fd);
	assert_int_equal(symlinkat("/tmp", dfd, "node-1/tmp-link"), 0);
	assert_int_equal(symlinkat("../../outside", fx->jobfd, ".tmp-2/node-1/outside-link"), 0);
	close(dfd);
	assert_int_equal(mkdirat(fx->jobfd, ".tmp-3", 0700), 0);
	assert_int_equal(mkdirat(fx->jobfd, "keep", 0700), 0);

	dfd = store_begin(fx->jobfd, 4, fx->err, sizeof(fx->err));
	OK(fx, dfd);
	assert_int_equal(fstat(dfd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	close(dfd);
	assert_false(_exists(fx->jobfd, ".tmp-2", S_IFDIR));
	assert_false(_exists(fx->jobfd, ".tmp-3", S_IFDIR));
	assert_true(_exists(fx->jobfd, ".tmp-4", S_IFDIR));
	assert_true(_exists(fx->jobfd, "keep", S_IFDIR));
	assert_true(_exists(dirfd, "outside", S_IFREG));
	close(dirfd);
}

static void test_prune(void **state)
{
	struct fx *fx = *state;
	uint32_t seq;

	for (seq = 1; seq <= 5; seq++)
		json_decref(_checkpoint(fx, seq));
	REFUSED(fx, store_prune(fx->jobfd, 0, fx->err, sizeof(fx->err)), -EINVAL, "keep");
	OK(fx, store_prune(fx->jobfd, 2, fx->err, sizeof(fx->err)));
	_expect_list(fx, (uint32_t[]){4, 5}, 2);
	assert_false(_exists(fx->jobfd, "1", S_IFDIR));
	assert_false(_exists(fx->jobfd, "3", S_IFDIR));
	OK(fx, store_prune(fx->jobfd, 5, fx->err, sizeof(fx->err)));
	_expect_list(fx, (uint32_t[]){4, 5}, 2);

	/* The checkpoint latest names stays whatever keep says. */
	json_decref(_checkpoint(fx, 6));
	json_decref(_checkpoint(fx, 7));
	_puts(fx->jobfd, "latest", "4\n");
	OK(fx, store_prune(fx->jobfd, 1, fx->err, sizeof(fx->err)));
	_expect_list(fx, (uint32_t[]){4, 7}, 2);
	OK(fx, store_latest(fx->jobfd, &seq));
	assert_int_equal(seq, 4);

	/* A bad one is no longer listed, and its seq is not reused. */
	OK(fx, store_mark_bad(fx->jobfd, 7));
	_expect_list(fx, (uint32_t[]){4}, 1);
	assert_true(_exists(fx->jobfd, "7.bad", S_IFDIR));
	OK(fx, store_next_seq(fx->jobfd, &seq));
	assert_int_equal(seq, 8);
	assert_int_equal(store_mark_bad(fx->jobfd, 7), -ENOENT);
}

/* The job's output file, appended as a job would, and a read-only fd to it. */
struct job_out {
	int wfd, rfd;
	char *all;
	size_t len;
};

static void _job_write(struct job_out *o, const void *p, size_t len)
{
	o->all = realloc(o->all, o->len + len);
	assert_non_null(o->all);
	memcpy(o->all + o->len, p, len);
	o->len += len;
	assert_int_equal(write(o->wfd, p, len), (ssize_t)len);
}

/* Saves the job's output into <jobdir>/<dir>/stdout; checks the copy and its digests. */
static void _save(struct fx *fx, struct job_out *o, const char *dir, struct cr_digests *list)
{
	char want[STORE_DIGEST_HEX], got[STORE_DIGEST_HEX], path[64], *saved;
	const struct cr_file_digest *f;
	uint64_t len;
	size_t n;
	int nfd;

	nfd = store_open_dir(fx->jobfd, dir, 1, fx->err, sizeof(fx->err));
	OK(fx, nfd);
	OK(fx, store_output_save(nfd, "stdout", o->rfd, list, &len, fx->err, sizeof(fx->err)));
	close(nfd);
	assert_int_equal(len, o->len);
	snprintf(path, sizeof(path), "%s/stdout", dir);
	saved = _get(fx->jobfd, path, &n);
	assert_int_equal(n, o->len);
	assert_memory_equal(saved, o->all, n);
	free(saved);
	/* One digest per 1 MiB chunk, of the bytes written. */
	f = &list->files[list->nfiles - 1];
	assert_string_equal(f->name, "stdout");
	assert_int_equal(f->size, o->len);
	assert_int_equal(f->nchunks, (o->len + CR_DIGEST_CHUNK - 1) / CR_DIGEST_CHUNK);
	for (size_t i = 0; i < f->nchunks; i++) {
		n = o->len - i * CR_DIGEST_CHUNK < CR_DIGEST_CHUNK ? o->len - i * CR_DIGEST_CHUNK
								   : CR_DIGEST_CHUNK;
		_hex(o->all + i * CR_DIGEST_CHUNK, n, want);
		sodium_bin2hex(got, sizeof(got), f->chunk[i], CR_DIGEST_LEN);
		assert_string_equal(got, want);
	}
}

/* <jobdir>/<dir>/<name> loaded (checked) and put into dst: 0 or the load's error. */
static int _load_put(struct fx *fx, const char *dir, const char *name,
		     const struct cr_digests *list, int dst)
{
	uint64_t len = 0;
	int nfd, mfd, ret;

	nfd = store_open_dir(fx->jobfd, dir, 0, fx->err, sizeof(fx->err));
	OK(fx, nfd);
	ret = store_output_load(nfd, name, list, &mfd, &len, fx->err, sizeof(fx->err));
	close(nfd);
	if (ret) {
		assert_int_equal(mfd, -1);
		return ret;
	}
	OK(fx, store_output_put(mfd, len, dst, name, fx->err, sizeof(fx->err)));
	close(mfd);
	return 0;
}

static void _free_list(struct cr_digests *l)
{
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i].chunk);
	free(l->files);
	*l = (struct cr_digests){0};
}

static void _expect_restored(int dirfd, const void *want, size_t len)
{
	char *got;
	size_t n;

	got = _get(dirfd, "restored", &n);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void test_output(void **state)
{
	struct fx *fx = *state;
	struct cr_digests l1 = {0}, l2 = {0};
	struct job_out o = {0};
	size_t big = 1536 * 1024;
	uint8_t *data = malloc(big);
	int dirfd, dst;

	assert_non_null(data);
	randombytes_buf(data, big);
	dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	o.wfd = openat(dirfd, "job.out", O_WRONLY | O_CREAT | O_APPEND, 0600);
	o.rfd = openat(dirfd, "job.out", O_RDONLY);
	assert_true(o.wfd >= 0 && o.rfd >= 0);

	_job_write(&o, "round one\n", 10);
	_save(fx, &o, "c1", &l1);
	_job_write(&o, data, big);
	_save(fx, &o, "c2", &l2);

	/* Restored byte-exact into an O_APPEND fd that held something else. */
	_puts(dirfd, "restored", "the job's output after the checkpoint, to be replaced\n");
	dst = openat(dirfd, "restored", O_WRONLY | O_APPEND);
	assert_true(dst >= 0);
	OK(fx, _load_put(fx, "c2", "stdout", &l2, dst));
	close(dst);
	_expect_restored(dirfd, o.all, o.len);
	/* ... and into a plain fd positioned at its end; the later save left c1 as it was. */
	dst = openat(dirfd, "restored", O_WRONLY);
	assert_true(dst >= 0);
	assert_true(lseek(dst, 0, SEEK_END) > 0);
	OK(fx, _load_put(fx, "c1", "stdout", &l1, dst));
	close(dst);
	_expect_restored(dirfd, "round one\n", 10);
	_free_list(&l1);
	_free_list(&l2);
	free(o.all);
	free(data);
	close(o.wfd);
	close(o.rfd);
	close(dirfd);
}

static void test_output_refused(void **state)
{
	struct fx *fx = *state;
	struct cr_digests l = {0};
	struct job_out o = {0};
	char victim[256], *text;
	size_t big = 1200 * 1024;
	uint8_t *data = malloc(big), c;
	uint64_t len;
	int dirfd, dst, fd, nfd;

	assert_non_null(data);
	randombytes_buf(data, big);
	dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	o.wfd = openat(dirfd, "job.out", O_WRONLY | O_CREAT | O_APPEND, 0600);
	o.rfd = openat(dirfd, "job.out", O_RDONLY);
	_job_write(&o, data, big);
	_save(fx, &o, "c1", &l);
	_puts(dirfd, "restored", "untouched");
	dst = openat(dirfd, "restored", O_WRONLY | O_APPEND);
	assert_true(dst >= 0);

	/* One bit flipped in the second chunk: refused, nothing written. */
	fd = openat(fx->jobfd, "c1/stdout", O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, CR_DIGEST_CHUNK + 5), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, CR_DIGEST_CHUNK + 5), 1);
	REFUSED(fx, _load_put(fx, "c1", "stdout", &l, dst), -EBADMSG, "does not match its digest");
	/* Truncated. */
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	REFUSED(fx, _load_put(fx, "c1", "stdout", &l, dst), -EBADMSG, "stdout");
	/* Not in the list; not an output name. */
	REFUSED(fx, _load_put(fx, "c1", "stderr", &l, dst), -EBADMSG, "stderr");
	REFUSED(fx, _load_put(fx, "c1", "latest", &l, dst), -EINVAL, "latest");
	nfd = store_open_dir(fx->jobfd, "c2", 1, fx->err, sizeof(fx->err));
	OK(fx, nfd);
	REFUSED(fx, store_output_save(nfd, "../x", o.rfd, &l, &len, fx->err, sizeof(fx->err)),
		-EINVAL, "../x");

	/* A symlink planted as the saved output is neither written nor read through. */
	_puts(dirfd, "victim", "victim\n");
	snprintf(victim, sizeof(victim), "%s/victim", fx->dir);
	assert_int_equal(symlinkat(victim, nfd, "stdout"), 0);
	REFUSED(fx, store_output_save(nfd, "stdout", o.rfd, &l, &len, fx->err, sizeof(fx->err)),
		-EEXIST, "stdout");
	close(nfd);
	REFUSED(fx, _load_put(fx, "c2", "stdout", &l, dst), -EBADMSG, "stdout");
	text = _get(dirfd, "victim", NULL);
	assert_string_equal(text, "victim\n");
	free(text);
	_expect_restored(dirfd, "untouched", 9);
	_free_list(&l);
	free(o.all);
	free(data);
	close(o.wfd);
	close(o.rfd);
	close(dst);
	close(dirfd);
}

static void test_key(void **state)
{
	struct fx *fx = *state;
	uint8_t key[STORE_KEY_LEN];
	char path[256], link[256], *text, *again;
	size_t n;
	int dirfd, root = geteuid() == 0;

	dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	snprintf(path, sizeof(path), "%s/cr.key", fx->dir);
	OK(fx, store_key_create(path, fx->err, sizeof(fx->err)));
	text = _get(dirfd, "cr.key", &n);
	assert_int_equal(n, STORE_KEY_LEN);
	/* Created once: a second call keeps it. */
	OK(fx, store_key_create(path, fx->err, sizeof(fx->err)));
	again = _get(dirfd, "cr.key", NULL);
	assert_memory_equal(text, again, STORE_KEY_LEN);
	free(again);
	if (root) {
		OK(fx, store_key_load(path, key, fx->err, sizeof(fx->err)));
		assert_memory_equal(key, text, STORE_KEY_LEN);
	} else {
		REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), -EPERM,
			"not root");
	}
	free(text);

	assert_int_equal(chmod(path, 0640), 0);
	REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), -EPERM,
		root ? "group/other" : "not root");
	assert_int_equal(chmod(path, 0604), 0);
	REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), -EPERM, path);
	assert_int_equal(chmod(path, 0600), 0);

	_put(dirfd, "short.key", "0123456789012345678901234567890", 31);
	snprintf(path, sizeof(path), "%s/short.key", fx->dir);
	REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), root ? -EINVAL : -EPERM,
		root ? "31 bytes" : "not root");
	_put(dirfd, "long.key", "0123456789012345678901234567890123", 33);
	snprintf(path, sizeof(path), "%s/long.key", fx->dir);
	REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), root ? -EINVAL : -EPERM,
		path);

	snprintf(path, sizeof(path), "%s/cr.key", fx->dir);
	snprintf(link, sizeof(link), "%s/link.key", fx->dir);
	assert_int_equal(symlink(path, link), 0);
	REFUSED(fx, store_key_load(link, key, fx->err, sizeof(fx->err)), -ELOOP, "symlink");
	snprintf(path, sizeof(path), "%s/none.key", fx->dir);
	REFUSED(fx, store_key_load(path, key, fx->err, sizeof(fx->err)), -ENOENT, path);
	close(dirfd);
}

static void test_user_lookup(void **state)
{
	struct fx *fx = *state;
	struct job_user u;
	struct passwd *pw = getpwuid(getuid());

	if (!pw)
		skip();
	OK(fx, user_lookup(pw->pw_uid, pw->pw_gid, &u, fx->err, sizeof(fx->err)));
	assert_int_equal(u.uid, pw->pw_uid);
	assert_int_equal(u.gid, pw->pw_gid);
	assert_true(u.ngroups >= 1);
	for (int i = 0;; i++) {
		assert_true(i < u.ngroups);
		if (u.groups[i] == pw->pw_gid)
			break;
	}
	/* Without root, entering is refused and nothing changes. */
	if (geteuid() != 0) {
		REFUSED(fx, user_fs_enter(&u, fx->err, sizeof(fx->err)), -EPERM, "setgroups");
		assert_int_equal(setfsuid(-1), geteuid());
	}
	/* An id no passwd has. */
	REFUSED(fx, user_lookup(3999999999u, 3999999999u, &u, fx->err, sizeof(fx->err)), -ENOENT,
		"3999999999");
}

static void test_user_fs(void **state)
{
	struct fx *fx = *state;
	char top[128], udir[192];
	struct job_user u;
	struct passwd *pw;
	struct stat st;
	json_t *m;
	gid_t g;
	int jfd, dfd;

	pw = getpwnam("nobody");
	if (geteuid() != 0 || !pw || pw->pw_uid == 0)
		skip();
	OK(fx, user_lookup(pw->pw_uid, pw->pw_gid, &u, fx->err, sizeof(fx->err)));
	/* A shared CheckpointDir, as a site sets one up: the user's own directory in it. */
	snprintf(top, sizeof(top), "%s/top", fx->dir);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(chmod(top, 01777), 0);
	assert_int_equal(chmod(fx->dir, 0711), 0);
	OK(fx, store_user_dir(top, NULL, u.name, udir, sizeof(udir), fx->err, sizeof(fx->err)));
	OK(fx, user_fs_enter(&u, fx->err, sizeof(fx->err)));
	assert_int_equal(setfsuid(-1), pw->pw_uid);
	assert_int_equal(setfsgid(-1), pw->pw_gid);
	jfd = store_job_open(udir, 500, 1, fx->err, sizeof(fx->err));
	if (jfd < 0)
		user_fs_leave();
	OK(fx, jfd);
	/* Root's user directory is not this user's. */
	REFUSED(fx, store_job_open(fx->dir, JOBID, 0, fx->err, sizeof(fx->err)), -EPERM,
		"owned by uid 0");
	dfd = store_begin(jfd, 1, fx->err, sizeof(fx->err));
	if (dfd >= 0) {
		close(dfd);
		m = json_object();
		dfd = store_commit(jfd, 1, m, &fx->b, fx->key, fx->err, sizeof(fx->err));
		json_decref(m);
	}
	user_fs_leave();
	OK(fx, dfd);
	assert_int_equal(setfsuid(-1), 0);
	assert_int_equal(setfsgid(-1), 0);
	assert_int_equal(getgroups(1, &g), 0);

	/* Created with the user's fs credentials. */
	assert_int_equal(fstatat(jfd, "1/manifest.json", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(fstat(jfd, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(udir, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(st.st_mode & 07777, 0700);
	close(jfd);
	REFUSED(fx, store_job_open(udir, 500, 0, fx->err, sizeof(fx->err)), -EPERM,
		"not by the job's user (uid 0)");
}

/* Checkpoint 1's manifest, changed by edit and sealed again with the cluster's key. */
static void _genuine_but(struct fx *fx, const char *text, void (*edit)(json_t *m))
{
	json_t *m = json_loads(text, 0, NULL);
	char *out;

	assert_non_null(m);
	edit(m);
	out = store_seal(m, fx->key);
	assert_non_null(out);
	_puts(fx->jobfd, "1/manifest.json", out);
	free(out);
	json_decref(m);
}

static void _other_uid(json_t *m)
{
	json_object_set_new(m, "uid",
			    json_integer(json_integer_value(json_object_get(m, "uid")) + 1));
}

static void _other_lineage(json_t *m)
{
	json_object_set_new(m, "lineage", json_pack("[i, i]", JOBID, 7));
}

static void _no_lineage(json_t *m)
{
	json_object_del(m, "lineage");
}

static void _swapped_slots(json_t *m)
{
	json_t *slots = json_object_get(m, "slots");

	json_object_set_new(json_array_get(slots, 1), "slot", json_integer(0));
}

/* Issue 10: a manifest binds its image to the owner uid, the job's lineage and each slot. */
static void test_binding(void **state)
{
	struct fx *fx = *state;
	struct store_binding e = fx->b;
	json_t *m, *l;
	char *text;

	/* Committed: the binding is in the manifest, under the MAC. */
	fx->b.lineage = l = json_pack("[i, i]", 7, 9);
	m = _checkpoint(fx, 1);
	fx->b.lineage = NULL;
	json_decref(l);
	assert_int_equal(json_integer_value(json_object_get(m, "uid")), getuid());
	assert_int_equal(json_integer_value(json_object_get(m, "jobid")), JOBID);
	l = json_object_get(m, "lineage");
	assert_int_equal(json_array_size(l), 3);
	assert_int_equal(json_integer_value(json_array_get(l, 0)), 7);
	assert_int_equal(json_integer_value(json_array_get(l, 2)), JOBID);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(m, "slots"), 1), "slot")),
			 1);
	json_decref(m);
	e.slot = 1;
	OK(fx, store_load(fx->jobfd, 1, fx->key, &e, &m, fx->err, sizeof(fx->err)));
	json_decref(m);

	/* Another user's job, another job, another slot: refused, the field named, not "corrupt".
	 */
	e = fx->b;
	e.uid += 1;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &e, &m, fx->err, sizeof(fx->err)), -EPERM,
		"owner uid");
	e = fx->b;
	e.jobid = JOBID + 1;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &e, &m, fx->err, sizeof(fx->err)), -EPERM,
		"(jobid)");
	e = fx->b;
	e.slot = 2;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &e, &m, fx->err, sizeof(fx->err)), -EPERM,
		"no slot 2 (slot)");

	/* Genuine manifests (the MAC verifies) bound otherwise. */
	text = _get(fx->jobfd, "1/manifest.json", NULL);
	_genuine_but(fx, text, _other_uid);
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)), -EPERM,
		"owner uid");
	_genuine_but(fx, text, _other_lineage);
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)), -EPERM,
		"(lineage)");
	_genuine_but(fx, text, _no_lineage);
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &fx->b, &m, fx->err, sizeof(fx->err)), -EPERM,
		"no lineage");
	_genuine_but(fx, text, _swapped_slots);
	e = fx->b;
	e.slot = 1;
	REFUSED(fx, store_load(fx->jobfd, 1, fx->key, &e, &m, fx->err, sizeof(fx->err)), -EBADMSG,
		"(slot)");
	/* store_load_newest skips what is not the job's. */
	_genuine_but(fx, text, _other_uid);
	assert_int_equal(store_load_newest(fx->jobfd, fx->key, &fx->b, &e.jobid, &m), -ENOENT);
	free(text);
}

/* The lineage a job's next checkpoint records: its own, or that of the job it was restarted from.
 */
static void test_lineage(void **state)
{
	struct fx *fx = *state;
	char path[256];
	json_t *prev, *l;
	int ofd;

	ofd = _other_job(fx, path, sizeof(path)); /* job JOBID + 1: lineage [JOBID + 1] */
	close(ofd);
	l = store_lineage(fx->dir, getuid(), JOBID + 1, NULL, fx->key);
	assert_non_null(l);
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(json_integer_value(json_array_get(l, 0)), JOBID + 1);
	fx->b.lineage = l;
	prev = _checkpoint(fx, 1);
	json_decref(l);
	fx->b.lineage = NULL;
	l = store_lineage(fx->dir, getuid(), JOBID + 1, prev, fx->key);
	assert_int_equal(json_array_size(l), 2);
	assert_int_equal(json_integer_value(json_array_get(l, 1)), JOBID);
	json_decref(l);
	json_decref(prev);
	/* Restarted from a job whose checkpoints are gone: the link to it. */
	l = store_lineage(fx->dir, getuid(), 999, NULL, fx->key);
	assert_int_equal(json_integer_value(json_array_get(l, 0)), 999);
	json_decref(l);
	assert_null(store_lineage(fx->dir, getuid(), 0, NULL, fx->key));
}

/* The user directory: squatted, a symlink, loose, not creatable; a stale job dir set aside. */
static void test_user_dir(void **state)
{
	struct fx *fx = *state;
	char top[128], udir[192], other[192], aside[64];
	struct passwd *pw = getpwnam("nobody");
	struct job_user u;
	int fd;

	if (geteuid() != 0 || !pw || pw->pw_uid == 0)
		skip();
	snprintf(top, sizeof(top), "%s/top", fx->dir);
	assert_int_equal(mkdir(top, 01777), 0);
	assert_int_equal(chmod(top, 01777), 0);
	REFUSED(fx, store_user_dir(top, NULL, "..", udir, sizeof(udir), fx->err, sizeof(fx->err)),
		-EINVAL, "\"..\"");
	OK(fx,
	   store_user_dir(top, "/mine/ck", "root", udir, sizeof(udir), fx->err, sizeof(fx->err)));
	assert_string_equal(udir, "/mine/ck");
	OK(fx, store_user_dir(top, NULL, "root", udir, sizeof(udir), fx->err, sizeof(fx->err)));
	/* No user directory yet: no checkpoint; no CheckpointDir at all: the storage is missing. */
	REFUSED(fx, store_job_open(udir, JOBID, 0, fx->err, sizeof(fx->err)), -ENOENT, udir);
	snprintf(other, sizeof(other), "%s/gone/root", fx->dir);
	REFUSED(fx, store_job_open(other, JOBID, 1, fx->err, sizeof(fx->err)), -ENODEV, "mounted");

	/* Another user made root's <user>/ first (a 1777 top lets them): refused, named. */
	assert_int_equal(mkdir(udir, 0700), 0);
	assert_int_equal(chown(udir, pw->pw_uid, pw->pw_gid), 0);
	REFUSED(fx, store_job_open(udir, JOBID, 1, fx->err, sizeof(fx->err)), -EPERM, udir);
	assert_non_null(strstr(fx->err, "owned by uid"));
	/* Root's own, but others may enter or write it. */
	assert_int_equal(chown(udir, 0, 0), 0);
	assert_int_equal(chmod(udir, 0755), 0);
	REFUSED(fx, store_job_open(udir, JOBID, 1, fx->err, sizeof(fx->err)), -EPERM, "mode 0755");
	assert_int_equal(rmdir(udir), 0);
	/* A symlink to a directory of root's: refused, not followed. */
	snprintf(other, sizeof(other), "%s/real", fx->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink(other, udir), 0);
	REFUSED(fx, store_job_open(udir, JOBID, 1, fx->err, sizeof(fx->err)), -ELOOP, "symlink");
	assert_false(_exists(fx->jobfd, "../real/42", S_IFDIR));
	assert_int_equal(unlink(udir), 0);

	/* A top the user may not write: the admin is told what to run. */
	assert_int_equal(chmod(top, 0755), 0);
	assert_int_equal(chmod(fx->dir, 0711), 0);
	OK(fx, user_lookup(pw->pw_uid, pw->pw_gid, &u, fx->err, sizeof(fx->err)));
	OK(fx, store_user_dir(top, NULL, u.name, udir, sizeof(udir), fx->err, sizeof(fx->err)));
	OK(fx, user_fs_enter(&u, fx->err, sizeof(fx->err)));
	fx->err[0] = '\0';
	fd = store_job_open(udir, JOBID, 1, fx->err, sizeof(fx->err));
	user_fs_leave();
	assert_int_equal(fd, -EACCES);
	assert_non_null(strstr(fx->err, "install -d -m 0700"));
	assert_non_null(strstr(fx->err, udir));

	/* A job dir left by an earlier job with the same id goes aside, as the user. */
	assert_int_equal(chmod(fx->dir, 0700), 0);
	OK(fx, store_set_aside(fx->dir, JOBID, "stale", aside, sizeof(aside), fx->err,
			       sizeof(fx->err)));
	assert_true(!strncmp(aside, "42.stale-", 9));
	assert_false(_exists(fx->jobfd, "../42", S_IFDIR));
	OK(fx, store_set_aside(fx->dir, JOBID, "stale", aside, sizeof(aside), fx->err,
			       sizeof(fx->err)));
	assert_string_equal(aside, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_jobdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_begin_removes_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lineage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
