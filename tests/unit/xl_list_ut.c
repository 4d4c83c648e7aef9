/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_list_ut.c - xl scsi-list on a fake xenstore: the historical text
 * columns and --json (which must also be valid JSON), against golden files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

static void populate(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "file:/x", "0:0:1:0", NULL};
	static const char *const a3[] = {"scsi-attach", "guest1", "/dev/sg2",
	                                 "1:0:0:5,feature-host", NULL};
	static const char *const a4[] = {"scsi-attach", "guest2", "mem:32M", "0:0:0:0,shareable",
	                                 NULL};
	/* a tape drive, attached by its no-rewind node: scsi-list says what it is */
	static const char *const a5[] = {"scsi-attach", "guest2", "/dev/nst0", "0:0:1:0", NULL};
	struct fake_scsi_dev tape = {.host = 4,
	                             .type = 1,
	                             .vendor = "IBM",
	                             .model = "ULT3580-TD5",
	                             .sg = "sg5",
	                             .tape = "st0"};
	char img[PATH_MAX + 32];
	const char *a2r[5];

	/* and its library's robot, which nobody holds */
	struct fake_scsi_dev changer = {.host = 4,
	                                .lun = 1,
	                                .type = 8,
	                                .vendor = "IBM",
	                                .model = "3573-TL",
	                                .sg = "sg6",
	                                .changer = "sch0"};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &tape), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &changer), 0);
	snprintf(img, sizeof(img), "file:%s/disk.img,ro", W->fs.root);
	memcpy(a2r, a2, sizeof(a2r));
	a2r[2] = img;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2r), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a3), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a4), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a5), 0);
	/* guest1 runs: controller 0 and 1 connect; guest2 stays paused. */
	W->paused = 0;
	for (int i = 0; i < 6; i++) {
		sim_vhost(5, 0);
		sim_vhost(5, 1);
	}
	/* A controller whose p-dev is not an H:C:T:L (written by another tool). */
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0,
	                              "/local/domain/0/backend/vscsi/7/3/vscsi-devs/dev-2/p-dev",
	                              "/dev/sg3"),
	                0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0,
	                              "/local/domain/0/backend/vscsi/7/3/vscsi-devs/dev-2/v-dev",
	                              "3:0:0:0"),
	                0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0,
	                              "/local/domain/0/backend/vscsi/7/3/vscsi-devs/dev-2/state",
	                              "1"),
	                0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/local/domain/0/backend/vscsi/7/3/state", "1"), 0);
}

/*
 * In every table of @text (a header line starting with @cols[0], then its
 * rows up to a blank line, a "NAME (id N):" line or the next "$ " line),
 * each column starts where its header @cols[k] does: one long cell widens
 * its whole column.
 */
static void check_aligned(const char *text, const char *const *cols)
{
	size_t starts[16], ns = 0;
	unsigned int tables = 0, rows = 0;

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);

		if (!strncmp(l, cols[0], strlen(cols[0]))) {
			for (ns = 0; cols[ns] && ns < 16; ns++) {
				const char *at = strstr(l, cols[ns]);

				CU_ASSERT_FATAL(at && at < l + len);
				starts[ns] = (size_t)(at - l);
			}
			tables++;
		} else if (!len || !strncmp(l, "$ ", 2) || l[len - 1] == ':') {
			ns = 0;
		} else if (ns) {
			for (size_t k = 1; k < ns; k++) {
				bool ok = starts[k] < len && l[starts[k] - 1] == ' ' &&
				          l[starts[k]] != ' ';

				if (!ok)
					fprintf(stderr, "\ncolumn %zu out of line: '%.*s'\n", k,
					        (int)len, l);
				CU_ASSERT(ok);
			}
			rows++;
		}
		l += len + (e ? 1 : 0);
	}
	CU_ASSERT(tables > 0);
	CU_ASSERT(rows > 0);
}

static const char *const list_cols[] = {"Idx",      "BE",       "state", "ctrl", "phy-hctl",
                                        "vir-hctl", "devstate", "type",  NULL};
static const char *const assignable_cols[] = {"H:C:T:L", "type",    "devices",  "vendor",
                                              "model",   "held by", "identity", NULL};

