/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sbc_stage.c - what each SBC command that reaches the store does there,
 * one stage function per kind (enum kind).  sbc_engine.c calls a command's
 * stage first with RES_START, then with the result of each store operation
 * the stage started, until it returns the command's reason.
 */
#include <errno.h>
#include <string.h>

#include "sbc_int.h"

static uint32_t scratch_blocks(const struct pvs_lun *lun)
{
	return PVSI_EMU_SCRATCH_BYTES >> lun->block_shift;
}

static unsigned data_iovcnt(const struct pvs_req *req)
{
	return (req->core.flags & PVSI_RF_TRIMMED) ? req->core.trim_cnt : req->iovcnt;
}

int pvsi_sbc_io_error(int64_t res, bool write)
{
	switch (res) {
	case -ENOSPC:
	case -EDQUOT:
		return write ? PVS_SR_SPACE_ALLOCATION_FAILED : PVS_SR_READ_ERROR;
	case -EROFS:
	case -EPERM:
	case -EACCES:
		return write ? PVS_SR_WRITE_PROTECTED : PVS_SR_READ_ERROR;
	case -ECANCELED:
		return PVS_SR_ABORTED_COMMAND;
	case -EAGAIN:
	case -ENOMEM:
	case -EBUSY:
		return PVS_SR_BUSY;
	case -ENODEV:
	case -ENXIO:
		return PVSI_SR_GONE;
	default:
		return write ? PVS_SR_WRITE_ERROR : PVS_SR_READ_ERROR;
	}
}

/* First differing byte of the data-out at @off against @buf, or -1. */
static int64_t req_compare(const struct pvs_req *req, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < req->iovcnt && done < len; i++) {
		const uint8_t *p;
		size_t l = req->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		p = (const uint8_t *)req->iov[i].iov_base + off;
		l -= (size_t)off;
		if (l > len - done)
			l = len - done;
		if (memcmp(p, buf + done, l))
			for (size_t j = 0; j < l; j++)
				if (p[j] != buf[done + j])
					return (int64_t)(done + j);
		done += l;
		off = 0;
	}
	return -1;
}

static int miscompare(struct pvs_req *req, uint64_t offset)
{
	req->core.info = (uint32_t)offset;
	req->core.flags |= PVSI_RF_INFO;
	return PVS_SR_MISCOMPARE_DURING_VERIFY;
}

/* Read @n blocks at core.lba + core.pos into the scratch. */
static int read_chunk(struct pvs_lun *lun, struct pvs_req *req, uint64_t n)
{
	struct sbc_lun *st = st_of(lun);

	st->iov.iov_base = st->buf;
	st->iov.iov_len = (size_t)(n << lun->block_shift);
	lun->store->readv(lun, req, (req->core.lba + req->core.pos) << lun->block_shift, &st->iov,
	                  1);
	return PVSI_ASYNC;
}

static uint64_t chunk_of(struct pvs_lun *lun, struct pvs_req *req)
{
	uint64_t left = req->core.nblocks - req->core.pos;

	return left < scratch_blocks(lun) ? left : scratch_blocks(lun);
}

static int stage_read(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	uint64_t bytes = req->core.nblocks << lun->block_shift;

	if (res == RES_START) {
		lun->store->readv(lun, req, req->core.lba << lun->block_shift, req->iov,
		                  data_iovcnt(req));
		return PVSI_ASYNC;
	}
	if (res < 0)
		return pvsi_sbc_io_error(res, false);
	if ((uint64_t)res != bytes) {
		req->core.xfer = (uint32_t)((uint64_t)res < bytes ? (uint64_t)res : 0);
		return PVS_SR_READ_ERROR;
	}
	req->core.xfer = (uint32_t)bytes;
	return PVS_SR_OK;
}

/*
 * Compare the chunk just read into the scratch with the data-out at the
 * same position (BYTCHK 01b), or every block of it with the single block
 * sent (BYTCHK 11b).  The INFORMATION field gets the offset of the first
 * differing byte from the start of the range (SBC-4 5.41).
 */
static int compare_chunk(struct pvs_lun *lun, struct pvs_req *req, int64_t res, bool one_block)
{
	struct sbc_lun *st = st_of(lun);
	uint64_t n = chunk_of(lun, req);
	uint64_t bytes = n << lun->block_shift;
	uint64_t base = req->core.pos << lun->block_shift;
	int64_t at;

	if (res < 0)
		return pvsi_sbc_io_error(res, false);
	if ((uint64_t)res != bytes)
		return PVS_SR_READ_ERROR;
	if (!one_block) {
		at = req_compare(req, base, st->buf, (size_t)bytes);
		if (at >= 0)
			return miscompare(req, base + (uint64_t)at);
	} else {
		const uint8_t *pat = st->buf + PVSI_EMU_SCRATCH_BYTES;

		for (uint64_t b = 0; b < n; b++) {
			const uint8_t *blk = st->buf + (b << lun->block_shift);

			if (!memcmp(blk, pat, lun->block_size))
				continue;
			for (uint32_t j = 0; j < lun->block_size; j++)
				if (blk[j] != pat[j])
					return miscompare(req, base + (b << lun->block_shift) + j);
		}
	}
	req->core.pos += n;
	return PVS_SR_OK;
}

