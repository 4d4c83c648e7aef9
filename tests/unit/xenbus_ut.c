/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenbus_ut.c - the backend's xenstore state machine (backend/xenbus.c) on
 * the fake xenstore, with real rings (backend/ring.c) on the fake grant
 * table, event channel and frontend, and real LUNs on a real worker.
 *
 * The test plays the toolstack (domain 0 writing the backend and frontend
 * directories as xen-under-qemu.md does) and the guest (its domain id
 * writing its own frontend nodes the way xen-scsifront does).
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_evtchn.h"
#include "fake_front.h"
#include "fake_gnt.h"
#include "fake_sg.h"
#include "fake_sysfs.h"
#include "fake_xs.h"
#include "log.h"
#include "passthrough.h"
#include "ring.h"
#include "ring_harness.h"
#include "xenbus.h"

#define BE   "/local/domain/0/backend/vscsi"
#define MAXG 8

/* ---- log capture ---- */

static char logbuf[512][300];
static unsigned int nlog;

static void log_hook(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	if (nlog < 512)
		snprintf(logbuf[nlog++], sizeof(logbuf[0]), "%s", line);
}

static bool log_has(const char *needle)
{
	for (unsigned int i = 0; i < nlog && i < 512; i++)
		if (strstr(logbuf[i], needle))
			return true;
	return false;
}

static void log_dump(void)
{
	for (unsigned int i = 0; i < nlog && i < 512; i++)
		fprintf(stderr, "  log: %s\n", logbuf[i]);
}

/* ---- environment ---- */

struct guest {
	uint32_t domid, vhost;
	char be[96], fe[96];
	struct fake_front f;
	bool f_init;
};

struct env {
	struct fake_xs *fx;
	struct fake_xs_conn *conn;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvs_worker *w;
	struct pvs_worker *w2; /* a second event loop's (env_init2()); NULL: one loop */
	struct pvsd_xb_loop loops[2];
	struct pvsd_xenbus *xb;
	struct pvsd_xenbus_cfg cfg;
	struct {
		int fd;
		void *cookie;
	} fds[16];
	unsigned int nfds;
	char dir[64];
	const char *sys_root, *dev_root; /* the resolver's; NULL: the empty dir */
	const char *be_type;             /* the daemon's --backend-type; NULL: vscsi */
	const char *be_root;             /* where toolstack_add writes; NULL: BE */
	bool no_wait_opens;              /* env_run() leaves p-devs opening on their threads */
	unsigned int move_timeout_ms;    /* pvsd_xenbus_cfg's; 0: the daemon's 30 s */
	struct guest g[MAXG];
};

static int fd_add(void *arg, int fd, void *cookie)
{
	struct env *e = arg;

	if (e->nfds == 16)
		return -ENOSPC;
	e->fds[e->nfds].fd = fd;
	e->fds[e->nfds].cookie = cookie;
	e->nfds++;
	return 0;
}

static void fd_del(void *arg, int fd)
{
	struct env *e = arg;

	for (unsigned int i = 0; i < e->nfds; i++) {
		if (e->fds[i].fd == fd) {
			e->fds[i] = e->fds[--e->nfds];
			return;
		}
	}
}

static int xb_start(struct env *e)
{
	struct pvx_xs xs;

	e->conn = fake_xs_connect(e->fx, 0);
	if (!e->conn)
		return -ENOMEM;
	fake_xs_pvsd(e->conn, &xs);
	memset(&e->cfg, 0, sizeof(e->cfg));
	e->cfg.xs = xs;
	e->cfg.gnt = &fake_gnt_ops;
	e->cfg.gnt_ctx = e->gnt;
	e->cfg.evt = &fake_evt_ops;
	e->cfg.evt_ctx = e->evt;
	e->cfg.worker = e->w;
	/* By default an empty directory: nothing resolves. */
	e->cfg.resolver.sysfs_root = e->sys_root ? e->sys_root : e->dir;
	e->cfg.resolver.dev_root = e->dev_root ? e->dev_root : e->dir;
	e->cfg.own_domid = -1;
	e->cfg.be_type = e->be_type;
	e->cfg.move_timeout_ms = e->move_timeout_ms;
	e->cfg.fd_add = fd_add;
	e->cfg.fd_del = fd_del;
	e->cfg.fd_arg = e;
	if (e->w2) {
		/* Both loops' rings in the one fd list: the test runs them on one thread. */
		for (unsigned int i = 0; i < 2; i++)
			e->loops[i] = (struct pvsd_xb_loop){.worker = i ? e->w2 : e->w,
			                                    .fd_add = fd_add,
			                                    .fd_del = fd_del,
			                                    .fd_arg = e};
		e->cfg.nloops = 2;
		e->cfg.loops = e->loops;
	}
	e->nfds = 0;
	return pvsd_xenbus_start(&e->cfg, &e->xb);
}

static void env_init(struct env *e)
{
	struct plog_cfg lc = {.ident = "pvscsid",
	                      .stamp = true,
	                      .to_stderr = getenv("XB_LOG") != NULL,
	                      .verbose = true};

	memset(e, 0, sizeof(*e));
	nlog = 0;
	CU_ASSERT_FATAL(plog_open(&lc) == 0);
	plog_set_hook(log_hook, NULL);
	e->fx = fake_xs_new();
	e->gnt = fake_gnt_new();
	e->evt = fake_evt_new();
	CU_ASSERT_FATAL(e->fx && e->gnt && e->evt);
	CU_ASSERT_FATAL(pvs_worker_new(64, &e->w) == 0);
	snprintf(e->dir, sizeof(e->dir), "/tmp/xenbus_ut.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(e->dir) != NULL);
	CU_ASSERT_FATAL(xb_start(e) == 0);
}

/* env_init() with two event loops (pvscsid --threads 2), both run by the test. */
static void env_init2(struct env *e)
{
	env_init(e);
	pvsd_xenbus_free(e->xb);
	e->cfg.xs.ops->close(e->cfg.xs.ctx);
	CU_ASSERT_FATAL(pvs_worker_new(64, &e->w2) == 0);
	CU_ASSERT_FATAL(xb_start(e) == 0);
}

static unsigned int env_inflight(struct env *e)
{
	struct pvsd_xenbus_stats st;

	pvsd_xenbus_get_stats(e->xb, &st);
	return st.inflight;
}

/* One round of the daemon's loop, without waiting. */
static bool env_step(struct env *e)
{
	bool progress = false;

	if (fake_xs_pending(e->conn)) {
		pvsd_xenbus_handle_xs(e->xb);
		progress = true;
	}
	for (unsigned int i = 0; i < e->nfds; i++) {
		struct pollfd p = {.fd = e->fds[i].fd, .events = POLLIN};

		if (poll(&p, 1, 0) == 1) {
			pvsd_xenbus_handle_ring(e->xb, e->fds[i].cookie);
			progress = true;
			break; /* handling may have changed the fd list */
		}
	}
	if (pvsd_xenbus_pending(e->xb)) {
		pvsd_xenbus_run_pending(e->xb);
		progress = true;
	}
	if (pvs_worker_poll(e->w) > 0)
		progress = true;
	if (e->w2 && pvs_worker_poll(e->w2) > 0)
		progress = true;
	pvsd_xenbus_after_poll(e->xb);
	return progress;
}

/* The daemon stops (as on SIGTERM) and a new one starts on the same store. */
static void xb_stop(struct env *e)
{
	pvsd_xenbus_shutdown(e->xb);
	for (int i = 0; i < 200 && !pvsd_xenbus_idle(e->xb); i++) {
		pvs_worker_wait(e->w, 20);
		pvsd_xenbus_after_poll(e->xb);
	}
	pvsd_xenbus_free(e->xb);
	e->xb = NULL;
	e->cfg.xs.ops->close(e->cfg.xs.ctx);
	e->conn = NULL;
}

/* Run until nothing moves and nothing is in flight. */
static void env_run(struct env *e)
{
	for (int i = 0; i < 2000; i++) {
		struct pvsd_xenbus_stats st;

		if (env_step(e))
			continue;
		pvsd_xenbus_get_stats(e->xb, &st);
		/* An iscsi:// or rbd: p-dev opening on its thread ends too, unless told. */
		if (st.inflight == 0 && (st.opening == 0 || e->no_wait_opens))
			break;
		pvs_worker_wait(e->w, e->w2 ? 5 : 50);
		if (e->w2)
			pvs_worker_wait(e->w2, 5);
	}
}

/* Only xenstore: rings and the worker are left alone (requests stay in flight). */
static void env_xs_only(struct env *e)
{
	for (int i = 0; i < 100 && fake_xs_pending(e->conn); i++)
		pvsd_xenbus_handle_xs(e->xb);
}

static void env_fini(struct env *e)
{
	env_run(e);
	pvsd_xenbus_shutdown(e->xb);
	for (int i = 0; i < 200 && !pvsd_xenbus_idle(e->xb); i++) {
		pvs_worker_wait(e->w, 20);
		if (e->w2)
			pvs_worker_wait(e->w2, 20);
		pvsd_xenbus_after_poll(e->xb);
	}
	pvsd_xenbus_free(e->xb);
	pvs_worker_free(e->w2);
	for (unsigned int i = 0; i < MAXG; i++)
		if (e->g[i].f_init)
			fake_front_fini(&e->g[i].f);
	fake_xs_free(e->fx);
	pvs_worker_free(e->w);
	fake_evt_free(e->evt);
	fake_gnt_free(e->gnt);
	plog_set_hook(NULL, NULL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
		CU_ASSERT(system(cmd) == 0);
	}
}

static const char *bget(struct env *e, struct guest *g, const char *rel)
{
	char path[256];
	const char *v;

	snprintf(path, sizeof(path), "%s/%s", g->be, rel);
	v = fake_xs_get(e->fx, path);
	return v ? v : "(none)";
}

static const char *bhist(struct env *e, struct guest *g, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", g->be, rel);
	return fake_xs_history(e->fx, path);
}

static void bset(struct env *e, struct guest *g, const char *rel, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", g->be, rel);
	CU_ASSERT_EQUAL(fake_xs_write(e->fx, 0, path, "%s", val), 0);
}

/* The guest writes its own node. */
static int fset(struct env *e, struct guest *g, const char *rel, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", g->fe, rel);
	return fake_xs_write(e->fx, g->domid, path, "%s", val);
}

/* A file of @mb MiB in the test directory; its path into @out. */
static void mkfile(struct env *e, const char *name, unsigned int mb, char *out, size_t len)
{
	int fd;

	snprintf(out, len, "%s/%s", e->dir, name);
	fd = open(out, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)mb << 20) == 0);
	close(fd);
}

/* A 4 MiB file @name in the test's directory, as the p-dev "file:PATH" in @spec. */
static void mkfile_spec(struct env *e, const char *name, char *spec, size_t len)
{
	char path[PATH_MAX];

	mkfile(e, name, 4, path, sizeof(path));
	snprintf(spec, len, "file:%s", path);
}

/*
 * The toolstack attaches vhost @vhost to @domid with @ndev devices, in the
 * order and with the permissions of xen-under-qemu.md.  pdev[i]/vdev[i].
 */
static struct guest *toolstack_add(struct env *e, unsigned int slot, uint32_t domid, uint32_t vhost,
                                   const char *const *pdev, const char *const *vdev,
                                   unsigned int ndev)
{
	struct guest *g = &e->g[slot];
	char path[256], perm[32];

	g->domid = domid;
	g->vhost = vhost;
	snprintf(g->be, sizeof(g->be), "%s/%u/%u", e->be_root ? e->be_root : BE, domid, vhost);
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/vscsi/%u", domid, vhost);
	bset(e, g, "frontend", g->fe);
	snprintf(perm, sizeof(perm), "%u", domid);
	bset(e, g, "frontend-id", perm);
	bset(e, g, "online", "1");
	bset(e, g, "state", "1");
	bset(e, g, "feature-host", "0");
	for (unsigned int i = 0; i < ndev; i++) {
		snprintf(path, sizeof(path), "vscsi-devs/dev-%u/p-dev", i);
		bset(e, g, path, pdev[i]);
		snprintf(path, sizeof(path), "vscsi-devs/dev-%u/v-dev", i);
		bset(e, g, path, vdev[i]);
		snprintf(path, sizeof(path), "vscsi-devs/dev-%u/state", i);
		bset(e, g, path, "1");
	}
	snprintf(path, sizeof(path), "%s/backend", g->fe);
	CU_ASSERT_EQUAL(fake_xs_write(e->fx, 0, path, "%s", g->be), 0);
	snprintf(path, sizeof(path), "%s/backend-id", g->fe);
	CU_ASSERT_EQUAL(fake_xs_write(e->fx, 0, path, "0"), 0);
	snprintf(path, sizeof(path), "%s/state", g->fe);
	CU_ASSERT_EQUAL(fake_xs_write(e->fx, 0, path, "1"), 0);
	snprintf(perm, sizeof(perm), "n0 r%u", domid);
	CU_ASSERT_EQUAL(fake_xs_chmod(e->fx, g->be, perm, true), 0);
	snprintf(perm, sizeof(perm), "n%u r0", domid);
	CU_ASSERT_EQUAL(fake_xs_chmod(e->fx, g->fe, perm, true), 0);
	return g;
}

/* xen-scsifront's probe: ring, event channel, ring-ref and event-channel in a transaction, 3. */
static void front_connect(struct env *e, struct guest *g)
{
	char v[16];

	CU_ASSERT_FATAL(fake_front_init(&g->f, e->gnt, e->evt, (uint16_t)g->domid) == 0);
	g->f_init = true;
	snprintf(v, sizeof(v), "%u", g->f.ring_ref);
	CU_ASSERT_EQUAL(fset(e, g, "ring-ref", v), 0);
	snprintf(v, sizeof(v), "%u", g->f.port);
	CU_ASSERT_EQUAL(fset(e, g, "event-channel", v), 0);
	CU_ASSERT_EQUAL(fset(e, g, "state", "3"), 0);
}

