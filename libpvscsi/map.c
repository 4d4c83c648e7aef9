/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * map.c - one guest controller's v-dev map, (channel, target, lun) ->
 * struct pvs_lun, and the target-level answers for LUNs it was not given.
 *
 * The map is an array sorted by (channel, target, lun): lookup on the I/O
 * path is a binary search with no allocation, and the LUNs of one target
 * are a contiguous ascending run, which is exactly REPORT LUNS' order.
 * Adding and removing (rare, from the toolstack) pay the O(n) insertion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "host_int.h"
#include "pvscsi/host.h"

struct map_ent {
	uint32_t channel, target, lun;
	struct pvs_lun *l;
	struct pvs_unit *u; /* the pool's unit, a reference the map holds; NULL: the caller's LUN */
	bool lends_out;     /* its WRITEs may run before their data-out (lun_lends_out()) */
};

struct pvs_map {
	struct map_ent *ents;
	unsigned int n, cap;
	/* A map of a pvs_host: its I_T nexus, and the host's list of maps. */
	struct pvs_host *host;
	uint64_t initiator;
	struct pvs_map *next;
	bool lend; /* pvs_map_set_lend() */
};

/*
 * Whether @l's WRITEs may run before their data-out is fetched
 * (pvs_map_lends_out()): an emulated disk whose store lends its medium as
 * the copy's target; stage_write() hands the request's own iov to
 * writev(), where the data would have been read.  Fixed at its open.
 */
static bool lun_lends_out(const struct pvs_lun *l)
{
	return l && l->ops == &pvsi_emulated_ops && l->store && l->store->lend_out &&
	       l->dclass == PVSI_DC_SBC;
}

static int key_cmp(const struct map_ent *e, uint32_t c, uint32_t t, uint32_t l)
{
	if (e->channel != c)
		return e->channel < c ? -1 : 1;
	if (e->target != t)
		return e->target < t ? -1 : 1;
	if (e->lun != l)
		return e->lun < l ? -1 : 1;
	return 0;
}

