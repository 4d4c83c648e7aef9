/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vq.c - split virtqueue, device side (see vq.h).
 *
 * virtio is little-endian from 1.0 on (virtio 1.1 2.4); the le*toh calls
 * keep that visible.  Index reads that order later reads use acquire;
 * the used index is published with release (virtio 1.1 2.6.13.x).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vq.h"

#define INFLIGHT_VERSION 1

size_t vu_inflight_queue_size(unsigned int queue_size)
{
	size_t sz = sizeof(struct vu_inflight_queue) + queue_size * sizeof(struct vu_inflight_desc);

	return (sz + 63) & ~(size_t)63;
}

static inline bool busy(const struct vu_vq *vq, uint16_t h)
{
	return vq->busy[h / 64] >> (h % 64) & 1;
}

static inline void set_busy(struct vu_vq *vq, uint16_t h, bool on)
{
	if (on)
		vq->busy[h / 64] |= 1ull << (h % 64);
	else
		vq->busy[h / 64] &= ~(1ull << (h % 64));
}

static void broken(struct vu_vq *vq, const char *why)
{
	vq->broken = true;
	vq->err = why;
}

void vu_vq_reset(struct vu_vq *vq)
{
	memset(vq, 0, offsetof(struct vu_vq, resubmit));
	vq->nresubmit = vq->resubmit_pos = 0;
	memset(vq->busy, 0, sizeof(vq->busy));
}

int vu_vq_map(struct vu_vq *vq, const struct vu_mem *m)
{
	uint64_t n = vq->num;

	if (!n || !vq->addr_set) {
		vq->err = "ring size or addresses not set";
		return -EINVAL;
	}
	/* virtio 1.1 2.6: descriptor table, available ring (+ used_event), used ring (+
	 * avail_event). */
	vq->desc = vu_mem_uva(m, vq->desc_uva, 16 * n);
	vq->avail = vu_mem_uva(m, vq->avail_uva, 6 + 2 * n);
	vq->used = vu_mem_uva(m, vq->used_uva, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->err = "ring not inside guest memory";
		return -EINVAL;
	}
	/*
	 * Where we touch them, too: a region whose front-end address and
	 * mmap_offset disagree modulo the alignment turns aligned addresses
	 * into misaligned pointers, and arm64 faults on a misaligned atomic.
	 */
	if ((vq->desc_uva & 15) || (vq->avail_uva & 1) || (vq->used_uva & 3) ||
	    ((uintptr_t)vq->desc & 15) || ((uintptr_t)vq->avail & 1) || ((uintptr_t)vq->used & 3)) {
		vq->err = "ring misaligned";
		return -EINVAL;
	}
	return 0;
}

static int cmp_counter(const void *a, const void *b, void *arg)
{
	const struct vu_inflight_queue *q = arg;
	uint64_t ca = q->desc[*(const uint16_t *)a].counter,
	         cb = q->desc[*(const uint16_t *)b].counter;

	return ca < cb ? -1 : ca > cb;
}

/* vhost-user.rst "Inflight I/O tracking", split virtqueue, "When reconnecting". */
static int recover_inflight(struct vu_vq *vq)
{
	struct vu_inflight_queue *q = vq->inflight;
	uint16_t used = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	uint64_t max = 0;

	if (q->version == 0) {
		/* A fresh region (zeroed by GET_INFLIGHT_FD): nothing to resume. */
		memset(q->desc, 0, vq->num * sizeof(q->desc[0]));
		q->desc_num = (uint16_t)vq->num;
		q->last_batch_head = 0;
		q->used_idx = used;
		q->version = INFLIGHT_VERSION;
		vq->used_idx = used;
		return 0;
	}
	if (q->version != INFLIGHT_VERSION || q->desc_num != vq->num) {
		vq->err = "inflight region of another version or queue size";
		return -EINVAL;
	}
	if (q->used_idx != used) {
		/* The last batch reached the used ring: its entries are no longer in flight. */
		if (q->last_batch_head < vq->num)
			q->desc[q->last_batch_head].inflight = 0;
		q->used_idx = used;
	}
	vq->nresubmit = vq->resubmit_pos = 0;
	for (unsigned int i = 0; i < vq->num; i++) {
		if (q->desc[i].inflight != 1)
			continue;
		vq->resubmit[vq->nresubmit++] = (uint16_t)i;
		set_busy(vq, (uint16_t)i, true);
		if (q->desc[i].counter > max)
			max = q->desc[i].counter;
	}
	qsort_r(vq->resubmit, vq->nresubmit, sizeof(vq->resubmit[0]), cmp_counter, q);
	vq->counter = max + 1;
	vq->inuse = vq->nresubmit;
	vq->used_idx = used;
	/* Every consumed head is either on the used ring or still in flight. */
	vq->last_avail = (uint16_t)(used + vq->nresubmit);
	return 0;
}

