/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list.c - xl scsi-list [--json] DOMAIN...
 *
 * Text output keeps the columns of the historical xl PVSCSI series
 * (Idx BE state ctrl phy-hctl vir-hctl devstate): one row per device; Idx is
 * its dev-N, BE the backend domain, state the controller's backend state,
 * ctrl the controller (the H of its v-devs), phy-hctl where the LUN is on
 * this host now, vir-hctl where the guest sees it, devstate dev-N's state;
 * then type, the LUN's peripheral device type as lsscsi names it (disk,
 * tape, cd/dvd, mediumx...), which decides the commands the backend's filter
 * passes: an administrator asks "what is this" next, so it is shown by
 * default, last, where a reader of the old columns does not trip on it.
 * States are named as xenbus.h names them (the numbers meant looking them
 * up), and the columns are as wide as their cells: phy-hctl may be a long
 * file: path.  --json (yajl_gen, beautified as xl's own JSON) carries each
 * state as its number and its name.  --xml writes one domain's devices as
 * libvirt elements that scsi-attach --xml takes back (xml.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

/*
 * Where the LUN is now: p-dev when it is an H:C:T:L, else what it resolves
 * to; a read-only host LUN keeps its ",ro" as a file: LUN does.  *@type:
 * its device type ("disk" for the emulated ones, "cd/dvd" for a cdrom: drive), "-" when unresolved.
 */
static void phy_hctl(struct xlp_ctx *c, const struct xlp_bdev *b, char *buf, size_t len,
                     const char **type)
{
	struct pvs_hctl h, given;
	char base[XLP_SPEC_MAX];
	int pdt, rc = xlp_bdev_hctl(c, b, &h, &pdt);

	*type = "-";
	xlp_snprintf(buf, len, "%s", b->p_dev[0] ? b->p_dev : "-");
	if (rc == XLP_BDEV_EMULATED)
		*type = pvs_pdt_name(strncmp(b->p_dev, "cdrom:", 6) ? 0 : 5);
	if (rc)
		return;
	xlp_pdev_base(b->p_dev, base, sizeof(base));
	if (pvs_parse_hctl(base, &given))
		xlp_snprintf(buf, len, "%u:%u:%u:%u%s", h.host, h.channel, h.target, h.lun,
		             strlen(base) < strlen(b->p_dev) ? XLP_PDEV_RO : "");
	if (pdt >= 0)
		*type = pvs_pdt_name((uint8_t)pdt);
}

/* A xenbus state in words; "-" when the node is absent, the number when it names none. */
static const char *state_text(int st, char buf[16])
{
	const char *name = pvx_xenbus_state_name(st);

	if (name)
		return name;
	if (st < 0)
		return "-";
	xlp_snprintf(buf, 16, "%d", st);
	return buf;
}

static void text_domain(struct xlp_ctx *c, const struct xlp_vhost *v, size_t nv)
{
	static const char *const head[] = {"Idx",      "BE",       "state",    "ctrl",
	                                   "phy-hctl", "vir-hctl", "devstate", "type"};
	struct xlp_table t;

	xlp_table_init(&t, sizeof(head) / sizeof(head[0]));
	xlp_table_row(&t, head);
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			const struct xlp_bdev *b = &v[i].devs[k];
			char phy[XLP_SPEC_MAX], idx[16], be[16], ctrl[16], st[16], dst[16];
			const char *type;
			const char *row[8] = {idx,
			                      be,
			                      state_text(v[i].state, st),
			                      ctrl,
			                      phy,
			                      b->v_dev[0] ? b->v_dev : "-",
			                      state_text(b->state, dst),
			                      NULL};

			phy_hctl(c, b, phy, sizeof(phy), &type);
			row[7] = type;
			xlp_snprintf(idx, sizeof(idx), "%u", b->n);
			xlp_snprintf(be, sizeof(be), "%u", c->be_domid);
			xlp_snprintf(ctrl, sizeof(ctrl), "%u", v[i].vhost);
			xlp_table_row(&t, row);
		}
	}
	xlp_table_print(&t, c->out);
	if (t.oom)
		xlp_errf(c, "out of memory: rows are missing\n");
	xlp_table_free(&t);
}

/* "KEY": N and "KEY-name": "Connected" (null when the state has no name). */
static void gen_state(yajl_gen g, const char *key, int st)
{
	const char *name = pvx_xenbus_state_name(st);
	char k[64];

	xlp_json_gen_str(g, key);
	yajl_gen_integer(g, st);
	xlp_snprintf(k, sizeof(k), "%s-name", key);
	xlp_json_gen_str(g, k);
	if (name)
		xlp_json_gen_str(g, name);
	else
		yajl_gen_null(g);
}

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
	xlp_json_gen_str(g, k);
	xlp_json_gen_str(g, v);
}

