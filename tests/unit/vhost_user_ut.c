/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user_ut.c - the vhost-user message layer (vhost-user/vu_dev.c)
 * against the fake front-end: negotiation, replies, REPLY_ACK, config
 * space, vring state, and every malformed message failing alone (or ending
 * the connection when it cannot be framed), with no fd leaked.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_scsi.h>

#include "cu_run.h"
#include "fake_vq.h"
#include "vscsi.h"
#include "log.h"

#define ACK VHOST_USER_NEED_REPLY_MASK

struct env {
	struct fv_mem m;
	struct fv_front f;
	struct pvs_worker *w;
	struct vscsi *vs;
	struct vu_dev *dev;
	struct fv_vq vq[4];
	struct fv_queue_fds fds[4];
};

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void env_init(struct env *t)
{
	struct vscsi_cfg cfg = {0};

	memset(t, 0, sizeof(*t));
	CU_ASSERT_FATAL(fv_mem_init(&t->m) == 0);
	CU_ASSERT_FATAL(pvs_worker_new(16, &t->w) == 0);
	cfg.worker = t->w;
	cfg.num_queues = 2;
	CU_ASSERT_FATAL(vscsi_new(&cfg, &t->vs) == 0);
	CU_ASSERT_FATAL(fv_front_init(&t->f) == 0);
	CU_ASSERT_FATAL(vu_dev_new(t->f.back, vscsi_dev_ops(t->vs), t->vs, &t->dev) == 0);
	vscsi_attach(t->vs, t->dev);
	t->f.dev = t->dev;
	for (int i = 0; i < 4; i++) {
		fv_vq_init(&t->vq[i], &t->m, 32, 0);
		t->fds[i] = (struct fv_queue_fds){-1, -1};
	}
}

static void env_fini(struct env *t)
{
	vu_dev_free(t->dev);
	vscsi_attach(t->vs, NULL);
	vscsi_free(t->vs);
	pvs_worker_free(t->w);
	fv_front_fini(&t->f);
	for (int i = 0; i < 4; i++) {
		if (t->fds[i].kick >= 0)
			close(t->fds[i].kick);
		if (t->fds[i].call >= 0)
			close(t->fds[i].call);
	}
	fv_mem_fini(&t->m);
}

/* Send with NEED_REPLY and return the ack value (or a negative error). */
static int64_t acked(struct env *t, uint32_t req, const void *p, uint32_t size, const int *fds,
                     unsigned int nfds)
{
	struct vu_msg_hdr h;
	uint64_t v;
	int rc = fv_send(&t->f, req, ACK, p, size, fds, nfds);

	if (rc)
		return rc;
	rc = fv_recv(&t->f, &h, &v, sizeof(v), NULL);
	if (rc != sizeof(v))
		return -1000;
	CU_ASSERT_EQUAL(h.request, req);
	CU_ASSERT_EQUAL(h.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	return (int64_t)v;
}

static void negotiate(struct env *t)
{
	uint64_t v = VU_PROTOCOL_FEATURES;

	CU_ASSERT_EQUAL(fv_send(&t->f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &v, 8, NULL, 0), 0);
}

static void test_negotiation(void)
{
	struct env t;
	uint64_t v;

	env_init(&t);
	CU_ASSERT_EQUAL(fv_get_u64(&t.f, VHOST_USER_GET_FEATURES, &v), 0);
	CU_ASSERT_TRUE(v >> VHOST_USER_F_PROTOCOL_FEATURES & 1);
	CU_ASSERT_TRUE(v >> 32 & 1);
	CU_ASSERT_TRUE(v >> VIRTIO_RING_F_INDIRECT_DESC & 1);
	CU_ASSERT_TRUE(v >> VIRTIO_RING_F_EVENT_IDX & 1);
	CU_ASSERT_TRUE(v >> VIRTIO_SCSI_F_HOTPLUG & 1);
	CU_ASSERT_TRUE(v >> VIRTIO_SCSI_F_CHANGE & 1);
	CU_ASSERT_FALSE(v >> VIRTIO_SCSI_F_INOUT & 1);
	CU_ASSERT_EQUAL(fv_get_u64(&t.f, VHOST_USER_GET_PROTOCOL_FEATURES, &v), 0);
	CU_ASSERT_EQUAL(v, VU_PROTOCOL_FEATURES);
	CU_ASSERT_TRUE(v >> VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD & 1);
	negotiate(&t);
	CU_ASSERT_EQUAL(fv_get_u64(&t.f, VHOST_USER_GET_QUEUE_NUM, &v), 0);
	CU_ASSERT_EQUAL(v, 4); /* control + event + 2 request queues */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* A bit QEMU adds by itself is dropped, the rest taken. */
	v = 1ull << 32 | 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << 40;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_FEATURES, &v, 8, NULL, 0), 0);
	CU_ASSERT_EQUAL(t.dev->features, 1ull << 32 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	CU_ASSERT_TRUE(t.dev->q[2].vq.event_idx);
	CU_ASSERT_FALSE(t.dev->q[2].vq.indirect);
	env_fini(&t);
}

