/*
 * opcodes.c - THE opcode table.  Everything that needs to know about a
 * command reads it from here: the emulation dispatcher (CDB length,
 * reserved bits, direction, unit attention / reservation / ready / write
 * protect rules, handler), the passthrough filter (PVSI_OP_PT_ALLOW),
 * REPORT SUPPORTED OPERATION CODES (EMU entries, CDB usage data) and trace
 * names.  Nothing else lists opcodes.
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

#include "core.h"

#define EMU PVSI_OP_EMU
#define PT  PVSI_OP_PT_ALLOW
#define WR  PVSI_OP_WRITE
#define UA  PVSI_OP_UA_OK
#define RES PVSI_OP_RES_OK
#define RDY PVSI_OP_NEED_READY
#define TGT PVSI_OP_TARGET
#define MPR PVSI_OP_MEDIUM_PARAMS
#define WEO PVSI_OP_WE_OK

#define NONE PVS_DIR_NONE
#define IN   PVS_DIR_FROM_DEV
#define OUT  PVS_DIR_TO_DEV

/* An entry without a service action. */
#define OP(op, len, dir_, fl, nm, fn, ...)                                                         \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .dir = (dir_), .flags = (fl), .name = (nm),      \
		.handler = (fn), .usage = {(op), __VA_ARGS__},                                     \
	}
