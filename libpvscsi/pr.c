/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pr.c - reservations: SPC-2 RESERVE/RELEASE and SPC-5 persistent
 * reservations (PERSISTENT RESERVE IN/OUT), and the conflict check the
 * emulation dispatcher runs before every handler.
 *
 * The I_T nexus is req->initiator.  Registrations live in the initiator's
 * slot on the LUN (struct pvsi_initiator); the reservation in lun->pr.
 * Nothing persists across a daemon restart, so PTPL_C is zero and APTPL
 * is refused.  Only logical-unit scope exists (no element scope), and the
 * LUN has one target port, so SPEC_I_PT / ALL_TG_PT / REGISTER AND MOVE
 * are not supported (SIP_C = ATP_C = 0 in REPORT CAPABILITIES).
 */
#include <string.h>

#include "core.h"

/* SPC-5 6.17.3.4 Table 219: persistent reservation types. */
#define PR_WE    1
#define PR_EA    3
#define PR_WE_RO 5
#define PR_EA_RO 6
#define PR_WE_AR 7
#define PR_EA_AR 8

#define PRO_PARAM_LEN 24 /* SPC-5 6.18.3 basic parameter list */

static bool type_valid(uint8_t t)
{
	return t == PR_WE || t == PR_EA || t == PR_WE_RO || t == PR_EA_RO || t == PR_WE_AR ||
	       t == PR_EA_AR;
}

static bool type_ar(uint8_t t)
{
	return t == PR_WE_AR || t == PR_EA_AR;
}

static bool type_ro(uint8_t t)
{
	return t == PR_WE_RO || t == PR_EA_RO;
}

static bool type_we(uint8_t t)
{
	return t == PR_WE || t == PR_WE_RO || t == PR_WE_AR;
}

/* Lookup without creating: a mere INQUIRY must not use up a slot. */
static struct pvsi_initiator *find_slot(struct pvs_lun *lun, uint64_t initiator)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && in->id == initiator)
			return in;
	}
	return NULL;
}

static struct pvsi_initiator *find_reg(struct pvs_lun *lun, uint64_t initiator)
{
	struct pvsi_initiator *in = find_slot(lun, initiator);

	return in && in->registered ? in : NULL;
}

static bool any_registered(const struct pvs_lun *lun)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++)
		if (lun->initiators[i].used && lun->initiators[i].registered)
			return true;
	return false;
}

/* SPC-5 5.14.10: for all-registrants types every registered I_T nexus holds it. */
static bool is_holder(struct pvs_lun *lun, uint64_t initiator)
{
	if (!lun->pr.pr_reserved)
		return false;
	if (type_ar(lun->pr.pr_type))
		return find_reg(lun, initiator) != NULL;
	return lun->pr.pr_holder == initiator;
}

/* UA to every registered I_T nexus but @except. */
static void ua_registrants(struct pvs_lun *lun, enum pvs_sense_reason ua, uint64_t except)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && in->registered && in->id != except)
			pvsi_ua_raise(lun, in->id, ua);
	}
}

/*
 * SPC-5 5.14.11.2.2: releasing a registrants-only or all-registrants
 * reservation tells the other registrants; WE/EA releases are silent.
 */
static void release_pr(struct pvs_lun *lun, uint64_t releaser)
{
	uint8_t type = lun->pr.pr_type;

	lun->pr.pr_reserved = false;
	lun->pr.pr_holder = 0;
	lun->pr.pr_type = 0;
	if (type_ro(type) || type_ar(type))
		ua_registrants(lun, PVS_SR_UA_RESERVATIONS_RELEASED, releaser);
}

/*
 * SPC-5 5.14.11.3 (unregistering): the holder of a non-all-registrants
 * reservation releases it with its registration; an all-registrants one
 * ends with its last registrant.
 */
static void unregister(struct pvs_lun *lun, struct pvsi_initiator *in)
{
	bool was_holder = is_holder(lun, in->id);

	in->registered = false;
	in->key = 0;
	if (!was_holder)
		return;
	if (type_ar(lun->pr.pr_type)) {
		if (!any_registered(lun))
			release_pr(lun, in->id);
	} else {
		release_pr(lun, in->id);
	}
}

/* ---- the conflict check (SPC-5 5.14.1 / Table 66, SBC-4 4.16) ---- */

