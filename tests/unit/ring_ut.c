/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_ut.c - the vscsiif data path (backend/ring.c) against the fake
 * frontend, fake grant table and fake event channel, with real LUNs.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring_harness.h"
#include "ring_journal.h"

#define RSLT(host, status) ((int32_t)((host) << 16 | (status)))

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ (seed >> 3));
}

static void test_inquiry(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	struct pvsd_ring_stats st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, true) == 0);
	rh_inquiry(&c, buf, 96, 96);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rqid, 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.sense_len, 0);
	CU_ASSERT_EQUAL(buf[0], 0x00); /* connected direct-access block device */
	CU_ASSERT_TRUE(buf[4] + 5 <= 96);
	CU_ASSERT_EQUAL(rsp.residual_len, 96u - (buf[4] + 5u));
	CU_ASSERT_EQUAL(memcmp(buf + 8, "PVSCSI  ", 8), 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	CU_ASSERT_EQUAL(fake_front_inflight(&h.fe), 0);
	/* The request's grants were ended by the frontend: none is left mapped. */
	CU_ASSERT_EQUAL(fake_gnt_active(h.gnt), 1); /* the ring page */
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.requests, 2); /* and the harness's TEST UNIT READY */
	CU_ASSERT_EQUAL(st.responses, 2);
	/* --verbose: a line per request and per response, naming domain and vhost. */
	CU_ASSERT_TRUE(
	    rh_log_has(&h, "d1 v0: dom 1 vhost 0: req rqid 0 0:0:0 INQUIRY (0x12) len 96"));
	{
		char want[64];

		snprintf(want, sizeof(want),
		         "d1 v0: dom 1 vhost 0: rsp rqid 0 rslt 0x0 resid %u sense 0",
		         rsp.residual_len);
		CU_ASSERT_TRUE(rh_log_has(&h, want));
	}
	rh_fini(&h);
	free(buf);
}

static void rw_round_trip(const char *spec, uint32_t len, unsigned int offset, bool indirect,
                          unsigned int desc_offset)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *wbuf = rh_alloc(len + offset), *rbuf = rh_alloc(len + offset);
	struct fake_gnt_stats gs0, gs1;
	/* The frontend goes indirect by itself beyond 26 pages. */
	const bool ind = indirect || (len + offset + 4095) / 4096 > VSCSIIF_SG_TABLESIZE;

	CU_ASSERT_FATAL(rh_init(&h, 3, 1, spec, PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(wbuf + offset, len, len + offset);
	rh_rw10(&c, true, 8, (uint16_t)(len / 512), wbuf + offset, len);
	c.indirect = indirect;
	c.desc_offset = desc_offset;
	fake_gnt_get_stats(h.gnt, &gs0);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	fake_gnt_get_stats(h.gnt, &gs1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	/* One batched copy for the data, plus one for the descriptors if indirect. */
	CU_ASSERT_EQUAL(gs1.copy_calls - gs0.copy_calls, ind ? 2 : 1);
	CU_ASSERT_EQUAL(gs1.copy_bytes - gs0.copy_bytes,
	                len + (ind ? ((len + offset + 4095) / 4096) * 8 : 0));

	rh_rw10(&c, false, 8, (uint16_t)(len / 512), rbuf + offset, len);
	c.indirect = indirect;
	c.desc_offset = desc_offset;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	CU_ASSERT_EQUAL(memcmp(wbuf + offset, rbuf + offset, len), 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(wbuf);
	free(rbuf);
}

static void test_rw_direct(void)
{
	rw_round_trip("mem:4M", 4096, 0, false, 0);
	/* 64 KiB from a 512-byte offset: 17 pages, first and last partial. */
	rw_round_trip("mem:4M", 65536, 512, false, 0);
	/* 26 pages: the most a direct request holds. */
	rw_round_trip("mem:4M", 25 * 4096, 2048, false, 0);
	rw_round_trip("file:4194304", 65536, 512, false, 0);
}

static void test_rw_indirect(void)
{
	/* 27 pages and more must go indirect. */
	rw_round_trip("mem:4M", 26 * 4096, 1024, false, 0);
	/* 512 KiB: 128 segments, the Linux frontend's maximum. */
	rw_round_trip("mem:4M", 127 * 4096, 0, false, 0);
	/* Forced indirect, descriptors straddling two guest pages. */
	rw_round_trip("mem:4M", 10 * 4096, 0, true, 4064);
	rw_round_trip("file:4194304", 100 * 4096, 3072, true, 0);
}

/*
 * A guest's scatter-gather list: @n pieces at (page, offset, length) of an
 * arena of 4 KiB pages.  Pieces may start and end inside pages and
 * straddle them, as Linux builds them from direct I/O on 4-byte-aligned
 * buffers and from physically contiguous pages.
 */
struct piece {
	unsigned int page, off, len;
};

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static unsigned int layout(uint8_t *arena, const struct piece *p, unsigned int n, struct iovec *sg)
{
	unsigned int total = 0;

	for (unsigned int i = 0; i < n; i++) {
		sg[i].iov_base = arena + (size_t)p[i].page * 4096 + p[i].off;
		sg[i].iov_len = p[i].len;
		total += p[i].len;
	}
	return total;
}

/*
 * WRITE(10) from one layout, then the bytes on the LUN read back plainly,
 * then READ(10) into another layout: what reaches the LUN is the pieces in
 * order, byte for byte, and what comes back lands in the pieces and
 * nowhere else of the guest's pages.
 */
static void sg_round_trip(const struct piece *wp, unsigned int wn, const struct piece *rp,
                          unsigned int rn, bool want_indirect)
{
	enum { ARENA_PAGES = 160, LBA = 16 };
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	struct iovec wsg[128], rsg[128];
	uint8_t *warena = rh_alloc(ARENA_PAGES * 4096), *rarena = rh_alloc(ARENA_PAGES * 4096);
	uint8_t *expect = rh_alloc(ARENA_PAGES * 4096), *lun = rh_alloc(ARENA_PAGES * 4096);
	uint8_t *want = rh_alloc(ARENA_PAGES * 4096);
	unsigned int len = layout(warena, wp, wn, wsg), off = 0, grants = 0;
	struct vscsiif_request *req;

	CU_ASSERT_FATAL(len % 512 == 0 && len == layout(rarena, rp, rn, rsg));
	CU_ASSERT_FATAL(rh_init(&h, 5, 0, "mem:4M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(warena, ARENA_PAGES * 4096, 41);
	for (unsigned int i = 0; i < wn; i++) {
		memcpy(expect + off, wsg[i].iov_base, wsg[i].iov_len);
		off += (unsigned int)wsg[i].iov_len;
		grants += (unsigned int)((wp[i].off + wp[i].len + 4095) / 4096);
	}
	CU_ASSERT_FATAL(grants <= 128);

	rh_rw10(&c, true, LBA, (uint16_t)(len / 512), NULL, 0);
	c.sg = wsg;
	c.nsg = wn;
	CU_ASSERT_FATAL(fake_front_queue(&h.fe, &c) == 0);
	req = RING_GET_REQUEST(&h.fe.ring, h.fe.ring.req_prod_pvt - 1);
	CU_ASSERT_EQUAL(!!(req->nr_segments & VSCSIIF_SG_GRANT), want_indirect);
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_FATAL(fake_front_response(&h.fe, &rsp) == 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);

	/* On the LUN: the pieces, in order; the blocks around them untouched (zero). */
	rh_rw10(&c, false, 0, (uint16_t)(LBA + len / 512 + 8), lun, LBA * 512 + len + 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(memcmp(lun + LBA * 512, expect, len), 0);
	CU_ASSERT_TRUE(all_zero(lun, LBA * 512));
	CU_ASSERT_TRUE(all_zero(lun + LBA * 512 + len, 4096));

	/* Back into another layout: the pieces hold the data, the rest of the pages is as it was.
	 */
	fill(rarena, ARENA_PAGES * 4096, 43);
	memcpy(want, rarena, ARENA_PAGES * 4096);
	off = 0;
	for (unsigned int i = 0; i < rn; i++) {
		memcpy(want + (size_t)rp[i].page * 4096 + rp[i].off, expect + off, rp[i].len);
		off += rp[i].len;
	}
	rh_rw10(&c, false, LBA, (uint16_t)(len / 512), NULL, 0);
	c.sg = rsg;
	c.nsg = rn;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(rsp.residual_len, 0);
	CU_ASSERT_EQUAL(memcmp(rarena, want, ARENA_PAGES * 4096), 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(warena);
	free(rarena);
	free(expect);
	free(lun);
	free(want);
}

static void test_rw_subpage_direct(void)
{
	/* Pieces that start and end inside pages; two straddle a page boundary. */
	static const struct piece w[] = {
	    {0, 3584, 1024}, {3, 100, 412},    {5, 4092, 516},
	    {8, 0, 4096},    {10, 2048, 6144}, {14, 8, 96},
	};
	static const struct piece r[] = {
	    {1, 4, 508}, {2, 2560, 3072}, {4, 0, 1024}, {6, 3072, 2048}, {9, 1000, 5636},
	};

	sg_round_trip(w, 6, r, 5, false);
}

static void test_rw_subpage_indirect(void)
{
	struct piece w[64], r[40];
	unsigned int n = 0;

	/*
	 * The worst case for xen-scsifront's grant count: one 512-byte block
	 * per piece, each straddling two pages (2 grants per block).  64 of
	 * them are 128 grants, as many as the frontend takes: what
	 * pvsp_max_xfer_blocks(128) allows.
	 */
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(PVSD_RING_DEFAULT_SEGS), 64);
	for (unsigned int i = 0; i < 64; i++)
		w[i] = (struct piece){2 * i, 3840 + (i % 8) * 4, 512};
	/* Read back into pieces of mixed sizes and offsets, 40 of them, some straddling. */
	for (unsigned int i = 0; i < 39; i++) {
		r[i] = (struct piece){3 * i, (i * 612) % 4000, 768 + (i % 3) * 4};
		n += r[i].len;
	}
	r[39] = (struct piece){120, 1, 64 * 512 - n};
	sg_round_trip(w, 64, r, 40, true);
}

static void test_frontend_grant_limit(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct piece p[65];
	struct iovec sg[65];
	uint8_t *arena = rh_alloc(140 * 4096);

	CU_ASSERT_FATAL(rh_init(&h, 6, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	for (unsigned int i = 0; i < 65; i++)
		p[i] = (struct piece){2 * i, 3840, 512};
	layout(arena, p, 65, sg);
	/* One block more than the bound in the worst layout is more than the frontend maps. */
	rh_rw10(&c, true, 0, 65, NULL, 0);
	c.sg = sg;
	c.nsg = 65;
	CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), -E2BIG);
	c.nsg = 64;
	c.cdb[8] = 64;
	CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), 0);
	fake_front_push(&h.fe);
	rh_run(&h);
	rh_fini(&h);
	free(arena);
}

static void test_sixteen_in_flight(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[32];
	uint8_t *data = rh_alloc(16 * 8192), *rbuf[16];
	unsigned int seen = 0, n;

	CU_ASSERT_FATAL(rh_init(&h, 2, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(data, 16 * 8192, 99);
	rh_rw10(&c, true, 0, 256, data, 16 * 8192);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, 0);

	for (int i = 0; i < 16; i++) {
		rbuf[i] = rh_alloc(8192);
		rh_rw10(&c, false, (uint32_t)i * 16, 16, rbuf[i], 8192);
		CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), i);
	}
	/* The ring is full: the frontend cannot queue a 17th. */
	CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), -EBUSY);
	fake_front_push(&h.fe);
	CU_ASSERT_FALSE(pvsd_ring_handle_event(h.ring));
	/* File I/O completes through the worker: all 16 are in flight now. */
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 16);
	rh_run(&h);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 0);
	n = rh_collect(&h, rsp, 32);
	CU_ASSERT_EQUAL(n, 16);
	for (unsigned int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
		CU_ASSERT_EQUAL(rsp[i].residual_len, 0);
		if (rsp[i].rqid < 16)
			seen |= 1u << rsp[i].rqid;
	}
	CU_ASSERT_EQUAL(seen, 0xffff);
	for (int i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(memcmp(rbuf[i], data + i * 8192, 8192), 0);
		free(rbuf[i]);
	}
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(data);
}