/* The whole connect handshake, the frontend answering like xen-scsifront. */
static struct guest *attach(struct env *e, unsigned int slot, uint32_t domid, uint32_t vhost,
                            const char *const *pdev, const char *const *vdev, unsigned int ndev)
{
	struct guest *g = toolstack_add(e, slot, domid, vhost, pdev, vdev, ndev);

	env_run(e);
	front_connect(e, g);
	env_run(e);
	CU_ASSERT_EQUAL(fset(e, g, "state", "4"), 0);
	env_run(e);
	return g;
}

static int inquiry(struct env *e, struct guest *g, uint16_t chn, uint16_t tgt, uint16_t lun,
                   uint8_t *pq)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	int rc;

	rh_inquiry(&c, buf, 96, 96);
	c.channel = chn;
	c.id = tgt;
	c.lun = lun;
	rc = fake_front_queue(&g->f, &c);
	if (rc < 0) {
		free(buf);
		return -1000;
	}
	fake_front_push(&g->f);
	env_run(e);
	if (fake_front_response(&g->f, &rsp) != 1) {
		free(buf);
		return -1001;
	}
	if (pq)
		*pq = buf[0];
	free(buf);
	return rsp.rslt;
}

static struct pvsd_xenbus_stats stats(struct env *e)
{
	struct pvsd_xenbus_stats st;

	pvsd_xenbus_get_stats(e->xb, &st);
	return st;
}

static unsigned int mapped_rings(struct env *e)
{
	struct fake_gnt_stats gs;

	fake_gnt_get_stats(e->gnt, &gs);
	return gs.mapped;
}

/* ---- fake_xs itself ---- */

static void test_fake_xs_perms_watches(void)
{
	struct fake_xs *fx = fake_xs_new();
	struct fake_xs_conn *c0 = fake_xs_connect(fx, 0), *c5 = fake_xs_connect(fx, 5);
	struct pvx_xs x0, x5;
	char *p, *t, buf[64];
	unsigned int n;
	char **dir;

	fake_xs_pvsd(c0, &x0);
	fake_xs_pvsd(c5, &x5);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/be/a/b", "v1"), 0);
	CU_ASSERT_EQUAL(fake_xs_chmod(fx, "/be", "n0 r5", true), 0);
	CU_ASSERT_EQUAL(fake_xs_perms_str(fx, "/be/a/b", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "n0,r5");
	/* Domain 5 reads but cannot write; a third domain cannot even read. */
	p = x5.ops->read(x5.ctx, 0, "/be/a/b", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p, "v1");
	free(p);
	CU_ASSERT_EQUAL(x5.ops->write(x5.ctx, 0, "/be/a/b", "x", 1), -EACCES);
	CU_ASSERT_EQUAL(x5.ops->write(x5.ctx, 0, "/be/a/c", "x", 1), -EACCES);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 6, "/be/a/b", "x"), -EACCES);
	/* A node an unprivileged domain creates is its own. */
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/fe", "%s", ""), 0);
	CU_ASSERT_EQUAL(fake_xs_chmod(fx, "/fe", "n5 r0", false), 0);
	CU_ASSERT_EQUAL(x5.ops->write(x5.ctx, 0, "/fe/x/y", "1", 1), 0);
	CU_ASSERT_EQUAL(fake_xs_perms_str(fx, "/fe/x/y", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "n5,r0");

	/* Watches: one event on registration, then per change at or below. */
	CU_ASSERT_EQUAL(x0.ops->watch(x0.ctx, "/be/a", "tok"), 0);
	CU_ASSERT_EQUAL(fake_xs_pending(c0), 1);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 1);
	CU_ASSERT_STRING_EQUAL(p, "/be/a");
	CU_ASSERT_STRING_EQUAL(t, "tok");
	free(p);
	free(t);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 0);
	{
		struct pollfd pf = {.fd = x0.ops->fileno(x0.ctx), .events = POLLIN};

		CU_ASSERT_EQUAL(poll(&pf, 1, 0), 0);
		CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/be/a/b", "v2"), 0);
		CU_ASSERT_EQUAL(poll(&pf, 1, 0), 1);
	}
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/be/other", "v"), 0); /* not watched */
	CU_ASSERT_EQUAL(fake_xs_pending(c0), 1);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 1);
	CU_ASSERT_STRING_EQUAL(p, "/be/a/b");
	free(p);
	free(t);
	/* Removing a parent fires watches below it with their own path. */
	CU_ASSERT_EQUAL(x0.ops->watch(x0.ctx, "/be/a/b/deep", "t2"), 0);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 1);
	free(p);
	free(t);
	CU_ASSERT_EQUAL(fake_xs_rm(fx, 0, "/be"), 0);
	CU_ASSERT_EQUAL(fake_xs_pending(c0), 2);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 1);
	CU_ASSERT_STRING_EQUAL(p, "/be/a");
	free(p);
	free(t);
	CU_ASSERT_EQUAL(x0.ops->read_watch(x0.ctx, &p, &t), 1);
	CU_ASSERT_STRING_EQUAL(p, "/be/a/b/deep");
	CU_ASSERT_STRING_EQUAL(t, "t2");
	free(p);
	free(t);
	CU_ASSERT_FALSE(fake_xs_exists(fx, "/be/a/b"));
	/* Events only reach those who may read. */
	CU_ASSERT_EQUAL(x5.ops->watch(x5.ctx, "/secret", "s"), 0);
	CU_ASSERT_EQUAL(x5.ops->read_watch(x5.ctx, &p, &t), 1);
	free(p);
	free(t);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/secret/k", "v"), 0);
	CU_ASSERT_EQUAL(fake_xs_pending(c5), 0);
	/* Directory listing. */
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/d/x", "1"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/d/y/z", "1"), 0);
	dir = x0.ops->directory(x0.ctx, 0, "/d", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_TRUE((!strcmp(dir[0], "x") && !strcmp(dir[1], "y")) ||
	               (!strcmp(dir[0], "y") && !strcmp(dir[1], "x")));
	free(dir);
	CU_ASSERT_STRING_EQUAL(fake_xs_history(fx, "/be/a/b"), "v1,v2");
	fake_xs_free(fx);
}

static void test_fake_xs_transactions(void)
{
	struct fake_xs *fx = fake_xs_new();
	struct fake_xs_conn *c0 = fake_xs_connect(fx, 0);
	struct pvx_xs x;
	pvx_xs_tx tx;
	char *p, *t;

	fake_xs_pvsd(c0, &x);
	CU_ASSERT_EQUAL(x.ops->watch(x.ctx, "/t", "w"), 0);
	CU_ASSERT_EQUAL(x.ops->read_watch(x.ctx, &p, &t), 1);
	free(p);
	free(t);
	/* Writes in a transaction are private until commit, and fire then. */
	CU_ASSERT_EQUAL(x.ops->tx_start(x.ctx, &tx), 0);
	CU_ASSERT_EQUAL(x.ops->write(x.ctx, tx, "/t/a", "1", 1), 0);
	CU_ASSERT_PTR_NULL(fake_xs_get(fx, "/t/a"));
	CU_ASSERT_EQUAL(fake_xs_pending(c0), 0);
	p = x.ops->read(x.ctx, tx, "/t/a", NULL);
	CU_ASSERT_PTR_NOT_NULL(p);
	free(p);
	CU_ASSERT_EQUAL(x.ops->tx_end(x.ctx, tx, false), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(fx, "/t/a"), "1");
	CU_ASSERT_EQUAL(fake_xs_pending(c0), 1);
	/* A change outside the transaction makes the commit fail with EAGAIN. */
	CU_ASSERT_EQUAL(x.ops->tx_start(x.ctx, &tx), 0);
	CU_ASSERT_EQUAL(x.ops->write(x.ctx, tx, "/t/a", "2", 1), 0);
	CU_ASSERT_EQUAL(fake_xs_write(fx, 0, "/t/b", "x"), 0);
	CU_ASSERT_EQUAL(x.ops->tx_end(x.ctx, tx, false), -EAGAIN);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(fx, "/t/a"), "1");
	/* Injected failures, and aborts. */
	fake_xs_fail_commits(fx, 1);
	CU_ASSERT_EQUAL(x.ops->tx_start(x.ctx, &tx), 0);
	CU_ASSERT_EQUAL(x.ops->write(x.ctx, tx, "/t/a", "3", 1), 0);
	CU_ASSERT_EQUAL(x.ops->tx_end(x.ctx, tx, false), -EAGAIN);
	CU_ASSERT_EQUAL(x.ops->tx_start(x.ctx, &tx), 0);
	CU_ASSERT_EQUAL(x.ops->write(x.ctx, tx, "/t/a", "4", 1), 0);
	CU_ASSERT_EQUAL(x.ops->tx_end(x.ctx, tx, true), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(fx, "/t/a"), "1");
	CU_ASSERT_EQUAL(fake_xs_commit_conflicts(fx), 2);
	CU_ASSERT_STRING_EQUAL(fake_xs_history(fx, "/t/a"), "1");
	CU_ASSERT_EQUAL(x.ops->tx_end(x.ctx, 12345, false), -ESRCH);
	x.ops->close(x.ctx);
	fake_xs_free(fx);
}