static void test_config(void)
{
	struct env t;
	struct vu_msg_config c;
	struct virtio_scsi_config sc;
	struct vu_msg_hdr h;
	int rc;

	env_init(&t);
	negotiate(&t);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(sc);
	CU_ASSERT_EQUAL(fv_send(&t.f, VHOST_USER_GET_CONFIG, 0, &c, 12 + c.size, NULL, 0), 0);
	rc = fv_recv(&t.f, &h, &c, sizeof(c), NULL);
	CU_ASSERT_EQUAL(rc, 12 + (int)sizeof(sc));
	memcpy(&sc, c.region, sizeof(sc));
	CU_ASSERT_EQUAL(sc.num_queues, 2);
	CU_ASSERT_EQUAL(sc.seg_max, 126);
	CU_ASSERT_EQUAL(sc.sense_size, 96);
	CU_ASSERT_EQUAL(sc.cdb_size, 32);
	CU_ASSERT_EQUAL(sc.event_info_size, 16);
	CU_ASSERT_EQUAL(sc.max_target, 255);
	CU_ASSERT_EQUAL(sc.max_lun, 16383);
	/* Past the end: an empty reply is the error. */
	c.offset = 30;
	c.size = 20;
	CU_ASSERT_EQUAL(fv_send(&t.f, VHOST_USER_GET_CONFIG, 0, &c, 12 + c.size, NULL, 0), 0);
	CU_ASSERT_EQUAL(fv_recv(&t.f, &h, &c, sizeof(c), NULL), 0);
	/* size larger than the payload carries */
	c.offset = 0;
	c.size = 200;
	CU_ASSERT_EQUAL(fv_send(&t.f, VHOST_USER_GET_CONFIG, 0, &c, 12 + 8, NULL, 0), 0);
	CU_ASSERT_EQUAL(fv_recv(&t.f, &h, &c, sizeof(c), NULL), 0);
	/* SET_CONFIG: the same values are fine, another sense_size is not. */
	c.offset = 20;
	c.size = 4;
	memcpy(c.region, &sc.sense_size, 4);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_CONFIG, &c, 16, NULL, 0), 0);
	c.region[0] = 64;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_CONFIG, &c, 16, NULL, 0), 1);
	env_fini(&t);
}

