/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_int.h - the insides of a ring and its slots, shared by ring.c (the
 * data path) and ring_journal.c (the journal that lets a restarted daemon
 * adopt the ring).  Internal to backend/ring*.c.
 */
#ifndef PVSD_RING_INT_H
#define PVSD_RING_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "ring_journal.h"
#include "vscsiif_proto.h"

/* replay() orders the entries on the stack. */
#define MAX_SLOTS 64
_Static_assert(__CONST_RING_SIZE(vscsiif, 4096) <= MAX_SLOTS, "vscsiif ring larger than expected");

struct slot {
	struct pvs_req req;
	struct pvs_tmf tmf;
	struct pvsd_ring *ring;
	struct slot *next_free;
	uint8_t state;
	bool marked; /* the rqid is marked busy (an accepted request) */
	uint8_t dir; /* PVSP_DIR_* */
	uint16_t rqid;
	uint16_t channel, id, lun;
	uint32_t nsegs;
	uint32_t data_len;
	bool need_in;       /* data-out to copy before submission */
	bool lend_out;      /* submitted without it: the LUN lends its medium (pvs_map_lends_out) */
	uint32_t out_bytes; /* data-in to copy before the response */
	uint64_t t_submit;  /* pvs_now_ns() at submission, for the ring's latency histogram */
	int32_t held_rslt;  /* the answer, while held behind a TMF */
	uint32_t held_resid;
	uint8_t held_sense_len;
	unsigned int bop_first, bop_n;       /* its share of the ring's batched copy */
	uint8_t *buf;                        /* max data segs pages */
	struct scsiif_request_segment *segs; /* the copy the data path uses */
	struct iovec *iov;
	pvx_gnt_copy_t *ops;
};

struct pvsd_ring {
	struct pvsd_ring_cfg cfg;
	struct vscsiif_back_ring back;
	void *sring;
	void *chan;
	int fd; /* -1 while the worker reads the channel (@watch) */
	/*
	 * The event channel read through the worker's io_uring: its read's
	 * result waits in @kicked until pvsd_ring_handle_event(), which writes
	 * the unmask and posts the read again in the worker's next
	 * io_uring_enter().  NULL: pending() and unmask(), the fd polled.
	 */
	struct pvs_worker_watch *watch;
	struct pvx_evt_uring eu;
	bool kicked;
	bool unmask_failed;
	int kick_res;          /* the read's result, or a failed unmask's */
	unsigned int evt_errs; /* failures in a row, for the log */
	bool stopped;
	bool broken;
	bool push_pending;
	RING_IDX batch_old; /* rsp_prod before the batch's first response */
	/*
	 * Adopted without a usable journal: requests below adopt_end that fail
	 * validation are dropped.
	 */
	bool adopting;
	RING_IDX adopt_start, adopt_end;
	struct journal *j; /* NULL: none (no state_dir, or it could not be made) */
	size_t j_len;
	char j_path[256];
	uint64_t seq;   /* the next request's journal seq */
	bool replay;    /* journal entries to run again at the first event */
	bool submitted; /* since the last pvs_worker_flush() */
	bool polling;   /* the daemon polls: arm notifications only in pvsd_ring_arm() */
	unsigned int inflight;
	unsigned int nslots;
	unsigned int max_data_segs;
	unsigned int nops; /* grant copy ops per slot */
	struct pvsp_limits lim;
	uint64_t initiator;
	uint32_t max_xfer_blocks; /* what the frontend can always map (pvsp_max_xfer_blocks) */
	int err_budget;
	uint64_t dev_errors; /* MEDIUM/HARDWARE ERROR, ABORTED COMMAND from the LUNs */
	struct slot *slots;
	struct slot *free;
	/*
	 * Grant copies are batched: requests consumed in one pass are
	 * submitted after one copy of all their data-out, and completed
	 * commands answered after one copy of all their data-in (one
	 * system call each instead of one per request; in a PV dom0 each
	 * costs a trip through Xen).
	 */
	struct slot *pend_sub[MAX_SLOTS];
	unsigned int npend_sub;
	struct slot *pend_out[MAX_SLOTS];
	unsigned int npend_out;
	bool lent_waiting;     /* one of pend_out holds a LUN's medium lent (req.data_in) */
	bool lent_out_waiting; /* one of pend_out waits for its data-out (req.data_out) */
	pvx_gnt_copy_t *bops;  /* nslots * max_data_segs */
	/*
	 * Command answers held behind a task management function: while
	 * hold_until is not 0 (UINT64_MAX while the TMF runs, then the
	 * monotonic deadline in ns).
	 */
	uint64_t hold_until;
	unsigned int tmfs_running;
	struct slot *held[MAX_SLOTS];
	unsigned int nheld;
	uint8_t *bufs;
	size_t bufs_len;
	void *arrays;
	struct pvsd_ring_stats st;
	uint64_t rqid_busy[65536 / 64];
};

/* A line through cfg.log, "dom D vhost V: " first. */
void pvsd_ring_log(struct pvsd_ring *r, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline unsigned int slot_index(const struct pvsd_ring *r, const struct slot *s)
{
	return (unsigned int)(s - r->slots);
}

/* ring_journal.c */

/*
 * Record a request just consumed from ring index @idx in @s's entry, where
 * consume() has copied it already.
 */
void pvsd_journal_consumed(struct pvsd_ring *r, struct slot *s, RING_IDX idx);
/* The ring is gone: unmap and remove its journal. */
void pvsd_journal_close(struct pvsd_ring *r);
/* At connect: true when an adopted journal is valid (its entries run again). */
bool pvsd_journal_open(struct pvsd_ring *r, uint32_t ring_ref, uint32_t evtchn, RING_IDX start,
                       RING_IDX prod);

#endif
