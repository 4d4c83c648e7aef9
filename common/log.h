/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - the one log sink of every program (pvscsid, pvscsi-vhost-user):
 * stderr, a file, syslog, the systemd journal, or any mix, process-wide,
 * with the program's name on every line.  A tag per guest controller lets a
 * line name the domain and vhost it is about ("d5 v0: ..."); in the journal
 * the same tag becomes fields (DOMID=, VHOST=, LUN=) that journalctl can
 * select on (journalctl DOMID=5), since a prefix in MESSAGE= cannot be.
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
#include <sys/uio.h>
#include <syslog.h>

/* Where a program's log goes, as --log-target names it. */
enum plog_target {
	/*
	 * The program's default: stderr in the foreground (the journal itself
	 * when systemd connected stderr to it), syslog when daemonized.
	 */
	PLOG_TARGET_AUTO,
	PLOG_TARGET_STDERR,
	PLOG_TARGET_SYSLOG,
	PLOG_TARGET_JOURNAL,
};

/* "auto", "stderr", "syslog", "journal": 0, or -EINVAL for anything else. */
int plog_target_parse(const char *s, enum plog_target *t);
/*
 * Whether systemd connected @fd to the journal: $JOURNAL_STREAM names its
 * device and inode (systemd.exec(5)), so a stream that was redirected since
 * (a daemon's /dev/null, a shell's 2>file) does not count.
 */
bool plog_journal_stream(int fd);

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
	/*
	 * The journal's native protocol, with the tag as fields; a line the
	 * journal does not take (journald not running) goes to syslog instead.
	 */
	bool to_journal;
	bool verbose; /* keep LOG_DEBUG lines */
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
/* The level plog_level() or plog_open() set. */
int plog_get_level(void);
/*
 * syslog's names of the priorities, as the control sockets' log-level
 * takes and shows them: "emerg" .. "debug" ("error" and "warn" too).
 * 0, or -EINVAL for anything else.
 */
int plog_level_parse(const char *s, int *prio);
/* "err", "info"...; "none" for -1. */
const char *plog_level_name(int prio);
bool plog_verbose(void);

/*
 * Whether a line logged now reaches stderr, directly or through the journal
 * stderr is connected to: a start-up error needs no second copy there.
 */
bool plog_on_stderr(void);

typedef void (*plog_hook_fn)(void *arg, int prio, const char *line);

/*
 * Every line the level keeps (without prefix or timestamp, with the tag) is
 * also passed to @fn: tests read the log this way, and pvscsid keeps its
 * first error of the start-up for the one line it owes its caller.  NULL
 * removes the hook.
 */
void plog_set_hook(plog_hook_fn fn, void *arg);

/*
 * Tests: what would be sent to the journal (sd_journal_sendv's shape: 0 or
 * -errno) and to syslog (one formatted line).  NULL restores libsystemd's
 * and libc's.
 */
typedef int (*plog_journal_fn)(const struct iovec *iov, int n);
typedef void (*plog_syslog_fn)(int prio, const char *line);
void plog_set_backends(plog_journal_fn journal, plog_syslog_fn sys);

/* Who a line is about.  Empty strings: not known, no field. */
struct plog_tag {
	char text[48];  /* "d5 v0", "d5 v0 dev-1" or "" for the program itself */
	char domid[12]; /* DOMID=: the guest's domain */
	char vhost[32]; /* VHOST=: the vscsiif vhost number, or the vhost-user controller's name */
	char lun[32];   /* LUN=: the guest's address of the unit (v-dev h:c:t:l, or T:L) */
};

/* Text "d5 v0", DOMID=5, VHOST=0. */
void plog_tag_set(struct plog_tag *t, uint32_t domid, uint32_t vhost);
/* VHOST=@vhost only: the text of a vhost-user line already names its controller. */
void plog_tag_vhost(struct plog_tag *t, const char *vhost);

/*
 * The tag whose fields go with every line that does not give them itself,
 * while a program handles one controller's event (code below the loop logs
 * with plain plog() and cannot know the controller).  NULL: none.  Returns
 * the previous one, to restore.  The text is not added: only the fields.
 */
const struct plog_tag *plog_scope(const struct plog_tag *t);

void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vplog(const struct plog_tag *tag, int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The shape struct pvsd_ring_cfg.log wants: @arg is a const struct plog_tag *. */
void plog_tagged(void *arg, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line about one unit: @tag (may be NULL) with LUN=@lun. */
void plog_lun(const struct plog_tag *tag, const char *lun, int prio, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
