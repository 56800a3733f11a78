// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A node's CPU topology (hwloc) and where a slot's threads were bound, as a
 * checkpoint's manifest records them; at restore, the map from the CPUs the
 * slot had to those it gets on its new node (the rule: topo.h). libcr
 * applies the map to every thread's saved affinity (cr.h, cpu_map).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "log.h"
#include "proctree.h"
#include "topo.h"

/* libcr's thread records hold 1024 CPUs (image.h, cpumask) */
#define TOPO_MAX_CPUS 1024
/* tasks walked; threads listed (a DUMP reply holds 1 MiB with the digests) */
#define TOPO_MAX_THREADS 16384
#define TOPO_MAX_LISTED	 512

static int _count(hwloc_topology_t t, hwloc_obj_type_t type)
{
	int n = hwloc_get_nbobjs_by_type(t, type);

	return n > 0 ? n : 0;
}

int topo_describe(hwloc_topology_t t, const char *allowed, json_t **out, char *err, size_t errlen)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	json_t *os = json_array(), *core = json_array();
	int npu = _count(t, HWLOC_OBJ_PU), ret = -ENOMEM;
	char *list = NULL;

	*out = NULL;
	if (!set || !os || !core)
		goto out;
	if (!allowed)
		hwloc_bitmap_copy(set, hwloc_topology_get_complete_cpuset(t));
	else if (hwloc_bitmap_list_sscanf(set, allowed) < 0) {
		ret = err_set(err, errlen, -EINVAL, "bad CPU list \"%.64s\"", allowed);
		goto out;
	}
	hwloc_bitmap_and(set, set, hwloc_topology_get_complete_cpuset(t));
	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, i);
		hwloc_obj_t c = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);

		json_array_append_new(os, json_integer(pu->os_index));
		json_array_append_new(core, json_integer(c ? c->logical_index : pu->logical_index));
	}
	if (hwloc_bitmap_list_asprintf(&list, set) < 0)
		goto out;
	*out = json_pack("{s:i, s:i, s:i, s:i, s:O, s:O, s:s}", "packages",
			 _count(t, HWLOC_OBJ_PACKAGE), "cores", _count(t, HWLOC_OBJ_CORE), "pus",
			 npu, "numa", _count(t, HWLOC_OBJ_NUMANODE), "pu_os", os, "pu_core", core,
			 "allowed", list);
	ret = *out ? 0 : -ENOMEM;
out:
	if (ret == -ENOMEM)
		err_set(err, errlen, ret, "out of memory describing the topology");
	free(list);
	json_decref(os);
	json_decref(core);
	hwloc_bitmap_free(set);
	return ret;
}

