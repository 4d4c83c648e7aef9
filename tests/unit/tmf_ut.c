/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmf_ut.c - task management (tmf.c) against LUNs whose requests stay in
 * flight until the test completes them, so abort/reset races can be
 * staged exactly: a hand-built LUN with test-local ops (cancel that does
 * nothing, or that completes at once), and a mem LUN whose store is
 * swapped for one that only records reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "cu_run.h"

#define IA 0xa1 /* initiator A */
#define IB 0xb2 /* initiator B */

/* ---- event log: request and TMF completions in order ---- */

static char evlog[256];

static void ev(const char *s)
{
	strncat(evlog, s, sizeof(evlog) - strlen(evlog) - 1);
}

struct treq {
	struct pvs_req r;
	struct iovec iov;
	uint8_t buf[512];
	const char *name;
	int ndone;
	void (*on_done)(struct treq *t);
};

static void treq_done(struct pvs_req *r)
{
	struct treq *t = r->opaque;

	t->ndone++;
	ev(t->name);
	if (t->on_done)
		t->on_done(t);
}

/* READ(10) of one block from @initiator. */
static void treq_init(struct treq *t, const char *name, uint64_t initiator)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->r.cdb[0] = 0x28;
	t->r.cdb[8] = 1;
	t->r.cdb_len = 10;
	t->r.dir = PVS_DIR_FROM_DEV;
	t->iov.iov_base = t->buf;
	t->iov.iov_len = sizeof(t->buf);
	t->r.iov = &t->iov;
	t->r.iovcnt = 1;
	t->r.initiator = initiator;
	t->r.done = treq_done;
	t->r.opaque = t;
}

struct ttmf {
	struct pvs_tmf t;
	const char *name;
	int ndone;
};

static void ttmf_done(struct pvs_tmf *tmf)
{
	struct ttmf *t = tmf->opaque;

	t->ndone++;
	ev(t->name);
}

static void ttmf_init(struct ttmf *t, const char *name, enum pvs_tmf_fn fn, uint64_t initiator,
                      struct pvs_req *task)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->t.fn = fn;
	t->t.initiator = initiator;
	t->t.task = task;
	t->t.done = ttmf_done;
	t->t.opaque = t;
}

static void treq_start(struct pvs_lun *l, struct treq *t, const char *name, uint64_t initiator)
{
	treq_init(t, name, initiator);
	pvs_submit(l, &t->r);
}

static void ttmf_start(struct pvs_lun *l, struct ttmf *t, const char *name, enum pvs_tmf_fn fn,
                       uint64_t initiator, struct pvs_req *task)
{
	ttmf_init(t, name, fn, initiator, task);
	pvs_tmf_submit(l, &t->t);
}

/* ---- a LUN with test-local ops ---- */

enum { CANCEL_NOTHING, CANCEL_SYNC };
static int cancel_mode;
static unsigned int ncancel;
static unsigned int nsubmit;

static void fake_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	(void)req;
	nsubmit++; /* stays in flight until the test completes it */
}

static int fake_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	ncancel++;
	if (cancel_mode == CANCEL_SYNC)
		pvsi_req_complete(req, PVS_SR_OK);
	return 0;
}

static const struct pvsi_lun_ops fake_ops = {
    .kind = "fake",
    .submit = fake_submit,
    .cancel = fake_cancel,
};

static struct pvs_lun *lun;

static int setup(void)
{
	lun = calloc(1, sizeof(*lun));
	if (!lun)
		return -1;
	lun->ops = &fake_ops;
	lun->block_size = 512;
	lun->nblocks = 2048;
	return 0;
}

static int teardown(void)
{
	free(lun);
	lun = NULL;
	return 0;
}

static void reset_state(void)
{
	memset(lun->initiators, 0, sizeof(lun->initiators));
	memset(&lun->pr, 0, sizeof(lun->pr));
	evlog[0] = 0;
	cancel_mode = CANCEL_NOTHING;
	ncancel = 0;
	nsubmit = 0;
}