static void test_parse_uint(void)
{
	uint64_t v = 7;

	CU_ASSERT_EQUAL(pvx_parse_uint("0", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(pvx_parse_uint("4294967295", UINT32_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 4294967295u);
	CU_ASSERT_EQUAL(pvx_parse_uint("4294967296", UINT32_MAX, &v), -ERANGE);
	CU_ASSERT_EQUAL(pvx_parse_uint("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
	CU_ASSERT_EQUAL(pvx_parse_uint("-1", UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(pvx_parse_uint("abc", UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(pvx_parse_uint("12 ", UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(pvx_parse_uint("0x10", UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(pvx_parse_uint("", UINT32_MAX, &v), -EINVAL);
	CU_ASSERT_EQUAL(v, 4294967295u);
}

/* ---- the state machine ---- */

static void test_connect(void)
{
	struct env e;
	struct guest *g;
	char file[128], pd[160];
	const char *pdev[2], *vdev[2] = {"0:0:0:0", "7:0:1:2"};
	uint8_t pq = 0xff;

	env_init(&e);
	mkfile(&e, "disk0", 4, file, sizeof(file));
	snprintf(pd, sizeof(pd), "file:%s", file);
	pdev[0] = "mem:1M";
	pdev[1] = pd;
	g = toolstack_add(&e, 0, 5, 0, pdev, vdev, 2);
	env_run(&e);
	/* Probe: feature-sg-grant, then InitWait. */
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "feature-sg-grant"), "128");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1");
	/* We watch the frontend's state node and our directory. */
	CU_ASSERT_EQUAL(fake_xs_nwatches(e.conn), 2);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);

	front_connect(&e, g);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3");
	CU_ASSERT_EQUAL(mapped_rings(&e), 1);
	CU_ASSERT_TRUE(fake_evt_bound(e.evt, g->f.port));
	CU_ASSERT_PTR_NOT_NULL(pvsd_xenbus_lookup(e.xb, 5, 0, 0, 0, 0));
	CU_ASSERT_PTR_NOT_NULL(pvsd_xenbus_lookup(e.xb, 5, 0, 0, 1, 2));
	CU_ASSERT_PTR_NULL(pvsd_xenbus_lookup(e.xb, 5, 0, 0, 0, 1));
	/* Emulated LUNs carry no host identity: no p-devname. */
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/p-devname"), "(none)");

	CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4");

	/* The data path works through the map xenbus built. */
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 1, 2, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	/* An unmapped LUN of a mapped target: peripheral qualifier 011b. */
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 5, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x7f);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	CU_ASSERT_TRUE(log_has("d5 v0: connected ring-ref"));
	CU_ASSERT_TRUE(log_has("d5 v0: dev-1: v-dev 0:1:2 is file:"));
	/* Nothing else in the backend directory was touched. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "online"), "1");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "frontend"), g->fe);
	env_fini(&e);
}

/*
 * --backend-type pvscsi: pvscsid serves backend/pvscsi and leaves
 * backend/vscsi to xen-scsiback, so that one guest can have a vhost of
 * each (the same-boot comparison of make bench).
 */
static void test_backend_type(void)
{
	struct env e;
	struct guest *gk, *gp;
	const char *pdev[1] = {"mem:1M"}, *vdev[1] = {"0:0:2:0"};
	uint8_t pq = 0xff;

	env_init(&e);
	xb_stop(&e);
	e.be_type = "pvscsi";
	CU_ASSERT_FATAL(xb_start(&e) == 0);
	CU_ASSERT_STRING_EQUAL(pvsd_xenbus_base(e.xb), "/local/domain/0/backend/pvscsi");
	/* vhost 0: the kernel backend's, untouched. */
	gk = toolstack_add(&e, 0, 5, 0, pdev, vdev, 1);
	/* vhost 1: ours. */
	e.be_root = "/local/domain/0/backend/pvscsi";
	gp = toolstack_add(&e, 1, 5, 1, pdev, vdev, 1);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, gk, "state"), "1");
	CU_ASSERT_PTR_NULL(fake_xs_get(e.fx, BE "/5/0/feature-sg-grant"));
	CU_ASSERT_STRING_EQUAL(bhist(&e, gp, "state"), "1,2");
	front_connect(&e, gp);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, gp, "state"), "1,2,4");
	CU_ASSERT_EQUAL(inquiry(&e, gp, 0, 2, 0, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	CU_ASSERT_EQUAL(gp->f.errors, 0);
	/* A fatal error is recorded under the type served. */
	CU_ASSERT_EQUAL(fset(&e, gp, "state", "5"), 0);
	CU_ASSERT_EQUAL(fset(&e, gp, "state", "6"), 0);
	env_run(&e);
	e.be_root = "/local/domain/0/backend/pvscsi";
	gp = toolstack_add(&e, 2, 6, 0, pdev, vdev, 1);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, gp, "ring-ref", "abc"), 0);
	CU_ASSERT_EQUAL(fset(&e, gp, "event-channel", "3"), 0);
	CU_ASSERT_EQUAL(fset(&e, gp, "state", "3"), 0);
	env_run(&e);
	CU_ASSERT_PTR_NOT_NULL(fake_xs_get(e.fx, "/local/domain/0/error/backend/pvscsi/6/0/error"));
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, "/local/domain/0/error/backend/vscsi/6"));
	CU_ASSERT_STRING_EQUAL(bhist(&e, gk, "state"), "1");
	env_fini(&e);
}

/*
 * On a real host udev loads xen-scsiback for the first domain with vscsi
 * devices (its modalias), after pvscsid started, and it binds the event
 * channel first: the vhost closes with a line that says why, not EINVAL alone.
 */
static void test_scsiback_took_the_channel(void)
{
	struct env e;
	struct guest *g;
	const char *pdev[1] = {"mem:1M"}, *vdev[1] = {"0:0:0:0"};
	char mod[300];

	env_init(&e);
	g = toolstack_add(&e, 0, 6, 0, pdev, vdev, 1);
	env_run(&e);
	snprintf(mod, sizeof(mod), "%s/module", e.dir);
	CU_ASSERT_FATAL(mkdir(mod, 0755) == 0);
	snprintf(mod, sizeof(mod), "%s/module/xen_scsiback", e.dir);
	CU_ASSERT_FATAL(mkdir(mod, 0755) == 0);
	fake_evt_fail_bind(e.evt, EINVAL);
	front_connect(&e, g);
	env_run(&e);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,5");
	CU_ASSERT_TRUE(log_has("d6 v0: cannot connect ring-ref"));
	CU_ASSERT_TRUE(
	    log_has("Invalid argument: the kernel's xen-scsiback is loaded and took it"));
	CU_ASSERT_TRUE(log_has("unless /lib/modprobe.d/pvscsi.conf blacklists it); unload it "
	                       "(modprobe -r xen-scsiback); closing the vhost"));
	fake_evt_fail_bind(e.evt, 0);
	rmdir(mod);
	snprintf(mod, sizeof(mod), "%s/module", e.dir);
	rmdir(mod);
	env_fini(&e);
}

static void test_bad_pdev_other_dev_works(void)
{
	struct env e;
	struct guest *g;
	const char *pdev[3] = {"mem:1M", "nonexistent-thing", "mem:2M"};
	const char *vdev[3] = {"0:0:0:0", "0:0:1:0", "0:0:0:0"};
	uint8_t pq;

	env_init(&e);
	g = attach(&e, 0, 3, 1, pdev, vdev, 3);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,6");
	/* A second device naming a v-dev already taken. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-2/state"), "1,6");
	CU_ASSERT_TRUE(log_has("d3 v1: dev-1: p-dev 'nonexistent-thing': "));
	CU_ASSERT_TRUE(log_has("d3 v1: dev-2: v-dev 0:0:0:0 is already dev-0's"));
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	/* Target 1 has no LUN at all: DID_NO_CONNECT. */
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 1, 0, NULL), 1 << 16);
	CU_ASSERT_EQUAL(stats(&e).luns, 1);
	env_fini(&e);
}

/*
 * An iscsi:// p-dev logs in as the domain: its UUID from /local/domain/N/vm,
 * never its domid.  A domain without one gets its LUN refused, naming why.
 */
static void test_iscsi_initiator_is_the_domain_uuid(void)
{
	struct env e;
	struct guest *g;
	/* Port 1 of the loopback: nothing listens, so the open fails at once after naming itself.
	 */
	const char *pdev[1] = {"iscsi://127.0.0.1:1/iqn.2001-04.com.example:t/0"};
	const char *vdev[1] = {"0:0:0:0"};

	env_init(&e);
	CU_ASSERT_EQUAL(fake_xs_write(e.fx, 0, "/local/domain/4/vm",
	                              "/vm/6F1C6F52-5A0E-4A6E-9D2B-0000000000AB"),
	                0);
	g = attach(&e, 0, 4, 0, pdev, vdev, 1);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,6");
	CU_ASSERT_TRUE(log_has("cannot connect to the portal 127.0.0.1:1 of "
	                       "iqn.2001-04.com.example:t as "
	                       "iqn.2026-12.org.pvscsi:xen.6f1c6f52-5a0e-4a6e-9d2b-0000000000ab"));
	env_fini(&e);

	env_init(&e);
	g = attach(&e, 0, 5, 0, pdev, vdev, 1);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,6");
	CU_ASSERT_TRUE(log_has("an iSCSI LUN's initiator name is the domain's UUID, and "
	                       "/local/domain/5/vm holds none"));
	env_fini(&e);
}

/* A portal that takes the connection and never answers a login; its port. */
static int mute_portal(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 8) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
		if (ls >= 0)
			close(ls);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return ls;
}

/*
 * An iscsi:// p-dev's login runs on a thread of its own: the vhost waits
 * short of Connected (a new vhost) or Reconfigured (a hot add) with the
 * device Initialising, while every other guest is served; then the device
 * is refused, naming the portal, and the vhost goes on.  A vhost removed
 * while its p-dev opens leaves nothing behind.
 */
static void test_iscsi_login_holds_up_nobody(void)
{
	struct env e;
	struct guest *a, *b, *c;
	char mute[160], line[200];
	const char *pdev_a[2] = {"mem:1M", mute}, *vdev_a[2] = {"0:0:0:0", "0:0:1:0"};
	const char *pdev_b[1] = {"mem:1M"}, *vdev_b[1] = {"0:0:0:0"};
	const char *pdev_c[1] = {mute}, *vdev_c[1] = {"0:0:0:0"};
	int port, ls = mute_portal(&port);
	uint8_t pq;

	CU_ASSERT_FATAL(ls >= 0);
	snprintf(mute, sizeof(mute), "iscsi://127.0.0.1:%d/iqn.2026-12.org.pvscsi.test:mute/0",
	         port);
	setenv("PVS_ISCSI_OPEN_TIMEOUT", "3", 1);
	env_init(&e);
	e.no_wait_opens = true;
	CU_ASSERT_EQUAL(fake_xs_write(e.fx, 0, "/local/domain/4/vm",
	                              "/vm/6f1c6f52-5a0e-4a6e-9d2b-0000000000ab"),
	                0);
	a = toolstack_add(&e, 0, 4, 0, pdev_a, vdev_a, 2);
	env_run(&e);
	front_connect(&e, a);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).opening, 1);
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "state"), "1,2");
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "vscsi-devs/dev-1/state"), "1");
	CU_ASSERT_TRUE(log_has("opens on a thread of its own"));

	/* Another guest comes and does I/O meanwhile. */
	b = attach(&e, 1, 5, 0, pdev_b, vdev_b, 1);
	CU_ASSERT_STRING_EQUAL(bget(&e, b, "state"), "4");
	CU_ASSERT_EQUAL(inquiry(&e, b, 0, 0, 0, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	CU_ASSERT_EQUAL(stats(&e).opening, 1);
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "state"), "1,2");

	/* The login times out: the device is refused, the vhost connects with the rest. */
	e.no_wait_opens = false;
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).opening, 0);
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "vscsi-devs/dev-0/state"), "1,3");
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "state"), "1,2,4");
	snprintf(line, sizeof(line), "dev-1: p-dev 'iscsi://127.0.0.1:%d/", port);
	if (!log_has(line))
		log_dump();
	CU_ASSERT_TRUE(log_has(line));
	CU_ASSERT_TRUE(
	    log_has("as iqn.2026-12.org.pvscsi:xen.6f1c6f52-5a0e-4a6e-9d2b-0000000000ab"));
	CU_ASSERT_EQUAL(fset(&e, a, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(inquiry(&e, a, 0, 0, 0, &pq), 0);
	CU_ASSERT_EQUAL(inquiry(&e, a, 0, 1, 0, NULL), 1 << 16);

	/* A hot add waits for its login before Reconfigured; the ring serves on. */
	e.no_wait_opens = true;
	bset(&e, a, "vscsi-devs/dev-2/p-dev", mute);
	bset(&e, a, "vscsi-devs/dev-2/v-dev", "0:0:2:0");
	bset(&e, a, "vscsi-devs/dev-2/state", "1");
	bset(&e, a, "state", "7");
	CU_ASSERT_EQUAL(fset(&e, a, "state", "7"), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).opening, 1);
	CU_ASSERT_STRING_EQUAL(bget(&e, a, "state"), "7");
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "vscsi-devs/dev-2/state"), "1");
	CU_ASSERT_EQUAL(inquiry(&e, a, 0, 0, 0, &pq), 0);
	e.no_wait_opens = false;
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "vscsi-devs/dev-2/state"), "1,6");
	CU_ASSERT_STRING_EQUAL(bhist(&e, a, "state"), "1,2,4,7,8");

	/* Removed while it logs in: the login's end finds nobody, and nothing leaks. */
	CU_ASSERT_EQUAL(fake_xs_write(e.fx, 0, "/local/domain/6/vm",
	                              "/vm/6f1c6f52-5a0e-4a6e-9d2b-0000000000ac"),
	                0);
	e.no_wait_opens = true;
	c = toolstack_add(&e, 2, 6, 0, pdev_c, vdev_c, 1);
	env_run(&e);
	front_connect(&e, c);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).opening, 1);
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, c->be), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).opening, 0);
	CU_ASSERT_EQUAL(stats(&e).vhosts, 2);
	/* Still logging in, in the pool's hands: the pool waits for it at exit. */
	CU_ASSERT_EQUAL(pvs_host_opening(pvsd_xenbus_host(e.xb)), 1);
	e.no_wait_opens = false;
	env_fini(&e);
	unsetenv("PVS_ISCSI_OPEN_TIMEOUT");
	close(ls);
}

static void test_malformed_nodes(void)
{
	struct env e;
	struct guest *g1, *g2, *g3;
	const char *pdev[2] = {"mem:1M", "mem:1M"};
	const char *vdev[2] = {"0:0:0:0", "1:2"};
	const char *vdev_big[1] = {"0:70000:0:0"};

	env_init(&e);
	/* Guest 7: ring-ref "abc". */
	g1 = toolstack_add(&e, 0, 7, 0, pdev, vdev, 1);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, g1, "ring-ref", "abc"), 0);
	CU_ASSERT_EQUAL(fset(&e, g1, "event-channel", "3"), 0);
	CU_ASSERT_EQUAL(fset(&e, g1, "state", "3"), 0);
	/* Guest 8: event-channel "-1". */
	g2 = toolstack_add(&e, 1, 8, 0, pdev, vdev, 1);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, g2, "ring-ref", "8"), 0);
	CU_ASSERT_EQUAL(fset(&e, g2, "event-channel", "-1"), 0);
	CU_ASSERT_EQUAL(fset(&e, g2, "state", "3"), 0);
	/* Guest 9: fine, but dev-1's v-dev is "1:2", dev-2 out of range. */
	g3 = toolstack_add(&e, 2, 9, 0, pdev, vdev, 2);
	bset(&e, g3, "vscsi-devs/dev-2/p-dev", "mem:1M");
	bset(&e, g3, "vscsi-devs/dev-2/v-dev", vdev_big[0]);
	bset(&e, g3, "vscsi-devs/dev-2/state", "1");
	env_run(&e);
	front_connect(&e, g3);
	env_run(&e);

	CU_ASSERT_STRING_EQUAL(bhist(&e, g1, "state"), "1,2,5");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g2, "state"), "1,2,5");
	CU_ASSERT_TRUE(log_has("d7 v0: frontend /local/domain/7/device/vscsi/0/{ring-ref,"
	                       "event-channel} unusable (not a 32-bit decimal number)"));
	CU_ASSERT_TRUE(log_has("d8 v0: frontend /local/domain/8/device/vscsi/0/{ring-ref,"
	                       "event-channel} unusable"));
	/* As xenbus_dev_fatal(): the reason is in error/ for the toolstack. */
	{
		const char *err1 =
		    fake_xs_get(e.fx, "/local/domain/0/error/backend/vscsi/7/0/error");
		const char *err2 =
		    fake_xs_get(e.fx, "/local/domain/0/error/backend/vscsi/8/0/error");

		CU_ASSERT_PTR_NOT_NULL_FATAL(err1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(err2);
		CU_ASSERT_TRUE(strncmp(err1, "22 frontend /local/domain/7/device/vscsi/0/", 43) ==
		               0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err2, "unusable (not a 32-bit decimal number)"));
		CU_ASSERT_FALSE(fake_xs_exists(e.fx, "/local/domain/0/error/backend/vscsi/9/0"));
	}
	/* Their devices were never added. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g1, "vscsi-devs/dev-0/state"), "1");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "state"), "1,2,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "vscsi-devs/dev-0/state"), "1,3");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "vscsi-devs/dev-2/state"), "1,6");
	CU_ASSERT_TRUE(log_has("d9 v0: dev-1: v-dev '1:2' is not host:channel:target:lun"));
	CU_ASSERT_TRUE(log_has("d9 v0: dev-2: v-dev '0:70000:0:0' out of range"));
	CU_ASSERT_EQUAL(stats(&e).rings, 1);
	CU_ASSERT_EQUAL(mapped_rings(&e), 1);
	CU_ASSERT_EQUAL(inquiry(&e, g3, 0, 0, 0, NULL), 0);

	/* The broken guests close normally. */
	CU_ASSERT_EQUAL(fset(&e, g1, "state", "6"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g1, "state"), "6");
	env_fini(&e);
}

