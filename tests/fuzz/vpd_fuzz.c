/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vpd_fuzz.c - the resolver's parsers of device-supplied and typed-in
 * text that need no sysfs (libpvscsi/resolve_vpd.c, resolve.c): VPD page
 * 0x83 as a device reports it (sysfs 'vpd_pg83': firmware bugs give
 * truncated pages and overrunning lengths), H:C:T:L strings, and the
 * stable spec built from an identity.
 *
 * Input: a mode byte, then the page (held in a heap buffer of exactly its
 * size, so ASan sees any read past it), the association asked for and the
 * room for the answer; or a string; or the fields of a resolved p-dev.
 *
 * Checked: every designator the iterator yields lies inside the bytes held
 * and inside the page's own length; pvs_vpd83_identity() answers -EINVAL
 * exactly for what is no VPD 0x83 page, an identity that is the format of
 * one of the page's designators of that association, with the documented
 * prefix and lower-case hex of twice the designator's length for NAA and
 * EUI-64 (a SCSI name string is the device's own text), the same identity whatever the room when it
 * fits and -ENAMETOOLONG with "" when it does not; H:C:T:L parses exactly four decimal fields below
 * 2^32 and prints back to an equal value; pvs_pdev_stable_spec() fits its buffer or says -ENOSPC
 * with "".
 */
#include <errno.h>

#include "fz.h"
#include "pvscsi/resolve.h"
#include "resolve_int.h"

static void check_page(struct fz *f)
{
	uint8_t assoc = fz_u8(f) % 4, room = fz_u8(f);
	size_t len = fz_u16(f) % 1200;
	uint8_t *pg = malloc(len ? len : 1);
	char id[PVS_PDEV_ID_MAX], small[256];
	struct pvsi_vpd83_iter it;
	struct pvsi_desig d;
	bool found = false, binary = false;
	int rc, rc2;

	len = fz_bytes(f, pg, len);
	rc = pvs_vpd83_identity(pg, len, assoc, id, sizeof(id));
	if (len < 4 || pg[1] != 0x83) {
		FZ_CHECK(rc == -EINVAL && id[0] == 0, "not a VPD 0x83 page: %d", rc);
		free(pg);
		return;
	}
	FZ_CHECK(rc == -ENODATA || (rc > 0 && (size_t)rc == strlen(id)), "identity: %d", rc);
	FZ_CHECK(pvsi_vpd83_begin(&it, pg, len) == 0, "begin");
	while (pvsi_vpd83_next(&it, &d)) {
		char fmt[PVS_PDEV_ID_MAX];

		FZ_CHECK(d.data >= pg + 4 && d.data + d.len <= pg + len &&
		             d.data + d.len <= pg + 4 + ((size_t)pg[2] << 8 | pg[3]),
		         "designator at %td, %zu bytes, outside a page of %zu", d.data - pg, d.len,
		         len);
		if (d.assoc != assoc || rc < 0)
			continue;
		if (pvsi_desig_format(&d, fmt, sizeof(fmt)) > 0 && !strcmp(fmt, id)) {
			found = true;
			/* A SCSI name string may itself read "eui." or "naa.": only the binary ones
			 * are hex. */
			binary |= d.type == 2 || d.type == 3;
		}
	}
	if (rc > 0) {
		FZ_CHECK(found, "identity '%s' is none of the page's designators", id);
		if (binary) {
			size_t n = strlen(id + 4);

			FZ_CHECK(strspn(id + 4, "0123456789abcdef") == n &&
			             (n == 16 || n == 24 || n == 32),
			         "identity '%s'", id);
		}
		/* The same answer in a smaller buffer, or none at all. */
		rc2 = pvs_vpd83_identity(pg, len, assoc, small, room ? room : 1);
		if ((size_t)rc < (room ? room : 1u))
			FZ_CHECK(rc2 == rc && !strcmp(small, id), "room %u: %d '%s'", room, rc2,
			         small);
		else
			FZ_CHECK(rc2 == -ENAMETOOLONG && small[0] == 0, "room %u for %d: %d", room,
			         rc, rc2);
	}
	free(pg);
}

static void check_hctl(struct fz *f)
{
	char s[96], back[96];
	struct pvs_hctl h = {1, 2, 3, 4}, h2;
	int rc;

	fz_str(f, s, sizeof(s));
	rc = pvs_parse_hctl(s, &h);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE, "parse_hctl: %d", rc);
	if (rc) {
		FZ_CHECK(h.host == 1 && h.channel == 2 && h.target == 3 && h.lun == 4,
		         "'%s' refused but the output changed", s);
		return;
	}
	FZ_CHECK(strspn(s, "0123456789:") == strlen(s), "'%s' accepted", s);
	snprintf(back, sizeof(back), "%u:%u:%u:%u", h.host, h.channel, h.target, h.lun);
	FZ_CHECK(pvs_parse_hctl(back, &h2) == 0 && !memcmp(&h, &h2, sizeof(h)),
	         "'%s' -> '%s' does not read back", s, back);
}

static void check_stable(struct fz *f)
{
	struct pvs_pdev p;
	char buf[PVS_PDEV_ID_MAX + 64];
	size_t room = fz_u16(f) % sizeof(buf);
	int rc;

	memset(&p, 0, sizeof(p));
	p.lun = fz_u32(f);
	fz_str(f, p.wwid, sizeof(p.wwid));
	fz_str(f, p.target_wwid, sizeof(p.target_wwid));
	fz_str(f, p.by_id, sizeof(p.by_id));
	memset(buf, 0x5a, sizeof(buf));
	rc = pvs_pdev_stable_spec(&p, buf, room);
	FZ_CHECK(rc == 0 || rc == -ENODATA || rc == -ENOSPC, "stable spec: %d", rc);
	if (rc == 0)
		FZ_CHECK(strlen(buf) < room && buf[0], "stable spec of %zu bytes in %zu",
		         strlen(buf), room);
	else if (rc == -ENOSPC && room)
		FZ_CHECK(buf[0] == 0, "-ENOSPC with '%.20s'", buf);
	if (rc == 0 && !p.wwid[0] && !p.target_wwid[0])
		FZ_CHECK(strstr(buf, "by-id") != NULL, "'%s' from no identity", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;

	fz_init(&f, data, size);
	switch (fz_u8(&f) % 3) {
	case 0:
		check_page(&f);
		break;
	case 1:
		check_hctl(&f);
		break;
	default:
		check_stable(&f);
		break;
	}
	return 0;
}
