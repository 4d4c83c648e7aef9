/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core.h - libpvscsi internals shared between the core's source files.
 *
 * Layers, top to bottom:
 *   map.c            v-dev map and target emulation (REPORT LUNS, unmapped LUNs)
 *   lun.c            struct pvs_lun, pvs_submit(), in-flight list, completion
 *   emulate.c        emulated LUNs: dispatch through the opcode table
 *   spc.c sbc.c      command handlers (SPC-5 / SBC-4)
 *   sbc_stage.c      SBC commands at the store, stage by stage
 *   sbc_engine.c     runs the stages: the scratch, the COMPARE AND WRITE gate
 *   pr.c ua.c tmf.c  reservations, unit attentions, task management
 *   passthrough.c    sg LUNs: filter from the opcode table, sg v3 async I/O
 *   cdrom.c          cdrom: drives (MMC-6): their commands, tray and medium
 *   store_*.c        backing stores of emulated LUNs (file/bdev via io_uring, mem,
 *                    rbd via librbd)
 *   worker.c         io_uring + epoll per thread
 *   opcodes.c        THE opcode table (opcode.h names the opcodes)
 *   sense.c          THE reason -> sense table
 */
#ifndef PVSCSI_CORE_H
#define PVSCSI_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "opcode.h"
#include "pvscsi/pvscsi.h"

/* Returned by a handler that has started asynchronous work. */
#define PVSI_ASYNC (-1)

/* struct pvs_req_core.flags */
#define PVSI_RF_ABORTED  0x01u /* complete with PVS_HOST_ABORTED */
#define PVSI_RF_RESET    0x02u /* complete with PVS_HOST_RESET */
#define PVSI_RF_FUA      0x04u
#define PVSI_RF_TRIMMED  0x08u /* iov[trim_idx] shortened */
#define PVSI_RF_INFLIGHT 0x10u
#define PVSI_RF_INFO     0x40u  /* sense gets VALID and INFORMATION = core.info */
#define PVSI_RF_CANCELED 0x80u  /* tmf.c: lun->ops->cancel already issued */
#define PVSI_RF_LEND     0x100u /* the transport takes req->data_in (pvs_map_set_lend) */
/* The data-out is not in iov: writev lends the medium (pvs_map_submit_lend_out). */
#define PVSI_RF_LEND_OUT 0x200u

/* ---- the opcode table (opcodes.c) ---- */

/*
 * A handler returns an enum pvs_sense_reason, having filled the data-in
 * buffers as needed, or PVSI_ASYNC when store I/O will complete the request.
 */
typedef int (*pvsi_handler_fn)(struct pvs_lun *lun, struct pvs_req *req);

/* struct pvsi_opcode.flags */
#define PVSI_OP_EMU        0x0001u /* emulated LUNs implement it (handler != NULL) */
#define PVSI_OP_PT_ALLOW   0x0002u /* allowed to filtered (non feature-host) passthrough */
#define PVSI_OP_WRITE      0x0004u /* modifies the medium: DATA PROTECT when read-only */
#define PVSI_OP_UA_OK      0x0008u /* runs despite a pending unit attention (SAM-5 5.14) */
#define PVSI_OP_RES_OK     0x0010u /* allowed under another initiator's reservation */
#define PVSI_OP_NEED_READY 0x0020u /* NOT READY while the unit is stopped */
#define PVSI_OP_TARGET     0x0040u /* answered by the target for unmapped LUNs */
#define PVSI_OP_HAS_SA     0x0080u /* service action in CDB byte 1, bits 4:0 */
/*
 * May change the medium's layout through the device's own parameters (MODE
 * SELECT: capacity in the block descriptor, tape partitions): refused on
 * read-only passthrough LUNs.  Emulated LUNs implement no such parameter.
 */
#define PVSI_OP_MEDIUM_PARAMS 0x0100u
/*
 * Allowed to non-holders under a Write Exclusive reservation although it
 * moves no data to the initiator (SBC-4 Table 13: VERIFY, PRE-FETCH); the
 * commands with only a data-in phase are allowed without the flag.
 */
