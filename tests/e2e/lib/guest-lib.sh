# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# The guest side of the e2e harness (dash, sourced inside the guest by
# /init before the case's guest() runs under `set -eu`).
#
#   fail MSG               end the guest part as FAIL with MSG
#   run CMD...             show and run CMD; fail if it fails
#   record FILE CMD...     run CMD, its output goes to the results directory as
#                          FILE (dom0 splits it out of the console log)
#   show CMD...            record into view.txt: the guest's view, compared
#                          side by side between backends
#   mark NAME              tell dom0 the guest reached NAME
#   wait_lun C:T:L [S]     wait for the LUN at channel:target:lun
#   wait_gone C:T:L [S]    wait for it to disappear
#   sg_of C:T:L, sd_of C:T:L   its /dev/sgN, /dev/sdX
#   wait_dev C:T:L KIND [S]    wait for a tape, changer or cdrom LUN (no sd)
#   dev_of C:T:L KIND     its /dev/nstN (tape), /dev/schN (changer), /dev/srN (cdrom)
#   sg_outcome SG_RAW_ARGS...  one CDB through sg_raw: "good" or "Sense key: sense"
#   expect_outcome WHAT ERE SG_RAW_ARGS...   fail unless sg_outcome matches ERE
#   ua_clear SG           TEST UNIT READY until no unit attention is left
#   fio_verify DEV [ARGS]  fio write+verify (crc32c, 4k-512k, qd16, libaio, direct)
#   dmesg_check                   fail on the frontend's "Unable to map request_buffer" or
#                                 a block-layer I/O error (run by /init after guest(); a
#                                 case that provokes I/O errors sets IO_ERRORS=expected)
#   blk_watch DEV                 start recording what the block layer sends to DEV
#   blk_report DEV FILE           record into FILE its queue limits, merges, and
#                                 the requests issued (count by size, errors)
#   pattern_write C:T:L...        the same 8 MiB of random data written to each LUN
#   ext4_roundtrip DEV BLOCK      mkfs.ext4 with BLOCK-byte blocks, write files, umount,
#                                 e2fsck -fn clean, remount: every file reads back the same
#   pattern_check WHEN C:T:L...   each LUN reads back that pattern (WHEN: for messages)

fail() {
	echo "$*" >>/tmp/e2e-fail
	echo "@@E2E FAIL $*"
	exit 1
}

run() {
	echo "\$ $*"
	"$@" || fail "$* (status $?)"
}

# record FILE CMD...: CMD's output into the case's FILE (prefixed with
# $RECORD_PREFIX, when a case records one suite's files twice).
record() {
	_f=${RECORD_PREFIX:-}$1
	shift
	"$@" >/tmp/record.out 2>&1 || {
		_rc=$?
		sed "s/^/@@R $_f /" /tmp/record.out
		fail "$* (status $_rc)"
	}
	sed "s/^/@@R $_f /" /tmp/record.out
}

show() {
	echo "@@R view.txt \$ $*"
	record view.txt "$@"
}

mark() { echo "@@E2E MARK $1"; }

# a, or b in the second guest of a case (guest_b_create).
guest_role() {
	case " $(cat /proc/cmdline) " in *" e2e.role=b "*) echo b ;; *) echo a ;; esac
}

