/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_scsi_ut.c - the virtio-scsi device (vhost-user/vscsi.c) behind the
 * real vhost-user protocol code (vu_dev.c), driven by the fake front-end
 * and driver of fake_vq.c over a socketpair and shared memory, with real
 * LUNs of the core (mem: and file:).  Commands, LUN addressing, hostile
 * chains, every TMF, asynchronous notification, events, EVENTS_MISSED,
 * several request queues, and a back-end restart with inflight tracking.
 */
#include <CUnit/Basic.h>
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cu_run.h"
#include "fake_sg.h"
#include "fake_vq.h"
#include "ctl_json.h"
#include "ctl.h"
#include "virtio_scsi_proto.h"
#include "vscsi.h"
#include "log.h"

#define NQ  4 /* control, event, two request queues */
#define NUM 64
#define FEATURES                                                                                   \
	(1ull << 32 | 1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |      \
	 1ull << VIRTIO_SCSI_F_HOTPLUG | 1ull << VIRTIO_SCSI_F_CHANGE)

struct env {
	struct fv_mem m;
	struct fv_front f;
	struct fv_vq vq[NQ];
	struct fv_queue_fds fds[NQ];
	struct pvs_worker *w;
	struct vscsi *vs;
	struct vu_dev *dev;
	char file[64];
	int inflight_fd;
};

static void env_connect(struct env *t, bool inflight)
{
	CU_ASSERT_FATAL(fv_front_init(&t->f) == 0);
	CU_ASSERT_FATAL(vu_dev_new(t->f.back, vscsi_dev_ops(t->vs), t->vs, &t->dev) == 0);
	vscsi_attach(t->vs, t->dev);
	t->f.dev = t->dev;
	for (int i = 0; i < NQ; i++)
		t->fds[i] = (struct fv_queue_fds){-1, -1};
	CU_ASSERT_FATAL(fv_start(&t->f, &t->m, t->vq, NQ, FEATURES, t->fds,
	                         inflight ? &t->inflight_fd : NULL) == 0);
}

static void env_init(struct env *t, bool inflight)
{
	struct vscsi_cfg cfg = {0};
	char spec[128];
	int fd;

	memset(t, 0, sizeof(*t));
	t->inflight_fd = -1;
	CU_ASSERT_FATAL(fv_mem_init(&t->m) == 0);
	for (int i = 0; i < NQ; i++)
		fv_vq_init(&t->vq[i], &t->m, NUM, i & 1);
	CU_ASSERT_FATAL(pvs_worker_new(64, &t->w) == 0);
	cfg.worker = t->w;
	cfg.initiator = 0x4242;
	cfg.num_queues = NQ - 2;
	CU_ASSERT_FATAL(vscsi_new(&cfg, &t->vs) == 0);
	/* 0:0 mem, 0:300 mem (flat addressing), 1:0 a file (asynchronous I/O). */
	CU_ASSERT_FATAL(vscsi_lun_add(t->vs, 0, 0, "mem:4M", NULL, 0) == 0);
	CU_ASSERT_FATAL(vscsi_lun_add(t->vs, 0, 300, "mem:1M", NULL, 0) == 0);
	snprintf(t->file, sizeof(t->file), "/tmp/vhost_scsi_ut.%d", (int)getpid());
	fd = open(t->file, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 4 << 20) == 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", t->file);
	CU_ASSERT_FATAL(vscsi_lun_add(t->vs, 1, 0, spec, NULL, 0) == 0);
	env_connect(t, inflight);
}

static void env_fini(struct env *t)
{
	vu_dev_free(t->dev);
	vscsi_attach(t->vs, NULL);
	vscsi_free(t->vs);
	pvs_worker_free(t->w);
	fv_front_fini(&t->f);
	for (int i = 0; i < NQ; i++) {
		close(t->fds[i].kick);
		close(t->fds[i].call);
	}
	if (t->inflight_fd >= 0)
		close(t->inflight_fd);
	unlink(t->file);
	fv_mem_fini(&t->m);
}

/* Run the worker until every popped request was answered (bounded). */
static void settle(struct env *t)
{
	for (int i = 0; i < 500 && vscsi_inflight(t->vs); i++) {
		pvs_worker_wait(t->w, 10);
		vscsi_flush(t->vs);
	}
	vscsi_flush(t->vs);
}

static bool called(struct env *t, int q)
{
	eventfd_t v;

	return eventfd_read(t->fds[q].call, &v) == 0 && v > 0;
}

struct cmd {
	uint64_t req, rsp, data;
	uint32_t len;
	int head;
	uint32_t used_len;
	struct virtio_scsi_cmd_resp r;
};

/* Build and queue a command on request queue @q; data-in when !out. */
static void cmd_queue(struct env *t, int q, struct cmd *c, uint32_t target, uint32_t lun,
                      const uint8_t *cdb, unsigned int cdb_len, uint32_t len, bool out,
                      bool indirect)
{
	struct virtio_scsi_cmd_req *req;
	struct fv_buf b[3];
	unsigned int n = 0;

	memset(c, 0, sizeof(*c));
	c->req = fv_alloc(&t->m, 0, sizeof(*req), 8);
	c->rsp = fv_alloc(&t->m, 1, sizeof(c->r), 8);
	c->len = len;
	if (len)
		c->data = fv_alloc(&t->m, q & 1, len, 512);
	CU_ASSERT_FATAL(c->req && c->rsp && (!len || c->data));
	req = fv_ptr(&t->m, c->req);
	vsp_encode_lun(req->lun, target, lun);
	req->lun[2] |= 0x40; /* Linux sends flat space for every LUN */
	req->tag = htole64((uint64_t)c->req);
	memcpy(req->cdb, cdb, cdb_len);
	b[n++] = (struct fv_buf){c->req, sizeof(*req), false};
	if (len && out)
		b[n++] = (struct fv_buf){c->data, len, false};
	b[n++] = (struct fv_buf){c->rsp, sizeof(c->r), true};
	if (len && !out)
		b[n++] = (struct fv_buf){c->data, len, true};
	c->head = fv_vq_add(&t->vq[q], b, n, indirect);
	CU_ASSERT_FATAL(c->head >= 0);
}

static void collect(struct env *t, int q, struct cmd *c, unsigned int n)
{
	unsigned int got = 0;
	uint32_t id, len;

	while (got < n && fv_vq_get_used(&t->vq[q], &id, &len)) {
		for (unsigned int i = 0; i < n; i++) {
			if (c[i].head == (int)id) {
				c[i].used_len = len;
				memcpy(&c[i].r, fv_ptr(&t->m, c[i].rsp), sizeof(c[i].r));
				c[i].head = -2;
				got++;
			}
		}
	}
	CU_ASSERT_EQUAL(got, n);
}

static void cmd(struct env *t, int q, struct cmd *c, uint32_t target, uint32_t lun,
                const uint8_t *cdb, unsigned int cdb_len, uint32_t len, bool out)
{
	cmd_queue(t, q, c, target, lun, cdb, cdb_len, len, out, false);
	vscsi_kick(t->vs, q);
	settle(t);
	collect(t, q, c, 1);
}

static void tur_clear(struct env *t, uint32_t target, uint32_t lun)
{
	static const uint8_t tur[6] = {0};
	struct cmd c;

	for (int i = 0; i < 8; i++) {
		cmd(t, 2, &c, target, lun, tur, 6, 0, false);
		if (c.r.status == 0)
			return;
	}
	CU_FAIL("unit attentions do not clear");
}

/* ---- commands ---- */

static void test_inquiry(void)
{
	struct env t;
	struct cmd c;
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};
	uint8_t *d;

	env_init(&t, false);
	cmd(&t, 2, &c, 0, 0, cdb, 6, 96, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	d = fv_ptr(&t.m, c.data);
	CU_ASSERT_EQUAL(d[0], 0x00);
	CU_ASSERT_EQUAL(memcmp(d + 8, "PVSCSI  ", 8), 0);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 96u - (d[4] + 5u));
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE + d[4] + 5u);
	CU_ASSERT_TRUE(called(&t, 2));
	env_fini(&t);
}

