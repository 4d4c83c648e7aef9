/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_dryrun_ut.c - scsi-attach / scsi-detach on a fake xenstore and a fake
 * sysfs: the -N listings (golden files), the nodes and permissions a real
 * attach writes, the Reconfiguring handshakes with a simulated pvscsid and
 * frontend, and every refusal (which must change nothing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

#define BE5 "/local/domain/0/backend/vscsi/5"
#define FE5 "/local/domain/5/device/vscsi"
#define RC5 "/libxl/5/device/vscsi"

static const char *const tree5[] = {BE5, FE5, RC5, NULL};

/* Run scsi-attach/-detach with the arguments in @line (blank separated) and log it. */
static int run_logged(FILE *log, const char *line)
{
	char buf[1024], *args[16], *tok, *save = NULL;
	int n = 0, rc;
	char *out, *err;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && n < 15; tok = strtok_r(NULL, " ", &save))
		args[n++] = golden_subst(strdup(tok), "@ROOT@", W->fs.root);
	args[n] = NULL;
	w_reset_output();
	if (!strcmp(args[0], "scsi-attach"))
		rc = w_cmd(xlp_cmd_attach, (const char *const *)args);
	else if (!strcmp(args[0], "scsi-detach"))
		rc = w_cmd(xlp_cmd_detach, (const char *const *)args);
	else
		rc = w_cmd(xlp_cmd_resolve, (const char *const *)args);
	out = w_text(false);
	err = w_text(true);
	fprintf(log, "$ xl %s\n%s%s[exit %d]\n", line, out, err, rc);
	free(out);
	free(err);
	for (int i = 0; i < n; i++)
		free(args[i]);
	return rc;
}

static unsigned int count_before;
static char *ud_before;

static void snapshot(void)
{
	count_before = fake_xs_count(W->fx);
	free(ud_before);
	ud_before = w_read_userdata(5, UUID5);
}

/* Nothing changed since snapshot(): store and saved configuration. */
static void unchanged(int line)
{
	char *ud = w_read_userdata(5, UUID5);
	int ok = fake_xs_count(W->fx) == count_before && ud && ud_before && !strcmp(ud, ud_before);

	if (!ok)
		fprintf(stderr, "\nline %d: something changed (%u -> %u nodes)\n", line,
		        count_before, fake_xs_count(W->fx));
	CU_assertImplementation(ok, (unsigned int)line, "UNCHANGED", __FILE__, "", CU_FALSE);
	free(ud);
}
#define ASSERT_UNCHANGED() unchanged(__LINE__)

static void connect_all(uint32_t dom, uint32_t vh)
{
	/* Pretend the guest runs and the controller has connected. */
	W->paused = 0;
	for (int i = 0; i < 10; i++)
		W->c.sleep_ms(&W->c, 1);
	(void)dom;
	(void)vh;
}

/* The hot add of the tests that start from setup_connected(). */
static const char *const attach_sg2[] = {"scsi-attach", "guest1", "/dev/sg2", "0:0:1:0", NULL};

/* Running guest1 (domain 5) with /dev/sdb at 0:0:0:0, its controller connected. */
static void setup_connected(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	connect_all(5, 0);
	CU_ASSERT_EQUAL_FATAL(w_state(BE5 "/0/state"), 4);
}

/* --------------------------------------------------------------- dry runs */

static void test_dryrun_attach(void)
{
	static const char *const cmds[] = {
	    "scsi-attach -N guest1 /dev/sdb 0:0:0:0",
	    "scsi-attach -N 5 /dev/disk/by-id/wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbb2 "
	    "1:0:0:3,feature-host",
	    "scsi-attach -N guest1 " NAA_B ":0 0:0:0:1,shareable",
	    "scsi-attach -N guest1 2:0:1:0 0:0:0:1",
	    "scsi-attach -N guest1 /dev/sg2 0:0:1:0,ro",
	    "scsi-attach -N guest1 file:@ROOT@/disk.img,ro 0:1:0:0",
	    "scsi-attach -N guest1 mem:64M 2:0:0:0",
	};
	char *log = NULL;
	size_t len = 0;
	FILE *o;

	w_setup();
	snapshot();
	o = open_memstream(&log, &len);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		CU_ASSERT_EQUAL(run_logged(o, cmds[i]), 0);
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("dryrun-attach.out", log), 0);
	ASSERT_UNCHANGED();
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/state"), "");
	free(log);
	w_teardown();
}

