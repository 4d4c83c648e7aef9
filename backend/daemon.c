/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c - options, single-instance checks and the event loop of pvscsid.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "pvscsi/lun.h"
#include "ring.h"

#define WORKER_DEPTH 256
#define MAX_EVENTS   64

/* ---- options ---- */

void pvsd_usage(FILE *f)
{
	fprintf(f,
	        "Usage: pvscsid [OPTION]...\n"
	        "Xen PVSCSI (vscsiif) backend: serves every vhost under\n"
	        "/local/domain/<own domid>/backend/vscsi.\n"
	        "\n"
	        "  -f, --foreground        stay in the foreground (else daemonize)\n"
	        "  -p, --pid-file PATH     single-instance lock and pid (default %s)\n"
	        "  -v, --verbose           debug log, one line per request and response\n"
	        "  -l, --log-file PATH     append the log to PATH\n"
	        "      --log-target T      auto, journal, syslog or stderr (default auto)\n"
	        "  -s, --syslog            the same as --log-target syslog\n"
	        "      --sysfs-root DIR    resolve p-devs in DIR instead of /sys\n"
	        "      --dev-root DIR      resolve p-devs in DIR instead of /dev\n"
	        "      --state-dir DIR     keep ring journals in DIR (default %s; \"\" for none)\n"
	        "      --control PATH      the control socket pvscsictl talks to (default\n"
	        "                          %s; \"none\" for none)\n"
	        "      --max-segs N        feature-sg-grant to advertise (%u..%u, default %u)\n"
	        "      --drain-timeout S   on SIGTERM, wait at most S seconds for requests\n"
	        "                          in flight (default %u)\n"
	        "      --backend-type T    serve backend/T instead of backend/vscsi, beside\n"
	        "                          xen-scsiback (the toolstack must write that path\n"
	        "                          in the frontend's backend node)\n"
	        "      --poll-us N         after a pass that did work, poll the rings and the\n"
	        "                          io_uring for N microseconds before sleeping (0..%u,\n"
	        "                          default 0: off; pvscsictl poll changes it)\n"
	        "      --coalesce-us N     after a pass that did work, sleep N microseconds\n"
	        "                          with the rings unarmed, so that one pass answers\n"
	        "                          what completes and takes what comes meanwhile\n"
	        "                          (0..%u, default 0: off; adds up to N us to each\n"
	        "                          command; pvscsictl coalesce changes it)\n"
	        "      --no-defer-kicks    arm every ring after each pass; by default a ring\n"
	        "                          with %u commands or more in flight stays unarmed,\n"
	        "                          and what the guest queues behind them is taken with\n"
	        "                          their completions, without a notification (at most\n"
	        "                          %u ms later; pvscsictl defer-kicks changes it)\n"
	        "      --threads N         serve the rings on up to N event-loop threads (1..%u,\n"
	        "                          default: one per online CPU), each started with\n"
	        "                          its first ring; a ring runs on the thread that\n"
	        "                          serves its LUNs, so guests sharing a LUN share one\n"
	        "  -h, --help              this text\n"
	        "  -V, --version           print the version\n"
	        "\n"
	        "--log-target auto: without --log-file, the log goes to stderr in the\n"
	        "foreground (to the journal directly when systemd connected stderr to it)\n"
	        "and to syslog when daemonized.  A start-up failure is one line on stderr\n"
	        "and exit status 1, also when daemonizing.  SIGTERM/SIGINT: stop taking requests,\n"
	        "answer those in flight, exit leaving xenstore as it is (a restarted\n"
	        "daemon adopts connected guests).  SIGHUP: reopen the log file.\n",
	        PVSD_DEFAULT_PID_FILE, PVSD_DEFAULT_STATE_DIR, PVSD_DEFAULT_CONTROL, 26u,
	        PVSD_RING_MAX_SEGS, PVSD_RING_DEFAULT_SEGS, PVSD_DRAIN_TIMEOUT_MS / 1000,
	        PVSD_POLL_US_MAX, PVSD_COALESCE_US_MAX, PVSD_DEFER_MIN, PVSD_DEFER_MS,
	        PVSD_MAX_THREADS);
}

