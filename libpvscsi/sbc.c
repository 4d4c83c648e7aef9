/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sbc.c - SBC-4 commands of emulated LUNs: capacity, READ/WRITE, WRITE AND
 * VERIFY, VERIFY, COMPARE AND WRITE, PRE-FETCH, GET LBA STATUS,
 * SYNCHRONIZE CACHE, WRITE SAME, UNMAP, START STOP UNIT, PREVENT ALLOW
 * MEDIUM REMOVAL.
 *
 * The handlers decode and check the CDB; a command that reaches the store
 * then runs in sbc_engine.c (pvsi_sbc_start()), stage by stage (sbc_stage.c).
 *
 * A data buffer shorter than what the CDB transfers is refused with
 * INVALID FIELD IN CDB pointing at the length field, before any I/O: the
 * core never reads or writes past the initiator's buffers.  A longer one
 * is trimmed, and the residual reports the difference.
 */
#include <string.h>

#include "sbc_int.h"

static bool req_is_zero(const struct pvs_req *req, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < req->iovcnt && done < len; i++) {
		const uint8_t *p = req->iov[i].iov_base;
		size_t l = req->iov[i].iov_len;

		if (l > len - done)
			l = len - done;
		for (size_t j = 0; j < l; j++)
			if (p[j])
				return false;
		done += l;
	}
	return true;
}

/* ---- CDB decoding and checks shared by the handlers ---- */

struct lba_cdb {
	uint64_t lba;
	uint32_t n;   /* transfer / verification / number of blocks */
	int len_byte; /* where that count sits, for field pointers */
};

/* SBC-4: every LBA family here shares the layout of its CDB size. */
static void decode_lba(const struct pvs_req *req, struct lba_cdb *c)
{
	const struct pvsi_opcode *op = req->core.op;
	const uint8_t *cdb = req->cdb;

	switch (op->cdb_len) {
	case 6:
		c->lba = pvsi_be24(&cdb[1]) & 0x1fffff;
		c->n = cdb[4];
		c->len_byte = 4;
		break;
	case 10:
		c->lba = pvsi_be32(&cdb[2]);
		c->n = pvsi_be16(&cdb[7]);
		c->len_byte = 7;
		break;
	case 12:
		c->lba = pvsi_be32(&cdb[2]);
		c->n = pvsi_be32(&cdb[6]);
		c->len_byte = 6;
		break;
	default:
		c->lba = pvsi_be64(&cdb[2]);
		c->n = pvsi_be32(&cdb[10]);
		c->len_byte = 10;
		break;
	}
}

/* Overflow-safe: lba + n can wrap, nblocks - lba cannot once lba < nblocks. */
static int check_range(const struct pvs_lun *lun, uint64_t lba, uint64_t n)
{
	if (lba >= lun->nblocks || n > lun->nblocks - lba)
		return PVS_SR_LBA_OUT_OF_RANGE;
	return PVS_SR_OK;
}

/* The buffers must hold @bytes; any excess is trimmed off and left as residual. */
static int check_data(struct pvs_req *req, uint64_t bytes, int len_byte)
{
	if (req->core.data_len < bytes)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, len_byte, -1);
	if (req->core.data_len > bytes)
		pvsi_req_trim(req, bytes);
	return PVS_SR_OK;
}

/* Range, zero length, MAXIMUM TRANSFER LENGTH (SBC-4 6.6.4), buffers. */
static int check_xfer(struct pvs_lun *lun, struct pvs_req *req, const struct lba_cdb *c)
{
	int sr = check_range(lun, c->lba, c->n);

	if (sr != PVS_SR_OK || c->n == 0)
		return sr;
	if (c->n > pvsi_emu_max_xfer_blocks(lun))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, c->len_byte, -1);
	return check_data(req, (uint64_t)c->n << lun->block_shift, c->len_byte);
}

/* ---- READ CAPACITY ---- */

/* SBC-3 5.16: with PMI zero the LOGICAL BLOCK ADDRESS field must be zero. */
static int check_pmi(struct pvs_req *req, bool pmi, uint64_t lba)
{
	if (!pmi && lba)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
	return PVS_SR_OK;
}

static uint64_t last_lba(const struct pvs_lun *lun)
{
	return lun->nblocks ? lun->nblocks - 1 : 0;
}

