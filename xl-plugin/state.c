/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.c - what xenstore says about domains and their vscsi controllers.
 *
 * Three places per controller (vhost):
 *   /local/domain/BE/backend/vscsi/DOMID/VHOST   the backend's (ours to create)
 *   /local/domain/DOMID/device/vscsi/VHOST       the frontend's
 *   /libxl/DOMID/device/vscsi/VHOST              the toolstack's own record
 *                                                (PDEV as typed, options); dom0
 *                                                only, and removed by libxl with
 *                                                the domain
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

void xlp_be_path(const struct xlp_ctx *c, uint32_t domid, uint32_t vhost, char *buf, size_t len)
{
	xlp_snprintf(buf, len, XSN_BACKEND_ROOT "/%u/%u", c->be_domid, domid, vhost);
}

void xlp_fe_path(uint32_t domid, uint32_t vhost, char *buf, size_t len)
{
	xlp_snprintf(buf, len, XSN_FRONTEND_DIR, domid, vhost);
}

void xlp_rec_path(uint32_t domid, uint32_t vhost, char *buf, size_t len)
{
	xlp_snprintf(buf, len, "/libxl/%u/device/vscsi/%u", domid, vhost);
}

static char *xs_get(struct xlp_ctx *c, const char *path)
{
	return c->xs.ops->read(c->xs.ctx, PVX_XS_NOTX, path, NULL);
}

static char *xs_getf(struct xlp_ctx *c, const char *dir, const char *name)
{
	char p[XLP_PATH_MAX];

	xlp_snprintf(p, sizeof(p), "%s/%s", dir, name);
	return xs_get(c, p);
}

static void copy_node(struct xlp_ctx *c, const char *dir, const char *name, char *out, size_t len)
{
	char *v = xs_getf(c, dir, name);

	xlp_snprintf(out, len, "%s", v ? v : "");
	free(v);
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (pvx_parse_uint(s, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

int xlp_read_int(struct xlp_ctx *c, const char *path, int dflt)
{
	char *v = xs_get(c, path);
	uint64_t n;
	int r = dflt;

	if (v && !pvx_parse_uint(v, 1000000, &n))
		r = (int)n;
	free(v);
	return r;
}

bool xlp_domain_exists(struct xlp_ctx *c, uint32_t domid)
{
	char p[64];
	unsigned int n = 0;
	char **d;

	xlp_snprintf(p, sizeof(p), XSN_DOMAIN_DIR, domid);
	d = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, p, &n);
	if (!d)
		return false;
	free(d);
	return true;
}

char *xlp_domain_name(struct xlp_ctx *c, uint32_t domid)
{
	char p[64];

	xlp_snprintf(p, sizeof(p), XSN_DOMAIN_DIR "/" XSN_NAME, domid);
	return xs_get(c, p);
}

int xlp_domain_uuid(struct xlp_ctx *c, uint32_t domid, char *buf, size_t len)
{
	char p[64];
	char *v, *slash;

	xlp_snprintf(p, sizeof(p), XSN_DOMAIN_DIR "/" XSN_VM, domid);
	v = xs_get(c, p);
	if (!v)
		return -ENOENT;
	slash = strrchr(v, '/');
	xlp_snprintf(buf, len, "%s", slash ? slash + 1 : v);
	free(v);
	return buf[0] ? 0 : -ENOENT;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Numeric children of @path, ascending.  A missing directory is an empty list. */
static int numeric_children(struct xlp_ctx *c, const char *path, const char *prefix, uint32_t **ids,
                            size_t *n)
{
	unsigned int num = 0;
	char **d = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, path, &num);
	size_t plen = prefix ? strlen(prefix) : 0;
	uint32_t *v;
	size_t k = 0;

	*ids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT || errno == 0 ? 0 : -errno;
	v = calloc(num ? num : 1, sizeof(*v));
	if (!v) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < num; i++) {
		uint32_t id;

		if (plen && strncmp(d[i], prefix, plen))
			continue;
		if (parse_u32(d[i] + plen, &id))
			v[k++] = id;
	}
	free(d);
	qsort(v, k, sizeof(*v), cmp_u32);
	*ids = v;
	*n = k;
	return 0;
}

int xlp_domain_list(struct xlp_ctx *c, uint32_t **ids, size_t *n)
{
	return numeric_children(c, XSN_DOMAINS, NULL, ids, n);
}

int xlp_backend_domids(struct xlp_ctx *c, uint32_t **ids, size_t *n)
{
	char p[96];

	xlp_snprintf(p, sizeof(p), XSN_BACKEND_ROOT, c->be_domid);
	return numeric_children(c, p, NULL, ids, n);
}

int xlp_connect_domain(struct xlp_ctx *c, const char *name, uint32_t *domid)
{
	if (xlp_ctx_connect(c))
		return 1;
	if (xlp_domain_find(c, name, domid)) {
		xlp_errf(c, "unknown domain '%s'\n", name);
		return 1;
	}
	return 0;
}

int xlp_domain_find(struct xlp_ctx *c, const char *name_or_id, uint32_t *domid)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	uint32_t id;
	int rc;

	/* As xl: all digits is a domain id, anything else a name. */
	if (parse_u32(name_or_id, &id)) {
		if (!xlp_domain_exists(c, id))
			return -ENOENT;
		*domid = id;
		return 0;
	}
	rc = xlp_domain_list(c, &ids, &n);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		char *name = xlp_domain_name(c, ids[i]);
		bool eq = name && !strcmp(name, name_or_id);

		free(name);
		if (eq) {
			*domid = ids[i];
			rc = 0;
			break;
		}
	}
	free(ids);
	return rc;
}

