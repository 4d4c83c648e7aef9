/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlsock.h - a daemon's control socket: a unix stream socket that takes
 * one JSON request per line and answers one JSON reply per line, QMP-like:
 *
 *   {"command":"stats","arguments":{...}}            ("arguments" optional)
 *   {"return":VALUE}                                 or
 *   {"error":{"class":"CommandNotFound","desc":"..."}}
 *
 * Everything runs on the daemon's one event loop and nothing blocks it:
 * the sockets are non-blocking, a request and a reply are each bounded,
 * a client that sends nothing or reads nothing for cfg.timeout_ms is
 * dropped, and connections past cfg.max_conns are refused.  The server's
 * fds sit in an epoll set of their own, so the loop polls one fd,
 * pctl_fd(), for all of them.  Only peers cfg.peer_ok accepts (SO_PEERCRED;
 * by default uid 0) get anything but a PermissionDenied reply.
 *
 * docs/control.md describes the protocol and the error classes.
 */
#ifndef PCTL_SOCK_H
#define PCTL_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define PCTL_MAX_REQUEST 65536u
#define PCTL_MAX_REPLY   (4u << 20)
#define PCTL_MAX_CONNS   16u
#define PCTL_TIMEOUT_MS  5000u
#define PCTL_DESC_MAX    256

/* The error classes of a reply (docs/control.md). */
#define PCTL_E_PARSE      "ParseError"       /* not JSON */
#define PCTL_E_INVALID    "InvalidRequest"   /* JSON, but not {"command":STRING,...} */
#define PCTL_E_NOCMD      "CommandNotFound"  /* no such command */
#define PCTL_E_ARG        "InvalidArgument"  /* an argument missing, unknown or of the wrong type */
#define PCTL_E_PERM       "PermissionDenied" /* the peer is not allowed */
#define PCTL_E_TOO_LARGE  "RequestTooLarge"  /* no newline in PCTL_MAX_REQUEST bytes */
#define PCTL_E_REPLY_SIZE "ReplyTooLarge"
#define PCTL_E_FAILED     "CommandFailed" /* the command ran and failed */

