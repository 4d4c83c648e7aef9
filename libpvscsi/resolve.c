/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * resolve.c - p-dev specs to current host SCSI devices, through sysfs.
 *
 * Every route ends at a scsi_device directory in sysfs
 * (/sys/devices/.../hostH/targetH:C:T/H:C:T:L); everything reported comes
 * from that directory, so all spec forms give the same answer for one LUN.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pvscsi/resolve.h"
#include "resolve_int.h"

#define TRAIL_MAX     4096
#define VPD_PAGE_MAX  (4 + 65535)
#define SYMLINK_HOPS  40 /* Linux's MAXSYMLINKS */
#define WWID_ATTR_MAX 4096

/* Classes whose entries are nodes of a SCSI LUN; tried in this order for a name. */
static const char *const node_classes[] = {"block", "scsi_generic", "scsi_tape", "scsi_changer",
                                           "bsg"};

struct ctx {
	char sys[PATH_MAX];
	char dev[PATH_MAX];
	char devreal[PATH_MAX]; /* canonical dev root, "" if it does not exist */
	const char *spec;
	char trail[TRAIL_MAX];
	size_t tpos;
	bool truncated;
	char *err;
	size_t errlen;
};

static void vtried(struct ctx *c, const char *fmt, va_list ap)
{
	size_t room = sizeof(c->trail) - c->tpos;
	int n;

	if (c->truncated)
		return;
	if (c->tpos) {
		n = snprintf(c->trail + c->tpos, room, "; ");
		if (n < 0 || (size_t)n >= room)
			goto full;
		c->tpos += (size_t)n;
		room -= (size_t)n;
	}
	n = vsnprintf(c->trail + c->tpos, room, fmt, ap);
	if (n < 0 || (size_t)n >= room)
		goto full;
	c->tpos += (size_t)n;
	return;
full:
	c->truncated = true;
	c->tpos = strlen(c->trail);
}

__attribute__((format(printf, 2, 3))) static void tried(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vtried(c, fmt, ap);
	va_end(ap);
}

/* Control bytes in a spec or a host string must not reach a log line raw. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t pos;
	int n;

	if (!c->err || !c->errlen)
		return rc;
	n = snprintf(c->err, c->errlen, "p-dev '%s': ", c->spec ? c->spec : "(null)");
	pos = n < 0 ? 0 : ((size_t)n >= c->errlen ? c->errlen - 1 : (size_t)n);
	va_start(ap, fmt);
	n = vsnprintf(c->err + pos, c->errlen - pos, fmt, ap);
	va_end(ap);
	pos += n < 0 ? 0 : ((size_t)n >= c->errlen - pos ? c->errlen - pos - 1 : (size_t)n);
	if (c->tpos)
		snprintf(c->err + pos, c->errlen - pos, "; tried: %s%s", c->trail,
		         c->truncated ? " ..." : "");
	sanitize(c->err);
	return rc;
}

__attribute__((format(printf, 2, 3))) static int pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

static int copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* Whole file (up to @len bytes); returns bytes read or -errno. */
static ssize_t read_bytes(const char *path, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* A text attribute, NUL-terminated, trailing newline removed; -errno. */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int rc = pathf(path, "%s/%s", dir, name);

	buf[0] = '\0';
	if (rc)
		return rc;
	n = read_bytes(path, (uint8_t *)buf, len - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n)
		return -EINVAL; /* embedded NUL: not a text attribute */
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* Fixed-size INQUIRY field from sysfs; missing ones stay "". */
static void read_inq_field(const char *dir, const char *name, char *out, size_t len)
{
	char tmp[256];
	size_t n;

	out[0] = '\0';
	if (read_attr(dir, name, tmp, sizeof(tmp)))
		return;
	/* Cut to the field first: the cut may leave blanks at the end. */
	n = strnlen(tmp, len - 1);
	memcpy(out, tmp, n);
	out[n] = '\0';
	rstrip(out);
	sanitize(out);
}

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int pvs_parse_hctl(const char *s, struct pvs_hctl *out)
{
	uint32_t v[4];
	const char *p = s;
	int range = 0;

	if (!s || !out)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		size_t n = strcspn(p, ":");
		int rc;

		if ((i < 3) != (p[n] == ':'))
			return -EINVAL;
		rc = parse_u32(p, n, &v[i]);
		if (rc == -EINVAL)
			return rc;
		/* Keep checking the syntax: junk anywhere is -EINVAL, not -ERANGE. */
		if (rc)
			range = rc;
		p += n + (i < 3);
	}
	if (range)
		return range;
	out->host = v[0];
	out->channel = v[1];
	out->target = v[2];
	out->lun = v[3];
	return 0;
}

static int init_ctx(struct ctx *c, const struct pvs_resolver *r, const char *spec, char *err,
                    size_t errlen)
{
	const char *sys = r && r->sysfs_root ? r->sysfs_root : "/sys";
	const char *dev = r && r->dev_root ? r->dev_root : "/dev";
	size_t n;

	memset(c, 0, sizeof(*c));
	c->spec = spec;
	c->err = err;
	c->errlen = errlen;
	if (copy_str(c->sys, sizeof(c->sys), sys) || copy_str(c->dev, sizeof(c->dev), dev))
		return -ENAMETOOLONG;
	/* Trailing slashes would double up in the paths we print. */
	for (n = strlen(c->sys); n > 1 && c->sys[n - 1] == '/'; n--)
		c->sys[n - 1] = '\0';
	for (n = strlen(c->dev); n > 1 && c->dev[n - 1] == '/'; n--)
		c->dev[n - 1] = '\0';
	if (!realpath(c->dev, c->devreal))
		c->devreal[0] = '\0';
	return 0;
}

/* "/dev/x" as the administrator wrote it -> the same node under dev_root. */
static int map_dev(const struct ctx *c, const char *p, char *out)
{
	if (strncmp(p, "/dev/", 5) == 0 && strcmp(c->dev, "/dev") != 0)
		return pathf(out, "%s%s", c->dev, p + 4);
	return pathf(out, "%s", p);
}

/*
 * Follow symlinks to a canonical path.  Absolute targets under /dev are
 * re-rooted at dev_root so that a fake tree stays closed; the hops go to the
 * trail when @record.
 */
