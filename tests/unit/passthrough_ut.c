/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthrough_ut.c - sg LUNs on the scripted fake_sg device, and on a real
 * scsi_debug sg node when the host happens to have one (never loaded here).
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <liburing.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core.h"
#include "cu_run.h"
#include "fake_sg.h"
#include "lun_harness.h"
#include "pvscsi/host.h"
#include "unit_move.h"

static struct pvs_worker *W;

/*
 * Fixed sense, ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (SPC-5
 * 4.4.3), field pointer (SKSV, C/D) to CDB byte 0 as emulated LUNs report it.
 */
static const uint8_t invalid_opcode[18] = {0x70, 0, 0x05, 0, 0,    0, 0, 10,
                                           0,    0, 0,    0, 0x20, 0, 0, 0xc0};

struct cmd {
	struct pvs_req req; /* first */
	struct iovec iov[4];
	int done;
};

static void cmd_done(struct pvs_req *req)
{
	((struct cmd *)req)->done++;
}

static void cmd_init(struct cmd *c, const uint8_t *cdb, unsigned cdb_len, enum pvs_dir d, void *buf,
                     size_t len)
{
	memset(c, 0, sizeof(*c));
	lh_req_init(&c->req, &c->iov[0], 1, cdb, cdb_len, d, buf, len, cmd_done, NULL);
}

/*
 * A worker of pvs_worker_new_sleeping() is waited on as pvscsid's loop
 * does, in its io_uring; any other with pvs_worker_wait().
 */
static void worker_wait(struct pvs_worker *w, int ms)
{
	bool ready;

	if (!pvs_worker_is_unified(w)) {
		pvs_worker_wait(w, ms);
		return;
	}
	CU_ASSERT_EQUAL(pvs_worker_sleep(w, -1, ms, &ready), 0);
	pvs_worker_run(w, false);
}

static void wait_done(struct cmd *c)
{
	for (int i = 0; i < 200 && !c->done; i++) {
		pvs_worker_flush(W);
		worker_wait(W, 10);
	}
	pvs_worker_poll(W);
	CU_ASSERT_EQUAL(c->done, 1);
}

static void run(struct pvs_lun *lun, struct cmd *c)
{
	pvs_submit(lun, &c->req);
	wait_done(c);
}

static struct pvs_lun *open_sg(const char *spec)
{
	struct pvs_lun *lun = NULL;
	char err[256] = "";
	int rc = pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err));

	if (rc)
		fprintf(stderr, "%s: %s\n", spec, err);
	CU_ASSERT_EQUAL(rc, 0);
	return lun;
}

static int setup(void)
{
	fake_sg_reset();
	pvsi_sg_set_ops(&fake_sg_ops);
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	fake_sg_add_node("/dev/sda1", FAKE_SG_BLOCK);
	fake_sg_add_node("/dev/null", FAKE_SG_OTHER_CHR);
	fake_sg_add_node("/dev/bsg/0:0:0:0", FAKE_SG_BSG);
	return pvs_worker_new(32, &W);
}

static int teardown(void)
{
	pvs_worker_free(W);
	W = NULL;
	pvsi_sg_set_ops(NULL);
	fake_sg_reset();
	return 0;
}

/* ---- open ---- */

static void expect_refused(const char *spec, int rc_want, const char *msg)
{
	struct pvs_lun *lun = (struct pvs_lun *)1;
	char err[256] = "";

	CU_ASSERT_EQUAL(pvs_lun_open(W, spec, NULL, &lun, err, sizeof(err)), rc_want);
	CU_ASSERT_PTR_NULL(lun);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
}

static void test_open_refuses_non_sg(void)
{
	struct pvs_lun *lun;

	expect_refused("sg:/dev/sda1", -EINVAL, "block device");
	expect_refused("sg:/dev/null", -EINVAL, "not an sg character device");
	expect_refused("sg:/dev/bsg/0:0:0:0", -EINVAL, "not an sg character device");
	expect_refused("sg:/dev/sg9", -ENOENT, "cannot open");
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_TRUE(pvs_lun_is_passthrough(lun));
	CU_ASSERT_FALSE(pvs_lun_is_raw(lun));
	pvs_lun_close(lun);
	lun = open_sg("sg:/dev/sg3,raw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_TRUE(pvs_lun_is_raw(lun));
	pvs_lun_close(lun);
}

/* ---- what the device says reaches the initiator unchanged ---- */

static void test_unchanged_check_condition(void)
{
	/* descriptor-format sense the core would never build itself */
	static const uint8_t sense[20] = {0x72, 0x03, 0x11, 0x04, 0, 0, 0, 12, 0x00, 0x0a,
	                                  0x80, 0,    0,    0,    0, 0, 0, 0,  0x12, 0x34};
	struct fake_sg_reply r = {.match = {0x28}, .match_len = 1, .status = 0x02, .sense_len = 20};
	struct pvs_lun *lun;
	uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0x10, 0, 0, 8, 0};
	uint8_t buf[4096];
	struct cmd c;

	memcpy(r.sense, sense, sizeof(sense));
	memset(r.data, 0xab, 100);
	r.data_len = 100;
	r.driver_status = 0x08; /* DRIVER_SENSE */
	fake_sg_script(&r);
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	memset(buf, 0, sizeof(buf));
	cmd_init(&c, cdb, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, 0x02);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c.req.sense_len, 20);
	CU_ASSERT_EQUAL(memcmp(c.req.sense, sense, 20), 0);
	/* 100 bytes came back before the error: residual is the device's */
	CU_ASSERT_EQUAL(c.req.residual, 4096 - 100);
	CU_ASSERT_EQUAL(buf[99], 0xab);
	CU_ASSERT_EQUAL(buf[100], 0);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	pvs_lun_close(lun);
}

static void test_unchanged_status_and_resid(void)
{
	struct fake_sg_reply conflict = {
	    .match = {0x2a}, .match_len = 1, .status = 0x18}; /* RESERVATION CONFLICT */
	struct fake_sg_reply odd = {.match = {0x12},
	                            .match_len = 1,
	                            .status = 0x00,
	                            .data_len = 36,
	                            .resid_set = true,
	                            .resid = 7};
	struct pvs_lun *lun;
	uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0};
	uint8_t inq[6] = {0x12, 0, 0, 0, 96, 0};
	uint8_t buf[512];
	struct cmd c;

	memset(odd.data, 0x41, 36);
	odd.sense_len = 18; /* sense with GOOD status is passed along too */
	odd.sense[0] = 0x70;
	odd.sense[2] = 0x01; /* RECOVERED ERROR */
	odd.sense[7] = 10;
	fake_sg_script(&conflict);
	fake_sg_script(&odd);
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);

	cmd_init(&c, w10, 10, PVS_DIR_TO_DEV, buf, 512);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, 0x18);
	CU_ASSERT_EQUAL(c.req.sense_len, 0);
	CU_ASSERT_EQUAL(c.req.residual, 512);

	cmd_init(&c, inq, 6, PVS_DIR_FROM_DEV, buf, 96);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, 0x00);
	CU_ASSERT_EQUAL(c.req.residual, 7); /* what the device said, not 96 - 36 */
	CU_ASSERT_EQUAL(c.req.sense_len, 18);
	CU_ASSERT_EQUAL(c.req.sense[2], 0x01);
	pvs_lun_close(lun);
}

static void check_host(uint8_t host_status, uint8_t driver_status, uint8_t want)
{
	struct fake_sg_reply r = {.match = {0x00},
	                          .match_len = 1,
	                          .host_status = host_status,
	                          .driver_status = driver_status};
	uint8_t tur[6] = {0};
	struct pvs_lun *lun;
	struct cmd c;

	fake_sg_reset();
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
	fake_sg_script(&r);
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	if (c.req.host != want)
		fprintf(stderr, "host %#x driver %#x: got %u want %u\n", host_status, driver_status,
		        c.req.host, want);
	CU_ASSERT_EQUAL(c.req.host, want);
	CU_ASSERT_EQUAL(c.req.status, 0);
	pvs_lun_close(lun);
}

static void test_host_mapping(void)
{
	check_host(0x00, 0x00, PVS_HOST_OK);
	check_host(0x00, 0x08, PVS_HOST_OK);      /* DRIVER_SENSE alone is no error */
	check_host(0x00, 0x06, PVS_HOST_TIMEOUT); /* DRIVER_TIMEOUT */
	check_host(0x00, 0x04, PVS_HOST_ERROR);   /* DRIVER_ERROR */
	check_host(0x01, 0x00, PVS_HOST_NO_CONNECT);
	check_host(0x04, 0x00, PVS_HOST_NO_CONNECT); /* DID_BAD_TARGET */
	check_host(0x02, 0x00, PVS_HOST_BUS_BUSY);
	check_host(0x0d, 0x00, PVS_HOST_BUS_BUSY); /* DID_REQUEUE */
	check_host(0x03, 0x00, PVS_HOST_TIMEOUT);
	check_host(0x05, 0x00, PVS_HOST_ABORTED);
	check_host(0x08, 0x00, PVS_HOST_RESET);
	check_host(0x07, 0x00, PVS_HOST_ERROR); /* DID_ERROR */
	check_host(0x42, 0x00, PVS_HOST_ERROR); /* unknown */
	fake_sg_reset();
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
}

/* ---- the sg_io_hdr we hand the kernel ---- */