static int stage_write(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	uint64_t *arg = &req->core.scratch[S_ARG];
	uint64_t bytes = req->core.nblocks << lun->block_shift;
	int sr;

	if (res == RES_START) {
		lun->store->writev(lun, req, req->core.lba << lun->block_shift, req->iov,
		                   data_iovcnt(req), *arg & W_FUA);
		return PVSI_ASYNC;
	}
	if (!(*arg & W_READING)) {
		if (res < 0)
			return pvsi_sbc_io_error(res, true);
		if ((uint64_t)res != bytes)
			return PVS_SR_WRITE_ERROR;
		req->core.xfer = (uint32_t)bytes;
		if (!(*arg & W_COMPARE))
			return PVS_SR_OK;
		*arg |= W_READING;
		req->core.pos = 0;
	} else {
		sr = compare_chunk(lun, req, res, false);
		if (sr != PVS_SR_OK)
			return sr;
	}
	if (req->core.pos == req->core.nblocks)
		return PVS_SR_OK;
	return read_chunk(lun, req, chunk_of(lun, req));
}

static int stage_verify(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	bool one_block = req->core.scratch[S_ARG] == 3;
	int sr;

	if (res == RES_START) {
		req->core.pos = 0;
		if (one_block)
			pvsi_req_copy_out(req, 0, st_of(lun)->buf + PVSI_EMU_SCRATCH_BYTES,
			                  lun->block_size);
	} else {
		sr = compare_chunk(lun, req, res, one_block);
		if (sr != PVS_SR_OK)
			return sr;
		if (req->core.pos == req->core.nblocks)
			return PVS_SR_OK;
	}
	return read_chunk(lun, req, chunk_of(lun, req));
}

static int stage_write_same(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	struct sbc_lun *st = st_of(lun);
	uint64_t mode = req->core.scratch[S_ARG];
	uint64_t off = req->core.lba << lun->block_shift;
	uint64_t n;

	if (mode != WS_PATTERN) {
		if (res != RES_START)
			return res < 0 ? pvsi_sbc_io_error(res, true) : PVS_SR_OK;
		if (mode == WS_UNMAP)
			lun->store->discard(lun, req, off, req->core.nblocks << lun->block_shift);
		else
			lun->store->write_zeroes(lun, req, off,
			                         req->core.nblocks << lun->block_shift);
		return PVSI_ASYNC;
	}
	if (res == RES_START) {
		/* Replicate the block through the scratch, doubling each copy. */
		size_t have = lun->block_size;

		pvsi_req_copy_out(req, 0, st->buf, lun->block_size);
		while (have < PVSI_EMU_SCRATCH_BYTES) {
			size_t c = have <= PVSI_EMU_SCRATCH_BYTES - have
			               ? have
			               : PVSI_EMU_SCRATCH_BYTES - have;

			memcpy(st->buf + have, st->buf, c);
			have += c;
		}
		req->core.pos = 0;
	} else {
		if (res < 0)
			return pvsi_sbc_io_error(res, true);
		if ((uint64_t)res != chunk_of(lun, req) << lun->block_shift)
			return PVS_SR_WRITE_ERROR;
		req->core.pos += chunk_of(lun, req);
		if (req->core.pos == req->core.nblocks)
			return PVS_SR_OK;
	}
	n = chunk_of(lun, req);
	st->iov.iov_base = st->buf;
	st->iov.iov_len = (size_t)(n << lun->block_shift);
	lun->store->writev(lun, req, (req->core.lba + req->core.pos) << lun->block_shift, &st->iov,
	                   1, !lun->wce);
	return PVSI_ASYNC;
}

/* SBC-4 5.32.3: one UNMAP block descriptor, 16 bytes after the 8-byte header. */
void pvsi_sbc_unmap_desc(const struct pvs_req *req, uint64_t i, uint64_t *lba, uint32_t *n)
{
	uint8_t d[16];

	memset(d, 0, sizeof(d));
	pvsi_req_copy_out(req, (size_t)(8 + i * 16), d, sizeof(d));
	*lba = pvsi_be64(d);
	*n = pvsi_be32(&d[8]);
}

/*
 * @total: the blocks of the descriptors before this one; the sum must stay
 * within MAXIMUM UNMAP LBA COUNT (SBC-4 5.32.2), the field pointer names the
 * descriptor that crosses it.
 */
