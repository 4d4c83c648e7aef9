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
 * passes.
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
 * its device type ("disk" for the emulated ones), "-" when unresolved.
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
		*type = pvs_pdt_name(0);
	if (rc)
		return;
	xlp_pdev_base(b->p_dev, base, sizeof(base));
	if (pvs_parse_hctl(base, &given))
		xlp_snprintf(buf, len, "%u:%u:%u:%u%s", h.host, h.channel, h.target, h.lun,
		             strlen(base) < strlen(b->p_dev) ? XLP_PDEV_RO : "");
	if (pdt >= 0)
		*type = pvs_pdt_name((uint8_t)pdt);
}

static void text_domain(struct xlp_ctx *c, uint32_t domid, const struct xlp_vhost *v, size_t nv)
{
	xlp_outf(c, "%-3s %-3s %-5s %-4s %-12s %-12s %-8s %s\n", "Idx", "BE", "state", "ctrl",
	         "phy-hctl", "vir-hctl", "devstate", "type");
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].ndevs; k++) {
			const struct xlp_bdev *b = &v[i].devs[k];
			char phy[XLP_SPEC_MAX];
			const char *type;

			phy_hctl(c, b, phy, sizeof(phy), &type);
			xlp_outf(c, "%-3u %-3u %-5d %-4u %-12s %-12s %-8d %s\n", b->n, c->be_domid,
			         v[i].state, v[i].vhost, phy, b->v_dev[0] ? b->v_dev : "-",
			         b->state, type);
		}
	}
	(void)domid;
}

static void json_kv_str(struct xlp_ctx *c, const char *k, const char *v, bool comma)
{
	xlp_json_put_str(c->out, k);
	fputc(':', c->out);
	xlp_json_put_str(c->out, v);
	if (comma)
		fputc(',', c->out);
}

static void json_domain(struct xlp_ctx *c, uint32_t domid, const struct xlp_vhost *v, size_t nv)
{
	char *name = xlp_domain_name(c, domid);

	xlp_outf(c, "  {\"domid\":%u,", domid);
	json_kv_str(c, "name", name ? name : "", true);
	free(name);
	xlp_outf(c, "\"controllers\":[");
	for (size_t i = 0; i < nv; i++) {
		xlp_outf(c,
		         "%s\n    {\"ctrl\":%u,\"backend\":%u,\"state\":%d,\"frontend-state\":%d,"
		         "\"feature-host\":%s,\"devs\":[",
		         i ? "," : "", v[i].vhost, c->be_domid, v[i].state, v[i].fe_state,
		         v[i].feature_host ? "true" : "false");
		for (size_t k = 0; k < v[i].ndevs; k++) {
			const struct xlp_bdev *b = &v[i].devs[k];
			char phy[XLP_SPEC_MAX];
			const char *type;

			phy_hctl(c, b, phy, sizeof(phy), &type);
			xlp_outf(c, "%s\n      {\"idx\":%u,", k ? "," : "", b->n);
			json_kv_str(c, "p-dev", b->p_dev, true);
			json_kv_str(c, "p-devname", b->p_devname, true);
			json_kv_str(c, "phy-hctl", phy, true);
			json_kv_str(c, "type", type, true);
			json_kv_str(c, "v-dev", b->v_dev, true);
			xlp_outf(c, "\"state\":%d,", b->state);
			json_kv_str(c, "pdev", b->pdev_given, true);
			json_kv_str(c, "options", b->opts, false);
			xlp_outf(c, "}");
		}
		xlp_outf(c, "]}");
	}
	xlp_outf(c, "%s]}", nv ? "\n  " : "");
}

int xlp_list(struct xlp_ctx *c, uint32_t *domids, size_t n, bool json)
{
	int rc = 0;

	if (json)
		xlp_outf(c, "[\n");
	for (size_t i = 0; i < n; i++) {
		struct xlp_vhost *v = NULL;
		size_t nv = 0;
		int r = xlp_vhosts_read(c, domids[i], &v, &nv);

		if (r) {
			xlp_errf(c, "cannot read domain %u: %s\n", domids[i], strerror(-r));
			rc = r;
			continue;
		}
		if (json) {
			json_domain(c, domids[i], v, nv);
			xlp_outf(c, "%s\n", i + 1 < n ? "," : "");
		} else {
			if (n > 1) {
				char *name = xlp_domain_name(c, domids[i]);

				xlp_outf(c, "%s%s (id %u):\n", i ? "\n" : "", name ? name : "?",
				         domids[i]);
				free(name);
			}
			text_domain(c, domids[i], v, nv);
		}
		xlp_vhosts_free(v, nv);
	}
	if (json)
		xlp_outf(c, "]\n");
	return rc;
}

static void list_usage(FILE *f)
{
	fprintf(f, "Usage: xl scsi-list [--json] <Domain> [<Domain>...]\n");
}

int xlp_cmd_list(struct xlp_ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {{"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0}};
	uint32_t *ids;
	bool json = false;
	int opt, rc, n;

	c->prefix = "scsi-list: ";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+jh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
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
	if (n < 1) {
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
	rc = xlp_list(c, ids, (size_t)n, json);
	free(ids);
	return rc ? 1 : 0;
}
