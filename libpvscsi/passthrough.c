/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrough.c - sg LUNs: a whole host LUN through its /dev/sgN node, with
 * the sg v3 asynchronous interface: a request's sg_io_hdr is written, its
 * answer read: by default both through the worker's deferred io_uring, so
 * that one io_uring_enter per poll round carries every sg command and
 * answer; with PVS_SG_URING=0, or a kernel before 6.1, with write() and
 * read() when the fd polls readable (see "io_uring" below and use_uring()).
 *
 * The device's status, sense and residual reach the initiator unchanged:
 * completion goes through pvsi_req_finish_raw(), never through the sense
 * table.  Only the daemon's own refusals (filter, queue full) are built
 * from reasons.  Without feature-host (lun->raw) an allow-list taken from
 * the opcode table of the device's type (PVSI_OP_PT_ALLOW; the type is
 * read with an INQUIRY when the LUN opens: a disk, a tape drive, an
 * optical drive, a medium changer each have their command set) keeps
 * FORMAT UNIT, WRITE BUFFER, SANITIZE, vendor-specific opcodes and the
 * like away from the device (CVE-2011-4127).  Each refused opcode is
 * logged once per LUN, with the table's reason.
 *
 * A read-only LUN (lun->ro) is enforced here, not by the device: commands
 * the opcode table marks as changing the medium (PVSI_OP_WRITE) or its
 * layout (PVSI_OP_MEDIUM_PARAMS) are refused with DATA PROTECT before they
 * reach it, and MODE SENSE answers (PVSI_OP_MODE_DATA) get the WP bit so
 * that the guest's kernel treats the disk as write-protected.  That needs
 * the filter, so read-only and feature-host (raw) exclude each other.
 *
 * Which command is which comes from the opcode table's flags, never from
 * opcode bytes tested here: raw LUNs look their entry up as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core.h"
#include "emulate_int.h"
#include "passthrough.h"

/* include/linux/major.h */
#define SG_MAJOR 21

/* Host and driver bytes of an sg_io_hdr (include/scsi/scsi_status.h, sg.h). */
enum {
	DID_OK = 0x00,
	DID_NO_CONNECT = 0x01,
	DID_BUS_BUSY = 0x02,
	DID_TIME_OUT = 0x03,
	DID_BAD_TARGET = 0x04,
	DID_ABORT = 0x05,
	DID_RESET = 0x08,
	DID_IMM_RETRY = 0x0c,
	DID_REQUEUE = 0x0d,
	DID_TRANSPORT_DISRUPTED = 0x0e,
};
enum {
	DRIVER_OK = 0x00,
	DRIVER_BUSY = 0x01,
	DRIVER_TIMEOUT = 0x06,
	DRIVER_SENSE = 0x08, /* sense is valid: not an error by itself */
};

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static const struct pvsi_sg_ops real_ops = {
    .open = real_open,
    .fstat = fstat,
    .ioctl = real_ioctl,
    .write = write,
    .read = read,
    .close = close,
    .uring = true,
};

static const struct pvsi_sg_ops *sg_ops = &real_ops;

void pvsi_sg_set_ops(const struct pvsi_sg_ops *ops)
{
	sg_ops = ops ? ops : &real_ops;
}

/*
 * io_uring: a command's sg_io_hdr is written with IORING_OP_WRITE, and
 * answers are taken with IORING_OP_READ, one read in the ring per command
 * in flight: sg hands any finished command to any read on the fd (matched
 * by usr_ptr, as before).  The fd stays O_NONBLOCK: io_uring takes any
 * O_NONBLOCK file as able to try without blocking (Linux 6.1's
 * __io_file_supports_nowait()), so sg_write() runs inline in
 * io_uring_enter() as the plain path's write() would, and a read with no
 * answer ends -EAGAIN inside the kernel, which then waits on sg's poll
 * and tries again from task work.  A read woken with the others for one
 * answer, which another read took, may still end -EAGAIN in its CQE: it
 * is posted again.  The ring is the worker's deferred one
 * (IORING_SETUP_DEFER_TASKRUN): on the main ring that retry can run on the
 * way back from an interrupt, where on kernels built with x32 support
 * (Debian's) in_compat_syscall() is true, and sg then writes the answer in
 * the 32-bit sg_io_hdr layout (docs/performance.md).  Deferred, it runs
 * inside our io_uring_enter(), a 64-bit system call; the fd stays in the
 * worker's epoll set, wake-only, and its readiness is what asks for that
 * call (pvsi_worker_add_wake_fd()).  The headers live in the slots below until their CQEs:
 * no allocation per command.
 */
struct sg_priv;

struct sg_op {
	struct pvsi_worker_op wop; /* first: the CQE comes back as this */
	struct sg_priv *p;
	struct pvs_req *req; /* a header write's command */
	bool busy;           /* in the ring */
	bool cancelling;     /* a read with no command to answer, being cancelled */
	struct sg_io_hdr h;
};

/* A write's CQE may come after its command's answer, and the slot is busy until then. */
#define SG_WRITE_SLOTS (2 * PVSI_SG_MAX_INFLIGHT)

struct sg_priv {
	struct pvsi_pt pt; /* first: the filter's state, shared with iscsi.c */
	const struct pvsi_sg_ops *ops;
	unsigned int inflight; /* written to sg, answer not yet read */
	bool registered;       /* fd in the worker's epoll set */
	bool uring;            /* commands and answers through the worker's io_uring */
	bool uring_proven;     /* a header write succeeded through it */
	bool uring_err_logged; /* an unexpected CQE error was said once */
	struct pvs_lun *lun;   /* NULL once closed with operations still in the ring */
	struct pvs_worker *worker;
	unsigned int pending; /* operations in the ring, and a CQE being handled */
	unsigned int reads;   /* answer reads in the ring */
	unsigned int spare;   /* of them, cancelled (cancel_spare_reads()) */
	struct sg_op wr[SG_WRITE_SLOTS];
	struct sg_op rd[PVSI_SG_MAX_INFLIGHT];
};

