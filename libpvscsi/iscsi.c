/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iscsi.c - iscsi:// LUNs: a LUN of an iSCSI target, reached through
 * libiscsi, as a passthrough LUN (the same filter, fixups and raw answers as
 * an sg one, passthrough.c).
 *
 * One session per LUN and initiator: the initiator name is the guest's
 * (the transport derives it from a stable identity, never from a domid),
 * and the ISID is derived from that name, the target and the LUN, so that
 * the I_T nexus, and with it the target's registrations and reservations,
 * is the same after a restart, a restore or a migration to another host.
 * Two guests on one host are two nexuses, as two HBAs would be.
 *
 * The session is served by the worker's epoll set: the socket with the
 * events libiscsi asks for, and a timerfd that calls iscsi_service() once a
 * second while commands are in flight or the session is down, for
 * libiscsi's timeouts and our logins.  An idle, logged-in session arms
 * nothing.
 *
 * After a network or target failure this file logs in again itself, not
 * libiscsi (whose reconnect would pick a new random ISID, and so a new
 * nexus, and stops retrying once its socket is gone): the commands in
 * flight are kept, in order, and sent again once on the new session; while
 * it is down, new ones are answered BUSY, which an initiator retries.
 * Nothing is completed twice: a command is either in libiscsi's queues or
 * on our list, never both.
 *
 * A session outlives its LUN for a while (ISCSI_LINGER): a guest that is
 * saved and restored, or whose LUN is detached and attached again, finds
 * it still logged in.  Targets that key registrations by session rather
 * than by initiator port (tgt does, by TSIH) would otherwise drop them at
 * the logout, and with them the guest's reservation.  Only the same
 * initiator name, portal, target, LUN and credentials take it up again.
 *
 * The CHAP secret is read once, at open, from a file only root can read,
 * named in the spec (chap=FILE): never from the spec or a command line,
 * which end up in xenstore and in ps.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "emulate_int.h"
#include "passthrough.h"

/* libiscsi takes our iovecs as they are: the two layouts must be one. */
_Static_assert(sizeof(struct scsi_iovec) == sizeof(struct iovec), "scsi_iovec layout");
_Static_assert(offsetof(struct scsi_iovec, iov_len) == offsetof(struct iovec, iov_len),
               "scsi_iovec layout");

/* Commands in flight per LUN; more are answered TASK SET FULL. */
#define ISCSI_MAX_INFLIGHT 128
/* Seconds for the open's synchronous login and INQUIRY, so a dead portal fails the attach. */
#define ISCSI_OPEN_TIMEOUT 15
/* The longest wait between two logins while the target is away. */
#define ISCSI_RETRY_MAX 8
/*
 * Seconds an ABORT TASK may wait for the target's answer.  A target that
 * answers neither the command nor the abort is hung: the command then ends
 * here, and the session is logged in again, which ends the old session's
 * tasks at the target (RFC 7143 6.3.5, session reinstatement).
 */
#define ISCSI_ABORT_TIMEOUT 10
/*
 * Seconds a healthy session stays logged in once its LUN is closed, for the
 * same guest to take up again (PVS_ISCSI_LINGER overrides, 0 turns it off):
 * long enough for an xl save and restore of a guest of a few GiB.
 */
#define ISCSI_LINGER 120

struct iscsi_priv;

/* An ABORT TASK sent to the target, until it answers. */
struct iscsi_abort {
	struct iscsi_priv *p;
	uint32_t itt; /* the aborted command's task tag */
	bool used;
	time_t sent; /* CLOCK_MONOTONIC seconds */
};

struct iscsi_priv {
	struct pvsi_pt pt; /* first: the filter's state (passthrough.h) */
	struct iscsi_abort aborts[ISCSI_MAX_INFLIGHT];
	struct iscsi_context *ctx; /* NULL between a lost session and the next login attempt */
	struct pvs_lun *lun;
	/* What every login needs again. */
	char initiator[224], portal[256], target[256], user[256], secret[256];
	int lun_nr;
	uint32_t isid;
	/*
	 * The session's own epoll set, the one fd the worker polls for it.
	 * The socket changes with every login, so it is registered here,
	 * one-shot and tagged with a generation: an event of a socket gone
	 * carries no pointer and is told apart and dropped.
	 */
	int epfd;
	int fd;         /* the socket registered in epfd, -1 none */
	uint64_t gen;   /* its registration's tag; 0 is the timer's */
	uint32_t armed; /* the events it is armed for; 0 once its one shot fired */
	int tfd;        /* timerfd, in epfd with tag 0 */
	bool ticking;   /* the timerfd is armed */
	/* Session state. */
	bool down;         /* lost: logging in again; new commands are BUSY */
	bool lost;         /* seen inside libiscsi's callbacks, handled after them */
	bool login_failed; /* the same for a login attempt */
	bool logging_in;   /* an asynchronous login is under way on ctx */
	time_t login_started;
	unsigned int tries;
	time_t next_try;
	char lost_why[200];
	char login_why[64];   /* why a login attempt ended, when libiscsi cannot say */
	char logged_why[200]; /* the reason of the last login failure logged */
	/* Commands of the lost session, sent again after the login (req->core.scratch[1] links). */
	struct pvs_req *retry_head, *retry_tail;
	unsigned int inflight; /* sent to libiscsi or on the retry list */
	/* Parked: the LUN is closed (lun NULL), the session waits to be taken up again. */
	struct pvs_worker *worker;
	struct iscsi_priv *next_parked;
	int pdt;     /* the LUN's peripheral device type, for the next LUN on this session */
	bool opened; /* the open succeeded: the session may be parked at the close */
};

/* Sessions whose LUN closed, until ISCSI_LINGER ends or a LUN takes them up. */
static struct iscsi_priv *parked;
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;

