/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdb_fuzz.c - CDB emulation on a mem: LUN or a cdrom: drive (libpvscsi),
 * parameter lists included: PERSISTENT RESERVE OUT, UNMAP, MODE SELECT, WRITE SAME,
 * COMPARE AND WRITE, VERIFY with BYTCHK all read their data-out.
 *
 * Input: the LUN (512 or 4096-byte blocks, 64 or 100 KiB: small, so that
 * LBAs reach the end; or a cdrom: drive, empty or on a 64 KiB image), whether the POWER ON unit
 * attentions are taken first, then up to 12 commands, each: the initiator (one of four I_T nexuses,
 * so reservations and unit attentions cross), direction, CDB and its length (mostly the opcode's
 * own), the buffer's size and how it is cut into up to four iovecs (empty ones too), and the
 * data-out bytes; or a task management function.  A fresh LUN per input: a crash reproduces from
 * its input alone.
 *
 * Every buffer has guard bytes on both sides, poisoned for ASan, so that a
 * read or write past an iovec is reported where it happens.  Checked per
 * command: done() runs exactly once (and the LUN has nothing left in
 * flight); the host byte is OK; the status is one the emulation uses, with
 * 18 bytes of fixed-format sense for CHECK CONDITION and none otherwise;
 * the residual is within the buffers; data-out buffers, and the buffers of
 * a command with no data-in phase, are never written; a data-in command
 * writes nothing past what it says it transferred (buffer size minus
 * residual), and transfers no more than its allocation length (INQUIRY,
 * MODE SENSE, REPORT LUNS, ...) or its blocks (READ); a task management
 * function completes once.
 */
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "fz.h"

#define MAX_CMDS  12
#define MAX_IOV   4
#define GUARD     32
#define MAX_BUF   (70u << 10)
#define INITIATOR 0x1000u

struct cmd {
	struct pvs_req req;
	struct iovec iov[MAX_IOV];
	uint8_t *alloc[MAX_IOV]; /* guard + buffer + guard */
	uint8_t *shadow;         /* the buffers' bytes before the command */
	uint64_t total;
	unsigned int done;
};

static struct pvs_worker *worker;
static struct cmd cmds[MAX_CMDS];

static void req_done(struct pvs_req *req)
{
	((struct cmd *)req->opaque)->done++;
}

static void tmf_done(struct pvs_tmf *tmf)
{
	(*(unsigned int *)tmf->opaque)++;
}

static uint8_t *buf_new(size_t len)
{
	uint8_t *a = malloc(len + 2 * GUARD);

	memset(a, 0xee, GUARD);
	memset(a + GUARD + len, 0xee, GUARD);
	ASAN_POISON_MEMORY_REGION(a, GUARD);
	ASAN_POISON_MEMORY_REGION(a + GUARD + len, GUARD);
	return a;
}

FZ_NOCOV static void buf_free(uint8_t *a, size_t len)
{
	ASAN_UNPOISON_MEMORY_REGION(a, len + 2 * GUARD);
	for (unsigned int i = 0; i < GUARD; i++)
		FZ_CHECK(a[i] == 0xee && a[GUARD + len + i] == 0xee, "guard byte %u written", i);
	free(a);
}

