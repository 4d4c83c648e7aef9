/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenbus.c - the vscsiif backend state machine on xenstore.
 *
 * Ground truth is what Linux's xen-scsifront does (and what xen-scsiback
 * answers), see docs/backend.md.  The machine is written as a reconciler:
 * every watch event marks a vhost dirty, and reconcile() reads the current
 * backend and frontend nodes and takes the next step from there.  It never
 * trusts the order of events (xenstore coalesces nothing, but we read
 * values later than they were written, and the frontend may have moved on),
 * so any frontend state at any moment leads somewhere consistent.
 *
 * Things that must wait for requests in flight (closing, a frontend resume,
 * a hot remove, closing a LUN) are left half-done and picked up again from
 * pvsd_xenbus_after_poll() once the worker has completed the requests.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "log.h"
#include "pvscsi/map.h"
#include "pvscsi/spec.h"
#include "ring.h"
#include "xenbus.h"
#include "xs_nodes.h"

#define TOKEN_BE       "pvsd-be"
#define TOKEN_FE       "pvsd-fe/"
#define DOMID_MAX      0x7fefu /* DOMID_FIRST_RESERVED - 1 */
#define TX_RETRIES     16
#define DEV_NAME_MAX   48
#define RECONCILE_LOOP 8
/* How long a move between event loops may wait for its rings and LUNs to go idle. */
#define MOVE_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)
/* The per-loop calls over the rings of every loop. */
#define ALL_LOOPS PVSD_XENBUS_ALL_LOOPS

struct xb_vhost;

struct xb_dev {
	struct xb_dev *next;
	struct xb_vhost *v;
	char name[DEV_NAME_MAX];
	uint32_t chn, tgt, lun; /* v-dev; the host number is not the guest's business */
	struct pvs_unit *l;     /* mapped through it */
	char pdev[128];         /* as read from xenstore, for status listings */
	uint64_t medium_done;   /* the last medium-seq applied (cdrom: drives) */
	char vdev[48];          /* as read from xenstore, for log lines */
	struct pvs_unit *drain; /* unmapped, waiting for the LUN to close (pinned) */
	bool seen;
	/*
	 * An iscsi:// or rbd: p-dev opens on a thread of its own
	 * (pvs_host_unit_open()); the device stays Initialising meanwhile, and
	 * the pass after the open ended maps it or closes it.
	 */
	struct pvs_unit_wait *opening;
	/* An ended open not yet taken by dev_map(): its unit (one reference), or its error. */
	struct pvs_unit *opened;
	int open_rc;
	char open_pdev[128]; /* what it opened: a p-dev changed since is opened again */
	char open_err[512];
};

struct xb_vhost {
	struct xb_vhost *next;
	struct pvsd_xenbus *xb;
	uint32_t domid, id;
	char be[96];
	char fe[160];
	char token[64];
	struct plog_tag tag;
	bool active;   /* state machine running: we wrote InitWait or adopted */
	bool adopt;    /* found at start-up: may be adopted in any state */
	bool adopting; /* activated by adoption; the first ring connect adopts */
	bool gone;     /* backend directory removed */
	bool dead;     /* torn down; free at the next sweep */
	bool dirty;    /* reconcile at the next chance */
	bool waiting;  /* a hot remove waits for a LUN to drain, or an attach for its open */
	bool opened;   /* an open ended: its device's pass is due */
	/* The ring is connected; Connected waits for the opens of this pass (enum dev_pass). */
	int connect_pass;
	bool watching;
	bool fe_seen;
	bool feature_host;
	int loop; /* xb->loops[loop] runs its ring and units; -1: nothing placed yet */
	/*
	 * Moving to xb->loops[move_to], with every vhost of its loop it shares
	 * a unit with (move_begin()): its ring drains and is unmapped, its
	 * units change worker, then it connects again (moves_run()); -1: none.
	 */
	int move_to;
	bool reattach;      /* its ring was unmapped for a move: map it again */
	char move_err[384]; /* why the last move failed, for the device that asked */
	struct pvs_map *map;
	struct xb_dev *devs;
	struct pvsd_ring *ring;
	bool ring_stopping;
	bool ring_more;
	int ring_fd;
	uint32_t ring_ref, evtchn;
	unsigned int max_segs;
	/*
	 * The ring-ref/event-channel (and read result) a connect failed on:
	 * not retried until the frontend changes them or its state.
	 */
	bool cf_valid;
	int cf_rc;
	uint32_t cf_ref, cf_port;
	char last_msg[200]; /* the last problem logged, so a retry does not repeat it */
};

struct pvsd_xenbus {
	struct pvsd_xenbus_cfg cfg;
	struct pvx_xs xs;
	uint32_t domid;
	char base[72]; /* "/local/domain/<domid>/backend/<type>" */
	char be_type[PVSD_BE_TYPE_MAX + 1];
	struct xb_vhost *vhosts;
	struct pvsd_xb_loop loops[PVSD_XB_MAX_LOOPS];
	unsigned int nloops;
	bool running[PVSD_XB_MAX_LOOPS]; /* started (or with no start hook) */
	struct pvs_host *host;           /* the LUN pool: every vhost of every domain shares it */
	bool own_host;
	bool scanned; /* the start-up scan (adoption) is done */
	bool rescan;
	bool stopping;
	unsigned int poll_us;     /* pvsd_xenbus_set_poll_us(); 0: no polling */
	unsigned int coalesce_us; /* pvsd_xenbus_set_coalesce_us(); 0: none */
	bool defer_kicks;         /* pvsd_xenbus_set_defer_kicks() */
	uint64_t move_deadline;   /* pvs_now_ns(): the move under way is given up after */
	uint64_t moves;
	uint64_t reconnects, adopted;
};

static void reconcile(struct xb_vhost *v);

/* ---- logging ---- */