static void test_bad_messages(void)
{
	struct env t;
	struct vu_msg_state st;
	struct vu_msg_mem mt;
	struct vu_msg_inflight in;
	uint64_t v;
	int efd, fds[3];
	unsigned int before;

	env_init(&t);
	negotiate(&t);
	before = open_fds();
	efd = eventfd(0, EFD_CLOEXEC);
	fds[0] = fds[1] = fds[2] = t.m.fd;
	/* Vring index out of range, in each message kind that carries one. */
	st = (struct vu_msg_state){4, 32};
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_BASE, &st, 8, NULL, 0), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_ENABLE, &st, 8, NULL, 0), 1);
	v = 200;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_CALL, &v, 8, &efd, 1), 1);
	/* Ring sizes. */
	st = (struct vu_msg_state){2, 48};
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 1);
	st.num = 2048;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 1);
	st.num = 0;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 1);
	st = (struct vu_msg_state){2, 0x10000};
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_BASE, &st, 8, NULL, 0), 1);
	/* Payload too short. */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_NUM, &st, 4, NULL, 0), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_FEATURES, &v, 2, NULL, 0), 1);
	/* Kick with two fds, with none. */
	v = 2;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_KICK, &v, 8, fds, 2), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_KICK, &v, 8, NULL, 0), 1);
	v = 2 | VHOST_USER_VRING_NOFD_MASK; /* polling */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_KICK, &v, 8, NULL, 0), 1);
	/* Memory tables: fds not matching regions, overlap, too many, wrap, a bad fd. */
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	memcpy(mt.r, t.m.r, sizeof(t.m.r));
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 1), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 3), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, fds, 2), 1);
	mt.r[1].gpa = mt.r[0].gpa + 4096;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	mt.r[1] = t.m.r[1];
	mt.r[1].mmap_offset = 1ull << 40; /* beyond the memfd: mmap succeeds, so refuse... */
	mt.r[1].size = UINT64_MAX - 100;  /* ...by the wrap rule */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	mt.r[1] = t.m.r[1];
	mt.nregions = 9;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	mt.nregions = 2;
	fds[1] = efd; /* not mappable */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	fds[1] = t.m.fd;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 0);
	/* Inflight: too many queues, size too small, no fd. */
	in = (struct vu_msg_inflight){0, 0, 9, 32};
	{
		struct vu_msg_hdr h;
		int got = -1;

		/* Always answered (QEMU waits): mmap_size 0 and no fd mean "none". */
		CU_ASSERT_EQUAL(
		    fv_send(&t.f, VHOST_USER_GET_INFLIGHT_FD, ACK, &in, sizeof(in), NULL, 0), 0);
		CU_ASSERT_EQUAL(fv_recv(&t.f, &h, &in, sizeof(in), &got), (int)sizeof(in));
		CU_ASSERT_EQUAL(in.mmap_size, 0);
		CU_ASSERT_EQUAL(got, -1);
		st = (struct vu_msg_state){7, 0};
		CU_ASSERT_EQUAL(fv_send(&t.f, VHOST_USER_GET_VRING_BASE, 0, &st, 8, NULL, 0), 0);
		CU_ASSERT_EQUAL(fv_recv(&t.f, &h, &st, sizeof(st), NULL), 8);
	}
	in = (struct vu_msg_inflight){64, 0, 4, 32};
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), fds, 1), 1);
	in.mmap_size = 4 * vu_inflight_queue_size(32);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), NULL, 0), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), fds, 1), 0);
	/* Not offered: logging, the slave channel, unknown requests (their fds closed). */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_LOG_BASE, &v, 8, &efd, 1), 1);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_SLAVE_REQ_FD, NULL, 0, &efd, 1), 1);
	CU_ASSERT_EQUAL(acked(&t, 77, NULL, 0, &efd, 1), 1);
	/* Still a working device. */
	CU_ASSERT_EQUAL(fv_get_u64(&t.f, VHOST_USER_GET_FEATURES, &v), 0);
	close(efd);
	vu_dev_free(t.dev);
	t.dev = NULL;
	vscsi_attach(t.vs, NULL);
	/* Nothing kept: every fd received was closed or taken and released. */
	CU_ASSERT_EQUAL(open_fds(), before - 1); /* the socket's back end went with the device */
	env_fini(&t);
}

