#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check's smoke run of make bench (docs/performance.md): the in-process
# and file sections for a second each (callgrind on a few thousand
# requests), into a directory of their own, must print their tables with
# figures and ratios; and the Xen section's report, fed a same-boot run of
# three rounds written here, must print the median of the per-round ratios,
# their spread and the per-I/O costs computed from the counters.  The Xen
# and virtio sections themselves boot guests for minutes: make bench only.
#
# Usage: tests/tool/bench_ut.sh   (from the top of the tree, after make all
# and the bench binaries).  Ends with an 'N passed, N failed' line.
set -u
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /tmp/bench_ut.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- ring and file, for real, shortly ----
if ! command -v valgrind >/dev/null || ! command -v fio >/dev/null; then
	fail "smoke run" "valgrind and fio are needed (scripts/install-deps check)"
elif BENCH_OUT=$tmp/out RING_SECS=1 RING_REPS=1 FILE_SECS=1 FILE_REPS=1 RING_CG_REQS=4000 FILE_MIB=32 \
	tests/bench/run.sh ring file >"$tmp/run.out" 2>&1; then
	ok "tests/bench/run.sh ring file exits 0"
	t=$tmp/out/table.txt
	if grep -Eq '^  read x1 +[0-9]+ +[0-9.]+[KM]? +[0-9.]+ +[0-9]+ ' "$t"; then
		ok "ring: read x1 with ns/req, req/s, x floor and instructions per request"
	else
		fail "ring: no read x1 row with figures" "$(sed -n '/^1\./,/^2\./p' "$t")"
	fi
	if grep -Eq '^  rings +1 thread +2 threads' "$t" &&
		grep -Eq '^  8( +[0-9.]+[KM]?)+ +[0-9]+\.[0-9]+$' "$t"; then
		ok "ring: pvscsid's own threads, req/s of 1 to 8 rings against 1 and 2 loop threads"
	else
		fail "ring: no table of pvscsid's own threads" "$(sed -n '/own event-loop threads/,/^2\./p' "$t")"
	fi
	if grep -Eq '^  randwrite 4k +[0-9.]+[KM]? +[0-9.]+[KM]? +[0-9]+\.[0-9]+ ' "$t"; then
		ok "file: randwrite 4k with IOPS of both and their ratio"
	else
		fail "file: no randwrite 4k row with a ratio" "$(sed -n '/^2\./,/^3\./p' "$t")"
	fi
	if grep -Eq '^  randwrite 4k direct +[0-9.]+[KM]? +[0-9.]+[KM]? +[0-9]+\.[0-9]+ ' "$t"; then
		ok "file: randwrite 4k direct (cache=none vs fio --direct=1) with its ratio"
	else
		fail "file: no randwrite 4k direct row with a ratio" "$(sed -n '/^2\./,/^3\./p' "$t")"
	fi
	# pvscsid's own instructions: fewer than all, by the fake grant copy's
	# 4 KiB per request (callgrind counts a rep movsq per 8 bytes: >= 512).
	n=$(python3 -c 'import json,sys
r = [x for x in json.load(open(sys.argv[1]))["sections"]["ring"]["rows"] if x["rings"] == 1]
print(" ".join("%s:%s" % (x["op"], "ok" if x.get("own_instr_per_req") and
      512 <= x["instr_per_req"] - x["own_instr_per_req"] < 1000 else x) for x in r))' "$tmp/out/results.json" 2>&1)
	check "ring: instructions per request without the fake grant copy, read and write" "read:ok write:ok" "$n"
	n=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["sections"]["ring"]["rows"]), len(r["sections"]["file"]))' "$tmp/out/results.json" 2>&1)
	check "results.json: ring rows (read, write x1 and x cores) and 4 file workloads, buffered and cache=none" "4 8" "$n"
else
	fail "tests/bench/run.sh ring file failed" "$(tail -n 5 "$tmp/run.out")"
fi

