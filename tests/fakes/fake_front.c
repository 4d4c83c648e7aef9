/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_front.c - an in-process vscsiif frontend (see fake_front.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_front.h"

#define PAGE      4096u
#define PAGE_MASK (~(uintptr_t)(PAGE - 1))

int fake_front_init(struct fake_front *f, struct fake_gnt *g, struct fake_evt *e, uint16_t domid)
{
	struct vscsiif_sring *s;
	int port;

	memset(f, 0, sizeof(*f));
	f->gnt = g;
	f->evt = e;
	f->domid = domid;
	f->max_grants = FAKE_FRONT_SG_TABLESIZE;
	/* Shared: a forked backend (ring_ut's kill -9 test) writes responses the parent reads. */
	f->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->page == MAP_FAILED) {
		f->page = NULL;
		return -ENOMEM;
	}
	s = f->page;
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&f->ring, s, PAGE);
	f->ring_ref = fake_gnt_grant(g, domid, f->page, false);
	port = fake_evt_alloc_unbound(e, domid);
	if (!f->ring_ref || port < 0) {
		munmap(f->page, PAGE);
		f->page = NULL;
		return -ENOSPC;
	}
	f->port = (uint32_t)port;
	return 0;
}

static void shadow_end(struct fake_front *f, struct fake_front_shadow *sh)
{
	for (unsigned int i = 0; i < sh->ngrefs; i++)
		if (!fake_gnt_revoke(f->gnt, sh->grefs[i]))
			f->errors++; /* scsifront: "grant still in use by backend" */
	free(sh->grefs);
	free(sh->desc);
	sh->grefs = NULL;
	sh->desc = NULL;
	sh->ngrefs = 0;
	sh->inflight = false;
}

void fake_front_fini(struct fake_front *f)
{
	for (unsigned int i = 0; i < FAKE_FRONT_REQS; i++)
		if (f->shadow[i].inflight)
			shadow_end(f, &f->shadow[i]);
	if (f->ring_ref)
		fake_gnt_revoke(f->gnt, f->ring_ref);
	if (f->port)
		fake_evt_close(f->evt, f->port);
	munmap(f->page, PAGE);
	f->page = NULL;
}

static unsigned int pages_of(const void *buf, uint32_t len)
{
	uintptr_t a = (uintptr_t)buf;

	if (!len)
		return 0;
	return (unsigned int)((((a + len - 1) & PAGE_MASK) - (a & PAGE_MASK)) / PAGE + 1);
}

/* Grant each page of [buf, buf+len) and describe it as scsifront does. */
static int grant_data(struct fake_front *f, struct fake_front_shadow *sh, const void *buf,
                      uint32_t len, bool ro, struct scsiif_request_segment *seg)
{
	uintptr_t a = (uintptr_t)buf;

	while (len) {
		unsigned int off = (unsigned int)(a & (PAGE - 1));
		unsigned int bytes = PAGE - off < len ? PAGE - off : len;
		uint32_t ref = fake_gnt_grant(f->gnt, f->domid, (void *)(a & PAGE_MASK), ro);

		if (!ref)
			return -ENOSPC;
		sh->grefs[sh->ngrefs++] = ref;
		seg->gref = ref;
		seg->offset = (uint16_t)off;
		seg->length = (uint16_t)bytes;
		seg++;
		a += bytes;
		len -= bytes;
	}
	return 0;
}

static int free_rqid(const struct fake_front *f)
{
	for (int i = 0; i < FAKE_FRONT_REQS; i++)
		if (!f->shadow[i].inflight)
			return i;
	return -1;
}

/* The data of @c as a scatter-gather list: its own, or buf/len as one piece. */
static const struct iovec *data_sg(const struct fake_front_cmd *c, struct iovec *one,
                                   unsigned int *n)
{
	if (c->nsg) {
		*n = c->nsg;
		return c->sg;
	}
	one->iov_base = c->buf;
	one->iov_len = c->len;
	*n = c->len ? 1 : 0;
	return one;
}

/* map_data_for_request(): PFN_UP(offset + length) grants per scatter-gather entry. */
static int grant_sg(struct fake_front *f, struct fake_front_shadow *sh, const struct iovec *sg,
                    unsigned int nsg, bool ro, struct scsiif_request_segment *seg)
{
	for (unsigned int i = 0; i < nsg; i++) {
		int err = grant_data(f, sh, sg[i].iov_base, (uint32_t)sg[i].iov_len, ro, seg);

		if (err)
			return err;
		seg += pages_of(sg[i].iov_base, (uint32_t)sg[i].iov_len);
	}
	return 0;
}

