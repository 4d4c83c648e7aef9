/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_saved_ut.c - what makes attachments survive save/restore/migration:
 * the JSON module, c_info.xsdata in libxl's saved configuration, xl save
 * images, and the create / restore / scsi-resolve flows on a fake dom0 whose
 * SCSI host is renumbered between save and restore (as a rescan or another
 * host does).  Xen's xl is simulated through the run_xl seam.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"
#include "cu_run.h"

/* ------------------------------------------------------------------ JSON */

static void test_json_round_trip(void)
{
	static const char *const texts[] = {
	    "{\"a\":1,\"b\":[true,false,null,-0.5e+3,\"x\"],\"c\":{}}",
	    "[]",
	    "\"\\u00e9\\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\\t\"",
	    "{\"c_info\":{\"xsdata\":{\"k\":\"v\"},\"name\":\"g\"},\"n\":12345678901234567890}",
	};
	static const char *const want[] = {
	    "{\"a\":1,\"b\":[true,false,null,-0.5e+3,\"x\"],\"c\":{}}",
	    "[]",
	    "\"\xc3\xa9\xf0\x9f\x98\x80 \\\"q\\\" \\\\ / \\n\\t\"",
	    "{\"c_info\":{\"xsdata\":{\"k\":\"v\"},\"name\":\"g\"},\"n\":12345678901234567890}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		yajl_val j = NULL, k = NULL;
		char err[256], *a, *b;

		CU_ASSERT_EQUAL_FATAL(
		    xlp_json_parse(texts[i], strlen(texts[i]), &j, err, sizeof(err)), 0);
		a = xlp_json_emit(j);
		CU_ASSERT_STRING_EQUAL(a, want[i]);
		CU_ASSERT_EQUAL_FATAL(xlp_json_parse(a, strlen(a), &k, err, sizeof(err)), 0);
		b = xlp_json_emit(k);
		CU_ASSERT_STRING_EQUAL(a, b);
		free(a);
		free(b);
		yajl_tree_free(j);
		yajl_tree_free(k);
	}
}

