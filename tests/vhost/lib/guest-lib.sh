# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# The guest side of tests/vhost (busybox sh), sourced after
# tests/e2e/lib/guest-lib.sh (wait_lun, wait_gone, sg_of, sd_of, show, run,
# record, mark, fail) before a case's guest() runs under `set -eu`.
# Variables: MODE (vhost, ref, restart), GUEST (1, or N in a case that boots
# several guests).
#
# The standard boot's LUNs: 0:0:0 (64 MiB file), 0:0:1 (16 MiB file), 0:1:0
# (64 MiB file); the hotplug case adds and removes 0:2:0.
#
#   fio2 [FIO-ARG...]   fio write+verify on 0:0:0 and 0:1:0 at once (two LUNs
#                       on two targets), queue depth 16, 4k-256k
#   wait_host WORD [S]  wait until the host's part said WORD (guest_tell) in
#                       this case, 120 s at most

fio2() {
	_a=$(sd_of 0:0:0)
	_b=$(sd_of 0:1:0)
	echo "\$ fio verify on $_a and $_b $*"
	fio --rw=randwrite --bsrange=4k-256k --iodepth=16 --ioengine=libaio --direct=1 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 "$@" \
		--name=a --filename="$_a" --name=b --filename="$_b" >/tmp/fio2.out 2>&1 || {
		_rc=$?
		tail -n 30 /tmp/fio2.out
		fail "fio verify failed (status $_rc): $(grep -m1 -i -E 'verify|error|err=' /tmp/fio2.out)"
	}
	grep -q 'err= 0' /tmp/fio2.out || { cat /tmp/fio2.out; fail "fio reported an error"; }
	grep -E '^ +(WRITE|READ):' /tmp/fio2.out || true
}

# /init keeps the host's words of the running case in /tmp/host-words
# (one a line, as they come on the second serial port).
wait_host() {
	_i=0
	until grep -qFx "$1" /tmp/host-words 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le "$((${2:-120} * 5))" ] || fail "no word '$1' from the host within ${2:-120}s"
		sleep 0.2
	done
	echo "host said: $1"
}
