/* SPDX-License-Identifier: GPL-2.0-or-later */
/* worker_ut.c - the io_uring + epoll worker: submission, completion, fds. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <liburing.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "cu_run.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define NREQ 32

struct rec {
	int calls;
	int64_t res;
};

static struct pvs_req reqs[NREQ];
static struct rec recs[NREQ];

static void record(struct pvs_req *req, int64_t res)
{
	struct rec *r = &recs[req - reqs];

	r->calls++;
	r->res = res;
}

static void reset_reqs(void)
{
	memset(reqs, 0, sizeof(reqs));
	memset(recs, 0, sizeof(recs));
	for (int i = 0; i < NREQ; i++)
		reqs[i].core.cont = record;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Is @fd readable within @ms?  Retries EINTR: io_uring's task work
 * interrupts epoll_wait (seen after a ring is torn down).
 */
static int readable(int fd, int ms)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	int n;

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	do {
		n = epoll_wait(ep, &out, 1, ms);
	} while (n < 0 && errno == EINTR);
	close(ep);
	return n;
}

static void queue_nop(struct pvs_worker *w, struct pvs_req *req)
{
	struct io_uring_sqe *sqe = pvsi_worker_sqe(w, req);

	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_nop(sqe);
}

/* ---- lifecycle ---- */

static void test_new_bad_depth(void)
{
	struct pvs_worker *w = (struct pvs_worker *)1;

	CU_ASSERT_EQUAL(pvs_worker_new(0, &w), -EINVAL);
	CU_ASSERT_PTR_NULL(w);
	CU_ASSERT_EQUAL(pvs_worker_new(4097, &w), -EINVAL);
	CU_ASSERT_PTR_NULL(w);
	pvs_worker_free(NULL);
}

static void test_fd_is_epoll_and_idle(void)
{
	struct pvs_worker *w;
	struct epoll_event ev;
	double t0;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_TRUE(pvs_worker_fd(w) >= 0);
	/* epoll_wait fails with EINVAL on anything but an epoll fd */
	CU_ASSERT_EQUAL(epoll_wait(pvs_worker_fd(w), &ev, 1, 0), 0);
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 30), 0);
	CU_ASSERT_TRUE(now_ms() - t0 >= 25);
	pvs_worker_free(w);
}

/* ---- io_uring ---- */

static void test_nop_needs_flush_then_signals_fd(void)
{
	struct pvs_worker *w;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	queue_nop(w, &reqs[0]);
	/* queued, not submitted: nothing to see yet */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 20), 0);
	CU_ASSERT_EQUAL(recs[0].calls, 0);
	pvs_worker_flush(w);
	/* the transport's one fd wakes up for the CQE */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_EQUAL(recs[0].calls, 0);
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 1);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	CU_ASSERT_EQUAL(recs[0].res, 0);
	/* eventfd drained: the fd is quiet again */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 0), 0);
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	pvs_worker_free(w);
}

/*
 * What a polling transport looks at: completions visible in shared memory
 * before any poll, and gone once reaped; the fd-less run reaps them too.
 */
static void test_has_completions(void)
{
	struct pvs_worker *w;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));
	queue_nop(w, &reqs[0]);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w));
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));
	pvs_worker_free(w);
}

/*
 * Only the worker's own thread submits: what another thread queued (the
 * main thread of a threaded pvscsid, its loop parked) waits for the
 * owner's next round, which has_completions() says to run.  A loop thread
 * that adopts the worker is its owner from then on.
 */
struct foreign_arg {
	struct pvs_worker *w;
	bool adopt;
};

static void *foreign_thread(void *arg)
{
	struct foreign_arg *a = arg;

	if (a->adopt)
		pvs_worker_adopt(a->w);
	queue_nop(a->w, &reqs[0]);
	pvs_worker_flush(a->w);
	return NULL;
}

static void test_only_the_owner_submits(void)
{
	struct foreign_arg a = {0};
	struct pvs_worker *w;
	pthread_t t;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	a.w = w;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, foreign_thread, &a), 0);
	pthread_join(t, NULL);
	/* Queued by another thread: not submitted, but the owner is told to run. */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 50), 0);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w));
	CU_ASSERT_EQUAL(recs[0].calls, 0);
	for (int i = 0; i < 100 && !recs[0].calls; i++)
		pvs_worker_wait(w, 10);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));

	/* Adopted by a thread: that thread submits at once. */
	reset_reqs();
	a.adopt = true;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, foreign_thread, &a), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	pvs_worker_free(w);
}

/* The pass clock: read once, or set by the loop from a clock of its own. */
static void test_pass_clock(void)
{
	uint64_t t = pvs_clock_pass();

	CU_ASSERT_EQUAL(pvs_now_ns(), t);
	pvs_clock_set_pass(t + 5);
	CU_ASSERT_EQUAL(pvs_now_ns(), t + 5);
	CU_ASSERT_TRUE(pvs_clock_pass() >= t);
}

