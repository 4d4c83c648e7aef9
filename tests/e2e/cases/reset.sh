# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# reset: LUN resets from the guest (sg_reset -d, xen-scsifront's device
# reset) while reads are in flight: the reset ends them, the guest retries
# them, and they succeed; the device stays running.
#
# The LUN is a device-mapper `delay` device (1.5 s per I/O), so that the
# reads are still in flight when the reset comes and no answer can arrive
# between the guest's start of the reset and its request reaching pvscsid:
# xen-scsifront freezes the guest when an answer arrives then
# (docs/compat.md, "xen-scsifront freezes the guest").  pvscsid holds the
# ended reads' answers behind the reset's own; without that the guest froze
# at the first reset.  pvscsid only: the kernel backend answers the ended
# reads before the reset and froze the guest in two of three runs.
BACKENDS="pvscsid"
TIMEOUT=400

case_cleanup() {
	dmsetup --noudevsync remove pvslow 2>/dev/null || true
	[ -z "${LOOPDEV:-}" ] || losetup -d "$LOOPDEV" 2>/dev/null || true
}

dom0() {
	modprobe -a dm-mod dm-delay loop
	truncate -s 64M /var/tmp/e2e/slowback.img
	LOOPDEV=$(losetup --find --show /var/tmp/e2e/slowback.img)
	echo "0 131072 delay $LOOPDEV 0 1500" | dmsetup --noudevsync create pvslow
	dmsetup mknodes pvslow
	vscsi_attach "$DOMID" 0 0 file:/dev/mapper/pvslow 0:0:0:0
	guest_start
	guest_wait_mark resets-done 300
	n=$(grep -c 'rsp rqid [0-9]* rslt 0x80000 ' "$PVSCSID_LOG" || true)
	[ "$n" -ge 5 ] || fail "only $n reads were ended by the resets (DID_RESET in pvscsid.log)"
	say "$n reads ended by the resets and retried"
}

guest() {
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	sg=$(sg_of 0:0:0)
	round=0
	while [ $round -lt 5 ]; do
		# Four reads of blocks dom0 has not cached (1 MiB apart: no readahead).
		i=0
		while [ $i -lt 4 ]; do
			dd if="$sd" of=/tmp/r$i bs=4096 count=1 skip=$(((round * 4 + i) * 256)) \
				iflag=direct 2>/tmp/dd$i.err &
			eval "dd$i=\$!"
			i=$((i + 1))
		done
		sleep 0.5
		sg_reset -d "$sg" || fail "sg_reset -d $sg failed"
		i=0
		while [ $i -lt 4 ]; do
			eval "wait \$dd$i" || fail "read $i of round $round failed: $(cat /tmp/dd$i.err)"
			[ "$(wc -c </tmp/r$i)" = 4096 ] || fail "read $i of round $round is short"
			i=$((i + 1))
		done
		round=$((round + 1))
		echo "round $round: four reads ended by a LUN reset, retried, read"
	done
	mark resets-done
	[ "$(cat /sys/class/scsi_device/*/device/state)" = running ] || fail "the device is not running"
}
