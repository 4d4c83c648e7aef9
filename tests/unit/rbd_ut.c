/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rbd_ut.c - rbd: LUNs against a real Ceph cluster: a private single-node
 * one (tests/ceph/cluster.sh) started before the suites and stopped after
 * them, by a parent process that outlives whatever the suites do (a
 * sanitizer abort included).  Images are made with the rbd CLI; commands
 * go through pvs_submit() as a guest's would.
 *
 * Without the ceph packages the run fails, saying so: make check-unit
 * installs them (scripts/install-deps unit).
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"
#include "pvscsi/host.h"
#include "pvscsi/sense.h"
#include "pvscsi/spec.h"
#include "unit_move.h"

#define CLUSTER_DIR "build/asan/tests/ceph"
/* Not the default of cluster.sh: a cluster started by hand keeps running beside. */
#define CLUSTER_PORT "40791"
#define BS           512u

static char conf[512];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void mkimage(const char *name, const char *size)
{
	CU_ASSERT_EQUAL_FATAL(sh("rbd -c %s create rbd/%s --size %s", conf, name, size), 0);
}

static void spec_of(char *buf, size_t len, const char *image, const char *opts)
{
	snprintf(buf, len, "rbd:rbd/%s,conf=%s%s", image, conf, opts ? opts : "");
}

