/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image: a directory holding
 *   image.cr          header record, then a stream of records
 *   pages-<pid>.img   private page data of one task, in pagemap order
 *   shmem-<id>.img    contents of one shared anonymous object
 * Every record is {type, len, xxh64(payload)} + payload; objects shared
 * between tasks (files, pipes, shared memory) are written once and referred
 * to by id. Page files are described (size, checksum) by records too.
 * Layout documented in docs/image-format.md.
 */
#ifndef CR_IMAGE_H
#define CR_IMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "img-read.h"

#define CR_IMG_MAGIC   0x31524353414d4943ULL /* "CIMASCR1" */
#define CR_IMG_VERSION 2		     /* 2: file identities (struct cr_fident) */
#define CR_IMG_NAME    "image.cr"

enum cr_rec_type {
	CR_REC_HEADER = 1,
	CR_REC_TASK,	 /* struct cr_task_rec: one process (task.c) */
	CR_REC_MM,	 /* struct cr_mm_rec + auxv (memory.c) */
	CR_REC_VMA,	 /* struct cr_vma_rec (memory.c) */
	CR_REC_PAGEMAP,	 /* struct cr_pagemap_rec + runs (memory.c) */
	CR_REC_SHMEM,	 /* struct cr_shmem_rec (shmem.c) */
	CR_REC_THREAD,	 /* struct cr_thread_rec + xsave (threads.c) */
	CR_REC_SIGACTS,	 /* struct cr_sigacts_rec (signals.c) */
	CR_REC_SIGINFO,	 /* struct cr_siginfo_rec + siginfos (signals.c) */
	CR_REC_FILE,	 /* struct cr_file_rec (files.c) */
	CR_REC_FD,	 /* struct cr_fd_rec (files.c) */
	CR_REC_PIPE,	 /* struct cr_pipe_rec + data (pipes.c) */
	CR_REC_PAGEFILE, /* struct cr_pagefile_rec: size and checksum of a data file */
	CR_REC_END,	 /* last record; its absence means a truncated image */
	CR_REC_TIMERS,	 /* struct cr_timers_rec + timers (timers.c) */
	/*
	 * Numbers set aside for kinds being written in parallel (explicit
	 * values, no renumbering): 20-29 event fds, epoll and inotify;
	 * 30-34 unix sockets; 35-39 inet sockets and the network; 40-44 IPC.
	 */
	/* struct cr_epoll_rec + targets, cr_timerfd_rec, cr_inotify_rec + watches */
	CR_REC_EPOLL = 20,
	CR_REC_TIMERFD,
	CR_REC_INOTIFY,
	/* struct cr_unix_sk_rec + queued messages (sk-unix.c) */
	CR_REC_UNIX_SK = 30,
	CR_REC_INET_SK = 35, /* struct cr_inet_sk_rec + queued data (sk-inet.c) */
	CR_REC_IPC_SHM = 40, /* struct cr_ipc_shm_rec + extents (ipc-shm.c) */
	CR_REC_IPC_SEM = 41, /* struct cr_ipc_sem_rec + values (ipc-sem.c) */
	CR_REC_IPC_MSG = 42, /* struct cr_ipc_msg_rec + messages (ipc-msg.c) */
	CR_REC_MQUEUE = 43,  /* struct cr_mqueue_rec + messages (mqueue.c) */
	/* 50-54: file locks */
	CR_REC_FLOCK = 50, /* struct cr_lock_rec (locks.c) */
	CR_REC_MAX = 64,
};

struct cr_rec_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes */
	uint64_t csum;
};

struct cr_header_rec {
	uint64_t magic;
	uint32_t version;
	uint32_t page_size;
	char arch[16];
	char kernel[65];
	uint8_t pad[7];
	uint64_t xfeatures; /* XCR0 of the dumping CPU */
	uint32_t xsave_size;
	uint32_t ntasks;
	uint64_t time_ns; /* CLOCK_REALTIME at dump */
	int32_t root_pid;
	int32_t root_sid; /* root's sid/pgid at dump: the "outside" ones */
	int32_t root_pgid;
	int32_t root_is_init; /* root was pid 1 of its pid namespace */
};

struct img_digester;

