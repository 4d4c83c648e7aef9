#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of tests/bench/run.sh (standard library only).

  report.py fio2kv FIO.json [KEY=VALUE...]
      One line "fio KEY=VALUE..." from fio's JSON output: iops, mbps, p50_us,
      p99_us (total latency, submission to completion), ios, runtime_s and
      cpu_us_per_io (fio's own user+system time per I/O).
  report.py xen OUTDIR
      One "xen ..." line per backend, disk and workload of a Xen run
      (OUTDIR/<backend>/fio-<disk>-<workload>.json and cpu.txt, written by
      tests/bench/xen-case.sh in dom0).
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
    """Join the guest's fio results with dom0's CPU snapshots."""
    out = args[0]
    for backend in ("kernel", "pvscsid"):
        rounds = sorted(d for d in os.listdir(out) if d.startswith(backend + "-"))
        lines = {}
        for rd in rounds:
            for line in xen_round(os.path.join(out, rd), backend):
                kind, d = parse_kv(line)
                key = (kind, d.get("disk"), d.get("workload"))
                d["round"] = rd.rsplit("-", 1)[1]
                d["rounds"] = len(rounds)
                # The best round (by IOPS) of each figure.
                if key not in lines or d.get("iops", -1) > lines[key].get("iops", -1):
                    lines[key] = d
        for (kind, _, _), d in lines.items():
            print(kv_line(kind, d))
        for rd in rounds:
            st = os.path.join(out, rd, "")
            for fn in sorted(os.listdir(st)):
                if fn.startswith("strace-") and fn.endswith(".txt"):
                    job = fn[7:-4]
                    calls, top = strace_summary(st + fn)
                    try:
                        ios = fio_figures(load_fio(st + "fio-%s.json" % job))["ios"]
                    except (OSError, ValueError, KeyError):
                        ios = 0
                    if calls and ios:
                        print(kv_line("xenstrace", {"backend": backend, "round": rd, "job": job,
                                                    "syscalls_per_io": round(calls / ios, 2),
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


def xen_round(bdir, backend):
    """KEY=VALUE lines of one backend's guest boot."""
    if True:
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
            if win > 0:
                yield (kv_line("xenidle", {"backend": backend, "window_s": round(win, 2),
                                          "dom0_busy_frac": round((e["busy"] - s["busy"]) / s.get("hz", 100) / win, 4)}))
        for disk in ("sdebug", "file"):
            for wl in ("randread", "randwrite", "read"):
                job = "%s-%s" % (disk, wl)
                path = os.path.join(bdir, "fio-%s.json" % job)
                d = {"backend": backend, "disk": disk, "workload": wl}
                try:
                    d.update(fio_figures(load_fio(path)))
                except (OSError, ValueError, KeyError) as e:
                    yield kv_line("xen", dict(d, error="no_fio_result"))
                    print("report.py: %s: %s" % (path, e), file=sys.stderr)
                    continue
                try:
                    with open(os.path.join(bdir, "irq-%s.txt" % job)) as f:
                        n = int(f.read().split()[0])
                    if d["ios"]:
                        d["guest_irqs_per_io"] = round(n / d["ios"], 3)
                except (OSError, ValueError, IndexError):
                    pass
                c = cpu.get(job, {})
                # The guest's fio CPU is the guest's: dom0's is what is compared.
                d["fio_cpu_us_per_io"] = d.pop("cpu_us_per_io")
                if "start" in c and "end" in c and d["ios"] and \
                        c["end"]["t"] - c["start"]["t"] < 0.9 * d["runtime_s"]:
                    # dom0 saw the marks late: its window missed part of the run.
                    d["cpu_window_short"] = round(c["end"]["t"] - c["start"]["t"], 2)
                    d["cpu_missing"] = 1
                elif "start" in c and "end" in c and d["ios"]:
                    s, e = c["start"], c["end"]
                    hz = s.get("hz", 100)
                    win = e["t"] - s["t"]
                    busy = (e["busy"] - s["busy"]) / hz
                    d["window_s"] = round(win, 2)
                    d["dom0_cpu_s"] = round(busy, 3)
                    d["cpu_us_per_io"] = round(busy * 1e6 / d["ios"], 2)
                    if "steal" in s and "steal" in e and win > 0:
                        d["dom0_steal_frac"] = round((e["steal"] - s["steal"]) / hz / win / 2, 4)
                    if backend == "pvscsid" and "proc" in s and "proc" in e:
                        # The process's utime+stime include the time its vCPU
                        # was stolen: not comparable with /proc/stat's busy time.
                        d["pvscsid_us_per_io_with_steal"] = round((e["proc"] - s["proc"]) / hz * 1e6 / d["ios"], 2)
                else:
                    d["cpu_missing"] = 1
                yield kv_line("xen", d)


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
        rows.append(["%s x%d" % (d["op"], d["rings"]), num(d["ns_per_req"], "%.0f"),
                     si(d["req_s_core"]), num(ratio(d["ns_per_req"], floor), "%.1f"),
                     num(ins, "%.0f") if d["rings"] == 1 else "", num(d["cpu_ns_per_req"], "%.0f"),
                     si(d["req_s_total"])])
        sec["rows"].append(dict(d, x_floor=ratio(d["ns_per_req"], floor),
                                instr_per_req=ins if d["rings"] == 1 else None))
    for op, d in cg.items():
        byfile, byfn = callgrind_profile(d.get("profile", ""), 6)
        sec["profile"][op] = {"by_file": byfile, "by_function": byfn}
    if rows:
        p("   floor: plain 4 KiB memcpy loop = %s ns" % num(floor, "%.1f"))
        lines.extend(table(rows, ["workload x rings", "ns/req", "req/s/core", "x floor",
                                  "instr/req", "loop ns/req", "req/s all (wall)"]))
        for op in sorted(sec["profile"]):
            pr = sec["profile"][op]
            if pr["by_file"]:
                p("   callgrind %s, instructions by file: %s" % (
                    op, ", ".join("%s %.0f%%" % x for x in pr["by_file"])))
                p("     by function: %s" % ", ".join("%s %.0f%%" % x for x in pr["by_function"]))
    else:
        p("   not measured: %s" % why("ring"))
        res["missing"].append("ring")
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
            p("   not measured: %s" % why(section))
            res["missing"].append(section)
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
    p("3. Real Xen (Xen 4.17 under QEMU TCG): fio (libaio, direct, QD 16) in a PV guest, xen-scsifront;")
    p("   pvscsid vs xen-scsiback+LIO on the same scsi_debug disk (sg passthrough / pscsi) and the")
    p("   same image file (file: LUN / fileio); CPU = dom0 busy time (/proc/stat) per I/O")
    xen = by("xen", "backend", "disk", "workload")
    pairs = []
    for disk in ("sdebug", "file"):
        for wl in ("randread", "randwrite", "read"):
            o, r = xen.get(("pvscsid", disk, wl)), xen.get(("kernel", disk, wl))
            if measured(o, r):
                pairs.append(("%s %s %s" % (disk, wl, "1m" if wl == "read" else "4k"), o, r))
    nr = max([d.get("rounds", 1) for k, d in recs if k == "xen"] or [1])
    if nr > 1:
        p("   best of %d guest boots per backend (XEN_ROUNDS), kernel and pvscsid alternating" % nr)

    def xen_notes(pairs):
        note(["   the guest's own fio CPU us/IO pvscsid/kernel (the same guest work: a gap shows the",
              "   machine's speed changed between the two boots): "],
             both(pairs, "fio_cpu_us_per_io", bool), "%s %.0f/%.0f")
        note(["   dom0 vCPU time stolen (runnable, not run) pvscsid/kernel: "],
             [(n, 100 * a, 100 * b) for n, a, b in both(pairs, "dom0_steal_frac")], "%s %.0f%%/%.0f%%")
        note(["   guest interrupts from the vscsiif event channel per I/O pvscsid/kernel: "],
             both(pairs, "guest_irqs_per_io"), "%s %.2f/%.2f")
        for k, d in recs:
            if k == "xenstrace":
                p("   pvscsid system calls per I/O during %s (strace -c, %s): %.2f; %s" % (
                    d["job"], d["round"], d["syscalls_per_io"], ", ".join(
                        "%s %s" % tuple(x.split(":")) for x in str(d["top"]).split(",") if x.count(":") == 1)))
        idle = {d["backend"]: d["dom0_busy_frac"] for k, d in recs if k == "xenidle"}
        note(["   dom0 busy with the guest idle (share of one vCPU, included above): "],
             [(b, 100 * v) for b, v in sorted(idle.items())], "%s %.1f%%")

    compared("xen", pairs, "pvscsid", "kernel", "disk workload", "dom0 CPU us/IO", who="backend",
             notes=xen_notes)

    # 4. vhost-user
    p("4. virtio-scsi (QEMU TCG guest, 1 vCPU, fio libaio direct QD 16): pvscsi-vhost-user (file:")
    p("   LUN) vs QEMU's virtio-scsi-pci + scsi-hd on the same image; CPU = host CPU time of QEMU")
    p("   (all threads, the TCG vCPU included) + pvscsi-vhost-user, per I/O")
    vh = by("vhost", "mode", "workload")
    pairs = []
    for wl in ("randread", "randwrite", "read"):
        o, r = vh.get(("vhost", wl)), vh.get(("ref", wl))
        if measured(o, r):
            pairs.append(("%s %s" % (wl, "1m" if wl == "read" else "4k"), o, r))

    def vhost_notes(pairs):
        ours = {n: o for n, o, r in pairs}
        note(["   outside the vCPU thread, us/IO vhost-user/qemu (vhost-user: back-end process alone): "],
             [(n, a, b, ours[n].get("backend_us_per_io")) for n, a, b in both(pairs, "outside_us_per_io")],
             "%s %.1f/%.1f (%.1f)")

    compared("vhost", pairs, "vhost-user", "qemu", "workload", "host CPU us/IO", who="mode",
             rename=lambda s: s.replace("ref ", "qemu ").replace("vhost ", "vhost-user "), notes=vhost_notes)
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
    """ratios.png: IOPS and CPU/IO ratios (ours/reference) of sections 2-4."""
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
set title 'ours / reference, same run (IOPS: higher is better; CPU per I/O: lower is better)'
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
    {"fio2kv": cmd_fio2kv, "xen": cmd_xen, "report": cmd_report}[cmd](args)


if __name__ == "__main__":
    main()
