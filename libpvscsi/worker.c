/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * worker.c - one io_uring and one epoll set per thread.
 *
 * The transport sees a single fd (the epoll set).  Inside it: the io_uring's
 * own fd, readable while completions wait, and whatever fds the core registers
 * (sg devices of passthrough LUNs).  A worker is used by exactly one thread;
 * nothing here locks.  Run one worker per thread that serves LUNs.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

/* Completions and fd events handled per poll round; bounds one poll call. */
#define WORKER_BATCH  64
#define WORKER_ROUNDS 64

struct worker_fd {
	struct worker_fd *next;
	int fd;
	bool dead;            /* unregistered while a dispatch round may still see it */
	pvsi_worker_fd_fn fn; /* NULL: wake-only (pvsi_worker_add_wake_fd()) */
	void *opaque;
};

struct pvs_worker {
	struct io_uring ring;
	int epfd;
	struct worker_fd *fds;
	unsigned int ncallback; /* live fds with a callback (not wake-only) */
	unsigned int dispatching;
	unsigned int lingering; /* orphaned owners of SQEs (pvsi_worker_linger) */
	/*
	 * The deferred ring (pvsi_worker_use_deferred()): sg's header writes
	 * and answer reads.  Its task work runs only inside our own
	 * io_uring_enter(), never on the way back from an interrupt, where on
	 * x32-capable kernels sg would answer in the 32-bit sg_io_hdr layout.
	 */
	struct io_uring dring; /* ring_fd -1 until made */
	bool dring_enabled;    /* IORING_SETUP_R_DISABLED until the worker's thread submits */
	bool dring_poke;       /* something it waits on became ready: run its task work */
	/*
	 * pvs_worker_new_sleeping(): the plain ring is itself deferred, and
	 * sg's operations go on it, so that the sleep's one io_uring_enter()
	 * submits the headers and runs the answers' task work (issue 17:
	 * sg in the same io_uring_enter() as file I/O).  @ring_enabled as
	 * @dring_enabled, for it.
	 */
	bool unified;
	bool ring_enabled;
	/*
	 * Signalled by the unified ring at its task work as at its CQEs, in
	 * the epoll set: its own fd does not poll readable for task work, and
	 * a transport whose sleep was refused waits in that set.  -1: none.
	 */
	int evfd;
	/*
	 * The thread that runs it (pvs_worker_new()'s, or pvs_worker_adopt()'s;
	 * for pvs_worker_new_sleeping()'s, none until adopted or first slept
	 * in: @owned).  Only it submits: a deferred ring takes one issuer, and
	 * its first submission picks it.  What another thread queued while holding the
	 * owner off (pvscsid's main thread, with the loop parked) is submitted
	 * at the owner's next round; @foreign says there is such work.
	 */
	pthread_t owner;
	bool owned; /* a sleeping worker's owner is the thread that adopts it or first sleeps */
	bool foreign;
	/* Freed watches whose CQEs have not all come: theirs until then. */
	struct pvs_worker_watch *orphans;
	/*
	 * pvs_worker_sleep(): @fdsep is the epoll set of the registered fds
	 * alone (no io_uring fd), polled from the ring; @lazy leaves the
	 * plain ring's submissions to the sleep's io_uring_enter(); @sleep_op
	 * is the poll of the transport's set posted on the plain ring.
	 */
	int fdsep;
	bool lazy;
	bool sleep_polled;
	bool sleep_ready;
	bool sleep_seen;           /* its CQE waits in the CQ, already reported by a sleep */
	unsigned int sleep_hits;   /* its CQEs in this reap: not the transport's work */
	int sleep_err;             /* the poll of the set failed: no more sleeping here */
	unsigned int sleep_submit; /* pvs_worker_sleep_begin() to _wait(): SQEs published */
	int sleep_timeout;
	unsigned int hold_us;       /* pvs_worker_sleep_hold(): for the next sleep */
	unsigned int sleep_hold_us; /* _begin() to _wait(): that sleep's length, 0: none */
	struct pvsi_worker_op sleep_op;
	/* The sleep's poll of @fdsep: its CQE means the next round asks the fds. */
	bool fds_polled;
	bool fds_ready;
	struct pvsi_worker_op fds_op;
};

/*
 * user_data: a struct pvs_req, or a struct pvsi_worker_op with bit 0 set;
 * both are pointers to structs aligned beyond 1.
 */
#define WORKER_OP_BIT 1u
_Static_assert(_Alignof(struct pvsi_worker_op) > 1 && _Alignof(struct pvs_req) > 1,
               "bit 0 of user_data tells the two apart");

/* PVS_URING_DEFER=0: a sleeping worker's ring as any other's, sg on a second one. */
static bool defer_wanted(void)
{
	const char *e = getenv("PVS_URING_DEFER");

	return !e || strcmp(e, "0") != 0;
}