int pvsi_sbc_read_capacity(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[8];
	uint64_t last = last_lba(lun);
	int sr = check_pmi(req, req->cdb[8] & 0x01, pvsi_be32(&req->cdb[2]));

	if (sr != PVS_SR_OK)
		return sr;
	/* SBC-4 5.22: FFFFFFFFh sends the initiator to READ CAPACITY(16). */
	pvsi_put_be32(&buf[0], last >= 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	pvsi_put_be32(&buf[4], lun->block_size);
	return pvsi_emu_respond(req, buf, sizeof(buf), sizeof(buf));
}

int pvsi_sbc_read_capacity16(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[32];
	int sr = check_pmi(req, req->cdb[14] & 0x01, pvsi_be64(&req->cdb[2]));

	if (sr != PVS_SR_OK)
		return sr;
	memset(buf, 0, sizeof(buf));
	pvsi_put_be64(&buf[0], last_lba(lun));
	pvsi_put_be32(&buf[8], lun->block_size);
	buf[13] = pvsi_emu_lbppbe(lun);
	if (lun->thin)
		buf[14] = 0x80 | 0x40; /* LBPME, LBPRZ */
	return pvsi_emu_respond(req, buf, sizeof(buf), pvsi_be32(&req->cdb[10]));
}

/* ---- READ, WRITE, WRITE AND VERIFY, VERIFY ---- */

int pvsi_sbc_read(struct pvs_lun *lun, struct pvs_req *req)
{
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	if (req->core.op && ((const struct pvsi_opcode *)req->core.op)->cdb_len == 6 && c.n == 0)
		c.n = 256; /* SBC-4 5.13: READ(6) transfer length 0 means 256 */
	sr = check_xfer(lun, req, &c);
	if (sr != PVS_SR_OK || c.n == 0)
		return sr;
	req->core.lba = c.lba;
	req->core.nblocks = c.n;
	/* FUA on a read: nothing here caches reads, so the medium is always read. */
	return pvsi_sbc_start(lun, req, K_READ, 0, false);
}

int pvsi_sbc_write(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	bool verify = cdb[0] == PVSI_OPC_WRITE_AND_VERIFY_10 ||
	              cdb[0] == PVSI_OPC_WRITE_AND_VERIFY_12 ||
	              cdb[0] == PVSI_OPC_WRITE_AND_VERIFY_16;
	uint64_t arg = 0;
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	if (cdb[0] == PVSI_OPC_WRITE_6 && c.n == 0)
		c.n = 256; /* SBC-4 5.47 */
	if (verify) {
		uint8_t bytchk = (cdb[1] >> 1) & 0x03;

		/* SBC-4 5.48: 00b verify the medium, 01b compare; the rest reserved. */
		if (bytchk > 1)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 2);
		arg = W_FUA | (bytchk ? W_COMPARE : 0);
	} else if (cdb[0] == PVSI_OPC_WRITE_6) {
		arg = lun->wce ? 0 : W_FUA;
	} else {
		arg = ((cdb[1] & 0x08) || !lun->wce) ? W_FUA : 0;
	}
	sr = check_xfer(lun, req, &c);
	if (sr != PVS_SR_OK || c.n == 0)
		return sr;
	req->core.lba = c.lba;
	req->core.nblocks = c.n;
	return pvsi_sbc_start(lun, req, K_WRITE, arg, arg & W_COMPARE);
}

/*
 * SBC-4 5.40: BYTCHK 00b checks the range only (the medium is always
 * readable); 01b compares the data-out with the medium; 11b compares one
 * data-out block with every block of the range.
 */
int pvsi_sbc_verify(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t bytchk = (req->cdb[1] >> 1) & 0x03;
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	if (bytchk == 2)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 2);
	sr = check_range(lun, c.lba, c.n);
	if (sr != PVS_SR_OK || c.n == 0 || bytchk == 0)
		return sr;
	if (c.n > pvsi_emu_max_xfer_blocks(lun))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, c.len_byte, -1);
	sr = check_data(req, bytchk == 1 ? (uint64_t)c.n << lun->block_shift : lun->block_size,
	                c.len_byte);
	if (sr != PVS_SR_OK)
		return sr;
	req->core.xfer =
	    (uint32_t)(bytchk == 1 ? (uint64_t)c.n << lun->block_shift : lun->block_size);
	req->core.lba = c.lba;
	req->core.nblocks = c.n;
	return pvsi_sbc_start(lun, req, K_VERIFY, bytchk, true);
}