static void test_readv_result_reaches_request(void)
{
	struct pvs_worker *w;
	int p[2];
	char buf[16] = "";
	struct iovec iov[2] = {{buf, 3}, {buf + 3, 13}};
	struct io_uring_sqe *sqe;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(write(p[1], "hello", 5), 5);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	sqe = pvsi_worker_sqe(w, &reqs[3]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_readv(sqe, p[0], iov, 2, 0);
	CU_ASSERT_TRUE(pvs_worker_wait(w, 1000) >= 1);
	CU_ASSERT_EQUAL(recs[3].calls, 1);
	CU_ASSERT_EQUAL(recs[3].res, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
	/* an error is passed as -errno */
	sqe = pvsi_worker_sqe(w, &reqs[4]);
	io_uring_prep_readv(sqe, 987, iov, 2, 0);
	CU_ASSERT_TRUE(pvs_worker_wait(w, 1000) >= 1);
	CU_ASSERT_EQUAL(recs[4].calls, 1);
	CU_ASSERT_EQUAL(recs[4].res, -EBADF);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

static void test_full_sq_is_submitted_not_dropped(void)
{
	struct pvs_worker *w;
	int done = 0;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(4, &w), 0);
	/* five times the SQ size without a flush in between */
	for (int i = 0; i < 20; i++)
		queue_nop(w, &reqs[i]);
	for (int tries = 0; tries < 20 && done < 20; tries++) {
		pvs_worker_wait(w, 100);
		done = 0;
		for (int i = 0; i < 20; i++)
			done += recs[i].calls;
	}
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(recs[i].calls, 1);
	pvs_worker_free(w);
}

static struct pvs_worker *chain_w;

static void chain(struct pvs_req *req, int64_t res)
{
	record(req, res);
	if (recs[req - reqs].calls < 3)
		queue_nop(chain_w, req);
}

static void test_completion_queues_next_stage(void)
{
	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &chain_w), 0);
	reqs[0].core.cont = chain;
	queue_nop(chain_w, &reqs[0]);
	pvs_worker_flush(chain_w);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(chain_w), 1000), 1);
	/* one poll runs the stages a completion starts */
	CU_ASSERT_EQUAL(pvs_worker_poll(chain_w), 3);
	CU_ASSERT_EQUAL(recs[0].calls, 3);
	pvs_worker_free(chain_w);
}

static void test_null_request_cqe_is_dropped(void)
{
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	sqe = pvsi_worker_sqe(w, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_nop(sqe);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	for (int i = 0; i < NREQ; i++)
		CU_ASSERT_EQUAL(recs[i].calls, 0);
	pvs_worker_free(w);
}

static void test_cancel_blocked_read(void)
{
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;
	int p[2];
	char buf[8];

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	sqe = pvsi_worker_sqe(w, &reqs[1]);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	pvs_worker_flush(w);
	/* an empty pipe: the read stays in flight */
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 30), 0);
	CU_ASSERT_EQUAL(recs[1].calls, 0);
	sqe = pvsi_worker_sqe(w, NULL);
	io_uring_prep_cancel(sqe, &reqs[1], 0);
	CU_ASSERT_EQUAL(pvsi_worker_submit(w), 1);
	for (int i = 0; i < 10 && !recs[1].calls; i++)
		pvs_worker_wait(w, 100);
	CU_ASSERT_EQUAL(recs[1].calls, 1);
	CU_ASSERT_EQUAL(recs[1].res, -ECANCELED);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

/* An operation of the core's own: its CQE reaches op->done, never a request. */
struct test_op {
	struct pvsi_worker_op op;
	int calls;
	int res;
	struct pvs_worker *w;
	bool linger;
};

static void test_op_done(struct pvsi_worker_op *op, int res)
{
	struct test_op *t = (struct test_op *)op;

	t->calls++;
	t->res = res;
	if (t->linger)
		pvsi_worker_linger(t->w, -1);
}

static void test_op_callback(void)
{
	struct test_op t = {.op.done = test_op_done};
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvsi_worker_use_deferred(w), 0);
	sqe = pvsi_worker_sqe_deferred(w, &t.op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_nop(sqe);
	/* the tag, as a cancel names it */
	CU_ASSERT_EQUAL(sqe->user_data, pvsi_worker_op_tag(&t.op));
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_EQUAL(t.res, 0);
	for (int i = 0; i < NREQ; i++)
		CU_ASSERT_EQUAL(recs[i].calls, 0);
	pvs_worker_free(w);
}

/*
 * An owner gone with a read still in the ring (a closed sg LUN): the
 * worker's free waits for the cancelled read's CQE before the ring goes,
 * so that nothing is written into memory freed meanwhile.
 */
