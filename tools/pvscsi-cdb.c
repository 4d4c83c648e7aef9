/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvscsi-cdb - send SCSI commands to a LUN spec through the LUN core, the
 * same path the daemon uses, and print each outcome as one JSON line.
 *
 *   pvscsi-cdb --lun file:disk.img --in 36 12 00 00 00 24 00
 *   pvscsi-cdb --lun mem:1M --out-hex 0102... 2a 00 00 00 00 00 00 00 01 00 \
 *              --then --in 512 28 00 00 00 00 00 00 00 01 00
 *
 * Exit status: 0 when every command ran (whatever its SCSI status), 1 when
 * the LUN could not be opened or a command did not complete, 2 for bad
 * arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "pvscsi/pvscsi.h"
#include "sense_text.h"

#define MAX_CMDS     256
#define MAX_DATA     (16u << 20)
#define UA_CLEAR_MAX 8 /* several unit attentions can be queued per initiator */

struct cmd {
	uint8_t cdb[PVS_CDB_MAX];
	unsigned int cdb_len;
	enum pvs_dir dir;
	uint8_t *buf;
	size_t len;
	uint64_t initiator;
};

struct opts {
	const char *lun;
	bool raw, ro, keep_ua;
	int timeout_s;
	struct cmd cmds[MAX_CMDS];
	unsigned int ncmds;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: pvscsi-cdb --lun SPEC [OPTIONS] COMMAND [--then COMMAND]...\n"
	        "       pvscsi-cdb --lun SPEC [OPTIONS] --sequence FILE\n"
	        "       pvscsi-cdb --filter disk|tape|cd|changer|TYPE\n"
	        "       pvscsi-cdb --help | --version\n"
	        "COMMAND: [--in LEN | --out FILE | --out-hex HEX] [--initiator N] CDB...\n"
	        "  CDB            hex bytes, one per argument (12 00 00 00 24 00) or joined\n"
	        "  --in LEN       data-in buffer of LEN bytes (printed as \"data\")\n"
	        "  --out FILE     data-out from FILE\n"
	        "  --out-hex HEX  data-out given as hex\n"
	        "  --initiator N  I_T nexus id (default 0)\n"
	        "  --then         start the next command\n"
	        "OPTIONS:\n"
	        "  --lun SPEC     file:PATH[,ro][,bs=512|4096][,cache=none][,writes=inline]\n"
	        "                 | mem:SIZE[,bs=...] | sg:/dev/sgN[,raw]\n"
	        "                 | rbd:POOL/IMAGE[@SNAP][,conf=FILE][,id=USER]\n"
	        "                 | iscsi://[USER@]HOST[:PORT]/IQN/LUN[,raw][,chap=FILE] (logs in\n"
	        "                 as " PVS_ISCSI_IQN_PREFIX ":host.<this host's name>)\n"
	        "  --raw          passthrough without the CDB filter\n"
	        "  --ro           read-only LUN\n"
	        "  --keep-ua      do not clear the power-on UNIT ATTENTION with TEST UNIT READY\n"
	        "  --timeout SEC  per command (default 120)\n"
	        "  --sequence FILE  one COMMAND per line, '#' starts a comment\n"
	        "  --filter T     print what the CDB filter (no feature-host) does with each\n"
	        "                 command of a device of type T (a name, or the peripheral\n"
	        "                 device type, 0-31 or 0x..), as a Markdown table\n"
	        "Prints one JSON object per command.  Exit 0: commands ran; 1: LUN or I/O "
	        "failure; 2: usage.\n");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append the hex string @s (optional 0x, even digits) to @out; -1 when malformed. */
static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return -1;
	while (*s) {
		int hi, lo;

		if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0 || *len >= max)
			return -1;
		out[(*len)++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f)
		return -1;
	b = malloc(MAX_DATA + 1);
	if (!b) {
		fclose(f);
		return -1;
	}
	n = fread(b, 1, MAX_DATA + 1, f);
	fclose(f);
	if (n > MAX_DATA || n == 0) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void errx_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "pvscsi-cdb: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

/* A command's own options and bytes, up to --then or the end; returns args used. */
static int parse_cmd(int argc, char **argv, struct opts *o, bool allow_globals);

