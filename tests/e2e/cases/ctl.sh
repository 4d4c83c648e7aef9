# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# ctl: pvscsictl on pvscsid's control socket while the guest runs fio on a
# 64 MiB file LUN.  Two `pvscsictl stats --json` samples taken during the
# run show that LUN's commands and bytes written and read rising; status
# shows the vhost Connected with its ring and the LUN with its spec;
# `pvscsictl metrics` parses as Prometheus text (tests/e2e/lib/prom_check.py)
# with the LUN's counters under its labels; log-level changes and reverts;
# malformed requests get error replies and the daemon serves on.
BACKENDS="pvscsid"
TIMEOUT=500

CTL_SOCK=/run/pvscsid/control

ctl() { "$(dirname "$PVSCSID")/pvscsictl" --socket "$CTL_SOCK" "$@"; }

# lun_stat FILE FIELD: FIELD of the LUN whose spec names the case's image.
lun_stat() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
l = [x for x in r["luns"] if "ctl.img" in x["spec"]]
print(l[0][sys.argv[2]] if len(l) == 1 else "none")' "$1" "$2"
}

# A raw request line and the reply, through python (no socat in dom0).
ctl_raw() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())' "$CTL_SOCK" "$1"
}

dom0() {
	local a b st m c0 c1 w0 w1 r0 r1 reply
	lun_file ctl 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark fio-running 300

	ctl status >"$CASEOUT/status.txt" || fail "pvscsictl status failed"
	ctl status --json >"$CASEOUT/status.json" || fail "pvscsictl status --json failed"
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
	grep -q "Connected" "$CASEOUT/status.txt" || fail "pvscsictl status (text) shows no Connected vhost"
	say "status: $(grep -c 'domain' "$CASEOUT/status.txt") vhost line(s), LUN $(lun_stat "$CASEOUT/status.json" unit)"

	a=$CASEOUT/stats-1.json
	b=$CASEOUT/stats-2.json
	ctl stats --json >"$a" || fail "pvscsictl stats --json failed"
	sleep 8
	ctl stats --json >"$b" || fail "pvscsictl stats --json failed (second sample)"
	c0=$(lun_stat "$a" commands) c1=$(lun_stat "$b" commands)
	w0=$(lun_stat "$a" bytes_written) w1=$(lun_stat "$b" bytes_written)
	r0=$(lun_stat "$a" bytes_read) r1=$(lun_stat "$b" bytes_read)
	say "stats: commands $c0 -> $c1, bytes written $w0 -> $w1, read $r0 -> $r1"
	[ "$c0" != none ] && [ "$c1" -gt "$c0" ] || fail "the LUN's commands did not rise during fio ($c0 -> $c1)"
	[ "$w1" -gt "$w0" ] || fail "the LUN's bytes written did not rise during fio ($w0 -> $w1)"
	[ "$r1" -gt "$r0" ] || fail "the LUN's bytes read did not rise during fio ($r0 -> $r1)"
	ctl stats >"$CASEOUT/stats.txt" || fail "pvscsictl stats (text) failed"

	m=$CASEOUT/metrics.txt
	ctl metrics >"$m" || fail "pvscsictl metrics failed"
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

	[ "$(ctl log-level)" = "log level debug" ] || fail "log-level: '$(ctl log-level)' (pvscsid runs --verbose)"
	ctl log-level info >/dev/null || fail "pvscsictl log-level info failed"
	[ "$(ctl log-level --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["level"])')" = info ] ||
		fail "log-level did not change to info"
	ctl log-level debug >/dev/null || fail "pvscsictl log-level debug failed"
	ctl log-level loud 2>"$CASEOUT/loud.err" && fail "log-level loud was accepted"
	grep -q InvalidArgument "$CASEOUT/loud.err" || fail "log-level loud: $(cat "$CASEOUT/loud.err")"

	for req in 'not json' '[1]' '{"command":"reboot"}' '{"command":"stats","arguments":{"x":1}}'; do
		reply=$(ctl_raw "$req")
		case $reply in '{"error":{"class":'*) ;; *) fail "request '$req' got '$reply'" ;; esac
		echo "$req -> $reply" >>"$CASEOUT/bad-requests.txt"
	done
	ctl status >/dev/null || fail "pvscsid stopped answering after bad requests"
	ctl --socket /nonexistent/control status 2>"$CASEOUT/nosock.err" && fail "pvscsictl reached a socket that does not exist"
	grep -q '/nonexistent/control' "$CASEOUT/nosock.err" || fail "no socket: '$(cat "$CASEOUT/nosock.err")'"

	guest_wait_end "$TIMEOUT"
}

guest() {
	local sd
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	echo "\$ fio randrw on $sd"
	fio --name=ctl --filename="$sd" --rw=randrw --bs=64k --iodepth=8 --ioengine=libaio \
		--direct=1 --size=32M --time_based --runtime=60 --output-format=terse \
		--terse-version=3 >/tmp/fio.ctl.out 2>&1 &
	sleep 3
	mark fio-running
	wait $! || { cat /tmp/fio.ctl.out; fail "fio on $sd failed"; }
	echo "fio randrw on $sd ok: $(awk -F';' 'NF > 50 { printf "%s KiB read, %s KiB written", $6, $47; exit }' /tmp/fio.ctl.out)"
}