void xlp_vhosts_free(struct xlp_vhost *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].devs);
	free(v);
}

static int read_devs(struct xlp_ctx *c, const char *be, const char *rec, struct xlp_vhost *vh)
{
	char dir[XLP_PATH_MAX];
	uint32_t *ns = NULL;
	size_t nn = 0;
	int rc;

	xlp_snprintf(dir, sizeof(dir), "%s/" XSN_VSCSI_DEVS, be);
	rc = numeric_children(c, dir, XSN_DEV, &ns, &nn);
	if (rc)
		return rc;
	vh->devs = calloc(nn ? nn : 1, sizeof(*vh->devs));
	if (!vh->devs) {
		free(ns);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		struct xlp_bdev *b = &vh->devs[i];
		char dp[XLP_PATH_MAX], rp[XLP_PATH_MAX];

		b->n = ns[i];
		xlp_snprintf(dp, sizeof(dp), "%s/" XSN_DEV "%u", dir, ns[i]);
		copy_node(c, dp, XSN_P_DEV, b->p_dev, sizeof(b->p_dev));
		copy_node(c, dp, XSN_P_DEVNAME, b->p_devname, sizeof(b->p_devname));
		copy_node(c, dp, XSN_V_DEV, b->v_dev, sizeof(b->v_dev));
		xlp_snprintf(rp, sizeof(rp), "%s/" XSN_STATE, dp);
		b->state = xlp_read_int(c, rp, -1);
		xlp_snprintf(rp, sizeof(rp), "%s/dev-%u", rec, ns[i]);
		copy_node(c, rp, "options", b->opts, sizeof(b->opts));
		copy_node(c, rp, "pdev", b->pdev_given, sizeof(b->pdev_given));
		b->shareable = strstr(b->opts, "shareable") != NULL;
	}
	vh->ndevs = nn;
	free(ns);
	return 0;
}

bool xlp_vhosts_find(struct xlp_vhost *v, size_t nv, const struct pvs_hctl *vdev,
                     struct xlp_vhost **vh, struct xlp_bdev **b)
{
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			struct pvs_hctl h;

			if (!pvs_parse_hctl(v[i].devs[k].v_dev, &h) && xlp_hctl_eq(&h, vdev)) {
				if (vh)
					*vh = &v[i];
				if (b)
					*b = &v[i].devs[k];
				return true;
			}
		}
	}
	return false;
}

int xlp_dev_at(struct xlp_ctx *c, uint32_t domid, const char *name, const struct pvs_hctl *vdev,
               struct xlp_vhost **v, size_t *nv, struct xlp_vhost **vh, struct xlp_bdev **b)
{
	char vd[48];
	int rc = xlp_vhosts_read(c, domid, v, nv);

	if (rc) {
		xlp_errf(c, "cannot read the controllers of domain %u: %s\n", domid, strerror(-rc));
		return rc;
	}
	if (xlp_vhosts_find(*v, *nv, vdev, vh, b))
		return 0;
	xlp_hctl_str(vdev, vd);
	xlp_errf(c, "domain %s (id %u) has no SCSI device at v-dev %s (see xl scsi-list)\n",
	         name ? name : "?", domid, vd);
	return -ENOENT;
}

int xlp_vhosts_read(struct xlp_ctx *c, uint32_t domid, struct xlp_vhost **out, size_t *n)
{
	char p[XLP_PATH_MAX];
	uint32_t *vs = NULL;
	size_t nv = 0;
	struct xlp_vhost *v;
	int rc;

	*out = NULL;
	*n = 0;
	xlp_snprintf(p, sizeof(p), XSN_BACKEND_ROOT "/%u", c->be_domid, domid);
	rc = numeric_children(c, p, NULL, &vs, &nv);
	if (rc)
		return rc;
	v = calloc(nv ? nv : 1, sizeof(*v));
	if (!v) {
		free(vs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nv; i++) {
		char be[XLP_PATH_MAX], rec[XLP_PATH_MAX], sp[XLP_PATH_MAX];
		char *fe;

		v[i].domid = domid;
		v[i].vhost = vs[i];
		xlp_be_path(c, domid, vs[i], be, sizeof(be));
		xlp_rec_path(domid, vs[i], rec, sizeof(rec));
		xlp_snprintf(sp, sizeof(sp), "%s/" XSN_STATE, be);
		v[i].state = xlp_read_int(c, sp, -1);
		xlp_snprintf(sp, sizeof(sp), "%s/" XSN_FEATURE_HOST, be);
		v[i].feature_host = xlp_read_int(c, sp, 0) == 1;
		fe = xs_getf(c, be, XSN_FRONTEND);
		v[i].fe_state = -1;
		if (fe) {
			xlp_snprintf(sp, sizeof(sp), "%s/" XSN_STATE, fe);
			v[i].fe_state = xlp_read_int(c, sp, -1);
			free(fe);
		}
		rc = read_devs(c, be, rec, &v[i]);
		if (rc) {
			xlp_vhosts_free(v, i + 1);
			free(vs);
			return rc;
		}
	}
	free(vs);
	*out = v;
	*n = nv;
	return 0;
}
