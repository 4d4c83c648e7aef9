/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_sysfs.h - a throw-away /sys and /dev with the shape Linux gives them,
 * for testing p-dev resolution (pvscsi/resolve.h) without SCSI hardware.
 *
 * Layout (all symlinks relative, as in the kernel's sysfs and udev's /dev):
 *   sys/devices/pci0000:00/PCI/hostH/
 *       subsystem -> bus/scsi   scsi_host/hostH/{device,[unique_id]}
 *       [fc_host/hostH/{device,port_name,node_name}]
 *   sys/devices/pci0000:00/PCI/hostH/targetH:C:T/H:C:T:L/
 *       type vendor model rev [wwid] [vpd_pg83] subsystem -> bus/scsi
 *       scsi_device/H:C:T:L/device -> ../../../H:C:T:L
 *       scsi_generic/sgN/{dev,device}   block/sdX/{dev,device,sdXP/{dev,partition}}
 *       scsi_tape/{stN,nstN}/{dev,device}   bsg/H:C:T:L/{dev,device}
 *   sys/class/{scsi_device,scsi_generic,block,scsi_tape,bsg,scsi_host,fc_host}/NAME -> devices/...
 *   sys/bus/scsi/devices/H:C:T:L -> devices/...
 *   sys/bus/pci/devices/ADDR -> devices/... for each PCI address in PCI
 *   sys/dev/{block,char}/MAJ:MIN -> devices/...
 *   dev/NAME (plain files), dev/bsg/H:C:T:L, dev/disk/by-id/NAME -> ../../sdX,
 *   dev/disk/by-path/NAME -> ../../sdX
 * Device numbers: sgN 21:N, sdX 8:16*(X-'a') (+P for partition P), stN 9:N,
 * nstN 9:N+128, srN 11:N, bsg 248:(order of creation).
 */
#ifndef FAKE_SYSFS_H
#define FAKE_SYSFS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct fake_sysfs {
	char root[PATH_MAX]; /* the mkdtemp directory */
	char sys[PATH_MAX];  /* root + "/sys": a pvs_resolver sysfs_root */
	char dev[PATH_MAX];  /* root + "/dev": a pvs_resolver dev_root */
	unsigned int bsg_minor;
};

struct fake_scsi_dev {
	uint32_t host, channel, target, lun;
	int type;                         /* 0 disk, 1 tape, 5 CD/DVD, 8 changer */
	const char *vendor, *model, *rev; /* NULL: "LIO-ORG", "disk", "4.0" */
	const char *wwid;                 /* NULL: no 'wwid' attribute (old kernels) */
	const uint8_t *vpd83;             /* NULL: no 'vpd_pg83' attribute */
	size_t vpd83_len;
	const char *sg;          /* "sg0", NULL: no sg node */
	const char *block;       /* "sda" or "sr0", NULL: none */
	const char *tape;        /* "st0" (nst0 comes along), NULL: none */
	const char *changer;     /* "sch0" (a medium changer's ch node), NULL: none */
	unsigned int partitions; /* block + "1".."N" */
	const char *by_id;       /* dev/disk/by-id name -> block, else sg; NULL: none */
	const char *by_path;     /* dev/disk/by-path name, likewise; NULL: none */
	/*
	 * The path from pci0000:00 to the host: "0000:00:1f.2", or with a bridge
	 * "0000:00:1c.0/0000:02:00.0", or virtio-scsi's "0000:00:04.0/virtio1";
	 * NULL: "0000:00:05.0".
	 */
	const char *pci;
};

/* A SCSI host's own attributes (fake_sysfs_add_scsi makes the host without them). */
struct fake_scsi_host {
	uint32_t host;
	const char *pci;       /* as in fake_scsi_dev */
	const char *unique_id; /* the scsi_host 'unique_id' text ("1"); NULL: no attribute */
	/* An FC host (fc_host class): 'port_name' and 'node_name' text, NULL: none. */
	const char *port_name, *node_name;
};

/* All return 0 or -errno. */
int fake_sysfs_create(struct fake_sysfs *fs);
/* Empty sys/ and dev/ (a "reboot"), keeping the root so paths stay valid. */
int fake_sysfs_clear(struct fake_sysfs *fs);
/* Removes the whole tree. */
void fake_sysfs_destroy(struct fake_sysfs *fs);

int fake_sysfs_add_scsi(struct fake_sysfs *fs, const struct fake_scsi_dev *d);
/* A SCSI host with attributes; its LUNs come from fake_sysfs_add_scsi with the same pci. */
int fake_sysfs_add_host(struct fake_sysfs *fs, const struct fake_scsi_host *h);
/* A PCI device without SCSI hosts (a NIC), e.g. "0000:00:03.0". */
int fake_sysfs_add_pci(struct fake_sysfs *fs, const char *addr);
/* A virtio-blk disk (e.g. "vda", 254:@minor): a block device that is not SCSI. */
int fake_sysfs_add_virtio_blk(struct fake_sysfs *fs, const char *name, unsigned int minor);
/* A char device without a bus (like /dev/null, 1:3): no 'device' link at all. */
int fake_sysfs_add_virtual_char(struct fake_sysfs *fs, const char *name, unsigned int major,
                                unsigned int minor);
/* A device-mapper disk (dm-N, 253:N), with a by-id link when @by_id is non-NULL. */
int fake_sysfs_add_dm(struct fake_sysfs *fs, unsigned int n, const char *by_id);

/* A symlink at root/@link (parents made) with literal target @target. */
int fake_sysfs_symlink(struct fake_sysfs *fs, const char *link, const char *target);
/* A file at root/@path (parents made) holding @len bytes of @data. */
int fake_sysfs_write(struct fake_sysfs *fs, const char *path, const void *data, size_t len);

#endif
