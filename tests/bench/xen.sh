#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Section 3 of `make bench`: real Xen, both backends in one boot and one
# guest.  One boot of Xen 4.17 under QEMU (TCG) with the e2e harness's
# building blocks (tests/e2e/lib: assets, dom0 initramfs, boot_xen on
# tests/lib/qemu.sh, dom0-env, harness.sh, backend-kernel.sh); in dom0,
# tests/bench/xen-dom0.sh runs tests/bench/xen-case.sh: xen-scsiback+LIO
# serves the guest's vhost 0 and pvscsid (--backend-type pvscsi) its vhost
# 1, each with dom0's scsi_debug disk (LIO pscsi / pvscsid sg passthrough)
# and the same 64 MiB image file (LIO fileio / pvscsid file: LUN).  The PV
# guest (xen-scsifront, tests/bench/xen-guest.sh) runs every fio workload
# on kernel, pvscsid, kernel, pvscsid... XEN_ROUNDS times, while dom0 takes
# its counters around every run.
#
# usage: tests/bench/xen.sh OUTDIR
# Prints one "xen KEY=VALUE..." line per backend, disk, workload and round on
# stdout (tests/bench/report.py xen); progress on stderr.
# Environment: XEN_RUNTIME (seconds per fio run, 6), XEN_ROUNDS (3: runs of
# each backend per workload, alternating), XEN_STRACE=JOB (e.g.
# pvscsid-file-randwrite-r1: pvscsid's system calls by name during that run,
# OUTDIR/same/strace-JOB.txt; that run's figures are then not comparable),
# XEN_PVSCSID_ARGS (options added to pvscsid's, e.g. "--threads 1"),
# XEN_PVSCSID_ENV (NAME=VALUE... in pvscsid's environment, e.g.
# "PVSD_URING_SLEEP=0"), XEN_FILE_OPTS (options added to pvscsid's file LUN,
# e.g. ",writes=inline"),
# XEN_ALT (pvscsictl's arguments for a third run per round, "pvsalt": the
# same pvscsid with that setting, before each of its own runs put back as it
# was; default "defer-kicks off", the ring armed after every pass; "" for
# none; "coalesce N" for completion coalescing), XEN_POLL_US (N > 0:
# XEN_ALT="poll N", adaptive polling),
# XEN_QEMU_TIMEOUT (default from the rounds).
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
E2E_DIR=$REPO/tests/e2e
BUILD=$REPO/build/e2e
OUTDIR=${1:?usage: xen.sh OUTDIR}
RUNTIME=${XEN_RUNTIME:-6}
ROUNDS=${XEN_ROUNDS:-3}
POLL_US=${XEN_POLL_US:-0}
if [ "$POLL_US" -gt 0 ]; then
	ALT="poll $POLL_US"
else
	ALT=${XEN_ALT-defer-kicks off}
fi
# Runs per round and workload: kernel, pvscsid, and pvscsid with ALT.
NB=$([ -n "$ALT" ] && echo 3 || echo 2)

for f in assets.sh initramfs.sh boot.sh ../../lib/qemu.sh dom0-env.sh harness.sh \
	backend-kernel.sh guest-init guest-lib.sh dom0-init; do
	if [ ! -f "$E2E_DIR/lib/$f" ]; then
		echo "xen.sh: tests/e2e/lib/$f missing (the e2e harness)" >&2
		exit 1
	fi
done
# shellcheck source=../e2e/lib/assets.sh
. "$E2E_DIR/lib/assets.sh"
# shellcheck source=../e2e/lib/initramfs.sh
. "$E2E_DIR/lib/initramfs.sh"
# shellcheck source=../e2e/lib/boot.sh
. "$E2E_DIR/lib/boot.sh"
qemu_kill_on_exit

PVSCSID=$REPO/build/rel/pvscsid
[ -x "$PVSCSID" ] || die "$PVSCSID not built (make all)"
command -v fio >/dev/null || die "fio not installed (scripts/install-deps bench)"

