// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * timerfd: clock, settime flags (TFD_TIMER_ABSTIME, CANCEL_ON_SET), time
 * left and interval, and the ticks not yet read, in one cr_timerfd_rec.
 * timerfd_gettime() on a copy of the fd (steal_fd) first moves an expired
 * periodic timer on, counting the periods it missed into its ticks, as a
 * read would, without consuming them; fdinfo then gives clock, flags and
 * ticks. Restore: timerfd_settime, then TFD_IOC_SET_TICKS (this kernel has
 * CONFIG_CHECKPOINT_RESTORE) for the unread ticks. An absolute timer on a
 * wall clock (CLOCK_REALTIME*) keeps its absolute expiry; on any other
 * clock, whose origin another boot or node does not share, its time left.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "timerfd: "
#include "log.h"
#include "files.h"
#include "owner-act.h"

#define NSEC 1000000000LL
/* linux/timerfd.h's; that header clashes with glibc's fcntl.h */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static bool recognise_timerfd(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:[timerfd]");
}

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * NSEC + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / NSEC, .tv_nsec = ns % NSEC};
}

/* clockid, ticks and settime flags from fdinfo, after timerfd_gettime (see top). */
static int parse_timerfd(const struct fd_info *fi, struct cr_timerfd_rec *tr)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *c, *t, *f;

	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	c = strstr(s, "clockid:");
	t = strstr(s, "ticks:");
	f = strstr(s, "settime flags:");
	if (c && t && f) {
		tr->clockid = strtol(c + strlen("clockid:"), NULL, 10);
		tr->ticks = strtoull(t + strlen("ticks:"), NULL, 10);
		tr->flags = strtoul(f + strlen("settime flags:"), NULL, 8);
	} else {
		pr_err("Task %d fd %d: fdinfo shows no timerfd clock, ticks or flags\n", fi->pid,
		       fi->fd);
	}
	free(s);
	return c && t && f ? 0 : -ENOTSUP;
}

static int read_timerfd(const struct fd_info *fi, struct cr_timerfd_rec *tr)
{
	struct itimerspec its;
	struct timespec now;
	int fd = steal_fd(fi), ret = 0;

	if (fd < 0)
		return fd;
	if (timerfd_gettime(fd, &its) < 0) {
		ret = -errno;
		pr_perror("Can't read timerfd fd %d of task %d", fi->fd, fi->pid);
	}
	close(fd);
	if (!ret)
		ret = parse_timerfd(fi, tr);
	if (!ret && clock_gettime(tr->clockid, &now) < 0) {
		ret = -errno;
		pr_perror("Can't read clock %d of timerfd fd %d of task %d", tr->clockid, fi->fd,
			  fi->pid);
	}
	if (ret)
		return ret;
	tr->value_ns = ts_ns(&its.it_value);
	tr->interval_ns = ts_ns(&its.it_interval);
	tr->now_ns = ts_ns(&now);
	return 0;
}

static int check_timerfd(const struct fd_info *fi)
{
	struct cr_timerfd_rec tr = {0};

	return read_timerfd(fi, &tr);
}

static int dump_timerfd(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			struct cr_file_rec *rec)
{
	struct cr_timerfd_rec tr = {.id = rec->id};
	int ret;

	(void)ctx;
	ret = read_timerfd(fi, &tr);
	if (ret)
		return ret;
	rec->obj_id = tr.id;
	return cr_img_write(img, CR_REC_TIMERFD, &tr, sizeof(tr));
}

static int collect_timerfd(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_timerfd_rec *tr = obj->rec;
	int ret = image_check_len(img, h, sizeof(*tr), 0);

	if (!ret)
		obj->id = tr->id;
	return ret;
}

/* The it_value to arm with: absolute ones on their own clock's time now. */
static int timerfd_value(const struct cr_timerfd_rec *tr, struct timespec *value)
{
	struct timespec now;
	int64_t ns = tr->value_ns;

	if (ns && (tr->flags & TFD_TIMER_ABSTIME)) {
		if (tr->clockid == CLOCK_REALTIME || tr->clockid == CLOCK_REALTIME_ALARM) {
			ns += tr->now_ns;
		} else if (clock_gettime(tr->clockid, &now) < 0) {
			pr_perror("Can't read clock %d", tr->clockid);
			return -errno;
		} else {
			ns += ts_ns(&now);
		}
	}
	*value = ns_ts(ns);
	return 0;
}

static int arm_timerfd(int fd, const struct cr_timerfd_rec *tr)
{
	struct itimerspec its = {.it_interval = ns_ts(tr->interval_ns)};
	int ret = timerfd_value(tr, &its.it_value);

	if (ret)
		return ret;
	if (timerfd_settime(fd, tr->flags, &its, NULL) < 0) {
		pr_perror("Can't arm timerfd %llu (clock %d, flags %#x)",
			  (unsigned long long)tr->id, tr->clockid, tr->flags);
		return -errno;
	}
	if (tr->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &tr->ticks) < 0) {
		pr_perror("Can't give timerfd %llu its %llu unread ticks",
			  (unsigned long long)tr->id, (unsigned long long)tr->ticks);
		return -errno;
	}
	return 0;
}

/* The alarm clocks need CAP_WAKE_ALARM: under the owner policy, an owner's they can't be. */
static int check_clock(const struct rst_image *img, const struct cr_restore_opts *opts,
		       const struct cr_timerfd_rec *tr)
{
	int fd;
	pid_t pid;

	if (!opts || !opts->owner ||
	    (tr->clockid != CLOCK_REALTIME_ALARM && tr->clockid != CLOCK_BOOTTIME_ALARM))
		return 0;
	pid = owner_holder(img, CR_FILE_TIMERFD, tr->id, &fd);
	pr_err("Task %d fd %d: timerfd clock %s needs CAP_WAKE_ALARM, which the job's owner %u "
	       "does not have\n",
	       pid, fd,
	       tr->clockid == CLOCK_REALTIME_ALARM ? "CLOCK_REALTIME_ALARM"
						   : "CLOCK_BOOTTIME_ALARM",
	       (unsigned)opts->owner->uid);
	return -EPERM;
}

static int open_timerfd(struct rst_image *img, const struct cr_restore_opts *opts,
			const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_TIMERFD, rec->obj_id);
	const struct cr_timerfd_rec *tr = obj ? obj->rec : NULL;
	int ret;

	if (!tr) {
		pr_err("Timerfd %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	ret = check_clock(img, opts, tr);
	if (ret)
		return ret;
	*fd = timerfd_create(tr->clockid,
			     TFD_CLOEXEC | (rec->flags & O_NONBLOCK ? TFD_NONBLOCK : 0));
	if (*fd < 0) {
		pr_perror("Can't create timerfd %llu (clock %d)", (unsigned long long)tr->id,
			  tr->clockid);
		return -errno;
	}
	ret = arm_timerfd(*fd, tr);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

const struct file_ops timerfd_ops = {
	.name = "timerfd",
	.kind = CR_FILE_TIMERFD,
	.obj_type = CR_REC_TIMERFD,
	.recognise = recognise_timerfd,
	.check = check_timerfd,
	.dump = dump_timerfd,
	.collect = collect_timerfd,
	.open = open_timerfd,
};