int vu_vq_start(struct vu_vq *vq, const struct vu_mem *m)
{
	if (vq->num == 0 || vq->num > VU_VQ_MAX_SIZE || (vq->num & (vq->num - 1))) {
		vq->err = "queue size not a power of 2 in 1..1024";
		return -EINVAL;
	}
	if (vu_vq_map(vq, m))
		return -EINVAL;
	memset(vq->busy, 0, sizeof(vq->busy));
	vq->nresubmit = vq->resubmit_pos = 0;
	vq->inuse = 0;
	vq->broken = false;
	vq->err = NULL;
	vq->push_pending = false;
	vq->unsignalled = false;
	vq->signalled_valid = false;
	vq->last_avail = vq->base;
	vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	if (vq->inflight && recover_inflight(vq))
		return -EINVAL;
	vq->started = true;
	return 0;
}

static int bad(struct vu_vq *vq, const char *why)
{
	vq->err = why;
	return -EINVAL;
}

/* Walk the chain at @head into @iov.  0, or -EINVAL with vq->err set. */
static int walk(struct vu_vq *vq, const struct vu_mem *m, uint16_t head, struct vu_elem *e,
                struct iovec *iov, unsigned int max_iov)
{
	const struct vring_desc *table = vq->desc;
	unsigned int table_n = vq->num, idx = head, count = 0, niov = 0;
	bool in_indirect = false, seen_write = false;
	uint64_t total = 0;

	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		struct vring_desc d;
		uint16_t flags;
		uint32_t len;
		uint64_t addr;

		if (idx >= table_n)
			return bad(vq, "descriptor index out of range");
		/* Bounds every walk, so a loop in the next fields ends here. */
		if (++count > table_n)
			return bad(vq, "descriptor chain longer than its table (loop)");
		memcpy(&d, &table[idx], sizeof(d)); /* the one read of this descriptor */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		addr = le64toh(d.addr);

