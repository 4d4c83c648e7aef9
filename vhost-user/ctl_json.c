/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_json.c - pvscsi-vhost-user's JSON control commands (ctl_json.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_json.h"
#include "ctl_io.h"
#include "log.h"
#include "metrics.h"

/* ---- arguments ---- */

enum arg_type { ARG_STR, ARG_UINT, ARG_BOOL };

struct arg_spec {
	const char *name;
	enum arg_type type;
	bool required;
};

/*
 * Check @args against @spec (@n entries): every member known, of its type,
 * the required ones there.  Each value found goes to @str or @num at the
 * spec's index.  0, or -1 with an InvalidArgument error naming the member.
 */
static int take_args(const yajl_val args, const struct arg_spec *spec, size_t n, const char **str,
                     unsigned long long *num, struct pctl_err *e)
{
	for (size_t i = 0; args && i < args->u.object.len; i++) {
		const char *k = args->u.object.keys[i];
		size_t j;

		for (j = 0; j < n && strcmp(spec[j].name, k); j++)
			;
		if (j == n)
			return pctl_fail(e, PCTL_E_ARG, "unknown argument \"%.64s\"", k);
	}
	for (size_t j = 0; j < n; j++) {
		yajl_val v = pctl_arg(args, spec[j].name);

		str[j] = NULL;
		num[j] = 0;
		if (!v) {
			if (spec[j].required)
				return pctl_fail(e, PCTL_E_ARG, "missing argument \"%s\"",
				                 spec[j].name);
			continue;
		}
		if (spec[j].type == ARG_STR) {
			if (!YAJL_IS_STRING(v))
				return pctl_fail(e, PCTL_E_ARG, "\"%s\" must be a string",
				                 spec[j].name);
			str[j] = v->u.string;
		} else if (spec[j].type == ARG_BOOL) {
			if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
				return pctl_fail(e, PCTL_E_ARG, "\"%s\" must be true or false",
				                 spec[j].name);
			num[j] = YAJL_IS_TRUE(v);
		} else {
			char *end;

			/* yajl keeps the text: "1.5", "-1" and "1e3" are numbers but not counts. */
			if (!YAJL_IS_INTEGER(v) || v->u.number.i < 0)
				return pctl_fail(e, PCTL_E_ARG,
				                 "\"%s\" must be a non-negative integer",
				                 spec[j].name);
			num[j] = strtoull(v->u.number.r, &end, 10);
		}
	}
	return 0;
}

/* "[NAME/]T:L" from "controller" and "lun", into @buf. */
static int lun_addr(const char *ctrl, const char *lun, char *buf, size_t len, struct pctl_err *e)
{
	if (ctrl && strchr(lun, '/'))
		return pctl_fail(e, PCTL_E_ARG,
		                 "\"lun\" '%.64s' names a controller and so does \"controller\"",
		                 lun);
	if ((size_t)snprintf(buf, len, "%s%s%s", ctrl ? ctrl : "", ctrl ? "/" : "", lun) >= len)
		return pctl_fail(e, PCTL_E_ARG, "\"lun\" '%.64s' is too long", lun);
	return 0;
}

/* A cdrom: drive's medium and tray (pvs_cd_status), as the value of a "cdrom" member. */
static void gen_cd(yajl_gen g, const struct pvs_cd_status *cd)
{
	yajl_gen_map_open(g);
	pctl_bool(g, "medium", cd->medium);
	pctl_str(g, "path", cd->path);
	pctl_u64(g, "blocks", cd->blocks);
	pctl_bool(g, "tray_open", cd->tray_open);
	pctl_bool(g, "prevented", cd->prevented);
	yajl_gen_map_close(g);
}

/* ---- status ---- */

static void gen_initiator(yajl_gen g, const struct vscsi *vs)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)vscsi_initiator(vs));
	pctl_str(g, "initiator", buf);
	if (vscsi_iscsi_name(vs)[0])
		pctl_str(g, "initiator_name", vscsi_iscsi_name(vs));
}

