/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pvscsi/map.h - the guest's view: v-dev (channel, target, lun) -> LUN, and
 * the target emulation that answers for LUNs the guest was not given.
 *
 * One map per guest controller (vscsiif vhost, virtio-scsi device).  The
 * guest sees its own numbering: REPORT LUNS lists the map's LUNs for that
 * (channel, target), never the host's.
 */
#ifndef PVSCSI_MAP_H
#define PVSCSI_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "pvscsi/lun.h"

#define PVS_MAP_MAX_LUN 16383 /* flat/peripheral LUN addressing limit (SAM-5 4.7) */

struct pvs_map;
struct pvs_unit;

int pvs_map_new(struct pvs_map **out);
/* Frees the map; LUNs added by pvs_map_add() stay the caller's, attached units go back. */
void pvs_map_free(struct pvs_map *m);

/*
 * Add or remove a v-dev at run time.  add: -EEXIST when taken, -EINVAL for a
 * LUN number over PVS_MAP_MAX_LUN.  remove: -ENOENT when absent; the LUN is
 * returned in @out (if non-NULL) and is the caller's to close.  Adding or
 * removing queues a REPORTED LUNS DATA HAS CHANGED unit attention for the
 * other LUNs of that target.
 */
int pvs_map_add(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                struct pvs_lun *l);
int pvs_map_remove(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_lun **out);
/*
 * pvs_map_add() of a unit of the pool (pvscsi/host.h): the map takes over
 * the caller's reference, and gives it back to the pool on pvs_map_detach()
 * or pvs_map_free(); the pool then closes the LUN once nobody uses it.
 */
int pvs_map_attach(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_unit *u);
int pvs_map_detach(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun);
/* The unit attached at the v-dev; NULL when none (or a LUN added by pvs_map_add()). */
struct pvs_unit *pvs_map_unit(const struct pvs_map *m, uint32_t channel, uint32_t target,
                              uint32_t lun);
struct pvs_lun *pvs_map_lookup(const struct pvs_map *m, uint32_t channel, uint32_t target,
                               uint32_t lun);
unsigned int pvs_map_count(const struct pvs_map *m);

/*
 * Route a command.  Returns -ENODEV, without completing @req, when no LUN
 * exists at (channel, target) at all: the transport answers NO_CONNECT /
 * BAD_TARGET.  Otherwise returns 0 and @req completes through req->done:
 * REPORT LUNS is answered from the map (unless the addressed LUN is raw
 * passthrough), INQUIRY to an unmapped LUN answers peripheral qualifier
 * 011b, and any other command to an unmapped LUN gets LOGICAL UNIT NOT
 * SUPPORTED.
 */
int pvs_map_submit(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_req *req);
/*
 * Whether this initiator's transport takes a command's data-in from
 * req->data_in when the core sets it (pvscsi/lun.h): a transport that
 * copies data-in anyway (a grant copy into the guest) then copies once,
 * from the LUN's memory, instead of twice.  Off unless set.
 */
void pvs_map_set_lend(struct pvs_map *m, bool on);
/*
 * With lending on: whether the command @cdb to (@channel, @target, @lun)
 * may be submitted before its data-out is fetched, with
 * pvs_map_submit_lend_out(): a plain WRITE to a mem: LUN, whose checks
 * need none of its data and whose data goes nowhere but the medium.  The
 * transport then copies the data-out once, straight into the LUN's memory
 * (req->data_out), instead of into its buffers and from there again.
 */
bool pvs_map_lends_out(const struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                       const uint8_t *cdb);
/*
 * pvs_map_submit() for a command pvs_map_lends_out() accepted, its data-out
 * not fetched: req->iov gives only the lengths.  When it completes,
 * req->data_out says where that data-out goes (NULL when the command
 * ended before it wrote anything).  -EPROTO, without completing @req,
 * for a command the map does not lend for (a transport's bug).
 */
int pvs_map_submit_lend_out(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                            struct pvs_req *req);
/*
 * Task management for (@channel, @target, @lun).  I_T NEXUS RESET (SAM-5
 * 7.6) acts on every LUN of the target mapped for this initiator, one after
 * another, and then completes @tmf once, FUNCTION COMPLETE unless a LUN
 * answered otherwise; the other functions act on the one LUN.  Returns
 * -ENODEV, without completing @tmf, when no LUN exists at (channel, target)
 * (the transport answers BAD_TARGET), -ENOENT when a LUN-level function
 * names an unmapped LUN (INCORRECT LUN); otherwise 0 and tmf->done runs,
 * possibly before this returns.  A map made by pvs_host_map_new() sets
 * tmf->initiator.
 */
int pvs_map_tmf(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                struct pvs_tmf *tmf);
/*
 * The @i-th v-dev in (channel, target, lun) order: true and the numbers and
 * LUN, false past the end.
 */
bool pvs_map_get(const struct pvs_map *m, unsigned int i, uint32_t *channel, uint32_t *target,
                 uint32_t *lun, struct pvs_lun **l);
/* Whether any LUN is mapped at (channel, target). */
bool pvs_map_target_exists(const struct pvs_map *m, uint32_t channel, uint32_t target);

/*
 * pvs_cdb_xfer() for the LUN or the target emulation that pvs_map_submit()
 * would route @cdb to; false also when there is no such target.
 */
bool pvs_map_cdb_xfer(const struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                      const uint8_t *cdb, unsigned int cdb_len, uint8_t *dir, uint64_t *len);

#endif
