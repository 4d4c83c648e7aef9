# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# fio: write+verify (crc32c) on two LUNs on two targets at once, queue
# depth 16, 24 MiB each.
ORDER=50

guest() {
	fio2 --size=24M
}
