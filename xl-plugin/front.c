/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * front.c - the xl front (xl-pvscsi), installed as xl ahead of Xen's.
 *
 * It owns the scsi-* verbs, and wraps create, restore and migrate-receive
 * only when they involve vscsi devices.  Everything else is exec'd to Xen's
 * xl (found at run time: xlp_xl_find) with the very same argv (argv[0]
 * included), so output, exit status and signals are Xen's own: the front
 * adds no process in between.  The one exception is xl's list of
 * subcommands ("xl", "xl help"), which gets the scsi-* verbs appended.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <libxl.h>
#include <xentoollog.h>

#include "xlp.h"

/* ------------------------------------------------------------ Xen's xl */

struct xlp_xl_where xlp_xl_where = {.root = "", .self = "/proc/self/exe"};

/*
 * install.sh tells the front from any other xl by this phrase, so it stays
 * in the binary (in the message below) whatever else the messages say.
 */
#define FRONT_MARK "is this front itself, not Xen's xl"

/* The paths tried so far, for the one line that says Xen's xl was not found. */
struct tried {
	char *buf;
	size_t len, used;
};

static void tried_add(struct tried *t, const char *path, const char *why)
{
	int n;

	if (t->used >= t->len)
		return;
	n = snprintf(t->buf + t->used, t->len - t->used, "%s%s (%s)", t->used ? ", " : "", path,
	             why);
	if (n > 0)
		t->used += (size_t)n;
}

/*
 * NULL if @path can be run as Xen's xl, else why not.  @search: a path the
 * front picked itself, where Debian's wrapper is refused too (run under
 * another name it looks for the wrong program, and under its own it applies
 * the rule the search has just applied).
 */
static const char *unusable(const struct xlp_xl_where *w, const char *path, bool search, char *why,
                            size_t whylen)
{
	struct stat st, self;
	char real[PATH_MAX];
	const char *base;

	if (stat(path, &st))
		return errno == ENOENT || errno == ENOTDIR ? "no such file" : strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (access(path, X_OK))
		return "not executable";
	/* The same inode whatever the name: a link, a symbolic link, a bind mount. */
	if (!stat(w->self, &self) && self.st_dev == st.st_dev && self.st_ino == st.st_ino)
		return "this front itself";
	if (search && realpath(path, real)) {
		base = strrchr(real, '/');
		if (base && !strcmp(base + 1, "xen-utils-wrapper")) {
			xlp_snprintf(why, whylen, "Debian's wrapper %s", real);
			return why;
		}
	}
	return NULL;
}

/* A "MAJOR.MINOR" of digits only, as Xen's sysfs and Debian's directory names have it. */
static bool parse_version(const char *s, unsigned int *maj, unsigned int *min)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9')
		return false;
	a = strtoul(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (*end || a > 999 || b > 999)
		return false;
	*maj = (unsigned int)a;
	*min = (unsigned int)b;
	return true;
}

static bool read_number(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok && *buf && strspn(buf, "0123456789") == strlen(buf);
}

/* The running hypervisor's version, as xen-utils-wrapper reads it. */
static bool running_xen(const char *root, unsigned int *maj, unsigned int *min)
{
	char p[PATH_MAX], a[16], b[16], v[40];

	xlp_snprintf(p, sizeof(p), "%s/sys/hypervisor/version/major", root);
	if (!read_number(p, a, sizeof(a)))
		return false;
	xlp_snprintf(p, sizeof(p), "%s/sys/hypervisor/version/minor", root);
	if (!read_number(p, b, sizeof(b)))
		return false;
	xlp_snprintf(v, sizeof(v), "%s.%s", a, b);
	return parse_version(v, maj, min);
}

struct installed {
	unsigned int maj, min;
};

static int installed_cmp(const void *a, const void *b)
{
	const struct installed *x = a, *y = b;

	if (x->maj != y->maj)
		return x->maj < y->maj ? 1 : -1;
	return x->min < y->min ? 1 : (x->min > y->min ? -1 : 0);
}

