# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# optical: a CD-ROM drive through passthrough: dom0's CD drive (QEMU's
# scsi-cd with an ISO 9660 image labelled PVSCSI_ISO, lib/boot.sh) at
# 0:0:0:0.  The guest's sr driver binds it; blkid finds the label, the disc
# mounts read-only and its random file matches its SHA256SUMS; GET
# CONFIGURATION and READ TOC answer GOOD; eject opens the tray (TEST UNIT
# READY: NOT READY, MEDIUM NOT PRESENT), eject -t closes it and the disc
# reads again.  The kernel backend (LIO pscsi) is the reference; pvscsid
# is given the drive by libvirt's adapter form (pci_..._F/unique_id=N:C:T:L).
BACKENDS="kernel pvscsid"
TIMEOUT=300

# The tray closed (a failed case may have left it open), the drive gone.
case_cleanup() { cdrom_stop; }

dom0() {
	cdrom_start
	if [ "$BACKEND" = pvscsid ]; then
		# pvscsid finds the drive by its adapter: its PCI device and unique_id.
		lun_cdrom_adapter
	else
		lun_cdrom
	fi
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
}

# The disc mounts and its file matches its checksum.
check_disc() {
	run mount -t iso9660 -o ro "$1" /mnt
	(cd /mnt && sha256sum -c SHA256SUMS) >/tmp/sum.out 2>&1 || {
		cat /tmp/sum.out
		umount /mnt
		fail "$2: the file on the disc does not match its SHA256SUMS"
	}
	echo "$2: $(cat /tmp/sum.out)"
	run umount /mnt
}

# tur_until SG ERE WHAT: TEST UNIT READY until its outcome matches ERE,
# past the unit attentions a tray move leaves (at most 5 tries).
tur_until() {
	_n=0
	while :; do
		_o=$(sg_outcome "$1" 00 00 00 00 00 00)
		echo "$3: TEST UNIT READY: $_o"
		echo "$_o" | grep -qiE "$2" && return 0
		_n=$((_n + 1))
		[ $_n -lt 5 ] || fail "$3: TEST UNIT READY says '$_o', expected $2"
		sleep 1
	done
}

guest() {
	wait_dev 0:0:0 cdrom
	sr=$(dev_of 0:0:0 cdrom)
	sg=$(sg_of 0:0:0)
	show lsscsi -g
	show sg_inq "$sg"
	sg_inq "$sg" >/tmp/inq.out 2>&1 || fail "sg_inq $sg failed"
	grep -qi 'cd/dvd' /tmp/inq.out || fail "INQUIRY of $sg: not a CD/DVD device: $(grep -i 'device_type' /tmp/inq.out)"
	grep -q 'E2E-ISO' /tmp/inq.out || fail "INQUIRY of $sg: not dom0's E2E-ISO drive"

	blkid "$sr" >/tmp/blkid.out 2>&1 || fail "blkid $sr failed: $(cat /tmp/blkid.out)"
	record view.txt cat /tmp/blkid.out
	grep -q 'TYPE="iso9660"' /tmp/blkid.out || fail "blkid: $sr is not iso9660: $(cat /tmp/blkid.out)"
	grep -q 'LABEL="PVSCSI_ISO"' /tmp/blkid.out || fail "blkid: $sr is not labelled PVSCSI_ISO: $(cat /tmp/blkid.out)"
	check_disc "$sr" "first read"

	# GET CONFIGURATION (46h), 8 bytes: the feature header; READ TOC
	# (43h), format 0, 12 bytes: the header and track 1's descriptor.
	expect_outcome "GET CONFIGURATION" '^good$' -r 8 "$sg" 46 00 00 00 00 00 00 00 08 00
	expect_outcome "READ TOC" '^good$' -r 12 "$sg" 43 00 00 00 00 00 00 00 0c 00
	sg_raw -r 12 "$sg" 43 00 00 00 00 00 00 00 0c 00 >/tmp/toc.out 2>&1 || true
	record view.txt cat /tmp/toc.out

	run eject "$sr"
	# QEMU's scsi-cd says MEDIUM NOT PRESENT (3Ah/00h) with the tray open.
	tur_until "$sg" '^not ready: medium not present' "after eject"
	run eject -t "$sr"
	tur_until "$sg" '^good$' "after eject -t"
	check_disc "$sr" "after eject and eject -t"
}
