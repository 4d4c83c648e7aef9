/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * world.h - a dom0 for the xl front's unit tests: fake xenstore with a few
 * domains, a fake sysfs with three SCSI disks and a virtio disk, libxl's
 * userdata directory in a temporary directory, and a simulated pvscsid +
 * xen-scsifront that answer the handshakes from the front's sleep seam.
 *
 *   domain 0 Domain-0, 5 guest1, 7 guest2 (both with a libxl-json)
 *   2:0:0:0  sg1 sdb (1 partition)  naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1
 *   2:0:1:0  sg2 sdc                naa.6001405bbbbbbbbbbbbbbbbbbbbbbbb2
 *   3:0:0:0  sg3 sdd                no identity at all
 *   vda      a virtio disk
 *   ROOT/disk.img, ROOT/other.img   files for file: LUNs
 *   ROOT/a.iso, ROOT/b.iso          disc images (4 KiB) for cdrom: drives
 */
#ifndef XL_WORLD_H
#define XL_WORLD_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../../xl-plugin/xlp.h"
#include "fake_sysfs.h"
#include "fake_xs.h"
#include "golden.h"

#define NAA_A "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1"
#define NAA_B "naa.6001405bbbbbbbbbbbbbbbbbbbbbbbb2"
#define UUID5 "11111111-2222-3333-4444-000000000005"
#define UUID7 "11111111-2222-3333-4444-000000000007"

enum sim_mode {
	SIM_OFF,     /* nobody answers */
	SIM_OK,      /* backend and frontend follow the protocol */
	SIM_DEV_BAD, /* the backend cannot open new devices: dev-N state 6 */
};

struct world {
	struct fake_xs *fx;
	struct fake_xs_conn *conn;
	struct fake_sysfs fs;
	struct xlp_ctx c;
	char libdir[PATH_MAX + 16];
	char lock[PATH_MAX + 16];
	char *out, *err;
	size_t outlen, errlen;
	int running; /* pvscsid */
	int paused;  /* every domain */
	enum sim_mode sim;
	unsigned int slept, ticks;
	char xl_calls[4096];
	int xl_status;
	int (*xl_hook)(struct world *w, char *const argv[]);
	char spawned[256]; /* "D " for every reboot monitor started */
	int spawn_status;
	char pauses[256]; /* "pause D\n", "unpause D\n" as the monitor asked */
	int pause_status;
	uint64_t ran_ns;                    /* CPU time a domain has had when it is paused */
	void (*tick_hook)(struct world *w); /* after each simulated sleep */
	const char *medium_error; /* pvscsid's answer to a medium change ("" or NULL: done) */
};

static struct world *W;

static inline int w_running(struct xlp_ctx *c)
{
	(void)c;
	return W->running;
}

static inline int w_paused(struct xlp_ctx *c, uint32_t domid)
{
	(void)c;
	(void)domid;
	return W->paused;
}

static inline int w_state(const char *path)
{
	const char *v = fake_xs_get(W->fx, path);

	return v ? atoi(v) : -1;
}

/*
 * One step of pvscsid and the guest's xen-scsifront for every controller of
 * domains 5, 7, 9 and 11, following the vscsiif state machine.
 */
static inline void sim_vhost(uint32_t dom, uint32_t vh)
{
	char be[256], fe[256], p[300];
	int bs, fs;
	unsigned int num = 0;
	char **devs;
	struct pvx_xs x;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vscsi/%u/%u", dom, vh);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vscsi/%u", dom, vh);
	snprintf(p, sizeof(p), "%s/state", be);
	bs = w_state(p);
	snprintf(p, sizeof(p), "%s/state", fe);
	fs = w_state(p);
	if (bs < 0)
		return;
	fake_xs_pvsd(W->conn, &x);
	snprintf(p, sizeof(p), "%s/vscsi-devs", be);
	devs = x.ops->directory(x.ctx, 0, p, &num);
#define DEV_STATE(i) (snprintf(p, sizeof(p), "%s/vscsi-devs/%s/state", be, devs[i]), w_state(p))
#define SET_DEV(i, s)                                                                              \
	(snprintf(p, sizeof(p), "%s/vscsi-devs/%s/state", be, devs[i]),                            \
	 fake_xs_write(W->fx, 0, p, "%d", s))