static void test_json_errors(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"", "JSON at byte 0: parse error: premature EOF"},
	    {"{\"a\":1} x", "JSON at byte 9: parse error: trailing garbage"},
	    {"{\"a\" 1}", "JSON at byte 6: parse error: object key and value must be separated "
	                  "by a colon (':')"},
	    {"{a:1}", "JSON at byte 2: lexical error: invalid char in json text."},
	    {"[1,]", "JSON at byte 4: parse error: unallowed token at this point in JSON text"},
	    {"[1 2]", "JSON at byte 4: parse error: after array element, I expect ',' or ']'"},
	    {"\"abc", "JSON at byte 4: parse error: premature EOF"},
	    {"\"a\\qb\"", "JSON at byte 3: lexical error: inside a string, '\\' occurs before a "
	                  "character which it may not."},
	    {"\"\\u0000\"", "JSON at byte 8: NUL in string"},
	    {"{\"a\\u0000b\":1}", "JSON at byte 11: NUL in string"},
	    {"\"\\u12g4\"", "JSON at byte 5: lexical error: invalid (non-hex) character occurs "
	                    "after '\\u' inside string."},
	    {"\"a\tb\"", "JSON at byte 2: lexical error: invalid character inside string."},
	    {"tru", "JSON at byte 3: lexical error: invalid string in json text."},
	    {"01", "JSON at byte 2: parse error: trailing garbage"},
	    {"-", "JSON at byte 1: lexical error: malformed number, a digit is required after the "
	          "minus sign."},
	    /* yajl_tree_parse would take comments; libxl never writes them */
	    {"/*c*/{}", "JSON at byte 0: lexical error: probable comment found in input text, "
	                "comments are not enabled."},
	};
	char deep[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		yajl_val j = (yajl_val)1;
		char err[256];

		CU_ASSERT_EQUAL(
		    xlp_json_parse(bad[i].text, strlen(bad[i].text), &j, err, sizeof(err)),
		    -EINVAL);
		CU_ASSERT_PTR_NULL(j);
		if (strcmp(err, bad[i].msg))
			fprintf(stderr, "\n'%s': '%s'\n", bad[i].text, err);
		CU_ASSERT_STRING_EQUAL(err, bad[i].msg);
	}
	/* Nesting is bounded: a save image is not trusted to be sane. */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	{
		yajl_val j = NULL;
		char err[256];

		CU_ASSERT_EQUAL(xlp_json_parse(deep, 200, &j, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "nested deeper than 64"));
		CU_ASSERT_EQUAL(xlp_json_parse(deep + 36, 128, &j, err, sizeof(err)), 0);
		yajl_tree_free(j);
	}
	/* libxl stores its NUL: tolerated; a NUL anywhere else is not. */
	{
		yajl_val j = NULL;
		char err[256];

		CU_ASSERT_EQUAL(xlp_json_parse("{}\0\0", 4, &j, err, sizeof(err)), 0);
		yajl_tree_free(j);
		j = NULL;
		CU_ASSERT_EQUAL(xlp_json_parse("\"a\0b\"", 5, &j, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NULL(j);
		CU_ASSERT_EQUAL(xlp_json_parse("{}\0{}", 5, &j, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NULL(j);
	}
	/*
	 * A lone UTF-16 surrogate is read as libxl's yajl reads it (a high one
	 * becomes '?', a low one its 3-byte form) and written back the same.
	 */
	{
		static const char *const lone[][2] = {{"\"\\ud800x\"", "\"?x\""},
		                                      {"\"\\udc00\"", "\"\xed\xb0\x80\""}};

		for (size_t i = 0; i < 2; i++) {
			yajl_val j = NULL;
			char err[256], *e;

			CU_ASSERT_EQUAL_FATAL(
			    xlp_json_parse(lone[i][0], strlen(lone[i][0]), &j, err, sizeof(err)),
			    0);
			e = xlp_json_emit(j);
			CU_ASSERT_STRING_EQUAL(e, lone[i][1]);
			free(e);
			yajl_tree_free(j);
		}
	}
}

static void test_json_random_bytes(void)
{
	/* Garbage never crashes the parser (ASan watches) and is refused or accepted cleanly. */
	uint32_t x = 12345;

	for (int round = 0; round < 5000; round++) {
		char buf[64];
		yajl_val j = NULL;
		char err[128];
		size_t n = (size_t)(round % 63) + 1;

		for (size_t i = 0; i < n; i++) {
			static const char alphabet[] = "{}[]\",:\\u0123456789abcdeftrnl -+.eE";

			x = x * 1103515245u + 12345u;
			buf[i] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		if (xlp_json_parse(buf, n, &j, err, sizeof(err)) == 0) {
			char *e = xlp_json_emit(j);

			CU_ASSERT_PTR_NOT_NULL(e);
			free(e);
		}
		yajl_tree_free(j);
	}
}

/* ------------------------------------------------------------- xsdata */

static void test_xsdata_in_config(void)
{
	const char *cfg = "{\"c_info\":{\"name\":\"g\",\"xsdata\":{\"other/key\":\"keep\","
	                  "\"pvscsi/0/dev-9/spec\":\"old,0:0:0:9\"}},\"b_info\":{}}";
	yajl_val j = NULL;
	struct xlp_saved_list l = {0}, back = {0};
	struct xlp_saved s[2];
	char err[256], *out;

	CU_ASSERT_EQUAL_FATAL(xlp_json_parse(cfg, strlen(cfg), &j, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(xlp_saved_from_json(j, &l, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.v[0].spec, "old,0:0:0:9");
	xlp_saved_free(&l);

	memset(s, 0, sizeof(s));
	s[0].vhost = 1;
	s[0].n = 0;
	strcpy(s[0].spec, NAA_A ":0,1:0:0:0,feature-host");
	strcpy(s[0].by_id, "/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1");
	strcpy(s[0].pdev, "/dev/sdb");
	s[1].vhost = 0;
	s[1].n = 2;
	strcpy(s[1].spec, "file:/srv/a.img,0:0:0:2,ro");
	l.v = s;
	l.n = 2;
	CU_ASSERT_EQUAL(xlp_saved_to_json(j, &l), 0);
	out = xlp_json_emit(j);
	CU_ASSERT_STRING_EQUAL(
	    out,
	    "{\"c_info\":{\"name\":\"g\",\"xsdata\":{\"other/key\":\"keep\","
	    "\"pvscsi/1/dev-0/spec\":\"" NAA_A ":0,1:0:0:0,feature-host\","
	    "\"pvscsi/1/dev-0/by-id\":\"/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1\","
	    "\"pvscsi/1/dev-0/pdev\":\"/dev/sdb\",\"pvscsi/0/dev-2/spec\":\"file:/srv/a.img,0:0:0:"
	    "2,ro\"}},\"b_info\":{}}");
	free(out);
	/* Read back in (vhost, dev) order. */
	CU_ASSERT_EQUAL(xlp_saved_from_json(j, &back, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(back.n, 2);
	CU_ASSERT_EQUAL(back.v[0].vhost, 0);
	CU_ASSERT_STRING_EQUAL(back.v[1].by_id, s[0].by_id);
	xlp_saved_free(&back);
	/* Removing every device leaves the other keys alone. */
	l.n = 0;
	CU_ASSERT_EQUAL(xlp_saved_to_json(j, &l), 0);
	out = xlp_json_emit(j);
	CU_ASSERT_STRING_EQUAL(out,
	                       "{\"c_info\":{\"name\":\"g\",\"xsdata\":{\"other/key\":\"keep\"}},"
	                       "\"b_info\":{}}");
	free(out);
	yajl_tree_free(j);

	/* A configuration without xsdata stays without it when nothing is saved. */
	CU_ASSERT_EQUAL_FATAL(xlp_json_parse("{\"c_info\":{}}", 13, &j, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(xlp_saved_to_json(j, &l), 0);
	out = xlp_json_emit(j);
	CU_ASSERT_STRING_EQUAL(out, "{\"c_info\":{}}");
	free(out);
	yajl_tree_free(j);

	/* Malformed keys are reported, not guessed at. */
	{
		const char *t = "{\"c_info\":{\"xsdata\":{\"pvscsi/x/dev-0/spec\":\"a\"}}}";

		CU_ASSERT_EQUAL_FATAL(xlp_json_parse(t, strlen(t), &j, err, sizeof(err)), 0);
	}
	CU_ASSERT_EQUAL(xlp_saved_from_json(j, &l, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "saved configuration: malformed key 'pvscsi/x/dev-0/spec'");
	yajl_tree_free(j);
}

/* ------------------------------------------------------------ save images */

static char *write_image(const char *name, uint32_t flags, const char *config)
{
	static const char magic[32] = "Xen saved domain, xl format\n \0 \r";
	char *path = malloc(PATH_MAX + 64);
	uint32_t h[4], len = (uint32_t)strlen(config) + 1;
	FILE *f;

	snprintf(path, PATH_MAX + 64, "%s/%s", W->fs.root, name);
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	h[0] = 0x01020304u;
	h[1] = flags;
	h[2] = 0;
	h[3] = len + 4;
	fwrite(magic, 1, 32, f);
	fwrite(h, 4, 4, f);
	fwrite(&len, 4, 1, f);
	fwrite(config, 1, len, f);
	fputs("...the domain's memory would follow...", f);
	fclose(f);
	return path;
}

#define IMAGE_JSON                                                                                 \
	"{\"c_info\":{\"type\":\"pv\",\"name\":\"guest9\",\"uuid\":\"" UUID9                       \
	"\",\"xsdata\":{\"pvscsi/0/dev-0/spec\":\"" NAA_A                                          \
	":0,0:0:0:0\",\"pvscsi/0/dev-0/by-id\":\"/dev/disk/by-id/"                                 \
	"wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1\",\"pvscsi/0/dev-0/pdev\":\"/dev/sdb\","           \
	"\"pvscsi/1/dev-0/spec\":\"" NAA_B ":0,1:0:0:3,feature-host\"}},\"b_info\":{}}"
#define UUID9 "11111111-2222-3333-4444-000000000009"

static void test_save_image_read(void)
{
	struct xlp_saved_list l;
	char *name, err[XLP_ERR_MAX], *p;

	w_setup();
	p = write_image("json.save", 1 | 2, IMAGE_JSON);
	CU_ASSERT_EQUAL(xlp_saveimage_read(p, &l, &name, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(name, "guest9");
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.v[1].spec, NAA_B ":0,1:0:0:3,feature-host");
	xlp_saved_free(&l);
	free(name);
	free(p);

	/* Old images carry the xl config text. */
	p = write_image("text.save", 0,
	                "name = \"old\"\nvscsi = [ '/dev/sdb,0:0:0:0', 'mem:4M,0:0:0:1' ]\n");
	CU_ASSERT_EQUAL(xlp_saveimage_read(p, &l, &name, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(name, "old");
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.v[1].n, 1);
	CU_ASSERT_STRING_EQUAL(l.v[1].spec, "mem:4M,0:0:0:1");
	xlp_saved_free(&l);
	free(name);
	free(p);

	/* In the order the JSON path gives: by controller, then in the config's order. */
	p = write_image("order.save", 0,
	                "name = \"o\"\nvscsi = [ 'mem:1M,1:0:0:0', 'mem:2M,0:0:0:1', "
	                "'mem:3M,1:0:0:2' ]\n");
	CU_ASSERT_EQUAL(xlp_saveimage_read(p, &l, &name, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT(l.v[0].vhost == 0 && l.v[0].n == 0);
	CU_ASSERT_STRING_EQUAL(l.v[0].spec, "mem:2M,0:0:0:1");
	CU_ASSERT(l.v[1].vhost == 1 && l.v[1].n == 0);
	CU_ASSERT_STRING_EQUAL(l.v[1].spec, "mem:1M,1:0:0:0");
	CU_ASSERT(l.v[2].vhost == 1 && l.v[2].n == 1);
	CU_ASSERT_STRING_EQUAL(l.v[2].spec, "mem:3M,1:0:0:2");
	xlp_saved_free(&l);
	free(name);
	free(p);

	/* Not an image; a lying length. */
	p = write_image("bad.save", 1, "{}");
	{
		FILE *f = fopen(p, "r+b");

		fputc('Y', f);
		fclose(f);
	}
	CU_ASSERT_EQUAL(xlp_saveimage_read(p, &l, &name, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an xl save image"));
	free(p);
	p = write_image("len.save", 1, "{}");
	{
		FILE *f = fopen(p, "r+b");
		uint32_t big = 0x7fffffff;

		fseek(f, 48, SEEK_SET);
		fwrite(&big, 4, 1, f);
		fclose(f);
	}
	CU_ASSERT_EQUAL(xlp_saveimage_read(p, &l, &name, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no usable domain configuration"));
	free(p);
	w_teardown();
}

/* ------------------------------------------------------- restore / create */

static const char *new_cfg_json;

/* Xen's xl, as far as the front can tell: it makes domain 9 from the image or the file. */
static int fake_xl(struct world *w, char *const argv[])
{
	int i = 1;

	while (argv[i] && argv[i][0] == '-' && strcmp(argv[i], "create") &&
	       strcmp(argv[i], "restore"))
		i++;
	if (argv[i] && (!strcmp(argv[i], "restore") || !strcmp(argv[i], "create"))) {
		bool paused = false;

		for (int k = i; argv[k]; k++)
			paused |= !strcmp(argv[k], "-p");
		CU_ASSERT_TRUE(paused); /* the front always creates paused */
		w_domain(9, "guest9", UUID9);
		w_write_userdata(9, UUID9, new_cfg_json);
	}
	return w->xl_status;
}

static void renumber_host(uint32_t host, bool with_b)
{
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	w_add_disks(host);
	if (!with_b) {
		/* The second disk is not on this host: rebuild without it. */
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
		{
			struct fake_scsi_dev a = {
			    .host = host,
			    .wwid = NAA_A,
			    .sg = "sg1",
			    .block = "sdb",
			    .by_id = "wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
			};

			CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &a), 0);
		}
	}
}

/* xl restore @img, nothing else on the command line. */
static int restore(char *img)
{
	char *argv[] = {"restore", img, NULL};

	return xlp_cmd_restore(&W->c, 2, argv, NULL, 0);
}

/* A save image of guest9 with both controllers, restored through the fake xl. */
static char *g9_image(void)
{
	new_cfg_json = IMAGE_JSON;
	W->xl_hook = fake_xl;
	return write_image("g9.save", 1 | 2, IMAGE_JSON);
}

static void test_restore_renumbered_host(void)
{
	static const char *const be9[] = {"/local/domain/0/backend/vscsi/9",
	                                  "/local/domain/9/device/vscsi", NULL};
	char *img, *tree, *ud, *all;

	w_setup();
	img = g9_image();
	/* Saved on a host where the disks were host 2; here they are host 6. */
	renumber_host(6, true);
	CU_ASSERT_EQUAL(restore(img), 0);
	CU_ASSERT_STRING_EQUAL(W->spawned, "9 ");
	tree = w_dump_str(be9);
	ud = w_read_userdata(9, UUID9);
	all = malloc(strlen(tree) + strlen(ud) + strlen(W->xl_calls) + 64);
	sprintf(all, "%s--- libxl-json\n%s\n--- xl\n%s", tree, ud, W->xl_calls);
	all = golden_subst(all, img, "@IMAGE@");
	CU_ASSERT_EQUAL(golden_check("restore.tree", all), 0);
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev"),
	    "6:0:0:0");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/1/vscsi-devs/dev-0/p-dev"),
	    "6:0:1:0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/1/feature-host"),
	                       "1");
	free(tree);
	free(ud);
	free(all);
	free(img);
	w_teardown();
}

/*
 * This host's SCSI hosts for the adapter test: an HBA (PCI 0000:00:1f.2,
 * unique_id 1) at @hba with a disk without any identity at 0:1:0, and,
 * when @usb, a USB host (another PCI device, also unique_id 1) at @usb
 * with a disk at the same 0:1:0.
 */
static void adapter_world(uint32_t hba, uint32_t usb)
{
	struct fake_scsi_host h = {.host = hba, .pci = "0000:00:1f.2", .unique_id = "1"};
	struct fake_scsi_dev d = {
	    .host = hba, .pci = h.pci, .target = 1, .sg = "sg1", .block = "sdb"};
	struct fake_scsi_host u = {.host = usb, .pci = "0000:00:14.0", .unique_id = "1"};
	struct fake_scsi_dev ud = {
	    .host = usb, .pci = u.pci, .target = 1, .sg = "sg0", .block = "sda"};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&W->fs, &h), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &d), 0);
	if (usb) {
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_host(&W->fs, &u), 0);
		CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &ud), 0);
	}
}

/*
 * A LUN attached by libvirt's adapter form (PCI parent and unique_id) is
 * kept by that form, not by host numbers: saved on a host where the HBA was
 * host 3, restored after a reboot in which a USB disk took host 3 (with a
 * LUN at the same bus:target:unit) and the HBA became host 7, it is found
 * at 7:0:1:0.  The disk has no identity: the adapter form is all there is.
 */
static void test_restore_adapter_form(void)
{
	const char *const at[] = {"scsi-attach", "guest1", "pci_0000_00_1f_2/unique_id=1:0:1:0",
	                          "0:0:0:0", NULL};
	char *ud, *img;

	w_setup();
	adapter_world(3, 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, at), 0);
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/5/0/vscsi-devs/dev-0/p-dev"),
	    "3:0:1:0");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/5/0/vscsi-devs/dev-0/p-devname"),
	    "pci_0000_00_1f_2/unique_id=1:0:1:0");
	ud = w_read_userdata(5, UUID5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ud);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "pci_0000_00_1f_2/unique_id=1:0:1:0,0:0:0:0"));
	/* The same configuration in a save image of guest9. */
	ud = golden_subst(ud, UUID5, UUID9);
	ud = golden_subst(ud, "\"guest1\"", "\"guest9\"");
	new_cfg_json = ud;
	W->xl_hook = fake_xl;
	img = write_image("adapter.save", 1, ud);

	adapter_world(7, 3);
	CU_ASSERT_EQUAL(restore(img), 0);
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev"),
	    "7:0:1:0");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-devname"),
	    "pci_0000_00_1f_2/unique_id=1:0:1:0");
	free(img);
	free(ud);
	w_teardown();
}

static void test_restore_missing_device(void)
{
	char *img, *err, *ud;

	w_setup();
	img = g9_image();
	renumber_host(4, false);
	/* Refused before any domain exists. */
	CU_ASSERT_EQUAL(restore(img), 1);
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	err = golden_subst(w_text(true), img, "@IMAGE@");
	CU_ASSERT_EQUAL(golden_check("restore-missing.err", err), 0);
	free(err);
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/9"));

	/* Asked to go on without it: the rest is attached, and the saved config drops it. */
	w_reset_output();
	{
		char *argv[] = {"restore", "--vscsi-missing-ok", img, NULL};

		CU_ASSERT_EQUAL(xlp_cmd_restore(&W->c, 3, argv, NULL, 0), 0);
	}
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev"),
	    "4:0:0:0");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9/1"));
	ud = w_read_userdata(9, UUID9);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "pvscsi/0/dev-0/spec"));
	CU_ASSERT_PTR_NULL(strstr(ud, "pvscsi/1/"));
	free(ud);
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning: p-dev '" NAA_B ":0': no SCSI device carries"));
	free(err);
	free(img);
	w_teardown();
}

