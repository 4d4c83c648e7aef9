/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vscsi.c - the virtio-scsi device on the LUN core (see vscsi.h).
 *
 * Per command: pop the chain (vq.c validates and translates it), copy the
 * request header out once, route (channel 0, target, LUN) through the
 * v-dev map with the data iovecs pointing into guest memory, and on
 * completion write the response header, push the head and interrupt the
 * driver at most once per batch (vscsi_flush).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "virtio_scsi_proto.h"
#include "vscsi.h"
#include "log.h"
#include "sense_text.h"

/* Guest-triggered error lines per device before they are only counted (class 11). */
#define ERR_BUDGET   64
#define TMF_REQ_SIZE ((unsigned int)sizeof(struct virtio_scsi_ctrl_tmf_req))
#define AN_REQ_SIZE  ((unsigned int)sizeof(struct virtio_scsi_ctrl_an_req))
#define AN_RESP_SIZE ((unsigned int)sizeof(struct virtio_scsi_ctrl_an_resp))
#define EVENT_SIZE   ((unsigned int)sizeof(struct virtio_scsi_event))

enum { SLOT_FREE, SLOT_CMD, SLOT_TMF };

struct vs_queue;

struct vs_slot {
	struct pvs_req req;
	struct pvs_tmf tmf;
	struct vs_queue *q;
	struct vu_mem *mem; /* held while in flight: the iovecs point into it */
	struct iovec *iov;  /* the chain; data iovecs are a part of it */
	struct vu_elem e;
	uint8_t state;
	uint64_t tag;
	uint32_t target, lun;
	uint32_t data_in, data_out;
	uint64_t t_submit; /* pvs_now_ns() at submission, for the controller's latency */
	/* The writable part's entry cut at the end of the response header. */
	unsigned int cut;
	void *cut_base;
	size_t cut_len;
};

struct vs_queue {
	struct vscsi *vs;
	unsigned int idx;
	unsigned int num;
	struct vs_slot *slots;
	struct iovec *iovs;
	struct iovec *scratch; /* pop lands here, then moves to the head's slot */
	unsigned int inflight;
};

struct vscsi {
	struct vscsi_cfg cfg;
	struct vu_dev_ops ops;
	struct vu_dev *dev;
	struct pvs_host *host;
	bool own_host;
	struct pvs_map
	    *map; /* this controller's I_T nexus: its LUNs, numbered as the guest sees them */
	struct vs_queue q[VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES];
	bool events_missed;
	bool submitted;
	int err_budget;
	uint64_t dev_errors; /* psense_device_error's count */
	struct vscsi_stats st;
	struct vs_adding *adding; /* adds whose unit opens on a thread of the pool's */
};

struct vs_adding {
	struct vs_adding *next;
	struct vscsi *vs;
	uint32_t target, lun;
	struct pvs_unit_wait *wait;
	vscsi_added_fn done;
	void *arg;
};

#define vs_err(vs, ...)                                                                            \
	do {                                                                                       \
		if ((vs)->err_budget > 0) {                                                        \
			plog(LOG_ERR, __VA_ARGS__);                                                \
			if (--(vs)->err_budget == 0)                                               \
				plog(LOG_ERR, "further guest errors not logged");                  \
		}                                                                                  \
	} while (0)

/* ---- iovec helpers ---- */

static size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy((uint8_t *)buf + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, (const uint8_t *)buf + done, n);
		done += n;
	}
	return done;
}

/*
 * Skip @skip bytes of iov[0, cnt): returns the index of the entry where
 * the rest starts and shortens that entry in place (its original values
 * in *base and *len).  cnt when nothing is left.
 */
static unsigned int iov_skip(struct iovec *iov, unsigned int cnt, size_t skip, void **base,
                             size_t *len)
{
	unsigned int i = 0;

	*base = NULL;
	*len = 0;
	while (i < cnt && skip >= iov[i].iov_len) {
		skip -= iov[i].iov_len;
		i++;
	}
	if (i < cnt && skip) {
		*base = iov[i].iov_base;
		*len = iov[i].iov_len;
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
	}
	return i;
}

static bool target_exists(const struct vscsi *vs, uint32_t t)
{
	return pvs_map_target_exists(vs->map, 0, t);
}

/* ---- completion ---- */

static void push(struct vs_queue *q, struct vs_slot *s, uint32_t len)
{
	struct vu_queue *vq = &q->vs->dev->q[q->idx];

	vu_vq_push(&vq->vq, s->e.head, len);
	vu_mem_put(s->mem);
	s->mem = NULL;
	s->state = SLOT_FREE;
	q->inflight--;
}

