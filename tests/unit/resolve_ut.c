/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resolve_ut.c - p-dev resolution against fake sysfs trees, and the real /sys where useful. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fake_sysfs.h"
#include "pvscsi/resolve.h"
#include "pvscsi/spec.h"
#include "cu_run.h"

/* Device A: a disk with a 16-byte NAA identity, sysfs wwid, by-id links, two partitions. */
#define NAA_A    "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1"
#define NAA_A_UC "naa.6001405AAAAAAAAAAAAAAAAAAAAAAAA1"
static const uint8_t naa_a_bytes[16] = {0x60, 0x01, 0x40, 0x5a, 0xaa, 0xaa, 0xaa, 0xaa,
                                        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xa1};
/* Device B: a tape without sysfs wwid; its VPD page carries T10, EUI-64 and 8-byte NAA. */
#define NAA_B "naa.5001405123456789"
#define EUI_B "eui.0011223344556677"
#define T10_B "t10.LIO-ORG TAPE0001"
/* A target-port NAA in B's page: preferred over everything if association were ignored. */
static const uint8_t naa_port[16] = {0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct din {
	uint8_t codeset, assoc, type;
	const void *data;
	uint8_t len;
};

/* A VPD page 0x83 from designators (SPC-5 7.7.6.1); returns its length. */
static size_t vpd_build(uint8_t *buf, const struct din *d, size_t n)
{
	size_t pos = 4;

	buf[0] = 0x00;
	buf[1] = 0x83;
	for (size_t i = 0; i < n; i++) {
		buf[pos] = d[i].codeset;
		buf[pos + 1] = (uint8_t)((d[i].assoc << 4) | d[i].type);
		buf[pos + 2] = 0;
		buf[pos + 3] = d[i].len;
		memcpy(buf + pos + 4, d[i].data, d[i].len);
		pos += 4u + d[i].len;
	}
	buf[2] = (uint8_t)((pos - 4) >> 8);
	buf[3] = (uint8_t)(pos - 4);
	return pos;
}

static size_t vpd_b(uint8_t *buf)
{
	static const uint8_t eui[8] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	static const uint8_t naa8[8] = {0x50, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89};
	const struct din d[] = {
	    {2, 0, 1, "LIO-ORG TAPE0001", 16},
	    {1, 1, 3, naa_port, 16},
	    {1, 0, 2, eui, 8},
	    {1, 0, 3, naa8, 8},
	};
	return vpd_build(buf, d, 4);
}

static void has_(const char *hay, const char *needle, int line)
{
	int ok = hay && strstr(hay, needle) != NULL;

	if (!ok)
		fprintf(stderr, "\nline %d: \"%s\" lacks \"%s\"\n", line, hay ? hay : "(null)",
		        needle);
	CU_assertImplementation(ok, (unsigned int)line, "ASSERT_HAS", __FILE__, "", CU_FALSE);
}
#define ASSERT_HAS(hay, needle) has_((hay), (needle), __LINE__)

static char *dpath(const struct fake_sysfs *fs, const char *rel)
{
	static char buf[4][2 * PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", fs->dev, rel);
	return buf[k];
}

/* A, B, a CD-ROM without any identity, and non-SCSI neighbours. */
static void std_tree(struct fake_sysfs *fs, struct pvs_resolver *r)
{
	static uint8_t va[64], vb[128];
	const struct din da[] = {{1, 0, 3, naa_a_bytes, 16}};
	struct fake_scsi_dev a = {
	    .host = 0,
	    .type = 0,
	    .wwid = NAA_A,
	    .vpd83 = va,
	    .vpd83_len = vpd_build(va, da, 1),
	    .sg = "sg0",
	    .block = "sda",
	    .partitions = 2,
	    .by_id = "scsi-36001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	    .by_path = "pci-0000:00:05.0-scsi-0:0:0:0",
	};
	struct fake_scsi_dev b = {
	    .host = 0,
	    .target = 1,
	    .type = 1,
	    .model = "TAPE",
	    .vpd83 = vb,
	    .vpd83_len = vpd_b(vb),
	    .sg = "sg1",
	    .tape = "st0",
	};
	struct fake_scsi_dev c = {
	    .host = 1,
	    .type = 5,
	    .vendor = "QEMU",
	    .model = "QEMU DVD-ROM",
	    .rev = "2.5+",
	    .sg = "sg2",
	    .block = "sr0",
	};
	struct fake_scsi_dev ch = {
	    .host = 0,
	    .target = 1,
	    .lun = 1,
	    .type = 8,
	    .vendor = "IET",
	    .model = "VIRTUAL-CHANGER",
	    .sg = "sg7",
	    .changer = "sch0",
	};
	char p[2 * PATH_MAX];
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(fs), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(fs, &a), 0);
	/* udev makes several by-id links; the wwn- one is the one to prefer. */
	CU_ASSERT_EQUAL_FATAL(
	    fake_sysfs_symlink(fs, "dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	                       "../../sda"),
	    0);
	CU_ASSERT_EQUAL_FATAL(
	    fake_sysfs_symlink(fs, "dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1-part1",
	                       "../../sda1"),
	    0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(fs, &b), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(fs, &c), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(fs, &ch), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_virtio_blk(fs, "vda", 0), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_virtual_char(fs, "null", 1, 3), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_dm(fs, 0, "dm-uuid-mpath-36001405bbbb"), 0);
	snprintf(p, sizeof(p), "%s/disk.img", fs->root);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	r->sysfs_root = fs->sys;
	r->dev_root = fs->dev;
}

static int res(const struct pvs_resolver *r, const char *spec, struct pvs_pdev *p, char *err)
{
	return pvs_resolve(r, spec, p, err, 2048);
}

/* --- pvs_parse_hctl --------------------------------------------------------- */

static void test_hctl_valid(void)
{
	struct pvs_hctl h;

	CU_ASSERT_EQUAL(pvs_parse_hctl("0:0:0:0", &h), 0);
	CU_ASSERT(h.host == 0 && h.channel == 0 && h.target == 0 && h.lun == 0);
	CU_ASSERT_EQUAL(pvs_parse_hctl("1:2:3:4", &h), 0);
	CU_ASSERT(h.host == 1 && h.channel == 2 && h.target == 3 && h.lun == 4);
	CU_ASSERT_EQUAL(pvs_parse_hctl("4294967295:0:17:4294967295", &h), 0);
	CU_ASSERT(h.host == 4294967295u && h.channel == 0 && h.target == 17 &&
	          h.lun == 4294967295u);
	CU_ASSERT_EQUAL(pvs_parse_hctl("007:00:1:0010", &h), 0);
	CU_ASSERT(h.host == 7 && h.channel == 0 && h.target == 1 && h.lun == 10);
}

static void test_hctl_invalid(void)
{
	static const char *const bad[] = {
	    "",          "1:2:3",    "1:2:3:4:5", "1:2:3:4 ", " 1:2:3:4", "1:2:3:x",
	    "-1:0:0:0",  "+1:0:0:0", "1::3:4",    "1:2:3:",   ":1:2:3",   "0x1:0:0:0",
	    "1:2:3:4\n", "1,2,3,4",  "1:2:3:4:",  "a:b:c:d",  "1 :2:3:4", "4294967296:0:0:x",
	};
	struct pvs_hctl h = {11, 22, 33, 44};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = pvs_parse_hctl(bad[i], &h);

		if (rc != -EINVAL)
			fprintf(stderr, "\n'%s' -> %d\n", bad[i], rc);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
	CU_ASSERT_EQUAL(pvs_parse_hctl("4294967296:0:0:0", &h), -ERANGE);
	CU_ASSERT_EQUAL(pvs_parse_hctl("0:0:0:4294967296", &h), -ERANGE);
	CU_ASSERT_EQUAL(pvs_parse_hctl("0:99999999999999999999999:0:0", &h), -ERANGE);
	CU_ASSERT_EQUAL(pvs_parse_hctl(NULL, &h), -EINVAL);
	CU_ASSERT_EQUAL(pvs_parse_hctl("1:2:3:4", NULL), -EINVAL);
	/* Untouched on failure. */
	CU_ASSERT(h.host == 11 && h.channel == 22 && h.target == 33 && h.lun == 44);
}

/* --- VPD 0x83 ------------------------------------------------------------------ */

static void test_vpd_prefers_naa(void)
{
	uint8_t pg[256];
	char id[128];
	size_t n = vpd_b(pg);

	/* T10 first, port-associated NAA16, EUI-64, then LU NAA8: LU NAA wins. */
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), (int)strlen(NAA_B));
	CU_ASSERT_STRING_EQUAL(id, NAA_B);
	/* Nothing for the target device. */
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 2, id, sizeof(id)), -ENODATA);
	CU_ASSERT_STRING_EQUAL(id, "");
}