static void open_ok(struct lh *h, const char *image, const char *opts)
{
	char spec[1024];
	int rc;

	spec_of(spec, sizeof(spec), image, opts);
	rc = lh_open(h, spec, NULL);
	if (rc)
		fprintf(stderr, "open %s: %d\n", spec, rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_TRUE(lh_clear_ua(h, 0));
}

static void rw10(struct lh *h, uint8_t op, uint64_t lba, uint32_t n, void *buf, struct lh_res *r)
{
	uint8_t cdb[10] = {op};

	lh_put_lba(cdb, 10, lba, n);
	lh_run(h, 0, cdb, sizeof(cdb), op == 0x2a ? PVS_DIR_TO_DEV : PVS_DIR_FROM_DEV, buf,
	       (size_t)n * BS, r);
}

static bool all_are(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- open: the spec parser's rbd: forms, then the errors of a real open ---- */

static void test_spec(void)
{
	static const struct {
		const char *spec;
		const char *msg;
	} bad[] = {
	    {"rbd:", "missing POOL/IMAGE"},
	    {"rbd:pool", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:/img", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:pool/", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:pool/ns/img", "no RADOS namespace"},
	    {"rbd:pool/img@", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:pool/img@a@b", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:pool@s/img", "expected rbd:POOL/IMAGE[@SNAPSHOT]"},
	    {"rbd:pool/img,raw", "an rbd: LUN is emulated"},
	    {"rbd:pool/img,cache=none", "cache=none applies to file: LUNs only"},
	    {"rbd:pool/img,frob",
	     "unknown option 'frob' (ro, bs=512, bs=4096, conf=FILE, id=USER)"},
	    {"rbd:pool/img,conf=", "option 'conf=' is empty or too long"},
	    {"rbd:pool/img,id=", "option 'id=' is empty or too long"},
	    {"file:/x,conf=/etc/ceph/ceph.conf", "unknown option 'conf=/etc/ceph/ceph.conf'"},
	    {"mem:1M,id=admin", "unknown option 'id=admin'"},
	};
	struct pvs_spec s, s2;
	char err[256], buf[PVS_SPEC_MAX];

	for (size_t i = 0; i < CU_NELEM(bad); i++) {
		CU_ASSERT_EQUAL(pvs_spec_parse(bad[i].spec, &s, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg) || !strstr(err, bad[i].spec))
			fprintf(stderr, "spec '%s': '%s' lacks '%s'\n", bad[i].spec, err,
			        bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].spec));
	}
	CU_ASSERT_EQUAL(pvs_spec_parse("rbd:vms/disk-1,id=libvirt,bs=4096,conf=/etc/ceph/c.conf",
	                               &s, err, sizeof(err)),
	                0);
	CU_ASSERT_EQUAL(s.kind, PVS_SPEC_RBD);
	CU_ASSERT_STRING_EQUAL(pvs_spec_kind_name(s.kind), "rbd");
	CU_ASSERT_STRING_EQUAL(s.name, "vms/disk-1");
	CU_ASSERT_STRING_EQUAL(s.rbd_conf, "/etc/ceph/c.conf");
	CU_ASSERT_STRING_EQUAL(s.rbd_id, "libvirt");
	CU_ASSERT_EQUAL(s.bs, 4096);
	CU_ASSERT_FALSE(s.ro);
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "rbd:vms/disk-1,bs=4096,conf=/etc/ceph/c.conf,id=libvirt");
	CU_ASSERT_EQUAL(pvs_spec_parse(buf, &s2, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(s2.rbd_conf, s.rbd_conf);
	CU_ASSERT_STRING_EQUAL(s2.rbd_id, s.rbd_id);
	/* A snapshot is read-only whatever the spec says. */
	CU_ASSERT_EQUAL(pvs_spec_parse("rbd:vms/disk-1@before", &s, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(s.ro);
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "rbd:vms/disk-1@before,ro");
}

static int open_err(const char *spec, char *err, size_t errlen)
{
	struct pvs_worker *w;
	struct pvs_lun *lun = (struct pvs_lun *)1;
	int rc;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	err[0] = '\0';
	rc = pvs_lun_open(w, spec, NULL, &lun, err, errlen);
	/* Nothing is attached: no LUN comes back. */
	CU_ASSERT_PTR_NULL(lun);
	if (!rc)
		pvs_lun_close(lun);
	pvs_worker_free(w);
	return rc;
}

/* Every message names what was tried: the conf, the user, the pool, the image, the snapshot. */
static void test_open_errors(void)
{
	char spec[1024], err[512];

	mkimage("e1", "4M");
	snprintf(spec, sizeof(spec), "rbd:nopool/e1,conf=%s", conf);
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "pool 'nopool'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such pool"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, conf));

	spec_of(spec, sizeof(spec), "noimage", NULL);
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "image 'noimage' in pool 'rbd'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such image"));

	spec_of(spec, sizeof(spec), "e1@nosnap", NULL);
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "image 'rbd/e1' has no snapshot 'nosnap'"));

	CU_ASSERT_EQUAL(open_err("rbd:rbd/e1,conf=/nonexistent/ceph.conf", err, sizeof(err)),
	                -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(err, "cannot read the Ceph configuration /nonexistent/ceph.conf"));

	/* A user the cluster does not know is refused by cephx, and named. */
	spec_of(spec, sizeof(spec), "e1", ",id=nobody");
	CU_ASSERT_TRUE(open_err(spec, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect to the Ceph cluster of"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "as client.nobody"));
}

/* ---- commands ---- */

static void test_read_capacity(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t cdb[10] = {0x25}, cap[8];

	mkimage("cap", "8M");
	open_ok(&h, "cap", NULL);
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_FROM_DEV, cap, sizeof(cap), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(pvsi_be32(cap), (8u << 20) / BS - 1);
	CU_ASSERT_EQUAL(pvsi_be32(cap + 4), BS);
	lh_close(&h);

	/* bs=4096: the same image in 4 KiB blocks. */
	open_ok(&h, "cap", ",bs=4096");
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_FROM_DEV, cap, sizeof(cap), &r);
	CU_ASSERT_EQUAL(pvsi_be32(cap), (8u << 20) / 4096 - 1);
	CU_ASSERT_EQUAL(pvsi_be32(cap + 4), 4096);
	lh_close(&h);
}

