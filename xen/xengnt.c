/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xengnt.c - grant-table ops on libxengnttab (/dev/xen/gntdev).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "xengnt.h"

struct pvx_gnt_real {
	xengnttab_handle *h;
};

int pvx_gnt_real_open(struct pvx_gnt_real **out)
{
	struct pvx_gnt_real *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return -ENOMEM;
	g->h = xengnttab_open(NULL, 0);
	if (!g->h) {
		rc = errno ? -errno : -ENODEV;
		free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void pvx_gnt_real_close(struct pvx_gnt_real *g)
{
	if (!g)
		return;
	xengnttab_close(g->h);
	free(g);
}

static void *real_map_ring(void *ctx, uint16_t domid, uint32_t ref)
{
	struct pvx_gnt_real *g = ctx;

	return xengnttab_map_grant_ref(g->h, domid, ref, PROT_READ | PROT_WRITE);
}

static int real_unmap_ring(void *ctx, void *addr)
{
	struct pvx_gnt_real *g = ctx;

	return xengnttab_unmap(g->h, addr, 1) < 0 ? -errno : 0;
}

/*
 * gntdev splits the local side at page boundaries itself (xengnttab.h:
 * "@virt may cross a page boundary"), and the ring never asks it to: its
 * bounce buffers mirror the guest's page offsets.
 */
static int real_copy(void *ctx, pvx_gnt_copy_t *ops, unsigned int n)
{
	struct pvx_gnt_real *g = ctx;

	if (!n)
		return 0;
	return xengnttab_grant_copy(g->h, n, ops) < 0 ? (errno ? -errno : -EIO) : 0;
}

const struct pvx_gnt_ops pvx_gnt_real_ops = {
    .map_ring = real_map_ring,
    .unmap_ring = real_unmap_ring,
    .copy = real_copy,
};
