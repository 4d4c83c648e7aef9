/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vscsi_fuzz.c - virtio-scsi requests (vhost-user/vscsi.c, the wire rules
 * of protocol/virtio_scsi_proto.c) on a device started the way QEMU starts
 * it (fake_vq.c over a socketpair, vu_dev.c), with mem: LUNs at 0:0 (whose
 * bytes the harness models), 0:300 and 1:0.
 *
 * Queues: 0 control, 1 event, 2 requests from a well-behaved driver, 3
 * requests from a hostile one.  Input: a sequence of
 *  - READ(10)/WRITE(10) to 0:0, header, data and response each cut into
 *    descriptors where the input says (virtio's any-layout), direct or
 *    indirect;
 *  - any command (LUN field, CDB, task attribute, data-out and data-in
 *    sizes of the input's, both at once too) to any LUN but 0:0;
 *  - control requests: every TMF subtype and AN, any LUN and tag (tags of
 *    requests in flight too), with buffers of any size;
 *  - event buffers, LUN hot add and remove, capacity refresh;
 *  - on queue 3: descriptors of any address, length, flags and next, and
 *    any head published, and avail index jumps (classes 2 and 12);
 *  - kicks of any queue.
 *
 * Checked: every chain queued on queues 0 and 2 comes back exactly once,
 * an event buffer at most once; the used length covers exactly what was
 * written: nothing past it in the writable buffers is touched, and the
 * readable buffers are never written; a command's response header has a
 * known response code, at most 96 sense bytes and a residual within its
 * data; a chain too short for its headers comes back with length 0; on
 * 0:0, a WRITE answered GOOD is what a later READ answered GOOD returns,
 * byte for byte; a hostile queue returns no head more often than it was
 * published and only heads in range; nothing is left in flight.
 */
#include <endian.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_vq.h"
#include "fz.h"
#include "virtio_scsi_proto.h"
#include "vscsi.h"
#include "log.h"

#define NQ       4
#define MAX_NUM  64
#define MAX_BUFS 8
#define CANARY   0x3c
#define MODEL    (64u << 10)
#define MAX_OPS  40
#define FEATURES (1ull << 32 | 1ull << VIRTIO_SCSI_F_HOTPLUG | 1ull << VIRTIO_SCSI_F_CHANGE)

enum kind { C_NONE, C_RW, C_CMD, C_CTRL, C_EVENT };

struct chain {
	enum kind kind;
	bool write; /* C_RW */
	uint32_t lba, len;
	unsigned int nbuf;
	struct fv_buf b[MAX_BUFS];
	uint32_t out_len, in_len;
	uint8_t out[VSP_CMD_REQ_SIZE + 8192]; /* what the readable buffers held */
};

struct env {
	struct fv_mem m;
	struct fv_front f;
	struct fv_vq vq[NQ];
	struct fv_queue_fds fds[NQ];
	struct vscsi *vs;
	struct vu_dev *dev;
	struct pvs_lun *lun00;
	int inflight_fd;
	struct chain c[NQ][MAX_NUM];
	uint8_t published[MAX_NUM]; /* queue 3: publishes per head not yet returned */
	uint8_t model[MODEL];
	bool hot;      /* 2:0 is there */
	bool lied;     /* queue 3's avail index was set by hand: heads not counted */
	bool indirect; /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
};

static struct pvs_worker *worker;
static struct env E;

static void log_sink(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	(void)line;
}

static void direct_done(struct pvs_req *req)
{
	(*(int *)req->opaque)++;
}

/* TEST UNIT READY straight to a LUN as the device's initiator: takes POWER ON. */
static void take_ua(struct pvs_lun *l)
{
	struct pvs_req req;
	int done = 0;

	memset(&req, 0, sizeof(req));
	req.cdb_len = 6;
	req.initiator = 0x77;
	req.done = direct_done;
	req.opaque = &done;
	pvs_submit(l, &req);
	FZ_CHECK(done == 1, "TEST UNIT READY: done() ran %d times", done);
}

/* Gather the bytes of the writable (or readable) buffers of @c into @dst. */
FZ_NOCOV static uint32_t gather(const struct chain *c, bool writable, uint8_t *dst, uint32_t max)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < c->nbuf; i++) {
		if (c->b[i].write != writable)
			continue;
		for (uint32_t k = 0; k < c->b[i].len && n < max; k++)
			dst[n++] = ((uint8_t *)fv_ptr(&E.m, c->b[i].gpa))[k];
	}
	return n;
}

