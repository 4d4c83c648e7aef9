/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * create.c - xl create with vscsi= in the domain's configuration.
 *
 * Xen's xl ignores vscsi=, so the front reads the configuration with xl's
 * own parser, checks every entry (parse, resolve on this host, conflicts
 * with running domains and between entries) before anything exists, then
 * has Xen's xl create the domain paused, attaches every entry, records them
 * in the domain's saved configuration, and unpauses (unless -p was given).
 * Any failure after creation destroys the domain: no half-made domain.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlp.h"

static void prefix_line(struct xlp_ctx *c, const char *what, const struct xlp_cfg_item *it,
                        size_t idx, char *buf, size_t len)
{
	if (it->line)
		xlp_snprintf(buf, len, "%s:%d: vscsi entry '%s'", what, it->line, it->text);
	else
		xlp_snprintf(buf, len, "%s: vscsi entry %zu '%s'", what, idx + 1, it->text);
	(void)c;
}

/* Run a check whose messages should carry the entry's location. */
static int located(struct xlp_ctx *c, const char *where, int (*fn)(struct xlp_ctx *, void *),
                   void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *saved = c->err, *m = open_memstream(&buf, &len);
	int rc;

	if (!m)
		return fn(c, arg);
	c->err = m;
	rc = fn(c, arg);
	fclose(m);
	c->err = saved;
	if (buf && *buf) {
		if (rc)
			xlp_errf(c, "%s: %s", where, buf);
		else
			xlp_errf(c, "%s", buf); /* warnings */
	}
	free(buf);
	return rc;
}

struct chk {
	const struct xlp_dev *d;
};

static int chk_holders(struct xlp_ctx *c, void *arg)
{
	struct chk *k = arg;

	return xlp_attach_check(c, UINT32_MAX, k->d, NULL);
}

static bool same_lun(const struct xlp_dev *a, const struct xlp_dev *b)
{
	if (a->e.kind != b->e.kind)
		return false;
	if (a->e.kind == XLP_HOST)
		return xlp_hctl_eq(&a->hctl, &b->hctl);
	if (a->e.kind == XLP_FILE)
		return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
	return false;
}