/* The whole machine, disallowed PUs included (the slot's set is ours to say), no I/O or caches. */
static int _load(hwloc_topology_t *t, char *err, size_t errlen)
{
	/*
	 * hwloc dlopens its I/O plugins (and their GL, OpenCL, libxml2 libraries)
	 * at every init unless told not to (on a loaded 2-CPU test machine a
	 * load took 70-220 ms with them, 4-60 ms without). An admin's own
	 * setting wins.
	 */
	setenv("HWLOC_PLUGINS_BLACKLIST",
	       "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml,hwloc_cuda,hwloc_nvml,"
	       "hwloc_rsmi,hwloc_levelzero",
	       0);
	if (hwloc_topology_init(t) < 0)
		return err_set(err, errlen, -ENOMEM, "cannot initialise hwloc");
	hwloc_topology_set_flags(*t, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	hwloc_topology_set_io_types_filter(*t, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_cache_types_filter(*t, HWLOC_TYPE_FILTER_KEEP_NONE);
	if (hwloc_topology_load(*t) < 0) {
		hwloc_topology_destroy(*t);
		return err_set(err, errlen, -EIO, "hwloc cannot read this node's topology");
	}
	return 0;
}

/* The first line of @path into @buf, without its newline; 0 or -errno. */
static int _read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = -EIO;
	fclose(f);
	buf[ret ? 0 : strcspn(buf, "\n")] = '\0';
	return ret;
}

/* "Key:\tvalue" of /proc/PID/task/TID/status into @val (NSpid: its last, innermost, value). */
static int _status(pid_t pid, pid_t tid, const char *key, char *val, size_t len)
{
	char path[64], line[4096];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char *v = line + klen + 1;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		if (!strcmp(key, "NSpid") && strrchr(v, '\t'))
			v = strrchr(v, '\t') + 1;
		snprintf(val, len, "%s", v);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* The CPUs of @pid's cpuset cgroup (v1 or v2); its own affinity when there is none. */
static int _slot_cpus(pid_t pid, char *buf, size_t len)
{
	char path[PATH_MAX + 64], line[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *rel = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!rel)
			continue;
		*rel++ = '\0';
		rel[strcspn(rel, "\n")] = '\0';
		if (!ctl[1])
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpuset.cpus.effective", rel);
		else if (!strcmp(ctl + 1, "cpuset"))
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup/cpuset%s/cpuset.effective_cpus", rel);
		else
			continue;
		if (!_read_line(path, buf, len) && *buf) {
			fclose(f);
			return 0;
		}
	}
	if (f)
		fclose(f);
	return _status(pid, pid, "Cpus_allowed_list", buf, len);
}

int topo_node(pid_t init, json_t **out, char *err, size_t errlen)
{
	hwloc_topology_t t;
	char cpus[4096];
	int ret;

	*out = NULL;
	ret = _slot_cpus(init, cpus, sizeof(cpus));
	if (ret)
		return err_sys(err, errlen, ret, "cannot read the CPUs of pid %d", init);
	ret = _load(&t, err, errlen);
	if (ret)
		return ret;
	ret = topo_describe(t, cpus, out, err, errlen);
	hwloc_topology_destroy(t);
	return ret;
}

/* A cpulist of @d into @set: 0, or -EINVAL (none, or not a list). */
static int _cpulist(const json_t *d, const char *key, hwloc_bitmap_t set)
{
	const char *s = json_string_value(json_object_get(d, key));

	return s && hwloc_bitmap_list_sscanf(set, s) == 0 ? 0 : -EINVAL;
}

/* A walk of the slot's tree: the threads listed, the CPUs pinned threads have. */
struct walk {
	json_t *tasks;
	hwloc_bitmap_t allowed, bound, set;
	pid_t *stack;
	size_t n, pushed; /* on the stack now, ever */
};

/* The children of a thread onto the stack (TOPO_MAX_THREADS in all). */
static void _children(struct walk *w, pid_t pid, pid_t tid)
{
	size_t n = w->n;

	w->n = proctree_children(pid, tid, w->stack, n, n + TOPO_MAX_THREADS - w->pushed);
	w->pushed += w->n - n;
}

/*
 * Each thread of @pid into the list; the CPUs of one pinned within the slot
 * (a mask other than the slot's whole set) into bound; its children onto the stack.
 */
static void _task(struct walk *w, pid_t pid)
{
	char path[64], nspid[32], nstid[32], cpus[4096], mems[1024];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d || _status(pid, pid, "NSpid", nspid, sizeof(nspid)))
		goto out;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid <= 0 || _status(pid, tid, "NSpid", nstid, sizeof(nstid)) ||
		    _status(pid, tid, "Cpus_allowed_list", cpus, sizeof(cpus)))
			continue;
		if (_status(pid, tid, "Mems_allowed_list", mems, sizeof(mems)))
			mems[0] = '\0';
		if (json_array_size(w->tasks) < TOPO_MAX_LISTED)
			json_array_append_new(w->tasks, json_pack("{s:I, s:I, s:s, s:s}", "pid",
								  strtoll(nspid, NULL, 10), "tid",
								  strtoll(nstid, NULL, 10), "cpus",
								  cpus, "mems", mems));
		if (hwloc_bitmap_list_sscanf(w->set, cpus) == 0 &&
		    !hwloc_bitmap_isequal(w->set, w->allowed))
			hwloc_bitmap_or(w->bound, w->bound, w->set);
		_children(w, pid, tid);
	}
out:
	if (d)
		closedir(d);
}

