/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * medium.c - xl scsi-insert DOMAIN VDEV IMAGE and xl scsi-eject DOMAIN VDEV:
 * the medium of a cdrom: drive, as xl cd-insert / cd-eject change an HVM
 * guest's emulated CD.
 *
 * The request goes through xenstore, as everything between the toolstack
 * and pvscsid does (xen/xs_nodes.h): p-dev is rewritten to the new medium
 * ("cdrom:" for none) together with medium-force and a bumped medium-seq,
 * in one transaction; pvscsid applies it and answers medium-error, then
 * medium-done.  p-dev naming the medium is what keeps it across a pvscsid
 * restart; the saved configuration is updated too, so that a reboot,
 * restore or migration comes back with the disc that is in the drive.
 *
 * A refusal (the guest locked the tray, an image that is not one) leaves
 * the drive as it was, and p-dev is put back.  A device whose guest has not
 * connected yet has no drive open: its p-dev simply names the medium it
 * will be opened with.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

struct mw {
	char dir[XLP_PATH_MAX]; /* the backend's dev-N */
	unsigned long long seq;
};

/* A number node of dev-N; 0 when absent or not a number (nothing asked or answered yet). */
static unsigned long long read_ull(struct xlp_ctx *c, const char *dir, const char *rel)
{
	uint64_t v;

	return pvx_xs_read_uint(&c->xs, PVX_XS_NOTX, dir, rel, UINT64_MAX, &v) ? 0 : v;
}

static int answered(struct xlp_ctx *c, void *arg)
{
	struct mw *w = arg;

	return read_ull(c, w->dir, XSN_MEDIUM_DONE) >= w->seq;
}

/* The saved record of dev-N gets @p_dev as its PDEV (a cdrom: medium has no other identity). */
static void save_medium(struct xlp_ctx *c, uint32_t domid, uint32_t vhost, unsigned int n,
                        const char *p_dev, const char *vd)
{
	struct xlp_saved_list sl = {0};
	struct xlp_saved *s = NULL;
	struct xlp_entry e;
	char err[256];
	int rc;

	rc = xlp_userdata_saved(c, domid, &sl);
	if (rc == -ENOENT)
		return; /* no saved configuration: nothing to keep in step */
	for (size_t i = 0; !rc && i < sl.n && !s; i++)
		if (sl.v[i].vhost == vhost && sl.v[i].n == n)
			s = &sl.v[i];
	if (!rc && !s)
		rc = -ENOENT;
	if (!rc)
		rc = xlp_entry_parse(s->spec, &e, err, sizeof(err)) ? -EINVAL : 0;
	if (!rc)
		rc = xlp_entry_format(&e, p_dev, s->spec, sizeof(s->spec));
	if (!rc) {
		xlp_snprintf(s->pdev, sizeof(s->pdev), "%s", p_dev);
		rc = xlp_userdata_set_dev(c, domid, vhost, n, s);
	}
	if (rc)
		xlp_errf(c,
		         "warning: v-dev %s has the new medium, but the saved configuration still "
		         "names the old one (%s)\n",
		         vd, strerror(-rc));
	xlp_saved_free(&sl);
}

