/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostile_ut.c - a hostile vscsiif frontend, one test per class of
 * /work/shared/reference/hostile-input.md that applies to the ring.
 * Every test ends by checking that the ring still serves a good request.
 */
#include <CUnit/Basic.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "ring_harness.h"

#define RSLT(host, status) ((int32_t)((host) << 16 | (status)))
#define DID_ERROR          RSLT(XEN_VSCSIIF_RSLT_HOST_ERROR, 0)

/* libasan's (GCC ships no header for it); mallinfo2 when not under ASan. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	return mallinfo2().uordblks;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

/* The ring still works: a TEST UNIT READY and an INQUIRY come back GOOD. */
static void still_serves(struct rh *h)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);

	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	rh_inquiry(&c, buf, 36, 36);
	CU_ASSERT_FATAL(rh_cmd(h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, "PVSCSI", 6), 0);
	free(buf);
}

/* Push what the test queued by hand, run, and expect one response with @rslt. */
static void push_one(struct rh *h, struct vscsiif_response *rsp, int32_t rslt)
{
	fake_front_push(&h->fe);
	rh_run(h);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h->fe, rsp), 1);
	CU_ASSERT_EQUAL(rsp->rslt, rslt);
}

/* Queue @n raw requests prepared by @prep, run, expect @n responses with @rslt. */
static void expect_each(struct rh *h, unsigned int n,
                        void (*prep)(struct vscsiif_request *, unsigned int), int32_t rslt)
{
	struct vscsiif_response rsp[16];

	for (unsigned int base = 0; base < n; base += 16) {
		unsigned int k = n - base < 16 ? n - base : 16, got;

		for (unsigned int i = 0; i < k; i++) {
			struct vscsiif_request *r = fake_front_raw(&h->fe);

			r->rqid = (uint16_t)(1000 + base + i);
			r->act = VSCSIIF_ACT_SCSI_CDB;
			r->cmd_len = 6;
			r->sc_data_direction = PVSP_DIR_NONE;
			prep(r, base + i);
		}
		fake_front_push(&h->fe);
		rh_run(h);
		got = rh_collect(h, rsp, 16);
		CU_ASSERT_EQUAL(got, k);
		for (unsigned int i = 0; i < got; i++) {
			CU_ASSERT_EQUAL(rsp[i].rqid, 1000 + base + i);
			CU_ASSERT_EQUAL(rsp[i].rslt, rslt);
		}
	}
	/* Raw requests are not the fake frontend's own: their answers count as untracked. */
	h->fe.errors = 0;
}

/* ---- 1: double fetch ---- */

struct tamper {
	struct rh *h;
	struct vscsiif_request *shared;
	struct scsiif_request_segment *desc;
	unsigned int calls;
};

static void tamper_hook(void *arg)
{
	struct tamper *t = arg;

	/* After the backend's first copy: rewrite everything the guest still can. */
	if (t->calls++ != 0)
		return;
	if (t->shared) {
		t->shared->cmnd[5] = 0x40; /* another LBA */
		t->shared->nr_segments = 26;
		t->shared->sc_data_direction = PVSP_DIR_FROM_DEV;
		for (int i = 0; i < VSCSIIF_SG_TABLESIZE; i++) {
			t->shared->seg[i].length = 0xffff;
			t->shared->seg[i].gref = 0;
		}
		t->shared->cmd_len = 255;
		t->shared->act = 4;
	}
	if (t->desc)
		for (int i = 0; i < 4; i++)
			t->desc[i] = (struct scsiif_request_segment){
			    .gref = 0, .offset = 0xfff0, .length = 0xffff};
}

