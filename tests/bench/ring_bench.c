/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_bench.c - section 1 of `make bench`: pvscsid's real ring code
 * (backend/ring.c) driven by an in-process frontend through the fake grant
 * table (memcpy) against a mem: LUN.  No hypervisor.
 *
 *   ring_bench memcpy [-t SECS]
 *       The floor: a plain 4 KiB memcpy loop over 16 source and 16
 *       destination pages (the working set of 16 requests in flight).
 *   ring_bench ring -o read|write [-r RINGS] [-t SECS | -n REQUESTS]
 *       RINGS rings, each on its own thread with its own grant table, event
 *       channel, worker and mem:64M LUN (as pvscsid would run one ring per
 *       worker thread); 16 requests of 4 KiB at random 4 KiB-aligned LBAs
 *       in flight per ring, refilled as a batch.
 *   ring_bench daemon -o read|write [-r RINGS] [-T THREADS] [-t SECS] [-g wait|spin]
 *       pvscsid's own event loop (backend/daemon.c, --threads THREADS) over
 *       the fakes, serving RINGS guests: each a thread of the bench that
 *       fills its ring with 16 requests, kicks and waits for the answers,
 *       against a mem:64M LUN of its own.  Aggregate requests per second of
 *       wall time; the guests' work shares the cores with pvscsid's.  A
 *       guest waits asleep until pvscsid notifies it (-g wait, the default:
 *       a vCPU halts until its interrupt) or spinning (-g spin).
 *
 * Output is one line of KEY=VALUE pairs for tests/bench/run.sh.  What is
 * timed as "backend" is exactly what pvscsid's event loop runs for a batch:
 * pvsd_ring_handle_event() (parse, grant copy of data-out, submit to the
 * LUN, grant copy of data-in, responses, notification), pvs_worker_poll()
 * and pvsd_ring_flush().  It lives in backend_batch(), the function that
 * tests/bench/run.sh hands to callgrind's --toggle-collect to count
 * instructions per request.  The frontend's share (writing requests,
 * reading responses) is timed separately as thread CPU time.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_harness.h"
#include "ring_harness.h"

#define DEPTH   16
#define PAGE_SZ 4096u
#define LUN_MIB 64u
#define BLOCKS4 (LUN_MIB * 256u) /* 4 KiB blocks on the LUN */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* ---- the floor ---- */

static int run_memcpy(double secs)
{
	uint8_t *src = rh_alloc(DEPTH * PAGE_SZ), *dst = rh_alloc(DEPTH * PAGE_SZ);
	uint64_t n = 0;
	double t0, t1, c0, c1;

	if (!src || !dst)
		return 1;
	memset(src, 0x5a, DEPTH * PAGE_SZ);
	/* Warm up (page faults, caches). */
	for (unsigned int i = 0; i < DEPTH * 64; i++) {
		memcpy(dst + (i % DEPTH) * PAGE_SZ, src + ((i * 7) % DEPTH) * PAGE_SZ, PAGE_SZ);
		__asm__ volatile("" ::: "memory");
	}
	t0 = now_mono();
	c0 = now_thread_cpu();
	do {
		for (unsigned int i = 0; i < 4096; i++) {
			memcpy(dst + (i % DEPTH) * PAGE_SZ, src + ((i * 7) % DEPTH) * PAGE_SZ,
			       PAGE_SZ);
			__asm__ volatile("" ::: "memory");
		}
		n += 4096;
		t1 = now_mono();
	} while (t1 - t0 < secs);
	c1 = now_thread_cpu();
	printf("memcpy copies=%llu wall_s=%.4f cpu_s=%.4f ns_per_copy=%.2f\n",
	       (unsigned long long)n, t1 - t0, c1 - c0, (c1 - c0) * 1e9 / (double)n);
	free(src);
	free(dst);
	return 0;
}

/* ---- the ring ---- */

/*
 * The machine is shared: wall-clock time includes whatever else ran on the
 * core.  The backend is timed in thread CPU time instead, and the cost of
 * reading that clock (a system call) is measured and taken off each batch.
 */
static double clock_cost;

