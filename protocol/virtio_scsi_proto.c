/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virtio_scsi_proto.c - virtio-scsi wire rules (see virtio_scsi_proto.h).
 */
#include <string.h>

#include "virtio_scsi_proto.h"

int vsp_decode_lun(const uint8_t lun[8], uint32_t *target, uint32_t *lunid)
{
	static const uint8_t zero[4];

	if (lun[0] != 1 || memcmp(lun + 4, zero, 4) != 0)
		return -1;
	if (lun[2] == 0) {
		/* SAM-5 4.7.7.2 peripheral device addressing, bus identifier 0. */
		*lunid = lun[3];
	} else if ((lun[2] & 0xc0) == 0x40) {
		/* SAM-5 4.7.7.4 flat space addressing. */
		*lunid = (uint32_t)(lun[2] & 0x3f) << 8 | lun[3];
	} else {
		return -1;
	}
	*target = lun[1];
	return 0;
}

void vsp_encode_lun(uint8_t lun[8], uint32_t target, uint32_t lunid)
{
	memset(lun, 0, 8);
	lun[0] = 1;
	lun[1] = (uint8_t)target;
	if (lunid >= 256)
		lun[2] = (uint8_t)(0x40 | ((lunid >> 8) & 0x3f));
	lun[3] = (uint8_t)lunid;
}

unsigned int vsp_cdb_len(const uint8_t *cdb, unsigned int cdb_size)
{
	unsigned int len;

	switch (cdb[0] >> 5) {
	case 0:
		len = 6;
		break;
	case 1:
	case 2:
		len = 10;
		break;
	case 4:
		len = 16;
		break;
	case 5:
		len = 12;
		break;
	case 3:
		/* SPC-5 4.2.5.1: 7Fh, variable length: ADDITIONAL CDB LENGTH in byte 7. */
		len = cdb[0] == 0x7f ? 8u + cdb[7] : cdb_size;
		break;
	default:
		/* Vendor specific groups 6 and 7: the length is unknown, pass it all. */
		len = cdb_size;
		break;
	}
	return len > cdb_size ? cdb_size : len;
}

uint8_t vsp_cmd_response(uint8_t host)
{
	switch (host) {
	case PVS_HOST_OK:
		return VIRTIO_SCSI_S_OK;
	case PVS_HOST_NO_CONNECT:
		return VIRTIO_SCSI_S_BAD_TARGET;
	case PVS_HOST_ABORTED:
		return VIRTIO_SCSI_S_ABORTED;
	case PVS_HOST_RESET:
		return VIRTIO_SCSI_S_RESET;
	case PVS_HOST_BUS_BUSY:
		return VIRTIO_SCSI_S_BUSY;
	case PVS_HOST_TIMEOUT:
		/* The guest retries a transport failure on another path or later. */
		return VIRTIO_SCSI_S_TRANSPORT_FAILURE;
	default:
		return VIRTIO_SCSI_S_FAILURE;
	}
}

int vsp_tmf_fn(uint32_t subtype, enum pvs_tmf_fn *fn)
{
	switch (subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		*fn = PVS_TMF_ABORT_TASK;
		return 0;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
		*fn = PVS_TMF_ABORT_TASK_SET;
		return 0;
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
		*fn = PVS_TMF_CLEAR_TASK_SET;
		return 0;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		*fn = PVS_TMF_I_T_NEXUS_RESET;
		return 0;
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		*fn = PVS_TMF_LUN_RESET;
		return 0;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		*fn = PVS_TMF_QUERY_TASK;
		return 0;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		*fn = PVS_TMF_QUERY_TASK_SET;
		return 0;
	default:
		/* CLEAR ACA: NACA is never set (the core rejects it), so there is no ACA. */
		return -1;
	}
}

uint8_t vsp_tmf_response(int result)
{
	switch (result) {
	case PVS_TMF_FUNCTION_COMPLETE:
		/* virtio 1.1 5.6.6.2: VIRTIO_SCSI_S_FUNCTION_COMPLETE is 0, the header has no name
		 * for it. */
		return VIRTIO_SCSI_S_OK;
	case PVS_TMF_FUNCTION_SUCCEEDED:
		return VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	default:
		return VIRTIO_SCSI_S_FUNCTION_REJECTED;
	}
}