static void test_write_read(void)
{
	static uint8_t out[64 * BS], in[64 * BS];
	struct lh h, h2;
	struct lh_res r;

	mkimage("rw", "16M");
	open_ok(&h, "rw", NULL);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	/* Across the first 4 MiB object's end: librbd splits it, the LUN does not care. */
	rw10(&h, 0x2a, (4u << 20) / BS - 32, 64, out, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	rw10(&h, 0x28, (4u << 20) / BS - 32, 64, in, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(r.residual, 0);
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	/* SYNCHRONIZE CACHE(10) is an rbd_aio_flush. */
	{
		uint8_t sync[10] = {0x35};

		lh_run(&h, 0, sync, sizeof(sync), PVS_DIR_NONE, NULL, 0, &r);
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	}
	/* FUA: the write and then a flush before GOOD. */
	{
		uint8_t cdb[10] = {0x2a, 0x08};

		lh_put_lba(cdb, 10, 100, 1);
		lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, out, BS, &r);
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	}
	lh_close(&h);
	/* Another open (another librbd client) sees the data. */
	open_ok(&h2, "rw", ",ro");
	memset(in, 0, sizeof(in));
	rw10(&h2, 0x28, (4u << 20) / BS - 32, 64, in, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	rw10(&h2, 0x28, 100, 1, in, &r);
	CU_ASSERT_EQUAL(memcmp(in, out, BS), 0);
	/* ro: DATA PROTECT before anything reaches the cluster. */
	rw10(&h2, 0x2a, 0, 1, out, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(r.key, PVS_KEY_DATA_PROTECT);
	lh_close(&h2);
}

static void test_unmap(void)
{
	static uint8_t buf[16 * BS];
	uint8_t cdb[10] = {0x42}, par[24] = {0};
	struct lh h;
	struct lh_res r;

	mkimage("unmap", "16M");
	open_ok(&h, "unmap", NULL);
	memset(buf, 0xa5, sizeof(buf));
	rw10(&h, 0x2a, 8, 16, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	/* One descriptor, LBAs 11..13: less than librbd's discard granularity, unaligned. */
	lh_put16(par, 22);
	lh_put16(par + 2, 16);
	lh_put64(par + 8, 11);
	lh_put32(par + 16, 3);
	lh_put16(cdb + 7, sizeof(par));
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, par, sizeof(par), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	memset(buf, 0xff, sizeof(buf));
	rw10(&h, 0x28, 8, 16, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_TRUE(all_are(buf, 3 * BS, 0xa5));
	CU_ASSERT_TRUE(all_are(buf + 3 * BS, 3 * BS, 0));
	CU_ASSERT_TRUE(all_are(buf + 6 * BS, 10 * BS, 0xa5));
	lh_close(&h);
}

/* GET LBA STATUS from LBA 0: the descriptors' (LBA, blocks, status) into @d; their count. */
static unsigned gls(struct lh *h, uint64_t d[][3], unsigned max)
{
	static uint8_t buf[8 + 16 * 16];
	uint8_t cdb[16] = {0x9e, 0x12};
	struct lh_res r;
	unsigned n;

	lh_put32(cdb + 10, sizeof(buf));
	lh_run(h, 0, cdb, sizeof(cdb), PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	if (r.status != PVS_STATUS_GOOD)
		return 0;
	n = (pvsi_be32(buf) - 4) / 16;
	for (unsigned i = 0; i < n && i < max; i++) {
		d[i][0] = pvsi_be64(buf + 8 + 16 * i);
		d[i][1] = pvsi_be32(buf + 8 + 16 * i + 8);
		d[i][2] = buf[8 + 16 * i + 12] & 0x0f;
	}
	return n;
}

/*
 * GET LBA STATUS asks librbd which objects exist: a 16 MiB image is four
 * 4 MiB objects of 8192 blocks; one written block maps its whole object,
 * and discarding the whole object deallocates it again.
 */
static void test_lba_status(void)
{
	static uint8_t buf[BS];
	uint8_t cdb[10] = {0x42}, par[24] = {0};
	uint64_t d[8][3];
	struct lh h;
	struct lh_res r;
	unsigned n;

	mkimage("gls", "16M");
	open_ok(&h, "gls", NULL);
	n = gls(&h, d, 8);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(d[0][0] == 0 && d[0][1] == 32768 && d[0][2] == 1);
	memset(buf, 1, sizeof(buf));
	rw10(&h, 0x2a, 8192 + 5, 1, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	n = gls(&h, d, 8);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_TRUE(d[0][0] == 0 && d[0][1] == 8192 && d[0][2] == 1);
	CU_ASSERT_TRUE(d[1][0] == 8192 && d[1][1] == 8192 && d[1][2] == 0);
	CU_ASSERT_TRUE(d[2][0] == 16384 && d[2][1] == 16384 && d[2][2] == 1);
	lh_put16(par, 22);
	lh_put16(par + 2, 16);
	lh_put64(par + 8, 8192);
	lh_put32(par + 16, 8192);
	lh_put16(cdb + 7, sizeof(par));
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, par, sizeof(par), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	n = gls(&h, d, 8);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(d[0][0] == 0 && d[0][1] == 32768 && d[0][2] == 1);
	lh_close(&h);
}

static void ws16(struct lh *h, uint8_t flags, uint64_t lba, uint32_t n, void *block,
                 struct lh_res *r)
{
	uint8_t cdb[16] = {0x93, flags};

	lh_put64(cdb + 2, lba);
	lh_put32(cdb + 10, n);
	lh_run(h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, block, BS, r);
}

static void test_write_same(void)
{
	static uint8_t buf[32 * BS];
	uint8_t block[BS];
	struct lh h;
	struct lh_res r;

	mkimage("ws", "16M");
	open_ok(&h, "ws", NULL);
	memset(block, 0x3c, sizeof(block));
	ws16(&h, 0, 20, 32, block, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	rw10(&h, 0x28, 20, 32, buf, &r);
	CU_ASSERT_TRUE(all_are(buf, sizeof(buf), 0x3c));
	/* Zeroes with UNMAP: a discard; without: write zeroes.  Both read back as zeroes. */
	memset(block, 0, sizeof(block));
	ws16(&h, 0x08, 24, 4, block, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	ws16(&h, 0, 40, 4, block, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	rw10(&h, 0x28, 20, 32, buf, &r);
	CU_ASSERT_TRUE(all_are(buf, 4 * BS, 0x3c));
	CU_ASSERT_TRUE(all_are(buf + 4 * BS, 4 * BS, 0));
	CU_ASSERT_TRUE(all_are(buf + 8 * BS, 12 * BS, 0x3c));
	CU_ASSERT_TRUE(all_are(buf + 20 * BS, 4 * BS, 0));
	CU_ASSERT_TRUE(all_are(buf + 24 * BS, 8 * BS, 0x3c));
	lh_close(&h);
}

static void test_compare_and_write(void)
{
	static uint8_t buf[2 * BS], in[BS];
	uint8_t cdb[16] = {0x89};
	struct lh h;
	struct lh_res r;

	mkimage("caw", "4M");
	open_ok(&h, "caw", NULL);
	memset(buf, 0x11, BS);
	rw10(&h, 0x2a, 5, 1, buf, &r);
	lh_put64(cdb + 2, 5);
	cdb[13] = 1;
	/* Matching: the second half is written. */
	memset(buf + BS, 0x22, BS);
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	rw10(&h, 0x28, 5, 1, in, &r);
	CU_ASSERT_TRUE(all_are(in, BS, 0x22));
	/* Not matching any more: MISCOMPARE, and the block keeps what it had. */
	memset(buf + BS, 0x33, BS);
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(r.key, PVS_KEY_MISCOMPARE);
	CU_ASSERT_EQUAL(r.asc, 0x1d);
	rw10(&h, 0x28, 5, 1, in, &r);
	CU_ASSERT_TRUE(all_are(in, BS, 0x22));
	lh_close(&h);
}

/* PERSISTENT RESERVE OUT of @sa with @key / @sarkey (and TYPE for RESERVE). */
static void pr_out(struct lh *h, uint64_t initiator, uint8_t sa, uint8_t type, uint64_t key,
                   uint64_t sarkey, struct lh_res *r)
{
	uint8_t cdb[10] = {0x5f, sa, type}, par[24] = {0};

	lh_put64(par, key);
	lh_put64(par + 8, sarkey);
	lh_put32(cdb + 5, sizeof(par));
	lh_run(h, initiator, cdb, sizeof(cdb), PVS_DIR_TO_DEV, par, sizeof(par), r);
}

/* The LUN core keeps reservations for an rbd: LUN as for any emulated one. */
static void test_reservation(void)
{
	static uint8_t buf[BS];
	uint8_t cdb[10] = {0x2a};
	struct lh h;
	struct lh_res r;

	mkimage("pr", "4M");
	open_ok(&h, "pr", NULL);
	CU_ASSERT_TRUE(lh_clear_ua(&h, 2));
	pr_out(&h, 0, 0x00, 0, 0, 0xabc, &r); /* REGISTER */
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	pr_out(&h, 0, 0x01, 0x01, 0xabc, 0, &r); /* RESERVE, Write Exclusive */
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_put_lba(cdb, 10, 0, 1);
	lh_run(&h, 2, cdb, sizeof(cdb), PVS_DIR_TO_DEV, buf, BS, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_RESERVATION_CONFLICT);
	lh_run(&h, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, buf, BS, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	lh_close(&h);
}

static void test_snapshot(void)
{
	static uint8_t buf[BS], in[BS];
	struct lh h, s;
	struct lh_res r;

	mkimage("snap", "4M");
	open_ok(&h, "snap", NULL);
	memset(buf, 0x5a, BS);
	rw10(&h, 0x2a, 0, 1, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(sh("rbd -c %s snap create rbd/snap@s1 >/dev/null 2>&1", conf), 0);
	memset(buf, 0x6b, BS);
	rw10(&h, 0x2a, 0, 1, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);

	open_ok(&s, "snap@s1", NULL);
	CU_ASSERT_TRUE(s.lun->ro);
	rw10(&s, 0x28, 0, 1, in, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	CU_ASSERT_TRUE(all_are(in, BS, 0x5a));
	rw10(&s, 0x2a, 0, 1, buf, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(r.key, PVS_KEY_DATA_PROTECT);
	CU_ASSERT_EQUAL(r.asc, 0x27);
	/* The snapshot is another device than its image. */
	CU_ASSERT_NOT_EQUAL(memcmp(s.lun->naa, h.lun->naa, sizeof(h.lun->naa)), 0);
	lh_close(&s);
	rw10(&h, 0x28, 0, 1, in, &r);
	CU_ASSERT_TRUE(all_are(in, BS, 0x6b));
	lh_close(&h);
}

/*
 * The NAA comes from the cluster's fsid and the image's id: the same for
 * two opens however the spec is spelt (another host would spell it with
 * its own conf path), another for another image.
 */
static void test_identity(void)
{
	struct lh a, b, c;
	char spec[1024], abs[600];

	mkimage("id1", "4M");
	mkimage("id2", "4M");
	open_ok(&a, "id1", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(conf, abs));
	snprintf(spec, sizeof(spec), "rbd:rbd/id1,ro,conf=%s,id=admin", abs);
	CU_ASSERT_EQUAL_FATAL(lh_open(&b, spec, NULL), 0);
	open_ok(&c, "id2", NULL);
	CU_ASSERT_EQUAL(memcmp(a.lun->naa, b.lun->naa, sizeof(a.lun->naa)), 0);
	CU_ASSERT_STRING_EQUAL(a.lun->serial, b.lun->serial);
	CU_ASSERT_NOT_EQUAL(memcmp(a.lun->naa, c.lun->naa, sizeof(a.lun->naa)), 0);
	CU_ASSERT_EQUAL(a.lun->naa[0] >> 4, 3); /* NAA 3h, locally assigned */
	lh_close(&a);
	lh_close(&b);
	lh_close(&c);
}

struct slow {
	int done;
	uint8_t status, key;
};

static void slow_done(struct pvs_req *req)
{
	struct slow *s = req->opaque;

	s->done++;
	s->status = req->status;
	s->key = req->sense_len > 2 ? req->sense[2] & 0x0f : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The OSD stops answering (SIGSTOP: it neither dies nor replies): a write
 * fails with an error once librados's OSD timeout passes, never hangs.
 * Last: the cluster is of little use after it.
 */
static void test_cluster_gone(void)
{
	static uint8_t buf[BS];
	uint8_t cdb[10] = {0x2a};
	struct pvs_req req;
	struct iovec iov;
	struct slow s = {0};
	struct lh h;
	double t0, t;
	char pid[32] = "";
	FILE *f;

	mkimage("gone", "4M");
	open_ok(&h, "gone", NULL);
	f = fopen(CLUSTER_DIR "/run/osd.0.pid", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(pid, sizeof(pid), f));
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(kill(atoi(pid), SIGSTOP), 0);

	lh_put_lba(cdb, 10, 0, 1);
	lh_req_init(&req, &iov, 0, cdb, sizeof(cdb), PVS_DIR_TO_DEV, buf, BS, slow_done, &s);
	t0 = now_s();
	pvs_submit(h.lun, &req);
	while (!s.done && now_s() - t0 < 40) {
		pvs_worker_flush(h.w);
		pvs_worker_wait(h.w, 100);
	}
	t = now_s() - t0;
	kill(atoi(pid), SIGCONT);
	fprintf(stderr, "write with the OSD stopped: completed %d time(s) after %.1f s\n", s.done,
	        t);
	CU_ASSERT_EQUAL(s.done, 1);
	CU_ASSERT_EQUAL(s.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_TRUE(s.key == PVS_KEY_MEDIUM_ERROR || s.key == PVS_KEY_HARDWARE_ERROR);
	CU_ASSERT_TRUE(t < 30);
	if (s.done)
		lh_close(&h);
}

/*
 * In a target's pool two specs naming the same image are one unit (its
 * reservations are the image's), whatever the spelling of the conf path or
 * the conf file itself; different options are refused as for files.
 */
static void test_pool(void)
{
	struct pvs_host_cfg cfg = {0};
	struct pvs_host *h;
	struct pvs_unit *a, *b, *c, *d;
	char spec[1024], abs[600], err[512];

	mkimage("pool", "4M");
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &cfg.worker), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &h), 0);
	spec_of(spec, sizeof(spec), "pool", NULL);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec, false, &a, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(conf, abs));
	snprintf(spec, sizeof(spec), "rbd:rbd/pool,conf=%s,id=admin", abs);
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec, false, &b, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(a, b);
	snprintf(spec, sizeof(spec), "rbd:rbd/pool,ro,conf=%s", abs);
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec, false, &c, err, sizeof(err)), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "already open"));
	/* Another conf file of the same cluster: the same image once open. */
	CU_ASSERT_EQUAL_FATAL(sh("cp %s %s/copy.conf", conf, CLUSTER_DIR), 0);
	snprintf(spec, sizeof(spec), "rbd:rbd/pool,conf=%s/copy.conf", CLUSTER_DIR);
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec, false, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(a, c);
	snprintf(spec, sizeof(spec), "rbd:rbd/pool,ro,conf=%s/copy.conf", CLUSTER_DIR);
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec, false, &d, err, sizeof(err)), -EBUSY);
	CU_ASSERT_PTR_NULL(d);
	pvs_unit_put(a);
	pvs_unit_put(b);
	pvs_unit_put(c);
	pvs_host_free(h);
	pvs_worker_free(cfg.worker);
}

/*
 * An attach's connection to the cluster runs on a thread of its own: the
 * image named through two conf files is still one unit once both opened,
 * and a missing image is an error for its caller only.  The unit's I/O
 * runs on the worker it was opened on (a second event loop's), the
 * callbacks on the pool's, and no other loop may share it.
 */
static void test_pool_async(void)
{
	struct pvs_host_cfg cfg = {0};
	struct pvs_host *h;
	struct pvs_unit *u;
	struct pvs_worker *w2;
	struct pvs_unit_wait *w;
	struct lh_waited r1 = {0}, r2 = {0}, r3 = {0};
	char spec[1024], err[512];
	uint8_t buf[512];
	struct lh_res r;

	mkimage("apool", "4M");
	CU_ASSERT_EQUAL_FATAL(sh("cp %s %s/copy.conf", conf, CLUSTER_DIR), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &cfg.worker), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w2), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &h), 0);
	spec_of(spec, sizeof(spec), "apool", NULL);
	CU_ASSERT_EQUAL(pvs_host_unit_open_on(h, w2, spec, false, NULL, lh_waited_done, &r1, &u, &w,
	                                      err, sizeof(err)),
	                PVS_UNIT_PENDING);
	/* Under way on w2: where it will live, and no other loop may wait for it. */
	CU_ASSERT_PTR_EQUAL(pvs_host_unit_where(h, spec, false, NULL), w2);
	CU_ASSERT_EQUAL(
	    pvs_host_unit_open(h, spec, false, NULL, lh_waited_done, &r3, &u, &w, err, sizeof(err)),
	    -EXDEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is served by another event loop"));
	CU_ASSERT_EQUAL(r3.calls, 0);
	snprintf(spec, sizeof(spec), "rbd:rbd/apool,conf=%s/copy.conf", CLUSTER_DIR);
	CU_ASSERT_EQUAL(pvs_host_unit_open_on(h, w2, spec, false, NULL, lh_waited_done, &r2, &u, &w,
	                                      err, sizeof(err)),
	                PVS_UNIT_PENDING);
	spec_of(spec, sizeof(spec), "no-such-image", NULL);
	CU_ASSERT_EQUAL(
	    pvs_host_unit_open(h, spec, false, NULL, lh_waited_done, &r3, &u, &w, err, sizeof(err)),
	    PVS_UNIT_PENDING);
	CU_ASSERT_EQUAL(pvs_host_opening(h), 3);
	for (int t = 0; t < 60000 && pvs_host_opening(h); t += 20)
		pvs_worker_wait(cfg.worker, 20);
	CU_ASSERT_EQUAL(r1.calls, 1);
	CU_ASSERT_EQUAL(r2.calls, 1);
	CU_ASSERT_EQUAL(r3.calls, 1);
	CU_ASSERT_EQUAL(r1.rc, 0);
	CU_ASSERT_EQUAL(r2.rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1.u);
	CU_ASSERT_PTR_EQUAL(r1.u, r2.u);
	CU_ASSERT_EQUAL(pvs_unit_users(r1.u), 2);
	CU_ASSERT(r3.rc < 0);
	CU_ASSERT_PTR_NULL(r3.u);
	CU_ASSERT_PTR_NOT_NULL(strstr(r3.err, "no such image"));
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(r1.u), w2);
	spec_of(spec, sizeof(spec), "apool", NULL);
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec, false, &u, err, sizeof(err)), -EXDEV);
	CU_ASSERT_EQUAL(pvs_unit_users(r1.u), 2);
	{
		struct lh a = {.w = w2, .lun = pvs_unit_lun(r1.u)};

		lh_clear_ua(&a, 0);
		memset(buf, 0x5a, sizeof(buf));
		rw10(&a, 0x2a, 1, 1, buf, &r);
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
		memset(buf, 0, sizeof(buf));
		rw10(&a, 0x28, 1, 1, buf, &r);
		CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
		CU_ASSERT(all_are(buf, sizeof(buf), 0x5a));
	}
	pvs_unit_put(r1.u);
	pvs_unit_put(r2.u);
	pvs_host_free(h);
	pvs_worker_free(w2);
	pvs_worker_free(cfg.worker);
}

/*
 * No mon answers at the conf's address: the open fails after librados's
 * mount timeout, naming the conf and the user, instead of hanging.
 */
/* An image changes worker: librbd's completions reach the new one. */
static void test_move(void)
{
	struct pvs_host_cfg cfg = {0};
	struct pvs_worker *a, *b;
	struct pvs_host *h;
	struct pvs_unit *u;
	char spec[1024], err[512];

	mkimage("move", "4M");
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &cfg.worker), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &h), 0);
	spec_of(spec, sizeof(spec), "move", NULL);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get_on(h, a, spec, false, NULL, &u, err, sizeof(err)),
	                      0);
	um_check_refused(u, a, b, 9);
	um_check_move(u, a, b, 9, 0); /* frees a */
	pvs_unit_put(u);
	pvs_host_free(h);
	pvs_worker_free(b);
	pvs_worker_free(cfg.worker);
}

