#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Xen benchmark's dom0 part (started by tests/bench/xen-dom0.sh), built
# from the e2e harness (lib/harness.sh, lib/backend-kernel.sh as they are):
# both backends in this one boot, serving one guest.
#   xen-scsiback+LIO serves backend/vscsi: vhost 0, target 0 = dom0's
#   scsi_debug disk (pscsi), target 1 = a 64 MiB image file (fileio);
#   pvscsid --backend-type pvscsi serves backend/pvscsi: vhost 1, target 2 =
#   the same scsi_debug disk (sg passthrough), target 3 = the same image
#   file (file: LUN).
# xen-scsifront follows each frontend directory's "backend" node, so the
# guest has one SCSI host per backend.  The guest (tests/bench/xen-guest.sh)
# alternates kernel and pvscsid runs of every workload; here, following the
# guest console, dom0 takes its counters at every "go-JOB"/"done-JOB" mark
# into cpu.txt: /proc/stat's busy and steal time, the event-channel
# interrupts of each backend (/proc/interrupts), pvscsid's utime+stime, the
# system calls and context switches of pvscsid and of xen-scsiback's
# interrupt threads (tests/bench/pcount, exact), and pvscsid's own ring
# counters (pvscsictl stats --json, grant copies) as stats-{start,end}-JOB.json.
# The guest's fio JSON comes back through the console ("@@R" lines, split
# into OUT/same/fio-JOB.json by the harness's collect_guest_output).
#
# usage: xen-case.sh      (output in OUT/same)
set -eEu

BACKEND=both
CASE=bench
CASEOUT=$OUT/same
GUEST=bench-same
DOMID=
mkdir -p "$CASEOUT"
rm -f "$CASEOUT/result" "$CASEOUT/cpu.txt"

# shellcheck source=../e2e/lib/harness.sh
. "$E2E_DIR/lib/harness.sh"
# pvscsid's helpers (pvscsid_pid, pvscsid_alive), then the kernel backend's
# LIO helpers, whose backend_start (xen-scsiback and LIO) and lun_* replace
# pvscsid's.
# shellcheck source=../e2e/lib/backend-pvscsid.sh
. "$E2E_DIR/lib/backend-pvscsid.sh"
# shellcheck source=../e2e/lib/backend-kernel.sh
. "$E2E_DIR/lib/backend-kernel.sh"

# The harness's guest_create, pinned: what is measured does not change with
# the harness's defaults or debugging aids (xl -vvv).
GUEST_MEMORY=512
GUEST_VCPUS=1
GUEST_XL_FLAGS=

XS_PV_ROOT=/local/domain/0/backend/pvscsi
PVSCSID_LOG=/var/log/pvscsid-bench.log
CTL_SOCK=/run/pvscsid-bench.sock
PVSCSICTL=$(dirname "$PVSCSID")/pvscsictl
PCOUNT=$REPO/build/rel/bench/pcount

# Without --verbose: a log line per request would be part of what is measured.
pvscsid_start() {
	# shellcheck disable=SC2086 # options and NAME=VALUE words, split on purpose
	env ${BENCH_PVSCSID_ENV:-} "$PVSCSID" --foreground --backend-type pvscsi --control "$CTL_SOCK" --pid-file "" \
		--log-file "$PVSCSID_LOG" ${BENCH_PVSCSID_ARGS:-} >>"$CASEOUT/pvscsid.stdout" 2>&1 &
	echo $! >"$CASEOUT/pvscsid.pid"
	sleep 1
	pvscsid_alive || fail "pvscsid exited at start: $(tail -n 2 "$PVSCSID_LOG" 2>/dev/null | tr '\n' ' ')"
	say "${BENCH_PVSCSID_ENV:+$BENCH_PVSCSID_ENV }pvscsid --backend-type pvscsi${BENCH_PVSCSID_ARGS:+ $BENCH_PVSCSID_ARGS} started (pid $(pvscsid_pid), not verbose)"
}
pvscsid_stop() {
	local pid
	pid=$(pvscsid_pid)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait_for "pvscsid exit" 10 eval "! kill -0 $pid 2>/dev/null" || kill -9 "$pid"
	fi
	rm -f "$CASEOUT/pvscsid.pid"
	[ ! -f "$PVSCSID_LOG" ] || cp "$PVSCSID_LOG" "$CASEOUT/pvscsid.log"
}
backend_check() { pvscsid_alive || fail "pvscsid died during the run (see pvscsid.log)"; }

exec 3>&1 >>"$CASEOUT/dom0.log" 2>&1

