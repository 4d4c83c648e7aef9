/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_io.h - the LUN core's state and counters as the control sockets'
 * commands show them (docs/control.md): the JSON of a LUN's status and of
 * a struct pvs_io_stats, and their Prometheus families.  pvscsid
 * (backend/control.c) and pvscsi-vhost-user (vhost-user/ctl_json.c) both
 * render through these, so that one client reads both daemons.
 */
#ifndef PCTL_IO_H
#define PCTL_IO_H

#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>

#include "ctlsock.h"
#include "metrics.h"
#include "pvscsi/host.h"
#include "pvscsi/lun.h"

/* The members of an I/O counter set (commands .. latency), into an open map. */
void pctl_gen_io(yajl_gen g, const struct pvs_io_stats *st);
/* A unit's status object: unit, spec, stable, device, kind, ..., reservation. */
void pctl_gen_unit_status(yajl_gen g, const struct pvs_unit *u);

/* One labelled set of counters: a LUN, a ring, a controller. */
#define PMET_IO_LABELS 3
struct pmet_io_sample {
	struct pmet_label l[PMET_IO_LABELS];
	size_t nl;
	struct pvs_io_stats st;
	uint64_t inflight;
};
/*
 * Every counter family of struct pvs_io_stats, @prefix first
 * ("pvscsi_lun_"), "per @what" in the help text, one sample of each per
 * element of @s.
 */
void pmet_io(FILE *f, const char *prefix, const char *what, const struct pmet_io_sample *s,
             size_t n);

/*
 * The metrics command of either daemon: no arguments, and the Prometheus
 * text @render writes (a malloc'ed buffer) as {"content_type", "text"}.
 */
int pctl_metrics_reply(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e,
                       int (*render)(void *arg, char **text, size_t *len));

#endif
