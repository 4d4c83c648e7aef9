/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spc.c - SPC-5 commands of emulated LUNs: TEST UNIT READY, REQUEST SENSE,
 * INQUIRY and its VPD pages, MODE SENSE/SELECT, REPORT SUPPORTED
 * OPERATION CODES, and REPORT LUNS for a LUN addressed without a map.
 *
 * Every data-in response is built whole in a bounded, zeroed local buffer
 * and then cut to min(allocation length, response, buffers)
 * (pvsi_emu_respond): a short allocation length never changes what the
 * fields say, and nothing uninitialised leaves the process.
 */
#include <string.h>

#include "emulate_int.h"

/* ---- TEST UNIT READY, REQUEST SENSE ---- */

int pvsi_spc_test_unit_ready(struct pvs_lun *lun, struct pvs_req *req)
{
	/* PVSI_OP_NEED_READY already answered NOT READY for a stopped unit. */
	(void)lun;
	(void)req;
	return PVS_SR_OK;
}

/*
 * SPC-5 6.39: the sense data a command would have got: a pending unit
 * attention (reported once, cleared by ua.c), else the stopped state or
 * a cdrom: drive's missing medium, else NO SENSE.  Only fixed format exists here: DESC=1 is
 * refused.
 */
int pvsi_spc_request_sense(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[PVS_SENSE_MAX];
	size_t len;
	int sr;

	if (req->cdb[1] & 0x01)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 0);
	sr = pvsi_ua_take(lun, req->initiator);
	if (sr == PVS_SR_OK && lun->stopped)
		sr = PVS_SR_NOT_READY_STOPPED;
	if (sr == PVS_SR_OK && lun->cd)
		sr = pvsi_cd_ready(lun);
	len = pvsi_sense_data(sr, false, buf, sizeof(buf));
	return pvsi_emu_respond(req, buf, len, req->cdb[4]);
}

/* ---- INQUIRY ---- */

#define VPD_SUPPORTED   0x00
#define VPD_SERIAL      0x80
#define VPD_DEVICE_ID   0x83
#define VPD_BLOCK_LIM   0xb0
#define VPD_BLOCK_CHAR  0xb1
#define VPD_PROVISIONED 0xb2

static const uint8_t vpd_pages[] = {VPD_SUPPORTED, VPD_SERIAL,     VPD_DEVICE_ID,
                                    VPD_BLOCK_LIM, VPD_BLOCK_CHAR, VPD_PROVISIONED};
/* The block device pages (B0h-B2h) are SBC's: a cdrom: drive has the first three. */
#define VPD_PAGES_MMC 3

/* Left-aligned, space-padded ASCII field (SPC-5 4.3.1). */
static void put_ascii(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strnlen(src, width);

	memset(dst, ' ', width);
	memcpy(dst, src, n);
}

/* SPC-5 6.7.2 standard INQUIRY data: 96 bytes with version descriptors. */
static size_t inquiry_std(const struct pvs_lun *lun, uint8_t *b)
{
	/* PERIPHERAL QUALIFIER 000b, DEVICE TYPE: direct access block device or CD/DVD */
	b[0] = lun->pdt;
	b[1] = lun->cd ? 0x80 : 0x00; /* RMB: only a cdrom: drive's medium is removable */
	b[2] = 0x06;                  /* VERSION: SPC-4 */
	b[3] = 0x12;                  /* HISUP, RESPONSE DATA FORMAT 2 */
	b[4] = 96 - 5;                /* ADDITIONAL LENGTH */
	b[7] = 0x02;                  /* CMDQUE */
	put_ascii(&b[8], lun->vendor, 8);
	put_ascii(&b[16], lun->product, 16);
	put_ascii(&b[32], lun->revision, 4);
	pvsi_put_be16(&b[58], 0x00a0);                    /* SAM-5 */
	pvsi_put_be16(&b[60], 0x0460);                    /* SPC-4 */
	pvsi_put_be16(&b[62], lun->cd ? 0x04e0 : 0x04c0); /* MMC-6 or SBC-3 */
	return 96;
}

static size_t vpd_supported(const struct pvs_lun *lun, uint8_t *b)
{
	size_t n = lun->cd ? VPD_PAGES_MMC : sizeof(vpd_pages);

	b[1] = VPD_SUPPORTED;
	pvsi_put_be16(&b[2], (uint16_t)n);
	memcpy(&b[4], vpd_pages, n);
	return 4 + n;
}

