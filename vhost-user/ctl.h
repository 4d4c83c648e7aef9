/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl.h - configuration of pvscsi-vhost-user: the command line's --lun,
 * the config file, and the run-time control socket's commands.
 *
 * One process serves several virtio-scsi controllers, one vhost-user socket
 * each, all on one LUN pool (pvscsi/host.h): two guests given the same
 * backing share its reservations and unit attentions.  A command names a
 * controller as NAME/T:L or with a NAME argument; without one it means the
 * first controller (the command line's, named "0" unless --name says
 * otherwise).
 *
 * Commands (one line each; the reply is one or more lines, the last one
 * "ok" or "error: WHY"):
 *   add [NAME/]T:L SPEC       open SPEC (pvscsi/spec.h) as target T, LUN L
 *   remove [NAME/]T:L         hot remove
 *   resize [NAME/]T:L         re-read the backing size (PARAM_CHANGE when it changed)
 *   insert [--force] [NAME/]T:L PATH   load the image PATH into a cdrom: drive
 *   eject [--force] [NAME/]T:L         take its medium out, leave the tray open
 *                             (--force: even while a guest prevents medium removal)
 *   list [NAME]               one line per LUN: "T:L SPEC blocks=N bs=N inflight=N users=N",
 *                             a drive's with " medium=PATH|- tray=open|closed prevented=0|1"
 *   stats [NAME]              the controller's counters
 *   ctrl-add NAME SOCKET [Q]  a new controller listening on SOCKET (Q request queues)
 *   ctrl-remove NAME          disconnect its front-end, give back its LUNs, remove SOCKET
 *   ctrl-list                 "NAME SOCKET connected|listening luns=N initiator=0x..."
 * The config file holds "lun [NAME/]T:L SPEC" and "controller NAME SOCKET [Q]" lines;
 * '#' starts a comment.
 */
#ifndef VU_CTL_H
#define VU_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "pvscsi/lun.h"
#include "vscsi.h"

#define VUCTL_NAME_MAX 32 /* a controller name: [A-Za-z0-9_.-], 1..31 characters */

/* What the commands act on: the process's controllers. */
struct vuctl_env {
	/* The controller named @name (NULL: the first one); NULL when there is none. */
	struct vscsi *(*find)(void *arg, const char *name);
	/* The @i-th controller; false past the end. */
	bool (*get)(void *arg, unsigned int i, const char **name, const char **socket,
	            struct vscsi **vs, bool *connected);
	/* May be NULL: then ctrl-add and ctrl-remove are refused. 0 or -errno with @err. */
	int (*ctrl_add)(void *arg, const char *name, const char *socket, unsigned int queues,
	                const char *iscsi_name, char *err, size_t errlen);
	int (*ctrl_remove)(void *arg, const char *name, char *err, size_t errlen);
	void *arg;
	struct pvs_host *host; /* the LUN pool of every controller */
	struct vscsi *one;     /* vuctl_env_one() */
};

/* An environment of the one controller @vs, named "0" (tools, tests). */
void vuctl_env_one(struct vuctl_env *env, struct vscsi *vs);
/* Whether @s is a valid controller name. */
bool vuctl_name_ok(const char *s);
/*
 * Whether @s can be an iSCSI initiator name: RFC 3720 3.2.6.1, an iqn., eui.
 * or naa. name of at most 223 bytes, no separator of our own syntax (the
 * target checks the rest).
 */
bool vuctl_iscsi_name_ok(const char *s);
/* Whether @s is meant as an iSCSI name (its type prefix), valid or not. */
bool vuctl_iscsi_name_like(const char *s);
/* Parse "T:L" (decimal).  0 or -EINVAL. */
int vuctl_parse_tl(const char *s, unsigned int *target, unsigned int *lun);
/* Add SPEC as [NAME/]T:L.  0 or -errno with a message in @err. */
int vuctl_add(const struct vuctl_env *env, const char *tl, const char *spec, char *err,
              size_t errlen);
/*
 * vuctl_add() through vscsi_lun_add_async(): 0 when added, VSCSI_ADD_PENDING
 * when @done(@arg, rc, err) tells later (after the LUN's log line), or
 * -errno with one line in @err.  @done NULL: vuctl_add(), at once.
 */
int vuctl_add_async(const struct vuctl_env *env, const char *tl, const char *spec,
                    vscsi_added_fn done, void *arg, char *err, size_t errlen);
/*
 * The commands' actions, for the line protocol and the JSON one alike.
 * @op "remove" or "resize" (*@changed: whether the capacity changed).
 * 0 or -errno with one line in @err.  ctrl-add's @queues: 0 the default.
 */
int vuctl_lun_op(const struct vuctl_env *env, const char *op, const char *addr, bool *changed,
                 char *err, size_t errlen);
/*
 * insert (@path) or eject (@path NULL) on the cdrom: drive at @addr
 * ("[NAME/]T:L").  Refused, with nothing changed and one line in @err
 * naming the LUN: -ENOENT no such LUN, -ENOTTY no cdrom: drive, -EBUSY a
 * guest prevents medium removal and not @force, or the image's error.
 * @st (may be NULL) gets the drive's state after it.
 */
int vuctl_cd(const struct vuctl_env *env, const char *addr, const char *path, bool force,
             struct pvs_cd_status *st, char *err, size_t errlen);
/*
 * @iscsi_name (NULL: none): the controller's iSCSI initiator name, which
 * its iscsi:// LUNs log in with (vuctl_iscsi_name_ok()).
 */
int vuctl_ctrl_add(const struct vuctl_env *env, const char *name, const char *socket,
                   unsigned int queues, const char *iscsi_name, char *err, size_t errlen);
int vuctl_ctrl_remove(const struct vuctl_env *env, const char *name, char *err, size_t errlen);
/* Run one command line; the reply goes to @out (NUL-terminated). 0 or -errno. */
int vuctl_exec(const struct vuctl_env *env, const char *line, char *out, size_t outlen);
/* Every line of @path.  0, or -errno with "path:line: why" in @err. */
int vuctl_load(const struct vuctl_env *env, const char *path, char *err, size_t errlen);

#endif