static void test_frontend_id_and_perms(void)
{
	struct env e;
	struct guest *g1, *g2, *g3;
	const char *pdev[1] = {"mem:1M"};
	const char *vdev[1] = {"0:0:0:0"};

	env_init(&e);
	/* The backend directory is the guest's own: it could pick any host device. */
	g1 = toolstack_add(&e, 0, 11, 0, pdev, vdev, 1);
	CU_ASSERT_EQUAL(fake_xs_chmod(e.fx, g1->be, "n11 r0", true), 0);
	/* frontend-id contradicts the directory. */
	g2 = toolstack_add(&e, 1, 12, 0, pdev, vdev, 1);
	bset(&e, g2, "frontend-id", "13");
	/* Only dev-0's p-dev node is writable by the guest. */
	g3 = toolstack_add(&e, 2, 14, 0, pdev, vdev, 1);
	CU_ASSERT_EQUAL(fake_xs_chmod(e.fx, BE "/14/0/vscsi-devs/dev-0/p-dev", "n0 b14", false), 0);
	/* The guest can now write it; the toolstack then hands it over. */
	CU_ASSERT_EQUAL(fake_xs_write(e.fx, 14, BE "/14/0/vscsi-devs/dev-0/p-dev", "mem:2M"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g1, "state"), "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g1, "feature-sg-grant"), "(none)");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g2, "state"), "1");
	CU_ASSERT_TRUE(log_has("d11 v0: /local/domain/0/backend/vscsi/11/0 is writable by domain "
	                       "11: not serving it (set permissions n0 r11)"));
	CU_ASSERT_TRUE(log_has("d12 v0: frontend-id is another domain, not 12"));
	front_connect(&e, g3);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "state"), "1,2,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g3, "vscsi-devs/dev-0/state"), "1,6");
	CU_ASSERT_TRUE(log_has("d14 v0: dev-0: p-dev is writable by the guest; refusing it"));
	CU_ASSERT_EQUAL(stats(&e).luns, 0);
	/* Fixed by the toolstack and reset to Initialising: served. */
	CU_ASSERT_EQUAL(fake_xs_chmod(e.fx, g1->be, "n0 r11", true), 0);
	bset(&e, g1, "state", "1");
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g1, "state"), "1,1,2");
	env_fini(&e);
}

static void test_tx_retry(void)
{
	struct env e;
	struct guest *g;
	const char *pdev[1] = {"mem:1M"};
	const char *vdev[1] = {"0:0:0:0"};

	env_init(&e);
	g = toolstack_add(&e, 0, 4, 0, pdev, vdev, 1);
	/* Every guarded write runs in a transaction: conflicts are retried. */
	fake_xs_fail_commits(e.fx, 3);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "feature-sg-grant"), "128");
	CU_ASSERT_EQUAL(fake_xs_commit_conflicts(e.fx), 3);
	front_connect(&e, g);
	fake_xs_fail_commits(e.fx, 2); /* the ring-ref/event-channel read */
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4");
	CU_ASSERT_EQUAL(fake_xs_commit_conflicts(e.fx), 5);
	env_fini(&e);
}

/* Toolstack + frontend: the hot-plug handshake of vscsiif-protocol.md. */
static void test_hot_add(void)
{
	struct env e;
	struct guest *g;
	const char *pdev[1] = {"mem:1M"};
	const char *vdev[1] = {"0:0:0:0"};
	uint8_t pq;

	env_init(&e);
	g = attach(&e, 0, 6, 2, pdev, vdev, 1);
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 3, 1, NULL), 1 << 16);
	bset(&e, g, "vscsi-devs/dev-1/p-dev", "mem:2M");
	bset(&e, g, "vscsi-devs/dev-1/v-dev", "0:0:3:1");
	bset(&e, g, "vscsi-devs/dev-1/state", "1");
	bset(&e, g, "state", "7");
	env_run(&e);
	/* Nothing happens before the frontend reacts. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "7");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "7"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,7,8");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,7,8,4");
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 3, 1, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	env_fini(&e);
}

/*
 * A passthrough LUN on the fake sysfs and fake sg node: its commands stay in
 * flight while fake_sg_hold(true), so drains can be watched step by step.
 */
struct sgenv {
	struct fake_sysfs fs;
	char sg[PATH_MAX + 8];
};

/* @d (with an sg node) on a fresh fake sysfs; the daemon restarted to see it. */
static void sg_setup_dev(struct env *e, struct sgenv *s, const struct fake_scsi_dev *d)
{
	CU_ASSERT_FATAL(fake_sysfs_create(&s->fs) == 0);
	CU_ASSERT_FATAL(fake_sysfs_add_scsi(&s->fs, d) == 0);
	snprintf(s->sg, sizeof(s->sg), "%s/%s", s->fs.dev, d->sg);
	fake_sg_reset();
	fake_sg_add_node(s->sg, FAKE_SG_CHR);
	pvsi_sg_set_ops(&fake_sg_ops);
	xb_stop(e);
	e->sys_root = s->fs.sys;
	e->dev_root = s->fs.dev;
	CU_ASSERT_FATAL(xb_start(e) == 0);
}

static void sg_setup(struct env *e, struct sgenv *s)
{
	struct fake_scsi_dev d = {0};

	d.host = 2;
	d.type = 0;
	d.wwid = "naa.6001405aaaaaaaaa";
	d.sg = "sg0";
	d.block = "sda";
	sg_setup_dev(e, s, &d);
}

static void sg_teardown(struct sgenv *s)
{
	fake_sg_hold(false);
	pvsi_sg_set_ops(NULL);
	fake_sg_reset();
	fake_sysfs_destroy(&s->fs);
}

/* TEST UNIT READY to @tgt, left in flight (the sg answer is held). */
static void tur_held(struct env *e, struct guest *g, uint16_t tgt)
{
	struct fake_front_cmd c;
	unsigned int before = env_inflight(e);

	rh_tur(&c);
	c.id = tgt;
	fake_sg_hold(true);
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	fake_front_push(&g->f);
	for (unsigned int i = 0; i < e->nfds; i++)
		pvsd_xenbus_handle_ring(e->xb, e->fds[i].cookie);
	/* The worker reads the kick; the ring it names takes the command. */
	pvs_worker_poll(e->w);
	CU_ASSERT_TRUE(pvsd_xenbus_pending(e->xb));
	pvsd_xenbus_run_pending(e->xb);
	pvs_worker_poll(e->w);
	pvsd_xenbus_after_poll(e->xb);
	CU_ASSERT_EQUAL(env_inflight(e), before + 1);
}

/* @c queued and pushed, which notifies the armed ring, and answered GOOD. */
static void pushed_answered(struct env *e, struct guest *g, struct fake_front_cmd *c)
{
	struct vscsiif_response rsp;
	int got = 0;

	CU_ASSERT_FATAL(fake_front_queue(&g->f, c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&g->f));
	for (int i = 0; i < 50 && (got = fake_front_response(&g->f, &rsp)) != 1; i++)
		if (!env_step(e))
			pvs_worker_wait(e->w, 10);
	CU_ASSERT_EQUAL_FATAL(got, 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
}

/*
 * Deferred kicks (--defer-kicks): a ring with PVSD_DEFER_MIN commands in
 * flight stays unarmed, so what the guest queues behind them costs no
 * notification and is taken by the pass over the rings
 * (pvsd_xenbus_poll()); with fewer the ring is armed again, and turned off
 * every pass arms it.
 */
/*
 * Completion coalescing makes the rings poll (unarmed after a pass), and a
 * loop whose ring has PVSD_COALESCE_MAX_INFLIGHT commands out or more is
 * not held: its guest waits for slots.
 */
static void test_coalesce_room(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g;
	const char *pdev[1] = {"2:0:0:0"}, *vdev[1] = {"0:0:0:0"};
	struct vscsiif_response rsp;

	env_init(&e);
	sg_setup(&e, &sg);
	g = attach(&e, 0, 2, 0, pdev, vdev, 1);
	CU_ASSERT_FALSE(pvsd_xenbus_polling(e.xb));
	pvsd_xenbus_set_coalesce_us(e.xb, 500);
	CU_ASSERT_EQUAL(pvsd_xenbus_coalesce_us(e.xb), 500);
	CU_ASSERT_TRUE(pvsd_xenbus_polling(e.xb));
	CU_ASSERT_TRUE(pvsd_xenbus_coalescible_loop(e.xb, PVSD_XENBUS_ALL_LOOPS));
	for (unsigned int k = 1; k <= PVSD_COALESCE_MAX_INFLIGHT; k++) {
		/* The loop arms the ring after an empty pass; the TUR notifies. */
		pvsd_xenbus_arm(e.xb);
		tur_held(&e, g, 0);
		CU_ASSERT_EQUAL(env_inflight(&e), k);
		CU_ASSERT_EQUAL(pvsd_xenbus_coalescible_loop(e.xb, PVSD_XENBUS_ALL_LOOPS),
		                k < PVSD_COALESCE_MAX_INFLIGHT);
	}
	CU_ASSERT_EQUAL(fake_sg_release(), PVSD_COALESCE_MAX_INFLIGHT);
	fake_sg_hold(false);
	env_run(&e);
	for (unsigned int k = 0; k < PVSD_COALESCE_MAX_INFLIGHT; k++) {
		CU_ASSERT_EQUAL_FATAL(fake_front_response(&g->f, &rsp), 1);
		CU_ASSERT_EQUAL(rsp.rslt, 0);
	}
	CU_ASSERT_TRUE(pvsd_xenbus_coalescible_loop(e.xb, PVSD_XENBUS_ALL_LOOPS));
	/* Off again: not polling, every ring armed. */
	pvsd_xenbus_set_coalesce_us(e.xb, 0);
	CU_ASSERT_FALSE(pvsd_xenbus_polling(e.xb));
	CU_ASSERT_EQUAL(g->f.errors, 0);
	sg_teardown(&sg);
	env_fini(&e);
}

static void test_defer_kicks(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g;
	const char *pdev[2] = {"mem:1M", "2:0:0:0"}, *vdev[2] = {"0:0:0:0", "0:0:1:0"};
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	bool left = true;

	env_init(&e);
	sg_setup(&e, &sg);
	g = attach(&e, 0, 2, 0, pdev, vdev, 2);
	CU_ASSERT_FALSE(pvsd_xenbus_polling(e.xb));
	pvsd_xenbus_set_defer_kicks(e.xb, true);
	CU_ASSERT_TRUE(pvsd_xenbus_polling(e.xb));
	CU_ASSERT_EQUAL(pvsd_xenbus_poll_us(e.xb), 0);
	/* Nothing in flight: armed as without deferring. */
	CU_ASSERT_FALSE(pvsd_xenbus_arm_idle(e.xb, &left));
	CU_ASSERT_FALSE(left);

	/* Fewer than PVSD_DEFER_MIN out: armed, a request notifies. */
	for (unsigned int k = 1; k < PVSD_DEFER_MIN; k++) {
		tur_held(&e, g, 1);
		CU_ASSERT_FALSE(pvsd_xenbus_arm_idle(e.xb, &left));
		CU_ASSERT_FALSE(left);
	}
	rh_inquiry(&c, buf, 96, 96);
	pushed_answered(&e, g, &c);
	CU_ASSERT_FALSE(pvsd_xenbus_arm_idle(e.xb, &left));
	CU_ASSERT_FALSE(left);

	/* PVSD_DEFER_MIN out: left unarmed, what comes behind them notifies nothing. */
	tur_held(&e, g, 1);
	CU_ASSERT_FALSE(pvsd_xenbus_arm_idle(e.xb, &left));
	CU_ASSERT_TRUE(left);
	memset(buf, 0, 96);
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	CU_ASSERT_FALSE(fake_front_push(&g->f)); /* behind the TURs: no notification */
	CU_ASSERT_TRUE(pvsd_xenbus_has_requests(e.xb));
	CU_ASSERT_EQUAL(pvsd_xenbus_poll(e.xb), 1);
	pvs_worker_poll(e.w);
	pvsd_xenbus_after_poll(e.xb);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, "PVSCSI  ", 8), 0);
	CU_ASSERT_EQUAL(env_inflight(&e), PVSD_DEFER_MIN);
	/* A ring whose commands are out is armed by pvsd_xenbus_arm(), as after an empty pass. */
	CU_ASSERT_FALSE(pvsd_xenbus_arm(e.xb));
	pushed_answered(&e, g, &c);

	/* The TURs answered: nothing in flight, the ring armed again. */
	CU_ASSERT_EQUAL(fake_sg_release(), PVSD_DEFER_MIN);
	fake_sg_hold(false);
	env_run(&e);
	for (unsigned int k = 0; k < PVSD_DEFER_MIN; k++) {
		CU_ASSERT_EQUAL_FATAL(fake_front_response(&g->f, &rsp), 1);
		CU_ASSERT_EQUAL(rsp.rslt, 0);
	}
	CU_ASSERT_EQUAL(env_inflight(&e), 0);
	CU_ASSERT_FALSE(pvsd_xenbus_arm_idle(e.xb, &left));
	CU_ASSERT_FALSE(left);
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&g->f));
	env_run(&e);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&g->f, &rsp), 1);

	/*
	 * Off: the ring, left unarmed by that pass (the loop arms before it
	 * sleeps), is armed at once; then every pass arms it, commands in
	 * flight or not.
	 */
	pvsd_xenbus_set_defer_kicks(e.xb, false);
	CU_ASSERT_FALSE(pvsd_xenbus_polling(e.xb));
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&g->f));
	env_run(&e);
	CU_ASSERT_EQUAL_FATAL(fake_front_response(&g->f, &rsp), 1);
	tur_held(&e, g, 1);
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&g->f));
	fake_sg_release();
	fake_sg_hold(false);
	env_run(&e);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	sg_teardown(&sg);
	env_fini(&e);
	free(buf);
}
static void test_hot_remove_drains(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g;
	const char *pdev[2] = {"mem:1M", "2:0:0:0"}, *vdev[2] = {"0:0:0:0", "0:0:1:0"};
	struct vscsiif_response rsp;

	env_init(&e);
	sg_setup(&e, &sg);
	g = attach(&e, 0, 2, 0, pdev, vdev, 2);
	CU_ASSERT_EQUAL(stats(&e).luns, 2);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-1/state"), "4");
	tur_held(&e, g, 1);

	bset(&e, g, "vscsi-devs/dev-1/state", "5");
	bset(&e, g, "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "7"), 0);
	env_xs_only(&e);
	/* The mapping is gone at once; the device waits for the LUN to drain. */
	CU_ASSERT_PTR_NULL(pvsd_xenbus_lookup(e.xb, 2, 0, 0, 1, 0));
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3,4,5");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "7");
	CU_ASSERT_EQUAL(stats(&e).luns, 2);
	pvs_worker_poll(e.w);
	pvsd_xenbus_after_poll(e.xb);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "7");
	CU_ASSERT_EQUAL(fake_sg_release(), 1);
	env_run(&e);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3,4,5,6");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,7,8");
	CU_ASSERT_EQUAL(stats(&e).luns, 1);
	CU_ASSERT_TRUE(log_has("closing LUN sg:"));
	CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,7,8,4");
	/* The toolstack removes the nodes; target 1 is gone for the guest. */
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, BE "/2/0/vscsi-devs/dev-1"), 0);
	env_run(&e);
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, BE "/2/0/vscsi-devs/dev-1"));
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 1, 0, NULL), 1 << 16);
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	env_fini(&e);
	sg_teardown(&sg);
}

