# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# inq: standard INQUIRY of the three LUNs and the device identification VPD
# page (0x83) of 0:0:0.
ORDER=20

guest() {
	for l in 0:0:0 0:0:1 0:1:0; do
		show sg_inq "$(sg_of $l)"
	done
	show sg_inq --page=0x83 "$(sg_of 0:0:0)"
}
