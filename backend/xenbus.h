/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenbus.h - the vscsiif backend's xenstore side: one state machine per
 * (frontend domain, vhost) under /local/domain/<own>/backend/vscsi, the
 * devices of each vhost, and the registry of open LUNs.
 *
 * Everything here runs on the daemon's one thread.  The daemon's event loop
 * calls pvsd_xenbus_handle_xs() when the xenstore fd is readable,
 * pvsd_xenbus_handle_ring() when a ring's event channel fd is readable, and
 * pvsd_xenbus_after_poll() after every pvs_worker_poll(); the xenbus side
 * asks the loop to watch or forget ring fds through the cfg callbacks.
 *
 * docs/backend.md describes the state machine, adoption on restart and
 * the xenstore nodes read and written.
 */
#ifndef PVSD_XENBUS_H
#define PVSD_XENBUS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "pvscsi/host.h"
#include "pvscsi/lun.h"
#include "pvscsi/resolve.h"
#include "xenevt.h"
#include "xengnt.h"
#include "xs.h"

/* XenbusState, as in xen/io/xenbus.h. */
enum pvsd_xb_state {
	PVSD_XB_UNKNOWN = 0,
	PVSD_XB_INITIALISING = 1,
	PVSD_XB_INITWAIT = 2,
	PVSD_XB_INITIALISED = 3,
	PVSD_XB_CONNECTED = 4,
	PVSD_XB_CLOSING = 5,
	PVSD_XB_CLOSED = 6,
	PVSD_XB_RECONFIGURING = 7,
	PVSD_XB_RECONFIGURED = 8,
};

struct pvsd_xenbus;

/*
 * An event loop a vhost can be placed on (pvscsid --threads): its worker
 * runs the vhost's LUNs, and its fd_add/fd_del watch the vhost's ring.
 */
struct pvsd_xb_loop {
	struct pvs_worker *worker;
	int (*fd_add)(void *arg, int fd, void *cookie);
	void (*fd_del)(void *arg, int fd);
	void *fd_arg;
	/*
	 * Optional: start the loop's thread, called (on the main thread, the
	 * loops parked) before anything is placed on it for the first time,
	 * so that no more loops run than vhosts need.  0, or -errno: another
	 * loop that runs is taken instead.
	 */
	int (*start)(void *arg);
	void *start_arg;
};
#define PVSD_XB_MAX_LOOPS 64u

struct pvsd_xenbus_cfg {
	struct pvx_xs xs; /* not owned */
	const struct pvx_gnt_ops *gnt;
	void *gnt_ctx;
	const struct pvx_evt_ops *evt;
	void *evt_ctx;
	struct pvs_worker *worker; /* every LUN and ring lives on it */
	struct pvs_host *host;     /* the LUN pool (on @worker); NULL: the xenbus makes its own */
	struct pvs_resolver resolver; /* NULL members: the real /sys and /dev */
	const char *state_dir;        /* ring journals (pvsd_ring_cfg.state_dir); NULL: none */
	unsigned int max_segs;        /* feature-sg-grant; 0: PVSD_RING_DEFAULT_SEGS */
	bool verbose;                 /* rings trace every request */
	int64_t own_domid;            /* -1: read the "domid" node, 0 if absent */
	const char *be_type;          /* the backend/<type> to serve; NULL: "vscsi" */
	unsigned int move_timeout_ms; /* a move between loops given up after; 0: 30 s */
	/*
	 * The event loop: start/stop polling @fd for readability and hand
	 * @cookie to pvsd_xenbus_handle_ring() when it is readable.  fd_add
	 * returns 0 or -errno.  Either may be NULL (tests that drive rings
	 * themselves).
	 */
	int (*fd_add)(void *arg, int fd, void *cookie);
	void (*fd_del)(void *arg, int fd);
	void *fd_arg;
	/*
	 * Several event loops: @nloops of @loops (at most PVSD_XB_MAX_LOOPS,
	 * copied).  0: one, made of worker, fd_add, fd_del and fd_arg above.
	 * The pool and everything here stay on @worker's thread; a vhost's ring
	 * and units go to one loop, the one already serving any of its LUNs
	 * (the LUN core is used from one thread per LUN), otherwise the one
	 * with the fewest rings.
	 */
	unsigned int nloops;
	const struct pvsd_xb_loop *loops;
};

