/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_monitor_ut.c - SCSI devices that come back after a reboot (monitor.c):
 * on the fake dom0, a guest with a device from vscsi= and a hot-attached
 * one is rebooted the way Xen's xl monitor does it (the domain destroyed,
 * its configuration carried to a new domain of the same name and UUID,
 * created and unpaused); the monitor must hold the new domain, re-resolve
 * every saved identity on the host as it is now, attach, and let it run.
 * Devices that cannot be found are logged and kept for later; domains the
 * front is setting up itself, being migrated in, or of another guest are
 * left alone; the monitor ends when the guest does not come back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

#define BE "/local/domain/0/backend/vscsi"

static const char *const tree9[] = {BE "/9", "/local/domain/9/device/vscsi", NULL};

/* What Xen's xl carries to the new domain: the old one's saved configuration. */
static char *carried;
static unsigned int creation_ticks; /* libxl stores it after this many sleeps */

static void store_config_late(struct world *w)
{
	(void)w;
	if (creation_ticks && --creation_ticks == 0)
		w_write_userdata(9, UUID5, carried);
}

/* Xen's xl monitor: destroy domain @old (libxl drops its userdata and xenstore dirs). */
static void destroy_domain(uint32_t old, const char *uuid)
{
	char p[PATH_MAX + 200];

	snprintf(p, sizeof(p), "/local/domain/%u", old);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, p), 0);
	snprintf(p, sizeof(p), "/libxl/%u", old);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, p), 0);
	snprintf(p, sizeof(p), "%s/userdata-d.%u.%s.libxl-json", W->libdir, old, uuid);
	unlink(p);
}

/* ...and create the guest again as domain 9, the configuration stored @ticks sleeps later. */
static void recreate(unsigned int ticks)
{
	w_domain(9, "guest1", UUID5);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/libxl/9/device", "%s", ""), 0);
	creation_ticks = ticks;
	if (!ticks)
		w_write_userdata(9, UUID5, carried);
	W->tick_hook = store_config_late;
}

/* guest1 (domain 5): sdb from its configuration, the file LUN hot-attached. */
static void guest_with_devices(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	const char *a2[] = {"scsi-attach", "guest1", NULL, "0:0:1:0", NULL};
	char img[PATH_MAX + 16];

	snprintf(img, sizeof(img), "file:%s/disk.img", W->fs.root);
	a2[2] = img;
	W->paused = 0;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	CU_ASSERT_EQUAL(w_state(BE "/5/0/vscsi-devs/dev-1/state"), 4);
	free(carried);
	carried = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(carried);
	CU_ASSERT_PTR_NOT_NULL(strstr(carried, "pvscsi/0/dev-1/spec"));
	w_reset_output();
	W->xl_calls[0] = '\0';
	W->c.prefix = NULL; /* as in the monitor's process */
}

/* Everything the monitor said, stdout and stderr, with the root as @ROOT@. */
static char *said(void)
{
	char *o = w_text(false), *e = w_text(true);
	char *all = malloc(strlen(o) + strlen(e) + 16);

	sprintf(all, "%s--- err\n%s", o, e);
	free(o);
	free(e);
	return all;
}

static void test_reboot_reattaches(void)
{
	struct xlp_monitor m;
	char *tree, *ud, *log, *all;

	w_setup();
	guest_with_devices();
	/* The front started a monitor after each attach (the second finds the first). */
	CU_ASSERT_STRING_EQUAL(W->spawned, "5 5 ");
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	CU_ASSERT_STRING_EQUAL(m.uuid, UUID5);
	CU_ASSERT_STRING_EQUAL(m.name, "guest1");
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 0), 1);
	CU_ASSERT_EQUAL(m.domid, 5);
	CU_ASSERT_STRING_EQUAL(W->pauses, "");

	/* xl reboot: the domain goes... */
	destroy_domain(5, UUID5);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_EQUAL(m.domid, XLP_NO_DOMID);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 2000), 1);
	/* ...the host rescans meanwhile (its disks are host 4 now)... */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	w_add_disks(4);
	/* ...and the guest is created again, running as soon as libxl is done. */
	W->paused = 1;
	W->ticks = 0;
	recreate(3);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_EQUAL(m.domid, 9);
	CU_ASSERT_EQUAL(m.restarts, 1);
	/* Held paused from before xl's unpause until its devices were there. */
	CU_ASSERT_STRING_EQUAL(W->pauses, "pause 9\nunpause 9\n");
	CU_ASSERT(W->ticks >= 3); /* it waited for libxl to store the configuration */
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-0/p-dev"), "4:0:0:0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-0/v-dev"), "0:0:0:0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-1/v-dev"), "0:0:1:0");
	/* The dead domain's backend nodes are gone with it. */
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE "/5"));
	tree = w_dump_str(tree9);
	ud = golden_subst(w_read_userdata(9, UUID5), W->fs.root, "@ROOT@");
	log = said();
	all = malloc(strlen(tree) + strlen(ud) + strlen(log) + 64);
	sprintf(all, "%s--- libxl-json\n%s\n--- said\n%s", tree, ud, log);
	CU_ASSERT_EQUAL(golden_check("monitor-reboot.tree", all), 0);
	/* The saved configuration keeps identities, not host numbers. */
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-0/spec\":\"" NAA_A ":0,0:0:0:0\""));
	CU_ASSERT_PTR_NULL(strstr(ud, "\"4:0:0:0"));

	/* A running guest: the new domain is followed, nothing more happens. */
	W->pauses[0] = '\0';
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 60000), 1);
	CU_ASSERT_STRING_EQUAL(W->pauses, "");
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	free(tree);
	free(ud);
	free(log);
	free(all);
	w_teardown();
}

