/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - pvscsi-vhost-user: a vhost-user-scsi back-end for QEMU's
 * vhost-user-scsi-pci, serving LUNs of the pvscsi LUN core.
 *
 * One thread: an epoll loop over every controller's vhost-user listening
 * socket and its one connection, the queues' kick eventfds, the worker's
 * fd, the control socket and a signalfd.  Every controller is its own
 * virtio-scsi device and I_T nexus on one LUN pool (pvscsi/host.h), as
 * SPDK's vhost application serves several controllers from one process:
 * guests that share a backing share its reservations.  Follows the back-end program conventions of
 * QEMU's docs/interop/vhost-user.rst: --socket-path / --fd,
 * --print-capabilities, no daemonizing, log on stderr, SIGTERM ends it.
 * Under systemd (vhost-user/pvscsi-vhost-user@.service) it says when it
 * serves (sd_notify) and logs to the journal with each controller's name
 * as VHOST=.  See docs/vhost-user.md.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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
#include <systemd/sd-daemon.h>
#include <sys/time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "ctl_json.h"
#include "ctl.h"
#include "pvscsi/lun.h"
#include "vscsi.h"
#include "vu_dev.h"
#include "log.h"
#include "vu_mem.h"

/* epoll tags: the controller's index in the upper half, what fired in the lower. */
enum { TAG_LISTEN = 1, TAG_CONN, TAG_CTL, TAG_SIGNAL, TAG_WORKER, TAG_KICK = 0x100 };
#define TAG(ci, kind) ((uint64_t)(ci) << 32 | (uint64_t)(kind))
#define MAX_CTRLS     64

/* A socket this process bound, so that it removes only its own at exit. */
struct bound {
	const char *path;
	dev_t dev;
	ino_t ino;
};

struct app;
struct ctrl;

/*
 * A queue's kick eventfd read through the worker's io_uring while the loop
 * sleeps there (pvs_worker_watch_new()): the kick comes back as a
 * completion, with no epoll_wait to say which fd and no read of its own.
 */
struct kick_watch {
	struct ctrl *c;
	unsigned int q;
	struct pvs_worker_watch *wt;
};

/* One virtio-scsi controller: a socket, at most one front-end on it. */
struct ctrl {
	struct app *a;
	unsigned int idx;
	bool used;
	char name[VUCTL_NAME_MAX];
	char path[108];
	int listen_fd;
	int conn_fd;
	struct bound listen_at;
	struct vscsi *vs;
	struct vu_dev *dev;
	struct plog_tag tag; /* VHOST=<name> on its lines and on those logged while it is served */
	struct kick_watch kw[VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES];
	uint32_t kicks; /* queues whose watch read a kick, run by run_kicks() */
	uint32_t rearm; /* queues whose watch found no SQE to post its read again */
};

struct app {
	int ep;
	struct pctl *ctl;
	struct vuctl_env env; /* what the control socket's commands act on */
	int sig_fd;
	struct pvs_worker *w;
	struct pvs_host *host;
	struct ctrl ctrls[MAX_CTRLS];
	const char *socket_path;
	const char *ctl_path;
	bool once;         /* --fd: the one connection is all there is */
	bool sleeps;       /* in the worker's io_uring (run()), not epoll_wait */
	int listen_status; /* the last listen_unix() failure's exit status */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: pvscsi-vhost-user --socket-path=PATH [options]\n"
	    "       pvscsi-vhost-user --fd=N [options]   (N: an inherited, connected unix socket)\n"
	    "       pvscsi-vhost-user --print-capabilities\n"
	    "       pvscsi-vhost-user --help | --version\n"
	    "       pvscsi-vhost-user ctl [--json] CTL-SOCKET COMMAND [ARGS]\n"
	    "       pvscsi-vhost-user --ctl-socket=PATH [--config FILE]   (controllers added "
	    "later)\n"
	    "options:\n"
	    "  --lun [NAME/]T:L=SPEC  a LUN (repeatable); SPEC: file:PATH[,ro][,bs=N] | mem:SIZE "
	    "|\n"
	    "                      cdrom:[ISO] | sg:/dev/sgN[,raw] | a host p-dev (H:C:T:L, naa.,\n"
	    "                      /dev/...)\n"
	    "  --name NAME         the --socket-path/--fd controller's name (default 0)\n"
	    "  --initiator-name IQN  that controller's iSCSI initiator name, for its iscsi://\n"
	    "                      LUNs: the guest's stable identity (its name or UUID)\n"
	    "  --config FILE       'lun [NAME/]T:L SPEC' and 'controller NAME SOCKET [Q]' lines\n"
	    "  --ctl-socket PATH   control socket (LUNs and controllers at run time)\n"
	    "  --num-queues N      request queues offered (1..16, default 16)\n"
	    "  --verbose           one line per vhost-user message\n"
	    "  --log-file PATH     append the log to PATH (SIGHUP reopens it)\n"
	    "  --log-target T      auto, journal, syslog or stderr (default auto: stderr, or\n"
	    "                      the journal when systemd connected stderr to it; with\n"
	    "                      --log-file, the file alone)\n"
	    "control commands: status | stats [NAME] | metrics | log-level [LEVEL] |\n"
	    "  add [NAME/]T:L SPEC | remove [NAME/]T:L | resize [NAME/]T:L |\n"
	    "  insert [--force] [NAME/]T:L ISO | eject [--force] [NAME/]T:L |\n"
	    "  list [NAME] | ctrl-add NAME SOCKET [Q] [IQN] | ctrl-remove NAME | ctrl-list\n"
	    "  (--force: change the medium even while the guest prevents its removal)\n"
	    "  (--json: the JSON reply; the socket takes JSON requests, docs/control.md)\n"
	    "Controllers share one LUN pool: one backing is one logical unit for all of them.\n"
	    "A socket path may name nothing yet or a stale socket; anything else is refused.\n"
	    "Exit status: 0 stopped by a signal or --fd closed; 1 failure; 2 bad command line.\n");
}

static int epoll_set(struct app *a, int op, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(a->ep, op, fd, &ev);
}

static void kick_watch_stop(struct ctrl *c, unsigned int q)
{
	pvs_worker_watch_free(c->kw[q].wt);
	c->kw[q].wt = NULL;
	c->kicks &= ~(1u << q);
	c->rearm &= ~(1u << q);
}

