// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX timers: read from /proc/PID/timers with the time left asked from
 * inside the task; re-created by the restorer with the same ids
 * (PR_TIMER_CREATE_RESTORE_IDS) and armed with the time they had left.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#undef LOG_PREFIX
#define LOG_PREFIX "timers: "
#include "internal.h"
#include "log.h"
#include "timers.h"

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

static int parse_notify(const char *v, struct cr_timer *t)
{
	char how[16];
	int id;

	if (sscanf(v, "%15[^/]/%*[^.].%d", how, &id) != 2)
		return -EINVAL;
	if (!strcmp(how, "signal"))
		t->notify = SIGEV_SIGNAL;
	else if (!strcmp(how, "thread")) {
		t->notify = SIGEV_SIGNAL | SIGEV_THREAD_ID;
		t->tid = id;
	} else if (!strcmp(how, "none"))
		t->notify = SIGEV_NONE;
	else
		return -EINVAL;
	return 0;
}

static int parse_timers(pid_t pid, char *s, struct cr_timer **out, uint32_t *n)
{
	char *line, *save = NULL;
	struct cr_timer *t = NULL, *cur = NULL;
	int ret = 0;

	*n = 0;
	for (line = strtok_r(s, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long sival;

		if (!strncmp(line, "ID: ", 4)) {
			cur = realloc(t, (*n + 1) * sizeof(*t));
			if (!cur) {
				ret = -ENOMEM;
				break;
			}
			t = cur;
			cur = &t[(*n)++];
			memset(cur, 0, sizeof(*cur));
			cur->id = atoi(line + 4);
		} else if (cur && !strncmp(line, "signal: ", 8)) {
			if (sscanf(line + 8, "%d/%llx", &cur->signo, &sival) != 2)
				ret = -EINVAL;
			cur->sival = sival;
		} else if (cur && !strncmp(line, "notify: ", 8)) {
			ret = parse_notify(line + 8, cur);
		} else if (cur && !strncmp(line, "ClockID: ", 9)) {
			cur->clockid = atoi(line + 9);
		}
	}
	if (ret) {
		pr_err("Can't parse the POSIX timers of task %d\n", pid);
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

int dump_timers(struct cr_img *img, struct cr_task *t)
{
	struct cr_timers_rec rec = {.pid = t->ns_pid};
	char *s = proc_read_file("/proc/%d/timers", t->pid);
	struct cr_timer *timers = NULL;
	uint64_t ip;
	int ret;

	if (!s)
		return 0;
	ret = parse_timers(t->pid, s, &timers, &rec.ntimers);
	free(s);
	if (ret || !rec.ntimers)
		return ret;
	ip = t->inject_ip;
	for (uint32_t i = 0; i < rec.ntimers && !ret; i++) {
		long args[6] = {timers[i].id}, sret;

		ret = infect_syscall_out(t->pid, ip, SYS_timer_gettime, args, 1, timers[i].its,
					 sizeof(timers[i].its), &sret);
		if (!ret && sret < 0) {
			pr_err("Task %d: can't read timer %d (%ld)\n", t->pid, timers[i].id, sret);
			ret = (int)sret;
		}
	}
	/* a thread target is named as we see it: the tree knows it by its own id */
	for (uint32_t i = 0; i < rec.ntimers; i++)
		for (size_t k = 0; timers[i].tid && k < t->nthreads; k++)
			if (t->threads[k].tid == timers[i].tid) {
				timers[i].tid = t->threads[k].ns_tid;
				break;
			}
	if (!ret)
		ret = cr_img_write2(img, CR_REC_TIMERS, &rec, sizeof(rec), timers,
				    rec.ntimers * sizeof(*timers));
	free(timers);
	return ret;
}

/* ---- restore ---- */

/* The task's timers, for the restorer to create with their ids. */
int fill_timers(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
		struct arg_area *a)
{
	size_t len;
	void *p;

	if (!t->timers || !t->timers->ntimers || (img->skip & RST_SKIP_TIMERS))
		return 0;
	len = t->timers->ntimers * sizeof(struct cr_timer);
	p = area_take(a, len, 8);
	if (!p)
		return -ENOSPC;
	memcpy(p, t->timers + 1, len);
	rt->timers = (uint64_t)p;
	rt->ntimers = t->timers->ntimers;
	return 0;
}
