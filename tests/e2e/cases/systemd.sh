# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# systemd: dom0 with systemd as init installs make deb's packages (dpkg -i), starts pvscsid.service, creates a guest with vscsi= and attaches a third disk with xl scsi-attach; fio verify on all three; dpkg -r gives Xen's xl back.
BACKENDS="systemd"
TIMEOUT=600

dom0() {
	local sg file1 file2 cfg n
	# The package's xl front is /usr/sbin/xl now (the diversion), found by
	# every caller, with Xen's xl found at run time.
	[ "$(readlink -f /usr/sbin/xl)" = /usr/sbin/xl-pvscsi ] ||
		fail "/usr/sbin/xl is $(readlink -f /usr/sbin/xl), not the front"
	xl help 2>&1 | grep -q 'scsi-attach' || fail "xl help does not list scsi-attach"
	xl-pvscsi --version >&2
	lun_sdebug sg
	sg=$PDEV
	lun_file disk1 32M
	file1=$PDEV
	lun_file disk2 32M
	file2=$PDEV

	# The harness made the guest paused without devices: make it again with vscsi=.
	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	cp "$CASEOUT/guest.cfg" "$cfg"
	printf "vscsi = [ '%s,0:0:0:0', '%s,0:0:1:0' ]\n" "$sg" "$file1" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(domid_of "$GUEST")
	say "guest created with vscsi=, domid $DOMID"
	# udev would load xen-scsiback for the new vscsi domain (its modalias)
	# but for the package's /lib/modprobe.d/pvscsi.conf.
	[ ! -d /sys/module/xen_scsiback ] ||
		fail "xen-scsiback was loaded for the guest despite /lib/modprobe.d/pvscsi.conf"
	xl scsi-attach "$GUEST" "$file2" 0:0:2:0 >&2 || fail "xl scsi-attach $file2 failed"
	xl scsi-list "$GUEST" | tee -a "$CASEOUT/scsi-list.txt" >&2
	n=$(xl scsi-list "$GUEST" | grep -c '0:0:[0-2]:0')
	[ "$n" = 3 ] || fail "xl scsi-list shows $n of the 3 devices"
	# The daemon's lines about this guest carry its domain as a journal field.
	wait_for "a journal entry with DOMID=$DOMID" 60 \
		eval "journalctl -b -u pvscsid.service DOMID=$DOMID -q --no-pager -o cat | grep -q ." ||
		fail "no journal entry of pvscsid with DOMID=$DOMID"
	say "journal: $(journalctl -b -u pvscsid.service DOMID="$DOMID" -q --no-pager -o cat | head -n1)"
}

guest() {
	wait_lun 0:0:0 240
	wait_lun 0:1:0 240
	wait_lun 0:2:0 240
	show lsscsi
	fio_verify "$(sd_of 0:0:0)" --size=16M
	fio_verify "$(sd_of 0:1:0)" --size=16M
	fio_verify "$(sd_of 0:2:0)" --size=16M
}

dom0_after() {
	local result
	# The guest powers itself off when its part ends (on_poweroff=destroy).
	if guest_alive; then xl destroy "$GUEST"; fi
	systemctl stop pvscsid.service || fail "systemctl stop pvscsid failed"
	result=$(systemctl show -p Result --value pvscsid.service)
	[ "$result" = success ] || fail "pvscsid.service stopped with result '$result'"
	say "pvscsid.service stopped: result $result"
	dpkg -r pvscsi libpvscsi0 >"$CASEOUT/dpkg-r.log" 2>&1 ||
		fail "dpkg -r failed: $(tail -n 3 "$CASEOUT/dpkg-r.log" | tr '\n' ' ')"
	[ -z "$(dpkg-divert --list /usr/sbin/xl)" ] ||
		fail "a diversion of /usr/sbin/xl is left: $(dpkg-divert --list /usr/sbin/xl)"
	[ "$(readlink /usr/sbin/xl || echo "(a file)")" = "$XL_WAS" ] ||
		fail "/usr/sbin/xl is $(readlink /usr/sbin/xl) after dpkg -r, was $XL_WAS"
	[ "$(stat -c %i /usr/sbin/xl)" = "$XL_INODE" ] ||
		fail "/usr/sbin/xl is another file after dpkg -r (inode $(stat -c %i /usr/sbin/xl), was $XL_INODE)"
	[ ! -e /usr/sbin/xl-pvscsi ] || fail "/usr/sbin/xl-pvscsi is left after dpkg -r"
	xl help 2>&1 | grep -q 'scsi-attach' && fail "xl help still lists scsi-attach after dpkg -r"
	xl list >/dev/null || fail "Xen's xl list fails after dpkg -r"
	say "dpkg -r: /usr/sbin/xl -> $XL_WAS again (inode $XL_INODE), no diversion"
}
