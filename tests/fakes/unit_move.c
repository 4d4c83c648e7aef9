/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unit_move.c - see unit_move.h.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lun_harness.h"
#include "pvscsi/host.h"
#include "unit_move.h"

#define UM_MAX_BLOCK 4096

struct um_cmd {
	struct pvs_req req;
	struct iovec iov;
	int done;
};

static void um_done(struct pvs_req *req)
{
	((struct um_cmd *)req->opaque)->done++;
}

/* READ(10) or WRITE(10) (@op) of block @lba into or from @buf, submitted and not run. */
static void um_submit(struct um_cmd *c, struct pvs_unit *u, uint8_t op, uint64_t lba, uint8_t *buf)
{
	struct pvs_lun *lun = pvs_unit_lun(u);
	uint8_t cdb[10] = {op};

	lh_put_lba(cdb, 10, lba, 1);
	memset(c, 0, sizeof(*c));
	lh_req_init(&c->req, &c->iov, 0, cdb, 10, op == 0x2a ? PVS_DIR_TO_DEV : PVS_DIR_FROM_DEV,
	            buf, pvs_lun_block_size(lun), um_done, c);
	pvs_submit(lun, &c->req);
}

/* Run @w (and only @w) for up to @ms, until @c completed. */
static void um_drive(struct pvs_worker *w, struct um_cmd *c, int ms)
{
	for (int t = 0; t < ms && !c->done; t += 10) {
		pvs_worker_flush(w);
		pvs_worker_wait(w, 10);
	}
}

bool um_settle(struct pvs_unit *u, struct pvs_worker *w)
{
	for (int t = 0; t < 5000 && pvs_unit_busy(u); t += 10) {
		pvs_worker_flush(w);
		pvs_worker_wait(w, 10);
	}
	return !pvs_unit_busy(u);
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 13);
}

/*
 * One command on @u run by @w alone, checked GOOD; a write of pattern
 * @seed, or a read that must give @want.
 */
static void um_io(struct pvs_unit *u, struct pvs_worker *w, bool write, uint64_t lba, uint8_t seed,
                  const uint8_t *want)
{
	static uint8_t buf[UM_MAX_BLOCK];
	uint32_t bs = pvs_lun_block_size(pvs_unit_lun(u));
	struct um_cmd c;

	if (write)
		fill(buf, bs, seed);
	else
		memset(buf, 0xee, bs);
	um_submit(&c, u, write ? 0x2a : 0x28, lba, buf);
	um_drive(w, &c, 10000);
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	if (!write && want)
		CU_ASSERT_EQUAL(memcmp(buf, want, bs), 0);
}

/* @c completes on worker @on, and running @not (a few rounds; NULL: none) does not complete it. */
static void only_on(struct pvs_worker *on, struct pvs_worker * not, struct um_cmd *c)
{
	if (not ) {
		for (int i = 0; i < 5 && !c->done; i++) {
			pvs_worker_flush(not );
			pvs_worker_wait(not, 10);
		}
		CU_ASSERT_EQUAL(c->done, 0);
	}
	um_drive(on, c, 10000);
	CU_ASSERT_EQUAL(c->done, 1);
	CU_ASSERT_EQUAL(c->req.status, PVS_STATUS_GOOD);
}

