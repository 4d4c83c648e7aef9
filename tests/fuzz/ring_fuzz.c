/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_fuzz.c - the vscsiif ring consumer (backend/ring.c) behind the fake
 * grant table, event channel and frontend (tests/fakes), with real mem:
 * LUNs: 0:0:0 for the frontend's well-formed commands, 0:1:0 for anything.
 *
 * Input: the advertised feature-sg-grant (128, 26, 0 or 1024), then a
 * sequence of guest actions:
 *  - WRITE(10) or READ(10) of any LBA and length from a scatter-gather list
 *    of the input's choosing (pieces starting, ending and straddling
 *    anywhere in their pages, with gaps), direct or indirect, with the
 *    descriptors anywhere in their first page, queued the way
 *    xen-scsifront does (fake_front_queue);
 *  - ABORT or RESET;
 *  - a raw ring slot: any 252 bytes (rqid 16 and up, device 0:0:0 moved to
 *    0:1:0), its grant references optionally pointed at a pool of granted
 *    pages whose bytes (indirect descriptors included) the input writes;
 *  - a grant copy error on the Nth element, or a failed copy call;
 *  - a guest rewriting the pool pages after every grant copy (double fetch);
 *  - a bogus request producer index (class 2);
 *  - push and let the backend run.
 *
 * Checked, against a model of the LUN's bytes: every byte a WRITE carries
 * reaches the LUN in order; a READ puts exactly the LUN's bytes in the
 * pieces and leaves every other byte of the guest's pages alone; a request
 * the ring cannot take (too many segments for feature-sg-grant, descriptor
 * pages that are not whole descriptors) fails DID_ERROR touching nothing;
 * a range past the end fails LBA OUT OF RANGE touching nothing; each
 * well-formed request is answered exactly once, each raw slot once when
 * consumed and never twice; the ring drains within a bounded number of
 * passes (no hang); a frontend that asked to be notified is; no grant stays
 * mapped after its answer; a bogus producer index breaks the ring.  With
 * grant errors injected a request may fail DID_ERROR instead, and a failed
 * READ may have filled part of its pieces, never anything else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "fake_front.h"
#include "fz.h"
#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "ring.h"

#define PAGE       4096u
#define LUN_SIZE   (64u << 10)
#define LUN_BLOCKS (LUN_SIZE / 512)
#define SLOT_PAGES 160u /* 128 grants with gaps between the pieces */
#define MAX_PIECES 64
#define POOL       8
#define DOMID      7
#define CANARY     0xc5
#define MAX_OPS    48
#define MAX_PASSES 64

enum kind { K_NONE, K_WRITE, K_READ, K_TMF };

/* A well-formed request in flight, by its rqid (the fake frontend's shadow index). */
struct wf {
	enum kind kind;
	bool accept;  /* the ring can take this layout */
	bool inrange; /* the LBA range is inside the LUN */
	bool unsure;  /* ran while grant errors were armed: DID_ERROR allowed, data unknown */
	uint32_t lba, len;
	unsigned int npieces;
	uint32_t poff[MAX_PIECES], plen[MAX_PIECES]; /* pieces, in the slot's arena */
	uint32_t touched;                            /* arena bytes (whole pages) in use */
	uint8_t want[LUN_SIZE];                      /* READ: the LUN's bytes when queued */
};

struct env {
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvs_worker *w;
	struct pvs_map *map;
	uint8_t *arena; /* FAKE_FRONT_REQS * SLOT_PAGES pages */
	uint8_t *pool;  /* POOL pages granted for raw slots */
	char state_dir[64];
	/* per input */
	struct pvs_lun *lun[2];
	struct fake_front fe;
	struct pvsd_ring *ring;
	struct pvsd_ring_cfg cfg;
	uint32_t pool_ref[POOL];
	uint8_t model[LUN_SIZE];
	/*
	 * Grant errors armed and not all fired (copy element / call counts at
	 * which they are spent): the requests that run meanwhile may fail, so
	 * their data is not checked and the model is re-read after the run.
	 */
	bool unsure;
	/* One mark per kind of error: the last one armed replaces it, as in fake_gnt. */
	uint64_t unsure_elems, unsure_calls;
	bool lied; /* a bogus req_prod that did not break the ring: answers cannot be attributed */
	struct wf wf[FAKE_FRONT_REQS];
	uint8_t raw_pending[65536]; /* raw slots queued per rqid and not answered */
	uint16_t raw_rqid[MAX_OPS]; /* the rqids in raw_pending, to clear them */
	uint64_t raw_queued, raw_answered;
	bool hook_on;
	uint8_t hook_byte;
	unsigned long log_lines;
};

