/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfg.c - one vscsi device spec ("PDEV,VDEV[,OPTION...]") and the vscsi=
 * list of a domU.cfg, read with xl's own parser (libxlutil) so that quoting,
 * comments, continuation lines and "key=value" overrides behave exactly as
 * for every other key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxlutil.h>

#include "xlp.h"

#define MAX_TOKENS 16
#define bad        xlp_bad

int xlp_bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void xlp_hctl_str(const struct pvs_hctl *h, char buf[48])
{
	snprintf(buf, 48, "%u:%u:%u:%u", h->host, h->channel, h->target, h->lun);
}

bool xlp_hctl_eq(const struct pvs_hctl *a, const struct pvs_hctl *b)
{
	return a->host == b->host && a->channel == b->channel && a->target == b->target &&
	       a->lun == b->lun;
}

/* Split @s at commas into trimmed tokens, in place. */
static int split(char *s, char **tok, int max)
{
	int n = 0;
	char *p = s;

	for (;;) {
		char *comma = strchr(p, ',');
		char *end;

		if (comma)
			*comma = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (n == max)
			return -E2BIG;
		tok[n++] = p;
		if (!comma)
			return n;
		p = comma + 1;
	}
}

static bool digits_colons(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != ':')
			return false;
	return true;
}

const char *xlp_cache_opt(enum xlp_cache c)
{
	switch (c) {
	case XLP_CACHE_WRITEBACK:
		return ",cache=writeback";
	case XLP_CACHE_NONE:
		return ",cache=none";
	case XLP_CACHE_UNSET:
		break;
	}
	return "";
}

/* Options that belong to an emulated PDEV (file:/mem:), wherever they appear. */
static int lun_opt(struct xlp_entry *e, const char *o, bool *known)
{
	*known = true;
	if (!strcmp(o, "ro"))
		e->ro = true;
	else if (!strcmp(o, "bs=512"))
		e->bs = 512;
	else if (!strcmp(o, "bs=4096"))
		e->bs = 4096;
	else if (!strcmp(o, "cache=none"))
		e->cache = XLP_CACHE_NONE;
	else if (!strcmp(o, "cache=writeback"))
		e->cache = XLP_CACHE_WRITEBACK;
	else if (!strcmp(o, "writes=inline"))
		e->inline_writes = true;
	else if (!strcmp(o, "writes=io_uring"))
		e->inline_writes = false;
	else if (e->kind == XLP_ISCSI && !strncmp(o, "chap=", 5) && o[5] &&
	         strlen(o + 5) < sizeof(e->chap))
		snprintf(e->chap, sizeof(e->chap), "%s", o + 5);
	else
		*known = false;
	return 0;
}

static int check_vdev(const char *tok, struct xlp_entry *e, char *err, size_t errlen)
{
	int rc = pvs_parse_hctl(tok, &e->vdev);

	if (rc == -ERANGE)
		return bad(err, errlen, "VDEV '%s': a field is over 4294967295", tok);
	if (rc)
		return bad(err, errlen, "VDEV '%s': expected H:C:T:L, four decimal numbers", tok);
	/*
	 * vscsiif requests carry channel, id and lun in 16 bits; pvscsid answers
	 * REPORT LUNS with single-level (peripheral/flat) LUNs, 14 bits.
	 */
	if (e->vdev.channel > 65535 || e->vdev.target > 65535)
		return bad(err, errlen,
		           "VDEV '%s': channel and target must be at most 65535 (vscsiif carries "
		           "them in 16 bits)",
		           tok);
	if (e->vdev.lun > 16383)
		return bad(err, errlen, "VDEV '%s': LUN must be at most 16383", tok);
	return 0;
}

