# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# ctl: pvscsictl on pvscsid's control socket while the guest runs fio on a
# 64 MiB file LUN.  Two `pvscsictl stats --json` samples taken during the
# run show that LUN's commands and bytes written and read rising; status
# shows the vhost Connected with its ring and the LUN with its spec;
# `pvscsictl metrics` parses as Prometheus text (tests/e2e/lib/prom_check.py)
# with the LUN's counters under its labels; log-level changes and reverts;
# malformed requests get error replies and the daemon serves on; between
# the two samples completion coalescing is on (`pvscsictl coalesce 2000`),
# so the commands rising are served by held passes, and it is off again
# for what follows.  Then,
# with the guest connected and idle, pvscsid makes no system call at all
# in 10 s (strace's exact count): an idle daemon sleeps.
BACKENDS="pvscsid"
TIMEOUT=700

CTL_SOCK=/run/pvscsid/control

ctl() { "$(dirname "$PVSCSID")/pvscsictl" --socket "$CTL_SOCK" "$@"; }

# Raw request lines, each on a connection of its own, and their replies,
# one per line (no socat in dom0).
ctl_raw() {
	python3 -c '
import socket, sys
for req in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(req.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    print("%s -> %s" % (req, buf.decode().strip()))' "$CTL_SOCK" "$@"
}

# idle_syscalls PID SECS: "idle SECS s: N system calls, N context switches"
# of PID's threads over SECS seconds.  strace counts every system call
# (ptrace stops at each); its attach restarts the call each thread sleeps
# in, so the window opens 2 s after it.  Context switches from /proc, exact.
# Not perf_event (tests/bench/pcount): opening and closing those counters on
# pvscsid in this PV dom0 under TCG froze the whole Xen VM, twice in this
# case and once in about 120 one-second windows on purpose (docs/testing.md).
idle_syscalls() {
	local pid=$1 secs=$2 tr=$CASEOUT/idle.strace st t0 t1 c n
	command -v strace >/dev/null || {
		echo "strace not installed"
		return 1
	}
	# "TID switches" per thread; the window's count sums the threads there at
	# both ends (io_uring's io-wq workers come and go among them).
	cs() {
		local t
		for t in /proc/"$pid"/task/*; do
			awk -v t="${t##*/}" '/ctxt_switches/ { n += $2 } END { print t, n + 0 }' "$t/status" 2>/dev/null
		done
	}
	# The thread group's leader: strace attaches all its threads (-f: and new ones).
	strace -f -qq -ttt -o "$tr" -p "$pid" 2>"$CASEOUT/idle.strace.err" &
	st=$!
	sleep 2
	kill -0 "$st" 2>/dev/null || {
		cat "$CASEOUT/idle.strace.err"
		return 1
	}
	cs >"$CASEOUT/idle.cs0"
	t0=$(date +%s.%N)
	sleep "$secs"
	t1=$(date +%s.%N)
	cs >"$CASEOUT/idle.cs1"
	kill -INT "$st"
	wait "$st" || :
	# A call's line (one that began in the window): "TID TIME name(...";
	# not the end of one begun before ("<... name resumed>"), nor signals.
	n=$(awk -v t0="$t0" -v t1="$t1" '$2 >= t0 && $2 <= t1 && $3 !~ /^(<\.\.\.|\+\+\+|---)/' "$tr" | wc -l)
	c=$(awk 'NR == FNR { c0[$1] = $2; next } $1 in c0 { n += $2 - c0[$1] } END { print n + 0 }' \
		"$CASEOUT/idle.cs0" "$CASEOUT/idle.cs1")
	echo "idle $secs s: $n system calls, $c context switches"
}

