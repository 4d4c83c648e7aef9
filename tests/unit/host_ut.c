/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host_ut.c - the target device (host.c, spec.c, map.c's task management):
 * one backing is one logical unit whatever LUN number or initiator reaches
 * it, so reservations and unit attentions are shared; spec parsing errors
 * name what was wrong; I_T NEXUS RESET acts on every LUN of the target for
 * the one initiator.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "core.h"
#include "cu_run.h"
#include "host_int.h"
#include "lun_harness.h"
#include "pvscsi/host.h"
#include "pvscsi/spec.h"
#include "unit_move.h"

static struct pvs_worker *w;
static struct pvs_host *h;
static char file_a[64], file_b[64];

static int setup(void)
{
	struct pvs_host_cfg cfg = {0};
	int fd;

	if (pvs_worker_new(64, &w))
		return -1;
	cfg.worker = w;
	if (pvs_host_new(&cfg, &h))
		return -1;
	snprintf(file_a, sizeof(file_a), "/tmp/host_ut.a.%d", (int)getpid());
	snprintf(file_b, sizeof(file_b), "/tmp/host_ut.b.%d", (int)getpid());
	fd = open(file_a, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	close(fd);
	/* A second name for the same file: a hard link. */
	unlink(file_b);
	return link(file_a, file_b);
}

static int teardown(void)
{
	pvs_host_free(h);
	pvs_worker_free(w);
	unlink(file_a);
	unlink(file_b);
	return 0;
}

struct cmd {
	struct pvs_req req;
	struct iovec iov;
	uint8_t buf[512];
	int ndone;
};

static void cmd_done(struct pvs_req *req)
{
	((struct cmd *)req->opaque)->ndone++;
}

/* Run @cdb through map @m at 0:@t:@l to completion. */
static void map_run(struct cmd *c, struct pvs_map *m, uint32_t t, uint32_t l, const uint8_t *cdb,
                    unsigned int cdb_len, enum pvs_dir dir, size_t len)
{
	lh_req_init(&c->req, &c->iov, 0 /* the map stamps its own */, cdb, cdb_len, dir, c->buf,
	            len, cmd_done, c);
	c->ndone = 0;
	CU_ASSERT_EQUAL_FATAL(pvs_map_submit(m, 0, t, l, &c->req), 0);
	for (int i = 0; i < 1000 && !c->ndone; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(c->ndone, 1);
}

static uint8_t sense_key(const struct pvs_req *r)
{
	return r->sense_len ? (r->sense[0] >= 0x72 ? r->sense[1] : r->sense[2]) & 0x0f : 0;
}

static void tur_until_good(struct pvs_map *m, uint32_t t, uint32_t l)
{
	static const uint8_t tur[6] = {0};
	struct cmd c;

	for (int i = 0; i < 16; i++) {
		map_run(&c, m, t, l, tur, 6, PVS_DIR_NONE, 0);
		if (c.req.status == PVS_STATUS_GOOD)
			return;
	}
	CU_FAIL("TEST UNIT READY never GOOD");
}

/* PERSISTENT RESERVE OUT with a 24-byte parameter list. */
static void prout(struct pvs_map *m, uint32_t t, uint32_t l, uint8_t sa, uint8_t type, uint64_t key,
                  uint64_t sakey, struct cmd *c)
{
	uint8_t cdb[10] = {0x5f, sa, type};

	cdb[8] = 24;
	lh_req_init(&c->req, &c->iov, 0, cdb, 10, PVS_DIR_TO_DEV, c->buf, 24, cmd_done, c);
	memset(c->buf, 0, 24);
	lh_put64(c->buf, key);
	lh_put64(c->buf + 8, sakey);
	c->ndone = 0;
	CU_ASSERT_EQUAL_FATAL(pvs_map_submit(m, 0, t, l, &c->req), 0);
	for (int i = 0; i < 1000 && !c->ndone; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(c->ndone, 1);
}

static uint8_t write10(struct pvs_map *m, uint32_t t, uint32_t l)
{
	uint8_t cdb[10] = {0x2a};
	struct cmd c;

	cdb[8] = 1;
	map_run(&c, m, t, l, cdb, 10, PVS_DIR_TO_DEV, 512);
	return c.req.status;
}

/* ---- the pool ---- */

static void test_same_backing_one_unit(void)
{
	char spec_a[96], spec_b[96], spec_ro[96], err[512];
	struct pvs_unit *u1, *u2, *u3, *m1, *m2;
	struct pvs_host_stats st;

	snprintf(spec_a, sizeof(spec_a), "file:%s", file_a);
	snprintf(spec_b, sizeof(spec_b), "file:%s,bs=512", file_b);
	snprintf(spec_ro, sizeof(spec_ro), "file:%s,ro", file_b);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec_a, false, &u1, err, sizeof(err)), 0);
	/* Another path (a hard link) and the default block size spelled out: the same unit. */
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec_b, false, &u2, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(u1, u2);
	CU_ASSERT_EQUAL(pvs_unit_users(u1), 2);
	/* Other options on the same backing: refused, saying both. */
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec_ro, false, &u3, err, sizeof(err)), -EBUSY);
	CU_ASSERT_PTR_NULL(u3);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a second user must use the same options ('ro' vs '')"));
	/* Raw for a file LUN means nothing: still the same unit. */
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec_a, true, &u3, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(u3, u1);
	/* mem: is a new device every time. */
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, "mem:1M", false, &m1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, "mem:1M", false, &m2, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_EQUAL(m1, m2);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 3);

	pvs_unit_put(m1);
	pvs_unit_put(m2);
	pvs_unit_put(u3);
	pvs_unit_put(u2);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 1);
	CU_ASSERT_TRUE(pvs_unit_is_open(u1));
	/* A pin outlives the last put: the record says the LUN closed. */
	pvs_unit_pin(u1);
	pvs_unit_put(u1);
	CU_ASSERT_FALSE(pvs_unit_is_open(u1));
	pvs_unit_unpin(u1);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 0);
	CU_ASSERT_PTR_NULL(pvs_host_unit_at(h, 0));
}