static size_t vpd_serial(const struct pvs_lun *lun, uint8_t *b)
{
	size_t n = strnlen(lun->serial, sizeof(lun->serial) - 1);

	b[1] = VPD_SERIAL;
	pvsi_put_be16(&b[2], (uint16_t)n);
	memcpy(&b[4], lun->serial, n);
	return 4 + n;
}

/*
 * SPC-5 7.7.6: an NAA designator (lun->naa, derived from the backing's
 * name so it is stable across restarts and migration) and a T10 vendor ID
 * designator: vendor + unit serial.
 */
static size_t vpd_device_id(const struct pvs_lun *lun, uint8_t *b)
{
	size_t off = 4, naa_len = (lun->naa[0] >> 4) == 6 ? 16 : 8;
	size_t sn = strnlen(lun->serial, sizeof(lun->serial) - 1);

	b[1] = VPD_DEVICE_ID;
	b[off + 0] = 0x01; /* PROTOCOL IDENTIFIER 0, CODE SET binary */
	b[off + 1] = 0x03; /* PIV 0, ASSOCIATION logical unit, TYPE NAA */
	b[off + 3] = (uint8_t)naa_len;
	memcpy(&b[off + 4], lun->naa, naa_len);
	off += 4 + naa_len;

	b[off + 0] = 0x02; /* CODE SET ASCII */
	b[off + 1] = 0x01; /* ASSOCIATION logical unit, TYPE T10 vendor ID */
	b[off + 3] = (uint8_t)(8 + sn);
	put_ascii(&b[off + 4], lun->vendor, 8);
	memcpy(&b[off + 12], lun->serial, sn);
	off += 4 + 8 + sn;

	pvsi_put_be16(&b[2], (uint16_t)(off - 4));
	return off;
}

/*
 * SBC-4 6.6.4: the limits sbc.c enforces, and the transport's bound on one
 * command (req->max_xfer_blocks) as MAXIMUM and OPTIMAL TRANSFER LENGTH:
 * Linux's sd makes the smaller of the two its largest request.
 */
static size_t vpd_block_limits(const struct pvs_lun *lun, const struct pvs_req *req, uint8_t *b)
{
	uint32_t gran = PVSI_EMU_OPT_GRAN_BYTES >> lun->block_shift;
	uint32_t max = pvsi_emu_max_xfer_blocks(lun);

	if (gran == 0)
		gran = 1;
	b[1] = VPD_BLOCK_LIM;
	pvsi_put_be16(&b[2], 0x3c);
	b[4] = 0x01; /* WSNZ: WRITE SAME of zero blocks is refused */
	b[5] = (uint8_t)pvsi_emu_max_caw_blocks(lun); /* MAXIMUM COMPARE AND WRITE LENGTH */
	pvsi_put_be16(&b[6], (uint16_t)gran);         /* OPTIMAL TRANSFER LENGTH GRANULARITY */
	if (req->max_xfer_blocks && req->max_xfer_blocks < max) {
		max = req->max_xfer_blocks;
		pvsi_put_be32(&b[12], max); /* OPTIMAL TRANSFER LENGTH */
	}
	pvsi_put_be32(&b[8], max);
	if (lun->thin) {
		pvsi_put_be32(&b[20], PVSI_EMU_MAX_UNMAP_BLOCKS);
		pvsi_put_be32(&b[24], PVSI_EMU_MAX_UNMAP_DESC);
		pvsi_put_be32(&b[28], gran); /* OPTIMAL UNMAP GRANULARITY */
	}
	pvsi_put_be64(&b[36], PVSI_EMU_MAX_WS_BLOCKS);
	return 64;
}

/* SBC-4 6.6.2: nothing rotates behind a file or RAM. */
static size_t vpd_block_char(uint8_t *b)
{
	b[1] = VPD_BLOCK_CHAR;
	pvsi_put_be16(&b[2], 0x3c);
	pvsi_put_be16(&b[4], 0x0001); /* MEDIUM ROTATION RATE: non-rotating */
	return 64;
}