/*
 * Lay @out_len bytes of @out and @in_len writable bytes (canary) over
 * buffers cut where the input says, and publish the chain on @q.
 */
FZ_NOCOV static struct chain *add_chain(struct fz *f, unsigned int q, enum kind kind,
                                        const uint8_t *out, uint32_t out_len, uint32_t in_len)
{
	struct fv_buf b[MAX_BUFS];
	unsigned int nout = out_len ? fz_range(f, 1, 4) : 0, nin = in_len ? fz_range(f, 1, 3) : 0;
	bool indirect = fz_bool(f) && E.indirect; /* only when negotiated */
	uint32_t off = 0;
	int head;
	struct chain *c;

	if (nout > out_len)
		nout = out_len;
	if (nin > in_len)
		nin = in_len;
	for (unsigned int i = 0; i < nout + nin; i++) {
		bool w = i >= nout;
		uint32_t total = w ? in_len : out_len, done = w ? off - out_len : off;
		unsigned int left = w ? nout + nin - i : nout - i;
		uint32_t len = left == 1 ? total - done : fz_range(f, 1, total - done - (left - 1));
		uint64_t gpa = fv_alloc(&E.m, 0, len, 1u << (fz_u8(f) % 4));

		if (!gpa)
			return NULL; /* guest memory used up */
		b[i] = (struct fv_buf){gpa, len, w};
		if (w)
			memset(fv_ptr(&E.m, gpa), CANARY, len);
		else
			memcpy(fv_ptr(&E.m, gpa), out + off, len);
		off += len;
	}
	if (nout + nin == 0)
		return NULL;
	head = fv_vq_add(&E.vq[q], b, nout + nin, indirect);
	if (head < 0)
		return NULL;
	c = &E.c[q][head];
	FZ_CHECK(c->kind == C_NONE, "queue %u: head %d handed out twice by the driver", q, head);
	c->kind = kind;
	c->nbuf = nout + nin;
	memcpy(c->b, b, sizeof(b));
	c->out_len = out_len;
	c->in_len = in_len;
	memcpy(c->out, out, out_len < sizeof(c->out) ? out_len : sizeof(c->out));
	return c;
}

static void encode_lun(uint8_t *lun, struct fz *f)
{
	uint8_t how = fz_u8(f);

	if (how < 0xe0) {
		static const uint32_t t[] = {0, 0, 1, 2, 7};
		static const uint32_t l[] = {300, 300, 0, 0, 5};

		vsp_encode_lun(lun, t[how % 5], l[how % 5]);
		if (how & 0x80)
			lun[2] |= 0x40; /* Linux uses flat space for every LUN */
	} else {
		fz_bytes(f, lun, 8);
	}
}