# The H:C:T:L of the LUN at C:T:L (the guest picks the host number).
hctl_of() {
	for _d in /sys/class/scsi_device/*:"$1"; do
		[ -e "$_d" ] && basename "$_d" && return 0
	done
	return 1
}

# Lines the guest's kernel prints when a write or read was lost: the
# frontend refusing a request it cannot map (docs/compat.md), and the block
# layer's report of any failed request ("I/O error, dev sda, ...", "critical
# target error, dev sdb, ...", buffer-head and ext4 I/O errors).
DMESG_ERRORS='Unable to map request_buffer| error, dev sd|Buffer I/O error|EXT4-fs.*I/O error'
dmesg_check() {
	_seen=$(dmesg | grep -E "$DMESG_ERRORS" | head -n 5) || true
	[ -n "$_seen" ] || return 0
	if [ "${IO_ERRORS:-}" = expected ]; then
		echo "I/O errors, as the case intends:"
		echo "$_seen"
		return 0
	fi
	echo "$_seen"
	fail "the guest's kernel logged lost I/O: $(echo "$_seen" | head -n 1 | sed 's/^\[[^]]*\] //')"
}

# The reference backend gets the transfer bound pvscsid reports in its Block
# Limits page (64 blocks: docs/compat.md, "xen-scsifront"), set from the
# guest's side: xen-scsiback+LIO report a larger one, and LIO's pscsi passes
# the device's own through, with which xen-scsifront's grant limit loses
# writes on both backends alike.
reference_bound() {
	[ "${BACKEND:-}" = kernel ] || return 0
	_q=/sys/block/$(basename "$1")/queue
	echo $((64 * $(cat "$_q/logical_block_size") / 1024)) >"$_q/max_sectors_kb"
}

wait_lun() {
	_i=0
	while ! hctl_of "$1" >/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le "$((${2:-60} * 2))" ] || fail "LUN $1 did not appear within ${2:-60}s"
		sleep 0.5
	done
	# ... and its block and sg nodes.
	_i=0
	while [ -z "$(sd_of "$1" 2>/dev/null)" ] || [ -z "$(sg_of "$1" 2>/dev/null)" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 40 ] || fail "LUN $1 has no sd/sg device"
		sleep 0.5
	done
	reference_bound "$(sd_of "$1")"
	echo "LUN $1 is $(hctl_of "$1"): $(sd_of "$1") $(sg_of "$1")"
}

wait_gone() {
	_i=0
	while hctl_of "$1" >/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le "$((${2:-60} * 2))" ] || fail "LUN $1 still present after ${2:-60}s"
		sleep 0.5
	done
	echo "LUN $1 is gone"
}

sg_of() {
	_h=$(hctl_of "$1") || return 1
	_n=$(ls "/sys/class/scsi_device/$_h/device/scsi_generic/" 2>/dev/null) || return 1
	[ -c "/dev/$_n" ] && echo "/dev/$_n"
}

sd_of() {
	_h=$(hctl_of "$1") || return 1
	_n=$(ls "/sys/class/scsi_device/$_h/device/block/" 2>/dev/null) || return 1
	[ -b "/dev/$_n" ] && echo "/dev/$_n"
}

# The node of a LUN's upper-level driver: the tape's non-rewinding /dev/nstN
# (st), the changer's /dev/schN (ch), the CD's /dev/srN (sr).
dev_of() {
	_h=$(hctl_of "$1") || return 1
	_d=/sys/class/scsi_device/$_h/device
	case $2 in
	tape) _n=$(ls "$_d/scsi_tape/" 2>/dev/null | grep -x 'nst[0-9]*') || return 1 ;;
	changer) _n=$(ls "$_d/scsi_changer/" 2>/dev/null) || return 1 ;;
	cdrom) _n=$(ls "$_d/block/" 2>/dev/null) || return 1 ;;
	*) fail "dev_of: unknown kind $2 (tape, changer, cdrom)" ;;
	esac
	[ -n "$_n" ] && [ -e "/dev/$_n" ] && echo "/dev/$_n"
}

# wait_dev C:T:L KIND [S]: wait_lun for a LUN without a disk: its sg node and
# its driver's node (dev_of).
wait_dev() {
	_i=0
	while ! hctl_of "$1" >/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le "$((${3:-60} * 2))" ] || fail "LUN $1 ($2) did not appear within ${3:-60}s"
		sleep 0.5
	done
	_i=0
	while [ -z "$(dev_of "$1" "$2" 2>/dev/null)" ] || [ -z "$(sg_of "$1" 2>/dev/null)" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 40 ] || fail "LUN $1 has no $2 node or no sg node"
		sleep 0.5
	done
	echo "LUN $1 is $(hctl_of "$1"): $(dev_of "$1" "$2") $(sg_of "$1")"
}

# sg_outcome SG_RAW_ARGS...: send one CDB with sg_raw and print its outcome
# on one line: "good", "SENSE KEY: ADDITIONAL SENSE" in sg_raw's words for a
# CHECK CONDITION (e.g. "Illegal Request: Invalid command operation code"),
# else sg_raw's status and first line.  sg_raw's own output goes to the
# console (stderr).
sg_outcome() {
	_rc=0
	sg_raw "$@" >/tmp/sg_outcome.out 2>&1 || _rc=$?
	echo "\$ sg_raw $* (status $_rc)" >&2
	sed 's/^/  /' /tmp/sg_outcome.out >&2
	if [ "$_rc" = 0 ]; then
		echo good
		return 0
	fi
	_k=$(sed -n 's/.*Sense key: *//p' /tmp/sg_outcome.out | head -n1)
	_a=$(sed -n 's/^ *Additional sense: *//p' /tmp/sg_outcome.out | head -n1)
	if [ -n "$_k" ]; then
		echo "$_k: $_a"
	else
		echo "status $_rc: $(grep -v '^ *$' /tmp/sg_outcome.out | head -n1)"
	fi
}