static struct sg_priv *priv_of(struct pvs_lun *lun)
{
	return lun->priv;
}

static struct pvsi_pt *pt_of(struct pvs_lun *lun)
{
	return lun->priv;
}

static uint8_t map_host(unsigned int host_status, unsigned int driver_status)
{
	switch (host_status) {
	case DID_OK:
		break;
	case DID_NO_CONNECT:
	case DID_BAD_TARGET:
		return PVS_HOST_NO_CONNECT;
	case DID_BUS_BUSY:
	case DID_IMM_RETRY:
	case DID_REQUEUE:
	case DID_TRANSPORT_DISRUPTED:
		/* the initiator should retry */
		return PVS_HOST_BUS_BUSY;
	case DID_TIME_OUT:
		return PVS_HOST_TIMEOUT;
	case DID_ABORT:
		return PVS_HOST_ABORTED;
	case DID_RESET:
		return PVS_HOST_RESET;
	default:
		return PVS_HOST_ERROR;
	}
	/* The low nibble is the driver byte proper; the high one holds suggestions. */
	switch (driver_status & 0x0f) {
	case DRIVER_OK:
	case DRIVER_SENSE:
		return PVS_HOST_OK;
	case DRIVER_BUSY:
		return PVS_HOST_BUS_BUSY;
	case DRIVER_TIMEOUT:
		return PVS_HOST_TIMEOUT;
	default:
		return PVS_HOST_ERROR;
	}
}

/*
 * SBC-4 6.5.1, SSC-5 8.3: bit 7 of the mode parameter header's
 * device-specific parameter is WP.  Set in what the device returned when
 * the header was transferred, whatever page was asked for.  MMC and SMC
 * define no WP bit there: a read-only CD drive or changer keeps the byte.
 */
static void mark_write_protected(struct pvs_req *req, uint64_t moved)
{
	const struct pvsi_opcode *op = req->core.op;
	unsigned int dc = req->core.lun->dclass;
	size_t off;
	uint8_t b;

	if (!op || !(op->flags & PVSI_OP_MODE_DATA) || (dc != PVSI_DC_SBC && dc != PVSI_DC_SSC))
		return;
	/* SPC-5 7.5.5: byte 2 of the 4-byte header (6-byte CDB), byte 3 of the 8-byte one. */
	off = op->cdb_len == 6 ? 2 : 3;
	if (moved <= off || pvsi_req_copy_out(req, off, &b, 1) != 1)
		return;
	b |= 0x80;
	pvsi_req_copy_in(req, off, &b, 1);
}

/* SPC-5 6.7: the page an INQUIRY with EVPD set asks for; -1 for any other command. */
static int vpd_page(const struct pvs_req *req)
{
	const struct pvsi_opcode *op = req->core.op;

	if (!op || !(op->flags & PVSI_OP_VPD) || req->cdb_len < op->cdb_len ||
	    !(req->cdb[1] & 0x01))
		return -1;
	return req->cdb[2];
}

/* Device types Linux's sd drives, the ones that read the Block Limits page. */
static bool sd_type(uint8_t pdt)
{
	return pdt == 0x00 || pdt == 0x07 || pdt == 0x0e || pdt == 0x14;
}

/*
 * The transport's transfer bound (req->max_xfer_blocks) reaches the guest
 * through the Block Limits page, as for emulated LUNs, and as QEMU's
 * scsi-generic clamps it to its own transport's limit:
 * - page B0h: MAXIMUM TRANSFER LENGTH at most the bound (0, "no limit",
 *   becomes the bound), OPTIMAL TRANSFER LENGTH no larger;
 * - page 00h of a disk that has no B0h: B0h is added to the list, and the
 *   page itself is then answered here (pt_submit) with the bound alone.
 * Only what the device sent whole is changed: a truncated answer is left
 * as it is, since the guest cannot use the field either.
 */
static void vpd_fixup(struct pvs_req *req, uint64_t moved)
{
	struct pvsi_pt *p = pt_of(req->core.lun);
	uint32_t cap = req->max_xfer_blocks;
	uint8_t b[4 + 255 + 1];
	size_t n, len, at;

	if (!cap || vpd_page(req) < 0)
		return;
	n = pvsi_req_copy_out(req, 0, b, moved < sizeof(b) - 1 ? (size_t)moved : sizeof(b) - 1);
	if (n < 4 || b[1] != req->cdb[2] || (b[0] >> 5) != 0)
		return;
	if (b[1] == 0xb0) {
		uint32_t mtl, otl;

		if (n < 12)
			return;
		mtl = pvsi_be32(&b[8]);
		if (mtl == 0 || mtl > cap) {
			pvsi_put_be32(&b[8], cap);
			pvsi_req_copy_in(req, 8, &b[8], 4);
		}
		otl = n >= 16 ? pvsi_be32(&b[12]) : 0;
		if (otl > cap) {
			pvsi_put_be32(&b[12], cap);
			pvsi_req_copy_in(req, 12, &b[12], 4);
		}
		return;
	}
	if (b[1] != 0x00 || !sd_type(b[0] & 0x1f))
		return;
	len = 4 + pvsi_be16(&b[2]);
	if (len > n || len >= sizeof(b) - 1)
		return;
	for (at = 4; at < len && b[at] < 0xb0; at++)
		;
	if (at < len && b[at] == 0xb0)
		return;
	/* Room for one more byte: within the allocation length and the buffers. */
	if (len + 1 > pvsi_be16(&req->cdb[3]) || len + 1 > req->core.data_len)
		return;
	memmove(&b[at + 1], &b[at], len - at);
	b[at] = 0xb0;
	pvsi_put_be16(&b[2], (uint16_t)(len + 1 - 4));
	pvsi_req_copy_in(req, 0, b, len + 1);
	if (req->core.xfer < len + 1) {
		req->core.xfer = (uint32_t)(len + 1);
		req->residual = (uint32_t)(req->core.data_len - req->core.xfer);
	}
	p->emul_b0 = true;
}

