/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * saved.c - each attachment's stable identity in the domain's saved
 * configuration, so that it travels with xl save / xl restore / xl migrate.
 *
 * libxl keeps the domain's configuration as JSON in its userdata
 * ("libxl-json", /var/lib/xen/userdata-d.DOMID.UUID.libxl-json); xl save and
 * xl migrate put exactly that JSON into the image or stream, and the
 * receiving libxl stores it again for the new domain.  Its one field that
 * carries opaque toolstack data is c_info.xsdata (a key/value map libxl
 * writes below /local/domain/DOMID at creation), so every attachment is kept
 * there as
 *     pvscsi/VHOST/dev-N/spec   "STABLE-PDEV,VDEV[,OPTION...]"
 *     pvscsi/VHOST/dev-N/by-id  "/dev/disk/by-id/NAME" (a second way to find it)
 *     pvscsi/VHOST/dev-N/pdev   the PDEV as the administrator typed it
 * The file is rewritten under libxl's own userdata lock, the same way libxl
 * writes it (a new file renamed over the old one).  docs/toolstack.md has
 * the reasoning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xlp.h"

#define PREFIX "pvscsi/"

void xlp_saved_free(struct xlp_saved_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmp_saved(const void *a, const void *b)
{
	const struct xlp_saved *x = a, *y = b;

	if (x->vhost != y->vhost)
		return x->vhost < y->vhost ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

static struct xlp_saved *find_or_add(struct xlp_saved_list *l, uint32_t vhost, unsigned int n)
{
	struct xlp_saved *nv;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].vhost == vhost && l->v[i].n == n)
			return &l->v[i];
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	l->v = nv;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].vhost = vhost;
	l->v[l->n].n = n;
	return &l->v[l->n++];
}

/* "pvscsi/V/dev-N/FIELD" */
static bool parse_key(const char *k, uint32_t *vhost, unsigned int *n, const char **field)
{
	char num[16];
	const char *p = k + strlen(PREFIX), *slash;
	uint64_t v;

	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(num))
		return false;
	memcpy(num, p, (size_t)(slash - p));
	num[slash - p] = '\0';
	if (pvx_parse_uint(num, UINT32_MAX, &v))
		return false;
	*vhost = (uint32_t)v;
	p = slash + 1;
	if (strncmp(p, "dev-", 4))
		return false;
	p += 4;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(num))
		return false;
	memcpy(num, p, (size_t)(slash - p));
	num[slash - p] = '\0';
	if (pvx_parse_uint(num, 1u << 20, &v))
		return false;
	*n = (unsigned int)v;
	*field = slash + 1;
	return true;
}