static void test_lingering_op_reaped_at_free(void)
{
	static struct test_op t;
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;
	int p[2];
	char buf[8];

	memset(&t, 0, sizeof(t));
	t.op.done = test_op_done;
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	t.w = w;
	t.linger = true;
	CU_ASSERT_EQUAL_FATAL(pvsi_worker_use_deferred(w), 0);
	sqe = pvsi_worker_sqe_deferred(w, &t.op);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	sqe = pvsi_worker_sqe_deferred(w, NULL);
	io_uring_prep_cancel64(sqe, pvsi_worker_op_tag(&t.op), 0);
	pvsi_worker_linger(w, 1);
	/* not reaped yet: pvs_worker_free() does it */
	CU_ASSERT_EQUAL(t.calls, 0);
	pvs_worker_free(w);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_EQUAL(t.res, -ECANCELED);
	close(p[0]);
	close(p[1]);
}

/*
 * A worker with its deferred ring, a non-blocking pipe, and @t's read of
 * the pipe's read end queued on that ring.
 */
static struct pvs_worker *deferred_read_setup(struct test_op *t, int p[2], char *buf, size_t len)
{
	struct pvs_worker *w = NULL;
	struct io_uring_sqe *sqe;

	memset(t, 0, sizeof(*t));
	t->op.done = test_op_done;
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_PTR_NULL(pvsi_worker_sqe_deferred(w, &t->op)); /* not made yet */
	CU_ASSERT_EQUAL(pvsi_worker_add_wake_fd(w, p[0]), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(pvsi_worker_use_deferred(w), 0);
	CU_ASSERT_EQUAL(pvsi_worker_use_deferred(w), 0);
	sqe = pvsi_worker_sqe_deferred(w, &t->op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_read(sqe, p[0], buf, (unsigned int)len, (uint64_t)-1);
	CU_ASSERT_EQUAL(sqe->user_data, pvsi_worker_op_tag(&t->op));
	return w;
}

/*
 * The deferred ring: a read with nothing to read yet is retried from task
 * work that only the worker's own io_uring_enter() runs.  The data coming
 * does not complete it by itself; a poke (the owner saw its fd ready) and
 * a poll round do, and the worker says it has work until then.
 */
static void test_deferred_read_runs_after_poke(void)
{
	static struct test_op t;
	struct pvs_worker *w;
	int p[2];
	char buf[8] = "";

	w = deferred_read_setup(&t, p, buf, sizeof(buf));
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	CU_ASSERT_EQUAL(t.calls, 0);
	CU_ASSERT_EQUAL(write(p[1], "abc", 3), 3);
	usleep(20000);
	/* the read's retry waits for a round of ours: no CQE yet */
	CU_ASSERT_EQUAL(t.calls, 0);
	pvsi_worker_poke_deferred(w);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w));
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 1);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_EQUAL(t.res, 3);
	CU_ASSERT_EQUAL(memcmp(buf, "abc", 3), 0);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

/*
 * A wake-only fd (an sg device read through the deferred ring): its
 * readiness makes the worker's fd readable, and a round told so runs the
 * deferred ring's task work without a callback or an epoll_wait of its own.
 */
static void test_wake_fd_runs_deferred(void)
{
	static struct test_op t;
	struct pvs_worker *w;
	struct pollfd pfd;
	int p[2];
	char buf[8] = "";

	w = deferred_read_setup(&t, p, buf, sizeof(buf));
	CU_ASSERT_EQUAL(pvsi_worker_add_wake_fd(w, p[0]), 0);
	CU_ASSERT_EQUAL(pvsi_worker_add_wake_fd(w, p[0]), -EEXIST);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 0);
	pfd = (struct pollfd){.fd = pvs_worker_fd(w), .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	CU_ASSERT_EQUAL(write(p[1], "xyz", 3), 3);
	CU_ASSERT_EQUAL(poll(&pfd, 1, 1000), 1);
	CU_ASSERT_EQUAL(pvs_worker_run(w, true), 1);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_EQUAL(t.res, 3);
	CU_ASSERT_EQUAL(memcmp(buf, "xyz", 3), 0);
	/* the answer was taken: the set is quiet again */
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	pvsi_worker_del_fd(w, p[0]);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

/*
 * An SQE that fails at submission (a write to a pipe's read end) has its
 * CQE posted from deferred task work: the worker sees that in shared
 * memory (IORING_SQ_TASKRUN) and runs it without any poke.
 */
static void test_deferred_failure_without_poke(void)
{
	static struct test_op t;
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;
	int p[2];

	memset(&t, 0, sizeof(t));
	t.op.done = test_op_done;
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvsi_worker_use_deferred(w), 0);
	sqe = pvsi_worker_sqe_deferred(w, &t.op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_write(sqe, p[0], "x", 1, (uint64_t)-1);
	pvs_worker_flush(w);
	for (int i = 0; i < 10 && !t.calls; i++) {
		if (pvs_worker_has_completions(w))
			pvs_worker_poll(w);
	}
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_TRUE(t.res < 0);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

static void test_wait_blocks_until_completion(void)
{
	struct pvs_worker *w;
	struct io_uring_sqe *sqe;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 60 * 1000 * 1000};
	double t0, dt;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	sqe = pvsi_worker_sqe(w, &reqs[2]);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 5000), 1);
	dt = now_ms() - t0;
	CU_ASSERT_EQUAL(recs[2].calls, 1);
	CU_ASSERT_EQUAL(recs[2].res, -ETIME);
	CU_ASSERT_TRUE(dt >= 50 && dt < 4000);
	pvs_worker_free(w);
}