static void test_unit_attention_and_sense(void)
{
	struct env t;
	struct cmd c;
	uint8_t tur[6] = {0};

	env_init(&t, false);
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	/* POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h) first. */
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_TRUE(le32toh(c.r.sense_len) >= 14 && le32toh(c.r.sense_len) <= 96);
	CU_ASSERT_EQUAL(c.r.sense[2] & 0xf, 0x6);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x29);
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE);
	tur_clear(&t, 0, 0);
	env_fini(&t);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static void rw(struct env *t, int q, uint32_t target, uint32_t lun, uint32_t lba, uint32_t len,
               bool indirect)
{
	uint8_t w[10] = {0x2a}, r[10] = {0x28};
	struct cmd cw, cr;
	uint8_t *buf = malloc(len);

	fill(buf, len, lba);
	w[2] = r[2] = (uint8_t)(lba >> 24);
	w[3] = r[3] = (uint8_t)(lba >> 16);
	w[4] = r[4] = (uint8_t)(lba >> 8);
	w[5] = r[5] = (uint8_t)lba;
	w[7] = r[7] = (uint8_t)((len / 512) >> 8);
	w[8] = r[8] = (uint8_t)(len / 512);
	cmd_queue(t, q, &cw, target, lun, w, 10, len, true, indirect);
	memcpy(fv_ptr(&t->m, cw.data), buf, len);
	vscsi_kick(t->vs, q);
	settle(t);
	collect(t, q, &cw, 1);
	CU_ASSERT_EQUAL(cw.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(cw.r.status, 0);
	CU_ASSERT_EQUAL(cw.r.resid, 0);
	CU_ASSERT_EQUAL(cw.used_len, VSP_CMD_RESP_SIZE); /* a WRITE writes only the response */
	cmd_queue(t, q, &cr, target, lun, r, 10, len, false, indirect);
	vscsi_kick(t->vs, q);
	settle(t);
	collect(t, q, &cr, 1);
	CU_ASSERT_EQUAL(cr.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(cr.r.status, 0);
	CU_ASSERT_EQUAL(cr.used_len, VSP_CMD_RESP_SIZE + len);
	CU_ASSERT_EQUAL(memcmp(fv_ptr(&t->m, cr.data), buf, len), 0);
	free(buf);
}

static void test_read_write(void)
{
	struct env t;

	env_init(&t, false);
	tur_clear(&t, 0, 0);
	tur_clear(&t, 1, 0);
	rw(&t, 2, 0, 0, 8, 4096, false);
	rw(&t, 3, 0, 0, 100, 65536, true); /* the second request queue, indirect */
	rw(&t, 3, 1, 0, 16, 8192, false);  /* file LUN: completes from io_uring */
	rw(&t, 2, 1, 0, 0, 512, true);
	env_fini(&t);
}

/* virtio 1.1 2.6.4.3 message framing: headers and data may share or split descriptors. */
static void test_any_layout(void)
{
	struct env t;
	struct virtio_scsi_cmd_req *req;
	struct virtio_scsi_cmd_resp rsp;
	uint8_t *out, *in;
	uint64_t o, i;
	struct fv_buf b[5];
	uint32_t id, len;

	env_init(&t, false);
	tur_clear(&t, 0, 0);
	/* WRITE(10) of 1 block: header and data in one buffer, split in two descriptors mid-header.
	 */
	o = fv_alloc(&t.m, 0, sizeof(*req) + 512, 8);
	out = fv_ptr(&t.m, o);
	req = (struct virtio_scsi_cmd_req *)out;
	vsp_encode_lun(req->lun, 0, 0);
	req->cdb[0] = 0x2a;
	req->cdb[5] = 3;
	req->cdb[8] = 1;
	memset(out + sizeof(*req), 0xa5, 512);
	i = fv_alloc(&t.m, 1, sizeof(rsp), 8);
	b[0] = (struct fv_buf){o, 20, false};
	b[1] = (struct fv_buf){o + 20, sizeof(*req) + 100 - 20, false};
	b[2] = (struct fv_buf){o + sizeof(*req) + 100, 412, false};
	b[3] = (struct fv_buf){i, 50, true};
	b[4] = (struct fv_buf){i + 50, sizeof(rsp) - 50, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 5, false) >= 0);
	vscsi_kick(t.vs, 2);
	settle(&t);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	memcpy(&rsp, fv_ptr(&t.m, i), sizeof(rsp));
	CU_ASSERT_EQUAL(rsp.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(rsp.status, 0);
	/* READ it back: response and data in one writable buffer. */
	memset(req->cdb, 0, sizeof(req->cdb));
	req->cdb[0] = 0x28;
	req->cdb[5] = 3;
	req->cdb[8] = 1;
	i = fv_alloc(&t.m, 0, sizeof(rsp) + 512, 8);
	in = fv_ptr(&t.m, i);
	b[0] = (struct fv_buf){o, sizeof(*req), false};
	b[1] = (struct fv_buf){i, sizeof(rsp) + 512, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 2, false) >= 0);
	vscsi_kick(t.vs, 2);
	settle(&t);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	CU_ASSERT_EQUAL(len, sizeof(rsp) + 512);
	memcpy(&rsp, in, sizeof(rsp));
	CU_ASSERT_EQUAL(rsp.status, 0);
	CU_ASSERT_EQUAL(in[sizeof(rsp)], 0xa5);
	CU_ASSERT_EQUAL(in[sizeof(rsp) + 511], 0xa5);
	env_fini(&t);
}

static void test_addressing(void)
{
	struct env t;
	struct cmd c;
	uint8_t tur[6] = {0};
	uint8_t rl[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	uint8_t *d;
	struct virtio_scsi_cmd_req *req;
	struct vscsi_stats st;

	env_init(&t, false);
	/* No LUN at all on target 5: BAD_TARGET, the whole buffer residual. */
	cmd(&t, 2, &c, 5, 0, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* Target 0, LUN 7 unmapped: the target answers (LOGICAL UNIT NOT SUPPORTED). */
	cmd(&t, 2, &c, 0, 7, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x25);
	/* LUN 300 through flat space addressing. */
	tur_clear(&t, 0, 300);
	/* REPORT LUNS on target 0: 0 and 300 (flat, 0x41 0x2c). */
	cmd(&t, 2, &c, 0, 0, rl, 12, 256, false);
	CU_ASSERT_EQUAL(c.r.status, 0);
	d = fv_ptr(&t.m, c.data);
	CU_ASSERT_EQUAL(d[3], 16);
	CU_ASSERT_EQUAL(d[8 + 1], 0);
	CU_ASSERT_EQUAL(d[16], 0x41);
	CU_ASSERT_EQUAL(d[17], 0x2c);
	/* A LUN field that is not virtio's form: BAD_TARGET. */
	cmd_queue(&t, 2, &c, 0, 0, tur, 6, 0, false, false);
	req = fv_ptr(&t.m, c.req);
	req->lun[0] = 2;
	vscsi_kick(t.vs, 2);
	settle(&t);
	collect(&t, 2, &c, 1);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_BAD_TARGET);
	cmd_queue(&t, 2, &c, 0, 0, tur, 6, 0, false, false);
	req = fv_ptr(&t.m, c.req);
	req->lun[2] = 0x80; /* logical unit addressing method */
	vscsi_kick(t.vs, 2);
	settle(&t);
	collect(&t, 2, &c, 1);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_BAD_TARGET);
	vscsi_get_stats(t.vs, &st);
	CU_ASSERT_EQUAL(st.bad_target, 3);
	env_fini(&t);
}

static void test_hostile_requests(void)
{
	struct env t;
	struct fv_buf b[3];
	uint64_t a;
	uint32_t id, len;
	struct cmd c;
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	struct vscsi_stats st;

	env_init(&t, false);
	a = fv_alloc(&t.m, 0, 256, 8);
	/* Too short for the request header. */
	b[0] = (struct fv_buf){a, 40, false};
	b[1] = (struct fv_buf){a + 64, VSP_CMD_RESP_SIZE, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 2, false) >= 0);
	/* Too short for the response. */
	b[0].len = VSP_CMD_REQ_SIZE;
	b[1].len = 20;
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 2, false) >= 0);
	/* A buffer in the memory hole. */
	b[1] = (struct fv_buf){FV_REGION_SIZE + 4096, VSP_CMD_RESP_SIZE, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 2, false) >= 0);
	vscsi_kick(t.vs, 2);
	settle(&t);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
		CU_ASSERT_EQUAL(len, 0);
	}
	/* Data-out and data-in at once without F_INOUT. */
	cmd_queue(&t, 2, &c, 0, 0, inq, 6, 0, false, false);
	b[0] = (struct fv_buf){c.req, VSP_CMD_REQ_SIZE, false};
	b[1] = (struct fv_buf){a, 16, false};
	b[2] = (struct fv_buf){c.rsp, VSP_CMD_RESP_SIZE + 16, true};
	fv_vq_get_used(&t.vq[2], &id, &len); /* nothing yet: cmd_queue's chain is pending */
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], b, 3, false) >= 0);
	vscsi_kick(t.vs, 2);
	settle(&t);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len)); /* cmd_queue's */
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	CU_ASSERT_EQUAL(((struct virtio_scsi_cmd_resp *)fv_ptr(&t.m, c.rsp))->response,
	                VIRTIO_SCSI_S_FAILURE);
	/* The device is still fine. */
	cmd(&t, 2, &c, 0, 0, inq, 6, 36, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	vscsi_get_stats(t.vs, &st);
	CU_ASSERT_EQUAL(st.bad_chains, 3);
	env_fini(&t);
}

/* ---- control queue ---- */

struct ctl {
	uint64_t req, rsp;
	int head;
};