static void cmd_respond(struct vs_slot *s, uint8_t response, uint8_t status, const uint8_t *sense,
                        unsigned int sense_len, uint32_t resid, uint32_t data_written)
{
	struct virtio_scsi_cmd_resp rsp;
	struct iovec *in = s->iov + s->e.out_num;

	if (s->cut_base) {
		in[s->cut].iov_base = s->cut_base;
		in[s->cut].iov_len = s->cut_len;
	}
	memset(&rsp, 0, sizeof(rsp)); /* class 8: nothing stale reaches the guest */
	if (sense_len > sizeof(rsp.sense))
		sense_len = sizeof(rsp.sense);
	if (sense_len)
		memcpy(rsp.sense, sense, sense_len);
	rsp.sense_len = htole32(sense_len);
	rsp.resid = htole32(resid);
	rsp.status = status;
	rsp.response = response;
	iov_from_buf(in, s->e.in_num, &rsp, sizeof(rsp));
	s->q->vs->st.responses++;
	push(s->q, s, VSP_CMD_RESP_SIZE + data_written);
}

static void cmd_done(struct pvs_req *req)
{
	struct vs_slot *s = req->opaque;
	uint32_t len = s->data_in + s->data_out;
	uint32_t resid = req->residual < len ? req->residual : len;
	uint32_t written = s->data_in ? s->data_in - resid : 0;
	uint64_t now = pvs_now_ns();

	char line[256];

	pvs_io_stats_add(&s->q->vs->st.io, req, now > s->t_submit ? now - s->t_submit : 0);
	/* A LUN's device errors in the log, in words. */
	if (psense_device_error(req, &s->q->vs->dev_errors, line, sizeof(line)))
		plog(LOG_WARNING, "LUN %u:%u: %s", s->target, s->lun, line);
	cmd_respond(s, vsp_cmd_response(req->host), req->status, req->sense, req->sense_len, resid,
	            written);
}

/* ---- requests ---- */

/*
 * virtio 1.2 5.6.6.1: VIRTIO_SCSI_S_OVERRUN "if the content of the CDB
 * (such as the allocation length, parameter length or transfer size)
 * requires more data than is available in the datain and dataout
 * buffers".  The core says what the CDB needs; the buffers in the other
 * direction hold none of it.  This covers data-in too, as QEMU's
 * virtio-scsi does: virtio's residual counts what the buffers did not
 * receive and cannot report data the device had to leave out.  Buffers
 * longer than the transfer are no error: the residual says so.
 */
static bool overrun(struct vscsi *vs, struct vs_queue *q, struct vs_slot *s,
                    const struct pvs_req *req)
{
	uint64_t need, have;
	uint8_t dir;

	if (!pvs_map_cdb_xfer(vs->map, 0, s->target, s->lun, req->cdb, req->cdb_len, &dir, &need) ||
	    dir == PVS_DIR_NONE)
		return false;
	have = dir == PVS_DIR_TO_DEV ? s->data_out : s->data_in;
	if (need <= have)
		return false;
	vs_err(vs,
	       "queue %u head %u: CDB %02xh for %u:%u needs %llu bytes of %s, the buffers hold "
	       "%llu: OVERRUN",
	       q->idx, s->e.head, req->cdb[0], s->target, s->lun, (unsigned long long)need,
	       dir == PVS_DIR_TO_DEV ? "data-out" : "data-in", (unsigned long long)have);
	return true;
}

