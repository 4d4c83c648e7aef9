/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vscsiif_proto.c - validation of copied-out vscsiif requests, responses.
 *
 * The rules follow xen-scsiback (prepare_pending_reqs,
 * scsiback_gnttab_data_map) and what xen-scsifront sends; see
 * docs/backend.md "Data path".
 */
#include <string.h>

#include "vscsiif_proto.h"

#define SEG_SIZE ((unsigned int)sizeof(struct scsiif_request_segment))

static const char *const err_names[PVSP_E__COUNT] = {
    [PVSP_OK] = "ok",
    [PVSP_E_ACT] = "act",
    [PVSP_E_ACT_SG_PRESET] = "act-sg-preset",
    [PVSP_E_CMD_LEN] = "cmd_len",
    [PVSP_E_DIR] = "sc_data_direction",
    [PVSP_E_DIR_NONE_DATA] = "dir-none-with-data",
    [PVSP_E_NSEGS] = "nr_segments",
    [PVSP_E_SG_GRANT_OFF] = "sg-grant-not-advertised",
    [PVSP_E_IND_PAGES] = "indirect-pages",
    [PVSP_E_IND_LEN] = "indirect-length",
    [PVSP_E_IND_RANGE] = "indirect-range",
    [PVSP_E_SEG_EMPTY] = "segment-empty",
    [PVSP_E_SEG_RANGE] = "segment-range",
    [PVSP_E_TOO_MANY_SEGS] = "too-many-segments",
    [PVSP_E_TOO_MANY_BYTES] = "too-many-bytes",
};

const char *pvsp_err_name(int err)
{
	if (err < 0 || err >= PVSP_E__COUNT)
		return "?";
	return err_names[err];
}

unsigned int pvsp_max_data_segs(const struct pvsp_limits *lim)
{
	return lim->max_segs ? lim->max_segs : VSCSIIF_SG_TABLESIZE;
}

uint32_t pvsp_max_xfer_blocks(unsigned int feature_sg_grant)
{
	unsigned int s = feature_sg_grant;
	uint32_t blocks;

	if (s < PVSP_FRONT_SG_MIN)
		s = PVSP_FRONT_SG_MIN;
	if (s > PVSP_FRONT_SG_MAX)
		s = PVSP_FRONT_SG_MAX;
	blocks = s / 2;
	/* Whole pages of 512-byte blocks (8), when there is room for one. */
	return blocks >= 8 ? blocks & ~7u : blocks;
}

/*
 * pvsp_check_segments(), copying each descriptor to @dst (when not NULL)
 * as it is checked; inline, so that a direct request's few segments are
 * copied and checked in one loop of parse_request().
 */
static inline int check_segments(struct scsiif_request_segment *dst,
                                 const struct scsiif_request_segment *seg, unsigned int n,
                                 const struct pvsp_limits *lim, uint32_t *total)
{
	uint64_t bytes = 0;

	if (n > pvsp_max_data_segs(lim))
		return PVSP_E_TOO_MANY_SEGS;
	for (unsigned int i = 0; i < n; i++) {
		/* Widened: offset and length are u16 and their sum must not wrap. */
		unsigned int off = seg[i].offset, len = seg[i].length;

		if (dst)
			dst[i] = seg[i];
		if (len == 0)
			return PVSP_E_SEG_EMPTY;
		if (off + len > VSCSIIF_PAGE_SIZE)
			return PVSP_E_SEG_RANGE;
		bytes += len;
	}
	if (bytes > lim->max_bytes)
		return PVSP_E_TOO_MANY_BYTES;
	*total = (uint32_t)bytes;
	return PVSP_OK;
}

int pvsp_check_segments(const struct scsiif_request_segment *seg, unsigned int n,
                        const struct pvsp_limits *lim, uint32_t *total)
{
	return check_segments(NULL, seg, n, lim, total);
}

/*
 * The CDB's first @len (1..16) bytes, the rest zero: the whole field is
 * copied (it is in the private copy already) and masked, with no copy or
 * fill of a guest-chosen length.  The mask is a window into 16 bytes of
 * 0xff then 16 of 0, so it does not depend on byte order.
 */
static void copy_cdb(uint8_t *dst, const uint8_t *cmnd, unsigned int len)
{
	static const uint8_t keep[2 * VSCSIIF_MAX_COMMAND_SIZE] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint64_t c[2], m[2];

	_Static_assert(VSCSIIF_MAX_COMMAND_SIZE == sizeof(c), "CDB field is two words");
	memcpy(c, cmnd, sizeof(c));
	memcpy(m, keep + VSCSIIF_MAX_COMMAND_SIZE - len, sizeof(m));
	c[0] &= m[0];
	c[1] &= m[1];
	memcpy(dst, c, sizeof(c));
}