static void test_vpd_each_kind(void)
{
	static const uint8_t eui12[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xff};
	static const uint8_t eui16[16] = {0xab, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd};
	static const uint8_t t10[] = {'V', 'E', 'N', 'D', 0x01, '\n', '\\', 0xe9, 0x85, ' '};
	uint8_t pg[256];
	char id[128];
	size_t n;

	{
		const struct din d[] = {{2, 0, 1, t10, sizeof(t10)}};

		n = vpd_build(pg, d, 1);
		/* Escaped like the kernel's %pE: octal/C escapes, 0xe9 and backslash pass. */
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 21);
		CU_ASSERT_STRING_EQUAL(id, "t10.VEND\\001\\n\\\xe9\\205 ");
	}
	{
		const struct din d[] = {{2, 0, 1, "T10VENDR", 8}, {1, 0, 2, eui12, 12}};

		n = vpd_build(pg, d, 2);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 28);
		CU_ASSERT_STRING_EQUAL(id, "eui.0102030405060708090a0bff");
	}
	{
		const struct din d[] = {{1, 0, 2, eui12, 12}, {1, 0, 2, eui16, 16}};

		n = vpd_build(pg, d, 2);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 36);
		CU_ASSERT_STRING_EQUAL(id, "eui.ab0000000000000000000000000000cd");
	}
	{
		/* SCSI name string: NUL-padded to a multiple of 4. */
		const struct din d[] = {{2, 0, 1, "T10VENDR", 8},
		                        {3, 0, 8, "iqn.2003-01.org.x\0\0\0", 20}};

		n = vpd_build(pg, d, 2);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 17);
		CU_ASSERT_STRING_EQUAL(id, "iqn.2003-01.org.x");
	}
	{
		/* 8-byte NAA is still chosen over a longer EUI-64. */
		static const uint8_t naa8[8] = {0x50, 1, 2, 3, 4, 5, 6, 7};
		const struct din d[] = {{1, 0, 2, eui16, 16}, {1, 0, 3, naa8, 8}};

		n = vpd_build(pg, d, 2);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 20);
		CU_ASSERT_STRING_EQUAL(id, "naa.5001020304050607");
	}
	{
		/* Target-device association (2) is asked for separately. */
		const struct din d[] = {{1, 2, 3, naa_a_bytes, 16}, {2, 0, 1, "T10VENDR", 8}};

		n = vpd_build(pg, d, 2);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 2, id, sizeof(id)), 36);
		CU_ASSERT_STRING_EQUAL(id, NAA_A);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 12);
		CU_ASSERT_STRING_EQUAL(id, "t10.T10VENDR");
	}
}

static void test_vpd_malformed(void)
{
	static const uint8_t naa12[12] = {0x60};
	uint8_t pg[300];
	char id[64];
	size_t n;
	const struct din d[] = {{2, 0, 1, "T10VENDR", 8}, {1, 0, 3, naa_a_bytes, 16}};

	memset(pg, 0, sizeof(pg));
	CU_ASSERT_EQUAL(pvs_vpd83_identity(NULL, 0, 0, id, sizeof(id)), -EINVAL);
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, 3, 0, id, sizeof(id)), -EINVAL);
	n = vpd_build(pg, d, 2);
	pg[1] = 0x80; /* unit serial number page, not 0x83 */
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), -EINVAL);
	pg[1] = 0x83;
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 36);

	/* The page is cut inside the NAA descriptor: the T10 before it still counts. */
	for (size_t cut = 16; cut < n; cut++) {
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, cut, 0, id, sizeof(id)), 12);
		CU_ASSERT_STRING_EQUAL(id, "t10.T10VENDR");
	}
	/* Cut inside the first descriptor: nothing usable. */
	for (size_t cut = 4; cut < 16; cut++)
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, cut, 0, id, sizeof(id)), -ENODATA);

	/* The page length claims less than we hold: bytes beyond it are not the page. */
	pg[2] = 0;
	pg[3] = 12;
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 12);
	/* It claims more than we hold (64 KiB): bounded by what we hold. */
	pg[2] = 0xff;
	pg[3] = 0xff;
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 36);

	/* A descriptor length of 255 running off the end. */
	n = vpd_build(pg, d, 1);
	pg[7] = 255;
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), -ENODATA);

	/* An NAA of a length no NAA type has is skipped, not printed. */
	{
		const struct din e[] = {{1, 0, 3, naa12, 12}};

		n = vpd_build(pg, e, 1);
		CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), -ENODATA);
	}
	/* Zero-length descriptors terminate. */
	memset(pg + 4, 0, 200);
	pg[2] = 0;
	pg[3] = 200;
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, 204, 0, id, sizeof(id)), -ENODATA);

	/* Too small an output buffer. */
	n = vpd_build(pg, d, 2);
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, 36), -ENAMETOOLONG);
	CU_ASSERT_STRING_EQUAL(id, "");
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, 37), 36);
}

/* Random pages under ASan: no read outside the buffer, results always consistent. */
/*
 * The longest identity there is: a T10 vendor ID designator of 255 bytes,
 * none of them printable, each escaped as \ooo after "t10." (vpd_fuzz):
 * 1024 characters, which PVS_PDEV_ID_MAX must hold with the NUL.  It
 * names its device whether the kernel shows it as 'wwid' or it comes
 * from the page, and its stable spec resolves back to that device.
 */
static void test_vpd_longest_t10(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	uint8_t data[255], pg[300];
	char id[PVS_PDEV_ID_MAX], want[1100], spec[1100], err[2048];
	const struct din d[] = {{2, 0, 1, data, 255}};
	size_t n;

	memset(data, 0x01, sizeof(data));
	n = vpd_build(pg, d, 1);
	strcpy(want, "t10.");
	for (int i = 0; i < 255; i++)
		strcat(want, "\\001");
	CU_ASSERT_EQUAL(strlen(want), 1024);
	CU_ASSERT_EQUAL(pvs_vpd83_identity(pg, n, 0, id, sizeof(id)), 1024);
	CU_ASSERT_STRING_EQUAL(id, want);

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&fs), 0);
	r.sysfs_root = fs.sys;
	r.dev_root = fs.dev;
	{
		struct fake_scsi_dev a = {
		    .host = 4, .type = 0, .vpd83 = pg, .vpd83_len = n, .sg = "sg4"};
		struct fake_scsi_dev b = {.host = 5, .type = 0, .wwid = want, .sg = "sg5"};

		CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &a), 0);
		CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &b), 0);
	}
	CU_ASSERT_EQUAL(res(&r, "sg4", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, want);
	CU_ASSERT_EQUAL(res(&r, "sg5", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, want);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), 0);
	/* Two devices, one identity: the spec says so rather than picking one. */
	CU_ASSERT_EQUAL(res(&r, spec, &p, err), -ENOTUNIQ);
	fake_sysfs_destroy(&fs);
}

static void test_vpd_random(void)
{
	unsigned int seed = 12345;
	char id[PVS_PDEV_ID_MAX];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % 300);
		uint8_t *pg = malloc(len ? len : 1);
		int rc;

		for (size_t i = 0; i < len; i++)
			pg[i] = (uint8_t)rand_r(&seed);
		if (len > 1 && iter % 2)
			pg[1] = 0x83;
		rc = pvs_vpd83_identity(pg, len, (unsigned int)(iter % 3), id, sizeof(id));
		CU_ASSERT(rc == -EINVAL || rc == -ENODATA || (rc > 0 && (size_t)rc == strlen(id)));
		free(pg);
	}
}

/* --- resolution: the accepted forms ------------------------------------------ */

static void check_a(const struct fake_sysfs *fs, const struct pvs_pdev *p)
{
	CU_ASSERT(p->host == 0 && p->channel == 0 && p->target == 0 && p->lun == 0);
	CU_ASSERT_STRING_EQUAL(p->sg, dpath(fs, "sg0"));
	CU_ASSERT_STRING_EQUAL(p->block, dpath(fs, "sda"));
	CU_ASSERT_EQUAL(p->type, 0);
	CU_ASSERT_STRING_EQUAL(p->vendor, "LIO-ORG");
	CU_ASSERT_STRING_EQUAL(p->model, "disk");
	CU_ASSERT_STRING_EQUAL(p->rev, "4.0");
	CU_ASSERT_STRING_EQUAL(p->wwid, NAA_A);
	CU_ASSERT_STRING_EQUAL(p->target_wwid, "");
	CU_ASSERT_STRING_EQUAL(p->by_id,
	                       dpath(fs, "disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1"));
}

static void test_forms_disk(void)
{
	static const char *const specs[] = {
	    "/dev/sda",
	    "/dev/sg0",
	    "/dev/bsg/0:0:0:0",
	    "sda",
	    "sg0",
	    "0:0:0:0",
	    "/dev/disk/by-id/scsi-36001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	    "/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	    "/dev/disk/by-path/pci-0000:00:05.0-scsi-0:0:0:0",
	    "/dev/mydisk",
	    "/dev/disk/by-label/chain",
	    NAA_A,
	    NAA_A ":0",
	    NAA_A_UC ":0",
	    "wwid:" NAA_A,
	};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];

	std_tree(&fs, &r);
	/* An admin's absolute symlink is re-rooted; a chain of relative ones is followed. */
	CU_ASSERT_EQUAL(fake_sysfs_symlink(&fs, "dev/mydisk", "/dev/sda"), 0);
	CU_ASSERT_EQUAL(fake_sysfs_symlink(&fs, "dev/disk/by-label/chain",
	                                   "../by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1"),
	                0);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int rc = res(&r, specs[i], &p, err);

		if (rc)
			fprintf(stderr, "\n%s -> %d: %s\n", specs[i], rc, err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(err, "");
		check_a(&fs, &p);
	}
	/* The full dev_root path works as well as the /dev one. */
	CU_ASSERT_EQUAL(res(&r, dpath(&fs, "sda"), &p, err), 0);
	check_a(&fs, &p);
	fake_sysfs_destroy(&fs);
}

