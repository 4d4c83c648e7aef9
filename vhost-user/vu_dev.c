/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu_dev.c - vhost-user back-end protocol (see vu_dev.h).  Message
 * semantics cite QEMU docs/interop/vhost-user.rst by message name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vu_dev.h"
#include "log.h"

struct msg {
	struct vu_msg_hdr hdr;
	union {
		uint64_t u64;
		struct vu_msg_state state;
		struct vu_msg_addr addr;
		struct vu_msg_mem mem;
		struct vu_msg_config config;
		struct vu_msg_inflight inflight;
		uint8_t bytes[VHOST_USER_PAYLOAD_MAX];
	} __attribute__((packed)) p;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
};

static const char *req_name(uint32_t r)
{
	static const char *const names[] = {
	    [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	    [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	    [VHOST_USER_SET_OWNER] = "SET_OWNER",
	    [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	    [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	    [VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	    [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	    [VHOST_USER_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
	    [VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	    [VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	    [VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	    [VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	    [VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

int vu_dev_new(int fd, const struct vu_dev_ops *ops, void *opaque, struct vu_dev **out)
{
	struct vu_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->nq = ops->max_queues;
	/* Big (struct vu_vq carries per-descriptor state): allocated once per connection. */
	d->q = calloc(d->nq, sizeof(*d->q));
	if (!d->q) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < d->nq; i++) {
		d->q[i].kick_fd = -1;
		d->q[i].call_fd = -1;
	}
	d->fd = fd;
	d->ops = ops;
	d->opaque = opaque;
	*out = d;
	return 0;
}

static void set_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void set_kick(struct vu_dev *d, unsigned int i, int fd)
{
	set_fd(&d->q[i].kick_fd, fd);
	if (d->ops->kick_fd)
		d->ops->kick_fd(d->opaque, i, fd);
}

/* Stop queue @i: the device drains it, then nothing of it is used any more. */
static void stop_queue(struct vu_dev *d, unsigned int i)
{
	struct vu_queue *q = &d->q[i];

	if (q->vq.started) {
		if (d->ops->queue_stop)
			d->ops->queue_stop(d->opaque, i);
		/* Drained: everything consumed is on the used ring; a restart goes on from here. */
		q->vq.base = q->vq.last_avail;
	}
	q->vq.started = false;
	q->kicked = false;
	set_kick(d, i, -1);
}

static void unmap_inflight(struct vu_dev *d)
{
	for (unsigned int i = 0; i < d->nq; i++)
		d->q[i].vq.inflight = NULL;
	if (d->inflight)
		munmap(d->inflight, d->inflight_len);
	d->inflight = NULL;
	d->inflight_len = 0;
}

static void reset_queues(struct vu_dev *d)
{
	for (unsigned int i = 0; i < d->nq; i++) {
		stop_queue(d, i);
		set_fd(&d->q[i].call_fd, -1);
		vu_vq_reset(&d->q[i].vq);
		d->q[i].enabled = false;
	}
}

void vu_dev_free(struct vu_dev *d)
{
	if (!d)
		return;
	reset_queues(d);
	unmap_inflight(d);
	vu_mem_put(d->mem);
	if (d->fd >= 0)
		close(d->fd);
	free(d->q);
	free(d);
}

struct vu_queue *vu_dev_queue(struct vu_dev *d, unsigned int q)
{
	if (q >= d->nq || !d->q[q].vq.started || !d->q[q].enabled)
		return NULL;
	return &d->q[q];
}

void vu_dev_call(struct vu_dev *d, unsigned int q)
{
	if (q < d->nq && d->q[q].call_fd >= 0 && eventfd_write(d->q[q].call_fd, 1) < 0)
		plog(LOG_ERR, "queue %u: call: %s", q, strerror(errno));
}

void vu_dev_kick_ack(struct vu_dev *d, unsigned int q)
{
	eventfd_t v;

	if (q < d->nq && d->q[q].kick_fd >= 0)
		(void)eventfd_read(d->q[q].kick_fd, &v);
}

/* ---- message I/O ---- */

static void close_fds(struct msg *m)
{
	for (unsigned int i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/* Take fd @i out of the message (it will not be closed with the rest). */
static int take_fd(struct msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_msg(struct vu_dev *d, struct msg *m)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {&m->hdr, VHOST_USER_HDR_SIZE};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.buf,
	                    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	int rc;

	m->nfds = 0;
	do {
		n = recvmsg(d->fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VHOST_USER_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		close_fds(m);
		plog(LOG_ERR, "vhost-user: too many fds in one message");
		return -EPROTO;
	}
	if ((size_t)n < VHOST_USER_HDR_SIZE) {
		rc = read_full(d->fd, (uint8_t *)&m->hdr + n, VHOST_USER_HDR_SIZE - (size_t)n);
		if (rc) {
			close_fds(m);
			return rc;
		}
	}
	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    m->hdr.size > VHOST_USER_PAYLOAD_MAX) {
		plog(LOG_ERR, "vhost-user: %s: bad header (flags 0x%x size %u)",
		     req_name(m->hdr.request), m->hdr.flags, m->hdr.size);
		close_fds(m);
		return -EPROTO;
	}
	memset(&m->p, 0, sizeof(m->p));
	if (m->hdr.size) {
		rc = read_full(d->fd, &m->p, m->hdr.size);
		if (rc) {
			close_fds(m);
			return rc;
		}
	}
	return 0;
}

static int send_reply(struct vu_dev *d, const struct msg *req, const void *payload, uint32_t size,
                      int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct vu_msg_hdr hdr = {req->hdr.request, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
	                         size};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(d->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}

/* ---- handlers: return 0, or -errno (the message failed; the connection stays) ---- */

static int need_size(const struct msg *m, uint32_t size)
{
	if (m->hdr.size < size) {
		plog(LOG_ERR, "vhost-user: %s: payload of %u bytes, %u needed",
		     req_name(m->hdr.request), m->hdr.size, size);
		return -EINVAL;
	}
	return 0;
}

static int vring_index(struct vu_dev *d, const struct msg *m, uint32_t index)
{
	if (index >= d->nq) {
		plog(LOG_ERR, "vhost-user: %s: vring index %u out of range (%u queues)",
		     req_name(m->hdr.request), index, d->nq);
		return -EINVAL;
	}
	return 0;
}

static uint64_t offered(const struct vu_dev *d)
{
	return d->ops->features | 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
}

static void propagate_features(struct vu_dev *d)
{
	for (unsigned int i = 0; i < d->nq; i++) {
		d->q[i].vq.indirect = vu_dev_has_feature(d, VIRTIO_RING_F_INDIRECT_DESC);
		d->q[i].vq.event_idx = vu_dev_has_feature(d, VIRTIO_RING_F_EVENT_IDX);
		/* vhost-user.rst "Ring states": without protocol features rings start enabled. */
		if (!vu_dev_has_feature(d, VHOST_USER_F_PROTOCOL_FEATURES))
			d->q[i].enabled = true;
	}
}

static int set_features(struct vu_dev *d, const struct msg *m)
{
	int rc = need_size(m, 8);

	if (rc)
		return rc;
	/*
	 * Transport bits QEMU adds on its own (e.g. VIRTIO_F_RING_RESET, not
	 * in vhost-user-scsi's feature list) were never offered: nothing here
	 * acts on them, so they are dropped rather than failing the device.
	 */
	if (m->p.u64 & ~offered(d))
		plog(LOG_INFO, "vhost-user: SET_FEATURES: ignoring bits 0x%llx not offered",
		     (unsigned long long)(m->p.u64 & ~offered(d)));
	d->features = m->p.u64 & offered(d);
	propagate_features(d);
	return 0;
}

static void try_start(struct vu_dev *d, unsigned int i)
{
	struct vu_queue *q = &d->q[i];

	if (!q->kicked || !q->enabled || q->vq.started)
		return;
	if (!d->mem) {
		plog(LOG_ERR, "vhost-user: queue %u: started without a memory table", i);
		return;
	}
	if (q->vq.inflight && q->vq.num > d->inflight_qsz) {
		plog(LOG_ERR,
		     "vhost-user: queue %u: size %u over the inflight region's %u: "
		     "not tracked",
		     i, q->vq.num, d->inflight_qsz);
		q->vq.inflight = NULL;
	}
	if (vu_vq_start(&q->vq, d->mem)) {
		plog(LOG_ERR, "vhost-user: queue %u: cannot start: %s", i, q->vq.err);
		return;
	}
	if (q->vq.nresubmit)
		plog(LOG_INFO, "vhost-user: queue %u: resubmitting %u requests in flight", i,
		     q->vq.nresubmit);
	if (d->ops->queue_start)
		d->ops->queue_start(d->opaque, i);
}

static int set_mem_table(struct vu_dev *d, struct msg *m)
{
	struct vu_mem_region_desc r[VU_MEM_MAX_REGIONS];
	struct vu_mem *mem;
	char err[512];
	uint32_t n;
	int rc = need_size(m, 8);

	if (rc)
		return rc;
	n = m->p.mem.nregions;
	if (n == 0 || n > VU_MEM_MAX_REGIONS || m->hdr.size < 8 + n * sizeof(r[0]) ||
	    m->nfds != n) {
		plog(LOG_ERR, "vhost-user: SET_MEM_TABLE: %u regions, %u bytes, %u fds", n,
		     m->hdr.size, m->nfds);
		return -EINVAL;
	}
	memcpy(r, (const uint8_t *)&m->p.mem + 8, n * sizeof(r[0]));
	rc = vu_mem_map(r, m->fds, n, &mem, err, sizeof(err));
	if (rc) {
		plog(LOG_ERR, "vhost-user: SET_MEM_TABLE: %s", err);
		return rc;
	}
	/* Requests in flight keep their reference to the old table until they complete. */
	vu_mem_put(d->mem);
	d->mem = mem;
	for (unsigned int i = 0; i < d->nq; i++) {
		struct vu_vq *vq = &d->q[i].vq;

		if (vq->started && vu_vq_map(vq, mem)) {
			plog(LOG_ERR, "vhost-user: queue %u: %s after SET_MEM_TABLE: stopped", i,
			     vq->err);
			vq->broken = true;
		}
	}
	for (unsigned int i = 0; i < d->nq; i++)
		try_start(d, i);
	plog(LOG_DEBUG, "vhost-user: memory table of %u regions", n);
	return 0;
}

static int set_vring_num(struct vu_dev *d, const struct msg *m)
{
	int rc = need_size(m, sizeof(struct vu_msg_state));

	if (rc || (rc = vring_index(d, m, m->p.state.index)))
		return rc;
	if (d->q[m->p.state.index].vq.started) {
		plog(LOG_ERR, "vhost-user: SET_VRING_NUM on running queue %u", m->p.state.index);
		return -EBUSY;
	}
	if (m->p.state.num == 0 || m->p.state.num > VU_VQ_MAX_SIZE ||
	    (m->p.state.num & (m->p.state.num - 1))) {
		plog(LOG_ERR, "vhost-user: SET_VRING_NUM %u: not a power of 2 in 1..%u",
		     m->p.state.num, VU_VQ_MAX_SIZE);
		return -EINVAL;
	}
	d->q[m->p.state.index].vq.num = m->p.state.num;
	return 0;
}

static int set_vring_addr(struct vu_dev *d, const struct msg *m)
{
	struct vu_vq *vq;
	int rc = need_size(m, sizeof(struct vu_msg_addr));

	if (rc || (rc = vring_index(d, m, m->p.addr.index)))
		return rc;
	vq = &d->q[m->p.addr.index].vq;
	if (vq->started) {
		plog(LOG_ERR, "vhost-user: SET_VRING_ADDR on running queue %u", m->p.addr.index);
		return -EBUSY;
	}
	vq->desc_uva = m->p.addr.desc;
	vq->avail_uva = m->p.addr.avail;
	vq->used_uva = m->p.addr.used;
	vq->addr_set = true;
	if (d->mem && vq->num && vu_vq_map(vq, d->mem)) {
		plog(LOG_ERR, "vhost-user: SET_VRING_ADDR queue %u: %s", m->p.addr.index, vq->err);
		vq->addr_set = false;
		return -EINVAL;
	}
	return 0;
}

static int set_vring_base(struct vu_dev *d, const struct msg *m)
{
	int rc = need_size(m, sizeof(struct vu_msg_state));

	if (rc || (rc = vring_index(d, m, m->p.state.index)))
		return rc;
	if (m->p.state.num > 0xffff || d->q[m->p.state.index].vq.started) {
		plog(LOG_ERR, "vhost-user: SET_VRING_BASE %u on queue %u refused", m->p.state.num,
		     m->p.state.index);
		return -EINVAL;
	}
	d->q[m->p.state.index].vq.base = (uint16_t)m->p.state.num;
	return 0;
}

/* vhost-user.rst "Ring states": GET_VRING_BASE stops the ring. */
static int get_vring_base(struct vu_dev *d, const struct msg *m)
{
	struct vu_msg_state st = {m->p.state.index, 0};
	struct vu_queue *q;
	int rc = need_size(m, sizeof(struct vu_msg_state));

	if (rc || (rc = vring_index(d, m, m->p.state.index)))
		/* The front-end waits for a reply: never leave it hanging. */
		return send_reply(d, m, &st, sizeof(st), -1) ? -EIO : rc;
	q = &d->q[m->p.state.index];
	stop_queue(d, m->p.state.index);
	st.index = m->p.state.index;
	st.num = q->vq.base;
	set_fd(&q->call_fd, -1);
	return send_reply(d, m, &st, sizeof(st), -1) ? -EIO : 0;
}

static int set_vring_fd(struct vu_dev *d, struct msg *m)
{
	uint32_t index;
	bool nofd;
	int fd = -1, rc = need_size(m, 8);

	if (rc)
		return rc;
	index = (uint32_t)(m->p.u64 & VHOST_USER_VRING_IDX_MASK);
	nofd = m->p.u64 & VHOST_USER_VRING_NOFD_MASK;
	if ((rc = vring_index(d, m, index)))
		return rc;
	if (!nofd) {
		if (m->nfds != 1) {
			plog(LOG_ERR, "vhost-user: %s queue %u: %u fds, 1 expected",
			     req_name(m->hdr.request), index, m->nfds);
			return -EINVAL;
		}
		fd = take_fd(m, 0);
	}
	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		if (nofd) {
			/* Polling mode: not offered by a SCSI back-end, and QEMU never asks. */
			plog(LOG_ERR, "vhost-user: queue %u: kick polling not supported", index);
			return -EINVAL;
		}
		if (d->q[index].vq.started)
			stop_queue(d, index);
		set_kick(d, index, fd);
		d->q[index].kicked = true;
		try_start(d, index);
		break;
	case VHOST_USER_SET_VRING_CALL:
		set_fd(&d->q[index].call_fd, fd);
		/*
		 * Used entries pushed while the front-end still had another fd
		 * in place (QEMU swaps masked and guest notifiers, and sends the
		 * call fds after enabling the rings on reconnect) would never
		 * be signalled: one spurious interrupt is harmless, a lost one
		 * hangs the guest.  libvhost-user does the same.
		 */
		if (fd >= 0 && d->q[index].vq.started)
			(void)eventfd_write(fd, 1);
		break;
	default: /* SET_VRING_ERR: nothing to report through it */
		if (fd >= 0)
			close(fd);
		break;
	}
	return 0;
}

static int set_vring_enable(struct vu_dev *d, const struct msg *m)
{
	struct vu_queue *q;
	int rc = need_size(m, sizeof(struct vu_msg_state));

	if (rc || (rc = vring_index(d, m, m->p.state.index)))
		return rc;
	if (m->p.state.num > 1)
		return -EINVAL;
	q = &d->q[m->p.state.index];
	q->enabled = m->p.state.num;
	if (q->enabled) {
		if (!q->vq.started)
			try_start(d, m->p.state.index);
		else if (d->ops->queue_start)
			d->ops->queue_start(d->opaque, m->p.state.index);
	}
	return 0;
}

static int get_config(struct vu_dev *d, const struct msg *m)
{
	struct vu_msg_config c;
	int rc = need_size(m, VHOST_USER_CONFIG_HDR_SIZE);

	if (!rc &&
	    (m->p.config.size > VHOST_USER_CONFIG_MAX ||
	     m->hdr.size < VHOST_USER_CONFIG_HDR_SIZE + m->p.config.size || !d->ops->get_config))
		rc = -EINVAL;
	if (!rc) {
		c.offset = m->p.config.offset;
		c.size = m->p.config.size;
		c.flags = m->p.config.flags;
		memset(c.region, 0, sizeof(c.region));
		rc = d->ops->get_config(d->opaque, c.region, c.offset, c.size);
	}
	if (rc) {
		/* vhost-user.rst GET_CONFIG: a payload of zero length is the error. */
		plog(LOG_ERR, "vhost-user: GET_CONFIG offset %u size %u refused",
		     m->p.config.offset, m->p.config.size);
		return send_reply(d, m, NULL, 0, -1) ? -EIO : 0;
	}
	return send_reply(d, m, &c, VHOST_USER_CONFIG_HDR_SIZE + c.size, -1) ? -EIO : 0;
}

static int set_config(struct vu_dev *d, const struct msg *m)
{
	int rc = need_size(m, VHOST_USER_CONFIG_HDR_SIZE);

	if (rc)
		return rc;
	if (m->p.config.size > VHOST_USER_CONFIG_MAX ||
	    m->hdr.size < VHOST_USER_CONFIG_HDR_SIZE + m->p.config.size || !d->ops->set_config)
		return -EINVAL;
	return d->ops->set_config(d->opaque, m->p.config.region, m->p.config.offset,
	                          m->p.config.size, m->p.config.flags);
}

static int get_inflight_fd(struct vu_dev *d, const struct msg *m)
{
	struct vu_msg_inflight r = {0};
	size_t len;
	int fd;

	if (m->hdr.size < sizeof(struct vu_msg_inflight) || m->p.inflight.num_queues == 0 ||
	    m->p.inflight.num_queues > d->nq || m->p.inflight.queue_size == 0 ||
	    m->p.inflight.queue_size > VU_VQ_MAX_SIZE) {
		plog(LOG_ERR, "vhost-user: GET_INFLIGHT_FD for %u queues of %u refused",
		     m->p.inflight.num_queues, m->p.inflight.queue_size);
		/* QEMU takes an mmap_size of 0 as "no inflight tracking" and goes on. */
		return send_reply(d, m, &r, sizeof(r), -1) ? -EIO : -EINVAL;
	}
	len = m->p.inflight.num_queues * vu_inflight_queue_size(m->p.inflight.queue_size);
	fd = memfd_create("pvscsi-vhost-inflight", MFD_CLOEXEC);
	/* A new memfd reads as zeroes: every queue region starts at version 0. */
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		plog(LOG_ERR, "vhost-user: GET_INFLIGHT_FD: memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return send_reply(d, m, &r, sizeof(r), -1) ? -EIO : -ENOMEM;
	}
	r.mmap_size = len;
	r.mmap_offset = 0;
	r.num_queues = m->p.inflight.num_queues;
	r.queue_size = m->p.inflight.queue_size;
	/* The front-end keeps the fd and hands it back (SET_INFLIGHT_FD), after a restart too. */
	if (send_reply(d, m, &r, sizeof(r), fd)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int set_inflight_fd(struct vu_dev *d, struct msg *m)
{
	struct vu_msg_inflight in;
	char err[400];
	size_t qsz;
	void *p;
	int rc = need_size(m, sizeof(struct vu_msg_inflight));

	if (rc)
		return rc;
	memcpy(&in, &m->p.inflight, sizeof(in));
	if (m->nfds != 1 || in.num_queues == 0 || in.num_queues > d->nq || in.queue_size == 0 ||
	    in.queue_size > VU_VQ_MAX_SIZE)
		goto bad;
	qsz = vu_inflight_queue_size(in.queue_size);
	if (in.mmap_size < in.num_queues * qsz || in.mmap_size > SIZE_MAX || in.mmap_offset % 4096)
		goto bad;
	for (unsigned int i = 0; i < d->nq; i++)
		if (d->q[i].vq.started)
			goto bad;
	/* recover_inflight() reads the whole area as soon as a ring starts. */
	rc = vu_mem_fd_check(m->fds[0], in.mmap_offset, in.mmap_size, err, sizeof(err));
	if (rc) {
		plog(LOG_ERR, "vhost-user: SET_INFLIGHT_FD (%u queues of %u): %s", in.num_queues,
		     in.queue_size, err);
		return rc;
	}
	p = mmap(NULL, (size_t)in.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0],
	         (off_t)in.mmap_offset);
	if (p == MAP_FAILED) {
		rc = -errno;
		plog(LOG_ERR, "vhost-user: SET_INFLIGHT_FD: mmap: %s", strerror(errno));
		return rc;
	}
	unmap_inflight(d);
	d->inflight = p;
	d->inflight_len = (size_t)in.mmap_size;
	d->inflight_nq = in.num_queues;
	d->inflight_qsz = in.queue_size;
	for (unsigned int i = 0; i < in.num_queues; i++)
		d->q[i].vq.inflight = (struct vu_inflight_queue *)((uint8_t *)p + i * qsz);
	return 0;
bad:
	plog(LOG_ERR,
	     "vhost-user: SET_INFLIGHT_FD (%u fds, size %llu offset %llu, %u queues of %u)"
	     " refused",
	     m->nfds, (unsigned long long)in.mmap_size, (unsigned long long)in.mmap_offset,
	     in.num_queues, in.queue_size);
	return -EINVAL;
}

/* Handlers that send their own reply. */
static bool replies(uint32_t req)
{
	return req == VHOST_USER_GET_FEATURES || req == VHOST_USER_GET_PROTOCOL_FEATURES ||
	       req == VHOST_USER_GET_VRING_BASE || req == VHOST_USER_GET_QUEUE_NUM ||
	       req == VHOST_USER_GET_CONFIG || req == VHOST_USER_GET_INFLIGHT_FD;
}

static int dispatch(struct vu_dev *d, struct msg *m)
{
	uint64_t v;

	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		v = offered(d);
		return send_reply(d, m, &v, sizeof(v), -1) ? -EIO : 0;
	case VHOST_USER_SET_FEATURES:
		return set_features(d, m);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		v = VU_PROTOCOL_FEATURES;
		return send_reply(d, m, &v, sizeof(v), -1) ? -EIO : 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (need_size(m, 8))
			return -EINVAL;
		d->protocol_features = m->p.u64 & VU_PROTOCOL_FEATURES;
		return 0;
	case VHOST_USER_SET_OWNER:
		d->owner = true;
		return 0;
	case VHOST_USER_RESET_OWNER: /* deprecated: "disable all rings" */
	case VHOST_USER_RESET_DEVICE:
		reset_queues(d);
		propagate_features(d);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		return set_mem_table(d, m);
	case VHOST_USER_SET_VRING_NUM:
		return set_vring_num(d, m);
	case VHOST_USER_SET_VRING_ADDR:
		return set_vring_addr(d, m);
	case VHOST_USER_SET_VRING_BASE:
		return set_vring_base(d, m);
	case VHOST_USER_GET_VRING_BASE:
		return get_vring_base(d, m);
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return set_vring_fd(d, m);
	case VHOST_USER_GET_QUEUE_NUM:
		v = d->nq;
		return send_reply(d, m, &v, sizeof(v), -1) ? -EIO : 0;
	case VHOST_USER_SET_VRING_ENABLE:
		return set_vring_enable(d, m);
	case VHOST_USER_GET_CONFIG:
		return get_config(d, m);
	case VHOST_USER_SET_CONFIG:
		return set_config(d, m);
	case VHOST_USER_GET_INFLIGHT_FD:
		return get_inflight_fd(d, m);
	case VHOST_USER_SET_INFLIGHT_FD:
		return set_inflight_fd(d, m);
	default:
		/* Logging, slave channel, postcopy, ...: none of it was offered. */
		plog(LOG_ERR, "vhost-user: request %u (%s) not supported", m->hdr.request,
		     req_name(m->hdr.request));
		return -ENOTSUP;
	}
}

int vu_dev_handle(struct vu_dev *d)
{
	struct msg m;
	int rc = recv_msg(d, &m);

	if (rc)
		return rc;
	d->nmsgs++;
	plog(LOG_DEBUG, "vhost-user: %s size %u fds %u", req_name(m.hdr.request), m.hdr.size,
	     m.nfds);
	rc = dispatch(d, &m);
	close_fds(&m);
	if (rc == -EIO)
		return -EIO; /* a reply could not be sent: the connection is gone */
	/* vhost-user.rst REPLY_ACK: 0 success, non-zero failure. */
	if ((m.hdr.flags & VHOST_USER_NEED_REPLY_MASK) && !replies(m.hdr.request) &&
	    (d->protocol_features >> VHOST_USER_PROTOCOL_F_REPLY_ACK & 1)) {
		uint64_t v = rc ? 1 : 0;

		if (send_reply(d, &m, &v, sizeof(v), -1))
			return -EIO;
	}
	return 0;
}
