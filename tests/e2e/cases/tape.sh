# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# tape: a tape library through passthrough: dom0's tgtd exports a tape drive
# and a medium changer (3 cartridges TAPE01-03 in slots 1-3) over iSCSI on
# loopback (lib/devtype.sh); the guest gets the drive at 0:0:0:0 and the
# changer at 0:0:1:0.  With mtx it loads TAPE01 into the drive; with mt-st and
# GNU tar (-b 20, the block size tgt reads back correctly) it writes two
# archives, rewinds, reads the first back, skips a filemark, reads the second
# back, spaces to end of data, and unloads the cartridge to its slot.
# dom0 then finds the archives in TAPE01's file.  The kernel backend (LIO
# pscsi) is the reference.
BACKENDS="kernel pvscsid"
TIMEOUT=400

case_cleanup() { vtl_stop; }

dom0() {
	local f size0 size
	vtl_start
	lun_tape
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	lun_changer
	vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
	f=$(vtl_tape_file TAPE01)
	size0=$(stat -c %s "$f")
	guest_start
	guest_wait_end "$TIMEOUT"
	# The guest's verdict first: its failure says more than what follows.
	guest_verdict
	size=$(stat -c %s "$f")
	tgtimg --op show --device-type tape --file "$f" >"$CASEOUT/TAPE01.txt" 2>&1 || true
	# Two archives of 556 KiB of files, and their filemarks.
	[ "$size" -ge $((size0 + 2 * 556 * 1024)) ] ||
		fail "TAPE01 is $size bytes after the guest wrote to it ($size0 before): the archives are not on the tape"
	say "TAPE01: $size0 -> $size bytes"
}

# mtx's view of the changer: "drive empty" or the tag of the cartridge
# loaded, and the tag in slot $2 or "empty".
mtx_drive() {
	mtx -f "$1" status >/tmp/mtx.out 2>&1 || fail "mtx status failed: $(tr '\n' ' ' </tmp/mtx.out)"
	if grep -q 'Data Transfer Element 0:Empty' /tmp/mtx.out; then
		echo "drive empty"
	else
		sed -n 's/.*Data Transfer Element 0:Full.*VolumeTag *= *\([A-Z0-9]*\).*/\1/p' /tmp/mtx.out
	fi
}
mtx_slot() {
	if grep -q "Storage Element $1:Empty" /tmp/mtx.out; then
		echo empty
	else
		sed -n "s/.*Storage Element $1:Full *:VolumeTag=\\([A-Z0-9]*\\).*/\\1/p" /tmp/mtx.out
	fi
}

# A tree of files of several sizes under $1.
make_tree() {
	mkdir -p "$1/sub/deeper"
	dd if=/dev/urandom of="$1/a.bin" bs=1k count=300 2>/dev/null
	dd if=/dev/urandom of="$1/sub/b.bin" bs=1k count=256 2>/dev/null
	dd if=/dev/urandom of="$1/sub/deeper/c.bin" bs=17 count=1 2>/dev/null
	echo "$1" >"$1/name.txt"
	(cd "$1" && find . -type f | sort | xargs sha256sum) >"$1.sums"
}

# check_tree ORIG COPY: every file of ORIG is in COPY, unchanged.
check_tree() {
	(cd "$2" && sha256sum -c "$1.sums") >/tmp/tree.check 2>&1 || {
		cat /tmp/tree.check
		fail "the archive of $1 read back from the tape differs"
	}
	echo "$1: $(wc -l <"$1.sums") files read back from the tape intact"
}

guest() {
	wait_dev 0:0:0 tape
	wait_dev 0:1:0 changer
	nst=$(dev_of 0:0:0 tape)
	tsg=$(sg_of 0:0:0)
	csg=$(sg_of 0:1:0)
	show lsscsi -g
	show sg_inq "$tsg"
	show sg_inq "$csg"
	show mtx -f "$csg" status
	[ "$(mtx_drive "$csg")" = "drive empty" ] || fail "the drive is not empty at the start: $(cat /tmp/mtx.out)"
	for s in 1 2 3; do
		[ "$(mtx_slot $s)" = "TAPE0$s" ] || fail "slot $s holds '$(mtx_slot $s)', not TAPE0$s"
	done
	[ "$(mtx_slot 4)" = empty ] || fail "slot 4 is not empty"
	echo "changer: drive empty, TAPE01-03 in slots 1-3, slot 4 empty"

	run mtx -f "$csg" load 1 0
	[ "$(mtx_drive "$csg")" = TAPE01 ] || fail "after mtx load 1 the drive holds '$(mtx_drive "$csg")'"
	[ "$(mtx_slot 1)" = empty ] || fail "after mtx load 1, slot 1 is not empty"
	echo "changer: TAPE01 loaded"

	# tgt raises no unit attention on a load: st's position is unknown
	# until a rewind.
	run mt-st -f "$nst" rewind
	show mt-st -f "$nst" status
	make_tree /tmp/one
	make_tree /tmp/two
	# Each archive closes with a filemark (st writes it when a
	# non-rewinding device closes after writing).
	run tar -b 20 -cf "$nst" -C /tmp/one .
	run tar -b 20 -cf "$nst" -C /tmp/two .
	run mt-st -f "$nst" rewind

	mkdir -p /tmp/back1 /tmp/back2
	run tar -b 20 -xf "$nst" -C /tmp/back1
	check_tree /tmp/one /tmp/back1
	# tar stops at its end-of-archive records: skip the rest of file 0.
	run mt-st -f "$nst" fsf 1
	run tar -b 20 -xf "$nst" -C /tmp/back2
	check_tree /tmp/two /tmp/back2

	run mt-st -f "$nst" eod
	mt-st -f "$nst" status >/tmp/mt.out 2>&1 || fail "mt-st status failed: $(tr '\n' ' ' </tmp/mt.out)"
	record view.txt cat /tmp/mt.out
	# tgt answers SPACE to end of data without the residue st needs to
	# count the filemarks it passed (File number=8388608 through LIO too):
	# only the EOD status bit says where the tape is.
	sed -n '/General status bits/{n;p}' /tmp/mt.out | grep -qw EOD ||
		fail "after eod the drive is not at end of data: $(sed -n '/General status bits/{n;p}' /tmp/mt.out)"
	echo "tape: at end of data"
	run mt-st -f "$nst" rewind

	run mtx -f "$csg" unload 1 0
	[ "$(mtx_drive "$csg")" = "drive empty" ] || fail "after mtx unload the drive holds '$(mtx_drive "$csg")'"
	[ "$(mtx_slot 1)" = TAPE01 ] || fail "after mtx unload slot 1 holds '$(mtx_slot 1)', not TAPE01"
	show mtx -f "$csg" status
	echo "changer: TAPE01 back in slot 1"
}