static void test_no_connect(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	struct pvsd_ring_stats st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	rh_inquiry(&c, buf, 36, 36);
	c.id = 5;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT, 0));
	CU_ASSERT_EQUAL(rsp.sense_len, 0);
	c.id = 0;
	c.channel = 1;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT, 0));
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.no_connect, 2);

	/* A mapped target, an unmapped LUN: the target answers (qualifier 011b). */
	memset(buf, 0xee, 36);
	c.channel = 0;
	c.lun = 3;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(buf[0], 0x7f);
	rh_fini(&h);
	free(buf);
}

static void test_lun_removed_in_flight(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(65536);
	struct pvs_lun *removed = NULL;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	rh_rw10(&c, false, 0, 128, buf, 65536);
	CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), 0);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
	/* Hot remove while the read is in flight: xenbus keeps the LUN open until drained. */
	CU_ASSERT_EQUAL(pvs_map_remove(h.map, 0, 0, 0, &removed), 0);
	CU_ASSERT_PTR_EQUAL(removed, h.lun);
	CU_ASSERT_EQUAL(pvs_lun_inflight(removed), 1);
	rh_run(&h);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(pvs_lun_inflight(removed), 0);
	/* Next command to the address: nothing there any more. */
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT, 0));
	rh_fini(&h); /* closes h.lun */
	free(buf);
}

static void test_tmf(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	uint8_t *buf = rh_alloc(65536);
	int rq, ab;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, true) == 0);

	/*
	 * ABORT of an in-flight READ: the ABORT succeeds, and the READ's
	 * DID_ABORT follows (answers are held behind a TMF: test_tmf_holds).
	 */
	rh_rw10(&c, false, 0, 128, buf, 65536);
	rq = fake_front_queue(&h.fe, &c);
	CU_ASSERT_EQUAL(rq, 0);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	memset(&c, 0, sizeof(c));
	c.act = VSCSIIF_ACT_SCSI_ABORT;
	c.ref_rqid = (uint16_t)rq;
	c.cdb_len = 10;
	c.dir = PVSP_DIR_FROM_DEV;
	ab = fake_front_queue(&h.fe, &c);
	CU_ASSERT_EQUAL(ab, 1);
	fake_front_push(&h.fe);
	/* Taken before the worker reaps the READ (rh_run() reaps first). */
	pvsd_ring_handle_event(h.ring);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
	CU_ASSERT_EQUAL(rsp[0].rqid, ab);
	CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	CU_ASSERT_EQUAL(rsp[1].rqid, rq);
	CU_ASSERT_EQUAL(rsp[1].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_ABORT, 0));
	CU_ASSERT_EQUAL(rsp[1].residual_len, 65536);
	CU_ASSERT_TRUE(rh_log_has(&h, "ABORT ref_rqid 0"));

	/* ABORT of something not in flight: nothing to do, FUNCTION COMPLETE. */
	c.ref_rqid = 9;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);

	/* LUN RESET with a READ in flight: the READ ends DID_RESET. */
	rh_rw10(&c, false, 0, 128, buf, 65536);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	memset(&c, 0, sizeof(c));
	c.act = VSCSIIF_ACT_SCSI_RESET;
	ab = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
	CU_ASSERT_EQUAL(rsp[0].rqid, ab);
	CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	CU_ASSERT_EQUAL(rsp[1].rqid, rq);
	CU_ASSERT_EQUAL(rsp[1].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_RESET, 0));

	/* RESET of an unmapped device fails. */
	c.id = 4;
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(buf);
}

