/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake_sg.c - see fake_sg.h. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fake_sg.h"

#define MAX_NODES   8
#define MAX_FDS     8
#define MAX_SCRIPT  32
#define MAX_PENDING 16 /* sg's SG_MAX_QUEUE: one more write gets EDOM */
#define OUT_MAX     4096

struct node {
	char path[64];
	enum fake_sg_kind kind;
	bool used;
};

struct answer {
	struct sg_io_hdr hdr; /* as written, results filled in at read() */
	const struct fake_sg_reply *reply;
	bool ready;
};

struct ffd {
	int fd; /* an eventfd: its counter is the number of readable answers */
	const struct node *node;
	struct answer q[MAX_PENDING];
	unsigned int n;
};

static struct node nodes[MAX_NODES];
static struct ffd fds[MAX_FDS];
static struct fake_sg_reply script[MAX_SCRIPT];
static unsigned int nscript;
static bool held;
static int fail_next;
static unsigned int nwrites;
static struct sg_io_hdr last_hdr;
static uint8_t last_cdb[32];
static uint8_t last_out[OUT_MAX];
static size_t last_out_len;
static uint8_t fake_pdt;
static int inquiry_errno;
static uint8_t inquiry_status;
static unsigned int sync_inquiries;

void fake_sg_reset(void)
{
	memset(nodes, 0, sizeof(nodes));
	for (unsigned i = 0; i < MAX_FDS; i++) {
		if (fds[i].node)
			close(fds[i].fd);
	}
	memset(fds, 0, sizeof(fds));
	memset(script, 0, sizeof(script));
	nscript = 0;
	held = false;
	fail_next = 0;
	nwrites = 0;
	memset(&last_hdr, 0, sizeof(last_hdr));
	memset(last_cdb, 0, sizeof(last_cdb));
	last_out_len = 0;
	fake_pdt = 0;
	inquiry_errno = 0;
	inquiry_status = 0;
	sync_inquiries = 0;
}

void fake_sg_set_pdt(uint8_t pdt)
{
	fake_pdt = pdt;
}

void fake_sg_fail_inquiry(int err, uint8_t status)
{
	inquiry_errno = err;
	inquiry_status = status;
}

unsigned int fake_sg_inquiries(void)
{
	return sync_inquiries;
}

void fake_sg_add_node(const char *path, enum fake_sg_kind kind)
{
	for (unsigned i = 0; i < MAX_NODES; i++) {
		if (!nodes[i].used) {
			nodes[i].used = true;
			nodes[i].kind = kind;
			strncpy(nodes[i].path, path, sizeof(nodes[i].path) - 1);
			return;
		}
	}
}

void fake_sg_script(const struct fake_sg_reply *r)
{
	if (nscript < MAX_SCRIPT)
		script[nscript++] = *r;
}

void fake_sg_hold(bool hold)
{
	held = hold;
}

static void signal_fd(struct ffd *f, unsigned int n)
{
	uint64_t v = n;

	if (n && write(f->fd, &v, sizeof(v)) != sizeof(v))
		return;
}

unsigned int fake_sg_release(void)
{
	unsigned int total = 0;

	for (unsigned i = 0; i < MAX_FDS; i++) {
		unsigned int n = 0;

		if (!fds[i].node)
			continue;
		for (unsigned j = 0; j < fds[i].n; j++) {
			if (!fds[i].q[j].ready) {
				fds[i].q[j].ready = true;
				n++;
			}
		}
		signal_fd(&fds[i], n);
		total += n;
	}
	return total;
}

void fake_sg_fail_next_write(int err)
{
	fail_next = err;
}

unsigned int fake_sg_writes(void)
{
	return nwrites;
}

const struct sg_io_hdr *fake_sg_last_hdr(void)
{
	return &last_hdr;
}

const uint8_t *fake_sg_last_cdb(void)
{
	return last_cdb;
}

const uint8_t *fake_sg_last_out(size_t *len)
{
	*len = last_out_len;
	return last_out;
}

static struct ffd *find_fd(int fd)
{
	for (unsigned i = 0; i < MAX_FDS; i++)
		if (fds[i].node && fds[i].fd == fd)
			return &fds[i];
	return NULL;
}