json_t *topo_slot(pid_t init, pid_t root)
{
	struct walk w = {.tasks = json_array(),
			 .allowed = hwloc_bitmap_alloc(),
			 .bound = hwloc_bitmap_alloc(),
			 .set = hwloc_bitmap_alloc(),
			 .stack = calloc(TOPO_MAX_THREADS + 1, sizeof(pid_t))};
	char err[256] = "", *list = NULL;
	json_t *d = NULL;

	if (!w.tasks || !w.allowed || !w.bound || !w.set || !w.stack ||
	    topo_node(init, &d, err, sizeof(err)) || _cpulist(d, "allowed", w.allowed)) {
		log_warnx("topology of the slot of pid %d: %s", init, *err ? err : "out of memory");
		goto out;
	}
	if (root > 0)
		w.stack[w.n++] = root;
	while (w.n)
		_task(&w, w.stack[--w.n]);
	if (hwloc_bitmap_list_asprintf(&list, w.bound) < 0 ||
	    json_object_set(d, "tasks", w.tasks) ||
	    json_object_set_new(d, "bound", json_string(list))) {
		log_warnx("topology of the slot of pid %d: out of memory", init);
		json_decref(d);
		d = NULL;
	}
out:
	free(list);
	free(w.stack);
	json_decref(w.tasks);
	hwloc_bitmap_free(w.allowed);
	hwloc_bitmap_free(w.bound);
	hwloc_bitmap_free(w.set);
	return d;
}

/* A topology as topo_describe wrote it, parsed and checked. */
struct shape {
	int packages, cores, pus, numa;
	size_t npu;
	int *os, *core;			    /* by logical PU */
	hwloc_bitmap_t allowed, bound, dom; /* dom: allowed | bound, the CPUs to map */
};

static void _shape_free(struct shape *s)
{
	free(s->os);
	free(s->core);
	hwloc_bitmap_free(s->allowed);
	hwloc_bitmap_free(s->bound);
	hwloc_bitmap_free(s->dom);
}

static int _shape(const json_t *d, const char *which, struct shape *s, char *err, size_t errlen)
{
	const json_t *os = json_object_get(d, "pu_os"), *core = json_object_get(d, "pu_core");
	hwloc_bitmap_t pus = hwloc_bitmap_alloc();
	int ret = -EINVAL;

	s->npu = json_array_size(os);
	s->os = calloc(s->npu + 1, sizeof(int));
	s->core = calloc(s->npu + 1, sizeof(int));
	s->allowed = hwloc_bitmap_alloc();
	s->bound = hwloc_bitmap_alloc();
	s->dom = hwloc_bitmap_alloc();
	if (!pus || !s->os || !s->core || !s->allowed || !s->bound || !s->dom) {
		hwloc_bitmap_free(pus);
		return err_set(err, errlen, -ENOMEM, "out of memory");
	}
	s->packages = (int)json_integer_value(json_object_get(d, "packages"));
	s->cores = (int)json_integer_value(json_object_get(d, "cores"));
	s->pus = (int)json_integer_value(json_object_get(d, "pus"));
	s->numa = (int)json_integer_value(json_object_get(d, "numa"));
	for (size_t i = 0; i < s->npu; i++) {
		json_int_t o = json_integer_value(json_array_get(os, i));

		s->os[i] = (int)o;
		s->core[i] = (int)json_integer_value(json_array_get(core, i));
		if (!json_is_integer(json_array_get(os, i)) || o < 0 || o >= TOPO_MAX_CPUS)
			goto out;
		hwloc_bitmap_set(pus, (unsigned)o);
	}
	if (!s->npu || json_array_size(core) != s->npu || _cpulist(d, "allowed", s->allowed))
		goto out;
	/* none: no thread was pinned */
	if (_cpulist(d, "bound", s->bound))
		hwloc_bitmap_zero(s->bound);
	hwloc_bitmap_and(s->allowed, s->allowed, pus);
	hwloc_bitmap_and(s->bound, s->bound, pus);
	hwloc_bitmap_or(s->dom, s->allowed, s->bound);
	ret = 0;
out:
	hwloc_bitmap_free(pus);
	if (ret)
		err_set(err, errlen, ret, "bad %s topology", which);
	return ret;
}