struct cr_img {
	int dirfd;
	FILE *f;	      /* writing */
	struct img_reader rd; /* reading */
	int writing;
	uint64_t off; /* of the next record, for messages */
	char path[256];
	/* writing: digests of what was written, image.cr's and data files' */
	struct img_digester *dg;
	struct cr_digests *digests;
};

int cr_img_create(struct cr_img *img, const char *dir);
/* @list: the digests to check every byte against (img-read.h); NULL: none. */
int cr_img_open(struct cr_img *img, const char *dir, const struct cr_digests *list);
void cr_img_close(struct cr_img *img);
/*
 * After the last record: image.cr's digests join the data files' and the
 * whole list moves to *out (the caller frees it with cr_digests_free).
 */
int cr_img_take_digests(struct cr_img *img, struct cr_digests **out);
/* Write one record; returns 0 or -errno. */
int cr_img_write(struct cr_img *img, uint32_t type, const void *payload, uint32_t len);
/* Write one record made of two parts (fixed struct + variable tail). */
int cr_img_write2(struct cr_img *img, uint32_t type, const void *a, uint32_t alen, const void *b,
		  uint32_t blen);
/*
 * Read the next record: *payload is malloc'ed (caller frees), verified
 * against its checksum. Returns 1 on a record, 0 at CR_REC_END, -errno on
 * error (with a message naming the file and offset).
 */
int cr_img_read(struct cr_img *img, struct cr_rec_hdr *hdr, void **payload);

/* Data files (pages-*.img, shmem-*.img): written sequentially, checksummed. */
struct cr_datafile {
	int fd;
	uint64_t size;
	void *hash; /* XXH64_state_t */
	struct img_digester *dg;
	char name[64];
};
int cr_datafile_create(struct cr_datafile *df, int dirfd, const char *name);
int cr_datafile_write(struct cr_datafile *df, const void *buf, size_t len);
/* Finish: fsync, record a CR_REC_PAGEFILE for it in @img, its digests in img->digests. */
int cr_datafile_finish(struct cr_datafile *df, struct cr_img *img);
/* Let go of what create made, on a dump that failed (nothing after finish). */
void cr_datafile_abort(struct cr_datafile *df);

struct cr_pagefile_rec {
	char name[64];
	uint64_t size;
	uint64_t csum;
};

/* ---- records, one per kind of state; the owning file in brackets ---- */

#define CR_MAX_GROUPS 64
#define CR_NRLIMITS   16
#define CR_PATH_LEN   4096

enum cr_fident_how {
	CR_FIDENT_NONE = 0, /* the path alone (/, /dev/null...) */
	CR_FIDENT_EXACT,    /* the very file: its file handle, or its inode if it has none */
	CR_FIDENT_CONTENT,  /* tmpfs, whose inodes die with it: type, size and mtime */
};
#define CR_FIDENT_COPY_OK 0x1 /* EXACT, or a copy: same type, size and mtime */
#define CR_FIDENT_WRITTEN 0x2 /* held for writing: may have grown, mtime not compared */
#define CR_HANDLE_LEN	  128 /* MAX_HANDLE_SZ */

/*
 * [fsident.c] What a recorded path led to at dump, checked at dump to be
 * the file the fd, mapping or cwd stands for and compared at restore with
 * what the path leads to then (docs/image-format.md says how).
 */
struct cr_fident {
	uint32_t how;	/* enum cr_fident_how */
	uint32_t flags; /* CR_FIDENT_* */
	uint32_t mode;	/* st_mode */
	uint32_t handle_type;
	uint32_t handle_bytes; /* 0: the filesystem gives no handle */
	uint32_t pad;
	uint64_t fs_type; /* statfs f_type */
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	uint8_t handle[CR_HANDLE_LEN];
};

