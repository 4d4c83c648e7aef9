/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cdrom.c - cdrom: drives, emulated CD/DVD-ROM drives (MMC-6) on a
 * read-only image of 2048-byte blocks: their tray and medium, the MMC
 * commands the MMC table (opcodes.c) gives them, and the host's insert and
 * eject (pvscsi/lun.h).  The SPC commands (INQUIRY, TEST UNIT READY, MODE
 * SENSE...) are spc.c's, which asks lun->cd for what differs; READ goes
 * through the SBC engine like a disk's.
 *
 * Model, as QEMU's scsi-cd: the drive has a tray (open or closed) and at
 * most one medium, only while the tray is closed.  An eject (the guest's
 * START STOP UNIT or the host's) opens the tray and takes the medium out;
 * a load closes the tray, empty unless the host inserted an image.  Reads
 * reference the medium they started on (req->core.medium), so an image
 * replaced under them stays open until the last of them completes.
 *
 * Events (GET EVENT STATUS NOTIFICATION, polled only) are kept per I_T
 * nexus, one pending media event each, reported once.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbc_int.h"

#define CD_BLOCK 2048u
/* QEMU's CD_MAX_BYTES: 80 minutes of 75 frames of 2048 bytes; larger is a DVD. */
#define CD_MAX_BLOCKS (80u * 60u * 75u)

#define PROFILE_NONE   0x0000
#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD    0x0010

/* MMC-6 Table 155: media event codes. */
enum { MEC_NONE = 0, MEC_EJECT_REQUEST = 1, MEC_NEW_MEDIA = 2, MEC_MEDIA_REMOVAL = 3 };

struct cd_medium {
	int fd;
	unsigned int refs; /* the drive's while loaded, and one per read in flight */
	uint64_t nblocks;
	char path[256];
};

struct cd_drive {
	struct cd_medium *medium;
	bool tray_open;
};

static struct cd_drive *drive_of(const struct pvs_lun *lun)
{
	return lun->cd;
}

static void medium_put(struct cd_medium *m)
{
	if (m && --m->refs == 0) {
		close(m->fd);
		free(m);
	}
}

static int bad_image(char *err, size_t errlen, const char *path, const char *why, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "cdrom image '%s': %s", path, why);
	return rc;
}

/* Open @path as a medium, or say why not; nothing is kept on failure. */
static int medium_open(const char *path, struct cd_medium **out, char *err, size_t errlen)
{
	struct cd_medium *m;
	struct stat st;
	uint64_t size;
	char why[160];
	int fd, fl, rc;

	*out = NULL;
	if (!path || !*path)
		return bad_image(err, errlen, "", "no path given", -EINVAL);
	/* O_NONBLOCK so that a FIFO named by mistake cannot hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return bad_image(err, errlen, path, "no such file or device", rc);
		snprintf(why, sizeof(why), "cannot open read-only: %s", strerror(-rc));
		return bad_image(err, errlen, path, why, rc);
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return bad_image(err, errlen, path, strerror(-rc), rc);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return bad_image(err, errlen, path, "is a directory", -EISDIR);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return bad_image(err, errlen, path, "not a regular file or block device", -EINVAL);
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			rc = -errno;
			close(fd);
			snprintf(why, sizeof(why), "cannot read the size: %s", strerror(-rc));
			return bad_image(err, errlen, path, why, rc);
		}
	} else {
		size = (uint64_t)st.st_size;
	}
	if (size == 0 || size % CD_BLOCK) {
		close(fd);
		snprintf(why, sizeof(why),
		         "%llu bytes is not a positive multiple of 2048 (a CD/DVD image has "
		         "2048-byte blocks)",
		         (unsigned long long)size);
		return bad_image(err, errlen, path, why, -EINVAL);
	}
	/* io_uring honours O_NONBLOCK as "never wait" and would fail reads with EAGAIN. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return bad_image(err, errlen, path, strerror(-rc), rc);
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return bad_image(err, errlen, path, strerror(ENOMEM), -ENOMEM);
	}
	m->fd = fd;
	m->refs = 1;
	m->nblocks = size / CD_BLOCK;
	snprintf(m->path, sizeof(m->path), "%.*s", (int)sizeof(m->path) - 1, path);
	*out = m;
	return 0;
}

/* ---- events, prevention ---- */

/*
 * One pending media event per I_T nexus: a medium change (new media,
 * removal) replaces whatever is pending, an eject request never hides one.
 */
static void raise_event(struct pvs_lun *lun, uint8_t code)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (!in->used)
			continue;
		if (code != MEC_EJECT_REQUEST || in->cd_event == MEC_NONE)
			in->cd_event = code;
	}
}

