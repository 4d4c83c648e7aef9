# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# ext4: a filesystem on a file LUN: mkfs.ext4, mount, write files, umount,
# e2fsck -fn finds it clean, mount again and every file reads back the same.
TIMEOUT=400

dom0() {
	lun_file fs0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
}

guest() {
	wait_lun 0:0:0
	ext4_roundtrip "$(sd_of 0:0:0)" 4096
}
