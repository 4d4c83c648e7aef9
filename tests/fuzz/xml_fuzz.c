/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xml_fuzz.c - libvirt XML as xl scsi-attach --xml reads it
 * (xl-plugin/xml.c): whatever file an administrator, a script or another
 * tool hands over, through libxml2 and then the element mapping.
 *
 * Input: the document.
 *
 * Checked: the parser answers 0 or -EINVAL/-ENOMEM; on error a
 * NUL-terminated message naming the file ("f.xml:"), one line unless the
 * document wrote a newline into a value through a character reference,
 * and no items; on success at least one item, each with its place,
 * distinct v-devs, a PDEV of the kind its element makes (an adapter form,
 * file:/ or cdrom:) with no comma in it, cache=none only on a file:, and
 * an entry that keeps scsi-attach's rules: it formats to text that parses
 * back to the same entry.
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

static void check_item(const struct xlp_xml_items *l, size_t i)
{
	const struct xlp_entry *e = &l->v[i].e;
	char text[XLP_SPEC_MAX + 128], err[XLP_ERR_MAX];
	struct xlp_entry back;
	bool adapter = !strncmp(e->pdev, "scsi_host", 9) || !strncmp(e->pdev, "pci_", 4) ||
	               !strncmp(e->pdev, "fc_host/wwpn=", 13);

	FZ_CHECK(memchr(l->v[i].where, 0, sizeof(l->v[i].where)) &&
	             !strncmp(l->v[i].where, "f.xml:", 6),
	         "item %zu: place '%.60s'", i, l->v[i].where);
	FZ_CHECK(!strchr(e->pdev, ','), "PDEV '%s' kept a comma", e->pdev);
	FZ_CHECK(e->kind == XLP_HOST
	             ? adapter
	             : !strncmp(e->pdev, "file:/", 6) || !strncmp(e->pdev, "cdrom:", 6),
	         "item %zu: PDEV '%s' of kind %d", i, e->pdev, e->kind);
	FZ_CHECK(e->vdev.channel <= 65535 && e->vdev.target <= 65535 && e->vdev.lun <= 16383,
	         "VDEV %u:%u:%u:%u accepted", e->vdev.host, e->vdev.channel, e->vdev.target,
	         e->vdev.lun);
	FZ_CHECK(!(e->ro && e->feature_host) || e->kind != XLP_HOST, "ro with feature-host");
	/* <driver cache=> maps to none or to nothing: writeback is the default, never spelled. */
	FZ_CHECK(e->cache == XLP_CACHE_UNSET || (e->cache == XLP_CACHE_NONE && e->kind == XLP_FILE),
	         "item %zu: cache %d on '%s'", i, (int)e->cache, e->pdev);
	for (size_t k = 0; k < i; k++)
		FZ_CHECK(!xlp_hctl_eq(&l->v[k].e.vdev, &e->vdev), "items %zu and %zu share a v-dev",
		         k, i);
	if (xlp_entry_format(e, NULL, text, sizeof(text)))
		return; /* too long for the buffer: said so */
	FZ_CHECK(xlp_entry_parse(text, &back, err, sizeof(err)) == 0,
	         "'%s' does not parse back: %s", text, err);
	FZ_CHECK(same(e, &back), "'%s' parses back to another entry", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlp_xml_items l;
	char err[XLP_ERR_MAX];
	int rc;

	memset(err, 0x5a, sizeof(err));
	rc = xlp_xml_parse((const char *)data, size, "f.xml", &l, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "parse: %d", rc);
	FZ_CHECK(memchr(err, 0, sizeof(err)) != NULL, "message not terminated");
	if (rc) {
		FZ_CHECK(!strncmp(err, "f.xml:", 6), "message without the file: '%.80s'", err);
		FZ_CHECK(!strchr(err, '\n') || memchr(data, '&', size),
		         "message of several lines: '%s'", err);
		FZ_CHECK(!l.v && !l.n, "items after an error");
		return 0;
	}
	FZ_CHECK(!err[0], "a message on success: '%s'", err);
	FZ_CHECK(l.n > 0 && l.v, "accepted without items");
	for (size_t i = 0; i < l.n; i++)
		check_item(&l, i);
	xlp_xml_items_free(&l);
	return 0;
}
