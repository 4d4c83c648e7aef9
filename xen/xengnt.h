/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xengnt.h - the grant-table operations pvscsid needs, behind an ops struct.
 *
 * The daemon picks an implementation at start-up: pvx_gnt_real_ops wraps
 * libxengnttab; tests/fakes/fake_gnt.c provides a memcpy grant table.  No
 * call site chooses by #ifdef.
 *
 * Data never gets mapped: pvscsid moves request data with grant copy only,
 * so no guest page stays mapped when a response is sent (the frontend
 * checks) and a guest cannot change data after the backend validated it.
 * The only mapping is the shared ring page.
 */
#ifndef PVX_XENGNT_H
#define PVX_XENGNT_H

#include <stdint.h>

/*
 * The copy descriptor is libxengnttab's own type (a plain struct, no library
 * call): the real implementation passes the array through without
 * conversion.  flags = GNTCOPY_source_gref or GNTCOPY_dest_gref; the local
 * side is a virtual address.  status receives GNTST_* per element.
 */
#include <xengnttab.h>
#include <xen/grant_table.h>

typedef xengnttab_grant_copy_segment_t pvx_gnt_copy_t;

struct pvx_gnt_ops {
	/*
	 * Map one granted page of @domid read-write (the shared ring).
	 * Returns the address, or NULL with errno set.
	 */
	void *(*map_ring)(void *ctx, uint16_t domid, uint32_t ref);
	/* Unmap what map_ring returned.  0 or -errno. */
	int (*unmap_ring)(void *ctx, void *addr);
	/*
	 * Run @n copy operations as one batch.  Returns 0 when the batch was
	 * executed: then every element's status is valid and must be checked
	 * one by one.  Returns -errno when the call itself failed: treat
	 * every element as failed.  A foreign offset + len over 4096 is an
	 * error of that element (GNTST_bad_copy_arg), never of the process.
	 */
	int (*copy)(void *ctx, pvx_gnt_copy_t *ops, unsigned int n);
};

/* libxengnttab.  ctx is the struct pvx_gnt_real from pvx_gnt_real_open(). */
extern const struct pvx_gnt_ops pvx_gnt_real_ops;

struct pvx_gnt_real;
/* Open /dev/xen/gntdev.  Returns 0 or -errno. */
int pvx_gnt_real_open(struct pvx_gnt_real **out);
void pvx_gnt_real_close(struct pvx_gnt_real *g);

#endif
