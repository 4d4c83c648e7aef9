/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lun_harness.h - one emulated LUN on its own worker, and a way to run one
 * CDB on it to completion and look at the outcome.  Shared by spc_ut,
 * sbc_ut and cdb_fuzz_ut; lh_req_init and the CDB builders by every test
 * that lays out its own requests.  No CUnit here: tests assert on what it
 * returns.
 */
#ifndef LUN_HARNESS_H
#define LUN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pvscsi/lun.h"

struct lh_res {
	unsigned int ncomplete; /* times done() ran for this command */
	uint8_t status;
	uint8_t host;
	uint8_t sense_len;
	uint8_t sense[PVS_SENSE_MAX];
	uint32_t residual;
	/* Decoded from the sense (0 without sense). */
	uint8_t key, asc, ascq;
	/* Sense-key-specific field pointer (SPC-5 4.4.2.2), -1 when SKSV is 0. */
	int field;
	int bit; /* bit pointer, -1 when BPV is 0 */
	int cd;  /* 1: into the CDB, 0: into the parameter list, -1: no SKSV */
};

struct lh {
	struct pvs_worker *w;
	struct pvs_lun *lun;
	struct pvs_req req; /* one command at a time; outlives a command that never ends */
	struct lh_res *cur;
	uint32_t max_xfer_blocks; /* req->max_xfer_blocks of every command (0 after lh_open) */
};

/* Open @spec (e.g. "mem:4M,bs=4096") on a new worker.  0 or -errno. */
int lh_open(struct lh *h, const char *spec, const struct pvs_lun_opts *opts);
void lh_close(struct lh *h);
/* Close the LUN and open @spec in its place on the same worker.  0 or -errno. */
int lh_reopen(struct lh *h, const char *spec, const struct pvs_lun_opts *opts);

/*
 * Submit one CDB (req->cdb_len = @cdb_len, at most 255; at most
 * PVS_CDB_MAX bytes of @cdb copied) from
 * @initiator with @iovcnt buffers, and run the worker until it completes
 * (bounded: about 10 s).  The outcome lands in @r; r->ncomplete counts
 * completions, so 1 means "exactly once".
 */
void lh_runv(struct lh *h, uint64_t initiator, const uint8_t *cdb, unsigned int cdb_len,
             enum pvs_dir dir, struct iovec *iov, unsigned int iovcnt, struct lh_res *r);
/* Same with one buffer (none when @len is 0). */
void lh_run(struct lh *h, uint64_t initiator, const uint8_t *cdb, unsigned int cdb_len,
            enum pvs_dir dir, void *buf, size_t len, struct lh_res *r);

/*
 * Lay out one request in @req (zeroed first) for tests that keep their own
 * (several in flight, submitted through a map, ...): @cdb_len bytes of @cdb
 * (at most PVS_CDB_MAX copied), @dir, the one buffer @buf of @len bytes
 * described by @iov (no buffer when @len is 0), from @initiator, completing
 * through @done with @opaque.
 */
void lh_req_init(struct pvs_req *req, struct iovec *iov, uint64_t initiator, const uint8_t *cdb,
                 unsigned int cdb_len, enum pvs_dir dir, void *buf, size_t len,
                 pvs_req_done_fn done, void *opaque);

/* TEST UNIT READY from @initiator until it is GOOD (consumes pending UAs); true if it was. */
bool lh_clear_ua(struct lh *h, uint64_t initiator);

/* Big-endian CDB builders. */
void lh_put16(uint8_t *p, uint16_t v);
void lh_put32(uint8_t *p, uint32_t v);
void lh_put64(uint8_t *p, uint64_t v);
/*
 * The LBA and block count of a READ/WRITE/VERIFY-family CDB of @len bytes
 * (6, 10, 12; anything else is laid out as 16), where SBC-4 5.x puts them.
 * Byte 1 of a 6-byte CDB holds the LBA's top bits; other bytes are untouched.
 */
void lh_put_lba(uint8_t *cdb, unsigned int len, uint64_t lba, uint32_t n);

/* What a pvs_host_unit_open() caller was told, with lh_waited_done() as its @done. */
struct pvs_unit;
struct lh_waited {
	struct pvs_unit *u;
	int rc, calls;
	char err[512];
};
void lh_waited_done(void *arg, struct pvs_unit *u, int rc, const char *err);

#endif
