/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * resolve.c - p-devs found again on this host: xl scsi-resolve, the restore
 * wrapper, and migrate-receive's step at "ready" (its stream proxy is
 * migrate.c), which run it before the guest does.
 *
 * Host numbers (H:C:T:L, sgN) differ between hosts and change on a rescan,
 * so what is saved is each LUN's stable identity (saved.c).  Before a
 * restored or migrated guest runs, every saved identity is resolved here and
 * the backend nodes are written with the LUN's current numbers.  A LUN that
 * is not found fails the restore (nothing is left running) unless the
 * administrator asked to go on without it (--vscsi-missing-ok, or
 * XL_VSCSI_MISSING=skip for migrate-receive, which ssh starts).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

int xlp_saved_resolve(struct xlp_ctx *c, const struct xlp_saved *s, struct xlp_dev *d, char *err,
                      size_t errlen)
{
	char e1[XLP_ERR_MAX], e2[XLP_ERR_MAX];
	struct xlp_entry e;
	int rc;

	rc = xlp_entry_parse(s->spec, &e, e1, sizeof(e1));
	if (rc) {
		xlp_snprintf(err, errlen, "saved device pvscsi/%u/dev-%u '%s': %s", s->vhost, s->n,
		             s->spec, e1);
		return rc;
	}
	rc = xlp_dev_resolve(c, &e, d, e1, sizeof(e1));
	if (rc && e.kind == XLP_HOST && s->by_id[0] && strcmp(s->by_id, e.pdev)) {
		struct xlp_entry e_by = e;
		int rc2;

		xlp_snprintf(e_by.pdev, sizeof(e_by.pdev), "%s", s->by_id);
		rc2 = xlp_dev_resolve(c, &e_by, d, e2, sizeof(e2));
		if (rc2 == 0) {
			xlp_errf(c, "note: %s not found by identity, found by %s\n", e.pdev,
			         s->by_id);
			return 0;
		}
		xlp_snprintf(err, errlen, "%s; then tried %s: %s", e1, s->by_id, e2);
		return rc;
	}
	if (rc)
		xlp_snprintf(err, errlen, "%s", e1);
	return rc;
}

static bool is_missing(int rc)
{
	return rc == -ENOENT;
}

int xlp_check_saved(struct xlp_ctx *c, uint32_t domid_or_none, const struct xlp_saved_list *l,
                    bool same_uuid_ok)
{
	struct xlp_attach_opts o = {.same_uuid_ok = same_uuid_ok};
	struct xlp_dev *d = calloc(1, sizeof(*d));
	char err[XLP_ERR_MAX];
	int first = 0;

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		int rc = xlp_saved_resolve(c, &l->v[i], d, err, sizeof(err));
		char vd[48];

		if (rc) {
			if (is_missing(rc) && c->missing_ok) {
				xlp_errf(c, "warning: %s; continuing without it\n", err);
				continue;
			}
			xlp_errf(c, "%s\n", err);
			if (is_missing(rc))
				xlp_errf(
				    c, "(to continue without this device, use --vscsi-missing-ok, "
				       "or XL_VSCSI_MISSING=skip)\n");
			if (!first)
				first = rc;
			continue;
		}
		xlp_hctl_str(&d->e.vdev, vd);
		rc = xlp_attach_check(c, domid_or_none, d, &o);
		if (rc && !first)
			first = rc;
	}
	free(d);
	return first;
}

