/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file_ut.c - file: LUNs on the real io_uring path: the store operations
 * directly, then SCSI commands through pvs_submit().
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "cu_run.h"
#include "lun_harness.h"
#include "pvscsi/spec.h"

static struct pvs_worker *W;
static char dir[64];

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A file of @size bytes, every byte @fill (0: sparse). */
static void make_file(const char *name, off_t size, int fill)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, size) == 0);
	if (fill) {
		static uint8_t chunk[65536];

		memset(chunk, fill, sizeof(chunk));
		for (off_t o = 0; o < size; o += (off_t)sizeof(chunk)) {
			size_t n =
			    (size_t)(size - o) < sizeof(chunk) ? (size_t)(size - o) : sizeof(chunk);

			CU_ASSERT_FATAL(pwrite(fd, chunk, n, o) == (ssize_t)n);
		}
		CU_ASSERT(fsync(fd) == 0);
	}
	close(fd);
}

static struct pvs_lun *open_lun(const char *name, const char *opts)
{
	char spec[192], err[256] = "";
	struct pvs_lun *lun = NULL;
	int rc;

	snprintf(spec, sizeof(spec), "file:%s/%s%s", dir, name, opts ? opts : "");
	rc = pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err));
	if (rc)
		fprintf(stderr, "open %s: %d %s\n", spec, rc, err);
	CU_ASSERT_EQUAL(rc, 0);
	return lun;
}

static int open_err(const char *spec, char *err, size_t errlen)
{
	struct pvs_lun *lun = (struct pvs_lun *)1;
	int rc = pvs_lun_open(W, spec, NULL, &lun, err, errlen);

	CU_ASSERT_PTR_NULL(lun);
	if (!rc)
		pvs_lun_close(lun);
	return rc;
}

static int lun_fd(const char *name)
{
	char p[128];

	path_of(p, sizeof(p), name);
	return open(p, O_RDWR);
}

static blkcnt_t blocks_of(const char *name)
{
	char p[128];
	struct stat st;

	path_of(p, sizeof(p), name);
	CU_ASSERT_FATAL(stat(p, &st) == 0);
	return st.st_blocks;
}

/* ---- store-level helpers ---- */

struct io {
	struct pvs_req req; /* first: the continuation gets &io->req */
	int calls;
	int64_t res;
};

static void io_cont(struct pvs_req *req, int64_t res)
{
	struct io *io = (struct io *)req;

	io->calls++;
	io->res = res;
}

static void io_init(struct io *io, struct pvs_lun *lun)
{
	memset(io, 0, sizeof(*io));
	io->req.core.lun = lun;
	io->req.core.cont = io_cont;
}

static int64_t io_wait(struct io *io)
{
	for (int i = 0; i < 3000 && !io->calls; i++) {
		pvs_worker_flush(W);
		pvs_worker_wait(W, 10);
	}
	pvs_worker_poll(W);
	CU_ASSERT_EQUAL(io->calls, 1);
	/* the handler's continuation is back in place for its next stage */
	CU_ASSERT_PTR_EQUAL(io->req.core.cont, io_cont);
	return io->calls ? io->res : -ETIMEDOUT;
}

static int64_t s_readv(struct pvs_lun *lun, uint64_t off, struct iovec *iov, unsigned cnt)
{
	struct io io;

	io_init(&io, lun);
	lun->store->readv(lun, &io.req, off, iov, cnt);
	return io_wait(&io);
}

static int64_t s_writev(struct pvs_lun *lun, uint64_t off, struct iovec *iov, unsigned cnt,
                        bool fua)
{
	struct io io;

	io_init(&io, lun);
	lun->store->writev(lun, &io.req, off, iov, cnt, fua);
	return io_wait(&io);
}

static int64_t s_range(struct pvs_lun *lun, int discard, uint64_t off, uint64_t len)
{
	struct io io;

	io_init(&io, lun);
	if (discard)
		lun->store->discard(lun, &io.req, off, len);
	else
		lun->store->write_zeroes(lun, &io.req, off, len);
	return io_wait(&io);
}

