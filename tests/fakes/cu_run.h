/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cu_run.h - the main() of a table-driven CUnit suite: register, run
 * verbosely, and turn the outcome into an exit status tests/run-unit.sh
 * understands (0 all passed, 1 a failure, 2 CUnit itself failed).
 */
#ifndef CU_RUN_H
#define CU_RUN_H

#include <CUnit/CUnit.h>
#include <stddef.h>

struct cu_test {
	const char *name;
	CU_TestFunc fn;
};

/* One suite of a binary that has several, each with its own set-up and tear-down (or NULL). */
struct cu_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc clean;
	const struct cu_test *tests;
	size_t n;
};

int cu_run(const char *suite, const struct cu_test *tests, size_t n);
int cu_run_suites(const struct cu_suite *suites, size_t n);

#define CU_NELEM(a)          (sizeof(a) / sizeof((a)[0]))
#define CU_RUN(suite, tests) cu_run((suite), (tests), CU_NELEM(tests))
#define CU_SUITE(name, init, clean, tests)                                                         \
	{                                                                                          \
		(name), (init), (clean), (tests), CU_NELEM(tests)                                  \
	}
#define CU_RUN_SUITES(suites) cu_run_suites((suites), CU_NELEM(suites))

#endif