#define SET(dir, dom_, s)                                                                          \
	(snprintf(p, sizeof(p), "%s/state", dir), fake_xs_write(W->fx, dom_, p, "%d", s))
	if (bs == 1) {
		SET(be, 0, 2);
	} else if (bs == 2 && !W->paused && fs == 1) {
		SET(fe, dom, 3);
	} else if (bs == 2 && fs == 3) {
		for (unsigned int i = 0; i < num; i++)
			if (DEV_STATE(i) == 1)
				SET_DEV(i, W->sim == SIM_DEV_BAD ? 6 : 3);
		SET(be, 0, 4);
	} else if (bs == 4 && fs == 3) {
		SET(fe, dom, 4);
		for (unsigned int i = 0; i < num; i++)
			if (DEV_STATE(i) == 3)
				SET_DEV(i, 4);
	} else if (bs == 7) {
		for (unsigned int i = 0; i < num; i++) {
			int s = DEV_STATE(i);

			if (s == 1)
				SET_DEV(i, W->sim == SIM_DEV_BAD ? 6 : 3);
			else if (s == 5)
				SET_DEV(i, 6);
		}
		SET(be, 0, 8);
		SET(fe, dom, 7);
	} else if (bs == 8) {
		SET(fe, dom, 4);
		for (unsigned int i = 0; i < num; i++)
			if (DEV_STATE(i) == 3)
				SET_DEV(i, 4);
		SET(be, 0, 4);
	} else if (bs == 5) {
		SET(fe, dom, 6);
		SET(be, 0, 6);
	}
	/* pvscsid's side of a medium change: answer every new medium-seq of an open drive. */
	for (unsigned int i = 0; i < num && (bs == 4 || bs == 7 || bs == 8); i++) {
		char dir[200];
		const char *seq, *done;
		int s = DEV_STATE(i);

		snprintf(dir, sizeof(dir), "%.120s/vscsi-devs/%.60s", be, devs[i]);
		snprintf(p, sizeof(p), "%s/medium-seq", dir);
		seq = fake_xs_get(W->fx, p);
		snprintf(p, sizeof(p), "%s/medium-done", dir);
		done = fake_xs_get(W->fx, p);
		if ((s != 3 && s != 4) || !seq || (done && atoi(done) >= atoi(seq)))
			continue;
		snprintf(p, sizeof(p), "%s/medium-error", dir);
		fake_xs_write(W->fx, 0, p, "%s", W->medium_error ? W->medium_error : "");
		snprintf(p, sizeof(p), "%s/medium-done", dir);
		fake_xs_write(W->fx, 0, p, "%s", seq);
	}
#undef DEV_STATE
#undef SET_DEV
#undef SET
	free(devs);
}

static inline void w_sleep(struct xlp_ctx *c, unsigned int ms)
{
	static const uint32_t doms[] = {5, 7, 9, 11};

	(void)c;
	W->slept += ms;
	W->ticks++;
	if (W->tick_hook)
		W->tick_hook(W);
	if (W->sim == SIM_OFF)
		return;
	for (size_t d = 0; d < sizeof(doms) / sizeof(doms[0]); d++)
		for (uint32_t vh = 0; vh < 4; vh++)
			sim_vhost(doms[d], vh);
}

static inline int w_pause(struct xlp_ctx *c, uint32_t domid, bool pause, uint64_t *ran_ns)
{
	size_t l = strlen(W->pauses);

	(void)c;
	snprintf(W->pauses + l, sizeof(W->pauses) - l, "%s %u\n", pause ? "pause" : "unpause",
	         domid);
	if (ran_ns)
		*ran_ns = W->ran_ns;
	return pause ? W->pause_status : 0;
}

static inline int w_spawn(struct xlp_ctx *c, uint32_t domid)
{
	size_t l = strlen(W->spawned);

	(void)c;
	snprintf(W->spawned + l, sizeof(W->spawned) - l, "%u ", domid);
	return W->spawn_status;
}

static inline int w_run_xl(struct xlp_ctx *c, char *const argv[])
{
	size_t l = strlen(W->xl_calls);

	(void)c;
	for (int i = 0; argv[i]; i++) {
		snprintf(W->xl_calls + l, sizeof(W->xl_calls) - l, "%s%s", i ? " " : "", argv[i]);
		l = strlen(W->xl_calls);
	}
	snprintf(W->xl_calls + l, sizeof(W->xl_calls) - l, "\n");
	if (W->xl_hook)
		return W->xl_hook(W, argv);
	return W->xl_status;
}

/* libxl's saved configuration of @domid, as libxl writes it (with its NUL). */
static inline void w_write_userdata(uint32_t domid, const char *uuid, const char *json)
{
	char p[PATH_MAX + 200];
	FILE *f;

	snprintf(p, sizeof(p), "%s/userdata-d.%u.%s.libxl-json", W->libdir, domid, uuid);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(json, 1, strlen(json) + 1, f);
	fclose(f);
}

