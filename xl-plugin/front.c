/*
 * front.c - the xl front installed as /usr/local/sbin/xl, ahead of Xen's.
 *
 * It owns the scsi-* verbs, and wraps create, restore and migrate-receive
 * only when they involve vscsi devices.  Everything else is exec'd to Xen's
 * xl with the very same argv (argv[0] included), so output, exit status and
 * signals are Xen's own: the front adds no process in between.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <libxl.h>
#include <xentoollog.h>

#include "xlp.h"

#define XL_DEFAULT "/usr/lib/xen-4.17/bin/xl"

const char *xlp_xl_real_path(void)
{
	const char *e = getenv("XL_REAL");

	return e && *e ? e : XL_DEFAULT;
}

int xlp_exec_real(const char *xl_real, char **argv)
{
	char self[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	/* Installed over Xen's xl by mistake, the front would exec itself forever. */
	if (n > 0) {
		self[n] = '\0';
		if (realpath(xl_real, real) && !strcmp(real, self)) {
			fprintf(
			    stderr,
			    "xl: %s is this front itself, not Xen's xl; set XL_REAL to Xen's xl\n",
			    xl_real);
			return 127;
		}
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
    {"scsi-list", OWN, xlp_cmd_list, NULL, "List a domain's SCSI LUNs"},
    {"scsi-assignable-list", OWN, xlp_cmd_assignable_list, NULL,
     "List this host's SCSI LUNs, their type and the domain holding each"},
    {"scsi-resolve", OWN, xlp_cmd_resolve, NULL,
     "Find a domain's saved SCSI LUNs on this host and write their p-devs"},
    {"scsi-monitor", OWN, xlp_cmd_monitor, NULL,
     "Re-attach a domain's SCSI LUNs after each reboot (the front starts it)"},
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

int xlp_front_main(int argc, char **argv)
{
	struct xlp_ctx c;
	const struct cmd *cmd;
	int i, rc;

	for (i = 1; i < argc && global_opt(argv[i]); i++)
		;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	cmd = i < argc ? find_cmd(argv[i]) : NULL;
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