/*
 * SPC-2 7.21: while another I_T nexus holds a RESERVE(6/10) reservation
 * only commands that do not touch the unit get through; RELEASE from a
 * non-holder then completes as a no-op in its handler.
 */
static bool spc2_allowed(uint8_t opcode)
{
	switch (opcode) {
	case PVSI_OPC_INQUIRY:
	case PVSI_OPC_REQUEST_SENSE:
	case PVSI_OPC_REPORT_LUNS:
	case PVSI_OPC_RELEASE_6:
	case PVSI_OPC_RELEASE_10:
		return true;
	default:
		return false;
	}
}

int pvsi_pr_check(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op)
{
	const struct pvsi_pr *pr = &lun->pr;
	uint8_t opcode = req->cdb[0];

	if (pr->spc2_reserved && pr->spc2_holder != req->initiator && !spc2_allowed(opcode))
		return PVS_SR_RESERVATION_CONFLICT;
	if (!pr->pr_reserved || is_holder(lun, req->initiator))
		return PVS_SR_OK;

	switch (opcode) {
	case PVSI_OPC_PERSISTENT_RESERVE_IN:
	case PVSI_OPC_PERSISTENT_RESERVE_OUT:
	case PVSI_OPC_RESERVE_6:
	case PVSI_OPC_RELEASE_6:
	case PVSI_OPC_RESERVE_10:
	case PVSI_OPC_RELEASE_10:
		/*
		 * SPC-5 Table 67 (PR OUT service actions) and 5.14.3 (CRH=1):
		 * the handlers apply the registration and key rules.
		 */
		return PVS_SR_OK;
	default:
		break;
	}
	if (op && (op->flags & PVSI_OP_RES_OK))
		return PVS_SR_OK;
	/* Registrants-only and all-registrants types admit every registrant. */
	if ((type_ro(pr->pr_type) || type_ar(pr->pr_type)) && find_reg(lun, req->initiator))
		return PVS_SR_OK;
	/*
	 * Write Exclusive types leave reads to everyone: commands that only
	 * move data to the initiator, and VERIFY and PRE-FETCH (SBC-4 Table
	 * 13).  Exclusive Access types admit nothing.
	 */
	if (type_we(pr->pr_type) && op && !(op->flags & PVSI_OP_WRITE) &&
	    (op->dir == PVS_DIR_FROM_DEV || (op->flags & PVSI_OP_WE_OK)))
		return PVS_SR_OK;
	return PVS_SR_RESERVATION_CONFLICT;
}

void pvsi_pr_nexus_loss(struct pvs_lun *lun, uint64_t initiator)
{
	/* SAM-5 6.3.4: an I_T nexus loss releases its SPC-2 reservation; PRs persist. */
	if (lun->pr.spc2_reserved && lun->pr.spc2_holder == initiator) {
		lun->pr.spc2_reserved = false;
		lun->pr.spc2_holder = 0;
	}
}

void pvsi_pr_lun_reset(struct pvs_lun *lun)
{
	/* SAM-5 6.3.3: a logical unit reset releases SPC-2 reservations; PRs persist. */
	lun->pr.spc2_reserved = false;
	lun->pr.spc2_holder = 0;
}

/* ---- SPC-2 RESERVE / RELEASE ---- */

enum crh { CRH_PROCEED, CRH_NOOP, CRH_CONFLICT };

/*
 * SPC-5 5.14.3 (exceptions to SPC-2 RESERVE and RELEASE, CRH=1): once
 * any I_T nexus is registered, RESERVE and RELEASE conflict, except that
 * they complete as no-ops from a reservation holder, or from a registrant
 * while a registrants-only or all-registrants reservation exists.
 */
static enum crh crh_check(struct pvs_lun *lun, uint64_t initiator)
{
	if (!any_registered(lun))
		return CRH_PROCEED;
	if (find_reg(lun, initiator) &&
	    (is_holder(lun, initiator) ||
	     (lun->pr.pr_reserved && (type_ro(lun->pr.pr_type) || type_ar(lun->pr.pr_type)))))
		return CRH_NOOP;
	return CRH_CONFLICT;
}

