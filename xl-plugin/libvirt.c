/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt.c - xl scsi-libvirt-hook DOMAIN OP SUB-OP [EXTRA]: libvirt's libxl
 * hook (installed as /etc/libvirt/hooks/libxl.d/50-pvscsi), which gives
 * libvirt-managed Xen domains their PVSCSI devices.
 *
 * libvirt 9.0's libxl driver accepts <hostdev type='scsi'> and passes it
 * to nobody, and keeps a namespaced <metadata> element verbatim
 * (docs/plans/libvirt.md); the hook reads both from the domain XML on
 * standard input and does what xl create does for vscsi=: resolve before
 * the domain exists (prepare), attach once it has a domid (started), and
 * clean up after it (stopped, release).
 *
 * What libvirt does with the hook's output decides the rules here:
 *   - stdout is read only for migrate, as a replacement domain XML: the
 *     hook never writes to it;
 *   - stderr reaches the user only when the hook fails, inside libvirt's
 *     one-line error: everything the attach path said is joined into one
 *     line; on success it goes to syslog (and xl's log of the domain);
 *   - a failed prepare or started aborts the start (libvirt destroys the
 *     domain after a failed started), the status of the others is ignored
 *     or (reconnect) makes libvirt forget a running domain: those never
 *     fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "xlp.h"

static void hook_usage(FILE *f)
{
	fprintf(f, "Usage: xl scsi-libvirt-hook <Domain> <OP> [<SUB-OP> [<EXTRA>]] <DOMAIN-XML\n"
	           "  libvirt's libxl hook: the domain's XML on standard input, its\n"
	           "  <hostdev mode='subsystem' type='scsi'> and the devices of its\n"
	           "  <metadata> element in " XLP_LIBVIRT_NS "\n"
	           "  OP: prepare (resolve), started (attach), stopped, release (clean up),\n"
	           "      migrate (resolve), reconnect; others do nothing.\n"
	           "  Installed as /etc/libvirt/hooks/libxl.d/50-pvscsi (xl-scsi(1)).\n");
}

/* ------------------------------------------------------------ the record */

/*
 * release comes without a domid (libvirt has forgotten it by then), and so
 * does stopped after a failed start: started leaves it in
 * RUN_DIR/pvscsi-libvirt.UUID for them.
 */
static void record_path(const struct xlp_ctx *c, const char *uuid, char *buf, size_t len)
{
	xlp_snprintf(buf, len, "%s/pvscsi-libvirt.%s", c->run_dir, uuid);
}

/* A UUID as libvirt writes it; anything else never becomes part of a path. */
static bool uuid_ok(const char *u)
{
	return strlen(u) == 36 && strspn(u, "0123456789abcdefABCDEF-") == 36;
}

static void record_write(struct xlp_ctx *c, const char *uuid, uint32_t domid)
{
	char p[XLP_PATH_MAX], tmp[XLP_PATH_MAX + 8];
	FILE *f;

	if (!uuid_ok(uuid))
		return;
	record_path(c, uuid, p, sizeof(p));
	xlp_snprintf(tmp, sizeof(tmp), "%s.new", p);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%u\n", domid);
	if (fclose(f) || rename(tmp, p))
		unlink(tmp);
}

static uint32_t record_read(struct xlp_ctx *c, const char *uuid)
{
	char p[XLP_PATH_MAX];
	unsigned int id;
	FILE *f;
	int n;

	if (!uuid_ok(uuid))
		return XLP_NO_DOMID;
	record_path(c, uuid, p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return XLP_NO_DOMID;
	n = fscanf(f, "%u", &id);
	fclose(f);
	return n == 1 ? id : XLP_NO_DOMID;
}

static void record_remove(struct xlp_ctx *c, const char *uuid)
{
	char p[XLP_PATH_MAX];

	if (!uuid_ok(uuid))
		return;
	record_path(c, uuid, p, sizeof(p));
	unlink(p);
}

/* -------------------------------------------------------------- cleanup */

static void rm_if(struct xlp_ctx *c, const char *path)
{
	unsigned int n = 0;
	char **d = c->xs.ops->directory(c->xs.ctx, PVX_XS_NOTX, path, &n);

	if (!d)
		return;
	free(d);
	c->xs.ops->rm(c->xs.ctx, PVX_XS_NOTX, path);
}

/*
 * What Xen's xl destroy would have removed of @domid's PVSCSI controllers:
 * the backend directories, and the toolstack's records.  Never while a
 * domain of this guest still has that id: a failed reconnect runs the
 * cleanup hooks with the guest still running.
 */
static void cleanup(struct xlp_ctx *c, FILE *log, uint32_t domid, const char *uuid)
{
	char p[XLP_PATH_MAX], u[64];

	if (xlp_domain_exists(c, domid)) {
		if (xlp_domain_uuid(c, domid, u, sizeof(u)) || !strcasecmp(u, uuid)) {
			fprintf(log, "domain %u still exists: its SCSI devices left alone\n",
			        domid);
			return;
		}
		/* The id belongs to another guest now: nothing of ours is under it. */
		return;
	}
	xlp_snprintf(p, sizeof(p), XSN_BACKEND_ROOT "/%u", c->be_domid, domid);
	rm_if(c, p);
	xlp_snprintf(p, sizeof(p), "/libxl/%u/device/vscsi", domid);
	rm_if(c, p);
	xlp_snprintf(p, sizeof(p), "/local/domain/%u/device/vscsi", domid);
	rm_if(c, p);
}

/* ---------------------------------------------------------------- the verb */

/* Every line of @text, joined by "; ", after @head, as one line on @f. */
static void one_line(FILE *f, const char *head, const char *text)
{
	bool first = true;

	fputs(head, f);
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n) {
			fprintf(f, "%s%.*s", first ? "" : "; ", (int)n, text);
			first = false;
		}
		text += n + (text[n] == '\n');
	}
	fputc('\n', f);
}

