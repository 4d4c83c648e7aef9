/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xlcfg_fuzz.c - vscsi= entries of xl domain configs (xl-plugin/cfg.c): a
 * whole domU.cfg read with xl's own parser (libxlutil, as a config carried
 * in a save image is read), one "PDEV,VDEV[,OPTION...]" entry, and
 * scsi-attach's two-argument form.
 *
 * Input: a mode byte, then the config text, or the entry, or the two
 * arguments separated by a NUL.
 *
 * Checked: the functions answer 0 or a negative errno, and on error a
 * message (NUL-terminated, within its buffer; one line, except what xl's
 * parser says about a config it cannot read); an accepted entry
 * keeps to the rules cfg.c states (VDEV channel and target within 16 bits,
 * LUN within 14, bs 0/512/4096 and only for file:/mem:, cache= only for
 * file:, ro and feature-host not together, feature-host only for host
 * LUNs, file: with an absolute path, mem: with a size), and formats to text
 * that parses
 * back to the same entry; every item of an accepted vscsi= list parses the
 * same on its own.
 */
#include <errno.h>

#include "fz.h"
#include "../../xl-plugin/xlp.h"

static bool same(const struct xlp_entry *a, const struct xlp_entry *b)
{
	return a->kind == b->kind && !strcmp(a->pdev, b->pdev) && xlp_hctl_eq(&a->vdev, &b->vdev) &&
	       a->ro == b->ro && a->feature_host == b->feature_host &&
	       a->shareable == b->shareable && a->bs == b->bs && a->cache == b->cache;
}

/*
 * xl's own parser may report several lines (-EIO); our messages are one
 * line, unless they quote input that holds a newline.
 */
static void check_err(const char *err, size_t len, int rc, bool nl_in_input)
{
	FZ_CHECK(memchr(err, 0, len) != NULL, "message not terminated");
	if (rc)
		FZ_CHECK(err[0] && (rc == -EIO || nl_in_input || !strchr(err, '\n')),
		         "error %d without a one-line message: '%s'", rc, err);
}

static void check_entry(const struct xlp_entry *e)
{
	char text[XLP_SPEC_MAX + 128], err[XLP_ERR_MAX];
	struct xlp_entry back;

	FZ_CHECK(e->vdev.channel <= 65535 && e->vdev.target <= 65535 && e->vdev.lun <= 16383,
	         "VDEV %u:%u:%u:%u accepted", e->vdev.host, e->vdev.channel, e->vdev.target,
	         e->vdev.lun);
	FZ_CHECK(e->bs == 0 || e->bs == 512 || e->bs == 4096, "bs=%u accepted", e->bs);
	FZ_CHECK(e->cache == XLP_CACHE_UNSET ||
	             (e->kind == XLP_FILE &&
	              (e->cache == XLP_CACHE_NONE || e->cache == XLP_CACHE_WRITEBACK)),
	         "cache %d accepted on '%s'", (int)e->cache, e->pdev);
	FZ_CHECK(e->pdev[0] && strlen(e->pdev) < sizeof(e->pdev), "PDEV '%s'", e->pdev);
	FZ_CHECK(!strchr(e->pdev, ','), "PDEV '%s' kept a comma", e->pdev);
	switch (e->kind) {
	case XLP_HOST:
		FZ_CHECK(!e->bs && !(e->ro && e->feature_host), "host LUN '%s': bs %u ro %d fh %d",
		         e->pdev, e->bs, e->ro, e->feature_host);
		break;
	case XLP_FILE:
		FZ_CHECK(!strncmp(e->pdev, "file:/", 6) && !e->feature_host, "file LUN '%s'",
		         e->pdev);
		break;
	case XLP_MEM:
		/* An rbd: LUN is emulated with nothing on this host to resolve: the mem: kind. */
		FZ_CHECK(
		    ((!strncmp(e->pdev, "mem:", 4) && e->pdev[4] >= '0' && e->pdev[4] <= '9') ||
		     !strncmp(e->pdev, "rbd:", 4)) &&
		        !e->feature_host,
		    "mem or rbd LUN '%s'", e->pdev);
		break;
	case XLP_ISCSI:
		FZ_CHECK(!strncmp(e->pdev, "iscsi://", 8) && !e->bs && !(e->ro && e->feature_host),
		         "iscsi LUN '%s': bs %u ro %d fh %d", e->pdev, e->bs, e->ro,
		         e->feature_host);
		break;
	case XLP_CDROM:
		FZ_CHECK(!strncmp(e->pdev, "cdrom:", 6) && (!e->pdev[6] || e->pdev[6] == '/') &&
		             e->ro && !e->bs && !e->feature_host,
		         "cdrom drive '%s': ro %d bs %u fh %d", e->pdev, e->ro, e->bs,
		         e->feature_host);
		break;
	default:
		FZ_CHECK(0, "kind %d", e->kind);
	}
	if (xlp_entry_format(e, NULL, text, sizeof(text)))
		return; /* too long for the buffer: said so */
	FZ_CHECK(xlp_entry_parse(text, &back, err, sizeof(err)) == 0,
	         "'%s' does not parse back: %s", text, err);
	FZ_CHECK(same(e, &back), "'%s' parses back to another entry", text);
}