/* The guest's frontend finds them at boot: the simulated pvscsid and scsifront connect. */
static void test_reboot_devices_connect(void)
{
	struct xlp_monitor m;

	w_setup();
	guest_with_devices();
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	W->paused = 1;
	recreate(0);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	W->paused = 0;
	for (int i = 0; i < 10; i++)
		W->c.sleep_ms(&W->c, 1);
	CU_ASSERT_EQUAL(w_state(BE "/9/0/state"), 4);
	CU_ASSERT_EQUAL(w_state(BE "/9/0/vscsi-devs/dev-0/state"), 4);
	CU_ASSERT_EQUAL(w_state(BE "/9/0/vscsi-devs/dev-1/state"), 4);
	w_teardown();
}

/* A LUN that is not on the host after the reboot: said, kept, the rest attached. */
static void test_reboot_missing_device(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:0:1", NULL};
	static const char *const a3[] = {"scsi-attach", "guest1", "mem:4M", "0:0:0:2", NULL};
	static const char *const r1[] = {"scsi-resolve", "guest1", NULL};
	struct fake_scsi_dev b = {
	    .host = 2,
	    .target = 1,
	    .wwid = NAA_B,
	    .sg = "sg2",
	    .block = "sdc",
	    .by_id = "wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbb2",
	};
	struct xlp_monitor m;
	char *err, *ud;

	w_setup();
	W->paused = 0;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	free(carried);
	carried = w_read_userdata(5, UUID5);
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	/* sdb (NAA_A) did not come back with the host. */
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &b), 0);
	W->paused = 1;
	W->xl_calls[0] = '\0';
	w_reset_output();
	recreate(0);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_STRING_EQUAL(W->pauses, "pause 9\nunpause 9\n");
	/* sdc is attached (as dev-0 now), sdb is not. */
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-0/v-dev"), "0:0:0:1");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-0/p-dev"), "2:0:1:0");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE "/9/0/vscsi-devs/dev-1"));
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "guest1 (id 9): v-dev 0:0:0:0 NOT attached after the "
	                                   "reboot: p-dev '" NAA_A ":0': no SCSI device carries"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "; it stays in the saved configuration: 'xl "
	                                   "scsi-resolve guest1' attaches it once it is back\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "guest1 (id 9): 1 of 2 SCSI devices NOT attached"));
	free(err);
	/* Kept for later, under a key of its own (dev-0 is sdc's now). */
	ud = w_read_userdata(9, UUID5);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-0/spec\":\"" NAA_B ":0,0:0:0:1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-1/spec\":\"" NAA_A ":0,0:0:0:0\""));
	free(ud);
	/* A later attach does not take the kept device's key... */
	W->paused = 0;
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a3), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-2/v-dev"), "0:0:0:2");
	ud = w_read_userdata(9, UUID5);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-1/spec\":\"" NAA_A ":0,0:0:0:0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-2/spec\":\"mem:4M,0:0:0:2\""));
	free(ud);
	/* ...and once the LUN is back, scsi-resolve attaches it. */
	w_add_disks(2);
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_resolve, r1), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-1/v-dev"), "0:0:0:0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE "/9/0/vscsi-devs/dev-1/p-dev"), "2:0:0:0");
	w_teardown();
}