static int opt_uint(const char *name, const char *arg, unsigned long lo, unsigned long hi,
                    unsigned int *out, FILE *err)
{
	uint64_t v;

	if (pvx_parse_uint(arg, hi, &v) != 0 || v < lo) {
		fprintf(err, "pvscsid: %s: '%s' is not a number in %lu..%lu\n", name, arg, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

int pvsd_opts_parse(int argc, char **argv, struct pvsd_opts *o, FILE *out, FILE *err)
{
	enum {
		O_SYSFS = 256,
		O_DEV,
		O_SEGS,
		O_DRAIN,
		O_STATE,
		O_TARGET,
		O_CONTROL,
		O_BETYPE,
		O_POLL,
		O_COALESCE,
		O_DEFER,
		O_THREADS
	};
	static const struct option lo[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"log-file", required_argument, NULL, 'l'},
	    {"syslog", no_argument, NULL, 's'},
	    {"log-target", required_argument, NULL, O_TARGET},
	    {"sysfs-root", required_argument, NULL, O_SYSFS},
	    {"dev-root", required_argument, NULL, O_DEV},
	    {"state-dir", required_argument, NULL, O_STATE},
	    {"control", required_argument, NULL, O_CONTROL},
	    {"max-segs", required_argument, NULL, O_SEGS},
	    {"drain-timeout", required_argument, NULL, O_DRAIN},
	    {"backend-type", required_argument, NULL, O_BETYPE},
	    {"poll-us", required_argument, NULL, O_POLL},
	    {"coalesce-us", required_argument, NULL, O_COALESCE},
	    {"no-defer-kicks", no_argument, NULL, O_DEFER},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	unsigned int secs;
	int c;

	memset(o, 0, sizeof(*o));
	o->pid_file = PVSD_DEFAULT_PID_FILE;
	o->state_dir = PVSD_DEFAULT_STATE_DIR;
	o->control = PVSD_DEFAULT_CONTROL;
	o->drain_timeout_ms = PVSD_DRAIN_TIMEOUT_MS;
	o->threads = 0; /* one per online CPU (pvsd_default_threads()) */
	/* 0, not 1: glibc then also forgets the previous parse's permutation state. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fp:vl:shV", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'l':
			o->log_file = optarg;
			break;
		case 's':
			o->to_syslog = true;
			o->log_target = PLOG_TARGET_SYSLOG;
			break;
		case O_TARGET:
			if (plog_target_parse(optarg, &o->log_target)) {
				fprintf(
				    err,
				    "pvscsid: --log-target: '%s' is not auto, journal, syslog or "
				    "stderr\n",
				    optarg);
				return -EINVAL;
			}
			o->to_syslog = o->log_target == PLOG_TARGET_SYSLOG;
			break;
		case O_SYSFS:
			o->sysfs_root = optarg;
			break;
		case O_DEV:
			o->dev_root = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_CONTROL:
			o->control = optarg;
			break;
		case O_SEGS:
			if (opt_uint("--max-segs", optarg, 26, PVSD_RING_MAX_SEGS, &o->max_segs,
			             err))
				return -EINVAL;
			break;
		case O_DRAIN:
			if (opt_uint("--drain-timeout", optarg, 0, 3600, &secs, err))
				return -EINVAL;
			o->drain_timeout_ms = secs * 1000;
			break;
		case O_BETYPE:
			if (!pvsd_be_type_ok(optarg)) {
				fprintf(err,
				        "pvscsid: --backend-type: '%s' is not a xenstore name of "
				        "1..%d characters [a-z0-9_-]\n",
				        optarg, PVSD_BE_TYPE_MAX);
				return -EINVAL;
			}
			o->be_type = optarg;
			break;
		case O_POLL:
			if (opt_uint("--poll-us", optarg, 0, PVSD_POLL_US_MAX, &o->poll_us, err))
				return -EINVAL;
			break;
		case O_COALESCE:
			if (opt_uint("--coalesce-us", optarg, 0, PVSD_COALESCE_US_MAX,
			             &o->coalesce_us, err))
				return -EINVAL;
			break;
		case O_DEFER:
			o->no_defer_kicks = true;
			break;
		case O_THREADS:
			if (opt_uint("--threads", optarg, 1, PVSD_MAX_THREADS, &o->threads, err))
				return -EINVAL;
			break;
		case 'h':
			pvsd_usage(out);
			return 1;
		case 'V':
			fprintf(out, "pvscsid (pvscsi) %s\n", PVSCSI_VERSION);
			return 1;
		case ':':
			fprintf(err, "pvscsid: %s needs an argument (see --help)\n",
			        argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(err, "pvscsid: unknown option '%s' (see --help)\n",
			        argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(err, "pvscsid: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	/* After the fork stderr is /dev/null: every line would be lost. */
	if (o->log_target == PLOG_TARGET_STDERR && !o->foreground) {
		fprintf(err, "pvscsid: --log-target stderr needs --foreground (a daemon's stderr "
		             "is /dev/null)\n");
		return -EINVAL;
	}
	if (o->pid_file && !o->pid_file[0])
		o->pid_file = NULL;
	if (o->state_dir && !o->state_dir[0])
		o->state_dir = NULL;
	if (!strcmp(o->control, "none") || !o->control[0])
		o->control = NULL;
	else if (o->control[0] != '/') {
		/* The daemon's working directory is / once it forks: say so now. */
		fprintf(err, "pvscsid: --control: '%s' is not an absolute path (or \"none\")\n",
		        o->control);
		return -EINVAL;
	}
	return 0;
}

bool pvsd_be_type_ok(const char *type)
{
	size_t n = strlen(type);

	if (n == 0 || n > PVSD_BE_TYPE_MAX)
		return false;
	return strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* ---- single instance ---- */

int pvsd_check_scsiback(const char *sysfs_root, char *msg, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/xen_scsiback", sysfs_root ? sysfs_root : "/sys");
	if (stat(path, &st) != 0)
		return 0;
	snprintf(msg, len,
	         "the kernel's xen-scsiback is loaded (%s): it serves backend/vscsi as well, and "
	         "two backends would fight over every vhost; unload it first "
	         "(modprobe -r xen-scsiback)",
	         path);
	return -EBUSY;
}

int pvsd_pidfile_lock(const char *path, int *fd, char *msg, size_t len)
{
	char buf[32] = "";
	ssize_t n;
	int f, e;

	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f < 0) {
		e = errno;
		snprintf(msg, len, "pid file %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		e = errno;
		n = pread(f, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(f);
		if (e == EWOULDBLOCK) {
			snprintf(msg, len,
			         "another pvscsid is running (pid %s, holding the lock on %s)",
			         buf[0] ? buf : "unknown", path);
			return -EEXIST;
		}
		snprintf(msg, len, "locking pid file %s: %s", path, strerror(e));
		return -e;
	}
	*fd = f;
	return 0;
}

int pvsd_pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

/* ---- the loop ---- */

/* epoll cookies for our own fds; ring fds carry the xenbus cookie. */
static char tag_xs, tag_worker, tag_sig, tag_ctl, tag_attn;

/* The pass clock's TSC base (pass_clock()): one per thread that keeps one. */
struct pass_clk {
	uint64_t base_ticks, base_ns, last_ns;
};

/*
 * An event-loop thread (--threads N > 1).  It owns an epoll set with its
 * rings' event channels, its worker's fd and @wake, and its worker (an
 * io_uring of its own).  It holds @mu through each pass; the main thread
 * parks it by raising @want, waking it and taking @mu, so that everything
 * the main thread does to xenbus, the pool and the rings happens between
 * two passes of every loop (docs/backend.md, "Event-loop threads").
 */
struct pvsd_loop {
	struct pvsd_daemon *d;
	unsigned int idx;
	int ep;
	int wake; /* eventfd in @ep: a park, a stop, or work the main thread queued */
	struct pvs_worker *w;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint want;
	atomic_bool stop;
	atomic_bool started;
	bool free_worker; /* at stop: the loop frees its worker itself (its io_uring's issuer) */
	bool sleeps;      /* in its worker's io_uring (loop_sleep()), not epoll_wait */
	struct pass_clk clk;
	bool worked;
	unsigned int skips;
	char tag_w, tag_wake; /* epoll cookies */
};

struct pvsd_daemon {
	struct pvsd_daemon_cfg cfg;
	int ep;
	int sfd;
	struct pvs_worker *w;
	struct pvsd_xenbus *xb;
	struct pctl *ctl;
	bool stopping;
	struct timespec stop_at;
	/*
	 * systemd's watchdog (WatchdogSec=): pinged from this loop and only
	 * from it, so that a loop stuck in a system call on a dead device gets
	 * the service restarted, and the restart adopts the rings.  0: off.
	 */
	unsigned int wd_ms; /* half of WATCHDOG_USEC: the ping interval */
	uint64_t wd_last;   /* pvs_now_ns() of the last ping */
	/*
	 * The pass clock comes from the TSC (pass_clock()):
	 * base_ns was read with pvs_clock_pass() at base_ticks, at most a
	 * second of TSC ago; last_ns keeps it monotonic across re-bases.
	 */
	struct pass_clk clk;
	bool worked;        /* the last pass served a ring or reaped a completion */
	bool sleeps;        /* in the worker's io_uring (wait_pass()), not epoll_wait */
	unsigned int skips; /* passes in a row that polling let skip epoll_wait */
	/* --threads N > 1: the loops; d->w is then the pool's own (opens' answers). */
	unsigned int nloops;
	struct pvsd_loop *loops;
	int attn; /* eventfd in @ep: a loop says the main thread's turn is due */
};

/*
 * Adaptive polling's clock.  In a PV dom0 clock_gettime() is a system call
 * (no vDSO clock), the very thing polling saves: spin on the TSC, its
 * rate measured once against CLOCK_MONOTONIC.
 */
#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t ticks(void)
{
	return __rdtsc();
}
static inline void relax(void)
{
	_mm_pause();
}
#else
static inline uint64_t ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline void relax(void)
{
}
#endif

static uint64_t ticks_per_us(void)
{
	/* Measured once, by the main thread (pvsd_daemon_new()) before any loop runs. */
	static _Atomic uint64_t rate;
	struct timespec a, b, pause = {.tv_nsec = 10 * 1000 * 1000};
	uint64_t ta, tb, ns, r;

	if ((r = atomic_load_explicit(&rate, memory_order_relaxed)) != 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ta = ticks();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	tb = ticks();
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec -
	     (uint64_t)a.tv_nsec;
	r = ns >= 1000 ? (tb - ta) / (ns / 1000) : 0;
	if (!r)
		r = 1;
	atomic_store_explicit(&rate, r, memory_order_relaxed);
	return r;
}

/*
 * The pass's clock.  In a PV dom0 pvs_clock_pass() is a system call (no
 * vDSO clock), one per pass of the loop, and most passes serve one request
 * under an emulated guest: extrapolate from the last real reading with the
 * TSC, and read the real clock again once a second of TSC has gone by (or
 * the TSC went backwards).  What reads it: latency histograms, the TMF
 * hold-back, the watchdog's ping, all of which a TSC rate measured to a
 * few percent over at most a second serves.
 */
static uint64_t pass_clock(struct pass_clk *c)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t, dt, rate, ns;

	rate = ticks_per_us();
	t = ticks();
	dt = t - c->base_ticks;
	if (!c->base_ticks || t < c->base_ticks || dt >= rate * 1000000u) {
		ns = pvs_clock_pass();
		c->base_ticks = ticks();
		c->base_ns = ns;
	} else {
		ns = c->base_ns + dt / rate * 1000u + dt % rate * 1000u / rate;
	}
	if (ns < c->last_ns)
		ns = c->last_ns;
	pvs_clock_set_pass(ns);
	return c->last_ns = ns;
#else
	(void)c;
	return pvs_clock_pass();
#endif
}

/*
 * Spin up to @us for a ring's new requests or the io_uring's completions,
 * reading shared memory only.  True when there is work.
 */
static bool spin(struct pvsd_daemon *d, unsigned int us)
{
	uint64_t end = ticks() + (uint64_t)us * ticks_per_us();

	do {
		if (pvsd_xenbus_has_requests(d->xb) || pvs_worker_has_completions(d->w))
			return true;
		relax();
	} while (ticks() < end);
	return false;
}

/* xenbus's fd_add and fd_del: @arg is the epoll fd (the daemon's, or a loop's). */
static int ep_add(void *arg, int fd, void *cookie)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cookie};

	return epoll_ctl(*(int *)arg, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static void ep_del(void *arg, int fd)
{
	epoll_ctl(*(int *)arg, EPOLL_CTL_DEL, fd, NULL);
}

static int fd_add(struct pvsd_daemon *d, int fd, void *cookie)
{
	return ep_add(&d->ep, fd, cookie);
}

/*
 * A polled pass that found work skips epoll_wait (a system call), but not
 * 16 times in a row: xenstore, the control socket, signals and sg answers
 * come only through it.  epoll_wait's result.
 */
static int wait_events(int ep, struct epoll_event *ev, int timeout_ms, bool polled,
                       unsigned int *skips)
{
	if (polled && *skips < 16) {
		(*skips)++;
		return 0;
	}
	*skips = 0;
	return epoll_wait(ep, ev, MAX_EVENTS, timeout_ms);
}

/* PVSD_URING_SLEEP=0: sleep in epoll_wait, as before, for a comparison in one boot. */
static bool uring_sleep_wanted(void)
{
	const char *e = getenv("PVSD_URING_SLEEP");

	return !e || strcmp(e, "0") != 0;
}

/*
 * The one loop's sleep: in the worker's io_uring, which in the same
 * io_uring_enter() submits what the last pass queued and wakes for a
 * completion (an event channel's read among them) or for @ep, polled from
 * the ring.  epoll_wait(@ep, 0) only when @ep became readable.  @ep's
 * events, or -1 with errno.  The completions wait for the pass's
 * pvs_worker_run(), after its clock is read.
 */
/*
 * The kernel refused a sleep in @w's io_uring (@err): said once by @who,
 * and @w's fd goes into @ep, so that epoll_wait sees its completions and
 * fds from now on.  0, or -1 with errno.
 */
static int sleep_refused(const char *who, int ep, struct pvs_worker *w, void *tag, int err)
{
	struct epoll_event wev = {.events = EPOLLIN, .data.ptr = tag};

	plog(LOG_WARNING, "%ssleeping in the io_uring failed (%s); back to epoll_wait", who,
	     strerror(-err));
	return epoll_ctl(ep, EPOLL_CTL_ADD, pvs_worker_fd(w), &wev);
}

static int wait_pass(struct pvsd_daemon *d, struct epoll_event *ev, int timeout_ms, bool polled)
{
	bool ready = false;
	int n;

	if (!d->sleeps)
		return wait_events(d->ep, ev, timeout_ms, polled, &d->skips);
	n = pvs_worker_sleep(d->w, d->ep, timeout_ms, &ready);
	if (n < 0) {
		if (sleep_refused("", d->ep, d->w, &tag_worker, n) < 0)
			return -1;
		d->sleeps = false;
		return wait_events(d->ep, ev, 0, false, &d->skips);
	}
	return ready ? epoll_wait(d->ep, ev, MAX_EVENTS, 0) : 0;
}

/* ---- event-loop threads (--threads N > 1) ---- */

static void poke(int efd)
{
	eventfd_write(efd, 1);
}

/*
 * Hold @l off between two passes: the main thread may then touch its rings
 * and LUNs.  A loop asleep in epoll_wait holds no lock and is not woken; one
 * in a pass finishes it first.
 */
static void loop_park(struct pvsd_loop *l)
{
	atomic_fetch_add(&l->want, 1);
	pthread_mutex_lock(&l->mu);
}

/*
 * Whether the main thread left @l work that no fd of its will announce: a
 * stop, submissions queued on its worker, requests taken out of turn, a
 * held answer's timer, polling to re-arm.  Asked while it is parked.
 */
static bool loop_due(struct pvsd_loop *l)
{
	struct pvsd_xenbus *xb = l->d->xb;

	return atomic_load(&l->stop) || pvs_worker_has_completions(l->w) ||
	       pvsd_xenbus_pending_loop(xb, l->idx) ||
	       pvsd_xenbus_timeout_ms_loop(xb, l->idx) >= 0 || pvsd_xenbus_poll_us(xb);
}

/*
 * Let it go, waking it only when it has such work: an idle daemon's main
 * thread acting (the control socket, a watchdog ping) costs its loops no
 * system call.
 */
static void loop_unpark(struct pvsd_loop *l)
{
	bool wake = loop_due(l);

	atomic_fetch_sub(&l->want, 1);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (wake)
		poke(l->wake);
}

static void park_all(struct pvsd_daemon *d)
{
	for (unsigned int i = 0; i < d->nloops; i++)
		loop_park(&d->loops[i]);
}

static void unpark_all(struct pvsd_daemon *d)
{
	for (unsigned int i = d->nloops; i-- > 0;)
		loop_unpark(&d->loops[i]);
}

static bool loop_spin(struct pvsd_loop *l, unsigned int us)
{
	uint64_t end = ticks() + (uint64_t)us * ticks_per_us();

	do {
		if (pvsd_xenbus_has_requests_loop(l->d->xb, l->idx) ||
		    pvs_worker_has_completions(l->w))
			return true;
		relax();
	} while (ticks() < end);
	return false;
}

/*
 * Arm the rings before a sleep of at most @t ms (-1: none), polling or
 * deferring kicks: returns the sleep, 0 when a ring had requests.  After a
 * pass that worked, deferred kicks leave the busy rings unarmed and bound
 * the sleep; after one that found nothing, everything is armed.
 */
static int arm_before_sleep(struct pvsd_xenbus *xb, unsigned int loop, bool worked, int t)
{
	bool left = false;

	if (pvsd_xenbus_defer_kicks(xb) && worked) {
		if (pvsd_xenbus_arm_idle_loop(xb, loop, &left))
			return 0;
		return left && (t < 0 || t > PVSD_DEFER_MS) ? PVSD_DEFER_MS : t;
	}
	return pvsd_xenbus_arm_loop(xb, loop) ? 0 : t;
}

/*
 * Completion coalescing: after a pass that worked the next sleep of @loop
 * is held (pvs_worker_sleep_hold()) and the rings stay unarmed, completions
 * already waiting included; the microseconds, or 0.  Only for a loop that
 * sleeps in its io_uring (epoll_wait has no such wait), not while a ring
 * has requests left from a bounded pass, nor while one has many in flight
 * (pvsd_xenbus_coalescible_loop()).
 */
static unsigned int hold_us(struct pvsd_xenbus *xb, unsigned int loop, bool sleeps, bool worked,
                            bool pending)
{
	unsigned int us = pvsd_xenbus_coalesce_us(xb);

	return us && sleeps && worked && !pending && pvsd_xenbus_coalescible_loop(xb, loop) ? us
	                                                                                    : 0;
}

/* How long the loop may sleep; *@polled when polling found work without an event. */
static int loop_timeout(struct pvsd_loop *l, bool *polled)
{
	struct pvsd_xenbus *xb = l->d->xb;
	unsigned int poll_us = pvsd_xenbus_poll_us(xb), hold;
	int t;

	*polled = false;
	if (pvsd_xenbus_pending_loop(xb, l->idx))
		return 0;
	hold = hold_us(xb, l->idx, l->sleeps, l->worked, false);
	if (!hold && pvs_worker_has_completions(l->w))
		return 0;
	t = pvsd_xenbus_timeout_ms_loop(xb, l->idx);
	if (!pvsd_xenbus_polling(xb) || t == 0)
		return t;
	/* A lazy worker's queue first: the spin waits on its completions. */
	if (poll_us && l->sleeps && l->worked)
		pvs_worker_submit(l->w);
	if (poll_us && l->worked && loop_spin(l, poll_us)) {
		*polled = true;
		return 0;
	}
	if (hold) {
		pvs_worker_sleep_hold(l->w, hold);
		return t;
	}
	t = arm_before_sleep(xb, l->idx, l->worked, t);
	*polled = t == 0;
	return t;
}

/* One pass over what epoll_wait gave, as pvsd_daemon_iterate() does for one loop. */
static void loop_pass(struct pvsd_loop *l, const struct epoll_event *ev, int n)
{
	struct pvsd_xenbus *xb = l->d->xb;
	bool worker_ready = false;
	unsigned int served = 0;
	int ran, late, nrings = 0;
	void *rings[MAX_EVENTS];

	pass_clock(&l->clk);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;

		if (p == &l->tag_wake) {
			eventfd_t v;

			eventfd_read(l->wake, &v);
		} else if (p == &l->tag_w) {
			worker_ready = true;
		} else {
			rings[nrings++] = p;
		}
	}
	ran = pvs_worker_run(l->w, worker_ready);
	/* The rings whose event channel reads that run reaped. */
	if (pvsd_xenbus_pending_loop(xb, l->idx))
		pvsd_xenbus_run_pending_loop(xb, l->idx);
	for (int i = 0; i < nrings; i++)
		pvsd_xenbus_handle_ring_loop(xb, l->idx, rings[i]);
	if (pvsd_xenbus_polling(xb))
		served = pvsd_xenbus_poll_loop(xb, l->idx);
	late = pvs_worker_run(l->w, false);
	l->worked = nrings > 0 || served > 0 || ran > 0 || late > 0;
	if (pvsd_xenbus_flush_loop(xb, l->idx))
		poke(l->d->attn);
	if (pvsd_xenbus_pending_loop(xb, l->idx))
		pvsd_xenbus_run_pending_loop(xb, l->idx);
}

static void loop_hold(struct pvsd_loop *l)
{
	while (atomic_load(&l->want))
		pthread_cond_wait(&l->cv, &l->mu);
}

/*
 * A loop's sleep, as the one loop's (wait_pass()): in its worker's
 * io_uring, which submits what the pass queued and wakes for a completion
 * or for the loop's epoll set, polled from the ring.  Entered with @mu
 * held, which the system call itself runs without, so that the main
 * thread may park the loop and queue work on its worker meanwhile (it
 * then wakes it through @wake, in that set).  Returns with @mu held and
 * the loop let go by the main thread: the set's events, or 0, or -1 when
 * the loop is to stop.
 */
static int loop_sleep(struct pvsd_loop *l, struct epoll_event *ev, int timeout_ms)
{
	bool ready = false;
	int rc = pvs_worker_sleep_begin(l->w, l->ep, timeout_ms), n;

	if (rc < 0) {
		char who[32];

		snprintf(who, sizeof(who), "event loop %u: ", l->idx);
		l->sleeps = false;
		if (sleep_refused(who, l->ep, l->w, &l->tag_w, rc) < 0)
			plog(LOG_ERR, "%sepoll_ctl: %s", who, strerror(errno));
		return 0;
	}
	pthread_mutex_unlock(&l->mu);
	rc = pvs_worker_sleep_wait(l->w);
	pthread_mutex_lock(&l->mu);
	loop_hold(l);
	if (atomic_load(&l->stop))
		return -1;
	pvs_worker_sleep_end(l->w, rc, &ready);
	/* EINTR, or what the next pass meets again: no events this time. */
	n = ready ? epoll_wait(l->ep, ev, MAX_EVENTS, 0) : 0;
	return n < 0 ? 0 : n;
}

static void *loop_thread(void *arg)
{
	struct pvsd_loop *l = arg;
	struct epoll_event ev[MAX_EVENTS];

	/* The worker's io_uring takes its submissions from this thread only. */
	pvs_worker_adopt(l->w);
	/* Before the lock: a loop starts lazily in the main thread's turn, which holds it. */
	atomic_store(&l->started, true);
	pthread_mutex_lock(&l->mu);
	for (;;) {
		bool polled;
		int timeout, n;

		loop_hold(l);
		if (atomic_load(&l->stop))
			break;
		timeout = loop_timeout(l, &polled);
		if (l->sleeps) {
			n = loop_sleep(l, ev, timeout);
			if (n < 0)
				break;
			loop_pass(l, ev, n);
			continue;
		}
		pthread_mutex_unlock(&l->mu);
		n = wait_events(l->ep, ev, timeout, polled, &l->skips);
		if (n < 0)
			n = 0; /* EINTR, or what the next pass meets again */
		pthread_mutex_lock(&l->mu);
		loop_hold(l);
		if (atomic_load(&l->stop))
			break;
		loop_pass(l, ev, n);
	}
	pthread_mutex_unlock(&l->mu);
	/* Its io_uring answers only this thread: the cancels of sg reads included. */
	if (l->free_worker) {
		pvs_worker_free(l->w);
		l->w = NULL;
	}
	return NULL;
}

/*
 * End the loop threads, which the caller has parked (park_all()): told to
 * stop before they are let go, they leave without another pass, each
 * freeing its worker when @free_workers.
 */
static void loops_stop(struct pvsd_daemon *d, bool free_workers)
{
	for (unsigned int i = 0; i < d->nloops; i++) {
		d->loops[i].free_worker = free_workers;
		atomic_store(&d->loops[i].stop, true);
	}
	unpark_all(d);
	for (unsigned int i = 0; i < d->nloops; i++) {
		struct pvsd_loop *l = &d->loops[i];

		if (l->running)
			pthread_join(l->thread, NULL);
		l->running = false;
	}
}

/* After loops_stop(), or for loops that never started. */
static void loops_free(struct pvsd_daemon *d, bool free_workers)
{
	for (unsigned int i = 0; i < d->nloops; i++) {
		struct pvsd_loop *l = &d->loops[i];

		if (free_workers && l->w)
			pvs_worker_free(l->w); /* never started */
		if (l->wake >= 0)
			close(l->wake);
		if (l->ep >= 0)
			close(l->ep);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	free(d->loops);
	d->loops = NULL;
	d->nloops = 0;
	if (d->attn >= 0)
		close(d->attn);
	d->attn = -1;
}

static int loop_start(void *arg);

/* The loops' epoll sets, wake fds and workers; their threads start later. */
static int loops_new(struct pvsd_daemon *d, unsigned int n, struct pvsd_xb_loop *xl)
{
	d->loops = calloc(n, sizeof(*d->loops));
	if (!d->loops)
		return -ENOMEM;
	d->nloops = n;
	for (unsigned int i = 0; i < n; i++) {
		struct pvsd_loop *l = &d->loops[i];
		struct epoll_event ev = {.events = EPOLLIN};
		int rc;

		l->d = d;
		l->idx = i;
		l->wake = -1;
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		l->ep = epoll_create1(EPOLL_CLOEXEC);
		l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->ep < 0 || l->wake < 0)
			return -errno;
		/* Sleeping in its io_uring, the loop polls the set from there: not its own fd. */
		l->sleeps = uring_sleep_wanted();
		rc = l->sleeps ? pvs_worker_new_sleeping(WORKER_DEPTH, &l->w)
		               : pvs_worker_new(WORKER_DEPTH, &l->w);
		if (rc)
			return rc;
		ev.data.ptr = &l->tag_wake;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) < 0)
			return -errno;
		ev.data.ptr = &l->tag_w;
		if (!l->sleeps && epoll_ctl(l->ep, EPOLL_CTL_ADD, pvs_worker_fd(l->w), &ev) < 0)
			return -errno;
		xl[i] = (struct pvsd_xb_loop){.worker = l->w,
		                              .fd_add = ep_add,
		                              .fd_del = ep_del,
		                              .fd_arg = &l->ep,
		                              .start = loop_start,
		                              .start_arg = l};
	}
	d->attn = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return d->attn < 0 ? -errno : 0;
}

unsigned int pvsd_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > (long)PVSD_MAX_THREADS ? PVSD_MAX_THREADS : (unsigned int)n;
}

/*
 * xenbus's start hook: the loop's thread starts when the first vhost is
 * placed on it, so that no more loops run than rings need.
 */
static int loop_start(void *arg)
{
	struct pvsd_loop *l = arg;
	int rc;

	if (l->running)
		return 0;
	rc = pthread_create(&l->thread, NULL, loop_thread, l);
	if (rc)
		return -rc;
	l->running = true;
	/* Its worker is its own before the main thread may queue on it. */
	while (!atomic_load(&l->started))
		sched_yield();
	return 0;
}

int pvsd_daemon_new(const struct pvsd_daemon_cfg *cfg, struct pvsd_daemon **out)
{
	struct pvsd_daemon *d = calloc(1, sizeof(*d));
	struct pvsd_xenbus_cfg xc = {0};
	struct pvsd_xb_loop xl[PVSD_MAX_THREADS];
	int rc;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->attn = -1;
	if (d->cfg.threads > PVSD_MAX_THREADS)
		d->cfg.threads = PVSD_MAX_THREADS;
	(void)ticks_per_us(); /* before any loop thread reads it */
	if (!d->cfg.drain_timeout_ms)
		d->cfg.drain_timeout_ms = PVSD_DRAIN_TIMEOUT_MS;
	d->sfd = -1;
	{
		uint64_t usec = 0, half;

		if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
			half = usec / 2000;
			d->wd_ms = !half ? 1 : half > UINT_MAX ? UINT_MAX : (unsigned int)half;
		}
		d->wd_last = pvs_now_ns();
	}
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0) {
		rc = -errno;
		plog(LOG_ERR, "epoll: %s", strerror(-rc));
		free(d);
		return rc;
	}
	if (cfg->signals) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		if (d->sfd < 0) {
			rc = -errno;
			plog(LOG_ERR, "signalfd: %s", strerror(-rc));
			goto fail;
		}
		if ((rc = fd_add(d, d->sfd, &tag_sig)) != 0)
			goto fail;
	}
	/*
	 * One loop sleeps in its worker's io_uring (wait_pass()), which then
	 * polls the worker's fds itself: the set holds none of the worker's.
	 * With loop threads the main thread's worker serves no ring, and the
	 * main thread sleeps in epoll_wait.
	 */
	d->sleeps = d->cfg.threads <= 1 && uring_sleep_wanted();
	rc = d->sleeps ? pvs_worker_new_sleeping(WORKER_DEPTH, &d->w)
	               : pvs_worker_new(WORKER_DEPTH, &d->w);
	if (rc) {
		plog(LOG_ERR, "I/O worker: %s", strerror(-rc));
		goto fail;
	}
	if ((!d->sleeps && (rc = fd_add(d, pvs_worker_fd(d->w), &tag_worker)) != 0) ||
	    (rc = fd_add(d, cfg->xs.ops->fileno(cfg->xs.ctx), &tag_xs)) != 0) {
		plog(LOG_ERR, "epoll_ctl: %s", strerror(-rc));
		goto fail;
	}
	if (d->cfg.threads > 1) {
		rc = loops_new(d, d->cfg.threads, xl);
		if (rc == 0)
			rc = fd_add(d, d->attn, &tag_attn);
		if (rc) {
			plog(LOG_ERR, "event-loop threads: %s", strerror(-rc));
			goto fail;
		}
		xc.nloops = d->nloops;
		xc.loops = xl;
	}
	xc.xs = cfg->xs;
	xc.gnt = cfg->gnt;
	xc.gnt_ctx = cfg->gnt_ctx;
	xc.evt = cfg->evt;
	xc.evt_ctx = cfg->evt_ctx;
	xc.worker = d->w;
	xc.resolver = cfg->resolver;
	xc.state_dir = cfg->state_dir;
	xc.max_segs = cfg->max_segs;
	xc.verbose = cfg->verbose;
	xc.own_domid = cfg->own_domid;
	xc.be_type = cfg->be_type;
	xc.fd_add = ep_add;
	xc.fd_del = ep_del;
	xc.fd_arg = &d->ep;
	rc = pvsd_xenbus_start(&xc, &d->xb);
	if (rc)
		goto fail;
	pvsd_xenbus_set_poll_us(d->xb, cfg->poll_us);
	pvsd_xenbus_set_coalesce_us(d->xb, cfg->coalesce_us);
	pvsd_xenbus_set_defer_kicks(d->xb, cfg->defer_kicks);
	if (cfg->control) {
		char err[300];

		/* Storage first: a daemon without its control socket still serves the guests. */
		if (pvsd_ctl_open(cfg->control, d->xb, cfg->control_peer_ok, &d->ctl, err,
		                  sizeof(err)) != 0)
			plog(LOG_ERR,
			     "%s; serving without it (pvscsictl will not reach this daemon)", err);
		else if (fd_add(d, pctl_fd(d->ctl), &tag_ctl) != 0) {
			plog(LOG_ERR, "control socket %s: epoll: %s; serving without it",
			     cfg->control, strerror(errno));
			pctl_close(d->ctl);
			d->ctl = NULL;
		}
	}
	if (d->nloops)
		plog(LOG_INFO,
		     "serving the rings on up to %u event-loop threads, each started with its "
		     "first ring",
		     d->nloops);
	{
		struct pvs_worker *lw = d->nloops ? d->loops[0].w : d->w;
		bool sleeps = d->nloops ? d->loops[0].sleeps : d->sleeps;

		if (sleeps)
			plog(LOG_INFO, "%s",
			     pvs_worker_is_unified(lw)
			         ? "each loop sleeps in one io_uring with deferred task work: file "
			           "and sg I/O in one io_uring_enter per pass"
			         : "each loop sleeps in an io_uring without deferred task work "
			           "(Linux before 6.1, or PVS_URING_DEFER=0): sg I/O on a second "
			           "one");
	}
	*out = d;
	return 0;
