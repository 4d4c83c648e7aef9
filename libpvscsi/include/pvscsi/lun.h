/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/lun.h - the LUN core's transport-facing API.
 *
 * A transport (pvscsid for vscsiif, pvscsi-vhost-user for virtio-scsi, the
 * pvscsi-cdb tool) owns struct pvs_req storage, fills in the CDB, direction,
 * data buffers and a completion callback, and calls pvs_submit().  The core
 * never allocates on this path and never includes a transport header.
 *
 * Threading: a LUN belongs to the worker it was opened on, or last moved
 * to while idle (pvs_unit_move(), pvscsi/host.h).  Every call on a LUN,
 * and every completion callback, happens on that worker's thread.
 */
#ifndef PVSCSI_LUN_H
#define PVSCSI_LUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "pvscsi/sense.h"

#define PVS_CDB_MAX   32 /* virtio-scsi's default cdb_size; vscsiif allows 16 */
#define PVS_SENSE_MAX 96 /* VSCSIIF_SENSE_BUFFERSIZE and virtio's default sense_size */

/* Data direction, from the initiator's point of view of the buffer. */
enum pvs_dir {
	PVS_DIR_NONE = 0,
	PVS_DIR_TO_DEV,   /* data-out: WRITE */
	PVS_DIR_FROM_DEV, /* data-in: READ */
	PVS_DIR_BIDI,
};

/*
 * Outcome below the SCSI status: the transport turns it into DID_* (vscsiif)
 * or VIRTIO_SCSI_S_* (virtio).
 */
enum pvs_host_status {
	PVS_HOST_OK = 0,
	PVS_HOST_NO_CONNECT, /* no such target */
	PVS_HOST_ABORTED,    /* ABORT TASK / ABORT TASK SET / CLEAR TASK SET */
	PVS_HOST_RESET,      /* LUN reset or I_T nexus reset */
	PVS_HOST_ERROR,      /* transport or passthrough failure */
	PVS_HOST_TIMEOUT,
	PVS_HOST_BUS_BUSY,
};

struct pvs_lun;
struct pvs_worker;
struct pvs_req;
struct pvs_tmf;
struct pvs_map;

typedef void (*pvs_req_done_fn)(struct pvs_req *req);

/*
 * Private to the core; in this header only so that transports can embed
 * struct pvs_req by value (one per ring slot, allocated once).
 */
struct pvs_req_core {
	struct pvs_lun *lun;
	struct pvs_req *next, *prev;                    /* the LUN's in-flight list */
	const void *op;                                 /* const struct pvsi_opcode * */
	void (*cont)(struct pvs_req *req, int64_t res); /* next stage after store I/O */
	uint64_t lba;
	uint64_t nblocks;
	uint64_t pos;        /* progress of a multi-stage command, in bytes or blocks */
	uint64_t data_len;   /* sum of iov lengths at submit */
	uint32_t xfer;       /* bytes moved to/from the initiator's buffers */
	uint32_t flags;      /* PVSI_RF_* */
	uint16_t trim_idx;   /* iov entry shortened by the core, restored before done() */
	uint16_t trim_cnt;   /* iovcnt in use while trimmed */
	size_t trim_len;     /* original iov_len of iov[trim_idx] */
	struct pvs_tmf *tmf; /* task management waiting for this request */
	int16_t field;       /* sense-key-specific field pointer, -1 for none */
	int8_t field_bit;
	uint8_t field_in_cdb;
	uint32_t info;       /* sense INFORMATION field when PVSI_RF_INFO is set */
	uint64_t scratch[4]; /* handler-private */
	uint64_t t_start;    /* CLOCK_MONOTONIC ns at pvs_submit(), for the latency histogram */
	/* store-private while a store operation runs (restarting short transfers) */
	void (*store_cont)(struct pvs_req *req, int64_t res);
	const struct iovec *store_iov;
	uint64_t store_off;
	uint64_t store_done;
	uint32_t store_cnt;
	uint8_t store_op;
	int store_fd; /* the file a store operation runs on, fixed when it starts */
	/* cache=none: the aligned bounce buffer held, or the next request waiting for one */
	void *store_bounce;
	struct pvs_req *store_wait;
	/* cdrom: the medium a read started on, referenced until the request completes */
	void *medium;
};