static void calibrate_clock(void)
{
	double sum = 0;
	const int n = 20000;

	for (int i = 0; i < n; i++) {
		double a = now_thread_cpu();

		sum += now_thread_cpu() - a;
	}
	clock_cost = sum / n;
}

struct ring_thread {
	pthread_t tid;
	unsigned int idx;
	bool write;
	double secs;       /* run this long ... */
	uint64_t requests; /* ... or this many requests (when not 0) */
	pthread_barrier_t *start;
	/* results */
	int err;
	uint64_t done;
	double backend_s;  /* CLOCK_MONOTONIC inside backend_batch() */
	double cpu_s;      /* thread CPU time of the whole loop */
	double wall_s;     /* the whole loop */
	uint64_t notifies; /* backend -> frontend */
	uint64_t kicks;    /* frontend -> backend */
	uint64_t copy_calls;
};

/* What pvscsid's event loop does for one kick: the part under test. */
__attribute__((noinline)) void backend_batch(struct rh *h);
__attribute__((noinline)) void backend_batch(struct rh *h)
{
	/* As pvscsid after its epoll_wait: the pass's one clock read. */
	pvs_clock_pass();
	while (pvsd_ring_handle_event(h->ring))
		;
	pvs_worker_run(h->w, false);
	pvsd_ring_flush(h->ring);
}

static void fill_batch(struct fake_front *fe, const uint32_t *gref, bool write, uint64_t *seed)
{
	for (unsigned int i = 0; i < DEPTH; i++) {
		struct vscsiif_request *r = fake_front_raw(fe);
		uint32_t lba = (uint32_t)(xorshift(seed) % BLOCKS4) * 8; /* 512-byte blocks */

		r->rqid = (uint16_t)i;
		r->act = VSCSIIF_ACT_SCSI_CDB;
		r->cmd_len = 10;
		r->cmnd[0] = write ? 0x2a : 0x28;
		r->cmnd[2] = (uint8_t)(lba >> 24);
		r->cmnd[3] = (uint8_t)(lba >> 16);
		r->cmnd[4] = (uint8_t)(lba >> 8);
		r->cmnd[5] = (uint8_t)lba;
		r->cmnd[8] = 8;
		r->sc_data_direction = write ? 1 : 2; /* DMA_TO_DEVICE : DMA_FROM_DEVICE */
		r->nr_segments = 1;
		r->seg[0].gref = gref[i];
		r->seg[0].offset = 0;
		r->seg[0].length = PAGE_SZ;
	}
}

