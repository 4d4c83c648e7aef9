/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vscsiif_fuzz.c - a vscsiif ring slot and its indirect descriptor pages
 * (protocol/vscsiif_proto.c) against a model written from the rules in
 * docs/backend.md "Data path" step 2 and 4 and hostile-input.md class 3/4.
 *
 * Input: one byte choosing the limits (feature-sg-grant 0, 26, 128, 1024
 * or any in between; the bounce buffer as the ring sizes it, or smaller),
 * the 252-byte request as the guest wrote it, then the descriptors of the
 * indirect pages (8 bytes each), then a response to build.
 *
 * Checked: pvsp_parse_request() accepts exactly the requests that break no
 * rule, and when it refuses, the reason it gives is one of the rules the
 * request breaks (the order between rules is the code's business); what it
 * accepts is copied out field for field; the descriptors it then counts are
 * accepted by pvsp_check_segments() exactly when they break no rule, with
 * the byte total; a response slot holds exactly rqid, rslt, residual and at
 * most 96 sense bytes, every other byte zero (XSA-216); the transfer bound
 * never needs more grants than xen-scsifront maps.
 */
#include "fz.h"
#include "vscsiif_proto.h"

#define PAGE     4096u
#define MAX_SEGS 1024u /* PVSD_RING_MAX_SEGS: the most a ring ever advertises */

/* The rules a request breaks, as a bit set of enum pvsp_err. */
static uint32_t violations(const struct vscsiif_request *r, const struct pvsp_limits *lim,
                           uint32_t *descs)
{
	unsigned int max_data = lim->max_segs ? lim->max_segs : VSCSIIF_SG_TABLESIZE;
	unsigned int nseg = r->nr_segments & 0x7f;
	uint32_t v = 0;

	*descs = 0;
	if (r->act == VSCSIIF_ACT_SCSI_ABORT || r->act == VSCSIIF_ACT_SCSI_RESET) {
		/* Task management: Linux may send cmd_len 0; nothing else of the slot is used. */
		if (r->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
			v |= 1u << PVSP_E_CMD_LEN;
		if (r->sc_data_direction > PVSP_DIR_NONE)
			v |= 1u << PVSP_E_DIR;
		return v;
	}
	if (r->act == VSCSIIF_ACT_SCSI_SG_PRESET)
		return 1u << PVSP_E_ACT_SG_PRESET;
	if (r->act != VSCSIIF_ACT_SCSI_CDB)
		return 1u << PVSP_E_ACT;
	if (r->cmd_len == 0 || r->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
		v |= 1u << PVSP_E_CMD_LEN;
	if (r->sc_data_direction > PVSP_DIR_NONE)
		v |= 1u << PVSP_E_DIR;
	if (r->nr_segments == 0)
		return v;
	if (r->sc_data_direction == PVSP_DIR_NONE)
		v |= 1u << PVSP_E_DIR_NONE_DATA;
	if (r->nr_segments & VSCSIIF_SG_GRANT) {
		bool pages_ok = true;

		if (!lim->max_segs)
			v |= 1u << PVSP_E_SG_GRANT_OFF;
		if (nseg == 0 || nseg > VSCSIIF_SG_TABLESIZE) {
			v |= 1u << PVSP_E_IND_PAGES;
			return v;
		}
		for (unsigned int i = 0; i < nseg; i++) {
			unsigned int off = r->seg[i].offset, len = r->seg[i].length;

			if (len == 0 || len % 8) {
				v |= 1u << PVSP_E_IND_LEN;
				pages_ok = false;
			}
			if (off + len > PAGE) {
				v |= 1u << PVSP_E_IND_RANGE;
				pages_ok = false;
			}
			*descs += len / 8;
		}
		if (pages_ok && *descs > max_data)
			v |= 1u << PVSP_E_TOO_MANY_SEGS;
		return v;
	}
	if (nseg > VSCSIIF_SG_TABLESIZE) {
		v |= 1u << PVSP_E_NSEGS;
		return v;
	}
	{
		uint64_t bytes = 0;

		for (unsigned int i = 0; i < nseg; i++) {
			if (r->seg[i].length == 0)
				v |= 1u << PVSP_E_SEG_EMPTY;
			if ((unsigned int)r->seg[i].offset + r->seg[i].length > PAGE)
				v |= 1u << PVSP_E_SEG_RANGE;
			bytes += r->seg[i].length;
		}
		if (bytes > lim->max_bytes)
			v |= 1u << PVSP_E_TOO_MANY_BYTES;
	}
	return v;
}

static uint32_t seg_violations(const struct scsiif_request_segment *s, unsigned int n,
                               const struct pvsp_limits *lim, uint64_t *bytes)
{
	unsigned int max_data = lim->max_segs ? lim->max_segs : VSCSIIF_SG_TABLESIZE;
	uint32_t v = 0;

	*bytes = 0;
	if (n > max_data)
		return 1u << PVSP_E_TOO_MANY_SEGS;
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].length == 0)
			v |= 1u << PVSP_E_SEG_EMPTY;
		if ((unsigned int)s[i].offset + s[i].length > PAGE)
			v |= 1u << PVSP_E_SEG_RANGE;
		*bytes += s[i].length;
	}
	if (*bytes > lim->max_bytes)
		v |= 1u << PVSP_E_TOO_MANY_BYTES;
	return v;
}