static void vlog(struct xb_vhost *v, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vlog(struct xb_vhost *v, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog(&v->tag, prio, fmt, ap);
	va_end(ap);
}

/* Log a problem once: reconcile() retries on every event and must not flood. */
static void vlog_once(struct xb_vhost *v, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vlog_once(struct xb_vhost *v, int prio, const char *fmt, ...)
{
	char msg[sizeof(v->last_msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, v->last_msg) == 0)
		return;
	snprintf(v->last_msg, sizeof(v->last_msg), "%s", msg);
	vlog(v, prio, "%s", msg);
}

/* The one table of xenbus state names is the Xen layer's (the xl front shows the same). */
const char *pvsd_xb_state_name(int s)
{
	const char *n = pvx_xenbus_state_name(s);

	return n ? n : "invalid";
}

/* ---- xenbus states ---- */

/*
 * Every write fires our own watch and brings us back here: writing only
 * changes keeps reconcile() from feeding itself.
 */
static int set_state_force(struct xb_vhost *v, int old, int st)
{
	char val[4];
	int rc;

	snprintf(val, sizeof(val), "%d", st);
	rc = pvx_xs_write_guarded(&v->xb->xs, v->be, XSN_STATE, val);
	if (rc == -ENOENT) {
		v->gone = true;
		return rc;
	}
	if (rc) {
		vlog(v, LOG_ERR, "writing state %d: %s", st, strerror(-rc));
		return rc;
	}
	vlog(v, LOG_INFO, "backend state %s -> %s", pvsd_xb_state_name(old),
	     pvsd_xb_state_name(st));
	return 0;
}

static int set_state(struct xb_vhost *v, int old, int st)
{
	return old == st ? 0 : set_state_force(v, old, st);
}

/*
 * Where xenbus_dev_fatal() puts a backend's reason for failing, so that the
 * toolstack (and an administrator with xenstore-ls) sees why a vhost went to
 * Closing: /local/domain/<ours>/error/backend/vscsi/<domid>/<vhost>/error.
 */
static void error_path(const struct xb_vhost *v, char *buf, size_t len)
{
	snprintf(buf, len, XSN_ERROR_TYPE_DIR, v->xb->domid, v->xb->be_type, v->domid, v->id);
}

/* The kernel's xenbus_dev_fatal(): log, record "<errno> <message>" in error/, go to Closing. */
static void vhost_fatal(struct xb_vhost *v, int bs, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void vhost_fatal(struct xb_vhost *v, int bs, int err, const char *fmt, ...)
{
	const struct pvx_xs_ops *o = v->xb->xs.ops;
	char msg[400], val[416], dir[160], path[180];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vlog(v, LOG_ERR, "%s", msg);
	snprintf(val, sizeof(val), "%d %s", err < 0 ? -err : err, msg);
	error_path(v, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/" XSN_ERROR, dir);
	rc = o->write(v->xb->xs.ctx, PVX_XS_NOTX, path, val, (unsigned int)strlen(val));
	if (rc)
		vlog(v, LOG_WARNING, "writing %s: %s", path, strerror(-rc));
	set_state(v, bs, PVSD_XB_CLOSING);
}

/* A connect succeeded or the vhost is gone: an old reason no longer applies. */
static void vhost_clear_error(struct xb_vhost *v)
{
	char dir[160];

	error_path(v, dir, sizeof(dir));
	v->xb->xs.ops->rm(v->xb->xs.ctx, PVX_XS_NOTX, dir);
}

/* 1 if domain @guest may write @path, 0 if not, -errno if it cannot be told. */
static int guest_can_write(struct pvsd_xenbus *xb, const char *path, uint32_t guest)
{
	/* A frontend in our own domain is us: nothing to protect against. */
	if (guest == xb->domid)
		return 0;
	return pvx_xs_writable_by(&xb->xs, path, guest);
}

/* ---- devices ---- */

static struct xb_dev *dev_find(struct xb_vhost *v, const char *name, bool create)
{
	struct xb_dev *d;

	for (d = v->devs; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->v = v;
	d->next = v->devs;
	v->devs = d;
	return d;
}

static void dev_dir(struct xb_vhost *v, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" XSN_VSCSI_DEVS "/%s", v->be, name);
}

static int dev_set_state(struct xb_vhost *v, const char *name, int st)
{
	char dir[256], val[4];
	int rc;

	dev_dir(v, name, dir, sizeof(dir));
	snprintf(val, sizeof(val), "%d", st);
	rc = pvx_xs_write_guarded(&v->xb->xs, dir, XSN_STATE, val);
	if (rc && rc != -ENOENT)
		vlog(v, LOG_ERR, "%s: writing state %d: %s", name, st, strerror(-rc));
	return rc;
}

/* Drop the mapping; the LUN closes when its last user is gone and it is idle. */
static void dev_unmap(struct xb_vhost *v, struct xb_dev *d, bool pin)
{
	if (!d->l)
		return;
	pvs_map_remove(v->map, d->chn, d->tgt, d->lun, NULL);
	/* Pinned before the put, which may close it and free an unpinned record. */
	if (pin && pvs_unit_users(d->l) == 1) {
		pvs_unit_pin(d->l);
		d->drain = d->l;
	}
	pvs_unit_put(d->l);
	d->l = NULL;
}

/* A pinned LUN is done draining: closed, or taken up again by another user. */
static bool dev_drained(struct xb_vhost *v, struct xb_dev *d)
{
	struct pvs_unit *l = d->drain;

	if (!l)
		return true;
	pvs_host_sweep(v->xb->host);
	if (pvs_unit_is_open(l) && pvs_unit_users(l) == 0)
		return false;
	d->drain = NULL;
	pvs_unit_unpin(l);
	return true;
}

static bool dev_open_ended(const struct xb_dev *d)
{
	return d->opened || d->open_rc;
}

/* Forget an open under way or ended and not yet mapped. */
static void dev_open_drop(struct xb_dev *d)
{
	pvs_unit_wait_cancel(d->opening);
	d->opening = NULL;
	if (d->opened)
		pvs_unit_put(d->opened);
	d->opened = NULL;
	d->open_rc = 0;
	d->open_err[0] = '\0';
}

static void dev_free_all(struct xb_vhost *v)
{
	while (v->devs) {
		struct xb_dev *d = v->devs;

		v->devs = d->next;
		dev_open_drop(d);
		dev_unmap(v, d, false);
		if (d->drain)
			pvs_unit_unpin(d->drain);
		free(d);
	}
	pvs_host_sweep(v->xb->host);
}

/* ---- medium changes (cdrom: drives) ---- */

static void medium_answer(struct xb_vhost *v, struct xb_dev *d, const char *dir, uint64_t seq,
                          const char *msg)
{
	char val[24];

	/* The error first: the toolstack reads it once medium-done says seq. */
	pvx_xs_write_guarded(&v->xb->xs, dir, XSN_MEDIUM_ERROR, msg);
	snprintf(val, sizeof(val), "%" PRIu64, seq);
	if (pvx_xs_write_guarded(&v->xb->xs, dir, XSN_MEDIUM_DONE, val) != 0)
		vlog(v, LOG_WARNING, "%s: cannot answer medium change %" PRIu64, d->name, seq);
}

/*
 * Apply the medium change the toolstack asked for on @d, if any: p-dev
 * names the new medium ("cdrom:PATH", or "cdrom:" to eject).  A refusal
 * (the guest prevents removal, an image that is not one) leaves the drive
 * as it was and says why in medium-error.
 */
static void dev_medium(struct xb_vhost *v, struct xb_dev *d)
{
	struct pvsd_xenbus *xb = v->xb;
	char dir[256], path[300], err[512] = "";
	struct pvs_lun *lun = pvs_unit_lun(d->l);
	struct pvs_spec *sp = NULL;
	uint64_t seq, force = 0;
	char *pdev = NULL;
	int rc;

	if (!lun || !pvs_lun_is_cdrom(lun))
		return;
	dev_dir(v, d->name, dir, sizeof(dir));
	if (pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, dir, XSN_MEDIUM_SEQ, UINT64_MAX, &seq) != 0 ||
	    seq <= d->medium_done)
		return;
	if (pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, dir, XSN_MEDIUM_FORCE, 1, &force) != 0)
		force = 0;
	pdev = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dir, XSN_P_DEV);
	pvx_xs_path(path, sizeof(path), dir, XSN_P_DEV);
	sp = malloc(sizeof(*sp));
	if (!pdev || !sp) {
		snprintf(err, sizeof(err), "cannot read p-dev");
		goto out;
	}
	/* The same guard as at mapping: a guest must not name a host file. */
	rc = guest_can_write(xb, path, v->domid);
	if (rc != 0) {
		snprintf(err, sizeof(err), "p-dev '%.200s' is %s; refusing it", pdev,
		         rc > 0 ? "writable by the guest" : "of unknown permissions");
		goto out;
	}
	if (pvs_spec_parse(pdev, sp, err, sizeof(err)) != 0)
		goto out;
	if (sp->kind != PVS_SPEC_CDROM) {
		snprintf(err, sizeof(err),
		         "p-dev '%.200s' is no cdrom: medium; the drive stays as it is", pdev);
		goto out;
	}
	if (sp->name[0])
		rc = pvs_lun_cd_insert(lun, sp->name, force, err, sizeof(err));
	else
		rc = pvs_lun_cd_eject(lun, force, err, sizeof(err));
	if (rc && !err[0])
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (!rc) {
		snprintf(d->pdev, sizeof(d->pdev), "%s", pdev);
		plog_lun(&v->tag, d->vdev, LOG_INFO, "%s: v-dev %s: %s%s%s", d->name, d->vdev,
		         sp->name[0] ? "medium " : "medium ejected", sp->name[0] ? sp->name : "",
		         force ? " (forced)" : "");
	}
out:
	if (err[0])
		plog_lun(&v->tag, d->vdev, LOG_ERR, "%s: v-dev %s: medium change %" PRIu64 ": %s",
		         d->name, d->vdev, seq, err);
	d->medium_done = seq;
	medium_answer(v, d, dir, seq, err);
	free(sp);
	free(pdev);
}

static void devs_medium(struct xb_vhost *v)
{
	for (struct xb_dev *d = v->devs; d && !v->gone; d = d->next)
		if (d->l)
			dev_medium(v, d);
}

/*
 * Map dev @name.  Returns 0, or -errno after logging why (the caller then
 * marks the device Closed; the rest of the vhost carries on).
 */
/*
 * The domain's iSCSI initiator name: PVS_ISCSI_IQN_PREFIX ":xen." and its
 * UUID (libxl's /local/domain/<domid>/vm is "/vm/<uuid>").  The UUID, not
 * the domid: it stays the same across save/restore and migration, so the
 * guest keeps its I_T nexus, and with it its reservations, at the target.
 * -ENOENT when the domain has no UUID there.
 */
static int initiator_name(struct pvsd_xenbus *xb, const struct xb_vhost *v, char *buf, size_t len)
{
	char dom[32], *vm;
	const char *uuid;
	size_t n;
	int rc = -ENOENT;

	snprintf(dom, sizeof(dom), XSN_DOMAIN_DIR, v->domid);
	vm = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dom, "vm");
	if (!vm)
		return rc;
	uuid = strrchr(vm, '/');
	uuid = uuid ? uuid + 1 : vm;
	n = strspn(uuid, "0123456789abcdefABCDEF-");
	if (n == 36 && !uuid[n]) {
		snprintf(buf, len, "%s:xen.%s", PVS_ISCSI_IQN_PREFIX, uuid);
		for (char *c = buf; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		rc = 0;
	}
	free(vm);
	return rc;
}

/* ---- placement on the event loops ---- */

/* Whether anything of @v runs on its loop: its ring, a LUN mapped, opening or draining. */
static bool vhost_placed(const struct xb_vhost *v)
{
	if (v->loop < 0)
		return false;
	if (v->ring)
		return true;
	for (const struct xb_dev *d = v->devs; d; d = d->next)
		if (d->l || d->opening || d->opened || d->drain)
			return true;
	return false;
}

static int loop_of(const struct pvsd_xenbus *xb, const struct pvs_worker *w)
{
	for (unsigned int i = 0; i < xb->nloops; i++)
		if (xb->loops[i].worker == w)
			return (int)i;
	return -1;
}

/* Whether loop @i's thread runs (a loop with no start hook always does). */
static bool loop_running(const struct pvsd_xenbus *xb, unsigned int i)
{
	return xb->running[i] || !xb->loops[i].start;
}

/* The loop with the fewest rings (the first of equals), its thread started. */
static int least_loaded(struct pvsd_xenbus *xb)
{
	unsigned int n[PVSD_XB_MAX_LOOPS] = {0}, best = 0;
	bool tried[PVSD_XB_MAX_LOOPS] = {false};

	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (v->ring && v->loop >= 0)
			n[v->loop]++;
	for (;;) {
		struct pvsd_xb_loop *l;
		int rc;

		best = xb->nloops;
		for (unsigned int i = 0; i < xb->nloops; i++)
			if (!tried[i] && (best == xb->nloops || n[i] < n[best]))
				best = i;
		if (best == xb->nloops) {
			plog(LOG_ERR,
			     "no event-loop thread could start: the rings placed on loop 0 "
			     "wait for it");
			return 0;
		}
		l = &xb->loops[best];
		if (loop_running(xb, best))
			return (int)best;
		tried[best] = true;
		rc = l->start(l->start_arg);
		if (rc == 0) {
			xb->running[best] = true;
			plog(LOG_INFO, "event loop %u started", best);
			return (int)best;
		}
		plog(LOG_ERR, "event loop %u: cannot start its thread: %s; another takes its rings",
		     best, strerror(-rc));
	}
}

static char **dev_list(struct xb_vhost *v, unsigned int *n);

/*
 * Place @v before its ring or a LUN goes on a loop: with a LUN already
 * open (another guest's) among its devices' p-devs, on that LUN's loop;
 * else on the least loaded.  Kept while anything of it runs there.
 */
static void vhost_place(struct xb_vhost *v)
{
	struct pvsd_xenbus *xb = v->xb;
	char dir[256], iname[128] = "";
	char **names;
	unsigned int n = 0;
	int at = -1;

	if (vhost_placed(v))
		return;
	if (xb->nloops > 1 && (names = dev_list(v, &n)) != NULL) {
		for (unsigned int i = 0; i < n && at < 0; i++) {
			char *pdev;

			dev_dir(v, names[i], dir, sizeof(dir));
			pdev = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dir, XSN_P_DEV);
			if (pdev && !strncmp(pdev, "iscsi://", 8))
				initiator_name(xb, v, iname, sizeof(iname));
			if (pdev && pdev[0])
				at = loop_of(xb, pvs_host_unit_where(xb->host, pdev,
				                                     v->feature_host, iname));
			free(pdev);
		}
		free(names);
	}
	v->loop = at >= 0 ? at : least_loaded(xb);
	if (xb->nloops > 1)
		vlog(v, LOG_INFO, "on event loop %d (%s)", v->loop,
		     at >= 0 ? "the one serving its LUN" : "the one with the fewest rings");
}

/* ---- moving vhosts between event loops ---- */

static void ring_start_drain(struct xb_vhost *v, const char *why);

/* Whether @u is one of @b's units, mapped or opened and not yet mapped. */
static bool has_unit(const struct xb_vhost *b, const struct pvs_unit *u)
{
	for (const struct xb_dev *e = b->devs; e; e = e->next)
		if (u && (e->l == u || e->opened == u))
			return true;
	return false;
}

/* A move under way: vhosts with move_to set, which a dead one may have left at any sweep. */
static bool moving_any(const struct pvsd_xenbus *xb)
{
	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (v->move_to >= 0 && !v->dead)
			return true;
	return false;
}

static bool shares_unit(const struct xb_vhost *a, const struct xb_vhost *b)
{
	for (const struct xb_dev *d = a->devs; d; d = d->next)
		if (has_unit(b, d->l) || has_unit(b, d->opened))
			return true;
	return false;
}

/*
 * Move @v to loop @to, where a LUN it is to use is served: with it go the
 * vhosts of its loop that share a unit with it, directly or through each
 * other, since a unit runs on one loop only.  Their rings stop taking
 * requests and are unmapped once drained (the frontends see a pause, not a
 * reconnect); moves_run() does the rest.
 */
static uint64_t move_timeout_ns(const struct pvsd_xenbus *xb)
{
	return xb->cfg.move_timeout_ms ? xb->cfg.move_timeout_ms * 1000000ull : MOVE_TIMEOUT_NS;
}

static void move_begin(struct xb_vhost *v, int to, const char *what)
{
	struct pvsd_xenbus *xb = v->xb;
	int from = v->loop;
	unsigned int n = 0;
	bool grew = true;

	v->move_to = to;
	xb->move_deadline = pvs_now_ns() + move_timeout_ns(xb);
	while (grew) {
		grew = false;
		for (struct xb_vhost *w = xb->vhosts; w; w = w->next) {
			if (w->dead || w->move_to >= 0 || w->loop != from)
				continue;
			for (const struct xb_vhost *m = xb->vhosts; m; m = m->next) {
				if (m->move_to == to && !m->dead && shares_unit(w, m)) {
					w->move_to = to;
					grew = true;
					break;
				}
			}
		}
	}
	for (struct xb_vhost *w = xb->vhosts; w; w = w->next)
		if (w->move_to >= 0 && !w->dead)
			n++;
	for (struct xb_vhost *w = xb->vhosts; w; w = w->next) {
		if (w->move_to < 0 || w->dead)
			continue;
		w->move_err[0] = '\0';
		vlog(w, LOG_INFO,
		     "moving from event loop %d to %d, which serves %s (%u vhost%s move, its "
		     "requests drain first)",
		     from, to, what, n, n == 1 ? "" : "s");
		if (w->ring) {
			w->reattach = true;
			ring_start_drain(w, "moving to another event loop");
		}
	}
}

/*
 * Before @v uses @pdev: @v placed, and 0 when the unit's loop (if it is
 * open) is @v's, PVS_UNIT_PENDING while @v moves there (or waits for
 * another move to end), -EXDEV with @err when the move failed.
 */
static int move_for(struct xb_vhost *v, const char *pdev, const char *iname, char *err,
                    size_t errlen)
{
	struct pvsd_xenbus *xb = v->xb;
	char what[200];
	int at;

	if (v->move_to >= 0)
		return PVS_UNIT_PENDING;
	vhost_place(v);
	if (xb->nloops < 2)
		return 0;
	at = loop_of(xb, pvs_host_unit_where(xb->host, pdev, v->feature_host, iname));
	if (at < 0 || at == v->loop)
		return 0;
	if (v->move_err[0]) {
		snprintf(err, errlen, "%s", v->move_err);
		v->move_err[0] = '\0';
		return -EXDEV;
	}
	if (!vhost_placed(v)) {
		/* Nothing of it runs on its loop yet: no move, another place. */
		v->loop = at;
		vlog(v, LOG_INFO, "on event loop %d (the one serving %s)", at, pdev);
		return 0;
	}
	if (moving_any(xb))
		return PVS_UNIT_PENDING; /* one move at a time: this one's turn comes after */
	snprintf(what, sizeof(what), "p-dev '%s'", pdev);
	move_begin(v, at, what);
	return PVS_UNIT_PENDING;
}

/*
 * The moving vhosts' units on @from (mapped, or opened and not yet mapped)
 * to @to: 0, or the first -errno with @err.  @back: undoing a move, each
 * refusal is logged and the rest go on.
 */
static int units_shift(struct pvsd_xenbus *xb, struct pvs_worker *from, struct pvs_worker *to,
                       bool back, char *err, size_t errlen)
{
	int rc = 0;

	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (v->move_to < 0 || v->dead)
			continue;
		for (struct xb_dev *d = v->devs; d; d = d->next) {
			struct pvs_unit *us[2] = {d->l, d->opened};

			for (unsigned int i = 0; i < 2; i++) {
				int r;

				if (!us[i] || pvs_unit_worker(us[i]) != from)
					continue;
				r = pvs_unit_move(us[i], to, err, errlen);
				if (!r)
					continue;
				if (!back)
					return r;
				vlog(v, LOG_ERR, "%s: cannot move back: %s", d->name, err);
				rc = rc ? rc : r;
			}
		}
	}
	return rc;
}

