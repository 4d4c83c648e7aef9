/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xlp.h - internals of the xl front for PVSCSI (xl-pvscsi): the scsi-* verbs,
 * domU.cfg vscsi=, and the restore/migrate re-resolution of p-devs.
 *
 * Layout (one file per command family, as in xl):
 *   cfg.c     one vscsi= entry / scsi-attach argument set <-> struct xlp_entry;
 *             the outer list through libxlutil (xlu_cfg_*)
 *   pdev.c    an entry's PDEV -> what is written to xenstore (p-dev, p-devname)
 *   xsops.c   xenstore on libxenstore behind xen/xs.h's ops; write plans
 *   state.c   reading domains, controllers (vhosts) and devices from xenstore
 *   jsontree.c JSON through yajl (libxl's saved configuration, --json output)
 *   saved.c   the domain's saved configuration (libxl userdata "libxl-json",
 *             c_info.xsdata) and save-image headers
 *   table.c   text tables whose columns fit their cells (scsi-list, scsi-assignable-list)
 *   xml.c     libvirt's <hostdev type='scsi'> and <disk> elements through libxml2
 *             (scsi-attach --xml, scsi-list --xml), and a libvirt <domain>'s devices
 *   libvirt.c scsi-libvirt-hook: libvirt's libxl hook (/etc/libvirt/hooks/libxl.d/)
 *   lock.c    the host-wide lock
 *   monitor.c the per-domain monitor that re-attaches devices after a reboot
 *   attach.c detach.c list.c resolve.c create.c   the commands
 *   medium.c  scsi-insert, scsi-eject: a cdrom: drive's medium
 *   group.c   whole-bus and whole-target groups of LUNs
 *   migrate.c the migrate-receive stream proxy
 *   front.c   the command table, option parsing, and the pass-through to Xen's xl
 *
 * Every command takes a struct xlp_ctx, which holds the xenstore connection,
 * the sysfs/dev roots and the seams the unit tests replace.  Messages go to
 * ctx->out / ctx->err; functions return 0 or a negative errno after printing
 * what went wrong, so callers only map the result to an exit status.
 */
#ifndef XLP_H
#define XLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "pvscsi/resolve.h"
#include "pvscsi/spec.h"
#include "xs.h"
#include "xs_nodes.h"

#define XLP_PATH_MAX 512
#define XLP_ERR_MAX  2048

/* ------------------------------------------------------------------ context */

struct xlp_ctx;

struct xlp_ctx {
	struct pvx_xs xs;
	bool xs_open;
	struct pvs_resolver res; /* NULL members: the real /sys and /dev */
	uint32_t be_domid;       /* the backend domain (pvscsid's); 0 */
	const char *xen_lib_dir; /* libxl's userdata directory, "/var/lib/xen" */
	const char *xen_log_dir; /* xl's logs, "/var/log/xen" (the monitor appends to them) */
	const char *lock_path;   /* the host-wide lock file */
	const char *run_dir;     /* the monitors' lock files, "/run" */
	const char *xl_real;     /* Xen's own xl */
	const char *argv0;       /* handed to Xen's xl as its argv[0] */
	FILE *in;                /* scsi-attach --xml - */
	FILE *out, *err;
	const char *prefix; /* put before every message on err ("scsi-attach: ") */
	bool dry_run;
	bool missing_ok;         /* restore/migrate/scsi-resolve: drop devices not found */
	bool force;              /* scsi-insert/scsi-eject --force */
	unsigned int timeout_ms; /* handshakes with backend and frontend */
	unsigned int poll_ms;
	unsigned int grace_ms; /* how long a monitor waits for its domain to come back */
	int lock_fd;           /* -1 when not held */
	unsigned int lock_depth;
	/*
	 * Seams.  The real ones look at /proc, libxl, sleep and run Xen's xl;
	 * the unit tests play backend and frontend from sleep_ms.
	 */
	int (*backend_running)(struct xlp_ctx *c);               /* 1 yes, 0 no */
	int (*domain_paused)(struct xlp_ctx *c, uint32_t domid); /* 1, 0, or -errno */
	void (*sleep_ms)(struct xlp_ctx *c, unsigned int ms);
	/* Run Xen's xl with @argv (argv[0] included), wait; its exit status or -errno. */
	int (*run_xl)(struct xlp_ctx *c, char *const argv[]);
	/* Start the reboot monitor of @domid in the background: 0 or -errno. */
	int (*spawn_monitor)(struct xlp_ctx *c, uint32_t domid);
	/*
	 * Pause (counted by Xen: each pause needs its unpause) or unpause
	 * @domid; after a pause *@ran_ns (if non-NULL) is the CPU time it has
	 * had so far.  0 or -errno.
	 */
	int (*pause_domain)(struct xlp_ctx *c, uint32_t domid, bool pause, uint64_t *ran_ns);
	void *lx, *lx_log; /* the real pause_domain's libxl context and logger */
	void *hook_arg;
};

