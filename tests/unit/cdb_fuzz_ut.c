/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdb_fuzz_ut.c - malformed CDBs against emulated LUNs (512 and 4096-byte
 * blocks).  For every opcode 0x00-0xFF: absent ones, passthrough-only or
 * denied ones, and every emulated one with short and long CDBs, reserved
 * bits, NACA/LINK, LBAs past the end and wrapping, allocation lengths 0
 * and maximal with a small buffer - each with the exact status, sense key,
 * ASC and field pointer expected.  Then 100,000 random CDBs (fixed seed)
 * that only check invariants: one completion, sense within bounds,
 * residual within the buffer, data-out buffers never written, nothing
 * written past the transfer, and no sanitizer report.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"

#define I1 0x1001

static const char *const specs[] = {"mem:1M", "mem:1M,bs=4096"};
static struct lh H;
static struct lh_res R;
static uint8_t buf[4096];

static int init(void)
{
	return lh_open(&H, specs[0], NULL) ? -1 : 0;
}

static int fini(void)
{
	lh_close(&H);
	return 0;
}

/* A new LUN with I1's POWER ON unit attention consumed. */
static void fresh(unsigned spec)
{
	CU_ASSERT_EQUAL_FATAL(lh_reopen(&H, specs[spec], NULL), 0);
	CU_ASSERT_TRUE_FATAL(lh_clear_ua(&H, I1));
}

static const struct pvsi_opcode *entry_of(uint8_t op)
{
	for (unsigned i = 0; i < pvsi_nopcodes; i++)
		if (pvsi_opcodes[i].opcode == op)
			return &pvsi_opcodes[i];
	return NULL;
}

static void run(const uint8_t *cdb, unsigned cdb_len, enum pvs_dir dir, size_t len)
{
	memset(buf, 0, sizeof(buf));
	lh_run(&H, I1, cdb, cdb_len, dir, buf, len, &R);
}

/* Outcome: status, and for CHECK CONDITION key/ASC/ASCQ and field pointer (cd -1: none). */
struct outcome {
	uint8_t status, key, asc, ascq;
	int cd, field, bit;
};

#define GOOD                                                                                       \
	{                                                                                          \
		0, 0, 0, 0, -1, 0, 0                                                               \
	}
#define CC(k, a, q, cd, f, b)                                                                      \
	{                                                                                          \
		2, k, a, q, cd, f, b                                                               \
	}
#define INVALID_OPCODE   CC(5, 0x20, 0, 1, 0, -1)
#define INVALID_SA       CC(5, 0x24, 0, 1, 1, 4)
#define LBA_OUT_OF_RANGE CC(5, 0x21, 0, -1, 0, 0)
#define FIELD(f, b)      CC(5, 0x24, 0, 1, f, b)
#define PARAM_LEN_ERROR  CC(5, 0x1a, 0, -1, 0, 0)

static bool matches(const struct outcome *o, const char *what, uint8_t op, int sa)
{
	bool ok = R.ncomplete == 1 && R.status == o->status;

	if (ok && o->status == PVS_STATUS_CHECK_CONDITION) {
		ok = R.sense_len == 18 && R.key == o->key && R.asc == o->asc && R.ascq == o->ascq &&
		     R.cd == o->cd;
		if (ok && o->cd >= 0)
			ok = R.field == o->field && R.bit == o->bit;
	} else if (ok) {
		ok = R.sense_len == 0;
	}
	if (!ok)
		fprintf(stderr,
		        "\n  %s: opcode %02x sa %d: got n=%u status %02x sense %x/%02x/%02x cd %d "
		        "field %d bit %d; want status %02x %x/%02x/%02x cd %d field %d bit %d\n",
		        what, op, sa, R.ncomplete, R.status, R.key, R.asc, R.ascq, R.cd, R.field,
		        R.bit, o->status, o->key, o->asc, o->ascq, o->cd, o->field, o->bit);
	return ok;
}

/*
 * The all-zero CDB (service action filled in) of every emulated command,
 * with the buffer its direction calls for (16 bytes).  Every row is
 * written out by hand from SPC-5/SBC-4, not derived from the table.
 */