/* ---- watches: an fd read through the worker's io_uring ---- */

struct watchrec {
	int calls;
	int res;
	bool nobuf;
	char buf[8];
};

static void watch_cb(void *opaque, int res, const void *buf)
{
	struct watchrec *r = opaque;

	r->calls++;
	r->res = res;
	r->nobuf = !buf;
	if (buf && res > 0)
		memcpy(r->buf, buf, (size_t)res);
}

/*
 * The read stays posted until data comes, reaches the callback in a poll
 * round, and is posted again only when armed, after that arm's write to the
 * same fd (an event channel's unmask).  Arming while it is posted posts
 * nothing more.
 */
static void test_watch_read_and_rearm(void)
{
	struct pvs_worker *w;
	struct pvs_worker_watch *wt;
	struct watchrec r = {0};
	char got[8] = {0};
	int s[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL(pvs_worker_watch_new(w, s[0], 0, watch_cb, &r, &wt), -EINVAL);
	CU_ASSERT_EQUAL(pvs_worker_watch_new(w, s[0], 9, watch_cb, &r, &wt), -EINVAL);
	CU_ASSERT_EQUAL(pvs_worker_watch_new(w, -1, 4, watch_cb, &r, &wt), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_watch_new(w, s[0], 4, watch_cb, &r, &wt), 0);
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, NULL, 0), 0);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_EQUAL(write(s[1], "kick", 4), 4);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.res, 4);
	CU_ASSERT_EQUAL(memcmp(r.buf, "kick", 4), 0);
	/* Not posted again by itself: more data waits for the arm. */
	CU_ASSERT_EQUAL(write(s[1], "more", 4), 4);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, "unmk", 4), 0);
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, NULL, 0), 0); /* posted: nothing more */
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 2);          /* the write's CQE and the read's */
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_EQUAL(memcmp(r.buf, "more", 4), 0);
	CU_ASSERT_EQUAL(read(s[1], got, sizeof(got)), 4);
	CU_ASSERT_EQUAL(memcmp(got, "unmk", 4), 0);
	/* Posted and freed: cancelled, the callback not called, nothing leaks. */
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, NULL, 0), 0);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	pvs_worker_watch_free(wt);
	CU_ASSERT_EQUAL(write(s[1], "late", 4), 4);
	pvs_worker_wait(w, 50);
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_EQUAL(read(s[0], got, sizeof(got)), 4); /* the cancelled read took nothing */
	pvs_worker_free(w);
	close(s[0]);
	close(s[1]);
}

/* A write that fails (an unmask refused) reaches the callback without a buffer. */
static void test_watch_failed_write(void)
{
	struct pvs_worker *w;
	struct pvs_worker_watch *wt;
	struct watchrec r = {0};
	int p[2];

	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_watch_new(w, p[0], 4, watch_cb, &r, &wt), 0);
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, "unmk", 4), 0); /* a pipe's read end */
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_TRUE(r.nobuf);
	CU_ASSERT_EQUAL(r.res, -EBADF);
	/* The read is still posted. */
	CU_ASSERT_EQUAL(write(p[1], "kick", 4), 4);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_EQUAL(r.res, 4);
	CU_ASSERT_FALSE(r.nobuf);
	pvs_worker_watch_free(wt);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

/* A watch armed and freed in a frame of its own: no pointer to it stays on the test's stack. */
static __attribute__((noinline)) void orphan_one(struct pvs_worker *w, int fd, struct watchrec *r)
{
	struct pvs_worker_watch *wt;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_watch_new(w, fd, 4, watch_cb, r, &wt), 0);
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, NULL, 0), 0);
	pvs_worker_flush(w);
	pvs_worker_watch_free(wt);
}

/*
 * A watch freed while its read is posted, then its worker at once: the
 * worker waits for the cancel before it goes (ASan: no leak, no write to
 * freed memory), and the fd may already be closed.
 */
static void test_watch_orphan_reaped_at_free(void)
{
	struct pvs_worker *w;
	struct pvs_worker_watch *wt, *never;
	struct watchrec r = {0};
	int p[2];

	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_watch_new(w, p[0], 4, watch_cb, &r, &wt), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_watch_new(w, p[0], 4, watch_cb, &r, &never), 0);
	pvs_worker_watch_free(never); /* never armed: freed at once */
	CU_ASSERT_EQUAL(pvs_worker_watch_arm(wt, NULL, 0), 0);
	pvs_worker_flush(w);
	pvs_worker_watch_free(wt);
	orphan_one(w, p[0], &r);