fail:
	loops_free(d, true);
	if (d->w)
		pvs_worker_free(d->w);
	if (d->sfd >= 0)
		close(d->sfd);
	close(d->ep);
	free(d);
	return rc;
}

void pvsd_daemon_stop(struct pvsd_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &d->stop_at);
	plog(LOG_NOTICE, "stopping: no new requests, finishing those in flight; xenstore is "
	                 "left for the next pvscsid to adopt");
	/* systemd then knows the wait that follows is the drain, not a hang. */
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
	pvsd_xenbus_shutdown(d->xb);
}

static void handle_signals(struct pvsd_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP: {
			int rc = plog_reopen();

			if (rc)
				plog(LOG_ERR, "reopening the log file: %s", strerror(-rc));
			else
				plog(LOG_INFO, "log file reopened");
			break;
		}
		default:
			plog(LOG_NOTICE, "signal %s from pid %u", strsignal((int)si.ssi_signo),
			     si.ssi_pid);
			pvsd_daemon_stop(d);
			break;
		}
	}
}

static unsigned int ms_since(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > UINT_MAX ? UINT_MAX : (unsigned int)ms;
}

/*
 * One of the main thread's own events: 1 when handled, -EPIPE when the
 * xenstore connection is gone, 0 when it is none of them (a ring's).
 */
