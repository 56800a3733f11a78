// SPDX-License-Identifier: LGPL-2.1-or-later
/* cr.conf parsing: a table of keys, as Slurm's s_p_options_t. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "interval.h"

enum conf_type {
	CONF_STRING,
	CONF_UINT,
	CONF_INTERVAL,
	CONF_NET, /* an IPv4 prefix a.b.c.d/n: the address, then the length (2 x uint32_t) */
};

struct conf_key {
	const char *key;
	enum conf_type type;
	size_t off;
	size_t size;
	unsigned long max; /* CONF_UINT */
};

#define STR_KEY(k, f)                                                                              \
	{                                                                                          \
		k, CONF_STRING, offsetof(struct cr_conf, f), sizeof(((struct cr_conf *)0)->f), 0   \
	}
#define UINT_KEY(k, f, m)                                                                          \
	{                                                                                          \
		k, CONF_UINT, offsetof(struct cr_conf, f), sizeof(uint32_t), m                     \
	}

static const struct conf_key conf_keys[] = {
	STR_KEY("NodeName", node_name),
	STR_KEY("CheckpointDir", checkpoint_dir),
	UINT_KEY("Port", port, 65535),
	STR_KEY("SocketPath", socket_path),
	STR_KEY("StateDir", state_dir),
	STR_KEY("LogFile", log_file),
	UINT_KEY("KeepCount", keep_count, 1000000),
	{"DefaultInterval", CONF_INTERVAL, offsetof(struct cr_conf, default_interval), sizeof(long),
	 0},
	STR_KEY("Operators", operators),
	STR_KEY("KeyFile", key_file),
	UINT_KEY("MaxWait", max_wait, CR_MAX_WAIT_LIMIT),
	UINT_KEY("RollbackKeep", rollback_keep_mib, 1u << 20),
	STR_KEY("CompletedJobCheckpoints", completed),
	STR_KEY("RestoreFailure", restore_failure),
	STR_KEY("AllowContinue", allow_continue),
	UINT_KEY("MaxContinues", max_continues, 100000),
	UINT_KEY("ContinueLead", continue_lead, 86400),
	STR_KEY("EvacuateOnDrain", evacuate_on_drain),
	UINT_KEY("MaxSlotsPerNode", max_slots_per_node, CR_MAX_SLOTS_PER_NODE),
	{"JobNetwork", CONF_NET, offsetof(struct cr_conf, job_net), 2 * sizeof(uint32_t), 0},
	STR_KEY("LaunchAgent", launch_agent),
	STR_KEY("JobNetworkRegistry", job_net_registry),
};

