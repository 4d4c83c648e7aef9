/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_find_ut.c - how the front finds Xen's xl, and what it says of itself.
 *
 * Each case builds a fake root (/sys/hypervisor/version, /usr/lib/xen-X.Y,
 * /usr/sbin) under a temporary directory and points xlp_xl_where at it.
 * Xen's xl is played by small shell scripts that say which one they are.
 * The front runs in a child (it execs), with stdout and stderr kept apart:
 * "not found" must be exactly one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../xl/golden.h"
#include "xlp.h"

static char base[64];  /* the suite's temporary directory */
static char root[128]; /* this case's fake root, below it */
static char self_exe[PATH_MAX];
static int nroot;

/* ---------------------------------------------------------- the fake root */

static void mkparents(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
}

/* A file ROOT/@rel with @text and @mode. */
static void put(const char *rel, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkparents(p);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(p, mode), 0);
}

/* A stand-in for Xen's xl that prints "@who: ARGS" and exits 7. */
static void put_xl(const char *rel, const char *who)
{
	char text[256];

	snprintf(text, sizeof(text), "#!/bin/sh\necho \"%s: $*\"\nexit 7\n", who);
	put(rel, text, 0755);
}

static void put_link(const char *rel, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkparents(p);
	CU_ASSERT_EQUAL(symlink(target, p), 0);
}

static void running(const char *maj, const char *min)
{
	put("/sys/hypervisor/type", "xen\n", 0644);
	put("/sys/hypervisor/version/major", maj, 0644);
	put("/sys/hypervisor/version/minor", min, 0644);
}

/* Debian's /usr/sbin/xl: a link to xen-common's wrapper script. */
static void debian_wrapper(const char *rel)
{
	put("/usr/lib/xen-common/bin/xen-utils-wrapper", "#!/bin/sh\nexit 127\n", 0755);
	put_link(rel, "../lib/xen-common/bin/xen-utils-wrapper");
}

static void new_root(void)
{
	snprintf(root, sizeof(root), "%s/r%d", base, nroot++);
	CU_ASSERT_EQUAL_FATAL(mkdir(root, 0755), 0);
	xlp_xl_where.root = root;
	xlp_xl_where.self = "/proc/self/exe";
	unsetenv("XL_REAL");
}

