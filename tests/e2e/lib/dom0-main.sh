#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in dom0 (the build machine's / over 9p, with a tmpfs overlay), started
# by lib/dom0-init.  Brings up the Xen control plane (xenstored, xenconsoled),
# then runs the selected cases one after the other, each in its own process
# (lib/run-case.sh), and appends one line per case to OUT/case-results.
# The run configuration is OUT/config, written by run.sh on the build machine.
#
# usage: dom0-main.sh OUT
set -eu

OUT=$1
# shellcheck disable=SC1091
. "$OUT/config" # REPO BUILD KVER MODDIR CASES PVSCSID DEB_DIR
E2E_DIR=$REPO/tests/e2e
# SOAK_SECS: the soak case's length (make soak); empty for its default.
[ -n "${SOAK_SECS:-}" ] || unset SOAK_SECS
# E2E_PVSCSID_ARGS: options for every pvscsid of the run, after the case's own.
export OUT REPO BUILD KVER MODDIR PVSCSID DEB_DIR E2E_DIR ${SOAK_SECS+SOAK_SECS} \
	E2E_PVSCSID_ARGS
# shellcheck source=dom0-env.sh
. "$E2E_DIR/lib/dom0-env.sh"
# shellcheck source=boot.sh
. "$E2E_DIR/lib/boot.sh" # case_timeout

setup_failed() {
	say "FATAL: dom0 setup failed: $*"
	for c in $CASES; do
		echo "FAIL $c: dom0 setup failed: $*" >>"$OUT/case-results"
	done
	exit 1
}

run_cases() {
	local c backend name start line t npass=0 nfail=0
	for c in $CASES; do
		backend=${c%%/*}
		name=${c#*/}
		say "=== $c"
		start=$(date +%s)
		# run-case.sh enforces its own timeouts; this one is the safety net:
		# the case's guest TIMEOUT plus time to set up and tear down.
		t=$(case_timeout "$name")
		CASE_TIMEOUT=$((t + 400))
		timeout -k 30 "$CASE_TIMEOUT" bash "$E2E_DIR/lib/run-case.sh" "$backend" "$name" || true
		line=$(cat "$OUT/$backend/$name/result" 2>/dev/null || true)
		if [ -z "$line" ]; then
			line="FAIL $c: case did not finish within ${CASE_TIMEOUT}s (killed)"
			bash "$E2E_DIR/lib/run-case.sh" --cleanup "$backend" "$name" || true
		fi
		if [ $(($(cat /proc/sys/kernel/tainted) & 128)) != 0 ]; then
			# The kernel oopsed: nothing after this can be trusted.  run.sh
			# boots again for the cases that are left.
			case $line in PASS*) line="FAIL $c: dom0 kernel oops during the case" ;; esac
			echo "$line" >>"$OUT/case-results"
			echo "dom0 kernel oops during $c" >"$OUT/aborted"
			say "$line"
			say "ABORT: dom0 kernel oops: $(dmesg | grep -m1 -E 'BUG:|Oops|general protection' || true)"
			return 0
		fi
		echo "$line" >>"$OUT/case-results"
		case $line in
		PASS*) npass=$((npass + 1)) ;;
		*) nfail=$((nfail + 1)) ;;
		esac
		say "$line ($(($(date +%s) - start)) s)"
	done
	say "done: $npass passed, $nfail failed"
}

main() {
	dom0_env_up || setup_failed "$DOM0_ENV_ERROR"
	run_cases
}

# Everything also goes to OUT/dom0.log; the pipeline makes sure tee has
# written it all before dom0-init powers off.
main 2>&1 | tee -a "$OUT/dom0.log"
sync
