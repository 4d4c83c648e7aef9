/*
 * ctl.h - LUN configuration of pvscsi-vhost-user: the command line's
 * --lun, the config file, and the run-time control socket's commands.
 *
 * Commands (one line each; the reply is one or more lines, the last one
 * "ok" or "error: WHY"):
 *   add T:L SPEC     open SPEC (pvs_lun_open syntax) as target T, LUN L
 *   remove T:L       hot remove (waits for the LUN's requests)
 *   resize T:L       re-read the backing size (PARAM_CHANGE when it changed)
 *   list             one line per LUN: "T:L SPEC blocks=N bs=N inflight=N"
 *   stats            the device's counters
 * The config file holds "lun T:L SPEC" lines; '#' starts a comment.
 */
#ifndef VU_CTL_H
#define VU_CTL_H

#include <stddef.h>

#include "pvscsi/lun.h"
#include "vscsi.h"

/* Parse "T:L" (decimal).  0 or -EINVAL. */
int vuctl_parse_tl(const char *s, unsigned int *target, unsigned int *lun);
/* Open SPEC on @w and add it as T:L.  0 or -errno with a message in @err. */
int vuctl_add(struct vscsi *vs, struct pvs_worker *w, const char *tl, const char *spec, char *err,
              size_t errlen);
/* Run one command line; the reply goes to @out (NUL-terminated). 0 or -errno. */
int vuctl_exec(struct vscsi *vs, struct pvs_worker *w, const char *line, char *out, size_t outlen);
/* Every "lun" line of @path.  0, or -errno with "path:line: why" in @err. */
int vuctl_load(struct vscsi *vs, struct pvs_worker *w, const char *path, char *err, size_t errlen);

#endif