int xlp_saved_from_json(yajl_val dcfg, struct xlp_saved_list *out, char *err, size_t errlen)
{
	static const char *const path[] = {"c_info", "xsdata", NULL};
	yajl_val xs = yajl_tree_get(dcfg, (const char **)path, yajl_t_object);

	out->v = NULL;
	out->n = 0;
	if (!xs)
		return 0;
	for (size_t i = 0; i < xs->u.object.len; i++) {
		const char *k = xs->u.object.keys[i], *field, *str;
		yajl_val val = xs->u.object.values[i];
		struct xlp_saved *s;
		uint32_t vhost;
		unsigned int n;
		char *dst;
		size_t cap;

		if (strncmp(k, PREFIX, strlen(PREFIX)))
			continue;
		if (!parse_key(k, &vhost, &n, &field) || !YAJL_IS_STRING(val)) {
			xlp_snprintf(err, errlen, "saved configuration: malformed key '%s'", k);
			xlp_saved_free(out);
			return -EINVAL;
		}
		if (!strcmp(field, "spec")) {
			cap = sizeof(s->spec);
		} else if (!strcmp(field, "by-id")) {
			cap = sizeof(s->by_id);
		} else if (!strcmp(field, "pdev")) {
			cap = sizeof(s->pdev);
		} else {
			continue; /* a later version's field */
		}
		str = val->u.string;
		if (strlen(str) >= cap) {
			xlp_snprintf(err, errlen, "saved configuration: '%s' is too long", k);
			xlp_saved_free(out);
			return -EINVAL;
		}
		s = find_or_add(out, vhost, n);
		if (!s) {
			xlp_saved_free(out);
			return -ENOMEM;
		}
		dst = !strcmp(field, "spec")    ? s->spec
		      : !strcmp(field, "by-id") ? s->by_id
		                                : s->pdev;
		memcpy(dst, str, strlen(str) + 1);
	}
	for (size_t i = 0; i < out->n; i++) {
		if (!out->v[i].spec[0]) {
			xlp_snprintf(err, errlen,
			             "saved configuration: pvscsi/%u/dev-%u has no spec",
			             out->v[i].vhost, out->v[i].n);
			xlp_saved_free(out);
			return -EINVAL;
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_saved);
	return 0;
}

static int set_str(yajl_val obj, const char *key, const char *val)
{
	return xlp_json_set(obj, key, xlp_json_new_str(val));
}

int xlp_saved_to_json(yajl_val dcfg, const struct xlp_saved_list *l)
{
	yajl_val ci = xlp_json_get(dcfg, "c_info");
	yajl_val xs;
	bool had;
	int rc;

	if (!YAJL_IS_OBJECT(dcfg))
		return -EINVAL;
	if (!ci) {
		rc = xlp_json_set(dcfg, "c_info", xlp_json_new_obj());
		if (rc)
			return rc;
		ci = xlp_json_get(dcfg, "c_info");
	}
	if (!YAJL_IS_OBJECT(ci))
		return -EINVAL;
	xs = xlp_json_get(ci, "xsdata");
	had = YAJL_IS_OBJECT(xs);
	if (!had) {
		rc = xlp_json_set(ci, "xsdata", xlp_json_new_obj());
		if (rc)
			return rc;
		xs = xlp_json_get(ci, "xsdata");
	}
	for (size_t i = 0; i < xs->u.object.len;) {
		if (!strncmp(xs->u.object.keys[i], PREFIX, strlen(PREFIX)))
			xlp_json_del(xs, xs->u.object.keys[i]);
		else
			i++;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct xlp_saved *s = &l->v[i];
		char k[96];

		xlp_snprintf(k, sizeof(k), PREFIX "%u/dev-%u/spec", s->vhost, s->n);
		rc = set_str(xs, k, s->spec);
		if (!rc && s->by_id[0]) {
			xlp_snprintf(k, sizeof(k), PREFIX "%u/dev-%u/by-id", s->vhost, s->n);
			rc = set_str(xs, k, s->by_id);
		}
		if (!rc && s->pdev[0]) {
			xlp_snprintf(k, sizeof(k), PREFIX "%u/dev-%u/pdev", s->vhost, s->n);
			rc = set_str(xs, k, s->pdev);
		}
		if (rc)
			return rc;
	}
	/* Leave a configuration that never had xsdata as it was. */
	if (!had && xs->u.object.len == 0)
		xlp_json_del(ci, "xsdata");
	return 0;
}

void xlp_saved_of_dev(const struct xlp_dev *d, uint32_t vhost, unsigned int n, struct xlp_saved *s)
{
	memset(s, 0, sizeof(*s));
	s->vhost = vhost;
	s->n = n;
	if (xlp_entry_format(&d->e, d->p_devname, s->spec, sizeof(s->spec)))
		s->spec[0] = '\0';
	xlp_snprintf(s->by_id, sizeof(s->by_id), "%s", d->by_id);
	xlp_snprintf(s->pdev, sizeof(s->pdev), "%s", d->e.pdev);
}

static bool n_taken(const struct xlp_saved_list *l, const bool *placed, size_t self, uint32_t vhost,
                    unsigned int n, bool all)
{
	for (size_t j = 0; j < l->n; j++)
		if (j != self && l->v[j].vhost == vhost && l->v[j].n == n &&
		    (all || placed[j] || j < self))
			return true;
	return false;
}

void xlp_saved_renumber(struct xlp_saved_list *l, const bool *placed)
{
	for (size_t i = 0; i < l->n; i++) {
		struct xlp_saved *s = &l->v[i];

		if (placed[i] || !n_taken(l, placed, i, s->vhost, s->n, false))
			continue;
		for (unsigned int n = 0;; n++) {
			if (!n_taken(l, placed, i, s->vhost, n, true)) {
				s->n = n;
				break;
			}
		}
	}
}

/* ------------------------------------------------------------- userdata */

void xlp_userdata_path(const struct xlp_ctx *c, uint32_t domid, const char *uuid, const char *wh,
                       const char *id, char *buf, size_t len)
{
	xlp_snprintf(buf, len, "%s/userdata-%s.%u.%s.%s", c->xen_lib_dir, wh, domid, uuid, id);
}

/* libxl__lock_file(): flock, and make sure the file locked is the one still at @path. */
static int ud_lock(const char *path)
{
	for (;;) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

		if (fd < 0)
			return -errno;
		while (flock(fd, LOCK_EX)) {
			if (errno != EINTR) {
				int rc = -errno;

				close(fd);
				return rc;
			}
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

/* libxl__unlock_file(): unlink before close, or a waiter could lock a dead file. */
static void ud_unlock(const char *path, int fd)
{
	unlink(path);
	close(fd);
}

static int read_all(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b;
	size_t n = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size < 0 || st.st_size > (64 << 20)) {
		close(fd);
		return -EFBIG;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int write_file(const char *tmp, const char *path, const char *data, size_t len)
{
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n < len) {
		ssize_t w = write(fd, data + n, len - n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = w < 0 ? -errno : -EIO;

			close(fd);
			unlink(tmp);
			return rc;
		}
		n += (size_t)w;
	}
	if (close(fd) || rename(tmp, path)) {
		int rc = -errno;

		unlink(tmp);
		return rc;
	}
	return 0;
}

int xlp_userdata_update(struct xlp_ctx *c, uint32_t domid, int (*fn)(yajl_val dcfg, void *arg),
                        void *arg)
{
	char uuid[64], lock[XLP_PATH_MAX], d[XLP_PATH_MAX], n[XLP_PATH_MAX];
	char err[256];
	char *text = NULL, *out = NULL;
	size_t len = 0;
	yajl_val j = NULL;
	int fd, rc;

	rc = xlp_domain_uuid(c, domid, uuid, sizeof(uuid));
	if (rc)
		return rc;
	xlp_userdata_path(c, domid, uuid, "l", "domain-userdata-lock", lock, sizeof(lock));
	xlp_userdata_path(c, domid, uuid, "d", "libxl-json", d, sizeof(d));
	xlp_userdata_path(c, domid, uuid, "n", "libxl-json", n, sizeof(n));
	fd = ud_lock(lock);
	if (fd < 0) {
		xlp_errf(c, "cannot lock %s: %s\n", lock, strerror(-fd));
		return fd;
	}
	rc = read_all(d, &text, &len);
	if (rc) {
		if (rc != -ENOENT)
			xlp_errf(c, "cannot read %s: %s\n", d, strerror(-rc));
		goto out;
	}
	rc = xlp_json_parse(text, len, &j, err, sizeof(err));
	if (rc) {
		xlp_errf(c, "%s: %s\n", d, err);
		goto out;
	}
	rc = fn(j, arg);
	if (rc)
		goto out;
	out = xlp_json_emit(j);
	if (!out) {
		rc = -ENOMEM;
		goto out;
	}
	/* libxl stores the terminating NUL too. */
	rc = write_file(n, d, out, strlen(out) + 1);
	if (rc)
		xlp_errf(c, "cannot write %s: %s\n", d, strerror(-rc));
out:
	ud_unlock(lock, fd);
	free(text);
	free(out);
	yajl_tree_free(j);
	return rc;
}

static int get_saved(yajl_val dcfg, void *arg)
{
	char err[256];
	struct xlp_saved_list *l = arg;
	int rc = xlp_saved_from_json(dcfg, l, err, sizeof(err));

	/* Reading only: a non-zero return keeps the file as it is. */
	return rc ? rc : 1;
}

int xlp_userdata_saved(struct xlp_ctx *c, uint32_t domid, struct xlp_saved_list *out)
{
	int rc;

	out->v = NULL;
	out->n = 0;
	rc = xlp_userdata_update(c, domid, get_saved, out);
	return rc == 1 ? 0 : rc;
}

struct set_dev_arg {
	uint32_t vhost;
	unsigned int n;
	const struct xlp_saved *s;
};

static int set_dev(yajl_val dcfg, void *arg)
{
	struct set_dev_arg *a = arg;
	struct xlp_saved_list l;
	char err[256];
	size_t k = 0;
	int rc = xlp_saved_from_json(dcfg, &l, err, sizeof(err));

	if (rc)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].vhost != a->vhost || l.v[i].n != a->n)
			l.v[k++] = l.v[i];
	l.n = k;
	if (a->s) {
		struct xlp_saved *nv = realloc(l.v, (l.n + 1) * sizeof(*nv));

		if (!nv) {
			xlp_saved_free(&l);
			return -ENOMEM;
		}
		l.v = nv;
		l.v[l.n++] = *a->s;
	}
	rc = xlp_saved_to_json(dcfg, &l);
	xlp_saved_free(&l);
	return rc;
}

int xlp_userdata_set_dev(struct xlp_ctx *c, uint32_t domid, uint32_t vhost, unsigned int n,
                         const struct xlp_saved *s)
{
	struct set_dev_arg a = {vhost, n, s};

	return xlp_userdata_update(c, domid, set_dev, &a);
}

static int set_all(yajl_val dcfg, void *arg)
{
	return xlp_saved_to_json(dcfg, arg);
}

int xlp_userdata_set_all(struct xlp_ctx *c, uint32_t domid, const struct xlp_saved_list *l)
{
	return xlp_userdata_update(c, domid, set_all, (void *)l);
}

/* ------------------------------------------------------------ save image */

/* xl's save header (tools/xl/xl.h): magic, then four uint32 in the saver's byte order. */
static const char save_magic[32] = "Xen saved domain, xl format\n \0 \r";
#define SAVE_BYTEORDER 0x01020304u
#define SAVE_FLAG_JSON 1u

static int saved_from_text(const char *text, size_t len, const char *file,
                           struct xlp_saved_list *out, char **name, char *err, size_t errlen)
{
	struct xlp_cfg cfg;
	int rc;

	/* xl stores the text with its terminating NUL; any other NUL is refused. */
	if (len && text[len - 1] == '\0')
		len--;
	rc = xlp_cfg_read_data(text, len, file, &cfg, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg.n; i++) {
		struct xlp_saved *s;
		unsigned int n = 0;

		for (size_t k = 0; k < out->n; k++)
			if (out->v[k].vhost == cfg.items[i].e.vdev.host)
				n++;
		s = find_or_add(out, cfg.items[i].e.vdev.host, n);
		if (!s) {
			rc = -ENOMEM;
			break;
		}
		xlp_snprintf(s->spec, sizeof(s->spec), "%s", cfg.items[i].text);
		xlp_snprintf(s->pdev, sizeof(s->pdev), "%s", cfg.items[i].e.pdev);
	}
	if (!rc && cfg.name) {
		*name = cfg.name;
		cfg.name = NULL;
	}
	/* As xlp_saved_from_json() gives them; the config's order is kept within a vhost. */
	if (!rc && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_saved);
	xlp_cfg_free(&cfg);
	if (rc)
		xlp_saved_free(out);
	return rc;
}

int xlp_saveimage_read(const char *file, struct xlp_saved_list *out, char **name, char *err,
                       size_t errlen)
{
	unsigned char hdr[48];
	uint32_t f[4], clen;
	char *cfg = NULL;
	FILE *fp;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	*name = NULL;
	fp = fopen(file, "rb");
	if (!fp) {
		rc = -errno;
		xlp_snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return rc;
	}
	if (fread(hdr, 1, sizeof(hdr), fp) != sizeof(hdr) || memcmp(hdr, save_magic, 32)) {
		xlp_snprintf(err, errlen, "%s: not an xl save image (bad header)", file);
		rc = -EINVAL;
		goto out;
	}
	memcpy(f, hdr + 32, sizeof(f));
	if (f[0] != SAVE_BYTEORDER) {
		xlp_snprintf(err, errlen, "%s: saved with a different byte order", file);
		rc = -EINVAL;
		goto out;
	}
	if (f[3] < 4 || fread(&clen, 1, 4, fp) != 4 || clen > f[3] - 4 || clen > (16u << 20)) {
		xlp_snprintf(err, errlen, "%s: the image carries no usable domain configuration",
		             file);
		rc = -EINVAL;
		goto out;
	}
	cfg = malloc((size_t)clen + 1);
	if (!cfg) {
		rc = -ENOMEM;
		goto out;
	}
	if (fread(cfg, 1, clen, fp) != clen) {
		xlp_snprintf(err, errlen, "%s: truncated domain configuration", file);
		rc = -EINVAL;
		goto out;
	}
	cfg[clen] = '\0';
	if (f[1] & SAVE_FLAG_JSON) {
		static const char *const name_path[] = {"c_info", "name", NULL};
		yajl_val j = NULL, nm;
		char jerr[256];

		rc = xlp_json_parse(cfg, clen, &j, jerr, sizeof(jerr));
		if (rc) {
			xlp_snprintf(err, errlen, "%s: domain configuration: %s", file, jerr);
			goto out;
		}
		rc = xlp_saved_from_json(j, out, err, errlen);
		nm = yajl_tree_get(j, (const char **)name_path, yajl_t_string);
		if (!rc && nm) {
			*name = strdup(nm->u.string);
			if (!*name)
				rc = -ENOMEM;
		}
		yajl_tree_free(j);
	} else {
		rc = saved_from_text(cfg, clen, file, out, name, err, errlen);
	}
out:
	free(cfg);
	fclose(fp);
	if (rc)
		xlp_saved_free(out);
	return rc;
}