int xlp_apply_saved(struct xlp_ctx *c, uint32_t domid, const struct xlp_saved_list *l,
                    bool same_uuid_ok)
{
	struct xlp_attach_opts o = {
	    .no_wait = true, .no_saved = true, .same_uuid_ok = same_uuid_ok};
	struct xlp_saved_list now = {0};
	struct xlp_dev *d = calloc(1, sizeof(*d));
	char err[XLP_ERR_MAX];
	int rc = 0;

	if (!d)
		return -ENOMEM;
	now.v = calloc(l->n ? l->n : 1, sizeof(*now.v));
	if (!now.v) {
		free(d);
		return -ENOMEM;
	}
	rc = xlp_lock(c);
	if (rc)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t vhost;
		unsigned int n;

		rc = xlp_saved_resolve(c, &l->v[i], d, err, sizeof(err));
		if (rc && is_missing(rc) && c->missing_ok) {
			xlp_errf(c, "warning: %s; the guest loses this device\n", err);
			rc = 0;
			continue;
		}
		if (rc) {
			xlp_errf(c, "%s\n", err);
			break;
		}
		rc = xlp_attach_dev(c, domid, d, &o, &vhost, &n);
		if (rc)
			break;
		xlp_saved_of_dev(d, vhost, n, &now.v[now.n]);
		/* What the administrator typed stays what they typed. */
		if (l->v[i].pdev[0])
			memcpy(now.v[now.n].pdev, l->v[i].pdev, sizeof(now.v[now.n].pdev));
		now.n++;
	}
	if (rc) {
		if (!c->dry_run)
			xlp_remove_all(c, domid);
		goto unlock;
	}
	if (!c->dry_run) {
		/* The identities found here (and the devices dropped) are what travels next. */
		int r = xlp_userdata_set_all(c, domid, &now);

		if (r && r != -ENOENT)
			xlp_errf(c,
			         "warning: the saved configuration of domain %u was not updated: "
			         "%s\n",
			         domid, strerror(-r));
	}
unlock:
	xlp_unlock(c);
out:
	xlp_saved_free(&now);
	free(d);
	return rc;
}

/* ---------------------------------------------------------- scsi-resolve */

static struct xlp_bdev *find_vdev(struct xlp_vhost *v, size_t nv, const struct pvs_hctl *vd,
                                  struct xlp_vhost **vh)
{
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			struct pvs_hctl h;

			if (!pvs_parse_hctl(v[i].devs[k].v_dev, &h) && xlp_hctl_eq(&h, vd)) {
				*vh = &v[i];
				return &v[i].devs[k];
			}
		}
	}
	return NULL;
}

/*
 * One saved device against the backend nodes: add it if absent, rewrite
 * p-dev/p-devname of a dev that is not connected, leave a matching one alone.
 */
static int resolve_one(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                       struct xlp_saved *now)
{
	struct xlp_vhost *v = NULL, *vh = NULL;
	struct xlp_bdev *b;
	size_t nv = 0;
	char vd[48], be[XLP_PATH_MAX], q[XLP_PATH_MAX];
	int rc = xlp_vhosts_read(c, domid, &v, &nv);

	if (rc)
		return rc;
	xlp_hctl_str(&d->e.vdev, vd);
	b = find_vdev(v, nv, &d->e.vdev, &vh);
	if (!b) {
		struct xlp_attach_opts o = {.no_saved = true};
		uint32_t vhost;
		unsigned int n;

		xlp_vhosts_free(v, nv);
		rc = xlp_attach_dev(c, domid, d, &o, &vhost, &n);
		if (!rc) {
			xlp_saved_of_dev(d, vhost, n, now);
			if (!c->dry_run)
				xlp_outf(c, "v-dev %s: attached, p-dev %s (%s)\n", vd, d->p_dev,
				         d->p_devname);
		}
		return rc;
	}
	xlp_saved_of_dev(d, vh->vhost, b->n, now);
	if (!strcmp(b->p_dev, d->p_dev) && !strcmp(b->p_devname, d->p_devname)) {
		xlp_outf(c, "v-dev %s: unchanged, p-dev %s (%s)\n", vd, d->p_dev, d->p_devname);
		goto out;
	}
	if (b->state == 4 || b->state == 3) {
		xlp_errf(c,
		         "v-dev %s is in use with p-dev %s, but %s now resolves to %s: detach and "
		         "attach it again to switch\n",
		         vd, b->p_dev, d->p_devname, d->p_dev);
		rc = -EBUSY;
		goto out;
	}
	{
		struct xlp_plan p;

		xlp_plan_init(&p);
		xlp_be_path(c, domid, vh->vhost, be, sizeof(be));
		xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_P_DEV, be,
		             b->n);
		xlp_plan_write(&p, q, "%s", d->p_dev);
		xlp_snprintf(q, sizeof(q), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u/" XSN_P_DEVNAME, be,
		             b->n);
		xlp_plan_write(&p, q, "%s", d->p_devname);
		if (c->dry_run) {
			xlp_outf(c, "# v-dev %s: p-dev %s -> %s\n", vd, b->p_dev, d->p_dev);
			xlp_plan_print(&p, c->out);
		} else {
			rc = xlp_plan_apply(c, &p);
			if (!rc)
				xlp_outf(c, "v-dev %s: p-dev %s -> %s (%s)\n", vd, b->p_dev,
				         d->p_dev, d->p_devname);
		}
		xlp_plan_free(&p);
	}