static void handle_cmd(struct vs_queue *q, struct vs_slot *s)
{
	struct vscsi *vs = q->vs;
	struct virtio_scsi_cmd_req hdr;
	struct pvs_req *req = &s->req;
	struct iovec *out = s->iov, *in = s->iov + s->e.out_num;
	unsigned int ok, ik;
	void *b;
	size_t l;
	int rc;

	vs->st.requests++;
	if (s->e.out_len < VSP_CMD_REQ_SIZE || s->e.in_len < VSP_CMD_RESP_SIZE) {
		vs->st.bad_chains++;
		vs_err(vs, "queue %u head %u: %llu/%llu bytes, too short for the command headers",
		       q->idx, s->e.head, (unsigned long long)s->e.out_len,
		       (unsigned long long)s->e.in_len);
		push(q, s, 0);
		return;
	}
	/* The one read of the header; only the copy is used from here on. */
	iov_to_buf(out, s->e.out_num, &hdr, sizeof(hdr));
	s->tag = hdr.tag;
	s->data_out = (uint32_t)(s->e.out_len - VSP_CMD_REQ_SIZE);
	s->data_in = (uint32_t)(s->e.in_len - VSP_CMD_RESP_SIZE);
	ok = iov_skip(out, s->e.out_num, VSP_CMD_REQ_SIZE, &b, &l);
	ik = iov_skip(in, s->e.in_num, VSP_CMD_RESP_SIZE, &s->cut_base, &s->cut_len);
	s->cut = ik;
	if (!s->cut_base)
		s->cut = s->e.in_num; /* nothing was cut */
	s->state = SLOT_CMD;

	if (vsp_decode_lun(hdr.lun, &s->target, &s->lun) < 0) {
		vs->st.bad_target++;
		cmd_respond(s, VIRTIO_SCSI_S_BAD_TARGET, 0, NULL, 0, s->data_in + s->data_out, 0);
		return;
	}
	if (s->data_in && s->data_out) {
		/* Bidirectional needs VIRTIO_SCSI_F_INOUT, which is not offered. */
		vs_err(vs, "queue %u head %u: data-in and data-out without F_INOUT", q->idx,
		       s->e.head);
		cmd_respond(s, VIRTIO_SCSI_S_FAILURE, 0, NULL, 0, s->data_in + s->data_out, 0);
		return;
	}
	memset(req->cdb, 0, sizeof(req->cdb));
	memcpy(req->cdb, hdr.cdb, sizeof(hdr.cdb));
	req->cdb_len = (uint8_t)vsp_cdb_len(hdr.cdb, sizeof(hdr.cdb));
	if (overrun(vs, q, s, req)) {
		cmd_respond(s, VIRTIO_SCSI_S_OVERRUN, 0, NULL, 0, s->data_in + s->data_out, 0);
		return;
	}
	if (s->data_out) {
		req->dir = PVS_DIR_TO_DEV;
		req->iov = out + ok;
		req->iovcnt = s->e.out_num - ok;
	} else if (s->data_in) {
		req->dir = PVS_DIR_FROM_DEV;
		req->iov = in + ik;
		req->iovcnt = s->e.in_num - ik;
	} else {
		req->dir = PVS_DIR_NONE;
		req->iov = NULL;
		req->iovcnt = 0;
	}
	req->initiator = vs->cfg.initiator;
	/* Linux's virtio_scsi spends one descriptor per scatter-gather entry, whatever pages it
	 * touches. */
	req->max_xfer_blocks = 0;
	req->done = cmd_done;
	req->opaque = s;
	vs->submitted = true;
	s->t_submit = pvs_now_ns();
	/* May complete (cmd_done) before it returns. */
	rc = pvs_map_submit(vs->map, 0, s->target, s->lun, req);
	if (rc == -ENODEV) {
		vs->st.bad_target++;
		cmd_respond(s, VIRTIO_SCSI_S_BAD_TARGET, 0, NULL, 0, s->data_in + s->data_out, 0);
	} else if (rc) {
		cmd_respond(s, VIRTIO_SCSI_S_FAILURE, 0, NULL, 0, s->data_in + s->data_out, 0);
	}
}

/* ---- control queue ---- */

static void ctrl_respond(struct vs_slot *s, const void *rsp, unsigned int len)
{
	push(s->q, s, (uint32_t)iov_from_buf(s->iov + s->e.out_num, s->e.in_num, rsp, len));
}

static void tmf_respond(struct vs_slot *s, uint8_t response)
{
	struct virtio_scsi_ctrl_tmf_resp r = {response};

	ctrl_respond(s, &r, sizeof(r));
}

/* The command slot with this tag on this LUN: looked up, never indexed by the guest's number. */
static struct vs_slot *find_task(struct vscsi *vs, uint64_t tag, uint32_t t, uint32_t l)
{
	for (unsigned int qi = VSCSI_REQ_Q0; qi < VSCSI_REQ_Q0 + vs->cfg.num_queues; qi++) {
		struct vs_queue *q = &vs->q[qi];

		for (unsigned int i = 0; q->slots && i < q->num; i++)
			if (q->slots[i].state == SLOT_CMD && q->slots[i].tag == tag &&
			    q->slots[i].target == t && q->slots[i].lun == l)
				return &q->slots[i];
	}
	return NULL;
}

static void tmf_done(struct pvs_tmf *tmf)
{
	struct vs_slot *s = tmf->opaque;

	tmf_respond(s, vsp_tmf_response(tmf->result));
}