static void test_dryrun_hot_and_detach(void)
{
	static const char *const cmds[] = {
	    "scsi-attach -N guest1 /dev/sdc 0:0:1:0",
	    "scsi-detach -N guest1 0:0:0:0",
	    "scsi-detach -N guest1 1:0:0:0",
	};
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	char *log = NULL;
	size_t len = 0;
	FILE *o;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	{
		/* A second controller, never connected: detaching it just removes it. */
		struct xlp_entry e;
		struct xlp_dev d;
		char err[XLP_ERR_MAX];

		W->sim = SIM_OFF;
		CU_ASSERT_EQUAL_FATAL(xlp_entry_parse("mem:8M,1:0:0:0", &e, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(xlp_dev_resolve(&W->c, &e, &d, err, sizeof(err)), 0);
		{
			struct xlp_attach_opts ao = {.no_wait = true};

			CU_ASSERT_EQUAL_FATAL(xlp_attach_dev(&W->c, 5, &d, &ao, NULL, NULL), 0);
		}
		W->sim = SIM_OK;
	}
	/* Only controller 0 gets connected: its backend answers, controller 1 is left at 1. */
	W->paused = 0;
	for (int i = 0; i < 6; i++)
		sim_vhost(5, 0);
	CU_ASSERT_EQUAL(w_state(BE5 "/0/state"), 4);
	CU_ASSERT_EQUAL(w_state(BE5 "/0/vscsi-devs/dev-0/state"), 4);
	CU_ASSERT_EQUAL(w_state(BE5 "/1/state"), 1);
	snapshot();
	o = open_memstream(&log, &len);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		CU_ASSERT_EQUAL(run_logged(o, cmds[i]), 0);
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("dryrun-hot-detach.out", log), 0);
	ASSERT_UNCHANGED();
	free(log);
	w_teardown();
}

/* ----------------------------------------------------------- real attach */

static void test_attach_paused(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "file:@ROOT@/disk.img,ro",
	                                 "0:0:3:0", NULL};
	char *tree, *ud, *both;
	char img[PATH_MAX + 32];
	const char *a2r[5];

	w_setup();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a1), 0);
	/* The domain is paused: the front waited only for pvscsid to take the controller. */
	CU_ASSERT_EQUAL(w_state(BE5 "/0/state"), 2);
	CU_ASSERT(W->ticks >= 1);
	snprintf(img, sizeof(img), "file:%s/disk.img,ro", W->fs.root);
	memcpy(a2r, a2, sizeof(a2r));
	a2r[2] = img;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a2r), 0);
	tree = w_dump_str(tree5);
	ud = golden_subst(w_read_userdata(5, UUID5), W->fs.root, "@ROOT@");
	both = malloc(strlen(tree) + strlen(ud) + 64);
	sprintf(both, "%s--- libxl-json\n%s\n", tree, ud);
	CU_ASSERT_EQUAL(golden_check("attach-paused.tree", both), 0);
	/* The saved configuration keeps the stable identity, not the host numbers. */
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-0/spec\":\"" NAA_A ":0,0:0:0:0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1"));
	CU_ASSERT_PTR_NULL(strstr(ud, "\"2:0:0:0"));
	free(tree);
	free(ud);
	free(both);
	w_teardown();
}

/* A read-only host LUN: ",ro" on p-dev for pvscsid, in the saved spec, and in the listing. */
static void test_attach_ro_host(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:1:0,ro", NULL};
	static const char *const a2[] = {"scsi-attach", "guest2", "/dev/sg2", "0:0:0:0", NULL};
	static const char *const a3[] = {"scsi-attach", "guest1", NAA_B ":0", "0:0:2:0", NULL};
	uint32_t doms[] = {5};
	char *ud, *txt;

	w_setup();
	W->paused = 0;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-dev"), "2:0:1:0,ro");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-devname"), NAA_B ":0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, RC5 "/0/dev-0/options"), "ro");
	CU_ASSERT_EQUAL(w_state(BE5 "/0/vscsi-devs/dev-0/state"), 4);
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi/0/dev-0/spec\":\"" NAA_B ":0,0:0:1:0,ro\""));
	free(ud);
	/* The ",ro" does not hide the LUN from the checks: held here, refused there. */
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a2), 1);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a3), 1);
	txt = w_text(true);
	CU_ASSERT_STRING_EQUAL(
	    txt, "scsi-attach: PDEV '/dev/sg2' (2:0:1:0) is already assigned to domain guest1 "
	         "(id 5) as v-dev 0:0:1:0; to share it on purpose, give both attachments the "
	         "option 'shareable'\n"
	         "scsi-attach: PDEV '" NAA_B ":0' is already assigned to this domain, guest1 "
	         "(id 5), as v-dev 0:0:1:0 (controller 0, dev-0)\n");
	free(txt);
	w_reset_output();
	CU_ASSERT_EQUAL(xlp_list(&W->c, doms, 1, false), 0);
	txt = w_text(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, " 2:0:1:0,ro "));
	free(txt);
	w_teardown();
}

