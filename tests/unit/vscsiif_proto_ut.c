/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vscsiif_proto_ut.c - every validation rule of protocol/vscsiif_proto.c,
 * accepted and rejected, with the exact error code; response building.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "cu_run.h"
#include "vscsiif_proto.h"

static const struct pvsp_limits lim128 = {.max_segs = 128, .max_bytes = 128 * 4096};
static const struct pvsp_limits lim_none = {.max_segs = 0, .max_bytes = 26 * 4096};

static struct vscsiif_request base(void)
{
	struct vscsiif_request r;

	memset(&r, 0, sizeof(r));
	r.rqid = 7;
	r.act = VSCSIIF_ACT_SCSI_CDB;
	r.cmd_len = 6;
	r.cmnd[0] = 0x00; /* TEST UNIT READY */
	r.sc_data_direction = PVSP_DIR_NONE;
	r.channel = 1;
	r.id = 2;
	r.lun = 3;
	return r;
}

static void set_direct(struct vscsiif_request *r, unsigned int n, uint8_t dir)
{
	r->sc_data_direction = dir;
	r->nr_segments = (uint8_t)n;
	for (unsigned int i = 0; i < n && i < VSCSIIF_SG_TABLESIZE; i++) {
		r->seg[i].gref = 100 + i;
		r->seg[i].offset = 0;
		r->seg[i].length = 4096;
	}
}

static int parse(const struct vscsiif_request *r, const struct pvsp_limits *l)
{
	struct pvsp_req p;

	return pvsp_parse_request(r, l, &p);
}

static void test_sizes(void)
{
	CU_ASSERT_EQUAL(sizeof(struct vscsiif_request), 252);
	CU_ASSERT_EQUAL(sizeof(struct vscsiif_response), 252);
	CU_ASSERT_EQUAL(sizeof(struct scsiif_request_segment), 8);
}

static void test_act(void)
{
	struct vscsiif_request r = base();
	static const uint8_t bad[] = {0, 5, 6, 0x80, 255};

	for (uint8_t a = 1; a <= 3; a++) {
		r.act = a;
		CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);
	}
	r.act = VSCSIIF_ACT_SCSI_SG_PRESET;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_ACT_SG_PRESET);
	for (unsigned int i = 0; i < sizeof(bad); i++) {
		r.act = bad[i];
		CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_ACT);
	}
}

static void test_cmd_len(void)
{
	struct vscsiif_request r = base();
	struct pvsp_req p;

	r.cmd_len = 0;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_CMD_LEN);
	for (unsigned int l = 17; l <= 255; l++) {
		r.cmd_len = (uint8_t)l;
		CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_CMD_LEN);
	}
	r.cmd_len = 1;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);
	r.cmd_len = 16;
	for (unsigned int i = 0; i < 16; i++)
		r.cmnd[i] = (uint8_t)(0xa0 + i);
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.cmd_len, 16);
	CU_ASSERT_EQUAL(memcmp(p.cdb, r.cmnd, 16), 0);
	CU_ASSERT_EQUAL(p.rqid, 7);
	CU_ASSERT_EQUAL(p.channel, 1);
	CU_ASSERT_EQUAL(p.id, 2);
	CU_ASSERT_EQUAL(p.lun, 3);

	/* TMFs: Linux sends cmd_len 0 for an ioctl reset; over 16 is still wrong. */
	r.act = VSCSIIF_ACT_SCSI_RESET;
	r.cmd_len = 0;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);
	r.act = VSCSIIF_ACT_SCSI_ABORT;
	r.cmd_len = 17;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_CMD_LEN);
}

