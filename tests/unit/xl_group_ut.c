/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_group_ut.c - whole-bus and whole-target groups (xl-plugin/group.c) on
 * the fake dom0 of tests/xl/world.h: the syntax and its refusals, the
 * expansion into ordinary devices (nothing outside the group's host, bus and
 * target), the records, the overlap refusals both ways, detaching, and the
 * reconcile the monitor runs when dom0's LUNs change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

#define BE5 "/local/domain/0/backend/vscsi/5"
#define RC5 "/libxl/5/device/vscsi"

/* The domain's v-dev -> p-dev pairs, "0:0:0:0=2:0:0:0 ...", in dev-N order of controller @vh. */
static char *devs(uint32_t vh)
{
	static char buf[1024];
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned int n = 0; n < 16; n++) {
		char p[256];
		const char *v, *pd;

		snprintf(p, sizeof(p), BE5 "/%u/vscsi-devs/dev-%u/v-dev", vh, n);
		v = fake_xs_get(W->fx, p);
		snprintf(p, sizeof(p), BE5 "/%u/vscsi-devs/dev-%u/p-dev", vh, n);
		pd = fake_xs_get(W->fx, p);
		if (v && pd)
			pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%s=%s",
			                        pos ? " " : "", v, pd);
	}
	return buf;
}

static int attach(const char *pdev, const char *vdev)
{
	const char *a[] = {"scsi-attach", "guest1", pdev, vdev, NULL};

	w_reset_output();
	return w_cmd(xlp_cmd_attach, a);
}

static int detach(const char *vdev)
{
	const char *a[] = {"scsi-detach", "guest1", vdev, NULL};

	w_reset_output();
	return w_cmd(xlp_cmd_detach, a);
}

static void test_parse(void)
{
	static const struct {
		const char *pdev, *vdev, *err; /* err NULL: valid */
	} cases[] = {
	    {"scsi_host2:0:*:*", "0:0:*:*", NULL},
	    {"pci_0000_00_1f_2/unique_id=1:0:3:*", "0:0:5:*,ro", NULL},
	    {"fc_host/wwpn=0x5001a4aabbccdd01:0:*:*", "1:0:*:*,feature-host", NULL},
	    {"2:0:*:*", "0:0:*:*,shareable", NULL},
	    {"scsi_host2:0:*:1", "0:0:*:*", "a group's unit (LUN) must be '*'"},
	    {"scsi_host2:x:*:*", "0:0:*:*", "bus 'x' is not a number"},
	    {"scsi_host2:0:*:*", "0:0:1:*", "is a whole bus, so VDEV's target must be '*'"},
	    {"scsi_host2:0:1:*", "0:0:*:*", "is one target, so VDEV needs a target number"},
	    {"scsi_host2:0:*:*", "0:0:*:3", "a group's LUN must be '*'"},
	    {"scsi_host2:0:*:*", "0:*:*:*", "H, C and T must be numbers"},
	    {"scsi_host2:0:*:*", "0:0:*:*,bs=4096", "bs= applies to file: and mem:"},
	    {"scsi_host2:0:*:*", "0:0:*:*,writes=inline",
	     "option writes=inline applies to file: LUNs only; 'scsi_host2:0:*:*' is a group of "
	     "host LUNs"},
	    {"scsi_host2:0:*:*", "0:0:*:*,cache=none",
	     "option cache=none applies to file: LUNs only; 'scsi_host2:0:*:*' is a group of host "
	     "LUNs"},
	    {"scsi_host2:0:*:*", "0:0:*:*,ro,feature-host", "cannot be combined"},
	    {":0:*:*", "0:0:*:*", "no adapter before the bus"},
	    {"*:*:*", "0:0:*:*", "a group is ADAPTER:BUS:TARGET:*"},
	};
	char err[XLP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlp_group g;
		int rc = xlp_group_parse(cases[i].pdev, cases[i].vdev, &g, err, sizeof(err));

		if (!cases[i].err != !rc || (cases[i].err && !strstr(err, cases[i].err)))
			fprintf(stderr, "\ncase %zu (%s %s): rc %d: %s\n", i, cases[i].pdev,
			        cases[i].vdev, rc, err);
		CU_ASSERT_EQUAL(!cases[i].err, !rc);
		if (cases[i].err)
			CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
	}
	{
		struct xlp_group g;
		char p[XLP_SPEC_MAX], v[64];

		CU_ASSERT_EQUAL(xlp_group_parse("pci_0000_00_1f_2/unique_id=1:0:3:*", "0:0:5:*,ro",
		                                &g, err, sizeof(err)),
		                0);
		CU_ASSERT(!g.any_target && g.bus == 0 && g.target == 3 && g.vdev.target == 5 &&
		          g.ro);
		xlp_group_str(&g, p, sizeof(p), v, sizeof(v));
		CU_ASSERT_STRING_EQUAL(p, "pci_0000_00_1f_2/unique_id=1:0:3:*");
		CU_ASSERT_STRING_EQUAL(v, "0:0:5:*");
	}
	CU_ASSERT_TRUE(xlp_group_syntax("0:0:*:*,ro"));
	CU_ASSERT_FALSE(xlp_group_syntax("0:0:0:0,ro"));
}

