/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdrom_ut.c - cdrom: drives on real image files: every MMC command the
 * drive emulates with the fields Linux's sr and blkid read, an empty drive,
 * the guest's eject and prevention, the host's insert and eject with their
 * unit attentions and events, bad images, and a read racing a change.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulate_int.h"
#include "cu_run.h"
#include "lun_harness.h"
#include "pvscsi/host.h"
#include "pvscsi/spec.h"
#include "unit_move.h"

#define IA 0x1a
#define IB 0x2b

static char dir[64];

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* An image of @blocks 2048-byte blocks, block i filled with (@seed + i) & 0xff. */
static void make_image(const char *name, uint64_t blocks, int seed)
{
	char p[128];
	uint8_t b[2048];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	for (uint64_t i = 0; i < blocks && i < 256; i++) {
		memset(b, (int)((seed + i) & 0xff), sizeof(b));
		CU_ASSERT_FATAL(pwrite(fd, b, sizeof(b), (off_t)(i * 2048)) == (ssize_t)sizeof(b));
	}
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)(blocks * 2048)) == 0);
	close(fd);
}

/* TEST UNIT READY until no unit attention is left (an empty drive is never ready). */
static void clear_ua(struct lh *h, uint64_t in)
{
	const uint8_t cdb[6] = {0x00};
	struct lh_res r;

	for (int i = 0; i < 32; i++) {
		lh_run(h, in, cdb, 6, PVS_DIR_NONE, NULL, 0, &r);
		if (r.key != PVS_KEY_UNIT_ATTENTION)
			return;
	}
	CU_FAIL("unit attentions without end");
}

static void open_cd(struct lh *h, const char *name)
{
	char spec[160];

	snprintf(spec, sizeof(spec), "cdrom:%s%s%s", name ? dir : "", name ? "/" : "",
	         name ? name : "");
	CU_ASSERT_FATAL(lh_open(h, spec, NULL) == 0);
	clear_ua(h, IA);
	clear_ua(h, IB);
}

