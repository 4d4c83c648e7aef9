/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spec.c - LUN spec text <-> struct pvs_spec.  Every program parses specs
 * here, so that a spec the xl front accepts is one pvscsid opens, and the
 * same mistake gets the same message everywhere.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvscsi/spec.h"

static int bad(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Size with an optional K/M/G/T suffix (powers of two). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* 1 known and applied, 0 not an option word. */
static int take_opt(const char *opt, size_t n, struct pvs_spec *s)
{
	if (n == 2 && !memcmp(opt, "ro", 2))
		s->ro = true;
	else if (n == 3 && !memcmp(opt, "raw", 3))
		s->raw = true;
	else if (n == 6 && !memcmp(opt, "bs=512", 6))
		s->bs = 512;
	else if (n == 7 && !memcmp(opt, "bs=4096", 7))
		s->bs = 4096;
	else if (n == 10 && !memcmp(opt, "cache=none", 10))
		s->direct = true;
	else if (n == 15 && !memcmp(opt, "cache=writeback", 15))
		s->direct = false;
	else if (n == 13 && !memcmp(opt, "writes=inline", 13))
		s->inline_writes = true;
	else if (n == 15 && !memcmp(opt, "writes=io_uring", 15))
		s->inline_writes = false;
	else
		return 0;
	return 1;
}

/*
 * iscsi://[USER@]HOST[:PORT]/TARGET-IQN/LUN, as libiscsi parses it (its
 * parser runs when the LUN opens; this one gives every program the same
 * early message).  A password in the URL (USER%PASSWORD@) is refused: specs
 * are written to xenstore, which the guest can read.
 */
static int check_iscsi_url(const char *text, const char *url, char *err, size_t errlen)
{
	const char *at = strchr(url, '@'), *host = at ? at + 1 : url, *slash, *tgt, *lun;
	char *end;
	unsigned long v;

	if (at && memchr(url, '%', (size_t)(at - url)))
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': a password in the URL is refused (the spec is visible "
		           "to the guest in xenstore); put USER's CHAP secret in a root-only file "
		           "and name it with chap=FILE",
		           text);
	if (at && at == url)
		return bad(err, errlen, -EINVAL, "LUN spec '%s': empty user name before '@'", text);
	slash = strchr(host, '/');
	if (!slash || slash == host)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': expected iscsi://[USER@]HOST[:PORT]/TARGET-IQN/LUN "
		           "(no host)",
		           text);
	tgt = slash + 1;
	lun = strchr(tgt, '/');
	if (!lun || lun == tgt)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': expected iscsi://[USER@]HOST[:PORT]/TARGET-IQN/LUN "
		           "(no target name)",
		           text);
	lun++;
	errno = 0;
	v = strtoul(lun, &end, 10);
	/* SAM-5 4.7.3: single level LUNs; libiscsi takes the number as an int. */
	if (*lun < '0' || *lun > '9' || *end || errno || v > 16383)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': bad LUN number '%s' (0 to 16383) at the end of the URL",
		           text, lun);
	return 0;
}

/* The option words with a value that belong to one kind: KEY=VALUE into a field of the spec. */
static const struct {
	enum pvs_spec_kind kind;
	const char *key;
	size_t off, cap;
} valued[] = {
    {PVS_SPEC_ISCSI, "chap=", offsetof(struct pvs_spec, chap),
     sizeof(((struct pvs_spec *)0)->chap)},
    {PVS_SPEC_RBD, "conf=", offsetof(struct pvs_spec, rbd_conf),
     sizeof(((struct pvs_spec *)0)->rbd_conf)},
    {PVS_SPEC_RBD, "id=", offsetof(struct pvs_spec, rbd_id),
     sizeof(((struct pvs_spec *)0)->rbd_id)},
};

/*
 * @opt (@n bytes) as one of @s's kind's valued options: 1 taken, 0 not one
 * of them, -1 one of them with a value that is empty or does not fit
 * (*@cap: the most it takes, terminator included).
 */
static int take_valued_opt(const char *opt, size_t n, struct pvs_spec *s, size_t *cap)
{
	for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
		size_t kl = strlen(valued[i].key);
		char *dst = (char *)s + valued[i].off;

		if (valued[i].kind != s->kind || n < kl || memcmp(opt, valued[i].key, kl) != 0)
			continue;
		*cap = valued[i].cap;
		if (n == kl || n - kl >= valued[i].cap)
			return -1;
		memcpy(dst, opt + kl, n - kl);
		dst[n - kl] = '\0';
		return 1;
	}
	return 0;
}

/*
 * POOL/IMAGE[@SNAP], each part non-empty.  A second slash would be a
 * RADOS namespace, which nothing here passes to librbd: refused rather
 * than read as an image name with a slash.
 */