out:
	xlp_vhosts_free(v, nv);
	return rc;
}

static void resolve_usage(FILE *f)
{
	fprintf(f,
	        "Usage: xl [-N] scsi-resolve [-N] [--vscsi-missing-ok] <Domain>\n"
	        "  Find every SCSI device saved in the domain's configuration on this host\n"
	        "  and write its current p-dev (after a restore or migration by other tools).\n");
}

int xlp_cmd_resolve(struct xlp_ctx *c, int argc, char **argv)
{
	struct xlp_saved_list l = {0}, now = {0};
	struct xlp_dev *d = NULL;
	bool *placed = NULL;
	char err[XLP_ERR_MAX];
	uint32_t domid;
	int rc, fails = 0;

	c->prefix = "scsi-resolve: ";
	rc = xlp_verb_opts(c, argc, argv, 1, XLP_OPT_MISSING_OK, resolve_usage);
	if (rc >= 0)
		return rc;
	rc = 0;
	if (xlp_connect_domain(c, argv[optind], &domid))
		return 1;
	rc = xlp_userdata_saved(c, domid, &l);
	if (rc) {
		xlp_errf(c, "cannot read the saved configuration of domain '%s': %s\n",
		         argv[optind], strerror(-rc));
		return 1;
	}
	if (l.n == 0) {
		xlp_outf(c, "domain '%s' has no saved SCSI devices\n", argv[optind]);
		return 0;
	}
	d = calloc(1, sizeof(*d));
	now.v = calloc(l.n, sizeof(*now.v));
	placed = calloc(l.n, sizeof(*placed));
	if (!d || !now.v || !placed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = xlp_lock(c);
	if (rc)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		rc = xlp_saved_resolve(c, &l.v[i], d, err, sizeof(err));
		if (rc && is_missing(rc) && c->missing_ok) {
			xlp_errf(c, "warning: %s; left out\n", err);
			continue;
		}
		if (rc) {
			xlp_errf(c, "%s\n", err);
			fails++;
			/* Keep it saved: it may come back. */
			now.v[now.n++] = l.v[i];
			continue;
		}
		rc = resolve_one(c, domid, d, &now.v[now.n]);
		if (rc) {
			fails++;
			now.v[now.n] = l.v[i];
		} else {
			placed[now.n] = true;
			if (l.v[i].pdev[0])
				memcpy(now.v[now.n].pdev, l.v[i].pdev, sizeof(now.v[now.n].pdev));
		}
		now.n++;
	}
	if (!c->dry_run) {
		xlp_saved_renumber(&now, placed);
		xlp_userdata_set_all(c, domid, &now);
	}
	xlp_unlock(c);
	if (!c->dry_run && now.n > (size_t)fails)
		xlp_monitor_ensure(c, domid);
	rc = fails ? -EIO : 0;
out:
	xlp_saved_free(&l);
	xlp_saved_free(&now);
	free(placed);
	free(d);
	return rc ? 1 : 0;
}

/* --------------------------------------------------------------- restore */

