/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_libvirt_ut.c - xl scsi-libvirt-hook (xl-plugin/libvirt.c) on the fake
 * dom0 of tests/xl/world.h: the domain XML as libvirt 9.0's libxl driver
 * writes it on the hook's stdin, its two carriers of devices (<devices>'
 * SCSI hostdevs, pvscsi's <metadata> element in its three spellings), and
 * each op: prepare resolves and writes nothing, started attaches all or
 * none and fails with one line on stderr, stopped/release clean up what
 * a destroyed domain left, migrate accepts libvirt 9.0's empty input, and
 * stdout stays empty throughout (libvirt reads it for migrate).
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
#define NS  "https://github.com/pvscsi/pvscsi/libvirt/1"

#define HOSTDEV(adapter, b, t, u, vdev_unit)                                                       \
	"<hostdev mode='subsystem' type='scsi' managed='no'><source><adapter name='" adapter       \
	"'/><address bus='" b "' target='" t "' unit='" u "'/></source>"                           \
	"<alias name='hostdev0'/><address type='drive' controller='0' bus='0' target='0' "         \
	"unit='" vdev_unit "'/></hostdev>"

/* A domain as libvirt formats it for the hook: @id is " id='5'" or "". */
#define DOMAIN(id, devices, metadata)                                                              \
	"<domain type='xen'" id ">\n"                                                              \
	"  <name>guest1</name>\n"                                                                  \
	"  <uuid>" UUID5 "</uuid>\n"                                                               \
	"  <metadata>" metadata "</metadata>\n"                                                    \
	"  <memory unit='KiB'>524288</memory>\n"                                                   \
	"  <os><type arch='x86_64' machine='xenpv'>linux</type></os>\n"                            \
	"  <devices>\n"                                                                            \
	"    <console type='pty'><target type='xen' port='0'/></console>\n"                        \
	"    <hostdev mode='subsystem' type='pci' managed='yes'><source><address "                 \
	"domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></source></hostdev>\n"             \
	"    " devices "\n"                                                                        \
	"  </devices>\n"                                                                           \
	"</domain>\n"

/* The metadata element as written by hand (prefixed), and as virsh metadata --set makes it. */
#define META_PREFIXED(inner) "<pvscsi:scsi xmlns:pvscsi='" NS "'>" inner "</pvscsi:scsi>"
#define META_DEFAULT(inner)  "<scsi xmlns='" NS "'>" inner "</scsi>"
#define META_VIRSH                                                                                 \
	"<pvscsi:scsi xmlns:pvscsi='" NS "'><pvscsi:vscsi>" NAA_B                                  \
	":0,0:0:2:0,ro</pvscsi:vscsi></pvscsi:scsi>"

static char *hook_out, *hook_err;