static int follow(struct ctx *c, const char *start, char *out, bool record)
{
	char cur[PATH_MAX], tgt[PATH_MAX], next[PATH_MAX];
	int hops;

	if (copy_str(cur, sizeof(cur), start))
		return -ENAMETOOLONG;
	for (hops = 0; hops < SYMLINK_HOPS; hops++) {
		struct stat st;
		ssize_t n;
		int rc;

		if (lstat(cur, &st)) {
			rc = -errno;
			if (record)
				tried(c, "%s: %s", cur, strerror(-rc));
			return rc;
		}
		if (!S_ISLNK(st.st_mode))
			break;
		n = readlink(cur, tgt, sizeof(tgt) - 1);
		if (n < 0) {
			rc = -errno;
			if (record)
				tried(c, "%s: readlink: %s", cur, strerror(-rc));
			return rc;
		}
		tgt[n] = '\0';
		if (record)
			tried(c, "%s -> %s", cur, tgt);
		if (tgt[0] == '/') {
			rc = map_dev(c, tgt, next);
		} else {
			char *slash = strrchr(cur, '/');

			if (slash)
				*slash = '\0';
			rc = pathf(next, "%s/%s", slash ? (cur[0] ? cur : "/") : ".", tgt);
		}
		if (rc)
			return rc;
		memcpy(cur, next, sizeof(cur));
	}
	if (hops == SYMLINK_HOPS) {
		if (record)
			tried(c, "%s: too many symlinks", start);
		return -ELOOP;
	}
	if (!realpath(cur, out)) {
		int rc = -errno;

		if (record)
			tried(c, "%s: %s", cur, strerror(-rc));
		return rc;
	}
	return 0;
}

static bool under_dev_root(const struct ctx *c, const char *canon)
{
	size_t n = strlen(c->devreal);

	if (!n)
		return false;
	if (n == 1)
		return canon[0] == '/';
	return strncmp(canon, c->devreal, n) == 0 && canon[n] == '/';
}

/*
 * A scsi_device, not its host or target (which share the bus): the name is
 * H:C:T:L and the bus is "scsi" (or, in trees without a subsystem link, the
 * scsi_device class directory is there).
 */
static bool is_scsi_device_dir(const char *dir, struct pvs_hctl *hctl)
{
	char p[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	if (pvs_parse_hctl(base_name(dir), hctl))
		return false;
	if (pathf(p, "%s/subsystem", dir))
		return false;
	n = readlink(p, link, sizeof(link) - 1);
	if (n >= 0) {
		link[n] = '\0';
		return strcmp(base_name(link), "scsi") == 0;
	}
	return pathf(p, "%s/scsi_device", dir) == 0 && is_dir(p);
}

/* Class device directory (block/sda, scsi_generic/sg0, ...) -> its scsi_device directory. */
static int classdir_to_scsi(struct ctx *c, const char *what, const char *classdir, char *scsidir)
{
	char p[PATH_MAX];
	struct pvs_hctl h;
	int rc;

	rc = pathf(p, "%s/partition", classdir);
	if (rc)
		return fail(c, rc, "path too long under %s", classdir);
	if (exists(p)) {
		char parent[PATH_MAX];

		/* sysfs nests a partition under its disk: .../block/sda/sda1 */
		memcpy(parent, classdir, sizeof(parent));
		*strrchr(parent, '/') = '\0';
		tried(c, "%s: is a partition", p);
		return fail(c, -EINVAL,
		            "%s is partition %s of disk %s; passthrough is to whole LUNs only: "
		            "name the disk (%s/%s) or its sg node",
		            what, base_name(classdir), base_name(parent), "/dev",
		            base_name(parent));
	}
	rc = pathf(p, "%s/dm", classdir);
	if (!rc && is_dir(p)) {
		tried(c, "%s: device-mapper device", classdir);
		return fail(c, -ENODEV,
		            "%s is a device-mapper device (%s), not a SCSI LUN; for a multipath "
		            "map, name one path (its /dev/sdX or /dev/sgN)",
		            what, base_name(classdir));
	}
	rc = pathf(p, "%s/device", classdir);
	if (rc)
		return fail(c, rc, "path too long under %s", classdir);
	if (!realpath(p, scsidir)) {
		tried(c, "%s: %s", p, strerror(errno));
		return fail(c, -ENODEV, "%s is not a SCSI device (%s has no device link)", what,
		            classdir);
	}
	if (!is_scsi_device_dir(scsidir, &h)) {
		tried(c, "%s -> %s: not a scsi_device", p, scsidir);
		return fail(c, -ENODEV, "%s is not a SCSI device (its device is %s)", what,
		            scsidir);
	}
	return 0;
}

/* Kernel name -> class device directory, by trying each node class. */
static int class_by_name(struct ctx *c, const char *name, char *classdir)
{
	char p[PATH_MAX];

	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(node_classes) / sizeof(node_classes[0]); i++) {
		int rc = pathf(p, "%s/class/%s/%s", c->sys, node_classes[i], name);

		if (rc)
			return rc;
		if (realpath(p, classdir))
			return 0;
		tried(c, "%s: %s", p, strerror(errno));
	}
	return -ENOENT;
}

/* "/dev/..." (or any absolute path) -> scsi_device directory. */
static int resolve_path(struct ctx *c, char *scsidir)
{
	char start[PATH_MAX], canon[PATH_MAX], p[PATH_MAX], classdir[PATH_MAX];
	struct stat st;
	int rc;

	rc = map_dev(c, c->spec, start);
	if (rc)
		return fail(c, rc, "path too long");
	rc = follow(c, start, canon, true);
	/* Through a file ("/dev/sda/", "/dev/sg0/x"): no node by that name either. */
	if (rc == -ENOENT || rc == -ENOTDIR) {
		/* Say whether only the node is missing (udev lag, a container's /dev). */
		if (class_by_name(c, base_name(start), classdir) == 0)
			return fail(c, -ENOENT, "%s does not exist, though sysfs knows %s (%s)",
			            start, base_name(start), classdir);
		return fail(c, -ENOENT, "no such device node");
	}
	if (rc)
		return fail(c, rc, "cannot follow %s", start);
	if (stat(canon, &st)) {
		rc = -errno;
		tried(c, "%s: %s", canon, strerror(-rc));
		return fail(c, rc, "cannot stat %s", canon);
	}
	if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
		/* The number, not the name, is what the kernel knows the node by. */
		const char *kind = S_ISBLK(st.st_mode) ? "block" : "char";

		rc =
		    pathf(p, "%s/dev/%s/%u:%u", c->sys, kind, major(st.st_rdev), minor(st.st_rdev));
		if (rc)
			return fail(c, rc, "path too long");
		if (!realpath(p, classdir)) {
			tried(c, "%s: %s", p, strerror(errno));
			return fail(c, -ENODEV,
			            "%s is %s device %u:%u, which the kernel does not have", canon,
			            kind, major(st.st_rdev), minor(st.st_rdev));
		}
		tried(c, "%s -> %s", p, classdir);
	} else if (S_ISDIR(st.st_mode)) {
		tried(c, "%s: is a directory", canon);
		return fail(c, -ENODEV, "%s is a directory, not a SCSI device", canon);
	} else if (under_dev_root(c, canon)) {
		/* Not a node (fake /dev of the tests): the kernel name is all there is. */
		tried(c, "%s: not a device node, looking up %s by name", canon, base_name(canon));
		rc = class_by_name(c, base_name(canon), classdir);
		if (rc == -ENAMETOOLONG)
			return fail(c, rc, "path too long");
		if (rc)
			return fail(c, -ENODEV,
			            "%s is not a SCSI device: not a device node, and no SCSI node "
			            "class has %s",
			            canon, base_name(canon));
	} else {
		tried(c, "%s: not a device node", canon);
		return fail(c, -ENODEV, "%s is not a device node, so not a SCSI device", canon);
	}
	return classdir_to_scsi(c, canon, classdir, scsidir);
}

