# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# faults: the backing stores fail under the guest, and recover, while fio
# write+verify runs on a healthy file LUN (0:0:0:0) that must stay clean.
#   0:0:1:0  a device-mapper disk whose 512 KiB at 16 MiB is dm's `error`
#            target: reads there are MEDIUM ERROR / UNRECOVERED READ ERROR,
#            FUA writes MEDIUM ERROR / WRITE ERROR, and a write-back write
#            fails at SYNCHRONIZE CACHE; dom0 then loads a healthy table and
#            the same blocks read and write again.
#   0:0:2:0  a sparse 64 MiB file on a 16 MiB tmpfs: writes past the space
#            are DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT, never
#            a silent partial write; dom0 grows the tmpfs and writes succeed.
#   0:0:3:0  dom0's scsi_debug disk through passthrough, deleted in dom0;
#   0:0:4:0  a file LUN whose image dom0 removes: both fail their commands
#            (no connect) at once, pvscsid logs why, and the toolstack's hot
#            remove takes them from the guest.
# pvscsid only: the case checks pvscsid's sense for its own store errors
# (LIO answers them its own way).
BACKENDS="pvscsid"
TIMEOUT=900
IO_ERRORS=expected

FAULT_LBA=32768  # 16 MiB in 512-byte blocks
FAULT_BLOCKS=1024 # 512 KiB
SMALL=/var/tmp/e2e/small

# dm tables for a 64 MiB loop device: a hole of `error` at FAULT_LBA, or none.
dm_table() {
	local loop=$1 size=131072 end=$((FAULT_LBA + FAULT_BLOCKS))
	if [ "$2" = faulty ]; then
		echo "0 $FAULT_LBA linear $loop 0"
		echo "$FAULT_LBA $FAULT_BLOCKS error"
		echo "$end $((size - end)) linear $loop $end"
	else
		echo "0 $size linear $loop 0"
	fi
}

# Run by the harness after the backend stopped (lib/run-case.sh).
case_cleanup() {
	dmsetup --noudevsync remove pvfault 2>/dev/null || true
	[ -z "${LOOPDEV:-}" ] || losetup -d "$LOOPDEV" 2>/dev/null || true
	umount "$SMALL" 2>/dev/null || true
	# Bring the scsi_debug disk back for the cases after this one.
	[ -z "${SDEBUG_HOST:-}" ] ||
		echo "- - -" >"/sys/class/scsi_host/host$SDEBUG_HOST/scan" 2>/dev/null || true
}

dom0() {
	local hctl
	modprobe -a dm-mod loop
	lun_file healthy 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0

	truncate -s 64M /var/tmp/e2e/dmback.img
	LOOPDEV=$(losetup --find --show /var/tmp/e2e/dmback.img)
	# dom0 runs no udev: dmsetup makes the /dev/mapper node itself.
	dm_table "$LOOPDEV" faulty | dmsetup --noudevsync create pvfault
	dmsetup mknodes pvfault
	[ -b /dev/mapper/pvfault ] || fail "no /dev/mapper/pvfault after dmsetup create"
	vscsi_attach "$DOMID" 0 1 file:/dev/mapper/pvfault 0:0:1:0

	mkdir -p "$SMALL"
	mount -t tmpfs -o size=16M tmpfs "$SMALL"
	truncate -s 64M "$SMALL/thin.img"
	vscsi_attach "$DOMID" 0 2 "file:$SMALL/thin.img" 0:0:2:0

	lun_sdebug sg
	hctl=$(sdebug_hctl)
	SDEBUG_HOST=${hctl%%:*}
	vscsi_attach "$DOMID" 0 3 "$PDEV" 0:0:3:0
	lun_file doomed 16M
	vscsi_attach "$DOMID" 0 4 "$PDEV" 0:0:4:0
	guest_start

	guest_wait_mark media-errors-seen 300
	# The administrator reads the failing disk in pvscsid's log, in words.
	grep -q "v-dev 0:1:0 READ(10) failed: Medium Error: Unrecovered read error (11h/00h)" \
		"$PVSCSID_LOG" || fail "pvscsid did not log the READ(10)'s medium error in words"
	grep -q "v-dev 0:1:0 WRITE(10) failed: Medium Error: Write error (0Ch/00h)" "$PVSCSID_LOG" ||
		fail "pvscsid did not log the WRITE(10)'s medium error in words"
	dmsetup --noudevsync suspend pvfault
	dm_table "$LOOPDEV" healthy | dmsetup --noudevsync reload pvfault
	dmsetup --noudevsync resume pvfault
	say "pvfault: the error range is healthy again"

	guest_wait_mark nospc-seen 300
	mount -o remount,size=80M "$SMALL"
	say "$SMALL grown to 80 MiB"

	guest_wait_mark before-gone 300
	echo 1 >"/sys/class/scsi_device/$hctl/device/delete"
	rm -f /var/tmp/e2e/doomed.img
	say "scsi_debug $hctl deleted, doomed.img removed"
	guest_wait_mark gone-seen 300
	grep -q "removed from its file system" "$PVSCSID_LOG" ||
		fail "pvscsid did not log the removed image"
	grep -q "the sg device went away" "$PVSCSID_LOG" ||
		fail "pvscsid did not log the deleted scsi_debug disk"
	vscsi_hot_remove "$DOMID" 0 3
	vscsi_hot_remove "$DOMID" 0 4
}

# sg_raw's verdict on one command, sense decoded ("Medium Error ...").
raw() {
	sg_raw -v "$@" 2>&1 || true
}

