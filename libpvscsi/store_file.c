/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store_file.c - the backing store of file: LUNs, a regular file or a block
 * device, driven through the worker's io_uring.
 *
 * Buffered I/O, not O_DIRECT: transports hand us whatever buffers they have
 * (grant-copy pages in pvscsid, guest memory mapped at any offset in
 * vhost-user, malloc'd buffers in the tool) and a LUN's 512-byte blocks may
 * sit on a 4096-byte device.  Durability comes from the SCSI commands that
 * ask for it: FUA writes carry RWF_DSYNC, SYNCHRONIZE CACHE is fdatasync
 * (IORING_FSYNC_DATASYNC), and the LUN reports a write-back cache (WCE=1).
 *
 * cache=none opens the backing O_DIRECT, for hosts that want the guest's
 * cache to be the only one (docs/lun-core.md, "cache=none").  I/O whose
 * buffers, offset and length meet the file's direct I/O alignment goes
 * straight to the kernel; anything else is copied through one of a few
 * aligned bounce buffers allocated at open, in chunks, a request waiting
 * (FIFO) while all are taken.  The LUN's blocks must be at least the
 * alignment: a smaller block would need a read-modify-write that races
 * with every other write to the same sector, so that combination is
 * refused at open.  WCE stays 1 on a file (allocating writes are durable
 * only after fdatasync writes the file system's metadata, and the disk
 * under it may cache too); a block device whose queue says "write through"
 * has no volatile cache left between the guest and the medium, so there
 * the LUN reports WCE=0.
 *
 * writes=inline: buffered writes without FUA are made by the event loop
 * itself with pwritev2(), not handed to io_uring.  On Linux 6.1 io_uring
 * sends every buffered write to a file on ext4, tmpfs or overlayfs to an
 * io-wq worker (only file systems with FMODE_BUF_WASYNC try inline), one
 * worker per file, at a context switch or more per write; a write into the
 * page cache is a memcpy.  The price: a write that has to wait (dirty-page
 * throttling, a journal commit, allocation under memory pressure) stops
 * every ring of the loop, as xen-scsiback's ring thread stops with LIO's
 * fileio.  So it is the administrator's choice per LUN, off by default
 * (docs/lun-core.md).  FUA writes wait for the device and stay in io_uring;
 * a short inline write is finished there too.
 *
 * Every operation runs as a small state machine on req->core.store_* (its
 * file included: a cdrom: drive's medium may change under a read): the
 * handler's continuation is parked in store_cont while short transfers are
 * restarted, EINTR/EAGAIN retried and unsupported fallocate modes replaced,
 * so the handler sees one result: the full length, or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core.h"

/* store_op: the operation, plus FUA for writes, plus how a cache=none LUN moves it. */
enum {
	FOP_READ = 1,
	FOP_WRITE,
	FOP_FLUSH,
	FOP_PUNCH,      /* fallocate PUNCH_HOLE|KEEP_SIZE */
	FOP_ZERO_RANGE, /* fallocate ZERO_RANGE|KEEP_SIZE */
	FOP_ZERO_WRITE, /* plain writes from zero_buf */
	FOP_FADVISE,    /* fadvise WILLNEED (PRE-FETCH) */
	FOP_MASK = 0x1f,
	FOP_DIRECT = 0x20, /* on an O_DIRECT fd: EINVAL may mean alignment, retried bounced */
	FOP_BOUNCE = 0x40, /* through req->core.store_bounce */
	FOP_FUA = 0x80,
};

/* Source of write_zeroes when the backing has no fallocate mode for it; aligned for O_DIRECT. */
static const uint8_t zero_buf[64 * 1024] __attribute__((aligned(4096)));

/*
 * Bounce buffers of a cache=none LUN: enough for a few misaligned requests
 * at once without holding more than 1 MiB per LUN; larger ones move in
 * chunks.
 */
#define BOUNCE_SLOTS 4
#define BOUNCE_BYTES (256u * 1024)

struct file_priv {
	bool bdev;
	int watch_fd; /* inotify on the backing's name: removal ends the LUN; -1 none */
	/* fallocate modes the backing refused once; not tried again */
	bool no_punch;
	bool no_zero_range;
	/* cache=none */
	bool direct;
	uint32_t dio_mem; /* alignment of buffer addresses, a power of two */
	uint32_t dio_off; /* alignment of offsets and lengths, a power of two */
	uint8_t *bounce;  /* BOUNCE_SLOTS * BOUNCE_BYTES, dio_off aligned */
	uint8_t *free_bounce[BOUNCE_SLOTS];
	unsigned int nfree;
	struct pvs_req *wait_head, *wait_tail; /* FIFO through store_wait */
	bool handing_off;
	bool inline_writes; /* writes=inline */
};

static struct file_priv *priv_of(struct pvs_lun *lun)
{
	return lun->priv;
}

static void rw_issue(struct pvs_lun *lun, struct pvs_req *req);

/*
 * Give @req's bounce buffer to the first waiter.  A waiter that fails at
 * once (no SQE) gives it back inside rw_issue(); the loop, not recursion,
 * then serves the next one.
 */
static void bounce_release(struct pvs_lun *lun, struct pvs_req *req)
{
	struct file_priv *p = priv_of(lun);

	p->free_bounce[p->nfree++] = req->core.store_bounce;
	req->core.store_bounce = NULL;
	if (p->handing_off)
		return;
	p->handing_off = true;
	while (p->nfree && p->wait_head) {
		struct pvs_req *next = p->wait_head;

		p->wait_head = next->core.store_wait;
		if (!p->wait_head)
			p->wait_tail = NULL;
		next->core.store_wait = NULL;
		next->core.store_bounce = p->free_bounce[--p->nfree];
		rw_issue(lun, next);
	}
	p->handing_off = false;
}

static void finish(struct pvs_req *req, int64_t res)
{
	/* Before the continuation, which may end the LUN with its last request. */
	if (req->core.store_bounce)
		bounce_release(req->core.lun, req);
	req->core.cont = req->core.store_cont;
	req->core.store_cont = NULL;
	req->core.store_op = 0;
	pvsi_store_done(req, res);
}

static void file_cont(struct pvs_req *req, int64_t res);

/* An SQE that completes through file_cont, or NULL after failing @req. */
static struct io_uring_sqe *sqe_for(struct pvs_lun *lun, struct pvs_req *req)
{
	struct io_uring_sqe *sqe = pvsi_worker_sqe(lun->worker, req);

	if (!sqe)
		finish(req, -EBUSY);
	return sqe;
}

static void begin(struct pvs_req *req, uint8_t op)
{
	/* The handler's continuation, to run once the whole operation is over. */
	req->core.store_cont = req->core.cont;
	req->core.cont = file_cont;
	req->core.store_op = op;
	req->core.store_done = 0;
	req->core.store_fd = req->core.lun->fd;
	req->core.store_bounce = NULL; /* whatever the transport's slot held */
}

static uint64_t iov_total(const struct iovec *iov, unsigned int cnt)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Copy @len bytes between byte @at of @req's store iovecs and @buf. */
static void iov_copy(struct pvs_req *req, uint64_t at, uint8_t *buf, size_t len, bool to_iov)
{
	const struct iovec *iov = req->core.store_iov;

	for (unsigned int i = 0; i < req->core.store_cnt && len; i++) {
		size_t n;

		if (at >= iov[i].iov_len) {
			at -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - at < len ? iov[i].iov_len - at : len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + at, buf, n);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + at, n);
		buf += n;
		len -= n;
		at = 0;
	}
}

/* The next chunk of a bounced read or write. */
static void bounce_issue(struct pvs_lun *lun, struct pvs_req *req)
{
	uint64_t total = iov_total(req->core.store_iov, req->core.store_cnt);
	uint64_t done = req->core.store_done, off = req->core.store_off + done;
	bool write = (req->core.store_op & FOP_MASK) == FOP_WRITE;
	uint8_t *buf = req->core.store_bounce;
	struct io_uring_sqe *sqe;
	unsigned int len;

	if (done >= total) {
		finish(req, (int64_t)done);
		return;
	}
	len = (unsigned int)(total - done < BOUNCE_BYTES ? total - done : BOUNCE_BYTES);
	sqe = sqe_for(lun, req);
	if (!sqe)
		return;
	if (write) {
		iov_copy(req, done, buf, len, false);
		io_uring_prep_write(sqe, req->core.store_fd, buf, len, off);
		if (req->core.store_op & FOP_FUA)
			sqe->rw_flags = RWF_DSYNC;
	} else {
		io_uring_prep_read(sqe, req->core.store_fd, buf, len, off);
	}
}

/* A bounce buffer for @req, or a place in the queue for one. */
static void bounce_start(struct pvs_lun *lun, struct pvs_req *req)
{
	struct file_priv *p = priv_of(lun);

	req->core.store_op |= FOP_BOUNCE;
	if (!p->nfree) {
		req->core.store_wait = NULL;
		if (p->wait_tail)
			p->wait_tail->core.store_wait = req;
		else
			p->wait_head = req;
		p->wait_tail = req;
		return;
	}
	req->core.store_bounce = p->free_bounce[--p->nfree];
	bounce_issue(lun, req);
}

/*
 * What O_DIRECT takes as it is (the rule statx(2) gives for
 * STATX_DIOALIGN, applied to every iovec entry, which is what block
 * devices check).
 */
static bool dio_aligned(const struct file_priv *p, uint64_t off, const struct iovec *iov,
                        unsigned int cnt)
{
	uint64_t m = p->dio_mem - 1, o = p->dio_off - 1;

	if (off & o)
		return false;
	for (unsigned int i = 0; i < cnt; i++)
		if (((uintptr_t)iov[i].iov_base & m) || (iov[i].iov_len & o))
			return false;
	return true;
}

/* Queue the rest of a read or write, from byte store_done on. */
static void rw_issue(struct pvs_lun *lun, struct pvs_req *req)
{
	const struct iovec *iov = req->core.store_iov;
	unsigned int cnt = req->core.store_cnt, i = 0;
	uint64_t skip = req->core.store_done;
	uint64_t off = req->core.store_off + req->core.store_done;
	bool write = (req->core.store_op & FOP_MASK) == FOP_WRITE;
	struct io_uring_sqe *sqe;

	if (req->core.store_op & FOP_BOUNCE) {
		bounce_issue(lun, req);
		return;
	}
	while (i < cnt && skip >= iov[i].iov_len) {
		skip -= iov[i].iov_len;
		i++;
	}
	if (i == cnt) {
		finish(req, (int64_t)req->core.store_done);
		return;
	}
	sqe = sqe_for(lun, req);
	if (!sqe)
		return;
	if (skip) {
		/* Restarting inside an entry: finish that entry alone first. */
		size_t len = iov[i].iov_len - skip;
		uint8_t *base = (uint8_t *)iov[i].iov_base + skip;

		if (len > UINT_MAX)
			len = UINT_MAX & ~(size_t)4095;
		if (write)
			io_uring_prep_write(sqe, req->core.store_fd, base, (unsigned int)len, off);
		else
			io_uring_prep_read(sqe, req->core.store_fd, base, (unsigned int)len, off);
	} else {
		unsigned int n = cnt - i;

		if (n > IOV_MAX)
			n = IOV_MAX;
		if (write)
			io_uring_prep_writev(sqe, req->core.store_fd, &iov[i], n, off);
		else
			io_uring_prep_readv(sqe, req->core.store_fd, &iov[i], n, off);
	}
	if (write && (req->core.store_op & FOP_FUA))
		sqe->rw_flags = RWF_DSYNC;
}

/*
 * After a refused fallocate mode, the next way to get zeroes.  Only
 * EOPNOTSUPP is remembered: EINVAL may just be this range's alignment.
 */
static uint8_t zero_fallback(struct file_priv *p, uint8_t op, uint8_t first, bool forever)
{
	if (op == FOP_PUNCH) {
		p->no_punch |= forever;
		return first == FOP_PUNCH && !p->no_zero_range ? FOP_ZERO_RANGE : FOP_ZERO_WRITE;
	}
	p->no_zero_range |= forever;
	return first == FOP_ZERO_RANGE && !p->no_punch ? FOP_PUNCH : FOP_ZERO_WRITE;
}

/* Queue stage store_op of a discard / write_zeroes for the remaining range. */
static void zero_issue(struct pvs_lun *lun, struct pvs_req *req)
{
	struct file_priv *p = priv_of(lun);
	uint64_t off = req->core.store_off, len = req->core.store_done;
	struct io_uring_sqe *sqe;

	/* Skip modes this backing already refused; each step moves towards FOP_ZERO_WRITE. */
	while ((req->core.store_op == FOP_PUNCH && p->no_punch) ||
	       (req->core.store_op == FOP_ZERO_RANGE && p->no_zero_range))
		req->core.store_op = zero_fallback(p, req->core.store_op,
		                                   (uint8_t)(req->core.store_cnt & 0xff), false);
	if (len == 0) {
		finish(req, 0);
		return;
	}
	sqe = sqe_for(lun, req);
	if (!sqe)
		return;
	switch (req->core.store_op) {
	case FOP_PUNCH:
		io_uring_prep_fallocate(sqe, req->core.store_fd,
		                        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		break;
	case FOP_ZERO_RANGE:
		io_uring_prep_fallocate(sqe, req->core.store_fd,
		                        FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
		break;
	default:
		io_uring_prep_write(sqe, req->core.store_fd, zero_buf,
		                    (unsigned int)(len < sizeof(zero_buf) ? len : sizeof(zero_buf)),
		                    off);
		break;
	}
}

static void file_cont(struct pvs_req *req, int64_t res)
{
	struct pvs_lun *lun = req->core.lun;
	uint8_t op = req->core.store_op & FOP_MASK;

	if (res == -EINTR || res == -EAGAIN) {
		/* Nothing was transferred by this attempt: issue it again. */
		if (op == FOP_READ || op == FOP_WRITE)
			rw_issue(lun, req);
		else if (op == FOP_FLUSH || op == FOP_FADVISE)
			finish(req, -EIO); /* not expected from fsync / fadvise; never loop */
		else
			zero_issue(lun, req);
		return;
	}
	switch (op) {
	case FOP_READ:
	case FOP_WRITE:
		if (res == -EINVAL &&
		    (req->core.store_op & (FOP_DIRECT | FOP_BOUNCE)) == FOP_DIRECT) {
			/*
			 * The kernel's alignment rule is stricter than the one
			 * statx reported (a stacked device): copy it through.
			 */
			bounce_start(lun, req);
		} else if (res < 0) {
			finish(req, res);
		} else if (res == 0) {
			/* EOF: the backing shrank under the LUN.  No partial success. */
			finish(req, -EIO);
		} else {
			if ((req->core.store_op & FOP_BOUNCE) && op == FOP_READ)
				iov_copy(req, req->core.store_done, req->core.store_bounce,
				         (size_t)res, true);
			req->core.store_done += (uint64_t)res;
			rw_issue(lun, req);
		}
		return;
	case FOP_FLUSH:
	case FOP_FADVISE:
		finish(req, res < 0 ? res : 0);
		return;
	case FOP_PUNCH:
	case FOP_ZERO_RANGE:
		if (res == -EOPNOTSUPP || res == -EINVAL) {
			/*
			 * EINVAL: a block device takes only ranges aligned to its
			 * logical block size; plain writes take any.
			 */
			uint8_t first = (uint8_t)(req->core.store_cnt & 0xff);

			req->core.store_op =
			    zero_fallback(priv_of(lun), op, first, res == -EOPNOTSUPP);
			zero_issue(lun, req);
			return;
		}
		finish(req, res < 0 ? res : 0);
		return;
	case FOP_ZERO_WRITE:
		if (res < 0) {
			finish(req, res);
		} else if (res == 0) {
			finish(req, -EIO);
		} else {
			req->core.store_off += (uint64_t)res;
			req->core.store_done -= (uint64_t)res;
			zero_issue(lun, req);
		}
		return;
	default:
		finish(req, -EIO);
		return;
	}
}

void pvsi_file_readv_fd(struct pvs_lun *lun, struct pvs_req *req, int fd, uint64_t off,
                        const struct iovec *iov, unsigned int cnt)
{
	begin(req, FOP_READ);
	req->core.store_fd = fd;
	req->core.store_iov = iov;
	req->core.store_cnt = cnt;
	req->core.store_off = off;
	rw_issue(lun, req);
}

/* A read or write on the LUN's own fd: straight, or bounced when cache=none needs it. */
static void file_rw(struct pvs_lun *lun, struct pvs_req *req, uint8_t op, uint64_t off,
                    const struct iovec *iov, unsigned int cnt)
{
	struct file_priv *p = priv_of(lun);

	begin(req, op);
	req->core.store_iov = iov;
	req->core.store_cnt = cnt;
	req->core.store_off = off;
	if (p->direct) {
		req->core.store_op |= FOP_DIRECT;
		if (!dio_aligned(p, off, iov, cnt)) {
			bounce_start(lun, req);
			return;
		}
	}
	rw_issue(lun, req);
}

static void file_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                       const struct iovec *iov, unsigned int cnt)
{
	file_rw(lun, req, FOP_READ, off, iov, cnt);
}

static void file_writev(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                        const struct iovec *iov, unsigned int cnt, bool fua)
{
	if (priv_of(lun)->inline_writes && !fua && cnt <= IOV_MAX) {
		ssize_t n;

		begin(req, FOP_WRITE);
		req->core.store_iov = iov;
		req->core.store_cnt = cnt;
		req->core.store_off = off;
		n = pwritev2(req->core.store_fd, iov, (int)cnt, (off_t)off, 0);
		/*
		 * Short, EINTR or EAGAIN: file_cont() issues the rest through
		 * io_uring.  Nothing written is no EOF here: rw_issue() ends an
		 * empty transfer, and io_uring judges any other.
		 */
		if (n == 0)
			rw_issue(lun, req);
		else
			file_cont(req, n < 0 ? -errno : n);
		return;
	}
	file_rw(lun, req, (uint8_t)(FOP_WRITE | (fua ? FOP_FUA : 0)), off, iov, cnt);
}

static void file_flush(struct pvs_lun *lun, struct pvs_req *req)
{
	struct io_uring_sqe *sqe;

	begin(req, FOP_FLUSH);
	sqe = sqe_for(lun, req);
	if (sqe)
		io_uring_prep_fsync(sqe, req->core.store_fd, IORING_FSYNC_DATASYNC);
}

/*
 * Readahead through io_uring (IORING_OP_FADVISE runs in the kernel's
 * workers): the synchronous posix_fadvise() could block the worker on the
 * file system's mapping lookups.  The SQE's length is 32 bits; the kernel
 * reads ahead at most its readahead window anyway.
 */
static void file_prefetch(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	struct io_uring_sqe *sqe;

	begin(req, FOP_FADVISE);
	if (priv_of(lun)->direct) {
		/* cache=none reads never look in the page cache: nothing to fill. */
		finish(req, 0);
		return;
	}
	sqe = sqe_for(lun, req);
	if (sqe)
		io_uring_prep_fadvise(
		    sqe, req->core.store_fd, off,
		    (off_t)(len < UINT32_MAX ? len : UINT32_MAX & ~(uint64_t)4095),
		    POSIX_FADV_WILLNEED);
}

/*
 * SEEK_DATA / SEEK_HOLE on a regular file: a block is mapped when any of
 * its bytes is data, deallocated when all of it is a hole (a hole reads
 * back as zeroes, as LBPRZ promises).  A block device cannot tell, so
 * everything is mapped.  A file system without hole reporting treats the
 * whole file as data (the generic lseek), or refuses: mapped too.  Past
 * the end of a file that shrank there is no data.
 */
static int64_t file_extent(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped)
{
	uint64_t bs = lun->block_size, stop;
	off_t d, h;

	*mapped = true;
	if (priv_of(lun)->bdev)
		return (int64_t)(end - off);
	d = lseek(lun->fd, (off_t)off, SEEK_DATA);
	if (d < 0) {
		if (errno == ENXIO) {
			*mapped = false;
			return (int64_t)(end - off);
		}
		if (errno == EINVAL || errno == EOPNOTSUPP)
			return (int64_t)(end - off);
		return -errno;
	}
	if ((uint64_t)d >= off + bs) {
		/* A hole from @off on: the blocks it covers whole. */
		*mapped = false;
		stop = (uint64_t)d / bs * bs;
	} else {
		/* Data in the block at @off: mapped up to the block the next hole starts in. */
		h = lseek(lun->fd, d, SEEK_HOLE);
		if (h < 0)
			return errno == ENXIO ? (int64_t)bs : -errno; /* shrank meanwhile */
		stop = ((uint64_t)h + bs - 1) / bs * bs;
	}
	return (int64_t)((stop < end ? stop : end) - off);
}

static void zero_start(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len,
                       uint8_t first)
{
	begin(req, first);
	req->core.store_iov = NULL;
	req->core.store_off = off;
	req->core.store_done = len; /* bytes still to zero */
	req->core.store_cnt = first;
	zero_issue(lun, req);
}

static void file_discard(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	/* Deallocate; a backing that cannot still reads back zeroes after a fallback. */
	zero_start(lun, req, off, len, FOP_PUNCH);
}

static void file_write_zeroes(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	/* Keep the blocks allocated (SBC-4 5.50 WRITE SAME with UNMAP=0). */
	zero_start(lun, req, off, len, FOP_ZERO_RANGE);
}

int pvsi_file_cancel(struct pvs_lun *lun, struct pvs_req *req)
{
	struct io_uring_sqe *sqe;

	if (!req->core.store_op)
		return -ENOENT;
	sqe = pvsi_worker_sqe(lun->worker, NULL);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel(sqe, req, 0);
	/* A TMF wants the answer now, not at the transport's next flush. */
	pvsi_worker_submit(lun->worker);
	return 0;
}

static int64_t backing_size(int fd, bool bdev)
{
	struct stat st;
	uint64_t sz;

	if (bdev) {
		if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
			return -errno;
		return (int64_t)sz;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	return st.st_size;
}

static int64_t file_size(struct pvs_lun *lun)
{
	return backing_size(lun->fd, priv_of(lun)->bdev);
}

static void file_close(struct pvs_lun *lun)
{
	struct file_priv *p = priv_of(lun);

	if (p && p->watch_fd >= 0) {
		pvsi_worker_del_fd(lun->worker, p->watch_fd);
		close(p->watch_fd);
	}
	if (lun->fd >= 0)
		close(lun->fd);
	lun->fd = -1;
	if (p)
		free(p->bounce);
	free(lun->priv);
	lun->priv = NULL;
}

static void file_watch(void *opaque, uint32_t events);

/*
 * Only the watch is the worker's between requests: a cancel's CQE carries
 * no request, and a prefetch's fadvise is its request's.
 */
static int file_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen)
{
	struct file_priv *p = priv_of(lun);
	int rc;

	if (p->watch_fd < 0)
		return 0;
	rc = pvsi_worker_add_fd(to, p->watch_fd, EPOLLIN, file_watch, lun);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen,
			         "file LUN '%s': the new worker refused the watch of "
			         "its name: %s",
			         lun->backing, strerror(-rc));
		return rc;
	}
	pvsi_worker_del_fd(lun->worker, p->watch_fd);
	return 0;
}