static void test_framing(void)
{
	struct env t;
	struct vu_msg_hdr h = {VHOST_USER_GET_FEATURES, 0x2, 0}; /* version 2 */

	env_init(&t);
	CU_ASSERT_EQUAL(write(t.f.sock, &h, sizeof(h)), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(vu_dev_handle(t.dev), -EPROTO);
	h.flags = VHOST_USER_VERSION;
	h.size = 100000; /* larger than any message */
	CU_ASSERT_EQUAL(write(t.f.sock, &h, sizeof(h)), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(vu_dev_handle(t.dev), -EPROTO);
	/* A header, then the front-end goes away before the payload. */
	h.size = 8;
	h.request = VHOST_USER_SET_FEATURES;
	CU_ASSERT_EQUAL(write(t.f.sock, &h, sizeof(h)), (ssize_t)sizeof(h));
	fv_front_fini(&t.f);
	CU_ASSERT_EQUAL(vu_dev_handle(t.dev), -ECONNRESET);
	CU_ASSERT_EQUAL(vu_dev_handle(t.dev), -ECONNRESET);
	env_fini(&t);
}

static void test_vring_lifecycle(void)
{
	struct env t;
	struct vu_msg_state st = {2, 0};
	struct vu_msg_hdr h;
	struct fv_buf b;
	uint32_t id, len;
	int inflight = -1;

	env_init(&t);
	CU_ASSERT_FATAL(fv_start(&t.f, &t.m, t.vq, 4, 1ull << 32, t.fds, &inflight) == 0);
	CU_ASSERT_PTR_NOT_NULL(vu_dev_queue(t.dev, 2));
	CU_ASSERT_PTR_NOT_NULL(t.dev->q[2].vq.inflight);
	/* A chain too short for virtio-scsi is consumed and returned. */
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], &b, 1, false) >= 0);
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], &b, 1, false) >= 0);
	vscsi_kick(t.vs, 2);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	/* GET_VRING_BASE stops the ring and says where it stopped. */
	CU_ASSERT_EQUAL(fv_send(&t.f, VHOST_USER_GET_VRING_BASE, 0, &st, 8, NULL, 0), 0);
	CU_ASSERT_EQUAL(fv_recv(&t.f, &h, &st, sizeof(st), NULL), 8);
	CU_ASSERT_EQUAL(st.index, 2);
	CU_ASSERT_EQUAL(st.num, 2);
	CU_ASSERT_PTR_NULL(vu_dev_queue(t.dev, 2));
	/* Stopped: nothing is consumed. */
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], &b, 1, false) >= 0);
	vscsi_kick(t.vs, 2);
	CU_ASSERT_FALSE(fv_vq_get_used(&t.vq[2], &id, &len));
	/* Disabled queue: not processed until enabled. */
	st = (struct vu_msg_state){3, 0};
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	CU_ASSERT_PTR_NULL(vu_dev_queue(t.dev, 3));
	/* RESET_DEVICE: every ring stopped. */
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	CU_ASSERT_PTR_NULL(vu_dev_queue(t.dev, 0));
	close(inflight);
	env_fini(&t);
}

/* The error lines the device logged, for tests that check what it said. */
struct log_cap {
	char lines[2048];
};

static void log_cap_fn(void *arg, int prio, const char *line)
{
	struct log_cap *c = arg;
	size_t n = strlen(c->lines);

	(void)prio;
	snprintf(c->lines + n, sizeof(c->lines) - n, "%s\n", line);
}

static void log_cap_start(struct log_cap *c)
{
	c->lines[0] = 0;
	plog_set_hook(log_cap_fn, c);
	plog_level(LOG_ERR);
}

static void log_cap_stop(void)
{
	plog_set_hook(NULL, NULL);
	plog_level(-1);
}

/*
 * A region or inflight area that runs past the end of its file would be
 * mapped (mmap does not look at the file's size) and the first access to
 * it would kill the back-end with SIGBUS: it is refused, the message
 * fails alone, and the device still starts on a good table afterwards.
 */
