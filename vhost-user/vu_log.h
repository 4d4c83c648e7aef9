/*
 * vu_log.h - one log sink for the vhost-user backend: stderr by default
 * (the vhost-user.rst program conventions: no daemon, stderr is the log),
 * replaceable so that tests can look at what was said.
 */
#ifndef VU_LOG_H
#define VU_LOG_H

#include <syslog.h>

typedef void (*vu_log_fn)(void *arg, int prio, const char *line);

/* NULL restores stderr. */
void vu_log_set(vu_log_fn fn, void *arg);
/* Lines above this priority are dropped (LOG_INFO by default, LOG_DEBUG with --verbose). */
void vu_log_level(int prio);
void vu_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
