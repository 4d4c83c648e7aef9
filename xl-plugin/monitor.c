/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor.c - a guest's SCSI devices come back after a reboot.
 *
 * Xen's xl handles a reboot (xl reboot, or the guest rebooting itself) in
 * the monitor process it leaves behind at creation: it reads the domain's
 * saved configuration (libxl_retrieve_domain_configuration), destroys the
 * domain, creates a new one from that configuration under the same name and
 * UUID, and unpauses it.  The saved configuration carries every attachment
 * in c_info.xsdata (saved.c), hot-attached ones included, but nothing
 * attaches them: Xen's xl knows no vscsi.
 *
 * So the front leaves a monitor of its own next to Xen's (docs/toolstack.md
 * has why it is per guest and not in pvscsid): `xl scsi-monitor DOMID`,
 * started after create, restore, migrate-receive, scsi-attach and
 * scsi-resolve, one per guest (a lock per UUID).  It watches
 * @introduceDomain and @releaseDomain and follows the guest by UUID.  When
 * the domain it follows is gone and another domain of the same UUID
 * appears, it
 *   - pauses it at once (pausing is counted by Xen, so xl's own unpause at
 *     the end of the creation leaves it paused),
 *   - waits for libxl to store the new domain's configuration (the last
 *     step of creation) and reads the saved devices from it,
 *   - under the host-wide lock resolves every identity on this host and
 *     attaches what is not attached yet (a front command that is setting
 *     the domain up itself, restore or migrate-receive, holds that lock, so
 *     the monitor then finds everything in place),
 *   - logs each device that cannot be found and goes on with the others;
 *     such a device stays in the saved configuration, so that
 *     xl scsi-resolve attaches it once it is back,
 *   - and unpauses the domain.
 * A domain named NAME--incoming is being received by migrate-receive, whose
 * front attaches its devices: the monitor waits until it has its real name.
 * When no domain of the UUID comes back within ctx->grace_ms (the guest was
 * shut down or destroyed, or saved), the monitor ends.
 *
 * Messages go to syslog and to xl's own log of the domain
 * (/var/log/xen/xl-NAME.log), where Xen's monitor writes about the reboot.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "xlp.h"

static const char incoming_suffix[] = "--incoming";

static bool uuid_is(struct xlp_ctx *c, uint32_t domid, const char *uuid)
{
	char u[64];

	return !xlp_domain_uuid(c, domid, u, sizeof(u)) && !strcmp(u, uuid);
}

static bool name_incoming(const char *name)
{
	size_t l = name ? strlen(name) : 0, s = strlen(incoming_suffix);

	return l > s && !strcmp(name + l - s, incoming_suffix);
}

int xlp_monitor_init(struct xlp_ctx *c, struct xlp_monitor *m, uint32_t domid)
{
	char *name;

	memset(m, 0, sizeof(*m));
	m->domid = domid;
	if (xlp_domain_uuid(c, domid, m->uuid, sizeof(m->uuid))) {
		xlp_errf(c, "domain %u has no UUID in xenstore (/local/domain/%u/vm)\n", domid,
		         domid);
		return -ENOENT;
	}
	name = xlp_domain_name(c, domid);
	xlp_snprintf(m->name, sizeof(m->name), "%s", name ? name : "?");
	free(name);
	return 0;
}

/* The v-dev of a saved device, from its spec. */
static int saved_vdev(const struct xlp_saved *s, struct pvs_hctl *vd)
{
	struct xlp_entry e;
	char err[XLP_ERR_MAX];

	if (xlp_entry_parse(s->spec, &e, err, sizeof(err)))
		return -EINVAL;
	*vd = e.vdev;
	return 0;
}

static bool vdev_attached(struct xlp_vhost *v, size_t nv, const struct pvs_hctl *vd)
{
	return xlp_vhosts_find(v, nv, vd, NULL, NULL);
}

