/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vumsg_fuzz.c - vhost-user messages and the file descriptors they carry
 * (vhost-user/vu_dev.c), with the real virtio-scsi device behind them
 * (vscsi.c, one mem: LUN), over a socketpair as QEMU would send them.
 *
 * Input: a sequence of messages, each a request (one of those the
 * protocol names, or any number), flags (NEED_REPLY, or any bits: a bad
 * version), a payload size (past the 512-byte maximum too) and bytes, and
 * up to three fds (ten now and then: more than a message may carry), each
 * a memfd of the input's size and contents, an eventfd, /dev/null or a
 * pipe; between messages, kicks of any queue.  The last message may be cut
 * short, the socket then closed.
 *
 * Regions past the end of their fd: a memory region (or inflight region)
 * whose mmap_offset + size runs past the end of its fd maps fine and would
 * raise SIGBUS on the first access, so vu_mem_map() and set_inflight_fd()
 * check the fd's size (issue 12, D1).  Offsets and sizes are cut to
 * 16 MiB, except a size too large to map at all, or (memory table) an
 * offset + size that wraps, both of which are refused before anything is
 * mapped; a memfd is then grown to what the message declares for it, or,
 * when the input says so, left shorter, which must be refused.
 *
 * Checked: a message either is handled (0) or ends the connection (an
 * error only for what cannot be framed: bad version, oversized payload,
 * too many fds, EOF); every reply is well framed (REPLY flag, version 1,
 * the request it answers, at most 512 bytes); each request that is
 * answered by protocol (GET_*) gets exactly one reply, every other one
 * exactly one REPLY_ACK when it asked and REPLY_ACK was negotiated, and
 * none otherwise; and when the connection is gone no fd is left open that
 * was not open before (every fd received is closed or kept, and what is
 * kept is closed with the device).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fz.h"
#include "vscsi.h"
#include "vu_dev.h"
#include "log.h"

#define MAX_MSGS  32
#define MAX_SHAPE (16u << 20)
#define HUGE      (1ull << 47) /* no mapping of this many bytes can succeed */

static struct pvs_worker *worker;