/* SBC-4 6.6.6: thin when the store can deallocate; unmapped blocks read as zeroes. */
static size_t vpd_provisioning(const struct pvs_lun *lun, uint8_t *b)
{
	b[1] = VPD_PROVISIONED;
	pvsi_put_be16(&b[2], 4);
	if (lun->thin) {
		b[5] = 0x80 | 0x40 | 0x20 | 0x04; /* LBPU, LBPWS, LBPWS10, LBPRZ 001b */
		b[6] = 0x02;                      /* PROVISIONING TYPE: thin */
	}
	return 8;
}

int pvsi_spc_inquiry(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[128];
	size_t len;

	memset(buf, 0, sizeof(buf));
	/* CmdDt is obsolete (SPC-3): refuse it rather than guess. */
	if (req->cdb[1] & 0x02)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 1);
	if (!(req->cdb[1] & 0x01)) {
		if (req->cdb[2])
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
		len = inquiry_std(lun, buf);
	} else {
		switch (req->cdb[2]) {
		case VPD_SUPPORTED:
			len = vpd_supported(lun, buf);
			break;
		case VPD_SERIAL:
			len = vpd_serial(lun, buf);
			break;
		case VPD_DEVICE_ID:
			len = vpd_device_id(lun, buf);
			break;
		case VPD_BLOCK_LIM:
			if (lun->cd)
				return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
			len = vpd_block_limits(lun, req, buf);
			break;
		case VPD_BLOCK_CHAR:
			if (lun->cd)
				return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
			len = vpd_block_char(buf);
			break;
		case VPD_PROVISIONED:
			if (lun->cd)
				return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
			len = vpd_provisioning(lun, buf);
			break;
		default:
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
		}
		buf[0] = lun->pdt; /* SPC-5 7.7.1: every VPD page names the device type */
	}
	return pvsi_emu_respond(req, buf, len, pvsi_be16(&req->cdb[3]));
}

/* ---- MODE SENSE / MODE SELECT ---- */

#define MP_RW_ERROR     0x01
#define MP_CACHING      0x08
#define MP_CONTROL      0x0a
#define MP_CD_CAPS      0x2a
#define MP_ALL          0x3f
#define MP_RW_ERROR_LEN 12
#define MP_CACHING_LEN  20
#define MP_CONTROL_LEN  12

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

/* SBC-4 6.5.5: only WCE is changeable; RCD 0, read caching of no consequence. */
static size_t page_caching(const struct pvs_lun *lun, int pc, uint8_t *p)
{
	memset(p, 0, MP_CACHING_LEN);
	p[0] = MP_CACHING;
	p[1] = MP_CACHING_LEN - 2;
	if (pc == PC_CHANGEABLE)
		p[2] = 0x04;
	else if (pc == PC_DEFAULT || lun->wce)
		p[2] = 0x04; /* WCE; its power-on default is on */
	return MP_CACHING_LEN;
}

/*
 * SPC-5 7.5.10: fixed-format sense (D_SENSE 0), GLTSD (no log parameters
 * are saved), unrestricted reordering (QUEUE ALGORITHM MODIFIER 1), busy
 * timeout unlimited.  Nothing is changeable.
 */
static size_t page_control(int pc, uint8_t *p)
{
	memset(p, 0, MP_CONTROL_LEN);
	p[0] = MP_CONTROL;
	p[1] = MP_CONTROL_LEN - 2;
	if (pc != PC_CHANGEABLE) {
		p[2] = 0x02;
		p[3] = 0x10;
		pvsi_put_be16(&p[8], 0xffff);
	}
	return MP_CONTROL_LEN;
}

/*
 * MMC-6 7.3: read error recovery, as QEMU's scsi-cd gives it (read retry
 * count 20h); nothing is changeable.
 */
static size_t page_rw_error(int pc, uint8_t *p)
{
	memset(p, 0, MP_RW_ERROR_LEN);
	p[0] = MP_RW_ERROR;
	p[1] = MP_RW_ERROR_LEN - 2;
	if (pc != PC_CHANGEABLE)
		p[3] = 0x20;
	return MP_RW_ERROR_LEN;
}

/*
 * A cdrom: drive's pages (MMC-6 7.2): no block descriptors (MMC devices
 * have none), no DEVICE-SPECIFIC PARAMETER, pages 01h, 0Ah and 2Ah.
 */