static void test_header(void)
{
	struct pvs_lun *lun;
	uint8_t a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8}, d[2] = {9, 10};
	uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	uint8_t tur[6] = {0};
	uint8_t buf[36];
	const struct sg_io_hdr *h;
	const uint8_t *out;
	size_t outlen;
	struct cmd c;

	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	/* data-out from three entries goes as an iovec list */
	cmd_init(&c, w10, 10, PVS_DIR_TO_DEV, a, 3);
	c.iov[1] = (struct iovec){b, 5};
	c.iov[2] = (struct iovec){d, 2};
	c.req.iovcnt = 3;
	run(lun, &c);
	h = fake_sg_last_hdr();
	CU_ASSERT_EQUAL(h->interface_id, 'S');
	CU_ASSERT_EQUAL(h->dxfer_direction, SG_DXFER_TO_DEV);
	CU_ASSERT_EQUAL(h->cmd_len, 10);
	CU_ASSERT_EQUAL(memcmp(fake_sg_last_cdb(), w10, 10), 0);
	CU_ASSERT_EQUAL(h->iovec_count, 3);
	CU_ASSERT_PTR_EQUAL(h->dxferp, c.iov);
	CU_ASSERT_EQUAL(h->dxfer_len, 10);
	CU_ASSERT_EQUAL(h->mx_sb_len, PVS_SENSE_MAX);
	CU_ASSERT_PTR_EQUAL(h->sbp, c.req.sense);
	CU_ASSERT_EQUAL(h->timeout, PVSI_SG_TIMEOUT_MS);
	CU_ASSERT_PTR_EQUAL(h->usr_ptr, &c.req);
	out = fake_sg_last_out(&outlen);
	CU_ASSERT_EQUAL(outlen, 10);
	CU_ASSERT_EQUAL(memcmp(out, (uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10), 0);
	CU_ASSERT_EQUAL(c.req.residual, 10); /* the fake device consumed nothing */

	/* one entry: a plain buffer */
	cmd_init(&c, inq, 6, PVS_DIR_FROM_DEV, buf, 36);
	run(lun, &c);
	h = fake_sg_last_hdr();
	CU_ASSERT_EQUAL(h->dxfer_direction, SG_DXFER_FROM_DEV);
	CU_ASSERT_EQUAL(h->iovec_count, 0);
	CU_ASSERT_PTR_EQUAL(h->dxferp, buf);
	CU_ASSERT_EQUAL(h->dxfer_len, 36);

	/* no data phase, though the transport gave a buffer: nothing moves */
	cmd_init(&c, tur, 6, PVS_DIR_NONE, buf, 36);
	run(lun, &c);
	h = fake_sg_last_hdr();
	CU_ASSERT_EQUAL(h->dxfer_direction, SG_DXFER_NONE);
	CU_ASSERT_EQUAL(h->dxfer_len, 0);
	CU_ASSERT_EQUAL(c.req.residual, 36);
	CU_ASSERT_EQUAL(fake_sg_writes(), 3);

	/* bidirectional: sg v3 cannot, nothing reaches the device */
	cmd_init(&c, w10, 10, PVS_DIR_BIDI, buf, 36);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_ERROR);
	CU_ASSERT_EQUAL(c.req.residual, 36);
	CU_ASSERT_EQUAL(fake_sg_writes(), 3);
	pvs_lun_close(lun);
}

/* ---- the CDB filter ---- */

/*
 * Fixed sense, ILLEGAL REQUEST / INVALID FIELD IN CDB (24h/00h), field
 * pointer (SKSV, C/D, BPV, bit 4) to CDB byte 1: the service action.
 */
static const uint8_t invalid_sa[18] = {0x70, 0, 0x05, 0,    0, 0, 0,    10, 0,
                                       0,    0, 0,    0x24, 0, 0, 0xcc, 0,  1};

static void expect_sense(struct pvs_lun *lun, const uint8_t *cdb, unsigned len,
                         const uint8_t *sense)
{
	unsigned int before = fake_sg_writes();
	uint8_t buf[64];
	struct cmd c;

	cmd_init(&c, cdb, len, PVS_DIR_TO_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c.req.sense_len, 18);
	CU_ASSERT_EQUAL(memcmp(c.req.sense, sense, 18), 0);
	CU_ASSERT_EQUAL(c.req.residual, sizeof(buf));
	CU_ASSERT_EQUAL(fake_sg_writes(), before);
}

static void expect_blocked(struct pvs_lun *lun, const uint8_t *cdb, unsigned len)
{
	expect_sense(lun, cdb, len, invalid_opcode);
}

static void expect_passed(struct pvs_lun *lun, const uint8_t *cdb, unsigned len, enum pvs_dir d)
{
	unsigned int before = fake_sg_writes();
	uint8_t buf[64];
	struct cmd c;

	cmd_init(&c, cdb, len, d, buf, d == PVS_DIR_NONE ? 0 : sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(fake_sg_writes(), before + 1);
	CU_ASSERT_EQUAL(memcmp(fake_sg_last_cdb(), cdb, len), 0);
}

static const uint8_t format_unit[6] = {0x04, 0x10, 0, 0, 0, 0};
static const uint8_t write_buffer[10] = {0x3b, 0x05, 0, 0, 0, 0, 0, 0x10, 0, 0}; /* download */
static const uint8_t sanitize[10] = {0x48, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t vendor_c0[6] = {0xc0, 0, 0, 0, 0, 0};
static const uint8_t vendor_ff[6] = {0xff, 0, 0, 0, 0, 0};

static void test_filter_blocks(void)
{
	struct pvs_lun *lun = open_sg("sg:/dev/sg3");

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_blocked(lun, format_unit, 6);
	expect_blocked(lun, write_buffer, 10);
	expect_blocked(lun, sanitize, 10);
	expect_blocked(lun, vendor_c0, 6);
	expect_blocked(lun, vendor_ff, 6);
	/* an allowed opcode in a CDB shorter than its own: READ(10) in 6 bytes */
	expect_blocked(lun, (const uint8_t[]){0x28, 0, 0, 0, 0, 0}, 6);
	/*
	 * A service action outside the allow-list, of an opcode allowed with
	 * other service actions: SERVICE ACTION IN(16) READ LONG(16) (11h),
	 * MAINTENANCE IN REPORT TARGET PORT GROUPS (0Ah).  MAINTENANCE OUT has
	 * no allowed service action: the opcode itself is refused.
	 */
	expect_sense(lun, (const uint8_t[16]){0x9e, 0x11}, 16, invalid_sa);
	expect_sense(lun, (const uint8_t[12]){0xa3, 0x0a}, 12, invalid_sa);
	expect_blocked(lun, (const uint8_t[12]){0xa4, 0x06}, 12);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	pvs_lun_close(lun);
}

static void test_filter_allows(void)
{
	static const uint8_t tur[6] = {0};
	static const uint8_t inq[6] = {0x12, 0, 0, 0, 64, 0};
	static const uint8_t r10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	static const uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	static const uint8_t rc16[16] = {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0};
	struct pvs_lun *lun = open_sg("sg:/dev/sg3");

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, tur, 6, PVS_DIR_NONE);
	expect_passed(lun, inq, 6, PVS_DIR_FROM_DEV);
	expect_passed(lun, r10, 10, PVS_DIR_FROM_DEV);
	expect_passed(lun, w10, 10, PVS_DIR_TO_DEV);
	expect_passed(lun, rc16, 16, PVS_DIR_FROM_DEV);
	pvs_lun_close(lun);
}

static void test_raw_passes_everything(void)
{
	struct pvs_lun *lun = open_sg("sg:/dev/sg3,raw");

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, format_unit, 6, PVS_DIR_TO_DEV);
	expect_passed(lun, write_buffer, 10, PVS_DIR_TO_DEV);
	expect_passed(lun, sanitize, 10, PVS_DIR_NONE);
	expect_passed(lun, vendor_c0, 6, PVS_DIR_NONE);
	pvs_lun_close(lun);
}

/* ---- read-only ---- */

/* Fixed sense, DATA PROTECT / WRITE PROTECTED (27h/00h), no field pointer. */
static const uint8_t write_protected[18] = {0x70, 0, 0x07, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x27};

