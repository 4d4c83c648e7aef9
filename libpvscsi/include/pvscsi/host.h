/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/host.h - the SCSI target device (SAM-5 4.6): one pool of logical
 * units, shared by every initiator and every transport of a process.
 *
 * A logical unit is its backing, not its name: a file reached by two paths,
 * a block device by its node or a by-id link, a host LUN by H:C:T:L or its
 * naa. identity are each one pvs_unit, whatever LUN number, guest or
 * transport reaches it.  So persistent reservations, unit attentions and the
 * COMPARE AND WRITE gate, which live in the struct pvs_lun, are shared: two
 * guests of a cluster see each other's reservations whether they sit behind
 * one vscsiif vhost, two domains or two virtio-scsi controllers.
 *
 * Each initiator (I_T nexus: a vscsiif vhost of a domain, a virtio-scsi
 * controller) gets a v-dev map from pvs_host_map_new() on top of the pool;
 * pvscsi/map.h routes its commands and answers for what it was not given.
 *
 * Threading: the pool is used from one thread, the one of cfg->worker
 * (pvs_host_unit_open()'s threads are the pool's own and touch nothing a
 * caller sees).  A unit's I/O runs on the worker it was opened on, which is
 * cfg->worker unless pvs_host_unit_open_on() names another: a process with
 * several event loops gives each loop its worker and keeps every user of a
 * unit on that unit's loop (the LUN core has no locks).  A unit changes
 * loop only when idle (pvs_unit_busy() false), by pvs_unit_move(), while
 * neither loop's thread runs; its users follow it to the new loop.
 */
#ifndef PVSCSI_HOST_H
#define PVSCSI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "pvscsi/resolve.h"

struct pvs_host;
struct pvs_unit;