/* Runs of blanks as one: the golden file must not depend on the length of $TMPDIR. */
static void squeeze(char *s)
{
	char *o = s;

	for (char *i = s; *i; i++)
		if (*i != ' ' || o == s || o[-1] != ' ')
			*o++ = *i;
	*o = '\0';
}

/* Run a list command; with @head, its tables are checked for alignment first (as printed). */
static char *run_list(const char *const *args, int *rc, const char *const *head)
{
	char *o, *e, *both;

	w_reset_output();
	*rc = w_cmd(strcmp(args[0], "scsi-list") ? xlp_cmd_assignable_list : xlp_cmd_list, args);
	if (head) {
		fflush(W->c.out);
		check_aligned(W->out ? W->out : "", head);
	}
	o = w_text(false);
	e = w_text(true);
	both = malloc(strlen(o) + strlen(e) + 1);
	strcpy(both, o);
	strcat(both, e);
	free(o);
	free(e);
	return both;
}

static void test_list_text(void)
{
	static const char *const l1[] = {"scsi-list", "guest1", NULL};
	static const char *const l2[] = {"scsi-list", "5", "guest2", NULL};
	static const char *const l3[] = {"scsi-list", "0", NULL};
	char *a, *b, *c, *all;
	int rc;

	w_setup();
	populate();
	a = run_list(l1, &rc, list_cols);
	CU_ASSERT_EQUAL(rc, 0);
	b = run_list(l2, &rc, list_cols);
	CU_ASSERT_EQUAL(rc, 0);
	c = run_list(l3, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	all = malloc(strlen(a) + strlen(b) + strlen(c) + 100);
	sprintf(all, "$ xl scsi-list guest1\n%s$ xl scsi-list 5 guest2\n%s$ xl scsi-list 0\n%s", a,
	        b, c);
	/* @ROOT@ stands for the temporary root: alignment was checked on the real text. */
	squeeze(all);
	CU_ASSERT_EQUAL(golden_check("list.out", all), 0);
	free(a);
	free(b);
	free(c);
	free(all);
	w_teardown();
}

/* A state that names none shows its number, an absent one "-"; JSON names neither. */
static void test_list_state_unnamed(void)
{
	static const char *const l[] = {"scsi-list", "guest2", NULL};
	static const char *const j[] = {"scsi-list", "--json", "guest2", NULL};
	yajl_val js = NULL, dev;
	char err[256], *out;
	int rc;

	w_setup();
	populate();
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0,
	                              "/local/domain/0/backend/vscsi/7/3/vscsi-devs/dev-2/state",
	                              "12"),
	                0);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/0/backend/vscsi/7/3/state"), 0);
	out = run_list(l, &rc, list_cols);
	CU_ASSERT_EQUAL(rc, 0);
	squeeze(out);
	if (!strstr(out, "\n2 0 - 3 3:0:0:0 3:0:0:0 12 disk\n"))
		fprintf(stderr, "\n%s", out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n2 0 - 3 3:0:0:0 3:0:0:0 12 disk\n"));
	free(out);
	out = run_list(j, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(xlp_json_parse(out, strlen(out), &js, err, sizeof(err)), 0);
	{
		const char *path[] = {"controllers", NULL};
		yajl_val ctrls = yajl_tree_get(js->u.array.values[0], path, yajl_t_array);
		yajl_val c3 = ctrls && ctrls->u.array.len == 2 ? ctrls->u.array.values[1] : NULL;
		yajl_val devs = xlp_json_get(c3, "devs");

		CU_ASSERT_FATAL(YAJL_IS_ARRAY(devs) && devs->u.array.len == 1);
		dev = devs->u.array.values[0];
		CU_ASSERT_STRING_EQUAL(YAJL_GET_NUMBER(xlp_json_get(c3, "state")), "-1");
		CU_ASSERT(YAJL_IS_NULL(xlp_json_get(c3, "state-name")));
		CU_ASSERT_STRING_EQUAL(YAJL_GET_NUMBER(xlp_json_get(dev, "state")), "12");
		CU_ASSERT(YAJL_IS_NULL(xlp_json_get(dev, "state-name")));
	}
	yajl_tree_free(js);
	free(out);
	w_teardown();
}

/* Every LUN of the host, its type, and who holds it (guest1's two, guest2's tape). */
static void test_assignable(void)
{
	static const char *const t[] = {"scsi-assignable-list", NULL};
	static const char *const j[] = {"scsi-assignable-list", "--json", NULL};
	static const char *const bad[] = {"scsi-assignable-list", "guest1", NULL};
	yajl_val js = NULL;
	char err[256], *a, *b, *all;
	int rc;

	w_setup();
	populate();
	a = run_list(t, &rc, assignable_cols);
	CU_ASSERT_EQUAL(rc, 0);
	b = run_list(j, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	all = malloc(strlen(a) + strlen(b) + 100);
	sprintf(all, "$ xl scsi-assignable-list\n%s$ xl scsi-assignable-list --json\n%s", a, b);
	CU_ASSERT_EQUAL(golden_check("assignable.out", all), 0);
	CU_ASSERT_EQUAL_FATAL(xlp_json_parse(b, strlen(b), &js, err, sizeof(err)), 0);
	CU_ASSERT_FATAL(YAJL_IS_ARRAY(js));
	CU_ASSERT_EQUAL(js->u.array.len, 5);
	yajl_tree_free(js);
	free(a);
	free(b);
	free(all);
	a = run_list(bad, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 2);
	free(a);
	w_teardown();
}

static void test_list_json(void)
{
	static const char *const l[] = {"scsi-list", "--json", "guest1", "guest2", NULL};
	static const char *const bad[] = {"scsi-list", "guest1", "nobody", NULL};
	static const char *const none[] = {"scsi-list", NULL};
	yajl_val j = NULL;
	char err[256], *out;
	int rc;

	w_setup();
	populate();
	out = run_list(l, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(golden_check("list.json", out), 0);
	/* Valid JSON, with what a script needs. */
	CU_ASSERT_EQUAL_FATAL(xlp_json_parse(out, strlen(out), &j, err, sizeof(err)), 0);
	CU_ASSERT_FATAL(YAJL_IS_ARRAY(j));
	CU_ASSERT_EQUAL(j->u.array.len, 2);
	{
		yajl_val ctrls = xlp_json_get(j->u.array.values[0], "controllers");
		yajl_val devs = YAJL_IS_ARRAY(ctrls) && ctrls->u.array.len
		                    ? xlp_json_get(ctrls->u.array.values[0], "devs")
		                    : NULL;

		CU_ASSERT_FATAL(YAJL_IS_ARRAY(devs));
		CU_ASSERT_EQUAL(ctrls->u.array.len, 2);
		CU_ASSERT_EQUAL_FATAL(devs->u.array.len, 2);
		CU_ASSERT_STRING_EQUAL(
		    YAJL_GET_STRING(xlp_json_get(devs->u.array.values[0], "p-devname")),
		    NAA_A ":0");
		CU_ASSERT_STRING_EQUAL(
		    YAJL_GET_NUMBER(xlp_json_get(devs->u.array.values[0], "state")), "4");
		CU_ASSERT_STRING_EQUAL(
		    YAJL_GET_STRING(xlp_json_get(devs->u.array.values[0], "state-name")),
		    "Connected");
	}
	/* guest2's controller 3 has no frontend: its state -1 has no name. */
	{
		yajl_val ctrls = xlp_json_get(j->u.array.values[1], "controllers");
		yajl_val c3 = YAJL_IS_ARRAY(ctrls) && ctrls->u.array.len == 2
		                  ? ctrls->u.array.values[1]
		                  : NULL;

		CU_ASSERT_PTR_NOT_NULL_FATAL(c3);
		CU_ASSERT_STRING_EQUAL(YAJL_GET_NUMBER(xlp_json_get(c3, "frontend-state")), "-1");
		CU_ASSERT(YAJL_IS_NULL(xlp_json_get(c3, "frontend-state-name")));
		CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(xlp_json_get(c3, "state-name")),
		                       "Initialising");
	}
	yajl_tree_free(j);
	free(out);

	/* An unknown domain: nothing listed, exit 1. */
	out = run_list(bad, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_STRING_EQUAL(out, "scsi-list: unknown domain 'nobody'\n");
	free(out);
	out = run_list(none, &rc, NULL);
	CU_ASSERT_EQUAL(rc, 2);
	free(out);
	w_teardown();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"list_text", test_list_text},
	    {"list_json", test_list_json},
	    {"list_state_unnamed", test_list_state_unnamed},
	    {"assignable", test_assignable},
	};

	return CU_RUN("xl_list", tests);
}
