/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats_ut.c - the LUN core's counters (pvs_lun_get_stats()): what a
 * command adds to them by outcome, and the latency histogram's buckets.
 */
#include <string.h>

#include "cu_run.h"
#include "lun_harness.h"
#include "pvscsi/lun.h"

#define INI 0x11

static struct lh H;

static int setup(void)
{
	return lh_open(&H, "mem:1M", NULL);
}

static int teardown(void)
{
	lh_close(&H);
	return 0;
}

static void test_read_write_counted(void)
{
	uint8_t cdb[10] = {0x28}, buf[4096];
	struct pvs_io_stats st;
	struct lh_res r;

	lh_clear_ua(&H, INI);
	pvs_lun_get_stats(H.lun, &st);
	const struct pvs_io_stats b = st; /* the unit attention lh_clear_ua() took is in it */

	cdb[8] = 2; /* READ(10), two blocks */
	lh_run(&H, INI, cdb, 10, PVS_DIR_FROM_DEV, buf, 1024, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	cdb[0] = 0x2a; /* WRITE(10), three blocks */
	cdb[8] = 3;
	lh_run(&H, INI, cdb, 10, PVS_DIR_TO_DEV, buf, 1536, &r);
	CU_ASSERT_EQUAL(r.status, PVS_STATUS_GOOD);
	pvs_lun_get_stats(H.lun, &st);
	CU_ASSERT_EQUAL(st.commands, b.commands + 2);
	CU_ASSERT_EQUAL(st.bytes_read, b.bytes_read + 1024);
	CU_ASSERT_EQUAL(st.bytes_written, b.bytes_written + 1536);
	CU_ASSERT_EQUAL(st.errors, b.errors);

	uint64_t sum = 0;
	for (unsigned int i = 0; i < PVS_LAT_BUCKETS; i++)
		sum += st.latency[i];
	CU_ASSERT_EQUAL(sum, st.commands);
}

static void test_errors_by_sense_key(void)
{
	uint8_t bad[6] = {0xff}, oob[10] = {0x28}, buf[512];
	struct pvs_io_stats st;
	struct lh_res r;

	lh_clear_ua(&H, INI);
	pvs_lun_get_stats(H.lun, &st);
	const struct pvs_io_stats b = st;

	lh_run(&H, INI, bad, 6, PVS_DIR_NONE, NULL, 0, &r);
	CU_ASSERT_EQUAL(r.key, PVS_KEY_ILLEGAL_REQUEST);
	/* LBA past the end: ILLEGAL REQUEST too, and no byte counted as read. */
	lh_put32(oob + 2, 0x7fffffff);
	oob[8] = 1;
	lh_run(&H, INI, oob, 10, PVS_DIR_FROM_DEV, buf, sizeof(buf), &r);
	CU_ASSERT_EQUAL(r.key, PVS_KEY_ILLEGAL_REQUEST);
	pvs_lun_get_stats(H.lun, &st);
	CU_ASSERT_EQUAL(st.errors, b.errors + 2);
	CU_ASSERT_EQUAL(st.sense_key[PVS_KEY_ILLEGAL_REQUEST],
	                b.sense_key[PVS_KEY_ILLEGAL_REQUEST] + 2);
	CU_ASSERT_EQUAL(st.bytes_read, b.bytes_read);
}

static void tmf_done(struct pvs_tmf *t)
{
	(void)t;
}

static void test_tmf_counted(void)
{
	struct pvs_tmf t = {.fn = PVS_TMF_LUN_RESET, .initiator = INI, .done = tmf_done};
	struct pvs_io_stats st;

	pvs_tmf_submit(H.lun, &t);
	t.fn = PVS_TMF_ABORT_TASK_SET;
	pvs_tmf_submit(H.lun, &t);
	pvs_lun_get_stats(H.lun, &st);
	CU_ASSERT_EQUAL(st.tmf_resets, 1);
	CU_ASSERT_EQUAL(st.tmf_aborts, 1);
}

/* The buckets' edges: below 16 us, exactly 16 us, and far past a second. */
static void test_histogram_buckets(void)
{
	struct pvs_req req = {.status = PVS_STATUS_GOOD};
	struct pvs_io_stats st = {0};

	pvs_io_stats_add(&st, &req, 15999);
	pvs_io_stats_add(&st, &req, 16000);
	pvs_io_stats_add(&st, &req, 1048575000ull);
	pvs_io_stats_add(&st, &req, 5000000000ull);
	CU_ASSERT_EQUAL(st.latency[0], 1);
	CU_ASSERT_EQUAL(st.latency[1], 1);
	CU_ASSERT_EQUAL(st.latency[PVS_LAT_BUCKETS - 2], 1);
	CU_ASSERT_EQUAL(st.latency[PVS_LAT_BUCKETS - 1], 1);
	CU_ASSERT_EQUAL(st.commands, 4);
	CU_ASSERT_EQUAL(st.latency_ns, 15999 + 16000 + 1048575000ull + 5000000000ull);
	CU_ASSERT_EQUAL(pvs_lat_bound_us(PVS_LAT_BUCKETS - 2), 1048576);
}

/* The walk up the bounds that pvs_lat_bucket() replaced: the reference. */
static unsigned int bucket_by_walk(uint64_t lat_ns)
{
	uint64_t us = lat_ns / 1000;
	unsigned int b = 0;

	while (b < PVS_LAT_BUCKETS - 1 && us >= pvs_lat_bound_us(b))
		b++;
	return b;
}

/* Every power of two and its neighbours, in microseconds and in nanoseconds. */
static void test_bucket_matches_walk(void)
{
	static const uint64_t fixed[] = {0,
	                                 1,
	                                 999,
	                                 1000,
	                                 1001,
	                                 15999,
	                                 16000,
	                                 16001,
	                                 UINT64_MAX,
	                                 UINT64_MAX - 1,
	                                 UINT64_MAX / 1000};

	for (unsigned int i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		CU_ASSERT_EQUAL(pvs_lat_bucket(fixed[i]), bucket_by_walk(fixed[i]));
	for (unsigned int k = 0; k < 64; k++) {
		uint64_t p = 1ull << k;

		for (int d = -1; d <= 1; d++) {
			uint64_t ns = p + (uint64_t)(int64_t)d;

			CU_ASSERT_EQUAL(pvs_lat_bucket(ns), bucket_by_walk(ns));
			if (k < 54) {
				uint64_t us = (p + (uint64_t)(int64_t)d) * 1000;

				for (int e = -1; e <= 1; e++)
					CU_ASSERT_EQUAL(pvs_lat_bucket(us + (uint64_t)(int64_t)e),
					                bucket_by_walk(us + (uint64_t)(int64_t)e));
			}
		}
	}
}

/* Aborted and reset commands and host failures are errors without a sense key. */
static void test_host_outcomes(void)
{
	struct pvs_req req = {.status = PVS_STATUS_GOOD, .host = PVS_HOST_ABORTED};
	struct pvs_io_stats st = {0};

	pvs_io_stats_add(&st, &req, 0);
	req.host = PVS_HOST_RESET;
	pvs_io_stats_add(&st, &req, 0);
	req.host = PVS_HOST_ERROR;
	pvs_io_stats_add(&st, &req, 0);
	req.host = PVS_HOST_OK;
	req.status = PVS_STATUS_RESERVATION_CONFLICT;
	pvs_io_stats_add(&st, &req, 0);
	CU_ASSERT_EQUAL(st.errors, 4);
	CU_ASSERT_EQUAL(st.aborted, 1);
	CU_ASSERT_EQUAL(st.reset, 1);
	CU_ASSERT_EQUAL(st.host_errors, 1);
	CU_ASSERT_EQUAL(st.conflicts, 1);
}

static const struct cu_test lun_tests[] = {
    {"reads and writes", test_read_write_counted},
    {"errors by sense key", test_errors_by_sense_key},
    {"task management", test_tmf_counted},
};
static const struct cu_test add_tests[] = {
    {"histogram buckets", test_histogram_buckets},
    {"bucket as the walk up the bounds", test_bucket_matches_walk},
    {"host outcomes", test_host_outcomes},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("lun", setup, teardown, lun_tests),
	    CU_SUITE("add", NULL, NULL, add_tests),
	};

	return CU_RUN_SUITES(suites);
}