/*
 * xen-scsifront freezes when it takes a command's answer during its reset
 * (ring.c, answer()): after a TMF the command answers wait until the TMF's
 * own answer is out and then either a new command comes (the guest's
 * reset is over) or the grace period ends.
 */
static void test_tmf_holds_answers(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	uint8_t *buf = rh_alloc(65536);
	int rq, rs, tur, ms = -1;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	for (int round = 0; round < 2; round++) {
		rh_rw10(&c, false, 0, 128, buf, 65536);
		rq = fake_front_queue(&h.fe, &c);
		memset(&c, 0, sizeof(c));
		c.act = VSCSIIF_ACT_SCSI_RESET;
		rs = fake_front_queue(&h.fe, &c);
		fake_front_push(&h.fe);
		/* Until the RESET is answered: the READ ends DID_RESET, held. */
		for (int i = 0; i < 200 && !rh_collect(&h, rsp, 1); i++) {
			pvsd_ring_handle_event(h.ring);
			pvs_worker_wait(h.w, 10);
			pvsd_ring_flush(h.ring);
		}
		CU_ASSERT_EQUAL(rsp[0].rqid, rs);
		CU_ASSERT_EQUAL(rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
		CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
		ms = pvsd_ring_timeout_ms(h.ring);
		CU_ASSERT_TRUE(ms > 0 && ms <= 250);
		pvsd_ring_flush(h.ring);
		CU_ASSERT_EQUAL(rh_collect(&h, rsp, 4), 0);
		if (round == 0) {
			/* A command after the RESET's answer releases the held one first. */
			rh_tur(&c);
			tur = fake_front_queue(&h.fe, &c);
			fake_front_push(&h.fe);
			rh_run(&h);
			CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
			CU_ASSERT_EQUAL(rsp[0].rqid, rq);
			CU_ASSERT_EQUAL(rsp[0].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_RESET, 0));
			CU_ASSERT_EQUAL(rsp[1].rqid, tur);
		} else {
			/* Nothing new from the guest: the grace period ends it. */
			struct timespec ts = {0, (long)ms * 1000000L};

			nanosleep(&ts, NULL);
			pvsd_ring_flush(h.ring);
			CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 1);
			CU_ASSERT_EQUAL(rsp[0].rqid, rq);
			CU_ASSERT_EQUAL(rsp[0].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_RESET, 0));
		}
		CU_ASSERT_EQUAL(pvsd_ring_timeout_ms(h.ring), -1);
		CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 0);
	}
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(buf);
}

static void notify_once(const char *spec)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[16];
	uint8_t *buf[16];
	struct pvsd_ring_stats st0, st;
	uint64_t n0;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, spec, PVSD_RING_DEFAULT_SEGS, false) == 0);
	pvsd_ring_get_stats(h.ring, &st0);
	n0 = fake_front_notifications(&h.fe);
	h.fe.kicks = 0;
	for (int i = 0; i < 16; i++) {
		buf[i] = rh_alloc(4096);
		rh_rw10(&c, false, (uint32_t)i, 1, buf[i], 512);
		CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), i);
	}
	/* One kick for the batch, as the frontend's req_event asks. */
	CU_ASSERT_TRUE(fake_front_push(&h.fe));
	CU_ASSERT_EQUAL(h.fe.kicks, 1);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 16);
	CU_ASSERT_EQUAL(fake_front_notifications(&h.fe), n0 + 1);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.notifies - st0.notifies, 1);
	CU_ASSERT_EQUAL(st.responses - st0.responses, 16);
	/* The crossings behind the batch, as make bench counts them. */
	CU_ASSERT_EQUAL(st.wakeups - st0.wakeups, 1);
	CU_ASSERT_EQUAL(st.events - st0.events, 1);
	/* The data-in of all 16 completions in one grant copy call. */
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 1);
	CU_ASSERT_EQUAL(st.copy_ops - st0.copy_ops, 16);
	CU_ASSERT_EQUAL(st.copy_bytes - st0.copy_bytes, 16 * 512);

	/* The frontend re-armed rsp_event: the next batch notifies once more. */
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, false, (uint32_t)i, 1, buf[i], 512);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 4);
	CU_ASSERT_EQUAL(fake_front_notifications(&h.fe), n0 + 2);

	/*
	 * A frontend that has not consumed the last batch did not re-arm
	 * rsp_event: the next batch is pushed without a notification.
	 */
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, false, (uint32_t)i, 1, buf[i], 512);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL(fake_front_notifications(&h.fe), n0 + 3);
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, false, (uint32_t)i, 1, buf[i], 512);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL(fake_front_notifications(&h.fe), n0 + 3);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 8);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.notifies - st0.notifies, 3);
	for (int i = 0; i < 16; i++)
		free(buf[i]);
	rh_fini(&h);
}

static void test_notify_once_per_batch(void)
{
	notify_once("mem:1M");
	notify_once("file:1048576");
}

/*
 * A grant copy element of a WRITE's data-out fails: that WRITE only fails.
 * Bounced (a file: LUN), nothing of it reaches the LUN: the command never
 * runs.  Into a lent medium (@lent, a mem: LUN: pvs_map_lends_out), the
 * elements that went through are written, as a WRITE that fails partway
 * leaves its blocks (SBC-4: indeterminate): the failed element's blocks
 * keep the old data, and nothing outside the WRITE's range changes.
 */
