/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sense.c - THE reason -> status/sense table, and the only code that writes
 * sense bytes.  Handlers return a reason; pvsi_req_complete() calls
 * pvsi_sense_build() once per request, and REQUEST SENSE answers with
 * pvsi_sense_data().
 */
#include <string.h>

#include "core.h"

#define CC PVS_STATUS_CHECK_CONDITION

/* Indexed by enum pvs_sense_reason; the names are SPC-5 Annex F's wording. */
static const struct pvs_sense_desc sense_table[] = {
    [PVS_SR_OK] = {PVS_STATUS_GOOD, 0, 0, 0, "GOOD"},
    [PVS_SR_INVALID_OPCODE] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x20, 0x00,
                               "INVALID COMMAND OPERATION CODE"},
    [PVS_SR_INVALID_FIELD_IN_CDB] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00,
                                     "INVALID FIELD IN CDB"},
    [PVS_SR_INVALID_FIELD_IN_PARAM] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x00,
                                       "INVALID FIELD IN PARAMETER LIST"},
    [PVS_SR_PARAM_LIST_LENGTH_ERROR] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x1a, 0x00,
                                        "PARAMETER LIST LENGTH ERROR"},
    [PVS_SR_LBA_OUT_OF_RANGE] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x21, 0x00,
                                 "LOGICAL BLOCK ADDRESS OUT OF RANGE"},
    [PVS_SR_LUN_NOT_SUPPORTED] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x25, 0x00,
                                  "LOGICAL UNIT NOT SUPPORTED"},
    [PVS_SR_SAVING_PARAMS_UNSUPPORTED] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x39, 0x00,
                                          "SAVING PARAMETERS NOT SUPPORTED"},
    [PVS_SR_INVALID_RELEASE_OF_PR] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x26, 0x04,
                                      "INVALID RELEASE OF PERSISTENT RESERVATION"},
    [PVS_SR_INSUFFICIENT_REG_RESOURCES] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x55, 0x04,
                                           "INSUFFICIENT REGISTRATION RESOURCES"},
    [PVS_SR_WRITE_PROTECTED] = {CC, PVS_KEY_DATA_PROTECT, 0x27, 0x00, "WRITE PROTECTED"},
    [PVS_SR_SPACE_ALLOCATION_FAILED] = {CC, PVS_KEY_DATA_PROTECT, 0x27, 0x07,
                                        "SPACE ALLOCATION FAILED WRITE PROTECT"},
    [PVS_SR_NOT_READY_STOPPED] = {CC, PVS_KEY_NOT_READY, 0x04, 0x02,
                                  "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED"},
    [PVS_SR_MEDIUM_NOT_PRESENT] = {CC, PVS_KEY_NOT_READY, 0x3a, 0x00, "MEDIUM NOT PRESENT"},
    [PVS_SR_READ_ERROR] = {CC, PVS_KEY_MEDIUM_ERROR, 0x11, 0x00, "UNRECOVERED READ ERROR"},
    [PVS_SR_WRITE_ERROR] = {CC, PVS_KEY_MEDIUM_ERROR, 0x0c, 0x00, "WRITE ERROR"},
    [PVS_SR_MISCOMPARE_DURING_VERIFY] = {CC, PVS_KEY_MISCOMPARE, 0x1d, 0x00,
                                         "MISCOMPARE DURING VERIFY OPERATION"},
    [PVS_SR_INTERNAL_TARGET_FAILURE] = {CC, PVS_KEY_HARDWARE_ERROR, 0x44, 0x00,
                                        "INTERNAL TARGET FAILURE"},
    [PVS_SR_ABORTED_COMMAND] = {CC, PVS_KEY_ABORTED_COMMAND, 0x00, 0x00, "ABORTED COMMAND"},
    [PVS_SR_UA_POWER_ON] = {CC, PVS_KEY_UNIT_ATTENTION, 0x29, 0x00,
                            "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"},
    [PVS_SR_UA_LUN_RESET] = {CC, PVS_KEY_UNIT_ATTENTION, 0x29, 0x03,
                             "BUS DEVICE RESET FUNCTION OCCURRED"},
    [PVS_SR_UA_NEXUS_LOSS] = {CC, PVS_KEY_UNIT_ATTENTION, 0x29, 0x07, "I_T NEXUS LOSS OCCURRED"},
    [PVS_SR_UA_MODE_PARAMS_CHANGED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x01,
                                       "MODE PARAMETERS CHANGED"},
    [PVS_SR_UA_RESERVATIONS_PREEMPTED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x03,
                                          "RESERVATIONS PREEMPTED"},
    [PVS_SR_UA_RESERVATIONS_RELEASED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x04,
                                         "RESERVATIONS RELEASED"},
    [PVS_SR_UA_REGISTRATIONS_PREEMPTED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x05,
                                           "REGISTRATIONS PREEMPTED"},
    [PVS_SR_UA_CAPACITY_CHANGED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x2a, 0x09,
                                    "CAPACITY DATA HAS CHANGED"},
    [PVS_SR_UA_LUNS_CHANGED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x3f, 0x0e,
                                "REPORTED LUNS DATA HAS CHANGED"},
    [PVS_SR_UA_MEDIUM_CHANGED] = {CC, PVS_KEY_UNIT_ATTENTION, 0x28, 0x00,
                                  "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"},
    [PVS_SR_RESERVATION_CONFLICT] = {PVS_STATUS_RESERVATION_CONFLICT, 0, 0, 0,
                                     "RESERVATION CONFLICT"},
    [PVS_SR_BUSY] = {PVS_STATUS_BUSY, 0, 0, 0, "BUSY"},
    [PVS_SR_TASK_SET_FULL] = {PVS_STATUS_TASK_SET_FULL, 0, 0, 0, "TASK SET FULL"},
    [PVS_SR_MEDIUM_REMOVAL_PREVENTED] = {CC, PVS_KEY_ILLEGAL_REQUEST, 0x53, 0x02,
                                         "MEDIUM REMOVAL PREVENTED"},
    [PVS_SR_NO_MEDIUM_TRAY_CLOSED] = {CC, PVS_KEY_NOT_READY, 0x3a, 0x01,
                                      "MEDIUM NOT PRESENT - TRAY CLOSED"},
    [PVS_SR_NO_MEDIUM_TRAY_OPEN] = {CC, PVS_KEY_NOT_READY, 0x3a, 0x02,
                                    "MEDIUM NOT PRESENT - TRAY OPEN"},
};