/*
 * Register the watch on our backend directory.  Nothing is read or written
 * until the first pvsd_xenbus_handle_xs(): the registration event then
 * scans every vhost present, adopting the ones a previous daemon left
 * connected.  Returns 0 or -errno.
 */
int pvsd_xenbus_start(const struct pvsd_xenbus_cfg *cfg, struct pvsd_xenbus **out);

/* Our domain id and the directory we serve ("/local/domain/0/backend/vscsi"). */
uint32_t pvsd_xenbus_domid(const struct pvsd_xenbus *xb);
/* How many event loops the vhosts are placed on (1 unless cfg.nloops said more). */
unsigned int pvsd_xenbus_nloops(const struct pvsd_xenbus *xb);
/* Of those, the loops whose thread runs (a loop starts with its first vhost). */
unsigned int pvsd_xenbus_loops_running(const struct pvsd_xenbus *xb);
const char *pvsd_xenbus_base(const struct pvsd_xenbus *xb);

/* The xenstore fd is readable: read every queued watch event and act on it. */
void pvsd_xenbus_handle_xs(struct pvsd_xenbus *xb);

/* The fd registered with @cookie is readable. */
void pvsd_xenbus_handle_ring(struct pvsd_xenbus *xb, void *cookie);
/*
 * Adaptive polling (pvscsid --poll-us, pvscsictl poll): how long the loop
 * spins for more work after a pass that did some, in microseconds (0: it
 * does not).  Applies to every ring now and every ring connected later
 * (pvsd_ring_set_polling()).  While on, the loop spins on
 * pvsd_xenbus_has_requests() (shared memory only), takes what it finds
 * with pvsd_xenbus_poll() (returns the rings served), and calls
 * pvsd_xenbus_arm() before it sleeps, not sleeping when that returns true.
 */
/* A millisecond at most: longer only burns a CPU for nothing. */
#define PVSD_POLL_US_MAX 1000u
void pvsd_xenbus_set_poll_us(struct pvsd_xenbus *xb, unsigned int us);
unsigned int pvsd_xenbus_poll_us(const struct pvsd_xenbus *xb);
bool pvsd_xenbus_has_requests(const struct pvsd_xenbus *xb);
unsigned int pvsd_xenbus_poll(struct pvsd_xenbus *xb);
bool pvsd_xenbus_arm(struct pvsd_xenbus *xb);
/*
 * Completion coalescing (pvscsid --coalesce-us, pvscsictl coalesce): after
 * a pass that did work the loop sleeps this many microseconds, whatever
 * completes meanwhile (pvs_worker_sleep_hold()), with its rings unarmed,
 * so that the next pass takes every completion and every request that came
 * in the meantime at once: one io_uring_enter, one grant copy call, one
 * notification for all of them.  A pass that finds nothing arms the rings,
 * and the loop then sleeps until an event.  Each command may wait that long
 * more, whatever the queue depth.  0: off.  Polling takes precedence.
 */
#define PVSD_COALESCE_US_MAX 10000u
void pvsd_xenbus_set_coalesce_us(struct pvsd_xenbus *xb, unsigned int us);
unsigned int pvsd_xenbus_coalesce_us(const struct pvsd_xenbus *xb);
/*
 * Not while a ring of the loop has half its 16 slots in flight or more:
 * then the device sets the pace, their completions bring the loop back in
 * batches anyway, and the guest waits for slots, which a hold only delays
 * (1 MiB reads at 0.35-0.80 of no hold in the bench, docs/performance.md).
 */