static uint8_t tmf(struct env *t, uint32_t subtype, uint32_t target, uint32_t lun, uint64_t tag,
                   bool settle_first)
{
	struct virtio_scsi_ctrl_tmf_req *r;
	struct fv_buf b[2];
	uint64_t req = fv_alloc(&t->m, 0, sizeof(*r), 8), rsp = fv_alloc(&t->m, 1, 8, 8);
	uint8_t *resp = fv_ptr(&t->m, rsp);
	uint32_t id, len;

	r = fv_ptr(&t->m, req);
	r->type = htole32(VIRTIO_SCSI_T_TMF);
	r->subtype = htole32(subtype);
	vsp_encode_lun(r->lun, target, lun);
	r->tag = htole64(tag);
	*resp = 0xff;
	b[0] = (struct fv_buf){req, sizeof(*r), false};
	b[1] = (struct fv_buf){rsp, 1, true};
	CU_ASSERT_FATAL(fv_vq_add(&t->vq[0], b, 2, false) >= 0);
	vscsi_kick(t->vs, 0);
	if (settle_first)
		settle(t);
	if (!fv_vq_get_used(&t->vq[0], &id, &len))
		return 0xfe; /* not answered */
	CU_ASSERT_EQUAL(len, 1);
	return *resp;
}

static void test_tmf_simple(void)
{
	struct env t;
	struct cmd c;
	uint8_t tur[6] = {0};

	env_init(&t, false);
	tur_clear(&t, 0, 0);
	tur_clear(&t, 0, 300);
	/* No such task: ABORT TASK and QUERY TASK are FUNCTION COMPLETE. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0, 1234, true), 0);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, 1234, true), 0);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 0, 0, 0, true), 0);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, 0, 0, 0, true), 0);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET, 0, 0, 0, true), 0);
	/* No ACA without NACA. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0, 0, true),
	                VIRTIO_SCSI_S_FUNCTION_REJECTED);
	CU_ASSERT_EQUAL(tmf(&t, 99, 0, 0, 0, true), VIRTIO_SCSI_S_FUNCTION_REJECTED);
	/* LOGICAL UNIT RESET: BUS DEVICE RESET FUNCTION OCCURRED (29h/03h) on that LUN only. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 0, 0, true), 0);
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x29);
	CU_ASSERT_EQUAL(c.r.sense[13], 0x03);
	cmd(&t, 2, &c, 0, 300, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0);
	/* I_T NEXUS RESET: I_T NEXUS LOSS OCCURRED (29h/07h) on every LUN of the target. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 0, 0, 0, true), 0);
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x29);
	CU_ASSERT_EQUAL(c.r.sense[13], 0x07);
	cmd(&t, 2, &c, 0, 300, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x29);
	CU_ASSERT_EQUAL(c.r.sense[13], 0x07);
	/* Addressing: no target, no LUN. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 9, 0, 0, true),
	                VIRTIO_SCSI_S_BAD_TARGET);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 5, 0, true),
	                VIRTIO_SCSI_S_INCORRECT_LUN);
	env_fini(&t);
}

/* Tasks in flight on the file LUN (io_uring: in flight until the worker is polled). */
static void test_tmf_in_flight(void)
{
	struct env t;
	struct cmd c[3];
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};

	env_init(&t, false);
	tur_clear(&t, 1, 0);
	for (int i = 0; i < 3; i++)
		cmd_queue(&t, 2, &c[i], 1, 0, rd, 10, 4096, false, false);
	vscsi_kick(t.vs, 2);
	CU_ASSERT_EQUAL(vscsi_inflight(t.vs), 3);
	/* QUERY TASK / QUERY TASK SET: the tasks exist. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_QUERY_TASK, 1, 0, c[1].req, false),
	                VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 1, 0, 0, false),
	                VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	/* A QUERY TASK naming the tag on another LUN does not find it. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, c[1].req, false), 0);
	/* ABORT TASK of the second: it completes ABORTED before the TMF's answer. */
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_ABORT_TASK, 1, 0, c[1].req, true), 0);
	collect(&t, 2, c, 3);
	CU_ASSERT_EQUAL(c[1].r.response, VIRTIO_SCSI_S_ABORTED);
	CU_ASSERT_EQUAL(c[0].r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c[2].r.response, VIRTIO_SCSI_S_OK);
	/* LUN RESET with three in flight: all RESET. */
	for (int i = 0; i < 3; i++)
		cmd_queue(&t, 3, &c[i], 1, 0, rd, 10, 4096, false, false);
	vscsi_kick(t.vs, 3);
	CU_ASSERT_EQUAL(tmf(&t, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 1, 0, 0, true), 0);
	collect(&t, 3, c, 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(c[i].r.response, VIRTIO_SCSI_S_RESET);
	tur_clear(&t, 1, 0);
	/* ABORT TASK SET, CLEAR TASK SET, I_T NEXUS RESET with tasks in flight. */
	{
		static const uint32_t fns[3] = {VIRTIO_SCSI_T_TMF_ABORT_TASK_SET,
		                                VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET,
		                                VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET};
		static const uint8_t want[3] = {VIRTIO_SCSI_S_ABORTED, VIRTIO_SCSI_S_ABORTED,
		                                VIRTIO_SCSI_S_RESET};

		for (int f = 0; f < 3; f++) {
			for (int i = 0; i < 2; i++)
				cmd_queue(&t, 2, &c[i], 1, 0, rd, 10, 4096, false, false);
			vscsi_kick(t.vs, 2);
			CU_ASSERT_EQUAL(tmf(&t, fns[f], 1, 0, 0, true), 0);
			collect(&t, 2, c, 2);
			CU_ASSERT_EQUAL(c[0].r.response, want[f]);
			CU_ASSERT_EQUAL(c[1].r.response, want[f]);
		}
	}
	CU_ASSERT_EQUAL(vscsi_inflight(t.vs), 0);
	env_fini(&t);
}

static void test_an(void)
{
	struct env t;
	struct virtio_scsi_ctrl_an_req *r;
	struct virtio_scsi_ctrl_an_resp *rsp;
	uint64_t req, rs;
	struct fv_buf b[2];
	uint32_t id, len;
	static const uint32_t types[3] = {VIRTIO_SCSI_T_AN_QUERY, VIRTIO_SCSI_T_AN_SUBSCRIBE,
	                                  VIRTIO_SCSI_T_AN_SUBSCRIBE};
	static const uint32_t targets[3] = {0, 0, 7};

	env_init(&t, false);
	for (int i = 0; i < 3; i++) {
		req = fv_alloc(&t.m, 0, sizeof(*r), 8);
		rs = fv_alloc(&t.m, 0, sizeof(*rsp), 8);
		r = fv_ptr(&t.m, req);
		rsp = fv_ptr(&t.m, rs);
		r->type = htole32(types[i]);
		vsp_encode_lun(r->lun, targets[i], 0);
		r->event_requested = htole32(0x7e); /* every class */
		rsp->event_actual = 0xffffffff;
		b[0] = (struct fv_buf){req, sizeof(*r), false};
		b[1] = (struct fv_buf){rs, sizeof(*rsp), true};
		CU_ASSERT_FATAL(fv_vq_add(&t.vq[0], b, 2, false) >= 0);
		vscsi_kick(t.vs, 0);
		CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[0], &id, &len));
		CU_ASSERT_EQUAL(len, sizeof(*rsp));
		/* None of the requested events is supported. */
		CU_ASSERT_EQUAL(rsp->event_actual, 0);
		CU_ASSERT_EQUAL(rsp->response,
		                targets[i] ? VIRTIO_SCSI_S_BAD_TARGET : VIRTIO_SCSI_S_OK);
	}
	/* An unknown request type on the control queue fails alone. */
	r->type = htole32(77);
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[0], b, 2, false) >= 0);
	vscsi_kick(t.vs, 0);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[0], &id, &len));
	CU_ASSERT_EQUAL(len, 0);
	env_fini(&t);
}

/* ---- events ---- */

static void post_events(struct env *t, unsigned int n, uint64_t *gpa)
{
	for (unsigned int i = 0; i < n; i++) {
		struct fv_buf b = {fv_alloc(&t->m, 0, 16, 8), 16, true};

		gpa[i] = b.gpa;
		CU_ASSERT_FATAL(fv_vq_add(&t->vq[1], &b, 1, false) >= 0);
	}
	vscsi_kick(t->vs, 1);
}

static bool next_event(struct env *t, struct virtio_scsi_event *ev, const uint64_t *gpa,
                       unsigned int n)
{
	uint32_t id, len;

	if (!fv_vq_get_used(&t->vq[1], &id, &len))
		return false;
	CU_ASSERT_EQUAL(len, 16);
	for (unsigned int i = 0; i < n; i++)
		if (t->vq[1].desc[id].addr == htole64(gpa[i]))
			memcpy(ev, fv_ptr(&t->m, gpa[i]), sizeof(*ev));
	return true;
}

