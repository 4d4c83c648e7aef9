/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * map_ut.c - the v-dev map (map.c): add/remove/lookup at scale, REPORT
 * LUNS from the map with every allocation-length edge, target emulation
 * for unmapped LUNs, no-target routing, LUN inventory unit attentions, and
 * REPORT LUNS passed through to a raw passthrough LUN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "core.h"
#include "cu_run.h"
#include "fake_sg.h"
#include "lun_harness.h"
#include "passthrough.h"

#define IA 0xa
#define IB 0xb

#define NLUNS 300

/* ---- bare LUNs whose submit records and completes at once ---- */

static struct pvs_lun *last_submit_lun;
static unsigned int nsubmit;

static void rec_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	last_submit_lun = lun;
	nsubmit++;
	pvsi_req_complete(req, PVS_SR_OK);
}

static const struct pvsi_lun_ops rec_ops = {.kind = "rec", .submit = rec_submit};

static struct pvs_lun *new_bare(void)
{
	struct pvs_lun *l = calloc(1, sizeof(*l));

	if (l) {
		l->ops = &rec_ops;
		l->fd = -1;
	}
	return l;
}

/* ---- requests ---- */

struct cmd {
	struct pvs_req r;
	struct iovec iov;
	int ndone;
};

static void cmd_done(struct pvs_req *r)
{
	((struct cmd *)r->opaque)->ndone++;
}

static uint8_t big[0x10000];

static void cmd_init(struct cmd *c, uint64_t initiator, const uint8_t *cdb, uint8_t cdb_len,
                     size_t len)
{
	memset(c, 0, sizeof(*c));
	memset(big, 0xee, sizeof(big)); /* shows bytes the target did not write */
	lh_req_init(&c->r, &c->iov, initiator, cdb, cdb_len, len ? PVS_DIR_FROM_DEV : PVS_DIR_NONE,
	            big, len, cmd_done, c);
}

/* cmd_init from IA, then pvs_map_submit through @m to (@chn, @tgt, @lun): what it returns. */
static int map_cmd(struct cmd *c, struct pvs_map *m, uint32_t chn, uint32_t tgt, uint32_t lun,
                   const uint8_t *cdb, uint8_t cdb_len, size_t len)
{
	cmd_init(c, IA, cdb, cdb_len, len);
	return pvs_map_submit(m, chn, tgt, lun, &c->r);
}

static void report_luns_cdb(uint8_t cdb[12], uint8_t select, uint32_t alloc)
{
	memset(cdb, 0, 12);
	cdb[0] = 0xa0;
	cdb[2] = select;
	pvsi_put_be32(cdb + 6, alloc);
}

