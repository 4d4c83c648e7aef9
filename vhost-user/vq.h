/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vq.h - one split virtqueue (virtio 1.1 2.6), seen from the device, on a
 * guest memory table (vu_mem.h).  Pure: no fds, no sockets, so the unit
 * tests drive exactly this code on a fake ring in their own memory.
 *
 * Guest memory is hostile (hostile-input class 12):
 *  - every index and every descriptor is read once, into a local copy;
 *  - every descriptor range is translated whole, inside one region;
 *  - a chain is at most the queue size long (an indirect table: at most
 *    its own length, itself at most the queue size), which also ends loops;
 *  - an indirect descriptor inside an indirect table, an indirect
 *    descriptor with NEXT, a readable descriptor after a writable one, or a
 *    chain over 4 GiB fail that chain (VU_POP_BAD: the caller returns it
 *    with length 0);
 *  - an avail index more than the queue size ahead, a head out of range or
 *    a head still in flight break the queue (VU_POP_BROKEN): nothing more
 *    is consumed from it, requests in flight still complete.
 *
 * Inflight tracking (vhost-user VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, the
 * split layout of docs/interop/vhost-user.rst "Inflight I/O tracking"):
 * when a region is attached, pop marks the head in flight with a counter,
 * push clears it as a batch of one, and start on a region that was in use
 * resubmits the heads still in flight in counter order before anything
 * new from the avail ring.
 */
#ifndef VU_VQ_H
#define VU_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "vu_mem.h"

/* QEMU's VIRTQUEUE_MAX_SIZE: the largest queue a front-end configures. */
#define VU_VQ_MAX_SIZE 1024u

/* Split-ring inflight region of one queue (vhost-user.rst DescStateSplit / QueueRegionSplit). */
struct vu_inflight_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

struct vu_inflight_queue {
	uint64_t features;
	uint16_t version; /* 0: never used, 1: in use */
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vu_inflight_desc desc[];
};

/* Bytes of one queue's inflight region for @queue_size descriptors (64-byte aligned). */
size_t vu_inflight_queue_size(unsigned int queue_size);

struct vu_vq {
	/* Set by the front-end (VHOST_USER_SET_VRING_*) */
	unsigned int num;
	uint16_t base; /* SET_VRING_BASE: the next avail index to consume */
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva;
	bool indirect;                      /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool event_idx;                     /* VIRTIO_RING_F_EVENT_IDX negotiated */
	struct vu_inflight_queue *inflight; /* NULL without inflight tracking */

	/* Runtime state */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool started;
	bool broken;
	const char *err; /* why the last chain failed or the queue broke (static string) */
	uint16_t last_avail;
	uint16_t used_idx;
	unsigned int inuse;
	uint64_t counter;
	bool push_pending; /* used entries written since the last vu_vq_need_call() */
	bool unsignalled;  /* ... and it said no: vu_vq_recheck() asks again */
	bool signalled_valid;
	uint16_t signalled_used;
	uint16_t resubmit[VU_VQ_MAX_SIZE];
	unsigned int nresubmit, resubmit_pos;
	uint64_t busy[VU_VQ_MAX_SIZE / 64];
};

/* One popped chain: iov[0, out_num) device-readable, then in_num device-writable. */
struct vu_elem {
	uint16_t head;
	unsigned int out_num, in_num;
	uint64_t out_len, in_len;
};

enum { VU_POP_EMPTY = 0, VU_POP_OK = 1, VU_POP_BAD = 2, VU_POP_BROKEN = -1 };

/* Back to the state before any SET_VRING_* message. */
void vu_vq_reset(struct vu_vq *vq);

/*
 * Translate the ring addresses in @m (again after every SET_MEM_TABLE).
 * -EINVAL when num is unset or a ring is not wholly inside one region or
 * misaligned (virtio 1.1 2.6: 16, 2 and 4 bytes).
 */
int vu_vq_map(struct vu_vq *vq, const struct vu_mem *m);

/*
 * Start processing: translate, take last_avail from base (or, from an
 * inflight region in use, from the used index plus the heads in flight),
 * queue the resubmissions.  0 or -EINVAL (vq->err says why).
 */
int vu_vq_start(struct vu_vq *vq, const struct vu_mem *m);

/*
 * The next chain: resubmissions first, then the avail ring.  Fills @iov
 * (capacity @max_iov; the queue size is always enough) and @e.
 * VU_POP_OK: a valid chain; VU_POP_BAD: e->head is valid, the chain is not
 * (push it with length 0); VU_POP_EMPTY; VU_POP_BROKEN.
 */
int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *m, struct vu_elem *e, struct iovec *iov,
              unsigned int max_iov);

/* Return @head to the driver with @len bytes written. */
void vu_vq_push(struct vu_vq *vq, uint16_t head, uint32_t len);

/*
 * After a batch of pushes: whether the driver wants an interrupt (EVENT_IDX
 * used_event, else VRING_AVAIL_F_NO_INTERRUPT).  Clears the batch.
 */
bool vu_vq_need_call(struct vu_vq *vq);

/*
 * After an idle spell following a vu_vq_need_call() that said no: whether
 * the driver, as it stands now, waits for an interrupt for entries already
 * pushed (EVENT_IDX: the used index is past used_event; else no
 * VRING_AVAIL_F_NO_INTERRUPT).  A driver re-arms and then re-reads the used
 * index, with a full barrier between, as we store the index and then read
 * its event: one of the two sees the other.  A guest whose barrier is a
 * no-op (QEMU before 8.1 elides them for a single vCPU under TCG) can miss
 * both, and sleep for ever on answers it has; this call gets it going.
 * Asks once per need_call() that said no; false otherwise.
 */
bool vu_vq_recheck(struct vu_vq *vq);

/*
 * Before waiting for the next kick: with EVENT_IDX publish avail_event.
 * Returns true when buffers are already available (process again).
 */
bool vu_vq_arm(struct vu_vq *vq);

#endif
