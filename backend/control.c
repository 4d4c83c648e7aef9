/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c - pvscsid's control commands (control.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "ctl_io.h"
#include "metrics.h"
#include "pvscsi/host.h"
#include "ring.h"

/* ---- JSON pieces ---- */

static void gen_unit_head(yajl_gen g, const struct pvs_unit *u)
{
	pctl_str(g, "unit", pvs_unit_id(u));
	pctl_str(g, "spec", pvs_unit_spec(u));
}

/* ---- status ---- */

static void st_vhost(void *arg, const struct pvsd_vhost_info *v)
{
	yajl_gen g = arg;

	yajl_gen_map_open(g);
	pctl_u64(g, "domid", v->domid);
	pctl_u64(g, "vhost", v->vhost);
	pctl_str(g, "backend_state", v->be_state < 0 ? "none" : pvsd_xb_state_name(v->be_state));
	pctl_str(g, "frontend_state", v->fe_state < 0 ? "none" : pvsd_xb_state_name(v->fe_state));
	pctl_bool(g, "active", v->active);
	pctl_bool(g, "feature_host", v->feature_host);
	pctl_key(g, "loop"); /* the event-loop thread of its ring and LUNs (--threads) */
	if (v->loop >= 0)
		yajl_gen_integer(g, v->loop);
	else
		yajl_gen_null(g);
	pctl_key(g, "ring");
	if (v->ring) {
		yajl_gen_map_open(g);
		pctl_u64(g, "feature_sg_grant", pvsd_ring_max_segs(v->ring));
		pctl_u64(g, "inflight", pvsd_ring_inflight(v->ring));
		pctl_str(g, "journal", pvsd_ring_journaled(v->ring) ? "on" : "off");
		pctl_bool(g, "broken", pvsd_ring_broken(v->ring));
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	pctl_key(g, "devices");
	yajl_gen_array_open(g);
}

static void st_dev(void *arg, const struct pvsd_dev_info *d)
{
	yajl_gen g = arg;
	char vdev[48];

	yajl_gen_map_open(g);
	pctl_str(g, "name", d->name);
	snprintf(vdev, sizeof(vdev), "%u:%u:%u", d->channel, d->target, d->lun);
	pctl_str(g, "vdev", d->unit ? vdev : "");
	pctl_str(g, "pdev", d->pdev);
	pctl_str(g, "unit", d->unit ? pvs_unit_id(d->unit) : "");
	/* An iscsi:// login or an rbd: connection under way: the device is not mapped yet. */
	if (d->opening)
		pctl_bool(g, "opening", true);
	/* A cdrom: drive's disc, as the guest may have changed it (its own eject). */
	if (d->unit && pvs_unit_lun(d->unit) && pvs_lun_is_cdrom(pvs_unit_lun(d->unit))) {
		struct pvs_cd_status cs;

		if (pvs_lun_cd_status(pvs_unit_lun(d->unit), &cs) == 0) {
			pctl_key(g, "medium");
			yajl_gen_map_open(g);
			pctl_str(g, "image", cs.path);
			pctl_bool(g, "loaded", cs.medium);
			pctl_bool(g, "tray_open", cs.tray_open);
			pctl_bool(g, "prevented", cs.prevented);
			pctl_u64(g, "blocks", cs.blocks);
			yajl_gen_map_close(g);
		}
	}
	yajl_gen_map_close(g);
}

static void st_vhost_end(void *arg)
{
	yajl_gen g = arg;

	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

static int cmd_status(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	struct pvsd_xenbus *xb = arg;
	const struct pvsd_xenbus_visitor vis = {st_vhost, st_dev, st_vhost_end};
	struct pvs_host *h = pvsd_xenbus_host(xb);
	struct pvs_unit *u;

	if (pctl_no_args(args, e))
		return -1;
	yajl_gen_map_open(g);
	pctl_str(g, "version", PVSCSI_VERSION);
	pctl_u64(g, "pid", (unsigned long long)getpid());
	pctl_u64(g, "domid", pvsd_xenbus_domid(xb));
	pctl_str(g, "base", pvsd_xenbus_base(xb));
	pctl_u64(g, "threads", pvsd_xenbus_nloops(xb));
	pctl_u64(g, "threads_running", pvsd_xenbus_loops_running(xb));
	pctl_str(g, "log_level", plog_level_name(plog_get_level()));
	pctl_key(g, "vhosts");
	yajl_gen_array_open(g);
	pvsd_xenbus_visit(xb, &vis, g);
	yajl_gen_array_close(g);
	pctl_key(g, "luns");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; (u = pvs_host_unit_at(h, i)); i++) {
		pctl_gen_unit_status(g, u);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	return 0;
}

/* ---- stats ---- */

static void stats_ring(void *arg, const struct pvsd_vhost_info *v)
{
	yajl_gen g = arg;
	struct pvsd_ring_stats rs;

	if (!v->ring)
		return;
	pvsd_ring_get_stats(v->ring, &rs);
	yajl_gen_map_open(g);
	pctl_u64(g, "domid", v->domid);
	pctl_u64(g, "vhost", v->vhost);
	pctl_u64(g, "inflight", pvsd_ring_inflight(v->ring));
	pctl_u64(g, "requests", rs.requests);
	pctl_u64(g, "responses", rs.responses);
	pctl_u64(g, "notifies", rs.notifies);
	pctl_u64(g, "rejected", rs.rejected);
	pctl_u64(g, "no_connect", rs.no_connect);
	pctl_u64(g, "tmfs", rs.tmfs);
	pctl_u64(g, "replayed", rs.replayed);
	pctl_u64(g, "dropped", rs.dropped);
	pctl_u64(g, "wakeups", rs.wakeups);
	pctl_u64(g, "polled", rs.polled);
	pctl_u64(g, "events", rs.events);
	pctl_u64(g, "copy_calls", rs.copy_calls);
	pctl_u64(g, "copy_ops", rs.copy_ops);
	pctl_u64(g, "copy_bytes", rs.copy_bytes);
	pctl_u64(g, "lent_in", rs.lent_in);
	pctl_u64(g, "lent_out", rs.lent_out);
	pctl_gen_io(g, &rs.io);
	yajl_gen_map_close(g);
}

static void nop_dev(void *arg, const struct pvsd_dev_info *d)
{
	(void)arg;
	(void)d;
}

static void nop_end(void *arg)
{
	(void)arg;
}

static int cmd_stats(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	struct pvsd_xenbus *xb = arg;
	const struct pvsd_xenbus_visitor vis = {stats_ring, nop_dev, nop_end};
	struct pvs_host *h = pvsd_xenbus_host(xb);
	struct pvs_io_stats st;
	struct pvs_unit *u;

	if (pctl_no_args(args, e))
		return -1;
	yajl_gen_map_open(g);
	pctl_key(g, "luns");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; (u = pvs_host_unit_at(h, i)); i++) {
		const struct pvs_lun *l = pvs_unit_lun(u);

		pvs_unit_get_stats(u, &st);
		yajl_gen_map_open(g);
		gen_unit_head(g, u);
		pctl_u64(g, "inflight", l ? pvs_lun_inflight(l) : 0);
		pctl_gen_io(g, &st);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	pctl_key(g, "rings");
	yajl_gen_array_open(g);
	pvsd_xenbus_visit(xb, &vis, g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	return 0;
}

/* ---- metrics ---- */

struct metric_set {
	struct pmet_io_sample *s;
	size_t n, cap;
};

static struct pmet_io_sample *set_add(struct metric_set *m)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct pmet_io_sample *s = realloc(m->s, cap * sizeof(*s));

		if (!s)
			return NULL;
		m->s = s;
		m->cap = cap;
	}
	memset(&m->s[m->n], 0, sizeof(m->s[0]));
	return &m->s[m->n++];
}

struct ring_set {
	struct metric_set m;
	char (*ids)[2][16];
	size_t cap;
	bool oom;
};

static void metrics_ring(void *arg, const struct pvsd_vhost_info *v)
{
	struct ring_set *rs = arg;
	struct pvsd_ring_stats st;
	struct pmet_io_sample *s;

	if (!v->ring || rs->oom)
		return;
	if (rs->m.n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 8;
		void *ids = realloc(rs->ids, cap * sizeof(rs->ids[0]));

		if (!ids) {
			rs->oom = true;
			return;
		}
		rs->ids = ids;
		rs->cap = cap;
	}
	/* The labels point into rs->ids, which may move: they are set after the walk. */
	s = set_add(&rs->m);
	if (!s) {
		rs->oom = true;
		return;
	}
	snprintf(rs->ids[rs->m.n - 1][0], 16, "%u", v->domid);
	snprintf(rs->ids[rs->m.n - 1][1], 16, "%u", v->vhost);
	pvsd_ring_get_stats(v->ring, &st);
	s->st = st.io;
	s->inflight = pvsd_ring_inflight(v->ring);
	s->nl = 2;
}

static int render_metrics(struct pvsd_xenbus *xb, char **text, size_t *len)
{
	const struct pvsd_xenbus_visitor vis = {metrics_ring, nop_dev, nop_end};
	struct pvs_host *h = pvsd_xenbus_host(xb);
	struct metric_set luns = {0};
	struct ring_set rings = {0};
	struct pmet_label info = {"version", PVSCSI_VERSION};
	struct pvs_unit *u;
	FILE *f;
	int rc = -ENOMEM;

	for (unsigned int i = 0; (u = pvs_host_unit_at(h, i)); i++) {
		struct pmet_io_sample *s = set_add(&luns);
		const struct pvs_lun *l = pvs_unit_lun(u);

		if (!s)
			goto out;
		s->l[0] = (struct pmet_label){"unit", pvs_unit_id(u)};
		s->l[1] = (struct pmet_label){"spec", pvs_unit_spec(u)};
		s->nl = 2;
		pvs_unit_get_stats(u, &s->st);
		s->inflight = l ? pvs_lun_inflight(l) : 0;
	}
	pvsd_xenbus_visit(xb, &vis, &rings);
	if (rings.oom)
		goto out;
	for (size_t i = 0; i < rings.m.n; i++) {
		rings.m.s[i].l[0] = (struct pmet_label){"domid", rings.ids[i][0]};
		rings.m.s[i].l[1] = (struct pmet_label){"vhost", rings.ids[i][1]};
	}
	f = open_memstream(text, len);
	if (!f)
		goto out;
	pmet_family(f, "pvscsi_build_info", "gauge", "pvscsid's version, always 1");
	pmet_sample(f, "pvscsi_build_info", &info, 1, 1);
	pmet_family(f, "pvscsi_luns", "gauge", "Logical units open");
	pmet_sample(f, "pvscsi_luns", NULL, 0, luns.n);
	pmet_family(f, "pvscsi_rings", "gauge", "vscsiif rings connected");
	pmet_sample(f, "pvscsi_rings", NULL, 0, rings.m.n);
	pmet_io(f, "pvscsi_lun_", "logical unit", luns.s, luns.n);
	pmet_io(f, "pvscsi_ring_", "vscsiif ring", rings.m.s, rings.m.n);
	rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0)
		rc = -ENOMEM;
	if (rc) {
		free(*text);
		*text = NULL;
	}
out:
	free(luns.s);
	free(rings.m.s);
	free(rings.ids);
	return rc;
}

