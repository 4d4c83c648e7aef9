/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdb_xfer_ut.c - pvs_cdb_xfer() and pvs_map_cdb_xfer(): the data phase
 * the core runs for a CDB, from the opcode table's .xfer column.  The
 * column against the rest of the table (directions, usage data), every
 * kind of length field on 512 and 4096-byte LUNs, what the core cannot
 * tell (unknown and unimplemented opcodes, reserved BYTCHK, passthrough),
 * and the routing of the map (target emulation, REPORT LUNS, no target).
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "core.h"
#include "cu_run.h"
#include "fake_sg.h"
#include "passthrough.h"
#include "pvscsi/map.h"

static struct pvs_worker *W;

static struct pvs_lun *open_lun(const char *spec)
{
	struct pvs_lun *l = NULL;
	char err[256];

	CU_ASSERT_FATAL(pvs_lun_open(W, spec, NULL, &l, err, sizeof(err)) == 0);
	return l;
}

/* Expect true with @dir and @len. */
static void known(const struct pvs_lun *l, const uint8_t *cdb, unsigned int n, uint8_t dir,
                  uint64_t len)
{
	uint8_t d = 0xff;
	uint64_t v = ~0ull;

	CU_ASSERT_TRUE(pvs_cdb_xfer(l, cdb, n, &d, &v));
	CU_ASSERT_EQUAL(d, dir);
	CU_ASSERT_EQUAL(v, len);
}

static void unknown(const struct pvs_lun *l, const uint8_t *cdb, unsigned int n)
{
	uint8_t d;
	uint64_t v;

	CU_ASSERT_FALSE(pvs_cdb_xfer(l, cdb, n, &d, &v));
}

/* The .xfer column agrees with the direction and usage data of its entry. */
static void test_table(void)
{
	for (unsigned int i = 0; i < pvsi_nopcodes; i++) {
		const struct pvsi_opcode *e = &pvsi_opcodes[i];
		const struct pvsi_xfer *x = &e->xfer;
		bool field = x->kind == PVSI_XF_BYTES || x->kind == PVSI_XF_BLOCKS ||
		             x->kind == PVSI_XF_BLOCKS6 || x->kind == PVSI_XF_VERIFY ||
		             x->kind == PVSI_XF_CAW;

		/* No data phase exactly when the table says so. */
		if ((x->kind == PVSI_XF_NONE) != (e->dir == PVS_DIR_NONE))
			CU_FAIL(e->name);
		/* Every emulated command with data can be measured. */
		if ((e->flags & PVSI_OP_EMU) && e->dir != PVS_DIR_NONE &&
		    x->kind == PVSI_XF_UNKNOWN)
			CU_FAIL(e->name);
		if (!field)
			continue;
		/* Inside the CDB, before the control byte, at most 4 bytes. */
		if (x->width < 1 || x->width > 4 || x->at < 1 || x->at + x->width > e->cdb_len - 1u)
			CU_FAIL(e->name);
		/* Emulated: the field is one the dispatcher reads, not a reserved one. */
		for (unsigned int b = x->at; (e->flags & PVSI_OP_EMU) && b < x->at + x->width; b++)
			if (e->usage[b] == 0)
				CU_FAIL(e->name);
	}
}