static struct iscsi_priv *priv_of(struct pvs_lun *lun)
{
	return lun->priv;
}

static int fail(char *err, size_t errlen, const char *url, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *url, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return rc;
	n = snprintf(err, errlen, "iscsi LUN '%s': ", url);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* FNV-1a: the ISID's 24 variable bits, the same for the same nexus on every host. */
static uint32_t isid_of(const char *initiator, const char *target, int lun)
{
	uint32_t h = 2166136261u;
	char nr[16];

	snprintf(nr, sizeof(nr), "/%d", lun);
	for (const char *parts[] = {initiator, "|", target, nr}, **p = parts;
	     p < parts + sizeof(parts) / sizeof(parts[0]); p++)
		for (const unsigned char *c = (const unsigned char *)*p; *c; c++)
			h = (h ^ *c) * 16777619u;
	return h & 0xffffff;
}

/*
 * USER's secret from @path: lines "USER SECRET", '#' comments.  The file
 * must be a regular file owned by root (or by us) that nobody else may read
 * or write: a secret others can read is no secret, and one others can
 * write lets them pick the credentials.
 */
static int read_chap(const char *url, const char *path, const char *user, char *secret, size_t len,
                     char *err, size_t errlen)
{
	char line[512];
	struct stat st;
	FILE *f;
	int fd, rc = -ENOENT;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail(err, errlen, url, -errno, "cannot read the CHAP file '%s': %s", path,
		            strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, url, -EINVAL, "the CHAP file '%s' is not a regular file",
		            path);
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077)) {
		close(fd);
		return fail(err, errlen, url, -EPERM,
		            "the CHAP file '%s' is mode %03o, owner %u: it must be root's and "
		            "readable by its owner only (chmod 600)",
		            path, (unsigned int)(st.st_mode & 0777), (unsigned int)st.st_uid);
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return fail(err, errlen, url, -ENOMEM, "cannot read the CHAP file '%s'", path);
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *name, *sec;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || !*p)
			continue;
		name = strtok(p, " \t\r\n");
		sec = strtok(NULL, " \t\r\n");
		if (!name || !sec || strcmp(name, user) != 0)
			continue;
		if (strlen(sec) >= len) {
			rc = -ENAMETOOLONG;
			break;
		}
		snprintf(secret, len, "%s", sec);
		rc = 0;
		break;
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (rc == -ENOENT)
		return fail(err, errlen, url, rc, "the CHAP file '%s' has no line for user '%s'",
		            path, user);
	if (rc)
		return fail(err, errlen, url, rc, "user '%s''s secret in '%s' is too long", user,
		            path);
	return 0;
}

/*
 * libiscsi's last error, fit for a log line: one line, and its own wording
 * for a socket that never connected ("can not reconnect") replaced.
 */
static const char *why(struct iscsi_context *ctx, char *buf, size_t len)
{
	const char *e = iscsi_get_error(ctx);
	size_t n;

	if (!e || !*e || strstr(e, "reconnect"))
		e = "the TCP connection failed (refused, unreachable, or no answer)";
	snprintf(buf, len, "%s", e);
	n = strlen(buf);
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return buf;
}

/* Seconds from the environment variable @name, @min to @max; @def when unset or out of range. */
static unsigned int env_seconds(const char *name, unsigned int def, unsigned long min,
                                unsigned long max)
{
	const char *e = getenv(name);
	char *end;
	unsigned long v;

	if (!e || !*e)
		return def;
	v = strtoul(e, &end, 10);
	return *end || v < min || v > max ? def : (unsigned int)v;
}

/* PVS_ISCSI_OPEN_TIMEOUT in place of ISCSI_OPEN_TIMEOUT: tests, slow SANs. */
static unsigned int open_timeout_s(void)
{
	return env_seconds("PVS_ISCSI_OPEN_TIMEOUT", ISCSI_OPEN_TIMEOUT, 1, 300);
}

static unsigned int linger_s(void)
{
	return env_seconds("PVS_ISCSI_LINGER", ISCSI_LINGER, 0, 86400);
}

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void notice(struct iscsi_priv *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(struct iscsi_priv *p, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	int n;

	if (!p->lun || !p->lun->notice)
		return;
	n = snprintf(msg, sizeof(msg), "iscsi LUN '%s': ", p->lun->backing);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	p->lun->notice(p->lun->notice_arg, p->lun, msg);
}

/*
 * A context for a login: the same initiator name and ISID every time, so
 * that the target sees the same I_T nexus (SAM-5 4.6.4: the initiator port
 * is the name and the ISID).  NULL when libiscsi has no memory.
 */
static struct iscsi_context *new_ctx(struct iscsi_priv *p)
{
	struct iscsi_context *c = iscsi_create_context(p->initiator);

	if (!c)
		return NULL;
	if (getenv("PVS_ISCSI_DEBUG")) {
		iscsi_set_log_level(c, atoi(getenv("PVS_ISCSI_DEBUG")));
		iscsi_set_log_fn(c, iscsi_log_to_stderr);
	}
	if (iscsi_set_targetname(c, p->target) || iscsi_set_session_type(c, ISCSI_SESSION_NORMAL) ||
	    iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE_CRC32C) ||
	    iscsi_set_isid_random(c, p->isid, 0) ||
	    (p->user[0] && iscsi_set_initiator_username_pwd(c, p->user, p->secret))) {
		iscsi_destroy_context(c);
		return NULL;
	}
	/* We log in again ourselves; libiscsi's way would change the ISID. */
	iscsi_set_noautoreconnect(c, 1);
	/* A portal that drops SYNs fails in seconds, not after the kernel's two minutes. */
	iscsi_set_tcp_syncnt(c, 2);
	return c;
}