# expect_sense WHAT OUTPUT KEY ASC: OUTPUT (of raw) names sense KEY and ASC.
expect_sense() {
	echo "$2" | grep -qi "Sense key: $3" && echo "$2" | grep -qi "Additional sense: $4" ||
		{
			echo "$2"
			fail "$1: expected $3 / $4"
		}
	echo "$1: $3 / $4"
}

# until_ok TIMEOUT WHAT CMD...: retry CMD until its sg_raw output says GOOD.
until_ok() {
	_t=$1 _what=$2 _i=0
	shift 2
	until raw "$@" | grep -q "SCSI Status: Good"; do
		_i=$((_i + 1))
		[ $_i -le "$_t" ] || fail "$_what did not recover within ${_t}s"
		sleep 1
	done
	echo "$_what: recovered"
}

guest() {
	for l in 0:0:0 0:1:0 0:2:0 0:3:0 0:4:0; do
		wait_lun $l
	done
	healthy=$(sd_of 0:0:0)
	(
		n=0
		while [ ! -e /tmp/faults-done ] || [ $n -eq 0 ]; do
			fio_verify "$healthy" --size=16M
			n=$((n + 1))
		done
		echo "fio: $n rounds of write+verify passed on $healthy"
	) &
	fio_pid=$!

	# --- media errors, and recovery ---
	sg=$(sg_of 0:1:0)
	lba=$(printf '%08x' $((FAULT_LBA + 8)) | sed 's/../& /g')
	out=$(raw -r 4096 "$sg" 28 00 $lba 00 00 08 00)
	expect_sense "READ(10) in the error range" "$out" "Medium Error" "Unrecovered read error"
	out=$(raw -r 4096 "$sg" 28 00 00 00 00 00 00 00 08 00)
	echo "$out" | grep -q "SCSI Status: Good" || fail "READ(10) outside the error range failed"
	dd if=/dev/urandom of=/tmp/block bs=4096 count=1 2>/dev/null
	out=$(raw -s 4096 -i /tmp/block "$sg" 2a 08 $lba 00 00 08 00)
	expect_sense "WRITE(10) FUA in the error range" "$out" "Medium Error" "Write error"
	# Through the write-back cache the error comes with the flush.
	out=$(raw -s 4096 -i /tmp/block "$sg" 2a 00 $lba 00 00 08 00)
	echo "$out" | grep -q "SCSI Status: Good" ||
		{
			echo "$out"
			fail "WRITE(10) into the write-back cache failed"
		}
	out=$(raw "$sg" 35 00 00 00 00 00 00 00 00 00)
	expect_sense "SYNCHRONIZE CACHE after it" "$out" "Medium Error" "Write error"
	mark media-errors-seen
	# Blocks no command touched yet: not in dom0's page cache, so they
	# read well only once the device does (the write-back write above left
	# its page cached).
	far=$(printf '%08x' $((FAULT_LBA + 512)) | sed 's/../& /g')
	until_ok 240 "READ(10) in the former error range" -r 4096 "$sg" 28 00 $far 00 00 08 00
	out=$(raw -s 4096 -i /tmp/block "$sg" 2a 08 $lba 00 00 08 00)
	echo "$out" | grep -q "SCSI Status: Good" ||
		{
			echo "$out"
			fail "FUA write after recovery failed"
		}
	raw -r 4096 -o /tmp/back "$sg" 28 00 $lba 00 00 08 00 >/dev/null
	cmp -s /tmp/block /tmp/back || fail "the recovered blocks do not read back what was written"
	echo "0:0:1:0 reads and writes again"

	# --- out of space, and recovery ---
	sd=$(sd_of 0:2:0)
	sg=$(sg_of 0:2:0)
	if dd if=/dev/urandom of="$sd" bs=1M count=24 oflag=direct 2>/tmp/dd.err; then
		fail "24 MiB written to a LUN on a 16 MiB file system"
	fi
	echo "dd on $sd: $(tail -n 1 /tmp/dd.err)"
	out=$(raw -s 4096 -i /tmp/block "$sg" 2a 08 00 00 a0 00 00 00 08 00)
	expect_sense "WRITE(10) FUA at 20 MiB" "$out" "Data Protect" "Space allocation failed write protect"
	mark nospc-seen
	until_ok 240 "WRITE(10) FUA at 20 MiB" -s 4096 -i /tmp/block "$sg" 2a 08 00 00 a0 00 00 00 08 00
	raw -r 4096 -o /tmp/back "$sg" 28 00 00 00 a0 00 00 00 08 00 >/dev/null
	cmp -s /tmp/block /tmp/back || fail "the block written after the space grew reads back different"
	fio_verify "$sd" --size=24M

	# --- gone: a deleted disk, a removed image ---
	mark before-gone
	for l in 0:3:0 0:4:0; do
		d=$(sd_of $l)
		_i=0
		while dd if="$d" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; do
			_i=$((_i + 1))
			[ $_i -le 120 ] || fail "$l ($d) still reads 120 s after its backing went"
			sleep 1
		done
		echo "$l ($d): its reads fail now"
	done
	mark gone-seen
	wait_gone 0:3:0 120
	wait_gone 0:4:0 120

	touch /tmp/faults-done
	wait $fio_pid || fail "fio on the healthy LUN $healthy failed"
	# The healthy LUN never saw an error (the others did, on purpose).
	if dmesg | grep -E "$DMESG_ERRORS" | grep -q "$(basename "$healthy")"; then
		dmesg | grep -E "$DMESG_ERRORS" | grep "$(basename "$healthy")" | head -n 3
		fail "the healthy LUN $healthy logged I/O errors"
	fi
}
