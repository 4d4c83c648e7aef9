/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/sense.h - SCSI outcomes as reasons, and the one table that turns a
 * reason into status and sense bytes.
 *
 * Handlers in the LUN core never write sense bytes by hand: they return a
 * reason and the core builds fixed-format sense (SPC-5 4.4.3) from the table;
 * descriptor format (4.4.2) only as REQUEST SENSE data with DESC set.
 */
#ifndef PVSCSI_SENSE_H
#define PVSCSI_SENSE_H

#include <stddef.h>
#include <stdint.h>

/* SCSI status codes (SAM-5 5.3). */
#define PVS_STATUS_GOOD                 0x00
#define PVS_STATUS_CHECK_CONDITION      0x02
#define PVS_STATUS_CONDITION_MET        0x04
#define PVS_STATUS_BUSY                 0x08
#define PVS_STATUS_RESERVATION_CONFLICT 0x18
#define PVS_STATUS_TASK_SET_FULL        0x28
#define PVS_STATUS_TASK_ABORTED         0x40

/* Sense keys (SPC-5 4.4.8). */
#define PVS_KEY_NO_SENSE        0x0
#define PVS_KEY_RECOVERED_ERROR 0x1
#define PVS_KEY_NOT_READY       0x2
#define PVS_KEY_MEDIUM_ERROR    0x3
#define PVS_KEY_HARDWARE_ERROR  0x4
#define PVS_KEY_ILLEGAL_REQUEST 0x5
#define PVS_KEY_UNIT_ATTENTION  0x6
#define PVS_KEY_DATA_PROTECT    0x7
#define PVS_KEY_ABORTED_COMMAND 0xb
#define PVS_KEY_MISCOMPARE      0xe

/*
 * Every outcome a handler can report.  PVS_SR_OK is GOOD status; the
 * others map through pvs_sense_table[].  Keep the list and the table in
 * libpvscsi/sense.c in the same order (the table is indexed by reason).
 */
enum pvs_sense_reason {
	PVS_SR_OK = 0,
	PVS_SR_INVALID_OPCODE,             /* 5/20/00 */
	PVS_SR_INVALID_FIELD_IN_CDB,       /* 5/24/00 */
	PVS_SR_INVALID_FIELD_IN_PARAM,     /* 5/26/00 */
	PVS_SR_PARAM_LIST_LENGTH_ERROR,    /* 5/1A/00 */
	PVS_SR_LBA_OUT_OF_RANGE,           /* 5/21/00 */
	PVS_SR_LUN_NOT_SUPPORTED,          /* 5/25/00 */
	PVS_SR_SAVING_PARAMS_UNSUPPORTED,  /* 5/39/00 */
	PVS_SR_INVALID_RELEASE_OF_PR,      /* 5/26/04 */
	PVS_SR_INSUFFICIENT_REG_RESOURCES, /* 5/55/04 */
	PVS_SR_WRITE_PROTECTED,            /* 7/27/00 */
	PVS_SR_SPACE_ALLOCATION_FAILED,    /* 7/27/07 */
	PVS_SR_NOT_READY_STOPPED,          /* 2/04/02 initializing command required */
	PVS_SR_MEDIUM_NOT_PRESENT,         /* 2/3A/00 */
	PVS_SR_READ_ERROR,                 /* 3/11/00 */
	PVS_SR_WRITE_ERROR,                /* 3/0C/00 */
	PVS_SR_MISCOMPARE_DURING_VERIFY,   /* E/1D/00 */
	PVS_SR_INTERNAL_TARGET_FAILURE,    /* 4/44/00 */
	PVS_SR_ABORTED_COMMAND,            /* B/00/00 */
	PVS_SR_UA_POWER_ON,                /* 6/29/00 power on, reset, or bus device reset */
	PVS_SR_UA_LUN_RESET,               /* 6/29/03 bus device reset function occurred */
	PVS_SR_UA_NEXUS_LOSS,              /* 6/29/07 I_T nexus loss occurred */
	PVS_SR_UA_MODE_PARAMS_CHANGED,     /* 6/2A/01 */
	PVS_SR_UA_RESERVATIONS_PREEMPTED,  /* 6/2A/03 */
	PVS_SR_UA_RESERVATIONS_RELEASED,   /* 6/2A/04 */
	PVS_SR_UA_REGISTRATIONS_PREEMPTED, /* 6/2A/05 */
	PVS_SR_UA_CAPACITY_CHANGED,        /* 6/2A/09 */
	PVS_SR_UA_LUNS_CHANGED,            /* 6/3F/0E reported luns data has changed */
	PVS_SR_UA_MEDIUM_CHANGED, /* 6/28/00 not ready to ready change, medium may have changed */
	PVS_SR_RESERVATION_CONFLICT,     /* status 0x18, no sense */
	PVS_SR_BUSY,                     /* status 0x08, no sense */
	PVS_SR_TASK_SET_FULL,            /* status 0x28, no sense */
	PVS_SR_MEDIUM_REMOVAL_PREVENTED, /* 5/53/02 */
	PVS_SR_NO_MEDIUM_TRAY_CLOSED,    /* 2/3A/01 medium not present - tray closed */
	PVS_SR_NO_MEDIUM_TRAY_OPEN,      /* 2/3A/02 medium not present - tray open */
	PVS_SR__COUNT
};

struct pvs_sense_desc {
	uint8_t status;
	uint8_t key;
	uint8_t asc;
	uint8_t ascq;
	const char *name;
};

/* The single reason -> bytes table; NULL for an out-of-range reason. */
const struct pvs_sense_desc *pvs_sense_lookup(enum pvs_sense_reason sr);

/*
 * Build fixed-format sense (18 bytes, response code 0x70) for @sr into @buf.
 * @field: if >= 0, a sense-key-specific field pointer (SPC-5 4.4.2.2) to byte
 * @field of the CDB (@in_cdb != 0) or of the parameter list, bit @bit (or -1).
 * Returns the sense length written (0 for reasons without sense), never more
 * than @len.
 */
size_t pvs_sense_build(enum pvs_sense_reason sr, int in_cdb, int field, int bit, uint8_t *buf,
                       size_t len);

/*
 * Decode fixed (0x70/0x71) or descriptor (0x72/0x73) sense.  Returns 0 and
 * fills key/asc/ascq, or -1 when @len is too short or the format unknown.
 */
int pvs_sense_decode(const uint8_t *sense, size_t len, uint8_t *key, uint8_t *asc, uint8_t *ascq);

/* Human-readable name of a sense key, e.g. "ILLEGAL REQUEST". */
const char *pvs_sense_key_name(uint8_t key);

#endif