/* Every unit of the moving vhosts to @to's worker: 0, or -errno with @err after undoing it. */
static int units_move(struct pvsd_xenbus *xb, struct pvs_worker *from, struct pvs_worker *to,
                      char *err, size_t errlen)
{
	char e2[256];
	int rc = units_shift(xb, from, to, false, err, errlen);

	/* Back where they were: the vhosts carry on on their loop. */
	if (rc)
		units_shift(xb, to, from, true, e2, sizeof(e2));
	return rc;
}

/*
 * On the main thread, every loop parked: once the moving vhosts' rings
 * are unmapped and their units idle, the units change worker and the
 * vhosts loop; then each connects its ring again.  A move that cannot end
 * in MOVE_TIMEOUT_NS (cfg.move_timeout_ms; a LUN that stays busy) is given up: the vhosts stay
 * where they were, and the device that asked for it is refused.
 */
static void moves_run(struct pvsd_xenbus *xb)
{
	char err[256] = "";
	bool ready = true;
	int from = -1, to = -1, rc = 0;

	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (v->move_to < 0)
			continue;
		if (v->dead) {
			v->move_to = -1;
			continue;
		}
		from = v->loop;
		to = v->move_to;
		if (v->ring)
			ready = false;
		for (const struct xb_dev *d = v->devs; d; d = d->next)
			if (d->opening || (d->l && pvs_unit_busy(d->l)) ||
			    (d->opened && pvs_unit_busy(d->opened)))
				ready = false;
	}
	if (to < 0)
		return;
	if (!ready && pvs_now_ns() < xb->move_deadline)
		return;
	if (ready)
		rc = units_move(xb, xb->loops[from].worker, xb->loops[to].worker, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "its rings or LUNs were still busy after %.3g s",
		         (double)move_timeout_ns(xb) / 1e9);
	if (ready && !rc)
		xb->moves++;
	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (v->move_to < 0)
			continue;
		if (ready && !rc) {
			v->loop = to;
			vlog(v, LOG_INFO, "moved to event loop %d", to);
		} else {
			vlog(v, LOG_ERR, "cannot move to event loop %d: %s; staying on %d", to, err,
			     from);
			if (v->waiting)
				snprintf(
				    v->move_err, sizeof(v->move_err),
				    "served by event loop %d, and this vhost could not move there "
				    "(%s)",
				    to, err);
		}
		v->move_to = -1;
		if (v->waiting)
			v->opened = true;
	}
	for (struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (!v->dead && (v->reattach || v->opened))
			reconcile(v);
}

/* pvs_host_unit_open()'s answer, on the worker's thread: the next pass takes it. */
static void dev_opened(void *arg, struct pvs_unit *u, int rc, const char *err)
{
	struct xb_dev *d = arg;
	struct xb_vhost *v = d->v;

	d->opening = NULL;
	d->open_rc = rc;
	d->opened = u;
	snprintf(d->open_err, sizeof(d->open_err), "%s", err);
	v->opened = true;
}

/*
 * Map dev @name: 0, PVS_UNIT_PENDING while its p-dev opens on a thread of
 * its own (@may_wait: a device the frontend has yet to see; one it has,
 * when a restarted daemon adopts it, is opened at once), or -errno after
 * logging why (the caller then marks the device Closed; the rest of the
 * vhost carries on).
 */
