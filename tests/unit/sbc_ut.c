/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sbc_ut.c - SBC-4 commands of emulated LUNs on mem LUNs with 512 and
 * 4096-byte blocks: capacity, READ/WRITE round trips (last block, iovecs,
 * residuals), write protect, VERIFY / WRITE AND VERIFY compares, WRITE
 * SAME, UNMAP, COMPARE AND WRITE, PRE-FETCH, GET LBA STATUS, SYNCHRONIZE
 * CACHE, START STOP, PREVENT ALLOW; the stage engine with stores that
 * complete later, fail, or complete at once many times in a row, and
 * COMPARE AND WRITE's atomicity against commands in flight and arriving;
 * and the same commands once more on a file LUN.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"

#define I1 0x1001

static struct lh H512, H4K, *L; /* L: the LUN under test in a per-size loop */
static uint8_t *buf, *buf2;
#define BUFSZ (1u << 20)
static struct lh_res R;

static int init(void)
{
	if (lh_open(&H512, "mem:4M", NULL) || lh_open(&H4K, "mem:8M,bs=4096", NULL))
		return -1;
	if (!lh_clear_ua(&H512, I1) || !lh_clear_ua(&H4K, I1))
		return -1;
	buf = malloc(BUFSZ);
	buf2 = malloc(BUFSZ);
	return buf && buf2 ? 0 : -1;
}

static int fini(void)
{
	lh_close(&H512);
	lh_close(&H4K);
	free(buf);
	free(buf2);
	return 0;
}

#define BS     (L->lun->block_size)
#define BLOCKS (L->lun->nblocks)

#define ASSERT_GOOD()                                                                              \
	do {                                                                                       \
		CU_ASSERT_EQUAL(R.ncomplete, 1);                                                   \
		CU_ASSERT_EQUAL(R.status, PVS_STATUS_GOOD);                                        \
		CU_ASSERT_EQUAL(R.sense_len, 0);                                                   \
	} while (0)

#define ASSERT_CC(k, a, q)                                                                         \
	do {                                                                                       \
		CU_ASSERT_EQUAL(R.ncomplete, 1);                                                   \
		CU_ASSERT_EQUAL(R.status, PVS_STATUS_CHECK_CONDITION);                             \
		CU_ASSERT_EQUAL(R.key, (k));                                                       \
		CU_ASSERT_EQUAL(R.asc, (a));                                                       \
		CU_ASSERT_EQUAL(R.ascq, (q));                                                      \
	} while (0)

#define ASSERT_FIELD(cd_, fld, bt)                                                                 \
	do {                                                                                       \
		CU_ASSERT_EQUAL(R.cd, (cd_));                                                      \
		CU_ASSERT_EQUAL(R.field, (fld));                                                   \
		CU_ASSERT_EQUAL(R.bit, (bt));                                                      \
	} while (0)

static void each_size(void (*fn)(void))
{
	L = &H512;
	fn();
	L = &H4K;
	fn();
}

/* Content of block @lba in generation @gen: every byte depends on both. */
static void pattern(uint8_t *p, uint64_t lba, uint64_t n, uint32_t bs, uint8_t gen)
{
	for (uint64_t b = 0; b < n; b++)
		for (uint32_t i = 0; i < bs; i++)
			p[b * bs + i] = (uint8_t)((lba + b) * 131 + i * 7 + gen * 17 + (i >> 8));
}

/* CDB of the READ/WRITE/VERIFY family of size @len (6, 10, 12, 16). */
static unsigned rw_cdb(uint8_t *cdb, uint8_t op, unsigned len, uint8_t b1, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[1] = b1;
	lh_put_lba(cdb, len, lba, n);
	return len;
}

static void rd(uint8_t op, unsigned len, uint64_t lba, uint32_t n, size_t buflen)
{
	uint8_t cdb[16];

	memset(buf, 0xaa, buflen);
	lh_run(L, I1, cdb, rw_cdb(cdb, op, len, 0, lba, n), PVS_DIR_FROM_DEV, buf, buflen, &R);
}

static void wr(uint8_t op, unsigned len, uint8_t b1, uint64_t lba, uint32_t n, const void *data,
               size_t buflen)
{
	uint8_t cdb[16];

	memcpy(buf, data, buflen);
	lh_run(L, I1, cdb, rw_cdb(cdb, op, len, b1, lba, n), PVS_DIR_TO_DEV, buf, buflen, &R);
}

static void none(const uint8_t *cdb, unsigned len)
{
	lh_run(L, I1, cdb, len, PVS_DIR_NONE, NULL, 0, &R);
}

/* Whether blocks [lba, lba+n) hold generation @gen (or zeroes when gen < 0). */
static bool medium_is(uint64_t lba, uint32_t n, int gen)
{
	rd(0x88, 16, lba, n, (size_t)n * BS);
	if (R.status != PVS_STATUS_GOOD)
		return false;
	if (gen < 0) {
		memset(buf2, 0, (size_t)n * BS);
	} else {
		pattern(buf2, lba, n, BS, (uint8_t)gen);
	}
	return memcmp(buf, buf2, (size_t)n * BS) == 0;
}

static void put(uint64_t lba, uint32_t n, uint8_t gen)
{
	pattern(buf2, lba, n, BS, gen);
	wr(0x8a, 16, 0, lba, n, buf2, (size_t)n * BS);
	CU_ASSERT_EQUAL(R.status, PVS_STATUS_GOOD);
}

/* ---- READ CAPACITY ---- */

static void body_read_capacity(void)
{
	uint8_t rc10[10] = {0x25}, rc16[16] = {0x9e, 0x10};
	uint8_t exp[32];

	memset(buf, 0xaa, 64);
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	lh_put32(&exp[0], (uint32_t)BLOCKS - 1);
	lh_put32(&exp[4], BS);
	CU_ASSERT_EQUAL(memcmp(buf, exp, 8), 0);
	CU_ASSERT_EQUAL(R.residual, 56);

	memset(exp, 0, sizeof(exp));
	lh_put64(&exp[0], BLOCKS - 1);
	lh_put32(&exp[8], BS);
	exp[13] = BS == 512 ? 3 : 0;       /* 4 KiB physical blocks */
	exp[14] = L->lun->thin ? 0xc0 : 0; /* LBPME, LBPRZ */
	lh_put32(&rc16[10], 32);
	memset(buf, 0xaa, 64);
	lh_run(L, I1, rc16, 16, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(memcmp(buf, exp, 32), 0);
	CU_ASSERT_EQUAL(R.residual, 32);
	lh_put32(&rc16[10], 12);
	memset(buf, 0xaa, 64);
	lh_run(L, I1, rc16, 16, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 52);
	CU_ASSERT_EQUAL(buf[12], 0xaa);
	lh_put32(&rc16[10], 0);
	lh_run(L, I1, rc16, 16, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 64);

	/* PMI 0 with an LBA is invalid; PMI 1 accepts one */
	rc10[5] = 1;
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 2, -1);
	rc10[8] = 1;
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
	ASSERT_GOOD();
	rc16[9] = 1;
	lh_put32(&rc16[10], 32);
	lh_run(L, I1, rc16, 16, PVS_DIR_FROM_DEV, buf, 32, &R);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 2, -1);
}

static void test_read_capacity(void)
{
	each_size(body_read_capacity);
}

