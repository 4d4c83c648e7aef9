/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store_rbd.c - Ceph RBD store for rbd: LUNs, through librbd's
 * asynchronous calls.
 *
 * librbd completes I/O on its own threads, and nothing in the core locks:
 * a completion is never acted on there.  librbd queues it and signals the
 * image's eventfd (rbd_set_image_notification), which sits in the worker's
 * epoll set; the worker thread then takes the completions with
 * rbd_poll_io_events() and calls pvsi_store_done().  The only allocation
 * on the I/O path is librbd's own completion; what a request needs to
 * finish lives in its core.store_* fields.
 *
 * Connecting, the mon and the OSD requests are all bounded
 * (PVSI_RBD_TIMEOUT): a cluster that goes away fails open with a message,
 * and fails each command with an I/O error, instead of hanging either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "core.h"
#include "pvscsi/spec.h"

/* Seconds: long enough for a mon election or an OSD restart, short enough for a guest. */
#define PVSI_RBD_TIMEOUT "10"

/* core.store_op of a request in librbd's hands: what its completion means. */
enum {
	RBD_OP_READ = 1,
	RBD_OP_WRITE,
	RBD_OP_WRITE_FUA, /* a flush follows before the command may complete */
	RBD_OP_FLUSH,
	RBD_OP_OTHER, /* discard, write zeroes */
};

struct rbd_store {
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	int efd;
	bool watched; /* efd is in the worker's epoll set */
};

static struct rbd_store *rs_of(struct pvs_lun *lun)
{
	return lun->priv;
}

static uint64_t iov_total(const struct iovec *iov, unsigned int cnt)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/*
 * A new completion for @req, which then carries @op and the bytes to report
 * on success; NULL after completing @req with the error.
 */
static rbd_completion_t comp_for(struct pvs_req *req, uint8_t op, uint64_t bytes)
{
	rbd_completion_t c = NULL;
	int r = rbd_aio_create_completion(req, NULL, &c);

	if (r < 0) {
		pvsi_store_done(req, r);
		return NULL;
	}
	req->core.store_op = op;
	req->core.store_done = bytes;
	return c;
}

/* librbd refused to start it: nothing will complete @c, so @req completes here. */
static void started(struct pvs_req *req, rbd_completion_t c, int r)
{
	if (r < 0) {
		rbd_aio_release(c);
		pvsi_store_done(req, r);
	}
}

static void rs_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                     const struct iovec *iov, unsigned int cnt)
{
	rbd_completion_t c = comp_for(req, RBD_OP_READ, iov_total(iov, cnt));

	if (c)
		started(req, c, rbd_aio_readv(rs_of(lun)->image, iov, (int)cnt, off, c));
}

static void rs_writev(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                      const struct iovec *iov, unsigned int cnt, bool fua)
{
	rbd_completion_t c =
	    comp_for(req, fua ? RBD_OP_WRITE_FUA : RBD_OP_WRITE, iov_total(iov, cnt));

	if (c)
		started(req, c, rbd_aio_writev(rs_of(lun)->image, iov, (int)cnt, off, c));
}

static void rs_flush(struct pvs_lun *lun, struct pvs_req *req)
{
	rbd_completion_t c = comp_for(req, RBD_OP_FLUSH, 0);

	if (c)
		started(req, c, rbd_aio_flush(rs_of(lun)->image, c));
}

static void rs_discard(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	rbd_completion_t c = comp_for(req, RBD_OP_OTHER, len);

	if (c)
		started(req, c, rbd_aio_discard(rs_of(lun)->image, off, len, c));
}

static void rs_write_zeroes(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	rbd_completion_t c = comp_for(req, RBD_OP_OTHER, len);

	if (c)
		started(req, c, rbd_aio_write_zeroes(rs_of(lun)->image, off, (size_t)len, c, 0, 0));
}

