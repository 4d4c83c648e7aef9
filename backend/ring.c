/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring.c - the vscsiif data path of one vhost (see ring.h).
 *
 * Per request: copy the request out of the shared page once (XSA-155),
 * validate the copy (protocol/vscsiif_proto.c), copy indirect descriptor
 * pages out once and validate those copies, pull data-out with one batched
 * grant copy, route through the v-dev map, and on completion push data-in
 * (only the bytes transferred) with one batched grant copy and write the
 * response.  Responses are pushed, and the frontend notified at most once,
 * per batch: at the end of pvsd_ring_handle_event() and in pvsd_ring_flush().
 *
 * Bounce buffer layout: data segment i lives in page i of its slot's
 * buffer at the guest's own offset, so no copy crosses a local page
 * boundary and the segments of a typical request (first page from an
 * offset, whole pages, last page from 0) merge into one iovec.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pvscsi/lun.h"
#include "ring.h"
#include "ring_journal.h"
#include "ring_int.h"
#include "sense_text.h"
#include "vscsiif_proto.h"

#define PAGE 4096u
/* Requests consumed per handle_event call: a few ring's worth, then yield. */
#define PASSES 4
/* Error lines per ring before a hostile guest is not logged any more (class 11). */
#define ERR_BUDGET 32
/* How long command answers wait behind a task management function (see hold()). */
#define TMF_HOLD_MS 250
/* An indirect descriptor page copy splits at most once on the local side. */
#define IND_OPS (2 * VSCSIIF_SG_TABLESIZE)

enum { SLOT_FREE, SLOT_CDB, SLOT_TMF };

void pvsd_ring_log(struct pvsd_ring *r, int prio, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!r->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Self-contained even with an untagged callback (daemon_ut expects this form). */
	r->cfg.log(r->cfg.log_arg, prio, "dom %u vhost %u: %s", r->cfg.domid, r->cfg.vhost, line);
}

/* Guest-triggered errors: logged until the budget runs out, then counted only. */
#define ring_err(r, ...)                                                                           \
	do {                                                                                       \
		if ((r)->err_budget > 0) {                                                         \
			pvsd_ring_log((r), LOG_ERR, __VA_ARGS__);                                  \
			if (--(r)->err_budget == 0)                                                \
				pvsd_ring_log((r), LOG_ERR, "further guest errors not logged");    \
		}                                                                                  \
	} while (0)

static inline bool rqid_busy(const struct pvsd_ring *r, uint16_t rqid)
{
	return r->rqid_busy[rqid / 64] >> (rqid % 64) & 1;
}

static inline void rqid_set(struct pvsd_ring *r, uint16_t rqid, bool on)
{
	if (on)
		r->rqid_busy[rqid / 64] |= 1ull << (rqid % 64);
	else
		r->rqid_busy[rqid / 64] &= ~(1ull << (rqid % 64));
}

/* ---- responses ---- */

/*
 * Responses are published (rsp_prod) as soon as they are written, so that a
 * daemon killed in between leaves at most one written-but-unpublished
 * response; the notification is still decided once per batch, in push().
 * Inline, as slot_put(): both run for every command, in answer().
 */
static inline void respond(struct pvsd_ring *r, struct slot *s, int32_t rslt, const uint8_t *sense,
                           unsigned int sense_len, uint32_t resid)
{
	/* Never more responses than consumed requests: the slot is one already read. */
	struct vscsiif_response *rsp = RING_GET_RESPONSE(&r->back, r->back.rsp_prod_pvt);

	if (r->j) {
		struct jentry *e = &r->j->e[slot_index(r, s)];

		e->rsp_idx = r->back.rsp_prod_pvt;
		__atomic_store_n(&e->state, JE_ANSWERED, __ATOMIC_RELEASE);
	}
	pvsp_build_response(rsp, s->rqid, rslt, sense, sense_len, resid);
	if (!r->push_pending) {
		r->batch_old = r->back.rsp_prod_pvt;
		r->push_pending = true;
	}
	r->back.rsp_prod_pvt++;
	/* The frontend sees the response before the index that covers it. */
	__atomic_store_n(&r->back.sring->rsp_prod, r->back.rsp_prod_pvt, __ATOMIC_RELEASE);
	r->st.responses++;
	if (r->cfg.verbose)
		pvsd_ring_log(r, LOG_DEBUG, "rsp rqid %u rslt 0x%x resid %u sense %u", s->rqid,
		              (unsigned int)rslt, resid,
		              sense_len > VSCSIIF_SENSE_BUFFERSIZE ? VSCSIIF_SENSE_BUFFERSIZE
		                                                   : sense_len);
}

static void notify(struct pvsd_ring *r)
{
	int rc = r->cfg.evt->notify(r->cfg.evt_ctx, r->chan);

	r->st.notifies++;
	if (rc < 0)
		pvsd_ring_log(r, LOG_ERR, "event channel notify: %s", strerror(-rc));
}

/*
 * End of a batch: RING_PUSH_RESPONSES_AND_CHECK_NOTIFY's test, with the
 * rsp_prod from before the batch as the old value since respond() has
 * published the index already.
 */
