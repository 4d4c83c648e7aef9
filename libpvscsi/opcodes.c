/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * opcodes.c - THE opcode tables.  Everything that needs to know about a
 * command reads it from here: the emulation dispatcher (CDB length,
 * reserved bits, direction, unit attention / reservation / ready / write
 * protect rules, handler), the passthrough filter (PVSI_OP_PT_ALLOW),
 * REPORT SUPPORTED OPERATION CODES (EMU entries, CDB usage data) and trace
 * names.  Nothing else lists opcodes; opcode.h names them, for the
 * entries here and for the few rules elsewhere that tell one command from
 * another.
 *
 * Rules for entries:
 *  - sorted by opcode, then service action: pvsi_opcode_find() indexes the
 *    first entry of each opcode and scans its service actions from there;
 *  - PVSI_OP_EMU exactly when handler != NULL;
 *  - usage[0] is the opcode; for PVSI_OP_HAS_SA entries usage[1] carries the
 *    service action in bits 4:0 (SPC-5 6.35.3) and the dispatcher treats
 *    those bits as the service action, not as usage bits;
 *  - a usage bit of 0 in bytes 1..n-2 is a reserved or unsupported bit: the
 *    dispatcher answers INVALID FIELD IN CDB when it is set.  The control
 *    byte's usage is 00h: NACA and the obsolete LINK/FLAG bits are
 *    rejected, the vendor-specific bits 7:6 are ignored;
 *  - the passthrough allow-list (PVSI_OP_PT_ALLOW) of a disk follows the
 *    historical xenlinux scsiback default-deny list.  FORMAT UNIT, REASSIGN
 *    BLOCKS, SEND DIAGNOSTIC, WRITE/READ BUFFER (firmware download, vendor
 *    diagnostics), WRITE LONG, SANITIZE, LOG SELECT, EXTENDED COPY and ATA
 *    PASS-THROUGH are present to say why they are denied (.why, logged
 *    with each refusal); vendor-specific opcodes (C0h-FFh) and everything
 *    else absent are denied as well;
 *  - PVSI_OP_SPC marks the commands every device type shares.  Tape drives,
 *    optical drives and medium changers have tables of their own below
 *    (their command sets give 01h, 1Bh, 2Bh, 34h... other meanings), read
 *    before the SPC entries of this one; any other device type gets the
 *    SPC entries alone.  pvsi_opcode_find_dc() does the lookup.
 *
 * Each entry also says where its CDB gives the length of the data phase
 * (.xfer, see XN..XU below): pvs_cdb_xfer() reads it so that a transport
 * can tell buffers too small for a command before it runs.
 *
 * Read-only LUNs refuse WR entries with DATA PROTECT (emulated and
 * passthrough alike); read-only passthrough LUNs also refuse MPR entries,
 * which reach the device's own parameters.  Which commands those are
 * depends on the device type: 42h is UNMAP (WR) to a disk but READ
 * SUB-CHANNEL to a CD/DVD drive, which its own table lists as a read.
 *
 * The direction is that of the data phase when there is one.  Commands
 * whose data phase depends on a CDB field (VERIFY's BYTCHK, WRITE SAME's
 * NDOB) list the direction of the data they may carry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "emulate_int.h"

#define EMU PVSI_OP_EMU
#define PT  PVSI_OP_PT_ALLOW
#define WR  PVSI_OP_WRITE
#define UA  PVSI_OP_UA_OK
#define RES PVSI_OP_RES_OK
#define RDY PVSI_OP_NEED_READY
#define TGT PVSI_OP_TARGET
#define MPR PVSI_OP_MEDIUM_PARAMS
#define WEO PVSI_OP_WE_OK
#define MDA PVSI_OP_MODE_DATA
#define VPD PVSI_OP_VPD
#define SPC PVSI_OP_SPC
#define OPL PVSI_OP_OPLIST

#define NONE PVS_DIR_NONE
#define IN   PVS_DIR_FROM_DEV
#define OUT  PVS_DIR_TO_DEV

/* An entry without a service action. */
#define OP(op, len, dir_, xf, fl, nm, fn, ...)                                                     \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .xfer = {xf}, .flags = (fl),      \
		.name = (nm), .handler = (fn), .usage = {(op), __VA_ARGS__},                       \
	}
/*
 * A passthrough entry of a device class's own table: the filter and the
 * names need no usage data, which only emulated commands report.
 */
#define PT_OP(op, len, dir_, xf, fl, nm)                                                           \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .xfer = {xf}, .flags = (fl),      \
		.name = (nm), .usage = {                                                           \
			(op)                                                                       \
		}                                                                                  \
	}
/* The same, with a CDB field the filter checks (struct pvsi_opcode.bad_field). */
#define PT_OPF(op, len, dir_, xf, fl, nm, chk)                                                     \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .xfer = {xf}, .flags = (fl),      \
		.name = (nm), .bad_field = (chk), .usage = {                                       \
			(op)                                                                       \
		}                                                                                  \
	}
/* A command the filter refuses, and why (struct pvsi_opcode.why). */
#define DENY(op, len, dir_, xf, fl, nm, why_)                                                      \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .xfer = {xf}, .flags = (fl),      \
		.name = (nm), .why = (why_), .usage = {                                            \
			(op)                                                                       \
		}                                                                                  \
	}
/* One service action of an opcode (SA in CDB byte 1, bits 4:0). */
#define OPSA(op, sa_, len, dir_, xf, fl, nm, fn, ...)                                              \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .sa = (sa_), .dir = (dir_), .xfer = {xf},        \
		.flags = (fl) | PVSI_OP_HAS_SA, .name = (nm), .handler = (fn),                     \
		.usage = {(op), __VA_ARGS__},                                                      \
	}

/*
 * The length of the data phase (struct pvsi_xfer, read by pvs_cdb_xfer()):
 * XN none; XB(at, width) bytes, an allocation or parameter list length;
 * XL(at, width) logical blocks, a TRANSFER LENGTH; XL6 the same in byte 4
 * with 0 meaning 256 (SBC-4 5.13, 5.47); XFIX(n) always n bytes; XV
 * VERIFY's, by BYTCHK; XWS WRITE SAME's one block (none with NDOB); XCAW
 * COMPARE AND WRITE's twice NUMBER OF LOGICAL BLOCKS; XU not from the CDB
 * alone (the parameter data says, or MMC sector sizes vary).
 */
#define XU        PVSI_XF_UNKNOWN, 0, 0
#define XN        PVSI_XF_NONE, 0, 0
#define XB(at, w) PVSI_XF_BYTES, (at), (w)
#define XL(at, w) PVSI_XF_BLOCKS, (at), (w)
#define XL6       PVSI_XF_BLOCKS6, 4, 1
#define XFIX(n)   PVSI_XF_FIXED, (n), 0
#define XV(at, w) PVSI_XF_VERIFY, (at), (w)
#define XWS       PVSI_XF_WRITE_SAME, 0, 0
#define XCAW      PVSI_XF_CAW, 13, 1

