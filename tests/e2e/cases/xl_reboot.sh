# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_reboot: a guest made by xl create with vscsi= and given a hot-attached LUN is rebooted with xl reboot; Xen's xl makes a new domain, the front's monitor attaches both LUNs again before it runs, and the guest reads back what it wrote, at the same v-devs.
#
# The scsi_debug disk comes from vscsi= (0:0:0:0), a file LUN is attached
# with xl scsi-attach while the guest runs (0:0:1:0).  The guest writes a
# random pattern to both and its checksum to a header on the first, then
# dom0 runs `xl reboot`.  Xen's xl monitor destroys the domain and creates
# it again from its saved configuration (on_reboot = "restart"), with a new
# domid; nothing but the front's reboot monitor (xl scsi-monitor) knows
# about the vscsi devices.  The guest's /init runs the case again: it finds
# the header, so this is the second boot, and checks both LUNs.
BACKENDS="pvscsid"
TIMEOUT=700

xlb_domid_changed() {
	local d
	d=$(domid_of "$GUEST") || return 1
	[ -n "$d" ] && [ "$d" != "$1" ]
}

dom0() {
	local cfg sg file old log
	xl_front_install
	lun_sdebug sg
	sg=$PDEV
	# Whatever an earlier case left on the disk must not look like our header.
	dd if=/dev/zero of="/dev/$(sdebug_sd)" bs=1M count=1 conv=fsync status=none ||
		fail "cannot clear the scsi_debug disk"
	lun_file disk0 32M
	file=$PDEV

	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	sed 's/^on_reboot = .*/on_reboot = "restart"/' "$CASEOUT/guest.cfg" >"$cfg"
	printf "vscsi = [ '%s,0:0:0:0' ]\n" "$sg" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(domid_of "$GUEST")
	xl scsi-attach "$GUEST" "$file" 0:0:1:0 || fail "xl scsi-attach $file 0:0:1:0 failed"
	guest_wait_mark written 400

	old=$DOMID
	say "xl reboot of domain $old"
	xl reboot "$GUEST" >&2 || fail "xl reboot failed"
	wait_for "the guest as a new domain" 180 xlb_domid_changed "$old" ||
		fail "the guest did not come back as a new domain (still $(xl domid "$GUEST" 2>&1))"
	DOMID=$(domid_of "$GUEST")
	say "rebooted as domain $DOMID"
	wait_for "its SCSI devices" 120 eval \
		"xenstore-exists $XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev &&
		 xenstore-exists $XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-1/p-dev" ||
		{ xs_dump; fail "domain $DOMID has no vscsi devices after the reboot"; }
	xl scsi-list "$GUEST" >"$CASEOUT/scsi-list.txt" 2>&1 || fail "xl scsi-list failed"
	say "$(cat "$CASEOUT/scsi-list.txt")"
	guest_wait_end "$TIMEOUT"

	log=/var/log/xen/xl-$GUEST.log
	cp "$log" "$CASEOUT/xl-monitor.log" 2>/dev/null || true
	grep -q "xl-pvscsi.*: all 2 SCSI devices attached" "$log" ||
		fail "the reboot monitor did not report both devices attached (see xl-monitor.log)"
	# Before it ran, or (if xl's own unpause came first) as a hot add: both work.
	grep -q "xl-pvscsi.*the guest came back as domain $DOMID (held paused" "$log" ||
		fail "the reboot monitor did not hold domain $DOMID paused (see xl-monitor.log)"
	say "$(grep -o "the guest came back as domain $DOMID ([^)]*)" "$log")"
	return 0
}

# Pattern at 1 MiB on both LUNs; "E2E-XL-REBOOT <md5>" in the first sector of 0:0:0.
guest() {
	local l hdr sum
	wait_lun 0:0:0 240
	hdr=$(dd if="$(sd_of 0:0:0)" bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\0' | head -c 80)
	case $hdr in
	E2E-XL-REBOOT\ *)
		sum=${hdr#E2E-XL-REBOOT }
		echo "second boot: header found, the pattern's md5 is $sum"
		wait_lun 0:1:0 120
		show lsscsi
		for l in 0:0:0 0:1:0; do
			[ "$(dd if="$(sd_of $l)" bs=1M skip=1 count=8 iflag=direct 2>/dev/null |
				md5sum | cut -d' ' -f1)" = "$sum" ] ||
				fail "$l does not read back after the reboot what was written before it"
			echo "$l reads back what it wrote before the reboot"
		done
		return 0
		;;
	esac
	# The kernel runs /sbin/reboot for `xl reboot`; busybox's would only signal
	# this /init, which does not act on it.
	mkdir -p /sbin
	printf '#!/bin/sh\nsync\nexec /bin/busybox reboot -f\n' >/sbin/reboot
	chmod 755 /sbin/reboot
	wait_lun 0:1:0 240
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
	sum=$(md5sum </tmp/pattern | cut -d' ' -f1)
	for l in 0:0:0 0:1:0; do
		dd if=/tmp/pattern of="$(sd_of $l)" bs=1M seek=1 oflag=direct 2>/dev/null ||
			fail "write to $l failed"
	done
	printf 'E2E-XL-REBOOT %s' "$sum" | dd of="$(sd_of 0:0:0)" bs=512 count=1 conv=sync \
		oflag=direct 2>/dev/null || fail "header write failed"
	sync
	echo "first boot: pattern $sum written to 0:0:0 and 0:1:0"
	mark written
	sleep 600
	fail "not rebooted within 600 s of 'written'"
}