/* Over 2^32 blocks READ CAPACITY(10) says FFFFFFFFh; no I/O is done. */
static void test_read_capacity_large(void)
{
	uint8_t rc10[10] = {0x25}, rc16[16] = {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32};
	uint64_t saved;

	L = &H512;
	saved = L->lun->nblocks;
	L->lun->nblocks = 0x100000005ull;
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
	CU_ASSERT_EQUAL(memcmp(buf, "\xff\xff\xff\xff\x00\x00\x02\x00", 8), 0);
	lh_run(L, I1, rc16, 16, PVS_DIR_FROM_DEV, buf, 32, &R);
	CU_ASSERT_EQUAL(memcmp(buf, "\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x02\x00", 12), 0);
	L->lun->nblocks = 0x100000000ull; /* last LBA FFFFFFFFh */
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
	CU_ASSERT_EQUAL(memcmp(buf, "\xff\xff\xff\xff", 4), 0);
	L->lun->nblocks = 0xffffffffull; /* last LBA FFFFFFFEh still fits */
	lh_run(L, I1, rc10, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
	CU_ASSERT_EQUAL(memcmp(buf, "\xff\xff\xff\xfe", 4), 0);
	L->lun->nblocks = saved;
}

/* ---- READ / WRITE ---- */

static void body_round_trips(void)
{
	static const struct {
		uint8_t rop, wop;
		unsigned len;
	} fam[] = {{0x08, 0x0a, 6}, {0x28, 0x2a, 10}, {0xa8, 0xaa, 12}, {0x88, 0x8a, 16}};
	uint64_t lbas[] = {0, 1, 100, BLOCKS - 8, BLOCKS - 1};

	for (unsigned f = 0; f < 4; f++) {
		for (unsigned i = 0; i < sizeof(lbas) / sizeof(lbas[0]); i++) {
			uint64_t lba = lbas[i];
			uint32_t n = lba + 3 <= BLOCKS ? 3 : (uint32_t)(BLOCKS - lba);
			uint8_t gen = (uint8_t)(f * 10 + i);

			if (fam[f].len == 6 && lba > 0x1fffff)
				continue;
			pattern(buf2, lba, n, BS, gen);
			wr(fam[f].wop, fam[f].len, 0, lba, n, buf2, (size_t)n * BS);
			ASSERT_GOOD();
			CU_ASSERT_EQUAL(R.residual, 0);
			rd(fam[f].rop, fam[f].len, lba, n, (size_t)n * BS);
			ASSERT_GOOD();
			CU_ASSERT_EQUAL(R.residual, 0);
			CU_ASSERT_EQUAL(memcmp(buf, buf2, (size_t)n * BS), 0);
			/* and through another family: same medium */
			CU_ASSERT_TRUE(medium_is(lba, n, gen));
		}
	}
	/* FUA and DPO on a write are accepted */
	pattern(buf2, 5, 1, BS, 77);
	wr(0x2a, 10, 0x18, 5, 1, buf2, BS);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(medium_is(5, 1, 77));
}

static void test_round_trips(void)
{
	each_size(body_round_trips);
}

static void body_iovecs(void)
{
	uint8_t cdb[16];
	struct iovec iov[4];
	size_t a = 100, b = BS + 13, c = 2 * (size_t)BS - a - b;

	/* two blocks written from three odd-sized pieces, read into four */
	pattern(buf2, 40, 2, BS, 9);
	memcpy(buf, buf2, 2 * (size_t)BS);
	iov[0] = (struct iovec){buf, a};
	iov[1] = (struct iovec){buf + a, b};
	iov[2] = (struct iovec){buf + a + b, c};
	lh_runv(L, I1, cdb, rw_cdb(cdb, 0x2a, 10, 0, 40, 2), PVS_DIR_TO_DEV, iov, 3, &R);
	ASSERT_GOOD();
	memset(buf, 0xaa, 4 * (size_t)BS);
	iov[0] = (struct iovec){buf, 1};
	iov[1] = (struct iovec){buf + 1, BS};
	iov[2] = (struct iovec){buf + 1 + BS, BS - 1};
	iov[3] = (struct iovec){buf + 2 * (size_t)BS, 2 * (size_t)BS}; /* beyond the transfer */
	lh_runv(L, I1, cdb, rw_cdb(cdb, 0x28, 10, 0, 40, 2), PVS_DIR_FROM_DEV, iov, 4, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 2 * BS);
	CU_ASSERT_EQUAL(memcmp(buf, buf2, 2 * (size_t)BS), 0);
	CU_ASSERT_EQUAL(buf[2 * (size_t)BS], 0xaa);
	CU_ASSERT_EQUAL(iov[3].iov_len, 2 * (size_t)BS); /* the core restored its trim */
	CU_ASSERT_EQUAL(iov[2].iov_len, BS - 1);
}

static void test_iovecs(void)
{
	each_size(body_iovecs);
}

static void body_lengths(void)
{
	uint8_t cdb[16];
	uint64_t saved = BLOCKS;

	/* longer buffers: the rest is residual and untouched */
	put(7, 1, 3);
	rd(0x28, 10, 7, 1, 3 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 2 * BS);
	CU_ASSERT_EQUAL(buf[BS], 0xaa);
	pattern(buf2, 8, 1, BS, 4);
	wr(0x2a, 10, 0, 8, 1, buf2, 2 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, BS);
	CU_ASSERT_TRUE(medium_is(7, 1, 3));
	CU_ASSERT_TRUE(medium_is(8, 1, 4));
	/* shorter buffers: refused before any I/O, pointing at the length */
	rd(0x28, 10, 7, 2, (size_t)BS + BS / 2);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 7, -1);
	CU_ASSERT_EQUAL(R.residual, BS + BS / 2);
	CU_ASSERT_EQUAL(buf[0], 0xaa);
	pattern(buf2, 7, 2, BS, 5);
	wr(0x8a, 16, 0, 7, 2, buf2, 2 * (size_t)BS - 1);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 10, -1);
	CU_ASSERT_TRUE(medium_is(7, 1, 3));
	/* transfer length 0: nothing moves, still range-checked */
	rd(0x28, 10, 7, 0, 64);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 64);
	CU_ASSERT_EQUAL(buf[0], 0xaa);
	rd(0x28, 10, BLOCKS, 0, 64);
	ASSERT_CC(5, 0x21, 0);
	/* READ(6) transfer length 0 means 256 blocks */
	rd(0x08, 6, 0, 0, 256 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	rd(0x08, 6, 0, 0, 255 * (size_t)BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 4, -1);
	/* out of range, and LBA + length wrapping around 2^64 */
	rd(0x28, 10, BLOCKS - 1, 2, 2 * (size_t)BS);
	ASSERT_CC(5, 0x21, 0);
	CU_ASSERT_EQUAL(R.residual, 2 * BS);
	rd(0x88, 16, UINT64_MAX, 1, BS);
	ASSERT_CC(5, 0x21, 0);
	rd(0x88, 16, UINT64_MAX - 1, 4, 4 * (size_t)BS);
	ASSERT_CC(5, 0x21, 0);
	rd(0x88, 16, 1, UINT32_MAX, BS);
	ASSERT_CC(5, 0x21, 0);
	wr(0x8a, 16, 0, BLOCKS, 1, buf2, BS);
	ASSERT_CC(5, 0x21, 0);
	/* MAXIMUM TRANSFER LENGTH (8 MiB) on a LUN claiming to be larger; no I/O happens */
	L->lun->nblocks = 1ull << 40;
	rd(0x88, 16, 0, ((8u << 20) / BS) + 1, BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 10, -1);
	lh_run(L, I1, cdb, rw_cdb(cdb, 0x8a, 16, 0, 0, UINT32_MAX), PVS_DIR_TO_DEV, buf, BS, &R);
	ASSERT_CC(5, 0x24, 0);
	L->lun->nblocks = saved;
}

static void test_lengths(void)
{
	each_size(body_lengths);
}

/* ---- write protect ---- */

