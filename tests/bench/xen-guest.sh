# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# bench: the guest part of tests/bench/xen.sh, run by the e2e guest /init
# (tests/e2e/lib/guest-init) with guest-lib.sh's helpers.  xen.sh puts
# BENCH_RUNTIME=SECONDS and BENCH_ROUNDS=N in front of this file in the
# initramfs.
# One guest, two vhosts: vhost 0 is served by xen-scsiback+LIO, vhost 1 by
# pvscsid (--backend-type pvscsi).  Targets 0 and 1 are the kernel's
# scsi_debug disk and image file, targets 2 and 3 pvscsid's, on the same
# scsi_debug disk and the same image file.  For each workload (4 KiB random
# read, 4 KiB random write, 1 MiB sequential read and write, QD 16) on each
# disk, fio runs kernel, pvscsid, kernel, pvscsid... BENCH_ROUNDS times each
# (with BENCH_ALT_RUN=1 a third, pvsalt: pvscsid with xen.sh's XEN_ALT), so that
# a change in the machine's speed falls on both.  Each run is framed by
# "go-JOB"/"done-JOB" marks (dom0 takes its counters there), its JSON
# recorded as fio-JOB.json and the interrupts the guest took from that
# vhost's event channel as irq-JOB.txt.  JOB = BACKEND-DISK-WORKLOAD-rROUND.
# A failed fio run is reported and the others still run.

# Interrupts taken so far from xen-scsifront's event channels.  Every vhost's
# IRQ is named "scsifront"; only the vhost under test is busy during a run,
# so the sum over all of them is its count.
irqs() { awk '/scsifront/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }

guest() {
	for t in 0 1 2 3; do
		wait_lun "0:$t:0" 120
	done
	# The kernel backend's LUNs get the transfer bound pvscsid reports in its
	# Block Limits page (reference_bound, docs/compat.md): the same request
	# sizes on both sides.
	for t in 0 1; do
		BACKEND=kernel
		reference_bound "$(sd_of "0:$t:0")"
		BACKEND=both
	done
	echo "interrupt lines: $(grep -i scsi /proc/interrupts | tr -s ' ' | tr '\n' ';')"
	# dom0 starts its counters at "ready"; the idle window starts after.
	mark ready
	sleep 5
	mark go-idle
	sleep 10
	mark done-idle
	for d in sdebug:0 file:1; do
		disk=${d%%:*}
		for w in randread:4k randwrite:4k read:1m write:1m; do
			wl=${w%%:*}
			for r in $(seq "$BENCH_ROUNDS"); do
				bes="kernel:0 pvscsid:1"
				[ "${BENCH_ALT_RUN:-0}" = 1 ] && bes="$bes pvsalt:1"
				for b in $bes; do
					be=${b%%:*}
					vh=${b#*:}
					t=$((${d#*:} + 2 * vh))
					dev=$(sd_of "0:$t:0")
					job=$be-$disk-$wl-r$r
					# dom0 sets pvscsid up for the run (pvsalt: XEN_ALT) here.
					mark "pre-$job"
					sleep 1
					i0=$(irqs)
					mark "go-$job"
					rc=0
					fio --name="$job" --filename="$dev" --rw="$wl" --bs="${w#*:}" --iodepth=16 \
						--ioengine=libaio --direct=1 --time_based --runtime="$BENCH_RUNTIME" \
						--norandommap --randrepeat=0 --lat_percentiles=1 \
						--output-format=json --output="/tmp/$job.json" >/tmp/fio.err 2>&1 || rc=$?
					mark "done-$job"
					i1=$(irqs)
					if [ "$rc" = 0 ]; then
						record "fio-$job.json" cat "/tmp/$job.json"
						record "irq-$job.txt" echo $((i1 - i0))
					else
						echo "fio $job failed (status $rc): $(tail -n 3 /tmp/fio.err)"
						echo "fio $job failed" >>/tmp/bench-failed
					fi
					rm -f "/tmp/$job.json"
				done
			done
		done
	done
	[ ! -s /tmp/bench-failed ] || fail "$(tr '\n' ' ' </tmp/bench-failed)"
}
