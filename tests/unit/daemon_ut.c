/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_ut.c - pvscsid's process layer (backend/daemon.c): options, the
 * single-instance checks, and the event loop on the fake xenstore, grant
 * table and event channel with a real worker, stopped by a real SIGTERM.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cu_run.h"
#include "daemon.h"
#include "daemon_harness.h"
#include "fake_evtchn.h"
#include "fake_front.h"
#include "fake_gnt.h"
#include "fake_sg.h"
#include "fake_sysfs.h"
#include "fake_xs.h"
#include "log.h"
#include "ring.h"
#include "ring_harness.h"

static char logbuf[256][300];
static unsigned int nlog;

static void log_hook(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	if (nlog < 256)
		snprintf(logbuf[nlog++], sizeof(logbuf[0]), "%s", line);
}

static bool log_has(const char *needle)
{
	for (unsigned int i = 0; i < nlog && i < 256; i++)
		if (strstr(logbuf[i], needle))
			return true;
	return false;
}

static int parse(struct pvsd_opts *o, const char *line)
{
	static char buf[512]; /* o's strings point into it */
	char *argv[32];
	int argc = 0;
	FILE *null = fopen("/dev/null", "w");
	int rc;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = "pvscsid";
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	rc = pvsd_opts_parse(argc, argv, o, null, null);
	fclose(null);
	return rc;
}