static const struct pvsi_store_ops file_store = {
    .kind = "file",
    .readv = file_readv,
    .writev = file_writev,
    .flush = file_flush,
    .discard = file_discard,
    .write_zeroes = file_write_zeroes,
    .prefetch = file_prefetch,
    .extent = file_extent,
    .cancel = pvsi_file_cancel,
    .size = file_size,
    .close = file_close,
    .move = file_move,
};

/* The first line of queue/@attr of a block device (or of its parent disk); "" if none. */
static void bdev_queue_attr(dev_t rdev, const char *attr, char *buf, size_t len)
{
	const char *fmts[] = {"/sys/dev/block/%u:%u/queue/%s", "/sys/dev/block/%u:%u/../queue/%s"};

	buf[0] = '\0';
	for (unsigned i = 0; i < 2; i++) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), fmts[i], major(rdev), minor(rdev), attr);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
		return;
	}
}

static bool bdev_can_discard(dev_t rdev)
{
	char v[32];

	bdev_queue_attr(rdev, "discard_max_bytes", v, sizeof(v));
	return strtoull(v, NULL, 10) > 0;
}

/*
 * Whether the file system can punch holes, asked beyond EOF where there is
 * no data to lose.
 */
static bool file_can_punch(int fd, int64_t size)
{
	off_t off = (off_t)((size + 4095) & ~(int64_t)4095);

	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, 4096) == 0;
}