# expect_outcome WHAT ERE SG_RAW_ARGS...: sg_outcome, which must match the
# extended regular expression ERE (case-insensitive), else the case fails.
expect_outcome() {
	_what=$1
	_ere=$2
	shift 2
	_o=$(sg_outcome "$@")
	echo "$_what: $_o"
	echo "$_o" | grep -qiE "$_ere" || fail "$_what: $_o (expected $_ere)"
}

# ua_clear SG: take the unit attentions waiting for this nexus (power on,
# a new LUN, a medium change) with TEST UNIT READY, so that the next raw
# command gets the device's answer to it; whatever else TEST UNIT READY
# says (NOT READY without a cartridge) is left alone.
ua_clear() {
	_n=0
	while sg_outcome "$1" 00 00 00 00 00 00 2>/dev/null | grep -qi '^unit attention'; do
		_n=$((_n + 1))
		[ $_n -lt 8 ] || fail "$1 keeps answering UNIT ATTENTION"
	done
}

fio_verify() {
	_dev=$1
	shift
	# One output file per device: cases run fio on two LUNs at once.
	_out=/tmp/fio.$(basename "$_dev").out
	echo "\$ fio verify on $_dev $*"
	fio --name=verify --filename="$_dev" --rw=randwrite --bsrange=4k-512k \
		--iodepth=16 --ioengine=libaio --direct=1 --size=64M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
		--output-format=terse --terse-version=3 "$@" >"$_out" 2>&1 || {
		_rc=$?
		cat "$_out"
		fail "fio verify on $_dev failed (status $_rc): $(grep -m1 -i -E 'verify|error|err=' "$_out")"
	}
	# Terse v3: field 5 is the error code.
	_err=$(awk -F';' 'NF > 5 { print $5; exit }' "$_out")
	[ "$_err" = 0 ] || { cat "$_out"; fail "fio on $_dev reported error $_err"; }
	echo "fio verify on $_dev ok: $(awk -F';' 'NF > 50 { printf "%s KiB written, %s KiB read back", $47, $6; exit }' "$_out")"
}

pattern_write() {
	[ -e /tmp/pattern ] || dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
	for _l in "$@"; do
		dd if=/tmp/pattern of="$(sd_of "$_l")" bs=1M oflag=direct 2>/dev/null ||
			fail "write to $_l failed"
	done
}

pattern_check() {
	_when=$1
	shift
	for _l in "$@"; do
		dd if="$(sd_of "$_l")" of=/tmp/back bs=1M count=8 iflag=direct 2>/dev/null ||
			fail "read from $_l $_when failed"
		cmp -s /tmp/pattern /tmp/back || fail "$_l does not read back what was written"
		echo "$_l reads back what it wrote"
	done
}

# The block layer's side of a run: which requests the guest built.  The
# tracepoints are the kernel's own (block_rq_issue/complete); the frontend's
# refusals ("Unable to map request_buffer") show as completions with an error.
TRACE=/sys/kernel/tracing
blk_watch() {
	_b=$(basename "$1")
	[ -e $TRACE/trace ] || mount -t tracefs tracefs $TRACE
	echo 0 >$TRACE/tracing_on
	echo >$TRACE/trace
	echo 16384 >$TRACE/buffer_size_kb
	for _e in block_rq_issue block_rq_complete; do
		echo 1 >$TRACE/events/block/$_e/enable
	done
	echo 1 >$TRACE/tracing_on
	cat /sys/block/"$_b"/stat >/tmp/blk.stat0
}

