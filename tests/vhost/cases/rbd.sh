# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# rbd: an rbd: LUN (a Ceph RBD image through librbd, libpvscsi/store_rbd.c)
# behind pvscsi-vhost-user, seen by one QEMU guest through two
# vhost-user-scsi-pci devices: two controllers of one back-end sharing one
# unit (users=2), so the guest has two I_T nexuses to the image.  The host
# starts a private single-node Ceph cluster (tests/ceph/cluster.sh, in the
# case's directory, on a port of its own) and creates a 16 MiB image (the
# capacity of conformance.sh's file: LUN) and a 1 MiB one for a read-only
# LUN, and tears the cluster down when the case ends, however it ends.  The
# guest:
#   - fio write+verify (crc32c, QD 16) over the whole image through path a;
#   - UNMAP of a whole 4 MiB object and of 3 unaligned blocks through a:
#     GET LBA STATUS says the object is deallocated, and the image read back
#     through path b is what fio wrote with zeroes in both ranges;
#   - a reservation conflict between the two nexuses (pr_first/pr_second of
#     tests/e2e/lib/guest-lib.sh: a registers and reserves WRITE EXCLUSIVE,
#     b's WRITE gets RESERVATION CONFLICT, b preempts, a's WRITE conflicts),
#     then CLEAR;
#   - iscsi-test-cu's whole LINUX family, run by tests/e2e/cases/conformance.sh's
#     own guest() (run.sh puts it in the guest as /e2e/conformance.sh), on the
#     rbd: LUNs and then on the same layout of file: LUNs behind a third
#     controller of the same back-end.  The case fails when a test does worse
#     on rbd: than on file: (PASS > SKIP > FAIL) or gives no result: no more
#     failures than a file: LUN has.  The baseline runs here rather than
#     coming from conformance.sh's KNOWN_FAIL, which is Xen's: behind
#     vhost-user a CDB whose buffers are short is VIRTIO_SCSI_S_OVERRUN
#     before any LUN sees it (docs/vhost-user.md), so ReadOnly.ReadOnlySBC's
#     WRITE SAME without Data-Out fails on file: and rbd: alike.  Each test's
#     two verdicts and conformance.sh's list: CASEOUT/rbd-judge.txt; per-LUN
#     tables and suite times: {rbd,file}-conformance-{results,times}.txt; the
#     suite's output: iscsi-test-cu.log.  The family takes about 50 s on rbd:,
#     20 s on file:; the whole case about 2 minutes.
# Needs the ceph packages (scripts/install-deps ceph); without them it fails
# saying so, as tests/unit/rbd_ut.c does.
MODES=vhost
BOOT=own
TIMEOUT=600

# Not cluster.sh's default nor rbd_ut's: either may run beside this case.
RBD_CEPH_PORT=40795

# The case's end, however it ends: the guest's records kept, the harness's
# own (QEMU, back-ends) first, so that librbd closes the images while the
# cluster is up, then the cluster.
rbd_exit() {
	_rc=$?
	# host() and this run in bash (lib/boot.sh's host_part).
	# shellcheck disable=SC3041
	set +eEx
	# shellcheck disable=SC3047
	trap - ERR
	[ ! -e "$CASEOUT/g1/serial.log" ] ||
		rbd_records rbd-conformance-results.txt rbd-conformance-times.txt \
			file-conformance-results.txt file-conformance-times.txt iscsi-test-cu.log rbd-judge.txt
	(exit "$_rc")
	host_part_exit
	"$REPO/tests/ceph/cluster.sh" stop "$CASEOUT/ceph" >/dev/null 2>&1
}

# The console's @@R lines of FILE (record FILE ...) to CASEOUT/FILE.
rbd_records() {
	for _f in "$@"; do
		tr -d '\r' <"$CASEOUT/g1/serial.log" | sed -n "s/^@@R $_f //p" >"$CASEOUT/$_f"
	done
}

