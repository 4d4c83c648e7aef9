/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_front.h - a vscsiif frontend in the test process.
 *
 * Owns a real struct vscsiif_sring in a page of its own memory, granted
 * through the fake grant table, and an event channel port of the fake
 * event channel.  Queues requests the way xen-scsifront does
 * (map_data_for_request / scsifront_do_request): one grant per data page
 * touched, direct segments, or descriptor pages with VSCSIIF_SG_GRANT when
 * more than VSCSIIF_SG_TABLESIZE pages (or when asked).  Reads responses
 * the way scsifront_ring_drain does, checking rqid and in-flight state and
 * that no grant of the request is still mapped.
 */
#ifndef FAKE_FRONT_H
#define FAKE_FRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fake_evtchn.h"
#include "fake_gnt.h"
#include "vscsiif_proto.h"

#define FAKE_FRONT_REQS 16 /* VSCSIIF_MAX_REQS of a one-page ring */

struct fake_front_cmd {
	uint8_t act; /* VSCSIIF_ACT_*; 0 means VSCSIIF_ACT_SCSI_CDB */
	uint16_t channel, id, lun;
	uint8_t cdb[VSCSIIF_MAX_COMMAND_SIZE];
	uint8_t cdb_len;
	uint8_t dir; /* PVSP_DIR_* */
	void *buf;   /* guest data, any alignment; NULL with len 0 */
	uint32_t len;
	/*
	 * Or a scatter-gather list, as the guest's block layer hands one to
	 * scsifront: pieces of any address and length, each granted page by
	 * page (a piece that straddles pages costs a grant per page touched).
	 * Used instead of buf/len when nsg is set.
	 */
	const struct iovec *sg;
	unsigned int nsg;
	bool indirect;            /* VSCSIIF_SG_GRANT even for few pages */
	unsigned int desc_offset; /* where the descriptor array starts in its first page */
	uint16_t ref_rqid;        /* ABORT */
};

struct fake_front_shadow {
	bool inflight;
	uint8_t act;
	uint32_t *grefs;
	unsigned int ngrefs;
	void *desc; /* descriptor pages of an indirect request */
};

struct fake_front {
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	uint16_t domid;
	void *page; /* the shared ring */
	uint32_t ring_ref;
	uint32_t port;
	struct vscsiif_front_ring ring;
	struct fake_front_shadow shadow[FAKE_FRONT_REQS];
	unsigned int errors; /* illegal rqid, response overflow, grant still mapped */
	/* Grants one request may use: FAKE_FRONT_SG_TABLESIZE after init; 0, no limit (hostile). */
	unsigned int max_grants;
	uint64_t kicks;
};

/* Returns 0 or -errno. */
int fake_front_init(struct fake_front *f, struct fake_gnt *g, struct fake_evt *e, uint16_t domid);
/* Revokes every grant, frees the ring page. */
void fake_front_fini(struct fake_front *f);

/*
 * Queue one request (not yet visible to the backend: see push).  Returns
 * the rqid (the lowest free one, as scsifront picks it), -EBUSY when the
 * ring or the rqids are exhausted, -ENOSPC when out of grants, -E2BIG when
 * the data needs more than f->max_grants grants (scsifront's "Unable to
 * map request_buffer").
 */
#define FAKE_FRONT_SG_TABLESIZE 128 /* SG_ALL: scsifront's ceiling */
int fake_front_queue(struct fake_front *f, const struct fake_front_cmd *c);
/*
 * The next request slot for a test to fill by hand (any rqid, any
 * garbage); counted as queued but not tracked as in flight.
 */
struct vscsiif_request *fake_front_raw(struct fake_front *f);
/* Publish queued requests; kick the backend if it asked.  Returns whether it kicked. */
bool fake_front_push(struct fake_front *f);
/* Kick regardless. */
void fake_front_kick(struct fake_front *f);

/*
 * Take the next response: 1 with a copy in *@out, 0 when none.  Ends the
 * request's grants and re-arms rsp_event as scsifront does.
 */
int fake_front_response(struct fake_front *f, struct vscsiif_response *out);
unsigned int fake_front_inflight(const struct fake_front *f);
/* End request @rqid's grants by hand (a test rewrote its rqid in the ring). */
void fake_front_fini_request(struct fake_front *f, int rqid);
/* Notifications received from the backend. */
uint64_t fake_front_notifications(const struct fake_front *f);

#endif