static void update_prevent(struct pvs_lun *lun)
{
	lun->prevent = false;
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++)
		lun->prevent |= lun->initiators[i].used && lun->initiators[i].cd_prevent;
}

void pvsi_cd_reset(struct pvs_lun *lun, uint64_t initiator)
{
	for (unsigned i = 0; i < PVSI_MAX_INITIATORS; i++) {
		struct pvsi_initiator *in = &lun->initiators[i];

		if (in->used && (initiator == UINT64_MAX || in->id == initiator))
			in->cd_prevent = false;
	}
	update_prevent(lun);
}

/* Take the medium out and open the tray: "media removal" for every I_T nexus. */
static void eject(struct pvs_lun *lun)
{
	struct cd_drive *d = drive_of(lun);

	if (d->medium) {
		medium_put(d->medium);
		d->medium = NULL;
		lun->nblocks = 0;
		raise_event(lun, MEC_MEDIA_REMOVAL);
	}
	d->tray_open = true;
}

int pvsi_cd_ready(const struct pvs_lun *lun)
{
	const struct cd_drive *d = drive_of(lun);

	if (d->medium)
		return PVS_SR_OK;
	return d->tray_open ? PVS_SR_NO_MEDIUM_TRAY_OPEN : PVS_SR_NO_MEDIUM_TRAY_CLOSED;
}

void pvsi_cd_req_release(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	medium_put(req->core.medium);
	req->core.medium = NULL;
}

/* ---- the store: reads of the medium a request referenced ---- */

static void cd_readv(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                     const struct iovec *iov, unsigned int cnt)
{
	const struct cd_medium *m = req->core.medium;

	if (!m) {
		pvsi_store_done(req, -EIO);
		return;
	}
	pvsi_file_readv_fd(lun, req, m->fd, off, iov, cnt);
}

/* The MMC table gives a cdrom: drive no command that reaches these. */
static void cd_writev(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
                      const struct iovec *iov, unsigned int cnt, bool fua)
{
	(void)lun, (void)off, (void)iov, (void)cnt, (void)fua;
	pvsi_store_done(req, -EROFS);
}

static void cd_flush(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	pvsi_store_done(req, 0);
}

static void cd_range(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	(void)lun, (void)off, (void)len;
	pvsi_store_done(req, -EROFS);
}

static void cd_prefetch(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len)
{
	(void)lun, (void)off, (void)len;
	pvsi_store_done(req, 0);
}

static int64_t cd_extent(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped)
{
	(void)lun;
	*mapped = true;
	return (int64_t)(end - off);
}

static int64_t cd_size(struct pvs_lun *lun)
{
	const struct cd_drive *d = drive_of(lun);

	return d->medium ? (int64_t)(d->medium->nblocks * CD_BLOCK) : 0;
}

static void cd_close(struct pvs_lun *lun)
{
	struct cd_drive *d = drive_of(lun);

	if (d)
		medium_put(d->medium);
	free(d);
	lun->cd = NULL;
}

static const struct pvsi_store_ops cd_store = {
    .kind = "cdrom",
    .readv = cd_readv,
    .writev = cd_writev,
    .flush = cd_flush,
    .discard = cd_range,
    .write_zeroes = cd_range,
    .prefetch = cd_prefetch,
    .extent = cd_extent,
    .cancel = pvsi_file_cancel,
    .size = cd_size,
    .close = cd_close,
};