static void test_ro_open(void)
{
	struct pvs_lun *lun;
	char err[256] = "";

	expect_refused("sg:/dev/sg3,ro,raw", -EINVAL, "read-only needs the CDB filter");
	expect_refused("sg:/dev/sg3,raw,ro", -EINVAL, "drop one of ro and raw");
	/* the options struct is another way in; same refusal */
	lun = (struct pvs_lun *)1;
	CU_ASSERT_EQUAL(pvs_lun_open(W, "sg:/dev/sg3,raw", &(struct pvs_lun_opts){.ro = true}, &lun,
	                             err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_PTR_NULL(lun);
	lun = open_sg("sg:/dev/sg3,ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_TRUE(pvs_lun_is_passthrough(lun));
	CU_ASSERT_FALSE(pvs_lun_is_raw(lun));
	pvs_lun_close(lun);
}

static void expect_write_protected(struct pvs_lun *lun, const uint8_t *cdb, unsigned len,
                                   const char *name)
{
	unsigned int before = fake_sg_writes();
	uint8_t buf[64];
	struct cmd c;

	cmd_init(&c, cdb, len, PVS_DIR_TO_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	CU_ASSERT_EQUAL(c.req.sense_len, 18);
	if (memcmp(c.req.sense, write_protected, 18))
		fprintf(stderr, "\n%s: sense %02x/%02x/%02x\n", name, c.req.sense[2],
		        c.req.sense[12], c.req.sense[13]);
	CU_ASSERT_EQUAL(memcmp(c.req.sense, write_protected, 18), 0);
	CU_ASSERT_EQUAL(c.req.residual, sizeof(buf));
	/* the device never saw it */
	CU_ASSERT_EQUAL(fake_sg_writes(), before);
}

/*
 * Every command class @dc's filter lets through is either refused or
 * passed, as its table flags say: its own entries and the SPC entries it
 * does not shadow.
 */
static void ro_sweep(struct pvs_lun *lun, unsigned int dc, unsigned int *refused,
                     unsigned int *passed)
{
	for (unsigned int t = 0; t < 2; t++) {
		unsigned int n;
		const struct pvsi_opcode *tab =
		    pvsi_dclass_table(t == 0 ? dc : (unsigned)PVSI_DC_SBC, &n);

		if (t == 1 && dc == PVSI_DC_SBC)
			break;
		for (unsigned int i = 0; i < n; i++) {
			const struct pvsi_opcode *e = &tab[i];
			uint8_t cdb[16] = {e->opcode};

			if (e->flags & PVSI_OP_HAS_SA)
				cdb[1] = (uint8_t)e->sa;
			if (!(e->flags & PVSI_OP_PT_ALLOW) || pvsi_opcode_find_dc(dc, cdb, 16) != e)
				continue;
			if (e->flags & (PVSI_OP_WRITE | PVSI_OP_MEDIUM_PARAMS)) {
				expect_write_protected(lun, cdb, e->cdb_len, e->name);
				(*refused)++;
			} else {
				expect_passed(lun, cdb, e->cdb_len,
				              e->dir == PVS_DIR_NONE ? PVS_DIR_NONE
				                                     : (enum pvs_dir)e->dir);
				(*passed)++;
			}
		}
	}
}

static void test_ro_refuses_medium_changes(void)
{
	static const struct {
		uint8_t pdt;
		unsigned int refused;
	} types[] = {
	    /* WRITE(6/10/12/16), WRITE AND VERIFY(10/12/16), WRITE SAME(10/16), UNMAP, MODE
	       SELECT(6/10) */
	    {0x00, 12},
	    /*
	     * WRITE(6/16), WRITE FILEMARKS(6/16), ERASE(6/16), ALLOW OVERWRITE,
	     * WRITE ATTRIBUTE, SECURITY PROTOCOL OUT, MODE SELECT(6/10)
	     */
	    {0x01, 11},
	    /*
	     * WRITE(10/12), WRITE AND VERIFY(10), RESERVE/REPAIR/CLOSE TRACK, SEND OPC
	     * INFORMATION, SEND CUE SHEET, BLANK, SEND DISC STRUCTURE, MODE SELECT(6/10)
	     */
	    {0x05, 12},
	    /* SEND VOLUME TAG, MODE SELECT(6/10): moving media changes no data */
	    {0x08, 3},
	};
	struct pvs_lun *lun;

	for (unsigned int t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		unsigned int refused = 0, passed = 0;

		fake_sg_set_pdt(types[t].pdt);
		lun = open_sg("sg:/dev/sg3,ro");
		CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
		ro_sweep(lun, pvsi_dclass_of(types[t].pdt), &refused, &passed);
		if (refused != types[t].refused)
			fprintf(stderr, "\ntype %02xh: %u refused\n", types[t].pdt, refused);
		CU_ASSERT_EQUAL(refused, types[t].refused);
		CU_ASSERT(passed > 10);
		/* not allowed at all stays INVALID OPCODE, read-only or not */
		expect_blocked(lun, format_unit, 6);
		expect_blocked(lun, write_buffer, 10);
		CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
		pvs_lun_close(lun);
	}
	fake_sg_set_pdt(0);
	lun = open_sg("sg:/dev/sg3,ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_blocked(lun, sanitize, 10);
	pvs_lun_close(lun);

	/* the same commands reach a read-write LUN */
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, (const uint8_t[]){0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 10, PVS_DIR_TO_DEV);
	expect_passed(lun, (const uint8_t[]){0x15, 0x10, 0, 0, 12, 0}, 6, PVS_DIR_TO_DEV);
	pvs_lun_close(lun);
}

/* A fresh script: answers are matched first-come. */
static void sg3_only(void)
{
	fake_sg_reset();
	fake_sg_add_node("/dev/sg3", FAKE_SG_CHR);
}

static void mode_sense(struct pvs_lun *lun, const uint8_t *cdb, unsigned len, uint8_t *buf,
                       size_t buflen, struct cmd *c)
{
	memset(buf, 0x5a, buflen);
	cmd_init(c, cdb, len, PVS_DIR_FROM_DEV, buf, buflen);
	run(lun, c);
}

static void test_ro_mode_sense_wp(void)
{
	/* mode parameter headers: (6) length, medium type, device-specific 10h (DPOFUA), bdl */
	struct fake_sg_reply ms6 = {.match = {0x1a},
	                            .match_len = 1,
	                            .data = {0x0b, 0x00, 0x10, 0x00, 0x08, 0x00, 0x02},
	                            .data_len = 12};
	struct fake_sg_reply ms10 = {.match = {0x5a},
	                             .match_len = 1,
	                             .data = {0x00, 0x0e, 0x00, 0x10, 0, 0, 0, 0x08, 0x08},
	                             .data_len = 16};
	static const uint8_t ms6_cdb[6] = {0x1a, 0, 0x3f, 0, 12, 0};
	static const uint8_t ms10_cdb[10] = {0x5a, 0, 0x08, 0, 0, 0, 0, 0, 16, 0};
	struct pvs_lun *ro, *rw;
	uint8_t buf[16];
	struct cmd c;

	sg3_only();
	fake_sg_script(&ms6);
	fake_sg_script(&ms10);
	ro = open_sg("sg:/dev/sg3,ro");
	rw = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rw);

	mode_sense(ro, ms6_cdb, 6, buf, 12, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[2], 0x90); /* WP added, DPOFUA kept */
	CU_ASSERT_EQUAL(buf[0], 0x0b);
	CU_ASSERT_EQUAL(buf[4], 0x08);
	CU_ASSERT_EQUAL(c.req.residual, 0);
	mode_sense(ro, ms10_cdb, 10, buf, 16, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[3], 0x90);
	CU_ASSERT_EQUAL(buf[2], 0x00);
	CU_ASSERT_EQUAL(buf[7], 0x08);
	/* the header split over two buffers: the byte is found where it lies */
	{
		uint8_t a[3], b[13];

		memset(a, 0, sizeof(a));
		cmd_init(&c, ms10_cdb, 10, PVS_DIR_FROM_DEV, a, sizeof(a));
		c.iov[1] = (struct iovec){b, sizeof(b)};
		c.req.iovcnt = 2;
		run(ro, &c);
		CU_ASSERT_EQUAL(b[0], 0x90);
		CU_ASSERT_EQUAL(a[2], 0x00);
	}
	/* a read-write LUN gets the device's answer unchanged */
	mode_sense(rw, ms6_cdb, 6, buf, 12, &c);
	CU_ASSERT_EQUAL(buf[2], 0x10);
	mode_sense(rw, ms10_cdb, 10, buf, 16, &c);
	CU_ASSERT_EQUAL(buf[3], 0x10);
	/* an allocation length that stops before the byte: nothing written past it */
	mode_sense(ro, (const uint8_t[]){0x1a, 0, 0x3f, 0, 2, 0}, 6, buf, 2, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[0], 0x0b);
	CU_ASSERT_EQUAL(buf[1], 0x00);
	pvs_lun_close(ro);
	pvs_lun_close(rw);
}

/* Only mode parameter data has a WP bit: other data-in reaches the guest as sent. */
static void test_ro_other_data_untouched(void)
{
	static const uint8_t log_sense[10] = {0x4d, 0, 0x40, 0, 0, 0, 0, 0, 8, 0};
	static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 8, 0};
	struct fake_sg_reply ls = {.match = {0x4d},
	                           .match_len = 1,
	                           .data = {0x00, 0x00, 0x10, 0x10, 0, 0, 0, 0},
	                           .data_len = 8};
	struct fake_sg_reply inq = {.match = {0x12},
	                            .match_len = 1,
	                            .data = {0x00, 0x00, 0x06, 0x12, 0x1f, 0, 0, 0},
	                            .data_len = 8};
	struct pvs_lun *ro;
	uint8_t buf[8];
	struct cmd c;

	sg3_only();
	fake_sg_script(&ls);
	fake_sg_script(&inq);
	ro = open_sg("sg:/dev/sg3,ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
	memset(buf, 0, sizeof(buf));
	cmd_init(&c, log_sense, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(ro, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[2], 0x10);
	CU_ASSERT_EQUAL(buf[3], 0x10);
	memset(buf, 0, sizeof(buf));
	cmd_init(&c, inquiry, 6, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(ro, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[2], 0x06);
	CU_ASSERT_EQUAL(buf[3], 0x12);
	pvs_lun_close(ro);
}

static void test_ro_mode_sense_error_untouched(void)
{
	/* the device fails it: what it returned (if anything) is not a header */
	struct fake_sg_reply bad = {.match = {0x1a},
	                            .match_len = 1,
	                            .status = 0x02,
	                            .sense = {0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24},
	                            .sense_len = 18,
	                            .data = {1, 2, 3, 4},
	                            .data_len = 4};
	struct pvs_lun *ro;
	uint8_t buf[8];
	struct cmd c;

	sg3_only();
	fake_sg_script(&bad);
	ro = open_sg("sg:/dev/sg3,ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
	mode_sense(ro, (const uint8_t[]){0x1a, 0, 0x3f, 0, 8, 0}, 6, buf, 8, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(buf[2], 3);
	CU_ASSERT_EQUAL(c.req.sense[12], 0x24);
	pvs_lun_close(ro);
}

/* ---- flooding, errors, aborts ---- */

static void test_inflight_cap(void)
{
	static struct cmd c[PVSI_SG_MAX_INFLIGHT + 1];
	uint8_t tur[6] = {0};
	struct pvs_lun *lun = open_sg("sg:/dev/sg3");
	int done = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	fake_sg_hold(true);
	for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
		cmd_init(&c[i], tur, 6, PVS_DIR_NONE, NULL, 0);
		pvs_submit(lun, &c[i].req);
	}
	worker_wait(W, 20);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), PVSI_SG_MAX_INFLIGHT);
	/* one more: TASK SET FULL at once, no sense, the device never sees it */
	cmd_init(&c[PVSI_SG_MAX_INFLIGHT], tur, 6, PVS_DIR_NONE, NULL, 0);
	pvs_submit(lun, &c[PVSI_SG_MAX_INFLIGHT].req);
	CU_ASSERT_EQUAL(c[PVSI_SG_MAX_INFLIGHT].done, 1);
	CU_ASSERT_EQUAL(c[PVSI_SG_MAX_INFLIGHT].req.status, PVS_STATUS_TASK_SET_FULL);
	CU_ASSERT_EQUAL(c[PVSI_SG_MAX_INFLIGHT].req.sense_len, 0);
	CU_ASSERT_EQUAL(fake_sg_writes(), PVSI_SG_MAX_INFLIGHT);
	fake_sg_hold(false);
	CU_ASSERT_EQUAL(fake_sg_release(), PVSI_SG_MAX_INFLIGHT);
	for (int t = 0; t < 100 && done < PVSI_SG_MAX_INFLIGHT; t++) {
		worker_wait(W, 10);
		done = 0;
		for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++)
			done += c[i].done;
	}
	CU_ASSERT_EQUAL(done, PVSI_SG_MAX_INFLIGHT);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	/* room again */
	cmd_init(&c[0], tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c[0]);
	CU_ASSERT_EQUAL(c[0].req.status, PVS_STATUS_GOOD);
	pvs_lun_close(lun);
}

static void test_write_errors(void)
{
	uint8_t tur[6] = {0};
	struct pvs_lun *lun = open_sg("sg:/dev/sg3");
	struct cmd c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	fake_sg_fail_next_write(EDOM); /* sg's own queue is full */
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_TASK_SET_FULL);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
	fake_sg_fail_next_write(EIO);
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_ERROR);
	CU_ASSERT_FALSE(pvs_lun_gone(lun));
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	pvs_lun_close(lun);
}

static unsigned int sg_notices;

static void sg_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	(void)arg;
	(void)lun;
	sg_notices++;
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "sg LUN '/dev/sg3': the sg device went away"));
}

/* ENODEV from sg: the disk was detached; the LUN ends, once, and nothing reaches sg again. */
static void test_detached_ends_lun(void)
{
	const struct pvs_lun_opts o = {.notice = sg_notice};
	uint8_t tur[6] = {0};
	struct pvs_lun *lun = NULL;
	char err[256];
	struct cmd c;
	unsigned int writes;

	sg_notices = 0;
	CU_ASSERT_EQUAL_FATAL(pvs_lun_open(W, "sg:/dev/sg3", &o, &lun, err, sizeof(err)), 0);
	fake_sg_fail_next_write(ENODEV);
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_NO_CONNECT);
	CU_ASSERT_TRUE(pvs_lun_gone(lun));
	writes = fake_sg_writes();
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_NO_CONNECT);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes);
	CU_ASSERT_EQUAL(sg_notices, 1);
	pvs_lun_close(lun);
}

