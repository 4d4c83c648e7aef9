/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xsops.c - xenstore for the xl front: the context (the real store through
 * xen/xs.c's libxenstore ops, so that the unit tests run every command
 * on tests/fakes/fake_xs), and write plans.
 *
 * A plan is the list of changes a command will make.  Building it first and
 * applying it in one transaction gives the backend all-or-nothing views, and
 * gives -N (dry run) an exact listing of what would be written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "xlp.h"

/* -------------------------------------------------------------- context */

int xlp_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

int xlp_verb_opts(struct xlp_ctx *c, int argc, char **argv, int operands, unsigned int extra,
                  void (*usage)(FILE *))
{
	static const struct option lo[] = {
	    {"dryrun", 0, 0, 'N'},     {"help", 0, 0, 'h'},  {"vscsi-missing-ok", 0, 0, 'm'},
	    {"missing-ok", 0, 0, 'm'}, {"force", 0, 0, 'f'}, {0}};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, extra & XLP_OPT_FORCE ? "+Nhf" : "+Nh", lo, NULL)) !=
	       -1) {
		switch (opt) {
		case 'N':
			c->dry_run = true;
			break;
		case 'm':
			if (!(extra & XLP_OPT_MISSING_OK))
				goto bad;
			c->missing_ok = true;
			break;
		case 'f':
			if (!(extra & XLP_OPT_FORCE))
				goto bad;
			c->force = true;
			break;
		case 'h':
			usage(c->out);
			return 0;
		default:
			goto bad;
		}
	}
	if (argc - optind != operands)
		goto bad;
	return -1;
bad:
	usage(c->err);
	return 2;
}

void xlp_errf(struct xlp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->prefix)
		fputs(c->prefix, c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
}

void xlp_outf(struct xlp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
}

void xlp_ctx_init(struct xlp_ctx *c)
{
	const char *t = getenv("XL_VSCSI_TIMEOUT");

	memset(c, 0, sizeof(*c));
	c->be_domid = 0;
	c->xen_lib_dir = "/var/lib/xen";
	c->xen_log_dir = "/var/log/xen";
	c->lock_path = getenv("XL_PVSCSI_LOCK") ? getenv("XL_PVSCSI_LOCK") : "/run/pvscsi.lock";
	c->run_dir = getenv("XL_PVSCSI_RUNDIR") ? getenv("XL_PVSCSI_RUNDIR") : "/run";
	c->xl_real = xlp_xl_real_path();
	c->argv0 = "xl";
	c->in = stdin;
	c->out = stdout;
	c->err = stderr;
	c->timeout_ms = 60000;
	if (t && *t) {
		char *end;
		unsigned long s = strtoul(t, &end, 10);

		if (!*end && s > 0 && s < 86400)
			c->timeout_ms = (unsigned int)s * 1000;
	}
	c->poll_ms = 100;
	c->grace_ms = 60000;
	t = getenv("XL_VSCSI_REBOOT_WAIT");
	if (t && *t) {
		char *end;
		unsigned long s = strtoul(t, &end, 10);

		if (!*end && s > 0 && s < 86400)
			c->grace_ms = (unsigned int)s * 1000;
	}
	c->lock_fd = -1;
	c->backend_running = xlp_backend_running_proc;
	c->domain_paused = xlp_domain_paused_libxl;
	c->sleep_ms = xlp_sleep_real;
	c->run_xl = xlp_run_xl_real;
	c->spawn_monitor = xlp_spawn_monitor_real;
	c->pause_domain = xlp_pause_domain_libxl;
	if (getenv("XL_VSCSI_MISSING") && !strcmp(getenv("XL_VSCSI_MISSING"), "skip"))
		c->missing_ok = true;
}

int xlp_ctx_connect(struct xlp_ctx *c)
{
	int rc;

	if (c->xs_open)
		return 0;
	/* pvscsid's own libxenstore ops (xen/xs.c): one wrapper for both. */
	rc = pvx_xs_open_real(&c->xs);
	if (rc) {
		xlp_errf(c,
		         "cannot connect to xenstore: %s (is this dom0 with xenstored running?)\n",
		         strerror(-rc));
		return rc;
	}
	c->xs_open = true;
	return 0;
}

void xlp_ctx_fini(struct xlp_ctx *c)
{
	while (c->lock_fd >= 0)
		xlp_unlock(c);
	if (c->xs_open && c->xs.ops && c->xs.ops->close)
		c->xs.ops->close(c->xs.ctx);
	c->xs_open = false;
	xlp_libxl_free(c);
}

/* ---------------------------------------------------------------- plans */

void xlp_plan_init(struct xlp_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void xlp_plan_free(struct xlp_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->ops[i].path);
		free(p->ops[i].val);
	}
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

static struct xlp_op *plan_add(struct xlp_plan *p, enum xlp_op_kind k, const char *path)
{
	struct xlp_op *o;

	if (p->oom)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct xlp_op *n = realloc(p->ops, cap * sizeof(*n));

