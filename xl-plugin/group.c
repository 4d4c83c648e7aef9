/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * group.c - a whole bus ("whole host") or a whole target of a SCSI host
 * given to a guest: "scsi_host2:0:*:*,0:0:*:*", "pci_.../unique_id=1:0:3:*,0:0:5:*".
 *
 * A group is never a device of its own: vscsiif has one dev-N per LUN, and
 * xen-scsifront adds LUNs one by one.  So a group expands into ordinary
 * devices, one per LUN that matches now, attached by the ordinary path
 * (identity, duplicate guard, saved record), each at the same LUN number
 * (and target, for a bus) under the group's v-dev host and channel.  The
 * group itself is kept in the toolstack record,
 *   /libxl/D/device/vscsi/H/group-K/{pdev, vdev, options}
 * and in the saved configuration; its members are the devices in its v-dev
 * range, which is its alone.  The guest's monitor (monitor.c) reconciles
 * the group when dom0's SCSI devices change: LUNs that appear are
 * hot-added, LUNs that are gone are hot-removed, and nothing outside the
 * group's host and bus (and target) is ever touched.  docs/toolstack.md, "Whole bus and whole
 * target", has the design.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

#define bad xlp_bad

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int num(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!all_digits(s) || pvx_parse_uint(s, 65535, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

bool xlp_group_syntax(const char *vdev_opts)
{
	const char *comma = strchr(vdev_opts, ',');
	size_t n = comma ? (size_t)(comma - vdev_opts) : strlen(vdev_opts);

	return memchr(vdev_opts, '*', n) != NULL;
}

int xlp_group_parse(const char *pdev, const char *vdev_opts, struct xlp_group *g, char *err,
                    size_t errlen)
{
	char p[XLP_SPEC_MAX], v[XLP_SPEC_MAX + 64], *f[4], *opts, *s;
	char rep_pdev[XLP_SPEC_MAX + 32], rep_vdev[XLP_SPEC_MAX + 96];
	struct xlp_entry e;
	int rc;

	memset(g, 0, sizeof(*g));
	if (strlen(pdev) >= sizeof(p) || strlen(vdev_opts) >= sizeof(v))
		return bad(err, errlen, "PDEV or VDEV is too long");
	snprintf(p, sizeof(p), "%s", pdev);
	snprintf(g->pdev, sizeof(g->pdev), "%s", pdev);
	/* ADAPTER:B:T:* or ADAPTER:B:*:* - the adapter has no ':' of its own. */
	for (int i = 2; i >= 0; i--) {
		s = strrchr(p, ':');
		if (!s)
			return bad(err, errlen,
			           "PDEV '%s': a group is ADAPTER:BUS:TARGET:* or ADAPTER:BUS:*:* "
			           "(ADAPTER: scsi_hostN, pci_DDDD_BB_SS_F[/unique_id=N], "
			           "fc_host/wwpn=W[/wwnn=W], or a host number)",
			           pdev);
		*s = '\0';
		f[i + 1] = s + 1;
	}
	f[0] = p;
	if (!*f[0])
		return bad(err, errlen, "PDEV '%s': no adapter before the bus", pdev);
	if (strcmp(f[3], "*"))
		return bad(err, errlen, "PDEV '%s': a group's unit (LUN) must be '*'", pdev);
	g->any_target = !strcmp(f[2], "*");
	if (num(f[1], &g->bus))
		return bad(err, errlen, "PDEV '%s': bus '%s' is not a number", pdev, f[1]);
	if (!g->any_target && num(f[2], &g->target))
		return bad(err, errlen, "PDEV '%s': target '%s' is not a number or '*'", pdev,
		           f[2]);
	snprintf(g->adapter, sizeof(g->adapter), "%s", f[0]);

	snprintf(v, sizeof(v), "%s", vdev_opts);
	opts = strchr(v, ',');
	if (opts)
		*opts++ = '\0';
	s = v;
	for (int i = 0; i < 4; i++) {
		f[i] = s;
		s = strchr(s, ':');
		if (i < 3 && !s)
			return bad(
			    err, errlen,
			    "VDEV '%s': a group's VDEV is H:C:*:* (a whole bus) or H:C:T:* (a "
			    "whole target)",
			    v);
		if (s)
			*s++ = '\0';
	}
	if (s)
		return bad(err, errlen, "VDEV '%s': more than four fields", vdev_opts);
	if (strcmp(f[3], "*"))
		return bad(err, errlen,
		           "VDEV: a group's LUN must be '*' (LUNs keep their numbers)");
	if (g->any_target != !strcmp(f[2], "*"))
		return bad(err, errlen,
		           g->any_target
		               ? "VDEV: PDEV '%s' is a whole bus, so VDEV's target must be '*' too"
		               : "VDEV: PDEV '%s' is one target, so VDEV needs a target number",
		           pdev);
	if (num(f[0], &g->vdev.host) || num(f[1], &g->vdev.channel) ||
	    (!g->any_target && num(f[2], &g->vdev.target)))
		return bad(err, errlen, "VDEV: H, C and T must be numbers up to 65535");
	snprintf(g->opts, sizeof(g->opts), "%s", opts ? opts : "");

	/* The options and the adapter's syntax by the one parser: a member's entry. */
	snprintf(rep_pdev, sizeof(rep_pdev), "%s:%u:0:0", g->adapter, g->bus);
	snprintf(rep_vdev, sizeof(rep_vdev), "%u:%u:0:0%s%s", g->vdev.host, g->vdev.channel,
	         opts ? "," : "", opts ? opts : "");
	rc = xlp_entry_parse2(rep_pdev, rep_vdev, &e, err, errlen);
	/* Said of the group as written, not of the member that stood in for it. */
	if (rc == -EINVAL && err && errlen && !strncmp(err, "option cache=", 13))
		return bad(err, errlen,
		           "option %s applies to file: LUNs only; '%s' is a group of host LUNs",
		           xlp_cache_opt(e.cache) + 1, pdev);
	if (rc == -EINVAL && err && errlen && !strncmp(err, "option writes=inline", 20))
		return bad(err, errlen,
		           "option writes=inline applies to file: LUNs only; '%s' is a group of "
		           "host LUNs",
		           pdev);
	if (rc)
		return rc;
	if (e.kind != XLP_HOST)
		return bad(err, errlen, "PDEV '%s': a group is made of host LUNs", pdev);
	if (e.bs)
		return bad(err, errlen, "option bs= applies to file: and mem: LUNs only");
	g->ro = e.ro;
	g->feature_host = e.feature_host;
	g->shareable = e.shareable;
	return 0;
}

void xlp_group_str(const struct xlp_group *g, char *pdev, size_t plen, char *vdev, size_t vlen)
{
	if (g->any_target) {
		xlp_snprintf(pdev, plen, "%s:%u:*:*", g->adapter, g->bus);
		xlp_snprintf(vdev, vlen, "%u:%u:*:*", g->vdev.host, g->vdev.channel);
	} else {
		xlp_snprintf(pdev, plen, "%s:%u:%u:*", g->adapter, g->bus, g->target);
		xlp_snprintf(vdev, vlen, "%u:%u:%u:*", g->vdev.host, g->vdev.channel,
		             g->vdev.target);
	}
}

bool xlp_group_covers(const struct xlp_group *g, const struct pvs_hctl *v)
{
	return v->host == g->vdev.host && v->channel == g->vdev.channel &&
	       (g->any_target || v->target == g->vdev.target);
}

static bool groups_overlap(const struct xlp_group *a, const struct xlp_group *b)
{
	return a->vdev.host == b->vdev.host && a->vdev.channel == b->vdev.channel &&
	       (a->any_target || b->any_target || a->vdev.target == b->vdev.target);
}

/* ---------------------------------------------------------------- members */

static int host_of(struct xlp_ctx *c, const struct xlp_group *g, uint32_t *host, char *err,
                   size_t errlen)
{
	char name[XLP_SPEC_MAX + 16];
	char why[XLP_ERR_MAX];
	int rc;

	/* A bare host number is scsi_hostN (and exactly as unstable). */
	xlp_snprintf(name, sizeof(name), "%s%s", all_digits(g->adapter) ? "scsi_host" : "",
	             g->adapter);
	rc = pvs_resolve_adapter(&c->res, name, host, why, sizeof(why));
	if (rc)
		xlp_snprintf(err, errlen, "PDEV '%s': %s", g->pdev, why);
	return rc;
}

static int cmp_member(const void *a, const void *b)
{
	const struct xlp_entry *x = a, *y = b;

	if (x->vdev.target != y->vdev.target)
		return x->vdev.target < y->vdev.target ? -1 : 1;
	return x->vdev.lun < y->vdev.lun ? -1 : x->vdev.lun > y->vdev.lun;
}

int xlp_group_members(struct xlp_ctx *c, const struct xlp_group *g, struct xlp_entry **out,
                      size_t *n, char *err, size_t errlen)
{
	char dir[XLP_PATH_MAX];
	struct xlp_entry *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	uint32_t host;
	DIR *d;
	int rc;

	*out = NULL;
	*n = 0;
	rc = host_of(c, g, &host, err, errlen);
	if (rc)
		return rc;
	xlp_snprintf(dir, sizeof(dir), "%s/class/scsi_device",
	             c->res.sysfs_root ? c->res.sysfs_root : "/sys");
	d = opendir(dir);
	if (!d)
		return 0; /* no SCSI device at all: an empty group */
	while ((de = readdir(d))) {
		struct pvs_hctl h;
		char pd[XLP_SPEC_MAX + 64], vd[XLP_SPEC_MAX + 96];
		struct xlp_entry e;

		if (pvs_parse_hctl(de->d_name, &h) || h.host != host || h.channel != g->bus ||
		    (!g->any_target && h.target != g->target))
			continue;
		if (h.target > 65535 || h.lun > 16383)
			continue; /* vscsiif cannot carry it: never a member */
		xlp_snprintf(pd, sizeof(pd), "%s:%u:%u:%u", g->adapter, h.channel, h.target, h.lun);
		xlp_snprintf(vd, sizeof(vd), "%u:%u:%u:%u%s%s", g->vdev.host, g->vdev.channel,
		             g->any_target ? h.target : g->vdev.target, h.lun,
		             g->opts[0] ? "," : "", g->opts);
		if (xlp_entry_parse2(pd, vd, &e, err, errlen))
			continue;
		if (*n == cap) {
			struct xlp_entry *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				*n = 0;
				bad(err, errlen, "out of memory");
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[(*n)++] = e;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_member);
	if (err && errlen)
		err[0] = '\0';
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- records */

static char *rd(struct xlp_ctx *c, const char *path)
{
	return c->xs.ops->read(c->xs.ctx, PVX_XS_NOTX, path, NULL);
}

void xlp_groups_free(struct xlp_group *g, size_t n)
{
	(void)n;
	free(g);
}

int xlp_groups_read(struct xlp_ctx *c, uint32_t domid, struct xlp_group **out, size_t *n)
{
	char base[XLP_PATH_MAX], p[XLP_PATH_MAX];
	unsigned int nv = 0;
	char **vs;
	struct xlp_group *v = NULL;

	*out = NULL;
	*n = 0;
	xlp_snprintf(base, sizeof(base), "/libxl/%u/device/vscsi", domid);
	vs = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, base, &nv);
	for (unsigned int i = 0; vs && i < nv; i++) {
		unsigned int nk = 0;
		char **ks;
		uint64_t vh;

		if (pvx_parse_uint(vs[i], UINT32_MAX, &vh))
			continue;
		xlp_snprintf(p, sizeof(p), "%s/%s", base, vs[i]);
		ks = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, p, &nk);
		for (unsigned int j = 0; ks && j < nk; j++) {
			char q[XLP_PATH_MAX], err[XLP_ERR_MAX], *pd, *vd, *op;
			char vdo[XLP_SPEC_MAX + 200];
			uint64_t k;
			struct xlp_group g, *nvp;

			if (strncmp(ks[j], "group-", 6) || pvx_parse_uint(ks[j] + 6, 1u << 20, &k))
				continue;
			xlp_snprintf(q, sizeof(q), "%s/%s/pdev", p, ks[j]);
			pd = rd(c, q);
			xlp_snprintf(q, sizeof(q), "%s/%s/vdev", p, ks[j]);
			vd = rd(c, q);
			xlp_snprintf(q, sizeof(q), "%s/%s/options", p, ks[j]);
			op = rd(c, q);
			xlp_snprintf(vdo, sizeof(vdo), "%s%s%s", vd ? vd : "", op && *op ? "," : "",
			             op ? op : "");
			if (pd && vd && !xlp_group_parse(pd, vdo, &g, err, sizeof(err)) &&
			    g.vdev.host == vh) {
				g.k = (unsigned int)k;
				nvp = realloc(v, (*n + 1) * sizeof(*v));
				if (nvp) {
					v = nvp;
					v[(*n)++] = g;
				}
			}
			free(pd);
			free(vd);
			free(op);
		}
		free(ks);
	}
	free(vs);
	*out = v;
	return 0;
}

/*
 * Whether a device of the domain is @g's member: its v-dev is in the
 * group's range, which no other device may use (overlaps are refused), so
 * the range says it even for members attached again from the saved
 * configuration after a reboot or restore.
 */
static bool is_member(const struct xlp_group *g, const struct xlp_vhost *vh,
                      const struct xlp_bdev *b)
{
	struct pvs_hctl h;

	return vh->vhost == g->vdev.host && !pvs_parse_hctl(b->v_dev, &h) &&
	       xlp_group_covers(g, &h);
}

static void opts_of(const struct xlp_group *g, char *buf, size_t len);

/* ------------------------------------------------- the saved configuration */

/*
 * A group travels in the domain's saved configuration next to its members'
 * own records (saved.c), as c_info.xsdata "pvscsi-group/H/K" =
 * "PDEV,VDEV[,OPTIONS]", so that a reboot, restore or migration brings the
 * group back, not only the LUNs it had then (xlp_groups_restore()).
 */
#define SAVED_PREFIX "pvscsi-group/"

struct saved_op {
	const char *key; /* NULL: collect */
	const char *val; /* NULL: delete */
	char (*keys)[64], (*vals)[XLP_SPEC_MAX + 200];
	size_t n, cap;
};

static yajl_val xsdata_of(yajl_val dcfg, bool create)
{
	yajl_val ci = xlp_json_get(dcfg, "c_info"), xs;

	if (!ci && create && !xlp_json_set(dcfg, "c_info", xlp_json_new_obj()))
		ci = xlp_json_get(dcfg, "c_info");
	if (!YAJL_IS_OBJECT(ci))
		return NULL;
	xs = xlp_json_get(ci, "xsdata");
	if (!xs && create && !xlp_json_set(ci, "xsdata", xlp_json_new_obj()))
		xs = xlp_json_get(ci, "xsdata");
	return YAJL_IS_OBJECT(xs) ? xs : NULL;
}

static int saved_visit(yajl_val dcfg, void *arg)
{
	struct saved_op *op = arg;
	yajl_val xs = xsdata_of(dcfg, op->key && op->val);

	if (op->key) {
		if (!xs)
			return op->val ? -EINVAL : 0;
		if (!op->val) {
			xlp_json_del(xs, op->key);
			return 0;
		}
		return xlp_json_set(xs, op->key, xlp_json_new_str(op->val));
	}
	for (size_t i = 0; xs && i < xs->u.object.len && op->n < op->cap; i++) {
		yajl_val v = xs->u.object.values[i];

		if (strncmp(xs->u.object.keys[i], SAVED_PREFIX, strlen(SAVED_PREFIX)) ||
		    !YAJL_IS_STRING(v))
			continue;
		xlp_snprintf(op->keys[op->n], sizeof(op->keys[0]), "%s",
		             xs->u.object.keys[i] + strlen(SAVED_PREFIX));
		xlp_snprintf(op->vals[op->n], sizeof(op->vals[0]), "%s", v->u.string);
		op->n++;
	}
	return -ECANCELED; /* read only: nothing to write back */
}

static int saved_set(struct xlp_ctx *c, uint32_t domid, const struct xlp_group *g, bool keep)
{
	char key[64], val[XLP_SPEC_MAX + 200], gp[XLP_SPEC_MAX + 32], gv[64];
	struct saved_op op = {.key = key, .val = keep ? val : NULL};
	int rc;

	xlp_snprintf(key, sizeof(key), SAVED_PREFIX "%u/%u", g->vdev.host, g->k);
	xlp_group_str(g, gp, sizeof(gp), gv, sizeof(gv));
	xlp_snprintf(val, sizeof(val), "%s,%s%s%s", gp, gv, g->opts[0] ? "," : "", g->opts);
	rc = xlp_userdata_update(c, domid, saved_visit, &op);
	return rc == -ENOENT ? 0 : rc; /* no saved configuration: nothing to keep in step */
}

int xlp_groups_restore(struct xlp_ctx *c, uint32_t domid)
{
	char keys[16][64], vals[16][XLP_SPEC_MAX + 200];
	struct saved_op op = {.keys = keys, .vals = vals, .cap = 16};
	int rc = xlp_userdata_update(c, domid, saved_visit, &op), made = 0;

	if (rc != -ECANCELED)
		return rc == -ENOENT ? 0 : rc;
	for (size_t i = 0; i < op.n; i++) {
		char rec[XLP_PATH_MAX], q[XLP_PATH_MAX], err[XLP_ERR_MAX], *comma, *vd, *there;
		unsigned int vh, k;
		struct xlp_group g;
		struct xlp_plan p;

		if (sscanf(keys[i], "%u/%u", &vh, &k) != 2 || !(comma = strchr(vals[i], ',')))
			continue;
		*comma = '\0';
		vd = comma + 1;
		if (xlp_group_parse(vals[i], vd, &g, err, sizeof(err)) || g.vdev.host != vh) {
			xlp_errf(
			    c, "saved group pvscsi-group/%s '%s,%s' is not valid (%s); left out\n",
			    keys[i], vals[i], vd, err);
			continue;
		}
		xlp_rec_path(domid, vh, rec, sizeof(rec));
		xlp_snprintf(q, sizeof(q), "%s/group-%u/pdev", rec, k);
		there = rd(c, q);
		free(there);
		if (there)
			continue;
		g.k = k;
		xlp_plan_init(&p);
		{
			char gp[XLP_SPEC_MAX + 32], gv[64], opts[64];

			xlp_group_str(&g, gp, sizeof(gp), gv, sizeof(gv));
			opts_of(&g, opts, sizeof(opts));
			xlp_plan_write(&p, q, "%s", gp);
			xlp_snprintf(q, sizeof(q), "%s/group-%u/vdev", rec, k);
			xlp_plan_write(&p, q, "%s", gv);
			xlp_snprintf(q, sizeof(q), "%s/group-%u/options", rec, k);
			xlp_plan_write(&p, q, "%s", opts);
		}
		if (!xlp_plan_apply(c, &p))
			made++;
		xlp_plan_free(&p);
	}
	return made;
}

/* ---------------------------------------------------------------- attach */

static void opts_of(const struct xlp_group *g, char *buf, size_t len)
{
	xlp_snprintf(buf, len, "%s%s%s", g->feature_host ? "feature-host," : "", g->ro ? "ro," : "",
	             g->shareable ? "shareable," : "");
	if (buf[0])
		buf[strlen(buf) - 1] = '\0';
}

/* Attach member @e of a group to @domid: 0 or -errno (printed). */
static int attach_member(struct xlp_ctx *c, uint32_t domid, const struct xlp_entry *e)
{
	struct xlp_attach_opts o = {.group_member = true};
	struct xlp_dev *d = calloc(1, sizeof(*d));
	char err[XLP_ERR_MAX];
	int rc;

	if (!d)
		return -ENOMEM;
	rc = xlp_dev_resolve(c, e, d, err, sizeof(err));
	if (rc) {
		xlp_errf(c, "%s\n", err);
		free(d);
		return rc;
	}
	rc = xlp_attach_dev(c, domid, d, &o, NULL, NULL);
	free(d);
	return rc;
}

static unsigned int free_k(const struct xlp_group *gs, size_t n, uint32_t vhost)
{
	unsigned int k = 0;

	for (bool used = true; used; k += used) {
		used = false;
		for (size_t i = 0; i < n; i++)
			used |= gs[i].vdev.host == vhost && gs[i].k == k;
	}
	return k;
}

int xlp_group_attach(struct xlp_ctx *c, uint32_t domid, struct xlp_group *g)
{
	struct xlp_group *gs = NULL;
	struct xlp_vhost *v = NULL;
	struct xlp_entry *m = NULL;
	size_t ng = 0, nv = 0, nm = 0, done = 0;
	char err[XLP_ERR_MAX], gp[XLP_SPEC_MAX + 32], gv[64], rec[XLP_PATH_MAX], q[XLP_PATH_MAX];
	char opts[64];
	struct xlp_plan p;
	int rc;

	xlp_plan_init(&p);
	xlp_group_str(g, gp, sizeof(gp), gv, sizeof(gv));
	rc = xlp_lock(c);
	if (rc)
		return rc;
	rc = xlp_groups_read(c, domid, &gs, &ng);
	if (!rc)
		rc = xlp_vhosts_read(c, domid, &v, &nv);
	if (rc) {
		xlp_errf(c, "cannot read the devices of domain %u: %s\n", domid, strerror(-rc));
		goto out;
	}
	/* A group's range is its own, populated or not. */
	for (size_t i = 0; i < ng; i++) {
		char op[XLP_SPEC_MAX + 32], ov[64];

		if (!groups_overlap(g, &gs[i]))
			continue;
		xlp_group_str(&gs[i], op, sizeof(op), ov, sizeof(ov));
		xlp_errf(c, "VDEV %s overlaps the group %s,%s of domain %u; nothing attached\n", gv,
		         op, ov, domid);
		rc = -EEXIST;
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			struct pvs_hctl h;

			if (pvs_parse_hctl(v[i].devs[k].v_dev, &h) || !xlp_group_covers(g, &h))
				continue;
			xlp_errf(
			    c,
			    "VDEV %s covers v-dev %s of domain %u (p-dev %s); detach it first; "
			    "nothing attached\n",
			    gv, v[i].devs[k].v_dev, domid, v[i].devs[k].p_dev);
			rc = -EEXIST;
			goto out;
		}
	}
	rc = xlp_group_members(c, g, &m, &nm, err, sizeof(err));
	if (rc) {
		xlp_errf(c, "%s; nothing attached\n", err);
		goto out;
	}
	g->k = free_k(gs, ng, g->vdev.host);
	if (c->dry_run)
		xlp_outf(c, "# group %s,%s of domain %u: %zu LUNs now, group-%u\n", gp, gv, domid,
		         nm, g->k);
	for (done = 0; done < nm; done++) {
		rc = attach_member(c, domid, &m[done]);
		if (rc)
			break;
	}
	if (rc) {
		/* All or none: the members attached so far go again. */
		for (size_t i = done; i-- > 0;)
			xlp_detach_vdev(c, domid, &m[i].vdev);
		xlp_errf(c, "group %s,%s: LUN %s failed; nothing attached\n", gp, gv, m[done].pdev);
		goto out;
	}
	xlp_rec_path(domid, g->vdev.host, rec, sizeof(rec));
	opts_of(g, opts, sizeof(opts));
	xlp_snprintf(q, sizeof(q), "%s/group-%u/pdev", rec, g->k);
	xlp_plan_write(&p, q, "%s", gp);
	xlp_snprintf(q, sizeof(q), "%s/group-%u/vdev", rec, g->k);
	xlp_plan_write(&p, q, "%s", gv);
	xlp_snprintf(q, sizeof(q), "%s/group-%u/options", rec, g->k);
	xlp_plan_write(&p, q, "%s", opts);
	if (c->dry_run) {
		xlp_plan_print(&p, c->out);
	} else {
		rc = xlp_plan_apply(c, &p);
		if (!rc && saved_set(c, domid, g, true))
			xlp_errf(
			    c, "warning: the group is attached but not in the saved configuration: "
			       "after a reboot or restore only its LUNs of now come back\n");
		if (!rc)
			xlp_outf(
			    c,
			    "group %s,%s: %zu LUN%s attached; LUNs that appear later are added\n",
			    gp, gv, nm, nm == 1 ? "" : "s");
	}
out:
	xlp_plan_free(&p);
	free(m);
	xlp_groups_free(gs, ng);
	xlp_vhosts_free(v, nv);
	xlp_unlock(c);
	return rc;
}

/* ---------------------------------------------------------------- detach */

static int find_group(struct xlp_ctx *c, uint32_t domid, const char *vdev, struct xlp_group *out)
{
	struct xlp_group *gs = NULL;
	size_t ng = 0;
	int rc = -ENOENT;

	xlp_groups_read(c, domid, &gs, &ng);
	for (size_t i = 0; i < ng && rc; i++) {
		char gp[XLP_SPEC_MAX + 32], gv[64];

		xlp_group_str(&gs[i], gp, sizeof(gp), gv, sizeof(gv));
		if (!strcmp(gv, vdev)) {
			*out = gs[i];
			rc = 0;
		}
	}
	xlp_groups_free(gs, ng);
	return rc;
}

int xlp_group_detach(struct xlp_ctx *c, uint32_t domid, const char *vdev)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	struct xlp_group g;
	char rec[XLP_PATH_MAX], q[XLP_PATH_MAX];
	struct xlp_plan p;
	int rc, failed = 0;

	rc = xlp_lock(c);
	if (rc)
		return rc;
	rc = find_group(c, domid, vdev, &g);
	if (rc) {
		xlp_errf(c, "domain %u has no group at VDEV %s (see xl scsi-list)\n", domid, vdev);
		goto out;
	}
	/*
	 * The group goes first, saved configuration and record, so that the
	 * monitor cannot bring it back between two members (its reconcile
	 * restores a group the saved configuration has and the record lacks).
	 */
	xlp_plan_init(&p);
	xlp_rec_path(domid, g.vdev.host, rec, sizeof(rec));
	xlp_snprintf(q, sizeof(q), "%s/group-%u", rec, g.k);
	xlp_plan_rm(&p, q);
	if (c->dry_run) {
		xlp_plan_print(&p, c->out);
	} else {
		rc = saved_set(c, domid, &g, false);
		if (!rc)
			rc = xlp_plan_apply(c, &p);
	}
	xlp_plan_free(&p);
	if (rc) {
		xlp_errf(c, "group %s: cannot remove it (%s); nothing detached\n", vdev,
		         strerror(-rc));
		goto out;
	}
	rc = xlp_vhosts_read(c, domid, &v, &nv);
	for (size_t i = 0; !rc && i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			struct pvs_hctl h;

			if (!is_member(&g, &v[i], &v[i].devs[k]) ||
			    pvs_parse_hctl(v[i].devs[k].v_dev, &h))
				continue;
			if (xlp_detach_vdev(c, domid, &h))
				failed++;
		}
	}
	if (failed) {
		xlp_errf(c,
		         "group %s is gone, but %d of its LUN%s could not be detached: they are "
		         "ordinary devices now (xl scsi-detach each)\n",
		         vdev, failed, failed == 1 ? "" : "s");
		rc = -EIO;
	}