#ifdef __SANITIZE_ADDRESS__
	/*
	 * Until its cancel's CQE the orphan is the worker's, not the kernel's
	 * alone: a leak check now (libFuzzer runs one after an input) finds it.
	 */
	CU_ASSERT_EQUAL(__lsan_do_recoverable_leak_check(), 0);
#endif
	close(p[0]);
	pvs_worker_free(w);
	CU_ASSERT_EQUAL(r.calls, 0);
	close(p[1]);
}

/* ---- registered fds ---- */

struct fdrec {
	int calls;
	uint32_t events;
	int fd;
	int other; /* deleted from the callback when >= 0 */
	struct pvs_worker *w;
};

static void fd_cb(void *opaque, uint32_t events)
{
	struct fdrec *r = opaque;
	uint64_t v;

	r->calls++;
	r->events = events;
	if (read(r->fd, &v, sizeof(v)) != sizeof(v))
		r->events |= 0x80000000u;
	if (r->other >= 0)
		pvsi_worker_del_fd(r->w, r->other);
}

static void test_fd_callback_and_removal(void)
{
	struct pvs_worker *w;
	struct fdrec r = {.other = -1};
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK);

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	r.fd = efd;
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, efd, EPOLLIN, fd_cb, &r), 0);
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, efd, EPOLLIN, fd_cb, &r), -EEXIST);
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, -1, EPOLLIN, fd_cb, &r), -EINVAL);
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, 1000, EPOLLIN, fd_cb, &r), -EBADF);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_EQUAL(write(efd, &one, sizeof(one)), 8);
	/* the worker's one fd reports the registered fd's readiness */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.events, EPOLLIN);
	pvsi_worker_del_fd(w, efd);
	CU_ASSERT_EQUAL(write(efd, &one, sizeof(one)), 8);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 30), 0);
	CU_ASSERT_EQUAL(r.calls, 1);
	/* and it can come back */
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, efd, EPOLLIN, fd_cb, &r), 0);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 2);
	pvs_worker_free(w);
	close(efd);
}

static void test_fd_deleted_by_another_callback(void)
{
	struct pvs_worker *w;
	struct fdrec a = {0}, b = {0};
	uint64_t one = 1;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	a.fd = eventfd(0, EFD_NONBLOCK);
	b.fd = eventfd(0, EFD_NONBLOCK);
	a.w = b.w = w;
	a.other = b.fd;
	b.other = a.fd;
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, a.fd, EPOLLIN, fd_cb, &a), 0);
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(w, b.fd, EPOLLIN, fd_cb, &b), 0);
	/* both ready in the same round: whichever runs first removes the other */
	CU_ASSERT_EQUAL(write(a.fd, &one, sizeof(one)), 8);
	CU_ASSERT_EQUAL(write(b.fd, &one, sizeof(one)), 8);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 1000), 1);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 30), 0);
	pvs_worker_free(w);
	close(a.fd);
	close(b.fd);
}

/* ---- sleeping in the io_uring ---- */

/*
 * A worker, the transport's epoll set @ep holding the eventfd @efd, and the
 * eventfd @sfd registered with the worker (as an sg fd would be), its
 * callback recording in @r.
 */
static void sleep_env(struct pvs_worker **w, struct fdrec *r, int *ep, int *efd, int *sfd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	*ep = epoll_create1(0);
	*efd = eventfd(0, EFD_NONBLOCK);
	*sfd = eventfd(0, EFD_NONBLOCK);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, w), 0);
	CU_ASSERT_EQUAL_FATAL(epoll_ctl(*ep, EPOLL_CTL_ADD, *efd, &ev), 0);
	r->fd = *sfd;
	r->other = -1;
	CU_ASSERT_EQUAL(pvsi_worker_add_fd(*w, *sfd, EPOLLIN, fd_cb, r), 0);
}

static void sleep_env_free(struct pvs_worker *w, int ep, int efd, int sfd)
{
	pvsi_worker_del_fd(w, sfd);
	pvs_worker_free(w);
	close(ep);
	close(efd);
	close(sfd);
}

/*
 * A lazy worker: after the first sleep, a flush submits nothing; the next
 * sleep submits and waits in one io_uring_enter() and runs the completion.
 */
static void test_sleep_submits_lazily(void)
{
	struct pvs_worker *w;
	bool ready = true;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, -1, 0, &ready), 0);
	CU_ASSERT_FALSE(ready);
	queue_nop(w, &reqs[0]);
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 0);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 20), 0); /* still queued */
	CU_ASSERT_EQUAL(recs[0].calls, 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, -1, 5000, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_EQUAL(recs[0].calls, 0); /* the caller's run does, after its clock */
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	/* A blocking wait is not lazy: it submits what it waits for. */
	queue_nop(w, &reqs[1]);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 5000), 1);
	CU_ASSERT_EQUAL(recs[1].calls, 1);
	/* Nor is pvs_worker_submit(). */
	queue_nop(w, &reqs[2]);
	pvs_worker_submit(w);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	pvs_worker_free(w);
}

