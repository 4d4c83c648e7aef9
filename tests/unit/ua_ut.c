/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ua_ut.c - unit attention conditions (ua.c): the per-initiator bitmap and
 * its precedence, and what initiators see through real CDBs on a mem LUN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"

#define IA 0x1001
#define IB 0x2002
#define IC 0x3003
#define ID 0x4004

#define BIT(sr) (1u << ((sr)-PVS_SR_UA_POWER_ON))

/* ---- bitmap level, on a bare LUN object ---- */

static const struct pvsi_opcode op_plain = {.opcode = 0x00, .cdb_len = 6, .name = "PLAIN"};
static const struct pvsi_opcode op_ua_ok = {
    .opcode = 0x12, .cdb_len = 6, .flags = PVSI_OP_UA_OK, .name = "UA_OK"};

static struct pvs_lun *bare;

static int bare_setup(void)
{
	bare = calloc(1, sizeof(*bare));
	return bare ? 0 : -1;
}

static int bare_teardown(void)
{
	free(bare);
	return 0;
}

static int check(uint64_t initiator, const struct pvsi_opcode *op)
{
	struct pvs_req r;

	memset(&r, 0, sizeof(r));
	r.initiator = initiator;
	return pvsi_ua_check(bare, &r, op);
}

static void test_power_on_once(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_OK);
	CU_ASSERT_EQUAL(check(IB, &op_plain), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(check(IB, &op_plain), PVS_SR_OK);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_OK);
}

static void test_ua_ok_neither_reports_nor_clears(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	CU_ASSERT_EQUAL(check(IC, &op_ua_ok), PVS_SR_OK);
	CU_ASSERT_EQUAL(check(IC, &op_ua_ok), PVS_SR_OK);
	/* Still pending for the first ordinary command. */
	CU_ASSERT_EQUAL(check(IC, &op_plain), PVS_SR_UA_POWER_ON);
	/* An unknown opcode (no table entry) is not exempt. */
	CU_ASSERT_EQUAL(check(ID, NULL), PVS_SR_UA_POWER_ON);
}

static void test_raise_all_and_except(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	check(IA, &op_plain);
	check(IB, &op_plain);
	pvsi_ua_raise_all(bare, PVS_SR_UA_CAPACITY_CHANGED, UINT64_MAX);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IA), BIT(PVS_SR_UA_CAPACITY_CHANGED));
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_CAPACITY_CHANGED);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_OK);
	CU_ASSERT_EQUAL(check(IB, &op_plain), PVS_SR_UA_CAPACITY_CHANGED);
	CU_ASSERT_EQUAL(check(IB, &op_plain), PVS_SR_OK);

	pvsi_ua_raise_all(bare, PVS_SR_UA_MODE_PARAMS_CHANGED, IA);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IA), 0);
	CU_ASSERT_EQUAL(check(IB, &op_plain), PVS_SR_UA_MODE_PARAMS_CHANGED);

	/* Raising for one initiator; an unseen one is not given a slot. */
	pvsi_ua_raise(bare, IA, PVS_SR_UA_NEXUS_LOSS);
	pvsi_ua_raise(bare, ID, PVS_SR_UA_NEXUS_LOSS);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IA), BIT(PVS_SR_UA_NEXUS_LOSS));
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IB), 0);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, ID), 0);
	/* Its first command then reports POWER ON, the more general reset. */
	CU_ASSERT_EQUAL(check(ID, &op_plain), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(check(ID, &op_plain), PVS_SR_OK);

	/* Non-UA reasons are ignored. */
	pvsi_ua_raise_all(bare, PVS_SR_INVALID_OPCODE, UINT64_MAX);
	pvsi_ua_raise(bare, IB, PVS_SR__COUNT);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IB), 0);
}

static void test_precedence(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	check(IA, &op_plain);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_LUNS_CHANGED);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_CAPACITY_CHANGED);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_RESERVATIONS_PREEMPTED);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_LUN_RESET);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_LUN_RESET); /* pending once, reported once */
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_LUN_RESET);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_RESERVATIONS_PREEMPTED);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_CAPACITY_CHANGED);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_UA_LUNS_CHANGED);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_OK);
}

static void test_take_and_clear(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	/* REQUEST SENSE as the very first command reports POWER ON. */
	CU_ASSERT_EQUAL(pvsi_ua_take(bare, IA), PVS_SR_UA_POWER_ON);
	CU_ASSERT_EQUAL(pvsi_ua_take(bare, IA), PVS_SR_OK);
	CU_ASSERT_EQUAL(check(IA, &op_plain), PVS_SR_OK);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_LUNS_CHANGED);
	pvsi_ua_raise(bare, IA, PVS_SR_UA_MODE_PARAMS_CHANGED);
	pvsi_ua_clear(bare, IA, PVS_SR_UA_LUNS_CHANGED);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IA), BIT(PVS_SR_UA_MODE_PARAMS_CHANGED));
	CU_ASSERT_EQUAL(pvsi_ua_take(bare, IA), PVS_SR_UA_MODE_PARAMS_CHANGED);
	CU_ASSERT_EQUAL(pvsi_ua_pending(bare, IA), 0);
}