static void op_rw(struct fz *f)
{
	uint8_t msg[VSP_CMD_REQ_SIZE + 8192];
	struct virtio_scsi_cmd_req *req = (struct virtio_scsi_cmd_req *)msg;
	bool write = fz_bool(f);
	uint32_t blocks = fz_range(f, 1, 16), lba = fz_range(f, 0, MODEL / 512 + 4);
	uint32_t len = blocks * 512, in = VSP_CMD_RESP_SIZE;
	struct chain *c;

	if (fz_bool(f))
		len = fz_range(f, 0, 8192); /* a buffer that does not match the CDB */
	memset(msg, 0, sizeof(msg));
	vsp_encode_lun(req->lun, 0, 0);
	req->tag = htole64(fz_u64(f));
	req->cdb[0] = write ? 0x2a : 0x28;
	req->cdb[2] = (uint8_t)(lba >> 24);
	req->cdb[3] = (uint8_t)(lba >> 16);
	req->cdb[4] = (uint8_t)(lba >> 8);
	req->cdb[5] = (uint8_t)lba;
	req->cdb[8] = (uint8_t)blocks;
	for (uint32_t i = 0; write && i < len; i++)
		msg[VSP_CMD_REQ_SIZE + i] = (uint8_t)(i * 11 + lba + (i >> 9));
	if (!write)
		in += len;
	c = add_chain(f, 2, C_RW, msg, VSP_CMD_REQ_SIZE + (write ? len : 0), in);
	if (c) {
		c->write = write;
		c->lba = lba;
		c->len = blocks * 512;
	}
}

static void op_cmd(struct fz *f)
{
	uint8_t msg[VSP_CMD_REQ_SIZE + 4096];
	struct virtio_scsi_cmd_req *req = (struct virtio_scsi_cmd_req *)msg;
	uint32_t t, l, hdr = VSP_CMD_REQ_SIZE, out, in;
	uint8_t sizes = fz_u8(f);

	memset(msg, 0, sizeof(msg));
	encode_lun(req->lun, f);
	/* 0:0 belongs to the model: a command here could change it behind its back. */
	if (vsp_decode_lun(req->lun, &t, &l) == 0 && t == 0 && l == 0)
		req->lun[3] = 1;
	req->tag = htole64(fz_u64(f));
	req->task_attr = fz_u8(f);
	fz_bytes(f, req->cdb, fz_range(f, 1, sizeof(req->cdb)));
	out = sizes & 1 ? fz_range(f, 0, 4096) : 0;
	in = sizes & 2 ? fz_range(f, 0, 4096) : 0;
	fz_bytes(f, msg + hdr, out);
	if (sizes & 4)
		hdr = fz_range(f, 0, VSP_CMD_REQ_SIZE); /* a header cut short */
	if (hdr < VSP_CMD_REQ_SIZE)
		memmove(msg + hdr, msg + VSP_CMD_REQ_SIZE, out);
	add_chain(f, 2, C_CMD, msg, hdr + out,
	          (sizes & 8 ? fz_range(f, 0, VSP_CMD_RESP_SIZE) : VSP_CMD_RESP_SIZE) + in);
}

static void op_ctrl(struct fz *f)
{
	uint8_t msg[64];
	uint8_t how = fz_u8(f);
	uint32_t len, in;

	memset(msg, 0, sizeof(msg));
	if (how & 1) {
		struct virtio_scsi_ctrl_tmf_req *r = (struct virtio_scsi_ctrl_tmf_req *)msg;

		r->type = htole32(VIRTIO_SCSI_T_TMF);
		r->subtype = htole32(how & 2 ? fz_u32(f) : fz_u8(f) % 8);
		encode_lun(r->lun, f);
		r->tag = htole64(fz_u64(f));
		len = sizeof(*r);
		in = sizeof(struct virtio_scsi_ctrl_tmf_resp);
	} else {
		struct virtio_scsi_ctrl_an_req *r = (struct virtio_scsi_ctrl_an_req *)msg;

		r->type = htole32(how & 2 ? fz_u32(f) : 1 + fz_u8(f) % 2);
		encode_lun(r->lun, f);
		r->event_requested = htole32(fz_u32(f));
		len = sizeof(*r);
		in = sizeof(struct virtio_scsi_ctrl_an_resp);
	}
	if (how & 4)
		len = fz_range(f, 0, sizeof(msg));
	if (how & 8)
		in = fz_range(f, 0, 16);
	add_chain(f, 0, C_CTRL, msg, len, in);
}