static void handle_tmf(struct vs_queue *q, struct vs_slot *s)
{
	struct vscsi *vs = q->vs;
	struct virtio_scsi_ctrl_tmf_req r;
	enum pvs_tmf_fn fn;
	struct vs_slot *task = NULL;
	int rc;

	vs->st.tmfs++;
	if (s->e.out_len < TMF_REQ_SIZE || s->e.in_len < sizeof(struct virtio_scsi_ctrl_tmf_resp)) {
		vs->st.bad_chains++;
		vs_err(vs, "control queue head %u: TMF buffers too short", s->e.head);
		push(q, s, 0);
		return;
	}
	iov_to_buf(s->iov, s->e.out_num, &r, sizeof(r));
	s->state = SLOT_TMF;
	if (vsp_decode_lun(r.lun, &s->target, &s->lun) < 0 || !target_exists(vs, s->target)) {
		tmf_respond(s, VIRTIO_SCSI_S_BAD_TARGET);
		return;
	}
	if (vsp_tmf_fn(le32toh(r.subtype), &fn) < 0) {
		tmf_respond(s, VIRTIO_SCSI_S_FUNCTION_REJECTED);
		return;
	}
	if (fn == PVS_TMF_ABORT_TASK || fn == PVS_TMF_QUERY_TASK)
		task = find_task(vs, le64toh(r.tag), s->target, s->lun);
	memset(&s->tmf, 0, sizeof(s->tmf));
	s->tmf.fn = fn;
	s->tmf.initiator = vs->cfg.initiator;
	/* NULL when the task is not (or no longer) there: the core answers FUNCTION COMPLETE. */
	s->tmf.task = task ? &task->req : NULL;
	s->tmf.done = tmf_done;
	s->tmf.opaque = s;
	vs->submitted = true;
	/* I_T NEXUS RESET: every LUN of the target, in the core (SAM-5 7.6). */
	rc = pvs_map_tmf(vs->map, 0, s->target, s->lun, &s->tmf);
	if (rc == -ENODEV)
		tmf_respond(s, VIRTIO_SCSI_S_BAD_TARGET);
	else if (rc)
		tmf_respond(s, VIRTIO_SCSI_S_INCORRECT_LUN);
}

/* virtio 1.1 5.6.6.2.1: no asynchronous events are supported, so none is ever reported. */
static void handle_an(struct vs_queue *q, struct vs_slot *s)
{
	struct vscsi *vs = q->vs;
	struct virtio_scsi_ctrl_an_req r;
	struct virtio_scsi_ctrl_an_resp rsp;

	vs->st.an++;
	if (s->e.out_len < AN_REQ_SIZE || s->e.in_len < AN_RESP_SIZE) {
		vs->st.bad_chains++;
		vs_err(vs, "control queue head %u: AN buffers too short", s->e.head);
		push(q, s, 0);
		return;
	}
	iov_to_buf(s->iov, s->e.out_num, &r, sizeof(r));
	memset(&rsp, 0, sizeof(rsp));
	rsp.event_actual = 0;
	if (vsp_decode_lun(r.lun, &s->target, &s->lun) < 0 || !target_exists(vs, s->target))
		rsp.response = VIRTIO_SCSI_S_BAD_TARGET;
	else
		rsp.response = VIRTIO_SCSI_S_OK;
	ctrl_respond(s, &rsp, sizeof(rsp));
}

static void handle_ctrl(struct vs_queue *q, struct vs_slot *s)
{
	struct vscsi *vs = q->vs;
	uint32_t type;

	if (s->e.out_len < sizeof(type)) {
		vs->st.bad_chains++;
		vs_err(vs, "control queue head %u: no request type", s->e.head);
		push(q, s, 0);
		return;
	}
	iov_to_buf(s->iov, s->e.out_num, &type, sizeof(type));
	switch (le32toh(type)) {
	case VIRTIO_SCSI_T_TMF:
		handle_tmf(q, s);
		break;
	case VIRTIO_SCSI_T_AN_QUERY:
	case VIRTIO_SCSI_T_AN_SUBSCRIBE:
		handle_an(q, s);
		break;
	default:
		vs->st.bad_chains++;
		vs_err(vs, "control queue head %u: unknown request type %u", s->e.head,
		       le32toh(type));
		push(q, s, 0);
		break;
	}
}

/* ---- event queue ---- */

