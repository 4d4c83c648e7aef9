/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iscsi_ut.c - iscsi:// LUNs against a real iSCSI target: a private tgtd
 * on 127.0.0.1 (tests/iscsi/tgtd.sh), started here and killed, paused and
 * restarted here to play the target failures.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cu_run.h"
#include "lun_harness.h"
#include "pvscsi/host.h"
#include "pvscsi/lun.h"
#include "pvscsi/sense.h"
#include "unit_move.h"

static char dir[256], portal[64], disk[160], chap_iqn[160];
static int port, ctl;

#define IQN_A PVS_ISCSI_IQN_PREFIX ":xen.6f1c6f52-5a0e-4a6e-9d2b-00000000000a"
#define IQN_B PVS_ISCSI_IQN_PREFIX ":xen.6f1c6f52-5a0e-4a6e-9d2b-00000000000b"
#define IQN_C PVS_ISCSI_IQN_PREFIX ":xen.6f1c6f52-5a0e-4a6e-9d2b-00000000000c"

static int tgtd(const char *cmd)
{
	char line[600];

	snprintf(line, sizeof(line), "tests/iscsi/tgtd.sh %s %s %d %d >&2", cmd, dir, port, ctl);
	return system(line);
}

static pid_t tgtd_pid(void)
{
	char path[300];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/tgtd.pid", dir);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* What tgtd lists of its sessions ("I_T nexus information"), for the nexus checks. */
static void target_show(char *out, size_t len)
{
	char cmd[200];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "tgtadm -C %d --lld iscsi --op show --mode target", ctl);
	f = popen(cmd, "r");
	out[0] = '\0';
	if (!f)
		return;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

static int setup(void)
{
	port = 20000 + getpid() % 10000;
	ctl = 1000 + getpid() % 1000;
	snprintf(dir, sizeof(dir), "%s/build/asan/tests/iscsi-%d",
	         getenv("PWD") ? getenv("PWD") : ".", (int)getpid());
	snprintf(portal, sizeof(portal), "127.0.0.1:%d", port);
	snprintf(disk, sizeof(disk), "iscsi://%s/iqn.2026-12.org.pvscsi.test:disk", portal);
	snprintf(chap_iqn, sizeof(chap_iqn), "%s/iqn.2026-12.org.pvscsi.test:chap", portal);
	return tgtd("start") == 0 ? 0 : -1;
}

static int teardown(void)
{
	tgtd("destroy");
	return 0;
}

static int open_as(struct lh *h, const char *spec, const char *iname)
{
	struct pvs_lun_opts o = {.initiator_name = iname};

	return lh_open(h, spec, &o);
}

/* The disk target's LUN @lun_opts ("1", "1,ro", ...) as @iname, its first unit attentions taken. */
static void open_disk(struct lh *h, const char *lun_opts, const char *iname)
{
	char spec[300];

	snprintf(spec, sizeof(spec), "%s/%s", disk, lun_opts);
	CU_ASSERT_EQUAL_FATAL(open_as(h, spec, iname), 0);
	lh_clear_ua(h, 0);
}

/* ---- attach errors: each names what was tried, and leaves no session behind ---- */

static void expect_refused(const char *spec, int rc_want, const char *msg)
{
	struct pvs_lun_opts o = {.initiator_name = IQN_A};
	struct pvs_worker *w;
	struct pvs_lun *lun = NULL;
	char err[512] = "", show[8192];
	int rc;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	rc = pvs_lun_open(w, spec, &o, &lun, err, sizeof(err));
	if (rc != rc_want || !strstr(err, msg))
		fprintf(stderr, "%s: rc %d (want %d): %s (want '%s')\n", spec, rc, rc_want, err,
		        msg);
	CU_ASSERT_EQUAL(rc, rc_want);
	CU_ASSERT_PTR_NULL(lun);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
	pvs_worker_free(w);
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_A));
}