static void push(struct pvsd_ring *r)
{
	RING_IDX new = r->back.rsp_prod_pvt;
	bool want;

	if (!r->push_pending)
		return;
	r->push_pending = false;
	/* The frontend sees the new rsp_prod before we read its rsp_event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	want = (RING_IDX)(new - __atomic_load_n(&r->back.sring->rsp_event, __ATOMIC_RELAXED)) <
	       (RING_IDX)(new - r->batch_old);
	if (want)
		notify(r);
}

/*
 * Every consumed request holds a slot (and its journal entry) until it is
 * answered.  There is always one free for a frontend that keeps to the
 * ring: consumption checks req_prod - rsp_prod_pvt <= RING_SIZE first.
 */
static struct slot *slot_take(struct pvsd_ring *r)
{
	struct slot *s = r->free;

	if (!s)
		return NULL;
	r->free = s->next_free;
	r->inflight++;
	return s;
}

/* Removes a particular slot from the free list (replay of its journal entry). */
static void slot_take_this(struct pvsd_ring *r, struct slot *want)
{
	for (struct slot **pp = &r->free; *pp; pp = &(*pp)->next_free) {
		if (*pp == want) {
			*pp = want->next_free;
			r->inflight++;
			return;
		}
	}
}

static inline void slot_put(struct pvsd_ring *r, struct slot *s)
{
	if (s->marked)
		rqid_set(r, s->rqid, false);
	if (r->j)
		__atomic_store_n(&r->j->e[slot_index(r, s)].state, JE_FREE, __ATOMIC_RELEASE);
	s->marked = false;
	s->state = SLOT_FREE;
	s->next_free = r->free;
	r->free = s;
	r->inflight--;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * xen-scsifront completes commands (scsi_done()) with the SCSI host lock
 * held.  While the guest runs a reset or error recovery, the midlayer takes
 * that lock again to account for a completed command (scsi_dec_host_busy()
 * with the host "in recovery"), and a vCPU spins on it forever: the guest
 * freezes (docs/compat.md, "xen-scsifront freezes").  So once a TMF is
 * taken, command answers wait: the TMF's own answer goes first, then the
 * others once the guest has ended its reset, which it shows by sending a
 * command again (it sends none while the reset runs), or after TMF_HOLD_MS.
 */
static void answer(struct pvsd_ring *r, struct slot *s, int32_t rslt, unsigned int sense_len,
                   uint32_t resid)
{
	if (r->hold_until) {
		s->held_rslt = rslt;
		s->held_sense_len =
		    (uint8_t)(sense_len < PVS_SENSE_MAX ? sense_len : PVS_SENSE_MAX);
		s->held_resid = resid;
		r->held[r->nheld++] = s;
		return;
	}
	respond(r, s, rslt, s->req.sense, sense_len, resid);
	slot_put(r, s);
}

/* Publish what was held, and hold no more. */
static void release_held(struct pvsd_ring *r)
{
	unsigned int n = r->nheld;

	r->hold_until = 0;
	r->nheld = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct slot *s = r->held[i];

		respond(r, s, s->held_rslt, s->req.sense, s->held_sense_len, s->held_resid);
		slot_put(r, s);
	}
}

static void tmf_taken(struct pvsd_ring *r)
{
	r->tmfs_running++;
	r->hold_until = UINT64_MAX;
}

/* A TMF answered: once none runs, the held answers go after the grace period. */
static void tmf_answered(struct pvsd_ring *r, struct slot *s, int32_t rslt)
{
	respond(r, s, rslt, NULL, 0, 0);
	slot_put(r, s);
	if (--r->tmfs_running == 0) {
		int ms = r->cfg.tmf_hold_ms ? r->cfg.tmf_hold_ms : TMF_HOLD_MS;

		r->hold_until = now_ns() + (uint64_t)(ms < 0 ? 0 : ms) * 1000000u;
	}
}

static void release_if_due(struct pvsd_ring *r)
{
	if (r->hold_until && r->hold_until != UINT64_MAX && now_ns() >= r->hold_until)
		release_held(r);
}

/* A command refused by the ring itself: no SCSI status, nothing transferred; frees the slot. */
static void fail(struct pvsd_ring *r, struct slot *s, uint8_t host)
{
	answer(r, s, pvsp_rslt(host, 0), 0, 0);
}

/* ---- grant copies ---- */

/*
 * Every grant copy call goes through here: the counters are the bench's
 * per-I/O costs.  @bytes is what the ops carry, summed where they were built.
 */
static int gnt_copy(struct pvsd_ring *r, pvx_gnt_copy_t *ops, unsigned int n, uint64_t bytes)
{
	r->st.copy_calls++;
	r->st.copy_ops += n;
	r->st.copy_bytes += bytes;
	return r->cfg.gnt->copy(r->cfg.gnt_ctx, ops, n);
}

static uint64_t ops_bytes(const pvx_gnt_copy_t *ops, unsigned int n)
{
	uint64_t b = 0;

	for (unsigned int i = 0; i < n; i++)
		b += ops[i].len;
	return b;
}

/* Run @n ops; true when every element succeeded. */
static bool run_copy(struct pvsd_ring *r, struct slot *s, unsigned int n, const char *what)
{
	int rc = gnt_copy(r, s->ops, n, ops_bytes(s->ops, n));

	if (rc < 0) {
		ring_err(r, "rqid %u: grant copy (%s) failed: %s", s->rqid, what, strerror(-rc));
		return false;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (s->ops[i].status != GNTST_okay) {
			ring_err(r, "rqid %u: grant copy (%s) element %u of %u: status %d", s->rqid,
			         what, i, n, s->ops[i].status);
			return false;
		}
	}
	return true;
}

static void op_from_guest(pvx_gnt_copy_t *op, uint16_t domid, uint32_t gref, uint16_t off,
                          void *dst, uint16_t len)
{
	op->source.foreign.ref = gref;
	op->source.foreign.offset = off;
	op->source.foreign.domid = domid;
	op->dest.virt = dst;
	op->len = len;
	op->flags = GNTCOPY_source_gref;
	op->status = GNTST_general_error;
}

static void op_to_guest(pvx_gnt_copy_t *op, uint16_t domid, uint32_t gref, uint16_t off, void *src,
                        uint16_t len)
{
	op->source.virt = src;
	op->dest.foreign.ref = gref;
	op->dest.foreign.offset = off;
	op->dest.foreign.domid = domid;
	op->len = len;
	op->flags = GNTCOPY_dest_gref;
	op->status = GNTST_general_error;
}

/*
 * Copy the descriptor pages of an indirect request out of the guest once;
 * validation then reads only this copy.  The copy is contiguous, so a page's
 * piece may cross a local page boundary: split there.
 */
static int fetch_indirect(struct pvsd_ring *r, struct slot *s, const struct pvsp_req *p)
{
	uint8_t *dst = (uint8_t *)s->segs;
	unsigned int n = 0;
	int err;

	for (unsigned int i = 0; i < p->nr_seg; i++) {
		unsigned int off = p->seg[i].offset, len = p->seg[i].length;

		while (len) {
			unsigned int room = PAGE - (unsigned int)((uintptr_t)dst & (PAGE - 1));
			unsigned int chunk = len < room ? len : room;

			op_from_guest(&s->ops[n++], r->cfg.domid, p->seg[i].gref, (uint16_t)off,
			              dst, (uint16_t)chunk);
			dst += chunk;
			off += chunk;
			len -= chunk;
		}
	}
	if (!run_copy(r, s, n, "indirect descriptors"))
		return -EIO;
	err = pvsp_check_segments(s->segs, p->nr_data_segs, &r->lim, &s->data_len);
	if (err) {
		ring_err(r, "rqid %u: rejected: %s", s->rqid, pvsp_err_name(err));
		return -EINVAL;
	}
	s->nsegs = p->nr_data_segs;
	return 0;
}

static inline uint8_t *seg_addr(const struct slot *s, unsigned int i)
{
	return s->buf + (size_t)i * PAGE + s->segs[i].offset;
}

static unsigned int build_iov(struct slot *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->nsegs; i++) {
		uint8_t *a = seg_addr(s, i);

		if (n && (uint8_t *)s->iov[n - 1].iov_base + s->iov[n - 1].iov_len == a) {
			s->iov[n - 1].iov_len += s->segs[i].length;
			continue;
		}
		s->iov[n].iov_base = a;
		s->iov[n].iov_len = s->segs[i].length;
		n++;
	}
	return n;
}