static void test_options(void)
{
	struct pvsd_opts o;

	CU_ASSERT_EQUAL(parse(&o, ""), 0);
	CU_ASSERT_FALSE(o.foreground);
	CU_ASSERT_FALSE(o.verbose);
	CU_ASSERT_FALSE(o.to_syslog);
	CU_ASSERT_PTR_NULL(o.log_file);
	CU_ASSERT_STRING_EQUAL(o.pid_file, PVSD_DEFAULT_PID_FILE);
	CU_ASSERT_EQUAL(o.max_segs, 0);
	CU_ASSERT_EQUAL(o.drain_timeout_ms, PVSD_DRAIN_TIMEOUT_MS);

	/* What the e2e suite runs. */
	CU_ASSERT_EQUAL(parse(&o, "--foreground --verbose --log-file /tmp/x.log"), 0);
	CU_ASSERT_TRUE(o.foreground);
	CU_ASSERT_TRUE(o.verbose);
	CU_ASSERT_STRING_EQUAL(o.log_file, "/tmp/x.log");

	CU_ASSERT_EQUAL(parse(&o, "-f -v -s -p /run/p.pid --sysfs-root /fs/sys --dev-root /fs/dev "
	                          "--max-segs 256 --drain-timeout 5"),
	                0);
	CU_ASSERT_TRUE(o.to_syslog);
	CU_ASSERT_STRING_EQUAL(o.pid_file, "/run/p.pid");
	CU_ASSERT_STRING_EQUAL(o.sysfs_root, "/fs/sys");
	CU_ASSERT_STRING_EQUAL(o.dev_root, "/fs/dev");
	CU_ASSERT_EQUAL(o.max_segs, 256);
	CU_ASSERT_EQUAL(o.drain_timeout_ms, 5000);

	CU_ASSERT_EQUAL(parse(&o, "--help"), 1);
	CU_ASSERT_EQUAL(parse(&o, "-h"), 1);
	CU_ASSERT_EQUAL(parse(&o, "--bogus"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--log-file"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--max-segs 25"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--max-segs 1025"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--max-segs 12x"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--drain-timeout -1"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "-f extra"), -EINVAL);

	CU_ASSERT_PTR_NULL(o.be_type);
	CU_ASSERT_EQUAL(parse(&o, "--backend-type pvscsi"), 0);
	CU_ASSERT_STRING_EQUAL(o.be_type, "pvscsi");
	CU_ASSERT_EQUAL(parse(&o, "--backend-type ../vbd"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--backend-type PV"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--backend-type 012345678901234567890123456789012"), -EINVAL);

	CU_ASSERT_EQUAL(o.poll_us, 0);
	CU_ASSERT_EQUAL(parse(&o, "--poll-us 50"), 0);
	CU_ASSERT_EQUAL(o.poll_us, 50);
	CU_ASSERT_EQUAL(parse(&o, "--poll-us 1000"), 0);
	CU_ASSERT_EQUAL(parse(&o, "--poll-us 1001"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--poll-us -5"), -EINVAL);
	CU_ASSERT_EQUAL(o.coalesce_us, 0);
	CU_ASSERT_EQUAL(parse(&o, "--coalesce-us 500"), 0);
	CU_ASSERT_EQUAL(o.coalesce_us, 500);
	CU_ASSERT_EQUAL(parse(&o, "--coalesce-us 10000"), 0);
	CU_ASSERT_EQUAL(parse(&o, "--coalesce-us 10001"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--coalesce-us 1ms"), -EINVAL);
	CU_ASSERT_FALSE(o.no_defer_kicks);
	CU_ASSERT_EQUAL(parse(&o, "--no-defer-kicks"), 0);
	CU_ASSERT_TRUE(o.no_defer_kicks);
	CU_ASSERT_EQUAL(parse(&o, "--defer-kicks"), -EINVAL);

	CU_ASSERT_EQUAL(parse(&o, ""), 0);
	CU_ASSERT_EQUAL(o.threads, 0); /* one per online CPU */
	CU_ASSERT_EQUAL(parse(&o, "--threads 4"), 0);
	CU_ASSERT_EQUAL(o.threads, 4);
	CU_ASSERT_EQUAL(parse(&o, "--threads 64"), 0);
	CU_ASSERT_EQUAL(parse(&o, "--threads 0"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--threads 65"), -EINVAL);
	CU_ASSERT_EQUAL(parse(&o, "--threads two"), -EINVAL);
}

static void test_pidfile(void)
{
	char dir[] = "/tmp/daemon_ut.XXXXXX", path[64], msg[256], buf[32], want[64];
	int fd = -1, fd2 = -1;
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/pvscsid.pid", dir);
	CU_ASSERT_EQUAL(pvsd_pidfile_lock(path, &fd, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(pvsd_pidfile_write(fd), 0);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	CU_ASSERT_STRING_EQUAL(buf, want);
	/* A second daemon is refused, naming the first. */
	CU_ASSERT_EQUAL(pvsd_pidfile_lock(path, &fd2, msg, sizeof(msg)), -EEXIST);
	snprintf(want, sizeof(want), "another pvscsid is running (pid %d,", (int)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
	CU_ASSERT_EQUAL(fd2, -1);
	/* Once the first is gone, the lock is free again (a stale file does not matter). */
	close(fd);
	CU_ASSERT_EQUAL(pvsd_pidfile_lock(path, &fd2, msg, sizeof(msg)), 0);
	close(fd2);
	snprintf(path, sizeof(path), "%s/no/such/dir/p.pid", dir);
	CU_ASSERT_EQUAL(pvsd_pidfile_lock(path, &fd2, msg, sizeof(msg)), -ENOENT);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CU_ASSERT(system(path) == 0);
}

static void test_scsiback_check(void)
{
	char dir[] = "/tmp/daemon_ut.XXXXXX", path[96], msg[512];

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	msg[0] = '\0';
	CU_ASSERT_EQUAL(pvsd_check_scsiback(dir, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "");
	snprintf(path, sizeof(path), "%s/module", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/module/xen_scsiback", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0755), 0);
	CU_ASSERT_EQUAL(pvsd_check_scsiback(dir, msg, sizeof(msg)), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "xen-scsiback is loaded"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "modprobe -r xen-scsiback"));
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CU_ASSERT(system(path) == 0);
}

#define BEP "/local/domain/0/backend/vscsi/3/0"
#define FEP "/local/domain/3/device/vscsi/0"

/* The loop end to end: xenstore, ring kicks, worker completions, SIGTERM. */
/*
 * @legacy: the loop sleeps in epoll_wait and reads the event channel
 * itself (PVSD_URING_SLEEP=0, PVSD_EVTCHN_URING=0); otherwise in the
 * worker's io_uring, the channel read through it.
 */
static void loop_and_sigterm(bool legacy)
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
	int rc = 1, i;

	nlog = 0;
	plog_set_hook(log_hook, NULL);
	dh_cfg(&cfg, conn, gnt, evt);
	cfg.verbose = true;
	if (legacy) {
		setenv("PVSD_URING_SLEEP", "0", 1);
		setenv("PVSD_EVTCHN_URING", "0", 1);
	}
	CU_ASSERT_FATAL(pvsd_daemon_new(&cfg, &d) == 0);

	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/frontend", FEP), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/frontend-id", "3"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/online", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/state", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/p-dev", "mem:4M"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/v-dev", "0:0:0:0"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, BEP "/vscsi-devs/dev-0/state", "1"), 0);
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

	/* A request through the loop: the kick wakes epoll, the answer comes back. */
	rh_inquiry(&c, buf, 96, 96);
	CU_ASSERT_FATAL(fake_front_queue(&f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&f));
	for (i = 0; i < 100 && fake_front_response(&f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_TRUE(i < 100);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, "PVSCSI  ", 8), 0);
	CU_ASSERT_TRUE(log_has("d3 v0: dom 3 vhost 0: req rqid 0 0:0:0 INQUIRY"));

	/*
	 * Adaptive polling: after a pass that did work the loop leaves the
	 * ring unarmed and spins, so a request queued now costs no notify and
	 * is still served; once idle the loop arms the ring before it sleeps.
	 */
	pvsd_xenbus_set_poll_us(pvsd_daemon_xenbus(d), 500);
	CU_ASSERT_FATAL(fake_front_queue(&f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&f)); /* armed by the last pass without polling */
	for (i = 0; i < 100 && fake_front_response(&f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_TRUE(i < 100);
	CU_ASSERT_FATAL(fake_front_queue(&f, &c) >= 0);
	CU_ASSERT_FALSE(fake_front_push(&f)); /* unarmed: no event for this one */
	for (i = 0; i < 100 && fake_front_response(&f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_TRUE(i < 100);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	/* Nothing more: the spin ends, the ring is armed, the loop sleeps. */
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_FATAL(fake_front_queue(&f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&f));
	for (i = 0; i < 100 && fake_front_response(&f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_TRUE(i < 100);
	pvsd_xenbus_set_poll_us(pvsd_daemon_xenbus(d), 0);

	/* SIGTERM (blocked, so it waits for the signalfd): drain, end, xenstore untouched. */
	fake_xs_clear_history(fx);
	CU_ASSERT_EQUAL(raise(SIGTERM), 0);
	for (i = 0; i < 100 && (rc = pvsd_daemon_iterate(d, 20)) > 0; i++)
		;
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(log_has("signal Terminated"));
	CU_ASSERT_TRUE(log_has("every request answered; exiting"));
	CU_ASSERT_STRING_EQUAL(fake_xs_get(fx, BEP "/state"), "4");
	CU_ASSERT_STRING_EQUAL(fake_xs_history(fx, BEP "/state"), "");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(fx, BEP "/vscsi-devs/dev-0/state"), "4");
	pvsd_daemon_free(d);
	unsetenv("PVSD_URING_SLEEP");
	unsetenv("PVSD_EVTCHN_URING");
	{
		struct fake_gnt_stats gs;

		fake_gnt_get_stats(gnt, &gs);
		CU_ASSERT_EQUAL(gs.mapped, 0);
	}
	CU_ASSERT_EQUAL(f.errors, 0);
	fake_front_fini(&f);
	fake_xs_free(fx);
	fake_evt_free(evt);
	fake_gnt_free(gnt);
	plog_set_hook(NULL, NULL);
	free(buf);
}

static void test_loop_and_sigterm(void)
{
	loop_and_sigterm(false);
}

static void test_loop_and_sigterm_legacy(void)
{
	loop_and_sigterm(true);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A daemon with deferred kicks (and coalescing: @coalesce_us) serving guest 3 a fake sg disk. */
struct sgd {
	struct fake_xs *fx;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct fake_sysfs fs;
	struct pvsd_daemon *d;
	struct dh_guest g;
};

static void sgd_up(struct sgd *x, unsigned int coalesce_us)
{
	struct pvsd_daemon_cfg cfg = {0};
	struct fake_scsi_dev sd = {0};
	char sgpath[PATH_MAX + 8];

	memset(x, 0, sizeof(*x));
	x->fx = fake_xs_new();
	x->gnt = fake_gnt_new();
	x->evt = fake_evt_new();
	CU_ASSERT_FATAL(fake_sysfs_create(&x->fs) == 0);
	sd.host = 2;
	sd.type = 0;
	sd.wwid = "naa.6001405aaaaaaaaa";
	sd.sg = "sg0";
	sd.block = "sda";
	CU_ASSERT_FATAL(fake_sysfs_add_scsi(&x->fs, &sd) == 0);
	snprintf(sgpath, sizeof(sgpath), "%s/%s", x->fs.dev, sd.sg);
	fake_sg_reset();
	fake_sg_add_node(sgpath, FAKE_SG_CHR);
	pvsi_sg_set_ops(&fake_sg_ops);
	dh_cfg(&cfg, fake_xs_connect(x->fx, 0), x->gnt, x->evt);
	cfg.resolver.sysfs_root = x->fs.sys;
	cfg.resolver.dev_root = x->fs.dev;
	cfg.defer_kicks = true;
	cfg.coalesce_us = coalesce_us;
	CU_ASSERT_FATAL(pvsd_daemon_new(&cfg, &x->d) == 0);
	x->g.domid = 3;
	CU_ASSERT_FATAL(dh_guest_up(x->d, x->fx, x->gnt, x->evt, &x->g, "2:0:0:0") == 0);
}

static void sgd_down(struct sgd *x)
{
	pvsd_daemon_free(x->d);
	fake_front_fini(&x->g.f);
	fake_xs_free(x->fx);
	fake_evt_free(x->evt);
	fake_gnt_free(x->gnt);
	pvsi_sg_set_ops(NULL);
	fake_sg_reset();
	fake_sysfs_destroy(&x->fs);
}

/*
 * Deferred kicks in the loop (pvscsid's default): with fewer than
 * PVSD_DEFER_MIN commands out the ring is armed before the loop sleeps;
 * with that many, the guest's next one costs no notification, the loop's
 * sleep is bounded (PVSD_DEFER_MS) and a pass takes it; a pass that finds
 * nothing arms the ring, and then the loop sleeps as long as it is asked to.
 */
static void test_loop_defer_kicks(void)
{
	struct sgd x;
	struct pvsd_daemon *d;
	struct fake_front *f;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	unsigned int w0, i;
	uint64_t t0;

	sgd_up(&x, 0);
	d = x.d;
	f = &x.g.f;

	/*
	 * TEST UNIT READYs held in the device, one at a time: each finds the
	 * ring armed before the loop slept, until PVSD_DEFER_MIN are out.
	 */
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	fake_sg_hold(true);
	w0 = fake_sg_writes();
	rh_tur(&c);
	for (unsigned int k = 1; k <= PVSD_DEFER_MIN; k++) {
		/* the loop arms before it sleeps: k - 1 out is too few to defer */
		if (k > 1)
			CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
		CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
		CU_ASSERT_TRUE(fake_front_push(f));
		for (i = 0; i < 100 && fake_sg_writes() == w0 + k - 1; i++)
			CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
		CU_ASSERT_EQUAL_FATAL(fake_sg_writes(), w0 + k);
	}
	w0 += PVSD_DEFER_MIN - 1;
	/* The next one behind them: no notification; a bounded sleep, then a pass takes it. */
	CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
	CU_ASSERT_FALSE(fake_front_push(f));
	t0 = ms_now();
	for (i = 0; i < 20 && fake_sg_writes() == w0 + 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 2000), 1);
	CU_ASSERT_EQUAL(fake_sg_writes(), w0 + 2);
	CU_ASSERT_TRUE(ms_now() - t0 < 1000);
	/*
	 * Nothing more: one bounded sleep, and after that empty pass the ring
	 * is armed and the loop sleeps the whole time asked, commands out.
	 */
	t0 = ms_now();
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 2000), 1);
	CU_ASSERT_TRUE(ms_now() - t0 < 1000);
	t0 = ms_now();
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 300), 1);
	CU_ASSERT_TRUE(ms_now() - t0 >= 250);
	CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(f));
	for (i = 0; i < 100 && fake_sg_writes() == w0 + 2; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_EQUAL(fake_sg_writes(), w0 + 3);

	/* The device answers: all come back. */
	fake_sg_hold(false);
	CU_ASSERT_EQUAL(fake_sg_release(), PVSD_DEFER_MIN + 2);
	for (i = 0; i < PVSD_DEFER_MIN + 2; i++) {
		int got = 0;

		for (int j = 0; j < 100 && (got = fake_front_response(f, &rsp)) != 1; j++)
			CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
		CU_ASSERT_EQUAL(got, 1);
		CU_ASSERT_EQUAL(rsp.rslt, 0);
	}
	CU_ASSERT_EQUAL(f->errors, 0);
	sgd_down(&x);
}
/*
 * Completion coalescing (--coalesce-us): after a pass that worked the loop
 * sleeps the whole time with the ring unarmed, an answer already there
 * included, so the guest's next command costs no notification and one pass
 * answers and takes everything; after a pass that found nothing the ring is
 * armed and the loop sleeps as long as it is asked to.
 */
static void test_loop_coalesce(void)
{
	struct sgd x;
	struct pvsd_daemon *d;
	struct fake_front *f;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint64_t t0, n0;
	unsigned int i, w0;

	sgd_up(&x, PVSD_COALESCE_US_MAX);
	d = x.d;
	f = &x.g.f;
	for (i = 0; i < 10; i++)
		pvsd_daemon_iterate(d, 20);

	/* An idle ring is armed: the first command notifies, and a pass takes it. */
	rh_tur(&c);
	w0 = fake_sg_writes();
	CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(f));
	n0 = fake_front_notifications(f);
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 2000), 1);
	CU_ASSERT_EQUAL(fake_sg_writes(), w0 + 1);
	/*
	 * The next one, behind it: no notification.  The loop sleeps the whole
	 * hold though the first one's answer is there, then answers it and
	 * takes the second in one pass.
	 */
	CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
	CU_ASSERT_FALSE(fake_front_push(f));
	t0 = ms_now();
	CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 2000), 1);
	CU_ASSERT_TRUE(ms_now() - t0 >= PVSD_COALESCE_US_MAX / 1000 - 1);
	CU_ASSERT_TRUE(ms_now() - t0 < 1500);
	CU_ASSERT_EQUAL(fake_sg_writes(), w0 + 2);
	CU_ASSERT_EQUAL(fake_front_response(f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(fake_front_notifications(f), n0 + 1);
	/* Held again after that pass; the one after it answers the second. */
	for (i = 0; i < 10 && fake_front_response(f, &rsp) != 1; i++) {
		t0 = ms_now();
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 2000), 1);
		CU_ASSERT_TRUE(ms_now() - t0 >= PVSD_COALESCE_US_MAX / 1000 - 1);
	}
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	/* Nothing more: after the empty pass the ring is armed and the sleep is whole. */
	for (i = 0; i < 10; i++) {
		t0 = ms_now();
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 300), 1);
		if (ms_now() - t0 >= 250)
			break;
	}
	CU_ASSERT_TRUE(i < 10);
	CU_ASSERT_FATAL(fake_front_queue(f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(f));
	for (i = 0; i < 100 && fake_front_response(f, &rsp) != 1; i++)
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 20), 1);
	CU_ASSERT_TRUE(i < 100);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(f->errors, 0);
	sgd_down(&x);
}

/* ---- --threads ---- */

struct tguest {
	struct dh_guest dg;
	uint8_t *buf;
};

/* A guest's vhost 0 with dev-0 = @pdev, connected, past its power-on unit attention. */
static void tguest_up(struct pvsd_daemon *d, struct fake_xs *fx, struct fake_gnt *gnt,
                      struct fake_evt *evt, struct tguest *g, const char *pdev)
{
	CU_ASSERT_FATAL(dh_guest_up(d, fx, gnt, evt, &g->dg, pdev) == 0);
	g->buf = rh_alloc(8 * 4096);
}

/* A daemon with --threads @threads over fakes of its own, its log kept for log_has(). */
struct tenv {
	struct fake_xs *fx;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvsd_daemon *d;
};

/* --coalesce-us for the next tenv_up(). */
static unsigned int tenv_coalesce_us;

static void tenv_up(struct tenv *t, unsigned int threads)
{
	struct pvsd_daemon_cfg cfg = {0};

	nlog = 0;
	plog_set_hook(log_hook, NULL);
	t->fx = fake_xs_new();
	t->gnt = fake_gnt_new();
	t->evt = fake_evt_new();
	dh_cfg(&cfg, fake_xs_connect(t->fx, 0), t->gnt, t->evt);
	cfg.threads = threads;
	cfg.defer_kicks = true; /* pvscsid's default */
	cfg.coalesce_us = tenv_coalesce_us;
	CU_ASSERT_FATAL(pvsd_daemon_new(&cfg, &t->d) == 0);
}

/* SIGTERM: every loop drains and the daemon ends. */
static void tenv_stop(struct tenv *t)
{
	int rc = 1;

	CU_ASSERT_EQUAL(raise(SIGTERM), 0);
	for (int i = 0; i < 200 && (rc = pvsd_daemon_iterate(t->d, 20)) > 0; i++)
		;
	CU_ASSERT_EQUAL(rc, 0);
}

/* After tenv_stop(): nothing left mapped, no guest saw a protocol error; all freed. */
static void tenv_free(struct tenv *t, struct tguest *g, unsigned int ng)
{
	struct fake_gnt_stats gs;

	pvsd_daemon_free(t->d);
	fake_gnt_get_stats(t->gnt, &gs);
	CU_ASSERT_EQUAL(gs.mapped, 0);
	for (unsigned int k = 0; k < ng; k++) {
		CU_ASSERT_EQUAL(g[k].dg.f.errors, 0);
		fake_front_fini(&g[k].dg.f);
		free(g[k].buf);
	}
	fake_xs_free(t->fx);
	fake_evt_free(t->evt);
	fake_gnt_free(t->gnt);
	plog_set_hook(NULL, NULL);
}

struct tloops {
	int loop[8];
};
static void tl_vhost(void *arg, const struct pvsd_vhost_info *v)
{
	struct tloops *t = arg;

	if (v->domid < 8)
		t->loop[v->domid] = v->loop;
}
static void tl_dev(void *arg, const struct pvsd_dev_info *di)
{
	(void)arg;
	(void)di;
}
static void tl_end(void *arg)
{
	(void)arg;
}

/*
 * pvscsid --threads 2 end to end on the fakes: guests are placed on the
 * two loop threads by their LUNs, each loop serves its rings while the
 * test's thread (the main one) drives xenstore, and a write then a read
 * of every guest, all in flight at once, come back right; SIGTERM drains
 * every loop and the daemon ends with nothing mapped.
 */
static void threads_io(void)
{
	static const struct pvsd_xenbus_visitor vis = {tl_vhost, tl_dev, tl_end};
	struct tenv t;
	struct tguest g[3] = {{.dg.domid = 3}, {.dg.domid = 4}, {.dg.domid = 5}};
	struct tloops tl;
	char file[64], pd[96];
	int i, fd;

	snprintf(file, sizeof(file), "/tmp/daemon_ut.%d", (int)getpid());
	fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 4 << 20) == 0);
	close(fd);
	snprintf(pd, sizeof(pd), "file:%s", file);
	tenv_up(&t, 2);
	CU_ASSERT_TRUE(log_has("serving the rings on up to 2 event-loop threads"));
	/* No thread before a ring needs one, and no more threads than rings. */
	CU_ASSERT_FALSE(log_has("event loop 0 started"));
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g[0], "mem:4M");
	CU_ASSERT_TRUE(log_has("event loop 0 started"));
	CU_ASSERT_FALSE(log_has("event loop 1 started"));
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g[1], pd);
	CU_ASSERT_TRUE(log_has("event loop 1 started"));
	/* The loops have one ring each; the shared file's loop wins. */
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g[2], pd);
	memset(&tl, -1, sizeof(tl));
	pvsd_xenbus_visit(pvsd_daemon_xenbus(t.d), &vis, &tl);
	CU_ASSERT_EQUAL(tl.loop[3], 0);
	CU_ASSERT_EQUAL(tl.loop[4], 1);
	CU_ASSERT_EQUAL(tl.loop[5], 1);

	/* Each guest writes its own pattern at its own LBA, all at once; then reads it back. */
	for (int pass = 0; pass < 2; pass++) {
		struct fake_front_cmd c;
		struct vscsiif_response rsp;
		unsigned int got[3] = {0};

		for (int k = 0; k < 3; k++) {
			if (!pass)
				memset(g[k].buf, 0x40 + k, 8 * 4096);
			else
				memset(g[k].buf, 0, 8 * 4096);
			for (int j = 0; j < 4; j++) {
				/* Guests 4 and 5 share the file: their LBAs do not overlap. */
				rh_rw10(&c, pass == 0, (uint32_t)(k * 64 + j * 16), 16,
				        g[k].buf + j * 8192, 8192);
				CU_ASSERT_FATAL(fake_front_queue(&g[k].dg.f, &c) >= 0);
			}
			fake_front_push(&g[k].dg.f);
		}
		for (i = 0; i < 500 && (got[0] < 4 || got[1] < 4 || got[2] < 4); i++) {
			CU_ASSERT_EQUAL(pvsd_daemon_iterate(t.d, 10), 1);
			for (int k = 0; k < 3; k++)
				while (fake_front_response(&g[k].dg.f, &rsp) == 1) {
					CU_ASSERT_EQUAL(rsp.rslt, 0);
					got[k]++;
				}
		}
		CU_ASSERT_EQUAL(got[0], 4);
		CU_ASSERT_EQUAL(got[1], 4);
		CU_ASSERT_EQUAL(got[2], 4);
	}
	for (int k = 0; k < 3; k++) {
		unsigned int bad = 0;

		for (unsigned int b = 0; b < 8 * 4096; b++)
			bad += g[k].buf[b] != 0x40 + k;
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(g[k].dg.f.errors, 0);
	}

	/* SIGTERM: every loop drains, the main thread ends it, xenstore is left as it is. */
	tenv_stop(&t);
	CU_ASSERT_TRUE(log_has("every request answered; exiting"));
	CU_ASSERT_STRING_EQUAL(fake_xs_get(t.fx, "/local/domain/0/backend/vscsi/4/0/state"), "4");
	tenv_free(&t, g, 3);
	unlink(file);
}

