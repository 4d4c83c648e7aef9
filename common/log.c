/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - the process-wide log sink (see log.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void libc_syslog(int prio, const char *line)
{
	syslog(prio, "%s", line);
}

static struct {
	const char *ident; /* NULL: program_invocation_short_name */
	bool stamp;
	bool to_stderr;
	bool to_syslog;
	bool to_journal;
	bool syslog_open; /* openlog() done, for to_syslog or as the journal's fallback */
	int level;
	char *file;
	FILE *fp;
	plog_hook_fn hook;
	void *hook_arg;
	const struct plog_tag *scope;
	plog_journal_fn journal;
	plog_syslog_fn sys;
} sink = {.to_stderr = true, .level = LOG_INFO, .journal = sd_journal_sendv, .sys = libc_syslog};

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

int plog_target_parse(const char *s, enum plog_target *t)
{
	static const char *const names[] = {
	    [PLOG_TARGET_AUTO] = "auto",
	    [PLOG_TARGET_STDERR] = "stderr",
	    [PLOG_TARGET_SYSLOG] = "syslog",
	    [PLOG_TARGET_JOURNAL] = "journal",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*t = (enum plog_target)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool plog_journal_stream(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (!e || sscanf(e, "%ju:%ju%c", &dev, &ino, &end) != 2 || fstat(fd, &st) != 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

static void syslog_open(void)
{
	if (!sink.syslog_open)
		openlog(ident(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
	sink.syslog_open = true;
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
	sink.to_journal = cfg->to_journal;
	if (sink.to_syslog)
		syslog_open();
	return 0;
}

void plog_close(void)
{
	if (sink.fp)
		fclose(sink.fp);
	sink.fp = NULL;
	free(sink.file);
	sink.file = NULL;
	if (sink.syslog_open)
		closelog();
	sink.syslog_open = false;
	sink.to_syslog = false;
	sink.to_journal = false;
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

int plog_get_level(void)
{
	return sink.level;
}

static const char *const level_names[] = {"emerg",   "alert",  "crit", "err",
                                          "warning", "notice", "info", "debug"};

int plog_level_parse(const char *s, int *prio)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i])) {
			*prio = i;
			return 0;
		}
	if (!strcmp(s, "error") || !strcmp(s, "warn")) {
		*prio = s[0] == 'e' ? LOG_ERR : LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

const char *plog_level_name(int prio)
{
	return prio >= 0 && prio <= LOG_DEBUG ? level_names[prio] : "none";
}

bool plog_verbose(void)
{
	return sink.level >= LOG_DEBUG;
}

bool plog_on_stderr(void)
{
	return sink.to_stderr || (sink.to_journal && plog_journal_stream(STDERR_FILENO));
}

void plog_set_hook(plog_hook_fn fn, void *arg)
{
	sink.hook = fn;
	sink.hook_arg = arg;
}

void plog_set_backends(plog_journal_fn journal, plog_syslog_fn sys)
{
	sink.journal = journal ? journal : sd_journal_sendv;
	sink.sys = sys ? sys : libc_syslog;
}

void plog_tag_set(struct plog_tag *t, uint32_t domid, uint32_t vhost)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->text, sizeof(t->text), "d%u v%u", domid, vhost);
	snprintf(t->domid, sizeof(t->domid), "%u", domid);
	snprintf(t->vhost, sizeof(t->vhost), "%u", vhost);
}

void plog_tag_vhost(struct plog_tag *t, const char *vhost)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->vhost, sizeof(t->vhost), "%s", vhost);
}

const struct plog_tag *plog_scope(const struct plog_tag *t)
{
	const struct plog_tag *old = sink.scope;

	sink.scope = t;
	return old;
}

/* The line's own field, else the scope's; "" when neither knows it. */
#define FIELD(tag, f) ((tag) && (tag)->f[0] ? (tag)->f : sink.scope ? sink.scope->f : "")

/*
 * One journal entry: the line as MESSAGE= (tag text included, so that it
 * reads as in every other destination), what journalctl -p and -t select
 * on, and the tag's fields.  0 or -errno from the journal.
 */
static int journal_put(const struct plog_tag *tag, int prio, const char *line)
{
	char msg[sizeof("MESSAGE=") + 1100], pri[sizeof("PRIORITY=") + 12];
	char id[sizeof("SYSLOG_IDENTIFIER=") + 64], dom[sizeof("DOMID=") + sizeof(tag->domid)];
	char vh[sizeof("VHOST=") + sizeof(tag->vhost)], lun[sizeof("LUN=") + sizeof(tag->lun)];
	const char *f;
	struct iovec iov[7];
	int n = 0;

	/* A field is one iovec: "NAME=value". */
#define ADD(buf, ...)                                                                              \
	do {                                                                                       \
		int len_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                \
		iov[n].iov_base = buf;                                                             \
		iov[n++].iov_len = len_ < (int)sizeof(buf) ? (size_t)len_ : sizeof(buf) - 1;       \
	} while (0)
	ADD(msg, "MESSAGE=%s", line);
	ADD(pri, "PRIORITY=%d", prio);
	ADD(id, "SYSLOG_IDENTIFIER=%s", ident());
	iov[n].iov_base = "SYSLOG_FACILITY=3"; /* daemon, as our syslog lines */
	iov[n++].iov_len = strlen("SYSLOG_FACILITY=3");
	if ((f = FIELD(tag, domid))[0])
		ADD(dom, "DOMID=%s", f);
	if ((f = FIELD(tag, vhost))[0])
		ADD(vh, "VHOST=%s", f);
	if ((f = FIELD(tag, lun))[0])
		ADD(lun, "LUN=%s", f);
#undef ADD
	return sink.journal(iov, n);
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
	if (!sink.hook && !sink.to_syslog && !sink.to_journal && !sink.to_stderr && !sink.fp)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tag && tag->text[0])
		snprintf(line, sizeof(line), "%s: %s", tag->text, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);
	if (sink.hook)
		sink.hook(sink.hook_arg, prio, line);
	if (sink.to_journal && journal_put(tag, prio, line) < 0 && !sink.to_syslog) {
		/* No journald (a container, an early boot): syslog keeps the line. */
		syslog_open();
		sink.sys(prio, line);
	}
	if (sink.to_syslog)
		sink.sys(prio, line);
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

void plog_lun(const struct plog_tag *tag, const char *lun, int prio, const char *fmt, ...)
{
	struct plog_tag t = {0};
	va_list ap;

	if (tag)
		t = *tag;
	snprintf(t.lun, sizeof(t.lun), "%s", lun);
	va_start(ap, fmt);
	vplog(&t, prio, fmt, ap);
	va_end(ap);
}