/* A whole-bus or whole-target entry: its parts in range, and its text parses back to it. */
static void check_group(const char *text, const struct xlp_group *g)
{
	char pdev[XLP_SPEC_MAX + 32], vdev[64], back_text[XLP_SPEC_MAX + 300], err[XLP_ERR_MAX];
	struct xlp_group back;

	FZ_CHECK(g->adapter[0] && !strchr(g->adapter, ':') && !strchr(g->adapter, ','),
	         "group '%s': adapter '%s'", text, g->adapter);
	FZ_CHECK(g->bus <= 65535 && g->target <= 65535 && g->vdev.host <= 65535 &&
	             g->vdev.channel <= 65535 && g->vdev.target <= 65535,
	         "group '%s': a field out of range", text);
	FZ_CHECK(!(g->ro && g->feature_host), "group '%s': ro and feature-host", text);
	xlp_group_str(g, pdev, sizeof(pdev), vdev, sizeof(vdev));
	snprintf(back_text, sizeof(back_text), "%s%s%s", vdev, g->opts[0] ? "," : "", g->opts);
	FZ_CHECK(xlp_group_parse(pdev, back_text, &back, err, sizeof(err)) == 0,
	         "group '%s' does not parse back from '%s,%s': %s", text, pdev, back_text, err);
	FZ_CHECK(back.bus == g->bus && back.any_target == g->any_target &&
	             back.target == g->target && xlp_hctl_eq(&back.vdev, &g->vdev) &&
	             back.ro == g->ro && back.feature_host == g->feature_host &&
	             back.shareable == g->shareable && !strcmp(back.adapter, g->adapter),
	         "group '%s' parses back to another group", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[XLP_ERR_MAX];
	struct fz f;
	uint8_t mode;
	int rc;

	if (size < 1)
		return 0;
	fz_init(&f, data, size);
	mode = fz_u8(&f) % 3;
	memset(err, 0x5a, sizeof(err));
	if (mode == 0) {
		struct xlp_cfg cfg;

		rc = xlp_cfg_read_data((const char *)f.p, f.n, "fuzz.cfg", &cfg, err, sizeof(err));
		FZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL || rc == -ENOMEM, "read: %d", rc);
		/* A quoted string may hold "\n", which xl's parser turns into a newline. */
		check_err(err, sizeof(err), rc,
		          memchr(f.p, '\n', f.n) != NULL || memchr(f.p, '\\', f.n) != NULL);
		if (rc)
			return 0;
		FZ_CHECK(cfg.n == 0 || cfg.has_vscsi, "%zu items without vscsi=", cfg.n);
		for (size_t i = 0; i < cfg.n; i++) {
			struct xlp_entry e;

			FZ_CHECK(cfg.items[i].text, "item %zu without text", i);
			if (cfg.items[i].group) {
				check_group(cfg.items[i].text, cfg.items[i].group);
				continue;
			}
			FZ_CHECK(xlp_entry_parse(cfg.items[i].text, &e, err, sizeof(err)) == 0 &&
			             same(&e, &cfg.items[i].e),
			         "item %zu '%s' parses otherwise on its own", i, cfg.items[i].text);
			check_entry(&cfg.items[i].e);
		}
		xlp_cfg_free(&cfg);
	} else if (mode == 1) {
		char text[XLP_SPEC_MAX + 600];
		struct xlp_entry e;

		fz_str(&f, text, sizeof(text));
		rc = xlp_entry_parse(text, &e, err, sizeof(err));
		FZ_CHECK(rc == 0 || rc == -EINVAL, "parse: %d", rc);
		check_err(err, sizeof(err), rc, strchr(text, '\n') != NULL);
		if (rc == 0)
			check_entry(&e);
	} else {
		char pdev[XLP_SPEC_MAX + 100], vdev[600];
		struct xlp_entry e;

		fz_str(&f, pdev, sizeof(pdev));
		fz_str(&f, vdev, sizeof(vdev));
		rc = xlp_entry_parse2(pdev, vdev, &e, err, sizeof(err));
		FZ_CHECK(rc == 0 || rc == -EINVAL, "parse2: %d", rc);
		check_err(err, sizeof(err), rc, strchr(pdev, '\n') || strchr(vdev, '\n'));
		if (rc == 0)
			check_entry(&e);
	}
	return 0;
}