/* xl restore without SCSI devices is none of the front's business. */
static void test_restore_passthrough(void)
{
	char *img;

	w_setup();
	img = write_image("plain.save", 1 | 2, "{\"c_info\":{\"name\":\"plain\"}}");
	CU_ASSERT_EQUAL(restore(img), -1);
	CU_ASSERT_EQUAL(restore("/no/such/image"), -1);
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	free(img);
	w_teardown();
}

static char *write_cfg(const char *name, const char *text)
{
	char *path = malloc(PATH_MAX + 64);
	FILE *f;

	snprintf(path, PATH_MAX + 64, "%s/%s", W->fs.root, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define CFG9                                                                                       \
	"name = \"guest9\"\ntype = \"pv\"\nmemory = 256\n"                                         \
	"vscsi = [ '/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1,0:0:0:0',\n"            \
	"          '/dev/sg2,1:0:0:1,feature-host' ]\n"

static int create(const char *const *args)
{
	char *argv[12];
	int n = 0;

	while (args[n]) {
		argv[n] = (char *)args[n];
		n++;
	}
	argv[n] = NULL;
	return xlp_cmd_create(&W->c, n, argv, NULL, 0);
}

static void test_create_with_vscsi(void)
{
	static const char *const be9[] = {"/local/domain/0/backend/vscsi/9",
	                                  "/local/domain/9/device/vscsi", NULL};
	char *cfg, *tree, *ud, *all;
	const char *args[4];

	w_setup();
	cfg = write_cfg("g9.cfg", CFG9);
	new_cfg_json = "{\"c_info\":{\"type\":\"pv\",\"name\":\"guest9\"},\"b_info\":{}}";
	W->xl_hook = fake_xl;
	args[0] = "create";
	args[1] = cfg;
	args[2] = NULL;
	CU_ASSERT_EQUAL(create(args), 0);
	/* A reboot monitor follows the new domain. */
	CU_ASSERT_STRING_EQUAL(W->spawned, "9 ");
	tree = w_dump_str(be9);
	ud = w_read_userdata(9, UUID9);
	all = malloc(strlen(tree) + strlen(ud) + strlen(W->xl_calls) + 64);
	sprintf(all, "%s--- libxl-json\n%s\n--- xl\n%s", tree, ud, W->xl_calls);
	all = golden_subst(all, cfg, "@CFG@");
	CU_ASSERT_EQUAL(golden_check("create.tree", all), 0);
	free(tree);
	free(ud);
	free(all);
	free(cfg);
	w_teardown();
}

/*
 * vscsi= with a whole bus: its LUNs attached at create, the group in the
 * record and in the saved configuration (members are not saved one by one:
 * the group brings them back), next to an ordinary entry on another
 * controller; a group whose range covers another entry is refused and the
 * domain destroyed.
 */
static void test_create_with_group(void)
{
	char *cfg, *ud;
	const char *args[3] = {"create", NULL, NULL};

	w_setup();
	cfg =
	    write_cfg("grp.cfg", "name = \"guest9\"\ntype = \"pv\"\n"
	                         "vscsi = [ 'scsi_host2:0:*:*,0:0:*:*,ro', '/dev/sdd,1:0:0:0' ]\n");
	new_cfg_json = "{\"c_info\":{\"type\":\"pv\",\"name\":\"guest9\"},\"b_info\":{}}";
	W->xl_hook = fake_xl;
	args[1] = cfg;
	CU_ASSERT_EQUAL(create(args), 0);
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev"),
	    "2:0:0:0,ro");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-1/p-dev"),
	    "2:0:1:0,ro");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/1/vscsi-devs/dev-0/p-dev"),
	    "3:0:0:0");
	CU_ASSERT_STRING_EQUAL(fake_xs_get(W->fx, "/libxl/9/device/vscsi/0/group-0/pdev"),
	                       "scsi_host2:0:*:*");
	ud = w_read_userdata(9, UUID9);
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "\"pvscsi-group/0/0\":\"scsi_host2:0:*:*,0:0:*:*,ro\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(ud, "pvscsi/1/dev-0/spec"));
	CU_ASSERT_PTR_NULL(strstr(ud, "pvscsi/0/dev-"));
	free(ud);
	free(cfg);
	w_teardown();

	w_setup();
	cfg = write_cfg("grp2.cfg", "name = \"guest9\"\ntype = \"pv\"\n"
	                            "vscsi = [ '/dev/sdd,0:0:5:0', 'scsi_host2:0:*:*,0:0:*:*' ]\n");
	W->xl_hook = fake_xl;
	args[1] = cfg;
	w_reset_output();
	CU_ASSERT_EQUAL(create(args), 1);
	{
		char *err = w_text(true);

		CU_ASSERT_PTR_NOT_NULL(strstr(err, "covers v-dev 0:0:5:0"));
		free(err);
	}
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9"));
	free(cfg);
	w_teardown();
}