host() {
	for _b in ceph-mon ceph-osd ceph-mgr rbd; do
		command -v "$_b" >/dev/null || fail "$_b not installed (scripts/install-deps ceph)"
	done
	trap rbd_exit EXIT
	CEPH_PORT=$RBD_CEPH_PORT "$REPO/tests/ceph/cluster.sh" start "$CASEOUT/ceph" ||
		fail "the Ceph cluster did not start (see $CASEOUT/ceph/log)"
	conf=$CASEOUT/ceph/ceph.conf
	rbd -c "$conf" create rbd/lun --size 16M
	rbd -c "$conf" create rbd/ro --size 1M
	spec="rbd:rbd/lun,conf=$conf"

	backend_start rbd --socket-path="$CASEOUT/a.sock" --name=a --ctl-socket="$CASEOUT/rbd.ctl" \
		--lun "a/0:0=$spec" --lun "a/1:0=rbd:rbd/ro,conf=$conf,ro"
	backend_ctl rbd ctrl-add b "$CASEOUT/b.sock" 2 || fail "ctrl-add b refused"
	backend_ctl rbd add b/0:0 "$spec" || fail "add b/0:0 refused"
	# The baseline: the same layout of file: LUNs (conformance.sh's sizes).
	truncate -s 16M "$CASEOUT/file0.img"
	truncate -s 1M "$CASEOUT/file1.img"
	backend_ctl rbd ctrl-add c "$CASEOUT/c.sock" 2 || fail "ctrl-add c refused"
	backend_ctl rbd add c/0:0 "file:$CASEOUT/file0.img" || fail "add c/0:0 refused"
	backend_ctl rbd add c/1:0 "file:$CASEOUT/file1.img,ro" || fail "add c/1:0 refused"
	backend_ctl rbd list b >"$CASEOUT/list-b.txt"
	grep -q "^0:0 rbd:rbd/lun.* users=2\$" "$CASEOUT/list-b.txt" ||
		fail "the second controller's LUN is not the first's unit: $(cat "$CASEOUT/list-b.txt")"
	guest_boot 1 "vus:$CASEOUT/a.sock" "vus:$CASEOUT/b.sock" "vus:$CASEOUT/c.sock"
	guest_wait 1
	backend_stop rbd
	"$REPO/tests/ceph/cluster.sh" stop "$CASEOUT/ceph"
}

# rbd_node H:C:T:L scsi_generic|block: the LUN's /dev node.
rbd_node() {
	_n=$(ls "/sys/class/scsi_device/$1/device/$2/" 2>/dev/null) || return 1
	[ -n "$_n" ] && [ -e "/dev/$_n" ] && echo "/dev/$_n"
}

