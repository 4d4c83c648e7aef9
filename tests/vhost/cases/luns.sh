# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# luns: REPORT LUNS on target 0 (two LUNs) and target 1 (one).
ORDER=40

guest() {
	show sg_luns "$(sg_of 0:0:0)"
	show sg_luns "$(sg_of 0:1:0)"
}