static void expect_sense(const struct lh_res *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	CU_ASSERT_EQUAL(r->ncomplete, 1);
	CU_ASSERT_EQUAL(r->status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(r->key, key);
	CU_ASSERT_EQUAL(r->asc, asc);
	CU_ASSERT_EQUAL(r->ascq, ascq);
}

static void expect_good(const struct lh_res *r)
{
	CU_ASSERT_EQUAL(r->ncomplete, 1);
	CU_ASSERT_EQUAL(r->host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(r->status, PVS_STATUS_GOOD);
}

static void tur(struct lh *h, uint64_t in, struct lh_res *r)
{
	const uint8_t cdb[6] = {0x00};

	lh_run(h, in, cdb, 6, PVS_DIR_NONE, NULL, 0, r);
}

static void read_cap(struct lh *h, uint64_t in, uint8_t *buf, struct lh_res *r)
{
	const uint8_t cdb[10] = {0x25};

	lh_run(h, in, cdb, 10, PVS_DIR_FROM_DEV, buf, 8, r);
}

static void read10(struct lh *h, uint64_t in, uint32_t lba, uint16_t n, uint8_t *buf,
                   struct lh_res *r)
{
	uint8_t cdb[10] = {0x28};

	lh_put_lba(cdb, 10, lba, n);
	lh_run(h, in, cdb, 10, PVS_DIR_FROM_DEV, buf, (size_t)n * 2048, r);
}

/* GESN, polled, media class: the event code (byte 4) and media status (byte 5). */
static void gesn(struct lh *h, uint64_t in, uint8_t *buf, struct lh_res *r)
{
	uint8_t cdb[10] = {0x4a, 0x01, 0, 0, 0x10};

	lh_put16(&cdb[7], 8);
	memset(buf, 0xee, 8);
	lh_run(h, in, cdb, 10, PVS_DIR_FROM_DEV, buf, 8, r);
}

static void start_stop(struct lh *h, uint64_t in, uint8_t b4, struct lh_res *r)
{
	const uint8_t cdb[6] = {0x1b, 0, 0, 0, b4};

	lh_run(h, in, cdb, 6, PVS_DIR_NONE, NULL, 0, r);
}

static void prevent(struct lh *h, uint64_t in, bool on, struct lh_res *r)
{
	const uint8_t cdb[6] = {0x1e, 0, 0, 0, on ? 1 : 0};

	lh_run(h, in, cdb, 6, PVS_DIR_NONE, NULL, 0, r);
}

static void test_spec(void)
{
	struct pvs_spec s;
	char err[256], buf[64];

	CU_ASSERT_EQUAL(pvs_spec_parse("cdrom:", &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.kind, PVS_SPEC_CDROM);
	CU_ASSERT_STRING_EQUAL(s.name, "");
	CU_ASSERT(s.ro);
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "cdrom:");
	CU_ASSERT_EQUAL(pvs_spec_parse("cdrom:/srv/a.iso,ro", &s, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(s.name, "/srv/a.iso");
	CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "cdrom:/srv/a.iso");
	CU_ASSERT_STRING_EQUAL(pvs_spec_kind_name(PVS_SPEC_CDROM), "cdrom");
	CU_ASSERT_EQUAL(pvs_spec_parse("cdrom:/a.iso,bs=512", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "2048-byte blocks"));
	CU_ASSERT_EQUAL(pvs_spec_parse("cdrom:/a.iso,raw", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "emulated"));
	CU_ASSERT_EQUAL(pvs_spec_parse("cdrom:/a.iso,rw", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option 'rw' (ro)"));
}

static void test_open_errors(void)
{
	struct pvs_worker *w;
	struct pvs_lun *lun = NULL;
	char spec[160], err[256] = "";
	int fd;

	CU_ASSERT_FATAL(pvs_worker_new(8, &w) == 0);
	snprintf(spec, sizeof(spec), "cdrom:%s/missing.iso", dir);
	CU_ASSERT_EQUAL(pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing.iso': no such file"));
	snprintf(spec, sizeof(spec), "cdrom:%s", dir);
	CU_ASSERT_EQUAL(pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err)), -EISDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));
	path_of(spec, sizeof(spec), "odd.iso");
	fd = open(spec, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(ftruncate(fd, 2048 * 3 + 512) == 0);
	close(fd);
	snprintf(spec, sizeof(spec), "cdrom:%s/odd.iso", dir);
	CU_ASSERT_EQUAL(pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "6656 bytes is not a positive multiple of 2048"));
	CU_ASSERT_PTR_NULL(lun);
	snprintf(spec, sizeof(spec), "cdrom:/dev/null");
	CU_ASSERT_EQUAL(pvs_lun_open(w, spec, NULL, &lun, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file or block device"));
	pvs_worker_free(w);
}

static void test_inquiry(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[128], cdb[6] = {0x12, 0, 0, 0, 96};

	make_image("inq.iso", 16, 0);
	open_cd(&h, "inq.iso");
	CU_ASSERT_EQUAL(pvs_lun_device_type(h.lun), 0x05);
	CU_ASSERT(pvs_lun_is_cdrom(h.lun));
	CU_ASSERT(pvs_lun_is_ro(h.lun));
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, 96, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 0x05); /* CD/DVD */
	CU_ASSERT_EQUAL(buf[1], 0x80); /* RMB */
	CU_ASSERT_EQUAL(memcmp(&buf[16], "CD-ROM          ", 16), 0);
	CU_ASSERT_EQUAL(buf[62], 0x04);
	CU_ASSERT_EQUAL(buf[63], 0xe0); /* MMC-6 */
	/* VPD: 00h, 80h, 83h, each naming the device type; no block device pages */
	cdb[1] = 0x01;
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, 96, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 0x05);
	CU_ASSERT_EQUAL(buf[3], 3);
	CU_ASSERT(buf[4] == 0x00 && buf[5] == 0x80 && buf[6] == 0x83);
	cdb[2] = 0x83;
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, 96, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 0x05);
	CU_ASSERT_EQUAL(buf[1], 0x83);
	cdb[2] = 0xb0;
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, 96, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	lh_close(&h);
}

static void test_capacity_and_reads(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t cap[8], *buf = malloc(4 * 2048), cdb[12] = {0xa8};

	CU_ASSERT_FATAL(buf != NULL);
	make_image("rd.iso", 100, 7);
	open_cd(&h, "rd.iso");
	read_cap(&h, IA, cap, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be32(cap), 99u);       /* last LBA */
	CU_ASSERT_EQUAL(pvsi_be32(cap + 4), 2048u); /* block length */
	CU_ASSERT_EQUAL(pvs_lun_block_size(h.lun), 2048);
	CU_ASSERT_EQUAL(pvs_lun_blocks(h.lun), 100);
	read10(&h, IA, 5, 2, buf, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(r.residual, 0);
	CU_ASSERT(buf[0] == 12 && buf[2047] == 12 && buf[2048] == 13 && buf[4095] == 13);
	lh_put_lba(cdb, 12, 98, 2);
	lh_run(&h, IA, cdb, 12, PVS_DIR_FROM_DEV, buf, 4096, &r);
	expect_good(&r);
	CU_ASSERT(buf[0] == 105 && buf[2048] == 106);
	read10(&h, IA, 99, 2, buf, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* a CD-ROM writes nothing: no such command */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x2a;
	lh_put_lba(cdb, 10, 0, 1);
	lh_run(&h, IA, cdb, 10, PVS_DIR_TO_DEV, buf, 2048, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
	/* READ(6) and READ CAPACITY(16) are SBC's, not MMC's */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x08;
	cdb[4] = 1;
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, 2048, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
	free(buf);
	lh_close(&h);
}

static void test_toc(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[64], cdb[10] = {0x43};

	make_image("toc.iso", 100, 0);
	open_cd(&h, "toc.iso");
	/* format 0, LBA */
	lh_put16(&cdb[7], sizeof(buf));
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(r.residual, sizeof(buf) - 20);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 18);
	CU_ASSERT(buf[2] == 1 && buf[3] == 1);
	CU_ASSERT(buf[5] == 0x14 && buf[6] == 1 && pvsi_be32(&buf[8]) == 0);
	CU_ASSERT(buf[13] == 0x14 && buf[14] == 0xaa);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[16]), 100); /* lead-out at the capacity */
	/* MSF: track 1 at 00:02:00, lead-out at 100 + 150 frames = 00:03:25 */
	cdb[1] = 0x02;
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT(buf[9] == 0 && buf[10] == 2 && buf[11] == 0);
	CU_ASSERT(buf[17] == 0 && buf[18] == 3 && buf[19] == 25);
	/* from the lead-out only */
	cdb[1] = 0;
	cdb[6] = 0xaa;
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 10);
	CU_ASSERT_EQUAL(buf[6], 0xaa);
	cdb[6] = 2; /* no track 2 */
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	CU_ASSERT_EQUAL(r.field, 6);
	/* format 1: session information */
	cdb[6] = 0;
	cdb[2] = 1;
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 10);
	CU_ASSERT(buf[2] == 1 && buf[3] == 1 && buf[6] == 1 && pvsi_be32(&buf[8]) == 0);
	cdb[2] = 2; /* raw TOC: not here */
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* allocation length 4: the header alone, its length field whole */
	cdb[2] = 0;
	lh_put16(&cdb[7], 4);
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(r.residual, sizeof(buf) - 4);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 18);
	lh_close(&h);
}