/* Defaults for everything, the real seams, no xenstore connection yet. */
void xlp_ctx_init(struct xlp_ctx *c);
/* Connect to the real xenstore if not connected yet.  0 or -errno (message printed). */
int xlp_ctx_connect(struct xlp_ctx *c);
void xlp_ctx_fini(struct xlp_ctx *c);

/* The real seams (exported so that tests can restore them). */
void xlp_libxl_free(struct xlp_ctx *c); /* pause_domain's context, if any */
int xlp_backend_running_proc(struct xlp_ctx *c);
int xlp_domain_paused_libxl(struct xlp_ctx *c, uint32_t domid);
void xlp_sleep_real(struct xlp_ctx *c, unsigned int ms);
int xlp_run_xl_real(struct xlp_ctx *c, char *const argv[]);
int xlp_spawn_monitor_real(struct xlp_ctx *c, uint32_t domid);
int xlp_pause_domain_libxl(struct xlp_ctx *c, uint32_t domid, bool pause, uint64_t *ran_ns);

/* Whether /proc (under @proc_root) shows a process whose comm is @name. */
bool xlp_proc_has(const char *proc_root, const char *name);

/*
 * snprintf for paths and messages built from bounded parts (GCC cannot see
 * the bounds and warns about every one).  Never overflows; truncates.
 */
__attribute__((format(printf, 3, 4))) int xlp_snprintf(char *buf, size_t len, const char *fmt, ...);

__attribute__((format(printf, 2, 3))) void xlp_errf(struct xlp_ctx *c, const char *fmt, ...);
/* A parser's refusal: the message into @err (if any room), and -EINVAL. */
__attribute__((format(printf, 3, 4))) int xlp_bad(char *err, size_t errlen, const char *fmt, ...);

/*
 * The options of a verb that changes the store: -N/--dryrun and
 * -h/--help (and, with @missing_ok_opt, --vscsi-missing-ok/--missing-ok),
 * then exactly @operands operands.  Returns -1 to go on (the operands start
 * at optind), else the exit status: 0 after --help, 2 for a usage error
 * (@usage printed on c->err).
 */
#define XLP_OPT_MISSING_OK 1u /* --vscsi-missing-ok / --missing-ok: c->missing_ok */
#define XLP_OPT_FORCE      2u /* -f / --force: c->force */
int xlp_verb_opts(struct xlp_ctx *c, int argc, char **argv, int operands, unsigned int extra,
                  void (*usage)(FILE *));
__attribute__((format(printf, 2, 3))) void xlp_outf(struct xlp_ctx *c, const char *fmt, ...);

/* ------------------------------------------------------------------- entries */

enum xlp_kind {
	XLP_HOST = 0, /* a host SCSI LUN, passed through */
	XLP_FILE,     /* file:/path, an emulated LUN */
	XLP_MEM,      /* mem:SIZE, an emulated RAM LUN */
	XLP_CDROM,    /* cdrom:[/image.iso], an emulated CD-ROM drive */
	XLP_ISCSI,    /* iscsi://HOST/IQN/LUN, a LUN of an iSCSI target, passed through */
};

#define XLP_SPEC_MAX 1100

/* A file: LUN's cache= option word: unset, or either value named. */
enum xlp_cache {
	XLP_CACHE_UNSET,
	XLP_CACHE_WRITEBACK, /* the default, buffered through dom0's page cache */
	XLP_CACHE_NONE,      /* O_DIRECT: the guest's cache is the only one */
};

/* The ",cache=..." suffix of @c as a spec carries it, "" when unset. */
const char *xlp_cache_opt(enum xlp_cache c);

/* One device as the administrator asked for it (a vscsi= entry, or scsi-attach's arguments). */
struct xlp_entry {
	enum xlp_kind kind;
	char pdev[XLP_SPEC_MAX]; /* PDEV without its options ("file:/x", "/dev/sdb") */
	struct pvs_hctl vdev;
	bool ro, feature_host, shareable;
	uint32_t bs;          /* file:/mem: block size, 0 for the default */
	enum xlp_cache cache; /* file: only; kept as written so a saved spec reads back the same */
	bool inline_writes;   /* file: only: writes=inline (writes=io_uring is the default) */
	char chap[256];       /* iscsi: the chap= file with USER's secret; "" none */
};

/*
 * Parse "PDEV,VDEV[,OPTION...]" (PDEV's own options, for file:/mem:, may sit
 * between PDEV and VDEV: "file:/i.img,ro,0:0:0:0").  0, or -EINVAL with
 * one line in @err saying what is wrong.
 */
int xlp_entry_parse(const char *text, struct xlp_entry *e, char *err, size_t errlen);
/* scsi-attach's form: PDEV and "VDEV[,OPTION...]" as two arguments. */
int xlp_entry_parse2(const char *pdev, const char *vdev_opts, struct xlp_entry *e, char *err,
                     size_t errlen);
/* The canonical text of @e (parseable back), with @pdev in place of e->pdev if non-NULL. */
int xlp_entry_format(const struct xlp_entry *e, const char *pdev, char *buf, size_t len);
/* "H:C:T:L" */
void xlp_hctl_str(const struct pvs_hctl *h, char buf[48]);
bool xlp_hctl_eq(const struct pvs_hctl *a, const struct pvs_hctl *b);