static void grant_error_one_request(const char *spec, bool lent)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	uint8_t *old = rh_alloc(4 * 4096), *bad = rh_alloc(3 * 4096), *rb = rh_alloc(4 * 4096);
	struct pvsd_ring_stats st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, spec, PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(old, 4 * 4096, 1);
	fill(bad, 3 * 4096, 2);
	rh_rw10(&c, true, 100, 32, old, 4 * 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, 0);

	/* Element 1 of the next WRITE's data-out copy fails: that WRITE only. */
	rh_rw10(&c, true, 100, 24, bad, 3 * 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, true, 200, 24, bad, 3 * 4096);
	fake_front_queue(&h.fe, &c);
	fake_gnt_fail_nth(h.gnt, 1, GNTST_bad_gntref);
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 4), 2);
	CU_ASSERT_EQUAL(rsp[0].rqid, 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_ERROR, 0));
	CU_ASSERT_EQUAL(rsp[1].rqid, 1);
	CU_ASSERT_EQUAL(rsp[1].rslt, 0);
	rh_rw10(&c, false, 100, 32, rb, 4 * 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	if (lent) {
		CU_ASSERT_EQUAL(memcmp(rb, bad, 4096), 0);
		CU_ASSERT_EQUAL(memcmp(rb + 4096, old + 4096, 4096), 0);
		CU_ASSERT_EQUAL(memcmp(rb + 2 * 4096, bad + 2 * 4096, 4096), 0);
	} else {
		/* Nothing of the failed WRITE reached the LUN. */
		CU_ASSERT_EQUAL(memcmp(rb, old, 3 * 4096), 0);
	}
	/* Beyond its range, in either case. */
	CU_ASSERT_EQUAL(memcmp(rb + 3 * 4096, old + 3 * 4096, 4096), 0);
	rh_rw10(&c, false, 200, 24, rb, 3 * 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(memcmp(rb, bad, 3 * 4096), 0);

	/* Data-in copy failure: DID_ERROR, nothing transferred. */
	fake_gnt_fail_nth(h.gnt, 2, GNTST_bad_copy_arg);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_ERROR, 0));
	CU_ASSERT_EQUAL(rsp[0].residual_len, 3 * 4096);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.rejected, 2);
	CU_ASSERT_TRUE(rh_log_has(&h, "element 1 of 3: status -3"));
	CU_ASSERT_TRUE(rh_log_has(&h, "grant copy (data-out) element 1 of 3"));
	rh_fini(&h);
	free(old);
	free(bad);
	free(rb);
}

static void test_grant_error_one_request(void)
{
	grant_error_one_request("file:1048576", false);
	grant_error_one_request("mem:1M", true);
}

/*
 * One grant copy call per kick for all the data-out of the requests taken,
 * and one per flush for all the data-in of the commands completed: in a
 * PV dom0 each call is a trip through Xen.
 */
static void test_copies_batched(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[16];
	struct fake_gnt_stats g0, g1;
	uint8_t *data = rh_alloc(16 * 8192), *rb = rh_alloc(16 * 8192);

	CU_ASSERT_FATAL(rh_init(&h, 7, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(data, 16 * 8192, 5);
	for (int i = 0; i < 16; i++) {
		rh_rw10(&c, true, (uint32_t)i * 16, 16, data + i * 8192, 8192);
		CU_ASSERT_EQUAL(fake_front_queue(&h.fe, &c), i);
	}
	fake_front_push(&h.fe);
	fake_gnt_get_stats(h.gnt, &g0);
	pvsd_ring_handle_event(h.ring);
	fake_gnt_get_stats(h.gnt, &g1);
	CU_ASSERT_EQUAL(g1.copy_calls - g0.copy_calls, 1);
	CU_ASSERT_EQUAL(g1.copy_elems - g0.copy_elems, 16 * 2);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 16);
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);

	for (int i = 0; i < 16; i++) {
		rh_rw10(&c, false, (uint32_t)i * 16, 16, rb + i * 8192, 8192);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	fake_gnt_get_stats(h.gnt, &g0);
	pvsd_ring_handle_event(h.ring);
	fake_gnt_get_stats(h.gnt, &g1);
	CU_ASSERT_EQUAL(g1.copy_calls - g0.copy_calls, 1);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 16), 16);
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	CU_ASSERT_EQUAL(memcmp(rb, data, 16 * 8192), 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(data);
	free(rb);
}

/*
 * Completions reaped before the ring's next event (the daemon runs the
 * worker first) have their data-in copied in the same grant copy call as
 * the new requests' data-out: one call, not two.
 */
static void test_one_copy_both_ways(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[8];
	struct pvsd_ring_stats st0, st;
	uint8_t *w = rh_alloc(4 * 4096), *rb = rh_alloc(4 * 4096);
	int reaped = 0;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(w, 4 * 4096, 9);
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, true, (uint32_t)i * 8, 8, w + i * 4096, 4096);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(rh_collect(&h, rsp, 8), 4);

	/* Four reads go to the io_uring; their data-in waits for the next copy. */
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, false, (uint32_t)i * 8, 8, rb + i * 4096, 4096);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	pvsd_ring_get_stats(h.ring, &st0);
	pvsd_ring_handle_event(h.ring);
	/* The four reads, and the worker's read of the push's kick. */
	for (int i = 0; i < 200 && reaped < 5; i++)
		reaped += pvs_worker_wait(h.w, 50);
	CU_ASSERT_EQUAL_FATAL(reaped, 5);
	CU_ASSERT_TRUE(pvsd_ring_kicked(h.ring));
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 0); /* reads carry no data-out */

	/* Four writes come: one call carries the reads' data-in and their data-out. */
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, true, 64 + (uint32_t)i * 8, 8, w + i * 4096, 4096);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 1);
	CU_ASSERT_EQUAL(st.copy_ops - st0.copy_ops, 8);
	CU_ASSERT_EQUAL(st.copy_bytes - st0.copy_bytes, 8 * 4096);
	/* The reads were answered in that pass, with their data. */
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	CU_ASSERT_EQUAL(memcmp(rb, w, 4 * 4096), 0);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(w);
	free(rb);
}

/*
 * A READ of a mem: LUN answers with the medium lent, copied at the end of
 * the batch: a WRITE of the same blocks later in the same batch must not
 * reach the READ's answer (the data-in goes out before the WRITE runs).
 */
static void test_lent_read_then_write(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[4];
	struct pvsd_ring_stats st0, st;
	uint8_t *old = rh_alloc(4096), *new = rh_alloc(4096), *rb = rh_alloc(4096),
	        *rb2 = rh_alloc(4096);

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(old, 4096, 3);
	fill(new, 4096, 4);
	rh_rw10(&c, true, 8, 8, old, 4096);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
	CU_ASSERT_EQUAL(rsp[0].rslt, 0);

	rh_rw10(&c, false, 8, 8, rb, 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, true, 8, 8, new, 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, false, 8, 8, rb2, 4096);
	fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_get_stats(h.ring, &st0);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 4), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	CU_ASSERT_EQUAL(memcmp(rb, old, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(rb2, new, 4096), 0);
	/* The first READ's data went out before the WRITE ran: one call more. */
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 3);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(old);
	free(new);
	free(rb);
	free(rb2);
}

/*
 * A mem: LUN's WRITE runs before its data-out is fetched and takes it
 * straight into the medium (pvs_map_lends_out): a batch of WRITEs costs one
 * copy call, one copy per WRITE; in a batch that mixes them with READs of
 * the same blocks, each command still sees what the ones before it wrote.
 */