/* Request @s's share of a batched copy; logged as run_copy() would. */
static bool batch_ok(struct pvsd_ring *r, struct slot *s, bool data_in)
{
	for (unsigned int i = 0; i < s->bop_n; i++) {
		int16_t st = r->bops[s->bop_first + i].status;

		if (st != GNTST_okay) {
			ring_err(r, "rqid %u: grant copy (%s) element %u of %u: status %d", s->rqid,
			         data_in ? "data-in" : "data-out", i, s->bop_n, st);
			return false;
		}
	}
	return true;
}

/*
 * One copy call for the @n ops the @k requests in @v put in r->bops (the
 * first @k_in of them completed: data-in, or data-out into a lent medium;
 * the rest data-out); ok[i] says whether v[i]'s part went through.  A
 * failing call says nothing of which request was at fault: with several
 * requests in it, each is copied again on its own, so that an error still
 * fails that request only.
 */
static void batch_copy(struct pvsd_ring *r, struct slot **v, unsigned int k, unsigned int k_in,
                       unsigned int n, uint64_t bytes, bool *ok)
{
	unsigned int with_ops = 0;
	int rc = 0;

	if (n)
		rc = gnt_copy(r, r->bops, n, bytes);
	if (rc == 0) {
		/* The common case: only the elements' status to look at. */
		for (unsigned int i = 0; i < k; i++)
			ok[i] = batch_ok(r, v[i], i < k_in && !v[i]->req.data_out);
		return;
	}
	for (unsigned int i = 0; i < k; i++)
		with_ops += v[i]->bop_n != 0;
	for (unsigned int i = 0; i < k; i++) {
		struct slot *s = v[i];
		const char *what = i < k_in && !s->req.data_out ? "data-in" : "data-out";

		if (!s->bop_n) {
			ok[i] = true;
		} else if (with_ops == 1) {
			ring_err(r, "rqid %u: grant copy (%s) failed: %s", s->rqid, what,
			         strerror(-rc));
			ok[i] = false;
		} else {
			memcpy(s->ops, &r->bops[s->bop_first], s->bop_n * sizeof(s->ops[0]));
			ok[i] = run_copy(r, s, s->bop_n, what);
		}
	}
}

/* ---- completions ---- */

static void finish_cdb(struct pvsd_ring *r, struct slot *s, bool copied)
{
	struct pvs_req *req = &s->req;
	uint32_t resid = req->residual < s->data_len ? req->residual : s->data_len;
	uint8_t host = pvsp_host_code(req->host);
	uint8_t status = req->status;
	unsigned int sense_len = req->sense_len;

	if (!copied) {
		/* The guest's buffer holds an unknown part of the data: fail the command. */
		host = XEN_VSCSIIF_RSLT_HOST_ERROR;
		status = 0;
		sense_len = 0;
		resid = s->data_len;
		r->st.rejected++;
	}
	answer(r, s, pvsp_rslt(host, status), sense_len, resid);
}

/*
 * A LUN's device errors in the log, in words (psense_device_error says
 * which).  Out of line: its line buffer stays off cdb_done()'s frame.
 */
__attribute__((noinline, cold)) static void
log_device_error(struct pvsd_ring *r, const struct slot *s, const struct pvs_req *req)
{
	char line[256];

	if (psense_device_error(req, &r->dev_errors, line, sizeof(line)))
		pvsd_ring_log(r, LOG_WARNING, "v-dev %u:%u:%u %s", s->channel, s->id, s->lun, line);
}

static void cdb_done(struct pvs_req *req)
{
	struct slot *s = req->opaque;
	struct pvsd_ring *r = s->ring;
	uint32_t resid = req->residual < s->data_len ? req->residual : s->data_len;
	uint64_t now = pvs_now_ns();

	pvs_io_stats_add(&r->st.io, req, now > s->t_submit ? now - s->t_submit : 0);
	/* Only a CHECK CONDITION can be one: most commands pay one compare. */
	if (req->status == PVS_STATUS_CHECK_CONDITION)
		log_device_error(r, s, req);

	if (req->data_out) {
		/* A WRITE into a lent medium: its data-out goes there before the answer. */
		r->lent_out_waiting = true;
		r->pend_out[r->npend_out++] = s;
		return;
	}
	if (req->host == PVS_HOST_OK && (s->dir == PVSP_DIR_FROM_DEV || s->dir == PVSP_DIR_BIDI) &&
	    s->data_len > resid) {
		/* Only the first bytes: what the command transferred, nothing stale beyond. */
		s->out_bytes = s->data_len - resid;
		r->lent_waiting |= req->data_in != NULL;
		r->pend_out[r->npend_out++] = s;
		return;
	}
	finish_cdb(r, s, true);
}

static void submit_one(struct pvsd_ring *r, struct slot *s, uint64_t now);
static void complete_pending(struct pvsd_ring *r);

/*
 * The copy ops of a completed command, from op @n on; returns the next.
 * The first @total bytes, to the guest (data-in) or, with @into_medium,
 * from it into the medium a mem: LUN lent (a WRITE's data-out).  @lent:
 * that medium (pvs_map_set_lend: the one copy is ours); NULL, the slot's
 * pages.  Inline with a constant @into_medium: one loop per direction, no
 * test per segment.
 */
