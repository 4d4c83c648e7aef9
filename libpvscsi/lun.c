/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lun.c - the LUN object: open from a spec, submit, in-flight tracking and
 * the single completion path that turns a sense reason into bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "pvscsi/resolve.h"
#include "pvscsi/spec.h"

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* FNV-1a: stable across runs and hosts for the same key. */
static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * The identity the guest sees in VPD 0x80/0x83 must not change when the
 * daemon restarts or the domain migrates, so derive it from the backing's
 * name rather than from anything host-local such as an inode number.
 * NAA 3h (locally assigned, SPC-5 7.7.6.6.3) avoids claiming an OUI.
 */
static void set_identity(struct pvs_lun *lun, const char *key)
{
	uint64_t h = fnv1a64(key);
	uint64_t naa = (3ull << 60) | (h & 0x0fffffffffffffffull);

	memset(lun->naa, 0, sizeof(lun->naa));
	pvsi_put_be64(lun->naa, naa);
	snprintf(lun->serial, sizeof(lun->serial), "%016" PRIx64, h);
}

int pvsi_lun_open_spec(struct pvs_worker *w, const struct pvs_spec *sp, const char *spec,
                       const struct pvs_lun_opts *opts, struct pvs_lun **out, char *err,
                       size_t errlen)
{
	return pvsi_lun_open_mode(w, sp, spec, opts, PVSI_OPEN_SYNC, out, err, errlen);
}

int pvsi_lun_bind(struct pvs_lun *lun, pvs_lun_notice_fn notice, void *notice_arg, char *err,
                  size_t errlen)
{
	int (*bind)(struct pvs_lun *, char *, size_t) = lun->bind;

	lun->notice = notice;
	lun->notice_arg = notice_arg;
	lun->bind = NULL;
	lun->open_mode = PVSI_OPEN_SYNC;
	return bind ? bind(lun, err, errlen) : 0;
}

int pvsi_lun_open_mode(struct pvs_worker *w, const struct pvs_spec *sp, const char *spec,
                       const struct pvs_lun_opts *opts, enum pvsi_open_mode mode,
                       struct pvs_lun **out, char *err, size_t errlen)
{
	struct pvs_lun *lun;
	int rc;

	*out = NULL;
	/* Only the kinds whose open waits on the network know how to split it. */
	if (mode != PVSI_OPEN_SYNC && sp->kind != PVS_SPEC_ISCSI && sp->kind != PVS_SPEC_RBD) {
		set_err(err, errlen, "LUN spec '%s': opens on the worker's thread only%s", spec,
		        "");
		return -EINVAL;
	}
	if (sp->kind == PVS_SPEC_HOST) {
		set_err(err, errlen, "LUN spec '%s': a host p-dev must be resolved first%s", spec,
		        "");
		return -EINVAL;
	}
	lun = calloc(1, sizeof(*lun));
	if (!lun) {
		set_err(err, errlen, "LUN spec '%s': %s", spec, strerror(ENOMEM));
		return -ENOMEM;
	}
	lun->worker = w;
	lun->fd = -1;
	lun->open_mode = (uint8_t)mode;
	lun->ro = sp->ro || (opts && opts->ro);
	lun->raw = sp->raw || (opts && opts->raw);
	lun->block_size = sp->bs ? sp->bs : (opts && opts->block_size ? opts->block_size : 512);
	if (lun->block_size != 512 && lun->block_size != 4096) {
		set_err(err, errlen, "LUN spec '%s': block size must be 512 or 4096%s", spec, "");
		free(lun);
		return -EINVAL;
	}
	lun->block_shift = lun->block_size == 4096 ? 12 : 9;
	lun->wce = true;
	/* A detached open's notices would come from another thread: pvsi_lun_bind() sets them. */
	if (opts && mode != PVSI_OPEN_DETACHED) {
		lun->notice = opts->notice;
		lun->notice_arg = opts->notice_arg;
	}
	/* For messages only: a long name is cut. */
	snprintf(lun->backing, sizeof(lun->backing), "%.*s", (int)sizeof(lun->backing) - 1,
	         sp->name);
	memcpy(lun->vendor, "PVSCSI  ", 9);
	memcpy(lun->revision, "0001", 5);
	set_identity(lun, spec);

