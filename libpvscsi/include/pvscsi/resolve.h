/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/resolve.h - turn an administrator's name for a host SCSI device
 * ("p-dev") into its current H:C:T:L and /dev/sgN, and a stable identity.
 *
 * Host numbers change across reboots, hot-plug and migration, so what is
 * stored (xenstore p-dev, domain config) should be the stable spec from
 * pvs_pdev_stable_spec(), re-resolved on every host.  docs/resolve.md has
 * the accepted forms and the stable spec syntax.
 *
 * Accepted specs:
 *   /dev/...            a node (sdX, sgN, srN, stN, nstN, bsg/H:C:T:L, or a
 *                       symlink such as /dev/disk/by-id/... or by-path/...)
 *                       whose sysfs entry leads to a scsi_device.
 *                       Partitions are refused: passthrough is whole LUNs only.
 *   sda, sg3, st0       a bare kernel name, looked up in sysfs classes.
 *   H:C:T:L             decimal numbers, see pvs_parse_hctl().
 *   naa.<hex>[:LUN]     VPD 0x83 NAA designator (16 or 32 hex digits).
 *   eui.<hex>[:LUN]     VPD 0x83 EUI-64 designator (16, 24 or 32 hex digits).
 *   t10.<text>          a sysfs wwid string taken literally (may hold blanks).
 *   wwid:<text>         any sysfs wwid string taken literally.
 * and a SCSI host (libvirt's <adapter>) with bus:target:unit after it:
 *   scsi_hostN:B:T:U                      host N (as unstable as H:C:T:L)
 *   pci_DDDD_BB_SS_F[/unique_id=N]:B:T:U  the host under that PCI device whose
 *                                         unique_id is N, else the smallest
 *   fc_host/wwpn=W[/wwnn=W]:B:T:U         the FC host (NPIV vport) with that
 *                                         WWPN, 16 hex digits, 0x optional
 *
 * Nothing here keeps state or caches: every call reads sysfs afresh.  The
 * functions are thread-safe.
 */
#ifndef PVSCSI_RESOLVE_H
#define PVSCSI_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

/* Roots; a NULL member means the real one ("/sys", "/dev").  Tests point them at fake trees. */
struct pvs_resolver {
	const char *sysfs_root;
	const char *dev_root;
};

struct pvs_hctl {
	uint32_t host, channel, target, lun;
};

#define PVS_PDEV_PATH_MAX 256
/* "fc_host/wwpn=" 16 "/wwnn=" 16 ":B:T:U", or a PCI address with unique_id, and the NUL */
#define PVS_PDEV_ADAPTER_MAX 128
/* "t10." and a T10 vendor ID designator of 255 bytes, each escaped as \ooo, and the NUL */
#define PVS_PDEV_ID_MAX (4 + 255 * 4 + 1)

struct pvs_pdev {
	uint32_t host, channel, target, lun; /* current H:C:T:L */
	char sg[PVS_PDEV_PATH_MAX];          /* dev_root + "/sgN", "" if the LUN has no sg node */
	char block[PVS_PDEV_PATH_MAX];       /* dev_root + "/sdX" or "/srN", "" if none */
	int type;                            /* peripheral device type (sysfs 'type'), -1 unknown */
	char vendor[9], model[17], rev[5];   /* INQUIRY strings, trailing blanks removed */
	/*
	 * Logical unit identity: sysfs 'wwid' if readable, else derived from
	 * 'vpd_pg83' by pvs_vpd83_identity(assoc 0); "" if neither.
	 */
	char wwid[PVS_PDEV_ID_MAX];
	/* Target device identity (VPD 0x83 association 2), "" if none. */
	char target_wwid[PVS_PDEV_ID_MAX];
	char by_id[PVS_PDEV_PATH_MAX]; /* dev_root + "/disk/by-id/NAME" pointing at it, or "" */
	/*
	 * The spec in canonical form when it named a stable adapter
	 * ("pci_0000_00_1f_2/unique_id=1:0:1:0", "fc_host/wwpn=...:0:0:2"), else "".
	 */
	char adapter[PVS_PDEV_ADAPTER_MAX];
};

/*
 * Resolve @spec.  Returns 0 and fills @out, or a negative errno:
 *   -EINVAL        malformed spec; a partition; a LUN that contradicts the identity
 *   -ERANGE        an H:C:T:L field over 4294967295
 *   -ENOENT        nothing by that name, number or identity exists
 *   -ENODEV        it exists but is not a SCSI device (virtio disk, /dev/null,
 *                  a regular file, a device-mapper/multipath map)
 *   -ENOTUNIQ      an identity carried by several SCSI devices (multipath);
 *                  an adapter that several SCSI hosts match
 *   -ELOOP         a /dev path that loops through symlinks
 *   -ENAMETOOLONG  a path or identity did not fit
 *   -ENOMEM
 * On failure *@out is zeroed and @err (if @errlen > 0) holds one line saying
 * what was asked, every place that was tried and why each failed (truncated to
 * fit, always NUL-terminated).  On success @err is "".  @r may be NULL.
 */
int pvs_resolve(const struct pvs_resolver *r, const char *spec, struct pvs_pdev *out, char *err,
                size_t errlen);

/*
 * The current host number of a SCSI host named by libvirt's adapter forms
 * alone, without an address: "scsi_hostN", "pci_DDDD_BB_SS_F[/unique_id=N]"
 * (without unique_id: the smallest there), "fc_host/wwpn=W[/wwnn=W]".  0 and
 * *@host, or -errno with the line pvs_resolve() would give in @err
 * (-ENOENT: no such host, -ENOTUNIQ: several match, -EINVAL: not an adapter).
 */
int pvs_resolve_adapter(const struct pvs_resolver *r, const char *adapter, uint32_t *host,
                        char *err, size_t errlen);

/*
 * The spec to store for re-resolution (migration, restart), first that applies:
 *   adapter, when the p-dev named the LUN by a stable adapter form,
 *   "naa.<hex>:LUN" or "eui.<hex>:LUN" when wwid is such a designator,
 *   "wwid:<wwid>" for any other wwid,
 *   "naa.<hex>:LUN" / "eui.<hex>:LUN" from target_wwid,
 *   "/dev/disk/by-id/NAME" (in the /dev namespace, not dev_root's).
 * Returns 0, -ENODATA when @p has no stable identity (H:C:T:L is not one),
 * -ENOSPC when @len is too small (then @buf is "").
 */
int pvs_pdev_stable_spec(const struct pvs_pdev *p, char *buf, size_t len);

/*
 * Parse "H:C:T:L" strictly: exactly four unsigned decimal fields, each
 * 0..4294967295 (leading zeros allowed), no sign, blank or trailing text.
 * Returns 0 and fills @out, -EINVAL for bad syntax, -ERANGE for a field over
 * 2^32-1.  @out is untouched on failure.
 */
int pvs_parse_hctl(const char *s, struct pvs_hctl *out);

/*
 * Pick an identity from a raw VPD page 0x83 (header included, as in sysfs
 * 'vpd_pg83') among designators with association @assoc (0 logical unit,
 * 2 target device).  Preference: NAA (16-byte over 8-byte), EUI-64 (longer
 * first), SCSI name string, T10 vendor ID; formatted as Linux formats sysfs
 * 'wwid' ("naa.<lowercase hex>", "eui.<hex>", "t10.<escaped text>").
 * The page is treated as untrusted: a designator that runs past the page
 * ends the walk.  Returns the identity's length, -EINVAL for a page that is
 * not VPD 0x83, -ENODATA when no usable designator exists, -ENAMETOOLONG if
 * @idlen is too small.  @id is "" on failure.
 */
int pvs_vpd83_identity(const uint8_t *page, size_t len, unsigned int assoc, char *id, size_t idlen);

/* lsscsi's name of a peripheral device type: "disk", "tape", "cd/dvd", "mediumx"... */
const char *pvs_pdt_name(uint8_t pdt);

#endif