/* @path with the fake root written @ROOT@, for comparing texts. */
static void unroot(const char *in, char *out, size_t len)
{
	size_t rl = strlen(root), o = 0;

	while (*in && o + 1 < len) {
		if (!strncmp(in, root, rl) && o + 6 < len) {
			memcpy(out + o, "@ROOT@", 6);
			o += 6;
			in += rl;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static int find(char *path, char *err)
{
	path[0] = err[0] = '\0';
	return xlp_xl_find(&xlp_xl_where, path, PATH_MAX, err, XLP_ERR_MAX);
}

/* ------------------------------------------------------------ the front */

struct run {
	char out[16384], err[4096];
	int status; /* the exit status, or -1 */
};

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* The front with @argv in a child, on the current fake root; its stdout, stderr and status. */
static void front(char *const *argv, struct run *r)
{
	char o[PATH_MAX], e[PATH_MAX];
	int argc = 0, st;
	pid_t pid;

	while (argv[argc])
		argc++;
	snprintf(o, sizeof(o), "%s/out", base);
	snprintf(e, sizeof(e), "%s/err", base);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0)
			_exit(99);
		dup2(fo, 1);
		dup2(fe, 2);
		_exit(xlp_front_main(argc, (char **)argv));
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(o, r->out, sizeof(r->out));
	slurp(e, r->err, sizeof(r->err));
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* --------------------------------------------------------------- search */

static void test_running_xen_picks_its_version(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], want[PATH_MAX];

	new_root();
	running("4\n", "19\n");
	put_xl("/usr/lib/xen-4.9/bin/xl", "xen-4.9");
	put_xl("/usr/lib/xen-4.17/bin/xl", "xen-4.17");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	put_xl("/usr/lib/xen-4.21/bin/xl", "xen-4.21");
	put_xl("/usr/sbin/xl.distrib", "distrib");
	CU_ASSERT_EQUAL(find(path, err), 0);
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.19/bin/xl", root);
	CU_ASSERT_STRING_EQUAL(path, want);
}

/* As Debian's wrapper: another Xen's tools are not run against the running one. */
static void test_running_xen_not_installed(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], shown[XLP_ERR_MAX];

	new_root();
	running("4\n", "20\n");
	put_xl("/usr/lib/xen-4.17/bin/xl", "xen-4.17");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	debian_wrapper("/usr/sbin/xl");
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	unroot(err, shown, sizeof(shown));
	CU_ASSERT_STRING_EQUAL(
	    shown, "xl: Xen's xl not found: tried @ROOT@/usr/lib/xen-4.20/bin/xl (no such file), "
	           "@ROOT@/usr/sbin/xl.distrib (no such file), @ROOT@/usr/sbin/xl (Debian's "
	           "wrapper @ROOT@/usr/lib/xen-common/bin/xen-utils-wrapper), "
	           "@ROOT@/usr/lib/xen-4.19/bin/xl (Xen 4.19's, not the running 4.20's), "
	           "@ROOT@/usr/lib/xen-4.17/bin/xl (Xen 4.17's, not the running 4.20's); set "
	           "XL_REAL to Xen's xl");
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

/* The front installed as /usr/sbin/xl with dpkg-divert: Xen's own is xl.distrib. */
static void test_diverted(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], want[PATH_MAX];

	new_root();
	running("4\n", "20\n");
	put_xl("/usr/sbin/xl.distrib", "distrib");
	put_link("/usr/sbin/xl", self_exe);
	CU_ASSERT_EQUAL(find(path, err), 0);
	snprintf(want, sizeof(want), "%s/usr/sbin/xl.distrib", root);
	CU_ASSERT_STRING_EQUAL(path, want);

	/* Diverted Debian wrapper: it would look for "xl.distrib" in xen-4.20; a built xl instead.
	 */
	new_root();
	running("4\n", "20\n");
	debian_wrapper("/usr/sbin/xl.distrib");
	put_xl("/usr/sbin/xl", "built");
	CU_ASSERT_EQUAL(find(path, err), 0);
	snprintf(want, sizeof(want), "%s/usr/sbin/xl", root);
	CU_ASSERT_STRING_EQUAL(path, want);
}

static void test_no_xen_running_takes_the_newest(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], want[PATH_MAX], shown[XLP_ERR_MAX];

	new_root();
	put_xl("/usr/lib/xen-4.2/bin/xl", "xen-4.2");
	put_xl("/usr/lib/xen-4.9/bin/xl", "xen-4.9");
	put_xl("/usr/lib/xen-4.17/bin/xl", "xen-4.17");
	put("/usr/lib/xen-common/bin/xen-dir", "#!/bin/sh\n", 0755);
	put("/usr/lib/xen-4.18-rc/bin/xl", "#!/bin/sh\n", 0755);
	CU_ASSERT_EQUAL(find(path, err), 0);
	/* 4.17 is newer than 4.9, whatever strcmp says. */
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.17/bin/xl", root);
	CU_ASSERT_STRING_EQUAL(path, want);

	/* An unusable newest one is passed over, and said so if nothing is found. */
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.17/bin/xl", root);
	CU_ASSERT_EQUAL(chmod(want, 0644), 0);
	CU_ASSERT_EQUAL(find(path, err), 0);
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.9/bin/xl", root);
	CU_ASSERT_STRING_EQUAL(path, want);

	new_root();
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	unroot(err, shown, sizeof(shown));
	CU_ASSERT_STRING_EQUAL(shown,
	                       "xl: Xen's xl not found: tried @ROOT@/sys/hypervisor/version "
	                       "(no Xen running), @ROOT@/usr/sbin/xl.distrib (no such file), "
	                       "@ROOT@/usr/sbin/xl (no such file), "
	                       "@ROOT@/usr/lib/xen-X.Y/bin/xl (none installed); set XL_REAL "
	                       "to Xen's xl");
}