static int resolve_name(struct ctx *c, char *scsidir)
{
	char classdir[PATH_MAX];
	int rc = class_by_name(c, c->spec, classdir);

	if (rc == -ENAMETOOLONG)
		return fail(c, rc, "name too long");
	if (rc)
		return fail(c, -ENOENT, "no device of that name");
	return classdir_to_scsi(c, c->spec, classdir, scsidir);
}

static int resolve_hctl(struct ctx *c, const struct pvs_hctl *want, char *scsidir)
{
	char p[PATH_MAX];
	struct pvs_hctl h;
	char id[64];

	snprintf(id, sizeof(id), "%u:%u:%u:%u", want->host, want->channel, want->target, want->lun);
	if (pathf(p, "%s/class/scsi_device/%s/device", c->sys, id))
		return fail(c, -ENAMETOOLONG, "path too long");
	if (!realpath(p, scsidir)) {
		tried(c, "%s: %s", p, strerror(errno));
		/* Older layouts and kernels without the class still have the bus. */
		if (pathf(p, "%s/bus/scsi/devices/%s", c->sys, id))
			return fail(c, -ENAMETOOLONG, "path too long");
		if (!realpath(p, scsidir)) {
			tried(c, "%s: %s", p, strerror(errno));
			return fail(c, -ENOENT, "no SCSI device %s", id);
		}
	}
	if (!is_scsi_device_dir(scsidir, &h) || memcmp(&h, want, sizeof(h)) != 0) {
		tried(c, "%s: not scsi_device %s", scsidir, id);
		return fail(c, -ENOENT, "no SCSI device %s", id);
	}
	return 0;
}

/* --- identities ------------------------------------------------------- */

struct ident {
	char wwid[PVS_PDEV_ID_MAX]; /* "" if none */
	uint8_t *vpd;               /* NULL if no vpd_pg83 */
	size_t vpdlen;
};

static void ident_free(struct ident *id)
{
	free(id->vpd);
	id->vpd = NULL;
}

/*
 * A T10 vendor ID designator of blanks (some USB bridges and virtual disks
 * send one) names nothing: Linux prints it as "t10." and padding, and a
 * spec built from it could never be resolved back ("empty identity").
 */
static bool blank_identity(const char *w)
{
	size_t n = strlen(w);

	while (n && (w[n - 1] == ' ' || w[n - 1] == '\n' || w[n - 1] == '\t'))
		n--;
	return n == 0 || (n == 4 && strncmp(w, "t10.", 4) == 0);
}

/* Missing attributes are normal (old kernels, devices without VPD): only -ENOMEM fails. */
static int ident_load(const char *scsidir, struct ident *id)
{
	char p[PATH_MAX];
	char *w;
	ssize_t n;

	memset(id, 0, sizeof(*id));
	w = malloc(WWID_ATTR_MAX);
	if (!w)
		return -ENOMEM;
	if (read_attr(scsidir, "wwid", w, WWID_ATTR_MAX) == 0 && !blank_identity(w) &&
	    strlen(w) < sizeof(id->wwid))
		memcpy(id->wwid, w, strlen(w) + 1);
	free(w);
	if (pathf(p, "%s/vpd_pg83", scsidir) == 0) {
		id->vpd = malloc(VPD_PAGE_MAX);
		if (!id->vpd)
			return -ENOMEM;
		n = read_bytes(p, id->vpd, VPD_PAGE_MAX);
		if (n <= 0) {
			free(id->vpd);
			id->vpd = NULL;
		} else {
			id->vpdlen = (size_t)n;
		}
	}
	if (!id->wwid[0] && id->vpd &&
	    pvs_vpd83_identity(id->vpd, id->vpdlen, 0, id->wwid, sizeof(id->wwid)) > 0 &&
	    blank_identity(id->wwid))
		id->wwid[0] = '\0';
	return 0;
}

struct idspec {
	bool hex;                   /* naa./eui.: compare case-insensitively */
	char text[PVS_PDEV_ID_MAX]; /* identity, trailing blanks removed */
	bool has_lun;
	uint32_t lun;
};

static bool id_equal(const struct idspec *s, const char *cand)
{
	char tmp[PVS_PDEV_ID_MAX];

	if (copy_str(tmp, sizeof(tmp), cand))
		return false;
	/* Blanks padding a T10 designator are easily lost on the way through a config file. */
	rstrip(tmp);
	return s->hex ? strcasecmp(s->text, tmp) == 0 : strcmp(s->text, tmp) == 0;
}

/* Any designator of association @assoc, not only the preferred one, may be named. */
static bool vpd_has(const struct ident *id, const struct idspec *s, unsigned int assoc)
{
	struct pvsi_vpd83_iter it;
	struct pvsi_desig d;
	char buf[PVS_PDEV_ID_MAX];

	if (!id->vpd || pvsi_vpd83_begin(&it, id->vpd, id->vpdlen))
		return false;
	while (pvsi_vpd83_next(&it, &d))
		if (d.assoc == assoc && pvsi_desig_format(&d, buf, sizeof(buf)) > 0 &&
		    id_equal(s, buf))
			return true;
	return false;
}

static bool hex_id_ok(const char *prefix, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f') ||
		      (hex[i] >= 'A' && hex[i] <= 'F')))
			return false;
	/* NAA 2/3/5 are 8 bytes, NAA 6 is 16; EUI-64 based designators are 8, 12 or 16. */
	if (strcmp(prefix, "naa.") == 0)
		return n == 16 || n == 32;
	return n == 16 || n == 24 || n == 32;
}

static int parse_idspec(struct ctx *c, struct idspec *s)
{
	const char *spec = c->spec;

	memset(s, 0, sizeof(*s));
	if (strncmp(spec, "naa.", 4) == 0 || strncmp(spec, "eui.", 4) == 0) {
		char prefix[5];
		const char *hex = spec + 4;
		size_t n = strcspn(hex, ":");
		int rc;

		memcpy(prefix, spec, 4);
		prefix[4] = '\0';
		if (!hex_id_ok(prefix, hex, n))
			return fail(c, -EINVAL,
			            "expected %s followed by %s hex digits, then :LUN "
			            "optionally",
			            prefix, prefix[0] == 'n' ? "16 or 32" : "16, 24 or 32");
		if (hex[n] == ':') {
			rc = parse_u32(hex + n + 1, strlen(hex + n + 1), &s->lun);
			if (rc)
				return fail(c, -EINVAL,
				            "LUN after ':' must be a decimal number "
				            "0..4294967295");
			s->has_lun = true;
		}
		s->hex = true;
		snprintf(s->text, sizeof(s->text), "%.*s", (int)(n + 4), spec);
		return 0;
	}
	if (strncmp(spec, "wwid:", 5) == 0)
		spec += 5;
	if (copy_str(s->text, sizeof(s->text), spec))
		return fail(c, -ENAMETOOLONG, "identity too long");
	rstrip(s->text);
	if (!s->text[0] || strcmp(s->text, "t10.") == 0)
		return fail(c, -EINVAL, "empty identity");
	return 0;
}

