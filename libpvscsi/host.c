/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host.c - the target device's pool of logical units, keyed by backing.
 *
 * The pool is a list: units are opened and dropped by the toolstack, a few
 * times a minute at most, never on the I/O path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "host_int.h"
#include "pvscsi/host.h"
#include "pvscsi/spec.h"

struct pvs_unit {
	struct pvs_unit *next;
	struct pvs_host *h;
	/* the backing object: what makes two specs one unit (an rbd: or iscsi:// one's is long) */
	char key[PVS_SPEC_MAX + 300];
	char opts[320]; /* options it was opened with; a second user must agree */
	char spec[PVS_SPEC_MAX];
	char stable[PVS_PDEV_ID_MAX + 32];
	struct pvs_lun *lun;
	unsigned int users;
	unsigned int pins;
};

struct pvs_host {
	struct pvs_host_cfg cfg;
	struct pvs_unit *units;
	struct pvs_map *maps;
	uint64_t mem_seq;
};

int pvs_host_new(const struct pvs_host_cfg *cfg, struct pvs_host **out)
{
	struct pvs_host *h = calloc(1, sizeof(*h));

	*out = h;
	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	return 0;
}

void pvs_host_free(struct pvs_host *h)
{
	if (!h)
		return;
	while (h->units) {
		struct pvs_unit *u = h->units;

		h->units = u->next;
		pvs_lun_close(u->lun);
		free(u);
	}
	/* A map outliving its host keeps working, with no host to tell when it goes. */
	for (struct pvs_map *m = h->maps; m; m = pvsi_map_detach_host(m))
		;
	free(h);
}

/*
 * The key names the backing object, not the spelling: a file by device and
 * inode (two paths, a hard link, a bind mount), a block or sg device by its
 * device number (its node, a by-id link, an H:C:T:L that resolves to it).
 */
static void key_for(struct pvs_host *h, const struct pvs_spec *sp, const char *initiator, char *key,
                    size_t len)
{
	struct stat st;

	/*
	 * An iSCSI LUN is one unit per initiator: each guest has its own
	 * session, its own I_T nexus at the target.  The user is not part of
	 * it (one nexus, one set of credentials: opts_of()).
	 */
	if (sp->kind == PVS_SPEC_ISCSI) {
		const char *at = strchr(sp->name, '@');

		snprintf(key, len, "i:%s|%s", initiator ? initiator : "", at ? at + 1 : sp->name);
		return;
	}

	/*
	 * An rbd: image by its name in the cluster its conf= names (the
	 * cluster's fsid needs a connection, which is the open's to make).
	 */
	if (sp->kind == PVS_SPEC_RBD) {
		char real[4096];
		bool rp = sp->rbd_conf[0] && realpath(sp->rbd_conf, real) &&
		          strlen(real) < sizeof(sp->rbd_conf);

		snprintf(key, len, "r:%s:%s", rp ? real : sp->rbd_conf, sp->name);
		return;
	}
	/*
	 * A RAM disk is a new device each time; a path that cannot be stat'ed
	 * will not open.  A cdrom: drive is a drive, not its medium: each guest
	 * given an image has a tray of its own, as each HVM guest has its own
	 * emulated drive, so that one guest's eject never takes another's
	 * disc.  (A physical drive shared by several guests is a host p-dev.)
	 */
	if (sp->kind == PVS_SPEC_MEM || sp->kind == PVS_SPEC_CDROM || stat(sp->name, &st) != 0) {
		snprintf(key, len, "u:%" PRIu64, ++h->mem_seq);
		return;
	}
	if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))
		snprintf(key, len, "%c:%" PRIx64, S_ISBLK(st.st_mode) ? 'b' : 'c',
		         (uint64_t)st.st_rdev);
	else
		snprintf(key, len, "f:%" PRIx64 ":%" PRIx64, (uint64_t)st.st_dev,
		         (uint64_t)st.st_ino);
}

