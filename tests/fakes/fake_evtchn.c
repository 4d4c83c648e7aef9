/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_evtchn.c - eventfd event channels (see fake_evtchn.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_evtchn.h"

struct port {
	bool allocated;
	bool bound;
	bool masked;
	uint16_t domid;
	int fd; /* readable by the backend after a kick */
	uint64_t notifications;
};

struct fake_evt {
	struct port p[FAKE_EVT_PORTS];
	int fail_bind;
};

struct fake_evt *fake_evt_new(void)
{
	struct fake_evt *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	for (unsigned int i = 0; i < FAKE_EVT_PORTS; i++)
		e->p[i].fd = -1;
	return e;
}

void fake_evt_free(struct fake_evt *e)
{
	if (!e)
		return;
	for (unsigned int i = 0; i < FAKE_EVT_PORTS; i++)
		if (e->p[i].fd >= 0)
			close(e->p[i].fd);
	free(e);
}

int fake_evt_alloc_unbound(struct fake_evt *e, uint16_t domid)
{
	/* Port 0 is never valid in Xen. */
	for (unsigned int i = 1; i < FAKE_EVT_PORTS; i++) {
		if (!e->p[i].allocated) {
			e->p[i] = (struct port){.allocated = true, .domid = domid, .fd = -1};
			return (int)i;
		}
	}
	return -ENOSPC;
}

void fake_evt_close(struct fake_evt *e, uint32_t port)
{
	/* A port the backend still has bound stays: its unbind would find it gone. */
	if (port < FAKE_EVT_PORTS && e->p[port].allocated && !e->p[port].bound)
		e->p[port] = (struct port){.fd = -1};
}

bool fake_evt_kick(struct fake_evt *e, uint32_t port)
{
	uint64_t one = 1;

	if (port >= FAKE_EVT_PORTS || !e->p[port].bound)
		return false;
	return write(e->p[port].fd, &one, sizeof(one)) == sizeof(one);
}

uint64_t fake_evt_notifications(const struct fake_evt *e, uint32_t port)
{
	return port < FAKE_EVT_PORTS ? e->p[port].notifications : 0;
}

bool fake_evt_bound(const struct fake_evt *e, uint32_t port)
{
	return port < FAKE_EVT_PORTS && e->p[port].bound;
}

void fake_evt_fail_bind(struct fake_evt *e, int err)
{
	e->fail_bind = err;
}

static int fake_bind(void *ctx, uint16_t domid, uint32_t remote_port, void **chan)
{
	struct fake_evt *e = ctx;
	struct port *p;

	if (e->fail_bind)
		return -e->fail_bind;
	if (remote_port >= FAKE_EVT_PORTS)
		return -EINVAL;
	p = &e->p[remote_port];
	if (!p->allocated || p->bound || p->domid != domid)
		return -EINVAL;
	p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->fd < 0)
		return -errno;
	p->bound = true;
	p->masked = false;
	*chan = p;
	return 0;
}

static void fake_unbind(void *ctx, void *chan)
{
	struct port *p = chan;

	(void)ctx;
	close(p->fd);
	p->fd = -1;
	p->bound = false;
}

static int fake_fd(void *ctx, void *chan)
{
	(void)ctx;
	return ((struct port *)chan)->fd;
}

static int fake_notify(void *ctx, void *chan)
{
	(void)ctx;
	((struct port *)chan)->notifications++;
	return 0;
}

static int fake_pending(void *ctx, void *chan)
{
	struct port *p = chan;
	uint64_t v;

	(void)ctx;
	if (read(p->fd, &v, sizeof(v)) != sizeof(v))
		return errno == EAGAIN ? 0 : -errno;
	p->masked = true;
	return 1;
}

static int fake_unmask(void *ctx, void *chan)
{
	(void)ctx;
	((struct port *)chan)->masked = false;
	return 0;
}

const struct pvx_evt_ops fake_evt_ops = {
    .bind = fake_bind,
    .unbind = fake_unbind,
    .fd = fake_fd,
    .notify = fake_notify,
    .pending = fake_pending,
    .unmask = fake_unmask,
};
