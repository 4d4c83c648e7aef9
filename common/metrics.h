/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h - the Prometheus text exposition format (version 0.0.4), for
 * the "metrics" command of the control sockets: what node_exporter's
 * textfile collector and any Prometheus scraper read.
 *
 * A family is announced once (pmet_family(): HELP and TYPE), then all its
 * samples follow; label values are escaped here, names are the caller's
 * constants ([a-zA-Z_:][a-zA-Z0-9_:]*).
 */
#ifndef PMET_H
#define PMET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pmet_label {
	const char *name;
	const char *value;
};

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void pmet_family(FILE *f, const char *name, const char *type, const char *help);
/* name{labels} value, @n labels (none when 0). */
void pmet_sample(FILE *f, const char *name, const struct pmet_label *l, size_t n, uint64_t value);
/*
 * A histogram's samples: name_bucket{labels,le="B"} for each of the @nb
 * buckets (@counts not cumulative; @bounds_s the upper bounds in seconds,
 * the last bucket's is +Inf and not read), name_sum (@sum_s) and
 * name_count.
 */
void pmet_histogram(FILE *f, const char *name, const struct pmet_label *l, size_t n,
                    const double *bounds_s, const uint64_t *counts, size_t nb, double sum_s);
/* @s escaped as a label value (\\, \" and \n) into @buf (truncated to @len). */
void pmet_escape(const char *s, char *buf, size_t len);

#endif