static void check_aborted(const struct treq *t, uint8_t host)
{
	CU_ASSERT_EQUAL(t->ndone, 1);
	CU_ASSERT_EQUAL(t->r.host, host);
	CU_ASSERT_EQUAL(t->r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(t->r.sense_len, 0);
	CU_ASSERT_EQUAL(t->r.residual, sizeof(t->buf));
}

/* A TMF with nothing to wait for: done at once, with @result. */
static void tmf_answers(struct ttmf *t, const char *name, enum pvs_tmf_fn fn, uint64_t initiator,
                        struct pvs_req *task, enum pvs_tmf_result result)
{
	ttmf_start(lun, t, name, fn, initiator, task);
	CU_ASSERT_EQUAL(t->ndone, 1);
	CU_ASSERT_EQUAL(t->t.result, result);
}

/* ---- ABORT TASK ---- */

static void test_abort_task_completes_after_victim(void)
{
	struct treq r1, r2;
	struct ttmf a;

	reset_state();
	treq_start(lun, &r1, "R1", IA);
	treq_start(lun, &r2, "R2", IA);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 2);

	ttmf_start(lun, &a, "T", PVS_TMF_ABORT_TASK, IA, &r1.r);
	/* The store could not cancel: the TMF waits for the victim. */
	CU_ASSERT_EQUAL(ncancel, 1);
	CU_ASSERT_EQUAL(a.ndone, 0);
	CU_ASSERT_EQUAL(a.t.pending, 1);
	CU_ASSERT_EQUAL(r1.ndone, 0);

	/* The I/O finishes normally after the abort: it still ends ABORTED, once. */
	r1.r.core.xfer = 512;
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(a.ndone, 1);
	CU_ASSERT_EQUAL(a.t.result, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_STRING_EQUAL(evlog, "R1T");

	/* The other task is untouched. */
	CU_ASSERT_EQUAL(r2.r.core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET), 0);
	r2.r.core.xfer = 512;
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(r2.r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(r2.r.residual, 0);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
}

static void test_abort_task_sync_cancel(void)
{
	struct treq r1;
	struct ttmf a;

	reset_state();
	cancel_mode = CANCEL_SYNC;
	treq_start(lun, &r1, "R1", IA);
	ttmf_start(lun, &a, "T", PVS_TMF_ABORT_TASK, IA, &r1.r);
	/* Cancel completed the victim inside pvs_tmf_submit; done order holds. */
	check_aborted(&r1, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(a.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "R1T");
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
}

static void test_abort_task_not_found(void)
{
	struct treq r1, never;
	struct ttmf a, b;

	reset_state();
	treq_start(lun, &r1, "R1", IA);
	treq_init(&never, "N", IA);

	/* Never submitted (or already completed): FUNCTION COMPLETE at once. */
	tmf_answers(&a, "T", PVS_TMF_ABORT_TASK, IA, &never.r, PVS_TMF_FUNCTION_COMPLETE);

	/* Another initiator's task is not in this nexus's task set. */
	tmf_answers(&b, "U", PVS_TMF_ABORT_TASK, IB, &r1.r, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_EQUAL(r1.r.core.flags & PVSI_RF_ABORTED, 0);
	CU_ASSERT_EQUAL(ncancel, 0);

	/* NULL task reference. */
	tmf_answers(&b, "V", PVS_TMF_ABORT_TASK, IA, NULL, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_STRING_EQUAL(evlog, "TUV");

	pvsi_req_complete(&r1.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(r1.r.host, PVS_HOST_OK);
}

static void test_abort_task_twice_chains(void)
{
	struct treq r1;
	struct ttmf a, b;

	reset_state();
	treq_start(lun, &r1, "R1", IA);
	ttmf_start(lun, &a, "A", PVS_TMF_ABORT_TASK, IA, &r1.r);
	ttmf_start(lun, &b, "B", PVS_TMF_ABORT_TASK, IA, &r1.r);
	/* The second ABORT waits behind the first; cancel is issued once. */
	CU_ASSERT_EQUAL(a.ndone + b.ndone, 0);
	CU_ASSERT_EQUAL(ncancel, 1);
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(a.ndone, 1);
	CU_ASSERT_EQUAL(b.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "R1AB");
}

static void test_lun_reset_after_abort(void)
{
	struct treq r1, r2;
	struct ttmf a, reset;

	reset_state();
	treq_start(lun, &r1, "R1", IA);
	treq_start(lun, &r2, "R2", IB);
	ttmf_start(lun, &a, "A", PVS_TMF_ABORT_TASK, IA, &r1.r);
	/* The guest gave up on the abort and escalates. */
	ttmf_start(lun, &reset, "L", PVS_TMF_LUN_RESET, IA, NULL);
	CU_ASSERT_EQUAL(reset.ndone, 0);
	CU_ASSERT_EQUAL(ncancel, 2); /* r1 once, r2 once */

	pvsi_req_complete(&r2.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(reset.ndone, 0); /* r1 still out */
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_RESET);
	check_aborted(&r2, PVS_HOST_RESET);
	CU_ASSERT_EQUAL(a.ndone, 1);
	CU_ASSERT_EQUAL(reset.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "R2R1AL");
}

/* ---- task sets ---- */

static void test_abort_task_set(void)
{
	struct treq r1, r2, r3;
	struct ttmf t;

	reset_state();
	treq_start(lun, &r1, "1", IA);
	treq_start(lun, &r2, "2", IA);
	treq_start(lun, &r3, "3", IB);
	ttmf_start(lun, &t, "T", PVS_TMF_ABORT_TASK_SET, IA, NULL);
	CU_ASSERT_EQUAL(t.t.pending, 2);
	CU_ASSERT_EQUAL(r3.r.core.flags & PVSI_RF_ABORTED, 0);
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(t.ndone, 0);
	pvsi_req_complete(&r1.r, PVS_SR_READ_ERROR); /* outcome is overridden */
	check_aborted(&r1, PVS_HOST_ABORTED);
	check_aborted(&r2, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "21T");
	pvsi_req_complete(&r3.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(r3.r.host, PVS_HOST_OK);
	/* No UA for ABORT TASK SET. */
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IA), 0);
}

static void test_clear_task_set(void)
{
	struct treq r1, r2;
	struct ttmf t;

	reset_state();
	cancel_mode = CANCEL_SYNC;
	treq_start(lun, &r1, "1", IA);
	treq_start(lun, &r2, "2", IB);
	ttmf_start(lun, &t, "T", PVS_TMF_CLEAR_TASK_SET, IA, NULL);
	check_aborted(&r1, PVS_HOST_ABORTED);
	check_aborted(&r2, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_EQUAL(strlen(evlog), 3);
	CU_ASSERT_EQUAL(evlog[2], 'T');
}

/* ---- resets ---- */

/* A and B known to the LUN with no UA pending, @holder holding an SPC-2 reservation; A's slot. */
static struct pvsi_initiator *both_nexuses_reserved(uint64_t holder)
{
	struct pvsi_initiator *a = pvsi_initiator_slot(lun, IA);
	struct pvsi_initiator *b = pvsi_initiator_slot(lun, IB);

	a->ua_pending = b->ua_pending = 0;
	lun->pr.spc2_reserved = true;
	lun->pr.spc2_holder = holder;
	return a;
}

static void test_lun_reset_state(void)
{
	struct treq r1, r2;
	struct ttmf t;
	struct pvsi_initiator *a;

	reset_state();
	a = both_nexuses_reserved(IB);
	a->registered = true;
	a->key = 0x1234;
	lun->pr.pr_reserved = true;
	lun->pr.pr_holder = IA;
	lun->pr.pr_type = 1;

	treq_start(lun, &r1, "1", IA);
	treq_start(lun, &r2, "2", IB);
	ttmf_start(lun, &t, "T", PVS_TMF_LUN_RESET, IB, NULL);
	CU_ASSERT_EQUAL(t.ndone, 0);
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_RESET);
	check_aborted(&r2, PVS_HOST_RESET);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "12T");
	/* SAM-5 6.3.3: every I_T nexus, the issuer too, gets 29h/03h. */
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IA), 1u << (PVS_SR_UA_LUN_RESET - PVS_SR_UA_POWER_ON));
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IB), 1u << (PVS_SR_UA_LUN_RESET - PVS_SR_UA_POWER_ON));
	/* SPC-2 reservation gone, persistent reservation and registration kept. */
	CU_ASSERT_FALSE(lun->pr.spc2_reserved);
	CU_ASSERT_TRUE(lun->pr.pr_reserved);
	CU_ASSERT_EQUAL(lun->pr.pr_holder, IA);
	CU_ASSERT_TRUE(a->registered);
	CU_ASSERT_EQUAL(a->key, 0x1234);
}