static void test_write_protect(void)
{
	struct lh ro;
	struct pvs_lun_opts o = {.ro = true};
	static const uint8_t writes[][16] = {
	    {0x0a, 0, 0, 0, 1, 0},
	    {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0},
	    {0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	    {0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	    {0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0},
	    {0x8e, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	    {0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0},
	    {0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	    {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, /* COMPARE AND WRITE */
	};
	uint8_t unmap[10] = {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0};
	uint8_t list[24] = {0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t rd10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, sync[10] = {0x35};
	uint8_t vfy[10] = {0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0};

	CU_ASSERT_EQUAL_FATAL(lh_open(&ro, "mem:1M", &o), 0);
	lh_clear_ua(&ro, I1);
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		unsigned len = writes[i][0] < 0x20    ? 6
		               : writes[i][0] >= 0xa0 ? 12
		               : writes[i][0] >= 0x80 ? 16
		                                      : 10;

		memset(buf, 0x5a, 512);
		lh_run(&ro, I1, writes[i], len, PVS_DIR_TO_DEV, buf, 512, &R);
		ASSERT_CC(7, 0x27, 0x00);
		CU_ASSERT_EQUAL(R.residual, 512);
	}
	memcpy(buf, list, sizeof(list));
	lh_run(&ro, I1, unmap, 10, PVS_DIR_TO_DEV, buf, 24, &R);
	ASSERT_CC(7, 0x27, 0x00);
	memset(buf, 0xaa, 512);
	lh_run(&ro, I1, rd10, 10, PVS_DIR_FROM_DEV, buf, 512, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(buf[0], 0); /* nothing got written */
	lh_run(&ro, I1, vfy, 10, PVS_DIR_TO_DEV, buf, 512, &R);
	ASSERT_GOOD();
	lh_run(&ro, I1, sync, 10, PVS_DIR_NONE, NULL, 0, &R);
	ASSERT_GOOD();
	lh_close(&ro);
}

/* ---- VERIFY, WRITE AND VERIFY ---- */

static void verify(uint8_t op, unsigned len, uint8_t bytchk, uint64_t lba, uint32_t n,
                   const void *data, size_t buflen)
{
	uint8_t cdb[16];

	memcpy(buf, data, buflen);
	lh_run(L, I1, cdb, rw_cdb(cdb, op, len, (uint8_t)(bytchk << 1), lba, n), PVS_DIR_TO_DEV,
	       buf, buflen, &R);
}

static uint32_t info(void)
{
	return (uint32_t)R.sense[3] << 24 | R.sense[4] << 16 | R.sense[5] << 8 | R.sense[6];
}

static void body_verify(void)
{
	uint32_t n = (uint32_t)((150u << 10) / BS) + 3; /* more than two scratch loads */

	put(200, n, 21);
	pattern(buf2, 200, n, BS, 21);
	/* BYTCHK 0: the range only, no data */
	verify(0x2f, 10, 0, 200, n, buf2, 0);
	ASSERT_GOOD();
	verify(0x2f, 10, 0, BLOCKS - 1, 2, buf2, 0);
	ASSERT_CC(5, 0x21, 0);
	/* BYTCHK 1: equal */
	verify(0x2f, 10, 1, 200, n, buf2, (size_t)n * BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	verify(0x8f, 16, 1, 200, n, buf2, (size_t)n * BS + 100);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 100);
	verify(0xaf, 12, 1, 200, 2, buf2, 2 * (size_t)BS);
	ASSERT_GOOD();
	/* a difference in the last scratch load: offset of the first differing byte */
	buf2[(size_t)(n - 2) * BS + 77] ^= 0x01;
	buf2[(size_t)(n - 1) * BS] ^= 0x01;
	verify(0x2f, 10, 1, 200, n, buf2, (size_t)n * BS);
	ASSERT_CC(0x0e, 0x1d, 0x00);
	CU_ASSERT_EQUAL(R.sense[0], 0xf0); /* VALID */
	CU_ASSERT_EQUAL(info(), (n - 2) * BS + 77);
	/* BYTCHK 11b: one block against every block of the range */
	memset(buf2, 0x3c, BS);
	wr(0x41, 10, 0, 300, 5, buf2, BS); /* WRITE SAME */
	ASSERT_GOOD();
	verify(0x2f, 10, 3, 300, 5, buf2, BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	buf2[9] = 0x3d;
	verify(0x2f, 10, 3, 300, 5, buf2, BS);
	ASSERT_CC(0x0e, 0x1d, 0x00);
	CU_ASSERT_EQUAL(info(), 9);
	buf2[9] = 0x3c;
	put(302, 1, 1);
	memset(buf2, 0x3c, BS);
	verify(0x8f, 16, 3, 300, 5, buf2, BS);
	ASSERT_CC(0x0e, 0x1d, 0x00);
	CU_ASSERT_EQUAL(info() / BS, 2);
	/* BYTCHK 10b is reserved; data shorter than needed */
	verify(0x2f, 10, 2, 300, 5, buf2, BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 1, 2);
	verify(0x2f, 10, 1, 300, 5, buf2, BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 7, -1);
	verify(0x2f, 10, 3, 300, 5, buf2, BS - 1);
	ASSERT_CC(5, 0x24, 0);
	/* verification length 0 */
	verify(0x2f, 10, 1, 300, 0, buf2, 0);
	ASSERT_GOOD();
}

static void test_verify(void)
{
	each_size(body_verify);
}

static void body_write_and_verify(void)
{
	uint32_t n = (uint32_t)((100u << 10) / BS) + 1;

	pattern(buf2, 500, n, BS, 33);
	wr(0x2e, 10, 0x02, 500, n, buf2, (size_t)n * BS); /* BYTCHK 1 */
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	CU_ASSERT_TRUE(medium_is(500, n, 33));
	pattern(buf2, 500, 2, BS, 34);
	wr(0xae, 12, 0x00, 500, 2, buf2, 2 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(medium_is(500, 2, 34));
	wr(0x8e, 16, 0x04, 500, 2, buf2, 2 * (size_t)BS); /* BYTCHK 10b */
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 1, 2);
	wr(0x8e, 16, 0x06, 500, 2, buf2, 2 * (size_t)BS); /* BYTCHK 11b */
	ASSERT_CC(5, 0x24, 0);
}

static void test_write_and_verify(void)
{
	each_size(body_write_and_verify);
}

/* ---- WRITE SAME ---- */

static void ws(uint8_t op, uint8_t b1, uint64_t lba, uint32_t n, const void *block, size_t len)
{
	uint8_t cdb[16];

	memset(cdb, 0, sizeof(cdb));
	cdb[0] = op;
	cdb[1] = b1;
	if (op == 0x41) {
		lh_put32(&cdb[2], (uint32_t)lba);
		lh_put16(&cdb[7], (uint16_t)n);
	} else {
		lh_put64(&cdb[2], lba);
		lh_put32(&cdb[10], n);
	}
	if (len)
		memcpy(buf, block, len);
	lh_run(L, I1, cdb, op == 0x41 ? 10 : 16, len ? PVS_DIR_TO_DEV : PVS_DIR_NONE, buf, len, &R);
}

static bool blocks_are(uint64_t lba, uint32_t n, const uint8_t *block)
{
	rd(0x88, 16, lba, n, (size_t)n * BS);
	for (uint32_t b = 0; b < n; b++)
		if (memcmp(buf + (size_t)b * BS, block, BS))
			return false;
	return R.status == PVS_STATUS_GOOD;
}

static void body_write_same(void)
{
	uint32_t n = (uint32_t)((150u << 10) / BS) + 5; /* several scratch loads */
	uint8_t block[4096], zero[8192];

	memset(zero, 0, sizeof(zero));
	pattern(block, 1, 1, BS, 99);
	put(999, 1, 1);
	put(1000 + n, 1, 2);
	ws(0x41, 0, 1000, n, block, BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	CU_ASSERT_TRUE(blocks_are(1000, n, block));
	CU_ASSERT_TRUE(medium_is(999, 1, 1)); /* neighbours untouched */
	CU_ASSERT_TRUE(medium_is(1000 + n, 1, 2));
	/* zero block: write zeroes; with UNMAP: deallocated, reads zeroes */
	ws(0x93, 0, 1000, 10, zero, BS);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(blocks_are(1000, 10, zero));
	CU_ASSERT_TRUE(blocks_are(1010, 1, block));
	ws(0x93, 0x08, 1010, 20, zero, 2 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, BS);
	CU_ASSERT_TRUE(blocks_are(1010, 20, zero));
	CU_ASSERT_TRUE(blocks_are(1030, 1, block));
	/* UNMAP with a non-zero pattern writes the pattern */
	ws(0x41, 0x08, 1030, 3, block, BS);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(blocks_are(1030, 3, block));
	/* NDOB: no data-out, zeroes; a buffer given anyway is all residual */
	lh_put32(block, 0xdeadbeef);
	ws(0x93, 0x09, 1030, 2, block, 64);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 64);
	CU_ASSERT_TRUE(blocks_are(1030, 2, zero));
	/* WSNZ, range, data length, MAXIMUM WRITE SAME LENGTH */
	ws(0x41, 0, 1000, 0, block, BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 7, -1);
	ws(0x93, 0, 1000, 0, block, BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 10, -1);
	ws(0x93, 0, BLOCKS - 1, 2, block, BS);
	ASSERT_CC(5, 0x21, 0);
	ws(0x93, 0, UINT64_MAX, 1, block, BS);
	ASSERT_CC(5, 0x21, 0);
	ws(0x41, 0, 1000, 1, block, BS - 1);
	ASSERT_CC(5, 0x24, 0);
	ws(0x41, 0x02, 1000, 1, block, BS); /* obsolete LBDATA */
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 1, 1);
	{
		uint64_t saved = BLOCKS;

		L->lun->nblocks = 1ull << 40;
		ws(0x93, 0, 0, (1u << 22) + 1, block, BS);
		ASSERT_CC(5, 0x24, 0);
		ASSERT_FIELD(1, 10, -1);
		L->lun->nblocks = saved;
	}
}

static void test_write_same(void)
{
	each_size(body_write_same);
}

/* ---- UNMAP ---- */

static void unmap(const uint8_t *list, uint16_t len, size_t buflen)
{
	uint8_t cdb[10] = {0x42};

	lh_put16(&cdb[7], len);
	memcpy(buf, list, buflen);
	lh_run(L, I1, cdb, 10, PVS_DIR_TO_DEV, buf, buflen, &R);
}

static size_t unmap_list(uint8_t *l, unsigned count, const uint64_t *lba, const uint32_t *n)
{
	memset(l, 0, 8 + 16 * (size_t)count);
	lh_put16(&l[0], (uint16_t)(6 + 16 * count));
	lh_put16(&l[2], (uint16_t)(16 * count));
	for (unsigned i = 0; i < count; i++) {
		lh_put64(&l[8 + 16 * i], lba[i]);
		lh_put32(&l[8 + 16 * i + 8], n[i]);
	}
	return 8 + 16 * (size_t)count;
}

static void body_unmap(void)
{
	uint8_t l[8 + 16 * 300];
	uint64_t lba[3] = {10, 100, 200};
	uint32_t n[3] = {10, 4, 0};
	size_t len;

	put(9, 12, 40);
	put(99, 6, 41);
	len = unmap_list(l, 3, lba, n);
	unmap(l, (uint16_t)len, len + 7);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 7);
	CU_ASSERT_TRUE(medium_is(10, 10, -1));
	CU_ASSERT_TRUE(medium_is(100, 4, -1));
	CU_ASSERT_TRUE(medium_is(9, 1, 40));
	CU_ASSERT_TRUE(medium_is(20, 1, 40));
	CU_ASSERT_TRUE(medium_is(99, 1, 41));
	CU_ASSERT_TRUE(medium_is(104, 1, 41));

	/* one bad descriptor: nothing at all is unmapped */
	put(10, 2, 42);
	lba[0] = 10;
	n[0] = 2;
	lba[1] = BLOCKS - 1;
	n[1] = 2;
	len = unmap_list(l, 2, lba, n);
	unmap(l, (uint16_t)len, len);
	ASSERT_CC(5, 0x21, 0);
	CU_ASSERT_TRUE(medium_is(10, 2, 42));
	lba[1] = UINT64_MAX;
	n[1] = 1;
	len = unmap_list(l, 2, lba, n);
	unmap(l, (uint16_t)len, len);
	ASSERT_CC(5, 0x21, 0);
	lba[1] = 0;
	n[1] = (1u << 20) + 1; /* over MAXIMUM UNMAP LBA COUNT */
	len = unmap_list(l, 2, lba, n);
	unmap(l, (uint16_t)len, len);
	ASSERT_CC(5, 0x26, 0);
	ASSERT_FIELD(0, 8 + 16 + 8, -1);
	CU_ASSERT_TRUE(medium_is(10, 2, 42));

	/* lengths */
	unmap(l, 0, 0);
	ASSERT_GOOD();
	unmap(l, 7, 7);
	ASSERT_CC(5, 0x1a, 0);
	len = unmap_list(l, 1, lba, n);
	unmap(l, (uint16_t)len, len - 1);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 7, -1);
	lh_put16(&l[2], 32); /* block descriptor data length beyond the list */
	unmap(l, (uint16_t)len, len);
	ASSERT_CC(5, 0x1a, 0);
	/* a trailing partial descriptor is ignored */
	lba[0] = 10;
	n[0] = 1;
	len = unmap_list(l, 1, lba, n);
	lh_put16(&l[2], 16 + 8);
	memset(&l[24], 0xff, 8);
	unmap(l, (uint16_t)(len + 8), len + 8);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(medium_is(10, 1, -1));
	CU_ASSERT_TRUE(medium_is(11, 1, 42));
	/*
	 * MAXIMUM UNMAP LBA COUNT bounds the sum over the descriptors, each
	 * within the limit (SBC-4 5.32.2): descriptors covering the whole LUN,
	 * as many as reach the limit exactly, then one more.
	 */
	if ((1u << 20) % BLOCKS == 0 && (1u << 20) / BLOCKS < 256) {
		unsigned k = (unsigned)((1u << 20) / BLOCKS);
		uint64_t all_lba[256];
		uint32_t all_n[256];

		for (unsigned i = 0; i <= k; i++) {
			all_lba[i] = 0;
			all_n[i] = (uint32_t)BLOCKS;
		}
		put(0, 1, 43);
		put(BLOCKS - 1, 1, 43);
		len = unmap_list(l, k + 1, all_lba, all_n);
		unmap(l, (uint16_t)len, len);
		ASSERT_CC(5, 0x26, 0);
		ASSERT_FIELD(0, 8 + 16 * (int)k + 8, -1);
		CU_ASSERT_TRUE(medium_is(0, 1, 43));
		CU_ASSERT_TRUE(medium_is(BLOCKS - 1, 1, 43));
		len = unmap_list(l, k, all_lba, all_n);
		unmap(l, (uint16_t)len, len);
		ASSERT_GOOD();
		CU_ASSERT_TRUE(medium_is(0, 1, -1));
		CU_ASSERT_TRUE(medium_is(BLOCKS - 1, 1, -1));
	}
	/* more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
	{
		uint64_t many_lba[257];
		uint32_t many_n[257];

		for (unsigned i = 0; i < 257; i++) {
			many_lba[i] = i;
			many_n[i] = 1;
		}
		len = unmap_list(l, 257, many_lba, many_n);
		unmap(l, (uint16_t)len, len);
		ASSERT_CC(5, 0x26, 0);
		ASSERT_FIELD(0, 2, -1);
		len = unmap_list(l, 256, many_lba, many_n);
		unmap(l, (uint16_t)len, len);
		ASSERT_GOOD();
	}
	/* ANCHOR is not supported */
	{
		uint8_t cdb[10] = {0x42, 0x01};

		lh_run(L, I1, cdb, 10, PVS_DIR_NONE, NULL, 0, &R);
		ASSERT_CC(5, 0x24, 0);
		ASSERT_FIELD(1, 1, 0);
	}
}

static void test_unmap(void)
{
	each_size(body_unmap);
}

/* Without the ability to deallocate, UNMAP does not exist. */
static void test_unmap_not_thin(void)
{
	uint8_t cdb[10] = {0x42}, b2[6] = {0x12, 0x01, 0xb2, 0, 64, 0};
	uint8_t rsoc[12] = {0xa3, 0x0c, 0x01, 0x42, 0, 0, 0, 0, 0, 64};

	L = &H512;
	L->lun->thin = false;
	none(cdb, 10);
	ASSERT_CC(5, 0x20, 0);
	memset(buf, 0xaa, 64);
	lh_run(L, I1, b2, 6, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(memcmp(buf, "\x00\xb2\x00\x04\x00\x00\x00\x00", 8), 0);
	lh_run(L, I1, rsoc, 12, PVS_DIR_FROM_DEV, buf, 64, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(buf[1], 0x01);
	L->lun->thin = true;
}

/* ---- COMPARE AND WRITE ---- */

static void caw(uint8_t b1, uint64_t lba, uint32_t n, const void *data, size_t buflen)
{
	uint8_t cdb[16] = {0x89};

	cdb[1] = b1;
	lh_put64(&cdb[2], lba);
	cdb[13] = (uint8_t)n;
	memcpy(buf, data, buflen);
	lh_run(L, I1, cdb, 16, PVS_DIR_TO_DEV, buf, buflen, &R);
}

static void body_caw(void)
{
	uint32_t max = BS == 512 ? 128 : 16; /* the 64 KiB scratch */
	uint8_t cdb[16] = {0x89};

	/* equal: the second half is written */
	put(600, 3, 70);
	pattern(buf2, 600, 3, BS, 70);
	pattern(buf2 + 3 * (size_t)BS, 600, 3, BS, 71);
	caw(0, 600, 3, buf2, 6 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 0);
	CU_ASSERT_TRUE(medium_is(600, 3, 71));
	/* one byte differs: nothing written, INFORMATION is its offset in the data-out */
	pattern(buf2, 600, 3, BS, 71);
	buf2[2 * (size_t)BS + 5] ^= 0x40;
	pattern(buf2 + 3 * (size_t)BS, 600, 3, BS, 72);
	caw(0x18, 600, 3, buf2, 6 * (size_t)BS); /* DPO and FUA are accepted */
	ASSERT_CC(0x0e, 0x1d, 0x00);
	CU_ASSERT_EQUAL(R.sense[0], 0xf0); /* VALID */
	CU_ASSERT_EQUAL(info(), 2 * BS + 5);
	CU_ASSERT_TRUE(medium_is(600, 3, 71));
	pattern(buf2, 600, 1, BS, 71);
	buf2[0] ^= 0x01;
	pattern(buf2 + BS, 600, 1, BS, 73);
	caw(0, 600, 1, buf2, 2 * (size_t)BS);
	ASSERT_CC(0x0e, 0x1d, 0x00);
	CU_ASSERT_EQUAL(R.sense[0], 0xf0);
	CU_ASSERT_EQUAL(info(), 0);
	CU_ASSERT_TRUE(medium_is(600, 3, 71));
	/* the data-out differs only in the half that is written: that is a match */
	pattern(buf2, 600, 1, BS, 71);
	memset(buf2 + BS, 0, BS);
	caw(0, 600, 1, buf2, 2 * (size_t)BS);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(medium_is(600, 1, -1));
	CU_ASSERT_TRUE(medium_is(601, 2, 71));
	/* MAXIMUM COMPARE AND WRITE LENGTH at the last blocks, FUA, a longer buffer */
	put(BLOCKS - max, max, 74);
	pattern(buf2, BLOCKS - max, max, BS, 74);
	pattern(buf2 + (size_t)max * BS, BLOCKS - max, max, BS, 75);
	caw(0x08, BLOCKS - max, max, buf2, 2 * (size_t)max * BS + 10);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 10);
	CU_ASSERT_TRUE(medium_is(BLOCKS - max, max, 75));
	/* one block more than the limit, beyond the end, a short data-out */
	caw(0, 0, max + 1, buf2, 2 * (size_t)(max + 1) * BS);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 13, -1);
	caw(0, BLOCKS - 1, 2, buf2, 4 * (size_t)BS);
	ASSERT_CC(5, 0x21, 0);
	caw(0, UINT64_MAX, 1, buf2, 2 * (size_t)BS);
	ASSERT_CC(5, 0x21, 0);
	pattern(buf2, 601, 2, BS, 71);
	caw(0, 601, 2, buf2, 4 * (size_t)BS - 1);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 13, -1);
	CU_ASSERT_TRUE(medium_is(601, 2, 71));
	/* zero blocks: nothing compared or written, not an error */
	caw(0, 601, 0, buf2, 64);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 64);
	caw(0, BLOCKS, 0, buf2, 0);
	ASSERT_CC(5, 0x21, 0);
	/* reserved: bytes 10-12 (the field is byte 13 alone), WRPROTECT */
	cdb[12] = 1;
	lh_run(L, I1, cdb, 16, PVS_DIR_TO_DEV, buf, 2 * (size_t)BS, &R);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 12, 0);
	cdb[12] = 0;
	cdb[1] = 0x20;
	lh_run(L, I1, cdb, 16, PVS_DIR_TO_DEV, buf, 2 * (size_t)BS, &R);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 1, 5);
}

