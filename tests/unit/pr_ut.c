/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_ut.c - reservations (pr.c) through real CDBs on a mem LUN shared by
 * initiators A, B and C: SPC-2 RESERVE/RELEASE, persistent reservations of
 * every type, PERSISTENT RESERVE IN data byte for byte, PREEMPT (and
 * ABORT), CLEAR, key and parameter-list errors, the generation counter,
 * and the unit attentions the other registrants get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"

#define IA 0xaaaa0001
#define IB 0xbbbb0002
#define IC 0xcccc0003

#define KA 0xa1a2a3a4a5a6a7a8ull
#define KB 0x00000000000000bbull
#define KC 0xc0c0c0c0c0c0c0c0ull

enum { WE = 1, EA = 3, WE_RO = 5, EA_RO = 6, WE_AR = 7, EA_AR = 8 };
enum { REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT_ABORT, REGISTER_IGNORE };

static struct pvs_worker *w;
static struct pvs_lun *lun;

struct cmd {
	struct pvs_req r;
	struct iovec iov;
	uint8_t buf[4096];
	int ndone;
};

static void cmd_done(struct pvs_req *r)
{
	((struct cmd *)r->opaque)->ndone++;
}

static void start(struct cmd *c, uint64_t initiator, const uint8_t *cdb, uint8_t cdb_len,
                  uint8_t dir, size_t len, const void *out)
{
	memset(c, 0, sizeof(*c));
	if (out)
		memcpy(c->buf, out, len);
	lh_req_init(&c->r, &c->iov, initiator, cdb, cdb_len, dir, c->buf, len, cmd_done, c);
	pvs_submit(lun, &c->r);
}

static void run(struct cmd *c, uint64_t initiator, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
                size_t len, const void *out)
{
	start(c, initiator, cdb, cdb_len, dir, len, out);
	for (int i = 0; i < 100 && !c->ndone; i++)
		pvs_worker_wait(w, 100);
	CU_ASSERT_EQUAL(c->ndone, 1);
}

/* ---- outcomes ---- */

static int is_good(const struct cmd *c)
{
	return c->r.host == PVS_HOST_OK && c->r.status == PVS_STATUS_GOOD && c->r.sense_len == 0;
}

static int is_conflict(const struct cmd *c)
{
	return c->r.host == PVS_HOST_OK && c->r.status == PVS_STATUS_RESERVATION_CONFLICT &&
	       c->r.sense_len == 0;
}

static int is_check(const struct cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	return c->r.status == PVS_STATUS_CHECK_CONDITION && c->r.sense_len >= 14 &&
	       (c->r.sense[2] & 0x0f) == key && c->r.sense[12] == asc && c->r.sense[13] == ascq;
}

/* ---- commands ---- */

static struct cmd c; /* the last command's outcome */

static void read10(uint64_t i)
{
	static const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0};

	run(&c, i, cdb, 10, PVS_DIR_FROM_DEV, 512, NULL);
}

static void write10(uint64_t i)
{
	static const uint8_t cdb[10] = {0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0};
	uint8_t data[512];

	memset(data, 0x5a, sizeof(data));
	run(&c, i, cdb, 10, PVS_DIR_TO_DEV, 512, data);
}

static void simple(uint64_t i, const uint8_t *cdb, uint8_t len, uint8_t dir, size_t dlen)
{
	run(&c, i, cdb, len, dir, dlen, NULL);
}

