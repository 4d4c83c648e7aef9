/*
 * opcodes.c - THE opcode table.  Everything that needs to know about a
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
 *  - the passthrough allow-list (PVSI_OP_PT_ALLOW) follows the historical
 *    xenlinux scsiback default-deny list, widened to the MMC read commands
 *    a CD/DVD drive needs.  FORMAT UNIT, REASSIGN BLOCKS, SEND DIAGNOSTIC,
 *    WRITE/READ BUFFER (firmware download, vendor diagnostics), WRITE LONG,
 *    SANITIZE, LOG SELECT, EXTENDED COPY and ATA PASS-THROUGH are present
 *    to document that they are denied; vendor-specific opcodes (C0h-FFh) and
 *    everything else absent are denied as well.
 *
 * Each entry also says where its CDB gives the length of the data phase
 * (.xfer, see XN..XU below): pvs_cdb_xfer() reads it so that a transport
 * can tell buffers too small for a command before it runs.
 *
 * Read-only LUNs refuse WR entries with DATA PROTECT (emulated and
 * passthrough alike); read-only passthrough LUNs also refuse MPR entries,
 * which reach the device's own parameters.  42h is UNMAP for a disk but READ
 * SUB-CHANNEL for a CD/DVD drive: a read-only drive refuses it too, since
 * the filter cannot tell the two apart.
 *
 * The direction is that of the data phase when there is one.  Commands
 * whose data phase depends on a CDB field (VERIFY's BYTCHK, WRITE SAME's
 * NDOB) list the direction of the data they may carry.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
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

#define NONE PVS_DIR_NONE
#define IN   PVS_DIR_FROM_DEV
#define OUT  PVS_DIR_TO_DEV

/* An entry without a service action. */
#define OP(op, len, dir_, xf, fl, nm, fn, ...)                                                     \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .xfer = {xf}, .flags = (fl),      \
		.name = (nm), .handler = (fn), .usage = {(op), __VA_ARGS__},                       \
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
    OP(PVSI_OPC_TEST_UNIT_READY, 6, NONE, XN, EMU | PT | RDY | RES, "TEST UNIT READY",
       pvsi_spc_test_unit_ready, 0, 0, 0, 0, 0),
    OP(PVSI_OPC_REZERO_UNIT, 6, NONE, XN, PT, "REZERO UNIT", NULL),
    OP(PVSI_OPC_REQUEST_SENSE, 6, IN, XB(4, 1), EMU | PT | UA | RES | TGT, "REQUEST SENSE",
       pvsi_spc_request_sense, 0x01, 0, 0, 0xff, 0),
    OP(PVSI_OPC_FORMAT_UNIT, 6, OUT, XU, WR, "FORMAT UNIT", NULL),
    OP(PVSI_OPC_READ_BLOCK_LIMITS, 6, IN, XFIX(6), PT, "READ BLOCK LIMITS", NULL),
    OP(PVSI_OPC_REASSIGN_BLOCKS, 6, OUT, XU, WR, "REASSIGN BLOCKS", NULL),
    OP(PVSI_OPC_READ_6, 6, IN, XL6, EMU | PT | RDY, "READ(6)", pvsi_sbc_read, 0x1f, 0xff, 0xff,
       0xff, 0),
    OP(PVSI_OPC_WRITE_6, 6, OUT, XL6, EMU | PT | RDY | WR, "WRITE(6)", pvsi_sbc_write, 0x1f, 0xff,
       0xff, 0xff, 0),
    OP(PVSI_OPC_WRITE_FILEMARKS_6, 6, NONE, XN, PT | WR, "WRITE FILEMARKS(6)", NULL),
    OP(PVSI_OPC_SPACE_6, 6, NONE, XN, PT, "SPACE(6)", NULL),
    /* Byte 1 bits 7:5: the SCSI-2 LUN field, still sent by Linux's first INQUIRY. */
    OP(PVSI_OPC_INQUIRY, 6, IN, XB(3, 2), EMU | PT | UA | RES | TGT | VPD, "INQUIRY",
       pvsi_spc_inquiry, 0xe3, 0xff, 0xff, 0xff, 0),
    OP(PVSI_OPC_MODE_SELECT_6, 6, OUT, XB(4, 1), EMU | PT | MPR, "MODE SELECT(6)",
       pvsi_spc_mode_select, 0x11, 0, 0, 0xff, 0),
    OP(PVSI_OPC_RESERVE_6, 6, NONE, XN, EMU | PT, "RESERVE(6)", pvsi_pr_reserve, 0, 0, 0, 0, 0),
    OP(PVSI_OPC_RELEASE_6, 6, NONE, XN, EMU | PT | RES, "RELEASE(6)", pvsi_pr_release, 0, 0, 0, 0,
       0),
    OP(PVSI_OPC_ERASE_6, 6, NONE, XN, PT | WR, "ERASE(6)", NULL),
    OP(PVSI_OPC_MODE_SENSE_6, 6, IN, XB(4, 1), EMU | PT | MDA, "MODE SENSE(6)", pvsi_spc_mode_sense,
       0x08, 0xff, 0xff, 0xff, 0),
    OP(PVSI_OPC_START_STOP_UNIT, 6, NONE, XN, EMU | PT, "START STOP UNIT", pvsi_sbc_start_stop,
       0x01, 0, 0, 0x07, 0),
    OP(PVSI_OPC_RECEIVE_DIAGNOSTIC_RESULTS, 6, IN, XB(3, 2), PT, "RECEIVE DIAGNOSTIC RESULTS",
       NULL),
    OP(PVSI_OPC_SEND_DIAGNOSTIC, 6, OUT, XB(3, 2), 0, "SEND DIAGNOSTIC", NULL),
    OP(PVSI_OPC_PREVENT_ALLOW_MEDIUM_REMOVAL, 6, NONE, XN, EMU | PT, "PREVENT ALLOW MEDIUM REMOVAL",
       pvsi_sbc_prevent_allow, 0, 0, 0, 0x01, 0),
    OP(PVSI_OPC_READ_FORMAT_CAPACITIES, 10, IN, XB(7, 2), PT, "READ FORMAT CAPACITIES", NULL),
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
    OP(PVSI_OPC_WRITE_BUFFER, 10, OUT, XB(6, 3), 0, "WRITE BUFFER", NULL),
    OP(PVSI_OPC_READ_BUFFER_10, 10, IN, XB(6, 3), 0, "READ BUFFER(10)", NULL),
    OP(PVSI_OPC_WRITE_LONG_10, 10, OUT, XU, WR, "WRITE LONG(10)", NULL),
    OP(PVSI_OPC_WRITE_SAME_10, 10, OUT, XWS, EMU | PT | RDY | WR, "WRITE SAME(10)",
       pvsi_sbc_write_same, RW10(0x08)),
    /* 42h is also MMC's READ SUB-CHANNEL: harmless to pass to a CD drive. */
    OP(PVSI_OPC_UNMAP, 10, OUT, XB(7, 2), EMU | PT | RDY | WR, "UNMAP", pvsi_sbc_unmap, 0, 0, 0, 0,
       0, 0x3f, 0xff, 0xff, 0),
    OP(PVSI_OPC_READ_TOC_PMA_ATIP, 10, IN, XB(7, 2), PT, "READ TOC/PMA/ATIP", NULL),
    OP(PVSI_OPC_GET_CONFIGURATION, 10, IN, XB(7, 2), PT, "GET CONFIGURATION", NULL),
    OP(PVSI_OPC_SANITIZE, 10, NONE, XN, WR, "SANITIZE", NULL),
    OP(PVSI_OPC_GET_EVENT_STATUS_NOTIFICATION, 10, IN, XB(7, 2), PT,
       "GET EVENT STATUS NOTIFICATION", NULL),
    OP(PVSI_OPC_LOG_SELECT, 10, OUT, XB(7, 2), 0, "LOG SELECT", NULL),
    OP(PVSI_OPC_LOG_SENSE, 10, IN, XB(7, 2), PT | RES, "LOG SENSE", NULL),
    OP(PVSI_OPC_READ_DISC_INFORMATION, 10, IN, XB(7, 2), PT, "READ DISC INFORMATION", NULL),
    OP(PVSI_OPC_READ_TRACK_INFORMATION, 10, IN, XB(7, 2), PT, "READ TRACK INFORMATION", NULL),
    OP(PVSI_OPC_MODE_SELECT_10, 10, OUT, XB(7, 2), EMU | PT | MPR, "MODE SELECT(10)",
       pvsi_spc_mode_select, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_RESERVE_10, 10, OUT, XB(7, 2), EMU | PT, "RESERVE(10)", pvsi_pr_reserve, 0, 0, 0, 0,
       0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_RELEASE_10, 10, OUT, XB(7, 2), EMU | PT | RES, "RELEASE(10)", pvsi_pr_release, 0, 0,
       0, 0, 0, 0, 0xff, 0xff, 0),
    OP(PVSI_OPC_MODE_SENSE_10, 10, IN, XB(7, 2), EMU | PT | MDA, "MODE SENSE(10)",
       pvsi_spc_mode_sense, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_KEYS, 10, IN, XB(7, 2), EMU | PT | RES,
         "PERSISTENT RESERVE IN(READ KEYS)", pvsi_pr_in, PRI(0x00)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_RESERVATION, 10, IN, XB(7, 2),
         EMU | PT | RES, "PERSISTENT RESERVE IN(READ RESERVATION)", pvsi_pr_in, PRI(0x01)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_REPORT_CAPABILITIES, 10, IN, XB(7, 2),
         EMU | PT | RES, "PERSISTENT RESERVE IN(REPORT CAPABILITIES)", pvsi_pr_in, PRI(0x02)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_IN, PVSI_SA_PRI_READ_FULL_STATUS, 10, IN, XB(7, 2),
         EMU | PT | RES, "PERSISTENT RESERVE IN(READ FULL STATUS)", pvsi_pr_in, PRI(0x03)),
    /*
     * SPC-5 Table 67: REGISTER (AND IGNORE) are allowed from any I_T
     * nexus; the others depend on registration, which pvsi_pr_out checks.
     */
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_REGISTER, 10, OUT, XB(5, 4), EMU | PT | RES,
         "PERSISTENT RESERVE OUT(REGISTER)", pvsi_pr_out, PRO(0x00)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_RESERVE, 10, OUT, XB(5, 4), EMU | PT,
         "PERSISTENT RESERVE OUT(RESERVE)", pvsi_pr_out, PRO(0x01)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_RELEASE, 10, OUT, XB(5, 4), EMU | PT,
         "PERSISTENT RESERVE OUT(RELEASE)", pvsi_pr_out, PRO(0x02)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_CLEAR, 10, OUT, XB(5, 4), EMU | PT,
         "PERSISTENT RESERVE OUT(CLEAR)", pvsi_pr_out, PRO(0x03)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_PREEMPT, 10, OUT, XB(5, 4), EMU | PT,
         "PERSISTENT RESERVE OUT(PREEMPT)", pvsi_pr_out, PRO(0x04)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_PREEMPT_AND_ABORT, 10, OUT, XB(5, 4),
         EMU | PT, "PERSISTENT RESERVE OUT(PREEMPT AND ABORT)", pvsi_pr_out, PRO(0x05)),
    OPSA(PVSI_OPC_PERSISTENT_RESERVE_OUT, PVSI_SA_PRO_REGISTER_AND_IGNORE, 10, OUT, XB(5, 4),
         EMU | PT | RES, "PERSISTENT RESERVE OUT(REGISTER AND IGNORE EXISTING KEY)", pvsi_pr_out,
         PRO(0x06)),
    OP(PVSI_OPC_EXTENDED_COPY, 16, OUT, XB(10, 4), WR, "EXTENDED COPY", NULL),
    OP(PVSI_OPC_ATA_PASS_THROUGH_16, 16, NONE, XN, WR, "ATA PASS-THROUGH(16)", NULL),
    OP(PVSI_OPC_READ_16, 16, IN, XL(10, 4), EMU | PT | RDY, "READ(16)", pvsi_sbc_read,
       RW16(DPO_FUA)),
    /*
     * Not passed to filtered passthrough: the historical scsiback list
     * lacks it.  NUMBER OF LOGICAL BLOCKS is byte 13; 10-12 are reserved.
     */
    OP(PVSI_OPC_COMPARE_AND_WRITE, 16, OUT, XCAW, EMU | RDY | WR, "COMPARE AND WRITE",
       pvsi_sbc_compare_and_write, DPO_FUA, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0,
       0xff, 0x3f, 0x00),
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
    OPSA(PVSI_OPC_SERVICE_ACTION_OUT_16, PVSI_SA_WRITE_LONG_16, 16, OUT, XU, WR, "WRITE LONG(16)",
         NULL, 0x11),
    OP(PVSI_OPC_REPORT_LUNS, 12, IN, XB(6, 4), EMU | PT | UA | RES | TGT, "REPORT LUNS",
       pvsi_spc_report_luns, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
    OP(PVSI_OPC_ATA_PASS_THROUGH_12, 12, NONE, XN, WR, "ATA PASS-THROUGH(12)", NULL),
    OPSA(PVSI_OPC_MAINTENANCE_IN, PVSI_SA_REPORT_SUPPORTED_OPERATION_CODES, 12, IN, XB(6, 4),
         EMU | PT | RES, "REPORT SUPPORTED OPERATION CODES", pvsi_spc_report_supported_opcodes,
         0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0),
    OP(PVSI_OPC_READ_12, 12, IN, XL(6, 4), EMU | PT | RDY, "READ(12)", pvsi_sbc_read,
       RW12(DPO_FUA)),
    OP(PVSI_OPC_WRITE_12, 12, OUT, XL(6, 4), EMU | PT | RDY | WR, "WRITE(12)", pvsi_sbc_write,
       RW12(DPO_FUA)),
    OP(PVSI_OPC_GET_PERFORMANCE, 12, IN, XU, PT, "GET PERFORMANCE", NULL),
    OP(PVSI_OPC_READ_DISC_STRUCTURE, 12, IN, XB(8, 2), PT, "READ DISC STRUCTURE", NULL),
    OP(PVSI_OPC_WRITE_AND_VERIFY_12, 12, OUT, XL(6, 4), EMU | PT | RDY | WR, "WRITE AND VERIFY(12)",
       pvsi_sbc_write, RW12(DPO_BCHK)),
    OP(PVSI_OPC_VERIFY_12, 12, OUT, XV(6, 4), EMU | PT | RDY | WEO, "VERIFY(12)", pvsi_sbc_verify,
       RW12(DPO_BCHK)),
    OP(PVSI_OPC_READ_CD_MSF, 12, IN, XU, PT, "READ CD MSF", NULL),
    OP(PVSI_OPC_SET_CD_SPEED, 12, NONE, XN, PT, "SET CD SPEED", NULL),
    OP(PVSI_OPC_MECHANISM_STATUS, 12, IN, XB(8, 2), PT, "MECHANISM STATUS", NULL),
    OP(PVSI_OPC_READ_CD, 12, IN, XU, PT, "READ CD", NULL),
};

