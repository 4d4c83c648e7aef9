/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_xml_ut.c - libvirt's XML in the xl front (xl-plugin/xml.c): every
 * element and attribute mapped to scsi-attach's PDEV, VDEV and options;
 * every bad input refused with its file, line and element, and nothing
 * attached; scsi-attach --xml and scsi-list --xml on the fake xenstore and
 * sysfs, and the round trip list --xml -> attach --xml on a fresh domain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

#define BE5 "/local/domain/0/backend/vscsi/5"
#define FE5 "/local/domain/5/device/vscsi"
#define RC5 "/libxl/5/device/vscsi"
#define BE7 "/local/domain/0/backend/vscsi/7"

#define WWPN "5001a4aabbccdd01"
#define WWNN "5001a4aabbccdd00"

/* A one-line hostdev with @src inside <source> and @rest after it. */
#define HOSTDEV(attrs, src, rest)                                                                  \
	"<hostdev mode='subsystem' type='scsi'" attrs "><source>" src "</source>" rest "</"        \
	"hostdev>"
#define ADDR(c, b, t, u)                                                                           \
	"<address type='drive' controller='" c "' bus='" b "' target='" t "' unit='" u "'/>"
#define SRC_HOST2 "<adapter name='scsi_host2'/><address bus='0' target='1' unit='0'/>"

static int parse(const char *xml, struct xlp_xml_items *l, char *err, size_t errlen)
{
	return xlp_xml_parse(xml, strlen(xml), "t.xml", l, err, errlen);
}