/* One service action of an opcode (SA in CDB byte 1, bits 4:0). */
#define OPSA(op, sa_, len, dir_, fl, nm, fn, ...)                                                  \
	{                                                                                          \
		.opcode = (op), .cdb_len = (len), .sa = (sa_), .dir = (dir_),                      \
		.flags = (fl) | PVSI_OP_HAS_SA, .name = (nm), .handler = (fn),                     \
		.usage = {(op), __VA_ARGS__},                                                      \
	}

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
    OP(0x00, 6, NONE, EMU | PT | RDY | RES, "TEST UNIT READY", pvsi_spc_test_unit_ready, 0, 0, 0, 0,
       0),
    OP(0x01, 6, NONE, PT, "REZERO UNIT", NULL),
    OP(0x03, 6, IN, EMU | PT | UA | RES | TGT, "REQUEST SENSE", pvsi_spc_request_sense, 0x01, 0, 0,
       0xff, 0),
    OP(0x04, 6, OUT, WR, "FORMAT UNIT", NULL),
    OP(0x05, 6, IN, PT, "READ BLOCK LIMITS", NULL),
    OP(0x07, 6, OUT, WR, "REASSIGN BLOCKS", NULL),
    OP(0x08, 6, IN, EMU | PT | RDY, "READ(6)", pvsi_sbc_read, 0x1f, 0xff, 0xff, 0xff, 0),
    OP(0x0a, 6, OUT, EMU | PT | RDY | WR, "WRITE(6)", pvsi_sbc_write, 0x1f, 0xff, 0xff, 0xff, 0),
    OP(0x10, 6, NONE, PT | WR, "WRITE FILEMARKS(6)", NULL),
    OP(0x11, 6, NONE, PT, "SPACE(6)", NULL),
    /* Byte 1 bits 7:5: the SCSI-2 LUN field, still sent by Linux's first INQUIRY. */
    OP(0x12, 6, IN, EMU | PT | UA | RES | TGT, "INQUIRY", pvsi_spc_inquiry, 0xe3, 0xff, 0xff, 0xff,
       0),
    OP(0x15, 6, OUT, EMU | PT | MPR, "MODE SELECT(6)", pvsi_spc_mode_select, 0x11, 0, 0, 0xff, 0),
    OP(0x16, 6, NONE, EMU | PT, "RESERVE(6)", pvsi_pr_reserve, 0, 0, 0, 0, 0),
    OP(0x17, 6, NONE, EMU | PT | RES, "RELEASE(6)", pvsi_pr_release, 0, 0, 0, 0, 0),
    OP(0x19, 6, NONE, PT | WR, "ERASE(6)", NULL),
    OP(0x1a, 6, IN, EMU | PT, "MODE SENSE(6)", pvsi_spc_mode_sense, 0x08, 0xff, 0xff, 0xff, 0),
    OP(0x1b, 6, NONE, EMU | PT, "START STOP UNIT", pvsi_sbc_start_stop, 0x01, 0, 0, 0x07, 0),
    OP(0x1c, 6, IN, PT, "RECEIVE DIAGNOSTIC RESULTS", NULL),
    OP(0x1d, 6, OUT, 0, "SEND DIAGNOSTIC", NULL),
    OP(0x1e, 6, NONE, EMU | PT, "PREVENT ALLOW MEDIUM REMOVAL", pvsi_sbc_prevent_allow, 0, 0, 0,
       0x01, 0),
    OP(0x23, 10, IN, PT, "READ FORMAT CAPACITIES", NULL),
    OP(0x25, 10, IN, EMU | PT | RDY | RES, "READ CAPACITY(10)", pvsi_sbc_read_capacity, 0, 0xff,
       0xff, 0xff, 0xff, 0, 0, 0x01, 0),
    OP(0x28, 10, IN, EMU | PT | RDY, "READ(10)", pvsi_sbc_read, RW10(DPO_FUA)),
    OP(0x2a, 10, OUT, EMU | PT | RDY | WR, "WRITE(10)", pvsi_sbc_write, RW10(DPO_FUA)),
    OP(0x2b, 10, NONE, PT, "SEEK(10)", NULL),
    OP(0x2e, 10, OUT, EMU | PT | RDY | WR, "WRITE AND VERIFY(10)", pvsi_sbc_write, RW10(DPO_BCHK)),
    OP(0x2f, 10, OUT, EMU | PT | RDY | WEO, "VERIFY(10)", pvsi_sbc_verify, RW10(DPO_BCHK)),
    OP(0x34, 10, NONE, EMU | PT | RDY | WEO, "PRE-FETCH(10)", pvsi_sbc_prefetch, RW10(0x02)),
    OP(0x35, 10, NONE, EMU | PT | RDY, "SYNCHRONIZE CACHE(10)", pvsi_sbc_sync_cache, RW10(0x02)),
    OP(0x37, 10, IN, PT, "READ DEFECT DATA(10)", NULL),
    OP(0x3b, 10, OUT, 0, "WRITE BUFFER", NULL),
    OP(0x3c, 10, IN, 0, "READ BUFFER(10)", NULL),
    OP(0x3f, 10, OUT, WR, "WRITE LONG(10)", NULL),
    OP(0x41, 10, OUT, EMU | PT | RDY | WR, "WRITE SAME(10)", pvsi_sbc_write_same, RW10(0x08)),
    /* 42h is also MMC's READ SUB-CHANNEL: harmless to pass to a CD drive. */
    OP(0x42, 10, OUT, EMU | PT | RDY | WR, "UNMAP", pvsi_sbc_unmap, 0, 0, 0, 0, 0, 0x3f, 0xff, 0xff,
       0),
    OP(0x43, 10, IN, PT, "READ TOC/PMA/ATIP", NULL),
    OP(0x46, 10, IN, PT, "GET CONFIGURATION", NULL),
    OP(0x48, 10, NONE, WR, "SANITIZE", NULL),
    OP(0x4a, 10, IN, PT, "GET EVENT STATUS NOTIFICATION", NULL),
    OP(0x4c, 10, OUT, 0, "LOG SELECT", NULL),
    OP(0x4d, 10, IN, PT | RES, "LOG SENSE", NULL),
    OP(0x51, 10, IN, PT, "READ DISC INFORMATION", NULL),
    OP(0x52, 10, IN, PT, "READ TRACK INFORMATION", NULL),
    OP(0x55, 10, OUT, EMU | PT | MPR, "MODE SELECT(10)", pvsi_spc_mode_select, 0x11, 0, 0, 0, 0, 0,
       0xff, 0xff, 0),
    OP(0x56, 10, OUT, EMU | PT, "RESERVE(10)", pvsi_pr_reserve, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
    OP(0x57, 10, OUT, EMU | PT | RES, "RELEASE(10)", pvsi_pr_release, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
       0),
    OP(0x5a, 10, IN, EMU | PT, "MODE SENSE(10)", pvsi_spc_mode_sense, 0x18, 0xff, 0xff, 0, 0, 0,
       0xff, 0xff, 0),
    OPSA(0x5e, 0x00, 10, IN, EMU | PT | RES, "PERSISTENT RESERVE IN(READ KEYS)", pvsi_pr_in,
         PRI(0x00)),
    OPSA(0x5e, 0x01, 10, IN, EMU | PT | RES, "PERSISTENT RESERVE IN(READ RESERVATION)", pvsi_pr_in,
         PRI(0x01)),
    OPSA(0x5e, 0x02, 10, IN, EMU | PT | RES, "PERSISTENT RESERVE IN(REPORT CAPABILITIES)",
         pvsi_pr_in, PRI(0x02)),
    OPSA(0x5e, 0x03, 10, IN, EMU | PT | RES, "PERSISTENT RESERVE IN(READ FULL STATUS)", pvsi_pr_in,
         PRI(0x03)),
    /*
     * SPC-5 Table 67: REGISTER (AND IGNORE) are allowed from any I_T
     * nexus; the others depend on registration, which pvsi_pr_out checks.
     */
    OPSA(0x5f, 0x00, 10, OUT, EMU | PT | RES, "PERSISTENT RESERVE OUT(REGISTER)", pvsi_pr_out,
         PRO(0x00)),
    OPSA(0x5f, 0x01, 10, OUT, EMU | PT, "PERSISTENT RESERVE OUT(RESERVE)", pvsi_pr_out, PRO(0x01)),
    OPSA(0x5f, 0x02, 10, OUT, EMU | PT, "PERSISTENT RESERVE OUT(RELEASE)", pvsi_pr_out, PRO(0x02)),
    OPSA(0x5f, 0x03, 10, OUT, EMU | PT, "PERSISTENT RESERVE OUT(CLEAR)", pvsi_pr_out, PRO(0x03)),
    OPSA(0x5f, 0x04, 10, OUT, EMU | PT, "PERSISTENT RESERVE OUT(PREEMPT)", pvsi_pr_out, PRO(0x04)),
    OPSA(0x5f, 0x05, 10, OUT, EMU | PT, "PERSISTENT RESERVE OUT(PREEMPT AND ABORT)", pvsi_pr_out,
         PRO(0x05)),
    OPSA(0x5f, 0x06, 10, OUT, EMU | PT | RES,
         "PERSISTENT RESERVE OUT(REGISTER AND IGNORE EXISTING KEY)", pvsi_pr_out, PRO(0x06)),
    OP(0x83, 16, OUT, WR, "EXTENDED COPY", NULL),
    OP(0x85, 16, NONE, WR, "ATA PASS-THROUGH(16)", NULL),
    OP(0x88, 16, IN, EMU | PT | RDY, "READ(16)", pvsi_sbc_read, RW16(DPO_FUA)),
    /*
     * Not passed to filtered passthrough: the historical scsiback list
     * lacks it.  NUMBER OF LOGICAL BLOCKS is byte 13; 10-12 are reserved.
     */
    OP(0x89, 16, OUT, EMU | RDY | WR, "COMPARE AND WRITE", pvsi_sbc_compare_and_write, DPO_FUA,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0x3f, 0x00),
    OP(0x8a, 16, OUT, EMU | PT | RDY | WR, "WRITE(16)", pvsi_sbc_write, RW16(DPO_FUA)),
    OP(0x8e, 16, OUT, EMU | PT | RDY | WR, "WRITE AND VERIFY(16)", pvsi_sbc_write, RW16(DPO_BCHK)),
    OP(0x8f, 16, OUT, EMU | PT | RDY | WEO, "VERIFY(16)", pvsi_sbc_verify, RW16(DPO_BCHK)),
    OP(0x90, 16, NONE, EMU | PT | RDY | WEO, "PRE-FETCH(16)", pvsi_sbc_prefetch, RW16(0x02)),
    OP(0x91, 16, NONE, EMU | PT | RDY, "SYNCHRONIZE CACHE(16)", pvsi_sbc_sync_cache, RW16(0x02)),
    OP(0x93, 16, OUT, EMU | PT | RDY | WR, "WRITE SAME(16)", pvsi_sbc_write_same, RW16(0x09)),
    OPSA(0x9e, 0x10, 16, IN, EMU | PT | RDY | RES, "READ CAPACITY(16)", pvsi_sbc_read_capacity16,
         0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0),
    /* Byte 14, REPORT TYPE: only 0 (every LBA) is implemented. */
    OPSA(0x9e, 0x12, 16, IN, EMU | PT | RDY, "GET LBA STATUS", pvsi_sbc_get_lba_status, 0x12, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
    OPSA(0x9f, 0x11, 16, OUT, WR, "WRITE LONG(16)", NULL, 0x11),
    OP(0xa0, 12, IN, EMU | PT | UA | RES | TGT, "REPORT LUNS", pvsi_spc_report_luns, 0, 0xff, 0, 0,
       0, 0xff, 0xff, 0xff, 0xff, 0, 0),
    OP(0xa1, 12, NONE, WR, "ATA PASS-THROUGH(12)", NULL),
    OPSA(0xa3, 0x0c, 12, IN, EMU | PT | RES, "REPORT SUPPORTED OPERATION CODES",
         pvsi_spc_report_supported_opcodes, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
         0),
    OP(0xa8, 12, IN, EMU | PT | RDY, "READ(12)", pvsi_sbc_read, RW12(DPO_FUA)),
    OP(0xaa, 12, OUT, EMU | PT | RDY | WR, "WRITE(12)", pvsi_sbc_write, RW12(DPO_FUA)),
    OP(0xac, 12, IN, PT, "GET PERFORMANCE", NULL),
    OP(0xad, 12, IN, PT, "READ DISC STRUCTURE", NULL),
    OP(0xae, 12, OUT, EMU | PT | RDY | WR, "WRITE AND VERIFY(12)", pvsi_sbc_write, RW12(DPO_BCHK)),
    OP(0xaf, 12, OUT, EMU | PT | RDY | WEO, "VERIFY(12)", pvsi_sbc_verify, RW12(DPO_BCHK)),
    OP(0xb9, 12, IN, PT, "READ CD MSF", NULL),
    OP(0xbb, 12, NONE, PT, "SET CD SPEED", NULL),
    OP(0xbd, 12, IN, PT, "MECHANISM STATUS", NULL),
    OP(0xbe, 12, IN, PT, "READ CD", NULL),
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
