/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assignable.c - xl scsi-assignable-list [--json]: every SCSI logical unit
 * of this host, as xl pci-assignable-list shows PCI devices, with its
 * H:C:T:L, device type, /dev names, vendor and model, stable identity, and
 * the domains and v-devs holding it, or "free".
 *
 * The LUNs are what sysfs lists under class/scsi_device, each resolved as
 * any p-dev is (pvscsi/resolve.h); a LUN is held when a backend device of a
 * live domain resolves to the same H:C:T:L, the test xl scsi-attach makes
 * before it assigns one.  The text's columns fit their cells; --json is
 * yajl_gen's, beautified as xl's own JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

struct holder {
	uint32_t domid;
	char v_dev[64];
};

struct lu {
	struct pvs_pdev p;
	char nodes[4][40]; /* st0/nst0 and sch0: what resolve.h does not report */
	unsigned int nnodes;
	struct holder holders[8];
	unsigned int nholders, more; /* more: holders beyond the array */
};

static int hctl_cmp(const void *a, const void *b)
{
	const struct pvs_pdev *x = &((const struct lu *)a)->p, *y = &((const struct lu *)b)->p;
	const uint32_t kx[4] = {x->host, x->channel, x->target, x->lun};
	const uint32_t ky[4] = {y->host, y->channel, y->target, y->lun};

	for (int i = 0; i < 4; i++)
		if (kx[i] != ky[i])
			return kx[i] < ky[i] ? -1 : 1;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The tape and changer nodes of @hctl, from its sysfs class subdirectories. */
static void char_nodes(const char *sys, const char *hctl, struct lu *l)
{
	static const char *const classes[] = {"scsi_tape", "scsi_changer"};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		char dir[600];
		struct dirent **ents;
		int n;

		xlp_snprintf(dir, sizeof(dir), "%s/class/scsi_device/%s/device/%s", sys, hctl,
		             classes[i]);
		n = scandir(dir, &ents, NULL, alphasort);
		for (int k = 0; k < n; k++) {
			const char *e = ents[k]->d_name;
			size_t len = strlen(e);

			/* st0 and nst0, not the mode nodes st0l, st0m, st0a */
			if (e[0] != '.' && l->nnodes < 4 &&
			    (i == 1 || (len > 0 && e[len - 1] >= '0' && e[len - 1] <= '9')))
				xlp_snprintf(l->nodes[l->nnodes++], sizeof(l->nodes[0]), "%s", e);
			free(ents[k]);
		}
		if (n >= 0)
			free(ents);
	}
}

static int scan_luns(struct xlp_ctx *c, struct lu **out, size_t *n)
{
	const char *sys = c->res.sysfs_root ? c->res.sysfs_root : "/sys";
	char dir[512];
	struct dirent **ents;
	struct lu *l;
	size_t k = 0;
	int m;

	*out = NULL;
	*n = 0;
	xlp_snprintf(dir, sizeof(dir), "%s/class/scsi_device", sys);
	m = scandir(dir, &ents, NULL, alphasort);
	if (m < 0)
		return errno == ENOENT ? 0 : -errno;
	l = calloc((size_t)m + 1, sizeof(*l));
	for (int i = 0; i < m; i++) {
		struct pvs_hctl h;

		if (l && !pvs_parse_hctl(ents[i]->d_name, &h) &&
		    !pvs_resolve(&c->res, ents[i]->d_name, &l[k].p, NULL, 0)) {
			char_nodes(sys, ents[i]->d_name, &l[k]);
			k++;
		}
		free(ents[i]);
	}
	free(ents);
	if (!l)
		return -ENOMEM;
	qsort(l, k, sizeof(*l), hctl_cmp);
	*out = l;
	*n = k;
	return 0;
}

static struct lu *find_lu(struct lu *l, size_t n, const struct pvs_hctl *h)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].p.host == h->host && l[i].p.channel == h->channel &&
		    l[i].p.target == h->target && l[i].p.lun == h->lun)
			return &l[i];
	return NULL;
}

