/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - pvscsid's process: options, the single-instance checks, and
 * the one event loop over the xenstore fd, the worker fd, every ring's
 * event channel fd and a signalfd.
 *
 * main.c only glues these together with the real xenstore, grant table and
 * event channel ops; tests drive the same loop on the fakes.
 */
#ifndef PVSD_DAEMON_H
#define PVSD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "control.h"
#include "log.h"
#include "pvscsi/resolve.h"
#include "xenbus.h"
#include "xenevt.h"
#include "xengnt.h"
#include "xs.h"

#define PVSD_DEFAULT_PID_FILE "/run/pvscsid.pid"
/* Ring journals (tmpfs: they must outlive the process, not the boot). */
#define PVSD_DEFAULT_STATE_DIR "/run/pvscsid"
#define PVSD_DRAIN_TIMEOUT_MS  30000u
/* Event-loop threads at most (pvsd_xenbus_cfg.loops). */
#define PVSD_MAX_THREADS 64u

struct pvsd_opts {
	bool foreground;
	bool verbose;
	bool to_syslog;              /* --syslog, or --log-target syslog */
	enum plog_target log_target; /* the last of --log-target and --syslog */
	const char *log_file;        /* NULL: none */
	const char *pid_file;        /* PVSD_DEFAULT_PID_FILE unless given */
	const char *sysfs_root;      /* NULL: /sys */
	const char *dev_root;        /* NULL: /dev */
	const char *state_dir;       /* PVSD_DEFAULT_STATE_DIR unless given; NULL: none */
	const char *control;         /* PVSD_DEFAULT_CONTROL unless given; NULL: none */
	unsigned int max_segs;       /* 0: PVSD_RING_DEFAULT_SEGS */
	unsigned int drain_timeout_ms;
	const char *be_type;      /* --backend-type; NULL: vscsi */
	unsigned int poll_us;     /* --poll-us; 0: off */
	unsigned int coalesce_us; /* --coalesce-us; 0: off */
	bool no_defer_kicks;      /* --no-defer-kicks */
	unsigned int threads;     /* --threads, 1..PVSD_MAX_THREADS; 0: pvsd_default_threads() */
};
/* The default of --threads: one event loop per online CPU, within 1..PVSD_MAX_THREADS. */
unsigned int pvsd_default_threads(void);

/*
 * Parse the command line.  Returns 0, 1 when --help or --version was given
 * (printed on @out; exit 0), or -EINVAL with one line on @err (exit 2).
 */
int pvsd_opts_parse(int argc, char **argv, struct pvsd_opts *o, FILE *out, FILE *err);
void pvsd_usage(FILE *f);

/*
 * xen-scsiback claims backend/vscsi too: two backends would race for every
 * vhost.  Returns 0 when it is not loaded (or built in), -EBUSY with a
 * message otherwise.  @sysfs_root NULL means /sys.
 */
int pvsd_check_scsiback(const char *sysfs_root, char *msg, size_t len);

/* --backend-type: a xenstore path element of [a-z0-9_-], at most this long. */
#define PVSD_BE_TYPE_MAX 32
bool pvsd_be_type_ok(const char *type);

/*
 * Take the pid file's lock (kept while *@fd stays open).  Returns 0,
 * -EEXIST with a message naming the running daemon's pid, or -errno.
 */
int pvsd_pidfile_lock(const char *path, int *fd, char *msg, size_t len);
/* Record our pid in the locked file.  0 or -errno. */
int pvsd_pidfile_write(int fd);

struct pvsd_daemon;

struct pvsd_daemon_cfg {
	struct pvx_xs xs; /* not owned */
	const struct pvx_gnt_ops *gnt;
	void *gnt_ctx;
	const struct pvx_evt_ops *evt;
	void *evt_ctx;
	struct pvs_resolver resolver;
	const char *state_dir; /* ring journals; NULL: none */
	unsigned int max_segs;
	bool verbose;
	int64_t own_domid;        /* -1: from xenstore */
	const char *be_type;      /* backend/<type> to serve; NULL: vscsi */
	unsigned int poll_us;     /* adaptive polling (pvsd_xenbus_set_poll_us()); 0: off */
	unsigned int coalesce_us; /* pvsd_xenbus_set_coalesce_us(); 0: off */
	bool defer_kicks;         /* pvsd_xenbus_set_defer_kicks() */
	/*
	 * Event-loop threads for the rings; 0 or 1: the calling thread runs
	 * everything.  With N > 1 it keeps xenstore, signals and the control
	 * socket, and parks the loops between their passes whenever it acts;
	 * a loop's thread starts with the first vhost placed on it.
	 */
	unsigned int threads;
	/*
	 * Take SIGTERM and SIGINT (stop), SIGHUP (reopen the log file) through
	 * a signalfd; the caller must have blocked them in every thread.
	 */
	bool signals;
	unsigned int drain_timeout_ms; /* 0: PVSD_DRAIN_TIMEOUT_MS */
	/*
	 * The control socket (backend/ctl.h, docs/control.md); NULL: none.  A
	 * socket that cannot be made is logged and the daemon serves without.
	 */
	const char *control;
	/* Who may use it; NULL: root only (tests inject their own). */
	bool (*control_peer_ok)(void *arg, pid_t pid, uid_t uid, gid_t gid);
};

/* 0 or -errno (logged). */
int pvsd_daemon_new(const struct pvsd_daemon_cfg *cfg, struct pvsd_daemon **out);
/*
 * One turn of the loop: wait up to @timeout_ms (-1: until something
 * happens) and handle what is ready.  Returns 1 while running, 0 once a
 * stop finished (every request answered, or the drain timeout passed), or
 * -errno on a fatal error of the loop itself (the xenstore connection).
 */
int pvsd_daemon_iterate(struct pvsd_daemon *d, int timeout_ms);
/* Iterate until done; 0 or -errno. */
int pvsd_daemon_run(struct pvsd_daemon *d);
/* What SIGTERM does: stop taking requests, finish those in flight, then end. */
void pvsd_daemon_stop(struct pvsd_daemon *d);
struct pvsd_xenbus *pvsd_daemon_xenbus(struct pvsd_daemon *d);
struct pvs_worker *pvsd_daemon_worker(struct pvsd_daemon *d);
/* The control socket, NULL when there is none (tests). */
struct pctl *pvsd_daemon_control(struct pvsd_daemon *d);
void pvsd_daemon_free(struct pvsd_daemon *d);

#endif