static void test_threads(void)
{
	threads_io();
}

/* The same with completion coalescing: the loop threads' held sleeps. */
static void test_threads_coalesce(void)
{
	tenv_coalesce_us = 2000;
	threads_io();
	tenv_coalesce_us = 0;
}

/* Reads or writes of 8 KiB at LBA @lba + 16 j of v-dev 0:0:@tgt:0, @n of them, all queued at once.
 */
static void tq_rw(struct tguest *g, bool write, uint16_t tgt, uint32_t lba, unsigned int n)
{
	for (unsigned int j = 0; j < n; j++) {
		struct fake_front_cmd c;

		rh_rw10(&c, write, lba + j * 16, 16, g->buf + j * 8192, 8192);
		c.id = tgt;
		CU_ASSERT_FATAL(fake_front_queue(&g->dg.f, &c) >= 0);
	}
	fake_front_push(&g->dg.f);
}

/* Run the daemon until @g has @n good answers: the count it got. */
static unsigned int tq_wait(struct pvsd_daemon *d, struct tguest *g, unsigned int n)
{
	struct vscsiif_response rsp;
	unsigned int got = 0;

	for (int i = 0; i < 1000 && got < n; i++) {
		CU_ASSERT_EQUAL(pvsd_daemon_iterate(d, 10), 1);
		while (fake_front_response(&g->dg.f, &rsp) == 1) {
			CU_ASSERT_EQUAL(rsp.rslt, 0);
			got++;
		}
	}
	return got;
}