static void test_forms_tape_cd(void)
{
	static const char *const tape[] = {"/dev/st0", "/dev/nst0",  "/dev/sg1", "st0",
	                                   "0:0:1:0",  NAA_B,        NAA_B ":0", EUI_B ":0",
	                                   T10_B,      "wwid:" T10_B};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];

	std_tree(&fs, &r);
	for (size_t i = 0; i < sizeof(tape) / sizeof(tape[0]); i++) {
		int rc = res(&r, tape[i], &p, err);

		if (rc)
			fprintf(stderr, "\n%s -> %d: %s\n", tape[i], rc, err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT(p.host == 0 && p.channel == 0 && p.target == 1 && p.lun == 0);
		CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg1"));
		CU_ASSERT_STRING_EQUAL(p.block, "");
		CU_ASSERT_EQUAL(p.type, 1);
		CU_ASSERT_STRING_EQUAL(p.model, "TAPE");
		/* No sysfs wwid: derived from vpd_pg83, NAA preferred. */
		CU_ASSERT_STRING_EQUAL(p.wwid, NAA_B);
		CU_ASSERT_STRING_EQUAL(p.by_id, "");
	}
	/* a tape library's robot, by its ch node, its name, its sg node or H:C:T:L */
	for (size_t i = 0; i < 4; i++) {
		static const char *const changer[] = {"/dev/sch0", "sch0", "/dev/sg7", "0:0:1:1"};
		int rc = res(&r, changer[i], &p, err);

		if (rc)
			fprintf(stderr, "\n%s -> %d: %s\n", changer[i], rc, err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT(p.host == 0 && p.channel == 0 && p.target == 1 && p.lun == 1);
		CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg7"));
		CU_ASSERT_EQUAL(p.type, 8);
	}
	CU_ASSERT_EQUAL(res(&r, "/dev/sr0", &p, err), 0);
	CU_ASSERT(p.host == 1 && p.channel == 0 && p.target == 0 && p.lun == 0);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg2"));
	CU_ASSERT_STRING_EQUAL(p.block, dpath(&fs, "sr0"));
	CU_ASSERT_EQUAL(p.type, 5);
	CU_ASSERT_STRING_EQUAL(p.vendor, "QEMU");
	CU_ASSERT_STRING_EQUAL(p.model, "QEMU DVD-ROM");
	CU_ASSERT_STRING_EQUAL(p.rev, "2.5+");
	CU_ASSERT_STRING_EQUAL(p.wwid, "");
	fake_sysfs_destroy(&fs);
}

/* --- refusals ------------------------------------------------------------------ */

static void test_partition_refused(void)
{
	static const char *const specs[] = {
	    "/dev/sda1", "sda2", "/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1-part1"};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];

	std_tree(&fs, &r);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		memset(&p, 0xa5, sizeof(p));
		CU_ASSERT_EQUAL(res(&r, specs[i], &p, err), -EINVAL);
		ASSERT_HAS(err, specs[i]);
		ASSERT_HAS(err, "partition");
		ASSERT_HAS(err, "whole LUNs");
		ASSERT_HAS(err, "of disk sda");
		ASSERT_HAS(err, "(/dev/sda)");
		CU_ASSERT_EQUAL(p.host, 0);
		CU_ASSERT_STRING_EQUAL(p.sg, "");
	}
	fake_sysfs_destroy(&fs);
}

static void test_non_scsi_refused(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], img[2 * PATH_MAX];

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(res(&r, "/dev/vda", &p, err), -ENODEV);
	ASSERT_HAS(err, "p-dev '/dev/vda': ");
	ASSERT_HAS(err, "not a SCSI device");
	ASSERT_HAS(err, "virtio1");
	CU_ASSERT_EQUAL(res(&r, "vda", &p, err), -ENODEV);
	CU_ASSERT_EQUAL(res(&r, "/dev/null", &p, err), -ENODEV);
	ASSERT_HAS(err, "not a SCSI device");
	CU_ASSERT_EQUAL(res(&r, "/dev/disk/by-id/dm-uuid-mpath-36001405bbbb", &p, err), -ENODEV);
	ASSERT_HAS(err, "device-mapper");
	ASSERT_HAS(err, "dm-0");
	snprintf(img, sizeof(img), "%s/disk.img", fs.root);
	CU_ASSERT_EQUAL(res(&r, img, &p, err), -ENODEV);
	ASSERT_HAS(err, "not a device node");
	ASSERT_HAS(err, img);
	CU_ASSERT_EQUAL(res(&r, "/dev/disk", &p, err), -ENODEV);
	ASSERT_HAS(err, "directory");
	/* A host or target directory is on the scsi bus too, but is no LUN. */
	CU_ASSERT_EQUAL(
	    fake_sysfs_symlink(&fs, "sys/class/block/odd/device",
	                       "../../../devices/pci0000:00/0000:00:05.0/host0/target0:0:0"),
	    0);
	CU_ASSERT_EQUAL(fake_sysfs_write(&fs, "dev/odd", "", 0), 0);
	CU_ASSERT_EQUAL(res(&r, "/dev/odd", &p, err), -ENODEV);
	ASSERT_HAS(err, "target0:0:0");
	/* Named like H:C:T:L, but a bsg class device, not a scsi_device. */
	CU_ASSERT_EQUAL(fake_sysfs_symlink(&fs, "sys/class/block/odd2/device",
	                                   "../../../devices/pci0000:00/0000:00:05.0/host0/"
	                                   "target0:0:0/0:0:0:0/bsg/0:0:0:0"),
	                0);
	CU_ASSERT_EQUAL(fake_sysfs_write(&fs, "dev/odd2", "", 0), 0);
	CU_ASSERT_EQUAL(res(&r, "/dev/odd2", &p, err), -ENODEV);
	ASSERT_HAS(err, "bsg/0:0:0:0)");
	fake_sysfs_destroy(&fs);
}

static void test_unknown_refused(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], want[2 * PATH_MAX];

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(res(&r, "/dev/sdq", &p, err), -ENOENT);
	ASSERT_HAS(err, "p-dev '/dev/sdq'");
	ASSERT_HAS(err, dpath(&fs, "sdq"));
	ASSERT_HAS(err, "No such file or directory");

	CU_ASSERT_EQUAL(res(&r, "sdq", &p, err), -ENOENT);
	snprintf(want, sizeof(want), "%s/class/block/sdq", fs.sys);
	ASSERT_HAS(err, want);
	snprintf(want, sizeof(want), "%s/class/scsi_generic/sdq", fs.sys);
	ASSERT_HAS(err, want);
	snprintf(want, sizeof(want), "%s/class/scsi_tape/sdq", fs.sys);
	ASSERT_HAS(err, want);

	/* A path through a node, as if it were a directory: no such node (resolve_fuzz). */
	CU_ASSERT_EQUAL(res(&r, "/dev/sda/", &p, err), -ENOENT);
	ASSERT_HAS(err, "no such device node");
	CU_ASSERT_EQUAL(res(&r, "/dev/sg0/x", &p, err), -ENOENT);

	/* The node is gone but the kernel still has the device (udev lag). */
	snprintf(want, sizeof(want), "%s/sg1", fs.dev);
	CU_ASSERT_EQUAL(unlink(want), 0);
	CU_ASSERT_EQUAL(res(&r, "/dev/sg1", &p, err), -ENOENT);
	ASSERT_HAS(err, "sysfs knows sg1");

	CU_ASSERT_EQUAL(res(&r, "9:0:0:0", &p, err), -ENOENT);
	ASSERT_HAS(err, "no SCSI device 9:0:0:0");
	snprintf(want, sizeof(want), "%s/class/scsi_device/9:0:0:0/device", fs.sys);
	ASSERT_HAS(err, want);
	snprintf(want, sizeof(want), "%s/bus/scsi/devices/9:0:0:0", fs.sys);
	ASSERT_HAS(err, want);

	/* An unknown identity lists every device searched and its identity. */
	CU_ASSERT_EQUAL(res(&r, "naa.600140500000000000000000000000ff:0", &p, err), -ENOENT);
	ASSERT_HAS(err, "no SCSI device carries identity naa.600140500000000000000000000000ff");
	ASSERT_HAS(err, "0:0:0:0: " NAA_A);
	ASSERT_HAS(err, "0:0:1:0: " NAA_B);
	ASSERT_HAS(err, "1:0:0:0: no identity");

	/* Loops end. */
	CU_ASSERT_EQUAL(fake_sysfs_symlink(&fs, "dev/loopa", "loopb"), 0);
	CU_ASSERT_EQUAL(fake_sysfs_symlink(&fs, "dev/loopb", "loopa"), 0);
	CU_ASSERT_EQUAL(res(&r, "/dev/loopa", &p, err), -ELOOP);
	ASSERT_HAS(err, "too many symlinks");
	fake_sysfs_destroy(&fs);
}