/*
 * cache=none: on p-dev for pvscsid (which opens the file O_DIRECT), in the
 * saved spec and in the listing; cache=writeback, the default, only in the
 * saved spec, as written.  writes=inline reaches p-dev and the saved spec.
 */
static void test_attach_file_cache(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "file:@ROOT@/disk.img,cache=none",
	                                 "0:0:1:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "file:@ROOT@/other.img",
	                                 "0:0:2:0,ro,cache=writeback,writes=inline", NULL};
	uint32_t doms[] = {5};
	char *a[2][5] = {{NULL}}, *ud, *txt;
	const char *args[2][5] = {{NULL}};

	w_setup();
	W->paused = 0;
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 4; k++)
			args[i][k] = a[i][k] =
			    golden_subst(strdup((i ? a2 : a1)[k]), "@ROOT@", W->fs.root);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, args[0]), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, args[1]), 0);
	txt = golden_subst(strdup(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-dev")), W->fs.root,
	                   "@ROOT@");
	CU_ASSERT_STRING_EQUAL(txt, "file:@ROOT@/disk.img,cache=none");
	free(txt);
	txt = golden_subst(strdup(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-1/p-dev")), W->fs.root,
	                   "@ROOT@");
	CU_ASSERT_STRING_EQUAL(txt, "file:@ROOT@/other.img,ro,writes=inline");
	free(txt);
	ud = golden_subst(w_read_userdata(5, UUID5), W->fs.root, "@ROOT@");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(ud, "\"pvscsi/0/dev-0/spec\":\"file:@ROOT@/disk.img,0:0:1:0,cache=none\""));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(ud, "\"pvscsi/0/dev-1/spec\":\"file:@ROOT@/other.img,0:0:2:0,ro,cache=writeback,"
	               "writes=inline\""));
	free(ud);
	w_reset_output();
	CU_ASSERT_EQUAL(xlp_list(&W->c, doms, 1, false), 0);
	txt = w_text(false);
	/* the widest p-dev sets the column */
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "/disk.img,cache=none        0:0:1:0 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "/other.img,ro,writes=inline 0:0:2:0 "));
	free(txt);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 5; k++)
			free(a[i][k]);
	w_teardown();
}

static void test_attach_running_new_controller(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};

	w_setup();
	W->paused = 0;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a1), 0);
	/* A running guest connects: the front waited for the device itself. */
	CU_ASSERT_EQUAL(w_state(BE5 "/0/vscsi-devs/dev-0/state"), 4);
	CU_ASSERT_EQUAL(w_state(BE5 "/0/state"), 4);
	w_teardown();
}

static void test_attach_hot(void)
{
	char *tree;

	setup_connected();
	fake_xs_clear_history(W->fx);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, attach_sg2), 0);
	/* Reconfiguring handshake: 7 by the toolstack, 8 then 4 by the backend. */
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/state"), "7,8,4");
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/vscsi-devs/dev-1/state"), "1,3,4");
	tree = w_dump_str(tree5);
	CU_ASSERT_EQUAL(golden_check("attach-hot.tree", tree), 0);
	free(tree);
	w_teardown();
}

static void test_attach_hot_refused_by_backend(void)
{
	char *err;

	setup_connected();
	W->sim = SIM_DEV_BAD;
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, attach_sg2), 1);
	err = w_text(true);
	CU_ASSERT_EQUAL(golden_check("attach-refused.err", err), 0);
	/* Cleaned up: the dev is gone, the saved configuration as before. */
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-1"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0/dev-1"));
	ASSERT_UNCHANGED();
	free(err);
	w_teardown();
}