static void test_double_fetch(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *wbuf = rh_alloc(4 * 4096), *rbuf = rh_alloc(4 * 4096);
	struct tamper t = {0};
	int rq;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	t.h = &h;

	/* Direct: the request in the ring changes after the data-out copy. */
	fill(wbuf, 4 * 4096, 5);
	rh_rw10(&c, true, 16, 32, wbuf, 4 * 4096);
	rq = fake_front_queue(&h.fe, &c);
	CU_ASSERT_FATAL(rq >= 0);
	t.shared = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	fake_gnt_set_copy_hook(h.gnt, tamper_hook, &t);
	fake_front_push(&h.fe);
	rh_run(&h);
	fake_gnt_set_copy_hook(h.gnt, NULL, NULL);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, rq);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	/* The WRITE landed where the copy said, with the copy's data. */
	rh_rw10(&c, false, 16, 32, rbuf, 4 * 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4 * 4096), 0);

	/* Indirect: the descriptor page changes after the backend copied it out. */
	fill(wbuf, 4 * 4096, 9);
	rh_rw10(&c, true, 64, 32, wbuf, 4 * 4096);
	c.indirect = true;
	rq = fake_front_queue(&h.fe, &c);
	CU_ASSERT_FATAL(rq >= 0);
	t.calls = 0;
	t.shared = NULL;
	t.desc = h.fe.shadow[rq].desc;
	fake_gnt_set_copy_hook(h.gnt, tamper_hook, &t);
	fake_front_push(&h.fe);
	rh_run(&h);
	fake_gnt_set_copy_hook(h.gnt, NULL, NULL);
	CU_ASSERT_EQUAL(t.calls, 2); /* descriptors, then data */
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	rh_rw10(&c, false, 64, 32, rbuf, 4 * 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4 * 4096), 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	still_serves(&h);
	rh_fini(&h);
	free(wbuf);
	free(rbuf);
}

/* ---- 2: bogus producer index ---- */

static void test_bogus_req_prod(void)
{
	static const uint32_t bogus[] = {17, 1000, 0x80000000u, 0xffffffffu};

	for (unsigned int b = 0; b < sizeof(bogus) / sizeof(bogus[0]); b++) {
		struct rh h, h2;
		struct pvsd_ring_stats st;
		struct vscsiif_response rsp;

		CU_ASSERT_FATAL(rh_init(&h, 7, 3, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
		CU_ASSERT_FATAL(rh_init_shared(&h2, &h, 8, 0) == 0);
		h.fe.ring.sring->req_prod = h.fe.ring.sring->rsp_prod + bogus[b];
		fake_front_kick(&h.fe);
		/* Bounded: returns at once, with nothing consumed. */
		CU_ASSERT_FALSE(pvsd_ring_handle_event(h.ring));
		CU_ASSERT_TRUE(pvsd_ring_broken(h.ring));
		CU_ASSERT_TRUE(rh_log_has(&h, "dom 7 vhost 3 provided bogus ring requests"));
		/* Only the harness's TEST UNIT READY was ever taken. */
		pvsd_ring_get_stats(h.ring, &st);
		CU_ASSERT_EQUAL(st.requests, 1);
		CU_ASSERT_EQUAL(st.responses, 1);
		CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
		/* Halted: further kicks do nothing. */
		fake_front_kick(&h.fe);
		CU_ASSERT_FALSE(pvsd_ring_handle_event(h.ring));
		pvsd_ring_get_stats(h.ring, &st);
		CU_ASSERT_EQUAL(st.requests, 1);
		/* This ring only: the other ring on the same worker and LUN carries on. */
		CU_ASSERT_FALSE(pvsd_ring_broken(h2.ring));
		still_serves(&h2);
		CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), 0);
		h.ring = NULL;
		rh_fini(&h2);
		rh_fini(&h);
	}

	/* Exactly a ring's worth ahead is legal: 16 garbage requests, 16 answers. */
	{
		struct rh h;
		struct vscsiif_response rsp[16];

		CU_ASSERT_FATAL(rh_init(&h, 7, 3, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
		for (int i = 0; i < 16; i++)
			fake_front_raw(&h.fe)->rqid = (uint16_t)i; /* act 0: invalid */
		fake_front_push(&h.fe);
		rh_run(&h);
		CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 16);
		for (int i = 0; i < 16; i++)
			CU_ASSERT_EQUAL(rsp[i].rslt, DID_ERROR);
		CU_ASSERT_FALSE(pvsd_ring_broken(h.ring));
		h.fe.errors = 0;
		still_serves(&h);
		rh_fini(&h);
	}
}

/* ---- 3: segment counts and geometry ---- */

static void test_segment_geometry(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(130 * 4096), *rb = rh_alloc(4096);
	struct vscsiif_request *r;
	struct fake_gnt_stats gs0, gs1;
	int rq;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);

	/* Indirect page length not a multiple of 8. */
	rh_rw10(&c, true, 0, 8, buf, 4096);
	c.indirect = true;
	rq = fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].length = 12;
	fake_gnt_get_stats(h.gnt, &gs0);
	push_one(&h, &rsp, DID_ERROR);
	CU_ASSERT_EQUAL(rsp.rqid, rq);
	fake_gnt_get_stats(h.gnt, &gs1);
	CU_ASSERT_EQUAL(gs1.copy_calls, gs0.copy_calls); /* refused before any copy */

	/* Indirect page offset + length over the page. */
	rq = fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].offset = 4090;
	push_one(&h, &rsp, DID_ERROR);

	/* A descriptor inside the indirect page reaching over its page. */
	rq = fake_front_queue(&h.fe, &c);
	((struct scsiif_request_segment *)h.fe.shadow[rq].desc)[0].offset = 4000;
	push_one(&h, &rsp, DID_ERROR);

	/* A zero-length descriptor. */
	rq = fake_front_queue(&h.fe, &c);
	((struct scsiif_request_segment *)h.fe.shadow[rq].desc)[0].length = 0;
	push_one(&h, &rsp, DID_ERROR);

	/* Direct segment offset + length over 4096. */
	rh_rw10(&c, true, 0, 8, buf, 4096);
	rq = fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].offset = 1;
	push_one(&h, &rsp, DID_ERROR);

	/* Direct nr_segments 27..127. */
	r = fake_front_raw(&h.fe);
	r->rqid = 40;
	r->act = 1;
	r->cmd_len = 10;
	r->cmnd[0] = 0x28;
	r->sc_data_direction = PVSP_DIR_FROM_DEV;
	r->nr_segments = 127;
	push_one(&h, &rsp, DID_ERROR);

	/* 129 descriptors against feature-sg-grant 128 (more than Linux's frontend would send). */
	rh_rw10(&c, false, 0, 129 * 8, buf, 129 * 4096);
	h.fe.max_grants = 0;
	rq = fake_front_queue(&h.fe, &c);
	CU_ASSERT_FATAL(rq >= 0);
	push_one(&h, &rsp, DID_ERROR);
	h.fe.errors = 0;

	/* Nothing above wrote the LUN. */
	rh_rw10(&c, false, 0, 8, rb, 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	for (int i = 0; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(rb[i], 0);
	still_serves(&h);
	rh_fini(&h);

	/* Without feature-sg-grant, indirect requests are refused. */
	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", 0, false) == 0);
	rh_rw10(&c, true, 0, 8, buf, 4096);
	c.indirect = true;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, DID_ERROR);
	CU_ASSERT_TRUE(rh_log_has(&h, "sg-grant-not-advertised"));
	still_serves(&h);
	rh_fini(&h);
	free(buf);
	free(rb);
}