static int parse_sequence(const char *path, struct opts *o)
{
	FILE *f = fopen(path, "r");
	char line[65536];

	if (!f)
		errx_usage("cannot read sequence file '%s'", path);
	while (fgets(line, sizeof(line), f)) {
		char *args[4096];
		int n = 0;
		char *hash = strchr(line, '#');

		if (hash)
			*hash = 0;
		for (char *t = strtok(line, " \t\r\n"); t && n < 4096; t = strtok(NULL, " \t\r\n"))
			args[n++] = t;
		if (n == 0)
			continue;
		if (parse_cmd(n, args, o, false) != n)
			errx_usage("sequence file '%s': one command per line", path);
	}
	fclose(f);
	return 0;
}

static int parse_cmd(int argc, char **argv, struct opts *o, bool allow_globals)
{
	struct cmd *c;
	size_t cdb_len = 0;
	int i;

	if (o->ncmds >= MAX_CMDS)
		errx_usage("too many commands (max %s)", "256");
	c = &o->cmds[o->ncmds];
	memset(c, 0, sizeof(*c));
	c->dir = PVS_DIR_NONE;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long n;

		if (!strcmp(a, "--then"))
			break;
		if (!strcmp(a, "--in")) {
			if (c->dir != PVS_DIR_NONE || parse_uint(v, MAX_DATA, &n) || n == 0)
				errx_usage("--in needs a length 1..16M, once per command%s", "");
			c->dir = PVS_DIR_FROM_DEV;
			c->len = n;
			c->buf = calloc(1, n);
			i++;
		} else if (!strcmp(a, "--out")) {
			if (c->dir != PVS_DIR_NONE || !v || read_file(v, &c->buf, &c->len))
				errx_usage(
				    "--out needs a readable, non-empty file of at most 16M: %s",
				    v ? v : "");
			c->dir = PVS_DIR_TO_DEV;
			i++;
		} else if (!strcmp(a, "--out-hex")) {
			size_t len = 0;

			if (c->dir != PVS_DIR_NONE || !v)
				errx_usage("--out-hex needs hex data, once per command%s", "");
			c->buf = malloc(strlen(v) / 2 + 1);
			if (!c->buf || parse_hex(v, c->buf, strlen(v) / 2 + 1, &len) || len == 0)
				errx_usage("--out-hex: bad hex '%s'", v);
			c->dir = PVS_DIR_TO_DEV;
			c->len = len;
			i++;
		} else if (!strcmp(a, "--initiator")) {
			if (parse_uint(v, UINT64_MAX, &n))
				errx_usage("--initiator needs a number, not '%s'", v ? v : "");
			c->initiator = n;
			i++;
		} else if (allow_globals && !strcmp(a, "--lun")) {
			if (!v)
				errx_usage("--lun needs a spec%s", "");
			o->lun = v;
			i++;
		} else if (allow_globals && !strcmp(a, "--timeout")) {
			if (parse_uint(v, 86400, &n) || n == 0)
				errx_usage("--timeout needs seconds, not '%s'", v ? v : "");
			o->timeout_s = (int)n;
			i++;
		} else if (allow_globals && !strcmp(a, "--raw")) {
			o->raw = true;
		} else if (allow_globals && !strcmp(a, "--ro")) {
			o->ro = true;
		} else if (allow_globals && !strcmp(a, "--keep-ua")) {
			o->keep_ua = true;
		} else if (allow_globals && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			exit(0);
		} else if (allow_globals && !strcmp(a, "--version")) {
			printf("pvscsi-cdb (pvscsi) %s\n", PVSCSI_VERSION);
			exit(0);
		} else if (allow_globals && !strcmp(a, "--sequence")) {
			if (!v)
				errx_usage("--sequence needs a file%s", "");
			if (cdb_len || c->dir != PVS_DIR_NONE)
				errx_usage("--sequence cannot follow a command's options%s", "");
			parse_sequence(v, o);
			/* parse_sequence appended commands; restart a fresh one after them */
			if (o->ncmds >= MAX_CMDS)
				errx_usage("too many commands (max %s)", "256");
			c = &o->cmds[o->ncmds];
			memset(c, 0, sizeof(*c));
			i++;
		} else if (a[0] == '-') {
			errx_usage("unknown option '%s'", a);
		} else if (parse_hex(a, c->cdb, sizeof(c->cdb), &cdb_len)) {
			errx_usage("bad CDB byte '%s' (hex, CDB at most 32 bytes)", a);
		}
	}
	if (cdb_len) {
		c->cdb_len = (unsigned int)cdb_len;
		o->ncmds++;
	} else if (c->dir != PVS_DIR_NONE) {
		errx_usage("data given without a CDB%s", "");
	}
	return i;
}