struct pctl_err {
	const char *cls; /* PCTL_E_* */
	char desc[PCTL_DESC_MAX];
};
/* Fill @e; returns -1, what a handler returns on failure. */
int pctl_fail(struct pctl_err *e, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A command: generate exactly one JSON value (the reply's "return") into
 * @g and return 0, or return -1 with @e filled (pctl_fail()); what it
 * generated is then thrown away.  @args is the request's "arguments"
 * object, or NULL when it had none.
 */
typedef int (*pctl_fn)(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e);

struct pctl_command {
	const char *name;
	pctl_fn fn;
};

/*
 * A command whose answer takes a while (pvscsi-vhost-user's add of an
 * iscsi:// or rbd: LUN, which logs in or connects first): the handler
 * fills a struct pctl_later with pctl_defer() and returns PCTL_DEFERRED.
 * The loop goes on; the connection waits, with no timeout, for
 * pctl_resume(), and a client that hangs up meanwhile is dropped.
 * pctl_defer() returns false where an answer cannot wait (pctl_reply()
 * called directly): the handler then answers at once.  cfg.line may defer
 * the same way, and answers with pctl_resume_line().
 */
#define PCTL_DEFERRED 1
struct pctl;
struct pctl_later {
	struct pctl *s;
	unsigned int conn;
	uint64_t gen;
};
bool pctl_defer(struct pctl_later *later);
/*
 * The deferred answer: the "return" value @gen(@arg, g) generates (NULL:
 * {}), or, with @cls set, the error @desc.  false when the client is gone.
 */
bool pctl_resume(const struct pctl_later *later, const char *cls, const char *desc,
                 void (*gen)(void *arg, yajl_gen g), void *arg);
/* The deferred answer of a line-protocol request (cfg.line returned PCTL_DEFERRED): @text. */
bool pctl_resume_line(const struct pctl_later *later, const char *text);

struct pctl_cfg {
	const char *path; /* the socket; made 0600, a stale one replaced */
	const struct pctl_command *cmds;
	size_t ncmds;
	void *arg; /* for every pctl_fn */
	/* Whether a peer may send requests; NULL: uid 0 only. */
	bool (*peer_ok)(void *arg, pid_t pid, uid_t uid, gid_t gid);
	size_t max_request;      /* 0: PCTL_MAX_REQUEST */
	size_t max_reply;        /* 0: PCTL_MAX_REPLY */
	unsigned int max_conns;  /* 0: PCTL_MAX_CONNS */
	unsigned int timeout_ms; /* 0: PCTL_TIMEOUT_MS */
	/*
	 * An older line protocol on the same socket (pvscsi-vhost-user's), or
	 * NULL.  A request whose first non-blank byte is a letter goes here
	 * instead of to the JSON parser: the reply (NUL-terminated, a newline
	 * at its end) into *@out, malloc'd; 0, PCTL_DEFERRED, or -ENOMEM.  Such a connection
	 * is closed once the reply is out, as the old one-shot clients expect.
	 */
	int (*line)(void *arg, const char *line, char **out);
};

struct pctl;

/*
 * Bind and listen on cfg->path (the cfg and its path are copied; the
 * commands are kept by pointer).  0, or -errno with one line in @err
 * naming the path.
 */
int pctl_open(const struct pctl_cfg *cfg, struct pctl **out, char *err, size_t errlen);
/* Close every connection and the socket, and remove the socket file. */
void pctl_close(struct pctl *s);
/* Readable when pctl_handle() has something to do. */
int pctl_fd(const struct pctl *s);
/* Accept, read, answer and write what is ready, without blocking; drop expired clients. */
void pctl_handle(struct pctl *s);
/* Milliseconds until a client times out (pctl_handle() must run then); -1: none. */
int pctl_timeout_ms(const struct pctl *s);
/* Connections open now (tests). */
unsigned int pctl_nconns(const struct pctl *s);

/* Whether @line goes to cfg->line (a letter first) rather than the JSON parser. */
bool pctl_is_line(const struct pctl_cfg *cfg, const char *line, size_t len);

/*
 * The reply to one request line (@len bytes, no newline), as the socket
 * would send it, newline included: into *@out (malloc'd, *@outlen bytes).
 * 0, or -ENOMEM.  The socket's path to the commands, for tests and for
 * programs that take requests elsewhere.
 */
int pctl_reply(const struct pctl_cfg *cfg, const char *line, size_t len, char **out,
               size_t *outlen);

/* yajl_gen helpers for handlers: a key, then a value. */
void pctl_str(yajl_gen g, const char *key, const char *val);
void pctl_u64(yajl_gen g, const char *key, unsigned long long val);
void pctl_bool(yajl_gen g, const char *key, bool val);
void pctl_key(yajl_gen g, const char *key);

/* An argument of @args by name; NULL when absent (or @args NULL). */
yajl_val pctl_arg(const yajl_val args, const char *name);

/* -1 with an InvalidArgument error when @args holds anything. */
int pctl_no_args(const yajl_val args, struct pctl_err *e);
/* -1 with an InvalidArgument error when @args holds anything but @name. */
int pctl_only_arg(const yajl_val args, const char *name, struct pctl_err *e);
/*
 * The "log-level" command both daemons have: "level" sets plog's level
 * (a change is logged); returns {"level":...,"previous":...}.
 */
int pctl_cmd_log_level(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e);

/*
 * The client side, for pvscsictl and "pvscsi-vhost-user ctl": errors are one
 * line on stderr that starts with @prog and names @path.
 *
 * pctl_client_connect: a connected socket with @timeout_s for every send and
 * receive, or -1.  @absent_hint, when set, is said in brackets when nothing
 * listens at @path (which daemon to start).
 */
int pctl_client_connect(const char *prog, const char *path, unsigned int timeout_s,
                        const char *absent_hint);
/*
 * Send the request @req (@len bytes; a newline is added when it has none)
 * and read one reply line: malloc'd, without its newline, or NULL.
 */
char *pctl_client_exchange(const char *prog, int fd, const char *path, const char *req, size_t len);

#endif
