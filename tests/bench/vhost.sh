#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Section 4 of `make bench`: virtio-scsi, side by side in ONE guest boot.
# The machine is shared and noisy, so the two back-ends serve the same
# guest at the same time and take turns: one QEMU (TCG) guest with the
# Debian kernel's virtio_scsi and two controllers,
#   vhost  vhost-user-scsi-pci (PCI 00:04.0) -> pvscsi-vhost-user, file: LUN
#   ref    QEMU's own virtio-scsi-pci (PCI 00:05.0) + scsi-hd (raw,
#          cache=writeback, aio=threads)
# both on the SAME 64 MiB image file.  One file rather than two copies: the
# guest never runs I/O on both disks at once, so there is no writer
# conflict, and both read the same page-cache pages of the same file (two
# copies could differ in their extent layout and cache state).  Both back-
# ends use buffered I/O; pvscsi-vhost-user takes no lock on the file and
# QEMU's own OFD locks only conflict with another QEMU.
# The guest (tests/bench/vhost-guest-init) runs each workload VHOST_ROUNDS
# times on each disk, alternating vhost, ref, vhost, ref..., and prints
# go-JOB/done-JOB marks around each fio run (JOB = WORKLOAD-ROUND-MODE).
# Here, following the serial log, we snapshot at each mark: QEMU's and
# pvscsi-vhost-user's CPU time, per thread their CPU time and context
# switches (so the vCPU thread can be told from the rest), and
# pvscsi-vhost-user's exact system call count (tests/bench/pcount).  report.py vhost
# turns the snapshots and the guest's fio JSON into one line per run.
# Built like tests/vhost/run.sh on tests/e2e/lib/{assets,initramfs}.sh and
# tests/lib/qemu.sh (the QEMU command line).
#
# usage: tests/bench/vhost.sh OUTDIR
# Prints one "vhost KEY=VALUE..." line per mode, workload and round on
# stdout; progress on stderr.  Environment: VHOST_RUNTIME (seconds per fio
# run, 8), VHOST_ROUNDS (3), VHOST_QEMU_TIMEOUT (default from both),
# VHOST_FILE_OPTS (added to pvscsi-vhost-user's file LUN, e.g.
# ",writes=inline").
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
E2E_DIR=$REPO/tests/e2e
BUILD=$REPO/build/e2e
OUTDIR=${1:?usage: vhost.sh OUTDIR}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
RUNTIME=${VHOST_RUNTIME:-8}
ROUNDS=${VHOST_ROUNDS:-3}
BIN=${VHOST_BIN:-$REPO/build/rel/pvscsi-vhost-user}
# Where the guest finds each disk (its /sys/block path).
VHOST_PCI=0000:00:04.0
REF_PCI=0000:00:05.0

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
case $ROUNDS in '' | *[!0-9]* | 0) die "VHOST_ROUNDS must be a positive number" ;; esac

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

# threads WHO PID: per thread of PID, "thread who=WHO tid= name= vcpu=0|1
# ticks= vcs= nvcs=" (its name with spaces as _, utime+stime in clock
# ticks, voluntary and nonvoluntary context switches).  QEMU's vCPU threads are named "CPU N/TCG" (--name).
# Shell builtins only: no fork between the guest's mark and the figures.
threads() {
	local t s f k v vcs nvcs vcpu n
	for t in /proc/"$2"/task/*; do
		read -r s <"$t/stat" 2>/dev/null || continue
		n=${s#*(}
		n=${n%)*}
		vcpu=0
		case $s in *"(CPU "*"/TCG)"*) vcpu=1 ;; esac
		read -r -a f <<<"${s##*) }"
		vcs=0 nvcs=0
		while read -r k v; do
			case $k in
			voluntary_ctxt_switches:) vcs=$v ;;
			nonvoluntary_ctxt_switches:) nvcs=$v ;;
			esac
		done <"$t/status" 2>/dev/null || true
		echo "thread who=$1 tid=${t##*/} name=${n//[ =]/_} vcpu=$vcpu ticks=$((f[11] + f[12])) vcs=$vcs nvcs=$nvcs"
	done
}

# proc WHO PID: "proc who=WHO ticks=" of the whole process (the threads
# that have exited included, which the per-thread lines miss).
proc() {
	local s f
	read -r s <"/proc/$2/stat" 2>/dev/null || return 0
	read -r -a f <<<"${s##*) }"
	echo "proc who=$1 ticks=$((f[11] + f[12]))"
}

# pcount_start: tests/bench/pcount on pvscsi-vhost-user (its exact system
# call and context switch counts, perf_event counters per thread), fed and
# read through two FIFOs on fds 7 and 8, which the console reader inherits.
PCOUNT_PID=""
pcount_start() {
	local pc=${PCOUNT:-$REPO/build/rel/bench/pcount}
	if [ ! -x "$pc" ]; then
		log "$pc not built (make $pc): no system call counts"
		return 0
	fi
	rm -f "$RUN/pcount.in" "$RUN/pcount.out"
	mkfifo "$RUN/pcount.in" "$RUN/pcount.out"
	"$pc" "backend=$BACKEND_PID" <"$RUN/pcount.in" >"$RUN/pcount.out" 2>>"$RUN/pcount.log" &
	PCOUNT_PID=$!
	exec 7>"$RUN/pcount.in" 8<"$RUN/pcount.out"
}