/*
 * A whole bus: every LUN of host 2's bus 0 at the same T:L, none of host 3's;
 * the record and the members' marks; then the detach of the group.
 */
static void test_whole_bus(void)
{
	w_setup();
	CU_ASSERT_EQUAL(attach("scsi_host2:0:*:*", "0:0:*:*"), 0);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:0:0:0=2:0:0:0 0:0:1:0=2:0:1:0");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/pdev"), "scsi_host2:0:*:*");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/vdev"), "0:0:*:*");
	/* The saved configuration carries the group (reboot, restore, migration). */
	{
		char *ud = w_read_userdata(5, UUID5);

		if (!strstr(ud, "\"pvscsi-group/0/0\":\"scsi_host2:0:*:*,0:0:*:*\""))
			fprintf(stderr, "\nsaved: %s\n", ud);
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(ud, "\"pvscsi-group/0/0\":\"scsi_host2:0:*:*,0:0:*:*\""));
		free(ud);
	}
	/* The identities were recorded as for any LUN. */
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/p-devname"), NAA_A ":0");

	/* A member alone cannot go: it would come back with the next event. */
	CU_ASSERT_EQUAL(detach("0:0:1:0"), 1);
	ERR_HAS("v-dev 0:0:1:0 belongs to the group scsi_host2:0:*:*,0:0:*:*");
	CU_ASSERT_STRING_EQUAL(devs(0), "0:0:0:0=2:0:0:0 0:0:1:0=2:0:1:0");
	CU_ASSERT_EQUAL(detach("0:0:*:*"), 0);
	CU_ASSERT_STRING_EQUAL(devs(0), "");
	/* Gone for good: the monitor's next reconcile brings nothing back. */
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 0);
	CU_ASSERT_STRING_EQUAL(devs(0), "");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0/group-0"));
	{
		char *ud = w_read_userdata(5, UUID5);

		CU_ASSERT_PTR_NULL(strstr(ud, "pvscsi-group/"));
		free(ud);
	}
	CU_ASSERT_EQUAL(detach("0:0:*:*"), 1);
	ERR_HAS("has no group at VDEV 0:0:*:*");
	w_teardown();
}

/* A whole target, renumbered in the guest; a host number as the adapter. */
static void test_whole_target(void)
{
	w_setup();
	CU_ASSERT_EQUAL(attach("2:0:1:*", "0:0:5:*"), 0);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:0:5:0=2:0:1:0");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/pdev"), "2:0:1:*");

	/*
	 * Its only LUN goes: the member, and with it the controller and its
	 * record; the group stays (the saved configuration has it) and takes
	 * the LUN again when it is back.
	 */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	{
		struct fake_scsi_dev a = {.host = 2, .wwid = NAA_A, .sg = "sg1", .block = "sdb"};

		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &a), 0);
	}
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 1);
	CU_ASSERT_STRING_EQUAL(devs(0), "");
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 0);
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/pdev"), "2:0:1:*");
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	w_add_disks(2);
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 1);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:0:5:0=2:0:1:0");
	w_teardown();
}

