/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emulate.c - emulated LUNs (file, mem and cdrom:): the LUN ops and the
 * dispatcher that takes every CDB through the opcode table.
 *
 * Order of checks, each ending the command when it fails:
 *   1. unit attention (ua.c) - before anything, unknown opcodes included,
 *      except for PVSI_OP_UA_OK commands (SAM-5 5.14);
 *   2. the opcode: unknown, or not emulated by this LUN, is INVALID
 *      COMMAND OPERATION CODE (field pointer: byte 0); a known opcode with
 *      an unknown service action is INVALID FIELD IN CDB (byte 1, bit 4);
 *   3. CDB length: shorter than the opcode's length is INVALID COMMAND
 *      OPERATION CODE, as QEMU does: bytes the device would need are
 *      missing, so the command as sent does not exist.  Longer is fine:
 *      virtio-scsi always carries cdb_size (32) bytes; the rest is ignored;
 *   4. reserved bits, NACA/LINK in the control byte: INVALID FIELD IN CDB
 *      with the byte and highest offending bit (from the table's usage data);
 *   5. data direction: a buffer whose direction disagrees with the
 *      command's data phase is never touched: INVALID FIELD IN CDB;
 *   6. reservations (pr.c), 7. stopped unit, or a cdrom: drive without
 *      medium (NOT READY), 8. write protect;
 *   9. the handler.
 */
#include <stdio.h>

#include "emulate_int.h"

/* Inline for check_cdb(), which asks on every command. */
static inline bool emu_supported(const struct pvs_lun *lun, const struct pvsi_opcode *op)
{
	if (!op || !op->handler || !(op->flags & PVSI_OP_EMU))
		return false;
	/* SBC-4 5.32: UNMAP exists only where LBPU is set (VPD B2h). */
	if (op->opcode == PVSI_OPC_UNMAP && !lun->thin)
		return false;
	return true;
}

bool pvsi_emu_supported(const struct pvs_lun *lun, const struct pvsi_opcode *op)
{
	return emu_supported(lun, op);
}

int pvsi_emu_respond(struct pvs_req *req, const void *buf, size_t len, uint64_t alloc)
{
	size_t n = alloc < len ? (size_t)alloc : len;

	req->core.xfer = (uint32_t)pvsi_req_copy_in(req, 0, buf, n);
	return PVS_SR_OK;
}

int pvsi_emu_cdb_field(struct pvs_req *req, int sr, int byte, int bit)
{
	pvsi_req_field(req, true, byte, bit);
	return sr;
}

int pvsi_emu_param_field(struct pvs_req *req, int sr, int byte, int bit)
{
	pvsi_req_field(req, false, byte, bit);
	return sr;
}

static int highest_bit(uint8_t v)
{
	return 31 - __builtin_clz(v);
}

_Static_assert(PVS_CDB_MAX >= 16, "pvsi_opcode_cdb_clean() reads 16 CDB bytes");

/* The reserved bit check_cdb() found set: the lowest byte, its highest bit. */
static int reserved_field(struct pvs_req *req, const struct pvsi_opcode *op)
{
	unsigned last = op->cdb_len - 1u;

	for (unsigned i = 1; i < last; i++) {
		uint8_t ok = op->usage[i];

		if (i == 1 && (op->flags & PVSI_OP_HAS_SA))
			ok |= 0x1f;
		if (req->cdb[i] & ~ok)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, (int)i,
			                          highest_bit(req->cdb[i] & ~ok));
	}
	/* SAM-5 5.2: NACA (bit 2) is unsupported, LINK/FLAG obsolete; 7:6 vendor. */
	return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, (int)last,
	                          highest_bit(req->cdb[last] & 0x07 & ~op->usage[last]));
}

static int check_cdb(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op,
                     unsigned len)
{
	bool supported;

	if (len == 0)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_OPCODE, 0, -1);
	supported = emu_supported(lun, op);
	if (!supported && len >= 2 && pvsi_opcode_any_dc(lun->dclass, req->cdb[0], PVSI_OP_HAS_SA))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 4);
	if (!supported || len < op->cdb_len)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_OPCODE, 0, -1);
	if (!pvsi_opcode_cdb_clean(op, req->cdb))
		return reserved_field(req, op);
	if (req->core.data_len && op->dir != PVS_DIR_NONE && req->dir != op->dir)
		return PVS_SR_INVALID_FIELD_IN_CDB;
	return PVS_SR_OK;
}

void pvsi_emulate_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	unsigned len = req->cdb_len > PVS_CDB_MAX ? PVS_CDB_MAX : req->cdb_len;
	/* A disk's table, or a cdrom: drive's (MMC) with the SPC entries. */
	const struct pvsi_opcode *op = pvsi_opcode_find_dc(lun->dclass, req->cdb, len);
	int sr;

	req->core.op = op;
	if (lun->gone) {
		pvsi_req_fail_host(req, PVS_HOST_NO_CONNECT);
		return;
	}
	sr = pvsi_ua_check(lun, req, op);
	if (sr != PVS_SR_OK)
		goto out;
	sr = check_cdb(lun, req, op, len);
	if (sr != PVS_SR_OK)
		goto out;
	/* Without a reservation there is no conflict: no call for the common case. */
	sr = lun->pr.spc2_reserved || lun->pr.pr_reserved ? pvsi_pr_check(lun, req, op) : PVS_SR_OK;
	if (sr != PVS_SR_OK)
		goto out;
	if (op->flags & PVSI_OP_NEED_READY) {
		sr = lun->stopped ? PVS_SR_NOT_READY_STOPPED
		     : lun->cd    ? pvsi_cd_ready(lun)
		                  : PVS_SR_OK;
		if (sr != PVS_SR_OK)
			goto out;
	}
	if ((op->flags & PVSI_OP_WRITE) && lun->ro) {
		sr = PVS_SR_WRITE_PROTECTED;
		goto out;
	}
	sr = op->handler(lun, req);
	if (sr == PVSI_ASYNC)
		return;
out:
	pvsi_req_complete(req, sr);
}

static int emu_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	return pvsi_sbc_cancel(lun, req);
}

static uint64_t emu_capacity(struct pvs_lun *lun)
{
	int64_t size = lun->store->size(lun);

	return size < 0 ? lun->nblocks : (uint64_t)size >> lun->block_shift;
}

static void emu_close(struct pvs_lun *lun)
{
	pvsi_sbc_close(lun);
	lun->store->close(lun);
}

static bool emu_busy(const struct pvs_lun *lun)
{
	return lun->store->busy && lun->store->busy(lun);
}

static int emu_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	return lun->store->move ? lun->store->move(lun, to, err, errlen) : 0;
}

int pvsi_emulate_open(struct pvs_lun *lun, char *err, size_t errlen)
{
	int rc = pvsi_sbc_open(lun);

	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot allocate the emulation scratch buffer",
			         lun->backing);
		lun->store->close(lun);
	}
	return rc;
}

const struct pvsi_lun_ops pvsi_emulated_ops = {
    .kind = "emulated",
    .submit = pvsi_emulate_submit,
    .cancel = emu_cancel,
    .capacity = emu_capacity,
    .close = emu_close,
    .busy = emu_busy,
    .move = emu_move,
};
