/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attach.c - xl scsi-attach DOMAIN PDEV VDEV[,OPTION...], and the attach
 * step of xl create / xl restore / migrate-receive.
 *
 * Everything is checked before anything is written (unknown domain,
 * unresolvable PDEV, VDEV in use, PDEV held by a domain, feature-host
 * disagreement, pvscsid not running), under the host-wide lock so that the
 * answer still holds when the write happens.  The write is one transaction;
 * then, if the frontend is there to answer, the command waits for the
 * device to be Connected (4), and on failure removes what it wrote.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xlp.h"

#define XB_CONNECTED    4
#define XB_CLOSING      5
#define XB_CLOSED       6
#define XB_RECONFIG     7
#define XB_RECONFIGURED 8

static void domain_label(struct xlp_ctx *c, uint32_t domid, char *buf, size_t len)
{
	char *name = xlp_domain_name(c, domid);

	if (name)
		xlp_snprintf(buf, len, "%s (id %u)", name, domid);
	else
		xlp_snprintf(buf, len, "id %u", domid);
	free(name);
}

/* What an existing dev-N holds, to compare with a new device. */
struct held {
	bool is_file, is_host;
	dev_t st_dev;
	ino_t st_ino;
	bool hctl_ok;
	struct pvs_hctl hctl;
};

static void held_of(struct xlp_ctx *c, const struct xlp_bdev *b, struct held *h)
{
	struct pvs_spec *sp;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = xlp_bdev_hctl(c, b, &h->hctl, NULL);
	if (rc != XLP_BDEV_EMULATED) {
		h->is_host = true;
		h->hctl_ok = rc == 0;
		return;
	}
	sp = malloc(sizeof(*sp));
	if (sp && !pvs_spec_parse(b->p_dev, sp, NULL, 0) && sp->kind == PVS_SPEC_FILE) {
		struct stat st;

		h->is_file = true;
		if (!stat(sp->name, &st)) {
			h->st_dev = st.st_dev;
			h->st_ino = st.st_ino;
		}
	}
	free(sp);
}

static bool same_lun(const struct xlp_dev *d, const struct xlp_bdev *b, const struct held *h)
{
	if (d->e.kind == XLP_FILE)
		return h->is_file && h->st_ino == d->st_ino && h->st_dev == d->st_dev &&
		       (h->st_ino || h->st_dev);
	if (d->e.kind != XLP_HOST || !h->is_host)
		return false;
	if (h->hctl_ok)
		return xlp_hctl_eq(&h->hctl, &d->hctl);
	/* Not resolvable here (yet): fall back to the recorded identity. */
	return !d->no_identity && b->p_devname[0] && !strcmp(b->p_devname, d->p_devname);
}

static bool same_guest(struct xlp_ctx *c, uint32_t a, uint32_t b)
{
	char ua[64], ub[64];

	if (a == UINT32_MAX || b == UINT32_MAX)
		return false;
	return !xlp_domain_uuid(c, a, ua, sizeof(ua)) && !xlp_domain_uuid(c, b, ub, sizeof(ub)) &&
	       !strcmp(ua, ub);
}

/* Is the LUN of @d held by a live domain?  0, or -EBUSY with the holder named. */
static int check_holders(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                         const struct xlp_attach_opts *o)
{
	uint32_t *ids = NULL;
	size_t nids = 0;
	int rc = xlp_backend_domids(c, &ids, &nids);

	if (rc) {
		xlp_errf(c, "cannot list the backend's domains: %s\n", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < nids && !rc; i++) {
		struct xlp_vhost *v = NULL;
		size_t nv = 0;

		if (!xlp_domain_exists(c, ids[i]))
			continue; /* left behind by a domain that is gone */
		if (xlp_vhosts_read(c, ids[i], &v, &nv))
			continue;
		for (size_t k = 0; k < nv && !rc; k++) {
			for (size_t m = 0; m < v[k].ndevs && !rc; m++) {
				const struct xlp_bdev *b = &v[k].devs[m];
				struct held h;
				char who[300];

				held_of(c, b, &h);
				if (!same_lun(d, b, &h))
					continue;
				domain_label(c, ids[i], who, sizeof(who));
				if (ids[i] == domid) {
					xlp_errf(
					    c,
					    "PDEV '%s' is already assigned to this domain, %s, "
					    "as v-dev %s (controller %u, dev-%u)\n",
					    d->e.pdev, who, b->v_dev, v[k].vhost, b->n);
					rc = -EBUSY;
				} else if (o && o->same_uuid_ok && same_guest(c, ids[i], domid)) {
					continue; /* the same guest, migrating to this host */
				} else if (d->e.shareable && b->shareable) {
					continue;
				} else {
					xlp_errf(
					    c,
					    "PDEV '%s' (%s) is already assigned to domain %s as "
					    "v-dev %s; to share it on purpose, give both "
					    "attachments the option 'shareable'\n",
					    d->e.pdev,
					    d->e.kind == XLP_HOST ? d->p_dev : d->p_devname, who,
					    b->v_dev);
					rc = -EBUSY;
				}
			}
		}
		xlp_vhosts_free(v, nv);
	}
	free(ids);
	return rc;
}

static struct xlp_vhost *find_vhost(struct xlp_vhost *v, size_t n, uint32_t vhost)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].vhost == vhost)
			return &v[i];
	return NULL;
}