/* The PDEV word alone, options apart: its kind, by the core's parser (pvscsi/spec.h). */
static int parse_pdev(const char *tok, struct xlp_entry *e, char *err, size_t errlen)
{
	struct pvs_spec *sp;
	char why[256];
	int rc;

	if (!*tok)
		return bad(err, errlen, "empty PDEV");
	if (strlen(tok) >= sizeof(e->pdev))
		return bad(err, errlen, "PDEV is longer than %zu characters", sizeof(e->pdev) - 1);
	sp = malloc(sizeof(*sp));
	if (!sp)
		return bad(err, errlen, "out of memory");
	rc = pvs_spec_parse(tok, sp, why, sizeof(why));
	snprintf(e->pdev, sizeof(e->pdev), "%s", tok);
	switch (sp->kind) {
	case PVS_SPEC_FILE:
		e->kind = XLP_FILE;
		if (sp->name[0] != '/')
			rc = bad(err, errlen, "PDEV '%s': file: needs an absolute path", tok);
		break;
	case PVS_SPEC_MEM:
		e->kind = XLP_MEM;
		if (rc)
			rc = bad(
			    err, errlen,
			    "PDEV '%s': mem: needs a size (a positive number, optionally with K, "
			    "M, G or T)",
			    tok);
		break;
	case PVS_SPEC_SG:
		/* Kept as written: "sg:mem:1M" must never turn into "mem:1M" (pdev.c resolves it).
		 */
	case PVS_SPEC_HOST:
		e->kind = XLP_HOST;
		break;
	case PVS_SPEC_ISCSI:
		/*
		 * The URL names the LUN on every host: nothing to resolve, before
		 * or after a move.  USER@ wants the chap= that follows the word:
		 * check_spec() judges the whole spec, options included.
		 */
		e->kind = XLP_ISCSI;
		rc = 0;
		break;
	case PVS_SPEC_RBD:
		/* Emulated, with nothing on this host to resolve: kept as written, like mem:. */
		e->kind = XLP_MEM;
		break;
	case PVS_SPEC_CDROM:
		e->kind = XLP_CDROM;
		/* Read-only by nature: the core implies ro, and so does the entry. */
		e->ro = true;
		if (!rc && sp->name[0] && sp->name[0] != '/')
			rc = bad(err, errlen, "PDEV '%s': cdrom: needs an absolute path", tok);
		break;
	}
	if (rc && !(err && errlen && err[0]))
		rc = bad(err, errlen, "PDEV '%s': %s", tok, why);
	free(sp);
	return rc;
}

/* The whole LUN spec pvscsid will be given, checked by the same parser it uses. */
static int check_spec(const struct xlp_entry *e, char *err, size_t errlen)
{
	struct pvs_spec *sp = malloc(sizeof(*sp));
	char text[XLP_SPEC_MAX + 48 + 256 + 8], why[512];
	int rc;

	if (!sp)
		return bad(err, errlen, "out of memory");
	snprintf(text, sizeof(text), "%s%s%s%s%s%s%s%s", e->pdev, e->ro ? ",ro" : "",
	         e->feature_host ? ",raw" : "",
	         e->bs == 4096 ? ",bs=4096" : (e->bs == 512 ? ",bs=512" : ""),
	         xlp_cache_opt(e->cache), e->inline_writes ? ",writes=inline" : "",
	         e->chap[0] ? ",chap=" : "", e->chap);
	rc = pvs_spec_parse(text, sp, why, sizeof(why));
	free(sp);
	return rc ? bad(err, errlen, "PDEV '%s': %s", e->pdev, why) : 0;
}

static int finish(struct xlp_entry *e, char *err, size_t errlen)
{
	if ((e->kind == XLP_HOST || e->kind == XLP_ISCSI) && e->ro && e->feature_host)
		return bad(err, errlen,
		           "options ro and feature-host cannot be combined: pvscsid keeps a host "
		           "LUN read-only with its CDB filter, and feature-host passes every "
		           "command to the device unfiltered");
	if ((e->kind == XLP_HOST || e->kind == XLP_ISCSI) && e->bs)
		return bad(err, errlen, "option bs= applies to file: and mem: LUNs only");
	if (e->kind == XLP_CDROM && e->bs)
		return bad(err, errlen,
		           "option bs= applies to file: and mem: LUNs only (a CD-ROM's blocks are "
		           "2048 bytes)");
	/*
	 * cache=writeback is refused too, though it changes nothing: naming a
	 * cache on a LUN that has none to choose is a mistake worth saying.
	 */
	if (e->kind != XLP_FILE && e->cache)
		return bad(err, errlen,
		           "option %s applies to file: LUNs only (a backing file's page cache); "
		           "'%s' is a %s",
		           xlp_cache_opt(e->cache) + 1, e->pdev,
		           e->kind == XLP_MEM     ? "mem: LUN"
		           : e->kind == XLP_CDROM ? "cdrom: drive"
		           : e->kind == XLP_ISCSI ? "iSCSI LUN"
		                                  : "host LUN");
	if (e->kind != XLP_FILE && e->inline_writes)
		return bad(err, errlen,
		           "option writes=inline applies to file: LUNs only (buffered writes to a "
		           "backing file); '%s' is not one",
		           e->pdev);
	if (e->kind != XLP_HOST && e->kind != XLP_ISCSI && e->feature_host)
		return bad(err, errlen,
		           "option feature-host: raw passthrough needs a host LUN; '%s' is an "
		           "emulated LUN",
		           e->pdev);
	return check_spec(e, err, errlen);
}