static int64_t s_flush(struct pvs_lun *lun)
{
	struct io io;

	io_init(&io, lun);
	lun->store->flush(lun, &io.req);
	return io_wait(&io);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- open ---- */

static void test_open_errors(void)
{
	char spec[192], err[256];
	int rc;

	snprintf(spec, sizeof(spec), "file:%s/nope.img", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such file"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nope.img"));

	snprintf(spec, sizeof(spec), "file:%s", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EISDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));
	snprintf(spec, sizeof(spec), "file:%s,ro", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EISDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));

	make_file("empty.img", 0, 0);
	snprintf(spec, sizeof(spec), "file:%s/empty.img", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));

	make_file("tiny.img", 300, 0);
	snprintf(spec, sizeof(spec), "file:%s/tiny.img", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "less than one 512-byte block"));
	make_file("small.img", 4000, 0);
	snprintf(spec, sizeof(spec), "file:%s/small.img,bs=4096", dir);
	err[0] = 0;
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "less than one 4096-byte block"));

	err[0] = 0;
	CU_ASSERT_EQUAL(open_err("file:/dev/null", err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file or block device"));

	/* a FIFO must be refused, not block the open waiting for a writer */
	snprintf(spec, sizeof(spec), "%s/fifo", dir);
	CU_ASSERT_FATAL(mkfifo(spec, 0600) == 0);
	snprintf(spec, sizeof(spec), "file:%s/fifo,ro", dir);
	err[0] = 0;
	rc = open_err(spec, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file or block device"));
}

static void test_geometry(void)
{
	struct pvs_lun *lun;

	/* 10 whole 512-byte blocks and a 100-byte tail that is not exposed */
	make_file("odd.img", 10 * 512 + 100, 0);
	lun = open_lun("odd.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(pvs_lun_blocks(lun), 10);
	CU_ASSERT_EQUAL(pvs_lun_block_size(lun), 512);
	CU_ASSERT_STRING_EQUAL(lun->store->kind, "file");
	CU_ASSERT_EQUAL(lun->store->size(lun), 10 * 512 + 100);
	CU_ASSERT_TRUE(lun->fd >= 0);
	pvs_lun_close(lun);

	make_file("odd4k.img", 3 * 4096 + 4095, 0);
	lun = open_lun("odd4k.img", ",bs=4096");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(pvs_lun_blocks(lun), 3);
	CU_ASSERT_EQUAL(pvs_lun_block_size(lun), 4096);
	/* ext4 punches holes: the LUN is thin */
	CU_ASSERT_TRUE(lun->thin);
	pvs_lun_close(lun);

	lun = open_lun("odd4k.img", ",ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(pvs_lun_blocks(lun), 31);
	CU_ASSERT_TRUE(lun->ro);
	pvs_lun_close(lun);
}

/* ---- store I/O ---- */

static void round_trip(uint32_t bs)
{
	struct pvs_lun *lun;
	/* three entries of odd lengths at odd addresses: nothing is aligned */
	static uint8_t wbuf[5 * 4096], rbuf[5 * 4096], check[3 * 4096];
	struct iovec wiov[3] = {
	    {wbuf + 1, 100}, {wbuf + 200, 2 * bs - 300}, {wbuf + 9000, bs + 200}};
	struct iovec riov[3] = {{rbuf + 3, 1}, {rbuf + 100, 3 * bs - 1}, {rbuf + 16000, 0}};
	uint64_t total = 3 * (uint64_t)bs, off = 5 * (uint64_t)bs;
	size_t got = 0;
	int fd;

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 7 + bs);
	make_file("rt.img", 64 * 4096, 0x5a);
	lun = open_lun("rt.img", bs == 4096 ? ",bs=4096" : NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(pvs_lun_blocks(lun), 64 * 4096 / bs);
	CU_ASSERT_EQUAL(s_writev(lun, off, wiov, 3, false), (int64_t)total);

	/* the bytes are in the file, in iov order, at the offset */
	fd = lun_fd("rt.img");
	CU_ASSERT_EQUAL(pread(fd, check, total, (off_t)off), (ssize_t)total);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(memcmp(check + got, wiov[i].iov_base, wiov[i].iov_len), 0);
		got += wiov[i].iov_len;
	}
	/* neighbours untouched */
	CU_ASSERT_EQUAL(pread(fd, check, bs, (off_t)(off - bs)), (ssize_t)bs);
	CU_ASSERT_TRUE(all_bytes(check, bs, 0x5a));
	CU_ASSERT_EQUAL(pread(fd, check, bs, (off_t)(off + total)), (ssize_t)bs);
	CU_ASSERT_TRUE(all_bytes(check, bs, 0x5a));
	close(fd);

	/* and read back through a different split (with an empty entry) */
	memset(rbuf, 0, sizeof(rbuf));
	CU_ASSERT_EQUAL(s_readv(lun, off, riov, 3), (int64_t)total);
	CU_ASSERT_EQUAL(rbuf[3], wbuf[1]);
	CU_ASSERT_EQUAL(memcmp(rbuf + 100, wbuf + 2, 99), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 100 + 99, wbuf + 200, 2 * bs - 300), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 100 + 99 + 2 * bs - 300, wbuf + 9000, bs + 200), 0);

	/* FUA write (RWF_DSYNC) and flush succeed and land */
	wiov[0].iov_len = bs;
	CU_ASSERT_EQUAL(s_writev(lun, 0, wiov, 1, true), (int64_t)bs);
	CU_ASSERT_EQUAL(s_flush(lun), 0);
	fd = lun_fd("rt.img");
	CU_ASSERT_EQUAL(pread(fd, check, bs, 0), (ssize_t)bs);
	CU_ASSERT_EQUAL(memcmp(check, wbuf + 1, bs), 0);
	close(fd);
	pvs_lun_close(lun);
}

static void test_round_trip_512(void)
{
	round_trip(512);
}

static void test_round_trip_4096(void)
{
	round_trip(4096);
}

static void test_readonly(void)
{
	struct pvs_lun *lun;
	uint8_t buf[512] = {1};
	struct iovec iov = {buf, sizeof(buf)};

	make_file("ro.img", 8192, 0x11);
	lun = open_lun("ro.img", ",ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_FALSE(lun->thin);
	/* the fd is read-only: a write that slipped through still cannot land */
	CU_ASSERT_EQUAL(s_writev(lun, 0, &iov, 1, false), -EBADF);
	CU_ASSERT_EQUAL(s_readv(lun, 512, &iov, 1), 512);
	CU_ASSERT_TRUE(all_bytes(buf, 512, 0x11));
	CU_ASSERT_EQUAL(s_flush(lun), 0);
	pvs_lun_close(lun);
}

static void test_discard_deallocates(void)
{
	struct pvs_lun *lun;
	static uint8_t buf[4 << 20];
	blkcnt_t before, after;
	int fd;

	make_file("thin.img", 4 << 20, 0xab);
	before = blocks_of("thin.img");
	CU_ASSERT_TRUE(before >= (4 << 20) / 512);
	lun = open_lun("thin.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_TRUE(lun->thin);
	CU_ASSERT_EQUAL(s_range(lun, 1, 1 << 20, 2 << 20), 0);
	after = blocks_of("thin.img");
	/* 2 MiB = 4096 512-byte units gone */
	CU_ASSERT_TRUE(before - after >= (2 << 20) / 512);
	fd = lun_fd("thin.img");
	CU_ASSERT_EQUAL(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CU_ASSERT_TRUE(all_bytes(buf, 1 << 20, 0xab));
	CU_ASSERT_TRUE(all_bytes(buf + (1 << 20), 2 << 20, 0));
	CU_ASSERT_TRUE(all_bytes(buf + (3 << 20), 1 << 20, 0xab));
	close(fd);

	/* write_zeroes keeps the blocks (ZERO_RANGE) and reads back zero */
	before = blocks_of("thin.img");
	CU_ASSERT_EQUAL(s_range(lun, 0, 512, 4096), 0);
	CU_ASSERT_TRUE(blocks_of("thin.img") >= before);
	fd = lun_fd("thin.img");
	CU_ASSERT_EQUAL(pread(fd, buf, 8192, 0), 8192);
	CU_ASSERT_TRUE(all_bytes(buf, 512, 0xab));
	CU_ASSERT_TRUE(all_bytes(buf + 512, 4096, 0));
	CU_ASSERT_TRUE(all_bytes(buf + 4608, 8192 - 4608, 0xab));
	close(fd);
	/* zero length: nothing to do, still one completion */
	CU_ASSERT_EQUAL(s_range(lun, 1, 0, 0), 0);
	pvs_lun_close(lun);
}

/* tmpfs has no ZERO_RANGE: write_zeroes falls back to punching. */
static void test_zeroes_fallback_tmpfs(void)
{
	char spec[128], err[256] = "";
	struct pvs_lun *lun = NULL;
	static uint8_t buf[65536];
	int fd;

	fd = open("/dev/shm/pvscsi-file-ut.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "no /dev/shm: skipped ");
		return;
	}
	memset(buf, 0x77, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	snprintf(spec, sizeof(spec), "file:/dev/shm/pvscsi-file-ut.img");
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(lun->thin);
	/* twice: the second time the refused mode is not tried again */
	CU_ASSERT_EQUAL(s_range(lun, 0, 4096, 8192), 0);
	CU_ASSERT_EQUAL(s_range(lun, 0, 32768, 100), 0);
	CU_ASSERT_EQUAL(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CU_ASSERT_TRUE(all_bytes(buf, 4096, 0x77));
	CU_ASSERT_TRUE(all_bytes(buf + 4096, 8192, 0));
	CU_ASSERT_TRUE(all_bytes(buf + 12288, 32768 - 12288, 0x77));
	CU_ASSERT_TRUE(all_bytes(buf + 32768, 100, 0));
	CU_ASSERT_TRUE(all_bytes(buf + 32868, sizeof(buf) - 32868, 0x77));
	pvs_lun_close(lun);
	close(fd);
	unlink("/dev/shm/pvscsi-file-ut.img");
}

static void test_truncated_backing(void)
{
	struct pvs_lun *lun;
	static uint8_t buf[8192];
	struct iovec iov = {buf, sizeof(buf)};
	int fd;

	make_file("shrink.img", 1 << 20, 0x33);
	lun = open_lun("shrink.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(pvs_lun_blocks(lun), 2048);
	fd = lun_fd("shrink.img");
	CU_ASSERT_FATAL(ftruncate(fd, 8192) == 0);
	close(fd);
	/* entirely past the new end */
	CU_ASSERT_EQUAL(s_readv(lun, 512 * 1024, &iov, 1), -EIO);
	/* straddling it: 4096 bytes come back, then EOF; never a partial success */
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(s_readv(lun, 4096, &iov, 1), -EIO);
	CU_ASSERT_TRUE(all_bytes(buf, 4096, 0x33));
	/* inside what is left still works */
	iov.iov_len = 4096;
	CU_ASSERT_EQUAL(s_readv(lun, 0, &iov, 1), 4096);
	CU_ASSERT_EQUAL(lun->store->size(lun), 8192);
	pvs_lun_close(lun);
}

/*
 * A transfer the kernel cuts short (one readv moves at most MAX_RW_COUNT,
 * 2 GiB - 4 KiB) is resumed, from the middle of an iovec entry, to the end.
 */
static void test_short_read_resumed(void)
{
	enum { N = 1024, PIECE = 5 << 19 }; /* 1024 x 2.5 MiB = 2.5 GiB */
	static struct iovec iov[N];
	struct pvs_lun *lun;
	uint8_t *piece = malloc(PIECE);
	char p[128];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(piece);
	for (int i = 0; i < N; i++)
		iov[i] = (struct iovec){piece, PIECE};
	/*
	 * Sparse: 3 GiB of holes, with a marker in the last piece read.  On
	 * tmpfs holes read as the zero page: no page cache to fill.
	 */
	snprintf(p, sizeof(p), "/dev/shm/pvscsi-file-ut-big.img");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		path_of(p, sizeof(p), "big.img");
		fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	}
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, 3ll << 30) == 0);
	CU_ASSERT_FATAL(pwrite(fd, "END!", 4, (off_t)N * PIECE - 4) == 4);
	close(fd);
	{
		char spec[160], err[256] = "";

		snprintf(spec, sizeof(spec), "file:%s", p);
		CU_ASSERT_EQUAL_FATAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), 0);
	}
	memset(piece, 0xee, PIECE);
	CU_ASSERT_EQUAL(s_readv(lun, 0, iov, N), (int64_t)N * PIECE);
	CU_ASSERT_EQUAL(memcmp(piece + PIECE - 4, "END!", 4), 0);
	CU_ASSERT_TRUE(all_bytes(piece, PIECE - 4, 0));
	pvs_lun_close(lun);
	unlink(p);
	free(piece);
}

static void test_cancel(void)
{
	struct pvs_lun *lun;
	static uint8_t buf[1 << 20];
	struct iovec iov = {buf, sizeof(buf)};
	struct io io;

	make_file("cancel.img", 4 << 20, 0x44);
	lun = open_lun("cancel.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	io_init(&io, lun);
	/* nothing running for this request */
	CU_ASSERT_EQUAL(lun->store->cancel(lun, &io.req), -ENOENT);
	lun->store->readv(lun, &io.req, 0, &iov, 1);
	CU_ASSERT_EQUAL(io.calls, 0);
	CU_ASSERT_EQUAL(lun->store->cancel(lun, &io.req), 0);
	/* the request completes exactly once, either way the race went */
	io_wait(&io);
	CU_ASSERT_TRUE(io.res == (int64_t)sizeof(buf) || io.res == -ECANCELED);
	CU_ASSERT_EQUAL(lun->store->cancel(lun, &io.req), -ENOENT);
	pvs_lun_close(lun);
}

/* ---- SCSI commands through pvs_submit ---- */

struct cmd {
	struct pvs_req req;
	int done;
};

static void cmd_done(struct pvs_req *req)
{
	((struct cmd *)req)->done++;
}

static void run_cdb(struct pvs_lun *lun, struct cmd *c, const uint8_t *cdb, unsigned cdb_len,
                    enum pvs_dir d, void *buf, size_t len)
{
	static struct iovec iov;

	memset(c, 0, sizeof(*c));
	lh_req_init(&c->req, &iov, 7, cdb, cdb_len, d, buf, len, cmd_done, NULL);
	pvs_submit(lun, &c->req);
	for (int i = 0; i < 3000 && !c->done; i++) {
		pvs_worker_flush(W);
		pvs_worker_wait(W, 10);
	}
	pvs_worker_poll(W);
	CU_ASSERT_EQUAL(c->done, 1);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
}

static void clear_ua(struct pvs_lun *lun)
{
	static const uint8_t tur[6] = {0};
	struct cmd c;

	run_cdb(lun, &c, tur, 6, PVS_DIR_NONE, NULL, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	run_cdb(lun, &c, tur, 6, PVS_DIR_NONE, NULL, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
}

static void rw10(uint8_t *cdb, uint8_t op, uint8_t flags, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[1] = flags;
	pvsi_put_be32(cdb + 2, lba);
	pvsi_put_be16(cdb + 7, n);
}

/* ---- cache=none (O_DIRECT) ---- */

static void test_direct_spec(void)
{
	static const struct {
		const char *in, *out;
		bool direct;
	} ok[] = {
	    {"file:/x.img,cache=none", "file:/x.img,cache=none", true},
	    {"file:/x.img,cache=none,bs=4096,ro", "file:/x.img,ro,bs=4096,cache=none", true},
	    {"file:/x.img,cache=writeback", "file:/x.img", false},
	    {"file:/x.img,cache=writeback,cache=none", "file:/x.img,cache=none", true},
	    {"file:/x.img,cache=none,cache=writeback", "file:/x.img", false},
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
	    {"mem:4K,cache=none", "cache=none applies to file: LUNs only"},
	    {"cdrom:/a.iso,cache=none", "cache=none applies to file: LUNs only"},
	    {"sg:/dev/sg1,cache=none", "cache=none applies to file: LUNs only"},
	    {"naa.5000c500a1b2c3d4,cache=none", "cache=none applies to file: LUNs only"},
	    {"file:/x.img,cache=unsafe", "unknown option 'cache=unsafe' (ro, bs=512, bs=4096, "
	                                 "cache=none, cache=writeback, writes=inline, "
	                                 "writes=io_uring)"},
	};
	struct pvs_spec s, s2;
	char err[256], buf[PVS_SPEC_MAX];

	for (size_t i = 0; i < CU_NELEM(ok); i++) {
		CU_ASSERT_EQUAL_FATAL(pvs_spec_parse(ok[i].in, &s, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(s.kind, PVS_SPEC_FILE);
		CU_ASSERT_EQUAL(s.direct, ok[i].direct);
		CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, ok[i].out);
		CU_ASSERT_EQUAL(pvs_spec_parse(buf, &s2, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(s2.direct, s.direct);
		CU_ASSERT_EQUAL(s2.ro, s.ro);
		CU_ASSERT_EQUAL(s2.bs, s.bs);
	}
	for (size_t i = 0; i < CU_NELEM(bad); i++) {
		CU_ASSERT_EQUAL(pvs_spec_parse(bad[i].in, &s, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "spec '%s': '%s' lacks '%s'\n", bad[i].in, err, bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
	}
}

/*
 * Aligned, then misaligned (odd addresses, odd entry lengths, larger than
 * one bounce buffer) writes and reads on a cache=none LUN, each checked
 * byte for byte against the file read through another fd.
 */
static void direct_round_trip(uint32_t bs)
{
	enum { BIG = 600 * 1024 + 3 * 4096 }; /* more than two bounce buffers */
	struct pvs_lun *lun;
	uint8_t *al, *wbuf, *rbuf, *check;
	uint64_t total;
	int fd;

	make_file("direct.img", 4 << 20, 0x5a);
	lun = open_lun("direct.img", bs == 4096 ? ",bs=4096,cache=none" : ",cache=none");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_TRUE(fcntl(lun->fd, F_GETFL) & O_DIRECT);
	/* a file: its metadata still needs fdatasync after a direct write */
	CU_ASSERT_TRUE(lun->wce);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&al, 4096, 2 * BIG), 0);
	wbuf = malloc(2 * BIG);
	rbuf = malloc(2 * BIG);
	check = malloc(2 * BIG);
	CU_ASSERT_FATAL(wbuf && rbuf && check);
	for (size_t i = 0; i < 2 * BIG; i++)
		wbuf[i] = (uint8_t)(i * 13 + (i >> 9) + bs);
	fd = lun_fd("direct.img");

	/* aligned: straight through */
	{
		struct iovec iov[2] = {{al, 2 * bs}, {al + 8192, bs}};

		memcpy(al, wbuf, 2 * bs);
		memcpy(al + 8192, wbuf + 2 * bs, bs);
		CU_ASSERT_EQUAL(s_writev(lun, 4 * bs, iov, 2, false), 3 * (int64_t)bs);
		CU_ASSERT_EQUAL(pread(fd, check, 3 * bs, 4 * (off_t)bs), 3 * (ssize_t)bs);
		CU_ASSERT_EQUAL(memcmp(check, wbuf, 3 * bs), 0);
		memset(al, 0, 3 * 8192);
		CU_ASSERT_EQUAL(s_readv(lun, 4 * bs, iov, 2), 3 * (int64_t)bs);
		CU_ASSERT_EQUAL(memcmp(al, wbuf, 2 * bs), 0);
		CU_ASSERT_EQUAL(memcmp(al + 8192, wbuf + 2 * bs, bs), 0);
	}
	/* misaligned, several bounce chunks, FUA */
	{
		struct iovec wiov[3] = {
		    {wbuf + 1, 100}, {wbuf + 777, 3 * bs - 100}, {wbuf + 777 + 3 * bs + 5, 0}};
		struct iovec riov[3] = {{rbuf + 3, 1}, {rbuf + 4099, 0}, {rbuf + 5000, 0}};

		wiov[2].iov_len = BIG - wiov[0].iov_len - wiov[1].iov_len;
		total = BIG;
		CU_ASSERT_EQUAL(s_writev(lun, 64 * 1024, wiov, 3, true), (int64_t)total);
		CU_ASSERT_EQUAL(pread(fd, check, total, 64 * 1024), (ssize_t)total);
		CU_ASSERT_EQUAL(memcmp(check, wiov[0].iov_base, 100), 0);
		CU_ASSERT_EQUAL(memcmp(check + 100, wiov[1].iov_base, wiov[1].iov_len), 0);
		CU_ASSERT_EQUAL(
		    memcmp(check + 100 + wiov[1].iov_len, wiov[2].iov_base, wiov[2].iov_len), 0);
		/* neighbours untouched */
		CU_ASSERT_EQUAL(pread(fd, check, bs, 64 * 1024 - bs), (ssize_t)bs);
		CU_ASSERT_TRUE(all_bytes(check, bs, 0x5a));
		CU_ASSERT_EQUAL(pread(fd, check, bs, (off_t)(64 * 1024 + total)), (ssize_t)bs);
		CU_ASSERT_TRUE(all_bytes(check, bs, 0x5a));
		/* read back through another split */
		riov[2].iov_len = total - 1;
		memset(rbuf, 0, 2 * BIG);
		CU_ASSERT_EQUAL(s_readv(lun, 64 * 1024, riov, 3), (int64_t)total);
		CU_ASSERT_EQUAL(pread(fd, check, total, 64 * 1024), (ssize_t)total);
		CU_ASSERT_EQUAL(rbuf[3], check[0]);
		CU_ASSERT_EQUAL(memcmp(rbuf + 5000, check + 1, total - 1), 0);
	}
	/* one block from a buffer in the middle of a page: its neighbours stay */
	{
		struct iovec iov = {wbuf + 1234, bs};

		CU_ASSERT_EQUAL(s_writev(lun, 3 * bs, &iov, 1, false), (int64_t)bs);
		CU_ASSERT_EQUAL(pread(fd, check, 3 * bs, 2 * (off_t)bs), 3 * (ssize_t)bs);
		CU_ASSERT_TRUE(all_bytes(check, bs, 0x5a));
		CU_ASSERT_EQUAL(memcmp(check + bs, wbuf + 1234, bs), 0);
		CU_ASSERT_EQUAL(memcmp(check + 2 * bs, wbuf, bs), 0); /* the aligned write */
	}
	CU_ASSERT_EQUAL(s_flush(lun), 0);
	close(fd);
	free(al);
	free(wbuf);
	free(rbuf);
	free(check);
	pvs_lun_close(lun);
}

static void test_direct_round_trip_512(void)
{
	direct_round_trip(512);
}

static void test_direct_round_trip_4096(void)
{
	direct_round_trip(4096);
}

/*
 * More misaligned requests at once than there are bounce buffers: the rest
 * wait their turn, and every one lands whole.  Twice: a buffer not given
 * back would leave the second round waiting.
 */
enum { QN = 11, QLEN = 300 * 1024 };

static void bounce_queue_round(struct pvs_lun *lun, int round)
{
	enum { N = QN, LEN = QLEN };
	static struct io io[N];
	struct iovec iov[N];
	uint8_t *buf = malloc((size_t)N * LEN + 1), *check = malloc(LEN);
	int fd, left = N;

	CU_ASSERT_FATAL(buf && check);
	for (int i = 0; i < N; i++) {
		memset(buf + 1 + (size_t)i * LEN, 0x20 + i + round, LEN);
		iov[i].iov_base = buf + 1 + (size_t)i * LEN;
		iov[i].iov_len = LEN;
		io_init(&io[i], lun);
		lun->store->writev(lun, &io[i].req, (uint64_t)i * LEN, &iov[i], 1, false);
	}
	for (int t = 0; t < 3000 && left; t++) {
		pvs_worker_flush(W);
		pvs_worker_wait(W, 10);
		left = 0;
		for (int i = 0; i < N; i++)
			left += !io[i].calls;
	}
	fd = lun_fd("queue.img");
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(io[i].calls, 1);
		CU_ASSERT_EQUAL(io[i].res, LEN);
		CU_ASSERT_EQUAL(pread(fd, check, LEN, (off_t)i * LEN), LEN);
		CU_ASSERT_TRUE(all_bytes(check, LEN, (uint8_t)(0x20 + i + round)));
	}
	CU_ASSERT_EQUAL(pread(fd, check, 4096, (off_t)N * LEN), 4096);
	CU_ASSERT_TRUE(all_bytes(check, 4096, 0x11));
	close(fd);
	free(buf);
	free(check);
}

static void test_direct_bounce_queue(void)
{
	struct pvs_lun *lun;

	make_file("queue.img", (off_t)QN * QLEN + 4096, 0x11);
	lun = open_lun("queue.img", ",cache=none");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	for (int round = 0; round < 2; round++)
		bounce_queue_round(lun, round);
	pvs_lun_close(lun);
}

/* Through the SCSI commands: WCE as on a buffered LUN, FUA and SYNC CACHE work. */
static void test_direct_commands(void)
{
	struct pvs_lun *lun;
	static uint8_t out[4 * 512 + 1], in[4 * 512 + 3], ms[64];
	uint8_t cdb[16];
	struct cmd c;

	make_file("dcmd.img", 64 * 4096, 0);
	lun = open_lun("dcmd.img", ",cache=none");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	clear_ua(lun);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 31);
	/* odd buffer addresses: through the bounce buffers */
	rw10(cdb, 0x2a, 0x08, 5, 4);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, out + 1, 4 * 512);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	rw10(cdb, 0x28, 0, 5, 4);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_FROM_DEV, in + 3, 4 * 512);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(memcmp(in + 3, out + 1, 4 * 512), 0);
	/* MODE SENSE(6), caching page: WCE set (a file's allocations need fdatasync) */
	memset(cdb, 0, 6);
	cdb[0] = 0x1a;
	cdb[2] = 0x08;
	cdb[4] = sizeof(ms);
	run_cdb(lun, &c, cdb, 6, PVS_DIR_FROM_DEV, ms, sizeof(ms));
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(ms[4 + ms[3]] & 0x3f, 0x08);
	CU_ASSERT_EQUAL(ms[4 + ms[3] + 2] & 0x04, 0x04);
	memset(cdb, 0, 10);
	cdb[0] = 0x35;
	run_cdb(lun, &c, cdb, 10, PVS_DIR_NONE, NULL, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	pvs_lun_close(lun);
}

/*
 * A block device of 4096-byte sectors (a loop device; skipped without
 * losetup or the right to use it): bs=512 with cache=none is refused with
 * both sizes named, bs=4096 serves misaligned buffers through the bounce
 * buffers at that alignment, and WCE follows the queue's write_cache.
 */
static void test_direct_4k_device(void)
{
	char img[128], cmd[320], dev[64] = "", spec[128], err[320] = "";
	static uint8_t wbuf[3 * 4096 + 7], check[3 * 4096], rbuf[3 * 4096 + 5];
	struct iovec wiov[2] = {{wbuf + 7, 4096 + 100}, {wbuf + 7 + 4096 + 100, 2 * 4096 - 100}};
	struct iovec riov = {rbuf + 5, 3 * 4096};
	struct pvs_lun *lun = NULL;
	FILE *f;
	int fd;

	make_file("loop.img", 1 << 20, 0x33);
	path_of(img, sizeof(img), "loop.img");
	snprintf(cmd, sizeof(cmd), "losetup --sector-size 4096 -f --show '%s' 2>/dev/null", img);
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(dev, sizeof(dev), f))
			dev[0] = '\0';
		pclose(f);
	}
	dev[strcspn(dev, "\n")] = '\0';
	if (strncmp(dev, "/dev/loop", 9)) {
		fprintf(stderr, "no loop device: skipped ");
		return;
	}
	snprintf(spec, sizeof(spec), "file:%s,cache=none", dev);
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "4096-byte aligned") || !strstr(err, "512-byte blocks"))
		fprintf(stderr, "'%s' ", err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, dev));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "4096-byte aligned"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "512-byte blocks"));

	snprintf(spec, sizeof(spec), "file:%s,bs=4096,cache=none", dev);
	/* a queue that says "write back" (a reused loop device keeps what it had): WCE */
	snprintf(cmd, sizeof(cmd), "echo 'write back' >/sys/block/%s/queue/write_cache", dev + 5);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(lun && lun->wce);
	pvs_lun_close(lun);
	lun = NULL;
	/* nothing volatile below a write-through queue: no write cache to report */
	snprintf(cmd, sizeof(cmd), "echo 'write through' >/sys/block/%s/queue/write_cache",
	         dev + 5);
	if (system(cmd) == 0) {
		CU_ASSERT_EQUAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), 0);
		CU_ASSERT_TRUE(lun && !lun->wce);
		pvs_lun_close(lun);
		lun = NULL;
		snprintf(cmd, sizeof(cmd), "echo 'write back' >/sys/block/%s/queue/write_cache",
		         dev + 5);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
	CU_ASSERT_EQUAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), 0);
	if (lun) {
		for (size_t i = 0; i < sizeof(wbuf); i++)
			wbuf[i] = (uint8_t)(i * 5 + 1);
		CU_ASSERT_EQUAL(s_writev(lun, 8192, wiov, 2, true), 3 * 4096);
		CU_ASSERT_EQUAL(s_readv(lun, 8192, &riov, 1), 3 * 4096);
		CU_ASSERT_EQUAL(memcmp(rbuf + 5, wbuf + 7, 3 * 4096), 0);
		CU_ASSERT_EQUAL(s_flush(lun), 0);
		pvs_lun_close(lun);
		fd = open(dev, O_RDONLY);
		CU_ASSERT_EQUAL(pread(fd, check, sizeof(check), 8192), (ssize_t)sizeof(check));
		CU_ASSERT_EQUAL(memcmp(check, wbuf + 7, sizeof(check)), 0);
		CU_ASSERT_EQUAL(pread(fd, check, 4096, 4096), 4096);
		CU_ASSERT_TRUE(all_bytes(check, 4096, 0x33));
		close(fd);
	}
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/*
 * A file system without O_DIRECT (sysfs here; tmpfs before Linux 6.6): a
 * clear refusal naming the file, never buffered I/O instead.
 */