int pvsi_sbc_unmap_check(struct pvs_lun *lun, struct pvs_req *req, uint64_t i, uint64_t lba,
                         uint32_t n, uint64_t *total)
{
	*total += n;
	if (*total > PVSI_EMU_MAX_UNMAP_BLOCKS)
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM,
		                            (int)(8 + i * 16 + 8), -1);
	if (lba >= lun->nblocks || n > lun->nblocks - lba)
		return PVS_SR_LBA_OUT_OF_RANGE;
	return PVS_SR_OK;
}

static int stage_unmap(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	uint64_t count = req->core.scratch[S_ARG];

	if (res != RES_START) {
		if (res < 0)
			return pvsi_sbc_io_error(res, true);
		req->core.pos++;
	}
	for (; req->core.pos < count; req->core.pos++) {
		uint64_t lba, len, next_lba;
		uint32_t n;
		int sr;

		/*
		 * Read again and re-check: the buffers may be the guest's and
		 * change under us; what is unmapped is what was checked.
		 */
		pvsi_sbc_unmap_desc(req, req->core.pos, &lba, &n);
		if (n == 0)
			continue;
		sr = pvsi_sbc_unmap_check(lun, req, req->core.pos, lba, n, &req->core.nblocks);
		if (sr != PVS_SR_OK)
			return sr;
		/*
		 * The descriptors that continue this range join it: one store
		 * call instead of one per descriptor (a list of one-block
		 * descriptors costs a round trip through the store each).
		 */
		len = n;
		while (req->core.pos + 1 < count) {
			pvsi_sbc_unmap_desc(req, req->core.pos + 1, &next_lba, &n);
			if (n != 0 && next_lba != lba + len)
				break;
			if (n != 0) {
				sr = pvsi_sbc_unmap_check(lun, req, req->core.pos + 1, next_lba, n,
				                          &req->core.nblocks);
				if (sr != PVS_SR_OK)
					return sr;
			}
			len += n;
			req->core.pos++;
		}
		lun->store->discard(lun, req, lba << lun->block_shift, len << lun->block_shift);
		return PVSI_ASYNC;
	}
	return PVS_SR_OK;
}

static int stage_sync(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	if (res == RES_START) {
		lun->store->flush(lun, req);
		return PVSI_ASYNC;
	}
	return res < 0 ? pvsi_sbc_io_error(res, true) : PVS_SR_OK;
}

/* SBC-4 5.25: NO_FLUSH 0 - the cache reaches the medium before the unit stops. */
static int stage_stop(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	if (res == RES_START) {
		lun->store->flush(lun, req);
		return PVSI_ASYNC;
	}
	if (res < 0)
		return pvsi_sbc_io_error(res, true);
	lun->stopped = true;
	return PVS_SR_OK;
}

/*
 * SBC-4 5.3: read the range into the scratch, compare it with the first
 * half of the data-out, and write the second half only when every byte
 * matched.  The gate keeps every other store command out meanwhile.
 */
static int stage_caw(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	struct sbc_lun *st = st_of(lun);
	uint64_t *arg = &req->core.scratch[S_ARG];
	uint64_t bytes = req->core.nblocks << lun->block_shift;
	int64_t at;

	if (res == RES_START) {
		req->core.pos = 0;
		return read_chunk(lun, req, req->core.nblocks);
	}
	if (*arg & C_WRITING) {
		if (res < 0)
			return pvsi_sbc_io_error(res, true);
		return (uint64_t)res == bytes ? PVS_SR_OK : PVS_SR_WRITE_ERROR;
	}
	if (res < 0)
		return pvsi_sbc_io_error(res, false);
	if ((uint64_t)res != bytes)
		return PVS_SR_READ_ERROR;
	at = req_compare(req, 0, st->buf, (size_t)bytes);
	if (at >= 0)
		return miscompare(req, (uint64_t)at); /* offset into the data-out */
	/* Written from a copy: what was compared against is what gets written. */
	pvsi_req_copy_out(req, (size_t)bytes, st->buf, (size_t)bytes);
	*arg |= C_WRITING;
	st->iov.iov_base = st->buf;
	st->iov.iov_len = (size_t)bytes;
	lun->store->writev(lun, req, req->core.lba << lun->block_shift, &st->iov, 1, *arg & W_FUA);
	return PVSI_ASYNC;
}

/* A hint: whether the backing took it says nothing about the medium (see the handler). */
static int stage_prefetch(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	if (res == RES_START) {
		lun->store->prefetch(lun, req, req->core.lba << lun->block_shift,
		                     req->core.nblocks << lun->block_shift);
		return PVSI_ASYNC;
	}
	return PVS_SR_OK;
}

const stage_fn pvsi_sbc_stages[] = {
    [K_READ] = stage_read,     [K_WRITE] = stage_write, [K_VERIFY] = stage_verify,
    [K_WS] = stage_write_same, [K_UNMAP] = stage_unmap, [K_SYNC] = stage_sync,
    [K_STOP] = stage_stop,     [K_CAW] = stage_caw,     [K_PREFETCH] = stage_prefetch,
};