/* SBC-4 6.6.4, for a disk whose own Block Limits page does not exist. */
static void answer_b0(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t b[64] = {0};

	b[0] = lun->pdt;
	b[1] = 0xb0;
	pvsi_put_be16(&b[2], sizeof(b) - 4);
	pvsi_put_be32(&b[8], req->max_xfer_blocks); /* MAXIMUM TRANSFER LENGTH */
	pvsi_req_complete(req, pvsi_emu_respond(req, b, sizeof(b), pvsi_be16(&req->cdb[3])));
}

/* Whether the filter lets the command of (@opcode, @sa) through to @lun. */
static bool filter_allows(const struct pvs_lun *lun, uint8_t opcode, uint16_t sa, bool has_sa)
{
	uint8_t cdb[2] = {opcode, (uint8_t)(has_sa ? sa & 0x1f : 0)};
	const struct pvsi_opcode *op = pvsi_opcode_find_dc(lun->dclass, cdb, 2);

	return op && (op->flags & PVSI_OP_PT_ALLOW) && (!has_sa || (op->flags & PVSI_OP_HAS_SA));
}

/*
 * SPC-5 6.35: the device's list of what it supports, less what the filter
 * refuses, so that a guest does not plan on commands it cannot send.  Only
 * whole descriptors within what was moved are looked at; the COMMAND DATA
 * LENGTH loses what was taken out of them (an answer cut short by the
 * allocation length keeps the rest, which the guest reads again with more
 * room).  Descriptors are 8 bytes, 20 with command timeouts (CTDP).
 */
static void filter_oplist(struct pvs_req *req, uint64_t moved)
{
	struct pvs_lun *lun = req->core.lun;
	uint8_t opts = req->cdb[2] & 0x07, d[20], hdr[4];
	uint64_t r, w, total, end;

	if (opts != 0) {
		/* One command: SUPPORT (byte 1, bits 2:0) 001b, not supported, and no usage data.
		 */
		uint16_t sa = pvsi_be16(&req->cdb[4]);

		if (moved < 4 || filter_allows(lun, req->cdb[3], sa, false))
			return;
		if (pvsi_req_copy_out(req, 0, hdr, 4) != 4)
			return;
		hdr[1] = (uint8_t)((hdr[1] & ~0x07u) | 0x01u);
		hdr[2] = hdr[3] = 0;
		pvsi_req_copy_in(req, 0, hdr, 4);
		req->core.xfer = 4;
		req->residual = (uint32_t)(req->core.data_len - 4);
		return;
	}
	if (moved < 4 || pvsi_req_copy_out(req, 0, hdr, 4) != 4)
		return;
	total = 4 + (uint64_t)pvsi_be32(hdr);
	end = moved < total ? moved : total;
	for (r = w = 4; r + 8 <= end;) {
		size_t len;

		if (pvsi_req_copy_out(req, r, d, 8) != 8)
			return;
		len = (d[5] & 0x02) ? 20 : 8;
		if (r + len > end)
			break;
		if (len == 20 && pvsi_req_copy_out(req, r, d, 20) != 20)
			return;
		if (filter_allows(lun, d[0], pvsi_be16(&d[2]), d[5] & 0x01)) {
			if (w != r)
				pvsi_req_copy_in(req, w, d, len);
			w += len;
		}
		r += len;
	}
	if (w == r)
		return;
	/* What followed the last whole descriptor moves up behind the kept ones. */
	while (r < end) {
		size_t n = end - r < sizeof(d) ? (size_t)(end - r) : sizeof(d);

		if (pvsi_req_copy_out(req, r, d, n) != n)
			return;
		pvsi_req_copy_in(req, w, d, n);
		r += n;
		w += n;
	}
	pvsi_put_be32(hdr, (uint32_t)(total - 4 - (r - w)));
	pvsi_req_copy_in(req, 0, hdr, 4);
	req->core.xfer = (uint32_t)w;
	req->residual = (uint32_t)(req->core.data_len - w);
}

bool pvsi_pt_given_up(struct pvs_req *req)
{
	if (!(req->core.flags & (PVSI_RF_ABORTED | PVSI_RF_RESET)))
		return false;
	/* The initiator has given up on it; the core reports the TMF's outcome. */
	pvsi_req_complete(req, PVS_SR_OK);
	return true;
}

static void complete_from_hdr(struct pvs_req *req, const struct sg_io_hdr *h)
{
	uint64_t sent = h->dxfer_len;
	int resid = h->resid;

	if (pvsi_pt_given_up(req))
		return;
	req->status = h->status;
	req->host = map_host(h->host_status, h->driver_status);
	req->sense_len = h->sb_len_wr < PVS_SENSE_MAX ? h->sb_len_wr : PVS_SENSE_MAX;
	if (resid < 0)
		resid = 0;
	if ((uint64_t)resid > sent)
		resid = (int)sent;
	pvsi_pt_finish(req, sent - (uint64_t)resid);
}