		if (flags & VRING_DESC_F_INDIRECT) {
			/* virtio 1.1 2.6.5.3.1 */
			if (!vq->indirect)
				return bad(vq, "indirect descriptor not negotiated");
			if (in_indirect)
				return bad(vq, "indirect descriptor inside an indirect table");
			if (flags & VRING_DESC_F_NEXT)
				return bad(vq, "indirect descriptor with NEXT");
			if (len == 0 || len % sizeof(struct vring_desc) ||
			    len / sizeof(struct vring_desc) > vq->num)
				return bad(vq, "indirect table size");
			table = vu_mem_gpa(m, addr, len);
			if (!table)
				return bad(vq, "indirect table not inside guest memory");
			table_n = len / sizeof(struct vring_desc);
			in_indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		if (flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return bad(vq, "readable descriptor after a writable one");
		if (len) {
			void *p = vu_mem_gpa(m, addr, len);

			if (!p)
				return bad(vq, "buffer not inside guest memory");
			if (niov >= max_iov)
				return bad(vq, "more buffers than the queue size");
			total += len;
			if (total > UINT32_MAX)
				return bad(vq, "chain longer than 4 GiB");
			iov[niov].iov_base = p;
			iov[niov].iov_len = len;
			niov++;
			if (flags & VRING_DESC_F_WRITE) {
				e->in_num++;
				e->in_len += len;
			} else {
				e->out_num++;
				e->out_len += len;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
	}
	return 0;
}

int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *m, struct vu_elem *e, struct iovec *iov,
              unsigned int max_iov)
{
	uint16_t avail_idx, head;

	if (vq->broken || !vq->started)
		return vq->broken ? VU_POP_BROKEN : VU_POP_EMPTY;
	if (vq->resubmit_pos < vq->nresubmit) {
		/* Already marked busy and in flight by recover_inflight(). */
		head = vq->resubmit[vq->resubmit_pos++];
		e->head = head;
		return walk(vq, m, head, e, iov, max_iov) ? VU_POP_BAD : VU_POP_OK;
	}
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	if (avail_idx == vq->last_avail)
		return VU_POP_EMPTY;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
		/* hostile-input class 2: a bogus producer index. */
		broken(vq, "avail index moved more than the queue size");
		return VU_POP_BROKEN;
	}
	head =
	    le16toh(__atomic_load_n(&vq->avail->ring[vq->last_avail % vq->num], __ATOMIC_RELAXED));
	if (head >= vq->num) {
		broken(vq, "avail ring head out of range");
		return VU_POP_BROKEN;
	}
	if (busy(vq, head)) {
		/* Answering it would complete the other one in the driver's eyes. */
		broken(vq, "avail ring head already in flight");
		return VU_POP_BROKEN;
	}
	vq->last_avail++;
	if (vq->event_idx) {
		/* virtio 1.1 2.6.7.2: kick us when the index passes what we consumed. */
		__atomic_store_n((uint16_t *)&vq->used->ring[vq->num], htole16(vq->last_avail),
		                 __ATOMIC_RELAXED);
	}
	set_busy(vq, head, true);
	vq->inuse++;
	if (vq->inflight) {
		vq->inflight->desc[head].counter = vq->counter++;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		vq->inflight->desc[head].inflight = 1;
	}
	e->head = head;
	return walk(vq, m, head, e, iov, max_iov) ? VU_POP_BAD : VU_POP_OK;
}

void vu_vq_push(struct vu_vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *u;
	uint16_t idx = vq->used_idx;

	if (head >= vq->num || !busy(vq, head) || !vq->used)
		return;
	u = &vq->used->ring[idx % vq->num];
	u->id = htole32(head);
	u->len = htole32(len);
	if (vq->inflight) {
		/* The batch (of one) that is about to reach the used ring. */
		vq->inflight->desc[head].next = vq->inflight->last_batch_head;
		vq->inflight->last_batch_head = head;
	}
	vq->used_idx = (uint16_t)(idx + 1);
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	if (vq->inflight) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		vq->inflight->desc[head].inflight = 0;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		vq->inflight->used_idx = vq->used_idx;
	}
	set_busy(vq, head, false);
	vq->inuse--;
	vq->push_pending = true;
}

/* virtio 1.1 2.6.7.2 vring_need_event(). */
static inline bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* Without EVENT_IDX: whether the driver leaves interrupts on (no VRING_AVAIL_F_NO_INTERRUPT). */
static bool interrupts_on(const struct vu_vq *vq)
{
	return !(le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
	         VRING_AVAIL_F_NO_INTERRUPT);
}

bool vu_vq_need_call(struct vu_vq *vq)
{
	uint16_t old, used_event;
	bool v;

	if (!vq->push_pending || !vq->avail)
		return false;
	vq->push_pending = false;
	/* The used index store must be visible before the driver's flags/event are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		v = interrupts_on(vq);
	} else {
		old = vq->signalled_used;
		v = !vq->signalled_valid;
		vq->signalled_used = vq->used_idx;
		vq->signalled_valid = true;
		used_event = le16toh(__atomic_load_n(&vq->avail->ring[vq->num], __ATOMIC_RELAXED));
		v = v || need_event(used_event, vq->used_idx, old);
	}
	vq->unsignalled = !v;
	return v;
}

bool vu_vq_recheck(struct vu_vq *vq)
{
	uint16_t since;

	if (!vq->unsignalled || !vq->avail)
		return false;
	vq->unsignalled = false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return interrupts_on(vq);
	/*
	 * Past used_event by 1 to num: entries the driver asked to hear of.
	 * An event ahead of the index (a driver that delays its interrupt)
	 * or equal to it (it took everything) wants nothing yet.
	 */
	since = (uint16_t)(vq->used_idx -
	                   le16toh(__atomic_load_n(&vq->avail->ring[vq->num], __ATOMIC_RELAXED)));
	return since != 0 && since <= vq->num;
}

bool vu_vq_arm(struct vu_vq *vq)
{
	if (!vq->started || vq->broken)
		return false;
	if (vq->resubmit_pos < vq->nresubmit)
		return true;
	if (vq->event_idx)
		__atomic_store_n((uint16_t *)&vq->used->ring[vq->num], htole16(vq->last_avail),
		                 __ATOMIC_RELAXED);
	/* The avail_event store before the index re-read (virtio 1.1 2.6.7.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE)) != vq->last_avail;
}