/*
 * @w's ring with @flags, and room for more completions than submissions in
 * flight: a passthrough LUN's callbacks and chained store stages can post
 * while we are not reaping, and a CQ overflow makes submit fail with -EBUSY.
 */
static int ring_init(struct pvs_worker *w, unsigned int queue_depth, unsigned int flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | flags;
	p.cq_entries = queue_depth * 4;
	return io_uring_queue_init_params(queue_depth, &w->ring, &p);
}

static int worker_new(unsigned int queue_depth, bool sleeping, struct pvs_worker **out)
{
	struct pvs_worker *w;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int rc = -EINVAL;

	*out = NULL;
	if (queue_depth == 0 || queue_depth > 4096)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->epfd = -1;
	w->fdsep = -1;
	w->dring.ring_fd = -1;
	w->evfd = -1;
	w->owner = pthread_self();
	w->owned = !sleeping;
	if (sleeping && defer_wanted() &&
	    ring_init(w, queue_depth,
	              IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
	                  IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
	                  IORING_SETUP_R_DISABLED) == 0) {
		/*
		 * What pvsi_worker_use_deferred() makes for sg (Linux 6.1): one
		 * issuer, the owner, which enables the ring with its first
		 * submission.  Its task work runs only in our GETEVENTS calls,
		 * which a sleeping worker makes every pass.  The eventfd is
		 * registered before the ring is enabled: no issuer yet to be.
		 */
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->evfd >= 0 && io_uring_register_eventfd(&w->ring, w->evfd) == 0) {
			w->unified = true;
			rc = 0;
		} else {
			if (w->evfd >= 0)
				close(w->evfd);
			w->evfd = -1;
			io_uring_queue_exit(&w->ring);
		}
	}
	if (!w->unified)
		rc = ring_init(w, queue_depth, IORING_SETUP_SUBMIT_ALL);
	/*
	 * Before 5.18: without SUBMIT_ALL the kernel stops a batch at an SQE
	 * that fails early; the rest stay queued for the next submit.
	 */
	if (rc == -EINVAL)
		rc = ring_init(w, queue_depth, 0);
	if (rc < 0) {
		free(w);
		return rc;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	/*
	 * The ring's own fd, not a registered eventfd: it polls readable while
	 * the completion queue holds entries, so reaping them is all it takes
	 * to quiet it, where an eventfd costs a read() per wake-up.
	 * data.ptr NULL marks it.
	 */
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ring.ring_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.ptr = &w->evfd;
	if (w->evfd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	w->fdsep = epoll_create1(EPOLL_CLOEXEC);
	if (w->fdsep < 0) {
		rc = -errno;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	pvs_worker_free(w);
	return rc;
}

int pvs_worker_new(unsigned int queue_depth, struct pvs_worker **out)
{
	return worker_new(queue_depth, false, out);
}

int pvs_worker_new_sleeping(unsigned int queue_depth, struct pvs_worker **out)
{
	return worker_new(queue_depth, true, out);
}

bool pvs_worker_is_unified(const struct pvs_worker *w)
{
	return w->unified;
}

static void free_dead_fds(struct pvs_worker *w)
{
	struct worker_fd **pp = &w->fds;

	while (*pp) {
		struct worker_fd *f = *pp;

		if (f->dead) {
			*pp = f->next;
			free(f);
		} else {
			pp = &f->next;
		}
	}
}

static bool dring_made(const struct pvs_worker *w)
{
	return w->dring.ring_fd >= 0;
}

/* Where sg's operations go: the deferred ring, or the plain one when unified. NULL: none yet. */
static struct io_uring *sg_ring(struct pvs_worker *w)
{
	return w->unified ? &w->ring : dring_made(w) ? &w->dring : NULL;
}

static bool owner_is_me(const struct pvs_worker *w)
{
	return w->owned && pthread_equal(w->owner, pthread_self());
}

static int reap(struct pvs_worker *w);
static int ring_enable(struct io_uring *ring, bool *enabled);

/*
 * Cancelled sg reads end with -EINTR at once, but only once the kernel has
 * run the cancel: wait a bounded time for the CQEs, and leave (leak) what
 * never answers rather than free memory a kernel thread may still fill.
 */
static void drain_lingering(struct pvs_worker *w)
{
	/* sg's orphans are the deferred ring's, watches' the plain ring's. */
	for (int i = 0; i < 200 && w->lingering; i++) {
		struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
		struct io_uring_cqe *cqe;

		/*
		 * min 1: inside the wait the deferred task work (the cancels)
		 * runs.  A deferred ring answers its issuer only: from another
		 * thread (or never enabled) what lingers is left.
		 */
		if (w->unified && (!owner_is_me(w) || ring_enable(&w->ring, &w->ring_enabled) < 0))
			break;
		if (dring_made(w)) {
			io_uring_submit(&w->ring);
			io_uring_submit_and_wait_timeout(&w->dring, &cqe, 1, &ts, NULL);
		} else {
			io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		}
		reap(w);
	}
}

void pvs_worker_free(struct pvs_worker *w)
{
	if (!w)
		return;
	pvsi_iscsi_worker_gone(w);
	drain_lingering(w);
	for (struct worker_fd *f = w->fds; f; f = f->next)
		f->dead = true;
	free_dead_fds(w);
	if (w->ring.ring_fd >= 0)
		io_uring_queue_exit(&w->ring);
	if (dring_made(w))
		io_uring_queue_exit(&w->dring);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->fdsep >= 0)
		close(w->fdsep);
	if (w->evfd >= 0)
		close(w->evfd);
	free(w);
}

int pvs_worker_fd(const struct pvs_worker *w)
{
	return w->epfd;
}

/*
 * Task work is waiting for our next io_uring_enter(GETEVENTS): what a
 * submission failed inline (an SQE on a file that refuses it), or an
 * answer's read retried.  IORING_SETUP_TASKRUN_FLAG has the kernel say so
 * in shared memory.
 */
static bool dring_taskrun(const struct pvs_worker *w)
{
	const struct io_uring *r = sg_ring((struct pvs_worker *)w);

	return r && (IO_URING_READ_ONCE(*r->sq.kflags) & IORING_SQ_TASKRUN);
}

static int ring_enable(struct io_uring *ring, bool *enabled)
{
	int rc;

	if (*enabled)
		return 0;
	/*
	 * Its single issuer is the thread that runs the worker: this one.
	 * The system call itself: Debian 12's liburing 2.3 declares
	 * io_uring_enable_rings() but does not export it.
	 */
	rc = (int)syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
	                  0);
	if (rc < 0)
		return -errno;
	*enabled = true;
	return 0;
}