int fake_front_queue(struct fake_front *f, const struct fake_front_cmd *c)
{
	struct vscsiif_request *r;
	struct fake_front_shadow *sh;
	struct iovec one;
	unsigned int nsg, npages = 0;
	const struct iovec *sg = data_sg(c, &one, &nsg);
	bool indirect;
	struct scsiif_request_segment direct[VSCSIIF_SG_TABLESIZE];
	unsigned int ndesc_pages = 0;
	int id, err;

	for (unsigned int i = 0; i < nsg; i++)
		npages += pages_of(sg[i].iov_base, (uint32_t)sg[i].iov_len);
	if (f->max_grants && npages > f->max_grants)
		return -E2BIG;
	indirect = c->indirect || npages > VSCSIIF_SG_TABLESIZE;
	if (RING_FULL(&f->ring))
		return -EBUSY;
	id = free_rqid(f);
	if (id < 0)
		return -EBUSY;
	sh = &f->shadow[id];
	memset(sh, 0, sizeof(*sh));
	sh->act = c->act ? c->act : VSCSIIF_ACT_SCSI_CDB;
	sh->grefs = calloc(npages + VSCSIIF_SG_TABLESIZE + 1, sizeof(uint32_t));
	if (!sh->grefs)
		return -ENOMEM;

	memset(direct, 0, sizeof(direct));
	if (indirect && npages) {
		size_t dlen = (size_t)npages * sizeof(struct scsiif_request_segment);
		size_t total = c->desc_offset + dlen;
		uint8_t *d;

		ndesc_pages = (unsigned int)((total + PAGE - 1) / PAGE);
		if (ndesc_pages > VSCSIIF_SG_TABLESIZE) {
			free(sh->grefs);
			return -E2BIG;
		}
		sh->desc = aligned_alloc(PAGE, (size_t)ndesc_pages * PAGE);
		if (!sh->desc) {
			free(sh->grefs);
			return -ENOMEM;
		}
		memset(sh->desc, 0, (size_t)ndesc_pages * PAGE);
		d = (uint8_t *)sh->desc + c->desc_offset;
		/* Descriptor pages first, like scsifront: read-only grants. */
		err = grant_data(f, sh, d, (uint32_t)dlen, true, direct);
		if (!err)
			err = grant_sg(f, sh, sg, nsg, c->dir == PVSP_DIR_TO_DEV,
			               (struct scsiif_request_segment *)d);
	} else {
		err = grant_sg(f, sh, sg, nsg, c->dir == PVSP_DIR_TO_DEV, direct);
	}
	if (err) {
		shadow_end(f, sh);
		return err;
	}

	r = RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt);
	f->ring.req_prod_pvt++;
	memset(r, 0, sizeof(*r));
	r->rqid = (uint16_t)id;
	r->act = sh->act;
	r->ref_rqid = c->ref_rqid;
	r->channel = c->channel;
	r->id = c->id;
	r->lun = c->lun;
	r->cmd_len = c->cdb_len;
	memcpy(r->cmnd, c->cdb, sizeof(r->cmnd));
	r->sc_data_direction = c->dir;
	r->timeout_per_command = 30;
	if (indirect && npages) {
		r->nr_segments = (uint8_t)(VSCSIIF_SG_GRANT | ndesc_pages);
		memcpy(r->seg, direct, ndesc_pages * sizeof(direct[0]));
	} else {
		r->nr_segments = (uint8_t)npages;
		memcpy(r->seg, direct, npages * sizeof(direct[0]));
	}
	sh->inflight = true;
	return id;
}

struct vscsiif_request *fake_front_raw(struct fake_front *f)
{
	struct vscsiif_request *r = RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt);

	f->ring.req_prod_pvt++;
	memset(r, 0, sizeof(*r));
	return r;
}

void fake_front_kick(struct fake_front *f)
{
	fake_evt_kick(f->evt, f->port);
	f->kicks++;
}

bool fake_front_push(struct fake_front *f)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (notify)
		fake_front_kick(f);
	return notify;
}

int fake_front_response(struct fake_front *f, struct vscsiif_response *out)
{
	RING_IDX rp = f->ring.sring->rsp_prod;

	rmb();
	if (RING_RESPONSE_PROD_OVERFLOW(&f->ring, rp)) {
		f->errors++;
		return 0;
	}
	if (f->ring.rsp_cons == rp) {
		/* scsifront_ring_drain: ask for a notification for the next one. */
		if (rp != f->ring.req_prod_pvt) {
			int more;

			RING_FINAL_CHECK_FOR_RESPONSES(&f->ring, more);
			if (!more)
				return 0;
		} else {
			f->ring.sring->rsp_event = rp + 1;
			return 0;
		}
	}
	RING_COPY_RESPONSE(&f->ring, f->ring.rsp_cons, out);
	f->ring.rsp_cons++;
	/* Drained: re-arm as scsifront_ring_drain does after its loop. */
	if (f->ring.rsp_cons == rp) {
		f->ring.sring->rsp_event = f->ring.rsp_cons + 1;
		mb();
	}
	if (out->rqid < FAKE_FRONT_REQS && f->shadow[out->rqid].inflight)
		shadow_end(f, &f->shadow[out->rqid]);
	else
		f->errors++; /* scsifront: "illegal rqid returned by backend!" */
	return 1;
}

unsigned int fake_front_inflight(const struct fake_front *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < FAKE_FRONT_REQS; i++)
		n += f->shadow[i].inflight;
	return n;
}

uint64_t fake_front_notifications(const struct fake_front *f)
{
	return fake_evt_notifications(f->evt, f->port);
}

void fake_front_fini_request(struct fake_front *f, int rqid)
{
	if (rqid >= 0 && rqid < FAKE_FRONT_REQS && f->shadow[rqid].inflight)
		shadow_end(f, &f->shadow[rqid]);
}
