# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# soak: two guests run fio write+verify while, at random, LUNs are
# hot-added to and removed from either, pvscsid is killed and restarted,
# the second guest is saved and restored, and both send LUN resets
# (sg_reset -d) from inside.  It ends with no verify error, no guest device
# disabled or offline, and pvscsid's memory and open files not growing.
#
# SOAK_SECS sets the length of dom0's event loop (default 60 s, what
# `make check` runs; `make soak SOAK_SECS=3600` for an hour).  Whatever the
# length, the first four events are one of each kind (restart, save and
# restore, a hot plug in either guest), so that the short run of make check
# covers them all; random ones follow until the time is up.  Both guests
# are set up through the xl front (xl scsi-attach, vscsi=), so that the
# second one's save and restore re-resolves its LUNs as an administrator's
# would.  The end is signalled to the guests by a LUN hot-added at 0:0:9:0.
#
# pvscsid runs two event-loop threads: the guests' disks are two LUNs, so
# each guest's ring goes to a loop of its own and both loops serve I/O at
# once (pvscsid.log: "on event loop N").  Then a 'shareable' LUN is
# hot-added to the second guest and to the first: a LUN runs on one loop,
# so the first guest's vhost moves to the second's loop with fio running
# (pvscsid.log: "moved to event loop"), and the events above follow with
# both guests on one loop.
BACKENDS="pvscsid"
TIMEOUT=$((${SOAK_SECS:-60} + 540))
PVSCSID_ARGS="--threads 2"

SOAK_B=e2e-pvscsid-soak-b

# soak_xl DOMAIN WHAT XL-ARGS...: xl, and if it fails, a case failure that
# carries xl's own message (make check's summary shows only that line) and
# the domain's vCPUs (a frozen guest is the usual cause) in xenctx.txt.
soak_xl() {
	local dom=$1 what=$2 out
	shift 2
	if ! out=$(xl "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		guest_dump_vcpus "$(domid_of "$dom")"
		fail "$what: xl $1: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300) (vCPUs in xenctx.txt)"
	fi
	[ -z "$out" ] || printf '%s\n' "$out" >&2
}

soak_sample() {
	local pid rss fds
	pid=$(pvscsid_pid)
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	fds=$(ls "/proc/$pid/fd" | wc -l)
	echo "$pid $rss $fds" >>"$CASEOUT/pvscsid-memory.txt"
}

# The same PDEV may not be given twice: each hot plug makes its own image.
soak_hotplug() {
	local dom=$1 img
	SOAK_N=$((SOAK_N + 1))
	img=/var/tmp/e2e/hot$SOAK_N.img
	truncate -s 8M "$img"
	soak_xl "$dom" "hot add to $dom" scsi-attach "$dom" "file:$img" 0:0:5:0
	sleep $((RANDOM % 6 + 2))
	soak_xl "$dom" "hot remove from $dom" scsi-detach "$dom" 0:0:5:0
	rm -f "$img"
	say "event: LUN 0:0:5:0 hot-added to and removed from $dom"
}

soak_saverestore() {
	local img=/var/tmp/e2e/soak-b.save
	xl save "$SOAK_B" "$img" >&2 || fail "xl save $SOAK_B failed"
	xl restore "$img" >&2 || fail "xl restore $SOAK_B failed"
	rm -f "$img"
	say "event: $SOAK_B saved and restored (domid $(domid_of "$SOAK_B"))"
}

soak_restart() {
	pvscsid_kill9
	pvscsid_start
	say "event: pvscsid killed and restarted"
}

# Growth of RSS (KiB) and open files over each daemon's life.
soak_memory_check() {
	awk '{ if (!($1 in rss0)) { rss0[$1] = $2; fd0[$1] = $3; n[$1] = 0 }
		n[$1]++; rss[$1] = $2; fd[$1] = $3 }
		END { bad = 0
			for (p in rss0) {
				printf "pvscsid %s: %d samples, RSS %d -> %d KiB, files %d -> %d\n",
					p, n[p], rss0[p], rss[p], fd0[p], fd[p]
				if (n[p] >= 3 && (rss[p] - rss0[p] > 4096 || fd[p] - fd0[p] > 4)) bad = 1
			}
			exit bad }' "$CASEOUT/pvscsid-memory.txt" >"$CASEOUT/pvscsid-memory-summary.txt" ||
		fail "pvscsid's memory or open files grew: $(tr '\n' ';' <"$CASEOUT/pvscsid-memory-summary.txt")"
	say "$(tr '\n' ';' <"$CASEOUT/pvscsid-memory-summary.txt")"
}

case_cleanup() {
	guest_b_cleanup "$SOAK_B"
}

