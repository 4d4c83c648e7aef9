# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xml: libvirt XML through the installed xl front - scsi-attach --xml, scsi-list --xml, and their round trip on a running guest.
#
# dom0 writes a <devices> element by hand, as an administrator copies it
# from a libvirt domain: the scsi_debug disk as a <hostdev type='scsi'>
# by its adapter (<adapter name='scsi_hostN'/> and bus/target/unit), a file
# disk with <shareable/>, and an emulated CD-ROM holding an ISO, each with
# its guest <address type='drive'>; xl scsi-attach --xml attaches all
# three to the running guest, which uses them (fio verify on the file
# disk, a read of the scsi_debug disk, blkid and the checksums of the
# disc).  Malformed XML and an adapter that does not exist are refused
# with the file, line and element named, and nothing changes in xenstore.
# Then xl scsi-list --xml writes the attachments back; every device is
# detached (the guest sees them go), the output is fed to scsi-attach
# --xml, and the devices come back with the same p-dev, v-dev and options
# (xenstore compared) and the same XML; the guest uses them again.
BACKENDS="pvscsid"
TIMEOUT=700

DIR=/var/tmp/e2e

# The domain's devices as xenstore has them: "v-dev p-dev p-devname" lines.
devs_of() {
	local be=$XS_BE_ROOT/$DOMID d
	for d in $(xenstore-list "$be/0/vscsi-devs" 2>/dev/null); do
		echo "$(xs_read "$be/0/vscsi-devs/$d/v-dev") $(xs_read "$be/0/vscsi-devs/$d/p-dev") $(xs_read "$be/0/vscsi-devs/$d/p-devname")"
	done | sort
}

# refused FILE TAG NEEDLE: scsi-attach --xml FILE fails, says NEEDLE, changes nothing.
refused() {
	local before
	before=$(xenstore-ls -f "$XS_BE_ROOT" 2>/dev/null | md5sum)
	if xl scsi-attach "$GUEST" --xml "$1" 2>"$CASEOUT/$2.err"; then
		fail "$2: xl scsi-attach --xml accepted it"
	fi
	say "$2: $(cat "$CASEOUT/$2.err")"
	grep -qF "$3" "$CASEOUT/$2.err" || fail "$2: the message does not say '$3'"
	[ "$(xenstore-ls -f "$XS_BE_ROOT" 2>/dev/null | md5sum)" = "$before" ] ||
		fail "$2: a refused scsi-attach --xml changed xenstore"
}