	switch (sp->kind) {
	case PVS_SPEC_FILE: {
		char real[4096];

		/* Identity follows the file, whatever relative path named it. */
		if (realpath(sp->name, real))
			set_identity(lun, real);
		snprintf(lun->product, sizeof(lun->product), "%-16s", "FILE");
		lun->ops = &pvsi_emulated_ops;
		rc = pvsi_file_open(lun, sp, err, errlen);
		break;
	}
	case PVS_SPEC_CDROM: {
		char real[4096];

		/* "cdrom:" in front: a file: LUN on the same image is another device. */
		if (sp->name[0] && realpath(sp->name, real)) {
			char key[4200];

			snprintf(key, sizeof(key), "cdrom:%s", real);
			set_identity(lun, key);
		}
		snprintf(lun->product, sizeof(lun->product), "%-16s", "CD-ROM");
		lun->ops = &pvsi_emulated_ops;
		rc = pvsi_cd_open(lun, sp->name, err, errlen);
		break;
	}
	case PVS_SPEC_MEM:
		snprintf(lun->product, sizeof(lun->product), "%-16s", "MEM");
		lun->ops = &pvsi_emulated_ops;
		if (sp->size % lun->block_size) {
			set_err(
			    err, errlen,
			    "LUN spec '%s': bad size '%s' (a positive multiple of the block size, "
			    "K/M/G suffixes allowed)",
			    spec, sp->name);
			rc = -EINVAL;
		} else {
			rc = pvsi_mem_open(lun, sp->size, err, errlen);
		}
		break;
	case PVS_SPEC_ISCSI:
		lun->ops = &pvsi_iscsi_ops;
		rc = pvsi_iscsi_open(lun, sp->name, sp->chap, opts ? opts->initiator_name : NULL,
		                     err, errlen);
		break;
	case PVS_SPEC_RBD: {
		char key[256];

		snprintf(lun->product, sizeof(lun->product), "%-16s", "RBD");
		lun->ops = &pvsi_emulated_ops;
		rc = pvsi_rbd_open(lun, sp, key, sizeof(key), err, errlen);
		if (!rc)
			set_identity(lun, key);
		break;
	}
	default:
		lun->ops = &pvsi_passthrough_ops;
		rc = pvsi_sg_open(lun, sp->name, err, errlen);
		break;
	}
	if (!rc && lun->ops == &pvsi_emulated_ops)
		rc = pvsi_emulate_open(lun, err, errlen);
	if (rc) {
		free(lun);
		return rc;
	}
	/* The store left the worker's part to lun->bind: now, unless on another thread. */
	if (mode != PVSI_OPEN_DETACHED) {
		rc = pvsi_lun_bind(lun, lun->notice, lun->notice_arg, err, errlen);
		if (rc) {
			pvs_lun_close(lun);
			return rc;
		}
	}
	if (opts && opts->serial)
		snprintf(lun->serial, sizeof(lun->serial), "%s", opts->serial);
	*out = lun;
	return 0;
}

int pvs_lun_open(struct pvs_worker *w, const char *spec, const struct pvs_lun_opts *opts,
                 struct pvs_lun **out, char *err, size_t errlen)
{
	struct pvs_spec *sp = malloc(sizeof(*sp));
	int rc;

