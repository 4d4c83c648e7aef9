# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# fio: write+verify (crc32c) on two LUNs on two targets at once, queue
# depth 16, 24 MiB each; behind pvscsi-vhost-user the second (1:0) is a
# writes=inline file LUN, the first a default one.
ORDER=50

guest() {
	fio2 --size=24M
}
