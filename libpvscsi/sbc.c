/*
 * sbc.c - SBC-4 commands of emulated LUNs: capacity, READ/WRITE, WRITE AND
 * VERIFY, VERIFY, COMPARE AND WRITE, PRE-FETCH, GET LBA STATUS,
 * SYNCHRONIZE CACHE, WRITE SAME, UNMAP, START STOP UNIT, PREVENT ALLOW
 * MEDIUM REMOVAL.
 *
 * Commands that touch the store run as a sequence of stages driven by
 * drive(): a stage starts one store operation and returns PVSI_ASYNC, or
 * returns the command's final reason.  Stores may complete before the
 * call returns (mem always does, file never does), so sbc_cont() only
 * records a result that arrives while a stage is still issuing, and
 * drive() loops: the stack depth stays constant however many stages a
 * command takes (WRITE SAME of 4M blocks through a 64 KiB scratch).
 *
 * The scratch (VERIFY compares, WRITE SAME patterns) belongs to one
 * request at a time; others wait in FIFO order for it.  Its size, not the
 * command, bounds the memory a command uses.
 *
 * COMPARE AND WRITE must be atomic against every other command on the LUN,
 * but the store's I/O is asynchronous and unordered (io_uring): a WRITE
 * issued before the compare's read could land after it, or between the
 * read and the write.  So every command that reaches the store is counted
 * while it runs (st->media), and a COMPARE AND WRITE closes a gate: it
 * waits until nothing else is running, then runs alone, and the commands
 * that arrive meanwhile queue behind it in arrival order and start when it
 * ends.  Commands that never touch the store are not held.
 *
 * A data buffer shorter than what the CDB transfers is refused with
 * INVALID FIELD IN CDB pointing at the length field, before any I/O: the
 * core never reads or writes past the initiator's buffers.  A longer one
 * is trimmed, and the residual reports the difference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emulate_int.h"

#define PATTERN_BYTES 4096 /* one logical block of the largest size */

struct sbc_lun {
	uint8_t *buf; /* PVSI_EMU_SCRATCH_BYTES, then one pattern block */
	struct iovec iov;
	struct pvs_req *owner;
	struct pvs_req *wait_head, *wait_tail;
	bool handing_off;
	/* the COMPARE AND WRITE gate */
	uint64_t media;                        /* admitted commands not yet finished */
	struct pvs_req *caw;                   /* the COMPARE AND WRITE running alone, if any */
	struct pvs_req *gate_head, *gate_tail; /* held until it ends, FIFO */
	bool releasing;
};

/* req->core.scratch[] while an SBC command runs. */
#define S_FLAGS 0 /* ENG_* | kind << 8 */
#define S_RES   1 /* result of a store call that completed while issuing */
#define S_ARG   2 /* command-specific */
#define S_NEXT  3 /* next request in the gate or scratch queue (one at a time) */

#define ENG_ISSUING 0x01u
#define ENG_SYNC    0x02u
#define ENG_OWNER   0x04u
#define ENG_WAITING 0x08u /* in the scratch queue */
#define ENG_SCRATCH 0x10u /* needs the scratch once admitted */
#define ENG_GATED   0x20u /* held behind a COMPARE AND WRITE */
#define ENG_COUNTED 0x40u /* admitted: counted in st->media */

#define RES_START INT64_MIN /* first call of a command's first stage */

enum kind { K_READ, K_WRITE, K_VERIFY, K_WS, K_UNMAP, K_SYNC, K_STOP, K_CAW, K_PREFETCH };

/* K_WRITE arguments */
#define W_FUA     0x01u
#define W_COMPARE 0x02u /* WRITE AND VERIFY with BYTCHK 01b */
#define W_READING 0x04u /* the write is done, comparing */

/* K_CAW arguments (with W_FUA) */
#define C_WRITING 0x08u /* the compare matched, writing */

/* K_WS modes */
enum { WS_ZERO, WS_UNMAP, WS_PATTERN };

static struct sbc_lun *st_of(struct pvs_lun *lun)
{
	return lun->emu;
}

static uint64_t *flags_of(struct pvs_req *req)
{
	return &req->core.scratch[S_FLAGS];
}

static uint32_t scratch_blocks(const struct pvs_lun *lun)
{
	return PVSI_EMU_SCRATCH_BYTES >> lun->block_shift;
}

static unsigned data_iovcnt(const struct pvs_req *req)
{
	return (req->core.flags & PVSI_RF_TRIMMED) ? req->core.trim_cnt : req->iovcnt;
}