static int parse_indirect(struct pvsp_req *out, unsigned int pages, const struct pvsp_limits *lim)
{
	uint32_t descs = 0;

	for (unsigned int i = 0; i < pages; i++) {
		unsigned int off = out->seg[i].offset, len = out->seg[i].length;

		if (len == 0 || len % SEG_SIZE)
			return PVSP_E_IND_LEN;
		if (off + len > VSCSIIF_PAGE_SIZE)
			return PVSP_E_IND_RANGE;
		descs += len / SEG_SIZE;
	}
	/* Checked before the caller copies anything: bounds its descriptor buffer. */
	if (descs > pvsp_max_data_segs(lim))
		return PVSP_E_TOO_MANY_SEGS;
	out->indirect = true;
	out->nr_seg = (uint8_t)pages;
	out->nr_data_segs = descs;
	return PVSP_OK;
}

int pvsp_parse_request(const struct vscsiif_request *copy, const struct pvsp_limits *lim,
                       struct pvsp_req *out)
{
	unsigned int nseg = copy->nr_segments & ~VSCSIIF_SG_GRANT;
	int err;

	out->rqid = copy->rqid;
	out->act = copy->act;
	out->cmd_len = copy->cmd_len;
	out->channel = copy->channel;
	out->id = copy->id;
	out->lun = copy->lun;
	out->ref_rqid = copy->ref_rqid;
	out->dir = copy->sc_data_direction;
	out->indirect = false;
	out->nr_seg = 0;
	out->nr_data_segs = 0;
	out->data_len = 0;

	switch (copy->act) {
	case VSCSIIF_ACT_SCSI_CDB:
		break;
	case VSCSIIF_ACT_SCSI_ABORT:
	case VSCSIIF_ACT_SCSI_RESET:
		if (copy->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
			return PVSP_E_CMD_LEN;
		if (copy->sc_data_direction > PVSP_DIR_NONE)
			return PVSP_E_DIR;
		copy_cdb(out->cdb, copy->cmnd, copy->cmd_len);
		return PVSP_OK;
	case VSCSIIF_ACT_SCSI_SG_PRESET:
		return PVSP_E_ACT_SG_PRESET;
	default:
		return PVSP_E_ACT;
	}

	if (copy->cmd_len == 0 || copy->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
		return PVSP_E_CMD_LEN;
	copy_cdb(out->cdb, copy->cmnd, copy->cmd_len);
	if (copy->sc_data_direction > PVSP_DIR_NONE)
		return PVSP_E_DIR;
	if (copy->nr_segments == 0)
		return PVSP_OK;
	if (copy->sc_data_direction == PVSP_DIR_NONE)
		return PVSP_E_DIR_NONE_DATA;

	/* Only the 26 entries the header defines are copied: nseg is bounded first. */
	if (copy->nr_segments & VSCSIIF_SG_GRANT) {
		if (!lim->max_segs)
			return PVSP_E_SG_GRANT_OFF;
		if (nseg == 0 || nseg > VSCSIIF_SG_TABLESIZE)
			return PVSP_E_IND_PAGES;
		memcpy(out->seg, copy->seg, nseg * sizeof(out->seg[0]));
		return parse_indirect(out, nseg, lim);
	}
	if (nseg > VSCSIIF_SG_TABLESIZE)
		return PVSP_E_NSEGS;
	err = check_segments(out->seg, copy->seg, nseg, lim, &out->data_len);
	if (err)
		return err;
	out->nr_seg = (uint8_t)nseg;
	out->nr_data_segs = nseg;
	return PVSP_OK;
}

void pvsp_build_response(struct vscsiif_response *rsp, uint16_t rqid, int32_t rslt,
                         const uint8_t *sense, unsigned int sense_len, uint32_t residual)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->rqid = rqid;
	rsp->rslt = rslt;
	rsp->residual_len = residual;
	if (sense && sense_len) {
		if (sense_len > VSCSIIF_SENSE_BUFFERSIZE)
			sense_len = VSCSIIF_SENSE_BUFFERSIZE;
		memcpy(rsp->sense_buffer, sense, sense_len);
		rsp->sense_len = (uint8_t)sense_len;
	}
}