/* Garbage in sysfs is no version: no path is built from it. */
static void test_bad_sysfs_version(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX];

	new_root();
	running("4\n", "../../../tmp\n");
	put_xl("/usr/lib/xen-4.17/bin/xl", "xen-4.17");
	CU_ASSERT_EQUAL(find(path, err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(path, "/usr/lib/xen-4.17/bin/xl"));
}

static void test_xl_real_overrides(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], mine[PATH_MAX];

	new_root();
	running("4\n", "19\n");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	put_xl("/opt/xen/xl", "mine");
	snprintf(mine, sizeof(mine), "%s/opt/xen/xl", root);
	setenv("XL_REAL", mine, 1);
	CU_ASSERT_EQUAL(find(path, err), 0);
	CU_ASSERT_STRING_EQUAL(path, mine);

	/* A wrong XL_REAL is an error, not a reason to run something else. */
	snprintf(mine, sizeof(mine), "%s/opt/xen/xl-missing", root);
	setenv("XL_REAL", mine, 1);
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "xl: XL_REAL="));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "xl-missing: no such file; set XL_REAL to Xen's xl"));
	snprintf(mine, sizeof(mine), "%s/usr/lib/xen-4.19/bin", root);
	setenv("XL_REAL", mine, 1);
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bin: not a regular file"));
	/* An empty XL_REAL is unset. */
	setenv("XL_REAL", "", 1);
	CU_ASSERT_EQUAL(find(path, err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(path, "/usr/lib/xen-4.19/bin/xl"));
	unsetenv("XL_REAL");
}