void um_check_move(struct pvs_unit *u, struct pvs_worker *a, struct pvs_worker *b, uint64_t lba,
                   unsigned int flags)
{
	static uint8_t before[UM_MAX_BLOCK], want[UM_MAX_BLOCK], buf[UM_MAX_BLOCK];
	struct lh ha = {.w = a, .lun = pvs_unit_lun(u)};
	bool ro = flags & UM_RO;
	uint32_t bs;
	struct um_cmd c;
	char err[512] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(ha.lun);
	bs = pvs_lun_block_size(ha.lun);
	CU_ASSERT_FATAL(bs <= UM_MAX_BLOCK);
	CU_ASSERT_PTR_EQUAL_FATAL(pvs_unit_worker(u), a);
	CU_ASSERT_TRUE(lh_clear_ua(&ha, 0));

	/* On @a: what the block holds, written or read. */
	if (ro) {
		memset(before, 0xee, bs);
		um_submit(&c, u, 0x28, lba, before);
		um_drive(a, &c, 10000);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	} else {
		um_io(u, a, true, lba, 0x11, NULL);
		fill(before, bs, 0x11);
		um_io(u, a, false, lba, 0, before);
	}

	/* A command in flight: busy, and the move is refused until it ended. */
	um_submit(&c, u, 0x28, lba, buf);
	if (flags & UM_INLINE) {
		CU_ASSERT_EQUAL(c.done, 1);
		CU_ASSERT_FALSE(pvs_unit_busy(u));
	} else {
		CU_ASSERT_EQUAL(c.done, 0);
		CU_ASSERT_TRUE(pvs_unit_busy(u));
		CU_ASSERT_EQUAL(pvs_unit_move(u, b, err, sizeof(err)), -EBUSY);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, pvs_unit_spec(u)));
		CU_ASSERT_PTR_EQUAL(pvs_unit_worker(u), a);
		um_drive(a, &c, 10000);
		CU_ASSERT_EQUAL(c.done, 1);
	}
	CU_ASSERT_EQUAL(memcmp(buf, before, bs), 0);
	CU_ASSERT_TRUE_FATAL(um_settle(u, a));

	CU_ASSERT_EQUAL_FATAL(pvs_unit_move(u, b, err, sizeof(err)), 0);
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(u), b);
	/* Again to where it is: nothing to do. */
	CU_ASSERT_EQUAL(pvs_unit_move(u, b, err, sizeof(err)), 0);

	/* Submitted after the move: @a's passes complete nothing of it, @b's do. */
	if (ro) {
		memset(buf, 0xee, bs);
		um_submit(&c, u, 0x28, lba, buf);
		memcpy(want, before, bs);
	} else {
		fill(buf, bs, 0x22);
		memcpy(want, buf, bs);
		um_submit(&c, u, 0x2a, lba, buf);
	}
	if (!(flags & UM_INLINE))
		CU_ASSERT_EQUAL(c.done, 0);
	only_on(b, flags & UM_INLINE ? NULL : a, &c);
	if (ro)
		CU_ASSERT_EQUAL(memcmp(buf, want, bs), 0);
	um_io(u, b, false, lba, 0, want);

	/* @a is no part of it any more: gone, and @u serves on. */
	pvs_worker_free(a);
	if (!ro) {
		fill(want, bs, 0x33);
		um_io(u, b, true, lba, 0x33, NULL);
	}
	um_io(u, b, false, lba, 0, want);
	CU_ASSERT_TRUE(um_settle(u, b));
}

void um_check_refused(struct pvs_unit *u, struct pvs_worker *a, struct pvs_worker *b, uint64_t lba)
{
	static uint8_t buf[UM_MAX_BLOCK];
	struct lh ha = {.w = a, .lun = pvs_unit_lun(u)};
	int epfd = pvs_worker_fd(b), keep = dup(epfd), efd = eventfd(0, EFD_CLOEXEC);
	char err[512] = "";
	struct um_cmd c;
	int rc;

	CU_ASSERT_FATAL(keep >= 0 && efd >= 0);
	CU_ASSERT_TRUE(lh_clear_ua(&ha, 0));
	CU_ASSERT_TRUE_FATAL(um_settle(u, a));
	/* Not an epoll set: every EPOLL_CTL_ADD on it fails. */
	CU_ASSERT_FATAL(dup2(efd, epfd) == epfd);
	rc = pvs_unit_move(u, b, err, sizeof(err));
	CU_ASSERT_FATAL(dup2(keep, epfd) == epfd);
	close(keep);
	close(efd);
	if (rc >= 0 || !strstr(err, "refused"))
		fprintf(stderr, "refused move: rc %d: %s\n", rc, err);
	CU_ASSERT(rc < 0 && rc != -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, pvs_unit_spec(u)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused"));
	CU_ASSERT_PTR_EQUAL(pvs_unit_worker(u), a);
	CU_ASSERT_FALSE(pvs_unit_busy(u));

	/* Still @a's, whole: @b completes nothing of it, @a does. */
	um_submit(&c, u, 0x28, lba, buf);
	only_on(a, b, &c);
	CU_ASSERT_TRUE(um_settle(u, a));
}