/* [task.c] One process: identity, credentials, limits, fs context. */
struct cr_task_rec {
	int32_t pid, ppid, pgid, sid;
	uint32_t flags;	     /* CR_TASK_* */
	int32_t exit_status; /* zombie: wait status */
	uint32_t nthreads;
	uint32_t umask;
	int32_t pdeathsig;
	uint32_t ngroups;
	uint32_t uid[4]; /* real, effective, saved, fs */
	uint32_t gid[4];
	uint32_t groups[CR_MAX_GROUPS];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	struct {
		uint64_t cur, max;
	} rlim[CR_NRLIMITS];
	uint32_t personality;
	int32_t dumpable;
	uint32_t no_new_privs;
	uint32_t securebits;
	int32_t exit_signal; /* sent to the parent at exit (clone's exit_signal) */
	uint32_t child_subreaper;
	uint32_t pad;
	uint64_t itimer[3][4]; /* REAL, VIRTUAL, PROF: interval s/us, value s/us */
	char comm[16];
	char cwd[CR_PATH_LEN];
	char root[CR_PATH_LEN];
	struct cr_fident cwd_id, root_id;
};
#define CR_TASK_ZOMBIE	0x1
#define CR_TASK_STOPPED 0x2 /* in group stop (SIGSTOP) at checkpoint */

/* [memory.c] The mm: fields for PR_SET_MM_MAP, then auxv words. */
struct cr_mm_rec {
	int32_t pid;
	uint32_t nauxv; /* uint64_t words following the struct */
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	char exe[CR_PATH_LEN];
	struct cr_fident exe_id;
};

enum cr_vma_kind {
	CR_VMA_ANON = 1,     /* private anonymous (heap, stacks, malloc arenas) */
	CR_VMA_FILE_PRIVATE, /* private file mapping: only COW'ed pages saved */
	CR_VMA_FILE_SHARED,  /* shared file mapping: data lives in the file */
			     /* (with shmem_id: the file is that memfd/deleted object) */
	CR_VMA_SHMEM,	     /* shared anonymous: one cr_shmem_rec object */
	CR_VMA_VDSO,	     /* [vdso]: the restoring kernel's is used */
	CR_VMA_VVAR,	     /* [vvar] */
	CR_VMA_VVAR_VCLOCK,  /* [vvar_vclock] */
	CR_VMA_SYSVSHM,	     /* SysV shm: shmem_id is the shmid; O_RDONLY: SHM_RDONLY */
};

/* [memory.c] One mapping of a task. */
struct cr_vma_rec {
	int32_t pid;
	uint32_t kind;
	uint64_t start, end;
	uint64_t pgoff;
	uint32_t prot;	/* PROT_* */
	uint32_t flags; /* MAP_PRIVATE/MAP_SHARED/MAP_GROWSDOWN */
	uint64_t shmem_id;
	uint32_t file_flags; /* O_RDONLY/O_RDWR to reopen the file with */
	uint32_t madv;	     /* CR_MADV_* advice to apply again */
	char path[CR_PATH_LEN];
	struct cr_fident ident; /* file mappings without shmem_id */
};

#define CR_MADV_DONTFORK   0x1
#define CR_MADV_WIPEONFORK 0x2
#define CR_MADV_HUGEPAGE   0x4
#define CR_MADV_NOHUGEPAGE 0x8
#define CR_MADV_DONTDUMP   0x10

/* [memory.c] The pages of a task saved in pages-<pid>.img, in this order. */
struct cr_pagemap_rec {
	int32_t pid;
	uint32_t nruns; /* struct cr_page_run following */
};
struct cr_page_run {
	uint64_t vaddr;
	uint64_t npages;
};

enum cr_shmem_kind {
	CR_SHMEM_ANON = 1, /* MAP_SHARED|MAP_ANONYMOUS memory ("/dev/zero (deleted)") */
	CR_SHMEM_MEMFD,	   /* memfd_create(): path is its name */
	CR_SHMEM_DELETED,  /* an unlinked file still open or mapped: path was its name */
};

/*
 * [shmem.c] A file-like object whose contents live in the image, saved whole
 * in shmem-<id>.img once, whoever maps or opens it.
 */
struct cr_shmem_rec {
	uint64_t id; /* numbered from 1 in this image */
	uint64_t size;
	uint32_t kind; /* enum cr_shmem_kind */
	uint32_t mode;
	uint32_t seals;	   /* memfd: F_GET_SEALS (F_SEAL_SEAL alone: sealing not allowed) */
	uint32_t nextents; /* struct cr_extent following: the data; the rest is holes */
	uint64_t dev, ino; /* at dump, for messages */
	char path[CR_PATH_LEN];
};
struct cr_extent {
	uint64_t off, len;
};