/* Checks against the domain's own controllers. */
static int check_domain(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                        struct xlp_vhost *v, size_t nv, bool member)
{
	char vd[48], who[300], grp[XLP_SPEC_MAX + 100];
	struct xlp_vhost *vh;

	xlp_hctl_str(&d->e.vdev, vd);
	domain_label(c, domid, who, sizeof(who));
	/* A group's range is its own, even where it has no LUN now (one may appear). */
	if (!member && !xlp_group_of_vdev(c, domid, &d->e.vdev, grp, sizeof(grp))) {
		xlp_errf(c, "VDEV %s is inside the group %s of domain %s\n", vd, grp, who);
		return -EEXIST;
	}
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			struct pvs_hctl h;

			if (pvs_parse_hctl(v[i].devs[k].v_dev, &h) || !xlp_hctl_eq(&h, &d->e.vdev))
				continue;
			xlp_errf(c, "VDEV %s is already used in domain %s (p-dev %s, dev-%u)\n", vd,
			         who, v[i].devs[k].p_dev, v[i].devs[k].n);
			return -EEXIST;
		}
	}
	vh = find_vhost(v, nv, d->e.vdev.host);
	if (!vh)
		return 0;
	if (vh->state == XB_CLOSING || vh->state == XB_CLOSED) {
		xlp_errf(c,
		         "controller %u of domain %s is closing (backend state %d); try again "
		         "when it is gone\n",
		         vh->vhost, who, vh->state);
		return -EBUSY;
	}
	if (vh->ndevs && vh->feature_host != d->e.feature_host) {
		xlp_errf(c,
		         "feature-host must agree for all devices of controller %u: it has "
		         "feature-host=%d (v-dev %s), VDEV %s asks for feature-host=%d\n",
		         vh->vhost, vh->feature_host, vh->devs[0].v_dev, vd, d->e.feature_host);
		return -EINVAL;
	}
	return 0;
}

void xlp_gc_stale(struct xlp_ctx *c)
{
	uint32_t *ids = NULL;
	size_t n = 0;

	if (xlp_backend_domids(c, &ids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		char p[128];

		if (xlp_domain_exists(c, ids[i]))
			continue;
		xlp_snprintf(p, sizeof(p), XSN_BACKEND_ROOT "/%u", c->be_domid, ids[i]);
		c->xs.ops->rm(c->xs.ctx, PVX_XS_NOTX, p);
	}
	free(ids);
}

int xlp_attach_check(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                     const struct xlp_attach_opts *o)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	int rc = check_holders(c, domid, d, o);

	if (rc || domid == UINT32_MAX)
		return rc;
	rc = xlp_vhosts_read(c, domid, &v, &nv);
	if (rc) {
		xlp_errf(c, "cannot read the domain's controllers: %s\n", strerror(-rc));
		return rc;
	}
	rc = check_domain(c, domid, d, v, nv, o && o->group_member);
	xlp_vhosts_free(v, nv);
	return rc;
}

static void options_str(const struct xlp_entry *e, char *buf, size_t len)
{
	xlp_snprintf(buf, len, "%s%s%s", e->feature_host ? "feature-host," : "", e->ro ? "ro," : "",
	             e->shareable ? "shareable," : "");
	if (buf[0])
		buf[strlen(buf) - 1] = '\0';
}