/* Each libvirt form and the entry scsi-attach would have been given. */
static void test_mappings(void)
{
	static const struct {
		const char *xml;
		const char *pdev;
		const char *vdev;
		bool ro, shareable, feature_host;
		uint32_t bs;
		enum xlp_cache cache;
	} cases[] = {
	    {HOSTDEV("", SRC_HOST2, ADDR("0", "0", "3", "0")), "scsi_host2:0:1:0", "0:0:3:0"},
	    {HOSTDEV("",
	             "<adapter parent='pci_0000_00_1f_2' unique_id='1'/>"
	             "<address bus='0' target='0' unit='0'/>",
	             ADDR("1", "0", "0", "2")),
	     "pci_0000_00_1f_2/unique_id=1:0:0:0", "1:0:0:2"},
	    {HOSTDEV("",
	             "<adapter parent='pci_0000_00_1f_2'/><address bus='0' target='2' unit='7'/>",
	             ADDR("0", "0", "0", "0")),
	     "pci_0000_00_1f_2:0:2:7", "0:0:0:0"},
	    {HOSTDEV("",
	             "<adapter type='fc_host' wwnn='" WWNN "' wwpn='" WWPN "'/>"
	             "<address bus='0' target='0' unit='2'/>",
	             ADDR("0", "0", "0", "0")),
	     "fc_host/wwpn=" WWPN "/wwnn=" WWNN ":0:0:2", "0:0:0:0"},
	    {HOSTDEV("",
	             "<adapter type='fc_host' wwpn='" WWPN "' parent='scsi_host7'/>"
	             "<address bus='0' target='0' unit='2'/>",
	             ADDR("0", "0", "0", "0")),
	     "fc_host/wwpn=" WWPN ":0:0:2", "0:0:0:0"},
	    {HOSTDEV("", SRC_HOST2, "<readonly/>" ADDR("0", "0", "0", "0")), "scsi_host2:0:1:0",
	     "0:0:0:0", .ro = true},
	    {HOSTDEV("", SRC_HOST2, "<shareable/>" ADDR("0", "0", "0", "0")), "scsi_host2:0:1:0",
	     "0:0:0:0", .shareable = true},
	    {HOSTDEV(" sgio='unfiltered'", SRC_HOST2, ADDR("0", "0", "0", "0")), "scsi_host2:0:1:0",
	     "0:0:0:0", .feature_host = true},
	    {HOSTDEV(" rawio='yes'", SRC_HOST2, ADDR("0", "0", "0", "0")), "scsi_host2:0:1:0",
	     "0:0:0:0", .feature_host = true},
	    {HOSTDEV(" sgio='filtered' rawio='no'", SRC_HOST2, ADDR("0", "0", "0", "0")),
	     "scsi_host2:0:1:0", "0:0:0:0"},
	    /* libvirt's defaults: no mode is subsystem, address fields left out are 0. */
	    {"<hostdev type='scsi'><source>" SRC_HOST2 "</source><alias name='hostdev0'/>"
	     "<address type='drive' unit='5'/></hostdev>",
	     "scsi_host2:0:1:0", "0:0:0:5"},
	    {"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
	     "<source file='/x.img'/><target dev='sda' bus='scsi'/>" ADDR("0", "0", "1",
	                                                                  "0") "</disk>",
	     "file:/x.img", "0:0:1:0"},
	    {"<disk type='file' device='lun'><source file='/x.img'/><readonly/><shareable/>"
	     "<blockio logical_block_size='4096'/>" ADDR("2", "0", "0", "0") "</disk>",
	     "file:/x.img", "2:0:0:0", .ro = true, .shareable = true, .bs = 4096},
	    {"<disk><source file='/x.img'/>" ADDR("0", "0", "0", "0") "</disk>", "file:/x.img",
	     "0:0:0:0"},
	    /* libvirt's cache modes pvscsid has: none is O_DIRECT, the others its default. */
	    {"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
	     "<source file='/x.img'/>" ADDR("0", "0", "1", "0") "</disk>",
	     "file:/x.img", "0:0:1:0", .cache = XLP_CACHE_NONE},
	    {"<disk type='file'><driver cache='none'/><source file='/x.img'/>"
	     "<blockio logical_block_size='4096'/>" ADDR("0", "0", "1", "0") "</disk>",
	     "file:/x.img", "0:0:1:0", .bs = 4096, .cache = XLP_CACHE_NONE},
	    {"<disk type='file'><driver name='qemu' cache='writeback'/><source "
	     "file='/x.img'/>" ADDR("0", "0", "1", "0") "</disk>",
	     "file:/x.img", "0:0:1:0"},
	    {"<disk type='file'><driver cache='default'/><source file='/x.img'/>" ADDR(
	         "0", "0", "1", "0") "</disk>",
	     "file:/x.img", "0:0:1:0"},
	};
	char err[XLP_ERR_MAX], vd[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlp_xml_items l;
		int rc = parse(cases[i].xml, &l, err, sizeof(err));

		if (rc)
			fprintf(stderr, "\ncase %zu: %s\n", i, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL_FATAL(l.n, 1);
		CU_ASSERT_STRING_EQUAL(l.v[0].e.pdev, cases[i].pdev);
		xlp_hctl_str(&l.v[0].e.vdev, vd);
		CU_ASSERT_STRING_EQUAL(vd, cases[i].vdev);
		CU_ASSERT_EQUAL(l.v[0].e.ro, cases[i].ro);
		CU_ASSERT_EQUAL(l.v[0].e.shareable, cases[i].shareable);
		CU_ASSERT_EQUAL(l.v[0].e.feature_host, cases[i].feature_host);
		CU_ASSERT_EQUAL(l.v[0].e.bs, cases[i].bs);
		CU_ASSERT_EQUAL(l.v[0].e.cache, cases[i].cache);
		CU_ASSERT_EQUAL(l.v[0].e.kind,
		                strncmp(cases[i].pdev, "file:", 5) ? XLP_HOST : XLP_FILE);
		CU_ASSERT_PTR_NOT_NULL(strstr(l.v[0].where, "t.xml:1: <"));
		xlp_xml_items_free(&l);
	}
}

/*
 * A cdrom <disk> is cdrom:PATH, and one without <source> the empty drive
 * cdrom:.  Whether the front attaches cdrom: drives is cfg.c's to say: the
 * entry is either made, or refused with the p-dev the XML became.
 */
static void test_cdrom(void)
{
	static const struct {
		const char *xml, *pdev;
	} cases[] = {
	    {"<disk type='file' device='cdrom'><source file='/x.iso'/><readonly/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "cdrom:/x.iso"},
	    {"<disk type='file' device='cdrom'><target dev='sdb' bus='scsi'/>" ADDR("0", "0", "0",
	                                                                            "0") "</disk>",
	     "cdrom:"},
	};
	char err[XLP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlp_xml_items l;
		int rc = parse(cases[i].xml, &l, err, sizeof(err));

		if (rc)
			fprintf(stderr, "\ncdrom case %zu: %s\n", i, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(l.n, 1);
		CU_ASSERT_EQUAL(l.v[0].e.kind, XLP_CDROM);
		CU_ASSERT_STRING_EQUAL(l.v[0].e.pdev, cases[i].pdev);
		CU_ASSERT_TRUE(l.v[0].e.ro);
		xlp_xml_items_free(&l);
	}
}

static void test_devices(void)
{
	static const char xml[] =
	    "<?xml version='1.0'?>\n"
	    "<!-- two LUNs of one guest -->\n"
	    "<devices>\n"
	    "  " HOSTDEV("", SRC_HOST2,
	                 ADDR("0", "0", "0", "0")) "\n"
	                                           "  <disk type='file' device='disk'>\n"
	                                           "    <source file='/x.img'/>\n"
	                                           "    <target dev='sda' bus='scsi'/>\n"
	                                           "    " ADDR("0", "0", "1", "0") "\n"
	                                                                           "  </disk>\n"
	                                                                           "</devices>\n";
	struct xlp_xml_items l;
	char err[XLP_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(parse(xml, &l, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.v[0].e.pdev, "scsi_host2:0:1:0");
	CU_ASSERT_STRING_EQUAL(l.v[0].where, "t.xml:4: <hostdev>");
	CU_ASSERT_STRING_EQUAL(l.v[1].e.pdev, "file:/x.img");
	CU_ASSERT_STRING_EQUAL(l.v[1].where, "t.xml:5: <disk>");
	xlp_xml_items_free(&l);
}

/* Every refusal: one line with file, line and element, and no items. */
static void test_parse_errors(void)
{
	static const struct {
		const char *xml, *want;
	} cases[] = {
	    {"<hostdev mode='subsystem' type='scsi'>", "t.xml:1: not well-formed XML: "},
	    {"", "t.xml:1: not well-formed XML: "},
	    {"<devices>\n<hostdev>\n</devices>", "t.xml:3: not well-formed XML: "},
	    {"<domain><devices/></domain>",
	     "t.xml:1: <domain>: expected <hostdev mode='subsystem'"},
	    {"<hostdev mode='subsystem' type='pci'/>",
	     "t.xml:1: <hostdev>: type='pci' is not supported: only SCSI host devices"},
	    {"<hostdev mode='subsystem'/>", "<hostdev>: no type=: expected type='scsi'"},
	    {"<hostdev mode='capabilities' type='scsi'/>", "<hostdev>: mode='capabilities': only"},
	    {HOSTDEV("", "<address bus='0' target='0' unit='0'/>", ADDR("0", "0", "0", "0")),
	     "t.xml:1: <source>: no <adapter>"},
	    {HOSTDEV("", "<adapter name='scsi_host2'/>", ADDR("0", "0", "0", "0")),
	     "<source>: no <address bus='B' target='T' unit='U'/>"},
	    {HOSTDEV("", SRC_HOST2, ""), "<hostdev>: no <address type='drive'"},
	    {"<hostdev mode='subsystem' type='scsi'>" ADDR("0", "0", "0", "0") "</hostdev>",
	     "<hostdev>: no <source>"},
	    {HOSTDEV("", "<adapter name='scsi_host2'/><address bus='x' target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<address>: bus='x' is not a decimal number"},
	    {HOSTDEV("", "<adapter name='scsi_host2'/><address bus='0' target='-1' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<address>: target='-1' is not a decimal number"},
	    {HOSTDEV("", "<adapter name='scsi_host2'/><address bus='0' target='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<address>: no unit= (a decimal number)"},
	    {HOSTDEV("",
	             "<adapter name='scsi_host2'/><address bus='0' target='0' unit='4294967296'/>",
	             ADDR("0", "0", "0", "0")),
	     "<address>: unit='4294967296' is over 4294967295"},
	    {HOSTDEV("", SRC_HOST2, ADDR("0", "0", "0", "x1")),
	     "<address>: unit='x1' is not a decimal number"},
	    {HOSTDEV("", SRC_HOST2, "<address type='pci' bus='0'/>"), "<address>: type='pci': the"},
	    {HOSTDEV("", SRC_HOST2, "<address bus='0'/>"), "<address>: no type=: the"},
	    /* A comma would have added an option nobody wrote. */
	    {HOSTDEV("",
	             "<adapter name='scsi_host2,feature-host'/><address bus='0' target='0' "
	             "unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: name='scsi_host2,feature-host': expected scsi_hostN"},
	    {HOSTDEV(
	         "",
	         "<adapter parent='pci_0000_00_1f_2,ro'/><address bus='0' target='0' unit='0'/>",
	         ADDR("0", "0", "0", "0")),
	     "<adapter>: parent='pci_0000_00_1f_2,ro': expected"},
	    {HOSTDEV("",
	             "<adapter parent='pci_0000_00_1f_2' unique_id='1,ro'/><address bus='0' "
	             "target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: unique_id='1,ro' is not a decimal number"},
	    {HOSTDEV("",
	             "<adapter type='fc_host' wwpn='" WWPN
	             ",ro'/><address bus='0' target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: wwpn='" WWPN ",ro' is not hexadecimal"},
	    {HOSTDEV("",
	             "<adapter type='fc_host' wwnn='" WWNN
	             "'/><address bus='0' target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: type='fc_host' needs wwpn="},
	    {HOSTDEV("", "<adapter/><address bus='0' target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: names no adapter"},
	    {HOSTDEV("",
	             "<adapter name='scsi_host2' parent='pci_0000_00_1f_2'/><address bus='0' "
	             "target='0' unit='0'/>",
	             ADDR("0", "0", "0", "0")),
	     "<adapter>: name= and parent= both name the adapter"},
	    {HOSTDEV(
	         "",
	         "<adapter type='scsi_host' name='host2'/><address bus='0' target='0' unit='0'/>",
	         ADDR("0", "0", "0", "0")),
	     "<adapter>: name='host2': expected scsi_hostN"},
	    {HOSTDEV(
	         "",
	         "<adapter type='iscsi' name='scsi_host2'/><address bus='0' target='0' unit='0'/>",
	         ADDR("0", "0", "0", "0")),
	     "<adapter>: type='iscsi': expected"},
	    {"<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.x/1'/>" ADDR(
	         "0", "0", "0", "0") "</hostdev>",
	     "<source>: protocol='iscsi'"},
	    {HOSTDEV("", SRC_HOST2, "<boot order='1'/>" ADDR("0", "0", "0", "0")),
	     "<boot>: not supported in a SCSI <hostdev>"},
	    {HOSTDEV("", SRC_HOST2, ADDR("0", "0", "0", "0") ADDR("0", "0", "1", "0")),
	     "<address>: a second one in <hostdev>"},
	    {HOSTDEV(" sgio='raw'", SRC_HOST2, ADDR("0", "0", "0", "0")),
	     "<hostdev>: sgio='raw': expected 'filtered' or 'unfiltered'"},
	    {HOSTDEV(" rawio='on'", SRC_HOST2, ADDR("0", "0", "0", "0")),
	     "<hostdev>: rawio='on': expected 'yes' or 'no'"},
	    /* The entry parser's own rules, with what the XML became. */
	    {HOSTDEV(" sgio='unfiltered'", SRC_HOST2, "<readonly/>" ADDR("0", "0", "0", "0")),
	     "<hostdev>: options ro and feature-host cannot be combined"},
	    {HOSTDEV("", SRC_HOST2, ADDR("0", "70000", "0", "0")),
	     "<hostdev>: VDEV '0:70000:0:0': channel and target must be at most 65535"},
	    {"<disk type='block' device='lun'><source dev='/dev/sdb'/>" ADDR("0", "0", "0",
	                                                                     "0") "</disk>",
	     "<disk>: type='block' is not supported"},
	    {"<disk type='file' device='floppy'><source file='/x.img'/>" ADDR("0", "0", "0",
	                                                                      "0") "</disk>",
	     "<disk>: device='floppy': expected"},
	    {"<disk type='file'><driver name='qemu' type='qcow2'/><source file='/x.img'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<driver>: type='qcow2': only raw images"},
	    {"<disk type='file'><driver name='qemu' type='raw' cache='writethrough'/>"
	     "<source file='/x.img'/>" ADDR("0", "0", "0", "0") "</disk>",
	     "t.xml:1: <driver>: cache='writethrough': expected 'none' (O_DIRECT, xl's "
	     "cache=none), 'writeback' or 'default'"},
	    {"<disk type='file'><driver cache='directsync'/><source file='/x.img'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<driver>: cache='directsync': expected 'none'"},
	    {"<disk type='file'><driver cache='unsafe'/><source file='/x.img'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<driver>: cache='unsafe': expected 'none'"},
	    /* A CD-ROM has no cache to choose: the entry parser says so, with the p-dev. */
	    {"<disk type='file' device='cdrom'><driver cache='none'/><source file='/x.iso'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<disk>: option cache=none applies to file: LUNs only (a backing file's page cache); "
	     "'cdrom:/x.iso' is a cdrom: drive (as xl scsi-attach DOMAIN cdrom:/x.iso,cache=none "
	     "0:0:0:0"},
	    {"<disk type='file'><source file='/x.img'/><target dev='vda' bus='virtio'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<target>: bus='virtio'"},
	    {"<disk type='file'>" ADDR("0", "0", "0", "0") "</disk>", "<disk>: no <source file="},
	    {"<disk type='file'><source/>" ADDR("0", "0", "0", "0") "</disk>",
	     "<source>: no <source file="},
	    {"<disk type='file'><source file=''/>" ADDR("0", "0", "0", "0") "</disk>",
	     "<source>: file='': expected"},
	    {"<disk type='file'><source file='/a,ro'/>" ADDR("0", "0", "0", "0") "</disk>",
	     "<source>: file='/a,ro': a p-dev's path cannot hold a comma"},
	    {"<disk type='file'><source file='x.img'/>" ADDR("0", "0", "0", "0") "</disk>",
	     "<disk>: PDEV 'file:x.img': file: needs an absolute path"},
	    {"<disk type='file'><source file='/x.img'/></disk>",
	     "<disk>: no <address type='drive'"},
	    {"<disk type='file'><source file='/x.img'/><blockio logical_block_size='1024'/>" ADDR(
	         "0", "0", "0", "0") "</disk>",
	     "<blockio>: logical_block_size='1024': expected 512 or 4096"},
	    {"<disk type='file' sgio='unfiltered'><source file='/x.img'/>" ADDR("0", "0", "0",
	                                                                        "0") "</disk>",
	     "<disk>: option feature-host: raw passthrough needs a host LUN"},
	    {"<disk type='file'><source file='/x.img'/><serial>1</serial>" ADDR("0", "0", "0",
	                                                                        "0") "</disk>",
	     "<serial>: not supported in a <disk>"},
	    {"<devices/>", "t.xml:1: <devices>: holds no <hostdev> or <disk>"},
	    {"<devices>\n  <interface type='network'/>\n</devices>",
	     "t.xml:2: <interface>: not a SCSI device"},
	    {"<devices>\n" HOSTDEV("", SRC_HOST2,
	                           ADDR("0", "0", "0", "0")) "\n"
	                                                     "<disk><source file='/x.img'/>\n" ADDR(
	                                                         "0", "0", "0",
	                                                         "0") "</disk>\n</devices>",
	     "t.xml:3: <disk>: v-dev 0:0:0:0 is also the address of t.xml:2: <hostdev>"},
	    {"<devices>\n" HOSTDEV(
	         "", SRC_HOST2,
	         ADDR("0", "0", "0", "0")) "\n"
	                                   "<hostdev mode='subsystem' type='usb'/>\n</devices>",
	     "t.xml:3: <hostdev>: type='usb' is not supported"},
	    {"<hostdev mode='subsystem' type='scsi' sgio='" /* longer than any value */
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'/>",
	     "<hostdev>: sgio='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long"},
	};
	char err[XLP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlp_xml_items l = {(void *)1, 5};
		int rc = parse(cases[i].xml, &l, err, sizeof(err));

		if (rc != -EINVAL || !strstr(err, cases[i].want))
			fprintf(stderr, "\ncase %zu: rc %d, '%s'\n  wanted '%s'\n", i, rc, err,
			        cases[i].want);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].want));
		CU_ASSERT_EQUAL(strncmp(err, "t.xml:", 6), 0);
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		CU_ASSERT_PTR_NULL(l.v);
		CU_ASSERT_EQUAL(l.n, 0);
	}
}

/* ------------------------------------------------------------- on the fake host */

/* A temporary file holding @text; its path (malloc'd). */
static char *w_file(const char *name, const char *text)
{
	char *p = malloc(PATH_MAX + 64);
	char *t = golden_subst(strdup(text), "@ROOT@", W->fs.root);
	FILE *f;

	snprintf(p, PATH_MAX + 64, "%s/%s", W->fs.root, name);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(t, f);
	fclose(f);
	free(t);
	return p;
}

/* scsi-attach DOMAIN --xml FILE with @text in FILE; its exit status, stderr in *@err. */
static int attach_xml(const char *dom, const char *text, char **err)
{
	char *path = w_file("dev.xml", text);
	const char *args[] = {"scsi-attach", dom, "--xml", path, NULL};
	int rc;

	w_reset_output();
	rc = w_cmd(xlp_cmd_attach, args);
	free(path);
	*err = w_text(true);
	return rc;
}

/*
 * The second SCSI host's unique_id, an FC HBA with an NPIV vport (host9,
 * its LUN 9:0:0:2) for the adapter forms.
 */
static void add_adapters(void)
{
	const struct fake_scsi_host h2 = {.host = 2, .unique_id = "1"};
	const struct fake_scsi_host h3 = {.host = 3, .unique_id = "2"};
	const struct fake_scsi_host fc = {.host = 9,
	                                  .pci = "0000:00:06.0/host8/vport-8:0-0",
	                                  .unique_id = "0",
	                                  .port_name = "0x" WWPN,
	                                  .node_name = "0x" WWNN};
	const struct fake_scsi_dev lun = {.host = 9,
	                                  .pci = "0000:00:06.0/host8/vport-8:0-0",
	                                  .lun = 2,
	                                  .wwid = "naa.6001405ccccccccccccccccccccccccc3",
	                                  .sg = "sg9",
	                                  .block = "sde"};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&W->fs, &h2), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&W->fs, &h3), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&W->fs, &fc), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &lun), 0);
}

static void test_attach(void)
{
	static const char xml[] =
	    "<devices>\n"
	    "  <hostdev mode='subsystem' type='scsi'>\n"
	    "    <source>\n"
	    "      <adapter name='scsi_host2'/>\n"
	    "      <address bus='0' target='0' unit='0'/>\n"
	    "    </source>\n"
	    "    <readonly/>\n"
	    "    <address type='drive' controller='0' bus='0' target='0' unit='0'/>\n"
	    "  </hostdev>\n"
	    "  <hostdev mode='subsystem' type='scsi'>\n"
	    "    <source>\n"
	    "      <adapter parent='pci_0000_00_05_0' unique_id='2'/>\n"
	    "      <address bus='0' target='0' unit='0'/>\n"
	    "    </source>\n"
	    "    <address type='drive' controller='0' bus='0' target='1' unit='0'/>\n"
	    "  </hostdev>\n"
	    "  <hostdev mode='subsystem' type='scsi' sgio='unfiltered'>\n"
	    "    <source>\n"
	    "      <adapter type='fc_host' wwnn='" WWNN "' wwpn='" WWPN "'/>\n"
	    "      <address bus='0' target='0' unit='2'/>\n"
	    "    </source>\n"
	    "    <address type='drive' controller='1' bus='0' target='0' unit='0'/>\n"
	    "  </hostdev>\n"
	    "  <disk type='file' device='disk'>\n"
	    "    <driver name='qemu' type='raw' cache='none'/>\n"
	    "    <source file='@ROOT@/disk.img'/>\n"
	    "    <target dev='sdd' bus='scsi'/>\n"
	    "    <blockio logical_block_size='4096'/>\n"
	    "    <shareable/>\n"
	    "    <address type='drive' controller='0' bus='0' target='2' unit='0'/>\n"
	    "  </disk>\n"
	    "</devices>\n";
	char *err;

	w_setup();
	add_adapters();
	CU_ASSERT_EQUAL(attach_xml("guest1", xml, &err), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	free(err);
	/* The same nodes as scsi-attach with the arguments the elements stand for. */
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/p-dev"), "2:0:0:0,ro");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/p-devname"), NAA_A ":0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/v-dev"), "0:0:0:0");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/dev-0/pdev"), "scsi_host2:0:0:0");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/dev-0/options"), "ro");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-1/p-dev"), "3:0:0:0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-1/p-devname"),
	                       "pci_0000_00_05_0/unique_id=2:0:0:0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-1/v-dev"), "0:0:1:0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/vscsi-devs/dev-0/p-dev"), "9:0:0:2");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/vscsi-devs/dev-0/p-devname"),
	                       "fc_host/wwpn=" WWPN "/wwnn=" WWNN ":0:0:2");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/feature-host"), "1");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/feature-host"), "0");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(node(BE5 "/0/vscsi-devs/dev-2/p-dev"), "/disk.img,bs=4096,cache=none"));
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/dev-2/options"), "shareable");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-2/v-dev"), "0:0:2:0");
	/* and a reboot monitor, as after any scsi-attach */
	CU_ASSERT_STRING_EQUAL(W->spawned, "5 ");
	w_teardown();
}