static void test_close_with_inflight(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g;
	const char *pdev[1] = {"2:0:0:0"}, *vdev[1] = {"0:0:0:0"};
	struct vscsiif_response rsp;

	env_init(&e);
	sg_setup(&e, &sg);
	g = attach(&e, 0, 9, 3, pdev, vdev, 1);
	tur_held(&e, g, 0);

	CU_ASSERT_EQUAL(fset(&e, g, "state", "5"), 0);
	env_xs_only(&e);
	pvs_worker_poll(e.w);
	pvsd_xenbus_after_poll(e.xb);
	/* Still mapped and Connected until the command finished. */
	CU_ASSERT_EQUAL(mapped_rings(&e), 1);
	CU_ASSERT_TRUE(fake_evt_bound(e.evt, g->f.port));
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "4");
	CU_ASSERT_EQUAL(fake_sg_release(), 1);
	env_run(&e);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);
	CU_ASSERT_FALSE(fake_evt_bound(e.evt, g->f.port));
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,5");
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	/* Closed and offline: the vhost is released, the LUN closed. */
	bset(&e, g, "online", "0");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "6"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,5,6");
	CU_ASSERT_EQUAL(stats(&e).active, 0);
	CU_ASSERT_EQUAL(stats(&e).luns, 0);
	CU_ASSERT_EQUAL(fake_xs_nwatches(e.conn), 1);
	/* The toolstack removes both directories: nothing of ours comes back. */
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, BE "/9"), 0);
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, "/local/domain/9"), 0);
	env_run(&e);
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, BE "/9/3"));
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, BE "/9"));
	CU_ASSERT_EQUAL(stats(&e).vhosts, 0);
	env_fini(&e);
	sg_teardown(&sg);
}

static void test_frontend_resume(void)
{
	struct env e;
	struct guest *g;
	struct fake_front old;
	const char *pdev[2] = {"mem:1M", "mem:1M"}, *vdev[2] = {"0:0:0:0", "0:0:2:0"};
	char v[16];
	uint8_t pq;

	env_init(&e);
	g = attach(&e, 0, 5, 0, pdev, vdev, 2);
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 2, 0, NULL), 0);
	/*
	 * Resume: the frontend keeps the old page until we unmap (Xen defers
	 * the grant's end), makes a new ring, writes ring-ref, event-channel
	 * and 3, and goes on to 4 as soon as it sees us Connected.
	 */
	old = g->f;
	CU_ASSERT_FATAL(fake_front_init(&g->f, e.gnt, e.evt, 5) == 0);
	CU_ASSERT_NOT_EQUAL(g->f.ring_ref, old.ring_ref);
	snprintf(v, sizeof(v), "%u", g->f.ring_ref);
	CU_ASSERT_EQUAL(fset(&e, g, "ring-ref", v), 0);
	snprintf(v, sizeof(v), "%u", g->f.port);
	CU_ASSERT_EQUAL(fset(&e, g, "event-channel", v), 0);
	CU_ASSERT_EQUAL(fset(&e, g, "state", "3"), 0);
	CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).reconnects, 1);
	CU_ASSERT_EQUAL(mapped_rings(&e), 1);
	CU_ASSERT_FALSE(fake_evt_bound(e.evt, old.port));
	CU_ASSERT_TRUE(fake_evt_bound(e.evt, g->f.port));
	/* Connected written again (the frontend waits for it); the devices kept. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "1,2,4,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3,4");
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 2, 0, &pq), 0);
	CU_ASSERT_EQUAL(pq, 0x00);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	CU_ASSERT_TRUE(log_has("d5 v0: reconnected to ring-ref"));
	fake_front_fini(&old);
	env_fini(&e);
}

static void test_several_guests_share_lun(void)
{
	struct env e;
	struct guest *g[4];
	char file[128], pd[160];
	const char *shared[2], *vdev[2] = {"0:0:0:0", "0:0:0:1"};
	const char *own[1] = {"mem:1M"};

	env_init(&e);
	mkfile(&e, "shared", 4, file, sizeof(file));
	snprintf(pd, sizeof(pd), "file:%s", file);
	shared[0] = pd;
	shared[1] = "mem:1M";
	g[0] = attach(&e, 0, 1, 0, shared, vdev, 2);
	g[1] = attach(&e, 1, 1, 1, own, vdev, 1);
	g[2] = attach(&e, 2, 2, 0, shared, vdev, 1);
	g[3] = attach(&e, 3, 3, 7, shared, vdev, 2);
	CU_ASSERT_EQUAL(stats(&e).rings, 4);
	CU_ASSERT_EQUAL(stats(&e).mapped, 6);
	/* One LUN for the file named by three vhosts; each mem: is its own. */
	CU_ASSERT_EQUAL(stats(&e).luns, 4);
	CU_ASSERT_PTR_EQUAL(pvsd_xenbus_lookup(e.xb, 1, 0, 0, 0, 0),
	                    pvsd_xenbus_lookup(e.xb, 3, 7, 0, 0, 0));
	CU_ASSERT_PTR_NOT_EQUAL(pvsd_xenbus_lookup(e.xb, 1, 0, 0, 0, 1),
	                        pvsd_xenbus_lookup(e.xb, 3, 7, 0, 0, 1));
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_STRING_EQUAL(bget(&e, g[i], "state"), "4");
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
	}
	/* The same file with other options is refused, naming both. */
	bset(&e, g[1], "vscsi-devs/dev-1/p-dev", pd);
	{
		char ro[200];

		snprintf(ro, sizeof(ro), "%s,ro", pd);
		bset(&e, g[1], "vscsi-devs/dev-1/p-dev", ro);
	}
	bset(&e, g[1], "vscsi-devs/dev-1/v-dev", "0:0:4:0");
	bset(&e, g[1], "vscsi-devs/dev-1/state", "1");
	bset(&e, g[1], "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g[1], "state", "7"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_TRUE(log_has("a second user must use the same options ('ro' vs '')"));
	/* One guest closing leaves the shared LUN to the others. */
	bset(&e, g[0], "online", "0");
	CU_ASSERT_EQUAL(fset(&e, g[0], "state", "5"), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, g[0], "state", "6"), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).rings, 3);
	CU_ASSERT_EQUAL(stats(&e).luns, 3);
	CU_ASSERT_EQUAL(inquiry(&e, g[3], 0, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(inquiry(&e, g[2], 0, 0, 0, NULL), 0);
	env_fini(&e);
}

struct loops_seen {
	struct env *e;
	int loop[8][8];      /* [domid][vhost]: the loop of a vhost, -1 not placed, -2 not listed */
	int cur;             /* the loop of the vhost being listed */
	unsigned int astray; /* devices whose LUN runs on another loop's worker */
};

static void seen_vhost(void *arg, const struct pvsd_vhost_info *v)
{
	struct loops_seen *ls = arg;

	if (v->domid < 8 && v->vhost < 8)
		ls->loop[v->domid][v->vhost] = v->loop;
	ls->cur = v->loop;
}
static void seen_dev(void *arg, const struct pvsd_dev_info *d)
{
	struct loops_seen *ls = arg;

	if (d->unit && (ls->cur < 0 || pvs_unit_worker(d->unit) != ls->e->loops[ls->cur].worker))
		ls->astray++;
}
static void seen_end(void *arg)
{
	(void)arg;
}

static int loop_of(struct env *e, uint32_t domid, uint32_t vhost)
{
	static const struct pvsd_xenbus_visitor vis = {seen_vhost, seen_dev, seen_end};
	struct loops_seen ls = {.e = e};

	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 8; j++)
			ls.loop[i][j] = -2;
	pvsd_xenbus_visit(e->xb, &vis, &ls);
	CU_ASSERT_EQUAL(ls.astray, 0);
	return ls.loop[domid][vhost];
}

/* A whole hot add of dev-@n: the toolstack's nodes, the frontend's 7 then 4. */
static void loops_hot_add(struct env *e, struct guest *g, unsigned int n, const char *pdev,
                          const char *vdev)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "vscsi-devs/dev-%u/p-dev", n);
	bset(e, g, rel, pdev);
	snprintf(rel, sizeof(rel), "vscsi-devs/dev-%u/v-dev", n);
	bset(e, g, rel, vdev);
	snprintf(rel, sizeof(rel), "vscsi-devs/dev-%u/state", n);
	bset(e, g, rel, "1");
	bset(e, g, "state", "7");
	CU_ASSERT_EQUAL(fset(e, g, "state", "7"), 0);
	env_run(e);
	CU_ASSERT_EQUAL(fset(e, g, "state", "4"), 0);
	env_run(e);
}

/*
 * Two event loops: a vhost goes to the loop already serving one of its
 * LUNs, otherwise to the one with the fewest rings; a LUN is never used
 * from two loops, so a hot add of another loop's LUN moves the vhost there,
 * with its own LUNs and their data, and loses no request.
 */
static void test_two_loops_placement(void)
{
	struct env e;
	struct guest *g[4];
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	char file[128], pd[160];
	const char *shared[1], *vdev[1] = {"0:0:0:0"};
	const char *own[1] = {"mem:1M"};
	uint8_t *wbuf = rh_alloc(4096), *rbuf = rh_alloc(4096), *rbuf2 = rh_alloc(4096);
	unsigned int got = 0;

	env_init2(&e);
	mkfile(&e, "shared", 4, file, sizeof(file));
	snprintf(pd, sizeof(pd), "file:%s", file);
	shared[0] = pd;
	g[0] = attach(&e, 0, 1, 0, shared, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 1, 0), 0);
	g[1] = attach(&e, 1, 2, 0, own, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1);
	g[2] = attach(&e, 2, 3, 0, own, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 3, 0), 0);
	/* Loop 0 has two rings and loop 1 one, but the shared file is on loop 0. */
	g[3] = attach(&e, 3, 4, 0, shared, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 4, 0), 0);
	CU_ASSERT_TRUE(log_has("d2 v0: on event loop 1 (the one with the fewest rings)"));
	CU_ASSERT_TRUE(log_has("d4 v0: on event loop 0 (the one serving its LUN)"));
	CU_ASSERT_PTR_EQUAL(pvsd_xenbus_lookup(e.xb, 1, 0, 0, 0, 0),
	                    pvsd_xenbus_lookup(e.xb, 4, 0, 0, 0, 0));
	CU_ASSERT_EQUAL(stats(&e).luns, 3);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_STRING_EQUAL(bget(&e, g[i], "state"), "4");
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
	}
	/* Guest 2's own disk (loop 1) holds a pattern (the first write meets the power-on UA). */
	memset(wbuf, 0x5a, 4096);
	for (int i = 0; i < 2; i++) {
		rh_rw10(&c, true, 8, 8, wbuf, 4096);
		CU_ASSERT_FATAL(fake_front_queue(&g[1]->f, &c) >= 0);
		fake_front_push(&g[1]->f);
		env_run(&e);
		CU_ASSERT_EQUAL(fake_front_response(&g[1]->f, &rsp), 1);
		if (rsp.rslt == 0)
			break;
	}
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	/*
	 * The shared file hot-added to the vhost on loop 1: the vhost moves to
	 * loop 0 with its mem: disk.  A read the guest queued just before is
	 * answered once the ring is mapped again on loop 0, with the data.
	 */
	rh_rw10(&c, false, 8, 8, rbuf, 4096);
	CU_ASSERT_FATAL(fake_front_queue(&g[1]->f, &c) >= 0);
	fake_front_push(&g[1]->f);
	loops_hot_add(&e, g[1], 1, pd, "0:0:1:0");
	while (fake_front_response(&g[1]->f, &rsp) == 1) {
		CU_ASSERT_EQUAL(rsp.rslt, 0);
		got++;
	}
	CU_ASSERT_EQUAL(got, 1);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4096), 0);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "vscsi-devs/dev-1/state"), "1,3,4");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "state"), "1,2,4,7,8,4");
	CU_ASSERT_TRUE(log_has("d2 v0: moving from event loop 1 to 0"));
	CU_ASSERT_TRUE(log_has("d2 v0: moved to event loop 0"));
	CU_ASSERT_TRUE(log_has("d2 v0: mapped again ring-ref"));
	CU_ASSERT_FALSE(log_has("is served by another event loop"));
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 0); /* and every unit on loop 0's worker */
	CU_ASSERT_EQUAL(stats(&e).moves, 1);
	CU_ASSERT_EQUAL(stats(&e).reconnects, 0);
	CU_ASSERT_EQUAL(stats(&e).luns, 3);
	CU_ASSERT_PTR_EQUAL(pvsd_xenbus_lookup(e.xb, 1, 0, 0, 0, 0),
	                    pvsd_xenbus_lookup(e.xb, 2, 0, 0, 1, 0));
	CU_ASSERT_EQUAL(inquiry(&e, g[1], 0, 1, 0, NULL), 0);
	/* Its own disk kept its data, now served by loop 0's worker. */
	rh_rw10(&c, false, 8, 8, rbuf2, 4096);
	CU_ASSERT_FATAL(fake_front_queue(&g[1]->f, &c) >= 0);
	fake_front_push(&g[1]->f);
	env_run(&e);
	CU_ASSERT_EQUAL(fake_front_response(&g[1]->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(memcmp(rbuf2, wbuf, 4096), 0);
	CU_ASSERT_EQUAL(g[1]->f.errors, 0);
	/* The others were not disturbed. */
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 3, 0), 0);
	env_fini(&e);
	free(wbuf);
	free(rbuf);
	free(rbuf2);
}