/* ---- 4: CDB length ---- */

static void prep_cmd_len(struct vscsiif_request *r, unsigned int i)
{
	r->cmd_len = (uint8_t)(i == 0 ? 0 : 16 + i); /* 0, then 17..255 */
	memset(r->cmnd, 0xff, sizeof(r->cmnd));
}

static void test_cdb_length(void)
{
	struct rh h;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	expect_each(&h, 240, prep_cmd_len, DID_ERROR);
	still_serves(&h);
	rh_fini(&h);
}

/* ---- 5: allocation length vs response size (through the core) ---- */

static void test_allocation_length(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/* INQUIRY allocation length 65535 with a 36-byte buffer; the rest of the page is a guard.
	 */
	memset(buf, 0xee, 4096);
	rh_inquiry(&c, buf, 0xffff, 36);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, "PVSCSI", 6), 0);
	for (int i = 36; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(buf[i], 0xee);

	/* REPORT LUNS allocation length 0xffffffff with a 16-byte buffer. */
	memset(buf, 0xee, 4096);
	memset(&c, 0, sizeof(c));
	c.cdb[0] = 0xa0;
	c.cdb[6] = c.cdb[7] = c.cdb[8] = c.cdb[9] = 0xff;
	c.cdb_len = 12;
	c.dir = PVSP_DIR_FROM_DEV;
	c.buf = buf;
	c.len = 16;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(buf[3], 8); /* one LUN: list length 8 */
	for (int i = 16; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(buf[i], 0xee);

	/* MODE SENSE(10) all pages, allocation 65535, 8-byte buffer. */
	memset(buf, 0xee, 4096);
	memset(&c, 0, sizeof(c));
	c.cdb[0] = 0x5a;
	c.cdb[2] = 0x3f;
	c.cdb[7] = c.cdb[8] = 0xff;
	c.cdb_len = 10;
	c.dir = PVSP_DIR_FROM_DEV;
	c.buf = buf;
	c.len = 8;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	for (int i = 8; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(buf[i], 0xee);
	still_serves(&h);
	rh_fini(&h);
	free(buf);
}

/* ---- 7: sense length ---- */

static void test_sense_length(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/* Unknown opcodes, bad fields: every CHECK CONDITION carries at most 96 bytes. */
	for (unsigned int op = 0xc0; op < 0xd0; op++) {
		memset(&c, 0, sizeof(c));
		c.cdb[0] = (uint8_t)op;
		c.cdb_len = 16;
		c.dir = PVSP_DIR_FROM_DEV;
		c.buf = buf;
		c.len = 512;
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
		CU_ASSERT_EQUAL(rsp.rslt, 0x02);
		CU_ASSERT_TRUE(rsp.sense_len >= 8 && rsp.sense_len <= VSCSIIF_SENSE_BUFFERSIZE);
		CU_ASSERT_EQUAL(rsp.sense_buffer[2] & 0x0f, PVS_KEY_ILLEGAL_REQUEST);
		for (unsigned int i = rsp.sense_len; i < VSCSIIF_SENSE_BUFFERSIZE; i++)
			CU_ASSERT_EQUAL(rsp.sense_buffer[i], 0);
	}
	still_serves(&h);
	rh_fini(&h);
	free(buf);
}

/* ---- 8: information leaks ---- */

static void test_info_leaks(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *pat = rh_alloc(8192), *buf = rh_alloc(8192);

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	memset(pat, 0x5a, 8192);
	for (int round = 0; round < 3; round++) {
		unsigned int n;

		/* Leave 0x5a in the bounce buffer: write it, read it back. */
		rh_rw10(&c, true, 0, 16, pat, 8192);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
		rh_rw10(&c, false, 0, 16, buf, 8192);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
		/* A short answer into a big buffer: only what was transferred moves. */
		memset(buf, 0xee, 8192);
		rh_inquiry(&c, buf, 4096, 8192);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
		CU_ASSERT_EQUAL(rsp.rslt, 0);
		n = 8192 - rsp.residual_len;
		CU_ASSERT_TRUE(n >= 36 && n < 4096);
		for (unsigned int i = n; i < 8192; i++)
			CU_ASSERT_EQUAL_FATAL(buf[i], 0xee);
		for (unsigned int i = 0; i < n; i++)
			CU_ASSERT_NOT_EQUAL_FATAL(buf[i], 0x5a);
	}

	/* Response slots: a rejected request's slot keeps nothing of the request. */
	{
		struct vscsiif_request *r = fake_front_raw(&h.fe);
		const uint8_t *b = (const uint8_t *)r;

		memset(r, 0xaa, sizeof(*r));
		r->rqid = 0x0102;
		r->act = 9;
		push_one(&h, &rsp, DID_ERROR);
		CU_ASSERT_EQUAL(b[0], 0x02);
		CU_ASSERT_EQUAL(b[1], 0x01);
		for (size_t i = 2; i < sizeof(*r); i++)
			if (i < offsetof(struct vscsiif_response, rslt) ||
			    i >= offsetof(struct vscsiif_response, rslt) + 4)
				CU_ASSERT_EQUAL_FATAL(b[i], 0);
		h.fe.errors = 0;
	}
	still_serves(&h);
	rh_fini(&h);
	free(pat);
	free(buf);
}

/* ---- 9: rqid, ref_rqid, act, direction ---- */

static void prep_act(struct vscsiif_request *r, unsigned int i)
{
	static const uint8_t acts[] = {0, 4, 5, 0x7f, 0x80, 0xff};

	r->act = acts[i % sizeof(acts)];
}

static void prep_dir(struct vscsiif_request *r, unsigned int i)
{
	r->sc_data_direction = (uint8_t)(4 + i);
}

static void test_ids_act_dir(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	uint8_t *buf = rh_alloc(65536), *ref = rh_alloc(65536);
	struct vscsiif_request *r;
	int rq;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(ref, 65536, 3);
	rh_rw10(&c, true, 0, 128, ref, 65536);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);

	/* rqid reused while in flight: the new one fails, the old one is untouched. */
	rh_rw10(&c, false, 0, 128, buf, 65536);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
	r = fake_front_raw(&h.fe);
	r->rqid = (uint16_t)rq;
	r->act = VSCSIIF_ACT_SCSI_CDB;
	r->cmd_len = 6;
	r->sc_data_direction = PVSP_DIR_NONE;
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
	CU_ASSERT_EQUAL(rsp[0].rqid, rq);
	CU_ASSERT_EQUAL(rsp[0].rslt, DID_ERROR);
	CU_ASSERT_EQUAL(rsp[1].rqid, rq);
	CU_ASSERT_EQUAL(rsp[1].rslt, 0);
	CU_ASSERT_EQUAL(memcmp(buf, ref, 65536), 0);
	CU_ASSERT_TRUE(rh_log_has(&h, "reused while in flight"));
	h.fe.errors = 0;

	/* rqid is an opaque echo: any 16-bit value comes back. */
	r = fake_front_raw(&h.fe);
	r->rqid = 0xffff;
	r->act = VSCSIIF_ACT_SCSI_CDB;
	r->cmd_len = 6;
	r->sc_data_direction = PVSP_DIR_NONE;
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 1);
	CU_ASSERT_EQUAL(rsp[0].rqid, 0xffff);
	CU_ASSERT_EQUAL(rsp[0].rslt, 0);

	/* ref_rqid: looked up, never an index; unknown and huge values are harmless. */
	for (unsigned int i = 0; i < 3; i++) {
		static const uint16_t refs[] = {0xffff, 16, 0x8000};

		r = fake_front_raw(&h.fe);
		r->rqid = (uint16_t)(500 + i);
		r->act = VSCSIIF_ACT_SCSI_ABORT;
		r->ref_rqid = refs[i];
		fake_front_push(&h.fe);
		rh_run(&h);
		CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 1);
		CU_ASSERT_EQUAL(rsp[0].rqid, 500 + i);
		CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	}
	/* ABORT naming an in-flight command on another device: refused, command untouched. */
	rh_rw10(&c, false, 0, 128, buf, 65536);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	r = fake_front_raw(&h.fe);
	r->rqid = 600;
	r->act = VSCSIIF_ACT_SCSI_ABORT;
	r->ref_rqid = (uint16_t)rq;
	r->id = 3;
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
	CU_ASSERT_EQUAL(rsp[0].rqid, 600);
	CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
	CU_ASSERT_EQUAL(rsp[1].rqid, rq);
	CU_ASSERT_EQUAL(rsp[1].rslt, 0);
	h.fe.errors = 0;

	/*
	 * ref_rqid is matched against rqids, not used as a slot number: with a
	 * READ in flight as rqid 0x1234, ABORT of rqid 0 (not in flight)
	 * touches nothing, ABORT of 0x1234 aborts it.
	 */
	for (int pass = 0; pass < 2; pass++) {
		rh_rw10(&c, false, 0, 128, buf, 65536);
		rq = fake_front_queue(&h.fe, &c);
		r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
		r->rqid = 0x1234;
		fake_front_push(&h.fe);
		pvsd_ring_handle_event(h.ring);
		CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
		r = fake_front_raw(&h.fe);
		r->rqid = 700;
		r->act = VSCSIIF_ACT_SCSI_ABORT;
		r->ref_rqid = pass ? 0x1234 : 0;
		fake_front_push(&h.fe);
		/* Taken before the worker reaps the READ (rh_run() reaps first). */
		pvsd_ring_handle_event(h.ring);
		rh_run(&h);
		CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
		/* The ABORT's answer first: command answers wait behind a TMF (ring.c). */
		CU_ASSERT_EQUAL(rsp[0].rqid, 700);
		CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
		CU_ASSERT_EQUAL(rsp[1].rqid, 0x1234);
		CU_ASSERT_EQUAL(rsp[1].rslt, pass ? RSLT(XEN_VSCSIIF_RSLT_HOST_ABORT, 0) : 0);
		/* The frontend's own bookkeeping of the patched request. */
		fake_front_fini_request(&h.fe, rq);
	}
	h.fe.errors = 0;

	/* act outside 1..3, direction outside 0..3. */
	expect_each(&h, 6, prep_act, DID_ERROR);
	expect_each(&h, 252, prep_dir, DID_ERROR);
	still_serves(&h);
	rh_fini(&h);
	free(buf);
	free(ref);
}