static int main_event(struct pvsd_daemon *d, const struct epoll_event *ev, bool *worker_ready)
{
	void *p = ev->data.ptr;

	if (p == &tag_xs) {
		if (ev->events & (EPOLLERR | EPOLLHUP)) {
			plog(LOG_ERR, "xenstore connection lost");
			return -EPIPE;
		}
		pvsd_xenbus_handle_xs(d->xb);
	} else if (p == &tag_sig) {
		handle_signals(d);
	} else if (p == &tag_ctl) {
		pctl_handle(d->ctl);
	} else if (p == &tag_worker) {
		*worker_ready = true;
	} else {
		return 0;
	}
	return 1;
}

/* After a pass of a stopping daemon: 0 once it may end, 1 while it drains. */
static int stop_check(struct pvsd_daemon *d)
{
	if (!d->stopping)
		return 1;
	if (pvsd_xenbus_idle(d->xb)) {
		plog(LOG_NOTICE, "every request answered; exiting");
		return 0;
	}
	if (ms_since(&d->stop_at) >= d->cfg.drain_timeout_ms) {
		plog(LOG_WARNING,
		     "requests still in flight after %u ms; exiting anyway (the next "
		     "pvscsid re-reads them from the ring)",
		     d->cfg.drain_timeout_ms);
		return 0;
	}
	return 1;
}

