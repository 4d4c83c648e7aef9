/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec_fuzz.c - the LUN spec parser (libpvscsi/spec.c), which reads what
 * administrators type (xl scsi-attach, vscsi=, --lun, the control socket,
 * pvscsi-cdb) and what xenstore holds (p-dev).
 *
 * Input: the spec text (NUL-terminated here; bytes after a NUL are cut).
 *
 * Checked: 0, -EINVAL or -ENAMETOOLONG; on error a terminated, non-empty
 * message that quotes no more than fits; on success the rules hold (a name,
 * a mem: size that is a positive multiple of the block size, no ro with
 * raw, no raw on an emulated kind, no bs= on a passthrough kind, cache=none
 * on file: only) and the
 * canonical text parses back to the same spec and formats the same again.
 */
#include <errno.h>

#include "fz.h"
#include "pvscsi/spec.h"

static FZ_NOCOV bool same(const struct pvs_spec *a, const struct pvs_spec *b)
{
	return a->kind == b->kind && !strcmp(a->name, b->name) && a->size == b->size &&
	       a->ro == b->ro && a->raw == b->raw && a->bs == b->bs && a->direct == b->direct &&
	       !strcmp(a->rbd_conf, b->rbd_conf) && !strcmp(a->rbd_id, b->rbd_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pvs_spec s, s2;
	static char text[PVS_SPEC_MAX + 64], buf[PVS_SPEC_MAX + 64], buf2[PVS_SPEC_MAX + 64];
	char err[160];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	int rc;

	memcpy(text, data, n);
	text[n] = '\0';
	memset(err, 'x', sizeof(err));
	rc = pvs_spec_parse(text, &s, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG, "rc %d", rc);
	FZ_CHECK(memchr(err, 0, sizeof(err)), "message not terminated");
	if (rc) {
		FZ_CHECK(err[0], "refused (%d) without a message", rc);
		return 0;
	}
	FZ_CHECK(!err[0], "accepted with a message: %s", err);
	/* an empty drive is the one kind without a name */
	FZ_CHECK(s.name[0] || s.kind == PVS_SPEC_CDROM, "accepted without a name: '%s'", text);
	FZ_CHECK(!(s.ro && s.raw), "ro and raw accepted: '%s'", text);
	FZ_CHECK(s.bs == 0 || s.bs == 512 || s.bs == 4096, "bs %u", s.bs);
	if (s.kind == PVS_SPEC_CDROM)
		FZ_CHECK(!s.raw && !s.bs && s.ro, "cdrom: with raw, bs= or without ro: '%s'", text);
	else if (s.kind == PVS_SPEC_FILE || s.kind == PVS_SPEC_MEM || s.kind == PVS_SPEC_RBD)
		FZ_CHECK(!s.raw, "raw on an emulated LUN: '%s'", text);
	else
		FZ_CHECK(!s.bs, "bs= on a passthrough LUN: '%s'", text);
	FZ_CHECK(!s.direct || s.kind == PVS_SPEC_FILE, "cache=none on a %s LUN: '%s'",
	         pvs_spec_kind_name(s.kind), text);
	if (s.kind == PVS_SPEC_MEM)
		FZ_CHECK(s.size && s.size % (s.bs ? s.bs : 512) == 0, "mem size %llu",
		         (unsigned long long)s.size);
	if (s.kind != PVS_SPEC_HOST)
		FZ_CHECK(!strchr(s.name, ','), "a comma in the name '%s'", s.name);
	/* The canonical text is at most the input plus the prefix: it fits. */
	FZ_CHECK(pvs_spec_format(&s, buf, sizeof(buf)) == 0, "format of '%s'", text);
	rc = pvs_spec_parse(buf, &s2, err, sizeof(err));
	FZ_CHECK(rc == 0, "'%s' formats as '%s', which is refused: %s", text, buf, err);
	FZ_CHECK(same(&s, &s2), "'%s' -> '%s' parses differently", text, buf);
	FZ_CHECK(pvs_spec_format(&s2, buf2, sizeof(buf2)) == 0 && !strcmp(buf, buf2),
	         "'%s' formats as '%s' then '%s'", text, buf, buf2);
	return 0;
}
