/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.h - pvscsid's control commands (status, stats, metrics, log-level)
 * on the control socket of common/ctlsock.h; docs/control.md describes
 * them and pvscsictl(8) is their client.  They run on the daemon's one
 * thread and only read (log-level aside): never a wait on a ring or a LUN.
 */
#ifndef PVSD_CONTROL_H
#define PVSD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctlsock.h"
#include "xenbus.h"

/* Where pvscsid listens unless --control says otherwise. */
#define PVSD_DEFAULT_CONTROL "/run/pvscsid/control"

/* The commands, for a pctl_cfg whose arg is the struct pvsd_xenbus. */
extern const struct pctl_command pvsd_ctl_commands[];
extern const size_t pvsd_ctl_ncommands;

/*
 * Open the control socket at @path for @xb.  @peer_ok NULL: root only.
 * 0, or -errno with one line in @err.
 */
int pvsd_ctl_open(const char *path, struct pvsd_xenbus *xb,
                  bool (*peer_ok)(void *arg, pid_t pid, uid_t uid, gid_t gid), struct pctl **out,
                  char *err, size_t errlen);

#endif