static int saved_from_cfg(const char *file, struct xlp_saved_list *l, char **name, char *err,
                          size_t errlen)
{
	struct xlp_cfg cfg;
	int rc = xlp_cfg_read(file, NULL, &cfg, err, errlen);

	if (rc)
		return rc;
	l->v = calloc(cfg.n ? cfg.n : 1, sizeof(*l->v));
	if (!l->v) {
		xlp_cfg_free(&cfg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg.n; i++) {
		struct xlp_saved *s = &l->v[l->n];

		s->vhost = cfg.items[i].e.vdev.host;
		for (size_t k = 0; k < l->n; k++)
			if (l->v[k].vhost == s->vhost)
				s->n++;
		xlp_snprintf(s->spec, sizeof(s->spec), "%s", cfg.items[i].text);
		xlp_snprintf(s->pdev, sizeof(s->pdev), "%s", cfg.items[i].e.pdev);
		l->n++;
	}
	*name = cfg.name;
	cfg.name = NULL;
	xlp_cfg_free(&cfg);
	return 0;
}

static int find_new_domain(struct xlp_ctx *c, const char *name, const uint32_t *before,
                           size_t nbefore, uint32_t *domid)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	int rc;

	if (name && !xlp_domain_find(c, name, domid))
		return 0;
	rc = xlp_domain_list(c, &ids, &n);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		bool old = false;

		for (size_t k = 0; k < nbefore; k++)
			old |= before[k] == ids[i];
		if (!old) {
			*domid = ids[i];
			rc = 0;
		}
	}
	free(ids);
	return rc;
}

static void xl_simple(struct xlp_ctx *c, const char *verb, uint32_t domid)
{
	char id[16];
	char *argv[] = {(char *)c->argv0, (char *)verb, id, NULL};

	xlp_snprintf(id, sizeof(id), "%u", domid);
	c->run_xl(c, argv);
}

int xlp_cmd_restore(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal)
{
	static const struct option lo[] = {{"vncviewer", 0, 0, 'V'},
	                                   {"vncviewer-autopass", 0, 0, 'A'},
	                                   {"vscsi-missing-ok", 0, 0, 0x100},
	                                   {"help", 0, 0, 'h'},
	                                   {0}};
	struct xlp_saved_list l = {0};
	char err[XLP_ERR_MAX];
	char *name = NULL, **xargv = NULL;
	const char *cfgfile = NULL, *image;
	bool paused = false, console = false, fg = false;
	uint32_t *before = NULL, domid = 0;
	size_t nbefore = 0;
	int opt, rc, k = 0;

	c->prefix = NULL;
	optind = 1;
	opterr = 0;
	xargv = calloc((size_t)(argc + nglobal + 4), sizeof(*xargv));
	if (!xargv)
		return 1;
	xargv[k++] = (char *)c->argv0;
	for (int i = 0; i < nglobal; i++)
		xargv[k++] = global[i];
	xargv[k++] = "restore";
	while ((opt = getopt_long(argc, argv, "FcpdeVAh", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			paused = true;
			break;
		case 'c':
			console = true;
			break;
		case 'F':
			fg = true;
			xargv[k++] = "-F";
			break;
		case 'e':
			fg = true;
			xargv[k++] = "-e";
			break;
		case 'd':
			xargv[k++] = "-d";
			break;
		case 'V':
			xargv[k++] = "-V";
			break;
		case 'A':
			xargv[k++] = "-A";
			break;
		case 0x100:
			c->missing_ok = true;
			break;
		default:
			/* Let Xen's xl say what is wrong with the command line. */
			free(xargv);
			return -1;
		}
	}
	if (argc - optind == 1) {
		image = argv[optind];
	} else if (argc - optind == 2) {
		cfgfile = argv[optind];
		image = argv[optind + 1];
	} else {
		free(xargv);
		return -1;
	}
	rc = cfgfile ? saved_from_cfg(cfgfile, &l, &name, err, sizeof(err))
	             : xlp_saveimage_read(image, &l, &name, err, sizeof(err));
	if (rc || l.n == 0) {
		/* Nothing of ours in it (or xl will refuse it anyway): xl does it all. */
		xlp_saved_free(&l);
		free(name);
		free(xargv);
		return -1;
	}
	rc = 1;
	if (fg) {
		xlp_errf(c, "restore: -F and -e cannot be used with SCSI devices: the front must "
		            "attach them between restore and unpause\n");
		goto out;
	}
	if (xlp_ctx_connect(c))
		goto out;
	if (c->backend_running(c) != 1) {
		xlp_errf(c, "restore: pvscsid is not running in domain %u: start it first\n",
		         c->be_domid);
		goto out;
	}
	if (xlp_lock(c))
		goto out;
	/* Everything must be found here before a domain exists. */
	if (xlp_check_saved(c, UINT32_MAX, &l, false)) {
		xlp_errf(c, "restore: %s: not restored (SCSI devices above)\n", image);
		goto unlock;
	}
	xlp_domain_list(c, &before, &nbefore);
	xargv[k++] = "-p";
	if (cfgfile)
		xargv[k++] = (char *)cfgfile;
	xargv[k++] = (char *)image;
	xargv[k] = NULL;
	rc = c->run_xl(c, xargv);
	if (rc) {
		rc = rc < 0 ? 1 : rc;
		goto unlock;
	}
	rc = 1;
	if (find_new_domain(c, name, before, nbefore, &domid)) {
		xlp_errf(c, "restore: cannot find the restored domain '%s'\n", name ? name : "?");
		goto unlock;
	}
	if (xlp_apply_saved(c, domid, &l, false)) {
		xl_simple(c, "destroy", domid);
		xlp_errf(c,
		         "restore: the SCSI devices could not be attached; the restored domain "
		         "was destroyed (%s is unchanged)\n",
		         image);
		goto unlock;
	}
	xlp_unlock(c);
	xlp_monitor_ensure(c, domid);
	if (!paused)
		xl_simple(c, "unpause", domid);
	rc = 0;
	if (console) {
		char id[16];
		char *cargv[] = {(char *)c->argv0, "console", id, NULL};

		xlp_snprintf(id, sizeof(id), "%u", domid);
		xlp_exec_real(c->xl_real, cargv);
		rc = 1;
	}
	goto out;
unlock:
	xlp_unlock(c);
out:
	xlp_saved_free(&l);
	free(name);
	free(before);
	free(xargv);
	return rc;
}

/* ------------------------------------------------------- migrate-receive */

/* The domain xl migrate-receive is building: named NAME--incoming. */
static int incoming_domain(struct xlp_ctx *c, uint32_t *domid)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	int found = 0;

	if (xlp_domain_list(c, &ids, &n))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		char *name = xlp_domain_name(c, ids[i]);
		size_t l = name ? strlen(name) : 0;

		if (l > 10 && !strcmp(name + l - 10, "--incoming")) {
			/* Several at once: the newest is ours (domids grow). */
			*domid = ids[i];
			found++;
		}
		free(name);
	}
	free(ids);
	if (found > 1)
		xlp_errf(c, "migration target: %d incoming domains; taking domain %u\n", found,
		         *domid);
	return found ? 0 : -ENOENT;
}

