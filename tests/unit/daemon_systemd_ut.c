/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_systemd_ut.c - what pvscsid's loop gives systemd: STOPPING=1 with
 * a STATUS= (sd_notify) when a SIGTERM starts the drain, once, on the
 * socket $NOTIFY_SOCKET names, and nothing at all without it; and journal
 * entries whose DOMID=, VHOST= and LUN= fields come from the xenbus and the
 * ring of a connected guest (through a fake journal).  The loop runs on the
 * fake xenstore, grant table and event channel.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <time.h>

#include "cu_run.h"
#include "daemon.h"
#include "daemon_harness.h"
#include "fake_evtchn.h"
#include "fake_front.h"
#include "fake_gnt.h"
#include "fake_xs.h"
#include "log.h"
#include "ring_harness.h"

/* A datagram socket where sd_notify() sends; its fd, -1 on failure. */
static int notify_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The fakes a daemon with no vhost runs on, and its configuration on them. */
struct fakes {
	struct fake_xs *fx;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvsd_daemon_cfg cfg;
};

static void fakes_init(struct fakes *f, bool signals)
{
	struct fake_xs_conn *conn;

	memset(f, 0, sizeof(*f));
	f->fx = fake_xs_new();
	conn = fake_xs_connect(f->fx, 0);
	f->gnt = fake_gnt_new();
	f->evt = fake_evt_new();
	dh_cfg(&f->cfg, conn, f->gnt, f->evt);
	f->cfg.signals = signals;
}

static void fakes_fini(struct fakes *f)
{
	fake_xs_free(f->fx);
	fake_evt_free(f->evt);
	fake_gnt_free(f->gnt);
}

/* Run a daemon with no vhost until a real SIGTERM ends it. */
static void run_until_sigterm(void)
{
	struct fakes f;
	struct pvsd_daemon *d = NULL;
	int rc = 1, i;

	fakes_init(&f, true);
	CU_ASSERT_FATAL(pvsd_daemon_new(&f.cfg, &d) == 0);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 10), 1);
	CU_ASSERT_EQUAL(raise(SIGTERM), 0);
	for (i = 0; i < 100 && (rc = pvsd_daemon_iterate(d, 20)) > 0; i++)
		;
	CU_ASSERT_EQUAL(rc, 0);
	pvsd_daemon_free(d);
	fakes_fini(&f);
}

static void test_stopping(void)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/daemon_notify_ut.%d.sock", (int)getpid());
	fd = notify_listen(path);
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	run_until_sigterm();
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	CU_ASSERT_TRUE(n > 0);
	buf[n > 0 ? n : 0] = 0;
	CU_ASSERT_STRING_EQUAL(buf,
	                       "STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
	/* Once: the drain's later turns do not repeat it. */
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);

	/* No NOTIFY_SOCKET (not under systemd): nothing is sent anywhere. */
	unsetenv("NOTIFY_SOCKET");
	run_until_sigterm();
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), -1);
	close(fd);
	unlink(path);
}

/*
 * WatchdogSec=: the loop itself pings at half the interval systemd gives,
 * even when nothing else happens (an idle loop still wakes for it).
 */
static void test_watchdog(void)
{
	struct fakes f;
	struct pvsd_daemon *d = NULL;
	char path[64], pid[16], buf[256];
	unsigned int pings = 0, other = 0;
	struct timespec t0, t1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/daemon_wd_ut.%d.sock", (int)getpid());
	fd = notify_listen(path);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "60000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	fakes_init(&f, false);
	CU_ASSERT_FATAL(pvsd_daemon_new(&f.cfg, &d) == 0);
	/* Without the watchdog an idle loop would wait for ever here. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, -1), 1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 200);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = 0;
		if (!strcmp(buf, "WATCHDOG=1"))
			pings++;
		else
			other++;
	}
	/* Every 30 ms for 200 ms, give or take a busy machine. */
	CU_ASSERT_TRUE(pings >= 3 && pings <= 8);
	CU_ASSERT_EQUAL(other, 0);
	pvsd_daemon_free(d);

	/* Another process's WATCHDOG_PID (a parent's): no watchdog here. */
	setenv("WATCHDOG_PID", "1", 1);
	CU_ASSERT_FATAL(pvsd_daemon_new(&f.cfg, &d) == 0);
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 150), 1);
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), -1);
	pvsd_daemon_free(d);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("NOTIFY_SOCKET");
	fakes_fini(&f);
	close(fd);
	unlink(path);
}

/* Journal entries, each as its fields joined by '|'. */
static char entries[256][1400];
static unsigned int nentries;

static int fake_journal(const struct iovec *iov, int n)
{
	size_t len = 0;
	char *e = entries[nentries % 256];

	e[0] = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(e + len, sizeof(entries[0]) - len, "%s%.*s", i ? "|" : "",
		                        (int)iov[i].iov_len, (const char *)iov[i].iov_base);
	nentries++;
	return 0;
}

/* The entry whose MESSAGE= contains @msg, or NULL. */
static const char *entry_with(const char *msg)
{
	for (unsigned int i = 0; i < nentries && i < 256; i++) {
		const char *m = strstr(entries[i], "MESSAGE=");
		const char *end = strchr(entries[i], '|');

		if (m && end && strstr(m, msg) && strstr(m, msg) < end)
			return entries[i];
	}
	return NULL;
}

static void expect_entry(const char *msg, const char *fields)
{
	const char *e = entry_with(msg);

	CU_ASSERT_PTR_NOT_NULL(e);
	if (!e)
		return;
	if (strcmp(e, fields) != 0)
		fprintf(stderr, "\n  entry: %s\n  want:  %s\n", e, fields);
	CU_ASSERT_STRING_EQUAL(e, fields);
}

