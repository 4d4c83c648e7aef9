/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring.h - one vscsiif ring: the data path of one vhost.
 *
 * The xenbus side (backend/xenbus.c) owns the state machine and the v-dev
 * map; it connects a ring when the frontend is Initialised and disconnects
 * it on close.  Everything here runs on the thread of cfg->worker: the
 * event loop calls pvsd_ring_handle_event() when pvsd_ring_evtchn_fd() is
 * readable, and pvsd_ring_flush() after every pvs_worker_poll() of the
 * worker the ring uses.
 *
 * Per ring, allocated once at connect and never on the I/O path: one slot
 * per ring entry (VSCSIIF ring: 16), each with an embedded struct pvs_req,
 * a struct pvs_tmf, and a bounce buffer of max_segs pages.  At most
 * RING_SIZE requests are in flight, which is what the ring itself allows.
 */
#ifndef PVSD_RING_H
#define PVSD_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "xenevt.h"
#include "xengnt.h"

/* Largest feature-sg-grant a ring accepts: bounds the memory per ring (class 11). */
#define PVSD_RING_MAX_SEGS 1024u
/* What the Linux frontend can use (SG_ALL); the suggested feature-sg-grant. */
#define PVSD_RING_DEFAULT_SEGS 128u

/*
 * A vscsiif vhost's I_T nexus identity in the LUN core: the domain and the
 * vhost, so that a guest keeps its registrations across a daemon restart.
 */
#define PVSD_INITIATOR(domid, vhost) (1ull << 63 | (uint64_t)(domid) << 32 | (uint64_t)(vhost))

struct pvsd_ring;