static void test_create_refusals(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdc", "0:0:0:0", NULL};
	static const struct {
		const char *text;
		const char *opt;
	} cases[] = {
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0',\n'/dev/sdb1,0:0:0:1']\n", NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0',\n'/dev/sg1,0:0:0:1']\n", NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0',\n'mem:1M,0:0:0:0']\n", NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0',\n'mem:1M,0:0:0:1,feature-host']\n", NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0',\n'/dev/sdd,0:0:0:1,feature-host']\n",
	     NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdc,0:0:0:0']\n", NULL},
	    {"name=\"guest9\"\nvscsi=['/dev/sdb,0:0:0:0']\n", "-F"},
	    {"vscsi=['/dev/sdb,0:0:0:0']\n", NULL},
	};
	char *log = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&log, &len);

	w_setup();
	W->xl_hook = fake_xl;
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32], *cfg, *err;
		const char *args[4];
		int rc;

		snprintf(name, sizeof(name), "bad%zu.cfg", i);
		cfg = write_cfg(name, cases[i].text);
		args[0] = "create";
		args[1] = cfg;
		args[2] = cases[i].opt;
		args[3] = NULL;
		w_reset_output();
		rc = create(args);
		err = golden_subst(w_text(true), W->fs.root, "@ROOT@");
		fprintf(o, "$ xl create %s%s%s\n%s[exit %d]\n", name, cases[i].opt ? " " : "",
		        cases[i].opt ? cases[i].opt : "", err, rc);
		CU_ASSERT_EQUAL(rc, 1);
		free(err);
		free(cfg);
	}
	fclose(o);
	/* Nothing reached Xen's xl, no domain was made. */
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	CU_ASSERT_EQUAL(golden_check("create-errors.out", log), 0);
	free(log);
	w_teardown();
}