static void kick_epoll(struct ctrl *c, unsigned int q, int fd)
{
	if (epoll_set(c->a, EPOLL_CTL_ADD, fd, TAG(c->idx, TAG_KICK + q)) < 0)
		plog_tagged(&c->tag, LOG_ERR, "controller %s: queue %u: epoll: %s", c->name, q,
		            strerror(errno));
}

/*
 * Queue @q's kick watch gone, its kick fd polled with epoll from now on;
 * the queue looks once more, in case a kick is what the watch lost.
 */
static void kick_watch_to_epoll(struct ctrl *c, unsigned int q)
{
	kick_watch_stop(c, q);
	c->kicks |= 1u << q;
	if (c->dev && c->dev->q[q].kick_fd >= 0)
		kick_epoll(c, q, c->dev->q[q].kick_fd);
}

static void kick_read(void *opaque, int res, const void *buf);

/*
 * Only an eventfd: its 8-byte read ends when it is written and empties it.
 * Anything else a front-end passed (a pipe, /dev/zero) could read for ever
 * or never; epoll, which refuses what it cannot poll, judges those.
 */
static bool is_eventfd(int fd)
{
	char path[32], link[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

static void kick_watch_start(struct ctrl *c, unsigned int q, int fd)
{
	struct kick_watch *k = &c->kw[q];
	int flags = fcntl(fd, F_GETFL), rc;

	if (!is_eventfd(fd) || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		kick_epoll(c, q, fd);
		return;
	}
	k->c = c;
	k->q = q;
	rc = pvs_worker_watch_new(c->a->w, fd, 8, kick_read, k, &k->wt);
	if (rc == 0)
		rc = pvs_worker_watch_arm(k->wt, NULL, 0);
	if (rc == -EBUSY) {
		c->rearm |= 1u << q;
	} else if (rc < 0) {
		plog_tagged(
		    &c->tag, LOG_WARNING,
		    "controller %s: queue %u: kick read through the io_uring: %s; polled instead",
		    c->name, q, strerror(-rc));
		kick_watch_stop(c, q);
		kick_epoll(c, q, fd);
	}
}

/*
 * A kick, read: its queue runs in the loop's turn (run_kicks()), not here
 * inside the worker's completions, where a queue being stopped waits for
 * its requests (pvs_worker_wait()) and must not take new ones.
 */
static void kick_read(void *opaque, int res, const void *buf)
{
	struct kick_watch *k = opaque;
	struct ctrl *c = k->c;
	int rc;

	(void)buf;
	if (res == 8 || res == -EINTR || res == -EAGAIN) {
		if (res == 8)
			c->kicks |= 1u << k->q;
		rc = pvs_worker_watch_arm(k->wt, NULL, 0);
		if (rc == -EBUSY)
			c->rearm |= 1u << k->q;
		if (rc == 0 || rc == -EBUSY)
			return;
		res = rc;
	}
	plog_tagged(
	    &c->tag, LOG_WARNING,
	    "controller %s: queue %u: reading its kick through the io_uring: %s; polled instead",
	    c->name, k->q, res < 0 ? strerror(-res) : "not an eventfd's 8 bytes");
	kick_watch_to_epoll(c, k->q);
}

static void on_kick_fd(void *arg, unsigned int q, int fd)
{
	struct ctrl *c = arg;

	/* The old fd was closed, which took it out of the epoll set; its watch goes here. */
	kick_watch_stop(c, q);
	if (fd < 0)
		return;
	if (c->a->sleeps)
		kick_watch_start(c, q, fd);
	else
		kick_epoll(c, q, fd);
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
/* @why gets one line; returns @status (an exit status: 2 bad usage, 1 failure). */
static int why_set(char *why, size_t len, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int why_set(char *why, size_t len, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return status;
}

static int free_path(const char *opt, const char *path, char *why, size_t wlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc, e;

	if (!*path)
		return why_set(why, wlen, 2, "%s '': expected a path", opt);
	if (strlen(path) >= sizeof(sa.sun_path))
		return why_set(why, wlen, 2,
		               "%s '%s': %zu bytes long; a unix socket path has at most %zu", opt,
		               path, strlen(path), sizeof(sa.sun_path) - 1);
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return why_set(why, wlen, 1, "%s %s: %s", opt, path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return why_set(why, wlen, 2,
		               "%s %s: exists and is a %s, not a socket: refusing to replace it "
		               "(expected a new path or a stale socket)",
		               opt, path, vu_file_kind(st.st_mode));
	strcpy(sa.sun_path, path);
	/* Non-blocking: a live listener with a full backlog answers EAGAIN instead of waiting. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return why_set(why, wlen, 1, "%s %s: socket: %s", opt, path, strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS || e == EPROTOTYPE)
		return why_set(why, wlen, 1,
		               "%s %s: another process is listening on this socket (another "
		               "pvscsi-vhost-user?): refusing to take it over",
		               opt, path);
	if (e != ECONNREFUSED)
		return why_set(why, wlen, 1,
		               "%s %s: cannot tell whether this socket is in use (%s): leaving it",
		               opt, path, strerror(e));
	if (unlink(path) < 0 && errno != ENOENT)
		return why_set(why, wlen, 1, "%s %s: removing the stale socket: %s", opt, path,
		               strerror(errno));
	plog(LOG_INFO, "%s: removed a stale socket nobody listened on", path);
	return 0;
}

/* Listen on @path (see free_path()); the fd, or -(exit status) with one line in @why. */
static int listen_unix(const char *opt, const char *path, struct bound *b, char *why, size_t wlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc = free_path(opt, path, why, wlen);

	if (rc)
		return -rc;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -why_set(why, wlen, 1, "%s %s: socket: %s", opt, path, strerror(errno));
	/* bind() never replaces: a path taken since free_path() fails with EADDRINUSE. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		why_set(why, wlen, 1, "%s %s: %s", opt, path, strerror(errno));
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

/*
 * What systemctl status shows: how many controllers, how many with a
 * front-end; @also goes in the same message (READY=1).
 */
static void notify_status(const struct app *a, const char *also)
{
	unsigned int n = 0, up = 0;

	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		n += a->ctrls[i].used;
		up += a->ctrls[i].used && a->ctrls[i].dev;
	}
	sd_notifyf(0, "%sSTATUS=%u controller%s, %u with a front-end", also, n, n == 1 ? "" : "s",
	           up);
}

static void connect_dev(struct ctrl *c, int fd)
{
	struct timeval tv = {5, 0};

	/* A front-end that stops in the middle of a message must not hang the back-end. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (vu_dev_new(fd, vscsi_dev_ops(c->vs), c->vs, &c->dev)) {
		close(fd);
		return;
	}
	vscsi_attach(c->vs, c->dev);
	c->conn_fd = fd;
	epoll_set(c->a, EPOLL_CTL_ADD, fd, TAG(c->idx, TAG_CONN));
	plog_tagged(&c->tag, LOG_INFO, "%s%sfront-end connected", c->idx ? c->name : "",
	            c->idx ? ": " : "");
	notify_status(c->a, "");
}

static void disconnect_dev(struct ctrl *c, int why)
{
	if (!c->dev)
		return;
	epoll_ctl(c->a->ep, EPOLL_CTL_DEL, c->conn_fd, NULL);
	/* Drains every queue, then unmaps guest memory and closes the fds. */
	vu_dev_free(c->dev);
	vscsi_attach(c->vs, NULL);
	c->dev = NULL;
	c->conn_fd = -1;
	plog_tagged(&c->tag, LOG_INFO, "%s%sfront-end disconnected (%s)", c->idx ? c->name : "",
	            c->idx ? ": " : "", strerror(-why));
	notify_status(c->a, "");
}

static struct ctrl *ctrl_find(struct app *a, const char *name)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++)
		if (a->ctrls[i].used && (!name || !strcmp(a->ctrls[i].name, name)))
			return &a->ctrls[i];
	return NULL;
}

/* FNV-1a: a controller keeps its I_T nexus identity across restarts of the process. */
static uint64_t name_initiator(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = "vhost-user/"; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	/* Bit 63 clear: vscsiif's initiators (backend/ring.h) set it. */
	return h & ~(1ull << 63);
}

/*
 * Listen on the controller's path; 0 or -errno with one line in @err (and
 * the exit status it means in a->listen_status).
 */
static int ctrl_listen(struct ctrl *c, const char *opt, char *err, size_t errlen)
{
	struct app *a = c->a;

	c->listen_fd = listen_unix(opt, c->path, &c->listen_at, err, errlen);
	if (c->listen_fd < 0) {
		a->listen_status = -c->listen_fd;
		c->listen_fd = -1;
		return -EADDRINUSE;
	}
	if (a->ep >= 0)
		epoll_set(a, EPOLL_CTL_ADD, c->listen_fd, TAG(c->idx, TAG_LISTEN));
	plog_tagged(&c->tag, LOG_INFO, "%s%slistening on %s", c->idx ? c->name : "",
	            c->idx ? ": " : "", c->path);
	return 0;
}

/*
 * A new controller @name on @path (NULL: the inherited connection @fd),
 * listening at once unless @later (the caller then calls ctrl_listen()).
 * 0 or -errno with @err.
 */
static int ctrl_new(struct app *a, const char *opt, const char *name, const char *path, int fd,
                    unsigned int nq, const char *iscsi_name, bool later, char *err, size_t errlen)
{
	struct vscsi_cfg cfg = {0};
	struct ctrl *c = NULL;
	uint64_t initiator = name_initiator(name);

	if (ctrl_find(a, name)) {
		snprintf(err, errlen, "controller '%s' exists already", name);
		return -EEXIST;
	}
	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		if (a->ctrls[i].used && vscsi_initiator(a->ctrls[i].vs) == initiator) {
			snprintf(err, errlen,
			         "controller '%s': its initiator identity is '%s''s; "
			         "choose another name",
			         name, a->ctrls[i].name);
			return -EEXIST;
		}
		if (!c && !a->ctrls[i].used)
			c = &a->ctrls[i];
	}
	if (!c) {
		snprintf(err, errlen, "controller '%s': at most %d controllers", name, MAX_CTRLS);
		return -ENOSPC;
	}
	memset(c, 0, sizeof(*c));
	c->a = a;
	c->idx = (unsigned int)(c - a->ctrls);
	c->listen_fd = -1;
	c->conn_fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->path, sizeof(c->path), "%s", path ? path : "-");
	plog_tag_vhost(&c->tag, c->name);
	cfg.worker = a->w;
	cfg.host = a->host;
	cfg.initiator = initiator;
	if (iscsi_name)
		snprintf(cfg.iscsi_name, sizeof(cfg.iscsi_name), "%s", iscsi_name);
	/*
	 * QEMU's vhost-user-scsi-pci picks its own num_queues (one per vCPU by
	 * default); it must not exceed what is offered here (GET_QUEUE_NUM).
	 */
	cfg.num_queues = nq ? nq : VSCSI_MAX_REQ_QUEUES;
	cfg.kick_fd = on_kick_fd;
	cfg.kick_arg = c;
	if (vscsi_new(&cfg, &c->vs)) {
		snprintf(err, errlen, "controller '%s': out of memory", name);
		return -ENOMEM;
	}
	if (path && !later) {
		int rc = ctrl_listen(c, opt, err, errlen);

		if (rc) {
			vscsi_free(c->vs);
			return rc;
		}
	}
	c->used = true;
	if (!path)
		connect_dev(c, fd);
	return 0;
}

static void ctrl_free(struct ctrl *c, int why)
{
	if (!c->used)
		return;
	disconnect_dev(c, why);
	if (c->listen_fd >= 0) {
		epoll_ctl(c->a->ep, EPOLL_CTL_DEL, c->listen_fd, NULL);
		close(c->listen_fd);
		unlink_bound(&c->listen_at);
		/* listen_at.path points into c->path, which goes with the controller. */
		c->listen_at.path = NULL;
	}
	vscsi_free(c->vs);
	c->vs = NULL;
	c->used = false;
	pvs_host_sweep(c->a->host);
}

/* ---- the control commands' view (ctl.h) ---- */

static struct vscsi *env_find(void *arg, const char *name)
{
	struct ctrl *c = ctrl_find(arg, name);

	return c ? c->vs : NULL;
}

static bool env_get(void *arg, unsigned int i, const char **name, const char **socket,
                    struct vscsi **vs, bool *connected)
{
	struct app *a = arg;

	for (unsigned int k = 0; k < MAX_CTRLS; k++) {
		struct ctrl *c = &a->ctrls[k];

		if (!c->used || i-- > 0)
			continue;
		*name = c->name;
		*socket = c->path;
		*vs = c->vs;
		*connected = c->dev != NULL;
		return true;
	}
	return false;
}

static int env_ctrl_add(void *arg, const char *name, const char *socket, unsigned int queues,
                        const char *iscsi_name, char *err, size_t errlen)
{
	int rc =
	    ctrl_new(arg, "ctrl-add", name, socket, -1, queues, iscsi_name, false, err, errlen);

	if (!rc) {
		plog_tagged(&ctrl_find(arg, name)->tag, LOG_INFO, "controller %s added on %s%s%s",
		            name, socket, iscsi_name ? ", iSCSI initiator " : "",
		            iscsi_name ? iscsi_name : "");
		notify_status(arg, "");
	}
	return rc;
}

static int env_ctrl_remove(void *arg, const char *name, char *err, size_t errlen)
{
	struct ctrl *c = ctrl_find(arg, name);

	if (!c) {
		snprintf(err, errlen, "no controller '%s'", name);
		return -ENOENT;
	}
	ctrl_free(c, -ESHUTDOWN);
	plog_tagged(&c->tag, LOG_INFO, "controller %s removed", name);
	notify_status(arg, "");
	return 0;
}

static void env_init(struct vuctl_env *env, struct app *a)
{
	memset(env, 0, sizeof(*env));
	env->find = env_find;
	env->get = env_get;
	env->ctrl_add = a->once ? NULL : env_ctrl_add;
	env->ctrl_remove = env_ctrl_remove;
	env->arg = a;
	env->host = a->host;
}

static void flush_all(struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		if (a->ctrls[i].used) {
			const struct plog_tag *old = plog_scope(&a->ctrls[i].tag);

			vscsi_flush(a->ctrls[i].vs);
			plog_scope(old);
		}
	}
	/* LUNs given back while their requests ran close once those ended. */
	pvs_host_sweep(a->host);
}

/*
 * How long the loop stays idle, with answers out that no interrupt
 * announced, before it asks each such queue's driver again whether it
 * waits for them (vscsi_recheck_calls(), vu_vq_recheck()).
 */
#define LATE_CALL_MS 2

/* Whether some controller's queue answered without an interrupt since it last looked. */
static bool unsignalled(const struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++)
		if (a->ctrls[i].used && a->ctrls[i].vs && vscsi_unsignalled(a->ctrls[i].vs))
			return true;
	return false;
}

