# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# devtype_filter: pvscsid's CDB filter on a tape drive and a medium changer
# (dom0's tgtd library, lib/devtype.sh), in three phases paced by dom0:
#   filtered  vhost 0 (feature-host=0): tape 0:0:0:0, changer 0:0:1:0.  What
#             a tape library needs passes (mtx status/load/unload, READ BLOCK
#             LIMITS); WRITE BUFFER mode 05h (download microcode) and FORMAT
#             MEDIUM (sent twice) to the tape and vendor opcode C0h to the
#             changer come back ILLEGAL REQUEST (pointing at the opcode),
#             and pvscsid's log has one "filter refused XXh" line for each
#             (XX: 3Bh, 04h, C0h).
#   raw       the same devices hot-added to vhost 1 (feature-host=1) at
#             0:0:2:0 and 0:0:3:0: the same commands reach tgtd, which
#             answers them itself (tgt implements none: INVALID COMMAND
#             OPERATION CODE, without a field pointer), and pvscsid logs no
#             refusal.
#   ro        hot-added again to vhost 0 read-only ("/dev/sgN,ro") at 0:0:4:0
#             and 0:0:5:0: the changer still moves TAPE02 into the drive and
#             back; the tape is write-protected for st (WR_PROT), WRITE(6),
#             WRITE FILEMARKS and ERASE get DATA PROTECT while READ BLOCK
#             LIMITS and REWIND pass, tar cannot write, and TAPE02's file is
#             unchanged in dom0.  (tgt has no ERASE: DATA PROTECT there can
#             only come from pvscsid.)
BACKENDS="pvscsid"
TIMEOUT=600

case_cleanup() { vtl_stop; }

# Lines of pvscsid's log saying its filter refused opcode $2 (e.g. 04h) to
# the sg LUN $1 (docs/lun-core.md: "sg LUN '/dev/sg5', a tape drive (SSC):
# filter refused 04h FORMAT MEDIUM: ...").
refused_lines() { grep -c "sg LUN '$1'.*filter refused $2" "$PVSCSID_LOG" || true; }

dom0() {
	local t c op n mark tape2 sum
	vtl_start
	lun_tape
	t=$PDEV
	lun_changer
	c=$PDEV
	vscsi_attach "$DOMID" 0 0 "$t" 0:0:0:0
	vscsi_attach "$DOMID" 0 1 "$c" 0:0:1:0
	# vhost 1 is raw; a RAM disk holds its place until the raw phase.
	VSCSI_FEATURE_HOST=1 vscsi_attach "$DOMID" 1 0 mem:1M 0:0:9:0
	guest_start

	guest_wait_mark filtered 300
	for op in "$t 3Bh" "$t 04h" "$c C0h"; do
		# shellcheck disable=SC2086 # LUN and opcode
		n=$(refused_lines $op)
		[ "$n" = 1 ] || fail "pvscsid logged 'filter refused ${op#* }' for ${op% *} $n times, expected once (see pvscsid.log)"
	done
	grep 'filter refused' "$PVSCSID_LOG" >"$CASEOUT/refusals-filtered.txt"
	say "pvscsid's refusals: $(tr '\n' ';' <"$CASEOUT/refusals-filtered.txt")"
	vscsi_hot_remove "$DOMID" 0 0
	vscsi_hot_remove "$DOMID" 0 1
	mark=$(wc -l <"$PVSCSID_LOG")
	vscsi_hot_add "$DOMID" 1 1 "$t" 0:0:2:0
	vscsi_hot_add "$DOMID" 1 2 "$c" 0:0:3:0

	guest_wait_mark raw 300
	tail -n +"$((mark + 1))" "$PVSCSID_LOG" | grep 'filter refused' >"$CASEOUT/refusals-raw.txt" &&
		fail "pvscsid refused commands on feature-host LUNs: $(head -n 1 "$CASEOUT/refusals-raw.txt")"
	vscsi_hot_remove "$DOMID" 1 1
	vscsi_hot_remove "$DOMID" 1 2
	tape2=$(vtl_tape_file TAPE02)
	sum=$(sha256sum <"$tape2")
	vscsi_hot_add "$DOMID" 0 2 "$t,ro" 0:0:4:0
	vscsi_hot_add "$DOMID" 0 3 "$c,ro" 0:0:5:0

	guest_wait_end "$TIMEOUT"
	guest_verdict
	[ "$(sha256sum <"$tape2")" = "$sum" ] || fail "TAPE02 changed in dom0 while its drive was read-only"
	say "TAPE02 unchanged"
}

# ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20h/00h)
INVALID_OP='^illegal request: invalid command operation code'
# ... or INVALID FIELD IN CDB (24h/00h), for an opcode refused by one field
INVALID_OP_OR_FIELD='^illegal request: (invalid command operation code|invalid field in cdb)'
# DATA PROTECT, WRITE PROTECTED (27h/00h)
WRITE_PROTECTED='^data protect: write protected'

# mtx_load CHANGER_SG SLOT / mtx_unload CHANGER_SG SLOT: move a cartridge
# between a slot and the drive; mtx status must show it done.
mtx_load() {
	run mtx -f "$1" load "$2" 0
	mtx -f "$1" status >/tmp/mtx.out 2>&1 || fail "mtx status failed: $(tr '\n' ' ' </tmp/mtx.out)"
	grep -q "Data Transfer Element 0:Full (Storage Element $2 Loaded)" /tmp/mtx.out ||
		fail "after mtx load $2: $(grep 'Data Transfer' /tmp/mtx.out)"
}
mtx_unload() {
	run mtx -f "$1" unload "$2" 0
	mtx -f "$1" status >/tmp/mtx.out 2>&1 || fail "mtx status failed: $(tr '\n' ' ' </tmp/mtx.out)"
	grep -q 'Data Transfer Element 0:Empty' /tmp/mtx.out ||
		fail "after mtx unload $2: $(grep 'Data Transfer' /tmp/mtx.out)"
	grep -q "Storage Element $2:Full" /tmp/mtx.out || fail "after mtx unload $2, slot $2 is empty"
}