struct pvs_host_cfg {
	struct pvs_worker *worker;
	struct pvs_resolver resolver; /* for host p-devs; zero: the real /sys and /dev */
	/*
	 * One line for the administrator's log, with a syslog priority (4
	 * warning: a backing went away; 6 info: a LUN closes, its last user
	 * gone).  May be NULL.
	 */
	void (*log)(void *arg, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	void *log_arg;
};

int pvs_host_new(const struct pvs_host_cfg *cfg, struct pvs_host **out);
/*
 * Frees the pool: every unit still open is closed (none may have requests
 * in flight) and every map made by pvs_host_map_new() must have been freed.
 */
void pvs_host_free(struct pvs_host *h);

/*
 * Take a reference on the unit named by @spec (pvscsi/spec.h), opening it
 * unless a unit on the same backing is open.  @raw adds feature-host to the
 * spec's own options (the vscsiif vhost's flag).  A second user must ask for
 * the same options (ro, raw, bs=) as the first, or gets -EBUSY.  A mem: spec
 * is a new unit every time.  A host p-dev is resolved with cfg->resolver;
 * *@out's pvs_unit_stable() then holds its stable identity.  Returns 0, or
 * a negative errno with one line in @err naming the spec and the reason.
 */
int pvs_host_unit_get(struct pvs_host *h, const char *spec, bool raw, struct pvs_unit **out,
                      char *err, size_t errlen);
/*
 * The same for the initiator named @initiator (an iSCSI initiator name,
 * the guest's: pvscsi/lun.h PVS_ISCSI_IQN_PREFIX): an iscsi:// LUN is one
 * unit, and one session at the target, per initiator, so that each guest
 * is its own I_T nexus there.  Other kinds ignore it.  An iscsi:// spec
 * without one is refused.
 */
int pvs_host_unit_get_as(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                         struct pvs_unit **out, char *err, size_t errlen);
/*
 * pvs_host_unit_get_as() for a transport's attach, which must not hold up
 * the worker's thread: an iscsi:// LUN's login (up to 15 s against a dead
 * portal) and an rbd: LUN's connection to its cluster (up to 10 s) run on
 * a thread of their own, while the worker serves every other LUN.  Every
 * other kind, a unit already open and an iSCSI session still logged in
 * (its linger) are done at once.
 *
 * Returns 0 with *@out set (@done is not called); PVS_UNIT_PENDING with
 * *@wait set, and @done(@arg, ...) is called later on the worker's thread
 * with the unit (one reference, as from pvs_host_unit_get_as()) or NULL,
 * a negative errno and the error line; or a negative errno with @err.  A
 * second caller for a unit whose open is under way waits for the same
 * open: one login, one session, one I_T nexus.  A pvs_host_unit_get_as()
 * of such a unit waits for the open to end, on the caller's thread.
 */
#define PVS_UNIT_PENDING 1
typedef void (*pvs_unit_done_fn)(void *arg, struct pvs_unit *u, int rc, const char *err);
struct pvs_unit_wait;
int pvs_host_unit_open(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                       pvs_unit_done_fn done, void *arg, struct pvs_unit **out,
                       struct pvs_unit_wait **wait, char *err, size_t errlen);
/*
 * The caller of a pending pvs_host_unit_open() went away: @done will not
 * be called, and the reference it would have had is dropped.  Not after
 * @done was called.  pvs_host_free() cancels what is left, and waits for
 * the opens under way to end.
 */
void pvs_unit_wait_cancel(struct pvs_unit_wait *w);
/*
 * pvs_host_unit_open() with the unit's I/O on @w (NULL: cfg->worker); @done
 * still runs on cfg->worker's thread.  A unit open, or opening, on another
 * worker is -EXDEV with @err naming it: ask pvs_host_unit_where() first.
 */
int pvs_host_unit_open_on(struct pvs_host *h, struct pvs_worker *w, const char *spec, bool raw,
                          const char *initiator, pvs_unit_done_fn done, void *arg,
                          struct pvs_unit **out, struct pvs_unit_wait **wait, char *err,
                          size_t errlen);
/*
 * The worker of the unit open, or opening, on @spec's backing for
 * @initiator (as pvs_host_unit_get_as() would find it), or NULL when there
 * is none or @spec does not parse: where a new user of it must run.
 */
struct pvs_worker *pvs_host_unit_where(struct pvs_host *h, const char *spec, bool raw,
                                       const char *initiator);
/* pvs_host_unit_get_as() with the unit's I/O on @w (NULL: cfg->worker), as above. */
int pvs_host_unit_get_on(struct pvs_host *h, struct pvs_worker *w, const char *spec, bool raw,
                         const char *initiator, struct pvs_unit **out, char *err, size_t errlen);
/* Opens under way on their threads. */
unsigned int pvs_host_opening(const struct pvs_host *h);

/*
 * Drop a reference.  The last one closes the LUN at once when it is idle,
 * otherwise at the first pvs_host_sweep() after its requests ended.
 */
void pvs_unit_put(struct pvs_unit *u);
/* Close what was put and is idle now; free records nobody pins. */
void pvs_host_sweep(struct pvs_host *h);
/*
 * Whether a unit on @w waits for pvs_host_sweep() to close it (put, and its
 * last request ended): read-only, for @w's thread to ask the pool's.
 */
bool pvs_host_sweep_due(const struct pvs_host *h, const struct pvs_worker *w);
/*
 * Run the worker until every unit that nobody uses any more has closed (its
 * last requests ended): before pvs_host_free() at exit.
 */
void pvs_host_drain(struct pvs_host *h);

/*
 * A pin keeps the record (not the LUN) of a unit alive after its last put,
 * so that a hot remove can wait for the LUN to close: pvs_unit_is_open()
 * turns false once it is closed.  A unit taken again by a new user (a
 * pvs_host_unit_get() of the same backing) stays open.
 */
void pvs_unit_pin(struct pvs_unit *u);
void pvs_unit_unpin(struct pvs_unit *u);
bool pvs_unit_is_open(const struct pvs_unit *u);

/*
 * Whether @u has anything on its worker: requests in flight, or its kind's
 * own operations there:
 * - sg: a header write's or answer read's CQE still to come (a write's may
 *   come after its command's answer; an answer read left by a command sg
 *   refused is cancelled, and is busy until the cancel ends it);
 * - iscsi: commands at the target or waiting to be sent again, an ABORT
 *   TASK unanswered, a session lost or logging in again;
 * - file:, cdrom:, mem:, rbd: nothing but their requests (a prefetch's
 *   fadvise and an rbd completion not yet taken are a request's).
 * It turns false only as the worker runs.  A unit moves only when false.
 */
bool pvs_unit_busy(const struct pvs_unit *u);
/*
 * Move @u's I/O to worker @to: what its LUN had registered with its old
 * worker (an sg fd and the deferred io_uring its answers are read on, an
 * iSCSI session's fd (its socket and timer), rbd's completion eventfd, a
 * file's watch of its name) is registered with @to and taken off the old
 * one, and pvs_unit_worker() is @to from then on.  Neither worker's thread
 * may run meanwhile (the caller parks both); what is queued on @to is
 * submitted at its thread's next pass.  The caller moves every user of @u
 * with it (pvs_host_unit_open_on() refuses a second loop).  0 (@to the
 * worker already: nothing done); -EBUSY while pvs_unit_busy(); -EINVAL for
 * a unit not open (still opening, or closed) or no @to; -errno with @err
 * naming the unit and what @to refused: @u then stays on its old worker,
 * whole and usable.
 */
int pvs_unit_move(struct pvs_unit *u, struct pvs_worker *to, char *err, size_t errlen);

/* The open LUN (NULL once closed). */
struct pvs_lun *pvs_unit_lun(const struct pvs_unit *u);
/* The worker its I/O runs on. */
struct pvs_worker *pvs_unit_worker(const struct pvs_unit *u);
/* What was opened ("sg:/dev/sg3,raw", "file:/srv/a.img,ro"), for log lines and listings. */
const char *pvs_unit_spec(const struct pvs_unit *u);
/* A host LUN's stable p-dev (pvs_pdev_stable_spec()); "" for an emulated LUN or none. */
const char *pvs_unit_stable(const struct pvs_unit *u);
/*
 * The backing object the unit is, unique in the pool while it is open and
 * the same for every spec that names it: "b:803" (a block device's
 * number), "c:1502" (a character device's), "f:803:1c" (a file's device
 * and inode), "u:3" (a RAM disk, or a path that did not stat),
 * "i:INITIATOR|HOST/IQN/LUN" (an iSCSI LUN as one initiator).  For labels
 * of metrics, which need a name no two units share.
 */
const char *pvs_unit_id(const struct pvs_unit *u);
/* References (v-dev mappings) held. */
unsigned int pvs_unit_users(const struct pvs_unit *u);

/* The counters of the unit's LUN (pvs_lun_get_stats()); zeroes once it is closed. */
void pvs_unit_get_stats(const struct pvs_unit *u, struct pvs_io_stats *out);
/* Whether the unit was opened read-only (ro in its spec). */
bool pvs_unit_ro(const struct pvs_unit *u);

struct pvs_host_stats {
	unsigned int units; /* open LUNs */
	unsigned int maps;  /* initiators (I_T nexuses) with a map */
};
void pvs_host_get_stats(const struct pvs_host *h, struct pvs_host_stats *out);
/* The @i-th open unit in the pool; NULL past the end. */
struct pvs_unit *pvs_host_unit_at(const struct pvs_host *h, unsigned int i);

/*
 * A v-dev map for initiator @initiator, a value unique in this host for
 * the life of the I_T nexus (and beyond it, for persistent reservations:
 * vscsiif uses the domain and vhost, virtio-scsi the controller).  Every
 * command routed through it carries @initiator.  Free it with pvs_map_free().
 */
int pvs_host_map_new(struct pvs_host *h, uint64_t initiator, struct pvs_map **out);

#endif
