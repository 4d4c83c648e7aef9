/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.c - the Prometheus text format (metrics.h).
 */
#include <string.h>

#include "metrics.h"

void pmet_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (; *s && o + 1 < len; s++) {
		const char *e = *s == '\\'   ? "\\\\"
		                : *s == '"'  ? "\\\""
		                : *s == '\n' ? "\\n"
		                             : NULL;

		if (e) {
			if (o + 2 >= len)
				break;
			buf[o++] = e[0];
			buf[o++] = e[1];
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
}

void pmet_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	/* HELP escapes only backslash and newline (the format's rule). */
	for (; *help; help++) {
		if (*help == '\\')
			fputs("\\\\", f);
		else if (*help == '\n')
			fputs("\\n", f);
		else
			fputc(*help, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void labels(FILE *f, const struct pmet_label *l, size_t n, const char *le)
{
	char v[512];

	if (!n && !le)
		return;
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		pmet_escape(l[i].value, v, sizeof(v));
		fprintf(f, "%s%s=\"%s\"", i ? "," : "", l[i].name, v);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", n ? "," : "", le);
	fputc('}', f);
}

void pmet_sample(FILE *f, const char *name, const struct pmet_label *l, size_t n, uint64_t value)
{
	fputs(name, f);
	labels(f, l, n, NULL);
	fprintf(f, " %llu\n", (unsigned long long)value);
}

void pmet_histogram(FILE *f, const char *name, const struct pmet_label *l, size_t n,
                    const double *bounds_s, const uint64_t *counts, size_t nb, double sum_s)
{
	uint64_t cum = 0;
	char le[32];

	for (size_t i = 0; i < nb; i++) {
		cum += counts[i];
		if (i + 1 < nb)
			snprintf(le, sizeof(le), "%.9g", bounds_s[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(f, "%s_bucket", name);
		labels(f, l, n, le);
		fprintf(f, " %llu\n", (unsigned long long)cum);
	}
	fprintf(f, "%s_sum", name);
	labels(f, l, n, NULL);
	fprintf(f, " %.9g\n", sum_s);
	fprintf(f, "%s_count", name);
	labels(f, l, n, NULL);
	fprintf(f, " %llu\n", (unsigned long long)cum);
}