/* render_metrics for pctl_metrics_reply: @arg is the command's. */
static int render_metrics_cb(void *arg, char **text, size_t *len)
{
	return render_metrics(arg, text, len);
}

static int cmd_metrics(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return pctl_metrics_reply(arg, args, g, e, render_metrics_cb);
}

/*
 * A setting in microseconds, read or set: {"us":N} within 0..@max, logged
 * as @what when it changes; returns {"us":...,"previous":...}.
 */
static int us_setting(struct pvsd_xenbus *xb, const yajl_val args, yajl_gen g, struct pctl_err *e,
                      unsigned int (*get)(const struct pvsd_xenbus *),
                      void (*set)(struct pvsd_xenbus *, unsigned int), unsigned int max,
                      const char *what)
{
	yajl_val us = pctl_arg(args, "us");
	unsigned int old = get(xb);

	if (pctl_only_arg(args, "us", e))
		return -1;
	if (us) {
		if (!YAJL_IS_INTEGER(us) || YAJL_GET_INTEGER(us) < 0 || YAJL_GET_INTEGER(us) > max)
			return pctl_fail(e, PCTL_E_ARG,
			                 "\"us\" must be a number of microseconds in 0..%u", max);
		set(xb, (unsigned int)YAJL_GET_INTEGER(us));
		if (get(xb) != old)
			plog(LOG_NOTICE, "%s %u us -> %u us (control socket)", what, old, get(xb));
	}
	yajl_gen_map_open(g);
	pctl_u64(g, "us", get(xb));
	pctl_u64(g, "previous", old);
	yajl_gen_map_close(g);
	return 0;
}

