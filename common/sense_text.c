// SPDX-License-Identifier: GPL-2.0-or-later
#include "sense_text.h"

#include <scsi/sg_lib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ASC_LEAD "Additional sense: "

/* libsgutils2 takes int lengths: a caller's size_t never reaches it above INT_MAX. */
static int ilen(size_t len)
{
	return len > 4096 ? 4096 : (int)len;
}

const char *psense_key_text(unsigned int key, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	sg_get_sense_key_str((int)(key & 0xf), ilen(len), buf);
	return buf;
}

const char *psense_asc_text(unsigned int asc, unsigned int ascq, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	sg_get_asc_ascq_str((int)(asc & 0xff), (int)(ascq & 0xff), ilen(len), buf);
	/* sg3_utils says "Additional sense: " before every code it knows: a log line's noise. */
	if (!strncmp(buf, ASC_LEAD, sizeof(ASC_LEAD) - 1))
		memmove(buf, buf + sizeof(ASC_LEAD) - 1, strlen(buf + sizeof(ASC_LEAD) - 1) + 1);
	return buf;
}

const char *psense_status_text(unsigned int status, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	sg_get_scsi_status_str((int)(status & 0xff), ilen(len), buf);
	return buf;
}

const char *psense_line(const uint8_t *sense, size_t sense_len, char *buf, size_t len)
{
	struct sg_scsi_sense_hdr h;
	char key[64], asc[160];

	if (!len)
		return buf;
	if (!sense_len) {
		snprintf(buf, len, "no sense");
		return buf;
	}
	if (!sg_scsi_normalize_sense(sense, ilen(sense_len), &h)) {
		snprintf(buf, len, "malformed sense (%zu bytes)", sense_len);
		return buf;
	}
	snprintf(buf, len, "%s: %s (%02Xh/%02Xh)", psense_key_text(h.sense_key, key, sizeof(key)),
	         psense_asc_text(h.asc, h.ascq, asc, sizeof(asc)), h.asc, h.ascq);
	return buf;
}

bool psense_device_error(const struct pvs_req *req, uint64_t *count, char *buf, size_t len)
{
	uint8_t key, asc, ascq;
	char text[200];

	if (req->status != PVS_STATUS_CHECK_CONDITION ||
	    pvs_sense_decode(req->sense, req->sense_len, &key, &asc, &ascq) ||
	    (key != PVS_KEY_MEDIUM_ERROR && key != PVS_KEY_HARDWARE_ERROR &&
	     key != PVS_KEY_ABORTED_COMMAND))
		return false;
	++*count;
	if (*count > PSENSE_DEV_LOGGED && *count % 1000)
		return false;
	snprintf(buf, len, "%s failed: %s%s", pvs_opcode_name(req->cdb, req->cdb_len),
	         psense_line(req->sense, req->sense_len, text, sizeof(text)),
	         *count == PSENSE_DEV_LOGGED  ? " (from now on every 1000th is logged)"
	         : *count > PSENSE_DEV_LOGGED ? " (1000 more)"
	                                      : "");
	return true;
}
