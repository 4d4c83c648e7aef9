/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.c - a small JSON tree: enough to read and rewrite libxl's saved
 * domain configuration (libxl_domain_config as JSON) and to print --json.
 *
 * libxl's own parser needs a libxl context, which needs a running
 * hypervisor; this one lets the save-image and userdata code run (and be
 * tested) anywhere.  Numbers are kept as their text so that a rewrite
 * changes nothing but what we meant to change.  Input may come from a save
 * image, so the parser bounds nesting and never trusts lengths.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

#define MAX_DEPTH 64

struct p {
	const char *s;
	size_t len, pos;
	int depth;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int perr(struct p *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->err && p->errlen) {
		n = snprintf(p->err, p->errlen, "JSON at byte %zu: ", p->pos);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

struct xlp_json *xlp_json_new(enum xlp_json_type t, const char *s)
{
	struct xlp_json *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = t;
	if (s) {
		j->s = strdup(s);
		if (!j->s) {
			free(j);
			return NULL;
		}
	}
	return j;
}

void xlp_json_free(struct xlp_json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		xlp_json_free(j->v[i]);
		if (j->k)
			free(j->k[i]);
	}
	free(j->v);
	free(j->k);
	free(j->s);
	free(j);
}

static int grow(struct xlp_json *j)
{
	size_t cap;
	struct xlp_json **v;

	if (j->n < j->cap)
		return 0;
	cap = j->cap ? j->cap * 2 : 8;
	v = realloc(j->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	j->v = v;
	if (j->type == XJ_OBJ) {
		char **k = realloc(j->k, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		j->k = k;
	}
	j->cap = cap;
	return 0;
}

static void ws(struct p *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int hex4(struct p *p, unsigned int *out)
{
	unsigned int v = 0;

	if (p->len - p->pos < 4)
		return perr(p, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char ch = p->s[p->pos++];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned int)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned int)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned int)(ch - 'A' + 10);
		else
			return perr(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t utf8(unsigned int cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string literal at p->pos (the opening quote); malloc'd decoded text. */
static int pstring(struct p *p, char **out)
{
	size_t start = ++p->pos, cap, n = 0;
	char *b;

	/* The decoded text is never longer than the literal. */
	for (cap = start; cap < p->len && p->s[cap] != '"'; cap++)
		if (p->s[cap] == '\\')
			cap++;
	b = malloc(cap - start + 8);
	if (!b)
		return -ENOMEM;
	for (;;) {
		char ch;

		if (p->pos >= p->len) {
			free(b);
			return perr(p, "unterminated string");
		}
		ch = p->s[p->pos++];
		if (ch == '"')
			break;
		if ((unsigned char)ch < 0x20) {
			free(b);
			p->pos--;
			return perr(p, "control character in string");
		}
		if (ch != '\\') {
			b[n++] = ch;
			continue;
		}
		if (p->pos >= p->len) {
			free(b);
			return perr(p, "unterminated string");
		}
		ch = p->s[p->pos++];
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			b[n++] = ch;
			break;
		case 'b':
			b[n++] = '\b';
			break;
		case 'f':
			b[n++] = '\f';
			break;
		case 'n':
			b[n++] = '\n';
			break;
		case 'r':
			b[n++] = '\r';
			break;
		case 't':
			b[n++] = '\t';
			break;
		case 'u': {
			unsigned int cp, lo;

			if (hex4(p, &cp)) {
				free(b);
				return -EINVAL;
			}
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u') {
					free(b);
					return perr(p, "lone surrogate");
				}
				p->pos += 2;
				if (hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					free(b);
					return perr(p, "bad surrogate pair");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				free(b);
				return perr(p, "lone surrogate");
			}
			if (cp == 0) {
				free(b);
				return perr(p, "NUL in string");
			}
			n += utf8(cp, b + n);
			break;
		}
		default:
			free(b);
			return perr(p, "bad escape \\%c", ch);
		}
	}
	b[n] = '\0';
	*out = b;
	return 0;
}

static int pvalue(struct p *p, struct xlp_json **out);

static int pnumber(struct p *p, struct xlp_json **out)
{
	size_t st = p->pos;
	char *t;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		return perr(p, "bad number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return perr(p, "bad number");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return perr(p, "bad number");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	t = strndup(p->s + st, p->pos - st);
	if (!t)
		return -ENOMEM;
	*out = xlp_json_new(XJ_NUM, NULL);
	if (!*out) {
		free(t);
		return -ENOMEM;
	}
	(*out)->s = t;
	return 0;
}

static int pword(struct p *p, const char *w, enum xlp_json_type t, struct xlp_json **out)
{
	size_t l = strlen(w);

	if (p->len - p->pos < l || memcmp(p->s + p->pos, w, l))
		return perr(p, "unexpected character");
	p->pos += l;
	*out = xlp_json_new(t, t == XJ_BOOL ? w : NULL);
	return *out ? 0 : -ENOMEM;
}

static int pcontainer(struct p *p, struct xlp_json **out, bool obj)
{
	struct xlp_json *j = xlp_json_new(obj ? XJ_OBJ : XJ_ARR, NULL);
	char close = obj ? '}' : ']';
	int rc;

	if (!j)
		return -ENOMEM;
	if (++p->depth > MAX_DEPTH) {
		xlp_json_free(j);
		return perr(p, "nested deeper than %d", MAX_DEPTH);
	}
	p->pos++;
	ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		char *key = NULL;
		struct xlp_json *v = NULL;

		ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				rc = perr(p, "expected a member name");
				goto fail;
			}
			rc = pstring(p, &key);
			if (rc)
				goto fail;
			ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				rc = perr(p, "expected ':'");
				goto fail;
			}
			p->pos++;
		}
		rc = pvalue(p, &v);
		if (rc == 0)
			rc = grow(j);
		if (rc) {
			free(key);
			xlp_json_free(v);
			goto fail;
		}
		if (obj)
			j->k[j->n] = key;
		j->v[j->n++] = v;
		ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		rc = perr(p, "expected ',' or '%c'", close);
		goto fail;
	}
done:
	p->depth--;
	*out = j;
	return 0;
fail:
	xlp_json_free(j);
	return rc;
}

