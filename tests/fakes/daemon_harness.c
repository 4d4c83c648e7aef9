/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon_harness.c - a whole pvscsid over the fakes (daemon_harness.h). */
#include <stdio.h>
#include <string.h>

#include "daemon_harness.h"
#include "ring_harness.h"

void dh_cfg(struct pvsd_daemon_cfg *cfg, struct fake_xs_conn *conn, struct fake_gnt *gnt,
            struct fake_evt *evt)
{
	fake_xs_pvsd(conn, &cfg->xs);
	cfg->gnt = &fake_gnt_ops;
	cfg->gnt_ctx = gnt;
	cfg->evt = &fake_evt_ops;
	cfg->evt_ctx = evt;
	cfg->resolver.sysfs_root = "/nonexistent";
	cfg->resolver.dev_root = "/nonexistent";
	cfg->own_domid = -1;
	cfg->signals = true;
}

int dh_iterate_until(struct pvsd_daemon *d, struct fake_xs *fx, const char *path, const char *want)
{
	for (int i = 0; i < 200; i++) {
		const char *v = fake_xs_get(fx, path);

		if (v && strcmp(v, want) == 0)
			return 0;
		if (pvsd_daemon_iterate(d, 20) <= 0)
			return -1;
	}
	return -1;
}

/* @g's @rel under @dir (be or fe) reads @want, the daemon turning meanwhile. */
static int wait_node(struct pvsd_daemon *d, struct fake_xs *fx, const char *dir, const char *rel,
                     const char *want)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (dh_iterate_until(d, fx, path, want) == 0)
		return 0;
	fprintf(stderr, "daemon harness: %s is '%s', not '%s'\n", path,
	        fake_xs_get(fx, path) ? fake_xs_get(fx, path) : "(none)", want);
	return -1;
}

int dh_guest_up(struct pvsd_daemon *d, struct fake_xs *fx, struct fake_gnt *gnt,
                struct fake_evt *evt, struct dh_guest *g, const char *pdev)
{
	char path[160], perm[16];
	int bad = 0;

	snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/vscsi/%u/0", g->domid);
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/vscsi/0", g->domid);
#define W(dom, dir, rel, ...)                                                                      \
	do {                                                                                       \
		snprintf(path, sizeof(path), "%s/%s", dir, rel);                                   \
		bad |= fake_xs_write(fx, dom, path, __VA_ARGS__) != 0;                             \
	} while (0)
	W(0, g->be, "frontend", "%s", g->fe);
	W(0, g->be, "frontend-id", "%u", g->domid);
	W(0, g->be, "online", "1");
	W(0, g->be, "state", "1");
	W(0, g->be, "vscsi-devs/dev-0/p-dev", "%s", pdev);
	W(0, g->be, "vscsi-devs/dev-0/v-dev", "0:0:0:0");
	W(0, g->be, "vscsi-devs/dev-0/state", "1");
	W(0, g->fe, "state", "1");
	snprintf(path, sizeof(path), "/local/domain/0/backend/vscsi/%u", g->domid);
	snprintf(perm, sizeof(perm), "n0 r%u", g->domid);
	bad |= fake_xs_chmod(fx, path, perm, true) != 0;
	snprintf(perm, sizeof(perm), "n%u r0", g->domid);
	bad |= fake_xs_chmod(fx, g->fe, perm, true) != 0;
	if (bad || wait_node(d, fx, g->be, "state", "2"))
		return -1;
	if (fake_front_init(&g->f, gnt, evt, (uint16_t)g->domid) != 0)
		return -1;
	W(g->domid, g->fe, "ring-ref", "%u", g->f.ring_ref);
	W(g->domid, g->fe, "event-channel", "%u", g->f.port);
	W(g->domid, g->fe, "state", "3");
	if (bad || wait_node(d, fx, g->be, "state", "4"))
		return -1;
	W(g->domid, g->fe, "state", "4");
#undef W
	if (bad || wait_node(d, fx, g->be, "vscsi-devs/dev-0/state", "4"))
		return -1;
	/* The power-on unit attention goes to a TEST UNIT READY, not to the caller's I/O. */
	{
		struct fake_front_cmd c;
		struct vscsiif_response rsp;
		int got = 0;

		rh_tur(&c);
		if (fake_front_queue(&g->f, &c) < 0)
			return -1;
		fake_front_push(&g->f);
		for (int i = 0; i < 500 && (got = fake_front_response(&g->f, &rsp)) != 1; i++)
			if (pvsd_daemon_iterate(d, 10) <= 0)
				break;
		if (got != 1) {
			fprintf(stderr, "daemon harness: dom %u: no answer to TEST UNIT READY\n",
			        g->domid);
			return -1;
		}
	}
	return 0;
}