/*
 * Keep the session's epoll set in step with libiscsi: the socket, with
 * POLLOUT only while PDUs wait to be sent (a writable socket would wake
 * the loop for nothing), and the timer, ticking while something is
 * pending or the session is down.
 */
static void sync_events(struct iscsi_priv *p)
{
	int fd = p->ctx ? iscsi_get_fd(p->ctx) : -1;
	int want = fd >= 0 ? iscsi_which_events(p->ctx) : 0;
	struct epoll_event ev = {.events = EPOLLONESHOT};
	bool tick = p->inflight || p->down;

	if (want & POLLIN)
		ev.events |= EPOLLIN;
	if (want & POLLOUT)
		ev.events |= EPOLLOUT;
	/*
	 * One-shot: re-armed after every service, with what libiscsi wants
	 * now; a submission that changes nothing (the socket already armed for
	 * the same events) makes no system call.
	 */
	ev.data.u64 = p->gen;
	if (fd >= 0 && fd == p->fd && (ev.events & ~EPOLLONESHOT) == p->armed) {
		/* Armed as wanted already. */
	} else if (fd >= 0 && (fd != p->fd || epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)) {
		if (p->fd >= 0)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		ev.data.u64 = ++p->gen;
		p->fd = epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? fd : -1;
	} else if (fd < 0 && p->fd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		p->fd = -1;
	}
	p->armed = p->fd >= 0 ? ev.events & ~EPOLLONESHOT : 0;
	/* A parked session's timer is its linger's end (park()). */
	if (p->lun && tick != p->ticking) {
		struct itimerspec its = {{tick, 0}, {tick, 0}};

		timerfd_settime(p->tfd, 0, &its, NULL);
		p->ticking = tick;
	}
}

/* Drop the context; what it still held comes back through cmd_done (CANCELLED). */
static void drop_ctx(struct iscsi_priv *p)
{
	struct iscsi_context *c = p->ctx;

	if (!c)
		return;
	if (p->fd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		p->fd = -1;
		p->armed = 0;
	}
	p->logging_in = false;
	/*
	 * NULL first: the callbacks the destruction runs (the login's,
	 * CANCELLED commands') see that their context is going, not a live
	 * session that failed.
	 */
	p->ctx = NULL;
	iscsi_destroy_context(c);
}

static void session_lost(struct iscsi_priv *p, const char *why_lost)
{
	if (!p->down)
		notice(p,
		       "session lost (%s); logging in again, commands in flight will be sent "
		       "again, new ones are answered BUSY until then",
		       why_lost);
	p->down = true;
	p->lost = false;
	drop_ctx(p);
	p->tries = 0;
	p->next_try = mono_s();
}

static void cmd_done(struct iscsi_context *ctx, int status, void *command_data, void *opaque);

static struct scsi_task *build_task(struct pvs_req *req)
{
	/* libiscsi frees the task it completes with scsi_free_scsi_task(): its allocation. */
	struct scsi_task *task = calloc(1, sizeof(*task));

	if (!task)
		return NULL;
	memcpy(task->cdb, req->cdb, req->cdb_len);
	task->cdb_size = req->cdb_len;
	task->expxferlen = (int)req->core.data_len;
	task->xfer_dir = SCSI_XFER_NONE;
	if (req->core.data_len && req->dir == PVS_DIR_FROM_DEV) {
		task->xfer_dir = SCSI_XFER_READ;
		scsi_task_set_iov_in(task, (struct scsi_iovec *)req->iov, (int)req->iovcnt);
	} else if (req->core.data_len && req->dir == PVS_DIR_TO_DEV) {
		task->xfer_dir = SCSI_XFER_WRITE;
		scsi_task_set_iov_out(task, (struct scsi_iovec *)req->iov, (int)req->iovcnt);
	} else {
		task->expxferlen = 0;
	}
	return task;
}

/* Hand @req to libiscsi; false when it would not take it (@req not completed). */
static bool send_req(struct iscsi_priv *p, struct pvs_req *req)
{
	struct scsi_task *task = build_task(req);

	if (!task)
		return false;
	req->core.scratch[0] = (uintptr_t)task;
	if (iscsi_scsi_command_async(p->ctx, p->lun_nr, task, cmd_done, NULL, req) < 0) {
		req->core.scratch[0] = 0;
		free(task);
		return false;
	}
	return true;
}

static void retry_push(struct iscsi_priv *p, struct pvs_req *req)
{
	req->core.scratch[0] = 0;
	req->core.scratch[1] = 0;
	if (p->retry_tail)
		p->retry_tail->core.scratch[1] = (uintptr_t)req;
	else
		p->retry_head = req;
	p->retry_tail = req;
}

/* The oldest command on the retry list, taken off it; NULL when it is empty. */
static struct pvs_req *retry_pop(struct iscsi_priv *p)
{
	struct pvs_req *req = p->retry_head;

	if (!req)
		return NULL;
	p->retry_head = (struct pvs_req *)(uintptr_t)req->core.scratch[1];
	if (!p->retry_head)
		p->retry_tail = NULL;
	req->core.scratch[1] = 0;
	return req;
}

/* Take @req off the retry list; false if it is not there. */
static bool retry_remove(struct iscsi_priv *p, struct pvs_req *req)
{
	struct pvs_req *prev = NULL;

	for (struct pvs_req *r = p->retry_head; r;
	     prev = r, r = (struct pvs_req *)(uintptr_t)r->core.scratch[1]) {
		if (r != req)
			continue;
		if (prev)
			prev->core.scratch[1] = r->core.scratch[1];
		else
			p->retry_head = (struct pvs_req *)(uintptr_t)r->core.scratch[1];
		if (p->retry_tail == r)
			p->retry_tail = prev;
		r->core.scratch[1] = 0;
		return true;
	}
	return false;
}