static void test_caw(void)
{
	each_size(body_caw);
}

/* ---- GET LBA STATUS ---- */

struct lbas {
	uint64_t lba;
	uint32_t n;
	uint8_t status;
};

/*
 * GET LBA STATUS from @lba with allocation length @alloc into a buffer of
 * @buflen; the descriptors transferred land in @d (at most 80).  Returns
 * how many the PARAMETER DATA LENGTH announces.
 */
static unsigned gls_run(uint64_t lba, uint32_t alloc, size_t buflen, struct lbas *d)
{
	uint8_t cdb[16] = {0x9e, 0x12};
	size_t got;

	lh_put64(&cdb[2], lba);
	lh_put32(&cdb[10], alloc);
	memset(buf, 0xaa, 8 + 16 * 80);
	lh_run(L, I1, cdb, 16, PVS_DIR_FROM_DEV, buf, buflen, &R);
	if (R.status != PVS_STATUS_GOOD || buflen - R.residual < 4)
		return 0;
	got = (buflen - R.residual - 8) / 16;
	for (size_t i = 0; i < got && i < 80; i++) {
		d[i].lba = pvsi_be64(&buf[8 + 16 * i]);
		d[i].n = pvsi_be32(&buf[8 + 16 * i + 8]);
		d[i].status = buf[8 + 16 * i + 12];
	}
	return (pvsi_be32(buf) - 4) / 16;
}

static unsigned gls(uint64_t lba, struct lbas *d)
{
	return gls_run(lba, 8 + 16 * 80, 8 + 16 * 80, d);
}

#define ASSERT_DESC(d_, l, c, st_)                                                                 \
	do {                                                                                       \
		CU_ASSERT_EQUAL((d_).lba, (l));                                                    \
		CU_ASSERT_EQUAL((d_).n, (c));                                                      \
		CU_ASSERT_EQUAL((d_).status, (st_));                                               \
	} while (0)

static void body_gls(void)
{
	struct lbas d[80];
	uint8_t zero[4096], ws16[16] = {0x93, 0x08};
	uint8_t l[8 + 16];
	uint64_t ul = 11;
	uint32_t un = 1;
	unsigned n;

	/* nothing written yet: all deallocated, one descriptor to the end */
	CU_ASSERT_EQUAL(gls(0, d), 1);
	ASSERT_GOOD();
	ASSERT_DESC(d[0], 0, BLOCKS, 1);
	CU_ASSERT_EQUAL(pvsi_be32(buf), 20);
	CU_ASSERT_EQUAL(buf[7], 0x03 << 1); /* completed: capacity of the medium */
	CU_ASSERT_EQUAL(R.residual, 16 * 79);
	CU_ASSERT_EQUAL(gls(5, d), 1);
	ASSERT_DESC(d[0], 5, BLOCKS - 5, 1);
	/* written blocks are mapped; the first descriptor starts at the LBA asked for */
	put(10, 3, 1);
	CU_ASSERT_EQUAL(gls(0, d), 3);
	ASSERT_DESC(d[0], 0, 10, 1);
	ASSERT_DESC(d[1], 10, 3, 0);
	ASSERT_DESC(d[2], 13, BLOCKS - 13, 1);
	CU_ASSERT_EQUAL(gls(11, d), 2);
	ASSERT_DESC(d[0], 11, 2, 0);
	ASSERT_DESC(d[1], 13, BLOCKS - 13, 1);
	/* UNMAP deallocates; WRITE SAME maps zeroes without UNMAP, deallocates with it */
	unmap_list(l, 1, &ul, &un);
	unmap(l, sizeof(l), sizeof(l));
	ASSERT_GOOD();
	memset(zero, 0, sizeof(zero));
	ws(0x93, 0, 20, 2, zero, BS);
	ASSERT_GOOD();
	lh_put64(&ws16[2], 21);
	lh_put32(&ws16[10], 1);
	lh_run(L, I1, ws16, 16, PVS_DIR_TO_DEV, zero, BS, &R);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(gls(10, d), 6);
	ASSERT_DESC(d[0], 10, 1, 0);
	ASSERT_DESC(d[1], 11, 1, 1);
	ASSERT_DESC(d[2], 12, 1, 0);
	ASSERT_DESC(d[3], 13, 7, 1);
	ASSERT_DESC(d[4], 20, 1, 0);
	ASSERT_DESC(d[5], 21, BLOCKS - 21, 1);
	/* the allocation length: as many descriptors as fit, then cut */
	CU_ASSERT_EQUAL(gls_run(10, 24, 24, d), 1);
	ASSERT_GOOD();
	ASSERT_DESC(d[0], 10, 1, 0);
	CU_ASSERT_EQUAL(buf[7], 0x01 << 1); /* completed: allocation length */
	CU_ASSERT_EQUAL(R.residual, 0);
	CU_ASSERT_EQUAL(gls_run(10, 16, 64, d), 1);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(pvsi_be32(buf), 20); /* what there was, not what was sent */
	CU_ASSERT_EQUAL(R.residual, 64 - 16);
	CU_ASSERT_EQUAL(buf[16], 0xaa);
	CU_ASSERT_EQUAL(gls_run(10, 39, 64, d), 1); /* room for one and a part: one */
	CU_ASSERT_EQUAL(R.residual, 64 - 24);
	CU_ASSERT_EQUAL(gls_run(10, 40, 64, d), 2);
	CU_ASSERT_EQUAL(R.residual, 64 - 40);
	ASSERT_DESC(d[1], 11, 1, 1);
	CU_ASSERT_EQUAL(gls_run(10, 0, 64, d), 0);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(R.residual, 64);
	CU_ASSERT_EQUAL(buf[0], 0xaa);
	/* more extents than one command reports: 64, then the next from there */
	for (uint64_t b = 100; b < 100 + 2 * 40; b += 2)
		put(b, 1, 2);
	n = gls(100, d);
	CU_ASSERT_EQUAL(n, 64);
	CU_ASSERT_EQUAL(buf[7], 0); /* ended by the command's own bound */
	ASSERT_DESC(d[0], 100, 1, 0);
	ASSERT_DESC(d[63], 163, 1, 1);
	CU_ASSERT_EQUAL(gls(164, d), 16);
	ASSERT_DESC(d[0], 164, 1, 0);
	ASSERT_DESC(d[14], 178, 1, 0);
	ASSERT_DESC(d[15], 179, BLOCKS - 179, 1);
	/* the range, REPORT TYPE */
	gls(BLOCKS, d);
	ASSERT_CC(5, 0x21, 0);
	gls(1ull << 63, d);
	ASSERT_CC(5, 0x21, 0);
	gls(UINT64_MAX, d);
	ASSERT_CC(5, 0x21, 0);
	CU_ASSERT_EQUAL(gls(BLOCKS - 1, d), 1);
	ASSERT_DESC(d[0], BLOCKS - 1, 1, 1);
	{
		uint8_t cdb[16] = {0x9e, 0x12};

		cdb[13] = 64;
		cdb[14] = 0x01;
		lh_run(L, I1, cdb, 16, PVS_DIR_FROM_DEV, buf, 64, &R);
		ASSERT_CC(5, 0x24, 0);
		ASSERT_FIELD(1, 14, 0);
	}
}