static void check_accepted(const struct vscsiif_request *r, const struct pvsp_req *p,
                           uint32_t descs)
{
	unsigned int nseg = r->nr_segments & 0x7f;

	FZ_CHECK(p->act == r->act && p->cmd_len == r->cmd_len && p->channel == r->channel &&
	             p->id == r->id && p->lun == r->lun && p->ref_rqid == r->ref_rqid &&
	             p->dir == r->sc_data_direction,
	         "fields not copied as sent");
	FZ_CHECK(memcmp(p->cdb, r->cmnd, r->cmd_len) == 0, "CDB not copied");
	if (r->act != VSCSIIF_ACT_SCSI_CDB)
		return;
	if (r->nr_segments == 0) {
		FZ_CHECK(!p->indirect && p->nr_seg == 0 && p->nr_data_segs == 0 && p->data_len == 0,
		         "a request without data has data");
		return;
	}
	FZ_CHECK(p->indirect == !!(r->nr_segments & VSCSIIF_SG_GRANT), "indirect flag");
	FZ_CHECK(p->nr_seg == nseg, "nr_seg %u of %u", p->nr_seg, nseg);
	FZ_CHECK(memcmp(p->seg, r->seg, nseg * sizeof(r->seg[0])) == 0, "segments not copied");
	if (p->indirect) {
		FZ_CHECK(p->nr_data_segs == descs, "%u descriptors counted, %u there",
		         p->nr_data_segs, descs);
	} else {
		uint64_t bytes = 0;

		for (unsigned int i = 0; i < nseg; i++)
			bytes += r->seg[i].length;
		FZ_CHECK(p->nr_data_segs == nseg && p->data_len == bytes,
		         "data %u bytes, %llu sent", p->data_len, (unsigned long long)bytes);
	}
}

