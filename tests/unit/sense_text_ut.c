/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sense_text_ut.c - common/sense_text.c: libsgutils2's words for sense keys,
 * additional sense codes and status, and one line for a whole sense buffer
 * in either format, with short, empty and malformed buffers.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "cu_run.h"
#include "sense_text.h"

static void test_key_asc_status(void)
{
	char b[128];

	CU_ASSERT_STRING_EQUAL(psense_key_text(5, b, sizeof(b)), "Illegal Request");
	CU_ASSERT_STRING_EQUAL(psense_key_text(6, b, sizeof(b)), "Unit Attention");
	CU_ASSERT_STRING_EQUAL(psense_asc_text(0x21, 0, b, sizeof(b)),
	                       "Logical block address out of range");
	CU_ASSERT_STRING_EQUAL(psense_asc_text(0x3a, 0, b, sizeof(b)), "Medium not present");
	/* A vendor's code still gets words that name it. */
	CU_ASSERT_STRING_EQUAL(psense_asc_text(0xf0, 0x01, b, sizeof(b)),
	                       "vendor specific ASC=f0, ASCQ=01 (hex)");
	CU_ASSERT_STRING_EQUAL(psense_status_text(2, b, sizeof(b)), "Check Condition");
	CU_ASSERT_STRING_EQUAL(psense_status_text(0x18, b, sizeof(b)), "Reservation Conflict");
	/* A short buffer is cut, never overrun. */
	memset(b, 'x', sizeof(b));
	psense_asc_text(0x21, 0, b, 8);
	CU_ASSERT_EQUAL(strlen(b), 7);
	CU_ASSERT_EQUAL(b[8], 'x');
}

static void test_line(void)
{
	static const uint8_t fixed[18] = {0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0};
	static const uint8_t desc[8] = {0x72, 2, 0x3a, 0, 0, 0, 0, 0};
	char b[160];

	CU_ASSERT_STRING_EQUAL(psense_line(fixed, sizeof(fixed), b, sizeof(b)),
	                       "Illegal Request: Logical block address out of range (21h/00h)");
	CU_ASSERT_STRING_EQUAL(psense_line(desc, sizeof(desc), b, sizeof(b)),
	                       "Not Ready: Medium not present (3Ah/00h)");
	CU_ASSERT_STRING_EQUAL(psense_line(fixed, 0, b, sizeof(b)), "no sense");
	CU_ASSERT_STRING_EQUAL(psense_line((const uint8_t[]){0x12, 0x34}, 2, b, sizeof(b)),
	                       "malformed sense (2 bytes)");
}

/* Which completions the transports log as device errors, and how often. */
static void test_device_error(void)
{
	static const uint8_t medium[18] = {0x70, 0, 3, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0};
	static const uint8_t illegal[18] = {0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0};
	struct pvs_req req;
	uint64_t count = 0;
	unsigned int logged = 0;
	char b[256];

	memset(&req, 0, sizeof(req));
	req.cdb[0] = 0x28;
	req.cdb_len = 10;
	req.status = PVS_STATUS_CHECK_CONDITION;
	memcpy(req.sense, medium, sizeof(medium));
	req.sense_len = sizeof(medium);
	CU_ASSERT_TRUE(psense_device_error(&req, &count, b, sizeof(b)));
	CU_ASSERT_STRING_EQUAL(b,
	                       "READ(10) failed: Medium Error: Unrecovered read error (11h/00h)");
	/* The guest's own mistakes and good completions are not the device's. */
	memcpy(req.sense, illegal, sizeof(illegal));
	CU_ASSERT_FALSE(psense_device_error(&req, &count, b, sizeof(b)));
	req.status = PVS_STATUS_GOOD;
	req.sense_len = 0;
	CU_ASSERT_FALSE(psense_device_error(&req, &count, b, sizeof(b)));
	CU_ASSERT_EQUAL(count, 1);
	/* The first ten each, then every 1000th, saying so. */
	req.status = PVS_STATUS_CHECK_CONDITION;
	memcpy(req.sense, medium, sizeof(medium));
	req.sense_len = sizeof(medium);
	for (unsigned int i = 1; i < 3000; i++) {
		if (psense_device_error(&req, &count, b, sizeof(b))) {
			logged++;
			if (count == PSENSE_DEV_LOGGED)
				CU_ASSERT_PTR_NOT_NULL(
				    strstr(b, "(from now on every 1000th is logged)"));
			if (count == 2000)
				CU_ASSERT_PTR_NOT_NULL(strstr(b, "(1000 more)"));
		}
	}
	CU_ASSERT_EQUAL(count, 3000);
	CU_ASSERT_EQUAL(logged, PSENSE_DEV_LOGGED - 1 + 3);
}

static const struct cu_test tests[] = {
    {"key, asc and status words", test_key_asc_status},
    {"one line for a sense buffer", test_line},
    {"device errors for the logs", test_device_error},
};

int main(void)
{
	return CU_RUN("sense_text", tests);
}