/* xl scsi-libvirt-hook guest1 OP SUB - with @xml on stdin; its exit status. */
static int hook(const char *op, const char *sub, const char *xml)
{
	const char *args[] = {"scsi-libvirt-hook", "guest1", op, sub, "-", NULL};
	char *in = strdup(xml);
	int rc;

	free(hook_out);
	free(hook_err);
	w_reset_output();
	W->c.in = fmemopen(in, strlen(in) ? strlen(in) : 1, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(W->c.in);
	if (!*in)
		fgetc(W->c.in); /* an empty stdin: fmemopen takes no zero size */
	rc = w_cmd(xlp_cmd_libvirt_hook, args);
	fclose(W->c.in);
	W->c.in = stdin;
	free(in);
	hook_out = w_text(false);
	hook_err = w_text(true);
	return rc;
}

static bool record_exists(void)
{
	char p[PATH_MAX + 100];

	snprintf(p, sizeof(p), "%s/pvscsi-libvirt." UUID5, W->fs.root);
	return access(p, F_OK) == 0;
}

static void done(void)
{
	free(hook_out);
	free(hook_err);
	hook_out = hook_err = NULL;
	w_teardown();
}

/* ------------------------------------------------------------------ parsing */

static int parse(const char *xml, struct xlp_xml_domain *d, char *err)
{
	return xlp_xml_domain(xml, strlen(xml), "domain XML", d, err, XLP_ERR_MAX);
}

/* Both carriers, each spelling of the metadata, and what is not ours left alone. */
static void test_carriers(void)
{
	static const struct {
		const char *xml;
		size_t n;
		const char *pdev0, *pdev1;
	} cases[] = {
	    {DOMAIN(" id='5'", HOSTDEV("scsi_host2", "0", "0", "0", "0"), ""), 1,
	     "scsi_host2:0:0:0", NULL},
	    {DOMAIN("", "", META_PREFIXED(HOSTDEV("scsi_host2", "0", "1", "0", "1"))), 1,
	     "scsi_host2:0:1:0", NULL},
	    {DOMAIN("", "", META_DEFAULT("<vscsi>" NAA_A ":0,0:0:0:0</vscsi>")), 1, NAA_A ":0",
	     NULL},
	    {DOMAIN("", "", META_VIRSH), 1, NAA_B ":0", NULL},
	    {DOMAIN("", HOSTDEV("scsi_host2", "0", "0", "0", "0"),
	            META_PREFIXED("<disk type='file'><source file='/x.img'/><address "
	                          "type='drive' controller='1' bus='0' target='0' unit='0'/>"
	                          "</disk>")),
	     2, "file:/x.img", "scsi_host2:0:0:0"},
	    /* another namespace's metadata, and libvirt's PCI hostdev: not ours */
	    {DOMAIN("", "", "<x:scsi xmlns:x='urn:other'><hostdev/></x:scsi>"), 0, NULL, NULL},
	};
	struct xlp_xml_domain d;
	char err[XLP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].xml, &d, err);

		if (rc)
			fprintf(stderr, "\ncase %zu: %s\n", i, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(d.name, "guest1");
		CU_ASSERT_STRING_EQUAL(d.uuid, UUID5);
		CU_ASSERT_EQUAL(d.domid, i == 0 ? 5u : XLP_NO_DOMID);
		CU_ASSERT_EQUAL_FATAL(d.items.n, cases[i].n);
		if (cases[i].pdev0)
			CU_ASSERT_STRING_EQUAL(d.items.v[0].e.pdev, cases[i].pdev0);
		if (cases[i].pdev1)
			CU_ASSERT_STRING_EQUAL(d.items.v[1].e.pdev, cases[i].pdev1);
		xlp_xml_items_free(&d.items);
	}
	/* The virsh form's options are the entry's own. */
	CU_ASSERT_EQUAL_FATAL(parse(DOMAIN("", "", META_VIRSH), &d, err), 0);
	CU_ASSERT_TRUE(d.items.v[0].e.ro);
	CU_ASSERT_EQUAL(d.items.v[0].e.vdev.target, 2);
	xlp_xml_items_free(&d.items);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *xml, *want;
	} cases[] = {
	    {"<domain", "domain XML:1: not well-formed XML: "},
	    {"<devices/>", "domain XML:1: <devices>: expected libvirt's <domain>"},
	    {DOMAIN(" id='x'", "", ""), "<domain>: id='x' is not a domain id"},
	    /* one v-dev in both carriers */
	    {DOMAIN("", HOSTDEV("scsi_host2", "0", "0", "0", "0"),
	            META_PREFIXED("<vscsi>" NAA_B ":0,0:0:0:0</vscsi>")),
	     "domain XML:10: <hostdev>: v-dev 0:0:0:0 is also the address of domain XML:4: "
	     "<vscsi>"},
	    {DOMAIN("", "", META_PREFIXED("<lun/>")), "domain XML:4: <lun>: not a pvscsi device"},
	    {DOMAIN("", "", META_PREFIXED("<vscsi> </vscsi>")), "<vscsi>: empty: expected PDEV,"},
	    {DOMAIN("", "", META_PREFIXED("<vscsi>/dev/sdb</vscsi>")), "domain XML:4: <vscsi>: "},
	    {DOMAIN("", "<hostdev mode='subsystem' type='scsi'><source/></hostdev>", ""),
	     "domain XML:10: <hostdev>: "},
	};
	struct xlp_xml_domain d;
	char err[XLP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].xml, &d, err);

		if (rc != -EINVAL || !strstr(err, cases[i].want))
			fprintf(stderr, "\ncase %zu: %d '%s'\n  wanted '%s'\n", i, rc, err,
			        cases[i].want);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].want));
		CU_ASSERT_EQUAL(d.items.n, 0);
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	}
}

/* ---------------------------------------------------------------------- ops */

#define TWO_DEVS                                                                                   \
	DOMAIN(" id='5'", HOSTDEV("scsi_host2", "0", "0", "0", "0"),                               \
	       META_PREFIXED("<vscsi>" NAA_B ":0,1:0:0:0</vscsi>"))

