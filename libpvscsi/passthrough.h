/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrough.h - the sg syscalls of passthrough LUNs, behind an ops struct
 * so that tests can stand in a scripted device (tests/fakes/fake_sg.c).
 */
#ifndef PVSCSI_PASSTHROUGH_H
#define PVSCSI_PASSTHROUGH_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * sg keeps at most SG_MAX_QUEUE (16) commands per open file; more are
 * answered TASK SET FULL rather than queued in the daemon.
 */
#define PVSI_SG_MAX_INFLIGHT 16
/* Per-command timeout handed to sg, then the host's error handler takes over. */
#define PVSI_SG_TIMEOUT_MS 60000
/*
 * The same for tape drives, changers and optical drives, whose REWIND,
 * ERASE, LOAD, INITIALIZE ELEMENT STATUS or BLANK take minutes to hours:
 * Linux st's long timeout (ST_LONG_TIMEOUT, 14000 s).  sg cannot abort a
 * command, so a shorter one would fail a good rewind of a long tape.
 */
#define PVSI_SG_LONG_TIMEOUT_MS (14000u * 1000u)

/* Same contracts as the syscalls: -1 and errno on failure. */
struct pvsi_sg_ops {
	int (*open)(const char *path, int flags);
	int (*fstat)(int fd, struct stat *st);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*read)(int fd, void *buf, size_t len);
	int (*close)(int fd);
};

/*
 * Use @ops for passthrough LUNs opened from now on (NULL: the real
 * syscalls).  Set once at start-up, before workers run.  The fd returned by
 * ops->open must be pollable: the worker's epoll waits on it for completions.
 */
void pvsi_sg_set_ops(const struct pvsi_sg_ops *ops);

#endif