#define PVSD_COALESCE_MAX_INFLIGHT 8u
/* Whether @loop's rings leave room for a held sleep (PVSD_COALESCE_MAX_INFLIGHT). */
bool pvsd_xenbus_coalescible_loop(const struct pvsd_xenbus *xb, unsigned int loop);
/*
 * Deferred kicks (pvscsid --defer-kicks, pvscsictl defer-kicks): a ring
 * with PVSD_DEFER_MIN commands or more in flight stays unarmed, as while
 * polling, since their completions bring the loop back and every pass
 * looks at every ring (pvsd_xenbus_poll()); so the guest queues behind
 * them without a notify hypercall and the loop takes them with the
 * completions' pass instead of a pass of their own.  Before it sleeps the
 * loop arms the other rings (pvsd_xenbus_arm_idle(): true when those had
 * requests; *@left when a ring stayed unarmed), and then sleeps at most
 * PVSD_DEFER_MS; after a pass that found nothing it arms every ring
 * (pvsd_xenbus_arm()), so a command that takes long (a tape's rewind, a
 * device's timeout) delays what the guest queues behind it by that much
 * at most.  pvsd_xenbus_polling(): polling, coalescing or deferring.
 */
#define PVSD_DEFER_MS 1
/*
 * With one to three out (a page-cache file whose misses wait in io-wq) the
 * guest's next requests could be served at once, and would instead wait
 * for those completions: 6-21% of a file's 4 KiB random reads in the
 * bench (docs/performance.md); a device at QD 16 has a dozen or more out.
 */
#define PVSD_DEFER_MIN 4u
void pvsd_xenbus_set_defer_kicks(struct pvsd_xenbus *xb, bool on);
bool pvsd_xenbus_defer_kicks(const struct pvsd_xenbus *xb);
bool pvsd_xenbus_polling(const struct pvsd_xenbus *xb);
bool pvsd_xenbus_arm_idle(struct pvsd_xenbus *xb, bool *left);

/* The soonest any ring needs pvsd_xenbus_after_poll() again, in ms; -1: none. */
int pvsd_xenbus_timeout_ms(const struct pvsd_xenbus *xb);
/*
 * The main thread's part: ms until a move between loops under way is given
 * up (pvsd_xenbus_after_poll_main() must run by then, whatever else comes:
 * a device that never answers wakes nobody); -1: no move.
 */
int pvsd_xenbus_main_timeout_ms(const struct pvsd_xenbus *xb);

/*
 * After pvs_worker_poll(): push completed responses of every ring, and
 * carry on with whatever waited for requests to finish (close, frontend
 * resume, hot remove, LUN close).
 */
void pvsd_xenbus_after_poll(struct pvsd_xenbus *xb);

/*
 * Rings left requests on the ring to bound the work per call: the loop
 * should call pvsd_xenbus_run_pending() without sleeping.
 */
bool pvsd_xenbus_pending(const struct pvsd_xenbus *xb);
void pvsd_xenbus_run_pending(struct pvsd_xenbus *xb);

/*
 * Several event loops (pvsd_xenbus_cfg.loops), each on a thread of its own:
 * these serve only the rings placed on loop @loop, and are what that
 * loop's thread calls, in the order of the one-loop calls above:
 * handle_ring_loop for its readable fds, poll_loop, then flush_loop after
 * its worker ran, which returns true when something the main thread waits
 * for may have happened (a drain, an open, a LUN to close).  Everything
 * else, pvsd_xenbus_after_poll_main() included, runs on the main thread
 * while every loop is held off between passes.
 */
/* @loop for every loop's rings: the one-loop calls above. */
#define PVSD_XENBUS_ALL_LOOPS UINT_MAX
void pvsd_xenbus_handle_ring_loop(struct pvsd_xenbus *xb, unsigned int loop, void *cookie);
bool pvsd_xenbus_has_requests_loop(const struct pvsd_xenbus *xb, unsigned int loop);
unsigned int pvsd_xenbus_poll_loop(struct pvsd_xenbus *xb, unsigned int loop);
bool pvsd_xenbus_arm_loop(struct pvsd_xenbus *xb, unsigned int loop);
bool pvsd_xenbus_arm_idle_loop(struct pvsd_xenbus *xb, unsigned int loop, bool *left);
int pvsd_xenbus_timeout_ms_loop(const struct pvsd_xenbus *xb, unsigned int loop);
bool pvsd_xenbus_pending_loop(const struct pvsd_xenbus *xb, unsigned int loop);
void pvsd_xenbus_run_pending_loop(struct pvsd_xenbus *xb, unsigned int loop);
bool pvsd_xenbus_flush_loop(struct pvsd_xenbus *xb, unsigned int loop);
/* pvsd_xenbus_after_poll() less the rings' flush, which is each loop's. */
void pvsd_xenbus_after_poll_main(struct pvsd_xenbus *xb);