/* ---- 10: grant operation errors ---- */

static void test_grant_errors(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(65536);
	struct vscsiif_request *r;
	struct fake_gnt_stats gs;
	static const int16_t st[] = {GNTST_bad_gntref, GNTST_bad_domain,   GNTST_permission_denied,
	                             GNTST_bad_page,   GNTST_bad_copy_arg, GNTST_eagain};

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/* Every status on the last data-out element of a 16-page WRITE. */
	for (unsigned int i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		rh_rw10(&c, true, 0, 128, buf, 65536);
		fake_gnt_fail_nth(h.gnt, 15, st[i]);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
		CU_ASSERT_EQUAL(rsp.rslt, DID_ERROR);
	}
	/* The whole copy call failing. */
	fake_gnt_fail_calls(h.gnt, 1, EIO);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, DID_ERROR);
	/* Descriptor copy of an indirect request failing. */
	c.indirect = true;
	fake_gnt_fail_nth(h.gnt, 0, GNTST_bad_gntref);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, DID_ERROR);
	c.indirect = false;

	/* Refs that are not granted, or another domain's, or read-only for data-in. */
	rh_rw10(&c, false, 0, 8, buf, 4096);
	fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].gref = 0;
	push_one(&h, &rsp, DID_ERROR);
	fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].gref = h.fe.ring_ref; /* the ring page: granted, but reads land in it */
	r->sc_data_direction = PVSP_DIR_TO_DEV;
	r->cmnd[0] = 0x2a;
	push_one(&h, &rsp, 0); /* legal if odd: the guest's own page */
	{
		uint32_t foreign = fake_gnt_grant(h.gnt, 99, buf, false);

		fake_front_queue(&h.fe, &c);
		r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
		r->seg[0].gref = foreign;
		push_one(&h, &rsp, DID_ERROR);
		fake_gnt_revoke(h.gnt, foreign);
	}
	/* A READ into a read-only grant. */
	fake_front_queue(&h.fe, &c);
	r = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	r->seg[0].gref = fake_gnt_grant(h.gnt, 1, buf, true);
	push_one(&h, &rsp, DID_ERROR);
	fake_gnt_revoke(h.gnt, r->seg[0].gref);
	h.fe.errors = 0;

	/* The ring page never stays mapped twice, data pages never at all. */
	fake_gnt_get_stats(h.gnt, &gs);
	CU_ASSERT_EQUAL(gs.mapped, 1);
	CU_ASSERT_EQUAL(gs.maps, 1);
	still_serves(&h);
	rh_fini(&h);
	free(buf);
}