/* One completion taken from librbd's queue, on the worker thread. */
static void finish(struct pvs_lun *lun, rbd_completion_t c)
{
	struct pvs_req *req = rbd_aio_get_arg(c);
	ssize_t r = rbd_aio_get_return_value(c);

	rbd_aio_release(c);
	if (r < 0) {
		pvsi_store_done(req, r);
		return;
	}
	/*
	 * FUA: librbd's cache may hold the write (writeback once the guest
	 * has flushed once); the flush makes it stable before GOOD.
	 */
	if (req->core.store_op == RBD_OP_WRITE_FUA) {
		rbd_completion_t f = NULL;

		r = rbd_aio_create_completion(req, NULL, &f);
		if (r < 0) {
			pvsi_store_done(req, r);
			return;
		}
		req->core.store_op = RBD_OP_WRITE;
		started(req, f, rbd_aio_flush(rs_of(lun)->image, f));
		return;
	}
	/* librbd never completes a read or write short without an error. */
	pvsi_store_done(req, (int64_t)req->core.store_done);
}

#define RBD_POLL_BATCH 32

static void rs_events(void *opaque, uint32_t events)
{
	struct pvs_lun *lun = opaque;
	struct rbd_store *st = rs_of(lun);
	rbd_completion_t comps[RBD_POLL_BATCH];
	uint64_t v;
	int n;

	(void)events;
	/* Drained before polling: a completion queued after the poll signals again. */
	while (read(st->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	do {
		n = rbd_poll_io_events(st->image, comps, RBD_POLL_BATCH);
		/* As for sg's answers, the LUN is not closed under its own completions. */
		for (int i = 0; i < n; i++)
			finish(lun, comps[i]);
	} while (n == RBD_POLL_BATCH);
}

/*
 * GET LBA STATUS: librbd's allocated extents from @pos on, a whole object
 * at a time (the object map answers without reading the objects, where the
 * image has one), so a block is deallocated only when its whole object is.
 */
struct extent_walk {
	uint64_t pos;
	uint64_t run_end; /* end of the run found so far */
	bool started;     /* a mapped run begins at pos */
	bool decided;     /* the run ended */
	bool mapped;
};

/* Stops the walk (any negative value does); never a librbd error. */
#define WALK_DONE (-ECANCELED)

static int extent_cb(uint64_t ofs, size_t len, int exists, void *arg)
{
	struct extent_walk *w = arg;

	if (!exists)
		return 0;
	if (!w->started) {
		if (ofs > w->pos) {
			w->mapped = false;
			w->run_end = ofs;
			w->decided = true;
			return WALK_DONE;
		}
		w->started = w->mapped = true;
		w->run_end = ofs + len;
		return 0;
	}
	if (ofs > w->run_end) {
		w->decided = true;
		return WALK_DONE;
	}
	if (ofs + len > w->run_end)
		w->run_end = ofs + len;
	return 0;
}

/*
 * At most this much of the image per call: the worker waits for the walk,
 * and without an object map it costs one request per object.
 */
#define EXTENT_WINDOW (256ull << 20)

static int64_t rs_extent(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped)
{
	struct extent_walk w = {.pos = off};
	uint64_t bs = lun->block_size, run;
	int r;

	if (off >= end)
		return -EINVAL;
	if (end - off > EXTENT_WINDOW)
		end = off + EXTENT_WINDOW;
	r = rbd_diff_iterate2(rs_of(lun)->image, NULL, off, end - off, 1, 1, extent_cb, &w);
	if (r < 0 && r != WALK_DONE)
		return r;
	if (!w.started && !w.decided)
		w.run_end = end; /* nothing allocated in the window */
	if (w.run_end > end)
		w.run_end = end;
	*mapped = w.started;
	/* Whole blocks: a mapped run takes in a partly mapped last block, a hole gives it up. */
	run = w.run_end - off;
	run = *mapped ? (run + bs - 1) / bs * bs : run / bs * bs;
	if (run == 0) {
		/* A hole shorter than the block: the block holds data. */
		*mapped = true;
		run = bs;
	}
	if (run > end - off)
		run = (end - off) / bs * bs;
	return run ? (int64_t)run : -EINVAL;
}

/* librbd has no way to cancel a request: it ends by itself, within the OSD timeout. */
static int rs_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	(void)req;
	return -EBUSY;
}

static int64_t rs_size(struct pvs_lun *lun)
{
	uint64_t size;
	int r = rbd_get_size(rs_of(lun)->image, &size);

	return r < 0 ? r : (int64_t)size;
}

static void rs_store_free(struct pvs_lun *lun, struct rbd_store *st)
{
	if (st->watched)
		pvsi_worker_del_fd(lun->worker, st->efd);
	if (st->image)
		rbd_close(st->image);
	if (st->io)
		rados_ioctx_destroy(st->io);
	if (st->cluster)
		rados_shutdown(st->cluster);
	if (st->efd >= 0)
		close(st->efd);
	free(st);
}

static void rs_store_close(struct pvs_lun *lun)
{
	if (lun->priv)
		rs_store_free(lun, lun->priv);
	lun->priv = NULL;
}

/*
 * Every librbd completion is a request's, in flight until it is taken
 * from the image's queue: an idle image has only its eventfd here.
 */
static int rs_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	struct rbd_store *st = rs_of(lun);
	int r;

	if (!st->watched)
		return 0;
	r = pvsi_worker_add_fd(to, st->efd, EPOLLIN, rs_events, lun);
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen,
			         "rbd:%s: the new worker refused librbd's completion eventfd: %s",
			         lun->backing, strerror(-r));
		return r;
	}
	pvsi_worker_del_fd(lun->worker, st->efd);
	return 0;
}