int pvsi_cd_open(struct pvs_lun *lun, const char *path, char *err, size_t errlen)
{
	struct cd_drive *d;
	int rc;

	if (!lun->worker) {
		if (err && errlen)
			snprintf(err, errlen, "cdrom LUN '%s': needs a worker (io_uring)", path);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		if (err && errlen)
			snprintf(err, errlen, "cdrom LUN '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	if (path && *path) {
		rc = medium_open(path, &d->medium, err, errlen);
		if (rc) {
			free(d);
			return rc;
		}
	}
	lun->cd = d;
	lun->store = &cd_store;
	lun->ro = true;
	lun->thin = false;
	lun->wce = false;
	lun->pdt = 0x05;
	lun->dclass = PVSI_DC_MMC;
	lun->block_size = CD_BLOCK;
	lun->block_shift = 11;
	lun->nblocks = d->medium ? d->medium->nblocks : 0;
	return 0;
}

/* ---- commands ---- */

static bool is_dvd(const struct pvs_lun *lun)
{
	return lun->nblocks > CD_MAX_BLOCKS;
}

int pvsi_mmc_read(struct pvs_lun *lun, struct pvs_req *req)
{
	struct cd_drive *d = drive_of(lun);

	/* PVSI_OP_NEED_READY: a medium is loaded. */
	req->core.medium = d->medium;
	d->medium->refs++;
	return pvsi_sbc_read(lun, req);
}

/*
 * MMC-6 6.39: LoEj with Start 0 ejects (refused while an I_T nexus
 * prevents removal), with Start 1 closes the tray.  Without LoEj there is
 * nothing to spin up or down.
 */
int pvsi_mmc_start_stop(struct pvs_lun *lun, struct pvs_req *req)
{
	struct cd_drive *d = drive_of(lun);
	uint8_t b4 = req->cdb[4];

	if (!(b4 & 0x02))
		return PVS_SR_OK;
	if (b4 & 0x01) {
		d->tray_open = false;
		return PVS_SR_OK;
	}
	if (lun->prevent)
		return PVS_SR_MEDIUM_REMOVAL_PREVENTED;
	eject(lun);
	return PVS_SR_OK;
}

/* SPC-5 6.16 / MMC-6 6.12: one prevention per I_T nexus; removal is prevented while any holds. */
int pvsi_mmc_prevent_allow(struct pvs_lun *lun, struct pvs_req *req)
{
	struct pvsi_initiator *in = pvsi_initiator_slot(lun, req->initiator);

	if (!in)
		return PVS_SR_TASK_SET_FULL;
	in->cd_prevent = req->cdb[4] & 0x01;
	update_prevent(lun);
	return PVS_SR_OK;
}

/* MMC-6 6.1.3 (READ TOC): 150 frames of lead-in before LBA 0, 75 frames a second. */
static void put_addr(uint8_t *p, uint64_t lba, bool msf)
{
	if (msf) {
		uint64_t f = lba + 150;

		if (f > 255ull * 4500 + 59 * 75 + 74)
			f = 255ull * 4500 + 59 * 75 + 74;
		p[0] = 0;
		p[1] = (uint8_t)(f / 4500);
		p[2] = (uint8_t)(f / 75 % 60);
		p[3] = (uint8_t)(f % 75);
	} else {
		pvsi_put_be32(p, (uint32_t)lba);
	}
}

/* One track descriptor: ADR 1 (Q sub-channel position), CONTROL 4 (data, uninterrupted). */
static void put_track(uint8_t *p, uint8_t track, uint64_t lba, bool msf)
{
	p[1] = 0x14;
	p[2] = track;
	put_addr(&p[4], lba, msf);
}

/*
 * MMC-6 6.32: one data track (1) from LBA 0, one session.  Format 0 (TOC):
 * track 1 unless a later start track is asked, then the lead-out (AAh) at
 * the capacity, which Linux's sr reads as the disc's end.  Format 1:
 * the first track of the last session.  Raw TOC, PMA, ATIP: not here.
 */
int pvsi_mmc_read_toc(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f, track = cdb[6];
	uint8_t buf[32];
	size_t off = 4;

	memset(buf, 0, sizeof(buf));
	buf[2] = 1; /* first track, or first session */
	buf[3] = 1; /* last track, or last session */
	switch (format) {
	case 0:
		if (track > 1 && track != 0xaa)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 6, -1);
		if (track <= 1) {
			put_track(&buf[off], 1, 0, msf);
			off += 8;
		}
		put_track(&buf[off], 0xaa, lun->nblocks, msf);
		off += 8;
		break;
	case 1:
		put_track(&buf[off], 1, 0, msf);
		off += 8;
		break;
	default:
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, 3);
	}
	pvsi_put_be16(&buf[0], (uint16_t)(off - 2));
	return pvsi_emu_respond(req, buf, off, pvsi_be16(&cdb[7]));
}