#define PVSI_OP_WE_OK 0x0200u
/*
 * Its data-in is mode parameter data (SPC-5 7.5.5: MODE SENSE): the 4-byte
 * header after a 6-byte CDB, the 8-byte one after a 10-byte CDB.  A
 * read-only passthrough LUN sets WP in the header's DEVICE-SPECIFIC
 * PARAMETER (SBC-4 6.5.1) of what the device returns.
 */
#define PVSI_OP_MODE_DATA 0x0400u
/*
 * EVPD (byte 1 bit 0) asks for the vital product data page in byte 2
 * (SPC-5 6.7.1: INQUIRY).  Passthrough LUNs clamp the Block Limits page to
 * the transport's bound, and add it for a disk that has none.
 */
#define PVSI_OP_VPD 0x0800u
/*
 * An SPC-5 command, the same for every device type: in the SBC table
 * (pvsi_opcodes[]), it serves the other device classes too, unless their
 * own table gives the byte another meaning.
 */
#define PVSI_OP_SPC 0x1000u
/*
 * Its data-in lists operation codes (REPORT SUPPORTED OPERATION CODES): a
 * filtered passthrough LUN takes out of the device's answer what the filter
 * refuses, so that the guest is not told of commands it cannot send.
 */
#define PVSI_OP_OPLIST 0x2000u

/*
 * The command sets the filter knows, by peripheral device type (SPC-5
 * 6.7.2): each but PVSI_DC_SPC has a table of its own on top of the SPC
 * commands.  Emulated LUNs are disks (SBC) or cdrom:
 * drives (MMC).
 */
enum pvsi_dclass {
	PVSI_DC_SBC, /* 00h direct access, 0Eh simplified direct access (RBC) */
	PVSI_DC_SSC, /* 01h sequential access: tape drives */
	PVSI_DC_MMC, /* 05h CD/DVD/BD */
	PVSI_DC_SMC, /* 08h medium changers: tape libraries, jukeboxes */
	PVSI_DC_SPC, /* any other type: the SPC commands alone */
	PVSI_DC__COUNT
};

/* How a CDB gives the length of its data phase (pvs_cdb_xfer()). */
enum pvsi_xfer_kind {
	PVSI_XF_UNKNOWN = 0, /* not from the CDB alone */
	PVSI_XF_NONE,        /* no data phase */
	PVSI_XF_BYTES,       /* a length in bytes at [at, at + width) */
	PVSI_XF_BLOCKS,      /* a number of logical blocks at [at, at + width) */
	PVSI_XF_BLOCKS6,     /* the same, 0 meaning 256 */
	PVSI_XF_FIXED,       /* always @at bytes */
	PVSI_XF_VERIFY,     /* BYTCHK (byte 1, bits 2:1): 00b none, 01b the blocks, 11b one block */
	PVSI_XF_WRITE_SAME, /* one block; none with NDOB (byte 1 bit 0 of a 16-byte CDB) */
	PVSI_XF_CAW,        /* twice the number of blocks at [at, at + width) */
};

struct pvsi_xfer {
	uint8_t kind; /* enum pvsi_xfer_kind */
	uint8_t at;
	uint8_t width;
};

struct pvsi_opcode {
	uint8_t opcode;  /* enum pvsi_opc */
	uint8_t cdb_len; /* expected CDB length */
	uint16_t sa;     /* service action when PVSI_OP_HAS_SA (enum pvsi_sa*) */
	uint8_t dir;     /* enum pvs_dir of the data phase, if any */
	struct pvsi_xfer xfer;
	uint16_t flags;
	const char *name;
	pvsi_handler_fn handler;
	/*
	 * Why a command a table lists is not PVSI_OP_PT_ALLOW: the log line of
	 * a refusal, and docs/lun-core.md.  NULL for allowed entries.
	 */
	const char *why;
	/*
	 * For allowed passthrough entries: the byte of a CDB field whose value
	 * would reach beyond the guest's own data (SEND KEY's RPC-2 region), or
	 * -1 when the CDB is fine.  NULL: no such field.
	 */
	int (*bad_field)(const uint8_t *cdb);
	/* CDB usage data for REPORT SUPPORTED OPERATION CODES (SPC-5 6.35.3). */
	uint8_t usage[16];
};

extern const struct pvsi_opcode pvsi_opcodes[];
extern const unsigned int pvsi_nopcodes;