const unsigned int pvsi_nopcodes = sizeof(pvsi_opcodes) / sizeof(pvsi_opcodes[0]);

/* index[opcode] = 1 + position of the opcode's first entry, 0 = absent. */
_Static_assert(sizeof(pvsi_opcodes) / sizeof(pvsi_opcodes[0]) < 255, "index is 8-bit");
static uint8_t opcode_index[256];
/*
 * reserved[i]: the CDB bits entry i requires to be zero, from its usage
 * data by the rules above (bytes 1..n-2 outside usage, the service action
 * excepted; NACA, LINK and FLAG in the control byte), so that a valid CDB
 * is told apart with two word tests instead of a loop over its bytes.
 */
static uint8_t opcode_reserved[sizeof(pvsi_opcodes) / sizeof(pvsi_opcodes[0])][16];
static pthread_once_t opcode_index_once = PTHREAD_ONCE_INIT;
/* Set once both tables are built: the common case then skips pthread_once(). */
static atomic_bool opcode_index_ready;

static void opcode_index_build(void)
{
	for (unsigned i = pvsi_nopcodes; i-- > 0;) {
		const struct pvsi_opcode *op = &pvsi_opcodes[i];
		unsigned last = op->cdb_len - 1u;

		opcode_index[op->opcode] = (uint8_t)(i + 1);
		for (unsigned b = 1; b < last; b++)
			opcode_reserved[i][b] = (uint8_t)~op->usage[b];
		if (op->flags & PVSI_OP_HAS_SA)
			opcode_reserved[i][1] &= (uint8_t)~0x1fu;
		opcode_reserved[i][last] = (uint8_t)(0x07u & ~op->usage[last]);
	}
	atomic_store_explicit(&opcode_index_ready, true, memory_order_release);
}

