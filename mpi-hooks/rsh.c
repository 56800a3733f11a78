// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cr-rsh: the launch agent of MPI inside a checkpointable job (cr-rsh(1)).
 * Called as ssh would be (`cr-rsh [ssh options] HOST COMMAND...`) by
 * Open MPI's mpirun or MPICH's Hydra inside the job's container: it listens
 * on its slot's address, asks its node's crd to have HOST's slot of the job
 * start the command, and relays the command's stdio and status over the
 * TCP connection the command's relay makes back to it, a connection between
 * two slots of the job that a checkpoint carries. HOST being this slot,
 * the command just runs here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "io.h"
#include "proto.h"
#include "rsh.h"
#include "rshio.h"
#include "rshreq.h"

#define ACCEPT_TIMEOUT_MS 60000
#define CRD_TIMEOUT_S	  60

extern char **environ;

struct rsh_opts {
	const char *host, *user;
	char *cmd;
	uint32_t flags;
};

static void _usage(FILE *f)
{
	fprintf(f,
		"usage: cr-rsh [ssh options] [user@]HOST COMMAND [ARG...]\n"
		"       cr-rsh --help\n"
		"Runs COMMAND (its arguments joined by spaces, run by /bin/sh -c) in the slot of\n"
		"this checkpointable job on node HOST, as ssh would, relaying its stdin, stdout,\n"
		"stderr and exit status. ssh's options are accepted; -n reads no stdin; the\n"
		"others do nothing (forwarding, -f, -N, -M, -O, -S, -W, -w are refused).\n"
		"Exit status: the command's (128+N when killed by signal N), 255 when it could\n"
		"not be started. See cr-rsh(1).\n");
}

static int _fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int _fail(const char *fmt, ...)
{
	va_list ap;

	fputs("cr-rsh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return RSH_EXIT_FAIL;
}

/* The rest of argv joined by spaces, as ssh sends it to the remote shell. */
static char *_join(int argc, char **argv)
{
	size_t len = 1, off = 0, n;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	for (int i = 0; s && i < argc; i++) {
		if (i)
			s[off++] = ' ';
		n = strlen(argv[i]);
		memcpy(s + off, argv[i], n);
		off += n;
	}
	return s;
}

/* ssh's options (OpenSSH 9): those with an argument are read and checked, then ignored. */
static int _parse(int argc, char **argv, struct rsh_opts *o)
{
	const char *refused = "DfJLMNORSWw";
	char *end, *at;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv,
			   "+46AaCfGgKkMNnqsTtVvXxYyB:b:c:D:E:e:F:I:i:J:L:l:m:O:o:p:Q:R:S:W:w:")) !=
	       -1) {
		if (c == '?')
			return _fail("unknown option -%c (see cr-rsh --help)", optopt);
		if (strchr(refused, c))
			return _fail("option -%c is not supported: cr-rsh only runs commands", c);
		if (c == 'n')
			o->flags |= RSH_NO_STDIN;
		else if (c == 'l')
			o->user = optarg;
		else if (c == 'p' && (strtol(optarg, &end, 10) <= 0 || *end ||
				      strtol(optarg, NULL, 10) > 65535))
			return _fail("bad port \"%s\"", optarg);
		else if (c == 'V') {
			fprintf(stderr, "cr-rsh (slurm-cr)\n");
			exit(0);
		}
	}
	if (optind >= argc)
		return _fail("no host (see cr-rsh --help)");
	o->host = argv[optind++];
	at = strrchr(o->host, '@');
	if (at) {
		*at = '\0';
		o->user = o->host;
		o->host = at + 1;
	}
	if (!*o->host)
		return _fail("no host (see cr-rsh --help)");
	if (optind >= argc)
		return _fail("%s: no command: cr-rsh runs commands, not interactive logins",
			     o->host);
	o->cmd = _join(argc - optind, argv + optind);
	return o->cmd ? 0 : _fail("out of memory");
}

