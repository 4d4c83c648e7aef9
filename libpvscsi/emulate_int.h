/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emulate_int.h - shared between emulate.c, spc.c and sbc*.c only: the
 * limits the Block Limits VPD page advertises and the SBC handlers enforce,
 * and small helpers for building responses.
 */
#ifndef PVSCSI_EMULATE_INT_H
#define PVSCSI_EMULATE_INT_H

#include "core.h"

/*
 * SBC-4 6.6.4 Block Limits.  The transfer limit also keeps every byte
 * count of one command far below the 32-bit core.xfer and sense
 * INFORMATION fields.  MAXIMUM UNMAP LBA COUNT is per command, summed over
 * its descriptors (SBC-4 5.32.2): the bound keeps one UNMAP's work bounded
 * (a RAM LUN zeroes what it unmaps) and Linux splits larger discards;
 * 2^20 is also the most libiscsi's conformance suite accepts as an
 * explicit limit.
 */
#define PVSI_EMU_MAX_XFER_BYTES   (8u << 20)
#define PVSI_EMU_MAX_UNMAP_BLOCKS (1u << 20)
#define PVSI_EMU_MAX_UNMAP_DESC   256u
#define PVSI_EMU_MAX_WS_BLOCKS    (1u << 22)
#define PVSI_EMU_OPT_GRAN_BYTES   4096u /* optimal transfer / unmap granularity */

/* Per-LUN scratch for VERIFY compares and WRITE SAME patterns. */
#define PVSI_EMU_SCRATCH_BYTES (64u << 10)

static inline uint32_t pvsi_emu_max_xfer_blocks(const struct pvs_lun *lun)
{
	return PVSI_EMU_MAX_XFER_BYTES >> lun->block_shift;
}

/*
 * MAXIMUM COMPARE AND WRITE LENGTH (SBC-4 6.6.4, one byte): what the
 * scratch holds, since the compare reads the range into it and the write
 * goes out from it.  128 blocks of 512 bytes, 16 of 4096.
 */
static inline uint32_t pvsi_emu_max_caw_blocks(const struct pvs_lun *lun)
{
	uint32_t n = PVSI_EMU_SCRATCH_BYTES >> lun->block_shift;

	return n < 255 ? n : 255;
}

/* SBC-4 6.6.6 / 5.20.2: the physical block is 4 KiB; report 2^n logical per physical. */
static inline uint8_t pvsi_emu_lbppbe(const struct pvs_lun *lun)
{
	return lun->block_size < 4096 ? (uint8_t)(12 - lun->block_shift) : 0;
}

/* Whether this emulated LUN implements @op (REPORT SUPPORTED OPERATION CODES agrees). */
bool pvsi_emu_supported(const struct pvs_lun *lun, const struct pvsi_opcode *op);

/*
 * Data-in: copy min(@len, @alloc, buffers) bytes of a response built in a
 * bounded local buffer, set core.xfer, return PVS_SR_OK.
 */
int pvsi_emu_respond(struct pvs_req *req, const void *buf, size_t len, uint64_t alloc);

/* Return @sr with a sense-key-specific field pointer into the CDB (@bit -1: none). */
int pvsi_emu_cdb_field(struct pvs_req *req, int sr, int byte, int bit);
/* Same, pointing into the parameter list. */
int pvsi_emu_param_field(struct pvs_req *req, int sr, int byte, int bit);

/* sbc_engine.c: per-LUN scratch state (at open), freed at close. */
int pvsi_sbc_open(struct pvs_lun *lun);
void pvsi_sbc_close(struct pvs_lun *lun);
/* The LUN's cancel: the store's, or at once for a request waiting for the scratch. */
int pvsi_sbc_cancel(struct pvs_lun *lun, struct pvs_req *req);

#endif
