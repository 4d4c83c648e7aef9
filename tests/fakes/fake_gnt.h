/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_gnt.h - an in-process grant table for tests: (domid, gref) -> page.
 *
 * The fake frontend grants pages of its own memory; the backend under test
 * reaches them only through fake_gnt_ops (map_ring, unmap_ring, copy), which
 * enforce what Xen enforces: unknown or revoked refs, wrong domain, writes
 * to read-only grants and foreign ranges over a page fail per element.
 * Error injection and a post-copy hook let tests play a hostile guest.
 */
#ifndef FAKE_GNT_H
#define FAKE_GNT_H

#include <stdbool.h>
#include <stdint.h>

#include "xengnt.h"

#define FAKE_GNT_MAX 8192 /* grant entries */

struct fake_gnt;

extern const struct pvx_gnt_ops fake_gnt_ops; /* ctx: struct fake_gnt * */

struct fake_gnt *fake_gnt_new(void);
void fake_gnt_free(struct fake_gnt *g);

/* Grant @page (4096 bytes) to the backend as @domid; returns the gref (never 0), 0 if full. */
uint32_t fake_gnt_grant(struct fake_gnt *g, uint16_t domid, void *page, bool readonly);
/* End access; returns false if the ref is still mapped (the frontend's check). */
bool fake_gnt_revoke(struct fake_gnt *g, uint32_t gref);
unsigned int fake_gnt_active(const struct fake_gnt *g);

/*
 * Make copy element number @nth (0-based, counted over all copy elements
 * from now on) fail with @status (GNTST_*) without copying.  One shot.
 */
void fake_gnt_fail_nth(struct fake_gnt *g, unsigned int nth, int16_t status);
/* Make the next @n copy calls fail as a whole with -@err. */
void fake_gnt_fail_calls(struct fake_gnt *g, unsigned int n, int err);
/* Disarm fake_gnt_fail_nth() and fake_gnt_fail_calls() that have not fired yet. */
void fake_gnt_fail_clear(struct fake_gnt *g);
/* Make map_ring fail with errno @err (0: stop failing). */
void fake_gnt_fail_map(struct fake_gnt *g, int err);

/* Called after every copy call: a hostile guest rewriting shared memory. */
void fake_gnt_set_copy_hook(struct fake_gnt *g, void (*hook)(void *arg), void *arg);

struct fake_gnt_stats {
	uint64_t copy_calls;
	uint64_t copy_elems;
	uint64_t copy_bytes;
	unsigned int mapped; /* map_ring mappings currently held */
	uint64_t maps;
};
void fake_gnt_get_stats(const struct fake_gnt *g, struct fake_gnt_stats *out);

#endif