	*out = NULL;
	if (!sp) {
		set_err(err, errlen, "LUN spec '%s': %s", spec, strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = pvs_spec_parse(spec, sp, err, errlen);
	if (!rc && sp->kind == PVS_SPEC_HOST) {
		/* A tool's host p-dev: this host's sysfs, as the daemons' default resolver. */
		struct pvs_pdev *pd = malloc(sizeof(*pd));

		rc = pd ? pvs_resolve(NULL, sp->name, pd, err, errlen) : -ENOMEM;
		if (!rc && !pd->sg[0]) {
			if (err && errlen)
				snprintf(err, errlen,
				         "LUN spec '%s' is %u:%u:%u:%u, which has no sg node", spec,
				         pd->host, pd->channel, pd->target, pd->lun);
			rc = -ENODEV;
		}
		if (!rc) {
			snprintf(sp->name, sizeof(sp->name), "%s", pd->sg);
			sp->kind = PVS_SPEC_SG;
		}
		free(pd);
	}
	if (!rc && sp->kind == PVS_SPEC_ISCSI && !(opts && opts->initiator_name)) {
		/* A tool's session: this host is the initiator. */
		struct pvs_lun_opts o = {0};
		char host[256] = "localhost", name[320];

		if (opts)
			o = *opts;
		gethostname(host, sizeof(host) - 1);
		snprintf(name, sizeof(name), "%s:host.%s", PVS_ISCSI_IQN_PREFIX, host);
		o.initiator_name = name;
		rc = pvsi_lun_open_spec(w, sp, spec, &o, out, err, errlen);
	} else if (!rc) {
		rc = pvsi_lun_open_spec(w, sp, spec, opts, out, err, errlen);
	}
	free(sp);
	return rc;
}

void pvs_lun_close(struct pvs_lun *lun)
{
	if (!lun)
		return;
	if (lun->ops->close)
		lun->ops->close(lun);
	free(lun);
}

bool pvsi_lun_busy(const struct pvs_lun *lun)
{
	return lun->ninflight || (lun->ops->busy && lun->ops->busy(lun));
}

int pvsi_lun_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	int rc = lun->ops->move ? lun->ops->move(lun, to, err, errlen) : 0;

	if (!rc)
		lun->worker = to;
	return rc;
}

unsigned int pvs_lun_inflight(const struct pvs_lun *lun)
{
	return lun->ninflight;
}

uint32_t pvs_lun_block_size(const struct pvs_lun *lun)
{
	return lun->block_size;
}

uint64_t pvs_lun_blocks(const struct pvs_lun *lun)
{
	return lun->nblocks;
}

bool pvs_lun_is_passthrough(const struct pvs_lun *lun)
{
	return lun->ops == &pvsi_passthrough_ops || lun->ops == &pvsi_iscsi_ops;
}

bool pvs_lun_is_raw(const struct pvs_lun *lun)
{
	return lun->raw && pvs_lun_is_passthrough(lun);
}

int pvs_lun_refresh_capacity(struct pvs_lun *lun)
{
	uint64_t n = lun->ops->capacity ? lun->ops->capacity(lun) : lun->nblocks;

	if (n == lun->nblocks)
		return 0;
	lun->nblocks = n;
	pvsi_ua_raise_all(lun, PVS_SR_UA_CAPACITY_CHANGED, UINT64_MAX);
	return 1;
}

struct pvsi_initiator *pvsi_initiator_slot(struct pvs_lun *lun, uint64_t initiator)
{
	struct pvsi_initiator *free_slot = NULL;

	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && in->id == initiator)
			return in;
		if (!in->used && !free_slot)
			free_slot = in;
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->id = initiator;
	/* A new I_T nexus starts with the power-on condition (SAM-5 5.14). */
	free_slot->ua_pending = 1u << (PVS_SR_UA_POWER_ON - PVS_SR_UA_POWER_ON);
	return free_slot;
}

static void inflight_add(struct pvs_lun *lun, struct pvs_req *req)
{
	req->core.prev = NULL;
	req->core.next = lun->inflight;
	if (lun->inflight)
		lun->inflight->core.prev = req;
	lun->inflight = req;
	lun->ninflight++;
	req->core.flags |= PVSI_RF_INFLIGHT;
}

static inline void inflight_del(struct pvs_lun *lun, struct pvs_req *req)
{
	/* A read's medium may have been ejected meanwhile: it closes with its last read. */
	if (req->core.medium)
		pvsi_cd_req_release(lun, req);
	if (!(req->core.flags & PVSI_RF_INFLIGHT))
		return;
	if (req->core.prev)
		req->core.prev->core.next = req->core.next;
	else
		lun->inflight = req->core.next;
	if (req->core.next)
		req->core.next->core.prev = req->core.prev;
	req->core.next = req->core.prev = NULL;
	req->core.flags &= ~PVSI_RF_INFLIGHT;
	lun->ninflight--;
}

/* The time of this thread's loop pass; 0: it has no loop that keeps it (tools, tests). */
static _Thread_local uint64_t pass_ns;

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pvs_clock_pass(void)
{
	return pass_ns = clock_ns();
}

void pvs_clock_set_pass(uint64_t ns)
{
	pass_ns = ns;
}

/* pvs_now_ns() for the core's own calls: two per command, no call. */
static inline uint64_t now_ns(void)
{
	return pass_ns ? pass_ns : clock_ns();
}

uint64_t pvs_now_ns(void)
{
	return now_ns();
}

void pvsi_submit(struct pvs_lun *lun, struct pvs_req *req, uint32_t flags)
{
	uint64_t len = 0;

	memset(&req->core, 0, sizeof(req->core));
	req->core.flags = flags;
	req->data_in = NULL;
	req->data_out = NULL;
	req->data_out_len = 0;
	req->core.lun = lun;
	req->core.field = -1;
	req->status = PVS_STATUS_GOOD;
	req->host = PVS_HOST_OK;
	req->sense_len = 0;
	req->residual = 0;
	for (unsigned i = 0; i < req->iovcnt; i++)
		len += req->iov[i].iov_len;
	req->core.data_len = len;
	req->core.t_start = now_ns();
	inflight_add(lun, req);
	lun->ops->submit(lun, req);
}

