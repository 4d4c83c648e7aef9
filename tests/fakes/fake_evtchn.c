/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_evtchn.c - eventfd event channels (see fake_evtchn.h).
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fake_evtchn.h"

struct port {
	bool allocated;
	bool bound;
	bool masked;
	uint16_t domid;
	int fd;           /* readable by the backend after a kick */
	uint32_t seq;     /* the notifications so far, also a frontend thread's futex word */
	uint32_t waiting; /* such a thread sleeps: only then a notification costs a futex wake */
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
	return fake_evt_seq(e, port);
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
	struct port *p = chan;

	(void)ctx;
	__atomic_add_fetch(&p->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->waiting, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &p->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return 0;
}

uint32_t fake_evt_seq(const struct fake_evt *e, uint32_t port)
{
	return port < FAKE_EVT_PORTS ? __atomic_load_n(&e->p[port].seq, __ATOMIC_ACQUIRE) : 0;
}

void fake_evt_wait(struct fake_evt *e, uint32_t port, uint32_t seq, unsigned int us)
{
	struct timespec ts = {0, (long)us * 1000};

	if (port >= FAKE_EVT_PORTS)
		return;
	__atomic_store_n(&e->p[port].waiting, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &e->p[port].seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
	__atomic_store_n(&e->p[port].waiting, 0, __ATOMIC_SEQ_CST);
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

/* An eventfd: one read of its counter takes every kick; nothing to unmask. */
static int fake_uring(void *ctx, void *chan, struct pvx_evt_uring *u)
{
	(void)ctx;
	u->fd = ((struct port *)chan)->fd;
	u->read_len = sizeof(uint64_t);
	u->unmask_len = 0;
	return 0;
}

const struct pvx_evt_ops fake_evt_ops = {
    .bind = fake_bind,
    .unbind = fake_unbind,
    .fd = fake_fd,
    .notify = fake_notify,
    .pending = fake_pending,
    .unmask = fake_unmask,
    .uring = fake_uring,
};