static void test_direct_refused(void)
{
	static const char *sysfs = "/sys/kernel/uevent_seqnum";
	char spec[128], err[256] = "";

	if (access(sysfs, R_OK)) {
		fprintf(stderr, "no %s: skipped ", sysfs);
		return;
	}
	snprintf(spec, sizeof(spec), "file:%s,ro,cache=none", sysfs);
	CU_ASSERT_EQUAL(open_err(spec, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, sysfs));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cache=none needs O_DIRECT"));
}

static void cmd_round_trip(uint32_t bs)
{
	struct pvs_lun *lun;
	static uint8_t out[8 * 4096], in[8 * 4096], check[8 * 4096];
	uint8_t cdb[16];
	struct cmd c;
	int fd;

	make_file("cmd.img", 256 * 4096, 0);
	lun = open_lun("cmd.img", bs == 4096 ? ",bs=4096" : NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	clear_ua(lun);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i ^ (i >> 8) ^ bs);
	/* WRITE(10) of 3 blocks at LBA 9, FUA */
	rw10(cdb, 0x2a, 0x08, 9, 3);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, out, 3 * bs);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c.req.residual, 0);
	CU_ASSERT_EQUAL(c.req.sense_len, 0);
	fd = lun_fd("cmd.img");
	CU_ASSERT_EQUAL(pread(fd, check, 3 * bs, 9 * (off_t)bs), (ssize_t)(3 * bs));
	CU_ASSERT_EQUAL(memcmp(check, out, 3 * bs), 0);
	close(fd);
	/* READ(10) of 4 blocks from LBA 8: one zero block, then what was written */
	memset(in, 0xff, sizeof(in));
	rw10(cdb, 0x28, 0, 8, 4);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_FROM_DEV, in, 4 * bs);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.residual, 0);
	CU_ASSERT_TRUE(all_bytes(in, bs, 0));
	CU_ASSERT_EQUAL(memcmp(in + bs, out, 3 * bs), 0);
	/* SYNCHRONIZE CACHE(10), whole LUN */
	memset(cdb, 0, 10);
	cdb[0] = 0x35;
	run_cdb(lun, &c, cdb, 10, PVS_DIR_NONE, NULL, 0);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	pvs_lun_close(lun);
}