#define BEP "/local/domain/0/backend/vscsi/3/1"
#define FEP "/local/domain/3/device/vscsi/1"
#define HEAD(prio, msg)                                                                            \
	"MESSAGE=" msg "|PRIORITY=" #prio "|SYSLOG_IDENTIFIER=pvscsid|SYSLOG_FACILITY=3"

/* A guest connects with one good device and one the host cannot open. */
static void test_journal_fields(void)
{
	struct fake_xs *fx = fake_xs_new();
	struct fake_xs_conn *conn = fake_xs_connect(fx, 0);
	struct fake_gnt *gnt = fake_gnt_new();
	struct fake_evt *evt = fake_evt_new();
	struct pvsd_daemon_cfg cfg = {0};
	struct pvsd_daemon *d = NULL;
	struct fake_front f;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	char v[16];
	int i;

	nentries = 0;
	plog_set_backends(fake_journal, NULL);
	CU_ASSERT_FATAL(plog_open(&(const struct plog_cfg){
	                    .ident = "pvscsid", .to_journal = true, .verbose = true}) == 0);
	dh_cfg(&cfg, conn, gnt, evt);
	cfg.signals = false;
	cfg.verbose = true;
	CU_ASSERT_FATAL(pvsd_daemon_new(&cfg, &d) == 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/frontend", FEP), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/frontend-id", "3"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/online", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/state", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/p-dev", "mem:4M"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/v-dev", "1:0:0:0"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/state", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-1/p-dev", "9:0:0:0"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-1/v-dev", "1:0:2:5"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-1/state", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, FEP "/state", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_chmod(fx, "/local/domain/0/backend/vscsi/3", "n0 r3", true), 0);
	CU_ASSERT_EQUAL(fake_xs_chmod(fx, FEP, "n3 r0", true), 0);
	CU_ASSERT_EQUAL(dh_iterate_until(d, fx, BEP "/state", "2"), 0);
	CU_ASSERT_FATAL(fake_front_init(&f, gnt, evt, 3) == 0);
	snprintf(v, sizeof(v), "%u", f.ring_ref);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 3, FEP "/ring-ref", "%s", v), 0);
	snprintf(v, sizeof(v), "%u", f.port);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 3, FEP "/event-channel", "%s", v), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 3, FEP "/state", "3"), 0);
	CU_ASSERT_EQUAL(dh_iterate_until(d, fx, BEP "/state", "4"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 3, FEP "/state", "4"), 0);
	CU_ASSERT_EQUAL(dh_iterate_until(d, fx, BEP "/vscsi-devs/dev-0/state", "4"), 0);
	rh_inquiry(&c, buf, 96, 96);
	CU_ASSERT_FATAL(fake_front_queue(&f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&f));
	for (i = 0; i < 100 && fake_front_response(&f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);

	/* The program's own line: no fields of a guest. */
	expect_entry("serving /local/domain/0/backend/vscsi",
	             HEAD(6, "serving /local/domain/0/backend/vscsi (feature-sg-grant 128)"));
	/* The xenbus's lines about the vhost, and about each device with its v-dev. */
	expect_entry("backend state Initialising -> InitWait",
	             HEAD(6, "d3 v1: backend state Initialising -> InitWait") "|DOMID=3|VHOST=1");
	expect_entry("dev-0: v-dev",
	             HEAD(6, "d3 v1: dev-0: v-dev 0:0:0 is mem:4M") "|DOMID=3|VHOST=1|LUN=1:0:0:0");
	CU_ASSERT_PTR_NOT_NULL(entry_with("d3 v1: dev-1: p-dev '9:0:0:0': "));
	if (entry_with("dev-1: p-dev"))
		CU_ASSERT_PTR_NOT_NULL(strstr(entry_with("dev-1: p-dev"),
		                              "|PRIORITY=3|SYSLOG_IDENTIFIER=pvscsid|"
		                              "SYSLOG_FACILITY=3|DOMID=3|VHOST=1|LUN=1:0:2:5"));
	/* The ring's per-request trace, through the same tag. */
	expect_entry(
	    "req rqid 0",
	    HEAD(
	        7,
	        "d3 v1: dom 3 vhost 1: req rqid 0 0:0:0 INQUIRY (0x12) len 96") "|DOMID=3|VHOST=1");

	pvsd_daemon_stop(d);
	for (i = 0; i < 100 && pvsd_daemon_iterate(d, 20) > 0; i++)
		;
	pvsd_daemon_free(d);
	fake_front_fini(&f);
	fake_xs_free(fx);
	fake_evt_free(evt);
	fake_gnt_free(gnt);
	free(buf);
	plog_close();
	plog_set_backends(NULL, NULL);
	plog_open(
	    &(const struct plog_cfg){.ident = "pvscsid", .to_stderr = getenv("XB_LOG") != NULL});
}

static const struct cu_test tests[] = {
    {"STOPPING=1 on SIGTERM", test_stopping},
    {"WATCHDOG=1 from the loop", test_watchdog},
    {"journal fields of a guest's lines", test_journal_fields},
};

int main(void)
{
	sigset_t set;

	/* As main.c does, before any thread: SIGTERM only through the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	plog_open(
	    &(const struct plog_cfg){.ident = "pvscsid", .to_stderr = getenv("XB_LOG") != NULL});
	return CU_RUN("daemon_systemd", tests);
}