static void test_fd_too_short(void)
{
	struct env t;
	struct vu_msg_mem mt;
	struct vu_msg_inflight in;
	struct log_cap cap;
	struct fv_buf b;
	uint32_t id, len;
	int fds[2], sp[2], pp[2], shortfd, inflight = -1;

	env_init(&t);
	negotiate(&t);
	shortfd = memfd_create("short-guest", MFD_CLOEXEC);
	CU_ASSERT_FATAL(shortfd >= 0 && ftruncate(shortfd, FV_REGION_SIZE / 2) == 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CU_ASSERT_FATAL(pipe2(pp, O_CLOEXEC) == 0);
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	memcpy(mt.r, t.m.r, sizeof(t.m.r));
	mt.r[1].mmap_offset = 0; /* starts inside the 1 MiB file, ends 1 MiB past it */
	fds[0] = t.m.fd;
	fds[1] = shortfd;
	log_cap_start(&cap);
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	CU_ASSERT_PTR_NULL(t.dev->mem);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "SET_MEM_TABLE: region 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "1048576 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "0x200000"));
	/* Starting past the end altogether. */
	mt.r[1].mmap_offset = FV_REGION_SIZE;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	/* A socket or a pipe has no size to check and nothing to map. */
	cap.lines[0] = 0;
	fds[1] = sp[0];
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "socket"));
	fds[1] = pp[0];
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, fds, 2), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "pipe"));
	CU_ASSERT_PTR_NULL(t.dev->mem);

	/* Inflight: the area needs 4 * 576 bytes, the file has 1024. */
	CU_ASSERT_FATAL(ftruncate(shortfd, 1024) == 0);
	in = (struct vu_msg_inflight){4 * vu_inflight_queue_size(32), 0, 4, 32};
	cap.lines[0] = 0;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &shortfd, 1), 1);
	CU_ASSERT_PTR_NULL(t.dev->inflight);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "SET_INFLIGHT_FD"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.lines, "1024 bytes"));
	/* Big enough, but the offset puts the area past the end. */
	CU_ASSERT_FATAL(ftruncate(shortfd, 4096) == 0);
	in.mmap_offset = 4096;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &shortfd, 1), 1);
	in.mmap_offset = 0;
	CU_ASSERT_EQUAL(acked(&t, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &sp[0], 1), 1);
	CU_ASSERT_PTR_NULL(t.dev->inflight);
	log_cap_stop();

	/* Still serving: QEMU's whole start sequence, then a ring consumes a chain. */
	CU_ASSERT_FATAL(fv_start(&t.f, &t.m, t.vq, 4, 1ull << 32, t.fds, &inflight) == 0);
	CU_ASSERT_PTR_NOT_NULL(t.dev->mem);
	CU_ASSERT_PTR_NOT_NULL(t.dev->q[2].vq.inflight);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vu_dev_queue(t.dev, 2));
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.vq[2], &b, 1, false) >= 0);
	vscsi_kick(t.vs, 2);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.vq[2], &id, &len));
	close(inflight);
	close(shortfd);
	close(sp[0]);
	close(sp[1]);
	close(pp[0]);
	close(pp[1]);
	env_fini(&t);
}

static const struct cu_test tests[] = {
    {"feature negotiation", test_negotiation},
    {"config space", test_config},
    {"bad messages fail alone, no fd leaks", test_bad_messages},
    {"framing errors end the connection", test_framing},
    {"vring start, stop, enable, reset", test_vring_lifecycle},
    {"memory region or inflight area past the end of its fd", test_fd_too_short},
};

int main(void)
{
	/* No sink: what the tests look at goes to log_cap_start()'s hook only. */
	plog_open(&(const struct plog_cfg){0});
	plog_level(-1);
	return CU_RUN("vhost_user", tests);
}
