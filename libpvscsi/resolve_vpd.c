/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * resolve_vpd.c - identities from VPD page 0x83.
 *
 * The page comes from a host device (sysfs 'vpd_pg83'): firmware bugs give
 * truncated pages and descriptor lengths that overrun, so every read is
 * bounded by both the bytes we hold and the page's own length.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pvscsi/resolve.h"
#include "resolve_int.h"

int pvsi_vpd83_begin(struct pvsi_vpd83_iter *it, const uint8_t *pg, size_t len)
{
	size_t claimed;

	memset(it, 0, sizeof(*it));
	/* SPC-5 7.7.6.1: byte 1 page code, bytes 2-3 page length after the header. */
	if (!pg || len < 4 || pg[1] != 0x83)
		return -EINVAL;
	claimed = 4 + (((size_t)pg[2] << 8) | pg[3]);
	it->pg = pg;
	it->end = claimed < len ? claimed : len;
	it->off = 4;
	return 0;
}

bool pvsi_vpd83_next(struct pvsi_vpd83_iter *it, struct pvsi_desig *d)
{
	const uint8_t *p;
	size_t dlen;

	if (!it->pg || it->off >= it->end || it->end - it->off < 4)
		return false;
	p = it->pg + it->off;
	dlen = p[3];
	if (it->end - it->off - 4 < dlen) {
		/* Truncated: nothing after this point can be located reliably. */
		it->off = it->end;
		return false;
	}
	d->codeset = p[0] & 0x0f;
	d->assoc = (p[1] >> 4) & 0x03;
	d->type = p[1] & 0x0f;
	d->data = p + 4;
	d->len = dlen;
	it->off += 4 + dlen;
	return true;
}

/* Rank for pvs_vpd83_identity(): higher wins, 0 never. */
static int desig_rank(const struct pvsi_desig *d)
{
	switch (d->type) {
	case 3: /* NAA */
		return d->len == 16 ? 70 : d->len == 8 ? 60 : 0;
	case 2: /* EUI-64 */
		return d->len == 16 ? 50 : d->len == 12 ? 45 : d->len == 8 ? 40 : 0;
	case 8: /* SCSI name string */
		return d->len && d->data[0] ? 30 : 0;
	case 1: /* T10 vendor ID */
		return d->len ? 20 : 0;
	default:
		return 0;
	}
}

/* Appends @s; false when it does not fit (the caller reports -ENAMETOOLONG). */
static bool put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (n >= len - *pos)
		return false;
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
	return true;
}

/*
 * Linux formats text designators with %pE (ESCAPE_ANY_NP): printable bytes
 * (its Latin-1 ctype counts 0xa0-0xff as printable) pass, the rest become C
 * escapes or octal.  Matching the sysfs 'wwid' byte for byte needs the same.
 */
static bool put_escaped(char *buf, size_t len, size_t *pos, const uint8_t *s, size_t n)
{
	char tmp[8];

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		bool printable = (c >= 0x20 && c < 0x7f) || c >= 0xa0;

		if (printable) {
			tmp[0] = (char)c;
			tmp[1] = '\0';
		} else {
			switch (c) {
			case '\n':
				strcpy(tmp, "\\n");
				break;
			case '\r':
				strcpy(tmp, "\\r");
				break;
			case '\t':
				strcpy(tmp, "\\t");
				break;
			case '\v':
				strcpy(tmp, "\\v");
				break;
			case '\f':
				strcpy(tmp, "\\f");
				break;
			case '\a':
				strcpy(tmp, "\\a");
				break;
			case 0x1b:
				strcpy(tmp, "\\e");
				break;
			case 0:
				strcpy(tmp, "\\0");
				break;
			default:
				snprintf(tmp, sizeof(tmp), "\\%03o", c);
				break;
			}
		}
		if (!put(buf, len, pos, tmp))
			return false;
	}
	return true;
}

static bool put_hex(char *buf, size_t len, size_t *pos, const uint8_t *s, size_t n)
{
	char tmp[3];

	for (size_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%02x", s[i]);
		if (!put(buf, len, pos, tmp))
			return false;
	}
	return true;
}

int pvsi_desig_format(const struct pvsi_desig *d, char *buf, size_t len)
{
	size_t pos = 0;
	size_t n;
	bool ok;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (!desig_rank(d))
		return -EINVAL;
	switch (d->type) {
	case 3:
		ok = put(buf, len, &pos, "naa.") && put_hex(buf, len, &pos, d->data, d->len);
		break;
	case 2:
		ok = put(buf, len, &pos, "eui.") && put_hex(buf, len, &pos, d->data, d->len);
		break;
	case 1:
		ok = put(buf, len, &pos, "t10.") && put_escaped(buf, len, &pos, d->data, d->len);
		break;
	default:
		/* SPC-5 7.7.6.11: NUL-terminated and NUL-padded to a multiple of 4. */
		n = strnlen((const char *)d->data, d->len);
		ok = put_escaped(buf, len, &pos, d->data, n);
		break;
	}
	if (!ok) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return (int)pos;
}

int pvs_vpd83_identity(const uint8_t *page, size_t len, unsigned int assoc, char *id, size_t idlen)
{
	struct pvsi_vpd83_iter it;
	struct pvsi_desig d, best;
	int best_rank = 0;
	int rc;

	if (id && idlen)
		id[0] = '\0';
	if (!id || !idlen)
		return -ENAMETOOLONG;
	rc = pvsi_vpd83_begin(&it, page, len);
	if (rc)
		return rc;
	while (pvsi_vpd83_next(&it, &d)) {
		int rank;

		if (d.assoc != assoc)
			continue;
		rank = desig_rank(&d);
		/* Strictly greater: among equals the first listed wins. */
		if (rank > best_rank) {
			best_rank = rank;
			best = d;
		}
	}
	if (!best_rank)
		return -ENODATA;
	return pvsi_desig_format(&best, id, idlen);
}