static void test_not_back_ends(void)
{
	struct xlp_monitor m;
	char *out;

	w_setup();
	guest_with_devices();
	W->c.grace_ms = 5000;
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100000), 1); /* the time it noticed: 0 */
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 4000), 1);
	/* Another guest comes and goes: not ours. */
	w_domain(11, "other", "11111111-2222-3333-4444-000000000011");
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 900), 1);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 0);
	CU_ASSERT_STRING_EQUAL(W->pauses, "");
	out = w_text(false);
	CU_ASSERT_STRING_EQUAL(
	    out, "guest1: domain 5 is gone; waiting up to 5 s for the guest to come back\n"
	         "guest1: no domain of UUID " UUID5 " within 5 s; not following it any more\n");
	free(out);
	w_teardown();
}

/*
 * Restored or migrated in by the front: it attaches the devices itself (a
 * domain being received is not touched at all), and the monitor then only
 * follows the new domain.
 */
static void test_front_set_up_left_alone(void)
{
	struct xlp_monitor m;
	struct xlp_saved_list l = {0};
	char *out;

	w_setup();
	guest_with_devices();
	W->c.grace_ms = 5000;
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 0), 1);
	w_domain(9, "guest1--incoming", UUID5);
	w_write_userdata(9, UUID5, carried);
	/* However long the transfer takes. */
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 4000), 1);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 4000), 1);
	CU_ASSERT_EQUAL(m.domid, XLP_NO_DOMID);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE "/9"));
	/* migrate-receive's front attaches, then Xen's xl renames it. */
	CU_ASSERT_EQUAL_FATAL(xlp_userdata_saved(&W->c, 9, &l), 0);
	CU_ASSERT_EQUAL_FATAL(xlp_apply_saved(&W->c, 9, &l, true), 0);
	xlp_saved_free(&l);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/local/domain/9/name", "guest1"), 0);
	w_reset_output();
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_EQUAL(m.domid, 9);
	CU_ASSERT_STRING_EQUAL(W->pauses, "");
	out = w_text(false);
	CU_ASSERT_STRING_EQUAL(
	    out, "guest1: the guest is domain 9 now; its 2 SCSI devices are attached\n");
	free(out);
	w_teardown();
}

/* Creation fails after the monitor held the domain: it is gone, the monitor waits on. */
static void vanish(struct world *w)
{
	(void)w;
	if (creation_ticks && --creation_ticks == 0)
		CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/9"), 0);
}

static void test_domain_vanishes_during_creation(void)
{
	struct xlp_monitor m;
	char *err;

	w_setup();
	guest_with_devices();
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	w_domain(9, "guest1", UUID5);
	creation_ticks = 2;
	W->tick_hook = vanish;
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(
	    err, "guest1 (id 9): the domain went away before its creation finished\n");
	free(err);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE "/9"));
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_EQUAL(m.domid, XLP_NO_DOMID);
	w_teardown();
}

/* Cannot pause: attached anyway, while it runs, and said so. */
static void test_pause_fails(void)
{
	struct xlp_monitor m;
	char *err;

	w_setup();
	guest_with_devices();
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	W->pause_status = -EIO;
	recreate(0);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_STRING_EQUAL(W->pauses, "pause 9\n"); /* no unpause of what it did not pause */
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE "/9/0/vscsi-devs/dev-1"));
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "guest1 (id 9): warning: cannot pause it"));
	free(err);
	w_teardown();
}

/* Paused too late (xl's unpause came first): it still gets its devices, as a hot add. */
static void test_paused_after_it_ran(void)
{
	struct xlp_monitor m;
	char *out;

	w_setup();
	guest_with_devices();
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	W->ran_ns = 1500000000u;
	recreate(0);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_STRING_EQUAL(W->pauses, "pause 9\nunpause 9\n");
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE "/9/0/vscsi-devs/dev-1"));
	out = w_text(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "guest1: the guest came back as domain 9 (held paused "
	                                   "after 1500 ms of CPU time: its devices arrive as a hot "
	                                   "add); attaching its SCSI devices\n"));
	free(out);
	w_teardown();
}

/* libxl never stores the configuration: said, and the domain is let go. */
static void test_config_never_stored(void)
{
	struct xlp_monitor m;
	char *err;

	w_setup();
	guest_with_devices();
	CU_ASSERT_EQUAL_FATAL(xlp_monitor_init(&W->c, &m, 5), 0);
	destroy_domain(5, UUID5);
	W->c.timeout_ms = 1000;
	w_domain(9, "guest1", UUID5);
	CU_ASSERT_EQUAL(xlp_monitor_step(&W->c, &m, 100), 1);
	CU_ASSERT_STRING_EQUAL(W->pauses, "pause 9\nunpause 9\n");
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(
	    err, "guest1 (id 9): its saved configuration could not be read (libxl did not store "
	         "it in time); SCSI devices NOT attached: run 'xl scsi-resolve guest1'\n");
	free(err);
	w_teardown();
}