static void login_connected(struct iscsi_context *ctx, int status, void *command_data,
                            void *opaque);

static void login_done(struct iscsi_context *ctx, int status, void *command_data, void *opaque)
{
	struct iscsi_priv *p = opaque;
	const char *to = iscsi_get_target_address(ctx);
	struct pvs_req *req;

	(void)command_data;
	if (ctx != p->ctx)
		return; /* its context is being dropped (drop_ctx): over already */
	if (status == SCSI_STATUS_REDIRECT && to && to[0]) {
		/* A login redirect (RFC 7143 11.13.5): on to the portal it names. */
		iscsi_disconnect(ctx);
		if (iscsi_connect_async(ctx, to, login_connected, p) != 0) {
			p->logging_in = false;
			p->login_failed = true;
		}
		return;
	}
	p->logging_in = false;
	if (status != SCSI_STATUS_GOOD) {
		/* The context is dropped after libiscsi has returned (service()). */
		p->login_failed = true;
		return;
	}
	p->down = false;
	p->tries = 0;
	notice(p, "session re-established; %s",
	       p->retry_head ? "sending the commands in flight again" : "nothing was in flight");
	while ((req = retry_pop(p))) {
		if (!send_req(p, req)) {
			p->inflight--;
			pvsi_req_fail_host(req, PVS_HOST_ERROR);
		}
	}
}

/*
 * The TCP connection of a login again is up (or failed): the Login
 * Request.  Not libiscsi's full connect, which would take the new
 * session's unit attentions with TEST UNIT READY: after a target's
 * restart they are the guest's to see (its registrations may be gone),
 * on the commands sent again.  It would also leak its state when a login
 * is given up before it ends (libiscsi calls no callback then).
 */
static void login_connected(struct iscsi_context *ctx, int status, void *command_data, void *opaque)
{
	struct iscsi_priv *p = opaque;

	(void)command_data;
	if (ctx != p->ctx)
		return;
	if (status != SCSI_STATUS_GOOD || iscsi_login_async(ctx, login_done, p) != 0) {
		p->logging_in = false;
		p->login_failed = true;
	}
}

/*
 * A login attempt (@how: "failed", "could not start") is over: drop its
 * context and wait 1, 2, 4, then ISCSI_RETRY_MAX s before the next.
 */
static void retry_later(struct iscsi_priv *p, const char *how)
{
	unsigned int wait = p->tries < 3 ? 1u << p->tries : ISCSI_RETRY_MAX;
	char e[200];
	const char *reason = p->login_why[0] ? p->login_why
	                     : p->ctx        ? why(p->ctx, e, sizeof(e))
	                                     : "no memory";

	p->tries++;
	/*
	 * The first failures, one in ten, and each that fails for another
	 * reason than the last logged: a long outage must not flood the log,
	 * but how the target comes back (refused, dropped, mute) shows.
	 */
	if (p->tries <= 3 || p->tries % 10 == 0 || strcmp(reason, p->logged_why)) {
		notice(p, "login %u to %s at %s %s (%s); trying again in %u s", p->tries, p->target,
		       p->portal, how, reason, wait);
		snprintf(p->logged_why, sizeof(p->logged_why), "%s", reason);
	}
	p->login_why[0] = '\0';
	drop_ctx(p);
	p->next_try = mono_s() + wait;
}

/* Start a login on a new context, when the time for the next attempt has come. */
static void try_login(struct iscsi_priv *p)
{
	if (p->ctx || mono_s() < p->next_try)
		return;
	p->ctx = new_ctx(p);
	if (p->ctx && iscsi_connect_async(p->ctx, p->portal, login_connected, p) == 0) {
		p->logging_in = true;
		p->login_started = mono_s();
		return;
	}
	retry_later(p, "could not start");
}