static void test_events(void)
{
	struct env t;
	struct virtio_scsi_event ev;
	uint64_t g[4];
	struct vscsi_stats st;
	int fd;

	env_init(&t, false);
	post_events(&t, 3, g);
	CU_ASSERT_FALSE(next_event(&t, &ev, g, 3)); /* nothing to say yet */
	/* Hot add: TRANSPORT_RESET / RESCAN naming 2:5. */
	CU_ASSERT_EQUAL(vscsi_lun_add(t.vs, 2, 5, "mem:1M", NULL, 0), 0);
	CU_ASSERT_TRUE(called(&t, 1));
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 3));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_TRANSPORT_RESET);
	CU_ASSERT_EQUAL(le32toh(ev.reason), VIRTIO_SCSI_EVT_RESET_RESCAN);
	CU_ASSERT_EQUAL(ev.lun[0], 1);
	CU_ASSERT_EQUAL(ev.lun[1], 2);
	CU_ASSERT_EQUAL(ev.lun[2], 0);
	CU_ASSERT_EQUAL(ev.lun[3], 5);
	tur_clear(&t, 2, 5);
	/* Hot remove: REMOVED. */
	CU_ASSERT_EQUAL(vscsi_lun_remove(t.vs, 2, 5), 0);
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 3));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_TRANSPORT_RESET);
	CU_ASSERT_EQUAL(le32toh(ev.reason), VIRTIO_SCSI_EVT_RESET_REMOVED);
	CU_ASSERT_EQUAL(ev.lun[1], 2);
	CU_ASSERT_EQUAL(vscsi_lun_remove(t.vs, 2, 5), -ENOENT);
	/* Capacity change of the file LUN: PARAM_CHANGE, reason 2Ah/09h. */
	fd = open(t.file, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 8 << 20) == 0);
	close(fd);
	CU_ASSERT_EQUAL(vscsi_lun_refresh(t.vs, 1, 0), 1);
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 3));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_PARAM_CHANGE);
	CU_ASSERT_EQUAL(le32toh(ev.reason), 0x092a);
	CU_ASSERT_EQUAL(ev.lun[1], 1);
	CU_ASSERT_EQUAL(vscsi_lun_refresh(t.vs, 1, 0), 0); /* no change, no event */
	/* No buffer left: the events are lost, and the next buffer says so. */
	CU_ASSERT_EQUAL(vscsi_lun_add(t.vs, 3, 0, "mem:1M", NULL, 0), 0);
	CU_ASSERT_EQUAL(vscsi_lun_add(t.vs, 3, 1, "mem:1M", NULL, 0), 0);
	CU_ASSERT_FALSE(next_event(&t, &ev, g, 3));
	post_events(&t, 2, g);
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 2));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_NO_EVENT | VIRTIO_SCSI_T_EVENTS_MISSED);
	CU_ASSERT_FALSE(next_event(&t, &ev, g, 2)); /* once */
	/* Lost again, then a real event carries the flag. */
	post_events(&t, 0, g);
	CU_ASSERT_EQUAL(vscsi_lun_remove(t.vs, 3, 1), 0); /* uses the last buffer */
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 2));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_TRANSPORT_RESET);
	CU_ASSERT_EQUAL(vscsi_lun_remove(t.vs, 3, 0), 0);                 /* lost */
	CU_ASSERT_EQUAL(vscsi_lun_add(t.vs, 3, 0, "mem:1M", NULL, 0), 0); /* lost */
	post_events(&t, 1, g);
	/* The kick on new buffers reports the loss first. */
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 1));
	CU_ASSERT_EQUAL(le32toh(ev.event), VIRTIO_SCSI_T_NO_EVENT | VIRTIO_SCSI_T_EVENTS_MISSED);
	vscsi_get_stats(t.vs, &st);
	CU_ASSERT_EQUAL(st.events_lost, 4);
	CU_ASSERT_EQUAL(st.events, 6);
	env_fini(&t);
}

/*
 * virtio 1.2 5.6.6.1: VIRTIO_SCSI_S_OVERRUN when the CDB (transfer length,
 * parameter list or allocation length) needs more data than the buffers
 * hold, in the CDB's direction; the command never reaches the LUN.  As
 * QEMU's virtio-scsi, this holds for data-in too (a READ of 2 blocks into
 * 1 block of buffer), while buffers larger than the transfer are the
 * ordinary residual.
 */
static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(n >> 8);
	cdb[8] = (uint8_t)n;
}

static void test_overrun(void)
{
	struct env t;
	struct cmd c;
	uint8_t w[10], r[10], tur[6] = {0};
	uint8_t inq96[6] = {0x12, 0, 0, 0, 96, 0}, inq36[6] = {0x12, 0, 0, 0, 36, 0};
	uint8_t *d;

	env_init(&t, false);
	/* WRITE(10) of 1 block with no data-out at all. */
	cdb10(w, 0x2a, 5, 1);
	cmd(&t, 2, &c, 0, 0, w, 10, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(le32toh(c.r.sense_len), 0);
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE);
	/* Nothing reached the LUN: its POWER ON unit attention is still pending. */
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x29);
	tur_clear(&t, 0, 0);
	/* Data-out shorter than the transfer, or data-in where data-out is needed. */
	cmd(&t, 2, &c, 0, 0, w, 10, 256, true);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 256);
	cmd(&t, 2, &c, 0, 0, w, 10, 512, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 512);
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE);
	cdb10(w, 0x2a, 5, 2);
	cmd(&t, 2, &c, 0, 0, w, 10, 512, true);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	/* Enough data: written; more than enough: the rest is residual. */
	cdb10(w, 0x2a, 5, 1);
	cmd_queue(&t, 2, &c, 0, 0, w, 10, 512, true, false);
	memset(fv_ptr(&t.m, c.data), 0x5a, 512);
	vscsi_kick(t.vs, 2);
	settle(&t);
	collect(&t, 2, &c, 1);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(c.r.resid, 0);
	cmd_queue(&t, 2, &c, 0, 0, w, 10, 1024, true, false);
	memset(fv_ptr(&t.m, c.data), 0x5a, 1024);
	vscsi_kick(t.vs, 2);
	settle(&t);
	collect(&t, 2, &c, 1);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 512);
	/* READ(10) of 2 blocks into 1 block of buffer: OVERRUN, nothing written. */
	cdb10(r, 0x28, 5, 2);
	cmd_queue(&t, 2, &c, 0, 0, r, 10, 512, false, false);
	memset(fv_ptr(&t.m, c.data), 0xee, 512);
	vscsi_kick(t.vs, 2);
	settle(&t);
	collect(&t, 2, &c, 1);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE);
	CU_ASSERT_EQUAL(((uint8_t *)fv_ptr(&t.m, c.data))[0], 0xee);
	/* READ(10) of 1 block into 4 KiB: the block, and 3584 bytes of residual. */
	cdb10(r, 0x28, 5, 1);
	cmd(&t, 2, &c, 0, 0, r, 10, 4096, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 3584);
	CU_ASSERT_EQUAL(c.used_len, VSP_CMD_RESP_SIZE + 512);
	d = fv_ptr(&t.m, c.data);
	CU_ASSERT_EQUAL(d[0], 0x5a);
	CU_ASSERT_EQUAL(d[511], 0x5a);
	/* A transfer of 0 blocks needs no buffer. */
	cdb10(r, 0x28, 5, 0);
	cmd(&t, 2, &c, 0, 0, r, 10, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	/* An allocation length over the buffer (the specification's own example)... */
	cmd(&t, 2, &c, 0, 0, inq96, 6, 36, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	/* ...and under it: the data the LUN has, the rest residual. */
	cmd(&t, 2, &c, 0, 0, inq36, 6, 96, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(le32toh(c.r.resid), 60);
	/* The LUN's block size decides: 512 bytes is not one 4096-byte block. */
	CU_ASSERT_FATAL(vscsi_lun_add(t.vs, 2, 0, "mem:1M,bs=4096", NULL, 0) == 0);
	tur_clear(&t, 2, 0);
	cdb10(w, 0x2a, 1, 1);
	cmd(&t, 2, &c, 2, 0, w, 10, 512, true);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	cmd(&t, 2, &c, 2, 0, w, 10, 4096, true);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	/*
	 * An unmapped LUN has no block size: its WRITE goes to the target,
	 * which answers LOGICAL UNIT NOT SUPPORTED; its INQUIRY is still
	 * measured against the allocation length.
	 */
	cmd(&t, 2, &c, 0, 7, w, 10, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x25);
	cmd(&t, 2, &c, 0, 7, inq96, 6, 36, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OVERRUN);
	/* No target at all: BAD_TARGET comes first. */
	cmd(&t, 2, &c, 9, 0, w, 10, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_BAD_TARGET);
	env_fini(&t);
}

/* ---- the third LUN kind: sg passthrough (on the scripted fake_sg device) ---- */

static void test_passthrough(void)
{
	struct env t;
	struct cmd c;
	struct fake_sg_reply inq = {.match = {0x12}, .match_len = 1, .data_len = 36};
	struct fake_sg_reply rd = {
	    .match = {0x28}, .match_len = 1, .status = 0x02, .sense_len = 18};
	struct fake_sg_reply gone = {.match = {0x00}, .match_len = 1, .host_status = 0x01};
	uint8_t cdb_inq[6] = {0x12, 0, 0, 0, 36, 0}, cdb_rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t cdb_wb[10] = {0x3b, 0x05, 0, 0, 0, 0, 0, 0, 0, 0}, tur[6] = {0};
	unsigned int writes;

	fake_sg_reset();
	pvsi_sg_set_ops(&fake_sg_ops);
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	memcpy(inq.data, "\0\0\x06\x02\x1f\0\0\x02SCRIPTEDSG DISK         0042", 36);
	fake_sg_script(&inq);
	rd.sense[0] = 0x70;
	rd.sense[2] = 0x03; /* MEDIUM ERROR */
	rd.sense[7] = 10;
	rd.sense[12] = 0x11;
	fake_sg_script(&rd);
	fake_sg_script(&gone);
	env_init(&t, false);
	CU_ASSERT_FATAL(vscsi_lun_add(t.vs, 4, 0, "sg:/dev/sg3", NULL, 0) == 0);
	/* The device's own INQUIRY data, unchanged. */
	cmd(&t, 2, &c, 4, 0, cdb_inq, 6, 36, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)fv_ptr(&t.m, c.data) + 8, "SCRIPTEDSG DISK", 15), 0);
	CU_ASSERT_EQUAL(fake_sg_last_hdr()->cmd_len, 6); /* from the group code, not 32 */
	/* The device's CHECK CONDITION and sense reach the guest as they are. */
	cmd(&t, 2, &c, 4, 0, cdb_rd, 10, 512, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(le32toh(c.r.sense_len), 18);
	CU_ASSERT_EQUAL(c.r.sense[2], 0x03);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x11);
	/* Filtered (not raw): WRITE BUFFER never reaches the device (class 14). */
	writes = fake_sg_writes();
	cmd(&t, 2, &c, 4, 0, cdb_wb, 10, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[2] & 0xf, 0x05);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes);
	/* A host-side failure of the device is a virtio transport outcome, not a SCSI status. */
	cmd(&t, 2, &c, 4, 0, tur, 6, 0, false);
	CU_ASSERT_NOT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	env_fini(&t);
	fake_sg_reset();
}