/* Who holds what: every backend device of a live domain that resolves to a LUN here. */
static int scan_holders(struct xlp_ctx *c, struct lu *l, size_t n)
{
	uint32_t *ids = NULL;
	size_t nids = 0;
	int rc = xlp_backend_domids(c, &ids, &nids);

	for (size_t i = 0; !rc && i < nids; i++) {
		struct xlp_vhost *v = NULL;
		size_t nv = 0;

		if (!xlp_domain_exists(c, ids[i]) || xlp_vhosts_read(c, ids[i], &v, &nv))
			continue;
		for (size_t k = 0; k < nv; k++) {
			for (size_t d = 0; d < v[k].ndevs; d++) {
				const struct xlp_bdev *b = &v[k].devs[d];
				struct pvs_hctl h;
				struct lu *u;

				if (xlp_bdev_hctl(c, b, &h, NULL) || !(u = find_lu(l, n, &h)))
					continue;
				if (u->nholders == sizeof(u->holders) / sizeof(u->holders[0])) {
					u->more++;
					continue;
				}
				u->holders[u->nholders].domid = ids[i];
				xlp_snprintf(u->holders[u->nholders].v_dev,
				             sizeof(u->holders[0].v_dev), "%s",
				             b->v_dev[0] ? b->v_dev : "?");
				u->nholders++;
			}
		}
		xlp_vhosts_free(v, nv);
	}
	free(ids);
	return rc;
}

static void devices_text(const struct lu *u, char *buf, size_t len)
{
	size_t at = 0;
	const char *names[6];
	unsigned int k = 0;

	if (u->p.block[0])
		names[k++] = base_name(u->p.block);
	for (unsigned int i = 0; i < u->nnodes; i++)
		names[k++] = u->nodes[i];
	if (u->p.sg[0])
		names[k++] = base_name(u->p.sg);
	buf[0] = '\0';
	for (unsigned int i = 0; i < k && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s", i ? "," : "", names[i]);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	if (!k)
		xlp_snprintf(buf, len, "-");
}

static void print_text(struct xlp_ctx *c, const struct lu *l, size_t n)
{
	static const char *const head[] = {"H:C:T:L", "type",    "devices", "vendor",
	                                   "model",   "held by", "identity"};
	struct xlp_table t;

	xlp_table_init(&t, sizeof(head) / sizeof(head[0]));
	xlp_table_row(&t, head);
	for (size_t i = 0; i < n; i++) {
		const struct lu *u = &l[i];
		char hctl[48], devs[200], held[300];
		size_t at = 0;
		const char *row[] = {hctl,
		                     u->p.type >= 0 ? pvs_pdt_name((uint8_t)u->p.type) : "-",
		                     devs,
		                     u->p.vendor[0] ? u->p.vendor : "-",
		                     u->p.model[0] ? u->p.model : "-",
		                     u->nholders ? held : "free",
		                     u->p.wwid[0] ? u->p.wwid : "-"};

		xlp_snprintf(hctl, sizeof(hctl), "%u:%u:%u:%u", u->p.host, u->p.channel,
		             u->p.target, u->p.lun);
		devices_text(u, devs, sizeof(devs));
		held[0] = '\0';
		for (unsigned int h = 0; h < u->nholders && at < sizeof(held); h++) {
			char *name = xlp_domain_name(c, u->holders[h].domid);
			int w = snprintf(held + at, sizeof(held) - at, "%s%s(%s)", h ? "," : "",
			                 name ? name : "?", u->holders[h].v_dev);

			free(name);
			if (w < 0)
				break;
			at += (size_t)w;
		}
		if (u->more && at < sizeof(held))
			snprintf(held + at, sizeof(held) - at, ",+%u", u->more);
		xlp_table_row(&t, row);
	}
	xlp_table_print(&t, c->out);
	if (t.oom)
		xlp_errf(c, "out of memory: rows are missing\n");
	xlp_table_free(&t);
}

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
	xlp_json_gen_str(g, k);
	xlp_json_gen_str(g, v);
}

