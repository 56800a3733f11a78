// SPDX-License-Identifier: LGPL-2.1-or-later
/* A job's status: its JSON form, and the client of the job's monitor. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coordio.h"
#include "jobstat.h"
#include "log.h"

static const char *const state_names[] = {
	[JS_IDLE] = "idle",
	[JS_RESTORING] = "restoring",
	[JS_RUNNING] = "running",
	[JS_EXITED] = "exited",
};

const char *jobstat_state_name(enum job_state state)
{
	return state < JS_UNKNOWN ? state_names[state] : "?";
}

static enum job_state _state_of(const char *name)
{
	for (int i = 0; name && i < JS_UNKNOWN; i++)
		if (!strcmp(name, state_names[i]))
			return i;
	return JS_UNKNOWN;
}

static const char *const file_exts[] = {
	[JOBSTAT_SOCK] = "sock",     [JOBSTAT_STATE] = "json", [JOBSTAT_HOSTS] = "hosts",
	[JOBSTAT_ROUTES] = "routes", [JOBSTAT_LOCK] = "lock",
};

void jobstat_path(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, enum jobstat_file file,
		  char *buf, size_t len)
{
	const char *ext = file_exts[file];
	int n = unit ? snprintf(buf, len, "%s/job%u.u%u.%s", ctx->conf.state_dir, jobid, unit, ext)
		     : snprintf(buf, len, "%s/job%u.%s", ctx->conf.state_dir, jobid, ext);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

int jobstat_parse_name(const char *name, uint32_t *jobid, uint32_t *unit)
{
	unsigned j, u = 0;
	int n = 0;

	if (sscanf(name, "job%u.json%n", &j, &n) != 1 || n == 0 || name[n]) {
		n = 0;
		if (sscanf(name, "job%u.u%u.json%n", &j, &u, &n) != 2 || n == 0 || name[n] ||
		    u == 0 || u >= CR_MAX_UNITS)
			return -EINVAL;
	}
	*jobid = j;
	*unit = u;
	return 0;
}

int jobstat_claim(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[PATH_MAX];
	int fd, ret;

	jobstat_path(ctx, jobid, unit, JOBSTAT_LOCK, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return fd;
	ret = errno == EACCES || errno == EAGAIN ? -EBUSY : -errno;
	close(fd);
	return ret;
}

int jobstat_wait_gone(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, int ms,
		      pid_t *holder)
{
	char path[PATH_MAX];
	struct flock fl;
	int fd, ret;

	jobstat_path(ctx, jobid, unit, JOBSTAT_LOCK, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_GETLK, &fl) < 0) {
			ret = -errno;
			break;
		}
		ret = fl.l_type == F_UNLCK ? 0 : -EBUSY;
		*holder = fl.l_pid;
		if (!ret || ms <= 0)
			break;
		/* The lock gives no wake-up for a waiter that must not take it. */
		poll(NULL, 0, 20);
		ms -= 20;
	}
	close(fd);
	return ret;
}

