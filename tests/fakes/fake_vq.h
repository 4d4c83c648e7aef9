/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_vq.h - an in-process virtio driver and vhost-user front-end for the
 * vhost-user unit tests: guest memory in a shared memfd (two regions with a
 * hole between them, as QEMU's RAM below and above a PCI hole), split rings
 * in it, chains built from buffers (direct or indirect), raw descriptor
 * writes for hostile cases, and vhost-user messages over a socketpair.
 * The back-end under test is the real vhost-user/ code.
 */
#ifndef FAKE_VQ_H
#define FAKE_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "vu_dev.h"
#include "vu_mem.h"

#define FV_REGION_SIZE (2u << 20)
#define FV_REGION1_GPA (8u << 20)        /* the second region; [2 MiB, 8 MiB) is a hole */
#define FV_UVA_BIAS    0x7f0000000000ull /* the "front-end's" address of gpa 0 */

struct fv_mem {
	int fd;
	uint8_t *base; /* both regions, back to back as in the fd */
	struct vu_mem_region_desc r[2];
	uint64_t next[2]; /* bump allocators, guest physical */
};

int fv_mem_init(struct fv_mem *m);
void fv_mem_fini(struct fv_mem *m);
/* The guest's pointer to @gpa (NULL outside both regions). */
void *fv_ptr(struct fv_mem *m, uint64_t gpa);
/* Zeroed guest memory in @region (0 or 1), @align a power of 2; returns its gpa. */
uint64_t fv_alloc(struct fv_mem *m, unsigned int region, size_t len, size_t align);
/* A vu_mem over the same memory (vu_mem_wrap), for tests without a socket. */
int fv_mem_wrap(struct fv_mem *m, struct vu_mem **out);

struct fv_vq {
	struct fv_mem *mem;
	unsigned int num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t free_head;
	unsigned int nfree;
	uint16_t chain_len[1024];
	uint64_t ind_gpa[1024]; /* the indirect table of a head, 0 for none */
};

struct fv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Rings of @num entries in region @region. */
void fv_vq_init(struct fv_vq *q, struct fv_mem *m, unsigned int num, unsigned int region);
/* The addresses as SET_VRING_ADDR carries them (front-end virtual). */
uint64_t fv_uva(uint64_t gpa);
/*
 * Make a chain of @n buffers (indirect: one descriptor to a table in
 * guest memory) and publish it; returns the head, or -1 when out of
 * descriptors.
 */
int fv_vq_add(struct fv_vq *q, const struct fv_buf *b, unsigned int n, bool indirect);
/* Publish @head in the avail ring as it is (hostile tests write the descriptors themselves). */
void fv_vq_publish(struct fv_vq *q, uint16_t head);
/* Write descriptor @i of the table at @table (the ring's own when NULL). */
void fv_vq_set_desc(struct fv_vq *q, struct vring_desc *table, unsigned int i, uint64_t addr,
                    uint32_t len, uint16_t flags, uint16_t next);
/* The next used entry: true and its id and len, or false when none; the chain is freed. */
bool fv_vq_get_used(struct fv_vq *q, uint32_t *id, uint32_t *len);

/* ---- the front-end side of a vhost-user connection ---- */

struct fv_front {
	int sock;           /* ours */
	int back;           /* the back-end's end, for vu_dev_new() */
	struct vu_dev *dev; /* set by the test: fv_msg() lets it handle each message */
};

int fv_front_init(struct fv_front *f);
void fv_front_fini(struct fv_front *f);
/* Send one message with optional fds; the back-end handles it (vu_dev_handle's result). */
int fv_send(struct fv_front *f, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
            const int *fds, unsigned int nfds);
/* Receive one reply: payload size, or -errno; *fd gets a passed fd (else -1). */
int fv_recv(struct fv_front *f, struct vu_msg_hdr *hdr, void *payload, size_t max, int *fd);
/* Send a u64 request and read back the u64 reply. */
int fv_get_u64(struct fv_front *f, uint32_t req, uint64_t *out);

struct fv_queue_fds {
	int kick, call; /* eventfds, owned by the test */
};
/*
 * What QEMU does to start the device: features, protocol features, inflight
 * (when @inflight_fd is not NULL: GET_INFLIGHT_FD unless *inflight_fd >= 0,
 * then SET_INFLIGHT_FD with it), memory table, and for each of @nq rings
 * num/base/addr/kick/call/enable.  0 or the first failure.
 */
int fv_start(struct fv_front *f, struct fv_mem *m, struct fv_vq *vqs, unsigned int nq,
             uint64_t features, struct fv_queue_fds *fds, int *inflight_fd);

#endif