static void test_busy_unit_closes_when_idle(void)
{
	static const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	char spec[96], err[256];
	struct pvs_unit *u;
	struct pvs_host_stats st;
	struct cmd c;

	snprintf(spec, sizeof(spec), "file:%s", file_a);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec, false, &u, err, sizeof(err)), 0);
	lh_req_init(&c.req, &c.iov, 1, cdb, 10, PVS_DIR_FROM_DEV, c.buf, 512, cmd_done, &c);
	c.ndone = 0;
	pvs_submit(pvs_unit_lun(u), &c.req);
	pvs_worker_flush(w);
	if (c.ndone) {
		/* Completed inline: nothing to hold the LUN open; the rest does not apply. */
		pvs_unit_put(u);
		return;
	}
	/* A read in flight holds the LUN open past its last put, until a sweep after it ended. */
	pvs_unit_put(u);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 1);
	for (int i = 0; i < 1000 && !c.ndone; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(c.ndone, 1);
	pvs_host_sweep(h);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 0);
}

/*
 * Several event loops, one pool: a unit's I/O runs on the worker it was
 * opened on, every user of it must be on that worker, and the pool says
 * where a backing already lives so that a new user can be placed there.
 */
static void test_units_on_two_workers(void)
{
	static const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	char spec_a[96], spec_b[96], err[512];
	struct pvs_unit *u, *u2, *m1, *m2;
	struct pvs_unit_wait *wait;
	struct pvs_worker *w2;
	struct pvs_host_stats st;
	struct cmd c;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(64, &w2), 0);
	snprintf(spec_a, sizeof(spec_a), "file:%s", file_a);
	snprintf(spec_b, sizeof(spec_b), "file:%s", file_b); /* a hard link to it */
	CU_ASSERT_PTR_NULL(pvs_host_unit_where(h, spec_a, false, NULL));
	CU_ASSERT_PTR_NULL(pvs_host_unit_where(h, "file:/nonexistent/x", false, NULL));
	CU_ASSERT_PTR_NULL(pvs_host_unit_where(h, "nonsense", false, NULL));
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, w2, spec_a, false, NULL, NULL, NULL, &u,
	                                            &wait, err, sizeof(err)),
	                      0);
	CU_ASSERT_PTR_NULL(wait);
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(u), w2);
	CU_ASSERT_PTR_EQUAL(pvs_host_unit_where(h, spec_a, false, NULL), w2);
	CU_ASSERT_PTR_EQUAL(pvs_host_unit_where(h, spec_b, false, NULL), w2);

	/* Another loop cannot share it: refused, naming it, and nothing taken. */
	CU_ASSERT_EQUAL(pvs_host_unit_open_on(h, w, spec_b, false, NULL, NULL, NULL, &u2, &wait,
	                                      err, sizeof(err)),
	                -EXDEV);
	CU_ASSERT_PTR_NULL(u2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is served by another event loop"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, file_a));
	CU_ASSERT_EQUAL(pvs_host_unit_get(h, spec_a, false, &u2, err, sizeof(err)), -EXDEV);
	CU_ASSERT_EQUAL(pvs_unit_users(u), 1);
	/* Its own loop shares it. */
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, w2, spec_b, false, NULL, NULL, NULL, &u2,
	                                            &wait, err, sizeof(err)),
	                      0);
	CU_ASSERT_PTR_EQUAL(u2, u);
	CU_ASSERT_EQUAL(pvs_unit_users(u), 2);
	pvs_unit_put(u2);
	CU_ASSERT_EQUAL_FATAL(
	    pvs_host_unit_get_on(h, w2, spec_a, false, NULL, &u2, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(u2, u);
	pvs_unit_put(u2);
	CU_ASSERT_EQUAL(pvs_host_unit_get_on(h, w, spec_a, false, NULL, &u2, err, sizeof(err)),
	                -EXDEV);
	/* mem: is a new device each time, on whichever worker asks. */
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, w2, "mem:1M", false, NULL, NULL, NULL, &m1,
	                                            &wait, err, sizeof(err)),
	                      0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, "mem:1M", false, &m2, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(m1), w2);
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(m2), w);

	/* Past the power-on unit attention, which is answered at once. */
	for (int i = 0; i < 8; i++) {
		static const uint8_t tur[6] = {0};

		lh_req_init(&c.req, &c.iov, 1, tur, 6, PVS_DIR_NONE, c.buf, 0, cmd_done, &c);
		c.ndone = 0;
		pvs_submit(pvs_unit_lun(u), &c.req);
		for (int j = 0; j < 1000 && !c.ndone; j++)
			pvs_worker_wait(w2, 10);
		if (c.req.status == PVS_STATUS_GOOD)
			break;
	}
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	/* The file unit's read completes on w2, and running the pool's worker does not do it. */
	lh_req_init(&c.req, &c.iov, 1, cdb, 10, PVS_DIR_FROM_DEV, c.buf, 512, cmd_done, &c);
	c.ndone = 0;
	pvs_submit(pvs_unit_lun(u), &c.req);
	for (int i = 0; i < 5 && !c.ndone; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(c.ndone, 0);
	for (int i = 0; i < 1000 && !c.ndone; i++)
		pvs_worker_wait(w2, 10);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);

	pvs_unit_put(m2);
	pvs_unit_put(m1);
	pvs_unit_put(u);
	pvs_host_drain(h);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 0);
	CU_ASSERT_PTR_NULL(pvs_host_unit_where(h, spec_a, false, NULL));
	pvs_worker_free(w2);
}