/* Take the batch's responses as scsifront_ring_drain does; -1 on a missing or failed one. */
static int drain_batch(struct fake_front *fe)
{
	for (unsigned int i = 0; i < DEPTH; i++) {
		struct vscsiif_response *rsp;

		if (fe->ring.rsp_cons == fe->ring.sring->rsp_prod)
			return -1;
		rsp = RING_GET_RESPONSE(&fe->ring, fe->ring.rsp_cons);
		fe->ring.rsp_cons++;
		if (rsp->rslt)
			return -1;
	}
	fe->ring.sring->rsp_event = fe->ring.rsp_cons + 1;
	return 0;
}

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	struct rh h;
	uint8_t *pages = rh_alloc(DEPTH * PAGE_SZ);
	uint32_t gref[DEPTH];
	uint64_t seed = 0x9e3779b97f4a7c15ull * (t->idx + 1);
	struct pvsd_ring_stats st;
	struct fake_gnt_stats gs;
	double w0, c0;
	int rc;

	if (!pages) {
		t->err = ENOMEM;
		pthread_barrier_wait(t->start);
		return NULL;
	}
	rc = rh_init(&h, (uint16_t)(1 + t->idx), 0, "mem:64M", PVSD_RING_DEFAULT_SEGS, false);
	if (rc) {
		t->err = -rc;
		pthread_barrier_wait(t->start);
		return NULL;
	}
	memset(pages, 0xa5, DEPTH * PAGE_SZ);
	for (unsigned int i = 0; i < DEPTH; i++)
		gref[i] = fake_gnt_grant(h.gnt, h.fe.domid, pages + i * PAGE_SZ, false);
	/* Touch the whole LUN once (a mem: LUN's pages are faulted in lazily). */
	for (unsigned int lba = 0; lba < BLOCKS4 && !t->err; lba += DEPTH) {
		for (unsigned int i = 0; i < DEPTH; i++) {
			struct vscsiif_request *r = fake_front_raw(&h.fe);
			uint32_t b = (lba + i) * 8;

			r->rqid = (uint16_t)i;
			r->act = VSCSIIF_ACT_SCSI_CDB;
			r->cmd_len = 10;
			r->cmnd[0] = 0x2a;
			r->cmnd[2] = (uint8_t)(b >> 24);
			r->cmnd[3] = (uint8_t)(b >> 16);
			r->cmnd[4] = (uint8_t)(b >> 8);
			r->cmnd[5] = (uint8_t)b;
			r->cmnd[8] = 8;
			r->sc_data_direction = 1;
			r->nr_segments = 1;
			r->seg[0].gref = gref[i];
			r->seg[0].length = PAGE_SZ;
		}
		fake_front_push(&h.fe);
		/* Not through backend_batch(): callgrind counts only the measured loop. */
		rh_run(&h);
		if (drain_batch(&h.fe))
			t->err = EIO;
	}
	pthread_barrier_wait(t->start);
	if (t->err)
		goto out;

	w0 = now_mono();
	c0 = now_thread_cpu();
	for (;;) {
		double a;

		fill_batch(&h.fe, gref, t->write, &seed);
		fake_front_push(&h.fe);
		a = now_thread_cpu();
		backend_batch(&h);
		t->backend_s += now_thread_cpu() - a - clock_cost;
		if (drain_batch(&h.fe)) {
			t->err = EIO;
			break;
		}
		t->done += DEPTH;
		if (t->requests) {
			if (t->done >= t->requests)
				break;
		} else if ((t->done & 1023) == 0 && now_mono() - w0 >= t->secs) {
			break;
		}
	}
	t->wall_s = now_mono() - w0;
	t->cpu_s = now_thread_cpu() - c0;
	pvsd_ring_get_stats(h.ring, &st);
	fake_gnt_get_stats(h.gnt, &gs);
	t->notifies = st.notifies;
	t->kicks = h.fe.kicks;
	t->copy_calls = gs.copy_calls;
out:
	for (unsigned int i = 0; i < DEPTH; i++)
		fake_gnt_revoke(h.gnt, gref[i]);
	rh_fini(&h);
	free(pages);
	return NULL;
}