/* A feature descriptor's header (MMC-6 5.2.2): code, version, persistent, current. */
static uint8_t *feature(uint8_t *p, uint16_t code, uint8_t version, bool persistent, bool current,
                        uint8_t len)
{
	pvsi_put_be16(p, code);
	p[2] = (uint8_t)(version << 2 | (persistent ? 0x02 : 0) | (current ? 0x01 : 0));
	p[3] = len;
	return p + 4;
}

/*
 * MMC-6 6.6: the profiles (DVD-ROM, CD-ROM; the current one by the
 * medium's size, as QEMU tells them) and the features a read-only drive
 * has: Profile List, Core, Morphing, Removable Medium, and Random Readable
 * while a medium is loaded.  RT 00b: every feature from STARTING FEATURE
 * NUMBER on; 01b: the current ones; 10b: that one feature.
 */
int pvsi_mmc_get_configuration(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	uint8_t rt = cdb[1] & 0x03, buf[96], *p;
	uint16_t sfn = pvsi_be16(&cdb[2]);
	bool medium = drive_of(lun)->medium != NULL;
	uint16_t profile = !medium ? PROFILE_NONE : is_dvd(lun) ? PROFILE_DVD : PROFILE_CD_ROM;
	static const uint16_t codes[] = {0x0000, 0x0001, 0x0002, 0x0003, 0x0010};

	if (rt == 3)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 1);
	memset(buf, 0, sizeof(buf));
	pvsi_put_be16(&buf[6], profile);
	p = &buf[8];
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint16_t c = codes[i];
		bool current = c != 0x0010 || medium;

		if (rt == 2 ? c != sfn : c < sfn)
			continue;
		if (rt == 1 && !current)
			continue;
		switch (c) {
		case 0x0000: /* Profile List, highest first */
			p = feature(p, c, 0, true, true, 8);
			pvsi_put_be16(&p[0], PROFILE_DVD);
			p[2] = profile == PROFILE_DVD;
			pvsi_put_be16(&p[4], PROFILE_CD_ROM);
			p[6] = profile == PROFILE_CD_ROM;
			p += 8;
			break;
		case 0x0001: /* Core: SCSI interface, DBE */
			p = feature(p, c, 2, true, true, 8);
			pvsi_put_be32(&p[0], 0x00000001);
			p[4] = 0x01;
			p += 8;
			break;
		case 0x0002: /* Morphing: polled events only (ASYNC 0, OCEvent 0) */
			p = feature(p, c, 1, true, true, 4);
			p += 4;
			break;
		case 0x0003: /* Removable Medium: tray, load, eject, lock */
			p = feature(p, c, 2, true, true, 4);
			p[0] = 0x39;
			p += 4;
			break;
		default: /* Random Readable: 2048-byte blocks, 1 (CD) or 16 (DVD) per unit */
			p = feature(p, c, 0, false, current, 8);
			pvsi_put_be32(&p[0], CD_BLOCK);
			pvsi_put_be16(&p[4], profile == PROFILE_DVD ? 16 : 1);
			p += 8;
			break;
		}
	}
	pvsi_put_be32(&buf[0], (uint32_t)(p - buf - 4));
	return pvsi_emu_respond(req, buf, (size_t)(p - buf), pvsi_be16(&cdb[7]));
}

/*
 * MMC-6 6.7: polled only (Polled 0 asks for asynchronous notification: INVALID
 * FIELD IN CDB).  The media class is the one supported; asked for, it
 * reports this I_T nexus's pending event (then cleared) and the medium's
 * state; otherwise No Event Available.  EVENT DESCRIPTOR LENGTH counts the
 * descriptor after the 4-byte header, as QEMU and Linux read it.
 */