# ---- the Xen report on a same-boot run written here ----
# Three rounds of sdebug randread: kernel 100 IOPS each round, pvscsid 90,
# 120, 100: per-round ratios 0.90, 1.20, 1.00, median 1.00.  dom0 busy 1 s
# per 1000 I/Os for the kernel (1000 us/IO), 0.5 s for pvscsid (0.50).
# pvscsid makes 2000 system calls and 250 grant copy calls per 1000 I/Os.
# pvsalt (pvscsid after pvscsictl poll 50) 110, 150, 110 IOPS: 1.10 [1.10..1.50] of the
# kernel, 1.22 [1.10..1.25] of pvscsid; 1000 system calls and 500 polled
# passes per 1000 I/Os.  One round of the file's 1 MiB sequential write:
# kernel 40 IOPS, pvscsid 30 (0.75), in fio's "write" figures.
x=$tmp/xen/same
mkdir -p "$x"
python3 - "$x" <<'EOF'
import json, sys
d = sys.argv[1]
def fio(iops, ios, rw="read"):
    side = {"total_ios": ios, "runtime": 6000, "iops": iops, "bw_bytes": iops * 4096,
            "lat_ns": {"percentile": {"50.000000": 1e6, "99.000000": 4e6}}}
    other = "write" if rw == "read" else "read"
    return {"jobs": [{rw: side, other: {"total_ios": 0}, "usr_cpu": 1.0, "sys_cpu": 1.0, "job_runtime": 6000}]}
open(d + "/alt.txt", "w").write("poll 50\n")
open(d + "/file-spec.txt", "w").write("file:/var/tmp/e2e/bench.img,writes=inline\n")
cpu = open(d + "/cpu.txt", "w")
t, busy, sysc, cs, irq = 1000.0, 0, 0, 0, 0
cpu.write("start job=idle t=%.1f hz=100 busy=0 steal=0 proc=7 kernel.irqs=0 pvscsid.irqs=0 "
          "pvscsid.syscalls=5 pvscsid.cs=1 pvscsid.threads=2 kernel.syscalls=0 kernel.cs=0 kernel.threads=1\n" % t)
t += 10
cpu.write("end job=idle t=%.1f hz=100 busy=3 steal=0 proc=7 kernel.irqs=0 pvscsid.irqs=0 "
          "pvscsid.syscalls=5 pvscsid.cs=1 pvscsid.threads=2 kernel.syscalls=0 kernel.cs=0 kernel.threads=1\n" % t)