/* ---- 11: flooding ---- */

struct repost {
	struct rh *h;
	unsigned int posted;
};

static void repost_one(struct repost *p);

/* A guest that keeps the ring full behind the backend's back: on every copy, all it may. */
static void repost_hook(void *arg)
{
	struct repost *p = arg;

	while (p->posted < 100000 &&
	       (RING_IDX)(p->h->fe.ring.req_prod_pvt - p->h->fe.ring.sring->rsp_prod) < 16)
		repost_one(p);
}

static void repost_one(struct repost *p)
{
	struct vscsiif_request *r;

	r = RING_GET_REQUEST(&p->h->fe.ring, p->h->fe.ring.req_prod_pvt);
	memset(r, 0, sizeof(*r));
	r->rqid = (uint16_t)(p->posted % 16);
	r->act = VSCSIIF_ACT_SCSI_CDB;
	r->cmd_len = 10;
	r->cmnd[0] = 0x2a;
	r->cmnd[8] = 1;
	r->sc_data_direction = PVSP_DIR_TO_DEV;
	r->nr_segments = 1;
	r->seg[0].gref = p->h->fe.ring_ref;
	r->seg[0].length = 512;
	p->h->fe.ring.req_prod_pvt++;
	p->h->fe.ring.sring->req_prod = p->h->fe.ring.req_prod_pvt;
	p->posted++;
}