static const struct pvsi_store_ops rbd_ops = {
    .kind = "rbd",
    .readv = rs_readv,
    .writev = rs_writev,
    .flush = rs_flush,
    .discard = rs_discard,
    .write_zeroes = rs_write_zeroes,
    .extent = rs_extent,
    .cancel = rs_cancel,
    .size = rs_size,
    .close = rs_store_close,
    .move = rs_move,
};

/*
 * The worker's part of an open: librbd's completions reach the worker
 * through the image's eventfd in its epoll set.  Until then nothing of the
 * worker knows the image, so the rest may run on another thread.
 */
static int rs_bind(struct pvs_lun *lun, char *err, size_t errlen)
{
	struct rbd_store *st = rs_of(lun);
	int r = pvsi_worker_add_fd(lun->worker, st->efd, EPOLLIN, rs_events, lun);

	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "rbd:%s: cannot watch librbd's completions: %s",
			         lun->backing, strerror(-r));
		return r;
	}
	st->watched = true;
	return 0;
}

/* librados's settings of this connection, none of which may fail. */
static int configure(rados_t cl)
{
	static const char *const kv[][2] = {
	    {"client_mount_timeout", PVSI_RBD_TIMEOUT},
	    {"rados_mon_op_timeout", PVSI_RBD_TIMEOUT},
	    {"rados_osd_op_timeout", PVSI_RBD_TIMEOUT},
	    /*
	     * A discard must leave zeroes (the store's contract, UNMAP's
	     * LBPRZ): by default librbd skips the parts of a discard smaller
	     * than its granularity, which would keep their old data.
	     */
	    {"rbd_skip_partial_discard", "false"},
	};

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		int r = rados_conf_set(cl, kv[i][0], kv[i][1]);

		if (r < 0)
			return r;
	}
	return 0;
}