static struct env E;

static void log_sink(void *arg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_sink(void *arg, int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	(void)arg;
	(void)prio;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	E.log_lines++;
}

/* The guest rewrites its pool pages after every copy: nothing may read them twice. */
static void copy_hook(void *arg)
{
	(void)arg;
	if (E.hook_on)
		for (unsigned int i = 0; i < POOL; i++)
			E.pool[i * PAGE + (E.hook_byte * 37u + i * 509u) % PAGE] ^= E.hook_byte | 1;
}

static uint64_t initiator(void)
{
	return 1ull << 63 | (uint64_t)DOMID << 32;
}

static void direct_done(struct pvs_req *req)
{
	(*(int *)req->opaque)++;
}

/* One command straight to a LUN, as the ring's initiator; true if GOOD. */
static bool direct(struct pvs_lun *l, const uint8_t *cdb, unsigned int cdb_len, enum pvs_dir dir,
                   void *buf, size_t len)
{
	struct pvs_req req;
	struct iovec iov = {buf, len};
	int done = 0;

	memset(&req, 0, sizeof(req));
	memcpy(req.cdb, cdb, cdb_len);
	req.cdb_len = (uint8_t)cdb_len;
	req.dir = (uint8_t)dir;
	req.iov = len ? &iov : NULL;
	req.iovcnt = len ? 1 : 0;
	req.initiator = initiator();
	req.done = direct_done;
	req.opaque = &done;
	pvs_submit(l, &req); /* a mem: LUN completes before this returns */
	FZ_CHECK(done == 1, "direct command %02x: done() ran %d times", cdb[0], done);
	return req.host == PVS_HOST_OK && req.status == PVS_STATUS_GOOD;
}

static void model_reread(void)
{
	uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, LUN_BLOCKS >> 8, LUN_BLOCKS & 0xff, 0};

	FZ_CHECK(direct(E.lun[0], cdb, 10, PVS_DIR_FROM_DEV, E.model, LUN_SIZE), "re-read the LUN");
}

static uint8_t *slot_arena(unsigned int rqid)
{
	return E.arena + (size_t)rqid * SLOT_PAGES * PAGE;
}

static unsigned int pages_of(uint32_t off, uint32_t len)
{
	return len ? (off + len - 1) / PAGE - off / PAGE + 1 : 0;
}

/* ---- well-formed commands ---- */