static int mode_pages_cd(const struct pvs_lun *lun, struct pvs_req *req, int pc, uint8_t page,
                         uint8_t sub, uint8_t *buf, size_t *off)
{
	if (page == MP_ALL) {
		if (sub != 0x00 && sub != 0xff)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
		*off += page_rw_error(pc, &buf[*off]);
		*off += page_control(pc, &buf[*off]);
		*off += pvsi_mmc_page_caps(lun, pc, &buf[*off]);
		return PVS_SR_OK;
	}
	if (page != MP_RW_ERROR && page != MP_CONTROL && page != MP_CD_CAPS)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, 5);
	if (sub != 0x00)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
	if (page == MP_RW_ERROR)
		*off += page_rw_error(pc, &buf[*off]);
	else if (page == MP_CONTROL)
		*off += page_control(pc, &buf[*off]);
	else
		*off += pvsi_mmc_page_caps(lun, pc, &buf[*off]);
	return PVS_SR_OK;
}

int pvsi_spc_mode_sense(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	bool ten = cdb[0] == PVSI_OPC_MODE_SENSE_10;
	bool dbd = cdb[1] & 0x08, llbaa = ten && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, sub = cdb[3];
	uint8_t buf[128];
	size_t hdr = ten ? 8 : 4, off, bdlen = 0;
	uint8_t devspec = (lun->ro ? 0x80 : 0) | 0x10; /* WP, DPOFUA */

	if (pc == PC_SAVED)
		return pvsi_emu_cdb_field(req, PVS_SR_SAVING_PARAMS_UNSUPPORTED, 2, 7);
	memset(buf, 0, sizeof(buf));
	off = hdr;
	if (lun->cd) {
		int sr = mode_pages_cd(lun, req, pc, page, sub, buf, &off);

		if (sr != PVS_SR_OK)
			return sr;
		devspec = 0;
	} else if (!dbd) {
		/* SBC-4 6.5.2: block descriptors are the same for every PC value. */
		if (llbaa) {
			pvsi_put_be64(&buf[off], lun->nblocks);
			pvsi_put_be32(&buf[off + 12], lun->block_size);
			bdlen = 16;
		} else {
			pvsi_put_be32(&buf[off], lun->nblocks > 0xffffffffull
			                             ? 0xffffffffu
			                             : (uint32_t)lun->nblocks);
			pvsi_put_be32(&buf[off + 4], lun->block_size); /* byte 4 reserved */
			bdlen = 8;
		}
		off += bdlen;
	}
	if (lun->cd) {
		/* mode_pages_cd() built them */
	} else if (page == MP_ALL) {
		if (sub != 0x00 && sub != 0xff)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
		off += page_caching(lun, pc, &buf[off]);
		off += page_control(pc, &buf[off]);
	} else if (page == MP_CACHING || page == MP_CONTROL) {
		if (sub != 0x00)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
		if (page == MP_CACHING)
			off += page_caching(lun, pc, &buf[off]);
		else
			off += page_control(pc, &buf[off]);
	} else {
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, 5);
	}
	if (ten) {
		pvsi_put_be16(&buf[0], (uint16_t)(off - 2));
		buf[3] = devspec;
		buf[4] = bdlen == 16 ? 0x01 : 0x00; /* LONGLBA */
		pvsi_put_be16(&buf[6], (uint16_t)bdlen);
	} else {
		buf[0] = (uint8_t)(off - 1);
		buf[2] = devspec;
		buf[3] = (uint8_t)bdlen;
	}
	return pvsi_emu_respond(req, buf, off, ten ? pvsi_be16(&cdb[7]) : cdb[4]);
}

#define MODE_SELECT_MAX 512 /* far more than header + descriptor + both pages */

/*
 * Validate one mode page of a MODE SELECT parameter list at @off against
 * the current values: only changeable bits may differ.  Returns a reason
 * (with the field pointer set) or PVS_SR_OK, and the new WCE in @wce.
 */