/* A hook that knows better than to fail: its problems are only logged. */
static bool never_fails(const char *op)
{
	return !strcmp(op, "stopped") || !strcmp(op, "release") || !strcmp(op, "reconnect");
}

static int run_op(struct xlp_ctx *c, const char *op, struct xlp_xml_domain *dom, FILE *log)
{
	static const struct xlp_attach_opts opts = {
	    /*
	     * libvirt keeps the configuration (its XML travels with save and
	     * migration): libxl's saved one is not written.
	     */
	    .no_saved = true,
	    /* libvirt has unpaused a plain start already: the guest is booting. */
	    .backend_only = true,
	};
	uint32_t domid;
	int rc;

	if (!strcmp(op, "stopped") || !strcmp(op, "release")) {
		domid = dom->domid != XLP_NO_DOMID ? dom->domid : record_read(c, dom->uuid);
		if (domid != XLP_NO_DOMID && !xlp_ctx_connect(c))
			cleanup(c, log, domid, dom->uuid);
		if (!strcmp(op, "release"))
			record_remove(c, dom->uuid);
		return 0;
	}
	if (!dom->items.n)
		return 0;
	if (!strcmp(op, "reconnect")) {
		if (dom->domid != XLP_NO_DOMID)
			record_write(c, dom->uuid, dom->domid);
		return 0;
	}
	if (!strcmp(op, "prepare") || !strcmp(op, "migrate")) {
		if (c->backend_running(c) != 1) {
			xlp_errf(c, "pvscsid is not running in domain %u: start it first\n",
			         c->be_domid);
			return -ENOTCONN;
		}
		if ((rc = xlp_ctx_connect(c)))
			return rc;
		return xlp_xml_attach_items(c, XLP_NO_DOMID, &dom->items, &opts);
	}
	/* started */
	if (dom->domid == XLP_NO_DOMID) {
		xlp_errf(c, "the domain XML has no id='N': not a running domain\n");
		return -EINVAL;
	}
	if ((rc = xlp_ctx_connect(c)))
		return rc;
	/*
	 * Before the attach: after a failure libvirt destroys the domain and
	 * runs stopped and release without its id, and what the rollback
	 * leaves (the domain's empty directories) is still to be removed.
	 */
	record_write(c, dom->uuid, dom->domid);
	return xlp_xml_attach_items(c, dom->domid, &dom->items, &opts);
}

