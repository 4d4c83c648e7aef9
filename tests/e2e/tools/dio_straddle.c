/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dio_straddle - the worst request for xen-scsifront's grant count, built
 * the way the guest's block layer builds it from direct I/O.
 *
 * Usage: dio_straddle DEV [BLOCKS]
 *
 * One pwritev() of BLOCKS (default 128) 512-byte pieces, each starting
 * 256 bytes before the end of a page whose successor is physically
 * contiguous with it (from /proc/self/pagemap), so that each piece is one
 * scatter-gather entry touching two pages: 2 grants per block.  Without a
 * transfer bound the whole write is one request of BLOCKS entries, within
 * max_segments, needing 2 x BLOCKS grants: xen-scsifront refuses it
 * ("Unable to map request_buffer") and the write fails with EIO.  The data
 * is then read back with preadv() into a second such layout and with an
 * aligned read, and compared.  Exit 0: written and read back intact; 1: an
 * I/O error or a difference; 2: usage or set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE  4096u
#define BLK   512u
#define ARENA (32u << 20)

static uint64_t pfn_of(int pm, const void *p)
{
	uint64_t e = 0;

	if (pread(pm, &e, sizeof(e), (off_t)((uintptr_t)p / PAGE * sizeof(e))) != sizeof(e))
		return 0;
	/* Bit 63: present; bits 0-54: the page frame number (root only). */
	return (e >> 63) ? (e & ((1ull << 55) - 1)) : 0;
}

/*
 * Pick @n page pairs (i, i+1) of @arena that are physically contiguous,
 * none touching the previous pair, and lay a straddling piece on each.
 */
static unsigned int layout(int pm, uint8_t *arena, struct iovec *iov, unsigned int n)
{
	unsigned int k = 0;

	for (size_t i = 0; i + 1 < ARENA / PAGE && k < n; i++) {
		uint64_t a = pfn_of(pm, arena + i * PAGE), b = pfn_of(pm, arena + (i + 1) * PAGE);

		if (!a || b != a + 1)
			continue;
		iov[k].iov_base = arena + i * PAGE + PAGE - BLK / 2;
		iov[k].iov_len = BLK;
		k++;
		i += 2; /* a gap page: the next piece is not contiguous with this one */
	}
	return k;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 2 ? (unsigned int)atoi(argv[2]) : 128, got;
	struct iovec *wiov, *riov;
	uint8_t *warena, *rarena, *flat, *want;
	int fd, pm;
	ssize_t r;

	if (argc < 2 || n == 0 || n > 1024) {
		fprintf(stderr, "usage: dio_straddle DEV [BLOCKS (1..1024)]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	pm = open("/proc/self/pagemap", O_RDONLY);
	warena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	rarena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	flat = aligned_alloc(PAGE, (size_t)n * BLK);
	want = malloc((size_t)n * BLK);
	wiov = calloc(n, sizeof(*wiov));
	riov = calloc(n, sizeof(*riov));
	if (fd < 0 || pm < 0 || warena == MAP_FAILED || rarena == MAP_FAILED || !flat || !want ||
	    !wiov || !riov) {
		fprintf(stderr, "dio_straddle: set-up: %s\n", strerror(errno));
		return 2;
	}
	got = layout(pm, warena, wiov, n);
	if (got < n || layout(pm, rarena, riov, n) < n) {
		fprintf(stderr, "dio_straddle: only %u physically contiguous page pairs of %u\n",
		        got, n);
		return 2;
	}
	srandom(12345);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < BLK; j++)
			want[i * BLK + j] = ((uint8_t *)wiov[i].iov_base)[j] = (uint8_t)random();

	r = pwritev(fd, wiov, (int)n, 0);
	if (r != (ssize_t)(n * BLK)) {
		fprintf(stderr, "dio_straddle: pwritev of %u straddling blocks: %s\n", n,
		        r < 0 ? strerror(errno) : "short");
		return 1;
	}
	r = preadv(fd, riov, (int)n, 0);
	if (r != (ssize_t)(n * BLK)) {
		fprintf(stderr, "dio_straddle: preadv of %u straddling blocks: %s\n", n,
		        r < 0 ? strerror(errno) : "short");
		return 1;
	}
	for (unsigned int i = 0; i < n; i++)
		if (memcmp(riov[i].iov_base, want + i * BLK, BLK)) {
			fprintf(stderr, "dio_straddle: block %u reads back different (straddled)\n",
			        i);
			return 1;
		}
	if (pread(fd, flat, (size_t)n * BLK, 0) != (ssize_t)(n * BLK) ||
	    memcmp(flat, want, (size_t)n * BLK)) {
		fprintf(stderr, "dio_straddle: the blocks read back different (aligned)\n");
		return 1;
	}
	printf("dio_straddle: %u blocks, each straddling two contiguous pages, written and read "
	       "back\n",
	       n);
	return 0;
}
