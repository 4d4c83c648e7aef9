/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lock.c - the host-wide lock that makes check-then-write safe: two xl runs
 * must not both find a PDEV free and both assign it, or both pick dev-N.
 *
 * flock(2) on a file in /run (tmpfs: no stale lock survives a reboot, and a
 * crashed xl releases it with its last descriptor).  The lock file is never
 * unlinked, so every process locks the same inode.  Nesting is counted so
 * that a command holding it (xl create) can call one that takes it (attach).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "xlp.h"

int xlp_lock(struct xlp_ctx *c)
{
	int fd;

	if (c->lock_fd >= 0) {
		c->lock_depth++;
		return 0;
	}
	fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = -errno;

		xlp_errf(c, "cannot open the lock file %s: %s\n", c->lock_path, strerror(errno));
		return rc;
	}
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			int rc = -errno;

			xlp_errf(c, "cannot lock %s: %s\n", c->lock_path, strerror(errno));
			close(fd);
			return rc;
		}
	}
	c->lock_fd = fd;
	c->lock_depth = 1;
	return 0;
}

void xlp_unlock(struct xlp_ctx *c)
{
	if (c->lock_fd < 0)
		return;
	if (--c->lock_depth > 0)
		return;
	close(c->lock_fd);
	c->lock_fd = -1;
}