FZ_NOCOV static void queue_rw(struct fz *f, bool write)
{
	struct fake_front_cmd c;
	struct iovec sg[MAX_PIECES];
	uint32_t poff[MAX_PIECES], plen[MAX_PIECES];
	struct wf *w;
	uint8_t shape = fz_u8(f);
	unsigned int blocks = fz_range(f, 1, shape & 0x80 ? 255 : 64);
	unsigned int npieces = fz_range(f, 1, MAX_PIECES), grants = 0, ndesc;
	uint32_t lba = fz_range(f, 0, LUN_BLOCKS + 8), len = blocks * 512, left = len, at = 0;
	uint8_t seed = fz_u8(f), *a;
	int rq = -1;

	/* Pieces of the input's lengths, each at an offset of its choosing after a gap. */
	memset(&c, 0, sizeof(c));
	for (unsigned int i = 0; i < npieces; i++) {
		uint32_t off = fz_u16(f) % PAGE, gap = fz_u8(f) % 3;

		plen[i] = i + 1 == npieces ? left : fz_range(f, 1, left - (npieces - 1 - i));
		if (!(shape & 0x40))
			off &= ~3u; /* direct I/O buffers: 4-byte aligned */
		at = (at + PAGE - 1) / PAGE * PAGE + gap * PAGE + off;
		if ((at + plen[i] + PAGE - 1) / PAGE > SLOT_PAGES)
			return; /* does not fit the arena: not a layout worth the bytes */
		poff[i] = at;
		grants += pages_of(at, plen[i]);
		at += plen[i];
		left -= plen[i];
	}
	if (grants > FAKE_FRONT_SG_TABLESIZE)
		return; /* more than xen-scsifront maps: it refuses the request itself */
	c.indirect = shape & 1;
	/*
	 * Where the descriptors start: scsifront puts them at 0; anything
	 * 4-aligned (fake_front writes them in place) tests pages whose length
	 * is not whole descriptors.  Raw slots cover any offset.
	 */
	c.desc_offset = shape & 2 ? (fz_u16(f) % PAGE) & ~3u : (fz_u8(f) % 64) * 8;
	ndesc = (c.desc_offset + grants * 8 + PAGE - 1) / PAGE;
	if ((c.indirect || grants > VSCSIIF_SG_TABLESIZE) && ndesc > VSCSIIF_SG_TABLESIZE)
		return; /* the frontend cannot describe it */

	/* The rqid fake_front_queue() will hand out: the lowest free one. */
	for (int i = 0; i < FAKE_FRONT_REQS && rq < 0; i++)
		if (!E.fe.shadow[i].inflight)
			rq = i;
	if (rq < 0 || RING_FULL(&E.fe.ring))
		return;
	w = &E.wf[rq];
	memcpy(w->poff, poff, sizeof(poff));
	memcpy(w->plen, plen, sizeof(plen));
	w->npieces = npieces;
	w->lba = lba;
	w->len = len;
	w->touched = (at + PAGE - 1) / PAGE * PAGE;
	w->inrange = lba + blocks <= LUN_BLOCKS;
	w->unsure = E.unsure;
	/* What the ring takes (docs/backend.md "Data path" 2 and 4). */
	if (c.indirect || grants > VSCSIIF_SG_TABLESIZE)
		w->accept = E.cfg.max_segs && grants <= E.cfg.max_segs &&
		            (c.desc_offset % 8 == 0 || c.desc_offset + grants * 8 <= PAGE);
	else
		w->accept = true;

	/* The guest's pages: data in the pieces for a WRITE, a canary everywhere else. */
	a = slot_arena((unsigned int)rq);
	memset(a, CANARY, w->touched);
	for (unsigned int i = 0, n = 0; i < npieces; i++) {
		sg[i].iov_base = a + poff[i];
		sg[i].iov_len = plen[i];
		if (write)
			for (uint32_t k = 0; k < plen[i]; k++, n++)
				a[poff[i] + k] = (uint8_t)(seed + n * 7 + (n >> 8) * 13);
	}
	c.cdb[0] = write ? 0x2a : 0x28;
	c.cdb[2] = (uint8_t)(lba >> 24);
	c.cdb[3] = (uint8_t)(lba >> 16);
	c.cdb[4] = (uint8_t)(lba >> 8);
	c.cdb[5] = (uint8_t)lba;
	c.cdb[7] = (uint8_t)(blocks >> 8);
	c.cdb[8] = (uint8_t)blocks;
	c.cdb_len = 10;
	c.dir = write ? PVSP_DIR_TO_DEV : PVSP_DIR_FROM_DEV;
	c.sg = sg;
	c.nsg = npieces;
	FZ_CHECK(fake_front_queue(&E.fe, &c) == rq, "the frontend did not queue rqid %d", rq);
	w->kind = write ? K_WRITE : K_READ;
	/* The LUN as this command will find it: requests reach it in ring order. */
	if (!write) {
		memcpy(w->want, E.model, LUN_SIZE);
	} else if (w->accept && w->inrange) {
		for (unsigned int i = 0, n = 0; i < npieces; n += plen[i], i++)
			memcpy(E.model + lba * 512 + n, a + poff[i], plen[i]);
	}
}

static void queue_tmf(struct fz *f)
{
	struct fake_front_cmd c;
	int rq;

	memset(&c, 0, sizeof(c));
	c.act = fz_bool(f) ? VSCSIIF_ACT_SCSI_ABORT : VSCSIIF_ACT_SCSI_RESET;
	c.id = 1; /* the raw LUN: a reset of 0:0:0 would queue a unit attention for the model */
	c.ref_rqid = fz_u16(f);
	c.dir = PVSP_DIR_NONE;
	if (RING_FULL(&E.fe.ring))
		return;
	rq = fake_front_queue(&E.fe, &c);
	if (rq >= 0)
		E.wf[rq].kind = K_TMF;
}