void cr_conf_defaults(struct cr_conf *c)
{
	memset(c, 0, sizeof(*c));
	if (gethostname(c->node_name, sizeof(c->node_name) - 1) < 0)
		strcpy(c->node_name, "localhost");
	snprintf(c->checkpoint_dir, sizeof(c->checkpoint_dir), "/var/spool/slurm-cr/checkpoints");
	c->port = CR_PORT_DEFAULT;
	snprintf(c->socket_path, sizeof(c->socket_path), "/run/slurm-cr/crd.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "/run/slurm-cr/state");
	c->keep_count = 2;
	c->default_interval = 3600;
	snprintf(c->key_file, sizeof(c->key_file), "/etc/slurm/cr.key");
	c->max_wait = 300;
	c->rollback_keep_mib = 64;
	snprintf(c->completed, sizeof(c->completed), "remove");
	snprintf(c->restore_failure, sizeof(c->restore_failure), "hold");
	snprintf(c->allow_continue, sizeof(c->allow_continue), "no");
	c->max_continues = 10;
	snprintf(c->evacuate_on_drain, sizeof(c->evacuate_on_drain), "no");
	c->continue_lead = 120;
	c->max_slots_per_node = 1;
	c->job_net = 0x64400000; /* 100.64.0.0/16: shared address space, rarely a site's */
	c->job_net_prefix = 16;
	snprintf(c->launch_agent, sizeof(c->launch_agent), "%s", CR_LAUNCH_AGENT_DEFAULT);
}

static char *_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* a.b.c.d/n, n from 8 to 24 (a slot needs an address of its own), host bits zero */
static int _set_net(uint32_t *net, const char *val, char *why, size_t whylen)
{
	char addr[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(val, '/');
	struct in_addr a;
	unsigned long n;

	if (!slash || (size_t)(slash - val) >= sizeof(addr) || !isdigit((unsigned char)slash[1]))
		goto bad;
	memcpy(addr, val, slash - val);
	addr[slash - val] = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (*end || errno || n < 8 || n > 24 || inet_pton(AF_INET, addr, &a) != 1)
		goto bad;
	net[0] = ntohl(a.s_addr);
	net[1] = n;
	if (net[0] & (0xffffffffu >> n)) {
		snprintf(why, whylen, "%s has host bits set", val);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(why, whylen, "expected an IPv4 prefix a.b.c.d/n with n from 8 to 24");
	return -EINVAL;
}

static int _set(struct cr_conf *c, const struct conf_key *k, const char *val, char *why,
		size_t whylen)
{
	char *end;
	unsigned long u;
	long secs;

	switch (k->type) {
	case CONF_STRING:
		if (strlen(val) >= k->size) {
			snprintf(why, whylen, "value too long");
			return -EINVAL;
		}
		memcpy((char *)c + k->off, val, strlen(val) + 1);
		return 0;
	case CONF_UINT:
		errno = 0;
		u = strtoul(val, &end, 10);
		if (!isdigit((unsigned char)val[0]) || *end || errno || u > k->max) {
			snprintf(why, whylen, "expected a number up to %lu", k->max);
			return -EINVAL;
		}
		*(uint32_t *)((char *)c + k->off) = u;
		return 0;
	case CONF_INTERVAL:
		if (cr_interval_parse(val, &secs, why, whylen))
			return -EINVAL;
		if (secs < 0) {
			snprintf(why, whylen, "an interval is required");
			return -EINVAL;
		}
		*(long *)((char *)c + k->off) = secs;
		return 0;
	case CONF_NET:
		return _set_net((uint32_t *)((char *)c + k->off), val, why, whylen);
	}
	return -EINVAL;
}

int cr_conf_load(struct cr_conf *c, const char *path, char *err, size_t errlen)
{
	char line[4096], why[256];
	const struct conf_key *k;
	char *key, *val, *eq, *hash;
	int lineno = 0, ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		/* Never read a long line as two: its rest would be parsed as a line. */
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno,
				 sizeof(line) - 2);
			ret = -EINVAL;
			break;
		}
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		key = _trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected Key=Value", path, lineno);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		key = _trim(key);
		val = _trim(eq + 1);
		k = NULL;
		for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
			if (!strcasecmp(conf_keys[i].key, key))
				k = &conf_keys[i];
		if (!k) {
			snprintf(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, key);
			ret = -EINVAL;
			break;
		}
		if (_set(c, k, val, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s: %s", path, lineno, k->key, why);
			ret = -EINVAL;
			break;
		}
	}
	fclose(f);
	if (!ret && strcmp(c->completed, "remove") && strcmp(c->completed, "keep")) {
		snprintf(err, errlen, "%s: CompletedJobCheckpoints: \"%s\" is not remove or keep",
			 path, c->completed);
		ret = -EINVAL;
	}
	if (!ret && strcmp(c->restore_failure, "hold") && strcmp(c->restore_failure, "fail")) {
		snprintf(err, errlen, "%s: RestoreFailure: \"%s\" is not hold or fail", path,
			 c->restore_failure);
		ret = -EINVAL;
	}
	if (!ret && strcmp(c->allow_continue, "yes") && strcmp(c->allow_continue, "no")) {
		snprintf(err, errlen, "%s: AllowContinue: \"%s\" is not yes or no", path,
			 c->allow_continue);
		ret = -EINVAL;
	}
	if (!ret && strcmp(c->evacuate_on_drain, "yes") && strcmp(c->evacuate_on_drain, "no")) {
		snprintf(err, errlen, "%s: EvacuateOnDrain: \"%s\" is not yes or no", path,
			 c->evacuate_on_drain);
		ret = -EINVAL;
	}
	return ret;
}

int cr_conf_is_operator(const struct cr_conf *c, const char *user)
{
	const char *p = c->operators, *e;
	size_t n = strlen(user);

	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		e = p;
		while (*e && *e != ',' && !isspace((unsigned char)*e))
			e++;
		if ((size_t)(e - p) == n && n && !strncmp(p, user, n))
			return 1;
		p = e;
	}
	return 0;
}