static void plan_dev(struct xlp_plan *p, const char *be, const char *rec, unsigned int n,
                     const struct xlp_dev *d)
{
	char dev[XLP_PATH_MAX], q[XLP_PATH_MAX], vd[48], opts[64];

	xlp_hctl_str(&d->e.vdev, vd);
	xlp_snprintf(dev, sizeof(dev), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", be, n);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_P_DEV, dev);
	xlp_plan_write(p, q, "%s", d->p_dev);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_V_DEV, dev);
	xlp_plan_write(p, q, "%s", vd);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_P_DEVNAME, dev);
	xlp_plan_write(p, q, "%s", d->p_devname);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, dev);
	xlp_plan_write(p, q, "1");
	/* The toolstack's own record: what was typed, and the options xenstore has no node for. */
	options_str(&d->e, opts, sizeof(opts));
	xlp_snprintf(q, sizeof(q), "%s/dev-%u/pdev", rec, n);
	xlp_plan_write(p, q, "%s", d->e.pdev);
	xlp_snprintf(q, sizeof(q), "%s/dev-%u/options", rec, n);
	xlp_plan_write(p, q, "%s", opts);
}

/*
 * The lowest dev-N free in the backend and in the saved configuration
 * (@saved may be NULL): a device kept there while not attached (not found
 * after a reboot or a scsi-resolve) must not lose its record to a new one.
 */
static unsigned int free_n(const struct xlp_vhost *vh, uint32_t vhost,
                           const struct xlp_saved_list *saved)
{
	unsigned int n = 0;

	for (;;) {
		bool used = false;

		for (size_t i = 0; vh && i < vh->ndevs; i++)
			used |= vh->devs[i].n == n;
		for (size_t i = 0; saved && i < saved->n; i++)
			used |= saved->v[i].vhost == vhost && saved->v[i].n == n;
		if (!used)
			return n;
		n++;
	}
}

/* Poll until @done says so (1), fails (-errno), or the timeout passes (-ETIMEDOUT). */
int xlp_wait(struct xlp_ctx *c, int (*done)(struct xlp_ctx *c, void *arg), void *arg)
{
	unsigned int waited = 0;

	for (;;) {
		int r = done(c, arg);

		if (r)
			return r < 0 ? r : 0;
		if (waited >= c->timeout_ms)
			return -ETIMEDOUT;
		c->sleep_ms(c, c->poll_ms);
		waited += c->poll_ms;
	}
}

struct dev_wait {
	char be[XLP_PATH_MAX];
	unsigned int n;
};

static int dev_state(struct xlp_ctx *c, const struct dev_wait *w)
{
	char p[XLP_PATH_MAX];

	xlp_snprintf(p, sizeof(p), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_STATE, w->be, w->n);
	return xlp_read_int(c, p, -1);
}

static int be_state(struct xlp_ctx *c, const char *be)
{
	char p[XLP_PATH_MAX];

	xlp_snprintf(p, sizeof(p), "%s/" XSN_STATE, be);
	return xlp_read_int(c, p, -1);
}

static int dev_connected(struct xlp_ctx *c, void *arg)
{
	struct dev_wait *w = arg;
	int ds = dev_state(c, w);

	if (ds == XB_CLOSED)
		return -ENODEV;
	return ds == XB_CONNECTED && be_state(c, w->be) == XB_CONNECTED;
}

static int be_taken(struct xlp_ctx *c, void *arg)
{
	struct dev_wait *w = arg;
	int s = be_state(c, w->be);

	return s >= 2 && s != XB_CLOSING && s != XB_CLOSED;
}

/* Settled: not in the middle of a Reconfiguring handshake (7 or 8). */
static int be_settled(struct xlp_ctx *c, void *arg)
{
	struct dev_wait *w = arg;
	int s = be_state(c, w->be);

	return s != XB_RECONFIG && s != XB_RECONFIGURED;
}

static void states_str(struct xlp_ctx *c, const struct dev_wait *w, const char *fe, char *buf,
                       size_t len)
{
	char p[XLP_PATH_MAX];

	xlp_snprintf(p, sizeof(p), "%s/" XSN_STATE, fe);
	xlp_snprintf(buf, len, "backend state %d, frontend state %d, dev-%u state %d",
	             be_state(c, w->be), xlp_read_int(c, p, -1), w->n, dev_state(c, w));
}