/*
 * A reason added to the enum without a row here would make the table
 * shorter than the enum; a row for a reason that does not exist longer.
 * (A hole in the middle leaves name NULL: the unit test checks every row.)
 */
_Static_assert(sizeof(sense_table) / sizeof(sense_table[0]) == PVS_SR__COUNT,
               "sense_table must cover every enum pvs_sense_reason");

const struct pvs_sense_desc *pvs_sense_lookup(enum pvs_sense_reason sr)
{
	if ((unsigned)sr >= PVS_SR__COUNT || !sense_table[sr].name)
		return NULL;
	return &sense_table[sr];
}

#define FIXED_LEN 18 /* SPC-5 4.4.3: 8-byte header + ADDITIONAL SENSE LENGTH 10 */
#define DESC_LEN  8  /* SPC-5 4.4.2: the header, ADDITIONAL SENSE LENGTH 0 */

/* The row for @sr; an unknown reason is what the completion path reports for it. */
static const struct pvs_sense_desc *row_of(int sr)
{
	const struct pvs_sense_desc *d = pvs_sense_lookup((enum pvs_sense_reason)sr);

	return d ? d : pvs_sense_lookup(PVS_SR_INTERNAL_TARGET_FAILURE);
}

/* Every sense byte the core sends is written here, from @d and @x. */
static size_t build(const struct pvs_sense_desc *d, const struct pvsi_sense_extra *x, uint8_t *buf,
                    size_t len)
{
	uint8_t s[FIXED_LEN];
	size_t n;

	if (!buf)
		return 0;
	memset(s, 0, sizeof(s));
	if (x && x->desc) {
		/* Current error, descriptor format, no descriptors. */
		s[0] = 0x72;
		s[1] = d->key;
		s[2] = d->asc;
		s[3] = d->ascq;
		n = DESC_LEN;
	} else {
		s[0] = 0x70; /* current error, fixed format */
		s[2] = d->key;
		s[7] = FIXED_LEN - 8;
		s[12] = d->asc;
		s[13] = d->ascq;
		/*
		 * SPC-5 4.4.2.2: the field pointer is defined for ILLEGAL
		 * REQUEST only; SKSV, C/D (1 = CDB, 0 = parameter list), BPV
		 * and BIT POINTER.
		 */
		if (x && x->field >= 0 && x->field <= 0xffff && d->key == PVS_KEY_ILLEGAL_REQUEST) {
			s[15] = 0x80 | (x->in_cdb ? 0x40 : 0);
			if (x->bit >= 0 && x->bit <= 7)
				s[15] |= 0x08 | (uint8_t)x->bit;
			pvsi_put_be16(&s[16], (uint16_t)x->field);
		}
		/* SPC-5 4.4.3: VALID only when the caller gets INFORMATION too. */
		if (x && x->info_valid && len >= 7) {
			s[0] |= 0x80;
			pvsi_put_be32(&s[3], x->info);
		}
		n = FIXED_LEN;
	}
	n = len < n ? len : n;
	memcpy(buf, s, n);
	return n;
}