static void test_direction(void)
{
	struct vscsiif_request r = base();
	struct pvsp_req p;

	for (uint8_t d = 0; d <= 3; d++) {
		r.sc_data_direction = d;
		CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
		CU_ASSERT_EQUAL(p.dir, d);
	}
	for (unsigned int d = 4; d <= 255; d++) {
		r.sc_data_direction = (uint8_t)d;
		CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_DIR);
	}
	r.act = VSCSIIF_ACT_SCSI_ABORT;
	r.sc_data_direction = 4;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_DIR);

	r = base();
	set_direct(&r, 1, PVSP_DIR_NONE);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_DIR_NONE_DATA);
	r.nr_segments = VSCSIIF_SG_GRANT | 1;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_DIR_NONE_DATA);
	/* Zero-length transfers in a data direction are legal. */
	r = base();
	r.sc_data_direction = PVSP_DIR_FROM_DEV;
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.data_len, 0);
	CU_ASSERT_EQUAL(p.nr_data_segs, 0);

	CU_ASSERT_EQUAL(pvsp_dir_to_pvs(PVSP_DIR_BIDI), PVS_DIR_BIDI);
	CU_ASSERT_EQUAL(pvsp_dir_to_pvs(PVSP_DIR_TO_DEV), PVS_DIR_TO_DEV);
	CU_ASSERT_EQUAL(pvsp_dir_to_pvs(PVSP_DIR_FROM_DEV), PVS_DIR_FROM_DEV);
	CU_ASSERT_EQUAL(pvsp_dir_to_pvs(PVSP_DIR_NONE), PVS_DIR_NONE);
}

static void test_direct_segments(void)
{
	struct vscsiif_request r = base();
	struct pvsp_req p;

	set_direct(&r, VSCSIIF_SG_TABLESIZE, PVSP_DIR_FROM_DEV);
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.nr_seg, 26);
	CU_ASSERT_EQUAL(p.nr_data_segs, 26);
	CU_ASSERT_FALSE(p.indirect);
	CU_ASSERT_EQUAL(p.data_len, 26 * 4096);
	CU_ASSERT_EQUAL(p.seg[25].gref, 125);
	/* Without feature-sg-grant the 26 direct ones are still fine. */
	CU_ASSERT_EQUAL(parse(&r, &lim_none), PVSP_OK);

	r.nr_segments = 27;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_NSEGS);
	r.nr_segments = 0x7f;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_NSEGS);

	set_direct(&r, 3, PVSP_DIR_TO_DEV);
	r.seg[1].length = 0;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_SEG_EMPTY);
	r.seg[1].length = 97;
	r.seg[1].offset = 4000;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_SEG_RANGE);
	r.seg[1].length = 96;
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.data_len, 4096 + 96 + 4096);
	/* u16 + u16 must not wrap into range. */
	r.seg[1].offset = 0xffff;
	r.seg[1].length = 2;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_SEG_RANGE);
	r.seg[1].offset = 4095;
	r.seg[1].length = 1;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);
	r.seg[1].length = 0xffff;
	r.seg[1].offset = 0;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_SEG_RANGE);
}

static void set_indirect(struct vscsiif_request *r, unsigned int pages, uint16_t len)
{
	r->sc_data_direction = PVSP_DIR_FROM_DEV;
	r->nr_segments = (uint8_t)(VSCSIIF_SG_GRANT | pages);
	for (unsigned int i = 0; i < pages && i < VSCSIIF_SG_TABLESIZE; i++) {
		r->seg[i].gref = 500 + i;
		r->seg[i].offset = 0;
		r->seg[i].length = len;
	}
}

