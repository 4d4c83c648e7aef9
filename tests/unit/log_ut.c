/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log_ut.c - common/log.c's destinations: the journal entries (exact fields
 * from tags, LUNs and the scope) through a fake sd_journal_sendv, the fall
 * back to syslog when the journal refuses a line, --log-target names, and
 * the JOURNAL_STREAM check that tells a daemon systemd connected its stderr
 * to the journal.
 */
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu_run.h"
#include "log.h"

/* The last journal entry, its fields joined by '|', and how many were sent. */
static char entry[4096];
static unsigned int nentries;
static int journal_rc;
static char sys_lines[8][1200];
static int sys_prio[8];
static unsigned int nsys;

static int fake_journal(const struct iovec *iov, int n)
{
	size_t len = 0;

	entry[0] = 0;
	for (int i = 0; i < n; i++) {
		/* sd_journal_sendv's rule: each iovec is one NAME=value field. */
		CU_ASSERT_PTR_NOT_NULL(memchr(iov[i].iov_base, '=', iov[i].iov_len));
		len += (size_t)snprintf(entry + len, sizeof(entry) - len, "%s%.*s", i ? "|" : "",
		                        (int)iov[i].iov_len, (const char *)iov[i].iov_base);
	}
	nentries++;
	return journal_rc;
}

static void fake_syslog(int prio, const char *line)
{
	if (nsys < 8) {
		sys_prio[nsys] = prio;
		snprintf(sys_lines[nsys], sizeof(sys_lines[0]), "%s", line);
	}
	nsys++;
}

static void open_sink(bool journal, bool sys, bool verbose)
{
	struct plog_cfg c = {
	    .ident = "pvscsid", .to_journal = journal, .to_syslog = sys, .verbose = verbose};

	entry[0] = 0;
	nentries = 0;
	nsys = 0;
	journal_rc = 0;
	plog_set_backends(fake_journal, fake_syslog);
	CU_ASSERT_EQUAL(plog_open(&c), 0);
}

#define BASE(prio, msg)                                                                            \
	"MESSAGE=" msg "|PRIORITY=" #prio "|SYSLOG_IDENTIFIER=pvscsid|SYSLOG_FACILITY=3"

static void test_fields(void)
{
	struct plog_tag t, dev;

	open_sink(true, false, false);
	plog(LOG_NOTICE, "pvscsid started (pid %d)", 42);
	CU_ASSERT_STRING_EQUAL(entry, BASE(5, "pvscsid started (pid 42)"));

	/* A vhost's line: its text prefix in MESSAGE, the numbers as fields. */
	plog_tag_set(&t, 7, 2);
	plog_tagged(&t, LOG_INFO, "backend state %s -> %s", "Initialising", "InitWait");
	CU_ASSERT_STRING_EQUAL(
	    entry, BASE(6, "d7 v2: backend state Initialising -> InitWait") "|DOMID=7|VHOST=2");

	/* One unit of it: LUN= as the guest addresses it; the tag itself unchanged. */
	plog_lun(&t, "0:0:1:3", LOG_ERR, "dev-1: p-dev '%s': %s", "2:0:0:0", "no such LUN");
	CU_ASSERT_STRING_EQUAL(
	    entry,
	    BASE(3, "d7 v2: dev-1: p-dev '2:0:0:0': no such LUN") "|DOMID=7|VHOST=2|LUN=0:0:1:3");
	CU_ASSERT_STRING_EQUAL(t.lun, "");
	plog_lun(NULL, "3:0", LOG_INFO, "LUN %s added", "3:0");
	CU_ASSERT_STRING_EQUAL(entry, BASE(6, "LUN 3:0 added") "|LUN=3:0");

	/* The ring's callback form, with the largest numbers a tag can carry. */
	plog_tag_set(&dev, 4294967295u, 4294967295u);
	plog_tagged(&dev, LOG_DEBUG, "dropped below the level");
	CU_ASSERT_EQUAL(nentries, 4);
	plog_tagged(&dev, LOG_WARNING, "x");
	CU_ASSERT_STRING_EQUAL(
	    entry, BASE(4, "d4294967295 v4294967295: x") "|DOMID=4294967295|VHOST=4294967295");
	CU_ASSERT_EQUAL(nsys, 0);
	plog_close();
}

/* What a controller's event handler logs with plain plog() gets its VHOST=. */
static void test_scope(void)
{
	struct plog_tag vm1, t;
	const struct plog_tag *old;

	open_sink(true, false, true);
	plog_tag_vhost(&vm1, "vm1");
	CU_ASSERT_STRING_EQUAL(vm1.text, "");
	old = plog_scope(&vm1);
	CU_ASSERT_PTR_NULL(old);
	plog(LOG_DEBUG, "vhost-user: %s size %u fds %u", "SET_MEM_TABLE", 40u, 1u);
	/* The text is the line's own: the scope adds fields only. */
	CU_ASSERT_STRING_EQUAL(entry,
	                       BASE(7, "vhost-user: SET_MEM_TABLE size 40 fds 1") "|VHOST=vm1");
	plog_lun(NULL, "0:1", LOG_INFO, "LUN added");
	CU_ASSERT_STRING_EQUAL(entry, BASE(6, "LUN added") "|VHOST=vm1|LUN=0:1");
	/* A line's own fields win over the scope's. */
	plog_tag_set(&t, 3, 0);
	plog_tagged(&t, LOG_INFO, "own");
	CU_ASSERT_STRING_EQUAL(entry, BASE(6, "d3 v0: own") "|DOMID=3|VHOST=0");
	CU_ASSERT_PTR_EQUAL(plog_scope(old), &vm1);
	plog(LOG_INFO, "after");
	CU_ASSERT_STRING_EQUAL(entry, BASE(6, "after"));
	plog_close();
}