static void assert_check(const struct cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	CU_ASSERT_EQUAL(c->ndone, 1);
	CU_ASSERT_EQUAL(c->r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c->r.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_TRUE(c->r.sense_len >= 18);
	CU_ASSERT_EQUAL(c->r.sense[2] & 0x0f, key);
	CU_ASSERT_EQUAL(c->r.sense[12], asc);
	CU_ASSERT_EQUAL(c->r.sense[13], ascq);
}

/* ---- fixture: 300 LUNs on (0,0), LUN numbers below and above 256 ---- */

static struct pvs_map *map;
static struct pvs_lun *luns[NLUNS];
static uint32_t lunno[NLUNS]; /* ascending */
static struct pvs_lun *other_target, *other_channel;

static uint32_t lun_number(unsigned int i)
{
	/* 0..199 peripheral, then 100 flat-space LUNs from 256 up to 3919. */
	return i < 200 ? i : 256 + (i - 200) * 37;
}

static int setup(void)
{
	if (pvs_map_new(&map))
		return -1;
	for (unsigned int i = 0; i < NLUNS; i++) {
		lunno[i] = lun_number(i);
		luns[i] = new_bare();
		if (!luns[i])
			return -1;
	}
	/* Insert in a scrambled order: the map keeps them sorted. */
	for (unsigned int k = 0; k < NLUNS; k++) {
		unsigned int i = (k * 7) % NLUNS; /* 7 is coprime with 300 */

		if (pvs_map_add(map, 0, 0, lunno[i], luns[i]))
			return -1;
	}
	other_target = new_bare();
	other_channel = new_bare();
	if (pvs_map_add(map, 0, 1, 5, other_target) || pvs_map_add(map, 1, 0, 0, other_channel))
		return -1;
	return 0;
}

static int teardown(void)
{
	pvs_map_free(map);
	for (unsigned int i = 0; i < NLUNS; i++)
		free(luns[i]);
	free(other_target);
	free(other_channel);
	return 0;
}

/* ---- add / lookup ---- */

static void test_add_lookup(void)
{
	struct pvs_lun *x = new_bare();

	CU_ASSERT_EQUAL(pvs_map_count(map), NLUNS + 2);
	for (unsigned int i = 0; i < NLUNS; i++)
		CU_ASSERT_PTR_EQUAL(pvs_map_lookup(map, 0, 0, lunno[i]), luns[i]);
	CU_ASSERT_PTR_NULL(pvs_map_lookup(map, 0, 0, 200));
	CU_ASSERT_PTR_NULL(pvs_map_lookup(map, 0, 0, 257));
	CU_ASSERT_PTR_NULL(pvs_map_lookup(map, 0, 2, 0));
	CU_ASSERT_PTR_EQUAL(pvs_map_lookup(map, 0, 1, 5), other_target);
	CU_ASSERT_PTR_EQUAL(pvs_map_lookup(map, 1, 0, 0), other_channel);

	CU_ASSERT_EQUAL(pvs_map_add(map, 0, 0, 7, x), -EEXIST);
	CU_ASSERT_EQUAL(pvs_map_add(map, 0, 0, PVS_MAP_MAX_LUN + 1, x), -EINVAL);
	CU_ASSERT_EQUAL(pvs_map_add(map, 0, 0, 16000, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pvs_map_remove(map, 0, 0, 200, NULL), -ENOENT);
	CU_ASSERT_EQUAL(pvs_map_count(map), NLUNS + 2);
	free(x);
}

/* ---- REPORT LUNS ---- */

static void expect_entry(const uint8_t *e, uint32_t lun)
{
	static const uint8_t zero[6];

	if (lun < 256) {
		CU_ASSERT_EQUAL(e[0], 0x00);
		CU_ASSERT_EQUAL(e[1], lun);
	} else {
		CU_ASSERT_EQUAL(e[0], 0x40 | (lun >> 8));
		CU_ASSERT_EQUAL(e[1], lun & 0xff);
	}
	CU_ASSERT_EQUAL(memcmp(e + 2, zero, 6), 0);
}

static void report(struct cmd *c, uint32_t lun, uint8_t select, uint32_t alloc, size_t buflen)
{
	uint8_t cdb[12];

	report_luns_cdb(cdb, select, alloc);
	CU_ASSERT_EQUAL(map_cmd(c, map, 0, 0, lun, cdb, 12, buflen), 0);
}

static void test_report_luns_full(void)
{
	struct cmd c;
	uint32_t full = 8 + 8 * NLUNS;

	report(&c, 0, 0, full, full);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 0);
	CU_ASSERT_EQUAL(pvsi_be32(big), 8 * NLUNS);
	CU_ASSERT_EQUAL(pvsi_be32(big + 4), 0);
	for (unsigned int i = 0; i < NLUNS; i++)
		expect_entry(big + 8 + 8 * i, lunno[i]);
	/* Spot values: 255 peripheral would be 00 FF; 256 flat 41 00; 3919 = 0xF4F. */
	CU_ASSERT_EQUAL(big[8 + 8 * 199 + 1], 199);
	CU_ASSERT_EQUAL(big[8 + 8 * 200], 0x41);
	CU_ASSERT_EQUAL(big[8 + 8 * 200 + 1], 0x00);
	CU_ASSERT_EQUAL(big[8 + 8 * 299], 0x4f);
	CU_ASSERT_EQUAL(big[8 + 8 * 299 + 1], 0x4f);
	/* Nothing from the other target or channel. */
	CU_ASSERT_EQUAL(nsubmit, 0);

	/* Addressed to a mapped LUN other than 0: same answer, from the map. */
	report(&c, 256, 2, full, full);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(pvsi_be32(big), 8 * NLUNS);
	CU_ASSERT_EQUAL(nsubmit, 0);
}

static void test_report_luns_alloc(void)
{
	struct cmd c;
	uint32_t full = 8 + 8 * NLUNS;

	/* 16: header and the first LUN; LUN LIST LENGTH still the whole list. */
	report(&c, 0, 0, 16, 4096);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 4096 - 16);
	CU_ASSERT_EQUAL(pvsi_be32(big), 8 * NLUNS);
	expect_entry(big + 8, 0);
	CU_ASSERT_EQUAL(big[16], 0xee);

	/* 17: one byte of the second entry. */
	report(&c, 0, 0, 17, 4096);
	CU_ASSERT_EQUAL(c.r.residual, 4096 - 17);
	CU_ASSERT_EQUAL(big[16], 0x00);
	CU_ASSERT_EQUAL(big[17], 0xee);

	/* 24: two entries. */
	report(&c, 0, 0, 24, 4096);
	CU_ASSERT_EQUAL(c.r.residual, 4096 - 24);
	expect_entry(big + 16, 1);
	CU_ASSERT_EQUAL(big[24], 0xee);

	/* 0xFFFF: the whole list and no more. */
	report(&c, 0, 0, 0xffff, 0xffff);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 0xffff - full);
	expect_entry(big + 8 + 8 * (NLUNS - 1), lunno[NLUNS - 1]);
	CU_ASSERT_EQUAL(big[full], 0xee);

	/* Buffer shorter than the allocation length: stops at the buffer. */
	report(&c, 0, 0, 0xffff, 100);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 0);
	CU_ASSERT_EQUAL(big[100], 0xee);
	expect_entry(big + 8 + 8 * 10, 10);

	/* Select report 01h: well-known LUNs only, and there are none. */
	report(&c, 0, 1, 4096, 4096);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(pvsi_be32(big), 0);
	CU_ASSERT_EQUAL(c.r.residual, 4096 - 8);
}