static void test_cmd_round_trip_512(void)
{
	cmd_round_trip(512);
}

static void test_cmd_round_trip_4096(void)
{
	cmd_round_trip(4096);
}

static void test_cmd_unmap_deallocates(void)
{
	struct pvs_lun *lun;
	static uint8_t buf[1 << 20];
	uint8_t cdb[16] = {0};
	blkcnt_t before;
	struct cmd c;
	int fd;

	make_file("unmap.img", 4 << 20, 0xcd);
	lun = open_lun("unmap.img", ",bs=4096");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	clear_ua(lun);
	before = blocks_of("unmap.img");
	/* WRITE SAME(16) with UNMAP: 256 blocks (1 MiB) at LBA 256, one zero block of data */
	memset(buf, 0, 4096);
	cdb[0] = 0x93;
	cdb[1] = 0x08;
	pvsi_put_be64(cdb + 2, 256);
	pvsi_put_be32(cdb + 10, 256);
	run_cdb(lun, &c, cdb, 16, PVS_DIR_TO_DEV, buf, 4096);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_TRUE(before - blocks_of("unmap.img") >= (1 << 20) / 512);
	fd = lun_fd("unmap.img");
	CU_ASSERT_EQUAL(pread(fd, buf, sizeof(buf), 1 << 20), (ssize_t)sizeof(buf));
	CU_ASSERT_TRUE(all_bytes(buf, sizeof(buf), 0));
	CU_ASSERT_EQUAL(pread(fd, buf, 4096, (1 << 20) - 4096), 4096);
	CU_ASSERT_TRUE(all_bytes(buf, 4096, 0xcd));
	close(fd);
	pvs_lun_close(lun);
}