/* "-" reads standard input. */
static void test_attach_stdin(void)
{
	static char xml[] = HOSTDEV("", SRC_HOST2, ADDR("0", "0", "0", "3"));
	const char *args[] = {"scsi-attach", "--xml", "-", "guest2", NULL};
	char *err;

	w_setup();
	W->c.in = fmemopen(xml, strlen(xml), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(W->c.in);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, args), 0);
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(err, "");
	free(err);
	CU_ASSERT_STRING_EQUAL(node(BE7 "/0/vscsi-devs/dev-0/p-dev"), "2:0:1:0");
	CU_ASSERT_STRING_EQUAL(node(BE7 "/0/vscsi-devs/dev-0/v-dev"), "0:0:0:3");
	fclose(W->c.in);
	W->c.in = stdin;

	/* A broken document on stdin is named so. */
	{
		static char broken[] = "<devices>\n<hostdev";

		W->c.in = fmemopen(broken, strlen(broken), "r");
		w_reset_output();
		CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, args), 1);
		err = w_text(true);
		CU_ASSERT_EQUAL(strncmp(err, "scsi-attach: stdin:2: not well-formed XML: ", 43), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "; nothing was attached\n"));
		free(err);
		fclose(W->c.in);
		W->c.in = stdin;
	}
	w_teardown();
}

