#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The body of 'make check': run every suite even when an earlier one fails,
# so that one red run shows everything that is broken, then print one
# summary with the sum of the suites' 'N passed, N failed' lines.
#
# usage: tests/check-all.sh TARGET...     (make targets, run in order)
#        A TARGET of the form a+b runs make a and make b side by side; their
#        logs are printed whole, one after the other, once both have ended.
set -u
make=${MAKE:-make}
mkdir -p build/check
summary=build/check/summary
: >"$summary"
rc=0

# One suite's make, its exit status into build/check/T.rc.
run_one() {
	$make --no-print-directory "$1"
	echo $? >"build/check/$1.rc"
}

# The summary row of a suite that has ended.
account() {
	t=$1
	log=build/check/$t.log
	r=$(cat "build/check/$t.rc")
	[ "$r" -eq 0 ] || rc=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	printf '%-14s exit %s  %-24s %5s s\n' "$t" "$r" "${line:-(no test count)}" \
		"$2" >>"$summary"
}

for group in "$@"; do
	start=$(date +%s)
	case "$group" in
	*+*)
		targets=$(echo "$group" | tr '+' ' ')
		pids=""
		for t in $targets; do
			run_one "$t" >"build/check/$t.log" 2>&1 &
			pids="$pids $!"
		done
		# shellcheck disable=SC2086
		wait $pids
		for t in $targets; do
			echo "== $t (run beside: $group)"
			cat "build/check/$t.log"
		done
		;;
	*)
		targets=$group
		run_one "$group" 2>&1 | tee "build/check/$group.log"
		;;
	esac
	secs=$(($(date +%s) - start))
	for t in $targets; do
		account "$t" "$secs"
	done
done
echo "== make check summary"
cat "$summary"
p=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "passed,") s += $i } END { print s + 0 }' "$summary")
f=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "failed") s += $i } END { print s + 0 }' "$summary")
# A suite that exits non-zero without counting a failure still fails the run.
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "$p passed, $f failed"
exit $rc