/* ---- COMPARE AND WRITE, PRE-FETCH, GET LBA STATUS ---- */

/*
 * SBC-4 5.3.  The data-out holds NUMBER OF LOGICAL BLOCKS blocks to
 * compare, then as many to write.  Zero blocks is not an error and does
 * nothing.  MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD) is what the
 * scratch holds; atomicity comes from the gate (see sbc_engine.c).
 */
int pvsi_sbc_compare_and_write(struct pvs_lun *lun, struct pvs_req *req)
{
	uint64_t lba = pvsi_be64(&req->cdb[2]);
	uint32_t n = req->cdb[13];
	uint64_t bytes;
	int sr;

	if (n > pvsi_emu_max_caw_blocks(lun))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 13, -1);
	sr = check_range(lun, lba, n);
	if (sr != PVS_SR_OK || n == 0)
		return sr;
	bytes = (uint64_t)n << lun->block_shift;
	sr = check_data(req, 2 * bytes, 13);
	if (sr != PVS_SR_OK)
		return sr;
	req->core.xfer = (uint32_t)(2 * bytes);
	req->core.lba = lba;
	req->core.nblocks = n;
	return pvsi_sbc_start(lun, req, K_CAW, ((req->cdb[1] & 0x08) || !lun->wce) ? W_FUA : 0,
	                      false);
}

/*
 * SBC-4 5.11 / 5.12.  PREFETCH LENGTH 0 means through the last block.
 * The file store asks the kernel to read the range ahead
 * (fadvise(WILLNEED) through io_uring), the mem store has nothing to do.
 *
 * The status is GOOD, never CONDITION MET: SBC-4 reserves CONDITION MET
 * for a range that was transferred to the cache (IMMED 0) or that the
 * cache has room for (IMMED 1), and GOOD is the answer when that is not
 * so.  The host's page cache is shared, unlocked and evictable, and
 * readahead is advisory (the kernel reads at most its readahead window of
 * a larger range), so neither can be promised.  IMMED is honoured by
 * waiting for the hint to be issued, as SYNCHRONIZE CACHE does.
 */
int pvsi_sbc_prefetch(struct pvs_lun *lun, struct pvs_req *req)
{
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	sr = check_range(lun, c.lba, c.n);
	if (sr != PVS_SR_OK)
		return sr;
	if (!lun->store->prefetch)
		return PVS_SR_OK; /* a store with no cache to fill */
	req->core.lba = c.lba;
	req->core.nblocks = c.n ? c.n : lun->nblocks - c.lba;
	return pvsi_sbc_start(lun, req, K_PREFETCH, 0, false);
}

/* Descriptors one GET LBA STATUS returns at most, and store queries it makes. */
#define GLS_MAX_DESC    64u
#define GLS_MAX_QUERIES 128u

/* SBC-4 5.8.3 (byte 7 bits 3:1): why the descriptor list ends where it does. */
#define GLS_COMPLETE_NONE     0u
#define GLS_COMPLETE_ALLOC    1u
#define GLS_COMPLETE_CAPACITY 3u

/*
 * SBC-4 5.8 GET LBA STATUS(16): from the starting LBA on, one descriptor
 * per extent of LBAs that are all mapped (PROVISIONING STATUS 0h) or all
 * deallocated (1h), in ascending order, the first one beginning at the
 * starting LBA.  A LUN that is not thin (LBPME 0) is fully provisioned:
 * everything is mapped.  Otherwise the store tells: the file store from
 * the backing file's holes (SEEK_DATA / SEEK_HOLE; a block device reports
 * everything mapped), the mem store from what it tracks.  Those queries
 * are synchronous, like the store's size(), and this is a management
 * command: one command makes at most GLS_MAX_QUERIES of them and returns
 * at most GLS_MAX_DESC descriptors, and no more than the allocation length
 * has room for; the initiator asks again from where the list ends.
 * REPORT TYPE (byte 14) other than 0 is refused by the usage data; RTP 0.
 */