static void test_started(void)
{
	char *ud;

	w_setup();
	W->paused = 0; /* libvirt has unpaused a plain start by now */
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_EQUAL(hook("started", "begin", TWO_DEVS), 0);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/p-dev"), "2:0:0:0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/vscsi-devs/dev-0/p-dev"), "2:0:1:0");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/vscsi-devs/dev-0/p-devname"), NAA_B ":0");
	/* pvscsid has taken both controllers; the booting guest connects when it comes */
	CU_ASSERT_STRING_EQUAL(node(BE5 "/1/state"), "2");
	w_sleep(&W->c, 100);
	w_sleep(&W->c, 100);
	w_sleep(&W->c, 100);
	CU_ASSERT_STRING_EQUAL(node(FE5 "/1/state"), "4");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/state"), "4");
	/* libvirt re-creates a rebooted domain itself: no reboot monitor */
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	/* libvirt's XML is the configuration: libxl's saved one is left as it was */
	{
		char *now = w_read_userdata(5, UUID5);

		CU_ASSERT_STRING_EQUAL(now, ud);
		free(now);
	}
	free(ud);
	CU_ASSERT_TRUE(record_exists());
	done();
}

/* A domain without SCSI devices costs nothing and touches nothing. */
static void test_no_devices(void)
{
	static const char *const ops[][2] = {
	    {"prepare", "begin"},   {"start", "begin"}, {"started", "begin"}, {"migrate", "begin"},
	    {"reconnect", "begin"}, {"stopped", "end"}, {"release", "end"}};

	w_setup();
	W->running = 0; /* not even pvscsid is needed */
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned int before = fake_xs_count(W->fx);

		CU_ASSERT_EQUAL(hook(ops[i][0], ops[i][1], DOMAIN(" id='5'", "", "")), 0);
		CU_ASSERT_STRING_EQUAL(hook_out, "");
		CU_ASSERT_STRING_EQUAL(hook_err, "");
		CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);
	}
	CU_ASSERT_FALSE(record_exists());
	done();
}

/*
 * A device that cannot be attached fails started with exit 1 and one line
 * (libvirt puts it in its error and destroys the domain), and nothing is
 * left attached: not the devices before it either.
 */
static void test_started_fails(void)
{
	static const char missing[] = DOMAIN(" id='5'", HOSTDEV("scsi_host2", "0", "0", "0", "0"),
	                                     META_PREFIXED("<vscsi>naa.60014059999999999999999999"
	                                                   "999999:0,1:0:0:0</vscsi>"));
	static const char *const trees[] = {BE5, FE5, RC5, NULL};
	char *before, *after;

	w_setup();
	W->paused = 0;
	before = w_dump_str(trees);
	CU_ASSERT_EQUAL(hook("started", "begin", missing), 1);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_EQUAL(strncmp(hook_err, "pvscsi: guest1: started: domain XML:4: <vscsi>: ", 48),
	                0);
	CU_ASSERT_PTR_NOT_NULL(strstr(hook_err, "nothing was attached\n"));
	CU_ASSERT_PTR_NOT_NULL(strchr(hook_err, '\n'));
	CU_ASSERT_EQUAL(strchr(hook_err, '\n'), hook_err + strlen(hook_err) - 1);
	after = w_dump_str(trees);
	CU_ASSERT_STRING_EQUAL(after, before);
	free(before);
	free(after);

	/* No id: not a running domain. */
	CU_ASSERT_EQUAL(
	    hook("started", "begin", DOMAIN("", HOSTDEV("scsi_host2", "0", "0", "0", "0"), "")), 1);
	CU_ASSERT_STRING_EQUAL(hook_err, "pvscsi: guest1: started: the domain XML has no id='N': "
	                                 "not a running domain\n");
	/* A broken document. */
	CU_ASSERT_EQUAL(hook("started", "begin", "<domain"), 1);
	CU_ASSERT_EQUAL(
	    strncmp(hook_err, "pvscsi: guest1: started: domain XML:1: not well-formed", 54), 0);
	done();
}

/*
 * pvscsid does not answer while there are two controllers: the second
 * fails, and the first is detached again (the guest running, it answers).
 */
static void stop_at_second(struct world *w)
{
	bool both = fake_xs_exists(w->fx, BE5 "/0") && fake_xs_exists(w->fx, BE5 "/1");

	w->sim = both ? SIM_OFF : SIM_OK;
}

