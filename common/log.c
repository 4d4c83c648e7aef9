/*
 * log.c - the process-wide log sink (see log.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	const char *ident; /* NULL: program_invocation_short_name */
	bool stamp;
	bool to_stderr;
	bool to_syslog;
	int level;
	char *file;
	FILE *fp;
	plog_hook_fn hook;
	void *hook_arg;
} sink = {.to_stderr = true, .level = LOG_INFO};

static const char *prio_name(int prio)
{
	static const char *const names[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};

	return prio >= 0 && prio <= LOG_DEBUG ? names[prio] : "debug";
}

static const char *ident(void)
{
	return sink.ident ? sink.ident : program_invocation_short_name;
}

int plog_open(const struct plog_cfg *cfg)
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
	plog_close();
	sink.ident = cfg->ident;
	sink.stamp = cfg->stamp;
	sink.to_stderr = cfg->to_stderr;
	sink.level = cfg->verbose ? LOG_DEBUG : LOG_INFO;
	sink.fp = fp;
	sink.file = file;
	sink.to_syslog = cfg->to_syslog;
	if (sink.to_syslog)
		openlog(ident(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

void plog_close(void)
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

int plog_reopen(void)
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

void plog_level(int prio)
{
	sink.level = prio;
}

bool plog_verbose(void)
{
	return sink.level >= LOG_DEBUG;
}

void plog_set_hook(plog_hook_fn fn, void *arg)
{
	sink.hook = fn;
	sink.hook_arg = arg;
}

void plog_tag_set(struct plog_tag *t, uint32_t domid, uint32_t vhost)
{
	snprintf(t->text, sizeof(t->text), "d%u v%u", domid, vhost);
}

static void put(FILE *f, const char *ts, int prio, const char *line)
{
	if (sink.stamp)
		fprintf(f, "%s %s[%d] %s: %s\n", ts, ident(), (int)getpid(), prio_name(prio), line);
	else
		fprintf(f, "%s: %s: %s\n", ident(), prio_name(prio), line);
}

void vplog(const struct plog_tag *tag, int prio, const char *fmt, va_list ap)
{
	char msg[1024], line[1100], ts[96] = "";
	struct timespec now;
	struct tm tm;

	if (prio > sink.level)
		return;
	/* Nothing would see it: skip the formatting. */
	if (!sink.hook && !sink.to_syslog && !sink.to_stderr && !sink.fp)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tag && tag->text[0])
		snprintf(line, sizeof(line), "%s: %s", tag->text, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);
	if (sink.hook)
		sink.hook(sink.hook_arg, prio, line);
	if (sink.to_syslog)
		syslog(prio, "%s", line);
	if (!sink.to_stderr && !sink.fp)
		return;
	if (sink.stamp) {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         (long)(now.tv_nsec / 1000000) % 1000);
	}
	if (sink.to_stderr)
		put(stderr, ts, prio, line);
	if (sink.fp)
		put(sink.fp, ts, prio, line);
}

void plog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog(NULL, prio, fmt, ap);
	va_end(ap);
}

void plog_tagged(void *arg, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog(arg, prio, fmt, ap);
	va_end(ap);
}