/* Every saved device already has its v-dev in the backend (a front set the domain up). */
static bool all_attached(struct xlp_ctx *c, uint32_t domid, const struct xlp_saved_list *l)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	bool all = true;

	if (xlp_vhosts_read(c, domid, &v, &nv))
		return false;
	for (size_t i = 0; i < l->n && all; i++) {
		struct pvs_hctl vd;

		all = !saved_vdev(&l->v[i], &vd) && vdev_attached(v, nv, &vd);
	}
	xlp_vhosts_free(v, nv);
	return all;
}

struct wait_saved {
	uint32_t domid;
	struct xlp_saved_list *l;
};

/* libxl stores the configuration as the last step of creating the domain. */
static int saved_ready(struct xlp_ctx *c, void *arg)
{
	struct wait_saved *w = arg;
	int rc;

	if (!xlp_domain_exists(c, w->domid))
		return -ESRCH;
	rc = xlp_userdata_saved(c, w->domid, w->l);
	if (rc == -ENOENT)
		return 0;
	return rc ? rc : 1;
}

/*
 * Attach what @l lists and @domid lacks.  Devices that cannot be attached
 * are logged and kept in @now as they were saved; returns how many.
 */
static unsigned int attach_saved(struct xlp_ctx *c, uint32_t domid, const char *name,
                                 const char *who, const struct xlp_saved_list *l,
                                 struct xlp_saved_list *now, bool *placed)
{
	struct xlp_attach_opts o = {.no_wait = true, .no_saved = true};
	struct xlp_dev *d = calloc(1, sizeof(*d));
	char err[XLP_ERR_MAX], vd[48];
	unsigned int failed = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct xlp_saved *s = &l->v[i];
		struct xlp_vhost *v = NULL;
		size_t nv = 0;
		struct pvs_hctl h;
		uint32_t vhost;
		unsigned int n;
		bool there;

		now->v[now->n] = *s;
		placed[now->n] = false;
		if (!d || saved_vdev(s, &h)) {
			xlp_errf(
			    c,
			    "%s: saved device pvscsi/%u/dev-%u '%s' is not a valid entry; left "
			    "out\n",
			    who, s->vhost, s->n, s->spec);
			now->n++;
			failed++;
			continue;
		}
		xlp_hctl_str(&h, vd);
		there = !xlp_vhosts_read(c, domid, &v, &nv) && vdev_attached(v, nv, &h);
		xlp_vhosts_free(v, nv);
		if (there) {
			/* Attached by whoever set the domain up; its record stays as it is. */
			placed[now->n++] = true;
			continue;
		}
		if (xlp_saved_resolve(c, s, d, err, sizeof(err))) {
			xlp_errf(c,
			         "%s: v-dev %s NOT attached after the reboot: %s; it stays in the "
			         "saved configuration: 'xl scsi-resolve %s' attaches it once it is "
			         "back\n",
			         who, vd, err, name);
			now->n++;
			failed++;
			continue;
		}
		if (xlp_attach_dev(c, domid, d, &o, &vhost, &n)) {
			xlp_errf(c, "%s: v-dev %s NOT attached after the reboot (see above)\n", who,
			         vd);
			now->n++;
			failed++;
			continue;
		}
		xlp_saved_of_dev(d, vhost, n, &now->v[now->n]);
		if (s->pdev[0])
			memcpy(now->v[now->n].pdev, s->pdev, sizeof(now->v[now->n].pdev));
		placed[now->n++] = true;
		xlp_outf(c, "%s: v-dev %s attached again: p-dev %s (%s)\n", who, vd, d->p_dev,
		         d->p_devname);
	}
	free(d);
	return failed;
}