/* Options after VDEV. */
static int parse_opts(char **tok, int ntok, struct xlp_entry *e, char *err, size_t errlen)
{
	for (int i = 0; i < ntok; i++) {
		bool known;

		if (!*tok[i])
			return bad(err, errlen, "empty option");
		if (!strcmp(tok[i], "feature-host")) {
			e->feature_host = true;
			continue;
		}
		if (!strcmp(tok[i], "shareable")) {
			e->shareable = true;
			continue;
		}
		lun_opt(e, tok[i], &known);
		if (known)
			continue;
		return bad(
		    err, errlen,
		    "unknown option '%s' (options: feature-host, ro, shareable; bs=512, "
		    "bs=4096 for file: and mem:; cache=none, cache=writeback, writes=inline, "
		    "writes=io_uring for file:)",
		    tok[i]);
	}
	return finish(e, err, errlen);
}

int xlp_entry_parse(const char *text, struct xlp_entry *e, char *err, size_t errlen)
{
	char buf[XLP_SPEC_MAX + 512];
	char *tok[MAX_TOKENS];
	int n, i, rc;

	memset(e, 0, sizeof(*e));
	if (err && errlen)
		err[0] = '\0';
	if (!text || strlen(text) >= sizeof(buf))
		return bad(err, errlen, "entry is empty or too long");
	snprintf(buf, sizeof(buf), "%s", text);
	n = split(buf, tok, MAX_TOKENS);
	if (n < 0)
		return bad(err, errlen, "too many comma-separated fields");
	if (n == 1 && !*tok[0])
		return bad(err, errlen, "empty entry; expected PDEV,VDEV[,OPTION...]");
	rc = parse_pdev(tok[0], e, err, errlen);
	if (rc)
		return rc;
	/* PDEV's own options (file:/i.img,ro) may come before VDEV. */
	for (i = 1; i < n; i++) {
		bool known;

		if (digits_colons(tok[i]))
			break;
		if (e->kind == XLP_HOST || !*tok[i])
			break;
		lun_opt(e, tok[i], &known);
		if (!known)
			break;
	}
	if (i == n)
		return bad(err, errlen,
		           "missing VDEV after PDEV '%s'; expected PDEV,VDEV[,OPTION...]", tok[0]);
	if (!digits_colons(tok[i])) {
		if (e->kind != XLP_HOST && *tok[i] && !strchr(tok[i], ':'))
			return bad(
			    err, errlen,
			    "unknown option '%s' of PDEV '%s' (ro, bs=512, bs=4096; cache=none, "
			    "cache=writeback, writes=inline, writes=io_uring for file:)",
			    tok[i], tok[0]);
		return bad(
		    err, errlen,
		    "expected VDEV (H:C:T:L) after PDEV '%s', found '%s' (options come after "
		    "VDEV)",
		    tok[0], tok[i]);
	}
	rc = check_vdev(tok[i], e, err, errlen);
	if (rc)
		return rc;
	return parse_opts(tok + i + 1, n - i - 1, e, err, errlen);
}

int xlp_entry_parse2(const char *pdev, const char *vdev_opts, struct xlp_entry *e, char *err,
                     size_t errlen)
{
	char buf[XLP_SPEC_MAX + 512];
	char *tok[MAX_TOKENS];
	int n, rc;
	char pbuf[XLP_SPEC_MAX + 64];
	char *ptok[MAX_TOKENS];
	int pn;

	memset(e, 0, sizeof(*e));
	if (err && errlen)
		err[0] = '\0';
	if (!pdev || !vdev_opts || strlen(vdev_opts) >= sizeof(buf) || strlen(pdev) >= sizeof(pbuf))
		return bad(err, errlen, "PDEV or VDEV is empty or too long");
	/* PDEV may carry its own options: "file:/i.img,ro". */
	snprintf(pbuf, sizeof(pbuf), "%s", pdev);
	pn = split(pbuf, ptok, MAX_TOKENS);
	if (pn < 0)
		return bad(err, errlen, "too many comma-separated fields in PDEV");
	rc = parse_pdev(ptok[0], e, err, errlen);
	if (rc)
		return rc;
	for (int i = 1; i < pn; i++) {
		bool known = false;

		if (e->kind != XLP_HOST)
			lun_opt(e, ptok[i], &known);
		if (!known)
			return bad(err, errlen, "PDEV '%s': unknown PDEV option '%s'%s", pdev,
			           ptok[i],
			           e->kind == XLP_HOST
			               ? " (a host LUN's options, ro included, come after VDEV)"
			               : " (ro, bs=512, bs=4096; cache=none, cache=writeback, "
			                 "writes=inline, writes=io_uring for file:)");
	}
	snprintf(buf, sizeof(buf), "%s", vdev_opts);
	n = split(buf, tok, MAX_TOKENS);
	if (n < 0)
		return bad(err, errlen, "too many comma-separated fields");
	if (!*tok[0])
		return bad(err, errlen, "empty VDEV; expected H:C:T:L[,OPTION...]");
	rc = check_vdev(tok[0], e, err, errlen);
	if (rc)
		return rc;
	return parse_opts(tok + 1, n - 1, e, err, errlen);
}