static const uint8_t tur[6] = {0x00};
static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 96, 0};
static const uint8_t request_sense[6] = {0x03, 0, 0, 0, 18, 0};
static const uint8_t report_luns[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
static const uint8_t read_capacity[10] = {0x25};
static const uint8_t mode_sense[6] = {0x1a, 0x08, 0x3f, 0, 255, 0};
static const uint8_t sync_cache[10] = {0x35};
static const uint8_t verify10[10] = {0x2f, 0, 0, 0, 0, 0, 0, 0, 1, 0}; /* BYTCHK 0 */
static const uint8_t prefetch10[10] = {0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static const uint8_t reserve6[6] = {0x16};
static const uint8_t release6[6] = {0x17};
static const uint8_t reserve10[10] = {0x56};
static const uint8_t release10[10] = {0x57};

#define TUR(i)      simple(i, tur, 6, PVS_DIR_NONE, 0)
#define INQ(i)      simple(i, inquiry, 6, PVS_DIR_FROM_DEV, 96)
#define RESERVE6(i) simple(i, reserve6, 6, PVS_DIR_NONE, 0)
#define RELEASE6(i) simple(i, release6, 6, PVS_DIR_NONE, 0)

/* PERSISTENT RESERVE OUT with the basic 24-byte parameter list (or @plen bytes of it). */
static void pro_full(uint64_t i, uint8_t sa, uint8_t scope_type, uint64_t res_key, uint64_t sa_key,
                     uint8_t flags, uint32_t plen, size_t buflen)
{
	uint8_t cdb[10] = {0x5f, sa, scope_type};
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	pvsi_put_be64(p, res_key);
	pvsi_put_be64(p + 8, sa_key);
	p[20] = flags;
	pvsi_put_be32(cdb + 5, plen);
	run(&c, i, cdb, 10, buflen ? PVS_DIR_TO_DEV : PVS_DIR_NONE, buflen, p);
}

static void pro(uint64_t i, uint8_t sa, uint8_t type, uint64_t res_key, uint64_t sa_key)
{
	pro_full(i, sa, type, res_key, sa_key, 0, 24, 24);
}

static void pri(uint64_t i, uint8_t sa, uint16_t alloc)
{
	uint8_t cdb[10] = {0x5e, sa};

	pvsi_put_be16(cdb + 7, alloc);
	run(&c, i, cdb, 10, PVS_DIR_FROM_DEV, sizeof(c.buf), NULL);
}

static uint32_t generation_from(uint64_t i)
{
	pri(i, 0, 8);
	CU_ASSERT_TRUE(is_good(&c));
	return pvsi_be32(c.buf);
}

static uint32_t generation(void)
{
	pri(IA, 0, 8);
	CU_ASSERT_TRUE(is_good(&c));
	return pvsi_be32(c.buf);
}

/* Fresh LUN; A, B and C have seen their power-on UA. */
static void fresh(void)
{
	char err[256];

	if (lun)
		pvs_lun_close(lun);
	lun = NULL;
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(w, "mem:1M", NULL, &lun, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvsi_ua_take(lun, IA), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(pvsi_ua_take(lun, IB), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(pvsi_ua_take(lun, IC), PVS_SR_UA_POWER_ON);
}

static int setup(void)
{
	return pvs_worker_new(16, &w) ? -1 : 0;
}

static int teardown(void)
{
	if (lun)
		pvs_lun_close(lun);
	lun = NULL;
	pvs_worker_free(w);
	return 0;
}

/* ---- SPC-2 RESERVE / RELEASE ---- */

static void test_spc2_reserve(void)
{
	fresh();
	RESERVE6(IA);
	CU_ASSERT_TRUE(is_good(&c));
	RESERVE6(IA); /* again by the holder */
	CU_ASSERT_TRUE(is_good(&c));

	read10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	CU_ASSERT_EQUAL(c.r.residual, 512);
	write10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	TUR(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IB, read_capacity, 10, PVS_DIR_FROM_DEV, 8);
	CU_ASSERT_TRUE(is_conflict(&c));
	pri(IB, 0, 64);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IB, REGISTER, 0, 0, KB);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IB, reserve10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_conflict(&c));

	/* Not affected by the reservation. */
	INQ(IB);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IB, request_sense, 6, PVS_DIR_FROM_DEV, 18);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IB, report_luns, 12, PVS_DIR_FROM_DEV, 256);
	CU_ASSERT_TRUE(is_good(&c));

	/* The holder works normally. */
	read10(IA);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IA);
	CU_ASSERT_TRUE(is_good(&c));

	/* RELEASE by a non-holder: GOOD, and the reservation stays. */
	RELEASE6(IB);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));

	simple(IA, release10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IB, reserve10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IA);
	CU_ASSERT_TRUE(is_conflict(&c));
	RELEASE6(IB);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IA);
	CU_ASSERT_TRUE(is_good(&c));
}