static int dring_enable(struct pvs_worker *w)
{
	return ring_enable(&w->dring, &w->dring_enabled);
}

/* A unified ring is enabled by its owner's first submission or sleep. */
static int main_enable(struct pvs_worker *w)
{
	return w->unified ? ring_enable(&w->ring, &w->ring_enabled) : 0;
}

/*
 * The deferred ring's one system call of a poll round, reaped right after:
 * its new SQEs in, and, when an fd it waits on became ready, its task work
 * (the answers that came) run into CQEs.
 */
static int dring_enter(struct pvs_worker *w)
{
	struct io_uring *r = sg_ring(w);
	int rc, tries = 0;

	/*
	 * A unified ring's queue waits for the sleep (or the round's submit):
	 * only its task work brings it here.  Another thread leaves it all to
	 * the owner.
	 */
	if (!r || (!w->dring_poke && !dring_taskrun(w) && (w->unified || !io_uring_sq_ready(r))))
		return 0;
	if (w->unified) {
		if (!owner_is_me(w))
			return 0;
		rc = main_enable(w);
	} else {
		rc = dring_enable(w);
	}
	if (rc < 0)
		return rc;
	w->dring_poke = false;
	do {
		rc = io_uring_submit_and_get_events(r);
	} while ((rc == -EINTR || rc == -EAGAIN) && ++tries < 8);
	return rc;
}

static int submit_ring(struct io_uring *ring)
{
	int rc, tries = 0;

	/* EAGAIN is a transient kernel allocation failure; the SQEs stay queued. */
	do {
		rc = io_uring_submit(ring);
	} while ((rc == -EINTR || rc == -EAGAIN) && ++tries < 8);
	return rc;
}

void pvs_worker_adopt(struct pvs_worker *w)
{
	w->owner = pthread_self();
	w->owned = true;
}

/* The deferred ring's queue, enabling the ring on its first use.  0, or what submit said. */
static int submit_dring(struct pvs_worker *w)
{
	int rc = 0;

	if (dring_made(w) && io_uring_sq_ready(&w->dring) && (rc = dring_enable(w)) == 0)
		rc = submit_ring(&w->dring);
	return rc;
}

int pvsi_worker_submit(struct pvs_worker *w)
{
	int rc = 0, drc;

	if (!owner_is_me(w)) {
		w->foreign =
		    io_uring_sq_ready(&w->ring) || (dring_made(w) && io_uring_sq_ready(&w->dring));
		return 0;
	}
	w->foreign = false;
	if (io_uring_sq_ready(&w->ring) && (rc = main_enable(w)) == 0)
		rc = submit_ring(&w->ring);
	/*
	 * Without GETEVENTS: outside a poll round nothing reaps.  What
	 * completed inline (a header write, an answer already there) waits
	 * in the CQ, which pvs_worker_has_completions() shows.
	 */
	drc = submit_dring(w);
	return rc < 0 ? rc : drc < 0 ? drc : rc;
}

