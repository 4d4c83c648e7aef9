/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_json.h - pvscsi-vhost-user's control socket: the JSON protocol of
 * common/ctlsock.h with pvscsid's status, stats, metrics and log-level,
 * and this program's management commands (add, remove, resize, insert,
 * eject, list, ctrl-add, ctrl-remove, ctrl-list) with named arguments.  A line that
 * starts with a letter is the older line protocol of ctl.h instead
 * (vuctl_exec()), answered once and the connection closed.  They all run
 * on the one event loop and return at once.  docs/control.md.
 */
#ifndef VU_CTL_JSON_H
#define VU_CTL_JSON_H

#include "ctl.h"
#include "ctlsock.h"

/* The JSON commands, for a pctl_cfg whose arg is a struct vuctl_env. */
extern const struct pctl_command vuctl_json_commands[];
extern const size_t vuctl_json_ncommands;
/* pctl_cfg.line: vuctl_exec() on @arg, a struct vuctl_env. */
int vuctl_line(void *arg, const char *line, char **out);
/* The socket's configuration at @path for @env (kept by pointer): root peers only. */
void vuctl_cfg(struct pctl_cfg *cfg, const char *path, struct vuctl_env *env);

#endif
