/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_harness.h - a whole pvscsid (backend/daemon.c) over the fakes:
 * the toolstack's and the frontend's xenstore steps that connect a guest's
 * vhost 0, for daemon_ut and ring_bench's daemon mode.  The caller's
 * thread is the daemon's main thread: these call pvsd_daemon_iterate().
 */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <stdint.h>

#include "daemon.h"
#include "fake_evtchn.h"
#include "fake_front.h"
#include "fake_gnt.h"
#include "fake_xs.h"

/* A daemon on the fakes, with SIGTERM through its signalfd. */
void dh_cfg(struct pvsd_daemon_cfg *cfg, struct fake_xs_conn *conn, struct fake_gnt *gnt,
            struct fake_evt *evt);

/* Iterate @d until @path reads @want: 0, or -1 after 200 turns of 20 ms or a loop error. */
int dh_iterate_until(struct pvsd_daemon *d, struct fake_xs *fx, const char *path, const char *want);

struct dh_guest {
	uint32_t domid;
	char be[64], fe[64];
	struct fake_front f;
};

/*
 * The toolstack's nodes for vhost 0 of @g->domid with dev-0 = @pdev at
 * 0:0:0:0, the frontend's ring and states, until dev-0 is Connected; then a
 * TEST UNIT READY takes the power-on unit attention.
 * 0, or -1 naming the step that did not come on stderr.
 */
int dh_guest_up(struct pvsd_daemon *d, struct fake_xs *fx, struct fake_gnt *gnt,
                struct fake_evt *evt, struct dh_guest *g, const char *pdev);

#endif