/* A new domain of the guest: its devices, before it runs. */
static void take_over(struct xlp_ctx *c, struct xlp_monitor *m, uint32_t domid)
{
	struct xlp_saved_list l = {0}, now = {0};
	struct wait_saved w = {domid, &l};
	bool paused = false, *placed = NULL;
	uint64_t ran_ns = 0;
	char who[320];
	unsigned int failed;
	int rc;

	xlp_snprintf(who, sizeof(who), "%s (id %u)", m->name, domid);
	/* Set up already (restored or received by the front): nothing to hold it for. */
	if (!xlp_userdata_saved(c, domid, &l) && all_attached(c, domid, &l)) {
		xlp_outf(c, "%s: the guest is domain %u now; its %zu SCSI devices are attached\n",
		         m->name, domid, l.n);
		xlp_saved_free(&l);
		return;
	}
	xlp_saved_free(&l);
	/* Xen's xl unpauses the domain as soon as libxl has built it. */
	if (c->pause_domain(c, domid, true, &ran_ns) == 0)
		paused = true;
	else
		xlp_errf(c,
		         "%s: warning: cannot pause it; its SCSI devices are attached while it "
		         "runs\n",
		         who);
	if (paused && ran_ns == 0)
		xlp_outf(c,
		         "%s: the guest came back as domain %u (held paused before it ran); "
		         "attaching its SCSI devices\n",
		         m->name, domid);
	else if (paused)
		xlp_outf(c,
		         "%s: the guest came back as domain %u (held paused after %llu ms of CPU "
		         "time: its devices arrive as a hot add); attaching its SCSI devices\n",
		         m->name, domid, (unsigned long long)(ran_ns / 1000000u));
	else
		xlp_outf(c, "%s: the guest came back as domain %u; attaching its SCSI devices\n",
		         m->name, domid);
	rc = xlp_wait(c, saved_ready, &w);
	if (rc == -ESRCH) {
		xlp_errf(c, "%s: the domain went away before its creation finished\n", who);
		goto out;
	}
	if (rc) {
		xlp_errf(c,
		         "%s: its saved configuration could not be read (%s); SCSI devices NOT "
		         "attached: run 'xl scsi-resolve %s'\n",
		         who, rc == -ETIMEDOUT ? "libxl did not store it in time" : strerror(-rc),
		         m->name);
		goto out;
	}
	if (l.n == 0) {
		xlp_outf(c, "%s: no SCSI devices in its saved configuration\n", who);
		goto out;
	}
	now.v = calloc(l.n, sizeof(*now.v));
	placed = calloc(l.n, sizeof(*placed));
	if (!now.v || !placed || xlp_lock(c)) {
		xlp_errf(c, "%s: SCSI devices NOT attached (out of memory or no lock)\n", who);
		goto out;
	}
	failed = attach_saved(c, domid, m->name, who, &l, &now, placed);
	if (xlp_domain_exists(c, domid)) {
		xlp_saved_renumber(&now, placed);
		rc = xlp_userdata_set_all(c, domid, &now);
		if (rc)
			xlp_errf(c, "%s: warning: its saved configuration was not updated: %s\n",
			         who, strerror(-rc));
	}
	xlp_unlock(c);
	if (failed)
		xlp_errf(c, "%s: %u of %zu SCSI devices NOT attached after the reboot\n", who,
		         failed, l.n);
	else
		xlp_outf(c, "%s: all %zu SCSI devices attached\n", who, l.n);
out:
	if (paused && c->pause_domain(c, domid, false, NULL) && xlp_domain_exists(c, domid))
		xlp_errf(c, "%s: cannot unpause it: the guest stays paused until 'xl unpause %u'\n",
		         who, domid);
	xlp_saved_free(&l);
	xlp_saved_free(&now);
	free(placed);
}

/*
 * The domain of @m's UUID, other than the one it followed: 1 and *@domid;
 * 2 when there is only one being received (--incoming); 0 when none.
 */
