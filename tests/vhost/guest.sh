# shellcheck shell=sh
# The guest side of tests/vhost: one function per case, run in this order
# by guest-init with tests/e2e/lib/guest-lib.sh's helpers (wait_lun, sg_of,
# sd_of, show, fail, mark).  The same cases run against pvscsi-vhost-user
# (MODE=vhost) and QEMU's virtio-scsi + scsi-hd (MODE=ref).
# LUNs: 0:0 (64 MiB file), 0:1 (16 MiB file), 1:0 (64 MiB file); 2:0 is
# hot-added and removed.
# The harness picks a subset per boot (e2e.cases=).
CASES="discover inq readcap luns fio hotplug resize restart"

case_discover() {
	wait_lun 0:0:0 60
	wait_lun 0:0:1 30
	wait_lun 0:1:0 30
	show lsscsi
}

case_inq() {
	for l in 0:0:0 0:0:1 0:1:0; do
		show sg_inq "$(sg_of $l)"
	done
	show sg_inq --page=0x83 "$(sg_of 0:0:0)"
}

case_readcap() {
	show sg_readcap "$(sg_of 0:0:0)"
	show sg_readcap --long "$(sg_of 0:1:0)"
}

case_luns() {
	show sg_luns "$(sg_of 0:0:0)"
	show sg_luns "$(sg_of 0:1:0)"
}

# Two LUNs on two targets at once, queue depth 16, write then verify.
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

case_fio() {
	fio2 --size=24M
}

case_hotplug() {
	mark hotadd
	wait_lun 0:2:0 60
	show sg_inq "$(sg_of 0:2:0)"
	show sg_readcap "$(sg_of 0:2:0)"
	mark hotremove
	wait_gone 0:2:0 60
	show lsscsi
}

case_resize() {
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

# The back-end is killed (SIGKILL) and started again while fio writes
# (rate-limited to about 8 s of writing) and then verifies.
case_restart() {
	( sleep 3; mark restart ) &
	fio2 --size=48M --rate=6m
	wait
}