static void recheck_calls(struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++)
		if (a->ctrls[i].used && a->ctrls[i].vs)
			vscsi_recheck_calls(a->ctrls[i].vs);
}

static void run_kicks(struct app *a);

/*
 * Completions, then what they let every controller answer.  Sleeping in
 * the io_uring, the worker knows itself whether its own fds polled ready.
 */
static void run_worker(struct app *a)
{
	pvs_worker_run(a->w, !a->sleeps);
	run_kicks(a);
	flush_all(a);
}

/* The queues whose kicks the worker read (kick_read()), and the watches to arm again. */
static void run_kicks(struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		struct ctrl *c = &a->ctrls[i];

		if (!c->used || !c->dev || !(c->kicks | c->rearm))
			continue;
		for (unsigned int q = 0; q < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; q++) {
			uint32_t bit = 1u << q;

			if ((c->rearm & bit) &&
			    pvs_worker_watch_arm(c->kw[q].wt, NULL, 0) != -EBUSY)
				c->rearm &= ~bit;
			if (c->kicks & bit) {
				const struct plog_tag *old = plog_scope(&c->tag);

				c->kicks &= ~bit;
				vscsi_kick(c->vs, q);
				plog_scope(old);
			}
		}
	}
}

/* A watch waits for an SQE to post its read again: the loop must not sleep on it. */
static bool kicks_rearm(const struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++)
		if (a->ctrls[i].used && a->ctrls[i].rearm)
			return true;
	return false;
}

