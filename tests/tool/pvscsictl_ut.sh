#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsictl's command line and output against a stand-in daemon (a small
# python3 server on a unix socket that checks each request and answers a
# canned reply): usage errors exit 2 with one line, a missing socket is
# named (exit 1), an error reply prints its description and class (exit 1),
# and status, stats, metrics and log-level print text, or the return value
# with --json.  pvscsid's side of the protocol is tests/unit/ctl_ut.c.
#
# Usage: tests/tool/pvscsictl_ut.sh [BINARY]   (default build/asan/pvscsictl,
# else build/rel/pvscsictl).  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

bin=${1:-}
if [ -z "$bin" ]; then
	for b in build/asan/pvscsictl build/rel/pvscsictl; do
		[ -x "$b" ] && bin=$b && break
	done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
	echo "pvscsictl binary not found (make build/asan/pvscsictl)" >&2
	exit 1
fi
tmp=$(mktemp -d /var/tmp/pvscsictl-test.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" --help >"$tmp/out" 2>&1
check "--help: exit 0" 0 $?
check "--help lists the commands" 7 "$(grep -cE '^  (status|stats|metrics|log-level|poll|defer-kicks|coalesce) ' "$tmp/out")"
check "--version" "pvscsictl (pvscsi) $(cat VERSION)" "$("$bin" --version)"
"$bin" >/dev/null 2>"$tmp/err"
check "no command: exit 2" 2 $?
check "no command: one line" 1 "$(wc -l <"$tmp/err")"
"$bin" frobnicate 2>"$tmp/err"
check "unknown command: exit 2" 2 $?
check "unknown command: named" 1 "$(grep -c "unknown command 'frobnicate'" "$tmp/err")"
"$bin" status extra 2>"$tmp/err"
check "extra argument: exit 2" 2 $?
"$bin" --timeout 0 status 2>"$tmp/err"
check "--timeout 0: exit 2" 2 $?
"$bin" --socket "$tmp/none" status 2>"$tmp/err"
check "no daemon: exit 1" 1 $?
check "no daemon: names the socket" 1 "$(grep -c "cannot connect to $tmp/none: .*is pvscsid, or the pvscsi-vhost-user of that --ctl-socket, running?" "$tmp/err")"

# The stand-in: one connection per request, checks the request, answers
# from the table; an unexpected request gets an error the test would see.
cat >"$tmp/srv.py" <<'PY'
import json, os, socket, sys
replies = {
    ("status", None): {"return": {"version": "9.9", "pid": 42, "domid": 0,
        "base": "/local/domain/0/backend/vscsi", "log_level": "info",
        "vhosts": [{"domid": 3, "vhost": 0, "backend_state": "Connected",
            "frontend_state": "Connected", "active": True, "feature_host": False,
            "ring": {"feature_sg_grant": 128, "inflight": 1, "journal": "on", "broken": False},
            "devices": [{"name": "dev-0", "vdev": "0:0:0", "pdev": "file:/a.img", "unit": "f:1:2"}]}],
        "luns": [{"unit": "f:1:2", "spec": "file:/a.img", "stable": "", "device": "/a.img",
            "kind": "emulated", "read_only": True, "raw": False, "gone": False, "users": 1,
            "inflight": 1, "block_size": 512, "blocks": 2048,
            "reservation": {"spc2_holder": None, "registrations": 1, "generation": 3,
                "persistent": {"type": "Write Exclusive", "holder": "0x8000000300000000"}}}]}},
    ("stats", None): {"return": {"luns": [{"unit": "f:1:2", "spec": "file:/a.img", "inflight": 0,
        "commands": 18446744073709551615, "bytes_read": 3145728, "bytes_written": 0, "errors": 2,
        "sense_keys": {"Unit Attention": 2}, "reservation_conflicts": 0, "busy": 0,
        "host_errors": 0, "aborted": 0, "reset": 0, "task_aborts": 0, "task_resets": 0,
        "latency": {"sum_ns": 3000, "bounds_us": [16, 32], "counts": [2, 0, 1]}}], "rings": []}},
    ("metrics", None): {"return": {"content_type": "text/plain; version=0.0.4",
        "text": "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"}},
    ("log-level", None): {"return": {"level": "info", "previous": "info"}},
    ("log-level", "debug"): {"return": {"level": "debug", "previous": "info"}},
    ("log-level", "loud"): {"error": {"class": "InvalidArgument", "desc": "'loud' is not a level"}},
    ("poll", None): {"return": {"us": 0, "previous": 0}},
    ("poll", 40): {"return": {"us": 40, "previous": 0}},
    ("defer-kicks", None): {"return": {"on": True, "previous": True}},
    ("defer-kicks", False): {"return": {"on": False, "previous": True}},
    ("coalesce", None): {"return": {"us": 0, "previous": 0}},
    ("coalesce", 2000): {"return": {"us": 2000, "previous": 0}},
}
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    try:
        r = json.loads(buf)
        a = r.get("arguments", {})
        key = (r["command"], a.get("us") if r["command"] in ("poll", "coalesce") else
               a.get("on") if r["command"] == "defer-kicks" else a.get("level"))
        rep = replies.get(key, {"error": {"class": "Test", "desc": "unexpected %r" % r}})
    except Exception as e:
        rep = {"error": {"class": "Test", "desc": "bad request %r: %s" % (buf, e)}}
    c.sendall(json.dumps(rep).encode() + b"\n")
    c.close()
PY
python3 "$tmp/srv.py" "$tmp/sock" &
srv=$!
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S "$tmp/sock" ] && break; sleep 0.2; done

