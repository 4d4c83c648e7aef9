/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vscsi.h - the virtio-scsi device (virtio 1.1 5.6) on the LUN core, served
 * through a vhost-user connection (vu_dev.h).
 *
 * Queues: 0 control (TMF, asynchronous notification), 1 event, 2.. request.
 * Per queue, allocated when it starts and never on the I/O path: one slot
 * per descriptor head, each with an embedded struct pvs_req and struct
 * pvs_tmf and room for a whole chain of iovecs.  Data buffers are the
 * guest's own memory (translated, never copied); the request header is
 * copied out once before it is looked at.
 *
 * Threading: one thread, the one of cfg->worker.  Call vscsi_flush() after
 * every pvs_worker_poll()/wait() so that completions reach the guest.
 */
#ifndef VSCSI_H
#define VSCSI_H

#include <stdbool.h>
#include <stdint.h>

#include "pvscsi/host.h"
#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "vu_dev.h"

#define VSCSI_CTRL_Q         0
#define VSCSI_EVENT_Q        1
#define VSCSI_REQ_Q0         2
#define VSCSI_MAX_REQ_QUEUES 16
#define VSCSI_MAX_LUNS       256 /* per device */

struct vscsi;

struct vscsi_cfg {
	struct pvs_worker *worker;
	struct pvs_host *host; /* the LUN pool, shared by controllers; NULL: one of its own */
	uint64_t initiator;    /* this device's I_T nexus identity in the core, unique per host */
	/*
	 * The guest's iSCSI initiator name, for its iscsi:// LUNs (one session
	 * per controller at the target); "" none, and such LUNs are refused.
	 */
	char iscsi_name[224];
	unsigned int num_queues;  /* request queues offered (config space num_queues); 1..16 */
	unsigned int seg_max;     /* config space; 0: 126, QEMU's default for 128-entry queues */
	unsigned int max_sectors; /* config space; 0: 0xffff */
	unsigned int cmd_per_lun; /* config space; 0: 128 */
	/* A queue's kick fd changed (-1: gone): the event loop watches @fd for queue @q. */
	void (*kick_fd)(void *arg, unsigned int q, int fd);
	void *kick_arg;
};

struct vscsi_stats {
	uint64_t requests;    /* command requests popped */
	uint64_t responses;   /* command responses pushed */
	uint64_t bad_chains;  /* chains failed by vq.c or too short for the header */
	uint64_t bad_target;  /* VIRTIO_SCSI_S_BAD_TARGET answers */
	uint64_t tmfs;        /* task management requests */
	uint64_t an;          /* asynchronous notification requests */
	uint64_t events;      /* events delivered */
	uint64_t events_lost; /* events with no buffer to go into */
	uint64_t calls;       /* interrupts sent */
	uint64_t late_calls;  /* ... of which by vscsi_recheck_calls() */
	/* The controller's commands that reached the core, submission to completion. */
	struct pvs_io_stats io;
};

int vscsi_new(const struct vscsi_cfg *cfg, struct vscsi **out);
/* Detach first; the LUNs still registered are closed. */
void vscsi_free(struct vscsi *vs);

/* The vu_dev_ops to create a connection's vu_dev with (opaque = @vs). */
const struct vu_dev_ops *vscsi_dev_ops(const struct vscsi *vs);
/* Serve @d (NULL: none; then nothing is in flight once vu_dev_free() returned). */
void vscsi_attach(struct vscsi *vs, struct vu_dev *d);

/* Queue @q's kick fd fired (after vu_dev_kick_ack()). */
void vscsi_kick(struct vscsi *vs, unsigned int q);
/* Interrupt the driver once per queue that has new used entries and wants it. */
void vscsi_flush(struct vscsi *vs);
/* Whether a queue's last answers went out without an interrupt (vu_vq_recheck()). */
bool vscsi_unsignalled(const struct vscsi *vs);
/*
 * After an idle spell: interrupt the driver on each such queue where it
 * waits for answers it has not seen (vu_vq_recheck()).
 */
void vscsi_recheck_calls(struct vscsi *vs);