static void service(struct iscsi_priv *p, int revents)
{
	char e[200];

	if (p->ctx && iscsi_service(p->ctx, revents) < 0) {
		/*
		 * A failed login is not a session lost.  Mostly login_done()
		 * says so; but a socket the target resets or closes during the
		 * login only makes libiscsi return -1 (it checks POLLHUP and
		 * POLLERR before reading the Login Response, and reconnects
		 * only sessions that were logged in), and the login would
		 * wait for ever.
		 */
		if (p->logging_in) {
			snprintf(p->login_why, sizeof(p->login_why),
			         "the target closed or reset the connection");
			p->login_failed = true;
		} else if (!p->login_failed) {
			p->lost = true;
		}
	}
	/* A target that takes the connection but never answers the login. */
	if (p->ctx && p->logging_in && mono_s() - p->login_started >= (time_t)open_timeout_s()) {
		snprintf(p->login_why, sizeof(p->login_why), "no Login Response in %u s",
		         open_timeout_s());
		p->login_failed = true;
	}
	if (p->ctx && p->lost) {
		int fd = iscsi_get_fd(p->ctx);
		char c;

		/*
		 * libiscsi sets no error of its own for an end of file, and its
		 * last one may be a command's sense from long before.
		 */
		if (p->lost_why[0])
			snprintf(e, sizeof(e), "%s", p->lost_why);
		else if (fd >= 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			snprintf(e, sizeof(e), "the target closed the connection");
		else
			why(p->ctx, e, sizeof(e));
		p->lost_why[0] = '\0';
		session_lost(p, e);
	}
	if (p->login_failed || (p->ctx && p->logging_in && iscsi_get_fd(p->ctx) < 0)) {
		p->login_failed = false;
		retry_later(p, "failed");
	}
	if (p->down)
		try_login(p);
	sync_events(p);
}

/* The command of task tag @itt still waiting for the target's answer; NULL if it has ended. */
static struct scsi_task *pending_task(struct iscsi_priv *p, uint32_t itt)
{
	for (struct pvs_req *r = p->lun->inflight; r; r = r->core.next) {
		struct scsi_task *t = (struct scsi_task *)(uintptr_t)r->core.scratch[0];

		if (t && t->itt == itt)
			return t;
	}
	return NULL;
}

/* Aborts the target has not answered in ISCSI_ABORT_TIMEOUT s: see there. */
static void expire_aborts(struct iscsi_priv *p)
{
	time_t now = mono_s();
	bool stale = false;

	for (unsigned int i = 0; i < ISCSI_MAX_INFLIGHT; i++) {
		struct iscsi_abort *a = &p->aborts[i];

		if (a->used && now - a->sent >= ISCSI_ABORT_TIMEOUT && pending_task(p, a->itt))
			stale = true;
	}
	if (!stale || !p->ctx)
		return;
	/*
	 * The aborted commands end when the old context goes (cmd_done sees
	 * them aborted); the others are sent again on the new session.
	 */
	snprintf(p->lost_why, sizeof(p->lost_why), "the target answered no ABORT TASK in %d s",
	         ISCSI_ABORT_TIMEOUT);
	p->lost = true;
}

static void parked_drop(struct iscsi_priv *p, bool logout);

/* The session's epoll set is readable: its socket, its timer, or both. */
static void on_events(void *opaque, uint32_t events)
{
	struct iscsi_priv *p = opaque;
	struct epoll_event evs[4];
	int n, revents = 0;
	bool tick = false;

	(void)events;
	n = epoll_wait(p->epfd, evs, 4, 0);
	for (int i = 0; i < n; i++) {
		uint32_t e = evs[i].events;

		if (evs[i].data.u64 == 0) {
			uint64_t v;

			tick = read(p->tfd, &v, sizeof(v)) == sizeof(v) || tick;
			continue;
		}
		if (evs[i].data.u64 != p->gen)
			continue; /* a socket of a context gone */
		p->armed = 0;
		revents |= (e & EPOLLIN ? POLLIN : 0) | (e & EPOLLOUT ? POLLOUT : 0) |
		           (e & EPOLLERR ? POLLERR : 0) | (e & EPOLLHUP ? POLLHUP : 0);
	}
	if (!p->lun) {
		/*
		 * Parked: the target's NOP-Ins are answered; a session lost or
		 * a linger over ends it (no login again: nobody waits for it).
		 */
		if (tick)
			parked_drop(p, true);
		else if (p->ctx && iscsi_service(p->ctx, revents) < 0)
			parked_drop(p, false);
		else
			sync_events(p);
		return;
	}
	if (tick)
		expire_aborts(p);
	service(p, revents);
}

static void cmd_done(struct iscsi_context *ctx, int status, void *command_data, void *opaque)
{
	struct pvs_req *req = opaque;
	struct scsi_task *task = (struct scsi_task *)(uintptr_t)req->core.scratch[0];
	struct iscsi_priv *p = priv_of(req->core.lun);
	uint64_t moved = 0;

	(void)command_data; /* NULL when cancelled: the task is ours, in scratch[0] */
	req->core.scratch[0] = 0;
	if (pvsi_pt_given_up(req)) {
		p->inflight--;
		scsi_free_scsi_task(task);
		return;
	}
	if (status == SCSI_STATUS_CANCELLED) {
		/*
		 * Not aborted by the initiator: libiscsi gave it back because
		 * the session went.  It waits for the next login, in order.
		 */
		scsi_free_scsi_task(task);
		retry_push(p, req);
		/* A live session's loss; not the context drop_ctx() is destroying. */
		if (ctx == p->ctx)
			p->lost = true;
		return;
	}
	p->inflight--;
	switch (status) {
	case SCSI_STATUS_TIMEOUT:
		req->host = PVS_HOST_TIMEOUT;
		break;
	case SCSI_STATUS_ERROR:
		/* A PDU the target refused: the initiator may retry. */
		req->host = PVS_HOST_ERROR;
		break;
	default:
		req->host = PVS_HOST_OK;
		req->status = (uint8_t)status;
		/* The Response PDU's data segment: SenseLength (2 bytes), then the sense. */
		if (status == SCSI_STATUS_CHECK_CONDITION && task->datain.size > 2) {
			size_t n = (size_t)task->datain.size - 2;

			if (n > PVS_SENSE_MAX)
				n = PVS_SENSE_MAX;
			memcpy(req->sense, task->datain.data + 2, n);
			req->sense_len = (uint8_t)n;
		}
		moved = (uint64_t)task->expxferlen;
		if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW)
			moved = task->residual < moved ? moved - task->residual : 0;
		break;
	}
	scsi_free_scsi_task(task);
	if (req->host != PVS_HOST_OK) {
		pvsi_req_fail_host(req, req->host);
		return;
	}
	pvsi_pt_finish(req, moved);
}

static void is_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	struct iscsi_priv *p = priv_of(lun);

	if (!pvsi_pt_prepare(lun, req))
		return;
	if (req->cdb_len == 0 || req->cdb_len > PVS_CDB_MAX || req->dir == PVS_DIR_BIDI ||
	    req->core.data_len > INT32_MAX) {
		pvsi_req_fail_host(req, PVS_HOST_ERROR);
		return;
	}
	if (p->down || !p->ctx) {
		/* SAM-5 5.3.1: the initiator retries BUSY; the session is coming back. */
		req->status = PVS_STATUS_BUSY;
		req->host = PVS_HOST_OK;
		req->sense_len = 0;
		pvsi_pt_finish(req, 0);
		return;
	}
	if (p->inflight >= ISCSI_MAX_INFLIGHT || !send_req(p, req)) {
		pvsi_req_complete(req, PVS_SR_TASK_SET_FULL);
		return;
	}
	p->inflight++;
	sync_events(p);
}