static void test_attach_timeout_cleans_up(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	char *err;

	w_setup();
	W->sim = SIM_OFF;
	W->c.timeout_ms = 1000;
	snapshot();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a1), 1);
	CU_ASSERT_EQUAL(W->slept, 1000);
	err = w_text(true);
	CU_ASSERT_EQUAL(golden_check("attach-timeout.err", err), 0);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, FE5 "/0"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0"));
	ASSERT_UNCHANGED();
	free(err);
	w_teardown();
}

/* Every refusal names the problem and changes nothing. */
static void test_attach_errors(void)
{
	static const char *const setup1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const setup2[] = {"scsi-attach", "guest2", "/dev/sg2", "0:0:0:0", NULL};
	static const char *const cmds[] = {
	    "scsi-attach nosuchguest /dev/sdb 0:0:0:0",
	    "scsi-attach 99 /dev/sdb 0:0:0:0",
	    "scsi-attach guest1 /dev/sdz 0:0:1:0",
	    "scsi-attach guest1 naa.60014050000000000000000000000000:0 0:0:1:0",
	    "scsi-attach guest1 /dev/sdb1 0:0:1:0",
	    "scsi-attach guest1 /dev/vda 0:0:1:0",
	    "scsi-attach guest1 9:0:0:0 0:0:1:0",
	    "scsi-attach guest1 /dev/sdd 0:0:0:0",
	    "scsi-attach guest1 /dev/sg1 0:0:1:0",
	    "scsi-attach guest1 " NAA_A ":0 0:0:1:0",
	    "scsi-attach guest1 /dev/sdc 0:0:1:0",
	    "scsi-attach guest1 /dev/sdd 0:0:1:0,feature-host",
	    "scsi-attach guest1 /dev/sdd 1:0:1:0,ro,feature-host",
	    "scsi-attach guest1 file:@ROOT@/nothere.img 0:0:1:0",
	    "scsi-attach guest1 file:@ROOT@ 0:0:1:0",
	    "scsi-attach guest1 mem:16M 0:0:1:0,cache=none",
	    "scsi-attach guest1 /dev/sdd 0:0:1:0,cache=none",
	    "scsi-attach guest1 file:@ROOT@/disk.img,cache=off 0:0:1:0",
	    "scsi-attach Domain-0 /dev/sdd 0:0:1:0",
	    "scsi-attach guest1 /dev/sdd",
	};
	char *log = NULL;
	size_t len = 0;
	FILE *o;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, setup1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, setup2), 0);
	snapshot();
	o = open_memstream(&log, &len);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		CU_ASSERT_NOT_EQUAL(run_logged(o, cmds[i]), 0);
		ASSERT_UNCHANGED();
	}
	/* pvscsid not running: refused before anything else. */
	W->running = 0;
	CU_ASSERT_NOT_EQUAL(run_logged(o, "scsi-attach guest1 /dev/sdd 0:0:1:0"), 0);
	ASSERT_UNCHANGED();
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("attach-errors.out", log), 0);
	free(log);
	w_teardown();
}

static void test_shareable_on_purpose(void)
{
	static const char *const s1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0,shareable",
	                                 NULL};
	static const char *const s2[] = {"scsi-attach", "guest2", NAA_A ":0", "0:0:0:0,shareable",
	                                 NULL};
	static const char *const s3[] = {"scsi-attach", "guest2", "/dev/sdc", "0:0:0:1", NULL};
	static const char *const s4[] = {"scsi-attach", "guest1", "/dev/sg2", "0:0:0:1,shareable",
	                                 NULL};

	w_setup();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, s1), 0);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, s2), 0);
	/* Both sides must say so. */
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, s3), 0);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, s4), 1);
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, "/libxl/7/device/vscsi/0/dev-0/options"),
	                       "shareable");
	w_teardown();
}

static void test_no_identity_warns(void)
{
	static const char *const a[] = {"scsi-attach", "guest1", "/dev/sdd", "0:0:0:0", NULL};
	char *err;

	w_setup();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a), 0);
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: PDEV '/dev/sdd' (3:0:0:0) has no stable "
	                                   "identity"));
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-devname"), "/dev/sdd");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-dev"), "3:0:0:0");
	free(err);
	w_teardown();
}