void pvsi_pt_finish(struct pvs_req *req, uint64_t moved)
{
	req->core.xfer = (uint32_t)moved;
	/* Buffers beyond dxfer_len (a data-less command with buffers) were not used either. */
	req->residual = (uint32_t)(req->core.data_len - moved);
	if (req->status == PVS_STATUS_GOOD && req->host == PVS_HOST_OK) {
		if (req->core.lun->ro)
			mark_write_protected(req, moved);
		vpd_fixup(req, moved);
		const struct pvsi_opcode *op = req->core.op;

		if (!req->core.lun->raw && op && (op->flags & PVSI_OP_OPLIST))
			filter_oplist(req, moved);
	}
	pvsi_req_finish_raw(req);
}

static struct pvs_req *find_inflight(struct pvs_lun *lun, const void *ptr)
{
	/* usr_ptr comes back from the kernel (or a fake): trust it only if it is ours. */
	for (struct pvs_req *r = lun->inflight; r; r = r->core.next)
		if (r == ptr)
			return r;
	return NULL;
}

/*
 * Cancel the answer reads beyond the commands in flight: a command whose
 * header sg refused, or a device gone, leaves its read in the ring with
 * nothing to answer it.  Taking any answer is any read's, so which ones go
 * does not matter; the LUN is then idle on its worker once its commands
 * are over (pvs_unit_move()).  A read that took an answer meanwhile ends
 * as usual; the others end -ECANCELED or -EINTR.
 */
static void cancel_spare_reads(struct sg_priv *p)
{
	bool sent = false;

	for (unsigned int i = 0; i < PVSI_SG_MAX_INFLIGHT && p->reads > p->inflight + p->spare;
	     i++) {
		struct sg_op *o = &p->rd[i];
		struct io_uring_sqe *sqe;

		if (!o->busy || o->cancelling)
			continue;
		sqe = pvsi_worker_sqe_deferred(p->worker, NULL);
		if (!sqe)
			break;
		io_uring_prep_cancel64(sqe, pvsi_worker_op_tag(&o->wop), 0);
		o->cancelling = true;
		p->spare++;
		sent = true;
	}
	/* The cancel's CQE, and the read's, come from task work: the next round runs it. */
	if (sent)
		pvsi_worker_poke_deferred(p->worker);
}

/* The device is gone: everything written to it will never be answered. */
static void fail_all(struct pvs_lun *lun)
{
	struct sg_priv *p = priv_of(lun);

	pvsi_lun_gone(lun, "the sg device went away");
	if (p->registered) {
		pvsi_worker_del_fd(lun->worker, lun->fd);
		p->registered = false;
	}
	while (lun->inflight) {
		p->inflight = p->inflight ? p->inflight - 1 : 0;
		pvsi_req_fail_host(lun->inflight, PVS_HOST_NO_CONNECT);
	}
	p->inflight = 0;
	/* A completion's callback may have closed the LUN, which cancelled them all. */
	if (p->lun)
		cancel_spare_reads(p);
}

static void sg_readable(void *opaque, uint32_t events)
{
	struct pvs_lun *lun = opaque;
	struct sg_priv *p = priv_of(lun);

	/* Each read returns one answer; at most as many as were written. */
	for (unsigned int n = 0; n < PVSI_SG_MAX_INFLIGHT + 1 && !lun->gone; n++) {
		struct sg_io_hdr h;
		struct pvs_req *req;
		ssize_t r;

		memset(&h, 0, sizeof(h));
		h.interface_id = 'S';
		r = p->ops->read(lun->fd, &h, sizeof(h));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (errno == ENODEV || errno == ENXIO || errno == EIO) {
				fail_all(lun);
				return;
			}
			break;
		}
		if ((size_t)r < sizeof(h))
			break;
		req = find_inflight(lun, h.usr_ptr);
		if (!req)
			continue;
		if (p->inflight)
			p->inflight--;
		complete_from_hdr(req, &h);
	}
	/* sg polls HUP once its device is detaching; what was answered is read above. */
	if ((events & (EPOLLERR | EPOLLHUP)) && !lun->gone)
		fail_all(lun);
}

/* sg refused the header of @req (errno @e): it never reached the device. */
static void write_failed(struct pvs_lun *lun, struct pvs_req *req, int e)
{
	/* EDOM: sg's own per-fd queue is full (drivers/scsi/sg.c) */
	if (e == EDOM || e == EAGAIN || e == ENOMEM)
		pvsi_req_complete(req, PVS_SR_TASK_SET_FULL);
	else if (e == ENODEV || e == ENXIO)
		/* Detached: @req and all in flight (never to be answered) end here. */
		fail_all(lun);
	else
		pvsi_req_fail_host(req, PVS_HOST_ERROR);
}

static int dxfer_dir(uint8_t dir)
{
	switch (dir) {
	case PVS_DIR_TO_DEV:
		return SG_DXFER_TO_DEV;
	case PVS_DIR_FROM_DEV:
		return SG_DXFER_FROM_DEV;
	default:
		return SG_DXFER_NONE;
	}
}

/*
 * The administrator's one line about a command the filter refused, the
 * first time this LUN refuses its opcode: which command, for which type of
 * device, and the table's reason.
 */