static int run_ring(bool write, unsigned int nrings, double secs, uint64_t requests)
{
	struct ring_thread *t = calloc(nrings, sizeof(*t));
	pthread_barrier_t start;
	uint64_t done = 0, notifies = 0, kicks = 0, copies = 0;
	double backend = 0, cpu = 0, wall = 0;

	if (!t)
		return 1;
	calibrate_clock();
	pthread_barrier_init(&start, NULL, nrings);
	for (unsigned int i = 0; i < nrings; i++) {
		t[i] = (struct ring_thread){
		    .idx = i, .write = write, .secs = secs, .requests = requests, .start = &start};
		if (pthread_create(&t[i].tid, NULL, ring_main, &t[i])) {
			fprintf(stderr, "ring_bench: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned int i = 0; i < nrings; i++) {
		pthread_join(t[i].tid, NULL);
		if (t[i].err) {
			fprintf(stderr, "ring_bench: ring %u: %s\n", i, strerror(t[i].err));
			return 1;
		}
		done += t[i].done;
		backend += t[i].backend_s;
		cpu += t[i].cpu_s;
		notifies += t[i].notifies;
		kicks += t[i].kicks;
		copies += t[i].copy_calls;
		if (t[i].wall_s > wall)
			wall = t[i].wall_s;
	}
	/*
	 * ns_per_req: backend CPU time per request, averaged over the rings.
	 * req_s_core: requests per second of one core doing only the backend's
	 * work (1e9 / ns_per_req).  cpu_ns_per_req: the whole loop, frontend
	 * included.  req_s_total: all rings together by the wall clock, frontend
	 * work included (it shares the cores here), for context only.
	 */
	printf(
	    "ring op=%s rings=%u requests=%llu wall_s=%.4f backend_s=%.4f cpu_s=%.4f clock_ns=%.1f "
	    "ns_per_req=%.1f cpu_ns_per_req=%.1f req_s_core=%.0f req_s_total=%.0f "
	    "notifies=%llu kicks=%llu copy_calls=%llu\n",
	    write ? "write" : "read", nrings, (unsigned long long)done, wall, backend, cpu,
	    clock_cost * 1e9, backend * 1e9 / (double)done, cpu * 1e9 / (double)done,
	    (double)done / backend, (double)done / wall, (unsigned long long)notifies,
	    (unsigned long long)kicks, (unsigned long long)copies);
	pthread_barrier_destroy(&start);
	free(t);
	return 0;
}

/* ---- daemon: pvscsid's own threads ---- */

struct guest_thread {
	pthread_t tid;
	struct dh_guest g;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	bool write;
	bool spin; /* -g spin: wait for the answers spinning (yielding), not asleep */
	uint8_t *pages;
	uint32_t gref[DEPTH];
	pthread_barrier_t *start;
	atomic_bool *stop, *counting;
	uint64_t done; /* while counting */
	int err;
};

/*
 * Whether the 16 answers are all in; if not, and @t waits asleep, the
 * backend is asked to notify at its next answer (rsp_event), as
 * xen-scsifront's RING_FINAL_CHECK_FOR_RESPONSES does.
 */
static bool answers_in(struct guest_thread *t)
{
	struct vscsiif_sring *sr = t->g.f.ring.sring;
	RING_IDX prod = __atomic_load_n(&sr->rsp_prod, __ATOMIC_ACQUIRE);
	bool in = (RING_IDX)(prod - t->g.f.ring.rsp_cons) >= DEPTH;

	if (in || t->spin)
		return in;
	__atomic_store_n(&sr->rsp_event, prod + 1, __ATOMIC_SEQ_CST);
	prod = __atomic_load_n(&sr->rsp_prod, __ATOMIC_SEQ_CST);
	return (RING_IDX)(prod - t->g.f.ring.rsp_cons) >= DEPTH;
}

/*
 * A guest's vCPU: a batch of 16, a kick, the 16 answers, again.  While
 * it waits it sleeps until pvscsid's notification (a futex on the fake
 * event channel), as a real vCPU halts until its interrupt and leaves its
 * core to others; -g spin makes it spin (yielding) instead.
 */
static void *guest_main(void *arg)
{
	struct guest_thread *t = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (t->g.domid + 1);

	pthread_barrier_wait(t->start);
	while (!atomic_load(t->stop)) {
		fill_batch(&t->g.f, t->gref, t->write, &seed);
		fake_front_push(&t->g.f);
		for (;;) {
			uint32_t seq = fake_evt_seq(t->evt, t->g.f.port);

			if (answers_in(t))
				break;
			if (atomic_load(t->stop))
				return NULL;
			if (t->spin)
				sched_yield();
			else
				fake_evt_wait(t->evt, t->g.f.port, seq, 1000);
		}
		if (drain_batch(&t->g.f)) {
			t->err = EIO;
			return NULL;
		}
		if (atomic_load(t->counting))
			t->done += DEPTH;
	}
	return NULL;
}

static int run_daemon(bool write, unsigned int nrings, unsigned int threads, double secs, bool spin)
{
	struct fake_xs *fx = fake_xs_new();
	struct fake_xs_conn *conn = fx ? fake_xs_connect(fx, 0) : NULL;
	struct fake_gnt *gnt = fake_gnt_new();
	struct fake_evt *evt = fake_evt_new();
	struct guest_thread *t = calloc(nrings, sizeof(*t));
	struct pvsd_daemon_cfg cfg = {0};
	struct pvsd_daemon *d = NULL;
	pthread_barrier_t start;
	atomic_bool stop = false, counting = false;
	uint64_t done = 0;
	double w0, wall;
	int rc = 1;

	if (!conn || !gnt || !evt || !t)
		return 1;
	dh_cfg(&cfg, conn, gnt, evt);
	cfg.signals = false;
	cfg.threads = threads;
	cfg.defer_kicks = true; /* pvscsid's default */
	if (pvsd_daemon_new(&cfg, &d) != 0) {
		fprintf(stderr, "ring_bench: the daemon did not start\n");
		return 1;
	}
	pthread_barrier_init(&start, NULL, nrings + 1);
	for (unsigned int i = 0; i < nrings; i++) {
		t[i] = (struct guest_thread){.gnt = gnt,
		                             .evt = evt,
		                             .write = write,
		                             .spin = spin,
		                             .start = &start,
		                             .stop = &stop,
		                             .counting = &counting};
		t[i].g.domid = 1 + i;
		t[i].pages = rh_alloc(DEPTH * PAGE_SZ);
		if (!t[i].pages || dh_guest_up(d, fx, gnt, evt, &t[i].g, "mem:64M") != 0) {
			fprintf(stderr, "ring_bench: guest %u did not connect\n", i);
			return 1;
		}
		memset(t[i].pages, 0xa5, DEPTH * PAGE_SZ);
		for (unsigned int k = 0; k < DEPTH; k++)
			t[i].gref[k] = fake_gnt_grant(gnt, (uint16_t)t[i].g.domid,
			                              t[i].pages + k * PAGE_SZ, false);
		if (pthread_create(&t[i].tid, NULL, guest_main, &t[i])) {
			fprintf(stderr, "ring_bench: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start);
	/* A fifth of the time to warm up (the mem: LUNs' pages, the caches), then count. */
	w0 = now_mono();
	while (now_mono() - w0 < secs / 5)
		pvsd_daemon_iterate(d, 5);
	atomic_store(&counting, true);
	w0 = now_mono();
	while ((wall = now_mono() - w0) < secs)
		pvsd_daemon_iterate(d, 5);
	atomic_store(&counting, false);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nrings; i++) {
		pthread_join(t[i].tid, NULL);
		done += t[i].done;
		if (t[i].err)
			fprintf(stderr, "ring_bench: guest %u: %s\n", i, strerror(t[i].err));
		rc = t[i].err ? 1 : rc;
	}
	if (rc == 1 && done)
		rc = 0;
	printf("daemon op=%s rings=%u threads=%u guests=%s requests=%llu wall_s=%.4f req_s=%.0f\n",
	       write ? "write" : "read", nrings, threads, spin ? "spin" : "wait",
	       (unsigned long long)done, wall, (double)done / wall);
	/* Answers still on their way are answered; then the daemon ends. */
	pvsd_daemon_stop(d);
	for (int i = 0; i < 500 && pvsd_daemon_iterate(d, 10) > 0; i++)
		;
	pvsd_daemon_free(d);
	for (unsigned int i = 0; i < nrings; i++) {
		for (unsigned int k = 0; k < DEPTH; k++)
			fake_gnt_revoke(gnt, t[i].gref[k]);
		fake_front_fini(&t[i].g.f);
		free(t[i].pages);
	}
	pthread_barrier_destroy(&start);
	free(t);
	fake_xs_free(fx);
	fake_evt_free(evt);
	fake_gnt_free(gnt);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: ring_bench memcpy [-t SECS]\n"
	        "       ring_bench ring -o read|write [-r RINGS] [-t SECS | -n REQUESTS]\n"
	        "       ring_bench daemon -o read|write [-r RINGS] [-T THREADS] [-t SECS] [-g "
	        "wait|spin]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode;
	bool write = false, spin = false;
	unsigned int rings = 1, threads = 1;
	double secs = 2.0;
	uint64_t requests = 0;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "o:r:t:n:T:g:")) != -1) {
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "write"))
				write = true;
			else if (strcmp(optarg, "read"))
				usage();
			break;
		case 'r':
			rings = (unsigned int)atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'n':
			requests = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			threads = (unsigned int)atoi(optarg);
			break;
		case 'g':
			if (!strcmp(optarg, "spin"))
				spin = true;
			else if (strcmp(optarg, "wait"))
				usage();
			break;
		default:
			usage();
		}
	}
	if (!rings || secs <= 0)
		usage();
	if (!strcmp(mode, "memcpy"))
		return run_memcpy(secs);
	if (!strcmp(mode, "ring"))
		return run_ring(write, rings, secs, requests);
	if (!strcmp(mode, "daemon") && threads >= 1 && threads <= PVSD_MAX_THREADS)
		return run_daemon(write, rings, threads, secs, spin);
	usage();
	return 2;
}