/* [threads.c] One thread: registers, FPU/xsave, per-thread kernel state. */
struct cr_thread_rec {
	int32_t pid, tid;
	uint64_t regs[27]; /* struct user_regs_struct, syscall restart applied */
	uint64_t sigmask;
	uint64_t clear_child_tid;
	uint64_t robust_head, robust_len;
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	uint64_t altstack_sp, altstack_size;
	int32_t altstack_flags;
	uint32_t xsave_size; /* bytes following the struct */
	char comm[16];
	uint64_t cpumask[16]; /* CPU affinity, 1024 CPUs */
};

/* [timers.c] POSIX timers of a process, re-created with their ids. */
struct cr_timer {
	int32_t id;
	int32_t clockid;
	int32_t signo;
	int32_t notify; /* SIGEV_* (with SIGEV_THREAD_ID) */
	int32_t tid;
	int32_t pad;
	uint64_t sival;
	int64_t its[4]; /* interval s/ns, value (time left) s/ns */
};
struct cr_timers_rec {
	int32_t pid;
	uint32_t ntimers; /* struct cr_timer following */
};

/* [signals.c] Signal dispositions of a process (kernel struct sigaction). */
struct cr_ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};
struct cr_sigacts_rec {
	int32_t pid;
	uint32_t pad;
	struct cr_ksigaction act[64]; /* act[sig - 1] */
};

/* [signals.c] Pending signals: tid 0 is the process-wide (shared) queue. */
struct cr_siginfo_rec {
	int32_t pid, tid;
	uint32_t nsig; /* 128-byte siginfos following */
	uint32_t pad;
};

/*
 * Kinds of open file. Set aside (explicit values, written in parallel): 6 unix
 * sockets; 7-9 inet sockets; 10-19 event fds, epoll, inotify, pidfd; 20-23
 * IPC (POSIX mqueue). At most 63: --skip file:KIND keeps one bit per kind.
 */
enum cr_file_kind {
	CR_FILE_REG = 1, /* reopened by path: regular files, dirs, /dev/null... */
	CR_FILE_PIPE,	 /* one end of a pipe: obj_id is the pipe's inode */
	CR_FILE_SHMEM,	 /* a memfd or deleted file: obj_id is its cr_shmem_rec */
	CR_FILE_FIFO,	 /* a named FIFO reopened by path: obj_id is its inode */
	CR_FILE_INHERIT, /* stands for an fd the restarter provides: path is the key */
	/* a unix socket: obj_id is its cr_unix_sk_rec (inode) */
	CR_FILE_UNIX_SK = 6,
	CR_FILE_TCP = 7, /* a TCP socket: obj_id is its cr_inet_sk_rec */
	CR_FILE_UDP = 8, /* a UDP socket: obj_id is its cr_inet_sk_rec */
	/*
	 * eventfd: pos is the counter, size 1 if EFD_SEMAPHORE; signalfd: size
	 * is the mask (bit sig - 1); epoll, timerfd, inotify: obj_id is their
	 * record's (the cr_file_rec's id).
	 */
	CR_FILE_EVENTFD = 10,
	CR_FILE_EPOLL,
	CR_FILE_SIGNALFD,
	CR_FILE_TIMERFD,
	CR_FILE_INOTIFY,
	CR_FILE_PIDFD = 15,  /* a pidfd: obj_id is its task's pid in the image (pidfd.c) */
	CR_FILE_MQUEUE = 20, /* a POSIX message queue: obj_id is its cr_mqueue_rec */
};

/* [files.c] An open file description, shared by every fd that refers to it. */
struct cr_file_rec {
	uint32_t id;
	uint32_t kind;
	uint32_t flags; /* O_* status flags, access mode included */
	uint32_t mode;	/* st_mode */
	uint64_t pos;
	uint64_t obj_id;
	uint64_t size; /* regular files: size at dump */
	char path[CR_PATH_LEN];
	struct cr_fident ident; /* CR_FILE_REG */
};