static int dev_map(struct xb_vhost *v, const char *name, bool may_wait)
{
	struct pvsd_xenbus *xb = v->xb;
	char dir[256], path[300], err[1024], iname[128] = "";
	char *pdev = NULL, *vdev = NULL, *pdevname = NULL;
	struct pvs_hctl h;
	struct xb_dev *d, *o;
	struct pvs_unit *l;
	const char *stable;
	uint64_t seq;
	int rc;

	d = dev_find(v, name, true);
	if (!d)
		return -ENOMEM;
	if (d->l)
		return 0;
	if (d->opening)
		return PVS_UNIT_PENDING;
	dev_dir(v, name, dir, sizeof(dir));
	/*
	 * Before p-dev: a medium change written in between is then applied
	 * again (harmless), never taken as done without its p-dev.
	 */
	if (pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, dir, XSN_MEDIUM_SEQ, UINT64_MAX, &seq) != 0)
		seq = 0;
	pdev = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dir, XSN_P_DEV);
	vdev = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dir, XSN_V_DEV);
	if (!pdev || !pdev[0]) {
		vlog(v, LOG_ERR, "%s: no p-dev", name);
		rc = -EINVAL;
		goto out;
	}
	if (!vdev || (rc = pvs_parse_hctl(vdev, &h)) != 0) {
		vlog(v, LOG_ERR, "%s: v-dev '%s' is not host:channel:target:lun in decimal", name,
		     vdev ? vdev : "(missing)");
		rc = -EINVAL;
		goto out;
	}
	/* The request carries channel, id and lun in 16 bits each. */
	if (h.channel > 0xffff || h.target > 0xffff || h.lun > PVS_MAP_MAX_LUN) {
		vlog(v, LOG_ERR,
		     "%s: v-dev '%s' out of range (channel, target <= 65535, lun <= %u)", name,
		     vdev, PVS_MAP_MAX_LUN);
		rc = -ERANGE;
		goto out;
	}
	/* A guest that could write p-dev could name any host device. */
	pvx_xs_path(path, sizeof(path), dir, XSN_P_DEV);
	rc = guest_can_write(xb, path, v->domid);
	if (rc != 0) {
		vlog(v, LOG_ERR, "%s: p-dev is %s; refusing it", name,
		     rc > 0 ? "writable by the guest" : "of unknown permissions");
		rc = -EPERM;
		goto out;
	}
	for (o = v->devs; o; o = o->next) {
		if (o != d && o->l && o->chn == h.channel && o->tgt == h.target &&
		    o->lun == h.lun) {
			plog_lun(&v->tag, vdev, LOG_ERR, "%s: v-dev %s is already %s's", name, vdev,
			         o->name);
			rc = -EEXIST;
			goto out;
		}
	}
	if (!strncmp(pdev, "iscsi://", 8) && initiator_name(xb, v, iname, sizeof(iname)) != 0) {
		plog_lun(&v->tag, vdev, LOG_ERR,
		         "%s: p-dev '%s': an iSCSI LUN's initiator name is the domain's UUID, and "
		         "/local/domain/%u/vm holds none",
		         name, pdev, v->domid);
		rc = -ENODEV;
		goto out;
	}
	if (dev_open_ended(d) && strcmp(d->open_pdev, pdev) != 0)
		dev_open_drop(d); /* the toolstack named another p-dev meanwhile */
	if (dev_open_ended(d)) {
		rc = d->open_rc;
		l = d->opened;
		snprintf(err, sizeof(err), "%s", d->open_err);
		d->opened = NULL;
		d->open_rc = 0;
	} else if ((rc = move_for(v, pdev, iname, err, sizeof(err))) != 0) {
		if (rc == PVS_UNIT_PENDING) {
			plog_lun(&v->tag, vdev, LOG_INFO,
			         "%s: p-dev '%s' waits for a move between event loops; the device "
			         "stays as it is until then",
			         name, pdev);
			goto out;
		}
		plog_lun(&v->tag, vdev, LOG_ERR, "%s: p-dev '%s': %s", name, pdev, err);
		rc = -ENODEV;
		goto out;
	} else if (may_wait) {
		rc = pvs_host_unit_open_on(xb->host, xb->loops[v->loop].worker, pdev,
		                           v->feature_host, iname, dev_opened, d, &l, &d->opening,
		                           err, sizeof(err));
		if (rc == PVS_UNIT_PENDING) {
			snprintf(d->open_pdev, sizeof(d->open_pdev), "%s", pdev);
			plog_lun(&v->tag, vdev, LOG_INFO,
			         "%s: p-dev '%s' opens on a thread of its own; the device stays "
			         "Initialising until then",
			         name, pdev);
			goto out;
		}
	} else {
		rc = pvs_host_unit_get_on(xb->host, xb->loops[v->loop].worker, pdev,
		                          v->feature_host, iname, &l, err, sizeof(err));
	}
	if (rc) {
		plog_lun(&v->tag, vdev, LOG_ERR, "%s: p-dev '%s': %s", name, pdev, err);
		rc = -ENODEV;
		goto out;
	}
	rc = pvs_map_add(v->map, h.channel, h.target, h.lun, pvs_unit_lun(l));
	if (rc) {
		plog_lun(&v->tag, vdev, LOG_ERR, "%s: v-dev %s: %s", name, vdev, strerror(-rc));
		pvs_unit_put(l);
		goto out;
	}
	d->l = l;
	snprintf(d->pdev, sizeof(d->pdev), "%s", pdev);
	snprintf(d->vdev, sizeof(d->vdev), "%s", vdev);
	/* Opened with the medium p-dev names: any change asked so far is done. */
	if (seq > 0 && pvs_lun_is_cdrom(pvs_unit_lun(l))) {
		d->medium_done = seq;
		medium_answer(v, d, dir, seq, "");
	}
	d->chn = h.channel;
	d->tgt = h.target;
	d->lun = h.lun;
	plog_lun(&v->tag, vdev, LOG_INFO, "%s: v-dev %u:%u:%u is %s", name, h.channel, h.target,
	         h.lun, pvs_unit_spec(l));
	stable = pvs_unit_stable(l);
	pdevname = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, dir, XSN_P_DEVNAME);
	if (stable[0] && (!pdevname || !pdevname[0]))
		pvx_xs_write_guarded(&xb->xs, dir, XSN_P_DEVNAME, stable);
out:
	/* A device refused keeps nothing of an open that ended. */
	if (rc < 0)
		dev_open_drop(d);
	free(pdev);
	free(vdev);
	free(pdevname);
	return rc;
}

/* List vscsi-devs; NULL (and *n = 0) when there is none. */
static char **dev_list(struct xb_vhost *v, unsigned int *n)
{
	char path[160];
	char **names;

	*n = 0;
	snprintf(path, sizeof(path), "%s/" XSN_VSCSI_DEVS, v->be);
	names = v->xb->xs.ops->directory(v->xb->xs.ctx, PVX_XS_NOTX, path, n);
	if (!names)
		*n = 0;
	return names;
}

static int dev_state(struct xb_vhost *v, const char *name)
{
	char dir[256];

	dev_dir(v, name, dir, sizeof(dir));
	return pvx_xs_read_state(&v->xb->xs, dir);
}

static bool dev_name_ok(const char *name)
{
	return strlen(name) < DEV_NAME_MAX;
}

/*
 * Forget devices whose nodes the toolstack removed.  One still mapped lost
 * its nodes without the hot-remove handshake: unmap it all the same, since
 * the toolstack no longer means the guest to have it.
 */
static void devs_sync(struct xb_vhost *v)
{
	struct xb_dev **pp, *d;
	unsigned int n, i;
	char **names = dev_list(v, &n);

	for (d = v->devs; d; d = d->next)
		d->seen = false;
	for (i = 0; i < n; i++) {
		d = dev_find(v, names[i], false);
		if (d)
			d->seen = true;
	}
	free(names);
	pp = &v->devs;
	while (*pp) {
		d = *pp;
		if (d->seen || (d->drain && !dev_drained(v, d))) {
			pp = &d->next;
			continue;
		}
		if (d->l)
			vlog(v, LOG_WARNING,
			     "%s: nodes removed while mapped (no hot-remove handshake); unmapping "
			     "v-dev %u:%u:%u",
			     d->name, d->chn, d->tgt, d->lun);
		dev_open_drop(d);
		dev_unmap(v, d, false);
		*pp = d->next;
		free(d);
	}
	pvs_host_sweep(v->xb->host);
}

enum dev_pass {
	PASS_CONNECT,   /* initial connect: add Initialising devices */
	PASS_REPROBE,   /* a new frontend after close: it must add every device again */
	PASS_READOPT,   /* resume or adopt: keep what the frontend already has */
	PASS_HOTPLUG,   /* frontend Reconfiguring: add and remove */
	PASS_UPDATEDEV, /* frontend Connected: Initialised devices become Connected */
};

/*
 * Returns true when a hot remove still waits for requests to drain, or a
 * new device for its p-dev to open.
 */
static bool devs_pass(struct xb_vhost *v, enum dev_pass pass)
{
	unsigned int n, i;
	char **names = dev_list(v, &n);
	bool pending = false;

	for (i = 0; i < n && !v->gone; i++) {
		const char *name = names[i];
		int st = dev_state(v, name);
		struct xb_dev *d;

		if (!dev_name_ok(name)) {
			vlog_once(v, LOG_ERR, "device node name '%.60s' too long; ignored", name);
			continue;
		}
		d = dev_find(v, name, false);
		switch (st) {
		case PVSD_XB_INITIALISING:
			if (pass != PASS_CONNECT && pass != PASS_REPROBE && pass != PASS_HOTPLUG)
				break;
			{
				int rc = dev_map(v, name, true);

				if (rc == PVS_UNIT_PENDING) {
					pending = true;
					break;
				}
				dev_set_state(v, name,
				              rc == 0 ? PVSD_XB_INITIALISED : PVSD_XB_CLOSED);
				break;
			}
		case PVSD_XB_INITIALISED:
		case PVSD_XB_CONNECTED:
			if (pass == PASS_UPDATEDEV && st == PVSD_XB_CONNECTED && d && d->l)
				break;
			if (!(d && d->l)) {
				int rc = dev_map(v, name, false);

				/* An open begun while it was Initialising goes on. */
				if (rc == PVS_UNIT_PENDING) {
					pending = true;
					break;
				}
				if (rc != 0) {
					dev_set_state(v, name, PVSD_XB_CLOSED);
					break;
				}
			}
			if (pass == PASS_REPROBE && st == PVSD_XB_CONNECTED)
				dev_set_state(v, name, PVSD_XB_INITIALISED);
			else if (pass == PASS_UPDATEDEV && st == PVSD_XB_INITIALISED)
				dev_set_state(v, name, PVSD_XB_CONNECTED);
			break;
		case PVSD_XB_CLOSING:
			if (pass != PASS_HOTPLUG)
				break;
			if (d && d->l) {
				vlog(v, LOG_INFO, "%s: removing v-dev %u:%u:%u", name, d->chn,
				     d->tgt, d->lun);
				dev_unmap(v, d, true);
			}
			if (d && !dev_drained(v, d)) {
				pending = true;
				break;
			}
			dev_set_state(v, name, PVSD_XB_CLOSED);
			break;
		default:
			break;
		}
	}
	free(names);
	return pending;
}

/* ---- rings ---- */

static void ring_start_drain(struct xb_vhost *v, const char *why)
{
	if (!v->ring || v->ring_stopping)
		return;
	vlog(v, LOG_INFO, "%s: stopping ring-ref %u (%u requests in flight)", why, v->ring_ref,
	     pvsd_ring_inflight(v->ring));
	pvsd_ring_stop(v->ring);
	v->ring_stopping = true;
	v->ring_more = false;
}

/* Disconnect a stopped ring once idle; true when it is gone. */
static bool ring_try_disconnect(struct xb_vhost *v)
{
	struct pvsd_xenbus *xb = v->xb;

	if (!v->ring)
		return true;
	pvsd_ring_flush(v->ring);
	if (pvsd_ring_inflight(v->ring) > 0)
		return false;
	if (xb->loops[v->loop].fd_del && v->ring_fd >= 0)
		xb->loops[v->loop].fd_del(xb->loops[v->loop].fd_arg, v->ring_fd);
	if (pvsd_ring_disconnect(v->ring) != 0)
		return false;
	vlog(v, LOG_INFO, "ring-ref %u unmapped", v->ring_ref);
	v->ring = NULL;
	v->ring_fd = -1;
	v->ring_stopping = false;
	v->ring_more = false;
	return true;
}

/*
 * ring-ref and event-channel, read in one transaction because the frontend
 * writes them in one.  0, -ENOENT (either absent) or -EINVAL/-ERANGE.
 */
