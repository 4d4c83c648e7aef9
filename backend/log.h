/*
 * log.h - pvscsid's logging: one process-wide sink (stderr, a file, syslog,
 * or any mix), and a tag per guest controller so that every line names the
 * domain and vhost it is about ("d5 v0: ...").
 *
 * Priorities are syslog's (LOG_ERR .. LOG_DEBUG).  Lines at LOG_DEBUG are
 * dropped unless the sink is verbose.
 */
#ifndef PVSD_LOG_H
#define PVSD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

struct pvsd_log_cfg {
	bool to_stderr;
	const char *file; /* appended to; NULL: none */
	bool to_syslog;
	bool verbose; /* keep LOG_DEBUG lines */
};

/* 0 or -errno (the file could not be opened).  Safe to call again to reconfigure. */
int pvsd_log_open(const struct pvsd_log_cfg *cfg);
void pvsd_log_close(void);
/* Reopen the log file (after rotation).  0 or -errno. */
int pvsd_log_reopen(void);
bool pvsd_log_verbose(void);

/*
 * Tests: every formatted line (without timestamp, with the tag) is also
 * passed to @fn.  NULL removes the hook.
 */
void pvsd_log_set_hook(void (*fn)(void *arg, int prio, const char *line), void *arg);

/* Who a line is about. */
struct pvsd_log_tag {
	char text[48]; /* "d5 v0", "d5 v0 dev-1" or "" for the daemon itself */
};

void pvsd_log_tag_set(struct pvsd_log_tag *t, uint32_t domid, uint32_t vhost);

void pvsd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pvsd_vlog(const struct pvsd_log_tag *tag, int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The shape struct pvsd_ring_cfg.log wants: @arg is a const struct pvsd_log_tag *. */
void pvsd_log_tagged(void *arg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