static const struct {
	uint8_t op;
	int sa;
	struct outcome o;
} zero_cdb[] = {
    {0x00, -1, GOOD},           /* TEST UNIT READY */
    {0x03, -1, GOOD},           /* REQUEST SENSE, allocation length 0 */
    {0x08, -1, FIELD(4, -1)},   /* READ(6): 0 means 256 blocks, buffer too short */
    {0x0a, -1, FIELD(4, -1)},   /* WRITE(6): likewise */
    {0x12, -1, GOOD},           /* INQUIRY */
    {0x15, -1, GOOD},           /* MODE SELECT(6), no parameter list */
    {0x16, -1, GOOD},           /* RESERVE(6) */
    {0x17, -1, GOOD},           /* RELEASE(6) */
    {0x1a, -1, FIELD(2, 5)},    /* MODE SENSE(6) of page 00h: unknown page */
    {0x1b, -1, GOOD},           /* START STOP UNIT: stop */
    {0x1e, -1, GOOD},           /* PREVENT ALLOW: allow */
    {0x25, -1, GOOD},           /* READ CAPACITY(10) */
    {0x28, -1, GOOD},           /* READ(10) of no blocks */
    {0x2a, -1, GOOD},           /* WRITE(10) of no blocks */
    {0x2e, -1, GOOD},           /* WRITE AND VERIFY(10) */
    {0x2f, -1, GOOD},           /* VERIFY(10) */
    {0x34, -1, GOOD},           /* PRE-FETCH(10) of everything */
    {0x35, -1, GOOD},           /* SYNCHRONIZE CACHE(10) of everything */
    {0x41, -1, FIELD(7, -1)},   /* WRITE SAME(10) of 0 blocks: WSNZ */
    {0x42, -1, GOOD},           /* UNMAP, no parameter list */
    {0x55, -1, GOOD},           /* MODE SELECT(10) */
    {0x56, -1, GOOD},           /* RESERVE(10) */
    {0x57, -1, GOOD},           /* RELEASE(10) */
    {0x5a, -1, FIELD(2, 5)},    /* MODE SENSE(10) of page 00h */
    {0x5e, 0, GOOD},            /* PERSISTENT RESERVE IN, allocation length 0 */
    {0x5e, 1, GOOD},            /* */
    {0x5e, 2, GOOD},            /* */
    {0x5e, 3, GOOD},            /* */
    {0x5f, 0, PARAM_LEN_ERROR}, /* PERSISTENT RESERVE OUT: the list is 24 bytes */
    {0x5f, 1, PARAM_LEN_ERROR}, /* */
    {0x5f, 2, PARAM_LEN_ERROR}, /* */
    {0x5f, 3, PARAM_LEN_ERROR}, /* */
    {0x5f, 4, PARAM_LEN_ERROR}, /* */
    {0x5f, 5, PARAM_LEN_ERROR}, /* */
    {0x5f, 6, PARAM_LEN_ERROR}, /* */
    {0x88, -1, GOOD},           /* READ(16) */
    {0x89, -1, GOOD},           /* COMPARE AND WRITE of no blocks */
    {0x8a, -1, GOOD},           /* WRITE(16) */
    {0x8e, -1, GOOD},           /* WRITE AND VERIFY(16) */
    {0x8f, -1, GOOD},           /* VERIFY(16) */
    {0x90, -1, GOOD},           /* PRE-FETCH(16) of everything */
    {0x91, -1, GOOD},           /* SYNCHRONIZE CACHE(16) */
    {0x93, -1, FIELD(10, -1)},  /* WRITE SAME(16) of 0 blocks */
    {0x9e, 0x10, GOOD},         /* READ CAPACITY(16), allocation length 0 */
    {0x9e, 0x12, GOOD},         /* GET LBA STATUS, allocation length 0 */
    {0xa0, -1, GOOD},           /* REPORT LUNS, allocation length 0 */
    {0xa3, 0x0c, GOOD},         /* REPORT SUPPORTED OPERATION CODES, length 0 */
    {0xa8, -1, GOOD},           /* READ(12) */
    {0xaa, -1, GOOD},           /* WRITE(12) */
    {0xae, -1, GOOD},           /* WRITE AND VERIFY(12) */
    {0xaf, -1, GOOD},           /* VERIFY(12) */
};