static void test_report_luns_invalid(void)
{
	struct cmd c;
	uint8_t cdb[12];

	for (uint32_t alloc = 0; alloc < 16; alloc += 5) {
		report(&c, 0, 0, alloc, 4096);
		assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		/* Field pointer: CDB byte 6 (SKSV, C/D set). */
		CU_ASSERT_EQUAL(c.r.sense[15] & 0xc0, 0xc0);
		CU_ASSERT_EQUAL(pvsi_be16(c.r.sense + 16), 6);
		CU_ASSERT_EQUAL(c.r.residual, 4096);
		CU_ASSERT_EQUAL(big[0], 0xee);
	}
	report(&c, 0, 3, 4096, 4096);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	CU_ASSERT_EQUAL(pvsi_be16(c.r.sense + 16), 2);
	report(&c, 0, 0x10, 4096, 4096);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);

	/* A 6-byte "REPORT LUNS" cannot carry an allocation length. */
	report_luns_cdb(cdb, 0, 4096);
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 0, cdb, 6, 4096), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
}

/* ---- unmapped LUNs and missing targets ---- */

static void test_unmapped_inquiry(void)
{
	static const uint8_t std[6] = {0x12, 0, 0, 0, 96, 0};
	static const uint8_t std5[6] = {0x12, 0, 0, 0, 5, 0};
	static const uint8_t evpd0[6] = {0x12, 1, 0x00, 0, 255, 0};
	static const uint8_t evpd83[6] = {0x12, 1, 0x83, 0, 255, 0};
	static const uint8_t page_no_evpd[6] = {0x12, 0, 0x80, 0, 255, 0};
	static const uint8_t cmddt[6] = {0x12, 2, 0, 0, 255, 0};
	struct cmd c;

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 200, std, 6, 96), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(big[0], 0x7f); /* PQ 011b, type 1Fh */
	CU_ASSERT_EQUAL(big[3] & 0x0f, 2);
	CU_ASSERT_EQUAL(big[4], 31);
	CU_ASSERT_EQUAL(c.r.residual, 96 - 36);
	CU_ASSERT_EQUAL(memcmp(big + 8, "PVSCSI  ", 8), 0);
	CU_ASSERT_EQUAL(nsubmit, 0);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 16383, std5, 6, 96), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 96 - 5);
	CU_ASSERT_EQUAL(big[0], 0x7f);
	CU_ASSERT_EQUAL(big[5], 0xee);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 201, evpd0, 6, 255), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 255 - 5);
	CU_ASSERT_EQUAL(big[0], 0x7f);
	CU_ASSERT_EQUAL(big[1], 0x00);
	CU_ASSERT_EQUAL(pvsi_be16(big + 2), 1);
	CU_ASSERT_EQUAL(big[4], 0x00);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 201, evpd83, 6, 255), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 201, page_no_evpd, 6, 255), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 201, cmddt, 6, 255), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_unmapped_request_sense(void)
{
	static const uint8_t fixed[6] = {0x03, 0, 0, 0, 252, 0};
	static const uint8_t fixed8[6] = {0x03, 0, 0, 0, 8, 0};
	static const uint8_t desc[6] = {0x03, 1, 0, 0, 252, 0};
	struct cmd c;

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 222, fixed, 6, 252), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.sense_len, 0);
	CU_ASSERT_EQUAL(big[0], 0x70);
	CU_ASSERT_EQUAL(big[2], PVS_KEY_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(big[7], 10);
	CU_ASSERT_EQUAL(big[12], 0x25);
	CU_ASSERT_EQUAL(big[13], 0x00);
	CU_ASSERT_EQUAL(c.r.residual, 252 - 18);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 222, fixed8, 6, 252), 0);
	CU_ASSERT_EQUAL(c.r.residual, 252 - 8);
	CU_ASSERT_EQUAL(big[8], 0xee);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 222, desc, 6, 252), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(big[0], 0x72);
	CU_ASSERT_EQUAL(big[1], PVS_KEY_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(big[2], 0x25);
	CU_ASSERT_EQUAL(big[3], 0x00);
	CU_ASSERT_EQUAL(big[7], 0);
	CU_ASSERT_EQUAL(c.r.residual, 252 - 8);
}