struct pvs_req {
	/* Set by the transport before pvs_submit(). */
	uint8_t cdb[PVS_CDB_MAX];
	uint8_t cdb_len;
	uint8_t dir; /* enum pvs_dir */
	/*
	 * Data buffers.  While it owns the request the core may shorten one
	 * entry's iov_len; it restores the array before calling done().
	 */
	struct iovec *iov;
	unsigned int iovcnt;
	uint64_t initiator; /* I_T nexus identity: reservations, unit attentions */
	/*
	 * The most logical blocks one command of this initiator can always be
	 * carried with (the transport's own bound; 0: none).  The Block Limits
	 * VPD page reports it as MAXIMUM and OPTIMAL TRANSFER LENGTH, emulated
	 * or clamped into a passthrough device's answer, so that the guest's
	 * block layer builds no command the transport would refuse.  Not
	 * enforced: a longer command still runs when its buffers fit.
	 */
	uint32_t max_xfer_blocks;
	pvs_req_done_fn done;
	void *opaque; /* the transport's */

	/* Set by the core before done() is called. */
	uint8_t status; /* SCSI status (PVS_STATUS_*) */
	uint8_t host;   /* enum pvs_host_status */
	uint8_t sense_len;
	uint8_t sense[PVS_SENSE_MAX];
	uint32_t residual; /* bytes of the buffers not transferred */
	/*
	 * NULL, or where the data-in is when the core lent the LUN's own
	 * memory instead of copying it into iov (a mem: LUN's READ into the
	 * whole buffer, for a transport that asked with pvs_map_set_lend()):
	 * the bytes transferred, contiguous; iov was not written.  Valid until
	 * the transport returns to its event loop (the LUN may close at the
	 * next pvs_host_sweep()).  Read-only.
	 */
	const uint8_t *data_in;
	/*
	 * NULL, or where the transport copies the data-out, for a command it
	 * submitted with pvs_map_submit_lend_out() without fetching that data
	 * (a mem: LUN's WRITE): the first data_out_len bytes of the data-out
	 * go there, contiguous, before the transport answers.  The command is
	 * otherwise over; a transport that cannot copy answers with an error,
	 * and the blocks are then indeterminate, as after any failed WRITE.
	 * Valid as data_in is.
	 */
	uint8_t *data_out;
	uint32_t data_out_len;

	struct pvs_req_core core;
};

/*
 * Workers: one io_uring (and event fd set) per thread.  The transport polls
 * pvs_worker_fd() for readability in its own event loop and then calls
 * pvs_worker_poll(), which runs completion callbacks.
 */
int pvs_worker_new(unsigned int queue_depth, struct pvs_worker **out);
/*
 * A worker for a transport that sleeps in it (pvs_worker_sleep()) on one
 * thread: its io_uring is made with IORING_SETUP_DEFER_TASKRUN (Linux 6.1;
 * otherwise, or with PVS_URING_DEFER=0 in the environment, as
 * pvs_worker_new()'s), and sg's header writes and answer reads go on it
 * rather than on a second ring, so that one io_uring_enter() per pass
 * submits file and sg I/O alike and runs the answers' retries.  Its owner
 * is the thread that adopts it (pvs_worker_adopt()) or first sleeps in it;
 * until then what any thread queues waits for that owner.
 */
int pvs_worker_new_sleeping(unsigned int queue_depth, struct pvs_worker **out);
/* Whether pvs_worker_new_sleeping() got its deferred ring (for logs and tests). */
bool pvs_worker_is_unified(const struct pvs_worker *w);
void pvs_worker_free(struct pvs_worker *w);
/*
 * A worker runs on one thread: the one that made it, or the one that calls
 * this before it runs it (an event-loop thread).  Another thread may queue
 * work on it only while that thread is held off (pvscsid parks its loops):
 * the submission waits for the worker's next round on its own thread, and
 * pvs_worker_has_completions() is true until then.
 */
void pvs_worker_adopt(struct pvs_worker *w);
int pvs_worker_fd(const struct pvs_worker *w);
/* Submit queued I/O and reap completions without blocking; returns the number reaped. */
int pvs_worker_poll(struct pvs_worker *w);
/*
 * The same for an event loop that knows whether pvs_worker_fd() polled
 * readable: with @fds_ready false the worker's own fds are not asked (one
 * system call less per pass); completions already in the ring still run.
 */
