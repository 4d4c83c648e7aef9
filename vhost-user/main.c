/*
 * main.c - pvscsi-vhost-user: a vhost-user-scsi back-end for QEMU's
 * vhost-user-scsi-pci, serving LUNs of the pvscsi LUN core.
 *
 * One thread: an epoll loop over the vhost-user listening socket and its
 * one connection, the queues' kick eventfds, the worker's fd, the control
 * socket and a signalfd.  Follows the back-end program conventions of
 * QEMU's docs/interop/vhost-user.rst: --socket-path / --fd,
 * --print-capabilities, no daemonizing, log on stderr, SIGTERM ends it.
 * See docs/vhost-user.md.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "pvscsi/lun.h"
#include "vscsi.h"
#include "vu_dev.h"
#include "log.h"
#include "vu_mem.h"

enum { TAG_LISTEN = 1, TAG_CONN, TAG_CTL, TAG_SIGNAL, TAG_WORKER, TAG_KICK = 0x100 };

/* A socket this process bound, so that it removes only its own at exit. */
struct bound {
	const char *path;
	dev_t dev;
	ino_t ino;
};

struct app {
	int ep;
	int listen_fd;
	int conn_fd;
	int ctl_fd;
	int sig_fd;
	struct bound listen_at, ctl_at;
	struct pvs_worker *w;
	struct vscsi *vs;
	struct vu_dev *dev;
	const char *socket_path;
	const char *ctl_path;
	bool once; /* --fd: the one connection is all there is */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: pvscsi-vhost-user --socket-path=PATH [options]\n"
	    "       pvscsi-vhost-user --fd=N [options]   (N: an inherited, connected unix socket)\n"
	    "       pvscsi-vhost-user --print-capabilities\n"
	    "       pvscsi-vhost-user ctl CTL-SOCKET COMMAND [ARGS]\n"
	    "options:\n"
	    "  --lun T:L=SPEC      a LUN (repeatable); SPEC: file:PATH[,ro][,bs=N] | mem:SIZE |\n"
	    "                      sg:/dev/sgN[,raw]\n"
	    "  --config FILE       'lun T:L SPEC' lines\n"
	    "  --ctl-socket PATH   control socket (add/remove/resize/list/stats)\n"
	    "  --num-queues N      request queues offered (1..16, default 16)\n"
	    "  --verbose           one line per vhost-user message\n"
	    "control commands: add T:L SPEC | remove T:L | resize T:L | list | stats\n"
	    "A socket path may name nothing yet or a stale socket; anything else is refused.\n"
	    "Exit status: 0 stopped by a signal or --fd closed; 1 failure; 2 bad command line.\n");
}

static int epoll_set(struct app *a, int op, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(a->ep, op, fd, &ev);
}

static void on_kick_fd(void *arg, unsigned int q, int fd)
{
	struct app *a = arg;

	/* The old fd was closed, which took it out of the epoll set. */
	if (fd >= 0 && epoll_set(a, EPOLL_CTL_ADD, fd, TAG_KICK + q) < 0)
		plog(LOG_ERR, "queue %u: epoll: %s", q, strerror(errno));
}

/* One line for a bad command line; the exit status of a usage error. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("pvscsi-vhost-user: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* Decimal digits only (no sign, blank or 0x that strtoul would take), at most @max. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && errno == 0 && *out <= max;
}

/*
 * --fd: the front-end's end must already be a connected unix stream
 * socket.  Anything else (a number that is not an fd, a file, a listening
 * socket) would be taken as a front-end that never speaks.  0 or an exit
 * status.
 */
static int check_fd_arg(const char *arg, int *out)
{
	static const char accepted[] = "expected the number of an inherited, connected unix stream "
	                               "socket";
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	unsigned long v;
	struct stat st;
	int domain = 0, type = 0;
	socklen_t ilen = sizeof(int);

	if (!parse_uint(arg, INT_MAX, &v))
		return bad_usage("--fd '%s': not a decimal number; %s", arg, accepted);
	if (fstat((int)v, &st) < 0)
		return bad_usage("--fd %lu: not an open file descriptor (%s); %s", v,
		                 strerror(errno), accepted);
	if (!S_ISSOCK(st.st_mode))
		return bad_usage("--fd %lu: a %s, not a socket; %s", v, vu_file_kind(st.st_mode),
		                 accepted);
	if (getsockopt((int)v, SOL_SOCKET, SO_DOMAIN, &domain, &ilen) < 0 || domain != AF_UNIX ||
	    getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &ilen) < 0 || type != SOCK_STREAM)
		return bad_usage("--fd %lu: a socket, but not a unix stream socket; %s", v,
		                 accepted);
	if (getpeername((int)v, (struct sockaddr *)&peer, &len) < 0)
		return bad_usage("--fd %lu: a unix socket that is not connected (%s); %s", v,
		                 strerror(errno), accepted);
	*out = (int)v;
	return 0;
}

