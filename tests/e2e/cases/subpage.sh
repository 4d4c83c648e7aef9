# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# subpage: fio write+verify with block sizes that are multiples of 512 but
# not of 4096, from buffers aligned to 512 bytes or 1 KiB but not to a page,
# sequential and random, queue depth 16, direct I/O: on a file LUN
# (0:0:0:0), on dom0's scsi_debug disk through passthrough (0:0:1:0) and
# on a memory LUN (0:0:2:0: pvscsid's mem:, whose WRITEs take their data
# straight from the guest's pages into the medium, piece by piece; the
# kernel backend's LIO ramdisk).
# Such buffers make scatter-gather entries that start and end inside pages,
# each costing xen-scsifront a grant per page it touches; without a
# transfer bound the guest built requests the frontend refused ("Unable to
# map request_buffer", an I/O error in fio).  First, on each LUN, the worst
# such request: dio_straddle writes 128 blocks in one pwritev, each block a
# piece straddling two physically contiguous pages (2 grants per block, 256
# in all, within max_segments), and reads them back.  /init's dmesg_check
# fails the case on any refusal.
TIMEOUT=600
# pvscsid with adaptive polling (--poll-us): the unarmed-ring path, where
# requests arrive without events, verified byte for byte under QD 16 on
# both LUN kinds.  Every other case runs pvscsid without it.
PVSCSID_ARGS="--poll-us 50"

dom0() {
	lun_file sub0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	lun_sdebug sg
	vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
	lun_mem 32M
	vscsi_attach "$DOMID" 0 2 "$PDEV" 0:0:2:0
	guest_start
	guest_wait_mark luns-done 540
	# pvscsid's mem: LUN: its data went straight to and from the medium
	# (lent by the core, one grant copy per command), as the ring counts.
	if [ "$BACKEND" = pvscsid ]; then
		"$(dirname "$PVSCSID")/pvscsictl" --socket /run/pvscsid/control stats --json \
			>"$CASEOUT/stats.json" || fail "pvscsictl stats --json failed"
		python3 -c '
import json, sys
r = [x for x in json.load(open(sys.argv[1]))["rings"] if x["domid"] == int(sys.argv[2])]
assert len(r) == 1, "no ring of the guest: %s" % r
r = r[0]
print("ring: %d requests, %d grant copy calls, data-in lent %d, data-out lent %d" %
      (r["requests"], r["copy_calls"], r["lent_in"], r["lent_out"]))
assert r["lent_in"] > 0 and r["lent_out"] > 0, "the mem: LUN lent nothing"
' "$CASEOUT/stats.json" "$DOMID" >"$CASEOUT/lent.txt" 2>&1 || fail "stats: $(tail -n 1 "$CASEOUT/lent.txt")"
		say "$(cat "$CASEOUT/lent.txt")"
	fi
	# The guest's signal to end.
	lun_mem 1M
	vscsi_hot_add "$DOMID" 0 3 "$PDEV" 0:0:3:0
}

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	wait_lun 0:2:0
	for l in 0:0:0 0:1:0 0:2:0; do
		sd=$(sd_of $l)
		blk_watch "$sd"
		run dio_straddle "$sd" 128
		fio_verify "$sd" --size=24M --rw=write --bssplit=$SUBPAGE_BS --mem_align=1536
		fio_verify "$sd" --size=24M --rw=randwrite --bssplit=$SUBPAGE_BS --mem_align=1024
		blk_report "$sd" "blk-$(basename "$sd").txt"
	done
	mark luns-done
	wait_lun 0:3:0 300
}