static void test_flooding(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[16];
	uint8_t *buf[16];
	struct pvsd_ring_stats st;
	size_t before, after;
	struct repost rp;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	for (int i = 0; i < 16; i++) {
		buf[i] = rh_alloc(8192);
		rh_rw10(&c, false, (uint32_t)i * 16, 16, buf[i], 8192);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 16);
	/* 1000 kicks with a full ring: no work, no memory. */
	before = heap_in_use();
	for (int i = 0; i < 1000; i++) {
		fake_front_kick(&h.fe);
		CU_ASSERT_FALSE_FATAL(pvsd_ring_handle_event(h.ring));
	}
	after = heap_in_use();
	CU_ASSERT_EQUAL(after, before);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.requests, 17); /* with the harness's TEST UNIT READY */
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 16);
	/* Not stalled: everything completes. */
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 16);
	for (int i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
		free(buf[i]);
	}
	rh_fini(&h);

	/*
	 * A guest re-filling the ring as fast as the backend drains it: one
	 * handle_event does a bounded amount of work and says there is more.
	 */
	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/*
	 * Half the ring posted; at every grant copy (one per pass, for the
	 * pass's data-out) the guest fills every entry it may, those whose
	 * responses are written (the mem: LUN completes at once), never
	 * beyond what the ring allows: 8 more per pass.  One call takes at
	 * most PASSES (4) ring's worth and says there is more.
	 */
	rp = (struct repost){.h = &h};
	for (int i = 0; i < 8; i++)
		repost_one(&rp);
	fake_gnt_set_copy_hook(h.gnt, repost_hook, &rp);
	fake_front_kick(&h.fe);
	CU_ASSERT_TRUE(pvsd_ring_handle_event(h.ring));
	pvsd_ring_get_stats(h.ring, &st);
	/* More than a ring's worth was taken, and at most 4: the rest waits. */
	CU_ASSERT_EQUAL(st.requests - 1, 4 * 8);
	CU_ASSERT_EQUAL(rp.posted, 8 + 4 * 8);
	CU_ASSERT_EQUAL(st.rejected, 0);
	CU_ASSERT_FALSE(pvsd_ring_broken(h.ring));
	fake_gnt_set_copy_hook(h.gnt, NULL, NULL);
	rh_run(&h);
	h.fe.ring.rsp_cons = h.fe.ring.sring->rsp_prod;
	h.fe.errors = 0;
	still_serves(&h);
	rh_fini(&h);
}

