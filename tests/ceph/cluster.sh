#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A private single-node Ceph cluster for the rbd: tests: one mon, one mgr,
# one bluestore OSD on a sparse file, pool size 1, cephx, everything (conf,
# keyrings, data, pid files, logs) under DIR.  Nothing of /etc/ceph or
# systemd is used, so it can run beside (or without) a real cluster.
#
# usage: tests/ceph/cluster.sh start|stop|status [DIR]   (default DIR: build/ceph)
#   start   stop any leftovers in DIR, create the cluster, the pool "rbd";
#           prints DIR/ceph.conf's path and the time it took
#   stop    kill the daemons and remove DIR
#   status  ceph -s
# CEPH_PORT (default 40789): the mon's port on 127.0.0.1.
set -eu

cmd=${1:-}
dir=${2:-build/ceph}
port=${CEPH_PORT:-40789}

case "$cmd" in
start | stop | status) ;;
*)
	echo "usage: $0 start|stop|status [DIR]" >&2
	exit 2
	;;
esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/ceph.conf

stop() {
	for f in "$dir"/run/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	# A daemon that ignores TERM for 10 s gets KILL: stop must not hang a test run.
	for _ in $(seq 100); do
		alive=""
		for f in "$dir"/run/*.pid; do
			[ -e "$f" ] || continue
			pid=$(cat "$f" 2>/dev/null || true)
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	[ -n "${alive:-}" ] && kill -9 $alive 2>/dev/null || true
	rm -rf "$dir"
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi
if [ "$cmd" = status ]; then
	exec ceph -c "$conf" -s
fi

for b in ceph-mon ceph-mgr ceph-osd ceph ceph-authtool monmaptool rbd; do
	if ! command -v "$b" >/dev/null; then
		echo "cluster.sh: $b not found (scripts/install-deps ceph)" >&2
		exit 1
	fi
done

t0=$(date +%s.%N)
stop
mkdir -p "$dir/run" "$dir/log" "$dir/mon/ceph-a" "$dir/mgr/ceph-x" "$dir/osd/ceph-0"
fsid=$(cat /proc/sys/kernel/random/uuid)

# Small memory targets and no warnings that a one-OSD test cluster always
# has (no redundancy), so that HEALTH_OK means what it says.
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
crash dir = $dir/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false
[client]
keyring = $dir/ceph.client.admin.keyring
[mon]
mon data = $dir/mon/ceph-\$id
keyring = $dir/mon/ceph-\$id/keyring
mon memory target = 268435456
[mgr]
mgr data = $dir/mgr/ceph-\$id
keyring = $dir/mgr/ceph-\$id/keyring
mgr initial modules =
[osd]
osd data = $dir/osd/ceph-\$id
keyring = $dir/osd/ceph-\$id/keyring
osd objectstore = bluestore
bluestore block path = $dir/osd/\$id.block
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mount = false
osd memory target = 939524096
bluestore cache autotune = true
osd op num shards = 1
osd op num threads per shard = 2
EOF

ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
	--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$port]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
ceph-mon -c "$conf" -i a 2>>"$dir/log/stderr.log"

c() { ceph -c "$conf" --connect-timeout 30 "$@"; }

c auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
	-o "$dir/mgr/ceph-x/keyring" >/dev/null
ceph-mgr -c "$conf" -i x 2>>"$dir/log/stderr.log"

uuid=$(cat /proc/sys/kernel/random/uuid)
id=$(c osd new "$uuid")
[ "$id" = 0 ] || { echo "cluster.sh: expected osd.0, got osd.$id" >&2; exit 1; }
# The OSD's key first: mkfs asks the mon for its config, as osd.0.
ceph-authtool --create-keyring "$dir/osd/ceph-0/keyring" --gen-key -n osd.0 >/dev/null
c auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
	-i "$dir/osd/ceph-0/keyring" >/dev/null 2>&1
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" >"$dir/log/osd-mkfs.log" 2>&1 ||
	{ tail -n 20 "$dir/log/osd-mkfs.log" >&2; exit 1; }
ceph-osd -c "$conf" -i 0 2>>"$dir/log/stderr.log"

c osd pool create rbd 8 >/dev/null 2>&1
# rbd pool init writes to the pool: it waits for the OSD to be up and the PGs active.
timeout 120 rbd -c "$conf" pool init rbd
# Every PG active+clean, so a test's first write does not wait for peering.
n=0
until c pg stat 2>/dev/null | grep -Eq '^([0-9]+) pgs: \1 active\+clean;'; do
	n=$((n + 1))
	if [ $n -gt 600 ]; then
		echo "cluster.sh: PGs not active+clean after 60 s:" >&2
		c pg stat >&2 || true
		exit 1
	fi
	sleep 0.1
done

t1=$(date +%s.%N)
echo "ceph cluster up in $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s: $conf (fsid $fsid)"