c() { "$bin" --socket "$tmp/sock" "$@"; }
c status >"$tmp/out" 2>&1
check "status: exit 0" 0 $?
check "status: the vhost" 1 "$(grep -c '^  domain 3 vhost 0: backend Connected, frontend Connected$' "$tmp/out")"
check "status: the ring" 1 "$(grep -c 'ring: feature-sg-grant 128, 1 in flight, journal on' "$tmp/out")"
check "status: the device" 1 "$(grep -c 'dev-0: v-dev 0:0:0, p-dev file:/a.img -> unit f:1:2' "$tmp/out")"
check "status: the LUN read-only" 1 "$(grep -c 'emulated, device /a.img, read-only, 1 user, 1 in flight' "$tmp/out")"
check "status: the reservation" 1 "$(grep -c 'persistent Write Exclusive, holder 0x8000000300000000, 1 registration' "$tmp/out")"
c stats >"$tmp/out" 2>&1
check "stats: exit 0" 0 $?
check "stats: a 64-bit counter whole" 1 "$(grep -c '18446744073709551615 commands, 3.0 MiB read, 0 B written, 2 errors' "$tmp/out")"
check "stats: sense keys" 1 "$(grep -c 'check conditions: Unit Attention 2' "$tmp/out")"
check "stats: latency" 1 "$(grep -c 'latency: mean 0 us; <16us 2 more 1' "$tmp/out")"
c stats --json >"$tmp/out" 2>&1
check "stats --json: the return value" 18446744073709551615 \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["luns"][0]["commands"])' "$tmp/out")"
check "metrics: the text alone" "$(printf '# HELP a_total A.\n# TYPE a_total counter\na_total 1')" "$(c metrics)"
check "poll" "poll 0 us (off)" "$(c poll)"
check "poll 40: a JSON number" "poll 40 us" "$(c poll 40)"
c poll fast >"$tmp/out" 2>"$tmp/err"
check "poll fast: exit 2" 2 $?
check "poll fast: named" "pvscsictl: poll: 'fast' is not a number of microseconds" "$(cat "$tmp/err")"
check "coalesce" "coalesce 0 us (off)" "$(c coalesce)"
check "coalesce 2000: a JSON number" "coalesce 2000 us" "$(c coalesce 2000)"
c coalesce 2ms >"$tmp/out" 2>"$tmp/err"
check "coalesce 2ms: exit 2" 2 $?
check "coalesce 2ms: named" "pvscsictl: coalesce: '2ms' is not a number of microseconds" "$(cat "$tmp/err")"
check "defer-kicks" "deferred kicks on" "$(c defer-kicks)"
check "defer-kicks off: a JSON false" "deferred kicks off" "$(c defer-kicks off)"
c defer-kicks maybe >"$tmp/out" 2>"$tmp/err"
check "defer-kicks maybe: exit 2" 2 $?
check "defer-kicks maybe: named" "pvscsictl: defer-kicks: 'maybe' is neither on nor off" "$(cat "$tmp/err")"
check "log-level" "log level info" "$(c log-level)"
check "log-level debug" "log level debug (was info)" "$(c log-level debug)"
c log-level loud >"$tmp/out" 2>"$tmp/err"
check "an error reply: exit 1" 1 $?
check "an error reply: desc and class" "pvscsictl: log-level: 'loud' is not a level (InvalidArgument)" "$(cat "$tmp/err")"
check "an error reply: nothing on stdout" "" "$(cat "$tmp/out")"

finish
