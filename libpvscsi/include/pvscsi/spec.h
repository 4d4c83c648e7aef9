/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/spec.h - the one parser of LUN specs, for every program: pvscsid
 * (xenstore p-dev), pvscsi-vhost-user (--lun, control socket), the xl front
 * (vscsi=, xl scsi-attach) and pvscsi-cdb.
 *
 *   file:PATH[,ro][,bs=512|4096][,cache=none|writeback]
 *                                  emulated, on a regular file or block device;
 *                                  cache=none opens it O_DIRECT (bypassing the
 *                                  host's page cache), writeback (the default)
 *                                  does buffered I/O
 *   mem:SIZE[,ro][,bs=512|4096]    emulated, RAM-backed (K/M/G/T suffixes)
 *   cdrom:[PATH][,ro]              emulated CD/DVD-ROM drive (MMC) on a read-only
 *                                  image of 2048-byte blocks; no PATH: an empty
 *                                  drive; ro is implied
 *   rbd:POOL/IMAGE[@SNAP][,ro][,bs=512|4096][,conf=FILE][,id=USER]
 *                                  emulated, on a Ceph RBD image through
 *                                  librbd; conf= the cluster's ceph.conf
 *                                  (default: librados's search), id= the
 *                                  cephx user without "client." (default:
 *                                  admin); a snapshot is read-only
 *   sg:/dev/sgN[,raw|,ro]          passthrough to the LUN behind an sg node
 *   iscsi://[USER@]HOST[:PORT]/TARGET-IQN/LUN[,raw|,ro][,chap=FILE]
 *                                  passthrough to a LUN of an iSCSI target
 *                                  (libiscsi's URL form); the CHAP secret of
 *                                  USER is read from FILE (root's, mode 0600
 *                                  or stricter), never from the spec itself
 *   HOST-PDEV[,raw|,ro]            passthrough to a host LUN named any way
 *                                  pvscsi/resolve.h accepts (H:C:T:L, naa.,
 *                                  /dev/disk/by-id/..., sdX, ...)
 *
 * A PATH (conf= FILE included) never contains a comma.  A HOST-PDEV may (by-path names do not, but
 * a t10. identity can): only trailing known options are taken off it.
 */
#ifndef PVSCSI_SPEC_H
#define PVSCSI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVS_SPEC_MAX 1100 /* the longest spec text, NUL included (a t10. identity and options) */

enum pvs_spec_kind {
	PVS_SPEC_FILE,
	PVS_SPEC_MEM,
	PVS_SPEC_SG,
	PVS_SPEC_HOST,  /* resolved through pvs_resolve() to an sg node */
	PVS_SPEC_CDROM, /* emulated MMC drive; name "" is an empty drive */
	PVS_SPEC_ISCSI, /* name: the URL after "iscsi://" */
	PVS_SPEC_RBD,   /* Ceph RBD image; name is POOL/IMAGE[@SNAP] */
};

struct pvs_spec {
	enum pvs_spec_kind kind;
	char name[PVS_SPEC_MAX]; /* the path, the size text or the host p-dev, options removed */
	uint64_t size;           /* mem: in bytes */
	bool ro;
	bool raw;    /* feature-host: every command reaches the device, unfiltered */
	uint32_t bs; /* bs=: 512 or 4096; 0 when not given */
	bool direct; /* file: cache=none (O_DIRECT); false: cache=writeback, the default */
	/* file: writes=inline (pwritev2 in the event loop); false: writes=io_uring, the default */
	bool inline_writes;
	char chap[256]; /* iscsi: chap=: the file with USER's CHAP secret; "" when not given */
	/* rbd: conf= and id=; "" when not given */
	char rbd_conf[256];
	char rbd_id[64];
};

/*
 * Parse @text.  Returns 0 and fills @out, or -EINVAL (-ENAMETOOLONG for a
 * spec over PVS_SPEC_MAX) with one line in @err that quotes the spec and says
 * what is wrong and what would be accepted.  Refused: an empty name (but
 * for cdrom:, an empty drive), bs= on cdrom: (2048-byte blocks), cache= or
 * writes= on anything but file:, writes=inline with cache=none, an rbd: name not POOL/IMAGE[@SNAP],
 * conf= or id= on anything but rbd:, a mem: size that is not a positive multiple of the block size,
 * an unknown option, bs= on a passthrough LUN, raw on an emulated one, raw with ro.
 */
int pvs_spec_parse(const char *text, struct pvs_spec *out, char *err, size_t errlen);

/*
 * The canonical text of @s (options in the order ro, raw, bs=, cache=none,
 * conf=, id=; cdrom: without its implied ro; the default cache=writeback not written), which
 * pvs_spec_parse() reads back to the same struct.  0, or -ENAMETOOLONG when
 * @len is too small (then @buf is "").
 */
int pvs_spec_format(const struct pvs_spec *s, char *buf, size_t len);

/* "file", "mem", "sg", "host", "cdrom", "iscsi" or "rbd". */
const char *pvs_spec_kind_name(enum pvs_spec_kind kind);

#endif
