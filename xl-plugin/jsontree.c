/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsontree.c - libxl's JSON through yajl, as libxl itself reads and writes
 * it: the saved domain configuration (userdata "libxl-json", save images,
 * migration streams) and the --json output.
 *
 * libxl's own parser needs a libxl context, which needs a running
 * hypervisor; yajl_tree lets the save-image and userdata code run (and be
 * tested) anywhere and accepts what libxl accepts.  What is added here is
 * what yajl_tree lacks for text from another host: a bound on nesting
 * (yajl_tree_free and the emitter recurse), refusal of a NUL inside a
 * string (the tree's C strings would silently cut it), and no comments
 * (yajl_tree_parse allows them; libxl never writes them).  A rewrite keeps
 * every number as its text (yajl_tree's number.r), so it changes nothing
 * but what it meant to change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "xlp.h"

struct check {
	unsigned int depth;
	bool deep;       /* the parse was cancelled: too deep, */
	const char *why; /* or this */
};

static int ck_scalar(void *ctx)
{
	(void)ctx;
	return 1;
}

static int ck_bool(void *ctx, int b)
{
	(void)b;
	return ck_scalar(ctx);
}

/* Numbers arrive as text: no integer overflow error, as yajl_tree keeps the text. */
static int ck_number(void *ctx, const char *s, size_t len)
{
	(void)s;
	(void)len;
	return ck_scalar(ctx);
}

static int ck_string(void *ctx, const unsigned char *s, size_t len)
{
	struct check *k = ctx;

	if (memchr(s, 0, len)) {
		k->why = "NUL in string";
		return 0;
	}
	return 1;
}

static int ck_open(void *ctx)
{
	struct check *k = ctx;

	if (++k->depth > XLP_JSON_MAX_DEPTH) {
		k->deep = true;
		return 0;
	}
	return 1;
}

static int ck_close(void *ctx)
{
	struct check *k = ctx;

	k->depth--;
	return 1;
}

static const yajl_callbacks check_cb = {
    .yajl_null = ck_scalar,
    .yajl_boolean = ck_bool,
    .yajl_number = ck_number,
    .yajl_string = ck_string,
    .yajl_start_map = ck_open,
    .yajl_map_key = ck_string,
    .yajl_end_map = ck_close,
    .yajl_start_array = ck_open,
    .yajl_end_array = ck_close,
};

/* yajl's short message without its newline. */
static void yajl_message(yajl_handle h, const char *text, size_t len, size_t at, char *err,
                         size_t errlen)
{
	unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)text, len);
	size_t n = m ? strlen((char *)m) : 0;

	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	xlp_snprintf(err, errlen, "JSON at byte %zu: %.*s", at, (int)n,
	             m ? (const char *)m : "invalid");
	if (m)
		yajl_free_error(h, m);
}

/* The whole of @text is one JSON value within our bounds: 0, or -EINVAL/-ENOMEM with @err. */
static int check_text(const char *text, size_t len, char *err, size_t errlen)
{
	struct check k = {0};
	yajl_handle h = yajl_alloc(&check_cb, NULL, &k);
	yajl_status st;
	size_t at;

	if (!h)
		return -ENOMEM;
	st = yajl_parse(h, (const unsigned char *)text, len);
	at = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at = len;
	}
	if (st == yajl_status_client_canceled && k.deep)
		xlp_snprintf(err, errlen, "JSON at byte %zu: nested deeper than %d", at,
		             XLP_JSON_MAX_DEPTH);
	else if (st == yajl_status_client_canceled)
		xlp_snprintf(err, errlen, "JSON at byte %zu: %s", at, k.why);
	else if (st != yajl_status_ok)
		yajl_message(h, text, len, at, err, errlen);
	yajl_free(h);
	return st == yajl_status_ok ? 0 : -EINVAL;
}