/*
 * @timeout_ms, or less: a control client to drop, the watchdog's next ping,
 * a move between loops to give up.
 */
static int main_timeout(struct pvsd_daemon *d, int timeout_ms)
{
	int move_ms = pvsd_xenbus_main_timeout_ms(d->xb);

	if (move_ms >= 0 && (timeout_ms < 0 || move_ms < timeout_ms))
		timeout_ms = move_ms;
	if (d->ctl) {
		int ctl_ms = pctl_timeout_ms(d->ctl);

		if (ctl_ms >= 0 && (timeout_ms < 0 || ctl_ms < timeout_ms))
			timeout_ms = ctl_ms;
	}
	if (d->wd_ms) {
		/*
		 * The pass's clock, not a fresh read (two system calls per pass in a
		 * PV dom0): the ping may come a pass's work late, well within the
		 * half interval of slack.
		 */
		uint64_t since_ms = (pvs_now_ns() - d->wd_last) / 1000000;
		int wd_left = since_ms >= d->wd_ms ? 0 : (int)(d->wd_ms - since_ms);

		if (timeout_ms < 0 || wd_left < timeout_ms)
			timeout_ms = wd_left;
	}
	return timeout_ms;
}

/*
 * The main thread's turn with loop threads: xenstore, signals, the control
 * socket, the pool's opens and whatever a loop said is due, each loop
 * parked between two passes meanwhile.
 */