int xlp_cmd_libvirt_hook(struct xlp_ctx *c, int argc, char **argv)
{
	FILE *real_out = c->out, *real_err = c->err, *log;
	struct xlp_xml_domain dom;
	char *text = NULL, *said = NULL, *sink = NULL, err[XLP_ERR_MAX], head[400];
	size_t len = 0, saidlen = 0, sinklen = 0;
	const char *name, *op, *sub;
	bool ours;
	int rc;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		hook_usage(c->out);
		return 0;
	}
	if (argc < 3 || argc > 5) {
		hook_usage(c->err);
		return 2;
	}
	name = argv[1];
	op = argv[2];
	sub = argc > 3 ? argv[3] : "-";
	ours = (!strcmp(op, "prepare") && !strcmp(sub, "begin")) ||
	       (!strcmp(op, "started") && !strcmp(sub, "begin")) ||
	       (!strcmp(op, "migrate") && !strcmp(sub, "begin")) ||
	       (!strcmp(op, "reconnect") && !strcmp(sub, "begin")) ||
	       (!strcmp(op, "stopped") && !strcmp(sub, "end")) ||
	       (!strcmp(op, "release") && !strcmp(sub, "end"));
	/* Read all of it whatever the op: libvirt writes it and must not meet a closed pipe. */
	text = xlp_read_stream(c->in, XLP_XML_MAX_INPUT, &len);
	if (!ours) {
		free(text);
		return 0;
	}
	xlp_snprintf(head, sizeof(head), "pvscsi: %s: %s: ", name, op);
	if (!text) {
		fprintf(c->err, "%sstandard input: %s\n", head, strerror(errno));
		return never_fails(op) ? 0 : 1;
	}
	/* libvirt 9.0 gives migrate an empty input (docs/plans/libvirt.md 1.4): nothing to check.
	 */
	if (!strcmp(op, "migrate") && text[strspn(text, " \t\r\n")] == '\0') {
		free(text);
		return 0;
	}
	rc = xlp_xml_domain(text, len, "domain XML", &dom, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(c->err, "%s%s\n", head, err);
		return never_fails(op) ? 0 : 1;
	}

	/*
	 * What the attach path says goes into @said: libvirt shows it only on
	 * failure, as one line; stdout must stay empty (migrate).
	 */
	c->err = open_memstream(&said, &saidlen);
	c->out = open_memstream(&sink, &sinklen);
	c->prefix = NULL;
	if (!c->err || !c->out) {
		if (c->err)
			fclose(c->err);
		if (c->out)
			fclose(c->out);
		c->err = real_err;
		c->out = real_out;
		xlp_xml_items_free(&dom.items);
		fprintf(real_err, "%sout of memory\n", head);
		return never_fails(op) ? 0 : 1;
	}
	/* xl's log of the domain is named after it; libvirt allows no '/' in a name, but check. */
	if (!dom.name[0] || strchr(dom.name, '/') || dom.name[0] == '.')
		xlp_snprintf(dom.name, sizeof(dom.name), "libvirt");
	log = xlp_log_open(c, dom.name, LOG_WARNING, false);
	rc = run_op(c, op, &dom, log ? log : c->err);
	if (log)
		fclose(log);
	fclose(c->err);
	fclose(c->out);
	c->err = real_err;
	c->out = real_out;
	if (rc && !never_fails(op)) {
		one_line(real_err, head, said && *said ? said : strerror(-rc));
	} else if (said && *said) {
		log = xlp_log_open(c, dom.name, LOG_WARNING, false);
		if (log) {
			one_line(log, head, said);
			fclose(log);
		}
	}
	free(said);
	free(sink);
	xlp_xml_items_free(&dom.items);
	return rc && !never_fails(op) ? 1 : 0;
}