static void test_spc2_third_party(void)
{
	static const uint8_t res6_3rd[6] = {0x16, 0x10};
	static const uint8_t res10_3rd[10] = {0x56, 0x10, 0x07};
	static const uint8_t res10_longid[10] = {0x56, 0x02};
	static const uint8_t rel6_ext[6] = {0x17, 0x01};

	fresh();
	simple(IA, res6_3rd, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	simple(IA, res10_3rd, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	simple(IA, res10_longid, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	simple(IA, rel6_ext, 6, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	/* None of them reserved anything. */
	write10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	/* The handler rejects them itself too, whatever the dispatcher checks. */
	{
		struct pvs_req r;

		memset(&r, 0, sizeof(r));
		memcpy(r.cdb, res10_3rd, 10);
		r.cdb_len = 10;
		r.initiator = IA;
		CU_ASSERT_EQUAL(pvsi_pr_reserve(lun, &r), PVS_SR_INVALID_FIELD_IN_CDB);
		memcpy(r.cdb, res6_3rd, 6);
		CU_ASSERT_EQUAL(pvsi_pr_reserve(lun, &r), PVS_SR_INVALID_FIELD_IN_CDB);
		CU_ASSERT_FALSE(lun->pr.spc2_reserved);
	}
}

static void test_spc2_with_registrations(void)
{
	fresh();
	pro(IA, REGISTER, 0, 0, KA);
	CU_ASSERT_TRUE(is_good(&c));
	/* SPC-5 5.14.3: registrations exist, RESERVE/RELEASE conflict ... */
	RESERVE6(IA);
	CU_ASSERT_TRUE(is_conflict(&c));
	RESERVE6(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	RELEASE6(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	/* ... except from the persistent reservation holder: GOOD, no effect. */
	pro(IA, RESERVE, WE, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	RESERVE6(IA);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_FALSE(lun->pr.spc2_reserved);
	RELEASE6(IA);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_TRUE(lun->pr.pr_reserved);
	read10(IB); /* WE: B may still read */
	CU_ASSERT_TRUE(is_good(&c));
	/* A registrant under a registrants-only reservation: also a no-op. */
	pro(IA, RELEASE, WE, KA, 0);
	pro(IB, REGISTER, 0, 0, KB);
	pro(IA, RESERVE, WE_RO, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	RESERVE6(IB);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_FALSE(lun->pr.spc2_reserved);
}

/* ---- registration, READ KEYS, generation ---- */

static void test_register_read_keys(void)
{
	static const uint8_t empty[8] = {0};

	fresh();
	pri(IA, 0, 255);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(memcmp(c.buf, empty, 8), 0);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 8);

	pro(IA, REGISTER, 0, 0, KA);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(c.r.residual, 0);
	pro(IB, REGISTER, 0, 0, KB);
	CU_ASSERT_TRUE(is_good(&c));

	pri(IC, 0, 255);
	CU_ASSERT_TRUE(is_good(&c));
	{
		static const uint8_t want[24] = {
		    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10, /* gen 2, 16 bytes */
		    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, /* KA */
		    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbb, /* KB */
		};
		CU_ASSERT_EQUAL(memcmp(c.buf, want, 24), 0);
		CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 24);
	}

	/* Allocation length 12: truncated, ADDITIONAL LENGTH still 16. */
	pri(IC, 0, 12);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 16);
	CU_ASSERT_EQUAL(c.buf[11], 0xa4);
	CU_ASSERT_EQUAL(c.buf[12], 0x00);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 12);
	pri(IC, 0, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf));

	/* Wrong key: conflict, nothing changes. */
	pro(IA, REGISTER, 0, 0x1, KC);
	CU_ASSERT_TRUE(is_conflict(&c));
	CU_ASSERT_EQUAL(generation(), 2);
	/* An unregistered nexus must present key 0. */
	pro(IC, REGISTER, 0, 0x5, KC);
	CU_ASSERT_TRUE(is_conflict(&c));
	/* Unregistered, zero new key: GOOD and no change at all. */
	pro(IC, REGISTER, 0, 0, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), 2);

	/* Change A's key; then ignore the existing key entirely. */
	pro(IA, REGISTER, 0, KA, KC);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), 3);
	pro(IA, REGISTER_IGNORE, 0, 0x777, KA);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), 4);
	pro(IC, REGISTER_IGNORE, 0, 0x999, KC);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), 5);

	/* Unregister B. */
	pro(IB, REGISTER, 0, KB, 0);
	CU_ASSERT_TRUE(is_good(&c));
	pri(IB, 0, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf), 6);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 16);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 16), KC);

	/* RESERVE/RELEASE do not move the generation. */
	pro(IA, RESERVE, EA, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	pro(IA, RELEASE, EA, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), 6);
}

/* ---- reservation types ---- */

