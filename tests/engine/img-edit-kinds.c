// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * img-edit-kinds: hand-edit a record of one of the socket, event and SysV
 * kinds and fix its checksum, as a user editing their own image to make
 * the restarter do more than they could (owner-kinds.sh).
 *
 *   img-edit-kinds DIR KIND N FIELD VALUE   edit the N-th (from 0) record of KIND
 *   img-edit-kinds DIR dup KIND             a copy of KIND's first record, once more
 *
 * KIND and FIELD: unix name|sndbuf|rcvbuf; inet opt.I (inet_opts[I] of
 * sk-inet.c, its mask bit set)|port|dstport; timerfd clockid; epoll events.K|
 * holder.K|tfd.K (target K); inotify path.K; msg|sem|shm id|uid|gid|cuid|
 * cgid|mode, msg qbytes. Numbers in C notation.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "image.h"

static const struct {
	const char *name;
	uint32_t type;
} kinds[] = {
	{"unix", CR_REC_UNIX_SK}, {"inet", CR_REC_INET_SK},    {"timerfd", CR_REC_TIMERFD},
	{"epoll", CR_REC_EPOLL},  {"inotify", CR_REC_INOTIFY}, {"msg", CR_REC_IPC_MSG},
	{"sem", CR_REC_IPC_SEM},  {"shm", CR_REC_IPC_SHM},
};

static uint32_t kind_type(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (!strcmp(kinds[i].name, name))
			return kinds[i].type;
	return 0;
}

static int edit_unix(struct cr_unix_sk_rec *r, const char *f, const char *val, uint64_t v)
{
	if (!strcmp(f, "name")) {
		memset(r->name, 0, sizeof(r->name));
		snprintf(r->name, sizeof(r->name), "%s", val);
		r->namelen = strlen(r->name);
	} else if (!strcmp(f, "sndbuf")) {
		r->sndbuf = v;
	} else if (!strcmp(f, "rcvbuf")) {
		r->rcvbuf = v;
	} else {
		return -2;
	}
	return 0;
}

static int edit_inet(struct cr_inet_sk_rec *r, const char *f, uint64_t v)
{
	unsigned int i;

	if (sscanf(f, "opt.%u", &i) == 1 && i < CR_INET_NOPTS) {
		r->opts[i] = (int32_t)v;
		r->opt_mask |= 1u << i;
	} else if (!strcmp(f, "port")) {
		((struct sockaddr_in *)r->src)->sin_port = htons(v); /* same place in _in6 */
	} else if (!strcmp(f, "dstport")) {
		((struct sockaddr_in *)r->dst)->sin_port = htons(v);
	} else {
		return -2;
	}
	return 0;
}

static int edit_epoll(struct cr_epoll_rec *r, uint32_t len, const char *f, uint64_t v)
{
	struct cr_epoll_tfd *t = (struct cr_epoll_tfd *)(r + 1);
	char what[16];
	unsigned int k;

	if (sscanf(f, "%15[a-z].%u", what, &k) != 2 || k >= r->ntfds ||
	    sizeof(*r) + (k + 1) * sizeof(*t) > len)
		return -2;
	if (!strcmp(what, "events"))
		t[k].events = v;
	else if (!strcmp(what, "holder"))
		t[k].holder = (int32_t)v;
	else if (!strcmp(what, "tfd"))
		t[k].tfd = (int32_t)v;
	else
		return -2;
	return 0;
}

static int edit_ipc(struct cr_ipc_perm *p, uint32_t type, void *rec, const char *f, uint64_t v)
{
	if (!strcmp(f, "id"))
		p->id = (int32_t)v;
	else if (!strcmp(f, "uid"))
		p->uid = v;
	else if (!strcmp(f, "gid"))
		p->gid = v;
	else if (!strcmp(f, "cuid"))
		p->cuid = v;
	else if (!strcmp(f, "cgid"))
		p->cgid = v;
	else if (!strcmp(f, "mode"))
		p->mode = v;
	else if (!strcmp(f, "qbytes") && type == CR_REC_IPC_MSG)
		((struct cr_ipc_msg_rec *)rec)->qbytes = v;
	else
		return -2;
	return 0;
}