static uint32_t be(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The most a data-in command may transfer: its allocation length (or the
 * fixed size of its answer), or its blocks for a READ; UINT64_MAX when the
 * harness does not know the command (only the buffers bound it then).
 */
static uint64_t max_in(const uint8_t *cdb, uint32_t bs)
{
	switch (cdb[0]) {
	case 0x03: /* REQUEST SENSE */
	case 0x1a: /* MODE SENSE(6) */
		return cdb[4];
	case 0x12: /* INQUIRY */
		return be(&cdb[3], 2);
	case 0x25: /* READ CAPACITY(10): 8 bytes, no allocation length */
		return 8;
	case 0x5a: /* MODE SENSE(10) */
	case 0x5e: /* PERSISTENT RESERVE IN */
	case 0x43: /* READ TOC/PMA/ATIP (cdrom:) */
	case 0x46: /* GET CONFIGURATION */
	case 0x4a: /* GET EVENT STATUS NOTIFICATION */
	case 0x51: /* READ DISC INFORMATION */
	case 0x52: /* READ TRACK INFORMATION */
		return be(&cdb[7], 2);
	case 0xbd: /* MECHANISM STATUS */
		return be(&cdb[8], 2);
	case 0x9e: /* READ CAPACITY(16), GET LBA STATUS */
		return be(&cdb[10], 4);
	case 0xa0: /* REPORT LUNS */
	case 0xa3: /* REPORT SUPPORTED OPERATION CODES */
		return be(&cdb[6], 4);
	case 0x08: /* READ(6): 0 blocks means 256 */
		return (uint64_t)(cdb[4] ? cdb[4] : 256) * bs;
	case 0x28:
		return (uint64_t)be(&cdb[7], 2) * bs;
	case 0xa8:
		return (uint64_t)be(&cdb[6], 4) * bs;
	case 0x88:
		return (uint64_t)be(&cdb[10], 4) * bs;
	default:
		return UINT64_MAX;
	}
}

static void build(struct cmd *c, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	unsigned int cdb_len, niov = (shape >> 4) % MAX_IOV + 1;
	uint32_t len;
	uint64_t off = 0;

	memset(&c->req, 0, sizeof(c->req));
	c->done = 0;
	c->req.initiator = INITIATOR + (shape & 3);
	c->req.dir = (shape >> 2) & 3;
	fz_bytes(f, c->req.cdb, fz_range(f, 1, PVS_CDB_MAX));
	/* Mostly the opcode's own length; any length (0 and over 32 too) now and then. */
	if (shape & 0x80) {
		cdb_len = fz_u8(f);
	} else {
		const struct pvsi_opcode *op = pvsi_opcode_find(c->req.cdb, PVS_CDB_MAX);

		cdb_len = op ? op->cdb_len : PVS_CDB_MAX;
	}
	c->req.cdb_len = (uint8_t)cdb_len;
	/* Sizes around block multiples and parameter list lengths matter most. */
	len = fz_u16(f);
	if (len & 0x8000)
		len = (len & 0x7fff) * 4;
	if (len > MAX_BUF)
		len = MAX_BUF;
	if (c->req.dir == PVS_DIR_NONE && !(shape & 0x40))
		len = 0;
	c->total = len;
	c->shadow = malloc(len ? len : 1);
	for (unsigned int i = 0; i < niov; i++) {
		uint64_t piece = i + 1 == niov ? len - off : fz_u32(f) % (len - off + 1);

		c->alloc[i] = buf_new(piece);
		c->iov[i].iov_base = c->alloc[i] + GUARD;
		c->iov[i].iov_len = piece;
		off += piece;
	}
	/* The parameter list, then zeroes; a data-in buffer holds a pattern (no input spent). */
	off = 0;
	for (unsigned int i = 0; i < niov; i++) {
		if (c->req.dir == PVS_DIR_FROM_DEV)
			memset(c->iov[i].iov_base, 0xa5, c->iov[i].iov_len);
		else
			fz_bytes(f, c->iov[i].iov_base, c->iov[i].iov_len);
		memcpy(c->shadow + off, c->iov[i].iov_base, c->iov[i].iov_len);
		off += c->iov[i].iov_len;
	}
	c->req.iov = len || (shape & 0x40) ? c->iov : NULL;
	c->req.iovcnt = c->req.iov ? niov : 0;
	c->req.done = req_done;
	c->req.opaque = c;
}

FZ_NOCOV static void check(struct cmd *c, struct pvs_lun *lun, uint32_t bs)
{
	const struct pvs_req *r = &c->req;
	const struct pvsi_opcode *op = pvsi_opcode_find_dc(
	    pvsi_dclass_of(pvs_lun_device_type(lun)), r->cdb, r->cdb_len > 32 ? 32 : r->cdb_len);
	uint64_t xfer, off = 0;
	bool may_write;

	FZ_CHECK(c->done == 1, "cdb %02x: done() ran %u times", r->cdb[0], c->done);
	FZ_CHECK(pvs_lun_inflight(lun) == 0, "cdb %02x: still in flight", r->cdb[0]);
	FZ_CHECK(r->host == PVS_HOST_OK, "cdb %02x: host %u", r->cdb[0], r->host);
	FZ_CHECK(r->status == PVS_STATUS_GOOD || r->status == PVS_STATUS_CHECK_CONDITION ||
	             r->status == PVS_STATUS_RESERVATION_CONFLICT || r->status == PVS_STATUS_BUSY ||
	             r->status == PVS_STATUS_TASK_SET_FULL,
	         "cdb %02x: status %02x", r->cdb[0], r->status);
	if (r->status == PVS_STATUS_CHECK_CONDITION)
		FZ_CHECK(r->sense_len == 18 && (r->sense[0] & 0x7f) == 0x70 && r->sense[7] == 10,
		         "cdb %02x: sense of %u bytes, %02x", r->cdb[0], r->sense_len, r->sense[0]);
	else
		FZ_CHECK(r->sense_len == 0, "cdb %02x: status %02x with %u sense bytes", r->cdb[0],
		         r->status, r->sense_len);
	FZ_CHECK(r->residual <= c->total, "cdb %02x: residual %u of %llu", r->cdb[0], r->residual,
	         (unsigned long long)c->total);
	/* The core restores any iovec it trimmed. */
	for (unsigned int i = 0; i < r->iovcnt; i++)
		FZ_CHECK(r->iov[i].iov_base == c->alloc[i] + GUARD, "iovec %u moved", i);

	xfer = c->total - r->residual;
	may_write = r->dir == PVS_DIR_FROM_DEV && op && op->dir == PVS_DIR_FROM_DEV &&
	            r->status == PVS_STATUS_GOOD;
	if (!may_write)
		xfer = 0;
	if (may_write)
		FZ_CHECK(xfer <= max_in(r->cdb, bs), "cdb %02x: %llu bytes in, at most %llu asked",
		         r->cdb[0], (unsigned long long)xfer,
		         (unsigned long long)max_in(r->cdb, bs));
	/* Nothing written past the transfer; nothing at all without a data-in phase. */
	for (unsigned int i = 0; i < r->iovcnt; i++) {
		const uint8_t *p = r->iov[i].iov_base;

		for (size_t j = 0; j < r->iov[i].iov_len; j++, off++)
			FZ_CHECK(
			    off < xfer || p[j] == c->shadow[off],
			    "cdb %02x dir %u status %02x: byte %llu of %llu written (xfer %llu)",
			    r->cdb[0], r->dir, r->status, (unsigned long long)off,
			    (unsigned long long)c->total, (unsigned long long)xfer);
	}
}

static void release(struct cmd *c)
{
	for (unsigned int i = 0; i < MAX_IOV; i++) {
		if (c->alloc[i])
			buf_free(c->alloc[i], c->iov[i].iov_len);
		c->alloc[i] = NULL;
	}
	free(c->shadow);
	c->shadow = NULL;
}

static void run_tmf(struct pvs_lun *lun, struct fz *f)
{
	static const enum pvs_tmf_fn fns[] = {
	    PVS_TMF_ABORT_TASK,     PVS_TMF_ABORT_TASK_SET,  PVS_TMF_CLEAR_TASK_SET,
	    PVS_TMF_LUN_RESET,      PVS_TMF_I_T_NEXUS_RESET, PVS_TMF_QUERY_TASK,
	    PVS_TMF_QUERY_TASK_SET,
	};
	struct pvs_tmf tmf;
	unsigned int n = 0;
	uint8_t b = fz_u8(f);

	memset(&tmf, 0, sizeof(tmf));
	/* Nothing is in flight on a mem: LUN between commands: no task to name. */
	tmf.fn = fns[b % 7];
	tmf.initiator = INITIATOR + (b >> 4 & 3);
	tmf.done = tmf_done;
	tmf.opaque = &n;
	pvs_tmf_submit(lun, &tmf);
	for (int i = 0; i < 100 && !n; i++)
		pvs_worker_poll(worker);
	FZ_CHECK(n == 1, "TMF %u: done() ran %u times", tmf.fn, n);
	FZ_CHECK(tmf.result == PVS_TMF_FUNCTION_COMPLETE ||
	             tmf.result == PVS_TMF_FUNCTION_SUCCEEDED ||
	             tmf.result == PVS_TMF_FUNCTION_REJECTED,
	         "TMF result %d", tmf.result);
}

/* A 64 KiB image (32 blocks of 2048 bytes) for the cdrom: drives, made once. */
static const char *cd_spec(void)
{
	static char spec[64];
	char path[48] = "/tmp/pvscsi-cdb-fuzz.XXXXXX";
	static uint8_t blk[2048];
	int fd;

	if (spec[0])
		return spec;
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	for (unsigned int i = 0; i < 32; i++) {
		memset(blk, (int)i, sizeof(blk));
		if (pwrite(fd, blk, sizeof(blk), (off_t)i * 2048) != (ssize_t)sizeof(blk))
			abort();
	}
	close(fd);
	snprintf(spec, sizeof(spec), "cdrom:%s", path);
	return spec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = {"mem:64K", "mem:64K,bs=4096", "mem:100K",
	                                    "mem:100K,bs=4096"};
	struct pvs_lun *lun = NULL;
	char err[256];
	struct fz f;
	uint8_t hdr;
	uint32_t bs;
	const char *spec;

	if (!worker && pvs_worker_new(64, &worker))
		abort();
	fz_init(&f, data, size);
	hdr = fz_u8(&f);
	/* Bit 3: a cdrom: drive, loaded (with bit 4 clear) or empty. */
	spec = !(hdr & 8) ? specs[hdr & 3] : (hdr & 16) ? "cdrom:" : cd_spec();
	FZ_CHECK(pvs_lun_open(worker, spec, NULL, &lun, err, sizeof(err)) == 0, "%s", err);
	bs = pvs_lun_block_size(lun);
	if (!(hdr & 4)) {
		/* A new LUN greets every I_T nexus with POWER ON; take it, as the midlayer does. */
		for (unsigned int i = 0; i < 4; i++) {
			struct cmd *c = &cmds[0];

			memset(&c->req, 0, sizeof(c->req));
			c->done = 0;
			c->req.cdb_len = 6;
			c->req.initiator = INITIATOR + i;
			c->req.done = req_done;
			c->req.opaque = c;
			pvs_submit(lun, &c->req);
			FZ_CHECK(c->done == 1, "TEST UNIT READY: done() ran %u times", c->done);
		}
	}
	for (unsigned int n = 0; n < MAX_CMDS && !fz_empty(&f); n++) {
		struct cmd *c = &cmds[n];
		uint8_t kind = fz_u8(&f);

		if (kind % 16 == 15) {
			run_tmf(lun, &f);
			continue;
		}
		build(c, &f);
		pvs_submit(lun, &c->req);
		/* A mem: LUN completes before pvs_submit() returns; let a stray second one show. */
		pvs_worker_flush(worker);
		pvs_worker_poll(worker);
		/* A cdrom: drive's reads go through io_uring. */
		for (unsigned int i = 0; i < 400 && !c->done; i++)
			pvs_worker_wait(worker, 5);
		check(c, lun, bs);
		release(c);
	}
	pvs_lun_close(lun);
	return 0;
}