/*
 * Make @path free for bind() without destroying anything.  Nothing there:
 * fine.  A socket nobody listens on (an instance that died; connect() says
 * ECONNREFUSED): removed.  A socket something answers on: another instance
 * serves it, and taking it over would cut its front-end off.  Anything
 * else, a symbolic link included, is not ours to delete.  0 or an exit
 * status, with one line saying why.
 */
static int free_path(const char *opt, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc, e;

	if (!*path)
		return bad_usage("%s '': expected a path", opt);
	if (strlen(path) >= sizeof(sa.sun_path))
		return bad_usage("%s '%s': %zu bytes long; a unix socket path has at most %zu", opt,
		                 path, strlen(path), sizeof(sa.sun_path) - 1);
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "pvscsi-vhost-user: %s %s: %s\n", opt, path, strerror(errno));
		return 1;
	}
	if (!S_ISSOCK(st.st_mode))
		return bad_usage("%s %s: exists and is a %s, not a socket: refusing to replace it "
		                 "(expected a new path or a stale socket)",
		                 opt, path, vu_file_kind(st.st_mode));
	strcpy(sa.sun_path, path);
	/* Non-blocking: a live listener with a full backlog answers EAGAIN instead of waiting. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "pvscsi-vhost-user: %s %s: socket: %s\n", opt, path,
		        strerror(errno));
		return 1;
	}
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS || e == EPROTOTYPE) {
		fprintf(stderr,
		        "pvscsi-vhost-user: %s %s: another process is listening on this socket "
		        "(another pvscsi-vhost-user?): refusing to take it over\n",
		        opt, path);
		return 1;
	}
	if (e != ECONNREFUSED) {
		fprintf(stderr,
		        "pvscsi-vhost-user: %s %s: cannot tell whether this socket is in use (%s): "
		        "leaving it\n",
		        opt, path, strerror(e));
		return 1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "pvscsi-vhost-user: %s %s: removing the stale socket: %s\n", opt,
		        path, strerror(errno));
		return 1;
	}
	plog(LOG_INFO, "%s: removed a stale socket nobody listened on", path);
	return 0;
}

/* Listen on @path (see free_path()); the fd, or -(exit status). */
static int listen_unix(const char *opt, const char *path, struct bound *b)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc = free_path(opt, path);

	if (rc)
		return -rc;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* bind() never replaces: a path taken since free_path() fails with EADDRINUSE. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		fprintf(stderr, "pvscsi-vhost-user: %s %s: %s\n", opt, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		b->path = path;
		b->dev = st.st_dev;
		b->ino = st.st_ino;
	}
	return fd;
}