int pvsi_mmc_gesn(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	const struct cd_drive *d = drive_of(lun);
	uint32_t alloc = pvsi_be16(&cdb[7]);
	struct pvsi_initiator *in;
	uint8_t buf[8];

	if (!(cdb[1] & 0x01))
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 0);
	memset(buf, 0, sizeof(buf));
	buf[3] = 0x10; /* SUPPORTED EVENT CLASSES: media */
	if (!(cdb[4] & 0x10)) {
		buf[2] = 0x80; /* NEA */
		return pvsi_emu_respond(req, buf, 4, alloc);
	}
	buf[2] = 0x04; /* NOTIFICATION CLASS: media */
	pvsi_put_be16(&buf[0], 4);
	in = pvsi_initiator_slot(lun, req->initiator);
	/* Reported once: only when the event code reaches the initiator. */
	if (in && alloc > 4) {
		buf[4] = in->cd_event;
		in->cd_event = MEC_NONE;
	}
	buf[5] = d->medium ? 0x02 : d->tray_open ? 0x01 : 0x00; /* MEDIA PRESENT, TRAY OPEN */
	return pvsi_emu_respond(req, buf, sizeof(buf), alloc);
}

/* MMC-6 6.23: one complete session on a finalized disc, unrestricted use. */
int pvsi_mmc_read_disc_info(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[34];

	(void)lun;
	if (req->cdb[1] & 0x07)
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 2);
	memset(buf, 0, sizeof(buf));
	pvsi_put_be16(&buf[0], sizeof(buf) - 2);
	buf[2] = 0x0e; /* last session complete, disc finalized (complete) */
	buf[3] = 1;    /* first track on disc */
	buf[4] = 1;    /* sessions */
	buf[5] = 1;    /* first track in last session */
	buf[6] = 1;    /* last track in last session */
	buf[7] = 0x20; /* URU: unrestricted use */
	buf[8] = 0x00; /* DISC TYPE: CD-DA or CD-ROM (DVDs report 00h too) */
	return pvsi_emu_respond(req, buf, sizeof(buf), pvsi_be16(&req->cdb[7]));
}

/* MMC-6 6.27: track 1 (by an LBA inside it, its number, or session 1's first). */
int pvsi_mmc_read_track_info(struct pvs_lun *lun, struct pvs_req *req)
{
	const uint8_t *cdb = req->cdb;
	uint32_t addr = pvsi_be32(&cdb[2]);
	uint8_t buf[36];

	switch (cdb[1] & 0x03) {
	case 0: /* LBA */
		if (addr >= lun->nblocks)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
		break;
	case 1: /* track number */
	case 2: /* session number */
		if (addr != 1)
			return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 2, -1);
		break;
	default:
		return pvsi_emu_cdb_field(req, PVS_SR_INVALID_FIELD_IN_CDB, 1, 1);
	}
	memset(buf, 0, sizeof(buf));
	pvsi_put_be16(&buf[0], sizeof(buf) - 2);
	buf[2] = 1;    /* track number (LSB) */
	buf[3] = 1;    /* session number (LSB) */
	buf[5] = 0x04; /* TRACK MODE: data, recorded uninterrupted */
	buf[6] = 0x01; /* DATA MODE 1 */
	pvsi_put_be32(&buf[24], (uint32_t)lun->nblocks);       /* TRACK SIZE */
	pvsi_put_be32(&buf[28], (uint32_t)(lun->nblocks - 1)); /* LAST RECORDED ADDRESS */
	return pvsi_emu_respond(req, buf, sizeof(buf), pvsi_be16(&cdb[7]));
}

/* MMC-6 6.37: the image reads at one speed; the request is accepted and ignored. */
int pvsi_mmc_set_cd_speed(struct pvs_lun *lun, struct pvs_req *req)
{
	(void)lun;
	(void)req;
	return PVS_SR_OK;
}

