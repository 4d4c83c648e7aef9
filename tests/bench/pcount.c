/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcount - exact system-call and context-switch counts of running processes,
 * for make bench's per-I/O cost table (docs/performance.md).
 *
 * strace -c stops the traced process at every system call, so what it counts
 * is no longer what the process does at speed; perf's sampling misses most
 * calls in a PV dom0 under TCG.  A perf_event counter on the tracepoint
 * raw_syscalls:sys_enter counts every call in the kernel, for a few
 * instructions each, and the software event context-switches likewise.
 *
 * usage: pcount NAME=PID[,PID...]...
 * Attaches both counters to every thread of every PID, then for every line
 * read on stdin prints "LINE NAME.syscalls=N NAME.cs=N NAME.threads=N..."
 * (each group's totals since attaching) and flushes.  Threads are looked for again at every line
 * (the io_uring workers of a process come and go); a thread's counters start when it is found, so a
 * worker that came and went between two readings is not counted (they make no system calls, only
 * context switches).  Ends at EOF.  Exit 1 when nothing could be attached.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXT 512

#define MAXG 8
#define MAXP 16

struct thr {
	pid_t tid;
	unsigned int group;
	int fd_sys, fd_cs;
};

struct group {
	char name[32];
	pid_t pid[MAXP];
	unsigned int npid;
};

static struct group grp[MAXG];
static unsigned int ngrp;

static struct thr thr[MAXT];
static unsigned int nthr;
static long long sys_id = -1;

static int perf_open(uint32_t type, uint64_t config, pid_t tid)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	/*
	 * No inherit: an inherited count reaches the parent's counter only when
	 * the child exits, and the child is attached on its own at the next
	 * reading anyway.
	 */
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* The tracepoint's id, mounting tracefs if no one has (a minimal dom0). */
static long long tracepoint_id(void)
{
	static const char *const dirs[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char path[128];
	long long id = -1;
	FILE *f;

	for (int pass = 0; pass < 2 && id < 0; pass++) {
		for (unsigned int i = 0; i < 2 && id < 0; i++) {
			snprintf(path, sizeof(path), "%s/events/raw_syscalls/sys_enter/id",
			         dirs[i]);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fscanf(f, "%lld", &id) != 1)
				id = -1;
			fclose(f);
		}
		if (id < 0 && pass == 0)
			mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
	}
	return id;
}

static void attach(pid_t tid, unsigned int g)
{
	struct thr *t;

	for (unsigned int i = 0; i < nthr; i++)
		if (thr[i].tid == tid)
			return;
	if (nthr == MAXT)
		return;
	t = &thr[nthr];
	t->tid = tid;
	t->group = g;
	t->fd_sys = sys_id >= 0 ? perf_open(PERF_TYPE_TRACEPOINT, (uint64_t)sys_id, tid) : -1;
	t->fd_cs = perf_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, tid);
	if (t->fd_sys < 0 && t->fd_cs < 0) {
		fprintf(stderr, "pcount: thread %d: perf_event_open: %s\n", (int)tid,
		        strerror(errno));
		return;
	}
	nthr++;
}

static void scan(pid_t pid, unsigned int g)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return; /* gone: its threads' counters keep their last values */
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			attach((pid_t)atoi(e->d_name), g);
	closedir(d);
}

static void scan_all(void)
{
	for (unsigned int g = 0; g < ngrp; g++)
		for (unsigned int i = 0; i < grp[g].npid; i++)
			scan(grp[g].pid[i], g);
}

static uint64_t total(unsigned int g, int which, unsigned int *nt)
{
	uint64_t sum = 0, v;

	*nt = 0;
	for (unsigned int i = 0; i < nthr; i++) {
		int fd = which ? thr[i].fd_cs : thr[i].fd_sys;

		if (thr[i].group != g)
			continue;
		++*nt;
		if (fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			sum += v;
	}
	return sum;
}

/* NAME=PID[,PID...]; an empty PID list is a group of nothing (all zeros). */
static int parse_group(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct group *g;
	char *end;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(grp[0].name) || ngrp == MAXG)
		return -1;
	g = &grp[ngrp];
	memcpy(g->name, arg, (size_t)(eq - arg));
	for (const char *p = eq + 1; *p; p = end + (*end == ',')) {
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || (*end && *end != ',') || g->npid == MAXP)
			return -1;
		g->pid[g->npid++] = (pid_t)v;
	}
	ngrp++;
	return 0;
}

int main(int argc, char **argv)
{
	char line[256];

	if (argc < 2) {
		fprintf(stderr, "usage: pcount NAME=PID[,PID...]...  (then a line on stdin per "
		                "reading)\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (parse_group(argv[i])) {
			fprintf(stderr, "pcount: '%s' is not NAME=PID[,PID...]\n", argv[i]);
			return 2;
		}
	}
	sys_id = tracepoint_id();
	if (sys_id < 0)
		fprintf(stderr, "pcount: no raw_syscalls:sys_enter tracepoint (tracefs); "
		                "system calls not counted\n");
	scan_all();
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		scan_all();
		printf("%s", line);
		for (unsigned int g = 0; g < ngrp; g++) {
			unsigned int nt;
			uint64_t cs = total(g, 1, &nt), sc = total(g, 0, &nt);

			if (sys_id >= 0)
				printf(" %s.syscalls=%llu", grp[g].name, (unsigned long long)sc);
			printf(" %s.cs=%llu %s.threads=%u", grp[g].name, (unsigned long long)cs,
			       grp[g].name, nt);
		}
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
