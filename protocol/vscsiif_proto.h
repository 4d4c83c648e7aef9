/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vscsiif_proto.h - vscsiif wire format: validate a request the backend has
 * already copied out of the shared ring, and build responses.
 *
 * Pure functions, no Xen library calls.  The caller copies each request
 * (and each indirect descriptor page) out of shared memory exactly once
 * and hands only the copy here (XSA-155): nothing in this file reads
 * memory the guest can still write.
 */
#ifndef PVSP_VSCSIIF_PROTO_H
#define PVSP_VSCSIIF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * <xen/io/ring.h> leaves the barriers to the includer.  x86 and arm64
 * userspace: C11 fences are what the kernel's virt_*mb() amount to here.
 */
#ifndef mb
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#ifndef rmb
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif
#ifndef wmb
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <xen/io/vscsiif.h>

#include "pvscsi/lun.h"

/* sc_data_direction: Linux's enum dma_data_direction, which the frontend sends as is. */
#define PVSP_DIR_BIDI     0
#define PVSP_DIR_TO_DEV   1
#define PVSP_DIR_FROM_DEV 2
#define PVSP_DIR_NONE     3

/* Why a request was refused; each answers DID_ERROR for that request only. */
enum pvsp_err {
	PVSP_OK = 0,
	PVSP_E_ACT,            /* act not 1 (CDB), 2 (ABORT) or 3 (RESET) */
	PVSP_E_ACT_SG_PRESET,  /* act 4: deprecated, no backend ever implemented it */
	PVSP_E_CMD_LEN,        /* CDB: cmd_len not 1..16; TMF: over 16 */
	PVSP_E_DIR,            /* sc_data_direction over 3 */
	PVSP_E_DIR_NONE_DATA,  /* direction NONE with segments */
	PVSP_E_NSEGS,          /* direct nr_segments over VSCSIIF_SG_TABLESIZE */
	PVSP_E_SG_GRANT_OFF,   /* VSCSIIF_SG_GRANT without feature-sg-grant */
	PVSP_E_IND_PAGES,      /* indirect: 0 or over VSCSIIF_SG_TABLESIZE descriptor pages */
	PVSP_E_IND_LEN,        /* indirect page length 0 or not a multiple of 8 */
	PVSP_E_IND_RANGE,      /* indirect page offset + length over 4096 */
	PVSP_E_SEG_EMPTY,      /* data segment of length 0 */
	PVSP_E_SEG_RANGE,      /* data segment offset + length over 4096 */
	PVSP_E_TOO_MANY_SEGS,  /* more data segments than feature-sg-grant */
	PVSP_E_TOO_MANY_BYTES, /* more data than the slot's bounce buffer */
	PVSP_E__COUNT
};

/* "act", "cmd_len", ... for log lines; "?" out of range. */
const char *pvsp_err_name(int err);

struct pvsp_limits {
	/* Advertised feature-sg-grant; 0: not advertised (direct segments only). */
	unsigned int max_segs;
	/* Bytes of one request's bounce buffer. */
	size_t max_bytes;
};

/* Data segments a request may carry under @lim. */
unsigned int pvsp_max_data_segs(const struct pvsp_limits *lim);

/*
 * The longest command, in logical blocks (of at most a page each), that a
 * Linux guest can always carry to a backend advertising @feature_sg_grant
 * (0: not advertised).  Reported as MAXIMUM and OPTIMAL TRANSFER LENGTH,
 * it keeps the guest's block layer from building a request xen-scsifront
 * refuses ("Unable to map request_buffer", the write lost).
 *
 * The arithmetic (docs/compat.md, "xen-scsifront"):
 * - The frontend takes S = feature-sg-grant clamped to [26, 128] (SG_ALL)
 *   as sg_tablesize: the block layer's max_segments, and the most grants
 *   map_data_for_request() accepts.  It needs one grant per page each
 *   scatter-gather entry touches, PFN_UP(offset + length).
 * - Since Linux 6.0 direct I/O buffers need only the queue's dma_alignment
 *   (4 bytes), with each iovec a multiple of the logical block: one block
 *   can straddle two pages, and a scatter-gather entry is built from
 *   whatever is physically contiguous.  So a command of B blocks may need
 *   2B grants, and no more: an extent of n bytes touches at most
 *   PFN_UP(n) + 1 pages, which is at most 2 per block when n is a
 *   multiple of a block no larger than a page.
 * - Hence S / 2 blocks, rounded down to a multiple of 8 (4 KiB of 512-byte
 *   blocks) so that the guest also takes it as its optimal size: sd wants
 *   that a multiple of the physical block.
 * With the default feature-sg-grant of 128 that is 64 blocks; with 26, 8.
 */