static void test_unmapped_other(void)
{
	static const uint8_t tur[6] = {0x00};
	static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct cmd c;

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 230, tur, 6, 0), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x25, 0x00);

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 230, read10, 10, 512), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x25, 0x00);
	CU_ASSERT_EQUAL(c.r.residual, 512);
	CU_ASSERT_EQUAL(big[0], 0xee);

	/* A LUN number beyond addressing at an existing target. */
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 0x10000, tur, 6, 0), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x25, 0x00);

	/* An empty CDB does not crash the router. */
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 230, tur, 0, 0), 0);
	assert_check(&c, PVS_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
	CU_ASSERT_EQUAL(nsubmit, 0);
}

static void test_no_target(void)
{
	static const uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	uint8_t cdb[12];
	struct cmd c;

	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 2, 0, inq, 6, 36), -ENODEV);
	CU_ASSERT_EQUAL(pvs_map_submit(map, 2, 0, 0, &c.r), -ENODEV);
	CU_ASSERT_EQUAL(pvs_map_submit(map, 0, 0xffffffffu, 0, &c.r), -ENODEV);
	report_luns_cdb(cdb, 0, 4096);
	CU_ASSERT_EQUAL(map_cmd(&c, map, 1, 1, 0, cdb, 12, 4096), -ENODEV);
	CU_ASSERT_EQUAL(c.ndone, 0);
	CU_ASSERT_EQUAL(big[0], 0xee);
}