static inline char *w_read_userdata(uint32_t domid, const char *uuid)
{
	char p[PATH_MAX + 200];

	snprintf(p, sizeof(p), "%s/userdata-d.%u.%s.libxl-json", W->libdir, domid, uuid);
	return golden_read(p);
}

static inline void w_domain(uint32_t domid, const char *name, const char *uuid)
{
	char p[128];

	snprintf(p, sizeof(p), "/local/domain/%u/name", domid);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, p, "%s", name), 0);
	snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, p, "/vm/%s", uuid), 0);
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	if (!domid)
		CU_ASSERT_EQUAL(fake_xs_chmod(W->fx, p, "n0", false), 0);
	if (domid) {
		char perm[32];

		snprintf(perm, sizeof(perm), "n0 r%u", domid);
		CU_ASSERT_EQUAL(fake_xs_chmod(W->fx, p, perm, false), 0);
		snprintf(p, sizeof(p), "/local/domain/%u/device", domid);
		CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, p, "%s", ""), 0);
		snprintf(perm, sizeof(perm), "n%u", domid);
		CU_ASSERT_EQUAL(fake_xs_chmod(W->fx, p, perm, false), 0);
	}
}

static inline void w_userdata_default(uint32_t domid, const char *name, const char *uuid)
{
	char j[512];

	snprintf(j, sizeof(j),
	         "{\n    \"c_info\": {\n        \"type\": \"pv\",\n        \"name\": \"%s\",\n"
	         "        \"uuid\": \"%s\"\n    },\n    \"b_info\": {\n        \"max_vcpus\": 1,\n"
	         "        \"target_memkb\": 262144\n    }\n}\n",
	         name, uuid);
	w_write_userdata(domid, uuid, j);
}

static inline void w_reset_output(void)
{
	if (W->c.out)
		fclose(W->c.out);
	if (W->c.err)
		fclose(W->c.err);
	free(W->out);
	free(W->err);
	W->out = W->err = NULL;
	W->c.out = open_memstream(&W->out, &W->outlen);
	W->c.err = open_memstream(&W->err, &W->errlen);
}

/* What the command printed so far (stdout, stderr), with the temporary root as @ROOT@. */
static inline char *w_text(bool err)
{
	char *s;

	fflush(err ? W->c.err : W->c.out);
	s = strdup((err ? W->err : W->out) ? (err ? W->err : W->out) : "");
	return golden_subst(s, W->fs.root, "@ROOT@");
}

static inline void w_add_disks(uint32_t host_a)
{
	struct fake_scsi_dev a = {
	    .host = host_a,
	    .type = 0,
	    .wwid = NAA_A,
	    .sg = "sg1",
	    .block = "sdb",
	    .partitions = 1,
	    .by_id = "wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
	    .by_path = "pci-0000:00:05.0-scsi-0:0:0:0",
	};
	struct fake_scsi_dev b = {
	    .host = host_a,
	    .target = 1,
	    .type = 0,
	    .wwid = NAA_B,
	    .sg = "sg2",
	    .block = "sdc",
	    .by_id = "wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbb2",
	};
	struct fake_scsi_dev c = {
	    .host = host_a + 1,
	    .type = 0,
	    .model = "NOID",
	    .sg = "sg3",
	    .block = "sdd",
	};

	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &a), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &b), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_scsi(&W->fs, &c), 0);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_add_virtio_blk(&W->fs, "vda", 0), 0);
}

/* The text of the store node @path ("" when absent). */
static inline const char *node(const char *path)
{
	const char *v = fake_xs_get(W->fx, path);

	return v ? v : "";
}

/* The last command's error output contains @needle (printed when it does not). */
static inline void err_has(const char *needle, int line)
{
	char *err = w_text(true);
	int ok = strstr(err, needle) != NULL;

	if (!ok)
		fprintf(stderr, "\nline %d: no '%s' in: %s\n", line, needle, err);
	CU_assertImplementation(ok, (unsigned int)line, "ERR_HAS", __FILE__, "", CU_FALSE);
	free(err);
}
#define ERR_HAS(s) err_has(s, __LINE__)