# The guest: only what the benchmark needs (SCSI, sd, sg, xen-scsifront,
# fio), the e2e guest /init and helpers, and the bench case with its fio
# runtime.  Uncompressed, as the harness ships its own.  Rebuilt when an
# input changes.
GUEST_IMG=$REPO/build/bench/xen-guest.cpio
build_bench_guest() {
	local root=$REPO/build/bench/xen-guest-root sum fio_bin
	fio_bin=$(command -v fio)
	sum=$({
		inputs_sum "$E2E_DIR/lib/guest-init" "$E2E_DIR/lib/guest-lib.sh" "$E2E_DIR/lib/initramfs.sh" \
			"$BENCH_DIR/xen-guest.sh" "$BENCH_DIR/xen.sh" /bin/busybox /bin/dash "$fio_bin"
		# Everything the case file below is written from: a guest built for
		# another setting would run other jobs.
		echo "$KVER $RUNTIME $ROUNDS ${ALT:+alt}"
	} | sha256sum | cut -d' ' -f1)
	if [ -s "$GUEST_IMG" ] && [ "$(cat "$GUEST_IMG.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	log "building the bench guest initramfs"
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,tmp,etc,e2e/cases,lib/modules}
	install_busybox "$root"
	copy_with_libs "$root" /bin/dash "$fio_bin"
	for p in $(mod_closure scsi_mod sd_mod sg xen-scsifront); do
		cp "$MODDIR/$p" "$root/lib/modules/"
		basename "$p" >>"$root/etc/modules"
	done
	install -m 755 "$E2E_DIR/lib/guest-init" "$root/init"
	install -m 644 "$E2E_DIR/lib/guest-lib.sh" "$root/e2e/"
	{
		echo "BENCH_RUNTIME=$RUNTIME BENCH_ROUNDS=$ROUNDS BENCH_ALT_RUN=$([ -n "$ALT" ] && echo 1 || echo 0)"
		cat "$BENCH_DIR/xen-guest.sh"
	} >"$root/e2e/cases/bench.sh"
	pack "$root" "$GUEST_IMG"
	echo "$sum" >"$GUEST_IMG.stamp"
	rm -rf "$root"
}

# dom0's initramfs: the harness's own base (build_dom0_initramfs, which
# needs the harness's guest image built first) with our guest kernel and
# initramfs in /guest instead of the harness's; dom0-init binds /guest at
# /var/lib/e2e, where dom0-env.sh finds them (GUEST_KERNEL, GUEST_RAMDISK).
BOOT=$REPO/build/bench/xen-boot
build_bench_dom0() {
	local root=$BOOT/root base=$BUILD/dom0-base.cpio.gz
	build_domU_initramfs
	build_dom0_initramfs
	[ -s "$base" ] || die "no $base after build_dom0_initramfs (the harness changed?)"
	rm -rf "$root"
	mkdir -p "$root/guest"
	ln "$GUEST_KERNEL" "$root/guest/vmlinux" 2>/dev/null || cp "$GUEST_KERNEL" "$root/guest/vmlinux"
	ln "$GUEST_IMG" "$root/guest/domU-initramfs.cpio" 2>/dev/null ||
		cp "$GUEST_IMG" "$root/guest/domU-initramfs.cpio"
	{
		(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet)
		cat "$base"
	} >"$BOOT/dom0-initramfs.cpio"
	rm -rf "$root"
}

fetch_assets
build_bench_guest
mkdir -p "$BOOT"
build_bench_dom0

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
# What lib/dom0-init and tests/bench/xen-dom0.sh read.  dom0-init runs
# $REPO/tests/e2e/lib/$DOM0_MAIN, hence the relative path to ours.
cat >"$OUTDIR/config" <<EOT
REPO=$REPO
BUILD=$BUILD
KVER=$KVER
MODDIR=$MODDIR
PVSCSID=$PVSCSID
DOM0_MAIN=../../bench/xen-dom0.sh
BENCH_RUNTIME=$RUNTIME
BENCH_ROUNDS=$ROUNDS
BENCH_STRACE=${XEN_STRACE:-}
BENCH_ALT="$ALT"
BENCH_PVSCSID_ARGS="${XEN_PVSCSID_ARGS:-}"
BENCH_PVSCSID_ENV="${XEN_PVSCSID_ENV:-}"
BENCH_FILE_OPTS="${XEN_FILE_OPTS:-}"
CASE_TIMEOUT=$((6 * NB * ROUNDS * (RUNTIME + 21) + 420))
EOT
QEMU_TIMEOUT=${XEN_QEMU_TIMEOUT:-$((6 * NB * ROUNDS * (RUNTIME + 21) + 420 + 240))}
rc=0
# boot_xen takes dom0's initramfs from $BUILD.
BUILD=$BOOT boot_xen "$OUTDIR" || rc=$?
[ "$rc" = 0 ] || log "Xen boot ended with status $rc (see $OUTDIR/serial.log)"
if [ -f "$OUTDIR/same/result" ]; then
	log "$(cat "$OUTDIR/same/result")"
else
	log "no result (see $OUTDIR/serial.log, $OUTDIR/same/dom0.log)"
fi
python3 "$BENCH_DIR/report.py" xen "$OUTDIR"