char *jobstat_encode(const struct job_status *js, const char *node)
{
	const struct cr_job *ji = &js->ji;
	char addr[INET_ADDRSTRLEN];
	json_t *o;
	char *s;

	o = json_pack("{s:i, s:i, s:i, s:I, s:i, s:b, s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:s, s:I, "
		      "s:i, s:i}",
		      "jobid", (int)ji->jobid, "uid", (int)ji->uid, "gid", (int)ji->gid, "interval",
		      (json_int_t)ji->interval, "slot", (int)ji->slot, "batch", (int)ji->batch,
		      "hostname", ji->hostname, "checkpoint_dir", ji->ckpt_dir, "nodelist",
		      ji->nodelist, "enabled", js->enabled, "monitor_pid", (int)js->monitor_pid,
		      "init_pid", (int)js->init_pid, "relay_pid", (int)js->relay_pid, "state",
		      jobstat_state_name(js->state), "started", (json_int_t)js->started,
		      "script_pid", (int)js->script_pid, "restart_from", (int)ji->restart_from);
	if (o && ji->unit)
		json_object_set_new(o, "unit", json_integer(ji->unit));
	if (o && *ji->placement)
		json_object_set_new(o, "placement", json_string(ji->placement));
	if (!o)
		return NULL;
	if (js->state == JS_EXITED)
		json_object_set_new(o, "exit_status", json_integer(js->exit_status));
	json_object_set_new(
		o, "address",
		json_string(inet_ntop(AF_INET, &(uint32_t){htonl(ji->addr)}, addr, sizeof(addr))));
	if (node)
		json_object_set_new(o, "node", json_string(node));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void _copy_str(json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", s ? s : "");
}

static json_int_t _int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int _decode(const char *text, struct job_status *js)
{
	struct cr_job *ji = &js->ji;
	json_t *o = json_loads(text, 0, NULL);
	struct in_addr in;
	const char *a;

	if (!json_is_object(o)) {
		json_decref(o);
		return -EPROTO;
	}
	memset(js, 0, sizeof(*js));
	ji->jobid = _int(o, "jobid");
	ji->uid = _int(o, "uid");
	ji->gid = _int(o, "gid");
	ji->interval = _int(o, "interval");
	ji->slot = _int(o, "slot");
	ji->unit = _int(o, "unit");
	_copy_str(o, "placement", ji->placement, sizeof(ji->placement));
	ji->batch = json_is_true(json_object_get(o, "batch"));
	_copy_str(o, "hostname", ji->hostname, sizeof(ji->hostname));
	_copy_str(o, "checkpoint_dir", ji->ckpt_dir, sizeof(ji->ckpt_dir));
	_copy_str(o, "nodelist", ji->nodelist, sizeof(ji->nodelist));
	ji->restart_from = _int(o, "restart_from");
	a = json_string_value(json_object_get(o, "address"));
	if (a && inet_pton(AF_INET, a, &in) == 1)
		ji->addr = ntohl(in.s_addr);
	js->state = _state_of(json_string_value(json_object_get(o, "state")));
	js->enabled = json_is_true(json_object_get(o, "enabled"));
	js->monitor_pid = _int(o, "monitor_pid");
	js->init_pid = _int(o, "init_pid");
	js->relay_pid = _int(o, "relay_pid");
	js->script_pid = _int(o, "script_pid");
	js->started = _int(o, "started");
	js->exit_status = _int(o, "exit_status");
	json_decref(o);
	return 0;
}

int jobstat_connect(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit)
{
	char path[PATH_MAX];
	int fd;

	jobstat_path(ctx, jobid, unit, JOBSTAT_SOCK, path, sizeof(path));
	fd = cr_unix_connect(path);
	if (fd == -ECONNREFUSED)
		return -ENOENT;
	return fd;
}

int jobstat_ask(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, uint32_t type,
		const struct cr_buf *b, const int *fds, int nfds, int timeout_s, uint32_t *code,
		char *buf, size_t len)
{
	int fd, ret;

	fd = jobstat_connect(ctx, jobid, unit);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){timeout_s, 0},
		   sizeof(struct timeval));
	ret = cr_send(fd, type, b, fds, nfds);
	if (!ret)
		ret = cr_recv_reply(fd, code, buf, len);
	close(fd);
	return ret;
}

int jobstat_get(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, struct job_status *js)
{
	char *buf = malloc(16384);
	uint32_t code;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = jobstat_ask(ctx, jobid, unit, CR_MSG_STATUS, NULL, NULL, 0, 10, &code, buf, 16384);
	if (!ret)
		ret = code ? -EIO : _decode(buf, js);
	free(buf);
	return ret;
}

int jobstat_find_slot(const struct crd_ctx *ctx, uint32_t jobid, uint32_t slot,
		      struct job_status *js)
{
	for (uint32_t unit = 0; unit < CR_MAX_UNITS; unit++)
		if (jobstat_get(ctx, jobid, unit, js) == 0 && js->ji.slot == slot)
			return 0;
	return -ENOENT;
}

int jobstat_restored(struct cr_job *ji, const char *restore_req)
{
	json_t *req = json_loads(restore_req, 0, NULL), *place, *v;
	char names[MAX_NODES][128], buf[sizeof(ji->placement)];
	size_t i, k, n, off = 0;

	if (!req)
		return -EPROTO;
	v = json_object_get(req, "self");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < UINT16_MAX)
		ji->slot = json_integer_value(v);
	/* where each slot went, as indices into the allocation's nodes: 4 bytes a slot at most */
	place = json_object_get(req, "placement");
	n = ji->batch && json_is_array(place) ? coordio_expand(ji->nodelist, names, MAX_NODES) : 0;
	buf[0] = '\0';
	json_array_foreach(place, i, v)
	{
		for (k = 0; k < n && json_is_string(v) && strcmp(names[k], json_string_value(v));
		     k++)
			;
		if (k >= n || off >= sizeof(buf))
			break;
		off += snprintf(buf + off, sizeof(buf) - off, "%s%zu", i ? "," : "", k);
	}
	if (n && i == json_array_size(place) && off < sizeof(buf))
		memcpy(ji->placement, buf, sizeof(buf));
	json_decref(req);
	return 0;
}

size_t jobstat_placement(const struct cr_job *ji, size_t n, size_t *at)
{
	const char *p = ji->placement;
	size_t i = 0;
	char *end;

	while (*p && i < MAX_NODES) {
		at[i] = strtoul(p, &end, 10);
		if (end == p || at[i] >= n || (*end && *end != ',')) {
			log_warnx("job %u: bad slot placement \"%.200s\": one slot per node",
				  ji->jobid, ji->placement);
			return 0;
		}
		i++;
		p = *end ? end + 1 : end;
	}
	return i;
}