static void test_open_errors(void)
{
	char spec[512], file[300];

	snprintf(spec, sizeof(spec), "iscsi://127.0.0.1:%d/iqn.2026-12.org.pvscsi.test:disk/1",
	         port + 1);
	expect_refused(spec, -EHOSTUNREACH, "cannot connect to the portal 127.0.0.1:");
	snprintf(spec, sizeof(spec), "iscsi://%s/iqn.2026-12.org.pvscsi.test:nothere/1", portal);
	expect_refused(spec, -EACCES, "Target not found");
	snprintf(spec, sizeof(spec), "%s/7", disk);
	expect_refused(spec, -ENODEV, "has no LUN 7");
	snprintf(spec, sizeof(spec), "iscsi://pvsuser@%s/1", chap_iqn);
	expect_refused(spec, -EINVAL, "a user is given, but no chap=FILE");
	snprintf(spec, sizeof(spec), "iscsi://%s/1,chap=%s/chap", chap_iqn, dir);
	expect_refused(spec, -EINVAL, "no USER@ in the URL");
	/* The target wants CHAP: without credentials, and with the wrong secret. */
	snprintf(spec, sizeof(spec), "iscsi://%s/1", chap_iqn);
	expect_refused(spec, -EACCES, "Authentication failure");
	snprintf(file, sizeof(file), "%s/chap-wrong", dir);
	{
		FILE *f = fopen(file, "w");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs("# another secret\npvsuser not-the-secret\n", f);
		fclose(f);
	}
	chmod(file, 0600);
	snprintf(spec, sizeof(spec), "iscsi://pvsuser@%s/1,chap=%s", chap_iqn, file);
	expect_refused(spec, -EACCES, "Authentication failure");
	snprintf(spec, sizeof(spec), "iscsi://someone@%s/1,chap=%s", chap_iqn, file);
	expect_refused(spec, -ENOENT, "has no line for user 'someone'");
	chmod(file, 0644);
	snprintf(spec, sizeof(spec), "iscsi://pvsuser@%s/1,chap=%s", chap_iqn, file);
	expect_refused(spec, -EPERM, "chmod 600");
	snprintf(spec, sizeof(spec), "iscsi://pvsuser@%s/1,chap=%s/none", chap_iqn, dir);
	expect_refused(spec, -ENOENT, "cannot read the CHAP file");
}

