#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Section 4 of `make bench`: virtio-scsi, side by side.  A QEMU (TCG) guest
# with the Debian kernel's virtio_scsi runs fio on one disk, backed by the
# same 64 MiB image file in two boots:
#   vhost  pvscsi-vhost-user (file: LUN) behind vhost-user-scsi-pci
#   ref    QEMU's own virtio-scsi-pci + scsi-hd (raw, cache=writeback, aio=threads)
# Everything else is identical (1 vCPU, 512 MiB of memfd-backed shared RAM,
# 1 request queue).  The guest (tests/bench/vhost-guest-init) prints
# go-JOB/done-JOB marks around each fio run; here, following the serial
# log, we take the CPU time of QEMU (all threads and the vCPU threads apart)
# and of pvscsi-vhost-user at each mark.
# Built like tests/vhost/run.sh on tests/e2e/lib/{assets,initramfs}.sh and
# tests/lib/qemu.sh (the QEMU command line).
#
# usage: tests/bench/vhost.sh OUTDIR
# Prints one "vhost KEY=VALUE..." line per mode and workload on stdout;
# progress on stderr.  Environment: VHOST_RUNTIME (seconds per fio run, 8),
# VHOST_QEMU_TIMEOUT (per boot; default from the runtime).
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
E2E_DIR=$REPO/tests/e2e
BUILD=$REPO/build/e2e
OUTDIR=${1:?usage: vhost.sh OUTDIR}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
RUNTIME=${VHOST_RUNTIME:-8}
BIN=${VHOST_BIN:-$REPO/build/rel/pvscsi-vhost-user}

for f in assets.sh initramfs.sh ../../lib/qemu.sh; do
	if [ ! -f "$E2E_DIR/lib/$f" ]; then
		echo "vhost.sh: tests/e2e/lib/$f missing (the e2e harness)" >&2
		exit 1
	fi
done
# shellcheck source=../e2e/lib/assets.sh
. "$E2E_DIR/lib/assets.sh"
# shellcheck source=../e2e/lib/initramfs.sh
. "$E2E_DIR/lib/initramfs.sh"
# shellcheck source=../lib/qemu.sh
. "$REPO/tests/lib/qemu.sh"
[ -x "$BIN" ] || die "$BIN not built (make all)"
command -v fio >/dev/null || die "fio not installed (scripts/install-deps bench)"

GUEST_IMG=$REPO/build/bench/vhost-guest.cpio
build_bench_guest() {
	local root=$REPO/build/bench/vhost-guest-root sum fio_bin
	fio_bin=$(command -v fio)
	sum=$({
		inputs_sum "$BENCH_DIR/vhost-guest-init" "$E2E_DIR/lib/initramfs.sh" "$BENCH_DIR/vhost.sh" \
			/bin/busybox "$fio_bin"
		echo "$KVER"
	} | sha256sum | cut -d' ' -f1)
	if [ -s "$GUEST_IMG" ] && [ "$(cat "$GUEST_IMG.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	log "building the vhost bench guest initramfs"
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,tmp,etc,lib/modules}
	install_busybox "$root"
	copy_with_libs "$root" "$fio_bin"
	for p in $(mod_closure virtio_pci virtio_scsi sd_mod); do
		cp "$MODDIR/$p" "$root/lib/modules/"
		basename "$p" >>"$root/etc/modules"
	done
	install -m 755 "$BENCH_DIR/vhost-guest-init" "$root/init"
	pack "$root" "$GUEST_IMG"
	echo "$sum" >"$GUEST_IMG.stamp"
	rm -rf "$root"
}

# ticks PID: utime+stime of the whole process (all threads).
ticks() {
	local s f
	s=$(cat "/proc/${1:-none}/stat" 2>/dev/null) || {
		echo 0
		return
	}
	read -r -a f <<<"${s##*) }"
	echo $((f[11] + f[12]))
}

# vcpu_ticks PID: utime+stime of QEMU's vCPU threads ("CPU N/TCG").
vcpu_ticks() {
	local t s f sum=0
	for t in /proc/"$1"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		case $s in *"(CPU "*"/TCG)"*) ;; *) continue ;; esac
		read -r -a f <<<"${s##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# snap start|end JOB BACKEND-PID: one line of RUN/cpu.txt (QEMU's pid from its -pidfile).
snap() {
	local q
	q=$(cat "$RUN/qemu.pid" 2>/dev/null || true)
	echo "$1 job=$2 t=$EPOCHREALTIME qemu=$(ticks "$q") vcpu=$(vcpu_ticks "$q")" \
		"backend=$([ -n "$3" ] && ticks "$3" || echo 0)" >>"$RUN/cpu.txt"
}

