#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of tests/bench/run.sh (standard library only).

  report.py fio2kv FIO.json [KEY=VALUE...]
      One line "fio KEY=VALUE..." from fio's JSON output: iops, mbps, p50_us,
      p99_us (total latency, submission to completion), ios, runtime_s and
      cpu_us_per_io (fio's own user+system time per I/O).
  report.py xen OUTDIR
      One "xen ..." line per backend, disk, workload and round of the Xen run
      (OUTDIR/same/fio-<backend>-<disk>-<workload>-r<round>.json, cpu.txt and
      stats-*.json, written by tests/bench/xen-case.sh in dom0).
  report.py vhost OUTDIR ROUNDS
      One "vhost ..." line per mode (vhost: pvscsi-vhost-user, ref: QEMU's
      virtio-scsi), workload and round of the one-guest run of
      tests/bench/vhost.sh (OUTDIR/fio-WORKLOAD-ROUND-MODE.json and the
      CPU and context-switch snapshots OUTDIR/snap/JOB.start|end).
  report.py report RAW OUTDIR
      The table on stdout, OUTDIR/results.json, OUTDIR/table.txt and
      OUTDIR/ratios.png (gnuplot) from the KEY=VALUE lines in RAW.

Every figure comes from RAW, i.e. from this run: nothing is computed from
numbers kept anywhere else.
"""
import json
import os
import shutil
import subprocess
import sys


def read_text(path):
    """A small file's text, stripped; "" when it is missing."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def kv_line(kind, d):
    return kind + " " + " ".join("%s=%s" % (k, v) for k, v in d.items())


def parse_kv(line):
    parts = line.split()
    if not parts:
        return None, {}
    d = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            try:
                d[k] = float(v) if any(c in v for c in ".e") else int(v)
            except ValueError:
                d[k] = v
    return parts[0], d


def load_fio(path):
    """fio's JSON, skipping anything before the first '{' (console noise)."""
    with open(path, errors="replace") as f:
        text = f.read()
    i = text.find("{")
    if i < 0:
        raise ValueError("no JSON in " + path)
    return json.JSONDecoder().raw_decode(text[i:])[0]


def fio_figures(j):
    job = j["jobs"][0]
    rd, wr = job["read"], job["write"]
    d = wr if wr["total_ios"] > rd["total_ios"] else rd
    ios = d["total_ios"]
    runtime = d["runtime"] / 1000.0 or job.get("job_runtime", 0) / 1000.0
    lat = d.get("lat_ns", {})
    pct = lat.get("percentile") or d.get("clat_ns", {}).get("percentile", {})
    cpu_s = (job.get("usr_cpu", 0) + job.get("sys_cpu", 0)) / 100.0 * job.get("job_runtime", 0) / 1000.0
    return {
        "ios": ios,
        "runtime_s": round(runtime, 4),
        "iops": round(d["iops"], 1),
        "mbps": round(d["bw_bytes"] / 1e6, 2),
        "p50_us": round(pct.get("50.000000", 0) / 1000.0, 1),
        "p99_us": round(pct.get("99.000000", 0) / 1000.0, 1),
        "cpu_us_per_io": round(cpu_s * 1e6 / ios, 3) if ios else 0,
    }


def cmd_fio2kv(args):
    """kind=NAME names the line (default fio); ext_cpu_s, outside_cpu_s and
    backend_cpu_s (CPU seconds measured around the run from outside) become
    cpu_us_per_io, outside_us_per_io and backend_us_per_io."""
    d = {}
    for a in args[1:]:
        k, v = a.split("=", 1)
        d[k] = v
    kind = d.pop("kind", "fio")
    f = fio_figures(load_fio(args[0]))
    for k, per in (("ext_cpu_s", "cpu_us_per_io"), ("outside_cpu_s", "outside_us_per_io"),
                   ("backend_cpu_s", "backend_us_per_io")):
        if k in d:
            f[per] = round(float(d[k]) * 1e6 / f["ios"], 2) if f["ios"] else 0
    d.update(f)
    print(kv_line(kind, d))


def cmd_xen(args):
    """Join the guest's fio results with dom0's counters (OUTDIR/same, written by
    tests/bench/xen-case.sh): one "xen" line per backend, disk, workload and round,
    one "xenidle" line, and a "xenstrace" line per strace -c table."""
    bdir = os.path.join(args[0], "same")
    for line in xen_runs(bdir):
        print(line)
    alt = "_".join(read_text(os.path.join(bdir, "alt.txt")).split())
    if alt:
        print(kv_line("xenalt", {"cmd": alt}))
    spec = read_text(os.path.join(bdir, "file-spec.txt"))
    if spec:
        print(kv_line("xenfile", {"spec": spec}))
    try:
        names = sorted(os.listdir(bdir))
    except OSError:
        names = []
    for fn in names:
        if fn.startswith("strace-") and fn.endswith(".txt"):
            job = fn[7:-4]
            calls, top = strace_summary(os.path.join(bdir, fn))
            try:
                ios = fio_figures(load_fio(os.path.join(bdir, "fio-%s.json" % job)))["ios"]
            except (OSError, ValueError, KeyError):
                ios = 0
            if calls and ios:
                print(kv_line("xenstrace", {"job": job, "syscalls_per_io": round(calls / ios, 2),
                                            "top": ",".join("%s:%.2f" % (n, c / ios) for n, c in top)}))


def strace_summary(path):
    """Total calls and the 6 most frequent (name, calls) of a strace -c table."""
    rows, total = [], 0
    try:
        with open(path) as f:
            for line in f:
                m = line.split()
                if len(m) >= 5 and m[-1] != "syscall" and m[0][0].isdigit():
                    calls = int(m[3])
                    if m[-1] == "total":
                        total = calls
                    else:
                        rows.append((m[-1], calls))
    except (OSError, ValueError):
        return 0, []
    rows.sort(key=lambda x: -x[1])
    return total, rows[:6]


def ring_totals(path, vhost=1):
    """pvscsid's counters of its vhost's rings from `pvscsictl stats --json`."""
    try:
        with open(path) as f:
            j = json.load(f)
    except (OSError, ValueError):
        return None
    t = {}
    for r in j.get("rings", []):
        if r.get("vhost") != vhost:
            continue
        for k in ("requests", "responses", "notifies", "wakeups", "events", "polled", "copy_calls",
                  "copy_ops", "copy_bytes", "bytes_read", "bytes_written"):
            t[k] = t.get(k, 0) + (r.get(k) or 0)
    return t


def xen_runs(bdir):
    """KEY=VALUE lines of the same-boot run: every fio run of both backends."""
    cpu = {}
    try:
        with open(os.path.join(bdir, "cpu.txt")) as f:
            for line in f:
                kind, d = parse_kv(line)
                if kind in ("start", "end"):
                    cpu.setdefault(d["job"], {})[kind] = d
    except OSError:
        pass
    idle = cpu.get("idle", {})
    if "start" in idle and "end" in idle:
        s, e = idle["start"], idle["end"]
        win = e["t"] - s["t"]
        hz = s.get("hz", 100)
        if win > 0:
            d = {"window_s": round(win, 2),
                 "dom0_busy_frac": round((e["busy"] - s["busy"]) / hz / win, 4),
                 "pvscsid_cpu_s": round((e["proc"] - s["proc"]) / hz, 3)}
            for k in ("pvscsid.syscalls", "pvscsid.cs", "kernel.cs", "pvscsid.irqs", "kernel.irqs"):
                if k in s and k in e:
                    d[k.replace(".", "_")] = e[k] - s[k]
            yield kv_line("xenidle", d)
    jobs = sorted(j for j in cpu if j != "idle")
    try:
        for fn in os.listdir(bdir):
            if fn.startswith("fio-") and fn.endswith(".json") and fn[4:-5] not in jobs:
                jobs.append(fn[4:-5])
    except OSError:
        pass
    for job in sorted(set(jobs)):
        parts = job.split("-")
        if len(parts) != 4 or not parts[3].startswith("r"):
            continue
        backend, disk, wl, rd = parts
        d = {"backend": backend, "disk": disk, "workload": wl, "round": int(rd[1:])}
        path = os.path.join(bdir, "fio-%s.json" % job)
        try:
            d.update(fio_figures(load_fio(path)))
        except (OSError, ValueError, KeyError) as e:
            yield kv_line("xen", dict(d, error="no_fio_result"))
            print("report.py: %s: %s" % (path, e), file=sys.stderr)
            continue
        ios = d["ios"]
        # The guest's fio CPU is the guest's: dom0's is what is compared.
        d["fio_cpu_us_per_io"] = d.pop("cpu_us_per_io")
        try:
            with open(os.path.join(bdir, "irq-%s.txt" % job)) as f:
                n = int(f.read().split()[0])
            if ios:
                d["guest_irqs_per_io"] = round(n / ios, 3)
        except (OSError, ValueError, IndexError):
            pass
        c = cpu.get(job, {})
        if "start" not in c or "end" not in c or not ios:
            d["cpu_missing"] = 1
            yield kv_line("xen", d)
            continue
        s, e = c["start"], c["end"]
        hz = s.get("hz", 100)
        win = e["t"] - s["t"]
        if win < 0.9 * d["runtime_s"]:
            # dom0 saw the marks late: its window missed part of the run.
            d["cpu_window_short"] = round(win, 2)
            d["cpu_missing"] = 1
            yield kv_line("xen", d)
            continue
        busy = (e["busy"] - s["busy"]) / hz
        d["window_s"] = round(win, 2)
        d["dom0_cpu_s"] = round(busy, 3)
        d["cpu_us_per_io"] = round(busy * 1e6 / ios, 2)
        if win > 0:
            d["dom0_steal_frac"] = round((e["steal"] - s["steal"]) / hz / win / 2, 4)
        # Exact counts of the backend under test (pcount, /proc/interrupts).
        # pvsalt: the same pvscsid, set otherwise (pvscsictl): its counters' names.
        counted = "pvscsid" if backend == "pvsalt" else backend
        for k, name in (("syscalls", "syscalls_per_io"), ("cs", "cs_per_io"),
                        ("irqs", "dom0_irqs_per_io")):
            key = "%s.%s" % (counted, k)
            if key in s and key in e and isinstance(s[key], int) and isinstance(e[key], int):
                d[name] = round((e[key] - s[key]) / ios, 3)
        if counted == "pvscsid":
            # utime+stime include the time its vCPU was stolen: not comparable
            # with /proc/stat's busy time.
            d["pvscsid_us_per_io_with_steal"] = round((e["proc"] - s["proc"]) / hz * 1e6 / ios, 2)
            r0 = ring_totals(os.path.join(bdir, "stats-start-%s.json" % job))
            r1 = ring_totals(os.path.join(bdir, "stats-end-%s.json" % job))
            if r0 and r1:
                delta = {k: r1.get(k, 0) - r0.get(k, 0) for k in r1}
                for k in ("requests", "notifies", "events", "polled", "copy_calls", "copy_ops"):
                    d[k + "_per_io"] = round(delta[k] / ios, 3)
                moved = delta.get("bytes_read", 0) + delta.get("bytes_written", 0)
                if moved:
                    d["copied_per_byte"] = round(delta["copy_bytes"] / moved, 3)
        yield kv_line("xen", d)


VHOST_WORKLOADS = ("randread", "randwrite", "read")
# Section 3's fio workloads, in the order of its tables.
XEN_WORKLOADS = ("randread", "randwrite", "read", "write")


def wl_size(wl):
    """The block size the benches give workload WL: 1 MiB sequential, 4 KiB random."""
    return "4k" if wl.startswith("rand") else "1m"


def vhost_snap(path):
    """A snapshot of tests/bench/vhost.sh: {"t", "hz", "proc": {who: ticks},
    "threads": {(who, tid): {vcpu, ticks, csw}}}, or None."""
    snap = {"proc": {}, "threads": {}}
    try:
        with open(path) as f:
            for line in f:
                kind, d = parse_kv(line)
                if kind == "time":
                    snap["t"], snap["hz"] = float(d["t"]), d.get("hz", 100)
                elif kind == "proc":
                    snap["proc"][d["who"]] = d["ticks"]
                elif kind == "pcount":
                    snap["pcount"] = d
                elif kind == "thread":
                    snap["threads"][(d["who"], d["tid"])] = {
                        "vcpu": d["vcpu"], "ticks": d["ticks"], "csw": d["vcs"] + d["nvcs"]}
    except (OSError, KeyError, ValueError):
        return None
    return snap if "t" in snap else None


def vhost_deltas(s, e):
    """CPU ticks and context switches between two snapshots: QEMU's whole
    process, its vCPU threads, the rest of it ("outside"), the back-end's
    whole process; context switches of QEMU's non-vCPU threads and of all
    the back-end's threads (a thread that exited in between is lost from
    those and counted in *_gone; one that started counts from zero)."""
    d = {"qemu": e["proc"].get("qemu", 0) - s["proc"].get("qemu", 0),
         "backend": e["proc"].get("backend", 0) - s["proc"].get("backend", 0),
         "vcpu": 0, "qemu_csw": 0, "backend_csw": 0, "qemu_gone": 0, "backend_gone": 0}
    for (who, tid), th in e["threads"].items():
        st = s["threads"].get((who, tid), {"ticks": 0, "csw": 0})
        if who == "qemu" and th["vcpu"]:
            d["vcpu"] += th["ticks"] - st["ticks"]
        elif who in ("qemu", "backend"):
            d[who + "_csw"] += th["csw"] - st["csw"]
    for (who, tid), th in s["threads"].items():
        if (who, tid) not in e["threads"] and not th["vcpu"] and who in ("qemu", "backend"):
            d[who + "_gone"] += 1
    d["outside"] = d["qemu"] - d["vcpu"]
    ps, pe = s.get("pcount", {}), e.get("pcount", {})
    if "backend.syscalls" in ps and "backend.syscalls" in pe:
        d["backend_syscalls"] = pe["backend.syscalls"] - ps["backend.syscalls"]
        d["backend_pcount_cs"] = pe.get("backend.cs", 0) - ps.get("backend.cs", 0)
    return d


def cmd_vhost(args):
    """Join the guest's fio results with the host's snapshots, per run."""
    out, rounds = args[0], int(args[1])
    snapdir = os.path.join(out, "snap")
    spec = read_text(os.path.join(out, "file-spec.txt"))
    if spec:
        print(kv_line("vhostfile", {"spec": spec}))
    s, e = vhost_snap(os.path.join(snapdir, "idle.start")), vhost_snap(os.path.join(snapdir, "idle.end"))
    if s and e and e["t"] > s["t"]:
        dd, win, hz = vhost_deltas(s, e), e["t"] - s["t"], s["hz"]
        print(kv_line("vhostidle", {"window_s": round(win, 2),
                                    "backend_cpu_frac": round(dd["backend"] / hz / win, 4),
                                    "qemu_outside_cpu_frac": round(dd["outside"] / hz / win, 4),
                                    "backend_csw_per_s": round(dd["backend_csw"] / win, 1),
                                    "qemu_outside_csw_per_s": round(dd["qemu_csw"] / win, 1)}))
    for wl in VHOST_WORKLOADS:
        for r in range(1, rounds + 1):
            for mode in ("vhost", "ref"):
                job = "%s-%d-%s" % (wl, r, mode)
                d = {"mode": mode, "workload": wl, "round": r}
                path = os.path.join(out, "fio-%s.json" % job)
                try:
                    d.update(fio_figures(load_fio(path)))
                except (OSError, ValueError, KeyError) as ex:
                    print(kv_line("vhost", dict(d, error="no_fio_result")))
                    print("report.py: %s: %s" % (path, ex), file=sys.stderr)
                    continue
                # fio's own CPU is the guest's: the same work on both disks.
                d["fio_cpu_us_per_io"] = d.pop("cpu_us_per_io")
                s = vhost_snap(os.path.join(snapdir, job + ".start"))
                e = vhost_snap(os.path.join(snapdir, job + ".end"))
                ios = d["ios"]
                if not s or not e or not ios:
                    d["cpu_missing"] = 1
                elif e["t"] - s["t"] < 0.9 * d["runtime_s"]:
                    # The host saw the marks late: its window missed part of the run.
                    d["cpu_window_short"] = round(e["t"] - s["t"], 2)
                    d["cpu_missing"] = 1
                else:
                    dd, hz = vhost_deltas(s, e), s["hz"]
                    us = lambda ticks: round(ticks / hz * 1e6 / ios, 2)
                    d["window_s"] = round(e["t"] - s["t"], 2)
                    d["host_us_per_io"] = us(dd["qemu"] + dd["backend"])
                    d["vcpu_us_per_io"] = us(dd["vcpu"])
                    d["qemu_outside_us_per_io"] = us(dd["outside"])
                    d["qemu_outside_csw_per_io"] = round(dd["qemu_csw"] / ios, 3)
                    if mode == "vhost":
                        # The back-end is the daemon, plus what QEMU still does
                        # outside its vCPU (the call eventfd -> interrupt under TCG).
                        d["backend_us_per_io"] = us(dd["backend"])
                        d["backend_csw_per_io"] = round(dd["backend_csw"] / ios, 3)
                        d["outside_us_per_io"] = us(dd["backend"] + dd["outside"])
                        d["csw_per_io"] = d["backend_csw_per_io"]
                        if "backend_syscalls" in dd:
                            d["pcount_syscalls_per_io"] = round(dd["backend_syscalls"] / ios, 3)
                            d["pcount_cs_per_io"] = round(dd["backend_pcount_cs"] / ios, 3)
                            # pcount's context switches against /proc's exact
                            # ones: on a host where perf counts an attached
                            # process only part of the time (this development
                            # VM), its system call count is not exact either.
                            # (A worker thread born within the run is missed by
                            # pcount but not by /proc: hence the margin.)
                            if dd["backend_pcount_cs"] >= 0.5 * dd["backend_csw"]:
                                d["syscalls_per_io"] = d["pcount_syscalls_per_io"]
                            else:
                                d["syscalls_not_counted"] = 1
                    else:
                        # scsi-hd's work is done by QEMU's main loop and aio workers.
                        d["outside_us_per_io"] = d["qemu_outside_us_per_io"]
                        d["csw_per_io"] = d["qemu_outside_csw_per_io"]
                    for who in ("qemu", "backend"):
                        if dd[who + "_gone"]:
                            d[who + "_threads_gone"] = dd[who + "_gone"]
                print(kv_line("vhost", d))


# ---- the report ----


def callgrind_profile(path, n=5):
    """Self cost from callgrind_annotate's output: (by source file, by function), top n each,
    as lists of (name, percent of the instructions counted)."""
    total, files, funcs = None, {}, []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return [], []
    go = False
    for line in lines:
        m = line.split()
        if "PROGRAM TOTALS" in line:
            total = int(m[0].replace(",", ""))
            go = True
            continue
        if not go:
            continue
        if funcs and not line.strip():
            break
        if len(m) >= 3 and m[0].replace(",", "").isdigit() and line.count("(") and "%)" in line:
            ir = int(m[0].replace(",", ""))
            loc = line.split(")", 1)[1].split()[0]
            fname, _, fn = loc.rpartition(":")
            funcs.append((fn, ir))
            key = os.path.basename(fname)
            files[key] = files.get(key, 0) + ir
    if not total:
        return [], []
    top = lambda d: [(k, round(100.0 * v / total, 1)) for k, v in d[:n]]
    return (top(sorted(files.items(), key=lambda x: -x[1])), top(sorted(funcs, key=lambda x: -x[1])))


def si(x):
    if x is None:
        return "-"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return "%.2f%s" % (x / div, suf)
    return "%.0f" % x


def num(x, fmt="%.1f"):
    return "-" if x is None else fmt % x


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


XEN_KEYS = ("iops", "mbps", "p50_us", "p99_us", "cpu_us_per_io", "fio_cpu_us_per_io", "guest_irqs_per_io",
            "dom0_irqs_per_io", "syscalls_per_io", "cs_per_io", "requests_per_io", "notifies_per_io",
            "events_per_io", "polled_per_io", "copy_calls_per_io", "copy_ops_per_io", "copied_per_byte", "dom0_steal_frac")


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def spread(m, lo, hi):
    """'0.93 [0.88..1.02]'."""
    if m is None:
        return "-"
    return "%.2f [%.2f..%.2f]" % (m, lo, hi)


def table(rows, cols):
    """rows: list of lists of str; cols: headers.  Left-aligned first column."""
    w = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    lines = []
    for r in [cols] + rows:
        lines.append("  " + "  ".join(
            (str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])) for i, c in enumerate(r)))
    return lines


