/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * resolve_fuzz.c - p-dev resolution (libpvscsi/resolve.c) of any p-dev
 * string, against a fake /sys and /dev (tests/fakes/fake_sysfs) whose
 * attributes hold what the input says: the 'wwid', 'vpd_pg83', 'type',
 * 'vendor', 'model' and 'rev' of its devices are what a host device (or its
 * firmware) reports, so the resolver treats them as outside input.
 *
 * The tree, made once: A 0:0:0:0 disk (sg0, sda with two partitions, by-id
 * and by-path links), B 0:0:1:0 tape (st0, nst0, sg1), C 2:0:0:3 CD (sr0,
 * sg2), D 3:0:0:1 disk (sdb, sg3, no identity), a virtio disk, a
 * device-mapper disk with a by-id link and /dev/null; hosts 0, 2 and 3 all
 * under PCI device 0000:00:05.0 with unique_ids 0, 1 and 2, host 3 an FC
 * host.  Each input first writes (or removes) the attributes of A, B, C
 * and D, then reads a spec: any string, or one of the accepted forms (/dev
 * paths, bare names, H:C:T:L, naa./eui./t10./wwid: identities with or
 * without a LUN, scsi_hostN, pci_... and fc_host/... adapters) followed by
 * bytes of the input; then it may rewrite the hosts' unique_id, port_name
 * and node_name, and resolves the spec.
 *
 * Checked: the answer is 0 or one of the documented errors; on failure
 * the p-dev is zeroed and the message is one terminated line naming what
 * was asked; on success the nodes lie in the fake /dev, the INQUIRY strings
 * are terminated without trailing blanks, the type is -1 or a peripheral
 * type; and the stable spec of what was found resolves again to the same
 * H:C:T:L (or says the identity is not unique).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fake_sysfs.h"
#include "fz.h"
#include "pvscsi/resolve.h"

#define PCI "sys/devices/pci0000:00/0000:00:05.0"

static struct fake_sysfs fs;
static struct pvs_resolver res;

static const char *const dirs[4] = {
    PCI "/host0/target0:0:0/0:0:0:0",
    PCI "/host0/target0:0:1/0:0:1:0",
    PCI "/host2/target2:0:0/2:0:0:3",
    PCI "/host3/target3:0:0/3:0:0:1",
};

/* The hosts' own attributes, which their drivers (or an FC fabric) set. */
#define NHATTR 5
static const char *const hattrs[NHATTR] = {
    PCI "/host0/scsi_host/host0/unique_id", PCI "/host2/scsi_host/host2/unique_id",
    PCI "/host3/scsi_host/host3/unique_id", PCI "/host3/fc_host/host3/port_name",
    PCI "/host3/fc_host/host3/node_name",
};

/*
 * The attributes as the tree was made, to put back before each input (a
 * crash must reproduce from its input alone): content, or absent.  The
 * devices' first (4 * NATTR), then the hosts'.
 */
#define NATTR 6
static const char *const names[NATTR] = {"wwid", "vpd_pg83", "type", "vendor", "model", "rev"};
static struct {
	uint8_t data[4096];
	ssize_t len; /* -1: absent */
	bool dirty;
} base[4 * NATTR + NHATTR];

static void attr_path(unsigned int i, char *path, size_t len)
{
	if (i < 4 * NATTR)
		snprintf(path, len, "%s/%s", dirs[i / NATTR], names[i % NATTR]);
	else
		snprintf(path, len, "%s", hattrs[i - 4 * NATTR]);
}

static void destroy(void)
{
	fake_sysfs_destroy(&fs);
}

