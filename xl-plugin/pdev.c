/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdev.c - an entry's PDEV, resolved on this host, becomes the backend's
 * p-dev (what pvscsid opens now) and p-devname (what identifies it on any
 * host, for restore and migration).
 *
 * p-dev of a host LUN is its current H:C:T:L: pvscsid resolves p-dev itself,
 * and the number is what an administrator compares with lsscsi.  Numbers are
 * not stable, which is why the toolstack re-resolves p-devname and rewrites
 * p-dev before a restored or migrated guest runs.  A read-only host LUN has
 * ",ro" after the number, as file: LUNs carry theirs: p-dev is the one node
 * pvscsid reads to open the LUN, so the option cannot get lost on the way.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xlp.h"

static int resolve_host(struct xlp_ctx *c, const struct xlp_entry *e, struct xlp_dev *d, char *err,
                        size_t errlen)
{
	struct pvs_pdev *p = calloc(1, sizeof(*p));
	char h[48];
	int rc;

	if (!p)
		return -ENOMEM;
	/* sg:/dev/sgN is the core's spelling of a node the resolver takes by its path. */
	rc = pvs_resolve(&c->res, strncmp(e->pdev, "sg:", 3) ? e->pdev : e->pdev + 3, p, err,
	                 errlen);
	if (rc)
		goto out;
	d->hctl.host = p->host;
	d->hctl.channel = p->channel;
	d->hctl.target = p->target;
	d->hctl.lun = p->lun;
	xlp_hctl_str(&d->hctl, h);
	xlp_snprintf(d->p_dev, sizeof(d->p_dev), "%s%s", h, e->ro ? XLP_PDEV_RO : "");
	xlp_snprintf(d->sg, sizeof(d->sg), "%s", p->sg);
	if (p->by_id[0]) {
		/* The by-id name in the /dev namespace, whatever root the resolver used. */
		const char *slash = strrchr(p->by_id, '/');

		xlp_snprintf(d->by_id, sizeof(d->by_id), "/dev/disk/by-id/%s",
		             slash ? slash + 1 : p->by_id);
	}
	rc = pvs_pdev_stable_spec(p, d->p_devname, sizeof(d->p_devname));
	if (rc == -ENODATA) {
		d->no_identity = true;
		xlp_snprintf(d->p_devname, sizeof(d->p_devname), "%s", e->pdev);
		xlp_errf(c,
		         "warning: PDEV '%s' (%s) has no stable identity (no VPD 0x83 designator, "
		         "wwid or by-id link): after a restore or migration it is looked up again "
		         "as '%s', which may then name another device\n",
		         e->pdev, h, e->pdev);
		rc = 0;
	} else if (rc) {
		xlp_snprintf(err, errlen, "PDEV '%s': its identity does not fit (%s)", e->pdev,
		             strerror(-rc));
	}
out:
	free(p);
	return rc;
}

