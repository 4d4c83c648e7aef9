#!/bin/bash
# Runs in dom0 for tests/bench/xen.sh, in place of the e2e harness's
# dom0-main.sh (lib/dom0-init starts it from the run config's DOM0_MAIN):
# brings up the Xen control plane with the harness's dom0-env.sh, copies
# the guest's kernel and initramfs to dom0's tmpfs (xl create reads them
# much faster there than over 9p), then runs tests/bench/xen-case.sh for
# each backend in its own process.
#
# usage: xen-dom0.sh OUT
set -eu

OUT=$1
# shellcheck disable=SC1091
. "$OUT/config"
E2E_DIR=$REPO/tests/e2e
export OUT REPO KVER MODDIR PVSCSID E2E_DIR BENCH_RUNTIME
# shellcheck source=../e2e/lib/dom0-env.sh
. "$E2E_DIR/lib/dom0-env.sh"

main() {
	local b rc
	if ! dom0_env_up; then
		say "FATAL: dom0 setup failed: $DOM0_ENV_ERROR"
		return 1
	fi
	mkdir -p /var/tmp/bench/kernel/boot
	cp "$BUILD/kernel/boot/vmlinuz-$KVER" /var/tmp/bench/kernel/boot/
	cp "$BENCH_GUEST_IMG" /var/tmp/bench/domU-initramfs.cpio.gz
	for b in $BENCH_BACKENDS; do
		say "=== bench $b"
		rc=0
		timeout -k 10 "$CASE_TIMEOUT" bash "$REPO/tests/bench/xen-case.sh" "$b" || rc=$?
		mkdir -p "$OUT/$b"
		[ -s "$OUT/$b/result" ] || echo "FAIL $b: xen-case.sh ended with status $rc" >"$OUT/$b/result"
		say "$(cat "$OUT/$b/result")"
	done
}

main 2>&1 | tee -a "$OUT/dom0.log"
sync