dom0() {
	local end ev i
	xl_front_install
	SOAK_N=0
	lun_file soaka 64M
	xl scsi-attach "$GUEST" "$PDEV" 0:0:0:0 || fail "xl scsi-attach to $GUEST failed"
	guest_start
	lun_file soakb 64M
	guest_b_create "$SOAK_B" "$PDEV,0:0:0:0"
	guest_wait_mark soak-running 300
	guest_b_wait_mark "$SOAK_B" soak-running 300

	# The move between loops, with fio writing and verifying in both.
	lun_file soakshared 8M
	soak_xl "$SOAK_B" "shared LUN to $SOAK_B" scsi-attach "$SOAK_B" "$PDEV" 0:0:7:0,shareable
	soak_xl "$GUEST" "shared LUN to $GUEST" scsi-attach "$GUEST" "$PDEV" 0:0:7:0,shareable
	pvscsid_alive || fail "pvscsid died (see pvscsid.log)"
	grep -q "moved to event loop" "$PVSCSID_LOG" ||
		fail "the shared LUN's hot add moved no vhost between event loops ($(grep -E 'event loop|0:0:7:0' "$PVSCSID_LOG" | tail -n 3 | tr '\n' ' '))"
	say "event: a LUN shared with $SOAK_B hot-added to $GUEST: $(grep -o 'moving from event loop [0-9] to [0-9]' "$PVSCSID_LOG" | head -n 1)"

	end=$(($(date +%s) + ${SOAK_SECS:-60}))
	soak_sample
	i=0
	while [ "$(date +%s)" -lt "$end" ] || [ $i -lt 4 ]; do
		case $i in
		0) ev=2 ;;
		1) ev=3 ;;
		2) ev=0 ;;
		3) ev=1 ;;
		*) ev=$((RANDOM % 5)) ;;
		esac
		i=$((i + 1))
		case $ev in
		0) soak_hotplug "$GUEST" ;;
		1) soak_hotplug "$SOAK_B" ;;
		2) soak_restart ;;
		3) soak_saverestore ;;
		4) say "event: none (the guests' own LUN resets go on)" ;;
		esac
		pvscsid_alive || fail "pvscsid died (see pvscsid.log)"
		sleep $((RANDOM % 10 + 5))
		soak_sample
	done
	soak_memory_check

	soak_xl "$GUEST" "the end LUN for $GUEST" scsi-attach "$GUEST" mem:1M 0:0:9:0
	soak_xl "$SOAK_B" "the end LUN for $SOAK_B" scsi-attach "$SOAK_B" mem:1M 0:0:9:0
	guest_b_verdict "$SOAK_B" 300
}

guest() {
	role=$(guest_role)
	wait_lun 0:0:0 240
	sd=$(sd_of 0:0:0)
	sg=$(sg_of 0:0:0)
	(
		n=0
		while [ ! -e /tmp/soak-done ] || [ $n -eq 0 ]; do
			fio_verify "$sd" --size=24M
			n=$((n + 1))
		done
		echo "fio ($role): $n rounds of write+verify passed on $sd"
	) &
	fio_pid=$!
	# LUN resets with fio paused and nothing in flight: xen-scsifront
	# freezes the guest when an answer arrives during its reset, behind any
	# backend (docs/compat.md); the reset case covers resets with commands
	# in flight.
	(
		n=0
		b=$(basename "$sd")
		xs_state=/sys/bus/xen/devices/vscsi-0/state
		while [ ! -e /tmp/soak-done ]; do
			sleep $((17 + n % 7))
			[ -e /tmp/soak-done ] && break
			# The fio loop's shell first, so that it starts no new fio
			# while we pause; then, once a fork it may have just made
			# has had time to exec, every fio (busybox has no pkill;
			# fio is several processes).  Any of them may exit between
			# pidof and kill: kill then fails for that one but signals
			# the rest, and errexit must not end this loop with fio
			# stopped for good (the guest would never finish).
			kill -STOP "$fio_pid" 2>/dev/null || true
			sleep 0.2
			_p=$(pidof fio || true)
			[ -z "$_p" ] || kill -STOP $_p 2>/dev/null || true
			# Nothing in flight on any LUN of any SCSI host, not only
			# on this disk: dom0's hot plugs make the guest scan (or
			# synchronise) another LUN at any moment, and an answer
			# to that scan during the reset freezes the guest as
			# well (the scanreset case shows it behind both
			# backends).  Once the reset has begun, the midlayer
			# dispatches nothing new until it ends.  A scan is several
			# commands one after the other, with nothing in flight
			# between them: it is also waited for through the
			# frontend's xenbus state, Reconfiguring from the backend's
			# Reconfiguring until the scan of its Reconfigured has
			# ended (xen-scsifront), Connected otherwise.
			_i=0
			while { [ -e "$xs_state" ] && [ "$(cat "$xs_state")" != Connected ]; } ||
				[ "$(cat /sys/class/scsi_host/host*/host_busy /sys/block/"$b"/inflight |
					awk '{ for (f = 1; f <= NF; f++) s += $f } END { print s + 0 }')" != 0 ] &&
				[ $_i -lt 60 ]; do
				_i=$((_i + 1))
				sleep 0.5
			done
			sg_reset -d "$sg" >/dev/null 2>&1 || echo "sg_reset -d $sg failed"
			[ -z "$_p" ] || kill -CONT $_p 2>/dev/null || true
			kill -CONT "$fio_pid" 2>/dev/null || true
			n=$((n + 1))
		done
		if [ -e "$xs_state" ]; then
			echo "guest $role: $n LUN resets sent to $sg, each with $xs_state Connected"
		else
			echo "guest $role: $n LUN resets sent to $sg ($xs_state absent: no scan guard)"
		fi
	) &
	reset_pid=$!
	mark soak-running
	_i=0
	while ! hctl_of 0:9:0 >/dev/null; do
		_i=$((_i + 1))
		[ $_i -le 14400 ] || fail "no end LUN after 4 hours"
		sleep 1
	done
	touch /tmp/soak-done
	wait $reset_pid || true
	wait $fio_pid || fail "fio on $sd failed during the soak"
	for d in /sys/class/scsi_device/*/device/state; do
		[ "$(cat "$d")" = running ] || fail "$d is $(cat "$d")"
	done
	if dmesg | grep -E -q 'Disabling device|illegal rqid|illegal number of responses'; then
		dmesg | grep -E 'Disabling device|illegal rqid|illegal number of responses' | head -n 3
		fail "xen-scsifront saw a protocol error"
	fi
	echo "guest $role: every device running, no protocol error"
}