static void register_ab(void)
{
	pro(IA, REGISTER, 0, 0, KA);
	CU_ASSERT_TRUE(is_good(&c));
	pro(IB, REGISTER, 0, 0, KB);
	CU_ASSERT_TRUE(is_good(&c));
}

static void test_write_exclusive(void)
{
	fresh();
	register_ab();
	pro(IA, RESERVE, WE, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));

	pri(IB, 1, 255);
	CU_ASSERT_TRUE(is_good(&c));
	{
		static const uint8_t want[24] = {
		    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10, 0xa1, 0xa2, 0xa3, 0xa4,
		    0xa5, 0xa6, 0xa7, 0xa8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		};
		CU_ASSERT_EQUAL(memcmp(c.buf, want, 24), 0);
		CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 24);
	}

	/* Reads for everyone, writes for the holder only. */
	read10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IC);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IC, mode_sense, 6, PVS_DIR_FROM_DEV, 255);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	write10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IC, sync_cache, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	/* SBC-4 Table 13: VERIFY and PRE-FETCH are reads for this purpose. */
	simple(IC, verify10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IB, prefetch10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IA);
	CU_ASSERT_TRUE(is_good(&c));
	TUR(IC);
	CU_ASSERT_TRUE(is_good(&c));
	INQ(IC);
	CU_ASSERT_TRUE(is_good(&c));

	/* The holder may repeat but not change the type; others may not reserve. */
	pro(IA, RESERVE, WE, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	pro(IA, RESERVE, EA, KA, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IB, RESERVE, WE, KB, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IC, RESERVE, WE, 0, 0);
	CU_ASSERT_TRUE(is_conflict(&c));

	/* RELEASE: wrong type from the holder; non-holder no-op; unregistered conflict. */
	pro(IA, RELEASE, EA, KA, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x04));
	pro(IB, RELEASE, WE, KB, 0);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IC, RELEASE, WE, 0, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IA, RELEASE, WE, KB, 0); /* wrong key */
	CU_ASSERT_TRUE(is_conflict(&c));

	pro(IA, RELEASE, WE, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	pri(IB, 1, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 0);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 8);
	write10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	/* A WE release tells nobody. */
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IB), 0);
}

static void test_exclusive_access(void)
{
	fresh();
	register_ab();
	pro(IA, RESERVE, EA, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	read10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));
	write10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IB, mode_sense, 6, PVS_DIR_FROM_DEV, 255);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IB, verify10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	simple(IC, prefetch10, 10, PVS_DIR_NONE, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	/* SPC-5 Table 66 "allowed" rows. */
	TUR(IB);
	CU_ASSERT_TRUE(is_good(&c));
	INQ(IC);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IC, read_capacity, 10, PVS_DIR_FROM_DEV, 8);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IC, report_luns, 12, PVS_DIR_FROM_DEV, 256);
	CU_ASSERT_TRUE(is_good(&c));
	simple(IC, request_sense, 6, PVS_DIR_FROM_DEV, 18);
	CU_ASSERT_TRUE(is_good(&c));
	pri(IC, 1, 255);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(c.buf[21], EA);
	read10(IA);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IA);
	CU_ASSERT_TRUE(is_good(&c));
}

static void test_registrants_only(void)
{
	fresh();
	register_ab();
	pro(IA, RESERVE, WE_RO, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IB); /* registered */
	CU_ASSERT_TRUE(is_good(&c));
	write10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));
	read10(IC);
	CU_ASSERT_TRUE(is_good(&c));
	/* B registered but not the holder: RELEASE is a no-op. */
	pro(IB, RELEASE, WE_RO, KB, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_TRUE(lun->pr.pr_reserved);

	/* The holder releases a registrants-only reservation: B is told, A not. */
	pro(IA, RELEASE, WE_RO, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	TUR(IB);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x04));
	TUR(IB);
	CU_ASSERT_TRUE(is_good(&c));
	TUR(IA);
	CU_ASSERT_TRUE(is_good(&c));
	TUR(IC);
	CU_ASSERT_TRUE(is_good(&c));

	pro(IA, RESERVE, EA_RO, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	read10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));

	/* The holder unregisters: its RO reservation goes, registrants are told. */
	pro(IA, REGISTER, 0, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_FALSE(lun->pr.pr_reserved);
	TUR(IB);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x04));
	read10(IC);
	CU_ASSERT_TRUE(is_good(&c));
}