/* ---- raw slots ---- */

static void queue_raw(struct fz *f)
{
	struct vscsiif_request *r;
	uint8_t how = fz_u8(f);

	if (RING_FULL(&E.fe.ring))
		return;
	r = fake_front_raw(&E.fe);
	fz_bytes(f, r, sizeof(*r));
	/* Above the frontend's own rqids, so that answers can be told apart. */
	r->rqid = (uint16_t)(FAKE_FRONT_REQS + r->rqid % (65536 - FAKE_FRONT_REQS));
	if (r->channel == 0 && r->id == 0)
		r->id = 1;
	if (how & 1) {
		/* Grant references that exist: the pool's. */
		for (unsigned int i = 0; i < VSCSIIF_SG_TABLESIZE; i++)
			r->seg[i].gref = E.pool_ref[r->seg[i].gref % POOL];
	}
	E.raw_pending[r->rqid]++;
	E.raw_rqid[E.raw_queued++] = r->rqid;
}

/* ---- running the backend and reading its answers ---- */

FZ_NOCOV static void check_wf(unsigned int rq, const struct vscsiif_response *rsp)
{
	struct wf *w = &E.wf[rq];
	uint8_t *a = slot_arena(rq);
	bool good = rsp->rslt == 0, error = rsp->rslt == XEN_VSCSIIF_RSLT_HOST_ERROR << 16;

	if (w->kind == K_TMF) {
		FZ_CHECK(rsp->rslt == XEN_VSCSIIF_RSLT_RESET_SUCCESS ||
		             rsp->rslt == XEN_VSCSIIF_RSLT_RESET_FAILED,
		         "TMF answered 0x%x", (unsigned int)rsp->rslt);
		return;
	}
	if (!w->accept) {
		FZ_CHECK(error, "rqid %u: a layout the ring cannot take answered 0x%x", rq,
		         (unsigned int)rsp->rslt);
	} else if (!w->inrange) {
		FZ_CHECK((error && w->unsure) ||
		             (rsp->rslt == 2 && rsp->sense_len >= 14 &&
		              (rsp->sense_buffer[2] & 0xf) == 5 && rsp->sense_buffer[12] == 0x21),
		         "rqid %u: LBA %u + %u blocks answered 0x%x", rq, w->lba, w->len / 512,
		         (unsigned int)rsp->rslt);
	} else {
		FZ_CHECK(good || (error && w->unsure), "rqid %u: %s answered 0x%x sense %02x/%02x",
		         rq, w->kind == K_WRITE ? "WRITE" : "READ", (unsigned int)rsp->rslt,
		         rsp->sense_buffer[2], rsp->sense_buffer[12]);
		if (good)
			FZ_CHECK(rsp->residual_len == 0, "rqid %u: residual %u", rq,
			         rsp->residual_len);
	}
	/* The guest's pages: pieces as the LUN had them (READ, GOOD) or as sent. */
	for (uint32_t i = 0, n = 0, at = 0; at < w->touched; at++) {
		bool in = i < w->npieces && at >= w->poff[i] && at < w->poff[i] + w->plen[i];

		if (!in) {
			FZ_CHECK(a[at] == CANARY,
			         "rqid %u: byte %u of its pages, outside the pieces, "
			         "written",
			         rq, at);
			continue;
		}
		if (w->kind == K_READ && good && w->accept && w->inrange && !w->unsure)
			FZ_CHECK(a[at] == w->want[w->lba * 512 + n],
			         "rqid %u: READ byte %u (piece %u) is %02x, the LUN has %02x", rq,
			         n, i, a[at], w->want[w->lba * 512 + n]);
		else if (w->kind == K_READ && !good && !w->unsure)
			FZ_CHECK(a[at] == CANARY, "rqid %u: READ that failed wrote byte %u", rq, n);
		n++;
		if (at + 1 == w->poff[i] + w->plen[i])
			i++;
	}
}