static void test_cmd_truncated_is_medium_error(void)
{
	static const uint8_t medium_error[18] = {0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11};
	struct pvs_lun *lun;
	static uint8_t buf[8192];
	uint8_t cdb[16];
	struct cmd c;
	int fd;

	make_file("gone.img", 1 << 20, 0x21);
	lun = open_lun("gone.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	clear_ua(lun);
	fd = lun_fd("gone.img");
	CU_ASSERT_FATAL(ftruncate(fd, 4096) == 0);
	close(fd);
	rw10(cdb, 0x28, 0, 100, 16);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_FROM_DEV, buf, 8192);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c.req.sense_len, 18);
	CU_ASSERT_EQUAL(memcmp(c.req.sense, medium_error, 18), 0);
	/* the LUN keeps serving what is still there */
	rw10(cdb, 0x28, 0, 0, 8);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_FROM_DEV, buf, 4096);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_TRUE(all_bytes(buf, 4096, 0x21));
	pvs_lun_close(lun);
}

static unsigned int notices;
static char notice_msg[512];

static void on_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	(void)lun;
	++*(unsigned int *)arg;
	snprintf(notice_msg, sizeof(notice_msg), "%s", msg);
}

/*
 * The image removed while attached: what the guest wrote after would
 * vanish at the last close, so every command fails NO_CONNECT, once the
 * worker has seen the removal, and the transport hears of it once.  A
 * rename is not a removal.
 */