static void test_malformed_specs(void)
{
	static const struct {
		const char *spec;
		int rc;
		const char *says;
	} cases[] = {
	    {"", -EINVAL, "empty"},
	    {"1:2:3", -EINVAL, "four decimal numbers"},
	    {"0:0:0:4294967296", -ERANGE, "over 4294967295"},
	    {"naa.6001405", -EINVAL, "16 or 32 hex digits"},
	    {"naa.6001405aaaaaaaaaaaaaaaaaaaaaaaaz", -EINVAL, "16 or 32 hex digits"},
	    {NAA_A ":", -EINVAL, "LUN after ':'"},
	    {NAA_A ":1x", -EINVAL, "LUN after ':'"},
	    {NAA_A ":4294967296", -EINVAL, "LUN after ':'"},
	    {"eui.00112233", -EINVAL, "16, 24 or 32 hex digits"},
	    {"wwid:", -EINVAL, "empty identity"},
	    {"wwid:   ", -EINVAL, "empty identity"},
	    {"t10.", -EINVAL, "empty identity"},
	    {"dev/sda", -EINVAL, "expected /dev/..."},
	    {"..", -EINVAL, "expected /dev/..."},
	};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], small[16];

	std_tree(&fs, &r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = res(&r, cases[i].spec, &p, err);

		if (rc != cases[i].rc)
			fprintf(stderr, "\n'%s' -> %d: %s\n", cases[i].spec, rc, err);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		ASSERT_HAS(err, cases[i].says);
	}
	CU_ASSERT_EQUAL(pvs_resolve(&r, NULL, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(pvs_resolve(&r, "/dev/sda", NULL, err, sizeof(err)), -EINVAL);
	/* A short error buffer is truncated but terminated; none at all is fine. */
	memset(small, 'x', sizeof(small));
	CU_ASSERT_EQUAL(pvs_resolve(&r, "/dev/sdq", &p, small, sizeof(small)), -ENOENT);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	CU_ASSERT_EQUAL(pvs_resolve(&r, "/dev/sdq", &p, NULL, 0), -ENOENT);
	/* Control bytes in a spec do not reach the message. */
	CU_ASSERT_EQUAL(res(&r, "/dev/sd\n\033q", &p, err), -ENOENT);
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	CU_ASSERT_PTR_NULL(strchr(err, '\033'));
	fake_sysfs_destroy(&fs);
}

/* --- adapters: libvirt's <adapter> addressing -------------------------------------- */

#define WWPN_V "5001a4aabbccdd01" /* an NPIV vport's port name */
#define WWNN_V "5001a4aabbccdd00"

/*
 * One AHCI controller 0000:00:1f.2 with three hosts whose unique_ids do not
 * follow the host numbers (host4 has the smallest), a virtio-scsi HBA
 * (virtio1 between it and its host), an HBA behind a bridge, and an FC HBA
 * (host7) with an NPIV vport host8 under it.
 */
static void adapter_tree(struct fake_sysfs *fs, struct pvs_resolver *r)
{
	const struct fake_scsi_host hosts[] = {
	    {.host = 0, .pci = "0000:00:1f.2", .unique_id = "2"},
	    {.host = 2, .pci = "0000:00:1f.2", .unique_id = "3"},
	    {.host = 4, .pci = "0000:00:1f.2", .unique_id = "1"},
	    {.host = 5, .pci = "0000:00:04.0/virtio1", .unique_id = "0"},
	    {.host = 6, .pci = "0000:00:1c.0/0000:02:00.0", .unique_id = "0"},
	    {.host = 7,
	     .pci = "0000:00:03.0",
	     .unique_id = "0",
	     .port_name = "0x5001438001234567",
	     .node_name = "0x5001438001234566"},
	    {.host = 8,
	     .pci = "0000:00:03.0/host7/vport-7:0-0",
	     .unique_id = "1",
	     .port_name = "0x" WWPN_V,
	     .node_name = "0x" WWNN_V},
	};
	const struct fake_scsi_dev devs[] = {
	    {.host = 0, .pci = "0000:00:1f.2", .wwid = NAA_A, .sg = "sg0", .block = "sda"},
	    {.host = 2, .pci = "0000:00:1f.2", .type = 5, .sg = "sg2", .block = "sr0"},
	    {.host = 4,
	     .pci = "0000:00:1f.2",
	     .wwid = "naa.6001405cccccccccccccccccccccccc2",
	     .sg = "sg4",
	     .block = "sdb"},
	    {.host = 5, .pci = "0000:00:04.0/virtio1", .target = 1, .sg = "sg5", .block = "sdc"},
	    {.host = 6, .pci = "0000:00:1c.0/0000:02:00.0", .sg = "sg6", .block = "sdd"},
	    {.host = 8,
	     .pci = "0000:00:03.0/host7/vport-7:0-0",
	     .lun = 2,
	     .sg = "sg8",
	     .block = "sde"},
	};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(fs), 0);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(fs, &hosts[i]), 0);
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(fs, &devs[i]), 0);
	/* A NIC: a PCI device without SCSI hosts. */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_pci(fs, "0000:00:19.0"), 0);
	r->sysfs_root = fs->sys;
	r->dev_root = fs->dev;
}

static void test_adapter_forms(void)
{
	static const struct {
		const char *spec;
		const char *hctl;    /* what it names */
		const char *adapter; /* its canonical form, the stable spec; "" for none */
	} cases[] = {
	    {"scsi_host0:0:0:0", "0:0:0:0", ""},
	    {"scsi_host4:0:0:0", "4:0:0:0", ""},
	    {"pci_0000_00_1f_2/unique_id=2:0:0:0", "0:0:0:0", "pci_0000_00_1f_2/unique_id=2:0:0:0"},
	    {"pci_0000_00_1f_2/unique_id=1:0:0:0", "4:0:0:0", "pci_0000_00_1f_2/unique_id=1:0:0:0"},
	    {"pci_0000_00_1F_2/unique_id=03:00:0:0", "2:0:0:0",
	     "pci_0000_00_1f_2/unique_id=3:0:0:0"},
	    /* Without unique_id: the smallest (host4's 1), not the smallest host number. */
	    {"pci_0000_00_1f_2:0:0:0", "4:0:0:0", "pci_0000_00_1f_2:0:0:0"},
	    /* virtio-scsi: virtio1 sits between the PCI device and the host. */
	    {"pci_0000_00_04_0:0:1:0", "5:0:1:0", "pci_0000_00_04_0:0:1:0"},
	    /* The HBA behind a bridge is the nearest PCI device. */
	    {"pci_0000_02_00_0/unique_id=0:0:0:0", "6:0:0:0", "pci_0000_02_00_0/unique_id=0:0:0:0"},
	    /* An NPIV vport host is under its physical HBA's PCI device too. */
	    {"pci_0000_00_03_0/unique_id=1:0:0:2", "8:0:0:2", "pci_0000_00_03_0/unique_id=1:0:0:2"},
	    {"fc_host/wwpn=" WWPN_V ":0:0:2", "8:0:0:2", "fc_host/wwpn=" WWPN_V ":0:0:2"},
	    {"fc_host/wwpn=0x5001A4AABBCCDD01:0:0:2", "8:0:0:2", "fc_host/wwpn=" WWPN_V ":0:0:2"},
	    {"fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V ":0:0:2", "8:0:0:2",
	     "fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V ":0:0:2"},
	    {"fc_host/wwnn=0X5001a4aabbccdd00/wwpn=5001A4AABBCCDD01:0:0:2", "8:0:0:2",
	     "fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V ":0:0:2"},
	};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p, q;
	char err[2048], hctl[64], stable[256];

	adapter_tree(&fs, &r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = res(&r, cases[i].spec, &p, err);

		if (rc)
			fprintf(stderr, "\n'%s' -> %d: %s\n", cases[i].spec, rc, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(err, "");
		snprintf(hctl, sizeof(hctl), "%u:%u:%u:%u", p.host, p.channel, p.target, p.lun);
		CU_ASSERT_STRING_EQUAL(hctl, cases[i].hctl);
		CU_ASSERT_STRING_EQUAL(p.adapter, cases[i].adapter);
		/* Everything but the adapter is what the H:C:T:L form gives. */
		CU_ASSERT_EQUAL_FATAL(res(&r, hctl, &q, err), 0);
		CU_ASSERT_STRING_EQUAL(q.adapter, "");
		memcpy(q.adapter, p.adapter, sizeof(q.adapter));
		CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
		CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, stable, sizeof(stable)), 0);
		if (cases[i].adapter[0]) {
			CU_ASSERT_STRING_EQUAL(stable, cases[i].adapter);
			/* The canonical form reads back to the same LUN. */
			CU_ASSERT_EQUAL(res(&r, stable, &q, err), 0);
			CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
		} else {
			/* scsi_hostN is as unstable as H:C:T:L: the identity is stored. */
			CU_ASSERT_EQUAL(strncmp(stable, "naa.", 4), 0);
		}
	}
	/* scsi_host5's LUN has no identity at all: scsi_hostN gives nothing to store. */
	CU_ASSERT_EQUAL(res(&r, "scsi_host5:0:1:0", &p, err), 0);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, stable, sizeof(stable)), -ENODATA);
	/* ...but the PCI form does, though the LUN has no identity. */
	CU_ASSERT_EQUAL(res(&r, "pci_0000_00_04_0:0:1:0", &p, err), 0);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, stable, sizeof(stable)), 0);
	CU_ASSERT_STRING_EQUAL(stable, "pci_0000_00_04_0:0:1:0");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, stable, 10), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(stable, "");
	fake_sysfs_destroy(&fs);
}