static void test_indirect(void)
{
	struct vscsiif_request r = base();
	struct pvsp_req p;

	set_indirect(&r, 2, 64 * 8);
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_TRUE(p.indirect);
	CU_ASSERT_EQUAL(p.nr_seg, 2);
	CU_ASSERT_EQUAL(p.nr_data_segs, 128);
	CU_ASSERT_EQUAL(p.seg[1].gref, 501);

	CU_ASSERT_EQUAL(parse(&r, &lim_none), PVSP_E_SG_GRANT_OFF);

	set_indirect(&r, 0, 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_PAGES);
	set_indirect(&r, 27, 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_PAGES);
	set_indirect(&r, 0x7f, 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_PAGES);
	set_indirect(&r, 26, 8);
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.nr_data_segs, 26);

	set_indirect(&r, 2, 16);
	r.seg[1].length = 12;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_LEN);
	r.seg[1].length = 0;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_LEN);
	r.seg[1].length = 1;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_LEN);
	r.seg[1].length = 8;
	r.seg[1].offset = 4092;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_RANGE);
	r.seg[1].offset = 0xfff8;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_IND_RANGE);
	r.seg[1].offset = 4088;
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);

	/* More descriptors than feature-sg-grant, refused before anything is copied. */
	set_indirect(&r, 1, 129 * 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_TOO_MANY_SEGS);
	set_indirect(&r, 1, 128 * 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_OK);
	set_indirect(&r, 3, 512 * 8);
	CU_ASSERT_EQUAL(parse(&r, &lim128), PVSP_E_TOO_MANY_SEGS);
}

static void test_check_segments(void)
{
	struct scsiif_request_segment s[130];
	uint32_t total = 12345;

	for (unsigned int i = 0; i < 130; i++)
		s[i] = (struct scsiif_request_segment){.gref = i + 1, .offset = 0, .length = 4096};
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 128, &lim128, &total), PVSP_OK);
	CU_ASSERT_EQUAL(total, 128 * 4096);
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 129, &lim128, &total), PVSP_E_TOO_MANY_SEGS);
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 27, &lim_none, &total), PVSP_E_TOO_MANY_SEGS);
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 0, &lim128, &total), PVSP_OK);
	CU_ASSERT_EQUAL(total, 0);
	s[77].length = 0;
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 128, &lim128, &total), PVSP_E_SEG_EMPTY);
	s[77].length = 4096;
	s[77].offset = 1;
	CU_ASSERT_EQUAL(pvsp_check_segments(s, 128, &lim128, &total), PVSP_E_SEG_RANGE);
	s[77].offset = 0;
	/* A smaller bounce buffer than the segment count allows. */
	{
		struct pvsp_limits small = {.max_segs = 128, .max_bytes = 8192};

		CU_ASSERT_EQUAL(pvsp_check_segments(s, 2, &small, &total), PVSP_OK);
		CU_ASSERT_EQUAL(pvsp_check_segments(s, 3, &small, &total), PVSP_E_TOO_MANY_BYTES);
	}
	CU_ASSERT_EQUAL(pvsp_max_data_segs(&lim_none), 26);
	CU_ASSERT_EQUAL(pvsp_max_data_segs(&lim128), 128);
}

static void test_tmf_ignores_segments(void)
{
	struct vscsiif_request r = base();
	struct pvsp_req p;

	r.act = VSCSIIF_ACT_SCSI_ABORT;
	r.ref_rqid = 0xbeef;
	r.nr_segments = 0xff; /* garbage the TMF never uses */
	CU_ASSERT_EQUAL(pvsp_parse_request(&r, &lim128, &p), PVSP_OK);
	CU_ASSERT_EQUAL(p.ref_rqid, 0xbeef);
	CU_ASSERT_EQUAL(p.nr_seg, 0);
	CU_ASSERT_EQUAL(p.data_len, 0);
}

static void test_err_names(void)
{
	for (int e = 0; e < PVSP_E__COUNT; e++) {
		CU_ASSERT_PTR_NOT_NULL(pvsp_err_name(e));
		CU_ASSERT_STRING_NOT_EQUAL(pvsp_err_name(e), "?");
		for (int f = 0; f < e; f++)
			CU_ASSERT_STRING_NOT_EQUAL(pvsp_err_name(e), pvsp_err_name(f));
	}
	CU_ASSERT_STRING_EQUAL(pvsp_err_name(PVSP_E_CMD_LEN), "cmd_len");
	CU_ASSERT_STRING_EQUAL(pvsp_err_name(-1), "?");
	CU_ASSERT_STRING_EQUAL(pvsp_err_name(PVSP_E__COUNT), "?");
}

