#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The body of 'make check': run every suite even when an earlier one fails,
# so that one red run shows everything that is broken, then print one
# summary with the sum of the suites' 'N passed, N failed' lines.
#
# usage: tests/check-all.sh TARGET...     (make targets, run in order)
set -u
make=${MAKE:-make}
mkdir -p build/check
summary=build/check/summary
: >"$summary"
rc=0
for t in "$@"; do
	log=build/check/$t.log
	{
		$make --no-print-directory "$t"
		echo $? >"build/check/$t.rc"
	} 2>&1 | tee "$log"
	r=$(cat "build/check/$t.rc")
	[ "$r" -eq 0 ] || rc=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	printf '%-14s exit %s  %s\n' "$t" "$r" "${line:-(no test count)}" >>"$summary"
done
echo "== make check summary"
cat "$summary"
p=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "passed,") s += $i } END { print s + 0 }' "$summary")
f=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "failed") s += $i } END { print s + 0 }' "$summary")
# A suite that exits non-zero without counting a failure still fails the run.
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "$p passed, $f failed"
exit $rc
