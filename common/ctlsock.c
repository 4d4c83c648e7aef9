/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlsock.c - the control socket (ctlsock.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlsock.h"
#include "log.h"

struct conn {
	int fd;
	bool used;
	bool closing; /* close once the reply is out (refused peer, oversized request) */
	bool peer_ok;
	char *in; /* cfg.max_request + 1 bytes */
	size_t inlen;
	char *out; /* the reply being written, malloc'd */
	size_t outlen, outoff;
	uint64_t deadline_ms;
	bool waiting; /* a deferred answer is due (pctl_defer()) */
	uint64_t gen; /* which request it answers */
};

/* The connection whose request runs now, for pctl_defer(). */
static struct pctl *cur_s;
static struct conn *cur_c;
static uint64_t later_gen;

struct pctl {
	struct pctl_cfg cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int ep;
	int lfd;
	struct conn *conns;
};

int pctl_fail(struct pctl_err *e, const char *cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return -1;
}

static void gen_cstr(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void pctl_key(yajl_gen g, const char *key)
{
	gen_cstr(g, key);
}

void pctl_str(yajl_gen g, const char *key, const char *val)
{
	gen_cstr(g, key);
	gen_cstr(g, val);
}

void pctl_u64(yajl_gen g, const char *key, unsigned long long val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", val);

	gen_cstr(g, key);
	/* yajl_gen_integer takes a long long: the counters may not fit. */
	yajl_gen_number(g, num, (size_t)n);
}

void pctl_bool(yajl_gen g, const char *key, bool val)
{
	gen_cstr(g, key);
	yajl_gen_bool(g, val);
}

yajl_val pctl_arg(const yajl_val args, const char *name)
{
	const char *path[] = {name, NULL};

	return args ? yajl_tree_get(args, path, yajl_t_any) : NULL;
}

int pctl_no_args(const yajl_val args, struct pctl_err *e)
{
	if (args && args->u.object.len)
		return pctl_fail(e, PCTL_E_ARG, "this command takes no arguments (got \"%.64s\")",
		                 args->u.object.keys[0]);
	return 0;
}

int pctl_only_arg(const yajl_val args, const char *name, struct pctl_err *e)
{
	for (size_t i = 0; args && i < args->u.object.len; i++)
		if (strcmp(args->u.object.keys[i], name))
			return pctl_fail(e, PCTL_E_ARG, "unknown argument \"%.64s\" (only \"%s\")",
			                 args->u.object.keys[i], name);
	return 0;
}

/* ---- log-level ---- */

int pctl_cmd_log_level(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	int old = plog_get_level(), prio;
	yajl_val lv = pctl_arg(args, "level");

	(void)arg;
	if (pctl_only_arg(args, "level", e))
		return -1;
	if (lv) {
		if (!YAJL_IS_STRING(lv))
			return pctl_fail(
			    e, PCTL_E_ARG,
			    "\"level\" must be a string: emerg, alert, crit, err, warning, "
			    "notice, info or debug");
		if (plog_level_parse(lv->u.string, &prio))
			return pctl_fail(
			    e, PCTL_E_ARG,
			    "\"level\": '%.32s' is not emerg, alert, crit, err, warning, "
			    "notice, info or debug",
			    lv->u.string);
		plog_level(prio);
		if (prio != old)
			plog(LOG_NOTICE, "log level %s -> %s (control socket)",
			     plog_level_name(old), plog_level_name(prio));
	}
	yajl_gen_map_open(g);
	pctl_str(g, "level", plog_level_name(plog_get_level()));
	pctl_str(g, "previous", plog_level_name(old));
	yajl_gen_map_close(g);
	return 0;
}

/* ---- one request ---- */

static int gen_take(yajl_gen g, char **out, size_t *outlen)
{
	const unsigned char *buf;
	size_t len;

	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		return -ENOMEM;
	*out = malloc(len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, buf, len);
	(*out)[len] = '\n';
	*outlen = len + 1;
	return 0;
}

static int error_reply(const char *cls, const char *desc, char **out, size_t *outlen)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	int rc;

	if (!g)
		return -ENOMEM;
	yajl_gen_map_open(g);
	pctl_key(g, "error");
	yajl_gen_map_open(g);
	pctl_str(g, "class", cls);
	pctl_str(g, "desc", desc);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	rc = gen_take(g, out, outlen);
	yajl_gen_free(g);
	return rc;
}

static int run_request(const struct pctl_cfg *cfg, yajl_val req, char **out, size_t *outlen)
{
	struct pctl_err e = {0};
	yajl_val cmd, args = NULL;
	const struct pctl_command *c = NULL;
	const char *name;
	yajl_gen g;
	int rc;

	if (!YAJL_IS_OBJECT(req))
		return error_reply(PCTL_E_INVALID, "a request is a JSON object: {\"command\":NAME}",
		                   out, outlen);
	for (size_t i = 0; i < req->u.object.len; i++) {
		const char *k = req->u.object.keys[i];

		if (strcmp(k, "command") && strcmp(k, "arguments")) {
			snprintf(e.desc, sizeof(e.desc),
			         "unknown member \"%.64s\" in the request (only \"command\" and "
			         "\"arguments\")",
			         k);
			return error_reply(PCTL_E_INVALID, e.desc, out, outlen);
		}
	}
	cmd = pctl_arg(req, "command");
	if (!cmd || !YAJL_IS_STRING(cmd))
		return error_reply(PCTL_E_INVALID, "\"command\" is missing or not a string", out,
		                   outlen);
	args = pctl_arg(req, "arguments");
	if (args && !YAJL_IS_OBJECT(args))
		return error_reply(PCTL_E_INVALID, "\"arguments\" is not an object", out, outlen);
	name = cmd->u.string;
	for (size_t i = 0; i < cfg->ncmds; i++)
		if (!strcmp(cfg->cmds[i].name, name))
			c = &cfg->cmds[i];
	if (!c && !strcmp(name, "help")) {
		/* What this socket takes, for clients that find out at run time. */
		g = yajl_gen_alloc(NULL);
		if (!g)
			return -ENOMEM;
		yajl_gen_map_open(g);
		pctl_key(g, "return");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < cfg->ncmds; i++)
			gen_cstr(g, cfg->cmds[i].name);
		gen_cstr(g, "help");
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		rc = gen_take(g, out, outlen);
		yajl_gen_free(g);
		return rc;
	}
	if (!c) {
		snprintf(e.desc, sizeof(e.desc), "no command \"%.64s\" (try \"help\")", name);
		return error_reply(PCTL_E_NOCMD, e.desc, out, outlen);
	}
	g = yajl_gen_alloc(NULL);
	if (!g)
		return -ENOMEM;
	yajl_gen_map_open(g);
	pctl_key(g, "return");
	rc = c->fn(cfg->arg, args, g, &e);
	if (rc == PCTL_DEFERRED) {
		yajl_gen_free(g);
		*out = NULL;
		*outlen = 0;
		return PCTL_DEFERRED;
	}
	if (rc != 0) {
		yajl_gen_free(g);
		return error_reply(e.cls ? e.cls : PCTL_E_FAILED, e.desc, out, outlen);
	}
	yajl_gen_map_close(g);
	rc = gen_take(g, out, outlen);
	yajl_gen_free(g);
	return rc;
}