static bool rbd_name_ok(const char *name)
{
	const char *slash = strchr(name, '/'), *at = strchr(name, '@');

	if (!slash || slash == name || strchr(slash + 1, '/'))
		return false;
	if (at && (at < slash || strchr(at + 1, '@') || !at[1]))
		return false;
	return (at ? at : name + strlen(name)) > slash + 1;
}

static const struct {
	const char *prefix;
	enum pvs_spec_kind kind;
} kinds[] = {
    {"file:", PVS_SPEC_FILE},   {"mem:", PVS_SPEC_MEM},       {"sg:", PVS_SPEC_SG},
    {"cdrom:", PVS_SPEC_CDROM}, {"iscsi://", PVS_SPEC_ISCSI}, {"rbd:", PVS_SPEC_RBD},
};

const char *pvs_spec_kind_name(enum pvs_spec_kind kind)
{
	switch (kind) {
	case PVS_SPEC_FILE:
		return "file";
	case PVS_SPEC_MEM:
		return "mem";
	case PVS_SPEC_SG:
		return "sg";
	case PVS_SPEC_HOST:
		return "host";
	case PVS_SPEC_CDROM:
		return "cdrom";
	case PVS_SPEC_ISCSI:
		return "iscsi";
	case PVS_SPEC_RBD:
		return "rbd";
	}
	return "?";
}

int pvs_spec_parse(const char *text, struct pvs_spec *s, char *err, size_t errlen)
{
	const char *p = text, *end;
	size_t n, len;

	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	if (!text || !*text)
		return bad(
		    err, errlen, -EINVAL,
		    "empty LUN spec; expected file:PATH, mem:SIZE, cdrom:[PATH], sg:/dev/sgN, "
		    "iscsi://HOST/TARGET-IQN/LUN or a host p-dev");
	len = strlen(text);
	if (len >= PVS_SPEC_MAX)
		return bad(err, errlen, -ENAMETOOLONG,
		           "LUN spec '%.64s...' is longer than %d bytes", text, PVS_SPEC_MAX - 1);
	s->kind = PVS_SPEC_HOST;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t pl = strlen(kinds[i].prefix);

		if (!strncmp(text, kinds[i].prefix, pl)) {
			s->kind = kinds[i].kind;
			p = text + pl;
			break;
		}
	}

	if (s->kind != PVS_SPEC_HOST) {
		/* kind:NAME[,opt...]: NAME ends at the first comma, every word after is an option.
		 */
		n = strcspn(p, ",");
		memcpy(s->name, p, n);
		s->name[n] = '\0';
		for (const char *o = p + n; *o == ',';) {
			size_t on;
			size_t cap = 0;
			int r;

			o++;
			on = strcspn(o, ",");
			r = take_valued_opt(o, on, s, &cap);
			if (r < 0)
				return bad(
				    err, errlen, -EINVAL,
				    "LUN spec '%s': option '%.*s' is empty or too long (up to %zu "
				    "bytes)",
				    text, (int)(on > 64 ? 64 : on), o, cap - 1);
			if (!r && !take_opt(o, on, s))
				return bad(err, errlen, -EINVAL,
				           "LUN spec '%s': unknown option '%.*s' (%s)", text,
				           (int)(on > 64 ? 64 : on), o,
				           s->kind == PVS_SPEC_SG      ? "ro, raw"
				           : s->kind == PVS_SPEC_ISCSI ? "ro, raw, chap=FILE"
				           : s->kind == PVS_SPEC_CDROM ? "ro"
				           : s->kind == PVS_SPEC_RBD
				               ? "ro, bs=512, bs=4096, conf=FILE, id=USER"
				           : s->kind == PVS_SPEC_MEM
				               ? "ro, bs=512, bs=4096"
				               : "ro, bs=512, bs=4096, cache=none, "
				                 "cache=writeback, writes=inline, writes=io_uring");
			o += on;
		}
	} else {
		/* Only trailing option words come off a host p-dev: the name itself may hold
		 * commas. */
		end = text + len;
		for (;;) {
			const char *c = end;

			while (c > text && c[-1] != ',')
				c--;
			if (c == text || !take_opt(c, (size_t)(end - c), s))
				break;
			end = c - 1;
		}
		n = (size_t)(end - text);
		memcpy(s->name, text, n);
		s->name[n] = '\0';
		if (s->bs)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': bs= applies to file: and mem: LUNs only", text);
	}
	/* Only a file: LUN has a host page cache to bypass. */
	if (s->direct && s->kind != PVS_SPEC_FILE)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': cache=none applies to file: LUNs only (O_DIRECT on the "
		           "backing file)",
		           text);
	if (s->inline_writes && s->kind != PVS_SPEC_FILE)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': writes=inline applies to file: LUNs only (buffered "
		           "writes made by the event loop)",
		           text);
	/* A direct write waits for the device: made by the loop, it would stall every ring. */
	if (s->inline_writes && s->direct)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': writes=inline needs the page cache, and cache=none "
		           "bypasses it (each write would wait for the device in the event loop); "
		           "drop one of them",
		           text);

	if (!s->name[0] && s->kind != PVS_SPEC_CDROM)
		return bad(err, errlen, -EINVAL, "LUN spec '%s': missing %s", text,
		           s->kind == PVS_SPEC_MEM     ? "size"
		           : s->kind == PVS_SPEC_ISCSI ? "URL"
		           : s->kind == PVS_SPEC_RBD   ? "POOL/IMAGE"
		                                       : "path");
	if (s->raw && s->ro)
		return bad(err, errlen, -EINVAL,
		           "LUN spec '%s': read-only needs the CDB filter, and raw (feature-host) "
		           "passthrough has none: the device would see every write; drop one of "
		           "ro and raw",
		           text);
	switch (s->kind) {
	case PVS_SPEC_FILE:
	case PVS_SPEC_MEM:
		if (s->raw)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': raw (feature-host) needs a passthrough LUN; "
			           "this one is emulated",
			           text);
		if (s->kind == PVS_SPEC_MEM &&
		    (parse_size(s->name, &s->size) || s->size % (s->bs ? s->bs : 512)))
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': bad size '%s' (a positive multiple of the block "
			           "size, K/M/G/T suffixes allowed)",
			           text, s->name);
		break;
	case PVS_SPEC_SG:
		if (s->bs)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': bs= applies to file: and mem: LUNs only", text);
		break;
	case PVS_SPEC_CDROM:
		if (s->raw)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': raw (feature-host) needs a passthrough LUN; "
			           "a cdrom: drive is emulated",
			           text);
		if (s->bs)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': a cdrom: drive has 2048-byte blocks; bs= does "
			           "not apply",
			           text);
		/* A CD-ROM is read-only whatever the spec says: one spelling, one unit. */
		s->ro = true;
		break;
	case PVS_SPEC_ISCSI:
		if (s->bs)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': bs= applies to file: and mem: LUNs only", text);
		if (check_iscsi_url(text, s->name, err, errlen))
			return -EINVAL;
		/* USER@ picks the line of the chap= file; one without the other is a mistake. */
		if (s->chap[0] && !strchr(s->name, '@'))
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': chap=%s given, but no USER@ in the URL to pick "
			           "its line",
			           text, s->chap);
		if (!s->chap[0] && strchr(s->name, '@'))
			return bad(
			    err, errlen, -EINVAL,
			    "LUN spec '%s': a user is given, but no chap=FILE with its secret",
			    text);
		break;
	case PVS_SPEC_HOST:
		break;
	case PVS_SPEC_RBD:
		if (s->raw)
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': raw (feature-host) needs a passthrough LUN; "
			           "an rbd: LUN is emulated",
			           text);
		if (!rbd_name_ok(s->name))
			return bad(err, errlen, -EINVAL,
			           "LUN spec '%s': expected rbd:POOL/IMAGE[@SNAPSHOT] with each "
			           "part non-empty and no RADOS namespace",
			           text);
		/* A snapshot cannot be written: one spelling, one unit. */
		if (strchr(s->name, '@'))
			s->ro = true;
		break;
	}
	return 0;
}

