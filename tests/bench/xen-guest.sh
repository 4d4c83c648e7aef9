# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# bench: the guest part of tests/bench/xen.sh, run by the e2e guest /init
# (tests/e2e/lib/guest-init) with guest-lib.sh's helpers.  xen.sh puts
# BENCH_RUNTIME=SECONDS in front of this file in the initramfs.
# LUN 0:0:0 is dom0's scsi_debug disk, 0:1:0 the image file.  For each,
# 4 KiB random read, 4 KiB random write (QD 16) and 1 MiB sequential read
# (QD 16), each run framed by "go-JOB"/"done-JOB" marks (dom0 takes its CPU
# counters there) and its JSON recorded as fio-JOB.json, the interrupts
# the guest took from the vscsiif event channel meanwhile as irq-JOB.txt.  A failed fio run
# is reported and the others still run.

# Interrupts taken so far from xen-scsifront's event channel.
irqs() { awk '/scsifront/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }

guest() {
	wait_lun 0:0:0 120
	wait_lun 0:1:0 120
	mark go-idle
	sleep 4
	mark done-idle
	for d in sdebug:0:0:0 file:0:1:0; do
		disk=${d%%:*}
		dev=$(sd_of "${d#*:}")
		for w in randread:4k randwrite:4k read:1m; do
			wl=${w%%:*}
			job=$disk-$wl
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
		done
	done
	[ ! -s /tmp/bench-failed ] || fail "$(tr '\n' ' ' </tmp/bench-failed)"
}