/* Same machine shape, and every CPU to map has its logical PU usable here. */
static int _same_shape(const struct shape *o, const struct shape *c)
{
	if (o->packages != c->packages || o->cores != c->cores || o->pus != c->pus ||
	    o->numa != c->numa || o->npu != c->npu ||
	    memcmp(o->core, c->core, o->npu * sizeof(int)))
		return 0;
	for (size_t i = 0; i < o->npu; i++)
		if (hwloc_bitmap_isset(o->dom, (unsigned)o->os[i]) &&
		    !hwloc_bitmap_isset(c->allowed, (unsigned)c->os[i]))
			return 0;
	return 1;
}

/* The first free target at or after @want, in logical order, wrapping; -1 when none. */
static int _free_from(const char *taken, int nt, int want)
{
	for (int k = 0; k < nt; k++)
		if (!taken[(want + k) % nt])
			return (want + k) % nt;
	return -1;
}

/*
 * The nearest equivalent (topo.h): targets t[] are the usable PUs here in
 * logical order, grouped by core (first[], cnt[]); the bound CPUs are placed
 * first, each on a distinct target, then the slot's other CPUs.
 */
static void _map_nearest(const struct shape *o, const struct shape *c, const int *t, int nt,
			 const int *first, const int *cnt, int ntc, char *taken, int *map)
{
	for (int pass = 0; ntc > 0 && pass < 2; pass++) {
		int r = -1, s = 0, prev = -1;

		for (size_t i = 0; i < o->npu; i++) {
			unsigned cpu = (unsigned)o->os[i];
			int k, want, got;

			if (!hwloc_bitmap_isset(o->dom, cpu))
				continue;
			s = o->core[i] == prev ? s + 1 : 0;
			r += o->core[i] != prev;
			prev = o->core[i];
			if (hwloc_bitmap_isset(o->bound, cpu) != !pass)
				continue;
			k = r % ntc;
			want = first[k] + (cnt[k] > 0 ? s % cnt[k] : 0);
			got = _free_from(taken, nt, want);
			/* none free: only a CPU no task was bound to shares one */
			got = got < 0 ? want : got;
			taken[got] = 1;
			map[cpu] = c->os[t[got]];
		}
	}
}

/* The usable PUs here (t[], logical order) and their cores (first[], cnt[]); ntc cores. */
static int _targets(const struct shape *c, int *t, int *first, int *cnt)
{
	int nt = 0, ntc = 0;

	for (size_t i = 0; i < c->npu; i++) {
		if (!hwloc_bitmap_isset(c->allowed, (unsigned)c->os[i]))
			continue;
		if (!nt || c->core[t[nt - 1]] != c->core[i]) {
			first[ntc] = nt;
			cnt[ntc++] = 0;
		}
		cnt[ntc - 1]++;
		t[nt++] = (int)i;
	}
	return ntc;
}

static int _refuse(const struct shape *o, const struct shape *c, const char *node, char *err,
		   size_t errlen)
{
	char *b = NULL, *a = NULL;

	hwloc_bitmap_list_asprintf(&b, o->bound);
	hwloc_bitmap_list_asprintf(&a, c->allowed);
	err_set(err, errlen, -ENOSPC,
		"node %s cannot hold the slot: its pinned threads were bound to %d CPUs (%s) on a "
		"node "
		"of %d packages, %d cores, %d PUs; here the slot may use %d CPUs (%s) of %d "
		"packages, %d cores, %d PUs",
		node, hwloc_bitmap_weight(o->bound), b ? b : "?", o->packages, o->cores, o->pus,
		hwloc_bitmap_weight(c->allowed), a ? a : "?", c->packages, c->cores, c->pus);
	free(b);
	free(a);
	return -ENOSPC;
}