static void test_chap_login(void)
{
	struct lh h;
	struct lh_res r;
	char spec[512];
	uint8_t tur[6] = {0};

	snprintf(spec, sizeof(spec), "iscsi://pvsuser@%s/1,chap=%s/chap", chap_iqn, dir);
	CU_ASSERT_EQUAL_FATAL(open_as(&h, spec, IQN_A), 0);
	CU_ASSERT_TRUE(lh_clear_ua(&h, 0));
	lh_run(&h, 0, tur, 6, PVS_DIR_NONE, NULL, 0, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_close(&h);
}

/* ---- commands and their answers ---- */

static void test_io(void)
{
	static uint8_t out[65536], in[65536];
	uint8_t w10[10] = {0x2a}, r10[10] = {0x28}, inq[6] = {0x12, 0, 0, 0, 255, 0}, buf[255];
	uint8_t rc10[10] = {0x25}, cap[8];
	struct iovec wv[2] = {{out, 4096}, {out + 4096, sizeof(out) - 4096}};
	struct iovec rv[3] = {{in, 512}, {in + 512, 30000}, {in + 30512, sizeof(in) - 30512}};
	char spec[300];
	struct lh h;
	struct lh_res r;

	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&h, spec, IQN_A), 0);
	CU_ASSERT_TRUE(pvs_lun_is_passthrough(h.lun));
	CU_ASSERT_TRUE(lh_clear_ua(&h, 0));
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	lh_put_lba(w10, 10, 100, sizeof(out) / 512);
	lh_runv(&h, 0, w10, 10, PVS_DIR_TO_DEV, wv, 2, &r);
	CU_ASSERT_EQUAL(r.ncomplete, 1);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_put_lba(r10, 10, 100, sizeof(in) / 512);
	lh_runv(&h, 0, r10, 10, PVS_DIR_FROM_DEV, rv, 3, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(r.residual, 0);
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	/* The target's own answer length comes back as the residual. */
	lh_run(&h, 0, inq, 6, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_TRUE(r.residual > 0 && r.residual < 255 - 36);
	CU_ASSERT_EQUAL(buf[0] & 0x1f, 0x00);
	lh_run(&h, 0, rc10, 10, PVS_DIR_FROM_DEV, cap, sizeof(cap), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(((uint32_t)cap[0] << 24 | cap[1] << 16 | cap[2] << 8 | cap[3]),
	                64u * 2048 - 1);
	lh_close(&h);
}

/* A vendor-specific opcode: the filter answers it; raw, the target's sense comes back. */
static void test_filter_and_raw_sense(void)
{
	uint8_t c5[6] = {0xc5};
	struct lh h;
	struct lh_res r;

	/* The field pointer: byte 0 in ours; none (no sense-key-specific bytes) in tgtd's. */
	for (int raw = 0; raw <= 1; raw++) {
		open_disk(&h, raw ? "1,raw" : "1", IQN_A);
		lh_run(&h, 0, c5, 6, PVS_DIR_NONE, NULL, 0, &r);
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_CHECK_CONDITION);
		CU_ASSERT_EQUAL(r.key, 0x05);
		CU_ASSERT_EQUAL(r.asc, 0x20);
		CU_ASSERT_EQUAL(r.field, raw ? -1 : 0);
		lh_close(&h);
	}
}

static void test_read_only(void)
{
	uint8_t w10[10] = {0x2a}, ms6[6] = {0x1a, 0, 0x3f, 0, 64, 0}, buf[512] = {0}, page[64];
	struct lh h;
	struct lh_res r;

	open_disk(&h, "1,ro", IQN_A);
	lh_put_lba(w10, 10, 0, 1);
	lh_run(&h, 0, w10, 10, PVS_DIR_TO_DEV, buf, 512, &r);
	CU_ASSERT_EQUAL(r.key, 0x07); /* DATA PROTECT */
	CU_ASSERT_EQUAL(r.asc, 0x27);
	lh_run(&h, 0, ms6, 6, PVS_DIR_FROM_DEV, page, sizeof(page), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(page[2] & 0x80, 0x80); /* WP */
	lh_close(&h);
}

/* ---- one I_T nexus per guest: reservations tell guests apart ---- */

/* PERSISTENT RESERVE OUT (SPC-5 6.16): @sa, @type, with the basic 24-byte parameter list. */
static void pr_out(struct lh *h, uint8_t sa, uint8_t type, uint64_t key, uint64_t sakey,
                   struct lh_res *r)
{
	uint8_t cdb[10] = {0x5f, sa, type}, p[24] = {0};

	lh_put32(&cdb[5], sizeof(p));
	lh_put64(&p[0], key);
	lh_put64(&p[8], sakey);
	lh_run(h, 0, cdb, 10, PVS_DIR_TO_DEV, p, sizeof(p), r);
}

/* A registers key 0xaa and B 0xbb, then A reserves with @type. */
static void register_and_reserve(struct lh *a, struct lh *b, uint8_t type)
{
	struct lh_res r;

	pr_out(a, 0 /* REGISTER */, 0, 0, 0xaa, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	pr_out(b, 0 /* REGISTER */, 0, 0, 0xbb, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	pr_out(a, 1 /* RESERVE */, type, 0xaa, 0, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
}

static uint8_t write_block(struct lh *h, uint64_t lba)
{
	uint8_t w10[10] = {0x2a}, buf[512];
	struct lh_res r;

	memset(buf, (int)lba, sizeof(buf));
	lh_put_lba(w10, 10, lba, 1);
	lh_run(h, 0, w10, 10, PVS_DIR_TO_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.ncomplete, 1);
	return r.status;
}

static void test_reservation_per_guest(void)
{
	/* tgt 1.0.85 has no PREEMPT AND ABORT (usr/spc.c): PREEMPT fences as well. */
	enum { CLEAR = 3, PREEMPT = 4, WE_RO = 5 };
	char spec[300], show[8192];
	struct lh a, b, c;
	struct lh_res r;

	snprintf(spec, sizeof(spec), "%s/2", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&a, spec, IQN_A), 0);
	CU_ASSERT_EQUAL_FATAL(open_as(&b, spec, IQN_B), 0);
	CU_ASSERT_EQUAL_FATAL(open_as(&c, spec, IQN_C), 0);
	lh_clear_ua(&a, 0);
	lh_clear_ua(&b, 0);
	lh_clear_ua(&c, 0);
	/* Three sessions, one per guest name. */
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NOT_NULL(strstr(show, IQN_A));
	CU_ASSERT_PTR_NOT_NULL(strstr(show, IQN_B));
	CU_ASSERT_PTR_NOT_NULL(strstr(show, IQN_C));

	register_and_reserve(&a, &b, WE_RO);
	/* Write Exclusive - Registrants Only: B may write, C (not registered) may not. */
	CU_ASSERT_EQUAL(write_block(&a, 1), PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(write_block(&b, 2), PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(write_block(&c, 3), PVS_STATUS_RESERVATION_CONFLICT);
	/* B fences A. */
	pr_out(&b, PREEMPT, WE_RO, 0xbb, 0xaa, &r);
	if (r.status != PVS_STATUS_GOOD)
		fprintf(stderr, "PREEMPT: status %02x sense %x/%02x/%02x field %d\n", r.status,
		        r.key, r.asc, r.ascq, r.field);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_clear_ua(&a, 0); /* REGISTRATIONS PREEMPTED */
	CU_ASSERT_EQUAL(write_block(&a, 4), PVS_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(write_block(&b, 5), PVS_STATUS_GOOD);

	/*
	 * The fenced guest restored: the LUN opened again under its name (on
	 * the session kept for it, test_session_lingers) is still out.
	 */
	CU_ASSERT_EQUAL_FATAL(lh_reopen(&a, spec, &(struct pvs_lun_opts){.initiator_name = IQN_A}),
	                      0);
	lh_clear_ua(&a, 0);
	CU_ASSERT_EQUAL(write_block(&a, 7), PVS_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(write_block(&b, 6), PVS_STATUS_GOOD);

	pr_out(&b, CLEAR, 0, 0xbb, 0, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_clear_ua(&a, 0);
	CU_ASSERT_EQUAL(write_block(&a, 8), PVS_STATUS_GOOD);
	lh_close(&a);
	lh_close(&b);
	lh_close(&c);
	/* Closing logs out: no session left. */
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_A));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_B));
}

/* ---- target failures ---- */

struct pend {
	struct pvs_req req;
	struct iovec iov;
	int done;
};

static void pend_done(struct pvs_req *req)
{
	((struct pend *)req)->done++;
}

/* Run @w for up to @ms, until @p completed (NULL: the whole time). */
static void drive(struct pvs_worker *w, struct pend *p, int ms)
{
	for (int t = 0; t < ms && !(p && p->done); t += 20) {
		pvs_worker_flush(w);
		pvs_worker_wait(w, 20);
	}
}

/* ---- a session outlives its LUN for a while: a restored guest keeps its nexus ---- */

/* tgtd's I_T nexus number for @iname's session, -1 when it has none. */
static int nexus_of(const char *iname)
{
	char show[8192], *at, *nx, *last = NULL;

	target_show(show, sizeof(show));
	at = strstr(show, iname);
	if (!at)
		return -1;
	for (nx = show; (nx = strstr(nx, "I_T nexus: ")) && nx < at; nx++)
		last = nx;
	return last ? atoi(last + strlen("I_T nexus: ")) : -1;
}

/* READ RESERVATION (SPC-5 6.15.4): the holder's key, 0 when there is none. */
static uint64_t holder(struct lh *h)
{
	uint8_t cdb[10] = {0x5e, 0x01}, buf[24] = {0};
	struct lh_res r;
	uint64_t key = 0;

	lh_put16(&cdb[7], sizeof(buf));
	lh_run(h, 0, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	if (buf[4] | buf[5] | buf[6] | buf[7])
		for (int i = 8; i < 16; i++)
			key = key << 8 | buf[i];
	return key;
}

static void test_session_lingers(void)
{
	enum { CLEAR = 3, WE = 1 };
	struct pvs_lun_opts oa = {.initiator_name = IQN_A}, oc = {.initiator_name = IQN_C};
	char spec[300], show[8192];
	struct lh a, b, c;
	struct lh_res r;
	int n1;

	unsetenv("PVS_ISCSI_LINGER");
	snprintf(spec, sizeof(spec), "%s/2", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&a, spec, IQN_A), 0);
	CU_ASSERT_EQUAL_FATAL(open_as(&b, spec, IQN_B), 0);
	lh_clear_ua(&a, 0);
	lh_clear_ua(&b, 0);
	register_and_reserve(&a, &b, WE);
	n1 = nexus_of(IQN_A);
	CU_ASSERT(n1 >= 0);

	/* The guest saved: its LUN closes, its session stays. */
	pvs_lun_close(a.lun);
	a.lun = NULL;
	drive(a.w, NULL, 200);
	CU_ASSERT_EQUAL(nexus_of(IQN_A), n1);
	/* Another guest's name does not take it up. */
	CU_ASSERT_EQUAL_FATAL(lh_reopen(&a, spec, &oc), 0);
	CU_ASSERT_NOT_EQUAL(nexus_of(IQN_C), n1);
	CU_ASSERT_EQUAL(nexus_of(IQN_A), n1);
	pvs_lun_close(a.lun);
	a.lun = NULL;

	/* Restored: the same nexus, still the holder; B still conflicts. */
	CU_ASSERT_EQUAL_FATAL(lh_reopen(&a, spec, &oa), 0);
	CU_ASSERT_EQUAL(nexus_of(IQN_A), n1);
	CU_ASSERT_EQUAL(holder(&b), 0xaa);
	CU_ASSERT_EQUAL(write_block(&a, 9), PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(write_block(&b, 10), PVS_STATUS_RESERVATION_CONFLICT);

	/* A linger that ends logs out. */
	setenv("PVS_ISCSI_LINGER", "1", 1);
	pvs_lun_close(a.lun);
	a.lun = NULL;
	CU_ASSERT_EQUAL(nexus_of(IQN_A), n1);
	drive(a.w, NULL, 2500);
	CU_ASSERT_EQUAL(nexus_of(IQN_A), -1);
	/* Lingering off: the close logs out at once. */
	setenv("PVS_ISCSI_LINGER", "0", 1);
	CU_ASSERT_EQUAL_FATAL(lh_reopen(&a, spec, &oa), 0);
	CU_ASSERT(nexus_of(IQN_A) >= 0);
	CU_ASSERT_NOT_EQUAL(nexus_of(IQN_A), n1);
	pvs_lun_close(a.lun);
	a.lun = NULL;
	CU_ASSERT_EQUAL(nexus_of(IQN_A), -1);
	unsetenv("PVS_ISCSI_LINGER");

	/* tgt forgot A's registration with its session: B clears what is left. */
	pr_out(&b, CLEAR, 0, 0xbb, 0, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	/* A parked session goes with its worker, logged out. */
	CU_ASSERT_EQUAL_FATAL(open_as(&c, spec, IQN_C), 0);
	pvs_lun_close(c.lun);
	c.lun = NULL;
	CU_ASSERT(nexus_of(IQN_C) >= 0);
	lh_close(&c);
	lh_close(&a);
	lh_close(&b);
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_A));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_B));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_C));
}

/*
 * @len bytes of @fill written at @lba (into @pattern), then the target
 * stopped and a READ of them into @got submitted in @rd: it waits for the
 * session to come back.
 */
static void write_then_lose_target(struct lh *h, uint64_t lba, uint8_t fill, uint8_t *pattern,
                                   uint8_t *got, size_t len, struct pend *rd)
{
	uint8_t w10[10] = {0x2a}, r10[10] = {0x28};
	struct lh_res r;

	memset(pattern, fill, len);
	lh_put_lba(w10, 10, lba, (uint32_t)(len / 512));
	lh_run(h, 0, w10, 10, PVS_DIR_TO_DEV, pattern, len, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL_FATAL(tgtd("stop"), 0);
	lh_put_lba(r10, 10, lba, (uint32_t)(len / 512));
	lh_req_init(&rd->req, &rd->iov, 0, r10, 10, PVS_DIR_FROM_DEV, got, len, pend_done, NULL);
	rd->done = 0;
	pvs_submit(h->lun, &rd->req);
}

static void test_target_restart(void)
{
	static uint8_t pattern[8192], got[8192];
	uint8_t r10[10] = {0x28}, tur[6] = {0};
	char spec[300];
	struct pend rd;
	struct lh h;
	struct lh_res r;

	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&h, spec, IQN_A), 0);
	lh_clear_ua(&h, 0);
	/* The target dies; a READ sent now waits for it, and is neither lost nor doubled. */
	write_then_lose_target(&h, 1000, 0x5a, pattern, got, sizeof(got), &rd);
	lh_put_lba(r10, 10, 1000, sizeof(got) / 512);
	drive(h.w, &rd, 3000);
	CU_ASSERT_EQUAL(rd.done, 0);
	/* While the session is down, new commands are BUSY: the initiator retries them. */
	lh_run(&h, 0, tur, 6, PVS_DIR_NONE, NULL, 0, &r);
	CU_ASSERT_EQUAL(r.ncomplete, 1);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_BUSY);

	CU_ASSERT_EQUAL_FATAL(tgtd("start"), 0);
	drive(h.w, &rd, 30000);
	CU_ASSERT_EQUAL(rd.done, 1);
	/* A new target instance may first say UNIT ATTENTION; then the data is there. */
	if (rd.req.status == PVS_STATUS_GOOD)
		CU_ASSERT_EQUAL(memcmp(got, pattern, sizeof(got)), 0);
	CU_ASSERT_TRUE(lh_clear_ua(&h, 0));
	memset(got, 0, sizeof(got));
	lh_run(&h, 0, r10, 10, PVS_DIR_FROM_DEV, got, sizeof(got), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(memcmp(got, pattern, sizeof(got)), 0);
	drive(h.w, NULL, 200);
	CU_ASSERT_EQUAL(rd.done, 1);
	lh_close(&h);
}

