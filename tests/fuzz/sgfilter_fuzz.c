/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sgfilter_fuzz.c - the passthrough filter of every device type
 * (libpvscsi/passthrough.c, opcodes.c) against hostile CDBs from a guest,
 * and its rewriting of what a device answers (REPORT SUPPORTED OPERATION
 * CODES lists, MODE SENSE headers, Block Limits pages), which a broken or
 * hostile device may fill with any lengths.
 *
 * Input: the LUN's peripheral device type and options (ro, raw), the
 * device's answer (status, data of up to 512 bytes, a residual), then CDBs
 * of up to 16 bytes, each with a buffer size, until the input ends.
 *
 * Checked: each command completes once; nothing the type's table refuses
 * reaches the device of a filtered LUN (absent, not PT_ALLOW, too short a
 * CDB, a write to a read-only LUN); what reaches it is the CDB as sent; the
 * residual and the bytes moved add up to the buffers; a rewritten operation
 * code list stays inside what was moved and its COMMAND DATA LENGTH does not
 * grow.
 */
#include <errno.h>
#include <sys/uio.h>

#include "core.h"
#include "fake_sg.h"
#include "fz.h"
#include "pvscsi/pvscsi.h"

static struct pvs_worker *worker;

struct fcmd {
	struct pvs_req req;
	struct iovec iov[1];
	int done;
};

static void fdone(struct pvs_req *req)
{
	((struct fcmd *)req)->done++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_sg_reply reply;
	static uint8_t buf[600];
	static const char *const specs[] = {"sg:/dev/sg3", "sg:/dev/sg3,ro", "sg:/dev/sg3,raw"};
	struct pvs_lun *lun = NULL;
	struct fz f;
	char err[256];
	uint8_t pdt, mode;
	unsigned int dc;

	fz_init(&f, data, size);
	if (!worker && pvs_worker_new(64, &worker))
		abort();
	pdt = fz_u8(&f);
	mode = fz_u8(&f) % 3;
	memset(&reply, 0, sizeof(reply));
	reply.match_len = 0; /* every CDB gets this answer */
	reply.status = fz_bool(&f) ? 0 : fz_u8(&f);
	reply.data_len = fz_u16(&f) % (sizeof(reply.data) + 1);
	fz_bytes(&f, reply.data, reply.data_len);
	if (fz_bool(&f)) {
		reply.resid_set = true;
		reply.resid = (int)(int16_t)fz_u16(&f);
	}
	fake_sg_reset();
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	fake_sg_set_pdt(pdt);
	fake_sg_script(&reply);
	pvsi_sg_set_ops(&fake_sg_ops);
	if (pvs_lun_open(worker, specs[mode], NULL, &lun, err, sizeof(err))) {
		/* qualifier 3 (no logical unit) is refused; nothing else may be */
		FZ_CHECK((pdt >> 5) == 3, "open of type %02x failed: %s", pdt, err);
		return 0;
	}
	dc = pvsi_dclass_of(pdt);
	FZ_CHECK(pvs_lun_device_type(lun) == (pdt & 0x1f), "type %u", pvs_lun_device_type(lun));
	while (!fz_empty(&f)) {
		uint8_t cdb[16] = {0}, cdb_len = (uint8_t)(fz_u8(&f) % 16 + 1);
		size_t len = fz_u16(&f) % sizeof(buf), moved;
		unsigned int before = fake_sg_writes();
		const struct pvsi_opcode *op;
		struct fcmd c;
		uint32_t cmd_len = 0;

		fz_bytes(&f, cdb, cdb_len);
		memset(&c, 0, sizeof(c));
		memset(buf, 0xa5, sizeof(buf));
		c.iov[0].iov_base = buf;
		c.iov[0].iov_len = len;
		memcpy(c.req.cdb, cdb, sizeof(cdb));
		c.req.cdb_len = cdb_len;
		c.req.dir = len ? PVS_DIR_FROM_DEV : PVS_DIR_NONE;
		c.req.iov = c.iov;
		c.req.iovcnt = len ? 1 : 0;
		c.req.done = fdone;
		c.req.max_xfer_blocks = fz_bool(&f) ? 0 : 128;
		pvs_submit(lun, &c.req);
		for (int i = 0; i < 100 && !c.done; i++) {
			pvs_worker_flush(worker);
			pvs_worker_wait(worker, 10);
		}
		pvs_worker_poll(worker);
		FZ_CHECK(c.done == 1, "completed %d times", c.done);
		FZ_CHECK(c.req.residual <= len, "residual %u of %zu", c.req.residual, len);
		moved = len - c.req.residual;
		op = pvsi_opcode_find_dc(dc, cdb, cdb_len);
		if (fake_sg_writes() > before) {
			FZ_CHECK(!memcmp(fake_sg_last_cdb(), cdb, cdb_len), "CDB changed");
			if (mode != 2) {
				FZ_CHECK(op && (op->flags & PVSI_OP_PT_ALLOW) &&
				             cdb_len >= op->cdb_len,
				         "type %02x: %02xh passed the filter", pdt, cdb[0]);
				FZ_CHECK(!(mode == 1 &&
				           (op->flags & (PVSI_OP_WRITE | PVSI_OP_MEDIUM_PARAMS))),
				         "read-only passed %02xh", cdb[0]);
			}
		}
		if (c.req.status == 0 && op && (op->flags & PVSI_OP_OPLIST) && mode != 2 &&
		    moved >= 4 && (cdb[2] & 0x07) == 0 && reply.data_len >= 4) {
			uint32_t was = pvsi_be32(reply.data);

			cmd_len = pvsi_be32(buf);
			FZ_CHECK(cmd_len <= was, "COMMAND DATA LENGTH grew: %u > %u", cmd_len, was);
		}
	}
	FZ_CHECK(pvs_lun_inflight(lun) == 0, "in flight at the end");
	pvs_lun_close(lun);
	return 0;
}