/* The vscsi= list of a domU.cfg (through libxlutil). */
struct xlp_group;
struct xlp_cfg_item {
	char *text;
	int line; /* 1-based line in the file, 0 when not found */
	struct xlp_entry e;
	struct xlp_group *group; /* a whole bus or target ("...:*:*"): e unused */
};
struct xlp_cfg {
	char *name; /* name=, or NULL */
	struct xlp_cfg_item *items;
	size_t n;
	bool has_vscsi; /* a vscsi= key exists (possibly empty) */
};
/*
 * Read @file (NULL: none) plus @extra ("key=value\n" lines as given to xl
 * create, may be NULL) with xl's own parser; parse every vscsi= entry.
 * -EIO when the file cannot be read or parsed (xl's message in @err);
 * -EINVAL for a vscsi= that is not a list of strings or a bad entry, with
 * "FILE:LINE: vscsi entry 'TEXT': PROBLEM" in @err.
 */
int xlp_cfg_read(const char *file, const char *extra, struct xlp_cfg *out, char *err,
                 size_t errlen);
/* The whole of @f, NUL-terminated; NULL with errno set (EFBIG past @max bytes, 0: no limit). */
char *xlp_read_stream(FILE *f, size_t max, size_t *len);
/* The same from memory (a config carried in a save image). */
int xlp_cfg_read_data(const char *data, size_t len, const char *what, struct xlp_cfg *out,
                      char *err, size_t errlen);
void xlp_cfg_free(struct xlp_cfg *c);

/* --------------------------------------------------------------------- p-dev */

/* An entry resolved on this host: what goes to xenstore. */
struct xlp_dev {
	struct xlp_entry e;
	char p_dev[XLP_SPEC_MAX]; /* backend p-dev: current "H:C:T:L[,ro]", "file:/abs[,ro]..." */
	char p_devname[XLP_SPEC_MAX];  /* stable identity (naa.X:L, wwid:..., by-id, file path) */
	char by_id[PVS_PDEV_PATH_MAX]; /* "/dev/disk/by-id/NAME" or "" */
	struct pvs_hctl hctl;          /* current host H:C:T:L (XLP_HOST) */
	char sg[PVS_PDEV_PATH_MAX];    /* current /dev/sgN (XLP_HOST), "" if none */
	dev_t st_dev;                  /* the file (XLP_FILE) */
	ino_t st_ino;
	bool no_identity; /* XLP_HOST without a stable identity (a warning was printed) */
};

/* A read-only host LUN's p-dev ends with this ("2:0:1:0,ro"); pvscsid strips it. */
#define XLP_PDEV_RO ",ro"
/* A host LUN's p-dev without its ",ro" (what pvs_resolve takes); others unchanged. */
/* Whether a stored p-dev names an emulated LUN (file:, mem:), by the core's spec parser. */
bool xlp_pdev_emulated(const char *p_dev);
/*
 * A cdrom: PDEV ("cdrom:" or "cdrom:/path") on this host: @p_dev and
 * @p_devname get "cdrom:REALPATH" ("cdrom:" for an empty drive).  The image
 * must be a readable regular file of a positive multiple of 2048 bytes or
 * a block device.  0, or -errno with one line naming the image in @err.
 */
int xlp_cdrom_resolve(const char *pdev, char *p_dev, size_t plen, char *p_devname, size_t nlen,
                      char *err, size_t errlen);
void xlp_pdev_base(const char *p_dev, char *buf, size_t len);

/*
 * Resolve @e on this host.  Errors name the PDEV, what was tried and why it
 * is refused (partition, not SCSI, missing file...).
 * 0 or -errno with one line in @err.
 */
int xlp_dev_resolve(struct xlp_ctx *c, const struct xlp_entry *e, struct xlp_dev *d, char *err,
                    size_t errlen);

/* ------------------------------------------------------------ xenstore state */

struct xlp_bdev {
	unsigned int n; /* dev-N */
	char p_dev[XLP_SPEC_MAX], p_devname[XLP_SPEC_MAX], v_dev[64];
	int state;                     /* -1 if absent */
	bool shareable;                /* from the toolstack record */
	char opts[128];                /* the toolstack record's options ("ro,shareable"), "" */
	char pdev_given[XLP_SPEC_MAX]; /* PDEV as typed, from the toolstack record, "" */
};

struct xlp_vhost {
	uint32_t domid, vhost;
	int state;    /* backend state, -1 absent */
	int fe_state; /* frontend state, -1 absent */
	bool feature_host;
	struct xlp_bdev *devs;
	size_t ndevs;
};

/*
 * Where backend device @b's LUN is on this host now, as attach's holder
 * check, scsi-list and scsi-assignable-list see it: its p-dev (",ro" aside)
 * resolved.  0 with *@hctl, and *@pdt its peripheral device type (-1
 * unknown) when @pdt is non-NULL; XLP_BDEV_EMULATED for a file:/mem: LUN;
 * -ENOENT without a p-dev; else pvs_resolve()'s -errno.
 */
