/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tmf.c - task management functions (SAM-5 7) on one LUN.
 *
 * A TMF marks the requests it affects (PVSI_RF_ABORTED or PVSI_RF_RESET),
 * counts them in tmf->pending and asks the LUN to cancel them.  Each marked
 * request still completes exactly once, through pvsi_req_complete(), with
 * the host code its flag selects; that completion decrements the TMF it
 * names in core.tmf, and the last one runs tmf->done.  The TMF holds one
 * extra count while it is being set up, so done() cannot run in the middle
 * of pvs_tmf_submit() even when a cancel completes a request synchronously.
 *
 * A request names only one TMF.  When a second TMF affects a request that
 * a first one already waits on (ABORT TASK twice, or a LUN RESET after a
 * timed-out ABORT TASK), the second is chained behind the first through
 * tmf->waiter and so completes after it, hence after the request.  A TMF
 * is only chained while it is being marked, behind TMFs that already
 * exist, so the chains cannot form a cycle.
 */
#include "core.h"

/* Make @tmf complete only after @req has. */
static void wait_on(struct pvs_tmf *tmf, struct pvs_req *req)
{
	struct pvs_tmf *t = req->core.tmf;

	if (!t) {
		req->core.tmf = tmf;
		tmf->pending++;
		return;
	}
	for (;;) {
		if (t == tmf)
			return; /* already waiting, directly or through the chain */
		if (!t->waiter)
			break;
		t = t->waiter;
	}
	t->waiter = tmf;
	tmf->pending++;
}

void pvsi_tmf_finish(struct pvs_tmf *tmf)
{
	while (tmf) {
		/* done() may free or reuse the TMF: read the chain first. */
		struct pvs_tmf *next = tmf->waiter;

		tmf->waiter = NULL;
		tmf->done(tmf);
		if (!next || --next->pending != 0)
			break;
		tmf = next;
	}
}

/*
 * Cancel every marked request not cancelled yet.  A cancel may complete
 * its request at once, and that request's done() may submit new requests
 * or complete others, so the list is rescanned from the head after each
 * one; the CANCELED flag makes the scan terminate.
 */
static void cancel_marked(struct pvs_lun *lun)
{
	struct pvs_req *r;

restart:
	for (r = lun->inflight; r; r = r->core.next) {
		if (!(r->core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET)) ||
		    (r->core.flags & PVSI_RF_CANCELED))
			continue;
		r->core.flags |= PVSI_RF_CANCELED;
		if (lun->ops->cancel) {
			lun->ops->cancel(lun, r);
			goto restart;
		}
	}
}

/* Mark the requests selected by @all / @initiator; returns how many. */
static unsigned int mark(struct pvs_lun *lun, struct pvs_tmf *tmf, bool all, uint64_t initiator,
                         uint32_t flag)
{
	unsigned int n = 0;

	for (struct pvs_req *r = lun->inflight; r; r = r->core.next) {
		if (!all && r->initiator != initiator)
			continue;
		r->core.flags |= flag;
		wait_on(tmf, r);
		n++;
	}
	return n;
}

/* The request @task if it is in this LUN's task set for @initiator. */
static struct pvs_req *find_task(struct pvs_lun *lun, const struct pvs_req *task,
                                 uint64_t initiator)
{
	/* Compare pointers only: @task is never dereferenced unless found. */
	for (struct pvs_req *r = lun->inflight; r; r = r->core.next)
		if (r == task && r->initiator == initiator)
			return r;
	return NULL;
}

static bool has_tasks(const struct pvs_lun *lun, uint64_t initiator)
{
	for (const struct pvs_req *r = lun->inflight; r; r = r->core.next)
		if (r->initiator == initiator)
			return true;
	return false;
}

void pvsi_tmf_abort_nexus(struct pvs_lun *lun, uint64_t initiator, const struct pvs_req *except)
{
	for (struct pvs_req *r = lun->inflight; r; r = r->core.next)
		if (r->initiator == initiator && r != except)
			r->core.flags |= PVSI_RF_ABORTED;
	cancel_marked(lun);
}

void pvs_tmf_submit(struct pvs_lun *lun, struct pvs_tmf *tmf)
{
	struct pvs_req *task;

	tmf->lun = lun;
	tmf->waiter = NULL;
	tmf->pending = 1; /* held until setup is over */
	tmf->result = PVS_TMF_FUNCTION_COMPLETE;
	if (tmf->fn == PVS_TMF_ABORT_TASK || tmf->fn == PVS_TMF_ABORT_TASK_SET ||
	    tmf->fn == PVS_TMF_CLEAR_TASK_SET)
		lun->stats.tmf_aborts++;
	else if (tmf->fn == PVS_TMF_LUN_RESET || tmf->fn == PVS_TMF_I_T_NEXUS_RESET)
		lun->stats.tmf_resets++;

	switch (tmf->fn) {
	case PVS_TMF_ABORT_TASK:
		/* SAM-5 7.2: a task that is not (or no longer) there is FUNCTION COMPLETE. */
		task = find_task(lun, tmf->task, tmf->initiator);
		if (task) {
			task->core.flags |= PVSI_RF_ABORTED;
			wait_on(tmf, task);
		}
		break;
	case PVS_TMF_ABORT_TASK_SET: /* SAM-5 7.3 */
		mark(lun, tmf, false, tmf->initiator, PVSI_RF_ABORTED);
		break;
	case PVS_TMF_CLEAR_TASK_SET: /* SAM-5 7.4 */
		mark(lun, tmf, true, 0, PVSI_RF_ABORTED);
		break;
	case PVS_TMF_LUN_RESET:
		/*
		 * SAM-5 7.7 / 6.3.3: abort every task, release SPC-2
		 * reservations (persistent ones survive), and establish BUS
		 * DEVICE RESET FUNCTION OCCURRED for every I_T nexus, the one
		 * that requested the reset included.
		 */
		mark(lun, tmf, true, 0, PVSI_RF_RESET);
		pvsi_pr_lun_reset(lun);
		if (lun->cd)
			pvsi_cd_reset(lun, UINT64_MAX); /* SPC-5 6.16: preventions end too */
		pvsi_ua_raise_all(lun, PVS_SR_UA_LUN_RESET, UINT64_MAX);
		break;
	case PVS_TMF_I_T_NEXUS_RESET:
		/* SAM-5 7.6 / 6.3.4: as an I_T nexus loss, for this nexus only. */
		mark(lun, tmf, false, tmf->initiator, PVSI_RF_RESET);
		pvsi_pr_nexus_loss(lun, tmf->initiator);
		if (lun->cd)
			pvsi_cd_reset(lun, tmf->initiator);
		pvsi_ua_raise(lun, tmf->initiator, PVS_SR_UA_NEXUS_LOSS);
		break;
	case PVS_TMF_QUERY_TASK: /* SAM-5 7.8 */
		if (find_task(lun, tmf->task, tmf->initiator))
			tmf->result = PVS_TMF_FUNCTION_SUCCEEDED;
		break;
	case PVS_TMF_QUERY_TASK_SET: /* SAM-5 7.9 */
		if (has_tasks(lun, tmf->initiator))
			tmf->result = PVS_TMF_FUNCTION_SUCCEEDED;
		break;
	default:
		tmf->result = PVS_TMF_FUNCTION_REJECTED;
		break;
	}

	cancel_marked(lun);
	if (--tmf->pending == 0)
		pvsi_tmf_finish(tmf);
}