/* The /usr/lib/xen-MAJOR.MINOR directories, newest first; how many (at most @max). */
static size_t installed_xens(const char *root, struct installed *v, size_t max)
{
	char p[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	xlp_snprintf(p, sizeof(p), "%s/usr/lib", root);
	d = opendir(p);
	if (!d)
		return 0;
	while (n < max && (de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, "xen-", 4) &&
		    parse_version(de->d_name + 4, &v[n].maj, &v[n].min))
			n++;
	closedir(d);
	qsort(v, n, sizeof(*v), installed_cmp);
	return n;
}

/* Try @cand: true (and @path set) if it is Xen's xl, else noted in @t. */
static bool try_path(const struct xlp_xl_where *w, const char *cand, struct tried *t, char *path,
                     size_t len)
{
	char whybuf[PATH_MAX + 32];
	const char *why = unusable(w, cand, true, whybuf, sizeof(whybuf));

	if (!why) {
		xlp_snprintf(path, len, "%s", cand);
		return true;
	}
	tried_add(t, cand, why);
	return false;
}

int xlp_xl_find(const struct xlp_xl_where *w, char *path, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("XL_REAL");
	char list[XLP_ERR_MAX] = "", cand[PATH_MAX], whybuf[PATH_MAX + 32], note[96];
	struct tried t = {list, sizeof(list), 0};
	struct installed v[32];
	unsigned int maj, min;
	bool xen;
	size_t n;

	/* An explicit choice is never second-guessed by a search. */
	if (env && *env) {
		const char *why = unusable(w, env, false, whybuf, sizeof(whybuf));

		if (!why) {
			xlp_snprintf(path, len, "%s", env);
			return 0;
		}
		if (!strcmp(why, "this front itself"))
			xlp_snprintf(err, errlen,
			             "xl: XL_REAL=%s " FRONT_MARK
			             "; set XL_REAL to Xen's xl, or unset it to search for it",
			             env);
		else
			xlp_snprintf(err, errlen,
			             "xl: XL_REAL=%s: %s; set XL_REAL to Xen's xl, or unset it to "
			             "search for it",
			             env, why);
		return -ENOENT;
	}

	xen = running_xen(w->root, &maj, &min);
	n = installed_xens(w->root, v, sizeof(v) / sizeof(v[0]));
	if (xen) {
		xlp_snprintf(cand, sizeof(cand), "%s/usr/lib/xen-%u.%u/bin/xl", w->root, maj, min);
		if (try_path(w, cand, &t, path, len))
			return 0;
	} else {
		xlp_snprintf(cand, sizeof(cand), "%s/sys/hypervisor/version", w->root);
		tried_add(&t, cand, "no Xen running");
	}
	xlp_snprintf(cand, sizeof(cand), "%s/usr/sbin/xl.distrib", w->root);
	if (try_path(w, cand, &t, path, len))
		return 0;
	xlp_snprintf(cand, sizeof(cand), "%s/usr/sbin/xl", w->root);
	if (try_path(w, cand, &t, path, len))
		return 0;
	/*
	 * Another Xen's tools are never run against the running one (Debian's
	 * wrapper refuses too): libxl and the hypervisor speak one version's
	 * interface.  With no Xen running, there is no such risk, and Xen's xl
	 * still says what it would say (its help, "cannot init xl context").
	 */
	for (size_t i = 0; i < n; i++) {
		xlp_snprintf(cand, sizeof(cand), "%s/usr/lib/xen-%u.%u/bin/xl", w->root, v[i].maj,
		             v[i].min);
		if (xen) {
			if (v[i].maj == maj && v[i].min == min)
				continue;
			xlp_snprintf(note, sizeof(note), "Xen %u.%u's, not the running %u.%u's",
			             v[i].maj, v[i].min, maj, min);
			tried_add(&t, cand, note);
		} else if (try_path(w, cand, &t, path, len)) {
			return 0;
		}
	}
	if (!xen && !n) {
		xlp_snprintf(cand, sizeof(cand), "%s/usr/lib/xen-X.Y/bin/xl", w->root);
		tried_add(&t, cand, "none installed");
	}
	xlp_snprintf(err, errlen, "xl: Xen's xl not found: tried %s; set XL_REAL to Xen's xl",
	             list);
	return -ENOENT;
}

const char *xlp_xl_real_path(void)
{
	static char path[PATH_MAX];
	char err[XLP_ERR_MAX];

	return xlp_xl_find(&xlp_xl_where, path, sizeof(path), err, sizeof(err)) ? NULL : path;
}

/* The line saying where Xen's xl was looked for (the search is cheap: a few stats). */
static void xl_missing(FILE *f)
{
	char path[PATH_MAX], err[XLP_ERR_MAX];

	if (xlp_xl_find(&xlp_xl_where, path, sizeof(path), err, sizeof(err)))
		fprintf(f, "%s\n", err);
	else
		fprintf(f, "xl: Xen's xl was not found when this command started (it is %s now)\n",
		        path);
}

int xlp_exec_real(const char *xl_real, char **argv)
{
	if (!xl_real) {
		xl_missing(stderr);
		return 1;
	}
	execv(xl_real, argv);
	fprintf(stderr, "xl: cannot run Xen's xl (%s): %s\n", xl_real, strerror(errno));
	return 127;
}

/* ----------------------------------------------------------- real seams */

bool xlp_proc_has(const char *proc_root, const char *name)
{
	DIR *d = opendir(proc_root);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		char p[PATH_MAX], comm[64];
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "%s/%s/comm", proc_root, de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			found = !strcmp(comm, name);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

int xlp_backend_running_proc(struct xlp_ctx *c)
{
	FILE *f = fopen("/run/pvscsid.pid", "r");
	long pid = 0;

	(void)c;
	/* pvscsid's pid file first (never locked here: that could make a starting pvscsid fail). */
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		char p[64], comm[64] = "";

		snprintf(p, sizeof(p), "/proc/%ld/comm", pid);
		f = fopen(p, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
			if (!strncmp(comm, "pvscsid", 7))
				return 1;
		}
	}
	/* Started without a pid file: look for the process itself. */
	return xlp_proc_has("/proc", "pvscsid") ? 1 : 0;
}

int xlp_domain_paused_libxl(struct xlp_ctx *c, uint32_t domid)
{
	xentoollog_logger_stdiostream *lg;
	libxl_ctx *ctx = NULL;
	libxl_dominfo info;
	int rc;

	(void)c;
	lg = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	if (!lg)
		return -ENOMEM;
	if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg)) {
		xtl_logger_destroy((xentoollog_logger *)lg);
		return -EIO;
	}
	libxl_dominfo_init(&info);
	rc = libxl_domain_info(ctx, &info, domid) ? -ENOENT : (info.paused ? 1 : 0);
	libxl_dominfo_dispose(&info);
	libxl_ctx_free(ctx);
	xtl_logger_destroy((xentoollog_logger *)lg);
	return rc;
}