static int resolve_file(const struct xlp_entry *e, struct xlp_dev *d, char *err, size_t errlen)
{
	const char *path = e->pdev + 5;
	char real[PATH_MAX];
	struct stat st;
	int n;

	if (stat(path, &st)) {
		int rc = -errno;

		xlp_snprintf(err, errlen, "PDEV '%s': %s", e->pdev, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		xlp_snprintf(err, errlen, "PDEV '%s': not a regular file or block device", e->pdev);
		return -EINVAL;
	}
	if (access(path, e->ro ? R_OK : R_OK | W_OK)) {
		int rc = -errno;

		xlp_snprintf(err, errlen, "PDEV '%s': cannot open it %s: %s%s", e->pdev,
		             e->ro ? "for reading" : "for reading and writing", strerror(errno),
		             e->ro ? "" : " (add ro for a read-only LUN)");
		return rc;
	}
	if (!realpath(path, real)) {
		int rc = -errno;

		xlp_snprintf(err, errlen, "PDEV '%s': %s", e->pdev, strerror(errno));
		return rc;
	}
	d->st_dev = st.st_dev;
	d->st_ino = st.st_ino;
	/*
	 * cache=writeback is the core's default and stays unwritten, as
	 * pvs_spec_format() leaves it: the p-dev is the canonical spec.
	 */
	n = xlp_snprintf(d->p_dev, sizeof(d->p_dev), "file:%s%s%s%s%s", real, e->ro ? ",ro" : "",
	                 e->bs == 4096 ? ",bs=4096" : (e->bs == 512 ? ",bs=512" : ""),
	                 e->cache == XLP_CACHE_NONE ? ",cache=none" : "",
	                 e->inline_writes ? ",writes=inline" : "");
	if (n < 0 || (size_t)n >= sizeof(d->p_dev) || strchr(real, ',')) {
		xlp_snprintf(err, errlen, "PDEV '%s': the path is too long or contains a comma",
		             e->pdev);
		return -ENAMETOOLONG;
	}
	xlp_snprintf(d->p_devname, sizeof(d->p_devname), "file:%s", real);
	return 0;
}

int xlp_cdrom_resolve(const char *pdev, char *p_dev, size_t plen, char *p_devname, size_t nlen,
                      char *err, size_t errlen)
{
	const char *path = pdev + strlen("cdrom:");
	char real[PATH_MAX];
	struct stat st;
	int n;

	/* An empty drive: nothing on the host to find. */
	if (!*path) {
		xlp_snprintf(p_dev, plen, "cdrom:");
		xlp_snprintf(p_devname, nlen, "cdrom:");
		return 0;
	}
	if (stat(path, &st) || access(path, R_OK) || !realpath(path, real)) {
		int rc = -errno;

		xlp_snprintf(err, errlen, "image '%s': %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		xlp_snprintf(err, errlen, "image '%s': not a regular file or block device", path);
		return -EINVAL;
	}
	/* The drive checks the size again when it loads it; this is the early, clear word. */
	if (S_ISREG(st.st_mode) && (st.st_size == 0 || st.st_size % 2048)) {
		xlp_snprintf(err, errlen,
		             "image '%s': %lld bytes is not a positive multiple of 2048 (a CD or "
		             "DVD image)",
		             path, (long long)st.st_size);
		return -EINVAL;
	}
	n = xlp_snprintf(p_dev, plen, "cdrom:%s", real);
	if (n < 0 || (size_t)n >= plen || strchr(real, ',')) {
		xlp_snprintf(err, errlen, "image '%s': the path is too long or contains a comma",
		             path);
		return -ENAMETOOLONG;
	}
	xlp_snprintf(p_devname, nlen, "cdrom:%s", real);
	return 0;
}

bool xlp_pdev_emulated(const char *p_dev)
{
	struct pvs_spec *sp = malloc(sizeof(*sp));
	bool emu;

	if (!sp)
		return false;
	emu = pvs_spec_parse(p_dev, sp, NULL, 0) == 0 &&
	      (sp->kind == PVS_SPEC_FILE || sp->kind == PVS_SPEC_MEM ||
	       sp->kind == PVS_SPEC_CDROM || sp->kind == PVS_SPEC_RBD);
	free(sp);
	return emu;
}

int xlp_bdev_hctl(struct xlp_ctx *c, const struct xlp_bdev *b, struct pvs_hctl *hctl, int *pdt)
{
	char base[XLP_SPEC_MAX];
	struct pvs_pdev *p;
	int rc;

	if (pdt)
		*pdt = -1;
	if (!b->p_dev[0])
		return -ENOENT;
	if (xlp_pdev_emulated(b->p_dev))
		return XLP_BDEV_EMULATED;
	/* struct pvs_pdev carries two identities of a kilobyte each: not for the stack. */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	xlp_pdev_base(b->p_dev, base, sizeof(base));
	rc = pvs_resolve(&c->res, base, p, NULL, 0);
	if (!rc) {
		*hctl = (struct pvs_hctl){p->host, p->channel, p->target, p->lun};
		if (pdt)
			*pdt = p->type;
	}
	free(p);
	return rc;
}

void xlp_pdev_base(const char *p_dev, char *buf, size_t len)
{
	size_t n = strlen(p_dev), s = strlen(XLP_PDEV_RO);

	if (n > s && !strcmp(p_dev + n - s, XLP_PDEV_RO))
		n -= s;
	xlp_snprintf(buf, len, "%.*s", (int)n, p_dev);
}

int xlp_dev_resolve(struct xlp_ctx *c, const struct xlp_entry *e, struct xlp_dev *d, char *err,
                    size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->e = *e;
	if (err && errlen)
		err[0] = '\0';
	switch (e->kind) {
	case XLP_HOST:
		return resolve_host(c, e, d, err, errlen);
	case XLP_FILE:
		return resolve_file(e, d, err, errlen);
	case XLP_CDROM:
		return xlp_cdrom_resolve(e->pdev, d->p_dev, sizeof(d->p_dev), d->p_devname,
		                         sizeof(d->p_devname), err, errlen);
	case XLP_ISCSI:
		/* The canonical spec, as pvs_spec_format() orders it: ro, then chap=. */
		xlp_snprintf(d->p_dev, sizeof(d->p_dev), "%s%s%s%s", e->pdev, e->ro ? ",ro" : "",
		             e->chap[0] ? ",chap=" : "", e->chap);
		xlp_snprintf(d->p_devname, sizeof(d->p_devname), "%s", e->pdev);
		return 0;
	case XLP_MEM:
		xlp_snprintf(d->p_dev, sizeof(d->p_dev), "%s%s", e->pdev,
		             e->bs == 4096 ? ",bs=4096" : (e->bs == 512 ? ",bs=512" : ""));
		xlp_snprintf(d->p_devname, sizeof(d->p_devname), "%s", e->pdev);
		return 0;
	}
	return -EINVAL;
}