static void test_gls(void)
{
	struct lh a, b;

	/* fresh LUNs: nothing mapped yet */
	CU_ASSERT_EQUAL_FATAL(lh_open(&a, "mem:1M", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(lh_open(&b, "mem:1M,bs=4096", NULL), 0);
	lh_clear_ua(&a, I1);
	lh_clear_ua(&b, I1);
	L = &a;
	body_gls();
	L = &b;
	body_gls();
	lh_close(&a);
	lh_close(&b);
}

/*
 * Ranges that start, end and lie wholly inside 64-block words of the mapped
 * bitmap, written and unmapped: the bitmap is updated a word at a time.
 */
static void body_gls_words(void)
{
	static const struct lbas want[] = {
	    {0, 60, 1},  {60, 40, 0},  {100, 70, 1}, {170, 30, 0}, {200, 100, 1},
	    {300, 2, 0}, {302, 82, 1}, {384, 64, 0}, {448, 0, 1},
	};
	const unsigned nwant = sizeof(want) / sizeof(want[0]);
	struct lbas d[80];
	uint8_t l[8 + 16];
	uint64_t ul = 100;
	uint32_t un = 70;

	put(60, 140, 3);
	unmap_list(l, 1, &ul, &un);
	unmap(l, sizeof(l), sizeof(l));
	ASSERT_GOOD();
	put(300, 2, 3);
	put(384, 64, 3);
	CU_ASSERT_EQUAL_FATAL(gls(0, d), nwant);
	for (unsigned i = 0; i < nwant; i++)
		ASSERT_DESC(d[i], want[i].lba, i + 1 < nwant ? want[i].n : BLOCKS - 448,
		            want[i].status);
	/* one whole word deallocated again */
	ul = 384;
	un = 64;
	unmap_list(l, 1, &ul, &un);
	unmap(l, sizeof(l), sizeof(l));
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(gls(300, d), 2);
	ASSERT_DESC(d[0], 300, 2, 0);
	ASSERT_DESC(d[1], 302, BLOCKS - 302, 1);
	CU_ASSERT_TRUE(medium_is(60, 40, 3));
	CU_ASSERT_TRUE(medium_is(100, 70, -1));
}

static void test_gls_words(void)
{
	struct lh a, b;

	CU_ASSERT_EQUAL_FATAL(lh_open(&a, "mem:1M", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(lh_open(&b, "mem:2M,bs=4096", NULL), 0);
	lh_clear_ua(&a, I1);
	lh_clear_ua(&b, I1);
	L = &a;
	body_gls_words();
	L = &b;
	body_gls_words();
	lh_close(&a);
	lh_close(&b);
}

/* Not thin: fully provisioned, every LBA mapped; 32-bit counts split. */
static void test_gls_not_thin(void)
{
	struct lbas d[80];
	uint64_t saved;

	L = &H512;
	saved = BLOCKS;
	L->lun->thin = false;
	CU_ASSERT_EQUAL(gls(3, d), 1);
	ASSERT_DESC(d[0], 3, BLOCKS - 3, 0);
	L->lun->nblocks = 1ull << 40; /* the store is not asked: safe */
	CU_ASSERT_EQUAL(gls_run(0, 8 + 3 * 16, 64, d), 3);
	ASSERT_GOOD();
	ASSERT_DESC(d[0], 0, UINT32_MAX, 0);
	ASSERT_DESC(d[1], UINT32_MAX, UINT32_MAX, 0);
	ASSERT_DESC(d[2], 2ull * UINT32_MAX, UINT32_MAX, 0);
	CU_ASSERT_EQUAL(buf[7], 0x01 << 1);
	CU_ASSERT_EQUAL(gls((1ull << 40) - 5, d), 1);
	ASSERT_DESC(d[0], (1ull << 40) - 5, 5, 0);
	L->lun->nblocks = saved;
	L->lun->thin = true;
}

/* ---- SYNCHRONIZE CACHE, START STOP UNIT, PREVENT ALLOW ---- */

static void body_sync_start_stop(void)
{
	uint8_t sc10[10] = {0x35}, sc16[16] = {0x91, 0x02};
	uint8_t stop[6] = {0x1b, 0x01, 0, 0, 0x00, 0}, start[6] = {0x1b, 0, 0, 0, 0x01, 0};
	uint8_t eject[6] = {0x1b, 0, 0, 0, 0x02, 0}, prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	uint8_t allow[6] = {0x1e}, power[6] = {0x1b, 0, 0, 0, 0x30, 0};

	none(sc10, 10);
	ASSERT_GOOD();
	lh_put32(&sc10[2], (uint32_t)BLOCKS - 1);
	none(sc10, 10);
	ASSERT_GOOD();
	lh_put16(&sc10[7], 2);
	none(sc10, 10);
	ASSERT_CC(5, 0x21, 0);
	lh_put64(&sc16[2], BLOCKS);
	none(sc16, 16);
	ASSERT_CC(5, 0x21, 0);
	lh_put64(&sc16[2], 0);
	lh_put32(&sc16[10], (uint32_t)BLOCKS);
	none(sc16, 16);
	ASSERT_GOOD();

	/* stopped: media commands are NOT READY; the rest is not */
	none(stop, 6);
	ASSERT_GOOD();
	rd(0x28, 10, 0, 1, BS);
	ASSERT_CC(2, 0x04, 0x02);
	wr(0x2a, 10, 0, 0, 1, buf2, BS);
	ASSERT_CC(2, 0x04, 0x02);
	none(sc10, 10);
	ASSERT_CC(2, 0x04, 0x02);
	none(start, 6);
	ASSERT_GOOD();
	rd(0x28, 10, 0, 1, BS);
	ASSERT_GOOD();
	/* eject while prevented */
	none(prevent, 6);
	ASSERT_GOOD();
	none(eject, 6);
	ASSERT_CC(5, 0x53, 0x02);
	CU_ASSERT_FALSE(L->lun->stopped);
	none(allow, 6);
	ASSERT_GOOD();
	none(eject, 6);
	ASSERT_GOOD();
	CU_ASSERT_TRUE(L->lun->stopped);
	none(start, 6);
	ASSERT_GOOD();
	/* power conditions are not supported; nor is persistent prevent */
	none(power, 6);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 4, 5);
	prevent[4] = 0x02;
	none(prevent, 6);
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 4, 1);
}

static void test_sync_start_stop(void)
{
	each_size(body_sync_start_stop);
}

/* ---- the stage engine, with stores that behave differently ---- */

enum { ST_PASS, ST_ASYNC, ST_FAIL };

struct held {
	int op; /* 0 read, 1 write, 2 flush, 3 discard, 4 zeroes, 5 prefetch */
	struct pvs_lun *lun;
	struct pvs_req *req;
	uint64_t off, len;
	const struct iovec *iov;
	unsigned cnt;
	bool fua;
	bool cancelled;
};

static const struct pvsi_store_ops *real;
static int st_mode;
static int64_t st_fail;
static int st_fail_op = -1;
static struct held q[64];
static unsigned qn;
static uintptr_t sp_lo, sp_hi;
static unsigned st_calls;
static uint64_t st_disc[16][2]; /* offset and length of each discard */
static unsigned st_ndisc;
static uint64_t st_pref[2]; /* offset and length of the last prefetch */

static void note_stack(void)
{
	volatile char here;
	uintptr_t p = (uintptr_t)&here;

	st_calls++;
	if (!sp_lo || p < sp_lo)
		sp_lo = p;
	if (p > sp_hi)
		sp_hi = p;
}

static void run_held(struct held *h)
{
	if (h->cancelled) {
		pvsi_store_done(h->req, -ECANCELED);
		return;
	}
	switch (h->op) {
	case 0:
		real->readv(h->lun, h->req, h->off, h->iov, h->cnt);
		break;
	case 1:
		real->writev(h->lun, h->req, h->off, h->iov, h->cnt, h->fua);
		break;
	case 2:
		real->flush(h->lun, h->req);
		break;
	case 3:
		real->discard(h->lun, h->req, h->off, h->len);
		break;
	case 5:
		real->prefetch(h->lun, h->req, h->off, h->len);
		break;
	default:
		real->write_zeroes(h->lun, h->req, h->off, h->len);
		break;
	}
}

static void st_op(int op, struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len,
                  const struct iovec *iov, unsigned cnt, bool fua)
{
	struct held h = {op, lun, req, off, len, iov, cnt, fua, false};

	note_stack();
	if (op == 3 && st_ndisc < 16) {
		st_disc[st_ndisc][0] = off;
		st_disc[st_ndisc][1] = len;
		st_ndisc++;
	}
	if (op == 5) {
		st_pref[0] = off;
		st_pref[1] = len;
	}
	if (st_mode == ST_FAIL && (st_fail_op < 0 || st_fail_op == op)) {
		pvsi_store_done(req, st_fail);
		return;
	}
	if (st_mode == ST_ASYNC && qn < 64) {
		q[qn++] = h;
		return;
	}
	run_held(&h);
}

static void w_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, const struct iovec *iov,
                    unsigned cnt)
{
	st_op(0, lun, req, off, 0, iov, cnt, false);
}

static void w_writev(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                     const struct iovec *iov, unsigned cnt, bool fua)
{
	st_op(1, lun, req, off, 0, iov, cnt, fua);
}

static void w_flush(struct pvs_lun *lun, struct pvs_req *req)
{
	st_op(2, lun, req, 0, 0, NULL, 0, false);
}

static void w_discard(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	st_op(3, lun, req, off, len, NULL, 0, false);
}

static void w_zeroes(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	st_op(4, lun, req, off, len, NULL, 0, false);
}

static void w_prefetch(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	st_op(5, lun, req, off, len, NULL, 0, false);
}

static int64_t w_extent(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped)
{
	return real->extent(lun, off, end, mapped);
}

static int w_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	for (unsigned i = 0; i < qn; i++)
		if (q[i].req == req) {
			q[i].cancelled = true;
			return 0;
		}
	return -ENOENT;
}