static void test_lent_write(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[8];
	struct pvsd_ring_stats st0, st;
	uint8_t *a = rh_alloc(4096), *b = rh_alloc(4096), *cc = rh_alloc(4096),
	        *w = rh_alloc(4 * 4096), *rb = rh_alloc(4 * 4096), *rb2 = rh_alloc(8192);

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	fill(a, 4096, 5);
	fill(b, 4096, 6);
	fill(cc, 4096, 7);
	fill(w, 4 * 4096, 8);
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0); /* the power-on UA */

	/* Four WRITEs: one call, each page copied once, into the medium. */
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, true, 64 + (uint32_t)i * 16, 8, w + i * 4096, 4096);
		fake_front_queue(&h.fe, &c);
	}
	fake_front_push(&h.fe);
	pvsd_ring_get_stats(h.ring, &st0);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 1);
	CU_ASSERT_EQUAL(st.copy_ops - st0.copy_ops, 4);
	CU_ASSERT_EQUAL(st.copy_bytes - st0.copy_bytes, 4 * 4096);
	CU_ASSERT_EQUAL(st.lent_out - st0.lent_out, 4);
	CU_ASSERT_EQUAL(st.lent_in - st0.lent_in, 0);
	for (int i = 0; i < 4; i++) {
		rh_rw10(&c, false, 64 + (uint32_t)i * 16, 8, rb + i * 4096, 4096);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp[0]) == 0);
		CU_ASSERT_EQUAL(rsp[0].rslt, 0);
	}
	CU_ASSERT_EQUAL(memcmp(rb, w, 4 * 4096), 0);

	/* WRITE a, WRITE b, READ, WRITE c, READ, all of block 8. */
	rh_rw10(&c, true, 8, 8, a, 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, true, 8, 8, b, 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, false, 8, 8, rb, 4096);
	fake_front_queue(&h.fe, &c);
	rh_rw10(&c, true, 8, 8, cc, 4096);
	fake_front_queue(&h.fe, &c);
	/* Longer than the transfer: read into its buffer at once, nothing lent. */
	rh_rw10(&c, false, 8, 8, rb2, 8192);
	fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_get_stats(h.ring, &st0);
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(rsp[i].rslt, 0);
	CU_ASSERT_EQUAL(memcmp(rb, b, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(rb2, cc, 4096), 0);
	/*
	 * The two WRITEs' data with the first call; the READ's data-in
	 * before the third WRITE runs, whose data-out before the second READ
	 * runs, whose data-in at the end of the pass.
	 */
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.copy_calls - st0.copy_calls, 4);
	CU_ASSERT_EQUAL(st.lent_out - st0.lent_out, 3);
	CU_ASSERT_EQUAL(st.lent_in - st0.lent_in, 1); /* the second READ's buffer is longer */
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(a);
	free(b);
	free(cc);
	free(w);
	free(rb);
	free(rb2);
}

/*
 * Adaptive polling: the ring stays unarmed while the daemon polls, so the
 * frontend queues without notifying; pvsd_ring_arm() re-arms it before the
 * daemon sleeps and says whether requests came in the window.
 */
static void test_polling_unarmed(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp[8];
	struct pvsd_ring_stats st0, st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	pvsd_ring_set_polling(h.ring, true);
	pvsd_ring_get_stats(h.ring, &st0);
	CU_ASSERT_FALSE(pvsd_ring_has_requests(h.ring));
	rh_tur(&c);
	fake_front_queue(&h.fe, &c);
	fake_front_queue(&h.fe, &c);
	CU_ASSERT_TRUE(fake_front_push(&h.fe)); /* armed at connect */
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 2);

	/* Not re-armed by the pass: the next requests cost the guest no notify. */
	fake_front_queue(&h.fe, &c);
	fake_front_queue(&h.fe, &c);
	CU_ASSERT_FALSE(fake_front_push(&h.fe));
	CU_ASSERT_TRUE(pvsd_ring_has_requests(h.ring));
	CU_ASSERT_FALSE(pvsd_ring_poll(h.ring));
	CU_ASSERT_FALSE(pvsd_ring_has_requests(h.ring));
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 2);
	CU_ASSERT_EQUAL(rsp[0].rslt, 0);

	/* Armed before sleeping: nothing came, and the next request notifies. */
	CU_ASSERT_FALSE(pvsd_ring_arm(h.ring));
	fake_front_queue(&h.fe, &c);
	CU_ASSERT_TRUE(fake_front_push(&h.fe));
	/* A request that came before the arm is reported, not slept on. */
	CU_ASSERT_TRUE(pvsd_ring_arm(h.ring));
	CU_ASSERT_FALSE(pvsd_ring_poll(h.ring));
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 1);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.polled - st0.polled, 2);
	CU_ASSERT_EQUAL(st.wakeups - st0.wakeups, 1);

	/* Polling off again: every pass re-arms. */
	pvsd_ring_set_polling(h.ring, false);
	fake_front_queue(&h.fe, &c);
	CU_ASSERT_FALSE(fake_front_push(&h.fe)); /* the arm above was for this index */
	pvsd_ring_handle_event(h.ring);
	fake_front_queue(&h.fe, &c);
	CU_ASSERT_TRUE(fake_front_push(&h.fe));
	rh_run(&h);
	CU_ASSERT_EQUAL(rh_collect(&h, rsp, 8), 2);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
}

static void test_response_slot_zeroed(void)
{
	struct rh h;
	struct vscsiif_request *r;
	struct vscsiif_response rsp;
	struct vscsiif_response *slot;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	r = fake_front_raw(&h.fe);
	memset(r, 0xaa, sizeof(*r));
	r->rqid = 3;
	r->act = VSCSIIF_ACT_SCSI_CDB;
	r->cmd_len = 6;
	memset(r->cmnd, 0, sizeof(r->cmnd));
	r->channel = r->id = r->lun = 0;
	r->sc_data_direction = PVSP_DIR_NONE;
	r->nr_segments = 0;
	slot = (struct vscsiif_response *)r;
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, 3);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	/* The shared slot itself: every byte but rqid is zero (TEST UNIT READY: GOOD). */
	{
		const uint8_t *b = (const uint8_t *)slot;

		CU_ASSERT_EQUAL(b[0], 3);
		for (size_t i = 1; i < sizeof(*slot); i++)
			CU_ASSERT_EQUAL(b[i], 0);
	}
	rh_fini(&h);
}

static void test_sense(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	uint8_t key, asc, ascq;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/* Past the end of a 1 MiB LUN: LOGICAL BLOCK ADDRESS OUT OF RANGE. */
	rh_rw10(&c, false, 4096, 1, buf, 512);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, RSLT(0, 0x02));
	CU_ASSERT_TRUE(rsp.sense_len > 0 && rsp.sense_len <= VSCSIIF_SENSE_BUFFERSIZE);
	CU_ASSERT_EQUAL(rsp.sense_len, 18);
	CU_ASSERT_EQUAL(pvs_sense_decode(rsp.sense_buffer, rsp.sense_len, &key, &asc, &ascq), 0);
	CU_ASSERT_EQUAL(key, PVS_KEY_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(asc, 0x21);
	CU_ASSERT_EQUAL(ascq, 0x00);
	CU_ASSERT_EQUAL(rsp.residual_len, 512);
	for (unsigned int i = rsp.sense_len; i < VSCSIIF_SENSE_BUFFERSIZE; i++)
		CU_ASSERT_EQUAL(rsp.sense_buffer[i], 0);
	rh_fini(&h);
	free(buf);
}

static void test_stop(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(8192);
	struct pvsd_ring_stats st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "file:1048576", PVSD_RING_DEFAULT_SEGS, false) == 0);
	rh_rw10(&c, false, 0, 16, buf, 8192);
	fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	pvsd_ring_handle_event(h.ring);
	CU_ASSERT_EQUAL(pvsd_ring_inflight(h.ring), 1);
	pvsd_ring_stop(h.ring);
	rh_tur(&c);
	fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	rh_run(&h);
	/* The in-flight READ is answered; the TEST UNIT READY is never taken. */
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.requests, 2); /* the harness's TEST UNIT READY, the READ */
	CU_ASSERT_FALSE(pvsd_ring_broken(h.ring));
	rh_fini(&h);
	free(buf);
}