static void test_host_codes(void)
{
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_OK), 0);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_NO_CONNECT), 1);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_BUS_BUSY), 2);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_TIMEOUT), 3);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_ABORTED), 5);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_ERROR), 7);
	CU_ASSERT_EQUAL(pvsp_host_code(PVS_HOST_RESET), 8);
	CU_ASSERT_EQUAL(pvsp_host_code(99), 7);
	CU_ASSERT_EQUAL(pvsp_rslt(7, 2), 0x70002);
	CU_ASSERT_EQUAL(pvsp_rslt(0, 0x18), 0x18);
	CU_ASSERT_EQUAL(XEN_VSCSIIF_RSLT_HOST(pvsp_rslt(8, 0)), 8);
}

static void test_max_xfer_blocks(void)
{
	/* xen-scsifront's sg_tablesize: feature-sg-grant within [26, 128]; half of it, in 8s. */
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(0), 8);
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(26), 8);
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(33), 16);
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(64), 32);
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(128), 64);
	CU_ASSERT_EQUAL(pvsp_max_xfer_blocks(1024), 64);
}

static void test_response(void)
{
	struct vscsiif_response rsp;
	uint8_t sense[200];
	const uint8_t *raw = (const uint8_t *)&rsp;

	for (unsigned int i = 0; i < sizeof(sense); i++)
		sense[i] = (uint8_t)(i + 1);
	memset(&rsp, 0xaa, sizeof(rsp));
	pvsp_build_response(&rsp, 0x1234, pvsp_rslt(0, 2), sense, 18, 512);
	CU_ASSERT_EQUAL(rsp.rqid, 0x1234);
	CU_ASSERT_EQUAL(rsp.act, 0);
	CU_ASSERT_EQUAL(rsp.rslt, 2);
	CU_ASSERT_EQUAL(rsp.residual_len, 512);
	CU_ASSERT_EQUAL(rsp.sense_len, 18);
	CU_ASSERT_EQUAL(memcmp(rsp.sense_buffer, sense, 18), 0);
	for (unsigned int i = 18; i < VSCSIIF_SENSE_BUFFERSIZE; i++)
		CU_ASSERT_EQUAL(rsp.sense_buffer[i], 0);
	for (unsigned int i = 0; i < 36; i++)
		CU_ASSERT_EQUAL(rsp.reserved[i], 0);
	/* No byte of the old 0xaa fill survives anywhere (padding included). */
	for (unsigned int i = 0; i < sizeof(rsp); i++)
		CU_ASSERT_NOT_EQUAL(raw[i], 0xaa);

	memset(&rsp, 0xaa, sizeof(rsp));
	pvsp_build_response(&rsp, 1, 0, sense, 200, 0);
	CU_ASSERT_EQUAL(rsp.sense_len, 96);
	CU_ASSERT_EQUAL(memcmp(rsp.sense_buffer, sense, 96), 0);

	memset(&rsp, 0xaa, sizeof(rsp));
	pvsp_build_response(&rsp, 2, XEN_VSCSIIF_RSLT_RESET_SUCCESS, NULL, 50, 0);
	CU_ASSERT_EQUAL(rsp.sense_len, 0);
	CU_ASSERT_EQUAL(rsp.rslt, 0x2002);
	for (unsigned int i = 0; i < VSCSIIF_SENSE_BUFFERSIZE; i++)
		CU_ASSERT_EQUAL(rsp.sense_buffer[i], 0);
}

static const struct cu_test tests[] = {
    {"struct sizes", test_sizes},
    {"act", test_act},
    {"cmd_len", test_cmd_len},
    {"direction", test_direction},
    {"direct segments", test_direct_segments},
    {"indirect pages", test_indirect},
    {"segment descriptors", test_check_segments},
    {"TMF ignores segments", test_tmf_ignores_segments},
    {"error names", test_err_names},
    {"host codes", test_host_codes},
    {"response building", test_response},
    {"transfer bound from feature-sg-grant", test_max_xfer_blocks},
};

int main(void)
{
	return CU_RUN("vscsiif_proto", tests);
}