/*
 * Third-party reservations (SPC-2 7.21.2) and extents are not supported:
 * RESERVE(6)/RELEASE(6) byte 1 bits 4:0 (3rdPty, device ID, extent) and
 * RESERVE(10)/RELEASE(10) 3RDPTY, LONGID and extent bits must be zero.
 */
static int spc2_cdb_check(struct pvs_req *req)
{
	uint8_t mask =
	    (req->cdb[0] == PVSI_OPC_RESERVE_6 || req->cdb[0] == PVSI_OPC_RELEASE_6) ? 0x1f : 0x13;

	if (req->cdb[1] & mask) {
		pvsi_req_field(req, true, 1, -1);
		return PVS_SR_INVALID_FIELD_IN_CDB;
	}
	return PVS_SR_OK;
}

/*
 * What RESERVE and RELEASE check first: the CDB, then the CRH=1 exceptions.
 * *go says whether the command acts; if not, the result is returned.
 */
static int spc2_begin(struct pvs_lun *lun, struct pvs_req *req, bool *go)
{
	int sr = spc2_cdb_check(req);

	*go = false;
	if (sr)
		return sr;
	switch (crh_check(lun, req->initiator)) {
	case CRH_NOOP:
		return PVS_SR_OK;
	case CRH_CONFLICT:
		return PVS_SR_RESERVATION_CONFLICT;
	case CRH_PROCEED:
		break;
	}
	*go = true;
	return PVS_SR_OK;
}

int pvsi_pr_reserve(struct pvs_lun *lun, struct pvs_req *req)
{
	bool go;
	int sr = spc2_begin(lun, req, &go);

	if (!go)
		return sr;
	if (lun->pr.spc2_reserved && lun->pr.spc2_holder != req->initiator)
		return PVS_SR_RESERVATION_CONFLICT;
	lun->pr.spc2_reserved = true;
	lun->pr.spc2_holder = req->initiator;
	return PVS_SR_OK;
}

int pvsi_pr_release(struct pvs_lun *lun, struct pvs_req *req)
{
	bool go;
	int sr = spc2_begin(lun, req, &go);

	if (!go)
		return sr;
	/* SPC-2 7.22: a release from anyone but the holder is a GOOD no-op. */
	if (lun->pr.spc2_reserved && lun->pr.spc2_holder == req->initiator) {
		lun->pr.spc2_reserved = false;
		lun->pr.spc2_holder = 0;
	}
	return PVS_SR_OK;
}

/* ---- PERSISTENT RESERVE IN (SPC-5 6.17) ---- */

static size_t read_keys(struct pvs_lun *lun, uint8_t *buf)
{
	size_t len = 8;

	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		const struct pvsi_initiator *in = &lun->initiators[i];

		if (!in->used || !in->registered)
			continue;
		pvsi_put_be64(buf + len, in->key);
		len += 8;
	}
	pvsi_put_be32(buf, lun->pr.generation);
	pvsi_put_be32(buf + 4, (uint32_t)(len - 8));
	return len;
}

static size_t read_reservation(struct pvs_lun *lun, uint8_t *buf)
{
	const struct pvsi_pr *pr = &lun->pr;
	uint64_t key = 0;

	pvsi_put_be32(buf, pr->generation);
	if (!pr->pr_reserved)
		return 8;
	/* SPC-5 6.17.3.1: all-registrants reservations report key zero. */
	if (!type_ar(pr->pr_type)) {
		const struct pvsi_initiator *holder = find_reg(lun, pr->pr_holder);

		key = holder ? holder->key : 0;
	}
	pvsi_put_be32(buf + 4, 16);
	pvsi_put_be64(buf + 8, key);
	buf[21] = pr->pr_type; /* SCOPE 0h: logical unit */
	return 24;
}

