/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenevt.c - event channel ops on libxenevtchn (/dev/xen/evtchn).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <xenevtchn.h>

#include "xenevt.h"

struct chan {
	xenevtchn_handle *h;
	evtchn_port_t local;
};

static int real_bind(void *ctx, uint16_t domid, uint32_t remote_port, void **out)
{
	struct chan *c = calloc(1, sizeof(*c));
	xenevtchn_port_or_error_t p;
	int fd, fl, rc;

	(void)ctx;
	if (!c)
		return -ENOMEM;
	c->h = xenevtchn_open(NULL, 0);
	if (!c->h) {
		rc = errno ? -errno : -ENODEV;
		free(c);
		return rc;
	}
	/* The ring may look for work without a kick: pending() must never block. */
	fd = xenevtchn_fd(c->h);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	p = xenevtchn_bind_interdomain(c->h, domid, remote_port);
	if (p < 0)
		goto fail;
	c->local = (evtchn_port_t)p;
	*out = c;
	return 0;
fail:
	rc = errno ? -errno : -EIO;
	xenevtchn_close(c->h);
	free(c);
	return rc;
}

static void real_unbind(void *ctx, void *chan)
{
	struct chan *c = chan;

	(void)ctx;
	xenevtchn_unbind(c->h, c->local);
	xenevtchn_close(c->h);
	free(c);
}

static int real_fd(void *ctx, void *chan)
{
	(void)ctx;
	return xenevtchn_fd(((struct chan *)chan)->h);
}

static int real_notify(void *ctx, void *chan)
{
	struct chan *c = chan;

	(void)ctx;
	return xenevtchn_notify(c->h, c->local) < 0 ? -errno : 0;
}

static int real_pending(void *ctx, void *chan)
{
	struct chan *c = chan;
	xenevtchn_port_or_error_t p;

	(void)ctx;
	p = xenevtchn_pending(c->h);
	if (p < 0)
		return errno == EAGAIN ? 0 : -errno;
	/* One channel per handle: any other port would be a kernel bug; ignore it. */
	return (evtchn_port_t)p == c->local ? 1 : 0;
}

static int real_unmask(void *ctx, void *chan)
{
	struct chan *c = chan;

	(void)ctx;
	return xenevtchn_unmask(c->h, c->local) < 0 ? -errno : 0;
}

/*
 * /dev/xen/evtchn: a read returns the pending ports, one here, and a write
 * of a port unmasks it; what xenevtchn_pending() and xenevtchn_unmask() do.
 */
static int real_uring(void *ctx, void *chan, struct pvx_evt_uring *u)
{
	struct chan *c = chan;

	(void)ctx;
	u->fd = xenevtchn_fd(c->h);
	u->read_len = sizeof(evtchn_port_t);
	u->unmask_len = sizeof(evtchn_port_t);
	memcpy(u->unmask, &c->local, sizeof(evtchn_port_t));
	return 0;
}

const struct pvx_evt_ops pvx_evt_real_ops = {
    .bind = real_bind,
    .unbind = real_unbind,
    .fd = real_fd,
    .notify = real_notify,
    .pending = real_pending,
    .unmask = real_unmask,
    .uring = real_uring,
};