static void collect(void)
{
	RING_IDX rp = __atomic_load_n(&E.fe.ring.sring->rsp_prod, __ATOMIC_ACQUIRE);

	if (E.lied) {
		/* Slots past what the guest wrote held anything: only the count is bounded. */
		struct pvsd_ring_stats st;

		pvsd_ring_get_stats(E.ring, &st);
		FZ_CHECK(st.responses <= st.requests, "%llu answers to %llu requests",
		         (unsigned long long)st.responses, (unsigned long long)st.requests);
		E.fe.ring.rsp_cons = rp;
		return;
	}
	FZ_CHECK((RING_IDX)(rp - E.fe.ring.rsp_cons) <= RING_SIZE(&E.fe.ring) &&
	             (RING_IDX)(rp - E.fe.ring.rsp_cons) <=
	                 (RING_IDX)(E.fe.ring.req_prod_pvt - E.fe.ring.rsp_cons),
	         "rsp_prod %u: more answers than requests (rsp_cons %u, req_prod %u)", rp,
	         E.fe.ring.rsp_cons, E.fe.ring.req_prod_pvt);
	while (E.fe.ring.rsp_cons != rp) {
		struct vscsiif_response rsp;

		RING_COPY_RESPONSE(&E.fe.ring, E.fe.ring.rsp_cons, &rsp);
		E.fe.ring.rsp_cons++;
		if (rsp.rqid < FAKE_FRONT_REQS) {
			FZ_CHECK(E.fe.shadow[rsp.rqid].inflight, "rqid %u answered twice",
			         rsp.rqid);
			check_wf(rsp.rqid, &rsp);
			E.wf[rsp.rqid].kind = K_NONE;
			/* Ends its grants: one still mapped counts in fe.errors. */
			fake_front_fini_request(&E.fe, rsp.rqid);
		} else {
			FZ_CHECK(E.raw_pending[rsp.rqid] > 0,
			         "raw rqid %u answered more than queued", rsp.rqid);
			E.raw_pending[rsp.rqid]--;
			E.raw_answered++;
		}
	}
	/* Drained: ask for an event for the next one, as scsifront_ring_drain does. */
	E.fe.ring.sring->rsp_event = E.fe.ring.rsp_cons + 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	FZ_CHECK(E.fe.errors == 0, "the frontend saw %u errors (a grant still mapped)",
	         E.fe.errors);
}

static void run(void)
{
	RING_IDX old = E.fe.ring.sring->rsp_prod, event = E.fe.ring.sring->rsp_event;
	uint64_t notified = fake_front_notifications(&E.fe);
	bool more = true;
	int i;

	for (i = 0; i < MAX_PASSES && (more || pvsd_ring_inflight(E.ring)); i++) {
		if (more)
			more = pvsd_ring_handle_event(E.ring);
		pvs_worker_poll(E.w);
		pvsd_ring_flush(E.ring);
	}
	FZ_CHECK(i < MAX_PASSES, "the ring did not drain in %d passes (%u in flight)", MAX_PASSES,
	         pvsd_ring_inflight(E.ring));
	{
		RING_IDX new = E.fe.ring.sring->rsp_prod;

		/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY over the whole run. */
		if ((RING_IDX)(new - event) < (RING_IDX)(new - old))
			FZ_CHECK(fake_front_notifications(&E.fe) > notified,
			         "answers %u..%u passed rsp_event %u without a notification", old,
			         new, event);
	}
	collect();
	if (E.unsure) {
		struct fake_gnt_stats gs;

		model_reread();
		fake_gnt_get_stats(E.gnt, &gs);
		/* A failing call counts no element: both kinds must have fired. */
		if (gs.copy_elems >= E.unsure_elems && gs.copy_calls >= E.unsure_calls)
			E.unsure = false;
	}
}

