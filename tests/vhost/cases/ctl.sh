# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# ctl: the JSON control socket while the guest runs fio: stats --json twice
# shows 0:0's counters rising, metrics parse as Prometheus text, and
# malformed or unknown requests get error replies while the back-end serves on.
MODES=vhost
ORDER=60

host() {
	guest_wait_mark ctl-fio 120
	sleep 3
	ctl --json stats >"$CASEOUT/stats1.json"
	sleep 2
	ctl --json stats >"$CASEOUT/stats2.json"
	# The unit at 0:0, as controller 0's status names it.
	ctl --json status >"$CASEOUT/status.json"
	python3 - "$CASEOUT" <<'PY' || fail "the LUN's counters did not rise (see $CASEOUT/*.json)"
import json, sys
d = sys.argv[1]
st = json.load(open(d + "/status.json"))
unit = [l["unit"] for l in st["controllers"][0]["luns"] if l["lun"] == "0:0"][0]
a, b = (json.load(open("%s/stats%d.json" % (d, i))) for i in (1, 2))
la = [l for l in a["luns"] if l["unit"] == unit][0]
lb = [l for l in b["luns"] if l["unit"] == unit][0]
print("unit %s: %d -> %d commands, %d -> %d bytes written" % (unit, la["commands"],
      lb["commands"], la["bytes_written"], lb["bytes_written"]))
assert lb["commands"] > la["commands"] > 0, "commands"
assert lb["bytes_written"] > la["bytes_written"], "bytes written"
assert sum(lb["latency"]["counts"]) == lb["commands"], "histogram"
ca, cb = a["controllers"][0], b["controllers"][0]
assert cb["commands"] > ca["commands"] > 0, "controller commands"
PY
	ctl metrics >"$CASEOUT/metrics.txt"
	python3 "$E2E_DIR/lib/prom_check.py" "$CASEOUT/metrics.txt" >"$CASEOUT/metrics.parsed" ||
		fail "metrics: not Prometheus text: $(cat "$CASEOUT/metrics.txt" | head -3)"
	grep -q '^pvscsi_controller_commands_total{controller="0"} [1-9]' "$CASEOUT/metrics.parsed" ||
		fail "metrics: no pvscsi_controller_commands_total for controller 0"
	python3 - "$(be_arg "$(be_base backend)" ctl-socket)" <<'PY' || fail "bad requests: wrong replies"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for req, cls in ((b'{"command":', "ParseError"), (b'[1,2]', "InvalidRequest"),
                 (b'{"command":"reboot"}', "CommandNotFound"),
                 (b'{"command":"add","arguments":{"lun":5,"spec":"mem:1M"}}', "InvalidArgument")):
    f.write(req + b"\n")
    f.flush()
    r = json.loads(f.readline())
    print(req, "->", r)
    assert r["error"]["class"] == cls, (req, r)
f.write(b'{"command":"list"}\n')
f.flush()
r = json.loads(f.readline())
assert [l["lun"] for l in r["return"]][:1] == ["0:0"], r
PY
	ctl list | grep -q '^0:0 ' || fail "the line protocol no longer answers after the bad requests"
}

guest() {
	_a=$(sd_of 0:0:0)
	# Long enough for the host's two looks at the counters (3 and 5 s after
	# the mark), whatever the load; the counters rising between them is the
	# proof that fio ran through both.  (The guest no longer waits for a
	# word from the host: in one full run the word sent on ttyS1 was never
	# heard, although the host's checks had all passed.)
	fio --rw=randwrite --bs=4k --iodepth=8 --ioengine=libaio --direct=1 --size=32M \
		--time_based --runtime=60 --name=a --filename="$_a" >/tmp/ctl-fio.out 2>&1 &
	_f=$!
	mark ctl-fio
	wait "$_f" || { cat /tmp/ctl-fio.out; fail "fio failed"; }
	grep -q 'err= 0' /tmp/ctl-fio.out || { cat /tmp/ctl-fio.out; fail "fio reported an error"; }
}