int pvsi_worker_use_deferred(struct pvs_worker *w)
{
	struct io_uring_params p;
	int rc;

	if (sg_ring(w))
		return 0;
	memset(&p, 0, sizeof(p));
	/*
	 * DEFER_TASKRUN (Linux 6.1) needs SINGLE_ISSUER; R_DISABLED leaves
	 * the choice of that issuer to the first submit, made by the thread
	 * that runs the worker, whichever thread opened the LUN.
	 */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	          IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
	p.cq_entries = 2 * w->ring.sq.ring_entries;
	rc = io_uring_queue_init_params(w->ring.sq.ring_entries, &w->dring, &p);
	if (rc < 0) {
		w->dring.ring_fd = -1;
		return rc;
	}
	return 0;
}

void pvsi_worker_poke_deferred(struct pvs_worker *w)
{
	w->dring_poke = true;
}

/* Run the callbacks of up to WORKER_BATCH ready CQEs of @ring; returns how many. */
static int reap_ring(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	while (n < WORKER_BATCH && io_uring_peek_cqe(ring, &cqe) == 0) {
		uintptr_t data = (uintptr_t)io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		/* Mark it seen before the callback, which may queue more. */
		io_uring_cqe_seen(ring, cqe);
		n++;
		if (data & WORKER_OP_BIT) {
			struct pvsi_worker_op *op = (void *)(data & ~(uintptr_t)WORKER_OP_BIT);

			op->done(op, res);
		} else if (data) {
			pvsi_store_done((struct pvs_req *)data, res);
		}
	}
	return n;
}

static int reap(struct pvs_worker *w)
{
	int n = reap_ring(&w->ring);

	/* Its CQEs only ever come from dring_enter(): no system call to look. */
	if (dring_made(w) && io_uring_cq_ready(&w->dring))
		n += reap_ring(&w->dring);
	/* The sleep's poll of the transport's set is not a completion of its work. */
	n -= (int)w->sleep_hits;
	w->sleep_hits = 0;
	return n;
}

static struct io_uring_sqe *get_sqe(struct pvs_worker *w, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		/* SQ full: hand the batch to the kernel and take a fresh slot. */
		pvsi_worker_submit(w);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return NULL;
	}
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

struct io_uring_sqe *pvsi_worker_sqe(struct pvs_worker *w, struct pvs_req *req)
{
	struct io_uring_sqe *sqe = get_sqe(w, &w->ring);

	if (sqe)
		io_uring_sqe_set_data(sqe, req);
	return sqe;
}

struct io_uring_sqe *pvsi_worker_sqe_deferred(struct pvs_worker *w, struct pvsi_worker_op *op)
{
	struct io_uring_sqe *sqe;
	struct io_uring *r = sg_ring(w);

	if (!r)
		return NULL;
	sqe = get_sqe(w, r);
	if (sqe && op)
		io_uring_sqe_set_data64(sqe, pvsi_worker_op_tag(op));
	return sqe;
}

uint64_t pvsi_worker_op_tag(const struct pvsi_worker_op *op)
{
	return (uint64_t)(uintptr_t)op | WORKER_OP_BIT;
}

void pvsi_worker_linger(struct pvs_worker *w, int delta)
{
	w->lingering = (unsigned int)((int)w->lingering + delta);
}

bool pvs_worker_has_completions(const struct pvs_worker *w)
{
	/* A unified ring's task work is the plain ring's: dring_taskrun() says it. */
	return io_uring_cq_ready(&w->ring) != 0 || w->dring_poke || w->foreign ||
	       dring_taskrun(w) || (dring_made(w) && io_uring_cq_ready(&w->dring) != 0);
}

/* The plain ring's queue waits for the sleep; the deferred ring's goes now. */
static void submit_lazy(struct pvs_worker *w)
{
	/* Another thread's call only marks the work for the owner: as ever. */
	if (!w->lazy || !owner_is_me(w))
		pvsi_worker_submit(w);
	else
		submit_dring(w);
}

void pvs_worker_flush(struct pvs_worker *w)
{
	submit_lazy(w);
}

/*
 * One round: fd events (sg completions) then CQEs.  Returns events handled.
 * Without @check_fds the fds are not asked (no epoll_wait): CQEs are in
 * shared memory, and a ready fd keeps pvs_worker_fd() readable for the
 * transport's next poll.
 */
