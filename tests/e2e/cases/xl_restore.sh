# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_restore: xl save, scsi_debug removed and re-inserted on another host number, xl restore through the xl front: the guest reads back what it wrote at the same v-devs.
#
# scsi_debug is loaded with vpd_use_hostno=0, so its identity (VPD 0x83)
# does not depend on the host number, as a real disk's does not.  It is
# reloaded with two hosts and the first one's disk deleted, so the disk comes
# back on another host number (a plain reload reuses the freed number).  Its
# contents are RAM and die with the module, so dom0 copies them out and back
# in around the reload: the same disk, moved to a new host number.  After the
# restore dom0 hot-adds a memory LUN; the guest takes its appearance as the
# sign that it runs again.
BACKENDS="pvscsid"
TIMEOUT=700

# scsi_debug with a host-independent identity, freshly loaded.  With
# "moved", two hosts are made and the lower one's disk deleted: SCSI host
# numbers are reused, so a plain reload would come back as the same host.
xlr_sdebug_load() {
	local i hosts=1 d
	[ "${1:-}" = moved ] && hosts=2
	for i in $(seq 40); do
		[ -d /sys/module/scsi_debug ] || break
		rmmod scsi_debug 2>/dev/null && break
		sleep 0.5
	done
	[ -d /sys/module/scsi_debug ] && fail "scsi_debug stays in use (held by pvscsid?)"
	modprobe sd_mod
	modprobe sg
	modprobe scsi_debug dev_size_mb=64 vpd_use_hostno=0 add_host=$hosts ||
		fail "modprobe scsi_debug failed"
	wait_for "scsi_debug disk" 20 sdebug_hctl_quiet || fail "scsi_debug disk did not appear"
	if [ "$hosts" = 2 ]; then
		wait_for "second scsi_debug host" 20 eval \
			'[ "$(ls -d /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/[0-9]*:* | wc -l)" = 2 ]' ||
			fail "scsi_debug did not make two disks"
		d=$(sdebug_hctl)
		echo 1 >"/sys/class/scsi_device/$d/device/delete"
		wait_for "disk $d gone" 20 eval "[ ! -e /sys/class/scsi_device/$d ]" ||
			fail "cannot delete scsi_debug disk $d"
	fi
	wait_for "scsi_debug sd" 20 eval '[ -b "/dev/$(sdebug_sd)" ]' || fail "no sd node for scsi_debug"
}

dom0() {
	local cfg h1 h2 img=/var/tmp/e2e/guest.save disk=/var/tmp/e2e/sdebug.img file pdev
	xl_front_install
	xlr_sdebug_load
	h1=$(sdebug_hctl)
	lun_file disk2 32M
	file=$PDEV

	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	sed 's/^memory = .*/memory = 384/' "$CASEOUT/guest.cfg" >"$cfg"
	printf "vscsi = [ '/dev/%s,0:0:0:0', '%s,0:0:1:0' ]\n" "$(sdebug_sg)" "$file" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(domid_of "$GUEST")
	guest_wait_mark written 400

	xl save "$GUEST" "$img" >&2 || fail "xl save failed"
	say "saved; scsi_debug was $h1"
	dd if="/dev/$(sdebug_sd)" of="$disk" bs=1M status=none || fail "cannot copy the scsi_debug disk"
	xenstore-rm "$XS_BE_ROOT/$DOMID" 2>/dev/null || true
	xlr_sdebug_load moved
	h2=$(sdebug_hctl)
	[ "${h1%%:*}" != "${h2%%:*}" ] || fail "scsi_debug kept host number ${h1%%:*}"
	dd if="$disk" of="/dev/$(sdebug_sd)" bs=1M conv=fsync status=none ||
		fail "cannot copy the disk back"
	say "scsi_debug is now $h2"

	xl restore "$img" >&2 || fail "xl restore failed"
	DOMID=$(domid_of "$GUEST")
	pdev=$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev")
	say "restored as domid $DOMID, p-dev of 0:0:0:0 is $pdev"
	[ "$pdev" = "$h2" ] || fail "p-dev of 0:0:0:0 is $pdev, the disk is at $h2"
	xl scsi-list "$GUEST" >&2
	xl scsi-attach "$GUEST" mem:4M 0:0:5:0 || fail "the hot add after the restore failed"
	rm -f "$img" "$disk"
	return 0
}

guest() {
	wait_lun 0:0:0 240
	wait_lun 0:1:0 240
	pattern_write 0:0:0 0:1:0
	mark written
	# Saved and restored meanwhile; dom0 then adds 0:5:0.
	wait_lun 0:5:0 600
	pattern_check "after the restore" 0:0:0 0:1:0
}