/* GET CONFIGURATION: the current profile (byte 6-7) and the feature codes listed, in order. */
static unsigned get_config(struct lh *h, uint8_t rt, uint16_t sfn, uint16_t *profile,
                           uint16_t *codes, uint8_t *current)
{
	uint8_t buf[128], cdb[10] = {0x46, rt};
	struct lh_res r;
	unsigned n = 0;
	uint32_t len;

	lh_put16(&cdb[2], sfn);
	lh_put16(&cdb[7], sizeof(buf));
	lh_run(h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	len = pvsi_be32(buf) + 4;
	CU_ASSERT_EQUAL(r.residual, sizeof(buf) - len);
	*profile = pvsi_be16(&buf[6]);
	for (uint32_t off = 8; off + 4 <= len; off += 4u + buf[off + 3]) {
		codes[n] = pvsi_be16(&buf[off]);
		current[n++] = buf[off + 2] & 0x01;
		if (codes[n - 1] == 0x0000) {
			/* profile list: DVD-ROM, then CD-ROM, with CURRENTP */
			CU_ASSERT_EQUAL(pvsi_be16(&buf[off + 4]), 0x0010);
			CU_ASSERT_EQUAL(pvsi_be16(&buf[off + 8]), 0x0008);
			CU_ASSERT_EQUAL(buf[off + 6], *profile == 0x0010);
			CU_ASSERT_EQUAL(buf[off + 10], *profile == 0x0008);
		}
		if (codes[n - 1] == 0x0010)
			CU_ASSERT_EQUAL(pvsi_be32(&buf[off + 4]), 2048);
	}
	return n;
}

static void test_get_configuration(void)
{
	struct lh h;
	struct lh_res r;
	uint16_t profile, codes[16];
	uint8_t cur[16], buf[8], cdb[10] = {0x46};
	unsigned n;

	make_image("cfg.iso", 100, 0);
	open_cd(&h, "cfg.iso");
	n = get_config(&h, 0, 0, &profile, codes, cur);
	CU_ASSERT_EQUAL(profile, 0x0008); /* CD-ROM */
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(codes[0] == 0 && codes[1] == 1 && codes[2] == 2 && codes[3] == 3 &&
	          codes[4] == 0x10);
	CU_ASSERT(cur[0] && cur[1] && cur[2] && cur[3] && cur[4]);
	/* RT 10b: that one feature */
	n = get_config(&h, 2, 3, &profile, codes, cur);
	CU_ASSERT(n == 1 && codes[0] == 3);
	/* from feature 2 on */
	n = get_config(&h, 0, 2, &profile, codes, cur);
	CU_ASSERT(n == 3 && codes[0] == 2);
	/* allocation length 8: the header, its DATA LENGTH whole */
	lh_put16(&cdb[7], 8);
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be32(buf), 4 + 12 + 12 + 8 + 8 + 12);
	cdb[1] = 3;
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* no medium: no profile, Random Readable not current, absent with RT 01b */
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, false, NULL, 0), 0);
	n = get_config(&h, 0, 0, &profile, codes, cur);
	CU_ASSERT(profile == 0 && n == 5 && !cur[4]);
	n = get_config(&h, 1, 0, &profile, codes, cur);
	CU_ASSERT(n == 4 && codes[3] == 3);
	lh_close(&h);

	/* more than 80 minutes of CD: a DVD */
	make_image("dvd.iso", 80 * 60 * 75 + 1, 0);
	open_cd(&h, "dvd.iso");
	get_config(&h, 0, 0, &profile, codes, cur);
	CU_ASSERT_EQUAL(profile, 0x0010);
	lh_close(&h);
}

