/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_harness.c - see ring_harness.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring_harness.h"

static void rh_logfn(void *arg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rh_logfn(void *arg, int prio, const char *fmt, ...)
{
	struct rh *h = arg;
	char *line = h->log[h->nlog % RH_LOG_LINES];
	int n;
	va_list ap;

	(void)prio;
	/* As plog_tagged: the ring's domain and vhost first. */
	n = snprintf(line, sizeof(h->log[0]), "d%u v%u: ", h->cfg.domid, h->cfg.vhost);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(h->log[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	h->nlog++;
}

static void rm_state_dir(void)
{
	const char *d = rh_state_dir();

	if (d)
		rmdir(d);
}

bool rh_log_has(const struct rh *h, const char *needle)
{
	unsigned int n = h->nlog < RH_LOG_LINES ? h->nlog : RH_LOG_LINES;

	for (unsigned int i = 0; i < n; i++)
		if (strstr(h->log[i], needle))
			return true;
	return false;
}

void *rh_alloc(size_t len)
{
	size_t sz = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, sz ? sz : 4096);

	if (p)
		memset(p, 0, sz ? sz : 4096);
	return p;
}

/*
 * A new I_T nexus starts with a POWER ON unit attention (SAM-5 5.14) that
 * the guest's midlayer would swallow; take it here so tests see plain
 * results.  Anything but GOOD or that UA is a harness failure.
 */
static int clear_power_on_ua(struct rh *h)
{
	struct fake_front_cmd c;
	struct vscsiif_response rsp;

	rh_tur(&c);
	if (rh_cmd(h, &c, &rsp))
		return -EIO;
	if (rsp.rslt == 0)
		return 0;
	if (rsp.rslt != 0x02 || rsp.sense_len < 14 || (rsp.sense_buffer[2] & 0xf) != 0x6 ||
	    rsp.sense_buffer[12] != 0x29)
		return -EPROTO;
	h->nlog = 0;
	return 0;
}

const char *rh_state_dir(void)
{
	static char dir[64];

	/* One per test process; journals are removed at disconnect, the directory at exit. */
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/pvsd-state-XXXXXX");
		if (!mkdtemp(dir)) {
			dir[0] = 0;
			return NULL;
		}
		atexit(rm_state_dir);
	}
	return dir;
}

static int connect_ring(struct rh *h, uint16_t domid, uint32_t vhost, unsigned int max_segs,
                        bool verbose)
{
	int rc = fake_front_init(&h->fe, h->gnt, h->evt, domid);

	if (rc)
		return rc;
	h->cfg = (struct pvsd_ring_cfg){
	    .domid = domid,
	    .vhost = vhost,
	    .gnt = &fake_gnt_ops,
	    .gnt_ctx = h->gnt,
	    .evt = &fake_evt_ops,
	    .evt_ctx = h->evt,
	    .worker = h->w,
	    .map = h->map,
	    .max_segs = max_segs,
	    .log = rh_logfn,
	    .log_arg = h,
	    .verbose = verbose,
	    .state_dir = rh_state_dir(),
	};
	rc = pvsd_ring_connect(&h->cfg, h->fe.ring_ref, h->fe.port, &h->ring);
	if (rc)
		return rc;
	return clear_power_on_ua(h);
}

int rh_init(struct rh *h, uint16_t domid, uint32_t vhost, const char *spec, unsigned int max_segs,
            bool verbose)
{
	char lspec[128], err[256];
	int rc;

	memset(h, 0, sizeof(*h));
	h->gnt = fake_gnt_new();
	h->evt = fake_evt_new();
	if (!h->gnt || !h->evt)
		return -ENOMEM;
	rc = pvs_worker_new(64, &h->w);
	if (rc)
		return rc;
	rc = pvs_map_new(&h->map);
	if (rc)
		return rc;
	if (!strncmp(spec, "file:", 5)) {
		int fd;

		snprintf(h->path, sizeof(h->path), "/tmp/pvsd-ring-XXXXXX");
		fd = mkstemp(h->path);
		if (fd < 0)
			return -errno;
		rc = ftruncate(fd, strtoll(spec + 5, NULL, 0));
		close(fd);
		if (rc)
			return -errno;
		snprintf(lspec, sizeof(lspec), "file:%s", h->path);
	} else {
		snprintf(lspec, sizeof(lspec), "%s", spec);
	}
	rc = pvs_lun_open(h->w, lspec, NULL, &h->lun, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvs_lun_open(%s): %s\n", lspec, err);
		return rc;
	}
	rc = pvs_map_add(h->map, 0, 0, 0, h->lun);
	if (rc)
		return rc;
	return connect_ring(h, domid, vhost, max_segs, verbose);
}

int rh_init_shared(struct rh *h, struct rh *base, uint16_t domid, uint32_t vhost)
{
	memset(h, 0, sizeof(*h));
	h->shared = true;
	h->gnt = base->gnt;
	h->evt = base->evt;
	h->w = base->w;
	h->map = base->map;
	h->lun = base->lun;
	return connect_ring(h, domid, vhost, base->cfg.max_segs, base->cfg.verbose);
}

void rh_run(struct rh *h)
{
	bool more = true;

	/* As pvscsid's pass: the worker first, which reads the event channel. */
	pvs_worker_poll(h->w);
	for (int i = 0; i < 100000; i++) {
		if (more || pvsd_ring_kicked(h->ring))
			more = pvsd_ring_handle_event(h->ring);
		if (pvsd_ring_inflight(h->ring))
			pvs_worker_wait(h->w, 50);
		pvsd_ring_flush(h->ring);
		if (!more && !pvsd_ring_inflight(h->ring))
			break;
	}
}

int rh_cmd(struct rh *h, const struct fake_front_cmd *c, struct vscsiif_response *rsp)
{
	if (fake_front_queue(&h->fe, c) < 0)
		return -1;
	fake_front_push(&h->fe);
	rh_run(h);
	return fake_front_response(&h->fe, rsp) == 1 ? 0 : -1;
}

unsigned int rh_collect(struct rh *h, struct vscsiif_response *rsp, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && fake_front_response(&h->fe, &rsp[n]) == 1)
		n++;
	return n;
}