struct cand {
	char dir[PATH_MAX];
	struct pvs_hctl h;
	bool lu; /* matched as the LU's identity, else as its target's */
};

static void list_cands(char *buf, size_t len, const struct cand *v, size_t n, bool lu,
                       const uint32_t *lun)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < len; i++) {
		int k;

		if (v[i].lu != lu || (lun && v[i].h.lun != *lun))
			continue;
		k = snprintf(buf + pos, len - pos, "%s%u:%u:%u:%u", pos ? ", " : "", v[i].h.host,
		             v[i].h.channel, v[i].h.target, v[i].h.lun);
		if (k < 0)
			break;
		pos += (size_t)k;
	}
}

static int resolve_identity(struct ctx *c, char *scsidir)
{
	char cls[PATH_MAX];
	struct dirent **ents = NULL;
	struct idspec *s;
	struct cand *v = NULL;
	size_t nv = 0, nlu = 0, ntg = 0, nlu_l = 0, ntg_l = 0;
	const struct cand *pick_lu = NULL, *pick_tg = NULL;
	char list[1024];
	int n = 0, rc;

	s = malloc(sizeof(*s));
	if (!s)
		return fail(c, -ENOMEM, "out of memory");
	rc = parse_idspec(c, s);
	if (rc)
		goto out;
	if (pathf(cls, "%s/class/scsi_device", c->sys)) {
		rc = fail(c, -ENAMETOOLONG, "path too long");
		goto out;
	}
	n = scandir(cls, &ents, NULL, alphasort);
	if (n < 0) {
		tried(c, "%s: %s", cls, strerror(errno));
		rc = fail(c, -ENOENT, "no SCSI devices to search");
		goto out;
	}
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		rc = fail(c, -ENOMEM, "out of memory");
		goto out;
	}
	tried(c, "searched %s", cls);
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		struct cand *cd = &v[nv];
		struct ident id;

		if (ents[i]->d_name[0] == '.')
			continue;
		if (pathf(p, "%s/%s/device", cls, ents[i]->d_name) || !realpath(p, cd->dir) ||
		    !is_scsi_device_dir(cd->dir, &cd->h)) {
			tried(c, "%s: unreadable", ents[i]->d_name);
			continue;
		}
		rc = ident_load(cd->dir, &id);
		if (rc) {
			rc = fail(c, rc, "out of memory");
			goto out;
		}
		if ((id.wwid[0] && id_equal(s, id.wwid)) || vpd_has(&id, s, 0)) {
			cd->lu = true;
			nv++;
		} else if (vpd_has(&id, s, 2)) {
			nv++;
		}
		tried(c, "%s: %s", ents[i]->d_name, id.wwid[0] ? id.wwid : "no identity");
		ident_free(&id);
	}
	for (size_t i = 0; i < nv; i++) {
		bool lun_ok = !s->has_lun || v[i].h.lun == s->lun;

		if (v[i].lu) {
			nlu++;
			nlu_l += lun_ok;
			if (lun_ok)
				pick_lu = &v[i];
		} else {
			ntg++;
			ntg_l += lun_ok;
			if (lun_ok)
				pick_tg = &v[i];
		}
	}
	if (nlu) {
		/* The identity is the LU's own: :LUN can only confirm it, or pick a path. */
		if (nlu_l == 1) {
			memcpy(scsidir, pick_lu->dir, PATH_MAX);
			rc = 0;
		} else if (nlu_l == 0) {
			list_cands(list, sizeof(list), v, nv, true, NULL);
			rc = fail(c, -ENOENT, "%s is the identity of %s, whose LUN is not %u",
			          s->text, list, s->lun);
		} else {
			list_cands(list, sizeof(list), v, nv, true, s->has_lun ? &s->lun : NULL);
			rc = fail(c, -ENOTUNIQ,
			          "%s is ambiguous: %zu SCSI devices carry it (%s), which are "
			          "paths to one LUN (multipath); name one path by /dev/sgN or "
			          "H:C:T:L",
			          s->text, nlu_l, list);
		}
	} else if (ntg) {
		/* A target device's identity: :LUN selects among its LUNs. */
		if (ntg_l == 1) {
			memcpy(scsidir, pick_tg->dir, PATH_MAX);
			rc = 0;
		} else if (ntg_l == 0) {
			list_cands(list, sizeof(list), v, nv, false, NULL);
			rc = fail(c, -ENOENT, "target %s has no LUN %u (it has %s)", s->text,
			          s->lun, list);
		} else {
			list_cands(list, sizeof(list), v, nv, false, s->has_lun ? &s->lun : NULL);
			rc =
			    fail(c, -ENOTUNIQ,
			         s->has_lun ? "%s is ambiguous: %zu SCSI devices match (%s), paths "
			                      "to one LUN (multipath); name one path by "
			                      "/dev/sgN or H:C:T:L"
			                    : "%s names a target with %zu LUNs (%s); add :LUN",
			         s->text, ntg_l, list);
		}
	} else {
		rc = fail(c, -ENOENT, "no SCSI device carries identity %s", s->text);
	}
out:
	if (ents) {
		for (int i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
	}
	free(v);
	free(s);
	return rc;
}

/* --- adapters: libvirt's <adapter> names of a SCSI host ----------------------------- */

enum adapter_kind { AD_SCSI_HOST, AD_PCI, AD_FC };

struct adapter {
	enum adapter_kind kind;
	uint32_t host;               /* scsi_hostN */
	uint32_t dom, bus, slot, fn; /* pci_DDDD_BB_SS_F */
	bool has_uid;
	uint32_t uid;
	char wwpn[17], wwnn[17]; /* lower-case hex without 0x; wwnn "" when not given */
	uint32_t btu[3];         /* bus (channel), target, unit (LUN) */
};

static const char want_scsi_host[] =
    "expected scsi_hostN:B:T:U (the SCSI host's number, then bus, target and unit as "
    "decimal numbers)";
static const char want_pci[] =
    "expected pci_DDDD_BB_SS_F[/unique_id=N]:B:T:U (libvirt's name of the PCI device, "
    "e.g. pci_0000_00_1f_2, then bus, target and unit as decimal numbers)";
static const char want_fc[] = "expected fc_host/wwpn=W[/wwnn=W]:B:T:U (W: 16 hex digits, 0x "
                              "optional; then bus, target and unit as decimal numbers)";