void pvs_submit(struct pvs_lun *lun, struct pvs_req *req)
{
	pvsi_submit(lun, req, 0);
}

/*
 * The outcome of a command that did not end GOOD with host status OK.
 * Apart (not inlined): a successful one then saves no register for it.
 */
__attribute__((noinline)) static void count_error(struct pvs_io_stats *s, const struct pvs_req *req,
                                                  uint64_t moved)
{
	uint8_t key, asc, ascq;

	if (req->host == PVS_HOST_OK && req->dir == PVS_DIR_FROM_DEV)
		s->bytes_read += moved;
	else if (req->host == PVS_HOST_OK && req->dir == PVS_DIR_TO_DEV)
		s->bytes_written += moved;
	s->errors++;
	if (req->host == PVS_HOST_ABORTED)
		s->aborted++;
	else if (req->host == PVS_HOST_RESET)
		s->reset++;
	else if (req->host != PVS_HOST_OK)
		s->host_errors++;
	else if (req->status == PVS_STATUS_CHECK_CONDITION &&
	         pvs_sense_decode(req->sense, req->sense_len, &key, &asc, &ascq) == 0)
		s->sense_key[key & 0xf]++;
	else if (req->status == PVS_STATUS_RESERVATION_CONFLICT)
		s->conflicts++;
	else if (req->status == PVS_STATUS_BUSY || req->status == PVS_STATUS_TASK_SET_FULL)
		s->busy++;
}

void pvs_io_stats_add(struct pvs_io_stats *s, const struct pvs_req *req, uint64_t lat_ns)
{
	uint64_t moved =
	    req->residual < req->core.data_len ? req->core.data_len - req->residual : 0;

	s->commands++;
	s->latency_ns += lat_ns;
	s->latency[pvs_lat_bucket(lat_ns)]++;
	if (req->host != PVS_HOST_OK || req->status != PVS_STATUS_GOOD)
		count_error(s, req, moved);
	else if (req->dir == PVS_DIR_FROM_DEV)
		s->bytes_read += moved;
	else if (req->dir == PVS_DIR_TO_DEV)
		s->bytes_written += moved;
}

/* Count @req's completion in its LUN's stats (just before done()); inline: every command. */
static inline void req_account(struct pvs_req *req)
{
	struct pvs_lun *lun = req->core.lun;
	uint64_t now;

	if (!lun)
		return;
	now = now_ns();
	pvs_io_stats_add(&lun->stats, req, now > req->core.t_start ? now - req->core.t_start : 0);
}

void pvs_lun_get_stats(const struct pvs_lun *lun, struct pvs_io_stats *out)
{
	*out = lun->stats;
}

void pvs_lun_get_resv(const struct pvs_lun *lun, struct pvs_lun_resv *out)
{
	memset(out, 0, sizeof(*out));
	out->spc2_reserved = lun->pr.spc2_reserved;
	out->spc2_holder = lun->pr.spc2_holder;
	out->generation = lun->pr.generation;
	out->pr_reserved = lun->pr.pr_reserved;
	out->pr_type = lun->pr.pr_type;
	out->pr_holder = lun->pr.pr_holder;
	for (unsigned int i = 0; i < PVSI_MAX_INITIATORS; i++)
		out->registrations += lun->initiators[i].used && lun->initiators[i].registered;
}

const char *pvs_lun_backing(const struct pvs_lun *lun)
{
	return lun->backing;
}

bool pvs_lun_is_ro(const struct pvs_lun *lun)
{
	return lun->ro;
}

void pvsi_req_field(struct pvs_req *req, bool in_cdb, int byte, int bit)
{
	req->core.field = (int16_t)byte;
	req->core.field_bit = (int8_t)bit;
	req->core.field_in_cdb = in_cdb;
}

static void untrim(struct pvs_req *req)
{
	if (req->core.flags & PVSI_RF_TRIMMED) {
		req->iov[req->core.trim_idx].iov_len = req->core.trim_len;
		req->core.flags &= ~PVSI_RF_TRIMMED;
	}
}

void pvsi_req_trim(struct pvs_req *req, uint64_t len)
{
	uint64_t acc = 0;

	untrim(req);
	req->core.trim_cnt = (uint16_t)req->iovcnt;
	for (unsigned i = 0; i < req->iovcnt; i++) {
		if (acc + req->iov[i].iov_len >= len) {
			req->core.trim_idx = (uint16_t)i;
			req->core.trim_len = req->iov[i].iov_len;
			req->core.trim_cnt = (uint16_t)(i + 1);
			req->iov[i].iov_len = (size_t)(len - acc);
			req->core.flags |= PVSI_RF_TRIMMED;
			return;
		}
		acc += req->iov[i].iov_len;
	}
}