/*
 * A move takes along every vhost of its loop that shares a LUN with the
 * one moving, directly or through another, and no other: guests 2 and 3
 * share a file on loop 1, guests 3 and 4 another, guest 6 has its own;
 * guest 2's hot add of loop 0's LUN moves the first three.
 */
static void test_two_loops_move_component(void)
{
	struct env e;
	struct guest *g[6];
	char p[6][PATH_MAX + 8];
	const char *vdev2[2] = {"0:0:0:0", "0:0:1:0"}, *vdev1[1] = {"0:0:0:0"};
	const char *a[1], *b[1], *bc[2], *cc[1], *x[1], *y[1];

	env_init2(&e);
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		mkfile_spec(&e, name, p[i], sizeof(p[i]));
	}
	a[0] = p[0];
	b[0] = p[1];
	bc[0] = p[1];
	bc[1] = p[2];
	cc[0] = p[2];
	x[0] = p[3];
	y[0] = p[4];
	g[0] = attach(&e, 0, 1, 0, a, vdev1, 1);  /* loop 0 */
	g[1] = attach(&e, 1, 2, 0, b, vdev1, 1);  /* loop 1 */
	g[4] = attach(&e, 4, 5, 0, x, vdev1, 1);  /* loop 0 (one ring each) */
	g[5] = attach(&e, 5, 6, 0, y, vdev1, 1);  /* loop 1 */
	g[2] = attach(&e, 2, 3, 0, bc, vdev2, 2); /* loop 1: f1 */
	g[3] = attach(&e, 3, 4, 0, cc, vdev1, 1); /* loop 1: f2 */
	CU_ASSERT_EQUAL(loop_of(&e, 1, 0), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1);
	CU_ASSERT_EQUAL(loop_of(&e, 3, 0), 1);
	CU_ASSERT_EQUAL(loop_of(&e, 4, 0), 1);
	CU_ASSERT_EQUAL(loop_of(&e, 5, 0), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 6, 0), 1);
	loops_hot_add(&e, g[1], 1, p[0], "0:0:1:0");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "vscsi-devs/dev-1/state"), "1,3,4");
	CU_ASSERT_TRUE(log_has("d2 v0: moving from event loop 1 to 0, which serves p-dev"));
	CU_ASSERT_TRUE(log_has("(3 vhosts move"));
	for (uint32_t d = 1; d <= 5; d++)
		CU_ASSERT_EQUAL(loop_of(&e, d, 0), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 6, 0), 1);
	CU_ASSERT_FALSE(log_has("d6 v0: moving"));
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(bget(&e, g[i], "state"), "4");
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
		CU_ASSERT_EQUAL(g[i]->f.errors, 0);
	}
	CU_ASSERT_EQUAL(inquiry(&e, g[1], 0, 1, 0, NULL), 0);
	CU_ASSERT_EQUAL(inquiry(&e, g[2], 0, 1, 0, NULL), 0);
	CU_ASSERT_EQUAL(stats(&e).moves, 1);
	env_fini(&e);
}

/*
 * A move whose vhost cannot drain (a command the device never answers) is
 * given up when its time is over, though nothing else happens meanwhile:
 * the main thread's sleep ends by then (pvsd_xenbus_main_timeout_ms()).
 * The vhost stays on its loop and serves on, the hot add is refused with
 * the reason, and the held command is answered when the device answers.
 */
static void test_two_loops_move_timeout(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g[2];
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	char p0[PATH_MAX + 8];
	const char *a[1], *b[1] = {"2:0:0:0"}, *vdev[1] = {"0:0:0:0"};
	int ms, i, got = 0;

	env_init2(&e);
	e.move_timeout_ms = 300;
	sg_setup(&e, &sg);
	mkfile_spec(&e, "f0", p0, sizeof(p0));
	a[0] = p0;
	g[0] = attach(&e, 0, 1, 0, a, vdev, 1);
	g[1] = attach(&e, 1, 2, 0, b, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 1, 0), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1);
	CU_ASSERT_EQUAL(pvsd_xenbus_main_timeout_ms(e.xb), -1);
	/* Guest 2's TEST UNIT READY, held in the device. */
	fake_sg_hold(true);
	rh_tur(&c);
	CU_ASSERT_FATAL(fake_front_queue(&g[1]->f, &c) >= 0);
	fake_front_push(&g[1]->f);
	for (i = 0; i < 100 && env_inflight(&e) != 1; i++)
		env_step(&e);
	CU_ASSERT_EQUAL_FATAL(env_inflight(&e), 1);
	/* Loop 0's file hot-added to it: the vhost must move, and cannot drain. */
	bset(&e, g[1], "vscsi-devs/dev-1/p-dev", p0);
	bset(&e, g[1], "vscsi-devs/dev-1/v-dev", "0:0:1:0");
	bset(&e, g[1], "vscsi-devs/dev-1/state", "1");
	bset(&e, g[1], "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g[1], "state", "7"), 0);
	for (i = 0; i < 100 && pvsd_xenbus_main_timeout_ms(e.xb) < 0; i++)
		env_step(&e);
	ms = pvsd_xenbus_main_timeout_ms(e.xb);
	CU_ASSERT_TRUE(ms > 0 && ms <= 300);
	for (i = 0; i < 100 && !log_has("cannot move to event loop 0"); i++) {
		env_step(&e);
		usleep(10000);
	}
	CU_ASSERT_TRUE(log_has("d2 v0: cannot move to event loop 0: its rings or LUNs were "
	                       "still busy after 0.3 s; staying on 1"));
	CU_ASSERT_EQUAL(pvsd_xenbus_main_timeout_ms(e.xb), -1);
	/* The device answers: the TUR comes back, the ring serves on, on loop 1. */
	fake_sg_hold(false);
	CU_ASSERT_EQUAL(fake_sg_release(), 1);
	for (i = 0; i < 100 && (got = fake_front_response(&g[1]->f, &rsp)) != 1; i++)
		if (!env_step(&e))
			pvs_worker_wait(e.w2, 10);
	CU_ASSERT_EQUAL(got, 1);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, g[1], "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_TRUE(log_has("could not move there"));
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_STRING_EQUAL(bget(&e, g[1], "state"), "4");
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1);
	CU_ASSERT_EQUAL(stats(&e).moves, 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
		CU_ASSERT_EQUAL(g[i]->f.errors, 0);
	}
	sg_teardown(&sg);
	env_fini(&e);
}

/*
 * A move the new loop refuses (its worker's epoll set takes no fd, so the
 * moving file LUN's watch cannot go there): the units go back, the vhost
 * stays on its loop and serves on, and the hot add that asked for it is
 * refused with the reason.
 */
static void test_two_loops_move_refused(void)
{
	struct env e;
	struct guest *g[2];
	char p0[PATH_MAX + 8], p1[PATH_MAX + 8];
	const char *a[1], *b[1], *vdev[1] = {"0:0:0:0"};
	int epfd, keep, efd;

	env_init2(&e);
	mkfile_spec(&e, "f0", p0, sizeof(p0));
	mkfile_spec(&e, "f1", p1, sizeof(p1));
	a[0] = p0;
	b[0] = p1;
	g[0] = attach(&e, 0, 1, 0, a, vdev, 1);
	g[1] = attach(&e, 1, 2, 0, b, vdev, 1);
	CU_ASSERT_EQUAL(loop_of(&e, 1, 0), 0);
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1);
	/* Loop 0's worker set becomes an eventfd for the move: EPOLL_CTL_ADD fails. */
	epfd = pvs_worker_fd(e.w);
	keep = dup(epfd);
	efd = eventfd(0, EFD_CLOEXEC);
	CU_ASSERT_FATAL(keep >= 0 && efd >= 0);
	bset(&e, g[1], "vscsi-devs/dev-1/p-dev", p0);
	bset(&e, g[1], "vscsi-devs/dev-1/v-dev", "0:0:1:0");
	bset(&e, g[1], "vscsi-devs/dev-1/state", "1");
	bset(&e, g[1], "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g[1], "state", "7"), 0);
	CU_ASSERT_FATAL(dup2(efd, epfd) == epfd);
	for (int i = 0; i < 200 && !log_has("cannot move to event loop 0"); i++)
		env_step(&e);
	CU_ASSERT_FATAL(dup2(keep, epfd) == epfd);
	close(keep);
	close(efd);
	env_run(&e);
	CU_ASSERT_EQUAL(fset(&e, g[1], "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_TRUE(log_has("d2 v0: cannot move to event loop 0: file:"));
	CU_ASSERT_TRUE(log_has("staying on 1"));
	CU_ASSERT_TRUE(log_has("could not move there"));
	CU_ASSERT_STRING_EQUAL(bhist(&e, g[1], "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_STRING_EQUAL(bget(&e, g[1], "state"), "4");
	CU_ASSERT_EQUAL(loop_of(&e, 2, 0), 1); /* and its file on loop 1's worker */
	CU_ASSERT_EQUAL(stats(&e).moves, 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(inquiry(&e, g[i], 0, 0, 0, NULL), 0);
		CU_ASSERT_EQUAL(g[i]->f.errors, 0);
	}
	env_fini(&e);
}

static void test_adopt_on_start(void)
{
	struct env e;
	struct guest *g;
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	const char *pdev[2] = {"mem:1M", "mem:1M"}, *vdev[2] = {"0:0:0:0", "0:0:1:0"};
	uint8_t *buf = rh_alloc(4096);
	int rqid;

	env_init(&e);
	g = attach(&e, 0, 4, 0, pdev, vdev, 2);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, NULL), 0);
	/* The daemon stops (SIGTERM): xenstore is left as it is. */
	CU_ASSERT_TRUE(pvsd_xenbus_idle(e.xb));
	xb_stop(&e);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "4");
	fake_xs_clear_history(e.fx);
	/* The guest goes on queueing while no daemon runs. */
	rh_inquiry(&c, buf, 96, 96);
	c.id = 1;
	rqid = fake_front_queue(&g->f, &c);
	CU_ASSERT_FATAL(rqid >= 0);
	fake_front_push(&g->f);

	CU_ASSERT_FATAL(xb_start(&e) == 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).adopted, 1);
	CU_ASSERT_EQUAL(stats(&e).rings, 1);
	CU_ASSERT_EQUAL(mapped_rings(&e), 1);
	/* Nothing rewritten: the frontend sees no change. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "state"), "");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "");
	CU_ASSERT_PTR_NOT_NULL(pvsd_xenbus_lookup(e.xb, 4, 0, 0, 1, 0));
	/* The request queued meanwhile is answered, once. */
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rqid, rqid);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	CU_ASSERT_EQUAL(buf[0], 0x00);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 0);
	/* Resumed at the shared rsp_prod: old slots (now responses) are not requests again. */
	CU_ASSERT_FALSE(log_has("rejected"));
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 1, 0, NULL), 0);
	CU_ASSERT_EQUAL(g->f.errors, 0);
	CU_ASSERT_TRUE(log_has("d4 v0: found in state Connected at start-up: adopting"));
	CU_ASSERT_TRUE(log_has("d4 v0: adopted ring-ref"));
	free(buf);
	env_fini(&e);
}

static void test_adopt_mid_reconfigure(void)
{
	struct env e;
	struct guest *g;
	const char *pdev[2] = {"mem:1M", "mem:1M"}, *vdev[2] = {"0:0:0:0", "0:0:1:0"};

	env_init(&e);
	g = attach(&e, 0, 4, 1, pdev, vdev, 2);
	xb_stop(&e);
	/* While no daemon runs, the toolstack asks to remove dev-1, the frontend agrees. */
	bset(&e, g, "vscsi-devs/dev-1/state", "5");
	bset(&e, g, "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "7"), 0);
	CU_ASSERT_FATAL(xb_start(&e) == 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).adopted, 1);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-1/state"), "6");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "8");
	CU_ASSERT_PTR_NULL(pvsd_xenbus_lookup(e.xb, 4, 1, 0, 1, 0));
	CU_ASSERT_PTR_NOT_NULL(pvsd_xenbus_lookup(e.xb, 4, 1, 0, 0, 0));
	CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "4");
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, NULL), 0);
	env_fini(&e);
}

/* The host device the resolved p-dev tests name by H:C:T:L and by WWID. */
#define RESOLVED_DEV                                                                               \
	{                                                                                          \
		.host = 3, .target = 1, .type = 0, .wwid = "naa.600140512345678901234567890abcde", \
		.sg = "sg2", .block = "sdc"                                                        \
	}

