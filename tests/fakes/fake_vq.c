/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_vq.c - in-process virtio driver and vhost-user front-end (see fake_vq.h).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_vq.h"

int fv_mem_init(struct fv_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = memfd_create("fake-guest", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, 2 * FV_REGION_SIZE) < 0)
		return -errno;
	m->base = mmap(NULL, 2 * FV_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->base == MAP_FAILED)
		return -errno;
	m->r[0] = (struct vu_mem_region_desc){0, FV_REGION_SIZE, FV_UVA_BIAS, 0};
	m->r[1] = (struct vu_mem_region_desc){FV_REGION1_GPA, FV_REGION_SIZE,
	                                      FV_UVA_BIAS + FV_REGION1_GPA, FV_REGION_SIZE};
	/* Keep gpa 0 unused so that 0 can mean "none". */
	m->next[0] = 4096;
	m->next[1] = FV_REGION1_GPA;
	return 0;
}

void fv_mem_fini(struct fv_mem *m)
{
	munmap(m->base, 2 * FV_REGION_SIZE);
	close(m->fd);
}

void *fv_ptr(struct fv_mem *m, uint64_t gpa)
{
	for (unsigned int i = 0; i < 2; i++)
		if (gpa >= m->r[i].gpa && gpa < m->r[i].gpa + m->r[i].size)
			return m->base + m->r[i].mmap_offset + (gpa - m->r[i].gpa);
	return NULL;
}

uint64_t fv_alloc(struct fv_mem *m, unsigned int region, size_t len, size_t align)
{
	uint64_t a = (m->next[region] + align - 1) & ~(uint64_t)(align - 1);

	if (a + len > m->r[region].gpa + m->r[region].size)
		return 0;
	m->next[region] = a + len;
	memset(fv_ptr(m, a), 0, len);
	return a;
}

int fv_mem_wrap(struct fv_mem *m, struct vu_mem **out)
{
	void *host[2] = {m->base, m->base + FV_REGION_SIZE};
	char err[128];

	return vu_mem_wrap(m->r, host, 2, out, err, sizeof(err));
}

uint64_t fv_uva(uint64_t gpa)
{
	return FV_UVA_BIAS + gpa;
}

void fv_vq_init(struct fv_vq *q, struct fv_mem *m, unsigned int num, unsigned int region)
{
	memset(q, 0, sizeof(*q));
	q->mem = m;
	q->num = num;
	q->desc_gpa = fv_alloc(m, region, 16 * num, 16);
	q->avail_gpa = fv_alloc(m, region, 6 + 2 * num, 2);
	q->used_gpa = fv_alloc(m, region, 6 + 8 * num, 4);
	q->desc = fv_ptr(m, q->desc_gpa);
	q->avail = fv_ptr(m, q->avail_gpa);
	q->used = fv_ptr(m, q->used_gpa);
	for (unsigned int i = 0; i < num; i++)
		q->desc[i].next = htole16((uint16_t)(i + 1));
	q->free_head = 0;
	q->nfree = num;
}

void fv_vq_set_desc(struct fv_vq *q, struct vring_desc *table, unsigned int i, uint64_t addr,
                    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &(table ? table : q->desc)[i];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

void fv_vq_publish(struct fv_vq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->num] = htole16(head);
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
}