# answered_by pvscsid|tgtd WHAT: whose sense the last sg_outcome got.
# pvscsid's refusal points at the field it refused (sense-key specific
# field pointer: byte 0 for an opcode, as its emulated LUNs answer); tgt
# 1.0.85 sets no sense-key specific bytes.  The log (dom0) is the proof; this is the guest's view.
answered_by() {
	if grep -q 'Sense Key Specific: Error in Command' /tmp/sg_outcome.out; then
		[ "$1" = pvscsid ] || fail "$2: the answer has pvscsid's field pointer, expected tgtd's own"
	else
		[ "$1" = tgtd ] || fail "$2: the answer has no field pointer: not pvscsid's refusal"
	fi
}

# The commands the filter refuses, sent to TAPE_SG and CHANGER_SG in PHASE;
# WB_ERE is the outcome expected for WRITE BUFFER (the filter may refuse
# it by its mode field), WHO the one expected to answer (answered_by).
send_refused() {
	# WRITE BUFFER, mode 05h (download microcode and save), no data
	expect_outcome "$4: WRITE BUFFER mode 05h to the tape" "$3" "$1" 3b 05 00 00 00 00 00 00 00 00
	answered_by "$5" "$4: WRITE BUFFER"
	# FORMAT MEDIUM, twice (pvscsid logs once per LUN and opcode)
	expect_outcome "$4: FORMAT MEDIUM to the tape" "$INVALID_OP" "$1" 04 00 00 00 00 00
	answered_by "$5" "$4: FORMAT MEDIUM"
	expect_outcome "$4: FORMAT MEDIUM to the tape, again" "$INVALID_OP" "$1" 04 00 00 00 00 00
	answered_by "$5" "$4: FORMAT MEDIUM, again"
	# a vendor-specific opcode
	expect_outcome "$4: vendor opcode C0h to the changer" "$INVALID_OP" "$2" c0 00 00 00 00 00
	answered_by "$5" "$4: vendor opcode C0h"
	echo "$4: the four commands were answered by $5"
}

guest() {
	# --- filtered (vhost 0) ---
	wait_dev 0:0:0 tape 120
	wait_dev 0:1:0 changer
	tsg=$(sg_of 0:0:0)
	csg=$(sg_of 0:1:0)
	show lsscsi -g
	ua_clear "$tsg"
	ua_clear "$csg"
	mtx_load "$csg" 1
	expect_outcome "filtered: READ BLOCK LIMITS" '^good$' -r 6 "$tsg" 05 00 00 00 00 00
	send_refused "$tsg" "$csg" "$INVALID_OP_OR_FIELD" filtered pvscsid
	mtx_unload "$csg" 1
	mark filtered

	# --- raw (vhost 1, feature-host=1) ---
	wait_dev 0:2:0 tape 300
	wait_dev 0:3:0 changer
	tsg=$(sg_of 0:2:0)
	csg=$(sg_of 0:3:0)
	ua_clear "$tsg"
	ua_clear "$csg"
	mtx_load "$csg" 1
	expect_outcome "raw: READ BLOCK LIMITS" '^good$' -r 6 "$tsg" 05 00 00 00 00 00
	send_refused "$tsg" "$csg" "$INVALID_OP" raw tgtd
	mtx_unload "$csg" 1
	mark raw

	# --- read-only (vhost 0, /dev/sgN,ro) ---
	wait_dev 0:4:0 tape 300
	wait_dev 0:5:0 changer
	tsg=$(sg_of 0:4:0)
	csg=$(sg_of 0:5:0)
	nst=$(dev_of 0:4:0 tape)
	ua_clear "$tsg"
	ua_clear "$csg"
	mtx_load "$csg" 2
	echo "ro: the read-only changer loaded TAPE02"
	run mt-st -f "$nst" rewind
	mt-st -f "$nst" status >/tmp/mt.out 2>&1 || fail "mt-st status failed: $(tr '\n' ' ' </tmp/mt.out)"
	cat /tmp/mt.out
	grep -q WR_PROT /tmp/mt.out || fail "ro: st does not see the tape write-protected: $(grep -i 'status bits' /tmp/mt.out)"
	echo "ro: st sees the tape write-protected"
	expect_outcome "ro: READ BLOCK LIMITS" '^good$' -r 6 "$tsg" 05 00 00 00 00 00
	expect_outcome "ro: REWIND" '^good$' "$tsg" 01 00 00 00 00 00
	expect_outcome "ro: WRITE(6), 1 byte" "$WRITE_PROTECTED" -s 1 -i /dev/zero "$tsg" 0a 00 00 00 01 00
	expect_outcome "ro: WRITE FILEMARKS(6), 1" "$WRITE_PROTECTED" "$tsg" 10 00 00 00 01 00
	expect_outcome "ro: ERASE(6)" "$WRITE_PROTECTED" "$tsg" 19 00 00 00 00 00
	echo data >/tmp/data.txt
	if tar -b 20 -cf "$nst" -C /tmp data.txt 2>/tmp/tar.err; then
		fail "ro: tar wrote to the read-only tape"
	fi
	echo "ro: tar cannot write: $(head -n 1 /tmp/tar.err)"
	mtx_unload "$csg" 2
	echo "ro: the read-only changer put TAPE02 back"
}