static void opcode_index_ensure(void)
{
	if (!atomic_load_explicit(&opcode_index_ready, memory_order_acquire))
		pthread_once(&opcode_index_once, opcode_index_build);
}

const struct pvsi_opcode *pvsi_opcode_find(const uint8_t *cdb, unsigned int cdb_len)
{
	unsigned i;
	uint8_t sa;

	if (!cdb || cdb_len == 0)
		return NULL;
	opcode_index_ensure();
	i = opcode_index[cdb[0]];
	if (!i--)
		return NULL;
	if (!(pvsi_opcodes[i].flags & PVSI_OP_HAS_SA))
		return &pvsi_opcodes[i];
	if (cdb_len < 2)
		return NULL;
	sa = cdb[1] & 0x1f;
	for (; i < pvsi_nopcodes && pvsi_opcodes[i].opcode == cdb[0]; i++)
		if (pvsi_opcodes[i].sa == sa)
			return &pvsi_opcodes[i];
	return NULL;
}

const char *pvs_opcode_name(const uint8_t *cdb, unsigned int cdb_len)
{
	const struct pvsi_opcode *op = pvsi_opcode_find(cdb, cdb_len);

	return op ? op->name : "?";
}

bool pvsi_opcode_any(uint8_t opcode, uint32_t flags)
{
	unsigned i;

	opcode_index_ensure();
	i = opcode_index[opcode];
	if (!i--)
		return false;
	for (; i < pvsi_nopcodes && pvsi_opcodes[i].opcode == opcode; i++)
		if ((pvsi_opcodes[i].flags & flags) == flags)
			return true;
	return false;
}

bool pvsi_opcode_cdb_clean(const struct pvsi_opcode *op, const uint8_t *cdb)
{
	const uint8_t *r;
	uint64_t c[2], m[2];

	opcode_index_ensure();
	r = opcode_reserved[op - pvsi_opcodes];
	/* Same byte order on both sides: the test does not depend on it. */
	memcpy(c, cdb, sizeof(c));
	memcpy(m, r, sizeof(m));
	return !((c[0] & m[0]) | (c[1] & m[1]));
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
	const struct pvsi_opcode *op = pvsi_opcode_find(cdb, cdb_len);
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