int pvs_worker_run(struct pvs_worker *w, bool fds_ready);
/*
 * Whether completions wait in the io_uring's completion queue: a read of
 * shared memory, for a transport that polls before it sleeps (sg answers,
 * which come through fds, are not seen).  Check it before sleeping after
 * pvs_worker_flush(): what that submission completed at once waits there,
 * and no fd says so.
 */
bool pvs_worker_has_completions(const struct pvs_worker *w);
/* Submit any I/O queued by pvs_submit() calls; call once per batch of submissions. */
void pvs_worker_flush(struct pvs_worker *w);
/* Block up to @timeout_ms (-1: forever) for completions and run them (tools, tests). */
int pvs_worker_wait(struct pvs_worker *w, int timeout_ms);

/*
 * An event loop that sleeps in the worker's io_uring instead of in its own
 * epoll_wait(): one io_uring_enter() submits what the pass queued and
 * waits for a completion (the event-channel reads of pvs_worker_watch_arm()
 * among them), for one of the worker's own fds (sg, iSCSI, Ceph), for its
 * epoll set @fd to poll readable (-1: none), or for @timeout_ms (-1: no
 * limit, 0: no wait, and no system call when nothing is queued).
 *
 * It runs no completion: the caller's next pvs_worker_run() does, after it
 * read its clock, and asks the worker's fds when they polled ready.  It
 * returns 0 and sets *@fd_ready when @fd should be asked with
 * epoll_wait(..., 0).  @fd must hold no fd of the worker's, and
 * pvs_worker_fd() least of all, whose io_uring fd would wake it at every
 * completion.
 *
 * From the first call on the worker is lazy: pvs_worker_flush() and
 * pvs_worker_run() leave its submissions to the next sleep, so a pass costs
 * one io_uring_enter(), not one per flush.  Once the kernel refused the
 * poll of @fd or the wait itself, it returns that -errno at every call and
 * is not lazy any more: the caller sleeps in its own epoll_wait() again,
 * with pvs_worker_fd() in its set.  The worker's thread only, and never
 * while another thread may queue work on it.
 */
int pvs_worker_sleep(struct pvs_worker *w, int fd, int timeout_ms, bool *fd_ready);
/*
 * pvs_worker_sleep() in three parts, for a thread that holds a lock
 * through its passes and lets it go while it sleeps (pvscsid's loop
 * threads), so that another thread may queue work on the worker
 * meanwhile, as it may between two passes: _begin() under the lock
 * (0, or what pvs_worker_sleep() would return); _wait() without it, the
 * system call alone, which reads nothing another thread writes; _end()
 * under the lock again, with _wait()'s result.  Work queued during the
 * wait waits for the owner's next pass: whoever queues it wakes the owner
 * (through @fd).
 */
int pvs_worker_sleep_begin(struct pvs_worker *w, int fd, int timeout_ms);
/*
 * Completion coalescing: the next sleep lasts @us microseconds (less when
 * its @timeout_ms is shorter, none when it is 0), and neither a completion
 * nor the worker's fds end it early; only @fd polled ready before it
 * began, a signal, or a completion queue about to overflow do.  What
 * completes meanwhile is reaped by one pass.  Cleared by that sleep.
 */
void pvs_worker_sleep_hold(struct pvs_worker *w, unsigned int us);
int pvs_worker_sleep_wait(struct pvs_worker *w);
void pvs_worker_sleep_end(struct pvs_worker *w, int rc, bool *fd_ready);
/* Submit what is queued now, lazy or not (a loop about to spin on completions). */
void pvs_worker_submit(struct pvs_worker *w);

/*
 * An fd that the transport reads through the worker's io_uring instead of
 * polling it and reading it itself (a Xen event channel): one small read
 * stays posted, and its result reaches @fn on the worker's thread, from
 * pvs_worker_run() or pvs_worker_poll().  pvs_worker_watch_arm() posts it
 * again, after an optional write to the same fd (the channel's unmask);
 * both ride in the worker's next io_uring_enter(), with the I/O it submits,
 * so a wake-up costs no read() or write() of its own.  The fd must not
 * block a read that finds nothing (O_NONBLOCK) and must poll readable when
 * a read would find something.  @read_len and a write are at most 8 bytes.
 */