/* MMC-6 6.11: no changer, no slots; DOOR OPEN while the tray is. */
int pvsi_mmc_mechanism_status(struct pvs_lun *lun, struct pvs_req *req)
{
	uint8_t buf[8];

	memset(buf, 0, sizeof(buf));
	buf[1] = drive_of(lun)->tray_open ? 0x10 : 0x00;
	return pvsi_emu_respond(req, buf, sizeof(buf), pvsi_be16(&req->cdb[8]));
}

/*
 * MMC-6 7.5 (and QEMU's scsi-cd): CD capabilities and mechanical status.
 * Reads CD-R, CD-RW and DVD-ROM media; writes nothing, plays no audio;
 * a tray that locks (LOCK STATE while prevented) and ejects.  Nothing is
 * changeable.  22 bytes.
 */
size_t pvsi_mmc_page_caps(const struct pvs_lun *lun, int pc, uint8_t *p)
{
	memset(p, 0, 22);
	p[0] = 0x2a;
	p[1] = 22 - 2;
	if (pc == 1) /* changeable values */
		return 22;
	p[2] = 0x0b;                             /* CD-R read, CD-RW read, DVD-ROM read */
	p[6] = 0x29 | (lun->prevent ? 0x02 : 0); /* tray, eject, lock (and its state) */
	pvsi_put_be16(&p[8], 50 * 176);          /* obsolete maximum read speed: 50x */
	pvsi_put_be16(&p[12], 16 * 176);         /* obsolete current read speed: 16x */
	return 22;
}

/* ---- the host's side ---- */

bool pvs_lun_is_cdrom(const struct pvs_lun *lun)
{
	return lun && lun->cd;
}

static int not_cd(const struct pvs_lun *lun, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "LUN '%s' is not a cdrom: drive", lun ? lun->backing : "?");
	return -ENOTTY;
}

int pvs_lun_cd_status(const struct pvs_lun *lun, struct pvs_cd_status *out)
{
	const struct cd_drive *d = lun ? drive_of(lun) : NULL;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOTTY;
	out->medium = d->medium != NULL;
	out->tray_open = d->tray_open;
	out->prevented = lun->prevent;
	if (d->medium) {
		out->blocks = d->medium->nblocks;
		snprintf(out->path, sizeof(out->path), "%s", d->medium->path);
	}
	return 0;
}

/* A guest holds the medium: ask it to let go (its eject button) and say so. */
static int prevented(struct pvs_lun *lun, const char *what, char *err, size_t errlen)
{
	raise_event(lun, MEC_EJECT_REQUEST);
	if (err && errlen)
		snprintf(err, errlen,
		         "cdrom LUN '%s': a guest prevents medium removal, so the medium was not "
		         "%s; the guest was sent an eject request; force to %s anyway",
		         lun->backing, what, what[0] == 'e' ? "eject" : "replace it");
	return -EBUSY;
}

int pvs_lun_cd_eject(struct pvs_lun *lun, bool force, char *err, size_t errlen)
{
	struct cd_drive *d = lun ? drive_of(lun) : NULL;

	if (!d)
		return not_cd(lun, err, errlen);
	if (d->medium && lun->prevent && !force)
		return prevented(lun, "ejected", err, errlen);
	if (force)
		pvsi_cd_reset(lun, UINT64_MAX);
	eject(lun);
	return 0;
}

int pvs_lun_cd_insert(struct pvs_lun *lun, const char *path, bool force, char *err, size_t errlen)
{
	struct cd_drive *d = lun ? drive_of(lun) : NULL;
	struct cd_medium *m;
	int rc;

	if (!d)
		return not_cd(lun, err, errlen);
	if (d->medium && lun->prevent && !force)
		return prevented(lun, "replaced", err, errlen);
	rc = medium_open(path, &m, err, errlen);
	if (rc)
		return rc;
	if (force)
		pvsi_cd_reset(lun, UINT64_MAX);
	medium_put(d->medium);
	d->medium = m;
	d->tray_open = false;
	lun->nblocks = m->nblocks;
	/* MMC-6 4.1.6.1: the medium may have changed, whatever the guest saw before. */
	raise_event(lun, MEC_NEW_MEDIA);
	pvsi_ua_raise_all(lun, PVS_SR_UA_MEDIUM_CHANGED, UINT64_MAX);
	return 0;
}