static void test_lengths(void)
{
	struct pvs_lun *l = open_lun("mem:4M");
	struct pvs_lun *l4 = open_lun("mem:4M,bs=4096");
	uint8_t c[16];

	/* READ(6)/WRITE(6): blocks in byte 4, 0 meaning 256. */
	memcpy(c, (uint8_t[6]){0x08, 0, 0, 1, 0, 0}, 6);
	known(l, c, 6, PVS_DIR_FROM_DEV, 256 * 512);
	c[0] = 0x0a;
	c[4] = 3;
	known(l4, c, 6, PVS_DIR_TO_DEV, 3 * 4096);
	/* READ(10)/WRITE(10): bytes 7-8, in the LUN's blocks. */
	memcpy(c, (uint8_t[10]){0x28, 0, 0, 0, 0, 9, 0, 0x01, 0x02, 0}, 10);
	known(l, c, 10, PVS_DIR_FROM_DEV, 0x102 * 512);
	known(l4, c, 10, PVS_DIR_FROM_DEV, 0x102 * 4096ull);
	c[0] = 0x2a;
	known(l, c, 10, PVS_DIR_TO_DEV, 0x102 * 512);
	/* A transfer of no blocks moves nothing. */
	c[7] = c[8] = 0;
	known(l, c, 10, PVS_DIR_NONE, 0);
	/* READ(12): bytes 6-9; WRITE(16): bytes 10-13. */
	memcpy(c, (uint8_t[12]){0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0}, 12);
	known(l4, c, 12, PVS_DIR_FROM_DEV, 5 * 4096);
	memset(c, 0, 16);
	c[0] = 0x8a;
	c[12] = 0x01;
	c[13] = 0x00;
	known(l, c, 16, PVS_DIR_TO_DEV, 256 * 512);
	/* VERIFY(10) by BYTCHK: 00b none, 01b the blocks, 11b one block, 10b reserved. */
	memcpy(c, (uint8_t[10]){0x2f, 0, 0, 0, 0, 0, 0, 0, 4, 0}, 10);
	known(l, c, 10, PVS_DIR_NONE, 0);
	c[1] = 0x02;
	known(l, c, 10, PVS_DIR_TO_DEV, 4 * 512);
	c[1] = 0x06;
	known(l4, c, 10, PVS_DIR_TO_DEV, 4096);
	c[1] = 0x04;
	unknown(l, c, 10);
	/* WRITE SAME: one block whatever the range; (16) with NDOB none. */
	memcpy(c, (uint8_t[10]){0x41, 0, 0, 0, 0, 0, 0, 0, 100, 0}, 10);
	known(l4, c, 10, PVS_DIR_TO_DEV, 4096);
	memset(c, 0, 16);
	c[0] = 0x93;
	c[13] = 100;
	known(l, c, 16, PVS_DIR_TO_DEV, 512);
	c[1] = 0x01;
	known(l, c, 16, PVS_DIR_NONE, 0);
	/* COMPARE AND WRITE: twice the blocks of byte 13. */
	memset(c, 0, 16);
	c[0] = 0x89;
	c[13] = 2;
	known(l, c, 16, PVS_DIR_TO_DEV, 4 * 512);
	/* Allocation and parameter list lengths, in bytes whatever the block size. */
	memcpy(c, (uint8_t[6]){0x12, 0, 0, 0x01, 0x02, 0}, 6);
	known(l4, c, 6, PVS_DIR_FROM_DEV, 0x102);
	memcpy(c, (uint8_t[6]){0x1a, 0, 0x3f, 0, 0xfc, 0}, 6);
	known(l, c, 6, PVS_DIR_FROM_DEV, 0xfc);
	memcpy(c, (uint8_t[10]){0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0}, 10);
	known(l, c, 10, PVS_DIR_TO_DEV, 24);
	memcpy(c, (uint8_t[10]){0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, 10);
	known(l, c, 10, PVS_DIR_TO_DEV, 24); /* UNMAP: a mem LUN is thin */
	memcpy(c, (uint8_t[12]){0xa0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0}, 12);
	known(l, c, 12, PVS_DIR_FROM_DEV, 0x10000);
	memset(c, 0, 16);
	c[0] = 0x9e;
	c[1] = 0x10;
	c[13] = 32;
	known(l, c, 16, PVS_DIR_FROM_DEV, 32);
	/* READ CAPACITY(10): always 8 bytes. */
	memset(c, 0, 10);
	c[0] = 0x25;
	known(l, c, 10, PVS_DIR_FROM_DEV, 8);
	/* No data phase. */
	memset(c, 0, 6);
	known(l, c, 6, PVS_DIR_NONE, 0);
	pvs_lun_close(l);
	pvs_lun_close(l4);
}

static void test_cannot_tell(void)
{
	struct pvs_lun *l = open_lun("mem:4M");
	struct pvs_lun *sg = open_lun("sg:/dev/sg3");
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0}, rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t c[16] = {0};

	/* Vendor specific, absent from the table. */
	c[0] = 0xc0;
	unknown(l, c, 16);
	/* A CDB shorter than its opcode's. */
	unknown(l, inq, 5);
	unknown(l, inq, 0);
	/* In the table but not emulated: the LUN refuses it without data. */
	memcpy(c, (uint8_t[10]){0x3c, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}, 10); /* READ BUFFER */
	unknown(l, c, 10);
	/* FORMAT UNIT: the length is in the parameter data. */
	memcpy(c, (uint8_t[6]){0x04, 0x10, 0, 0, 0, 0}, 6);
	unknown(l, c, 6);
	/* A passthrough device decides its own lengths. */
	unknown(sg, inq, 6);
	unknown(sg, rd, 10);
	/* The target emulation: INQUIRY, REQUEST SENSE, REPORT LUNS, nothing with blocks. */
	known(NULL, inq, 6, PVS_DIR_FROM_DEV, 36);
	unknown(NULL, rd, 10);
	pvs_lun_close(l);
	pvs_lun_close(sg);
}

