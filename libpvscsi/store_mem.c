/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store_mem.c - RAM-backed store for mem: LUNs.  One allocation at open;
 * every operation completes before it returns (pvsi_store_done() runs
 * inside the call), which the SBC handlers must, and do, cope with.
 *
 * A bitmap of mapped blocks answers GET LBA STATUS: a block is mapped once
 * written (write_zeroes included: WRITE SAME without UNMAP leaves it
 * mapped) and deallocated again by a discard.  Which pages happen to be
 * resident says nothing of the sort (swap, zero pages), so it is kept
 * here rather than asked of the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

struct mem_store {
	uint64_t size;
	uint64_t *mapped; /* one bit per block, set when mapped */
	uint8_t shift;    /* log2 of the block size */
	uint8_t data[];
};

static struct mem_store *mem_of(struct pvs_lun *lun)
{
	return lun->priv;
}

/* Callers range-check; this keeps a bug there from becoming a heap overflow. */
static bool in_range(const struct mem_store *m, uint64_t off, uint64_t len)
{
	return off <= m->size && len <= m->size - off;
}

static uint64_t iov_total(const struct iovec *iov, unsigned int cnt)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/*
 * Set or clear bits [b, e] a word at a time: every write marks its blocks,
 * so a bit-by-bit loop here was a visible share of a 4 KiB write.
 */
static inline void set_bits(uint64_t *w, uint64_t b, uint64_t e, bool on)
{
	uint64_t first = b >> 6, last = e >> 6;
	uint64_t head = UINT64_MAX << (b & 63), tail = UINT64_MAX >> (63 - (e & 63));

	if (first == last)
		head &= tail;
	if (on)
		w[first] |= head;
	else
		w[first] &= ~head;
	if (first == last)
		return;
	for (uint64_t i = first + 1; i < last; i++)
		w[i] = on ? UINT64_MAX : 0;
	if (on)
		w[last] |= tail;
	else
		w[last] &= ~tail;
}

/*
 * Set or clear the bits of the blocks that [off, off + len) touches.
 * Inline: a write's (every write's, on the I/O path) folds down to the
 * first == last branch of set_bits(), a single OR for up to 64 blocks.
 */
static inline void mark(struct mem_store *m, uint64_t off, uint64_t len, bool mapped)
{
	uint64_t b, e;

	if (!len)
		return;
	b = off >> m->shift;
	e = (off + len - 1) >> m->shift;
	/* A discard deallocates only the blocks it covers whole. */
	if (!mapped) {
		b = (off + (1u << m->shift) - 1) >> m->shift;
		e = ((off + len) >> m->shift);
		if (e == 0 || b >= e)
			return;
		e--;
	}
	set_bits(m->mapped, b, e, mapped);
}

static bool is_mapped(const struct mem_store *m, uint64_t b)
{
	return m->mapped[b >> 6] >> (b & 63) & 1;
}