static inline void w_setup(void)
{
	char p[PATH_MAX + 32];
	FILE *f;

	W = calloc(1, sizeof(*W));
	CU_ASSERT_PTR_NOT_NULL_FATAL(W);
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_create(&W->fs), 0);
	w_add_disks(2);
	snprintf(p, sizeof(p), "%s/disk.img", W->fs.root);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/other.img", W->fs.root);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%c.iso", W->fs.root, 'a' + i);
		f = fopen(p, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(ftruncate(fileno(f), 4096), 0);
		fclose(f);
	}
	snprintf(W->libdir, sizeof(W->libdir), "%s/varlibxen", W->fs.root);
	CU_ASSERT_EQUAL_FATAL(mkdir(W->libdir, 0755), 0);
	snprintf(W->lock, sizeof(W->lock), "%s/pvscsi.lock", W->fs.root);

	W->fx = fake_xs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(W->fx);
	W->conn = fake_xs_connect(W->fx, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(W->conn);
	w_domain(0, "Domain-0", "00000000-0000-0000-0000-000000000000");
	w_domain(5, "guest1", UUID5);
	w_domain(7, "guest2", UUID7);
	/* What libxl and xen-init-dom0 make on any Xen host. */
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/local/domain/0/backend/vscsi", "%s", ""), 0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/libxl/5/device", "%s", ""), 0);
	CU_ASSERT_EQUAL(fake_xs_write(W->fx, 0, "/libxl/7/device", "%s", ""), 0);
	w_userdata_default(5, "guest1", UUID5);
	w_userdata_default(7, "guest2", UUID7);

	xlp_ctx_init(&W->c);
	fake_xs_pvsd(W->conn, &W->c.xs);
	W->c.xs_open = true;
	W->c.res.sysfs_root = W->fs.sys;
	W->c.res.dev_root = W->fs.dev;
	W->c.xen_lib_dir = W->libdir;
	W->c.lock_path = W->lock;
	W->c.xl_real = "/nonexistent/xl";
	W->c.timeout_ms = 2000;
	W->c.backend_running = w_running;
	W->c.domain_paused = w_paused;
	W->c.sleep_ms = w_sleep;
	W->c.run_xl = w_run_xl;
	W->c.spawn_monitor = w_spawn;
	W->c.pause_domain = w_pause;
	W->c.xen_log_dir = W->fs.root;
	W->c.run_dir = W->fs.root;
	W->c.missing_ok = false;
	W->running = 1;
	W->paused = 1;
	W->sim = SIM_OK;
	W->c.out = W->c.err = NULL; /* stdout/stderr from xlp_ctx_init are not ours to close */
	w_reset_output();
	fake_xs_clear_history(W->fx);
}

static inline void w_teardown(void)
{
	W->c.xs_open = false; /* the store is freed below */
	xlp_ctx_fini(&W->c);
	fclose(W->c.out);
	fclose(W->c.err);
	free(W->out);
	free(W->err);
	fake_xs_free(W->fx);
	fake_sysfs_destroy(&W->fs);
	free(W);
	W = NULL;
}

/* Every node below @path: "path = "value" (perms)", sorted as xenstore lists them. */
static inline void w_dump(FILE *o, const char *path)
{
	struct pvx_xs x;
	unsigned int num = 0;
	char **d;
	char perms[128];
	const char *v = fake_xs_get(W->fx, path);

	if (!fake_xs_exists(W->fx, path))
		return;
	fake_xs_pvsd(W->conn, &x);
	if (fake_xs_perms_str(W->fx, path, perms, sizeof(perms)))
		perms[0] = '\0';
	fprintf(o, "%s = ", path);
	xlp_json_put_str(o, v ? v : "");
	fprintf(o, " (%s)\n", perms);
	d = x.ops->directory(x.ctx, 0, path, &num);
	if (!d)
		return;
	for (unsigned int i = 0; i < num; i++) {
		char child[1024];

		for (unsigned int k = i + 1; k < num; k++) {
			if (strcmp(d[k], d[i]) < 0) {
				char *t = d[i];

				d[i] = d[k];
				d[k] = t;
			}
		}
		snprintf(child, sizeof(child), "%s/%s", path, d[i]);
		w_dump(o, child);
	}
	free(d);
}

static inline char *w_dump_str(const char *const *paths)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);

	for (size_t i = 0; paths[i]; i++)
		w_dump(o, paths[i]);
	fclose(o);
	return golden_subst(buf, W->fs.root, "@ROOT@");
}

/* Run a verb as the front would (argv[0] the verb) on the world. */
static inline int w_cmd(int (*fn)(struct xlp_ctx *, int, char **), const char *const *args)
{
	char *argv[16];
	int n = 0;

	while (args[n] && n < 15) {
		argv[n] = (char *)args[n];
		n++;
	}
	argv[n] = NULL;
	W->c.dry_run = false;
	return fn(&W->c, n, argv);
}

#endif
