#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: measure the data path and print it side by side with
# references measured in the same run (see docs/performance.md).
#
# usage: tests/bench/run.sh [SECTION...]    (default: ring file xen vhost)
#   ring   in-process: backend/ring.c + fake grant table + mem: LUN, vs memcpy
#   file   the LUN core on a file vs fio --ioengine=io_uring on the same file,
#          buffered (cache=writeback vs --direct=0) and O_DIRECT (cache=none vs
#          --direct=1), alternating
#   xen    real Xen under QEMU: pvscsid vs xen-scsiback+LIO, fio in a PV guest
#   vhost  pvscsi-vhost-user vs QEMU's virtio-scsi, fio in one QEMU guest
#          with both, alternating (median and spread of the rounds' ratios)
# Environment: RING_SECS (2), RING_REPS (2), FILE_SECS (2), FILE_REPS (2),
# RING_CG_REQS (32000: requests under callgrind), FILE_MIB (256: the file
# section's file), BENCH_OUT (build/bench: where everything goes),
# XEN_RUNTIME (6), XEN_ROUNDS (3: alternating runs per backend in one guest),
# XEN_ALT ("defer-kicks off": pvscsictl's arguments for a third run per
# round, pvscsid with that setting; "" for none), XEN_POLL_US (N > 0: the
# third run polls N us instead), XEN_FILE_OPTS (added to pvscsid's file LUN,
# e.g. ",writes=inline"),
# VHOST_RUNTIME (8), VHOST_ROUNDS (3: alternating runs per back-end in one
# guest): seconds per measurement, repetitions (sections 1-2: the best
# repetition is reported; 3-4: medians); VHOST_FILE_OPTS (added to
# pvscsi-vhost-user's file LUN).
# Output: the table on stdout, build/bench/{results.json,table.txt,ratios.png},
# the raw KEY=VALUE lines in build/bench/raw.txt.  A benchmark reports: a
# section that cannot run is reported as not measured; the exit status is 0
# unless the report itself cannot be written.
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
OUT=${BENCH_OUT:-$REPO/build/bench}
BIN=$REPO/build/rel/bench
RAW=$OUT/raw.txt
RING_SECS=${RING_SECS:-2}
RING_REPS=${RING_REPS:-2}
RING_CG_REQS=${RING_CG_REQS:-32000}
FILE_SECS=${FILE_SECS:-2}
FILE_REPS=${FILE_REPS:-2}
export XEN_RUNTIME="${XEN_RUNTIME:-6}" VHOST_RUNTIME="${VHOST_RUNTIME:-8}" VHOST_ROUNDS="${VHOST_ROUNDS:-3}"

sections=${*:-ring file xen vhost}
mkdir -p "$OUT"
: >"$RAW"

log() { printf 'bench: %s\n' "$*" >&2; }
emit() { echo "$*" >>"$RAW"; }
skip() {
	log "section $1 not measured: $2"
	emit "skip section=$1 reason=$(echo "$2" | tr ' =' '_:')"
}

ncores=$(nproc)
emit "meta date=$(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(hostname | tr ' ' _)" \
	"cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1 | tr ' =' '_:')" \
	"cores=$ncores mem_mib=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)" \
	"kernel=$(uname -r) rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	"load1_start=$(cut -d' ' -f1 /proc/loadavg) file_reps=$FILE_REPS ring_reps=$RING_REPS"
start=$(date +%s)

section_ring() {
	rb=$BIN/ring_bench
	[ -x "$rb" ] || {
		skip ring "$rb not built"
		return 0
	}
	log "1/4 in-process ring (${RING_SECS}s per figure, best of $RING_REPS)"
	emit "$("$rb" memcpy -t 1)"
	for rep in $(seq "$RING_REPS"); do
		for r in 1 "$ncores"; do
			for op in read write; do
				[ "$r" = 1 ] || [ "$ncores" != 1 ] || continue
				emit "$("$rb" ring -o "$op" -r "$r" -t "$RING_SECS") rep=$rep"
			done
		done
	done
	emit "$("$rb" memcpy -t 1)"
	# pvscsid's own event-loop threads (--threads) over the fakes: aggregate
	# 4 KiB reads per second of 1, 2, 4 and 8 guests' rings against 1 to
	# max(2, cores) loop threads, the guests' threads sharing the cores.
	for t in $(seq "$([ "$ncores" -gt 2 ] && echo "$ncores" || echo 2)"); do
		for r in 1 2 4 8; do
			emit "$("$rb" daemon -o read -r "$r" -T "$t" -t "$RING_SECS" 2>/dev/null)"
		done
	done
	# Instructions per request: callgrind, counting only backend_batch()
	# (perf's hardware counters are often unavailable in VMs).
	if command -v valgrind >/dev/null; then
		for op in read write; do
			cg=$OUT/callgrind-$op.out
			valgrind --tool=callgrind --collect-atstart=no --toggle-collect=backend_batch \
				--callgrind-out-file="$cg" "$rb" ring -o "$op" -n "$RING_CG_REQS" >/dev/null 2>"$OUT/callgrind-$op.log" ||
				{
					log "callgrind $op failed (see $OUT/callgrind-$op.log)"
					continue
				}
			callgrind_annotate "$cg" >"$OUT/profile-ring-$op.txt" 2>/dev/null || true
			# The fake grant table's copy, callees included: the work that a
			# real dom0's GNTTABOP_copy leaves to Xen, and that callgrind would
			# not see behind the gntdev ioctl.  The rest is pvscsid's own.
			hv=$(callgrind_annotate --inclusive=yes "$cg" 2>/dev/null |
				awk -v n="$RING_CG_REQS" '$3 ~ /:fake_copy$/ {gsub(",", "", $1); printf "%.0f", $1 / n; exit}')
			emit "callgrind op=$op requests=$RING_CG_REQS" \
				"instr_per_req=$(awk -v n="$RING_CG_REQS" '/^summary:/ {printf "%.0f", $2 / n}' "$cg")" \
				"hv_instr_per_req=${hv:-0}" "profile=$OUT/profile-ring-$op.txt"
		done
	fi
}