static void test_disc_track_mech_mode(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[64], cdb[12] = {0x51};

	make_image("disc.iso", 100, 0);
	open_cd(&h, "disc.iso");
	lh_put16(&cdb[7], sizeof(buf));
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 32);
	CU_ASSERT_EQUAL(buf[2], 0x0e); /* complete session, finalized */
	CU_ASSERT(buf[3] == 1 && buf[4] == 1 && buf[5] == 1 && buf[6] == 1);
	/* READ TRACK INFORMATION, track 1 */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x52;
	cdb[1] = 0x01;
	lh_put32(&cdb[2], 1);
	lh_put16(&cdb[7], sizeof(buf));
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[2], 1);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[24]), 100);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[28]), 99);
	lh_put32(&cdb[2], 2);
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* MECHANISM STATUS: no changer, tray closed */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xbd;
	lh_put16(&cdb[8], sizeof(buf));
	lh_run(&h, IA, cdb, 12, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(r.residual, sizeof(buf) - 8);
	CU_ASSERT_EQUAL(buf[1], 0x00);
	/* SET CD SPEED: accepted */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xbb;
	lh_run(&h, IA, cdb, 12, PVS_DIR_NONE, NULL, 0, &r);
	expect_good(&r);
	/* MODE SENSE(10) page 2Ah: no block descriptor, tray that ejects and locks */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x5a;
	cdb[2] = 0x2a;
	lh_put16(&cdb[7], sizeof(buf));
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(pvsi_be16(buf), 6 + 22);
	CU_ASSERT_EQUAL(pvsi_be16(&buf[6]), 0); /* block descriptor length */
	CU_ASSERT(buf[8] == 0x2a && buf[9] == 20);
	CU_ASSERT_EQUAL(buf[8 + 2] & 0x08, 0x08); /* DVD-ROM read */
	CU_ASSERT_EQUAL(buf[8 + 6], 0x29);        /* tray, eject, lock; unlocked */
	prevent(&h, IA, true, &r);
	expect_good(&r);
	lh_run(&h, IA, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(buf[8 + 6], 0x2b); /* LOCK STATE */
	/* MODE SENSE(6), all pages: 01h, 0Ah, 2Ah */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x1a;
	cdb[2] = 0x3f;
	cdb[4] = sizeof(buf);
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 3 + 12 + 12 + 22);
	CU_ASSERT(buf[3] == 0 && buf[4] == 0x01 && buf[16] == 0x0a && buf[28] == 0x2a);
	cdb[2] = 0x08; /* no caching page: nothing is written */
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	lh_close(&h);
}

static void test_empty_drive(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[16], sense[32], cdb[6] = {0x03, 0, 0, 0, sizeof(sense)};
	struct pvs_cd_status st;

	open_cd(&h, NULL);
	CU_ASSERT_EQUAL(pvs_lun_blocks(h.lun), 0);
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_NOT_READY, 0x3a, 0x01);
	read_cap(&h, IA, buf, &r);
	expect_sense(&r, PVS_KEY_NOT_READY, 0x3a, 0x01);
	lh_run(&h, IA, cdb, 6, PVS_DIR_FROM_DEV, sense, sizeof(sense), &r);
	expect_good(&r);
	CU_ASSERT(sense[2] == PVS_KEY_NOT_READY && sense[12] == 0x3a && sense[13] == 0x01);
	gesn(&h, IA, buf, &r);
	expect_good(&r);
	CU_ASSERT(buf[2] == 0x04 && buf[4] == 0 && buf[5] == 0x00);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(!st.medium && !st.tray_open && !st.prevented && st.path[0] == '\0');
	/* the guest opens the tray */
	start_stop(&h, IA, 0x02, &r);
	expect_good(&r);
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_NOT_READY, 0x3a, 0x02);
	gesn(&h, IA, buf, &r);
	CU_ASSERT_EQUAL(buf[5], 0x01); /* tray open */
	lh_close(&h);
}