/*
 * Adaptive polling, at run time (pvscsid --poll-us at start): so that an
 * administrator, or make bench, can compare both on one running guest.
 */
static int cmd_poll(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return us_setting(arg, args, g, e, pvsd_xenbus_poll_us, pvsd_xenbus_set_poll_us,
	                  PVSD_POLL_US_MAX, "polling");
}

/* Completion coalescing, at run time (pvscsid --coalesce-us at start), for the same reason. */
static int cmd_coalesce(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return us_setting(arg, args, g, e, pvsd_xenbus_coalesce_us, pvsd_xenbus_set_coalesce_us,
	                  PVSD_COALESCE_US_MAX, "coalescing");
}

/* Deferred kicks, at run time (pvscsid --no-defer-kicks at start), for the same reason. */
static int cmd_defer_kicks(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	struct pvsd_xenbus *xb = arg;
	yajl_val on = pctl_arg(args, "on");
	bool old = pvsd_xenbus_defer_kicks(xb);

	if (pctl_only_arg(args, "on", e))
		return -1;
	if (on) {
		if (!YAJL_IS_TRUE(on) && !YAJL_IS_FALSE(on))
			return pctl_fail(e, PCTL_E_ARG, "\"on\" must be true or false");
		pvsd_xenbus_set_defer_kicks(xb, YAJL_IS_TRUE(on));
		if (YAJL_IS_TRUE(on) != old)
			plog(LOG_NOTICE, "deferred kicks %s (control socket)",
			     YAJL_IS_TRUE(on) ? "on" : "off");
	}
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"on", 2);
	yajl_gen_bool(g, pvsd_xenbus_defer_kicks(xb));
	yajl_gen_string(g, (const unsigned char *)"previous", 8);
	yajl_gen_bool(g, old);
	yajl_gen_map_close(g);
	return 0;
}

const struct pctl_command pvsd_ctl_commands[] = {
    {"status", cmd_status},     {"stats", cmd_stats},
    {"metrics", cmd_metrics},   {"log-level", pctl_cmd_log_level},
    {"poll", cmd_poll},         {"defer-kicks", cmd_defer_kicks},
    {"coalesce", cmd_coalesce},
};
const size_t pvsd_ctl_ncommands = sizeof(pvsd_ctl_commands) / sizeof(pvsd_ctl_commands[0]);

int pvsd_ctl_open(const char *path, struct pvsd_xenbus *xb,
                  bool (*peer_ok)(void *arg, pid_t pid, uid_t uid, gid_t gid), struct pctl **out,
                  char *err, size_t errlen)
{
	const struct pctl_cfg cfg = {
	    .path = path,
	    .cmds = pvsd_ctl_commands,
	    .ncmds = pvsd_ctl_ncommands,
	    .arg = xb,
	    .peer_ok = peer_ok,
	};

	return pctl_open(&cfg, out, err, errlen);
}