struct pvs_worker_watch;
typedef void (*pvs_worker_watch_fn)(void *opaque, int res, const void *buf);
/* Made unarmed; 0 or -errno. */
int pvs_worker_watch_new(struct pvs_worker *w, int fd, unsigned int read_len,
                         pvs_worker_watch_fn fn, void *opaque, struct pvs_worker_watch **out);
/*
 * Post the read (again), first writing @wlen bytes of @wbuf (0: none).
 * Nothing is posted while the read is: 0, or -errno when no SQE could be
 * had (the caller may try again at its next pass).
 */
int pvs_worker_watch_arm(struct pvs_worker_watch *wt, const void *wbuf, unsigned int wlen);
/*
 * Stop it: what is posted is cancelled, and @fn is not called again.  The
 * watch's storage lives until the kernel gave back its buffers, which
 * pvs_worker_free() waits for; the fd may be closed at once.
 */
void pvs_worker_watch_free(struct pvs_worker_watch *wt);

/*
 * Something happened to a LUN that no command shows its transport: one line
 * for the administrator's log (the backing went away, ...).  Called on the
 * LUN's worker thread.
 */
typedef void (*pvs_lun_notice_fn)(void *arg, struct pvs_lun *lun, const char *msg);

struct pvs_lun_opts {
	bool ro;                  /* writes answer DATA PROTECT */
	bool raw;                 /* passthrough only: feature-host, no CDB filter */
	uint32_t block_size;      /* 512 or 4096; 0 = 512 (emulated LUNs only) */
	const char *serial;       /* unit serial (VPD 0x80); NULL: derived from the backing */
	pvs_lun_notice_fn notice; /* may be NULL */
	void *notice_arg;
	/*
	 * iscsi:// LUNs: the iSCSI initiator name the session logs in with,
	 * the guest's (PVS_ISCSI_IQN_PREFIX ":xen.<domain UUID>" for vscsiif).
	 * pvs_lun_open() without one uses this host's name (tools).
	 */
	const char *initiator_name;
};

/* The IQN under which initiator names are derived (RFC 3720 3.2.6.3.1). */
#define PVS_ISCSI_IQN_PREFIX "iqn.2026-12.org.pvscsi"

/*
 * Open a LUN from a spec:
 *   file:PATH[,ro][,bs=512|4096]   emulated, on a regular file or block device
 *   mem:SIZE[,bs=512|4096]         emulated, RAM-backed (SIZE accepts K/M/G suffixes)
 *   cdrom:[PATH]                   emulated CD/DVD-ROM drive on a read-only image of
 *                                  2048-byte blocks; no PATH: an empty drive
 *                                  (pvs_lun_cd_insert() loads one)
 *   rbd:POOL/IMAGE[@SNAP][,ro][,bs=512|4096][,conf=FILE][,id=USER]
 *                                  emulated, on a Ceph RBD image (librbd); a
 *                                  snapshot is read-only; the identity comes
 *                                  from the cluster's fsid and the image's id
 *   sg:/dev/sgN[,raw|,ro]          passthrough to a whole host LUN; ro refuses what
 *                                  changes the medium (DATA PROTECT) and reports WP
 *                                  in MODE SENSE; ro with raw is refused
 *   iscsi://[USER@]HOST[:PORT]/IQN/LUN[,raw|,ro][,chap=FILE]
 *                                  passthrough to a LUN of an iSCSI target, as
 *                                  opts->initiator_name (pvscsi/spec.h)
 * Options in the spec are added to @opts (which may be NULL).  Returns 0 and
 * a LUN owned by the caller, or a negative errno with a message in @err.
 */
int pvs_lun_open(struct pvs_worker *w, const char *spec, const struct pvs_lun_opts *opts,
                 struct pvs_lun **out, char *err, size_t errlen);
/* The LUN must have no requests in flight (see pvs_lun_inflight()). */
void pvs_lun_close(struct pvs_lun *lun);
unsigned int pvs_lun_inflight(const struct pvs_lun *lun);
uint32_t pvs_lun_block_size(const struct pvs_lun *lun);
uint64_t pvs_lun_blocks(const struct pvs_lun *lun);
bool pvs_lun_is_passthrough(const struct pvs_lun *lun);
/*
 * Whether the backing went away: a file removed from its file system, a
 * block or sg device detached.  Every command then completes with host
 * status NO_CONNECT, as for a device that left the bus, until the LUN is
 * closed; nothing is written anywhere.
 */
