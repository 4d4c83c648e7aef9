# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# What every tests/tool script reports with, sourced at its top:
#   ok NAME / fail NAME [DETAIL...]   one result line (details indented below)
#   check NAME EXPECTED ACTUAL        ok when they are equal, else both shown
#   finish                            the 'N passed, N failed' line; false on a failure
# run-unit.sh reads that last line.

passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	for l in "$@"; do echo "  $l"; done
}

check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