size_t pvsi_sense_build(int sr, const struct pvsi_sense_extra *x, uint8_t *buf, size_t len)
{
	const struct pvs_sense_desc *d = row_of(sr);

	if (d->status != PVS_STATUS_CHECK_CONDITION)
		return 0;
	return build(d, x, buf, len);
}

size_t pvsi_sense_data(int sr, bool desc, uint8_t *buf, size_t len)
{
	const struct pvs_sense_desc *d = row_of(sr);
	const struct pvsi_sense_extra x = {.desc = desc, .field = -1, .bit = -1};

	/* GOOD's row is NO SENSE: key, ASC and ASCQ zero. */
	if (d->status != PVS_STATUS_CHECK_CONDITION)
		d = pvs_sense_lookup(PVS_SR_OK);
	return build(d, &x, buf, len);
}

size_t pvs_sense_build(enum pvs_sense_reason sr, int in_cdb, int field, int bit, uint8_t *buf,
                       size_t len)
{
	const struct pvsi_sense_extra x = {.in_cdb = in_cdb, .field = field, .bit = bit};

	return pvsi_sense_build(sr, &x, buf, len);
}

int pvs_sense_decode(const uint8_t *sense, size_t len, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t k, a = 0, q = 0;

	if (!sense || len < 1)
		return -1;
	switch (sense[0] & 0x7f) {
	case 0x70:
	case 0x71:
		if (len < 3)
			return -1;
		k = sense[2] & 0x0f;
		/* ASC/ASCQ only when both the buffer and ADDITIONAL SENSE LENGTH cover them. */
		if (len >= 14 && sense[7] >= 6) {
			a = sense[12];
			q = sense[13];
		}
		break;
	case 0x72:
	case 0x73:
		if (len < 4)
			return -1;
		k = sense[1] & 0x0f;
		a = sense[2];
		q = sense[3];
		break;
	default:
		return -1;
	}
	if (key)
		*key = k;
	if (asc)
		*asc = a;
	if (ascq)
		*ascq = q;
	return 0;
}

const char *pvs_sense_key_name(uint8_t key)
{
	/* SPC-5 Table 52. */
	static const char *const names[16] = {
	    "NO SENSE",       "RECOVERED ERROR", "NOT READY",      "MEDIUM ERROR",
	    "HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
	    "BLANK CHECK",    "VENDOR SPECIFIC", "COPY ABORTED",   "ABORTED COMMAND",
	    "RESERVED (0Ch)", "VOLUME OVERFLOW", "MISCOMPARE",     "COMPLETED",
	};

	return key < 16 ? names[key] : "INVALID SENSE KEY";
}