static inline __attribute__((always_inline)) unsigned int
completed_ops(struct pvsd_ring *r, struct slot *s, const uint8_t *lent, uint32_t total,
              bool into_medium, unsigned int n, uint64_t *bytes)
{
	uint32_t left = total;

	s->bop_first = n;
	for (unsigned int j = 0; j < s->nsegs && left; j++) {
		uint16_t len = s->segs[j].length < left ? s->segs[j].length : (uint16_t)left;
		void *local = lent ? (void *)(uintptr_t)(lent + (total - left)) : seg_addr(s, j);

		if (into_medium)
			op_from_guest(&r->bops[n++], r->cfg.domid, s->segs[j].gref,
			              s->segs[j].offset, local, len);
		else
			op_to_guest(&r->bops[n++], r->cfg.domid, s->segs[j].gref, s->segs[j].offset,
			            local, len);
		left -= len;
	}
	*bytes += total - left;
	s->bop_n = n - s->bop_first;
	return n;
}

/*
 * WRITEs into a lent medium need no data to run: those at the head of the
 * batch run first, so that their data-out rides in this pass's call,
 * straight into the medium.  Their copies come after the data-in of what
 * completed before them, in the same call and in order, so a lent READ
 * still answers with what the medium held when it ran.  Apart: off the
 * common path (a READ, a file: WRITE).  Returns how many it submitted.
 */
__attribute__((noinline)) static unsigned int submit_lent_head(struct pvsd_ring *r, uint64_t now)
{
	unsigned int first = 0;

	while (first < r->npend_sub && r->pend_sub[first]->lend_out)
		submit_one(r, r->pend_sub[first++], now);
	return first;
}

/*
 * The ring's one grant copy call of a pass: the data-in of every command
 * completed since the last call and, with @take_new, the data-out of every
 * request taken since then; then the completed are answered and the new
 * submitted in order.  In a PV dom0 each call is a trip through Xen, so
 * completions reaped before the ring's event (the daemon runs the worker
 * first) ride along with the new requests' copy.
 */
static void exchange(struct pvsd_ring *r, bool take_new)
{
	struct slot *v[MAX_SLOTS];
	bool ok[MAX_SLOTS];
	unsigned int k_in, k_out, first = 0, n = 0;
	uint64_t bytes = 0, now = 0;

	if (take_new && r->npend_sub && r->pend_sub[0]->lend_out) {
		now = pvs_now_ns();
		first = submit_lent_head(r, now);
	}
	k_in = r->npend_out;
	k_out = take_new ? r->npend_sub - first : 0;
	if (!k_in && !k_out) {
		if (take_new)
			r->npend_sub = 0;
		return;
	}
	/* A slot is in one list at most, so both fit. */
	memcpy(v, r->pend_out, k_in * sizeof(v[0]));
	memcpy(v + k_in, r->pend_sub + first, k_out * sizeof(v[0]));
	r->npend_out = 0;
	r->lent_waiting = false;
	r->lent_out_waiting = false;
	if (take_new)
		r->npend_sub = 0;
	for (unsigned int i = 0; i < k_in; i++) {
		struct slot *s = v[i];

		if (s->req.data_out) {
			r->st.lent_out++;
			n = completed_ops(r, s, s->req.data_out, s->req.data_out_len, true, n,
			                  &bytes);
		} else {
			r->st.lent_in += s->req.data_in != NULL;
			n = completed_ops(r, s, s->req.data_in, s->out_bytes, false, n, &bytes);
		}
	}
	for (unsigned int i = k_in; i < k_in + k_out; i++) {
		struct slot *s = v[i];

		s->bop_first = n;
		s->bop_n = 0;
		if (!s->need_in)
			continue;
		for (unsigned int j = 0; j < s->nsegs; j++) {
			op_from_guest(&r->bops[n++], r->cfg.domid, s->segs[j].gref,
			              s->segs[j].offset, seg_addr(s, j), s->segs[j].length);
			bytes += s->segs[j].length;
		}
		s->bop_n = s->nsegs;
	}
	batch_copy(r, v, k_in + k_out, k_in, n, bytes, ok);
	for (unsigned int i = 0; i < k_in; i++)
		finish_cdb(r, v[i], ok[i]);
	/* One clock read for the requests submitted together (the pass's, in pvscsid). */
	if (k_out && !now)
		now = pvs_now_ns();
	for (unsigned int i = k_in; i < k_in + k_out; i++) {
		if (!ok[i]) {
			r->st.rejected++;
			fail(r, v[i], XEN_VSCSIIF_RSLT_HOST_ERROR);
			continue;
		}
		/*
		 * A READ completed in this loop may hold the medium lent, not
		 * copied: a later command that may change the medium (any that
		 * is not a pure data-in) must not run before that data is out,
		 * or the READ would answer with the later command's data.
		 * Likewise a WRITE completed here into a lent medium has no
		 * data there yet: only another such WRITE, whose copy comes
		 * after it in the same call, may run before it is in.
		 */
		if ((r->lent_waiting && v[i]->dir != PVSP_DIR_FROM_DEV) ||
		    (r->lent_out_waiting && !v[i]->lend_out))
			complete_pending(r);
		submit_one(r, v[i], now);
	}
}

/* Copy the data-in of every command completed since the last call, then answer them. */
static void complete_pending(struct pvsd_ring *r)
{
	exchange(r, false);
}

static void tmf_done(struct pvs_tmf *tmf)
{
	struct slot *s = tmf->opaque;
	struct pvsd_ring *r = s->ring;

	/* The affected commands' answers are held (see answer()): this one goes first. */
	complete_pending(r);
	tmf_answered(r, s,
	             tmf->result == PVS_TMF_FUNCTION_COMPLETE ? XEN_VSCSIIF_RSLT_RESET_SUCCESS
	                                                      : XEN_VSCSIIF_RSLT_RESET_FAILED);
}

/* ---- requests ---- */

