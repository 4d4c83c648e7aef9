/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file_bench.c - section 2 of `make bench`: the LUN core on a file.  A
 * file: LUN (libpvscsi/store_file.c, buffered I/O through the worker's
 * io_uring) driven through pvs_submit() with READ(16)/WRITE(16) CDBs at a
 * fixed queue depth, the way a transport drives it; tests/bench/run.sh runs
 * `fio --ioengine=io_uring` with the same pattern on the same file next to
 * it.  -c none opens the LUN with cache=none (O_DIRECT), compared with fio
 * --direct=1.
 *
 *   file_bench -f FILE -w randread|randwrite|read|write [-b BYTES] [-q DEPTH] [-t SECS]
 *              [-c none|writeback]
 *
 * One line of KEY=VALUE pairs: ios, bytes, wall time, IOPS, MB/s, latency
 * (submission to completion, p50/p99 in microseconds) and the process's CPU
 * time (getrusage: user + system, io_uring's worker threads included) per
 * I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pvscsi/lun.h"

struct slot {
	struct pvs_req req;
	struct iovec iov;
	double t_submit;
	bool done;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void req_done(struct pvs_req *req)
{
	struct slot *s = req->opaque;

	s->done = true;
}

static void put_be(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void prep_rw16(struct slot *s, bool write, uint64_t lba, uint32_t blocks)
{
	struct pvs_req *r = &s->req;

	memset(r, 0, sizeof(*r));
	r->cdb[0] = write ? 0x8a : 0x88;
	put_be(&r->cdb[2], lba, 8);
	put_be(&r->cdb[10], blocks, 4);
	r->cdb_len = 16;
	r->dir = write ? PVS_DIR_TO_DEV : PVS_DIR_FROM_DEV;
	r->iov = &s->iov;
	r->iovcnt = 1;
	r->initiator = 1;
	r->done = req_done;
	r->opaque = s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: file_bench -f FILE -w randread|randwrite|read|write [-b BYTES] "
	                "[-q DEPTH] [-t SECS] [-c none|writeback]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *file = NULL, *wl = NULL, *cache = "writeback";
	unsigned int bs = 4096, depth = 16;
	double secs = 3.0;
	bool write, rnd;
	struct pvs_worker *w;
	struct pvs_lun *lun;
	struct slot *slots;
	char spec[4200], err[256];
	uint64_t seed = 0x2545f4914f6cdd1dull, nblk, blocks_per_io, span, seq = 0, ios = 0;
	double *lat;
	size_t nlat = 0, cap = 1 << 20;
	double t0, t1, c0, c1;
	int c, rc;

	while ((c = getopt(argc, argv, "f:w:b:q:t:c:")) != -1) {
		switch (c) {
		case 'c':
			cache = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'w':
			wl = optarg;
			break;
		case 'b':
			bs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			depth = (unsigned int)atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (!file || !wl || !depth || depth > 256 || bs < 512 || bs % 512 || secs <= 0)
		usage();
	if (!strcmp(wl, "randread") || !strcmp(wl, "randwrite"))
		rnd = true;
	else if (!strcmp(wl, "read") || !strcmp(wl, "write"))
		rnd = false;
	else
		usage();
	write = strstr(wl, "write") != NULL;

	rc = pvs_worker_new(depth * 2 < 64 ? 64 : depth * 2, &w);
	if (rc) {
		fprintf(stderr, "file_bench: worker: %s\n", strerror(-rc));
		return 1;
	}
	snprintf(spec, sizeof(spec), "file:%s,cache=%s", file, cache);
	rc = pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "file_bench: %s: %s\n", spec, err);
		return 1;
	}
	nblk = pvs_lun_blocks(lun);
	blocks_per_io = bs / pvs_lun_block_size(lun);
	span = nblk / blocks_per_io; /* I/O-sized units on the LUN */
	slots = calloc(depth, sizeof(*slots));
	lat = malloc(cap * sizeof(*lat));
	if (!slots || !lat || !span)
		return 1;
	for (unsigned int i = 0; i < depth; i++) {
		slots[i].iov.iov_base = aligned_alloc(4096, (bs + 4095) & ~4095u);
		slots[i].iov.iov_len = bs;
		if (!slots[i].iov.iov_base)
			return 1;
		memset(slots[i].iov.iov_base, 0x3c, bs);
	}

	/* The new I_T nexus's POWER ON unit attention: TEST UNIT READY takes it. */
	for (int i = 0; i < 4; i++) {
		struct slot *s = &slots[0];

		memset(&s->req, 0, sizeof(s->req));
		s->req.cdb_len = 6;
		s->req.initiator = 1;
		s->req.done = req_done;
		s->req.opaque = s;
		s->done = false;
		pvs_submit(lun, &s->req);
		pvs_worker_flush(w);
		while (!s->done)
			pvs_worker_wait(w, 1000);
		if (s->req.status == 0)
			break;
	}

	t0 = now_mono();
	c0 = cpu_self();
	for (unsigned int i = 0; i < depth; i++)
		slots[i].done = true, slots[i].t_submit = -1;
	for (;;) {
		double t = now_mono();
		bool stop = t - t0 >= secs;
		unsigned int busy = 0;

		for (unsigned int i = 0; i < depth; i++) {
			struct slot *s = &slots[i];
			uint64_t unit;

			if (!s->done) {
				busy++;
				continue;
			}
			if (s->t_submit >= 0) {
				if (s->req.status || s->req.host) {
					fprintf(stderr,
					        "file_bench: %s failed: status 0x%x host %u sense "
					        "%02x/%02x\n",
					        wl, s->req.status, s->req.host, s->req.sense[2],
					        s->req.sense[12]);
					return 1;
				}
				if (nlat == cap) {
					cap *= 2;
					lat = realloc(lat, cap * sizeof(*lat));
					if (!lat)
						return 1;
				}
				lat[nlat++] = t - s->t_submit;
				ios++;
				s->t_submit = -1;
			}
			if (stop)
				continue;
			unit = rnd ? xorshift(&seed) % span : seq++ % span;
			prep_rw16(s, write, unit * blocks_per_io, (uint32_t)blocks_per_io);
			s->done = false;
			s->t_submit = t;
			busy++;
			pvs_submit(lun, &s->req);
		}
		if (stop && !busy)
			break;
		pvs_worker_flush(w);
		pvs_worker_wait(w, 1000);
	}
	t1 = now_mono();
	c1 = cpu_self();
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("file workload=%s bs=%u qd=%u cache=%s ios=%llu wall_s=%.4f iops=%.0f mbps=%.1f "
	       "p50_us=%.1f p99_us=%.1f cpu_s=%.4f cpu_us_per_io=%.3f\n",
	       wl, bs, depth, cache, (unsigned long long)ios, t1 - t0, (double)ios / (t1 - t0),
	       (double)ios * bs / (t1 - t0) / 1e6, nlat ? lat[nlat / 2] * 1e6 : 0,
	       nlat ? lat[(size_t)((double)nlat * 0.99)] * 1e6 : 0, c1 - c0,
	       ios ? (c1 - c0) * 1e6 / (double)ios : 0);
	for (unsigned int i = 0; i < depth; i++)
		free(slots[i].iov.iov_base);
	free(slots);
	free(lat);
	pvs_lun_close(lun);
	pvs_worker_free(w);
	return 0;
}
