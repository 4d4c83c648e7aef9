# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# basic: a 64 MiB file LUN (v-dev 0:0:0:0) and dom0's scsi_debug disk
# (v-dev 0:0:1:0) attached before the guest starts.  The guest finds both
# at their v-devs, INQUIRY / VPD 0x83 / READ CAPACITY(16) / REPORT LUNS
# answer, the capacity is the configured 64 MiB, and fio write+verify passes
# on each.
TIMEOUT=400

dom0() {
	lun_file disk0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	lun_sdebug sg
	vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
	guest_start
}

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	show lsscsi
	for l in 0:0:0 0:1:0; do
		sg=$(sg_of $l)
		sd=$(sd_of $l)
		show sg_inq "$sg"
		show sg_vpd -p 0x83 "$sg"
		show sg_readcap -l "$sg"
		# xen-scsiback+LIO (Linux 6.1) oopses dom0 on a REPORT LUNS whose
		# buffer spans pages (it vmaps the guest's granted pages), and sg_luns
		# asks for 8 KiB: the reference gets a one-page request.
		if [ "$BACKEND" = kernel ]; then
			show sg_luns -m 512 "$sg"
		else
			show sg_luns "$sg"
		fi
		show sg_turs -v "$sg"
		# Both LUNs are 64 MiB whatever the backend calls them.
		bytes=$(blockdev --getsize64 "$sd")
		[ "$bytes" = 67108864 ] || fail "$sd ($l) is $bytes bytes, expected 67108864"
		sg_vpd -p 0x83 "$sg" | grep -q -i designator ||
			fail "VPD page 0x83 of $sg ($l) has no designator"
	done
	for l in 0:0:0 0:1:0; do
		fio_verify "$(sd_of $l)"
	done
}