/* The LUN spec parser takes the options off an adapter form and leaves the form whole. */
static void test_adapter_lun_spec(void)
{
	static const struct {
		const char *text, *name;
		bool ro, raw;
	} cases[] = {
	    {"scsi_host2:0:1:0,ro", "scsi_host2:0:1:0", true, false},
	    {"pci_0000_00_1f_2/unique_id=1:0:1:0,raw", "pci_0000_00_1f_2/unique_id=1:0:1:0", false,
	     true},
	    {"pci_0000_00_1f_2:0:1:0", "pci_0000_00_1f_2:0:1:0", false, false},
	    {"fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V ":0:0:2,ro",
	     "fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V ":0:0:2", true, false},
	};
	struct pvs_spec sp;
	char err[256], back[PVS_SPEC_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(pvs_spec_parse(cases[i].text, &sp, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(sp.kind, PVS_SPEC_HOST);
		CU_ASSERT_STRING_EQUAL(sp.name, cases[i].name);
		CU_ASSERT_EQUAL(sp.ro, cases[i].ro);
		CU_ASSERT_EQUAL(sp.raw, cases[i].raw);
		CU_ASSERT_EQUAL(pvs_spec_format(&sp, back, sizeof(back)), 0);
		CU_ASSERT_STRING_EQUAL(back, cases[i].text);
	}
}

/* After a reboot every host has another number; the stable adapter forms still find their LUNs. */
static void test_adapter_host_moved(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], by_pci[256], by_fc[256];
	struct fake_scsi_host hba = {.host = 3, .pci = "0000:00:1f.2", .unique_id = "1"};
	struct fake_scsi_host vport = {.host = 4,
	                               .pci = "0000:00:03.0/host2/vport-2:0-0",
	                               .unique_id = "5",
	                               .port_name = "0x" WWPN_V,
	                               .node_name = "0x" WWNN_V};
	/* Neither LUN has an identity: without the adapter form there were nothing to store. */
	struct fake_scsi_dev disk = {.host = 3, .pci = hba.pci, .target = 1, .sg = "sg1"};
	struct fake_scsi_dev lun = {.host = 4, .pci = vport.pci, .lun = 1, .sg = "sg2"};
	struct fake_scsi_host usb = {.host = 3, .pci = "0000:00:14.0", .unique_id = "1"};
	struct fake_scsi_dev usbdisk = {.host = 3, .pci = usb.pci, .target = 1, .sg = "sg0"};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&fs), 0);
	r.sysfs_root = fs.sys;
	r.dev_root = fs.dev;
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &hba), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &vport), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&fs, &disk), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&fs, &lun), 0);
	CU_ASSERT_EQUAL(res(&r, "pci_0000_00_1f_2/unique_id=1:0:1:0", &p, err), 0);
	CU_ASSERT(p.host == 3 && p.target == 1);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, by_pci, sizeof(by_pci)), 0);
	CU_ASSERT_EQUAL(res(&r, "fc_host/wwpn=" WWPN_V ":0:0:1", &p, err), 0);
	CU_ASSERT(p.host == 4 && p.lun == 1);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, by_fc, sizeof(by_fc)), 0);
	/* The adapter alone (whole-bus and whole-target groups): its host number. */
	{
		uint32_t h = 0;

		CU_ASSERT_EQUAL(
		    pvs_resolve_adapter(&r, "pci_0000_00_1f_2/unique_id=1", &h, err, sizeof(err)),
		    0);
		CU_ASSERT_EQUAL(h, 3);
		CU_ASSERT_EQUAL(
		    pvs_resolve_adapter(&r, "fc_host/wwpn=" WWPN_V, &h, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(h, 4);
		CU_ASSERT_EQUAL(pvs_resolve_adapter(&r, "scsi_host3", &h, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(h, 3);
		CU_ASSERT_EQUAL(pvs_resolve_adapter(&r, "scsi_host99", &h, err, sizeof(err)),
		                -ENOENT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "scsi_host99"));
		CU_ASSERT_EQUAL(
		    pvs_resolve_adapter(&r, "pci_0000_00_1f_2/unique_id=7", &h, err, sizeof(err)),
		    -ENOENT);
		CU_ASSERT_EQUAL(pvs_resolve_adapter(&r, "sdb", &h, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an adapter"));
	}

	/* Reboot: a USB disk took host3; the HBA is host7, the vport host9. */
	CU_ASSERT_EQUAL(fake_sysfs_clear(&fs), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &usb), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&fs, &usbdisk), 0);
	hba.host = disk.host = 7;
	disk.sg = "sg3";
	vport.host = lun.host = 9;
	vport.pci = lun.pci = "0000:00:03.0/host8/vport-8:0-0";
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &hba), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &vport), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&fs, &disk), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&fs, &lun), 0);
	CU_ASSERT_EQUAL(res(&r, by_pci, &p, err), 0);
	CU_ASSERT(p.host == 7 && p.channel == 0 && p.target == 1 && p.lun == 0);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg3"));
	CU_ASSERT_EQUAL(res(&r, by_fc, &p, err), 0);
	CU_ASSERT(p.host == 9 && p.channel == 0 && p.target == 0 && p.lun == 1);
	/* scsi_host3 now names the USB disk: that form is only a host number. */
	CU_ASSERT_EQUAL(res(&r, "scsi_host3:0:1:0", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg0"));
	fake_sysfs_destroy(&fs);
}

static void test_adapter_errors(void)
{
	static const struct {
		const char *spec;
		int rc;
		const char *says, *looked; /* looked: what the message shows was looked at */
	} cases[] = {
	    {"scsi_host9:0:0:0", -ENOENT, "no SCSI host scsi_host9", "/class/scsi_host/host9"},
	    {"scsi_host0:0:9:0", -ENOENT, "no SCSI device 0:0:9:0", "the adapter is host0"},
	    {"pci_0000_00_09_0:0:0:0", -ENOENT, "no PCI device 0000:00:09.0",
	     "/bus/pci/devices/0000:00:09.0: No such file"},
	    {"pci_0000_00_19_0:0:0:0", -ENOENT, "PCI device 0000:00:19.0 has no SCSI host",
	     "host0: under 0000:00:1f.2; host2: under 0000:00:1f.2; host4:"},
	    /* A bridge is not the HBA behind it. */
	    {"pci_0000_00_1c_0:0:0:0", -ENOENT, "PCI device 0000:00:1c.0 has no SCSI host",
	     "host6: under 0000:02:00.0"},
	    {"pci_0000_00_1f_2/unique_id=9:0:0:0", -ENOENT,
	     "no SCSI host under PCI device 0000:00:1f.2 has unique_id 9",
	     "host4: under 0000:00:1f.2, unique_id 1"},
	    {"pci_0000_00_1f_2/unique_id=1:0:5:0", -ENOENT, "no SCSI device 4:0:5:0",
	     "the adapter is host4"},
	    {"pci_0000_00_06_0/unique_id=0:0:0:0", -ENOTUNIQ,
	     "2 SCSI hosts under PCI device 0000:00:06.0 have unique_id 0 (host10, host11)",
	     "host11: under 0000:00:06.0, unique_id 0"},
	    {"pci_0000_00_06_0:0:0:0", -ENOTUNIQ,
	     "2 SCSI hosts under PCI device 0000:00:06.0 have unique_id 0", "host10"},
	    {"pci_0000_00_07_0:0:0:0", -ENOENT,
	     "no SCSI host under PCI device 0000:00:07.0 has a readable unique_id",
	     "host12: under 0000:00:07.0, no readable unique_id"},
	    {"fc_host/wwpn=5001a4aabbccdd99:0:0:2", -ENOENT, "no FC host has WWPN 5001a4aabbccdd99",
	     "host8: port_name " WWPN_V ", node_name " WWNN_V},
	    {"fc_host/wwpn=" WWPN_V "/wwnn=5001a4aabbccdd77:0:0:2", -ENOENT,
	     "the FC host with WWPN " WWPN_V " (host8) has WWNN " WWNN_V ", not 5001a4aabbccdd77",
	     "/class/fc_host"},
	    {"fc_host/wwpn=" WWPN_V ":0:0:3", -ENOENT, "no SCSI device 8:0:0:3",
	     "the adapter is host8"},
	    /* Malformed. */
	    {"scsi_host:0:0:0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_hostx:0:0:0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host0:0:0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host0:0:0:0:0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host0:0:0:x", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host0:0:0:", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"scsi_host4294967296:0:0:0", -ERANGE, "over 4294967295", NULL},
	    {"scsi_host0:0:0:4294967296", -ERANGE, "over 4294967295", NULL},
	    {"scsi_host4294967296:0:0", -EINVAL, "expected scsi_hostN:B:T:U", NULL},
	    {"pci_0000_00_1f:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_8:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_20_0:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_000_00_1f_2:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_000000000_00_1f_2:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_0_1f_2:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1g_2:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000:00:1f.2:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_2", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_2/unique_id=:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_2/unique_id=1x:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_2/uid=1:0:0:0", -EINVAL, "expected pci_DDDD_BB_SS_F", NULL},
	    {"pci_0000_00_1f_2/unique_id=4294967296:0:0:0", -ERANGE, "over 4294967295", NULL},
	    {"fc_host:0:0:2", -EINVAL, "expected fc_host/wwpn=W[/wwnn=W]:B:T:U", NULL},
	    {"fc_host/:0:0:2", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=:0:0:2", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=0x:0:0:2", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=5001a4aabbccdd0:0:0:2", -EINVAL, "16 hex digits", NULL},
	    {"fc_host/wwpn=5001a4aabbccdd0g:0:0:2", -EINVAL, "16 hex digits", NULL},
	    {"fc_host/wwpn=5001a4aabbccdd011:0:0:2", -EINVAL, "16 hex digits", NULL},
	    {"fc_host/wwnn=" WWNN_V ":0:0:2", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=" WWPN_V "/wwpn=" WWPN_V ":0:0:2", -EINVAL, "expected fc_host/wwpn=W",
	     NULL},
	    {"fc_host/wwpn=" WWPN_V "/wwnn=" WWNN_V "/x=1:0:0:2", -EINVAL,
	     "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=" WWPN_V "/:0:0:2", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=" WWPN_V, -EINVAL, "expected fc_host/wwpn=W", NULL},
	    {"fc_host/wwpn=" WWPN_V ":0:0:2:7", -EINVAL, "expected fc_host/wwpn=W", NULL},
	    /* Options belong to the LUN spec (pvscsi/spec.h), not to the p-dev. */
	    {"fc_host/wwpn=" WWPN_V ":0:0:2,ro", -EINVAL, "expected fc_host/wwpn=W", NULL},
	};
	const struct fake_scsi_host more[] = {
	    {.host = 10, .pci = "0000:00:06.0", .unique_id = "0"},
	    {.host = 11, .pci = "0000:00:06.0", .unique_id = "0"},
	    {.host = 12, .pci = "0000:00:07.0"},
	    {.host = 13, .pci = "0000:00:07.0", .unique_id = "junk"},
	};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[4096], want[2 * PATH_MAX];

	adapter_tree(&fs, &r);
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&fs, &more[i]), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pvs_resolve(&r, cases[i].spec, &p, err, sizeof(err));

		if (rc != cases[i].rc)
			fprintf(stderr, "\n'%s' -> %d: %s\n", cases[i].spec, rc, err);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		snprintf(want, sizeof(want), "p-dev '%s': ", cases[i].spec);
		ASSERT_HAS(err, want);
		ASSERT_HAS(err, cases[i].says);
		if (cases[i].looked)
			ASSERT_HAS(err, cases[i].looked);
		CU_ASSERT_STRING_EQUAL(p.adapter, "");
	}
	fake_sysfs_destroy(&fs);

	/* No FC transport at all (scsi_transport_fc not loaded): no class directory. */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&fs), 0);
	r.sysfs_root = fs.sys;
	r.dev_root = fs.dev;
	CU_ASSERT_EQUAL(res(&r, "fc_host/wwpn=" WWPN_V ":0:0:2", &p, err), -ENOENT);
	ASSERT_HAS(err, "no FC host has WWPN " WWPN_V " (no FC hosts at all)");
	snprintf(want, sizeof(want), "%s/class/fc_host: No such file or directory", fs.sys);
	ASSERT_HAS(err, want);
	fake_sysfs_destroy(&fs);
}

/* --- identities, migration ------------------------------------------------------ */

static void test_host_renumbered(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], spec[512], spec2[512];
	struct fake_scsi_dev other = {.host = 0,
	                              .type = 0,
	                              .wwid = "naa.6001405cccccccccccccccccccccccc2",
	                              .sg = "sg0",
	                              .block = "sda"};
	struct fake_scsi_dev moved = {.host = 3,
	                              .channel = 0,
	                              .target = 0,
	                              .lun = 0,
	                              .type = 0,
	                              .wwid = NAA_A,
	                              .sg = "sg5",
	                              .block = "sdc"};
	struct fake_scsi_dev byid_only = {.host = 4,
	                                  .target = 2,
	                                  .lun = 1,
	                                  .type = 0,
	                                  .sg = "sg6",
	                                  .block = "sdd",
	                                  .by_id = "usb-Generic_Flash_123-0:1"};

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(res(&r, "/dev/sda", &p, err), 0);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), 0);
	CU_ASSERT_STRING_EQUAL(spec, NAA_A ":0");

	/* "Reboot" (or the migration target): another disk took host 0 and sg0. */
	CU_ASSERT_EQUAL(fake_sysfs_clear(&fs), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &other), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &moved), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &byid_only), 0);
	CU_ASSERT_EQUAL(res(&r, spec, &p, err), 0);
	CU_ASSERT(p.host == 3 && p.channel == 0 && p.target == 0 && p.lun == 0);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg5"));
	CU_ASSERT_STRING_EQUAL(p.block, dpath(&fs, "sdc"));
	CU_ASSERT_STRING_EQUAL(p.wwid, NAA_A);
	/* ...which is exactly why H:C:T:L is not stored: it now names the other disk. */
	CU_ASSERT_EQUAL(res(&r, "0:0:0:0", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "naa.6001405cccccccccccccccccccccccc2");

	/* Without any identity, the by-id path is the stable spec. */
	CU_ASSERT_EQUAL(res(&r, "/dev/sg6", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.by_id, dpath(&fs, "disk/by-id/usb-Generic_Flash_123-0:1"));
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec2, sizeof(spec2)), 0);
	CU_ASSERT_STRING_EQUAL(spec2, "/dev/disk/by-id/usb-Generic_Flash_123-0:1");
	CU_ASSERT_EQUAL(fake_sysfs_clear(&fs), 0);
	byid_only.host = 7;
	byid_only.sg = "sg2";
	byid_only.block = "sdb";
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &byid_only), 0);
	CU_ASSERT_EQUAL(res(&r, spec2, &p, err), 0);
	CU_ASSERT(p.host == 7 && p.channel == 0 && p.target == 2 && p.lun == 1);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg2"));
	/* The old identity is gone now. */
	CU_ASSERT_EQUAL(res(&r, spec, &p, err), -ENOENT);
	fake_sysfs_destroy(&fs);
}

