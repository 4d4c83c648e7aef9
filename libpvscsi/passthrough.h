/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrough.h - the sg syscalls of passthrough LUNs, behind an ops struct
 * so that tests can stand in a scripted device (tests/fakes/fake_sg.c).
 */
#ifndef PVSCSI_PASSTHROUGH_H
#define PVSCSI_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * sg keeps at most SG_MAX_QUEUE (16) commands per open file; more are
 * answered TASK SET FULL rather than queued in the daemon.
 */
#define PVSI_SG_MAX_INFLIGHT 16
/* Per-command timeout handed to sg, then the host's error handler takes over. */
#define PVSI_SG_TIMEOUT_MS 60000
/*
 * The same for tape drives, changers and optical drives, whose REWIND,
 * ERASE, LOAD, INITIALIZE ELEMENT STATUS or BLANK take minutes to hours:
 * Linux st's long timeout (ST_LONG_TIMEOUT, 14000 s).  sg cannot abort a
 * command, so a shorter one would fail a good rewind of a long tape.
 */
#define PVSI_SG_LONG_TIMEOUT_MS (14000u * 1000u)

struct sg_io_hdr;

/* Same contracts as the syscalls: -1 and errno on failure. */
struct pvsi_sg_ops {
	int (*open)(const char *path, int flags);
	int (*fstat)(int fd, struct stat *st);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*read)(int fd, void *buf, size_t len);
	int (*close)(int fd);
	/*
	 * The fd is a real file that io_uring can write headers to and read
	 * answers from (then write and read above are used only if io_uring
	 * refuses); false: always write and read above.
	 */
	bool uring;
	/*
	 * Tests only (NULL otherwise): sees each io_uring write's and read's
	 * result and header before the LUN does, and returns the result the
	 * LUN gets, so that a test can make the kernel's rarer answers
	 * (-EAGAIN) happen when it wants them.
	 */
	int (*uring_res)(bool write, int res, struct sg_io_hdr *h);
};

struct pvs_lun;
struct pvs_req;

/*
 * The CDB filter's and the answer fixups' state, the first member of every
 * passthrough LUN's lun->priv (sg here, iSCSI in iscsi.c).
 */
struct pvsi_pt {
	/*
	 * A disk without a Block Limits page, to which we added one (see
	 * vpd_fixup()): its INQUIRY for page B0h is answered here.
	 */
	bool emul_b0;
	/* Opcodes whose refusal has been logged: once per LUN, or a guest could flood the log. */
	uint64_t refusal_logged[4];
};

/*
 * Before a passthrough LUN sends @req to its device: the filter (unless
 * raw), a device gone, the Block Limits page answered here.  false when
 * @req was completed and must not be sent.
 */
bool pvsi_pt_prepare(struct pvs_lun *lun, struct pvs_req *req);
/*
 * At the device's answer: true, @req completed, when the initiator gave up
 * on it (an abort or reset), whatever the device said.
 */
bool pvsi_pt_given_up(struct pvs_req *req);
/*
 * The device answered: req->status, host, sense and sense_len are set, and
 * @moved bytes of data moved.  Applies the fixups of a filtered LUN (WP in
 * MODE SENSE, Block Limits, the supported operation codes) and completes
 * @req with the device's status, sense and residual unchanged otherwise.
 */
void pvsi_pt_finish(struct pvs_req *req, uint64_t moved);

/*
 * Use @ops for passthrough LUNs opened from now on (NULL: the real
 * syscalls).  Set once at start-up, before workers run.  The fd returned by
 * ops->open must be pollable: the worker's epoll waits on it for completions
 * (or, with ops->uring, its io_uring reads it).
 */
void pvsi_sg_set_ops(const struct pvsi_sg_ops *ops);

#endif