struct pvsd_ring_cfg {
	uint16_t domid; /* the frontend's domain; also in log lines */
	uint32_t vhost; /* for log lines and the initiator id */
	const struct pvx_gnt_ops *gnt;
	void *gnt_ctx;
	const struct pvx_evt_ops *evt;
	void *evt_ctx;
	struct pvs_worker *worker;
	struct pvs_map *map; /* the vhost's v-dev map, owned by xenbus; read at every request */
	/*
	 * Advertised feature-sg-grant: 0 = not advertised (direct segments
	 * only, at most VSCSIIF_SG_TABLESIZE), else VSCSIIF_SG_TABLESIZE ..
	 * PVSD_RING_MAX_SEGS.  Write the same number to xenstore.
	 */
	unsigned int max_segs;
	/*
	 * syslog priorities (LOG_ERR, LOG_INFO, LOG_DEBUG); may be NULL.  Every
	 * line starts "dom D vhost V: ", whatever the callback adds.
	 */
	void (*log)(void *arg, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	void *log_arg;
	bool verbose; /* one LOG_DEBUG line per request and per response */
	/*
	 * Where the ring keeps its journal (a tmpfs directory such as
	 * /run/pvscsid): a copy of every request consumed and not yet
	 * answered, so that a daemon that dies at any point lets its
	 * successor answer every consumed request exactly once.  NULL: no
	 * journal.  The file is removed at disconnect.
	 */
	const char *state_dir;
	/*
	 * The ring was in use by a previous daemon (adoption).  With the
	 * previous daemon's journal in state_dir, its unanswered requests run
	 * again and consumption goes on where it stopped.  Without one the
	 * ring attaches at the shared rsp_prod, and requests already on the
	 * ring at connect that fail validation are dropped (logged, no
	 * response) instead of answered DID_ERROR: such a slot may hold a
	 * response the previous daemon wrote and never published.
	 */
	bool adopt;
	/*
	 * How long command answers wait behind a task management function
	 * once its answer is out (ring.c, answer()): 0 for the default of
	 * 250 ms; negative: only until the next pvsd_ring_flush(), for tests
	 * that cannot wait on the clock (the TMF's answer still goes first).
	 */
	int tmf_hold_ms;
};

/*
 * Map @ring_ref of cfg->domid, bind @evtchn, allocate the slots.  The ring
 * attaches at the shared rsp_prod (0 on a fresh ring): after a restart,
 * every request from there on is taken, including any the previous daemon
 * consumed but never answered (it runs again).  The cfg is copied.  Returns 0 and the ring, or
 * -errno (-EINVAL for a max_segs out of range, -ENOMEM, or the grant/event channel error) with
 * nothing left mapped or bound.
 */
int pvsd_ring_connect(const struct pvsd_ring_cfg *cfg, uint32_t ring_ref, uint32_t evtchn,
                      struct pvsd_ring **out);

/*
 * The fd to poll for readability (the frontend's kicks); -1 when the
 * ring's worker reads the channel itself (then pvsd_ring_kicked()).
 */
int pvsd_ring_evtchn_fd(struct pvsd_ring *r);

/*
 * The worker's read of the channel completed (in pvs_worker_run()): call
 * pvsd_ring_handle_event(), which also posts the next read.
 */
bool pvsd_ring_kicked(const struct pvsd_ring *r);

/*
 * The event channel fired: acknowledge it, consume requests, submit them,
 * push the responses that are ready and notify the frontend at most once.
 * Work per call is bounded (a few ring's worth of requests), so one guest
 * cannot hold the thread: returns true when requests are left on the ring,
 * and the caller should call again after serving its other fds (no new
 * kick will come for them).  Returns false otherwise, including for a
 * stopped or broken ring.
 */
bool pvsd_ring_handle_event(struct pvsd_ring *r);

/*
 * Adaptive polling (pvscsid --poll-us) and deferred kicks (pvscsid's
 * default, pvsd_xenbus_set_defer_kicks()).  While the daemon polls, a ring's
 * passes leave the guest's request notification unarmed, so that the
 * requests it queues meanwhile cost no event: the loop looks at
 * pvsd_ring_has_requests() (shared memory only) and takes them with
 * pvsd_ring_poll(), the same work as pvsd_ring_handle_event() without the
 * event channel.  Before it sleeps it must call pvsd_ring_arm() on every
 * ring (deferring kicks: every ring with nothing in flight, the sleep
 * bounded while one is left), and not sleep when that returns true
 * (requests came in the window).  pvsd_ring_poll() returns what
 * pvsd_ring_handle_event() does.
 */
void pvsd_ring_set_polling(struct pvsd_ring *r, bool on);
bool pvsd_ring_has_requests(const struct pvsd_ring *r);
bool pvsd_ring_poll(struct pvsd_ring *r);
bool pvsd_ring_arm(struct pvsd_ring *r);

/*
 * Push responses completed since the last push (by pvs_worker_poll() of
 * cfg->worker) and notify the frontend once if it asked for it.  Call
 * after every pvs_worker_poll()/pvs_worker_wait() of that worker, for each
 * ring on it; cheap when nothing is pending.  Without it, completions
 * that happen outside pvsd_ring_handle_event() never reach the guest.
 */
void pvsd_ring_flush(struct pvsd_ring *r);
/*
 * After a task management function the ring holds command answers for a
 * while (xen-scsifront would freeze taking them during its reset: see
 * ring.c, answer()).  Milliseconds until pvsd_ring_flush() must run again
 * to release them, or -1 when nothing waits on time.
 */
int pvsd_ring_timeout_ms(const struct pvsd_ring *r);

/*
 * Take no new requests (frontend Closing, daemon SIGTERM).  Requests in
 * flight still complete and their responses are still pushed, held ones
 * at once.
 */
void pvsd_ring_stop(struct pvsd_ring *r);

/* Whether the ring keeps a journal (cfg.state_dir, and the file could be made). */
bool pvsd_ring_journaled(const struct pvsd_ring *r);
/* The feature-sg-grant the ring was connected with (cfg.max_segs). */
unsigned int pvsd_ring_max_segs(const struct pvsd_ring *r);

/* Requests and task management functions submitted and not yet answered. */
unsigned int pvsd_ring_inflight(const struct pvsd_ring *r);

/*
 * The frontend produced a bogus request producer index: the ring halted
 * (as if stopped) after logging one line naming domain and vhost.  Other
 * rings are unaffected.  Requests in flight still complete.
 */
bool pvsd_ring_broken(const struct pvsd_ring *r);

/*
 * Unbind, unmap, free.  Only with nothing in flight: returns -EBUSY and
 * changes nothing otherwise (keep polling the worker, flushing, and retry
 * when pvsd_ring_inflight() is 0).  Returns 0 when @r is gone.
 */
int pvsd_ring_disconnect(struct pvsd_ring *r);

/* Counters, for tests and the daemon's status output. */
struct pvsd_ring_stats {
	uint64_t requests;   /* consumed from the ring */
	uint64_t responses;  /* pushed */
	uint64_t notifies;   /* event channel notifications sent */
	uint64_t rejected;   /* failed validation or grant copy: DID_ERROR */
	uint64_t no_connect; /* unmapped (channel, target) */
	uint64_t tmfs;       /* ABORT and RESET requests */
	uint64_t dropped;    /* invalid slots dropped after an adoption without journal */
	uint64_t replayed;   /* journal entries run again after an adoption */
	/* The crossings behind them (make bench's per-I/O costs): */
	uint64_t wakeups;    /* pvsd_ring_handle_event() calls */
	uint64_t events;     /* ... that found the event channel pending */
	uint64_t polled;     /* pvsd_ring_poll() calls: passes the poll loop found work for */
	uint64_t copy_calls; /* grant copy calls (GNTTABOP_copy hypercalls, one ioctl each) */
	uint64_t copy_ops;   /* their elements */
	uint64_t copy_bytes; /* and bytes */
	/*
	 * Commands whose data the grant copy took from (data-in) or put into
	 * (data-out) a LUN's own memory, lent by the core: one copy, not two.
	 */
	uint64_t lent_in, lent_out;
	/* Commands the LUN core completed for this ring, from submission to completion. */
	struct pvs_io_stats io;
};
void pvsd_ring_get_stats(const struct pvsd_ring *r, struct pvsd_ring_stats *out);

#endif
