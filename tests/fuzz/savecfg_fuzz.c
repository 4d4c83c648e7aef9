/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * savecfg_fuzz.c - the domain configuration a save image or a migration
 * stream carries (xl-plugin/saved.c, jsontree.c): an xl save image's header
 * and its libxl JSON or xl config text, which come from another host, or
 * from a file anyone may have written; and the JSON parser (yajl with our bounds) on its own.
 *
 * Input: a mode byte, then either the JSON text, or the save image: its
 * header (the real magic and byte order unless the input says otherwise,
 * the flags, the lengths) followed by the configuration bytes.
 *
 * Checked: the functions answer 0 or a documented negative errno, with a
 * terminated message naming the file on error; an accepted JSON text emits
 * as text that parses back and emits the same again; an accepted list of
 * saved devices has a spec for each, every string terminated within its
 * field, sorted without duplicates, and survives being written into the
 * configuration and read back out unchanged.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fz.h"
#include "../../xl-plugin/xlp.h"

static const char magic[32] = "Xen saved domain, xl format\n \0 \r";

static FZ_NOCOV void check_list(const struct xlp_saved_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct xlp_saved *s = &l->v[i];

		FZ_CHECK(memchr(s->spec, 0, sizeof(s->spec)) &&
		             memchr(s->by_id, 0, sizeof(s->by_id)) &&
		             memchr(s->pdev, 0, sizeof(s->pdev)),
		         "device %zu: a field not terminated", i);
		FZ_CHECK(s->spec[0], "device %u/%u without a spec", s->vhost, s->n);
		if (i)
			FZ_CHECK(s[-1].vhost < s->vhost ||
			             (s[-1].vhost == s->vhost && s[-1].n < s->n),
			         "devices %u/%u and %u/%u out of order or twice", s[-1].vhost,
			         s[-1].n, s->vhost, s->n);
	}
}

static FZ_NOCOV bool same_list(const struct xlp_saved_list *a, const struct xlp_saved_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].vhost != b->v[i].vhost || a->v[i].n != b->v[i].n ||
		    strcmp(a->v[i].spec, b->v[i].spec) || strcmp(a->v[i].by_id, b->v[i].by_id) ||
		    strcmp(a->v[i].pdev, b->v[i].pdev))
			return false;
	return true;
}

static void check_err(const char *err, size_t len, int rc, const char *file)
{
	if (!rc)
		return;
	FZ_CHECK(memchr(err, 0, len) != NULL, "message not terminated");
	if (file)
		FZ_CHECK(!strncmp(err, file, strlen(file)) || strstr(err, "saved configuration"),
		         "error %d does not name the file or what it read: '%s'", rc, err);
	FZ_CHECK(err[0], "error %d without a message", rc);
}

/* An accepted tree: emit, parse back, emit the same; its devices survive a rewrite. */
static void check_tree(yajl_val j)
{
	char err[XLP_ERR_MAX];
	struct xlp_saved_list l, back;
	yajl_val j2 = NULL;
	char *t1 = xlp_json_emit(j), *t2;
	int rc;

	FZ_CHECK(t1, "emit failed");
	rc = xlp_json_parse(t1, strlen(t1), &j2, err, sizeof(err));
	FZ_CHECK(rc == 0, "emitted text does not parse (%s): %.200s", err, t1);
	t2 = xlp_json_emit(j2);
	FZ_CHECK(t2 && !strcmp(t1, t2), "emit, parse, emit differs");
	free(t2);
	free(t1);

	memset(err, 0x5a, sizeof(err));
	rc = xlp_saved_from_json(j, &l, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "saved_from_json: %d", rc);
	check_err(err, sizeof(err), rc, NULL);
	if (rc == 0) {
		yajl_val ci = xlp_json_get(j2, "c_info");
		bool writable = YAJL_IS_OBJECT(j2) && (!ci || YAJL_IS_OBJECT(ci));

		check_list(&l);
		rc = xlp_saved_to_json(j2, &l);
		/* A configuration that is no object, or whose c_info is none, is refused. */
		FZ_CHECK(writable ? rc == 0 : rc == -EINVAL, "saved_to_json: %d", rc);
		if (rc == 0) {
			FZ_CHECK(xlp_saved_from_json(j2, &back, err, sizeof(err)) == 0,
			         "devices written back do not read back: %s", err);
			FZ_CHECK(same_list(&l, &back), "devices written back read back otherwise");
			xlp_saved_free(&back);
		}
		xlp_saved_free(&l);
	}
	yajl_tree_free(j2);
}

static void save_image(struct fz *f)
{
	uint8_t flags = fz_u8(f);
	uint32_t h[4], clen;
	char path[64], err[XLP_ERR_MAX], *name = NULL;
	struct xlp_saved_list l;
	int fd, rc;

	fd = memfd_create("savecfg-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (flags & 1) {
		uint8_t m[32];

		fz_bytes(f, m, sizeof(m));
		if (write(fd, m, sizeof(m)) != (ssize_t)sizeof(m))
			abort();
	} else if (write(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic)) {
		abort();
	}
	h[0] = flags & 2 ? fz_u32(f) : 0x01020304u;
	h[1] = flags & 4 ? 0 : 1; /* JSON, or the xl config text */
	h[2] = 0;
	clen = (uint32_t)f->n;
	h[3] = flags & 8 ? fz_u32(f) : clen + 4; /* the optional data's length */
	if (flags & 16)
		clen = fz_u32(f); /* the configuration's length, as the image claims it */
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    ((flags & 32) == 0 && write(fd, &clen, 4) != 4) ||
	    (f->n && write(fd, f->p, f->n) != (ssize_t)f->n))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(err, 0x5a, sizeof(err));
	rc = xlp_saveimage_read(path, &l, &name, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM || rc == -EIO, "saveimage_read: %d", rc);
	check_err(err, sizeof(err), rc, path);
	if (rc == 0) {
		check_list(&l);
		xlp_saved_free(&l);
	} else {
		FZ_CHECK(!l.n && !name, "a failed read left %zu devices or a name", l.n);
	}
	free(name);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[XLP_ERR_MAX];
	yajl_val j = NULL;
	struct fz f;
	int rc;

	if (size < 1)
		return 0;
	fz_init(&f, data, size);
	if (fz_u8(&f) & 1) {
		save_image(&f);
		return 0;
	}
	memset(err, 0x5a, sizeof(err));
	rc = xlp_json_parse((const char *)f.p, f.n, &j, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "json_parse: %d", rc);
	check_err(err, sizeof(err), rc, NULL);
	FZ_CHECK(rc || j, "parsed without a tree");
	if (rc == 0)
		check_tree(j);
	yajl_tree_free(j);
	return 0;
}