static int find_domain(struct xlp_ctx *c, const struct xlp_monitor *m, uint32_t *domid)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	int found = 0;

	if (xlp_domain_list(c, &ids, &n))
		return 0;
	for (size_t i = 0; i < n && found != 1; i++) {
		char *name;

		if (ids[i] == c->be_domid || !uuid_is(c, ids[i], m->uuid))
			continue;
		name = xlp_domain_name(c, ids[i]);
		if (name_incoming(name)) {
			found = 2;
		} else {
			*domid = ids[i];
			found = 1;
		}
		free(name);
	}
	free(ids);
	return found;
}

int xlp_monitor_step(struct xlp_ctx *c, struct xlp_monitor *m, unsigned int elapsed_ms)
{
	uint32_t domid = XLP_NO_DOMID;
	int f;

	if (m->domid != XLP_NO_DOMID) {
		if (uuid_is(c, m->domid, m->uuid)) {
			m->gone_ms = 0;
			return 1;
		}
		xlp_outf(c,
		         "%s: domain %u is gone; waiting up to %u s for the guest to come back\n",
		         m->name, m->domid, c->grace_ms / 1000);
		m->domid = XLP_NO_DOMID;
		m->gone_ms = 0;
		elapsed_ms = 0;
	}
	f = find_domain(c, m, &domid);
	if (f == 1) {
		m->domid = domid;
		m->gone_ms = 0;
		m->restarts++;
		take_over(c, m, domid);
		return 1;
	}
	if (f == 2) {
		/* Being migrated in: the receiving front attaches its devices. */
		m->gone_ms = 0;
		return 1;
	}
	m->gone_ms += elapsed_ms;
	if (m->gone_ms >= c->grace_ms) {
		xlp_outf(c, "%s: no domain of UUID %s within %u s; not following it any more\n",
		         m->name, m->uuid, c->grace_ms / 1000);
		return 0;
	}
	return 1;
}

int xlp_monitor_lock(struct xlp_ctx *c, const char *uuid)
{
	char path[XLP_PATH_MAX];
	int fd;

	/* Never unlinked (as lock.c): every monitor of this UUID locks the same inode. */
	xlp_snprintf(path, sizeof(path), "%s/pvscsi-monitor.%s.lock", c->run_dir, uuid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (errno == EINTR)
			continue;
		close(fd);
		return rc;
	}
	return fd;
}

static unsigned int now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned int)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/*
 * The kernel's device events, for the guest's groups (group.c): a socket
 * that reads nothing but them; -1 when it cannot be had (the monitor then
 * only follows reboots, and says so).
 */
static int uevent_open(struct xlp_ctx *c, const struct xlp_monitor *m)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int fd =
	    socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		xlp_errf(c,
		         "%s: warning: no kernel device events (%s): its groups of LUNs are not "
		         "kept up to date\n",
		         m->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Drain the events; true when one was about a SCSI device or its sg node. */
static bool uevent_scsi(int fd)
{
	char buf[8192];
	bool scsi = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		/* "ACTION@DEVPATH\0KEY=VALUE\0...": the subsystem is one of the keys. */
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			scsi |= !strcmp(buf + i, "SUBSYSTEM=scsi_device") ||
			        !strcmp(buf + i, "SUBSYSTEM=scsi_generic");
	}
	return scsi;
}

static void groups_follow(struct xlp_ctx *c, struct xlp_monitor *m)
{
	if (m->domid != XLP_NO_DOMID && xlp_domain_exists(c, m->domid))
		xlp_groups_reconcile(c, m->domid);
}