static void test_lun_reset_idle_completes_at_once(void)
{
	struct ttmf t;

	reset_state();
	tmf_answers(&t, "T", PVS_TMF_LUN_RESET, IA, NULL, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_EQUAL(ncancel, 0);
}

static void test_nexus_reset(void)
{
	struct treq r1, r2;
	struct ttmf t;

	reset_state();
	both_nexuses_reserved(IA);

	treq_start(lun, &r1, "1", IA);
	treq_start(lun, &r2, "2", IB);
	ttmf_start(lun, &t, "T", PVS_TMF_I_T_NEXUS_RESET, IA, NULL);
	CU_ASSERT_EQUAL(ncancel, 1);
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_RESET);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IA),
	                1u << (PVS_SR_UA_NEXUS_LOSS - PVS_SR_UA_POWER_ON));
	CU_ASSERT_EQUAL(pvsi_ua_pending(lun, IB), 0);
	CU_ASSERT_FALSE(lun->pr.spc2_reserved);
	/* B's task was not part of it. */
	CU_ASSERT_EQUAL(r2.r.core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET), 0);
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(r2.r.host, PVS_HOST_OK);

	/* B's nexus loss leaves A's SPC-2 reservation alone. */
	lun->pr.spc2_reserved = true;
	lun->pr.spc2_holder = IA;
	tmf_answers(&t, "U", PVS_TMF_I_T_NEXUS_RESET, IB, NULL, PVS_TMF_FUNCTION_COMPLETE);
	CU_ASSERT_TRUE(lun->pr.spc2_reserved);
}