static void test_no_cluster(void)
{
	char path[300], spec[1024], err[512], keyring[600];
	struct timespec t0, t1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/down.conf", CLUSTER_DIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(CLUSTER_DIR "/ceph.client.admin.keyring", keyring));
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* Port 9 (discard): nothing listens on loopback, every connect is refused. */
	fprintf(f, "[global]\nmon host = v2:127.0.0.1:9\nkeyring = %s\n", keyring);
	fclose(f);
	snprintf(spec, sizeof(spec), "rbd:rbd/e1,conf=%s", path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_TRUE(open_err(spec, err, sizeof(err)) < 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "open with no mon: %s (%ld s)\n", err, (long)(t1.tv_sec - t0.tv_sec));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect to the Ceph cluster of"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "client.admin"));
	CU_ASSERT_TRUE(t1.tv_sec - t0.tv_sec < 30);
}

/* pvscsi-cdb (its ASan build, which check-unit makes) opens an rbd: LUN like any other. */
static void test_tool(void)
{
	char spec[1024], cmd[1400], out[4096] = "";
	const char *tool = "build/asan/pvscsi-cdb";
	size_t n;
	FILE *p;

	/* make check-unit builds it first. */
	CU_ASSERT_EQUAL_FATAL(access(tool, X_OK), 0);
	mkimage("tool", "8M");
	spec_of(spec, sizeof(spec), "tool", NULL);
	/* INQUIRY's product identification, then READ CAPACITY(10). */
	snprintf(cmd, sizeof(cmd),
	         "%s --lun '%s' --in 36 12 00 00 00 24 00 --then --in 8 25 00 00 00 00 00 00 00 "
	         "00 00",
	         tool, spec);
	p = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	CU_ASSERT_EQUAL(pclose(p), 0);
	/* "RBD" and 13 spaces, as hex */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "52424420202020202020202020202020"));
	/* 8 MiB of 512-byte blocks: last LBA 0x3fff */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"data\":\"00003fff00000200\""));
}

