/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sense_text.h - the words an administrator reads for a SCSI status and
 * sense, from libsgutils2 (sg3_utils' tables, kept current with T10), so
 * that logs, pvscsi-cdb and the control sockets say "LOGICAL BLOCK ADDRESS
 * OUT OF RANGE" rather than 21h/00h, and no program carries its own table.
 *
 * The LUN core stays free of the dependency: it decodes (pvs_sense_decode);
 * only the programs turn codes into words.
 */
#ifndef PSENSE_TEXT_H
#define PSENSE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvscsi/lun.h"

/* "ILLEGAL REQUEST"; @buf is returned, always terminated. */
const char *psense_key_text(unsigned int key, char *buf, size_t len);
/* "Logical block address out of range", or sg3_utils' words for a vendor or unknown code. */
const char *psense_asc_text(unsigned int asc, unsigned int ascq, char *buf, size_t len);
/* "Check Condition"; the SAM status byte in words. */
const char *psense_status_text(unsigned int status, char *buf, size_t len);
/*
 * One line for a whole sense buffer (fixed or descriptor format), e.g.
 * "ILLEGAL REQUEST: Logical block address out of range (21h/00h)", or
 * "no sense" / "malformed sense (N bytes)".  @buf is returned.
 */
const char *psense_line(const uint8_t *sense, size_t sense_len, char *buf, size_t len);

/*
 * A completed command's device error, for the transports' logs: a failing
 * disk is the administrator's business, not only the guest's.  True when
 * @req ended in MEDIUM ERROR, HARDWARE ERROR or ABORTED COMMAND (not a
 * guest's bad CDB, not a unit attention) and this one is to be logged: the
 * first PSENSE_DEV_LOGGED of *@count each, then every 1000th, so that a
 * dying disk cannot flood the journal.  @buf then holds "READ(10) failed:
 * Medium Error: Unrecovered read error (11h/00h)", with a note when the
 * rate changes.  *@count counts every device error.
 */
#define PSENSE_DEV_LOGGED 10
bool psense_device_error(const struct pvs_req *req, uint64_t *count, char *buf, size_t len);

#endif