static int rollback(struct xlp_ctx *c, bool new_vhost, const char *be, const char *fe,
                    const char *rec, unsigned int n)
{
	struct xlp_plan p;
	char q[XLP_PATH_MAX];
	int rc;

	xlp_plan_init(&p);
	if (new_vhost) {
		xlp_plan_rm(&p, be);
		xlp_plan_rm(&p, fe);
		xlp_plan_rm(&p, rec);
	} else {
		xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", be, n);
		xlp_plan_rm(&p, q);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", fe, n);
		xlp_plan_rm(&p, q);
		xlp_snprintf(q, sizeof(q), "%s/dev-%u", rec, n);
		xlp_plan_rm(&p, q);
	}
	rc = xlp_plan_apply(c, &p);
	xlp_plan_free(&p);
	if (new_vhost && !rc) {
		/* The per-domain directories made for this controller, if nothing else is in them.
		 */
		const char *dirs[3];
		char d0[XLP_PATH_MAX], d1[XLP_PATH_MAX], d2[XLP_PATH_MAX];

		xlp_snprintf(d0, sizeof(d0), "%.*s", (int)(strrchr(be, '/') - be), be);
		xlp_snprintf(d1, sizeof(d1), "%.*s", (int)(strrchr(fe, '/') - fe), fe);
		xlp_snprintf(d2, sizeof(d2), "%.*s", (int)(strrchr(rec, '/') - rec), rec);
		dirs[0] = d0;
		dirs[1] = d1;
		dirs[2] = d2;
		for (int i = 0; i < 3; i++) {
			unsigned int num = 1;
			char **l = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, dirs[i], &num);

			if (l && num == 0)
				c->xs.ops->rm(c->xs.ctx, PVX_XS_NOTX, dirs[i]);
			free(l);
		}
	}
	return rc;
}

