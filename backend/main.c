/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - pvscsid: the real xenstore, grant table and event channel ops
 * plugged into the daemon loop (backend/daemon.c), the log's destinations,
 * daemonizing, and telling systemd (sd_notify) when it serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "xengnt.h"
#include "xenevt.h"
#include "xs.h"
#include "xs_nodes.h"

/*
 * The first error logged before the daemon serves: what the one line on
 * stderr says when start-up fails.  Later errors are consequences.
 */
static char first_err[512];

static void catch_error(void *arg, int prio, const char *line)
{
	(void)arg;
	if (prio <= LOG_ERR && !first_err[0])
		snprintf(first_err, sizeof(first_err), "%s", line);
}

/*
 * The parent of a daemonizing start: wait until the daemon reports that it
 * serves (a status byte 0) or why it does not (a status byte and its error
 * line), so that a shell or an init script sees start-up failures in the
 * exit status and on stderr.  Never returns.
 */
static void await_daemon(int fd, pid_t child)
{
	char buf[1 + sizeof(first_err)];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(buf) - 1) {
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the daemon reported, or died */
		got += (size_t)n;
	}
	buf[got] = '\0';
	/* The intermediate child exits at once; do not leave it a zombie. */
	waitpid(child, NULL, 0);
	if (got == 0) {
		fprintf(stderr, "pvscsid: the daemon ended during start-up without saying why "
		                "(see the log)\n");
		_exit(1);
	}
	if (buf[0] != 0)
		fprintf(stderr, "pvscsid: %s\n",
		        buf[1] ? buf + 1 : "start-up failed (see the log)");
	_exit((unsigned char)buf[0]);
}

/* The daemon's side: status 0 (serving), or 1 and the reason.  @fd is closed. */
static void report(int fd, char status, const char *why)
{
	char buf[1 + sizeof(first_err)];
	size_t len;

	if (fd < 0)
		return;
	buf[0] = status;
	len = 1 + (size_t)snprintf(buf + 1, sizeof(buf) - 1, "%s", status ? why : "");
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	if (write(fd, buf, len) != (ssize_t)len) {
		/* The parent is gone; nothing to tell. */
	}
	close(fd);
}

/*
 * Fork into the background; the parent waits in await_daemon().  Returns
 * the fd on which the daemon reports its start-up.
 */
static int daemonize(void)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		plog(LOG_ERR, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		await_daemon(p[0], pid);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0) {
		char why[128];

		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		report(p[1], 1, why);
		_exit(1);
	}
	if (pid > 0)
		_exit(0); /* the grandchild is no session leader: it never gets a tty */
	if (chdir("/") != 0) {
		report(p[1], 1, "chdir /: failed");
		_exit(1);
	}
	umask(022);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return p[1];
}

/*
 * Start-up failed: one line saying why for whoever started us (the parent
 * that waits in await_daemon(), or stderr when the log does not reach it),
 * and for systemctl status.  @fd: the report pipe, -1 when not daemonized.
 */
static void startup_failed(int fd)
{
	const char *why = first_err[0] ? first_err : "start-up failed (see the log)";

	sd_notifyf(0, "STATUS=%s", why);
	if (fd >= 0)
		report(fd, 1, why);
	else if (!plog_on_stderr())
		fprintf(stderr, "pvscsid: %s\n", why);
}

/* Where the log goes: --log-target, --log-file and whether we daemonize. */
static void log_destinations(const struct pvsd_opts *o, struct plog_cfg *lc)
{
	switch (o->log_target) {
	case PLOG_TARGET_AUTO:
		if (o->log_file)
			break; /* the file alone, as asked */
		if (!o->foreground)
			lc->to_syslog = true;
		else if (plog_journal_stream(STDERR_FILENO))
			lc->to_journal = true; /* systemd: the same place, with fields */
		else
			lc->to_stderr = true;
		break;
	case PLOG_TARGET_STDERR:
		lc->to_stderr = true;
		break;
	case PLOG_TARGET_SYSLOG:
		lc->to_syslog = true;
		break;
	case PLOG_TARGET_JOURNAL:
		lc->to_journal = true;
		break;
	}
}