#define XLP_BDEV_EMULATED 1
int xlp_bdev_hctl(struct xlp_ctx *c, const struct xlp_bdev *b, struct pvs_hctl *hctl, int *pdt);

/* The backend directory of (@domid, @vhost) and friends. */
void xlp_be_path(const struct xlp_ctx *c, uint32_t domid, uint32_t vhost, char *buf, size_t len);
void xlp_fe_path(uint32_t domid, uint32_t vhost, char *buf, size_t len);
void xlp_rec_path(uint32_t domid, uint32_t vhost, char *buf, size_t len);

/* Find a domain by name or number (as xl does): 0 and *@domid, -ENOENT or -errno. */
int xlp_domain_find(struct xlp_ctx *c, const char *name_or_id, uint32_t *domid);
/* Connect to the store and find DOMAIN, or say "unknown domain": 0, or exit status 1. */
int xlp_connect_domain(struct xlp_ctx *c, const char *name, uint32_t *domid);
bool xlp_domain_exists(struct xlp_ctx *c, uint32_t domid);
/* Domain name (malloc'd) or NULL. */
char *xlp_domain_name(struct xlp_ctx *c, uint32_t domid);
/* Domain UUID ("/vm/<uuid>" -> "<uuid>") into @buf; -ENOENT if unknown. */
int xlp_domain_uuid(struct xlp_ctx *c, uint32_t domid, char *buf, size_t len);
/* Every domain id under /local/domain, ascending (malloc'd). */
int xlp_domain_list(struct xlp_ctx *c, uint32_t **ids, size_t *n);

/* Every controller of @domid on our backend, by vhost number (malloc'd array). */
int xlp_vhosts_read(struct xlp_ctx *c, uint32_t domid, struct xlp_vhost **out, size_t *n);
void xlp_vhosts_free(struct xlp_vhost *v, size_t n);
/*
 * Read @domid's controllers into *@v (the caller frees them) and find the
 * device at @vdev: 0, or -errno after saying what was not found (@name: the
 * domain's, for the message).
 */
int xlp_dev_at(struct xlp_ctx *c, uint32_t domid, const char *name, const struct pvs_hctl *vdev,
               struct xlp_vhost **v, size_t *nv, struct xlp_vhost **vh, struct xlp_bdev **b);
/* The device at @vdev among @v: true and its controller and device (either may be NULL). */
bool xlp_vhosts_find(struct xlp_vhost *v, size_t nv, const struct pvs_hctl *vdev,
                     struct xlp_vhost **vh, struct xlp_bdev **b);
/* Domains that have a directory under our backend/vscsi, ascending. */
int xlp_backend_domids(struct xlp_ctx *c, uint32_t **ids, size_t *n);
int xlp_read_int(struct xlp_ctx *c, const char *path, int dflt);

/* ------------------------------------------------------------- write plans */

enum xlp_op_kind { XLP_OP_WRITE, XLP_OP_MKDIR, XLP_OP_RM, XLP_OP_PERMS };

struct xlp_op {
	enum xlp_op_kind kind;
	char *path;
	char *val;
	struct pvx_xs_perm perms[3];
	unsigned int nperms;
};

/* An ordered list of xenstore changes, applied in one transaction or printed (-N). */
struct xlp_plan {
	struct xlp_op *ops;
	size_t n, cap;
	int oom;
};

void xlp_plan_init(struct xlp_plan *p);
void xlp_plan_free(struct xlp_plan *p);
__attribute__((format(printf, 3, 4))) void xlp_plan_write(struct xlp_plan *p, const char *path,
                                                          const char *fmt, ...);
void xlp_plan_mkdir(struct xlp_plan *p, const char *path);
void xlp_plan_rm(struct xlp_plan *p, const char *path);
/* Owner @owner with default @dflt (PVX_XS_PERM_*), and @other gets @operm (if @nperms == 2). */
void xlp_plan_perms(struct xlp_plan *p, const char *path, uint32_t owner, uint32_t dflt,
                    uint32_t other, uint32_t operm, unsigned int nperms);
/* One line per change: "write PATH = \"VALUE\"", "mkdir PATH", "rm PATH", "chmod PATH n0 r5". */
void xlp_plan_print(const struct xlp_plan *p, FILE *f);
/* Apply in one transaction (retried on EAGAIN).  0 or -errno (message printed). */
int xlp_plan_apply(struct xlp_ctx *c, const struct xlp_plan *p);

/* --------------------------------------------------------------------- lock */

/* Take the host-wide lock (blocking).  0 or -errno (message printed).  Nesting is counted. */
int xlp_lock(struct xlp_ctx *c);
void xlp_unlock(struct xlp_ctx *c);

/* -------------------------------------------------------------- text tables */

/* Rows of @ncols strings, printed with every column as wide as its widest cell. */
struct xlp_table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols, row after row */
	int oom;      /* a row or cell was lost to allocation failure */
};