/* Deliver one event, or remember that one was lost (virtio 1.1 5.6.6.3). */
static void send_event(struct vscsi *vs, uint32_t event, uint32_t target, uint32_t lun,
                       uint32_t reason)
{
	struct vs_queue *q = &vs->q[VSCSI_EVENT_Q];
	struct vu_queue *vq = vs->dev ? vu_dev_queue(vs->dev, VSCSI_EVENT_Q) : NULL;
	struct virtio_scsi_event ev;
	struct vu_elem e;

	if (!vq || !q->scratch) {
		vs->events_missed = true;
		vs->st.events_lost++;
		return;
	}
	for (;;) {
		int rc = vu_vq_pop(&vq->vq, vs->dev->mem, &e, q->scratch, q->num);

		if (rc == VU_POP_EMPTY || rc == VU_POP_BROKEN) {
			vs->events_missed = true;
			vs->st.events_lost++;
			return;
		}
		if (rc == VU_POP_OK && e.out_num == 0 && e.in_len >= EVENT_SIZE)
			break;
		vs->st.bad_chains++;
		vs_err(vs, "event queue head %u: %s", e.head,
		       rc == VU_POP_BAD ? vq->vq.err : "not one writable event buffer");
		vu_vq_push(&vq->vq, e.head, 0);
	}
	memset(&ev, 0, sizeof(ev));
	ev.event = htole32(event | (vs->events_missed ? VIRTIO_SCSI_T_EVENTS_MISSED : 0));
	if (event != VIRTIO_SCSI_T_NO_EVENT)
		vsp_encode_lun(ev.lun, target, lun);
	ev.reason = htole32(reason);
	vs->events_missed = false;
	iov_from_buf(q->scratch, e.in_num, &ev, sizeof(ev));
	vu_vq_push(&vq->vq, e.head, EVENT_SIZE);
	vs->st.events++;
	vscsi_flush(vs);
}

/* ---- queue processing ---- */

static void process(struct vscsi *vs, unsigned int qi)
{
	struct vs_queue *q = &vs->q[qi];
	struct vu_queue *vq = vu_dev_queue(vs->dev, qi);
	unsigned int budget;

	if (!vq || !q->slots)
		return;
	budget = 2 * q->num;
	for (;;) {
		struct vu_elem e;
		struct vs_slot *s;
		int rc = vu_vq_pop(&vq->vq, vs->dev->mem, &e, q->scratch, q->num);

		if (rc == VU_POP_EMPTY) {
			if (vu_vq_arm(&vq->vq))
				continue;
			break;
		}
		if (rc == VU_POP_BROKEN) {
			vs_err(vs, "queue %u broken: %s", qi, vq->vq.err);
			break;
		}
		s = &q->slots[e.head];
		s->e = e;
		s->mem = vu_mem_get(vs->dev->mem);
		s->cut_base = NULL;
		memcpy(s->iov, q->scratch, (e.out_num + e.in_num) * sizeof(struct iovec));
		q->inflight++;
		if (rc == VU_POP_BAD) {
			vs->st.bad_chains++;
			vs_err(vs, "queue %u head %u: %s", qi, e.head, vq->vq.err);
			push(q, s, 0);
		} else if (qi == VSCSI_CTRL_Q) {
			handle_ctrl(q, s);
		} else {
			handle_cmd(q, s);
		}
		if (--budget == 0) {
			/* Fairness: come back through the event loop, as if kicked again. */
			if (vq->kick_fd >= 0)
				eventfd_write(vq->kick_fd, 1);
			break;
		}
	}
	if (vs->submitted) {
		vs->submitted = false;
		pvs_worker_flush(vs->cfg.worker);
	}
	vscsi_flush(vs);
}

void vscsi_kick(struct vscsi *vs, unsigned int qi)
{
	if (!vs->dev || qi >= VSCSI_REQ_Q0 + vs->cfg.num_queues)
		return;
	if (qi == VSCSI_EVENT_Q) {
		/* New event buffers: report what was lost meanwhile (QEMU does the same). */
		if (vs->events_missed)
			send_event(vs, VIRTIO_SCSI_T_NO_EVENT, 0, 0, 0);
		return;
	}
	process(vs, qi);
}

void vscsi_flush(struct vscsi *vs)
{
	if (!vs->dev)
		return;
	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + vs->cfg.num_queues; i++) {
		struct vu_queue *vq = &vs->dev->q[i];

		if (vq->vq.push_pending && vu_vq_need_call(&vq->vq)) {
			vu_dev_call(vs->dev, i);
			vs->st.calls++;
		}
	}
}

bool vscsi_unsignalled(const struct vscsi *vs)
{
	if (!vs->dev)
		return false;
	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + vs->cfg.num_queues; i++)
		if (vs->dev->q[i].vq.unsignalled)
			return true;
	return false;
}

void vscsi_recheck_calls(struct vscsi *vs)
{
	if (!vs->dev)
		return;
	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + vs->cfg.num_queues; i++) {
		if (vu_vq_recheck(&vs->dev->q[i].vq)) {
			vu_dev_call(vs->dev, i);
			vs->st.calls++;
			vs->st.late_calls++;
		}
	}
}

static void free_queue(struct vs_queue *q)
{
	free(q->slots);
	free(q->iovs);
	free(q->scratch);
	q->slots = NULL;
	q->iovs = NULL;
	q->scratch = NULL;
	q->num = 0;
}

