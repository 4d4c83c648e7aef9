/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu_mem.h - the guest memory table a vhost-user front-end hands over
 * (VHOST_USER_SET_MEM_TABLE), and translation into it.
 *
 * Every translation covers a whole range: [addr, addr + len) must lie
 * inside ONE region, or the answer is NULL (hostile-input class 12, DPDK
 * CVE-2020-10722/10723).  A table is immutable once built; a new
 * SET_MEM_TABLE builds a new one.  Requests in flight hold a reference to
 * the table their buffers point into, so the regions stay mapped until the
 * last of them completes (class 13) even when the table was replaced.
 */
#ifndef VU_MEM_H
#define VU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* VHOST_MEMORY_BASELINE_NREGIONS: what one SET_MEM_TABLE message can carry. */
#define VU_MEM_MAX_REGIONS 8

/* One region as the front-end describes it (vhost-user "memory regions description"). */
struct vu_mem_region_desc {
	uint64_t gpa;         /* guest physical address */
	uint64_t size;        /* bytes */
	uint64_t uva;         /* the front-end's virtual address (ring addresses use it) */
	uint64_t mmap_offset; /* where the region starts in its fd */
};

struct vu_mem_region {
	struct vu_mem_region_desc d;
	uint8_t *host;  /* our address of gpa */
	void *map_base; /* mmap()ed by vu_mem_map(), NULL for vu_mem_wrap() */
	size_t map_len;
};

struct vu_mem {
	unsigned int n;
	struct vu_mem_region r[VU_MEM_MAX_REGIONS];
	unsigned int refs;
};

/*
 * Validate @n region descriptions and mmap each from its fd (shared, read
 * and write).  The fds are not closed (the caller closes them: a mapping
 * outlives its fd).  Rejected: n of 0 or over VU_MEM_MAX_REGIONS, a zero
 * size, gpa/uva/offset ranges that wrap, regions overlapping in guest or
 * user address space, a region that vu_mem_fd_check() refuses.  Returns 0
 * and a table with one reference, or -errno with a reason in @err.
 */
int vu_mem_map(const struct vu_mem_region_desc *d, const int *fds, unsigned int n,
               struct vu_mem **out, char *err, size_t errlen);
/*
 * Whether [@offset, @offset + @len) of @fd can be mapped and touched
 * without a fault: @fd must be a regular file (memfd, tmpfs, hugetlbfs)
 * that holds the whole range now.  mmap() itself does not look at the
 * file's size, and a page past the end raises SIGBUS on first access.
 * 0, or -EINVAL / -errno with a reason naming the file and sizes in @err.
 */
int vu_mem_fd_check(int fd, uint64_t offset, uint64_t len, char *err, size_t errlen);
/* What a file of this st_mode is, in words for an error message ("pipe", "socket"). */
const char *vu_file_kind(mode_t mode);
/* The same rules on memory the caller already has (tests): region i lives at host[i]. */
int vu_mem_wrap(const struct vu_mem_region_desc *d, void *const *host, unsigned int n,
                struct vu_mem **out, char *err, size_t errlen);

static inline struct vu_mem *vu_mem_get(struct vu_mem *m)
{
	m->refs++;
	return m;
}
/* Drop a reference; the last one unmaps and frees. NULL is ignored. */
void vu_mem_put(struct vu_mem *m);

/* Our pointer to guest physical [gpa, gpa + len), all inside one region, or NULL. */
void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len);
/* Our pointer to the front-end's virtual [uva, uva + len), all inside one region, or NULL. */
void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len);

#endif