/* Remove the socket at b->path only if it is still the one this process bound. */
static void unlink_bound(const struct bound *b)
{
	struct stat st;

	if (b->path && lstat(b->path, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino)
		unlink(b->path);
}

static void connect_dev(struct app *a, int fd)
{
	struct timeval tv = {5, 0};

	/* A front-end that stops in the middle of a message must not hang the back-end. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (vu_dev_new(fd, vscsi_dev_ops(a->vs), a->vs, &a->dev)) {
		close(fd);
		return;
	}
	vscsi_attach(a->vs, a->dev);
	a->conn_fd = fd;
	epoll_set(a, EPOLL_CTL_ADD, fd, TAG_CONN);
	plog(LOG_INFO, "front-end connected");
}

static void disconnect_dev(struct app *a, int why)
{
	if (!a->dev)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, a->conn_fd, NULL);
	/* Drains every queue, then unmaps guest memory and closes the fds. */
	vu_dev_free(a->dev);
	vscsi_attach(a->vs, NULL);
	a->dev = NULL;
	a->conn_fd = -1;
	plog(LOG_INFO, "front-end disconnected (%s)", strerror(-why));
}

static void handle_ctl(struct app *a)
{
	char line[1024], out[16384];
	struct timeval tv = {2, 0};
	ssize_t n;
	size_t got = 0;
	int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < sizeof(line) - 1 && (n = read(fd, line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;
	vuctl_exec(a->vs, a->w, line, out, sizeof(out));
	if (write(fd, out, strlen(out)) < 0)
		plog(LOG_ERR, "control socket: %s", strerror(errno));
	close(fd);
}

static int run(struct app *a)
{
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(a->ep, ev, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			int rc;

			switch (tag) {
			case TAG_LISTEN: {
				int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					break;
				if (a->dev) {
					/* One front-end at a time. */
					plog(LOG_ERR, "second front-end refused");
					close(fd);
					break;
				}
				connect_dev(a, fd);
				break;
			}
			case TAG_CONN:
				if (!a->dev)
					break;
				rc = vu_dev_handle(a->dev);
				if (rc) {
					disconnect_dev(a, rc);
					if (a->once)
						return 0;
				}
				break;
			case TAG_CTL:
				handle_ctl(a);
				break;
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(a->sig_fd, &si, sizeof(si)) == sizeof(si))
					plog(LOG_INFO, "signal %u: exiting", si.ssi_signo);
				return 0;
			}
			case TAG_WORKER:
				pvs_worker_poll(a->w);
				vscsi_flush(a->vs);
				break;
			default:
				if (tag >= TAG_KICK && a->dev) {
					vu_dev_kick_ack(a->dev, (unsigned int)(tag - TAG_KICK));
					vscsi_kick(a->vs, (unsigned int)(tag - TAG_KICK));
				}
				break;
			}
		}
	}
}