/* The sleep in the io_uring refused: every kick fd back into the epoll set. */
static void kicks_to_epoll(struct app *a)
{
	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		struct ctrl *c = &a->ctrls[i];

		for (unsigned int q = 0; c->used && q < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; q++) {
			if (c->kw[q].wt)
				kick_watch_to_epoll(c, q);
		}
	}
}

/* PVSD_URING_SLEEP=0: sleep in epoll_wait, as pvscsid does then, for a comparison. */
static bool uring_sleep_wanted(void)
{
	const char *e = getenv("PVSD_URING_SLEEP");

	return !e || strcmp(e, "0") != 0;
}

/*
 * The sleep: in the worker's io_uring, which in one io_uring_enter()
 * submits what the last pass queued (the I/O of the kicks it took) and
 * waits for a completion, or for the epoll set (kicks, the front-ends'
 * sockets, the control socket, signals), polled from the ring and asked
 * with epoll_wait(0) only when it became readable.  The set's events, or
 * -1 with errno.  A kernel that refuses it: logged once, the worker's fd
 * goes back into the set and epoll_wait sleeps from then on.
 */
static int wait_events(struct app *a, struct epoll_event *ev, int timeout_ms)
{
	bool ready = false;
	int rc;

	if (a->sleeps) {
		rc = pvs_worker_sleep(a->w, a->ep, timeout_ms, &ready);
		if (rc == 0) {
			if (pvs_worker_has_completions(a->w))
				run_worker(a);
			return ready ? epoll_wait(a->ep, ev, 16, 0) : 0;
		}
		plog(LOG_WARNING, "sleeping in the io_uring failed (%s); back to epoll_wait",
		     strerror(-rc));
		a->sleeps = false;
		epoll_set(a, EPOLL_CTL_ADD, pvs_worker_fd(a->w), TAG_WORKER);
		kicks_to_epoll(a);
		timeout_ms = 0;
	}
	return epoll_wait(a->ep, ev, 16, timeout_ms);
}

