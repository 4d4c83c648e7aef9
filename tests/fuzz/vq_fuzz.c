/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vq_fuzz.c - the split virtqueue walker (vhost-user/vq.c) and the memory
 * table translation under it (vu_mem.c), on guest memory and rings the
 * fuzzer writes (hostile-input class 12, and class 2 for the avail index).
 *
 * Guest memory is two regions, each its own heap allocation of exactly its
 * size, so that ASan sees any access past a region.  The input chooses the
 * regions' guest-physical and front-end addresses, the queue size (a power
 * of 2 up to 1024, or anything else, which must be refused), where the
 * three rings lie (in a region, across its end, misaligned), the features
 * (indirect, event index), an inflight region (hostile contents too), the
 * memory's bytes, and then a sequence of driver actions: descriptors
 * written (in the ring's table or in any table in memory), heads published,
 * the avail index set to anything, raw bytes rewritten between pops, pops
 * with the queue size or fewer iovecs, pushes of popped heads or of any
 * number, notification checks, and a restart of the back-end.
 *
 * Checked: every pop ends (a loop or an over-long chain is refused); what
 * an accepted chain yields is exactly what a walk of the same descriptors
 * under the documented rules (vq.h) yields, translated independently, each
 * iovec inside one region; readable before writable; a refused chain or a
 * broken queue says why; a head is never popped twice while in flight; a
 * broken queue stays broken; the in-flight count is the popped heads not
 * pushed; a push of a head not in flight changes nothing.
 */
#include <endian.h>
#include <errno.h>

#include "fz.h"
#include "vq.h"

#define NREG     2
#define REG_MAX  (64u << 10)
#define MAX_OPS  96
#define MAX_EDIT 8

struct env {
	struct vu_mem_region_desc d[NREG];
	uint8_t *host[NREG];
	struct vu_mem *m;
	struct vu_vq *vq;
	struct vu_inflight_queue *inf;
	size_t inf_len;
	bool inflight_head[VU_VQ_MAX_SIZE]; /* popped by us and not pushed */
	unsigned int ninflight;
	struct iovec iov[VU_VQ_MAX_SIZE], ref[VU_VQ_MAX_SIZE];
};

/* Guest physical -> our pointer, written apart from vu_mem_gpa(). */
static uint8_t *ref_gpa(const struct env *t, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < NREG; i++) {
		const struct vu_mem_region_desc *r = &t->d[i];

		/* Only non-empty ranges are translated. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size || len > r->size - (gpa - r->gpa))
			continue;
		return t->host[i] + (gpa - r->gpa);
	}
	return NULL;
}

/*
 * The rules of vq.h, as a second walk: 0 and the iovecs, or -1.  Reads the
 * descriptors as they are now (nothing changes them during a pop).
 */
static int ref_walk(const struct env *t, uint16_t head, unsigned int max_iov, unsigned int *niov,
                    unsigned int *nout)
{
	const struct vu_vq *vq = t->vq;
	const uint8_t *table = (const uint8_t *)vq->desc;
	unsigned int table_n = vq->num, idx = head, count = 0, n = 0, out = 0;
	bool in_indirect = false, seen_write = false;
	uint64_t total = 0;

	for (;;) {
		struct vring_desc d;
		uint16_t flags;
		uint32_t len;

		if (idx >= table_n || ++count > table_n)
			return -1;
		memcpy(&d, table + 16 * idx, 16);
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect || in_indirect || (flags & VRING_DESC_F_NEXT) ||
			    len == 0 || len % 16 || len / 16 > vq->num)
				return -1;
			table = ref_gpa(t, le64toh(d.addr), len);
			if (!table)
				return -1;
			table_n = len / 16;
			in_indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		if (flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return -1;
		if (len) {
			uint8_t *p = ref_gpa(t, le64toh(d.addr), len);

			if (!p || n >= max_iov)
				return -1;
			total += len;
			if (total > UINT32_MAX)
				return -1;
			((struct env *)t)->ref[n].iov_base = p;
			((struct env *)t)->ref[n].iov_len = len;
			n++;
			if (!(flags & VRING_DESC_F_WRITE))
				out++;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
	}
	*niov = n;
	*nout = out;
	return 0;
}

static bool in_one_region(const struct env *t, const struct iovec *v)
{
	for (unsigned int i = 0; i < NREG; i++) {
		const uint8_t *b = t->host[i], *p = v->iov_base;

		if (p >= b && p < b + t->d[i].size && v->iov_len <= t->d[i].size - (size_t)(p - b))
			return true;
	}
	return false;
}

static void do_pop(struct env *t, struct fz *f)
{
	struct vu_vq *vq = t->vq;
	unsigned int max_iov = fz_bool(f) ? fz_range(f, 1, vq->num) : vq->num;
	bool was_broken = vq->broken, resub = vq->resubmit_pos < vq->nresubmit;
	uint16_t resub_head = resub ? vq->resubmit[vq->resubmit_pos] : 0;
	struct vu_elem e;
	unsigned int niov = 0, nout = 0;
	int rc, want;

	memset(&e, 0xa5, sizeof(e));
	rc = vu_vq_pop(vq, t->m, &e, t->iov, max_iov);
	FZ_CHECK(rc == VU_POP_EMPTY || rc == VU_POP_OK || rc == VU_POP_BAD || rc == VU_POP_BROKEN,
	         "pop returned %d", rc);
	if (was_broken)
		FZ_CHECK(rc == VU_POP_BROKEN, "a broken queue popped %d", rc);
	if (rc == VU_POP_BROKEN) {
		FZ_CHECK(vq->broken && vq->err, "broken without a reason");
		return;
	}
	if (rc == VU_POP_EMPTY)
		return;
	FZ_CHECK(e.head < vq->num, "head %u of a queue of %u", e.head, vq->num);
	if (resub)
		FZ_CHECK(e.head == resub_head, "resubmitted %u, expected %u", e.head, resub_head);
	FZ_CHECK(!t->inflight_head[e.head], "head %u popped again while in flight", e.head);
	t->inflight_head[e.head] = true;
	t->ninflight++;
	want = ref_walk(t, e.head, max_iov, &niov, &nout);
	if (rc == VU_POP_BAD) {
		FZ_CHECK(vq->err != NULL, "a refused chain without a reason");
		FZ_CHECK(want < 0, "head %u refused (%s), the rules accept it", e.head, vq->err);
		return;
	}
	FZ_CHECK(want == 0, "head %u accepted, the rules refuse it", e.head);
	FZ_CHECK(e.out_num + e.in_num == niov && e.out_num == nout, "%u+%u iovecs, %u+%u expected",
	         e.out_num, e.in_num, nout, niov - nout);
	{
		uint64_t out_len = 0, in_len = 0;

		for (unsigned int i = 0; i < niov; i++) {
			FZ_CHECK(t->iov[i].iov_base == t->ref[i].iov_base &&
			             t->iov[i].iov_len == t->ref[i].iov_len,
			         "iovec %u differs", i);
			FZ_CHECK(t->iov[i].iov_len > 0 && in_one_region(t, &t->iov[i]),
			         "iovec %u outside guest memory", i);
			if (i < e.out_num)
				out_len += t->iov[i].iov_len;
			else
				in_len += t->iov[i].iov_len;
		}
		FZ_CHECK(out_len == e.out_len && in_len == e.in_len &&
		             out_len + in_len <= UINT32_MAX,
		         "lengths %llu/%llu", (unsigned long long)e.out_len,
		         (unsigned long long)e.in_len);
	}
}

/* Heads a restart found in flight and has not handed out again yet. */
static unsigned int resub_pending(const struct vu_vq *vq, uint16_t head)
{
	unsigned int n = 0;

	for (unsigned int i = vq->resubmit_pos; i < vq->nresubmit; i++)
		n += head == UINT16_MAX || vq->resubmit[i] == head;
	return n;
}

static void do_push(struct env *t, uint16_t head, uint32_t len)
{
	struct vu_vq *vq = t->vq;
	uint16_t before = vq->used_idx;
	bool mine = head < vq->num && t->inflight_head[head];

	vu_vq_push(vq, head, len);
	if (!mine) {
		FZ_CHECK(vq->used_idx == before, "push of head %u not in flight was taken", head);
		return;
	}
	FZ_CHECK(vq->used_idx == (uint16_t)(before + 1), "push of head %u lost", head);
	FZ_CHECK(le32toh(vq->used->ring[before % vq->num].id) == head &&
	             le32toh(vq->used->ring[before % vq->num].len) == len,
	         "used entry");
	FZ_CHECK(le16toh(vq->used->idx) == vq->used_idx, "used index not published");
	t->inflight_head[head] = false;
	t->ninflight--;
}

/* A descriptor of the ring's table or of a table anywhere in guest memory. */
static void edit_desc(struct env *t, struct fz *f)
{
	uint8_t how = fz_u8(f);
	unsigned int reg = how & 1, i = fz_u16(f);
	struct vring_desc *table = NULL, d;
	uint64_t addr;

	if (how & 2) {
		/* An indirect table: somewhere in a region, 16-aligned or not. */
		uint32_t off = fz_u32(f) % t->d[reg].size;

		if (i * 16ull + 16 > t->d[reg].size - off)
			return;
		table = (struct vring_desc *)(t->host[reg] + off);
	} else if (t->vq->desc) {
		table = t->vq->desc;
		i %= t->vq->num;
	} else {
		return;
	}
	/* Buffers mostly inside a region, by offset; sometimes any address. */
	if (how & 4)
		addr = fz_u64(f);
	else
		addr = t->d[(how >> 3) & 1].gpa + fz_u32(f) % (t->d[(how >> 3) & 1].size + 16);
	d.addr = htole64(addr);
	d.len = htole32(how & 0x10 ? fz_u32(f) : fz_u16(f));
	d.flags = htole16(fz_u16(f) & (how & 0x20 ? 0xffff : 7));
	d.next = htole16(how & 0x40 ? fz_u16(f) : (uint16_t)(i + 1));
	memcpy(&table[i], &d, sizeof(d));
}

static void publish(struct env *t, struct fz *f)
{
	struct vu_vq *vq = t->vq;
	uint16_t idx, head = fz_u16(f);

	if (!vq->avail)
		return;
	idx = le16toh(vq->avail->idx);
	if (!(head & 0x8000))
		head %= vq->num; /* mostly a head in range */
	vq->avail->ring[idx % vq->num] = htole16(head);
	__atomic_store_n(&vq->avail->idx, htole16((uint16_t)(idx + 1)), __ATOMIC_RELEASE);
}

/*
 * The queue is taken over: either the device stops it cleanly (vu_dev's
 * stop_queue() drains what is in flight, GET_VRING_BASE, SET_VRING_BASE
 * and a kick start it again), or the back-end dies and a new process
 * starts from the same rings and inflight region (SET_VRING_BASE says
 * anything), resubmitting what the region says is in flight.
 */
static void restart(struct env *t, struct fz *f)
{
	struct vu_vq *vq = t->vq;
	bool crash = fz_bool(f);
	int rc;

	if (crash) {
		struct vu_vq *n = calloc(1, sizeof(*n));

		n->num = vq->num;
		n->desc_uva = vq->desc_uva;
		n->avail_uva = vq->avail_uva;
		n->used_uva = vq->used_uva;
		n->addr_set = vq->addr_set;
		n->indirect = vq->indirect;
		n->event_idx = vq->event_idx;
		n->inflight = vq->inflight;
		n->base = fz_u16(f);
		free(vq);
		t->vq = vq = n;
	} else {
		for (unsigned int h = 0; h < vq->num; h++)
			if (t->inflight_head[h])
				do_push(t, (uint16_t)h, 0);
		vq->base = vq->last_avail;
		vq->started = false;
	}
	memset(t->inflight_head, 0, sizeof(t->inflight_head));
	t->ninflight = 0;
	rc = vu_vq_start(vq, t->m);
	FZ_CHECK(rc == 0 || (rc == -EINVAL && vq->err), "start: %d", rc);
	if (rc == 0)
		FZ_CHECK(vq->inuse == vq->nresubmit, "in use %u, %u to resubmit", vq->inuse,
		         vq->nresubmit);
}

static bool setup(struct env *t, struct fz *f)
{
	static const unsigned int sizes[] = {4096, 8192, 16384, 65536, 4096 + 16, 24, 100000};
	uint8_t shape = fz_u8(f);
	char err[128];
	unsigned int log2n;

	for (unsigned int i = 0; i < NREG; i++) {
		uint8_t s = fz_u8(f);
		size_t size = sizes[s % 7];

		if (size > REG_MAX)
			size = REG_MAX;
		t->d[i].size = size;
		t->d[i].mmap_offset = 0;
		/* A hole between the regions, as below and above a PCI hole. */
		t->d[i].gpa = i ? t->d[0].gpa + t->d[0].size + (uint64_t)fz_u8(f) * 4096
		                : (uint64_t)fz_u16(f) * 4096;
		t->d[i].uva = 0x7f0000000000ull + (shape & 0x80 ? fz_u64(f) : t->d[i].gpa);
		t->host[i] = malloc(size);
		fz_bytes(f, t->host[i], size < 512 ? size : 512);
	}
	if (vu_mem_wrap(t->d, (void *const *)t->host, NREG, &t->m, err, sizeof(err)))
		return false;
	t->vq = calloc(1, sizeof(*t->vq));
	log2n = shape & 15;
	t->vq->num = log2n <= 10 ? 1u << log2n : fz_u16(f);
	t->vq->indirect = shape & 0x10;
	t->vq->event_idx = shape & 0x20;
	/* The rings: one after another in a region, or at any offset the input says. */
	{
		unsigned int r = fz_u8(f);
		uint64_t base = t->d[r & 1].uva, n = t->vq->num;

		if (r & 2) {
			t->vq->desc_uva = base + fz_u32(f) % t->d[r & 1].size;
			t->vq->avail_uva = base + fz_u32(f) % t->d[(r >> 2) & 1].size;
			t->vq->used_uva = base + fz_u32(f) % t->d[(r >> 3) & 1].size;
		} else {
			t->vq->desc_uva = base;
			t->vq->avail_uva = base + 16 * n;
			t->vq->used_uva = (t->vq->avail_uva + 6 + 2 * n + 3) & ~3ull;
		}
		t->vq->addr_set = !(r & 0x10);
	}
	t->vq->base = fz_u16(f);
	if (shape & 0x40 && t->vq->num <= VU_VQ_MAX_SIZE) {
		t->inf_len = vu_inflight_queue_size(t->vq->num);
		t->inf = calloc(1, t->inf_len);
		fz_bytes(f, t->inf, fz_range(f, 0, (uint32_t)t->inf_len));
		t->vq->inflight = t->inf;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct env t;
	struct fz f;
	int rc;

	memset(&t, 0, sizeof(t));
	fz_init(&f, data, size);
	if (!setup(&t, &f))
		goto out;
	rc = vu_vq_start(t.vq, t.m);
	FZ_CHECK(rc == 0 || (rc == -EINVAL && t.vq->err), "start: %d", rc);
	if (rc)
		goto out;
	FZ_CHECK(t.vq->num >= 1 && t.vq->num <= VU_VQ_MAX_SIZE && !(t.vq->num & (t.vq->num - 1)),
	         "started a queue of %u", t.vq->num);
	for (unsigned int n = 0; n < MAX_OPS && !fz_empty(&f); n++) {
		uint8_t op = fz_u8(&f);

		switch (op % 10) {
		case 0:
		case 1:
			do_pop(&t, &f);
			break;
		case 2: {
			/* Return a head we popped, the oldest first from a chosen start. */
			unsigned int k = fz_u16(&f) % t.vq->num;

			for (unsigned int i = 0; i < t.vq->num; i++) {
				unsigned int h = (k + i) % t.vq->num;

				if (t.inflight_head[h]) {
					do_push(&t, (uint16_t)h, fz_u32(&f));
					break;
				}
			}
			break;
		}
		case 3: {
			/*
			 * Any number: the device never returns a head it did not
			 * pop (vscsi.c), but a head waiting for resubmission is
			 * not one to try.
			 */
			uint16_t h = fz_u16(&f);

			if (h == UINT16_MAX || !resub_pending(t.vq, h))
				do_push(&t, h, fz_u32(&f));
			break;
		}
		case 4:
			for (unsigned int i = fz_range(&f, 1, MAX_EDIT); i > 0; i--)
				edit_desc(&t, &f);
			break;
		case 5:
			publish(&t, &f);
			break;
		case 6:
			/* The driver sets the avail index to anything (class 2). */
			if (t.vq->avail)
				__atomic_store_n(&t.vq->avail->idx, htole16(fz_u16(&f)),
				                 __ATOMIC_RELEASE);
			break;
		case 7: {
			/* Raw bytes anywhere: flags, used_event, a ring entry, a table. */
			unsigned int r = fz_u8(&f) & 1, len = fz_range(&f, 1, 16);
			uint32_t off = fz_u32(&f) % t.d[r].size;

			if (len > t.d[r].size - off)
				len = (unsigned int)(t.d[r].size - off);
			fz_bytes(&f, t.host[r] + off, len);
			break;
		}
		case 8:
			if (fz_bool(&f))
				(void)vu_vq_need_call(t.vq);
			else
				(void)vu_vq_arm(t.vq);
			break;
		case 9:
			restart(&t, &f);
			break;
		}
		if (t.vq->started && !t.vq->broken)
			FZ_CHECK(t.vq->inuse == t.ninflight + resub_pending(t.vq, UINT16_MAX),
			         "in use %u, popped and not pushed %u, to resubmit %u", t.vq->inuse,
			         t.ninflight, resub_pending(t.vq, UINT16_MAX));
	}
out:
	vu_mem_put(t.m);
	free(t.vq);
	free(t.inf);
	for (unsigned int i = 0; i < NREG; i++)
		free(t.host[i]);
	return 0;
}