/*
 * The same core filter on this transport: a tape drive gets SSC's table (a
 * changer's MOVE MEDIUM is refused to it, REWIND passes), a changer SMC's.
 */
static void test_passthrough_device_types(void)
{
	uint8_t rewind[6] = {0x01, 0, 0, 0, 0, 0}, format_medium[6] = {0x04, 0, 0, 0, 0, 0};
	uint8_t move[12] = {0xa5, 0, 0, 0, 0, 2, 0x03, 0xe8, 0, 0, 0, 0};
	struct env t;
	struct cmd c;
	unsigned int writes;

	fake_sg_reset();
	pvsi_sg_set_ops(&fake_sg_ops);
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	fake_sg_add_node("/dev/sg4", FAKE_SG_CHR);
	env_init(&t, false);
	fake_sg_set_pdt(0x01);
	CU_ASSERT_FATAL(vscsi_lun_add(t.vs, 4, 0, "sg:/dev/sg3", NULL, 0) == 0);
	fake_sg_set_pdt(0x08);
	CU_ASSERT_FATAL(vscsi_lun_add(t.vs, 4, 1, "sg:/dev/sg4", NULL, 0) == 0);
	writes = fake_sg_writes();
	cmd(&t, 2, &c, 4, 0, rewind, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes + 1);
	cmd(&t, 2, &c, 4, 0, format_medium, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(c.r.sense[12], 0x20); /* INVALID COMMAND OPERATION CODE */
	cmd(&t, 2, &c, 4, 0, move, 12, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes + 1);
	cmd(&t, 2, &c, 4, 1, move, 12, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes + 2);
	cmd(&t, 2, &c, 4, 1, rewind, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0x02);
	env_fini(&t);
	fake_sg_reset();
}

/* ---- configuration and the control socket's commands ---- */

static void test_ctl(void)
{
	struct env t;
	struct virtio_scsi_event ev;
	uint64_t g[2];
	char out[4096], err[256], cfg[64];
	struct vuctl_env env;
	FILE *f;

	env_init(&t, false);
	vuctl_env_one(&env, t.vs);
	post_events(&t, 2, g);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 3:7 mem:2M\n", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "ok\n");
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 2));
	CU_ASSERT_EQUAL(ev.lun[1], 3);
	CU_ASSERT_EQUAL(ev.lun[3], 7);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 3:7 mem:2M", out, sizeof(out)), -EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "error: 3:7: already in use"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 3:8 nosuch:1", out, sizeof(out)) < 0, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "error: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nosuch:1"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 256:0 mem:1M", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 1:16384 mem:1M", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 3:9 mem:1M extra", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "3:7 mem:2M blocks=4096 bs=512 inflight=0 users=1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0:300 mem:1M"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "resize 3:7", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "unchanged\nok\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "remove 3:7", out, sizeof(out)), 0);
	CU_ASSERT_TRUE(next_event(&t, &ev, g, 2));
	CU_ASSERT_EQUAL(le32toh(ev.reason), VIRTIO_SCSI_EVT_RESET_REMOVED);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "remove 3:7", out, sizeof(out)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "error: no LUN 3:7"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "frobnicate", out, sizeof(out)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage:"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "stats", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "events=2"));
	/* Config file: comments, blanks, then an error naming file and line. */
	snprintf(cfg, sizeof(cfg), "/tmp/vhost_scsi_ut.cfg.%d", (int)getpid());
	f = fopen(cfg, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f,
	        "# LUNs\n\nlun 5:0 mem:1M  # a comment\nlun 5:1 mem:1M,bs=4096\nlun 5:x mem:1M\n");
	fclose(f);
	CU_ASSERT_EQUAL(vuctl_load(&env, cfg, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":5: bad target:lun '5:x'"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "5:1 mem:1M,bs=4096 blocks=256 bs=4096"));
	unlink(cfg);
	env_fini(&t);
}

/* ---- restart with inflight tracking ---- */

/* ---- the JSON control commands (vhost-user/ctl_json.c) ---- */