/* pvscsi-vhost-user ctl SOCKET WORDS...: send one command, print the reply. */
static int ctl_client(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[1024] = "", buf[4096];
	ssize_t n;
	int fd, failed = 0;

	if (argc < 4) {
		usage(stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
		strncat(line, i + 1 < argc ? " " : "\n", sizeof(line) - strlen(line) - 1);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "pvscsi-vhost-user: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (write(fd, line, strlen(line)) < 0)
		return 1;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		if (strstr(buf, "error: "))
			failed = 1;
		fputs(buf, stdout);
	}
	close(fd);
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket-path", required_argument, NULL, 's'},
	    {"fd", required_argument, NULL, 'f'},
	    {"print-capabilities", no_argument, NULL, 'p'},
	    {"lun", required_argument, NULL, 'l'},
	    {"config", required_argument, NULL, 'c'},
	    {"ctl-socket", required_argument, NULL, 'C'},
	    {"num-queues", required_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct app a = {.ep = -1, .listen_fd = -1, .conn_fd = -1, .ctl_fd = -1, .sig_fd = -1};
	struct vscsi_cfg cfg = {0};
	const char *luns[VSCSI_MAX_LUNS], *config = NULL;
	unsigned int nluns = 0, nq = VSCSI_MAX_REQ_QUEUES;
	const char *fd_arg = NULL;
	unsigned long v;
	int fd = -1, c, rc = 1;
	char err[512];
	sigset_t mask;

	plog_open(&(const struct plog_cfg){.ident = "pvscsi-vhost-user", .to_stderr = true});
	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return ctl_client(argc, argv);
	while ((c = getopt_long(argc, argv, "s:f:pl:c:C:q:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.socket_path = optarg;
			break;
		case 'f':
			fd_arg = optarg;
			break;
		case 'p':
			/* vhost-user.rst "Backend program conventions", vhost-user.json. */
			printf("{\n  \"type\": \"scsi\",\n  \"features\": []\n}\n");
			return 0;
		case 'l': {
			const char *eq = strchr(optarg, '=');
			char tl[32];
			unsigned int t, l;

			if (nluns == VSCSI_MAX_LUNS)
				return bad_usage("--lun %s: too many --lun (at most %u)", optarg,
				                 VSCSI_MAX_LUNS);
			if (!eq || (size_t)(eq - optarg) >= sizeof(tl) || !eq[1])
				return bad_usage("--lun '%s': expected T:L=SPEC", optarg);
			memcpy(tl, optarg, (size_t)(eq - optarg));
			tl[eq - optarg] = 0;
			if (vuctl_parse_tl(tl, &t, &l))
				return bad_usage("--lun '%s': target:lun '%s' is not T:L with T "
				                 "0..255 and L 0..16383",
				                 optarg, tl);
			luns[nluns++] = optarg;
			break;
		}
		case 'c':
			config = optarg;
			break;
		case 'C':
			a.ctl_path = optarg;
			break;
		case 'q':
			if (!parse_uint(optarg, VSCSI_MAX_REQ_QUEUES, &v) || v == 0)
				return bad_usage("--num-queues '%s': expected a number of request "
				                 "queues from 1 to %u",
				                 optarg, VSCSI_MAX_REQ_QUEUES);
			nq = (unsigned int)v;
			break;
		case 'v':
			plog_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		return bad_usage("'%s': not an option (options start with --; see --help)",
		                 argv[optind]);
	if (!a.socket_path == !fd_arg)
		return bad_usage("%s: expected exactly one of --socket-path=PATH or --fd=N",
		                 a.socket_path ? "both --socket-path and --fd given"
		                               : "neither --socket-path nor --fd given");
	if (fd_arg && (rc = check_fd_arg(fd_arg, &fd)))
		return rc;
	rc = 1;
	signal(SIGPIPE, SIG_IGN);
	if (pvs_worker_new(256, &a.w)) {
		plog(LOG_ERR, "cannot create the worker");
		return 1;
	}
	cfg.worker = a.w;
	/* One virtio-scsi device, one I_T nexus for reservations and unit attentions. */
	cfg.initiator = 0x7669727469000000ull | (uint64_t)getpid();
	/*
	 * QEMU's vhost-user-scsi-pci picks its own num_queues (one per vCPU by
	 * default); it must not exceed what is offered here (GET_QUEUE_NUM).
	 */
	cfg.num_queues = nq;
	cfg.kick_fd = on_kick_fd;
	cfg.kick_arg = &a;
	if (vscsi_new(&cfg, &a.vs))
		goto out;
	for (unsigned int i = 0; i < nluns; i++) {
		char tl[32];
		const char *eq = strchr(luns[i], '=');

		/* The form was checked with the options. */
		memcpy(tl, luns[i], (size_t)(eq - luns[i]));
		tl[eq - luns[i]] = 0;
		if (vuctl_add(a.vs, a.w, tl, eq + 1, err, sizeof(err))) {
			plog(LOG_ERR, "--lun %s", err);
			goto out;
		}
	}
	if (config && vuctl_load(a.vs, a.w, config, err, sizeof(err))) {
		plog(LOG_ERR, "%s", err);
		goto out;
	}
	a.ep = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (a.ep < 0 || a.sig_fd < 0)
		goto out;
	epoll_set(&a, EPOLL_CTL_ADD, a.sig_fd, TAG_SIGNAL);
	epoll_set(&a, EPOLL_CTL_ADD, pvs_worker_fd(a.w), TAG_WORKER);
	if (a.ctl_path) {
		a.ctl_fd = listen_unix("--ctl-socket", a.ctl_path, &a.ctl_at);
		if (a.ctl_fd < 0) {
			rc = -a.ctl_fd;
			goto out;
		}
		epoll_set(&a, EPOLL_CTL_ADD, a.ctl_fd, TAG_CTL);
	}
	if (a.socket_path) {
		a.listen_fd = listen_unix("--socket-path", a.socket_path, &a.listen_at);
		if (a.listen_fd < 0) {
			rc = -a.listen_fd;
			goto out;
		}
		epoll_set(&a, EPOLL_CTL_ADD, a.listen_fd, TAG_LISTEN);
		plog(LOG_INFO, "listening on %s", a.socket_path);
	} else {
		a.once = true;
		connect_dev(&a, fd);
	}
	rc = run(&a) ? 1 : 0;
out:
	disconnect_dev(&a, -ESHUTDOWN);
	vscsi_free(a.vs);
	pvs_worker_free(a.w);
	if (a.listen_fd >= 0) {
		close(a.listen_fd);
		unlink_bound(&a.listen_at);
	}
	if (a.ctl_fd >= 0) {
		close(a.ctl_fd);
		unlink_bound(&a.ctl_at);
	}
	if (a.sig_fd >= 0)
		close(a.sig_fd);
	if (a.ep >= 0)
		close(a.ep);
	return rc;
}