/* ---- queries ---- */

static void test_query(void)
{
	struct treq r1, gone;
	struct ttmf t;

	reset_state();
	treq_start(lun, &r1, "1", IA);
	treq_init(&gone, "G", IA);

	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK, IA, &r1.r, PVS_TMF_FUNCTION_SUCCEEDED);
	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK, IA, &gone.r, PVS_TMF_FUNCTION_COMPLETE);
	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK, IB, &r1.r, PVS_TMF_FUNCTION_COMPLETE);
	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK_SET, IA, NULL, PVS_TMF_FUNCTION_SUCCEEDED);
	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK_SET, IB, NULL, PVS_TMF_FUNCTION_COMPLETE);

	/* Queries touch nothing. */
	CU_ASSERT_EQUAL(r1.r.core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET), 0);
	CU_ASSERT_EQUAL(ncancel, 0);
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(r1.r.host, PVS_HOST_OK);

	tmf_answers(&t, "Q", PVS_TMF_QUERY_TASK_SET, IA, NULL, PVS_TMF_FUNCTION_COMPLETE);
}

static void test_unknown_function_rejected(void)
{
	struct ttmf t;

	reset_state();
	tmf_answers(&t, "X", (enum pvs_tmf_fn)77, IA, NULL, PVS_TMF_FUNCTION_REJECTED);
}

/* ---- re-entrancy ---- */