static void test_started_rollback(void)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;

	w_setup();
	W->paused = 0;
	W->tick_hook = stop_at_second;
	CU_ASSERT_EQUAL(hook("started", "begin", TWO_DEVS), 1);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_EQUAL(strncmp(hook_err, "pvscsi: guest1: started: ", 25), 0);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(hook_err, "v-dev 0:0:0:0 of domain guest1 (id 5): no answer"));
	if (!strstr(hook_err, "detaching the devices attached before it"))
		fprintf(stderr, "\n%s", hook_err);
	CU_ASSERT_PTR_NOT_NULL(strstr(hook_err, "detaching the devices attached before it"));
	CU_ASSERT_EQUAL(strchr(hook_err, '\n'), hook_err + strlen(hook_err) - 1);
	CU_ASSERT_EQUAL(xlp_vhosts_read(&W->c, 5, &v, &nv), 0);
	CU_ASSERT_EQUAL(nv, 0);
	xlp_vhosts_free(v, nv);
	/*
	 * libvirt destroys the domain and runs stopped and release without its
	 * id: the record names it, and the directories the rollback left go.
	 */
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE5));
	CU_ASSERT_TRUE(record_exists());
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/5"), 0);
	CU_ASSERT_EQUAL(hook("stopped", "end", DOMAIN("", "", "")), 0);
	CU_ASSERT_EQUAL(hook("release", "end", DOMAIN("", "", "")), 0);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5));
	CU_ASSERT_FALSE(record_exists());
	done();
}

/* prepare resolves and checks, before the domain exists, and writes nothing. */
static void test_prepare(void)
{
	static const char *const a2[] = {"scsi-attach", "guest2", "/dev/sdc", "0:0:0:0", NULL};
	unsigned int before;

	w_setup();
	before = fake_xs_count(W->fx);
	CU_ASSERT_EQUAL(hook("prepare", "begin", TWO_DEVS), 0);
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);

	CU_ASSERT_EQUAL(
	    hook("prepare", "begin", DOMAIN("", HOSTDEV("scsi_host2", "0", "4", "0", "0"), "")), 1);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_EQUAL(strncmp(hook_err,
	                        "pvscsi: guest1: prepare: domain XML:10: <hostdev>: p-dev "
	                        "'scsi_host2:0:4:0': ",
	                        75),
	                0);
	CU_ASSERT_EQUAL(strchr(hook_err, '\n'), hook_err + strlen(hook_err) - 1);

	/* A LUN another domain holds. */
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	before = fake_xs_count(W->fx);
	CU_ASSERT_EQUAL(hook("prepare", "begin", TWO_DEVS), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(hook_err, "is already assigned to domain guest2 (id 7)"));
	CU_ASSERT_EQUAL(strchr(hook_err, '\n'), hook_err + strlen(hook_err) - 1);
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);

	W->running = 0;
	CU_ASSERT_EQUAL(hook("prepare", "begin", TWO_DEVS), 1);
	CU_ASSERT_STRING_EQUAL(hook_err, "pvscsi: guest1: prepare: pvscsid is not running in "
	                                 "domain 0: start it first\n");
	done();
}

/* libvirt 9.0 gives migrate no XML; with XML, the devices must be on this host. */
static void test_migrate(void)
{
	w_setup();
	CU_ASSERT_EQUAL(hook("migrate", "begin", ""), 0);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_EQUAL(hook("migrate", "begin", "\n"), 0);
	CU_ASSERT_EQUAL(hook("migrate", "begin", DOMAIN("", "", META_VIRSH)), 0);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_EQUAL(
	    hook("migrate", "begin", DOMAIN("", HOSTDEV("scsi_host2", "0", "4", "0", "0"), "")), 1);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(hook_err, "pvscsi: guest1: migrate: domain XML:10: "));
	done();
}

/*
 * stopped and release clean up what the destroyed domain left in the
 * store, and never touch a domain that is still there (a failed reconnect
 * runs them with the guest alive); neither ever fails.
 */
