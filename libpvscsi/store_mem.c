/*
 * store_mem.c - RAM-backed store for mem: LUNs.  One allocation at open;
 * every operation completes before it returns (pvsi_store_done() runs
 * inside the call), which the SBC handlers must, and do, cope with.
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

static void mem_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                      const struct iovec *iov, unsigned int cnt)
{
	struct mem_store *m = mem_of(lun);
	uint64_t total = iov_total(iov, cnt), pos = off;

	if (!in_range(m, off, total)) {
		pvsi_store_done(req, -EINVAL);
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
	for (unsigned i = 0; i < cnt; i++) {
		memcpy(m->data + pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
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
	pvsi_store_done(req, (int64_t)len);
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
	free(lun->priv);
	lun->priv = NULL;
}

static const struct pvsi_store_ops mem_ops = {
    .kind = "mem",
    .readv = mem_readv,
    .writev = mem_writev,
    .flush = mem_flush,
    .discard = mem_discard,
    .write_zeroes = mem_discard,
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
	lun->priv = m;
	lun->store = &mem_ops;
	lun->nblocks = size >> lun->block_shift;
	lun->thin = true;
	return 0;
}