static bool is_adapter_spec(const char *s)
{
	return !strncmp(s, "scsi_host", 9) || !strncmp(s, "pci_", 4) || !strncmp(s, "fc_host", 7);
}

static bool xdigit(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static unsigned int xval(char ch)
{
	return ch <= '9' ? (unsigned int)(ch - '0') : (unsigned int)((ch | 0x20) - 'a' + 10);
}

/* A WWN as libvirt writes it (16 hex digits) or as sysfs shows it ("0x" and 16). */
static bool parse_wwn(const char *s, size_t n, char out[17])
{
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n != 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!xdigit(s[i]))
			return false;
		out[i] = (char)(s[i] | (s[i] >= 'A' && s[i] <= 'F' ? 0x20 : 0));
	}
	out[16] = '\0';
	return true;
}

/* Exactly @ndig hex digits (@ndig 0: 4 to 8, a PCI domain), then @end. */
static const char *parse_hexfield(const char *s, size_t ndig, char end, uint32_t *v)
{
	size_t n = 0;

	*v = 0;
	while (xdigit(s[n]) && n < 8)
		*v = *v << 4 | xval(s[n++]);
	if (ndig ? n != ndig : n < 4 || xdigit(s[n]))
		return NULL;
	return s[n] == end ? s + n + (end != '\0') : NULL;
}

/* ":B:T:U" to the end of the string. */
static int parse_btu(const char *s, uint32_t v[3])
{
	int range = 0;

	for (int i = 0; i < 3; i++) {
		size_t n;
		int rc;

		if (*s != ':')
			return -EINVAL;
		n = strcspn(++s, ":");
		rc = parse_u32(s, n, &v[i]);
		if (rc == -EINVAL)
			return rc;
		if (rc)
			range = rc;
		s += n;
	}
	return *s ? -EINVAL : range;
}

static int parse_pci(const char *s, size_t n, struct adapter *a)
{
	char name[64];
	const char *p;

	if (n >= sizeof(name))
		return -EINVAL;
	memcpy(name, s, n);
	name[n] = '\0';
	p = parse_hexfield(name + 4, 0, '_', &a->dom);
	p = p ? parse_hexfield(p, 2, '_', &a->bus) : NULL;
	p = p ? parse_hexfield(p, 2, '_', &a->slot) : NULL;
	if (!p || a->slot > 0x1f || *p < '0' || *p > '7')
		return -EINVAL;
	a->fn = (uint32_t)(*p++ - '0');
	if (!*p)
		return 0;
	if (strncmp(p, "/unique_id=", 11))
		return -EINVAL;
	a->has_uid = true;
	return parse_u32(p + 11, strlen(p + 11), &a->uid);
}

static int parse_fc(const char *s, size_t n, struct adapter *a)
{
	const char *p = s + 7, *end = s + n;

	if (p == end || *p != '/')
		return -EINVAL;
	while (p < end && *p == '/') {
		const char *v = ++p;
		size_t vn = 0;
		char *dst;

		while (p < end && *p != '/')
			p++;
		if ((size_t)(p - v) > 5 && !strncmp(v, "wwpn=", 5))
			dst = a->wwpn;
		else if ((size_t)(p - v) > 5 && !strncmp(v, "wwnn=", 5))
			dst = a->wwnn;
		else
			return -EINVAL;
		vn = (size_t)(p - v) - 5;
		if (dst[0] || !parse_wwn(v + 5, vn, dst))
			return -EINVAL;
	}
	return p == end && a->wwpn[0] ? 0 : -EINVAL;
}

static int parse_adapter(struct ctx *c, struct adapter *a)
{
	const char *s = c->spec, *want;
	size_t n = strcspn(s, ":");
	int rc;

	memset(a, 0, sizeof(*a));
	if (!strncmp(s, "scsi_host", 9)) {
		a->kind = AD_SCSI_HOST;
		want = want_scsi_host;
		rc = parse_u32(s + 9, n - 9, &a->host);
	} else if (!strncmp(s, "pci_", 4)) {
		a->kind = AD_PCI;
		want = want_pci;
		rc = parse_pci(s, n, a);
	} else {
		a->kind = AD_FC;
		want = want_fc;
		rc = parse_fc(s, n, a);
	}
	if (rc == 0 || rc == -ERANGE) {
		int r2 = parse_btu(s + n, a->btu);

		if (r2 == -EINVAL || rc == 0)
			rc = r2;
	}
	if (rc == -ERANGE)
		return fail(c, rc, "a number over 4294967295; %s", want);
	if (rc)
		return fail(c, rc, "%s", want);
	return 0;
}

static void adapter_format(const struct adapter *a, char *buf, size_t len)
{
	char head[80];

	switch (a->kind) {
	case AD_SCSI_HOST:
		snprintf(head, sizeof(head), "scsi_host%u", a->host);
		break;
	case AD_PCI:
		if (a->has_uid)
			snprintf(head, sizeof(head), "pci_%04x_%02x_%02x_%x/unique_id=%u", a->dom,
			         a->bus, a->slot, a->fn, a->uid);
		else
			snprintf(head, sizeof(head), "pci_%04x_%02x_%02x_%x", a->dom, a->bus,
			         a->slot, a->fn);
		break;
	case AD_FC:
		snprintf(head, sizeof(head), "fc_host/wwpn=%s%s%s", a->wwpn,
		         a->wwnn[0] ? "/wwnn=" : "", a->wwnn);
		break;
	}
	snprintf(buf, len, "%s:%u:%u:%u", head, a->btu[0], a->btu[1], a->btu[2]);
}

/* "0000:00:1f.2", as the kernel names a PCI device (the domain may be longer than 4). */
static bool is_pci_addr(const char *s)
{
	uint32_t v;
	const char *p = parse_hexfield(s, 0, ':', &v);

	p = p ? parse_hexfield(p, 2, ':', &v) : NULL;
	p = p ? parse_hexfield(p, 2, '.', &v) : NULL;
	return p && parse_hexfield(p, 1, '\0', &v) && v <= 7;
}

/*
 * The PCI device a SCSI host hangs off: the nearest PCI address above it
 * (virtio-scsi puts virtioN between; an NPIV host sits under a vport of the
 * physical host; bridges are further up).
 */
static bool pci_parent(const char *hostdir, char *addr, size_t len)
{
	char tmp[PATH_MAX];
	char *slash;

	if (copy_str(tmp, sizeof(tmp), hostdir))
		return false;
	while ((slash = strrchr(tmp, '/')) != NULL) {
		if (is_pci_addr(slash + 1))
			return copy_str(addr, len, slash + 1) == 0;
		*slash = '\0';
	}
	return false;
}

static bool host_number(const char *name, uint32_t *n)
{
	return !strncmp(name, "host", 4) && parse_u32(name + 4, strlen(name + 4), n) == 0;
}