/*
 * The backing's last name went (rm of the image file, a device node
 * removed when its disk is detached): what is written from now on would
 * vanish with the last close, so the LUN ends here rather than lose it.
 * inotify reports link count changes as IN_ATTRIB; a rename keeps a name.
 */
static void file_watch(void *opaque, uint32_t events)
{
	struct pvs_lun *lun = opaque;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct stat st;

	(void)events;
	while (read(priv_of(lun)->watch_fd, buf, sizeof(buf)) > 0)
		;
	if (fstat(lun->fd, &st) == 0 && st.st_nlink == 0)
		pvsi_lun_gone(lun, "removed from its file system");
}

/* Best effort: without a watch the LUN serves on from the open file. */
static void watch_backing(struct pvs_lun *lun, const char *path)
{
	struct file_priv *p = priv_of(lun);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return;
	if (inotify_add_watch(fd, path, IN_ATTRIB | IN_DELETE_SELF) < 0 ||
	    pvsi_worker_add_fd(lun->worker, fd, EPOLLIN, file_watch, lun) < 0) {
		close(fd);
		return;
	}
	p->watch_fd = fd;
}

static int fail(char *err, size_t errlen, const char *path, const char *why, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "file LUN '%s': %s", path, why);
	return rc;
}

/*
 * Whether an O_DIRECT read of @len bytes at offset 0 into a buffer aligned
 * to @len is accepted (a short read at EOF is).  Reads change nothing.
 */
