/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * detach.c - xl scsi-detach DOMAIN VDEV.
 *
 * With the frontend connected, a device goes through the hot-remove
 * handshake (dev-N state 5 and backend state 7; the frontend drops the LUN;
 * the backend answers dev-N 6 and returns to 4) before its nodes are
 * removed, so the guest never sees a LUN vanish under I/O.  The last device
 * takes its controller with it: backend online=0 and state 5, the frontend
 * closes, then both directories go, as libxl removes any PV device.  A
 * controller that never connected (paused or not yet booted guest) is
 * simply removed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

struct dw {
	char be[XLP_PATH_MAX], fe[XLP_PATH_MAX];
	unsigned int n;
};

static int st(struct xlp_ctx *c, const char *dir, const char *rel)
{
	char p[XLP_PATH_MAX];

	xlp_snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return xlp_read_int(c, p, -1);
}

static int be_idle(struct xlp_ctx *c, void *arg)
{
	struct dw *w = arg;
	int s = st(c, w->be, XSN_STATE);

	return s == 4 || s == 1 || s == 2 || s == 3;
}

static int dev_released(struct xlp_ctx *c, void *arg)
{
	struct dw *w = arg;
	char rel[64];

	xlp_snprintf(rel, sizeof(rel), XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_STATE, w->n);
	return st(c, w->be, rel) == 6 && st(c, w->be, XSN_STATE) == 4;
}

static int vhost_closed(struct xlp_ctx *c, void *arg)
{
	struct dw *w = arg;

	/* The frontend gone (guest shut down) counts as closed too. */
	return st(c, w->be, XSN_STATE) == 6 || st(c, w->fe, XSN_STATE) == 6 ||
	       st(c, w->fe, XSN_STATE) == -1;
}

static void print_or_apply_fail(struct xlp_ctx *c, const char *what, const struct dw *w)
{
	char rel[64];

	xlp_snprintf(rel, sizeof(rel), XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_STATE, w->n);
	xlp_errf(c,
	         "%s: no answer within %u s (backend state %d, frontend state %d, dev-%u "
	         "state %d)\n",
	         what, c->timeout_ms / 1000, st(c, w->be, XSN_STATE), st(c, w->fe, XSN_STATE), w->n,
	         st(c, w->be, rel));
}

static int run(struct xlp_ctx *c, struct xlp_plan *p, const char *comment)
{
	int rc;

	if (c->dry_run) {
		xlp_outf(c, "# %s\n", comment);
		xlp_plan_print(p, c->out);
		rc = 0;
	} else {
		rc = xlp_plan_apply(c, p);
	}
	xlp_plan_free(p);
	xlp_plan_init(p);
	return rc;
}

int xlp_detach_vdev(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev)
{
	struct xlp_vhost *v = NULL, *vh = NULL;
	struct xlp_bdev *b = NULL;
	size_t nv = 0;
	char vd[48], q[XLP_PATH_MAX], rec[XLP_PATH_MAX], *name;
	struct xlp_plan p;
	struct dw w;
	bool last, connected;
	int rc;

	xlp_plan_init(&p);
	xlp_hctl_str(vdev, vd);
	name = xlp_domain_name(c, domid);
	rc = xlp_lock(c);
	if (rc)
		goto out_name;
	rc = xlp_dev_at(c, domid, name, vdev, &v, &nv, &vh, &b);
	if (rc)
		goto out;
	memset(&w, 0, sizeof(w));
	xlp_be_path(c, domid, vh->vhost, w.be, sizeof(w.be));
	xlp_fe_path(domid, vh->vhost, w.fe, sizeof(w.fe));
	xlp_rec_path(domid, vh->vhost, rec, sizeof(rec));
	w.n = b->n;
	last = vh->ndevs == 1;

	/* Another reconfiguration still running: let it finish first. */
	if (!c->dry_run && (vh->state == 7 || vh->state == 8)) {
		rc = xlp_wait(c, be_idle, &w);
		if (rc) {
			print_or_apply_fail(c, "waiting for the controller's reconfiguration", &w);
			goto out;
		}
		vh->state = st(c, w.be, XSN_STATE);
	}
	connected = vh->state == 4;
	if (c->dry_run)
		xlp_outf(c,
		         "# detach v-dev %s (p-dev %s) from domain %s (id %u): controller %u, "
		         "dev-%u%s\n",
		         vd, b->p_dev, name ? name : "?", domid, vh->vhost, b->n,
		         last ? ", its last device" : "");

	if (connected) {
		xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_STATE, w.be,
		             b->n);
		xlp_plan_write(&p, q, "5");
		xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, w.be);
		xlp_plan_write(&p, q, "7");
		rc = run(c, &p, "hot remove (Reconfiguring handshake)");
		if (rc)
			goto out;
		if (!c->dry_run) {
			rc = xlp_wait(c, dev_released, &w);
			if (rc) {
				print_or_apply_fail(c, "hot remove", &w);
				goto out;
			}
		}
	}
	xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", w.be, b->n);
	xlp_plan_rm(&p, q);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", w.fe, b->n);
	xlp_plan_rm(&p, q);
	xlp_snprintf(q, sizeof(q), "%s/dev-%u", rec, b->n);
	xlp_plan_rm(&p, q);
	if (last && !connected) {
		xlp_plan_rm(&p, w.be);
		xlp_plan_rm(&p, w.fe);
		xlp_plan_rm(&p, rec);
	}
	rc = run(c, &p, connected ? "then, once dev state is 6 and the backend 4" : "remove");
	if (rc)
		goto out;
	if (last && connected) {
		xlp_snprintf(q, sizeof(q), "%s/" XSN_ONLINE, w.be);
		xlp_plan_write(&p, q, "0");
		xlp_snprintf(q, sizeof(q), "%s/" XSN_STATE, w.be);
		xlp_plan_write(&p, q, "5");
		rc = run(c, &p, "the last device: close the controller");
		if (rc)
			goto out;
		if (!c->dry_run) {
			rc = xlp_wait(c, vhost_closed, &w);
			if (rc) {
				/* The device is gone already; an unclosed controller only lingers.
				 */
				print_or_apply_fail(c, "closing the controller", &w);
				xlp_errf(c, "removing controller %u anyway\n", vh->vhost);
			}
		}
		xlp_plan_rm(&p, w.be);
		xlp_plan_rm(&p, w.fe);
		xlp_plan_rm(&p, rec);
		rc = run(c, &p, "then, once the backend or frontend is Closed (6)");
		if (rc)
			goto out;
	}
	if (c->dry_run) {
		xlp_outf(c, "# saved configuration: remove pvscsi/%u/dev-%u\n", vh->vhost, b->n);
	} else {
		int r = xlp_userdata_set_dev(c, domid, vh->vhost, b->n, NULL);

		if (r && r != -ENOENT)
			xlp_errf(c,
			         "warning: v-dev %s is detached but still in the saved "
			         "configuration (%s)\n",
			         vd, strerror(-r));
	}