/* Overlaps both ways, and adapters that name nothing: nothing attached. */
static void test_refusals(void)
{
	unsigned int before;

	w_setup();
	CU_ASSERT_EQUAL(attach("/dev/sdd", "1:0:0:0"), 0);
	before = fake_xs_count(W->fx);
	CU_ASSERT_EQUAL(attach("scsi_host2:0:*:*", "1:0:*:*"), 1);
	ERR_HAS("VDEV 1:0:*:* covers v-dev 1:0:0:0 of domain 5 (p-dev 3:0:0:0)");
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);

	CU_ASSERT_EQUAL(attach("scsi_host2:0:1:*", "0:0:3:*"), 0);
	before = fake_xs_count(W->fx);
	/* An empty slot in a group's range is still the group's. */
	CU_ASSERT_EQUAL(attach("/dev/sdb", "0:0:3:7"), 1);
	ERR_HAS("VDEV 0:0:3:7 is inside the group scsi_host2:0:1:*,0:0:3:*");
	CU_ASSERT_EQUAL(attach("scsi_host2:0:*:*", "0:0:*:*"), 1);
	ERR_HAS("overlaps the group scsi_host2:0:1:*,0:0:3:*");
	/* The LUN a group holds is the domain's already. */
	CU_ASSERT_EQUAL(attach("/dev/sdc", "0:0:9:0"), 1);
	ERR_HAS("already");
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);

	CU_ASSERT_EQUAL(attach("scsi_host9:0:*:*", "2:0:*:*"), 1);
	ERR_HAS("PDEV 'scsi_host9:0:*:*'");
	ERR_HAS("nothing attached");
	CU_ASSERT_EQUAL(attach("pci_0000_00_1f_2/unique_id=4:0:*:*", "2:0:*:*"), 1);
	ERR_HAS("PDEV 'pci_0000_00_1f_2/unique_id=4:0:*:*'");
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);
	w_teardown();
}

/*
 * The monitor's reconcile: a LUN that appears on host 2's bus is added, one
 * that goes is removed, one on another host never shows, and a single device
 * of the domain is left alone.
 */
static void test_reconcile(void)
{
	struct fake_scsi_dev a = {.host = 2,
	                          .wwid = NAA_A,
	                          .sg = "sg1",
	                          .block = "sdb",
	                          .by_id = "wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1"};
	struct fake_scsi_dev n = {.host = 2,
	                          .target = 2,
	                          .lun = 3,
	                          .wwid = "naa.6001405ccccccccccccccccccccccccc3",
	                          .sg = "sg4",
	                          .block = "sde"};
	struct fake_scsi_dev other = {
	    .host = 3, .target = 4, .wwid = "naa.6001405ddddddddddddddddddddddddd4", .sg = "sg5"};

	w_setup();
	CU_ASSERT_EQUAL(attach("/dev/sdd", "0:1:0:0"), 0);
	CU_ASSERT_EQUAL(attach("scsi_host2:0:*:*", "0:0:*:*"), 0);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:1:0:0=3:0:0:0 0:0:0:0=2:0:0:0 0:0:1:0=2:0:1:0");
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 0);

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &n), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &other), 0);
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 1);
	CU_ASSERT_STRING_EQUAL(devs(0),
	                       "0:1:0:0=3:0:0:0 0:0:0:0=2:0:0:0 0:0:1:0=2:0:1:0 0:0:2:3=2:0:2:3");

	/* 2:0:1:0 is gone (sysfs rebuilt without it). */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &a), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &n), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &other), 0);
	{
		struct fake_scsi_dev d3 = {.host = 3, .model = "NOID", .sg = "sg3", .block = "sdd"};

		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &d3), 0);
	}
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 1);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:1:0:0=3:0:0:0 0:0:0:0=2:0:0:0 0:0:2:3=2:0:2:3");
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 0);
	w_teardown();
}

/*
 * A new domain of the guest with the saved configuration (what a reboot,
 * restore or migration leaves): the group comes back into the toolstack
 * record from it, and the reconcile attaches its LUNs.
 */
static void test_restore_from_saved(void)
{
	char *ud;

	w_setup();
	CU_ASSERT_EQUAL(attach("scsi_host2:0:*:*", "0:0:*:*,ro"), 0);
	ud = w_read_userdata(5, UUID5);
	w_teardown();

	w_setup();
	w_write_userdata(5, UUID5, ud);
	CU_ASSERT_STRING_EQUAL(devs(0), "");
	CU_ASSERT_EQUAL(xlp_groups_restore(&W->c, 5), 1);
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/pdev"), "scsi_host2:0:*:*");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/group-0/options"), "ro");
	CU_ASSERT_EQUAL(xlp_groups_restore(&W->c, 5), 0);
	CU_ASSERT_EQUAL(xlp_groups_reconcile(&W->c, 5), 2);
	CU_ASSERT_STRING_EQUAL(devs(0), "0:0:0:0=2:0:0:0,ro 0:0:1:0=2:0:1:0,ro");
	free(ud);
	w_teardown();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"parse", test_parse},
	    {"whole_bus", test_whole_bus},
	    {"whole_target", test_whole_target},
	    {"refusals", test_refusals},
	    {"reconcile", test_reconcile},
	    {"restore_from_saved", test_restore_from_saved},
	};

	return CU_RUN("xl_group", tests);
}