/* A T10 identity of blanks is no identity: the warning, and the name as given is saved. */
static void test_blank_identity_warns(void)
{
	static const char *const a[] = {"scsi-attach", "guest1", "/dev/sde", "0:0:0:0", NULL};
	struct fake_scsi_dev blank = {
	    .host = 4, .type = 0, .wwid = "t10.                    ", .sg = "sg4", .block = "sde"};
	char *err;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &blank), 0);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a), 0);
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: PDEV '/dev/sde' (4:0:0:0) has no stable "
	                                   "identity"));
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, BE5 "/0/vscsi-devs/dev-0/p-devname"), "/dev/sde");
	free(err);
	w_teardown();
}

static void test_stale_backend_dirs_removed(void)
{
	static const char *const a[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};

	w_setup();
	/* Left behind by a domain 9 that is gone; it holds /dev/sdb. */
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/local/domain/0/backend/vscsi/9/0/state", "4"), 0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0,
	                              "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev",
	                              "2:0:0:0"),
	                0);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a), 0);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9"));
	w_teardown();
}

/* ----------------------------------------------------------- real detach */

static void test_detach_hot(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:0:1", NULL};
	static const char *const d1[] = {"scsi-detach", "guest1", "0:0:0:1", NULL};
	static const char *const d2[] = {"scsi-detach", "guest1", "0:0:0:0", NULL};
	static const char *const d3[] = {"scsi-detach", "guest1", "0:0:0:0", NULL};
	char *ud;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	connect_all(5, 0);
	CU_ASSERT_EQUAL_FATAL(w_state(BE5 "/0/vscsi-devs/dev-1/state"), 4);
	fake_xs_clear_history(W->fx);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d1), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/vscsi-devs/dev-1/state"), "5,6");
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/state"), "7,8,4");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-1"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0/dev-1"));
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-0"));
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NULL(strstr(ud, "pvscsi/0/dev-1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "pvscsi/0/dev-0"));
	free(ud);
	/* The last one takes the controller with it, after the close handshake. */
	fake_xs_clear_history(W->fx);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d2), 0);
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/state"), "7,8,4,5,6");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, FE5 "/0"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0"));
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NULL(strstr(ud, "pvscsi/"));
	free(ud);
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d3), 1);
	ud = w_text(true);
	CU_ASSERT_STRING_EQUAL(
	    ud, "scsi-detach: domain guest1 (id 5) has no SCSI device at v-dev 0:0:0:0 (see "
	        "xl scsi-list)\n");
	free(ud);
	w_teardown();
}

/*
 * scsi-insert / scsi-eject: p-dev names the new medium, medium-seq asks
 * pvscsid, the saved configuration follows; pvscsid's refusal (the guest
 * locked the tray) and its silence put p-dev back; bad images, a disk
 * v-dev or an unknown one change nothing.
 */