static int64_t w_size(struct pvs_lun *lun)
{
	return real->size(lun);
}

static void w_close(struct pvs_lun *lun)
{
	real->close(lun);
}

static const struct pvsi_store_ops wrap_ops = {
    .kind = "test",
    .readv = w_readv,
    .writev = w_writev,
    .flush = w_flush,
    .discard = w_discard,
    .write_zeroes = w_zeroes,
    .prefetch = w_prefetch,
    .extent = w_extent,
    .cancel = w_cancel,
    .size = w_size,
    .close = w_close,
};

static void wrap(struct lh *h, int mode)
{
	real = h->lun->store;
	h->lun->store = &wrap_ops;
	st_mode = mode;
	qn = 0;
	sp_lo = sp_hi = 0;
	st_calls = 0;
	st_ndisc = 0;
	st_fail_op = -1;
}

static void unwrap(struct lh *h)
{
	h->lun->store = real;
}

/* Complete the oldest held operation; false when none is held. */
static bool pump_one(void)
{
	struct held h;

	if (!qn)
		return false;
	h = q[0];
	memmove(&q[0], &q[1], (qn - 1) * sizeof(q[0]));
	qn--;
	run_held(&h);
	return true;
}

struct areq {
	struct pvs_req req;
	struct iovec iov;
	int done;
};

static void areq_done(struct pvs_req *req)
{
	((struct areq *)req)->done++;
}

static void asubmit(struct areq *a, const uint8_t *cdb, unsigned len, enum pvs_dir dir, void *data,
                    size_t n)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->req.cdb, cdb, len);
	a->req.cdb_len = (uint8_t)len;
	a->req.dir = (uint8_t)dir;
	a->iov.iov_base = data;
	a->iov.iov_len = n;
	a->req.iov = n ? &a->iov : NULL;
	a->req.iovcnt = n ? 1 : 0;
	a->req.initiator = I1;
	a->req.done = areq_done;
	pvs_submit(L->lun, &a->req);
}

/*
 * Descriptors that continue one another reach the store as one discard;
 * zero-length ones in between are ignored; the rest stay apart.
 */
static void test_unmap_coalesce(void)
{
	uint8_t l[8 + 16 * 8];
	uint64_t lba[8] = {100, 101, 102, 110, 0, 111, 105, 0};
	uint32_t n[8] = {1, 1, 3, 1, 0, 4, 2, 0};
	size_t len;

	L = &H512;
	put(99, 20, 61);
	wrap(&H512, ST_PASS);
	len = unmap_list(l, 8, lba, n);
	unmap(l, (uint16_t)len, len);
	unwrap(&H512);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(st_ndisc, 3);
	CU_ASSERT_EQUAL(st_disc[0][0], 100 * 512);
	CU_ASSERT_EQUAL(st_disc[0][1], 5 * 512);
	CU_ASSERT_EQUAL(st_disc[1][0], 110 * 512);
	CU_ASSERT_EQUAL(st_disc[1][1], 5 * 512);
	CU_ASSERT_EQUAL(st_disc[2][0], 105 * 512);
	CU_ASSERT_EQUAL(st_disc[2][1], 2 * 512);
	CU_ASSERT_TRUE(medium_is(99, 1, 61));
	CU_ASSERT_TRUE(medium_is(100, 5, -1));
	CU_ASSERT_TRUE(medium_is(105, 2, -1));
	CU_ASSERT_TRUE(medium_is(107, 3, 61));
	CU_ASSERT_TRUE(medium_is(110, 5, -1));
	CU_ASSERT_TRUE(medium_is(115, 4, 61));

	/* a joined descriptor that crosses MAXIMUM UNMAP LBA COUNT: nothing unmapped */
	put(0, 8, 62);
	lba[0] = 0;
	n[0] = 4;
	lba[1] = 4;
	n[1] = 1u << 20;
	len = unmap_list(l, 2, lba, n);
	wrap(&H512, ST_PASS);
	unmap(l, (uint16_t)len, len);
	unwrap(&H512);
	ASSERT_CC(5, 0x26, 0);
	ASSERT_FIELD(0, 8 + 16 + 8, -1);
	CU_ASSERT_EQUAL(st_ndisc, 0);
	CU_ASSERT_TRUE(medium_is(0, 8, 62));
}

/* Thousands of stages completing at once must not deepen the stack. */
static void test_engine_sync_depth(void)
{
	uint8_t block[512];
	struct lh big;

	CU_ASSERT_EQUAL_FATAL(lh_open(&big, "mem:64M", NULL), 0);
	lh_clear_ua(&big, I1);
	L = &big;
	wrap(&big, ST_PASS);
	memset(block, 0x5a, sizeof(block));
	ws(0x93, 0, 0, 1u << 17, block, 512); /* 64 MiB in 1024 scratch loads */
	ASSERT_GOOD();
	CU_ASSERT(st_calls >= 1024);
	CU_ASSERT(sp_hi - sp_lo < 512);
	put(5, 1, 7);
	sp_lo = sp_hi = 0;
	memset(buf2, 0x5a, 2048 * 512);
	pattern(buf2 + 5 * 512, 5, 1, 512, 7);
	verify(0x8f, 16, 1, 0, 2048, buf2, 2048 * 512);
	ASSERT_GOOD();
	CU_ASSERT(sp_hi - sp_lo < 512);
	unwrap(&big);
	lh_close(&big);
}

/* Stores that complete later; two commands wanting the scratch at once. */
static void test_engine_async(void)
{
	static struct areq a, b, c;
	uint8_t cdb[16], blk[512];
	uint32_t n = 300;

	L = &H512;
	put(2000, n, 50);
	wrap(&H512, ST_ASYNC);
	pattern(buf2, 2000, n, 512, 50);
	memcpy(buf, buf2, (size_t)n * 512);
	buf[(size_t)(n - 1) * 512 + 3] ^= 0xff;
	rw_cdb(cdb, 0x2f, 10, 0x02, 2000, n);
	asubmit(&a, cdb, 10, PVS_DIR_TO_DEV, buf2, (size_t)n * 512); /* equal */
	asubmit(&b, cdb, 10, PVS_DIR_TO_DEV, buf, (size_t)n * 512);  /* differs at the end */
	memset(blk, 0x11, sizeof(blk));
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x41;
	lh_put32(&cdb[2], 3000);
	lh_put16(&cdb[7], 260);
	asubmit(&c, cdb, 10, PVS_DIR_TO_DEV, blk, 512); /* WRITE SAME through the scratch */
	CU_ASSERT_EQUAL(a.done + b.done + c.done, 0);
	CU_ASSERT_EQUAL(qn, 1); /* only the scratch owner has I/O out */
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 3);
	for (int i = 0; i < 100 && pump_one(); i++)
		;
	CU_ASSERT_EQUAL(a.done, 1);
	CU_ASSERT_EQUAL(b.done, 1);
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(a.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(b.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(b.req.sense[2], 0x0e);
	CU_ASSERT_EQUAL(pvsi_be32(&b.req.sense[3]), (n - 1) * 512 + 3);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);
	unwrap(&H512);
	CU_ASSERT_TRUE(blocks_are(3000, 260, blk));
}

static void tmf_done(struct pvs_tmf *t)
{
	(*(int *)t->opaque)++;
}