int xlp_json_parse(const char *text, size_t len, yajl_val *out, char *err, size_t errlen)
{
	char *copy, yerr[256];
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	/* libxl stores the text with its terminating NUL. */
	while (len && text[len - 1] == '\0')
		len--;
	rc = check_text(text, len, err, errlen);
	if (rc) {
		if (rc == -ENOMEM)
			xlp_snprintf(err, errlen, "out of memory");
		return rc;
	}
	/* yajl_tree_parse wants a C string; the check above saw every byte of it. */
	copy = malloc(len + 1);
	if (!copy) {
		xlp_snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	yerr[0] = '\0';
	*out = yajl_tree_parse(copy, yerr, sizeof(yerr));
	free(copy);
	if (!*out) {
		/* Valid by the check, so only memory can be short here. */
		xlp_snprintf(err, errlen, "JSON: %s", yerr[0] ? yerr : "out of memory");
		return -ENOMEM;
	}
	return 0;
}

yajl_gen_status xlp_json_gen(yajl_gen g, yajl_val j)
{
	yajl_gen_status st = yajl_gen_status_ok;

	if (!j)
		return yajl_gen_null(g);
	switch (j->type) {
	case yajl_t_string:
		return xlp_json_gen_str(g, j->u.string);
	case yajl_t_number:
		if (!j->u.number.r)
			return yajl_gen_null(g);
		return yajl_gen_number(g, j->u.number.r, strlen(j->u.number.r));
	case yajl_t_true:
	case yajl_t_false:
		return yajl_gen_bool(g, j->type == yajl_t_true);
	case yajl_t_object:
		st = yajl_gen_map_open(g);
		for (size_t i = 0; st == yajl_gen_status_ok && i < j->u.object.len; i++) {
			st = xlp_json_gen_str(g, j->u.object.keys[i]);
			if (st == yajl_gen_status_ok)
				st = xlp_json_gen(g, j->u.object.values[i]);
		}
		return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;
	case yajl_t_array:
		st = yajl_gen_array_open(g);
		for (size_t i = 0; st == yajl_gen_status_ok && i < j->u.array.len; i++)
			st = xlp_json_gen(g, j->u.array.values[i]);
		return st == yajl_gen_status_ok ? yajl_gen_array_close(g) : st;
	default:
		return yajl_gen_null(g);
	}
}

yajl_gen_status xlp_json_gen_str(yajl_gen g, const char *s)
{
	s = s ? s : "";
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

char *xlp_json_emit(yajl_val j)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	char *out = NULL;

	if (!g)
		return NULL;
	if (xlp_json_gen(g, j) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		out = strndup((const char *)buf, len);
	yajl_gen_free(g);
	return out;
}

static void print_file(void *ctx, const char *s, size_t len)
{
	fwrite(s, 1, len, ctx);
}

yajl_gen xlp_json_gen_file(FILE *f, bool pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return NULL;
	yajl_gen_config(g, yajl_gen_print_callback, print_file, f);
	if (pretty)
		yajl_gen_config(g, yajl_gen_beautify, 1);
	return g;
}

void xlp_json_put_str(FILE *f, const char *s)
{
	yajl_gen g = xlp_json_gen_file(f, false);

	if (!g)
		return;
	xlp_json_gen_str(g, s);
	yajl_gen_free(g);
}

/*
 * The nodes made here are yajl_tree's own: yajl_tree.c allocates them and
 * their members with malloc (growing an object with realloc) and
 * yajl_tree_free() releases them with free, so a parsed tree may be edited
 * in place and freed by yajl as a whole.
 */
static yajl_val node(yajl_type t)
{
	yajl_val v = calloc(1, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

yajl_val xlp_json_new_str(const char *s)
{
	yajl_val v = node(yajl_t_string);

	if (v && !(v->u.string = strdup(s ? s : ""))) {
		free(v);
		return NULL;
	}
	return v;
}

yajl_val xlp_json_new_obj(void)
{
	return node(yajl_t_object);
}

yajl_val xlp_json_get(yajl_val obj, const char *key)
{
	const char *path[] = {key, NULL};

	return yajl_tree_get(obj, path, yajl_t_any);
}

int xlp_json_set(yajl_val obj, const char *key, yajl_val val)
{
	const char **keys;
	yajl_val *vals;
	char *k;
	size_t n;

	if (!val)
		return -ENOMEM;
	if (!YAJL_IS_OBJECT(obj)) {
		yajl_tree_free(val);
		return -EINVAL;
	}
	n = obj->u.object.len;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(obj->u.object.keys[i], key)) {
			yajl_tree_free(obj->u.object.values[i]);
			obj->u.object.values[i] = val;
			return 0;
		}
	}
	k = strdup(key);
	keys = k ? realloc(obj->u.object.keys, (n + 1) * sizeof(*keys)) : NULL;
	if (keys)
		obj->u.object.keys = keys;
	vals = keys ? realloc(obj->u.object.values, (n + 1) * sizeof(*vals)) : NULL;
	if (!vals) {
		free(k);
		yajl_tree_free(val);
		return -ENOMEM;
	}
	obj->u.object.values = vals;
	keys[n] = k;
	vals[n] = val;
	obj->u.object.len = n + 1;
	return 0;
}

int xlp_json_del(yajl_val obj, const char *key)
{
	size_t n;

	if (!YAJL_IS_OBJECT(obj))
		return -EINVAL;
	n = obj->u.object.len;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(obj->u.object.keys[i], key))
			continue;
		free((char *)obj->u.object.keys[i]);
		yajl_tree_free(obj->u.object.values[i]);
		memmove(obj->u.object.keys + i, obj->u.object.keys + i + 1,
		        (n - i - 1) * sizeof(*obj->u.object.keys));
		memmove(obj->u.object.values + i, obj->u.object.values + i + 1,
		        (n - i - 1) * sizeof(*obj->u.object.values));
		obj->u.object.len = n - 1;
		return 0;
	}
	return -ENOENT;
}