int xlp_pause_domain_libxl(struct xlp_ctx *c, uint32_t domid, bool pause, uint64_t *ran_ns)
{
	libxl_dominfo info;
	int rc;

	/* Kept for the monitor's life: a pause must come quickly (it races xl's unpause). */
	if (!c->lx) {
		c->lx_log = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
		if (!c->lx_log)
			return -ENOMEM;
		if (libxl_ctx_alloc((libxl_ctx **)&c->lx, LIBXL_VERSION, 0,
		                    (xentoollog_logger *)c->lx_log)) {
			xtl_logger_destroy((xentoollog_logger *)c->lx_log);
			c->lx_log = NULL;
			c->lx = NULL;
			return -EIO;
		}
	}
	rc = pause ? libxl_domain_pause(c->lx, domid, NULL)
	           : libxl_domain_unpause(c->lx, domid, NULL);
	if (rc)
		return -EIO;
	if (ran_ns) {
		*ran_ns = 0;
		libxl_dominfo_init(&info);
		if (!libxl_domain_info(c->lx, &info, domid))
			*ran_ns = info.cpu_time;
		libxl_dominfo_dispose(&info);
	}
	return 0;
}

void xlp_libxl_free(struct xlp_ctx *c)
{
	if (c->lx)
		libxl_ctx_free(c->lx);
	if (c->lx_log)
		xtl_logger_destroy((xentoollog_logger *)c->lx_log);
	c->lx = NULL;
	c->lx_log = NULL;
}