# rbd_paths: wait for the five LUNs (a: 0:0, 1:0; b: 0:0; c: 0:0, 1:0), each
# with its sd and sg; sets RBD_A, RBD_B, RBD_C (the SCSI host of each
# controller: a and c by the model of their 1:0, RBD or not) and sga, sgb,
# sda, sdb (the rbd: image through a and through b).
rbd_paths() {
	_i=0
	while :; do
		RBD_A="" RBD_B="" RBD_C="" _k=0
		for _d in /sys/class/scsi_device/*:0:0:0; do
			[ -e "$_d" ] || continue
			_h=$(basename "$_d")
			_h=${_h%%:*}
			for _l in "$_h:0:0:0" "$_h:0:1:0"; do
				[ -e "/sys/class/scsi_device/$_l" ] || continue
				rbd_node "$_l" block >/dev/null && rbd_node "$_l" scsi_generic >/dev/null &&
					_k=$((_k + 1))
			done
			if [ ! -e "/sys/class/scsi_device/$_h:0:1:0" ]; then
				RBD_B=$_h
			elif grep -q '^RBD' "/sys/class/scsi_device/$_h:0:1:0/device/model"; then
				RBD_A=$_h
			else
				RBD_C=$_h
			fi
		done
		[ "$_k" != 5 ] || [ -z "$RBD_A" ] || [ -z "$RBD_B" ] || [ -z "$RBD_C" ] || break
		_i=$((_i + 1))
		[ "$_i" -le 480 ] || fail "not all five LUNs appeared within 240s ($_k, hosts a=$RBD_A b=$RBD_B c=$RBD_C)"
		sleep 0.5
	done
	sga=$(rbd_node "$RBD_A:0:0:0" scsi_generic)
	sgb=$(rbd_node "$RBD_B:0:0:0" scsi_generic)
	sda=$(rbd_node "$RBD_A:0:0:0" block)
	sdb=$(rbd_node "$RBD_B:0:0:0" block)
	echo "rbd: controller a: host $RBD_A $sda $sga; controller b: host $RBD_B $sdb $sgb; controller c (file:): host $RBD_C"
}

# rbd_step NAME: the previous step's time on the console, then NAME's start.
rbd_t0=0
rbd_step() {
	_now=$(cut -d' ' -f1 /proc/uptime)
	[ "$rbd_t0" = 0 ] || echo "rbd: $rbd_step_name took $(echo "$_now $rbd_t0" | awk '{ printf "%.1f", $1 - $2 }') s"
	rbd_t0=$_now
	rbd_step_name=$1
}

# rbd_lba_status SG LBA: the first descriptor of GET LBA STATUS from LBA
# (sg_get_lba_status --brief: "LBA BLOCKS PROVISIONING-STATUS ADDITIONAL").
rbd_lba_status() {
	sg_get_lba_status -b --lba="$2" "$1" | grep -m1 '^0x' || echo "no descriptor"
}

guest() {
	rbd_paths
	# One unit through both controllers: the same serial.
	_sa=$(sg_inq -p 0x80 "$sga" | sed -n 's/.*Unit serial number: *//p')
	_sb=$(sg_inq -p 0x80 "$sgb" | sed -n 's/.*Unit serial number: *//p')
	if [ -z "$_sa" ] || [ "$_sa" != "$_sb" ]; then
		fail "the two paths show different units: '$_sa' '$_sb'"
	fi
	ua_clear "$sga"
	ua_clear "$sgb"

	rbd_step fio
	fio_verify "$sda" --size=16M

	rbd_step unmap
	# What fio left (every block written), then two ranges unmapped through
	# a: the image's second 4 MiB object (LBAs 8192..16383) whole, and the
	# unaligned LBAs 11..13.
	run dd if="$sda" of=/tmp/rbd-pat bs=1M count=16 iflag=direct
	_st=$(rbd_lba_status "$sga" 8192)
	echo "GET LBA STATUS at 8192 before UNMAP: $_st"
	# shellcheck disable=SC2086
	set -- $_st
	[ "${3:-}" = 0 ] || fail "GET LBA STATUS at 8192 after fio: '$_st', not mapped"
	run sg_unmap --force --lba=8192 --num=8192 "$sga"
	run sg_unmap --force --lba=11 --num=3 "$sga"
	_st=$(rbd_lba_status "$sga" 8192)
	echo "GET LBA STATUS at 8192 after UNMAP: $_st"
	# shellcheck disable=SC2086
	set -- $_st
	if [ "$((${1:-0}))" != 8192 ] || [ "$((${2:-0}))" != 8192 ] || [ "${3:-}" != 1 ]; then
		fail "GET LBA STATUS at 8192 after UNMAP: '$_st', not 8192 blocks deallocated"
	fi
	_st=$(rbd_lba_status "$sga" 0)
	# shellcheck disable=SC2086
	set -- $_st
	[ "${3:-}" = 0 ] || fail "GET LBA STATUS at 0 after UNMAP: '$_st', not mapped"
	dd if=/dev/zero of=/tmp/rbd-pat bs=512 seek=8192 count=8192 conv=notrunc 2>/dev/null
	dd if=/dev/zero of=/tmp/rbd-pat bs=512 seek=11 count=3 conv=notrunc 2>/dev/null
	run dd if="$sdb" of=/tmp/rbd-back bs=1M count=16 iflag=direct
	cmp /tmp/rbd-pat /tmp/rbd-back ||
		fail "the image read back through controller b is not the data with zeroes in the unmapped ranges"
	echo "rbd: UNMAP: both ranges read back as zeroes through the other controller, the rest as written"
	rm -f /tmp/rbd-pat /tmp/rbd-back

	rbd_step reservation
	# a registers 0xaaaa and reserves; b registers 0xbbbb, its WRITE gets
	# RESERVATION CONFLICT, b preempts; a's WRITE then conflicts.  CLEAR
	# leaves the LUN as conformance's PERSISTENT RESERVE tests expect it.
	pr_first "$sga" pr_second "$sgb"
	pr_settle "$sgb"
	run sg_persist --out --no-inquiry --clear --param-rk=0xbbbb "$sgb"
	ua_clear "$sga"
	ua_clear "$sgb"
	[ "$(pr_write "$sga")" = good ] || fail "a cannot write after CLEAR"

	rbd_step "conformance on rbd:"
	rbd_family rbd "$RBD_A"
	rbd_step "conformance on file:"
	rbd_family file "$RBD_C"
	rbd_step judge
	rbd_judge
	rbd_step end
}