/* ABORT TASK of a command waiting for the scratch, and of one with I/O out. */
static void test_engine_abort(void)
{
	static struct areq a, b;
	struct pvs_tmf t;
	int tdone = 0;
	uint8_t cdb[16];

	L = &H512;
	put(4000, 200, 60);
	pattern(buf2, 4000, 200, 512, 60);
	wrap(&H512, ST_ASYNC);
	rw_cdb(cdb, 0x2f, 10, 0x02, 4000, 200);
	asubmit(&a, cdb, 10, PVS_DIR_TO_DEV, buf2, 200 * 512);
	asubmit(&b, cdb, 10, PVS_DIR_TO_DEV, buf2, 200 * 512);
	memset(&t, 0, sizeof(t));
	t.fn = PVS_TMF_ABORT_TASK;
	t.initiator = I1;
	t.task = &b.req;
	t.done = tmf_done;
	t.opaque = &tdone;
	pvs_tmf_submit(L->lun, &t);
	CU_ASSERT_EQUAL(b.done, 1); /* it had nothing out: it ends at once */
	CU_ASSERT_EQUAL(b.req.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(tdone, 1);
	CU_ASSERT_EQUAL(a.done, 0);
	t.task = &a.req;
	tdone = 0;
	pvs_tmf_submit(L->lun, &t);
	for (int i = 0; i < 20 && pump_one(); i++)
		;
	CU_ASSERT_EQUAL(a.done, 1);
	CU_ASSERT_EQUAL(a.req.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(tdone, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);
	/* the scratch was handed back: a new compare runs */
	rw_cdb(cdb, 0x2f, 10, 0x02, 4000, 200);
	asubmit(&a, cdb, 10, PVS_DIR_TO_DEV, buf2, 200 * 512);
	for (int i = 0; i < 20 && pump_one(); i++)
		;
	CU_ASSERT_EQUAL(a.done, 1);
	CU_ASSERT_EQUAL(a.req.status, PVS_STATUS_GOOD);
	unwrap(&H512);
}

/* Store errors become medium errors, space allocation, busy. */
static void test_engine_errors(void)
{
	uint8_t blk[512];

	L = &H512;
	wrap(&H512, ST_FAIL);
	st_fail = -EIO;
	rd(0x28, 10, 0, 1, 512);
	ASSERT_CC(3, 0x11, 0);
	CU_ASSERT_EQUAL(R.residual, 512);
	wr(0x2a, 10, 0, 0, 1, buf2, 512);
	ASSERT_CC(3, 0x0c, 0);
	st_fail = -ENOSPC;
	wr(0x2a, 10, 0, 0, 1, buf2, 512);
	ASSERT_CC(7, 0x27, 0x07);
	memset(blk, 1, sizeof(blk));
	ws(0x41, 0, 0, 300, blk, 512);
	ASSERT_CC(7, 0x27, 0x07);
	st_fail = -EAGAIN;
	rd(0x28, 10, 0, 1, 512);
	CU_ASSERT_EQUAL(R.status, PVS_STATUS_BUSY);
	CU_ASSERT_EQUAL(R.sense_len, 0);
	st_fail = 100; /* a short read */
	rd(0x28, 10, 0, 1, 512);
	ASSERT_CC(3, 0x11, 0);
	CU_ASSERT_EQUAL(R.residual, 412);
	st_fail = -EIO;
	{
		uint8_t sc[10] = {0x35}, stop[6] = {0x1b, 0, 0, 0, 0, 0};

		none(sc, 10);
		ASSERT_CC(3, 0x0c, 0);
		none(stop, 6);
		ASSERT_CC(3, 0x0c, 0);
		CU_ASSERT_FALSE(L->lun->stopped);
	}
	/* the compare's read fails after the write of WRITE AND VERIFY succeeded */
	st_fail_op = 0;
	wr(0x2e, 10, 0x02, 0, 1, buf2, 512);
	ASSERT_CC(3, 0x11, 0);
	unwrap(&H512);
}

/* ---- PRE-FETCH ---- */

static void pf(uint8_t op, uint8_t b1, uint64_t lba, uint32_t n, uint8_t group)
{
	uint8_t cdb[16];
	unsigned len = rw_cdb(cdb, op, op == 0x34 ? 10 : 16, b1, lba, n);

	cdb[op == 0x34 ? 6 : 14] = group;
	none(cdb, len);
}

static void body_prefetch(void)
{
	wrap(L, ST_PASS);
	pf(0x34, 0, 10, 5, 0);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(st_pref[0], 10 * BS);
	CU_ASSERT_EQUAL(st_pref[1], 5 * BS);
	pf(0x90, 0x02, BLOCKS - 3, 3, 3); /* IMMED, GROUP NUMBER */
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(st_pref[0], (BLOCKS - 3) * BS);
	CU_ASSERT_EQUAL(st_pref[1], 3 * BS);
	/* PREFETCH LENGTH 0: through the last block */
	pf(0x34, 0x02, 7, 0, 0);
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(st_pref[0], 7 * BS);
	CU_ASSERT_EQUAL(st_pref[1], (BLOCKS - 7) * BS);
	/* the range is checked before the store hears of it */
	st_calls = 0;
	pf(0x34, 0, (uint32_t)BLOCKS, 0, 0);
	ASSERT_CC(5, 0x21, 0);
	pf(0x34, 0, (uint32_t)BLOCKS - 1, 2, 0);
	ASSERT_CC(5, 0x21, 0);
	pf(0x90, 0, UINT64_MAX, 1, 0);
	ASSERT_CC(5, 0x21, 0);
	pf(0x90, 0, 1, UINT32_MAX, 0);
	ASSERT_CC(5, 0x21, 0);
	pf(0x34, 0x01, 0, 1, 0); /* obsolete RELADR */
	ASSERT_CC(5, 0x24, 0);
	ASSERT_FIELD(1, 1, 0);
	CU_ASSERT_EQUAL(st_calls, 0);
	unwrap(L);
	/* a hint the backing refused says nothing about the medium: still GOOD */
	wrap(L, ST_FAIL);
	st_fail = -EINVAL;
	pf(0x90, 0, 0, 1, 0);
	ASSERT_GOOD();
	unwrap(L);
}

static void test_prefetch(void)
{
	each_size(body_prefetch);
}

/* ---- COMPARE AND WRITE against commands in flight and arriving ---- */

static void caw_cdb(uint8_t *cdb, uint64_t lba, uint8_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	lh_put64(&cdb[2], lba);
	cdb[13] = n;
}

/* A TMF that may outlive the call: it completes when its last request does. */
static void abort_task(struct pvs_req *task, enum pvs_tmf_fn fn, int *tdone)
{
	static struct pvs_tmf t;

	memset(&t, 0, sizeof(t));
	t.fn = fn;
	t.initiator = I1;
	t.task = task;
	t.done = tmf_done;
	t.opaque = tdone;
	pvs_tmf_submit(L->lun, &t);
}

/*
 * A WRITE in flight when COMPARE AND WRITE arrives ends before the compare
 * reads; a WRITE and a READ that arrive while it waits or runs start only
 * after its write; commands that do not touch the medium are not held.
 */
static void test_caw_gate(void)
{
	static struct areq w1, c, w2, r;
	static uint8_t d1[1024], dc[2048], d2[1024], rd_buf[1024];
	uint8_t cdb[16];

	L = &H512;
	put(5000, 2, 80);
	wrap(&H512, ST_ASYNC);
	pattern(d1, 5000, 2, 512, 81);
	asubmit(&w1, cdb, rw_cdb(cdb, 0x8a, 16, 0, 5000, 2), PVS_DIR_TO_DEV, d1, sizeof(d1));
	CU_ASSERT_EQUAL(qn, 1);
	/* expects what the WRITE in flight writes */
	pattern(dc, 5000, 2, 512, 81);
	pattern(dc + 1024, 5000, 2, 512, 82);
	caw_cdb(cdb, 5000, 2);
	asubmit(&c, cdb, 16, PVS_DIR_TO_DEV, dc, sizeof(dc));
	CU_ASSERT_EQUAL(qn, 1); /* it waits: its read could overtake the WRITE */
	pattern(d2, 5000, 2, 512, 83);
	asubmit(&w2, cdb, rw_cdb(cdb, 0x8a, 16, 0, 5000, 2), PVS_DIR_TO_DEV, d2, sizeof(d2));
	asubmit(&r, cdb, rw_cdb(cdb, 0x88, 16, 0, 5000, 2), PVS_DIR_FROM_DEV, rd_buf,
	        sizeof(rd_buf));
	CU_ASSERT_EQUAL(qn, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 4);
	{
		uint8_t rc[10] = {0x25};

		lh_run(L, I1, rc, 10, PVS_DIR_FROM_DEV, buf, 8, &R);
		ASSERT_GOOD();
	}
	CU_ASSERT_TRUE(pump_one()); /* the first WRITE completes */
	CU_ASSERT_EQUAL(w1.done, 1);
	CU_ASSERT_EQUAL(qn, 1); /* now the compare's read, alone */
	CU_ASSERT_EQUAL(q[0].req, &c.req);
	CU_ASSERT_EQUAL(q[0].op, 0);
	CU_ASSERT_TRUE(pump_one());
	CU_ASSERT_EQUAL(qn, 1); /* equal: its write, still alone */
	CU_ASSERT_EQUAL(q[0].req, &c.req);
	CU_ASSERT_EQUAL(q[0].op, 1);
	CU_ASSERT_EQUAL(w2.done + r.done, 0);
	CU_ASSERT_TRUE(pump_one());
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(qn, 2); /* the held ones start together, in arrival order */
	CU_ASSERT_EQUAL(q[0].req, &w2.req);
	CU_ASSERT_EQUAL(q[1].req, &r.req);
	while (pump_one())
		;
	CU_ASSERT_EQUAL(w2.done, 1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);
	unwrap(&H512);
	CU_ASSERT_TRUE(medium_is(5000, 2, 83));
}

/*
 * Two COMPARE AND WRITEs on the same blocks: the second compares against
 * what the first wrote, never against what was there before.  Commands
 * using the scratch (VERIFY) are drained first too.
 */
static void test_caw_twice(void)
{
	static struct areq v, c1, c2;
	static uint8_t dv[512], dc1[1024], dc2[1024];
	uint8_t cdb[16];

	L = &H512;
	put(5100, 1, 90);
	wrap(&H512, ST_ASYNC);
	pattern(dv, 5100, 1, 512, 90);
	asubmit(&v, cdb, rw_cdb(cdb, 0x2f, 10, 0x02, 5100, 1), PVS_DIR_TO_DEV, dv, sizeof(dv));
	pattern(dc1, 5100, 1, 512, 90);
	pattern(dc1 + 512, 5100, 1, 512, 91);
	caw_cdb(cdb, 5100, 1);
	asubmit(&c1, cdb, 16, PVS_DIR_TO_DEV, dc1, sizeof(dc1));
	/* the second expects the old data: it must miscompare */
	pattern(dc2, 5100, 1, 512, 90);
	pattern(dc2 + 512, 5100, 1, 512, 92);
	asubmit(&c2, cdb, 16, PVS_DIR_TO_DEV, dc2, sizeof(dc2));
	CU_ASSERT_EQUAL(qn, 1);
	CU_ASSERT_EQUAL(q[0].req, &v.req);
	for (int i = 0; i < 20 && pump_one(); i++)
		CU_ASSERT(qn <= 1); /* never two at once */
	CU_ASSERT_EQUAL(v.done, 1);
	CU_ASSERT_EQUAL(v.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c1.done, 1);
	CU_ASSERT_EQUAL(c1.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c2.done, 1);
	CU_ASSERT_EQUAL(c2.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c2.req.sense[2], 0x0e);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);
	unwrap(&H512);
	CU_ASSERT_TRUE(medium_is(5100, 1, 91));
}

/*
 * Aborting a COMPARE AND WRITE that waits lets the commands held behind it
 * go; a LUN RESET while one has I/O out ends it when that I/O does, and
 * the held commands at once.
 */
static void test_caw_abort(void)
{
	static struct areq w, c, r;
	static uint8_t dw[512], dc[1024], dr[512];
	uint8_t cdb[16];
	int tdone = 0;

	L = &H512;
	put(5200, 1, 95);
	wrap(&H512, ST_ASYNC);
	pattern(dw, 5200, 1, 512, 96);
	asubmit(&w, cdb, rw_cdb(cdb, 0x2a, 10, 0, 5200, 1), PVS_DIR_TO_DEV, dw, sizeof(dw));
	pattern(dc, 5200, 1, 512, 96);
	pattern(dc + 512, 5200, 1, 512, 97);
	caw_cdb(cdb, 5200, 1);
	asubmit(&c, cdb, 16, PVS_DIR_TO_DEV, dc, sizeof(dc));
	asubmit(&r, cdb, rw_cdb(cdb, 0x28, 10, 0, 5200, 1), PVS_DIR_FROM_DEV, dr, sizeof(dr));
	CU_ASSERT_EQUAL(qn, 1);
	abort_task(&c.req, PVS_TMF_ABORT_TASK, &tdone);
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(tdone, 1);
	CU_ASSERT_EQUAL(qn, 2); /* the READ held behind it started */
	while (pump_one())
		;
	CU_ASSERT_EQUAL(w.done, 1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);

	/* LUN RESET: the compare's read is out, a WRITE is held */
	caw_cdb(cdb, 5200, 1);
	asubmit(&c, cdb, 16, PVS_DIR_TO_DEV, dc, sizeof(dc));
	CU_ASSERT_EQUAL(qn, 1);
	asubmit(&w, cdb, rw_cdb(cdb, 0x2a, 10, 0, 5200, 1), PVS_DIR_TO_DEV, dw, sizeof(dw));
	tdone = 0;
	abort_task(NULL, PVS_TMF_LUN_RESET, &tdone);
	CU_ASSERT_EQUAL(w.done, 1);
	CU_ASSERT_EQUAL(w.req.host, PVS_HOST_RESET);
	CU_ASSERT_EQUAL(c.done, 0);
	CU_ASSERT_EQUAL(tdone, 0);
	while (pump_one())
		;
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_RESET);
	CU_ASSERT_EQUAL(tdone, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(L->lun), 0);
	unwrap(&H512);
	lh_clear_ua(&H512, I1);
	CU_ASSERT_TRUE(medium_is(5200, 1, 96)); /* nothing written by either */
}