static unsigned int count_before;
static char *ud_before, *tree_before;

static const char *const trees[] = {BE5, FE5, RC5, BE7, NULL};

static void snapshot(void)
{
	count_before = fake_xs_count(W->fx);
	free(ud_before);
	free(tree_before);
	ud_before = w_read_userdata(5, UUID5);
	tree_before = w_dump_str(trees);
}

/* Nothing changed since snapshot(): the store and the saved configuration. */
static void unchanged(int line)
{
	char *ud = w_read_userdata(5, UUID5);
	char *tree = w_dump_str(trees);
	int ok = fake_xs_count(W->fx) == count_before && ud && ud_before &&
	         !strcmp(ud, ud_before) && !strcmp(tree, tree_before);

	if (!ok)
		fprintf(stderr, "\nline %d: something changed (%u -> %u nodes)\n%s\n", line,
		        count_before, fake_xs_count(W->fx), tree);
	CU_assertImplementation(ok, (unsigned int)line, "UNCHANGED", __FILE__, "", CU_FALSE);
	free(ud);
	free(tree);
}
#define ASSERT_UNCHANGED() unchanged(__LINE__)

/* A <devices> with a good hostdev first and @second after it, on line 3. */
#define TWO(second)                                                                                \
	"<devices>\n" HOSTDEV("", SRC_HOST2, ADDR("0", "0", "5", "0")) "\n" second "\n</"          \
	                                                               "devices>\n"