def missing_note(recs, kind, who):
    """Rows of KIND that have no figures, as '(label) workload' strings."""
    return sorted(set(("%s %s %s" % (d.get(who, ""), d.get("disk", ""), d.get("workload", "")))
                      .replace("  ", " ") for k, d in recs if k == kind and "error" in d))


def both(pairs, key, present=lambda v: v is not None):
    """(name, ours[KEY], reference[KEY]) of the PAIRS in which both sides have KEY."""
    return [(n, o.get(key), r.get(key)) for n, o, r in pairs
            if o and r and present(o.get(key)) and present(r.get(key))]


def side_by_side(pairs, ours, ref, label, cpu_label):
    """pairs: list of (name, ours dict, ref dict)."""
    cols = [label, "IOPS " + ours, ref, "ratio", "MB/s " + ours, ref, "ratio",
            "p50/p99 us " + ours, ref, cpu_label + " " + ours, ref, "ratio"]
    rows, recs = [], []
    for name, o, r in pairs:
        o, r = o or {}, r or {}
        ri = ratio(o.get("iops"), r.get("iops"))
        rm = ratio(o.get("mbps"), r.get("mbps"))
        rc = ratio(o.get("cpu_us_per_io"), r.get("cpu_us_per_io"))
        rows.append([name, si(o.get("iops")), si(r.get("iops")), num(ri, "%.2f"),
                     num(o.get("mbps")), num(r.get("mbps")), num(rm, "%.2f"),
                     "%s/%s" % (num(o.get("p50_us"), "%.0f"), num(o.get("p99_us"), "%.0f")),
                     "%s/%s" % (num(r.get("p50_us"), "%.0f"), num(r.get("p99_us"), "%.0f")),
                     num(o.get("cpu_us_per_io"), "%.2f"), num(r.get("cpu_us_per_io"), "%.2f"),
                     num(rc, "%.2f")])
        recs.append({"name": name, ours: o, ref: r, "iops_ratio": ri, "mbps_ratio": rm,
                     "cpu_per_io_ratio": rc})
    return rows, cols, recs


