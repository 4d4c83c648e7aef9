/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xs.h - the xenstore operations pvscsid and the xl front need, behind an ops
 * struct so that both run on libxenstore and the unit tests on
 * tests/fakes/fake_xs.
 *
 * Conventions shared by every implementation:
 *   - Paths are absolute; values are byte strings, not necessarily
 *     NUL-terminated in the store, always NUL-terminated when returned.
 *   - Functions returning int give 0 or a negative errno (-ENOENT for a
 *     missing node, -EACCES for a permission failure, -EAGAIN from tx_end
 *     when the transaction must be retried).
 *   - Returned strings and arrays are malloc'd and the caller's to free();
 *     a directory listing is one allocation (free the array only), as in
 *     libxenstore.
 *   - tx 0 (PVX_XS_NOTX) means "outside any transaction".
 *
 * The pvx_ prefix marks the Xen layer (xen/) that every Xen-facing program
 * shares, as pvsd_ marks pvscsid's own code.
 */
#ifndef PVX_XS_H
#define PVX_XS_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t pvx_xs_tx;
#define PVX_XS_NOTX 0u

/* Same values as libxenstore's XS_PERM_*, so the real ops pass them through. */
#define PVX_XS_PERM_NONE  0x0u
#define PVX_XS_PERM_READ  0x1u
#define PVX_XS_PERM_WRITE 0x2u

/*
 * A node's permission list as xenstored keeps it: entry 0 names the owner
 * (who may do anything) and, in .perms, what every domain not listed gets;
 * later entries grant .perms to domain .id.
 */
struct pvx_xs_perm {
	uint32_t id;
	uint32_t perms;
};

#define PVX_XS_MAX_PERMS 16

struct pvx_xs_ops {
	/* Value of @path (NUL-terminated, length in *@len if @len); NULL and errno set on failure.
	 */
	char *(*read)(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *len);
	int (*write)(void *ctx, pvx_xs_tx tx, const char *path, const char *val, unsigned int len);
	int (*mkdir)(void *ctx, pvx_xs_tx tx, const char *path);
	/* Removes @path and everything below it; a missing node is not an error. */
	int (*rm)(void *ctx, pvx_xs_tx tx, const char *path);
	/* Child names of @path; NULL and errno set on failure. */
	char **(*directory)(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *num);
	/* Fills up to @max entries; returns the number of entries or -errno. */
	int (*get_perms)(void *ctx, pvx_xs_tx tx, const char *path, struct pvx_xs_perm *out,
	                 unsigned int max);
	int (*set_perms)(void *ctx, pvx_xs_tx tx, const char *path, const struct pvx_xs_perm *perms,
	                 unsigned int num);
	/*
	 * Watch @path and everything below it.  As xenstored does, one event for
	 * @path itself is queued on registration.
	 */
	int (*watch)(void *ctx, const char *path, const char *token);
	int (*unwatch)(void *ctx, const char *path, const char *token);
	/*
	 * Take one queued watch event without blocking: 1 and malloc'd *@path
	 * and *@token, 0 when none is queued, or -errno (connection lost).
	 */
	int (*read_watch)(void *ctx, char **path, char **token);
	/* Readable while watch events are queued. */
	int (*fileno)(void *ctx);
	int (*tx_start)(void *ctx, pvx_xs_tx *tx);
	/* Commit (or abort); -EAGAIN: nothing was applied, run the transaction again. */
	int (*tx_end)(void *ctx, pvx_xs_tx tx, bool abort);
	void (*close)(void *ctx);
};

struct pvx_xs {
	const struct pvx_xs_ops *ops;
	void *ctx;
};

/* Open the real store (xenstored socket or /dev/xen/xenbus).  0 or -errno. */
int pvx_xs_open_real(struct pvx_xs *out);

/* Conveniences over the ops; same return conventions. */

/* printf into @path. */
int pvx_xs_printf(const struct pvx_xs *xs, pvx_xs_tx tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Read a malloc'd string at "@dir/@name" (@name may be NULL: @dir itself). */
char *pvx_xs_read_at(const struct pvx_xs *xs, pvx_xs_tx tx, const char *dir, const char *name);
/*
 * Read "@dir/@name" as an unsigned decimal number no larger than @max:
 * 0, -ENOENT (absent), -EINVAL (not a plain decimal number: no sign, blank,
 * hex or trailing text), -ERANGE (over @max), or another -errno.
 */
int pvx_xs_read_uint(const struct pvx_xs *xs, pvx_xs_tx tx, const char *dir, const char *name,
                     uint64_t max, uint64_t *out);
/* "@dir/@name" (just @dir when @name is NULL) into @buf: 0 or -ENAMETOOLONG. */
int pvx_xs_path(char *buf, size_t len, const char *dir, const char *name);
/* Whether @path exists (is readable) in @tx. */
bool pvx_xs_exists(const struct pvx_xs *xs, pvx_xs_tx tx, const char *path);
/*
 * Write "@dir/@name" only while @dir exists, in a transaction (retried on
 * EAGAIN a few times).  A plain write would recreate a directory the other
 * side has just removed, and leave litter no one cleans.  0, -ENOENT when
 * @dir is gone, or -errno.
 */
int pvx_xs_write_guarded(const struct pvx_xs *xs, const char *dir, const char *name,
                         const char *val);
/* @dir's XenbusState node: the state, -1 if absent, 0 (Unknown) if not a number. */
int pvx_xs_read_state(const struct pvx_xs *xs, const char *dir);
/*
 * A XenbusState's name as xenbus.h spells it without its prefix ("Unknown",
 * "Initialising", "InitWait", "Initialised", "Connected", "Closing", "Closed",
 * "Reconfiguring", "Reconfigured"), or NULL for any other number.
 */
const char *pvx_xenbus_state_name(int state);
/*
 * 1 if domain @domid may write @path by its permissions (owner, an entry for
 * it, or the default), 0 if not, -errno if they cannot be read.
 */
int pvx_xs_writable_by(const struct pvx_xs *xs, const char *path, uint32_t domid);
/* Strict decimal: digits only, no sign or blank, at most @max; NULL or "" is -EINVAL. */
int pvx_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
