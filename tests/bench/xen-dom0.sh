#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in dom0 for tests/bench/xen.sh, in place of the e2e harness's
# dom0-main.sh (lib/dom0-init starts it from the run config's DOM0_MAIN):
# brings up the Xen control plane with the harness's dom0-env.sh (which
# finds the bench guest's kernel and initramfs where dom0-init put them),
# then runs tests/bench/xen-case.sh for each backend and round in its own
# process.
#
# usage: xen-dom0.sh OUT
set -eu

OUT=$1
# shellcheck disable=SC1091
. "$OUT/config"
E2E_DIR=$REPO/tests/e2e
export OUT REPO KVER MODDIR PVSCSID E2E_DIR BENCH_RUNTIME
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
export BENCH_STRACE=${BENCH_STRACE:-}
# shellcheck source=../e2e/lib/dom0-env.sh
. "$E2E_DIR/lib/dom0-env.sh"

main() {
	local b r d rc
	if ! dom0_env_up; then
		say "FATAL: dom0 setup failed: $DOM0_ENV_ERROR"
		return 1
	fi
	# Rounds alternate the backends (kernel, pvscsid, kernel, ...) so that a
	# change in the machine's speed does not fall on one backend only.
	for r in $(seq "$BENCH_ROUNDS"); do
		for b in $BENCH_BACKENDS; do
			d=$b-$r
			say "=== bench $b, round $r"
			rc=0
			timeout -k 10 "$CASE_TIMEOUT" bash "$REPO/tests/bench/xen-case.sh" "$b" "$r" || rc=$?
			mkdir -p "$OUT/$d"
			[ -s "$OUT/$d/result" ] || echo "FAIL $d: xen-case.sh ended with status $rc" >"$OUT/$d/result"
			say "$(cat "$OUT/$d/result")"
		done
	done
}

main 2>&1 | tee -a "$OUT/dom0.log"
sync