static void test_spec_errors(void)
{
	static const struct {
		const char *spec;
		int rc;
		const char *msg;
	} bad[] = {
	    {"", -EINVAL, "empty LUN spec"},
	    {"file:", -EINVAL, "LUN spec 'file:': missing path"},
	    {"mem:0", -EINVAL, "bad size '0'"},
	    {"mem:1000", -EINVAL, "bad size '1000'"},
	    {"mem:4K,bs=4096,frob", -EINVAL, "unknown option 'frob'"},
	    {"file:/x,raw", -EINVAL, "raw (feature-host) needs a passthrough LUN"},
	    {"sg:/dev/sg1,bs=4096", -EINVAL, "bs= applies to file: and mem: LUNs only"},
	    {"naa.5000c500a1b2c3d4,bs=512", -EINVAL, "bs= applies to file: and mem: LUNs only"},
	    {"sg:/dev/sg1,ro,raw", -EINVAL, "read-only needs the CDB filter"},
	    {"iscsi://", -EINVAL, "missing URL"},
	    {"iscsi://san/iqn.2001-04.com.example:t/1,chap=/etc/x", -EINVAL, "no USER@ in the URL"},
	    {"iscsi://bob@san/iqn.2001-04.com.example:t/1", -EINVAL, "no chap=FILE"},
	    {"iscsi://bob@san/iqn.2001-04.com.example:t/1,chap=", -EINVAL,
	     "option 'chap=' is empty or too long (up to 255 bytes)"},
	    {"iscsi://bob%secret@san/iqn.2001-04.com.example:t/1", -EINVAL,
	     "a password in the URL is refused"},
	    {"iscsi://@san/iqn.2001-04.com.example:t/1", -EINVAL, "empty user name"},
	    {"iscsi://san", -EINVAL, "(no host)"},
	    {"iscsi:///iqn.x:t/1", -EINVAL, "(no host)"},
	    {"iscsi://san/iqn.2001-04.com.example:t", -EINVAL, "(no target name)"},
	    {"iscsi://san//1", -EINVAL, "(no target name)"},
	    {"iscsi://san/iqn.x:t/lun0", -EINVAL, "bad LUN number 'lun0'"},
	    {"iscsi://san/iqn.x:t/16384", -EINVAL, "bad LUN number '16384'"},
	    {"iscsi://san/iqn.x:t/1,bs=4096", -EINVAL, "bs= applies to file: and mem: LUNs only"},
	    {"iscsi://san/iqn.x:t/1,ro,raw", -EINVAL, "read-only needs the CDB filter"},
	    {"file:/x,chap=/etc/x", -EINVAL, "unknown option 'chap=/etc/x'"},
	};
	struct pvs_spec s;
	char err[256], buf[PVS_SPEC_MAX];

	for (size_t i = 0; i < CU_NELEM(bad); i++) {
		CU_ASSERT_EQUAL(pvs_spec_parse(bad[i].spec, &s, err, sizeof(err)), bad[i].rc);
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "spec '%s': '%s' lacks '%s'\n", bad[i].spec, err,
			        bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
	}
	/* A host p-dev keeps commas inside its name; only trailing options come off. */
	CU_ASSERT_EQUAL(pvs_spec_parse("t10.ATA a,b,ro", &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.kind, PVS_SPEC_HOST);
	CU_ASSERT_STRING_EQUAL(s.name, "t10.ATA a,b");
	CU_ASSERT_TRUE(s.ro);
	CU_ASSERT_EQUAL(pvs_spec_parse("mem:4K,bs=4096,ro", &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.size, 4096);
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "mem:4K,ro,bs=4096");
	CU_ASSERT_EQUAL(pvs_spec_parse("2:0:1:0,raw", &s, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(s.raw);
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, 4), -ENAMETOOLONG);
	CU_ASSERT_STRING_EQUAL(buf, "");
	/* iscsi://: the URL is the name; chap= needs a user, which the open checks. */
	CU_ASSERT_EQUAL(pvs_spec_parse("iscsi://bob@san.example:3261/iqn.2001-04.com.example:t/3,"
	                               "ro,chap=/etc/pvscsi/chap",
	                               &s, err, sizeof(err)),
	                0);
	CU_ASSERT_EQUAL(s.kind, PVS_SPEC_ISCSI);
	CU_ASSERT_STRING_EQUAL(s.name, "bob@san.example:3261/iqn.2001-04.com.example:t/3");
	CU_ASSERT_STRING_EQUAL(s.chap, "/etc/pvscsi/chap");
	CU_ASSERT_TRUE(s.ro);
	CU_ASSERT_STRING_EQUAL(pvs_spec_kind_name(s.kind), "iscsi");
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(
	    buf,
	    "iscsi://bob@san.example:3261/iqn.2001-04.com.example:t/3,ro,chap=/etc/pvscsi/chap");
	CU_ASSERT_EQUAL(
	    pvs_spec_parse("iscsi://[fe80::1]:3260/iqn.x:t/0,raw", &s, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(s.raw);
	/* The pool names the spec and the reason. */
	{
		struct pvs_unit *u;

		CU_ASSERT_EQUAL(pvs_host_unit_get(h, "file:/nonexistent/x.img", false, &u, err,
		                                  sizeof(err)) < 0,
		                1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.img"));
		CU_ASSERT_EQUAL(pvs_host_unit_get(h, "sg:/dev/sg1,ro", true, &u, err, sizeof(err)),
		                -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "drop one of ro and feature-host"));
		/* An iSCSI LUN is a guest's session: a transport must say which guest. */
		CU_ASSERT_EQUAL(
		    pvs_host_unit_get(h, "iscsi://san/iqn.x:t/1", false, &u, err, sizeof(err)),
		    -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs the guest's initiator name"));
		CU_ASSERT_EQUAL(
		    pvs_host_unit_get(h, "iscsi://san/iqn.x:t/1,ro", true, &u, err, sizeof(err)),
		    -EINVAL);
	}
	/* cache=none is another open of the backing: a second user cannot mix them. */
	{
		char sa[96], sb[112];
		struct pvs_unit *u1, *u2;

		snprintf(sa, sizeof(sa), "file:%s", file_a);
		snprintf(sb, sizeof(sb), "file:%s,cache=none", file_a);
		CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, sa, false, &u1, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(pvs_host_unit_get(h, sb, false, &u2, err, sizeof(err)), -EBUSY);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "cache=none"));
		/* nor can one user's writes be the loop's and another's io_uring's */
		snprintf(sb, sizeof(sb), "file:%s,writes=inline", file_a);
		CU_ASSERT_EQUAL(pvs_host_unit_get(h, sb, false, &u2, err, sizeof(err)), -EBUSY);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "writes=inline"));
		pvs_unit_put(u1);
	}
}