static void submit_one(struct pvsd_ring *r, struct slot *s, uint64_t now)
{
	int rc;

	r->submitted = true;
	s->t_submit = now;
	/* May complete (cdb_done) before it returns. */
	rc = s->lend_out ? pvs_map_submit_lend_out(r->cfg.map, s->channel, s->id, s->lun, &s->req)
	                 : pvs_map_submit(r->cfg.map, s->channel, s->id, s->lun, &s->req);
	if (rc == 0)
		return;
	if (rc == -ENODEV) {
		r->st.no_connect++;
		fail(r, s, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	} else {
		pvsd_ring_log(r, LOG_ERR, "rqid %u: submit: %s", s->rqid, strerror(-rc));
		fail(r, s, XEN_VSCSIIF_RSLT_HOST_ERROR);
	}
}

/* Copy the data-out of every request taken since the last call, then submit them in order. */
static void submit_pending(struct pvsd_ring *r)
{
	exchange(r, true);
}

static void start_cdb(struct pvsd_ring *r, struct slot *s, const struct pvsp_req *p)
{
	struct pvs_req *req = &s->req;
	unsigned int niov = 0;

	s->state = SLOT_CDB;
	s->dir = p->dir;
	s->channel = p->channel;
	s->id = p->id;
	s->lun = p->lun;
	if (p->indirect) {
		if (fetch_indirect(r, s, p) < 0)
			goto err;
	} else {
		/* A loop: typically one segment, too few for a call to memcpy. */
		for (unsigned int i = 0; i < p->nr_seg; i++)
			s->segs[i] = p->seg[i];
		s->nsegs = p->nr_seg;
		s->data_len = p->data_len;
	}
	if (s->nsegs)
		niov = build_iov(s);
	/* A mem: LUN's WRITE runs first and takes its data-out straight into the medium. */
	s->lend_out = s->nsegs && p->dir == PVSP_DIR_TO_DEV &&
	              pvs_map_lends_out(r->cfg.map, p->channel, p->id, p->lun, p->cdb);
	s->need_in =
	    s->nsegs && (p->dir == PVSP_DIR_TO_DEV || p->dir == PVSP_DIR_BIDI) && !s->lend_out;
	if (r->cfg.verbose)
		pvsd_ring_log(
		    r, LOG_DEBUG, "req rqid %u %u:%u:%u %s (0x%02x) len %u", p->rqid, p->channel,
		    p->id, p->lun,
		    pvs_lun_opcode_name(pvs_map_lookup(r->cfg.map, p->channel, p->id, p->lun),
		                        p->cdb, p->cmd_len),
		    p->cdb[0], s->data_len);

	/* The parser zeroed p->cdb past cmd_len: whole fields, no guest-sized copy. */
	_Static_assert(sizeof(req->cdb) >= sizeof(p->cdb), "a vscsiif CDB fits");
	memcpy(req->cdb, p->cdb, sizeof(p->cdb));
	memset(req->cdb + sizeof(p->cdb), 0, sizeof(req->cdb) - sizeof(p->cdb));
	req->cdb_len = p->cmd_len;
	req->dir = (uint8_t)pvsp_dir_to_pvs(p->dir);
	req->iov = s->iov;
	req->iovcnt = niov;
	req->initiator = r->initiator;
	req->max_xfer_blocks = r->max_xfer_blocks;
	req->done = cdb_done;
	req->opaque = s;
	/* Submitted, after the pass's one data-out copy, by submit_pending(). */
	r->pend_sub[r->npend_sub++] = s;
	return;
err:
	r->st.rejected++;
	fail(r, s, XEN_VSCSIIF_RSLT_HOST_ERROR);
}

/* The in-flight command with this rqid: looked up, never indexed by the guest's number. */
static struct slot *find_cdb(struct pvsd_ring *r, uint16_t rqid)
{
	for (unsigned int i = 0; i < r->nslots; i++)
		if (r->slots[i].state == SLOT_CDB && r->slots[i].rqid == rqid)
			return &r->slots[i];
	return NULL;
}

static void start_tmf(struct pvsd_ring *r, struct slot *s, const struct pvsp_req *p)
{
	struct pvs_tmf *tmf = &s->tmf;
	struct slot *task = NULL;

	/* Earlier requests reach the LUN first; finished ones are answered after it (answer()). */
	tmf_taken(r);
	submit_pending(r);
	complete_pending(r);
	r->st.tmfs++;
	s->state = SLOT_TMF;
	s->channel = p->channel;
	s->id = p->id;
	s->lun = p->lun;
	if (r->cfg.verbose)
		pvsd_ring_log(r, LOG_DEBUG, "req rqid %u %u:%u:%u %s ref_rqid %u", p->rqid,
		              p->channel, p->id, p->lun,
		              p->act == VSCSIIF_ACT_SCSI_ABORT ? "ABORT" : "RESET", p->ref_rqid);
	memset(tmf, 0, sizeof(*tmf));
	if (p->act == VSCSIIF_ACT_SCSI_ABORT) {
		task = find_cdb(r, p->ref_rqid);
		if (!task) {
			/* Nothing to abort (it completed already): SAM-5 FUNCTION COMPLETE. */
			tmf_answered(r, s, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
			return;
		}
		if (task->channel != p->channel || task->id != p->id || task->lun != p->lun) {
			ring_err(r, "rqid %u: ABORT of rqid %u names another device", p->rqid,
			         p->ref_rqid);
			goto failed;
		}
		tmf->fn = PVS_TMF_ABORT_TASK;
		tmf->task = &task->req;
	} else {
		tmf->fn = PVS_TMF_LUN_RESET;
	}
	tmf->initiator = r->initiator;
	tmf->done = tmf_done;
	tmf->opaque = s;
	r->submitted = true;
	/* Asynchronous: affected commands complete first, then tmf_done. */
	if (pvs_map_tmf(r->cfg.map, p->channel, p->id, p->lun, tmf) != 0)
		goto failed;
	return;
failed:
	tmf_answered(r, s, XEN_VSCSIIF_RSLT_RESET_FAILED);
}

static void handle_request(struct pvsd_ring *r, struct slot *s, const struct vscsiif_request *copy,
                           RING_IDX idx)
{
	struct pvsp_req p;
	int err;

	r->st.requests++;
	s->rqid = copy->rqid;
	err = pvsp_parse_request(copy, &r->lim, &p);
	if (err && r->adopting &&
	    (RING_IDX)(idx - r->adopt_start) < (RING_IDX)(r->adopt_end - r->adopt_start)) {
		/*
		 * Possibly a response the previous daemon wrote but did not
		 * publish before it died: answering it under the rqid found
		 * there could complete a request that is still on the ring.
		 */
		pvsd_ring_log(r, LOG_WARNING,
		              "adopted ring: index %u fails validation (%s): dropped", idx,
		              pvsp_err_name(err));
		r->st.dropped++;
		slot_put(r, s);
		return;
	}
	if (err) {
		ring_err(r, "rqid %u: rejected: %s (act %u cmd_len %u dir %u nr_segments 0x%x)",
		         copy->rqid, pvsp_err_name(err), copy->act, copy->cmd_len,
		         copy->sc_data_direction, copy->nr_segments);
		r->st.rejected++;
		fail(r, s, XEN_VSCSIIF_RSLT_HOST_ERROR);
		return;
	}
	if (rqid_busy(r, p.rqid)) {
		/* Answering it would complete the other one in the guest's eyes: hostile. */
		ring_err(r, "rqid %u reused while in flight", p.rqid);
		r->st.rejected++;
		fail(r, s, XEN_VSCSIIF_RSLT_HOST_ERROR);
		return;
	}
	rqid_set(r, p.rqid, true);
	s->marked = true;
	if (p.act == VSCSIIF_ACT_SCSI_CDB)
		start_cdb(r, s, &p);
	else
		start_tmf(r, s, &p);
}

/*
 * Adoption: run the journal's unanswered requests again, in the order they
 * were consumed, each in the slot it had.
 */
static void replay(struct pvsd_ring *r)
{
	RING_IDX published = r->back.rsp_prod_pvt;
	unsigned int order[MAX_SLOTS], n = 0;

	r->replay = false;
	for (unsigned int i = 0; i < r->nslots; i++) {
		struct jentry *e = &r->j->e[i];

		if (e->state == JE_INFLIGHT && e->seq >= r->j->cons) {
			/* Not counted as consumed: consume() takes it from the ring again. */
			__atomic_store_n(&e->state, JE_FREE, __ATOMIC_RELEASE);
			continue;
		}
		if (e->state == JE_INFLIGHT ||
		    (e->state == JE_ANSWERED && (RING_IDX)(e->rsp_idx - published) < (1u << 31)))
			order[n++] = i;
	}
	/* Few entries: insertion sort by seq. */
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int k = i; k > 0 && r->j->e[order[k - 1]].seq > r->j->e[order[k]].seq;
		     k--) {
			unsigned int t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (unsigned int i = 0; i < n; i++) {
		struct jentry *e = &r->j->e[order[i]];
		struct slot *s = &r->slots[order[i]];
		struct vscsiif_request copy = e->req;

		pvsd_ring_log(r, LOG_INFO, "adopted ring: rqid %u (ring index %u) runs again",
		              copy.rqid, e->req_idx);
		r->st.replayed++;
		slot_take_this(r, s);
		__atomic_store_n(&e->state, JE_INFLIGHT, __ATOMIC_RELEASE);
		handle_request(r, s, &copy, e->req_idx);
	}
	submit_pending(r);
}

/*
 * Copy a request out of the shared page once (XSA-155): the header, then
 * only the segments its count, read from the copy, can name (the parser
 * reads no others).  A one-segment request is 40 of the 252 bytes.
 */
static void copy_request(struct vscsiif_request *dst, const struct vscsiif_request *src)
{
	unsigned int n;

	memcpy(dst, src, offsetof(struct vscsiif_request, seg));
	/* The count is the copy's: the guest may change the ring's meanwhile. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	n = dst->nr_segments & ~VSCSIIF_SG_GRANT;
	if (n > VSCSIIF_SG_TABLESIZE)
		n = VSCSIIF_SG_TABLESIZE;
	for (unsigned int i = 0; i < n; i++)
		dst->seg[i] = src->seg[i];
}

/* One pass: at most a ring's worth of requests. */
static void consume(struct pvsd_ring *r)
{
	RING_IDX rc = r->back.req_cons;
	/* One read of the guest's index; acquire orders the request reads after it. */
	RING_IDX rp = __atomic_load_n(&r->back.sring->req_prod, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	if (RING_REQUEST_PROD_OVERFLOW(&r->back, rp)) {
		pvsd_ring_log(
		    r, LOG_ERR,
		    "dom %u vhost %u provided bogus ring requests (req_prod %u, rsp_prod %u): "
		    "ring halted",
		    r->cfg.domid, r->cfg.vhost, rp, r->back.rsp_prod_pvt);
		r->broken = true;
		r->stopped = true;
		return;
	}
	while (rc != rp && n < r->nslots && !r->stopped) {
		struct vscsiif_request local, *copy = &local;
		struct slot *s;

		if (RING_REQUEST_CONS_OVERFLOW(&r->back, rc))
			break;
		s = slot_take(r);
		if (!s) {
			/* Cannot happen: see slot_take(). */
			ring_err(r, "no free slot at ring index %u", rc);
			break;
		}
		/*
		 * With a journal, the request is copied straight into the
		 * slot's entry (our own memory, which the guest cannot
		 * reach), and that copy is the one used: one copy, not two.
		 */
		if (r->j)
			copy = &r->j->e[slot_index(r, s)].req;
		copy_request(copy, RING_GET_REQUEST(&r->back, rc));
		/* The copy is all that is used from here on (XSA-155). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		/* A command after the TMF's answer: the guest has ended its reset. */
		if (r->hold_until && !r->tmfs_running && copy->act == VSCSIIF_ACT_SCSI_CDB)
			release_held(r);
		pvsd_journal_consumed(r, s, rc);
		r->back.req_cons = ++rc;
		n++;
		handle_request(r, s, copy, rc - 1);
	}
	submit_pending(r);
}

/*
 * Take what the ring holds.  @armed: re-arm the guest's notification when
 * it is drained (RING_FINAL_CHECK), as every pass does unless the daemon
 * polls, which arms only before it sleeps (pvsd_ring_arm()): an unarmed
 * ring costs the guest no notify hypercall and us no event channel read.
 */
static bool take(struct pvsd_ring *r, bool armed)
{
	int more = 0;

	if (r->replay)
		replay(r);
	for (int pass = 0; pass < PASSES && !r->stopped; pass++) {
		consume(r);
		if (r->stopped)
			break;
		if (armed)
			RING_FINAL_CHECK_FOR_REQUESTS(&r->back, more);
		else
			more = RING_HAS_UNCONSUMED_REQUESTS(&r->back) != 0;
		if (!more)
			break;
	}
	if (r->submitted) {
		r->submitted = false;
		pvs_worker_flush(r->cfg.worker);
	}
	complete_pending(r);
	push(r);
	return more && !r->stopped;
}

/* The worker read the channel (or failed to write its unmask, @buf NULL). */
static void evt_read(void *opaque, int res, const void *buf)
{
	struct pvsd_ring *r = opaque;

	if (!buf) {
		r->unmask_failed = true;
		r->kick_res = res;
	} else if (!r->unmask_failed) {
		r->kick_res = res;
	}
	r->kicked = true;
}

static void evt_err(struct pvsd_ring *r, const char *what, int err)
{
	/* The first three in a row, then one in a hundred: a wedged channel must not flood. */
	if (++r->evt_errs <= 3 || r->evt_errs % 100 == 0)
		pvsd_ring_log(r, LOG_ERR, "event channel: %s: %s (%u in a row)", what,
		              strerror(-err), r->evt_errs);
}

/*
 * What the worker's read of the channel gave since the last call: 1 for
 * an event, then the unmask and the next read are queued for the worker's
 * next io_uring_enter().  A read still waiting: 0, nothing queued.
 */
static int watch_take(struct pvsd_ring *r)
{
	int res = r->kick_res, rc;
	bool event;

	if (!r->kicked)
		return 0;
	r->kicked = false;
	r->kick_res = 0;
	event = res == (int)r->eu.read_len;
	if (r->unmask_failed) {
		/* The channel stays masked until it is unmasked: do it the slow way. */
		r->unmask_failed = false;
		evt_err(r, "unmask through io_uring", res);
		r->cfg.evt->unmask(r->cfg.evt_ctx, r->chan);
	} else if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
		evt_err(r, "read", res);
	} else if (event) {
		r->evt_errs = 0;
	}
	if (r->stopped)
		return event;
	rc = pvs_worker_watch_arm(r->watch, event ? r->eu.unmask : NULL,
	                          event ? r->eu.unmask_len : 0);
	if (rc < 0 && event) {
		r->cfg.evt->unmask(r->cfg.evt_ctx, r->chan);
		rc = pvs_worker_watch_arm(r->watch, NULL, 0);
	}
	if (rc < 0) {
		/* No SQE to be had (the CQ is full): the next pass tries again. */
		r->kicked = true;
		r->kick_res = -EAGAIN;
	} else {
		/*
		 * The unmask and the read go to the kernel with take()'s flush,
		 * even when the pass submits no I/O: a loop that sleeps next
		 * must not leave them queued, or the channel stays masked.
		 */
		r->submitted = true;
	}
	return event;
}

bool pvsd_ring_kicked(const struct pvsd_ring *r)
{
	return r->kicked;
}

/* The channel polled by the daemon (no watch): 1 for an event, unmasked again. */
static int pending_take(struct pvsd_ring *r)
{
	int rc = r->cfg.evt->pending(r->cfg.evt_ctx, r->chan);

	if (rc <= 0)
		return 0;
	r->cfg.evt->unmask(r->cfg.evt_ctx, r->chan);
	return 1;
}

bool pvsd_ring_handle_event(struct pvsd_ring *r)
{
	r->st.wakeups++;
	r->st.events += r->watch ? watch_take(r) : pending_take(r);
	release_if_due(r);
	return take(r, !r->polling);
}

bool pvsd_ring_has_requests(const struct pvsd_ring *r)
{
	/* One read of shared memory: the poll loop's test. */
	return !r->stopped && RING_HAS_UNCONSUMED_REQUESTS(&r->back);
}

bool pvsd_ring_poll(struct pvsd_ring *r)
{
	r->st.polled++;
	release_if_due(r);
	return take(r, false);
}

void pvsd_ring_set_polling(struct pvsd_ring *r, bool on)
{
	r->polling = on;
}

bool pvsd_ring_arm(struct pvsd_ring *r)
{
	int more = 0;

	if (r->stopped)
		return false;
	RING_FINAL_CHECK_FOR_REQUESTS(&r->back, more);
	return more != 0;
}

void pvsd_ring_flush(struct pvsd_ring *r)
{
	complete_pending(r);
	release_if_due(r);
	push(r);
}

int pvsd_ring_timeout_ms(const struct pvsd_ring *r)
{
	uint64_t now;

	if (!r->hold_until || r->hold_until == UINT64_MAX)
		return -1;
	now = now_ns();
	return r->hold_until <= now ? 0 : (int)((r->hold_until - now + 999999) / 1000000);
}

/* ---- life cycle ---- */

static void ring_free(struct pvsd_ring *r)
{
	pvsd_journal_close(r);
	if (r->bufs)
		munmap(r->bufs, r->bufs_len);
	free(r->bops);
	free(r->arrays);
	free(r->slots);
	free(r);
}

/*
 * The channel read through the worker's io_uring (PVSD_EVTCHN_URING=0:
 * polled and read by the daemon, for a comparison in one boot).
 */
static bool evt_uring_wanted(void)
{
	const char *e = getenv("PVSD_EVTCHN_URING");

	return !e || strcmp(e, "0") != 0;
}

int pvsd_ring_connect(const struct pvsd_ring_cfg *cfg, uint32_t ring_ref, uint32_t evtchn,
                      struct pvsd_ring **out)
{
	struct pvsd_ring *r;
	size_t seg_sz, iov_sz, ops_sz, per_slot;
	uint8_t *a;
	int rc;

	if (!cfg->gnt || !cfg->evt || !cfg->worker || !cfg->map)
		return -EINVAL;
	if (cfg->max_segs &&
	    (cfg->max_segs < VSCSIIF_SG_TABLESIZE || cfg->max_segs > PVSD_RING_MAX_SEGS))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	/* Data-in is grant-copied anyway: from a mem: LUN's medium directly. */
	pvs_map_set_lend(cfg->map, true);
	r->err_budget = ERR_BUDGET;
	r->initiator = PVSD_INITIATOR(cfg->domid, cfg->vhost);
	r->max_xfer_blocks = pvsp_max_xfer_blocks(cfg->max_segs);
	r->max_data_segs = cfg->max_segs ? cfg->max_segs : VSCSIIF_SG_TABLESIZE;
	r->nops = r->max_data_segs > IND_OPS ? r->max_data_segs : IND_OPS;
	r->lim.max_segs = cfg->max_segs;
	r->lim.max_bytes = (size_t)r->max_data_segs * PAGE;
	/* The ring's own size, not a constant: one slot per entry. */
	r->nslots = __CONST_RING_SIZE(vscsiif, PAGE);

	r->slots = calloc(r->nslots, sizeof(*r->slots));
	seg_sz = r->max_data_segs * sizeof(struct scsiif_request_segment);
	iov_sz = r->max_data_segs * sizeof(struct iovec);
	ops_sz = r->nops * sizeof(pvx_gnt_copy_t);
	per_slot = seg_sz + iov_sz + ops_sz;
	r->arrays = calloc(r->nslots, per_slot);
	r->bops = calloc((size_t)r->nslots * r->max_data_segs, sizeof(*r->bops));
	r->bufs_len = (size_t)r->nslots * r->max_data_segs * PAGE;
	/* Anonymous: page-aligned, zero-filled, touched only as requests use it. */
	r->bufs = mmap(NULL, r->bufs_len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->bufs == MAP_FAILED)
		r->bufs = NULL;
	if (!r->slots || !r->arrays || !r->bops || !r->bufs) {
		ring_free(r);
		return -ENOMEM;
	}
	a = r->arrays;
	for (unsigned int i = r->nslots; i-- > 0;) {
		struct slot *s = &r->slots[i];
		uint8_t *sa = a + i * per_slot;

		s->ring = r;
		s->state = SLOT_FREE;
		s->buf = r->bufs + (size_t)i * r->max_data_segs * PAGE;
		/* iovecs and copy ops first: their alignment is the allocation's. */
		s->iov = (struct iovec *)sa;
		s->ops = (pvx_gnt_copy_t *)(sa + iov_sz);
		s->segs = (struct scsiif_request_segment *)(sa + iov_sz + ops_sz);
		s->next_free = r->free;
		r->free = s;
	}

	r->sring = cfg->gnt->map_ring(cfg->gnt_ctx, cfg->domid, ring_ref);
	if (!r->sring) {
		rc = errno ? -errno : -EIO;
		pvsd_ring_log(r, LOG_ERR, "map ring-ref %u: %s", ring_ref, strerror(-rc));
		ring_free(r);
		return rc;
	}
	/*
	 * Attach at the shared rsp_prod, not 0: after a restart (adoption)
	 * everything from there on is unanswered; for a fresh ring it is 0.
	 */
	{
		struct vscsiif_sring *sr = r->sring;
		RING_IDX start = __atomic_load_n(&sr->rsp_prod, __ATOMIC_ACQUIRE);
		RING_IDX prod = __atomic_load_n(&sr->req_prod, __ATOMIC_ACQUIRE);

		BACK_RING_ATTACH(&r->back, sr, start, PAGE);
		if (cfg->state_dir && pvsd_journal_open(r, ring_ref, evtchn, start, prod)) {
			/* Consumed before: in the journal, not on the ring any more. */
			r->back.req_cons = (RING_IDX)r->j->cons;
			r->replay = true;
		} else if (cfg->adopt) {
			r->adopting = true;
			r->adopt_start = start;
			r->adopt_end = prod;
		}
	}
	rc = cfg->evt->bind(cfg->evt_ctx, cfg->domid, evtchn, &r->chan);
	if (rc < 0) {
		pvsd_ring_log(r, LOG_ERR, "bind event-channel %u: %s", evtchn, strerror(-rc));
		cfg->gnt->unmap_ring(cfg->gnt_ctx, r->sring);
		ring_free(r);
		return rc;
	}
	r->fd = cfg->evt->fd(cfg->evt_ctx, r->chan);
	if (cfg->worker && cfg->evt->uring && evt_uring_wanted()) {
		rc = cfg->evt->uring(cfg->evt_ctx, r->chan, &r->eu);
		if (rc == 0)
			rc = pvs_worker_watch_new(cfg->worker, r->eu.fd, r->eu.read_len, evt_read,
			                          r, &r->watch);
		if (rc == 0)
			rc = pvs_worker_watch_arm(r->watch, NULL, 0);
		if (rc == 0) {
			r->fd = -1;
		} else {
			/* The fd polled, as before io_uring took it: slower, not worse. */
			pvsd_ring_log(r, LOG_INFO,
			              "event channel %u: not read through io_uring (%s); polled",
			              evtchn, strerror(-rc));
			pvs_worker_watch_free(r->watch);
			r->watch = NULL;
		}
	}
	if (cfg->adopt) {
		/*
		 * The previous daemon publishes each response at once but
		 * notifies at the end of a batch: killed in between, it left
		 * responses the frontend was never told about, and since they
		 * passed its rsp_event our own first batch would not notify
		 * either.  A spurious event costs the frontend one empty drain.
		 */
		notify(r);
	}
	*out = r;
	return 0;
}

int pvsd_ring_evtchn_fd(struct pvsd_ring *r)
{
	return r->fd;
}

void pvsd_ring_stop(struct pvsd_ring *r)
{
	r->stopped = true;
	/* Nothing else will come to release them: answer what is held now. */
	if (r->nheld) {
		release_held(r);
		push(r);
	}
}

unsigned int pvsd_ring_inflight(const struct pvsd_ring *r)
{
	return r->inflight;
}

bool pvsd_ring_broken(const struct pvsd_ring *r)
{
	return r->broken;
}

void pvsd_ring_get_stats(const struct pvsd_ring *r, struct pvsd_ring_stats *out)
{
	*out = r->st;
}

int pvsd_ring_disconnect(struct pvsd_ring *r)
{
	int rc;

	if (r->inflight)
		return -EBUSY;
	/* Responses completed since the last flush still belong to the guest. */
	push(r);
	/* Its read is cancelled; the kernel holds the fd's file until it ends. */
	pvs_worker_watch_free(r->watch);
	r->watch = NULL;
	r->cfg.evt->unbind(r->cfg.evt_ctx, r->chan);
	rc = r->cfg.gnt->unmap_ring(r->cfg.gnt_ctx, r->sring);
	if (rc < 0)
		pvsd_ring_log(r, LOG_ERR, "unmap ring: %s", strerror(-rc));
	ring_free(r);
	return 0;
}

bool pvsd_ring_journaled(const struct pvsd_ring *r)
{
	return r->j != NULL;
}

unsigned int pvsd_ring_max_segs(const struct pvsd_ring *r)
{
	return r->cfg.max_segs;
}