void xlp_table_init(struct xlp_table *t, size_t ncols);
/* Append a row: @cells holds ncols strings (NULL: ""), copied. */
void xlp_table_row(struct xlp_table *t, const char *const *cells);
/* Columns one blank apart, the last unpadded; the first row is the header. */
void xlp_table_print(const struct xlp_table *t, FILE *f);
void xlp_table_free(struct xlp_table *t);

/* --------------------------------------------------------------------- JSON */

/*
 * JSON is yajl's (jsontree.c): yajl_tree's nodes (yajl_val) for libxl's
 * saved configuration, yajl_gen for everything written.
 */

#define XLP_JSON_MAX_DEPTH 64

/*
 * Parse a whole JSON text (trailing blanks and NULs allowed) into a tree
 * the caller frees with yajl_tree_free().  Refused besides what yajl
 * refuses: nesting deeper than XLP_JSON_MAX_DEPTH, a NUL inside a string
 * or key, comments.  0, or -EINVAL/-ENOMEM with "JSON at byte N: WHY" in
 * @err (*@out NULL).
 */
int xlp_json_parse(const char *text, size_t len, yajl_val *out, char *err, size_t errlen);
/* Generate @j (NULL: null) into @g; numbers are written as their text. */
yajl_gen_status xlp_json_gen(yajl_gen g, yajl_val j);
/* yajl_gen_string of a C string (NULL: ""). */
yajl_gen_status xlp_json_gen_str(yajl_gen g, const char *s);
/* Compact JSON text of @j, malloc'd; NULL on allocation failure. */
char *xlp_json_emit(yajl_val j);
/* A generator printing to @f as it goes (beautified as xl's own JSON with @pretty); NULL on OOM. */
yajl_gen xlp_json_gen_file(FILE *f, bool pretty);
/* A JSON string literal for @s (NULL: "") on @f. */
void xlp_json_put_str(FILE *f, const char *s);
/* New nodes to put into a tree (NULL on allocation failure). */
yajl_val xlp_json_new_str(const char *s);
yajl_val xlp_json_new_obj(void);
/* Member @key of an object (the first, as yajl_tree_get), or NULL (also when @obj is none). */
yajl_val xlp_json_get(yajl_val obj, const char *key);
/* Add or replace @key of @obj (takes @val).  0, -EINVAL (no object) or -ENOMEM; @val freed on
 * error. */
int xlp_json_set(yajl_val obj, const char *key, yajl_val val);
/* Remove @key of @obj: 0, -ENOENT, -EINVAL (no object). */
int xlp_json_del(yajl_val obj, const char *key);

/* ------------------------------------------------------ saved configuration */

/*
 * One saved device: what travels in the domain's configuration
 * (c_info.xsdata keys "pvscsi/VHOST/dev-N/{spec,by-id,pdev}").  @spec is a
 * vscsi= entry whose PDEV is the stable identity.
 */
struct xlp_saved {
	uint32_t vhost;
	unsigned int n;
	char spec[XLP_SPEC_MAX + 128];
	char by_id[PVS_PDEV_PATH_MAX];
	char pdev[XLP_SPEC_MAX];
};

struct xlp_saved_list {
	struct xlp_saved *v;
	size_t n;
};

void xlp_saved_free(struct xlp_saved_list *l);
/* From a libxl_domain_config JSON tree: its c_info.xsdata "pvscsi/..." keys, sorted. */
int xlp_saved_from_json(yajl_val dcfg, struct xlp_saved_list *out, char *err, size_t errlen);
/* Replace every "pvscsi/..." key of c_info.xsdata in @dcfg by @l. */
int xlp_saved_to_json(yajl_val dcfg, const struct xlp_saved_list *l);
/* Saved record of a resolved device. */
void xlp_saved_of_dev(const struct xlp_dev *d, uint32_t vhost, unsigned int n, struct xlp_saved *s);
/*
 * Devices kept in the saved configuration without being attached (@placed
 * false) keep their dev-N unless an attached one (or an earlier kept one)
 * has it; then they get the lowest free one.  Saved dev-N and backend dev-N
 * are the same for attached devices, and no two records share a key.
 */
void xlp_saved_renumber(struct xlp_saved_list *l, const bool *placed);

/* libxl's userdata file names for @domid/@uuid. */
void xlp_userdata_path(const struct xlp_ctx *c, uint32_t domid, const char *uuid, const char *wh,
                       const char *id, char *buf, size_t len);
/*
 * Read-modify-write the domain's libxl-json under libxl's userdata lock:
 * @fn gets the parsed configuration and changes it; it is written back
 * (atomically, as libxl does) when @fn returns 0.  -ENOENT when the domain
 * has no saved configuration.
 */
int xlp_userdata_update(struct xlp_ctx *c, uint32_t domid, int (*fn)(yajl_val dcfg, void *arg),
                        void *arg);