static void test_stable_spec(void)
{
	struct pvs_pdev p;
	char buf[256];

	memset(&p, 0, sizeof(p));
	p.lun = 3;
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), -ENODATA);
	CU_ASSERT_STRING_EQUAL(buf, "");
	strcpy(p.wwid, NAA_A_UC);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, NAA_A ":3");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, strlen(NAA_A ":3")), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, strlen(NAA_A ":3") + 1), 0);
	strcpy(p.wwid, EUI_B);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, EUI_B ":3");
	strcpy(p.wwid, "t10.ATA     QEMU HARDDISK   QM00001 ");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "wwid:t10.ATA     QEMU HARDDISK   QM00001 ");
	/* A SCSI name string that looks like naa. but is not an NAA: taken literally. */
	strcpy(p.wwid, "naa.60014");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "wwid:naa.60014");
	p.wwid[0] = '\0';
	strcpy(p.target_wwid, NAA_B);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, NAA_B ":3");
	p.target_wwid[0] = '\0';
	strcpy(p.by_id, "/tmp/x/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(NULL, buf, sizeof(buf)), -ENODATA);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, NULL, 0), -ENOSPC);
	/* A blank T10 identity names nothing: the by-id path, or no stable spec at all. */
	strcpy(p.wwid, "t10.                        ");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001");
	p.by_id[0] = '\0';
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), -ENODATA);
	strcpy(p.wwid, "   ");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, buf, sizeof(buf)), -ENODATA);
}