/* From now on, until the error fired, what runs may fail. */
static void inject(struct fz *f)
{
	struct fake_gnt_stats gs;

	fake_gnt_get_stats(E.gnt, &gs);
	if (fz_bool(f)) {
		unsigned int nth = fz_u8(f);

		fake_gnt_fail_nth(E.gnt, nth, (int16_t) - (1 + fz_u8(f) % 12));
		E.unsure_elems = gs.copy_elems + nth + 1;
	} else {
		unsigned int n = 1 + fz_u8(f) % 3;

		fake_gnt_fail_calls(E.gnt, n, EIO);
		E.unsure_calls = gs.copy_calls + n;
	}
	E.unsure = true;
	for (unsigned int i = 0; i < FAKE_FRONT_REQS; i++)
		E.wf[i].unsure = true;
}

static void bogus_prod(struct fz *f)
{
	RING_IDX rp = E.fe.ring.req_prod_pvt + (int16_t)fz_u16(f);
	struct pvsd_ring_stats st;
	bool over;

	if (fz_bool(f))
		rp = fz_u32(f);
	pvsd_ring_get_stats(E.ring, &st);
	/* RING_REQUEST_PROD_OVERFLOW against what the backend answered so far. */
	over = (RING_IDX)(rp - (RING_IDX)st.responses) > RING_SIZE(&E.fe.ring);
	__atomic_store_n(&E.fe.ring.sring->req_prod, rp, __ATOMIC_RELEASE);
	E.lied = true;
	run();
	FZ_CHECK(pvsd_ring_broken(E.ring) == over, "req_prod %u after %llu answers: broken %d", rp,
	         (unsigned long long)st.responses, pvsd_ring_broken(E.ring));
}

/* ---- one input ---- */

static void rm_state_dir(void)
{
	rmdir(E.state_dir);
}

static void setup_once(void)
{
	if (E.gnt)
		return;
	E.gnt = fake_gnt_new();
	E.evt = fake_evt_new();
	if (!E.gnt || !E.evt || pvs_worker_new(64, &E.w) || pvs_map_new(&E.map))
		abort();
	E.arena = aligned_alloc(PAGE, (size_t)FAKE_FRONT_REQS * SLOT_PAGES * PAGE);
	E.pool = aligned_alloc(PAGE, POOL * PAGE);
	snprintf(E.state_dir, sizeof(E.state_dir), "/tmp/pvscsi-ring-fuzz-XXXXXX");
	if (!E.arena || !E.pool || !mkdtemp(E.state_dir))
		abort();
	atexit(rm_state_dir);
	fake_gnt_set_copy_hook(E.gnt, copy_hook, NULL);
}

static bool start(struct fz *f)
{
	static const unsigned int segs[] = {PVSD_RING_DEFAULT_SEGS, PVSD_RING_DEFAULT_SEGS,
	                                    VSCSIIF_SG_TABLESIZE, 0, PVSD_RING_MAX_SEGS};
	uint8_t hdr = fz_u8(f);
	char err[256];
	uint8_t tur[6] = {0};

	for (unsigned int i = 0; i < 2; i++)
		FZ_CHECK(pvs_lun_open(E.w, "mem:64K", NULL, &E.lun[i], err, sizeof(err)) == 0, "%s",
		         err);
	FZ_CHECK(pvs_map_add(E.map, 0, 0, 0, E.lun[0]) == 0 &&
	             pvs_map_add(E.map, 0, 1, 0, E.lun[1]) == 0,
	         "map");
	/* The guest's midlayer takes the POWER ON unit attentions first. */
	for (unsigned int i = 0; i < 2; i++) {
		direct(E.lun[i], tur, 6, PVS_DIR_NONE, NULL, 0);
		FZ_CHECK(direct(E.lun[i], tur, 6, PVS_DIR_NONE, NULL, 0), "TEST UNIT READY");
	}
	memset(E.model, 0, sizeof(E.model));
	FZ_CHECK(fake_front_init(&E.fe, E.gnt, E.evt, DOMID) == 0, "fake_front_init");
	E.cfg = (struct pvsd_ring_cfg){
	    .domid = DOMID,
	    .gnt = &fake_gnt_ops,
	    .gnt_ctx = E.gnt,
	    .evt = &fake_evt_ops,
	    .evt_ctx = E.evt,
	    .worker = E.w,
	    .map = E.map,
	    .max_segs = segs[hdr % 5],
	    .log = log_sink,
	    /* held answers go at the next flush: a run cannot wait 250 ms */
	    .tmf_hold_ms = -1,
	    .verbose = hdr & 0x10,
	    .state_dir = hdr & 0x20 ? NULL : E.state_dir,
	};
	FZ_CHECK(pvsd_ring_connect(&E.cfg, E.fe.ring_ref, E.fe.port, &E.ring) == 0, "connect");
	/* The pool: bytes of the input (indirect descriptors among them), granted writable. */
	fz_bytes(f, E.pool, fz_range(f, 0, 1024));
	for (unsigned int i = 0; i < POOL; i++)
		E.pool_ref[i] = fake_gnt_grant(E.gnt, DOMID, E.pool + i * PAGE, false);
	if (hdr & 0x40) {
		/* Page 0 holds descriptors of pool pages, offsets and lengths of the input's. */
		struct scsiif_request_segment *d = (struct scsiif_request_segment *)E.pool;

		for (unsigned int i = 0; i < PAGE / sizeof(*d); i++)
			d[i].gref = E.pool_ref[d[i].gref % POOL];
	}
	E.hook_on = false;
	return true;
}