static void test_never_itself(void)
{
	char path[PATH_MAX], err[XLP_ERR_MAX], want[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	/* The running Xen's xl replaced by the front (a link to it): passed over. */
	new_root();
	running("4\n", "19\n");
	put_link("/usr/lib/xen-4.19/bin/xl", self_exe);
	put_xl("/usr/sbin/xl.distrib", "distrib");
	CU_ASSERT_EQUAL(find(path, err), 0);
	snprintf(want, sizeof(want), "%s/usr/sbin/xl.distrib", root);
	CU_ASSERT_STRING_EQUAL(path, want);

	/* Nothing else: the message says which one is the front. */
	snprintf(p, sizeof(p), "%s/usr/sbin/xl.distrib", root);
	unlink(p);
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.19/bin/xl (this front itself)", root);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));

	/* By inode, not by name: a hard link of "this program" under Xen's name. */
	new_root();
	running("4\n", "19\n");
	put_xl("/usr/local/sbin/xl-pvscsi", "front");
	snprintf(p, sizeof(p), "%s/usr/local/sbin/xl-pvscsi", root);
	snprintf(q, sizeof(q), "%s/usr/lib/xen-4.19/bin/xl", root);
	mkparents(q);
	CU_ASSERT_EQUAL_FATAL(link(p, q), 0);
	xlp_xl_where.self = p;
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bin/xl (this front itself)"));

	/* XL_REAL naming the front. */
	setenv("XL_REAL", q, 1);
	CU_ASSERT_EQUAL(find(path, err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is this front itself, not Xen's xl"));
	unsetenv("XL_REAL");
}

/* ------------------------------------------------------------ the front */

static void test_front_runs_what_it_found(void)
{
	static char *const list[] = {"xl", "-v", "list", "-l", NULL};
	struct run r;

	new_root();
	running("4\n", "19\n");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	put_xl("/usr/lib/xen-4.17/bin/xl", "xen-4.17");
	front(list, &r);
	CU_ASSERT_EQUAL(r.status, 7);
	CU_ASSERT_STRING_EQUAL(r.out, "xen-4.19: -v list -l\n");
	CU_ASSERT_STRING_EQUAL(r.err, "");
}

static void test_front_not_found(void)
{
	static char *const list[] = {"xl", "list", NULL};
	static char *const create[] = {"xl", "create", "/nonexistent.cfg", NULL};
	static char *const own_help[] = {"xl", "help", "scsi-attach", NULL};
	static char *const own_verb[] = {"xl", "scsi-list", "--help", NULL};
	struct run r;

	new_root();
	running("4\n", "19\n");
	front(list, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_EQUAL(lines(r.err), 1);
	CU_ASSERT_EQUAL(strncmp(r.err, "xl: Xen's xl not found: tried ", 30), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "/usr/lib/xen-4.19/bin/xl (no such file)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "set XL_REAL to Xen's xl\n"));

	/* A wrapped verb says so before doing anything. */
	front(create, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_EQUAL(lines(r.err), 1);
	CU_ASSERT_EQUAL(strncmp(r.err, "xl: Xen's xl not found: tried ", 30), 0);

	/* The front's own verbs do not need Xen's xl. */
	front(own_help, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Usage: xl [-N] scsi-attach"));
	CU_ASSERT_STRING_EQUAL(r.err, "");
	front(own_verb, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "scsi-list"));
	CU_ASSERT_STRING_EQUAL(r.err, "");
}

/* The front as the running Xen's xl (installed over it): refused, one line, exit 1. */
static void test_front_refuses_itself(void)
{
	static char *const list[] = {"xl", "list", NULL};
	struct run r;

	new_root();
	running("4\n", "19\n");
	put_link("/usr/lib/xen-4.19/bin/xl", self_exe);
	front(list, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_EQUAL(lines(r.err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "/usr/lib/xen-4.19/bin/xl (this front itself)"));
}

/* ----------------------------------------------------------------- help */

/* The head of Xen 4.17's "xl help", wrapped long name included, from a script. */
static const char xen_help[] =
    "Usage xl [-vfNtT] <subcommand> [args]\n"
    "\n"
    "xl full list of subcommands:\n"
    "\n"
    " create              Create a domain from config file <filename>\n"
    " list                List information about all/some domains\n"
    " pci-assignable-remove \n"
    "                     Remove a device from being assignable\n"
    " qemu-monitor-command \n"
    "                     Issue a qemu monitor command to the device model of a domain\n";

/* Xen's xl: "help" prints the list (exit 0), no subcommand too (exit 1), as xl.c's main. */
static void put_xen_help(const char *rel, bool works)
{
	char text[2048];

	if (works)
		snprintf(text, sizeof(text),
		         "#!/bin/sh\n"
		         "for a; do case $a in -*) shift ;; *) break ;; esac; done\n"
		         "cat <<'EOF'\n%sEOF\n"
		         "[ \"$1\" = help ] && exit 0\n"
		         "exit 1\n",
		         xen_help);
	else
		/* No hypervisor to open: "xl help" fails before printing anything. */
		snprintf(text, sizeof(text),
		         "#!/bin/sh\necho 'cannot init xl context' >&2\nexit 1\n");
	put(rel, text, 0755);
}

/* The verbs Xen's bash completion offers for @help (its own pipeline, Xen 4.17's completion). */
static void completion_words(const char *help, char *words, size_t len)
{
	char p[PATH_MAX], cmd[PATH_MAX + 96];
	size_t n;
	FILE *f;

	snprintf(p, sizeof(p), "%s/help.txt", base);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(help, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sed '1,4d' %s | awk '/^ [^ ]/ {print $1}' | tr '\\n' ' '", p);
	f = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(words, 1, len - 1, f);
	words[n] = '\0';
	pclose(f);
}

static void test_help_lists_own_verbs(void)
{
	static char *const help[] = {"xl", "help", NULL};
	static char *const bare[] = {"xl", NULL};
	static char *const vhelp[] = {"xl", "-v", "help", NULL};
	static char *const help2[] = {"xl", "help", "help", NULL};
	static char *const other[] = {"xl", "help", "create", NULL};
	char words[4096];
	struct run r;

	new_root();
	running("4\n", "17\n");
	put_xen_help("/usr/lib/xen-4.17/bin/xl", true);
	front(help, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT_EQUAL(golden_check("help.out", r.out), 0);
	completion_words(r.out, words, sizeof(words));
	CU_ASSERT_STRING_EQUAL(
	    words, "create list pci-assignable-remove qemu-monitor-command "
	           "scsi-attach scsi-detach scsi-insert scsi-eject scsi-list scsi-assignable-list "
	           "scsi-resolve scsi-monitor ");

	/* xl alone: the same list, with Xen's exit status (1). */
	front(bare, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_EQUAL(golden_check("help.out", r.out), 0);
	front(vhelp, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(golden_check("help.out", r.out), 0);
	front(help2, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(golden_check("help.out", r.out), 0);

	/* Help on one of Xen's verbs is Xen's alone. */
	front(other, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(r.out, xen_help);
}

static void test_help_without_xen(void)
{
	static char *const help[] = {"xl", "help", NULL};
	char words[4096];
	struct run r;

	/* Xen's xl prints nothing (no hypervisor): the front's verbs under xl's heading. */
	new_root();
	running("4\n", "17\n");
	put_xen_help("/usr/lib/xen-4.17/bin/xl", false);
	front(help, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.err, "cannot init xl context\n");
	CU_ASSERT_EQUAL(strncmp(r.out, "Usage xl [-vfNtT] <subcommand> [args]\n\n", 39), 0);
	completion_words(r.out, words, sizeof(words));
	CU_ASSERT_STRING_EQUAL(
	    words, "scsi-attach scsi-detach scsi-insert scsi-eject scsi-list scsi-assignable-list "
	           "scsi-resolve scsi-monitor ");

	/* No Xen's xl at all: the same, and the one line saying where it was looked for. */
	new_root();
	front(help, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_EQUAL(lines(r.err), 1);
	CU_ASSERT_EQUAL(strncmp(r.err, "xl: Xen's xl not found: tried ", 30), 0);
	completion_words(r.out, words, sizeof(words));
	CU_ASSERT_STRING_EQUAL(
	    words, "scsi-attach scsi-detach scsi-insert scsi-eject scsi-list scsi-assignable-list "
	           "scsi-resolve scsi-monitor ");
}

/* ------------------------------------------------------- its own options */

static void test_own_name_options(void)
{
	static char *const help[] = {"xl-pvscsi", "--help", NULL};
	static char *const h[] = {"/usr/local/sbin/xl-pvscsi", "-h", NULL};
	static char *const version[] = {"/usr/local/sbin/xl-pvscsi", "--version", NULL};
	static char *const xen_xl[] = {"xl-pvscsi", "--xen-xl", NULL};
	static char *const bad[] = {"xl-pvscsi", "--bogus", NULL};
	static char *const extra[] = {"xl-pvscsi", "--version", "x", NULL};
	static char *const verb[] = {"xl-pvscsi", "list", NULL};
	struct run r;
	char want[PATH_MAX];

	new_root();
	running("4\n", "19\n");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	front(help, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(strncmp(r.out, "Usage: xl-pvscsi ", 17), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\n scsi-attach         Attach a SCSI LUN"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\n scsi-monitor        Re-attach"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--xen-xl"));
	CU_ASSERT_STRING_EQUAL(r.err, "");
	front(h, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(strncmp(r.out, "Usage: xl-pvscsi ", 17), 0);

	front(version, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(r.out, "xl-pvscsi (pvscsi) " PVSCSI_VERSION "\n");
	CU_ASSERT_STRING_EQUAL(r.err, "");

	front(xen_xl, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	snprintf(want, sizeof(want), "%s/usr/lib/xen-4.19/bin/xl\n", root);
	CU_ASSERT_STRING_EQUAL(r.out, want);

	front(bad, &r);
	CU_ASSERT_EQUAL(r.status, 2);
	CU_ASSERT_STRING_EQUAL(r.err, "xl-pvscsi: unknown option '--bogus' (xl-pvscsi --help)\n");
	front(extra, &r);
	CU_ASSERT_EQUAL(r.status, 2);
	CU_ASSERT_EQUAL(lines(r.err), 1);

	/* Any other word is a subcommand, as under the name xl. */
	front(verb, &r);
	CU_ASSERT_EQUAL(r.status, 7);
	CU_ASSERT_STRING_EQUAL(r.out, "xen-4.19: list\n");

	/* No Xen's xl: --xen-xl says where it looked, exit 1. */
	new_root();
	front(xen_xl, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_EQUAL(lines(r.err), 1);
	CU_ASSERT_EQUAL(strncmp(r.err, "xl: Xen's xl not found: tried ", 30), 0);
}

/* Under the name xl, options are Xen's xl's: the front answers none of them. */
static void test_xl_name_keeps_xen_options(void)
{
	static char *const version[] = {"xl", "--version", NULL};
	static char *const help[] = {"/usr/local/sbin/xl", "--help", NULL};
	static char *const h[] = {"xl", "-h", NULL};
	struct run r;

	new_root();
	running("4\n", "19\n");
	put_xl("/usr/lib/xen-4.19/bin/xl", "xen-4.19");
	front(version, &r);
	CU_ASSERT_EQUAL(r.status, 7);
	CU_ASSERT_STRING_EQUAL(r.out, "xen-4.19: --version\n");
	front(help, &r);
	CU_ASSERT_EQUAL(r.status, 7);
	CU_ASSERT_STRING_EQUAL(r.out, "xen-4.19: --help\n");
	front(h, &r);
	CU_ASSERT_EQUAL(r.status, 7);
	CU_ASSERT_STRING_EQUAL(r.out, "xen-4.19: -h\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
	    {"running_xen_picks_its_version", test_running_xen_picks_its_version},
	    {"running_xen_not_installed", test_running_xen_not_installed},
	    {"diverted", test_diverted},
	    {"no_xen_running_takes_the_newest", test_no_xen_running_takes_the_newest},
	    {"bad_sysfs_version", test_bad_sysfs_version},
	    {"xl_real_overrides", test_xl_real_overrides},
	    {"never_itself", test_never_itself},
	    {"front_runs_what_it_found", test_front_runs_what_it_found},
	    {"front_not_found", test_front_not_found},
	    {"front_refuses_itself", test_front_refuses_itself},
	    {"help_lists_own_verbs", test_help_lists_own_verbs},
	    {"help_without_xen", test_help_without_xen},
	    {"own_name_options", test_own_name_options},
	    {"xl_name_keeps_xen_options", test_xl_name_keeps_xen_options},
	};
	char cmd[PATH_MAX + 16];
	unsigned int failed;
	ssize_t n;
	CU_pSuite s;

	/*
	 * Run under another name, this is the front exec'ing itself as Xen's xl:
	 * fail that case instead of running the whole suite again, recursively.
	 */
	if (argc < 1 || !strstr(argv[0], "xl_find_ut")) {
		fprintf(stderr, "xl_find_ut: started as '%s': the front ran itself as Xen's xl\n",
		        argc ? argv[0] : "");
		return 3;
	}
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 2;
	self_exe[n] = '\0';
	snprintf(base, sizeof(base), "/tmp/xl_find_ut.XXXXXX");
	if (!mkdtemp(base))
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("xl_find", NULL, NULL);
	if (!s)
		return 2;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd))
		failed++;
	return failed ? 1 : 0;
}
