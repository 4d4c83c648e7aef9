/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xs.c - the real xenstore ops on libxenstore, and helpers over any ops.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "xs.h"
#include "xs_nodes.h"

static int err_or(int dflt)
{
	return errno ? -errno : -dflt;
}

static char *real_read(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *len)
{
	unsigned int l = 0;
	char *v;

	errno = 0;
	v = xs_read(ctx, tx, path, &l);
	if (v && len)
		*len = l;
	if (!v && !errno)
		errno = EIO;
	return v;
}

static int real_write(void *ctx, pvx_xs_tx tx, const char *path, const char *val, unsigned int len)
{
	errno = 0;
	return xs_write(ctx, tx, path, val, len) ? 0 : err_or(EIO);
}

static int real_mkdir(void *ctx, pvx_xs_tx tx, const char *path)
{
	errno = 0;
	return xs_mkdir(ctx, tx, path) ? 0 : err_or(EIO);
}

static int real_rm(void *ctx, pvx_xs_tx tx, const char *path)
{
	errno = 0;
	if (xs_rm(ctx, tx, path))
		return 0;
	return errno == ENOENT ? 0 : err_or(EIO);
}

static char **real_directory(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *num)
{
	char **d;

	errno = 0;
	d = xs_directory(ctx, tx, path, num);
	if (!d && !errno)
		errno = EIO;
	return d;
}

static int real_get_perms(void *ctx, pvx_xs_tx tx, const char *path, struct pvx_xs_perm *out,
                          unsigned int max)
{
	struct xs_permissions *p;
	unsigned int n = 0, i;

	errno = 0;
	p = xs_get_permissions(ctx, tx, path, &n);
	if (!p)
		return err_or(EIO);
	for (i = 0; i < n && i < max; i++) {
		out[i].id = p[i].id;
		/* Drop libxenstore's bookkeeping bits (owner, ignore, enoent-ok). */
		out[i].perms = p[i].perms & (PVX_XS_PERM_READ | PVX_XS_PERM_WRITE);
	}
	free(p);
	return (int)i;
}

static int real_set_perms(void *ctx, pvx_xs_tx tx, const char *path,
                          const struct pvx_xs_perm *perms, unsigned int num)
{
	struct xs_permissions p[PVX_XS_MAX_PERMS];
	unsigned int i;

	if (num == 0 || num > PVX_XS_MAX_PERMS)
		return -EINVAL;
	for (i = 0; i < num; i++) {
		p[i].id = perms[i].id;
		p[i].perms = perms[i].perms;
	}
	errno = 0;
	return xs_set_permissions(ctx, tx, path, p, num) ? 0 : err_or(EIO);
}

static int real_watch(void *ctx, const char *path, const char *token)
{
	errno = 0;
	return xs_watch(ctx, path, token) ? 0 : err_or(EIO);
}

static int real_unwatch(void *ctx, const char *path, const char *token)
{
	errno = 0;
	return xs_unwatch(ctx, path, token) ? 0 : err_or(EIO);
}

static int real_read_watch(void *ctx, char **path, char **token)
{
	char **vec;

	errno = 0;
	vec = xs_check_watch(ctx);
	if (!vec)
		return errno == EAGAIN || errno == 0 ? 0 : -errno;
	*path = strdup(vec[XS_WATCH_PATH]);
	*token = strdup(vec[XS_WATCH_TOKEN]);
	free(vec);
	if (!*path || !*token) {
		free(*path);
		free(*token);
		return -ENOMEM;
	}
	return 1;
}

static int real_fileno(void *ctx)
{
	return xs_fileno(ctx);
}

static int real_tx_start(void *ctx, pvx_xs_tx *tx)
{
	xs_transaction_t t;

	errno = 0;
	t = xs_transaction_start(ctx);
	if (t == XBT_NULL)
		return err_or(EIO);
	*tx = t;
	return 0;
}

static int real_tx_end(void *ctx, pvx_xs_tx tx, bool abort)
{
	errno = 0;
	return xs_transaction_end(ctx, tx, abort) ? 0 : err_or(EIO);
}

static void real_close(void *ctx)
{
	xs_close(ctx);
}