bool pvs_lun_gone(const struct pvs_lun *lun);
bool pvs_lun_is_raw(const struct pvs_lun *lun);
/*
 * Re-read the backing size; when it changed, every initiator gets one
 * CAPACITY DATA HAS CHANGED unit attention.  Returns 1 if it changed.
 */
int pvs_lun_refresh_capacity(struct pvs_lun *lun);

/*
 * The data phase the core runs for @cdb (@cdb_len bytes) on @lun, or on
 * the target emulation when @lun is NULL (a LUN the guest was not given):
 * the TRANSFER LENGTH in @lun's blocks, the parameter list or allocation
 * length, from the CDB alone.  true with *dir (enum pvs_dir; PVS_DIR_NONE
 * when nothing moves) and *len in bytes; false when the core cannot tell:
 * an opcode @lun does not implement (it ends in an error without data), a
 * length carried in the parameter data (FORMAT UNIT), a reserved field
 * value, or a passthrough LUN, whose device decides its own lengths.
 * Transports use it to refuse buffers too small for a command before it
 * runs (virtio-scsi: VIRTIO_SCSI_S_OVERRUN).
 */
bool pvs_cdb_xfer(const struct pvs_lun *lun, const uint8_t *cdb, unsigned int cdb_len, uint8_t *dir,
                  uint64_t *len);

/*
 * The name of the command @cdb (@cdb_len bytes, @cdb may be NULL when 0)
 * asks for, service action included ("READ CAPACITY(16)"), from the core's
 * opcode table: the SBC-4/SPC-5 meaning, which another device type may give
 * another name (01h: REZERO UNIT, a tape drive's REWIND).  "?" when the
 * table has no entry.  A static string, never NULL: for traces.
 */
const char *pvs_opcode_name(const uint8_t *cdb, unsigned int cdb_len);
/*
 * The same for @lun's device type (pvs_lun_device_type()): 01h is REWIND
 * to a tape drive, 07h INITIALIZE ELEMENT STATUS to a medium changer.
 */
const char *pvs_lun_opcode_name(const struct pvs_lun *lun, const uint8_t *cdb,
                                unsigned int cdb_len);
/*
 * The peripheral device type (SPC-5 6.7.2): 00h for an emulated disk, 05h
 * for a cdrom: drive, what
 * the device's INQUIRY said when a passthrough LUN was opened (01h tape,
 * 05h CD/DVD, 08h medium changer...).  The CDB filter follows it.
 */
uint8_t pvs_lun_device_type(const struct pvs_lun *lun);
/*
 * What the CDB filter (no feature-host) does with each command a device of
 * type @pdt may be sent, from the opcode tables: a Markdown table of
 * opcode, name, whether it passes, whether a read-only LUN passes it, and
 * why not.  For administrators (pvscsi-cdb --filter) and docs/lun-core.md.
 * Returns 0 or -EIO when @out fails.
 */
int pvs_filter_describe(uint8_t pdt, FILE *out);

/*
 * Counters of a LUN (pvs_lun_get_stats()) or of any other stream of
 * commands a transport accounts with pvs_io_stats_add() (a vscsiif ring).
 * Every field counts completions; the core updates them on the LUN's
 * worker thread, in place (no allocation on the I/O path).
 */
/*
 * Latency histogram: bucket i < PVS_LAT_BUCKETS - 1 counts commands that
 * took less than pvs_lat_bound_us(i) and at least the bound below it
 * (16 us .. 2^20 us, about a second, doubling); the last bucket is the rest.
 */
#define PVS_LAT_BUCKETS 18
static inline uint64_t pvs_lat_bound_us(unsigned int i)
{
	return 16ull << i;
}

/*
 * The bucket a latency of @lat_ns counts in.  The bounds double, so the
 * bucket follows from the highest bit set of the microseconds: every
 * completion is counted here, and a walk up the bounds cost a visible
 * share of a 4 KiB request.
 */