dom0() {
	local a b st m c0 c1 w0 w1 r0 r1 lvl co cf
	lun_file ctl 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark fio-running 300

	# Everything that asks pvscsid first, while fio runs (python is slow to
	# start from dom0's 9p root under TCG: the checks come after).
	a=$CASEOUT/stats-1.json
	b=$CASEOUT/stats-2.json
	m=$CASEOUT/metrics.txt
	ctl stats --json >"$a" || fail "pvscsictl stats --json failed"
	co=$(ctl coalesce 2000) || fail "pvscsictl coalesce 2000 failed"
	sleep 8
	ctl stats --json >"$b" || fail "pvscsictl stats --json failed (second sample)"
	cf=$(ctl coalesce 0) || fail "pvscsictl coalesce 0 failed"
	ctl status --json >"$CASEOUT/status.json" || fail "pvscsictl status --json failed"
	ctl status >"$CASEOUT/status.txt" || fail "pvscsictl status failed"
	ctl stats >"$CASEOUT/stats.txt" || fail "pvscsictl stats (text) failed"
	ctl metrics >"$m" || fail "pvscsictl metrics failed"
	lvl=$(ctl log-level) || fail "pvscsictl log-level failed"
	ctl log-level info >/dev/null || fail "pvscsictl log-level info failed"
	ctl log-level --json >"$CASEOUT/log-level.json" || fail "pvscsictl log-level --json failed"
	ctl log-level debug >/dev/null || fail "pvscsictl log-level debug failed"
	ctl log-level loud 2>"$CASEOUT/loud.err" && fail "log-level loud was accepted"
	ctl_raw 'not json' '[1]' '{"command":"reboot"}' '{"command":"stats","arguments":{"x":1}}' \
		>"$CASEOUT/bad-requests.txt" || fail "bad requests: no reply"
	ctl status >/dev/null || fail "pvscsid stopped answering after bad requests"
	# The guest's signal to stop fio: it must still be running now.
	vscsi_hot_add "$DOMID" 0 1 mem:1M 0:0:1:0

	say "log-level: '$lvl'"
	say "coalescing: '$co' during the second sample, '$cf' after"
	[ "$co" = "coalesce 2000 us" ] && [ "$cf" = "coalesce 0 us (off)" ] ||
		fail "pvscsictl coalesce: '$co', then '$cf'"
	grep -q 'coalescing 2000 us -> 0 us (control socket)' "$PVSCSID_LOG" ||
		fail "pvscsid's log does not say coalescing went off"
	[ "$lvl" = "log level debug" ] || fail "log-level: '$lvl' (pvscsid runs --verbose)"
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["level"])' "$CASEOUT/log-level.json")" = info ] ||
		fail "log-level did not change to info"
	grep -q InvalidArgument "$CASEOUT/loud.err" || fail "log-level loud: $(cat "$CASEOUT/loud.err")"
	[ "$(grep -c ' -> {"error":{"class":"' "$CASEOUT/bad-requests.txt")" = 4 ] ||
		fail "bad requests: $(tr '\n' ' ' <"$CASEOUT/bad-requests.txt")"
	ctl --socket /nonexistent/control status 2>"$CASEOUT/nosock.err" && fail "pvscsictl reached a socket that does not exist"
	grep -q '/nonexistent/control' "$CASEOUT/nosock.err" || fail "no socket: '$(cat "$CASEOUT/nosock.err")'"

	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
v = [x for x in r["vhosts"] if x["domid"] == int(sys.argv[2]) and x["vhost"] == 0]
assert len(v) == 1, "no vhost 0 of the guest in %s" % r["vhosts"]
v = v[0]
assert v["backend_state"] == "Connected" and v["frontend_state"] == "Connected", v
assert v["ring"] and v["ring"]["feature_sg_grant"] > 0 and v["ring"]["journal"] == "on", v["ring"]
assert v["devices"][0]["vdev"] == "0:0:0" and "ctl.img" in v["devices"][0]["pdev"], v["devices"]
l = [x for x in r["luns"] if "ctl.img" in x["spec"]]
assert len(l) == 1 and l[0]["kind"] == "emulated" and not l[0]["read_only"], r["luns"]
' "$CASEOUT/status.json" "$DOMID" 2>"$CASEOUT/status.err" ||
		fail "status: $(tail -n 1 "$CASEOUT/status.err")"
	grep -q "backend Connected, frontend Connected" "$CASEOUT/status.txt" || fail "pvscsictl status (text) shows no Connected vhost"

	set -- $(python3 -c '
import json, sys
for f in sys.argv[1:]:
    l = [x for x in json.load(open(f))["luns"] if "ctl.img" in x["spec"]]
    print(*(l[0][k] for k in ("commands", "bytes_written", "bytes_read")) if len(l) == 1 else "none none none")
' "$a" "$b")
	c0=$1 w0=$2 r0=$3 c1=$4 w1=$5 r1=$6
	say "stats: commands $c0 -> $c1, bytes written $w0 -> $w1, read $r0 -> $r1"
	[ "$c0" != none ] && [ "$c1" -gt "$c0" ] || fail "the LUN's commands did not rise during fio ($c0 -> $c1)"
	[ "$w1" -gt "$w0" ] || fail "the LUN's bytes written did not rise during fio ($w0 -> $w1)"
	[ "$r1" -gt "$r0" ] || fail "the LUN's bytes read did not rise during fio ($r0 -> $r1)"

	python3 "$E2E_DIR/lib/prom_check.py" "$m" >"$CASEOUT/metrics.parsed" 2>"$CASEOUT/metrics.err" ||
		fail "pvscsictl metrics is not valid Prometheus text: $(head -n 1 "$CASEOUT/metrics.err")"
	st=$(grep -E '^pvscsi_lun_commands_total\{unit="[^"]+",spec="file:/var/tmp/e2e/ctl\.img"\} [0-9]+$' \
		"$CASEOUT/metrics.parsed" | awk '{ print $2 }')
	[ -n "$st" ] && [ "$st" -ge "$c1" ] || fail "metrics: no pvscsi_lun_commands_total for the LUN at least $c1 (got '$st')"
	grep -qE "^pvscsi_ring_written_bytes_total\{domid=\"$DOMID\",vhost=\"0\"\} [1-9]" "$CASEOUT/metrics.parsed" ||
		fail "metrics: no bytes written on the guest's ring"
	grep -qE '^pvscsi_lun_latency_seconds_bucket\{unit="[^"]+",spec="file:/var/tmp/e2e/ctl\.img",le="\+Inf"\} [1-9]' \
		"$CASEOUT/metrics.parsed" || fail "metrics: no latency histogram for the LUN"
	say "metrics: $(wc -l <"$CASEOUT/metrics.parsed") samples parse, the LUN's commands_total $st"

	# Idle: the guest stopped fio and sleeps; nothing else talks to pvscsid.
	guest_wait_mark idle 300
	idle_syscalls "$(pvscsid_pid)" 10 >"$CASEOUT/idle.txt" ||
		fail "strace on pvscsid failed: $(tr '\n' ' ' <"$CASEOUT/idle.txt")"
	say "idle: $(cat "$CASEOUT/idle.txt")"
	grep -q '^idle 10 s: 0 system calls,' "$CASEOUT/idle.txt" ||
		fail "pvscsid is not asleep while the guest is idle: $(cat "$CASEOUT/idle.txt")"

	guest_wait_end "$TIMEOUT"
}

guest() {
	local sd pid
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	echo "\$ fio randrw on $sd until dom0 adds LUN 0:1:0"
	fio --name=ctl --filename="$sd" --rw=randrw --bs=64k --iodepth=8 --ioengine=libaio \
		--direct=1 --size=32M --time_based --runtime=400 --output-format=terse \
		--terse-version=3 >/tmp/fio.ctl.out 2>&1 &
	pid=$!
	sleep 3
	kill -0 $pid 2>/dev/null || { cat /tmp/fio.ctl.out; fail "fio on $sd did not start"; }
	mark fio-running
	wait_lun 0:1:0 420
	# dom0 sampled while fio ran only if it still runs now.
	kill -INT $pid 2>/dev/null || { cat /tmp/fio.ctl.out; fail "fio ended before dom0 was done sampling"; }
	# fio ends with a non-zero status when interrupted: its terse line says how it went.
	wait $pid || :
	echo "fio randrw on $sd stopped: $(awk -F';' 'NF > 50 { printf "%s KiB read, %s KiB written, error %s", $6, $47, $5; exit }' /tmp/fio.ctl.out)"
	# Idle for dom0's 10 s count of pvscsid's system calls, which begins
	# after strace's 2 s settling: this guest's end (xen-scsifront
	# closing) must come after it.
	mark idle
	sleep 40
}