static void mem_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                      const struct iovec *iov, unsigned int cnt)
{
	struct mem_store *m = mem_of(lun);
	uint64_t total = iov_total(iov, cnt), pos = off;

	if (!in_range(m, off, total)) {
		pvsi_store_done(req, -EINVAL);
		return;
	}
	/*
	 * The whole data-in of a transport that copies it anyway: lend the
	 * medium, one copy (the transport's) instead of two.  Only into the
	 * request's own buffers, whole: a stage reading into a scratch buffer
	 * needs the bytes there.
	 */
	if ((req->core.flags & PVSI_RF_LEND) && iov == req->iov && total == req->core.data_len) {
		req->data_in = m->data + off;
		pvsi_store_done(req, (int64_t)total);
		return;
	}
	for (unsigned i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, m->data + pos, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	pvsi_store_done(req, (int64_t)total);
}

static void mem_writev(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                       const struct iovec *iov, unsigned int cnt, bool fua)
{
	struct mem_store *m = mem_of(lun);
	uint64_t total = iov_total(iov, cnt), pos = off;

	(void)fua; /* nothing is cached between us and the medium */
	if (!in_range(m, off, total)) {
		pvsi_store_done(req, -EINVAL);
		return;
	}
	if (req->core.flags & PVSI_RF_LEND_OUT) {
		/*
		 * The data-out was never fetched: the transport copies it here,
		 * one copy instead of two.  Only a write from the request's own
		 * iov can be one (pvs_map_lends_out()); anything else would
		 * write bytes nobody sent.
		 */
		if (iov != req->iov) {
			pvsi_store_done(req, -EIO);
			return;
		}
		req->data_out = m->data + off;
		req->data_out_len = (uint32_t)total;
		mark(m, off, total, true);
		pvsi_store_done(req, (int64_t)total);
		return;
	}
	for (unsigned i = 0; i < cnt; i++) {
		memcpy(m->data + pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	mark(m, off, total, true);
	pvsi_store_done(req, (int64_t)total);
}

static void mem_flush(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	pvsi_store_done(req, 0);
}

/*
 * Zero a range.  Whole pages inside it go back to the kernel
 * (MADV_DONTNEED on private anonymous memory reads back as zeroes), so an
 * UNMAP really makes a thin mem LUN smaller; the pages lie entirely inside
 * our allocation, never on the allocator's bookkeeping.
 */
static void zero_range(struct mem_store *m, uint64_t off, uint64_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)(m->data + off);
	uintptr_t end = start + len;
	uintptr_t a = (start + page - 1) & ~(page - 1);
	uintptr_t b = end & ~(page - 1);

	if (a < b && madvise((void *)a, b - a, MADV_DONTNEED) == 0) {
		memset((void *)start, 0, a - start);
		memset((void *)b, 0, end - b);
		return;
	}
	memset(m->data + off, 0, len);
}

static void mem_discard(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	struct mem_store *m = mem_of(lun);

	if (!in_range(m, off, len)) {
		pvsi_store_done(req, -EINVAL);
		return;
	}
	zero_range(m, off, len);
	mark(m, off, len, false);
	pvsi_store_done(req, (int64_t)len);
}

static void mem_write_zeroes(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	struct mem_store *m = mem_of(lun);

	if (!in_range(m, off, len)) {
		pvsi_store_done(req, -EINVAL);
		return;
	}
	zero_range(m, off, len);
	mark(m, off, len, true);
	pvsi_store_done(req, (int64_t)len);
}

/* The medium is RAM: nothing to bring closer. */
static void mem_prefetch(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	(void)lun;
	(void)off;
	(void)len;
	pvsi_store_done(req, 0);
}

/* The run of blocks from @off with the same bit; bits beyond @end are not looked at. */
static int64_t mem_extent(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped)
{
	struct mem_store *m = mem_of(lun);
	uint64_t b = off >> m->shift, e, first;

	if (end > m->size)
		end = m->size;
	e = end >> m->shift;
	if (off >= end || b >= e)
		return -EINVAL;
	*mapped = is_mapped(m, b);
	first = b;
	while (b < e) {
		uint64_t w = m->mapped[b >> 6];

		/* Whole words of equal bits at a time. */
		if (!(b & 63) && b + 64 <= e && w == (*mapped ? UINT64_MAX : 0)) {
			b += 64;
			continue;
		}
		if (is_mapped(m, b) != *mapped)
			break;
		b++;
	}
	return (int64_t)((b - first) << m->shift);
}

static int mem_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	(void)req;
	return -EBUSY; /* nothing is ever outstanding */
}

static int64_t mem_size(struct pvs_lun *lun)
{
	return (int64_t)mem_of(lun)->size;
}

static void mem_close(struct pvs_lun *lun)
{
	struct mem_store *m = mem_of(lun);

	if (m)
		free(m->mapped);
	free(m);
	lun->priv = NULL;
}

static const struct pvsi_store_ops mem_ops = {
    .kind = "mem",
    .readv = mem_readv,
    .writev = mem_writev,
    .lend_out = true,
    .flush = mem_flush,
    .discard = mem_discard,
    .write_zeroes = mem_write_zeroes,
    .prefetch = mem_prefetch,
    .extent = mem_extent,
    .cancel = mem_cancel,
    .size = mem_size,
    .close = mem_close,
};

int pvsi_mem_open(struct pvs_lun *lun, uint64_t size, char *err, size_t errlen)
{
	struct mem_store *m;

	if (size == 0 || size > (uint64_t)INT64_MAX || size > SIZE_MAX - sizeof(*m)) {
		if (err && errlen)
			snprintf(err, errlen, "mem:%s: size out of range", lun->backing);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m) + (size_t)size);
	if (!m) {
		if (err && errlen)
			snprintf(err, errlen, "mem:%s: %s", lun->backing, strerror(ENOMEM));
		return -ENOMEM;
	}
	m->size = size;
	m->shift = lun->block_shift;
	/* Every block starts deallocated: nothing was written to the zeroed memory. */
	m->mapped = calloc(((size >> lun->block_shift) + 63) / 64 + 1, sizeof(uint64_t));
	if (!m->mapped) {
		free(m);
		if (err && errlen)
			snprintf(err, errlen, "mem:%s: %s", lun->backing, strerror(ENOMEM));
		return -ENOMEM;
	}
	lun->priv = m;
	lun->store = &mem_ops;
	lun->nblocks = size >> lun->block_shift;
	lun->thin = true;
	return 0;
}