/* The reply to @req, parsed (one line, checked); the caller frees it. */
static yajl_val jreply(const struct pctl_cfg *cfg, const char *req)
{
	char *out, ebuf[128];
	size_t len;
	yajl_val v;

	CU_ASSERT_FATAL(pctl_reply(cfg, req, strlen(req), &out, &len) == 0);
	CU_ASSERT_EQUAL(out[len - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(out, '\n', len - 1));
	out[len - 1] = '\0';
	v = yajl_tree_parse(out, ebuf, sizeof(ebuf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	free(out);
	return v;
}

/* A member by path ("return", "controllers", "0", "name": array indexes as digits). */
static yajl_val jat(yajl_val v, const char *const *path)
{
	for (; v && *path; path++) {
		if (YAJL_IS_ARRAY(v)) {
			size_t i = strtoul(*path, NULL, 10);

			v = i < v->u.array.len ? v->u.array.values[i] : NULL;
		} else {
			const char *p[] = {*path, NULL};

			v = yajl_tree_get(v, p, yajl_t_any);
		}
	}
	return v;
}

#define JAT(v, ...) jat((v), (const char *const[]){__VA_ARGS__, NULL})

static const char *jclass(yajl_val v)
{
	yajl_val c = JAT(v, "error", "class");

	return c && YAJL_IS_STRING(c) ? c->u.string : "";
}

static unsigned long long jnum(yajl_val v)
{
	return v && YAJL_IS_NUMBER(v) ? strtoull(v->u.number.r, NULL, 10) : ~0ull;
}

static const char *jstr(yajl_val v)
{
	return v && YAJL_IS_STRING(v) ? v->u.string : "";
}

/* The error class of @req's reply. */
static void expect_error(const struct pctl_cfg *cfg, const char *req, const char *cls,
                         const char *in_desc)
{
	yajl_val v = jreply(cfg, req);

	CU_ASSERT_STRING_EQUAL(jclass(v), cls);
	if (in_desc)
		CU_ASSERT_PTR_NOT_NULL(strstr(jstr(JAT(v, "error", "desc")), in_desc));
	if (strcmp(jclass(v), cls) || (in_desc && !strstr(jstr(JAT(v, "error", "desc")), in_desc)))
		fprintf(stderr, "%s: got %s: %s\n", req, jclass(v), jstr(JAT(v, "error", "desc")));
	yajl_tree_free(v);
}

static void test_ctl_json(void)
{
	struct env t;
	struct vuctl_env env;
	struct pctl_cfg cfg;
	yajl_val v, c;
	char *out;
	size_t len;

	env_init(&t, false);
	vuctl_env_one(&env, t.vs);
	vuctl_cfg(&cfg, "unused", &env);
	tur_clear(&t, 0, 0);
	rw(&t, 2, 0, 0, 8, 4096, false);

	v = jreply(&cfg, "{\"command\":\"status\"}");
	c = JAT(v, "return", "controllers", "0");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "name")), "0");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "state")), "connected");
	CU_ASSERT_EQUAL(jnum(JAT(c, "queues")), NQ - 2);
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "initiator")), "0x0000000000004242");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "luns", "0", "lun")), "0:0");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "luns", "0", "spec")), "mem:4M");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "luns", "1", "lun")), "0:300");
	CU_ASSERT_EQUAL(JAT(c, "luns", "0", "read_only")->type, yajl_t_false);
	CU_ASSERT_EQUAL(JAT(v, "return", "luns")->u.array.len, 3);
	CU_ASSERT_PTR_NULL(JAT(v, "return", "luns", "0", "reservation", "persistent")->u.string);
	yajl_tree_free(v);

	/* The controller's counters: the TURs (a unit attention first) and the WRITE and READ. */
	v = jreply(&cfg, "{\"command\":\"stats\"}");
	c = JAT(v, "return", "controllers", "0");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(c, "name")), "0");
	CU_ASSERT_EQUAL(jnum(JAT(c, "bytes_written")), 4096);
	CU_ASSERT_EQUAL(jnum(JAT(c, "bytes_read")), 4096);
	CU_ASSERT_EQUAL(jnum(JAT(c, "commands")), jnum(JAT(c, "responses")));
	CU_ASSERT_TRUE(jnum(JAT(c, "commands")) >= 3);
	CU_ASSERT_EQUAL(jnum(JAT(c, "sense_keys", "Unit Attention")), 1);
	CU_ASSERT_EQUAL(JAT(c, "latency", "counts")->u.array.len, PVS_LAT_BUCKETS);
	CU_ASSERT_EQUAL(JAT(v, "return", "luns")->u.array.len, 3);
	yajl_tree_free(v);

	v = jreply(&cfg, "{\"command\":\"metrics\"}");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(JAT(v, "return", "text")),
	           "pvscsi_controller_written_bytes_total{controller=\"0\"} 4096\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(JAT(v, "return", "text")),
	           "pvscsi_controller_check_conditions_total{controller=\"0\",sense_key=\"Unit "
	           "Attention\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(JAT(v, "return", "text")),
	           "pvscsi_controller_lun_info{controller=\"0\",lun=\"0:300\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(JAT(v, "return", "text")),
	                              "pvscsi_controller_connected{controller=\"0\"} 1\n"));
	yajl_tree_free(v);

	v = jreply(&cfg, "{\"command\":\"log-level\",\"arguments\":{\"level\":\"warning\"}}");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(v, "return", "level")), "warning");
	yajl_tree_free(v);
	expect_error(&cfg, "{\"command\":\"log-level\",\"arguments\":{\"level\":5}}", PCTL_E_ARG,
	             "\"level\"");

	/* The management commands, and their arguments checked. */
	v = jreply(&cfg,
	           "{\"command\":\"add\",\"arguments\":{\"lun\":\"3:7\",\"spec\":\"mem:2M\"}}");
	CU_ASSERT_PTR_NOT_NULL(JAT(v, "return"));
	yajl_tree_free(v);
	expect_error(&cfg,
	             "{\"command\":\"add\",\"arguments\":{\"lun\":\"3:7\",\"spec\":\"mem:2M\"}}",
	             PCTL_E_FAILED, "3:7: already in use");
	expect_error(&cfg, "{\"command\":\"add\",\"arguments\":{\"lun\":5,\"spec\":\"mem:2M\"}}",
	             PCTL_E_ARG, "\"lun\" must be a string");
	expect_error(&cfg, "{\"command\":\"add\",\"arguments\":{\"lun\":\"3:8\"}}", PCTL_E_ARG,
	             "missing argument \"spec\"");
	expect_error(&cfg, "{\"command\":\"add\"}", PCTL_E_ARG, "missing argument \"lun\"");
	expect_error(&cfg,
	             "{\"command\":\"add\",\"arguments\":{\"lun\":\"3:8\",\"spec\":\"mem:1M\","
	             "\"size\":1}}",
	             PCTL_E_ARG, "unknown argument \"size\"");
	expect_error(&cfg,
	             "{\"command\":\"add\",\"arguments\":{\"controller\":\"0\",\"lun\":\"0/3:8\","
	             "\"spec\":\"mem:1M\"}}",
	             PCTL_E_ARG, "names a controller");
	expect_error(&cfg,
	             "{\"command\":\"add\",\"arguments\":{\"lun\":\"300:0\",\"spec\":\"mem:1M\"}}",
	             PCTL_E_FAILED, "bad target:lun '300:0'");
	v = jreply(&cfg, "{\"command\":\"list\",\"arguments\":{\"controller\":\"0\"}}");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(v, "return", "3", "lun")), "3:7");
	CU_ASSERT_EQUAL(jnum(JAT(v, "return", "3", "blocks")), 4096);
	CU_ASSERT_EQUAL(jnum(JAT(v, "return", "3", "users")), 1);
	yajl_tree_free(v);
	expect_error(&cfg, "{\"command\":\"list\",\"arguments\":{\"controller\":\"nosuch\"}}",
	             PCTL_E_FAILED, "no controller 'nosuch'");
	expect_error(&cfg, "{\"command\":\"list\",\"arguments\":{\"controller\":[]}}", PCTL_E_ARG,
	             "must be a string");
	v = jreply(&cfg, "{\"command\":\"resize\",\"arguments\":{\"lun\":\"0/3:7\"}}");
	CU_ASSERT_EQUAL(JAT(v, "return", "changed")->type, yajl_t_false);
	yajl_tree_free(v);
	v = jreply(&cfg, "{\"command\":\"remove\",\"arguments\":{\"lun\":\"3:7\"}}");
	CU_ASSERT_PTR_NOT_NULL(JAT(v, "return"));
	yajl_tree_free(v);
	expect_error(&cfg, "{\"command\":\"remove\",\"arguments\":{\"lun\":\"3:7\"}}",
	             PCTL_E_FAILED, "no LUN 3:7");
	expect_error(&cfg, "{\"command\":\"resize\",\"arguments\":{\"lun\":true}}", PCTL_E_ARG,
	             "\"lun\" must be a string");
	v = jreply(&cfg, "{\"command\":\"ctrl-list\"}");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(v, "return", "0", "name")), "0");
	CU_ASSERT_EQUAL(jnum(JAT(v, "return", "0", "luns")), 3);
	yajl_tree_free(v);
	/* vuctl_env_one() serves one controller: no ctrl-add, but its arguments are checked first.
	 */
	expect_error(&cfg,
	             "{\"command\":\"ctrl-add\",\"arguments\":{\"name\":\"x\",\"socket\":\"s\"}}",
	             PCTL_E_FAILED, "serves one controller");
	expect_error(&cfg,
	             "{\"command\":\"ctrl-add\",\"arguments\":{\"name\":\"x\",\"socket\":\"s\","
	             "\"queues\":\"2\"}}",
	             PCTL_E_ARG, "\"queues\" must be a non-negative integer");
	expect_error(&cfg,
	             "{\"command\":\"ctrl-add\",\"arguments\":{\"name\":\"x\",\"socket\":\"s\","
	             "\"queues\":-1}}",
	             PCTL_E_ARG, "\"queues\" must be");
	expect_error(&cfg,
	             "{\"command\":\"ctrl-add\",\"arguments\":{\"name\":\"x\",\"socket\":\"s\","
	             "\"queues\":1.5}}",
	             PCTL_E_ARG, "\"queues\" must be");
	expect_error(&cfg,
	             "{\"command\":\"ctrl-add\",\"arguments\":{\"name\":\"x\",\"socket\":\"s\","
	             "\"queues\":17}}",
	             PCTL_E_ARG, "expected 1 to 16");
	expect_error(&cfg, "{\"command\":\"ctrl-remove\",\"arguments\":{}}", PCTL_E_ARG,
	             "missing argument \"name\"");
	expect_error(&cfg, "{\"command\":\"ctrl-remove\",\"arguments\":{\"name\":\"0\"}}",
	             PCTL_E_FAILED, "serves one controller");
	/* The protocol's own errors. */
	expect_error(&cfg, "{\"command\":\"reboot\"}", PCTL_E_NOCMD, "no command \"reboot\"");
	expect_error(&cfg, "{\"command\":", PCTL_E_PARSE, "not JSON");
	expect_error(&cfg, "[\"status\"]", PCTL_E_INVALID, NULL);
	expect_error(&cfg, "{\"command\":\"status\",\"arguments\":{\"x\":1}}", PCTL_E_ARG,
	             "takes no arguments");
	expect_error(&cfg, "{\"command\":\"stats\",\"arguments\":[]}", PCTL_E_INVALID,
	             "not an object");
	/* A letter first: the line protocol, its reply as it always was. */
	CU_ASSERT_TRUE(pctl_is_line(&cfg, " list", 5));
	CU_ASSERT_FALSE(pctl_is_line(&cfg, " {", 2));
	CU_ASSERT_FALSE(pctl_is_line(&cfg, "", 0));
	CU_ASSERT_FATAL(pctl_reply(&cfg, "list", 4, &out, &len) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0:0 mem:4M blocks=8192 bs=512"));
	CU_ASSERT_EQUAL(len, strlen(out));
	CU_ASSERT_TRUE(len >= 3 && !strcmp(out + len - 3, "ok\n"));
	free(out);
	CU_ASSERT_FATAL(pctl_reply(&cfg, "frobnicate", 10, &out, &len) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "error: usage:"));
	free(out);
	plog_level(LOG_WARNING);
	env_fini(&t);
}