static const char *status_name(uint8_t s)
{
	switch (s) {
	case PVS_STATUS_GOOD:
		return "GOOD";
	case PVS_STATUS_CHECK_CONDITION:
		return "CHECK CONDITION";
	case PVS_STATUS_CONDITION_MET:
		return "CONDITION MET";
	case PVS_STATUS_BUSY:
		return "BUSY";
	case PVS_STATUS_RESERVATION_CONFLICT:
		return "RESERVATION CONFLICT";
	case PVS_STATUS_TASK_SET_FULL:
		return "TASK SET FULL";
	case 0x30:
		return "ACA ACTIVE";
	case PVS_STATUS_TASK_ABORTED:
		return "TASK ABORTED";
	default:
		return "UNKNOWN";
	}
}

static const char *host_name(uint8_t h)
{
	static const char *const names[] = {"OK",    "NO_CONNECT", "ABORTED", "RESET",
	                                    "ERROR", "TIMEOUT",    "BUS_BUSY"};

	return h < sizeof(names) / sizeof(names[0]) ? names[h] : "UNKNOWN";
}

static void gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_hex(yajl_gen g, const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (!s) {
		gen_str(g, "");
		return;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	gen_str(g, s);
	free(s);
}

/*
 * One JSON object per command, written by yajl.  asc_text is sg3_utils'
 * wording of the additional sense code (libsgutils2), the words an
 * administrator searches for rather than 21h/00h.
 */
static void print_result(const struct cmd *c, const struct pvs_req *req)
{
	uint8_t key, asc, ascq;
	size_t moved = c->len > req->residual ? c->len - req->residual : 0;
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t outlen;

	if (!g) {
		fprintf(stderr, "pvscsi-cdb: out of memory\n");
		return;
	}
	yajl_gen_map_open(g);
	gen_str(g, "status");
	yajl_gen_integer(g, req->status);
	gen_str(g, "status_name");
	gen_str(g, status_name(req->status));
	gen_str(g, "host");
	yajl_gen_integer(g, req->host);
	gen_str(g, "host_name");
	gen_str(g, host_name(req->host));
	gen_str(g, "sense");
	gen_hex(g, req->sense, req->sense_len);
	if (req->sense_len && !pvs_sense_decode(req->sense, req->sense_len, &key, &asc, &ascq)) {
		char text[160];

		gen_str(g, "sense_key");
		yajl_gen_integer(g, key);
		gen_str(g, "sense_key_name");
		gen_str(g, pvs_sense_key_name(key));
		gen_str(g, "asc");
		yajl_gen_integer(g, asc);
		gen_str(g, "ascq");
		yajl_gen_integer(g, ascq);
		gen_str(g, "asc_text");
		gen_str(g, psense_asc_text(asc, ascq, text, sizeof(text)));
	} else {
		static const char *const nulls[] = {"sense_key", "sense_key_name", "asc", "ascq",
		                                    "asc_text"};

		for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
			gen_str(g, nulls[i]);
			yajl_gen_null(g);
		}
	}
	gen_str(g, "data");
	gen_hex(g, c->buf, c->dir == PVS_DIR_FROM_DEV ? moved : 0);
	gen_str(g, "residual");
	yajl_gen_integer(g, req->residual);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &out, &outlen) == yajl_gen_status_ok)
		printf("%.*s\n", (int)outlen, (const char *)out);
	yajl_gen_free(g);
	fflush(stdout);
}

static void req_done(struct pvs_req *req)
{
	*(bool *)req->opaque = true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one command to completion; -1 when it did not complete in time. */
static int run(struct pvs_worker *w, struct pvs_lun *lun, const struct cmd *c, int timeout_s,
               struct pvs_req *req)
{
	struct iovec iov = {.iov_base = c->buf, .iov_len = c->len};
	bool done = false;
	double deadline = now_s() + timeout_s;

	memset(req, 0, sizeof(*req));
	memcpy(req->cdb, c->cdb, c->cdb_len);
	req->cdb_len = (uint8_t)c->cdb_len;
	req->dir = (uint8_t)c->dir;
	req->iov = c->len ? &iov : NULL;
	req->iovcnt = c->len ? 1 : 0;
	req->initiator = c->initiator;
	req->done = req_done;
	req->opaque = &done;
	pvs_submit(lun, req);
	while (!done) {
		int rc;

		pvs_worker_flush(w);
		rc = pvs_worker_wait(w, 100);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "pvscsi-cdb: worker: %s\n", strerror(-rc));
			return -1;
		}
		if (!done && now_s() > deadline) {
			fprintf(stderr, "pvscsi-cdb: command did not complete within %d s\n",
			        timeout_s);
			return -1;
		}
	}
	return 0;
}

