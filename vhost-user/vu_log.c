/*
 * vu_log.c - the backend's log sink (see vu_log.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "vu_log.h"

static vu_log_fn sink;
static void *sink_arg;
static int level = LOG_INFO;

void vu_log_set(vu_log_fn fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void vu_log_level(int prio)
{
	level = prio;
}

void vu_log(int prio, const char *fmt, ...)
{
	static const char *const names[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	char line[512];
	va_list ap;

	if (prio > level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (sink)
		sink(sink_arg, prio, line);
	else
		fprintf(stderr, "pvscsi-vhost-user: %s: %s\n", names[prio & 7], line);
}