/* ---- CD-ROM medium changes (insert, eject) ---- */

/* A medium of @blocks 2048-byte blocks, each byte @fill. */
static void cd_image(const char *path, unsigned int blocks, int fill)
{
	uint8_t b[2048];
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	memset(b, fill, sizeof(b));
	for (unsigned int i = 0; i < blocks; i++)
		CU_ASSERT_FATAL(write(fd, b, sizeof(b)) == (ssize_t)sizeof(b));
	close(fd);
}

/* The first byte of block 0 of the drive at 4:@lun, or -1 with the sense key << 8 | ASC. */
static int cd_read(struct env *t, uint32_t lun, int *sense)
{
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct cmd c;

	cmd(t, 2, &c, 4, lun, rd, 10, 2048, false);
	*sense = c.r.status ? (c.r.sense[2] & 0xf) << 8 | c.r.sense[12] : 0;
	return c.r.status ? -1 : ((uint8_t *)fv_ptr(&t->m, c.data))[0];
}

static void cd_prevent(struct env *t, uint32_t lun, bool prevent)
{
	uint8_t cdb[6] = {0x1e, 0, 0, 0, prevent, 0};
	struct cmd c;

	cmd(t, 2, &c, 4, lun, cdb, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0);
}

/*
 * The control commands on cdrom: drives, as xl cd-insert and cd-eject: a
 * drive at start and one hot-added empty, media changed from the line and
 * JSON protocols, refused with nothing changed (no such LUN, not a drive,
 * a bad image, a guest preventing removal), forced, and what the guest sees.
 */
static void test_ctl_cd(void)
{
	struct env t;
	struct vuctl_env env;
	struct pctl_cfg cfg;
	char a[64], b[64], bad[64], cmdl[256], out[4096], want[512], req[512];
	yajl_val v, l;
	int sense;

	env_init(&t, false);
	vuctl_env_one(&env, t.vs);
	vuctl_cfg(&cfg, "unused", &env);
	snprintf(a, sizeof(a), "/tmp/vhost_scsi_ut.a.%d.iso", (int)getpid());
	snprintf(b, sizeof(b), "/tmp/vhost_scsi_ut.b.%d.iso", (int)getpid());
	snprintf(bad, sizeof(bad), "/tmp/vhost_scsi_ut.bad.%d.iso", (int)getpid());
	cd_image(a, 32, 'A');
	cd_image(b, 64, 'B');
	cd_image(bad, 0, 0);
	CU_ASSERT_FATAL(truncate(bad, 1000) == 0);

	snprintf(cmdl, sizeof(cmdl), "add 4:0 cdrom:%s", a);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "add 4:1 cdrom:", out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	snprintf(want, sizeof(want),
	         "4:0 cdrom:%s blocks=32 bs=2048 inflight=0 users=1 medium=%s tray=closed "
	         "prevented=0\n",
	         a, a);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "4:1 cdrom: blocks=0 bs=2048 inflight=0 users=1 "
	                                   "medium=- tray=closed prevented=0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0:0 mem:4M blocks=8192 bs=512 inflight=0 users=1\n"));
	tur_clear(&t, 4, 0);
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), 'A');

	/* Refused: nothing changes, and the reply names what was tried. */
	snprintf(cmdl, sizeof(cmdl), "insert 4:0 %s", bad);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), -EINVAL);
	snprintf(want, sizeof(want), "error: insert 4:0: cdrom image '%s': 1000 bytes", bad);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(cmdl, sizeof(cmdl), "insert 4:0 %s.nosuch", a);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".nosuch'"));
	snprintf(cmdl, sizeof(cmdl), "insert 0:0 %s", b);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), -ENOTTY);
	CU_ASSERT_STRING_EQUAL(out, "error: insert 0:0: mem:4M is not a cdrom: drive\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject 4:7", out, sizeof(out)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(out, "error: eject 4:7: no such LUN\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject x/4:0", out, sizeof(out)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(out, "error: eject x/4:0: no controller 'x'\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "insert 4:0", out, sizeof(out)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(out, "error: usage: insert [--force] [NAME/]T:L PATH\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject 4:0 now", out, sizeof(out)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(out, "error: usage: eject [--force] [NAME/]T:L\n");
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), 'A');

	/* The guest locks the door: only --force changes the medium. */
	cd_prevent(&t, 0, true);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject 4:0", out, sizeof(out)), -EBUSY);
	snprintf(want, sizeof(want),
	         "error: eject 4:0: a guest prevents medium removal (PREVENT ALLOW MEDIUM "
	         "REMOVAL), so %s was not ejected; the guest was sent an eject request; force to "
	         "eject anyway\n",
	         a);
	CU_ASSERT_STRING_EQUAL(out, want);
	snprintf(cmdl, sizeof(cmdl), "insert 4:0 %s", b);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "was not replaced"));
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "tray=closed prevented=1\n4:1"));
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), 'A');
	snprintf(cmdl, sizeof(cmdl), "insert --force 4:0 %s", b);
	CU_ASSERT_EQUAL(vuctl_exec(&env, cmdl, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "ok\n");
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	snprintf(want, sizeof(want),
	         "blocks=64 bs=2048 inflight=0 users=1 medium=%s tray=closed "
	         "prevented=0\n4:1",
	         b);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	/* The guest's next command hears of the change (28h), then reads the new medium. */
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), -1);
	CU_ASSERT_EQUAL(sense, 0x628);
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), 'B');
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject 4:0", out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(cd_read(&t, 0, &sense), -1);
	CU_ASSERT_EQUAL(sense, 0x23a);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "eject --force 4:0", out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(vuctl_exec(&env, "list", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "medium=- tray=open prevented=0\n4:1"));

	/* The JSON protocol: the same commands, the drive's state in the reply and listings. */
	snprintf(req, sizeof(req),
	         "{\"command\":\"insert\",\"arguments\":{\"lun\":\"4:1\",\"path\":\"%s\"}}", a);
	v = jreply(&cfg, req);
	l = JAT(v, "return");
	CU_ASSERT_EQUAL(JAT(l, "medium")->type, yajl_t_true);
	CU_ASSERT_STRING_EQUAL(jstr(JAT(l, "path")), a);
	CU_ASSERT_EQUAL(jnum(JAT(l, "blocks")), 32);
	CU_ASSERT_EQUAL(JAT(l, "tray_open")->type, yajl_t_false);
	CU_ASSERT_EQUAL(JAT(l, "prevented")->type, yajl_t_false);
	yajl_tree_free(v);
	tur_clear(&t, 4, 1);
	CU_ASSERT_EQUAL(cd_read(&t, 1, &sense), 'A');
	v = jreply(&cfg, "{\"command\":\"status\"}");
	l = JAT(v, "return", "controllers", "0", "luns");
	CU_ASSERT_FATAL(l && YAJL_IS_ARRAY(l) && l->u.array.len == 5);
	CU_ASSERT_STRING_EQUAL(jstr(JAT(l, "0", "lun")), "0:0");
	CU_ASSERT_PTR_NULL(JAT(l, "0", "cdrom"));
	CU_ASSERT_STRING_EQUAL(jstr(JAT(l, "3", "lun")), "4:0");
	CU_ASSERT_EQUAL(JAT(l, "3", "cdrom", "medium")->type, yajl_t_false);
	CU_ASSERT_EQUAL(JAT(l, "3", "cdrom", "tray_open")->type, yajl_t_true);
	CU_ASSERT_STRING_EQUAL(jstr(JAT(l, "3", "cdrom", "path")), "");
	CU_ASSERT_STRING_EQUAL(jstr(JAT(l, "4", "cdrom", "path")), a);
	yajl_tree_free(v);
	cd_prevent(&t, 1, true);
	v = jreply(&cfg, "{\"command\":\"list\"}");
	CU_ASSERT_EQUAL(JAT(v, "return", "4", "cdrom", "prevented")->type, yajl_t_true);
	CU_ASSERT_EQUAL(jnum(JAT(v, "return", "4", "cdrom", "blocks")), 32);
	yajl_tree_free(v);
	expect_error(&cfg, "{\"command\":\"eject\",\"arguments\":{\"lun\":\"4:1\"}}", PCTL_E_FAILED,
	             "eject 4:1: a guest prevents medium removal");
	expect_error(&cfg,
	             "{\"command\":\"eject\",\"arguments\":{\"lun\":\"4:1\",\"force\":\"yes\"}}",
	             PCTL_E_ARG, "\"force\" must be true or false");
	expect_error(&cfg, "{\"command\":\"eject\",\"arguments\":{\"lun\":\"4:1\",\"path\":\"x\"}}",
	             PCTL_E_ARG, "unknown argument \"path\"");
	expect_error(&cfg, "{\"command\":\"insert\",\"arguments\":{\"lun\":\"4:1\"}}", PCTL_E_ARG,
	             "missing argument \"path\"");
	snprintf(req, sizeof(req),
	         "{\"command\":\"insert\",\"arguments\":{\"lun\":\"0:0\",\"path\":\"%s\"}}", b);
	expect_error(&cfg, req, PCTL_E_FAILED, "insert 0:0: mem:4M is not a cdrom: drive");
	expect_error(&cfg, "{\"command\":\"insert\",\"arguments\":{\"lun\":\"4:1\",\"path\":\"\"}}",
	             PCTL_E_FAILED, "insert 4:1: no image named");
	CU_ASSERT_EQUAL(cd_read(&t, 1, &sense), 'A');
	v = jreply(&cfg, "{\"command\":\"eject\",\"arguments\":{\"controller\":\"0\",\"lun\":"
	                 "\"4:1\",\"force\":true}}");
	CU_ASSERT_EQUAL(JAT(v, "return", "medium")->type, yajl_t_false);
	CU_ASSERT_EQUAL(JAT(v, "return", "tray_open")->type, yajl_t_true);
	CU_ASSERT_EQUAL(JAT(v, "return", "prevented")->type, yajl_t_false);
	yajl_tree_free(v);
	unlink(a);
	unlink(b);
	unlink(bad);
	env_fini(&t);
}