/* One ready fd: 1 to go on, 0 to exit (a signal, or the --fd connection closed). */
static int handle(struct app *a, uint32_t kind, struct ctrl *c)
{
	int rc;

	switch (kind) {
	case TAG_LISTEN: {
		int fd;

		if (!c->used)
			break;
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		if (c->dev) {
			/* One front-end at a time. */
			plog(LOG_ERR, "%s%ssecond front-end refused", c->idx ? c->name : "",
			     c->idx ? ": " : "");
			close(fd);
			break;
		}
		connect_dev(c, fd);
		break;
	}
	case TAG_CONN:
		if (!c->used || !c->dev)
			break;
		rc = vu_dev_handle(c->dev);
		if (rc) {
			disconnect_dev(c, rc);
			if (a->once)
				return 0;
		}
		break;
	case TAG_CTL:
		pctl_handle(a->ctl);
		break;
	case TAG_SIGNAL: {
		struct signalfd_siginfo si;

		if (read(a->sig_fd, &si, sizeof(si)) != sizeof(si))
			break;
		if (si.ssi_signo == SIGHUP) {
			/* ExecReload, or logrotate's postrotate. */
			rc = plog_reopen();
			if (rc)
				plog(LOG_ERR, "reopening the log file: %s", strerror(-rc));
			else
				plog(LOG_INFO, "log file reopened");
			break;
		}
		plog(LOG_INFO, "signal %u: exiting", si.ssi_signo);
		return 0;
	}
	case TAG_WORKER:
		run_worker(a);
		break;
	default:
		if (kind >= TAG_KICK && c->used && c->dev) {
			vu_dev_kick_ack(c->dev, kind - TAG_KICK);
			vscsi_kick(c->vs, kind - TAG_KICK);
		}
		break;
	}
	return 1;
}

static int run(struct app *a)
{
	for (;;) {
		struct epoll_event ev[16];
		int n, timeout_ms;
		uint64_t idle_from = 0;

		/*
		 * What a flush completed at once waits in a completion queue no
		 * fd announces (sg through the deferred ring): run it first, and
		 * do not sleep while more is left.
		 */
		if (pvs_worker_has_completions(a->w))
			run_worker(a);
		timeout_ms = pvs_worker_has_completions(a->w) || kicks_rearm(a) ? 0
		             : a->ctl ? pctl_timeout_ms(a->ctl)
		                      : -1;
		/* Answers out without an interrupt: a short sleep, then ask again (see above). */
		if (timeout_ms != 0 && unsignalled(a)) {
			idle_from = pvs_now_ns();
			if (timeout_ms < 0 || timeout_ms > LATE_CALL_MS)
				timeout_ms = LATE_CALL_MS;
		}
		n = wait_events(a, ev, timeout_ms);
		if (n == 0 && idle_from && pvs_now_ns() - idle_from >= LATE_CALL_MS * 1000000ull)
			recheck_calls(a);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/*
		 * A control client's time is up.  Not on every quiet return: in
		 * the io_uring a completion ends the sleep with no event too, and
		 * pctl_handle() costs an epoll_wait.
		 */
		if (n == 0 && a->ctl && pctl_timeout_ms(a->ctl) == 0)
			pctl_handle(a->ctl);
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			uint32_t kind = (uint32_t)tag;
			struct ctrl *c = &a->ctrls[(tag >> 32) % MAX_CTRLS];
			/*
			 * The protocol and the device (vu_dev.c, vscsi.c) log with
			 * plain plog(): a controller's event gives their lines its VHOST=.
			 */
			bool mine = kind == TAG_LISTEN || kind == TAG_CONN || kind >= TAG_KICK;
			const struct plog_tag *old = plog_scope(mine && c->used ? &c->tag : NULL);
			int go = handle(a, kind, c);

			plog_scope(old);
			if (!go)
				return 0;
		}
	}
}

/* ---- the ctl client ---- */

static int ctl_connect(const char *path)
{
	/* An add of an iscsi:// or rbd: LUN answers once it logged in (up to 15 s) or failed. */
	return pctl_client_connect("pvscsi-vhost-user", path, 60, NULL);
}

/* The line protocol: one line out, the reply to the end (the server closes). */
static int ctl_line(const char *path, int nw, char **w)
{
	char line[1024] = "", buf[4096];
	ssize_t n;
	int fd, failed = 0;

	for (int i = 0; i < nw; i++) {
		strncat(line, w[i], sizeof(line) - strlen(line) - 2);
		strncat(line, i + 1 < nw ? " " : "\n", sizeof(line) - strlen(line) - 1);
	}
	fd = ctl_connect(path);
	if (fd < 0)
		return 1;
	if (write(fd, line, strlen(line)) < 0) {
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		if (strstr(buf, "error: "))
			failed = 1;
		fputs(buf, stdout);
	}
	close(fd);
	return failed;
}