/* host2 before host10, so that messages list hosts as lsscsi does. */
static int host_order(const struct dirent **a, const struct dirent **b)
{
	uint32_t x, y;

	if (host_number((*a)->d_name, &x) && host_number((*b)->d_name, &y) && x != y)
		return x < y ? -1 : 1;
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Entries of a sysfs class, or -errno (the path goes to the trail). */
static int scan_class(struct ctx *c, const char *cls, char *dir, struct dirent ***ents)
{
	int n;

	if (pathf(dir, "%s/class/%s", c->sys, cls))
		return -ENAMETOOLONG;
	n = scandir(dir, ents, NULL, host_order);
	if (n < 0) {
		n = -errno;
		tried(c, "%s: %s", dir, strerror(-n));
	}
	return n;
}

static void free_ents(struct dirent **ents, int n)
{
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static int adapter_scsi_host(struct ctx *c, const struct adapter *a, uint32_t *host)
{
	char p[PATH_MAX];
	struct stat st;

	if (pathf(p, "%s/class/scsi_host/host%u", c->sys, a->host))
		return fail(c, -ENAMETOOLONG, "path too long");
	if (stat(p, &st)) {
		tried(c, "%s: %s", p, strerror(errno));
		return fail(c, -ENOENT, "no SCSI host scsi_host%u", a->host);
	}
	*host = a->host;
	return 0;
}

struct uhost {
	uint32_t host, uid;
};

static void list_uhosts(char *buf, size_t len, const struct uhost *v, size_t n, const uint32_t *uid)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < len; i++) {
		int k;

		if (uid && v[i].uid != *uid)
			continue;
		k = snprintf(buf + pos, len - pos, "%shost%u", pos ? ", " : "", v[i].host);
		if (k < 0)
			break;
		pos += (size_t)k;
	}
}

static int adapter_pci(struct ctx *c, const struct adapter *a, uint32_t *host)
{
	char pci[32], p[PATH_MAX], dir[PATH_MAX], list[512];
	struct dirent **ents = NULL;
	struct uhost *v = NULL;
	size_t nv = 0, nunder = 0, nbest = 0;
	const struct uhost *best = NULL;
	struct stat st;
	int n, rc;

	snprintf(pci, sizeof(pci), "%04x:%02x:%02x.%x", a->dom, a->bus, a->slot, a->fn);
	if (pathf(p, "%s/bus/pci/devices/%s", c->sys, pci))
		return fail(c, -ENAMETOOLONG, "path too long");
	if (stat(p, &st)) {
		tried(c, "%s: %s", p, strerror(errno));
		return fail(c, -ENOENT, "no PCI device %s", pci);
	}
	n = scan_class(c, "scsi_host", dir, &ents);
	if (n == -ENAMETOOLONG)
		return fail(c, n, "path too long");
	if (n < 0)
		return fail(c, -ENOENT, "PCI device %s has no SCSI host", pci);
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		rc = fail(c, -ENOMEM, "out of memory");
		goto out;
	}
	tried(c, "searched %s", dir);
	for (int i = 0; i < n; i++) {
		char real[PATH_MAX], parent[32], uid[32];
		uint32_t h;

		if (!host_number(ents[i]->d_name, &h))
			continue;
		if (pathf(p, "%s/%s", dir, ents[i]->d_name) || !realpath(p, real) ||
		    !pci_parent(real, parent, sizeof(parent))) {
			tried(c, "%s: not under a PCI device", ents[i]->d_name);
			continue;
		}
		if (strcasecmp(parent, pci)) {
			tried(c, "%s: under %s", ents[i]->d_name, parent);
			continue;
		}
		nunder++;
		if (pathf(p, "%s/%s", dir, ents[i]->d_name) ||
		    read_attr(p, "unique_id", uid, sizeof(uid)) ||
		    parse_u32(uid, strlen(uid), &v[nv].uid)) {
			tried(c, "%s: under %s, no readable unique_id", ents[i]->d_name, parent);
			continue;
		}
		tried(c, "%s: under %s, unique_id %u", ents[i]->d_name, parent, v[nv].uid);
		v[nv++].host = h;
	}
	for (size_t i = 0; i < nv; i++) {
		if (a->has_uid ? v[i].uid != a->uid : (best && v[i].uid > best->uid))
			continue;
		if (!a->has_uid && best && v[i].uid < best->uid)
			nbest = 0;
		best = &v[i];
		nbest++;
	}
	if (nbest == 1) {
		*host = best->host;
		rc = 0;
	} else if (nbest > 1) {
		list_uhosts(list, sizeof(list), v, nv, &best->uid);
		rc = fail(c, -ENOTUNIQ, "%zu SCSI hosts under PCI device %s have unique_id %u (%s)",
		          nbest, pci, best->uid, list);
	} else if (!nunder) {
		rc = fail(c, -ENOENT, "PCI device %s has no SCSI host", pci);
	} else if (a->has_uid) {
		rc = fail(c, -ENOENT, "no SCSI host under PCI device %s has unique_id %u", pci,
		          a->uid);
	} else {
		rc = fail(c, -ENOENT, "no SCSI host under PCI device %s has a readable unique_id",
		          pci);
	}
out:
	free(v);
	free_ents(ents, n < 0 ? 0 : n);
	return rc;
}

static int adapter_fc(struct ctx *c, const struct adapter *a, uint32_t *host)
{
	char dir[PATH_MAX], p[PATH_MAX], list[512];
	struct dirent **ents = NULL;
	size_t nmatch = 0, pos = 0;
	uint32_t other = 0;
	bool mismatch = false;
	char other_wwnn[17] = "";
	int n;

	n = scan_class(c, "fc_host", dir, &ents);
	if (n == -ENAMETOOLONG)
		return fail(c, n, "path too long");
	if (n < 0)
		return fail(c, -ENOENT, "no FC host has WWPN %s (no FC hosts at all)", a->wwpn);
	tried(c, "searched %s", dir);
	list[0] = '\0';
	for (int i = 0; i < n; i++) {
		char pn[64], nn[64], wwpn[17], wwnn[17];
		uint32_t h;

		if (!host_number(ents[i]->d_name, &h))
			continue;
		if (pathf(p, "%s/%s", dir, ents[i]->d_name) ||
		    read_attr(p, "port_name", pn, sizeof(pn)) || !parse_wwn(pn, strlen(pn), wwpn)) {
			tried(c, "%s: no readable port_name", ents[i]->d_name);
			continue;
		}
		if (read_attr(p, "node_name", nn, sizeof(nn)) || !parse_wwn(nn, strlen(nn), wwnn))
			wwnn[0] = '\0';
		tried(c, "%s: port_name %s, node_name %s", ents[i]->d_name, wwpn,
		      wwnn[0] ? wwnn : "unreadable");
		if (strcmp(wwpn, a->wwpn))
			continue;
		if (a->wwnn[0] && strcmp(wwnn, a->wwnn)) {
			other = h;
			mismatch = true;
			memcpy(other_wwnn, wwnn, sizeof(other_wwnn));
			continue;
		}
		if (pos < sizeof(list)) {
			int k = snprintf(list + pos, sizeof(list) - pos, "%shost%u",
			                 pos ? ", " : "", h);

			pos += k < 0 ? 0 : (size_t)k;
		}
		*host = h;
		nmatch++;
	}
	free_ents(ents, n);
	if (nmatch == 1)
		return 0;
	if (nmatch > 1)
		return fail(c, -ENOTUNIQ, "%zu FC hosts have WWPN %s (%s)", nmatch, a->wwpn, list);
	if (mismatch)
		return fail(c, -ENOENT, "the FC host with WWPN %s (host%u) has WWNN %s, not %s",
		            a->wwpn, other, other_wwnn[0] ? other_wwnn : "(unreadable)", a->wwnn);
	return fail(c, -ENOENT, "no FC host has WWPN %s", a->wwpn);
}