int pvsi_sbc_get_lba_status(struct pvs_lun *lun, struct pvs_req *req)
{
	uint64_t pos = pvsi_be64(&req->cdb[2]);
	uint32_t alloc = pvsi_be32(&req->cdb[10]);
	uint8_t buf[8 + 16 * GLS_MAX_DESC];
	unsigned max, n = 0, queries = 0;
	bool full = false;
	uint8_t cond;

	if (pos >= lun->nblocks)
		return PVS_SR_LBA_OUT_OF_RANGE;
	if (alloc == 0)
		return PVS_SR_OK;
	/* Descriptors the initiator has room for (at least one, cut by the allocation length). */
	max = alloc < 8 + 16 ? 1 : (alloc - 8) / 16;
	if (max > GLS_MAX_DESC)
		max = GLS_MAX_DESC;
	memset(buf, 0, sizeof(buf));
	while (pos < lun->nblocks && queries < GLS_MAX_QUERIES) {
		uint64_t run = lun->nblocks - pos;
		bool mapped = true;
		uint8_t *d;

		if (lun->thin && lun->store->extent) {
			int64_t r = lun->store->extent(lun, pos << lun->block_shift,
			                               lun->nblocks << lun->block_shift, &mapped);

			queries++;
			if (r < 0)
				return pvsi_sbc_io_error(r, false);
			run = (uint64_t)r >> lun->block_shift;
			if (run == 0 || run > lun->nblocks - pos)
				return PVS_SR_INTERNAL_TARGET_FAILURE; /* a store bug: never loop */
		}
		d = n > 0 ? &buf[8 + 16 * (n - 1)] : NULL;
		/* An extent the store split (a block partly a hole) joins the one before. */
		if (d && (d[12] == 0) == mapped && pvsi_be64(d) + pvsi_be32(&d[8]) == pos &&
		    run <= UINT32_MAX - pvsi_be32(&d[8])) {
			pvsi_put_be32(&d[8], pvsi_be32(&d[8]) + (uint32_t)run);
		} else {
			if (n == max) {
				full = true;
				break;
			}
			if (run > UINT32_MAX)
				run = UINT32_MAX; /* NUMBER OF LOGICAL BLOCKS is 32 bits */
			d = &buf[8 + 16 * n++];
			pvsi_put_be64(d, pos);
			pvsi_put_be32(&d[8], (uint32_t)run);
			d[12] = mapped ? 0x00 : 0x01;
		}
		pos += run;
	}
	if (pos >= lun->nblocks)
		cond = GLS_COMPLETE_CAPACITY;
	else if (full && max < GLS_MAX_DESC)
		cond = GLS_COMPLETE_ALLOC;
	else
		cond = GLS_COMPLETE_NONE;
	pvsi_put_be32(&buf[0], 4 + 16 * n); /* PARAMETER DATA LENGTH: bytes after it */
	buf[7] = (uint8_t)(cond << 1);
	return pvsi_emu_respond(req, buf, 8 + 16 * (size_t)n, alloc);
}

/* ---- SYNCHRONIZE CACHE, WRITE SAME, UNMAP ---- */

/*
 * SBC-4 5.27: NUMBER OF LOGICAL BLOCKS 0 means through the last LBA.  The
 * whole store is flushed either way; IMMED is honoured by waiting, which
 * SBC permits no less than returning early.
 */
int pvsi_sbc_sync_cache(struct pvs_lun *lun, struct pvs_req *req)
{
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	sr = check_range(lun, c.lba, c.n);
	if (sr != PVS_SR_OK)
		return sr;
	return pvsi_sbc_start(lun, req, K_SYNC, 0, false);
}

/*
 * SBC-4 5.49/5.50.  WSNZ is set in the Block Limits page, so zero blocks
 * is refused.  An all-zero block (or NDOB) becomes one write-zeroes or,
 * with UNMAP on a thin LUN, one deallocation (LBPRZ: reads back zeroes);
 * any other pattern is written through the scratch.
 */