int xlp_entry_format(const struct xlp_entry *e, const char *pdev, char *buf, size_t len)
{
	char v[48];
	int n;

	/* chap= is PDEV's own option: kept when @pdev (a p-devname) does not carry it. */
	bool chap = e->chap[0] && !(pdev && strstr(pdev, ",chap="));

	xlp_hctl_str(&e->vdev, v);
	n = snprintf(buf, len, "%s%s%s,%s%s%s%s%s%s%s", pdev ? pdev : e->pdev, chap ? ",chap=" : "",
	             chap ? e->chap : "", v, e->feature_host ? ",feature-host" : "",
	             e->ro ? ",ro" : "", e->shareable ? ",shareable" : "",
	             e->bs == 4096 ? ",bs=4096" : (e->bs == 512 ? ",bs=512" : ""),
	             xlp_cache_opt(e->cache), e->inline_writes ? ",writes=inline" : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ domU.cfg */

void xlp_cfg_free(struct xlp_cfg *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].text);
		free(c->items[i].group);
	}
	free(c->items);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

/*
 * libxlutil does not expose line numbers; find the item's text after the
 * vscsi key so that an error can point at the line the administrator wrote.
 */
static int line_of(const char *text, const char *item, const char **from)
{
	const char *p, *k;
	int line = 1;

	if (!text)
		return 0;
	k = *from;
	if (!k) {
		for (p = text; (p = strstr(p, "vscsi")) != NULL; p += 5) {
			const char *q = p + 5;

			if (p != text && p[-1] != '\n' && !isspace((unsigned char)p[-1]))
				continue;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=' || (q[0] == '+' && q[1] == '=')) {
				k = q;
				break;
			}
		}
		if (!k)
			return 0;
	}
	p = strstr(k, item);
	if (!p)
		return 0;
	*from = p + strlen(item);
	for (const char *q = text; q < p; q++)
		if (*q == '\n')
			line++;
	return line;
}

static int cfg_collect(XLU_Config *x, const char *what, const char *text, struct xlp_cfg *out,
                       char *err, size_t errlen)
{
	XLU_ConfigList *list = NULL;
	const char *name = NULL;
	const char *from = NULL;
	int n = 0, rc;

	if (!xlu_cfg_get_string(x, "name", &name, 1) && name) {
		out->name = strdup(name);
		if (!out->name)
			return -ENOMEM;
	}
	rc = xlu_cfg_get_list(x, "vscsi", &list, &n, 1);
	if (rc == ESRCH)
		return 0;
	if (rc)
		return bad(
		    err, errlen,
		    "%s: vscsi= must be a list of strings: vscsi = [ 'PDEV,VDEV[,OPTION...]', "
		    "... ]",
		    what);
	out->has_vscsi = true;
	if (n == 0)
		return 0;
	out->items = calloc((size_t)n, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *s = xlu_cfg_get_listitem(list, i);
		struct xlp_cfg_item *it = &out->items[i];
		char why[XLP_ERR_MAX];

		if (!s)
			return bad(err, errlen, "%s: vscsi= entry %d is not a string", what, i + 1);
		it->text = strdup(s);
		if (!it->text)
			return -ENOMEM;
		out->n = (size_t)i + 1;
		it->line = line_of(text, s, &from);
		if (strchr(s, ',') && xlp_group_syntax(strchr(s, ',') + 1)) {
			/* A whole bus or target: "ADAPTER:B:*:*,H:C:*:*[,OPTION...]". */
			char pd[XLP_SPEC_MAX];
			size_t l = (size_t)(strchr(s, ',') - s);

			it->group = calloc(1, sizeof(*it->group));
			if (!it->group)
				return -ENOMEM;
			xlp_snprintf(pd, sizeof(pd), "%.*s", (int)l, s);
			rc = xlp_group_parse(pd, s + l + 1, it->group, why, sizeof(why));
		} else {
			rc = xlp_entry_parse(s, &it->e, why, sizeof(why));
		}
		if (rc) {
			if (it->line)
				return bad(err, errlen, "%s:%d: vscsi entry '%s': %s", what,
				           it->line, s, why);
			return bad(err, errlen, "%s: vscsi entry %d '%s': %s", what, i + 1, s, why);
		}
	}
	return 0;
}