static void log_refusal(struct pvs_lun *lun, const struct pvs_req *req,
                        const struct pvsi_opcode *op, const char *what)
{
	struct pvsi_pt *p = pt_of(lun);
	uint8_t opc = req->cdb[0];
	const char *name, *why;
	char sa[16] = "", msg[512];

	if (!lun->notice || (p->refusal_logged[opc >> 6] & (1ull << (opc & 63))))
		return;
	p->refusal_logged[opc >> 6] |= 1ull << (opc & 63);
	if (op) {
		name = op->name;
		why = op->why ? op->why : what;
	} else if (opc >= 0xc0) {
		name = "(vendor-specific)";
		why = "a vendor-specific operation code, whose effect the filter cannot know";
	} else {
		name = "(not in the allow-list)";
		why = what;
	}
	if (op && (op->flags & PVSI_OP_HAS_SA) && req->cdb_len >= 2)
		snprintf(sa, sizeof(sa), " SA %02Xh", req->cdb[1] & 0x1f);
	snprintf(msg, sizeof(msg),
	         "%s LUN '%s', a %s: filter refused %02Xh%s %s: %s; feature-host passes it "
	         "(logged once per LUN and opcode)",
	         lun->ops->kind, lun->backing, pvsi_dclass_name(lun->dclass), opc, sa, name, why);
	lun->notice(lun->notice_arg, lun, msg);
}

/*
 * The CDB filter of a LUN without feature-host: the entry of the device's
 * type decides.  Returns false, @req completed, when the command may not
 * reach the device.
 */
static bool filter_pass(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op)
{
	int byte;

	/*
	 * A service action the filter refuses, of an opcode it passes with
	 * others (SERVICE ACTION IN(16), MAINTENANCE IN), is a field of the
	 * CDB (SPC-5 4.4.3), as emulated LUNs answer it.
	 */
	if ((!op || !(op->flags & PVSI_OP_PT_ALLOW)) && req->cdb_len >= 2 &&
	    pvsi_opcode_any_dc(lun->dclass, req->cdb[0], PVSI_OP_HAS_SA | PVSI_OP_PT_ALLOW)) {
		log_refusal(lun, req, op, "a service action the filter does not pass");
		pvsi_req_field(req, true, 1, 4);
		pvsi_req_complete(req, PVS_SR_INVALID_FIELD_IN_CDB);
		return false;
	}
	if (!op || !(op->flags & PVSI_OP_PT_ALLOW)) {
		log_refusal(lun, req, op,
		            "not a command of this device type that the filter knows");
		pvsi_req_field(req, true, 0, -1);
		pvsi_req_complete(req, PVS_SR_INVALID_OPCODE);
		return false;
	}
	/*
	 * A CDB shorter than its opcode's would leave the device to read bytes
	 * the initiator never sent.  Same sense as emulated LUNs give an
	 * unsupported opcode: the field is byte 0.
	 */
	if (req->cdb_len < op->cdb_len) {
		pvsi_req_field(req, true, 0, -1);
		pvsi_req_complete(req, PVS_SR_INVALID_OPCODE);
		return false;
	}
	byte = op->bad_field ? op->bad_field(req->cdb) : -1;
	if (byte >= 0) {
		pvsi_req_field(req, true, byte, -1);
		pvsi_req_complete(req, PVS_SR_INVALID_FIELD_IN_CDB);
		return false;
	}
	if (lun->ro && (op->flags & (PVSI_OP_WRITE | PVSI_OP_MEDIUM_PARAMS))) {
		pvsi_req_complete(req, PVS_SR_WRITE_PROTECTED);
		return false;
	}
	return true;
}

bool pvsi_pt_prepare(struct pvs_lun *lun, struct pvs_req *req)
{
	const struct pvsi_opcode *op = pvsi_opcode_find_dc(lun->dclass, req->cdb, req->cdb_len);

	/* Raw LUNs' too: the VPD fixups below and at completion read its flags. */
	req->core.op = op;
	if (!lun->raw && !filter_pass(lun, req, op))
		return false;
	if (lun->gone) {
		pvsi_req_fail_host(req, PVS_HOST_NO_CONNECT);
		return false;
	}
	if (pt_of(lun)->emul_b0 && req->max_xfer_blocks && vpd_page(req) == 0xb0) {
		answer_b0(lun, req);
		return false;
	}
	return true;
}

static void fill_hdr(const struct pvs_lun *lun, struct pvs_req *req, struct sg_io_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = dxfer_dir(req->dir);
	h->cmd_len = req->cdb_len;
	h->cmdp = req->cdb;
	h->mx_sb_len = PVS_SENSE_MAX;
	h->sbp = req->sense;
	h->timeout = lun->dclass == PVSI_DC_SBC ? PVSI_SG_TIMEOUT_MS : PVSI_SG_LONG_TIMEOUT_MS;
	h->usr_ptr = req;
	h->pack_id = -1;
	if (h->dxfer_direction != SG_DXFER_NONE && req->core.data_len) {
		h->dxfer_len = (unsigned int)req->core.data_len;
		if (req->iovcnt == 1) {
			h->dxferp = req->iov[0].iov_base;
		} else {
			/* struct sg_iovec and struct iovec share their layout */
			h->iovec_count = (unsigned short)req->iovcnt;
			h->dxferp = req->iov;
		}
	} else {
		h->dxfer_direction = SG_DXFER_NONE;
	}
}

/* The plain path: one write() per command. */
static void rw_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sg_priv *p = priv_of(lun);
	struct sg_io_hdr h;

	fill_hdr(lun, req, &h);
	if (p->ops->write(lun->fd, &h, sizeof(h)) < 0) {
		write_failed(lun, req, errno);
		return;
	}
	p->inflight++;
}

static void uring_done(struct pvsi_worker_op *wop, int res);

static struct sg_op *free_slot(struct sg_op *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (!v[i].busy)
			return &v[i];
	return NULL;
}