/* ---- two initiators, two LUN numbers, one backing ---- */

#define IA 0x0a0a
#define IB 0x0b0b

static void test_shared_reservations(void)
{
	char spec_a[96], spec_b[96], err[256];
	struct pvs_unit *ua, *ub;
	struct pvs_map *ma, *mb;
	struct pvs_host_stats st;
	struct cmd c;

	snprintf(spec_a, sizeof(spec_a), "file:%s", file_a);
	snprintf(spec_b, sizeof(spec_b), "file:%s", file_b);
	CU_ASSERT_EQUAL_FATAL(pvs_host_map_new(h, IA, &ma), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_map_new(h, IB, &mb), 0);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.maps, 2);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec_a, false, &ua, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec_b, false, &ub, err, sizeof(err)), 0);
	/* A sees it as 0:0:0, B as 0:3:7. */
	CU_ASSERT_EQUAL_FATAL(pvs_map_attach(ma, 0, 0, 0, ua), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_map_attach(mb, 0, 3, 7, ub), 0);
	CU_ASSERT_PTR_EQUAL(pvs_map_unit(mb, 0, 3, 7), ua);
	tur_until_good(ma, 0, 0);
	tur_until_good(mb, 3, 7);

	/* A registers and takes WRITE EXCLUSIVE; B registers. */
	prout(ma, 0, 0, 0x00, 0, 0, 0xaaaa, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	prout(ma, 0, 0, 0x01, 0x01, 0xaaaa, 0, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	prout(mb, 3, 7, 0x00, 0, 0, 0xbbbb, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	/* B's WRITE through its own LUN number conflicts; A's goes. */
	CU_ASSERT_EQUAL(write10(mb, 3, 7), PVS_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(write10(ma, 0, 0), PVS_STATUS_GOOD);
	/* B preempts A: A's registration and reservation go, A gets a unit attention. */
	prout(mb, 3, 7, 0x04, 0x01, 0xbbbb, 0xaaaa, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	{
		static const uint8_t tur[6] = {0};

		map_run(&c, ma, 0, 0, tur, 6, PVS_DIR_NONE, 0);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
		CU_ASSERT_EQUAL(sense_key(&c.req), 0x06);
	}
	CU_ASSERT_EQUAL(write10(ma, 0, 0), PVS_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(write10(mb, 3, 7), PVS_STATUS_GOOD);

	/* The maps give their units back; the last one closes the LUN. */
	pvs_map_free(ma);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 1);
	CU_ASSERT_EQUAL(st.maps, 1);
	CU_ASSERT_EQUAL(pvs_map_detach(mb, 0, 3, 7), 0);
	CU_ASSERT_EQUAL(pvs_map_detach(mb, 0, 3, 7), -ENOENT);
	pvs_map_free(mb);
	pvs_host_get_stats(h, &st);
	CU_ASSERT_EQUAL(st.units, 0);
	CU_ASSERT_EQUAL(st.maps, 0);
}

/* ---- task management through the map ---- */

struct tmf_ctx {
	struct pvs_tmf tmf;
	int ndone;
};

static void tmf_done(struct pvs_tmf *tmf)
{
	((struct tmf_ctx *)tmf->opaque)->ndone++;
}

static void test_nexus_reset(void)
{
	struct pvs_unit *u[3];
	struct pvs_map *ma, *mb;
	struct tmf_ctx t = {0};
	char err[256];
	struct cmd c;
	static const uint8_t tur[6] = {0};

	CU_ASSERT_EQUAL_FATAL(pvs_host_map_new(h, IA, &ma), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_map_new(h, IB, &mb), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(
		    pvs_host_unit_get(h, "mem:1M", false, &u[i], err, sizeof(err)), 0);
	/* Target 1 has LUNs 0 and 5; target 2 has LUN 0.  B sees LUN 5's file as its 0:0:0. */
	{
		char spec[96];
		struct pvs_unit *f1, *f2;

		snprintf(spec, sizeof(spec), "file:%s", file_a);
		CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec, false, &f1, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(pvs_host_unit_get(h, spec, false, &f2, err, sizeof(err)), 0);
		pvs_unit_put(u[1]);
		u[1] = f1;
		CU_ASSERT_EQUAL(pvs_map_attach(mb, 0, 0, 0, f2), 0);
	}
	CU_ASSERT_EQUAL(pvs_map_attach(ma, 0, 1, 0, u[0]), 0);
	CU_ASSERT_EQUAL(pvs_map_attach(ma, 0, 1, 5, u[1]), 0);
	CU_ASSERT_EQUAL(pvs_map_attach(ma, 0, 2, 0, u[2]), 0);
	tur_until_good(mb, 0, 0);
	tur_until_good(ma, 1, 0);
	tur_until_good(ma, 1, 5);
	tur_until_good(ma, 2, 0);

	/* No such target: the transport answers. */
	t.tmf.fn = PVS_TMF_I_T_NEXUS_RESET;
	t.tmf.done = tmf_done;
	t.tmf.opaque = &t;
	CU_ASSERT_EQUAL(pvs_map_tmf(ma, 0, 9, 0, &t.tmf), -ENODEV);
	CU_ASSERT_EQUAL(t.ndone, 0);
	/* A LUN-level function to an unmapped LUN of an existing target. */
	t.tmf.fn = PVS_TMF_LUN_RESET;
	CU_ASSERT_EQUAL(pvs_map_tmf(ma, 0, 1, 3, &t.tmf), -ENOENT);
	CU_ASSERT_EQUAL(t.ndone, 0);

	/* I_T NEXUS RESET of target 1: both its LUNs, once, for A only. */
	t.tmf.fn = PVS_TMF_I_T_NEXUS_RESET;
	t.tmf.initiator = 0x1234; /* the map's own identity wins */
	CU_ASSERT_EQUAL(pvs_map_tmf(ma, 0, 1, 0, &t.tmf), 0);
	for (int i = 0; i < 100 && !t.ndone; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_EQUAL(t.tmf.result, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_EQUAL(t.tmf.initiator, IA);
	CU_ASSERT_PTR_EQUAL(t.tmf.done, tmf_done);
	/* SAM-5 6.3.4: I_T NEXUS LOSS OCCURRED (29h/07h) on target 1's LUNs, none on target 2. */
	map_run(&c, ma, 1, 0, tur, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_EQUAL(sense_key(&c.req), 0x06);
	CU_ASSERT_EQUAL(c.req.sense[12], 0x29);
	CU_ASSERT_EQUAL(c.req.sense[13], 0x07);
	map_run(&c, ma, 1, 5, tur, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_EQUAL(c.req.sense[12], 0x29);
	map_run(&c, ma, 2, 0, tur, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	/* The other initiator's nexus on the shared LUN is untouched. */
	map_run(&c, mb, 0, 0, tur, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	pvs_map_free(ma);
	pvs_map_free(mb);
}

/* ---- a unit changes worker (pvs_unit_move()) ---- */

static void test_move_mem(void)
{
	struct pvs_worker *a, *b;
	struct pvs_unit *u;
	struct pvs_unit_wait *wait;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, a, "mem:1M", false, NULL, NULL, NULL, &u,
	                                            &wait, err, sizeof(err)),
	                      0);
	/* Nothing of a mem: LUN is any worker's: it has nothing to refuse either. */
	um_check_move(u, a, b, 7, UM_INLINE);
	pvs_unit_put(u);
	CU_ASSERT_FALSE(pvs_host_sweep_due(h, b));
	pvs_worker_free(b);
}

/*
 * A file: unit: a refused move leaves it whole on its worker, a move takes
 * its I/O and the watch of its name along, and the pool knows it is there.
 */
static void test_move_file(void)
{
	char path[80], spec[96], err[512];
	struct pvs_worker *a, *b;
	struct pvs_unit *u, *u2;
	struct pvs_unit_wait *wait;
	struct pvs_lun *lun;
	int fd;

	snprintf(path, sizeof(path), "/tmp/host_ut.move.%d", (int)getpid());
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &b), 0);
	CU_ASSERT_EQUAL_FATAL(
	    pvs_host_unit_open_on(h, a, spec, false, NULL, NULL, NULL, &u, &wait, err, sizeof(err)),
	    0);
	lun = pvs_unit_lun(u);
	CU_ASSERT_EQUAL(pvs_unit_move(u, NULL, err, sizeof(err)), -EINVAL);

	um_check_refused(u, a, b, 3);
	CU_ASSERT_PTR_EQUAL(pvs_host_unit_where(h, spec, false, NULL), a);
	um_check_move(u, a, b, 3, 0); /* frees a */

	/* Its users follow it: b shares it, the pool's own worker may not. */
	CU_ASSERT_PTR_EQUAL(pvs_host_unit_where(h, spec, false, NULL), b);
	CU_ASSERT_EQUAL(pvs_host_unit_open_on(h, w, spec, false, NULL, NULL, NULL, &u2, &wait, err,
	                                      sizeof(err)),
	                -EXDEV);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, b, spec, false, NULL, NULL, NULL, &u2, &wait,
	                                            err, sizeof(err)),
	                      0);
	CU_ASSERT_PTR_EQUAL(u2, u);
	pvs_unit_put(u2);

	/* The watch of its name came along: b's passes see the file removed. */
	CU_ASSERT_FALSE(pvs_lun_gone(lun));
	unlink(path);
	for (int i = 0; i < 100 && !pvs_lun_gone(lun); i++)
		pvs_worker_wait(b, 10);
	CU_ASSERT_TRUE(pvs_lun_gone(lun));

	/* Once put and idle, its close is due on b, the worker it is on now. */
	pvs_unit_pin(u);
	pvs_unit_put(u);
	CU_ASSERT_FALSE(pvs_unit_is_open(u));
	/* Closed: nothing to move. */
	CU_ASSERT_FALSE(pvs_unit_busy(u));
	CU_ASSERT_EQUAL(pvs_unit_move(u, w, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, spec));
	pvs_unit_unpin(u);
	pvs_worker_free(b);
}

/* A put unit with a read in flight is closed by the sweep that its new worker asks for. */
static void test_move_sweep_follows(void)
{
	static const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	char spec[96], err[256];
	struct pvs_worker *a, *b;
	struct pvs_unit *u;
	struct pvs_unit_wait *wait;
	struct cmd c;

	snprintf(spec, sizeof(spec), "file:%s", file_a);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &b), 0);
	CU_ASSERT_EQUAL_FATAL(
	    pvs_host_unit_open_on(h, a, spec, false, NULL, NULL, NULL, &u, &wait, err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL_FATAL(pvs_unit_move(u, b, err, sizeof(err)), 0);
	{
		struct lh hb = {.w = b, .lun = pvs_unit_lun(u)};

		CU_ASSERT_TRUE(lh_clear_ua(&hb, 1));
	}
	lh_req_init(&c.req, &c.iov, 1, cdb, 10, PVS_DIR_FROM_DEV, c.buf, 512, cmd_done, &c);
	c.ndone = 0;
	pvs_submit(pvs_unit_lun(u), &c.req);
	CU_ASSERT_EQUAL_FATAL(c.ndone, 0);
	pvs_unit_put(u);
	CU_ASSERT_FALSE(pvs_host_sweep_due(h, b));
	for (int i = 0; i < 1000 && !c.ndone; i++)
		pvs_worker_wait(b, 10);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_TRUE(pvs_host_sweep_due(h, b));
	CU_ASSERT_FALSE(pvs_host_sweep_due(h, a));
	pvs_host_sweep(h);
	CU_ASSERT_FALSE(pvs_host_sweep_due(h, b));
	pvs_worker_free(a);
	pvs_worker_free(b);
}

static void test_target_flags_have_handlers(void)
{
	/* Every opcode the table marks as the target's is one the map answers, and no other. */
	for (unsigned int i = 0; i < pvsi_nopcodes; i++) {
		const struct pvsi_opcode *op = &pvsi_opcodes[i];
		bool flagged = op->flags & PVSI_OP_TARGET;

		if (flagged != pvsi_map_target_handles(op->opcode))
			fprintf(stderr, "opcode %02xh (%s): TARGET flag %d, map handler %d\n",
			        op->opcode, op->name, flagged, pvsi_map_target_handles(op->opcode));
		CU_ASSERT_EQUAL(flagged, pvsi_map_target_handles(op->opcode));
	}
}

static const struct cu_test pool_tests[] = {
    {"same backing, one unit; options must agree", test_same_backing_one_unit},
    {"a busy unit closes once idle", test_busy_unit_closes_when_idle},
    {"units on two workers: each user on the unit's own", test_units_on_two_workers},
    {"spec errors name the spec and the reason", test_spec_errors},
    {"move: mem: unit to another worker", test_move_mem},
    {"move: file: unit, refused then moved, its watch along", test_move_file},
    {"move: a put unit's close is due on its new worker", test_move_sweep_follows},
};

static const struct cu_test nexus_tests[] = {
    {"two initiators, two LUN numbers: one reservation", test_shared_reservations},
    {"I_T NEXUS RESET over the target's LUNs", test_nexus_reset},
    {"PVSI_OP_TARGET drives the target's answers", test_target_flags_have_handlers},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("pool", setup, teardown, pool_tests),
	    CU_SUITE("nexus", setup, teardown, nexus_tests),
	};

	return CU_RUN_SUITES(suites);
}