/* sysfs wwid "t10." and blanks (and a VPD page whose only designator is blank) is no identity. */
static void test_blank_identity(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048], spec[512];
	uint8_t vb[64], vn[64];
	const struct din blank[] = {{2, 0, 1, "                        ", 24}};
	static const uint8_t naa_c[8] = {0x50, 0x01, 0x40, 0x5c, 0xcc, 0xcc, 0xcc, 0xcc};
	const struct din with_naa[] = {{1, 0, 3, naa_c, 8}};
	struct fake_scsi_dev sysfs_blank = {
	    .host = 2, .type = 0, .wwid = "t10.                        ", .sg = "sg3"};
	struct fake_scsi_dev vpd_blank = {.host = 2,
	                                  .target = 1,
	                                  .type = 0,
	                                  .vpd83 = vb,
	                                  .vpd83_len = vpd_build(vb, blank, 1),
	                                  .sg = "sg4"};
	struct fake_scsi_dev blank_but_naa = {.host = 2,
	                                      .target = 2,
	                                      .type = 0,
	                                      .wwid = "t10.   ",
	                                      .vpd83 = vn,
	                                      .vpd83_len = vpd_build(vn, with_naa, 1),
	                                      .sg = "sg5"};

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &sysfs_blank), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &vpd_blank), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &blank_but_naa), 0);
	CU_ASSERT_EQUAL_FATAL(res(&r, "/dev/sg3", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), -ENODATA);
	CU_ASSERT_EQUAL_FATAL(res(&r, "/dev/sg4", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), -ENODATA);
	/* The blank sysfs wwid does not hide a real designator in the VPD page. */
	CU_ASSERT_EQUAL_FATAL(res(&r, "/dev/sg5", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "naa.5001405ccccccccc");
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), 0);
	CU_ASSERT_STRING_EQUAL(spec, "naa.5001405ccccccccc:0");
	CU_ASSERT_EQUAL(res(&r, spec, &p, err), 0);
	CU_ASSERT_EQUAL(p.target, 2);
	fake_sysfs_destroy(&fs);
}

/*
 * A host attribute longer than its INQUIRY field is cut to the field, and
 * the cut must not leave blanks at the end (found by resolve_fuzz).
 */
static void test_inquiry_strings_cut(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];
	struct fake_scsi_dev d = {.host = 2,
	                          .type = 5,
	                          .vendor = "ACME    \tTAIL",
	                          .model = "CD-ROM DRIVE   \t   MORE",
	                          .rev = "1   XY",
	                          .sg = "sg3"};

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &d), 0);
	CU_ASSERT_EQUAL_FATAL(res(&r, "/dev/sg3", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.vendor, "ACME");
	CU_ASSERT_STRING_EQUAL(p.model, "CD-ROM DRIVE");
	CU_ASSERT_STRING_EQUAL(p.rev, "1");
	fake_sysfs_destroy(&fs);
}

static void test_stable_spec_round_trip(void)
{
	static const char *const specs[] = {"/dev/sda", "/dev/st0", "/dev/sg3", "/dev/sg4"};
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p, q;
	char err[2048], spec[PVS_PDEV_ID_MAX + 32];
	uint8_t vt[64], vtgt[64];
	const struct din dt[] = {{2, 0, 1, "ATA     QEMU HARDDISK   QM00001 ", 32}};
	static const uint8_t naa_t[8] = {0x50, 0x01, 0x40, 0x5e, 0xee, 0xee, 0xee, 0xee};
	const struct din dtg[] = {{1, 2, 3, naa_t, 8}};
	struct fake_scsi_dev t10 = {
	    .host = 2, .type = 0, .vpd83 = vt, .vpd83_len = vpd_build(vt, dt, 1), .sg = "sg3"};
	struct fake_scsi_dev tgt = {.host = 2,
	                            .target = 4,
	                            .lun = 9,
	                            .type = 0,
	                            .vpd83 = vtgt,
	                            .vpd83_len = vpd_build(vtgt, dtg, 1),
	                            .sg = "sg4"};
	const char *const want[] = {NAA_A ":0", NAA_B ":0",
	                            "wwid:t10.ATA     QEMU HARDDISK   QM00001 ",
	                            "naa.5001405eeeeeeeee:9"};

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &t10), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &tgt), 0);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(res(&r, specs[i], &p, err), 0);
		CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), 0);
		CU_ASSERT_STRING_EQUAL(spec, want[i]);
		CU_ASSERT_EQUAL(res(&r, spec, &q, err), 0);
		CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
	}
	/* The T10 one also resolves with its padding lost in a config file. */
	CU_ASSERT_EQUAL(res(&r, "t10.ATA     QEMU HARDDISK   QM00001", &q, err), 0);
	CU_ASSERT_EQUAL(q.host, 2);
	/* No identity and no by-id: nothing stable to store. */
	CU_ASSERT_EQUAL(res(&r, "/dev/sr0", &p, err), 0);
	CU_ASSERT_EQUAL(pvs_pdev_stable_spec(&p, spec, sizeof(spec)), -ENODATA);
	fake_sysfs_destroy(&fs);
}

static void test_multipath_ambiguous(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];
	struct fake_scsi_dev p1 = {.host = 0,
	                           .target = 3,
	                           .lun = 5,
	                           .type = 0,
	                           .wwid = "naa.600140500000000000000000000000bb",
	                           .sg = "sg7",
	                           .block = "sdh",
	                           .pci = "0000:00:06.0"};
	struct fake_scsi_dev p2 = {.host = 1,
	                           .target = 3,
	                           .lun = 5,
	                           .type = 0,
	                           .wwid = "naa.600140500000000000000000000000bb",
	                           .sg = "sg8",
	                           .block = "sdi",
	                           .pci = "0000:00:07.0"};

	std_tree(&fs, &r);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &p1), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &p2), 0);
	CU_ASSERT_EQUAL(res(&r, "naa.600140500000000000000000000000bb:5", &p, err), -ENOTUNIQ);
	ASSERT_HAS(err, "ambiguous");
	ASSERT_HAS(err, "2 SCSI devices");
	ASSERT_HAS(err, "0:0:3:5, 1:0:3:5");
	ASSERT_HAS(err, "multipath");
	CU_ASSERT_EQUAL(p.host, 0);
	CU_ASSERT_STRING_EQUAL(p.sg, "");
	CU_ASSERT_EQUAL(res(&r, "wwid:naa.600140500000000000000000000000bb", &p, err), -ENOTUNIQ);
	CU_ASSERT_EQUAL(res(&r, "naa.600140500000000000000000000000BB", &p, err), -ENOTUNIQ);
	/* A LUN the identity does not have. */
	CU_ASSERT_EQUAL(res(&r, "naa.600140500000000000000000000000bb:4", &p, err), -ENOENT);
	ASSERT_HAS(err, "whose LUN is not 4");
	/* One path named directly is fine. */
	CU_ASSERT_EQUAL(res(&r, "/dev/sg8", &p, err), 0);
	CU_ASSERT(p.host == 1 && p.target == 3 && p.lun == 5);
	fake_sysfs_destroy(&fs);
}

static void test_lun_selects(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];
	uint8_t pg[64];
	const struct din d[] = {{1, 2, 3, naa_a_bytes, 16}, {1, 1, 3, naa_port, 16}};
	size_t n = vpd_build(pg, d, 2);
	/* Only a target-device designator: naa.X names the target, :LUN one of its LUNs. */
	struct fake_scsi_dev l0 = {.host = 2, .type = 0, .vpd83 = pg, .vpd83_len = n, .sg = "sg3"};
	struct fake_scsi_dev l1 = {
	    .host = 2, .lun = 1, .type = 0, .vpd83 = pg, .vpd83_len = n, .sg = "sg4"};
	/* A device reporting one LU identity for all its LUNs (some USB bridges). */
	struct fake_scsi_dev u0 = {
	    .host = 5, .type = 0, .wwid = "eui.00000000000000aa", .sg = "sg5"};
	struct fake_scsi_dev u1 = {
	    .host = 5, .lun = 1, .type = 0, .wwid = "eui.00000000000000aa", .sg = "sg6"};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&fs), 0);
	r.sysfs_root = fs.sys;
	r.dev_root = fs.dev;
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &l0), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &l1), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &u0), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &u1), 0);

	CU_ASSERT_EQUAL(res(&r, NAA_A ":1", &p, err), 0);
	CU_ASSERT(p.host == 2 && p.lun == 1);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg4"));
	CU_ASSERT_STRING_EQUAL(p.wwid, "");
	CU_ASSERT_STRING_EQUAL(p.target_wwid, NAA_A);
	CU_ASSERT_EQUAL(res(&r, NAA_A ":0", &p, err), 0);
	CU_ASSERT(p.host == 2 && p.lun == 0);
	CU_ASSERT_EQUAL(res(&r, NAA_A, &p, err), -ENOTUNIQ);
	ASSERT_HAS(err, "names a target with 2 LUNs (2:0:0:0, 2:0:0:1); add :LUN");
	CU_ASSERT_EQUAL(res(&r, NAA_A ":7", &p, err), -ENOENT);
	ASSERT_HAS(err, "has no LUN 7");
	/* Target-port designators are not identities of anything we pass. */
	CU_ASSERT_EQUAL(res(&r, "naa.60ffffffffffffffffffffffffffffff:0", &p, err), -ENOENT);

	CU_ASSERT_EQUAL(res(&r, "eui.00000000000000aa:1", &p, err), 0);
	CU_ASSERT(p.host == 5 && p.lun == 1);
	CU_ASSERT_EQUAL(res(&r, "eui.00000000000000aa:0", &p, err), 0);
	CU_ASSERT(p.host == 5 && p.lun == 0);
	CU_ASSERT_EQUAL(res(&r, "eui.00000000000000aa", &p, err), -ENOTUNIQ);
	fake_sysfs_destroy(&fs);
}

