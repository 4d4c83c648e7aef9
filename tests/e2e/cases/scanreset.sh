# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# scanreset: the guest sends LUN resets (sg_reset -d) to an idle disk, one
# every 0.2 s, while dom0 hot-adds and removes a second LUN ten times, so
# that the resets meet the guest's scan of the new LUN.  It reproduces the
# xen-scsifront freeze of docs/compat.md (a command answered during a
# reset) with a LUN scan as the command: on Linux 6.1 it fails behind both
# backends in the same boot (the guest's vCPU spins on host_lock, see
# xenctx.txt), and it passes once the frontend is fixed.
#
# Run only when named: it fails for a reason that is not ours, and the
# soak case keeps its resets clear of scans instead (host_busy 0 first).
DEFAULT=no
TIMEOUT=900

dom0() {
	local i
	lun_file disk0 16M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark resetting 240
	for i in 1 2 3 4 5 6 7 8 9 10; do
		lun_file "hot$i" 8M
		vscsi_hot_add "$DOMID" 0 1 "$PDEV" 0:0:2:0
		say "round $i: 0:0:2:0 added"
		sleep 1
		vscsi_hot_remove "$DOMID" 0 1
	done
	lun_file end 1M
	vscsi_hot_add "$DOMID" 0 2 "$PDEV" 0:0:9:0
}

guest() {
	wait_lun 0:0:0
	sg=$(sg_of 0:0:0)
	(
		n=0
		while [ ! -e /tmp/scanreset-done ]; do
			sg_reset -d "$sg" >/dev/null 2>&1 || echo "sg_reset -d $sg failed"
			n=$((n + 1))
			sleep 0.2
		done
		echo "guest: $n LUN resets sent to $sg"
	) &
	reset_pid=$!
	mark resetting
	wait_lun 0:9:0 800
	touch /tmp/scanreset-done
	wait $reset_pid
}