static int resolve_adapter(struct ctx *c, struct adapter *a, char *scsidir)
{
	struct pvs_hctl h;
	int rc = parse_adapter(c, a);

	if (rc)
		return rc;
	switch (a->kind) {
	case AD_SCSI_HOST:
		rc = adapter_scsi_host(c, a, &h.host);
		break;
	case AD_PCI:
		rc = adapter_pci(c, a, &h.host);
		break;
	case AD_FC:
		rc = adapter_fc(c, a, &h.host);
		break;
	}
	if (rc)
		return rc;
	h.channel = a->btu[0];
	h.target = a->btu[1];
	h.lun = a->btu[2];
	tried(c, "the adapter is host%u", h.host);
	return resolve_hctl(c, &h, scsidir);
}

int pvs_resolve_adapter(const struct pvs_resolver *r, const char *adapter, uint32_t *host,
                        char *err, size_t errlen)
{
	char spec[PVS_PDEV_ADAPTER_MAX + 16];
	struct adapter a;
	struct ctx *c;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	/* The adapter parser reads a whole p-dev: give it an address it ignores here. */
	if (!adapter || (size_t)snprintf(spec, sizeof(spec), "%s:0:0:0", adapter) >= sizeof(spec)) {
		if (err && errlen)
			snprintf(err, errlen, "adapter '%.64s': empty or too long",
			         adapter ? adapter : "");
		return -EINVAL;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		if (err && errlen)
			snprintf(err, errlen, "adapter: out of memory");
		return -ENOMEM;
	}
	rc = init_ctx(c, r, spec, err, errlen);
	if (rc) {
		rc = fail(c, rc, "sysfs or /dev root path too long");
	} else if (!is_adapter_spec(spec)) {
		rc = fail(c, -EINVAL,
		          "not an adapter; expected scsi_hostN, pci_DDDD_BB_SS_F[/unique_id=N] or "
		          "fc_host/wwpn=W[/wwnn=W]");
	} else if ((rc = parse_adapter(c, &a)) == 0) {
		switch (a.kind) {
		case AD_SCSI_HOST:
			rc = adapter_scsi_host(c, &a, host);
			break;
		case AD_PCI:
			rc = adapter_pci(c, &a, host);
			break;
		case AD_FC:
			rc = adapter_fc(c, &a, host);
			break;
		}
	}
	free(c);
	return rc;
}

/* --- filling in ----------------------------------------------------------- */

/* First entry of @dir/@sub (sysfs has exactly one per class), "" if none. */
static void first_entry(const char *dir, const char *sub, char *name, size_t len)
{
	char p[PATH_MAX];
	struct dirent **ents;
	int n;

	name[0] = '\0';
	if (pathf(p, "%s/%s", dir, sub))
		return;
	n = scandir(p, &ents, NULL, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!name[0] && ents[i]->d_name[0] != '.')
			snprintf(name, len, "%s", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}

/* by-id link names, best first: udev's wwn- and scsi- links are derived from VPD 0x83. */
static int by_id_rank(const char *name)
{
	if (strncmp(name, "wwn-", 4) == 0)
		return 0;
	if (strncmp(name, "scsi-", 5) == 0)
		return 1;
	return 2;
}

static int find_by_id(struct ctx *c, const char *scsidir, char *out, size_t outlen)
{
	static const char *const subs[] = {"block", "scsi_generic", "scsi_tape"};
	char nodes[8][NAME_MAX + 1];
	size_t nn = 0;
	char dir[PATH_MAX], p[PATH_MAX], canon[PATH_MAX];
	struct dirent **ents;
	int n, best = 3;

	out[0] = '\0';
	if (!c->devreal[0])
		return 0;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		struct dirent **se;
		int m;

		if (pathf(p, "%s/%s", scsidir, subs[i]))
			continue;
		m = scandir(p, &se, NULL, alphasort);
		if (m < 0)
			continue;
		for (int j = 0; j < m; j++) {
			if (se[j]->d_name[0] != '.' && nn < 8)
				snprintf(nodes[nn++], sizeof(nodes[0]), "%s", se[j]->d_name);
			free(se[j]);
		}
		free(se);
	}
	if (!nn || pathf(dir, "%s/disk/by-id", c->dev))
		return 0;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;

		if (nm[0] != '.' && by_id_rank(nm) < best && pathf(p, "%s/%s", dir, nm) == 0 &&
		    follow(c, p, canon, false) == 0 && strcmp(canon, p) != 0 &&
		    under_dev_root(c, canon)) {
			for (size_t k = 0; k < nn; k++) {
				size_t dl = strlen(c->devreal);

				if (strcmp(canon + (dl == 1 ? 0 : dl) + 1, nodes[k]) == 0 &&
				    (size_t)snprintf(out, outlen, "%s", p) < outlen) {
					best = by_id_rank(nm);
					break;
				}
			}
		}
		free(ents[i]);
	}
	free(ents);
	if (best == 3)
		out[0] = '\0';
	return 0;
}

static int node_path(struct ctx *c, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	if (!name[0])
		return 0;
	if ((size_t)snprintf(out, len, "%s/%s", c->dev, name) >= len) {
		out[0] = '\0';
		return fail(c, -ENAMETOOLONG, "path of node %s under %s too long", name, c->dev);
	}
	return 0;
}