static void test_vpd_in_sysfs(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];
	uint8_t good[64], cut[64], bad[64];
	const struct din d[] = {{2, 0, 1, "T10VENDR", 8}, {1, 0, 3, naa_a_bytes, 16}};
	size_t n = vpd_build(good, d, 2);
	struct fake_scsi_dev a = {
	    .host = 0, .type = 0, .vpd83 = cut, .vpd83_len = n - 3, .sg = "sg0"};
	struct fake_scsi_dev b = {.host = 1, .type = 0, .vpd83 = bad, .vpd83_len = n, .sg = "sg1"};
	struct fake_scsi_dev c = {.host = 2,
	                          .type = 0,
	                          .vpd83 = good,
	                          .vpd83_len = n,
	                          .wwid = "t10.T10VENDR",
	                          .sg = "sg2"};

	memcpy(cut, good, n);
	memcpy(bad, good, n);
	bad[1] = 0x80;
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&fs), 0);
	r.sysfs_root = fs.sys;
	r.dev_root = fs.dev;
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &a), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &b), 0);
	CU_ASSERT_EQUAL(fake_sysfs_add_scsi(&fs, &c), 0);
	/* Truncated page: what precedes the cut is used. */
	CU_ASSERT_EQUAL(res(&r, "sg0", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "t10.T10VENDR");
	/* Not a 0x83 page: no identity, but the device itself still resolves. */
	CU_ASSERT_EQUAL(res(&r, "sg1", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "");
	/* sysfs wwid wins over the page when the kernel gives it. */
	CU_ASSERT_EQUAL(res(&r, "sg2", &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.wwid, "t10.T10VENDR");
	/* ...yet the NAA in the page still names the device. */
	CU_ASSERT_EQUAL(res(&r, NAA_A ":0", &p, err), 0);
	CU_ASSERT_EQUAL(p.host, 2);
	fake_sysfs_destroy(&fs);
}

/* Real device nodes in a fake /dev: the number decides, not the name. */
static void test_rdev_beats_name(void)
{
	struct fake_sysfs fs;
	struct pvs_resolver r;
	struct pvs_pdev p;
	char err[2048];

	std_tree(&fs, &r);
	if (mknod(dpath(&fs, "sdz"), S_IFBLK | 0600, makedev(8, 0))) {
		fprintf(stderr, "\n  skipped: mknod: %s\n", strerror(errno));
		fake_sysfs_destroy(&fs);
		return;
	}
	CU_ASSERT_EQUAL(mknod(dpath(&fs, "weird-name"), S_IFCHR | 0600, makedev(21, 1)), 0);
	CU_ASSERT_EQUAL(mknod(dpath(&fs, "sdy"), S_IFBLK | 0600, makedev(8, 240)), 0);
	CU_ASSERT_EQUAL(mknod(dpath(&fs, "sdx"), S_IFBLK | 0600, makedev(8, 2)), 0);
	CU_ASSERT_EQUAL(unlink(dpath(&fs, "null")), 0);
	CU_ASSERT_EQUAL(mknod(dpath(&fs, "null"), S_IFCHR | 0600, makedev(1, 3)), 0);
	CU_ASSERT_EQUAL(unlink(dpath(&fs, "vda")), 0);
	CU_ASSERT_EQUAL(mknod(dpath(&fs, "vda"), S_IFBLK | 0600, makedev(254, 0)), 0);

	CU_ASSERT_EQUAL(res(&r, "/dev/sdz", &p, err), 0);
	check_a(&fs, &p);
	CU_ASSERT_EQUAL(res(&r, "/dev/weird-name", &p, err), 0);
	CU_ASSERT(p.host == 0 && p.target == 1 && p.lun == 0);
	CU_ASSERT_STRING_EQUAL(p.sg, dpath(&fs, "sg1"));
	CU_ASSERT_EQUAL(res(&r, "/dev/sdy", &p, err), -ENODEV);
	ASSERT_HAS(err, "block device 8:240");
	ASSERT_HAS(err, "/dev/block/8:240");
	CU_ASSERT_EQUAL(res(&r, "/dev/sdx", &p, err), -EINVAL);
	ASSERT_HAS(err, "partition sda2");
	CU_ASSERT_EQUAL(res(&r, "/dev/null", &p, err), -ENODEV);
	ASSERT_HAS(err, "not a SCSI device");
	ASSERT_HAS(err, "devices/virtual/mem/null has no device link");
	CU_ASSERT_EQUAL(res(&r, "/dev/vda", &p, err), -ENODEV);
	ASSERT_HAS(err, "not a SCSI device (its device is ");
	ASSERT_HAS(err, "/virtio1)");
	fake_sysfs_destroy(&fs);
}

/* --- the real /sys and /dev of this machine -------------------------------------- */

static void test_real_non_scsi(void)
{
	struct pvs_pdev p;
	char err[2048], tmpl[] = "/tmp/pvs-resolve-ut-XXXXXX";
	struct stat st;
	int fd;

	/* NULL roots: the real /sys and /dev, through the device-number path. */
	CU_ASSERT_EQUAL(pvs_resolve(NULL, "/dev/null", &p, err, sizeof(err)), -ENODEV);
	ASSERT_HAS(err, "not a SCSI device");
	ASSERT_HAS(err, "/sys/dev/char/1:3");
	if (stat("/dev/vda", &st) == 0 && S_ISBLK(st.st_mode)) {
		CU_ASSERT_EQUAL(pvs_resolve(NULL, "/dev/vda", &p, err, sizeof(err)), -ENODEV);
		ASSERT_HAS(err, "not a SCSI device");
	}
	fd = mkstemp(tmpl);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(pvs_resolve(NULL, tmpl, &p, err, sizeof(err)), -ENODEV);
	ASSERT_HAS(err, "not a device node");
	unlink(tmpl);
	CU_ASSERT_EQUAL(pvs_resolve(NULL, "/dev/pvs-no-such-node", &p, err, sizeof(err)), -ENOENT);
}

/* With scsi_debug loaded (modprobe scsi_debug), every form agrees on the real device. */
static void test_real_scsi_debug(void)
{
	DIR *d = opendir("/sys/class/scsi_device");
	struct dirent *e;
	char hctl[NAME_MAX + 1] = "", path[2 * PATH_MAX], model[64];
	struct pvs_pdev p, q;
	char err[2048], spec[PVS_PDEV_ID_MAX + 32];

	while (d && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/scsi_device/%s/device/model", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(model, sizeof(model), f) && strncmp(model, "scsi_debug", 10) == 0)
			snprintf(hctl, sizeof(hctl), "%s", e->d_name);
		fclose(f);
		if (hctl[0])
			break;
	}
	if (d)
		closedir(d);
	if (!hctl[0]) {
		fprintf(stderr, "\n  skipped: no scsi_debug device in /sys/class/scsi_device\n");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(pvs_resolve(NULL, hctl, &p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(p.vendor, "Linux");
	CU_ASSERT_STRING_EQUAL(p.model, "scsi_debug");
	CU_ASSERT_EQUAL(strncmp(p.sg, "/dev/sg", 7), 0);
	CU_ASSERT_EQUAL(pvs_resolve(NULL, p.sg, &q, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
	if (p.block[0]) {
		CU_ASSERT_EQUAL(pvs_resolve(NULL, p.block, &q, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
	}
	if (pvs_pdev_stable_spec(&p, spec, sizeof(spec)) == 0) {
		int rc = pvs_resolve(NULL, spec, &q, err, sizeof(err));

		/* scsi_debug gives every device of one host the same NAA unless told otherwise. */
		CU_ASSERT(rc == 0 || rc == -ENOTUNIQ);
		if (rc == 0)
			CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);
	}
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"hctl_valid", test_hctl_valid},
	    {"hctl_invalid", test_hctl_invalid},
	    {"vpd_prefers_naa", test_vpd_prefers_naa},
	    {"vpd_each_kind", test_vpd_each_kind},
	    {"vpd_malformed", test_vpd_malformed},
	    {"vpd_longest_t10", test_vpd_longest_t10},
	    {"vpd_random", test_vpd_random},
	    {"forms_disk", test_forms_disk},
	    {"forms_tape_cd", test_forms_tape_cd},
	    {"partition_refused", test_partition_refused},
	    {"non_scsi_refused", test_non_scsi_refused},
	    {"unknown_refused", test_unknown_refused},
	    {"malformed_specs", test_malformed_specs},
	    {"host_renumbered", test_host_renumbered},
	    {"stable_spec", test_stable_spec},
	    {"a blank identity is none", test_blank_identity},
	    {"INQUIRY strings cut to their fields end in no blank", test_inquiry_strings_cut},
	    {"stable_spec_round_trip", test_stable_spec_round_trip},
	    {"multipath_ambiguous", test_multipath_ambiguous},
	    {"lun_selects", test_lun_selects},
	    {"vpd_in_sysfs", test_vpd_in_sysfs},
	    {"rdev_beats_name", test_rdev_beats_name},
	    {"adapter_forms", test_adapter_forms},
	    {"adapter_lun_spec", test_adapter_lun_spec},
	    {"adapter_host_moved", test_adapter_host_moved},
	    {"adapter_errors", test_adapter_errors},
	    {"real_non_scsi", test_real_non_scsi},
	    {"real_scsi_debug", test_real_scsi_debug},
	};

	return CU_RUN("resolve", tests);
}