static int cmd_status(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	const struct vuctl_env *env = arg;
	const char *name, *sock;
	struct vscsi *vs;
	struct vscsi_lun_info li;
	struct pvs_unit *u;
	bool conn;
	char tl[24];

	if (pctl_no_args(args, e))
		return -1;
	yajl_gen_map_open(g);
	pctl_str(g, "version", PVSCSI_VERSION);
	pctl_u64(g, "pid", (unsigned long long)getpid());
	pctl_str(g, "log_level", plog_level_name(plog_get_level()));
	pctl_key(g, "controllers");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; env->get(env->arg, i, &name, &sock, &vs, &conn); i++) {
		yajl_gen_map_open(g);
		pctl_str(g, "name", name);
		pctl_str(g, "socket", sock);
		pctl_str(g, "state", conn ? "connected" : "listening");
		pctl_u64(g, "queues", vscsi_num_queues(vs));
		gen_initiator(g, vs);
		pctl_u64(g, "inflight", vscsi_inflight(vs));
		pctl_key(g, "luns");
		yajl_gen_array_open(g);
		for (unsigned int k = 0; vscsi_lun_get(vs, k, &li); k++) {
			yajl_gen_map_open(g);
			snprintf(tl, sizeof(tl), "%u:%u", li.target, li.lun);
			pctl_str(g, "lun", tl);
			pctl_str(g, "unit", li.unit ? pvs_unit_id(li.unit) : "");
			pctl_str(g, "spec", li.spec);
			pctl_bool(g, "read_only", li.unit && pvs_unit_ro(li.unit));
			pctl_u64(g, "inflight", li.inflight);
			if (li.cdrom) {
				pctl_key(g, "cdrom");
				gen_cd(g, &li.cd);
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	pctl_key(g, "luns");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; env->host && (u = pvs_host_unit_at(env->host, i)); i++)
		pctl_gen_unit_status(g, u);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	return 0;
}

/* ---- stats ---- */

static int cmd_stats(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	const struct vuctl_env *env = arg;
	const char *name, *sock;
	struct vscsi_stats vst;
	struct pvs_io_stats st;
	struct vscsi *vs;
	struct pvs_unit *u;
	bool conn;

	if (pctl_no_args(args, e))
		return -1;
	yajl_gen_map_open(g);
	pctl_key(g, "luns");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; env->host && (u = pvs_host_unit_at(env->host, i)); i++) {
		const struct pvs_lun *l = pvs_unit_lun(u);

		pvs_unit_get_stats(u, &st);
		yajl_gen_map_open(g);
		pctl_str(g, "unit", pvs_unit_id(u));
		pctl_str(g, "spec", pvs_unit_spec(u));
		pctl_u64(g, "inflight", l ? pvs_lun_inflight(l) : 0);
		pctl_gen_io(g, &st);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	pctl_key(g, "controllers");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; env->get(env->arg, i, &name, &sock, &vs, &conn); i++) {
		vscsi_get_stats(vs, &vst);
		yajl_gen_map_open(g);
		pctl_str(g, "name", name);
		pctl_u64(g, "inflight", vscsi_inflight(vs));
		pctl_u64(g, "requests", vst.requests);
		pctl_u64(g, "responses", vst.responses);
		pctl_u64(g, "bad_chains", vst.bad_chains);
		pctl_u64(g, "bad_target", vst.bad_target);
		pctl_u64(g, "tmfs", vst.tmfs);
		pctl_u64(g, "an", vst.an);
		pctl_u64(g, "events", vst.events);
		pctl_u64(g, "events_lost", vst.events_lost);
		pctl_u64(g, "calls", vst.calls);
		pctl_u64(g, "late_calls", vst.late_calls);
		pctl_gen_io(g, &vst.io);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	return 0;
}

/* ---- metrics ---- */

static int render_metrics(const struct vuctl_env *env, char **text, size_t *len)
{
	struct pmet_label info = {"version", PVSCSI_VERSION};
	struct pmet_io_sample *luns = NULL, *ctrls = NULL;
	size_t nluns = 0, nctrls = 0;
	const char *name, *sock;
	struct vscsi *vs;
	struct pvs_unit *u;
	bool conn;
	FILE *f = NULL;
	int rc = -ENOMEM;

	while (env->host && pvs_host_unit_at(env->host, (unsigned int)nluns))
		nluns++;
	while (env->get(env->arg, (unsigned int)nctrls, &name, &sock, &vs, &conn))
		nctrls++;
	luns = calloc(nluns + 1, sizeof(*luns));
	ctrls = calloc(nctrls + 1, sizeof(*ctrls));
	if (!luns || !ctrls)
		goto out;
	for (size_t i = 0; i < nluns; i++) {
		const struct pvs_lun *l;

		u = pvs_host_unit_at(env->host, (unsigned int)i);
		l = pvs_unit_lun(u);
		luns[i].l[0] = (struct pmet_label){"unit", pvs_unit_id(u)};
		luns[i].l[1] = (struct pmet_label){"spec", pvs_unit_spec(u)};
		luns[i].nl = 2;
		pvs_unit_get_stats(u, &luns[i].st);
		luns[i].inflight = l ? pvs_lun_inflight(l) : 0;
	}
	for (size_t i = 0; i < nctrls; i++) {
		struct vscsi_stats vst;

		env->get(env->arg, (unsigned int)i, &name, &sock, &vs, &conn);
		vscsi_get_stats(vs, &vst);
		ctrls[i].l[0] = (struct pmet_label){"controller", name};
		ctrls[i].nl = 1;
		ctrls[i].st = vst.io;
		ctrls[i].inflight = vscsi_inflight(vs);
	}
	f = open_memstream(text, len);
	if (!f)
		goto out;
	pmet_family(f, "pvscsi_build_info", "gauge", "pvscsi-vhost-user's version, always 1");
	pmet_sample(f, "pvscsi_build_info", &info, 1, 1);
	pmet_family(f, "pvscsi_luns", "gauge", "Logical units open");
	pmet_sample(f, "pvscsi_luns", NULL, 0, nluns);
	pmet_family(f, "pvscsi_controller_connected", "gauge",
	            "Whether a front-end is connected to the controller");
	for (size_t i = 0; i < nctrls; i++) {
		env->get(env->arg, (unsigned int)i, &name, &sock, &vs, &conn);
		pmet_sample(f, "pvscsi_controller_connected", ctrls[i].l, 1, conn);
	}
	/* Which unit each controller shows where: the join from a controller to its LUNs. */
	pmet_family(f, "pvscsi_controller_lun_info", "gauge",
	            "A logical unit a controller shows at target:lun, always 1");
	for (size_t i = 0; i < nctrls; i++) {
		struct vscsi_lun_info li;
		char tl[24];

		env->get(env->arg, (unsigned int)i, &name, &sock, &vs, &conn);
		for (unsigned int k = 0; vscsi_lun_get(vs, k, &li); k++) {
			struct pmet_label l[3] = {
			    {"controller", name},
			    {"lun", tl},
			    {"unit", li.unit ? pvs_unit_id(li.unit) : ""},
			};

			snprintf(tl, sizeof(tl), "%u:%u", li.target, li.lun);
			pmet_sample(f, "pvscsi_controller_lun_info", l, 3, 1);
		}
	}
	pmet_io(f, "pvscsi_lun_", "logical unit", luns, nluns);
	pmet_io(f, "pvscsi_controller_", "controller", ctrls, nctrls);
	rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0)
		rc = -ENOMEM;
	f = NULL;
	if (rc) {
		free(*text);
		*text = NULL;
	}
out:
	free(luns);
	free(ctrls);
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

/* ---- LUNs ---- */

struct add_reply {
	struct pctl_later later;
	char addr[VUCTL_NAME_MAX + 32];
};

static void add_replied(void *arg, int rc, const char *err)
{
	struct add_reply *ar = arg;
	char desc[PCTL_DESC_MAX];

	if (rc)
		snprintf(desc, sizeof(desc), "add %.64s: %s", ar->addr, err);
	pctl_resume(&ar->later, rc ? PCTL_E_FAILED : NULL, rc ? desc : NULL, NULL, NULL);
	free(ar);
}

static int cmd_add(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec spec[] = {
	    {"controller", ARG_STR, false},
	    {"lun", ARG_STR, true},
	    {"spec", ARG_STR, true},
	};
	const char *s[3];
	unsigned long long n[3];
	char addr[VUCTL_NAME_MAX + 32], why[512];
	struct pctl_later later;
	struct add_reply *ar;
	int rc;

	if (take_args(args, spec, 3, s, n, e) || lun_addr(s[0], s[1], addr, sizeof(addr), e))
		return -1;
	/*
	 * An iscsi:// login or an rbd: connection takes seconds: the reply
	 * waits for it, the daemon's loop and every controller do not.
	 */
	ar = pctl_defer(&later) ? calloc(1, sizeof(*ar)) : NULL;
	if (ar) {
		ar->later = later;
		snprintf(ar->addr, sizeof(ar->addr), "%s", addr);
		rc = vuctl_add_async(arg, addr, s[2], add_replied, ar, why, sizeof(why));
		if (rc == VSCSI_ADD_PENDING)
			return PCTL_DEFERRED;
		free(ar);
	} else {
		rc = vuctl_add(arg, addr, s[2], why, sizeof(why));
	}
	if (rc)
		return pctl_fail(e, PCTL_E_FAILED, "add %.64s: %s", addr, why);
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
	return 0;
}

static int lun_op(void *arg, const char *op, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec spec[] = {
	    {"controller", ARG_STR, false},
	    {"lun", ARG_STR, true},
	};
	const char *s[2];
	unsigned long long n[2];
	char addr[VUCTL_NAME_MAX + 32], why[512];
	bool changed = false;

	if (take_args(args, spec, 2, s, n, e) || lun_addr(s[0], s[1], addr, sizeof(addr), e))
		return -1;
	if (vuctl_lun_op(arg, op, addr, &changed, why, sizeof(why)))
		return pctl_fail(e, PCTL_E_FAILED, "%s %.64s: %s", op, addr, why);
	yajl_gen_map_open(g);
	if (!strcmp(op, "resize"))
		pctl_bool(g, "changed", changed);
	yajl_gen_map_close(g);
	return 0;
}

static int cmd_remove(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return lun_op(arg, "remove", args, g, e);
}

static int cmd_resize(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return lun_op(arg, "resize", args, g, e);
}

/* insert (@insert) or eject; the reply is the drive's state after it. */
static int cd_op(void *arg, bool insert, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec ins[] = {
	    {"controller", ARG_STR, false},
	    {"lun", ARG_STR, true},
	    {"force", ARG_BOOL, false},
	    {"path", ARG_STR, true},
	};
	const struct vuctl_env *env = arg;
	const char *s[4];
	unsigned long long n[4];
	char addr[VUCTL_NAME_MAX + 32], why[768];
	struct pvs_cd_status cd;

	/* eject takes the same arguments but the path. */
	if (take_args(args, ins, insert ? 4 : 3, s, n, e) ||
	    lun_addr(s[0], s[1], addr, sizeof(addr), e))
		return -1;
	/* Its messages name the command and the LUN already. */
	if (vuctl_cd(env, addr, insert ? s[3] : NULL, n[2], &cd, why, sizeof(why)))
		return pctl_fail(e, PCTL_E_FAILED, "%s", why);
	gen_cd(g, &cd);
	return 0;
}

static int cmd_insert(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return cd_op(arg, true, args, g, e);
}

static int cmd_eject(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	return cd_op(arg, false, args, g, e);
}

static int cmd_list(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec spec[] = {{"controller", ARG_STR, false}};
	const struct vuctl_env *env = arg;
	const char *s[1];
	unsigned long long n[1];
	struct vscsi_lun_info li;
	struct vscsi *vs;
	char tl[24];

	if (take_args(args, spec, 1, s, n, e))
		return -1;
	vs = env->find(env->arg, s[0]);
	if (!vs)
		return pctl_fail(e, PCTL_E_FAILED, "no controller '%.64s'",
		                 s[0] ? s[0] : "(default)");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; vscsi_lun_get(vs, i, &li); i++) {
		yajl_gen_map_open(g);
		snprintf(tl, sizeof(tl), "%u:%u", li.target, li.lun);
		pctl_str(g, "lun", tl);
		pctl_str(g, "unit", li.unit ? pvs_unit_id(li.unit) : "");
		pctl_str(g, "spec", li.spec);
		pctl_u64(g, "blocks", li.blocks);
		pctl_u64(g, "block_size", li.block_size);
		pctl_u64(g, "inflight", li.inflight);
		pctl_u64(g, "users", li.users);
		if (li.cdrom) {
			pctl_key(g, "cdrom");
			gen_cd(g, &li.cd);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	return 0;
}

/* ---- controllers ---- */

static int cmd_ctrl_add(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec spec[] = {
	    {"name", ARG_STR, true},
	    {"socket", ARG_STR, true},
	    {"queues", ARG_UINT, false},
	    {"initiator_name", ARG_STR, false},
	};
	const char *s[4];
	unsigned long long n[4];
	char why[512];

	if (take_args(args, spec, 4, s, n, e))
		return -1;
	if (pctl_arg(args, "queues") && (n[2] == 0 || n[2] > VSCSI_MAX_REQ_QUEUES))
		return pctl_fail(e, PCTL_E_ARG, "\"queues\" %llu: expected 1 to %u", n[2],
		                 VSCSI_MAX_REQ_QUEUES);
	if (vuctl_ctrl_add(arg, s[0], s[1], (unsigned int)n[2], s[3], why, sizeof(why)))
		return pctl_fail(e, PCTL_E_FAILED, "ctrl-add %.32s: %s", s[0], why);
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
	return 0;
}

static int cmd_ctrl_remove(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static const struct arg_spec spec[] = {{"name", ARG_STR, true}};
	const char *s[1];
	unsigned long long n[1];
	char why[512];

	if (take_args(args, spec, 1, s, n, e))
		return -1;
	if (vuctl_ctrl_remove(arg, s[0], why, sizeof(why)))
		return pctl_fail(e, PCTL_E_FAILED, "ctrl-remove %.32s: %s", s[0], why);
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
	return 0;
}

static int cmd_ctrl_list(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	const struct vuctl_env *env = arg;
	const char *name, *sock;
	struct vscsi *vs;
	bool conn;

	if (pctl_no_args(args, e))
		return -1;
	yajl_gen_array_open(g);
	for (unsigned int i = 0; env->get(env->arg, i, &name, &sock, &vs, &conn); i++) {
		yajl_gen_map_open(g);
		pctl_str(g, "name", name);
		pctl_str(g, "socket", sock);
		pctl_str(g, "state", conn ? "connected" : "listening");
		pctl_u64(g, "queues", vscsi_num_queues(vs));
		pctl_u64(g, "luns", pvs_map_count(vscsi_map(vs)));
		gen_initiator(g, vs);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	return 0;
}

const struct pctl_command vuctl_json_commands[] = {
    {"status", cmd_status},
    {"stats", cmd_stats},
    {"metrics", cmd_metrics},
    {"log-level", pctl_cmd_log_level},
    {"add", cmd_add},
    {"remove", cmd_remove},
    {"resize", cmd_resize},
    {"insert", cmd_insert},
    {"eject", cmd_eject},
    {"list", cmd_list},
    {"ctrl-add", cmd_ctrl_add},
    {"ctrl-remove", cmd_ctrl_remove},
    {"ctrl-list", cmd_ctrl_list},
};
const size_t vuctl_json_ncommands = sizeof(vuctl_json_commands) / sizeof(vuctl_json_commands[0]);

/* The line protocol's answer to an add: "ok", or "error: " and why (as vuctl_exec()'s). */
static void line_answer(char *buf, size_t len, int rc, const char *err)
{
	if (rc)
		snprintf(buf, len, "error: %s\n", err[0] ? err : strerror(-rc));
	else
		snprintf(buf, len, "ok\n");
}

static void add_line_replied(void *arg, int rc, const char *err)
{
	struct add_reply *ar = arg;
	char text[800];

	line_answer(text, sizeof(text), rc, err);
	pctl_resume_line(&ar->later, text);
	free(ar);
}

/*
 * The line protocol's add, answered once its LUN opened (as the JSON one):
 * PCTL_DEFERRED, 2 when *@out holds the answer, 0 when @line is not an
 * add for it (vuctl_exec() answers), or -ENOMEM.
 */
static int line_add(void *arg, const char *line, char **out)
{
	char buf[1024], *w[4] = {NULL}, *save = NULL, *p, err[768];
	struct add_reply *ar;
	unsigned int n = 0;
	int rc;

	snprintf(buf, sizeof(buf), "%s", line);
	buf[strcspn(buf, "\r\n")] = 0;
	for (p = strtok_r(buf, " \t", &save); p && n < 4; p = strtok_r(NULL, " \t", &save))
		w[n++] = p;
	if (n != 3 || strcmp(w[0], "add"))
		return 0;
	ar = calloc(1, sizeof(*ar));
	if (!ar || !pctl_defer(&ar->later)) {
		free(ar);
		return 0;
	}
	snprintf(ar->addr, sizeof(ar->addr), "%s", w[1]);
	rc = vuctl_add_async(arg, w[1], w[2], add_line_replied, ar, err, sizeof(err));
	if (rc == VSCSI_ADD_PENDING)
		return PCTL_DEFERRED;
	free(ar);
	*out = malloc(800);
	if (!*out)
		return -ENOMEM;
	line_answer(*out, 800, rc, err);
	return 2; /* answered */
}

int vuctl_line(void *arg, const char *line, char **out)
{
	/* What the old one-shot server's buffer held: a reply longer is cut. */
	char *buf;
	int rc = line_add(arg, line, out);

	if (rc == PCTL_DEFERRED || rc < 0)
		return rc;
	if (rc == 2)
		return 0;
	buf = malloc(16384);
	if (!buf)
		return -ENOMEM;
	vuctl_exec(arg, line, buf, 16384);
	*out = buf;
	return 0;
}

void vuctl_cfg(struct pctl_cfg *cfg, const char *path, struct vuctl_env *env)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->cmds = vuctl_json_commands;
	cfg->ncmds = vuctl_json_ncommands;
	cfg->arg = env;
	cfg->line = vuctl_line;
}