/* *map over old OS indices (-1: not the slot's), filled by logical index or nearest. */
static int _fill_map(const struct shape *o, const struct shape *c, int *map, size_t *n)
{
	int *t = calloc(3 * c->npu + 1, sizeof(int)), nt, ntc;
	char *taken = calloc(c->npu + 1, 1);

	if (!t || !taken) {
		free(t);
		free(taken);
		return -ENOMEM;
	}
	*n = 0;
	for (size_t i = 0; i < o->npu; i++)
		if (hwloc_bitmap_isset(o->dom, (unsigned)o->os[i]) && (size_t)o->os[i] >= *n)
			*n = (size_t)o->os[i] + 1;
	for (size_t i = 0; i < *n; i++)
		map[i] = -1;
	if (_same_shape(o, c)) {
		for (size_t i = 0; i < o->npu; i++)
			if (hwloc_bitmap_isset(o->dom, (unsigned)o->os[i]))
				map[o->os[i]] = c->os[i];
	} else {
		ntc = _targets(c, t, t + c->npu, t + 2 * c->npu);
		nt = hwloc_bitmap_weight(c->allowed);
		_map_nearest(o, c, t, nt, t + c->npu, t + 2 * c->npu, ntc, taken, map);
	}
	free(t);
	free(taken);
	return 0;
}

int topo_cpumap(const json_t *old, const json_t *cur, const char *node, int **map, size_t *n,
		int **all, size_t *nall, char *err, size_t errlen)
{
	struct shape o = {0}, c = {0};
	int ret, k = 0;

	*map = *all = NULL;
	*n = *nall = 0;
	ret = _shape(old, "checkpoint's", &o, err, errlen);
	if (!ret)
		ret = _shape(cur, "node's", &c, err, errlen);
	if (ret)
		goto out;
	if (hwloc_bitmap_iszero(c.allowed) ||
	    hwloc_bitmap_weight(c.allowed) < hwloc_bitmap_weight(o.bound)) {
		ret = _refuse(&o, &c, node, err, errlen);
		goto out;
	}
	*map = calloc(TOPO_MAX_CPUS, sizeof(int));
	*all = calloc((size_t)hwloc_bitmap_weight(c.allowed), sizeof(int));
	ret = *map && *all ? _fill_map(&o, &c, *map, n) : -ENOMEM;
	if (ret) {
		err_set(err, errlen, ret, "out of memory");
		goto out;
	}
	for (int cpu = hwloc_bitmap_first(c.allowed); cpu >= 0;
	     cpu = hwloc_bitmap_next(c.allowed, cpu))
		(*all)[k++] = cpu;
	*nall = (size_t)k;
out:
	if (ret) {
		free(*map);
		free(*all);
		*map = *all = NULL;
	}
	_shape_free(&o);
	_shape_free(&c);
	return ret;
}

static json_t *_ints(const int *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

int topo_restore_args(const json_t *saved, pid_t init, const char *node, json_t *req, char *err,
		      size_t errlen)
{
	int *map = NULL, *all = NULL, ret;
	size_t n, nall;
	json_t *cur;

	if (!json_is_object(saved) || !json_array_size(json_object_get(saved, "tasks")))
		return 0;
	ret = topo_node(init, &cur, err, errlen);
	if (ret)
		return ret;
	ret = topo_cpumap(saved, cur, node, &map, &n, &all, &nall, err, errlen);
	json_decref(cur);
	if (!ret && (json_object_set_new(req, "cpumap", _ints(map, n)) ||
		     json_object_set_new(req, "cpuall", _ints(all, nall))))
		ret = err_set(err, errlen, -ENOMEM, "out of memory");
	free(map);
	free(all);
	return ret;
}

static int _args_ints(const json_t *a, int **out, size_t *n)
{
	size_t i;
	json_t *v;

	*out = NULL;
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > TOPO_MAX_CPUS)
		return -EINVAL;
	*out = calloc(json_array_size(a) + 1, sizeof(int));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < -1 ||
		    json_integer_value(v) >= TOPO_MAX_CPUS) {
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		(*out)[i] = (int)json_integer_value(v);
	}
	*n = json_array_size(a);
	return 0;
}

int topo_args_map(const json_t *args, int **map, size_t *n, int **all, size_t *nall)
{
	int ret = _args_ints(json_object_get(args, "cpumap"), map, n);

	if (!ret)
		ret = _args_ints(json_object_get(args, "cpuall"), all, nall);
	if (ret) {
		free(*map);
		*map = NULL;
		*n = 0;
	}
	return ret;
}
