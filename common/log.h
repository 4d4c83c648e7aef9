/*
 * log.h - the one log sink of every program (pvscsid, pvscsi-vhost-user):
 * stderr, a file, syslog, or any mix, process-wide, with the program's name
 * on every line.  A tag per guest controller lets a line name the domain and
 * vhost it is about ("d5 v0: ...").
 *
 * Priorities are syslog's (LOG_ERR .. LOG_DEBUG).  Lines above the level are
 * dropped: LOG_INFO by default, LOG_DEBUG when verbose.
 *
 * Single-threaded by design: each program logs from its one event loop (the
 * LUN core calls back on that loop's thread, pvs_worker_poll).
 */
#ifndef PLOG_H
#define PLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

struct plog_cfg {
	/*
	 * On every line, and syslog's ident (kept by pointer: a string that
	 * outlives the log).  NULL: program_invocation_short_name.
	 */
	const char *ident;
	/*
	 * "<UTC time> ident[pid] prio: line", for a daemon's own log; otherwise
	 * "ident: prio: line", for a program whose stderr someone else keeps.
	 */
	bool stamp;
	bool to_stderr;
	const char *file; /* appended to; NULL: none */
	bool to_syslog;   /* facility daemon */
	bool verbose;     /* keep LOG_DEBUG lines */
};

/*
 * 0 or -errno (the file could not be opened; the previous configuration
 * stays).  Safe to call again to reconfigure.  Until the first call: stderr
 * only, unstamped, LOG_INFO.
 */
int plog_open(const struct plog_cfg *cfg);
/* Closes the file and syslog; stderr stays as configured. */
void plog_close(void);
/* Reopen the log file (after rotation).  0 or -errno. */
int plog_reopen(void);
/* Keep lines up to @prio (-1: none, not even for the hook). */
void plog_level(int prio);
bool plog_verbose(void);

typedef void (*plog_hook_fn)(void *arg, int prio, const char *line);

/*
 * Tests: every line the level keeps (without prefix or timestamp, with the
 * tag) is also passed to @fn.  NULL removes the hook.
 */
void plog_set_hook(plog_hook_fn fn, void *arg);

/* Who a line is about. */
struct plog_tag {
	char text[48]; /* "d5 v0", "d5 v0 dev-1" or "" for the program itself */
};

void plog_tag_set(struct plog_tag *t, uint32_t domid, uint32_t vhost);

void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vplog(const struct plog_tag *tag, int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The shape struct pvsd_ring_cfg.log wants: @arg is a const struct plog_tag *. */
void plog_tagged(void *arg, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