/* Index of the first entry >= (c, t, l). */
static unsigned int lower_bound(const struct pvs_map *m, uint32_t c, uint32_t t, uint32_t l)
{
	unsigned int lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (key_cmp(&m->ents[mid], c, t, l) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool same_target(const struct pvs_map *m, unsigned int i, uint32_t c, uint32_t t)
{
	return i < m->n && m->ents[i].channel == c && m->ents[i].target == t;
}

/*
 * The entry of (c, t, l), or NULL: the search of every command, so inline,
 * stopping at the entry itself, with channel and target compared as one
 * 64-bit key.
 */
static inline struct map_ent *find(const struct pvs_map *m, uint32_t c, uint32_t t, uint32_t l)
{
	uint64_t ct = (uint64_t)c << 32 | t;
	unsigned int lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct map_ent *e = &m->ents[mid];
		uint64_t ect = (uint64_t)e->channel << 32 | e->target;

		if (ect == ct && e->lun == l)
			return e;
		if (ect < ct || (ect == ct && e->lun < l))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool pvs_map_target_exists(const struct pvs_map *m, uint32_t channel, uint32_t target)
{
	return same_target(m, lower_bound(m, channel, target, 0), channel, target);
}

int pvs_map_new(struct pvs_map **out)
{
	struct pvs_map *m = calloc(1, sizeof(*m));

	*out = m;
	return m ? 0 : -ENOMEM;
}

void pvs_map_free(struct pvs_map *m)
{
	if (!m)
		return;
	if (m->host)
		pvsi_host_map_gone(m->host, m);
	for (unsigned int i = 0; i < m->n; i++)
		pvs_unit_put(m->ents[i].u);
	free(m->ents);
	free(m);
}

unsigned int pvs_map_count(const struct pvs_map *m)
{
	return m->n;
}

void pvsi_map_attach_host(struct pvs_map *m, struct pvs_host *h, uint64_t initiator,
                          struct pvs_map *next)
{
	m->host = h;
	m->initiator = initiator;
	m->next = next;
}

struct pvs_map *pvsi_map_detach_host(struct pvs_map *m)
{
	struct pvs_map *next = m->next;

	m->host = NULL;
	m->next = NULL;
	return next;
}

struct pvs_map *pvsi_map_next(const struct pvs_map *m)
{
	return m->next;
}

struct pvs_map **pvsi_map_nextp(struct pvs_map *m)
{
	return &m->next;
}

int pvs_map_attach(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_unit *u)
{
	int rc = pvs_map_add(m, channel, target, lun, pvs_unit_lun(u));

	if (rc == 0)
		m->ents[lower_bound(m, channel, target, lun)].u = u;
	return rc;
}

int pvs_map_detach(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun)
{
	struct pvs_unit *u = pvs_map_unit(m, channel, target, lun);
	int rc = pvs_map_remove(m, channel, target, lun, NULL);

	if (rc == 0)
		pvs_unit_put(u);
	return rc;
}

struct pvs_unit *pvs_map_unit(const struct pvs_map *m, uint32_t channel, uint32_t target,
                              uint32_t lun)
{
	const struct map_ent *e = find(m, channel, target, lun);

	return e ? e->u : NULL;
}

bool pvs_map_get(const struct pvs_map *m, unsigned int i, uint32_t *channel, uint32_t *target,
                 uint32_t *lun, struct pvs_lun **l)
{
	if (i >= m->n)
		return false;
	*channel = m->ents[i].channel;
	*target = m->ents[i].target;
	*lun = m->ents[i].lun;
	*l = m->ents[i].l;
	return true;
}

struct pvs_lun *pvs_map_lookup(const struct pvs_map *m, uint32_t channel, uint32_t target,
                               uint32_t lun)
{
	const struct map_ent *e = find(m, channel, target, lun);

	return e ? e->l : NULL;
}

/* SPC-5 6.33 / SAM-5 5.14: the inventory changed for the target's other LUNs. */
static void luns_changed(struct pvs_map *m, uint32_t c, uint32_t t, const struct pvs_lun *except)
{
	for (unsigned int i = lower_bound(m, c, t, 0); same_target(m, i, c, t); i++)
		if (m->ents[i].l != except)
			pvsi_ua_raise_all(m->ents[i].l, PVS_SR_UA_LUNS_CHANGED, UINT64_MAX);
}

int pvs_map_add(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                struct pvs_lun *l)
{
	unsigned int i;

	if (lun > PVS_MAP_MAX_LUN || !l)
		return -EINVAL;
	i = lower_bound(m, channel, target, lun);
	if (i < m->n && key_cmp(&m->ents[i], channel, target, lun) == 0)
		return -EEXIST;
	if (m->n == m->cap) {
		unsigned int cap = m->cap ? m->cap * 2 : 16;
		struct map_ent *e = realloc(m->ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		m->ents = e;
		m->cap = cap;
	}
	memmove(&m->ents[i + 1], &m->ents[i], (m->n - i) * sizeof(*m->ents));
	m->ents[i] = (struct map_ent){channel, target, lun, l, NULL, lun_lends_out(l)};
	m->n++;
	luns_changed(m, channel, target, l);
	return 0;
}

int pvs_map_remove(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_lun **out)
{
	unsigned int i = lower_bound(m, channel, target, lun);
	struct pvs_lun *l;

	if (out)
		*out = NULL;
	if (i >= m->n || key_cmp(&m->ents[i], channel, target, lun) != 0)
		return -ENOENT;
	l = m->ents[i].l;
	memmove(&m->ents[i], &m->ents[i + 1], (m->n - i - 1) * sizeof(*m->ents));
	m->n--;
	luns_changed(m, channel, target, NULL);
	if (out)
		*out = l;
	return 0;
}

/* ---- target emulation: the request belongs to no LUN ---- */

/* What pvs_submit() does for a LUN, minus the in-flight list. */
static void target_begin(struct pvs_req *req)
{
	uint64_t len = 0;

	memset(&req->core, 0, sizeof(req->core));
	req->data_in = NULL;
	req->data_out = NULL;
	req->data_out_len = 0;
	req->core.field = -1;
	req->status = PVS_STATUS_GOOD;
	req->host = PVS_HOST_OK;
	req->sense_len = 0;
	req->residual = 0;
	for (unsigned int i = 0; i < req->iovcnt; i++)
		len += req->iov[i].iov_len;
	req->core.data_len = len;
}

static int invalid_cdb(struct pvs_req *req, int byte, int bit)
{
	pvsi_req_field(req, true, byte, bit);
	return PVS_SR_INVALID_FIELD_IN_CDB;
}

/* SAM-5 4.7.7.2 peripheral device (LUN < 256) or 4.7.7.4 flat space addressing. */
static void encode_lun(uint8_t ent[8], uint32_t lun)
{
	memset(ent, 0, 8);
	if (lun < 256) {
		ent[1] = (uint8_t)lun;
	} else {
		ent[0] = (uint8_t)(0x40 | (lun >> 8));
		ent[1] = (uint8_t)lun;
	}
}

/*
 * SPC-5 6.33 REPORT LUNS, answered from the map: the guest sees its own
 * numbering.  The list is written entry by entry straight into the
 * initiator's buffers up to ALLOCATION LENGTH, so no response buffer sized
 * for 16384 LUNs is needed; LUN LIST LENGTH always gives the full size.
 */
static int report_luns(struct pvs_map *m, unsigned int first, uint32_t c, uint32_t t,
                       struct pvs_req *req)
{
	uint8_t hdr[8] = {0}, ent[8];
	uint8_t select;
	uint32_t alloc, count = 0;
	uint64_t limit, off;

	if (req->cdb_len < 12)
		return PVS_SR_INVALID_FIELD_IN_CDB;
	select = req->cdb[2];
	alloc = pvsi_be32(req->cdb + 6);
	/* 00h all, 01h well known only (we have none), 02h all including well known. */
	if (select > 0x02)
		return invalid_cdb(req, 2, -1);
	if (alloc < 16)
		return invalid_cdb(req, 6, -1);

	if (select != 0x01)
		for (unsigned int i = first; same_target(m, i, c, t); i++)
			count++;
	pvsi_put_be32(hdr, count * 8);

	limit = alloc < req->core.data_len ? alloc : req->core.data_len;
	off = pvsi_req_copy_in(req, 0, hdr, limit < 8 ? (size_t)limit : 8);
	for (unsigned int k = 0; k < count && off < limit; k++) {
		uint64_t n = limit - off;

		encode_lun(ent, m->ents[first + k].lun);
		off += pvsi_req_copy_in(req, (size_t)off, ent, n < 8 ? (size_t)n : 8);
	}
	req->core.xfer = (uint32_t)off;

	/*
	 * SAM-5 5.14: REPORT LUNS reports no unit attention, but clears a
	 * pending REPORTED LUNS DATA HAS CHANGED for this I_T nexus.
	 */
	for (unsigned int i = first; same_target(m, i, c, t); i++)
		pvsi_ua_clear(m->ents[i].l, req->initiator, PVS_SR_UA_LUNS_CHANGED);
	return PVS_SR_OK;
}

/*
 * SPC-5 6.7.2: peripheral qualifier 011b, device type 1Fh: "not capable of
 * supporting a peripheral device on this logical unit".  EVPD requests get
 * the same header on the Supported VPD Pages page, listing only itself.
 */
static int inquiry_unmapped(struct pvs_map *m, unsigned int first, uint32_t c, uint32_t t,
                            struct pvs_req *req)
{
	uint8_t buf[36];
	uint16_t alloc;
	size_t len;

	(void)m, (void)first, (void)c, (void)t;
	if (req->cdb_len < 6)
		return PVS_SR_INVALID_FIELD_IN_CDB;
	alloc = pvsi_be16(req->cdb + 3);
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x7f;
	if (req->cdb[1] & 0x02) /* CMDDT (obsolete) */
		return invalid_cdb(req, 1, 1);
	if (req->cdb[1] & 0x01) {
		if (req->cdb[2] != 0x00)
			return invalid_cdb(req, 2, -1);
		buf[3] = 1;    /* PAGE LENGTH */
		buf[4] = 0x00; /* supported VPD pages: 00h */
		len = 5;
	} else {
		if (req->cdb[2] != 0x00)
			return invalid_cdb(req, 2, -1);
		buf[2] = 0x07; /* VERSION: SPC-5 */
		buf[3] = 0x02; /* RESPONSE DATA FORMAT */
		buf[4] = sizeof(buf) - 5;
		memcpy(buf + 8, "PVSCSI  ", 8);
		memcpy(buf + 16, "NO LUN          ", 16);
		memcpy(buf + 32, "0001", 4);
		len = sizeof(buf);
	}
	if (len > alloc)
		len = alloc;
	req->core.xfer = (uint32_t)pvsi_req_copy_in(req, 0, buf, len);
	return PVS_SR_OK;
}

/*
 * SPC-5 6.39: REQUEST SENSE to a logical unit that is not supported
 * returns LOGICAL UNIT NOT SUPPORTED as parameter data with GOOD status,
 * in descriptor format when DESC asks for it.
 */
static int request_sense_unmapped(struct pvs_map *m, unsigned int first, uint32_t c, uint32_t t,
                                  struct pvs_req *req)
{
	uint8_t buf[PVS_SENSE_MAX];
	size_t len;

	(void)m, (void)first, (void)c, (void)t;
	if (req->cdb_len < 6)
		return PVS_SR_INVALID_FIELD_IN_CDB;
	len = pvsi_sense_data(PVS_SR_LUN_NOT_SUPPORTED, req->cdb[1] & 0x01, buf, sizeof(buf));
	if (len > req->cdb[4])
		len = req->cdb[4];
	req->core.xfer = (uint32_t)pvsi_req_copy_in(req, 0, buf, len);
	return PVS_SR_OK;
}

/*
 * The target's own answers, for the commands the opcode table marks
 * PVSI_OP_TARGET; anything else to a LUN the initiator was not given is
 * LOGICAL UNIT NOT SUPPORTED (SPC-5 4.2 / SAM-5 5.9.4).
 */
static const struct {
	uint8_t opcode;
	int (*fn)(struct pvs_map *m, unsigned int first, uint32_t c, uint32_t t,
	          struct pvs_req *req);
} target_handlers[] = {
    {PVSI_OPC_REPORT_LUNS, report_luns},
    {PVSI_OPC_INQUIRY, inquiry_unmapped},
    {PVSI_OPC_REQUEST_SENSE, request_sense_unmapped},
};

static int target_command(struct pvs_map *m, unsigned int first, uint32_t c, uint32_t t,
                          struct pvs_req *req)
{
	const struct pvsi_opcode *op = pvsi_opcode_find(req->cdb, req->cdb_len);

	if (!op || !(op->flags & PVSI_OP_TARGET))
		return PVS_SR_LUN_NOT_SUPPORTED;
	for (size_t i = 0; i < sizeof(target_handlers) / sizeof(target_handlers[0]); i++)
		if (target_handlers[i].opcode == op->opcode)
			return target_handlers[i].fn(m, first, c, t, req);
	/* A TARGET flag without a handler here is a table error a unit test catches. */
	return PVS_SR_LUN_NOT_SUPPORTED;
}

bool pvsi_map_target_handles(uint8_t opcode)
{
	for (size_t i = 0; i < sizeof(target_handlers) / sizeof(target_handlers[0]); i++)
		if (target_handlers[i].opcode == opcode)
			return true;
	return false;
}

/*
 * Whether mapped LUN @l answers @cdb itself: everything but REPORT LUNS,
 * which the map answers in the guest's numbering, unless @l is raw
 * passthrough, which answers everything.
 */
static bool lun_answers(const struct pvs_lun *l, const uint8_t *cdb, unsigned int cdb_len)
{
	return l && cdb_len && !(cdb[0] == PVSI_OPC_REPORT_LUNS && !pvs_lun_is_raw(l));
}

bool pvs_map_cdb_xfer(const struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                      const uint8_t *cdb, unsigned int cdb_len, uint8_t *dir, uint64_t *len)
{
	struct pvs_lun *l = lun <= PVS_MAP_MAX_LUN ? pvs_map_lookup(m, channel, target, lun) : NULL;

	if (lun_answers(l, cdb, cdb_len))
		return pvs_cdb_xfer(l, cdb, cdb_len, dir, len);
	if (!l && !same_target(m, lower_bound(m, channel, target, 0), channel, target))
		return false;
	return pvs_cdb_xfer(NULL, cdb, cdb_len, dir, len);
}

/*
 * pvs_map_submit() for what no mapped LUN answers.  Apart (not inlined):
 * its registers would otherwise be saved and restored on every command.
 */
__attribute__((noinline)) static int submit_to_target(struct pvs_map *m, uint32_t channel,
                                                      uint32_t target, struct pvs_req *req)
{
	unsigned int first = lower_bound(m, channel, target, 0);

	if (!same_target(m, first, channel, target))
		return -ENODEV;
	if (req->cdb_len == 0) {
		/* Nothing to route on: answer as the target would for a bad CDB. */
		target_begin(req);
		pvsi_req_complete(req, PVS_SR_INVALID_OPCODE);
		return 0;
	}

	target_begin(req);
	pvsi_req_complete(req, target_command(m, first, channel, target, req));
	return 0;
}

void pvs_map_set_lend(struct pvs_map *m, bool on)
{
	m->lend = on;
}

int pvs_map_submit(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                   struct pvs_req *req)
{
	const struct map_ent *e = lun <= PVS_MAP_MAX_LUN ? find(m, channel, target, lun) : NULL;
	struct pvs_lun *l = e ? e->l : NULL;

	if (m->host)
		req->initiator = m->initiator;
	/* A mapped LUN proves its target exists, so the common case needs one search, not two. */
	if (lun_answers(l, req->cdb, req->cdb_len)) {
		pvsi_submit(l, req, m->lend ? PVSI_RF_LEND : 0);
		return 0;
	}
	return submit_to_target(m, channel, target, req);
}

/*
 * The commands that may run before their data-out is fetched (with
 * lun_lends_out()): plain WRITEs, not WRITE AND VERIFY, which compares
 * the data, nor the others that read it.
 */
static inline bool write_op(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case PVSI_OPC_WRITE_6:
	case PVSI_OPC_WRITE_10:
	case PVSI_OPC_WRITE_12:
	case PVSI_OPC_WRITE_16:
		return true;
	default:
		return false;
	}
}

bool pvs_map_lends_out(const struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                       const uint8_t *cdb)
{
	const struct map_ent *e;

	if (!m->lend || lun > PVS_MAP_MAX_LUN || !write_op(cdb))
		return false;
	e = find(m, channel, target, lun);
	return e && e->lends_out;
}

int pvs_map_submit_lend_out(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                            struct pvs_req *req)
{
	const struct map_ent *e = lun <= PVS_MAP_MAX_LUN ? find(m, channel, target, lun) : NULL;

	/* Without its data the command must not reach anything that reads it. */
	if (!m->lend || !e || !e->lends_out || !req->cdb_len || !write_op(req->cdb))
		return -EPROTO;
	if (m->host)
		req->initiator = m->initiator;
	pvsi_submit(e->l, req, PVSI_RF_LEND | PVSI_RF_LEND_OUT);
	return 0;
}

/* ---- task management ---- */

static void nexus_step(struct pvs_tmf *tmf);

static void nexus_lun_done(struct pvs_tmf *tmf)
{
	if (tmf->result != PVS_TMF_FUNCTION_COMPLETE)
		tmf->walk_result = tmf->result;
	nexus_step(tmf);
}

/*
 * The next LUN of the target after the last one reset, found afresh each
 * time: the map may change while a LUN drains, and a position would skip or
 * repeat one.
 */
static void nexus_step(struct pvs_tmf *tmf)
{
	struct pvs_map *m = tmf->walk_map;
	unsigned int i;

	i = tmf->walk_next > PVS_MAP_MAX_LUN
	        ? m->n
	        : lower_bound(m, tmf->walk_channel, tmf->walk_target, tmf->walk_next);
	if (!same_target(m, i, tmf->walk_channel, tmf->walk_target)) {
		tmf->result = tmf->walk_result;
		tmf->done = tmf->walk_done;
		tmf->walk_map = NULL;
		tmf->done(tmf);
		return;
	}
	tmf->walk_next = m->ents[i].lun + 1;
	tmf->done = nexus_lun_done;
	pvs_tmf_submit(m->ents[i].l, tmf);
}

int pvs_map_tmf(struct pvs_map *m, uint32_t channel, uint32_t target, uint32_t lun,
                struct pvs_tmf *tmf)
{
	struct pvs_lun *l;

	if (!pvs_map_target_exists(m, channel, target))
		return -ENODEV;
	if (m->host)
		tmf->initiator = m->initiator;
	if (tmf->fn == PVS_TMF_I_T_NEXUS_RESET) {
		tmf->walk_map = m;
		tmf->walk_channel = channel;
		tmf->walk_target = target;
		tmf->walk_next = 0;
		tmf->walk_result = PVS_TMF_FUNCTION_COMPLETE;
		tmf->walk_done = tmf->done;
		nexus_step(tmf);
		return 0;
	}
	l = lun <= PVS_MAP_MAX_LUN ? pvs_map_lookup(m, channel, target, lun) : NULL;
	if (!l)
		return -ENOENT;
	pvs_tmf_submit(l, tmf);
	return 0;
}