int xlp_attach_dev(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                   const struct xlp_attach_opts *o, uint32_t *vhost_out, unsigned int *n_out)
{
	static const struct xlp_attach_opts dflt;
	struct xlp_vhost *v = NULL, *vh;
	size_t nv = 0;
	char be[XLP_PATH_MAX], fe[XLP_PATH_MAX], rec[XLP_PATH_MAX], who[300], vd[48],
	    q[XLP_PATH_MAX];
	struct xlp_plan p;
	struct xlp_saved saved;
	struct xlp_saved_list sl = {0};
	struct dev_wait w;
	bool new_vhost, hot;
	uint32_t vhost = d->e.vdev.host;
	unsigned int n;
	int rc;

	if (!o)
		o = &dflt;
	xlp_plan_init(&p);
	xlp_hctl_str(&d->e.vdev, vd);
	domain_label(c, domid, who, sizeof(who));
	if (domid == c->be_domid) {
		xlp_errf(c, "cannot attach SCSI devices to domain %s: it is the backend domain\n",
		         who);
		return -EINVAL;
	}
	if (c->backend_running(c) != 1) {
		xlp_errf(c,
		         "pvscsid is not running in domain %u: start it first; nothing was "
		         "changed\n",
		         c->be_domid);
		return -ENOTCONN;
	}
	rc = xlp_lock(c);
	if (rc)
		return rc;
	if (!c->dry_run)
		xlp_gc_stale(c);
	rc = check_holders(c, domid, d, o);
	if (rc)
		goto out;
	rc = xlp_vhosts_read(c, domid, &v, &nv);
	if (rc) {
		xlp_errf(c, "cannot read the controllers of domain %s: %s\n", who, strerror(-rc));
		goto out;
	}
	rc = check_domain(c, domid, d, v, nv, o && o->group_member);
	if (rc)
		goto out;

	vh = find_vhost(v, nv, vhost);
	new_vhost = vh == NULL;
	/*
	 * Another tool's handshake (or one an earlier command gave up on) still running: a
	 * device added now would miss it, and without a Reconfiguring of its own nobody would
	 * ever open it.  Let it end first, as scsi-detach does.
	 */
	if (vh && !c->dry_run && (vh->state == XB_RECONFIG || vh->state == XB_RECONFIGURED)) {
		memset(&w, 0, sizeof(w));
		xlp_be_path(c, domid, vhost, w.be, sizeof(w.be));
		rc = xlp_wait(c, be_settled, &w);
		if (rc) {
			xlp_errf(
			    c,
			    "v-dev %s of domain %s: controller %u is still reconfiguring after "
			    "%u s (backend state %d); nothing was changed\n",
			    vd, who, vhost, c->timeout_ms / 1000, be_state(c, w.be));
			goto out;
		}
		vh->state = be_state(c, w.be);
		if (vh->state < 1 || vh->state == XB_CLOSING || vh->state == XB_CLOSED) {
			xlp_errf(
			    c,
			    "v-dev %s of domain %s: controller %u is closing or gone after its "
			    "reconfiguration (backend state %d); nothing was changed\n",
			    vd, who, vhost, vh->state);
			rc = -EBUSY;
			goto out;
		}
	}
	hot = vh && vh->state == XB_CONNECTED;
	if (!o->no_saved && xlp_userdata_saved(c, domid, &sl))
		xlp_saved_free(&sl);
	n = free_n(vh, vhost, &sl);
	xlp_saved_free(&sl);
	xlp_be_path(c, domid, vhost, be, sizeof(be));
	xlp_fe_path(domid, vhost, fe, sizeof(fe));
	xlp_rec_path(domid, vhost, rec, sizeof(rec));

	if (new_vhost) {
		xlp_plan_mkdir(&p, be);
		xlp_plan_perms(&p, be, c->be_domid, PVX_XS_PERM_NONE, domid, PVX_XS_PERM_READ, 2);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_FRONTEND, be);
		xlp_plan_write(&p, q, "%s", fe);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_FRONTEND_ID, be);
		xlp_plan_write(&p, q, "%u", domid);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_ONLINE, be);
		xlp_plan_write(&p, q, "1");
		xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, be);
		xlp_plan_write(&p, q, "1");
		xlp_snprintf(q, sizeof(q), "%s/" XSN_FEATURE_HOST, be);
		xlp_plan_write(&p, q, "%d", d->e.feature_host ? 1 : 0);
	}
	plan_dev(&p, be, rec, n, d);
	if (hot) {
		xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, be);
		xlp_plan_write(&p, q, "%d", XB_RECONFIG);
	}
	if (new_vhost) {
		xlp_plan_mkdir(&p, fe);
		xlp_plan_perms(&p, fe, domid, PVX_XS_PERM_NONE, c->be_domid, PVX_XS_PERM_READ, 2);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_BACKEND, fe);
		xlp_plan_write(&p, q, "%s", be);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_BACKEND_ID, fe);
		xlp_plan_write(&p, q, "%u", c->be_domid);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, fe);
		xlp_plan_write(&p, q, "1");
	}

	if (c->dry_run) {
		xlp_outf(c, "# attach %s as v-dev %s of domain %s: controller %u%s, dev-%u%s\n",
		         d->e.pdev, vd, who, vhost, new_vhost ? " (new)" : "", n,
		         hot ? ", hot add (Reconfiguring handshake)" : "");
		xlp_plan_print(&p, c->out);
		if (!o->no_saved) {
			xlp_saved_of_dev(d, vhost, n, &saved);
			xlp_outf(c, "# saved configuration: pvscsi/%u/dev-%u/spec = ", vhost, n);
			xlp_json_put_str(c->out, saved.spec);
			xlp_outf(c, "\n");
		}
		goto out;
	}

	rc = xlp_plan_apply(c, &p);
	if (rc)
		goto out;

	memset(&w, 0, sizeof(w));
	xlp_snprintf(w.be, sizeof(w.be), "%s", be);
	w.n = n;
	if (hot) {
		rc = xlp_wait(c, dev_connected, &w);
	} else if (!o->no_wait) {
		int paused = o->backend_only ? 1 : c->domain_paused(c, domid);

		/* A paused guest cannot answer: only pvscsid's taking the controller can be seen.
		 */
		if (paused == 1)
			rc = new_vhost ? xlp_wait(c, be_taken, &w) : 0;
		else
			rc = xlp_wait(c, dev_connected, &w);
	}
	if (rc) {
		char st[160];

		states_str(c, &w, fe, st, sizeof(st));
		if (rc == -ENODEV)
			xlp_errf(c,
			         "v-dev %s of domain %s: the backend could not add PDEV '%s' "
			         "(p-dev %s; %s); see pvscsid's log\n",
			         vd, who, d->e.pdev, d->p_dev, st);
		else
			xlp_errf(c, "v-dev %s of domain %s: no answer within %u s (%s)\n", vd, who,
			         c->timeout_ms / 1000, st);
		if (!rollback(c, new_vhost, be, fe, rec, n))
			xlp_errf(c, "the attachment of v-dev %s was removed again\n", vd);
		goto out;
	}
	/* Saved only once it works, so that a failed attach leaves the file untouched. */
	if (!o->no_saved) {
		int r;

		xlp_saved_of_dev(d, vhost, n, &saved);
		r = xlp_userdata_set_dev(c, domid, vhost, n, &saved);
		if (r == -ENOENT)
			xlp_errf(c,
			         "warning: domain %s has no libxl configuration: v-dev %s will not "
			         "survive save, restore or migration\n",
			         who, vd);
		else if (r)
			xlp_errf(c,
			         "warning: v-dev %s is attached but not in the saved configuration "
			         "of domain %s (%s): it will not survive save, restore or "
			         "migration\n",
			         vd, who, strerror(-r));
	}
	if (vhost_out)
		*vhost_out = vhost;
	if (n_out)
		*n_out = n;