/*
 * Every bad input is refused with one message naming the file, the line and
 * the element, and leaves nothing attached, even after good elements.
 */
static void test_attach_refused(void)
{
	static const struct {
		const char *xml, *want;
	} cases[] = {
	    {"<hostdev", ":1: not well-formed XML: "},
	    {"<domain/>", ":1: <domain>: expected <hostdev"},
	    {TWO("<hostdev mode='subsystem' type='pci'/>"), ":3: <hostdev>: type='pci' is not"},
	    {TWO(HOSTDEV("", "<address bus='0' target='0' unit='0'/>", ADDR("0", "0", "0", "0"))),
	     ":3: <source>: no <adapter>"},
	    {TWO(HOSTDEV("", SRC_HOST2, "")), ":3: <hostdev>: no <address type='drive'"},
	    {TWO(HOSTDEV("",
	                 "<adapter name='scsi_host2'/><address bus='0' target='zero' unit='0'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <address>: target='zero' is not a decimal number"},
	    /* an adapter that does not exist: the resolver's words, after where it was */
	    {TWO(HOSTDEV("", "<adapter name='scsi_host7'/><address bus='0' target='0' unit='0'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <hostdev>: p-dev 'scsi_host7:0:0:0': "},
	    /* a unique_id that matches nothing */
	    {TWO(HOSTDEV("",
	                 "<adapter parent='pci_0000_00_05_0' unique_id='7'/><address bus='0' "
	                 "target='0' unit='0'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <hostdev>: p-dev 'pci_0000_00_05_0/unique_id=7:0:0:0': "},
	    {TWO(HOSTDEV("",
	                 "<adapter type='fc_host' wwpn='5001a4aabbccdd99'/><address bus='0' "
	                 "target='0' unit='2'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <hostdev>: p-dev 'fc_host/wwpn=5001a4aabbccdd99:0:0:2': "},
	    /* an adapter that exists, without that LUN */
	    {TWO(HOSTDEV("", "<adapter name='scsi_host2'/><address bus='0' target='4' unit='0'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <hostdev>: p-dev 'scsi_host2:0:4:0': "},
	    {TWO("<disk><source file='@ROOT@/none.img'/>" ADDR("0", "0", "0", "0") "</disk>"),
	     ":3: <disk>: PDEV 'file:@ROOT@/none.img': No such file or directory"},
	    /* two elements, one LUN */
	    {TWO(HOSTDEV("", "<adapter name='scsi_host2'/><address bus='0' target='1' unit='0'/>",
	                 ADDR("0", "0", "0", "0"))),
	     ":3: <hostdev>: PDEV 'scsi_host2:0:1:0' is the LUN of @ROOT@/dev.xml:2: <hostdev> "
	     "already (2:0:1:0)"},
	    /* one controller asked for feature-host and not */
	    {TWO(HOSTDEV(" sgio='unfiltered'",
	                 "<adapter name='scsi_host2'/><address bus='0' "
	                 "target='0' unit='0'/>",
	                 ADDR("0", "0", "7", "0"))),
	     ":3: <hostdev>: feature-host must agree for all devices of controller 0"},
	    /* already used by the domain: the check's own message, then where */
	    {TWO("<disk><source file='@ROOT@/disk.img'/>" ADDR("0", "0", "0", "0") "</disk>"),
	     "VDEV 0:0:0:0 is already used in domain guest1 (id 5)"},
	    /* held by another domain */
	    {TWO(HOSTDEV("", "<adapter name='scsi_host2'/><address bus='0' target='0' unit='0'/>",
	                 ADDR("0", "0", "9", "0"))),
	     "is already assigned to domain guest2 (id 7)"},
	};
	static const char *const a1[] = {"scsi-attach", "guest1", "mem:1M", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest2", "/dev/sdb", "0:0:0:0", NULL};
	const char *nofile[] = {"scsi-attach", "guest1", "--xml", "/nonexistent/dev.xml", NULL};
	char *err;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	snapshot();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* w_text() wrote the temporary root as @ROOT@ already. */
		char *want = strdup(cases[i].want);
		int rc = attach_xml("guest1", cases[i].xml, &err);
		bool one_line = !strchr(err, '\n') || strchr(err, '\n') == err + strlen(err) - 1;

		/* The checks under the lock print their reason, then the element's line. */
		if (strstr(cases[i].want, "already"))
			one_line = true;
		if (rc != 1 || !strstr(err, want) || !strstr(err, "nothing was attached\n") ||
		    !one_line)
			fprintf(stderr, "\ncase %zu: exit %d\n%s  wanted '%s'\n", i, rc, err, want);
		CU_ASSERT_EQUAL(rc, 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "nothing was attached\n"));
		CU_ASSERT(one_line);
		CU_ASSERT_EQUAL(strncmp(err, "scsi-attach: ", 13), 0);
		ASSERT_UNCHANGED();
		free(err);
		free(want);
	}
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, nofile), 1);
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(err, "scsi-attach: /nonexistent/dev.xml: No such file or directory; "
	                            "nothing was attached\n");
	free(err);
	ASSERT_UNCHANGED();
	w_teardown();
	free(ud_before);
	free(tree_before);
	ud_before = tree_before = NULL;
}

/* pvscsid stops answering after the first device: the first is detached again. */
static void stop_at_second(struct world *w)
{
	if (fake_xs_exists(w->fx, BE5 "/1"))
		w->sim = SIM_OFF;
}

static void test_attach_rollback(void)
{
	static const char xml[] =
	    "<devices>\n" HOSTDEV("", SRC_HOST2, ADDR("0", "0", "0", "0")) "\n" HOSTDEV(
	        "", "<adapter name='scsi_host3'/><address bus='0' target='0' unit='0'/>",
	        ADDR("1", "0", "0", "0")) "\n</devices>\n";
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	struct xlp_saved_list saved = {0};
	char *err, *tree;

	w_setup();
	snapshot();
	W->tick_hook = stop_at_second;
	CU_ASSERT_EQUAL(attach_xml("guest1", xml, &err), 1);
	if (!strstr(err, "dev.xml:3: <hostdev>: not attached; detaching the devices attached "
	                 "before it\n"))
		fprintf(stderr, "\n%s", err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "v-dev 1:0:0:0 of domain guest1 (id 5): no answer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "dev.xml:3: <hostdev>: not attached; detaching the "
	                                   "devices attached before it\n"));
	/*
	 * No controller and no saved device left; as after any scsi-detach of a
	 * domain's last device, its (empty) directories stay, and so does the
	 * saved configuration's (empty) xsdata.
	 */
	CU_ASSERT_EQUAL(xlp_vhosts_read(&W->c, 5, &v, &nv), 0);
	CU_ASSERT_EQUAL(nv, 0);
	xlp_vhosts_free(v, nv);
	CU_ASSERT_EQUAL(xlp_userdata_saved(&W->c, 5, &saved), 0);
	CU_ASSERT_EQUAL(saved.n, 0);
	xlp_saved_free(&saved);
	tree = w_dump_str(trees);
	CU_ASSERT_STRING_EQUAL(tree,
	                       BE5 " = \"\" (n0)\n" FE5 " = \"\" (n5)\n" RC5 " = \"\" (n0)\n");
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	free(tree);
	free(err);
	w_teardown();
	free(ud_before);
	free(tree_before);
	ud_before = tree_before = NULL;
}

/* -N prints the plan of every element and writes nothing. */
static void test_attach_dryrun(void)
{
	char *path, *out;
	const char *args[] = {"scsi-attach", "-N", "guest1", "--xml", NULL, NULL};

	w_setup();
	path = w_file("dev.xml", TWO("<disk><source file='@ROOT@/disk.img'/><readonly/>" ADDR(
	                             "0", "0", "6", "0") "</disk>"));
	args[4] = path;
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, args), 0);
	out = w_text(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "# attach scsi_host2:0:1:0 as v-dev 0:0:5:0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "# attach file:@ROOT@/disk.img as v-dev 0:0:6:0"));
	ASSERT_UNCHANGED();
	free(out);
	free(path);
	w_teardown();
	free(ud_before);
	free(tree_before);
	ud_before = tree_before = NULL;
}

static void test_usage(void)
{
	static const char *const bad[][6] = {
	    {"scsi-attach", "guest1", "--xml", NULL},
	    {"scsi-attach", "guest1", "/dev/sdb", "--xml", "x.xml", NULL},
	    {"scsi-attach", "--xml", "x.xml", NULL},
	    {"scsi-list", "--xml", NULL},
	    {"scsi-list", "--xml", "guest1", "guest2", NULL},
	    {"scsi-list", "--xml", "--json", "guest1", NULL},
	};
	static const char *const help[] = {"scsi-attach", "--help", NULL};
	char *out;

	w_setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w_reset_output();
		CU_ASSERT_EQUAL(
		    w_cmd(strcmp(bad[i][0], "scsi-list") ? xlp_cmd_attach : xlp_cmd_list, bad[i]),
		    2);
		out = w_text(true);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "--xml <"));
		free(out);
	}
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, help), 0);
	out = w_text(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "<Domain> --xml <FILE>"));
	free(out);
	w_teardown();
}