static bool queue_op(struct sg_priv *p, struct sg_op *o, bool write)
{
	struct io_uring_sqe *sqe = pvsi_worker_sqe_deferred(p->worker, &o->wop);

	if (!sqe)
		return false;
	/* sg is a stream: offset -1, the file position, which it ignores. */
	if (write)
		io_uring_prep_write(sqe, p->lun->fd, &o->h, sizeof(o->h), (uint64_t)-1);
	else
		io_uring_prep_read(sqe, p->lun->fd, &o->h, sizeof(o->h), (uint64_t)-1);
	o->wop.done = uring_done;
	o->p = p;
	o->busy = true;
	p->pending++;
	return true;
}

/* One answer read in the ring per command in flight, so that no answer waits for a read. */
static void post_reads(struct sg_priv *p)
{
	while (p->reads < p->inflight) {
		struct sg_op *o = free_slot(p->rd, PVSI_SG_MAX_INFLIGHT);

		if (!o)
			return;
		memset(&o->h, 0, sizeof(o->h));
		o->h.interface_id = 'S';
		o->req = NULL;
		/* No SQE: the next command or answer posts it. */
		if (!queue_op(p, o, false))
			return;
		p->reads++;
	}
}

/*
 * io_uring's read or write of sg is refused (a kernel that has the opcodes
 * but not for this file): the plain path from now on, the fd polled again.
 */
static bool to_plain(struct pvs_lun *lun, int e)
{
	struct sg_priv *p = priv_of(lun);
	char msg[512];

	/* sg_readable() reads the answers from now on, when the fd is readable. */
	pvsi_worker_del_fd(lun->worker, lun->fd);
	if (pvsi_worker_add_fd(lun->worker, lun->fd, EPOLLIN, sg_readable, lun) < 0) {
		p->registered = false;
		return false;
	}
	p->uring = false;
	if (lun->notice) {
		snprintf(msg, sizeof(msg),
		         "sg LUN '%s': io_uring refused its sg_io_hdr write (%s): plain "
		         "write() and read() from now on",
		         lun->backing, strerror(e));
		lun->notice(lun->notice_arg, lun, msg);
	}
	return true;
}

/* Once per LUN: the errno behind a host ERROR is what tells why (docs/performance.md). */
static void log_uring_error(struct pvs_lun *lun, const char *what, int e)
{
	struct sg_priv *p = priv_of(lun);
	char msg[512];

	if (p->uring_err_logged || !lun->notice)
		return;
	p->uring_err_logged = true;
	snprintf(msg, sizeof(msg), "sg LUN '%s': io_uring %s failed: %s (logged once per LUN)",
	         lun->backing, what, strerror(e));
	lun->notice(lun->notice_arg, lun, msg);
}

static void write_done(struct sg_priv *p, struct sg_op *o, int res)
{
	struct pvs_lun *lun = p->lun;
	struct pvs_req *req = o->req;

	o->req = NULL;
	if (res >= 0) {
		p->uring_proven = true;
		return;
	}
	/* Ended by fail_all() meanwhile: never twice. */
	if (lun->gone || !find_inflight(lun, req))
		return;
	/* It never reached sg, so no answer will come for it. */
	if (p->inflight)
		p->inflight--;
	if (!p->uring_proven && (res == -EINVAL || res == -EOPNOTSUPP) &&
	    (!p->uring || to_plain(lun, -res))) {
		rw_submit(lun, req);
		return;
	}
	/* Queue full, the device gone: write_failed() answers those, no io_uring error. */
	if (res != -EDOM && res != -EAGAIN && res != -ENOMEM && res != -ENODEV && res != -ENXIO)
		log_uring_error(lun, "write of a command's sg_io_hdr", -res);
	write_failed(lun, req, -res);
	/* Its answer read stays in the ring, with no answer to come (a close may have run). */
	if (p->lun && p->uring)
		cancel_spare_reads(p);
}

static void read_done(struct sg_priv *p, struct sg_op *o, int res)
{
	struct pvs_lun *lun = p->lun;
	struct pvs_req *req;

	if (lun->gone)
		return;
	if (res < 0) {
		/* Refused as the writes were: to_plain() takes over. */
		if (!p->uring || (!p->uring_proven && (res == -EINVAL || res == -EOPNOTSUPP)))
			return;
		/*
		 * -EINTR/-ECANCELED: interrupted, not answered; -EAGAIN:
		 * another read took the answer this one was woken for.
		 * Neither took an answer, so one read is posted again in
		 * its place.  Anything else (ENODEV from a detaching
		 * device, EIO...) leaves no way to get the answers.
		 */
		if (res == -EINTR || res == -ECANCELED || res == -EAGAIN) {
			post_reads(p);
			return;
		}
		if (res != -ENODEV && res != -ENXIO)
			log_uring_error(lun, "read of an answer", -res);
		fail_all(lun);
		return;
	}
	/* sg never ends its stream: an end means no answer can come any more. */
	if (res == 0) {
		fail_all(lun);
		return;
	}
	if ((size_t)res == sizeof(o->h)) {
		req = find_inflight(lun, o->h.usr_ptr);
		if (req) {
			if (p->inflight)
				p->inflight--;
			complete_from_hdr(req, &o->h);
			/* The completion's callback may have closed the LUN. */
			if (!p->lun)
				return;
		}
	}
	if (p->uring)
		post_reads(p);
}

static void uring_done(struct pvsi_worker_op *wop, int res)
{
	struct sg_op *o = (struct sg_op *)wop;
	struct sg_priv *p = o->p;
	bool write = o >= p->wr && o < p->wr + SG_WRITE_SLOTS;

	/* Still counted in pending while handled: a close from a callback leaves @p alive. */
	o->busy = false;
	if (!write)
		p->reads--;
	if (o->cancelling) {
		o->cancelling = false;
		p->spare--;
	}
	if (p->ops->uring_res)
		res = p->ops->uring_res(write, res, &o->h);
	if (p->lun) {
		if (write)
			write_done(p, o, res);
		else
			read_done(p, o, res);
	}
	p->pending--;
	if (!p->lun && !p->pending) {
		pvsi_worker_linger(p->worker, -1);
		free(p);
	}
}