static int iterate_main(struct pvsd_daemon *d, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	bool worker_ready = false;
	uint64_t now;
	int n, rc = 1;

	if (pvs_worker_has_completions(d->w))
		timeout_ms = 0;
	else if (d->stopping && (timeout_ms < 0 || timeout_ms > 100))
		timeout_ms = 100; /* to notice the end of the drain */
	timeout_ms = main_timeout(d, timeout_ms);
	n = epoll_wait(d->ep, ev, MAX_EVENTS, timeout_ms);
	now = pass_clock(&d->clk);
	if (n < 0) {
		if (errno != EINTR) {
			plog(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		n = 0;
	}
	/* Reached only once every loop is between passes: one stuck is the watchdog's case. */
	park_all(d);
	if (d->wd_ms && now - d->wd_last >= (uint64_t)d->wd_ms * 1000000u) {
		sd_notify(0, "WATCHDOG=1");
		d->wd_last = now;
	}
	for (int i = 0; i < n && rc > 0; i++) {
		rc = main_event(d, &ev[i], &worker_ready);
		if (rc == 0) {
			eventfd_t v; /* the attention eventfd, the one other fd of ep */

			eventfd_read(d->attn, &v);
			rc = 1;
		}
	}
	if (rc > 0) {
		pvs_worker_run(d->w, worker_ready);
		pvsd_xenbus_after_poll_main(d->xb);
		if (d->ctl && pctl_timeout_ms(d->ctl) == 0)
			pctl_handle(d->ctl);
		rc = stop_check(d);
	}
	unpark_all(d);
	return rc;
}

int pvsd_daemon_iterate(struct pvsd_daemon *d, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	void *rings[MAX_EVENTS];
	int nrings = 0, ran, late;
	unsigned int poll_us, hold, served = 0;
	bool polled = false, pending;
	int ring_ms = pvsd_xenbus_timeout_ms(d->xb);
	bool worker_ready = false;
	uint64_t now;
	int n, i;

	if (d->nloops)
		return iterate_main(d, timeout_ms);
	/*
	 * What a flush completed at once waits in a completion queue no fd
	 * announces (sg through the deferred ring): reap it before sleeping,
	 * unless coalescing holds the sleep, for which it waits with the rest.
	 */
	pending = pvsd_xenbus_pending(d->xb);
	hold = hold_us(d->xb, PVSD_XENBUS_ALL_LOOPS, d->sleeps, d->worked, pending);
	if (pending || (!hold && pvs_worker_has_completions(d->w)))
		timeout_ms = 0;
	else if (d->stopping && (timeout_ms < 0 || timeout_ms > 100))
		timeout_ms = 100; /* to notice the drain timeout */
	if (ring_ms >= 0 && (timeout_ms < 0 || ring_ms < timeout_ms))
		timeout_ms = ring_ms; /* answers held behind a TMF */
	timeout_ms = main_timeout(d, timeout_ms);
	poll_us = pvsd_xenbus_poll_us(d->xb);
	if (pvsd_xenbus_polling(d->xb) && timeout_ms != 0) {
		/* A lazy worker's queue first: the spin waits on its completions. */
		if (poll_us && d->sleeps && d->worked)
			pvs_worker_submit(d->w);
		/*
		 * Work within the window is taken with no event at all (the rings
		 * stay unarmed, so the guest does not notify); only then are they
		 * armed, and what came meanwhile is not slept on.
		 */
		if (poll_us && d->worked && spin(d, poll_us))
			timeout_ms = 0;
		else if (hold)
			pvs_worker_sleep_hold(d->w, hold);
		else
			timeout_ms =
			    arm_before_sleep(d->xb, PVSD_XENBUS_ALL_LOOPS, d->worked, timeout_ms);
		polled = timeout_ms == 0;
	}
	n = wait_pass(d, ev, timeout_ms, polled);
	/* The one clock read of the pass: every latency below is measured against it. */
	now = pass_clock(&d->clk);
	if (d->wd_ms && now - d->wd_last >= (uint64_t)d->wd_ms * 1000000u) {
		sd_notify(0, "WATCHDOG=1");
		d->wd_last = now;
	}
	if (n < 0) {
		if (errno != EINTR) {
			plog(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		n = 0;
	}
	for (i = 0; i < n; i++) {
		int r = main_event(d, &ev[i], &worker_ready);

		if (r < 0)
			return r;
		if (r == 0)
			rings[nrings++] = ev[i].data.ptr;
	}
	/*
	 * Completions first, so that a ring with an event copies their data-in
	 * in the same grant copy call as its new requests' data-out.
	 */
	ran = pvs_worker_run(d->w, worker_ready);
	/* The rings whose event channel reads that run reaped. */
	if (pvsd_xenbus_pending(d->xb))
		pvsd_xenbus_run_pending(d->xb);
	for (i = 0; i < nrings; i++)
		pvsd_xenbus_handle_ring(d->xb, rings[i]);
	if (pvsd_xenbus_polling(d->xb))
		served = pvsd_xenbus_poll(d->xb);
	/*
	 * What the rings' submissions completed at once (a page cache hit) is
	 * answered in this pass too; the CQ is shared memory, no system call.
	 */
	late = pvs_worker_run(d->w, false);
	d->worked = nrings > 0 || served > 0 || ran > 0 || late > 0;
	pvsd_xenbus_after_poll(d->xb);
	if (d->ctl && pctl_timeout_ms(d->ctl) == 0)
		pctl_handle(d->ctl);
	if (pvsd_xenbus_pending(d->xb))
		pvsd_xenbus_run_pending(d->xb);
	return stop_check(d);
}

int pvsd_daemon_run(struct pvsd_daemon *d)
{
	int rc;

	while ((rc = pvsd_daemon_iterate(d, -1)) > 0)
		;
	return rc;
}

struct pvsd_xenbus *pvsd_daemon_xenbus(struct pvsd_daemon *d)
{
	return d->xb;
}

struct pvs_worker *pvsd_daemon_worker(struct pvsd_daemon *d)
{
	return d->w;
}

struct pctl *pvsd_daemon_control(struct pvsd_daemon *d)
{
	return d->ctl;
}

void pvsd_daemon_free(struct pvsd_daemon *d)
{
	if (!d)
		return;
	/* Before the xenbus its commands read. */
	pctl_close(d->ctl);
	if (d->nloops) {
		bool idle;

		/*
		 * The rings and LUNs go first, the loops parked; then each loop
		 * frees its own worker, whose io_uring runs the sg cancels of
		 * the LUNs closed only on its thread.
		 */
		park_all(d);
		idle = pvsd_xenbus_idle(d->xb);
		if (idle)
			pvsd_xenbus_free(d->xb);
		loops_stop(d, idle);
		loops_free(d, idle);
		if (idle)
			pvs_worker_free(d->w);
	} else if (pvsd_xenbus_idle(d->xb)) {
		pvsd_xenbus_free(d->xb);
		pvs_worker_free(d->w);
	}
	/* Otherwise requests still run on the worker: leave both to process exit. */
	if (d->sfd >= 0)
		close(d->sfd);
	close(d->ep);
	free(d);
}