def cmd_report(args):
    raw, out = args
    recs = []
    with open(raw) as f:
        for line in f:
            kind, d = parse_kv(line)
            if kind:
                recs.append((kind, d))
    meta = {}
    for k, d in recs:
        if k == "meta":
            meta.update(d)
    res = {"machine": meta, "sections": {}, "missing": []}
    lines = []
    p = lines.append

    def skipped(section):
        return [d for k, d in recs if k == "skip" and d.get("section") == section]

    def why(section):
        errs = sorted(set("%s %s" % (d.get("backend", d.get("mode", "")), d.get("workload", ""))
                          for k, d in recs if k == section and "error" in d))
        return ("; ".join(str(s.get("reason", "?")).replace("_", " ") for s in skipped(section)) or
                "no figures" + (" (no fio result: %s)" % ", ".join(errs) if errs else "") +
                "; see build/bench/%s.log" % section)

    def missing(section):
        """The section's line when it has no figures, and its name in results.json's missing."""
        p("   not measured: %s" % why(section))
        res["missing"].append(section)

    # 1. in-process
    p("1. In-process data path: backend/ring.c, fake grant table (memcpy), mem: LUN;")
    p("   4 KiB at random LBAs, 16 in flight per ring; backend CPU time per request, best of %s"
      % meta.get("ring_reps", "?"))
    mem = [d["ns_per_copy"] for k, d in recs if k == "memcpy"]
    floor = min(mem) if mem else None
    cg = {d["op"]: d for k, d in recs if k == "callgrind"}
    rows, sec = [], {"memcpy_ns": floor, "rows": [], "profile": {}}
    best = {}
    for k, d in recs:
        if k == "ring":
            key = (d["op"], d["rings"])
            if key not in best or d["ns_per_req"] < best[key]["ns_per_req"]:
                best[key] = d
    for d in sorted(best.values(), key=lambda d: (d["rings"], d["op"])):
        ins = cg.get(d["op"], {}).get("instr_per_req")
        hv = cg.get(d["op"], {}).get("hv_instr_per_req")
        own = ins - hv if ins is not None and hv else None
        one = d["rings"] == 1
        rows.append(["%s x%d" % (d["op"], d["rings"]), num(d["ns_per_req"], "%.0f"),
                     si(d["req_s_core"]), num(ratio(d["ns_per_req"], floor), "%.1f"),
                     num(ins, "%.0f") if one else "", num(own, "%.0f") if one else "",
                     num(d["cpu_ns_per_req"], "%.0f"), si(d["req_s_total"])])
        sec["rows"].append(dict(d, x_floor=ratio(d["ns_per_req"], floor),
                                instr_per_req=ins if one else None,
                                own_instr_per_req=own if one else None))
    for op, d in cg.items():
        byfile, byfn = callgrind_profile(d.get("profile", ""), 6)
        sec["profile"][op] = {"by_file": byfile, "by_function": byfn}
    if rows:
        p("   floor: plain 4 KiB memcpy loop = %s ns" % num(floor, "%.1f"))
        lines.extend(table(rows, ["workload x rings", "ns/req", "req/s/core", "x floor",
                                  "instr/req", "own", "loop ns/req", "req/s all (wall)"]))
        p("   instr/req: callgrind, everything backend_batch() runs; own: without the fake grant")
        p("   table's copy (fake_copy and its callees), which a real dom0's GNTTABOP_copy does in Xen,")
        p("   out of callgrind's sight behind the gntdev ioctl (target: at most 1500)")
        for op in sorted(sec["profile"]):
            pr = sec["profile"][op]
            if pr["by_file"]:
                p("   callgrind %s, instructions by file: %s" % (
                    op, ", ".join("%s %.0f%%" % x for x in pr["by_file"])))
                p("     by function: %s" % ", ".join("%s %.0f%%" % x for x in pr["by_function"]))
    else:
        missing("ring")
    # pvscsid's own threads: ring_bench daemon, aggregate req/s by rings and loop threads.
    dm = {}
    for k, d in recs:
        if k == "daemon" and d.get("req_s") is not None:
            dm[(d["rings"], d["threads"])] = d["req_s"]
    sec["threads"] = [{"rings": r, "threads": t, "req_s": v} for (r, t), v in sorted(dm.items())]
    if dm:
        ts = sorted({t for _, t in dm})
        p("   pvscsid's own event-loop threads (ring_bench daemon: --threads N over the fakes,")
        p("   4 KiB reads, 16 in flight per ring; aggregate req/s by the wall clock, the guests'")
        p("   threads sharing the cores, each asleep until pvscsid notifies it, as a vCPU halts")
        p("   until its interrupt; last column: the most threads against one)")
        trows = []
        for r in sorted({r for r, _ in dm}):
            row = ["%d" % r] + [si(dm.get((r, t))) if dm.get((r, t)) is not None else "-" for t in ts]
            row.append(num(ratio(dm.get((r, ts[-1])), dm.get((r, ts[0]))), "%.2f"))
            trows.append(row)
        lines.extend(table(trows, ["rings"] + ["%d thread%s" % (t, "" if t == 1 else "s") for t in ts] +
                           ["x%d / x1" % ts[-1]]))
    res["sections"]["ring"] = sec
    p("")

    def compared(section, pairs, ours, ref, label, cpu_label, who=None, rename=str, notes=None):
        """Sections 2-4: the side-by-side table of PAIRS, or why there is none.  WHO is the
        field of SECTION's records that tells ours from the reference, for the list of runs
        without a fio result (RENAME gives them the table's names); NOTES(pairs) adds the
        section's own lines under the table."""
        if pairs:
            rows, cols, sec = side_by_side(pairs, ours, ref, label, cpu_label)
            lines.extend(table(rows, cols))
            miss = missing_note(recs, section, who) if who else []
            if miss:
                p("   no fio result (guest failed or timed out; see build/bench/%s.log, build/bench/%s/): "
                  % (section, section) + rename(", ".join(miss)))
            if notes:
                notes(pairs)
        else:
            sec = []
            missing(section)
        res["sections"][section] = sec
        p("")

    def note(text, items, fmt):
        """TEXT's lines, the last one followed by FMT of each of ITEMS; nothing without ITEMS."""
        if items:
            for t in text[:-1]:
                p(t)
            p(text[-1] + ", ".join(fmt % g for g in items))

    def by(kind, *fields):
        """KIND's records by the values of FIELDS (the last one wins)."""
        return {tuple(d[f] for f in fields): d for k, d in recs if k == kind}

    def measured(o, r):
        return (o and "iops" in o) or (r and "iops" in r)

    # 2. file LUN vs fio
    p("2. LUN core on a file (QD 16): file: LUN via io_uring vs fio --ioengine=io_uring; buffered")
    p("   (cache=writeback vs --direct=0, from the page cache) and direct (cache=none vs --direct=1);")
    p("   best of %s runs each (by IOPS); CPU = the whole process's user+system time per I/O"
      % meta.get("file_reps", "?"))
    p("   (io_uring's worker threads included), measured from outside for both")
    best = {}
    for k, d in recs:
        if k in ("file", "fio") and d.get("section", "file") == "file" and "workload" in d:
            if d.get("proc_cpu_s") is not None and d.get("ios"):
                d["cpu_us_per_io"] = round(d["proc_cpu_s"] * 1e6 / d["ios"], 3)
            who = "ours" if k == "file" else "fio"
            key = (d["workload"], int(d.get("bs", 0)), d.get("cache", "writeback"), who)
            if key not in best or d["iops"] > best[key]["iops"]:
                best[key] = d
    pairs = []
    for cache in ("writeback", "none"):
        for wl, bs in (("randread", 4096), ("randwrite", 4096), ("read", 1048576), ("write", 1048576)):
            o, r = best.get((wl, bs, cache, "ours")), best.get((wl, bs, cache, "fio"))
            if o or r:
                pairs.append(("%s %s%s" % (wl, "4k" if bs == 4096 else "1m",
                                           " direct" if cache == "none" else ""), o, r))
    compared("file", pairs, "ours", "fio", "workload", "CPU us/IO")

    # 3. Xen
    p("3. Real Xen (Xen 4.17 under QEMU TCG), ONE boot and ONE PV guest (xen-scsifront) served by both:")
    p("   xen-scsiback+LIO (vhost 0) and pvscsid --backend-type pvscsi (vhost 1), on the same scsi_debug")
    p("   disk (pscsi / sg passthrough) and the same image file (fileio / file: LUN); fio libaio direct")
    p("   QD 16, kernel and pvscsid alternating per workload; CPU = dom0 busy time (/proc/stat) per I/O")
    specs = [str(d["spec"]) for k, d in recs if k == "xenfile"]
    if specs:
        p("   pvscsid's file LUN: %s" % specs[-1])
        res["sections"]["xen_file_spec"] = specs[-1]
    runs = {}
    for k, d in recs:
        if k == "xen" and "iops" in d:
            runs.setdefault((d["disk"], d["workload"]), {}).setdefault(d["backend"], {})[d["round"]] = d
    rows, sec = [], []
    nr = 0
    for disk in ("sdebug", "file"):
        for wl in XEN_WORKLOADS:
            by_b = runs.get((disk, wl))
            if not by_b:
                continue
            name = "%s %s %s" % (disk, wl, wl_size(wl))
            kr, pr = by_b.get("kernel", {}), by_b.get("pvscsid", {})
            rounds = sorted(set(kr) & set(pr))
            nr = max(nr, len(rounds))
            ri = [pr[r]["iops"] / kr[r]["iops"] for r in rounds if kr[r]["iops"]]
            rc = [pr[r]["cpu_us_per_io"] / kr[r]["cpu_us_per_io"] for r in rounds
                  if pr[r].get("cpu_us_per_io") and kr[r].get("cpu_us_per_io")]

            def med(side, key):
                return median([x[key] for x in side.values() if x.get(key) is not None])

            row = {"name": name, "rounds": len(rounds),
                   "iops_ratio": median(ri), "iops_ratio_min": min(ri) if ri else None,
                   "iops_ratio_max": max(ri) if ri else None,
                   "cpu_per_io_ratio": median(rc), "cpu_ratio_min": min(rc) if rc else None,
                   "cpu_ratio_max": max(rc) if rc else None,
                   "pvscsid": {k: med(pr, k) for k in XEN_KEYS}, "kernel": {k: med(kr, k) for k in XEN_KEYS}}
            sec.append(row)
            rows.append([name, si(row["pvscsid"]["iops"]), si(row["kernel"]["iops"]),
                         spread(row["iops_ratio"], row["iops_ratio_min"], row["iops_ratio_max"]),
                         num(row["pvscsid"]["cpu_us_per_io"], "%.0f"), num(row["kernel"]["cpu_us_per_io"], "%.0f"),
                         spread(row["cpu_per_io_ratio"], row["cpu_ratio_min"], row["cpu_ratio_max"]),
                         "%s/%s" % (num(row["pvscsid"]["p50_us"], "%.0f"), num(row["pvscsid"]["p99_us"], "%.0f")),
                         "%s/%s" % (num(row["kernel"]["p50_us"], "%.0f"), num(row["kernel"]["p99_us"], "%.0f")),
                         num(row["pvscsid"]["fio_cpu_us_per_io"], "%.0f") + "/" +
                         num(row["kernel"]["fio_cpu_us_per_io"], "%.0f")])
    if rows:
        p("   medians over %d rounds; ratio = median of the per-round ratios pvscsid/kernel [min..max]" % nr)
        lines.extend(table(rows, ["disk workload", "IOPS pvscsid", "kernel", "ratio [spread]",
                                  "dom0 us/IO pvscsid", "kernel", "ratio [spread]",
                                  "p50/p99 us pvscsid", "kernel", "guest fio us/IO p/k"]))
        miss = missing_note(recs, "xen", "backend")
        if miss:
            p("   no fio result (guest failed or timed out; see build/bench/xen.log, build/bench/xen/): "
              + ", ".join(miss))
        p("   Per-I/O costs (medians; exact counts: pcount's perf counters, /proc/interrupts, pvscsid's")
        p("   ring counters; per fio I/O, a 1 MiB read or write is 32 SCSI commands of 32 KiB on both backends):")
        crow = []
        for row in sec:
            o, r = row["pvscsid"], row["kernel"]
            crow.append([row["name"], num(o["syscalls_per_io"], "%.2f"), num(o["cs_per_io"], "%.2f"),
                         num(r["cs_per_io"], "%.2f"), num(o["copy_calls_per_io"], "%.2f"),
                         num(o["copied_per_byte"], "%.2f"), num(o["dom0_irqs_per_io"], "%.2f"),
                         num(r["dom0_irqs_per_io"], "%.2f"), num(o["notifies_per_io"], "%.2f"),
                         num(o["guest_irqs_per_io"], "%.2f"), num(r["guest_irqs_per_io"], "%.2f"),
                         num(o["requests_per_io"], "%.1f")])
        lines.extend(table(crow, ["disk workload", "syscalls p", "ctx sw p", "k", "gnt copy calls p",
                                  "copied B/B p", "evtchn in p", "k", "notify out p", "guest irqs p",
                                  "k", "cmds p"]))
        p("   p = pvscsid (all its threads), k = xen-scsiback (its interrupt threads; the kernel has no")
        p("   system calls, and it maps grants instead of copying them); evtchn in = dom0 interrupts from")
        p("   the frontend, notify out = pvscsid's notifications, guest irqs = the guest's interrupts.")
        prow, psec = [], []
        for disk in ("sdebug", "file"):
            for wl in XEN_WORKLOADS:
                by_b = runs.get((disk, wl)) or {}
                kr, pr, qr = by_b.get("kernel", {}), by_b.get("pvscsid", {}), by_b.get("pvsalt", {})
                rounds = sorted(set(kr) & set(qr))
                if not rounds:
                    continue
                name = "%s %s %s" % (disk, wl, wl_size(wl))

                def ratios(a, b, key, rs):
                    return [a[r][key] / b[r][key] for r in rs
                            if r in a and r in b and a[r].get(key) and b[r].get(key)]

                def medq(key):
                    return median([x[key] for x in qr.values() if x.get(key) is not None])

                both = sorted(set(rounds) & set(pr))
                ri, rc = ratios(qr, kr, "iops", rounds), ratios(qr, kr, "cpu_us_per_io", rounds)
                rp = ratios(qr, pr, "iops", both)
                row = {"name": name, "rounds": len(rounds),
                       "iops_ratio": median(ri), "cpu_per_io_ratio": median(rc),
                       "iops_vs_nopoll": median(rp),
                       "pvsalt": {k: medq(k) for k in XEN_KEYS}}
                psec.append(row)
                prow.append([name, si(row["pvsalt"]["iops"]),
                             spread(median(ri), min(ri) if ri else None, max(ri) if ri else None),
                             spread(median(rp), min(rp) if rp else None, max(rp) if rp else None),
                             num(row["pvsalt"]["cpu_us_per_io"], "%.0f"),
                             spread(median(rc), min(rc) if rc else None, max(rc) if rc else None),
                             num(row["pvsalt"]["syscalls_per_io"], "%.2f"),
                             num(row["pvsalt"]["dom0_irqs_per_io"], "%.2f"),
                             num(row["pvsalt"]["copy_calls_per_io"], "%.2f"),
                             num(row["pvsalt"]["polled_per_io"], "%.2f")])
        alts = [" ".join(str(d["cmd"]).split("_")) for k, d in recs if k == "xenalt"]
        alt = alts[-1] if alts else "?"
        if prow:
            p("   pvscsid after pvscsictl %s (the third run of every round; ratios per round, median" % alt)
            p("   [min..max]) against the kernel and against pvscsid as it runs by default:")
            lines.extend(table(prow, ["disk workload", "IOPS alt", "/kernel", "/default",
                                      "dom0 us/IO", "/kernel", "syscalls/IO", "evtchn in/IO",
                                      "gnt copy calls/IO", "polled passes/IO"]))
        res["sections"]["xen_alt"] = {"setting": alt, "rows": psec}
        for k, d in recs:
            if k == "xenstrace":
                p("   pvscsid system calls per I/O during %s (strace -c, slowed): %.2f; %s" % (
                    d["job"], d["syscalls_per_io"], ", ".join(
                        "%s %s" % tuple(x.split(":")) for x in str(d["top"]).split(",") if x.count(":") == 1)))
        for k, d in recs:
            if k == "xenidle":
                p("   guest idle %.0f s, both vhosts connected: dom0 busy %.1f%% of a vCPU; pvscsid: %s system"
                  " calls, %s context switches, %.2f s CPU; xen-scsiback's threads: %s context switches" % (
                      d["window_s"], 100 * d["dom0_busy_frac"], d.get("pvscsid_syscalls", "?"),
                      d.get("pvscsid_cs", "?"), d.get("pvscsid_cpu_s", 0), d.get("kernel_cs", "?")))
                sec_idle = d
                res.setdefault("xen_idle", sec_idle)
    else:
        missing("xen")
    res["sections"]["xen"] = sec
    p("")

    # 4. vhost-user: one guest, both back-ends, alternating rounds
    p("4. virtio-scsi, one QEMU TCG guest (1 vCPU, fio libaio direct QD 16) with both controllers on")
    p("   the same image: pvscsi-vhost-user (file: LUN, vhost-user-scsi-pci) vs QEMU's virtio-scsi-pci")
    p("   + scsi-hd, fio alternating vhost-user, qemu, vhost-user, qemu... per workload; ratios are")
    p("   vhost-user/qemu of each round, median [min..max] over the rounds.  Back-end CPU = CPU time")
    p("   outside the guest's vCPU thread: qemu = QEMU minus its vCPU thread; vhost-user = the daemon")
    p("   + QEMU minus its vCPU thread (printed daemon+qemu).  ctx sw = context switches of the")
    p("   back-end's threads (the daemon's; QEMU's non-vCPU threads), exact, from /proc")
    vspecs = [str(d["spec"]) for k, d in recs if k == "vhostfile"]
    if vspecs:
        p("   pvscsi-vhost-user's LUN: %s" % vspecs[-1])
        res["sections"]["vhost_file_spec"] = vspecs[-1]
    runs = {}
    for k, d in recs:
        if k == "vhost" and "round" in d:
            runs.setdefault(d["workload"], {}).setdefault(d["round"], {})[d["mode"]] = d
    rows, sec, goals = [], [], []
    for wl in VHOST_WORKLOADS:
        rounds = runs.get(wl, {})
        if not rounds:
            continue
        name = "%s %s" % (wl, wl_size(wl))
        per, ir, cr = [], [], []
        for rn in sorted(rounds):
            o, r = rounds[rn].get("vhost", {}), rounds[rn].get("ref", {})
            one = {"round": rn, "vhost-user": o, "qemu": r,
                   "iops_ratio": ratio(o.get("iops"), r.get("iops")),
                   "cpu_per_io_ratio": ratio(o.get("outside_us_per_io"), r.get("outside_us_per_io"))}
            per.append(one)
            if one["iops_ratio"] is not None:
                ir.append(one["iops_ratio"])
            if one["cpu_per_io_ratio"] is not None:
                cr.append(one["cpu_per_io_ratio"])

        def med(mode, key):
            return median([x[mode][key] for x in per if x[mode].get(key) is not None])

        rec = {"name": name, "rounds": per, "iops_ratio": median(ir), "iops_ratio_min": min(ir or [None]),
               "iops_ratio_max": max(ir or [None]), "cpu_per_io_ratio": median(cr),
               "cpu_ratio_min": min(cr or [None]), "cpu_ratio_max": max(cr or [None])}
        for mode in ("vhost-user", "qemu"):
            rec[mode] = {k: med(mode, k) for k in (
                "iops", "mbps", "p50_us", "p99_us", "outside_us_per_io", "backend_us_per_io",
                "qemu_outside_us_per_io", "csw_per_io", "qemu_outside_csw_per_io", "vcpu_us_per_io",
                "host_us_per_io", "fio_cpu_us_per_io", "syscalls_per_io")}
        o, r = rec["vhost-user"], rec["qemu"]
        rows.append([name, "%d" % len(per), si(o["iops"]), si(r["iops"]),
                     spread(rec["iops_ratio"], rec["iops_ratio_min"], rec["iops_ratio_max"]),
                     "%s+%s" % (num(o["backend_us_per_io"]), num(o["qemu_outside_us_per_io"])),
                     num(r["outside_us_per_io"]),
                     spread(rec["cpu_per_io_ratio"], rec["cpu_ratio_min"], rec["cpu_ratio_max"]),
                     num(o["csw_per_io"], "%.2f"), num(r["csw_per_io"], "%.2f"), num(o["syscalls_per_io"], "%.2f"),
                     "%s/%s" % (num(o["p50_us"], "%.0f"), num(o["p99_us"], "%.0f")),
                     "%s/%s" % (num(r["p50_us"], "%.0f"), num(r["p99_us"], "%.0f"))])
        sec.append(rec)
        if wl.startswith("rand"):
            goals.append("%s IOPS %s (>= 1.2: %s), CPU %s (<= 0.7: %s)" % (
                name, num(rec["iops_ratio"], "%.2f"),
                "-" if rec["iops_ratio"] is None else "met" if rec["iops_ratio"] >= 1.2 else "missed",
                num(rec["cpu_per_io_ratio"], "%.2f"),
                "-" if rec["cpu_per_io_ratio"] is None else "met" if rec["cpu_per_io_ratio"] <= 0.7 else "missed"))
    if rows:
        lines.extend(table(rows, ["workload", "rounds", "IOPS vhost-user", "qemu", "ratio [spread]",
                                  "back-end CPU us/IO vhost-user", "qemu", "ratio [spread]",
                                  "ctx sw/IO vhost-user", "qemu", "syscalls/IO vhost-user",
                                  "p50/p99 us vhost-user", "qemu"]))
        miss = missing_note(recs, "vhost", "mode")
        if miss:
            p("   no fio result (guest failed or timed out; see build/bench/vhost.log, build/bench/vhost/): " +
              ", ".join(miss).replace("ref ", "qemu ").replace("vhost ", "vhost-user "))
        p("   targets (median ratios, 4 KiB random): " + "; ".join(goals))
        note(["   host CPU us/IO, all of QEMU (vCPU included) + daemon, vhost-user/qemu: "],
             [(x["name"], x["vhost-user"]["host_us_per_io"], x["qemu"]["host_us_per_io"]) for x in sec
              if x["vhost-user"]["host_us_per_io"] is not None and x["qemu"]["host_us_per_io"] is not None],
             "%s %.1f/%.1f")
        note(["   the guest's own fio CPU us/IO vhost-user/qemu (the same guest work): "],
             [(x["name"], x["vhost-user"]["fio_cpu_us_per_io"], x["qemu"]["fio_cpu_us_per_io"]) for x in sec
              if x["vhost-user"]["fio_cpu_us_per_io"] is not None and x["qemu"]["fio_cpu_us_per_io"] is not None],
             "%s %.0f/%.0f")
        note(["   QEMU's non-vCPU threads' ctx sw/IO in the vhost-user runs: "],
             [(x["name"], x["vhost-user"]["qemu_outside_csw_per_io"]) for x in sec
              if x["vhost-user"]["qemu_outside_csw_per_io"] is not None], "%s %.2f")
        gone = ["%s %s-%s %s" % ("vhost-user" if d["mode"] == "vhost" else "qemu", d["workload"], d["round"],
                                 "+".join("%s %d" % (w, d[w + "_threads_gone"]) for w in ("qemu", "backend")
                                          if d.get(w + "_threads_gone")))
                for k, d in recs if k == "vhost" and (d.get("qemu_threads_gone") or d.get("backend_threads_gone"))]
        if gone:
            p("   threads that exited within a run (their context switches in it are not counted): " +
              ", ".join(gone))
        for k, d in recs:
            if k == "vhostidle":
                p("   guest idle %.0f s: daemon %.1f%% of a CPU, %.0f ctx sw/s; QEMU outside its vCPU %.1f%%, %.0f ctx sw/s"
                  % (d["window_s"], 100 * d["backend_cpu_frac"], d["backend_csw_per_s"],
                     100 * d["qemu_outside_cpu_frac"], d["qemu_outside_csw_per_s"]))
        vr = [d for k, d in recs if k == "vhost" and d.get("mode") == "vhost" and "iops" in d]
        if any("syscalls_per_io" in d for d in vr):
            p("   syscalls = pvscsi-vhost-user's system calls (tests/bench/pcount: perf_event counters on")
            p("   raw_syscalls:sys_enter, every thread), exact")
        elif any(d.get("syscalls_not_counted") for d in vr):
            p("   system calls per I/O: not counted: tests/bench/pcount's perf_event counters on the running")
            p("   daemon saw under half the context switches /proc counted (this host's perf counts an")
            p("   attached process only part of the time); raw.txt keeps pcount_syscalls_per_io")
        else:
            p("   system calls per I/O: not measured (tests/bench/pcount not built or not running)")
    else:
        missing("vhost")
    res["sections"]["vhost"] = sec
    p("")
    p("Ratios are ours/reference within this run: IOPS and MB/s higher is better, CPU/IO lower is")
    p("better.  Absolute figures are for context only (shared, noisy machine; Xen and the guests run")
    p("under TCG).")

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    chart(res, out)