/*
 * Daemon shutdown: stop taking requests on every ring and stop acting on
 * xenstore; xenstore is left as it is so that the next daemon adopts the
 * vhosts.  Keep polling the worker and calling pvsd_xenbus_after_poll()
 * until pvsd_xenbus_idle().
 */
void pvsd_xenbus_shutdown(struct pvsd_xenbus *xb);
/* No request in flight on any ring and no LUN waiting to close. */
bool pvsd_xenbus_idle(const struct pvsd_xenbus *xb);

/*
 * Unwatch, disconnect every ring, close every LUN, free.  Rings still busy
 * are freed only after their requests finish, so call it when idle.
 */
void pvsd_xenbus_free(struct pvsd_xenbus *xb);

/* Introspection, for tests and status output. */
struct pvsd_xenbus_stats {
	unsigned int vhosts;   /* known backend directories */
	unsigned int active;   /* served (state machine running) */
	unsigned int rings;    /* connected rings */
	unsigned int luns;     /* open LUNs in the registry */
	unsigned int mapped;   /* v-devs mapped, over all vhosts */
	unsigned int inflight; /* requests in flight, over all rings */
	unsigned int opening;  /* devices whose p-dev opens on a thread of its own */
	uint64_t reconnects;   /* rings replaced after a frontend resume */
	uint64_t adopted;      /* rings connected at start-up to live frontends */
	uint64_t moves;        /* moves of vhosts between event loops (a hot add's shared LUN) */
};
void pvsd_xenbus_get_stats(const struct pvsd_xenbus *xb, struct pvsd_xenbus_stats *out);

/* What pvsd_xenbus_visit() shows of a vhost and of each of its devices. */
struct pvsd_vhost_info {
	uint32_t domid, vhost;
	int be_state, fe_state; /* enum pvsd_xb_state read from xenstore now; -1: none */
	bool active;            /* state machine running */
	bool feature_host;
	const struct pvsd_ring *ring; /* NULL: no ring connected */
	int loop;                     /* the event loop it is placed on; -1: none yet */
};
struct pvsd_dev_info {
	const char *name; /* "dev-0" */
	uint32_t channel, target, lun;
	const char *pdev;      /* the p-dev node as the toolstack wrote it */
	struct pvs_unit *unit; /* the unit it is mapped to; NULL when not mapped */
	bool opening;          /* its p-dev opens on a thread of its own (iscsi://, rbd:) */
};
struct pvsd_xenbus_visitor {
	void (*vhost)(void *arg, const struct pvsd_vhost_info *v);
	void (*dev)(void *arg, const struct pvsd_dev_info *d); /* the devices of the last vhost */
	void (*vhost_end)(void *arg);
};
/* For status listings: every live vhost, in order, each followed by its devices. */
void pvsd_xenbus_visit(const struct pvsd_xenbus *xb, const struct pvsd_xenbus_visitor *vis,
                       void *arg);
/* The LUN pool every vhost shares. */
struct pvs_host *pvsd_xenbus_host(const struct pvsd_xenbus *xb);
/* XenbusState by name ("Connected"); "invalid" out of range. */
const char *pvsd_xb_state_name(int s);

/* The LUN at (@domid, @vhost, v-dev channel:target:lun), or NULL. */
struct pvs_lun *pvsd_xenbus_lookup(const struct pvsd_xenbus *xb, uint32_t domid, uint32_t vhost,
                                   uint32_t channel, uint32_t target, uint32_t lun);
/* The connected ring of (@domid, @vhost), or NULL. */
struct pvsd_ring *pvsd_xenbus_ring(const struct pvsd_xenbus *xb, uint32_t domid, uint32_t vhost);

#endif