static int edit_rec(uint32_t type, void *p, uint32_t len, const char *f, const char *val)
{
	uint64_t v = strtoull(val, NULL, 0);
	unsigned int k;

	switch (type) {
	case CR_REC_UNIX_SK:
		return edit_unix(p, f, val, v);
	case CR_REC_INET_SK:
		return edit_inet(p, f, v);
	case CR_REC_TIMERFD:
		if (strcmp(f, "clockid"))
			return -2;
		((struct cr_timerfd_rec *)p)->clockid = (int32_t)v;
		return 0;
	case CR_REC_EPOLL:
		return edit_epoll(p, len, f, v);
	case CR_REC_INOTIFY: {
		struct cr_inotify_rec *r = p;
		struct cr_inotify_watch *w = (struct cr_inotify_watch *)(r + 1);

		if (sscanf(f, "path.%u", &k) != 1 || k >= r->nwatches)
			return -2;
		memset(w[k].path, 0, sizeof(w[k].path));
		snprintf(w[k].path, sizeof(w[k].path), "%s", val);
		return 0;
	}
	default:
		return edit_ipc(p, type, p, f, v);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;

	if (f && !fseek(f, 0, SEEK_END) && (*len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc(*len)) && fread(buf, *len, 1, f) != 1) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

/* Edit (or, @dup, copy) the @n-th record of @type in the image at @path. */
static int run(const char *path, uint32_t type, long n, bool dup, const char *f, const char *val)
{
	size_t len = 0, off = 0;
	char *buf = slurp(path, &len);
	FILE *out;
	int ret = -3;

	while (buf && off + sizeof(struct cr_rec_hdr) <= len) {
		struct cr_rec_hdr *h = (struct cr_rec_hdr *)(buf + off);
		size_t rec = off + sizeof(*h);

		if (h->type == CR_REC_END || rec + h->len > len)
			break;
		if (h->type == type && n-- == 0) {
			ret = dup ? 0 : edit_rec(type, buf + rec, h->len, f, val);
			if (!ret)
				h->csum = XXH64(buf + rec, h->len, h->type);
			break;
		}
		off = rec + h->len;
	}
	out = ret ? NULL : fopen(path, "w");
	if (out) {
		/* a copy goes right after the original: before CR_REC_END */
		size_t end =
			off + sizeof(struct cr_rec_hdr) + ((struct cr_rec_hdr *)(buf + off))->len;

		if (fwrite(buf, end, 1, out) != 1 ||
		    (dup && fwrite(buf + off, end - off, 1, out) != 1) ||
		    fwrite(buf + end, len - end, 1, out) != 1)
			ret = -1;
		if (fclose(out))
			ret = -1;
	} else if (!ret) {
		ret = -1;
	}
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	bool dup = argc == 4 && !strcmp(argv[2], "dup");
	uint32_t type = kind_type(argc > 3 ? argv[dup ? 3 : 2] : "");
	char path[4096];
	int ret;

	if ((argc != 6 && !dup) || !type) {
		fprintf(stderr, "usage: img-edit-kinds DIR KIND N FIELD VALUE | DIR dup KIND\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], CR_IMG_NAME);
	ret = run(path, type, dup ? 0 : atol(argv[3]), dup, dup ? NULL : argv[4],
		  dup ? NULL : argv[5]);
	if (ret == -2)
		fprintf(stderr, "img-edit-kinds: bad field %s for %s\n", argv[4], argv[2]);
	else if (ret == -3)
		fprintf(stderr, "img-edit-kinds: %s has no such record\n", path);
	else if (ret)
		perror("img-edit-kinds");
	return ret == -2 ? 2 : ret ? 1 : 0;
}