/*
 * The transport's own epoll set wakes the sleep (polled from the ring), and
 * says so; a quiet set lets the sleep time out.  A registered fd of the
 * worker's wakes it too, and is the worker's own to handle.
 */
static void test_sleep_wakes_for_the_set(void)
{
	struct pvs_worker *w;
	struct fdrec r = {0};
	struct epoll_event out;
	uint64_t one = 1, v;
	int ep, efd, sfd;
	bool ready = false;
	double t0;

	sleep_env(&w, &r, &ep, &efd, &sfd);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 40, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_TRUE(now_ms() - t0 >= 30);
	CU_ASSERT_EQUAL(write(efd, &one, sizeof(one)), 8);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 5000, &ready), 0);
	CU_ASSERT_TRUE(ready);
	CU_ASSERT_TRUE(now_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(epoll_wait(ep, &out, 1, 0), 1);
	CU_ASSERT_EQUAL(read(efd, &v, sizeof(v)), 8);
	/* Said once, though its CQE waits for the pass's run, which counts it as no work. */
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 0, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 20, &ready), 0);
	CU_ASSERT_FALSE(ready);
	/*
	 * A registered fd (an sg answer) ends the sleep without the set, and
	 * the next run asks it: its callback runs, no fd_ready for the set.
	 */
	CU_ASSERT_EQUAL(write(sfd, &one, sizeof(one)), 8);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 5000, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_TRUE(now_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_TRUE(pvs_worker_run(w, false) >= 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 20, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 0);
	CU_ASSERT_EQUAL(r.calls, 1);
	sleep_env_free(w, ep, efd, sfd);
}

/*
 * A held sleep (completion coalescing) lasts its time: a completion, a
 * registered fd and the transport's set do not end it, and all of them are
 * there for the pass after it.  A shorter timeout bounds it, 0 skips it,
 * and it holds one sleep only.
 */
static void test_sleep_hold(void)
{
	struct pvs_worker *w;
	struct fdrec r = {0};
	struct epoll_event out;
	uint64_t one = 1, v;
	int ep, efd, sfd;
	bool ready = false;
	double t0;

	reset_reqs();
	sleep_env(&w, &r, &ep, &efd, &sfd);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 0, &ready), 0);
	/* A NOP that completes at once, an sg-like fd ready, the set ready. */
	queue_nop(w, &reqs[0]);
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(write(sfd, &one, sizeof(one)), 8);
	CU_ASSERT_EQUAL(write(efd, &one, sizeof(one)), 8);
	pvs_worker_sleep_hold(w, 150000);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 5000, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 >= 140);
	CU_ASSERT_TRUE(now_ms() - t0 < 4000);
	CU_ASSERT_TRUE(ready);
	CU_ASSERT_EQUAL(epoll_wait(ep, &out, 1, 0), 1);
	CU_ASSERT_EQUAL(read(efd, &v, sizeof(v)), 8);
	CU_ASSERT_TRUE(pvs_worker_run(w, false) >= 2);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	/* One sleep only: the next wakes for its NOP at once. */
	queue_nop(w, &reqs[1]);
	pvs_worker_flush(w);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 5000, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(recs[1].calls, 1);
	/* A completion already in the CQ does not end it either. */
	queue_nop(w, &reqs[2]);
	pvs_worker_submit(w);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	pvs_worker_sleep_hold(w, 100000);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, -1, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 >= 90);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	/* Bounded by a shorter timeout; none at all with 0, which clears it. */
	pvs_worker_sleep_hold(w, 3000000);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 40, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 >= 30);
	CU_ASSERT_TRUE(now_ms() - t0 < 2000);
	pvs_worker_sleep_hold(w, 3000000);
	queue_nop(w, &reqs[3]);
	pvs_worker_flush(w);
	t0 = now_ms();
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 0, &ready), 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, ep, 5000, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 < 2000);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(recs[3].calls, 1);
	sleep_env_free(w, ep, efd, sfd);
}

/*
 * A set the kernel cannot poll: the sleep says so once, then fails at every
 * call, and the worker submits at each flush again (its transport went
 * back to epoll_wait).
 */
static void test_sleep_refused_poll(void)
{
	struct pvs_worker *w;
	bool ready = false;

	reset_reqs();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(8, &w), 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, 1000, 2000, &ready), 0); /* no such fd */
	CU_ASSERT_TRUE(ready);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 0); /* the poll's CQE: its error */
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, 1000, 2000, &ready), -EBADF);
	queue_nop(w, &reqs[4]);
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	pvs_worker_free(w);
}

/* ---- unified: a sleeping worker's one deferred ring ---- */

/* A sleeping worker with its deferred ring, unless this kernel has none. */
static struct pvs_worker *unified_new(void)
{
	struct pvs_worker *w = NULL;

