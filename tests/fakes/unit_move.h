/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unit_move.h - the checks of pvs_unit_move() (pvscsi/host.h) that are the
 * same for every kind of LUN: each kind's suite opens a unit on a worker
 * of its own and hands it here.  CUnit asserts.
 */
#ifndef UNIT_MOVE_H
#define UNIT_MOVE_H

#include <stdbool.h>
#include <stdint.h>

struct pvs_unit;
struct pvs_worker;

/* The flags of um_check_move(). */
#define UM_RO     0x1u /* read block @lba only (its data the same before and after) */
#define UM_INLINE 0x2u /* the kind completes in pvs_submit() (mem:): nothing is ever in flight */

/*
 * @u is open on worker @a (not the pool's: it is freed here), @b another
 * worker; block @lba is the test's.  Checks that:
 * - a command submitted and not yet run keeps @u busy and its move -EBUSY,
 *   naming it;
 * - once idle (running @a) it moves to @b, and pvs_unit_worker() says so;
 * - a command submitted then completes by running @b alone, running @a
 *   completes nothing of it, and the data are what was written (read);
 * - with @a freed, I/O on @b goes on.
 */
void um_check_move(struct pvs_unit *u, struct pvs_worker *a, struct pvs_worker *b, uint64_t lba,
                   unsigned int flags);
/*
 * @b refuses every registration (its epoll set stands swapped for an
 * eventfd during the call): pvs_unit_move() fails with @err naming @u and
 * what was refused, and @u stays on @a, where a command still completes
 * (and not by running @b).  @b is as before afterwards.
 */
void um_check_refused(struct pvs_unit *u, struct pvs_worker *a, struct pvs_worker *b, uint64_t lba);
/* Run @w until @u is idle (at most about 5 s); whether it is. */
bool um_settle(struct pvs_unit *u, struct pvs_worker *w);

#endif