bool pctl_is_line(const struct pctl_cfg *cfg, const char *line, size_t len)
{
	size_t i = 0;

	if (!cfg->line)
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len &&
	       ((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z'));
}

static int line_reply(const struct pctl_cfg *cfg, const char *line, size_t len, char **out,
                      size_t *outlen)
{
	char *text = malloc(len + 1);
	int rc;

	if (!text)
		return -ENOMEM;
	memcpy(text, line, len);
	text[len] = '\0';
	/* A NUL inside ends the command there, as it did for the old one-shot server. */
	rc = cfg->line(cfg->arg, text, out);
	free(text);
	if (rc)
		return rc; /* PCTL_DEFERRED too: nothing to send yet */
	*outlen = strlen(*out);
	return 0;
}

int pctl_reply(const struct pctl_cfg *cfg, const char *line, size_t len, char **out, size_t *outlen)
{
	char errbuf[128], *text = malloc(len + 1);
	size_t max = cfg->max_reply ? cfg->max_reply : PCTL_MAX_REPLY;
	yajl_val req;
	int rc;

	*out = NULL;
	if (!text)
		return -ENOMEM;
	if (pctl_is_line(cfg, line, len)) {
		free(text);
		return line_reply(cfg, line, len, out, outlen);
	}
	memcpy(text, line, len);
	text[len] = '\0';
	/* yajl_tree_parse() stops at a NUL: one inside the line is no JSON. */
	if (strlen(text) != len) {
		free(text);
		return error_reply(PCTL_E_PARSE, "the request holds a NUL byte", out, outlen);
	}
	errbuf[0] = '\0';
	req = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	free(text);
	if (!req) {
		char desc[PCTL_DESC_MAX];

		errbuf[strcspn(errbuf, "\n")] = '\0';
		snprintf(desc, sizeof(desc), "the request is not JSON: %s",
		         errbuf[0] ? errbuf : "parse error");
		return error_reply(PCTL_E_PARSE, desc, out, outlen);
	}
	rc = run_request(cfg, req, out, outlen);
	yajl_tree_free(req);
	if (!rc && *outlen > max) {
		char desc[PCTL_DESC_MAX];

		snprintf(desc, sizeof(desc), "the reply would be %zu bytes, over the limit of %zu",
		         *outlen, max);
		free(*out);
		rc = error_reply(PCTL_E_REPLY_SIZE, desc, out, outlen);
	}
	return rc;
}

/* ---- the socket ---- */

bool pctl_defer(struct pctl_later *later)
{
	if (!cur_c)
		return false;
	cur_c->gen = ++later_gen;
	later->s = cur_s;
	later->conn = (unsigned int)(cur_c - cur_s->conns);
	later->gen = cur_c->gen;
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool root_only(void *arg, pid_t pid, uid_t uid, gid_t gid)
{
	(void)arg;
	(void)pid;
	(void)gid;
	return uid == 0;
}

int pctl_open(const struct pctl_cfg *cfg, struct pctl **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	struct pctl *s;
	mode_t old;
	int rc;

	*out = NULL;
	if (strlen(cfg->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket %s: the path is too long (at most %zu bytes)",
		         cfg->path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "control socket %s: %s", cfg->path, strerror(ENOMEM));
		return -ENOMEM;
	}
	s->cfg = *cfg;
	if (!s->cfg.max_request)
		s->cfg.max_request = PCTL_MAX_REQUEST;
	if (!s->cfg.max_reply)
		s->cfg.max_reply = PCTL_MAX_REPLY;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = PCTL_MAX_CONNS;
	if (!s->cfg.timeout_ms)
		s->cfg.timeout_ms = PCTL_TIMEOUT_MS;
	if (!s->cfg.peer_ok)
		s->cfg.peer_ok = root_only;
	snprintf(s->path, sizeof(s->path), "%s", cfg->path);
	s->cfg.path = s->path;
	s->lfd = -1;
	s->conns = calloc(s->cfg.max_conns, sizeof(*s->conns));
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s->conns || s->ep < 0) {
		rc = s->conns ? -errno : -ENOMEM;
		goto fail;
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		rc = -errno;
		goto fail;
	}
	memcpy(sa.sun_path, s->path, strlen(s->path));
	/* A socket left by a daemon that died; the pid file lock says none runs now. */
	unlink(s->path);
	old = umask(0177); /* 0600: connecting takes write permission */
	rc = bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	umask(old);
	if (rc)
		goto fail;
	if (listen(s->lfd, 8) != 0) {
		rc = -errno;
		unlink(s->path);
		goto fail;
	}
	ev.data.ptr = NULL;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
		rc = -errno;
		unlink(s->path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	snprintf(err, errlen, "control socket %s: %s", s->path, strerror(-rc));
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->ep >= 0)
		close(s->ep);
	free(s->conns);
	free(s);
	return rc;
}

static void conn_drop(struct pctl *s, struct conn *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

void pctl_close(struct pctl *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->cfg.max_conns; i++)
		if (s->conns[i].used)
			conn_drop(s, &s->conns[i]);
	close(s->lfd);
	close(s->ep);
	unlink(s->path);
	free(s->conns);
	free(s);
}

int pctl_fd(const struct pctl *s)
{
	return s->ep;
}

unsigned int pctl_nconns(const struct pctl *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->cfg.max_conns; i++)
		n += s->conns[i].used;
	return n;
}

int pctl_timeout_ms(const struct pctl *s)
{
	uint64_t now, soonest = UINT64_MAX;

	for (unsigned int i = 0; i < s->cfg.max_conns; i++)
		if (s->conns[i].used && s->conns[i].deadline_ms < soonest)
			soonest = s->conns[i].deadline_ms;
	/* No client, no clock: the daemon's loop asks twice per pass. */
	if (soonest == UINT64_MAX)
		return -1;
	now = now_ms();
	return soonest <= now ? 0 : (int)(soonest - now);
}

/* Wait for readability, or writability while a reply is queued. */
static void conn_watch(struct pctl *s, struct conn *c)
{
	struct epoll_event ev = {.events = c->out ? EPOLLOUT : EPOLLIN, .data.ptr = c};

	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queue @reply (taken over) on @c and write what the socket takes now. */
static void conn_send(struct pctl *s, struct conn *c, char *reply, size_t len);

static void conn_flush(struct pctl *s, struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_watch(s, c);
			return;
		}
		if (n <= 0) {
			conn_drop(s, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	if (c->closing) {
		conn_drop(s, c);
		return;
	}
	c->deadline_ms = now_ms() + s->cfg.timeout_ms;
	conn_watch(s, c);
}

static void conn_send(struct pctl *s, struct conn *c, char *reply, size_t len)
{
	c->out = reply;
	c->outlen = len;
	c->outoff = 0;
	c->deadline_ms = now_ms() + s->cfg.timeout_ms;
	conn_flush(s, c);
}

static void conn_error(struct pctl *s, struct conn *c, const char *cls, const char *desc)
{
	char *r;
	size_t n;

	c->closing = true;
	if (error_reply(cls, desc, &r, &n) == 0)
		conn_send(s, c, r, n);
	else
		conn_drop(s, c);
}

static void do_accept(struct pctl *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c = NULL;
		struct ucred cr;
		socklen_t crlen = sizeof(cr);

		if (fd < 0)
			return; /* EAGAIN, or a client that went away */
		for (unsigned int i = 0; i < s->cfg.max_conns && !c; i++)
			if (!s->conns[i].used)
				c = &s->conns[i];
		if (!c) {
			plog(LOG_WARNING, "control socket %s: %u clients already; one refused",
			     s->path, s->cfg.max_conns);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->in = malloc(s->cfg.max_request + 1);
		ev.data.ptr = c;
		if (!c->in || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->in);
			c->in = NULL;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->used = true;
		c->deadline_ms = now_ms() + s->cfg.timeout_ms;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
			conn_error(s, c, PCTL_E_PERM, "the peer's credentials are unknown");
		} else if (!s->cfg.peer_ok(s->cfg.arg, cr.pid, cr.uid, cr.gid)) {
			char desc[PCTL_DESC_MAX];

			snprintf(desc, sizeof(desc),
			         "uid %u may not use this control socket (root only)",
			         (unsigned int)cr.uid);
			plog(LOG_NOTICE, "control socket %s: pid %d uid %u refused", s->path,
			     (int)cr.pid, (unsigned int)cr.uid);
			conn_error(s, c, PCTL_E_PERM, desc);
		}
	}
}

static void conn_read(struct pctl *s, struct conn *c)
{
	for (;;) {
		char *nl;
		ssize_t n;
		int rc;

		if (c->out || !c->used || c->waiting)
			return; /* one request at a time: the next waits for this reply */
		nl = memchr(c->in, '\n', c->inlen);
		if (nl) {
			size_t len = (size_t)(nl - c->in), rlen;
			char *r;

			if (len > 0 && c->in[len - 1] == '\r')
				len--;
			c->closing = pctl_is_line(&s->cfg, c->in, len);
			cur_s = s;
			cur_c = c;
			rc = pctl_reply(&s->cfg, c->in, len, &r, &rlen);
			cur_s = NULL;
			cur_c = NULL;
			if (rc < 0) {
				conn_drop(s, c);
				return;
			}
			c->inlen -= (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->inlen);
			if (rc == PCTL_DEFERRED) {
				/* Only a hang-up is heard until the answer (pctl_resume()). */
				struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = c};

				c->waiting = true;
				c->deadline_ms = UINT64_MAX;
				epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
				return;
			}
			conn_send(s, c, r, rlen);
			continue;
		}
		if (c->inlen >= s->cfg.max_request) {
			char desc[PCTL_DESC_MAX];

			snprintf(desc, sizeof(desc), "no end of line in the first %zu bytes",
			         s->cfg.max_request);
			conn_error(s, c, PCTL_E_TOO_LARGE, desc);
			return;
		}
		n = recv(c->fd, c->in + c->inlen, s->cfg.max_request - c->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_drop(s, c); /* the client is done */
			return;
		}
		c->inlen += (size_t)n;
		c->deadline_ms = now_ms() + s->cfg.timeout_ms;
	}
}

void pctl_handle(struct pctl *s)
{
	struct epoll_event ev[16];
	uint64_t now;
	int n = epoll_wait(s->ep, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;

		if (!c) {
			do_accept(s);
			continue;
		}
		if (!c->used)
			continue; /* dropped by an earlier event of this batch */
		if (c->out)
			conn_flush(s, c);
		else if (c->waiting || c->closing ||
		         (ev[i].events & (EPOLLERR | EPOLLHUP) && !(ev[i].events & EPOLLIN)))
			conn_drop(s, c);
		else
			conn_read(s, c);
	}
	now = now_ms();
	for (unsigned int i = 0; i < s->cfg.max_conns; i++) {
		struct conn *c = &s->conns[i];

		if (c->used && c->deadline_ms <= now) {
			plog(LOG_INFO, "control socket %s: a client %s for %u ms; dropped", s->path,
			     c->out ? "read nothing" : "sent nothing", s->cfg.timeout_ms);
			conn_drop(s, c);
		}
	}
}

/* The connection still waiting for @later's answer, taken out of waiting; NULL when gone. */
static struct conn *later_conn(const struct pctl_later *later)
{
	struct pctl *s = later->s;
	struct conn *c;

	if (!s || later->conn >= s->cfg.max_conns)
		return NULL;
	c = &s->conns[later->conn];
	if (!c->used || !c->waiting || c->gen != later->gen)
		return NULL;
	c->waiting = false;
	return c;
}

bool pctl_resume(const struct pctl_later *later, const char *cls, const char *desc,
                 void (*gen)(void *arg, yajl_gen g), void *arg)
{
	struct pctl *s = later->s;
	struct conn *c = later_conn(later);
	char *r = NULL;
	size_t n = 0;
	int rc;

	if (!c)
		return false;
	if (cls) {
		rc = error_reply(cls, desc, &r, &n);
	} else {
		yajl_gen g = yajl_gen_alloc(NULL);

		rc = -ENOMEM;
		if (g) {
			yajl_gen_map_open(g);
			pctl_key(g, "return");
			if (gen) {
				gen(arg, g);
			} else {
				yajl_gen_map_open(g);
				yajl_gen_map_close(g);
			}
			yajl_gen_map_close(g);
			rc = gen_take(g, &r, &n);
			yajl_gen_free(g);
		}
	}
	if (rc) {
		conn_drop(s, c);
		return false;
	}
	conn_send(s, c, r, n);
	return true;
}

bool pctl_resume_line(const struct pctl_later *later, const char *text)
{
	struct pctl *s = later->s;
	struct conn *c = later_conn(later);
	char *r;

	if (!c)
		return false;
	r = strdup(text);
	if (!r) {
		conn_drop(s, c);
		return false;
	}
	conn_send(s, c, r, strlen(r));
	return true;
}

/* ---- the client side ---- */

/* A reply larger than this is not what either daemon sends. */
#define PCTL_CLIENT_MAX_REPLY (16u << 20)

int pctl_client_connect(const char *prog, const char *path, unsigned int timeout_s,
                        const char *absent_hint)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_s};
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: %s: the socket path is too long\n", prog, path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	if ((e == ENOENT || e == ECONNREFUSED) && absent_hint)
		fprintf(stderr, "%s: cannot connect to %s: %s (%s)\n", prog, path, strerror(e),
		        absent_hint);
	else if (e == EACCES || e == EPERM)
		fprintf(stderr, "%s: cannot connect to %s: %s (the control socket is root's)\n",
		        prog, path, strerror(e));
	else
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path, strerror(e));
	return -1;
}

static int client_send(const char *prog, int fd, const char *path, const char *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "%s: writing to %s: %s\n", prog, path,
			        w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
			            ? "timed out"
			            : strerror(errno));
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

char *pctl_client_exchange(const char *prog, int fd, const char *path, const char *req, size_t len)
{
	size_t cap = 65536, n = 0;
	char *buf;

	if (client_send(prog, fd, path, req, len) ||
	    ((!len || req[len - 1] != '\n') && client_send(prog, fd, path, "\n", 1)))
		return NULL;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *b = cap < PCTL_CLIENT_MAX_REPLY ? realloc(buf, cap * 2) : NULL;

			if (!b) {
				fprintf(stderr, "%s: the reply from %s is over %u bytes\n", prog,
				        path, PCTL_CLIENT_MAX_REPLY);
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: reading from %s: %s\n", prog, path,
			        errno == EAGAIN || errno == EWOULDBLOCK ? "no reply (timed out)"
			                                                : strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0) {
			fprintf(stderr, "%s: %s closed the connection without a reply\n", prog,
			        path);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (memchr(buf + n - (size_t)r, '\n', (size_t)r)) {
			*strchr(buf, '\n') = '\0';
			return buf;
		}
	}
}