void xlp_sleep_real(struct xlp_ctx *c, unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	(void)c;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int xlp_run_xl_real(struct xlp_ctx *c, char *const argv[])
{
	int status;
	pid_t pid;

	if (!c->xl_real) {
		xl_missing(c->err);
		return -ENOENT;
	}
	fflush(c->out);
	fflush(c->err);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(c->xl_real, argv);
		fprintf(stderr, "xl: cannot run Xen's xl (%s): %s\n", c->xl_real, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---------------------------------------------------------------- front */

enum kind { OWN, WRAP };

struct cmd {
	const char *name;
	enum kind kind;
	int (*own)(struct xlp_ctx *c, int argc, char **argv);
	int (*wrap)(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal);
	const char *desc;
};

static const struct cmd cmds[] = {
    {"scsi-attach", OWN, xlp_cmd_attach, NULL, "Attach a SCSI LUN to a domain (PVSCSI)"},
    {"scsi-detach", OWN, xlp_cmd_detach, NULL, "Detach a SCSI LUN from a domain"},
    {"scsi-insert", OWN, xlp_cmd_insert, NULL, "Insert a disc image into a SCSI CD-ROM drive"},
    {"scsi-eject", OWN, xlp_cmd_eject, NULL, "Eject the disc from a SCSI CD-ROM drive"},
    {"scsi-list", OWN, xlp_cmd_list, NULL, "List a domain's SCSI LUNs"},
    {"scsi-assignable-list", OWN, xlp_cmd_assignable_list, NULL,
     "List this host's SCSI LUNs, their type and the domain holding each"},
    {"scsi-resolve", OWN, xlp_cmd_resolve, NULL,
     "Find a domain's saved SCSI LUNs on this host and write their p-devs"},
    {"scsi-monitor", OWN, xlp_cmd_monitor, NULL,
     "Re-attach a domain's SCSI LUNs after each reboot (the front starts it)"},
    /*
     * Not listed by xl help: only libvirtd runs it (through its hook), and
     * listed it would make "xl scsi-l<TAB>" ambiguous.
     */
    {"scsi-libvirt-hook", OWN, xlp_cmd_libvirt_hook, NULL, NULL},
    {"create", WRAP, NULL, xlp_cmd_create, NULL},
    {"restore", WRAP, NULL, xlp_cmd_restore, NULL},
    {"migrate-receive", WRAP, NULL, xlp_cmd_migrate_receive, NULL},
};

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* xl's global options ("+vftTN"), which come before the verb. */
static bool global_opt(const char *a)
{
	if (a[0] != '-' || !a[1] || a[1] == '-')
		return false;
	return strspn(a + 1, "vftTN") == strlen(a + 1);
}

/* Xen's xl prints its subcommands so; its bash completion reads the verbs back from it. */
#define XL_HELP_HEAD "Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n"

static void own_verbs(FILE *f)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].kind != OWN || !cmds[i].desc)
			continue;
		fprintf(f, " %-19s ", cmds[i].name);
		if (strlen(cmds[i].name) > 19)
			fprintf(f, "\n %-19s ", "");
		fprintf(f, "%s\n", cmds[i].desc);
	}
}

/*
 * Run Xen's xl with @argv, its stdout through us; its exit status (or 127
 * after a message).  *@printed: whether it wrote anything there.
 */
