/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_harness.h - one vscsiif ring under test: fake grant table, fake event
 * channel and fake frontend on one side, a real LUN core (worker, v-dev map,
 * mem: or file: LUN at 0:0:0) on the other.  Shared by ring_ut and
 * hostile_ut.
 */
#ifndef RING_HARNESS_H
#define RING_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_front.h"
#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "ring.h"

#define RH_LOG_LINES 64

struct rh {
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct fake_front fe;
	struct pvs_worker *w;
	struct pvs_map *map;
	struct pvs_lun *lun;
	struct pvsd_ring *ring;
	struct pvsd_ring_cfg cfg;
	bool shared; /* gnt, evt, worker, map, LUN belong to another harness */
	char path[64];
	char log[RH_LOG_LINES][256];
	unsigned int nlog;
};

/*
 * @spec: "mem:SIZE" or "file:SIZE" (a temporary file of SIZE bytes, whose
 * reads and writes complete through the worker, i.e. asynchronously).
 * Returns 0 or -errno.
 */
int rh_init(struct rh *h, uint16_t domid, uint32_t vhost, const char *spec, unsigned int max_segs,
            bool verbose);
/* A second ring (own frontend) on @base's grant table, worker, map and LUN. */
int rh_init_shared(struct rh *h, struct rh *base, uint16_t domid, uint32_t vhost);
/* Drains, disconnects, frees everything this harness owns. */
void rh_fini(struct rh *h);

/* Handle events, poll the worker and flush until nothing is in flight (bounded). */
void rh_run(struct rh *h);
/* Queue, push, run, and take the response.  0, or -1 if none came. */
int rh_cmd(struct rh *h, const struct fake_front_cmd *c, struct vscsiif_response *rsp);
/* Take every available response, up to @max. */
unsigned int rh_collect(struct rh *h, struct vscsiif_response *rsp, unsigned int max);
bool rh_log_has(const struct rh *h, const char *needle);

/* CDB builders. */
void rh_inquiry(struct fake_front_cmd *c, void *buf, uint16_t alloc, uint32_t buflen);
void rh_rw10(struct fake_front_cmd *c, bool write, uint32_t lba, uint16_t blocks, void *buf,
             uint32_t len);
void rh_tur(struct fake_front_cmd *c);

/*
 * The directory every harness ring keeps its journal in (cfg.state_dir):
 * made once per process, removed at exit.  NULL if it cannot be made.
 */
const char *rh_state_dir(void);

/* Page-aligned, zeroed allocation of @len bytes (free with free()). */
void *rh_alloc(size_t len);

#endif
