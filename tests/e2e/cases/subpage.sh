# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# subpage: fio write+verify with block sizes that are multiples of 512 but
# not of 4096, from buffers aligned to 512 bytes or 1 KiB but not to a page,
# sequential and random, queue depth 16, direct I/O: on a file LUN
# (0:0:0:0) and on dom0's scsi_debug disk through passthrough (0:0:1:0).
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
	guest_start
}

# 1.5, 3.5, 7.5, 32.5 and 129.5 KiB: fio places each I/O unit's buffer at
# mem_align past a page, plus whole multiples of the largest size.
SUBPAGE_BS=1536/20:3584/20:7680/20:33280/20:132608/20

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	for l in 0:0:0 0:1:0; do
		sd=$(sd_of $l)
		blk_watch "$sd"
		run dio_straddle "$sd" 128
		fio_verify "$sd" --size=24M --rw=write --bssplit=$SUBPAGE_BS --mem_align=1536
		fio_verify "$sd" --size=24M --rw=randwrite --bssplit=$SUBPAGE_BS --mem_align=1024
		blk_report "$sd" "blk-$(basename "$sd").txt"
	done
}