/*
 * Many commands in flight when the target dies: each answered once after it
 * is back.  ISCSI_UT_DOWN_MS sets how long it is away (default 2 s; the
 * e2e case iscsi_failover has it away for 10 s and more).
 */
static void test_target_restart_busy(void)
{
	enum { N = 48 };
	static uint8_t bufs[N][8192];
	static struct pend p[N];
	uint8_t w10[10] = {0x2a};
	char spec[300];
	struct lh h;
	int done;

	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&h, spec, IQN_B), 0);
	lh_clear_ua(&h, 0);
	for (int i = 0; i < N; i++) {
		memset(bufs[i], i, sizeof(bufs[i]));
		lh_put_lba(w10, 10, 2000 + 16 * (uint64_t)i, 16);
		lh_req_init(&p[i].req, &p[i].iov, 0, w10, 10, PVS_DIR_TO_DEV, bufs[i],
		            sizeof(bufs[i]), pend_done, NULL);
		p[i].done = 0;
		pvs_submit(h.lun, &p[i].req);
	}
	pvs_worker_flush(h.w);
	CU_ASSERT_EQUAL_FATAL(tgtd("stop"), 0);
	drive(h.w, NULL, getenv("ISCSI_UT_DOWN_MS") ? atoi(getenv("ISCSI_UT_DOWN_MS")) : 2000);
	CU_ASSERT_EQUAL_FATAL(tgtd("start"), 0);
	for (int t = 0; t < 30000; t += 20) {
		done = 0;
		for (int i = 0; i < N; i++)
			done += p[i].done;
		if (done == N)
			break;
		drive(h.w, NULL, 20);
	}
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(p[i].done, 1);
		CU_ASSERT_TRUE(p[i].req.status == PVS_STATUS_GOOD ||
		               p[i].req.status == PVS_STATUS_CHECK_CONDITION);
	}
	lh_close(&h);
}