int pvs_spec_format(const struct pvs_spec *s, char *buf, size_t len)
{
	const char *prefix = "";
	int n;

	switch (s->kind) {
	case PVS_SPEC_FILE:
		prefix = "file:";
		break;
	case PVS_SPEC_MEM:
		prefix = "mem:";
		break;
	case PVS_SPEC_SG:
		prefix = "sg:";
		break;
	case PVS_SPEC_CDROM:
		prefix = "cdrom:";
		break;
	case PVS_SPEC_ISCSI:
		prefix = "iscsi://";
		break;
	case PVS_SPEC_HOST:
		break;
	case PVS_SPEC_RBD:
		prefix = "rbd:";
		break;
	}
	n = snprintf(buf, len, "%s%s%s%s%s%s%s%s%s%s%s%s%s", prefix, s->name,
	             s->ro && s->kind != PVS_SPEC_CDROM ? ",ro" : "", s->raw ? ",raw" : "",
	             s->bs == 4096 ? ",bs=4096" : (s->bs == 512 ? ",bs=512" : ""),
	             s->direct ? ",cache=none" : "", s->inline_writes ? ",writes=inline" : "",
	             s->chap[0] ? ",chap=" : "", s->chap, s->rbd_conf[0] ? ",conf=" : "",
	             s->rbd_conf, s->rbd_id[0] ? ",id=" : "", s->rbd_id);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}