static void test_full_table(void)
{
	memset(bare->initiators, 0, sizeof(bare->initiators));
	for (uint64_t i = 0; i < PVSI_MAX_INITIATORS; i++)
		CU_ASSERT_EQUAL(check(0x100 + i, &op_plain), PVS_SR_UA_POWER_ON);
	/* The 65th I_T nexus cannot be tracked: TASK SET FULL, never a crash. */
	CU_ASSERT_EQUAL(check(0x9999, &op_plain), PVS_SR_TASK_SET_FULL);
	CU_ASSERT_EQUAL(check(0x9999, &op_ua_ok), PVS_SR_OK);
	CU_ASSERT_EQUAL(pvsi_ua_take(bare, 0x9999), PVS_SR_OK);
	pvsi_ua_raise(bare, 0x9999, PVS_SR_UA_LUN_RESET);
	pvsi_ua_raise_all(bare, PVS_SR_UA_LUN_RESET, UINT64_MAX);
	CU_ASSERT_EQUAL(check(0x100, &op_plain), PVS_SR_UA_LUN_RESET);
	CU_ASSERT_EQUAL(check(0x100 + PVSI_MAX_INITIATORS - 1, &op_plain), PVS_SR_UA_LUN_RESET);
}

/* ---- through CDBs on a mem LUN ---- */

static struct pvs_worker *w;
static struct pvs_lun *mem;

struct cmd {
	struct pvs_req r;
	struct iovec iov;
	uint8_t buf[256];
	int ndone;
};

static void cmd_done(struct pvs_req *r)
{
	((struct cmd *)r->opaque)->ndone++;
}

static void run(struct cmd *c, uint64_t initiator, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
                size_t len, const void *out)
{
	memset(c, 0, sizeof(*c));
	if (out)
		memcpy(c->buf, out, len);
	lh_req_init(&c->r, &c->iov, initiator, cdb, cdb_len, dir, c->buf, len, cmd_done, c);
	pvs_submit(mem, &c->r);
	for (int i = 0; i < 100 && !c->ndone; i++)
		pvs_worker_wait(w, 100);
	CU_ASSERT_EQUAL(c->ndone, 1);
}

static const uint8_t cdb_tur[6] = {0x00};
static const uint8_t cdb_inquiry[6] = {0x12, 0, 0, 0, 36, 0};
static const uint8_t cdb_request_sense[6] = {0x03, 0, 0, 0, 18, 0};