	CU_ASSERT_EQUAL_FATAL(pvs_worker_new_sleeping(8, &w), 0);
	if (!pvs_worker_is_unified(w)) {
		pvs_worker_free(w);
		return NULL;
	}
	return w;
}

struct late_write {
	int fd;
	int ms;
};

static void *late_write_thread(void *arg)
{
	struct late_write *lw = arg;

	usleep((useconds_t)lw->ms * 1000);
	CU_ASSERT_EQUAL(write(lw->fd, "sg!", 3), 3);
	return NULL;
}

/*
 * sg's operations on the sleeping ring itself: the header's write and the
 * answer's read are queued there (no second ring, no wake-only fd), go in
 * with the sleep's io_uring_enter(), and an answer that comes while it
 * sleeps ends that sleep, its read's retry run inside it: no poke, no
 * second system call.  (On two rings that sleep would last its 2 s.)
 */
static void test_unified_sg_in_the_sleep(void)
{
	static struct test_op rd, wr;
	struct late_write lw;
	struct io_uring_sqe *sqe;
	struct pvs_worker *w = unified_new();
	struct pollfd pfd;
	bool ready = true;
	char buf[8] = "";
	int p[2], q[2];
	pthread_t t;
	double t0;

	if (!w)
		return;
	memset(&rd, 0, sizeof(rd));
	memset(&wr, 0, sizeof(wr));
	rd.op.done = test_op_done;
	wr.op.done = test_op_done;
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(q, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL(pvsi_worker_use_deferred(w), 0);
	/* answered by the ring's own task work: nothing in the epoll sets */
	CU_ASSERT_EQUAL(pvsi_worker_add_wake_fd(w, p[0]), 0);
	pfd = (struct pollfd){.fd = pvs_worker_fd(w), .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	/* the "header" out, and the "answer" awaited */
	sqe = pvsi_worker_sqe_deferred(w, &wr.op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_write(sqe, q[1], "hdr", 3, (uint64_t)-1);
	sqe = pvsi_worker_sqe_deferred(w, &rd.op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), (uint64_t)-1);
	/* lazy: a flush before the first sleep leaves them to it */
	pvs_worker_flush(w);
	lw = (struct late_write){.fd = p[1], .ms = 100};
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, late_write_thread, &lw), 0);
	t0 = now_ms();
	/* the write completes inline: its CQE ends the first sleep */
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, -1, 2000, &ready), 0);
	CU_ASSERT_FALSE(ready);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(wr.calls, 1);
	CU_ASSERT_EQUAL(wr.res, 3);
	CU_ASSERT_EQUAL(rd.calls, 0);
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, -1, 2000, &ready), 0);
	CU_ASSERT_TRUE(now_ms() - t0 < 1500);
	CU_ASSERT_EQUAL(pvs_worker_run(w, false), 1);
	CU_ASSERT_EQUAL(rd.calls, 1);
	CU_ASSERT_EQUAL(rd.res, 3);
	CU_ASSERT_EQUAL(memcmp(buf, "sg!", 3), 0);
	CU_ASSERT_EQUAL(read(q[0], buf, sizeof(buf)), 3);
	CU_ASSERT_FALSE(pvs_worker_has_completions(w));
	/*
	 * The sleeps never read the ring's eventfd, which its CQEs signalled:
	 * a pvs_worker_wait() (vhost-user drains a ring so) quiets it, or it
	 * would spin on it until its time is up.
	 */
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 0), 1);
	CU_ASSERT_EQUAL(pvs_worker_wait(w, 20), 0);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 0), 0);
	pthread_join(t, NULL);
	pvsi_worker_del_fd(w, p[0]);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

struct sleeper_arg {
	struct pvs_worker *w;
	int ran;
};

/* Sleep and run until @req's completion came; how many ran, or -errno. */
static int sleep_until(struct pvs_worker *w, int req)
{
	bool ready;
	int ran = 0, rc;

	for (int i = 0; i < 100 && recs[req].calls == 0; i++) {
		if ((rc = pvs_worker_sleep(w, -1, 10, &ready)) < 0)
			return rc;
		ran += pvs_worker_run(w, false);
	}
	return ran;
}

static void *sleeper_thread(void *arg)
{
	struct sleeper_arg *a = arg;

	a->ran = sleep_until(a->w, 0);
	/* its issuer now: what it queues itself goes in too */
	queue_nop(a->w, &reqs[1]);
	if (a->ran == 1)
		a->ran += sleep_until(a->w, 1);
	return NULL;
}

/*
 * Its owner is the thread that first sleeps in it, not the one that made
 * it (pvscsid's main thread makes a loop's worker and connects rings on
 * it before the loop's thread runs): what the maker queued before waits
 * for that thread, which enables the ring as its one issuer; the maker's
 * submissions stay the owner's to make after that too.
 */