/* The entry for this CDB (opcode + service action) in the SBC table, or NULL. */
const struct pvsi_opcode *pvsi_opcode_find(const uint8_t *cdb, unsigned int cdb_len);
/*
 * The same for device class @dc (enum pvsi_dclass): its own table first,
 * then the SPC entries of the SBC table.  A byte another class gives another
 * meaning (01h: REZERO UNIT, REWIND) is found in that class's table.
 */
const struct pvsi_opcode *pvsi_opcode_find_dc(unsigned int dc, const uint8_t *cdb,
                                              unsigned int cdb_len);
/* The class of a peripheral device type (INQUIRY byte 0, bits 4:0). */
unsigned int pvsi_dclass_of(uint8_t pdt);
/* "tape drive (SSC)": for messages. */
const char *pvsi_dclass_name(unsigned int dc);
/*
 * Class @dc's own entries, sorted by opcode and service action (the SBC
 * table for PVSI_DC_SBC, none for PVSI_DC_SPC), for listings and tests.
 */
const struct pvsi_opcode *pvsi_dclass_table(unsigned int dc, unsigned int *n);
/*
 * Every entry class @dc uses, its own and the SPC ones it does not shadow,
 * sorted by opcode and service action: at most @max into @out, returns how
 * many (REPORT SUPPORTED OPERATION CODES).
 */
unsigned int pvsi_dclass_entries(unsigned int dc, const struct pvsi_opcode **out, unsigned int max);
/* pvsi_opcode_any() among the entries class @dc uses (pvsi_opcode_find_dc()). */
bool pvsi_opcode_any_dc(unsigned int dc, uint8_t opcode, uint32_t flags);
/*
 * Whether some entry of @opcode has every flag of @flags: PVSI_OP_HAS_SA
 * tells an opcode whose CDB carries a service action (an unknown one is
 * then INVALID FIELD IN CDB, SPC-5 4.4.3, not an unknown opcode).
 */
bool pvsi_opcode_any(uint8_t opcode, uint32_t flags);
/*
 * Whether the first @op->cdb_len bytes of @cdb (which must have room for
 * 16) leave every reserved bit and NACA/LINK/FLAG clear.  When not, the
 * caller finds which byte and bit from @op->usage.
 */
bool pvsi_opcode_cdb_clean(const struct pvsi_opcode *op, const uint8_t *cdb);

/* ---- backing stores of emulated LUNs ---- */

/*
 * Store operations start I/O and complete it by calling pvsi_store_done()
 * with bytes transferred or -errno, possibly before returning.  Offsets and
 * lengths are in bytes and already range-checked by the caller.  The iovec
 * array must stay valid until pvsi_store_done(): file I/O reaches the
 * kernel at the next pvs_worker_flush() and restarts short transfers from it.
 * A file store never reports success for a partial transfer.
 */
struct pvsi_store_ops {
	const char *kind;
	void (*readv)(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
	              const struct iovec *iov, unsigned int cnt);
	void (*writev)(struct pvs_lun *lun, struct pvs_req *req, uint64_t off,
	               const struct iovec *iov, unsigned int cnt, bool fua);
	void (*flush)(struct pvs_lun *lun, struct pvs_req *req);
	/* Deallocate; the range then reads back as zeroes. */
	void (*discard)(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len);
	void (*write_zeroes)(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len);
	/* A hint (PRE-FETCH): start reading [@off, @off + @len) into the backing's cache. */
	void (*prefetch)(struct pvs_lun *lun, struct pvs_req *req, uint64_t off, uint64_t len);
	/*
	 * Synchronous, like size(): whether the bytes from @off (a block
	 * boundary) on are mapped (*mapped) or deallocated, and for how many
	 * bytes, a multiple of the block size in (0, @end - @off].  -errno on
	 * failure.  Only asked of thin LUNs; GET LBA STATUS bounds the calls.
	 */
	int64_t (*extent)(struct pvs_lun *lun, uint64_t off, uint64_t end, bool *mapped);
	/* Best effort; 0 when a cancel was issued (the request still completes). */
	int (*cancel)(struct pvs_lun *lun, struct pvs_req *req);
	/* Current size of the backing in bytes, re-read from the backing. */
	int64_t (*size)(struct pvs_lun *lun);
	void (*close)(struct pvs_lun *lun);
	/* Optional, as struct pvsi_lun_ops's busy and move below; NULL: nothing of its own. */
	bool (*busy)(const struct pvs_lun *lun);
	int (*move)(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen);
	/* writev takes PVSI_RF_LEND_OUT: a write into the request's whole iov lends the medium. */
	bool lend_out;
};

