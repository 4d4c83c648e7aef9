/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virtio_scsi_proto.h - the virtio-scsi wire format (virtio 1.1 5.6,
 * <linux/virtio_scsi.h>) and its mapping onto the LUN core: LUN
 * addressing, CDB length, response codes, task management functions and
 * event reasons.  Pure functions: no guest memory, no state.
 */
#ifndef VIRTIO_SCSI_PROTO_H
#define VIRTIO_SCSI_PROTO_H

#include <stdint.h>
#include <linux/virtio_scsi.h>

#include "pvscsi/lun.h"

/* Request/response header sizes with the default cdb_size and sense_size. */
#define VSP_CMD_REQ_SIZE  ((unsigned int)sizeof(struct virtio_scsi_cmd_req))
#define VSP_CMD_RESP_SIZE ((unsigned int)sizeof(struct virtio_scsi_cmd_resp))

/* The target and LUN numbers QEMU's virtio-scsi config space advertises. */
#define VSP_MAX_TARGET 255
#define VSP_MAX_LUN    16383

/*
 * virtio 1.1 5.6.6.1: lun[0] = 1, lun[1] = target, lun[2..3] = the LUN in
 * SAM single-level form: peripheral (byte 2 = 0) or flat space (01b in the
 * top bits of byte 2), lun[4..7] = 0.  Returns 0, or -1 for any other form
 * (the request then gets VIRTIO_SCSI_S_BAD_TARGET).
 */
int vsp_decode_lun(const uint8_t lun[8], uint32_t *target, uint32_t *lunid);
/*
 * The LUN field of an event (virtio 1.1 5.6.6.3): the encoding REPORT LUNS
 * uses (peripheral below 256, flat space above), because Linux's
 * virtio_scsi takes lun[2..3] as the SCSI LUN number as it is.
 */
void vsp_encode_lun(uint8_t lun[8], uint32_t target, uint32_t lunid);

/*
 * The length of the CDB at @cdb from its group code (SAM-5 5.2, SPC-5
 * 4.2.5.1): virtio always sends cdb_size bytes.  Never more than @cdb_size.
 */
unsigned int vsp_cdb_len(const uint8_t *cdb, unsigned int cdb_size);

/* VIRTIO_SCSI_S_* for a command that completed with @host (enum pvs_host_status). */
uint8_t vsp_cmd_response(uint8_t host);

/* The core's TMF for a VIRTIO_SCSI_T_TMF_* subtype; -1 when it has none (CLEAR ACA, unknown). */
int vsp_tmf_fn(uint32_t subtype, enum pvs_tmf_fn *fn);
/* VIRTIO_SCSI_S_FUNCTION_* for an enum pvs_tmf_result. */
uint8_t vsp_tmf_response(int result);

/* virtio 1.1 5.6.6.3.3: PARAM_CHANGE reason = ASC | ASCQ << 8. */
static inline uint32_t vsp_param_reason(uint8_t asc, uint8_t ascq)
{
	return (uint32_t)asc | (uint32_t)ascq << 8;
}

#endif
