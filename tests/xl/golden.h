/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * golden.h - golden-output comparison for the xl front's unit tests
 * (tests/unit/xl_*_ut.c).  Expected outputs live in tests/xl/NAME; a test
 * builds its actual output as text and compares.  XL_GOLDEN_UPDATE=1
 * rewrites the files instead (then review the diff before committing).
 * The directory is tests/xl relative to the repository root (where make
 * runs the suites), or $XL_GOLDEN_DIR.
 */
#ifndef XL_GOLDEN_H
#define XL_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *golden_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* 0 when @actual equals tests/xl/@name; otherwise says where they differ. */
static inline int golden_check(const char *name, const char *actual)
{
	const char *dir = getenv("XL_GOLDEN_DIR") ? getenv("XL_GOLDEN_DIR") : "tests/xl";
	char path[1024];
	char *want;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (getenv("XL_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");

		if (!f)
			return -1;
		fputs(actual, f);
		fclose(f);
		fprintf(stderr, "golden: wrote %s\n", path);
		return 0;
	}
	want = golden_read(path);
	if (!want) {
		fprintf(stderr, "\ngolden: cannot read %s (run from the repository root)\n", path);
		return -1;
	}
	rc = strcmp(want, actual) != 0;
	if (rc) {
		const char *a = actual, *w = want;
		int line = 1;

		while (*a && *a == *w) {
			if (*a == '\n')
				line++;
			a++;
			w++;
		}
		fprintf(stderr,
		        "\ngolden: %s differs at line %d\n--- expected:\n%.*s\n--- got:\n%.*s\n",
		        path, line, (int)strcspn(w, "\n"), w, (int)strcspn(a, "\n"), a);
		fprintf(stderr, "--- whole output:\n%s--- end\n", actual);
	}
	free(want);
	return rc;
}

/* Replace every occurrence of @from in @s (malloc'd result, @s freed). */
static inline char *golden_subst(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *p, *out, *o;

	if (!fl)
		return s;
	for (p = s; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
	if (!out)
		return s;
	for (p = s, o = out;;) {
		char *q = strstr(p, from);

		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	free(s);
	return out;
}

#endif