/* The domain exists, then an attach fails: it is destroyed again. */
static int racing_xl(struct world *w, char *const argv[])
{
	int rc = fake_xl(w, argv);

	if (argv[1] && !strcmp(argv[1], "create")) {
		/* Someone else grabs sg2 for guest2 in the meantime (without the lock). */
		fake_xs_write(W->fx, 0, "/local/domain/0/backend/vscsi/7/0/vscsi-devs/dev-0/p-dev",
		              "2:0:1:0");
		fake_xs_write(W->fx, 0, "/local/domain/0/backend/vscsi/7/0/vscsi-devs/dev-0/v-dev",
		              "0:0:0:0");
	}
	return rc;
}

static void test_create_half_made_destroyed(void)
{
	char *cfg, *err;
	const char *args[3];

	w_setup();
	cfg = write_cfg("g9.cfg", CFG9);
	new_cfg_json = "{\"c_info\":{\"name\":\"guest9\"}}";
	W->xl_hook = racing_xl;
	args[0] = "create";
	args[1] = cfg;
	args[2] = NULL;
	CU_ASSERT_EQUAL(create(args), 1);
	err = golden_subst(w_text(true), cfg, "@CFG@");
	CU_ASSERT_EQUAL(golden_check("create-destroyed.err", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(W->xl_calls, "destroy 9"));
	CU_ASSERT_PTR_NULL(strstr(W->xl_calls, "unpause"));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9"));
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	free(err);
	free(cfg);

	/* Xen's xl failing: its status, nothing else run. */
	w_teardown();
	w_setup();
	cfg = write_cfg("g9.cfg", CFG9);
	W->xl_status = 3;
	args[1] = cfg;
	CU_ASSERT_EQUAL(create(args), 3);
	CU_ASSERT_PTR_NULL(strstr(W->xl_calls, "unpause"));
	free(cfg);
	w_teardown();
}

static void test_create_passthrough_and_dryrun(void)
{
	char *cfg;
	const char *args[5];

	w_setup();
	cfg = write_cfg("plain.cfg", "name=\"plain\"\nmemory=128\n");
	args[0] = "create";
	args[1] = cfg;
	args[2] = NULL;
	CU_ASSERT_EQUAL(create(args), -1);
	free(cfg);
	/* -n: the plan is printed and Xen's xl does its own dry run. */
	cfg = write_cfg("g9.cfg", CFG9);
	args[1] = "-n";
	args[2] = cfg;
	args[3] = "memory=512";
	args[4] = NULL;
	w_reset_output();
	CU_ASSERT_EQUAL(create(args), -1);
	{
		char *out = w_text(false);

		CU_ASSERT_STRING_EQUAL(
		    out,
		    "# vscsi '/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1,0:0:0:0': "
		    "controller 0, p-dev 2:0:0:0, p-devname " NAA_A ":0\n"
		    "# vscsi '/dev/sg2,1:0:0:1,feature-host': controller 1, p-dev 2:0:1:0, "
		    "p-devname " NAA_B ":0\n");
		free(out);
	}
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	free(cfg);
	w_teardown();
}

/* ----------------------------------------------------------- scsi-resolve */

static int run_resolve(FILE *o, const char *const *args, const char *label)
{
	char *o1, *e1;
	int rc;

	w_reset_output();
	rc = w_cmd(xlp_cmd_resolve, args);
	W->c.dry_run = false;
	o1 = w_text(false);
	e1 = w_text(true);
	fprintf(o, "$ xl %s\n%s%s[exit %d]\n", label, o1, e1, rc);
	free(o1);
	free(e1);
	return rc;
}

static void test_scsi_resolve(void)
{
	static const char *const a1[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	static const char *const a2[] = {"scsi-attach", "guest1", "/dev/sdc", "1:0:0:0", NULL};
	static const char *const r[] = {"scsi-resolve", "guest1", NULL};
	static const char *const rn[] = {"scsi-resolve", "-N", "guest1", NULL};
	char *log = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&log, &len);
	int rc;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a1), 0);
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a2), 0);
	rc = run_resolve(o, r, "scsi-resolve guest1"); /* nothing moved */
	/* A rescan moved both disks to host 8; controller 1 has since been removed. */
	renumber_host(8, true);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/0/backend/vscsi/5/1"), 0);
	CU_ASSERT_EQUAL(fake_xs_rm(W->fx, 0, "/local/domain/5/device/vscsi/1"), 0);
	rc = run_resolve(o, rn, "scsi-resolve -N guest1");
	rc = run_resolve(o, r, "scsi-resolve guest1");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/5/0/vscsi-devs/dev-0/p-dev"),
	    "8:0:0:0");
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/5/1/vscsi-devs/dev-0/p-dev"),
	    "8:0:1:0");
	/* Connected devices are not switched under the guest. */
	W->paused = 0;
	for (int i = 0; i < 6; i++) {
		sim_vhost(5, 0);
		sim_vhost(5, 1);
	}
	renumber_host(3, true);
	rc = run_resolve(o, r, "scsi-resolve guest1");
	CU_ASSERT_EQUAL(rc, 1);
	fclose(o);
	CU_ASSERT_EQUAL(golden_check("resolve.out", log), 0);
	free(log);
	w_teardown();
}

int main(void)
{
	static const struct cu_test tests[] = {
	    {"json_round_trip", test_json_round_trip},
	    {"json_errors", test_json_errors},
	    {"json_random_bytes", test_json_random_bytes},
	    {"xsdata_in_config", test_xsdata_in_config},
	    {"save_image_read", test_save_image_read},
	    {"restore_renumbered_host", test_restore_renumbered_host},
	    {"restore_adapter_form", test_restore_adapter_form},
	    {"restore_missing_device", test_restore_missing_device},
	    {"restore_passthrough", test_restore_passthrough},
	    {"create_with_vscsi", test_create_with_vscsi},
	    {"create_with_group", test_create_with_group},
	    {"create_refusals", test_create_refusals},
	    {"create_half_made_destroyed", test_create_half_made_destroyed},
	    {"create_passthrough_and_dryrun", test_create_passthrough_and_dryrun},
	    {"scsi_resolve", test_scsi_resolve},
	};

	return CU_RUN("xl_saved", tests);
}