/* xlu reports to a FILE; keep what it said for @err. */
static void report_text(FILE *rep, char **buf, char *err, size_t errlen, const char *dflt)
{
	size_t l;

	fflush(rep);
	if (*buf && **buf) {
		l = strlen(*buf);
		while (l && (*buf)[l - 1] == '\n')
			(*buf)[--l] = '\0';
		snprintf(err, errlen, "%s", *buf);
	} else {
		snprintf(err, errlen, "%s", dflt);
	}
}

char *xlp_read_stream(FILE *f, size_t max, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (;;) {
		size_t r;

		if (cap - n < 4096) {
			char *nb;

			if (max && cap > max) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			nb = realloc(buf, cap + 65536);
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "r");
	char *buf;
	int e;

	if (!f)
		return NULL;
	buf = xlp_read_stream(f, 0, len);
	e = errno;
	fclose(f);
	errno = e;
	return buf;
}

/*
 * libxlutil's lexer asserts (the whole xl process aborts) on a NUL byte, so
 * such a file never reaches it.  A configuration is text; the line and
 * offset say where to look.
 */
static int refuse_nul(const char *what, const char *text, size_t len, char *err, size_t errlen)
{
	const char *nul = memchr(text, '\0', len);
	unsigned int line = 1;

	if (!nul)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	snprintf(err, errlen, "%s: line %u: a NUL byte (byte %zu of the file): not a text file",
	         what, line, (size_t)(nul - text));
	return -EINVAL;
}

static int cfg_read(const char *file, const char *data, size_t dlen, const char *extra,
                    const char *what, struct xlp_cfg *out, char *err, size_t errlen)
{
	char *repbuf = NULL;
	size_t replen = 0;
	FILE *rep;
	XLU_Config *x;
	char *text = NULL;
	size_t tlen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	rep = open_memstream(&repbuf, &replen);
	if (!rep)
		return -ENOMEM;
	x = xlu_cfg_init(rep, what);
	if (!x) {
		fclose(rep);
		free(repbuf);
		return -ENOMEM;
	}
	if (file) {
		text = slurp(file, &tlen);
		if (!text) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			rc = -EIO;
			goto out;
		}
		rc = refuse_nul(file, text, tlen, err, errlen);
		if (rc)
			goto out;
		rc = xlu_cfg_readfile(x, file);
	} else {
		rc = data ? refuse_nul(what, data, dlen, err, errlen) : 0;
		if (rc)
			goto out;
		rc = xlu_cfg_readdata(x, data ? data : "", (int)dlen);
		if (data) {
			text = strndup(data, dlen);
			if (!text) {
				rc = ENOMEM;
				goto fail_read;
			}
		}
	}
fail_read:
	if (rc) {
		if (rc == ENOENT || rc == EACCES)
			snprintf(err, errlen, "%s: %s", what, strerror(rc));
		else
			report_text(rep, &repbuf, err, errlen, strerror(rc));
		rc = -EIO;
		goto out;
	}
	if (extra && *extra) {
		rc = xlu_cfg_readdata(x, extra, (int)strlen(extra));
		if (rc) {
			report_text(rep, &repbuf, err, errlen, strerror(rc));
			rc = -EIO;
			goto out;
		}
	}
	rc = cfg_collect(x, what, text, out, err, errlen);
out:
	xlu_cfg_destroy(x);
	fclose(rep);
	free(repbuf);
	free(text);
	if (rc)
		xlp_cfg_free(out);
	return rc;
}

int xlp_cfg_read(const char *file, const char *extra, struct xlp_cfg *out, char *err, size_t errlen)
{
	return cfg_read(file, NULL, 0, extra, file ? file : "command line", out, err, errlen);
}

int xlp_cfg_read_data(const char *data, size_t len, const char *what, struct xlp_cfg *out,
                      char *err, size_t errlen)
{
	return cfg_read(NULL, data, len, NULL, what, out, err, errlen);
}
