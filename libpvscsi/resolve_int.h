/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* resolve_int.h - shared between libpvscsi/resolve*.c only. */
#ifndef PVSCSI_RESOLVE_INT_H
#define PVSCSI_RESOLVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One designation descriptor of VPD page 0x83 (SPC-5 7.7.6.1). */
struct pvsi_desig {
	unsigned int assoc;   /* 0 logical unit, 1 target port, 2 target device */
	unsigned int type;    /* 1 T10 vendor ID, 2 EUI-64, 3 NAA, 8 SCSI name string */
	unsigned int codeset; /* 1 binary, 2 ASCII, 3 UTF-8 */
	const uint8_t *data;
	size_t len;
};

struct pvsi_vpd83_iter {
	const uint8_t *pg;
	size_t end; /* bytes of the page that are both present and claimed by its length */
	size_t off;
};

/* -EINVAL unless @pg is a VPD 0x83 page header. */
int pvsi_vpd83_begin(struct pvsi_vpd83_iter *it, const uint8_t *pg, size_t len);
/* false at the end, or at the first descriptor that does not fit in the page. */
bool pvsi_vpd83_next(struct pvsi_vpd83_iter *it, struct pvsi_desig *d);
/*
 * Format as Linux's sysfs wwid does.  Returns the length, -EINVAL for a
 * designator that is no identity (wrong type or length), -ENAMETOOLONG.
 */
int pvsi_desig_format(const struct pvsi_desig *d, char *buf, size_t len);

#endif