#define PVSP_FRONT_SG_MIN 26u  /* VSCSIIF_SG_TABLESIZE: xen-scsifront's floor */
#define PVSP_FRONT_SG_MAX 128u /* SG_ALL: xen-scsifront's ceiling */
uint32_t pvsp_max_xfer_blocks(unsigned int feature_sg_grant);

/* A validated request. */
struct pvsp_req {
	uint16_t rqid;
	uint8_t act;
	uint8_t cmd_len;
	uint8_t cdb[VSCSIIF_MAX_COMMAND_SIZE]; /* cmd_len bytes, then zeros */
	uint16_t channel, id, lun;
	uint16_t ref_rqid;
	uint8_t dir; /* PVSP_DIR_* */
	bool indirect;
	uint8_t nr_seg; /* valid seg[] entries: data segments, or descriptor pages if indirect */
	/*
	 * Data segments: nr_seg when direct; when indirect, the number of
	 * descriptors the pages hold (sum of lengths / 8), already checked
	 * against the limits, for the caller to copy out and check with
	 * pvsp_check_segments().
	 */
	uint32_t nr_data_segs;
	uint32_t data_len; /* direct: total bytes; indirect: 0 until checked */
	struct scsiif_request_segment seg[VSCSIIF_SG_TABLESIZE];
};

/*
 * Validate @copy (already out of the ring) into @out.  TMFs (act 2, 3)
 * carry no data: their segments and direction are not used, and cmd_len
 * may be 0 (Linux sends 0 for an ioctl-initiated reset).  Returns PVSP_OK
 * or the first enum pvsp_err found; @out is then partially filled (rqid
 * always valid).
 */
int pvsp_parse_request(const struct vscsiif_request *copy, const struct pvsp_limits *lim,
                       struct pvsp_req *out);

/*
 * Check @n data segment descriptors (direct, or copied out of indirect
 * pages): each non-empty, within its page, no more than the limits allow.
 * Returns PVSP_OK and the byte total in *@total, or an enum pvsp_err.
 */
int pvsp_check_segments(const struct scsiif_request_segment *seg, unsigned int n,
                        const struct pvsp_limits *lim, uint32_t *total);

/*
 * PVS_HOST_* to XEN_VSCSIIF_RSLT_HOST_* (= Linux DID_*); unknown: ERROR.
 * Inline, as the next one: both run once per command.
 */
static inline uint8_t pvsp_host_code(unsigned int pvs_host)
{
	switch (pvs_host) {
	case PVS_HOST_OK:
		return XEN_VSCSIIF_RSLT_HOST_OK;
	case PVS_HOST_NO_CONNECT:
		return XEN_VSCSIIF_RSLT_HOST_NO_CONNECT;
	case PVS_HOST_ABORTED:
		return XEN_VSCSIIF_RSLT_HOST_ABORT;
	case PVS_HOST_RESET:
		return XEN_VSCSIIF_RSLT_HOST_RESET;
	case PVS_HOST_TIMEOUT:
		return XEN_VSCSIIF_RSLT_HOST_TIME_OUT;
	case PVS_HOST_BUS_BUSY:
		return XEN_VSCSIIF_RSLT_HOST_BUS_BUSY;
	case PVS_HOST_ERROR:
	default:
		return XEN_VSCSIIF_RSLT_HOST_ERROR;
	}
}

/* PVSP_DIR_* to enum pvs_dir. */
static inline enum pvs_dir pvsp_dir_to_pvs(uint8_t dir)
{
	switch (dir) {
	case PVSP_DIR_TO_DEV:
		return PVS_DIR_TO_DEV;
	case PVSP_DIR_FROM_DEV:
		return PVS_DIR_FROM_DEV;
	case PVSP_DIR_BIDI:
		return PVS_DIR_BIDI;
	default:
		return PVS_DIR_NONE;
	}
}

/* rslt of a command response: host byte << 16 | SCSI status. */
static inline int32_t pvsp_rslt(uint8_t host, uint8_t status)
{
	return (int32_t)((uint32_t)host << 16 | status);
}

/*
 * Fill a response slot: the whole slot is zeroed first (XSA-216: nothing
 * stale reaches the guest), then rqid, rslt, residual_len and at most
 * VSCSIIF_SENSE_BUFFERSIZE bytes of @sense (a backend-side buffer).
 */
void pvsp_build_response(struct vscsiif_response *rsp, uint16_t rqid, int32_t rslt,
                         const uint8_t *sense, unsigned int sense_len, uint32_t residual);

#endif