static void test_medium_change(void)
{
#define DEV2 BE5 "/0/vscsi-devs/dev-1"
	char a[PATH_MAX + 16], b[PATH_MAX + 16], pa[PATH_MAX + 32], pb[PATH_MAX + 32];
	char bad[PATH_MAX + 16], real[PATH_MAX];
	const char *at_disk[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	const char *at_cd[] = {"scsi-attach", "guest1", pa, "0:0:0:1", NULL};
	const char *ins_b[] = {"scsi-insert", "guest1", "0:0:0:1", b, NULL};
	const char *ins_a[] = {"scsi-insert", "guest1", "0:0:0:1", a, NULL};
	const char *ins_b_dry[] = {"scsi-insert", "-N", "guest1", "0:0:0:1", b, NULL};
	const char *ej[] = {"scsi-eject", "guest1", "0:0:0:1", NULL};
	const char *ej_force[] = {"scsi-eject", "--force", "guest1", "0:0:0:1", NULL};
	const char *ins_disk[] = {"scsi-insert", "guest1", "0:0:0:0", b, NULL};
	const char *ins_none[] = {"scsi-insert", "guest1", "0:0:0:7", b, NULL};
	const char *ins_missing[] = {"scsi-insert", "guest1", "0:0:0:1", "/nonexistent/c.iso",
	                             NULL};
	const char *ins_rel[] = {"scsi-insert", "guest1", "0:0:0:1", "b.iso", NULL};
	const char *ins_bad[] = {"scsi-insert", "guest1", "0:0:0:1", bad, NULL};
	const char *ins_usage[] = {"scsi-insert", "guest1", "0:0:0:1", NULL};
	char *ud;
	FILE *f;

	w_setup();
	snprintf(a, sizeof(a), "%s/a.iso", W->fs.root);
	snprintf(b, sizeof(b), "%s/b.iso", W->fs.root);
	snprintf(bad, sizeof(bad), "%s/bad.iso", W->fs.root);
	f = fopen(bad, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("not 2048 bytes", f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(a, real));
	snprintf(pa, sizeof(pa), "cdrom:%s", real);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(b, real));
	snprintf(pb, sizeof(pb), "cdrom:%s", real);

	/* A drive not connected yet: p-dev is what it will open with, no waiting. */
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, at_disk), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, at_cd), 0);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), pa);
	W->sim = SIM_OFF;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_b), 0);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), pb);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/medium-seq"), "1");
	W->sim = SIM_OK;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_a), 0);
	connect_all(5, 0);
	CU_ASSERT_EQUAL_FATAL(w_state(DEV2 "/state"), 4);

	/* Connected: pvscsid answers; the saved configuration names the new disc. */
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_b), 0);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), pb);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/medium-seq"), "3");
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/medium-done"), "3");
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/medium-force"), "0");
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, pb));
	CU_ASSERT_PTR_NULL(strstr(ud, pa));
	free(ud);

	/* The guest locked the tray: pvscsid says so, p-dev keeps the disc. */
	W->medium_error = "medium removal is prevented by the guest";
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_eject, ej), 1);
	ERR_HAS("scsi-eject: v-dev 0:0:0:1 of domain guest1: medium removal is prevented");
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), pb);
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, pb));
	free(ud);
	/* --force */
	W->medium_error = NULL;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_eject, ej_force), 0);
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), "cdrom:");
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/medium-force"), "1");
	CU_ASSERT_STRING_EQUAL(node(RC5 "/0/dev-1/pdev"), "cdrom:");

	/* pvscsid silent: a clear word, p-dev put back. */
	W->sim = SIM_OFF;
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_b), 1);
	ERR_HAS("pvscsid did not answer the medium change");
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), "cdrom:");
	W->sim = SIM_OK;

	/* Refusals before anything is written. */
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_disk), 1);
	ERR_HAS("v-dev 0:0:0:0 of domain guest1 is p-dev '2:0:0:0', not a CD-ROM drive");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_none), 1);
	ERR_HAS("has no SCSI device at v-dev 0:0:0:7");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_missing), 1);
	ERR_HAS("image '/nonexistent/c.iso': No such file or directory");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_rel), 1);
	ERR_HAS("image 'b.iso': give an absolute path");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_bad), 1);
	ERR_HAS("14 bytes is not a positive multiple of 2048");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_usage), 2);
	ERR_HAS("Usage: xl [-N] scsi-insert");
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_insert, ins_b_dry), 0);
	ASSERT_UNCHANGED();
	CU_ASSERT_STRING_EQUAL(node(DEV2 "/p-dev"), "cdrom:");
	w_teardown();
#undef DEV2
}

/* The tail of another handshake: the frontend acts on state 8 only once the sim runs again. */
static unsigned int resume_after;
static void resume_sim(struct world *w)
{
	if (w->ticks >= resume_after)
		w->sim = SIM_OK;
}

/*
 * A controller caught in another tool's Reconfiguring handshake: the attach waits for it
 * to end and then makes its own.  A device added in state 8 without a 7 of its own would
 * never be opened (the backend scans for new devices on 7 only).
 */
static void test_attach_waits_for_running_reconfiguration(void)
{
	setup_connected();
	CU_ASSERT_EQUAL_FATAL(fake_xs_write(W->fx, 0, BE5 "/0/state", "8"), 0);
	W->sim = SIM_OFF;
	resume_after = W->ticks + 3;
	W->tick_hook = resume_sim;
	fake_xs_clear_history(W->fx);
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, attach_sg2), 0);
	/* 4 ends the other handshake; then this attach's own 7, 8, 4. */
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/state"), "4,7,8,4");
	CU_ASSERT_STRING_EQUAL(fake_xs_history(W->fx, BE5 "/0/vscsi-devs/dev-1/state"), "1,3,4");
	W->tick_hook = NULL;
	w_teardown();
}