static int f_open(const char *path, int flags)
{
	(void)flags;
	for (unsigned i = 0; i < MAX_NODES; i++) {
		if (!nodes[i].used || strcmp(nodes[i].path, path))
			continue;
		for (unsigned j = 0; j < MAX_FDS; j++) {
			if (fds[j].node)
				continue;
			fds[j].fd = eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE | EFD_CLOEXEC);
			if (fds[j].fd < 0)
				return -1;
			fds[j].node = &nodes[i];
			fds[j].n = 0;
			return fds[j].fd;
		}
		errno = EMFILE;
		return -1;
	}
	errno = ENOENT;
	return -1;
}

static int f_fstat(int fd, struct stat *st)
{
	struct ffd *f = find_fd(fd);

	if (!f) {
		errno = EBADF;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	switch (f->node->kind) {
	case FAKE_SG_CHR:
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(21, 0);
		break;
	case FAKE_SG_BLOCK:
		st->st_mode = S_IFBLK | 0600;
		st->st_rdev = makedev(8, 1);
		break;
	case FAKE_SG_OTHER_CHR:
		st->st_mode = S_IFCHR | 0666;
		st->st_rdev = makedev(1, 3);
		break;
	case FAKE_SG_BSG:
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(247, 0);
		break;
	}
	return 0;
}

/*
 * SG_IO: the INQUIRY a LUN sends when it opens, answered with the device
 * type fake_sg_set_pdt() chose (a disk by default), or failed as
 * fake_sg_fail_inquiry() says.  The script is for the asynchronous path.
 */
static int sync_io(struct sg_io_hdr *h)
{
	uint8_t inq[36] = {0};
	const uint8_t *cdb = h->cmdp;

	if (!cdb || h->cmd_len < 6 || cdb[0] != 0x12 || h->dxfer_direction != SG_DXFER_FROM_DEV) {
		errno = EINVAL;
		return -1;
	}
	if (inquiry_errno) {
		errno = inquiry_errno;
		return -1;
	}
	sync_inquiries++;
	inq[0] = fake_pdt;
	inq[2] = 0x06;
	inq[3] = 0x02;
	inq[4] = 31;
	memcpy(&inq[8], "FAKE    FAKE SG DEVICE  0001", 28);
	h->status = inquiry_status;
	h->host_status = 0;
	h->driver_status = 0;
	h->sb_len_wr = 0;
	h->resid = (int)h->dxfer_len;
	if (inquiry_status == 0) {
		unsigned int n = h->dxfer_len < sizeof(inq) ? h->dxfer_len : sizeof(inq);

		memcpy(h->dxferp, inq, n);
		h->resid = (int)(h->dxfer_len - n);
	}
	return 0;
}

static int f_ioctl(int fd, unsigned long request, void *arg)
{
	struct ffd *f = find_fd(fd);

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (f->node->kind == FAKE_SG_OTHER_CHR) {
		errno = ENOTTY;
		return -1;
	}
	if (request == SG_GET_VERSION_NUM) {
		*(int *)arg = 30536;
		return 0;
	}
	if (request == SG_SET_COMMAND_Q)
		return 0;
	if (request == SG_IO)
		return sync_io(arg);
	errno = ENOTTY;
	return -1;
}

static const struct fake_sg_reply *match(const uint8_t *cdb, unsigned int len)
{
	for (unsigned i = 0; i < nscript; i++) {
		if (script[i].match_len <= len &&
		    !memcmp(script[i].match, cdb, script[i].match_len))
			return &script[i];
	}
	return NULL;
}

static void gather_out(const struct sg_io_hdr *h)
{
	last_out_len = 0;
	if (h->dxfer_direction != SG_DXFER_TO_DEV || !h->dxferp)
		return;
	if (!h->iovec_count) {
		last_out_len = h->dxfer_len < OUT_MAX ? h->dxfer_len : OUT_MAX;
		memcpy(last_out, h->dxferp, last_out_len);
		return;
	}
	const struct iovec *iov = h->dxferp;
	for (unsigned i = 0; i < h->iovec_count && last_out_len < OUT_MAX; i++) {
		size_t l = iov[i].iov_len;

		if (l > OUT_MAX - last_out_len)
			l = OUT_MAX - last_out_len;
		memcpy(last_out + last_out_len, iov[i].iov_base, l);
		last_out_len += l;
	}
}

static ssize_t f_write(int fd, const void *buf, size_t len)
{
	struct ffd *f = find_fd(fd);
	const struct sg_io_hdr *h = buf;
	struct answer *a;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (len < sizeof(*h) || h->interface_id != 'S' || h->cmd_len == 0 ||
	    h->cmd_len > sizeof(last_cdb)) {
		errno = EINVAL;
		return -1;
	}
	/* every write that reaches the device counts, refused or not */
	nwrites++;
	if (fail_next) {
		errno = fail_next;
		fail_next = 0;
		return -1;
	}
	if (f->n >= MAX_PENDING) {
		errno = EDOM;
		return -1;
	}
	last_hdr = *h;
	memset(last_cdb, 0, sizeof(last_cdb));
	memcpy(last_cdb, h->cmdp, h->cmd_len);
	gather_out(h);
	a = &f->q[f->n++];
	a->hdr = *h;
	a->reply = match(last_cdb, h->cmd_len);
	a->ready = !held;
	if (a->ready)
		signal_fd(f, 1);
	return (ssize_t)len;
}

static size_t scatter_in(struct sg_io_hdr *h, const uint8_t *data, size_t len)
{
	size_t done = 0;

	if (h->dxfer_direction != SG_DXFER_FROM_DEV || !h->dxferp)
		return 0;
	if (len > h->dxfer_len)
		len = h->dxfer_len;
	if (!h->iovec_count) {
		memcpy(h->dxferp, data, len);
		return len;
	}
	const struct iovec *iov = h->dxferp;
	for (unsigned i = 0; i < h->iovec_count && done < len; i++) {
		size_t l = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, data + done, l);
		done += l;
	}
	return done;
}