static bool dio_probe(int fd, uint8_t *buf, uint32_t len)
{
	ssize_t n = pread(fd, buf + len, len, 0);

	return n >= 0;
}

/*
 * The direct I/O alignment of @fd into p->dio_mem / p->dio_off: statx's
 * STATX_DIOALIGN (Linux 6.1), else a block device's logical block size,
 * else the smallest of 512 and 4096 that a read accepts.  @how says which,
 * for messages.  -EINVAL when the file takes no direct I/O at all.
 */
static int dio_alignment(int fd, bool bdev, struct file_priv *p, const char **how)
{
	struct statx stx;
	int lbs;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		*how = "statx STATX_DIOALIGN";
		if (!stx.stx_dio_offset_align || !stx.stx_dio_mem_align)
			return -EINVAL; /* statx(2): 0 means no direct I/O on this file */
		p->dio_mem = stx.stx_dio_mem_align;
		p->dio_off = stx.stx_dio_offset_align;
		return 0;
	}
	if (bdev && ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > 0) {
		*how = "BLKSSZGET";
		p->dio_mem = p->dio_off = (uint32_t)lbs;
		return 0;
	}
	*how = "O_DIRECT reads of 512 and 4096 bytes";
	for (uint32_t a = 512; a <= 4096; a *= 8) {
		uint8_t *buf;
		bool ok;

		if (posix_memalign((void **)&buf, 4096, 8192))
			return -ENOMEM;
		ok = dio_probe(fd, buf, a);
		free(buf);
		if (ok) {
			p->dio_mem = p->dio_off = a;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * cache=none on @fd (already O_DIRECT): the alignment, the refusals, the
 * bounce buffers and what the LUN reports of its cache.
 */
static int direct_setup(struct pvs_lun *lun, struct file_priv *p, int fd, const struct stat *st,
                        const char *path, char *err, size_t errlen)
{
	const char *how = "";
	char why[256];
	uint32_t align;
	int rc = dio_alignment(fd, p->bdev, p, &how);

	if (rc == -ENOMEM)
		return fail(err, errlen, path, strerror(ENOMEM), rc);
	if (rc) {
		snprintf(why, sizeof(why),
		         "cache=none needs O_DIRECT, and its file system takes no direct I/O on it "
		         "(%s); use cache=writeback",
		         how);
		return fail(err, errlen, path, why, -EINVAL);
	}
	if (p->dio_off > lun->block_size || p->dio_off > BOUNCE_BYTES ||
	    (p->dio_off & (p->dio_off - 1)) || (p->dio_mem & (p->dio_mem - 1))) {
		/* A sub-block write would be a read-modify-write racing other writers. */
		snprintf(why, sizeof(why),
		         "cache=none: direct I/O on it needs %u-byte aligned offsets and lengths "
		         "(%s), more than the LUN's %u-byte blocks; use bs=4096 or cache=writeback",
		         p->dio_off, how, lun->block_size);
		return fail(err, errlen, path, why, -EINVAL);
	}
	align = p->dio_off > p->dio_mem ? p->dio_off : p->dio_mem;
	if (posix_memalign((void **)&p->bounce, align < 4096 ? 4096 : align,
	                   (size_t)BOUNCE_SLOTS * BOUNCE_BYTES))
		return fail(err, errlen, path, strerror(ENOMEM), -ENOMEM);
	for (unsigned int i = 0; i < BOUNCE_SLOTS; i++)
		p->free_bounce[i] = p->bounce + (size_t)i * BOUNCE_BYTES;
	p->nfree = BOUNCE_SLOTS;
	p->direct = true;
	if (p->bdev) {
		char wc[32];

		/* Nothing volatile below: a completed direct write is on the medium. */
		bdev_queue_attr(st->st_rdev, "write_cache", wc, sizeof(wc));
		if (!strcmp(wc, "write through"))
			lun->wce = false;
	}
	return 0;
}

int pvsi_file_open(struct pvs_lun *lun, const struct pvs_spec *sp, char *err, size_t errlen)
{
	const char *path = sp->name;
	bool direct = sp->direct;
	struct file_priv *p;
	struct stat st;
	int64_t size;
	int fd, fl, rc;
	char why[128];

	if (!lun->worker)
		return fail(err, errlen, path, "needs a worker (io_uring)", -EINVAL);
	/* O_NONBLOCK so that a FIFO named by mistake cannot hang the open. */
	fd = open(path,
	          (lun->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | (direct ? O_DIRECT : 0));
	if (fd < 0) {
		rc = -errno;
		if (rc == -EINVAL && direct)
			/* open(2): the file system does not support O_DIRECT.  Never buffered
			 * instead. */
			return fail(
			    err, errlen, path,
			    "cache=none needs O_DIRECT, which its file system refuses (open: "
			    "EINVAL); use cache=writeback",
			    rc);
		if (rc == -ENOENT)
			return fail(err, errlen, path, "no such file or device", rc);
		if (rc == -EISDIR)
			return fail(err, errlen, path, "is a directory", rc);
		snprintf(why, sizeof(why), "cannot open %s: %s",
		         lun->ro ? "read-only" : "read-write", strerror(-rc));
		return fail(err, errlen, path, why, rc);
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, path, strerror(-rc), rc);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return fail(err, errlen, path, "is a directory", -EISDIR);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return fail(err, errlen, path,
		            "not a regular file or block device (use sg: for SCSI passthrough)",
		            -EINVAL);
	}
	/* io_uring honours O_NONBLOCK as "never wait" and would fail reads with EAGAIN. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, path, strerror(-rc), rc);
	}
	size = backing_size(fd, S_ISBLK(st.st_mode));
	if (size < 0) {
		close(fd);
		snprintf(why, sizeof(why), "cannot read the size: %s", strerror((int)-size));
		return fail(err, errlen, path, why, (int)size);
	}
	if (size == 0) {
		close(fd);
		return fail(err, errlen, path, "is empty (size 0)", -EINVAL);
	}
	if ((uint64_t)size < lun->block_size) {
		close(fd);
		snprintf(why, sizeof(why), "%lld bytes is less than one %u-byte block",
		         (long long)size, lun->block_size);
		return fail(err, errlen, path, why, -EINVAL);
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return fail(err, errlen, path, strerror(ENOMEM), -ENOMEM);
	}
	p->bdev = S_ISBLK(st.st_mode);
	p->watch_fd = -1;
	p->inline_writes = sp->inline_writes;
	if (direct) {
		rc = direct_setup(lun, p, fd, &st, path, err, errlen);
		if (rc) {
			free(p->bounce);
			free(p);
			close(fd);
			return rc;
		}
	}
	if (p->bdev)
		lun->thin = bdev_can_discard(st.st_rdev);
	else
		lun->thin = !lun->ro && file_can_punch(fd, size);
	lun->fd = fd;
	lun->priv = p;
	lun->store = &file_store;
	watch_backing(lun, path);
	/* A tail shorter than a block is not addressable. */
	lun->nblocks = (uint64_t)size >> lun->block_shift;
	return 0;
}