blk_report() {
	_b=$(basename "$1")
	echo 0 >$TRACE/tracing_on
	cat /sys/block/"$_b"/stat >/tmp/blk.stat1
	{
		for _q in logical_block_size physical_block_size minimum_io_size optimal_io_size \
			max_sectors_kb max_hw_sectors_kb max_segments max_segment_size dma_alignment; do
			[ -e /sys/block/"$_b"/queue/$_q ] &&
				echo "queue/$_q $(cat /sys/block/"$_b"/queue/$_q)"
		done
		# Documentation/block/stat.rst: reads 1-4, writes 5-8 (ios, merges, sectors, ms).
		paste /tmp/blk.stat0 /tmp/blk.stat1 | awk '{ n = NF / 2
			printf "reads: %d requests, %d merges, %d KiB\n", $(n+1)-$1, $(n+2)-$2, ($(n+3)-$3)/2
			printf "writes: %d requests, %d merges, %d KiB\n", $(n+5)-$5, $(n+6)-$6, ($(n+7)-$7)/2 }'
		# "... block_rq_issue: 8,0 W 4096 () 2048 + 8 [comm]"; complete: "8,0 W () 2048 + 8 [-5]"
		awk '/block_rq_issue:/ { for (i = 1; i <= NF; i++) if ($i == "+") { k = $(i+1) / 2; break }
				rw = substr($0, index($0, "block_rq_issue:") + 16); split(rw, f, " ")
				if (f[2] ~ /W/) w[k]++; else if (f[2] ~ /R/) r[k]++ }
			/block_rq_complete:/ && /\[-[0-9]+\]$/ { err++ }
			END { for (k in r) printf "issued R %7.1f KiB: %d\n", k, r[k]
				for (k in w) printf "issued W %7.1f KiB: %d\n", k, w[k]
				printf "completed with an error: %d\n", err }' $TRACE/trace | sort -k2,2 -k3n
		echo "frontend refusals (Unable to map request_buffer): $(dmesg | grep -c 'Unable to map request_buffer' || true)"
	} >/tmp/blk.report
	record "$2" cat /tmp/blk.report
}

# fio --bssplit of block sizes that are multiples of 512 but not of 4096
# (1.5, 3.5, 7.5, 32.5 and 129.5 KiB): fio places each I/O unit's buffer at
# mem_align past a page, plus whole multiples of the largest size
# (subpage.sh, inline_writes.sh).
SUBPAGE_BS=1536/20:3584/20:7680/20:33280/20:132608/20

ext4_roundtrip() {
	_dev=$1
	run mkfs.ext4 -q -F -b "$2" -E nodiscard "$_dev"
	mkdir -p /mnt
	run mount -t ext4 "$_dev" /mnt
	blk_watch "$_dev"
	# A mix of sizes: many small files, a few large ones, a directory tree.
	mkdir -p /mnt/small /mnt/deep/a/b/c
	_i=0
	while [ $_i -lt 100 ]; do
		dd if=/dev/urandom of=/mnt/small/f$_i bs=1k count=$((_i % 13 + 1)) 2>/dev/null
		_i=$((_i + 1))
	done
	for _n in 1 2 3; do
		dd if=/dev/urandom of=/mnt/deep/a/b/c/big$_n bs=1M count=8 2>/dev/null
	done
	(cd /mnt && find . -type f | sort | xargs sha256sum) >/tmp/sums
	echo "wrote $(wc -l </tmp/sums) files, $(du -sk /mnt | cut -f1) KiB"
	run umount /mnt
	blk_report "$_dev" blk-write.txt
	# Read back from the backend, not from the guest's page cache.
	sync
	echo 3 >/proc/sys/vm/drop_caches
	blockdev --flushbufs "$_dev"
	# -f: check even though clean; -n: read-only, answer no.  Status 0 = clean.
	show e2fsck -fn "$_dev"
	run mount -t ext4 -o ro "$_dev" /mnt
	if ! (cd /mnt && sha256sum -c /tmp/sums >/tmp/check 2>&1); then
		grep -v ': OK$' /tmp/check | head -n 20
		fail "$(grep -vc ': OK$' /tmp/check) of $(wc -l </tmp/sums) files read back differ after remount"
	fi
	echo "all $(wc -l </tmp/sums) files read back intact"
	run umount /mnt
}

# ---- persistent reservations between two initiators (the pr cases) ----

# Take the unit attentions a reservation change left for this nexus: the
# sg3_utils commands would report them as failures.
pr_settle() {
	_i=0
	while ! sg_turs "$1" >/dev/null 2>&1 && [ $_i -lt 5 ]; do _i=$((_i + 1)); done
}