/*
 * Called by stores: res is bytes or -errno.  Runs req->core.cont.  Inline:
 * every store operation ends here, a mem: one inside the I/O path's call.
 */
static inline void pvsi_store_done(struct pvs_req *req, int64_t res)
{
	req->core.cont(req, res);
}

/*
 * Opens @sp->name.  cache=none (@sp->direct), O_DIRECT, is refused (with a
 * message naming the path, the sizes and the way the alignment was found)
 * when the file system takes no O_DIRECT or needs a direct I/O alignment
 * larger than the LUN's block.  writes=inline (@sp->inline_writes): the
 * loop makes buffered writes itself (store_file.c).
 */
int pvsi_file_open(struct pvs_lun *lun, const struct pvs_spec *sp, char *err, size_t errlen);
/*
 * The file store's read on @fd rather than the LUN's own (a cdrom: medium,
 * which the caller keeps open until the read completes), and its cancel.
 */
void pvsi_file_readv_fd(struct pvs_lun *lun, struct pvs_req *req, int fd, uint64_t off,
                        const struct iovec *iov, unsigned int cnt);
int pvsi_file_cancel(struct pvs_lun *lun, struct pvs_req *req);
/* cdrom.c: open a cdrom: drive on @path ("" for an empty drive). */
int pvsi_cd_open(struct pvs_lun *lun, const char *path, char *err, size_t errlen);
/* cdrom.c: @req leaves the LUN: drop its reference to the medium it read. */
void pvsi_cd_req_release(struct pvs_lun *lun, struct pvs_req *req);
/* cdrom.c: TMFs end the prevention of one I_T nexus (UINT64_MAX: every one). */
void pvsi_cd_reset(struct pvs_lun *lun, uint64_t initiator);
/*
 * cdrom.c: NOT READY reason for a PVSI_OP_NEED_READY command on a drive
 * without medium (tray open or closed), PVS_SR_OK with one.
 */
int pvsi_cd_ready(const struct pvs_lun *lun);
int pvsi_mem_open(struct pvs_lun *lun, uint64_t size, char *err, size_t errlen);
/*
 * store_rbd.c: open @sp's Ceph image; *@key gets the identity key of the
 * image (the cluster's fsid, the image's id, the snapshot), not of the spec.
 */
struct pvs_spec;
int pvsi_rbd_open(struct pvs_lun *lun, const struct pvs_spec *sp, char *key, size_t keylen,
                  char *err, size_t errlen);
/* passthrough.c: refuses anything but an sg character device (whole LUNs only). */
int pvsi_sg_open(struct pvs_lun *lun, const char *path, char *err, size_t errlen);
/*
 * iscsi.c: log in to the target of @url (the spec's name, after
 * "iscsi://") as @initiator, with USER's CHAP secret from @chap ("" or
 * NULL: none), and check that the LUN is there.
 */
int pvsi_iscsi_open(struct pvs_lun *lun, const char *url, const char *chap, const char *initiator,
                    char *err, size_t errlen);

/* ---- LUN object ---- */

/* The small per-kind ops of a LUN. */
struct pvsi_lun_ops {
	const char *kind;
	void (*submit)(struct pvs_lun *lun, struct pvs_req *req);
	int (*cancel)(struct pvs_lun *lun, struct pvs_req *req);
	uint64_t (*capacity)(struct pvs_lun *lun); /* in blocks */
	void (*close)(struct pvs_lun *lun);
	/*
	 * Whether operations of the LUN's own are on lun->worker besides its
	 * requests in flight (which pvsi_lun_busy() counts): an answer read
	 * in the ring, a login under way.  NULL: none ever are.
	 */
	bool (*busy)(const struct pvs_lun *lun);
	/*
	 * pvsi_lun_move()'s part: register with @to what the LUN has on
	 * lun->worker (its fds, its deferred ring), then take it off the old
	 * one.  Only called when idle, with neither worker's thread running.
	 * -errno with @err saying what @to refused, and then nothing changed:
	 * what was registered with @to is taken off again.  NULL: nothing is
	 * registered anywhere (the next I/O simply goes to the new worker).
	 */
	int (*move)(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen);
	/* writev takes PVSI_RF_LEND_OUT: a write into the request's whole iov lends the medium. */
	bool lend_out;
};