int xlp_monitor_run(struct xlp_ctx *c, struct xlp_monitor *m)
{
	static const char token[] = "pvscsi-monitor";
	unsigned int last = now_ms();
	int rc, ufd;

	rc = c->xs.ops->watch(c->xs.ctx, XSN_INTRODUCE_DOMAIN, token);
	if (!rc)
		rc = c->xs.ops->watch(c->xs.ctx, XSN_RELEASE_DOMAIN, token);
	if (rc) {
		xlp_errf(c, "%s: cannot watch xenstore: %s\n", m->name, strerror(-rc));
		return rc;
	}
	ufd = uevent_open(c, m);
	for (;;) {
		struct pollfd pf[2] = {{.fd = c->xs.ops->fileno(c->xs.ctx), .events = POLLIN},
		                       {.fd = ufd, .events = POLLIN}};
		char *path, *tok;
		unsigned int t;

		while ((rc = c->xs.ops->read_watch(c->xs.ctx, &path, &tok)) > 0) {
			free(path);
			free(tok);
		}
		if (rc < 0) {
			xlp_errf(c, "%s: lost xenstore: %s\n", m->name, strerror(-rc));
			return rc;
		}
		t = now_ms();
		rc = xlp_monitor_step(c, m, t - last);
		last = t;
		if (rc <= 0)
			break;
		groups_follow(c, m);
		/* Between two domains, count the time even if nothing happens. */
		if (poll(pf, ufd >= 0 ? 2 : 1, m->domid == XLP_NO_DOMID ? 1000 : 60000) < 0 &&
		    errno != EINTR) {
			rc = -errno;
			xlp_errf(c, "%s: poll: %s\n", m->name, strerror(-rc));
			break;
		}
		if (ufd >= 0 && (pf[1].revents & POLLIN) && uevent_scsi(ufd))
			groups_follow(c, m);
	}
	if (ufd >= 0)
		close(ufd);
	return rc;
}

void xlp_monitor_ensure(struct xlp_ctx *c, uint32_t domid)
{
	char uuid[64];
	int rc;

	if (c->dry_run)
		return;
	/*
	 * libvirt keeps its domain XML in libxl's userdata: it re-creates a
	 * rebooted domain itself, through its hooks (docs/libvirt.md), and a
	 * monitor would pause that new domain and attach a second time.
	 */
	if (!xlp_domain_uuid(c, domid, uuid, sizeof(uuid))) {
		char p[XLP_PATH_MAX];

		xlp_userdata_path(c, domid, uuid, "d", "libvirt-xml", p, sizeof(p));
		if (!access(p, F_OK))
			return;
	}
	rc = c->spawn_monitor(c, domid);
	if (rc)
		xlp_errf(c,
		         "warning: no reboot monitor for domain %u (%s): after a reboot its SCSI "
		         "devices come back only with 'xl scsi-resolve'\n",
		         domid, strerror(-rc));
}

int xlp_spawn_monitor_real(struct xlp_ctx *c, uint32_t domid)
{
	char self[PATH_MAX], id[16];
	char *argv[] = {(char *)c->argv0, "scsi-monitor", id, NULL};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status;
	pid_t pid;

	if (n <= 0)
		return -errno;
	self[n] = '\0';
	xlp_snprintf(id, sizeof(id), "%u", domid);
	fflush(c->out);
	fflush(c->err);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(self, argv);
		_exit(127);
	}
	/* It detaches itself and returns at once. */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* --------------------------------------------------------- log sinks */

/*
 * A stream whose lines go to syslog and to xl's log of the domain, so that
 * every existing message of the attach code reaches the administrator.
 */
struct sink {
	int prio;
	bool to_stderr;
	char path[XLP_PATH_MAX];
	char line[2048];
	size_t n;
};

static void sink_emit(struct sink *s)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int fd;

	s->line[s->n] = '\0';
	s->n = 0;
	syslog(s->prio, "%s", s->line);
	if (!localtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm))
		stamp[0] = '\0';
	fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s xl-pvscsi[%d]: %s\n", stamp, (int)getpid(), s->line);
		close(fd);
	}
	if (s->to_stderr)
		fprintf(stderr, "%s\n", s->line);
}

static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct sink *s = cookie;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || s->n == sizeof(s->line) - 1)
			sink_emit(s);
		if (buf[i] != '\n')
			s->line[s->n++] = buf[i];
	}
	return (ssize_t)len;
}

static int sink_close(void *cookie)
{
	struct sink *s = cookie;

	if (s->n)
		sink_emit(s);
	free(s);
	return 0;
}