static void test_routes_to_mapped(void)
{
	static const uint8_t tur[6] = {0x00};
	struct cmd c;

	nsubmit = 0;
	CU_ASSERT_EQUAL(map_cmd(&c, map, 0, 0, 3919, tur, 6, 0), 0);
	CU_ASSERT_EQUAL(nsubmit, 1);
	CU_ASSERT_PTR_EQUAL(last_submit_lun, luns[NLUNS - 1]);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(map_cmd(&c, map, 1, 0, 0, tur, 6, 0), 0);
	CU_ASSERT_PTR_EQUAL(last_submit_lun, other_channel);
	nsubmit = 0;
}

/* ---- run-time changes ---- */

static void test_add_remove_luns_changed(void)
{
	struct pvs_map *m;
	struct pvs_lun *x = new_bare(), *y = new_bare(), *z = new_bare(), *o = new_bare();
	struct pvs_lun *out = NULL;
	const uint32_t changed = 1u << (PVS_SR_UA_LUNS_CHANGED - PVS_SR_UA_POWER_ON);
	uint8_t cdb[12];
	struct cmd c;

	CU_ASSERT_EQUAL_FATAL(pvs_map_new(&m), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 2, 0, 0, x), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 2, 0, 1, y), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 2, 1, 0, o), 0);
	/* Both initiators have talked to x, y and o: no UA pending now. */
	struct pvs_lun *all[3] = {x, y, o};
	for (int i = 0; i < 3; i++) {
		pvsi_initiator_slot(all[i], IA)->ua_pending = 0;
		pvsi_initiator_slot(all[i], IB)->ua_pending = 0;
	}

	CU_ASSERT_EQUAL(pvs_map_add(m, 2, 0, 2, z), 0);
	CU_ASSERT_EQUAL(pvsi_ua_pending(x, IA), changed);
	CU_ASSERT_EQUAL(pvsi_ua_pending(y, IB), changed);
	CU_ASSERT_EQUAL(pvsi_ua_pending(o, IA), 0); /* another target */
	CU_ASSERT_EQUAL(pvsi_ua_pending(z, IA), 0); /* no slot yet: POWER ON on first use */

	/* REPORT LUNS shows z and clears the UA for the asking nexus only. */
	report_luns_cdb(cdb, 0, 4096);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 2, 0, 0, cdb, 12, 4096), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(pvsi_be32(big), 24);
	expect_entry(big + 8, 0);
	expect_entry(big + 16, 1);
	expect_entry(big + 24, 2);
	CU_ASSERT_EQUAL(pvsi_ua_pending(x, IA), 0);
	CU_ASSERT_EQUAL(pvsi_ua_pending(y, IA), 0);
	CU_ASSERT_EQUAL(pvsi_ua_pending(x, IB), changed);

	CU_ASSERT_EQUAL(pvs_map_remove(m, 2, 0, 1, &out), 0);
	CU_ASSERT_PTR_EQUAL(out, y);
	CU_ASSERT_PTR_NULL(pvs_map_lookup(m, 2, 0, 1));
	CU_ASSERT_EQUAL(pvsi_ua_pending(x, IA), changed);
	CU_ASSERT_EQUAL(pvsi_ua_pending(y, IA), 0); /* removed: not told */
	CU_ASSERT_EQUAL(pvsi_ua_pending(o, IA), 0);
	CU_ASSERT_EQUAL(pvs_map_remove(m, 2, 0, 1, &out), -ENOENT);
	CU_ASSERT_PTR_NULL(out);

	CU_ASSERT_EQUAL(map_cmd(&c, m, 2, 0, 5, cdb, 12, 4096), 0);
	CU_ASSERT_EQUAL(pvsi_be32(big), 16);
	expect_entry(big + 16, 2);

	/* Removing every LUN of a target removes the target. */
	CU_ASSERT_EQUAL(pvs_map_remove(m, 2, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(pvs_map_remove(m, 2, 0, 2, NULL), 0);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 2, 0, 0, cdb, 12, 4096), -ENODEV);
	CU_ASSERT_EQUAL(pvs_map_count(m), 1);

	pvs_map_free(m);
	pvs_map_free(NULL);
	free(x);
	free(y);
	free(z);
	free(o);
}

