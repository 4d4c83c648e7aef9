# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# cdrom: an emulated CD-ROM drive (cdrom:) whose disc changes at run time,
# through the installed xl front, as xl cd-insert/cd-eject do for HVM guests.
#
# dom0 makes two ISO 9660 images with xorriso (labels PVS_DISC_A and
# PVS_DISC_B, each with a random file and its SHA256SUMS) and attaches
# cdrom:A with xl scsi-attach to the running guest.  The guest's sr driver
# binds it (INQUIRY type 05h), blkid finds A's label and the disc mounts
# and matches its checksums; it stays mounted, so sr locks the tray
# (PREVENT ALLOW MEDIUM REMOVAL).  xl scsi-eject is then refused with the
# reason and changes nothing (scsi-list still names A); --force ejects,
# and the guest sees MEDIUM NOT PRESENT.  xl scsi-insert of B: the guest
# reads B's label and files.  The guest ejects B itself (eject: START STOP
# UNIT with LoEj), the tray is open; xl scsi-insert of a missing image is
# refused by name; xl scsi-insert of A again and the guest reads A.
# pvscsictl status shows the lock and the open tray as pvscsid sees them.
BACKENDS="pvscsid"
TIMEOUT=600

ISODIR=/var/tmp/e2e

# list_has ERE WHAT: xl scsi-list's row for v-dev 0:0:0:0 matches ERE.
list_has() {
	xl scsi-list "$GUEST" >"$CASEOUT/scsi-list-$2.txt" || fail "xl scsi-list failed"
	say "$(cat "$CASEOUT/scsi-list-$2.txt")"
	grep -Eq "$1" "$CASEOUT/scsi-list-$2.txt" ||
		fail "$2: scsi-list has no row matching '$1'"
}

# ctl_has TEXT WHAT: pvscsictl status shows TEXT (the drive as pvscsid has it).
ctl_has() {
	"$(dirname "$PVSCSID")/pvscsictl" status >"$CASEOUT/status-$2.txt" ||
		fail "pvscsictl status failed"
	grep -qF "$1" "$CASEOUT/status-$2.txt" ||
		fail "$2: pvscsictl status does not show '$1': $(grep -A1 'dev-0' "$CASEOUT/status-$2.txt")"
	say "$2: $(grep -F 'disc:' "$CASEOUT/status-$2.txt")"
}

dom0() {
	xl_front_install
	mkdir -p "$ISODIR"
	iso_make "$ISODIR/a.iso" PVS_DISC_A
	iso_make "$ISODIR/b.iso" PVS_DISC_B
	guest_start
	guest_wait_mark ready 240

	xl scsi-attach "$GUEST" "cdrom:$ISODIR/a.iso" 0:0:0:0 ||
		fail "xl scsi-attach cdrom:$ISODIR/a.iso 0:0:0:0 failed"
	list_has "cdrom:$ISODIR/a.iso +0:0:0:0 +Connected +cd/dvd\$" attached
	guest_wait_mark mounted-a 240
	ctl_has "disc: $ISODIR/a.iso, removal prevented by the guest" locked

	# The guest holds the disc mounted: sr has locked the tray.
	if xl scsi-eject "$GUEST" 0:0:0:0 2>"$CASEOUT/eject-locked.err"; then
		fail "xl scsi-eject took out a disc the guest has locked in"
	fi
	say "eject while locked: $(cat "$CASEOUT/eject-locked.err")"
	grep -qi "prevent" "$CASEOUT/eject-locked.err" ||
		fail "the refused eject does not say why: $(cat "$CASEOUT/eject-locked.err")"
	[ "$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev")" = "cdrom:$ISODIR/a.iso" ] ||
		fail "a refused eject changed p-dev"
	list_has "cdrom:$ISODIR/a.iso +0:0:0:0" still-a
	xl scsi-eject --force "$GUEST" 0:0:0:0 || fail "xl scsi-eject --force failed"
	list_has "cdrom: +0:0:0:0 +Connected +cd/dvd\$" ejected
	guest_wait_mark saw-eject 240

	xl scsi-insert "$GUEST" 0:0:0:0 "$ISODIR/b.iso" || fail "xl scsi-insert b.iso failed"
	list_has "cdrom:$ISODIR/b.iso +0:0:0:0" inserted-b
	# The saved configuration names the disc in the drive (what a reboot or restore reloads).
	xl list -l "$GUEST" | grep -q "cdrom:$ISODIR/b.iso" ||
		fail "the domain's saved configuration does not name b.iso"
	guest_wait_mark guest-ejected 240
	ctl_has "disc: none, tray open" guest-ejected

	if xl scsi-insert "$GUEST" 0:0:0:0 "$ISODIR/missing.iso" 2>"$CASEOUT/insert-missing.err"; then
		fail "xl scsi-insert of a missing image succeeded"
	fi
	say "missing image: $(cat "$CASEOUT/insert-missing.err")"
	grep -q "$ISODIR/missing.iso" "$CASEOUT/insert-missing.err" ||
		fail "the refusal does not name the image: $(cat "$CASEOUT/insert-missing.err")"
	xl scsi-insert "$GUEST" 0:0:0:0 "$ISODIR/a.iso" || fail "xl scsi-insert a.iso failed"
}