int main(int argc, char **argv)
{
	struct plog_cfg lc = {.ident = "pvscsid", .stamp = true};
	struct pvsd_daemon_cfg dc = {0};
	struct pvx_gnt_real *gnt = NULL;
	struct pvsd_daemon *d = NULL;
	struct pvsd_opts o;
	struct pvx_xs xs = {0};
	char msg[512];
	int pidfd = -1, rfd = -1, rc;
	bool ready = false;
	sigset_t set;

	rc = pvsd_opts_parse(argc, argv, &o, stdout, stderr);
	if (rc)
		return rc > 0 ? 0 : 2;
	lc.verbose = o.verbose;
	lc.file = o.log_file;
	log_destinations(&o, &lc);
	rc = plog_open(&lc);
	if (rc) {
		fprintf(stderr, "pvscsid: log file %s: %s\n", o.log_file, strerror(-rc));
		return 1;
	}
	plog_set_hook(catch_error, NULL);
	rc = 1;
	/* Another backend type leaves backend/vscsi to xen-scsiback. */
	if ((!o.be_type || !strcmp(o.be_type, XSN_BACKEND_TYPE)) &&
	    pvsd_check_scsiback(o.sysfs_root, msg, sizeof(msg)) != 0) {
		plog(LOG_ERR, "refusing to start: %s", msg);
		goto out;
	}
	rc = o.pid_file ? pvsd_pidfile_lock(o.pid_file, &pidfd, msg, sizeof(msg)) : 0;
	if (rc == -EEXIST) {
		plog(LOG_ERR, "refusing to start: %s", msg);
		goto out;
	}
	/* No place for the lock (a minimal dom0 without /run): run, but say so. */
	if (rc)
		plog(LOG_WARNING, "%s; running without the single-instance lock", msg);
	if (o.state_dir && mkdir(o.state_dir, 0700) < 0 && errno != EEXIST) {
		/* Service goes on; only a restart's guarantee is lost. */
		plog(LOG_WARNING, "state directory %s: %s; running without ring journals",
		     o.state_dir, strerror(errno));
		o.state_dir = NULL;
	}
	if (o.control) {
		/* Its directory is the state directory by default; otherwise made here, root's. */
		char dir[PATH_MAX];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", o.control);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				plog(LOG_WARNING, "control socket directory %s: %s", dir,
				     strerror(errno));
		}
	}
	if (!o.foreground) {
		rfd = daemonize();
		if (rfd < 0) {
			rc = 1;
			goto out;
		}
	}
	if (pidfd >= 0 && (rc = pvsd_pidfile_write(pidfd)) != 0)
		plog(LOG_WARNING, "writing pid file %s: %s", o.pid_file, strerror(-rc));

	/* Before any thread exists (libxenstore's reader, io_uring workers). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = pvx_xs_open_real(&xs);
	if (rc) {
		plog(LOG_ERR,
		     "cannot open xenstore: %s (is xenstored running, /proc/xen "
		     "mounted?)",
		     strerror(-rc));
		goto out;
	}
	rc = pvx_gnt_real_open(&gnt);
	if (rc) {
		plog(LOG_ERR, "cannot open /dev/xen/gntdev: %s (modprobe xen-gntdev)",
		     strerror(-rc));
		goto out;
	}
	dc.xs = xs;
	dc.gnt = &pvx_gnt_real_ops;
	dc.gnt_ctx = gnt;
	dc.evt = &pvx_evt_real_ops;
	dc.evt_ctx = NULL;
	dc.resolver.sysfs_root = o.sysfs_root;
	dc.resolver.dev_root = o.dev_root;
	dc.state_dir = o.state_dir;
	dc.max_segs = o.max_segs;
	dc.poll_us = o.poll_us;
	dc.coalesce_us = o.coalesce_us;
	dc.defer_kicks = !o.no_defer_kicks;
	dc.threads = o.threads ? o.threads : pvsd_default_threads();
	dc.be_type = o.be_type;
	dc.verbose = o.verbose;
	dc.own_domid = -1;
	dc.signals = true;
	dc.drain_timeout_ms = o.drain_timeout_ms;
	dc.control = o.control;
	rc = pvsd_daemon_new(&dc, &d);
	if (rc)
		goto out;
	plog(LOG_NOTICE, "pvscsid %s started (pid %d)%s", PVSCSI_VERSION, (int)getpid(),
	     o.verbose ? ", verbose" : "");
	plog_set_hook(NULL, NULL);
	ready = true;
	report(rfd, 0, NULL);
	rfd = -1;
	sd_notifyf(0, "READY=1\nSTATUS=serving %s", pvsd_xenbus_base(pvsd_daemon_xenbus(d)));
	rc = pvsd_daemon_run(d);
out:
	plog_set_hook(NULL, NULL);
	pvsd_daemon_free(d);
	if (gnt)
		pvx_gnt_real_close(gnt);
	if (xs.ops)
		xs.ops->close(xs.ctx);
	if (pidfd >= 0) {
		if (o.pid_file)
			unlink(o.pid_file);
		close(pidfd);
	}
	/* Only now: whoever retries at once must not find our lock still held. */
	if (!ready)
		startup_failed(rfd);
	plog(rc ? LOG_ERR : LOG_NOTICE, "pvscsid exiting%s", rc ? " after an error" : "");
	plog_close();
	return rc ? 1 : 0;
}