static void gen_dev(struct xlp_ctx *c, yajl_gen g, const struct xlp_bdev *b)
{
	char phy[XLP_SPEC_MAX];
	const char *type;

	phy_hctl(c, b, phy, sizeof(phy), &type);
	yajl_gen_map_open(g);
	xlp_json_gen_str(g, "idx");
	yajl_gen_integer(g, b->n);
	gen_kv(g, "p-dev", b->p_dev);
	gen_kv(g, "p-devname", b->p_devname);
	gen_kv(g, "phy-hctl", phy);
	gen_kv(g, "type", type);
	gen_kv(g, "v-dev", b->v_dev);
	gen_state(g, "state", b->state);
	gen_kv(g, "pdev", b->pdev_given);
	gen_kv(g, "options", b->opts);
	yajl_gen_map_close(g);
}

static void gen_domain(struct xlp_ctx *c, yajl_gen g, uint32_t domid, const struct xlp_vhost *v,
                       size_t nv)
{
	char *name = xlp_domain_name(c, domid);

	yajl_gen_map_open(g);
	xlp_json_gen_str(g, "domid");
	yajl_gen_integer(g, domid);
	gen_kv(g, "name", name ? name : "");
	free(name);
	xlp_json_gen_str(g, "controllers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < nv; i++) {
		yajl_gen_map_open(g);
		xlp_json_gen_str(g, "ctrl");
		yajl_gen_integer(g, v[i].vhost);
		xlp_json_gen_str(g, "backend");
		yajl_gen_integer(g, c->be_domid);
		gen_state(g, "state", v[i].state);
		gen_state(g, "frontend-state", v[i].fe_state);
		xlp_json_gen_str(g, "feature-host");
		yajl_gen_bool(g, v[i].feature_host);
		xlp_json_gen_str(g, "devs");
		yajl_gen_array_open(g);
		for (size_t k = 0; k < v[i].ndevs; k++)
			gen_dev(c, g, &v[i].devs[k]);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

int xlp_list(struct xlp_ctx *c, uint32_t *domids, size_t n, bool json)
{
	yajl_gen g = NULL;
	int rc = 0;

	if (json) {
		g = xlp_json_gen_file(c->out, true);
		if (!g) {
			xlp_errf(c, "out of memory\n");
			return -ENOMEM;
		}
		yajl_gen_array_open(g);
	}
	for (size_t i = 0; i < n; i++) {
		struct xlp_vhost *v = NULL;
		size_t nv = 0;
		int r = xlp_vhosts_read(c, domids[i], &v, &nv);

		if (r) {
			xlp_errf(c, "cannot read domain %u: %s\n", domids[i], strerror(-r));
			rc = r;
			continue;
		}
		if (g) {
			gen_domain(c, g, domids[i], v, nv);
		} else {
			if (n > 1) {
				char *name = xlp_domain_name(c, domids[i]);

				xlp_outf(c, "%s%s (id %u):\n", i ? "\n" : "", name ? name : "?",
				         domids[i]);
				free(name);
			}
			text_domain(c, v, nv);
		}
		xlp_vhosts_free(v, nv);
	}
	if (g) {
		yajl_gen_array_close(g);
		yajl_gen_free(g);
	}
	return rc;
}

static void list_usage(FILE *f)
{
	fprintf(f, "Usage: xl scsi-list [--json] <Domain> [<Domain>...]\n"
	           "       xl scsi-list --xml <Domain>\n");
}

int xlp_cmd_list(struct xlp_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"json", 0, 0, 'j'}, {"xml", 0, 0, 'x'}, {"help", 0, 0, 'h'}, {0}};
	uint32_t *ids;
	bool json = false, xml = false;
	int opt, rc, n;

	c->prefix = "scsi-list: ";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+jh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'x':
			xml = true;
			break;
		case 'h':
			list_usage(c->out);
			return 0;
		default:
			list_usage(c->err);
			return 2;
		}
	}
	n = argc - optind;
	/* One <devices> is one domain's: scsi-attach --xml gives it to one domain. */
	if (n < 1 || (xml && (json || n != 1))) {
		list_usage(c->err);
		return 2;
	}
	if (xlp_ctx_connect(c))
		return 1;
	ids = calloc((size_t)n, sizeof(*ids));
	if (!ids)
		return 1;
	for (int i = 0; i < n; i++) {
		if (xlp_domain_find(c, argv[optind + i], &ids[i])) {
			xlp_errf(c, "unknown domain '%s'\n", argv[optind + i]);
			free(ids);
			return 1;
		}
	}
	rc = xml ? xlp_xml_list(c, ids[0]) : xlp_list(c, ids, (size_t)n, json);
	free(ids);
	return rc ? 1 : 0;
}