/* Entries against each other: the domain does not exist yet, so xenstore cannot say. */
static int cross_check(struct xlp_ctx *c, const char *what, const struct xlp_cfg *cfg,
                       const struct xlp_dev *d)
{
	for (size_t i = 0; i < cfg->n; i++) {
		/* Groups are checked against the others when attached, in order. */
		for (size_t k = 0; k < i && !cfg->items[i].group; k++) {
			char where[XLP_SPEC_MAX + 300], vd[48];

			if (cfg->items[k].group)
				continue;
			prefix_line(c, what, &cfg->items[i], i, where, sizeof(where));
			xlp_hctl_str(&d[i].e.vdev, vd);
			if (xlp_hctl_eq(&d[i].e.vdev, &d[k].e.vdev)) {
				xlp_errf(c, "%s: VDEV %s is already used by entry '%s'\n", where,
				         vd, cfg->items[k].text);
				return -EEXIST;
			}
			if (same_lun(&d[i], &d[k])) {
				xlp_errf(c, "%s: the same LUN as entry '%s'\n", where,
				         cfg->items[k].text);
				return -EBUSY;
			}
			if (d[i].e.vdev.host == d[k].e.vdev.host &&
			    d[i].e.feature_host != d[k].e.feature_host) {
				xlp_errf(
				    c,
				    "%s: feature-host must agree for all devices of controller "
				    "%u (entry '%s' differs)\n",
				    where, d[i].e.vdev.host, cfg->items[k].text);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static void create_usage_note(struct xlp_ctx *c)
{
	xlp_errf(c, "create: vscsi= needs xl create to return once the domain exists; -F and -e "
	            "keep it in the foreground, so they cannot be combined with vscsi=\n");
}

int xlp_cmd_create(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal)
{
	static const struct option lo[] = {{"defconfig", 1, 0, 'f'},
	                                   {"dryrun", 0, 0, 'n'},
	                                   {"ignore-global-affinity-masks", 0, 0, 'i'},
	                                   {"quiet", 0, 0, 'q'},
	                                   {"vncviewer", 0, 0, 'V'},
	                                   {"vncviewer-autopass", 0, 0, 'A'},
	                                   {"help", 0, 0, 'h'},
	                                   {0}};
	const char *file = NULL;
	char *extra = NULL, **xargv = NULL;
	size_t extra_len = 0;
	bool paused = false, console = false, fg = false, dry = c->dry_run;
	struct xlp_cfg cfg = {0};
	struct xlp_dev *d = NULL;
	struct xlp_saved_list sl = {0};
	char err[XLP_ERR_MAX];
	const char *what;
	uint32_t domid;
	int opt, rc = 1, k = 0, nflags = 0;
	char *flags[8];

	c->prefix = NULL; /* messages say create: or name the file and line themselves */
	/* As xl: a first argument that is neither an option nor key=value is the file. */
	if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=')) {
		file = argv[1];
		argv++;
		argc--;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "AFVcdef:inpqh", lo, NULL)) != -1) {
		switch (opt) {
		case 'A':
			flags[nflags++] = "-A";
			break;
		case 'V':
			flags[nflags++] = "-V";
			break;
		case 'd':
			flags[nflags++] = "-d";
			break;
		case 'i':
			flags[nflags++] = "-i";
			break;
		case 'q':
			flags[nflags++] = "-q";
			break;
		case 'F':
		case 'e':
			fg = true;
			break;
		case 'c':
			console = true;
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			dry = true;
			break;
		case 'p':
			paused = true;
			break;
		default:
			return -1; /* xl's own usage and errors */
		}
		if (nflags == 8)
			return -1;
	}
	for (int i = optind; i < argc; i++) {
		if (strchr(argv[i], '=')) {
			size_t l = strlen(argv[i]);
			char *ne = realloc(extra, extra_len + l + 2);

			if (!ne) {
				free(extra);
				return 1;
			}
			extra = ne;
			memcpy(extra + extra_len, argv[i], l);
			extra_len += l;
			extra[extra_len++] = '\n';
			extra[extra_len] = '\0';
		} else if (!file) {
			file = argv[i];
		} else {
			free(extra);
			return -1;
		}
	}
	what = file ? file : "command line";
	rc = xlp_cfg_read(file, extra, &cfg, err, sizeof(err));
	if (rc == -EIO || (!rc && !cfg.has_vscsi)) {
		/* Unreadable, or nothing of ours: Xen's xl does everything, as usual. */
		xlp_cfg_free(&cfg);
		free(extra);
		return -1;
	}
	if (rc) {
		xlp_errf(c, "%s\n", err);
		free(extra);
		return 1;
	}
	rc = 1;
	if (cfg.n && fg) {
		create_usage_note(c);
		goto out;
	}
	d = calloc(cfg.n ? cfg.n : 1, sizeof(*d));
	if (!d)
		goto out;
	for (size_t i = 0; i < cfg.n; i++) {
		char where[XLP_SPEC_MAX + 300];

		prefix_line(c, what, &cfg.items[i], i, where, sizeof(where));
		if (cfg.items[i].group)
			continue; /* expanded when attached */
		if (xlp_dev_resolve(c, &cfg.items[i].e, &d[i], err, sizeof(err))) {
			xlp_errf(c, "%s: %s\n", where, err);
			goto out;
		}
	}
	if (cross_check(c, what, &cfg, d))
		goto out;
	if (dry) {
		for (size_t i = 0; i < cfg.n; i++)
			if (cfg.items[i].group)
				xlp_outf(c,
				         "# vscsi '%s': a group, controller %u, expanded when "
				         "attached\n",
				         cfg.items[i].text, cfg.items[i].group->vdev.host);
			else
				xlp_outf(c, "# vscsi '%s': controller %u, p-dev %s, p-devname %s\n",
				         cfg.items[i].text, d[i].e.vdev.host, d[i].p_dev,
				         d[i].p_devname);
		rc = -1; /* and xl prints its own dry run */
		goto out;
	}
	if (cfg.n == 0) {
		rc = -1;
		goto out;
	}
	if (!cfg.name) {
		xlp_errf(c, "%s: the configuration has no name=\n", what);
		goto out;
	}
	if (xlp_ctx_connect(c))
		goto out;
	if (c->backend_running(c) != 1) {
		xlp_errf(c,
		         "create: pvscsid is not running in domain %u: start it first; no domain "
		         "was created\n",
		         c->be_domid);
		goto out;
	}
	if (xlp_lock(c))
		goto out;
	for (size_t i = 0; i < cfg.n; i++) {
		char where[XLP_SPEC_MAX + 300];
		struct chk ck = {&d[i]};

		if (cfg.items[i].group)
			continue;
		prefix_line(c, what, &cfg.items[i], i, where, sizeof(where));
		if (located(c, where, chk_holders, &ck))
			goto unlock;
	}

	xargv = calloc((size_t)(argc + nglobal + 12), sizeof(*xargv));
	if (!xargv)
		goto unlock;
	xargv[k++] = (char *)c->argv0;
	for (int i = 0; i < nglobal; i++)
		xargv[k++] = global[i];
	xargv[k++] = "create";
	if (file)
		xargv[k++] = (char *)file;
	for (int i = 0; i < nflags; i++)
		xargv[k++] = flags[i];
	xargv[k++] = "-p";
	for (int i = optind; i < argc; i++)
		if (strchr(argv[i], '='))
			xargv[k++] = argv[i];
	xargv[k] = NULL;
	rc = c->run_xl(c, xargv);
	if (rc) {
		rc = rc < 0 ? 1 : rc;
		goto unlock;
	}
	rc = 1;
	if (xlp_domain_find(c, cfg.name, &domid)) {
		xlp_errf(c, "create: cannot find the new domain '%s'\n", cfg.name);
		goto unlock;
	}
	sl.v = calloc(cfg.n, sizeof(*sl.v));
	if (!sl.v)
		goto destroy;
	for (size_t i = 0; i < cfg.n; i++) {
		struct xlp_attach_opts o = {.no_wait = true, .no_saved = true};
		char where[XLP_SPEC_MAX + 300];
		uint32_t vhost;
		unsigned int n;

		prefix_line(c, what, &cfg.items[i], i, where, sizeof(where));
		if (cfg.items[i].group) {
			/* Its LUNs come back from the group itself (saved as such), not one by one.
			 */
			if (xlp_group_attach(c, domid, cfg.items[i].group)) {
				xlp_errf(c, "%s: not attached\n", where);
				goto destroy;
			}
			continue;
		}
		if (xlp_attach_dev(c, domid, &d[i], &o, &vhost, &n)) {
			xlp_errf(c, "%s: not attached\n", where);
			goto destroy;
		}
		xlp_saved_of_dev(&d[i], vhost, n, &sl.v[sl.n++]);
	}
	{
		int r = xlp_userdata_set_all(c, domid, &sl);

		if (r == -ENOENT)
			xlp_errf(c,
			         "warning: domain '%s' has no libxl configuration: its SCSI "
			         "devices will not survive save, restore or migration\n",
			         cfg.name);
		else if (r)
			goto destroy;
	}
	xlp_unlock(c);
	/* Before it runs: a reboot could come at once. */
	xlp_monitor_ensure(c, domid);
	if (!paused) {
		char id[16];
		char *uargv[] = {(char *)c->argv0, "unpause", id, NULL};

		xlp_snprintf(id, sizeof(id), "%u", domid);
		if (c->run_xl(c, uargv)) {
			xlp_errf(c, "create: domain '%s' is ready but could not be unpaused\n",
			         cfg.name);
			goto out;
		}
	}
	rc = 0;
	if (console) {
		char id[16];
		char *cargv[] = {(char *)c->argv0, "console", id, NULL};

		xlp_snprintf(id, sizeof(id), "%u", domid);
		xlp_exec_real(c->xl_real, cargv);
		rc = 1;
	}
	goto out;

destroy:
	xlp_remove_all(c, domid);
	{
		char id[16];
		char *dargv[] = {(char *)c->argv0, "destroy", id, NULL};

		xlp_snprintf(id, sizeof(id), "%u", domid);
		c->run_xl(c, dargv);
	}
	xlp_errf(c, "create: domain '%s' was destroyed again\n", cfg.name);
	rc = 1;
unlock:
	xlp_unlock(c);
out:
	xlp_saved_free(&sl);
	xlp_cfg_free(&cfg);
	free(d);
	free(extra);
	free(xargv);
	return rc;
}