static int read_ring_info(struct xb_vhost *v, uint32_t *ref, uint32_t *port)
{
	const struct pvx_xs_ops *o = v->xb->xs.ops;
	uint64_t r = 0, p = 0;
	int rc = 0, rc2, i;

	for (i = 0; i < TX_RETRIES; i++) {
		pvx_xs_tx tx;

		rc = o->tx_start(v->xb->xs.ctx, &tx);
		if (rc)
			return rc;
		rc = pvx_xs_read_uint(&v->xb->xs, tx, v->fe, XSN_RING_REF, UINT32_MAX, &r);
		rc2 = pvx_xs_read_uint(&v->xb->xs, tx, v->fe, XSN_EVENT_CHANNEL, UINT32_MAX, &p);
		if (o->tx_end(v->xb->xs.ctx, tx, false) == -EAGAIN)
			continue;
		if (rc == 0)
			rc = rc2;
		break;
	}
	if (i == TX_RETRIES)
		return -EAGAIN;
	*ref = (uint32_t)r;
	*port = (uint32_t)p;
	return rc;
}

static void ring_kick(struct xb_vhost *v)
{
	if (v->ring && !v->ring_stopping)
		v->ring_more = pvsd_ring_handle_event(v->ring);
}

/* The ring is connected and its devices mapped: tell the frontend. */
static void ring_connected(struct xb_vhost *v, int bs, bool adopting)
{
	/*
	 * Written even when already Connected: a resumed frontend waits for the
	 * event.  Not when adopting: nothing changed for the frontend.
	 */
	if (bs != PVSD_XB_RECONFIGURING && bs != PVSD_XB_RECONFIGURED &&
	    !(adopting && bs == PVSD_XB_CONNECTED))
		set_state_force(v, bs, PVSD_XB_CONNECTED);
	/* Requests queued before we bound the channel sent no kick we could see. */
	ring_kick(v);
}

/*
 * Connect the frontend's ring.  @bs is the backend state in xenstore: 4, 7
 * or 8 mean a ring was live (a frontend resume, or a previous daemon's ring
 * being adopted).  Returns 0, or -errno after logging and closing the vhost.
 */
static int ring_connect(struct xb_vhost *v, int fe, int bs)
{
	struct pvsd_xenbus *xb = v->xb;
	struct pvsd_ring_cfg rc_cfg = {0};
	uint32_t ref = 0, port = 0;
	uint64_t fh = 0;
	bool was_live =
	    bs == PVSD_XB_CONNECTED || bs == PVSD_XB_RECONFIGURING || bs == PVSD_XB_RECONFIGURED;
	bool adopting = v->adopting;
	/* Unmapped for a move: the frontend saw no change, so nothing is written for it. */
	bool quiet = adopting || v->reattach;
	enum dev_pass pass;
	int rc;

	rc = read_ring_info(v, &ref, &port);
	if (rc == -EAGAIN)
		return rc; /* the store kept changing under us: the next event retries */
	if (v->cf_valid && v->cf_rc == rc && v->cf_ref == ref && v->cf_port == port)
		return -EALREADY;
	v->cf_valid = true;
	v->cf_rc = rc;
	v->cf_ref = ref;
	v->cf_port = port;
	if (rc == -ENOENT && fe != PVSD_XB_INITIALISED) {
		vlog_once(v, LOG_WARNING, "frontend is %s but has no ring-ref/event-channel",
		          pvsd_xb_state_name(fe));
		return rc;
	}
	if (rc) {
		vhost_fatal(v, bs, rc,
		            "frontend %s/{ring-ref,event-channel} unusable (%s): closing the vhost",
		            v->fe, rc == -ENOENT ? "missing" : "not a 32-bit decimal number");
		return rc;
	}
	rc = pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, v->be, XSN_FEATURE_HOST, 1, &fh);
	v->feature_host = rc == 0 && fh == 1;

	rc_cfg.domid = (uint16_t)v->domid;
	rc_cfg.vhost = v->id;
	rc_cfg.gnt = xb->cfg.gnt;
	rc_cfg.gnt_ctx = xb->cfg.gnt_ctx;
	rc_cfg.evt = xb->cfg.evt;
	rc_cfg.evt_ctx = xb->cfg.evt_ctx;
	vhost_place(v);
	rc_cfg.worker = xb->loops[v->loop].worker;
	rc_cfg.map = v->map;
	rc_cfg.max_segs = v->max_segs;
	rc_cfg.state_dir = xb->cfg.state_dir;
	rc_cfg.log = plog_tagged;
	rc_cfg.log_arg = &v->tag;
	rc_cfg.verbose = xb->cfg.verbose;
	/* Take over the dead daemon's journal (or, without one, its ring as it is). */
	rc_cfg.adopt = adopting && was_live;
	rc = pvsd_ring_connect(&rc_cfg, ref, port, &v->ring);
	if (rc == 0)
		pvsd_ring_set_polling(v->ring, pvsd_xenbus_polling(xb));
	if (rc) {
		char sb[320];

		v->ring = NULL;
		/*
		 * The usual cause on a real host: udev loaded xen-scsiback for the
		 * new backend/vscsi node (its modalias) after we started, and it
		 * bound the frontend's event channel first.  Say so, not only EINVAL.
		 */
		if (pvsd_check_scsiback(xb->cfg.resolver.sysfs_root, sb, sizeof(sb)) != 0)
			vhost_fatal(
			    v, bs, rc,
			    "cannot connect ring-ref %u event-channel %u: %s: the kernel's "
			    "xen-scsiback is loaded and took it (udev loads it for a new vscsi "
			    "domain unless /lib/modprobe.d/pvscsi.conf blacklists it); unload it "
			    "(modprobe -r xen-scsiback); closing the vhost",
			    ref, port, strerror(-rc));
		else
			vhost_fatal(
			    v, bs, rc,
			    "cannot connect ring-ref %u event-channel %u: %s; closing the vhost",
			    ref, port, strerror(-rc));
		return rc;
	}
	v->ring_ref = ref;
	v->evtchn = port;
	v->cf_valid = false;
	vhost_clear_error(v);
	v->ring_fd = pvsd_ring_evtchn_fd(v->ring);
	if (xb->loops[v->loop].fd_add && v->ring_fd >= 0 &&
	    xb->loops[v->loop].fd_add(xb->loops[v->loop].fd_arg, v->ring_fd, v) != 0) {
		pvsd_ring_stop(v->ring);
		pvsd_ring_disconnect(v->ring);
		v->ring = NULL;
		v->ring_fd = -1;
		vhost_fatal(v, bs, -EIO, "cannot poll the event channel fd; closing the vhost");
		return -EIO;
	}
	if (was_live) {
		if (v->adopting)
			xb->adopted++;
		else if (!v->reattach)
			xb->reconnects++;
		pass = PASS_READOPT;
	} else {
		pass = bs == PVSD_XB_CLOSING || bs == PVSD_XB_CLOSED ? PASS_REPROBE : PASS_CONNECT;
	}
	vlog(v, LOG_INFO, "%s ring-ref %u event-channel %u%s, feature-sg-grant %u",
	     was_live ? (v->adopting   ? "adopted"
	                 : v->reattach ? "mapped again"
	                               : "reconnected to")
	              : "connected",
	     ref, port, v->feature_host ? " (feature-host)" : "", v->max_segs);
	v->adopting = false;
	v->reattach = false;
	/*
	 * A new device whose p-dev opens on its own thread keeps the vhost
	 * short of Connected: the frontend scans its devices once, on
	 * Connected.  reconcile_step() finishes when the opens ended.
	 */
	if (devs_pass(v, pass) && !v->gone) {
		v->connect_pass = (int)pass;
		v->waiting = true;
		return 0;
	}
	if (v->gone)
		return 0;
	ring_connected(v, bs, quiet);
	return 0;
}

/* ---- vhosts ---- */

static struct xb_vhost *vhost_find(struct pvsd_xenbus *xb, uint32_t domid, uint32_t id)
{
	struct xb_vhost *v;

	for (v = xb->vhosts; v; v = v->next)
		if (v->domid == domid && v->id == id && !v->dead)
			return v;
	return NULL;
}

static struct xb_vhost *vhost_new(struct pvsd_xenbus *xb, uint32_t domid, uint32_t id)
{
	struct xb_vhost *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->xb = xb;
	v->domid = domid;
	v->id = id;
	v->ring_fd = -1;
	v->connect_pass = -1;
	v->loop = -1;
	v->move_to = -1;
	snprintf(v->be, sizeof(v->be), "%s/%u/%u", xb->base, domid, id);
	snprintf(v->token, sizeof(v->token), TOKEN_FE "%u/%u", domid, id);
	plog_tag_set(&v->tag, domid, id);
	v->adopt = !xb->scanned;
	v->next = xb->vhosts;
	xb->vhosts = v;
	return v;
}

/*
 * Check what the toolstack wrote before serving a vhost: who the frontend
 * is, and that the guest cannot rewrite our directory (and so pick any host
 * device as p-dev).  0, or -errno after logging once.
 */
static int vhost_validate(struct xb_vhost *v)
{
	struct pvsd_xenbus *xb = v->xb;
	char *fe = pvx_xs_read_at(&xb->xs, PVX_XS_NOTX, v->be, XSN_FRONTEND);
	char prefix[48], path[200];
	uint64_t feid;
	int rc;

	rc = pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, v->be, XSN_FRONTEND_ID, DOMID_MAX, &feid);
	if (rc || feid != v->domid) {
		vlog_once(v, LOG_ERR, "frontend-id is %s, not %u: not serving this vhost",
		          rc ? "missing or invalid" : "another domain", v->domid);
		free(fe);
		return -EINVAL;
	}
	snprintf(prefix, sizeof(prefix), XSN_DOMAIN_DIR "/", v->domid);
	if (!fe || strncmp(fe, prefix, strlen(prefix)) != 0 || strlen(fe) >= sizeof(v->fe) - 1 ||
	    fe[strlen(fe) - 1] == '/') {
		vlog_once(v, LOG_ERR, "frontend '%.80s' is not a path under %s: not serving it",
		          fe ? fe : "(missing)", prefix);
		free(fe);
		return -EINVAL;
	}
	snprintf(v->fe, sizeof(v->fe), "%s", fe);
	free(fe);
	rc = guest_can_write(xb, v->be, v->domid);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/" XSN_VSCSI_DEVS, v->be);
		rc = pvx_xs_exists(&xb->xs, PVX_XS_NOTX, path) ? guest_can_write(xb, path, v->domid)
		                                               : 0;
	}
	if (rc != 0) {
		vlog_once(v, LOG_ERR,
		          "%s is %s by domain %u: not serving it (set permissions n%u r%u)", v->be,
		          rc > 0 ? "writable" : "of unknown permissions", v->domid, xb->domid,
		          v->domid);
		return -EPERM;
	}
	return 0;
}