int xlp_migrate_ready(struct xlp_ctx *c)
{
	struct xlp_saved_list l = {0};
	uint32_t domid = 0;
	int rc;

	if (xlp_ctx_connect(c))
		return -EIO;
	if (incoming_domain(c, &domid)) {
		xlp_errf(c, "migration target: cannot find the incoming domain\n");
		return -ENOENT;
	}
	rc = xlp_userdata_saved(c, domid, &l);
	if (rc == -ENOENT || (!rc && l.n == 0))
		return 0;
	if (rc) {
		xlp_errf(c, "migration target: cannot read the domain's configuration: %s\n",
		         strerror(-rc));
		return rc;
	}
	if (c->backend_running(c) != 1) {
		xlp_errf(c, "migration target: pvscsid is not running in domain %u\n", c->be_domid);
		rc = -ENOTCONN;
	} else {
		rc = xlp_lock(c);
		if (!rc) {
			/* The sender's copy of this very guest may hold the LUNs (localhost). */
			rc = xlp_check_saved(c, domid, &l, true);
			if (!rc)
				rc = xlp_apply_saved(c, domid, &l, true);
			xlp_unlock(c);
		}
	}
	if (rc) {
		xlp_errf(c, "migration target: SCSI devices missing here; refusing the domain so "
		            "that the sender resumes it\n");
		xl_simple(c, "destroy", domid);
	} else {
		/* It follows the guest by UUID, past the renaming that comes next. */
		xlp_monitor_ensure(c, domid);
	}
	xlp_saved_free(&l);
	return rc;
}