# rbd_family TAG HOST: iscsi-test-cu's LINUX family by conformance.sh's own
# guest() on HOST's 0:0 and 1:0 (its 0:0:0 and 0:1:0), its records named
# TAG-..., its results kept in /tmp/results.TAG.  Its own verdict (against
# the lists of a file: LUN through Xen's pvscsifront) is only shown.
rbd_family() {
	rm -f /tmp/table /tmp/results /tmp/all /tmp/conformance-verdict
	echo "@@R iscsi-test-cu.log ===== $1: LUN: $(rbd_node "$2:0:0:0" scsi_generic), read-only $(rbd_node "$2:0:1:0" scsi_generic)"
	if (
		# shellcheck disable=SC1091
		. /e2e/conformance.sh
		RBD_TAG=$1
		RBD_H=$2
		# shellcheck disable=SC2317
		hctl_of() {
			[ -e "/sys/class/scsi_device/$RBD_H:$1" ] && echo "$RBD_H:$1"
		}
		RECORD_PREFIX=$RBD_TAG-
		# shellcheck disable=SC2317
		fail() {
			echo "$*" >/tmp/conformance-verdict
			exit 1
		}
		guest
	); then
		echo "rbd: $1: conformance.sh's own verdict: pass"
	else
		echo "rbd: $1: conformance.sh's own verdict (its lists are for Xen): $(cat /tmp/conformance-verdict 2>/dev/null)"
	fi
	if [ ! -s /tmp/table ] || [ ! -s /tmp/all ]; then
		fail "iscsi-test-cu on the $1: LUN gave no results: $(cat /tmp/conformance-verdict 2>/dev/null)"
	fi
	mv /tmp/results "/tmp/results.$1"
	echo "rbd: $1: $(tail -n1 /tmp/table)"
}

# The rbd: LUN against the file: LUN, test by test (PASS > SKIP > FAIL > no
# result): worse on rbd: fails the case; a test with no result on either
# too.  Each line also says whether conformance.sh lists the test.
rbd_judge() {
	(
		# shellcheck disable=SC1091
		. /e2e/conformance.sh
		printf '%s\n' "$KNOWN_FAIL" >/tmp/known_fail
		printf '%s\n' "$KNOWN_SKIP" >/tmp/known_skip
		awk "$LISTS_AWK"'
			function rank(v) { return v == "PASS" ? 3 : v == "SKIP" ? 2 : v == "FAIL" ? 1 : 0 }
			BEGIN {
				nf = load("/tmp/known_fail", kf, kfw)
				ns = load("/tmp/known_skip", ks, ksw)
			}
			FILENAME == "/tmp/all" { all[++n] = $1; next }
			{
				t = $2; sub(/:.*/, "", t)
				# Two verdicts for one test (none should come) rank as no result.
				if (FILENAME == "/tmp/results.rbd") { if (t in r) r[t] = r[t] "+" $1; else r[t] = $1 }
				else if (t in f) f[t] = f[t] "+" $1
				else f[t] = $1
			}
			END {
				for (i = 1; i <= n; i++) {
					t = all[i]
					vr = (t in r) ? r[t] : "NONE"
					vf = (t in f) ? f[t] : "NONE"
					if (find(t, kf, nf)) lst = "conformance.sh: KNOWN_FAIL"
					else if (find(t, ks, ns)) lst = "conformance.sh: KNOWN_SKIP"
					else lst = "conformance.sh: passes"
					if (vr == "NOTRUN" && vf == "NOTRUN") what = "OK"
					else if (rank(vr) == 0 || rank(vf) == 0) what = "BAD"
					else if (rank(vr) < rank(vf)) what = "BAD"
					else if (rank(vr) > rank(vf)) what = "BETTER"
					else what = "OK"
					printf "%-6s %-45s rbd:%-8s file:%-8s (%s)\n", what, t, vr, vf, lst
				}
			}
		' /tmp/all /tmp/results.rbd /tmp/results.file >/tmp/judge
	) || fail "judging the conformance results failed"
	record rbd-judge.txt cat /tmp/judge
	echo "rbd: $(grep -c '^OK ' /tmp/judge) tests alike, $(grep -c '^BETTER ' /tmp/judge) better and $(grep -c '^BAD ' /tmp/judge) worse on rbd: than on file:; not PASS on both:"
	grep -E '^(BAD|BETTER) |^OK .* rbd:(FAIL|SKIP)' /tmp/judge || true
	if grep -q '^BAD ' /tmp/judge; then
		fail "conformance: rbd: worse than file: in $(grep -c '^BAD ' /tmp/judge) tests, first $(grep -m1 '^BAD ' /tmp/judge | awk '{ print $2, $3, $4 }') (see rbd-judge.txt)"
	fi
}
