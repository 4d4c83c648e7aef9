/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * adopt_fuzz.c - a vscsiif ring adopted after its daemon died, with the
 * journal (backend/ring.c, ring_journal.h, docs/backend.md "Stop, restart
 * and adoption").
 *
 * A daemon A serves the ring (fake frontend, fake grant table and event
 * channel, a mem: LUN) with its journal in a state directory.  The guest
 * queues WRITEs, READs, TEST UNIT READYs, INQUIRYs, ABORTs and invalid
 * slots, in batches that A runs.  In the last batch A "dies" after the Nth
 * line it logs (verbose: a line per request taken and per response
 * published, so N falls between any two of its steps): the journal file
 * and the shared ring page are copied at that instant, A runs on to the
 * end and is disconnected, and the copies are put back, which is what a
 * kill -9 at that line leaves (the LUN keeps what A wrote after it: a
 * replayed WRITE writes the same data again).  The input may then move the
 * copies to the two instants no log line marks: a response written but
 * rsp_prod not yet published (the entry ANSWERED), a request journaled but
 * the consumer count not yet moved.  The frontend takes the published
 * answers before the restart or after, and daemon B adopts the ring.
 *
 * Checked: every request the guest queued is answered exactly once over
 * both daemons (xen-scsifront disables the host on an answer for an rqid
 * it has not in flight); the well-formed ones GOOD; a frontend with
 * answers to take is notified; B drains (no hang); the LUN ends holding
 * every WRITE in ring order.  Two more modes only check that nothing
 * crashes or hangs: no journal at all (adoption from the ring alone, which
 * may lose requests, as documented), and a journal with bytes of the
 * input's choosing written over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "fake_front.h"
#include "fz.h"
#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "ring.h"
#include "ring_journal.h"

#define PAGE       4096u
#define LUN_SIZE   (64u << 10)
#define LUN_BLOCKS (LUN_SIZE / 512)
#define DOMID      9
#define MAX_OPS    40
#define MAX_BLOCKS 16
#define J_MAX      (64u << 10)

enum mode { M_JOURNAL, M_NO_JOURNAL, M_CORRUPT };

struct env {
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvs_worker *w;
	struct pvs_map *map;
	char state_dir[64];
	char j_path[128];
	uint8_t *arena; /* FAKE_FRONT_REQS buffers of MAX_BLOCKS blocks */
	/* per input */
	enum mode mode;
	struct pvs_lun *lun;
	struct fake_front fe;
	struct pvsd_ring *ring;
	struct pvsd_ring_cfg cfg;
	uint8_t model[LUN_SIZE];
	uint8_t outstanding[65536]; /* queued and not answered, by rqid */
	uint16_t used_rqids[MAX_OPS + FAKE_FRONT_REQS];
	unsigned int nused;
	uint16_t next_raw;
	bool wf[FAKE_FRONT_REQS]; /* a well-formed request: answered GOOD */
	/* the snapshot */
	unsigned long lines, kill_at;
	bool armed, taken;
	char kind; /* 'q' a request taken, 'p' a response published, '-' other */
	_Alignas(16) uint8_t ring_copy[PAGE];
	_Alignas(16) uint8_t j_copy[J_MAX];
	ssize_t j_len;
};

static struct env E;

static void take_snapshot(char kind)
{
	int fd;

	memcpy(E.ring_copy, E.fe.page, PAGE);
	E.j_len = -1;
	fd = open(E.j_path, O_RDONLY);
	if (fd >= 0) {
		E.j_len = read(fd, E.j_copy, sizeof(E.j_copy));
		close(fd);
	}
	E.kind = kind;
	E.taken = true;
}

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
	if (E.armed && !E.taken && ++E.lines == E.kill_at)
		take_snapshot(strstr(line, ": req rqid ") || strstr(line, ": rejected: ") ? 'q'
		              : strstr(line, ": rsp rqid ")                               ? 'p'
		                                                                          : '-');
}

static void direct_done(struct pvs_req *req)
{
	(*(int *)req->opaque)++;
}

static bool direct(const uint8_t *cdb, unsigned int cdb_len, enum pvs_dir dir, void *buf,
                   size_t len)
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
	req.initiator = 1ull << 63 | (uint64_t)DOMID << 32;
	req.done = direct_done;
	req.opaque = &done;
	pvs_submit(E.lun, &req);
	FZ_CHECK(done == 1, "direct command %02x: done() ran %d times", cdb[0], done);
	return req.host == PVS_HOST_OK && req.status == PVS_STATUS_GOOD;
}