static size_t report_capabilities(uint8_t *buf)
{
	pvsi_put_be16(buf, 8);
	buf[2] = 0x10; /* CRH; SIP_C, ATP_C, PTPL_C zero */
	/* TMV=1, ALLOW COMMANDS 001b: TEST UNIT READY passes WE and EA reservations. */
	buf[3] = 0x80 | 0x10;
	/* PERSISTENT RESERVATION TYPE MASK (SPC-5 Table 226) */
	buf[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX */
	buf[5] = 0x01;                             /* EX_AC_AR */
	return 8;
}

/*
 * SPC-5 6.17.5: one descriptor per registration.  The core knows an
 * initiator only by its 64-bit nexus identity, so the TransportID uses the
 * SAS format (SPC-5 7.6.4.7: protocol identifier 6h, 8-byte address), the
 * way virtual SAS HBAs present their initiators.  There is one target
 * port, relative port identifier 1.
 */
#define FULL_DESC_LEN 48 /* 24-byte descriptor header + 24-byte TransportID */

static size_t read_full_status(struct pvs_lun *lun, uint8_t *buf)
{
	size_t len = 8;

	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		const struct pvsi_initiator *in = &lun->initiators[i];
		uint8_t *d = buf + len;

		if (!in->used || !in->registered)
			continue;
		pvsi_put_be64(d, in->key);
		if (is_holder(lun, in->id)) {
			d[12] = 0x01;            /* R_HOLDER */
			d[13] = lun->pr.pr_type; /* SCOPE 0h */
		}
		pvsi_put_be16(d + 18, 1);
		pvsi_put_be32(d + 20, FULL_DESC_LEN - 24);
		d[24] = 0x06; /* FORMAT CODE 00b, PROTOCOL IDENTIFIER SAS */
		pvsi_put_be64(d + 28, in->id);
		len += FULL_DESC_LEN;
	}
	pvsi_put_be32(buf, lun->pr.generation);
	pvsi_put_be32(buf + 4, (uint32_t)(len - 8));
	return len;
}

int pvsi_pr_in(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[8 + FULL_DESC_LEN * PVSI_MAX_PR_KEYS];
	uint16_t alloc = pvsi_be16(req->cdb + 7);
	size_t len;

	memset(buf, 0, sizeof(buf));
	switch (req->cdb[1] & 0x1f) {
	case PVSI_SA_PRI_READ_KEYS:
		len = read_keys(lun, buf);
		break;
	case PVSI_SA_PRI_READ_RESERVATION:
		len = read_reservation(lun, buf);
		break;
	case PVSI_SA_PRI_REPORT_CAPABILITIES:
		len = report_capabilities(buf);
		break;
	case PVSI_SA_PRI_READ_FULL_STATUS:
		len = read_full_status(lun, buf);
		break;
	default:
		pvsi_req_field(req, true, 1, 4);
		return PVS_SR_INVALID_FIELD_IN_CDB;
	}
	/* ADDITIONAL LENGTH keeps the full size; the data stops at ALLOCATION LENGTH. */
	if (len > alloc)
		len = alloc;
	req->core.xfer = (uint32_t)pvsi_req_copy_in(req, 0, buf, len);
	return PVS_SR_OK;
}

/* ---- PERSISTENT RESERVE OUT (SPC-5 6.18, 5.14.11) ---- */

struct pro {
	uint8_t sa, scope, type;
	uint64_t res_key, sa_key;
	uint8_t flags; /* parameter byte 20: SPEC_I_PT, ALL_TG_PT, APTPL */
};

/* SPC-5 5.14.7, Table 64: REGISTER and REGISTER AND IGNORE EXISTING KEY. */
static int pro_register(struct pvs_lun *lun, struct pvs_req *req, const struct pro *p)
{
	struct pvsi_initiator *in = find_reg(lun, req->initiator);
	bool ignore = p->sa == PVSI_SA_PRO_REGISTER_AND_IGNORE;

	if (p->flags & 0x04) { /* ALL_TG_PT: ATP_C is zero */
		pvsi_req_field(req, false, 20, 2);
		return PVS_SR_INVALID_FIELD_IN_PARAM;
	}
	if (p->flags & 0x01) { /* APTPL: PTPL_C is zero */
		pvsi_req_field(req, false, 20, 0);
		return PVS_SR_INVALID_FIELD_IN_PARAM;
	}
	if (!in) {
		if (!ignore && p->res_key != 0)
			return PVS_SR_RESERVATION_CONFLICT;
		if (p->sa_key == 0)
			return PVS_SR_OK; /* nothing to register, nothing changes */
		in = pvsi_initiator_slot(lun, req->initiator);
		if (!in)
			return PVS_SR_INSUFFICIENT_REG_RESOURCES;
		in->registered = true;
		in->key = p->sa_key;
		lun->pr.generation++;
		return PVS_SR_OK;
	}
	if (!ignore && p->res_key != in->key)
		return PVS_SR_RESERVATION_CONFLICT;
	if (p->sa_key == 0)
		unregister(lun, in);
	else
		in->key = p->sa_key;
	lun->pr.generation++;
	return PVS_SR_OK;
}