extern const struct pvsi_lun_ops pvsi_emulated_ops;
extern const struct pvsi_lun_ops pvsi_passthrough_ops;
/*
 * iscsi.c: log out and free the sessions kept after their LUN closed
 * (ISCSI_LINGER) that @w serves; the worker is going away.
 */
void pvsi_iscsi_worker_gone(struct pvs_worker *w);
extern const struct pvsi_lun_ops pvsi_iscsi_ops;

#define PVSI_MAX_INITIATORS 64 /* per LUN: registrations, unit attentions */
#define PVSI_MAX_PR_KEYS    PVSI_MAX_INITIATORS

/* Per-initiator state, found by pvsi_initiator_slot(). */
struct pvsi_initiator {
	uint64_t id;
	bool used;
	uint32_t ua_pending; /* bit n set: reason (PVS_SR_UA_POWER_ON + n) pending */
	/* persistent reservations: registration */
	bool registered;
	uint64_t key;
	/* cdrom: PREVENT ALLOW MEDIUM REMOVAL, and the media event GESN reports next */
	bool cd_prevent;
	uint8_t cd_event;
};

struct pvsi_pr {
	/* SPC-2 RESERVE(6/10) */
	bool spc2_reserved;
	uint64_t spc2_holder;
	/* SPC-4 persistent reservations */
	uint32_t generation;
	bool pr_reserved;
	uint64_t pr_holder; /* initiator id; ignored for all-registrants types */
	uint8_t pr_type;    /* SPC-5 Table 6.x: 1 WE, 3 EA, 5 WE-RO, 6 EA-RO, 7 WE-AR, 8 EA-AR */
	bool aptpl;
};

struct pvs_lun {
	const struct pvsi_lun_ops *ops;
	const struct pvsi_store_ops *store; /* emulated LUNs */
	struct pvs_worker *worker;
	bool ro;
	bool raw;
	bool stopped;   /* START STOP UNIT */
	bool prevent;   /* PREVENT ALLOW MEDIUM REMOVAL */
	bool wce;       /* caching mode page WCE */
	bool thin;      /* store can discard */
	bool gone;      /* the backing went away: every command NO_CONNECT (pvs_lun_gone()) */
	uint8_t pdt;    /* peripheral device type: 00h for emulated LUNs, the device's for sg */
	uint8_t dclass; /* enum pvsi_dclass of @pdt: which table the filter reads */
	pvs_lun_notice_fn notice;
	void *notice_arg;
	uint32_t block_size;
	uint8_t block_shift;
	uint64_t nblocks;
	char serial[33];
	uint8_t naa[16]; /* NAA IEEE Registered Extended designator (type 6) */
	char vendor[9], product[17], revision[5];
	char backing[256]; /* path or description, for messages */

	struct pvs_io_stats stats;

	/* in-flight requests, for TMFs and drain */
	struct pvs_req *inflight;
	unsigned int ninflight;

	struct pvsi_initiator initiators[PVSI_MAX_INITIATORS];
	struct pvsi_pr pr;

	/*
	 * The worker's part of the store's open (its fds into the worker's
	 * epoll set), run by pvsi_lun_bind(): at once, or after a
	 * PVSI_OPEN_DETACHED open on the worker's thread.  NULL once bound.
	 */
	int (*bind)(struct pvs_lun *lun, char *err, size_t errlen);
	uint8_t open_mode; /* enum pvsi_open_mode, for the store's open */

	/* store- or passthrough-private state */
	void *priv;
	int fd;
	void *emu; /* emulate.c: per-LUN scratch for multi-stage commands */
	void *cd;  /* cdrom.c: a cdrom: drive's tray and medium; NULL for other LUNs */
};

/*
 * Whether @lun has anything on its worker: requests in flight, or its
 * kind's own operations (ops->busy).  A LUN moves only when it has not.
 */
bool pvsi_lun_busy(const struct pvs_lun *lun);
/*
 * Move @lun's I/O to worker @to, another than its own, while
 * !pvsi_lun_busy() (pvs_unit_move() checks both): 0, or -errno with @err
 * when @to refused a registration, @lun then whole on its old worker.
 */
