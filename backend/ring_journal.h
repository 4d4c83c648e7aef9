/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_journal.h - the layout of a ring's journal file (backend/ring_journal.c,
 * docs/backend.md "Stop, restart and adoption").  Internal to pvscsid;
 * ring_ut includes it to forge the states a killed daemon can leave.
 */
#ifndef PVSD_RING_JOURNAL_H
#define PVSD_RING_JOURNAL_H

#include <stdint.h>
#include <xen/io/vscsiif.h>

/*
 * The journal: a file in cfg.state_dir (tmpfs, /run/pvscsid) mapped shared,
 * holding a copy of every request consumed and not yet answered, so that a
 * daemon killed at any instruction leaves what its successor needs to answer
 * every consumed request exactly once.  The ring alone cannot: a response is
 * written at rsp_prod, over the slot of whichever request was consumed
 * there, which is still in flight when completions are out of order; and a
 * published response must never be sent again (xen-scsifront disables the
 * whole host on a response for an rqid it does not have in flight).
 *
 * Order of stores (each a release, so a successor sees them in this order):
 * consume: entry = request (its header and the segments it names), seq,
 * INFLIGHT; then cons = seq + 1.
 * respond: entry rsp_idx, ANSWERED; then the response and rsp_prod; then FREE.
 * Adoption: entries INFLIGHT with seq < cons, and ANSWERED whose rsp_idx is
 * not below the shared rsp_prod (never published), run again; the ring is
 * read on from cons.  Entries are indexed by slot, so replay uses the same
 * slot.  Stores survive kill -9 (the page is the kernel's); power loss does
 * not matter, the guest's ring is gone too.
 */
#define JOURNAL_MAGIC   0x4a535650u /* "PVSJ" */
#define JOURNAL_VERSION 1u

enum { JE_FREE, JE_INFLIGHT, JE_ANSWERED };

struct jentry {
	uint32_t state;
	RING_IDX req_idx; /* where the request was on the ring, for the log */
	RING_IDX rsp_idx; /* JE_ANSWERED: where its response was written */
	uint32_t pad;
	uint64_t seq; /* consumption order; never wraps */
	struct vscsiif_request req;
};

struct journal {
	uint32_t magic, version;
	uint32_t domid, vhost, ring_ref, evtchn;
	uint32_t nslots, pad;
	uint64_t cons; /* requests with seq below it were consumed */
	struct jentry e[];
};

#endif