static void abort_done(struct iscsi_context *ctx, int status, void *command_data, void *opaque)
{
	struct iscsi_abort *a = opaque;
	struct scsi_task *task;

	(void)command_data;
	a->used = false;
	/* CANCELLED: the session went; its commands come back through cmd_done. */
	if (status == SCSI_STATUS_CANCELLED)
		return;
	/*
	 * RFC 7143 11.5.1: a target that aborted a command never answers it.
	 * Whatever the TMF's outcome, the command ends here if it has not
	 * already (cmd_done, aborted).
	 */
	task = pending_task(a->p, a->itt);
	if (task)
		iscsi_scsi_cancel_task(ctx, task);
	sync_events(a->p);
}

static int is_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	struct iscsi_priv *p = priv_of(lun);
	struct scsi_task *task = (struct scsi_task *)(uintptr_t)req->core.scratch[0];
	struct iscsi_abort *a = NULL;

	if (retry_remove(p, req)) {
		/* Never reached the new session: it simply ends. */
		p->inflight--;
		pvsi_pt_given_up(req);
		sync_events(p);
		return 0;
	}
	if (!task || !p->ctx)
		return -ENOENT;
	for (unsigned int i = 0; i < ISCSI_MAX_INFLIGHT && !a; i++)
		if (!p->aborts[i].used)
			a = &p->aborts[i];
	/*
	 * SAM-5 7.2: ABORT TASK to the target, which may be running it.
	 * Without a free slot, the command ends here and the target's answer,
	 * if one comes, is dropped by libiscsi.
	 */
	if (a) {
		a->p = p;
		a->itt = task->itt;
		a->used = true;
		a->sent = mono_s();
		if (iscsi_task_mgmt_abort_task_async(p->ctx, task, abort_done, a) == 0) {
			sync_events(p);
			return 0;
		}
		a->used = false;
	}
	iscsi_scsi_cancel_task(p->ctx, task);
	sync_events(p);
	return 0;
}

/*
 * Keep @p's session, logged in and idle, for linger_s() once its LUN is
 * closed.  false when it is not worth keeping: down, busy, or lingering off.
 */
static bool park(struct iscsi_priv *p)
{
	unsigned int s = linger_s();
	struct itimerspec its = {{0, 0}, {(time_t)s, 0}};

	if (!s || !p->opened || !p->ctx || p->down || p->logging_in || p->inflight ||
	    p->retry_head || p->epfd < 0 || p->tfd < 0 || !iscsi_is_logged_in(p->ctx))
		return false;
	for (unsigned int i = 0; i < ISCSI_MAX_INFLIGHT; i++)
		if (p->aborts[i].used)
			return false;
	if (timerfd_settime(p->tfd, 0, &its, NULL) < 0)
		return false;
	notice(p,
	       "LUN closed; the session of %s stays logged in for %u s, for this guest to take up "
	       "again",
	       p->initiator, s);
	p->ticking = true;
	p->worker = p->lun->worker;
	p->lun->priv = NULL;
	p->lun = NULL;
	pthread_mutex_lock(&parked_lock);
	p->next_parked = parked;
	parked = p;
	pthread_mutex_unlock(&parked_lock);
	sync_events(p);
	return true;
}

static void unlink_parked(struct iscsi_priv *p)
{
	pthread_mutex_lock(&parked_lock);
	for (struct iscsi_priv **pp = &parked; *pp; pp = &(*pp)->next_parked) {
		if (*pp == p) {
			*pp = p->next_parked;
			break;
		}
	}
	pthread_mutex_unlock(&parked_lock);
	p->next_parked = NULL;
}

/* Free a session's resources: log out first when @logout and it is healthy. */
static void session_free(struct iscsi_priv *p, struct pvs_worker *w, bool logout)
{
	if (p->epfd >= 0) {
		pvsi_worker_del_fd(w, p->epfd);
		close(p->epfd);
	}
	if (p->tfd >= 0)
		close(p->tfd);
	if (logout && p->ctx && !p->down && iscsi_is_logged_in(p->ctx)) {
		/* A polite logout, bounded: a dead target must not hold up a close. */
		iscsi_set_timeout(p->ctx, 2);
		iscsi_logout_sync(p->ctx);
	}
	if (p->ctx)
		iscsi_destroy_context(p->ctx);
	explicit_bzero(p->secret, sizeof(p->secret));
	free(p);
}

/* A parked session's linger is over, or it was lost: it ends. */
static void parked_drop(struct iscsi_priv *p, bool logout)
{
	unlink_parked(p);
	session_free(p, p->worker, logout);
}

void pvsi_iscsi_worker_gone(struct pvs_worker *w)
{
	struct iscsi_priv *mine = NULL, **pp;

	pthread_mutex_lock(&parked_lock);
	for (pp = &parked; *pp;) {
		struct iscsi_priv *p = *pp;

		if (p->worker != w) {
			pp = &p->next_parked;
			continue;
		}
		*pp = p->next_parked;
		p->next_parked = mine;
		mine = p;
	}
	pthread_mutex_unlock(&parked_lock);
	while (mine) {
		struct iscsi_priv *p = mine;

		mine = p->next_parked;
		session_free(p, w, true);
	}
}

/*
 * The parked session of @p's initiator, portal, target, LUN and
 * credentials on @w, taken off the list; NULL if there is none.
 */
static struct iscsi_priv *unpark(const struct iscsi_priv *p, struct pvs_worker *w)
{
	struct iscsi_priv *q = NULL, **pp;

