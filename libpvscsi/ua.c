/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ua.c - unit attention conditions (SAM-5 5.14, SPC-5 5.14 / 4.6).
 *
 * Each initiator's slot on the LUN carries a bitmap of pending conditions:
 * bit n is reason PVS_SR_UA_POWER_ON + n.  The enum lists the 29h (reset)
 * family first, then 2Ah, 3Fh, so the lowest set bit is the condition with
 * the highest precedence: resets before parameter changes before inventory
 * changes, as SAM-5 5.14 orders them; a CD-ROM's medium change (28h)
 * comes last.  Each condition is reported once, to the first command from
 * that I_T nexus that is not allowed through a UA.
 */
#include "core.h"

#define UA_FIRST PVS_SR_UA_POWER_ON
#define UA_LAST  PVS_SR_UA_MEDIUM_CHANGED

static bool is_ua(int ua)
{
	return ua >= UA_FIRST && ua <= UA_LAST;
}

static uint32_t ua_bit(int ua)
{
	return 1u << (ua - UA_FIRST);
}

/* Lookup only: raising a UA must not use up a slot for an unseen initiator. */
static struct pvsi_initiator *find_slot(struct pvs_lun *lun, uint64_t initiator)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && in->id == initiator)
			return in;
	}
	return NULL;
}

/* Highest-precedence pending condition, cleared: reported exactly once. */
static int take(struct pvsi_initiator *in)
{
	int n;

	if (!in->ua_pending)
		return PVS_SR_OK;
	n = __builtin_ctz(in->ua_pending);
	in->ua_pending &= ~(1u << n);
	return UA_FIRST + n;
}

/*
 * An initiator the LUN has not seen yet gets nothing here: its first
 * command creates its slot with POWER ON pending, which tells it at least
 * as much as any condition raised before it arrived.
 */
void pvsi_ua_raise(struct pvs_lun *lun, uint64_t initiator, enum pvs_sense_reason ua)
{
	struct pvsi_initiator *in;

	if (!is_ua(ua))
		return;
	in = find_slot(lun, initiator);
	if (in)
		in->ua_pending |= ua_bit(ua);
}

void pvsi_ua_raise_all(struct pvs_lun *lun, enum pvs_sense_reason ua, uint64_t except)
{
	if (!is_ua(ua))
		return;
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && in->id != except)
			in->ua_pending |= ua_bit(ua);
	}
}

void pvsi_ua_clear(struct pvs_lun *lun, uint64_t initiator, enum pvs_sense_reason ua)
{
	struct pvsi_initiator *in;

	if (!is_ua(ua))
		return;
	in = find_slot(lun, initiator);
	if (in)
		in->ua_pending &= ~ua_bit(ua);
}

uint32_t pvsi_ua_pending(struct pvs_lun *lun, uint64_t initiator)
{
	struct pvsi_initiator *in = find_slot(lun, initiator);

	return in ? in->ua_pending : 0;
}

/*
 * SPC-5 6.39: with a UA pending, REQUEST SENSE returns it as its parameter
 * data and clears it (UA_INTLCK_CTRL 00b).  A first contact creates the
 * slot, so a new initiator's REQUEST SENSE reports POWER ON.  With the
 * initiator table full there is nothing recorded to report.
 */
int pvsi_ua_take(struct pvs_lun *lun, uint64_t initiator)
{
	struct pvsi_initiator *in = pvsi_initiator_slot(lun, initiator);

	return in ? take(in) : PVS_SR_OK;
}

/*
 * SAM-5 5.14: INQUIRY, REPORT LUNS and REQUEST SENSE (PVSI_OP_UA_OK in the
 * opcode table) run despite a pending UA and do not clear it here; any
 * other command, unknown opcodes included, is terminated with the UA.
 *
 * When the LUN's initiator table is full a new initiator cannot be given
 * its POWER ON condition, so its commands end with TASK SET FULL (SAM-5
 * 5.3: the logical unit lacks the resources for this I_T nexus) rather
 * than running without the UA the standard promises it.
 */
int pvsi_ua_check(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op)
{
	struct pvsi_initiator *in;

	if (op && (op->flags & PVSI_OP_UA_OK))
		return PVS_SR_OK;
	in = pvsi_initiator_slot(lun, req->initiator);
	if (!in)
		return PVS_SR_TASK_SET_FULL;
	return take(in);
}