def chart(res, out):
    """ratios.png: IOPS and CPU/IO ratios (ours/reference) of sections 2-4 (section 4: CPU =
    the back-end's outside the guest's vCPU thread)."""
    dat = os.path.join(out, "ratios.dat")
    n = 0
    with open(dat, "w") as f:
        f.write("# label iops_ratio cpu_ratio\n")
        for sec, tag in (("file", "file"), ("xen", "xen"), ("vhost", "virtio")):
            for r in res["sections"].get(sec) or []:
                f.write('"%s %s" %s %s\n' % (tag, r["name"],
                                            "NaN" if r["iops_ratio"] is None else "%.3f" % r["iops_ratio"],
                                            "NaN" if r["cpu_per_io_ratio"] is None else "%.3f" % r["cpu_per_io_ratio"]))
                n += 1
    if not n or not shutil.which("gnuplot"):
        print("report.py: no chart (%s)" % ("no side-by-side rows" if not n else "gnuplot missing"),
              file=sys.stderr)
        return
    png = os.path.join(out, "ratios.png")
    script = """
set terminal pngcairo size 1200,600 noenhanced
set output '%s'
set title 'ours / reference, same run (IOPS: higher is better; CPU per I/O: lower is better; virtio: back-end CPU outside the vCPU)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40 scale 0
set ylabel 'ratio'
set yrange [0:*]
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2
plot '%s' using 2:xtic(1) title 'IOPS ratio', '' using 3 title 'CPU/IO ratio'
""" % (png, dat)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as e:
        # Some gnuplot builds lack cairo: fall back to the gd png terminal.
        script = script.replace("pngcairo size 1200,600 noenhanced", "png size 1200,600")
        try:
            subprocess.run(["gnuplot"], input=script, text=True, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except subprocess.CalledProcessError as e2:
            print("report.py: gnuplot failed: %s" % (e2.stderr or e.stderr), file=sys.stderr)
            return
    print("chart: %s" % png)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"fio2kv": cmd_fio2kv, "xen": cmd_xen, "vhost": cmd_vhost, "report": cmd_report}[cmd](args)


if __name__ == "__main__":
    main()