/* ---- REPORT LUNS to raw passthrough goes to the device ---- */

static void test_raw_passthrough_report_luns(void)
{
	struct pvs_worker *w = NULL;
	struct pvs_lun *raw = NULL, *filtered = NULL;
	struct pvs_map *m;
	struct fake_sg_reply rep;
	char err[256];
	uint8_t cdb[12];
	struct cmd c;

	fake_sg_reset();
	fake_sg_add_node("/dev/sg40", FAKE_SG_CHR);
	fake_sg_add_node("/dev/sg41", FAKE_SG_CHR);
	memset(&rep, 0, sizeof(rep));
	rep.match[0] = 0xa0;
	rep.match_len = 1;
	rep.data_len = 16;
	rep.data[3] = 8;    /* the host's own list: one LUN ... */
	rep.data[9] = 0x2a; /* ... numbered 42 */
	fake_sg_script(&rep);
	pvsi_sg_set_ops(&fake_sg_ops);

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(w, "sg:/dev/sg40,raw", NULL, &raw, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(w, "sg:/dev/sg41", NULL, &filtered, err, sizeof(err)),
	                      0);
	CU_ASSERT_TRUE(pvs_lun_is_raw(raw));
	CU_ASSERT_FALSE(pvs_lun_is_raw(filtered));
	CU_ASSERT_EQUAL_FATAL(pvs_map_new(&m), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 0, 0, 0, raw), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 0, 1, 0, filtered), 0);
	CU_ASSERT_EQUAL(pvs_map_add(m, 0, 1, 3, luns[0]), 0);

	report_luns_cdb(cdb, 0, 4096);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 12, 4096), 0);
	for (int i = 0; i < 50 && !c.ndone; i++)
		pvs_worker_wait(w, 100);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(fake_sg_writes(), 1);
	CU_ASSERT_EQUAL(fake_sg_last_cdb()[0], 0xa0);
	CU_ASSERT_EQUAL(big[9], 0x2a);

	/* Filtered passthrough: the guest's numbering, from the map. */
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 1, 0, cdb, 12, 4096), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(fake_sg_writes(), 1);
	CU_ASSERT_EQUAL(pvsi_be32(big), 16);
	expect_entry(big + 16, 3);

	pvs_map_free(m);
	pvs_lun_close(raw);
	pvs_lun_close(filtered);
	pvs_worker_free(w);
	pvsi_sg_set_ops(NULL);
}

static const struct cu_test map_tests[] = {
    {"add / lookup / errors", test_add_lookup},
    {"routes to mapped LUNs", test_routes_to_mapped},
    {"add / remove / LUNS CHANGED", test_add_remove_luns_changed},
};

static const struct cu_test report_luns_tests[] = {
    {"full list, 300 LUNs", test_report_luns_full},
    {"allocation lengths", test_report_luns_alloc},
    {"invalid fields", test_report_luns_invalid},
    {"raw passthrough", test_raw_passthrough_report_luns},
};

static const struct cu_test target_emulation_tests[] = {
    {"INQUIRY unmapped", test_unmapped_inquiry},
    {"REQUEST SENSE unmapped", test_unmapped_request_sense},
    {"other commands unmapped", test_unmapped_other},
    {"no such target", test_no_target},
};

/* ---- lending a mem: LUN's medium (pvs_map_set_lend) ---- */

static void rw10_cdb(uint8_t cdb[10], uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	lh_put_lba(cdb, 10, lba, blocks);
}

