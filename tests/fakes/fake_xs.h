/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_xs.h - an in-memory xenstore for unit tests, behind struct pvx_xs_ops.
 *
 * What it models from xenstored (docs/misc/xenstore.txt):
 *   - a tree of nodes, each with a value and a permission list (entry 0:
 *     owner and everybody's default; later entries: per-domain grants);
 *     domain 0 is privileged, the owner may do anything, others get their
 *     ACL entry or the default.  Writing a missing node creates its missing
 *     ancestors; a new node inherits its parent's permissions and, when an
 *     unprivileged domain creates it, that domain becomes the owner.
 *   - watches per connection: an event for every change to the watched path
 *     or below it, one on registration, and for watches below a removed
 *     node; events only go to connections that may read the node.
 *   - transactions: a private copy of the tree, committed atomically with
 *     the watch events then; the commit fails with EAGAIN when anything else
 *     changed the store meanwhile (xenstored's conflict rule, coarsened), or
 *     when a test injected a failure.
 *   - a pollable fd per connection (an eventfd), readable while events wait.
 * Tests drive the "toolstack" and "frontend" sides with the fake_xs_* helpers
 * (which act as a given domain and fire watches), and hand connections to
 * the code under test with fake_xs_pvsd().
 */
#ifndef FAKE_XS_H
#define FAKE_XS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xs.h"

struct fake_xs;
struct fake_xs_conn;

struct fake_xs *fake_xs_new(void);
/* Frees the store and every connection still open on it. */
void fake_xs_free(struct fake_xs *fx);

/* A connection acting as @domid.  NULL on allocation failure. */
struct fake_xs_conn *fake_xs_connect(struct fake_xs *fx, uint32_t domid);
/* The conn's ops view.  ops->close() closes the connection. */
void fake_xs_pvsd(struct fake_xs_conn *c, struct pvx_xs *out);
extern const struct pvx_xs_ops fake_xs_ops;

/* Helpers acting as @domid with its permissions; they fire watches. 0 or -errno. */
int fake_xs_write(struct fake_xs *fx, uint32_t domid, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fake_xs_rm(struct fake_xs *fx, uint32_t domid, const char *path);
/*
 * Set permissions in xenstore-chmod syntax: "n0 r5" = owner 0 with default
 * none, domain 5 may read (letters n r w b).  With @recurse, on every node
 * below as well.  Acts as domain 0.
 */
int fake_xs_chmod(struct fake_xs *fx, const char *path, const char *spec, bool recurse);
/*
 * The value at @path (privileged view), or NULL if absent.  The pointer is
 * valid until the node is next written or removed.
 */
const char *fake_xs_get(const struct fake_xs *fx, const char *path);
bool fake_xs_exists(const struct fake_xs *fx, const char *path);
/* Permissions of @path in xenstore-ls syntax ("n0,r5") into @buf; -ENOENT if absent. */
int fake_xs_perms_str(const struct fake_xs *fx, const char *path, char *buf, size_t len);
/*
 * Every value written to @path since the store was created or the history
 * was cleared, comma-separated in order ("1,2,4"); "" if none.  Only writes
 * that reached the store count (committed transactions, not aborted ones).
 */
const char *fake_xs_history(struct fake_xs *fx, const char *path);
void fake_xs_clear_history(struct fake_xs *fx);
/* Number of nodes in the store (root included). */
unsigned int fake_xs_count(const struct fake_xs *fx);
/* Queue an event for watches on @path (special paths such as @releaseDomain). */
void fake_xs_fire(struct fake_xs *fx, const char *path);

/* The next @n transaction commits fail with -EAGAIN, applying nothing. */
void fake_xs_fail_commits(struct fake_xs *fx, unsigned int n);
/* Commits attempted / failed with EAGAIN so far. */
unsigned int fake_xs_commits(const struct fake_xs *fx);
unsigned int fake_xs_commit_conflicts(const struct fake_xs *fx);

/* Watch events queued on @c and not yet read. */
unsigned int fake_xs_pending(const struct fake_xs_conn *c);
/* Watches registered on @c. */
unsigned int fake_xs_nwatches(const struct fake_xs_conn *c);

#endif