static void check_response(struct fz *f)
{
	struct vscsiif_response rsp, want;
	uint8_t sense[255];
	uint16_t rqid = fz_u16(f);
	int32_t rslt = (int32_t)fz_u32(f);
	uint32_t resid = fz_u32(f);
	unsigned int sense_len = fz_u8(f);
	unsigned int kept =
	    sense_len > VSCSIIF_SENSE_BUFFERSIZE ? VSCSIIF_SENSE_BUFFERSIZE : sense_len;
	bool with_sense = fz_bool(f);

	fz_bytes(f, sense, sizeof(sense));
	memset(&rsp, 0xa5, sizeof(rsp)); /* what a slot held before: a request, a response */
	pvsp_build_response(&rsp, rqid, rslt, with_sense ? sense : NULL, sense_len, resid);
	memset(&want, 0, sizeof(want));
	want.rqid = rqid;
	want.rslt = rslt;
	want.residual_len = resid;
	if (with_sense && sense_len) {
		want.sense_len = (uint8_t)kept;
		memcpy(want.sense_buffer, sense, kept);
	}
	FZ_CHECK(memcmp(&rsp, &want, sizeof(rsp)) == 0, "response slot: sense_len %u", sense_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scsiif_request_segment desc[MAX_SEGS + 64];
	struct fz f;
	struct vscsiif_request r;
	struct pvsp_limits lim;
	struct pvsp_req p;
	uint8_t sel;
	uint32_t descs, want;
	int err;

	fz_init(&f, data, size);
	sel = fz_u8(&f);
	switch (sel & 7) {
	case 0:
		lim.max_segs = 0;
		break;
	case 1:
		lim.max_segs = VSCSIIF_SG_TABLESIZE;
		break;
	case 2:
	case 3:
		lim.max_segs = 128;
		break;
	case 4:
		lim.max_segs = MAX_SEGS;
		break;
	default:
		lim.max_segs = fz_range(&f, VSCSIIF_SG_TABLESIZE, MAX_SEGS);
		break;
	}
	/* As the ring sizes it, or a smaller bounce buffer (pvsp_limits allows any). */
	lim.max_bytes = (size_t)(lim.max_segs ? lim.max_segs : VSCSIIF_SG_TABLESIZE) * PAGE;
	if (sel & 0x80)
		lim.max_bytes = fz_u32(&f) % (lim.max_bytes + 1);
	fz_bytes(&f, &r, sizeof(r));

	memset(&p, 0x5a, sizeof(p));
	err = pvsp_parse_request(&r, &lim, &p);
	want = violations(&r, &lim, &descs);
	FZ_CHECK(err >= 0 && err < PVSP_E__COUNT && strcmp(pvsp_err_name(err), "?") != 0,
	         "error code %d", err);
	FZ_CHECK(p.rqid == r.rqid, "rqid not kept for the answer");
	FZ_CHECK((err == PVSP_OK) == (want == 0), "parse says %s, the rules 0x%x",
	         pvsp_err_name(err), want);
	FZ_CHECK(err == PVSP_OK || (want >> err & 1), "refused for %s, the rules broken are 0x%x",
	         pvsp_err_name(err), want);
	if (err == PVSP_OK)
		check_accepted(&r, &p, descs);

	/* The indirect pages as the ring copies them out, checked as it does. */
	if (err == PVSP_OK && p.indirect) {
		uint32_t total = 0x5a5a5a5a, seen;
		uint64_t bytes;
		int serr;

		fz_bytes(&f, desc, p.nr_data_segs * sizeof(desc[0]));
		serr = pvsp_check_segments(desc, p.nr_data_segs, &lim, &total);
		seen = seg_violations(desc, p.nr_data_segs, &lim, &bytes);
		FZ_CHECK((serr == PVSP_OK) == (seen == 0) &&
		             (serr == PVSP_OK || (seen >> serr & 1)),
		         "descriptors: %s, the rules 0x%x", pvsp_err_name(serr), seen);
		FZ_CHECK(serr != PVSP_OK || total == bytes, "total %u of %llu", total,
		         (unsigned long long)bytes);
	} else if (fz_bool(&f)) {
		/* Any count, past the limits too: the check comes before any descriptor is read. */
		unsigned int n = fz_range(&f, 0, MAX_SEGS + 64);
		uint32_t total = 0, seen;
		uint64_t bytes;
		int serr;

		fz_bytes(&f, desc, (n < MAX_SEGS + 64 ? n : MAX_SEGS + 64) * sizeof(desc[0]));
		serr = pvsp_check_segments(desc, n, &lim, &total);
		seen = seg_violations(desc, n, &lim, &bytes);
		FZ_CHECK((serr == PVSP_OK) == (seen == 0) &&
		             (serr == PVSP_OK || (seen >> serr & 1)),
		         "%u descriptors: %s, the rules 0x%x", n, pvsp_err_name(serr), seen);
		FZ_CHECK(serr != PVSP_OK || total == bytes, "total %u of %llu", total,
		         (unsigned long long)bytes);
	}

	check_response(&f);
	{
		uint32_t s = fz_u32(&f), b = pvsp_max_xfer_blocks(s);
		uint32_t grants = s < PVSP_FRONT_SG_MIN   ? PVSP_FRONT_SG_MIN
		                  : s > PVSP_FRONT_SG_MAX ? PVSP_FRONT_SG_MAX
		                                          : s;

		FZ_CHECK(b >= 1 && 2 * b <= grants && (b < 8 || b % 8 == 0),
		         "bound %u blocks for feature-sg-grant %u", b, s);
	}
	return 0;
}