/* ---- 13: state flips ---- */

static void test_disconnect_in_flight(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	uint8_t *buf = rh_alloc(65536);
	struct fake_gnt_stats gs;
	uint32_t port;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	port = h.fe.port;
	for (int i = 0; i < 3; i++) {
		rh_rw10(&c, false, (uint32_t)i * 128, 128, buf, 65536);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 3);
	/* The frontend closes now: the backend stops and must wait. */
	pvsd_ring_stop(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), -EBUSY);
	fake_gnt_get_stats(h.gnt, &gs);
	CU_ASSERT_EQUAL(gs.mapped, 1);
	CU_ASSERT_TRUE(fake_evt_bound(h.evt, port));
	for (int i = 0; i < 1000 && pvsd_ring_inflight(h.ring); i++) {
		pvs_worker_wait(h.w, 10);
		pvsd_ring_flush(h.ring);
		if (pvsd_ring_inflight(h.ring))
			CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), -EBUSY);
	}
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 0);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 4), 3);
	CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), 0);
	h.ring = NULL;
	fake_gnt_get_stats(h.gnt, &gs);
	CU_ASSERT_EQUAL(gs.mapped, 0);
	CU_ASSERT_FALSE(fake_evt_bound(h.evt, port));
	rh_fini(&h);
	free(buf);
}

static const struct cu_test tests[] = {
    {"1 double fetch", test_double_fetch},
    {"2 bogus producer index", test_bogus_req_prod},
    {"3 segment counts and geometry", test_segment_geometry},
    {"4 CDB length", test_cdb_length},
    {"5 allocation length", test_allocation_length},
    {"7 sense length", test_sense_length},
    {"8 information leaks", test_info_leaks},
    {"9 rqid, ref_rqid, act, direction", test_ids_act_dir},
    {"10 grant errors", test_grant_errors},
    {"11 flooding", test_flooding},
    {"13 disconnect with requests in flight", test_disconnect_in_flight},
};

int main(void)
{
	return CU_RUN("hostile", tests);
}