/* Read the domain's saved devices. */
int xlp_userdata_saved(struct xlp_ctx *c, uint32_t domid, struct xlp_saved_list *out);
/* Add/replace (@s non-NULL) or remove (@s NULL) saved device (@vhost, @n). */
int xlp_userdata_set_dev(struct xlp_ctx *c, uint32_t domid, uint32_t vhost, unsigned int n,
                         const struct xlp_saved *s);
/* Replace every saved device by @l. */
int xlp_userdata_set_all(struct xlp_ctx *c, uint32_t domid, const struct xlp_saved_list *l);

/*
 * Read the configuration an xl save image carries.  *@json is set when it is
 * libxl JSON (then @out gets its xsdata devices and *@name its c_info.name);
 * otherwise the xl config text is parsed for vscsi=.  0 or -errno with @err.
 * Either way @out is sorted by vhost, then n.
 */
int xlp_saveimage_read(const char *file, struct xlp_saved_list *out, char **name, char *err,
                       size_t errlen);

/* --------------------------------------------------------------- commands */

/*
 * Poll @done every ctx->poll_ms until it returns 1 (then 0), a negative
 * errno (returned), or ctx->timeout_ms passes (-ETIMEDOUT).
 */
int xlp_wait(struct xlp_ctx *c, int (*done)(struct xlp_ctx *c, void *arg), void *arg);

struct xlp_attach_opts {
	bool no_wait;      /* do not wait for the frontend (domain creation: it is paused) */
	bool quiet;        /* no progress lines */
	bool no_saved;     /* do not touch the saved configuration (the caller does) */
	bool same_uuid_ok; /* the same guest may hold the PDEV (localhost migration) */
	bool group_member; /* a member of a group (group.c): inside the group's v-dev range */
	/*
	 * A new controller: wait only until pvscsid has taken it, as for a
	 * paused domain, even if the domain runs (a guest libvirt started is
	 * still booting: its xen-scsifront connects when it comes).
	 */
	bool backend_only;
};

/*
 * Attach @d to @domid.  Takes the lock itself if the caller does not hold it.
 * On success *@vhost_out and *@n_out (either may be NULL) name the new dev.
 */
int xlp_attach_dev(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                   const struct xlp_attach_opts *o, uint32_t *vhost_out, unsigned int *n_out);
/* Checks an attachment of @d to @domid would pass (conflicts, v-dev, feature-host). */
int xlp_attach_check(struct xlp_ctx *c, uint32_t domid, const struct xlp_dev *d,
                     const struct xlp_attach_opts *o);
/* Detach v-dev @vdev from @domid. */
int xlp_detach_vdev(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev);
/*
 * Load @image (NULL: eject) into the cdrom: drive at @vdev (medium.c);
 * @force overrides the guest's PREVENT ALLOW MEDIUM REMOVAL.  0 or -errno
 * (message printed; the drive and p-dev unchanged).
 */
int xlp_medium_change(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev,
                      const char *image, bool force);
/*
 * Groups (group.c): a whole bus or a whole target of a SCSI host,
 * "ADAPTER:B:*:*,H:C:*:*" or "ADAPTER:B:T:*,H:C:T':*", expanded into one
 * ordinary device per LUN and kept in the toolstack record as group-K.
 */
struct xlp_group {
	char pdev[XLP_SPEC_MAX];    /* as given */
	char adapter[XLP_SPEC_MAX]; /* scsi_hostN, pci_..., fc_host/..., or a host number */
	uint32_t bus, target;       /* target only when !any_target */
	bool any_target;            /* a whole bus */
	struct pvs_hctl vdev;       /* host, channel (and target) in the guest */
	char opts[128];             /* options as given after VDEV */
	bool ro, feature_host, shareable;
	unsigned int k; /* group-K, once recorded */
};
/* Whether VDEV (before its options) has a '*': a group. */
bool xlp_group_syntax(const char *vdev_opts);
int xlp_group_parse(const char *pdev, const char *vdev_opts, struct xlp_group *g, char *err,
                    size_t errlen);
/* "ADAPTER:B:*:*" / "H:C:*:*" (or with the targets). */
void xlp_group_str(const struct xlp_group *g, char *pdev, size_t plen, char *vdev, size_t vlen);
bool xlp_group_covers(const struct xlp_group *g, const struct pvs_hctl *vdev);
/* The LUNs of @g on this host now, as entries at their v-devs (malloc'd, sorted). */
int xlp_group_members(struct xlp_ctx *c, const struct xlp_group *g, struct xlp_entry **out,
                      size_t *n, char *err, size_t errlen);
int xlp_groups_read(struct xlp_ctx *c, uint32_t domid, struct xlp_group **out, size_t *n);
void xlp_groups_free(struct xlp_group *g, size_t n);
/*
 * The groups of the domain's saved configuration back in its toolstack
 * record (after a reboot, restore or migration): how many were written, or
 * -errno.
 */
int xlp_groups_restore(struct xlp_ctx *c, uint32_t domid);
/* "PDEV,VDEV" of the group whose range holds @vdev into @buf: 0, or -ENOENT. */
int xlp_group_of_vdev(struct xlp_ctx *c, uint32_t domid, const struct pvs_hctl *vdev, char *buf,
                      size_t len);
