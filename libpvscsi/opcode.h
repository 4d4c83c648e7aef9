/*
 * opcode.h - operation codes and service actions, named once for the whole
 * core.  The opcode table (opcodes.c) and every rule that must tell one
 * command from another use these names; no file keeps its own.
 *
 * A name gives the meaning of the byte for a direct-access block device
 * (SBC-4) or any device (SPC-5), the meaning the opcode table implements.
 * Some bytes mean another command to another device type: REWIND (SSC-5)
 * is 01h, LOAD UNLOAD 1Bh, LOCATE(10) 2Bh, READ POSITION 34h, INITIALIZE
 * ELEMENT STATUS (SMC-3) 07h, READ SUB-CHANNEL (MMC-6) 42h, BLANK A1h.
 * Those get names of their own, with the same values, when a device type
 * needs them: code that means REWIND must not say REZERO UNIT.
 */
#ifndef PVSCSI_OPCODE_H
#define PVSCSI_OPCODE_H

enum pvsi_opc {
	PVSI_OPC_TEST_UNIT_READY = 0x00,
	PVSI_OPC_REZERO_UNIT = 0x01, /* SSC: REWIND */
	PVSI_OPC_REQUEST_SENSE = 0x03,
	PVSI_OPC_FORMAT_UNIT = 0x04,
	PVSI_OPC_READ_BLOCK_LIMITS = 0x05, /* SSC-5 */
	PVSI_OPC_REASSIGN_BLOCKS = 0x07,   /* SMC: INITIALIZE ELEMENT STATUS */
	PVSI_OPC_READ_6 = 0x08,
	PVSI_OPC_WRITE_6 = 0x0a,
	PVSI_OPC_WRITE_FILEMARKS_6 = 0x10, /* SSC-5 */
	PVSI_OPC_SPACE_6 = 0x11,           /* SSC-5 */
	PVSI_OPC_INQUIRY = 0x12,
	PVSI_OPC_MODE_SELECT_6 = 0x15,
	PVSI_OPC_RESERVE_6 = 0x16, /* SPC-2 */
	PVSI_OPC_RELEASE_6 = 0x17, /* SPC-2 */
	PVSI_OPC_ERASE_6 = 0x19,   /* SSC-5 */
	PVSI_OPC_MODE_SENSE_6 = 0x1a,
	PVSI_OPC_START_STOP_UNIT = 0x1b, /* SSC: LOAD UNLOAD */
	PVSI_OPC_RECEIVE_DIAGNOSTIC_RESULTS = 0x1c,
	PVSI_OPC_SEND_DIAGNOSTIC = 0x1d,
	PVSI_OPC_PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e,
	PVSI_OPC_READ_FORMAT_CAPACITIES = 0x23, /* MMC-6 */
	PVSI_OPC_READ_CAPACITY_10 = 0x25,
	PVSI_OPC_READ_10 = 0x28,
	PVSI_OPC_WRITE_10 = 0x2a,
	PVSI_OPC_SEEK_10 = 0x2b, /* SSC: LOCATE(10) */
	PVSI_OPC_WRITE_AND_VERIFY_10 = 0x2e,
	PVSI_OPC_VERIFY_10 = 0x2f,
	PVSI_OPC_PRE_FETCH_10 = 0x34, /* SSC: READ POSITION */
	PVSI_OPC_SYNCHRONIZE_CACHE_10 = 0x35,
	PVSI_OPC_READ_DEFECT_DATA_10 = 0x37,
	PVSI_OPC_WRITE_BUFFER = 0x3b,
	PVSI_OPC_READ_BUFFER_10 = 0x3c,
	PVSI_OPC_WRITE_LONG_10 = 0x3f,
	PVSI_OPC_WRITE_SAME_10 = 0x41,
	PVSI_OPC_UNMAP = 0x42,             /* MMC: READ SUB-CHANNEL */
	PVSI_OPC_READ_TOC_PMA_ATIP = 0x43, /* MMC-6 */
	PVSI_OPC_GET_CONFIGURATION = 0x46, /* MMC-6 */
	PVSI_OPC_SANITIZE = 0x48,
	PVSI_OPC_GET_EVENT_STATUS_NOTIFICATION = 0x4a, /* MMC-6 */
	PVSI_OPC_LOG_SELECT = 0x4c,
	PVSI_OPC_LOG_SENSE = 0x4d,
	PVSI_OPC_READ_DISC_INFORMATION = 0x51,  /* MMC-6 */
	PVSI_OPC_READ_TRACK_INFORMATION = 0x52, /* MMC-6 */
	PVSI_OPC_MODE_SELECT_10 = 0x55,
	PVSI_OPC_RESERVE_10 = 0x56, /* SPC-2 */
	PVSI_OPC_RELEASE_10 = 0x57, /* SPC-2 */
	PVSI_OPC_MODE_SENSE_10 = 0x5a,
	PVSI_OPC_PERSISTENT_RESERVE_IN = 0x5e,  /* service actions: enum pvsi_sa_pr_in */
	PVSI_OPC_PERSISTENT_RESERVE_OUT = 0x5f, /* service actions: enum pvsi_sa_pr_out */
	PVSI_OPC_EXTENDED_COPY = 0x83,
	PVSI_OPC_ATA_PASS_THROUGH_16 = 0x85, /* SAT-4 */
	PVSI_OPC_READ_16 = 0x88,
	PVSI_OPC_COMPARE_AND_WRITE = 0x89,
	PVSI_OPC_WRITE_16 = 0x8a,
	PVSI_OPC_WRITE_AND_VERIFY_16 = 0x8e,
	PVSI_OPC_VERIFY_16 = 0x8f,
	PVSI_OPC_PRE_FETCH_16 = 0x90,
	PVSI_OPC_SYNCHRONIZE_CACHE_16 = 0x91,
	PVSI_OPC_WRITE_SAME_16 = 0x93,
	PVSI_OPC_SERVICE_ACTION_IN_16 = 0x9e,  /* service actions: enum pvsi_sa */
	PVSI_OPC_SERVICE_ACTION_OUT_16 = 0x9f, /* service actions: enum pvsi_sa */
	PVSI_OPC_REPORT_LUNS = 0xa0,
	PVSI_OPC_ATA_PASS_THROUGH_12 = 0xa1, /* SAT-4; MMC: BLANK */
	PVSI_OPC_MAINTENANCE_IN = 0xa3,      /* service actions: enum pvsi_sa */
	PVSI_OPC_READ_12 = 0xa8,
	PVSI_OPC_WRITE_12 = 0xaa,
	PVSI_OPC_GET_PERFORMANCE = 0xac,     /* MMC-6 */
	PVSI_OPC_READ_DISC_STRUCTURE = 0xad, /* MMC-6 */
	PVSI_OPC_WRITE_AND_VERIFY_12 = 0xae,
	PVSI_OPC_VERIFY_12 = 0xaf,
	PVSI_OPC_READ_CD_MSF = 0xb9,      /* MMC-6 */
	PVSI_OPC_SET_CD_SPEED = 0xbb,     /* MMC-6 */
	PVSI_OPC_MECHANISM_STATUS = 0xbd, /* MMC-6 */
	PVSI_OPC_READ_CD = 0xbe,          /* MMC-6 */
};