static void test_aborted_while_at_device(void)
{
	struct fake_sg_reply r = {.match = {0x28}, .match_len = 1, .data_len = 64};
	uint8_t r10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t buf[512];
	struct pvs_lun *lun;
	struct cmd c;

	fake_sg_script(&r);
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	fake_sg_hold(true);
	cmd_init(&c, r10, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	pvs_submit(lun, &c.req);
	CU_ASSERT_EQUAL(c.done, 0);
	/* what an ABORT TASK does to a request it cannot cancel */
	c.req.core.flags |= PVSI_RF_ABORTED;
	fake_sg_hold(false);
	fake_sg_release();
	wait_done(&c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(c.req.sense_len, 0);
	CU_ASSERT_EQUAL(c.req.residual, sizeof(buf));
	pvs_lun_close(lun);
}

/* ---- a real sg node, when the host has a scsi_debug one ---- */

static bool find_scsi_debug(char *dev, size_t len)
{
	DIR *d = opendir("/sys/class/scsi_generic");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char p[300], model[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/scsi_generic/%s/device/model", e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(model, sizeof(model), f) && !strncmp(model, "scsi_debug", 10)) {
			snprintf(dev, len, "/dev/%s", e->d_name);
			found = true;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static void test_real_scsi_debug(void)
{
	static const uint8_t inq[6] = {0x12, 0, 0, 0, 96, 0};
	static const uint8_t tur[6] = {0};
	uint8_t rc10[10] = {0x25}, buf[96];
	uint8_t r10[10] = {0x28, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0, 1, 0};
	char dev[300], spec[320];
	struct pvs_lun *lun;
	struct cmd c;
	uint8_t key = 0, asc = 0, ascq = 0;

	if (!find_scsi_debug(dev, sizeof(dev))) {
		fprintf(stderr, "no scsi_debug sg node: real-device test skipped ");
		return;
	}
	pvsi_sg_set_ops(NULL);
	snprintf(spec, sizeof(spec), "sg:%s", dev);
	lun = open_sg(spec);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	cmd_init(&c, inq, 6, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(memcmp(buf + 8, "Linux   scsi_debug", 18), 0);
	CU_ASSERT_EQUAL(c.req.residual, 96 - (buf[4] + 5u));
	/* a unit attention from the device itself comes back unchanged, then clears */
	for (int i = 0; i < 4; i++) {
		cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
		run(lun, &c);
		if (c.req.status == PVS_STATUS_GOOD)
			break;
	}
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	cmd_init(&c, rc10, 10, PVS_DIR_FROM_DEV, buf, 8);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c.req.residual, 0);
	/* past the end: the device's own ILLEGAL REQUEST / LBA OUT OF RANGE */
	cmd_init(&c, r10, 10, PVS_DIR_FROM_DEV, buf, 96);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(pvs_sense_decode(c.req.sense, c.req.sense_len, &key, &asc, &ascq), 0);
	CU_ASSERT_EQUAL(key, PVS_KEY_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(asc, 0x21);
	/* scattered data-in (sg iovec_count), 16 in flight at once, against one plain read */
	{
		static struct cmd many[PVSI_SG_MAX_INFLIGHT];
		static uint8_t flat[4096], parts[PVSI_SG_MAX_INFLIGHT][4096];
		uint8_t r8[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};
		int done = 0;

		cmd_init(&c, r8, 10, PVS_DIR_FROM_DEV, flat, sizeof(flat));
		run(lun, &c);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
		CU_ASSERT_EQUAL(c.req.residual, 0);
		for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
			memset(parts[i], 0xee, sizeof(parts[i]));
			cmd_init(&many[i], r8, 10, PVS_DIR_FROM_DEV, parts[i] + 3000, 1096);
			many[i].iov[1] = (struct iovec){parts[i] + 1000, 2000};
			many[i].iov[2] = (struct iovec){parts[i], 1000};
			many[i].req.iovcnt = 3;
			pvs_submit(lun, &many[i].req);
		}
		for (int t = 0; t < 500 && done < PVSI_SG_MAX_INFLIGHT; t++) {
			worker_wait(W, 10);
			done = 0;
			for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++)
				done += many[i].done;
		}
		CU_ASSERT_EQUAL(done, PVSI_SG_MAX_INFLIGHT);
		for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
			CU_ASSERT_EQUAL(many[i].req.status, PVS_STATUS_GOOD);
			CU_ASSERT_EQUAL(many[i].req.residual, 0);
			CU_ASSERT_EQUAL(memcmp(parts[i] + 3000, flat, 1096), 0);
			CU_ASSERT_EQUAL(memcmp(parts[i] + 1000, flat + 1096, 2000), 0);
			CU_ASSERT_EQUAL(memcmp(parts[i], flat + 3096, 1000), 0);
		}
	}
	/* the filter still guards the real device */
	cmd_init(&c, format_unit, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(memcmp(c.req.sense, invalid_opcode, 18), 0);
	pvs_lun_close(lun);
	pvsi_sg_set_ops(&fake_sg_ops);
}

/* ---- the transport's transfer bound in the Block Limits page ---- */

static void vpd_in(struct pvs_lun *lun, uint8_t page, uint16_t alloc, uint32_t bound, uint8_t *buf,
                   struct cmd *c)
{
	const uint8_t cdb[6] = {0x12, 0x01, page, (uint8_t)(alloc >> 8), (uint8_t)alloc, 0};

	memset(buf, 0xee, 512);
	cmd_init(c, cdb, 6, PVS_DIR_FROM_DEV, buf, alloc);
	c->req.max_xfer_blocks = bound;
	run(lun, c);
	CU_ASSERT_EQUAL(c->req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(c->req.host, PVS_HOST_OK);
}

static void script_vpd(uint8_t page, const uint8_t *data, uint32_t len)
{
	struct fake_sg_reply r = {.match = {0x12, 0x01, page}, .match_len = 3, .data_len = len};

	memcpy(r.data, data, len);
	fake_sg_script(&r);
}

static void test_b0_clamped(void)
{
	/* MAXIMUM TRANSFER LENGTH 0 (no limit), OPTIMAL 16384 blocks. */
	uint8_t b0[64] = {0x00, 0xb0, 0x00, 0x3c, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x40, 0};
	uint8_t buf[512];
	struct pvs_lun *lun, *raw;
	struct cmd c;

	sg3_only();
	script_vpd(0xb0, b0, sizeof(b0));
	lun = open_sg("sg:/dev/sg3");
	raw = open_sg("sg:/dev/sg3,raw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	vpd_in(lun, 0xb0, 64, 64, buf, &c);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[8]), 64);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[12]), 64);
	CU_ASSERT_EQUAL(buf[7], 8); /* the rest as the device said */
	CU_ASSERT_EQUAL(c.req.residual, 0);
	/* feature-host too: the bound is the transport's, not a filter. */
	vpd_in(raw, 0xb0, 64, 64, buf, &c);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[8]), 64);
	/* Without a bound, the device's answer as it is. */
	vpd_in(lun, 0xb0, 64, 0, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, b0, 64), 0);
	pvs_lun_close(lun);
	pvs_lun_close(raw);

	/* Smaller limits of the device's own stay. */
	sg3_only();
	b0[11] = 32;
	b0[14] = 0;
	b0[15] = 16;
	script_vpd(0xb0, b0, sizeof(b0));
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	vpd_in(lun, 0xb0, 64, 64, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, b0, 64), 0);
	/* An answer cut before MAXIMUM TRANSFER LENGTH is left alone. */
	vpd_in(lun, 0xb0, 10, 8, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, b0, 10), 0);
	CU_ASSERT_EQUAL(buf[10], 0xee);
	pvs_lun_close(lun);
}

static void test_b0_added(void)
{
	static const uint8_t disk00[] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xb1};
	static const uint8_t tape00[] = {0x01, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83};
	uint8_t buf[512];
	struct pvs_lun *lun;
	struct cmd c;
	unsigned int writes;

	sg3_only();
	script_vpd(0x00, disk00, sizeof(disk00));
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	/* Without a bound, nothing is added, and B0h goes to the device. */
	vpd_in(lun, 0x00, 255, 0, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, disk00, sizeof(disk00)), 0);
	CU_ASSERT_EQUAL(c.req.residual, 255 - sizeof(disk00));
	/* No room for one more byte in the allocation length: left as it is. */
	vpd_in(lun, 0x00, sizeof(disk00), 64, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, disk00, sizeof(disk00)), 0);
	/* A disk without the page gets it, in order, and the answer grows by one. */
	vpd_in(lun, 0x00, 255, 64, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, "\x00\x00\x00\x05\x00\x80\x83\xb0\xb1", 9), 0);
	CU_ASSERT_EQUAL(c.req.residual, 255 - 9);
	/* ... which is then answered here, with the bound alone. */
	writes = fake_sg_writes();
	vpd_in(lun, 0xb0, 255, 64, buf, &c);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes);
	CU_ASSERT_EQUAL(memcmp(buf, "\x00\xb0\x00\x3c", 4), 0);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[8]), 64);
	CU_ASSERT_EQUAL(pvsi_be32(&buf[12]), 0);
	CU_ASSERT_EQUAL(c.req.residual, 255 - 64);
	/* A transport without a bound still asks the device. */
	vpd_in(lun, 0xb0, 255, 0, buf, &c);
	CU_ASSERT_EQUAL(fake_sg_writes(), writes + 1);
	pvs_lun_close(lun);

	/* A tape drive's list is not touched: sd, the driver that reads B0h, never drives it. */
	sg3_only();
	script_vpd(0x00, tape00, sizeof(tape00));
	lun = open_sg("sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	vpd_in(lun, 0x00, 255, 64, buf, &c);
	CU_ASSERT_EQUAL(memcmp(buf, tape00, sizeof(tape00)), 0);
	CU_ASSERT_EQUAL(c.req.residual, 255 - sizeof(tape00));
	pvs_lun_close(lun);
}

/* ---- the filter follows the device type ---- */

static char notices[4][512];
static unsigned int nnotices;

static void notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	(void)arg;
	(void)lun;
	if (nnotices < 4)
		snprintf(notices[nnotices], sizeof(notices[0]), "%s", msg);
	nnotices++;
}

static struct pvs_lun *open_typed(uint8_t pdt, const char *spec)
{
	struct pvs_lun_opts o = {.notice = notice};
	struct pvs_lun *lun = NULL;
	char err[256] = "";