static void log_sink(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	(void)line;
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool answers(uint32_t req)
{
	return req == VHOST_USER_GET_FEATURES || req == VHOST_USER_GET_PROTOCOL_FEATURES ||
	       req == VHOST_USER_GET_VRING_BASE || req == VHOST_USER_GET_QUEUE_NUM ||
	       req == VHOST_USER_GET_CONFIG || req == VHOST_USER_GET_INFLIGHT_FD;
}

static uint32_t pick_request(struct fz *f)
{
	static const uint32_t reqs[] = {
	    VHOST_USER_GET_FEATURES,
	    VHOST_USER_SET_FEATURES,
	    VHOST_USER_SET_OWNER,
	    VHOST_USER_RESET_OWNER,
	    VHOST_USER_SET_MEM_TABLE,
	    VHOST_USER_SET_LOG_BASE,
	    VHOST_USER_SET_LOG_FD,
	    VHOST_USER_SET_VRING_NUM,
	    VHOST_USER_SET_VRING_ADDR,
	    VHOST_USER_SET_VRING_BASE,
	    VHOST_USER_GET_VRING_BASE,
	    VHOST_USER_SET_VRING_KICK,
	    VHOST_USER_SET_VRING_CALL,
	    VHOST_USER_SET_VRING_ERR,
	    VHOST_USER_GET_PROTOCOL_FEATURES,
	    VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_USER_GET_QUEUE_NUM,
	    VHOST_USER_SET_VRING_ENABLE,
	    VHOST_USER_SET_SLAVE_REQ_FD,
	    VHOST_USER_GET_CONFIG,
	    VHOST_USER_SET_CONFIG,
	    VHOST_USER_GET_INFLIGHT_FD,
	    VHOST_USER_SET_INFLIGHT_FD,
	    VHOST_USER_RESET_DEVICE,
	};
	uint8_t b = fz_u8(f);

	if (b < 0xf0)
		return reqs[b % (sizeof(reqs) / sizeof(reqs[0]))];
	return fz_u32(f);
}

/*
 * Sizes the fds can back: what SET_MEM_TABLE and SET_INFLIGHT_FD declare
 * is cut to MAX_SHAPE unless it is too large to map at all; need[i] is
 * how large fd i must then be not to be refused (see above).
 */
static void shape(uint32_t req, uint8_t *payload, uint32_t size, uint64_t *need)
{
	if (req == VHOST_USER_SET_MEM_TABLE && size >= 8) {
		struct vu_msg_mem m;
		unsigned int n;

		memset(&m, 0, sizeof(m));
		memcpy(&m, payload, size < sizeof(m) ? size : sizeof(m));
		n = m.nregions < VU_MEM_MAX_REGIONS ? m.nregions : VU_MEM_MAX_REGIONS;
		for (unsigned int i = 0; i < n; i++) {
			struct vu_mem_region_desc *r = &m.r[i];

			/* Refused by vu_mem_map()'s checks, or by mmap() itself. */
			if (r->size >= HUGE || r->mmap_offset + r->size < r->mmap_offset)
				continue;
			r->size %= MAX_SHAPE + 1;
			r->mmap_offset %= MAX_SHAPE;
			need[i] = r->mmap_offset + r->size;
		}
		memcpy(payload, &m, size < sizeof(m) ? size : sizeof(m));
	} else if (req == VHOST_USER_SET_INFLIGHT_FD && size >= sizeof(struct vu_msg_inflight)) {
		struct vu_msg_inflight in;

		memcpy(&in, payload, sizeof(in));
		/* No wrap check there: only a size no mmap() takes stays as it is. */
		if (in.mmap_size < HUGE) {
			in.mmap_size %= MAX_SHAPE + 1;
			in.mmap_offset %= MAX_SHAPE;
			need[0] = in.mmap_offset + in.mmap_size;
		}
		memcpy(payload, &in, sizeof(in));
	}
}

static int make_fd(struct fz *f, uint64_t need)
{
	uint8_t kind = fz_u8(f);
	int fd = -1, p[2];

	switch ((kind & 0x0f) % 5) { /* the high bits are flags */
	case 0:
	case 1: {
		uint64_t size = fz_u32(f) % (MAX_SHAPE + 1);

		fd = memfd_create("vumsg-fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		if (size < need && !(kind & 0x20))
			size = need;
		if (ftruncate(fd, (off_t)size) < 0)
			abort();
		if (size && (kind & 0x10)) {
			/* Contents: rings, descriptors, an inflight region in use. */
			uint8_t buf[512];
			size_t k = fz_bytes(f, buf, size < sizeof(buf) ? size : sizeof(buf));

			if (pwrite(fd, buf, k, (off_t)(fz_u32(f) % size) & ~(off_t)7) < 0)
				abort();
		}
		break;
	}
	case 2:
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		break;
	case 3:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	default:
		if (pipe2(p, O_CLOEXEC) < 0)
			abort();
		close(p[1]);
		fd = p[0];
		break;
	}
	if (fd < 0)
		abort();
	return fd;
}

static void send_msg(int sock, uint32_t req, uint32_t flags, const uint8_t *payload, uint32_t size,
                     uint32_t sent, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(10 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct vu_msg_hdr h = {req, flags, size};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, sent}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = sent ? 2 : 1};

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
	FZ_CHECK(sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + sent), "sendmsg: %s",
	         strerror(errno));
}