static const struct pvx_xs_ops real_ops = {
    .read = real_read,
    .write = real_write,
    .mkdir = real_mkdir,
    .rm = real_rm,
    .directory = real_directory,
    .get_perms = real_get_perms,
    .set_perms = real_set_perms,
    .watch = real_watch,
    .unwatch = real_unwatch,
    .read_watch = real_read_watch,
    .fileno = real_fileno,
    .tx_start = real_tx_start,
    .tx_end = real_tx_end,
    .close = real_close,
};

int pvx_xs_open_real(struct pvx_xs *out)
{
	struct xs_handle *h;

	errno = 0;
	h = xs_open(0);
	if (!h)
		return err_or(ENOENT);
	out->ops = &real_ops;
	out->ctx = h;
	return 0;
}

int pvx_xs_printf(const struct pvx_xs *xs, pvx_xs_tx tx, const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return xs->ops->write(xs->ctx, tx, path, buf, (unsigned int)n);
}

char *pvx_xs_read_at(const struct pvx_xs *xs, pvx_xs_tx tx, const char *dir, const char *name)
{
	char path[512];
	int n;

	if (name)
		n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xs->ops->read(xs->ctx, tx, path, NULL);
}

int pvx_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!p || !*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int pvx_xs_read_uint(const struct pvx_xs *xs, pvx_xs_tx tx, const char *dir, const char *name,
                     uint64_t max, uint64_t *out)
{
	char *v = pvx_xs_read_at(xs, tx, dir, name);
	int rc;

	if (!v)
		return errno ? -errno : -EIO;
	rc = pvx_parse_uint(v, max, out);
	free(v);
	return rc;
}

int pvx_xs_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = name ? snprintf(buf, len, "%s/%s", dir, name) : snprintf(buf, len, "%s", dir);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool pvx_xs_exists(const struct pvx_xs *xs, pvx_xs_tx tx, const char *path)
{
	char *v = xs->ops->read(xs->ctx, tx, path, NULL);

	free(v);
	return v != NULL;
}

#define TX_RETRIES 16

int pvx_xs_write_guarded(const struct pvx_xs *xs, const char *dir, const char *name,
                         const char *val)
{
	const struct pvx_xs_ops *o = xs->ops;
	char path[512];
	int rc, i;

	rc = pvx_xs_path(path, sizeof(path), dir, name);
	if (rc)
		return rc;
	for (i = 0; i < TX_RETRIES; i++) {
		pvx_xs_tx tx;

		rc = o->tx_start(xs->ctx, &tx);
		if (rc)
			return rc;
		if (!pvx_xs_exists(xs, tx, dir)) {
			o->tx_end(xs->ctx, tx, true);
			return -ENOENT;
		}
		rc = o->write(xs->ctx, tx, path, val, (unsigned int)strlen(val));
		if (rc) {
			o->tx_end(xs->ctx, tx, true);
			return rc;
		}
		rc = o->tx_end(xs->ctx, tx, false);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int pvx_xs_read_state(const struct pvx_xs *xs, const char *dir)
{
	uint64_t s;
	int rc = pvx_xs_read_uint(xs, PVX_XS_NOTX, dir, XSN_STATE, 255, &s);

	if (rc == -ENOENT)
		return -1;
	if (rc)
		return 0; /* XenbusStateUnknown */
	return (int)s;
}

const char *pvx_xenbus_state_name(int state)
{
	static const char *const n[] = {"Unknown",     "Initialising",  "InitWait",
	                                "Initialised", "Connected",     "Closing",
	                                "Closed",      "Reconfiguring", "Reconfigured"};

	return state >= 0 && (size_t)state < sizeof(n) / sizeof(n[0]) ? n[state] : NULL;
}

int pvx_xs_writable_by(const struct pvx_xs *xs, const char *path, uint32_t domid)
{
	struct pvx_xs_perm p[PVX_XS_MAX_PERMS];
	int n = xs->ops->get_perms(xs->ctx, PVX_XS_NOTX, path, p, PVX_XS_MAX_PERMS);
	int i;

	if (n < 0)
		return n;
	if (n == 0)
		return -EINVAL;
	if (p[0].id == domid)
		return 1;
	for (i = 1; i < n; i++)
		if (p[i].id == domid)
			return !!(p[i].perms & PVX_XS_PERM_WRITE);
	return !!(p[0].perms & PVX_XS_PERM_WRITE);
}