static void test_unified_owner_is_the_sleeper(void)
{
	struct sleeper_arg a = {0};
	struct pvs_worker *w;
	pthread_t t;

	reset_reqs();
	if (!(w = unified_new()))
		return;
	queue_nop(w, &reqs[0]);
	pvs_worker_flush(w);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w)); /* foreign: for the owner to submit */
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	CU_ASSERT_EQUAL(recs[0].calls, 0);
	a.w = w;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, sleeper_thread, &a), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(a.ran, 2);
	CU_ASSERT_EQUAL(recs[0].calls, 1);
	CU_ASSERT_EQUAL(recs[1].calls, 1);
	queue_nop(w, &reqs[2]);
	pvs_worker_flush(w);
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	CU_ASSERT_EQUAL(recs[2].calls, 0);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w));
	pvs_worker_free(w);
}

/*
 * A transport whose sleep was refused goes back to epoll_wait on
 * pvs_worker_fd(): an answer's retry, task work of the deferred ring,
 * must make that fd readable too, or such a transport would never run it.
 */
static void test_unified_epoll_sees_task_work(void)
{
	static struct test_op rd;
	struct io_uring_sqe *sqe;
	struct pvs_worker *w;
	char buf[8] = "";
	int p[2];

	if (!(w = unified_new()))
		return;
	memset(&rd, 0, sizeof(rd));
	rd.op.done = test_op_done;
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	pvs_worker_adopt(w);
	sqe = pvsi_worker_sqe_deferred(w, &rd.op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sqe);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), (uint64_t)-1);
	CU_ASSERT_EQUAL(pvs_worker_poll(w), 0);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 0), 0);
	CU_ASSERT_EQUAL(write(p[1], "abc", 3), 3);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 1000), 1);
	CU_ASSERT_TRUE(pvs_worker_has_completions(w));
	CU_ASSERT_EQUAL(pvs_worker_run(w, true), 1);
	CU_ASSERT_EQUAL(rd.calls, 1);
	CU_ASSERT_EQUAL(rd.res, 3);
	CU_ASSERT_EQUAL(readable(pvs_worker_fd(w), 0), 0);
	pvs_worker_free(w);
	close(p[0]);
	close(p[1]);
}

static const struct cu_test worker_lifecycle_tests[] = {
    {"bad queue depth", test_new_bad_depth},
    {"fd is an epoll fd, idle poll/wait", test_fd_is_epoll_and_idle},
};

static const struct cu_test worker_io_uring_tests[] = {
    {"nop needs flush, then signals the fd", test_nop_needs_flush_then_signals_fd},
    {"completions seen in shared memory", test_has_completions},
    {"only the worker's own thread submits", test_only_the_owner_submits},
    {"the pass clock", test_pass_clock},
    {"readv result and errors reach the request", test_readv_result_reaches_request},
    {"full SQ is submitted, nothing dropped", test_full_sq_is_submitted_not_dropped},
    {"a completion's next stage runs in the same poll", test_completion_queues_next_stage},
    {"CQE without a request is dropped", test_null_request_cqe_is_dropped},
    {"cancel of a blocked read", test_cancel_blocked_read},
    {"wait blocks until a completion", test_wait_blocks_until_completion},
    {"an operation's CQE reaches its callback", test_op_callback},
    {"a lingering operation is reaped when the worker goes", test_lingering_op_reaped_at_free},
    {"deferred ring: a read's retry runs after a poke", test_deferred_read_runs_after_poke},
    {"deferred ring: a failed submission runs without a poke", test_deferred_failure_without_poke},
    {"deferred ring: a wake-only fd runs its task work", test_wake_fd_runs_deferred},
    {"watch: read, arm again after a write, cancel", test_watch_read_and_rearm},
    {"watch: a failed write reaches the callback", test_watch_failed_write},
    {"watch: an orphan is reaped when its worker goes", test_watch_orphan_reaped_at_free},
};

static const struct cu_test worker_fds_tests[] = {
    {"fd callback, duplicate, removal, re-add", test_fd_callback_and_removal},
    {"fd removed by another callback in the same round", test_fd_deleted_by_another_callback},
    {"sleep: lazy submissions go with the sleep", test_sleep_submits_lazily},
    {"sleep: the transport's set wakes it, and the worker's own fds", test_sleep_wakes_for_the_set},
    {"sleep: a held sleep lasts its time (coalescing)", test_sleep_hold},
    {"sleep: a set the kernel cannot poll ends the sleeping", test_sleep_refused_poll},
    {"unified: sg's write and read go in and are answered in the sleep",
     test_unified_sg_in_the_sleep},
    {"unified: the owner is the thread that first sleeps", test_unified_owner_is_the_sleeper},
    {"unified: epoll on the worker's fd sees the ring's task work",
     test_unified_epoll_sees_task_work},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("worker lifecycle", NULL, NULL, worker_lifecycle_tests),
	    CU_SUITE("worker io_uring", NULL, NULL, worker_io_uring_tests),
	    CU_SUITE("worker fds", NULL, NULL, worker_fds_tests),
	};

	return CU_RUN_SUITES(suites);
}