static int run_copying(const char *xl, char **argv, bool *printed)
{
	char buf[4096];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	*printed = false;
	fflush(stdout);
	fflush(stderr);
	if (pipe(p)) {
		fprintf(stderr, "xl: cannot run Xen's xl (%s): pipe: %s\n", xl, strerror(errno));
		return 127;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "xl: cannot run Xen's xl (%s): fork: %s\n", xl, strerror(errno));
		close(p[0]);
		close(p[1]);
		return 127;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(xl, argv);
		fprintf(stderr, "xl: cannot run Xen's xl (%s): %s\n", xl, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		*printed = true;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/*
 * "xl", "xl help": Xen's list of subcommands with the front's own after
 * it, in the same columns, so that Xen's bash completion offers them too.
 * Xen's exit status (1 for a bare "xl", as Xen's).  When Xen's xl prints
 * nothing (not found, or no hypervisor to open), the front still lists its
 * verbs under xl's heading, whose four lines the completion skips.
 */
static int help_list(char **argv)
{
	const char *xl = xlp_xl_real_path();
	bool printed = false;
	int status = 1;

	if (xl)
		status = run_copying(xl, argv, &printed);
	else
		xl_missing(stderr);
	if (!printed)
		fputs(XL_HELP_HEAD, stdout);
	own_verbs(stdout);
	fflush(stdout);
	return status;
}

static void front_usage(FILE *f)
{
	fputs("Usage: xl-pvscsi [-vfNtT] <subcommand> [args]   (installed as xl)\n"
	      "       xl-pvscsi --help | --version | --xen-xl\n"
	      "\n"
	      "The xl front of pvscsi. Its own subcommands:\n"
	      "\n",
	      f);
	own_verbs(f);
	fputs("\n"
	      "scsi-libvirt-hook is libvirt's libxl hook (/etc/libvirt/hooks/libxl.d/50-pvscsi).\n"
	      "create, restore and migrate-receive are its own when the domain has vscsi\n"
	      "devices; everything else is Xen's xl, run with the same arguments.\n"
	      "\n"
	      "Options of xl-pvscsi (under the name xl, every option is Xen's xl's):\n"
	      "  -h, --help   this text\n"
	      "  --version    the front's version\n"
	      "  --xen-xl     the path of Xen's xl that the front runs, or why none is found\n"
	      "               ($XL_REAL, else /usr/lib/xen-X.Y/bin/xl for the running Xen X.Y)\n"
	      "\n"
	      "See xl-scsi(1).\n",
	      f);
}

/*
 * The options of the front's own name.  Under the name xl, "xl --version"
 * and "xl --help" stay Xen's xl's (which answer that they are invalid):
 * the front never changes what a verb or option of Xen's xl means.
 */
static int front_options(int argc, char **argv)
{
	const char *o = argv[1];

	if (argc > 2) {
		fprintf(stderr, "xl-pvscsi: %s takes no argument (xl-pvscsi --help)\n", o);
		return 2;
	}
	if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
		front_usage(stdout);
		return 0;
	}
	if (!strcmp(o, "--version")) {
		printf("xl-pvscsi (pvscsi) %s\n", PVSCSI_VERSION);
		return 0;
	}
	if (!strcmp(o, "--xen-xl")) {
		const char *xl = xlp_xl_real_path();

		if (!xl) {
			xl_missing(stderr);
			return 1;
		}
		printf("%s\n", xl);
		return 0;
	}
	fprintf(stderr, "xl-pvscsi: unknown option '%s' (xl-pvscsi --help)\n", o);
	return 2;
}

static bool own_name(const char *argv0)
{
	const char *base;

	if (!argv0)
		return false;
	base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, "xl-pvscsi");
}

int xlp_front_main(int argc, char **argv)
{
	struct xlp_ctx c;
	const struct cmd *cmd;
	int i, rc;

	if (argc > 1 && own_name(argv[0]) && argv[1][0] == '-' &&
	    (!strcmp(argv[1], "-h") || (argv[1][1] == '-' && argv[1][2])))
		return front_options(argc, argv);
	for (i = 1; i < argc && global_opt(argv[i]); i++)
		;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc ||
	    (!strcmp(argv[i], "help") && (i + 1 >= argc || !strcmp(argv[i + 1], "help"))))
		return help_list(argv);
	cmd = find_cmd(argv[i]);
	if (!cmd && i + 1 < argc && !strcmp(argv[i], "help") && find_cmd(argv[i + 1]) &&
	    find_cmd(argv[i + 1])->kind == OWN) {
		char *h[] = {argv[i + 1], "--help", NULL};

		cmd = find_cmd(argv[i + 1]);
		xlp_ctx_init(&c);
		rc = cmd->own(&c, 2, h);
		xlp_ctx_fini(&c);
		return rc;
	}
	if (!cmd)
		return xlp_exec_real(xlp_xl_real_path(), argv);

	xlp_ctx_init(&c);
	if (argv[0] && *argv[0])
		c.argv0 = argv[0];
	for (int k = 1; k < i; k++)
		if (strchr(argv[k], 'N'))
			c.dry_run = true;
	if (cmd->kind == OWN) {
		rc = cmd->own(&c, argc - i, argv + i);
	} else if (!c.xl_real) {
		/* Every wrapped verb ends in Xen's xl: say so before doing anything. */
		xl_missing(stderr);
		rc = 1;
	} else {
		rc = cmd->wrap(&c, argc - i, argv + i, argv + 1, i - 1);
		if (rc == -1) {
			xlp_ctx_fini(&c);
			fflush(stdout);
			return xlp_exec_real(c.xl_real, argv);
		}
	}
	xlp_ctx_fini(&c);
	return rc;
}
