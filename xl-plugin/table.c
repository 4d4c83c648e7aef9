/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.c - the text tables of scsi-list and scsi-assignable-list.  Cells
 * hold paths, WWNs and domain names of any length, so each column is as
 * wide as its widest cell rather than a printf width that one long file:
 * path would push every later column out of line.
 */
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

void xlp_table_init(struct xlp_table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

void xlp_table_free(struct xlp_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

void xlp_table_row(struct xlp_table *t, const char *const *cells)
{
	char **c;

	if (t->oom)
		return;
	c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));
	if (!c) {
		t->oom = 1;
		return;
	}
	t->cells = c;
	c += t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		c[i] = strdup(cells[i] ? cells[i] : "");
		if (!c[i])
			t->oom = 1;
	}
	t->nrows++;
}

/* Characters on the terminal: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void xlp_table_print(const struct xlp_table *t, FILE *f)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));

	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t cw = width(t->cells[r * t->ncols + i]);

			w[i] = cw > w[i] ? cw : w[i];
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * t->ncols + i];

			fputs(cell ? cell : "", f);
			/* one blank between columns, none after the last */
			if (i + 1 < t->ncols)
				fprintf(f, "%*s", (int)(w[i] - width(cell) + 1), "");
		}
		fputc('\n', f);
	}
	free(w);
}