static void test_connect_errors(void)
{
	struct rh h;
	struct fake_gnt_stats gs;
	struct pvsd_ring *r2 = NULL;
	struct pvsd_ring_cfg cfg;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	cfg = h.cfg;
	cfg.max_segs = 25;
	CU_ASSERT_EQUAL(pvsd_ring_connect(&cfg, h.fe.ring_ref, h.fe.port, &r2), -EINVAL);
	cfg.max_segs = PVSD_RING_MAX_SEGS + 1;
	CU_ASSERT_EQUAL(pvsd_ring_connect(&cfg, h.fe.ring_ref, h.fe.port, &r2), -EINVAL);
	cfg.max_segs = 0;
	/* Unknown ring-ref: nothing mapped, nothing bound. */
	CU_ASSERT_EQUAL(pvsd_ring_connect(&cfg, 4000, h.fe.port, &r2), -EINVAL);
	/* The port is bound already (by h.ring): the map is undone. */
	CU_ASSERT_EQUAL(pvsd_ring_connect(&cfg, h.fe.ring_ref, h.fe.port, &r2), -EINVAL);
	fake_gnt_get_stats(h.gnt, &gs);
	CU_ASSERT_EQUAL(gs.mapped, 1);
	CU_ASSERT_PTR_NULL(r2);
	rh_fini(&h);
}

static void test_reconnect_adopt(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	struct vscsiif_request *r;
	struct pvsd_ring_stats st;
	uint8_t *buf = rh_alloc(4096);
	int rq;

	CU_ASSERT_FATAL(rh_init(&h, 4, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	for (int i = 0; i < 5; i++) {
		rh_tur(&c);
		CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	}
	/* The daemon goes away (clean stop): nothing in flight, ring released. */
	CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), 0);
	h.ring = NULL;
	/*
	 * Meanwhile the guest queues; the first slot past rsp_prod looks like
	 * a response a crashed daemon wrote but never published (all zero).
	 */
	r = fake_front_raw(&h.fe);
	r->rqid = 9;
	rh_inquiry(&c, buf, 96, 96);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);

	h.cfg.adopt = true;
	CU_ASSERT_FATAL(pvsd_ring_connect(&h.cfg, h.fe.ring_ref, h.fe.port, &h.ring) == 0);
	rh_run(&h);
	/* Attached at the shared rsp_prod: the old slots are not taken again. */
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, rq);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(buf[0], 0x00);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.requests, 2);
	CU_ASSERT_EQUAL(st.dropped, 1);
	CU_ASSERT_EQUAL(st.rejected, 0);
	CU_ASSERT_TRUE(rh_log_has(&h, "adopted ring: index 6 fails validation (act): dropped"));
	/* Past the adoption window, an invalid request is answered as usual. */
	r = fake_front_raw(&h.fe);
	r->rqid = 10;
	fake_front_push(&h.fe);
	rh_run(&h);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, 10);
	CU_ASSERT_EQUAL(rsp.rslt, RSLT(XEN_VSCSIIF_RSLT_HOST_ERROR, 0));
	h.fe.errors = 0;
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
	free(buf);
}

/*
 * kill -9 at any point.  A child process serves the ring (its own worker
 * and LUN on a shared file, the fake frontend's ring page is shared) and is
 * killed after a varying delay; the parent then adopts the ring with the
 * child's journal, as a restarted pvscsid does.  Every request the guest
 * queued must be answered exactly once (fake_front counts a response for an
 * rqid not in flight as an error: xen-scsifront disables the host for it),
 * and every write answered GOOD must read back.  The mix of emulated
 * commands (answered at once) and file writes (answered by the worker) makes
 * completions out of order, so responses land on slots of requests still in
 * flight.
 */
#define CR_ITER 64
#define CR_REQS 16

static unsigned int cr_copies, cr_kill_at;

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Grant copy hook in the child: die right after the Nth copy call. */
static void cr_hook(void *arg)
{
	(void)arg;
	if (++cr_copies == cr_kill_at)
		raise(SIGKILL);
}

static void crash_child(struct rh *h, const char *path, unsigned int kill_at)
{
	struct pvs_worker *w = NULL;
	struct pvs_map *map = NULL;
	struct pvs_lun *lun = NULL;
	struct pvsd_ring *ring = NULL;
	struct pvsd_ring_cfg cfg = h->cfg;
	char spec[128], err[256];

	snprintf(spec, sizeof(spec), "file:%s", path);
	if (pvs_worker_new(64, &w) || pvs_map_new(&map) ||
	    pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err)) || pvs_map_add(map, 0, 0, 0, lun))
		_exit(2);
	cfg.worker = w;
	cfg.map = map;
	cfg.adopt = false;
	cfg.log = NULL;
	cr_copies = 0;
	cr_kill_at = kill_at;
	if (kill_at)
		fake_gnt_set_copy_hook(h->gnt, cr_hook, NULL);
	if (pvsd_ring_connect(&cfg, h->fe.ring_ref, h->fe.port, &ring))
		_exit(3);
	/* Serve until killed; a child that is never killed must not outlive the test. */
	for (int i = 0; i < 20000; i++) {
		pvsd_ring_handle_event(ring);
		pvs_worker_wait(w, 1);
		pvsd_ring_flush(ring);
	}
	_exit(4);
}