static int vhost_activate(struct xb_vhost *v, int bs)
{
	struct pvsd_xenbus *xb = v->xb;
	uint64_t sg = 0;
	char val[16];
	int rc;

	rc = vhost_validate(v);
	if (rc)
		return rc;
	/* The ring's own initiator identity: the I_T nexus is the domain's vhost. */
	if (!v->map && pvs_host_map_new(xb->host, PVSD_INITIATOR(v->domid, v->id), &v->map) != 0) {
		vlog(v, LOG_ERR, "out of memory");
		return -ENOMEM;
	}
	v->max_segs = xb->cfg.max_segs;
	if (bs == PVSD_XB_INITIALISING) {
		snprintf(val, sizeof(val), "%u", v->max_segs);
		rc = pvx_xs_write_guarded(&xb->xs, v->be, XSN_FEATURE_SG_GRANT, val);
		if (rc == 0)
			rc = set_state(v, bs, PVSD_XB_INITWAIT);
		if (rc)
			return rc;
	} else {
		/*
		 * Adopting: the frontend sized its requests by what the previous
		 * daemon advertised, so accept at least that many segments.
		 */
		if (pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, v->be, XSN_FEATURE_SG_GRANT,
		                     PVSD_RING_MAX_SEGS, &sg) == 0 &&
		    sg > v->max_segs)
			v->max_segs = (unsigned int)sg;
		vlog(v, LOG_INFO, "found in state %s at start-up: adopting",
		     pvsd_xb_state_name(bs));
	}
	if (!v->watching) {
		char path[200];

		snprintf(path, sizeof(path), "%s/" XSN_STATE, v->fe);
		rc = xb->xs.ops->watch(xb->xs.ctx, path, v->token);
		if (rc && rc != -EEXIST) {
			vlog(v, LOG_ERR, "cannot watch %s: %s", path, strerror(-rc));
			return rc;
		}
		v->watching = true;
	}
	v->active = true;
	v->adopting = bs != PVSD_XB_INITIALISING;
	/* Adopted past InitWait, the frontend existed: its absence now means it is gone. */
	v->fe_seen = bs >= PVSD_XB_INITIALISED;
	v->last_msg[0] = '\0';
	return 0;
}

static void vhost_unwatch(struct xb_vhost *v)
{
	char path[200];

	if (!v->watching)
		return;
	snprintf(path, sizeof(path), "%s/" XSN_STATE, v->fe);
	v->xb->xs.ops->unwatch(v->xb->xs.ctx, path, v->token);
	v->watching = false;
}

/*
 * Stop serving: the ring must already be gone.  Devices are unmapped and
 * their LUNs close once idle.  The nodes stay as they are.
 */
static void vhost_deactivate(struct xb_vhost *v)
{
	dev_free_all(v);
	vhost_unwatch(v);
	if (v->map)
		pvs_map_free(v->map);
	v->map = NULL;
	v->active = false;
	v->fe_seen = false;
	v->waiting = false;
	v->reattach = false;
	v->connect_pass = -1;
}

/* Backend directory removed: drain, tear down, and forget the vhost. */
static void vhost_gone(struct xb_vhost *v)
{
	if (v->ring) {
		ring_start_drain(v, "backend directory removed");
		if (!ring_try_disconnect(v))
			return;
	}
	if (v->active || v->map || v->devs)
		vlog(v, LOG_INFO, "backend directory removed: vhost released");
	vhost_deactivate(v);
	vhost_clear_error(v);
	v->dead = true;
}

static int fe_state(struct xb_vhost *v)
{
	return pvx_xs_read_state(&v->xb->xs, v->fe);
}

/* One step; returns true when it changed something worth looking at again. */
static bool reconcile_step(struct xb_vhost *v)
{
	struct pvsd_xenbus *xb = v->xb;
	uint64_t online = 0;
	bool want_ring, was_live;
	uint32_t ref, port;
	int bs, fe;

	if (v->dead)
		return false;
	if (v->ring && v->ring_stopping && !ring_try_disconnect(v))
		return false;
	if (!v->gone && !pvx_xs_exists(&xb->xs, PVX_XS_NOTX, v->be))
		v->gone = true;
	if (v->gone) {
		vhost_gone(v);
		return false;
	}
	if (v->move_to >= 0)
		return false; /* its ring connects again once its units moved (moves_run()) */
	bs = pvx_xs_read_state(&xb->xs, v->be);
	if (pvx_xs_read_uint(&xb->xs, PVX_XS_NOTX, v->be, XSN_ONLINE, 1, &online) != 0)
		online = 0;

	if (!v->active) {
		bool adopt = v->adopt;

		v->adopt = false;
		if (bs == PVSD_XB_INITIALISING && online == 1) {
			if (vhost_activate(v, bs) != 0)
				return false;
			return true;
		}
		if (adopt && bs >= PVSD_XB_INITWAIT && bs <= PVSD_XB_RECONFIGURED) {
			if (vhost_activate(v, bs) != 0)
				return false;
			return true;
		}
		return false;
	}
	/*
	 * The toolstack may reset a closed vhost to Initialising to reuse it:
	 * start over as the kernel would with a new xenbus device.
	 */
	if (bs == PVSD_XB_INITIALISING && !v->ring) {
		vhost_deactivate(v);
		return online == 1;
	}

	fe = fe_state(v);
	if (fe < 0 && !v->fe_seen)
		return false; /* the toolstack has not written the frontend yet */
	if (fe >= 0)
		v->fe_seen = true;
	if (fe != PVSD_XB_INITIALISED && fe != PVSD_XB_CONNECTED)
		v->cf_valid = false;

	was_live =
	    bs == PVSD_XB_CONNECTED || bs == PVSD_XB_RECONFIGURING || bs == PVSD_XB_RECONFIGURED;
	/* A new ring-ref while connected is a frontend resume (save/restore, migration). */
	if (v->ring && (fe == PVSD_XB_INITIALISED || fe == PVSD_XB_CONNECTED) &&
	    read_ring_info(v, &ref, &port) == 0 && (ref != v->ring_ref || port != v->evtchn)) {
		vlog(v, LOG_INFO, "frontend came back with ring-ref %u event-channel %u", ref,
		     port);
		ring_start_drain(v, "frontend resumed");
		return true;
	}

	/* A connect waiting for its devices' opens: finish it once they ended. */
	if (v->connect_pass >= 0 && v->ring && !v->ring_stopping &&
	    (fe == PVSD_XB_INITIALISED || fe == PVSD_XB_CONNECTED)) {
		v->waiting = devs_pass(v, (enum dev_pass)v->connect_pass);
		if (v->waiting || v->gone)
			return false;
		v->connect_pass = -1;
		ring_connected(v, bs, false);
		return true;
	}
	if (!v->ring || v->ring_stopping)
		v->connect_pass = -1;

	switch (fe) {
	case PVSD_XB_INITIALISED:
		want_ring = true;
		break;
	case PVSD_XB_CONNECTED:
		want_ring = bs != PVSD_XB_CLOSING && bs != PVSD_XB_CLOSED;
		break;
	case PVSD_XB_CLOSING:
	case PVSD_XB_RECONFIGURING:
		/*
		 * Only to adopt: requests the previous daemon left must still be
		 * answered before the frontend can finish closing or reconfiguring.
		 */
		want_ring =
		    was_live && (v->adopting || (v->reattach && fe == PVSD_XB_RECONFIGURING));
		break;
	default:
		want_ring = false;
		break;
	}
	if (want_ring && !v->ring) {
		if (ring_connect(v, fe, bs) != 0)
			return false;
		return true;
	}

	switch (fe) {
	case PVSD_XB_INITIALISING:
	case PVSD_XB_INITWAIT:
		/* The frontend dropped its ring (resume in progress, or a new driver). */
		if (v->ring) {
			ring_start_drain(v, "frontend re-initialising");
			return true;
		}
		return false;
	case PVSD_XB_INITIALISED:
		return false;
	case PVSD_XB_CONNECTED:
		if (!v->ring)
			return false;
		devs_pass(v, PASS_UPDATEDEV);
		/* Not over the toolstack's Reconfiguring: the frontend has yet to see it. */
		if (bs != PVSD_XB_CONNECTED && bs != PVSD_XB_RECONFIGURING)
			return set_state(v, bs, PVSD_XB_CONNECTED) == 0;
		return false;
	case PVSD_XB_CLOSING:
		if (v->ring) {
			ring_start_drain(v, "frontend closing");
			return true;
		}
		if (bs != PVSD_XB_CLOSING && bs != PVSD_XB_CLOSED)
			return set_state(v, bs, PVSD_XB_CLOSING) == 0;
		return false;
	case PVSD_XB_RECONFIGURING:
		if (bs == PVSD_XB_RECONFIGURED)
			return false;
		/* Only a connected frontend can be asked to reconfigure. */
		if (!was_live) {
			vlog_once(v, LOG_WARNING,
			          "frontend Reconfiguring while backend is %s: ignored",
			          pvsd_xb_state_name(bs));
			return false;
		}
		v->waiting = devs_pass(v, PASS_HOTPLUG);
		if (v->waiting || v->gone)
			return false;
		return set_state(v, bs, PVSD_XB_RECONFIGURED) == 0;
	case PVSD_XB_RECONFIGURED:
	default:
		if (fe > PVSD_XB_RECONFIGURED || fe == PVSD_XB_RECONFIGURED) {
			vlog_once(v, LOG_WARNING, "frontend in state %d (%s): ignored", fe,
			          pvsd_xb_state_name(fe));
			return false;
		}
		/* Closed, Unknown, or the frontend vanished. */
		if (v->ring) {
			ring_start_drain(v, fe == PVSD_XB_CLOSED ? "frontend closed"
			                                         : "frontend gone");
			return true;
		}
		if (bs != PVSD_XB_CLOSED && set_state(v, bs, PVSD_XB_CLOSED) != 0)
			return false;
		if (fe != PVSD_XB_CLOSED || online == 0) {
			vlog(v, LOG_INFO, "%s: releasing the vhost",
			     fe == PVSD_XB_CLOSED ? "offline" : "frontend gone");
			vhost_deactivate(v);
		}
		return false;
	}
}

static void reconcile(struct xb_vhost *v)
{
	int i;

	v->dirty = false;
	v->opened = false;
	if (v->xb->stopping)
		return;
	for (i = 0; i < RECONCILE_LOOP && reconcile_step(v); i++)
		;
	if (v->active) {
		devs_sync(v);
		devs_medium(v);
	}
}

static void sweep_dead(struct pvsd_xenbus *xb)
{
	struct xb_vhost **pp = &xb->vhosts;

	while (*pp) {
		struct xb_vhost *v = *pp;

		if (v->dead) {
			*pp = v->next;
			free(v);
			continue;
		}
		pp = &v->next;
	}
	pvs_host_sweep(xb->host);
}

