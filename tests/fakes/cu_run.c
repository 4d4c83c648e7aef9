/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cu_run.c - see cu_run.h.
 */
#include <CUnit/Basic.h>

#include "cu_run.h"

int cu_run_suites(const struct cu_suite *suites, size_t n)
{
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < n; i++) {
		CU_pSuite s = CU_add_suite(suites[i].name, suites[i].init, suites[i].clean);

		if (!s) {
			CU_cleanup_registry();
			return 2;
		}
		for (size_t j = 0; j < suites[i].n; j++)
			if (!CU_add_test(s, suites[i].tests[j].name, suites[i].tests[j].fn)) {
				CU_cleanup_registry();
				return 2;
			}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

int cu_run(const char *suite, const struct cu_test *tests, size_t n)
{
	const struct cu_suite s = {suite, NULL, NULL, tests, n};

	return cu_run_suites(&s, 1);
}