/* SPC-5 5.14.9: RESERVE. */
static int pro_reserve(struct pvs_lun *lun, struct pvs_req *req, const struct pro *p)
{
	if (lun->pr.pr_reserved) {
		/* The holder may repeat its reservation, not change its type. */
		if (is_holder(lun, req->initiator) && lun->pr.pr_type == p->type)
			return PVS_SR_OK;
		return PVS_SR_RESERVATION_CONFLICT;
	}
	lun->pr.pr_reserved = true;
	lun->pr.pr_holder = req->initiator;
	lun->pr.pr_type = p->type;
	return PVS_SR_OK;
}

/* SPC-5 5.14.11.2: RELEASE. */
static int pro_release(struct pvs_lun *lun, struct pvs_req *req, const struct pro *p)
{
	/* No reservation, or a registrant that does not hold it: GOOD, nothing changes. */
	if (!lun->pr.pr_reserved || !is_holder(lun, req->initiator))
		return PVS_SR_OK;
	if (p->type != lun->pr.pr_type)
		return PVS_SR_INVALID_RELEASE_OF_PR;
	release_pr(lun, req->initiator);
	return PVS_SR_OK;
}

/* SPC-5 5.14.11.6: CLEAR. */
static int pro_clear(struct pvs_lun *lun, struct pvs_req *req)
{
	lun->pr.pr_reserved = false;
	lun->pr.pr_holder = 0;
	lun->pr.pr_type = 0;
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (!in->used || !in->registered)
			continue;
		in->registered = false;
		in->key = 0;
		if (in->id != req->initiator)
			pvsi_ua_raise(lun, in->id, PVS_SR_UA_RESERVATIONS_PREEMPTED);
	}
	lun->pr.generation++;
	return PVS_SR_OK;
}

struct preempted {
	uint64_t id[PVSI_MAX_INITIATORS];
	unsigned int n;
};

/*
 * Drop one registration: REGISTRATIONS PREEMPTED to its initiator unless
 * it is the preempting one, and remember it for PREEMPT AND ABORT.
 */
static void preempt_reg(struct pvs_lun *lun, struct pvsi_initiator *in, uint64_t issuer,
                        struct preempted *out)
{
	in->registered = false;
	in->key = 0;
	if (in->id != issuer)
		pvsi_ua_raise(lun, in->id, PVS_SR_UA_REGISTRATIONS_PREEMPTED);
	if (out->n < PVSI_MAX_INITIATORS)
		out->id[out->n++] = in->id;
}

/* SPC-5 5.14.11.4: PREEMPT and PREEMPT AND ABORT. */
static int pro_preempt(struct pvs_lun *lun, struct pvs_req *req, const struct pro *p)
{
	struct pvsi_pr *pr = &lun->pr;
	uint64_t me = req->initiator;
	bool all_reg = pr->pr_reserved && type_ar(pr->pr_type);
	const struct pvsi_initiator *holder = NULL;
	struct preempted gone = {.n = 0};
	bool matched = false;

	if (pr->pr_reserved && !all_reg)
		holder = find_reg(lun, pr->pr_holder);
	if (!all_reg && p->sa_key == 0) {
		/* A zero key names nobody unless everyone holds the reservation. */
		pvsi_req_field(req, false, 8, -1);
		return PVS_SR_INVALID_FIELD_IN_PARAM;
	}

	if (!pr->pr_reserved || all_reg || !holder || holder->key != p->sa_key) {
		/*
		 * 5.14.11.4.3: the key does not name the holder (or there is no
		 * reservation): remove the registrations it names, leave the
		 * reservation.  Under an all-registrants reservation a zero key
		 * removes every other registration and the preempting I_T nexus
		 * takes a new reservation of the requested type.
		 */
		for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
			struct pvsi_initiator *in = &lun->initiators[i];

			if (!in->used || !in->registered)
				continue;
			if (p->sa_key != 0 && in->key != p->sa_key)
				continue;
			matched = true;
			if (all_reg && in->id == me)
				continue;
			preempt_reg(lun, in, me, &gone);
		}
		if (p->sa_key != 0 && !matched)
			return PVS_SR_RESERVATION_CONFLICT;
		if (all_reg && p->sa_key == 0) {
			uint8_t old = pr->pr_type;

			pr->pr_holder = me;
			pr->pr_type = p->type;
			if (old != p->type)
				ua_registrants(lun, PVS_SR_UA_RESERVATIONS_RELEASED, me);
		}
	} else {
		/*
		 * 5.14.11.4.4: the key names the holder: release, remove every
		 * registration with that key except the preempting one, and
		 * reserve for the preempting I_T nexus.  A type change tells the
		 * registrants that remain.
		 */
		uint8_t old = pr->pr_type;

		pr->pr_reserved = false;
		for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
			struct pvsi_initiator *in = &lun->initiators[i];

			if (in->used && in->registered && in->key == p->sa_key && in->id != me)
				preempt_reg(lun, in, me, &gone);
		}
		pr->pr_reserved = true;
		pr->pr_holder = me;
		pr->pr_type = p->type;
		if (old != p->type)
			ua_registrants(lun, PVS_SR_UA_RESERVATIONS_RELEASED, me);
	}
	pr->generation++;

	/* SPC-5 5.14.11.4.5: the preempted I_T nexuses lose their tasks. */
	if (p->sa == PVSI_SA_PRO_PREEMPT_AND_ABORT)
		for (unsigned i = 0; i < gone.n; i++)
			pvsi_tmf_abort_nexus(lun, gone.id[i], req);
	return PVS_SR_OK;
}