/* Status CHECK CONDITION with fixed sense key/asc/ascq. */
static void assert_sense(const struct cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	CU_ASSERT_EQUAL(c->r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c->r.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_TRUE(c->r.sense_len >= 14);
	CU_ASSERT_EQUAL(c->r.sense[0] & 0x7f, 0x70);
	CU_ASSERT_EQUAL(c->r.sense[2] & 0x0f, key);
	CU_ASSERT_EQUAL(c->r.sense[12], asc);
	CU_ASSERT_EQUAL(c->r.sense[13], ascq);
}

static void assert_good(const struct cmd *c)
{
	CU_ASSERT_EQUAL(c->r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c->r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c->r.sense_len, 0);
}

/* TEST UNIT READY from @initiator: CHECK CONDITION, UNIT ATTENTION @asc/@ascq. */
static void tur_ua(struct cmd *c, uint64_t initiator, uint8_t asc, uint8_t ascq)
{
	run(c, initiator, cdb_tur, 6, PVS_DIR_NONE, 0, NULL);
	assert_sense(c, PVS_KEY_UNIT_ATTENTION, asc, ascq);
}

/* TEST UNIT READY from @initiator: GOOD. */
static void tur_good(struct cmd *c, uint64_t initiator)
{
	run(c, initiator, cdb_tur, 6, PVS_DIR_NONE, 0, NULL);
	assert_good(c);
}

static int mem_setup(void)
{
	char err[256];

	if (pvs_worker_new(8, &w))
		return -1;
	if (pvs_lun_open(w, "mem:1M", NULL, &mem, err, sizeof(err))) {
		fprintf(stderr, "mem LUN: %s\n", err);
		return -1;
	}
	return 0;
}

static int mem_teardown(void)
{
	pvs_lun_close(mem);
	pvs_worker_free(w);
	return 0;
}

static void test_cdb_power_on(void)
{
	struct cmd c;

	tur_ua(&c, IA, 0x29, 0x00);
	tur_good(&c, IA);
	/* Each initiator sees it once. */
	tur_ua(&c, IB, 0x29, 0x00);
	tur_good(&c, IB);
}

static void test_cdb_inquiry_keeps_ua(void)
{
	struct cmd c;

	run(&c, IC, cdb_inquiry, 6, PVS_DIR_FROM_DEV, 36, NULL);
	assert_good(&c);
	CU_ASSERT_EQUAL(c.buf[0] & 0x1f, 0x00); /* direct-access block device */
	tur_ua(&c, IC, 0x29, 0x00);
	tur_good(&c, IC);
}

static void test_cdb_request_sense_takes_ua(void)
{
	struct cmd c;

	run(&c, ID, cdb_request_sense, 6, PVS_DIR_FROM_DEV, 18, NULL);
	assert_good(&c);
	CU_ASSERT_EQUAL(c.buf[0] & 0x7f, 0x70);
	CU_ASSERT_EQUAL(c.buf[2] & 0x0f, PVS_KEY_UNIT_ATTENTION);
	CU_ASSERT_EQUAL(c.buf[12], 0x29);
	CU_ASSERT_EQUAL(c.buf[13], 0x00);
	/* Cleared: the next command runs, the next REQUEST SENSE has nothing. */
	tur_good(&c, ID);
	run(&c, ID, cdb_request_sense, 6, PVS_DIR_FROM_DEV, 18, NULL);
	assert_good(&c);
	CU_ASSERT_EQUAL(c.buf[2] & 0x0f, PVS_KEY_NO_SENSE);
	CU_ASSERT_EQUAL(c.buf[12], 0);
}

static void test_cdb_capacity_changed_to_all(void)
{
	struct cmd c;

	/* mem storage never changes size: refresh raises nothing. */
	CU_ASSERT_EQUAL(pvs_lun_refresh_capacity(mem), 0);
	tur_good(&c, IA);

	pvsi_ua_raise_all(mem, PVS_SR_UA_CAPACITY_CHANGED, UINT64_MAX);
	tur_ua(&c, IA, 0x2a, 0x09);
	tur_good(&c, IA);
	tur_ua(&c, IB, 0x2a, 0x09);
	tur_good(&c, IB);
}

static void test_cdb_precedence(void)
{
	struct cmd c;

	pvsi_ua_raise(mem, IA, PVS_SR_UA_LUNS_CHANGED);
	pvsi_ua_raise(mem, IA, PVS_SR_UA_LUN_RESET);
	tur_ua(&c, IA, 0x29, 0x03);
	tur_ua(&c, IA, 0x3f, 0x0e);
	tur_good(&c, IA);
}

/* MODE SELECT(6) of the caching page (08h), as MODE SENSE returned it, with WCE set or not. */
static void mode_select_wce(struct cmd *c, uint64_t initiator, int wce)
{
	static const uint8_t sense_cdb[6] = {0x1a, 0x08, 0x08, 0, 255, 0}; /* DBD, page 08h */
	uint8_t cdb[6] = {0x15, 0x10, 0, 0, 0, 0};                         /* PF=1 */
	uint8_t page[64];
	size_t plen;

	run(c, initiator, sense_cdb, 6, PVS_DIR_FROM_DEV, 255, NULL);
	assert_good(c);
	plen = (size_t)c->buf[0] + 1;
	CU_ASSERT_TRUE_FATAL(plen >= 4 + 20 && plen <= sizeof(page));
	CU_ASSERT_EQUAL_FATAL(c->buf[4] & 0x3f, 0x08);
	memcpy(page, c->buf, plen);
	page[0] = 0;     /* MODE DATA LENGTH is reserved in MODE SELECT */
	page[4] &= 0x7f; /* and so is PS */
	page[6] = (uint8_t)((page[6] & ~0x04) | (wce ? 0x04 : 0));
	cdb[4] = (uint8_t)plen;
	run(c, initiator, cdb, 6, PVS_DIR_TO_DEV, plen, page);
}

static void test_cdb_mode_select_tells_others(void)
{
	struct cmd c;

	/* Clear whatever is pending for A and B. */
	while (pvsi_ua_take(mem, IA) != PVS_SR_OK)
		;
	while (pvsi_ua_take(mem, IB) != PVS_SR_OK)
		;
	mode_select_wce(&c, IA, 0);
	assert_good(&c);
	CU_ASSERT_FALSE(mem->wce);
	/* SPC-5 5.14 / 7.5: the other I_T nexuses learn of the change, not A. */
	tur_good(&c, IA);
	tur_ua(&c, IB, 0x2a, 0x01);
	mode_select_wce(&c, IA, 1);
	assert_good(&c);
	CU_ASSERT_TRUE(mem->wce);
}

static const struct cu_test bitmap_tests[] = {
    {"power on once per initiator", test_power_on_once},
    {"UA_OK commands", test_ua_ok_neither_reports_nor_clears},
    {"raise_all / except / raise", test_raise_all_and_except},
    {"precedence", test_precedence},
    {"take and clear", test_take_and_clear},
    {"full initiator table", test_full_table},
};

static const struct cu_test cdb_tests[] = {
    {"power on via TEST UNIT READY", test_cdb_power_on},
    {"INQUIRY keeps the UA", test_cdb_inquiry_keeps_ua},
    {"REQUEST SENSE takes the UA", test_cdb_request_sense_takes_ua},
    {"capacity changed to all", test_cdb_capacity_changed_to_all},
    {"precedence", test_cdb_precedence},
    {"MODE SELECT tells the others", test_cdb_mode_select_tells_others},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("bitmap", bare_setup, bare_teardown, bitmap_tests),
	    CU_SUITE("cdb", mem_setup, mem_teardown, cdb_tests),
	};

	return CU_RUN_SUITES(suites);
}
