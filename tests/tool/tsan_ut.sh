#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The suites that run threads, built with ThreadSanitizer (build/tsan): the
# daemon with two event-loop threads (daemon_ut) and the worker's one-owner
# rule (worker_ut).  A suite passes when CUnit reports no failure and
# ThreadSanitizer no race; tests/tsan.supp lists what the fakes' guest side
# does to the shared ring, which the ring protocol orders.
#
# Usage: tests/tool/tsan_ut.sh   (from the top of the tree, after
# make build/tsan/tests/daemon_ut build/tsan/tests/worker_ut).
set -u
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /tmp/tsan_ut.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for t in daemon_ut worker_ut; do
	bin=build/tsan/tests/$t
	if [ ! -x "$bin" ]; then
		fail "$t under ThreadSanitizer" "$bin is not built (make $bin)"
		continue
	fi
	TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp exitcode=66 history_size=4" \
		"$bin" >"$tmp/$t.log" 2>&1
	rc=$?
	races=$(grep -c 'WARNING: ThreadSanitizer' "$tmp/$t.log")
	failed_tests=$(awk '$1 == "tests" { print $5 }' "$tmp/$t.log")
	if [ "$rc" = 0 ] && [ "$races" = 0 ] && [ "${failed_tests:-x}" = 0 ]; then
		ok "$t under ThreadSanitizer ($(awk '$1 == "tests" { print $4 }' "$tmp/$t.log") tests, no race)"
	else
		fail "$t under ThreadSanitizer: exit $rc, $races races, ${failed_tests:-no} failed tests" \
			"$(grep -A12 -m1 'WARNING: ThreadSanitizer\|FAILED' "$tmp/$t.log")"
	fi
done
finish