/* Every reply waiting on our end; returns how many, each checked. */
static unsigned int replies(int sock, uint32_t req)
{
	unsigned int n = 0;

	for (;;) {
		union {
			char buf[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct vu_msg_hdr h;
		uint8_t payload[VHOST_USER_PAYLOAD_MAX];
		struct iovec iov = {&h, sizeof(h)};
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.buf,
		                    .msg_controllen = sizeof(ctl.buf)};
		ssize_t r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (r < 0 && errno == EAGAIN)
			return n;
		FZ_CHECK(r == sizeof(h), "reply header of %zd bytes", r);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		FZ_CHECK(h.flags == (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK) &&
		             h.request == req && h.size <= VHOST_USER_PAYLOAD_MAX,
		         "reply to %u: request %u flags 0x%x size %u", req, h.request, h.flags,
		         h.size);
		if (h.size)
			FZ_CHECK(recv(sock, payload, h.size, MSG_DONTWAIT) == (ssize_t)h.size,
			         "reply payload short");
		n++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vscsi_cfg cfg = {0};
	struct vscsi *vs = NULL;
	struct vu_dev *dev = NULL;
	char err[256];
	struct fz f;
	unsigned int before;
	int sv[2];

	if (!worker) {
		if (pvs_worker_new(64, &worker))
			abort();
		/* Every line is still formatted, for the sanitizers; none is printed. */
		plog_open(&(const struct plog_cfg){0});
		plog_set_hook(log_sink, NULL);
	}
	before = open_fds();
	fz_init(&f, data, size);
	cfg.worker = worker;
	cfg.initiator = 0x77;
	cfg.num_queues = 1 + fz_u8(&f) % 2;
	FZ_CHECK(vscsi_new(&cfg, &vs) == 0, "vscsi_new");
	FZ_CHECK(vscsi_lun_add(vs, 0, 0, "mem:64K", err, sizeof(err)) == 0, "lun add: %s", err);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	FZ_CHECK(vu_dev_new(sv[1], vscsi_dev_ops(vs), vs, &dev) == 0, "vu_dev_new");
	vscsi_attach(vs, dev);

	for (unsigned int n = 0; n < MAX_MSGS && !fz_empty(&f); n++) {
		uint32_t req = pick_request(&f), flags = VHOST_USER_VERSION, psize, sent;
		uint8_t fl = fz_u8(&f), payload[VHOST_USER_PAYLOAD_MAX + 64];
		uint64_t need[10] = {0};
		unsigned int nfds, got, want;
		bool acks;
		int fds[10], rc;

		if (fl & 1)
			flags |= VHOST_USER_NEED_REPLY_MASK;
		if (fl & 2)
			flags = fz_u32(&f); /* any bits: a bad version, a reply flag */
		if (fl & 4) {
			/* A kick of any queue before the message. */
			unsigned int q = fz_u8(&f) % (VSCSI_REQ_Q0 + VSCSI_MAX_REQ_QUEUES);

			vu_dev_kick_ack(dev, q);
			vscsi_kick(vs, q);
			vscsi_flush(vs);
		}
		psize = fz_u16(&f) % (VHOST_USER_PAYLOAD_MAX + 64);
		fz_bytes(&f, payload, psize);
		shape(req, payload, psize, need);
		nfds = fz_u8(&f);
		nfds = nfds >= 0xf0 ? 4 + nfds % 7 : nfds % 4;
		for (unsigned int i = 0; i < nfds; i++)
			fds[i] = make_fd(&f, need[i]);
		/* The last message may stop short of its declared size, then the socket closes. */
		sent = psize;
		if ((fl & 8) && fz_empty(&f))
			sent = psize / 2;
		if (psize > VHOST_USER_PAYLOAD_MAX)
			sent = psize; /* refused on the header: what follows is never read */
		send_msg(sv[0], req, flags, payload, psize, sent, fds, nfds);
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]); /* the backend has its own copies now */
		if (sent < psize)
			shutdown(sv[0], SHUT_WR);
		rc = vu_dev_handle(dev);
		got = replies(sv[0], req);
		if (rc < 0) {
			/* Only a message that cannot be framed ends the connection. */
			FZ_CHECK(rc == -EPROTO || rc == -ECONNRESET || rc == -EIO,
			         "request %u: connection ended with %d", req, rc);
			FZ_CHECK(got == 0 || answers(req), "request %u: %u replies, then the end",
			         req, got);
			break;
		}
		FZ_CHECK((flags & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION &&
		             psize <= VHOST_USER_PAYLOAD_MAX && nfds <= VHOST_USER_MAX_FDS,
		         "request %u: flags 0x%x, %u bytes, %u fds accepted", req, flags, psize,
		         nfds);
		/* As negotiated once the message is handled (SET_PROTOCOL_FEATURES may enable it).
		 */
		acks = dev->protocol_features >> VHOST_USER_PROTOCOL_F_REPLY_ACK & 1;
		want = answers(req) || (acks && (flags & VHOST_USER_NEED_REPLY_MASK));
		FZ_CHECK(got == want, "request %u flags 0x%x: %u replies, %u expected", req, flags,
		         got, want);
		vscsi_flush(vs);
	}
	vu_dev_free(dev);
	vscsi_attach(vs, NULL);
	vscsi_free(vs);
	close(sv[0]);
	FZ_CHECK(open_fds() == before, "%u fds open, %u before", open_fds(), before);
	return 0;
}