	fake_sg_set_pdt(pdt);
	nnotices = 0;
	CU_ASSERT_EQUAL(pvs_lun_open(W, spec, &o, &lun, err, sizeof(err)), 0);
	return lun;
}

/*
 * Fixed sense, INVALID FIELD IN CDB (24h/00h), field pointer (SKSV, C/D) to
 * CDB byte 10: SEND KEY's KEY FORMAT.
 */
static const uint8_t invalid_key_format[18] = {0x70, 0, 0x05, 0,    0, 0, 0,    10, 0,
                                               0,    0, 0,    0x24, 0, 0, 0xc0, 0,  10};

static void test_type_from_inquiry(void)
{
	static const uint8_t move_medium[12] = {0xa5, 0, 0, 0, 0, 2, 0x03, 0xe8, 0, 0, 0, 0};
	static const uint8_t rewind[6] = {0x01, 0, 0, 0, 0, 0};
	static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	static const uint8_t read_toc[10] = {0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0};
	static const uint8_t send_key_css[12] = {0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0x01, 0};
	static const uint8_t send_key_rpc[12] = {0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x06, 0};
	static const uint8_t load_unload[6] = {0x1b, 0, 0, 0, 0x01, 0};
	static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 36, 0};
	struct pvs_lun *lun;

	/* a tape drive: REWIND, LOAD; no MOVE MEDIUM, no disk READ(10) */
	lun = open_typed(0x01, "sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(fake_sg_inquiries(), 1);
	CU_ASSERT_EQUAL(pvs_lun_device_type(lun), 0x01);
	CU_ASSERT_STRING_EQUAL(pvs_lun_opcode_name(lun, rewind, 6), "REWIND");
	CU_ASSERT_STRING_EQUAL(pvs_lun_opcode_name(lun, load_unload, 6), "LOAD UNLOAD");
	expect_passed(lun, rewind, 6, PVS_DIR_NONE);
	expect_passed(lun, load_unload, 6, PVS_DIR_NONE);
	expect_blocked(lun, move_medium, 12);
	expect_blocked(lun, read10, 10);
	pvs_lun_close(lun);

	/* a medium changer: MOVE MEDIUM; no REWIND, no READ(10), no vendor opcode */
	lun = open_typed(0x08, "sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_STRING_EQUAL(pvs_lun_opcode_name(lun, load_unload, 6),
	                       "OPEN/CLOSE IMPORT/EXPORT ELEMENT");
	expect_passed(lun, move_medium, 12, PVS_DIR_NONE);
	expect_blocked(lun, rewind, 6);
	expect_blocked(lun, read10, 10);
	expect_blocked(lun, vendor_c0, 6);
	pvs_lun_close(lun);

	/* an optical drive: READ TOC; SEND KEY, but not to set the region */
	lun = open_typed(0x05, "sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, read_toc, 10, PVS_DIR_FROM_DEV);
	expect_passed(lun, read10, 10, PVS_DIR_FROM_DEV);
	expect_passed(lun, send_key_css, 12, PVS_DIR_TO_DEV);
	expect_sense(lun, send_key_rpc, 12, invalid_key_format);
	expect_blocked(lun, rewind, 6);
	pvs_lun_close(lun);

	/* anything else (an enclosure, tgt's controller LUN): SPC alone */
	lun = open_typed(0x0c, "sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, inquiry, 6, PVS_DIR_FROM_DEV);
	expect_blocked(lun, read10, 10);
	expect_blocked(lun, read_toc, 10);
	pvs_lun_close(lun);

	/* and feature-host passes what the type's table refuses */
	lun = open_typed(0x01, "sg:/dev/sg3,raw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_passed(lun, move_medium, 12, PVS_DIR_NONE);
	expect_passed(lun, (const uint8_t[6]){0x04, 0, 0, 0, 0, 0}, 6, PVS_DIR_NONE);
	CU_ASSERT_EQUAL(nnotices, 0);
	pvs_lun_close(lun);
	fake_sg_set_pdt(0);
}

static void test_type_unknown_refused(void)
{
	fake_sg_fail_inquiry(EIO, 0);
	expect_refused("sg:/dev/sg3", -EIO, "INQUIRY to learn its device type failed");
	fake_sg_fail_inquiry(0, 0x02);
	expect_refused("sg:/dev/sg3", -EIO, "status 02h");
	fake_sg_fail_inquiry(0, 0);
	fake_sg_set_pdt(0x7f); /* qualifier 011b: no logical unit */
	expect_refused("sg:/dev/sg3", -ENODEV, "no logical unit");
	fake_sg_set_pdt(0);
}

static void test_refusal_logged_once(void)
{
	static const uint8_t format_medium[6] = {0x04, 0, 0, 0, 0, 0};
	struct pvs_lun *lun = open_typed(0x01, "sg:/dev/sg3");

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	expect_blocked(lun, format_medium, 6);
	expect_blocked(lun, format_medium, 6);
	expect_blocked(lun, write_buffer, 10);
	expect_blocked(lun, vendor_c0, 6);
	expect_blocked(lun, vendor_c0, 6);
	CU_ASSERT_EQUAL_FATAL(nnotices, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[0], "filter refused 04h FORMAT MEDIUM"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[0], "tape drive (SSC)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[0], "reformats"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[0], "/dev/sg3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[1], "filter refused 3Bh WRITE BUFFER"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[1], "firmware"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notices[2], "filter refused C0h (vendor-specific)"));
	pvs_lun_close(lun);
}

/* A descriptor of REPORT SUPPORTED OPERATION CODES' all-commands list (SPC-5 6.35.3). */
static void rsoc_desc(uint8_t *d, uint8_t op, uint16_t sa, bool servactv, bool ctdp, uint16_t len)
{
	memset(d, 0, ctdp ? 20 : 8);
	d[0] = op;
	d[2] = (uint8_t)(sa >> 8);
	d[3] = (uint8_t)sa;
	d[5] = (uint8_t)((servactv ? 0x01 : 0) | (ctdp ? 0x02 : 0));
	d[6] = (uint8_t)(len >> 8);
	d[7] = (uint8_t)len;
	if (ctdp) {
		d[9] = 0x0a; /* timeouts descriptor length */
		d[19] = 0x3c;
	}
}

static void test_rsoc_lists_what_passes(void)
{
	static const uint8_t rsoc_all[12] = {0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x02, 0, 0, 0};
	static const uint8_t rsoc_one_fm[12] = {0xa3, 0x0c, 0x01, 0x04, 0, 0, 0, 0, 0, 64, 0, 0};
	static const uint8_t rsoc_one_rw[12] = {0xa3, 0x0c, 0x01, 0x01, 0, 0, 0, 0, 0, 64, 0, 0};
	struct fake_sg_reply all = {.match = {0xa3, 0x0c, 0x80}, .match_len = 3};
	struct fake_sg_reply one = {.match = {0xa3, 0x0c, 0x01}, .match_len = 3};
	uint8_t *d = all.data + 4, buf[512], want[64];
	struct pvs_lun *lun;
	struct cmd c;

	/* the tape drive claims REWIND, FORMAT MEDIUM, READ(6) (timeouts), WRITE BUFFER, C0h */
	rsoc_desc(d, 0x01, 0, false, false, 6);
	rsoc_desc(d + 8, 0x04, 0, false, false, 6);
	rsoc_desc(d + 16, 0x08, 0, false, true, 6);
	rsoc_desc(d + 36, 0x3b, 0, false, false, 10);
	rsoc_desc(d + 44, 0xc0, 0, false, false, 6);
	rsoc_desc(d + 52, 0xa3, 0x0c, true, false, 12);
	pvsi_put_be32(all.data, 60);
	all.data_len = 64;
	/* REPORTING OPTIONS 001b: one opcode, SUPPORT 011b (as the standard says) */
	one.data[1] = 0x03;
	one.data[3] = 6;
	one.data[4] = 0x04;
	one.data_len = 10;
	fake_sg_script(&all);
	fake_sg_script(&one);
	lun = open_typed(0x01, "sg:/dev/sg3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);

	memset(buf, 0xee, sizeof(buf));
	cmd_init(&c, rsoc_all, 12, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	/* what stays: REWIND, READ(6) with its timeouts, RSOC itself */
	rsoc_desc(want + 4, 0x01, 0, false, false, 6);
	rsoc_desc(want + 12, 0x08, 0, false, true, 6);
	rsoc_desc(want + 32, 0xa3, 0x0c, true, false, 12);
	pvsi_put_be32(want, 36);
	CU_ASSERT_EQUAL(memcmp(buf, want, 40), 0);
	CU_ASSERT_EQUAL(c.req.residual, sizeof(buf) - 40);

	/* one command the filter refuses: not supported, whatever the device says */
	memset(buf, 0xee, sizeof(buf));
	cmd_init(&c, rsoc_one_fm, 12, PVS_DIR_FROM_DEV, buf, 64);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[1] & 0x07, 0x01);
	CU_ASSERT_EQUAL(buf[2], 0);
	CU_ASSERT_EQUAL(buf[3], 0);
	CU_ASSERT_EQUAL(c.req.residual, 64 - 4);
	/* one it passes: the device's answer as it is */
	cmd_init(&c, rsoc_one_rw, 12, PVS_DIR_FROM_DEV, buf, 64);
	run(lun, &c);
	CU_ASSERT_EQUAL(buf[1], 0x03);
	CU_ASSERT_EQUAL(c.req.residual, 64 - 10);
	pvs_lun_close(lun);

	/* feature-host: the device's list, untouched */
	lun = open_typed(0x01, "sg:/dev/sg3,raw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	cmd_init(&c, rsoc_all, 12, PVS_DIR_FROM_DEV, buf, sizeof(buf));
	run(lun, &c);
	CU_ASSERT_EQUAL(memcmp(buf, all.data, 64), 0);
	pvs_lun_close(lun);
	fake_sg_set_pdt(0);
}

/* SSC's mode header has WP where SBC's has it; MMC's and SMC's have no such bit. */
static void test_ro_wp_by_type(void)
{
	struct fake_sg_reply ms6 = {
	    .match = {0x1a}, .match_len = 1, .data = {0x0b, 0x00, 0x10, 0x08}, .data_len = 12};
	static const uint8_t ms6_cdb[6] = {0x1a, 0, 0x3f, 0, 12, 0};
	static const struct {
		uint8_t pdt, want;
	} types[] = {{0x01, 0x90}, {0x05, 0x10}, {0x08, 0x10}};
	uint8_t buf[12];
	struct cmd c;

	fake_sg_script(&ms6);
	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct pvs_lun *lun = open_typed(types[i].pdt, "sg:/dev/sg3,ro");

		CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
		mode_sense(lun, ms6_cdb, 6, buf, sizeof(buf), &c);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
		CU_ASSERT_EQUAL(buf[2], types[i].want);
		pvs_lun_close(lun);
	}
	fake_sg_set_pdt(0);
}

static const struct cu_test sg_device_type_tests[] = {
    {"the type from INQUIRY picks the table; raw passes all", test_type_from_inquiry},
    {"no type (INQUIRY fails, qualifier 3): not opened", test_type_unknown_refused},
    {"each refusal logged once, with its reason", test_refusal_logged_once},
    {"REPORT SUPPORTED OPERATION CODES: what passes", test_rsoc_lists_what_passes},
    {"ro: WP in SSC's mode header, not MMC's or SMC's", test_ro_wp_by_type},
};

static const struct cu_test sg_open_tests[] = {
    {"block, partition, other char, bsg, missing refused", test_open_refuses_non_sg},
};

static const struct cu_test sg_unchanged_tests[] = {
    {"CHECK CONDITION, descriptor sense, residual", test_unchanged_check_condition},
    {"other status, device resid, sense with GOOD", test_unchanged_status_and_resid},
    {"host and driver status mapping", test_host_mapping},
    {"sg_io_hdr: iovec, direction, sense buffer, timeout", test_header},
};

static const struct cu_test sg_filter_tests[] = {
    {"FORMAT UNIT, WRITE BUFFER, SANITIZE, vendor blocked", test_filter_blocks},
    {"TUR, INQUIRY, READ/WRITE(10), READ CAPACITY(16) pass", test_filter_allows},
    {"raw passes everything", test_raw_passes_everything},
};

static const struct cu_test sg_read_only_tests[] = {
    {"ro opens; ro with raw refused", test_ro_open},
    {"WRITE/MEDIUM_PARAMS entries: DATA PROTECT, never sent", test_ro_refuses_medium_changes},
    {"MODE SENSE(6)/(10): WP bit set", test_ro_mode_sense_wp},
    {"failed MODE SENSE left as the device returned it", test_ro_mode_sense_error_untouched},
    {"LOG SENSE, INQUIRY: no WP bit added", test_ro_other_data_untouched},
};

static const struct cu_test sg_queueing_tests[] = {
    {"in-flight cap: TASK SET FULL", test_inflight_cap},
    {"write errors: EDOM, EIO", test_write_errors},
    {"ENODEV: the device detached ends the LUN", test_detached_ends_lun},
    {"aborted while at the device", test_aborted_while_at_device},
};

static const struct cu_test sg_block_limits_tests[] = {
    {"B0h: the transfer bound clamps the device's limits", test_b0_clamped},
    {"00h/B0h: a disk without B0h gets one", test_b0_added},
};

static const struct cu_test sg_real_device_tests[] = {
    {"scsi_debug when present", test_real_scsi_debug},
};

/*
 * ---- through io_uring: a device that speaks sg v3 on a socket ----
 *
 * fake_sg's eventfds cannot take io_uring's writes and reads, so here the
 * sg node is one end of a SOCK_SEQPACKET pair (one message per sg_io_hdr,
 * as one write or read per header on sg) and a thread plays the driver on
 * the other: it takes each header written, moves the data-in and sense
 * into the command's buffers as sg_read() does, and sends the header back
 * with the status.  The real io_uring path runs under ASan.
 */
#define USG_PATH "/dev/sgU"

static struct {
	int sv[2];             /* [0] the LUN's, [1] the device's */
	struct io_uring fence; /* with use_fence: the fd handed out */
	bool use_fence;        /* hand out an fd io_uring cannot write to */
	bool fenced;
	bool running;
	pthread_t th;
	pthread_mutex_t mu;
	bool hold;
	struct sg_io_hdr q[64];
	unsigned int nq;
	unsigned int writes;             /* headers the device took */
	unsigned int plain_w, plain_r;   /* ops->write and ops->read calls */
	unsigned int eagain_r, eagain_w; /* answers and writes still to turn into -EAGAIN */
	unsigned int injected;           /* -EAGAINs so turned */
} usg = {.sv = {-1, -1}, .mu = PTHREAD_MUTEX_INITIALIZER};

/* READ(10) answers: every byte the LBA's low byte, so that a mixed-up answer shows. */
static void usg_answer(struct sg_io_hdr *h)
{
	const uint8_t *cdb = h->cmdp;
	ssize_t n;

	h->status = 0;
	h->host_status = 0;
	h->driver_status = 0;
	h->sb_len_wr = 0;
	h->resid = 0;
	if (cdb[0] == 0x28 && h->dxfer_direction == SG_DXFER_FROM_DEV && h->iovec_count == 0) {
		memset(h->dxferp, cdb[5], h->dxfer_len);
	} else if (cdb[0] == 0x00 && cdb[5] == 0x40) {
		/* TEST UNIT READY with control 40h: CHECK CONDITION, NOT READY */
		static const uint8_t sense[18] = {0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04};

		h->status = PVS_STATUS_CHECK_CONDITION;
		h->driver_status = 0x08;
		memcpy(h->sbp, sense, sizeof(sense));
		h->sb_len_wr = sizeof(sense);
	}
	n = send(usg.sv[1], h, sizeof(*h), MSG_NOSIGNAL);
	(void)n;
}

static void *usg_device(void *arg)
{
	(void)arg;
	for (;;) {
		struct sg_io_hdr h;
		ssize_t n = recv(usg.sv[1], &h, sizeof(h), 0);

		if (n <= 0)
			return NULL;
		if ((size_t)n != sizeof(h) || h.interface_id != 'S')
			continue;
		pthread_mutex_lock(&usg.mu);
		usg.writes++;
		if (usg.hold && usg.nq < 64)
			usg.q[usg.nq++] = h;
		else
			usg_answer(&h);
		pthread_mutex_unlock(&usg.mu);
	}
}

static void usg_hold(bool hold)
{
	pthread_mutex_lock(&usg.mu);
	usg.hold = hold;
	pthread_mutex_unlock(&usg.mu);
}

/* Answer what is held, last first when @reverse; returns how many. */
static unsigned int usg_release(bool reverse)
{
	unsigned int n;

	pthread_mutex_lock(&usg.mu);
	n = usg.nq;
	for (unsigned int i = 0; i < n; i++)
		usg_answer(&usg.q[reverse ? n - 1 - i : i]);
	usg.nq = 0;
	pthread_mutex_unlock(&usg.mu);
	return n;
}

static unsigned int usg_writes(void)
{
	unsigned int n;

	pthread_mutex_lock(&usg.mu);
	n = usg.writes;
	pthread_mutex_unlock(&usg.mu);
	return n;
}

/* The device goes away: what the LUN reads next is the end of the stream. */
static void usg_vanish(void)
{
	shutdown(usg.sv[1], SHUT_RDWR);
}

static void usg_stop(void)
{
	if (usg.running) {
		shutdown(usg.sv[1], SHUT_RDWR);
		pthread_join(usg.th, NULL);
		usg.running = false;
	}
	if (usg.sv[1] >= 0)
		close(usg.sv[1]);
	usg.sv[0] = usg.sv[1] = -1;
	usg.fenced = false;
	usg.nq = usg.writes = usg.plain_w = usg.plain_r = 0;
	usg.eagain_r = usg.eagain_w = usg.injected = 0;
	usg.hold = false;
}

static int usg_open(const char *path, int flags)
{
	if (strcmp(path, USG_PATH) != 0 || usg.running) {
		errno = ENOENT;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, usg.sv) < 0)
		return -1;
	if (pthread_create(&usg.th, NULL, usg_device, NULL) != 0) {
		close(usg.sv[0]);
		close(usg.sv[1]);
		errno = EAGAIN;
		return -1;
	}
	usg.running = true;
	/* As sg's own fd: the io_uring path relies on O_NONBLOCK staying. */
	if ((flags & O_NONBLOCK) && fcntl(usg.sv[0], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	if (usg.use_fence) {
		/*
		 * Another io_uring's fd: io_uring's write to it fails -EINVAL
		 * (no write op), and with a multishot poll of sv[0] in it, it
		 * polls readable when sv[0] does, for the plain path.
		 */
		if (io_uring_queue_init(4, &usg.fence, 0) < 0)
			return -1;
		io_uring_prep_poll_multishot(io_uring_get_sqe(&usg.fence), usg.sv[0], POLLIN);
		io_uring_submit(&usg.fence);
		usg.fenced = true;
		return usg.fence.ring_fd;
	}
	return usg.sv[0];
}

static int usg_fstat(int fd, struct stat *st)
{
	(void)fd;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(21, 9);
	return 0;
}

static int usg_ioctl(int fd, unsigned long request, void *arg)
{
	(void)fd;
	if (request == SG_GET_VERSION_NUM) {
		*(int *)arg = 30536;
		return 0;
	}
	if (request == SG_SET_COMMAND_Q)
		return 0;
	if (request == SG_IO) {
		struct sg_io_hdr *h = arg;

		/* The open-time INQUIRY: a disk. */
		memset(h->dxferp, 0, h->dxfer_len);
		h->status = h->host_status = h->driver_status = 0;
		h->resid = 0;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

/* The plain path's calls: never blocking, as on the O_NONBLOCK sg fd. */
static ssize_t usg_write(int fd, const void *buf, size_t len)
{
	(void)fd;
	usg.plain_w++;
	return send(usg.sv[0], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static ssize_t usg_read(int fd, void *buf, size_t len)
{
	(void)fd;
	usg.plain_r++;
	/* The poll's CQEs first: an answer that comes after the recv() posts another. */
	if (usg.fenced)
		io_uring_cq_advance(&usg.fence, io_uring_cq_ready(&usg.fence));
	return recv(usg.sv[0], buf, len, MSG_DONTWAIT);
}

static int usg_close(int fd)
{
	if (usg.fenced && fd == usg.fence.ring_fd) {
		io_uring_queue_exit(&usg.fence);
		usg.fenced = false;
		return close(usg.sv[0]);
	}
	return close(fd);
}

/*
 * The kernel's -EAGAINs: a read woken with the others for one answer that
 * another read took, and a write sg would not take.  An answer turned into
 * -EAGAIN is put back on the device's side, as sg would still hold it; a
 * refused write's header stays with the device, held: the test decides
 * whether its answer comes anyway (it must change nothing).
 */
static int usg_uring_res(bool write, int res, struct sg_io_hdr *h)
{
	ssize_t n;

	if (write && res == (int)sizeof(*h) && usg.eagain_w) {
		usg.eagain_w--;
		usg.injected++;
		return -EAGAIN;
	}
	if (!write && res == (int)sizeof(*h) && usg.eagain_r) {
		usg.eagain_r--;
		usg.injected++;
		pthread_mutex_lock(&usg.mu);
		n = send(usg.sv[1], h, sizeof(*h), MSG_NOSIGNAL);
		pthread_mutex_unlock(&usg.mu);
		CU_ASSERT_EQUAL(n, (ssize_t)sizeof(*h));
		return -EAGAIN;
	}
	return res;
}

static const struct pvsi_sg_ops usg_ops = {
    .open = usg_open,
    .fstat = usg_fstat,
    .ioctl = usg_ioctl,
    .write = usg_write,
    .read = usg_read,
    .close = usg_close,
    .uring = true,
    .uring_res = usg_uring_res,
};

static char usg_notice_msg[512];
static unsigned int usg_notices;

static void usg_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	(void)arg;
	(void)lun;
	usg_notices++;
	snprintf(usg_notice_msg, sizeof(usg_notice_msg), "%s", msg);
}

/* @sleeping: on a sleeping worker's one deferred ring (pvscsid's loops). */
static int usg_setup_on(bool sleeping)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	pvsi_sg_set_ops(&usg_ops);
	setenv("PVS_SG_URING", "1", 1);
	rc = sleeping ? pvs_worker_new_sleeping(64, &W) : pvs_worker_new(64, &W);
	if (rc == 0 && sleeping && !pvs_worker_is_unified(W))
		fprintf(stderr,
		        "(no deferred ring on this kernel: the suite runs on a plain one)\n");
	return rc;
}

static int usg_setup(void)
{
	return usg_setup_on(false);
}

static int usg_setup_sleeping(void)
{
	return usg_setup_on(true);
}

static int usg_teardown(void)
{
	/* Frees what a LUN closed with reads in the ring left behind (pvsi_worker_linger). */
	pvs_worker_free(W);
	W = NULL;
	usg_stop();
	pvsi_sg_set_ops(NULL);
	unsetenv("PVS_SG_URING");
	return 0;
}

static struct pvs_lun *usg_lun(void)
{
	const struct pvs_lun_opts o = {.notice = usg_notice};
	struct pvs_lun *lun = NULL;
	char err[256] = "";
	int rc;

	/* A fresh device: the last LUN closed its end. */
	usg_stop();
	usg_notices = 0;
	usg_notice_msg[0] = 0;
	rc = pvs_lun_open(W, "sg:" USG_PATH, &o, &lun, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return lun;
}

static void read10(struct cmd *c, uint8_t lba, void *buf, size_t len)
{
	uint8_t r10[10] = {0x28, 0, 0, 0, 0, lba, 0, 0, 1, 0};

	cmd_init(c, r10, 10, PVS_DIR_FROM_DEV, buf, len);
}

static unsigned int sum_done(struct cmd *c, unsigned int n)
{
	unsigned int done = 0;

	for (unsigned int i = 0; i < n; i++)
		done += (unsigned int)c[i].done;
	return done;
}

static void wait_all(struct cmd *c, unsigned int n)
{
	for (int t = 0; t < 300 && sum_done(c, n) < n; t++) {
		pvs_worker_flush(W);
		worker_wait(W, 10);
	}
	pvs_worker_poll(W);
}

static void test_uring_one_by_one(void)
{
	uint8_t tur[6] = {0, 0, 0, 0, 0, 0x40}, buf[512];
	struct pvs_lun *lun = usg_lun();
	struct cmd c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(usg_notices, 0);
	for (uint8_t lba = 1; lba <= 5; lba++) {
		read10(&c, lba, buf, sizeof(buf));
		run(lun, &c);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
		CU_ASSERT_EQUAL(c.req.host, PVS_HOST_OK);
		CU_ASSERT_EQUAL(c.req.residual, 0);
		CU_ASSERT_EQUAL(buf[0], lba);
		CU_ASSERT_EQUAL(buf[511], lba);
	}
	/* sense comes back into the request's own buffer, as sg_read() copies it */
	cmd_init(&c, tur, 6, PVS_DIR_NONE, NULL, 0);
	run(lun, &c);
	CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c.req.sense_len, 18);
	CU_ASSERT_EQUAL(c.req.sense[2], 0x02);
	CU_ASSERT_EQUAL(c.req.sense[12], 0x04);
	/* all through the ring: neither write() nor read() of the plain path */
	CU_ASSERT_EQUAL(usg_writes(), 6);
	CU_ASSERT_EQUAL(usg.plain_w, 0);
	CU_ASSERT_EQUAL(usg.plain_r, 0);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	pvs_lun_close(lun);
}

/* QD 16, answered last first, and again in order: each answer to its own command, once. */
static void test_uring_queue_depth(void)
{
	static struct cmd c[PVSI_SG_MAX_INFLIGHT + 1];
	static uint8_t buf[PVSI_SG_MAX_INFLIGHT][512];
	struct pvs_lun *lun = usg_lun();

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	for (int round = 0; round < 3; round++) {
		usg_hold(true);
		for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
			read10(&c[i], (uint8_t)(0x40 + round * 16 + i), buf[i], sizeof(buf[i]));
			pvs_submit(lun, &c[i].req);
		}
		/* one more: TASK SET FULL at once, the device never sees it */
		read10(&c[PVSI_SG_MAX_INFLIGHT], 0xff, buf[0], sizeof(buf[0]));
		pvs_submit(lun, &c[PVSI_SG_MAX_INFLIGHT].req);
		CU_ASSERT_EQUAL(c[PVSI_SG_MAX_INFLIGHT].done, 1);
		CU_ASSERT_EQUAL(c[PVSI_SG_MAX_INFLIGHT].req.status, PVS_STATUS_TASK_SET_FULL);
		for (int t = 0; t < 300 && usg_writes() < (unsigned)(round + 1) * 16; t++)
			worker_wait(W, 10);
		CU_ASSERT_EQUAL(usg_writes(), (unsigned)(round + 1) * 16);
		CU_ASSERT_EQUAL(sum_done(c, PVSI_SG_MAX_INFLIGHT), 0);
		CU_ASSERT_EQUAL(pvs_lun_inflight(lun), PVSI_SG_MAX_INFLIGHT);
		usg_hold(false);
		CU_ASSERT_EQUAL(usg_release(round == 0), PVSI_SG_MAX_INFLIGHT);
		wait_all(c, PVSI_SG_MAX_INFLIGHT);
		for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
			CU_ASSERT_EQUAL(c[i].done, 1);
			CU_ASSERT_EQUAL(c[i].req.status, PVS_STATUS_GOOD);
			CU_ASSERT_EQUAL(buf[i][0], 0x40 + round * 16 + i);
			CU_ASSERT_EQUAL(buf[i][511], 0x40 + round * 16 + i);
		}
		CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	}
	/* nothing completes twice: late CQEs (a write's after its answer) change nothing */
	for (int t = 0; t < 5; t++)
		worker_wait(W, 5);
	for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++)
		CU_ASSERT_EQUAL(c[i].done, 1);
	CU_ASSERT_EQUAL(usg.plain_w + usg.plain_r, 0);
	pvs_lun_close(lun);
}

static void test_uring_aborted(void)
{
	uint8_t buf[512];
	struct pvs_lun *lun = usg_lun();
	struct cmd c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	usg_hold(true);
	read10(&c, 7, buf, sizeof(buf));
	pvs_submit(lun, &c.req);
	for (int t = 0; t < 300 && usg_writes() < 1; t++)
		worker_wait(W, 10);
	CU_ASSERT_EQUAL(c.done, 0);
	/* sg cannot cancel one command: the abort is reported when the device answers */
	c.req.core.flags |= PVSI_RF_ABORTED;
	usg_hold(false);
	usg_release(false);
	wait_done(&c);
	CU_ASSERT_EQUAL(c.req.host, PVS_HOST_ABORTED);
	CU_ASSERT_EQUAL(c.req.residual, sizeof(buf));
	pvs_lun_close(lun);
}

/*
 * Closed with commands at the device (against pvs_lun_close()'s contract,
 * but it must not corrupt memory): the reads in the ring are cancelled,
 * nothing completes afterwards, and the worker frees what they used
 * (ASan's leak check at exit).
 */
static void test_uring_close_in_flight(void)
{
	static struct cmd c[8];
	static uint8_t buf[8][512];
	struct pvs_lun *lun = usg_lun();

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	usg_hold(true);
	for (int i = 0; i < 8; i++) {
		read10(&c[i], (uint8_t)i, buf[i], sizeof(buf[i]));
		pvs_submit(lun, &c[i].req);
	}
	for (int t = 0; t < 300 && usg_writes() < 8; t++)
		worker_wait(W, 10);
	CU_ASSERT_EQUAL(usg_writes(), 8);
	pvs_lun_close(lun);
	usg_hold(false);
	usg_release(false);
	for (int t = 0; t < 5; t++)
		worker_wait(W, 5);
	CU_ASSERT_EQUAL(sum_done(c, 8), 0);
	/* another LUN on the same worker works meanwhile */
	lun = usg_lun();
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	read10(&c[0], 9, buf[0], sizeof(buf[0]));
	run(lun, &c[0]);
	CU_ASSERT_EQUAL(buf[0][0], 9);
	pvs_lun_close(lun);
}

/* The device goes away with commands in flight: all NO_CONNECT, once, and the LUN is gone. */
static void test_uring_device_vanishes(void)
{
	static struct cmd c[4];
	static uint8_t buf[4][512];
	struct pvs_lun *lun = usg_lun();
	struct cmd after;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	usg_hold(true);
	for (int i = 0; i < 4; i++) {
		read10(&c[i], (uint8_t)i, buf[i], sizeof(buf[i]));
		pvs_submit(lun, &c[i].req);
	}
	for (int t = 0; t < 300 && usg_writes() < 4; t++)
		worker_wait(W, 10);
	usg_vanish();
	wait_all(c, 4);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(c[i].done, 1);
		CU_ASSERT_EQUAL(c[i].req.host, PVS_HOST_NO_CONNECT);
	}
	CU_ASSERT_TRUE(pvs_lun_gone(lun));
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	CU_ASSERT_EQUAL(usg_notices, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(usg_notice_msg, "the sg device went away"));
	read10(&after, 1, buf[0], sizeof(buf[0]));
	run(lun, &after);
	CU_ASSERT_EQUAL(after.req.host, PVS_HOST_NO_CONNECT);
	for (int t = 0; t < 5; t++)
		worker_wait(W, 5);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(c[i].done, 1);
	pvs_lun_close(lun);
}

/*
 * By default (no PVS_SG_URING) through io_uring, no write() or read() at
 * all; with PVS_SG_URING=0 the plain write()/read() path.  Both silently.
 */
static void test_uring_default_and_off(void)
{
	static const char *const env[] = {NULL, "0"};
	uint8_t buf[512];
	struct pvs_lun *lun;
	struct cmd c;

	for (unsigned int e = 0; e < 2; e++) {
		if (env[e])
			setenv("PVS_SG_URING", env[e], 1);
		else
			unsetenv("PVS_SG_URING");
		lun = usg_lun();
		CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
		CU_ASSERT_EQUAL(usg_notices, 0);
		for (uint8_t lba = 1; lba <= 3; lba++) {
			read10(&c, lba, buf, sizeof(buf));
			run(lun, &c);
			CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_GOOD);
			CU_ASSERT_EQUAL(buf[0], lba);
		}
		if (env[e]) {
			CU_ASSERT_EQUAL(usg.plain_w, 3);
			CU_ASSERT_TRUE(usg.plain_r >= 3);
		} else {
			CU_ASSERT_EQUAL(usg.plain_w, 0);
			CU_ASSERT_EQUAL(usg.plain_r, 0);
			CU_ASSERT_EQUAL(usg_writes(), 3);
		}
		pvs_lun_close(lun);
	}
	setenv("PVS_SG_URING", "1", 1);
}

/*
 * io_uring refuses the fd (-EINVAL from the first header write): the
 * command goes again by write(), the rest follow, and the notice says so.
 */
static void test_uring_refused_falls_back(void)
{
	static struct cmd c[4];
	static uint8_t buf[4][512];
	struct pvs_lun *lun;

	usg.use_fence = true;
	lun = usg_lun();
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(usg_notices, 0);
	for (int i = 0; i < 4; i++) {
		read10(&c[i], (uint8_t)(i + 1), buf[i], sizeof(buf[i]));
		pvs_submit(lun, &c[i].req);
	}
	wait_all(c, 4);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(c[i].done, 1);
		CU_ASSERT_EQUAL(c[i].req.status, PVS_STATUS_GOOD);
		CU_ASSERT_EQUAL(buf[i][0], i + 1);
	}
	CU_ASSERT_EQUAL(usg_notices, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(usg_notice_msg, "io_uring refused"));
	CU_ASSERT_EQUAL(usg.plain_w, 4);
	read10(&c[0], 9, buf[0], sizeof(buf[0]));
	run(lun, &c[0]);
	CU_ASSERT_EQUAL(buf[0][0], 9);
	CU_ASSERT_EQUAL(usg.plain_w, 5);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	pvs_lun_close(lun);
	usg.use_fence = false;
}

