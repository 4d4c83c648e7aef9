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

int cu_run(const char *suite, const struct cu_test *tests, size_t n);

#define CU_RUN(suite, tests) cu_run((suite), (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