static const struct outcome *zero_outcome(const struct pvsi_opcode *e)
{
	for (unsigned i = 0; i < sizeof(zero_cdb) / sizeof(zero_cdb[0]); i++)
		if (zero_cdb[i].op == e->opcode &&
		    (zero_cdb[i].sa < 0 || (unsigned)zero_cdb[i].sa == e->sa))
			return &zero_cdb[i].o;
	return NULL;
}

static void zero(uint8_t *cdb, const struct pvsi_opcode *e)
{
	memset(cdb, 0, PVS_CDB_MAX);
	cdb[0] = e->opcode;
	if (e->flags & PVSI_OP_HAS_SA)
		cdb[1] = (uint8_t)e->sa;
}

static size_t buflen_of(const struct pvsi_opcode *e)
{
	return e->dir == PVS_DIR_NONE ? 0 : 16;
}

/* Opcodes with no entry: INVALID COMMAND OPERATION CODE whatever the length. */
static void test_absent_opcodes(void)
{
	static const unsigned lens[] = {1, 6, 10, 12, 16, 32, 200};
	const struct outcome inv = INVALID_OPCODE;
	uint8_t cdb[PVS_CDB_MAX];
	unsigned n = 0;

	for (unsigned spec = 0; spec < 2; spec++) {
		fresh(spec);
		for (unsigned op = 0; op < 256; op++) {
			if (entry_of((uint8_t)op))
				continue;
			n++;
			for (unsigned l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				memset(cdb, 0, sizeof(cdb));
				cdb[0] = (uint8_t)op;
				run(cdb, lens[l], PVS_DIR_FROM_DEV, 16);
				CU_ASSERT(matches(&inv, "absent", (uint8_t)op, -1));
				CU_ASSERT_EQUAL(R.residual, 16);
				memset(cdb, 0xff, sizeof(cdb));
				cdb[0] = (uint8_t)op;
				run(cdb, lens[l], PVS_DIR_TO_DEV, 16);
				CU_ASSERT(matches(&inv, "absent/ff", (uint8_t)op, -1));
			}
		}
		run(cdb, 0, PVS_DIR_NONE, 0);
		CU_ASSERT(matches(&inv, "empty CDB", 0, -1));
	}
	CU_ASSERT(n > 150);
}