static const struct cu_test open_tests[] = {
    {"spec", test_spec},
    {"open errors", test_open_errors},
    {"no cluster", test_no_cluster},
};

static const struct cu_test command_tests[] = {
    {"read capacity", test_read_capacity},
    {"write and read back", test_write_read},
    {"unmap", test_unmap},
    {"get lba status", test_lba_status},
    {"write same", test_write_same},
    {"compare and write", test_compare_and_write},
    {"reservation", test_reservation},
    {"snapshot", test_snapshot},
    {"identity", test_identity},
    {"pool", test_pool},
    {"pool, opened on threads of their own", test_pool_async},
    {"move: an image changes worker", test_move},
    {"pvscsi-cdb", test_tool},
};

static const struct cu_test gone_tests[] = {
    {"cluster gone during I/O", test_cluster_gone},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("rbd open", NULL, NULL, open_tests),
	    CU_SUITE("rbd LUN commands", NULL, NULL, command_tests),
	    CU_SUITE("rbd cluster gone", NULL, NULL, gone_tests),
	};
	pid_t pid;
	int st;

	if (sh("command -v ceph-mon >/dev/null 2>&1")) {
		printf(
		    "rbd_ut: no ceph-mon: scripts/install-deps unit installs the ceph packages\n");
		return 1;
	}
	snprintf(conf, sizeof(conf), "%s/ceph.conf", CLUSTER_DIR);
	setenv("CEPH_PORT", CLUSTER_PORT, 1);
	fflush(NULL);
	if (sh("tests/ceph/cluster.sh start " CLUSTER_DIR)) {
		fprintf(stderr, "rbd_ut: the test cluster did not start\n");
		sh("tail -n 20 " CLUSTER_DIR
		   "/log/*.log >&2; tests/ceph/cluster.sh stop " CLUSTER_DIR);
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		exit(CU_RUN_SUITES(suites));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sh("tests/ceph/cluster.sh stop " CLUSTER_DIR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