boot() {
	local mode=$1 qpid rc=0 bpid="" line dev=()
	RUN=$OUTDIR/$mode
	mkdir -p "$RUN"
	: >"$RUN/cpu.txt"
	if [ "$mode" = vhost ]; then
		rm -f "$RUN/vhost.sock"
		"$BIN" --socket-path="$RUN/vhost.sock" --lun "0:0=file:$IMG" \
			</dev/null >>"$RUN/backend.log" 2>&1 &
		bpid=$!
		BACKEND_PID=$bpid
		for _ in $(seq 50); do
			[ -S "$RUN/vhost.sock" ] && break
			sleep 0.1
		done
		[ -S "$RUN/vhost.sock" ] || die "pvscsi-vhost-user did not create its socket (see $RUN/backend.log)"
		dev=(-chardev "socket,id=vus,path=$RUN/vhost.sock"
			-device vhost-user-scsi-pci,chardev=vus,num_queues=1)
	else
		dev=(-device virtio-scsi-pci,id=scsi0,num_queues=1
			-drive "if=none,id=d0,file=$IMG,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=d0)
	fi
	log "$mode: booting the guest under QEMU (TCG)"
	# --name: QEMU's vCPU threads are named "CPU N/TCG".
	# A boot takes 1-2 minutes here; a stuck guest must not eat make bench's budget.
	qemu_start --serial "$RUN/serial.log" --log "$RUN/qemu.log" \
		--timeout "${VHOST_QEMU_TIMEOUT:-$((3 * (RUNTIME + 20) + 150))}" \
		--name "bench-$mode" --pidfile "$RUN/qemu.pid" --mem 512 --smp 1 --nodefaults --shared-mem \
		--kernel "$KERNEL" --initrd "$GUEST_IMG" --append "console=ttyS0 loglevel=4 bench.runtime=$RUNTIME" \
		-- "${dev[@]}"
	qpid=$QEMU_PID
	qemu_console "$qpid" "$RUN/serial.log" |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			"@@E2E MARK go-"*) snap start "${line#@@E2E MARK go-}" "$bpid" ;;
			"@@E2E MARK done-"*) snap end "${line#@@E2E MARK done-}" "$bpid" ;;
			esac
		done
	qemu_wait "$qpid" || rc=$?
	[ -z "$bpid" ] || kill -TERM "$bpid" 2>/dev/null || true
	[ -z "$bpid" ] || wait "$bpid" 2>/dev/null || true
	if qemu_timed_out "$rc"; then
		log "$mode: QEMU timed out (guest's last line: $(tr -d '\r' <"$RUN/serial.log" | tail -n1))"
	elif [ "$rc" != 0 ]; then
		log "$mode: QEMU exited with status $rc (see $RUN/qemu.log)"
	fi
	# The guest's fio JSON: "@@R fio-JOB.json line" on the serial console.
	tr -d '\r' <"$RUN/serial.log" | awk -v dir="$RUN" '
		/^@@R [A-Za-z0-9._-]+ / { f = $2; l = $0; sub(/^@@R [^ ]+ /, "", l); print l > (dir "/" f) }'
}

# report MODE: one line per workload.
report() {
	local mode=$1 wl s e q v b
	for wl in randread randwrite read; do
		RUN=$OUTDIR/$mode
		if [ ! -s "$RUN/fio-$wl.json" ]; then
			echo "vhost mode=$mode workload=$wl error=no_fio_result"
			continue
		fi
		s=$(grep "^start job=$wl " "$RUN/cpu.txt" | tail -n1 || true)
		e=$(grep "^end job=$wl " "$RUN/cpu.txt" | tail -n1 || true)
		set --
		if [ -n "$s" ] && [ -n "$e" ]; then
			q=$(($(kv qemu "$e") - $(kv qemu "$s")))
			v=$(($(kv vcpu "$e") - $(kv vcpu "$s")))
			b=$(($(kv backend "$e") - $(kv backend "$s")))
			set -- ext_cpu_s="$(awk -v t=$((q + b)) -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')" \
				outside_cpu_s="$(awk -v t=$((q - v + b)) -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')" \
				backend_cpu_s="$(awk -v t="$b" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')"
		fi
		python3 "$BENCH_DIR/report.py" fio2kv "$RUN/fio-$wl.json" kind=vhost mode="$mode" \
			workload="$wl" "$@"
	done
}
kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

HZ=$(getconf CLK_TCK)
# An interrupted run leaves neither QEMU nor pvscsi-vhost-user behind.
BACKEND_PID=""
qemu_kill_on_exit
trap 'qemu_kill_all; [ -z "$BACKEND_PID" ] || kill -TERM "$BACKEND_PID" 2>/dev/null || true' EXIT
fetch_assets
build_bench_guest
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
# The same image for both: 64 MiB of written data, in the page cache.
IMG=$OUTDIR/disk.img
dd if=/dev/zero of="$IMG" bs=1M count=64 status=none
for m in vhost ref; do
	boot "$m"
	report "$m"
done