/* ------------------------------------------------------------- scsi-list --xml */

static char *list_xml(const char *dom, char **err)
{
	const char *args[] = {"scsi-list", "--xml", dom, NULL};

	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_list, args), 0);
	*err = w_text(true);
	return w_text(false);
}

/* guest1 with every kind of device scsi-list --xml writes, and a mem: LUN it cannot. */
static void populate(void)
{
	static const char *const cmds[][5] = {
	    {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0,ro", NULL},
	    {"scsi-attach", "guest1", NAA_B ":0", "0:0:1:0,shareable", NULL},
	    {"scsi-attach", "guest1", "pci_0000_00_05_0/unique_id=2:0:0:0", "0:0:2:0", NULL},
	    {"scsi-attach", "guest1", "fc_host/wwpn=0x5001A4AABBCCDD01:0:0:2",
	     "1:0:0:0,feature-host", NULL},
	    {"scsi-attach", "guest1", "file:@ROOT@/disk.img,bs=4096", "0:0:3:0,ro", NULL},
	    {"scsi-attach", "guest1", "file:@ROOT@/other.img,cache=none", "2:0:0:1,shareable",
	     NULL},
	    {"scsi-attach", "guest1", "cdrom:@ROOT@/a.iso", "0:0:5:0", NULL},
	    {"scsi-attach", "guest1", "cdrom:", "0:0:6:0", NULL},
	    /* Last: left out of the XML, it must not shift the others' dev-N. */
	    {"scsi-attach", "guest1", "mem:16M", "0:0:4:0", NULL},
	};

	add_adapters();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *args[5] = {NULL};
		char *a[5] = {NULL};

		for (size_t k = 0; k < 5 && cmds[i][k]; k++)
			args[k] = a[k] = golden_subst(strdup(cmds[i][k]), "@ROOT@", W->fs.root);
		args[4] = NULL;
		int rc;

		w_reset_output();
		rc = w_cmd(xlp_cmd_attach, args);
		if (rc) {
			char *e = w_text(true);

			fprintf(stderr, "\n%s", e);
			free(e);
		}
		CU_ASSERT_EQUAL(rc, 0);
		for (size_t k = 0; k < 5; k++)
			free(a[k]);
	}
}