static void test_cmd_backing_removed(void)
{
	struct pvs_lun_opts o = {.notice = on_notice, .notice_arg = &notices};
	static uint8_t buf[4096];
	char path[128], moved[128], spec[192], err[256] = "";
	struct pvs_lun *lun = NULL;
	uint8_t cdb[16];
	struct cmd c;

	make_file("rm.img", 1 << 20, 0x33);
	path_of(path, sizeof(path), "rm.img");
	path_of(moved, sizeof(moved), "rm-moved.img");
	snprintf(spec, sizeof(spec), "file:%s", path);
	notices = 0;
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(W, spec, &o, &lun, err, sizeof(err)), 0);
	clear_ua(lun);
	CU_ASSERT_FATAL(rename(path, moved) == 0);
	pvs_worker_poll(W);
	rw10(cdb, 0x2a, 0x08, 0, 8);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, buf, 4096);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_FALSE(pvs_lun_gone(lun));

	CU_ASSERT_FATAL(unlink(moved) == 0);
	for (int i = 0; i < 100 && !pvs_lun_gone(lun); i++)
		pvs_worker_wait(W, 10);
	CU_ASSERT_TRUE(pvs_lun_gone(lun));
	CU_ASSERT_EQUAL(notices, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(notice_msg, "file LUN '"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notice_msg,
	                              "rm.img': removed from its file system; its "
	                              "commands fail (no connect) until it is detached"));
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, buf, 4096);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_NO_CONNECT);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.sense_len, 0);
	CU_ASSERT_EQUAL(c.req.residual, 4096);
	rw10(cdb, 0x28, 0, 0, 8);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_FROM_DEV, buf, 4096);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_NO_CONNECT);
	CU_ASSERT_EQUAL(notices, 1);
	pvs_lun_close(lun);
}