static void test_guest_eject_and_prevent(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[16];
	struct pvs_cd_status st;
	char err[256] = "";

	make_image("ej.iso", 50, 0);
	open_cd(&h, "ej.iso");
	gesn(&h, IA, buf, &r);
	expect_good(&r);
	CU_ASSERT(buf[4] == 0 && buf[5] == 0x02); /* no event, medium present */
	/* IA prevents: IB's eject is refused, the host's too, unless forced */
	prevent(&h, IA, true, &r);
	expect_good(&r);
	start_stop(&h, IB, 0x02, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x53, 0x02);
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, false, err, sizeof(err)), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "prevents medium removal"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "eject request"));
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(st.medium && st.prevented && !st.tray_open);
	/* the guest is asked to let go: an eject request event, once */
	gesn(&h, IB, buf, &r);
	CU_ASSERT(buf[4] == 1 && buf[5] == 0x02);
	gesn(&h, IB, buf, &r);
	CU_ASSERT_EQUAL(buf[4], 0);
	/* IB's allow does not lift IA's prevention: it is per I_T nexus */
	prevent(&h, IB, false, &r);
	expect_good(&r);
	start_stop(&h, IB, 0x02, &r);
	expect_sense(&r, PVS_KEY_ILLEGAL_REQUEST, 0x53, 0x02);
	/* an I_T nexus reset of IA ends its prevention */
	pvsi_cd_reset(h.lun, IA);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(!st.prevented);
	prevent(&h, IA, true, &r);
	prevent(&h, IA, false, &r);
	expect_good(&r);
	start_stop(&h, IB, 0x02, &r);
	expect_good(&r);
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_NOT_READY, 0x3a, 0x02);
	gesn(&h, IA, buf, &r);
	CU_ASSERT(buf[4] == 3 && buf[5] == 0x01); /* media removal, tray open */
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(!st.medium && st.tray_open && st.blocks == 0);
	/* closing the tray brings no medium back: the eject took it out */
	start_stop(&h, IA, 0x03, &r);
	expect_good(&r);
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_NOT_READY, 0x3a, 0x01);
	/* START STOP without LoEj: nothing to do */
	start_stop(&h, IA, 0x00, &r);
	expect_good(&r);
	lh_close(&h);

	/* forced: ejects and ends every prevention */
	open_cd(&h, "ej.iso");
	prevent(&h, IA, true, &r);
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, true, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(!st.medium && st.tray_open && !st.prevented);
	lh_close(&h);
}

static void test_host_insert(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[2048], cap[8];
	struct pvs_cd_status st;
	char path[128], err[256] = "";

	make_image("one.iso", 30, 1);
	make_image("two.iso", 40, 101);
	open_cd(&h, NULL);
	path_of(path, sizeof(path), "one.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(st.medium && !st.tray_open && st.blocks == 30);
	CU_ASSERT_STRING_EQUAL(st.path, path);
	/* every initiator: GESN runs despite the UA and reports new media, once */
	for (uint64_t in = IA; in <= IB; in += IB - IA) {
		gesn(&h, in, buf, &r);
		expect_good(&r);
		CU_ASSERT(buf[4] == 2 && buf[5] == 0x02);
		gesn(&h, in, buf, &r);
		CU_ASSERT_EQUAL(buf[4], 0);
		tur(&h, in, &r);
		expect_sense(&r, PVS_KEY_UNIT_ATTENTION, 0x28, 0x00);
		tur(&h, in, &r);
		expect_good(&r);
	}
	read_cap(&h, IA, cap, &r);
	CU_ASSERT_EQUAL(pvsi_be32(cap), 29u);
	read10(&h, IA, 3, 1, buf, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[100], 4);
	/* replaced by another image: the new one's size and bytes */
	path_of(path, sizeof(path), "two.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), 0);
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_UNIT_ATTENTION, 0x28, 0x00);
	read_cap(&h, IA, cap, &r);
	CU_ASSERT_EQUAL(pvsi_be32(cap), 39u);
	read10(&h, IA, 3, 1, buf, &r);
	CU_ASSERT_EQUAL(buf[100], 104);
	/* while prevented, replacing is refused unless forced */
	clear_ua(&h, IB);
	prevent(&h, IB, true, &r);
	expect_good(&r);
	path_of(path, sizeof(path), "one.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not replaced"));
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, true, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(!st.prevented && st.blocks == 30);
	/* an insert into an open tray closes it */
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, false, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(st.medium && !st.tray_open);
	lh_close(&h);
}