for r, piops, qiops in ((1, 90, 110), (2, 120, 150), (3, 100, 110)):
    for b, iops in (("kernel", 100), ("pvscsid", piops), ("pvsalt", qiops)):
        job = "%s-sdebug-randread-r%d" % (b, r)
        ios = iops * 6
        json.dump(fio(iops, ios), open(d + "/fio-%s.json" % job, "w"))
        open(d + "/irq-%s.txt" % job, "w").write("%d\n" % (ios // 4))
        dbusy = ios * 100 // 1000 if b == "kernel" else ios * 50 // 1000
        dsys = {"kernel": 0, "pvscsid": 2 * ios, "pvsalt": ios}[b]
        for when in ("start", "end"):
            if when == "end":
                t += 6.2
                busy += dbusy
                sysc += dsys
            cpu.write("%s job=%s t=%.1f hz=100 busy=%d steal=0 proc=0 kernel.irqs=0 pvscsid.irqs=0 "
                      "pvscsid.syscalls=%d pvscsid.cs=0 pvscsid.threads=2 kernel.syscalls=0 kernel.cs=0 "
                      "kernel.threads=1\n" % (when, job, t, busy, sysc))
        if b != "kernel":
            for when, n in (("start", 0), ("end", ios)):
                json.dump({"luns": [], "rings": [{"domid": 1, "vhost": 1, "requests": n, "notifies": n // 4,
                           "wakeups": n // 4, "events": n // 4, "copy_calls": n // 4, "copy_ops": n,
                           "polled": n // 2 if b == "pvsalt" else 0,
                           "copy_bytes": n * 4096, "bytes_read": n * 4096, "bytes_written": 0},
                           {"domid": 1, "vhost": 0, "requests": 99999}]},
                          open(d + "/stats-%s-%s.json" % (when, job), "w"))
        t += 1
for b, iops in (("kernel", 40), ("pvscsid", 30)):
    job = "%s-file-write-r1" % b
    json.dump(fio(iops, iops * 6, "write"), open(d + "/fio-%s.json" % job, "w"))
    for when in ("start", "end"):
        t += 6.2 if when == "end" else 0
        cpu.write("%s job=%s t=%.1f hz=100 busy=%d steal=0 proc=0 kernel.irqs=0 pvscsid.irqs=0 "
                  "pvscsid.syscalls=%d pvscsid.cs=0 pvscsid.threads=2 kernel.syscalls=0 kernel.cs=0 "
                  "kernel.threads=1\n" % (when, job, t, busy, sysc))
    t += 1
EOF
python3 tests/bench/report.py xen "$tmp/xen" >"$tmp/xen.raw" 2>"$tmp/xen.err"
check "report.py xen: a line per backend and round, the idle line, the third run's setting and the file LUN" "14" \
	"$(grep -c '^xen' "$tmp/xen.raw")"
python3 tests/bench/report.py report "$tmp/xen.raw" "$tmp" >"$tmp/xen.table" 2>&1
check "xen: the file LUN's spec as pvscsid was given it" \
	"   pvscsid's file LUN: file:/var/tmp/e2e/bench.img,writes=inline" \
	"$(grep "pvscsid's file LUN" "$tmp/xen.table")"
row=$(grep '^  sdebug randread 4k' "$tmp/xen.table" | head -n 1)
case $row in
*" 1.00 [0.90..1.20] "*) ok "xen: the median per-round IOPS ratio and its spread" ;;
*) fail "xen: median IOPS ratio 1.00 [0.90..1.20] expected" "$row" ;;
esac
case $row in
*" 500 "*" 1000 "*" 0.50 [0.50..0.50] "*) ok "xen: dom0 CPU per I/O of both and their ratio" ;;
*) fail "xen: dom0 us/IO 500 and 1000, ratio 0.50 expected" "$row" ;;
esac
cost=$(sed -n '/Per-I\/O costs/,$p' "$tmp/xen.table" | grep '^  sdebug randread 4k' | head -n 1)
# syscalls 2.00, ctx sw 0.00 / 0.00, copy calls 0.25, copied B/B 1.00, ..., guest irqs 0.25 / 0.25, cmds 1.0
case $cost in
*" 2.00 "*" 0.25 "*" 1.00 "*" 1.0") ok "xen: per-I/O costs from the counters (vhost 1's rings only)" ;;
*) fail "xen: per-I/O costs: syscalls 2.00, copy calls 0.25, copied 1.00, cmds 1.0 expected" "$cost" ;;
esac
prow=$(sed -n '/pvscsid after pvscsictl poll 50 /,$p' "$tmp/xen.table" | grep '^  sdebug randread 4k' | head -n 1)
case $prow in
*" 1.10 [1.10..1.50] "*" 1.22 [1.10..1.25] "*" 1.00 "*" 0.50") ok "xen: the third runs (pvscsictl poll 50) against both" ;;
*) fail "xen: polling: 1.10 [1.10..1.50] of the kernel, 1.22 [1.10..1.25] of pvscsid, 1.00 syscalls, 0.50 polled expected" "$prow" ;;
esac
row=$(grep '^  file write 1m' "$tmp/xen.table" | head -n 1)
case $row in
*" 30 "*" 40 "*" 0.75 [0.75..0.75] "*) ok "xen: the 1 MiB sequential write, from fio's write figures" ;;
*) fail "xen: file write 1m: 30 and 40 IOPS, ratio 0.75 expected" "$row" ;;
esac
grep -q 'guest idle 10 s, both vhosts connected: dom0 busy 0.3% of a vCPU; pvscsid: 0 system calls, 0 context switches' \
	"$tmp/xen.table" && ok "xen: the idle line" || fail "xen: the idle line" "$(grep 'guest idle' "$tmp/xen.table")"
finish
