#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the CUnit binaries (and shell test scripts, *.sh, which end with their
# own 'N passed, N failed' line) given as arguments, keep each one's output
# under build/asan/tests/logs/, and end with one 'N passed, N failed' line
# summing the counts.  A binary that crashes or exits non-zero without
# reporting a failed test counts as one failure, so a sanitizer abort can
# never pass silently.
#
# The suites that mostly wait on a real component over the network (the
# iSCSI target of iscsi_ut, the Ceph cluster of rbd_ut: logins, restarts,
# 10 s timeouts) start first, in the background.  The others run in two
# lanes side by side that take them from one queue, the longest first (the
# shell suites that start daemons and wait for them, build a package, run
# the bench's smoke run), so that neither lane ends long before the other.
# The results are read in the order given.
set -u

logdir=build/asan/tests/logs
mkdir -p "$logdir"
passed=0
failed=0
bad=""
# Leaks in a test are as much a defect as in the daemon.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

idle_bound() {
	case $(basename "$1") in
	iscsi_ut | rbd_ut) return 0 ;;
	*) return 1 ;;
	esac
}

run() { # TEST: its log, and its exit status in LOG.rc
	_log="$logdir/$(basename "$1").log"
	"$1" >"$_log" 2>&1
	echo $? >"$_log.rc"
}

bg=""
for t in "$@"; do
	if idle_bound "$t"; then
		run "$t" &
		bg="$bg $!"
	fi
done
# The queue: the longest suites (measured) first, then the other shell
# suites, then the binaries.  A lane takes a suite by making its claim
# directory, which only one of the two can.
slow="vhost-user-cli_ut.sh deb_ut.sh bench_ut.sh pvscsi-cdb.sh"
queue=""
for s in $slow; do
	for t in "$@"; do [ "$(basename "$t")" = "$s" ] && queue="$queue $t"; done
done
for t in "$@"; do
	case " $slow " in *" $(basename "$t") "*) continue ;; esac
	case "$t" in *.sh) queue="$queue $t" ;; esac
done
for t in "$@"; do
	case "$t" in *.sh) continue ;; esac
	idle_bound "$t" || queue="$queue $t"
done
claims=$(mktemp -d)
lane() {
	for t in $queue; do
		mkdir "$claims/$(basename "$t")" 2>/dev/null && run "$t"
	done
}
lane &
bg="$bg $!"
lane
# shellcheck disable=SC2086 # the pids, word by word
wait $bg
rm -rf "$claims"

for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
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