static void test_cleanup(void)
{
	static const char no_id[] = DOMAIN("", HOSTDEV("scsi_host2", "0", "0", "0", "0"),
	                                   META_PREFIXED("<vscsi>" NAA_B ":0,1:0:0:0</vscsi>"));

	w_setup();
	W->paused = 0;
	CU_ASSERT_EQUAL_FATAL(hook("started", "begin", TWO_DEVS), 0);
	/* still running: left alone */
	CU_ASSERT_EQUAL(hook("stopped", "end", TWO_DEVS), 0);
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_STRING_EQUAL(node(BE5 "/0/vscsi-devs/dev-0/p-dev"), "2:0:0:0");
	CU_ASSERT_TRUE(record_exists());

	/* Xen destroyed it (its /local/domain/5 is gone); ours are left over. */
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/5"), 0);
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE5));
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, RC5));
	/* release: no id, the record says which domain it was */
	CU_ASSERT_EQUAL(hook("release", "end", no_id), 0);
	CU_ASSERT_STRING_EQUAL(hook_out, "");
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5));
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, "/libxl/5/device"));
	CU_ASSERT_FALSE(record_exists());
	/* again, and with broken input: still 0 */
	CU_ASSERT_EQUAL(hook("release", "end", no_id), 0);
	CU_ASSERT_EQUAL(hook("stopped", "end", "<domain"), 0);
	CU_ASSERT_STRING_EQUAL(hook_err, "pvscsi: guest1: stopped: domain XML:1: not well-formed "
	                                 "XML: Couldn't find end of Start Tag domain line 1\n");
	done();
}

/* stopped with the id cleans up by itself (a destroy before any release). */
static void test_stopped_with_id(void)
{
	w_setup();
	W->paused = 0;
	CU_ASSERT_EQUAL_FATAL(hook("started", "begin", TWO_DEVS), 0);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/5"), 0);
	CU_ASSERT_EQUAL(hook("stopped", "end", TWO_DEVS), 0);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5));
	/* the record stays for release */
	CU_ASSERT_TRUE(record_exists());
	done();
}

/* reconnect never fails and never changes a running domain; other ops do nothing. */
static void test_reconnect_and_others(void)
{
	static const char bad_dev[] =
	    DOMAIN(" id='5'", HOSTDEV("scsi_host2", "0", "4", "0", "0"), "");
	unsigned int before;

	w_setup();
	before = fake_xs_count(W->fx);
	CU_ASSERT_EQUAL(hook("reconnect", "begin", bad_dev), 0);
	CU_ASSERT_EQUAL(hook("reconnect", "begin", "<domain"), 0);
	CU_ASSERT_EQUAL(hook("start", "begin", bad_dev), 0);
	CU_ASSERT_STRING_EQUAL(hook_err, "");
	CU_ASSERT_EQUAL(hook("started", "end", bad_dev), 0);
	CU_ASSERT_EQUAL(hook("prepare", "end", bad_dev), 0);
	CU_ASSERT_EQUAL(fake_xs_count(W->fx), before);
	CU_ASSERT_TRUE(record_exists()); /* reconnect notes the domain for release */
	done();
}

/*
 * xl scsi-attach to a domain libvirt runs (its XML in libxl's userdata)
 * starts no reboot monitor: libvirt re-creates a rebooted domain itself,
 * and the hook attaches its devices.
 */
static void test_no_monitor_for_libvirt(void)
{
	static const char *const a5[] = {"scsi-attach", "guest1", "mem:1M", "0:0:0:0", NULL};
	static const char *const a7[] = {"scsi-attach", "guest2", "mem:1M", "0:0:0:0", NULL};
	char p[PATH_MAX + 200];
	FILE *f;

	w_setup();
	snprintf(p, sizeof(p), "%s/userdata-d.5." UUID5 ".libvirt-xml", W->libdir);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("<domain type='xen'/>", f);
	fclose(f);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a5), 0);
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a7), 0);
	CU_ASSERT_STRING_EQUAL(W->spawned, "7 ");
	done();
}

static void test_usage(void)
{
	static const char *const few[] = {"scsi-libvirt-hook", "guest1", NULL};
	static const char *const help[] = {"scsi-libvirt-hook", "--help", NULL};
	char *t;

	w_setup();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_libvirt_hook, few), 2);
	t = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Usage: xl scsi-libvirt-hook"));
	free(t);
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_libvirt_hook, help), 0);
	t = w_text(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, NS));
	free(t);
	done();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"carriers", test_carriers},
	    {"parse_errors", test_parse_errors},
	    {"started", test_started},
	    {"no_devices", test_no_devices},
	    {"started_fails", test_started_fails},
	    {"started_rollback", test_started_rollback},
	    {"prepare", test_prepare},
	    {"migrate", test_migrate},
	    {"cleanup", test_cleanup},
	    {"stopped_with_id", test_stopped_with_id},
	    {"reconnect_and_others", test_reconnect_and_others},
	    {"no_monitor_for_libvirt", test_no_monitor_for_libvirt},
	    {"usage", test_usage},
	};

	return CU_RUN("xl_libvirt", tests);
}