int pvsi_lun_move(struct pvs_lun *lun, struct pvs_worker *to, char *err, size_t errlen);

/* pvs_submit() with PVSI_RF_* @flags set once the core is reset (pvs_map_submit's lending). */
void pvsi_submit(struct pvs_lun *lun, struct pvs_req *req, uint32_t flags);
/* Complete @req with @sr (GOOD when PVS_SR_OK): status, sense, residual, done(). */
void pvsi_req_complete(struct pvs_req *req, int sr);
/*
 * Passthrough: the caller has set status, host, sense and residual as the
 * device returned them; only untrim, in-flight removal, done() and TMF
 * accounting happen here.
 */
void pvsi_req_finish_raw(struct pvs_req *req);
/* Remember a sense-key-specific field pointer for the next completion of @req. */
void pvsi_req_field(struct pvs_req *req, bool in_cdb, int byte, int bit);
/* Complete @req with host status @host: no SCSI status, nothing transferred. */
void pvsi_req_fail_host(struct pvs_req *req, uint8_t host);
/*
 * The backing went away (@why: how that was seen): the LUN fails every
 * command from now on, and the transport hears of it once.
 */
void pvsi_lun_gone(struct pvs_lun *lun, const char *why);
/*
 * A handler's reason for a store error that means the backing device is
 * gone (ENODEV, ENXIO): pvsi_req_complete() marks the LUN gone and fails
 * the command NO_CONNECT.  Never reaches the sense table.
 */
#define PVSI_SR_GONE (PVS_SR__COUNT + 1)

/* ---- sense data (sense.c, the only writer of sense bytes) ---- */

/* What sense data carries besides the reason's key, ASC and ASCQ. */
struct pvsi_sense_extra {
	bool desc;       /* descriptor format (SPC-5 4.4.2) without descriptors, else fixed */
	bool in_cdb;     /* the field pointer is into the CDB, else the parameter list */
	int field, bit;  /* sense-key-specific field pointer; -1: none (fixed format only) */
	bool info_valid; /* VALID, INFORMATION = @info (fixed format only) */
	uint32_t info;
};

/*
 * The sense data of a command completed with reason @sr: at most @len bytes
 * into @buf, 0 for a reason without sense (GOOD, BUSY, ...).  @x may be
 * NULL: fixed format and nothing more.  Returns the length written.  An
 * unknown reason gives INTERNAL TARGET FAILURE.
 */
size_t pvsi_sense_build(int sr, const struct pvsi_sense_extra *x, uint8_t *buf, size_t len);
/*
 * REQUEST SENSE parameter data (SPC-5 6.39) reporting @sr: as
 * pvsi_sense_build(), but a reason without sense gives NO SENSE, never
 * nothing; descriptor format when @desc (the CDB's DESC bit).
 */
size_t pvsi_sense_data(int sr, bool desc, uint8_t *buf, size_t len);

/* Copy to/from the request's buffers; return bytes copied. */
size_t pvsi_req_copy_in(struct pvs_req *req, size_t off, const void *src, size_t len);
size_t pvsi_req_copy_out(const struct pvs_req *req, size_t off, void *dst, size_t len);
/* Limit the request's buffers to @len bytes (restored on completion). */
void pvsi_req_trim(struct pvs_req *req, uint64_t len);

/* Slot for @initiator, created on first use; NULL when the table is full. */
struct pvsi_initiator *pvsi_initiator_slot(struct pvs_lun *lun, uint64_t initiator);

/* ---- hooks between families ---- */

/* emulate.c: the emulated LUN's submit. */
struct pvs_spec;
/* pvs_lun_open() of a parsed spec; a HOST kind must have been resolved to SG. */
int pvsi_lun_open_spec(struct pvs_worker *w, const struct pvs_spec *sp, const char *spec,
                       const struct pvs_lun_opts *opts, struct pvs_lun **out, char *err,
                       size_t errlen);
/*
 * How much of an open happens where (host.c's asynchronous opens).  A
 * login to a SAN or a connection to a Ceph cluster can take seconds, which
 * the worker's thread, serving every other LUN, must not spend waiting.
 */