/* ---- events ---- */

static int parse_id(const char *s, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (pvx_parse_uint(s, max, &v) != 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Every vhost directory: new ones appear, removed ones go. */
static void scan(struct pvsd_xenbus *xb)
{
	const struct pvx_xs_ops *o = xb->xs.ops;
	unsigned int nd = 0, nv, i, j;
	char **doms, **vhs, path[128];
	struct xb_vhost *v;

	for (v = xb->vhosts; v; v = v->next)
		v->dirty = true; /* removed directories are noticed by reconcile */
	doms = o->directory(xb->xs.ctx, PVX_XS_NOTX, xb->base, &nd);
	for (i = 0; doms && i < nd; i++) {
		uint32_t domid, id;

		if (parse_id(doms[i], DOMID_MAX, &domid) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", xb->base, doms[i]);
		nv = 0;
		vhs = o->directory(xb->xs.ctx, PVX_XS_NOTX, path, &nv);
		for (j = 0; vhs && j < nv; j++) {
			if (parse_id(vhs[j], UINT32_MAX, &id) != 0)
				continue;
			v = vhost_find(xb, domid, id);
			if (!v)
				v = vhost_new(xb, domid, id);
			if (v)
				v->dirty = true;
		}
		free(vhs);
	}
	free(doms);
	xb->scanned = true;
}

static void route(struct pvsd_xenbus *xb, const char *path, const char *token)
{
	size_t bl = strlen(xb->base);
	struct xb_vhost *v;

	if (strncmp(token, TOKEN_FE, strlen(TOKEN_FE)) == 0) {
		for (v = xb->vhosts; v; v = v->next)
			if (!v->dead && strcmp(v->token, token) == 0)
				v->dirty = true;
		return;
	}
	if (strcmp(token, TOKEN_BE) != 0)
		return;
	if (strncmp(path, xb->base, bl) != 0 || (path[bl] != '/' && path[bl] != '\0'))
		return;
	{
		/* base/DOMID/VHOST[/...] */
		char d[16], h[16];
		const char *p = path + bl;
		uint32_t domid, id;
		size_t n;

		if (*p == '\0') {
			xb->rescan = true;
			return;
		}
		p++;
		n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(d) || p[n] == '\0') {
			xb->rescan = true; /* base/DOMID itself: added or removed */
			return;
		}
		memcpy(d, p, n);
		d[n] = '\0';
		p += n + 1;
		n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(h))
			return;
		memcpy(h, p, n);
		h[n] = '\0';
		if (parse_id(d, DOMID_MAX, &domid) || parse_id(h, UINT32_MAX, &id))
			return;
		v = vhost_find(xb, domid, id);
		if (!v)
			v = vhost_new(xb, domid, id);
		if (v)
			v->dirty = true;
	}
}

static void reconcile_dirty(struct pvsd_xenbus *xb)
{
	struct xb_vhost *v;

	if (xb->rescan) {
		xb->rescan = false;
		scan(xb);
	}
	for (v = xb->vhosts; v; v = v->next)
		if (v->dirty && !v->dead)
			reconcile(v);
	sweep_dead(xb);
}

void pvsd_xenbus_handle_xs(struct pvsd_xenbus *xb)
{
	char *path, *token;
	int n, rc;

	/* Bounded, so that a flood of events cannot starve the rings. */
	for (n = 0; n < 4096; n++) {
		rc = xb->xs.ops->read_watch(xb->xs.ctx, &path, &token);
		if (rc <= 0) {
			if (rc < 0)
				plog(LOG_ERR, "reading xenstore watch events: %s", strerror(-rc));
			break;
		}
		route(xb, path, token);
		free(path);
		free(token);
	}
	if (!xb->stopping)
		reconcile_dirty(xb);
}

void pvsd_xenbus_handle_ring(struct pvsd_xenbus *xb, void *cookie)
{
	pvsd_xenbus_handle_ring_loop(xb, ALL_LOOPS, cookie);
}

/*
 * Whether what a half-done step waits for has happened; checked after every
 * worker poll, so it must not touch xenstore.
 */
static bool wait_over(const struct xb_vhost *v)
{
	const struct xb_dev *d;

	if (v->ring && (v->ring_stopping || v->gone))
		return pvsd_ring_inflight(v->ring) == 0;
	if (v->gone)
		return true;
	if (!v->waiting)
		return false;
	if (v->opened)
		return true;
	for (d = v->devs; d; d = d->next) {
		const struct pvs_unit *l = d->drain;

		if (l && !(pvs_unit_is_open(l) && pvs_unit_users(l) == 0 &&
		           pvs_lun_inflight(pvs_unit_lun(l)) > 0))
			return true;
	}
	return false;
}

void pvsd_xenbus_after_poll(struct pvsd_xenbus *xb)
{
	struct xb_vhost *v;

	for (v = xb->vhosts; v; v = v->next)
		if (v->ring)
			pvsd_ring_flush(v->ring);
	pvsd_xenbus_after_poll_main(xb);
}

/*
 * Polling or deferring turned off (pvscsictl, between passes): a ring the
 * last pass left unarmed is armed now, since no pass will arm it before
 * the loop sleeps; what came meanwhile is taken by the next pass.
 */
static void set_polling(struct pvsd_xenbus *xb)
{
	bool on = pvsd_xenbus_polling(xb);

	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (!v->ring)
			continue;
		pvsd_ring_set_polling(v->ring, on);
		if (!on && !v->ring_stopping && pvsd_ring_arm(v->ring))
			v->ring_more = true;
	}
}

void pvsd_xenbus_set_poll_us(struct pvsd_xenbus *xb, unsigned int us)
{
	xb->poll_us = us;
	set_polling(xb);
}

unsigned int pvsd_xenbus_poll_us(const struct pvsd_xenbus *xb)
{
	return xb->poll_us;
}

void pvsd_xenbus_set_coalesce_us(struct pvsd_xenbus *xb, unsigned int us)
{
	xb->coalesce_us = us;
	set_polling(xb);
}

unsigned int pvsd_xenbus_coalesce_us(const struct pvsd_xenbus *xb)
{
	return xb->coalesce_us;
}

void pvsd_xenbus_set_defer_kicks(struct pvsd_xenbus *xb, bool on)
{
	xb->defer_kicks = on;
	set_polling(xb);
}

bool pvsd_xenbus_defer_kicks(const struct pvsd_xenbus *xb)
{
	return xb->defer_kicks;
}

bool pvsd_xenbus_polling(const struct pvsd_xenbus *xb)
{
	return xb->poll_us != 0 || xb->coalesce_us != 0 || xb->defer_kicks;
}

bool pvsd_xenbus_has_requests(const struct pvsd_xenbus *xb)
{
	return pvsd_xenbus_has_requests_loop(xb, ALL_LOOPS);
}

unsigned int pvsd_xenbus_poll(struct pvsd_xenbus *xb)
{
	return pvsd_xenbus_poll_loop(xb, ALL_LOOPS);
}

bool pvsd_xenbus_arm(struct pvsd_xenbus *xb)
{
	return pvsd_xenbus_arm_loop(xb, ALL_LOOPS);
}

bool pvsd_xenbus_arm_idle(struct pvsd_xenbus *xb, bool *left)
{
	return pvsd_xenbus_arm_idle_loop(xb, ALL_LOOPS, left);
}

int pvsd_xenbus_timeout_ms(const struct pvsd_xenbus *xb)
{
	return pvsd_xenbus_timeout_ms_loop(xb, ALL_LOOPS);
}

int pvsd_xenbus_main_timeout_ms(const struct pvsd_xenbus *xb)
{
	uint64_t now;

	if (!moving_any(xb))
		return -1;
	now = pvs_now_ns();
	if (now >= xb->move_deadline)
		return 0;
	/* Rounded up: woken a little early, the loop would only sleep again. */
	return (int)((xb->move_deadline - now + 999999) / 1000000);
}

bool pvsd_xenbus_pending(const struct pvsd_xenbus *xb)
{
	return pvsd_xenbus_pending_loop(xb, ALL_LOOPS);
}

void pvsd_xenbus_run_pending(struct pvsd_xenbus *xb)
{
	pvsd_xenbus_run_pending_loop(xb, ALL_LOOPS);
}

/* ---- one event loop's share (pvscsid --threads) ---- */

/* A ring of loop @loop, or any ring (ALL_LOOPS, for the one-loop calls above). */
static bool on_loop(const struct xb_vhost *v, unsigned int loop)
{
	return v->ring && (loop == ALL_LOOPS || v->loop == (int)loop);
}

void pvsd_xenbus_handle_ring_loop(struct pvsd_xenbus *xb, unsigned int loop, void *cookie)
{
	/*
	 * A cookie comes from an epoll_wait before the main thread's last
	 * turn, which may have freed its vhost: only a ring of this loop
	 * found in the list is served.
	 */
	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (v == cookie) {
			if (on_loop(v, loop))
				v->ring_more = pvsd_ring_handle_event(v->ring);
			return;
		}
	}
}

bool pvsd_xenbus_has_requests_loop(const struct pvsd_xenbus *xb, unsigned int loop)
{
	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (on_loop(v, loop) && !v->ring_stopping && pvsd_ring_has_requests(v->ring))
			return true;
	return false;
}

unsigned int pvsd_xenbus_poll_loop(struct pvsd_xenbus *xb, unsigned int loop)
{
	unsigned int n = 0;

	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (on_loop(v, loop) && !v->ring_stopping && pvsd_ring_has_requests(v->ring)) {
			v->ring_more = pvsd_ring_poll(v->ring);
			n++;
		}
	}
	return n;
}

/*
 * Arm @loop's rings; true when one had requests.  With @left, a ring with
 * PVSD_DEFER_MIN commands in flight or more is left unarmed, and *@left
 * says whether one was.
 */
static bool arm_rings(struct pvsd_xenbus *xb, unsigned int loop, bool *left)
{
	bool more = false;

	if (left)
		*left = false;
	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (!on_loop(v, loop) || v->ring_stopping)
			continue;
		if (left && pvsd_ring_inflight(v->ring) >= PVSD_DEFER_MIN)
			*left = true;
		else if (pvsd_ring_arm(v->ring))
			more = true;
	}
	return more;
}

bool pvsd_xenbus_coalescible_loop(const struct pvsd_xenbus *xb, unsigned int loop)
{
	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (on_loop(v, loop) && v->ring &&
		    pvsd_ring_inflight(v->ring) >= PVSD_COALESCE_MAX_INFLIGHT)
			return false;
	}
	return true;
}