static void test_kill9_adopt(void)
{
	struct rh h;
	uint8_t *data[CR_REQS], *rbuf = rh_alloc(16384), *ibuf = rh_alloc(4096);
	uint64_t replayed = 0, split = 0;
	struct timespec ts;

	CU_ASSERT_FATAL(rh_init(&h, 5, 0, "file:4194304", PVSD_RING_DEFAULT_SEGS, false) == 0);
	/* The parent's own ring and LUN come and go per iteration. */
	CU_ASSERT_EQUAL_FATAL(pvsd_ring_disconnect(h.ring), 0);
	h.ring = NULL;
	fake_front_fini(&h.fe);
	for (int i = 0; i < CR_REQS; i++)
		data[i] = rh_alloc(16384);

	for (unsigned int it = 0; it < CR_ITER; it++) {
		struct fake_front_cmd c;
		struct vscsiif_response rsp;
		struct pvsd_ring_stats st;
		bool is_write[CR_REQS] = {0}, good[CR_REQS] = {0};
		unsigned int answers[CR_REQS] = {0}, before;
		uint64_t notified;
		uint32_t lba[CR_REQS];
		int status;
		pid_t pid;

		CU_ASSERT_FATAL(fake_front_init(&h.fe, h.gnt, h.evt, 5) == 0);
		for (int i = 0; i < CR_REQS; i++) {
			int rq;

			/* Writes, with an emulated command every third request. */
			if (i % 3 == 1) {
				if (i % 2)
					rh_tur(&c);
				else
					rh_inquiry(&c, ibuf, 96, 96);
			} else {
				lba[i] = (it * CR_REQS + (unsigned int)i) * 32 % 8192;
				fill(data[i], 16384, it * 100 + (unsigned int)i);
				rh_rw10(&c, true, lba[i], 32, data[i], 16384);
			}
			rq = fake_front_queue(&h.fe, &c);
			CU_ASSERT_FATAL(rq >= 0 && rq < CR_REQS);
			is_write[rq] = i % 3 != 1;
			if (rq != i) /* rqids are handed out lowest first */
				CU_FAIL("unexpected rqid");
		}
		fake_front_push(&h.fe);

		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		/*
		 * Even iterations: the child kills itself after grant copy call
		 * 1..16 (between consuming a write and answering it, between
		 * answers), or is killed after 0 to ~4 ms.  Odd ones: killed as
		 * soon as it has published 1..15 responses, whatever the
		 * machine's speed, so that some kills fall between answers.
		 */
		if (pid == 0)
			crash_child(&h, h.path, it % 2 ? 0 : (it / 2) % 16 + 1);
		if (it % 2) {
			RING_IDX want = it / 2 % (CR_REQS - 1) + 1;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			while (__atomic_load_n(&h.fe.ring.sring->rsp_prod, __ATOMIC_ACQUIRE) <
			           want &&
			       ms_since(&ts) < 2000)
				sched_yield();
		} else {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(it / 2 % 16) * 250000 + (long)(it / 32) * 37000;
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		CU_ASSERT_TRUE(WIFSIGNALED(status));

		/*
		 * What the dead daemon published.  Half the time the frontend
		 * took it already; otherwise it is still waiting for an event,
		 * which the dead daemon may have died before sending.
		 */
		before = __atomic_load_n(&h.fe.ring.sring->rsp_prod, __ATOMIC_ACQUIRE);
		if (it % 4 < 2) {
			while (fake_front_response(&h.fe, &rsp) == 1) {
				CU_ASSERT_FATAL(rsp.rqid < CR_REQS);
				answers[rsp.rqid]++;
				good[rsp.rqid] = rsp.rslt == 0;
			}
		}

		/* The restarted daemon adopts. */
		notified = fake_front_notifications(&h.fe);
		h.cfg.adopt = true;
		CU_ASSERT_FATAL(pvsd_ring_connect(&h.cfg, h.fe.ring_ref, h.fe.port, &h.ring) == 0);
		h.cfg.adopt = false;
		rh_run(&h);
		/* A frontend with responses to take must have been woken, or it waits forever. */
		if (h.fe.ring.rsp_cons != h.fe.ring.sring->rsp_prod)
			CU_ASSERT_TRUE(fake_front_notifications(&h.fe) > notified);
		while (fake_front_response(&h.fe, &rsp) == 1) {
			CU_ASSERT_FATAL(rsp.rqid < CR_REQS);
			answers[rsp.rqid]++;
			/* A new LUN instance: the first command may meet the POWER ON UA. */
			good[rsp.rqid] = rsp.rslt == 0;
		}
		pvsd_ring_get_stats(h.ring, &st);
		replayed += st.replayed;
		if (before && before < CR_REQS)
			split++;
		for (int i = 0; i < CR_REQS; i++)
			if (answers[i] != 1) {
				fprintf(stderr, "iteration %u: rqid %d answered %u times\n", it, i,
				        answers[i]);
				CU_FAIL("not answered exactly once");
			}
		CU_ASSERT_EQUAL(h.fe.errors, 0);
		CU_ASSERT_EQUAL(fake_front_inflight(&h.fe), 0);

		/* Every write the guest saw succeed is on the disk. */
		for (int i = 0; i < CR_REQS; i++) {
			if (!is_write[i] || !good[i])
				continue;
			memset(rbuf, 0, 16384);
			rh_rw10(&c, false, lba[i], 32, rbuf, 16384);
			do {
				CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
			} while (rsp.rslt == 0x02 && (rsp.sense_buffer[2] & 0xf) == 0x6);
			CU_ASSERT_EQUAL(rsp.rslt, 0);
			CU_ASSERT_EQUAL(memcmp(rbuf, data[i], 16384), 0);
		}
		CU_ASSERT_EQUAL(pvsd_ring_disconnect(h.ring), 0);
		h.ring = NULL;
		fake_front_fini(&h.fe);
	}
	/* Not vacuous: some kills fell between consumption and answer. */
	fprintf(stderr, "kill -9: %llu of %u kills split the answers, %llu requests replayed\n",
	        (unsigned long long)split, CR_ITER, (unsigned long long)replayed);
	CU_ASSERT_TRUE(split > 0);
	CU_ASSERT_TRUE(replayed > 0);
	for (int i = 0; i < CR_REQS; i++)
		free(data[i]);
	free(rbuf);
	free(ibuf);
	rh_fini(&h);
}

/*
 * The journal states a daemon killed between two of its stores leaves,
 * forged in the file, then adopted.  The daemon dies with the file as it
 * is: pvsd_ring_disconnect() would remove it, so its content is put back.
 */
static struct journal *journal_map(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	*len = (size_t)st.st_size;
	return p == MAP_FAILED ? NULL : p;
}

static void die_and_adopt(struct rh *h, const char *path, struct journal *j, size_t len)
{
	void *saved = malloc(len);
	FILE *f;

	memcpy(saved, j, len);
	munmap(j, len);
	CU_ASSERT_EQUAL_FATAL(pvsd_ring_disconnect(h->ring), 0);
	h->ring = NULL;
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(saved, 1, len, f), len);
	fclose(f);
	free(saved);
	h->nlog = 0;
	h->cfg.adopt = true;
	CU_ASSERT_FATAL(pvsd_ring_connect(&h->cfg, h->fe.ring_ref, h->fe.port, &h->ring) == 0);
	h->cfg.adopt = false;
	rh_run(h);
}

/* Journal entry @slot as a daemon leaves it for the frontend's last queued request. */
static void forge(struct rh *h, struct journal *j, unsigned int slot, uint32_t state, uint64_t seq,
                  RING_IDX rsp_idx)
{
	struct jentry *e = &j->e[slot];

	e->req = *RING_GET_REQUEST(&h->fe.ring, h->fe.ring.req_prod_pvt - 1);
	e->req_idx = (RING_IDX)seq;
	e->seq = seq;
	e->rsp_idx = rsp_idx;
	e->state = state;
}

static void test_journal_crash_windows(void)
{
	struct rh h;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	struct pvsd_ring_stats st;
	struct journal *j;
	char path[256];
	size_t len;
	int rq;

	CU_ASSERT_FATAL(rh_init(&h, 6, 0, "mem:1M", PVSD_RING_DEFAULT_SEGS, false) == 0);
	snprintf(path, sizeof(path), "%s/dom6-vhost0.journal", rh_state_dir());

	/* 1. Killed after journaling a request, before counting it consumed. */
	rh_tur(&c);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	j = journal_map(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	forge(&h, j, 0, JE_INFLIGHT, j->cons, 0);
	die_and_adopt(&h, path, j, len);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, rq);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.replayed, 0);
	CU_ASSERT_EQUAL(st.requests, 1);
	/* The journal was taken, not the ring-only fallback. */
	CU_ASSERT_FALSE(rh_log_has(&h, "adopting from the ring alone"));

	/*
	 * 2. Killed after publishing a response, before freeing its entry:
	 * answered once already, so not again.
	 */
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	j = journal_map(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	forge(&h, j, 1, JE_ANSWERED, j->cons - 1, h.fe.ring.sring->rsp_prod - 1);
	die_and_adopt(&h, path, j, len);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.replayed, 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);

	/* 3. The same, response written but not published: it runs again. */
	rh_tur(&c);
	rq = fake_front_queue(&h.fe, &c);
	fake_front_push(&h.fe);
	j = journal_map(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	forge(&h, j, 2, JE_ANSWERED, j->cons, h.fe.ring.sring->rsp_prod);
	j->cons++;
	die_and_adopt(&h, path, j, len);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&h.fe, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, rq);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.replayed, 1);
	CU_ASSERT_EQUAL(h.fe.errors, 0);

	/* 4. A journal of another ring is not trusted. */
	j = journal_map(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	j->ring_ref ^= 1;
	die_and_adopt(&h, path, j, len);
	CU_ASSERT_TRUE(rh_log_has(&h, "of another ring: adopting from the ring alone"));
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);

	/*
	 * 5. Nor one with more entries to run again than requests consumed
	 * and unanswered (adopt_fuzz, a corrupted journal): every request was
	 * answered, yet an entry says the last one is in flight.  Run again,
	 * it would be answered twice, and its response would go into the
	 * slot of the next request, which the ring would then never take
	 * (its consumer count behind its response count: a busy loop).
	 */
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	j = journal_map(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(j->cons, h.fe.ring.sring->rsp_prod);
	forge(&h, j, 3, JE_INFLIGHT, j->cons - 1, 0);
	die_and_adopt(&h, path, j, len);
	CU_ASSERT_TRUE(rh_log_has(&h, "more entries to run again than requests unanswered"));
	CU_ASSERT_EQUAL(fake_front_response(&h.fe, &rsp), 0);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.replayed, 0);
	rh_tur(&c);
	CU_ASSERT_FATAL(rh_cmd(&h, &c, &rsp) == 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(h.fe.errors, 0);
	rh_fini(&h);
}