out:
	xlp_plan_free(&p);
	xlp_vhosts_free(v, nv);
	xlp_unlock(c);
out_name:
	free(name);
	return rc;
}

int xlp_remove_all(struct xlp_ctx *c, uint32_t domid)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	struct xlp_plan p;
	char q[XLP_PATH_MAX];
	int rc = xlp_vhosts_read(c, domid, &v, &nv);

	if (rc)
		return rc;
	xlp_plan_init(&p);
	for (size_t i = 0; i < nv; i++) {
		xlp_fe_path(domid, v[i].vhost, q, sizeof(q));
		xlp_plan_rm(&p, q);
		xlp_rec_path(domid, v[i].vhost, q, sizeof(q));
		xlp_plan_rm(&p, q);
	}
	xlp_snprintf(q, sizeof(q), XSN_BACKEND_ROOT "/%u", c->be_domid, domid);
	xlp_plan_rm(&p, q);
	rc = xlp_plan_apply(c, &p);
	xlp_plan_free(&p);
	xlp_vhosts_free(v, nv);
	return rc;
}

static void detach_usage(FILE *f)
{
	fprintf(f, "Usage: xl [-N] scsi-detach [-N] <Domain> <VDEV>\n"
	           "  VDEV: H:C:T:L, or a group's H:C:*:* or H:C:T:* (the group and its LUNs)\n");
}

int xlp_cmd_detach(struct xlp_ctx *c, int argc, char **argv)
{
	struct pvs_hctl vdev;
	uint32_t domid;
	int rc;

	c->prefix = "scsi-detach: ";
	rc = xlp_verb_opts(c, argc, argv, 2, 0, detach_usage);
	if (rc >= 0)
		return rc;
	if (strchr(argv[optind + 1], '*')) {
		if (xlp_connect_domain(c, argv[optind], &domid))
			return 1;
		return xlp_group_detach(c, domid, argv[optind + 1]) ? 1 : 0;
	}
	if (pvs_parse_hctl(argv[optind + 1], &vdev)) {
		xlp_errf(c,
		         "VDEV '%s': expected H:C:T:L, four decimal numbers (or a group's H:C:*:* "
		         "or H:C:T:*)\n",
		         argv[optind + 1]);
		return 1;
	}
	if (xlp_connect_domain(c, argv[optind], &domid))
		return 1;
	{
		char grp[XLP_SPEC_MAX + 100];

		/* A member alone would come back with the next LUN event: the group goes whole. */
		if (!xlp_group_of_vdev(c, domid, &vdev, grp, sizeof(grp))) {
			xlp_errf(
			    c,
			    "v-dev %s belongs to the group %s; detach the group (its VDEV with "
			    "'*')\n",
			    argv[optind + 1], grp);
			return 1;
		}
	}
	return xlp_detach_vdev(c, domid, &vdev) ? 1 : 0;
}