/* The slot's address (eth0, the job network): where the remote relay connects. */
static int _slot_addr(char *buf, size_t len)
{
	struct ifaddrs *ifa, *i;
	int ret = -ENOENT;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, "eth0")) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
				  len);
			ret = 0;
			break;
		}
	freeifaddrs(ifa);
	return ret;
}

/* Is HOST this slot (its name, localhost, its address)? */
static int _is_local(const char *host, const char *addr)
{
	char name[256] = "";

	if (!host)
		return 0;
	gethostname(name, sizeof(name) - 1);
	return !strcmp(host, name) || !strcmp(host, "localhost") || !strcmp(host, "127.0.0.1") ||
	       (*addr && !strcmp(host, addr));
}

/* HOST is this slot: the command runs here, in place of cr-rsh. */
static int _run_here(const struct rsh_opts *o)
{
	int fd;

	if (o->flags & RSH_NO_STDIN) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			return _fail("/dev/null: %s", strerror(errno));
		close(fd);
	}
	execl("/bin/sh", "sh", "-c", o->cmd, (char *)NULL);
	return _fail("/bin/sh: %s", strerror(errno));
}

/* A TCP listener on the slot's address; its port into *port. */
static int _listen(const char *addr, uint32_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int _cookie(char *hex)
{
	uint8_t raw[RSH_COOKIE_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(hex + 2 * i, "%02x", raw[i]);
	return 0;
}

/*
 * crd's socket: SLURM_CR_SOCKET, which the container's init sets, else
 * SocketPath of this node's cr.conf.
 */
static void _crd_socket(char *buf, size_t len)
{
	const char *env = getenv("SLURM_CR_SOCKET");
	struct cr_conf c;
	char err[256];

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	cr_conf_defaults(&c);
	cr_conf_load(&c, CR_CONF_DEFAULT, err, sizeof(err));
	snprintf(buf, len, "%s", c.socket_path);
}

/* The request to this node's crd; 0 once HOST's crd says the command started. */
static int _ask_crd(const struct rsh_opts *o, struct rsh_req *r)
{
	static char cwd[4096]; /* r->cwd, used after we return */
	char path[108], text[1024];
	struct cr_buf b;
	uint32_t code;
	int fd, ret;

	_crd_socket(path, sizeof(path));
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	r->cwd = cwd;
	r->env = (const char **)environ;
	for (r->nenv = 0; environ[r->nenv] && r->nenv < RSH_MAX_ENV; r->nenv++)
		;
	fd = cr_unix_connect(path);
	if (fd < 0)
		return _fail("%s: cannot reach crd at %s: %s", o->host, path, strerror(-fd));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){CRD_TIMEOUT_S, 0},
		   sizeof(struct timeval));
	cr_buf_init(&b);
	rsh_req_pack(&b, r);
	ret = cr_send(fd, CR_MSG_RSH, &b, NULL, 0);
	cr_buf_free(&b);
	if (!ret)
		ret = cr_recv_reply(fd, &code, text, sizeof(text));
	close(fd);
	if (ret)
		return _fail("%s: no answer from crd: %s", o->host, strerror(-ret));
	return code ? _fail("%s", text) : 0;
}

/* The relay's connection: the first one within the deadline that brings the cookie. */
static int _accept(int lfd, const char *cookie)
{
	char got[RSH_COOKIE_LEN];
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int fd;

	while (poll(&p, 1, ACCEPT_TIMEOUT_MS) == 1) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){10, 0},
			   sizeof(struct timeval));
		if (rshio_read_all(fd, got, sizeof(got)) == 0 &&
		    !memcmp(got, cookie, sizeof(got))) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, 0},
				   sizeof(struct timeval));
			return fd;
		}
		close(fd);
	}
	return -ETIMEDOUT;
}

/* stdin out to the relay, without ever blocking on it: the relay may not be reading. */
struct pending {
	uint8_t buf[RSHIO_HDR + RSHIO_CHUNK];
	size_t len, off;
};

