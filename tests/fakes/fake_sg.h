/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_sg - a scripted stand-in for /dev/sgN behind struct pvsi_sg_ops.
 *
 * Nodes are declared by path and kind; a CDB written to an sg node is
 * answered from the script (first entry whose CDB prefix matches), or GOOD
 * with nothing transferred.  Answers become readable at once, or on
 * fake_sg_release() while held.  The fds are real eventfds so the worker's
 * epoll can wait on them.  Install with pvsi_sg_set_ops(&fake_sg_ops).
 */
#ifndef FAKE_SG_H
#define FAKE_SG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <scsi/sg.h>

#include "passthrough.h"

enum fake_sg_kind {
	FAKE_SG_CHR,       /* an sg node: char major 21, SG_GET_VERSION_NUM 30536 */
	FAKE_SG_BLOCK,     /* a disk or partition: block node, still answers the sg ioctl */
	FAKE_SG_OTHER_CHR, /* a char device that is not sg (ENOTTY) */
	FAKE_SG_BSG,       /* char device of another major answering SG_GET_VERSION_NUM */
};

struct fake_sg_reply {
	uint8_t match[16]; /* CDB prefix */
	uint8_t match_len;
	uint8_t status;
	uint8_t host_status;
	uint8_t driver_status;
	uint8_t sense[96];
	uint8_t sense_len; /* bytes the device returns; sb_len_wr = min(this, mx_sb_len) */
	uint8_t data[512]; /* data-in, copied up to dxfer_len */
	uint32_t data_len;
	bool resid_set; /* report @resid as is instead of dxfer_len - bytes copied */
	int resid;
};

extern const struct pvsi_sg_ops fake_sg_ops;

/* Forget nodes, script, log and queued answers; close nothing the caller still holds. */
void fake_sg_reset(void);
void fake_sg_add_node(const char *path, enum fake_sg_kind kind);
/* Append to the script; up to 32 entries. */
void fake_sg_script(const struct fake_sg_reply *r);
/* While held, answers queue without becoming readable. */
void fake_sg_hold(bool hold);
/* Make every held answer readable; returns how many. */
unsigned int fake_sg_release(void);
/* The next write fails with @err (0: none). */
void fake_sg_fail_next_write(int err);
/* write() calls that reached the device (refused ones too), and the last command accepted. */
unsigned int fake_sg_writes(void);
const struct sg_io_hdr *fake_sg_last_hdr(void);
const uint8_t *fake_sg_last_cdb(void);
/*
 * The open-time INQUIRY (SG_IO): byte 0 of its answer (peripheral qualifier
 * and device type; 00h, a disk, by default), and a failure to give instead
 * (an errno for the ioctl, or else a SCSI status; 0, 0: answer).
 */
void fake_sg_set_pdt(uint8_t pdt);
void fake_sg_fail_inquiry(int err, uint8_t status);
unsigned int fake_sg_inquiries(void);
/* Data-out gathered from the last write (first 4096 bytes). */
const uint8_t *fake_sg_last_out(size_t *len);

#endif