int pvsi_pr_out(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t param[PRO_PARAM_LEN];
	uint32_t plen = pvsi_be32(req->cdb + 5);
	struct pro p;
	struct pvsi_initiator *in;
	size_t got;

	p.sa = req->cdb[1] & 0x1f;
	p.scope = req->cdb[2] >> 4;
	p.type = req->cdb[2] & 0x0f;
	if (p.sa > PVSI_SA_PRO_REGISTER_AND_IGNORE) {
		/* REGISTER AND MOVE needs TransportIDs; the rest are reserved. */
		pvsi_req_field(req, true, 1, 4);
		return PVS_SR_INVALID_FIELD_IN_CDB;
	}
	/* SPC-5 6.18.3: without SPEC_I_PT the parameter list is exactly 24 bytes. */
	if (plen < PRO_PARAM_LEN)
		return PVS_SR_PARAM_LIST_LENGTH_ERROR;
	memset(param, 0, sizeof(param));
	got = pvsi_req_copy_out(req, 0, param, sizeof(param));
	req->core.xfer = (uint32_t)got;
	if (got < PRO_PARAM_LEN)
		return PVS_SR_PARAM_LIST_LENGTH_ERROR;
	p.res_key = pvsi_be64(param);
	p.sa_key = pvsi_be64(param + 8);
	p.flags = param[20];
	if (p.flags & 0x08) { /* SPEC_I_PT: SIP_C is zero */
		pvsi_req_field(req, false, 20, 3);
		return PVS_SR_INVALID_FIELD_IN_PARAM;
	}
	if (plen != PRO_PARAM_LEN)
		return PVS_SR_PARAM_LIST_LENGTH_ERROR;

	if (p.sa == PVSI_SA_PRO_REGISTER || p.sa == PVSI_SA_PRO_REGISTER_AND_IGNORE)
		return pro_register(lun, req, &p);

	/* Everything else needs a registration with the matching key. */
	in = find_reg(lun, req->initiator);
	if (!in || in->key != p.res_key)
		return PVS_SR_RESERVATION_CONFLICT;
	if (p.sa == PVSI_SA_PRO_CLEAR)
		return pro_clear(lun, req);
	if (p.scope != 0) {
		pvsi_req_field(req, true, 2, 7);
		return PVS_SR_INVALID_FIELD_IN_CDB;
	}
	if (!type_valid(p.type)) {
		pvsi_req_field(req, true, 2, 3);
		return PVS_SR_INVALID_FIELD_IN_CDB;
	}
	switch (p.sa) {
	case PVSI_SA_PRO_RESERVE:
		return pro_reserve(lun, req, &p);
	case PVSI_SA_PRO_RELEASE:
		return pro_release(lun, req, &p);
	default:
		return pro_preempt(lun, req, &p);
	}
}
