/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl.c - LUN and controller configuration and control commands (see ctl.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

static struct vscsi *one_find(void *arg, const char *name)
{
	const struct vuctl_env *env = arg;

	return !name || !strcmp(name, "0") ? env->one : NULL;
}

static bool one_get(void *arg, unsigned int i, const char **name, const char **socket,
                    struct vscsi **vs, bool *connected)
{
	const struct vuctl_env *env = arg;

	if (i > 0)
		return false;
	*name = "0";
	*socket = "-";
	*vs = env->one;
	*connected = true;
	return true;
}

void vuctl_env_one(struct vuctl_env *env, struct vscsi *vs)
{
	memset(env, 0, sizeof(*env));
	env->find = one_find;
	env->get = one_get;
	env->arg = env;
	env->one = vs;
	env->host = vscsi_host(vs);
}

bool vuctl_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("_.-", s[n]))
			return false;
	return n > 0 && n < VUCTL_NAME_MAX;
}

int vuctl_parse_tl(const char *s, unsigned int *target, unsigned int *lun)
{
	char *end;
	unsigned long t, l;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	t = strtoul(s, &end, 10);
	if (*end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	l = strtoul(end + 1, &end, 10);
	if (*end || t > 255 || l > 16383)
		return -EINVAL;
	*target = (unsigned int)t;
	*lun = (unsigned int)l;
	return 0;
}

/* "[NAME/]T:L": the controller and the numbers, or -errno with @err. */
static int parse_addr(const struct vuctl_env *env, const char *addr, struct vscsi **vs,
                      const char **name, unsigned int *t, unsigned int *l, char *err, size_t errlen)
{
	const char *slash = strchr(addr, '/');
	char nm[VUCTL_NAME_MAX];

	*name = NULL;
	if (slash) {
		size_t n = (size_t)(slash - addr);

		if (n == 0 || n >= sizeof(nm)) {
			snprintf(err, errlen, "bad controller name in '%s'", addr);
			return -EINVAL;
		}
		memcpy(nm, addr, n);
		nm[n] = '\0';
		addr = slash + 1;
	}
	if (vuctl_parse_tl(addr, t, l)) {
		snprintf(err, errlen, "bad target:lun '%s' (0..255:0..16383)", addr);
		return -EINVAL;
	}
	*vs = env->find(env->arg, slash ? nm : NULL);
	if (!*vs) {
		snprintf(err, errlen, "no controller '%s'", slash ? nm : "(default)");
		return -ENOENT;
	}
	return 0;
}

static void log_added(struct vscsi *vs, const char *tl, unsigned int t, unsigned int l)
{
	struct vscsi_lun_info li;

	for (unsigned int i = 0; vscsi_lun_get(vs, i, &li); i++)
		if (li.target == t && li.lun == l)
			plog(LOG_INFO, "LUN %s: %s (%llu blocks of %u%s)", tl, li.spec,
			     (unsigned long long)li.blocks, li.block_size,
			     li.users > 1 ? ", shared" : "");
}

static void add_error(int rc, const char *why, unsigned int t, unsigned int l, char *err,
                      size_t errlen)
{
	if (why[0])
		snprintf(err, errlen, "%s", why);
	else
		snprintf(err, errlen, "%u:%u: %s", t, l,
		         rc == -EEXIST ? "already in use" : strerror(-rc));
}

int vuctl_add(const struct vuctl_env *env, const char *tl, const char *spec, char *err,
              size_t errlen)
{
	return vuctl_add_async(env, tl, spec, NULL, NULL, err, errlen);
}

/* An add under way: its address, and whom to tell. */
struct add_later {
	struct vscsi *vs;
	unsigned int t, l;
	char tl[VUCTL_NAME_MAX + 32];
	vscsi_added_fn done;
	void *arg;
};

static void add_ended(void *arg, int rc, const char *why)
{
	struct add_later *a = arg;
	char err[600];

	if (rc) {
		add_error(rc, why, a->t, a->l, err, sizeof(err));
		plog(LOG_ERR, "LUN %s: %s", a->tl, err);
	} else {
		log_added(a->vs, a->tl, a->t, a->l);
		err[0] = '\0';
	}
	a->done(a->arg, rc, err);
	free(a);
}

int vuctl_add_async(const struct vuctl_env *env, const char *tl, const char *spec,
                    vscsi_added_fn done, void *arg, char *err, size_t errlen)
{
	struct add_later *a;
	unsigned int t, l;
	struct vscsi *vs;
	const char *name;
	char why[512];
	int rc;

	rc = parse_addr(env, tl, &vs, &name, &t, &l, err, errlen);
	if (rc)
		return rc;
	if (!done) {
		rc = vscsi_lun_add(vs, t, l, spec, why, sizeof(why));
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	a->vs = vs;
	a->t = t;
	a->l = l;
	snprintf(a->tl, sizeof(a->tl), "%s", tl);
	a->done = done;
	a->arg = arg;
	rc = vscsi_lun_add_async(vs, t, l, spec, add_ended, a, why, sizeof(why));
	if (rc == VSCSI_ADD_PENDING) {
		plog(LOG_INFO, "LUN %s: %s opens on a thread of its own", tl, spec);
		return rc;
	}
	free(a);
out:
	if (rc) {
		add_error(rc, why, t, l, err, errlen);
		return rc;
	}
	log_added(vs, tl, t, l);
	return 0;
}

static void out_add(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void out_add(char *out, size_t outlen, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, outlen - n, fmt, ap);
	va_end(ap);
}

int vuctl_lun_op(const struct vuctl_env *env, const char *op, const char *addr, bool *changed,
                 char *err, size_t errlen)
{
	struct vscsi *vs;
	const char *name;
	unsigned int t, l;
	int rc = parse_addr(env, addr, &vs, &name, &t, &l, err, errlen);

	if (rc)
		return rc;
	if (!strcmp(op, "remove")) {
		rc = vscsi_lun_remove(vs, t, l);
		if (!rc)
			plog(LOG_INFO, "LUN %s removed", addr);
	} else {
		rc = vscsi_lun_refresh(vs, t, l);
		if (rc >= 0) {
			*changed = rc > 0;
			rc = 0;
		}
	}
	if (rc == -ENOENT)
		snprintf(err, errlen, "no LUN %s", addr);
	else if (rc)
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc;
}

static bool lun_info(const struct vscsi *vs, unsigned int t, unsigned int l,
                     struct vscsi_lun_info *li)
{
	for (unsigned int i = 0; vscsi_lun_get(vs, i, li); i++)
		if (li->target == t && li->lun == l)
			return true;
	return false;
}

int vuctl_cd(const struct vuctl_env *env, const char *addr, const char *path, bool force,
             struct pvs_cd_status *st, char *err, size_t errlen)
{
	const char *op = path ? "insert" : "eject";
	struct vscsi_lun_info li;
	struct vscsi *vs;
	const char *name;
	unsigned int t, l;
	char why[512];
	int rc = parse_addr(env, addr, &vs, &name, &t, &l, why, sizeof(why));

	if (rc) {
		snprintf(err, errlen, "%s %s: %s", op, addr, why);
		return rc;
	}
	if (path && !path[0]) {
		snprintf(err, errlen, "insert %s: no image named (eject empties the drive)", addr);
		return -EINVAL;
	}
	if (!lun_info(vs, t, l, &li)) {
		snprintf(err, errlen, "%s %s: no such LUN", op, addr);
		return -ENOENT;
	}
	if (!li.cdrom) {
		snprintf(err, errlen, "%s %s: %s is not a cdrom: drive", op, addr, li.spec);
		return -ENOTTY;
	}
	rc = vscsi_lun_cd(vs, t, l, path, force, why, sizeof(why));
	if (rc == -EBUSY) {
		/* The core names the drive by the image it was opened with: name the medium. */
		snprintf(
		    err, errlen,
		    "%s %s: a guest prevents medium removal (PREVENT ALLOW MEDIUM REMOVAL), so "
		    "%s was not %s; the guest was sent an eject request; force to %s anyway",
		    op, addr, li.cd.path, path ? "replaced" : "ejected",
		    path ? "replace it" : "eject");
	} else if (rc) {
		snprintf(err, errlen, "%s %s: %s", op, addr, why[0] ? why : strerror(-rc));
	} else if (path) {
		lun_info(vs, t, l, &li);
		plog(LOG_INFO, "LUN %s: medium %s inserted (%llu blocks)%s", addr, li.cd.path,
		     (unsigned long long)li.cd.blocks, force ? ", forced" : "");
	} else {
		plog(LOG_INFO, "LUN %s: %s%s", addr,
		     li.cd.medium ? "medium ejected" : "tray opened (no medium)",
		     force ? ", forced" : "");
		lun_info(vs, t, l, &li);
	}
	if (!rc && st)
		*st = li.cd;
	return rc;
}

bool vuctl_iscsi_name_like(const char *s)
{
	return !strncmp(s, "iqn.", 4) || !strncmp(s, "eui.", 4) || !strncmp(s, "naa.", 4);
}

bool vuctl_iscsi_name_ok(const char *s)
{
	return vuctl_iscsi_name_like(s) && strlen(s) <= 223 && !strpbrk(s, " \t\n,/");
}

int vuctl_ctrl_add(const struct vuctl_env *env, const char *name, const char *socket,
                   unsigned int queues, const char *iscsi_name, char *err, size_t errlen)
{
	if (!env->ctrl_add) {
		snprintf(err, errlen, "this process serves one controller");
		return -EOPNOTSUPP;
	}
	if (queues > VSCSI_MAX_REQ_QUEUES) {
		snprintf(err, errlen, "queues %u: expected 1 to %u", queues, VSCSI_MAX_REQ_QUEUES);
		return -EINVAL;
	}
	if (!vuctl_name_ok(name)) {
		snprintf(err, errlen, "controller name '%s': 1 to %d of A-Z a-z 0-9 _ . -", name,
		         VUCTL_NAME_MAX - 1);
		return -EINVAL;
	}
	if (iscsi_name && !vuctl_iscsi_name_ok(iscsi_name)) {
		snprintf(
		    err, errlen,
		    "initiator name '%s': an iSCSI name (iqn.YYYY-MM.reversed.domain:anything, "
		    "at most 223 bytes)",
		    iscsi_name);
		return -EINVAL;
	}
	return env->ctrl_add(env->arg, name, socket, queues, iscsi_name, err, errlen);
}

int vuctl_ctrl_remove(const struct vuctl_env *env, const char *name, char *err, size_t errlen)
{
	if (!env->ctrl_add) {
		snprintf(err, errlen, "this process serves one controller");
		return -EOPNOTSUPP;
	}
	return env->ctrl_remove(env->arg, name, err, errlen);
}

static int ctrl_cmd(const struct vuctl_env *env, char **argv, unsigned int argc, char *out,
                    size_t outlen, char *err, size_t errlen)
{
	if (!strcmp(argv[0], "ctrl-list")) {
		const char *name, *sock;
		struct vscsi *vs;
		bool conn;

		for (unsigned int i = 0; env->get(env->arg, i, &name, &sock, &vs, &conn); i++)
			out_add(out, outlen, "%s %s %s luns=%u initiator=0x%llx%s%s\n", name, sock,
			        conn ? "connected" : "listening", pvs_map_count(vscsi_map(vs)),
			        (unsigned long long)vscsi_initiator(vs),
			        vscsi_iscsi_name(vs)[0] ? " initiator-name=" : "",
			        vscsi_iscsi_name(vs));
		return 0;
	}
	if (!strcmp(argv[0], "ctrl-add")) {
		const char *iname = NULL;
		unsigned long q = 0;
		char *end;

		/* [QUEUES] [INITIATOR-NAME]: a number is the first, a name never one. */
		for (unsigned int i = 3; i < argc; i++) {
			if (vuctl_iscsi_name_like(argv[i]) && !iname && i == argc - 1) {
				iname = argv[i];
				continue;
			}
			q = strtoul(argv[i], &end, 10);
			if (i != 3 || *end || !isdigit((unsigned char)argv[i][0]) || q == 0 ||
			    q > VSCSI_MAX_REQ_QUEUES) {
				snprintf(err, errlen, "queues '%s': expected 1 to %u", argv[i],
				         VSCSI_MAX_REQ_QUEUES);
				return -EINVAL;
			}
		}
		return vuctl_ctrl_add(env, argv[1], argv[2], (unsigned int)q, iname, err, errlen);
	}
	return vuctl_ctrl_remove(env, argv[1], err, errlen);
}

int vuctl_exec(const struct vuctl_env *env, const char *line, char *out, size_t outlen)
{
	char buf[1024], err[768];
	char *argv[6] = {NULL}, *save = NULL, *p;
	unsigned int argc = 0;
	struct vscsi *vs;
	int rc = 0;

	out[0] = 0;
	err[0] = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	buf[strcspn(buf, "\r\n")] = 0;
	/* A SPEC has no blanks (its options are comma-separated): an extra word is an error. */
	for (p = strtok_r(buf, " \t", &save); p && argc < 6; p = strtok_r(NULL, " \t", &save))
		argv[argc++] = p;
	if (argc == 0) {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "empty command");
	} else if (!strcmp(argv[0], "add") && argc == 3) {
		rc = vuctl_add(env, argv[1], argv[2], err, sizeof(err));
	} else if ((!strcmp(argv[0], "remove") || !strcmp(argv[0], "resize")) && argc == 2) {
		bool changed = false;

		rc = vuctl_lun_op(env, argv[0], argv[1], &changed, err, sizeof(err));
		if (!rc && !strcmp(argv[0], "resize"))
			out_add(out, outlen, "%s\n", changed ? "capacity changed" : "unchanged");
	} else if (!strcmp(argv[0], "insert") || !strcmp(argv[0], "eject")) {
		bool force = argc > 1 && !strcmp(argv[1], "--force");
		unsigned int want = (argv[0][0] == 'i' ? 3 : 2) + force;

		if (argc == want) {
			rc = vuctl_cd(env, argv[1 + force],
			              argv[0][0] == 'i' ? argv[2 + force] : NULL, force, NULL, err,
			              sizeof(err));
		} else {
			rc = -EINVAL;
			snprintf(err, sizeof(err), "usage: %s",
			         argv[0][0] == 'i' ? "insert [--force] [NAME/]T:L PATH"
			                           : "eject [--force] [NAME/]T:L");
		}
	} else if ((!strcmp(argv[0], "list") || !strcmp(argv[0], "stats")) && argc <= 2) {
		vs = env->find(env->arg, argc == 2 ? argv[1] : NULL);
		if (!vs) {
			rc = -ENOENT;
			snprintf(err, sizeof(err), "no controller '%s'",
			         argc == 2 ? argv[1] : "(default)");
		} else if (argv[0][0] == 'l') {
			struct vscsi_lun_info li;

			for (unsigned int i = 0; vscsi_lun_get(vs, i, &li); i++) {
				out_add(out, outlen,
				        "%u:%u %s blocks=%llu bs=%u inflight=%u users=%u",
				        li.target, li.lun, li.spec, (unsigned long long)li.blocks,
				        li.block_size, li.inflight, li.users);
				/* A drive's spec names the image it started with, not what it
				 * holds. */
				if (li.cdrom)
					out_add(out, outlen, " medium=%s tray=%s prevented=%d",
					        li.cd.medium ? li.cd.path : "-",
					        li.cd.tray_open ? "open" : "closed",
					        li.cd.prevented);
				out_add(out, outlen, "\n");
			}
		} else {
			struct vscsi_stats st;

			vscsi_get_stats(vs, &st);
			out_add(out, outlen,
			        "requests=%llu responses=%llu bad_chains=%llu bad_target=%llu "
			        "tmfs=%llu an=%llu events=%llu events_lost=%llu calls=%llu "
			        "late_calls=%llu inflight=%u\n",
			        (unsigned long long)st.requests, (unsigned long long)st.responses,
			        (unsigned long long)st.bad_chains,
			        (unsigned long long)st.bad_target, (unsigned long long)st.tmfs,
			        (unsigned long long)st.an, (unsigned long long)st.events,
			        (unsigned long long)st.events_lost, (unsigned long long)st.calls,
			        (unsigned long long)st.late_calls, vscsi_inflight(vs));
		}
	} else if ((!strcmp(argv[0], "ctrl-list") && argc == 1) ||
	           (!strcmp(argv[0], "ctrl-add") && argc >= 3 && argc <= 5) ||
	           (!strcmp(argv[0], "ctrl-remove") && argc == 2)) {
		rc = ctrl_cmd(env, argv, argc, out, outlen, err, sizeof(err));
	} else {
		rc = -EINVAL;
		snprintf(err, sizeof(err),
		         "usage: add [NAME/]T:L SPEC | remove [NAME/]T:L | resize [NAME/]T:L | "
		         "insert [--force] [NAME/]T:L PATH | eject [--force] [NAME/]T:L | "
		         "list [NAME] | stats [NAME] | ctrl-add NAME SOCKET [QUEUES] [IQN] | "
		         "ctrl-remove NAME | ctrl-list");
	}
	if (rc)
		out_add(out, outlen, "error: %s\n", err[0] ? err : strerror(-rc));
	else
		out_add(out, outlen, "ok\n");
	return rc;
}

int vuctl_load(const struct vuctl_env *env, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024], why[768];
	unsigned int n = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *w[6] = {NULL};
		unsigned int nw = 0;

		n++;
		line[strcspn(line, "#\r\n")] = 0;
		for (p = strtok(line, " \t"); p && nw < 6; p = strtok(NULL, " \t"))
			w[nw++] = p;
		if (nw == 0)
			continue;
		if (!strcmp(w[0], "lun") && nw == 3) {
			rc = vuctl_add(env, w[1], w[2], why, sizeof(why));
		} else if (!strcmp(w[0], "controller") && nw >= 3 && nw <= 5 && !p) {
			char cmd[1024], out[512];

			snprintf(cmd, sizeof(cmd), "ctrl-add %s %s %s %s", w[1], w[2],
			         nw >= 4 ? w[3] : "", nw == 5 ? w[4] : "");
			rc = vuctl_exec(env, cmd, out, sizeof(out));
			snprintf(why, sizeof(why), "%s", out);
			why[strcspn(why, "\n")] = '\0';
		} else {
			snprintf(err, errlen,
			         "%s:%u: expected 'lun [NAME/]T:L SPEC' or 'controller NAME SOCKET "
			         "[QUEUES] [IQN]'",
			         path, n);
			rc = -EINVAL;
			break;
		}
		if (rc) {
			snprintf(err, errlen, "%s:%u: %s", path, n, why);
			break;
		}
	}
	fclose(f);
	return rc;
}