/* The socket: JSON requests on one connection; a line request is answered and the connection
 * closed. */
static void test_ctl_socket(void)
{
	struct env t;
	struct vuctl_env env;
	struct pctl_cfg cfg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pctl *s;
	char path[64], buf[8192], err[256];
	size_t got = 0;
	int fd;

	env_init(&t, false);
	vuctl_env_one(&env, t.vs);
	snprintf(path, sizeof(path), "/tmp/vhost_scsi_ut.ctl.%d", (int)getpid());
	vuctl_cfg(&cfg, path, &env);
	CU_ASSERT_FATAL(pctl_open(&cfg, &s, err, sizeof(err)) == 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_EQUAL(
	    send(fd, "{\"command\":\"ctrl-list\"}\n{\"command\":\"nope\"}\nlist\n", 48, 0), 48);
	for (int i = 0; i < 200; i++) {
		ssize_t n;

		pctl_handle(s);
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (n == 0)
			break; /* closed after the line reply */
		if (n > 0)
			got += (size_t)n;
		else
			usleep(5000);
	}
	buf[got] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"return\":[{\"name\":\"0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"class\":\"CommandNotFound\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "0:0 mem:4M blocks=8192"));
	CU_ASSERT_TRUE(got >= 3 && !strcmp(buf + got - 3, "ok\n"));
	pctl_handle(s);
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	close(fd);
	pctl_close(s);
	env_fini(&t);
}

static void test_restart_inflight(void)
{
	struct env t;
	struct vscsi *old_vs;
	struct vu_dev *old_dev;
	struct pvs_worker *old_w;
	struct cmd c[4];
	uint8_t wr[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	struct vscsi_cfg cfg = {0};
	char spec[128];
	uint32_t id, len;

	env_init(&t, true);
	tur_clear(&t, 1, 0);
	/* Four WRITEs to the file LUN, in flight (submitted, never reaped) when the back-end dies.
	 */
	for (int i = 0; i < 4; i++) {
		wr[5] = (uint8_t)(i * 8);
		cmd_queue(&t, 2, &c[i], 1, 0, wr, 10, 4096, true, false);
		memset(fv_ptr(&t.m, c[i].data), 0x30 + i, 4096);
	}
	vscsi_kick(t.vs, 2);
	CU_ASSERT_EQUAL(vscsi_inflight(t.vs), 4);
	CU_ASSERT_FALSE(fv_vq_get_used(&t.vq[2], &id, &len));

	/* The old back-end is gone: its worker is never polled again. */
	old_vs = t.vs;
	old_dev = t.dev;
	old_w = t.w;
	fv_front_fini(&t.f);
	CU_ASSERT_FATAL(pvs_worker_new(64, &t.w) == 0);
	cfg.worker = t.w;
	cfg.initiator = 0x4242;
	cfg.num_queues = NQ - 2;
	CU_ASSERT_FATAL(vscsi_new(&cfg, &t.vs) == 0);
	snprintf(spec, sizeof(spec), "file:%s", t.file);
	CU_ASSERT_FATAL(vscsi_lun_add(t.vs, 1, 0, spec, NULL, 0) == 0);
	/* The front-end reconnects: same memory, same rings, same inflight fd. */
	for (int i = 0; i < NQ; i++) {
		close(t.fds[i].kick);
		close(t.fds[i].call);
	}
	env_connect(&t, true);
	settle(&t);
	/* The four were resubmitted and each answered once. */
	collect(&t, 2, c, 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(c[i].r.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_FALSE(fv_vq_get_used(&t.vq[2], &id, &len));
	tur_clear(&t, 1, 0);
	for (int i = 0; i < 4; i++) {
		struct cmd r;

		rd[5] = (uint8_t)(i * 8);
		cmd(&t, 2, &r, 1, 0, rd, 10, 4096, false);
		CU_ASSERT_EQUAL(r.r.status, 0);
		CU_ASSERT_EQUAL(((uint8_t *)fv_ptr(&t.m, r.data))[4095], 0x30 + i);
	}
	/* The old one's requests still end (into its own, abandoned, queue state). */
	vu_dev_free(old_dev);
	vscsi_attach(old_vs, NULL);
	vscsi_free(old_vs);
	pvs_worker_free(old_w);
	env_fini(&t);
}

/*
 * An answer pushed while the driver's event said "not yet", then the
 * driver re-arms behind it without seeing it (a one-vCPU TCG guest of
 * QEMU before 8.1, whose barriers are no-ops): after an idle spell the
 * controller calls once (vscsi_recheck_calls()), counted in late_calls.
 */
static void test_late_call(void)
{
	static const uint8_t tur[6] = {0};
	struct env t;
	struct cmd c;
	struct vscsi_stats st0, st;
	uint16_t *used_event;

	env_init(&t, false);
	used_event = &t.vq[2].avail->ring[NUM];
	tur_clear(&t, 0, 0);
	/* Whatever the fake driver's event left: settled before the case starts. */
	vscsi_recheck_calls(t.vs);
	while (called(&t, 2))
		;
	CU_ASSERT_FALSE(vscsi_unsignalled(t.vs));
	vscsi_get_stats(t.vs, &st0);
	/* The driver is busy: its event well ahead. */
	*used_event = htole16((uint16_t)(le16toh(t.vq[2].used->idx) + 8));
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	CU_ASSERT_EQUAL(c.r.status, 0);
	CU_ASSERT_FALSE(called(&t, 2));
	CU_ASSERT_TRUE(vscsi_unsignalled(t.vs));
	/* It re-armed at the answer before this one: it waits for this one. */
	*used_event = htole16((uint16_t)(le16toh(t.vq[2].used->idx) - 1));
	vscsi_recheck_calls(t.vs);
	CU_ASSERT_TRUE(called(&t, 2));
	CU_ASSERT_FALSE(vscsi_unsignalled(t.vs));
	vscsi_recheck_calls(t.vs);
	CU_ASSERT_FALSE(called(&t, 2));
	vscsi_get_stats(t.vs, &st);
	CU_ASSERT_EQUAL(st.late_calls - st0.late_calls, 1);

	/* A driver that took everything gets no late call. */
	*used_event = htole16((uint16_t)(le16toh(t.vq[2].used->idx) + 8));
	cmd(&t, 2, &c, 0, 0, tur, 6, 0, false);
	CU_ASSERT_TRUE(vscsi_unsignalled(t.vs));
	*used_event = t.vq[2].used->idx;
	vscsi_recheck_calls(t.vs);
	CU_ASSERT_FALSE(called(&t, 2));
	vscsi_get_stats(t.vs, &st);
	CU_ASSERT_EQUAL(st.late_calls - st0.late_calls, 1);
	env_fini(&t);
}

static const struct cu_test tests[] = {
    {"INQUIRY", test_inquiry},
    {"unit attention sense", test_unit_attention_and_sense},
    {"READ/WRITE on mem and file LUNs, two request queues", test_read_write},
    {"any layout of headers and data", test_any_layout},
    {"LUN addressing, REPORT LUNS, BAD_TARGET", test_addressing},
    {"hostile requests fail alone", test_hostile_requests},
    {"OVERRUN: the CDB needs more data than the buffers hold", test_overrun},
    {"every TMF, no task in flight", test_tmf_simple},
    {"TMFs on tasks in flight", test_tmf_in_flight},
    {"asynchronous notification", test_an},
    {"events: hotplug, param change, events missed", test_events},
    {"sg passthrough LUN", test_passthrough},
    {"sg passthrough: tape and changer tables", test_passthrough_device_types},
    {"control commands and config file", test_ctl},
    {"JSON control commands: each, bad arguments, the line protocol", test_ctl_json},
    {"control socket: JSON and line requests", test_ctl_socket},
    {"CD-ROM medium changes: insert, eject, refusals, --force", test_ctl_cd},
    {"back-end restart resubmits from the inflight region", test_restart_inflight},
    {"a late call to a driver that missed one", test_late_call},
};

int main(void)
{
	plog_level(LOG_WARNING);
	return CU_RUN("vhost_scsi", tests);
}