/*
 * The real libxengnttab/libxenevtchn ops outside a Xen domain fail with an
 * error, and connect undoes everything (the daemon logs and carries on).
 */
static void test_real_ops_without_xen(void)
{
	struct pvx_gnt_real *g = NULL;
	void *chan = NULL;
	int rc;

	if (access("/dev/xen/gntdev", F_OK) == 0 || access("/dev/xen/evtchn", F_OK) == 0)
		return; /* running in a Xen domain: tests/e2e covers the real thing */
	rc = pvx_gnt_real_open(&g);
	CU_ASSERT_TRUE(rc < 0);
	CU_ASSERT_PTR_NULL(g);
	rc = pvx_evt_real_ops.bind(NULL, 1, 5, &chan);
	CU_ASSERT_TRUE(rc < 0);
	CU_ASSERT_PTR_NULL(chan);
	pvx_gnt_real_close(NULL);
}

/*
 * The event channel is read through the ring's worker: a kick is seen in a
 * worker round, not by polling an fd, and is taken once; the read is posted
 * again by the event's pass, so the next kick is seen too.  With
 * PVSD_EVTCHN_URING=0 the fd is polled as before, and nothing is posted.
 */
static void test_evtchn_through_worker(void)
{
	struct rh h;
	struct pvsd_ring_stats st0, st;

	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:65536", PVSD_RING_DEFAULT_SEGS, false) == 0);
	CU_ASSERT_EQUAL(pvsd_ring_evtchn_fd(h.ring), -1);
	pvsd_ring_get_stats(h.ring, &st0);
	pvs_worker_flush(h.w); /* the read armed at connect */
	for (int k = 0; k < 3; k++) {
		struct pollfd p = {.fd = pvs_worker_fd(h.w), .events = POLLIN};

		CU_ASSERT_FALSE(pvsd_ring_kicked(h.ring));
		CU_ASSERT_TRUE(fake_evt_kick(h.evt, h.fe.port));
		/*
		 * As the daemon sleeps: on the worker's fd, nothing submitted
		 * for it.  The last pass's read must be in the kernel already,
		 * even though that pass (an empty kick) submitted no I/O.
		 */
		CU_ASSERT_EQUAL_FATAL(poll(&p, 1, 2000), 1);
		pvs_worker_run(h.w, false);
		CU_ASSERT_TRUE_FATAL(pvsd_ring_kicked(h.ring));
		CU_ASSERT_FALSE(pvsd_ring_handle_event(h.ring));
		CU_ASSERT_FALSE(pvsd_ring_kicked(h.ring));
	}
	/* A pass with no kick read takes no event. */
	CU_ASSERT_FALSE(pvsd_ring_handle_event(h.ring));
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.events - st0.events, 3);
	CU_ASSERT_EQUAL(st.wakeups - st0.wakeups, 4);
	rh_fini(&h);

	setenv("PVSD_EVTCHN_URING", "0", 1);
	CU_ASSERT_FATAL(rh_init(&h, 1, 0, "mem:65536", PVSD_RING_DEFAULT_SEGS, false) == 0);
	unsetenv("PVSD_EVTCHN_URING");
	CU_ASSERT_TRUE(pvsd_ring_evtchn_fd(h.ring) >= 0);
	pvsd_ring_get_stats(h.ring, &st0);
	CU_ASSERT_TRUE(fake_evt_kick(h.evt, h.fe.port));
	CU_ASSERT_EQUAL(pvs_worker_wait(h.w, 20), 0);
	CU_ASSERT_FALSE(pvsd_ring_kicked(h.ring));
	pvsd_ring_handle_event(h.ring);
	pvsd_ring_get_stats(h.ring, &st);
	CU_ASSERT_EQUAL(st.events - st0.events, 1);
	rh_fini(&h);
}

int main(void)
{
	CU_pSuite s;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("ring", NULL, NULL);
	CU_add_test(s, "INQUIRY", test_inquiry);
	CU_add_test(s, "WRITE/READ direct segments", test_rw_direct);
	CU_add_test(s, "WRITE/READ indirect segments", test_rw_indirect);
	CU_add_test(s, "WRITE/READ sub-page pieces, direct", test_rw_subpage_direct);
	CU_add_test(s, "WRITE/READ sub-page pieces, indirect", test_rw_subpage_indirect);
	CU_add_test(s, "the frontend's grant limit and the transfer bound",
	            test_frontend_grant_limit);
	CU_add_test(s, "16 in flight", test_sixteen_in_flight);
	CU_add_test(s, "NO_CONNECT for an unmapped target", test_no_connect);
	CU_add_test(s, "LUN removed with a request in flight", test_lun_removed_in_flight);
	CU_add_test(s, "TMF ABORT and RESET", test_tmf);
	CU_add_test(s, "answers held behind a TMF", test_tmf_holds_answers);
	CU_add_test(s, "notify once per batch", test_notify_once_per_batch);
	CU_add_test(s, "grant copy error fails one request", test_grant_error_one_request);
	CU_add_test(s, "grant copies batched per kick", test_copies_batched);
	CU_add_test(s, "one grant copy call for data-in and data-out", test_one_copy_both_ways);
	CU_add_test(s, "polling leaves the ring unarmed until it sleeps", test_polling_unarmed);
	CU_add_test(s, "the event channel read through the worker", test_evtchn_through_worker);
	CU_add_test(s, "a lent READ's data goes out before a later WRITE",
	            test_lent_read_then_write);
	CU_add_test(s, "a mem: WRITE's data-out goes straight into the medium, in order",
	            test_lent_write);
	CU_add_test(s, "response slot zeroed", test_response_slot_zeroed);
	CU_add_test(s, "sense", test_sense);
	CU_add_test(s, "stop", test_stop);
	CU_add_test(s, "connect errors", test_connect_errors);
	CU_add_test(s, "reconnect at the shared index, adoption", test_reconnect_adopt);
	CU_add_test(s, "kill -9 at any point, adoption with the journal", test_kill9_adopt);
	CU_add_test(s, "journal states between two stores", test_journal_crash_windows);
	CU_add_test(s, "real grant and event channel ops without Xen", test_real_ops_without_xen);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