/*
 * Reads that end -EAGAIN, not answered: each is posted again, so that the
 * answer is still taken, once.  One command alone: without the repost no
 * read would be left for it.  Then at QD 16, half the answers twice over.
 */
static void test_uring_read_eagain(void)
{
	static struct cmd c[PVSI_SG_MAX_INFLIGHT];
	static uint8_t buf[PVSI_SG_MAX_INFLIGHT][512];
	struct pvs_lun *lun = usg_lun();

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	usg.eagain_r = 3;
	read10(&c[0], 0x21, buf[0], sizeof(buf[0]));
	run(lun, &c[0]);
	CU_ASSERT_EQUAL(usg.injected, 3);
	CU_ASSERT_EQUAL(c[0].done, 1);
	CU_ASSERT_EQUAL(c[0].req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[0][0], 0x21);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);

	usg.injected = 0;
	usg.eagain_r = PVSI_SG_MAX_INFLIGHT;
	usg_hold(true);
	for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
		read10(&c[i], (uint8_t)(0x80 + i), buf[i], sizeof(buf[i]));
		pvs_submit(lun, &c[i].req);
	}
	for (int t = 0; t < 300 && usg_writes() < 1 + PVSI_SG_MAX_INFLIGHT; t++)
		worker_wait(W, 10);
	usg_hold(false);
	CU_ASSERT_EQUAL(usg_release(true), PVSI_SG_MAX_INFLIGHT);
	wait_all(c, PVSI_SG_MAX_INFLIGHT);
	CU_ASSERT_EQUAL(usg.injected, PVSI_SG_MAX_INFLIGHT);
	for (int t = 0; t < 5; t++)
		worker_wait(W, 5);
	for (int i = 0; i < PVSI_SG_MAX_INFLIGHT; i++) {
		CU_ASSERT_EQUAL(c[i].done, 1);
		CU_ASSERT_EQUAL(c[i].req.status, PVS_STATUS_GOOD);
		CU_ASSERT_EQUAL(buf[i][0], 0x80 + i);
	}
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	CU_ASSERT_EQUAL(usg.plain_w + usg.plain_r, 0);
	CU_ASSERT_EQUAL(usg_notices, 0);
	pvs_lun_close(lun);
}

