/*
 * sbc.c - SBC-4 commands of emulated LUNs: capacity, READ/WRITE, WRITE AND
 * VERIFY, VERIFY, SYNCHRONIZE CACHE, WRITE SAME, UNMAP, START STOP UNIT,
 * PREVENT ALLOW MEDIUM REMOVAL.
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
 * A data buffer shorter than what the CDB transfers is refused with
 * INVALID FIELD IN CDB pointing at the length field, before any I/O: the
 * core never reads or writes past the initiator's buffers.  A longer one
 * is trimmed, and the residual reports the difference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emulate_int.h"

#define OP_WRITE6         0x0a
#define OP_WRITE_VERIFY10 0x2e
#define OP_WRITE_VERIFY12 0xae
#define OP_WRITE_VERIFY16 0x8e

#define PATTERN_BYTES 4096 /* one logical block of the largest size */

struct sbc_lun {
	uint8_t *buf; /* PVSI_EMU_SCRATCH_BYTES, then one pattern block */
	struct iovec iov;
	struct pvs_req *owner;
	struct pvs_req *wait_head, *wait_tail;
	bool handing_off;
};

/* req->core.scratch[] while an SBC command runs. */
#define S_FLAGS 0 /* ENG_* | kind << 8 */
#define S_RES   1 /* result of a store call that completed while issuing */
#define S_ARG   2 /* command-specific */
#define S_NEXT  3 /* next request waiting for the scratch */

#define ENG_ISSUING 0x01u
#define ENG_SYNC    0x02u
#define ENG_OWNER   0x04u
#define ENG_WAITING 0x08u

#define RES_START INT64_MIN /* first call of a command's first stage */

enum kind { K_READ, K_WRITE, K_VERIFY, K_WS, K_UNMAP, K_SYNC, K_STOP };

/* K_WRITE arguments */
#define W_FUA     0x01u
#define W_COMPARE 0x02u /* WRITE AND VERIFY with BYTCHK 01b */
#define W_READING 0x04u /* the write is done, comparing */

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

static const stage_fn stages[] = {
    [K_READ] = stage_read,     [K_WRITE] = stage_write, [K_VERIFY] = stage_verify,
    [K_WS] = stage_write_same, [K_UNMAP] = stage_unmap, [K_SYNC] = stage_sync,
    [K_STOP] = stage_stop,
};

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

static void finish(struct pvs_lun *lun, struct pvs_req *req, int sr)
{
	struct sbc_lun *st = st_of(lun);
	bool owner = *flags_of(req) & ENG_OWNER;
	bool waiters;

	if (owner)
		st->owner = NULL;
	/* With waiters the LUN stays in use; without, done() may close it. */
	waiters = owner && st->wait_head;
	pvsi_req_complete(req, sr);
	if (waiters)
		handoff(lun);
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

static int start(struct pvs_lun *lun, struct pvs_req *req, enum kind k, uint64_t arg, bool scratch)
{
	req->core.scratch[S_FLAGS] = (uint64_t)k << 8;
	req->core.scratch[S_ARG] = arg;
	req->core.cont = sbc_cont;
	if (scratch && !scratch_acquire(lun, req))
		return PVSI_ASYNC;
	drive(req, RES_START);
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

/*
 * A request still waiting for the scratch has no I/O to cancel: it leaves
 * the queue and completes now (the core reports its TMF flag as the host
 * status).  Anything else is the store's to cancel.
 */
int pvsi_sbc_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sbc_lun *st = st_of(lun);
	struct pvs_req *prev = NULL, *r;

	if (!(*flags_of(req) & ENG_WAITING))
		return lun->store->cancel ? lun->store->cancel(lun, req) : -ENOSYS;
	for (r = st->wait_head; r && r != req;
	     r = (struct pvs_req *)(uintptr_t)r->core.scratch[S_NEXT])
		prev = r;
	if (!r)
		return -ENOENT;
	if (prev)
		prev->core.scratch[S_NEXT] = req->core.scratch[S_NEXT];
	else
		st->wait_head = (struct pvs_req *)(uintptr_t)req->core.scratch[S_NEXT];
	if (st->wait_tail == req)
		st->wait_tail = prev;
	*flags_of(req) &= ~(uint64_t)ENG_WAITING;
	pvsi_req_complete(req, PVS_SR_ABORTED_COMMAND);
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
	bool verify = cdb[0] == OP_WRITE_VERIFY10 || cdb[0] == OP_WRITE_VERIFY12 ||
	              cdb[0] == OP_WRITE_VERIFY16;
	uint64_t arg = 0;
	struct lba_cdb c;
	int sr;

	decode_lba(req, &c);
	if (cdb[0] == OP_WRITE6 && c.n == 0)
		c.n = 256; /* SBC-4 5.47 */
	if (verify) {
		uint8_t bytchk = (cdb[1] >> 1) & 0x03;

		/* SBC-4 5.48: 00b verify the medium, 01b compare; the rest reserved. */
		if (bytchk > 1)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 2);
		arg = W_FUA | (bytchk ? W_COMPARE : 0);
	} else if (cdb[0] == OP_WRITE6) {
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