bool pvsd_xenbus_arm_loop(struct pvsd_xenbus *xb, unsigned int loop)
{
	return arm_rings(xb, loop, NULL);
}

bool pvsd_xenbus_arm_idle_loop(struct pvsd_xenbus *xb, unsigned int loop, bool *left)
{
	return arm_rings(xb, loop, left);
}

int pvsd_xenbus_timeout_ms_loop(const struct pvsd_xenbus *xb, unsigned int loop)
{
	int best = -1;

	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		int t = on_loop(v, loop) ? pvsd_ring_timeout_ms(v->ring) : -1;

		if (t >= 0 && (best < 0 || t < best))
			best = t;
	}
	return best;
}

/* Requests left on the ring by a bounded pass, or a kick its worker read. */
static bool ring_due(const struct xb_vhost *v)
{
	return v->ring_more || pvsd_ring_kicked(v->ring);
}

bool pvsd_xenbus_pending_loop(const struct pvsd_xenbus *xb, unsigned int loop)
{
	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (on_loop(v, loop) && ring_due(v))
			return true;
	return false;
}

void pvsd_xenbus_run_pending_loop(struct pvsd_xenbus *xb, unsigned int loop)
{
	for (struct xb_vhost *v = xb->vhosts; v; v = v->next)
		if (on_loop(v, loop) && ring_due(v))
			v->ring_more = pvsd_ring_handle_event(v->ring);
}

bool pvsd_xenbus_flush_loop(struct pvsd_xenbus *xb, unsigned int loop)
{
	bool main_due = false;

	for (struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		if (v->loop != (int)loop || v->dead)
			continue;
		if (v->ring)
			pvsd_ring_flush(v->ring);
		if (wait_over(v) || (v->move_to >= 0 && !v->ring))
			main_due = true;
	}
	return main_due || pvs_host_sweep_due(xb->host, xb->loops[loop].worker);
}

void pvsd_xenbus_after_poll_main(struct pvsd_xenbus *xb)
{
	struct xb_vhost *v;

	pvs_host_sweep(xb->host);
	if (xb->stopping)
		return;
	for (v = xb->vhosts; v; v = v->next)
		if (!v->dead && wait_over(v))
			reconcile(v);
	if (moving_any(xb))
		moves_run(xb);
	sweep_dead(xb);
}

/* ---- life cycle ---- */

int pvsd_xenbus_start(const struct pvsd_xenbus_cfg *cfg, struct pvsd_xenbus **out)
{
	struct pvsd_xenbus *xb = calloc(1, sizeof(*xb));
	uint64_t domid = 0;
	int rc;

	if (!xb)
		return -ENOMEM;
	xb->cfg = *cfg;
	xb->cfg.loops = NULL;
	xb->xs = cfg->xs;
	if (cfg->nloops > PVSD_XB_MAX_LOOPS || (cfg->nloops && !cfg->loops)) {
		free(xb);
		return -EINVAL;
	}
	xb->nloops = cfg->nloops ? cfg->nloops : 1;
	if (cfg->nloops)
		memcpy(xb->loops, cfg->loops, cfg->nloops * sizeof(*cfg->loops));
	else
		xb->loops[0] = (struct pvsd_xb_loop){.worker = cfg->worker,
		                                     .fd_add = cfg->fd_add,
		                                     .fd_del = cfg->fd_del,
		                                     .fd_arg = cfg->fd_arg};
	if (!xb->cfg.max_segs)
		xb->cfg.max_segs = PVSD_RING_DEFAULT_SEGS;
	if (xb->cfg.max_segs > PVSD_RING_MAX_SEGS)
		xb->cfg.max_segs = PVSD_RING_MAX_SEGS;
	if (cfg->own_domid >= 0) {
		domid = (uint64_t)cfg->own_domid;
	} else {
		/* Relative: xenstored resolves it in the caller's own domain directory. */
		char *s = xb->xs.ops->read(xb->xs.ctx, PVX_XS_NOTX, XSN_DOMID, NULL);

		if (!s || pvx_parse_uint(s, DOMID_MAX, &domid) != 0)
			domid = 0;
		free(s);
	}
	xb->domid = (uint32_t)domid;
	xb->host = cfg->host;
	if (!xb->host) {
		struct pvs_host_cfg hc = {
		    .worker = cfg->worker, .resolver = cfg->resolver, .log = plog_tagged};

		if (pvs_host_new(&hc, &xb->host) != 0) {
			free(xb);
			return -ENOMEM;
		}
		xb->own_host = true;
	}
	snprintf(xb->be_type, sizeof(xb->be_type), "%s",
	         cfg->be_type ? cfg->be_type : XSN_BACKEND_TYPE);
	snprintf(xb->base, sizeof(xb->base), XSN_BACKEND_TYPE_ROOT, xb->domid, xb->be_type);
	rc = xb->xs.ops->watch(xb->xs.ctx, xb->base, TOKEN_BE);
	if (rc) {
		plog(LOG_ERR, "cannot watch %s: %s", xb->base, strerror(-rc));
		if (xb->own_host)
			pvs_host_free(xb->host);
		free(xb);
		return rc;
	}
	/* The registration event triggers the first scan, which adopts. */
	xb->rescan = true;
	plog(LOG_INFO, "serving %s (feature-sg-grant %u)", xb->base, xb->cfg.max_segs);
	*out = xb;
	return 0;
}

unsigned int pvsd_xenbus_nloops(const struct pvsd_xenbus *xb)
{
	return xb->nloops;
}

unsigned int pvsd_xenbus_loops_running(const struct pvsd_xenbus *xb)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < xb->nloops; i++)
		n += loop_running(xb, i);
	return n;
}

uint32_t pvsd_xenbus_domid(const struct pvsd_xenbus *xb)
{
	return xb->domid;
}

const char *pvsd_xenbus_base(const struct pvsd_xenbus *xb)
{
	return xb->base;
}

void pvsd_xenbus_shutdown(struct pvsd_xenbus *xb)
{
	struct xb_vhost *v;

	xb->stopping = true;
	for (v = xb->vhosts; v; v = v->next) {
		if (v->ring) {
			pvsd_ring_stop(v->ring);
			v->ring_more = false;
		}
	}
}

bool pvsd_xenbus_idle(const struct pvsd_xenbus *xb)
{
	const struct xb_vhost *v;
	const struct pvs_unit *u;

	for (v = xb->vhosts; v; v = v->next)
		if (v->ring && pvsd_ring_inflight(v->ring) > 0)
			return false;
	for (unsigned int i = 0; (u = pvs_host_unit_at(xb->host, i)) != NULL; i++)
		if (pvs_lun_inflight(pvs_unit_lun(u)) > 0)
			return false;
	return true;
}

void pvsd_xenbus_free(struct pvsd_xenbus *xb)
{
	struct xb_vhost *v;
	bool busy = false;

	if (!xb)
		return;
	xb->stopping = true;
	for (v = xb->vhosts; v; v = v->next) {
		if (v->ring) {
			pvsd_ring_stop(v->ring);
			v->ring_stopping = true;
			if (!ring_try_disconnect(v)) {
				/* Freeing it would free memory the LUN core still writes to. */
				vlog(v, LOG_ERR, "ring still busy at exit: left mapped");
				busy = true;
				continue;
			}
		}
		vhost_unwatch(v);
		dev_free_all(v);
		if (v->map)
			pvs_map_free(v->map);
		v->map = NULL;
		v->dead = true;
	}
	if (busy)
		return;
	sweep_dead(xb);
	if (xb->own_host)
		pvs_host_free(xb->host);
	xb->xs.ops->unwatch(xb->xs.ctx, xb->base, TOKEN_BE);
	free(xb);
}

void pvsd_xenbus_get_stats(const struct pvsd_xenbus *xb, struct pvsd_xenbus_stats *out)
{
	const struct xb_vhost *v;
	const struct xb_dev *d;
	struct pvs_host_stats hs;

	memset(out, 0, sizeof(*out));
	for (v = xb->vhosts; v; v = v->next) {
		if (v->dead)
			continue;
		out->vhosts++;
		out->active += v->active;
		if (v->ring) {
			out->rings++;
			out->inflight += pvsd_ring_inflight(v->ring);
		}
		for (d = v->devs; d; d = d->next) {
			out->mapped += d->l != NULL;
			out->opening += d->opening != NULL;
		}
	}
	pvs_host_get_stats(xb->host, &hs);
	out->luns = hs.units;
	out->reconnects = xb->reconnects;
	out->adopted = xb->adopted;
	out->moves = xb->moves;
}

void pvsd_xenbus_visit(const struct pvsd_xenbus *xb, const struct pvsd_xenbus_visitor *vis,
                       void *arg)
{
	for (const struct xb_vhost *v = xb->vhosts; v; v = v->next) {
		struct pvsd_vhost_info vi = {
		    .domid = v->domid,
		    .vhost = v->id,
		    .be_state = pvx_xs_read_state(&xb->xs, v->be),
		    .fe_state = pvx_xs_read_state(&xb->xs, v->fe),
		    .active = v->active,
		    .feature_host = v->feature_host,
		    .ring = v->ring,
		    .loop = vhost_placed(v) ? v->loop : -1,
		};

		if (v->dead)
			continue;
		vis->vhost(arg, &vi);
		for (const struct xb_dev *d = v->devs; d; d = d->next) {
			struct pvsd_dev_info di = {
			    .name = d->name,
			    .channel = d->chn,
			    .target = d->tgt,
			    .lun = d->lun,
			    /* What it opens now, before it is mapped. */
			    .pdev = d->opening ? d->open_pdev : d->pdev,
			    .unit = d->l,
			    .opening = d->opening != NULL,
			};

			vis->dev(arg, &di);
		}
		vis->vhost_end(arg);
	}
}

struct pvs_host *pvsd_xenbus_host(const struct pvsd_xenbus *xb)
{
	return xb->host;
}

struct pvs_lun *pvsd_xenbus_lookup(const struct pvsd_xenbus *xb, uint32_t domid, uint32_t vhost,
                                   uint32_t channel, uint32_t target, uint32_t lun)
{
	const struct xb_vhost *v;

	for (v = xb->vhosts; v; v = v->next)
		if (!v->dead && v->domid == domid && v->id == vhost && v->map)
			return pvs_map_lookup(v->map, channel, target, lun);
	return NULL;
}

struct pvsd_ring *pvsd_xenbus_ring(const struct pvsd_xenbus *xb, uint32_t domid, uint32_t vhost)
{
	const struct xb_vhost *v;

	for (v = xb->vhosts; v; v = v->next)
		if (!v->dead && v->domid == domid && v->id == vhost)
			return v->ring;
	return NULL;
}
