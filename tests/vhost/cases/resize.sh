# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# resize: 0:1:0's image grows from 64 to 96 MiB and the back-end is told;
# the guest sees the new capacity without a rescan.
ORDER=70

host() {
	guest_wait_mark resize
	lun_resize 1:0 "$RUN/img1" 96M
}

guest() {
	_d=$(sd_of 0:1:0)
	_b=$(cat "/sys/block/${_d#/dev/}/size")
	mark resize
	_i=0
	while [ "$(cat "/sys/block/${_d#/dev/}/size")" = "$_b" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 60 ] || fail "capacity of $_d still $_b sectors after 30s"
		sleep 0.5
	done
	echo "capacity of $_d: $_b -> $(cat "/sys/block/${_d#/dev/}/size") sectors"
	show sg_readcap "$(sg_of 0:1:0)"
}
