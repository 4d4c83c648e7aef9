# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# ext4-1k: the ext4 case with 1 KiB blocks (mkfs's choice for a disk under
# 512 MiB).  With a 4 KiB physical block the guest's block layer splits
# writeback at 4 KiB-aligned disk offsets that fall inside its pages, and
# builds 508 KiB requests whose 64 KiB scatter-gather entries each touch 17
# pages: more grants than xen-scsifront maps, so it refused them ("Unable to
# map request_buffer") and ext4 lost those writes (docs/compat.md,
# "xen-scsifront").  pvscsid's transfer bound keeps every request within
# what the frontend maps; blk-write.txt shows the requests the guest built.
TIMEOUT=400

dom0() {
	lun_file fs1k 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
}

guest() {
	wait_lun 0:0:0
	ext4_roundtrip "$(sd_of 0:0:0)" 1024
}