# pcount_line: pcount's counts now ("pcount backend.syscalls= backend.cs=
# backend.threads="), nothing if it is not running.
pcount_line() {
	local l
	trap "" PIPE # in the console reader: a pcount gone makes the write fail, not the reader
	[ -n "$PCOUNT_PID" ] && kill -0 "$PCOUNT_PID" 2>/dev/null || return 0
	echo pcount >&7 || return 0
	read -r -t 5 l <&8 && echo "$l"
}

# snap start|end JOB: RUN/snap/JOB.start|end.
snap() {
	local q
	read -r q <"$RUN/qemu.pid" 2>/dev/null || q=none
	{
		echo "time t=$EPOCHREALTIME hz=$HZ"
		pcount_line
		proc qemu "$q"
		proc backend "$BACKEND_PID"
		threads qemu "$q"
		threads backend "$BACKEND_PID"
	} >"$RUN/snap/$2.$1"
}

boot() {
	local qpid rc=0 line dev=()
	RUN=$OUTDIR
	mkdir -p "$RUN/snap"
	rm -f "$RUN/vhost.sock"
	echo "file:$IMG${VHOST_FILE_OPTS:-}" >"$RUN/file-spec.txt"
	"$BIN" --socket-path="$RUN/vhost.sock" --lun "0:0=file:$IMG${VHOST_FILE_OPTS:-}" \
		</dev/null >>"$RUN/backend.log" 2>&1 &
	BACKEND_PID=$!
	for _ in $(seq 50); do
		[ -S "$RUN/vhost.sock" ] && break
		sleep 0.1
	done
	[ -S "$RUN/vhost.sock" ] || die "pvscsi-vhost-user did not create its socket (see $RUN/backend.log)"
	pcount_start
	# shellcheck disable=SC2054 # QEMU's options are comma-separated
	dev=(-chardev "socket,id=vus,path=$RUN/vhost.sock"
		-device "vhost-user-scsi-pci,chardev=vus,num_queues=1,addr=${VHOST_PCI##*:00:}"
		-device "virtio-scsi-pci,id=scsi0,num_queues=1,addr=${REF_PCI##*:00:}"
		-drive "if=none,id=d0,file=$IMG,format=raw,cache=writeback,aio=threads"
		-device "scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=d0")
	log "booting the guest under QEMU (TCG): $ROUNDS rounds of ${RUNTIME}s per disk and workload"
	# --name: QEMU's vCPU threads are named "CPU N/TCG".
	# A boot takes 1-2 minutes here; a stuck guest must not eat make bench's budget.
	# One vCPU, but maxcpus=2: QEMU 7.2 elides a guest's memory barriers when
	# no second CPU may exist (fixed in 8.1 by c914d46d0a64), and the virtio
	# driver's re-arm then races the device's event check: the guest hung
	# behind QEMU's own virtio-scsi as behind ours (docs/vhost-user.md).
	qemu_start --serial "$RUN/serial.log" --log "$RUN/qemu.log" \
		--timeout "${VHOST_QEMU_TIMEOUT:-$((6 * ROUNDS * (RUNTIME + 12) + 150))}" \
		--name bench-vhost --pidfile "$RUN/qemu.pid" --mem 512 --smp 1,maxcpus=2 --nodefaults --shared-mem \
		--kernel "$KERNEL" --initrd "$GUEST_IMG" \
		--append "console=ttyS0 loglevel=4 bench.runtime=$RUNTIME bench.rounds=$ROUNDS bench.vhost=$VHOST_PCI bench.ref=$REF_PCI" \
		-- "${dev[@]}"
	qpid=$QEMU_PID
	qemu_console "$qpid" "$RUN/serial.log" |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			"@@E2E MARK go-"*) snap start "${line#@@E2E MARK go-}" ;;
			"@@E2E MARK done-"*) snap end "${line#@@E2E MARK done-}" ;;
			esac
		done
	qemu_wait "$qpid" || rc=$?
	kill -TERM "$BACKEND_PID" 2>/dev/null || true
	wait "$BACKEND_PID" 2>/dev/null || true
	BACKEND_PID=""
	if [ -n "$PCOUNT_PID" ]; then
		exec 7>&- 8<&-
		wait "$PCOUNT_PID" 2>/dev/null || true
		PCOUNT_PID=""
	fi
	if qemu_timed_out "$rc"; then
		log "QEMU timed out (guest's last line: $(tr -d '\r' <"$RUN/serial.log" | tail -n1))"
	elif [ "$rc" != 0 ]; then
		log "QEMU exited with status $rc (see $RUN/qemu.log)"
	fi
	# The guest's fio JSON: "@@R fio-JOB.json line" on the serial console.
	tr -d '\r' <"$RUN/serial.log" | awk -v dir="$RUN" '
		/^@@R [A-Za-z0-9._-]+ / { f = $2; l = $0; sub(/^@@R [^ ]+ /, "", l); print l > (dir "/" f) }'
}

HZ=$(getconf CLK_TCK)
# An interrupted run leaves neither QEMU nor pvscsi-vhost-user behind.
BACKEND_PID=""
qemu_kill_on_exit
trap 'qemu_kill_all; [ -z "$BACKEND_PID" ] || kill -TERM "$BACKEND_PID" 2>/dev/null || true
[ -z "$PCOUNT_PID" ] || kill -TERM "$PCOUNT_PID" 2>/dev/null || true' EXIT
fetch_assets
build_bench_guest
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
# One image for both: 64 MiB of written data, in the page cache.
IMG=$OUTDIR/disk.img
dd if=/dev/zero of="$IMG" bs=1M count=64 status=none
boot
python3 "$BENCH_DIR/report.py" vhost "$OUTDIR" "$ROUNDS"