int pvsi_rbd_open(struct pvs_lun *lun, const struct pvs_spec *sp, char *key, size_t keylen,
                  char *err, size_t errlen)
{
	char pool[PVS_SPEC_MAX], fsid[64], id[128];
	const char *conf = sp->rbd_conf[0] ? sp->rbd_conf : "the default ceph.conf";
	const char *user = sp->rbd_id[0] ? sp->rbd_id : "admin";
	char *image, *snap;
	struct rbd_store *st;
	uint64_t size;
	int r;

#define FAIL(rc, ...)                                                                              \
	do {                                                                                       \
		r = (rc);                                                                          \
		if (err && errlen)                                                                 \
			snprintf(err, errlen, __VA_ARGS__);                                        \
		goto fail;                                                                         \
	} while (0)

	/* Nothing to take up: an image is always opened anew. */
	if (lun->open_mode == PVSI_OPEN_ADOPT) {
		if (err && errlen)
			snprintf(err, errlen, "rbd:%s: opens on a thread of its own", sp->name);
		return -EWOULDBLOCK;
	}
	/* The spec parser checked the form: POOL/IMAGE[@SNAP]. */
	snprintf(pool, sizeof(pool), "%s", sp->name);
	image = strchr(pool, '/');
	*image++ = '\0';
	snap = strchr(image, '@');
	if (snap)
		*snap++ = '\0';

	st = calloc(1, sizeof(*st));
	if (!st) {
		if (err && errlen)
			snprintf(err, errlen, "rbd:%s: %s", sp->name, strerror(ENOMEM));
		return -ENOMEM;
	}
	st->efd = -1;
	if (!lun->worker)
		FAIL(-EINVAL, "rbd:%s: needs a worker for librbd's completions", sp->name);
	r = rados_create(&st->cluster, sp->rbd_id[0] ? sp->rbd_id : NULL);
	if (r < 0) {
		st->cluster = NULL;
		FAIL(r, "rbd:%s: cannot create a cluster handle for client.%s: %s", sp->name, user,
		     strerror(-r));
	}
	/* An explicit conf= that cannot be read is named as such, not as a failed connect. */
	if (sp->rbd_conf[0] && access(sp->rbd_conf, R_OK) != 0)
		FAIL(-errno, "rbd:%s: cannot read the Ceph configuration %s: %s", sp->name, conf,
		     strerror(errno));
	r = rados_conf_read_file(st->cluster, sp->rbd_conf[0] ? sp->rbd_conf : NULL);
	if (r < 0)
		FAIL(r, "rbd:%s: cannot read the Ceph configuration %s: %s", sp->name, conf,
		     strerror(-r));
	r = configure(st->cluster);
	if (r < 0)
		FAIL(r, "rbd:%s: cannot set librados's timeouts: %s", sp->name, strerror(-r));
	r = rados_connect(st->cluster);
	if (r < 0)
		FAIL(r, "rbd:%s: cannot connect to the Ceph cluster of %s as client.%s: %s",
		     sp->name, conf, user, strerror(-r));
	r = rados_cluster_fsid(st->cluster, fsid, sizeof(fsid));
	if (r < 0)
		FAIL(r, "rbd:%s: cannot read the fsid of the cluster of %s: %s", sp->name, conf,
		     strerror(-r));
	r = rados_ioctx_create(st->cluster, pool, &st->io);
	if (r < 0) {
		st->io = NULL;
		FAIL(r, "rbd:%s: pool '%s' of the cluster of %s (client.%s): %s", sp->name, pool,
		     conf, user, r == -ENOENT ? "no such pool" : strerror(-r));
	}
	/*
	 * Read-only opens take no exclusive lock and a snapshot can only be
	 * read: the LUN says so (DATA PROTECT) before librbd would refuse.
	 */
	if (snap)
		lun->ro = true;
	if (lun->ro)
		r = rbd_open_read_only(st->io, image, &st->image, snap);
	else
		r = rbd_open(st->io, image, &st->image, NULL);
	if (r < 0) {
		st->image = NULL;
		if (r == -ENOENT && snap &&
		    rbd_open_read_only(st->io, image, &st->image, NULL) == 0)
			FAIL(r, "rbd:%s: image '%s/%s' has no snapshot '%s'", sp->name, pool, image,
			     snap);
		FAIL(r, "rbd:%s: image '%s' in pool '%s' of the cluster of %s (client.%s): %s",
		     sp->name, image, pool, conf, user,
		     r == -ENOENT ? "no such image" : strerror(-r));
	}
	/* Format 1 images have no id; their name is the next best stable thing. */
	if (rbd_get_id(st->image, id, sizeof(id)) < 0)
		snprintf(id, sizeof(id), "%.100s", image);
	r = rbd_get_size(st->image, &size);
	if (r < 0)
		FAIL(r, "rbd:%s: cannot read the image's size: %s", sp->name, strerror(-r));
	if (size >> lun->block_shift == 0)
		FAIL(-EINVAL, "rbd:%s: the image (%llu bytes) is smaller than one %u-byte block",
		     sp->name, (unsigned long long)size, lun->block_size);
	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->efd < 0)
		FAIL(-errno, "rbd:%s: eventfd: %s", sp->name, strerror(errno));
	r = rbd_set_image_notification(st->image, st->efd, EVENT_TYPE_EVENTFD);
	if (r < 0)
		FAIL(r, "rbd:%s: cannot have librbd signal completions: %s", sp->name,
		     strerror(-r));
	/* The same on every host that opens the image, whatever the spec's spelling. */
	snprintf(key, keylen, "rbd:%s/%s%s%s", fsid, id, snap ? "@" : "", snap ? snap : "");
	lun->priv = st;
	lun->store = &rbd_ops;
	lun->nblocks = size >> lun->block_shift;
	lun->thin = true;
	lun->bind = rs_bind;
	return 0;
fail:
	rs_store_free(lun, st);
	return r;
#undef FAIL
}