static void test_all_registrants(void)
{
	fresh();
	register_ab();
	pro(IA, RESERVE, WE_AR, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	/* Every registrant holds it: B writes, and READ RESERVATION shows key 0. */
	write10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));
	read10(IC);
	CU_ASSERT_TRUE(is_good(&c));
	pri(IC, 1, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 16);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), 0);
	CU_ASSERT_EQUAL(c.buf[21], WE_AR);
	pro(IB, RESERVE, WE_AR, KB, 0); /* a holder repeating it */
	CU_ASSERT_TRUE(is_good(&c));

	/* A leaves: the reservation stays while B is registered. */
	pro(IA, REGISTER, 0, KA, 0);
	CU_ASSERT_TRUE(lun->pr.pr_reserved);
	write10(IA);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IA, REGISTER, 0, 0, KA);
	/* B, a holder, releases: A (the other registrant) gets RESERVATIONS RELEASED. */
	pro(IB, RELEASE, WE_AR, KB, 0);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_FALSE(lun->pr.pr_reserved);
	TUR(IA);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x04));
	TUR(IB);
	CU_ASSERT_TRUE(is_good(&c));

	/* EA_AR: unregistered C may not even read; the last registrant leaving ends it. */
	pro(IA, RESERVE, EA_AR, KA, 0);
	read10(IC);
	CU_ASSERT_TRUE(is_conflict(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_good(&c));
	pro(IA, REGISTER, 0, KA, 0);
	pro(IB, REGISTER, 0, KB, 0);
	CU_ASSERT_FALSE(lun->pr.pr_reserved);
	read10(IC);
	CU_ASSERT_TRUE(is_good(&c));
}

/* ---- PREEMPT / CLEAR ---- */

static void test_preempt(void)
{
	uint32_t gen;

	fresh();
	register_ab();
	pro(IB, RESERVE, EA, KB, 0);
	gen = generation();

	/* Not registered, unknown key, zero key: refused. */
	pro(IC, PREEMPT, WE, 0, KB);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IA, PREEMPT, WE, KA, 0x1234);
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IA, PREEMPT, WE, KA, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x00));
	pro(IA, PREEMPT, 2, KA, KB); /* type 2 is obsolete */
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	CU_ASSERT_EQUAL(generation(), gen);

	/* A takes B's reservation and registration. */
	pro(IA, PREEMPT, WE, KA, KB);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation(), gen + 1);
	pri(IC, 0, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 8);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	pri(IC, 1, 255);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	CU_ASSERT_EQUAL(c.buf[21], WE);
	TUR(IB);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x05));
	TUR(IA);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
	read10(IB);
	CU_ASSERT_TRUE(is_good(&c));

	/* Without a reservation PREEMPT only removes registrations. */
	pro(IA, RELEASE, WE, KA, 0);
	pro(IC, REGISTER, 0, 0, KC);
	pro(IA, PREEMPT, EA, KA, KC);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_FALSE(lun->pr.pr_reserved);
	pri(IA, 0, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 8);
	TUR(IC);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x05));

	/* Under all-registrants, key 0 removes everyone else and reserves anew. */
	pro(IB, REGISTER, 0, 0, KB);
	pro(IC, REGISTER, 0, 0, KC);
	pro(IB, RESERVE, WE_AR, KB, 0);
	pro(IA, PREEMPT, EA, KA, 0);
	CU_ASSERT_TRUE(is_good(&c));
	pri(IA, 0, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 8);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	pri(IA, 1, 255);
	CU_ASSERT_EQUAL(c.buf[21], EA);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	TUR(IB);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x05));
	TUR(IC);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x05));
	read10(IB);
	CU_ASSERT_TRUE(is_conflict(&c));
}

/* PREEMPT AND ABORT: B's read, held in the store, ends ABORTED. */
static struct pvs_req *held;

static void hold_readv(struct pvs_lun *l, struct pvs_req *req, uint64_t off,
                       const struct iovec *iov, unsigned int cnt)
{
	(void)l;
	(void)off;
	(void)iov;
	(void)cnt;
	held = req;
}

static int hold_cancel(struct pvs_lun *l, struct pvs_req *req)
{
	(void)l;
	(void)req;
	return -1;
}

