# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_ro: a host LUN attached read-only (xl scsi-attach ... VDEV,ro): the guest's kernel sees it write-protected, reads work, a raw WRITE gets DATA PROTECT, and the disk is unchanged in dom0.
#
# The scsi_debug disk gets a known pattern in dom0, is attached ro to the
# running guest, which checks /sys/block/sdX/ro, reads the pattern back,
# fails to write through the block layer, and sends WRITE(10) and MODE
# SELECT(6) through its sg node (both must come back CHECK CONDITION, DATA
# PROTECT); dom0 then finds the pattern intact.  ro with feature-host is
# refused by the front.
BACKENDS="pvscsid"
TIMEOUT=500

dom0() {
	local sg sd sum
	xl_front_install
	lun_sdebug sg
	sg=$PDEV
	sd=/dev/$(sdebug_sd)
	dd if=/dev/urandom of="$sd" bs=1M count=4 conv=fsync status=none || fail "cannot fill $sd"
	sum=$(dd if="$sd" bs=1M count=4 status=none | md5sum | cut -d' ' -f1)
	guest_start
	guest_wait_mark ready 240
	if xl scsi-attach "$GUEST" "$sg" 0:0:0:0,ro,feature-host 2>"$CASEOUT/ro-raw.err"; then
		fail "ro with feature-host was accepted"
	fi
	grep -q "ro and feature-host cannot be combined" "$CASEOUT/ro-raw.err" ||
		fail "unexpected refusal: $(cat "$CASEOUT/ro-raw.err")"
	xl scsi-attach "$GUEST" "$sg" 0:0:0:0,ro || fail "xl scsi-attach $sg 0:0:0:0,ro failed"
	[ "$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev")" = "$(sdebug_hctl),ro" ] ||
		fail "p-dev is $(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev")"
	printf '%s\n' "$sum" >"$CASEOUT/sum.txt"
	guest_wait_end "$TIMEOUT"
	[ "$(dd if="$sd" bs=1M count=4 status=none | md5sum | cut -d' ' -f1)" = "$sum" ] ||
		fail "the read-only disk changed in dom0"
	return 0
}

guest() {
	local sd sg out
	mark ready
	wait_lun 0:0:0 240
	sd=$(sd_of 0:0:0)
	sg=$(sg_of 0:0:0)
	show lsscsi
	show sg_modes -6 "$sg"
	[ "$(cat "/sys/block/${sd#/dev/}/ro")" = 1 ] || fail "$sd is not read-only for the kernel"
	echo "$sd is read-only for the kernel"
	run dd if="$sd" of=/dev/null bs=1M count=4 iflag=direct
	if dd if=/dev/zero of="$sd" bs=512 count=1 oflag=direct 2>/dev/null; then
		fail "a write to $sd succeeded"
	fi
	out=$(sg_raw -s 512 -i /dev/zero "$sg" 2a 00 00 00 00 00 00 00 01 00 2>&1 || true)
	echo "$out"
	echo "$out" | grep -qi "data protect" || fail "WRITE(10) through $sg: no DATA PROTECT"
	echo "$out" | grep -qi "write protected" || fail "WRITE(10) through $sg: not WRITE PROTECTED"
	out=$(sg_raw -s 12 -i /dev/zero "$sg" 15 10 00 00 0c 00 2>&1 || true)
	echo "$out"
	echo "$out" | grep -qi "data protect" || fail "MODE SELECT(6) through $sg: no DATA PROTECT"
}