# cputime CMD...: run CMD; its user+system CPU time (children included) in seconds goes to $OUT/cpu.tmp.
cputime() {
	python3 -c 'import resource, subprocess, sys
r = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.4f" % (u.ru_utime + u.ru_stime))
sys.exit(r)' "$OUT/cpu.tmp" "$@"
}

section_file() {
	fb=$BIN/file_bench
	img=$OUT/file-lun.img
	[ -x "$fb" ] || {
		skip file "$fb not built"
		return 0
	}
	command -v fio >/dev/null || {
		skip file "fio not installed"
		return 0
	}
	log "2/4 file LUN vs fio io_uring, buffered then O_DIRECT (${FILE_SECS}s per figure, best of $FILE_REPS)"
	# FILE_MIB (256) MiB of data (not a sparse file), written back (no dirty pages
	# of dd's for the first writer to wait on), read once so both start from the
	# page cache.
	dd if=/dev/urandom of="$img" bs=1M count="${FILE_MIB:-256}" status=none
	sync "$img"
	cat "$img" >/dev/null
	# All buffered figures first, then all direct ones: a direct I/O writes back
	# and drops the cached pages of its range, which would leave the next
	# buffered run a different page cache from the one before it.
	for cache in writeback none; do
		direct=0
		[ "$cache" = none ] && direct=1
		[ "$cache" = none ] && sync "$img"
		for w in randread:4096 randwrite:4096 read:1048576 write:1048576; do
			wl=${w%%:*}
			bs=${w#*:}
			rep=0
			while [ "$rep" -lt "$FILE_REPS" ]; do
				rep=$((rep + 1))
				# Who goes first alternates: the first writer after a read
				# workload dirties clean pages, the second re-dirties them.
				for who in $([ $((rep % 2)) = 1 ] && echo "ours fio" || echo "fio ours"); do
					# Both measured the same way from outside: the whole
					# process's CPU time (io_uring's worker threads included;
					# fio's own figure is per thread and would leave them out).
					if [ "$who" = ours ]; then
						line=$(cputime "$fb" -f "$img" -w "$wl" -b "$bs" -q 16 \
							-t "$FILE_SECS" -c "$cache")
						emit "$line rep=$rep proc_cpu_s=$(cat "$OUT/cpu.tmp")"
						continue
					fi
					cputime fio --name="$wl" --filename="$img" --ioengine=io_uring \
						--direct=$direct --rw="$wl" --bs="$bs" --iodepth=16 --time_based \
						--runtime="$FILE_SECS" --invalidate=0 --norandommap --randrepeat=0 \
						--lat_percentiles=1 --output-format=json \
						--output="$OUT/fio-file-$wl.json" >/dev/null
					emit "$(python3 "$BENCH_DIR/report.py" fio2kv "$OUT/fio-file-$wl.json" \
						section=file workload="$wl" bs="$bs" cache=$cache rep=$rep \
						proc_cpu_s="$(cat "$OUT/cpu.tmp")")"
				done
			done
		done
	done
	rm -f "$img" "$OUT/cpu.tmp"
}

section_xen() {
	log "3/4 real Xen under QEMU: pvscsid and xen-scsiback in one guest (fio ${XEN_RUNTIME}s per run, ${XEN_ROUNDS:-3} rounds)"
	if ! "$BENCH_DIR/xen.sh" "$OUT/xen" >>"$RAW" 2>"$OUT/xen.log"; then
		tail -n 5 "$OUT/xen.log" >&2
		grep -q '^xen .*iops=' "$RAW" || skip xen "tests/bench/xen.sh failed (build/bench/xen.log)"
	fi
}

section_vhost() {
	log "4/4 virtio-scsi under QEMU: pvscsi-vhost-user vs QEMU virtio-scsi in one guest" \
		"(fio ${VHOST_RUNTIME}s per figure, $VHOST_ROUNDS rounds)"
	if ! "$BENCH_DIR/vhost.sh" "$OUT/vhost" >>"$RAW" 2>"$OUT/vhost.log"; then
		tail -n 5 "$OUT/vhost.log" >&2
		grep -q '^vhost .*iops=' "$RAW" || skip vhost "tests/bench/vhost.sh failed (build/bench/vhost.log)"
	fi
}

for s in ring file xen vhost; do
	case " $sections " in *" $s "*) ;; *) emit "skip section=$s reason=not_selected" ;; esac
done
for s in $sections; do
	case $s in
	ring | file | xen | vhost) "section_$s" || skip "$s" "section failed" ;;
	*)
		log "unknown section '$s' (ring file xen vhost)"
		exit 2
		;;
	esac
done
emit "meta elapsed_s=$(($(date +%s) - start)) load1_end=$(cut -d' ' -f1 /proc/loadavg)"
echo
python3 "$BENCH_DIR/report.py" report "$RAW" "$OUT"
log "raw figures: $RAW; results: $OUT/results.json; elapsed $(($(date +%s) - start)) s"