/* Attach every LUN of @g, all or none, and record it: 0 or -errno (printed). */
int xlp_group_attach(struct xlp_ctx *c, uint32_t domid, struct xlp_group *g);
/* Detach the group at @vdev ("H:C:*:*") and its members. */
int xlp_group_detach(struct xlp_ctx *c, uint32_t domid, const char *vdev);
/*
 * Under the host-wide lock: the saved groups back into the record
 * (xlp_groups_restore()), then hot-add the LUNs that appeared and
 * hot-remove the ones gone: how many changed.
 */
int xlp_groups_reconcile(struct xlp_ctx *c, uint32_t domid);
/* Remove every controller of @domid on our backend, without handshakes (failed creation). */
int xlp_remove_all(struct xlp_ctx *c, uint32_t domid);
/* Remove backend directories of domains that no longer exist. */
void xlp_gc_stale(struct xlp_ctx *c);

/*
 * Re-resolve @l on this host and attach every device to @domid (paused,
 * new): the restore/migrate step.  With ctx->missing_ok, devices not found
 * are dropped (with a warning) instead of failing.  The saved configuration
 * is rewritten with the identities found.
 */
int xlp_apply_saved(struct xlp_ctx *c, uint32_t domid, const struct xlp_saved_list *l,
                    bool same_uuid_ok);
/*
 * Resolve one saved device on this host: its identity, then its by-id link.
 * 0, or -errno with one line in @err (-ENOENT: not on this host).
 */
int xlp_saved_resolve(struct xlp_ctx *c, const struct xlp_saved *s, struct xlp_dev *d, char *err,
                      size_t errlen);
/* Resolve @l on this host without attaching: 0, or the first error (all are printed). */
int xlp_check_saved(struct xlp_ctx *c, uint32_t domid_or_none, const struct xlp_saved_list *l,
                    bool same_uuid_ok);
/*
 * migrate-receive, once the receiver says "ready": resolve and attach the
 * incoming domain's devices; 0 lets the migration go on, otherwise the
 * domain has been destroyed.
 */
int xlp_migrate_ready(struct xlp_ctx *c);

int xlp_list(struct xlp_ctx *c, uint32_t *domids, size_t n, bool json);

/* ------------------------------------------------------------- libvirt XML */

/* One device of a libvirt XML document, and where it was written (for messages). */
struct xlp_xml_item {
	struct xlp_entry e;
	char where[XLP_PATH_MAX]; /* "FILE:LINE: <hostdev>" */
};

struct xlp_xml_items {
	struct xlp_xml_item *v;
	size_t n;
};

/*
 * Parse @len bytes of @text (read from @name, for messages) as one
 * <hostdev mode='subsystem' type='scsi'>, one <disk type='file'>, or a
 * <devices> holding several; each becomes an entry as scsi-attach's
 * arguments would (docs/toolstack.md, "libvirt XML").  0, or -EINVAL (or
 * -ENOMEM) with one line in @err, "NAME:LINE: <ELEMENT>: WHAT", and no items.
 */
int xlp_xml_parse(const char *text, size_t len, const char *name, struct xlp_xml_items *out,
                  char *err, size_t errlen);
void xlp_xml_items_free(struct xlp_xml_items *l);
/*
 * scsi-attach --xml: attach every device of @file ("-": c->in) to @domid, or
 * none: all are parsed, resolved and checked first, and the ones attached
 * before a later one fails are detached again.  0 or -errno (printed).
 */
int xlp_xml_attach(struct xlp_ctx *c, uint32_t domid, const char *file);
/*
 * The same for parsed items: resolved, checked, attached with @o (NULL:
 * scsi-attach's defaults), all or none.  With @domid XLP_NO_DOMID, only
 * resolved and checked against the other domains' holders.  0 or -errno
 * (printed).
 */
int xlp_xml_attach_items(struct xlp_ctx *c, uint32_t domid, const struct xlp_xml_items *l,
                         const struct xlp_attach_opts *o);
/* The most libvirt XML read from a file or stdin. */
#define XLP_XML_MAX_INPUT (4u << 20)

/*
 * pvscsi's element in a libvirt domain's <metadata> (docs/libvirt.md):
 * <pvscsi:scsi xmlns:pvscsi="XLP_LIBVIRT_NS"> holding <hostdev>, <disk> and
 * <vscsi>PDEV,VDEV[,OPTION...]</vscsi> elements.  Once released, an ABI.
 */
#define XLP_LIBVIRT_NS "https://github.com/pvscsi/pvscsi/libvirt/1"

/* What the libvirt hook needs of a domain's XML. */
struct xlp_xml_domain {
	char name[256], uuid[64];
	uint32_t domid;             /* <domain id='N'>, XLP_NO_DOMID when absent */
	struct xlp_xml_items items; /* <devices>' SCSI hostdevs, then the metadata's devices */
};

/*
 * Parse a libvirt <domain> document: its name, UUID, id, and every pvscsi
 * device (libvirt's other devices are skipped).  0, or -EINVAL/-ENOMEM with
 * one line in @err ("NAME:LINE: <ELEMENT>: WHAT") and no items.
 */
