/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sbc_int.h - shared between the SBC files only: sbc.c (the command
 * handlers), sbc_stage.c (what each command does at the store, stage by
 * stage) and sbc_engine.c (the engine that runs the stages, the scratch
 * and the COMPARE AND WRITE gate).
 */
#ifndef PVSCSI_SBC_INT_H
#define PVSCSI_SBC_INT_H

#include "emulate_int.h"

struct sbc_lun {
	uint8_t *buf; /* PVSI_EMU_SCRATCH_BYTES, then one pattern block */
	struct iovec iov;
	struct pvs_req *owner;
	struct pvs_req *wait_head, *wait_tail;
	bool handing_off;
	/* the COMPARE AND WRITE gate */
	uint64_t media;                        /* admitted commands not yet finished */
	struct pvs_req *caw;                   /* the COMPARE AND WRITE running alone, if any */
	struct pvs_req *gate_head, *gate_tail; /* held until it ends, FIFO */
	bool releasing;
};

/* req->core.scratch[] while an SBC command runs. */
#define S_FLAGS 0 /* ENG_* (sbc_engine.c) | kind << 8 */
#define S_RES   1 /* result of a store call that completed while issuing */
#define S_ARG   2 /* command-specific */
#define S_NEXT  3 /* next request in the gate or scratch queue (one at a time) */

#define RES_START INT64_MIN /* first call of a command's first stage */

enum kind { K_READ, K_WRITE, K_VERIFY, K_WS, K_UNMAP, K_SYNC, K_STOP, K_CAW, K_PREFETCH };

/* K_WRITE arguments */
#define W_FUA     0x01u
#define W_COMPARE 0x02u /* WRITE AND VERIFY with BYTCHK 01b */
#define W_READING 0x04u /* the write is done, comparing */

/* K_CAW arguments (with W_FUA) */
#define C_WRITING 0x08u /* the compare matched, writing */

/* K_WS modes */
enum { WS_ZERO, WS_UNMAP, WS_PATTERN };

static inline struct sbc_lun *st_of(struct pvs_lun *lun)
{
	return lun->emu;
}

/*
 * A stage: called with RES_START first, then with the result of the store
 * operation it started (bytes or -errno).  Starts another store operation
 * and returns PVSI_ASYNC, or returns the command's final reason.
 */
typedef int (*stage_fn)(struct pvs_lun *lun, struct pvs_req *req, int64_t res);

/* sbc_stage.c: indexed by enum kind. */
extern const stage_fn pvsi_sbc_stages[];

/* sbc_stage.c: the reason for a store error (-errno) of a read or a write. */
int pvsi_sbc_io_error(int64_t res, bool write);
/* sbc_stage.c: UNMAP block descriptor @i of the parameter list. */
void pvsi_sbc_unmap_desc(const struct pvs_req *req, uint64_t i, uint64_t *lba, uint32_t *n);
/*
 * sbc_stage.c: descriptor @i (@lba, @n) against the LUN and MAXIMUM UNMAP
 * LBA COUNT; the handler checks every one before the stages unmap any.
 */
int pvsi_sbc_unmap_check(struct pvs_lun *lun, struct pvs_req *req, uint64_t i, uint64_t lba,
                         uint32_t n, uint64_t *total);

/*
 * sbc_engine.c: run @req's command (kind @k, its stage argument @arg) at
 * the store, once the gate lets it and, with @scratch, once it owns the
 * scratch.  Returns PVSI_ASYNC: the engine completes the request.
 */
int pvsi_sbc_start(struct pvs_lun *lun, struct pvs_req *req, enum kind k, uint64_t arg,
                   bool scratch);

#endif