void rh_fini(struct rh *h)
{
	if (h->ring) {
		for (int i = 0; i < 1000 && pvsd_ring_inflight(h->ring); i++) {
			pvs_worker_wait(h->w, 10);
			pvsd_ring_flush(h->ring);
		}
		pvsd_ring_disconnect(h->ring);
		h->ring = NULL;
	}
	if (h->fe.page)
		fake_front_fini(&h->fe);
	if (h->shared)
		return;
	if (h->map)
		pvs_map_free(h->map);
	if (h->lun)
		pvs_lun_close(h->lun);
	if (h->w)
		pvs_worker_free(h->w);
	if (h->path[0])
		unlink(h->path);
	fake_evt_free(h->evt);
	fake_gnt_free(h->gnt);
}

void rh_tur(struct fake_front_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->cdb_len = 6;
	c->dir = PVSP_DIR_NONE;
}

void rh_inquiry(struct fake_front_cmd *c, void *buf, uint16_t alloc, uint32_t buflen)
{
	memset(c, 0, sizeof(*c));
	c->cdb[0] = 0x12;
	c->cdb[3] = (uint8_t)(alloc >> 8);
	c->cdb[4] = (uint8_t)alloc;
	c->cdb_len = 6;
	c->dir = PVSP_DIR_FROM_DEV;
	c->buf = buf;
	c->len = buflen;
}

void rh_rw10(struct fake_front_cmd *c, bool write, uint32_t lba, uint16_t blocks, void *buf,
             uint32_t len)
{
	memset(c, 0, sizeof(*c));
	c->cdb[0] = write ? 0x2a : 0x28;
	c->cdb[2] = (uint8_t)(lba >> 24);
	c->cdb[3] = (uint8_t)(lba >> 16);
	c->cdb[4] = (uint8_t)(lba >> 8);
	c->cdb[5] = (uint8_t)lba;
	c->cdb[7] = (uint8_t)(blocks >> 8);
	c->cdb[8] = (uint8_t)blocks;
	c->cdb_len = 10;
	c->dir = write ? PVSP_DIR_TO_DEV : PVSP_DIR_FROM_DEV;
	c->buf = buf;
	c->len = len;
}