/* ---- the same commands on a file LUN: io_uring, every store call completes later ---- */

static struct lh HF;
static char file_path[64];

static int init_file(void)
{
	char spec[96];
	int fd;

	if (init())
		return -1;
	snprintf(file_path, sizeof(file_path), "/tmp/sbc_ut.XXXXXX");
	fd = mkstemp(file_path);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 4 << 20)) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", file_path);
	if (lh_open(&HF, spec, NULL) || !lh_clear_ua(&HF, I1))
		return -1;
	return 0;
}

static int fini_file(void)
{
	lh_close(&HF);
	unlink(file_path);
	return fini();
}

static void on_file(void (*fn)(void))
{
	L = &HF;
	fn();
}

static void test_file_round_trips(void)
{
	on_file(body_round_trips);
	on_file(body_iovecs);
	on_file(body_read_capacity);
}

static void test_file_verify(void)
{
	on_file(body_verify);
	on_file(body_write_and_verify);
}

static void test_file_write_same(void)
{
	on_file(body_write_same);
}

static void test_file_unmap(void)
{
	if (!HF.lun->thin) {
		fprintf(stderr, "(file system cannot punch holes: UNMAP not tested) ");
		return;
	}
	on_file(body_unmap);
}

static void test_file_sync_start_stop(void)
{
	on_file(body_sync_start_stop);
}

static void test_file_caw_prefetch(void)
{
	on_file(body_caw);
	/* through io_uring's fadvise */
	L = &HF;
	pf(0x34, 0, 0, 16, 0);
	ASSERT_GOOD();
	pf(0x90, 0x02, 0, 0, 0);
	ASSERT_GOOD();
}

/* Holes of the backing file are deallocated blocks; data is mapped. */
static void test_file_gls(void)
{
	char path[64], spec[96];
	struct lbas d[80];
	struct lh f;
	uint8_t l[8 + 16];
	uint64_t ul = 1088;
	uint32_t un = 64;
	int fd;
	bool holes;

	snprintf(path, sizeof(path), "/tmp/sbc_ut_gls.XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, 4 << 20), 0);
	holes = lseek(fd, 0, SEEK_HOLE) == 0; /* a file system that reports holes */
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CU_ASSERT_EQUAL_FATAL(lh_open(&f, spec, NULL), 0);
	lh_clear_ua(&f, I1);
	L = &f;
	if (!f.lun->thin || !holes) {
		fprintf(stderr, "(file system cannot punch or report holes: everything mapped) ");
		CU_ASSERT_EQUAL(gls(0, d), 1);
		ASSERT_DESC(d[0], 0, BLOCKS, 0);
		goto out;
	}
	CU_ASSERT_EQUAL(gls(0, d), 1);
	ASSERT_DESC(d[0], 0, BLOCKS, 1);
	/* 64 KiB-aligned, so whatever the file system's block size up to that */
	put(1024, 128, 5);
	CU_ASSERT_EQUAL(gls(0, d), 3);
	ASSERT_DESC(d[0], 0, 1024, 1);
	ASSERT_DESC(d[1], 1024, 128, 0);
	ASSERT_DESC(d[2], 1152, BLOCKS - 1152, 1);
	CU_ASSERT_EQUAL(gls(1100, d), 2);
	ASSERT_DESC(d[0], 1100, 52, 0);
	/* UNMAP punches a hole: deallocated again */
	unmap_list(l, 1, &ul, &un);
	unmap(l, sizeof(l), sizeof(l));
	ASSERT_GOOD();
	CU_ASSERT_EQUAL(gls(1000, d), 3);
	ASSERT_DESC(d[0], 1000, 24, 1);
	ASSERT_DESC(d[1], 1024, 64, 0);
	ASSERT_DESC(d[2], 1088, BLOCKS - 1088, 1);
	/* one 512-byte block written: mapped, with whatever shares its file system block */
	put(3000, 1, 6);
	gls(3000, d);
	CU_ASSERT_EQUAL(d[0].lba, 3000);
	CU_ASSERT_EQUAL(d[0].status, 0);
	CU_ASSERT(d[0].n >= 1 && d[0].n <= 128);
	gls(2900, d);
	CU_ASSERT_EQUAL(d[0].lba, 2900);
	CU_ASSERT_EQUAL(d[0].status, 1);
	CU_ASSERT(d[0].n <= 100 && d[0].n + 127 >= 100);
	CU_ASSERT_EQUAL(d[1].lba, 2900 + d[0].n);
	CU_ASSERT_EQUAL(d[1].status, 0);
	/* the file shrinks under the LUN: past its end there is no data */
	CU_ASSERT_EQUAL(truncate(path, 1 << 20), 0);
	CU_ASSERT_EQUAL(gls(2040, d), 1);
	ASSERT_DESC(d[0], 2040, BLOCKS - 2040, 1);
out:
	lh_close(&f);
	unlink(path);
}

static const struct cu_test read_capacity_tests[] = {
    {"READ CAPACITY(10)/(16)", test_read_capacity},
    {"over 2^32 blocks", test_read_capacity_large},
};

static const struct cu_test read_write_tests[] = {
    {"round trips, every size, last block", test_round_trips},
    {"iovecs and residual", test_iovecs},
    {"lengths, range, overflow, limits", test_lengths},
};

static const struct cu_test write_protect_tests[] = {
    {"DATA PROTECT on a read-only LUN", test_write_protect},
};

static const struct cu_test verify_tests[] = {
    {"VERIFY BYTCHK 0/1/3", test_verify},
    {"WRITE AND VERIFY", test_write_and_verify},
};

static const struct cu_test write_same_tests[] = {
    {"patterns, zeroes, UNMAP, NDOB, limits", test_write_same},
};

static const struct cu_test unmap_tests[] = {
    {"punch holes, parameter list checks", test_unmap},
    {"not thin: no UNMAP", test_unmap_not_thin},
};

static const struct cu_test compare_and_write_tests[] = {
    {"COMPARE AND WRITE", test_caw},
    {"PRE-FETCH(10)/(16)", test_prefetch},
    {"GET LBA STATUS on mem LUNs", test_gls},
    {"GET LBA STATUS across bitmap words", test_gls_words},
    {"GET LBA STATUS, not thin", test_gls_not_thin},
};

static const struct cu_test sync_cache_start_tests[] = {
    {"states and ranges", test_sync_start_stop},
};

static const struct cu_test stage_engine_tests[] = {
    {"synchronous stores keep the stack flat", test_engine_sync_depth},
    {"asynchronous stores, scratch queue", test_engine_async},
    {"abort while waiting and while in I/O", test_engine_abort},
    {"store errors", test_engine_errors},
    {"UNMAP: contiguous descriptors, one discard", test_unmap_coalesce},
    {"COMPARE AND WRITE after and before others", test_caw_gate},
    {"COMPARE AND WRITE twice, VERIFY first", test_caw_twice},
    {"COMPARE AND WRITE aborted, LUN reset", test_caw_abort},
};

static const struct cu_test file_store_tests[] = {
    {"round trips, iovecs, capacity", test_file_round_trips},
    {"VERIFY, WRITE AND VERIFY", test_file_verify},
    {"WRITE SAME", test_file_write_same},
    {"UNMAP", test_file_unmap},
    {"sync cache, start stop", test_file_sync_start_stop},
    {"COMPARE AND WRITE, PRE-FETCH", test_file_caw_prefetch},
    {"GET LBA STATUS from the file's holes", test_file_gls},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("read capacity", init, fini, read_capacity_tests),
	    CU_SUITE("read/write", init, fini, read_write_tests),
	    CU_SUITE("write protect", init, fini, write_protect_tests),
	    CU_SUITE("verify", init, fini, verify_tests),
	    CU_SUITE("write same", init, fini, write_same_tests),
	    CU_SUITE("unmap", init, fini, unmap_tests),
	    CU_SUITE("compare and write, pre-fetch, get lba status", init, fini,
	             compare_and_write_tests),
	    CU_SUITE("sync cache, start stop, prevent allow", init, fini, sync_cache_start_tests),
	    CU_SUITE("stage engine", init, fini, stage_engine_tests),
	    CU_SUITE("file store", init_file, fini_file, file_store_tests),
	};

	return CU_RUN_SUITES(suites);
}