static void test_preempt_and_abort(void)
{
	static const uint8_t rd[10] = {0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0};
	const struct pvsi_store_ops *orig;
	struct pvsi_store_ops hold;
	struct cmd victim;

	fresh();
	register_ab();
	pro(IB, RESERVE, WE, KB, 0);
	orig = lun->store;
	hold = *orig;
	hold.readv = hold_readv;
	hold.cancel = hold_cancel;
	lun->store = &hold;
	held = NULL;
	start(&victim, IB, rd, 10, PVS_DIR_FROM_DEV, 512, NULL);
	CU_ASSERT_PTR_EQUAL_FATAL(held, &victim.r);
	lun->store = orig;

	pro(IA, PREEMPT_ABORT, EA, KA, KB);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT(victim.r.core.flags & PVSI_RF_ABORTED);
	CU_ASSERT_EQUAL(victim.ndone, 0);
	pvsi_store_done(held, 512);
	CU_ASSERT_EQUAL(victim.ndone, 1);
	CU_ASSERT_EQUAL(victim.r.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(victim.r.residual, 512);
	CU_ASSERT_EQUAL(lun->pr.pr_holder, IA);
	CU_ASSERT_EQUAL(lun->pr.pr_type, EA);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
}

static void test_clear(void)
{
	uint32_t gen;

	fresh();
	register_ab();
	pro(IA, RESERVE, WE_RO, KA, 0);
	gen = generation();
	pro(IB, CLEAR, 0, KA, 0); /* B with A's key */
	CU_ASSERT_TRUE(is_conflict(&c));
	pro(IC, CLEAR, 0, 0, 0);
	CU_ASSERT_TRUE(is_conflict(&c));
	CU_ASSERT_EQUAL(generation(), gen);

	pro(IB, CLEAR, 0, KB, 0); /* any registrant may clear */
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(generation_from(IB), gen + 1);
	pri(IC, 0, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 0);
	pri(IC, 1, 255);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 0);
	TUR(IA);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x03));
	TUR(IB);
	CU_ASSERT_TRUE(is_good(&c));
	write10(IC);
	CU_ASSERT_TRUE(is_good(&c));
}

/* ---- parameter list and CDB errors ---- */

static void test_param_errors(void)
{
	uint8_t cdb[10] = {0x5f, 0x07};

	fresh();
	pro_full(IA, REGISTER, 0, 0, KA, 0, 0, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x1a, 0x00));
	pro_full(IA, REGISTER, 0, 0, KA, 0, 23, 23);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x1a, 0x00));
	pro_full(IA, REGISTER, 0, 0, KA, 0, 25, 25);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x1a, 0x00));
	/* The CDB says 24 but the buffer holds only 16. */
	pro_full(IA, REGISTER, 0, 0, KA, 0, 24, 16);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x1a, 0x00));
	/* SPEC_I_PT, ALL_TG_PT, APTPL: capabilities not offered. */
	pro_full(IA, REGISTER, 0, 0, KA, 0x08, 24, 24);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x00));
	CU_ASSERT_EQUAL(c.r.sense[15], 0x80 | 0x08 | 3); /* SKSV, param list, BPV, bit 3 */
	CU_ASSERT_EQUAL(pvsi_be16(c.r.sense + 16), 20);
	pro_full(IA, REGISTER, 0, 0, KA, 0x04, 24, 24);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x00));
	pro_full(IA, REGISTER, 0, 0, KA, 0x01, 24, 24);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x00));
	CU_ASSERT_EQUAL(generation(), 0);

	pro(IA, REGISTER, 0, 0, KA);
	CU_ASSERT_TRUE(is_good(&c));
	pro(IA, RESERVE, 0x10 | WE, KA, 0); /* scope 1 */
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	pro(IA, RESERVE, 0, KA, 0); /* type 0 */
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	pro(IA, RESERVE, 9, KA, 0);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	CU_ASSERT_FALSE(lun->pr.pr_reserved);

	/* REGISTER AND MOVE is not offered; neither are unknown service actions. */
	pvsi_put_be32(cdb + 5, 24);
	run(&c, IA, cdb, 10, PVS_DIR_TO_DEV, 24, NULL);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	pri(IA, 4, 255);
	CU_ASSERT_TRUE(is_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00));
	/* And the handlers say so themselves, whatever the dispatcher checks. */
	{
		struct pvs_req r;

		memset(&r, 0, sizeof(r));
		memcpy(r.cdb, cdb, 10);
		r.cdb_len = 10;
		r.initiator = IA;
		CU_ASSERT_EQUAL(pvsi_pr_out(lun, &r), PVS_SR_INVALID_FIELD_IN_CDB);
		r.cdb[0] = 0x5e;
		r.cdb[1] = 0x1f;
		CU_ASSERT_EQUAL(pvsi_pr_in(lun, &r), PVS_SR_INVALID_FIELD_IN_CDB);
	}
}