void pvsi_lun_gone(struct pvs_lun *lun, const char *why)
{
	char msg[400];

	if (lun->gone)
		return;
	lun->gone = true;
	if (!lun->notice)
		return;
	snprintf(msg, sizeof(msg),
	         "%s LUN '%s': %s; its commands fail (no connect) until it is detached",
	         lun->store ? lun->store->kind : lun->ops->kind, lun->backing, why);
	lun->notice(lun->notice_arg, lun, msg);
}

bool pvs_lun_gone(const struct pvs_lun *lun)
{
	return lun->gone;
}

void pvsi_req_fail_host(struct pvs_req *req, uint8_t host)
{
	req->status = PVS_STATUS_GOOD;
	req->host = host;
	req->sense_len = 0;
	req->core.xfer = 0;
	req->residual = (uint32_t)req->core.data_len;
	pvsi_req_finish_raw(req);
}

/*
 * The status and sense of reason @sr.  Apart (not inlined): a command that
 * succeeds then saves no register for it.
 */
__attribute__((noinline)) static void set_sense(struct pvs_req *req, int sr, uint32_t flags)
{
	const struct pvs_sense_desc *d = pvs_sense_lookup((enum pvs_sense_reason)sr);
	/* INFORMATION: e.g. the MISCOMPARE offset (SPC-5 4.4.3). */
	const struct pvsi_sense_extra x = {
	    .in_cdb = req->core.field_in_cdb,
	    .field = req->core.field,
	    .bit = req->core.field_bit,
	    .info_valid = flags & PVSI_RF_INFO,
	    .info = req->core.info,
	};

	if (!d)
		d = pvs_sense_lookup(PVS_SR_INTERNAL_TARGET_FAILURE);
	req->status = d->status;
	req->sense_len = (uint8_t)pvsi_sense_build(sr, &x, req->sense, sizeof(req->sense));
	/* Data already moved stays moved (e.g. a short read before a medium error). */
	req->residual = (uint32_t)(req->core.data_len - req->core.xfer);
}

void pvsi_req_complete(struct pvs_req *req, int sr)
{
	struct pvs_lun *lun = req->core.lun;
	uint32_t flags = req->core.flags;
	struct pvs_tmf *tmf = req->core.tmf;

	if (sr == PVSI_SR_GONE && !(flags & (PVSI_RF_ABORTED | PVSI_RF_RESET))) {
		pvsi_lun_gone(lun, "the backing device is gone (ENODEV)");
		pvsi_req_fail_host(req, PVS_HOST_NO_CONNECT);
		return;
	}

	untrim(req);
	if (lun)
		inflight_del(lun, req);
	req->sense_len = 0;
	if (flags & (PVSI_RF_ABORTED | PVSI_RF_RESET)) {
		/* The initiator asked for this task to end: no data, no status. */
		req->host = (flags & PVSI_RF_RESET) ? PVS_HOST_RESET : PVS_HOST_ABORTED;
		req->status = PVS_STATUS_GOOD;
		req->residual = (uint32_t)req->core.data_len;
	} else if (sr == PVS_SR_OK) {
		req->status = PVS_STATUS_GOOD;
		req->residual = (uint32_t)(req->core.data_len - req->core.xfer);
	} else {
		set_sense(req, sr, flags);
	}
	req_account(req);
	req->done(req);
	if (tmf && --tmf->pending == 0)
		pvsi_tmf_finish(tmf);
}

void pvsi_req_finish_raw(struct pvs_req *req)
{
	struct pvs_lun *lun = req->core.lun;
	struct pvs_tmf *tmf = req->core.tmf;

	untrim(req);
	if (lun)
		inflight_del(lun, req);
	req_account(req);
	req->done(req);
	if (tmf && --tmf->pending == 0)
		pvsi_tmf_finish(tmf);
}

size_t pvsi_req_copy_in(struct pvs_req *req, size_t off, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t done = 0;

	for (unsigned i = 0; i < req->iovcnt && done < len; i++) {
		size_t l = req->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)req->iov[i].iov_base + off, s + done, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t pvsi_req_copy_out(const struct pvs_req *req, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t done = 0;

	for (unsigned i = 0; i < req->iovcnt && done < len; i++) {
		size_t l = req->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy(d + done, (const uint8_t *)req->iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}
