#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the CUnit binaries (and shell test scripts, *.sh, which end with their
# own 'N passed, N failed' line) given as arguments, keep each one's output
# under build/asan/tests/logs/, and end with one 'N passed, N failed' line
# summing the counts.  A binary that crashes or exits non-zero without
# reporting a failed test counts as one failure, so a sanitizer abort can
# never pass silently.
set -u

logdir=build/asan/tests/logs
mkdir -p "$logdir"
passed=0
failed=0
bad=""
# Leaks in a test are as much a defect as in the daemon.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	"$t" >"$log" 2>&1
	rc=$?
	case "$t" in
	*.sh)	row=$(awk '$2 == "passed," && $4 == "failed" { print 0, $1, $3 }' "$log" | tail -n 1) ;;
	# CUnit's summary row: "tests  <total> <ran> <passed> <failed> <inactive>"
	*)	row=$(awk '$1 == "tests" && NF >= 5 { print $3, $4, $5 }' "$log" | tail -n 1) ;;
	esac
	p=0
	f=0
	if [ -n "$row" ]; then
		p=$(echo "$row" | cut -d' ' -f2)
		f=$(echo "$row" | cut -d' ' -f3)
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		bad="$bad $name"
		echo "FAIL $name (exit $rc): $log"
		grep -E 'FAILED|ERROR: AddressSanitizer|runtime error|Assertion' "$log" | head -n 20
	else
		echo "ok   $name: $p tests"
	fi
done

[ -n "$bad" ] && echo "failing suites:$bad"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