static void finish(void)
{
	struct pvsd_ring_stats st;
	bool broken = pvsd_ring_broken(E.ring);
	int rc;

	if (!broken && !E.lied) {
		fake_front_push(&E.fe);
		run();
		pvsd_ring_get_stats(E.ring, &st);
		/* Everything the guest queued was consumed and answered. */
		FZ_CHECK(fake_front_inflight(&E.fe) == 0, "%u well-formed requests never answered",
		         fake_front_inflight(&E.fe));
		FZ_CHECK(E.raw_answered == E.raw_queued, "%llu raw slots queued, %llu answered",
		         (unsigned long long)E.raw_queued, (unsigned long long)E.raw_answered);
		FZ_CHECK(st.responses == st.requests, "%llu consumed, %llu answered",
		         (unsigned long long)st.requests, (unsigned long long)st.responses);
	} else {
		/* Requests in flight when it broke still complete; nothing more is taken. */
		run();
		FZ_CHECK(pvsd_ring_inflight(E.ring) == 0, "%u in flight",
		         pvsd_ring_inflight(E.ring));
	}
	rc = pvsd_ring_disconnect(E.ring);
	FZ_CHECK(rc == 0, "disconnect: %d with %u in flight", rc, pvsd_ring_inflight(E.ring));
	E.ring = NULL;
	fake_front_fini(&E.fe);
	for (unsigned int i = 0; i < POOL; i++)
		FZ_CHECK(fake_gnt_revoke(E.gnt, E.pool_ref[i]), "pool page %u still mapped", i);
	fake_gnt_fail_clear(E.gnt);
	for (unsigned int i = 0; i < 2; i++) {
		pvs_map_remove(E.map, 0, i, 0, NULL);
		FZ_CHECK(pvs_lun_inflight(E.lun[i]) == 0, "LUN %u busy", i);
		pvs_lun_close(E.lun[i]);
	}
	for (unsigned int i = 0; i < FAKE_FRONT_REQS; i++)
		E.wf[i].kind = K_NONE;
	for (unsigned int i = 0; i < E.raw_queued; i++)
		E.raw_pending[E.raw_rqid[i]] = 0;
	E.raw_queued = E.raw_answered = 0;
	E.unsure = E.lied = false;
	E.unsure_elems = E.unsure_calls = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;

	setup_once();
	fz_init(&f, data, size);
	start(&f);
	for (unsigned int n = 0; n < MAX_OPS && !fz_empty(&f) && !E.lied; n++) {
		uint8_t op = fz_u8(&f);

		switch (op % 12) {
		case 0:
		case 1:
		case 2:
			queue_rw(&f, true);
			break;
		case 3:
		case 4:
		case 5:
			queue_rw(&f, false);
			break;
		case 6:
			queue_tmf(&f);
			break;
		case 7:
			queue_raw(&f);
			break;
		case 8:
			inject(&f);
			break;
		case 9:
			E.hook_on = true;
			E.hook_byte = fz_u8(&f);
			break;
		case 10:
			bogus_prod(&f);
			break;
		case 11:
			fake_front_push(&E.fe);
			run();
			break;
		}
	}
	finish();
	return 0;
}