/* [files.c] One descriptor of a task. */
struct cr_fd_rec {
	int32_t pid;
	int32_t fd;
	uint32_t file_id;
	uint32_t cloexec;
};

/* [pipes.c] A pipe: its buffer size and the bytes queued in it. */
struct cr_pipe_rec {
	uint64_t id;	/* inode */
	uint32_t size;	/* F_GETPIPE_SZ */
	uint32_t ndata; /* bytes following */
	uint32_t fifo;	/* a named FIFO at path, not an anonymous pipe */
	uint32_t pad;
	char path[CR_PATH_LEN];
};

/*
 * [sk-unix.c] A unix socket, written once (by inode), whoever holds it;
 * pending connections of a listener too (listener != 0, held by no fd).
 */
struct cr_unix_sk_rec {
	uint64_t ino;
	uint64_t peer;	   /* inode of the peer, 0: none or closed */
	uint64_t listener; /* a pending connection: the listener's inode */
	uint32_t type;	   /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint32_t state;	   /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE (sock_diag) */
	uint32_t shutdown; /* 1 receive, 2 send shut down */
	uint32_t backlog;  /* listener */
	uint32_t sndbuf, rcvbuf;
	uint32_t passcred;
	uint32_t namelen; /* bytes of name; 0: unbound; name[0] == 0: abstract */
	uint32_t nmsgs;	  /* messages queued to read, in ndata bytes following: */
	uint32_t ndata;	  /* each a uint32_t length, then its bytes */
	char name[108];
	/*
	 * uint32_t words after the messages (the struct's old tail padding: 0 in
	 * older images): for each message with fds in flight (SCM_RIGHTS), in
	 * queue order, its index, its count of fds, then their cr_file_rec ids.
	 */
	uint32_t nfdwords;
};

/*
 * [epoll.c] An epoll instance and its registrations, added again in task
 * pid at restore, where efd is this instance (file_ops.install).
 */
struct cr_epoll_rec {
	uint64_t id;	/* the cr_file_rec's id */
	int32_t pid;	/* the task that dumped it */
	int32_t efd;	/* its fd there */
	uint32_t ntfds; /* struct cr_epoll_tfd following */
	uint32_t pad;
};
struct cr_epoll_tfd {
	int32_t tfd;	 /* the number it was registered under */
	int32_t holder;	 /* an fd of task pid holding the target's file (tfd if open there) */
	uint32_t events; /* EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE... included */
	uint32_t pad;
	uint64_t data;
};

/* [timerfd.c] A timerfd: clock, flags, time left, interval, unread ticks. */
struct cr_timerfd_rec {
	uint64_t id; /* the cr_file_rec's id */
	int32_t clockid;
	uint32_t flags;	  /* TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET */
	uint64_t ticks;	  /* expirations not yet read */
	int64_t value_ns; /* time left; 0: disarmed */
	int64_t interval_ns;
	int64_t now_ns; /* clockid's time at dump */
};

/* [inotify.c] An inotify instance: its watches, in wd order. */
struct cr_inotify_rec {
	uint64_t id;	   /* the cr_file_rec's id */
	uint32_t nwatches; /* struct cr_inotify_watch following */
	uint32_t pad;
};
struct cr_inotify_watch {
	int32_t wd;
	uint32_t mask; /* IN_* as inotify_add_watch takes them */
	char path[CR_PATH_LEN];
};

/* [sk-inet.c] Socket options kept as ints, in this order (sk-inet.c's table). */
#define CR_INET_NOPTS	  24
#define CR_INET_BOUND	  0x1 /* bound to src (a port was given or picked) */
#define CR_INET_CONNECTED 0x2 /* connected to dst */
#define CR_TCPOPT_SACK	  0x1 /* TCP_REPAIR_OPTIONS of an established connection */
#define CR_TCPOPT_TSTAMP  0x2
#define CR_TCPOPT_WSCALE  0x4

/*
 * [sk-inet.c] A TCP or UDP socket, once (id: its inode). An established TCP
 * connection carries what TCP_REPAIR gives back: sequence numbers, options,
 * window, and nsnd bytes of send queue (unacked and unsent) then nrcv of
 * receive queue following the struct. UDP datagrams queued are not kept.
 */
