# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# restart: pvscsid is killed with SIGKILL five times while the guest runs
# fio write+verify, and started again each time; the guest's fio completes
# without a verify error, and xen-scsifront never saw a protocol error (a
# lost or doubled response disables its host: "illegal rqid", "Disabling
# device").  The restarted daemon adopts the ring with the dead one's
# journal (docs/backend.md, "Stop, restart and adoption").
BACKENDS="pvscsid"
TIMEOUT=600

dom0() {
	lun_file disk0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark fio-running 240
	for gap in 2 1 1 2 1; do
		sleep "$gap"
		guest_has_mark_or_end fio-done && fail "fio ended before the restarts did (see the guest part)"
		pvscsid_kill9
		pvscsid_start
	done
	[ "$(grep -c 'adopted ring-ref' "$PVSCSID_LOG")" -ge 5 ] ||
		fail "pvscsid did not adopt the ring after each restart (see pvscsid.log)"
	say "journal replays: $(grep -c 'runs again' "$PVSCSID_LOG" || true)"
}

guest() {
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	mark fio-running
	# Throttled so that it outlasts the five restarts however fast the
	# machine is (two passes of 64 MiB written and read back: >= 80 s).
	# The rate is wall-clock time while dom0's restarts slow down with the
	# build machine's load: at 6 MB/s (40 s) a loaded machine's fifth
	# restart came after fio had ended.
	fio_verify "$sd" --loops=2 --rate=3m
	mark fio-done
	if dmesg | grep -E 'illegal rqid|Disabling device|scsifront.*(error|Error)'; then
		fail "xen-scsifront reported a protocol error across the restarts"
	fi
}