int xlp_xml_domain(const char *text, size_t len, const char *name, struct xlp_xml_domain *out,
                   char *err, size_t errlen);
/*
 * scsi-list --xml: @domid's devices as a <devices> element that
 * xlp_xml_attach takes back; mem: LUNs (which libvirt cannot name) are
 * left out with a warning.  0 or -errno.
 */
int xlp_xml_list(struct xlp_ctx *c, uint32_t domid);

/* ------------------------------------------------------------- reboots */

#define XLP_NO_DOMID UINT32_MAX

/*
 * The reboot monitor of one guest (monitor.c, docs/toolstack.md): it follows
 * the guest by UUID from one domain to the next (Xen's xl re-creates a
 * rebooted guest as a new domain) and attaches its saved devices to each
 * new one before it runs.
 */
struct xlp_monitor {
	char uuid[64];
	char name[256];        /* for messages: the name it had when the monitor began */
	uint32_t domid;        /* the domain followed now, XLP_NO_DOMID between two */
	unsigned int gone_ms;  /* time without a domain of this UUID */
	unsigned int restarts; /* domains taken over after the first */
};

/* Start following @domid.  0, or -ENOENT (no such domain or no UUID, message printed). */
int xlp_monitor_init(struct xlp_ctx *c, struct xlp_monitor *m, uint32_t domid);
/*
 * Look again (after a watch event, or @elapsed_ms after the last look): a
 * new domain of the guest gets its devices.  1 to go on following, 0 when
 * no domain of the guest came back within ctx->grace_ms.
 */
int xlp_monitor_step(struct xlp_ctx *c, struct xlp_monitor *m, unsigned int elapsed_ms);
/* The monitor's lock for @uuid: a held fd, -EBUSY when another monitor has it, or -errno. */
int xlp_monitor_lock(struct xlp_ctx *c, const char *uuid);
/*
 * A stream for the monitor's messages: each line goes to syslog (@prio) and
 * is appended, time-stamped, to xl's log of domain @name
 * (ctx->xen_log_dir/xl-NAME.log), and to stderr with @to_stderr.
 */
FILE *xlp_log_open(struct xlp_ctx *c, const char *name, int prio, bool to_stderr);
/* Watch @introduceDomain/@releaseDomain and step until the guest is gone for good. */
int xlp_monitor_run(struct xlp_ctx *c, struct xlp_monitor *m);
/*
 * After a command left @domid with SCSI devices: make sure a monitor follows
 * it (ctx->spawn_monitor; a warning if that fails).  Nothing with -N.
 */
void xlp_monitor_ensure(struct xlp_ctx *c, uint32_t domid);

/*
 * The commands, argv[0] being the verb.  Exit status; create, restore and
 * migrate-receive return -1 when the command has nothing for the front to
 * do (no vscsi devices), and the front then runs Xen's xl unchanged.
 */
int xlp_cmd_attach(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_detach(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_insert(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_eject(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_list(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_assignable_list(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_resolve(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_monitor(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_libvirt_hook(struct xlp_ctx *c, int argc, char **argv);
int xlp_cmd_create(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal);
int xlp_cmd_restore(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal);
int xlp_cmd_migrate_receive(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal);

/* The front: what /usr/local/sbin/xl runs. */
int xlp_front_main(int argc, char **argv);
/*
 * Replace this process by Xen's xl with @argv (argv[0] kept).  Returns only
 * on failure: 1 when @xl_real is NULL (Xen's xl not found; the line saying
 * where it was looked for is printed), 127 when the exec fails.
 */
int xlp_exec_real(const char *xl_real, char **argv);

/* Where Xen's xl is looked for; the unit tests point it into a fake tree. */
struct xlp_xl_where {
	const char *root; /* put before /sys/hypervisor, /usr/lib and /usr/sbin: "" */
	const char *self; /* this program, never run as Xen's xl: "/proc/self/exe" */
};
extern struct xlp_xl_where xlp_xl_where;

/*
 * Find Xen's xl as Debian's /usr/sbin/xl (xen-utils-wrapper) does, without
 * ever choosing this program itself: $XL_REAL if set (and only it); else
 * the running Xen's /usr/lib/xen-MAJOR.MINOR/bin/xl (/sys/hypervisor/version),
 * /usr/sbin/xl.distrib (dpkg-divert's name for the original), /usr/sbin/xl
 * (Debian's wrapper skipped: it is this same rule, and could only fail
 * where the rule did), and, with no Xen running, the newest
 * /usr/lib/xen-X.Y/bin/xl installed.  0 with the path in @path, or -ENOENT with one
 * line in @err ("xl: ...", no newline) naming every path tried and XL_REAL.
 */
int xlp_xl_find(const struct xlp_xl_where *w, char *path, size_t len, char *err, size_t errlen);
/* xlp_xl_find() on xlp_xl_where: Xen's xl (a static buffer), or NULL when none is found. */
const char *xlp_xl_real_path(void);

#endif