static void test_lend(void)
{
	struct pvs_worker *w;
	struct pvs_lun *l;
	struct pvs_map *m;
	struct cmd c;
	uint8_t cdb[12], data[4096];
	char err[256];

	CU_ASSERT_FATAL(pvs_worker_new(16, &w) == 0);
	CU_ASSERT_FATAL(pvs_lun_open(w, "mem:1M", NULL, &l, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(pvs_map_new(&m) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 0, 0, l) == 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	/* A TEST UNIT READY first: the power-on unit attention is spent. */
	memset(cdb, 0, sizeof(cdb));
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 6, 0), 0);
	rw10_cdb(cdb, 0x2a, 8, 8);
	cmd_init(&c, IA, cdb, 10, 0);
	lh_req_init(&c.r, &c.iov, IA, cdb, 10, PVS_DIR_TO_DEV, data, sizeof(data), cmd_done, &c);
	CU_ASSERT_EQUAL(pvs_map_submit(m, 0, 0, 0, &c.r), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);

	/* Not asked: the data-in is copied into the buffers. */
	rw10_cdb(cdb, 0x28, 8, 8);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 10, 4096), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_PTR_NULL(c.r.data_in);
	CU_ASSERT_EQUAL(memcmp(big, data, 4096), 0);

	/* Asked: the medium is lent, the buffers untouched. */
	pvs_map_set_lend(m, true);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 10, 4096), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.r.data_in);
	CU_ASSERT_EQUAL(memcmp(c.r.data_in, data, 4096), 0);
	CU_ASSERT_EQUAL(big[0], 0xee);

	/* A buffer longer than the transfer: read into it, nothing lent. */
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 10, 8192), 0);
	CU_ASSERT_PTR_NULL(c.r.data_in);
	CU_ASSERT_EQUAL(c.r.residual, 4096);
	CU_ASSERT_EQUAL(memcmp(big, data, 4096), 0);

	/* A target's own answer (REPORT LUNS) is never lent. */
	report_luns_cdb(cdb, 0, 64);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 12, 64), 0);
	CU_ASSERT_PTR_NULL(c.r.data_in);
	pvs_map_free(m);
	pvs_lun_close(l);
	pvs_worker_free(w);
}

/* A WRITE submitted with pvs_map_submit_lend_out(): the size of @len, no data. */
static int lend_out_cmd(struct cmd *c, struct pvs_map *m, uint32_t lun, uint8_t op, uint32_t lba,
                        uint16_t blocks, size_t len)
{
	uint8_t cdb[10];

	rw10_cdb(cdb, op, lba, blocks);
	cmd_init(c, IA, cdb, 10, 0);
	/* Poison: a byte of it in the medium would be data nobody sent. */
	memset(big, 0x5a, sizeof(big));
	lh_req_init(&c->r, &c->iov, IA, cdb, 10, PVS_DIR_TO_DEV, big, len, cmd_done, c);
	return pvs_map_submit_lend_out(m, 0, 0, lun, &c->r);
}

/*
 * A mem: LUN's WRITE may run before its data-out is fetched, the medium
 * lent as the copy's target: only plain WRITEs of a mem: disk, only when
 * lending is on.  What the transport copies there is what reads back.
 */