static void setup_once(void)
{
	static const uint8_t naa[] = {0x00, 0x83, 0x00, 0x14, 0x01, 0x03, 0x00, 0x10,
	                              0x60, 0x01, 0x40, 0x5a, 0xaa, 0xaa, 0xaa, 0xaa,
	                              0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xa1};
	const struct fake_scsi_dev devs[] = {
	    {.host = 0,
	     .type = 0,
	     .wwid = "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	     .vpd83 = naa,
	     .vpd83_len = sizeof(naa),
	     .sg = "sg0",
	     .block = "sda",
	     .partitions = 2,
	     .by_id = "scsi-36001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	     .by_path = "pci-0000:00:05.0-scsi-0:0:0:0"},
	    {.host = 0,
	     .target = 1,
	     .type = 1,
	     .vpd83 = naa,
	     .vpd83_len = sizeof(naa),
	     .sg = "sg1",
	     .tape = "st0"},
	    {.host = 2, .lun = 3, .type = 5, .wwid = "t10.QEMU CD", .sg = "sg2", .block = "sr0"},
	    {.host = 3, .lun = 1, .type = 0, .sg = "sg3", .block = "sdb"},
	};
	const struct fake_scsi_host hosts[] = {
	    {.host = 0, .unique_id = "0"},
	    {.host = 2, .unique_id = "1"},
	    {.host = 3,
	     .unique_id = "2",
	     .port_name = "0x5001a4aabbccdd01",
	     .node_name = "0x5001a4aabbccdd00"},
	};

	if (fs.root[0])
		return;
	if (fake_sysfs_create(&fs))
		abort();
	atexit(destroy);
	for (unsigned int i = 0; i < 4; i++)
		if (fake_sysfs_add_scsi(&fs, &devs[i]))
			abort();
	for (unsigned int i = 0; i < 3; i++)
		if (fake_sysfs_add_host(&fs, &hosts[i]))
			abort();
	if (fake_sysfs_add_virtio_blk(&fs, "vda", 0) ||
	    fake_sysfs_add_dm(&fs, 0, "dm-name-vg-lv") ||
	    fake_sysfs_add_virtual_char(&fs, "null", 1, 3))
		abort();
	res.sysfs_root = fs.sys;
	res.dev_root = fs.dev;
	for (unsigned int i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		char path[512], abs[PATH_MAX + 600];
		FILE *f;

		attr_path(i, path, sizeof(path));
		snprintf(abs, sizeof(abs), "%s/%s", fs.root, path);
		f = fopen(abs, "rb");
		base[i].len = f ? (ssize_t)fread(base[i].data, 1, 4096, f) : -1;
		if (f)
			fclose(f);
	}
}

static void restore(void)
{
	for (unsigned int i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		char path[512], abs[PATH_MAX + 600];

		if (!base[i].dirty)
			continue;
		base[i].dirty = false;
		attr_path(i, path, sizeof(path));
		snprintf(abs, sizeof(abs), "%s/%s", fs.root, path);
		if (base[i].len < 0)
			unlink(abs);
		else if (fake_sysfs_write(&fs, path, base[i].data, (size_t)base[i].len))
			abort();
	}
}

/* Attribute @i (attr_path()): bytes of the input, or gone. */
static void attr(struct fz *f, unsigned int i)
{
	char path[512];
	uint8_t buf[4096];
	uint16_t len = fz_u16(f);

	base[i].dirty = true;
	attr_path(i, path, sizeof(path));
	if (len == 0xffff) {
		char abs[PATH_MAX + 600];

		snprintf(abs, sizeof(abs), "%s/%s", fs.root, path);
		unlink(abs);
		return;
	}
	len = (uint16_t)fz_bytes(f, buf, len % sizeof(buf));
	if (fake_sysfs_write(&fs, path, buf, len))
		abort();
}

static void spec_of(struct fz *f, char *spec, size_t len)
{
	static const char *const forms[] = {
	    "",
	    "/dev/",
	    "/dev/sg",
	    "/dev/sda",
	    "/dev/disk/by-id/",
	    "/dev/disk/by-path/",
	    "/dev/bsg/",
	    "sg",
	    "st",
	    "nst",
	    "sr",
	    "0:0:",
	    "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	    "naa.",
	    "eui.",
	    "t10.",
	    "wwid:",
	    "wwid:t10.QEMU CD",
	    "scsi_host",
	    "pci_0000_00_05_0",
	    "pci_0000_00_05_0/unique_id=",
	    "fc_host/wwpn=",
	    "fc_host/wwpn=5001a4aabbccdd01",
	};
	const char *form = forms[fz_u8(f) % (sizeof(forms) / sizeof(forms[0]))];
	size_t n = strlen(form);

	memcpy(spec, form, n);
	fz_str(f, spec + n, len - n);
}

static void check_ok(const struct pvs_pdev *p)
{
	size_t dl = strlen(fs.dev);

	FZ_CHECK(!p->sg[0] || (!strncmp(p->sg, fs.dev, dl) && p->sg[dl] == '/'), "sg '%s'", p->sg);
	FZ_CHECK(!p->block[0] || (!strncmp(p->block, fs.dev, dl) && p->block[dl] == '/'),
	         "block '%s'", p->block);
	FZ_CHECK(p->type >= -1 && p->type <= 0x1f, "type %d", p->type);
	FZ_CHECK(memchr(p->vendor, 0, sizeof(p->vendor)) && memchr(p->model, 0, sizeof(p->model)) &&
	             memchr(p->rev, 0, sizeof(p->rev)) && memchr(p->wwid, 0, sizeof(p->wwid)) &&
	             memchr(p->target_wwid, 0, sizeof(p->target_wwid)) &&
	             memchr(p->by_id, 0, sizeof(p->by_id)) &&
	             memchr(p->adapter, 0, sizeof(p->adapter)),
	         "a string not terminated");
	FZ_CHECK(!p->adapter[0] || !strncmp(p->adapter, "pci_", 4) ||
	             !strncmp(p->adapter, "fc_host/", 8),
	         "adapter '%s'", p->adapter);
	FZ_CHECK(!p->vendor[0] || p->vendor[strlen(p->vendor) - 1] != ' ', "vendor '%s'",
	         p->vendor);
	FZ_CHECK(!p->model[0] || p->model[strlen(p->model) - 1] != ' ', "model '%s'", p->model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[1200], err[2048], stable[PVS_PDEV_ID_MAX + 64];
	struct pvs_pdev p, q;
	struct fz f;
	uint8_t which;
	int rc;

	setup_once();
	restore();
	fz_init(&f, data, size);
	/* The attributes this input sets; the others keep the tree's values. */
	which = fz_u8(&f);
	for (unsigned int d = 0; d < 4; d++)
		for (unsigned int a = 0; a < 6; a++)
			if ((which >> (d * 2)) & 1 && (a < 2 || (which >> (d * 2 + 1)) & 1))
				attr(&f, d * NATTR + a);
	spec_of(&f, spec, sizeof(spec));
	/* After the spec, so that inputs written before the hosts had attributes keep them. */
	which = fz_u8(&f);
	for (unsigned int h = 0; h < NHATTR; h++)
		if ((which >> h) & 1)
			attr(&f, 4 * NATTR + h);

	memset(&p, 0x5a, sizeof(p));
	memset(err, 0x5a, sizeof(err));
	rc = pvs_resolve(&res, spec, &p, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE || rc == -ENOENT || rc == -ENODEV ||
	             rc == -ENOTUNIQ || rc == -ELOOP || rc == -ENAMETOOLONG,
	         "resolve '%s': %d", spec, rc);
	FZ_CHECK(memchr(err, 0, sizeof(err)) != NULL, "message not terminated");
	if (rc) {
		static const struct pvs_pdev zero;

		FZ_CHECK(!memcmp(&p, &zero, sizeof(p)),
		         "'%s' failed (%d) but the p-dev is not zeroed", spec, rc);
		FZ_CHECK(err[0], "'%s' failed (%d) without a message", spec, rc);
	} else {
		FZ_CHECK(err[0] == 0, "'%s' resolved with a message: %s", spec, err);
		check_ok(&p);
		if (pvs_pdev_stable_spec(&p, stable, sizeof(stable)) == 0) {
			rc = pvs_resolve(&res, stable, &q, err, sizeof(err));
			FZ_CHECK(rc == -ENOTUNIQ ||
			             (rc == 0 && q.host == p.host && q.channel == p.channel &&
			              q.target == p.target && q.lun == p.lun),
			         "'%s' -> %u:%u:%u:%u, its stable spec '%s' -> %d %u:%u:%u:%u: %s",
			         spec, p.host, p.channel, p.target, p.lun, stable, rc, q.host,
			         q.channel, q.target, q.lun, err);
		}
	}
	return 0;
}