static void test_report_capabilities_and_full_status(void)
{
	static const uint8_t caps[8] = {0x00, 0x08, 0x10, 0x90, 0xea, 0x01, 0x00, 0x00};

	fresh();
	pri(IA, 2, 255);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(memcmp(c.buf, caps, 8), 0);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 8);
	pri(IA, 2, 4);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 4);

	register_ab();
	pro(IB, RESERVE, EA_RO, KB, 0);
	pri(IC, 3, 4096);
	CU_ASSERT_TRUE(is_good(&c));
	CU_ASSERT_EQUAL(pvsi_be32(c.buf), 2);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 4), 96);
	CU_ASSERT_EQUAL(c.r.residual, sizeof(c.buf) - 104);
	/* A: registered, not the holder. */
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8), KA);
	CU_ASSERT_EQUAL(c.buf[8 + 12], 0x00);
	CU_ASSERT_EQUAL(pvsi_be16(c.buf + 8 + 18), 1);
	CU_ASSERT_EQUAL(pvsi_be32(c.buf + 8 + 20), 24);
	CU_ASSERT_EQUAL(c.buf[8 + 24], 0x06);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 8 + 28), IA);
	/* B: the holder, with the type. */
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 56), KB);
	CU_ASSERT_EQUAL(c.buf[56 + 12], 0x01);
	CU_ASSERT_EQUAL(c.buf[56 + 13], EA_RO);
	CU_ASSERT_EQUAL(pvsi_be64(c.buf + 56 + 28), IB);
}

/* The initiator table is full: a 65th initiator cannot register. */
static void test_registration_resources(void)
{
	fresh();
	for (uint64_t i = 0; i < PVSI_MAX_INITIATORS; i++)
		pvsi_initiator_slot(lun, 0x100 + i);
	pro(0x9999, REGISTER, 0, 0, KC);
	/* Its first command cannot get a UA slot either: TASK SET FULL. */
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_TASK_SET_FULL);
	CU_ASSERT_EQUAL(generation(), 0);
	{
		struct pvs_req r;
		uint8_t p[24] = {0};
		struct iovec iov = {p, sizeof(p)};

		memset(&r, 0, sizeof(r));
		r.cdb[0] = 0x5f;
		pvsi_put_be32(r.cdb + 5, 24);
		r.cdb_len = 10;
		r.initiator = 0x9999;
		pvsi_put_be64(p + 8, KC);
		r.iov = &iov;
		r.iovcnt = 1;
		CU_ASSERT_EQUAL(pvsi_pr_out(lun, &r), PVS_SR_INSUFFICIENT_REG_RESOURCES);
	}
}

static const struct cu_test spc2_tests[] = {
    {"RESERVE/RELEASE between two initiators", test_spc2_reserve},
    {"third-party and extent bits", test_spc2_third_party},
    {"with registrations (CRH)", test_spc2_with_registrations},
};

static const struct cu_test register_tests[] = {
    {"REGISTER, READ KEYS, generation", test_register_read_keys},
    {"registration resources", test_registration_resources},
};

static const struct cu_test types_tests[] = {
    {"Write Exclusive", test_write_exclusive},
    {"Exclusive Access", test_exclusive_access},
    {"registrants only", test_registrants_only},
    {"all registrants", test_all_registrants},
};

static const struct cu_test preempt_clear_tests[] = {
    {"PREEMPT", test_preempt},
    {"PREEMPT AND ABORT", test_preempt_and_abort},
    {"CLEAR", test_clear},
};

static const struct cu_test errors_and_in_tests[] = {
    {"parameter list and CDB errors", test_param_errors},
    {"REPORT CAPABILITIES, READ FULL STATUS", test_report_capabilities_and_full_status},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("spc2", setup, teardown, spc2_tests),
	    CU_SUITE("register", setup, teardown, register_tests),
	    CU_SUITE("types", setup, teardown, types_tests),
	    CU_SUITE("preempt_clear", setup, teardown, preempt_clear_tests),
	    CU_SUITE("errors_and_in", setup, teardown, errors_and_in_tests),
	};

	return CU_RUN_SUITES(suites);
}