/* The nodes that make an attachment (not the states, which the handshakes set). */
static char *devs_of(uint32_t dom)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_EQUAL(xlp_vhosts_read(&W->c, dom, &v, &nv), 0);
	for (size_t i = 0; i < nv; i++) {
		fprintf(f, "controller %u feature-host %d\n", v[i].vhost, v[i].feature_host);
		for (size_t k = 0; k < v[i].ndevs; k++) {
			const struct xlp_bdev *b = &v[i].devs[k];

			fprintf(f, "  dev-%u %s p-dev %s p-devname %s options '%s'\n", b->n,
			        b->v_dev, b->p_dev, b->p_devname, b->opts);
		}
	}
	xlp_vhosts_free(v, nv);
	fclose(f);
	return golden_subst(buf, W->fs.root, "@ROOT@");
}

/* writes=inline has no libvirt form: the disk is listed, the option named on stderr. */
static void test_list_inline_writes(void)
{
	const char *args[5] = {"scsi-attach", "guest1", NULL, "0:0:0:0", NULL};
	char *pdev, *xml, *err;

	w_setup();
	pdev = golden_subst(strdup("file:@ROOT@/disk.img,writes=inline"), "@ROOT@", W->fs.root);
	args[2] = pdev;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, args), 0);
	xml = list_xml("guest1", &err);
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "/disk.img\"/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "scsi-list: warning: v-dev 0:0:0:0 ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/disk.img,writes=inline) listed without writes=inline: "
	                                   "libvirt's <disk> has no equal"));
	free(xml);
	free(err);
	free(pdev);
	w_teardown();
}