/*
 * --threads 2 on the loop threads: a hot add of the other loop's LUN moves
 * the vhost there while both guests have writes in flight, and no request
 * is lost: every write is answered, the data reads back through the new
 * device and the old, and both vhosts end on one loop.
 */
static void test_threads_move(void)
{
	static const struct pvsd_xenbus_visitor vis = {tl_vhost, tl_dev, tl_end};
	struct tenv t;
	struct tguest g[2] = {{.dg.domid = 3}, {.dg.domid = 4}};
	struct tloops tl;
	char file[2][64], pd[2][96], path[160];
	unsigned int got[2];
	int i, fd;

	for (int k = 0; k < 2; k++) {
		snprintf(file[k], sizeof(file[k]), "/tmp/daemon_ut.%d.%d", (int)getpid(), k);
		fd = open(file[k], O_CREAT | O_RDWR | O_TRUNC, 0600);
		CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 4 << 20) == 0);
		close(fd);
		snprintf(pd[k], sizeof(pd[k]), "file:%s", file[k]);
	}
	tenv_up(&t, 2);
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g[0], pd[0]);
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g[1], pd[1]);
	memset(&tl, -1, sizeof(tl));
	pvsd_xenbus_visit(pvsd_daemon_xenbus(t.d), &vis, &tl);
	CU_ASSERT_EQUAL(tl.loop[3], 0);
	CU_ASSERT_EQUAL(tl.loop[4], 1);

	/* Writes in flight on both loops, then the toolstack's hot add of file 0 to guest 4. */
	memset(g[0].buf, 0x30, 8 * 4096);
	memset(g[1].buf, 0x31, 8 * 4096);
	tq_rw(&g[0], true, 0, 0, 4);
	tq_rw(&g[1], true, 0, 0, 4);
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-1/p-dev", g[1].dg.be);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 0, path, "%s", pd[0]), 0);
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-1/v-dev", g[1].dg.be);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 0, path, "0:0:1:0"), 0);
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-1/state", g[1].dg.be);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 0, path, "1"), 0);
	snprintf(path, sizeof(path), "%s/state", g[1].dg.be);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 0, path, "7"), 0);
	snprintf(path, sizeof(path), "%s/state", g[1].dg.fe);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 4, path, "7"), 0);
	/* Guest 3 keeps writing on loop 0 meanwhile. */
	got[0] = tq_wait(t.d, &g[0], 4);
	tq_rw(&g[0], true, 0, 64, 4);
	got[0] += tq_wait(t.d, &g[0], 4);
	snprintf(path, sizeof(path), "%s/state", g[1].dg.be);
	CU_ASSERT_EQUAL(dh_iterate_until(t.d, t.fx, path, "8"), 0);
	snprintf(path, sizeof(path), "%s/state", g[1].dg.fe);
	CU_ASSERT_EQUAL(fake_xs_write(t.fx, 4, path, "4"), 0);
	snprintf(path, sizeof(path), "%s/vscsi-devs/dev-1/state", g[1].dg.be);
	CU_ASSERT_EQUAL(dh_iterate_until(t.d, t.fx, path, "4"), 0);
	got[1] = tq_wait(t.d, &g[1], 4);
	CU_ASSERT_EQUAL(got[0], 8);
	CU_ASSERT_EQUAL(got[1], 4);
	CU_ASSERT_TRUE(log_has("d4 v0: moving from event loop 1 to 0"));
	CU_ASSERT_TRUE(log_has("d4 v0: moved to event loop 0"));
	memset(&tl, -1, sizeof(tl));
	pvsd_xenbus_visit(pvsd_daemon_xenbus(t.d), &vis, &tl);
	CU_ASSERT_EQUAL(tl.loop[3], 0);
	CU_ASSERT_EQUAL(tl.loop[4], 0);

	/* Guest 4 reads its own disk and, through dev-1, what guest 3 wrote. */
	{
		/* The new I_T nexus's unit attention goes to a TEST UNIT READY. */
		struct fake_front_cmd c;
		struct vscsiif_response rsp;
		int n = 0;

		rh_tur(&c);
		c.id = 1;
		CU_ASSERT_FATAL(fake_front_queue(&g[1].dg.f, &c) >= 0);
		fake_front_push(&g[1].dg.f);
		for (i = 0; i < 500 && (n = fake_front_response(&g[1].dg.f, &rsp)) != 1; i++)
			CU_ASSERT_EQUAL(pvsd_daemon_iterate(t.d, 10), 1);
		CU_ASSERT_EQUAL(n, 1);
	}
	for (int pass = 0; pass < 2; pass++) {
		unsigned int bad = 0;

		memset(g[1].buf, 0, 8 * 4096);
		tq_rw(&g[1], false, (uint16_t)pass, 0, 4);
		CU_ASSERT_EQUAL(tq_wait(t.d, &g[1], 4), 4);
		for (unsigned int b = 0; b < 8 * 4096; b++)
			bad += g[1].buf[b] != (pass ? 0x30 : 0x31);
		CU_ASSERT_EQUAL(bad, 0);
	}

	tenv_stop(&t);
	tenv_free(&t, g, 2);
	for (int k = 0; k < 2; k++)
		unlink(file[k]);
}