static void mark_queued(uint16_t rqid)
{
	FZ_CHECK(!E.outstanding[rqid], "rqid %u queued twice", rqid);
	E.outstanding[rqid] = 1;
	E.used_rqids[E.nused++] = rqid;
}

/* A free slot of the frontend's shadow, or -1. */
static int free_shadow(void)
{
	for (int i = 0; i < FAKE_FRONT_REQS; i++)
		if (!E.fe.shadow[i].inflight)
			return i;
	return -1;
}

/* READ(10) or WRITE(10) of an in-range extent into @c, with its slot's buffer: the slot, or -1. */
static int rw10(struct fz *f, struct fake_front_cmd *c, uint8_t op, uint8_t dir, uint32_t *lba)
{
	unsigned int blocks = fz_range(f, 1, MAX_BLOCKS);
	int rq;

	*lba = fz_range(f, 0, LUN_BLOCKS - blocks);
	c->cdb[0] = op;
	c->cdb[4] = (uint8_t)(*lba >> 8);
	c->cdb[5] = (uint8_t)*lba;
	c->cdb[8] = (uint8_t)blocks;
	c->cdb_len = 10;
	c->dir = dir;
	c->len = blocks * 512;
	rq = free_shadow();
	if (rq >= 0)
		c->buf = E.arena + (size_t)rq * MAX_BLOCKS * 512;
	return rq;
}

static void queue(struct fz *f, uint8_t op)
{
	struct fake_front_cmd c;
	int rq;

	if (RING_FULL(&E.fe.ring) || E.nused >= sizeof(E.used_rqids) / sizeof(E.used_rqids[0]))
		return;
	memset(&c, 0, sizeof(c));
	switch (op % 6) {
	case 0:
	case 1: { /* WRITE(10): in range, always GOOD */
		uint32_t lba;
		uint8_t seed;

		rq = rw10(f, &c, 0x2a, PVSP_DIR_TO_DEV, &lba);
		seed = fz_u8(f);
		if (rq < 0)
			return;
		for (uint32_t i = 0; i < c.len; i++)
			((uint8_t *)c.buf)[i] = (uint8_t)(seed + i * 13 + (i >> 9));
		c.indirect = fz_bool(f);
		FZ_CHECK(fake_front_queue(&E.fe, &c) == rq, "queue WRITE");
		memcpy(E.model + lba * 512, c.buf, c.len);
		break;
	}
	case 2: { /* READ(10) */
		uint32_t lba;

		rq = rw10(f, &c, 0x28, PVSP_DIR_FROM_DEV, &lba);
		if (rq < 0)
			return;
		c.indirect = fz_bool(f);
		FZ_CHECK(fake_front_queue(&E.fe, &c) == rq, "queue READ");
		break;
	}
	case 3: /* TEST UNIT READY or INQUIRY */
		if (fz_bool(f)) {
			c.cdb_len = 6;
			c.dir = PVSP_DIR_NONE;
		} else {
			rq = free_shadow();
			if (rq < 0)
				return;
			c.cdb[0] = 0x12;
			c.cdb[4] = 96;
			c.cdb_len = 6;
			c.dir = PVSP_DIR_FROM_DEV;
			c.buf = E.arena + (size_t)rq * MAX_BLOCKS * 512;
			c.len = 96;
		}
		rq = fake_front_queue(&E.fe, &c);
		break;
	case 4: /* ABORT of any rqid: nothing is in flight on a mem: LUN between passes */
		c.act = VSCSIIF_ACT_SCSI_ABORT;
		c.ref_rqid = fz_u8(f) % 24;
		c.dir = PVSP_DIR_NONE;
		rq = fake_front_queue(&E.fe, &c);
		break;
	default: { /* an invalid slot: act 0, answered DID_ERROR (or dropped without journal) */
		struct vscsiif_request *r = fake_front_raw(&E.fe);

		r->rqid = (uint16_t)(FAKE_FRONT_REQS + E.next_raw++);
		r->act = fz_u8(f) % 2 ? 0 : 9;
		mark_queued(r->rqid);
		return;
	}
	}
	if (rq < 0)
		return;
	mark_queued((uint16_t)rq);
	E.wf[rq] = c.act == 0;
}

