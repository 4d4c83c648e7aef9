/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu_dev.h - the back-end side of the vhost-user protocol (QEMU
 * docs/interop/vhost-user.rst) on one connected unix socket: feature and
 * protocol-feature negotiation, owner, memory table, vring
 * num/addr/base/kick/call/err/enable, queue count, device config, inflight
 * tracking, device reset.  Device-agnostic: the device (vscsi.c) sees
 * queues start and stop through struct vu_dev_ops.
 *
 * Every message is validated before use (hostile-input class 12): known
 * request, payload size, vring index, region table, fds in the ancillary
 * data (every fd received is closed unless it was taken).  A message that
 * cannot be parsed (unknown size, short read) ends the connection; a
 * message with bad contents fails alone (a REPLY_ACK of 1 when asked).
 *
 * Threading: everything on the caller's thread.
 */
#ifndef VU_DEV_H
#define VU_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vq.h"
#include "vu_mem.h"

/* Request ids (vhost-user.rst "Front-end message types"). */
enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SET_SLAVE_REQ_FD = 21,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_MAX_REQUEST = 41,
};

#define VHOST_USER_VERSION             0x1u
#define VHOST_USER_VERSION_MASK        0x3u
#define VHOST_USER_REPLY_MASK          (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK     (1u << 3)
#define VHOST_USER_VRING_IDX_MASK      0xffu
#define VHOST_USER_VRING_NOFD_MASK     (1u << 8)
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_USER_HDR_SIZE            12u
#define VHOST_USER_PAYLOAD_MAX         512u /* the largest message we take (config: 268) */
#define VHOST_USER_MAX_FDS             8u
#define VHOST_USER_CONFIG_HDR_SIZE     12u
#define VHOST_USER_CONFIG_MAX          256u

/* Protocol features (vhost-user.rst "Protocol features"). */
#define VHOST_USER_PROTOCOL_F_MQ             0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK      3
#define VHOST_USER_PROTOCOL_F_CONFIG         9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE   13

/* The protocol features this back-end offers. */
#define VU_PROTOCOL_FEATURES                                                                       \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |          \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) | \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

/* Wire layouts (packed as in QEMU's VhostUserMsg). */
struct vu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_msg_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vu_msg_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc, used, avail, log;
} __attribute__((packed));

struct vu_msg_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region_desc r[VU_MEM_MAX_REGIONS];
} __attribute__((packed));

struct vu_msg_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_CONFIG_MAX];
} __attribute__((packed));

/* Not packed in QEMU either: 24 bytes on the wire, the last 4 padding. */
struct vu_msg_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

struct vu_dev;

struct vu_dev_ops {
	uint64_t features; /* device and ring feature bits offered (PROTOCOL_FEATURES is added) */
	unsigned int max_queues; /* every queue, control and event ones included */
	/* Device config space (GET/SET_CONFIG); returns 0 or -errno. */
	int (*get_config)(void *opaque, uint8_t *buf, uint32_t off, uint32_t len);
	int (*set_config)(void *opaque, const uint8_t *buf, uint32_t off, uint32_t len,
	                  uint32_t flags);
	/* Queue @q started (kick fd set, enabled): consume what is there. */
	void (*queue_start)(void *opaque, unsigned int q);
	/* Queue @q stops: return only when nothing popped from it is in flight. */
	void (*queue_stop)(void *opaque, unsigned int q);
	/* The kick fd of @q is now @fd (-1: none); the event loop watches it. */
	void (*kick_fd)(void *opaque, unsigned int q, int fd);
};

struct vu_queue {
	struct vu_vq vq;
	int kick_fd;
	int call_fd;
	bool enabled;
	bool kicked; /* SET_VRING_KICK seen: the ring is started (vhost-user.rst "Ring states") */
};

struct vu_dev {
	int fd;
	const struct vu_dev_ops *ops;
	void *opaque;
	uint64_t features;
	uint64_t protocol_features;
	bool owner;
	struct vu_mem *mem;
	unsigned int nq;
	struct vu_queue *q;
	/* inflight region (SET_INFLIGHT_FD) */
	void *inflight;
	size_t inflight_len;
	uint16_t inflight_nq;
	uint16_t inflight_qsz;
	uint64_t nmsgs;
};

/*
 * A device on connected socket @fd (taken: closed by vu_dev_free()).
 * 0 or -ENOMEM.
 */
int vu_dev_new(int fd, const struct vu_dev_ops *ops, void *opaque, struct vu_dev **out);
/* Stop every queue (ops->queue_stop drains), unmap, close every fd. */
void vu_dev_free(struct vu_dev *d);

/*
 * Read and handle one message (the socket is readable).  0, or -errno
 * when the connection must be closed (EOF included: -ECONNRESET).
 */
int vu_dev_handle(struct vu_dev *d);

/* The queue, if @q is in range and started and enabled; else NULL. */
struct vu_queue *vu_dev_queue(struct vu_dev *d, unsigned int q);
/* Signal the driver on @q's call fd. */
void vu_dev_call(struct vu_dev *d, unsigned int q);
/* Drain @q's kick eventfd (the event loop saw it readable). */
void vu_dev_kick_ack(struct vu_dev *d, unsigned int q);

static inline bool vu_dev_has_feature(const struct vu_dev *d, unsigned int bit)
{
	return d->features >> bit & 1;
}

#endif