static void test_one_monitor_per_guest(void)
{
	int a, b, c;

	w_setup();
	a = xlp_monitor_lock(&W->c, UUID5);
	CU_ASSERT(a >= 0);
	CU_ASSERT_EQUAL(xlp_monitor_lock(&W->c, UUID5), -EBUSY);
	b = xlp_monitor_lock(&W->c, UUID7);
	CU_ASSERT(b >= 0);
	close(a);
	c = xlp_monitor_lock(&W->c, UUID5);
	CU_ASSERT(c >= 0);
	close(b);
	close(c);
	w_teardown();
}

/* Who starts one: a successful attach; not a dry run, not a refused attach. */
static void test_started_by_commands(void)
{
	static const char *const ok[] = {"scsi-attach", "guest2", "/dev/sdc", "0:0:0:0", NULL};
	static const char *const dry[] = {"scsi-attach", "-N",      "guest1",
	                                  "/dev/sdb",    "0:0:0:0", NULL};
	static const char *const bad[] = {"scsi-attach", "guest1", "/dev/sdz", "0:0:0:0", NULL};
	char *err;

	w_setup();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, dry), 0);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, bad), 1);
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	W->spawn_status = -EAGAIN;
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, ok), 0);
	CU_ASSERT_STRING_EQUAL(W->spawned, "7 ");
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(err,
	                       "scsi-attach: warning: no reboot monitor for domain 7 (Resource "
	                       "temporarily unavailable): after a reboot its SCSI devices come "
	                       "back only with 'xl scsi-resolve'\n");
	free(err);
	w_teardown();
}

static void test_log_lines(void)
{
	char path[PATH_MAX + 32], *text;
	FILE *f;

	w_setup();
	openlog("xl_monitor_ut", LOG_PID, LOG_USER);
	f = xlp_log_open(&W->c, "guest1", LOG_DEBUG, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "first line\nsecond ");
	fprintf(f, "line\nunfinished");
	fclose(f);
	closelog();
	snprintf(path, sizeof(path), "%s/xl-guest1.log", W->fs.root);
	text = golden_read(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strncmp(text, "20", 2), 0); /* a time stamp first */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " xl-pvscsi["));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ": first line\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ": second line\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ": unfinished\n"));
	{
		int lines = 0;

		for (char *p = text; *p; p++)
			lines += *p == '\n';
		CU_ASSERT_EQUAL(lines, 3);
	}
	free(text);
	w_teardown();
}

static void test_renumber(void)
{
	struct xlp_saved s[4];
	struct xlp_saved_list l = {s, 4};
	bool placed[4] = {true, false, false, true};

	memset(s, 0, sizeof(s));
	/* attached: vhost 0 dev-0; kept: vhost 0 dev-0 and dev-2; attached: vhost 0 dev-2 */
	s[0].n = 0;
	s[1].n = 0;
	s[2].n = 2;
	s[3].n = 2;
	xlp_saved_renumber(&l, placed);
	CU_ASSERT_EQUAL(s[0].n, 0);
	CU_ASSERT_EQUAL(s[1].n, 1);
	CU_ASSERT_EQUAL(s[2].n, 3);
	CU_ASSERT_EQUAL(s[3].n, 2);
	/* Another controller has its own numbers. */
	s[1].vhost = 1;
	s[1].n = 0;
	s[2].vhost = 1;
	s[2].n = 0;
	xlp_saved_renumber(&l, placed);
	CU_ASSERT_EQUAL(s[1].n, 0);
	CU_ASSERT_EQUAL(s[2].n, 1);
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"reboot_reattaches", test_reboot_reattaches},
	    {"reboot_devices_connect", test_reboot_devices_connect},
	    {"reboot_missing_device", test_reboot_missing_device},
	    {"not_back_ends", test_not_back_ends},
	    {"front_set_up_left_alone", test_front_set_up_left_alone},
	    {"domain_vanishes_during_creation", test_domain_vanishes_during_creation},
	    {"pause_fails", test_pause_fails},
	    {"paused_after_it_ran", test_paused_after_it_ran},
	    {"config_never_stored", test_config_never_stored},
	    {"one_monitor_per_guest", test_one_monitor_per_guest},
	    {"started_by_commands", test_started_by_commands},
	    {"log_lines", test_log_lines},
	    {"renumber", test_renumber},
	};

	return CU_RUN("xl_monitor", tests);
}