		if (!n) {
			p->oom = 1;
			return NULL;
		}
		p->ops = n;
		p->cap = cap;
	}
	o = &p->ops[p->n];
	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->path = strdup(path);
	if (!o->path) {
		p->oom = 1;
		return NULL;
	}
	p->n++;
	return o;
}

void xlp_plan_write(struct xlp_plan *p, const char *path, const char *fmt, ...)
{
	struct xlp_op *o = plan_add(p, XLP_OP_WRITE, path);
	va_list ap;
	int r;

	if (!o)
		return;
	va_start(ap, fmt);
	r = vasprintf(&o->val, fmt, ap);
	va_end(ap);
	if (r < 0) {
		o->val = NULL;
		p->oom = 1;
	}
}

void xlp_plan_mkdir(struct xlp_plan *p, const char *path)
{
	plan_add(p, XLP_OP_MKDIR, path);
}

void xlp_plan_rm(struct xlp_plan *p, const char *path)
{
	plan_add(p, XLP_OP_RM, path);
}

void xlp_plan_perms(struct xlp_plan *p, const char *path, uint32_t owner, uint32_t dflt,
                    uint32_t other, uint32_t operm, unsigned int nperms)
{
	struct xlp_op *o = plan_add(p, XLP_OP_PERMS, path);

	if (!o)
		return;
	o->perms[0].id = owner;
	o->perms[0].perms = dflt;
	o->perms[1].id = other;
	o->perms[1].perms = operm;
	o->nperms = nperms;
}

static char perm_letter(uint32_t p)
{
	switch (p & (PVX_XS_PERM_READ | PVX_XS_PERM_WRITE)) {
	case PVX_XS_PERM_READ:
		return 'r';
	case PVX_XS_PERM_WRITE:
		return 'w';
	case PVX_XS_PERM_READ | PVX_XS_PERM_WRITE:
		return 'b';
	default:
		return 'n';
	}
}

void xlp_plan_print(const struct xlp_plan *p, FILE *f)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct xlp_op *o = &p->ops[i];

		switch (o->kind) {
		case XLP_OP_WRITE:
			fprintf(f, "write %s = ", o->path);
			xlp_json_put_str(f, o->val);
			fputc('\n', f);
			break;
		case XLP_OP_MKDIR:
			fprintf(f, "mkdir %s\n", o->path);
			break;
		case XLP_OP_RM:
			fprintf(f, "rm %s\n", o->path);
			break;
		case XLP_OP_PERMS:
			fprintf(f, "chmod %s", o->path);
			for (unsigned int k = 0; k < o->nperms; k++)
				fprintf(f, " %c%u", perm_letter(o->perms[k].perms), o->perms[k].id);
			fputc('\n', f);
			break;
		}
	}
}

static int apply_once(struct xlp_ctx *c, const struct xlp_plan *p, pvx_xs_tx tx, size_t *bad)
{
	const struct pvx_xs_ops *ops = c->xs.ops;

	for (size_t i = 0; i < p->n; i++) {
		const struct xlp_op *o = &p->ops[i];
		int rc = 0;

		switch (o->kind) {
		case XLP_OP_WRITE:
			rc = ops->write(c->xs.ctx, tx, o->path, o->val,
			                (unsigned int)strlen(o->val));
			break;
		case XLP_OP_MKDIR:
			rc = ops->mkdir(c->xs.ctx, tx, o->path);
			break;
		case XLP_OP_RM:
			rc = ops->rm(c->xs.ctx, tx, o->path);
			break;
		case XLP_OP_PERMS:
			rc = ops->set_perms(c->xs.ctx, tx, o->path, o->perms, o->nperms);
			break;
		}
		if (rc) {
			*bad = i;
			return rc;
		}
	}
	return 0;
}

int xlp_plan_apply(struct xlp_ctx *c, const struct xlp_plan *p)
{
	const struct pvx_xs_ops *ops = c->xs.ops;

	if (p->oom) {
		xlp_errf(c, "out of memory building the xenstore changes\n");
		return -ENOMEM;
	}
	for (int attempt = 0; attempt < 20; attempt++) {
		pvx_xs_tx tx;
		size_t bad = 0;
		int rc = ops->tx_start(c->xs.ctx, &tx);

		if (rc) {
			xlp_errf(c, "xenstore: cannot start a transaction: %s\n", strerror(-rc));
			return rc;
		}
		rc = apply_once(c, p, tx, &bad);
		if (rc) {
			ops->tx_end(c->xs.ctx, tx, true);
			xlp_errf(c, "xenstore: %s %s failed: %s; nothing was changed\n",
			         p->ops[bad].kind == XLP_OP_RM ? "rm" : "write", p->ops[bad].path,
			         strerror(-rc));
			return rc;
		}
		rc = ops->tx_end(c->xs.ctx, tx, false);
		if (rc == 0)
			return 0;
		if (rc != -EAGAIN) {
			xlp_errf(c, "xenstore: transaction failed: %s\n", strerror(-rc));
			return rc;
		}
	}
	xlp_errf(c, "xenstore: transaction kept conflicting with other changes; nothing was "
	            "changed\n");
	return -EAGAIN;
}