static void opts_of(const struct pvs_spec *sp, char *buf, size_t len)
{
	/*
	 * bs=512 is the default: an explicit one is the same unit.  cache=none
	 * is another open of the backing (O_DIRECT), so another set of options.
	 */
	const char *at = sp->kind == PVS_SPEC_ISCSI ? strchr(sp->name, '@') : NULL;

	snprintf(buf, len, "%s%s%s%s%s%.*s%s%s%s", sp->ro ? "ro," : "", sp->raw ? "raw," : "",
	         sp->bs == 4096 ? "bs=4096," : "", sp->direct ? "cache=none," : "",
	         at ? "user=" : "", at ? (int)(at - sp->name) : 0, at ? sp->name : "",
	         at ? "," : "", sp->chap[0] ? "chap=" : "", sp->chap);
	if (sp->chap[0] && strlen(buf) + 1 < len)
		strcat(buf, ",");
	if (buf[0])
		buf[strlen(buf) - 1] = '\0';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A host p-dev becomes the sg node it resolves to now; *@stable is how to find it again. */
static int resolve_host(struct pvs_host *h, const char *spec, struct pvs_spec *sp, char *stable,
                        size_t slen, char *err, size_t errlen)
{
	struct pvs_pdev *pd = calloc(1, sizeof(*pd));
	int rc;

	if (!pd) {
		set_err(err, errlen, "LUN spec '%s': out of memory", spec);
		return -ENOMEM;
	}
	rc = pvs_resolve(&h->cfg.resolver, sp->name, pd, err, errlen);
	if (!rc && !pd->sg[0]) {
		set_err(err, errlen, "p-dev '%s' is %u:%u:%u:%u, which has no sg node", sp->name,
		        pd->host, pd->channel, pd->target, pd->lun);
		rc = -ENODEV;
	}
	if (!rc) {
		if (pvs_pdev_stable_spec(pd, stable, slen) != 0)
			stable[0] = '\0';
		snprintf(sp->name, sizeof(sp->name), "%s", pd->sg);
		sp->kind = PVS_SPEC_SG;
	}
	free(pd);
	return rc;
}

/* The LUN core's word on what no command shows (a backing removed while attached). */
static void unit_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	struct pvs_host *h = arg;

	(void)lun;
	h->cfg.log(h->cfg.log_arg, 4, "%s", msg);
}

int pvs_host_unit_get(struct pvs_host *h, const char *spec, bool raw, struct pvs_unit **out,
                      char *err, size_t errlen)
{
	return pvs_host_unit_get_as(h, spec, raw, NULL, out, err, errlen);
}

int pvs_host_unit_get_as(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                         struct pvs_unit **out, char *err, size_t errlen)
{
	struct pvs_lun_opts lo = {.notice = h->cfg.log ? unit_notice : NULL,
	                          .notice_arg = h,
	                          .initiator_name = initiator};
	struct pvs_spec *sp = malloc(sizeof(*sp));
	struct pvs_unit *u = calloc(1, sizeof(*u));
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!sp || !u) {
		set_err(err, errlen, "LUN spec '%s': out of memory", spec);
		rc = -ENOMEM;
		goto out;
	}
	rc = pvs_spec_parse(spec, sp, err, errlen);
	if (rc)
		goto out;
	/* The controller's feature-host concerns passthrough LUNs; an emulated one ignores it. */
	if (sp->kind == PVS_SPEC_ISCSI && !(initiator && *initiator)) {
		set_err(err, errlen,
		        "LUN spec '%s': an iSCSI LUN needs the guest's initiator name, which this "
		        "transport did not give",
		        spec);
		rc = -EINVAL;
		goto out;
	}
	if (raw &&
	    (sp->kind == PVS_SPEC_SG || sp->kind == PVS_SPEC_HOST || sp->kind == PVS_SPEC_ISCSI)) {
		if (sp->ro) {
			set_err(
			    err, errlen,
			    "LUN spec '%s': read-only needs the CDB filter, and raw (feature-host) "
			    "passthrough has none: the device would see every write; drop one of "
			    "ro and feature-host",
			    spec);
			rc = -EINVAL;
			goto out;
		}
		sp->raw = true;
	}
	if (sp->kind == PVS_SPEC_HOST) {
		rc = resolve_host(h, spec, sp, u->stable, sizeof(u->stable), err, errlen);
		if (rc)
			goto out;
	}
	rc = pvs_spec_format(sp, u->spec, sizeof(u->spec));
	if (rc) {
		set_err(err, errlen, "LUN spec '%s': too long once resolved", spec);
		goto out;
	}
	key_for(h, sp, initiator, u->key, sizeof(u->key));
	opts_of(sp, u->opts, sizeof(u->opts));
	for (struct pvs_unit *o = h->units; o; o = o->next) {
		if (strcmp(o->key, u->key) != 0 || !o->lun)
			continue;
		if (strcmp(o->opts, u->opts) != 0) {
			set_err(
			    err, errlen,
			    "%s is already open as '%s'; a second user must use the same options "
			    "('%s' vs '%s')",
			    u->spec, o->spec, u->opts, o->opts);
			rc = -EBUSY;
			goto out;
		}
		o->users++;
		*out = o;
		goto out;
	}
	rc = pvsi_lun_open_spec(h->cfg.worker, sp, u->spec, &lo, &u->lun, err, errlen);
	if (rc)
		goto out;
	/*
	 * An rbd: image named through another conf file (another path to the
	 * same cluster) is known only once open, by its identity: the cluster's
	 * fsid and the image's id, which the NAA is made of.
	 */
	if (sp->kind == PVS_SPEC_RBD) {
		for (struct pvs_unit *o = h->units; o; o = o->next) {
			if (!o->lun || o->lun->store != u->lun->store ||
			    memcmp(o->lun->naa, u->lun->naa, sizeof(o->lun->naa)) != 0)
				continue;
			pvs_lun_close(u->lun);
			u->lun = NULL;
			if (strcmp(o->opts, u->opts) != 0) {
				set_err(err, errlen,
				        "%s is already open as '%s'; a second user must use the "
				        "same options ('%s' vs '%s')",
				        u->spec, o->spec, u->opts, o->opts);
				rc = -EBUSY;
				goto out;
			}
			o->users++;
			*out = o;
			goto out;
		}
	}
	u->h = h;
	u->users = 1;
	u->next = h->units;
	h->units = u;
	*out = u;
	u = NULL;