static inline unsigned int pvs_lat_bucket(uint64_t lat_ns)
{
	uint64_t us = lat_ns / 1000;
	unsigned int b;

	if (us < pvs_lat_bound_us(0))
		return 0;
	/* floor(log2(us)) - 3: 16 us is bucket 1 */
	b = 60u - (unsigned int)__builtin_clzll(us);
	return b < PVS_LAT_BUCKETS - 1 ? b : PVS_LAT_BUCKETS - 1;
}

struct pvs_io_stats {
	uint64_t commands;      /* completed, whatever the outcome */
	uint64_t bytes_read;    /* data-in transferred to the initiator */
	uint64_t bytes_written; /* data-out taken from the initiator */
	uint64_t errors;        /* any outcome but GOOD status with host status OK */
	uint64_t sense_key[16]; /* CHECK CONDITION, by sense key (SPC-5 4.4.8) */
	uint64_t conflicts;     /* RESERVATION CONFLICT */
	uint64_t busy;          /* BUSY or TASK SET FULL */
	uint64_t host_errors;   /* host status other than OK, ABORTED and RESET */
	uint64_t aborted;       /* commands ended by ABORT TASK (SET) or CLEAR TASK SET */
	uint64_t reset;         /* commands ended by a LUN or I_T nexus reset */
	uint64_t tmf_aborts;    /* abort functions received (ABORT TASK, ABORT/CLEAR TASK SET) */
	uint64_t tmf_resets;    /* reset functions received (LUN RESET, I_T NEXUS RESET) */
	uint64_t latency_ns;    /* sum of the latencies of @commands */
	uint64_t latency[PVS_LAT_BUCKETS];
};

/*
 * CLOCK_MONOTONIC in ns: what pvs_io_stats_add() latencies are measured
 * with.  After pvs_clock_pass() on this thread, the time that call read:
 * an event loop reads the clock once per pass instead of at every
 * submission and completion (in a Xen PV dom0 clock_gettime is a system
 * call, there is no vDSO clock), so a latency counts whole loop passes.
 */
uint64_t pvs_now_ns(void);
/* Read the clock for this thread's pvs_now_ns() until the next call; returns it. */
uint64_t pvs_clock_pass(void);
/*
 * Set this thread's pass time to @ns instead: a CLOCK_MONOTONIC reading the
 * event loop derived from a cheaper clock of its own (pvscsid's TSC while
 * it polls, re-based on pvs_clock_pass() every second).
 */
void pvs_clock_set_pass(uint64_t ns);
/* Count the completion of @req (status, host, sense, residual set) that took @lat_ns. */
void pvs_io_stats_add(struct pvs_io_stats *s, const struct pvs_req *req, uint64_t lat_ns);
/* The LUN's counters since it was opened. */
void pvs_lun_get_stats(const struct pvs_lun *lun, struct pvs_io_stats *out);

/*
 * Reservation state, for status listings: the SPC-2 RESERVE holder and the
 * persistent reservation (SPC-5 5.14).  Initiators are the transports'
 * ids (pvs_req.initiator).
 */
struct pvs_lun_resv {
	bool spc2_reserved;
	uint64_t spc2_holder;
	unsigned int registrations; /* I_T nexuses registered with a key */
	uint32_t generation;        /* PRGENERATION */
	bool pr_reserved;
	uint8_t pr_type;    /* 1 WE, 3 EA, 5 WE-RO, 6 EA-RO, 7 WE-AR, 8 EA-AR */
	uint64_t pr_holder; /* meaningless for the all-registrants types (7, 8) */
};
void pvs_lun_get_resv(const struct pvs_lun *lun, struct pvs_lun_resv *out);
bool pvs_lun_is_ro(const struct pvs_lun *lun);
/* What the LUN was opened on: a path (/dev/sg3, /srv/a.img), or a mem: LUN's size. */
const char *pvs_lun_backing(const struct pvs_lun *lun);

/*
 * CD-ROM drives (cdrom: LUNs, MMC-6).  The medium is an image file or block
 * device of 2048-byte blocks, opened read-only.  A drive is one device
 * whoever uses it: a unit shared by two guests (pvscsi/host.h) has one
 * tray, and a medium ejected by one is gone for all, as with a shared
 * physical drive.  These calls run on the LUN's worker thread, like every
 * call on a LUN.
 */
