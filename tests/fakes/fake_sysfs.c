/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_sysfs.c - see fake_sysfs.h for the layout it builds. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_sysfs.h"

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int rc_ = (x);                                                                     \
		if (rc_)                                                                           \
			return rc_;                                                                \
	} while (0)

__attribute__((format(printf, 2, 3))) static int fmt(char *out, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, PATH_MAX, f, ap);
	va_end(ap);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	TRY(fmt(tmp, "%s", path));
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int mkparent(const char *path)
{
	char tmp[PATH_MAX];
	char *slash;

	TRY(fmt(tmp, "%s", path));
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = '\0';
	return mkdir_p(tmp);
}

static int write_abs(const char *path, const void *data, size_t len)
{
	int fd;
	ssize_t n;

	TRY(mkparent(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

__attribute__((format(printf, 2, 3))) static int write_str(const char *path, const char *f, ...)
{
	char buf[4096]; /* a sysfs attribute is at most a page */
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return write_abs(path, buf, (size_t)n);
}

static size_t split(char *s, char **parts, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(s, "/"); tok && n < max; tok = strtok(NULL, "/"))
		parts[n++] = tok;
	return n;
}

/*
 * Symlink @link -> @target (both absolute), written relative the way sysfs
 * writes them: up to the target's parent, then down (device -> ../../../H:C:T:L).
 */
static int rel_symlink(const char *target, const char *link)
{
	char t[PATH_MAX], l[PATH_MAX], rel[PATH_MAX] = "";
	char *tp[64], *lp[64];
	size_t nt, nl, common = 0, pos = 0;

	TRY(fmt(t, "%s", target));
	TRY(fmt(l, "%s", link));
	nt = split(t, tp, 64);
	nl = split(l, lp, 64) - 1; /* the link's directory */
	while (common < nl && common + 1 < nt && strcmp(tp[common], lp[common]) == 0)
		common++;
	for (size_t i = common; i < nl; i++)
		pos += (size_t)snprintf(rel + pos, sizeof(rel) - pos, "../");
	for (size_t i = common; i < nt; i++)
		pos += (size_t)snprintf(rel + pos, sizeof(rel) - pos, "%s%s", tp[i],
		                        i + 1 < nt ? "/" : "");
	if (pos >= sizeof(rel))
		return -ENAMETOOLONG;
	TRY(mkparent(link));
	if (symlink(rel, link) && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_tree(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

static int skeleton(struct fake_sysfs *fs)
{
	static const char *const dirs[] = {
	    "sys/bus/scsi/devices",
	    "sys/bus/virtio",
	    "sys/class/scsi_device",
	    "sys/class/scsi_generic",
	    "sys/class/block",
	    "sys/class/scsi_tape",
	    "sys/class/bsg",
	    "sys/class/scsi_host",
	    "sys/class/mem",
	    "sys/class/scsi_changer",
	    "sys/dev/block",
	    "sys/dev/char",
	    "sys/bus/pci/devices",
	    "sys/devices/virtual",
	    "dev/disk/by-id",
	    "dev/disk/by-path",
	    "dev/bsg",
	};
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		TRY(fmt(p, "%s/%s", fs->root, dirs[i]));
		TRY(mkdir_p(p));
	}
	fs->bsg_minor = 0;
	return 0;
}

int fake_sysfs_create(struct fake_sysfs *fs)
{
	const char *tmp = getenv("TMPDIR");

	memset(fs, 0, sizeof(*fs));
	TRY(fmt(fs->root, "%s/pvs-fake-sysfs-XXXXXX", tmp && *tmp ? tmp : "/tmp"));
	if (!mkdtemp(fs->root))
		return -errno;
	TRY(fmt(fs->sys, "%s/sys", fs->root));
	TRY(fmt(fs->dev, "%s/dev", fs->root));
	return skeleton(fs);
}

int fake_sysfs_clear(struct fake_sysfs *fs)
{
	TRY(rm_tree(fs->sys));
	TRY(rm_tree(fs->dev));
	return skeleton(fs);
}

void fake_sysfs_destroy(struct fake_sysfs *fs)
{
	if (fs->root[0])
		rm_tree(fs->root);
	fs->root[0] = '\0';
}

int fake_sysfs_symlink(struct fake_sysfs *fs, const char *link, const char *target)
{
	char p[PATH_MAX];

	TRY(fmt(p, "%s/%s", fs->root, link));
	TRY(mkparent(p));
	return symlink(target, p) ? -errno : 0;
}

int fake_sysfs_write(struct fake_sysfs *fs, const char *path, const void *data, size_t len)
{
	char p[PATH_MAX];

	TRY(fmt(p, "%s/%s", fs->root, path));
	return write_abs(p, data, len);
}

/*
 * One class device: DIR/NAME with 'dev' (and 'device' -> @devdir when
 * non-NULL), class/CLS/NAME, dev/KIND/MAJ:MIN and the plain /dev file.
 */
static int class_dev(struct fake_sysfs *fs, const char *dir, const char *cls, const char *kind,
                     unsigned int maj, unsigned int min, const char *devdir, const char *devname)
{
	char p[PATH_MAX], c[PATH_MAX];

	TRY(mkdir_p(dir));
	TRY(fmt(p, "%s/dev", dir));
	TRY(write_str(p, "%u:%u\n", maj, min));
	if (devdir) {
		TRY(fmt(p, "%s/device", dir));
		TRY(rel_symlink(devdir, p));
	}
	TRY(fmt(c, "%s/class/%s", fs->sys, cls));
	TRY(fmt(p, "%s/subsystem", dir));
	TRY(rel_symlink(c, p));
	TRY(fmt(p, "%s/class/%s/%s", fs->sys, cls, strrchr(dir, '/') + 1));
	TRY(rel_symlink(dir, p));
	TRY(fmt(p, "%s/dev/%s/%u:%u", fs->sys, kind, maj, min));
	TRY(rel_symlink(dir, p));
	TRY(fmt(p, "%s/%s", fs->dev, devname));
	return write_abs(p, "", 0);
}

static unsigned int num_suffix(const char *name, size_t skip)
{
	return (unsigned int)strtoul(name + skip, NULL, 10);
}

/* sda -> 0, sdz -> 25, sdaa -> 26 (bijective base 26, as sd_format_disk_name). */
static unsigned int sd_index(const char *name)
{
	unsigned int v = 0;

	for (const char *p = name + 2; *p >= 'a' && *p <= 'z'; p++)
		v = v * 26 + (unsigned int)(*p - 'a' + 1);
	return v - 1;
}

static int dev_link(struct fake_sysfs *fs, const char *sub, const char *name, const char *node)
{
	char l[PATH_MAX], t[PATH_MAX];

	TRY(fmt(l, "%s/disk/%s/%s", fs->dev, sub, name));
	TRY(fmt(t, "%s/%s", fs->dev, node));
	return rel_symlink(t, l);
}

static int pad_attr(const char *dir, const char *name, const char *val, int width)
{
	char p[PATH_MAX];

	TRY(fmt(p, "%s/%s", dir, name));
	/* sysfs shows the INQUIRY field blank-padded to its width. */
	return write_str(p, "%-*s\n", width, val);
}

/* "0000:00:1f.2": what the kernel names a PCI device's directory (domain may be longer). */
static bool is_pci_addr(const char *s, size_t n)
{
	size_t d = 0;

	while (d < n && isxdigit((unsigned char)s[d]))
		d++;
	return d >= 4 && n == d + 8 && s[d] == ':' && isxdigit((unsigned char)s[d + 1]) &&
	       isxdigit((unsigned char)s[d + 2]) && s[d + 3] == ':' &&
	       isxdigit((unsigned char)s[d + 4]) && isxdigit((unsigned char)s[d + 5]) &&
	       s[d + 6] == '.' && s[d + 7] >= '0' && s[d + 7] <= '7';
}

/* sys/bus/pci/devices/ADDR for every PCI device on the way down @path (under sys/devices/). */
static int pci_links(struct fake_sysfs *fs, const char *path)
{
	char dir[PATH_MAX], l[PATH_MAX];
	size_t base = strlen(fs->sys) + strlen("/devices/");

	TRY(fmt(dir, "%s", path));
	for (size_t i = base; i <= strlen(path); i++) {
		size_t start = i;

		while (path[i] && path[i] != '/')
			i++;
		if (!is_pci_addr(path + start, i - start))
			continue;
		dir[i] = '\0';
		TRY(mkdir_p(dir));
		TRY(fmt(l, "%s/bus/pci/devices/%.*s", fs->sys, (int)(i - start), path + start));
		TRY(rel_symlink(dir, l));
		dir[i] = path[i];
	}
	return 0;
}

static int host_path(struct fake_sysfs *fs, const char *pci, uint32_t host, char *out)
{
	return fmt(out, "%s/devices/pci0000:00/%s/host%u", fs->sys, pci ? pci : "0000:00:05.0",
	           host);
}

/* The Scsi_Host device, its scsi_host class device and the PCI devices above it. */
static int add_host_dir(struct fake_sysfs *fs, const char *pci, uint32_t hostno, char *host)
{
	char p[PATH_MAX], q[PATH_MAX], bus[PATH_MAX];

	TRY(host_path(fs, pci, hostno, host));
	TRY(mkdir_p(host));
	TRY(pci_links(fs, host));
	TRY(fmt(bus, "%s/bus/scsi", fs->sys));
	/* Host and target sit on the scsi bus too; only the H:C:T:L name tells them apart. */
	TRY(fmt(p, "%s/subsystem", host));
	TRY(rel_symlink(bus, p));
	TRY(fmt(p, "%s/scsi_host/host%u", host, hostno));
	TRY(mkdir_p(p));
	TRY(fmt(q, "%s/device", p));
	TRY(rel_symlink(host, q));
	TRY(fmt(q, "%s/class/scsi_host/host%u", fs->sys, hostno));
	return rel_symlink(p, q);
}

int fake_sysfs_add_host(struct fake_sysfs *fs, const struct fake_scsi_host *h)
{
	char host[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	TRY(add_host_dir(fs, h->pci, h->host, host));
	if (h->unique_id) {
		TRY(fmt(p, "%s/scsi_host/host%u/unique_id", host, h->host));
		TRY(write_str(p, "%s\n", h->unique_id));
	}
	if (h->port_name || h->node_name) {
		TRY(fmt(p, "%s/fc_host/host%u", host, h->host));
		TRY(mkdir_p(p));
		TRY(fmt(q, "%s/device", p));
		TRY(rel_symlink(host, q));
		TRY(fmt(q, "%s/class/fc_host/host%u", fs->sys, h->host));
		TRY(rel_symlink(p, q));
		if (h->port_name) {
			TRY(fmt(q, "%s/port_name", p));
			TRY(write_str(q, "%s\n", h->port_name));
		}
		if (h->node_name) {
			TRY(fmt(q, "%s/node_name", p));
			TRY(write_str(q, "%s\n", h->node_name));
		}
	}
	return 0;
}

int fake_sysfs_add_pci(struct fake_sysfs *fs, const char *addr)
{
	char p[PATH_MAX];

	TRY(fmt(p, "%s/devices/pci0000:00/%s", fs->sys, addr));
	TRY(mkdir_p(p));
	return pci_links(fs, p);
}

int fake_sysfs_add_scsi(struct fake_sysfs *fs, const struct fake_scsi_dev *d)
{
	char host[PATH_MAX], tgt[PATH_MAX], sdev[PATH_MAX], p[PATH_MAX], q[PATH_MAX], bus[PATH_MAX],
	    hctl[64];
	const char *node = NULL;

	snprintf(hctl, sizeof(hctl), "%u:%u:%u:%u", d->host, d->channel, d->target, d->lun);
	TRY(fmt(bus, "%s/bus/scsi", fs->sys));
	TRY(add_host_dir(fs, d->pci, d->host, host));
	TRY(fmt(tgt, "%s/target%u:%u:%u", host, d->host, d->channel, d->target));
	TRY(fmt(sdev, "%s/%s", tgt, hctl));
	TRY(mkdir_p(sdev));

	TRY(fmt(p, "%s/subsystem", tgt));
	TRY(rel_symlink(bus, p));

	TRY(fmt(p, "%s/subsystem", sdev));
	TRY(rel_symlink(bus, p));
	TRY(fmt(p, "%s/type", sdev));
	TRY(write_str(p, "%d\n", d->type));
	TRY(pad_attr(sdev, "vendor", d->vendor ? d->vendor : "LIO-ORG", 8));
	TRY(pad_attr(sdev, "model", d->model ? d->model : "disk", 16));
	TRY(pad_attr(sdev, "rev", d->rev ? d->rev : "4.0", 4));
	if (d->wwid) {
		TRY(fmt(p, "%s/wwid", sdev));
		TRY(write_str(p, "%s\n", d->wwid));
	}
	if (d->vpd83) {
		TRY(fmt(p, "%s/vpd_pg83", sdev));
		TRY(write_abs(p, d->vpd83, d->vpd83_len));
	}
	TRY(fmt(p, "%s/scsi_device/%s", sdev, hctl));
	TRY(mkdir_p(p));
	TRY(fmt(q, "%s/device", p));
	TRY(rel_symlink(sdev, q));
	TRY(fmt(q, "%s/class/scsi_device/%s", fs->sys, hctl));
	TRY(rel_symlink(p, q));
	TRY(fmt(q, "%s/devices/%s", bus, hctl));
	TRY(rel_symlink(sdev, q));

	if (d->sg) {
		TRY(fmt(p, "%s/scsi_generic/%s", sdev, d->sg));
		TRY(class_dev(fs, p, "scsi_generic", "char", 21, num_suffix(d->sg, 2), sdev,
		              d->sg));
	}
	if (d->block) {
		bool sr = strncmp(d->block, "sr", 2) == 0;
		unsigned int maj = sr ? 11 : 8;
		unsigned int min = sr ? num_suffix(d->block, 2) : 16 * sd_index(d->block);

		TRY(fmt(p, "%s/block/%s", sdev, d->block));
		TRY(class_dev(fs, p, "block", "block", maj, min, sdev, d->block));
		for (unsigned int i = 1; i <= d->partitions; i++) {
			char part[64];

			snprintf(part, sizeof(part), "%s%u", d->block, i);
			TRY(fmt(q, "%s/%s", p, part));
			TRY(class_dev(fs, q, "block", "block", maj, min + i, NULL, part));
			TRY(fmt(q, "%s/%s/partition", p, part));
			TRY(write_str(q, "%u\n", i));
		}
	}
	if (d->tape) {
		char nst[64];

		snprintf(nst, sizeof(nst), "n%s", d->tape);
		TRY(fmt(p, "%s/scsi_tape/%s", sdev, d->tape));
		TRY(class_dev(fs, p, "scsi_tape", "char", 9, num_suffix(d->tape, 2), sdev,
		              d->tape));
		TRY(fmt(p, "%s/scsi_tape/%s", sdev, nst));
		TRY(class_dev(fs, p, "scsi_tape", "char", 9, num_suffix(d->tape, 2) + 128, sdev,
		              nst));
	}
	if (d->changer) {
		/* drivers/scsi/ch.c: char major 86, class scsi_changer */
		TRY(fmt(p, "%s/scsi_changer/%s", sdev, d->changer));
		TRY(class_dev(fs, p, "scsi_changer", "char", 86, num_suffix(d->changer, 3), sdev,
		              d->changer));
	}
	{
		char bsgname[80];

		snprintf(bsgname, sizeof(bsgname), "bsg/%s", hctl);
		TRY(fmt(p, "%s/bsg/%s", sdev, hctl));
		TRY(class_dev(fs, p, "bsg", "char", 248, fs->bsg_minor++, sdev, bsgname));
	}

	node = d->block ? d->block : d->sg ? d->sg : d->tape;
	if (d->by_id && node)
		TRY(dev_link(fs, "by-id", d->by_id, node));
	if (d->by_path && node)
		TRY(dev_link(fs, "by-path", d->by_path, node));
	return 0;
}

int fake_sysfs_add_virtio_blk(struct fake_sysfs *fs, const char *name, unsigned int minor)
{
	char vdev[PATH_MAX], p[PATH_MAX], bus[PATH_MAX];

	TRY(fmt(vdev, "%s/devices/pci0000:00/0000:00:02.0/virtio%u", fs->sys, minor + 1));
	TRY(mkdir_p(vdev));
	TRY(fmt(bus, "%s/bus/virtio", fs->sys));
	TRY(fmt(p, "%s/subsystem", vdev));
	TRY(rel_symlink(bus, p));
	TRY(fmt(p, "%s/block/%s", vdev, name));
	return class_dev(fs, p, "block", "block", 254, minor, vdev, name);
}

int fake_sysfs_add_virtual_char(struct fake_sysfs *fs, const char *name, unsigned int major,
                                unsigned int minor)
{
	char p[PATH_MAX];

	TRY(fmt(p, "%s/devices/virtual/mem/%s", fs->sys, name));
	TRY(class_dev(fs, p, "mem", "char", major, minor, NULL, name));
	return 0;
}

int fake_sysfs_add_dm(struct fake_sysfs *fs, unsigned int n, const char *by_id)
{
	char p[PATH_MAX], q[PATH_MAX], name[32];

	snprintf(name, sizeof(name), "dm-%u", n);
	TRY(fmt(p, "%s/devices/virtual/block/%s", fs->sys, name));
	TRY(class_dev(fs, p, "block", "block", 253, n, NULL, name));
	TRY(fmt(q, "%s/dm/name", p));
	TRY(write_str(q, "mpatha\n"));
	if (by_id)
		TRY(dev_link(fs, "by-id", by_id, name));
	return 0;
}