static ssize_t f_read(int fd, void *buf, size_t len)
{
	struct ffd *f = find_fd(fd);
	struct sg_io_hdr *out = buf;
	struct answer a;
	uint64_t v;
	unsigned int i;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (len < sizeof(*out)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < f->n && !f->q[i].ready; i++)
		;
	if (i == f->n) {
		errno = EAGAIN;
		return -1;
	}
	a = f->q[i];
	memmove(&f->q[i], &f->q[i + 1], (f->n - i - 1) * sizeof(f->q[0]));
	f->n--;
	if (read(f->fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	*out = a.hdr;
	out->status = 0;
	out->masked_status = 0;
	out->host_status = 0;
	out->driver_status = 0;
	out->sb_len_wr = 0;
	out->resid = (int)out->dxfer_len;
	out->info = 0;
	if (a.reply) {
		const struct fake_sg_reply *r = a.reply;
		size_t copied = scatter_in(out, r->data, r->data_len);
		size_t sl = r->sense_len < out->mx_sb_len ? r->sense_len : out->mx_sb_len;

		out->status = r->status;
		out->masked_status = (uint8_t)((r->status >> 1) & 0x7f);
		out->host_status = r->host_status;
		out->driver_status = r->driver_status;
		if (sl && out->sbp)
			memcpy(out->sbp, r->sense, sl);
		out->sb_len_wr = (uint8_t)sl;
		out->resid = r->resid_set ? r->resid : (int)(out->dxfer_len - copied);
		if (r->status || r->host_status || r->driver_status)
			out->info = SG_INFO_CHECK;
	}
	return (ssize_t)sizeof(*out);
}

static int f_close(int fd)
{
	struct ffd *f = find_fd(fd);

	if (!f) {
		errno = EBADF;
		return -1;
	}
	close(f->fd);
	memset(f, 0, sizeof(*f));
	return 0;
}

const struct pvsi_sg_ops fake_sg_ops = {
    .open = f_open,
    .fstat = f_fstat,
    .ioctl = f_ioctl,
    .write = f_write,
    .read = f_read,
    .close = f_close,
};
