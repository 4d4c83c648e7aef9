/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lun_harness.c - see lun_harness.h.
 */
#include <stdio.h>
#include <string.h>

#include "lun_harness.h"
#include "pvscsi/sense.h"

int lh_open(struct lh *h, const char *spec, const struct pvs_lun_opts *opts)
{
	char err[256];
	int rc;

	memset(h, 0, sizeof(*h));
	rc = pvs_worker_new(64, &h->w);
	if (rc)
		return rc;
	rc = pvs_lun_open(h->w, spec, opts, &h->lun, err, sizeof(err));
	if (rc) {
		pvs_worker_free(h->w);
		h->w = NULL;
	}
	return rc;
}

void lh_close(struct lh *h)
{
	if (h->lun)
		pvs_lun_close(h->lun);
	if (h->w)
		pvs_worker_free(h->w);
	memset(h, 0, sizeof(*h));
}

int lh_reopen(struct lh *h, const char *spec, const struct pvs_lun_opts *opts)
{
	char err[256];

	if (h->lun)
		pvs_lun_close(h->lun);
	h->lun = NULL;
	return pvs_lun_open(h->w, spec, opts, &h->lun, err, sizeof(err));
}

static void lh_done(struct pvs_req *req)
{
	struct lh *h = req->opaque;
	struct lh_res *r = h->cur;

	if (!r)
		return;
	r->ncomplete++;
	r->status = req->status;
	r->host = req->host;
	r->sense_len = req->sense_len;
	memcpy(r->sense, req->sense, sizeof(r->sense));
	r->residual = req->residual;
}

static void decode(struct lh_res *r)
{
	r->key = r->asc = r->ascq = 0;
	r->field = r->bit = r->cd = -1;
	if (r->sense_len == 0)
		return;
	pvs_sense_decode(r->sense, r->sense_len, &r->key, &r->asc, &r->ascq);
	if (r->sense_len >= 18 && (r->sense[0] & 0x7f) == 0x70 && (r->sense[15] & 0x80)) {
		r->cd = (r->sense[15] >> 6) & 1;
		r->bit = (r->sense[15] & 0x08) ? (r->sense[15] & 0x07) : -1;
		r->field = r->sense[16] << 8 | r->sense[17];
	}
}

void lh_req_init(struct pvs_req *req, struct iovec *iov, uint64_t initiator, const uint8_t *cdb,
                 unsigned int cdb_len, enum pvs_dir dir, void *buf, size_t len,
                 pvs_req_done_fn done, void *opaque)
{
	memset(req, 0, sizeof(*req));
	memcpy(req->cdb, cdb, cdb_len < PVS_CDB_MAX ? cdb_len : PVS_CDB_MAX);
	req->cdb_len = (uint8_t)cdb_len;
	req->dir = (uint8_t)dir;
	iov->iov_base = buf;
	iov->iov_len = len;
	req->iov = len ? iov : NULL;
	req->iovcnt = len ? 1 : 0;
	req->initiator = initiator;
	req->done = done;
	req->opaque = opaque;
}

void lh_runv(struct lh *h, uint64_t initiator, const uint8_t *cdb, unsigned int cdb_len,
             enum pvs_dir dir, struct iovec *iov, unsigned int iovcnt, struct lh_res *r)
{
	struct pvs_req *req = &h->req;

	memset(r, 0, sizeof(*r));
	memset(req, 0, sizeof(*req));
	/* cdb_len itself is passed through unchecked: the core must cope with it. */
	memcpy(req->cdb, cdb, cdb_len < PVS_CDB_MAX ? cdb_len : PVS_CDB_MAX);
	req->cdb_len = (uint8_t)cdb_len;
	req->dir = (uint8_t)dir;
	req->iov = iov;
	req->iovcnt = iovcnt;
	req->initiator = initiator;
	req->max_xfer_blocks = h->max_xfer_blocks;
	req->done = lh_done;
	req->opaque = h;
	h->cur = r;
	pvs_submit(h->lun, req);
	for (int i = 0; i < 1000 && !r->ncomplete; i++) {
		pvs_worker_flush(h->w);
		pvs_worker_wait(h->w, 10);
	}
	/* Give a second, erroneous completion the chance to show itself. */
	pvs_worker_flush(h->w);
	pvs_worker_poll(h->w);
	decode(r);
}

void lh_run(struct lh *h, uint64_t initiator, const uint8_t *cdb, unsigned int cdb_len,
            enum pvs_dir dir, void *buf, size_t len, struct lh_res *r)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	lh_runv(h, initiator, cdb, cdb_len, dir, len ? &iov : NULL, len ? 1 : 0, r);
}

bool lh_clear_ua(struct lh *h, uint64_t initiator)
{
	static const uint8_t tur[6];
	struct lh_res r;

	for (int i = 0; i < 32; i++) {
		lh_run(h, initiator, tur, sizeof(tur), PVS_DIR_NONE, NULL, 0, &r);
		if (r.status == PVS_STATUS_GOOD)
			return true;
		if (r.key != PVS_KEY_UNIT_ATTENTION)
			return false;
	}
	return false;
}

void lh_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void lh_put32(uint8_t *p, uint32_t v)
{
	lh_put16(p, (uint16_t)(v >> 16));
	lh_put16(p + 2, (uint16_t)v);
}

void lh_put64(uint8_t *p, uint64_t v)
{
	lh_put32(p, (uint32_t)(v >> 32));
	lh_put32(p + 4, (uint32_t)v);
}

void lh_put_lba(uint8_t *cdb, unsigned int len, uint64_t lba, uint32_t n)
{
	switch (len) {
	case 6:
		cdb[1] = (uint8_t)((lba >> 16) & 0x1f);
		cdb[2] = (uint8_t)(lba >> 8);
		cdb[3] = (uint8_t)lba;
		cdb[4] = (uint8_t)n;
		break;
	case 10:
		lh_put32(&cdb[2], (uint32_t)lba);
		lh_put16(&cdb[7], (uint16_t)n);
		break;
	case 12:
		lh_put32(&cdb[2], (uint32_t)lba);
		lh_put32(&cdb[6], n);
		break;
	default:
		lh_put64(&cdb[2], lba);
		lh_put32(&cdb[10], n);
		break;
	}
}

void lh_waited_done(void *arg, struct pvs_unit *u, int rc, const char *err)
{
	struct lh_waited *w = arg;

	w->u = u;
	w->rc = rc;
	w->calls++;
	snprintf(w->err, sizeof(w->err), "%s", err);
}