static char notices[8192];

static void keep_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	size_t n = strlen(notices);

	(void)arg;
	(void)lun;
	snprintf(notices + n, sizeof(notices) - n, "%s\n", msg);
}

/* Accept what waits on @lfd; @how: 0 close (FIN), 1 reset (RST), 2 keep it open in @held. */
static int take_logins(int lfd, int how, int *held, int *nheld)
{
	int n = 0, fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		struct linger rst = {1, 0};

		n++;
		if (how == 2 && *nheld < 8) {
			held[(*nheld)++] = fd;
			continue;
		}
		if (how == 1)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);
	}
	return n;
}

/*
 * While the target is away, something else answers on its portal: first
 * it takes each login's connection and drops it (FIN, then RST), then it
 * takes one and never answers.  Each of those logins ends, and the next
 * one is tried, so the READ waiting for the session is served once the
 * real target is back.
 */
static void test_relogin_dropped_or_mute(void)
{
	static uint8_t pattern[4096], got[4096];
	uint8_t r10[10] = {0x28};
	struct pvs_lun_opts o = {.initiator_name = IQN_C, .notice = keep_notice};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int lfd, one = 1, held[8], nheld = 0, dropped = 0, mute = 0, closed_by_us = 0;
	char spec[300];
	struct pend rd;
	struct lh h;
	struct lh_res r;

	notices[0] = '\0';
	setenv("PVS_ISCSI_OPEN_TIMEOUT", "2", 1);
	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(lh_open(&h, spec, &o), 0);
	lh_clear_ua(&h, 0);
	write_then_lose_target(&h, 3000, 0xc3, pattern, got, sizeof(got), &rd);
	lh_put_lba(r10, 10, 3000, sizeof(got) / 512);
	drive(h.w, &rd, 300);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 8), 0);
	/* Logins at about 1 and 3 s (the back-off), each dropped. */
	for (int t = 0; t < 5000; t += 20) {
		drive(h.w, NULL, 20);
		dropped += take_logins(lfd, dropped % 2, held, &nheld);
	}
	/* The next, at about 7 s, never answered: PVS_ISCSI_OPEN_TIMEOUT ends it. */
	for (int t = 0; t < 5000; t += 20) {
		drive(h.w, NULL, 20);
		mute += take_logins(lfd, 2, held, &nheld);
	}
	for (int i = 0; i < nheld; i++) {
		char c;

		ssize_t n;

		/* Past the Login Request it sent, to its end: pvscsid gave up on it. */
		while ((n = read(held[i], &c, 1)) > 0)
			;
		closed_by_us += n == 0 || errno != EAGAIN;
		close(held[i]);
	}
	close(lfd);
	CU_ASSERT_EQUAL(rd.done, 0);
	CU_ASSERT(dropped >= 2);
	CU_ASSERT(mute >= 1);
	CU_ASSERT(closed_by_us >= 1);

	CU_ASSERT_EQUAL_FATAL(tgtd("start"), 0);
	drive(h.w, &rd, 30000);
	CU_ASSERT_EQUAL(rd.done, 1);
	if (rd.req.status == PVS_STATUS_CHECK_CONDITION) {
		/* The new target instance's unit attention: the guest would read again. */
		CU_ASSERT_TRUE(lh_clear_ua(&h, 0));
		lh_run(&h, 0, r10, 10, PVS_DIR_FROM_DEV, got, sizeof(got), &r);
		rd.req.status = r.status;
	}
	CU_ASSERT_EQUAL(rd.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(memcmp(got, pattern, sizeof(got)), 0);
	if (!strstr(notices, "no Login Response in 2 s") || !strstr(notices, "re-established") ||
	    dropped < 2 || mute < 1 || closed_by_us < 1)
		fprintf(stderr, "dropped %d, mute %d, closed %d; notices:\n%s", dropped, mute,
		        closed_by_us, notices);
	CU_ASSERT_PTR_NOT_NULL(strstr(notices, "no Login Response in 2 s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices, "session re-established"));
	lh_close(&h);
	unsetenv("PVS_ISCSI_OPEN_TIMEOUT");
}

struct tmf_wait {
	struct pvs_tmf t;
	int done;
};

static void tmf_done(struct pvs_tmf *t)
{
	((struct tmf_wait *)t->opaque)->done++;
}

/* A hung target answers neither the command nor the ABORT TASK: both end anyway. */
static void test_abort_on_hung_target(void)
{
	static uint8_t got[4096];
	uint8_t r10[10] = {0x28};
	char spec[300];
	struct pend rd;
	struct tmf_wait tw;
	struct lh h;
	pid_t pid = tgtd_pid();

	CU_ASSERT_FATAL(pid > 0);
	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(open_as(&h, spec, IQN_A), 0);
	lh_clear_ua(&h, 0);
	kill(pid, SIGSTOP);
	lh_put_lba(r10, 10, 0, sizeof(got) / 512);
	lh_req_init(&rd.req, &rd.iov, 0, r10, 10, PVS_DIR_FROM_DEV, got, sizeof(got), pend_done,
	            NULL);
	rd.done = 0;
	pvs_submit(h.lun, &rd.req);
	drive(h.w, &rd, 500);
	CU_ASSERT_EQUAL(rd.done, 0);
	memset(&tw, 0, sizeof(tw));
	tw.t.fn = PVS_TMF_ABORT_TASK;
	tw.t.initiator = 0;
	tw.t.task = &rd.req;
	tw.t.done = tmf_done;
	tw.t.opaque = &tw;
	pvs_tmf_submit(h.lun, &tw.t);
	/* Bounded: ISCSI_ABORT_TIMEOUT (10 s) and a tick. */
	for (int t = 0; t < 20000 && !tw.done; t += 20) {
		pvs_worker_flush(h.w);
		pvs_worker_wait(h.w, 20);
	}
	CU_ASSERT_EQUAL(rd.done, 1);
	CU_ASSERT_EQUAL(tw.done, 1);
	CU_ASSERT_EQUAL(tw.t.result, PVS_TMF_FUNCTION_COMPLETE);
	kill(pid, SIGCONT);
	/* The session comes back (logged in again) and serves. */
	{
		uint8_t tur[6] = {0};
		struct lh_res r = {.status = 0xff};

		for (int i = 0; i < 30 && r.status != PVS_STATUS_GOOD; i++) {
			lh_run(&h, 0, tur, 6, PVS_DIR_NONE, NULL, 0, &r);
			if (r.status != PVS_STATUS_GOOD)
				drive(h.w, NULL, 500);
		}
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	}
	lh_close(&h);
}

/* ---- an attach's login waits on a thread of its own ---- */

/* Run @w until @host has no open under way, at most @ms. */
static void drive_opens(struct pvs_worker *w, struct pvs_host *host, int ms)
{
	for (int t = 0; t < ms && pvs_host_opening(host); t += 20)
		pvs_worker_wait(w, 20);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_async_open(void)
{
	struct pvs_host_cfg cfg = {0};
	struct pvs_worker *w;
	struct pvs_host *host;
	struct pvs_unit *u = NULL, *fu = NULL;
	struct pvs_unit_wait *wa = NULL, *wb = NULL;
	struct lh_waited r1 = {0}, r2 = {0}, r3 = {0};
	char spec[300], dead[300], file[300], fspec[310], err[512], show[8192];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int ls, fd, n;
	int64_t t0, dt;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	cfg.worker = w;
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &host), 0);
	snprintf(spec, sizeof(spec), "%s/1", disk);

	/* A file: LUN opens at once; nothing waits. */
	snprintf(file, sizeof(file), "%s/async.img", dir);
	fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	snprintf(fspec, sizeof(fspec), "file:%s", file);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open(host, fspec, false, NULL, lh_waited_done, &r1, &fu,
	                                         &wa, err, sizeof(err)),
	                      0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
	CU_ASSERT_PTR_NULL(wa);

	/* Two callers, one login: the second waits for the first's open. */
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, spec, false, IQN_A, lh_waited_done, &r1, &u, &wa,
	                                   err, sizeof(err)),
	                PVS_UNIT_PENDING);
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, spec, false, IQN_A, lh_waited_done, &r2, &u, &wb,
	                                   err, sizeof(err)),
	                PVS_UNIT_PENDING);
	CU_ASSERT_EQUAL(pvs_host_opening(host), 1);
	drive_opens(w, host, 20000);
	CU_ASSERT_EQUAL(r1.calls, 1);
	CU_ASSERT_EQUAL(r2.calls, 1);
	CU_ASSERT_EQUAL(r1.rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1.u);
	CU_ASSERT_PTR_EQUAL(r1.u, r2.u);
	CU_ASSERT_EQUAL(pvs_unit_users(r1.u), 2);
	target_show(show, sizeof(show));
	CU_ASSERT_EQUAL(count_of(show, IQN_A), 1);
	{
		struct lh a = {.w = w, .lun = pvs_unit_lun(r1.u)};

		lh_clear_ua(&a, 0);
		CU_ASSERT_EQUAL(write_block(&a, 3), PVS_STATUS_GOOD);
	}

	/*
	 * A portal that takes the connection and never answers: its login
	 * waits out the open timeout on its thread, while the worker serves
	 * the file: LUN.
	 */
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                listen(ls, 8) == 0 && getsockname(ls, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(dead, sizeof(dead), "iscsi://127.0.0.1:%d/iqn.2026-12.org.pvscsi.test:mute/0",
	         ntohs(sa.sin_port));
	setenv("PVS_ISCSI_OPEN_TIMEOUT", "3", 1);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, dead, false, IQN_B, lh_waited_done, &r3, &u, &wa,
	                                   err, sizeof(err)),
	                PVS_UNIT_PENDING);
	{
		struct lh f = {.w = w, .lun = pvs_unit_lun(fu)};

		lh_clear_ua(&f, 0);
		for (int i = 0; i < 20; i++)
			CU_ASSERT_EQUAL(write_block(&f, (uint64_t)i), PVS_STATUS_GOOD);
	}
	dt = mono_ms() - t0;
	CU_ASSERT(dt < 2000);
	CU_ASSERT_EQUAL(pvs_host_opening(host), 1);
	CU_ASSERT_EQUAL(r3.calls, 0);
	drive_opens(w, host, 20000);
	dt = mono_ms() - t0;
	unsetenv("PVS_ISCSI_OPEN_TIMEOUT");
	CU_ASSERT_EQUAL(r3.calls, 1);
	CU_ASSERT(r3.rc < 0);
	CU_ASSERT_PTR_NULL(r3.u);
	CU_ASSERT(dt >= 2500);
	snprintf(err, sizeof(err), "127.0.0.1:%d", ntohs(sa.sin_port));
	if (!strstr(r3.err, err))
		fprintf(stderr, "mute portal: rc %d: %s\n", r3.rc, r3.err);
	CU_ASSERT_PTR_NOT_NULL(strstr(r3.err, err));
	CU_ASSERT_PTR_NOT_NULL(strstr(r3.err, IQN_B));
	close(ls);

	/*
	 * The caller went away while it logged in: nobody is told, and the
	 * session lingers, for the same guest's next attach to take up at once.
	 */
	memset(&r3, 0, sizeof(r3));
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, spec, false, IQN_C, lh_waited_done, &r3, &u, &wa,
	                                   err, sizeof(err)),
	                PVS_UNIT_PENDING);
	pvs_unit_wait_cancel(wa);
	drive_opens(w, host, 20000);
	CU_ASSERT_EQUAL(r3.calls, 0);
	n = nexus_of(IQN_C);
	CU_ASSERT(n >= 0);
	u = NULL;
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, spec, false, IQN_C, lh_waited_done, &r3, &u, &wa,
	                                   err, sizeof(err)),
	                0);
	CU_ASSERT_PTR_NOT_NULL(u);
	CU_ASSERT_EQUAL(nexus_of(IQN_C), n);
	pvs_unit_put(u);

	/* Freed with an open under way: it is waited for, and nothing is left. */
	CU_ASSERT_EQUAL(pvs_host_unit_open(host, spec, false, IQN_B, lh_waited_done, &r3, &u, &wa,
	                                   err, sizeof(err)),
	                PVS_UNIT_PENDING);
	pvs_unit_put(r1.u);
	pvs_unit_put(r2.u);
	pvs_unit_put(fu);
	setenv("PVS_ISCSI_LINGER", "0", 1);
	pvs_host_drain(host);
	pvs_host_free(host);
	pvs_worker_free(w);
	unsetenv("PVS_ISCSI_LINGER");
	CU_ASSERT_EQUAL(r3.calls, 0);
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_A));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_B));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_C));
	unlink(file);
}

