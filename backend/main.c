/*
 * main.c - pvscsid: the real xenstore, grant table and event channel ops
 * plugged into the daemon loop (backend/daemon.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "xengnt.h"
#include "xenevt.h"
#include "xs.h"

/*
 * Fork into the background.  The parent waits until the child reports
 * that it is serving (or why it is not), so that an init script or a shell
 * sees start-up failures in the exit status.  Returns the fd on which the
 * child reports, -1 in the foreground.
 */
static int daemonize(void)
{
	int p[2], null;
	pid_t pid;
	char st;

	if (pipe2(p, O_CLOEXEC) != 0) {
		plog(LOG_ERR, "pipe: %s", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0); /* the grandchild is no session leader: it never gets a tty */
	if (chdir("/") != 0)
		_exit(1);
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

static void report(int fd, char status)
{
	if (fd >= 0) {
		if (write(fd, &status, 1) != 1) {
			/* The parent is gone; nothing to tell. */
		}
		close(fd);
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
	sigset_t set;

	rc = pvsd_opts_parse(argc, argv, &o, stdout, stderr);
	if (rc)
		return rc > 0 ? 0 : 2;
	lc.verbose = o.verbose;
	lc.file = o.log_file;
	lc.to_syslog = o.to_syslog || (!o.foreground && !o.log_file);
	/* stderr only when nothing else was asked for (and it is still there). */
	lc.to_stderr = !o.log_file && !lc.to_syslog;
	rc = plog_open(&lc);
	if (rc) {
		fprintf(stderr, "pvscsid: log file %s: %s\n", o.log_file, strerror(-rc));
		return 1;
	}
	if (pvsd_check_scsiback(o.sysfs_root, msg, sizeof(msg)) != 0) {
		plog(LOG_ERR, "refusing to start: %s", msg);
		if (!o.foreground && !o.log_file)
			fprintf(stderr, "pvscsid: refusing to start: %s\n", msg);
		return 1;
	}
	rc = o.pid_file ? pvsd_pidfile_lock(o.pid_file, &pidfd, msg, sizeof(msg)) : 0;
	if (rc == -EEXIST) {
		plog(LOG_ERR, "refusing to start: %s", msg);
		if (!o.foreground && !o.log_file)
			fprintf(stderr, "pvscsid: refusing to start: %s\n", msg);
		return 1;
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
	if (!o.foreground)
		rfd = daemonize();
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
	dc.verbose = o.verbose;
	dc.own_domid = -1;
	dc.signals = true;
	dc.drain_timeout_ms = o.drain_timeout_ms;
	rc = pvsd_daemon_new(&dc, &d);
	if (rc)
		goto out;
	plog(LOG_NOTICE, "pvscsid started (pid %d)%s", (int)getpid(), o.verbose ? ", verbose" : "");
	report(rfd, 0);
	rfd = -1;
	rc = pvsd_daemon_run(d);
out:
	report(rfd, 1);
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
	plog(rc ? LOG_ERR : LOG_NOTICE, "pvscsid exiting%s", rc ? " after an error" : "");
	plog_close();
	return rc ? 1 : 0;
}