static void op_queue_start(void *opaque, unsigned int qi)
{
	struct vscsi *vs = opaque;
	struct vs_queue *q = &vs->q[qi];
	unsigned int num = vs->dev->q[qi].vq.num;

	if (qi >= VSCSI_REQ_Q0 + vs->cfg.num_queues)
		return;
	if (q->num != num) {
		if (q->inflight) {
			plog(LOG_ERR, "queue %u: resized with requests in flight", qi);
			return;
		}
		free_queue(q);
		q->slots = calloc(num, sizeof(*q->slots));
		q->iovs = calloc((size_t)num * num, sizeof(*q->iovs));
		q->scratch = calloc(num, sizeof(*q->scratch));
		if (!q->slots || !q->iovs || !q->scratch) {
			plog(LOG_ERR, "queue %u: no memory for %u slots", qi, num);
			free_queue(q);
			return;
		}
		q->num = num;
		for (unsigned int i = 0; i < num; i++) {
			q->slots[i].q = q;
			q->slots[i].iov = q->iovs + (size_t)i * num;
		}
	}
	plog(LOG_DEBUG, "queue %u started (%u entries)", qi, num);
	if (qi == VSCSI_EVENT_Q)
		vscsi_kick(vs, qi);
	else
		process(vs, qi);
}

static void op_queue_stop(void *opaque, unsigned int qi)
{
	struct vscsi *vs = opaque;
	struct vs_queue *q = &vs->q[qi];
	int waited = 0;

	if (qi >= VSCSI_REQ_Q0 + vs->cfg.num_queues)
		return;
	/* Class 13: nothing may complete into a ring or memory the front-end took back. */
	while (q->inflight) {
		pvs_worker_wait(vs->cfg.worker, 100);
		vscsi_flush(vs);
		if (++waited % 100 == 0)
			plog(LOG_INFO, "queue %u: waiting for %u requests to end", qi, q->inflight);
	}
	vscsi_flush(vs);
}

static int op_get_config(void *opaque, uint8_t *buf, uint32_t off, uint32_t len)
{
	struct vscsi *vs = opaque;
	struct virtio_scsi_config c;

	if (off > sizeof(c) || len > sizeof(c) - off)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.num_queues = htole32(vs->cfg.num_queues);
	c.seg_max = htole32(vs->cfg.seg_max);
	c.max_sectors = htole32(vs->cfg.max_sectors);
	c.cmd_per_lun = htole32(vs->cfg.cmd_per_lun);
	c.event_info_size = htole32(EVENT_SIZE);
	c.sense_size = htole32(VIRTIO_SCSI_SENSE_DEFAULT_SIZE);
	c.cdb_size = htole32(VIRTIO_SCSI_CDB_DEFAULT_SIZE);
	c.max_channel = 0;
	c.max_target = htole16(VSP_MAX_TARGET);
	c.max_lun = htole32(VSP_MAX_LUN);
	memcpy(buf, (uint8_t *)&c + off, len);
	return 0;
}

/* virtio 1.1 5.6.4: the driver may write sense_size and cdb_size; only the defaults are served. */
static int op_set_config(void *opaque, const uint8_t *buf, uint32_t off, uint32_t len,
                         uint32_t flags)
{
	uint8_t cur[sizeof(struct virtio_scsi_config)];

	(void)flags;
	if (off > sizeof(cur) || len > sizeof(cur) - off)
		return -EINVAL;
	op_get_config(opaque, cur, 0, sizeof(cur));
	return memcmp(cur + off, buf, len) ? -ENOTSUP : 0;
}

static void op_kick_fd(void *opaque, unsigned int q, int fd)
{
	struct vscsi *vs = opaque;

	if (vs->cfg.kick_fd)
		vs->cfg.kick_fd(vs->cfg.kick_arg, q, fd);
}

int vscsi_new(const struct vscsi_cfg *cfg, struct vscsi **out)
{
	struct vscsi *vs;

	if (!cfg->worker || cfg->num_queues == 0 || cfg->num_queues > VSCSI_MAX_REQ_QUEUES)
		return -EINVAL;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->cfg = *cfg;
	vs->host = cfg->host;
	if (!vs->host) {
		struct pvs_host_cfg hc = {.worker = cfg->worker};

		if (pvs_host_new(&hc, &vs->host)) {
			free(vs);
			return -ENOMEM;
		}
		vs->own_host = true;
	}
	if (pvs_host_map_new(vs->host, cfg->initiator, &vs->map)) {
		if (vs->own_host)
			pvs_host_free(vs->host);
		free(vs);
		return -ENOMEM;
	}
	if (!vs->cfg.seg_max)
		vs->cfg.seg_max = 126;
	if (!vs->cfg.max_sectors)
		vs->cfg.max_sectors = 0xffff;
	if (!vs->cfg.cmd_per_lun)
		vs->cfg.cmd_per_lun = 128;
	vs->err_budget = ERR_BUDGET;
	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; i++) {
		vs->q[i].vs = vs;
		vs->q[i].idx = i;
	}
	vs->ops.features = 1ull << 32 /* VIRTIO_F_VERSION_1 */ |
	                   1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |
	                   1ull << VIRTIO_SCSI_F_HOTPLUG | 1ull << VIRTIO_SCSI_F_CHANGE;
	vs->ops.max_queues = VSCSI_REQ_Q0 + vs->cfg.num_queues;
	vs->ops.get_config = op_get_config;
	vs->ops.set_config = op_set_config;
	vs->ops.queue_start = op_queue_start;
	vs->ops.queue_stop = op_queue_stop;
	vs->ops.kick_fd = op_kick_fd;
	*out = vs;
	return 0;
}