static void test_map(void)
{
	struct pvs_map *m;
	struct pvs_lun *l = open_lun("mem:4M,bs=4096"), *sg = open_lun("sg:/dev/sg3");
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0}, rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t rl[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0};
	uint8_t d;
	uint64_t v;

	CU_ASSERT_FATAL(pvs_map_new(&m) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 0, 0, l) == 0);
	CU_ASSERT_FATAL(pvs_map_add(m, 0, 1, 0, sg) == 0);
	/* The LUN's own rules and block size. */
	CU_ASSERT_TRUE(pvs_map_cdb_xfer(m, 0, 0, 0, rd, 10, &d, &v));
	CU_ASSERT_EQUAL(v, 4096);
	/* An unmapped LUN of an existing target: the target emulation. */
	CU_ASSERT_TRUE(pvs_map_cdb_xfer(m, 0, 0, 5, inq, 6, &d, &v));
	CU_ASSERT_EQUAL(v, 36);
	CU_ASSERT_FALSE(pvs_map_cdb_xfer(m, 0, 0, 5, rd, 10, &d, &v));
	/* A LUN number past what the map holds: the target answers it too. */
	CU_ASSERT_TRUE(pvs_map_cdb_xfer(m, 0, 0, 20000, inq, 6, &d, &v));
	/* The passthrough LUN decides, except REPORT LUNS, which the map answers. */
	CU_ASSERT_FALSE(pvs_map_cdb_xfer(m, 0, 1, 0, inq, 6, &d, &v));
	CU_ASSERT_TRUE(pvs_map_cdb_xfer(m, 0, 1, 0, rl, 12, &d, &v));
	CU_ASSERT_EQUAL(d, PVS_DIR_FROM_DEV);
	CU_ASSERT_EQUAL(v, 16);
	/* No such target, no such channel. */
	CU_ASSERT_FALSE(pvs_map_cdb_xfer(m, 0, 2, 0, inq, 6, &d, &v));
	CU_ASSERT_FALSE(pvs_map_cdb_xfer(m, 1, 0, 0, inq, 6, &d, &v));
	pvs_map_free(m);
	pvs_lun_close(l);
	pvs_lun_close(sg);
}

static int setup(void)
{
	fake_sg_reset();
	pvsi_sg_set_ops(&fake_sg_ops);
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	return pvs_worker_new(8, &W);
}

static int teardown(void)
{
	pvs_worker_free(W);
	pvsi_sg_set_ops(NULL);
	fake_sg_reset();
	return 0;
}

static const struct cu_test tests[] = {
    {"the .xfer column against the table", test_table},
    {"every kind of length field, 512 and 4096-byte blocks", test_lengths},
    {"what the core cannot tell", test_cannot_tell},
    {"routed as the map routes", test_map},
};

static const struct cu_suite suites[] = {
    CU_SUITE("cdb_xfer", setup, teardown, tests),
};

int main(void)
{
	return CU_RUN_SUITES(suites);
}