static void test_insert_bad_image(void)
{
	struct lh h;
	struct lh_res r;
	struct pvs_cd_status st;
	uint8_t buf[2048];
	char path[128], err[256] = "";
	int fd;

	make_image("keep.iso", 20, 50);
	open_cd(&h, "keep.iso");
	path_of(path, sizeof(path), "short.iso");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(ftruncate(fd, 1000) == 0);
	close(fd);
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "short.iso': 1000 bytes is not a positive multiple"));
	path_of(path, sizeof(path), "empty.iso");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	close(fd);
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 bytes"));
	path_of(path, sizeof(path), "nope.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nope.iso': no such file or device"));
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, dir, false, err, sizeof(err)), -EISDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, "", false, err, sizeof(err)), -EINVAL);
	/* the old medium is still there, and nobody was told of a change */
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), 0);
	CU_ASSERT(st.medium && st.blocks == 20 && strstr(st.path, "keep.iso"));
	tur(&h, IA, &r);
	expect_good(&r);
	read10(&h, IA, 1, 1, buf, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 51);
	lh_close(&h);

	/* not a drive */
	CU_ASSERT_FATAL(lh_open(&h, "mem:1M", NULL) == 0);
	CU_ASSERT(!pvs_lun_is_cdrom(h.lun));
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, err, sizeof(err)), -ENOTTY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a cdrom: drive"));
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, true, NULL, 0), -ENOTTY);
	CU_ASSERT_EQUAL(pvs_lun_cd_status(h.lun, &st), -ENOTTY);
	lh_close(&h);
}

static void race_done(struct pvs_req *req)
{
	(*(int *)req->opaque)++;
}