struct pvs_cd_status {
	bool medium;     /* a medium is loaded */
	bool tray_open;  /* ejected (by the guest or the host), no medium */
	bool prevented;  /* an I_T nexus prevents medium removal (PREVENT ALLOW MEDIUM REMOVAL) */
	uint64_t blocks; /* of the medium, in 2048-byte blocks; 0 without one */
	char path[256];  /* the medium's image as it was named; "" without one */
};

/* Whether @lun is a cdrom: drive. */
bool pvs_lun_is_cdrom(const struct pvs_lun *lun);
/* The drive's state, for status listings: 0, or -ENOTTY when @lun is no cdrom: drive. */
int pvs_lun_cd_status(const struct pvs_lun *lun, struct pvs_cd_status *out);
/*
 * Load the image @path (as xl cd-insert does): it must be a regular file or
 * block device whose size is a non-zero multiple of 2048.  A medium already
 * loaded is replaced; while a guest prevents its removal that is refused
 * (-EBUSY) unless @force.  Every I_T nexus then gets the unit attention
 * NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (28h/00h) and a "new
 * media" event (GET EVENT STATUS NOTIFICATION).  Requests in flight finish
 * on the medium they started on, which stays open until the last of them
 * completes.  On failure nothing changes and @err says why, naming @path.
 * -ENOTTY when @lun is no cdrom: drive.
 */
int pvs_lun_cd_insert(struct pvs_lun *lun, const char *path, bool force, char *err, size_t errlen);
/*
 * Remove the medium and leave the tray open (as xl cd-eject does): TEST
 * UNIT READY then answers MEDIUM NOT PRESENT - TRAY OPEN and every I_T
 * nexus gets a "media removal" event.  While a guest prevents removal it is
 * refused with -EBUSY, and the guest is sent an "eject request" event
 * instead (the drive's eject button: udisks and the like unmount, allow
 * removal and eject); @force ejects anyway and drops every I_T nexus's
 * prevention, as a paper clip in a physical drive's emergency eject hole
 * would.  Ejecting an empty drive only opens the tray.  Requests in flight
 * finish on the medium they started on.  -ENOTTY when @lun is no cdrom:
 * drive.
 */
int pvs_lun_cd_eject(struct pvs_lun *lun, bool force, char *err, size_t errlen);

/*
 * Start a SCSI command.  The request always completes through req->done,
 * possibly before pvs_submit() returns, exactly once.
 */
void pvs_submit(struct pvs_lun *lun, struct pvs_req *req);

/* Task management (SAM-5 7). */
enum pvs_tmf_fn {
	PVS_TMF_ABORT_TASK,
	PVS_TMF_ABORT_TASK_SET, /* this initiator's tasks */
	PVS_TMF_CLEAR_TASK_SET, /* every initiator's tasks */
	PVS_TMF_LUN_RESET,
	PVS_TMF_I_T_NEXUS_RESET, /* also I_T nexus loss */
	PVS_TMF_QUERY_TASK,
	PVS_TMF_QUERY_TASK_SET,
};

enum pvs_tmf_result {
	PVS_TMF_FUNCTION_COMPLETE = 0,
	PVS_TMF_FUNCTION_SUCCEEDED, /* QUERY: a task exists */
	PVS_TMF_FUNCTION_REJECTED,
};

struct pvs_tmf {
	enum pvs_tmf_fn fn;
	uint64_t initiator;
	struct pvs_req *task; /* ABORT TASK / QUERY TASK: the referenced request, or NULL */
	void (*done)(struct pvs_tmf *tmf);
	void *opaque;
	int result; /* enum pvs_tmf_result, set before done() */
	/* private */
	struct pvs_lun *lun;
	unsigned int pending;
	struct pvs_tmf *waiter; /* a later TMF that completes after this one */
	/* pvs_map_tmf(): an I_T NEXUS RESET walking the LUNs of one target */
	struct pvs_map *walk_map;
	uint32_t walk_channel, walk_target, walk_next;
	int walk_result;
	void (*walk_done)(struct pvs_tmf *tmf);
};

/*
 * Run a task management function.  Affected requests complete (host
 * ABORTED or RESET) before tmf->done runs; neither blocks the caller.
 */
void pvs_tmf_submit(struct pvs_lun *lun, struct pvs_tmf *tmf);

#endif
