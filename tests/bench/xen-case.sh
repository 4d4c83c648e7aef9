#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One backend's part of the Xen benchmark, in dom0 (started by
# tests/bench/xen-dom0.sh), built from the e2e harness (lib/harness.sh and
# lib/backend-$BACKEND.sh, used as they are):
#   backend_start; guest_create (paused); LUN 0:0:0 = dom0's scsi_debug disk
#   (pscsi / pvscsid sg passthrough), LUN 0:1:0 = a 64 MiB image file
#   (fileio / pvscsid file: LUN); guest_start; then follow the guest console
#   and take dom0's CPU counters at every "go-JOB" and "done-JOB" mark the
#   guest prints around a fio run (tests/bench/xen-guest.sh) into cpu.txt.
# The guest's fio JSON comes back through the console ("@@R" lines, split
# into OUT/BACKEND/fio-JOB.json by the harness's collect_guest_output).
#
# usage: xen-case.sh BACKEND [ROUND]   (output in OUT/BACKEND or OUT/BACKEND-ROUND)
set -eEu

BACKEND=$1
CASE=bench
CASEOUT=$OUT/$BACKEND${2:+-$2}
GUEST=bench-$BACKEND${2:+-$2}
DOMID=
mkdir -p "$CASEOUT"
rm -f "$CASEOUT/result" "$CASEOUT/cpu.txt"

# shellcheck source=../e2e/lib/harness.sh
. "$E2E_DIR/lib/harness.sh"
# shellcheck disable=SC1090
. "$E2E_DIR/lib/backend-$BACKEND.sh"

# The harness's guest_create, pinned: what is measured does not change with
# the harness's defaults or debugging aids (xl -vvv).
GUEST_MEMORY=512
GUEST_VCPUS=1
GUEST_XL_FLAGS=

if [ "$BACKEND" = pvscsid ]; then
	# As backend-pvscsid.sh's, without --verbose: a log line per request
	# would be part of what is measured.
	pvscsid_start() {
		"$PVSCSID" --foreground --log-file "$PVSCSID_LOG" >>"$CASEOUT/pvscsid.stdout" 2>&1 &
		echo $! >"$CASEOUT/pvscsid.pid"
		sleep 1
		pvscsid_alive || fail "pvscsid exited at start: $(tail -n 2 "$PVSCSID_LOG" 2>/dev/null | tr '\n' ' ')"
		say "pvscsid started (pid $(pvscsid_pid), not verbose)"
	}
fi

exec 3>&1 >>"$CASEOUT/dom0.log" 2>&1

cleanup() {
	set +eE
	trap - ERR
	[ -n "$DOMID" ] || DOMID=$(xl domid "$GUEST" 2>/dev/null || true)
	guest_alive && xl destroy "$GUEST"
	[ -n "$DOMID" ] && xenstore-rm "$XS_BE_ROOT/$DOMID" 2>/dev/null
	backend_stop
	collect_guest_output
	dmesg | tail -n 40 >"$CASEOUT/dom0-dmesg.txt"
	[ -s "$CASEOUT/result" ] || finish FAIL "ended without a verdict (see dom0.log)"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'fail "dom0: line $LINENO: \`$BASH_COMMAND\` failed"' ERR

HZ=$(getconf CLK_TCK)

# snap start|end JOB: one line of cpu.txt: /proc/stat's busy time (user,
# nice, system, irq, softirq of all dom0 vCPUs), its steal time, and
# pvscsid's utime+stime (which, unlike /proc/stat's busy time, include the
# time its vCPU was stolen).
# (xl list's Time(s) would be Xen's view, but xl itself takes seconds of
# dom0 CPU under TCG, inside the window it would measure.)
snap() {
	local t u n s irq sirq steal pid stat proc=0
	t=$EPOCHREALTIME
	read -r _ u n s _ _ irq sirq steal _ </proc/stat
	if [ "$BACKEND" = pvscsid ]; then
		pid=$(pvscsid_pid)
		if [ -n "$pid" ] && read -r -a stat <"/proc/$pid/stat"; then
			proc=$((stat[13] + stat[14]))
		fi
	fi
	echo "$1 job=$2 t=$t hz=$HZ busy=$((u + n + s + irq + sirq)) steal=$steal proc=$proc" >>"$CASEOUT/cpu.txt"
}

# BENCH_STRACE=JOB (XEN_STRACE on the build machine): pvscsid's system
# calls during that fio run, counted by `strace -c -f`, in strace-JOB.txt.
# (perf's sampling gets next to no samples in a PV dom0 under TCG.)  The
# tracing slows pvscsid down: that run's figures are not comparable.
BENCH_STRACE=${BENCH_STRACE:-}
STRACE_PID=
trace_start() {
	[ "$BACKEND" = pvscsid ] || return 0
	strace -c -f -p "$(pvscsid_pid)" -o "$CASEOUT/strace-$BENCH_STRACE.txt" 2>/dev/null &
	STRACE_PID=$!
	sleep 0.5
}
trace_stop() {
	[ -n "$STRACE_PID" ] || return 0
	kill -INT "$STRACE_PID" 2>/dev/null || true
	wait "$STRACE_PID" 2>/dev/null || true
}

# Follow the console until the guest's END line, the guest's death or the
# deadline.  tail -F waits on inotify (no polling that would cost dom0 CPU
# inside the windows) and grep passes on only the guest's "@@E2E" lines: the
# fio JSON the guest prints between runs must not reach bash's read, which
# takes a system call per byte and would fall behind the marks.
watch_marks() {
	local deadline=$(($(date +%s) + $1)) line pending="" fd tailpid
	exec {fd}< <(tail -n +1 -F "$(console_log)" 2>/dev/null | grep -a --line-buffered '^@@E2E')
	tailpid=$!
	while :; do
		if ! IFS= read -r -t 30 -u "$fd" line; then
			# Timed out: keep a partial line for the next read.
			pending=$pending$line
			guest_alive || break
			[ "$(date +%s)" -lt "$deadline" ] || {
				pkill -P "$tailpid" 2>/dev/null
				kill "$tailpid" 2>/dev/null
				fail "guest did not finish within $1 s"
			}
			continue
		fi
		line=$pending$line
		pending=""
		line=${line%$'\r'}
		case $line in
		"@@E2E MARK go-"*)
			[ "${line#@@E2E MARK go-}" != "$BENCH_STRACE" ] || trace_start
			snap start "${line#@@E2E MARK go-}"
			;;
		"@@E2E MARK done-"*)
			snap end "${line#@@E2E MARK done-}"
			[ "${line#@@E2E MARK done-}" != "$BENCH_STRACE" ] || trace_stop
			;;
		"@@E2E MARK "*) say "guest: ${line#@@E2E MARK }" ;;
		"@@E2E END"*) break ;;
		esac
	done
	pkill -P "$tailpid" 2>/dev/null || true
	kill "$tailpid" 2>/dev/null || true
}

say "bench: fio ${BENCH_RUNTIME}s per run"
backend_start
guest_create
lun_sdebug sg
vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
lun_file bench 64M
# Data, not a sparse file: the same 64 MiB of written pages for both backends.
dd if=/dev/zero of=/var/tmp/e2e/bench.img bs=1M count=64 conv=notrunc status=none
vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
guest_start
# A case takes 3-4 minutes here; a stuck guest must not eat make bench's budget.
watch_marks $((6 * (BENCH_RUNTIME + 25) + 200))
guest_wait_end 60
backend_check
guest_verdict
finish PASS