/*
 * A header write that ends -EAGAIN: the command ends TASK SET FULL, once,
 * for the initiator to retry; an answer the device sends for it anyway
 * completes nothing, and the LUN goes on.
 */
static void test_uring_write_eagain(void)
{
	static struct cmd c[2];
	static uint8_t buf[2][512];
	struct pvs_lun *lun = usg_lun();

	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	usg_hold(true);
	usg.eagain_w = 1;
	read10(&c[0], 0x31, buf[0], sizeof(buf[0]));
	pvs_submit(lun, &c[0].req);
	wait_done(&c[0]);
	CU_ASSERT_EQUAL(usg.injected, 1);
	CU_ASSERT_EQUAL(c[0].done, 1);
	CU_ASSERT_EQUAL(c[0].req.status, PVS_STATUS_TASK_SET_FULL);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	for (int t = 0; t < 300 && usg_writes() < 1; t++)
		worker_wait(W, 10);
	usg_hold(false);
	CU_ASSERT_EQUAL(usg_release(false), 1);
	for (int t = 0; t < 10; t++)
		worker_wait(W, 5);
	CU_ASSERT_EQUAL(c[0].done, 1);
	CU_ASSERT_EQUAL(c[0].req.status, PVS_STATUS_TASK_SET_FULL);
	read10(&c[1], 0x32, buf[1], sizeof(buf[1]));
	run(lun, &c[1]);
	CU_ASSERT_EQUAL(c[1].req.status, PVS_STATUS_GOOD);
	CU_ASSERT_EQUAL(buf[1][0], 0x32);
	CU_ASSERT_EQUAL(pvs_lun_inflight(lun), 0);
	CU_ASSERT_EQUAL(usg_notices, 0);
	pvs_lun_close(lun);
}

