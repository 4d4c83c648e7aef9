/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu_mem.c - guest memory table and whole-range translation (see vu_mem.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu_mem.h"

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check(const struct vu_mem_region_desc *d, unsigned int n, char *err, size_t errlen)
{
	if (n == 0 || n > VU_MEM_MAX_REGIONS) {
		snprintf(err, errlen, "%u memory regions (1..%u)", n, VU_MEM_MAX_REGIONS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct vu_mem_region_desc *r = &d[i];

		if (r->size == 0 || r->gpa + r->size < r->gpa || r->uva + r->size < r->uva ||
		    r->mmap_offset + r->size < r->mmap_offset || r->size > SIZE_MAX) {
			snprintf(err, errlen,
			         "region %u: size 0x%llx at gpa 0x%llx uva 0x%llx offset 0x%llx "
			         "wraps or is empty",
			         i, (unsigned long long)r->size, (unsigned long long)r->gpa,
			         (unsigned long long)r->uva, (unsigned long long)r->mmap_offset);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (ranges_overlap(r->gpa, r->size, d[j].gpa, d[j].size) ||
			    ranges_overlap(r->uva, r->size, d[j].uva, d[j].size)) {
				snprintf(err, errlen, "regions %u and %u overlap", j, i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int vu_mem_wrap(const struct vu_mem_region_desc *d, void *const *host, unsigned int n,
                struct vu_mem **out, char *err, size_t errlen)
{
	struct vu_mem *m;
	int rc = check(d, n, err, errlen);

	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		m->r[i].d = d[i];
		m->r[i].host = host[i];
	}
	m->n = n;
	m->refs = 1;
	*out = m;
	return 0;
}

const char *vu_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFSOCK:
		return "socket";
	case S_IFIFO:
		return "pipe";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symbolic link";
	default:
		return "file of no type (eventfd, epoll, ...)";
	}
}

/*
 * What remains after this check: the front-end can still shrink the file
 * once it is mapped, and the next access here faults.  That is accepted,
 * as QEMU's own vhost back-ends, libvhost-user, DPDK and SPDK accept it:
 * only the process that owns the guest's RAM can do it, to its own guest,
 * and QEMU's memory-backend-memfd seals its memfds against shrinking by
 * default (seal=on), so a stock set-up cannot do it at all.  Not done, on
 * purpose:
 *  - a SIGBUS handler: the fault can hit any read of a ring index or a
 *    header, in the middle of an update; getting out of it means
 *    siglongjmp() past half-changed state, or mapping zero pages over the
 *    hole (MAP_FIXED from a handler, racing with the munmap of a replaced
 *    table) and carrying on with a guest whose memory is gone.  Dying with
 *    the signal is the more honest outcome of either.
 *  - MAP_POPULATE or touching every page: it checks only at map time,
 *    which fstat() already does, and it faults in the whole of guest RAM
 *    (allocating the pages the guest never used) on every SET_MEM_TABLE.
 */
int vu_mem_fd_check(int fd, uint64_t offset, uint64_t len, char *err, size_t errlen)
{
	char link[64], name[256];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "fstat: %s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the fd is a %s, not a file that can hold guest memory",
		         vu_file_kind(st.st_mode));
		return -EINVAL;
	}
	/* The name the front-end gave the file (memfd:..., /dev/hugepages/...), for the log. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, name, sizeof(name) - 1);
	if (n >= 0)
		name[n] = 0;
	else
		snprintf(name, sizeof(name), "fd %d", fd);
	if (offset + len < offset || offset + len > (uint64_t)st.st_size) {
		snprintf(err, errlen,
		         "%s is %lld bytes, too short for 0x%llx bytes at offset 0x%llx "
		         "(up to 0x%llx)",
		         name, (long long)st.st_size, (unsigned long long)len,
		         (unsigned long long)offset, (unsigned long long)(offset + len));
		return -EINVAL;
	}
	return 0;
}

static void unmap_all(struct vu_mem *m)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (m->r[i].map_base)
			munmap(m->r[i].map_base, m->r[i].map_len);
}

int vu_mem_map(const struct vu_mem_region_desc *d, const int *fds, unsigned int n,
               struct vu_mem **out, char *err, size_t errlen)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct vu_mem *m;
	int rc = check(d, n, err, errlen);

	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		/* mmap needs a page-aligned offset: map from the page below it. */
		uint64_t skew = d[i].mmap_offset % (uint64_t)pg;
		size_t len = (size_t)(d[i].size + skew);
		char why[400];
		void *p;

		if (len < d[i].size) {
			snprintf(err, errlen, "region %u too large", i);
			rc = -EINVAL;
			goto fail;
		}
		rc = vu_mem_fd_check(fds[i], d[i].mmap_offset, d[i].size, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "region %u (gpa 0x%llx, 0x%llx bytes): %s", i,
			         (unsigned long long)d[i].gpa, (unsigned long long)d[i].size, why);
			goto fail;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i],
		         (off_t)(d[i].mmap_offset - skew));
		if (p == MAP_FAILED) {
			rc = -errno;
			snprintf(err, errlen, "mmap region %u (0x%llx bytes at offset 0x%llx): %s",
			         i, (unsigned long long)d[i].size,
			         (unsigned long long)d[i].mmap_offset, strerror(errno));
			goto fail;
		}
		m->r[i].d = d[i];
		m->r[i].map_base = p;
		m->r[i].map_len = len;
		m->r[i].host = (uint8_t *)p + skew;
		m->n = i + 1;
	}
	m->refs = 1;
	*out = m;
	return 0;
fail:
	unmap_all(m);
	free(m);
	return rc;
}

void vu_mem_put(struct vu_mem *m)
{
	if (!m || --m->refs > 0)
		return;
	unmap_all(m);
	free(m);
}

void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; m && i < m->n; i++) {
		const struct vu_mem_region *r = &m->r[i];

		/* Written so that nothing overflows: gpa - r->gpa only once gpa >= r->gpa. */
		if (gpa >= r->d.gpa && gpa - r->d.gpa <= r->d.size &&
		    len <= r->d.size - (gpa - r->d.gpa))
			return r->host + (gpa - r->d.gpa);
	}
	return NULL;
}

void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; m && i < m->n; i++) {
		const struct vu_mem_region *r = &m->r[i];

		if (uva >= r->d.uva && uva - r->d.uva <= r->d.size &&
		    len <= r->d.size - (uva - r->d.uva))
			return r->host + (uva - r->d.uva);
	}
	return NULL;
}