/* ---- writes=inline ---- */

static void test_inline_spec(void)
{
	static const struct {
		const char *in, *out;
		bool inl;
	} ok[] = {
	    {"file:/x.img,writes=inline", "file:/x.img,writes=inline", true},
	    {"file:/x.img,writes=inline,bs=4096,ro", "file:/x.img,ro,bs=4096,writes=inline", true},
	    {"file:/x.img,writes=io_uring", "file:/x.img", false},
	    {"file:/x.img,writes=inline,writes=io_uring", "file:/x.img", false},
	    {"file:/x.img,cache=writeback,writes=inline", "file:/x.img,writes=inline", true},
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
	    {"mem:4K,writes=inline", "writes=inline applies to file: LUNs only"},
	    {"cdrom:/a.iso,writes=inline", "writes=inline applies to file: LUNs only"},
	    {"sg:/dev/sg1,writes=inline", "writes=inline applies to file: LUNs only"},
	    {"naa.5000c500a1b2c3d4,writes=inline", "writes=inline applies to file: LUNs only"},
	    {"file:/x.img,writes=inline,cache=none",
	     "LUN spec 'file:/x.img,writes=inline,cache=none': writes=inline needs the page "
	     "cache, and cache=none bypasses it"},
	    {"file:/x.img,writes=sync", "unknown option 'writes=sync'"},
	};
	struct pvs_spec s, s2;
	char err[256], buf[PVS_SPEC_MAX];

	for (size_t i = 0; i < CU_NELEM(ok); i++) {
		CU_ASSERT_EQUAL_FATAL(pvs_spec_parse(ok[i].in, &s, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(s.inline_writes, ok[i].inl);
		CU_ASSERT_FALSE(s.direct);
		CU_ASSERT_EQUAL(pvs_spec_format(&s, buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, ok[i].out);
		CU_ASSERT_EQUAL(pvs_spec_parse(buf, &s2, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(s2.inline_writes, s.inline_writes);
	}
	for (size_t i = 0; i < CU_NELEM(bad); i++) {
		CU_ASSERT_EQUAL(pvs_spec_parse(bad[i].in, &s, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "spec '%s': '%s' lacks '%s'\n", bad[i].in, err, bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].msg));
	}
}

/*
 * A write the loop makes itself is complete when writev() returns, before
 * the worker runs; the default's is not, nor is a FUA write, which waits
 * for the device and so stays in io_uring.
 */
static void test_inline_store(void)
{
	static uint8_t wbuf[3 * 4096], check[3 * 4096];
	struct iovec wiov[3] = {{wbuf + 1, 100}, {wbuf + 200, 724}, {wbuf + 5000, 3272}};
	const uint64_t total = 100 + 724 + 3272, off = 3 * 4096 + 512;
	struct pvs_lun *lun;
	struct io io;
	int fd;

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 11 + 3);
	make_file("inline.img", 64 * 4096, 0x5a);

	/* the default: through io_uring, finished by the worker */
	lun = open_lun("inline.img", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	io_init(&io, lun);
	lun->store->writev(lun, &io.req, off, wiov, 3, false);
	CU_ASSERT_EQUAL(io.calls, 0);
	CU_ASSERT_EQUAL(io_wait(&io), (int64_t)total);
	pvs_lun_close(lun);

	make_file("inline.img", 64 * 4096, 0x5a);
	lun = open_lun("inline.img", ",writes=inline");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	io_init(&io, lun);
	lun->store->writev(lun, &io.req, off, wiov, 3, false);
	CU_ASSERT_EQUAL(io.calls, 1);
	CU_ASSERT_EQUAL(io.res, (int64_t)total);
	CU_ASSERT_PTR_EQUAL(io.req.core.cont, io_cont);
	CU_ASSERT_EQUAL(io.req.core.store_op, 0);
	fd = lun_fd("inline.img");
	CU_ASSERT_EQUAL(pread(fd, check, total, (off_t)off), (ssize_t)total);
	CU_ASSERT_EQUAL(memcmp(check, wbuf + 1, 100), 0);
	CU_ASSERT_EQUAL(memcmp(check + 100, wbuf + 200, 724), 0);
	CU_ASSERT_EQUAL(memcmp(check + 824, wbuf + 5000, 3272), 0);
	CU_ASSERT_EQUAL(pread(fd, check, 512, (off_t)off - 512), 512);
	CU_ASSERT_TRUE(all_bytes(check, 512, 0x5a));
	close(fd);

	/* nothing to write: done, as through io_uring, not an EOF */
	{
		struct iovec none[2] = {{wbuf, 0}, {wbuf + 1, 0}};

		io_init(&io, lun);
		lun->store->writev(lun, &io.req, off, none, 2, false);
		CU_ASSERT_EQUAL(io.calls, 1);
		CU_ASSERT_EQUAL(io.res, 0);
		io_init(&io, lun);
		lun->store->writev(lun, &io.req, off, none, 0, false);
		CU_ASSERT_EQUAL(io.calls, 1);
		CU_ASSERT_EQUAL(io.res, 0);
	}

	/* FUA: RWF_DSYNC through io_uring */
	io_init(&io, lun);
	lun->store->writev(lun, &io.req, 0, wiov, 1, true);
	CU_ASSERT_EQUAL(io.calls, 0);
	CU_ASSERT_EQUAL(io_wait(&io), 100);
	fd = lun_fd("inline.img");
	CU_ASSERT_EQUAL(pread(fd, check, 100, 0), 100);
	CU_ASSERT_EQUAL(memcmp(check, wbuf + 1, 100), 0);
	close(fd);
	/* reads are io_uring's as ever */
	{
		struct iovec riov = {check, 4096};

		memset(check, 0, 4096);
		CU_ASSERT_EQUAL(s_readv(lun, off, &riov, 1), 4096);
		CU_ASSERT_EQUAL(memcmp(check, wbuf + 1, 100), 0);
	}
	pvs_lun_close(lun);
}

/*
 * The file size limit cuts an inline write short: the rest goes through
 * io_uring, which meets the limit itself and fails it with EFBIG; as a
 * command, a WRITE ERROR.  What was written before the limit stays.
 */
static void test_inline_short_then_error(void)
{
	enum { LIMIT = 16 * 4096 + 4096 };
	static uint8_t wbuf[3 * 4096], check[3 * 4096];
	struct iovec wiov = {wbuf, sizeof(wbuf)};
	struct rlimit old, lim;
	struct pvs_lun *lun;
	struct sigaction ign = {.sa_handler = SIG_IGN}, oldsa;
	struct io io;
	uint8_t cdb[16];
	struct cmd c;
	struct stat st;
	char p[128];
	int fd;

	memset(wbuf, 0xc3, sizeof(wbuf));
	make_file("short.img", 64 * 4096, 0x5a);
	lun = open_lun("short.img", ",bs=4096,writes=inline");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	clear_ua(lun);
	/* the file is 64 blocks; its size limit for this process is 17 */
	CU_ASSERT_FATAL(ftruncate(lun->fd, 16 * 4096) == 0);
	CU_ASSERT_FATAL(sigaction(SIGXFSZ, &ign, &oldsa) == 0);
	CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = LIMIT;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);

	io_init(&io, lun);
	lun->store->writev(lun, &io.req, 16 * 4096, &wiov, 1, false);
	/* 4096 bytes made inline, the rest in io_uring */
	CU_ASSERT_EQUAL(io.calls, 0);
	CU_ASSERT_EQUAL(io_wait(&io), -EFBIG);
	path_of(p, sizeof(p), "short.img");
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, LIMIT);
	fd = lun_fd("short.img");
	CU_ASSERT_EQUAL(pread(fd, check, 4096, 16 * 4096), 4096);
	CU_ASSERT_TRUE(all_bytes(check, 4096, 0xc3));
	close(fd);

	/* wholly past the limit: EFBIG from the inline write itself, a WRITE ERROR */
	rw10(cdb, 0x2a, 0, 20, 2);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, wbuf, 2 * 4096);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_TRUE(c.req.sense_len >= 14);
	CU_ASSERT_EQUAL(c.req.sense[2] & 0x0f, 0x03); /* MEDIUM ERROR */
	CU_ASSERT_EQUAL(c.req.sense[12], 0x0c);       /* WRITE ERROR */
	/* below it, a WRITE(10) made inline is GOOD and lands */
	memset(wbuf, 0x3c, sizeof(wbuf));
	rw10(cdb, 0x2a, 0, 2, 3);
	run_cdb(lun, &c, cdb, 10, PVS_DIR_TO_DEV, wbuf, 3 * 4096);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.residual, 0);
	fd = lun_fd("short.img");
	CU_ASSERT_EQUAL(pread(fd, check, 3 * 4096, 2 * 4096), 3 * 4096);
	CU_ASSERT_TRUE(all_bytes(check, 3 * 4096, 0x3c));
	close(fd);

	CU_ASSERT(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CU_ASSERT(sigaction(SIGXFSZ, &oldsa, NULL) == 0);
	pvs_lun_close(lun);
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/var/tmp/pvscsi-file-ut.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return pvs_worker_new(32, &W);
}

static int suite_clean(void)
{
	char cmd[128];

	pvs_worker_free(W);
	W = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const struct cu_test file_open_tests[] = {
    {"missing, directory, empty, tiny, char dev, FIFO", test_open_errors},
    {"whole blocks only, block sizes, ro", test_geometry},
};

static const struct cu_test file_store_io_tests[] = {
    {"unaligned multi-iov round trip, FUA, flush at 512", test_round_trip_512},
    {"unaligned multi-iov round trip, FUA, flush at 4096", test_round_trip_4096},
    {"read-only fd", test_readonly},
    {"discard deallocates, write_zeroes keeps", test_discard_deallocates},
    {"write_zeroes fallback on tmpfs", test_zeroes_fallback_tmpfs},
    {"backing truncated under the LUN", test_truncated_backing},
    {"short read resumed to the end", test_short_read_resumed},
    {"cancel", test_cancel},
};

static const struct cu_test file_direct_tests[] = {
    {"cache=none: parse and print", test_direct_spec},
    {"cache=none: aligned, misaligned, chunked at 512", test_direct_round_trip_512},
    {"cache=none: aligned, misaligned, chunked at 4096", test_direct_round_trip_4096},
    {"cache=none: more misaligned requests than bounce buffers", test_direct_bounce_queue},
    {"cache=none: WRITE FUA / READ / MODE SENSE WCE / SYNC CACHE", test_direct_commands},
    {"cache=none on a file system without O_DIRECT", test_direct_refused},
    {"cache=none on 4096-byte sectors: bs=512 refused, bs=4096 bounced, WCE",
     test_direct_4k_device},
};

static const struct cu_test file_inline_tests[] = {
    {"writes=inline: parse and print", test_inline_spec},
    {"writes=inline: made by the loop; FUA and the default in io_uring", test_inline_store},
    {"writes=inline: short at the size limit, the rest EFBIG; WRITE ERROR",
     test_inline_short_then_error},
};

static const struct cu_test file_lun_commands_tests[] = {
    {"WRITE(10) FUA / READ(10) / SYNC CACHE at 512", test_cmd_round_trip_512},
    {"WRITE(10) FUA / READ(10) / SYNC CACHE at 4096", test_cmd_round_trip_4096},
    {"WRITE SAME(16) UNMAP deallocates", test_cmd_unmap_deallocates},
    {"truncated backing: MEDIUM ERROR", test_cmd_truncated_is_medium_error},
    {"backing removed: NO CONNECT, one notice; renamed: serves on", test_cmd_backing_removed},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("file open", suite_init, suite_clean, file_open_tests),
	    CU_SUITE("file store I/O", suite_init, suite_clean, file_store_io_tests),
	    CU_SUITE("file LUN commands", suite_init, suite_clean, file_lun_commands_tests),
	    CU_SUITE("file cache=none", suite_init, suite_clean, file_direct_tests),
	    CU_SUITE("file writes=inline", suite_init, suite_clean, file_inline_tests),
	};

	return CU_RUN_SUITES(suites);
}