static void uring_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sg_priv *p = priv_of(lun);
	struct sg_op *o = free_slot(p->wr, SG_WRITE_SLOTS);

	if (!o) {
		pvsi_req_complete(req, PVS_SR_TASK_SET_FULL);
		return;
	}
	fill_hdr(lun, req, &o->h);
	o->req = req;
	if (!queue_op(p, o, true)) {
		o->req = NULL;
		pvsi_req_complete(req, PVS_SR_TASK_SET_FULL);
		return;
	}
	p->inflight++;
	post_reads(p);
}

static void pt_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	struct sg_priv *p = priv_of(lun);

	if (!pvsi_pt_prepare(lun, req))
		return;
	/* sg v3 has no bidirectional transfers; iovec_count is 16 bits, dxfer_len 32. */
	if (req->cdb_len == 0 || req->cdb_len > PVS_CDB_MAX || req->dir == PVS_DIR_BIDI ||
	    req->iovcnt > UIO_MAXIOV || req->core.data_len > UINT_MAX) {
		pvsi_req_fail_host(req, PVS_HOST_ERROR);
		return;
	}
	if (p->inflight >= PVSI_SG_MAX_INFLIGHT) {
		pvsi_req_complete(req, PVS_SR_TASK_SET_FULL);
		return;
	}
	if (p->uring)
		uring_submit(lun, req);
	else
		rw_submit(lun, req);
}

static int pt_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	(void)req;
	/* sg cannot abort one command; it completes when the device answers. */
	return -EOPNOTSUPP;
}

static void pt_close(struct pvs_lun *lun)
{
	struct sg_priv *p = priv_of(lun);

	if (!p)
		return;
	if (p->registered)
		pvsi_worker_del_fd(lun->worker, lun->fd);
	if (p->pending) {
		/*
		 * Reads wait on sg's poll for answers that may never come:
		 * cancel them and keep @p, which the kernel still writes
		 * into, until the last CQE frees it.
		 */
		for (unsigned int i = 0; i < SG_WRITE_SLOTS + PVSI_SG_MAX_INFLIGHT; i++) {
			struct sg_op *o =
			    i < SG_WRITE_SLOTS ? &p->wr[i] : &p->rd[i - SG_WRITE_SLOTS];
			struct io_uring_sqe *sqe;

			if (!o->busy || !(sqe = pvsi_worker_sqe_deferred(p->worker, NULL)))
				continue;
			io_uring_prep_cancel64(sqe, pvsi_worker_op_tag(&o->wop), 0);
		}
		pvsi_worker_submit(p->worker);
		/* A cancelled read's CQE comes from deferred task work: the next round runs it. */
		pvsi_worker_poke_deferred(p->worker);
		p->lun = NULL;
		pvsi_worker_linger(p->worker, 1);
	}
	if (lun->fd >= 0)
		p->ops->close(lun->fd);
	lun->fd = -1;
	lun->priv = NULL;
	if (!p->lun)
		return;
	free(p);
}

/*
 * A header write's CQE may come after its command's answer, and an answer
 * read after a write failed is cancelled first: both are in the worker's
 * ring until their CQEs, and an answer read on the old ring would take the
 * new one's answers.
 */
static bool pt_busy(const struct pvs_lun *lun)
{
	const struct sg_priv *p = lun->priv;

	return p && (p->inflight || p->pending);
}

static int pt_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	struct sg_priv *p = priv_of(lun);
	const char *what = "the poll of its fd";
	int rc = 0;

	if (p->uring && (rc = pvsi_worker_use_deferred(to)) < 0)
		what = "a deferred io_uring";
	else if (p->registered && p->uring)
		rc = pvsi_worker_add_wake_fd(to, lun->fd);
	else if (p->registered)
		rc = pvsi_worker_add_fd(to, lun->fd, EPOLLIN, sg_readable, lun);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "sg LUN '%s': the new worker refused %s: %s",
			         lun->backing, what, strerror(-rc));
		return rc;
	}
	if (p->registered)
		pvsi_worker_del_fd(lun->worker, lun->fd);
	p->worker = to;
	return 0;
}

const struct pvsi_lun_ops pvsi_passthrough_ops = {
    .kind = "sg",
    .submit = pt_submit,
    .cancel = pt_cancel,
    .capacity = NULL,
    .close = pt_close,
    .busy = pt_busy,
    .move = pt_move,
};

static int fail(char *err, size_t errlen, const char *path, const char *why, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "sg LUN '%s': %s", path, why);
	return rc;
}

/*
 * The device's peripheral device type, from a standard INQUIRY (SPC-5
 * 6.7.2), which a pending unit attention does not stop (SAM-5 5.14): the
 * filter's table follows it, so the LUN does not open without it.
 */