static int fill(struct ctx *c, const char *scsidir, struct pvs_pdev *out)
{
	struct pvs_hctl h;
	struct ident id;
	char name[NAME_MAX + 1], tmp[32];
	int rc;

	if (!is_scsi_device_dir(scsidir, &h))
		return fail(c, -ENODEV, "%s is not a scsi_device", scsidir);
	out->host = h.host;
	out->channel = h.channel;
	out->target = h.target;
	out->lun = h.lun;
	out->type = -1;
	if (read_attr(scsidir, "type", tmp, sizeof(tmp)) == 0) {
		char *end;
		long t = strtol(tmp, &end, 10);

		if (end != tmp && *end == '\0' && t >= 0 && t <= 0x1f)
			out->type = (int)t;
	}
	read_inq_field(scsidir, "vendor", out->vendor, sizeof(out->vendor));
	read_inq_field(scsidir, "model", out->model, sizeof(out->model));
	read_inq_field(scsidir, "rev", out->rev, sizeof(out->rev));
	first_entry(scsidir, "scsi_generic", name, sizeof(name));
	rc = node_path(c, name, out->sg, sizeof(out->sg));
	if (rc)
		return rc;
	first_entry(scsidir, "block", name, sizeof(name));
	rc = node_path(c, name, out->block, sizeof(out->block));
	if (rc)
		return rc;
	rc = ident_load(scsidir, &id);
	if (rc)
		return fail(c, rc, "out of memory");
	memcpy(out->wwid, id.wwid, sizeof(out->wwid));
	if (id.vpd)
		pvs_vpd83_identity(id.vpd, id.vpdlen, 2, out->target_wwid,
		                   sizeof(out->target_wwid));
	ident_free(&id);
	return find_by_id(c, scsidir, out->by_id, sizeof(out->by_id));
}

static bool all_digits_colons(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == ':'))
			return false;
	return true;
}

int pvs_resolve(const struct pvs_resolver *r, const char *spec, struct pvs_pdev *out, char *err,
                size_t errlen)
{
	struct ctx *c;
	struct pvs_hctl h;
	struct adapter a;
	bool adapter = false;
	char scsidir[PATH_MAX];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (out)
		memset(out, 0, sizeof(*out));
	c = malloc(sizeof(*c));
	if (!c) {
		if (err && errlen)
			snprintf(err, errlen, "p-dev: out of memory");
		return -ENOMEM;
	}
	rc = init_ctx(c, r, spec, err, errlen);
	if (rc) {
		rc = fail(c, rc, "sysfs or /dev root path too long");
		goto out;
	}
	if (!out || !spec || !spec[0]) {
		rc = fail(c, -EINVAL, "empty p-dev or no output");
		goto out;
	}
	if (spec[0] == '/') {
		rc = resolve_path(c, scsidir);
	} else if ((rc = pvs_parse_hctl(spec, &h)) == 0) {
		rc = resolve_hctl(c, &h, scsidir);
	} else if (all_digits_colons(spec)) {
		rc = fail(c, rc,
		          rc == -ERANGE ? "H:C:T:L field over 4294967295"
		                        : "H:C:T:L needs four decimal numbers");
	} else if (!strncmp(spec, "naa.", 4) || !strncmp(spec, "eui.", 4) ||
	           !strncmp(spec, "t10.", 4) || !strncmp(spec, "wwid:", 5)) {
		rc = resolve_identity(c, scsidir);
	} else if (is_adapter_spec(spec)) {
		rc = resolve_adapter(c, &a, scsidir);
		adapter = rc == 0 && a.kind != AD_SCSI_HOST;
	} else if (!strchr(spec, '/') && strlen(spec) <= NAME_MAX && strcmp(spec, ".") &&
	           strcmp(spec, "..")) {
		rc = resolve_name(c, scsidir);
	} else {
		rc = fail(c, -EINVAL,
		          "not a p-dev; expected /dev/..., a kernel name (sdX, sgN), H:C:T:L, "
		          "naa.<hex>[:LUN], eui.<hex>[:LUN], t10.<text>, wwid:<text>, "
		          "scsi_hostN:B:T:U, pci_DDDD_BB_SS_F[/unique_id=N]:B:T:U or "
		          "fc_host/wwpn=W[/wwnn=W]:B:T:U");
	}
	if (rc == 0)
		rc = fill(c, scsidir, out);
	/* The adapter form is what was asked for; it stays the way to find the LUN again. */
	if (rc == 0 && adapter)
		adapter_format(&a, out->adapter, sizeof(out->adapter));
	if (rc) {
		memset(out, 0, sizeof(*out));
	} else if (err && errlen) {
		err[0] = '\0';
	}
out:
	free(c);
	return rc;
}

static bool wwid_is_hex_id(const char *w)
{
	if (strncmp(w, "naa.", 4) && strncmp(w, "eui.", 4))
		return false;
	return hex_id_ok(strncmp(w, "naa.", 4) == 0 ? "naa." : "eui.", w + 4, strlen(w + 4));
}

static int hex_spec(const char *w, uint32_t lun, char *buf, size_t len)
{
	size_t n = strlen(w);
	int k;

	if (n >= len)
		return -ENOSPC;
	/* Lower case, as Linux prints NAA and EUI in sysfs wwid. */
	for (size_t i = 0; i < n; i++)
		buf[i] = (w[i] >= 'A' && w[i] <= 'F') ? (char)(w[i] - 'A' + 'a') : w[i];
	k = snprintf(buf + n, len - n, ":%u", lun);
	if (k < 0 || (size_t)k >= len - n)
		return -ENOSPC;
	return 0;
}

int pvs_pdev_stable_spec(const struct pvs_pdev *p, char *buf, size_t len)
{
	int rc;

	if (!buf || !len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!p)
		return -ENODATA;
	if (p->adapter[0] && memchr(p->adapter, '\0', sizeof(p->adapter)))
		rc = (size_t)snprintf(buf, len, "%s", p->adapter) < len ? 0 : -ENOSPC;
	else if (p->wwid[0] && wwid_is_hex_id(p->wwid))
		rc = hex_spec(p->wwid, p->lun, buf, len);
	else if (p->wwid[0] && !blank_identity(p->wwid))
		rc = (size_t)snprintf(buf, len, "wwid:%s", p->wwid) < len ? 0 : -ENOSPC;
	else if (p->target_wwid[0] && wwid_is_hex_id(p->target_wwid))
		rc = hex_spec(p->target_wwid, p->lun, buf, len);
	else if (p->by_id[0])
		rc = (size_t)snprintf(buf, len, "/dev/disk/by-id/%s", base_name(p->by_id)) < len
		         ? 0
		         : -ENOSPC;
	else
		return -ENODATA;
	if (rc)
		buf[0] = '\0';
	return rc;
}

const char *pvs_pdt_name(uint8_t pdt)
{
	/* lsscsi's scsi_short_device_types[], so that both tools agree. */
	static const char *const names[32] = {
	    "disk",    "tape",   "printer", "process", "worm",    "cd/dvd",  "scanner", "optical",
	    "mediumx", "comms",  "(0xa)",   "(0xb)",   "storage", "enclosu", "sim dsk", "opti rd",
	    "bridge",  "osd",    "adi",     "sec man", "zbc",     "(0x15)",  "(0x16)",  "(0x17)",
	    "(0x18)",  "(0x19)", "(0x1a)",  "(0x1b)",  "(0x1c)",  "(0x1d)",  "w_lun",   "no dev",
	};

	return names[pdt & 0x1f];
}