/*
 * Run-time LUN changes.  add: takes the unit named by @spec from the pool
 * (opening it, or sharing it with the other controllers and LUN numbers on
 * the same backing); -EEXIST, -EINVAL (target over 255, LUN over 16383),
 * -ENOSPC, or the pool's error with one line in @err.  The driver gets a
 * TRANSPORT_RESET RESCAN event, REMOVED on remove (VIRTIO_SCSI_F_HOTPLUG),
 * or EVENTS_MISSED when it gave no event buffer.  remove gives the unit
 * back: the pool closes it once no controller uses it and its requests
 * ended.  -ENOENT when absent.
 */
int vscsi_lun_add(struct vscsi *vs, uint32_t target, uint32_t lun, const char *spec, char *err,
                  size_t errlen);
/*
 * vscsi_lun_add() that does not hold up the daemon's loop: an iscsi://
 * LUN's login or an rbd: LUN's connection to its cluster runs on a thread
 * of the pool's (pvs_host_unit_open()) while every controller is served.
 * 0 when added at once (@done is not called), VSCSI_ADD_PENDING when
 * @done(@arg, rc, err) will be called on the loop's thread (rc 0: added),
 * or vscsi_lun_add()'s errors.  An add under way holds its target:lun: a
 * second add of it is -EEXIST.  vscsi_free() ends the adds under way with
 * -ECANCELED.
 */
#define VSCSI_ADD_PENDING 1
typedef void (*vscsi_added_fn)(void *arg, int rc, const char *err);
int vscsi_lun_add_async(struct vscsi *vs, uint32_t target, uint32_t lun, const char *spec,
                        vscsi_added_fn done, void *arg, char *err, size_t errlen);
int vscsi_lun_remove(struct vscsi *vs, uint32_t target, uint32_t lun);
/* Re-read the backing size; on a change a PARAM_CHANGE event (VIRTIO_SCSI_F_CHANGE). 1 changed, 0
 * not, -ENOENT. */
int vscsi_lun_refresh(struct vscsi *vs, uint32_t target, uint32_t lun);

/*
 * Change the medium of the cdrom: drive at @target:@lun (pvs_lun_cd_insert(),
 * or pvs_lun_cd_eject() when @path is NULL); @force overrides a guest's
 * PREVENT ALLOW MEDIUM REMOVAL.  The guest learns of it as from a drive of
 * its own, through the unit attention and media events of TEST UNIT READY
 * and GET EVENT STATUS NOTIFICATION: virtio-scsi has no event for it (QEMU's
 * scsi-cd sends none either).  -ENOENT when absent, else the core's error
 * with one line in @err.
 */
int vscsi_lun_cd(struct vscsi *vs, uint32_t target, uint32_t lun, const char *path, bool force,
                 char *err, size_t errlen);

struct vscsi_lun_info {
	uint32_t target, lun;
	const struct pvs_unit *unit; /* NULL when the map holds none */
	const char *spec;
	uint64_t blocks;
	uint32_t block_size;
	unsigned int inflight;
	unsigned int users; /* v-devs of every controller on this unit */
	bool cdrom;         /* a cdrom: drive; then @cd is its state */
	struct pvs_cd_status cd;
};
/* The @i-th registered LUN in (target, lun) order; false past the end. */
bool vscsi_lun_get(const struct vscsi *vs, unsigned int i, struct vscsi_lun_info *out);

void vscsi_get_stats(const struct vscsi *vs, struct vscsi_stats *out);
/* Requests and TMFs popped and not yet returned, over every queue. */
unsigned int vscsi_inflight(const struct vscsi *vs);
struct pvs_map *vscsi_map(const struct vscsi *vs);
uint64_t vscsi_initiator(const struct vscsi *vs);
/* The iSCSI initiator name its iscsi:// LUNs log in with; "" none. */
const char *vscsi_iscsi_name(const struct vscsi *vs);
/* The LUN pool it takes its units from (vscsi_cfg.host, or its own). */
struct pvs_host *vscsi_host(const struct vscsi *vs);
/* Request queues offered (vscsi_cfg.num_queues). */
unsigned int vscsi_num_queues(const struct vscsi *vs);

#endif