static int select_page(struct pvs_lun *lun, struct pvs_req *req, const uint8_t *p, size_t off,
                       bool *wce)
{
	uint8_t cur[MP_CACHING_LEN], mask[MP_CACHING_LEN];
	size_t len;

	if (p[0] & 0x40) /* SPF: we have no subpages */
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, (int)off, 6);
	switch (p[0] & 0x3f) {
	case MP_CACHING:
		/* A cdrom: drive has no caching page: it writes nothing. */
		if (lun->cd)
			return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, (int)off,
			                            5);
		len = page_caching(lun, PC_CURRENT, cur);
		page_caching(lun, PC_CHANGEABLE, mask);
		break;
	case MP_CONTROL:
		len = page_control(PC_CURRENT, cur);
		page_control(PC_CHANGEABLE, mask);
		break;
	default:
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, (int)off, 5);
	}
	if (p[1] != len - 2)
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, (int)off + 1, -1);
	for (size_t i = 2; i < len; i++) {
		uint8_t bad = (p[i] ^ cur[i]) & ~mask[i];

		if (bad)
			return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM,
			                            (int)(off + i), 31 - __builtin_clz(bad));
	}
	if ((p[0] & 0x3f) == MP_CACHING)
		*wce = p[2] & 0x04;
	return PVS_SR_OK;
}

/*
 * SPC-5 6.11/6.12: PF=1 lists only, nothing savable.  The whole list is
 * validated before anything changes; only WCE may change, and the other
 * I_T nexuses then get MODE PARAMETERS CHANGED (SPC-5 5.14).
 */
int pvsi_spc_mode_select(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	bool ten = cdb[0] == PVSI_OPC_MODE_SELECT_10;
	uint32_t len = ten ? pvsi_be16(&cdb[7]) : cdb[4];
	int len_byte = ten ? 7 : 4;
	size_t hdr = ten ? 8 : 4, bdlen, off;
	uint8_t buf[MODE_SELECT_MAX];
	bool longlba, wce = lun->wce;
	int sr;

	if (cdb[1] & 0x01)
		return pvsi_emu_cdb_field(req, PVS_SR_SAVING_PARAMS_UNSUPPORTED, 1, 0);
	if (len == 0)
		return PVS_SR_OK; /* SPC-5 6.11: not an error, nothing transferred */
	if (!(cdb[1] & 0x10))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 4);
	if (len < hdr || len > sizeof(buf))
		return pvsi_emu_cdb_field(req, PVS_SR_PARAM_LIST_LENGTH_ERROR, len_byte, -1);
	if (req->core.data_len < len)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, len_byte, -1);
	memset(buf, 0, sizeof(buf));
	req->core.xfer = (uint32_t)pvsi_req_copy_out(req, 0, buf, len);

	/* Mode parameter header: MODE DATA LENGTH is reserved here; medium type 0. */
	if (buf[ten ? 2 : 1])
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, ten ? 2 : 1, -1);
	longlba = ten && (buf[4] & 0x01);
	bdlen = ten ? pvsi_be16(&buf[6]) : buf[3];
	if (bdlen != 0 && bdlen != (longlba ? 16u : 8u))
		return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, ten ? 6 : 3, -1);
	if (hdr + bdlen > len)
		return pvsi_emu_cdb_field(req, PVS_SR_PARAM_LIST_LENGTH_ERROR, len_byte, -1);
	if (bdlen) {
		/*
		 * SBC-4 6.5.2: the number of blocks is ignored (capacity is the
		 * backing's); reserved bytes must be zero; the block size is fixed
		 * at open, so any other value (e.g. < 512) is refused.
		 */
		size_t rs = hdr + (longlba ? 8 : 4), bl = hdr + (longlba ? 12 : 5);

		for (size_t i = rs; i < bl; i++)
			if (buf[i])
				return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM,
				                            (int)i, -1);
		if ((longlba ? pvsi_be32(&buf[bl]) : pvsi_be24(&buf[bl])) != lun->block_size)
			return pvsi_emu_param_field(req, PVS_SR_INVALID_FIELD_IN_PARAM, (int)bl,
			                            -1);
	}
	for (off = hdr + bdlen; off < len;) {
		if (len - off < 2 || off + 2 + buf[off + 1] > len)
			return pvsi_emu_cdb_field(req, PVS_SR_PARAM_LIST_LENGTH_ERROR, len_byte,
			                          -1);
		sr = select_page(lun, req, &buf[off], off, &wce);
		if (sr != PVS_SR_OK)
			return sr;
		off += 2u + buf[off + 1];
	}
	if (wce != lun->wce) {
		lun->wce = wce;
		pvsi_ua_raise_all(lun, PVS_SR_UA_MODE_PARAMS_CHANGED, req->initiator);
	}
	return PVS_SR_OK;
}

/* ---- REPORT SUPPORTED OPERATION CODES (SPC-5 6.35) ---- */

#define RSOC_TIMEOUT_LEN 12
#define RSOC_RECOMMENDED 30 /* seconds: emulated commands finish at store speed */