struct cr_inet_sk_rec {
	uint64_t id;
	uint32_t family;	  /* AF_INET, AF_INET6 */
	uint32_t type;		  /* SOCK_STREAM (tcp), SOCK_DGRAM (udp) */
	uint32_t state;		  /* TCP: TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE; UDP: 0 */
	uint32_t flags;		  /* CR_INET_* */
	uint8_t src[28], dst[28]; /* struct sockaddr_in or _in6 */
	uint32_t srclen, dstlen;
	uint32_t backlog;  /* listen() */
	uint32_t opt_mask; /* bit i: opts[i] was read */
	int32_t opts[CR_INET_NOPTS];
	uint32_t snd_seq, rcv_seq;		       /* TCP_QUEUE_SEQ: write_seq, rcv_nxt */
	uint32_t mss, snd_wscale, rcv_wscale, tcpopts; /* CR_TCPOPT_* */
	uint32_t timestamp;			       /* TCP_TIMESTAMP */
	uint32_t window[5];			       /* struct tcp_repair_window */
	uint32_t nsnd, nrcv;
};

/* [ipc-*.c] What every SysV IPC object has; made again with its id. */
struct cr_ipc_perm {
	int32_t id;
	int32_t key; /* IPC_PRIVATE (0) for a segment marked removed */
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode; /* low 9 bits: permissions; shm: SHM_DEST (marked removed) */
	uint32_t pad;
};

/* [ipc-shm.c] A SysV shm segment; its non-zero pages in sysvshm-<id>.img. */
struct cr_ipc_shm_rec {
	struct cr_ipc_perm perm;
	uint64_t size;
	uint32_t nextents; /* struct cr_extent following, in page units of bytes */
	uint32_t pad;
};

/* [ipc-sem.c] A SysV semaphore set: its values (uint16_t each follow). */
struct cr_ipc_sem_rec {
	struct cr_ipc_perm perm;
	uint32_t nsems;
	uint32_t pad;
};

/* [ipc-msg.c] A SysV message queue: nmsgs messages follow, in queue order. */
struct cr_ipc_msg_rec {
	struct cr_ipc_perm perm;
	uint64_t qbytes;
	uint32_t nmsgs; /* each a struct cr_ipc_msg + its body, padded to 8 bytes */
	uint32_t pad;
};
struct cr_ipc_msg {
	int64_t mtype;
	uint32_t len;
	uint32_t pad;
};

/*
 * [mqueue.c] A POSIX message queue (id: its inode), once, whoever holds it:
 * nmsgs messages follow in receive order (priority, then age), each a
 * struct cr_mq_msg + its body, in ndata bytes in all.
 */
struct cr_mqueue_rec {
	uint64_t id;
	int64_t maxmsg, msgsize; /* mq_attr */
	uint32_t mode, uid, gid;
	uint32_t unlinked; /* open but no longer named: made, then unlinked again */
	uint32_t nmsgs, ndata;
	char name[256]; /* without the leading '/' */
};
struct cr_mq_msg {
	uint32_t prio;
	uint32_t len;
};

enum cr_lock_kind {
	CR_LOCK_FLOCK = 1, /* flock(): the open file's */
	CR_LOCK_POSIX,	   /* fcntl F_SETLK: the process's */
	CR_LOCK_OFD,	   /* fcntl F_OFD_SETLK: the open file's */
};

/*
 * [locks.c] One file lock, taken again at restore by task pid through its
 * fd fd, which refers to open file file_id.
 */
struct cr_lock_rec {
	int32_t pid;
	int32_t fd;
	uint32_t file_id;
	uint32_t kind; /* enum cr_lock_kind */
	uint32_t type; /* F_RDLCK, F_WRLCK (flock: LOCK_SH, LOCK_EX) */
	uint32_t pad;
	uint64_t start;
	uint64_t len; /* 0: to the end of the file, however long it grows */
};

/* 0 if record @h is @fixed + @tail bytes long, else -EBADMSG, logged. */
int image_check_len(const struct cr_img *img, const struct cr_rec_hdr *h, size_t fixed,
		    size_t tail);

#endif /* CR_IMAGE_H */