/* toolstack_add with feature-host=1, and the frontend's probe: the backend's answer is up to it. */
static struct guest *host_mode_add(struct env *e, unsigned int slot, uint32_t domid, uint32_t vhost,
                                   const char *const *pdev, const char *const *vdev,
                                   unsigned int ndev)
{
	struct guest *g = toolstack_add(e, slot, domid, vhost, pdev, vdev, ndev);

	bset(e, g, "feature-host", "1");
	env_run(e);
	front_connect(e, g);
	env_run(e);
	return g;
}

static void test_resolved_pdev(void)
{
	struct env e;
	struct guest *g;
	struct sgenv sg;
	struct fake_scsi_dev d = RESOLVED_DEV;
	char byid[64];
	const char *pdev[2], *vdev[2] = {"0:0:0:0", "0:0:0:1"};

	env_init(&e);
	d.by_id = "scsi-36001405123456789";
	sg_setup_dev(&e, &sg, &d);
	snprintf(byid, sizeof(byid), "3:0:1:0");
	pdev[0] = byid;
	pdev[1] = "naa.600140512345678901234567890abcde:0";
	g = host_mode_add(&e, 0, 5, 0, pdev, vdev, 2);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3");
	/* Both names are one device: one LUN, the second shares it. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,3");
	CU_ASSERT_EQUAL(stats(&e).luns, 1);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/p-devname"),
	                       "naa.600140512345678901234567890abcde:0");
	CU_ASSERT_TRUE(log_has(",raw"));
	CU_ASSERT_TRUE(pvs_lun_is_raw(pvsd_xenbus_lookup(e.xb, 5, 0, 0, 0, 0)));
	/* A p-devname the toolstack wrote is left alone. */
	bset(&e, g, "vscsi-devs/dev-2/p-dev", "3:0:1:0");
	bset(&e, g, "vscsi-devs/dev-2/p-devname", "admin-name");
	bset(&e, g, "vscsi-devs/dev-2/v-dev", "0:0:0:2");
	bset(&e, g, "vscsi-devs/dev-2/state", "1");
	bset(&e, g, "state", "7");
	CU_ASSERT_EQUAL(fset(&e, g, "state", "7"), 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-2/state"), "3");
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-2/p-devname"), "admin-name");
	env_fini(&e);
	sg_teardown(&sg);
}

/* A WRITE(10) of one block to v-dev 0:0:@tgt:0: the response. */
static struct vscsiif_response write10(struct env *e, struct guest *g, uint16_t tgt)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);

	memset(&rsp, 0, sizeof(rsp));
	rh_rw10(&c, true, 0, 1, buf, 512);
	c.id = tgt;
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	fake_front_push(&g->f);
	env_run(e);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	free(buf);
	return rsp;
}

/*
 * "H:C:T:L,ro": the host LUN is opened read-only (sg:...,ro): writes answer
 * DATA PROTECT without reaching the device.  A second, read-write user of
 * the same LUN is refused (one LUN object, one mode), and so is ro on a
 * feature-host controller.
 */
static void test_resolved_pdev_ro(void)
{
	struct env e;
	struct guest *g, *g2;
	struct sgenv sg;
	const struct fake_scsi_dev d = RESOLVED_DEV;
	const char *pdev[2] = {"3:0:1:0,ro", "naa.600140512345678901234567890abcde:0"};
	const char *vdev[2] = {"0:0:0:0", "0:0:1:0"};
	struct vscsiif_response rsp;
	unsigned int writes;

	env_init(&e);
	sg_setup_dev(&e, &sg, &d);
	/* ro on a feature-host controller cannot be honoured: the LUN core says why. */
	g2 = host_mode_add(&e, 1, 7, 0, pdev, vdev, 1);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g2, "vscsi-devs/dev-0/state"), "1,6");
	CU_ASSERT_TRUE(log_has("read-only needs the CDB filter"));
	CU_ASSERT_EQUAL(stats(&e).luns, 0);

	g = attach(&e, 0, 5, 0, pdev, vdev, 2);
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-0/state"), "1,3,4");
	CU_ASSERT_TRUE(log_has("sg:"));
	CU_ASSERT_TRUE(log_has("/sg2,ro"));
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/p-devname"),
	                       "naa.600140512345678901234567890abcde:0");
	/* The same LUN without ro: refused, the first keeps working. */
	CU_ASSERT_STRING_EQUAL(bhist(&e, g, "vscsi-devs/dev-1/state"), "1,6");
	CU_ASSERT_TRUE(log_has("a second user must use the same options ('' vs 'ro')"));
	writes = fake_sg_writes();
	rsp = write10(&e, g, 0);
	CU_ASSERT_EQUAL(rsp.rslt, 2); /* CHECK CONDITION */
	CU_ASSERT_EQUAL(rsp.sense_buffer[2] & 0x0f, 0x07);
	CU_ASSERT_EQUAL(rsp.sense_buffer[12], 0x27);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes);
	CU_ASSERT_EQUAL(inquiry(&e, g, 0, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes + 1);

	env_fini(&e);
	sg_teardown(&sg);
}

/*
 * Frontend states flip at any point.  From each backend stage, the frontend
 * jumps to every state, to garbage, or loses its nodes; the backend must
 * end somewhere consistent, and a normal close must then still work.
 */
enum stage { ST_INITWAIT, ST_CONNECTED, ST_RECONFIGURED, ST_CLOSING, ST_CLOSED, NSTAGES };
#define F_GARBAGE 9
#define F_RMSTATE 10
#define F_RMDIR   11
#define NFLIPS    12

/* Expected backend state, and whether a ring stays connected; [stage][flip]. */
static const struct {
	int be;
	int ring;
} flip_expect[NSTAGES][NFLIPS] = {
    /*                0       1       2       3       4       5       6       7       8     garb
       rm-state rm-dir */
    [ST_INITWAIT] = {{6, 0},
                     {2, 0},
                     {2, 0},
                     {5, 0},
                     {2, 0},
                     {5, 0},
                     {6, 0},
                     {2, 0},
                     {2, 0},
                     {6, 0},
                     {6, 0},
                     {6, 0}},
    [ST_CONNECTED] = {{6, 0},
                      {4, 0},
                      {4, 0},
                      {4, 1},
                      {4, 1},
                      {5, 0},
                      {6, 0},
                      {8, 1},
                      {4, 1},
                      {6, 0},
                      {6, 0},
                      {6, 0}},
    [ST_RECONFIGURED] = {{6, 0},
                         {8, 0},
                         {8, 0},
                         {8, 1},
                         {4, 1},
                         {5, 0},
                         {6, 0},
                         {8, 1},
                         {8, 1},
                         {6, 0},
                         {6, 0},
                         {6, 0}},
    [ST_CLOSING] = {{6, 0},
                    {5, 0},
                    {5, 0},
                    {4, 1},
                    {5, 0},
                    {5, 0},
                    {6, 0},
                    {5, 0},
                    {5, 0},
                    {6, 0},
                    {6, 0},
                    {6, 0}},
    [ST_CLOSED] = {{6, 0},
                   {6, 0},
                   {6, 0},
                   {4, 1},
                   {6, 0},
                   {6, 0},
                   {6, 0},
                   {6, 0},
                   {6, 0},
                   {6, 0},
                   {6, 0},
                   {6, 0}},
};

static void check_consistent(struct env *e, struct guest *g, const char *what)
{
	unsigned int n = 0;
	char path[200];
	const char *s = bget(e, g, "state");
	struct pvsd_xenbus_stats st = stats(e);

	CU_ASSERT_TRUE(strlen(s) == 1 && s[0] >= '1' && s[0] <= '8');
	CU_ASSERT_EQUAL(mapped_rings(e), st.rings);
	if (st.rings)
		CU_ASSERT_TRUE(s[0] == '4' || s[0] == '7' || s[0] == '8');
	for (unsigned int i = 0; i < 3; i++) {
		const char *ds;

		snprintf(path, sizeof(path), "vscsi-devs/dev-%u/state", i);
		ds = bget(e, g, path);
		if (strcmp(ds, "(none)") == 0)
			continue;
		n++;
		CU_ASSERT_TRUE(strlen(ds) == 1 && strchr("13456", ds[0]));
	}
	CU_ASSERT_TRUE(n >= 1);
	if (CU_get_number_of_failures())
		fprintf(stderr, "after %s: backend %s, rings %u\n", what, s, st.rings);
}

static void flip_one(enum stage stage, int flip)
{
	struct env e;
	struct guest *g;
	const char *pdev[1] = {"mem:1M"}, *vdev[1] = {"0:0:0:0"};
	char what[64];
	unsigned int fails = CU_get_number_of_failures();

	snprintf(what, sizeof(what), "stage %d flip %d", stage, flip);
	env_init(&e);
	g = toolstack_add(&e, 0, 20, 0, pdev, vdev, 1);
	env_run(&e);
	if (stage != ST_INITWAIT) {
		front_connect(&e, g);
		env_run(&e);
		CU_ASSERT_EQUAL(fset(&e, g, "state", "4"), 0);
		env_run(&e);
	}
	if (stage == ST_RECONFIGURED) {
		bset(&e, g, "vscsi-devs/dev-1/p-dev", "mem:1M");
		bset(&e, g, "vscsi-devs/dev-1/v-dev", "0:0:1:0");
		bset(&e, g, "vscsi-devs/dev-1/state", "1");
		bset(&e, g, "state", "7");
		CU_ASSERT_EQUAL(fset(&e, g, "state", "7"), 0);
		env_run(&e);
		CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "8");
	}
	if (stage == ST_CLOSING || stage == ST_CLOSED) {
		CU_ASSERT_EQUAL(fset(&e, g, "state", "5"), 0);
		env_run(&e);
		CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "5");
	}
	if (stage == ST_CLOSED) {
		CU_ASSERT_EQUAL(fset(&e, g, "state", "6"), 0);
		env_run(&e);
		CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "6");
	}

	if (flip <= 8) {
		char v[16];

		snprintf(v, sizeof(v), "%d", flip);
		CU_ASSERT_EQUAL(fset(&e, g, "state", v), 0);
	} else if (flip == F_GARBAGE) {
		CU_ASSERT_EQUAL(fset(&e, g, "state", "bogus"), 0);
	} else {
		char path[128];

		snprintf(path, sizeof(path), "%s%s", g->fe, flip == F_RMSTATE ? "/state" : "");
		CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 20, path), 0);
	}
	env_run(&e);
	check_consistent(&e, g, what);
	{
		const char *s = bget(&e, g, "state");
		int be = s[0] - '0';

		CU_ASSERT_EQUAL(be, flip_expect[stage][flip].be);
		CU_ASSERT_EQUAL((int)stats(&e).rings, flip_expect[stage][flip].ring);
		if (be != flip_expect[stage][flip].be ||
		    (int)stats(&e).rings != flip_expect[stage][flip].ring)
			fprintf(stderr, "%s: backend %d rings %u, expected %d %d\n", what, be,
			        stats(&e).rings, flip_expect[stage][flip].be,
			        flip_expect[stage][flip].ring);
	}
	/* A normal close still works from wherever we are. */
	bset(&e, g, "online", "0");
	if (flip != F_RMDIR) {
		CU_ASSERT_EQUAL(fset(&e, g, "state", "5"), 0);
		env_run(&e);
		CU_ASSERT_EQUAL(fset(&e, g, "state", "6"), 0);
	}
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), "6");
	CU_ASSERT_EQUAL(stats(&e).rings, 0);
	CU_ASSERT_EQUAL(stats(&e).luns, 0);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, g->be), 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).vhosts, 0);
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, g->be));
	if (CU_get_number_of_failures() != fails) {
		fprintf(stderr, "failed: %s\n", what);
		log_dump();
	}
	env_fini(&e);
}

static void test_frontend_flips(void)
{
	for (int s = 0; s < NSTAGES; s++)
		for (int f = 0; f < NFLIPS; f++)
			flip_one((enum stage)s, f);
}

/* The frontend keeps flipping while a drain waits for a command in flight. */
static void test_flips_during_drain(void)
{
	static const struct {
		const char *flips[3];
		const char *be; /* after the command finished */
		unsigned int rings;
	} cases[] = {
	    {{"5", "6", NULL}, "6", 0}, /* the normal close, hurried */
	    {{"5", "4", NULL}, "4", 1}, /* changed its mind: connect again */
	    {{"1", "6", NULL}, "6", 0}, /* resume abandoned */
	    {{"5", "7", "5"}, "5", 0},  /* nonsense in between */
	    {{"6", "x", NULL}, "6", 0}, /* garbage: released */
	};

	for (unsigned int k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct env e;
		struct sgenv sg;
		struct guest *g;
		const char *pdev[1] = {"2:0:0:0"}, *vdev[1] = {"0:0:0:0"};
		struct vscsiif_response rsp;
		unsigned int fails = CU_get_number_of_failures();

		env_init(&e);
		sg_setup(&e, &sg);
		g = attach(&e, 0, 40, 0, pdev, vdev, 1);
		tur_held(&e, g, 0);
		for (unsigned int i = 0; i < 3 && cases[k].flips[i]; i++) {
			CU_ASSERT_EQUAL(fset(&e, g, "state", cases[k].flips[i]), 0);
			env_xs_only(&e);
			/* Nothing is unmapped while the command runs. */
			CU_ASSERT_EQUAL(mapped_rings(&e), 1);
			CU_ASSERT_EQUAL(env_inflight(&e), 1);
		}
		CU_ASSERT_EQUAL(fake_sg_release(), 1);
		env_run(&e);
		CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
		CU_ASSERT_EQUAL(rsp.rslt, 0);
		CU_ASSERT_STRING_EQUAL(bget(&e, g, "state"), cases[k].be);
		CU_ASSERT_EQUAL(stats(&e).rings, cases[k].rings);
		CU_ASSERT_EQUAL(mapped_rings(&e), cases[k].rings);
		if (CU_get_number_of_failures() != fails) {
			fprintf(stderr, "flips during drain, case %u\n", k);
			log_dump();
		}
		env_fini(&e);
		sg_teardown(&sg);
	}
}

