#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in dom0 for tests/bench/xen.sh, in place of the e2e harness's
# dom0-main.sh (lib/dom0-init starts it from the run config's DOM0_MAIN):
# brings up the Xen control plane with the harness's dom0-env.sh (which
# finds the bench guest's kernel and initramfs where dom0-init put them),
# then runs tests/bench/xen-case.sh (both backends, one guest) in its own
# process.
#
# usage: xen-dom0.sh OUT
set -eu

OUT=$1
# shellcheck disable=SC1091
. "$OUT/config"
E2E_DIR=$REPO/tests/e2e
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
export OUT REPO KVER MODDIR PVSCSID E2E_DIR BENCH_RUNTIME BENCH_ROUNDS
export BENCH_STRACE=${BENCH_STRACE:-} BENCH_ALT=${BENCH_ALT:-}
export BENCH_PVSCSID_ARGS=${BENCH_PVSCSID_ARGS:-} BENCH_PVSCSID_ENV=${BENCH_PVSCSID_ENV:-}
export BENCH_FILE_OPTS=${BENCH_FILE_OPTS:-}
# shellcheck source=../e2e/lib/dom0-env.sh
. "$E2E_DIR/lib/dom0-env.sh"

main() {
	local rc=0
	if ! dom0_env_up; then
		say "FATAL: dom0 setup failed: $DOM0_ENV_ERROR"
		return 1
	fi
	say "=== bench: xen-scsiback and pvscsid in one guest, $BENCH_ROUNDS rounds"
	timeout -k 10 "$CASE_TIMEOUT" bash "$REPO/tests/bench/xen-case.sh" || rc=$?
	mkdir -p "$OUT/same"
	[ -s "$OUT/same/result" ] || echo "FAIL same: xen-case.sh ended with status $rc" >"$OUT/same/result"
	say "$(cat "$OUT/same/result")"
}

main 2>&1 | tee -a "$OUT/dom0.log"
sync