/* Take every published answer. */
static void collect(bool strict)
{
	RING_IDX rp = __atomic_load_n(&E.fe.ring.sring->rsp_prod, __ATOMIC_ACQUIRE);

	if (strict)
		FZ_CHECK((RING_IDX)(rp - E.fe.ring.rsp_cons) <=
		             (RING_IDX)(E.fe.ring.req_prod_pvt - E.fe.ring.rsp_cons),
		         "rsp_prod %u past the requests (rsp_cons %u, req_prod %u)", rp,
		         E.fe.ring.rsp_cons, E.fe.ring.req_prod_pvt);
	else if ((RING_IDX)(rp - E.fe.ring.rsp_cons) > RING_SIZE(&E.fe.ring))
		rp = E.fe.ring.rsp_cons + RING_SIZE(&E.fe.ring);
	while (E.fe.ring.rsp_cons != rp) {
		struct vscsiif_response rsp;

		RING_COPY_RESPONSE(&E.fe.ring, E.fe.ring.rsp_cons, &rsp);
		E.fe.ring.rsp_cons++;
		if (strict) {
			FZ_CHECK(E.outstanding[rsp.rqid], "rqid %u answered twice (or never asked)",
			         rsp.rqid);
			if (rsp.rqid < FAKE_FRONT_REQS && E.wf[rsp.rqid])
				FZ_CHECK(rsp.rslt == 0, "rqid %u answered 0x%x", rsp.rqid,
				         (unsigned int)rsp.rslt);
		}
		E.outstanding[rsp.rqid] = 0;
		if (rsp.rqid < FAKE_FRONT_REQS)
			fake_front_fini_request(&E.fe, rsp.rqid);
	}
	E.fe.ring.sring->rsp_event = E.fe.ring.rsp_cons + 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void run(void)
{
	bool more = true;
	int i;

	for (i = 0; i < 64 && (more || pvsd_ring_inflight(E.ring)); i++) {
		if (more)
			more = pvsd_ring_handle_event(E.ring);
		pvs_worker_poll(E.w);
		pvsd_ring_flush(E.ring);
	}
	FZ_CHECK(i < 64, "the ring did not drain (%u in flight)", pvsd_ring_inflight(E.ring));
}

static void connect_ring(bool adopt)
{
	E.cfg.adopt = adopt;
	FZ_CHECK(pvsd_ring_connect(&E.cfg, E.fe.ring_ref, E.fe.port, &E.ring) == 0, "connect");
}

static void disconnect_ring(void)
{
	int rc = pvsd_ring_disconnect(E.ring);

	FZ_CHECK(rc == 0, "disconnect: %d", rc);
	E.ring = NULL;
}

/*
 * Move the copies from the instant of the log line to one no line marks:
 * after "rsp" (published, entry still ANSWERED), to before rsp_prod moved,
 * with the response written or the slot still as it was (B never reads a
 * slot below the journal's count, whatever it holds); after a request was
 * taken ("req", "rejected": it is the last one consumed), to before the
 * consumer count moved past its entry.
 */
static void forge(struct fz *f)
{
	struct vscsiif_sring *s = (struct vscsiif_sring *)E.ring_copy;
	struct journal *j = (struct journal *)E.j_copy;
	uint8_t how = fz_u8(f);

	if (E.j_len < (ssize_t)sizeof(*j) || !(how & 1))
		return;
	if (E.kind == 'p') {
		s->rsp_prod--;
		if (how & 2)
			fz_bytes(f, &s->ring[s->rsp_prod % RING_SIZE(&E.fe.ring)],
			         sizeof(s->ring[0]));
	} else if (E.kind == 'q') {
		j->cons--;
	}
}

static void setup_once(void)
{
	if (E.gnt)
		return;
	E.gnt = fake_gnt_new();
	E.evt = fake_evt_new();
	if (!E.gnt || !E.evt || pvs_worker_new(64, &E.w) || pvs_map_new(&E.map))
		abort();
	E.arena = aligned_alloc(PAGE, FAKE_FRONT_REQS * MAX_BLOCKS * 512);
	snprintf(E.state_dir, sizeof(E.state_dir), "/tmp/pvscsi-adopt-fuzz-XXXXXX");
	if (!E.arena || !mkdtemp(E.state_dir))
		abort();
	snprintf(E.j_path, sizeof(E.j_path), "%s/dom%u-vhost0.journal", E.state_dir, DOMID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	uint8_t hdr, tur[6] = {0};
	char err[256];
	bool strict, took_before;
	uint64_t notified;

	setup_once();
	fz_init(&f, data, size);
	hdr = fz_u8(&f);
	E.mode = hdr % 8 == 6 ? M_NO_JOURNAL : hdr % 8 == 7 ? M_CORRUPT : M_JOURNAL;
	strict = E.mode == M_JOURNAL;
	FZ_CHECK(pvs_lun_open(E.w, "mem:64K", NULL, &E.lun, err, sizeof(err)) == 0, "%s", err);
	FZ_CHECK(pvs_map_add(E.map, 0, 0, 0, E.lun) == 0, "map");
	direct(tur, 6, PVS_DIR_NONE, NULL, 0); /* the POWER ON unit attention */
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
	    .max_segs = PVSD_RING_DEFAULT_SEGS,
	    .log = log_sink,
	    /* held answers go at the next flush: a run cannot wait 250 ms */
	    .tmf_hold_ms = -1,
	    .verbose = true,
	    .state_dir = E.mode == M_NO_JOURNAL ? NULL : E.state_dir,
	};
	connect_ring(false);

	/* Batches A serves in full; the guest takes the answers after each. */
	for (unsigned int n = 0, batches = fz_u8(&f) % 3; n < batches; n++) {
		for (unsigned int k = fz_range(&f, 1, 8); k > 0; k--)
			queue(&f, fz_u8(&f));
		fake_front_push(&E.fe);
		run();
		collect(true);
	}
	/* The last batch: A dies after line kill_at. */
	for (unsigned int n = 0; n < MAX_OPS && !fz_empty(&f); n++) {
		uint8_t op = fz_u8(&f);

		if (op == 0xff)
			break;
		queue(&f, op);
	}
	E.lines = 0;
	E.kill_at = fz_range(&f, 1, 64);
	E.taken = false;
	E.armed = true;
	fake_front_push(&E.fe);
	run();
	E.armed = false;
	if (!E.taken)
		take_snapshot('-'); /* died after its last line: everything answered */
	disconnect_ring();

	/* What the dead daemon left, possibly one store earlier; then the restart. */
	forge(&f);
	if (E.mode == M_CORRUPT && E.j_len > 0) {
		/* Bytes of the input over the journal: a header, an entry, a state, a count. */
		uint32_t off = fz_u32(&f) % (uint32_t)E.j_len, n = fz_range(&f, 1, 16);

		fz_bytes(&f, E.j_copy + off, n < E.j_len - off ? n : (size_t)(E.j_len - off));
	}
	memcpy(E.fe.page, E.ring_copy, PAGE);
	if (E.j_len >= 0) {
		int fd = open(E.j_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		FZ_CHECK(fd >= 0 && write(fd, E.j_copy, (size_t)E.j_len) == E.j_len,
		         "journal back");
		close(fd);
	}
	took_before = fz_bool(&f);
	if (took_before)
		collect(strict);
	notified = fake_front_notifications(&E.fe);
	connect_ring(true);
	run();
	if (E.fe.ring.rsp_cons != E.fe.ring.sring->rsp_prod)
		FZ_CHECK(fake_front_notifications(&E.fe) > notified,
		         "answers waiting and the frontend not woken after the adoption");
	collect(strict);
	if (strict) {
		uint8_t lun[LUN_SIZE];
		uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, LUN_BLOCKS >> 8, LUN_BLOCKS & 0xff, 0};

		for (unsigned int i = 0; i < E.nused; i++)
			FZ_CHECK(!E.outstanding[E.used_rqids[i]], "rqid %u never answered",
			         E.used_rqids[i]);
		FZ_CHECK(direct(cdb, 10, PVS_DIR_FROM_DEV, lun, LUN_SIZE), "read the LUN back");
		FZ_CHECK(memcmp(lun, E.model, LUN_SIZE) == 0, "the LUN does not hold the WRITEs");
	}
	disconnect_ring();
	fake_front_fini(&E.fe);
	pvs_map_remove(E.map, 0, 0, 0, NULL);
	pvs_lun_close(E.lun);
	unlink(E.j_path);
	for (unsigned int i = 0; i < E.nused; i++)
		E.outstanding[E.used_rqids[i]] = 0;
	E.nused = 0;
	E.next_raw = 0;
	memset(E.wf, 0, sizeof(E.wf));
	return 0;
}