/* Entries that exist but that emulated LUNs do not implement. */
static void test_not_emulated(void)
{
	const struct outcome inv = INVALID_OPCODE, sa = INVALID_SA;
	uint8_t cdb[PVS_CDB_MAX];

	fresh(0);
	for (unsigned i = 0; i < pvsi_nopcodes; i++) {
		const struct pvsi_opcode *e = &pvsi_opcodes[i];

		const unsigned lens[] = {e->cdb_len, e->cdb_len - 1u, PVS_CDB_MAX, 2};

		if (e->handler)
			continue;
		for (unsigned l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			zero(cdb, e);
			run(cdb, lens[l], (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches((e->flags & PVSI_OP_HAS_SA) ? &sa : &inv, "not emulated",
			                  e->opcode, e->sa));
		}
		run(cdb, 1, (enum pvs_dir)e->dir, buflen_of(e));
		CU_ASSERT(matches(&inv, "not emulated, 1 byte", e->opcode, e->sa));
	}
	/* and unknown service actions of the service-action opcodes */
	for (unsigned s = 0; s < 32; s++) {
		static const uint8_t sa_ops[] = {0x5e, 0x5f, 0x9e, 0x9f, 0xa3};

		for (unsigned j = 0; j < sizeof(sa_ops); j++) {
			uint8_t probe[2] = {sa_ops[j], (uint8_t)s};
			const struct pvsi_opcode *e = pvsi_opcode_find(probe, 2);

			if (e && e->handler)
				continue;
			memset(cdb, 0, sizeof(cdb));
			cdb[0] = sa_ops[j];
			cdb[1] = (uint8_t)s;
			run(cdb, 16, PVS_DIR_FROM_DEV, 16);
			CU_ASSERT(matches(&sa, "unknown SA", sa_ops[j], (int)s));
		}
	}
}

/* The all-zero CDB at its length, longer (as virtio sends it), and shorter. */
static void test_zero_short_long(void)
{
	const struct outcome inv = INVALID_OPCODE;
	uint8_t cdb[PVS_CDB_MAX];
	unsigned rows = 0;

	for (unsigned spec = 0; spec < 2; spec++) {
		for (unsigned i = 0; i < pvsi_nopcodes; i++) {
			const struct pvsi_opcode *e = &pvsi_opcodes[i];
			const struct outcome *o = zero_outcome(e);

			if (!e->handler)
				continue;
			CU_ASSERT_PTR_NOT_NULL_FATAL(o);
			rows++;
			fresh(spec);
			zero(cdb, e);
			run(cdb, e->cdb_len, (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches(o, "zero CDB", e->opcode, e->sa));
			CU_ASSERT(R.residual <= buflen_of(e));
			fresh(spec);
			run(cdb, PVS_CDB_MAX, (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches(o, "zero CDB, 32 bytes", e->opcode, e->sa));
			fresh(spec);
			run(cdb, e->cdb_len - 1u, (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches(&inv, "short CDB", e->opcode, e->sa));
			CU_ASSERT_EQUAL(R.residual, buflen_of(e));
			run(cdb, 1, (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches(&inv, "1-byte CDB", e->opcode, e->sa));
		}
	}
	CU_ASSERT_EQUAL(rows, 2 * (sizeof(zero_cdb) / sizeof(zero_cdb[0])));
}

/*
 * Every bit the table's usage data marks reserved, one at a time, and the
 * control byte's NACA and LINK: INVALID FIELD IN CDB at that byte and bit.
 */
static void test_reserved_bits(void)
{
	uint8_t cdb[PVS_CDB_MAX];
	unsigned cases = 0;

	fresh(0);
	for (unsigned i = 0; i < pvsi_nopcodes; i++) {
		const struct pvsi_opcode *e = &pvsi_opcodes[i];
		unsigned last = e->cdb_len - 1u;

		if (!e->handler)
			continue;
		for (unsigned b = 1; b < last; b++) {
			uint8_t ok =
			    e->usage[b] | ((b == 1 && (e->flags & PVSI_OP_HAS_SA)) ? 0x1f : 0);

			for (int bit = 0; bit < 8; bit++) {
				struct outcome o = FIELD((int)b, bit);

				if (ok & (1u << bit))
					continue;
				zero(cdb, e);
				cdb[b] |= (uint8_t)(1u << bit);
				run(cdb, e->cdb_len, (enum pvs_dir)e->dir, buflen_of(e));
				CU_ASSERT(matches(&o, "reserved bit", e->opcode, e->sa));
				cases++;
			}
		}
		for (int bit = 0; bit < 3; bit += 2) {
			struct outcome o = FIELD((int)last, bit);

			zero(cdb, e);
			cdb[last] = (uint8_t)(1u << bit);
			run(cdb, e->cdb_len, (enum pvs_dir)e->dir, buflen_of(e));
			CU_ASSERT(matches(&o, "NACA/LINK", e->opcode, e->sa));
		}
	}
	CU_ASSERT(cases > 300);
}

/* Hand-picked reserved or unsupported fields, independent of the table's data. */
static void test_reserved_examples(void)
{
	static const struct {
		uint8_t cdb[16];
		unsigned len;
		struct outcome o;
	} ex[] = {
	    {{0x00, 0x01}, 6, FIELD(1, 0)},  /* TUR byte 1 */
	    {{0x03, 0x02}, 6, FIELD(1, 1)},  /* REQUEST SENSE */
	    {{0x12, 0x04}, 6, FIELD(1, 2)},  /* INQUIRY reserved bit */
	    {{0x28, 0x02}, 10, FIELD(1, 1)}, /* READ(10) FUA_NV (obsolete) */
	    {{0x28, 0x20}, 10, FIELD(1, 5)}, /* RDPROTECT */
	    {{0x2a, 0x80}, 10, FIELD(1, 7)}, /* WRPROTECT */
	    {{0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, 16, FIELD(14, 7)}, /* group */
	    {{0x1a, 0x10}, 6, FIELD(1, 4)},          /* MODE SENSE(6) LLBAA */
	    {{0x1b, 0, 0, 0x01}, 6, FIELD(3, 0)},    /* POWER CONDITION MODIFIER */
	    {{0x1b, 0, 0, 0, 0x10}, 6, FIELD(4, 4)}, /* POWER CONDITION */
	    {{0x35, 0x04}, 10, FIELD(1, 2)},         /* SYNC_NV (obsolete) */
	    {{0x41, 0x10}, 10, FIELD(1, 4)},         /* ANCHOR */
	    {{0x93, 0x10}, 16, FIELD(1, 4)},         /* ANCHOR */
	    {{0x42, 0x01}, 10, FIELD(1, 0)},         /* UNMAP ANCHOR */
	    {{0x34, 0x01}, 10, FIELD(1, 0)},         /* PRE-FETCH RELADR */
	    {{0x89, 0x04}, 16, FIELD(1, 2)},         /* CAW byte 1 bit 2 */
	    {{0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}, 16, FIELD(10, 0)}, /* CAW byte 10 */
	    {{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}, 16, FIELD(14, 0)}, /* RT */
	    {{0x9e, 0x30}, 16, FIELD(1, 5)},                      /* RC16 byte 1 bit 5 */
	    {{0xa0, 0x01}, 12, FIELD(1, 0)},                      /* REPORT LUNS byte 1 */
	    {{0xa3, 0x2c}, 12, FIELD(1, 5)},                      /* RSOC byte 1 bit 5 */
	    {{0xa3, 0x0c, 0x40}, 12, FIELD(2, 6)},                /* RSOC byte 2 bit 6 */
	    {{0x25, 0, 0, 0, 0, 0, 0, 0, 0x02}, 10, FIELD(8, 1)}, /* RC10 byte 8 */
	    {{0x00, 0, 0, 0, 0, 0x04}, 6, FIELD(5, 2)},           /* NACA */
	    {{0x12, 0, 0, 0, 0, 0xc0}, 6, GOOD},                  /* vendor bits: ignored */
	};

	fresh(0);
	for (unsigned i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		const struct pvsi_opcode *e = pvsi_opcode_find(ex[i].cdb, ex[i].len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		run(ex[i].cdb, ex[i].len, (enum pvs_dir)e->dir, buflen_of(e));
		CU_ASSERT(matches(&ex[i].o, "example", ex[i].cdb[0], (int)i));
	}
}

static const uint8_t lba_ops[] = {0x08, 0x0a, 0x28, 0x2a, 0x2e, 0x2f, 0x34, 0x35, 0x41, 0x88,
                                  0x8a, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0xa8, 0xaa, 0xae, 0xaf};

/* Past the last block, the largest LBA the field holds, and LBA + count wrapping. */
static void test_lba_range(void)
{
	const struct outcome oor = LBA_OUT_OF_RANGE;
	uint8_t cdb[PVS_CDB_MAX];

	for (unsigned spec = 0; spec < 2; spec++) {
		fresh(spec);
		for (unsigned i = 0; i < sizeof(lba_ops); i++) {
			const struct pvsi_opcode *e = entry_of(lba_ops[i]);
			uint64_t blocks = H.lun->nblocks;
			uint64_t max = e->cdb_len == 6    ? 0x1fffff
			               : e->cdb_len == 16 ? UINT64_MAX
			                                  : UINT32_MAX;

			zero(cdb, e);
			lh_put_lba(cdb, e->cdb_len, blocks - 1, 2);
			run(cdb, e->cdb_len, (enum pvs_dir)e->dir, 16);
			CU_ASSERT(matches(&oor, "beyond capacity", e->opcode, 0));
			CU_ASSERT_EQUAL(R.residual, 16);
			zero(cdb, e);
			lh_put_lba(cdb, e->cdb_len, blocks, 1);
			run(cdb, e->cdb_len, (enum pvs_dir)e->dir, 16);
			CU_ASSERT(matches(&oor, "first LBA past the end", e->opcode, 0));
			zero(cdb, e);
			lh_put_lba(cdb, e->cdb_len, max, 1);
			run(cdb, e->cdb_len, (enum pvs_dir)e->dir, 16);
			CU_ASSERT(matches(&oor, "largest LBA", e->opcode, 0));
			if (e->cdb_len >= 12) {
				zero(cdb, e);
				lh_put_lba(cdb, e->cdb_len, max, UINT32_MAX);
				run(cdb, e->cdb_len, (enum pvs_dir)e->dir, 16);
				CU_ASSERT(matches(&oor, "LBA + count wraps", e->opcode, 0));
				zero(cdb, e);
				lh_put_lba(cdb, e->cdb_len, 1, UINT32_MAX);
				run(cdb, e->cdb_len, (enum pvs_dir)e->dir, 16);
				CU_ASSERT(matches(&oor, "count beyond capacity", e->opcode, 0));
			}
		}
		/* nothing was written by any of it */
		{
			uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
			uint8_t blk[4096];

			lh_put32(&rd[2], (uint32_t)H.lun->nblocks - 1);
			memset(blk, 0xaa, sizeof(blk));
			lh_run(&H, I1, rd, 10, PVS_DIR_FROM_DEV, blk, H.lun->block_size, &R);
			CU_ASSERT_EQUAL(R.status, PVS_STATUS_GOOD);
			CU_ASSERT_EQUAL(blk[0], 0);
			CU_ASSERT_EQUAL(blk[H.lun->block_size - 1], 0);
		}
	}
}

/* Allocation length fields: where, how wide, and what else the CDB needs. */
static const struct {
	uint8_t op;
	int sa;
	unsigned off, width;
	uint8_t b2; /* byte 2 (page code etc.) */
} alloc_ops[] = {
    {0x03, -1, 4, 1, 0},    {0x12, -1, 3, 2, 0},    {0x1a, -1, 4, 1, 0x3f}, {0x5a, -1, 7, 2, 0x3f},
    {0x5e, 0, 7, 2, 0},     {0x5e, 1, 7, 2, 0},     {0x5e, 2, 7, 2, 0},     {0x5e, 3, 7, 2, 0},
    {0x9e, 0x10, 10, 4, 0}, {0x9e, 0x12, 10, 4, 0}, {0xa0, -1, 6, 4, 0},    {0xa3, 0x0c, 6, 4, 0},
};

static void put_alloc(uint8_t *cdb, unsigned off, unsigned width, uint32_t v)
{
	if (width == 1)
		cdb[off] = (uint8_t)v;
	else if (width == 2)
		lh_put16(&cdb[off], (uint16_t)v);
	else
		lh_put32(&cdb[off], v);
}

static void test_allocation_length(void)
{
	const struct outcome good = GOOD;
	uint8_t cdb[PVS_CDB_MAX];

	for (unsigned spec = 0; spec < 2; spec++) {
		fresh(spec);
		for (unsigned i = 0; i < sizeof(alloc_ops) / sizeof(alloc_ops[0]); i++) {
			uint32_t max = alloc_ops[i].width == 1   ? 0xff
			               : alloc_ops[i].width == 2 ? 0xffff
			                                         : 0xffffffffu;
			const struct pvsi_opcode *e;

			memset(cdb, 0, sizeof(cdb));
			cdb[0] = alloc_ops[i].op;
			if (alloc_ops[i].sa >= 0)
				cdb[1] = (uint8_t)alloc_ops[i].sa;
			cdb[2] = alloc_ops[i].b2;
			e = pvsi_opcode_find(cdb, 16);
			CU_ASSERT_PTR_NOT_NULL_FATAL(e);

			/* 0: nothing transferred, not an error */
			put_alloc(cdb, alloc_ops[i].off, alloc_ops[i].width, 0);
			memset(buf, 0xa5, sizeof(buf));
			lh_run(&H, I1, cdb, e->cdb_len, PVS_DIR_FROM_DEV, buf, 64, &R);
			CU_ASSERT(
			    matches(&good, "allocation length 0", e->opcode, alloc_ops[i].sa));
			CU_ASSERT_EQUAL(R.residual, 64);
			CU_ASSERT_EQUAL(buf[0], 0xa5);
			/* the largest, into 8 bytes: 8 bytes, nothing beyond */
			put_alloc(cdb, alloc_ops[i].off, alloc_ops[i].width, max);
			memset(buf, 0xa5, sizeof(buf));
			lh_run(&H, I1, cdb, e->cdb_len, PVS_DIR_FROM_DEV, buf, 8, &R);
			CU_ASSERT(
			    matches(&good, "allocation length max", e->opcode, alloc_ops[i].sa));
			CU_ASSERT_EQUAL(R.residual, 0);
			CU_ASSERT_EQUAL(buf[8], 0xa5);
			/* the largest, into a big buffer: all of the response, the rest residual */
			lh_run(&H, I1, cdb, e->cdb_len, PVS_DIR_FROM_DEV, buf, sizeof(buf), &R);
			CU_ASSERT(matches(&good, "allocation length max, 4 KiB", e->opcode,
			                  alloc_ops[i].sa));
			CU_ASSERT(R.residual < sizeof(buf));
			/* and no buffer at all */
			lh_run(&H, I1, cdb, e->cdb_len, PVS_DIR_NONE, NULL, 0, &R);
			CU_ASSERT(matches(&good, "allocation length max, no buffer", e->opcode,
			                  alloc_ops[i].sa));
			CU_ASSERT_EQUAL(R.residual, 0);
		}
	}
}

/* ---- random CDBs ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a fixed seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/*
 * Bytes of the buffers, in order, from @from on, that differ from @shadow
 * (their contents before the command).
 */
static bool changed_from(const struct iovec *iov, unsigned cnt, const uint8_t *shadow,
                         uint64_t from)
{
	uint64_t off = 0;

	for (unsigned i = 0; i < cnt; i++) {
		const uint8_t *p = iov[i].iov_base;

		for (size_t j = 0; j < iov[i].iov_len; j++, off++)
			if (off >= from && p[j] != shadow[off])
				return true;
	}
	return false;
}

#define FUZZ_ITERATIONS 100000

static void test_random_cdbs(void)
{
	uint8_t cdb[PVS_CDB_MAX];
	struct iovec iov[4];
	unsigned bad = 0, good = 0, statuses[256] = {0};

	for (unsigned it = 0; it < FUZZ_ITERATIONS; it++) {
		unsigned cdb_len, iovcnt = (unsigned)(rnd() % 4);
		enum pvs_dir dir = (enum pvs_dir)(rnd() % 4);
		uint64_t initiator = 0x5000 + rnd() % 4;
		uint64_t total = 0;
		static uint8_t shadow[4 * 5000];
		bool ok;

		if (it % 10000 == 0)
			CU_ASSERT_EQUAL_FATAL(lh_reopen(&H, specs[(it / 10000) % 2], NULL), 0);
		/* mostly real commands with mostly-zero bytes, so that they get somewhere */
		for (unsigned i = 0; i < sizeof(cdb); i++)
			cdb[i] = rnd() % 4 == 0 ? (uint8_t)rnd() : 0;
		if (rnd() % 10 < 8) {
			const struct pvsi_opcode *e = &pvsi_opcodes[rnd() % pvsi_nopcodes];

			cdb[0] = e->opcode;
			if (e->flags & PVSI_OP_HAS_SA)
				cdb[1] = (uint8_t)((cdb[1] & 0xe0) | e->sa);
			cdb_len = rnd() % 8 ? e->cdb_len : (unsigned)(rnd() % 40);
			if (rnd() % 2) /* small LBAs and counts */
				for (unsigned i = 2; i < e->cdb_len - 1u; i++)
					cdb[i] = i + 2u >= e->cdb_len ? (uint8_t)(rnd() % 8) : 0;
			if (rnd() % 2)
				cdb[e->cdb_len - 1] = 0;
			if (rnd() % 4 == 0)
				cdb[1] = (e->flags & PVSI_OP_HAS_SA) ? (uint8_t)e->sa : 0;
		} else {
			cdb[0] = (uint8_t)rnd();
			cdb_len = (unsigned)(rnd() % 40);
		}
		for (unsigned i = 0; i < iovcnt; i++) {
			size_t n = rnd() % 3 == 0 ? rnd() % 64 : rnd() % 5000;

			/* exact-size allocations: ASan sees any access past an iovec */
			iov[i].iov_base = malloc(n ? n : 1);
			iov[i].iov_len = n;
			for (size_t j = 0; j < n; j++)
				((uint8_t *)iov[i].iov_base)[j] = rnd() % 3 ? 0 : (uint8_t)rnd();
			memcpy(shadow + total, iov[i].iov_base, n);
			total += n;
		}
		lh_runv(&H, initiator, cdb, cdb_len, dir, iovcnt ? iov : NULL, iovcnt, &R);
		ok = R.ncomplete == 1 && R.sense_len <= PVS_SENSE_MAX && R.residual <= total &&
		     pvs_lun_inflight(H.lun) == 0 && R.host == PVS_HOST_OK;
		if (R.status == PVS_STATUS_CHECK_CONDITION)
			ok = ok && R.sense_len == 18 && (R.sense[0] & 0x7f) == 0x70;
		else
			ok = ok && R.sense_len == 0;
		/*
		 * Only data-in buffers are ever written, and only up to the
		 * transfer: whatever the residual says was not moved is intact.
		 */
		if (ok)
			ok = !changed_from(iov, iovcnt, shadow,
			                   dir == PVS_DIR_FROM_DEV ? total - R.residual : 0);
		if (!ok && bad++ < 10)
			fprintf(stderr,
			        "\n  iteration %u: cdb %02x %02x len %u dir %d data %llu: n=%u "
			        "status %02x sense_len %u residual %u host %u\n",
			        it, cdb[0], cdb[1], cdb_len, dir, (unsigned long long)total,
			        R.ncomplete, R.status, R.sense_len, R.residual, R.host);
		if (R.status == PVS_STATUS_GOOD && cdb_len > 0)
			good++;
		statuses[R.status]++;
		for (unsigned i = 0; i < iovcnt; i++)
			free(iov[i].iov_base);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* the loop reached handlers, not only the dispatcher's refusals */
	CU_ASSERT(good > FUZZ_ITERATIONS / 50);
	CU_ASSERT_EQUAL(statuses[PVS_STATUS_GOOD] + statuses[PVS_STATUS_CHECK_CONDITION] +
	                    statuses[PVS_STATUS_RESERVATION_CONFLICT] + statuses[PVS_STATUS_BUSY] +
	                    statuses[PVS_STATUS_TASK_SET_FULL],
	                FUZZ_ITERATIONS);
}

static const struct cu_test opcodes_without_an_tests[] = {
    {"absent opcodes, every length", test_absent_opcodes},
    {"passthrough-only, denied, unknown service actions", test_not_emulated},
};

static const struct cu_test emulated_opcodes_cdb_tests[] = {
    {"zero CDB: exact, long, short", test_zero_short_long},
    {"every reserved bit, NACA, LINK", test_reserved_bits},
    {"hand-picked reserved fields", test_reserved_examples},
};

static const struct cu_test emulated_opcodes_fields_tests[] = {
    {"LBA range and overflow", test_lba_range},
    {"allocation length 0 and maximal", test_allocation_length},
};

static const struct cu_test random_cdbs_tests[] = {
    {"100k CDBs, invariants only", test_random_cdbs},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("opcodes without an emulation", init, fini, opcodes_without_an_tests),
	    CU_SUITE("emulated opcodes: CDB shape", init, fini, emulated_opcodes_cdb_tests),
	    CU_SUITE("emulated opcodes: fields", init, fini, emulated_opcodes_fields_tests),
	    CU_SUITE("random CDBs", init, fini, random_cdbs_tests),
	};

	return CU_RUN_SUITES(suites);
}