PC_PID=
cleanup() {
	set +eE
	trap - ERR
	[ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null
	[ -n "$DOMID" ] || DOMID=$(xl domid "$GUEST" 2>/dev/null || true)
	guest_alive && xl destroy "$GUEST"
	[ -n "$DOMID" ] && xenstore-rm "$XS_BE_ROOT/$DOMID" 2>/dev/null
	[ -n "$DOMID" ] && xenstore-rm "$XS_PV_ROOT/$DOMID" 2>/dev/null
	pvscsid_stop
	lio_teardown
	collect_guest_output
	dmesg | tail -n 40 >"$CASEOUT/dom0-dmesg.txt"
	[ -s "$CASEOUT/result" ] || finish FAIL "ended without a verdict (see dom0.log)"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'fail "dom0: line $LINENO: \`$BASH_COMMAND\` failed"' ERR

HZ=$(getconf CLK_TCK)

# pcount (tests/bench/pcount.c) as a coprocess: exact system calls and
# context switches of pvscsid and of xen-scsiback's interrupt threads
# ("irq/N-vscsiif", there once the guest connected: started at the guest's
# "ready" mark, before its idle window).  Builtins only in the loop: a fork
# per process takes a minute of dom0 under TCG.
pc_start() {
	local c p comm k=""
	for c in /proc/[0-9]*/comm; do
		comm=
		read -r comm <"$c" 2>/dev/null || continue
		case $comm in *vscsiif*)
			p=${c#/proc/}
			k=$k${k:+,}${p%/comm}
			;;
		esac
	done
	say "pcount: pvscsid $(pvscsid_pid), xen-scsiback's interrupt threads ${k:-none}"
	coproc PC { "$PCOUNT" "pvscsid=$(pvscsid_pid)" "kernel=$k" 2>>"$CASEOUT/pcount.err"; }
}
# Sets PC_LINE (not a command substitution: the coprocess is this shell's).
PC_LINE=
pc_read() {
	local line=""
	[ -n "${PC_PID:-}" ] || pc_start
	{ echo x >&"${PC[1]}" && IFS= read -r -t 10 line <&"${PC[0]}"; } || true
	PC_LINE=${line#x }
}
# The event-channel interrupts each backend took in dom0: xen-scsiback's are
# named "vscsiif", those of /dev/xen/evtchn users "evtchn:<command>".
irq_counts() {
	awk '/vscsiif|evtchn:pvscsid/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
		if ($0 ~ /vscsiif/) k += s; else p += s }
		END { printf "kernel.irqs=%d pvscsid.irqs=%d\n", k, p }' /proc/interrupts
}
# pvscsid's runs: pvscsid-* and pvsalt-* (the same daemon, pvscsictl $BENCH_ALT).
is_pvs() { case $1 in pvscsid-* | pvsalt-*) return 0 ;; esac; return 1; }
# What BENCH_ALT changes, as pvscsid started with it (pvscsictl's own
# arguments: "poll N", "coalesce N" or "defer-kicks on|off"), for its own runs.
alt_base() {
	local out
	[ -n "$BENCH_ALT" ] || return 0
	# pvscsid may still be starting: its control socket comes with its main loop.
	for _ in $(seq 50); do
		[ -S "$CTL_SOCK" ] && break
		sleep 0.2
	done
	out=$("$PVSCSICTL" --socket "$CTL_SOCK" "${BENCH_ALT%% *}" 2>&1) || fail "pvscsictl ${BENCH_ALT%% *}: $out"
	case $out in
	"poll "* | "coalesce "*) ALT_BASE=$(echo "$out" | cut -d' ' -f1,2) ;;
	"deferred kicks "*) ALT_BASE="defer-kicks ${out##* }" ;;
	*) fail "pvscsictl ${BENCH_ALT%% *}: unexpected '$out'" ;;
	esac
	echo "$BENCH_ALT" >"$CASEOUT/alt.txt"
	say "bench: pvsalt runs with pvscsictl $BENCH_ALT, pvscsid runs with $ALT_BASE"
}
# pre-JOB: the guest waits a second after it, outside the measured window.
set_alt() {
	local a
	case $1 in pvsalt-*) a=$BENCH_ALT ;; pvscsid-*) a=${ALT_BASE:-} ;; *) return 0 ;; esac
	[ -n "$a" ] || return 0
	# shellcheck disable=SC2086 # pvscsictl's command and argument
	"$PVSCSICTL" --socket "$CTL_SOCK" $a >/dev/null 2>&1 || say "pvscsictl $a failed"
}
ctl_stats() {
	"$PVSCSICTL" --socket "$CTL_SOCK" stats --json >"$CASEOUT/stats-$1-$2.json" 2>&1 || true
}