/*
 * A session changes worker with its LUN: its socket and timer (one fd, the
 * session's epoll set) go along, and a refused move leaves it whole.
 */
static void test_move(void)
{
	struct pvs_host_cfg cfg = {0};
	struct pvs_worker *w, *a, *b;
	struct pvs_host *host;
	struct pvs_unit *u;
	char spec[300], err[512], show[8192];

	setenv("PVS_ISCSI_LINGER", "0", 1);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &b), 0);
	cfg.worker = w;
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &host), 0);
	snprintf(spec, sizeof(spec), "%s/1", disk);
	CU_ASSERT_EQUAL_FATAL(
	    pvs_host_unit_get_on(host, a, spec, false, IQN_C, &u, err, sizeof(err)), 0);
	um_check_refused(u, a, b, 40);
	um_check_move(u, a, b, 41, 0); /* frees a */
	/* One session throughout: the move is no new login. */
	target_show(show, sizeof(show));
	CU_ASSERT_EQUAL(count_of(show, IQN_C), 1);
	pvs_unit_put(u);
	pvs_host_drain(host);
	pvs_host_free(host);
	pvs_worker_free(b);
	pvs_worker_free(w);
	unsetenv("PVS_ISCSI_LINGER");
	target_show(show, sizeof(show));
	CU_ASSERT_PTR_NULL(strstr(show, IQN_C));
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"attach errors name what was tried and leave no session", test_open_errors},
	    {"CHAP login with the secret from a root-only file", test_chap_login},
	    {"data in and out through iovecs, residual, capacity", test_io},
	    {"filter refuses, raw passes the target's own sense", test_filter_and_raw_sense},
	    {"ro: DATA PROTECT and WP", test_read_only},
	    {"a nexus per guest: reservations fence, a re-opened guest stays fenced",
	     test_reservation_per_guest},
	    {"a closed LUN's session lingers: the same guest takes it up, reservation and all",
	     test_session_lingers},
	    {"target restart: in-flight READ sent again once, BUSY while down",
	     test_target_restart},
	    {"target restart with 48 writes in flight: each answered once",
	     test_target_restart_busy},
	    {"hung target: ABORT TASK ends the command anyway", test_abort_on_hung_target},
	    {"target away: a login dropped or never answered is tried again",
	     test_relogin_dropped_or_mute},
	    {"an attach's login waits on its own thread: one login for two callers, a mute "
	     "portal holds up no other LUN, a cancelled wait leaves its session lingering",
	     test_async_open},
	    {"move: a session and its LUN change worker", test_move},
	};
	static const struct cu_suite suites[] = {
	    CU_SUITE("iscsi", setup, teardown, tests),
	};

	return CU_RUN_SUITES(suites);
}