int pvsi_sbc_write_same(struct pvs_lun *lun, struct pvs_req *req)
{
	const struct pvsi_opcode *op = req->core.op;
	bool ndob = op->cdb_len == 16 && (req->cdb[1] & 0x01);
	bool unmap = req->cdb[1] & 0x08;
	uint64_t mode;
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	if (c.n == 0)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, c.len_byte, -1);
	sr = check_range(lun, c.lba, c.n);
	if (sr != PVS_SR_OK)
		return sr;
	if (c.n > PVSI_EMU_MAX_WS_BLOCKS)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, c.len_byte, -1);
	if (!ndob) {
		sr = check_data(req, lun->block_size, -1);
		if (sr != PVS_SR_OK)
			return sr;
		req->core.xfer = lun->block_size;
	}
	if (ndob || req_is_zero(req, lun->block_size))
		mode = unmap && lun->thin ? WS_UNMAP : WS_ZERO;
	else
		mode = WS_PATTERN;
	req->core.lba = c.lba;
	req->core.nblocks = c.n;
	return pvsi_sbc_start(lun, req, K_WS, mode, mode == WS_PATTERN);
}

/*
 * SBC-4 5.32.  Every descriptor is checked before anything is unmapped,
 * so a bad list changes nothing.  A trailing partial descriptor is
 * ignored; descriptors with zero blocks are no-ops.
 */
int pvsi_sbc_unmap(struct pvs_lun *lun, struct pvs_req *req)
{
	uint32_t len = pvsi_be16(&req->cdb[7]);
	uint8_t hdr[8];
	uint32_t dl, bdl, count;
	uint64_t total = 0;
	int sr;

	if (len == 0)
		return PVS_SR_OK;
	if (len < 8)
		return pvsi_emu_cdb_field(req, PVS_SR_PARAM_LIST_LENGTH_ERROR, 7, -1);
	if (req->core.data_len < len)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 7, -1);
	if (req->core.data_len > len)
		pvsi_req_trim(req, len);
	memset(hdr, 0, sizeof(hdr));
	pvsi_req_copy_out(req, 0, hdr, sizeof(hdr));
	dl = pvsi_be16(&hdr[0]);
	bdl = pvsi_be16(&hdr[2]);
	if (dl > len - 2 || bdl > len - 8)
		return pvsi_emu_cdb_field(req, PVS_SR_PARAM_LIST_LENGTH_ERROR, 7, -1);
	count = bdl / 16;
	if (count > PVSI_EMU_MAX_UNMAP_DESC)
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, 2, -1);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t lba;
		uint32_t n;

		pvsi_sbc_unmap_desc(req, i, &lba, &n);
		if (n == 0)
			continue;
		sr = pvsi_sbc_unmap_check(lun, req, i, lba, n, &total);
		if (sr != PVS_SR_OK)
			return sr;
	}
	req->core.xfer = len;
	if (count == 0)
		return PVS_SR_OK;
	req->core.pos = 0;
	req->core.nblocks = 0; /* UNMAP has no LBA range: the running total of stage_unmap */
	return pvsi_sbc_start(lun, req, K_UNMAP, count, false);
}

/* ---- START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL ---- */

/*
 * SBC-4 5.25.  Power conditions are not supported (the table's usage
 * data refuses a non-zero POWER CONDITION).  IMMED: status after the work,
 * see SYNCHRONIZE CACHE.
 */
int pvsi_sbc_start_stop(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t b4 = req->cdb[4];
	bool start_bit = b4 & 0x01, loej = b4 & 0x02, no_flush = b4 & 0x04;

	if (start_bit) {
		lun->stopped = false;
		return PVS_SR_OK;
	}
	if (loej && lun->prevent)
		return PVS_SR_MEDIUM_REMOVAL_PREVENTED;
	if (no_flush) {
		lun->stopped = true;
		return PVS_SR_OK;
	}
	return pvsi_sbc_start(lun, req, K_STOP, 0, false);
}

/*
 * SBC-4 5.15.  One prevention per LUN rather than per I_T nexus: the
 * medium cannot be removed anyway, and only START STOP UNIT's eject
 * consults it.
 */
int pvsi_sbc_prevent_allow(struct pvs_lun *lun, struct pvs_req *req)
{
	if (lun->cd)
		return pvsi_mmc_prevent_allow(lun, req);
	lun->prevent = req->cdb[4] & 0x01;
	return PVS_SR_OK;
}