const struct vu_dev_ops *vscsi_dev_ops(const struct vscsi *vs)
{
	return &vs->ops;
}

void vscsi_attach(struct vscsi *vs, struct vu_dev *d)
{
	vs->dev = d;
	vs->events_missed = false;
	if (!d)
		for (unsigned int i = 0; i < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; i++)
			free_queue(&vs->q[i]);
}

void vscsi_free(struct vscsi *vs)
{
	if (!vs)
		return;
	while (vs->adding) {
		struct vs_adding *a = vs->adding;

		vs->adding = a->next;
		pvs_unit_wait_cancel(a->wait);
		a->done(a->arg, -ECANCELED, "the controller was removed while its LUN opened");
		free(a);
	}
	/* The units go back to the pool, which closes each once no controller uses it. */
	pvs_map_free(vs->map);
	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; i++)
		free_queue(&vs->q[i]);
	if (vs->own_host) {
		/* Its LUNs were this device's alone: let their last requests end, then close. */
		pvs_host_drain(vs->host);
		pvs_host_free(vs->host);
	}
	free(vs);
}

static bool hotplug(const struct vscsi *vs)
{
	return vs->dev && vu_dev_has_feature(vs->dev, VIRTIO_SCSI_F_HOTPLUG);
}

static bool adding(const struct vscsi *vs, uint32_t target, uint32_t lun)
{
	for (const struct vs_adding *a = vs->adding; a; a = a->next)
		if (a->target == target && a->lun == lun)
			return true;
	return false;
}

/* What an add checks before it takes a unit; 0 or its error. */
static int add_check(struct vscsi *vs, uint32_t target, uint32_t lun, const char *spec, char *err,
                     size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (target > VSP_MAX_TARGET || lun > VSP_MAX_LUN)
		return -EINVAL;
	if (pvs_map_lookup(vs->map, 0, target, lun))
		return -EEXIST;
	if (adding(vs, target, lun)) {
		if (err && errlen)
			snprintf(err, errlen, "%u:%u: an add of it is under way", target, lun);
		return -EEXIST;
	}
	if (pvs_map_count(vs->map) >= VSCSI_MAX_LUNS)
		return -ENOSPC;
	if (!strncmp(spec, "iscsi://", 8) && !vs->cfg.iscsi_name[0]) {
		if (err && errlen)
			snprintf(
			    err, errlen,
			    "LUN spec '%s': an iSCSI LUN needs the guest's initiator name, and "
			    "this controller has none (--initiator-name, or ctrl-add's IQN)",
			    spec);
		return -EINVAL;
	}
	return 0;
}

/* Map the unit @u (one reference, taken over) at @target:@lun, and tell the driver. */
static int add_unit(struct vscsi *vs, uint32_t target, uint32_t lun, struct pvs_unit *u)
{
	int rc = pvs_map_attach(vs->map, 0, target, lun, u);

	if (rc) {
		pvs_unit_put(u);
		return rc;
	}
	if (hotplug(vs))
		send_event(vs, VIRTIO_SCSI_T_TRANSPORT_RESET, target, lun,
		           VIRTIO_SCSI_EVT_RESET_RESCAN);
	return 0;
}

int vscsi_lun_add(struct vscsi *vs, uint32_t target, uint32_t lun, const char *spec, char *err,
                  size_t errlen)
{
	struct pvs_unit *u;
	int rc = add_check(vs, target, lun, spec, err, errlen);

	if (rc)
		return rc;
	rc = pvs_host_unit_get_as(vs->host, spec, false, vs->cfg.iscsi_name, &u, err, errlen);
	if (rc)
		return rc;
	return add_unit(vs, target, lun, u);
}