/* Queue 3: descriptors the guest writes itself, in region 1 or anywhere. */
static void op_hostile(struct fz *f)
{
	struct fv_vq *q = &E.vq[3];

	for (unsigned int i = fz_range(f, 1, 6); i > 0; i--) {
		uint8_t how = fz_u8(f);
		unsigned int idx = fz_u8(f) % q->num;
		uint64_t addr =
		    how & 1 ? fz_u64(f) : FV_REGION1_GPA + fz_u32(f) % (FV_REGION_SIZE + 64);
		uint32_t len = how & 2 ? fz_u32(f) : fz_u16(f) % 4096;

		fv_vq_set_desc(q, NULL, idx, addr, len, fz_u16(f) & (how & 4 ? 0xffff : 7),
		               fz_u16(f));
	}
	if (fz_u8(f) % 8 == 0) {
		/* The avail index anywhere (class 2): whatever the ring holds is published. */
		E.lied = true;
		q->avail_idx = fz_u16(f);
		__atomic_store_n(&q->avail->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
	} else {
		uint16_t head = fz_u16(f);

		fv_vq_publish(q, head & 0x8000 ? head : head % q->num);
		if (head % q->num < MAX_NUM && !(head & 0x8000))
			E.published[head % q->num]++;
	}
}

static void op_hotplug(struct fz *f)
{
	uint8_t how = fz_u8(f);

	if (how % 3 == 0 && !E.hot) {
		char err[256];

		FZ_CHECK(vscsi_lun_add(E.vs, 2, 0, "mem:64K", err, sizeof(err)) == 0, "lun add: %s",
		         err);
		E.hot = true;
	} else if (how % 3 == 1 && E.hot) {
		FZ_CHECK(vscsi_lun_remove(E.vs, 2, 0) == 0, "lun remove");
		E.hot = false;
	} else {
		FZ_CHECK(vscsi_lun_refresh(E.vs, 1, 0) == 0, "refresh: the size did not change");
	}
}

FZ_NOCOV static void check_used(unsigned int q, uint32_t id, uint32_t len)
{
	static uint8_t in[8192 + 256];
	struct chain *c;
	uint32_t n;

	if (q == 3) {
		FZ_CHECK(id < E.vq[3].num, "hostile queue: head %u returned", id);
		if (id < MAX_NUM && !E.lied) {
			FZ_CHECK(E.published[id] > 0,
			         "hostile queue: head %u returned more often than "
			         "published",
			         id);
			E.published[id]--;
		}
		return;
	}
	FZ_CHECK(id < E.vq[q].num && E.c[q][id].kind != C_NONE,
	         "queue %u: head %u returned, not in flight", q, id);
	c = &E.c[q][id];
	n = gather(c, true, in, sizeof(in));
	FZ_CHECK(len <= c->in_len, "queue %u head %u: used %u of %u writable", q, id, len,
	         c->in_len);
	for (uint32_t i = len; i < n; i++)
		FZ_CHECK(in[i] == CANARY, "queue %u head %u: byte %u written past used length %u",
		         q, id, i, len);
	{
		static uint8_t out[sizeof(c->out)];
		uint32_t k = gather(c, false, out, sizeof(out));

		FZ_CHECK(memcmp(out, c->out, k) == 0, "queue %u head %u: a readable buffer written",
		         q, id);
	}
	if (c->kind == C_RW || c->kind == C_CMD) {
		struct virtio_scsi_cmd_resp r;

		if (c->out_len < VSP_CMD_REQ_SIZE || c->in_len < VSP_CMD_RESP_SIZE) {
			FZ_CHECK(len == 0, "head %u: a chain too short for the headers used %u", id,
			         len);
			goto done;
		}
		FZ_CHECK(len >= VSP_CMD_RESP_SIZE, "head %u: used %u, no room for the response", id,
		         len);
		memcpy(&r, in, sizeof(r));
		FZ_CHECK(r.response <= VIRTIO_SCSI_S_INCORRECT_LUN && le32toh(r.sense_len) <= 96,
		         "head %u: response %u sense_len %u", id, r.response, le32toh(r.sense_len));
		FZ_CHECK(le32toh(r.resid) <=
		             c->in_len - VSP_CMD_RESP_SIZE + (c->out_len - VSP_CMD_REQ_SIZE),
		         "head %u: residual %u", id, le32toh(r.resid));
		if (c->kind == C_RW && r.response == VIRTIO_SCSI_S_OK && r.status == 0) {
			FZ_CHECK(c->lba * 512 + c->len <= MODEL, "LBA %u + %u answered GOOD",
			         c->lba, c->len / 512);
			if (c->write) {
				memcpy(E.model + c->lba * 512, c->out + VSP_CMD_REQ_SIZE, c->len);
			} else {
				FZ_CHECK(len == VSP_CMD_RESP_SIZE + c->len, "READ used %u", len);
				FZ_CHECK(memcmp(in + VSP_CMD_RESP_SIZE, E.model + c->lba * 512,
				                c->len) == 0,
				         "READ of LBA %u: not what was written", c->lba);
			}
		}
	} else if (c->kind == C_CTRL && len) {
		uint32_t type = UINT32_MAX;

		if (c->out_len >= 4)
			memcpy(&type, c->out, 4);
		type = le32toh(type);
		/* TMF: one response byte; AN: event_actual (0: none supported), then the response.
		 */
		FZ_CHECK(type <= VIRTIO_SCSI_T_AN_SUBSCRIBE, "control type %u answered", type);
		if (type == VIRTIO_SCSI_T_TMF)
			FZ_CHECK(len == 1 && in[0] <= VIRTIO_SCSI_S_INCORRECT_LUN,
			         "TMF head %u: used %u response %u", id, len, in[0]);
		else
			FZ_CHECK(
			    len == sizeof(struct virtio_scsi_ctrl_an_resp) &&
			        !memcmp(in, "\0\0\0", 4) &&
			        (in[4] == VIRTIO_SCSI_S_OK || in[4] == VIRTIO_SCSI_S_BAD_TARGET),
			    "AN head %u: used %u response %u", id, len, in[4]);
	} else if (c->kind == C_EVENT) {
		FZ_CHECK(len == 0 || len == sizeof(struct virtio_scsi_event), "event used %u", len);
	}
done:
	c->kind = C_NONE;
}

static void collect(void)
{
	for (unsigned int q = 0; q < NQ; q++) {
		uint32_t id, len;

		while (fv_vq_get_used(&E.vq[q], &id, &len))
			check_used(q, id, len);
	}
}

static void settle(void)
{
	for (int i = 0; i < 100 && vscsi_inflight(E.vs); i++) {
		pvs_worker_poll(worker);
		vscsi_flush(E.vs);
	}
	FZ_CHECK(vscsi_inflight(E.vs) == 0, "%u requests never end", vscsi_inflight(E.vs));
	vscsi_flush(E.vs);
	collect();
}

static void kick(unsigned int q)
{
	vu_dev_kick_ack(E.dev, q);
	vscsi_kick(E.vs, q);
	settle();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vscsi_cfg cfg = {0};
	char err[256];
	struct fz f;
	uint8_t hdr;
	unsigned int num;
	uint64_t features = FEATURES;

	if (!worker) {
		if (pvs_worker_new(64, &worker))
			abort();
		/* Every line is still formatted, for the sanitizers; none is printed. */
		plog_open(&(const struct plog_cfg){0});
		plog_set_hook(log_sink, NULL);
	}
	memset(&E, 0, sizeof(E));
	fz_init(&f, data, size);
	hdr = fz_u8(&f);
	num = hdr & 1 ? 64 : 16;
	E.indirect = hdr & 2;
	if (E.indirect)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (hdr & 4)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	FZ_CHECK(fv_mem_init(&E.m) == 0, "fv_mem_init");
	for (unsigned int i = 0; i < NQ; i++)
		fv_vq_init(&E.vq[i], &E.m, num, i == 3);
	cfg.worker = worker;
	cfg.initiator = 0x77;
	cfg.num_queues = NQ - 2;
	FZ_CHECK(vscsi_new(&cfg, &E.vs) == 0, "vscsi_new");
	FZ_CHECK(vscsi_lun_add(E.vs, 0, 0, "mem:64K", err, sizeof(err)) == 0, "add 0:0: %s", err);
	E.lun00 = pvs_map_lookup(vscsi_map(E.vs), 0, 0, 0);
	take_ua(E.lun00);
	FZ_CHECK(vscsi_lun_add(E.vs, 0, 300, "mem:64K", err, sizeof(err)) == 0, "add 0:300: %s",
	         err);
	FZ_CHECK(vscsi_lun_add(E.vs, 1, 0, "mem:64K,bs=4096", err, sizeof(err)) == 0, "add 1:0: %s",
	         err);
	FZ_CHECK(fv_front_init(&E.f) == 0, "fv_front_init");
	FZ_CHECK(vu_dev_new(E.f.back, vscsi_dev_ops(E.vs), E.vs, &E.dev) == 0, "vu_dev_new");
	vscsi_attach(E.vs, E.dev);
	E.f.dev = E.dev;
	E.inflight_fd = -1;
	for (unsigned int i = 0; i < NQ; i++)
		E.fds[i] = (struct fv_queue_fds){-1, -1};
	FZ_CHECK(fv_start(&E.f, &E.m, E.vq, NQ, features, E.fds, hdr & 8 ? &E.inflight_fd : NULL) ==
	             0,
	         "fv_start");

	for (unsigned int n = 0; n < MAX_OPS && !fz_empty(&f); n++) {
		uint8_t op = fz_u8(&f);

		switch (op % 10) {
		case 0:
		case 1:
			op_rw(&f);
			break;
		case 2:
		case 3:
			op_cmd(&f);
			break;
		case 4:
			op_ctrl(&f);
			break;
		case 5: {
			uint8_t zero[1] = {0};

			add_chain(&f, 1, C_EVENT, zero, 0,
			          fz_bool(&f) ? sizeof(struct virtio_scsi_event)
			                      : fz_range(&f, 1, 40));
			break;
		}
		case 6:
			op_hostile(&f);
			break;
		case 7:
			op_hotplug(&f);
			settle();
			break;
		default:
			kick(fz_u8(&f) % NQ);
			break;
		}
	}
	for (unsigned int q = 0; q < NQ; q++)
		kick(q);
	/* The well-behaved driver's requests all came back; event buffers wait for events. */
	for (unsigned int h = 0; h < num; h++)
		FZ_CHECK(E.c[0][h].kind == C_NONE && E.c[2][h].kind == C_NONE,
		         "head %u never came back (control %d, request %d)", h, E.c[0][h].kind,
		         E.c[2][h].kind);
	FZ_CHECK(!E.dev->q[2].vq.broken && !E.dev->q[0].vq.broken, "a well-behaved queue broke: %s",
	         E.dev->q[2].vq.err ? E.dev->q[2].vq.err : E.dev->q[0].vq.err);

	vu_dev_free(E.dev);
	vscsi_attach(E.vs, NULL);
	vscsi_free(E.vs);
	fv_front_fini(&E.f);
	for (unsigned int i = 0; i < NQ; i++) {
		close(E.fds[i].kick);
		close(E.fds[i].call);
	}
	if (E.inflight_fd >= 0)
		close(E.inflight_fd);
	fv_mem_fini(&E.m);
	return 0;
}