static void gen_s(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/*
 * The JSON request for the words @w (a command and its line-protocol
 * arguments) into @g; 0, or 2 after one line on stderr.
 */
static int ctl_request(yajl_gen g, int nw, char **w, bool force)
{
	static const struct {
		const char *cmd;
		int min, max;             /* words after the command */
		const char *const arg[4]; /* their argument names */
	} forms[] = {
	    {"status", 0, 0, {NULL}},
	    {"stats", 0, 0, {NULL}},
	    {"metrics", 0, 0, {NULL}},
	    {"ctrl-list", 0, 0, {NULL}},
	    {"log-level", 0, 1, {"level"}},
	    {"add", 2, 2, {"lun", "spec"}},
	    {"remove", 1, 1, {"lun"}},
	    {"resize", 1, 1, {"lun"}},
	    {"list", 0, 1, {"controller"}},
	    {"ctrl-add", 2, 4, {"name", "socket", "queues", "initiator_name"}},
	    {"ctrl-remove", 1, 1, {"name"}},
	    {"insert", 2, 2, {"lun", "path"}},
	    {"eject", 1, 1, {"lun"}},
	};
	size_t f;

	for (f = 0; f < sizeof(forms) / sizeof(forms[0]) && strcmp(forms[f].cmd, w[0]); f++)
		;
	if (f == sizeof(forms) / sizeof(forms[0]))
		return bad_usage("ctl: unknown command '%s' (see --help)", w[0]);
	if (nw - 1 < forms[f].min || nw - 1 > forms[f].max)
		return bad_usage("ctl %s: expected %d to %d arguments, got %d (see --help)", w[0],
		                 forms[f].min, forms[f].max, nw - 1);
	yajl_gen_map_open(g);
	gen_s(g, "command");
	gen_s(g, w[0]);
	if (nw > 1) {
		gen_s(g, "arguments");
		yajl_gen_map_open(g);
		if (force) {
			gen_s(g, "force");
			yajl_gen_bool(g, 1);
		}
		for (int i = 1; i < nw; i++) {
			const char *an = forms[f].arg[i - 1];
			unsigned long v;

			/* ctrl-add NAME SOCKET IQN: the queues left out (a name is never a number).
			 */
			if (!strcmp(an, "queues") && i == nw - 1 && vuctl_iscsi_name_like(w[i]))
				an = "initiator_name";
			gen_s(g, an);
			if (strcmp(an, "queues")) {
				gen_s(g, w[i]);
			} else if (parse_uint(w[i], VSCSI_MAX_REQ_QUEUES, &v) && v > 0) {
				yajl_gen_integer(g, (long long)v);
			} else {
				return bad_usage("ctl ctrl-add: queues '%s': expected 1 to %u",
				                 w[i], VSCSI_MAX_REQ_QUEUES);
			}
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	return 0;
}

/* Send @req and read one reply line (malloc'd), or NULL after a line on stderr. */
static char *ctl_exchange(const char *path, const unsigned char *req, size_t len)
{
	int fd = ctl_connect(path);
	char *reply;

	if (fd < 0)
		return NULL;
	reply = pctl_client_exchange("pvscsi-vhost-user", fd, path, (const char *)req, len);
	close(fd);
	return reply;
}

static yajl_val jget(yajl_val v, const char *k)
{
	const char *p[] = {k, NULL};

	return v ? yajl_tree_get(v, p, yajl_t_any) : NULL;
}

static const char *jstr(yajl_val v, const char *k)
{
	yajl_val x = jget(v, k);

	return x && YAJL_IS_STRING(x) ? x->u.string : "";
}

static const char *jnum(yajl_val v, const char *k)
{
	yajl_val x = jget(v, k);

	return x && YAJL_IS_NUMBER(x) ? x->u.number.r : "0";
}

static size_t jlen(yajl_val v)
{
	return v && YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

/* The reply's text: the JSON as it came (--json), or a few lines for a human. */
static void ctl_print(const char *cmd, const char *reply, yajl_val ret, bool json)
{
	if (json) {
		/*
		 * The return value as the daemon wrote it, one line: yajl_tree
		 * would keep the numbers' text, but not the daemon's member order
		 * exactly as sent.  Anything unexpected: the whole reply.
		 */
		size_t n = strlen(reply);

		if (!strncmp(reply, "{\"return\":", 10) && n > 11 && reply[n - 1] == '}')
			printf("%.*s\n", (int)(n - 11), reply + 10);
		else
			printf("%s\n", reply);
	} else if (!strcmp(cmd, "metrics")) {
		fputs(jstr(ret, "text"), stdout);
	} else if (!strcmp(cmd, "log-level")) {
		if (strcmp(jstr(ret, "level"), jstr(ret, "previous")))
			printf("log level %s (was %s)\n", jstr(ret, "level"),
			       jstr(ret, "previous"));
		else
			printf("log level %s\n", jstr(ret, "level"));
	} else if (!strcmp(cmd, "insert") || !strcmp(cmd, "eject")) {
		if (YAJL_IS_TRUE(jget(ret, "medium")))
			printf("medium %s, %s blocks\n", jstr(ret, "path"), jnum(ret, "blocks"));
		else
			printf("no medium, tray %s\n",
			       YAJL_IS_TRUE(jget(ret, "tray_open")) ? "open" : "closed");
	} else if (!strcmp(cmd, "status")) {
		yajl_val cs = jget(ret, "controllers"), luns = jget(ret, "luns");

		printf("pvscsi-vhost-user %s (pid %s), log level %s\n", jstr(ret, "version"),
		       jnum(ret, "pid"), jstr(ret, "log_level"));
		for (size_t i = 0; i < jlen(cs); i++) {
			yajl_val c = cs->u.array.values[i], cl = jget(c, "luns");

			printf("controller %s on %s: %s, %s queues, initiator %s, %s in flight\n",
			       jstr(c, "name"), jstr(c, "socket"), jstr(c, "state"),
			       jnum(c, "queues"), jstr(c, "initiator"), jnum(c, "inflight"));
			for (size_t k = 0; k < jlen(cl); k++) {
				yajl_val l = cl->u.array.values[k], cd = jget(l, "cdrom");

				printf("  %s unit %s: %s%s, %s in flight", jstr(l, "lun"),
				       jstr(l, "unit"), jstr(l, "spec"),
				       YAJL_IS_TRUE(jget(l, "read_only")) ? ", read-only" : "",
				       jnum(l, "inflight"));
				if (cd && YAJL_IS_TRUE(jget(cd, "medium")))
					printf(", medium %s", jstr(cd, "path"));
				else if (cd)
					printf(", no medium, tray %s",
					       YAJL_IS_TRUE(jget(cd, "tray_open")) ? "open"
					                                           : "closed");
				if (cd && YAJL_IS_TRUE(jget(cd, "prevented")))
					printf(", removal prevented");
				printf("\n");
			}
		}
		for (size_t i = 0; i < jlen(luns); i++) {
			yajl_val l = luns->u.array.values[i], r = jget(l, "reservation");
			yajl_val pr = jget(r, "persistent");

			printf("unit %s: %s, %s, %s users, %s blocks of %s, reservation %s%s%s\n",
			       jstr(l, "unit"), jstr(l, "spec"), jstr(l, "kind"), jnum(l, "users"),
			       jnum(l, "blocks"), jnum(l, "block_size"),
			       pr && YAJL_IS_OBJECT(pr) ? jstr(pr, "type") : "none",
			       pr && YAJL_IS_OBJECT(pr) ? " by " : "",
			       pr && YAJL_IS_OBJECT(pr) ? jstr(pr, "holder") : "");
		}
	} else {
		/* Only --json gets here for the others: ctl_client() sends them as lines. */
		printf("ok\n");
	}
}

/*
 * pvscsi-vhost-user ctl [--json] SOCKET WORDS...: one command.  Without
 * --json the line protocol's commands go as lines, their replies printed
 * as they come; the JSON-only ones (status, metrics, log-level) and
 * everything with --json as a JSON request.
 */
static int ctl_client(int argc, char **argv)
{
	int ai = 2, nw, rc = 1;
	bool json = false, cd, force = false;
	char **w, *reply = NULL, ebuf[256];
	const unsigned char *req;
	size_t len;
	yajl_gen g;
	yajl_val v = NULL, err, ret;

	if (ai < argc && !strcmp(argv[ai], "--json")) {
		json = true;
		ai++;
	}
	if (argc - ai < 2) {
		usage(stderr);
		return 2;
	}
	w = argv + ai + 1;
	nw = argc - ai - 1;
	/* "ctl SOCKET --json CMD" too: what a wrapper that puts the socket first makes. */
	if (!json && !strcmp(w[0], "--json") && nw > 1) {
		json = true;
		w++;
		nw--;
	}
	cd = !strcmp(w[0], "insert") || !strcmp(w[0], "eject");
	for (int i = 1; i < nw; i++) {
		if (strcmp(w[i], "--force"))
			continue;
		if (!cd)
			return bad_usage("ctl %s: --force is for insert and eject", w[0]);
		force = true;
		memmove(w + i, w + i + 1, (size_t)(nw - i - 1) * sizeof(*w));
		nw--;
		break;
	}
	/* insert and eject in JSON even without --json: an image path may hold blanks. */
	if (!json && !cd && strcmp(w[0], "status") && strcmp(w[0], "metrics") &&
	    strcmp(w[0], "log-level"))
		return ctl_line(argv[ai], nw, w);
	g = yajl_gen_alloc(NULL);
	if (!g)
		return 1;
	rc = ctl_request(g, nw, w, force);
	if (rc)
		goto out;
	rc = 1;
	yajl_gen_get_buf(g, &req, &len);
	reply = ctl_exchange(argv[ai], req, len);
	if (!reply)
		goto out;
	v = yajl_tree_parse(reply, ebuf, sizeof(ebuf));
	if (!v) {
		ebuf[strcspn(ebuf, "\n")] = 0;
		fprintf(stderr, "pvscsi-vhost-user: the reply from %s is not JSON: %s\n", argv[ai],
		        ebuf);
		goto out;
	}
	err = jget(v, "error");
	ret = jget(v, "return");
	if (err) {
		fprintf(stderr, "pvscsi-vhost-user: %s: %s (%s)\n", w[0], jstr(err, "desc"),
		        jstr(err, "class"));
		goto out;
	}
	if (!ret) {
		fprintf(stderr, "pvscsi-vhost-user: the reply from %s has no \"return\"\n",
		        argv[ai]);
		goto out;
	}
	ctl_print(w[0], reply, ret, json);
	rc = fflush(stdout) ? 1 : 0;
out:
	yajl_tree_free(v);
	free(reply);
	yajl_gen_free(g);
	return rc;
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
	    {"name", required_argument, NULL, 'n'},
	    {"num-queues", required_argument, NULL, 'q'},
	    {"initiator-name", required_argument, NULL, 'I'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"log-file", required_argument, NULL, 'L'},
	    {"log-target", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0},
	};
	struct plog_cfg lc = {.ident = "pvscsi-vhost-user"};
	enum plog_target target = PLOG_TARGET_AUTO;
	struct app a = {.ep = -1, .sig_fd = -1};
	struct pvs_host_cfg hc = {0};
	const char *luns[VSCSI_MAX_LUNS], *config = NULL, *name = "0", *iscsi_name = NULL;
	unsigned int nluns = 0, nq = VSCSI_MAX_REQ_QUEUES;
	const char *fd_arg = NULL;
	unsigned long v;
	int fd = -1, c, rc = 1;
	char err[512];
	sigset_t mask;

	plog_open(&(const struct plog_cfg){.ident = "pvscsi-vhost-user", .to_stderr = true});
	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return ctl_client(argc, argv);
	opterr = 0; /* one line of ours per mistake, not getopt's and then the usage */
	while ((c = getopt_long(argc, argv, ":s:f:pl:c:C:n:q:I:vhV", opts, NULL)) != -1) {
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
			const char *slash;
			unsigned int t, l;

			if (nluns == VSCSI_MAX_LUNS)
				return bad_usage("--lun %s: too many --lun (at most %u)", optarg,
				                 VSCSI_MAX_LUNS);
			if (!eq || (size_t)(eq - optarg) >= sizeof(tl) || !eq[1])
				return bad_usage("--lun '%s': expected T:L=SPEC", optarg);
			memcpy(tl, optarg, (size_t)(eq - optarg));
			tl[eq - optarg] = 0;
			slash = strchr(tl, '/');
			if (vuctl_parse_tl(slash ? slash + 1 : tl, &t, &l))
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
		case 'n':
			if (!vuctl_name_ok(optarg))
				return bad_usage("--name '%s': 1 to %d of A-Z a-z 0-9 _ . -",
				                 optarg, VUCTL_NAME_MAX - 1);
			name = optarg;
			break;
		case 'I':
			/* RFC 3720 3.2.6.1: vuctl_iscsi_name_ok(); the target checks the rest. */
			if (!vuctl_iscsi_name_ok(optarg))
				return bad_usage(
				    "--initiator-name '%s': an iSCSI name (iqn.YYYY-MM."
				    "reversed.domain:anything, at most 223 bytes)",
				    optarg);
			iscsi_name = optarg;
			break;
		case 'q':
			if (!parse_uint(optarg, VSCSI_MAX_REQ_QUEUES, &v) || v == 0)
				return bad_usage("--num-queues '%s': expected a number of request "
				                 "queues from 1 to %u",
				                 optarg, VSCSI_MAX_REQ_QUEUES);
			nq = (unsigned int)v;
			break;
		case 'v':
			lc.verbose = true;
			break;
		case 'L':
			lc.file = optarg;
			break;
		case 'T':
			if (plog_target_parse(optarg, &target))
				return bad_usage(
				    "--log-target '%s': expected auto, journal, syslog or "
				    "stderr",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pvscsi-vhost-user (pvscsi) %s\n", PVSCSI_VERSION);
			return 0;
		case ':':
			return bad_usage("%s needs an argument (see --help)", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return bad_usage("'%s': not an option (options start with --; see --help)",
		                 argv[optind]);
	if (a.socket_path && fd_arg)
		return bad_usage("both --socket-path and --fd given: expected exactly one of "
		                 "--socket-path=PATH or --fd=N");
	if (!a.socket_path && !fd_arg && !a.ctl_path && !config)
		return bad_usage("%s: expected exactly one of --socket-path=PATH or --fd=N",
		                 a.socket_path ? "both --socket-path and --fd given"
		                               : "neither --socket-path nor --fd given");
	if (fd_arg && (rc = check_fd_arg(fd_arg, &fd)))
		return rc;
	/* Stamped in a file, which nobody else stamps; stderr's keeper does. */
	lc.stamp = lc.file != NULL;
	lc.to_stderr = target == PLOG_TARGET_STDERR;
	lc.to_syslog = target == PLOG_TARGET_SYSLOG;
	lc.to_journal = target == PLOG_TARGET_JOURNAL;
	if (target == PLOG_TARGET_AUTO && !lc.file) {
		if (plog_journal_stream(STDERR_FILENO))
			lc.to_journal = true; /* systemd: the same place, with fields */
		else
			lc.to_stderr = true;
	}
	rc = plog_open(&lc);
	if (rc) {
		fprintf(stderr, "pvscsi-vhost-user: --log-file %s: %s\n", lc.file, strerror(-rc));
		return 1;
	}
	rc = 1;
	signal(SIGPIPE, SIG_IGN);
	/* Sleeping in its io_uring: one deferred ring for file and sg I/O alike. */
	a.sleeps = uring_sleep_wanted();
	if ((a.sleeps ? pvs_worker_new_sleeping(256, &a.w) : pvs_worker_new(256, &a.w)) != 0) {
		plog(LOG_ERR, "cannot create the worker");
		return 1;
	}
	a.ep = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (a.ep < 0 || a.sig_fd < 0)
		goto out;
	epoll_set(&a, EPOLL_CTL_ADD, a.sig_fd, TAG_SIGNAL);
	/* Sleeping in its io_uring, the loop polls the set from there: the ring's own fd stays out.
	 */
	if (!a.sleeps)
		epoll_set(&a, EPOLL_CTL_ADD, pvs_worker_fd(a.w), TAG_WORKER);
	if (a.ctl_path) {
		struct pctl_cfg cc;

		/* pctl_open() replaces what is there: only a stale socket may be. */
		rc = free_path("--ctl-socket", a.ctl_path, err, sizeof(err));
		if (!rc) {
			vuctl_cfg(&cc, a.ctl_path, &a.env);
			rc = pctl_open(&cc, &a.ctl, err, sizeof(err)) ? 1 : 0;
		}
		if (rc) {
			fprintf(stderr, "pvscsi-vhost-user: %s\n", err);
			goto out;
		}
		epoll_set(&a, EPOLL_CTL_ADD, pctl_fd(a.ctl), TAG_CTL);
	}
	hc.worker = a.w;
	hc.log = plog_tagged; /* no tag: the line is about the LUN, whoever uses it */
	if (pvs_host_new(&hc, &a.host)) {
		plog(LOG_ERR, "out of memory");
		goto out;
	}
	a.once = fd_arg != NULL;
	env_init(&a.env, &a);
	if (config && vuctl_load(&a.env, config, err, sizeof(err))) {
		plog(LOG_ERR, "%s", err);
		goto out;
	}
	if ((a.socket_path || fd_arg) && ctrl_new(&a, "--socket-path", name, a.socket_path, fd, nq,
	                                          iscsi_name, true, err, sizeof(err)) != 0) {
		plog(LOG_ERR, "%s", err);
		rc = 1;
		goto out;
	}
	for (unsigned int i = 0; i < nluns; i++) {
		char tl[32], cname[VUCTL_NAME_MAX + 1];
		const char *eq = strchr(luns[i], '='), *slash;
		const struct plog_tag *old;
		struct plog_tag t;
		int added;

		/* The form was checked with the options. */
		memcpy(tl, luns[i], (size_t)(eq - luns[i]));
		tl[eq - luns[i]] = 0;
		slash = strchr(tl, '/');
		snprintf(cname, sizeof(cname), "%.*s", slash ? (int)(slash - tl) : VUCTL_NAME_MAX,
		         slash ? tl : name);
		plog_tag_vhost(&t, cname);
		snprintf(t.lun, sizeof(t.lun), "%s", slash ? slash + 1 : tl);
		/* The LUN core's and ctl.c's lines about it get its controller and address. */
		old = plog_scope(&t);
		added = vuctl_add(&a.env, tl, eq + 1, err, sizeof(err));
		plog_scope(old);
		if (added) {
			plog_tagged(&t, LOG_ERR, "--lun %s: %s", luns[i], err);
			goto out;
		}
	}
	/* Only once every LUN opened: a front-end never meets a half-made controller. */
	if (a.socket_path && ctrl_listen(ctrl_find(&a, name), "--socket-path", err, sizeof(err))) {
		/* A command line's mistake: on stderr as the other option errors, with their
		 * status. */
		fprintf(stderr, "pvscsi-vhost-user: %s\n", err);
		rc = a.listen_status;
		goto out;
	}
	for (unsigned int i = 0; i < MAX_CTRLS; i++) {
		struct ctrl *ct = &a.ctrls[i];

		if (ct->used && ct->listen_fd >= 0)
			epoll_set(&a, EPOLL_CTL_ADD, ct->listen_fd, TAG(i, TAG_LISTEN));
		if (ct->used && ct->dev)
			epoll_set(&a, EPOLL_CTL_ADD, ct->conn_fd, TAG(i, TAG_CONN));
	}
	/* Every socket listens and every LUN is open: QEMU may connect. */
	notify_status(&a, "READY=1\n");
	rc = run(&a) ? 1 : 0;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining the queues");
out:
	for (unsigned int i = 0; i < MAX_CTRLS; i++)
		ctrl_free(&a.ctrls[i], -ESHUTDOWN);
	if (a.host) {
		/* Requests of disconnected front-ends still hold their LUNs: let them end. */
		pvs_host_drain(a.host);
		pvs_host_free(a.host);
	}
	pvs_worker_free(a.w);
	pctl_close(a.ctl);
	if (a.sig_fd >= 0)
		close(a.sig_fd);
	if (a.ep >= 0)
		close(a.ep);
	return rc;
}