dom0() {
	local h host bus tgt lun rest
	xl_front_install
	lun_sdebug hctl
	h=$PDEV
	host=${h%%:*} rest=${h#*:}
	bus=${rest%%:*} rest=${rest#*:}
	tgt=${rest%%:*} lun=${rest#*:}
	mkdir -p "$DIR"
	rm -f "$DIR/xml.img"
	truncate -s 64M "$DIR/xml.img"
	iso_make "$DIR/xml.iso" PVS_XML
	guest_start
	guest_wait_mark ready 240

	cat >"$CASEOUT/devices.xml" <<EOF
<devices>
  <!-- dom0's scsi_debug disk, by libvirt's adapter name -->
  <hostdev mode='subsystem' type='scsi' sgio='filtered'>
    <source>
      <adapter name='scsi_host$host'/>
      <address bus='$bus' target='$tgt' unit='$lun'/>
    </source>
    <address type='drive' controller='0' bus='0' target='0' unit='0'/>
  </hostdev>
  <disk type='file' device='disk'>
    <source file='$DIR/xml.img'/>
    <target dev='sdb' bus='scsi'/>
    <shareable/>
    <address type='drive' controller='0' bus='0' target='1' unit='0'/>
  </disk>
  <disk type='file' device='cdrom'>
    <source file='$DIR/xml.iso'/>
    <target dev='sdc' bus='scsi'/>
    <readonly/>
    <address type='drive' controller='0' bus='0' target='2' unit='0'/>
  </disk>
</devices>
EOF
	printf '<devices>\n  <hostdev mode="subsystem" type="scsi">\n    <source>\n' >"$CASEOUT/broken.xml"
	refused "$CASEOUT/broken.xml" malformed "broken.xml:"
	sed "s/scsi_host$host/scsi_host$((host + 40))/" "$CASEOUT/devices.xml" >"$CASEOUT/nohost.xml"
	refused "$CASEOUT/nohost.xml" no-adapter "scsi_host$((host + 40))"

	xl scsi-attach "$GUEST" --xml "$CASEOUT/devices.xml" ||
		fail "xl scsi-attach --xml devices.xml failed"
	devs_of >"$CASEOUT/devs-1.txt"
	say "attached: $(tr '\n' ';' <"$CASEOUT/devs-1.txt")"
	grep -q "^0:0:0:0 $h " "$CASEOUT/devs-1.txt" || fail "the hostdev is not $h at 0:0:0:0"
	grep -q "^0:0:1:0 file:$DIR/xml.img " "$CASEOUT/devs-1.txt" || fail "the file disk is not at 0:0:1:0"
	grep -q "^0:0:2:0 cdrom:$DIR/xml.iso " "$CASEOUT/devs-1.txt" || fail "the CD-ROM is not at 0:0:2:0"
	guest_wait_mark used-1 300

	xl scsi-list --xml "$GUEST" >"$CASEOUT/list-1.xml" || fail "xl scsi-list --xml failed"
	say "$(cat "$CASEOUT/list-1.xml")"
	python3 - "$CASEOUT/list-1.xml" <<'EOF' >&2 || fail "scsi-list --xml is not the devices attached"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "devices", root.tag
hd = root.findall("hostdev")
assert len(hd) == 1 and hd[0].get("type") == "scsi", hd
disks = {d.get("device"): d for d in root.findall("disk")}
assert sorted(disks) == ["cdrom", "disk"], disks
assert disks["disk"].find("shareable") is not None
assert disks["cdrom"].find("readonly") is not None
print("scsi-list --xml: 1 hostdev, 1 disk, 1 cdrom")
EOF
	for v in 0:0:0:0 0:0:1:0 0:0:2:0; do
		xl scsi-detach "$GUEST" "$v" || fail "xl scsi-detach $v failed"
	done
	[ -z "$(devs_of)" ] || fail "devices left after detaching all: $(devs_of)"
	guest_wait_mark gone 240

	xl scsi-attach "$GUEST" --xml "$CASEOUT/list-1.xml" ||
		fail "xl scsi-attach --xml of scsi-list --xml's output failed"
	devs_of >"$CASEOUT/devs-2.txt"
	diff "$CASEOUT/devs-1.txt" "$CASEOUT/devs-2.txt" >&2 ||
		fail "the round trip changed p-dev, v-dev or p-devname"
	xl scsi-list --xml "$GUEST" >"$CASEOUT/list-2.xml" || fail "xl scsi-list --xml failed"
	diff "$CASEOUT/list-1.xml" "$CASEOUT/list-2.xml" >&2 || fail "the round trip changed the XML"
	say "round trip: the same devices and the same XML"
}

guest() {
	mark ready
	wait_lun 0:0:0 240
	wait_lun 0:1:0 60
	wait_dev 0:2:0 cdrom 60
	use_all 1
	mark used-1
	wait_gone 0:0:0 120
	wait_gone 0:1:0 120
	wait_gone 0:2:0 120
	mark gone
	wait_lun 0:0:0 240
	wait_lun 0:1:0 60
	wait_dev 0:2:0 cdrom 60
	use_all 2
}

# use_all ROUND: every device read or written and checked.
use_all() {
	sd=$(sd_of 0:0:0)
	run dd if="$sd" of=/dev/null bs=1M count=8 iflag=direct
	fio_verify "$(sd_of 0:1:0)" --size=16M
	sr=$(dev_of 0:2:0 cdrom)
	_label=$(blkid -p -o value -s LABEL "$sr" 2>/dev/null || true)
	[ "$_label" = PVS_XML ] || fail "round $1: $sr's label is '$_label', expected PVS_XML"
	run mount -t iso9660 -o ro "$sr" /mnt
	(cd /mnt && sha256sum -c SHA256SUMS) || fail "round $1: the disc's file does not match"
	run umount /mnt
	echo "round $1: the disk, the file disk and the disc all used"
}
