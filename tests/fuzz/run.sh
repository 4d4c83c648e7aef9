#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run libFuzzer targets one after another (one process at a time: the
# machines this runs on are small and shared), and end with one
# 'N passed, N failed' line, as tests/run-unit.sh does, for make check's
# summary.
#
# usage: tests/fuzz/run.sh [-k] [-t SECS] [-r RUNS] build/fuzz/NAME_fuzz...
#   -t SECS  run each target this long (-max_total_time)
#   -r RUNS  or until it has run this many inputs (-runs), if sooner
#   -k       keep the corpus: start from build/fuzz/corpus/NAME (what earlier
#            runs found) plus the seeds, and add to it (make fuzz); without
#            -k each target starts from the seeds in tests/fuzz/corpus/NAME
#            in a fresh directory, with a fixed seed (make check-fuzz), so
#            that two smoke runs differ only by how many inputs fit in SECS
#
# Per target: the log in build/fuzz/logs/NAME.log, and a crashing, leaking,
# hanging or out-of-memory input in build/fuzz/artifacts/NAME/ (rerun it with
# build/fuzz/NAME_fuzz FILE).  tests/fuzz/NAME.options holds extra libFuzzer
# flags (-max_len=...), one per line; tests/fuzz/NAME.dict a dictionary.
set -u

secs=15
runs=-1
keep=0
while getopts kt:r: o; do
	case $o in
	k) keep=1 ;;
	t) secs=$OPTARG ;;
	r) runs=$OPTARG ;;
	*)
		echo "usage: $0 [-k] [-t SECS] [-r RUNS] BIN..." >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))

passed=0
failed=0
bad=""
mkdir -p build/fuzz/logs
# Leaks are checked per input (libFuzzer's -detect_leaks), sanitizer reports abort.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Leaks in a library that is not ours (each entry says why).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp}"

for bin in "$@"; do
	name=$(basename "$bin" _fuzz)
	seeds=tests/fuzz/corpus/$name
	art=build/fuzz/artifacts/$name
	log=build/fuzz/logs/$name.log
	if [ "$keep" = 1 ]; then
		work=build/fuzz/corpus/$name
		seed=0 # libFuzzer picks one: long runs should not repeat each other
	else
		work=build/fuzz/check/$name
		rm -rf "$work"
		seed=1
	fi
	mkdir -p "$work" "$art"
	# Paths here have no blanks: the flags are split on them.
	opts="-seed=$seed -max_total_time=$secs -runs=$runs -timeout=30 -rss_limit_mb=2048"
	opts="$opts -print_final_stats=1 -artifact_prefix=$art/"
	[ -f "tests/fuzz/$name.dict" ] && opts="$opts -dict=tests/fuzz/$name.dict"
	[ -f "tests/fuzz/$name.options" ] && opts="$opts $(grep -v '^#' "tests/fuzz/$name.options")"
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" $opts "$work" "$seeds" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(awk '/^stat::number_of_executed_units/ { print $NF }' "$log" | tail -n 1)
	# The last status line: "#N  DONE   cov: C ft: F corp: ..."
	cov=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -n 1 |
		sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1 ft \2 corpus \3/')
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name: ${execs:-?} execs in ${took} s, ${cov:-no coverage line}"
	else
		failed=$((failed + 1))
		bad="$bad $name"
		echo "FAIL $name (exit $rc after ${took} s): $log"
		grep -E 'invariant failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|Test unit written to' "$log" | head -n 12
	fi
done

[ -n "$bad" ] && echo "failing fuzz targets:$bad"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