/*
 * --threads 4 with one guest: one loop thread runs (no more loops than
 * rings), serves it, and the daemon ends freeing the workers of the loops
 * that never started (LeakSanitizer would see them otherwise).
 */
static void test_threads_lazy(void)
{
	struct tenv t;
	struct tguest g = {.dg.domid = 3};

	tenv_up(&t, 4);
	CU_ASSERT_EQUAL(pvsd_xenbus_nloops(pvsd_daemon_xenbus(t.d)), 4);
	CU_ASSERT_EQUAL(pvsd_xenbus_loops_running(pvsd_daemon_xenbus(t.d)), 0);
	tguest_up(t.d, t.fx, t.gnt, t.evt, &g, "mem:4M");
	CU_ASSERT_EQUAL(pvsd_xenbus_loops_running(pvsd_daemon_xenbus(t.d)), 1);
	CU_ASSERT_TRUE(log_has("event loop 0 started"));
	CU_ASSERT_FALSE(log_has("event loop 1 started"));
	tq_rw(&g, true, 0, 0, 4);
	CU_ASSERT_EQUAL(tq_wait(t.d, &g, 4), 4);
	tenv_stop(&t);
	tenv_free(&t, &g, 1);
}

static const struct cu_test tests[] = {
    {"options", test_options},
    {"pid file lock", test_pidfile},
    {"xen-scsiback check", test_scsiback_check},
    {"event loop and SIGTERM", test_loop_and_sigterm},
    {"event loop and SIGTERM, in epoll_wait, the channel read()", test_loop_and_sigterm_legacy},
    {"deferred kicks: a bounded sleep while a command is out, armed after", test_loop_defer_kicks},
    {"coalescing: a held sleep after a pass that worked, one pass for all", test_loop_coalesce},
    {"--threads 2: placement, I/O on both loops, SIGTERM", test_threads},
    {"--threads 2 --coalesce-us 2000: the same, held sleeps", test_threads_coalesce},
    {"--threads 2: a hot add moves a vhost between loops, writes in flight", test_threads_move},
    {"--threads 4, one guest: one loop runs, the others never start", test_threads_lazy},
};

int main(void)
{
	struct plog_cfg lc = {.ident = "pvscsid",
	                      .stamp = true,
	                      .to_stderr = getenv("XB_LOG") != NULL,
	                      .verbose = true};
	sigset_t set;
	int rc;

	/* As main.c does, before any thread: SIGTERM only through the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	plog_open(&lc);
	rc = CU_RUN("daemon", tests);
	plog_close();
	return rc;
}