out:
	xlp_vhosts_free(v, nv);
	xlp_unlock(c);
	return rc;
}

int xlp_group_of_vdev(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev, char *buf,
                      size_t len)
{
	struct xlp_group *gs = NULL;
	size_t ng = 0;
	int rc = -ENOENT;

	xlp_groups_read(c, domid, &gs, &ng);
	for (size_t i = 0; i < ng && rc; i++) {
		char gp[XLP_SPEC_MAX + 32], gv[64];

		if (!xlp_group_covers(&gs[i], vdev))
			continue;
		xlp_group_str(&gs[i], gp, sizeof(gp), gv, sizeof(gv));
		xlp_snprintf(buf, len, "%s,%s", gp, gv);
		rc = 0;
	}
	xlp_groups_free(gs, ng);
	return rc;
}

/* ---------------------------------------------------------------- reconcile */

int xlp_groups_reconcile(struct xlp_ctx *c, uint32_t domid)
{
	struct xlp_group *gs = NULL;
	size_t ng = 0;
	int changes = 0;

	if (xlp_lock(c))
		return -EIO;
	/* A new domain of the guest (reboot, restore, migration) gets its groups back. */
	xlp_groups_restore(c, domid);
	xlp_groups_read(c, domid, &gs, &ng);
	for (size_t i = 0; i < ng; i++) {
		struct xlp_group *g = &gs[i];
		struct xlp_vhost *v = NULL;
		struct xlp_entry *m = NULL;
		size_t nv = 0, nm = 0;
		char err[XLP_ERR_MAX], gp[XLP_SPEC_MAX + 32], gv[64];

		xlp_group_str(g, gp, sizeof(gp), gv, sizeof(gv));
		if (xlp_group_members(c, g, &m, &nm, err, sizeof(err))) {
			/* The adapter itself is gone: its members go with it. */
			xlp_errf(c, "group %s,%s: %s\n", gp, gv, err);
			nm = 0;
		}
		if (xlp_vhosts_read(c, domid, &v, &nv)) {
			free(m);
			continue;
		}
		/* Gone from the host: hot-remove. */
		for (size_t j = 0; j < nv; j++) {
			for (size_t k = 0; k < v[j].ndevs; k++) {
				struct pvs_hctl h;
				bool still = false;

				if (!is_member(g, &v[j], &v[j].devs[k]) ||
				    pvs_parse_hctl(v[j].devs[k].v_dev, &h))
					continue;
				for (size_t x = 0; x < nm && !still; x++)
					still = xlp_hctl_eq(&m[x].vdev, &h);
				if (still)
					continue;
				xlp_outf(
				    c, "group %s,%s: v-dev %s is gone from the host; removing it\n",
				    gp, gv, v[j].devs[k].v_dev);
				if (!xlp_detach_vdev(c, domid, &h))
					changes++;
			}
		}
		/* New on the host: hot-add. */
		for (size_t x = 0; x < nm; x++) {
			char vd[48];

			if (xlp_vhosts_find(v, nv, &m[x].vdev, NULL, NULL))
				continue;
			xlp_hctl_str(&m[x].vdev, vd);
			xlp_outf(c, "group %s,%s: LUN %s appeared; adding it as v-dev %s\n", gp, gv,
			         m[x].pdev, vd);
			if (!attach_member(c, domid, &m[x]))
				changes++;
			else
				xlp_errf(c, "group %s,%s: v-dev %s NOT added (see above)\n", gp, gv,
				         vd);
		}
		xlp_vhosts_free(v, nv);
		free(m);
	}
	xlp_groups_free(gs, ng);
	xlp_unlock(c);
	return changes;
}