# pr_write SG: good, conflict or other, for one WRITE(10) of a zero block to LBA 100.
pr_write() {
	pr_settle "$1"
	_rc=0
	sg_raw -s 512 -i /dev/zero "$1" 2a 00 00 00 00 64 00 00 01 00 >/tmp/pr-write.out 2>&1 || _rc=$?
	cat /tmp/pr-write.out >&2
	# sg3_utils' exit status 24 is SG_LIB_CAT_RES_CONFLICT.
	if [ $_rc = 24 ] || grep -qi "reservation conflict" /tmp/pr-write.out; then
		echo conflict
	elif [ $_rc = 0 ]; then
		echo good
	else
		echo "other (status $_rc): $(tr '\n' ' ' </tmp/pr-write.out)"
	fi
}

# pr_holder SG: the key of the reservation holder, "" when none.
pr_holder() {
	pr_settle "$1"
	sg_persist --in --read-reservation --no-inquiry "$1" >/tmp/pr-rr.out 2>&1 || true
	cat /tmp/pr-rr.out >&2
	sed -n 's/.*Key=\(0x[0-9a-f]*\).*/\1/p' /tmp/pr-rr.out | head -n1
}

# pr_guest: a guest's half of pr_pace (harness.sh): the LUN at 0:0:0:0,
# guest A (role a) the first initiator, guest B the second.
pr_guest() {
	_role=$(guest_role)
	wait_lun 0:0:0 240
	_sg=$(sg_of 0:0:0)
	show sg_persist --in --read-capabilities --no-inquiry "$_sg"
	if [ "$_role" = a ]; then
		pr_first "$_sg" wait_lun 0:1:0 300
	else
		mark b-ready
		wait_lun 0:1:0 300
		pr_second "$_sg"
	fi
}

# pr_first SG WAIT...: the first initiator registers key 0xaaaa, takes WRITE
# EXCLUSIVE and writes, marks a-reserved, runs WAIT... (until the other
# preempted it), and then finds its WRITE in conflict and the other's key.
pr_first() {
	_sg=$1
	shift
	run sg_persist --out --no-inquiry --register --param-sark=0xaaaa "$_sg"
	pr_settle "$_sg"
	run sg_persist --out --no-inquiry --reserve --param-rk=0xaaaa --prout-type=1 "$_sg"
	[ "$(pr_holder "$_sg")" = 0xaaaa ] || fail "the first holds no reservation after RESERVE"
	[ "$(pr_write "$_sg")" = good ] || fail "the first, the holder, cannot write"
	echo "pr: the first registered, reserved WRITE EXCLUSIVE and wrote"
	mark a-reserved
	"$@"
	_r=$(pr_write "$_sg")
	[ "$_r" = conflict ] || fail "the first's WRITE after the preemption: $_r, not RESERVATION CONFLICT"
	echo "pr: the first's WRITE after the preemption: RESERVATION CONFLICT"
	[ "$(pr_holder "$_sg")" = 0xbbbb ] || fail "the first does not see the second's reservation"
	echo "pr: the first sees the second's reservation"
}

# pr_second SG: once the first reserved, the second initiator sees the
# reservation, registers 0xbbbb, finds its WRITE in conflict, preempts the
# first, writes, and marks b-preempted.
pr_second() {
	[ "$(pr_holder "$1")" = 0xaaaa ] || fail "the second does not see the first's reservation"
	echo "pr: the second sees the first's reservation"
	run sg_persist --out --no-inquiry --register --param-sark=0xbbbb "$1"
	_r=$(pr_write "$1")
	[ "$_r" = conflict ] || fail "the second's WRITE under the first's reservation: $_r, not RESERVATION CONFLICT"
	echo "pr: the second's WRITE under the first's reservation: RESERVATION CONFLICT"
	pr_settle "$1"
	run sg_persist --out --no-inquiry --preempt --param-rk=0xbbbb --param-sark=0xaaaa \
		--prout-type=1 "$1"
	[ "$(pr_holder "$1")" = 0xbbbb ] || fail "the second holds no reservation after PREEMPT"
	[ "$(pr_write "$1")" = good ] || fail "the second, the new holder, cannot write"
	echo "pr: the second preempted the first and wrote"
	mark b-preempted
}