FILE *xlp_log_open(struct xlp_ctx *c, const char *name, int prio, bool to_stderr)
{
	cookie_io_functions_t io = {.write = sink_write, .close = sink_close};
	struct sink *s = calloc(1, sizeof(*s));
	FILE *f;

	if (!s)
		return NULL;
	s->prio = prio;
	s->to_stderr = to_stderr;
	xlp_snprintf(s->path, sizeof(s->path), "%s/xl-%s.log", c->xen_log_dir, name);
	f = fopencookie(s, "w", io);
	if (!f) {
		free(s);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* ----------------------------------------------------------- the verb */

static void monitor_usage(FILE *f)
{
	fprintf(f, "Usage: xl scsi-monitor [-F] <Domain>\n"
	           "  Follow the domain through reboots (Xen's xl re-creates it as a new domain)\n"
	           "  and attach its saved SCSI devices to each new domain before it runs.\n"
	           "  The front starts it itself; -F stays in the foreground.\n");
}

/* Detach from the caller: it gets its exit status at once. */
static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0) {
		int st;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return 1;
	}
	setsid();
	pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 1 : 0);
	if (chdir("/"))
		_exit(1);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* An ssh stream (migrate-receive) or a pipe must not stay open in here. */
	for (int i = 3; i < 1024; i++)
		close(i);
	return 0;
}

int xlp_cmd_monitor(struct xlp_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {{"help", 0, 0, 'h'}, {0}};
	struct xlp_monitor m;
	bool fg = false;
	uint32_t domid;
	FILE *out, *err;
	int opt, rc, lockfd = -EBUSY;

	c->prefix = "scsi-monitor: ";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+Fh", lo, NULL)) != -1) {
		switch (opt) {
		case 'F':
			fg = true;
			break;
		case 'h':
			monitor_usage(c->out);
			return 0;
		default:
			monitor_usage(c->err);
			return 2;
		}
	}
	if (argc - optind != 1) {
		monitor_usage(c->err);
		return 2;
	}
	if (xlp_connect_domain(c, argv[optind], &domid))
		return 1;
	if (xlp_monitor_init(c, &m, domid))
		return 1;
	if (!fg) {
		/* A fresh connection in the daemon: libxenstore's state does not survive fork. */
		c->xs.ops->close(c->xs.ctx);
		c->xs_open = false;
		rc = daemonize();
		if (rc)
			return rc > 0 ? 0 : 1;
	}
	/* A monitor that is just ending may hold it a moment longer. */
	for (int i = 0; i < 3 && lockfd == -EBUSY; i++) {
		lockfd = xlp_monitor_lock(c, m.uuid);
		if (lockfd == -EBUSY)
			sleep(1);
	}
	if (lockfd < 0) {
		if (lockfd != -EBUSY || fg)
			xlp_errf(c, "%s: %s\n", m.name,
			         lockfd == -EBUSY ? "another monitor follows this guest"
			                          : strerror(-lockfd));
		return lockfd == -EBUSY ? 0 : 1;
	}
	openlog("xl-pvscsi", LOG_PID, LOG_DAEMON);
	out = xlp_log_open(c, m.name, LOG_INFO, fg);
	err = xlp_log_open(c, m.name, LOG_ERR, fg);
	if (!out || !err) {
		if (out)
			fclose(out);
		if (err)
			fclose(err);
		close(lockfd);
		return 1;
	}
	c->out = out;
	c->err = err;
	c->prefix = NULL;
	rc = xlp_ctx_connect(c);
	if (!rc) {
		xlp_outf(c, "%s: following domain %u (UUID %s) through reboots\n", m.name, m.domid,
		         m.uuid);
		rc = xlp_monitor_run(c, &m);
	}
	xlp_ctx_fini(c);
	c->out = stdout;
	c->err = stderr;
	fclose(out);
	fclose(err);
	closelog();
	close(lockfd);
	return rc < 0 ? 1 : 0;
}