/* Backend directory removed under a connected vhost with requests in flight. */
static void test_backend_removed(void)
{
	struct env e;
	struct sgenv sg;
	struct guest *g;
	const char *pdev[1] = {"2:0:0:0"}, *vdev[1] = {"0:0:0:0"};

	env_init(&e);
	sg_setup(&e, &sg);
	g = attach(&e, 0, 30, 0, pdev, vdev, 1);
	tur_held(&e, g, 0);
	CU_ASSERT_EQUAL(fake_xs_rm(e.fx, 0, g->be), 0);
	env_xs_only(&e);
	pvs_worker_poll(e.w);
	pvsd_xenbus_after_poll(e.xb);
	CU_ASSERT_EQUAL(mapped_rings(&e), 1); /* not before the command finished */
	CU_ASSERT_EQUAL(stats(&e).luns, 1);
	CU_ASSERT_EQUAL(fake_sg_release(), 1);
	env_run(&e);
	CU_ASSERT_EQUAL(mapped_rings(&e), 0);
	CU_ASSERT_EQUAL(stats(&e).vhosts, 0);
	CU_ASSERT_EQUAL(stats(&e).luns, 0);
	CU_ASSERT_FALSE(fake_xs_exists(e.fx, g->be));
	CU_ASSERT_EQUAL(g->f.errors, 0);
	env_fini(&e);
	sg_teardown(&sg);
}

/* A CDB with no data to v-dev 0:0:0:0: the response (sense included). */
static struct vscsiif_response nodata(struct env *e, struct guest *g, const uint8_t *cdb,
                                      uint8_t len)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;

	memset(&rsp, 0, sizeof(rsp));
	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, cdb, len);
	c.cdb_len = len;
	c.dir = PVSP_DIR_NONE;
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	fake_front_push(&g->f);
	env_run(e);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	return rsp;
}

/* TEST UNIT READY past the unit attentions: 0 (GOOD) or sense key << 16 | ASC << 8 | ASCQ. */
static unsigned int tur_settled(struct env *e, struct guest *g)
{
	static const uint8_t tur[6] = {0x00};

	for (int i = 0; i < 8; i++) {
		struct vscsiif_response r = nodata(e, g, tur, 6);
		unsigned int key = r.sense_buffer[2] & 0x0f;

		if (r.rslt == 0)
			return 0;
		if (key != 0x06)
			return key << 16 | (unsigned int)r.sense_buffer[12] << 8 |
			       r.sense_buffer[13];
	}
	return 0xffffffffu;
}

/* READ CAPACITY(10)'s last LBA of v-dev 0:0:0:0 (UAs cleared first). */
static uint32_t last_lba(struct env *e, struct guest *g)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;
	uint8_t *buf = rh_alloc(4096);
	uint32_t lba;

	CU_ASSERT_EQUAL(tur_settled(e, g), 0);
	memset(&c, 0, sizeof(c));
	c.cdb[0] = 0x25;
	c.cdb_len = 10;
	c.dir = PVSP_DIR_FROM_DEV;
	c.buf = buf;
	c.len = 8;
	CU_ASSERT_FATAL(fake_front_queue(&g->f, &c) >= 0);
	fake_front_push(&g->f);
	env_run(e);
	CU_ASSERT_EQUAL(fake_front_response(&g->f, &rsp), 1);
	CU_ASSERT_EQUAL(rsp.rslt, 0);
	lba = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	free(buf);
	return lba;
}

/* The toolstack's medium change (xl scsi-insert/scsi-eject): p-dev, medium-force, medium-seq. */
static void medium_ask(struct env *e, struct guest *g, const char *pdev, bool force,
                       const char *seq)
{
	bset(e, g, "vscsi-devs/dev-0/p-dev", pdev);
	bset(e, g, "vscsi-devs/dev-0/medium-force", force ? "1" : "0");
	bset(e, g, "vscsi-devs/dev-0/medium-seq", seq);
	env_run(e);
}

/*
 * A cdrom: drive's medium changes at run time: the backend answers every
 * request (medium-done = its seq, medium-error the reason or ""); a
 * refused change (removal prevented by the guest, a bad image, a p-dev that
 * is no medium, a p-dev the guest could have written) leaves the drive as
 * it was.  A disk ignores the nodes.
 */
static void test_medium_change(void)
{
	struct env e;
	struct guest *g;
	char a[PATH_MAX], b[PATH_MAX], spec_a[PATH_MAX + 8], spec_b[PATH_MAX + 8], perm[32];
	const char *pdev[2], *vdev[2] = {"0:0:0:0", "0:0:1:0"};
	static const uint8_t prevent[6] = {0x1e, 0, 0, 0, 1, 0};

	env_init(&e);
	mkfile(&e, "a.iso", 1, a, sizeof(a));
	mkfile(&e, "b.iso", 2, b, sizeof(b));
	snprintf(spec_a, sizeof(spec_a), "cdrom:%s", a);
	snprintf(spec_b, sizeof(spec_b), "cdrom:%s", b);
	pdev[0] = spec_a;
	pdev[1] = "mem:1M";
	g = attach(&e, 0, 5, 0, pdev, vdev, 2);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/state"), "4");
	CU_ASSERT_EQUAL(last_lba(&e, g), 511);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "(none)");

	/* insert another image */
	medium_ask(&e, g, spec_b, false, "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_EQUAL(last_lba(&e, g), 1023);
	CU_ASSERT(log_has("medium ") && log_has("b.iso"));

	/* the guest prevents removal: an eject is refused, the disc stays */
	CU_ASSERT_EQUAL(nodata(&e, g, prevent, 6).rslt, 0);
	medium_ask(&e, g, "cdrom:", false, "2");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "2");
	CU_ASSERT_STRING_NOT_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_EQUAL(last_lba(&e, g), 1023);
	/* ... unless forced */
	medium_ask(&e, g, "cdrom:", true, "3");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "3");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_EQUAL(tur_settled(&e, g),
	                0x023a02); /* NOT READY, MEDIUM NOT PRESENT - TRAY OPEN */

	/* an image that does not exist: named, the drive still empty */
	medium_ask(&e, g, "cdrom:/nonexistent/c.iso", false, "4");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "4");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "/nonexistent/c.iso"));
	CU_ASSERT_EQUAL(tur_settled(&e, g), 0x023a02);

	/* a p-dev that is no medium */
	medium_ask(&e, g, "mem:1M", false, "5");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "5");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "no cdrom: medium"));

	/* a p-dev the guest can write names nothing */
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/vscsi-devs/dev-0/p-dev", g->be);
		CU_ASSERT_EQUAL(fake_xs_write(e.fx, 0, path, "%s", spec_a), 0);
		snprintf(perm, sizeof(perm), "n0 b%u", g->domid);
		CU_ASSERT_EQUAL(fake_xs_chmod(e.fx, path, perm, false), 0);
		bset(&e, g, "vscsi-devs/dev-0/medium-seq", "6");
		env_run(&e);
		CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "6");
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "writable by the guest"));
		CU_ASSERT_EQUAL(tur_settled(&e, g), 0x023a02);
		snprintf(perm, sizeof(perm), "n0 r%u", g->domid);
		CU_ASSERT_EQUAL(fake_xs_chmod(e.fx, path, perm, false), 0);
	}

	/* an old seq is not applied again; a new one loads */
	bset(&e, g, "vscsi-devs/dev-0/medium-seq", "6");
	env_run(&e);
	CU_ASSERT_EQUAL(tur_settled(&e, g), 0x023a02);
	medium_ask(&e, g, spec_a, false, "7");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_EQUAL(last_lba(&e, g), 511);

	/* a disk's medium nodes are not the backend's business */
	bset(&e, g, "vscsi-devs/dev-1/medium-seq", "1");
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-1/medium-done"), "(none)");
	CU_ASSERT_EQUAL(g->f.errors, 0);
	env_fini(&e);
}

/*
 * A restarted pvscsid opens a cdrom: drive with the disc p-dev names: the
 * last one the toolstack put in, including one asked for while no daemon
 * ran (answered then, not applied twice).
 */
static void test_medium_across_restart(void)
{
	struct env e;
	struct guest *g;
	char a[PATH_MAX], b[PATH_MAX], spec_a[PATH_MAX + 8], spec_b[PATH_MAX + 8];
	const char *pdev[1], *vdev[1] = {"0:0:0:0"};

	env_init(&e);
	mkfile(&e, "a.iso", 1, a, sizeof(a));
	mkfile(&e, "b.iso", 2, b, sizeof(b));
	snprintf(spec_a, sizeof(spec_a), "cdrom:%s", a);
	snprintf(spec_b, sizeof(spec_b), "cdrom:%s", b);
	pdev[0] = spec_a;
	g = attach(&e, 0, 4, 0, pdev, vdev, 1);
	medium_ask(&e, g, spec_b, false, "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "1");
	CU_ASSERT_EQUAL(last_lba(&e, g), 1023);

	/* Restarted: the drive holds b.iso again; nothing asked is applied twice. */
	CU_ASSERT_TRUE(pvsd_xenbus_idle(e.xb));
	xb_stop(&e);
	fake_xs_clear_history(e.fx);
	CU_ASSERT_FATAL(xb_start(&e) == 0);
	env_run(&e);
	CU_ASSERT_EQUAL(stats(&e).adopted, 1);
	CU_ASSERT_EQUAL(last_lba(&e, g), 1023);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "1");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_FALSE(log_has("medium change 1"));

	/* Ejected while no daemon ran: opened empty, and the request answered. */
	xb_stop(&e);
	bset(&e, g, "vscsi-devs/dev-0/p-dev", "cdrom:");
	bset(&e, g, "vscsi-devs/dev-0/medium-seq", "2");
	CU_ASSERT_FATAL(xb_start(&e) == 0);
	env_run(&e);
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-done"), "2");
	CU_ASSERT_STRING_EQUAL(bget(&e, g, "vscsi-devs/dev-0/medium-error"), "");
	CU_ASSERT_EQUAL(tur_settled(&e, g), 0x023a01); /* MEDIUM NOT PRESENT - TRAY CLOSED */
	CU_ASSERT_EQUAL(g->f.errors, 0);
	env_fini(&e);
}

#define ADD(suite, name, fn)                                                                       \
	do {                                                                                       \
		if (!only || strstr(name, only))                                                   \
			CU_add_test(suite, name, fn);                                              \
	} while (0)

int main(void)
{
	CU_pSuite s;
	unsigned int fails;
	const char *only;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	only = getenv("XB_ONLY"); /* a developer's filter: tests whose name contains it */
	s = CU_add_suite("fake_xs", NULL, NULL);
	ADD(s, "permissions and watches", test_fake_xs_perms_watches);
	ADD(s, "transactions", test_fake_xs_transactions);
	ADD(s, "strict decimal parse", test_parse_uint);
	s = CU_add_suite("xenbus", NULL, NULL);
	ADD(s, "connect: exact nodes and states", test_connect);
	ADD(s, "--backend-type: another backend/<type>", test_backend_type);
	ADD(s, "bad p-dev: dev 6, other dev 4", test_bad_pdev_other_dev_works);
	ADD(s, "iscsi:// logs in as the domain's UUID", test_iscsi_initiator_is_the_domain_uuid);
	ADD(s, "an iSCSI login holds up no other guest; its vhost waits for it",
	    test_iscsi_login_holds_up_nobody);
	ADD(s, "xen-scsiback took the event channel", test_scsiback_took_the_channel);
	ADD(s, "malformed nodes", test_malformed_nodes);
	ADD(s, "frontend-id and permissions", test_frontend_id_and_perms);
	ADD(s, "transaction EAGAIN retried", test_tx_retry);
	ADD(s, "hot add", test_hot_add);
	ADD(s, "hot remove drains first", test_hot_remove_drains);
	ADD(s, "deferred kicks: a busy ring stays unarmed", test_defer_kicks);
	ADD(s, "coalescing: polling, and no hold with half the ring in flight", test_coalesce_room);
	ADD(s, "close with requests in flight", test_close_with_inflight);
	ADD(s, "frontend resume: new ring, same v-devs", test_frontend_resume);
	ADD(s, "several guests and vhosts, shared LUN", test_several_guests_share_lun);
	ADD(s, "two event loops: placement follows the LUNs, a hot add moves",
	    test_two_loops_placement);
	ADD(s, "two event loops: a move takes the vhosts sharing LUNs",
	    test_two_loops_move_component);
	ADD(s, "two event loops: a move the new loop refuses", test_two_loops_move_refused);
	ADD(s, "two event loops: a move that cannot drain is given up in time",
	    test_two_loops_move_timeout);
	ADD(s, "adopt on start", test_adopt_on_start);
	ADD(s, "adopt in the middle of a hot remove", test_adopt_mid_reconfigure);
	ADD(s, "p-dev resolved to sg, p-devname", test_resolved_pdev);
	ADD(s, "p-dev H:C:T:L,ro: read-only sg LUN", test_resolved_pdev_ro);
	ADD(s, "frontend flips at every stage", test_frontend_flips);
	ADD(s, "frontend flips during a drain", test_flips_during_drain);
	ADD(s, "backend directory removed with I/O in flight", test_backend_removed);
	ADD(s, "cdrom: medium change by the toolstack", test_medium_change);
	ADD(s, "cdrom: the disc p-dev names across a restart", test_medium_across_restart);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