/* Requests "1" and "2" from A in flight, 1 calling @on_done when it completes. */
static void start_1_and_2(struct treq *r1, struct treq *r2, void (*on_done)(struct treq *t))
{
	treq_init(r1, "1", IA);
	r1->on_done = on_done;
	pvs_submit(lun, &r1->r);
	treq_start(lun, r2, "2", IA);
}

static struct treq resub;

/* The transport reuses the slot at once, as a ring would. */
static void resubmit(struct treq *t)
{
	treq_start(lun, &resub, "N", t->r.initiator);
}

static void test_done_resubmits_during_abort(void)
{
	struct treq r1, r2;
	struct ttmf t;

	reset_state();
	cancel_mode = CANCEL_SYNC;
	start_1_and_2(&r1, &r2, resubmit);
	ttmf_start(lun, &t, "T", PVS_TMF_ABORT_TASK_SET, IA, NULL);
	check_aborted(&r1, PVS_HOST_ABORTED);
	check_aborted(&r2, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_EQUAL(ncancel, 2);
	/* The request submitted from done() arrived after the TMF: not aborted. */
	CU_ASSERT_EQUAL(resub.ndone, 0);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 1);
	CU_ASSERT_EQUAL(resub.r.core.flags & (PVSI_RF_ABORTED | PVSI_RF_CANCELED), 0);
	pvsi_req_complete(&resub.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(resub.r.host, PVS_HOST_OK);
}

/* A TMF submitted from a victim's done() while another TMF is cancelling. */
static struct ttmf nested;

static void nested_tmf(struct treq *t)
{
	ttmf_start(lun, &nested, "M", PVS_TMF_ABORT_TASK_SET, t->r.initiator, NULL);
}

static void test_tmf_from_done(void)
{
	struct treq r1, r2;
	struct ttmf t;

	reset_state();
	start_1_and_2(&r1, &r2, nested_tmf);
	ttmf_start(lun, &t, "T", PVS_TMF_CLEAR_TASK_SET, IB, NULL);
	pvsi_req_complete(&r1.r, PVS_SR_OK); /* runs nested ABORT TASK SET for r2 */
	CU_ASSERT_EQUAL(nested.ndone, 0);
	CU_ASSERT_EQUAL(t.ndone, 0);
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	CU_ASSERT_EQUAL(t.ndone, 1);
	CU_ASSERT_EQUAL(nested.ndone, 1);
	CU_ASSERT_STRING_EQUAL(evlog, "12TM");
	check_aborted(&r2, PVS_HOST_ABORTED);
}

static void test_abort_nexus_spares_caller(void)
{
	struct treq r1, r2, me;

	reset_state();
	treq_start(lun, &r1, "1", IA);
	treq_start(lun, &r2, "2", IB);
	treq_start(lun, &me, "M", IA);
	pvsi_tmf_abort_nexus(lun, IA, &me.r);
	CU_ASSERT_EQUAL(ncancel, 1);
	CU_ASSERT(r1.r.core.flags & PVSI_RF_ABORTED);
	CU_ASSERT_EQUAL(me.r.core.flags & PVSI_RF_ABORTED, 0);
	CU_ASSERT_EQUAL(r2.r.core.flags & PVSI_RF_ABORTED, 0);
	pvsi_req_complete(&r1.r, PVS_SR_OK);
	pvsi_req_complete(&r2.r, PVS_SR_OK);
	pvsi_req_complete(&me.r, PVS_SR_OK);
	check_aborted(&r1, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(r2.r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(me.r.host, PVS_HOST_OK);
}

/* ---- a real emulated LUN whose store never finishes on its own ---- */

static struct pvs_req *held[8];
static unsigned int nheld;
static int store_cancels;

static void hold_readv(struct pvs_lun *l, struct pvs_req *req, uint64_t off,
                       const struct iovec *iov, unsigned int cnt)
{
	(void)l;
	(void)off;
	(void)iov;
	(void)cnt;
	if (nheld < 8)
		held[nheld++] = req;
}

static int hold_cancel(struct pvs_lun *l, struct pvs_req *req)
{
	(void)l;
	(void)req;
	store_cancels++;
	return -1; /* cannot cancel: the read completes when it completes */
}

static struct pvsi_store_ops hold_store;

static void test_mem_lun_abort(void)
{
	struct pvs_worker *w = NULL;
	struct pvs_lun *m = NULL;
	const struct pvsi_store_ops *orig;
	char err[256];
	struct treq r1, r2;
	struct ttmf t;

	reset_state();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(w, "mem:1M", NULL, &m, err, sizeof(err)), 0);
	orig = m->store;
	hold_store = *orig;
	hold_store.readv = hold_readv;
	hold_store.cancel = hold_cancel;
	m->store = &hold_store;
	nheld = 0;
	store_cancels = 0;

	/* Clear the power-on UA first so the READs reach the store. */
	CU_ASSERT_EQUAL(pvsi_ua_take(m, IA), PVS_SR_UA_POWER_ON);
	treq_start(m, &r1, "1", IA);
	treq_start(m, &r2, "2", IA);
	CU_ASSERT_EQUAL_FATAL(nheld, 2);
	CU_ASSERT_EQUAL(pvs_lun_inflight(m), 2);

	ttmf_start(m, &t, "T", PVS_TMF_ABORT_TASK, IA, &r1.r);
	CU_ASSERT_EQUAL(t.ndone, 0);
	/* The read finishes with data after the abort: the guest still sees ABORTED once. */
	pvsi_store_done(held[0] == &r1.r ? held[0] : held[1], 512);
	check_aborted(&r1, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(t.ndone, 1);
	pvsi_store_done(held[0] == &r2.r ? held[0] : held[1], 512);
	CU_ASSERT_EQUAL(r2.ndone, 1);
	CU_ASSERT_EQUAL(r2.r.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(r2.r.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(r2.r.residual, 0);
	CU_ASSERT_STRING_EQUAL(evlog, "1T2");
	CU_ASSERT_EQUAL(pvs_lun_inflight(m), 0);

	m->store = orig;
	pvs_lun_close(m);
	pvs_worker_free(w);
}

static const struct cu_test abort_task_tests[] = {
    {"completes after the victim", test_abort_task_completes_after_victim},
    {"synchronous cancel", test_abort_task_sync_cancel},
    {"task not found", test_abort_task_not_found},
    {"second abort chains", test_abort_task_twice_chains},
    {"LUN reset after abort", test_lun_reset_after_abort},
};
static const struct cu_test task_set_tests[] = {
    {"ABORT TASK SET", test_abort_task_set},
    {"CLEAR TASK SET", test_clear_task_set},
    {"PREEMPT AND ABORT helper", test_abort_nexus_spares_caller},
};
static const struct cu_test reset_tests[] = {
    {"LUN RESET state", test_lun_reset_state},
    {"LUN RESET idle", test_lun_reset_idle_completes_at_once},
    {"I_T NEXUS RESET", test_nexus_reset},
};
static const struct cu_test query_tests[] = {
    {"QUERY TASK / TASK SET", test_query},
    {"unknown function", test_unknown_function_rejected},
};
static const struct cu_test reentrancy_tests[] = {
    {"done() resubmits", test_done_resubmits_during_abort},
    {"TMF from done()", test_tmf_from_done},
};
static const struct cu_test mem_lun_tests[] = {
    {"abort a held read", test_mem_lun_abort},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("abort_task", setup, teardown, abort_task_tests),
	    CU_SUITE("task_sets", setup, teardown, task_set_tests),
	    CU_SUITE("resets", setup, teardown, reset_tests),
	    CU_SUITE("queries", setup, teardown, query_tests),
	    CU_SUITE("reentrancy", setup, teardown, reentrancy_tests),
	    CU_SUITE("mem_lun", setup, teardown, mem_lun_tests),
	};

	return CU_RUN_SUITES(suites);
}