	pthread_mutex_lock(&parked_lock);
	for (pp = &parked; *pp; pp = &(*pp)->next_parked) {
		q = *pp;
		if (q->worker == w && q->lun_nr == p->lun_nr &&
		    !strcmp(q->initiator, p->initiator) && !strcmp(q->portal, p->portal) &&
		    !strcmp(q->target, p->target) && !strcmp(q->user, p->user) &&
		    !strcmp(q->secret, p->secret)) {
			*pp = q->next_parked;
			q->next_parked = NULL;
			break;
		}
		q = NULL;
	}
	pthread_mutex_unlock(&parked_lock);
	return q;
}

static void is_close(struct pvs_lun *lun)
{
	struct iscsi_priv *p = priv_of(lun);

	if (!p)
		return;
	if (park(p))
		return;
	session_free(p, lun->worker, true);
	lun->priv = NULL;
}

/*
 * The session's state is the LUN's and its socket and timer sit in its own
 * epoll set, so an idle session moves with that one fd.  A session that
 * is down, logging in again, or waiting for an ABORT TASK's answer or a
 * given-up command's is busy: what those end in (commands sent again, a
 * context dropped) is best finished where it began.
 */
static bool is_busy(const struct pvs_lun *lun)
{
	const struct iscsi_priv *p = lun->priv;

	if (!p)
		return false;
	if (p->inflight || p->retry_head || p->down || p->lost || p->login_failed || p->logging_in)
		return true;
	for (unsigned int i = 0; i < ISCSI_MAX_INFLIGHT; i++)
		if (p->aborts[i].used)
			return true;
	return false;
}

static int is_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	struct iscsi_priv *p = priv_of(lun);
	char url[PVS_SPEC_MAX + 16];
	int rc;

	if (!p || p->epfd < 0)
		return 0;
	rc = pvsi_worker_add_fd(to, p->epfd, EPOLLIN, on_events, p);
	if (rc) {
		snprintf(url, sizeof(url), "%s/%s/%d", p->portal, p->target, p->lun_nr);
		return fail(err, errlen, url, rc, "the new worker refused the session's fd: %s",
		            strerror(-rc));
	}
	pvsi_worker_del_fd(lun->worker, p->epfd);
	return 0;
}

const struct pvsi_lun_ops pvsi_iscsi_ops = {
    .kind = "iscsi",
    .submit = is_submit,
    .cancel = is_cancel,
    .capacity = NULL,
    .close = is_close,
    .busy = is_busy,
    .move = is_move,
};

/*
 * The LUN's device type from a standard INQUIRY, and that a logical unit
 * is there at all: a wrong LUN number is an attach error, not a disk that
 * answers nothing.
 */
static int probe(struct iscsi_priv *p, const char *url, char *err, size_t errlen)
{
	struct scsi_task *t = iscsi_inquiry_sync(p->ctx, p->lun_nr, 0, 0, 36);
	int rc = 0;

	if (!t) {
		char msg[256];

		return fail(err, errlen, url, -EIO, "INQUIRY failed: %s",
		            why(p->ctx, msg, sizeof(msg)));
	}
	if (t->status != SCSI_STATUS_GOOD) {
		rc = fail(err, errlen, url, -ENODEV,
		          "INQUIRY of LUN %d failed (status %02xh, sense key %xh ASC/ASCQ %04xh): "
		          "no such LUN on the target?",
		          p->lun_nr, t->status & 0xff, (unsigned int)t->sense.key,
		          (unsigned int)t->sense.ascq);
	} else if (t->datain.size < 1 || (t->datain.data[0] >> 5) == 3) {
		rc = fail(err, errlen, url, -ENODEV,
		          "the target has no LUN %d (INQUIRY peripheral qualifier 3)", p->lun_nr);
	} else if ((t->datain.data[0] >> 5) != 0) {
		rc = fail(err, errlen, url, -ENODEV,
		          "LUN %d is not connected (INQUIRY peripheral qualifier %d)", p->lun_nr,
		          t->datain.data[0] >> 5);
	} else {
		p->lun->pdt = t->datain.data[0] & 0x1f;
		p->pdt = p->lun->pdt;
	}
	scsi_free_scsi_task(t);
	return rc;
}

static int is_bind(struct pvs_lun *lun, char *err, size_t errlen);