/* The other handshake ends with the controller closing (its guest shut down, say). */
static void close_controller(struct world *w)
{
	if (w->ticks >= resume_after)
		fake_xs_write(w->fx, 0, BE5 "/0/state", "5");
}

static void test_attach_refuses_controller_closed_meanwhile(void)
{
	char *err;

	setup_connected();
	CU_ASSERT_EQUAL_FATAL(fake_xs_write(W->fx, 0, BE5 "/0/state", "8"), 0);
	W->sim = SIM_OFF;
	resume_after = W->ticks + 2;
	W->tick_hook = close_controller;
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, attach_sg2), 1);
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(err, "scsi-attach: v-dev 0:0:1:0 of domain guest1 (id 5): "
	                            "controller 0 is closing or gone after its reconfiguration "
	                            "(backend state 5); nothing was changed\n");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-1"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, RC5 "/0/dev-1"));
	ASSERT_UNCHANGED();
	W->tick_hook = NULL;
	free(err);
	w_teardown();
}

/* A handshake that never ends: the attach says so and writes nothing. */
static void test_attach_refuses_stuck_reconfiguration(void)
{
	char *err;

	setup_connected();
	CU_ASSERT_EQUAL_FATAL(fake_xs_write(W->fx, 0, BE5 "/0/state", "7"), 0);
	W->sim = SIM_OFF;
	W->c.timeout_ms = 500;
	snapshot();
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, attach_sg2), 1);
	err = w_text(true);
	CU_ASSERT_STRING_EQUAL(err,
	                       "scsi-attach: v-dev 0:0:1:0 of domain guest1 (id 5): controller 0 "
	                       "is still reconfiguring after 0 s (backend state 7); nothing was "
	                       "changed\n");
	ASSERT_UNCHANGED();
	free(err);
	w_teardown();
}

static void test_detach_paused_and_stuck(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:0:1", NULL};
	static const char *const d1[] = {"scsi-detach", "guest1", "0:0:0:1", NULL};
	static const char *const d0[] = {"scsi-detach", "guest1", "0:0:0:0", NULL};

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	/* Never connected: no handshake, the nodes go at once. */
	W->sim = SIM_OFF;
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d1), 0);
	CU_ASSERT_EQUAL(W->ticks, 1); /* only the attaches' wait */
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-1"));
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d0), 0);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, BE5 "/0"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, FE5 "/0"));

	/* Connected, but the guest never lets go: the detach says so and keeps the device. */
	W->sim = SIM_OK;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	connect_all(5, 0);
	W->sim = SIM_OFF;
	W->c.timeout_ms = 500;
	w_reset_output();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_detach, d0), 1);
	{
		char *err = w_text(true);

		CU_ASSERT_STRING_EQUAL(
		    err, "scsi-detach: hot remove: no answer within 0 s (backend state 7, "
		         "frontend state 4, dev-0 state 5)\n");
		free(err);
	}
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, BE5 "/0/vscsi-devs/dev-0/p-dev"));
	w_teardown();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"dryrun_attach", test_dryrun_attach},
	    {"dryrun_hot_and_detach", test_dryrun_hot_and_detach},
	    {"attach_paused", test_attach_paused},
	    {"attach_ro_host", test_attach_ro_host},
	    {"attach_file_cache", test_attach_file_cache},
	    {"attach_running_new_controller", test_attach_running_new_controller},
	    {"attach_hot", test_attach_hot},
	    {"attach_hot_refused_by_backend", test_attach_hot_refused_by_backend},
	    {"attach_timeout_cleans_up", test_attach_timeout_cleans_up},
	    {"attach waits for a running reconfiguration",
	     test_attach_waits_for_running_reconfiguration},
	    {"attach refuses a stuck reconfiguration", test_attach_refuses_stuck_reconfiguration},
	    {"attach refuses a controller closed meanwhile",
	     test_attach_refuses_controller_closed_meanwhile},
	    {"attach_errors", test_attach_errors},
	    {"shareable_on_purpose", test_shareable_on_purpose},
	    {"no_identity_warns", test_no_identity_warns},
	    {"a blank T10 identity warns", test_blank_identity_warns},
	    {"stale_backend_dirs_removed", test_stale_backend_dirs_removed},
	    {"detach_hot", test_detach_hot},
	    {"detach_paused_and_stuck", test_detach_paused_and_stuck},
	    {"medium_change", test_medium_change},
	};

	return CU_RUN("xl_dryrun", tests);
}