# snap start|end JOB: one line of cpu.txt: /proc/stat's busy time (user,
# nice, system, irq, softirq of all dom0 vCPUs), its steal time, pvscsid's
# utime+stime (which, unlike /proc/stat's busy time, include the time its
# vCPU was stolen), the interrupts and pcount's counts; and for pvscsid's
# runs its ring counters.  What costs dom0 CPU itself (pvscsictl, awk,
# pcount's reading) is done before the start and after the end of the
# window /proc/stat measures.
# (xl list's Time(s) would be Xen's view, but xl itself takes seconds of
# dom0 CPU under TCG, inside the window it would measure.)
snap() {
	local when=$1 job=$2 t u n s irq sirq steal pid stat proc=0 ints
	if [ "$when" = start ]; then
		is_pvs "$job" && ctl_stats start "$job"
		pc_read
		ints=$(irq_counts)
		t=$EPOCHREALTIME
		read -r _ u n s _ _ irq sirq steal _ </proc/stat
	else
		t=$EPOCHREALTIME
		read -r _ u n s _ _ irq sirq steal _ </proc/stat
		ints=$(irq_counts)
		pc_read
	fi
	pid=$(pvscsid_pid)
	if [ -n "$pid" ] && read -r -a stat <"/proc/$pid/stat"; then
		proc=$((stat[13] + stat[14]))
	fi
	echo "$when job=$job t=$t hz=$HZ busy=$((u + n + s + irq + sirq)) steal=$steal proc=$proc $ints $PC_LINE" >>"$CASEOUT/cpu.txt"
	[ "$when" = start ] || ! is_pvs "$job" || ctl_stats end "$job"
}

# BENCH_STRACE=JOB (XEN_STRACE on the build machine, e.g.
# pvscsid-file-randwrite-r1): pvscsid's system calls during that fio run by
# name, counted by `strace -c -f`, in strace-JOB.txt.  The tracing slows
# pvscsid down: that run's figures are not comparable (pcount's counts are
# the exact ones).
BENCH_STRACE=${BENCH_STRACE:-}
STRACE_PID=
trace_start() {
	[ "${BENCH_STRACE%%-*}" = pvscsid ] || return 0
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
		"@@E2E MARK pre-"*) set_alt "${line#@@E2E MARK pre-}" ;;
		"@@E2E MARK go-"*)
			[ "${line#@@E2E MARK go-}" != "$BENCH_STRACE" ] || trace_start
			snap start "${line#@@E2E MARK go-}"
			;;
		"@@E2E MARK done-"*)
			snap end "${line#@@E2E MARK done-}"
			[ "${line#@@E2E MARK done-}" != "$BENCH_STRACE" ] || trace_stop
			;;
		"@@E2E MARK ready") pc_start ;;
		"@@E2E MARK "*) say "guest: ${line#@@E2E MARK }" ;;
		"@@E2E END"*) break ;;
		esac
	done
	pkill -P "$tailpid" 2>/dev/null || true
	kill "$tailpid" 2>/dev/null || true
}

BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_ALT=${BENCH_ALT:-}
say "bench: fio ${BENCH_RUNTIME}s per run, $BENCH_ROUNDS rounds of kernel then pvscsid per workload${BENCH_ALT:+ then pvscsid with pvscsictl $BENCH_ALT}"
[ -x "$PCOUNT" ] || fail "$PCOUNT not built (make bench builds it)"
backend_start
pvscsid_start
alt_base
guest_create
lun_sdebug
vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
lun_file bench 64M
# Data, not a sparse file: the same 64 MiB of written pages for both backends.
dd if=/dev/zero of=/var/tmp/e2e/bench.img bs=1M count=64 conv=notrunc status=none
vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
XS_BE_ROOT=$XS_PV_ROOT vscsi_attach "$DOMID" 1 0 "/dev/$(sdebug_sg)" 0:0:2:0
# BENCH_FILE_OPTS (",writes=inline"): pvscsid's file LUN only, LIO's is as ever.
echo "file:/var/tmp/e2e/bench.img${BENCH_FILE_OPTS:-}" >"$CASEOUT/file-spec.txt"
XS_BE_ROOT=$XS_PV_ROOT vscsi_attach "$DOMID" 1 1 "file:/var/tmp/e2e/bench.img${BENCH_FILE_OPTS:-}" 0:0:3:0
guest_start
# About 15 s per run here; a stuck guest must not eat make bench's budget.
watch_marks $((18 * BENCH_ROUNDS * (BENCH_RUNTIME + 21) + 300))
guest_wait_end 60
backend_check
guest_verdict
finish PASS
