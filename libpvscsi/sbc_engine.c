/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sbc_engine.c - how SBC commands run at the store (see sbc_stage.c for
 * what each one does there).
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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbc_int.h"

#define PATTERN_BYTES 4096 /* one logical block of the largest size */

#define ENG_ISSUING 0x01u
#define ENG_SYNC    0x02u
#define ENG_OWNER   0x04u
#define ENG_WAITING 0x08u /* in the scratch queue */
#define ENG_SCRATCH 0x10u /* needs the scratch once admitted */
#define ENG_GATED   0x20u /* held behind a COMPARE AND WRITE */
#define ENG_COUNTED 0x40u /* admitted: counted in st->media */

static uint64_t *flags_of(struct pvs_req *req)
{
	return &req->core.scratch[S_FLAGS];
}

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
 * finish() when others wait for the scratch or behind the gate.  Apart
 * (not inlined), so that finish() itself keeps nothing across a call.
 */
__attribute__((noinline)) static void complete_and_serve(struct pvs_lun *lun, struct pvs_req *req,
                                                         int sr, bool waiters, bool gated)
{
	pvsi_req_complete(req, sr);
	if (waiters)
		handoff(lun);
	if (gated)
		gate_release(lun);
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
	if (waiters || gated)
		complete_and_serve(lun, req, sr, waiters, gated);
	else
		pvsi_req_complete(req, sr); /* a tail call: nothing kept across it */
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
			sr = pvsi_sbc_stages[*f >> 8](lun, req, res);
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

int pvsi_sbc_start(struct pvs_lun *lun, struct pvs_req *req, enum kind k, uint64_t arg,
                   bool scratch)
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