/*
 * An sg unit changes worker, through the deferred ring (@uring) or the
 * plain path: its fd's poll and its answer reads go to the new worker.
 * First, a header sg refused leaves an answer read with nothing to answer
 * in the ring: it is cancelled, or the unit would be busy for ever.
 */
static void sg_move(bool uring)
{
	struct pvs_host_cfg cfg = {.worker = W};
	struct pvs_worker *a, *b;
	struct pvs_host *h;
	struct pvs_unit *u;
	struct pvs_unit_wait *wait;
	char err[256] = "";
	uint8_t buf[512];
	struct cmd c;

	setenv("PVS_SG_URING", uring ? "1" : "0", 1);
	usg_stop();
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_worker_new(16, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_new(&cfg, &h), 0);
	CU_ASSERT_EQUAL_FATAL(pvs_host_unit_open_on(h, a, "sg:" USG_PATH, false, NULL, NULL, NULL,
	                                            &u, &wait, err, sizeof(err)),
	                      0);
	if (uring) {
		usg_hold(true);
		usg.eagain_w = 1;
		read10(&c, 0x31, buf, sizeof(buf));
		pvs_submit(pvs_unit_lun(u), &c.req);
		for (int t = 0; t < 300 && !c.done; t++) {
			pvs_worker_flush(a);
			worker_wait(a, 10);
		}
		CU_ASSERT_EQUAL(c.done, 1);
		CU_ASSERT_EQUAL(c.req.status, PVS_STATUS_TASK_SET_FULL);
		CU_ASSERT_EQUAL(usg.injected, 1);
		for (int t = 0; t < 300 && usg_writes() < 1; t++)
			worker_wait(a, 10);
		CU_ASSERT_EQUAL(usg_writes(), 1);
		/* The device never answers it, as sg would not a header it refused. */
		pthread_mutex_lock(&usg.mu);
		usg.nq = 0;
		usg.hold = false;
		pthread_mutex_unlock(&usg.mu);
		CU_ASSERT_TRUE(um_settle(u, a));
	}
	um_check_refused(u, a, b, 0x21);
	um_check_move(u, a, b, 0x22, UM_RO); /* frees a */
	CU_ASSERT_EQUAL(usg.plain_w != 0, !uring);
	pvs_unit_put(u);
	pvs_host_free(h);
	pvs_worker_free(b);
	setenv("PVS_SG_URING", "1", 1);
}

static void test_uring_move(void)
{
	sg_move(true);
}

static void test_plain_move(void)
{
	sg_move(false);
}

static const struct cu_test sg_uring_tests[] = {
    {"one by one: data, sense, no write()/read()", test_uring_one_by_one},
    {"QD 16 answered in any order, each once", test_uring_queue_depth},
    {"aborted while at the device", test_uring_aborted},
    {"closed with commands in flight", test_uring_close_in_flight},
    {"device vanishes: all in flight NO_CONNECT", test_uring_device_vanishes},
    {"default: io_uring; PVS_SG_URING=0: plain path", test_uring_default_and_off},
    {"io_uring refuses the fd: plain path from then on", test_uring_refused_falls_back},
    {"reads that end -EAGAIN are posted again", test_uring_read_eagain},
    {"a write that ends -EAGAIN: TASK SET FULL, once", test_uring_write_eagain},
    {"move: io_uring path to another worker", test_uring_move},
    {"move: plain path to another worker", test_plain_move},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("sg open", setup, teardown, sg_open_tests),
	    CU_SUITE("sg results unchanged", setup, teardown, sg_unchanged_tests),
	    CU_SUITE("sg filter", setup, teardown, sg_filter_tests),
	    CU_SUITE("sg read-only", setup, teardown, sg_read_only_tests),
	    CU_SUITE("sg device types", setup, teardown, sg_device_type_tests),
	    CU_SUITE("sg queueing and errors", setup, teardown, sg_queueing_tests),
	    CU_SUITE("sg block limits", setup, teardown, sg_block_limits_tests),
	    CU_SUITE("sg real device", setup, teardown, sg_real_device_tests),
	    CU_SUITE("sg through io_uring", usg_setup, usg_teardown, sg_uring_tests),
	    CU_SUITE("sg through a sleeping worker's one io_uring", usg_setup_sleeping,
	             usg_teardown, sg_uring_tests),
	};

	return CU_RUN_SUITES(suites);
}