static int poll_round(struct pvs_worker *w, int timeout_ms, bool check_fds)
{
	struct epoll_event evs[16];
	int n = 0, handled = 0;
	bool own = w->fds_ready; /* the sleep's poll of the fds fired: they are asked */
	bool evfd_seen = false;

	w->fds_ready = false;
	check_fds = check_fds || own;
	if (timeout_ms != 0)
		pvsi_worker_submit(w); /* a blocking wait: its completions must come */
	else
		submit_lazy(w);
	/* Completions already posted need no wake-up. */
	if (timeout_ms != 0 && pvs_worker_has_completions(w))
		timeout_ms = 0;
	/*
	 * With no fd of a LUN registered only the io_uring's fd is in the set,
	 * and its CQEs are in shared memory: a transport that saw the set
	 * readable needs no epoll_wait to learn which.
	 */
	if (check_fds && (w->ncallback || timeout_ms != 0)) {
		n = epoll_wait(w->epfd, evs, 16, timeout_ms);
	} else if (own || (check_fds && w->fds && !io_uring_cq_ready(&w->ring))) {
		/*
		 * Only wake-only fds besides the io_uring's, and no CQE made the
		 * set readable: one of them did, and what it means is the
		 * deferred ring's task work.  No epoll_wait to learn which.
		 */
		w->dring_poke = true;
	}
	if (n < 0) {
		/*
		 * EINTR is also how io_uring's task work (which posts CQEs,
		 * e.g. for timeouts) interrupts a sleeping epoll_wait: reap.
		 */
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	w->dispatching++;
	for (int i = 0; i < n; i++) {
		struct worker_fd *f = evs[i].data.ptr;

		if ((void *)f == &w->evfd) {
			evfd_seen = true; /* quieted below, once its task work ran */
			continue;
		}
		if (!f)
			continue; /* the ring's fd: reaped below */
		if (f->dead)
			continue;
		if (!f->fn) {
			w->dring_poke = true;
			continue;
		}
		f->fn(f->opaque, evs[i].events);
		handled++;
	}
	w->dispatching--;
	if (!w->dispatching)
		free_dead_fds(w);
	/* An fd's callback may have asked for the deferred ring's task work. */
	dring_enter(w);
	handled += reap(w);
	/*
	 * A transport that waits on pvs_worker_fd() (its sleep refused), or
	 * pvs_worker_wait(), saw the eventfd: quiet it once the task work it
	 * stood for ran above (IORING_SQ_TASKRUN said so) and posted.  A
	 * sleeping transport never polls it, and never pays this read.
	 */
	if (w->evfd >= 0 && (evfd_seen || (check_fds && !w->lazy))) {
		eventfd_t v;

		eventfd_read(w->evfd, &v);
	}
	return handled;
}

int pvs_worker_poll(struct pvs_worker *w)
{
	return pvs_worker_run(w, true);
}

int pvs_worker_run(struct pvs_worker *w, bool fds_ready)
{
	int total = 0;

	/*
	 * Callbacks start new stages (a FUA write's flush, a short transfer's
	 * remainder): keep going while there is progress, within a bound so
	 * that one busy LUN cannot starve the transport's other fds.
	 */
	for (int round = 0; round < WORKER_ROUNDS; round++) {
		/*
		 * The fds once, when the transport saw them ready: what becomes
		 * ready meanwhile wakes its poll again.
		 */
		int n = poll_round(w, 0, fds_ready && round == 0);

		if (n < 0)
			return total ? total : n;
		total += n;
		/* Lazy: what callbacks queued goes out with the sleep, not round after round. */
		if (n == 0 && (w->lazy || !io_uring_sq_ready(&w->ring)) &&
		    !(dring_made(w) && io_uring_sq_ready(&w->dring)))
			break;
	}
	submit_lazy(w);
	return total;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pvs_worker_wait(struct pvs_worker *w, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int n, more;

	/* Wake-ups with nothing to run (signals, task work) do not end the wait. */
	for (;;) {
		n = poll_round(w, timeout_ms, true);
		if (n != 0 || timeout_ms == 0)
			break;
		if (timeout_ms > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				break;
			timeout_ms = (int)left;
		}
	}
	if (n <= 0)
		return n;
	more = pvs_worker_poll(w);
	return more > 0 ? n + more : n;
}

static int add_fd(struct pvs_worker *w, int fd, uint32_t events, pvsi_worker_fd_fn fn, void *opaque)
{
	struct worker_fd *f;
	struct epoll_event ev;

	for (f = w->fds; f; f = f->next)
		if (!f->dead && f->fd == fd)
			return -EEXIST;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->fn = fn;
	f->opaque = opaque;
	ev.events = events;
	ev.data.ptr = f;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		free(f);
		return rc;
	}
	if (epoll_ctl(w->fdsep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		free(f);
		return rc;
	}
	f->next = w->fds;
	w->fds = f;
	if (fn)
		w->ncallback++;
	return 0;
}

int pvsi_worker_add_fd(struct pvs_worker *w, int fd, uint32_t events, pvsi_worker_fd_fn fn,
                       void *opaque)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	return add_fd(w, fd, events, fn, opaque);
}

int pvsi_worker_add_wake_fd(struct pvs_worker *w, int fd)
{
	if (fd < 0 || !sg_ring(w))
		return -EINVAL;
	/*
	 * Unified: the retries are the sleeping ring's own task work, which
	 * wakes its sleep; a poll of the fd besides would wake it twice.
	 */
	if (w->unified)
		return 0;
	return add_fd(w, fd, EPOLLIN, NULL, NULL);
}

void pvsi_worker_del_fd(struct pvs_worker *w, int fd)
{
	for (struct worker_fd *f = w->fds; f; f = f->next) {
		if (f->dead || f->fd != fd)
			continue;
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		epoll_ctl(w->fdsep, EPOLL_CTL_DEL, fd, NULL);
		/* An event for it may sit in the current dispatch batch. */
		f->dead = true;
		if (f->fn)
			w->ncallback--;
		break;
	}
	if (!w->dispatching)
		free_dead_fds(w);
}

/* ---- watches: an fd read through the plain ring ---- */

struct pvs_worker_watch {
	struct pvsi_worker_op rd; /* the read's CQE */
	struct pvsi_worker_op wr; /* the write's */
	struct pvs_worker *w;
	int fd;
	unsigned int len;
	unsigned int posted; /* SQEs whose CQE has not come */
	bool reading;
	bool orphan; /* freed by its owner: the last CQE frees it */
	/* On the worker's orphans list meanwhile: the worker holds it, not the kernel alone. */
	struct pvs_worker_watch *onext, **oprev;
	pvs_worker_watch_fn fn;
	void *opaque;
	uint64_t rbuf; /* the kernel writes it until the read's CQE */
	uint64_t wbuf;
};

static struct pvs_worker_watch *watch_of(struct pvsi_worker_op *op, bool write)
{
	uintptr_t off =
	    write ? offsetof(struct pvs_worker_watch, wr) : offsetof(struct pvs_worker_watch, rd);

	return (struct pvs_worker_watch *)((char *)op - off);
}

static void watch_settle(struct pvs_worker_watch *wt)
{
	wt->posted--;
	if (wt->orphan && !wt->posted) {
		*wt->oprev = wt->onext;
		if (wt->onext)
			wt->onext->oprev = wt->oprev;
		pvsi_worker_linger(wt->w, -1);
		free(wt);
	}
}

static void watch_read_done(struct pvsi_worker_op *op, int res)
{
	struct pvs_worker_watch *wt = watch_of(op, false);

	wt->reading = false;
	if (!wt->orphan)
		wt->fn(wt->opaque, res, &wt->rbuf);
	watch_settle(wt);
}

static void watch_write_done(struct pvsi_worker_op *op, int res)
{
	struct pvs_worker_watch *wt = watch_of(op, true);

	/*
	 * A failed write (an unmask) shows as a channel that stays quiet;
	 * the owner's read result cannot say so.  Hand it the error as a
	 * read result would be: it logs it and arms again.
	 */
	if (res < 0 && !wt->orphan)
		wt->fn(wt->opaque, res, NULL);
	watch_settle(wt);
}

int pvs_worker_watch_new(struct pvs_worker *w, int fd, unsigned int read_len,
                         pvs_worker_watch_fn fn, void *opaque, struct pvs_worker_watch **out)
{
	struct pvs_worker_watch *wt;

	*out = NULL;
	if (!w || fd < 0 || !fn || read_len == 0 || read_len > sizeof(wt->rbuf))
		return -EINVAL;
	wt = calloc(1, sizeof(*wt));
	if (!wt)
		return -ENOMEM;
	wt->rd.done = watch_read_done;
	wt->wr.done = watch_write_done;
	wt->w = w;
	wt->fd = fd;
	wt->len = read_len;
	wt->fn = fn;
	wt->opaque = opaque;
	*out = wt;
	return 0;
}

int pvs_worker_watch_arm(struct pvs_worker_watch *wt, const void *wbuf, unsigned int wlen)
{
	struct io_uring_sqe *sqe;

	if (wt->orphan || wlen > sizeof(wt->wbuf))
		return -EINVAL;
	if (wlen) {
		/* One write at a time: its buffer is the watch's until its CQE. */
		if (wt->posted > (wt->reading ? 1u : 0u))
			return -EBUSY;
		if (!(sqe = get_sqe(wt->w, &wt->w->ring)))
			return -EBUSY;
		memcpy(&wt->wbuf, wbuf, wlen);
		io_uring_prep_write(sqe, wt->fd, &wt->wbuf, wlen, (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, pvsi_worker_op_tag(&wt->wr));
		wt->posted++;
	}
	if (wt->reading)
		return 0;
	if (!(sqe = get_sqe(wt->w, &wt->w->ring)))
		return -EBUSY;
	io_uring_prep_read(sqe, wt->fd, &wt->rbuf, wt->len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, pvsi_worker_op_tag(&wt->rd));
	wt->posted++;
	wt->reading = true;
	/* From another thread (a ring connected by pvscsid's main thread): the owner's turn. */
	if (!owner_is_me(wt->w))
		pvsi_worker_submit(wt->w);
	return 0;
}

void pvs_worker_watch_free(struct pvs_worker_watch *wt)
{
	struct io_uring_sqe *sqe;

	if (!wt)
		return;
	if (!wt->posted) {
		free(wt);
		return;
	}
	/*
	 * The read waits on the fd's poll for an event that may never come:
	 * cancel it.  Without an SQE for the cancel the read still ends when
	 * the worker's ring goes (pvs_worker_free() gives up after a bound).
	 */
	if (wt->reading && (sqe = get_sqe(wt->w, &wt->w->ring))) {
		io_uring_prep_cancel64(sqe, pvsi_worker_op_tag(&wt->rd), 0);
		io_uring_sqe_set_data(sqe, NULL);
	}
	pvsi_worker_submit(wt->w);
	wt->orphan = true;
	wt->onext = wt->w->orphans;
	if (wt->onext)
		wt->onext->oprev = &wt->onext;
	wt->oprev = &wt->w->orphans;
	wt->w->orphans = wt;
	pvsi_worker_linger(wt->w, 1);
}

/* ---- sleeping in the io_uring ---- */

static void sleep_fds_ready(struct pvsi_worker_op *op, int res)
{
	struct pvs_worker *w =
	    (struct pvs_worker *)((char *)op - offsetof(struct pvs_worker, fds_op));

	w->fds_polled = false;
	/* An error reads as ready: the next round's epoll_wait says what there is. */
	if (res != -ECANCELED)
		w->fds_ready = true;
}

static void sleep_fd_ready(struct pvsi_worker_op *op, int res)
{
	struct pvs_worker *w =
	    (struct pvs_worker *)((char *)op - offsetof(struct pvs_worker, sleep_op));

	w->sleep_polled = false;
	w->sleep_hits++;
	/* A poll the kernel refuses would wake every sleep at once: say so instead. */
	if (res < 0 && res != -ECANCELED && res != -EINTR)
		w->sleep_err = res;
	else if (res != -ECANCELED && !w->sleep_seen)
		w->sleep_ready = true; /* came after the sleep looked: the next one says so */
	w->sleep_seen = false;
}

/*
 * A poll of @fd on the plain ring for @op; false when the kernel takes no
 * SQE (its CQ overflows), and the caller then asks @fd at once.
 */
static bool post_poll(struct pvs_worker *w, int fd, struct pvsi_worker_op *op,
                      void (*done)(struct pvsi_worker_op *, int))
{
	struct io_uring_sqe *sqe = get_sqe(w, &w->ring);

	if (!sqe)
		return false;
	op->done = done;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, pvsi_worker_op_tag(op));
	return true;
}

void pvs_worker_sleep_hold(struct pvs_worker *w, unsigned int us)
{
	w->hold_us = us;
}

int pvs_worker_sleep_begin(struct pvs_worker *w, int fd, int timeout_ms)
{
	struct io_uring_sq *sq = &w->ring.sq;
	unsigned int hold = w->hold_us;
	int rc;

	w->hold_us = 0;
	/* The thread that sleeps in it runs it: pvscsid's one loop adopts it so. */
	if (!w->owned)
		pvs_worker_adopt(w);
	if (!w->sleep_err && (rc = main_enable(w)) < 0)
		w->sleep_err = rc;
	if (w->sleep_err) {
		/* Not lazy any more: the caller goes back to its own epoll_wait. */
		w->lazy = false;
		pvsi_worker_submit(w);
		return w->sleep_err;
	}
	w->lazy = true;
	if (fd >= 0 && !w->sleep_polled && !w->sleep_ready) {
		w->sleep_polled = post_poll(w, fd, &w->sleep_op, sleep_fd_ready);
		w->sleep_ready = !w->sleep_polled;
	}
	/*
	 * The worker's own fds (sg answers, iSCSI and Ceph sockets), polled
	 * here rather than through @fd: their readiness is the worker's to
	 * handle in the pass's run, with no epoll_wait of the transport's.
	 */
	if (w->fds && !w->fds_polled && !w->fds_ready) {
		w->fds_polled = post_poll(w, w->fdsep, &w->fds_op, sleep_fds_ready);
		w->fds_ready = !w->fds_polled;
	}
	if (w->foreign)
		pvsi_worker_submit(w);
	/*
	 * A held sleep lets completions and the worker's fds wait in the
	 * kernel: that is its point.  The transport's set does not: what
	 * comes there (xenstore, a stop) is rare and not to be delayed.
	 */
	if (w->sleep_ready || (!hold && (w->fds_ready || pvs_worker_has_completions(w))))
		timeout_ms = 0;
	if (hold && timeout_ms > 0 && (unsigned int)timeout_ms < hold / 1000)
		hold = (unsigned int)timeout_ms * 1000u;
	w->sleep_hold_us = timeout_ms == 0 ? 0 : hold;
	/*
	 * What liburing's submit does before its system call, done here so
	 * that the call itself (pvs_worker_sleep_wait()) reads nothing of the
	 * queue that another thread may be adding to meanwhile: the kernel
	 * takes the SQEs up to the tail published now, and those only.
	 */
	if (sq->sqe_head != sq->sqe_tail) {
		sq->sqe_head = sq->sqe_tail;
		io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	}
	w->sleep_submit = *sq->ktail - io_uring_smp_load_acquire(sq->khead);
	w->sleep_timeout = timeout_ms;
	return 0;
}

int pvs_worker_sleep_wait(struct pvs_worker *w)
{
	unsigned int fd = (unsigned int)w->ring.ring_fd, n = w->sleep_submit;
	int timeout_ms = w->sleep_timeout, rc, tries = 0;
	unsigned int hold = w->sleep_hold_us;

	do {
		if (timeout_ms == 0) {
			/* Unified: the answers' task work runs here, not in a call of the pass. */
			unsigned int get =
			    w->unified && dring_taskrun(w) ? IORING_ENTER_GETEVENTS : 0;

			rc = n || get ? io_uring_enter(fd, n, 0, get, NULL) : 0;
		} else if (timeout_ms < 0 && !hold) {
			rc = io_uring_enter(fd, n, 1, IORING_ENTER_GETEVENTS, NULL);
		} else {
			/*
			 * A held sleep waits for as many completions as the CQ holds,
			 * so that only the time (or a CQ about to overflow, or a
			 * signal) ends it.
			 */
			uint64_t us = hold ? hold : (uint64_t)timeout_ms * 1000u;
			struct __kernel_timespec ts = {.tv_sec = (long long)(us / 1000000u),
			                               .tv_nsec =
			                                   (long long)(us % 1000000u) * 1000};
			struct io_uring_getevents_arg arg = {.ts = (uint64_t)(uintptr_t)&ts};

			rc = io_uring_enter2(fd, n, hold ? w->ring.cq.ring_entries : 1,
			                     IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			                     (sigset_t *)&arg, sizeof(arg));
		}
		/* What was not submitted stays between head and tail for the next sleep. */
	} while (rc == -EAGAIN && ++tries < 8);
	/* A timeout, a signal, a CQ full until reaped: none is the loop's end. */
	if (rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
		rc = 0;
	return rc < 0 ? rc : 0;
}

void pvs_worker_sleep_end(struct pvs_worker *w, int rc, bool *fd_ready)
{
	*fd_ready = false;
	/*
	 * Nothing is reaped here: the transport reads its pass clock first,
	 * against which its completions' latencies count.  The set's poll is
	 * looked for in the CQ, and its CQE left for that reap.
	 */
	if (w->sleep_polled && !w->sleep_seen) {
		uint64_t tag = pvsi_worker_op_tag(&w->sleep_op);
		struct io_uring_cqe *c;
		unsigned int head;

		io_uring_for_each_cqe(&w->ring, head, c)
		{
			if (c->user_data == tag) {
				w->sleep_seen = true;
				*fd_ready = true;
				break;
			}
		}
	}
	if (w->sleep_ready) {
		w->sleep_ready = false;
		*fd_ready = true;
	}
	if (rc < 0) {
		/* The next call says so; the set is asked meanwhile. */
		w->sleep_err = rc;
		*fd_ready = true;
	}
}

int pvs_worker_sleep(struct pvs_worker *w, int fd, int timeout_ms, bool *fd_ready)
{
	int rc = pvs_worker_sleep_begin(w, fd, timeout_ms);

	*fd_ready = false;
	if (rc < 0)
		return rc;
	pvs_worker_sleep_end(w, pvs_worker_sleep_wait(w), fd_ready);
	return 0;
}

void pvs_worker_submit(struct pvs_worker *w)
{
	pvsi_worker_submit(w);
}