static int pvalue(struct p *p, struct xlp_json **out)
{
	ws(p);
	if (p->pos >= p->len)
		return perr(p, "unexpected end");
	switch (p->s[p->pos]) {
	case '{':
		return pcontainer(p, out, true);
	case '[':
		return pcontainer(p, out, false);
	case '"': {
		char *s;
		int rc = pstring(p, &s);

		if (rc)
			return rc;
		*out = xlp_json_new(XJ_STR, NULL);
		if (!*out) {
			free(s);
			return -ENOMEM;
		}
		(*out)->s = s;
		return 0;
	}
	case 't':
		return pword(p, "true", XJ_BOOL, out);
	case 'f':
		return pword(p, "false", XJ_BOOL, out);
	case 'n':
		return pword(p, "null", XJ_NULL, out);
	default:
		return pnumber(p, out);
	}
}

int xlp_json_parse(const char *text, size_t len, struct xlp_json **out, char *err, size_t errlen)
{
	struct p p = {.s = text, .len = len, .err = err, .errlen = errlen};
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	/* libxl stores the text with its terminating NUL. */
	while (p.len && text[p.len - 1] == '\0')
		p.len--;
	rc = pvalue(&p, out);
	if (rc) {
		if (rc == -ENOMEM && err && errlen)
			snprintf(err, errlen, "out of memory");
		return rc;
	}
	ws(&p);
	if (p.pos != p.len) {
		xlp_json_free(*out);
		*out = NULL;
		return perr(&p, "trailing text");
	}
	return 0;
}

/* ------------------------------------------------------------------ emit */

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		switch (*q) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*q < 0x20)
				fprintf(f, "\\u%04x", *q);
			else
				fputc(*q, f);
		}
	}
	fputc('"', f);
}

void xlp_json_put_str(FILE *f, const char *s)
{
	put_str(f, s ? s : "");
}

static void emit(FILE *f, const struct xlp_json *j)
{
	switch (j->type) {
	case XJ_NULL:
		fputs("null", f);
		break;
	case XJ_BOOL:
	case XJ_NUM:
		fputs(j->s, f);
		break;
	case XJ_STR:
		put_str(f, j->s);
		break;
	case XJ_ARR:
	case XJ_OBJ:
		fputc(j->type == XJ_OBJ ? '{' : '[', f);
		for (size_t i = 0; i < j->n; i++) {
			if (i)
				fputc(',', f);
			if (j->type == XJ_OBJ) {
				put_str(f, j->k[i]);
				fputc(':', f);
			}
			emit(f, j->v[i]);
		}
		fputc(j->type == XJ_OBJ ? '}' : ']', f);
		break;
	}
}

char *xlp_json_emit(const struct xlp_json *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	emit(f, j);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------ accessors */

struct xlp_json *xlp_json_get(const struct xlp_json *obj, const char *key)
{
	if (!obj || obj->type != XJ_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->k[i], key))
			return obj->v[i];
	return NULL;
}

int xlp_json_set(struct xlp_json *obj, const char *key, struct xlp_json *val)
{
	char *k;

	if (!val)
		return -ENOMEM;
	if (!obj || obj->type != XJ_OBJ) {
		xlp_json_free(val);
		return -EINVAL;
	}
	for (size_t i = 0; i < obj->n; i++) {
		if (!strcmp(obj->k[i], key)) {
			xlp_json_free(obj->v[i]);
			obj->v[i] = val;
			return 0;
		}
	}
	k = strdup(key);
	if (!k || grow(obj)) {
		free(k);
		xlp_json_free(val);
		return -ENOMEM;
	}
	obj->k[obj->n] = k;
	obj->v[obj->n++] = val;
	return 0;
}

int xlp_json_del(struct xlp_json *obj, const char *key)
{
	if (!obj || obj->type != XJ_OBJ)
		return -EINVAL;
	for (size_t i = 0; i < obj->n; i++) {
		if (strcmp(obj->k[i], key))
			continue;
		xlp_json_free(obj->v[i]);
		free(obj->k[i]);
		memmove(obj->v + i, obj->v + i + 1, (obj->n - i - 1) * sizeof(*obj->v));
		memmove(obj->k + i, obj->k + i + 1, (obj->n - i - 1) * sizeof(*obj->k));
		obj->n--;
		return 0;
	}
	return -ENOENT;
}

int xlp_json_push(struct xlp_json *arr, struct xlp_json *val)
{
	if (!val)
		return -ENOMEM;
	if (!arr || arr->type != XJ_ARR || grow(arr)) {
		xlp_json_free(val);
		return arr && arr->type == XJ_ARR ? -ENOMEM : -EINVAL;
	}
	arr->v[arr->n++] = val;
	return 0;
}