static int read_pdt(const struct pvsi_sg_ops *ops, int fd, uint8_t *pdt, char *why, size_t whylen)
{
	uint8_t cdb[6] = {PVSI_OPC_INQUIRY, 0, 0, 0, 36, 0}, data[36] = {0}, sense[PVS_SENSE_MAX];
	struct sg_io_hdr h;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.dxfer_direction = SG_DXFER_FROM_DEV;
	h.cmd_len = sizeof(cdb);
	h.cmdp = cdb;
	h.dxfer_len = sizeof(data);
	h.dxferp = data;
	h.mx_sb_len = sizeof(sense);
	h.sbp = sense;
	h.timeout = PVSI_SG_TIMEOUT_MS;
	if (ops->ioctl(fd, SG_IO, &h) < 0) {
		int e = errno;

		snprintf(why, whylen, "INQUIRY to learn its device type failed: %s", strerror(e));
		return -e;
	}
	if (h.status != PVS_STATUS_GOOD ||
	    map_host(h.host_status, h.driver_status) != PVS_HOST_OK ||
	    (int)sizeof(data) - h.resid < 1) {
		snprintf(
		    why, whylen,
		    "INQUIRY to learn its device type failed (status %02xh, host %02xh, driver "
		    "%02xh)",
		    h.status, h.host_status, h.driver_status);
		return -EIO;
	}
	/* Qualifier 011b: no logical unit can be here (SPC-5 6.7.2). */
	if ((data[0] >> 5) == 3) {
		snprintf(why, whylen, "no logical unit behind it (INQUIRY peripheral qualifier 3)");
		return -ENODEV;
	}
	*pdt = data[0] & 0x1f;
	return 0;
}

/*
 * Whether @lun's commands go through the worker's deferred io_uring: unless
 * PVS_SG_URING=0, when the kernel has what it takes (Linux 6.1).  Not on
 * the main io_uring: there a read that found no answer is retried from task
 * work that can run on the way back from an interrupt, where Debian's
 * x32-capable kernel has sg write the 32-bit sg_io_hdr layout (e2e `faults`
 * and `subpage` lost commands so on 6.1).  Asked for with =1 and not
 * possible: the administrator's to know; by default, plain write() and
 * read() quietly.
 */
static bool use_uring(struct pvs_lun *lun, const struct pvsi_sg_ops *ops)
{
	const char *env = getenv("PVS_SG_URING");
	const char *why = NULL;
	char msg[512];

	if (!ops->uring || (env && strcmp(env, "0") == 0))
		return false;
	/* A kernel with deferred task work (6.1) has read, write and cancel (5.6). */
	if (pvsi_worker_use_deferred(lun->worker) < 0)
		why = "the kernel's io_uring has no deferred task work (Linux 6.1)";
	if (!why) {
		priv_of(lun)->uring = true;
		return true;
	}
	if (lun->notice && env && strcmp(env, "1") == 0) {
		snprintf(
		    msg, sizeof(msg),
		    "sg LUN '%s': PVS_SG_URING=1, but plain write() and read() per command: %s",
		    lun->backing, why);
		lun->notice(lun->notice_arg, lun, msg);
	}
	return false;
}

int pvsi_sg_open(struct pvs_lun *lun, const char *path, char *err, size_t errlen)
{
	const struct pvsi_sg_ops *ops = sg_ops;
	struct sg_priv *p;
	struct stat st;
	int fd, rc, version = 0, one = 1;
	char why[160];

	if (!lun->worker)
		return fail(err, errlen, path, "needs a worker", -EINVAL);
	if (lun->ro && lun->raw)
		return fail(
		    err, errlen, path,
		    "read-only needs the CDB filter, and raw (feature-host) passthrough has "
		    "none: the device would see every write; drop one of ro and raw",
		    -EINVAL);
	fd = ops->open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, sizeof(why), "cannot open: %s", strerror(-rc));
		return fail(err, errlen, path, why, rc);
	}
	if (ops->fstat(fd, &st) < 0) {
		rc = -errno;
		ops->close(fd);
		return fail(err, errlen, path, strerror(-rc), rc);
	}
	/*
	 * Whole LUNs only: a disk or partition block node would answer
	 * SG_GET_VERSION_NUM too, and bsg nodes would as well.
	 */
	if (S_ISBLK(st.st_mode)) {
		ops->close(fd);
		return fail(err, errlen, path,
		            "is a block device; passthrough needs the LUN's sg node (/dev/sgN), "
		            "never a disk or partition",
		            -EINVAL);
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != SG_MAJOR) {
		ops->close(fd);
		return fail(err, errlen, path, "not an sg character device (/dev/sgN)", -EINVAL);
	}
	if (ops->ioctl(fd, SG_GET_VERSION_NUM, &version) < 0 || version < 30000) {
		ops->close(fd);
		return fail(err, errlen, path, "not an sg v3 device (SG_GET_VERSION_NUM)", -EINVAL);
	}
	/* Several commands in flight on this fd (sg turns this on at the first v3 write anyway). */
	ops->ioctl(fd, SG_SET_COMMAND_Q, &one);
	rc = read_pdt(ops, fd, &lun->pdt, why, sizeof(why));
	if (rc < 0) {
		ops->close(fd);
		return fail(err, errlen, path, why, rc);
	}
	lun->dclass = (uint8_t)pvsi_dclass_of(lun->pdt);
	p = calloc(1, sizeof(*p));
	if (!p) {
		ops->close(fd);
		return fail(err, errlen, path, strerror(ENOMEM), -ENOMEM);
	}
	p->ops = ops;
	p->lun = lun;
	p->worker = lun->worker;
	lun->priv = p;
	lun->fd = fd;
	/*
	 * Polled in both modes: with io_uring only to wake the loop, as
	 * readable means the reads' task work can run.
	 */
	if (use_uring(lun, ops))
		rc = pvsi_worker_add_wake_fd(lun->worker, fd);
	else
		rc = pvsi_worker_add_fd(lun->worker, fd, EPOLLIN, sg_readable, lun);
	if (rc < 0) {
		pt_close(lun);
		snprintf(why, sizeof(why), "cannot poll: %s", strerror(-rc));
		return fail(err, errlen, path, why, rc);
	}
	p->registered = true;
	lun->store = NULL;
	return 0;
}