static void test_list_round_trip(void)
{
	char *xml, *err, *devs1, *xml2, *devs2, *err2;

	w_setup();
	populate();
	xml = list_xml("guest1", &err);
	CU_ASSERT_EQUAL(golden_check("list.xml", xml), 0);
	/* mem: has no libvirt form: named on stderr, left out */
	CU_ASSERT_STRING_EQUAL(err, "scsi-list: warning: v-dev 0:0:4:0 (mem:16M) left out: "
	                            "libvirt's XML has no RAM-backed LUN\n");
	free(err);
	devs1 = devs_of(5);
	w_teardown();

	/* A fresh host and domain: the same LUNs, attached from the XML alone. */
	w_setup();
	add_adapters();
	CU_ASSERT_EQUAL(attach_xml("guest1", xml, &err), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	free(err);
	devs2 = devs_of(5);
	xml2 = list_xml("guest1", &err2);
	CU_ASSERT_STRING_EQUAL(err2, "");
	/* Everything but mem: again, and the same XML. */
	{
		char *mem = strstr(devs1, " 0:0:4:0 p-dev mem:16M");

		CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
		while (mem > devs1 && mem[-1] != '\n')
			mem--;
		memmove(mem, strchr(mem, '\n') + 1, strlen(strchr(mem, '\n') + 1) + 1);
	}
	if (strcmp(devs1, devs2))
		fprintf(stderr, "\nbefore:\n%safter:\n%s", devs1, devs2);
	CU_ASSERT_STRING_EQUAL(devs1, devs2);
	CU_ASSERT_STRING_EQUAL(xml, xml2);
	free(err2);
	free(xml2);
	free(devs2);
	free(devs1);
	free(xml);
	w_teardown();
}

/*
 * The host LUNs moved (a rescan gave their hosts other numbers): a LUN is
 * found by its identity, and the XML says where it is now; one without an
 * identity is not found, and is left out with a warning.  So is one whose
 * identity is gone, though its old numbers name another LUN now.
 */
static void test_list_moved(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "3:0:0:0", "0:0:1:0", NULL};
	static const char *const a3[] = {"scsi-attach", "guest1", "4:0:0:0", "0:0:2:0", NULL};
	struct fake_scsi_dev old = {.host = 4, .wwid = "naa.6001405eeeeeeeeeeeeeeeeeeeeeeee5"};
	struct fake_scsi_dev other = {.host = 4, .wwid = "naa.6001405ffffffffffffffffffffffff6"};
	char *xml, *err;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &old), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a3), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	w_add_disks(6);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &other), 0);
	xml = list_xml("guest1", &err);
	CU_ASSERT_PTR_NULL(strstr(xml, "scsi_host4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: v-dev 0:0:2:0 (p-dev 4:0:0:0, "
	                                   "naa.6001405eeeeeeeeeeeeeeeeeeeeeeee5:0) left out: the "
	                                   "LUN is not on this host now\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<adapter name=\"scsi_host6\"/>\n"
	                                   "      <address bus=\"0\" target=\"1\" unit=\"0\"/>"));
	if (!strstr(err, "warning: v-dev 0:0:1:0 (p-dev "))
		fprintf(stderr, "\n%s%s", xml, err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: v-dev 0:0:1:0 (p-dev "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "left out: the LUN is not on this host now\n"));
	free(xml);
	free(err);
	w_teardown();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"mappings", test_mappings},
	    {"cdrom", test_cdrom},
	    {"devices", test_devices},
	    {"parse_errors", test_parse_errors},
	    {"attach", test_attach},
	    {"attach_stdin", test_attach_stdin},
	    {"attach_refused", test_attach_refused},
	    {"attach_rollback", test_attach_rollback},
	    {"attach_dryrun", test_attach_dryrun},
	    {"usage", test_usage},
	    {"list_round_trip", test_list_round_trip},
	    {"list: writes=inline named, not lost silently", test_list_inline_writes},
	    {"list_moved", test_list_moved},
	};

	return CU_RUN("xl_xml", tests);
}