enum pvsi_open_mode {
	PVSI_OPEN_SYNC, /* all of it, on the worker's thread */
	/*
	 * Only what needs no waiting, on the worker's thread: an iSCSI
	 * session still logged in is taken up; otherwise -EWOULDBLOCK.
	 */
	PVSI_OPEN_ADOPT,
	/*
	 * On a thread of its own: the part that waits, touching nothing of
	 * the worker; pvsi_lun_bind() does the rest on the worker's thread.
	 */
	PVSI_OPEN_DETACHED,
};
int pvsi_lun_open_mode(struct pvs_worker *w, const struct pvs_spec *sp, const char *spec,
                       const struct pvs_lun_opts *opts, enum pvsi_open_mode mode,
                       struct pvs_lun **out, char *err, size_t errlen);
/*
 * The worker's part of a PVSI_OPEN_DETACHED open, on its thread; also
 * sets the notice hook, which the detached part must not call.  On
 * failure the LUN is left to pvs_lun_close().
 */
int pvsi_lun_bind(struct pvs_lun *lun, pvs_lun_notice_fn notice, void *notice_arg, char *err,
                  size_t errlen);

void pvsi_emulate_submit(struct pvs_lun *lun, struct pvs_req *req);
/* After the store opened: per-LUN emulation state; closes the store on failure. */
int pvsi_emulate_open(struct pvs_lun *lun, char *err, size_t errlen);

/* ua.c */
void pvsi_ua_raise_all(struct pvs_lun *lun, enum pvs_sense_reason ua, uint64_t except);
void pvsi_ua_raise(struct pvs_lun *lun, uint64_t initiator, enum pvs_sense_reason ua);
/* The pending UA to report for this command (and clear it), or PVS_SR_OK. */
int pvsi_ua_check(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op);
/* REQUEST SENSE (SPC-5 6.39): the pending UA to return as sense data, cleared; or PVS_SR_OK. */
int pvsi_ua_take(struct pvs_lun *lun, uint64_t initiator);
/* Drop one pending UA (REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED). */
void pvsi_ua_clear(struct pvs_lun *lun, uint64_t initiator, enum pvs_sense_reason ua);
/* Pending UA bitmap of @initiator (0 if it has no slot); for tests and tracing. */
uint32_t pvsi_ua_pending(struct pvs_lun *lun, uint64_t initiator);

/* pr.c: RESERVATION CONFLICT or PVS_SR_OK for this command from this initiator. */
int pvsi_pr_check(struct pvs_lun *lun, struct pvs_req *req, const struct pvsi_opcode *op);
void pvsi_pr_nexus_loss(struct pvs_lun *lun, uint64_t initiator);
void pvsi_pr_lun_reset(struct pvs_lun *lun);

/* tmf.c */
/* @tmf's last affected request completed: run done(), then any TMF chained behind it. */
void pvsi_tmf_finish(struct pvs_tmf *tmf);
/* Abort (no TMF waits) every task of @initiator but @except (PREEMPT AND ABORT). */
void pvsi_tmf_abort_nexus(struct pvs_lun *lun, uint64_t initiator, const struct pvs_req *except);

