/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_evtchn.h - event channels for tests, on eventfds.
 *
 * The fake frontend allocates a port (as xenbus_alloc_evtchn would), the
 * backend binds it through fake_evt_ops.  Front -> back kicks make the
 * backend's fd readable; back -> front notifications are counted.
 */
#ifndef FAKE_EVTCHN_H
#define FAKE_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "xenevt.h"

#define FAKE_EVT_PORTS 64

struct fake_evt;

extern const struct pvx_evt_ops fake_evt_ops; /* ctx: struct fake_evt * */

struct fake_evt *fake_evt_new(void);
/* Closes every eventfd still open. */
void fake_evt_free(struct fake_evt *e);

/* The frontend's side: a port of domain @domid for the backend to bind, or -ENOSPC. */
int fake_evt_alloc_unbound(struct fake_evt *e, uint16_t domid);
/* The frontend closes @port (unless a backend still has it bound). */
void fake_evt_close(struct fake_evt *e, uint32_t port);
/* Kick the backend bound to @port; false if nothing is bound. */
bool fake_evt_kick(struct fake_evt *e, uint32_t port);
/* Notifications the backend sent on @port so far. */
uint64_t fake_evt_notifications(const struct fake_evt *e, uint32_t port);
/*
 * A frontend thread waiting for the backend's notification, as a guest's
 * vCPU halts for its interrupt: fake_evt_seq() before it checks its ring,
 * then fake_evt_wait() with that value, which returns on the next
 * notification of @port, or after @us microseconds.
 */
uint32_t fake_evt_seq(const struct fake_evt *e, uint32_t port);
void fake_evt_wait(struct fake_evt *e, uint32_t port, uint32_t seq, unsigned int us);
/* Whether a backend currently has @port bound. */
bool fake_evt_bound(const struct fake_evt *e, uint32_t port);
/* Make the next bind fail with -@err (0: stop failing). */
void fake_evt_fail_bind(struct fake_evt *e, int err);

#endif