static int io_error(int64_t res, bool write)
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

static int miscompare(struct pvs_req *req, uint64_t offset)
{
	req->core.info = (uint32_t)offset;
	req->core.flags |= PVSI_RF_INFO;
	return PVS_SR_MISCOMPARE_DURING_VERIFY;
}

/* ---- the stage engine ---- */

typedef int (*stage_fn)(struct pvs_lun *lun, struct pvs_req *req, int64_t res);

static void drive(struct pvs_req *req, int64_t res);

static void sbc_cont(struct pvs_req *req, int64_t res)
{
	if (*flags_of(req) & ENG_ISSUING) {
		req->core.scratch[S_RES] = (uint64_t)res;
		*flags_of(req) |= ENG_SYNC;
		return;
	}
	drive(req, res);
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
		return io_error(res, false);
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
		return io_error(res, false);
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
			return io_error(res, true);
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
			return res < 0 ? io_error(res, true) : PVS_SR_OK;
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
			return io_error(res, true);
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
static void unmap_desc(const struct pvs_req *req, uint64_t i, uint64_t *lba, uint32_t *n)
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
static int unmap_check(struct pvs_lun *lun, struct pvs_req *req, uint64_t i, uint64_t lba,
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
			return io_error(res, true);
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
		unmap_desc(req, req->core.pos, &lba, &n);
		if (n == 0)
			continue;
		sr = unmap_check(lun, req, req->core.pos, lba, n, &req->core.nblocks);
		if (sr != PVS_SR_OK)
			return sr;
		/*
		 * The descriptors that continue this range join it: one store
		 * call instead of one per descriptor (a list of one-block
		 * descriptors costs a round trip through the store each).
		 */
		len = n;
		while (req->core.pos + 1 < count) {
			unmap_desc(req, req->core.pos + 1, &next_lba, &n);
			if (n != 0 && next_lba != lba + len)
				break;
			if (n != 0) {
				sr = unmap_check(lun, req, req->core.pos + 1, next_lba, n,
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
	return res < 0 ? io_error(res, true) : PVS_SR_OK;
}

/* SBC-4 5.25: NO_FLUSH 0 - the cache reaches the medium before the unit stops. */
static int stage_stop(struct pvs_lun *lun, struct pvs_req *req, int64_t res)
{
	if (res == RES_START) {
		lun->store->flush(lun, req);
		return PVSI_ASYNC;
	}
	if (res < 0)
		return io_error(res, true);
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
			return io_error(res, true);
		return (uint64_t)res == bytes ? PVS_SR_OK : PVS_SR_WRITE_ERROR;
	}
	if (res < 0)
		return io_error(res, false);
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

static const stage_fn stages[] = {
    [K_READ] = stage_read,     [K_WRITE] = stage_write, [K_VERIFY] = stage_verify,
    [K_WS] = stage_write_same, [K_UNMAP] = stage_unmap, [K_SYNC] = stage_sync,
    [K_STOP] = stage_stop,     [K_CAW] = stage_caw,     [K_PREFETCH] = stage_prefetch,
};

static enum kind kind_of(struct pvs_req *req)
{
	return (enum kind)(*flags_of(req) >> 8);
}

static void gate_release(struct pvs_lun *lun);

/*
 * Hand the scratch to waiting requests.  A waiter whose command completes
 * at once gives it back inside drive(); the loop (not recursion) then
 * serves the next one.
 */
static void handoff(struct pvs_lun *lun)
{
	struct sbc_lun *st = st_of(lun);

	if (st->handing_off)
		return;
	st->handing_off = true;
	while (!st->owner && st->wait_head) {
		struct pvs_req *next = st->wait_head;

		st->wait_head = (struct pvs_req *)(uintptr_t)next->core.scratch[S_NEXT];
		if (!st->wait_head)
			st->wait_tail = NULL;
		*flags_of(next) = (*flags_of(next) & ~(uint64_t)ENG_WAITING) | ENG_OWNER;
		st->owner = next;
		drive(next, RES_START);
	}
	st->handing_off = false;
}

/*
 * @req's command is over.  The scratch and the gate may let others run;
 * they are served only when some were waiting before @req completed: with
 * nobody waiting, done() may close the LUN, and nothing here touches it
 * after that.
 */
static void finish(struct pvs_lun *lun, struct pvs_req *req, int sr)
{
	struct sbc_lun *st = st_of(lun);
	uint64_t f = *flags_of(req);
	bool owner = f & ENG_OWNER;
	bool waiters, gated;

	if (owner)
		st->owner = NULL;
	if (f & ENG_COUNTED)
		st->media--;
	if (st->caw == req)
		st->caw = NULL;
	*flags_of(req) &= ~(uint64_t)(ENG_OWNER | ENG_COUNTED);
	waiters = owner && st->wait_head;
	gated = st->gate_head && !st->caw;
	pvsi_req_complete(req, sr);
	if (waiters)
		handoff(lun);
	if (gated)
		gate_release(lun);
}

static void drive(struct pvs_req *req, int64_t res)
{
	struct pvs_lun *lun = req->core.lun;

	for (;;) {
		uint64_t *f = flags_of(req);
		int sr;

		if (req->core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET)) {
			sr = PVS_SR_ABORTED_COMMAND; /* the core reports the host status */
		} else {
			*f = (*f | ENG_ISSUING) & ~(uint64_t)ENG_SYNC;
			sr = stages[*f >> 8](lun, req, res);
			*f &= ~(uint64_t)ENG_ISSUING;
		}
		if (sr != PVSI_ASYNC) {
			finish(lun, req, sr);
			return;
		}
		if (!(*f & ENG_SYNC))
			return; /* sbc_cont() continues when the store completes */
		res = (int64_t)req->core.scratch[S_RES];
	}
}

static bool scratch_acquire(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sbc_lun *st = st_of(lun);

	if (!st->owner && !st->wait_head) {
		st->owner = req;
		*flags_of(req) |= ENG_OWNER;
		return true;
	}
	*flags_of(req) |= ENG_WAITING;
	req->core.scratch[S_NEXT] = 0;
	if (st->wait_tail)
		st->wait_tail->core.scratch[S_NEXT] = (uintptr_t)req;
	else
		st->wait_head = req;
	st->wait_tail = req;
	return false;
}

/*
 * Let @req at the store.  A COMPARE AND WRITE only gets here when nothing
 * else runs: the scratch is free and it runs alone until it finishes.
 */
static void admit(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sbc_lun *st = st_of(lun);

	st->media++;
	*flags_of(req) |= ENG_COUNTED;
	if (kind_of(req) == K_CAW) {
		st->caw = req;
		st->owner = req;
		*flags_of(req) |= ENG_OWNER;
	} else if ((*flags_of(req) & ENG_SCRATCH) && !scratch_acquire(lun, req)) {
		return;
	}
	drive(req, RES_START);
}

static void gate_push(struct sbc_lun *st, struct pvs_req *req)
{
	*flags_of(req) |= ENG_GATED;
	req->core.scratch[S_NEXT] = 0;
	if (st->gate_tail)
		st->gate_tail->core.scratch[S_NEXT] = (uintptr_t)req;
	else
		st->gate_head = req;
	st->gate_tail = req;
}

/*
 * Admit held requests in arrival order up to the next COMPARE AND WRITE,
 * which waits for those to finish.  The last one is admitted after the
 * gate's state is left consistent: once it completes, done() may close the
 * LUN, and nothing here touches the LUN after that.
 */
static void gate_release(struct pvs_lun *lun)
{
	struct sbc_lun *st = st_of(lun);

	if (st->releasing)
		return;
	st->releasing = true;
	while (!st->caw && st->gate_head) {
		struct pvs_req *next = st->gate_head;
		bool last;

		if (kind_of(next) == K_CAW && st->media)
			break;
		st->gate_head = (struct pvs_req *)(uintptr_t)next->core.scratch[S_NEXT];
		if (!st->gate_head)
			st->gate_tail = NULL;
		*flags_of(next) &= ~(uint64_t)ENG_GATED;
		last = !st->gate_head;
		if (last) {
			st->releasing = false;
			admit(lun, next);
			return;
		}
		admit(lun, next);
	}
	st->releasing = false;
}

static int start(struct pvs_lun *lun, struct pvs_req *req, enum kind k, uint64_t arg, bool scratch)
{
	struct sbc_lun *st = st_of(lun);

	req->core.scratch[S_FLAGS] = (uint64_t)k << 8 | (scratch ? ENG_SCRATCH : 0);
	req->core.scratch[S_ARG] = arg;
	req->core.cont = sbc_cont;
	/* Behind a COMPARE AND WRITE, running or waiting: keep the arrival order. */
	if (st->caw || st->gate_head || (k == K_CAW && st->media)) {
		gate_push(st, req);
		return PVSI_ASYNC;
	}
	admit(lun, req);
	return PVSI_ASYNC;
}

int pvsi_sbc_open(struct pvs_lun *lun)
{
	struct sbc_lun *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	/* Page-aligned so that an O_DIRECT store can read into it. */
	st->buf = aligned_alloc(4096, PVSI_EMU_SCRATCH_BYTES + PATTERN_BYTES);
	if (!st->buf) {
		free(st);
		return -ENOMEM;
	}
	memset(st->buf, 0, PVSI_EMU_SCRATCH_BYTES + PATTERN_BYTES);
	lun->emu = st;
	return 0;
}

void pvsi_sbc_close(struct pvs_lun *lun)
{
	struct sbc_lun *st = st_of(lun);

	if (!st)
		return;
	free(st->buf);
	free(st);
	lun->emu = NULL;
}

/* Take @req out of the list @head/@tail (linked through S_NEXT); false if absent. */
static bool unlink_req(struct pvs_req **head, struct pvs_req **tail, struct pvs_req *req)
{
	struct pvs_req *prev = NULL, *r;

	for (r = *head; r && r != req; r = (struct pvs_req *)(uintptr_t)r->core.scratch[S_NEXT])
		prev = r;
	if (!r)
		return false;
	if (prev)
		prev->core.scratch[S_NEXT] = req->core.scratch[S_NEXT];
	else
		*head = (struct pvs_req *)(uintptr_t)req->core.scratch[S_NEXT];
	if (*tail == req)
		*tail = prev;
	return true;
}

/*
 * A request still waiting for the scratch or held at the gate has no I/O
 * to cancel: it leaves its queue and completes now (the core reports its
 * TMF flag as the host status); finish() lets the others move on, e.g. the
 * commands held behind a COMPARE AND WRITE that never ran.  Anything else
 * is the store's to cancel.
 */
int pvsi_sbc_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sbc_lun *st = st_of(lun);
	uint64_t *f = flags_of(req);

	if (*f & ENG_WAITING) {
		if (!unlink_req(&st->wait_head, &st->wait_tail, req))
			return -ENOENT;
		*f &= ~(uint64_t)ENG_WAITING;
	} else if (*f & ENG_GATED) {
		if (!unlink_req(&st->gate_head, &st->gate_tail, req))
			return -ENOENT;
		*f &= ~(uint64_t)ENG_GATED;
	} else {
		return lun->store->cancel ? lun->store->cancel(lun, req) : -ENOSYS;
	}
	finish(lun, req, PVS_SR_ABORTED_COMMAND);
	return 0;
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
	return start(lun, req, K_READ, 0, false);
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
	return start(lun, req, K_WRITE, arg, arg & W_COMPARE);
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
	return start(lun, req, K_VERIFY, bytchk, true);
}

/* ---- COMPARE AND WRITE, PRE-FETCH, GET LBA STATUS ---- */

/*
 * SBC-4 5.3.  The data-out holds NUMBER OF LOGICAL BLOCKS blocks to
 * compare, then as many to write.  Zero blocks is not an error and does
 * nothing.  MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD) is what the
 * scratch holds; atomicity comes from the gate (see the top of this file).
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
	return start(lun, req, K_CAW, ((req->cdb[1] & 0x08) || !lun->wce) ? W_FUA : 0, false);
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
	return start(lun, req, K_PREFETCH, 0, false);
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
				return io_error(r, false);
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
	return start(lun, req, K_SYNC, 0, false);
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
	return start(lun, req, K_WS, mode, mode == WS_PATTERN);
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

		unmap_desc(req, i, &lba, &n);
		if (n == 0)
			continue;
		sr = unmap_check(lun, req, i, lba, n, &total);
		if (sr != PVS_SR_OK)
			return sr;
	}
	req->core.xfer = len;
	if (count == 0)
		return PVS_SR_OK;
	req->core.pos = 0;
	req->core.nblocks = 0; /* UNMAP has no LBA range: the running total of stage_unmap */
	return start(lun, req, K_UNMAP, count, false);
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
	return start(lun, req, K_STOP, 0, false);
}

/*
 * SBC-4 5.15.  One prevention per LUN rather than per I_T nexus: the
 * medium cannot be removed anyway, and only START STOP UNIT's eject
 * consults it.
 */
int pvsi_sbc_prevent_allow(struct pvs_lun *lun, struct pvs_req *req)
{
	lun->prevent = req->cdb[4] & 0x01;
	return PVS_SR_OK;
}