static void gen_lu(struct xlp_ctx *c, yajl_gen g, const struct lu *u)
{
	char hctl[48];

	xlp_snprintf(hctl, sizeof(hctl), "%u:%u:%u:%u", u->p.host, u->p.channel, u->p.target,
	             u->p.lun);
	yajl_gen_map_open(g);
	gen_kv(g, "hctl", hctl);
	gen_kv(g, "type", u->p.type >= 0 ? pvs_pdt_name((uint8_t)u->p.type) : "");
	xlp_json_gen_str(g, "pdt");
	yajl_gen_integer(g, u->p.type);
	xlp_json_gen_str(g, "devices");
	yajl_gen_array_open(g);
	if (u->p.block[0])
		xlp_json_gen_str(g, u->p.block);
	for (unsigned int k = 0; k < u->nnodes; k++) {
		char path[600];

		xlp_snprintf(path, sizeof(path), "%s/%s",
		             c->res.dev_root ? c->res.dev_root : "/dev", u->nodes[k]);
		xlp_json_gen_str(g, path);
	}
	if (u->p.sg[0])
		xlp_json_gen_str(g, u->p.sg);
	yajl_gen_array_close(g);
	gen_kv(g, "vendor", u->p.vendor);
	gen_kv(g, "model", u->p.model);
	gen_kv(g, "identity", u->p.wwid);
	xlp_json_gen_str(g, "holders");
	yajl_gen_array_open(g);
	for (unsigned int h = 0; h < u->nholders; h++) {
		char *name = xlp_domain_name(c, u->holders[h].domid);

		yajl_gen_map_open(g);
		xlp_json_gen_str(g, "domid");
		yajl_gen_integer(g, u->holders[h].domid);
		gen_kv(g, "name", name ? name : "");
		gen_kv(g, "v-dev", u->holders[h].v_dev);
		yajl_gen_map_close(g);
		free(name);
	}
	yajl_gen_array_close(g);
	xlp_json_gen_str(g, "free");
	yajl_gen_bool(g, !u->nholders && !u->more);
	yajl_gen_map_close(g);
}

static int print_json(struct xlp_ctx *c, const struct lu *l, size_t n)
{
	yajl_gen g = xlp_json_gen_file(c->out, true);

	if (!g)
		return -ENOMEM;
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		gen_lu(c, g, &l[i]);
	yajl_gen_array_close(g);
	yajl_gen_free(g);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xl scsi-assignable-list [--json]\n"
	           "List every SCSI logical unit of this host and the domain holding it.\n");
}

int xlp_cmd_assignable_list(struct xlp_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {{"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0}};
	struct lu *l = NULL;
	size_t n = 0;
	bool json = false;
	int opt, rc;

	c->prefix = "scsi-assignable-list: ";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+jh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(c->out);
			return 0;
		default:
			usage(c->err);
			return 2;
		}
	}
	if (optind != argc) {
		usage(c->err);
		return 2;
	}
	if (xlp_ctx_connect(c))
		return 1;
	rc = scan_luns(c, &l, &n);
	if (rc) {
		xlp_errf(c, "cannot list the SCSI devices in sysfs: %s\n", strerror(-rc));
		return 1;
	}
	rc = scan_holders(c, l, n);
	if (rc) {
		xlp_errf(c, "cannot read the domains' SCSI devices: %s\n", strerror(-rc));
		free(l);
		return 1;
	}
	if (json)
		rc = print_json(c, l, n);
	else
		print_text(c, l, n);
	free(l);
	if (rc)
		xlp_errf(c, "out of memory\n");
	return rc ? 1 : 0;
}