/* A read started on one medium finishes on it, whatever the host does meanwhile. */
static void test_read_races_change(void)
{
	struct lh h;
	struct lh_res r;
	struct pvs_req req[2];
	struct iovec iov[2];
	uint8_t cdb[10] = {0x28}, *a = malloc(8 * 2048), *b = malloc(8 * 2048), buf[2048];
	char path[128];
	int done = 0;

	CU_ASSERT_FATAL(a && b);
	make_image("old.iso", 64, 10);
	make_image("new.iso", 64, 200);
	open_cd(&h, "old.iso");
	lh_put_lba(cdb, 10, 8, 8);
	lh_req_init(&req[0], &iov[0], IA, cdb, 10, PVS_DIR_FROM_DEV, a, 8 * 2048, race_done, &done);
	lh_req_init(&req[1], &iov[1], IB, cdb, 10, PVS_DIR_FROM_DEV, b, 8 * 2048, race_done, &done);
	pvs_submit(h.lun, &req[0]);
	pvs_submit(h.lun, &req[1]);
	CU_ASSERT_EQUAL(pvs_lun_inflight(h.lun), 2);
	/* the guest's SQEs are not even queued to the kernel yet: eject, then a new medium */
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(h.lun, false, NULL, 0), 0);
	path_of(path, sizeof(path), "new.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(h.lun, path, false, NULL, 0), 0);
	for (int i = 0; i < 100 && done < 2; i++)
		pvs_worker_wait(h.w, 100);
	CU_ASSERT_EQUAL_FATAL(done, 2);
	CU_ASSERT_EQUAL(req[0].status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(req[1].status, PVS_STATUS_GOOD);
	CU_ASSERT(a[0] == 18 && a[7 * 2048] == 25);
	CU_ASSERT(b[0] == 18 && b[8 * 2048 - 1] == 25);
	CU_ASSERT_EQUAL(pvs_lun_inflight(h.lun), 0);
	/* the next read sees the new medium, after its unit attention */
	tur(&h, IA, &r);
	expect_sense(&r, PVS_KEY_UNIT_ATTENTION, 0x28, 0x00);
	read10(&h, IA, 8, 1, buf, &r);
	expect_good(&r);
	CU_ASSERT_EQUAL(buf[0], 208);
	free(a);
	free(b);
	lh_close(&h);
}

/* Every command the MMC table emulates runs; everything else is an unknown opcode. */
static void test_table_is_the_truth(void)
{
	struct lh h;
	struct lh_res r;
	uint8_t buf[512], cdb[16];
	const struct pvsi_opcode *all[256];
	unsigned n, emu = 0;

	make_image("tbl.iso", 16, 0);
	open_cd(&h, "tbl.iso");
	for (unsigned op = 0; op < 256; op++) {
		const struct pvsi_opcode *e;
		unsigned len = op < 0x20   ? 6
		               : op < 0x60 ? 10
		               : op < 0x80 ? 10
		               : op < 0xa0 ? 16
		                           : 12;

		memset(cdb, 0, sizeof(cdb));
		cdb[0] = (uint8_t)op;
		e = pvsi_opcode_find_dc(PVSI_DC_MMC, cdb, 16);
		if (e && (e->flags & PVSI_OP_HAS_SA))
			continue; /* service actions: PR IN/OUT, covered by pr_ut */
		/* a zero allocation length everywhere; data-out gets a zero buffer */
		lh_run(&h, IA, cdb, len,
		       e && e->dir == PVS_DIR_TO_DEV ? PVS_DIR_TO_DEV : PVS_DIR_NONE, buf,
		       e && e->dir == PVS_DIR_TO_DEV ? 0 : 0, &r);
		CU_ASSERT_EQUAL(r.ncomplete, 1);
		if (e && pvsi_emu_supported(h.lun, e)) {
			emu++;
			CU_ASSERT(!(r.key == PVS_KEY_ILLEGAL_REQUEST && r.asc == 0x20));
			CU_ASSERT_EQUAL(e->flags & PVSI_OP_WRITE, 0);
		} else {
			if (!(r.key == PVS_KEY_ILLEGAL_REQUEST && r.asc == 0x20))
				fprintf(stderr, "opcode %02x: %x/%02x\n", op, r.key, r.asc);
			CU_ASSERT(r.key == PVS_KEY_ILLEGAL_REQUEST && r.asc == 0x20);
		}
	}
	/* the class's list agrees, and holds every emulated MMC command */
	n = pvsi_dclass_entries(PVSI_DC_MMC, all, 256);
	for (unsigned i = 0, seen = 0; i < n; i++) {
		if (pvsi_emu_supported(h.lun, all[i]) && !(all[i]->flags & PVSI_OP_HAS_SA))
			seen++;
		if (i + 1 == n)
			CU_ASSERT_EQUAL(seen, emu);
	}
	/* what the transports ask before running one: READ(10) moves 2048-byte blocks */
	{
		uint8_t xdir;
		uint64_t len;

		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x28;
		lh_put_lba(cdb, 10, 0, 3);
		CU_ASSERT(pvs_cdb_xfer(h.lun, cdb, 10, &xdir, &len));
		CU_ASSERT(xdir == PVS_DIR_FROM_DEV && len == 3 * 2048);
		cdb[0] = 0x46;
		lh_put16(&cdb[7], 200);
		CU_ASSERT(pvs_cdb_xfer(h.lun, cdb, 10, &xdir, &len));
		CU_ASSERT(xdir == PVS_DIR_FROM_DEV && len == 200);
		cdb[0] = 0x2a; /* no writes */
		CU_ASSERT(!pvs_cdb_xfer(h.lun, cdb, 10, &xdir, &len));
	}
	CU_ASSERT_STRING_EQUAL(pvs_lun_opcode_name(h.lun, (const uint8_t[]){0x43}, 1),
	                       "READ TOC/PMA/ATIP");
	lh_close(&h);
}

/* Two guests given one image have two drives (two trays); file: on the image is another unit. */
static void test_pool(void)
{
	struct pvs_worker *w;
	struct pvs_host *host;
	struct pvs_host_cfg cfg = {0};
	struct pvs_unit *a, *b, *c, *e1, *e2;
	char spec[160], spec2[160], err[256] = "";

	make_image("pool.iso", 16, 0);
	CU_ASSERT_FATAL(pvs_worker_new(8, &w) == 0);
	cfg.worker = w;
	CU_ASSERT_FATAL(pvs_host_new(&cfg, &host) == 0);
	snprintf(spec, sizeof(spec), "cdrom:%s/pool.iso", dir);
	snprintf(spec2, sizeof(spec2), "cdrom:%s/./pool.iso,ro", dir);
	CU_ASSERT_EQUAL(pvs_host_unit_get(host, spec, false, &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_host_unit_get(host, spec2, false, &b, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	snprintf(spec2, sizeof(spec2), "file:%s/pool.iso,ro", dir);
	CU_ASSERT_EQUAL(pvs_host_unit_get(host, spec2, false, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_EQUAL(a, c);
	CU_ASSERT_EQUAL(pvs_host_unit_get(host, "cdrom:", false, &e1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pvs_host_unit_get(host, "cdrom:", true, &e2, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_EQUAL(e1, e2);
	CU_ASSERT(pvs_lun_is_cdrom(pvs_unit_lun(e2)));
	/* one guest's eject leaves the other's disc in */
	CU_ASSERT_EQUAL(pvs_lun_cd_eject(pvs_unit_lun(a), false, NULL, 0), 0);
	{
		struct pvs_cd_status sa, sb;

		CU_ASSERT_EQUAL(pvs_lun_cd_status(pvs_unit_lun(a), &sa), 0);
		CU_ASSERT_EQUAL(pvs_lun_cd_status(pvs_unit_lun(b), &sb), 0);
		CU_ASSERT(!sa.medium && sa.tray_open);
		CU_ASSERT(sb.medium && !sb.tray_open && sb.blocks == 16);
	}
	CU_ASSERT_EQUAL(pvs_unit_users(a), 1);
	pvs_unit_put(a);
	pvs_unit_put(b);
	pvs_unit_put(c);
	pvs_unit_put(e1);
	pvs_unit_put(e2);
	pvs_host_free(host);
	pvs_worker_free(w);
}

/*
 * A drive changes worker: its reads of the medium follow it, and so does a
 * medium the host inserts afterwards.
 */
static void test_move(void)
{
	struct pvs_worker *w, *a, *b;
	struct pvs_host *host;
	struct pvs_host_cfg cfg = {0};
	struct pvs_unit *u;
	struct pvs_unit_wait *wait;
	char spec[160], img[128], err[256] = "";
	uint8_t cdb[10] = {0x28}, buf[2048], want[2048];
	struct lh hb;
	struct lh_res r;

	make_image("move.iso", 16, 0x10);
	make_image("move2.iso", 16, 0x40);
	CU_ASSERT_FATAL(pvs_worker_new(8, &w) == 0);
	CU_ASSERT_FATAL(pvs_worker_new(8, &a) == 0);
	CU_ASSERT_FATAL(pvs_worker_new(8, &b) == 0);
	cfg.worker = w;
	CU_ASSERT_FATAL(pvs_host_new(&cfg, &host) == 0);
	snprintf(spec, sizeof(spec), "cdrom:%s/move.iso", dir);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(host, a, spec, false, NULL, NULL, NULL, &u,
	                                            &wait, err, sizeof(err)),
	                      0);
	/* Reads only: block 5 holds 15h throughout. */
	um_check_move(u, a, b, 5, UM_RO); /* frees a */

	path_of(img, sizeof(img), "move2.iso");
	CU_ASSERT_EQUAL(pvs_lun_cd_insert(pvs_unit_lun(u), img, false, err, sizeof(err)), 0);
	hb = (struct lh){.w = b, .lun = pvs_unit_lun(u)};
	clear_ua(&hb, 0);
	lh_put_lba(cdb, 10, 5, 1);
	lh_run(&hb, 0, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.ncomplete, 1);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	memset(want, 0x45, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(buf)), 0);
	pvs_unit_put(u);
	pvs_host_free(host);
	pvs_worker_free(b);
	pvs_worker_free(w);
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/var/tmp/pvscsi-cdrom-ut.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const struct cu_test tests[] = {
    {"spec: cdrom:[PATH], implied ro, refusals", test_spec},
    {"open: missing, directory, odd size, char device", test_open_errors},
    {"INQUIRY: type 05h, RMB, MMC-6, VPD 00h/80h/83h only", test_inquiry},
    {"READ CAPACITY, READ(10/12), range, no writes", test_capacity_and_reads},
    {"READ TOC: formats 0 and 1, LBA and MSF, lead-out", test_toc},
    {"GET CONFIGURATION: profiles, features, RT, DVD by size", test_get_configuration},
    {"READ DISC/TRACK INFORMATION, MECHANISM STATUS, MODE SENSE 2Ah", test_disc_track_mech_mode},
    {"empty drive: NOT READY tray closed/open", test_empty_drive},
    {"guest eject, per-nexus prevention, host eject refused/forced", test_guest_eject_and_prevent},
    {"host insert: UA 28h and new media for every initiator", test_host_insert},
    {"bad images refused, old medium kept", test_insert_bad_image},
    {"reads in flight finish on the old medium", test_read_races_change},
    {"the MMC table is what the drive does", test_table_is_the_truth},
    {"host pool: a drive per guest, whatever its image", test_pool},
    {"move: a drive and its media change worker", test_move},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("cdrom", suite_init, suite_clean, tests),
	};

	return CU_RUN_SUITES(suites);
}
