#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A private tgtd (Debian's tgt) on 127.0.0.1 for the iscsi:// LUN tests:
# its own control port (tgtadm -C), its own portal port, file-backed LUNs in
# DIR.  Nothing of the host's tgt service is used or touched.
#
# usage: tests/iscsi/tgtd.sh start DIR PORT CTL   start (again: the images are kept)
#        tests/iscsi/tgtd.sh stop DIR             stop it (SIGKILL, as a crash would)
#        tests/iscsi/tgtd.sh destroy DIR          stop it and remove DIR
#
# Targets (the IQNs the tests use):
#   iqn.2026-12.org.pvscsi.test:disk  LUN 1: 64 MiB disk (DIR/disk1.img), LUN 2: 16 MiB
#   iqn.2026-12.org.pvscsi.test:chap  LUN 1: 16 MiB disk, CHAP user pvsuser,
#                                     secret in DIR/chap (mode 600, "USER SECRET")
set -eu

die() {
	echo "tgtd.sh: $*" >&2
	exit 1
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start DIR PORT CTL | stop DIR | destroy DIR"

stop() {
	[ -f "$dir/tgtd.pid" ] || return 0
	pid=$(cat "$dir/tgtd.pid")
	rm -f "$dir/tgtd.pid"
	# tgtd ignores SIGTERM while it has targets; its state is in memory and
	# its LUNs' data in files written as it goes: SIGKILL loses nothing.
	kill -9 "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# tgtd's control socket outlives a killed tgtd; the next start would not bind it.
	[ -f "$dir/ctl" ] && rm -f "/var/run/tgtd/socket.$(cat "$dir/ctl")" \
		"/var/run/tgtd/socket.$(cat "$dir/ctl").lock"
	return 0
}

case $cmd in
start)
	port=${3:?port}
	ctl=${4:?control port}
	command -v tgtd >/dev/null || die "tgtd not found (scripts/install-deps unit installs tgt)"
	mkdir -p "$dir"
	stop
	for f in disk1:64M disk2:16M chap1:16M; do
		[ -f "$dir/${f%%:*}.img" ] || truncate -s "${f#*:}" "$dir/${f%%:*}.img"
	done
	umask 077
	echo "pvsuser pvs-secret-1" >"$dir/chap"
	echo "$ctl" >"$dir/ctl"
	mkdir -p /var/run/tgtd
	rm -f "/var/run/tgtd/socket.$ctl" "/var/run/tgtd/socket.$ctl.lock"
	setsid tgtd -f -C "$ctl" --iscsi portal="127.0.0.1:$port" </dev/null >>"$dir/tgtd.log" 2>&1 &
	echo $! >"$dir/tgtd.pid"
	i=0
	until tgtadm -C "$ctl" --lld iscsi --op show --mode sys >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "tgtd did not start: $(tail -n 3 "$dir/tgtd.log")"
		kill -0 "$(cat "$dir/tgtd.pid")" 2>/dev/null ||
			die "tgtd exited: $(tail -n 3 "$dir/tgtd.log")"
		sleep 0.1
	done
	t="tgtadm -C $ctl --lld iscsi"
	$t --op new --mode target --tid 1 -T iqn.2026-12.org.pvscsi.test:disk
	$t --op new --mode logicalunit --tid 1 --lun 1 -b "$dir/disk1.img"
	$t --op new --mode logicalunit --tid 1 --lun 2 -b "$dir/disk2.img"
	$t --op bind --mode target --tid 1 -I ALL
	$t --op new --mode target --tid 2 -T iqn.2026-12.org.pvscsi.test:chap
	$t --op new --mode logicalunit --tid 2 --lun 1 -b "$dir/chap1.img"
	$t --op bind --mode target --tid 2 -I ALL
	$t --op new --mode account --user pvsuser --password pvs-secret-1
	$t --op bind --mode account --tid 2 --user pvsuser
	;;
stop) stop ;;
destroy)
	stop
	rm -rf "$dir"
	;;
*) die "unknown command '$cmd'" ;;
esac