/* Service actions (CDB byte 1, bits 4:0) of the opcodes that carry one. */
enum pvsi_sa {
	PVSI_SA_READ_CAPACITY_16 = 0x10,                 /* SERVICE ACTION IN(16) */
	PVSI_SA_GET_LBA_STATUS = 0x12,                   /* SERVICE ACTION IN(16) */
	PVSI_SA_WRITE_LONG_16 = 0x11,                    /* SERVICE ACTION OUT(16) */
	PVSI_SA_REPORT_SUPPORTED_OPERATION_CODES = 0x0c, /* MAINTENANCE IN */
};

/* SPC-5 6.17.2: PERSISTENT RESERVE IN service actions. */
enum pvsi_sa_pr_in {
	PVSI_SA_PRI_READ_KEYS = 0x00,
	PVSI_SA_PRI_READ_RESERVATION = 0x01,
	PVSI_SA_PRI_REPORT_CAPABILITIES = 0x02,
	PVSI_SA_PRI_READ_FULL_STATUS = 0x03,
};

/* SPC-5 6.18.2: PERSISTENT RESERVE OUT service actions. */
enum pvsi_sa_pr_out {
	PVSI_SA_PRO_REGISTER = 0x00,
	PVSI_SA_PRO_RESERVE = 0x01,
	PVSI_SA_PRO_RELEASE = 0x02,
	PVSI_SA_PRO_CLEAR = 0x03,
	PVSI_SA_PRO_PREEMPT = 0x04,
	PVSI_SA_PRO_PREEMPT_AND_ABORT = 0x05,
	PVSI_SA_PRO_REGISTER_AND_IGNORE = 0x06, /* ... EXISTING KEY */
};

#endif