static void added(void *arg, struct pvs_unit *u, int rc, const char *err)
{
	struct vs_adding *a = arg, **pp;
	struct vscsi *vs = a->vs;
	char why[512];

	for (pp = &vs->adding; *pp && *pp != a; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = a->next;
	snprintf(why, sizeof(why), "%s", err);
	if (!rc) {
		rc = add_unit(vs, a->target, a->lun, u);
		if (rc)
			snprintf(why, sizeof(why), "%u:%u: %s", a->target, a->lun, strerror(-rc));
	}
	a->done(a->arg, rc, why);
	free(a);
}

int vscsi_lun_add_async(struct vscsi *vs, uint32_t target, uint32_t lun, const char *spec,
                        vscsi_added_fn done, void *arg, char *err, size_t errlen)
{
	struct vs_adding *a;
	struct pvs_unit *u;
	int rc = add_check(vs, target, lun, spec, err, errlen);

	if (rc)
		return rc;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->vs = vs;
	a->target = target;
	a->lun = lun;
	a->done = done;
	a->arg = arg;
	rc = pvs_host_unit_open(vs->host, spec, false, vs->cfg.iscsi_name, added, a, &u, &a->wait,
	                        err, errlen);
	if (rc == PVS_UNIT_PENDING) {
		a->next = vs->adding;
		vs->adding = a;
		return VSCSI_ADD_PENDING;
	}
	free(a);
	if (rc)
		return rc;
	return add_unit(vs, target, lun, u);
}

int vscsi_lun_remove(struct vscsi *vs, uint32_t target, uint32_t lun)
{
	/* Its requests still in flight hold the LUN open in the pool until they end. */
	if (pvs_map_detach(vs->map, 0, target, lun) != 0)
		return -ENOENT;
	if (hotplug(vs))
		send_event(vs, VIRTIO_SCSI_T_TRANSPORT_RESET, target, lun,
		           VIRTIO_SCSI_EVT_RESET_REMOVED);
	pvs_host_sweep(vs->host);
	return 0;
}

int vscsi_lun_refresh(struct vscsi *vs, uint32_t target, uint32_t lun)
{
	struct pvs_lun *l = pvs_map_lookup(vs->map, 0, target, lun);
	int rc;

	if (!l)
		return -ENOENT;
	rc = pvs_lun_refresh_capacity(l);
	/* SBC-4: CAPACITY DATA HAS CHANGED is 2Ah/09h. */
	if (rc == 1 && vs->dev && vu_dev_has_feature(vs->dev, VIRTIO_SCSI_F_CHANGE))
		send_event(vs, VIRTIO_SCSI_T_PARAM_CHANGE, target, lun,
		           vsp_param_reason(0x2a, 0x09));
	return rc;
}

int vscsi_lun_cd(struct vscsi *vs, uint32_t target, uint32_t lun, const char *path, bool force,
                 char *err, size_t errlen)
{
	struct pvs_lun *l = pvs_map_lookup(vs->map, 0, target, lun);

	if (err && errlen)
		err[0] = '\0';
	if (!l)
		return -ENOENT;
	return path ? pvs_lun_cd_insert(l, path, force, err, errlen)
	            : pvs_lun_cd_eject(l, force, err, errlen);
}

bool vscsi_lun_get(const struct vscsi *vs, unsigned int i, struct vscsi_lun_info *out)
{
	uint32_t channel;
	struct pvs_lun *l;
	struct pvs_unit *u;

	if (!pvs_map_get(vs->map, i, &channel, &out->target, &out->lun, &l))
		return false;
	u = pvs_map_unit(vs->map, channel, out->target, out->lun);
	out->unit = u;
	out->spec = u ? pvs_unit_spec(u) : "";
	out->blocks = pvs_lun_blocks(l);
	out->block_size = pvs_lun_block_size(l);
	out->inflight = pvs_lun_inflight(l);
	out->users = u ? pvs_unit_users(u) : 1;
	out->cdrom = pvs_lun_cd_status(l, &out->cd) == 0;
	return true;
}

void vscsi_get_stats(const struct vscsi *vs, struct vscsi_stats *out)
{
	*out = vs->st;
}

unsigned int vscsi_inflight(const struct vscsi *vs)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES; i++)
		n += vs->q[i].inflight;
	return n;
}

struct pvs_host *vscsi_host(const struct vscsi *vs)
{
	return vs->host;
}

unsigned int vscsi_num_queues(const struct vscsi *vs)
{
	return vs->cfg.num_queues;
}

uint64_t vscsi_initiator(const struct vscsi *vs)
{
	return vs->cfg.initiator;
}

const char *vscsi_iscsi_name(const struct vscsi *vs)
{
	return vs->cfg.iscsi_name;
}

struct pvs_map *vscsi_map(const struct vscsi *vs)
{
	return vs->map;
}