static int _flush(int fd, struct pending *p)
{
	ssize_t n;

	while (p->off < p->len) {
		n = send(fd, p->buf + p->off, p->len - p->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		p->off += n;
	}
	p->len = p->off = 0;
	return 0;
}

static int _read_stdin(int fd, struct pending *p, int *eof)
{
	ssize_t n = read(0, p->buf + RSHIO_HDR, RSHIO_CHUNK);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		*eof = 1;
	rshio_header(p->buf, 'i', n > 0 ? n : 0);
	p->len = RSHIO_HDR + (n > 0 ? n : 0);
	p->off = 0;
	return _flush(fd, p);
}

/* One frame from the relay; returns 1 with the exit code in *code when it is the last. */
static int _from_relay(int fd, int *code)
{
	static uint8_t buf[RSHIO_CHUNK];
	uint32_t len, st;
	uint8_t type;
	int ret = rshio_recv(fd, &type, buf, &len);

	if (ret)
		return ret;
	if (type == 'o' || type == 'e') {
		/* A reader that went away loses the rest, as with ssh. */
		io_write_all(type == 'o' ? 1 : 2, buf, len, -1);
		return 0;
	}
	if (type != 'x' || len != 4)
		return -EPROTO;
	st = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	return 1;
}

static int _relay(const struct rsh_opts *o, int fd)
{
	static struct pending p;
	int eof = !!(o->flags & RSH_NO_STDIN), code = 0, ret = 0;
	struct pollfd pfd[2];

	if (eof) {
		rshio_header(p.buf, 'i', 0);
		p.len = RSHIO_HDR;
	}
	while (ret == 0) {
		ret = _flush(fd, &p);
		if (ret)
			break;
		pfd[0] = (struct pollfd){.fd = fd, .events = POLLIN | (p.len ? POLLOUT : 0)};
		pfd[1] = (struct pollfd){.fd = eof || p.len ? -1 : 0, .events = POLLIN};
		if (poll(pfd, 2, -1) < 0) {
			ret = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			ret = _from_relay(fd, &code);
		else if (pfd[1].revents)
			ret = _read_stdin(fd, &p, &eof);
	}
	if (ret == 1)
		return code;
	return _fail("%s: lost the connection to the command: %s", o->host,
		     ret == -ECONNRESET ? "closed" : strerror(-ret));
}

static int _launch(struct rsh_opts *o, const char *addr)
{
	char cookie[RSH_COOKIE_LEN + 1];
	struct rsh_req r = {
		.host = o->host, .cmd = o->cmd, .addr = addr, .cookie = cookie, .flags = o->flags};
	int lfd, fd;

	if (!*addr)
		return _fail("%s: this process has no job network address (eth0): is it inside a "
			     "--checkpoint job?",
			     o->host);
	lfd = _listen(addr, &r.port);
	if (lfd < 0)
		return _fail("cannot listen on %s: %s", addr, strerror(-lfd));
	if (_cookie(cookie))
		return _fail("no random bytes for the cookie");
	if (_ask_crd(o, &r))
		return RSH_EXIT_FAIL;
	fd = _accept(lfd, cookie);
	close(lfd);
	if (fd < 0)
		return _fail("%s: the command started but did not connect back to %s port %u",
			     o->host, addr, r.port);
	return _relay(o, fd);
}

int main(int argc, char **argv)
{
	struct rsh_opts o = {0};
	struct passwd *pw;
	char addr[INET_ADDRSTRLEN] = "";
	int ret;

	if (argc > 1 && !strcmp(argv[1], "--slot-root"))
		slot_root_main();
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		_usage(stdout);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (_parse(argc, argv, &o))
		return RSH_EXIT_FAIL;
	pw = getpwuid(getuid());
	_slot_addr(addr, sizeof(addr));
	if (o.user && (!pw || strcmp(o.user, pw->pw_name)))
		ret = _fail("%s: cannot run as %s: commands run as the job's owner%s%s", o.host,
			    o.user, pw ? ", " : "", pw ? pw->pw_name : "");
	else if (_is_local(o.host, addr))
		ret = _run_here(&o);
	else
		ret = _launch(&o, addr);
	free(o.cmd);
	return ret;
}