out:
	free(u);
	free(sp);
	return rc;
}

void pvs_unit_put(struct pvs_unit *u)
{
	if (!u || !u->users)
		return;
	if (--u->users == 0)
		pvs_host_sweep(u->h);
}

void pvs_host_sweep(struct pvs_host *h)
{
	struct pvs_unit **pp = &h->units;

	while (*pp) {
		struct pvs_unit *u = *pp;

		if (u->users == 0 && u->lun && pvs_lun_inflight(u->lun) == 0) {
			if (h->cfg.log)
				h->cfg.log(h->cfg.log_arg, 6, "closing LUN %s", u->spec);
			pvs_lun_close(u->lun);
			u->lun = NULL;
		}
		if (u->users == 0 && !u->lun && u->pins == 0) {
			*pp = u->next;
			free(u);
			continue;
		}
		pp = &u->next;
	}
}

void pvs_host_drain(struct pvs_host *h)
{
	for (;;) {
		bool closing = false;

		pvs_host_sweep(h);
		for (const struct pvs_unit *u = h->units; u; u = u->next)
			closing |= u->users == 0 && u->lun;
		if (!closing)
			return;
		pvs_worker_wait(h->cfg.worker, 100);
	}
}

void pvs_unit_pin(struct pvs_unit *u)
{
	u->pins++;
}

void pvs_unit_unpin(struct pvs_unit *u)
{
	if (u->pins)
		u->pins--;
	pvs_host_sweep(u->h);
}

bool pvs_unit_is_open(const struct pvs_unit *u)
{
	return u->lun != NULL;
}

struct pvs_lun *pvs_unit_lun(const struct pvs_unit *u)
{
	return u->lun;
}

const char *pvs_unit_spec(const struct pvs_unit *u)
{
	return u->spec;
}

const char *pvs_unit_stable(const struct pvs_unit *u)
{
	return u->stable;
}

unsigned int pvs_unit_users(const struct pvs_unit *u)
{
	return u->users;
}

const char *pvs_unit_id(const struct pvs_unit *u)
{
	return u->key;
}

void pvs_unit_get_stats(const struct pvs_unit *u, struct pvs_io_stats *out)
{
	if (u->lun)
		pvs_lun_get_stats(u->lun, out);
	else
		memset(out, 0, sizeof(*out));
}

bool pvs_unit_ro(const struct pvs_unit *u)
{
	return u->lun && pvs_lun_is_ro(u->lun);
}

void pvs_host_get_stats(const struct pvs_host *h, struct pvs_host_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (const struct pvs_unit *u = h->units; u; u = u->next)
		out->units += u->lun != NULL;
	for (const struct pvs_map *m = h->maps; m; m = pvsi_map_next(m))
		out->maps++;
}

struct pvs_unit *pvs_host_unit_at(const struct pvs_host *h, unsigned int i)
{
	for (struct pvs_unit *u = h->units; u; u = u->next)
		if (u->lun && i-- == 0)
			return u;
	return NULL;
}

int pvs_host_map_new(struct pvs_host *h, uint64_t initiator, struct pvs_map **out)
{
	int rc = pvs_map_new(out);

	if (rc)
		return rc;
	pvsi_map_attach_host(*out, h, initiator, h->maps);
	h->maps = *out;
	return 0;
}

void pvsi_host_map_gone(struct pvs_host *h, struct pvs_map *m)
{
	struct pvs_map **pp = &h->maps;

	while (*pp && *pp != m)
		pp = pvsi_map_nextp(*pp);
	if (*pp)
		*pp = pvsi_map_next(m);
}