static void test_fallback(void)
{
	char big[2000];

	/* journald not there: the line goes to syslog, once. */
	open_sink(true, false, false);
	journal_rc = -ENOENT;
	plog(LOG_ERR, "cannot open xenstore");
	CU_ASSERT_EQUAL(nentries, 1);
	CU_ASSERT_EQUAL(nsys, 1);
	CU_ASSERT_EQUAL(sys_prio[0], LOG_ERR);
	CU_ASSERT_STRING_EQUAL(sys_lines[0], "cannot open xenstore");
	/* It takes lines again: no more syslog copies. */
	journal_rc = 0;
	plog(LOG_INFO, "back");
	CU_ASSERT_EQUAL(nentries, 2);
	CU_ASSERT_EQUAL(nsys, 1);
	plog_close();

	/* Both asked for: syslog gets each line once, whatever the journal says. */
	open_sink(true, true, false);
	journal_rc = -ECONNREFUSED;
	plog(LOG_WARNING, "w");
	journal_rc = 0;
	plog(LOG_WARNING, "w2");
	CU_ASSERT_EQUAL(nsys, 2);
	CU_ASSERT_STRING_EQUAL(sys_lines[1], "w2");
	CU_ASSERT_EQUAL(nentries, 2);
	plog_close();

	/* Syslog alone: no journal entry. */
	open_sink(false, true, false);
	plog(LOG_INFO, "s");
	CU_ASSERT_EQUAL(nentries, 0);
	CU_ASSERT_EQUAL(nsys, 1);
	plog_close();

	/* A line longer than the log keeps: MESSAGE= cut, the field still well formed. */
	open_sink(true, false, false);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	plog(LOG_INFO, "%s", big);
	CU_ASSERT_EQUAL(strlen(entry), strlen("MESSAGE=") + 1023 +
	                                   strlen("|PRIORITY=6|SYSLOG_IDENTIFIER=pvscsid"
	                                          "|SYSLOG_FACILITY=3"));
	plog_close();
	plog_set_backends(NULL, NULL);
}

static void test_target_names(void)
{
	enum plog_target t = PLOG_TARGET_STDERR;

	CU_ASSERT_EQUAL(plog_target_parse("auto", &t), 0);
	CU_ASSERT_EQUAL(t, PLOG_TARGET_AUTO);
	CU_ASSERT_EQUAL(plog_target_parse("journal", &t), 0);
	CU_ASSERT_EQUAL(t, PLOG_TARGET_JOURNAL);
	CU_ASSERT_EQUAL(plog_target_parse("syslog", &t), 0);
	CU_ASSERT_EQUAL(t, PLOG_TARGET_SYSLOG);
	CU_ASSERT_EQUAL(plog_target_parse("stderr", &t), 0);
	CU_ASSERT_EQUAL(t, PLOG_TARGET_STDERR);
	CU_ASSERT_EQUAL(plog_target_parse("Journal", &t), -EINVAL);
	CU_ASSERT_EQUAL(plog_target_parse("", &t), -EINVAL);
	CU_ASSERT_EQUAL(plog_target_parse("file", &t), -EINVAL);
	CU_ASSERT_EQUAL(t, PLOG_TARGET_STDERR);
}

static void test_journal_stream(void)
{
	char path[] = "/tmp/log_ut.XXXXXX", v[64];
	const char *saved = getenv("JOURNAL_STREAM");
	char *keep = saved ? strdup(saved) : NULL;
	struct stat st;
	int fd = mkstemp(path), other = open("/dev/null", O_RDONLY | O_CLOEXEC), err2;

	CU_ASSERT_FATAL(fd >= 0 && other >= 0);
	unlink(path);
	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	unsetenv("JOURNAL_STREAM");
	CU_ASSERT_FALSE(plog_journal_stream(fd));
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	CU_ASSERT_TRUE(plog_journal_stream(fd));
	/* A stream redirected since (a daemon's /dev/null) is not the journal. */
	CU_ASSERT_FALSE(plog_journal_stream(other));
	CU_ASSERT_FALSE(plog_journal_stream(-1));
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	CU_ASSERT_FALSE(plog_journal_stream(fd));
	snprintf(v, sizeof(v), "%ju:%jux", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	CU_ASSERT_FALSE(plog_journal_stream(fd));
	setenv("JOURNAL_STREAM", "garbage", 1);
	CU_ASSERT_FALSE(plog_journal_stream(fd));

	/* plog_on_stderr: stderr itself, or the journal stderr is connected to. */
	err2 = dup(STDERR_FILENO);
	CU_ASSERT_FATAL(err2 >= 0);
	CU_ASSERT_FATAL(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	open_sink(true, false, false);
	CU_ASSERT_FALSE(plog_on_stderr());
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	CU_ASSERT_TRUE(plog_on_stderr());
	plog_close();
	open_sink(false, true, false);
	CU_ASSERT_FALSE(plog_on_stderr());
	plog_close();
	CU_ASSERT_EQUAL(plog_open(&(const struct plog_cfg){.to_stderr = true}), 0);
	CU_ASSERT_TRUE(plog_on_stderr());
	plog_close();
	dup2(err2, STDERR_FILENO);
	close(err2);
	plog_set_backends(NULL, NULL);

	if (keep)
		setenv("JOURNAL_STREAM", keep, 1);
	else
		unsetenv("JOURNAL_STREAM");
	free(keep);
	close(fd);
	close(other);
}

static const struct cu_test tests[] = {
    {"journal fields", test_fields},         {"scope", test_scope},
    {"fallback to syslog", test_fallback},   {"--log-target names", test_target_names},
    {"JOURNAL_STREAM", test_journal_stream},
};

int main(void)
{
	return CU_RUN("log", tests);
}
