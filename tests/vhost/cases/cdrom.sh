# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# cdrom: medium changes at run time, as xl cd-insert/cd-eject: a cdrom:
# drive at 0:0 holding an ISO 9660 image (PVSCSI_ONE) and an empty one
# hot-added at 0:1.  The guest's sr finds the label, mounts the disc and reads
# its file; while it is mounted (sr locks the door) an eject from the control
# socket is refused with why, and the image stays; the empty drive then gets
# the first image.  The guest unmounts and ejects, the host inserts a second
# image (PVSCSI_TWO) and the guest reads its label and file, and the first
# image in the other drive.  Mounted again, the medium goes with eject
# --force and the drive then says MEDIUM NOT PRESENT.  The guest learns of
# each host step from the drives (TEST UNIT READY), not from a word on a
# serial line, which the fresh-clone run once lost.
MODES=vhost
BOOT=own
TIMEOUT=420

# mkiso FILE LABEL TEXT: an ISO 9660 image labelled LABEL with hello.txt = TEXT.
mkiso() {
	rm -rf "$CASEOUT/iso-root"
	mkdir -p "$CASEOUT/iso-root"
	echo "$3" >"$CASEOUT/iso-root/hello.txt"
	xorriso -as mkisofs -quiet -V "$2" -r -J -o "$1" "$CASEOUT/iso-root" 2>/dev/null ||
		fail "xorriso could not build $1 (scripts/install-deps e2e)"
}

# refused WHAT ERE CTL-WORDS...: the ctl command fails with a line matching ERE.
# (The client itself, not backend_ctl: a function's trace would land in the file.)
refused() {
	_w=$1 _e=$2
	shift 2
	if "$BIN" ctl "$CASEOUT/cd.ctl" "$@" >"$CASEOUT/refused.out" 2>&1; then
		fail "$_w: ctl $* succeeded: $(cat "$CASEOUT/refused.out")"
	fi
	say "$_w: $(cat "$CASEOUT/refused.out")"
	grep -qE "$_e" "$CASEOUT/refused.out" || fail "$_w: $(cat "$CASEOUT/refused.out")"
}

# listed WHAT ERE: the line list's 0:0 and 0:1 match ERE.
listed() {
	backend_ctl cd list >"$CASEOUT/list.out"
	say "$1: $(tr '\n' '|' <"$CASEOUT/list.out")"
	grep -qE "$2" "$CASEOUT/list.out" || fail "$1: list says $(tr '\n' '|' <"$CASEOUT/list.out")"
}

host() {
	one=$CASEOUT/one.iso
	two=$CASEOUT/two.iso
	mkiso "$one" PVSCSI_ONE "the first disc"
	mkiso "$two" PVSCSI_TWO "the second disc"
	backend_start cd --socket-path="$CASEOUT/cd.sock" --ctl-socket="$CASEOUT/cd.ctl" \
		--lun "0:0=cdrom:$one"
	backend_ctl cd add 0:1 cdrom: || fail "an empty cdrom: drive was not hot-added"
	listed "at start" "^0:1 cdrom: blocks=0 bs=2048 .* medium=- tray=closed prevented=0\$"
	guest_boot 1 "vus:$CASEOUT/cd.sock"

	guest_wait_mark mounted 300
	listed "mounted" "^0:0 cdrom:$one .* medium=$one tray=closed prevented=1\$"
	refused "eject while mounted" "eject 0:0: a guest prevents medium removal .*force to eject anyway" \
		eject 0:0
	refused "insert while mounted" "insert 0:0: a guest prevents medium removal" insert 0:0 "$two"
	refused "insert into a missing LUN" "insert 0:5: no such LUN" insert 0:5 "$two"
	refused "an image that is no image" "insert 0:1: cdrom image '$CASEOUT/cd.sock'" \
		insert 0:1 "$CASEOUT/cd.sock"
	listed "after the refusals" "^0:0 cdrom:$one .* medium=$one tray=closed prevented=1\$"
	# The guest hears the host through the drives themselves (a word on a
	# serial line can be lost): a disc in the empty drive says "done".
	backend_ctl cd insert 0:1 "$one" || fail "insert 0:1 $one refused"
	listed "inserted into the empty drive" "^0:1 cdrom: blocks=[1-9][0-9]* .* medium=$one tray=closed"

	guest_wait_mark ejected
	listed "ejected by the guest" "^0:0 cdrom:$one .* medium=- tray=open prevented=0\$"
	backend_ctl cd insert 0:0 "$two" || fail "insert 0:0 $two refused"
	listed "inserted" "^0:0 cdrom:$one .* medium=$two tray=closed prevented=0\$"

	guest_wait_mark mounted-again
	refused "eject while mounted again" "a guest prevents medium removal" eject 0:0
	backend_ctl cd eject --force 0:0 || fail "eject --force refused"
	listed "forced out" "^0:0 cdrom:$one .* medium=- tray=open prevented=0\$"
	backend_ctl cd --json status >"$CASEOUT/status.json"
	python3 - "$CASEOUT/status.json" <<'PY' || fail "status: $(cat "$CASEOUT/status.json")"
import json, sys
luns = {l["lun"]: l for l in json.load(open(sys.argv[1]))["controllers"][0]["luns"]}
assert luns["0:0"]["cdrom"] == {"medium": False, "path": "", "blocks": 0,
                                "tray_open": True, "prevented": False}, luns["0:0"]
assert luns["0:1"]["cdrom"]["medium"] and luns["0:1"]["cdrom"]["path"].endswith("/one.iso"), luns["0:1"]
PY
}

