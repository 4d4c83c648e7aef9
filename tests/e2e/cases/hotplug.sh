# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# hotplug: while fio write+verify runs on a file LUN (0:0:0:0), dom0 hot-adds
# a second LUN (0:0:2:0) with the Reconfiguring handshake; the guest finds it
# and reads back what it wrote; dom0 hot-removes it and the guest sees it go.
# fio on the first LUN never fails.
TIMEOUT=500

dom0() {
	lun_file disk0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark fio-running 240
	lun_file disk1 32M
	vscsi_hot_add "$DOMID" 0 1 "$PDEV" 0:0:2:0
	guest_wait_mark second-used 240
	vscsi_hot_remove "$DOMID" 0 1
}

guest() {
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	# Rounds of fio write+verify on the first LUN until the hot plug is over
	# (so it keeps running whatever the speed of the machine).
	(
		n=0
		while [ ! -e /tmp/hotplug-done ] || [ $n -eq 0 ]; do
			fio_verify "$sd" --size=32M
			n=$((n + 1))
		done
		echo "fio: $n rounds of write+verify passed on $sd"
	) &
	fio_pid=$!
	sleep 2
	kill -0 $fio_pid 2>/dev/null || fail "fio did not start"
	mark fio-running
	wait_lun 0:2:0 120
	sd2=$(sd_of 0:2:0)
	show sg_inq "$(sg_of 0:2:0)"
	show sg_readcap -l "$(sg_of 0:2:0)"
	bytes=$(blockdev --getsize64 "$sd2")
	[ "$bytes" = 33554432 ] || fail "hot-added $sd2 is $bytes bytes, expected 33554432"
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
	run dd if=/tmp/pattern of="$sd2" bs=1M oflag=direct
	run dd if="$sd2" of=/tmp/back bs=1M count=8 iflag=direct
	cmp /tmp/pattern /tmp/back || fail "hot-added $sd2 read back differs"
	kill -0 $fio_pid 2>/dev/null || fail "fio stopped during the hot add"
	mark second-used
	wait_gone 0:2:0 120
	kill -0 $fio_pid 2>/dev/null || fail "fio stopped during the hot remove"
	touch /tmp/hotplug-done
	wait $fio_pid || fail "fio on $sd failed during the hot plug"
	show lsscsi
}