/* handlers living in their family's file, referenced by opcodes.c */
int pvsi_spc_test_unit_ready(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_request_sense(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_inquiry(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_mode_sense(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_mode_select(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_report_supported_opcodes(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_spc_report_luns(struct pvs_lun *lun, struct pvs_req *req); /* LUN 0 only, when unmapped */
int pvsi_sbc_start_stop(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_prevent_allow(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_start_stop(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_prevent_allow(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_read(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_read_toc(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_get_configuration(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_gesn(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_read_disc_info(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_read_track_info(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_set_cd_speed(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_mmc_mechanism_status(struct pvs_lun *lun, struct pvs_req *req);
/* spc.c asks cdrom.c for the mode page of CD capabilities (2Ah); returns its length. */
size_t pvsi_mmc_page_caps(const struct pvs_lun *lun, int pc, uint8_t *p);
int pvsi_sbc_read_capacity(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_read_capacity16(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_read(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_write(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_verify(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_compare_and_write(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_prefetch(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_get_lba_status(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_sync_cache(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_unmap(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_sbc_write_same(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_pr_reserve(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_pr_release(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_pr_in(struct pvs_lun *lun, struct pvs_req *req);
int pvsi_pr_out(struct pvs_lun *lun, struct pvs_req *req);

/* ---- worker internals (worker.c) ----
 * A worker belongs to one thread and nothing here locks: every call, and
 * every callback, happens on that thread.
 */
struct io_uring_sqe;

/*
 * A zeroed SQE for the caller to prep; its CQE calls pvsi_store_done(@req,
 * cqe->res), or is dropped when @req is NULL (cancels).  A full SQ is
 * submitted to make room.  NULL only when the kernel takes nothing more
 * (CQ overflow): the caller must then fail the request itself.  Queued SQEs
 * go to the kernel on pvs_worker_flush/poll/wait, so everything an SQE
 * points to (iovecs included) must stay valid until its completion.
 */
struct io_uring_sqe *pvsi_worker_sqe(struct pvs_worker *w, struct pvs_req *req);
/* Submit queued SQEs now; returns the number submitted or -errno. */
int pvsi_worker_submit(struct pvs_worker *w);

/*
 * An operation that is not a request's store stage (an sg device's header
 * write or answer read, on the deferred ring below): its CQE calls @done
 * with cqe->res.  Embed it in storage that lives until that CQE, as for
 * pvsi_worker_sqe().
 */
struct pvsi_worker_op {
	void (*done)(struct pvsi_worker_op *op, int res);
};
/*
 * The worker's second io_uring, made on first use: IORING_SETUP_DEFER_TASKRUN
 * (Linux 6.1), so that what io_uring retries from task work (a read that
 * found no sg answer yet) runs only inside the worker's own io_uring_enter(),
 * as a 64-bit system call.  Without it such a retry can run on the way back
 * from an interrupt, and on a kernel with x32 support sg then answers in the
 * 32-bit sg_io_hdr layout (docs/performance.md).  0 or -errno (no such
 * kernel).  Its task work runs in a poll round after
 * pvsi_worker_poke_deferred(), which the owner calls when an fd its
 * operations wait on polls ready.
 */
int pvsi_worker_use_deferred(struct pvs_worker *w);
/* An SQE of the deferred ring for @op (NULL: no CQE handler, e.g. a cancel). */
struct io_uring_sqe *pvsi_worker_sqe_deferred(struct pvs_worker *w, struct pvsi_worker_op *op);
void pvsi_worker_poke_deferred(struct pvs_worker *w);
/*
 * An fd that operations of the deferred ring wait on (an sg device read
 * through it): in the epoll set only to wake the transport, no callback.
 * Its readiness means task work for the deferred ring, which the next poll
 * round runs; when every fd of the set is such, the round needs no
 * epoll_wait of its own.  Remove with pvsi_worker_del_fd().  0 or -errno
 * (-EINVAL before pvsi_worker_use_deferred()).
 */
int pvsi_worker_add_wake_fd(struct pvs_worker *w, int fd);
/* The user_data of @op's SQEs, for an IORING_OP_ASYNC_CANCEL. */
uint64_t pvsi_worker_op_tag(const struct pvsi_worker_op *op);
/*
 * Storage that outlives its owner until its operations' CQEs come (a
 * closed sg LUN's): +1 when orphaned, -1 when its last CQE came.
 * pvs_worker_free() reaps until none is left, so that no CQE lands in
 * freed memory.
 */
void pvsi_worker_linger(struct pvs_worker *w, int delta);

/* Another fd (an sg device) in the worker's epoll set; @fn runs from poll/wait. */
typedef void (*pvsi_worker_fd_fn)(void *opaque, uint32_t events);
int pvsi_worker_add_fd(struct pvs_worker *w, int fd, uint32_t events, pvsi_worker_fd_fn fn,
                       void *opaque);
/* Safe from inside any fd callback, including @fd's own. */
void pvsi_worker_del_fd(struct pvs_worker *w, int fd);

/* Big-endian helpers for CDBs and parameter data. */
static inline uint16_t pvsi_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t pvsi_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t pvsi_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t pvsi_be64(const uint8_t *p)
{
	return (uint64_t)pvsi_be32(p) << 32 | pvsi_be32(p + 4);
}
static inline void pvsi_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void pvsi_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void pvsi_put_be64(uint8_t *p, uint64_t v)
{
	pvsi_put_be32(p, (uint32_t)(v >> 32));
	pvsi_put_be32(p + 4, (uint32_t)v);
}

#endif