int fv_vq_add(struct fv_vq *q, const struct fv_buf *b, unsigned int n, bool indirect)
{
	unsigned int need = indirect ? 1 : n;
	uint16_t head = q->free_head, idx = head, last = head;

	if (n == 0 || need > q->nfree)
		return -1;
	if (indirect) {
		uint64_t t = fv_alloc(q->mem, 0, 16 * n, 16);
		struct vring_desc *table = fv_ptr(q->mem, t);

		if (!t)
			return -1;
		for (unsigned int i = 0; i < n; i++)
			fv_vq_set_desc(q, table, i, b[i].gpa, b[i].len,
			               (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
			                          (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			               (uint16_t)(i + 1));
		q->free_head = le16toh(q->desc[head].next);
		fv_vq_set_desc(q, NULL, head, t, 16 * n, VRING_DESC_F_INDIRECT, 0);
		q->ind_gpa[head] = t;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			uint16_t next = le16toh(q->desc[idx].next);

			fv_vq_set_desc(q, NULL, idx, b[i].gpa, b[i].len,
			               (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
			                          (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			               next);
			last = idx;
			idx = next;
		}
		(void)last;
		q->free_head = idx;
		q->ind_gpa[head] = 0;
	}
	q->chain_len[head] = (uint16_t)need;
	q->nfree -= need;
	fv_vq_publish(q, head);
	return head;
}

bool fv_vq_get_used(struct fv_vq *q, uint32_t *id, uint32_t *len)
{
	uint16_t used = le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
	uint16_t head, idx;

	if (used == q->last_used)
		return false;
	*id = le32toh(q->used->ring[q->last_used % q->num].id);
	*len = le32toh(q->used->ring[q->last_used % q->num].len);
	q->last_used++;
	head = (uint16_t)*id;
	if (head < q->num && q->chain_len[head]) {
		/* Give the chain's descriptors back: they are linked through next. */
		idx = head;
		for (unsigned int i = 1; i < q->chain_len[head]; i++)
			idx = le16toh(q->desc[idx].next);
		q->desc[idx].next = htole16(q->free_head);
		q->free_head = head;
		q->nfree += q->chain_len[head];
		q->chain_len[head] = 0;
	}
	return true;
}

/* ---- front-end ---- */

int fv_front_init(struct fv_front *f)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	f->sock = sv[0];
	f->back = sv[1];
	return 0;
}

void fv_front_fini(struct fv_front *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
}

int fv_send(struct fv_front *f, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
            const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct vu_msg_hdr h = {req, VHOST_USER_VERSION | flags, size};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(f->sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return f->dev ? vu_dev_handle(f->dev) : 0;
}

int fv_recv(struct fv_front *f, struct vu_msg_hdr *hdr, void *payload, size_t max, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {hdr, sizeof(*hdr)};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.buf,
	                    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;

	if (fd)
		*fd = -1;
	n = recvmsg(f->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n != sizeof(*hdr))
		return -EPROTO;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int got;

		memcpy(&got, CMSG_DATA(c), sizeof(int));
		if (fd)
			*fd = got;
		else
			close(got);
	}
	if (hdr->size > max)
		return -EMSGSIZE;
	if (hdr->size && recv(f->sock, payload, hdr->size, MSG_DONTWAIT) != (ssize_t)hdr->size)
		return -EPROTO;
	return (int)hdr->size;
}

int fv_get_u64(struct fv_front *f, uint32_t req, uint64_t *out)
{
	struct vu_msg_hdr h;
	int rc = fv_send(f, req, 0, NULL, 0, NULL, 0);

	if (rc)
		return rc;
	rc = fv_recv(f, &h, out, sizeof(*out), NULL);
	if (rc < 0)
		return rc;
	return rc == sizeof(*out) && h.request == req ? 0 : -EPROTO;
}

static int send_state(struct fv_front *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vu_msg_state s = {index, num};

	return fv_send(f, req, 0, &s, sizeof(s), NULL, 0);
}

int fv_start(struct fv_front *f, struct fv_mem *m, struct fv_vq *vqs, unsigned int nq,
             uint64_t features, struct fv_queue_fds *fds, int *inflight_fd)
{
	struct vu_msg_mem mt;
	uint64_t v;
	int rc, mfds[2] = {m->fd, m->fd};

	if ((rc = fv_get_u64(f, VHOST_USER_GET_FEATURES, &v)))
		return rc;
	if ((rc = fv_get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &v)))
		return rc;
	if ((rc = fv_send(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &v, 8, NULL, 0)))
		return rc;
	if ((rc = fv_send(f, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0)))
		return rc;
	if (inflight_fd) {
		struct vu_msg_inflight in = {0, 0, (uint16_t)nq, (uint16_t)vqs[0].num};
		struct vu_msg_hdr h;

		if (*inflight_fd < 0) {
			if ((rc = fv_send(f, VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in), NULL,
			                  0)))
				return rc;
			rc = fv_recv(f, &h, &in, sizeof(in), inflight_fd);
			if (rc != sizeof(in) || *inflight_fd < 0)
				return -EPROTO;
		} else {
			in.mmap_size = nq * vu_inflight_queue_size(vqs[0].num);
		}
		if ((rc = fv_send(f, VHOST_USER_SET_INFLIGHT_FD, 0, &in, sizeof(in), inflight_fd,
		                  1)))
			return rc;
	}
	features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	if ((rc = fv_send(f, VHOST_USER_SET_FEATURES, 0, &features, 8, NULL, 0)))
		return rc;
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	memcpy(mt.r, m->r, sizeof(m->r));
	if ((rc = fv_send(f, VHOST_USER_SET_MEM_TABLE, 0, &mt, 8 + 2 * sizeof(mt.r[0]), mfds, 2)))
		return rc;
	for (unsigned int i = 0; i < nq; i++) {
		struct vu_msg_addr a = {i,
		                        0,
		                        fv_uva(vqs[i].desc_gpa),
		                        fv_uva(vqs[i].used_gpa),
		                        fv_uva(vqs[i].avail_gpa),
		                        0};
		uint64_t k = i;

		if ((rc = send_state(f, VHOST_USER_SET_VRING_NUM, i, vqs[i].num)) ||
		    (rc = send_state(f, VHOST_USER_SET_VRING_BASE, i, vqs[i].avail_idx)) ||
		    (rc = fv_send(f, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0)))
			return rc;
		if (fds[i].kick < 0)
			fds[i].kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i].call < 0)
			fds[i].call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if ((rc = fv_send(f, VHOST_USER_SET_VRING_KICK, 0, &k, 8, &fds[i].kick, 1)) ||
		    (rc = fv_send(f, VHOST_USER_SET_VRING_CALL, 0, &k, 8, &fds[i].call, 1)))
			return rc;
	}
	for (unsigned int i = 0; i < nq; i++)
		if ((rc = send_state(f, VHOST_USER_SET_VRING_ENABLE, i, 1)))
			return rc;
	return 0;
}