/* The answer the administrator asked for, not the power-on condition (SAM-5 5.14). */
static int clear_ua(struct pvs_worker *w, struct pvs_lun *lun, uint64_t initiator, int timeout_s)
{
	struct cmd tur = {.cdb = {0}, .cdb_len = 6, .dir = PVS_DIR_NONE, .initiator = initiator};
	struct pvs_req req;

	for (int i = 0; i < UA_CLEAR_MAX; i++) {
		uint8_t key = 0, asc, ascq;

		if (run(w, lun, &tur, timeout_s, &req))
			return -1;
		if (req.status != PVS_STATUS_CHECK_CONDITION ||
		    pvs_sense_decode(req.sense, req.sense_len, &key, &asc, &ascq) ||
		    key != PVS_KEY_UNIT_ATTENTION)
			break;
	}
	return 0;
}

/* --filter T: the device type names lsscsi gives, or a number. */
static int filter_table(const char *t)
{
	static const struct {
		const char *name;
		uint8_t pdt;
	} names[] = {{"disk", 0x00},   {"tape", 0x01},    {"cd", 0x05},
	             {"cd/dvd", 0x05}, {"changer", 0x08}, {"mediumx", 0x08}};
	unsigned long long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i].name))
			return pvs_filter_describe(names[i].pdt, stdout) ? 1 : 0;
	if (parse_uint(t, 0x1f, &v))
		errx_usage("--filter: '%s' is not disk, tape, cd, changer or a device type 0-31",
		           t);
	return pvs_filter_describe((uint8_t)v, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct opts o;
	struct pvs_lun_opts lo = {0};
	struct pvs_worker *w = NULL;
	struct pvs_lun *lun = NULL;
	uint64_t cleared[MAX_CMDS];
	unsigned int ncleared = 0;
	char err[512] = "";
	int rc, i = 1, status = 0;

	o.timeout_s = 120;
	if (argc >= 2 && !strcmp(argv[1], "--filter")) {
		if (argc != 3)
			errx_usage("--filter takes one device type and nothing else%s", "");
		return filter_table(argv[2]);
	}
	while (i < argc) {
		i += parse_cmd(argc - i, argv + i, &o, true);
		if (i < argc && !strcmp(argv[i], "--then"))
			i++;
	}
	if (!o.lun)
		errx_usage("--lun SPEC is required%s", "");
	if (!o.ncmds)
		errx_usage("no CDB given%s", "");

	rc = pvs_worker_new(64, &w);
	if (rc) {
		fprintf(stderr, "pvscsi-cdb: io_uring worker: %s\n", strerror(-rc));
		return 1;
	}
	lo.ro = o.ro;
	lo.raw = o.raw;
	rc = pvs_lun_open(w, o.lun, &lo, &lun, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvscsi-cdb: %s\n", err[0] ? err : strerror(-rc));
		pvs_worker_free(w);
		return 1;
	}
	for (unsigned int n = 0; n < o.ncmds && !status; n++) {
		struct cmd *c = &o.cmds[n];
		struct pvs_req req;
		bool seen = false;

		for (unsigned int k = 0; k < ncleared; k++)
			seen |= cleared[k] == c->initiator;
		if (!seen) {
			cleared[ncleared++] = c->initiator;
			if (!o.keep_ua && clear_ua(w, lun, c->initiator, o.timeout_s)) {
				status = 1;
				break;
			}
		}
		if (run(w, lun, c, o.timeout_s, &req)) {
			status = 1;
			break;
		}
		print_result(c, &req);
	}
	/* A command that timed out is still owned by the core: leave without closing. */
	if (status == 0) {
		pvs_lun_close(lun);
		pvs_worker_free(w);
	}
	for (unsigned int n = 0; n < o.ncmds; n++)
		free(o.cmds[n].buf);
	return status;
}
