# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# hotplug: a 32 MiB LUN hot-added at 0:2:0 appears in the guest without a
# rescan and answers INQUIRY and READ CAPACITY; hot-removed, it goes.
ORDER=60

host() {
	guest_wait_mark hotadd
	lun_add 2:0 "$RUN/img2"
	guest_wait_mark hotremove
	lun_remove 2:0
}

guest() {
	mark hotadd
	wait_lun 0:2:0 60
	show sg_inq "$(sg_of 0:2:0)"
	show sg_readcap "$(sg_of 0:2:0)"
	mark hotremove
	wait_gone 0:2:0 60
	show lsscsi
}