# tur_until SG ERE WHAT: TEST UNIT READY until its outcome matches ERE (120 s):
# how the guest waits for the host's next medium change.
tur_until() {
	_i=0
	while :; do
		_o=$(sg_outcome "$1" 00 00 00 00 00 00 2>/dev/null)
		echo "$_o" | grep -qiE "$2" && break
		_i=$((_i + 1))
		[ "$_i" -le 120 ] || fail "$3: TEST UNIT READY says '$_o', expected $2"
		sleep 1
	done
	echo "$3: TEST UNIT READY: $_o"
}

# label_is SR LABEL: blkid's low-level probe finds LABEL on SR, 30 s at
# most (sr notices a new medium when the device is opened).
label_is() {
	_i=0
	until blkid -p "$1" >/tmp/blkid.out 2>&1 && grep -q "LABEL=\"$2\"" /tmp/blkid.out; do
		_i=$((_i + 1))
		[ "$_i" -le 30 ] || fail "blkid -p $1: no label $2: $(cat /tmp/blkid.out)"
		sleep 1
	done
	grep -q 'TYPE="iso9660"' /tmp/blkid.out || fail "blkid -p $1: not iso9660: $(cat /tmp/blkid.out)"
	echo "$1: $(cat /tmp/blkid.out)"
}

# reads SR TEXT: mounted at /mnt, hello.txt says TEXT (left mounted).
reads() {
	run mount -t iso9660 -o ro "$1" /mnt
	_t=$(cat /mnt/hello.txt)
	[ "$_t" = "$2" ] || fail "$1: hello.txt says '$_t', expected '$2'"
	echo "$1: hello.txt says '$_t'"
}

guest() {
	mkdir -p /mnt
	wait_dev 0:0:0 cdrom 240
	wait_dev 0:0:1 cdrom 60
	sr=$(dev_of 0:0:0 cdrom)
	sr1=$(dev_of 0:0:1 cdrom)
	sg1=$(sg_of 0:0:1)
	show lsscsi -g
	label_is "$sr" PVSCSI_ONE
	reads "$sr" "the first disc"
	# The empty drive: no medium to probe.
	! blkid -p "$sr1" >/dev/null 2>&1 || fail "blkid -p $sr1 found something on the empty drive"
	ua_clear "$sg1"
	expect_outcome "empty drive" '^not ready: medium not present' "$sg1" 00 00 00 00 00 00
	mark mounted
	# The host's refusals are done when the empty drive gets a disc.
	tur_until "$sg1" '^good' "the empty drive loaded"
	# The host's refused eject left the disc in.
	echo 3 >/proc/sys/vm/drop_caches
	[ "$(cat /mnt/hello.txt)" = "the first disc" ] || fail "the disc changed under the mount"
	run umount /mnt
	run eject "$sr"
	mark ejected
	sg=$(sg_of 0:0:0)
	tur_until "$sg" '^good' "the second disc loaded"
	label_is "$sr" PVSCSI_TWO
	reads "$sr" "the second disc"
	label_is "$sr1" PVSCSI_ONE
	mark mounted-again
	# Gone under the mount (eject --force): nothing more is read from it.
	tur_until "$sg" '^not ready: medium not present' "after eject --force"
	run umount /mnt
}