# check_disc DEV LABEL NAME: DEV carries LABEL and NAME.bin matches its SHA256SUMS.
check_disc() {
	_label=$(blkid -p -o value -s LABEL "$1" 2>/dev/null || true)
	[ "$_label" = "$2" ] || fail "blkid -p $1: label '$_label', expected $2"
	run mount -t iso9660 -o ro "$1" /mnt
	(cd /mnt && sha256sum -c SHA256SUMS) >/tmp/sum.out 2>&1 || {
		cat /tmp/sum.out
		umount /mnt
		fail "$2: $3.bin does not match its SHA256SUMS"
	}
	echo "$2: $(cat /tmp/sum.out)"
}

# wait_label DEV SG LABEL: until the drive's disc is LABEL (the host changes
# it).  TEST UNIT READY first, so that nothing reads an empty drive (the
# reads would fail, rightly, and the kernel would log them as lost I/O).
wait_label() {
	tur_until "$2" '^good' "$3 loaded"
	set -- "$1" "$3"
	_n=0
	while :; do
		_label=$(blkid -p -o value -s LABEL "$1" 2>/dev/null || true)
		[ "$_label" = "$2" ] && return 0
		_n=$((_n + 1))
		[ $_n -lt 120 ] || fail "$1 still shows label '$_label' after 120 s, expected $2"
		sleep 1
	done
}

# tur_until SG ERE WHAT: TEST UNIT READY until its outcome matches ERE (120 s).
tur_until() {
	_n=0
	while :; do
		_o=$(sg_outcome "$1" 00 00 00 00 00 00)
		echo "$_o" | grep -qiE "$2" && {
			echo "$3: TEST UNIT READY: $_o"
			return 0
		}
		_n=$((_n + 1))
		[ $_n -lt 120 ] || fail "$3: TEST UNIT READY says '$_o', expected $2"
		sleep 1
	done
}

guest() {
	mark ready
	wait_dev 0:0:0 cdrom 240
	sr=$(dev_of 0:0:0 cdrom)
	sg=$(sg_of 0:0:0)
	show lsscsi -g
	sg_inq "$sg" >/tmp/inq.out 2>&1 || fail "sg_inq $sg failed"
	record view.txt cat /tmp/inq.out
	grep -qi 'cd/dvd' /tmp/inq.out || fail "INQUIRY of $sg: not a CD/DVD device"
	expect_outcome "GET CONFIGURATION" '^good$' -r 8 "$sg" 46 00 00 00 00 00 00 00 08 00
	expect_outcome "READ TOC" '^good$' -r 12 "$sg" 43 00 00 00 00 00 00 00 0c 00
	check_disc "$sr" PVS_DISC_A a
	# Left mounted: sr locks the tray while a filesystem is on it.
	mark mounted-a

	tur_until "$sg" '^not ready: medium not present' "after the host's forced eject"
	umount -l /mnt 2>/dev/null || true
	mark saw-eject

	wait_label "$sr" "$sg" PVS_DISC_B
	check_disc "$sr" PVS_DISC_B b
	run umount /mnt
	run eject "$sr"
	tur_until "$sg" '^not ready: medium not present' "after the guest's eject"
	mark guest-ejected

	wait_label "$sr" "$sg" PVS_DISC_A
	check_disc "$sr" PVS_DISC_A a
	run umount /mnt
}