static void timeouts_desc(uint8_t *b)
{
	pvsi_put_be16(&b[0], RSOC_TIMEOUT_LEN - 2);
	pvsi_put_be32(&b[8], RSOC_RECOMMENDED);
}

int pvsi_spc_report_supported_opcodes(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	bool rctd = cdb[2] & 0x80;
	uint8_t options = cdb[2] & 0x07, opcode = cdb[3];
	uint16_t sa = pvsi_be16(&cdb[4]);
	uint32_t alloc = pvsi_be32(&cdb[6]);
	uint8_t buf[4096];
	size_t off;
	const struct pvsi_opcode *op = NULL, *all[256];
	unsigned int nall;
	uint8_t probe[2];

	memset(buf, 0, sizeof(buf));
	switch (options) {
	case 0: /* all commands: the LUN's table, SPC entries included */
		off = 4;
		nall = pvsi_dclass_entries(lun->dclass, all, 256);
		for (unsigned i = 0; i < nall; i++) {
			const struct pvsi_opcode *e = all[i];

			if (!pvsi_emu_supported(lun, e))
				continue;
			if (off + 8 + RSOC_TIMEOUT_LEN > sizeof(buf))
				return PVS_SR_INTERNAL_TARGET_FAILURE;
			buf[off] = e->opcode;
			if (e->flags & PVSI_OP_HAS_SA)
				pvsi_put_be16(&buf[off + 2], e->sa);
			buf[off + 5] = (rctd ? 0x02 : 0) | ((e->flags & PVSI_OP_HAS_SA) ? 0x01 : 0);
			pvsi_put_be16(&buf[off + 6], e->cdb_len);
			off += 8;
			if (rctd) {
				timeouts_desc(&buf[off]);
				off += RSOC_TIMEOUT_LEN;
			}
		}
		pvsi_put_be32(&buf[0], (uint32_t)(off - 4));
		return pvsi_emu_respond(req, buf, off, alloc);
	case 1: /* one opcode without service actions */
		if (pvsi_opcode_any_dc(lun->dclass, opcode, PVSI_OP_HAS_SA))
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
		break;
	case 2: /* one opcode + service action */
		if (!pvsi_opcode_any_dc(lun->dclass, opcode, PVSI_OP_HAS_SA))
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 3, -1);
		/* fall through */
	case 3: /* either */
		if (pvsi_opcode_any_dc(lun->dclass, opcode, PVSI_OP_HAS_SA) && sa > 0x1f)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 4, -1);
		break;
	default:
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, 2);
	}
	probe[0] = opcode;
	probe[1] = (uint8_t)(sa & 0x1f);
	op = pvsi_opcode_find_dc(lun->dclass, probe, 2);
	if (!pvsi_emu_supported(lun, op)) {
		buf[1] = 0x01; /* SUPPORT 001b: not supported; no CDB usage data */
		off = 4;
	} else {
		buf[1] = 0x03; /* SUPPORT 011b: supported as the standard says */
		pvsi_put_be16(&buf[2], op->cdb_len);
		memcpy(&buf[4], op->usage, op->cdb_len);
		off = 4u + op->cdb_len;
	}
	if (rctd) {
		buf[1] |= 0x80; /* CTDP */
		timeouts_desc(&buf[off]);
		off += RSOC_TIMEOUT_LEN;
	}
	return pvsi_emu_respond(req, buf, off, alloc);
}

/* ---- REPORT LUNS, for an emulated LUN reached without a map ---- */

/*
 * SPC-5 6.33: the only logical unit here is LUN 0.  SELECT REPORT 01h and
 * 10h/11h (well-known, administrative) list nothing; 12h requires the
 * addressed LUN to be an administrative one, which it is not.
 */
int pvsi_spc_report_luns(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[16];
	size_t len = 8;

	(void)lun;
	memset(buf, 0, sizeof(buf));
	switch (req->cdb[2]) {
	case 0x00:
	case 0x02:
		len = 16; /* LUN 0: eight zero bytes */
		break;
	case 0x01:
	case 0x10:
	case 0x11:
		break;
	default:
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
	}
	pvsi_put_be32(&buf[0], (uint32_t)(len - 8));
	return pvsi_emu_respond(req, buf, len, pvsi_be32(&req->cdb[6]));
}