out:
	xlp_plan_free(&p);
	xlp_vhosts_free(v, nv);
	xlp_unlock(c);
	return rc;
}

/* ------------------------------------------------------------- the verb */

static void attach_usage(FILE *f)
{
	fprintf(
	    f, "Usage: xl [-N] scsi-attach [-N] <Domain> <PDEV> <VDEV>[,<OPTION>...]\n"
	       "       xl [-N] scsi-attach [-N] <Domain> --xml <FILE>\n"
	       "  PDEV: /dev/sdX, /dev/sgN, /dev/disk/by-id/..., /dev/disk/by-path/...,\n"
	       "        H:C:T:L, naa.<WWN>[:LUN], file:/path/image[,ro], mem:SIZE\n"
	       "  VDEV: H:C:T:L as the guest sees it (H picks the controller)\n"
	       "  A whole bus or target: ADAPTER:B:*:* H:C:*:*, ADAPTER:B:T:* H:C:T:*\n"
	       "  OPTION: feature-host, ro, shareable\n"
	       "  FILE: libvirt's <hostdev mode='subsystem' type='scsi'> or <disk type='file'>,\n"
	       "        or <devices> holding several (all are attached, or none); - reads stdin\n");
}

int xlp_cmd_attach(struct xlp_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"dryrun", 0, 0, 'N'}, {"help", 0, 0, 'h'}, {"xml", 1, 0, 'x'}, {0}};
	const char *xml = NULL;
	char err[XLP_ERR_MAX];
	struct xlp_entry e;
	struct xlp_dev *d;
	uint32_t domid;
	int rc, opt;

	c->prefix = "scsi-attach: ";
	/* Options anywhere, so that "scsi-attach DOMAIN --xml FILE" reads as written. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "Nh", lo, NULL)) != -1) {
		switch (opt) {
		case 'N':
			c->dry_run = true;
			break;
		case 'x':
			xml = optarg;
			break;
		case 'h':
			attach_usage(c->out);
			return 0;
		default:
			attach_usage(c->err);
			return 2;
		}
	}
	if (argc - optind != (xml ? 1 : 3)) {
		attach_usage(c->err);
		return 2;
	}
	if (xml) {
		if (xlp_connect_domain(c, argv[optind], &domid))
			return 1;
		rc = xlp_xml_attach(c, domid, xml);
		if (!rc)
			xlp_monitor_ensure(c, domid);
		return rc ? 1 : 0;
	}
	if (xlp_group_syntax(argv[optind + 2])) {
		struct xlp_group g;

		if (xlp_group_parse(argv[optind + 1], argv[optind + 2], &g, err, sizeof(err))) {
			xlp_errf(c, "%s\n", err);
			return 1;
		}
		if (xlp_connect_domain(c, argv[optind], &domid))
			return 1;
		rc = xlp_group_attach(c, domid, &g);
		if (!rc)
			xlp_monitor_ensure(c, domid);
		return rc ? 1 : 0;
	}
	rc = xlp_entry_parse2(argv[optind + 1], argv[optind + 2], &e, err, sizeof(err));
	if (rc) {
		xlp_errf(c, "%s\n", err);
		return 1;
	}
	if (xlp_connect_domain(c, argv[optind], &domid))
		return 1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	rc = xlp_dev_resolve(c, &e, d, err, sizeof(err));
	if (rc) {
		xlp_errf(c, "%s\n", err);
		free(d);
		return 1;
	}
	rc = xlp_attach_dev(c, domid, d, NULL, NULL, NULL);
	free(d);
	if (!rc)
		xlp_monitor_ensure(c, domid);
	return rc ? 1 : 0;
}