static void test_lend_out(void)
{
	struct pvs_worker *w;
	struct pvs_lun *l, *ro, *f;
	struct pvs_map *m;
	struct cmd c;
	uint8_t cdb[16] = {0}, data[4096];
	char err[256], path[] = "/tmp/map_ut.XXXXXX", spec[64];
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CU_ASSERT_FATAL(pvs_worker_new(16, &w) == 0);
	CU_ASSERT_FATAL(pvs_lun_open(w, "mem:1M", NULL, &l, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(pvs_lun_open(w, "mem:1M,ro", NULL, &ro, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(pvs_lun_open(w, spec, NULL, &f, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(pvs_map_new(&m) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 0, 0, l) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 0, 1, ro) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 0, 2, f) == 0);
	for (uint32_t lun = 0; lun < 3; lun++)
		CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, lun, cdb, 6, 0), 0); /* the power-on UA */

	/* Off until lending is asked for; then plain WRITEs of a mem: LUN only. */
	cdb[0] = 0x2a;
	CU_ASSERT_FALSE(pvs_map_lends_out(m, 0, 0, 0, cdb));
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 0, 0x2a, 8, 8, 4096), -EPROTO);
	CU_ASSERT_EQUAL(c.ndone, 0);
	pvs_map_set_lend(m, true);
	for (unsigned int i = 0; i < 4; i++) {
		static const uint8_t op[] = {0x0a, 0x2a, 0xaa, 0x8a};

		cdb[0] = op[i];
		CU_ASSERT_TRUE(pvs_map_lends_out(m, 0, 0, 0, cdb));
		CU_ASSERT_TRUE(pvs_map_lends_out(m, 0, 0, 1, cdb));
		CU_ASSERT_FALSE(pvs_map_lends_out(m, 0, 0, 2, cdb)); /* file: needs its data */
		CU_ASSERT_FALSE(pvs_map_lends_out(m, 0, 0, 3, cdb)); /* unmapped */
		CU_ASSERT_FALSE(pvs_map_lends_out(m, 0, 1, 0, cdb)); /* no such target */
	}
	/* WRITE AND VERIFY compares the data, WRITE SAME, UNMAP and the rest read it. */
	for (unsigned int i = 0; i < 6; i++) {
		static const uint8_t op[] = {0x2e, 0x41, 0x42, 0x93, 0x89, 0x28};

		cdb[0] = op[i];
		CU_ASSERT_FALSE(pvs_map_lends_out(m, 0, 0, 0, cdb));
	}
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 2, 0x2a, 8, 8, 4096), -EPROTO);
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 0, 0x2e, 8, 8, 4096), -EPROTO);
	CU_ASSERT_EQUAL(c.ndone, 0);

	/* Lent: where the data-out goes; the buffers were not read. */
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 0, 0x2a, 8, 8, 4096), 0);
	CU_ASSERT_EQUAL(c.ndone, 1);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.residual, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.r.data_out);
	CU_ASSERT_EQUAL(c.r.data_out_len, 4096);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 89); /* never the poison's 0x5a */
	memcpy(c.r.data_out, data, sizeof(data));
	pvs_map_set_lend(m, false);
	rw10_cdb(cdb, 0x28, 8, 8);
	CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 10, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(big, data, 4096), 0);
	pvs_map_set_lend(m, true);

	/* A buffer longer than the transfer: only the transfer's bytes go there. */
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 0, 0x2a, 16, 2, 4096), 0);
	CU_ASSERT_EQUAL(c.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.r.data_out_len, 1024);
	CU_ASSERT_EQUAL(c.r.residual, 3072);

	/* A WRITE that fails its checks lends nothing: no data is wanted. */
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 1, 0x2a, 8, 8, 4096), 0);
	assert_check(&c, 0x07, 0x27, 0x00);
	CU_ASSERT_PTR_NULL(c.r.data_out);
	CU_ASSERT_EQUAL(lend_out_cmd(&c, m, 0, 0x2a, 2048, 8, 4096), 0);
	assert_check(&c, 0x05, 0x21, 0x00);
	CU_ASSERT_PTR_NULL(c.r.data_out);
	/* Nothing of the poison reached the medium. */
	for (uint32_t lba = 0; lba < 2048; lba += 128) {
		uint8_t *p;

		rw10_cdb(cdb, 0x28, lba, 128);
		CU_ASSERT_EQUAL(map_cmd(&c, m, 0, 0, 0, cdb, 10, 0x10000), 0);
		CU_ASSERT_EQUAL_FATAL(c.r.status, PVS_STATUS_GOOD);
		p = c.r.data_in ? (uint8_t *)(uintptr_t)c.r.data_in : big;
		CU_ASSERT_PTR_NULL(memchr(p, 0x5a, 0x10000));
	}
	pvs_map_free(m);
	pvs_lun_close(l);
	pvs_lun_close(ro);
	pvs_lun_close(f);
	pvs_worker_free(w);
	unlink(path);
}

static const struct cu_test lend_tests[] = {
    {"a mem: LUN's medium lent, only when asked", test_lend},
    {"a mem: WRITE's data-out target lent, plain WRITEs only", test_lend_out},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("map", setup, teardown, map_tests),
	    CU_SUITE("report_luns", setup, teardown, report_luns_tests),
	    CU_SUITE("target_emulation", setup, teardown, target_emulation_tests),
	    CU_SUITE("lend", NULL, NULL, lend_tests),
	};

	return CU_RUN_SUITES(suites);
}
