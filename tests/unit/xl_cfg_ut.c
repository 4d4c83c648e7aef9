/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_cfg_ut.c - vscsi= entries and scsi-attach arguments (valid and invalid,
 * with their exact messages), and domU.cfg files read through libxlutil,
 * against golden files in tests/xl/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../xl/golden.h"
#include "../../xl-plugin/xlp.h"
#include "cu_run.h"

static const char *kind_name(enum xlp_kind k)
{
	return k == XLP_HOST    ? "host"
	       : k == XLP_FILE  ? "file"
	       : k == XLP_MEM   ? "mem"
	       : k == XLP_ISCSI ? "iscsi"
	                        : "cdrom";
}

static void describe(FILE *o, int rc, const struct xlp_entry *e, const char *err)
{
	char canon[XLP_SPEC_MAX + 128];

	if (rc) {
		fprintf(o, "  -> error %d: %s\n", rc, err);
		return;
	}
	CU_ASSERT_EQUAL(xlp_entry_format(e, NULL, canon, sizeof(canon)), 0);
	fprintf(o, "  -> %s (%s, controller %u)\n", canon, kind_name(e->kind), e->vdev.host);
}

/* Lines of a tests/xl input file, comments dropped; blank lines kept (they are cases). */
static char **input_lines(const char *name, size_t *n)
{
	char path[512], *text, *p, **v = NULL;

	snprintf(path, sizeof(path), "tests/xl/%s", name);
	text = golden_read(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	*n = 0;
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		if (p[0] != '#') {
			v = realloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = strdup(p);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	free(text);
	return v;
}

static void test_entries_golden(void)
{
	char *out = NULL;
	size_t len = 0, n;
	FILE *o = open_memstream(&out, &len);
	char **lines = input_lines("entries.in", &n);
	size_t ok = 0, bad = 0;

	for (size_t i = 0; i < n; i++) {
		struct xlp_entry e, back;
		char err[XLP_ERR_MAX], canon[XLP_SPEC_MAX + 128];
		int rc = xlp_entry_parse(lines[i], &e, err, sizeof(err));

		fprintf(o, "'%s'\n", lines[i]);
		describe(o, rc, &e, err);
		if (rc == 0) {
			ok++;
			/* The canonical form means the same thing. */
			CU_ASSERT_EQUAL(xlp_entry_format(&e, NULL, canon, sizeof(canon)), 0);
			CU_ASSERT_EQUAL(xlp_entry_parse(canon, &back, err, sizeof(err)), 0);
			CU_ASSERT_EQUAL(memcmp(&e, &back, sizeof(e)), 0);
		} else {
			bad++;
			CU_ASSERT_EQUAL(rc, -EINVAL);
			CU_ASSERT(err[0] != '\0');
		}
		free(lines[i]);
	}
	free(lines);
	fclose(o);
	/* The input holds both kinds; a parser accepting or refusing all would be caught. */
	CU_ASSERT(ok >= 10);
	CU_ASSERT(bad >= 20);
	CU_ASSERT_EQUAL(golden_check("entries.out", out), 0);
	free(out);
}

static void test_attach_args_golden(void)
{
	char *out = NULL;
	size_t len = 0, n;
	FILE *o = open_memstream(&out, &len);
	char **lines = input_lines("attach-args.in", &n);

	for (size_t i = 0; i < n; i++) {
		char *bar = strstr(lines[i], " | ");
		struct xlp_entry e;
		char err[XLP_ERR_MAX];
		int rc;

		if (!bar) {
			free(lines[i]);
			continue;
		}
		*bar = '\0';
		rc = xlp_entry_parse2(lines[i], bar + 3, &e, err, sizeof(err));
		fprintf(o, "'%s' '%s'\n", lines[i], bar + 3);
		describe(o, rc, &e, err);
		free(lines[i]);
	}
	free(lines);
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("attach-args.out", out), 0);
	free(out);
}

static void test_entry_fields(void)
{
	struct xlp_entry e;
	char err[XLP_ERR_MAX];
	int rc;

	CU_ASSERT_EQUAL_FATAL(
	    xlp_entry_parse("file:/a b.img,ro,bs=4096,3:1:2:7,shareable", &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kind, XLP_FILE);
	CU_ASSERT_STRING_EQUAL(e.pdev, "file:/a b.img");
	CU_ASSERT(e.ro && e.shareable && !e.feature_host);
	CU_ASSERT_EQUAL(e.bs, 4096);
	CU_ASSERT(e.vdev.host == 3 && e.vdev.channel == 1 && e.vdev.target == 2 && e.vdev.lun == 7);
	CU_ASSERT_EQUAL(e.cache, XLP_CACHE_UNSET);

	/* cache= before or after VDEV, the last one written winning as bs= does. */
	CU_ASSERT_EQUAL_FATAL(
	    xlp_entry_parse("file:/i.img,cache=none,0:0:0:0", &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.cache, XLP_CACHE_NONE);
	CU_ASSERT_EQUAL_FATAL(
	    xlp_entry_parse("file:/i.img,0:0:0:0,cache=none,cache=writeback", &e, err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(e.cache, XLP_CACHE_WRITEBACK);
	CU_ASSERT_EQUAL(xlp_entry_parse("mem:1M,0:0:0:0,cache=none", &e, err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cache=none applies to file: LUNs only"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'mem:1M' is a mem: LUN"));

	/* writes=inline: before or after VDEV, kept by the format; file: only, not with cache=none
	 */
	CU_ASSERT_EQUAL_FATAL(
	    xlp_entry_parse("file:/i.img,writes=inline,0:0:0:0,ro", &e, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(e.inline_writes);
	{
		char out[256];

		CU_ASSERT_EQUAL(xlp_entry_format(&e, NULL, out, sizeof(out)), 0);
		CU_ASSERT_STRING_EQUAL(out, "file:/i.img,0:0:0:0,ro,writes=inline");
	}
	CU_ASSERT_EQUAL_FATAL(xlp_entry_parse("file:/i.img,0:0:0:0,writes=inline,writes=io_uring",
	                                      &e, err, sizeof(err)),
	                      0);
	CU_ASSERT_FALSE(e.inline_writes);
	CU_ASSERT_EQUAL(xlp_entry_parse("mem:1M,0:0:0:0,writes=inline", &e, err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "writes=inline applies to file: LUNs only"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'mem:1M' is not one"));
	CU_ASSERT_EQUAL(
	    xlp_entry_parse("file:/i.img,0:0:0:0,cache=none,writes=inline", &e, err, sizeof(err)),
	    -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "writes=inline needs the page cache"));

	/* iscsi://: passed through, so feature-host applies; chap= is PDEV's, bs= is refused. */
	rc = xlp_entry_parse("iscsi://bob@san:3261/iqn.2001-04.com.example:t/2,"
	                     "chap=/etc/pvscsi/chap,0:0:1:0,feature-host",
	                     &e, err, sizeof(err));
	if (rc)
		fprintf(stderr, "iscsi entry: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(e.kind, XLP_ISCSI);
	CU_ASSERT_STRING_EQUAL(e.pdev, "iscsi://bob@san:3261/iqn.2001-04.com.example:t/2");
	CU_ASSERT_STRING_EQUAL(e.chap, "/etc/pvscsi/chap");
	CU_ASSERT(e.feature_host);
	{
		char canon[XLP_SPEC_MAX + 128];

		CU_ASSERT_EQUAL(xlp_entry_format(&e, NULL, canon, sizeof(canon)), 0);
		CU_ASSERT_STRING_EQUAL(canon, "iscsi://bob@san:3261/iqn.2001-04.com.example:t/2,"
		                              "chap=/etc/pvscsi/chap,0:0:1:0,feature-host");
	}
	CU_ASSERT_EQUAL(
	    xlp_entry_parse("iscsi://san/iqn.x:t/0,0:0:0:0,bs=4096", &e, err, sizeof(err)),
	    -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bs= applies to file: and mem: LUNs only"));
	CU_ASSERT_EQUAL(
	    xlp_entry_parse("iscsi://bob%pw@san/iqn.x:t/0,0:0:0:0", &e, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a password in the URL is refused"));
	CU_ASSERT_EQUAL(xlp_entry_parse2("iscsi://bob@san/iqn.x:t/0,chap=/etc/c", "0:0:0:0,ro", &e,
	                                 err, sizeof(err)),
	                0);
	CU_ASSERT(e.ro && !strcmp(e.chap, "/etc/c"));

	/* A host PDEV that is itself H:C:T:L: the first field is always PDEV. */
	CU_ASSERT_EQUAL_FATAL(xlp_entry_parse("1:0:0:0,0:0:0:5", &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kind, XLP_HOST);
	CU_ASSERT_STRING_EQUAL(e.pdev, "1:0:0:0");
	CU_ASSERT_EQUAL(e.vdev.lun, 5);

	CU_ASSERT_EQUAL(xlp_entry_parse(NULL, &e, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(xlp_entry_parse2(NULL, "0:0:0:0", &e, err, sizeof(err)), -EINVAL);
}

static void cfg_case(FILE *o, const char *file, const char *extra)
{
	struct xlp_cfg cfg;
	char err[XLP_ERR_MAX];
	int rc = xlp_cfg_read(file, extra, &cfg, err, sizeof(err));

	fprintf(o, "== %s%s%s\n", file ? file : "(no file)", extra ? " + " : "",
	        extra ? extra : "");
	if (rc) {
		fprintf(o, "error %d: %s\n", rc, err);
		return;
	}
	fprintf(o, "name %s, vscsi= %s, %zu entries\n", cfg.name ? cfg.name : "(none)",
	        cfg.has_vscsi ? "present" : "absent", cfg.n);
	for (size_t i = 0; i < cfg.n; i++) {
		char canon[XLP_SPEC_MAX + 128];

		CU_ASSERT_EQUAL(xlp_entry_format(&cfg.items[i].e, NULL, canon, sizeof(canon)), 0);
		fprintf(o, "  line %d: '%s' -> %s\n", cfg.items[i].line, cfg.items[i].text, canon);
	}
	xlp_cfg_free(&cfg);
}

static void test_cfg_files_golden(void)
{
	static const char *const files[] = {
	    "good.cfg", "bad-entry.cfg", "not-list.cfg",   "nested.cfg",  "syntax.cfg",
	    "none.cfg", "empty.cfg",     "bad-option.cfg", "no-such.cfg",
	};
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[256];

		snprintf(p, sizeof(p), "tests/xl/cfg/%s", files[i]);
		cfg_case(o, p, NULL);
	}
	/* key=value arguments of xl create override the file, as in xl. */
	cfg_case(o, "tests/xl/cfg/good.cfg", "name=\"other\"\nvscsi=['/dev/sdz,3:0:0:0']\n");
	cfg_case(o, NULL, "name=\"cmdline\"\nvscsi=['mem:8M,0:0:0:0','/dev/sg1,0:0:0:1']\n");
	cfg_case(o, NULL, "vscsi=['/dev/sg1,0:0:0:1',\n");
	cfg_case(o, NULL,
	         "vscsi=['file:/img,0:0:0:0,cache=none','file:/img2,cache=writeback,0:0:0:1']\n");
	cfg_case(o, NULL, "vscsi=['mem:8M,0:0:0:0,cache=none']\n");
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("cfg.out", out), 0);
	free(out);
}

static void test_cfg_errors_classified(void)
{
	struct xlp_cfg cfg;
	char err[XLP_ERR_MAX];

	/* Unreadable or unparseable: -EIO, so that create leaves it to Xen's xl. */
	CU_ASSERT_EQUAL(xlp_cfg_read("tests/xl/cfg/syntax.cfg", NULL, &cfg, err, sizeof(err)),
	                -EIO);
	CU_ASSERT_EQUAL(xlp_cfg_read("tests/xl/cfg/no-such.cfg", NULL, &cfg, err, sizeof(err)),
	                -EIO);
	/* Ours to report: -EINVAL with the file and line. */
	CU_ASSERT_EQUAL(xlp_cfg_read("tests/xl/cfg/bad-entry.cfg", NULL, &cfg, err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad-entry.cfg:4: vscsi entry '/dev/sdc,0:0:0'"));
	CU_ASSERT_EQUAL(xlp_cfg_read("tests/xl/cfg/good.cfg", NULL, &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.n, 3);
	CU_ASSERT_EQUAL(cfg.items[1].line, 8);
	CU_ASSERT_EQUAL(cfg.items[2].e.feature_host, true);
	xlp_cfg_free(&cfg);
	CU_ASSERT_EQUAL(
	    xlp_cfg_read_data("vscsi=['mem:1M,0:0:0:0']\n", 24, "image", &cfg, err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(cfg.n, 1);
	xlp_cfg_free(&cfg);
}

/* libxlutil's lexer aborts the process on a NUL byte: refused before it sees one. */
static void test_cfg_nul_refused(void)
{
	static const char text[] = "name='g'\nvscsi=['mem:1M,0:0:0:0']\nextra='a\0b'\n";
	char path[] = "/tmp/xl_cfg_ut-XXXXXX";
	struct xlp_cfg cfg;
	char err[XLP_ERR_MAX];
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	CU_ASSERT_EQUAL(xlp_cfg_read(path, NULL, &cfg, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3: a NUL byte (byte 42 of the file)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_EQUAL(cfg.n, 0);
	CU_ASSERT_EQUAL(xlp_cfg_read_data(text, sizeof(text) - 1, "image", &cfg, err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "image: line 3: a NUL byte"));
	unlink(path);
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"entries_golden", test_entries_golden},
	    {"attach_args_golden", test_attach_args_golden},
	    {"entry_fields", test_entry_fields},
	    {"cfg_files_golden", test_cfg_files_golden},
	    {"cfg_errors_classified", test_cfg_errors_classified},
	    {"a NUL byte refused before libxlutil", test_cfg_nul_refused},
	};

	return CU_RUN("xl_cfg", tests);
}