/* Put @image (NULL: none) in the drive at @vdev of @domid. */
int xlp_medium_change(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev,
                      const char *image, bool force)
{
	struct xlp_vhost *v = NULL, *vh = NULL;
	struct xlp_bdev *b = NULL;
	size_t nv = 0;
	char vd[48], q[XLP_PATH_MAX], rec[XLP_PATH_MAX], err[XLP_ERR_MAX] = "";
	char p_dev[XLP_SPEC_MAX], p_devname[XLP_SPEC_MAX], old[XLP_SPEC_MAX], given[XLP_SPEC_MAX];
	char *name, *why = NULL;
	struct xlp_plan p;
	struct mw w;
	bool live;
	int rc;

	xlp_plan_init(&p);
	xlp_hctl_str(vdev, vd);
	name = xlp_domain_name(c, domid);
	xlp_snprintf(given, sizeof(given), "cdrom:%s", image ? image : "");
	if (image) {
		char spec[XLP_SPEC_MAX + 8];

		if (image[0] != '/') {
			xlp_errf(c, "image '%s': give an absolute path\n", image);
			rc = -EINVAL;
			goto out_name;
		}
		xlp_snprintf(spec, sizeof(spec), "cdrom:%s", image);
		rc = xlp_cdrom_resolve(spec, p_dev, sizeof(p_dev), p_devname, sizeof(p_devname),
		                       err, sizeof(err));
		if (rc) {
			xlp_errf(c, "%s\n", err);
			goto out_name;
		}
	} else {
		xlp_snprintf(p_dev, sizeof(p_dev), "cdrom:");
	}
	rc = xlp_lock(c);
	if (rc)
		goto out_name;
	rc = xlp_dev_at(c, domid, name, vdev, &v, &nv, &vh, &b);
	if (rc)
		goto out;
	if (strncmp(b->p_dev, "cdrom:", 6) != 0) {
		xlp_errf(c,
		         "v-dev %s of domain %s is p-dev '%s', not a CD-ROM drive (attach one with "
		         "PDEV cdrom: or cdrom:/path/image.iso)\n",
		         vd, name ? name : "?", b->p_dev);
		rc = -ENOTTY;
		goto out;
	}
	xlp_snprintf(old, sizeof(old), "%s", b->p_dev);
	memset(&w, 0, sizeof(w));
	xlp_be_path(c, domid, vh->vhost, q, sizeof(q));
	xlp_snprintf(w.dir, sizeof(w.dir), "%s/" XSN_VSCSI_DEVS "/" XSN_DEV "%u", q, b->n);
	xlp_rec_path(domid, vh->vhost, rec, sizeof(rec));
	w.seq = read_ull(c, w.dir, XSN_MEDIUM_SEQ) + 1;
	/* The backend has the drive open once the device is Initialised or Connected. */
	live = b->state == 3 || b->state == 4;

	xlp_snprintf(q, sizeof(q), "%s/" XSN_P_DEV, w.dir);
	xlp_plan_write(&p, q, "%s", p_dev);
	xlp_snprintf(q, sizeof(q), "%s/dev-%u/pdev", rec, b->n);
	xlp_plan_write(&p, q, "%s", given);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_MEDIUM_FORCE, w.dir);
	xlp_plan_write(&p, q, "%d", force ? 1 : 0);
	xlp_snprintf(q, sizeof(q), "%s/" XSN_MEDIUM_SEQ, w.dir);
	xlp_plan_write(&p, q, "%llu", w.seq);
	if (c->dry_run) {
		xlp_outf(c, "# %s v-dev %s of domain %s (id %u): %s -> %s%s\n",
		         image ? "insert into" : "eject", vd, name ? name : "?", domid, old, p_dev,
		         force ? " (forced)" : "");
		xlp_plan_print(&p, c->out);
		if (live)
			xlp_outf(c, "# then wait for %s/" XSN_MEDIUM_DONE " = %llu\n", w.dir,
			         w.seq);
		xlp_outf(c, "# saved configuration: pvscsi/%u/dev-%u names %s\n", vh->vhost, b->n,
		         p_dev);
		rc = 0;
		goto out;
	}
	rc = xlp_plan_apply(c, &p);
	if (rc)
		goto out;
	if (live) {
		rc = xlp_wait(c, answered, &w);
		if (rc == -ETIMEDOUT) {
			xlp_errf(c,
			         "v-dev %s: pvscsid did not answer the medium change within %u s "
			         "(%s/" XSN_MEDIUM_DONE
			         " is %llu, expected %llu); is pvscsid running?\n",
			         vd, c->timeout_ms / 1000, w.dir,
			         read_ull(c, w.dir, XSN_MEDIUM_DONE), w.seq);
		} else if (!rc) {
			xlp_snprintf(q, sizeof(q), "%s/" XSN_MEDIUM_ERROR, w.dir);
			why = c->xs.ops->read(c->xs.ctx, PVX_XS_NOTX, q, NULL);
			if (why && why[0]) {
				xlp_errf(c, "v-dev %s of domain %s: %s\n", vd, name ? name : "?",
				         why);
				rc = -EIO;
			}
		}
		if (rc) {
			/* The drive kept its medium: so does p-dev. */
			xlp_plan_free(&p);
			xlp_plan_init(&p);
			xlp_snprintf(q, sizeof(q), "%s/" XSN_P_DEV, w.dir);
			xlp_plan_write(&p, q, "%s", old);
			xlp_snprintf(q, sizeof(q), "%s/dev-%u/pdev", rec, b->n);
			xlp_plan_write(&p, q, "%s", b->pdev_given[0] ? b->pdev_given : old);
			xlp_plan_apply(c, &p);
			goto out;
		}
	}
	save_medium(c, domid, vh->vhost, b->n, p_dev, vd);
	xlp_outf(c, "%s: v-dev %s of domain %s: %s%s\n", image ? "scsi-insert" : "scsi-eject", vd,
	         name ? name : "?", image ? p_dev + 6 : "ejected",
	         live ? "" : " (when the guest connects)");
out:
	free(why);
	xlp_plan_free(&p);
	xlp_vhosts_free(v, nv);
	xlp_unlock(c);
out_name:
	free(name);
	return rc;
}

static void insert_usage(FILE *f)
{
	fprintf(f, "Usage: xl [-N] scsi-insert [-N] [--force] <Domain> <VDEV> <IMAGE>\n"
	           "Load IMAGE (an ISO 9660 or other 2048-byte-block image) into the cdrom: drive\n"
	           "at VDEV; --force replaces a disc the guest has locked in.\n");
}

static void eject_usage(FILE *f)
{
	fprintf(f,
	        "Usage: xl [-N] scsi-eject [-N] [--force] <Domain> <VDEV>\n"
	        "Take the disc out of the cdrom: drive at VDEV; --force ejects a disc the guest\n"
	        "has locked in.\n");
}

static int medium_cmd(struct xlp_ctx *c, int argc, char **argv, bool insert)
{
	struct pvs_hctl vdev;
	uint32_t domid;
	int rc;

	c->prefix = insert ? "scsi-insert: " : "scsi-eject: ";
	rc = xlp_verb_opts(c, argc, argv, insert ? 3 : 2, XLP_OPT_FORCE,
	                   insert ? insert_usage : eject_usage);
	if (rc >= 0)
		return rc;
	if (pvs_parse_hctl(argv[optind + 1], &vdev)) {
		xlp_errf(c, "VDEV '%s': expected H:C:T:L, four decimal numbers\n",
		         argv[optind + 1]);
		return 1;
	}
	if (xlp_connect_domain(c, argv[optind], &domid))
		return 1;
	return xlp_medium_change(c, domid, &vdev, insert ? argv[optind + 2] : NULL, c->force) ? 1
	                                                                                      : 0;
}

int xlp_cmd_insert(struct xlp_ctx *c, int argc, char **argv)
{
	return medium_cmd(c, argc, argv, true);
}

int xlp_cmd_eject(struct xlp_ctx *c, int argc, char **argv)
{
	return medium_cmd(c, argc, argv, false);
}
