/*
 * log.c - pvscsid's log sink.
 *
 * Single-threaded by design: the daemon runs one event loop, and the LUN
 * core calls back on that loop's thread (pvs_worker_poll).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	bool to_stderr;
	bool to_syslog;
	bool verbose;
	char *file;
	FILE *fp;
	void (*hook)(void *arg, int prio, const char *line);
	void *hook_arg;
} sink = {.to_stderr = true};

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

int pvsd_log_open(const struct pvsd_log_cfg *cfg)
{
	FILE *fp = NULL;
	char *file = NULL;

	if (cfg->file) {
		file = strdup(cfg->file);
		if (!file)
			return -ENOMEM;
		fp = fopen(file, "ae");
		if (!fp) {
			int e = errno;

			free(file);
			return -e;
		}
		/* Line-buffered: a crash must not eat the lines that explain it. */
		setvbuf(fp, NULL, _IOLBF, 0);
	}
	pvsd_log_close();
	sink.to_stderr = cfg->to_stderr;
	sink.verbose = cfg->verbose;
	sink.fp = fp;
	sink.file = file;
	sink.to_syslog = cfg->to_syslog;
	if (sink.to_syslog)
		openlog("pvscsid", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

void pvsd_log_close(void)
{
	if (sink.fp)
		fclose(sink.fp);
	sink.fp = NULL;
	free(sink.file);
	sink.file = NULL;
	if (sink.to_syslog)
		closelog();
	sink.to_syslog = false;
}

int pvsd_log_reopen(void)
{
	FILE *fp;

	if (!sink.file)
		return 0;
	fp = fopen(sink.file, "ae");
	if (!fp)
		return -errno;
	setvbuf(fp, NULL, _IOLBF, 0);
	fclose(sink.fp);
	sink.fp = fp;
	return 0;
}

bool pvsd_log_verbose(void)
{
	return sink.verbose;
}

void pvsd_log_set_hook(void (*fn)(void *arg, int prio, const char *line), void *arg)
{
	sink.hook = fn;
	sink.hook_arg = arg;
}

void pvsd_log_tag_set(struct pvsd_log_tag *t, uint32_t domid, uint32_t vhost)
{
	snprintf(t->text, sizeof(t->text), "d%u v%u", domid, vhost);
}

void pvsd_vlog(const struct pvsd_log_tag *tag, int prio, const char *fmt, va_list ap)
{
	char msg[1024], line[1100], ts[96];
	struct timespec now;
	struct tm tm;

	if (prio >= LOG_DEBUG && !sink.verbose && !sink.hook)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tag && tag->text[0])
		snprintf(line, sizeof(line), "%s: %s", tag->text, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);
	if (sink.hook)
		sink.hook(sink.hook_arg, prio, line);
	if (prio >= LOG_DEBUG && !sink.verbose)
		return;
	if (sink.to_syslog)
		syslog(prio, "%s", line);
	if (!sink.to_stderr && !sink.fp)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (long)(now.tv_nsec / 1000000) % 1000);
	if (sink.to_stderr)
		fprintf(stderr, "%s pvscsid[%d] %s: %s\n", ts, (int)getpid(), prio_name(prio),
		        line);
	if (sink.fp)
		fprintf(sink.fp, "%s pvscsid[%d] %s: %s\n", ts, (int)getpid(), prio_name(prio),
		        line);
}

void pvsd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pvsd_vlog(NULL, prio, fmt, ap);
	va_end(ap);
}

void pvsd_log_tagged(void *arg, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pvsd_vlog(arg, prio, fmt, ap);
	va_end(ap);
}