int pvsi_iscsi_open(struct pvs_lun *lun, const char *url, const char *chap, const char *initiator,
                    char *err, size_t errlen)
{
	char full[PVS_SPEC_MAX + 16], msg[256];
	const char *at;
	struct iscsi_url *u = NULL;
	struct iscsi_priv *p;
	int rc;

	if (!lun->worker)
		return fail(err, errlen, url, -EINVAL, "needs a worker");
	if (lun->ro && lun->raw)
		return fail(err, errlen, url, -EINVAL,
		            "read-only needs the CDB filter, and raw (feature-host) passthrough "
		            "has none; drop one of ro and raw");
	if (!initiator || !*initiator)
		return fail(err, errlen, url, -EINVAL,
		            "no initiator name: the transport names the guest (its stable "
		            "identity)");
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(err, errlen, url, -ENOMEM, "%s", strerror(ENOMEM));
	p->lun = lun;
	p->fd = -1;
	p->tfd = -1;
	p->epfd = -1;
	lun->priv = p;
	lun->fd = -1;
	if (strlen(initiator) >= sizeof(p->initiator)) {
		rc = fail(err, errlen, url, -ENAMETOOLONG, "initiator name '%s' is too long",
		          initiator);
		goto out;
	}
	snprintf(p->initiator, sizeof(p->initiator), "%s", initiator);
	/*
	 * USER@ is ours to take: libiscsi reads a user only with a password
	 * beside it, which a spec may not hold (spec.c refuses one).
	 */
	at = strchr(url, '@');
	if (at) {
		snprintf(p->user, sizeof(p->user), "%.*s", (int)(at - url), url);
		snprintf(full, sizeof(full), "iscsi://%s", at + 1);
	} else {
		snprintf(full, sizeof(full), "iscsi://%s", url);
	}
	p->ctx = iscsi_create_context(initiator);
	if (!p->ctx) {
		rc = fail(err, errlen, url, -ENOMEM, "cannot create an iSCSI context for '%s'",
		          initiator);
		goto out;
	}
	u = iscsi_parse_full_url(p->ctx, full);
	if (!u) {
		rc = fail(err, errlen, url, -EINVAL, "%s", why(p->ctx, msg, sizeof(msg)));
		goto out;
	}
	drop_ctx(p);
	p->lun_nr = u->lun;
	snprintf(p->portal, sizeof(p->portal), "%s", u->portal);
	snprintf(p->target, sizeof(p->target), "%s", u->target);
	p->isid = isid_of(initiator, u->target, u->lun);
	if (p->user[0] && !(chap && *chap)) {
		rc = fail(err, errlen, url, -EINVAL,
		          "user '%s' given, but no chap=FILE with its secret", p->user);
		goto out;
	}
	if (!p->user[0] && chap && *chap) {
		rc = fail(err, errlen, url, -EINVAL,
		          "chap=%s given, but no USER@ in the URL to pick its line", chap);
		goto out;
	}
	if (p->user[0]) {
		rc = read_chap(url, chap, p->user, p->secret, sizeof(p->secret), err, errlen);
		if (rc)
			goto out;
	}
	if (lun->open_mode != PVSI_OPEN_DETACHED) {
		struct iscsi_priv *q = unpark(p, lun->worker);

		/*
		 * The guest's own session, still logged in: its nexus, and what
		 * the target keeps for it, go on.
		 */
		if (q) {
			session_free(p, lun->worker, false); /* no context, no fd yet */
			memset(&q->pt, 0, sizeof(q->pt));
			memset(q->aborts, 0, sizeof(q->aborts));
			q->tries = 0;
			q->lun = lun;
			lun->priv = q;
			lun->pdt = (uint8_t)q->pdt;
			lun->dclass = (uint8_t)pvsi_dclass_of(lun->pdt);
			lun->store = NULL;
			sync_events(q);
			notice(q, "taking up the session of %s still logged in to %s", q->initiator,
			       q->target);
			iscsi_destroy_url(u);
			return 0;
		}
		if (lun->open_mode == PVSI_OPEN_ADOPT) {
			rc = fail(err, errlen, url, -EWOULDBLOCK,
			          "no session of %s to take up: it must log in", initiator);
			goto out;
		}
	}
	p->ctx = new_ctx(p);
	if (!p->ctx) {
		rc = fail(err, errlen, url, -ENOMEM, "cannot set up an iSCSI session for '%s'",
		          initiator);
		goto out;
	}
	iscsi_set_timeout(p->ctx, (int)open_timeout_s());
	/*
	 * libiscsi's full connect: its TEST UNIT READY loop takes the target's
	 * first unit attentions (power on, reset), as an HBA's scan would.
	 */
	if (iscsi_full_connect_sync(p->ctx, u->portal, u->lun)) {
		const char *e = why(p->ctx, msg, sizeof(msg));

		if (strstr(e, "LOGICAL_UNIT_NOT_SUPPORTED"))
			rc = fail(err, errlen, url, -ENODEV, "the target %s has no LUN %d (%s)",
			          u->target, u->lun, e);
		else if (strstr(e, "og in") || strstr(e, "ogin"))
			rc = fail(err, errlen, url, -EACCES, "login to %s at %s as %s failed: %s",
			          u->target, u->portal, initiator, e);
		else
			rc = fail(err, errlen, url, -EHOSTUNREACH,
			          "cannot connect to the portal %s of %s as %s: %s", u->portal,
			          u->target, initiator, e);
		goto out;
	}
	rc = probe(p, url, err, errlen);
	if (rc)
		goto out;
	/* In service a command waits for the target as long as the initiator lets it. */
	iscsi_set_timeout(p->ctx, 0);
	lun->dclass = (uint8_t)pvsi_dclass_of(lun->pdt);
	iscsi_destroy_url(u);
	lun->bind = is_bind;
	return 0;
out:
	if (u)
		iscsi_destroy_url(u);
	is_close(lun);
	return rc;
}

/*
 * The worker's part of an open: the session's timer and epoll set, in the
 * worker's.  Until then nothing of the worker knows the session, so the
 * login before it may run on another thread (PVSI_OPEN_DETACHED).
 */
static int is_bind(struct pvs_lun *lun, char *err, size_t errlen)
{
	struct iscsi_priv *p = priv_of(lun);
	char url[PVS_SPEC_MAX + 16];
	int rc;

	snprintf(url, sizeof(url), "%s/%s/%d", p->portal, p->target, p->lun_nr);
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->tfd < 0 || p->epfd < 0) {
		rc = fail(err, errlen, url, -errno, "timerfd or epoll: %s", strerror(errno));
		goto out;
	}
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->tfd, &ev) < 0) {
			rc = fail(err, errlen, url, -errno, "epoll: %s", strerror(errno));
			goto out;
		}
	}
	rc = pvsi_worker_add_fd(lun->worker, p->epfd, EPOLLIN, on_events, p);
	if (rc) {
		close(p->epfd);
		p->epfd = -1;
		rc = fail(err, errlen, url, rc, "cannot poll: %s", strerror(-rc));
		goto out;
	}
	sync_events(p);
	if (p->fd < 0) {
		rc = fail(err, errlen, url, -EIO, "cannot poll the session's socket");
		goto out;
	}
	lun->store = NULL;
	p->opened = true;
	return 0;
out:
	return rc; /* the session goes with the LUN's close (pvsi_lun_bind()) */
}