/* CDB usage of the LBA/length families (SBC-4 5.x): bytes after the opcode. */
#define RW10(b1) (b1), 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00
#define RW12(b1) (b1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00
#define RW16(b1)                                                                                   \
	(b1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00
#define DPO_FUA  0x18 /* DPO, FUA */
#define DPO_BCHK 0x16 /* DPO, BYTCHK (2 bits, SBC-4) */
#define PRO(sa)  (sa), 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00
#define PRI(sa)  (sa), 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00

const struct pvsi_opcode pvsi_opcodes[] = {
    OP(PVSI_OPC_TEST_UNIT_READY, 6, NONE, XN, EMU | PT | RDY | RES | SPC, "TEST UNIT READY",
       pvsi_spc_test_unit_ready, 0, 0, 0, 0, 0),
    OP(PVSI_OPC_REZERO_UNIT, 6, NONE, XN, PT, "REZERO UNIT", NULL),
    OP(PVSI_OPC_REQUEST_SENSE, 6, IN, XB(4, 1), EMU | PT | UA | RES | TGT | SPC, "REQUEST SENSE",
       pvsi_spc_request_sense, 0x01, 0, 0, 0xff, 0),
    DENY(PVSI_OPC_FORMAT_UNIT, 6, OUT, XU, WR, "FORMAT UNIT",
         "reformats the whole medium: every block of it is lost, and a failed format can leave "
         "the disk unusable"),
    DENY(PVSI_OPC_REASSIGN_BLOCKS, 6, OUT, XU, WR, "REASSIGN BLOCKS",
         "changes the disk's defect list, which outlives any guest"),
    OP(PVSI_OPC_READ_6, 6, IN, XL6, EMU | PT | RDY, "READ(6)", pvsi_sbc_read, 0x1f, 0xff, 0xff,
       0xff, 0),
    OP(PVSI_OPC_WRITE_6, 6, OUT, XL6, EMU | PT | RDY | WR, "WRITE(6)", pvsi_sbc_write, 0x1f, 0xff,
       0xff, 0xff, 0),
    /* Byte 1 bits 7:5: the SCSI-2 LUN field, still sent by Linux's first INQUIRY. */
    OP(PVSI_OPC_INQUIRY, 6, IN, XB(3, 2), EMU | PT | UA | RES | TGT | VPD | SPC, "INQUIRY",
       pvsi_spc_inquiry, 0xe3, 0xff, 0xff, 0xff, 0),
    OP(PVSI_OPC_MODE_SELECT_6, 6, OUT, XB(4, 1), EMU | PT | MPR | SPC, "MODE SELECT(6)",
       pvsi_spc_mode_select, 0x11, 0, 0, 0xff, 0),
    OP(PVSI_OPC_RESERVE_6, 6, NONE, XN, EMU | PT | SPC, "RESERVE(6)", pvsi_pr_reserve, 0, 0, 0, 0,
       0),
    OP(PVSI_OPC_RELEASE_6, 6, NONE, XN, EMU | PT | RES | SPC, "RELEASE(6)", pvsi_pr_release, 0, 0,
       0, 0, 0),
    OP(PVSI_OPC_MODE_SENSE_6, 6, IN, XB(4, 1), EMU | PT | MDA | SPC, "MODE SENSE(6)",
       pvsi_spc_mode_sense, 0x08, 0xff, 0xff, 0xff, 0),
    OP(PVSI_OPC_START_STOP_UNIT, 6, NONE, XN, EMU | PT, "START STOP UNIT", pvsi_sbc_start_stop,
       0x01, 0, 0, 0x07, 0),
    OP(PVSI_OPC_RECEIVE_DIAGNOSTIC_RESULTS, 6, IN, XB(3, 2), PT | SPC, "RECEIVE DIAGNOSTIC RESULTS",
       NULL),
    DENY(PVSI_OPC_SEND_DIAGNOSTIC, 6, OUT, XB(3, 2), SPC, "SEND DIAGNOSTIC",
         "runs the device's self-tests and vendor diagnostics, which may take it offline for "
         "every initiator"),
    OP(PVSI_OPC_PREVENT_ALLOW_MEDIUM_REMOVAL, 6, NONE, XN, EMU | PT | SPC,
       "PREVENT ALLOW MEDIUM REMOVAL", pvsi_sbc_prevent_allow, 0, 0, 0, 0x01, 0),
    OP(PVSI_OPC_READ_CAPACITY_10, 10, IN, XFIX(8), EMU | PT | RDY | RES, "READ CAPACITY(10)",
       pvsi_sbc_read_capacity, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0),
    OP(PVSI_OPC_READ_10, 10, IN, XL(7, 2), EMU | PT | RDY, "READ(10)", pvsi_sbc_read,
       RW10(DPO_FUA)),
    OP(PVSI_OPC_WRITE_10, 10, OUT, XL(7, 2), EMU | PT | RDY | WR, "WRITE(10)", pvsi_sbc_write,
       RW10(DPO_FUA)),
    OP(PVSI_OPC_SEEK_10, 10, NONE, XN, PT, "SEEK(10)", NULL),
    OP(PVSI_OPC_WRITE_AND_VERIFY_10, 10, OUT, XL(7, 2), EMU | PT | RDY | WR, "WRITE AND VERIFY(10)",
       pvsi_sbc_write, RW10(DPO_BCHK)),
    OP(PVSI_OPC_VERIFY_10, 10, OUT, XV(7, 2), EMU | PT | RDY | WEO, "VERIFY(10)", pvsi_sbc_verify,
       RW10(DPO_BCHK)),
    OP(PVSI_OPC_PRE_FETCH_10, 10, NONE, XN, EMU | PT | RDY | WEO, "PRE-FETCH(10)",
       pvsi_sbc_prefetch, RW10(0x02)),
    OP(PVSI_OPC_SYNCHRONIZE_CACHE_10, 10, NONE, XN, EMU | PT | RDY, "SYNCHRONIZE CACHE(10)",
       pvsi_sbc_sync_cache, RW10(0x02)),
    OP(PVSI_OPC_READ_DEFECT_DATA_10, 10, IN, XB(7, 2), PT, "READ DEFECT DATA(10)", NULL),
    DENY(PVSI_OPC_WRITE_BUFFER, 10, OUT, XB(6, 3), SPC, "WRITE BUFFER",
         "its modes 04h-07h and 0Dh-0Fh download firmware into the device, for every initiator "
         "and beyond any guest; no guest tool needs its other modes"),
    DENY(PVSI_OPC_READ_BUFFER_10, 10, IN, XB(6, 3), SPC, "READ BUFFER(10)",
         "reads vendor diagnostic buffers of the device, shared with every initiator"),
    DENY(PVSI_OPC_WRITE_LONG_10, 10, OUT, XU, WR, "WRITE LONG(10)",
         "writes uncorrectable sectors on purpose"),
    OP(PVSI_OPC_WRITE_SAME_10, 10, OUT, XWS, EMU | PT | RDY | WR, "WRITE SAME(10)",
       pvsi_sbc_write_same, RW10(0x08)),
    /* 42h is also MMC's READ SUB-CHANNEL: harmless to pass to a CD drive. */
    OP(PVSI_OPC_UNMAP, 10, OUT, XB(7, 2), EMU | PT | RDY | WR, "UNMAP", pvsi_sbc_unmap, 0, 0, 0, 0,
       0, 0x3f, 0xff, 0xff, 0),
    DENY(PVSI_OPC_SANITIZE, 10, NONE, XN, WR, "SANITIZE",
         "erases all user data of the whole device beyond recovery, and goes on across resets"),
    DENY(PVSI_OPC_LOG_SELECT, 10, OUT, XB(7, 2), SPC, "LOG SELECT",
         "resets or changes the device's log counters and thresholds, shared with every initiator"),
    OP(PVSI_OPC_LOG_SENSE, 10, IN, XB(7, 2), PT | RES | SPC, "LOG SENSE", NULL),
    OP(PVSI_OPC_MODE_SELECT_10, 10, OUT, XB(7, 2), EMU | PT | MPR | SPC, "MODE SELECT(10)",
       pvsi_spc_mode_select, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_RESERVE_10, 10, OUT, XB(7, 2), EMU | PT | SPC, "RESERVE(10)", pvsi_pr_reserve, 0, 0,
       0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_RELEASE_10, 10, OUT, XB(7, 2), EMU | PT | RES | SPC, "RELEASE(10)", pvsi_pr_release,
       0, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_MODE_SENSE_10, 10, IN, XB(7, 2), EMU | PT | MDA | SPC, "MODE SENSE(10)",
       pvsi_spc_mode_sense, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_KEYS, 10, IN, XB(7, 2),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE IN(READ KEYS)", pvsi_pr_in, PRI(0x00)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_RESERVATION, 10, IN, XB(7, 2),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE IN(READ RESERVATION)", pvsi_pr_in, PRI(0x01)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_REPORT_CAPABILITIES, 10, IN, XB(7, 2),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE IN(REPORT CAPABILITIES)", pvsi_pr_in, PRI(0x02)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_FULL_STATUS, 10, IN, XB(7, 2),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE IN(READ FULL STATUS)", pvsi_pr_in, PRI(0x03)),
    /*
     * SPC-5 Table 67: REGISTER (AND IGNORE) are allowed from any I_T
     * nexus; the others depend on registration, which pvsi_pr_out checks.
     */
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_REGISTER, 10, OUT, XB(5, 4),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE OUT(REGISTER)", pvsi_pr_out, PRO(0x00)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_RESERVE, 10, OUT, XB(5, 4), EMU | PT | SPC,
         "PERSISTENT RESERVE OUT(RESERVE)", pvsi_pr_out, PRO(0x01)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_RELEASE, 10, OUT, XB(5, 4), EMU | PT | SPC,
         "PERSISTENT RESERVE OUT(RELEASE)", pvsi_pr_out, PRO(0x02)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_CLEAR, 10, OUT, XB(5, 4), EMU | PT | SPC,
         "PERSISTENT RESERVE OUT(CLEAR)", pvsi_pr_out, PRO(0x03)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_PREEMPT, 10, OUT, XB(5, 4), EMU | PT | SPC,
         "PERSISTENT RESERVE OUT(PREEMPT)", pvsi_pr_out, PRO(0x04)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_PREEMPT_AND_ABORT, 10, OUT, XB(5, 4),
         EMU | PT | SPC, "PERSISTENT RESERVE OUT(PREEMPT AND ABORT)", pvsi_pr_out, PRO(0x05)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_REGISTER_AND_IGNORE, 10, OUT, XB(5, 4),
         EMU | PT | RES | SPC, "PERSISTENT RESERVE OUT(REGISTER AND IGNORE EXISTING KEY)",
         pvsi_pr_out, PRO(0x06)),
    DENY(PVSI_OPC_EXTENDED_COPY, 16, OUT, XB(10, 4), WR | SPC, "EXTENDED COPY",
         "copies between logical units the device can reach, not only the guest's"),
    DENY(PVSI_OPC_ATA_PASS_THROUGH_16, 16, NONE, XN, WR | SPC, "ATA PASS-THROUGH(16)",
         "sends ATA commands (firmware download, security erase) past the SCSI layer"),
    OP(PVSI_OPC_READ_16, 16, IN, XL(10, 4), EMU | PT | RDY, "READ(16)", pvsi_sbc_read,
       RW16(DPO_FUA)),
    /*
     * Not passed to filtered passthrough: the historical scsiback list
     * lacks it.  NUMBER OF LOGICAL BLOCKS is byte 13; 10-12 are reserved.
     */
    {.opcode = PVSI_OPC_COMPARE_AND_WRITE,
     .cdb_len = 16,
     .dir = OUT,
     .xfer = {XCAW},
     .flags = EMU | RDY | WR,
     .name = "COMPARE AND WRITE",
     .handler = pvsi_sbc_compare_and_write,
     .why = "not in the xenlinux scsiback allow-list the filter started from; feature-host "
            "passes it",
     .usage = {PVSI_OPC_COMPARE_AND_WRITE, DPO_FUA, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
               0, 0, 0, 0xff, 0x3f, 0x00}},
    OP(PVSI_OPC_WRITE_16, 16, OUT, XL(10, 4), EMU | PT | RDY | WR, "WRITE(16)", pvsi_sbc_write,
       RW16(DPO_FUA)),
    OP(PVSI_OPC_WRITE_AND_VERIFY_16, 16, OUT, XL(10, 4), EMU | PT | RDY | WR,
       "WRITE AND VERIFY(16)", pvsi_sbc_write, RW16(DPO_BCHK)),
    OP(PVSI_OPC_VERIFY_16, 16, OUT, XV(10, 4), EMU | PT | RDY | WEO, "VERIFY(16)", pvsi_sbc_verify,
       RW16(DPO_BCHK)),
    OP(PVSI_OPC_PRE_FETCH_16, 16, NONE, XN, EMU | PT | RDY | WEO, "PRE-FETCH(16)",
       pvsi_sbc_prefetch, RW16(0x02)),
    OP(PVSI_OPC_SYNCHRONIZE_CACHE_16, 16, NONE, XN, EMU | PT | RDY, "SYNCHRONIZE CACHE(16)",
       pvsi_sbc_sync_cache, RW16(0x02)),
    OP(PVSI_OPC_WRITE_SAME_16, 16, OUT, XWS, EMU | PT | RDY | WR, "WRITE SAME(16)",
       pvsi_sbc_write_same, RW16(0x09)),
    OPSA(PVSI_OPC_SERVICE_ACTION_IN_16, PVSI_SA_READ_CAPACITY_16, 16, IN, XB(10, 4),
         EMU | PT | RDY | RES, "READ CAPACITY(16)", pvsi_sbc_read_capacity16, 0x10, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0),
    /* Byte 14, REPORT TYPE: only 0 (every LBA) is implemented. */
    OPSA(PVSI_OPC_SERVICE_ACTION_IN_16, PVSI_SA_GET_LBA_STATUS, 16, IN, XB(10, 4), EMU | PT | RDY,
         "GET LBA STATUS", pvsi_sbc_get_lba_status, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
    {.opcode = PVSI_OPC_SERVICE_ACTION_OUT_16,
     .cdb_len = 16,
     .sa = PVSI_SA_WRITE_LONG_16,
     .dir = OUT,
     .xfer = {XU},
     .flags = WR | PVSI_OP_HAS_SA,
     .name = "WRITE LONG(16)",
     .why = "writes uncorrectable sectors on purpose",
     .usage = {PVSI_OPC_SERVICE_ACTION_OUT_16, 0x11}},
    OP(PVSI_OPC_REPORT_LUNS, 12, IN, XB(6, 4), EMU | PT | UA | RES | TGT | SPC, "REPORT LUNS",
       pvsi_spc_report_luns, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
    DENY(PVSI_OPC_ATA_PASS_THROUGH_12, 12, NONE, XN, WR | SPC, "ATA PASS-THROUGH(12)",
         "sends ATA commands (firmware download, security erase) past the SCSI layer"),
    OPSA(PVSI_OPC_MAINTENANCE_IN, PVSI_SA_REPORT_SUPPORTED_OPERATION_CODES, 12, IN, XB(6, 4),
         EMU | PT | RES | SPC | OPL, "REPORT SUPPORTED OPERATION CODES",
         pvsi_spc_report_supported_opcodes, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
         0),
    OP(PVSI_OPC_READ_12, 12, IN, XL(6, 4), EMU | PT | RDY, "READ(12)", pvsi_sbc_read,
       RW12(DPO_FUA)),
    OP(PVSI_OPC_WRITE_12, 12, OUT, XL(6, 4), EMU | PT | RDY | WR, "WRITE(12)", pvsi_sbc_write,
       RW12(DPO_FUA)),
    OP(PVSI_OPC_WRITE_AND_VERIFY_12, 12, OUT, XL(6, 4), EMU | PT | RDY | WR, "WRITE AND VERIFY(12)",
       pvsi_sbc_write, RW12(DPO_BCHK)),
    OP(PVSI_OPC_VERIFY_12, 12, OUT, XV(6, 4), EMU | PT | RDY | WEO, "VERIFY(12)", pvsi_sbc_verify,
       RW12(DPO_BCHK)),
};

const unsigned int pvsi_nopcodes = sizeof(pvsi_opcodes) / sizeof(pvsi_opcodes[0]);

/*
 * The device classes' own tables, for filtered passthrough (no emulation):
 * each lists what its command set adds to the SPC entries above, or gives
 * another meaning to a byte the SBC table reads.  Names and CDB lengths
 * follow SSC-5, SMC-3 and MMC-6 as sg3_utils' sg_lib_data.c and QEMU's
 * scsi-bus.c give them.  A tape's transfer lengths are in the device's own
 * block size, and a CD's sector sizes vary: their length is XU, for the
 * device decides, as it does for every passthrough command.
 *
 * A command a class reads as writing the guest's data is WR, so that a
 * read-only LUN refuses it with DATA PROTECT; one that changes what the
 * device does with later data (encryption keys, volume tags) is MPR.  A
 * changer's moves are neither: moving a cartridge changes no data on it.
 */

/* SEND KEY with KEY FORMAT 06h sets the drive's RPC-2 region: a few changes and it is final. */
static int send_key_region(const uint8_t *cdb)
{
	return (cdb[10] & 0x3f) == 0x06 ? 10 : -1;
}

static const struct pvsi_opcode ssc_opcodes[] = {
    PT_OP(PVSI_SSC_REWIND, 6, NONE, XN, PT, "REWIND"),
    DENY(PVSI_SSC_FORMAT_MEDIUM, 6, OUT, XU, WR, "FORMAT MEDIUM",
         "reformats or repartitions the whole cartridge: everything on it is lost (Linux st sends "
         "it only to make partitions, MTMKPART)"),
    PT_OP(PVSI_SSC_READ_BLOCK_LIMITS, 6, IN, XU, PT, "READ BLOCK LIMITS"),
    PT_OP(PVSI_SSC_READ_6, 6, IN, XU, PT, "READ(6)"),
    PT_OP(PVSI_SSC_WRITE_6, 6, OUT, XU, PT | WR, "WRITE(6)"),
    DENY(PVSI_SSC_SET_CAPACITY, 6, NONE, XN, WR, "SET CAPACITY",
         "changes the cartridge's native capacity, and SSC-5 says the data on it is then lost"),
    PT_OP(PVSI_SSC_READ_REVERSE_6, 6, IN, XU, PT, "READ REVERSE(6)"),
    PT_OP(PVSI_SSC_WRITE_FILEMARKS_6, 6, NONE, XN, PT | WR, "WRITE FILEMARKS(6)"),
    PT_OP(PVSI_SSC_SPACE_6, 6, NONE, XN, PT, "SPACE(6)"),
    PT_OP(PVSI_SSC_VERIFY_6, 6, OUT, XU, PT, "VERIFY(6)"),
    PT_OP(PVSI_SSC_RECOVER_BUFFERED_DATA, 6, IN, XU, PT, "RECOVER BUFFERED DATA"),
    PT_OP(PVSI_SSC_ERASE_6, 6, NONE, XN, PT | WR, "ERASE(6)"),
    PT_OP(PVSI_SSC_LOAD_UNLOAD, 6, NONE, XN, PT, "LOAD UNLOAD"),
    PT_OP(PVSI_SSC_LOCATE_10, 10, NONE, XN, PT, "LOCATE(10)"),
    PT_OP(PVSI_SSC_READ_POSITION, 10, IN, XU, PT, "READ POSITION"),
    PT_OP(PVSI_SSC_REPORT_DENSITY_SUPPORT, 10, IN, XB(7, 2), PT, "REPORT DENSITY SUPPORT"),
    PT_OP(PVSI_SSC_WRITE_FILEMARKS_16, 16, NONE, XN, PT | WR, "WRITE FILEMARKS(16)"),
    PT_OP(PVSI_SSC_READ_REVERSE_16, 16, IN, XU, PT, "READ REVERSE(16)"),
    PT_OP(PVSI_SSC_ALLOW_OVERWRITE, 16, NONE, XN, PT | WR, "ALLOW OVERWRITE"),
    PT_OP(PVSI_SSC_READ_16, 16, IN, XU, PT, "READ(16)"),
    PT_OP(PVSI_SSC_WRITE_16, 16, OUT, XU, PT | WR, "WRITE(16)"),
    PT_OP(PVSI_SSC_READ_ATTRIBUTE, 16, IN, XB(10, 4), PT, "READ ATTRIBUTE"),
    PT_OP(PVSI_SSC_WRITE_ATTRIBUTE, 16, OUT, XB(10, 4), PT | WR, "WRITE ATTRIBUTE"),
    PT_OP(PVSI_SSC_VERIFY_16, 16, OUT, XU, PT, "VERIFY(16)"),
    PT_OP(PVSI_SSC_SPACE_16, 16, NONE, XN, PT, "SPACE(16)"),
    PT_OP(PVSI_SSC_LOCATE_16, 16, NONE, XN, PT, "LOCATE(16)"),
    PT_OP(PVSI_SSC_ERASE_16, 16, NONE, XN, PT | WR, "ERASE(16)"),
    PT_OP(PVSI_SSC_SECURITY_PROTOCOL_IN, 12, IN, XB(6, 4), PT, "SECURITY PROTOCOL IN"),
    PT_OP(PVSI_SSC_SECURITY_PROTOCOL_OUT, 12, OUT, XB(6, 4), PT | MPR, "SECURITY PROTOCOL OUT"),
};

/*
 * MMC-6 (CD/DVD/BD drives): the passthrough filter of an optical drive, and
 * what a cdrom: drive emulates (the entries with a handler; the SPC entries
 * of the SBC table serve it too).  A cdrom: drive writes nothing: every
 * write command here lacks a handler and ends in INVALID COMMAND OPERATION
 * CODE, as a CD-ROM drive answers it.
 */
static const struct pvsi_opcode mmc_opcodes[] = {
    DENY(PVSI_MMC_FORMAT_UNIT, 6, OUT, XU, WR, "FORMAT UNIT",
         "formats the whole disc (DVD+RW, DVD-RAM, BD-RE): every track on it is lost"),
    /* MMC-6 6.39: IMMED, LoEj and Start; no power conditions, no format layer. */
    OP(PVSI_MMC_START_STOP_UNIT, 6, NONE, XN, EMU | PT, "START STOP UNIT", pvsi_mmc_start_stop,
       0x01, 0, 0, 0x03, 0),
    PT_OP(PVSI_MMC_READ_FORMAT_CAPACITIES, 10, IN, XB(7, 2), PT, "READ FORMAT CAPACITIES"),
    OP(PVSI_MMC_READ_CAPACITY, 10, IN, XFIX(8), EMU | PT | RDY | RES, "READ CAPACITY",
       pvsi_sbc_read_capacity, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0),
    /* A drive's own sector size varies with the medium; an emulated one's is 2048. */
    OP(PVSI_MMC_READ_10, 10, IN, XL(7, 2), EMU | PT | RDY, "READ(10)", pvsi_mmc_read,
       RW10(DPO_FUA)),
    PT_OP(PVSI_MMC_WRITE_10, 10, OUT, XU, PT | WR, "WRITE(10)"),
    PT_OP(PVSI_MMC_SEEK_10, 10, NONE, XN, PT, "SEEK(10)"),
    PT_OP(PVSI_MMC_WRITE_AND_VERIFY_10, 10, OUT, XU, PT | WR, "WRITE AND VERIFY(10)"),
    PT_OP(PVSI_MMC_VERIFY_10, 10, NONE, XN, PT, "VERIFY(10)"),
    PT_OP(PVSI_MMC_SYNCHRONIZE_CACHE, 10, NONE, XN, PT, "SYNCHRONIZE CACHE"),
    PT_OP(PVSI_MMC_READ_SUB_CHANNEL, 10, IN, XB(7, 2), PT, "READ SUB-CHANNEL"),
    OP(PVSI_MMC_READ_TOC_PMA_ATIP, 10, IN, XB(7, 2), EMU | PT | RDY, "READ TOC/PMA/ATIP",
       pvsi_mmc_read_toc, 0x02, 0x0f, 0, 0, 0, 0xff, 0xff, 0xff, 0),
    PT_OP(PVSI_MMC_PLAY_AUDIO_10, 10, NONE, XN, PT, "PLAY AUDIO(10)"),
    /* MMC-6 4.1.6.1: GET CONFIGURATION and GESN run despite a unit attention. */
    OP(PVSI_MMC_GET_CONFIGURATION, 10, IN, XB(7, 2), EMU | PT | UA | RES, "GET CONFIGURATION",
       pvsi_mmc_get_configuration, 0x03, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0),
    PT_OP(PVSI_MMC_PLAY_AUDIO_MSF, 10, NONE, XN, PT, "PLAY AUDIO MSF"),
    OP(PVSI_MMC_GET_EVENT_STATUS_NOTIFICATION, 10, IN, XB(7, 2), EMU | PT | UA | RES,
       "GET EVENT STATUS NOTIFICATION", pvsi_mmc_gesn, 0x01, 0, 0, 0xff, 0, 0, 0xff, 0xff, 0),
    PT_OP(PVSI_MMC_PAUSE_RESUME, 10, NONE, XN, PT, "PAUSE/RESUME"),
    PT_OP(PVSI_MMC_STOP_PLAY_SCAN, 10, NONE, XN, PT, "STOP PLAY/SCAN"),
    OP(PVSI_MMC_READ_DISC_INFORMATION, 10, IN, XB(7, 2), EMU | PT | RDY, "READ DISC INFORMATION",
       pvsi_mmc_read_disc_info, 0x07, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_MMC_READ_TRACK_INFORMATION, 10, IN, XB(7, 2), EMU | PT | RDY, "READ TRACK INFORMATION",
       pvsi_mmc_read_track_info, 0x03, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0),
    PT_OP(PVSI_MMC_RESERVE_TRACK, 10, NONE, XN, PT | WR, "RESERVE TRACK"),
    PT_OP(PVSI_MMC_SEND_OPC_INFORMATION, 10, OUT, XB(7, 2), PT | WR, "SEND OPC INFORMATION"),
    PT_OP(PVSI_MMC_REPAIR_TRACK, 10, NONE, XN, PT | WR, "REPAIR TRACK"),
    PT_OP(PVSI_MMC_CLOSE_TRACK_SESSION, 10, NONE, XN, PT | WR, "CLOSE TRACK/SESSION"),
    PT_OP(PVSI_MMC_READ_BUFFER_CAPACITY, 10, IN, XB(7, 2), PT, "READ BUFFER CAPACITY"),
    PT_OP(PVSI_MMC_SEND_CUE_SHEET, 10, OUT, XB(6, 3), PT | WR, "SEND CUE SHEET"),
    /* Erases a rewritable disc in the drive, the guest's own medium, as cdrecord blank= does. */
    PT_OP(PVSI_MMC_BLANK, 12, NONE, XN, PT | WR, "BLANK"),
    {.opcode = PVSI_MMC_SEND_KEY,
     .cdb_len = 12,
     .dir = OUT,
     .xfer = {XB(8, 2)},
     .flags = PT,
     .name = "SEND KEY",
     .why = "KEY FORMAT 06h sets the drive's region (RPC-2): a few changes, then it is final; "
            "INVALID FIELD IN CDB",
     .bad_field = send_key_region,
     .usage = {PVSI_MMC_SEND_KEY}},
    PT_OP(PVSI_MMC_REPORT_KEY, 12, IN, XB(8, 2), PT, "REPORT KEY"),
    PT_OP(PVSI_MMC_PLAY_AUDIO_12, 12, NONE, XN, PT, "PLAY AUDIO(12)"),
    PT_OP(PVSI_MMC_LOAD_UNLOAD_MEDIUM, 12, NONE, XN, PT, "LOAD/UNLOAD MEDIUM"),
    PT_OP(PVSI_MMC_SET_READ_AHEAD, 12, NONE, XN, PT, "SET READ AHEAD"),
    OP(PVSI_MMC_READ_12, 12, IN, XL(6, 4), EMU | PT | RDY, "READ(12)", pvsi_mmc_read,
       RW12(DPO_FUA)),
    PT_OP(PVSI_MMC_WRITE_12, 12, OUT, XU, PT | WR, "WRITE(12)"),
    PT_OP(PVSI_MMC_GET_PERFORMANCE, 12, IN, XU, PT, "GET PERFORMANCE"),
    PT_OP(PVSI_MMC_READ_DISC_STRUCTURE, 12, IN, XB(8, 2), PT, "READ DISC STRUCTURE"),
    PT_OP(PVSI_MMC_SET_STREAMING, 12, OUT, XB(9, 2), PT, "SET STREAMING"),
    PT_OP(PVSI_MMC_READ_CD_MSF, 12, IN, XU, PT, "READ CD MSF"),
    PT_OP(PVSI_MMC_SCAN, 12, NONE, XN, PT, "SCAN"),
    OP(PVSI_MMC_SET_CD_SPEED, 12, NONE, XN, EMU | PT, "SET CD SPEED", pvsi_mmc_set_cd_speed, 0x03,
       0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0),
    OP(PVSI_MMC_MECHANISM_STATUS, 12, IN, XB(8, 2), EMU | PT | RES, "MECHANISM STATUS",
       pvsi_mmc_mechanism_status, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0),
    PT_OP(PVSI_MMC_READ_CD, 12, IN, XU, PT, "READ CD"),
    PT_OP(PVSI_MMC_SEND_DISC_STRUCTURE, 12, OUT, XB(8, 2), PT | WR, "SEND DISC STRUCTURE"),
};

static const struct pvsi_opcode smc_opcodes[] = {
    PT_OP(PVSI_SMC_INITIALIZE_ELEMENT_STATUS, 6, NONE, XN, PT, "INITIALIZE ELEMENT STATUS"),
    PT_OP(PVSI_SMC_OPEN_CLOSE_IMPORT_EXPORT_ELEMENT, 6, NONE, XN, PT,
          "OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
    PT_OP(PVSI_SMC_POSITION_TO_ELEMENT, 10, NONE, XN, PT, "POSITION TO ELEMENT"),
    PT_OP(PVSI_SMC_INITIALIZE_ELEMENT_STATUS_WITH_RANGE, 10, NONE, XN, PT,
          "INITIALIZE ELEMENT STATUS WITH RANGE"),
    PT_OP(PVSI_SMC_READ_ATTRIBUTE, 16, IN, XB(10, 4), PT, "READ ATTRIBUTE"),
    PT_OP(PVSI_SMC_MOVE_MEDIUM, 12, NONE, XN, PT, "MOVE MEDIUM"),
    PT_OP(PVSI_SMC_EXCHANGE_MEDIUM, 12, NONE, XN, PT, "EXCHANGE MEDIUM"),
    PT_OP(PVSI_SMC_REQUEST_VOLUME_ELEMENT_ADDRESS, 12, IN, XB(7, 3), PT,
          "REQUEST VOLUME ELEMENT ADDRESS"),
    PT_OP(PVSI_SMC_SEND_VOLUME_TAG, 12, OUT, XB(8, 2), PT | MPR, "SEND VOLUME TAG"),
    PT_OP(PVSI_SMC_READ_ELEMENT_STATUS, 12, IN, XB(7, 3), PT, "READ ELEMENT STATUS"),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A sorted table and, per opcode, 1 + the position of its first entry (0:
 * absent).  direct[]: the answer of pvsi_opcode_find_dc() for this class
 * when the opcode alone decides it (no service action), so that every
 * command's lookup is one load; NULL: ask the tables.
 */
struct optable {
	const struct pvsi_opcode *ops;
	unsigned int n;
	uint8_t index[256];
	const struct pvsi_opcode *direct[256];
};

_Static_assert(NELEM(pvsi_opcodes) < 255 && NELEM(ssc_opcodes) < 255 && NELEM(mmc_opcodes) < 255 &&
                   NELEM(smc_opcodes) < 255,
               "index is 8-bit");
static struct optable optables[PVSI_DC__COUNT] = {
    [PVSI_DC_SBC] = {.ops = pvsi_opcodes, .n = NELEM(pvsi_opcodes)},
    [PVSI_DC_SSC] = {.ops = ssc_opcodes, .n = NELEM(ssc_opcodes)},
    [PVSI_DC_MMC] = {.ops = mmc_opcodes, .n = NELEM(mmc_opcodes)},
    [PVSI_DC_SMC] = {.ops = smc_opcodes, .n = NELEM(smc_opcodes)},
    [PVSI_DC_SPC] = {.ops = NULL, .n = 0},
};
/*
 * reserved[i]: the CDB bits entry i requires to be zero, from its usage
 * data by the rules above (bytes 1..n-2 outside usage, the service action
 * excepted; NACA, LINK and FLAG in the control byte), so that a valid CDB
 * is told apart with two word tests instead of a loop over its bytes.
 * Emulation reads it, and only emulated (SBC, MMC) commands have usage data.
 */
static uint8_t opcode_reserved[NELEM(pvsi_opcodes)][16];
static uint8_t mmc_reserved[NELEM(mmc_opcodes)][16];
static pthread_once_t opcode_index_once = PTHREAD_ONCE_INIT;
/* Set once the tables are built: the common case then skips pthread_once(). */
static atomic_bool opcode_index_ready;

static void reserved_build(const struct pvsi_opcode *op, uint8_t *r)
{
	unsigned last = op->cdb_len - 1u;

	for (unsigned b = 1; b < last; b++)
		r[b] = (uint8_t)~op->usage[b];
	if (op->flags & PVSI_OP_HAS_SA)
		r[1] &= (uint8_t)~0x1fu;
	r[last] = (uint8_t)(0x07u & ~op->usage[last]);
}

static const struct pvsi_opcode *find_in_tables(unsigned int dc, const uint8_t *cdb,
                                                unsigned int cdb_len);

static void opcode_index_build(void)
{
	for (unsigned t = 0; t < PVSI_DC__COUNT; t++)
		for (unsigned i = optables[t].n; i-- > 0;)
			optables[t].index[optables[t].ops[i].opcode] = (uint8_t)(i + 1);
	for (unsigned t = 0; t < PVSI_DC__COUNT; t++)
		for (unsigned b = 0; b < 256; b++) {
			/* One byte of CDB: an entry with a service action is not found. */
			const uint8_t cdb[1] = {(uint8_t)b};

			optables[t].direct[b] = find_in_tables(t, cdb, 1);
		}
	for (unsigned i = 0; i < pvsi_nopcodes; i++)
		reserved_build(&pvsi_opcodes[i], opcode_reserved[i]);
	for (unsigned i = 0; i < NELEM(mmc_opcodes); i++)
		reserved_build(&mmc_opcodes[i], mmc_reserved[i]);
	atomic_store_explicit(&opcode_index_ready, true, memory_order_release);
}

static void opcode_index_ensure(void)
{
	if (!atomic_load_explicit(&opcode_index_ready, memory_order_acquire))
		pthread_once(&opcode_index_once, opcode_index_build);
}

/* In table @t: NULL when absent, @*known set when the opcode is there (the SA is not). */
static const struct pvsi_opcode *table_find(const struct optable *t, const uint8_t *cdb,
                                            unsigned int cdb_len, bool *known)
{
	unsigned i = t->index[cdb[0]];
	uint8_t sa;

	*known = false;
	if (!i--)
		return NULL;
	*known = true;
	if (!(t->ops[i].flags & PVSI_OP_HAS_SA))
		return &t->ops[i];
	if (cdb_len < 2)
		return NULL;
	sa = cdb[1] & 0x1f;
	for (; i < t->n && t->ops[i].opcode == cdb[0]; i++)
		if (t->ops[i].sa == sa)
			return &t->ops[i];
	return NULL;
}

/* pvsi_opcode_find_dc() from the tables themselves, once they are indexed. */
static const struct pvsi_opcode *find_in_tables(unsigned int dc, const uint8_t *cdb,
                                                unsigned int cdb_len)
{
	const struct pvsi_opcode *op;
	bool known;

	op = table_find(&optables[dc], cdb, cdb_len, &known);
	if (op || known || dc == PVSI_DC_SBC)
		return op;
	op = table_find(&optables[PVSI_DC_SBC], cdb, cdb_len, &known);
	return op && (op->flags & PVSI_OP_SPC) ? op : NULL;
}

/*
 * Not inlined: the index build and the table walk would make every lookup
 * save and restore registers for them; this way the common one is a tail call.
 */
__attribute__((noinline)) static const struct pvsi_opcode *
find_slow(unsigned int dc, const uint8_t *cdb, unsigned int cdb_len)
{
	opcode_index_ensure();
	return find_in_tables(dc, cdb, cdb_len);
}

const struct pvsi_opcode *pvsi_opcode_find_dc(unsigned int dc, const uint8_t *cdb,
                                              unsigned int cdb_len)
{
	if (!cdb || cdb_len == 0 || dc >= PVSI_DC__COUNT)
		return NULL;
	if (atomic_load_explicit(&opcode_index_ready, memory_order_acquire) &&
	    optables[dc].direct[cdb[0]])
		return optables[dc].direct[cdb[0]];
	return find_slow(dc, cdb, cdb_len);
}

const struct pvsi_opcode *pvsi_opcode_find(const uint8_t *cdb, unsigned int cdb_len)
{
	return pvsi_opcode_find_dc(PVSI_DC_SBC, cdb, cdb_len);
}

unsigned int pvsi_dclass_of(uint8_t pdt)
{
	switch (pdt & 0x1f) {
	case 0x00:
	case 0x0e:
		return PVSI_DC_SBC;
	case 0x01:
		return PVSI_DC_SSC;
	case 0x05:
		return PVSI_DC_MMC;
	case 0x08:
		return PVSI_DC_SMC;
	default:
		return PVSI_DC_SPC;
	}
}

const char *pvsi_dclass_name(unsigned int dc)
{
	static const char *const names[PVSI_DC__COUNT] = {
	    [PVSI_DC_SBC] = "disk (SBC)",
	    [PVSI_DC_SSC] = "tape drive (SSC)",
	    [PVSI_DC_MMC] = "optical drive (MMC)",
	    [PVSI_DC_SMC] = "medium changer (SMC)",
	    [PVSI_DC_SPC] = "device of another type (SPC only)",
	};

	return dc < PVSI_DC__COUNT ? names[dc] : "?";
}

const struct pvsi_opcode *pvsi_dclass_table(unsigned int dc, unsigned int *n)
{
	if (dc >= PVSI_DC__COUNT) {
		*n = 0;
		return NULL;
	}
	*n = optables[dc].n;
	return optables[dc].ops;
}

const char *pvs_opcode_name(const uint8_t *cdb, unsigned int cdb_len)
{
	const struct pvsi_opcode *op = pvsi_opcode_find(cdb, cdb_len);

	return op ? op->name : "?";
}

const char *pvs_lun_opcode_name(const struct pvs_lun *lun, const uint8_t *cdb, unsigned int cdb_len)
{
	const struct pvsi_opcode *op =
	    pvsi_opcode_find_dc(lun ? lun->dclass : PVSI_DC_SBC, cdb, cdb_len);

	return op ? op->name : "?";
}

uint8_t pvs_lun_device_type(const struct pvs_lun *lun)
{
	return lun->pdt;
}

bool pvsi_opcode_any_dc(unsigned int dc, uint8_t opcode, uint32_t flags)
{
	for (unsigned int sa = 0; sa < 32; sa++) {
		uint8_t cdb[2] = {opcode, (uint8_t)sa};
		const struct pvsi_opcode *op = pvsi_opcode_find_dc(dc, cdb, 2);

		if (op && (op->flags & flags) == flags)
			return true;
		if (op && !(op->flags & PVSI_OP_HAS_SA))
			return false;
	}
	return false;
}

bool pvsi_opcode_any(uint8_t opcode, uint32_t flags)
{
	return pvsi_opcode_any_dc(PVSI_DC_SBC, opcode, flags);
}

static bool cdb_clean(const struct pvsi_opcode *op, const uint8_t *cdb)
{
	const uint8_t *r;
	uint64_t c[2], m[2];

	/* Only the emulating tables' entries are asked about. */
	if ((uintptr_t)op >= (uintptr_t)mmc_opcodes &&
	    (uintptr_t)op < (uintptr_t)(mmc_opcodes + NELEM(mmc_opcodes)))
		r = mmc_reserved[op - mmc_opcodes];
	else
		r = opcode_reserved[op - pvsi_opcodes];
	/* Same byte order on both sides: the test does not depend on it. */
	memcpy(c, cdb, sizeof(c));
	memcpy(m, r, sizeof(m));
	return !((c[0] & m[0]) | (c[1] & m[1]));
}

/* Apart, as find_slow(): the common test then saves no register. */
__attribute__((noinline)) static bool cdb_clean_slow(const struct pvsi_opcode *op,
                                                     const uint8_t *cdb)
{
	opcode_index_ensure();
	return cdb_clean(op, cdb);
}

bool pvsi_opcode_cdb_clean(const struct pvsi_opcode *op, const uint8_t *cdb)
{
	if (atomic_load_explicit(&opcode_index_ready, memory_order_acquire))
		return cdb_clean(op, cdb);
	return cdb_clean_slow(op, cdb);
}

static uint64_t xfer_field(const uint8_t *cdb, const struct pvsi_xfer *x)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < x->width; i++)
		v = v << 8 | cdb[x->at + i];
	return v;
}

bool pvs_cdb_xfer(const struct pvs_lun *lun, const uint8_t *cdb, unsigned int cdb_len, uint8_t *dir,
                  uint64_t *len)
{
	const struct pvsi_opcode *op =
	    pvsi_opcode_find_dc(lun ? lun->dclass : PVSI_DC_SBC, cdb, cdb_len);
	uint64_t bytes = 0, blocks = 0;

	if (!op || cdb_len < op->cdb_len)
		return false;
	/*
	 * A passthrough device owns its lengths, in its own block size, as
	 * QEMU's scsi-generic takes them from the buffers.  What a LUN (or the
	 * target) does not implement ends in an error without data.
	 */
	if (lun ? pvs_lun_is_passthrough(lun) || !pvsi_emu_supported(lun, op)
	        : !(op->flags & PVSI_OP_TARGET))
		return false;
	switch (op->xfer.kind) {
	case PVSI_XF_NONE:
		break;
	case PVSI_XF_BYTES:
		bytes = xfer_field(cdb, &op->xfer);
		break;
	case PVSI_XF_FIXED:
		bytes = op->xfer.at;
		break;
	case PVSI_XF_BLOCKS:
		blocks = xfer_field(cdb, &op->xfer);
		break;
	case PVSI_XF_BLOCKS6:
		blocks = cdb[op->xfer.at] ? cdb[op->xfer.at] : 256;
		break;
	case PVSI_XF_VERIFY:
		switch ((cdb[1] >> 1) & 0x03) {
		case 0:
			break;
		case 1:
			blocks = xfer_field(cdb, &op->xfer);
			break;
		case 3:
			blocks = 1;
			break;
		default:
			return false; /* reserved: the LUN refuses the CDB */
		}
		break;
	case PVSI_XF_WRITE_SAME:
		blocks = op->cdb_len == 16 && (cdb[1] & 0x01) ? 0 : 1;
		break;
	case PVSI_XF_CAW:
		blocks = 2 * xfer_field(cdb, &op->xfer);
		break;
	default:
		return false;
	}
	if (blocks) {
		if (!lun)
			return false;
		bytes = blocks * lun->block_size;
	}
	*dir = bytes ? op->dir : PVS_DIR_NONE;
	*len = bytes;
	return true;
}

/* Entries sorted by opcode, then service action. */
static int entry_cmp(const struct pvsi_opcode *a, const struct pvsi_opcode *b)
{
	if (a->opcode != b->opcode)
		return a->opcode < b->opcode ? -1 : 1;
	return a->sa < b->sa ? -1 : a->sa > b->sa;
}

unsigned int pvsi_dclass_entries(unsigned int dc, const struct pvsi_opcode **out, unsigned int max)
{
	unsigned int n = 0, nown = 0, k = 0, i = 0;
	const struct pvsi_opcode *own = pvsi_dclass_table(dc, &nown);

	if (dc == PVSI_DC_SBC)
		nown = 0;
	while ((i < nown || k < pvsi_nopcodes) && n < max) {
		const struct pvsi_opcode *e;

		if (k < pvsi_nopcodes) {
			uint8_t cdb[2] = {pvsi_opcodes[k].opcode, (uint8_t)pvsi_opcodes[k].sa};

			if (pvsi_opcode_find_dc(dc, cdb, 2) != &pvsi_opcodes[k]) {
				k++;
				continue;
			}
		}
		if (k >= pvsi_nopcodes || (i < nown && entry_cmp(&own[i], &pvsi_opcodes[k]) < 0))
			e = &own[i++];
		else
			e = &pvsi_opcodes[k++];
		out[n++] = e;
	}
	return n;
}

int pvs_filter_describe(uint8_t pdt, FILE *out)
{
	unsigned int dc = pvsi_dclass_of(pdt), n, ns, i = 0, k = 0;
	const struct pvsi_opcode *own = pvsi_dclass_table(dc, &n), *spc = pvsi_opcodes;

	opcode_index_ensure();
	if (dc == PVSI_DC_SBC)
		n = 0; /* the SBC table is walked as the shared one */
	ns = pvsi_nopcodes;
	fprintf(out, "| opcode | command | passes | read-only | why not |\n");
	fprintf(out, "|---|---|---|---|---|\n");
	/* Merge the class's own entries with the shared ones it does not shadow. */
	while (i < n || k < ns) {
		const struct pvsi_opcode *e;
		uint8_t cdb[2];

		if (k < ns) {
			cdb[0] = spc[k].opcode;
			cdb[1] = (uint8_t)spc[k].sa;
			if ((dc != PVSI_DC_SBC && !(spc[k].flags & PVSI_OP_SPC)) ||
			    pvsi_opcode_find_dc(dc, cdb, 2) != &spc[k]) {
				k++;
				continue;
			}
		}
		if (k >= ns || (i < n && entry_cmp(&own[i], &spc[k]) < 0))
			e = &own[i++];
		else
			e = &spc[k++];
		fprintf(out, "| %02Xh", e->opcode);
		if (e->flags & PVSI_OP_HAS_SA)
			fprintf(out, "/%02Xh", e->sa);
		fprintf(out, " | %s | %s | %s | %s |\n", e->name,
		        !(e->flags & PVSI_OP_PT_ALLOW) ? "no"
		        : e->bad_field                 ? "yes, but see why not"
		                                       : "yes",
		        !(e->flags & PVSI_OP_PT_ALLOW)       ? ""
		        : (e->flags & PVSI_OP_WRITE)         ? "refused: writes the medium"
		        : (e->flags & PVSI_OP_MEDIUM_PARAMS) ? "refused: device parameters"
		                                             : "passes",
		        e->why ? e->why : "");
	}
	fprintf(out,
	        "\nAny other operation code, and every vendor-specific one (C0h-FFh), is refused "
	        "with INVALID COMMAND OPERATION CODE.\n");
	return ferror(out) ? -EIO : 0;
}
