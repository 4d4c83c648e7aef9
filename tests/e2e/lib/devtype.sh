# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# dom0's real tape library and CD drive, for the device-type cases (tape,
# optical, devtype_filter).  Sourced by lib/run-case.sh after harness.sh.
# docs/plans/device-types.md, sections 2 and 3, has the recipe and its pitfalls.
#
#   vtl_start          tgtd exports a tape drive (LUN 1, empty) and a medium
#                      changer (LUN 2: one drive, 4 slots, TAPE01-03 in slots
#                      1-3) on 127.0.0.1:3260; dom0's own open-iscsi logs in,
#                      so /dev/st0, /dev/nst0, /dev/sch0 and their sg nodes
#                      appear.  Call vtl_stop from the case's case_cleanup.
#   vtl_stop           log out, stop iscsid and tgtd; safe to call twice
#   vtl_hctl tape|changer   the H:C:T:L of that LUN in dom0
#   vtl_tape_file BARCODE   the file behind a cartridge (tgt's media_home)
#   cdrom_start        the QEMU scsi-cd (boot.sh) as dom0's /dev/srN
#   cdrom_hctl         its H:C:T:L
#   cdrom_stop         close its tray (a failed case may have left it open)
#                      and unload its HBA's driver: dom0 as before cdrom_start
#   hctl_sg HCTL       the sg node (sgN) of a SCSI device
#
# Everything the library writes is in dom0's tmpfs overlay; the build
# machine's tgt and open-iscsi configuration and databases (/etc/iscsi,
# /etc/tgt) are replaced or ignored, never used.

VTL_DIR=/var/tmp/vtl
VTL_RUN=/run/e2e-vtl
VTL_IQN=iqn.2024-01.org.pvscsi:vtl
VTL_PORTAL=127.0.0.1:3260
VTL_INITIATOR=iqn.2024-01.org.pvscsi:dom0
# The LUNs of tgt's target and the INQUIRY model each reports.
VTL_MODEL_TAPE=VIRTUAL-TAPE
VTL_MODEL_CHANGER=VIRTUAL-CHANGER
# The QEMU scsi-cd's product (tests/e2e/lib/boot.sh).
CDROM_MODEL=E2E-ISO

# H:C:T:L of the first SCSI device whose INQUIRY model is $1 (sysfs pads it).
scsi_hctl_by_model() {
	local d m
	for d in /sys/bus/scsi/devices/[0-9]*:*:*:*; do
		[ -f "$d/model" ] || continue
		m=$(sed 's/ *$//' "$d/model")
		[ "$m" = "$1" ] && basename "$d" && return 0
	done
	return 0
}
hctl_sg() { ls "/sys/bus/scsi/devices/$1/scsi_generic/" 2>/dev/null; }

vtl_hctl() {
	case $1 in
	tape) scsi_hctl_by_model "$VTL_MODEL_TAPE" ;;
	changer) scsi_hctl_by_model "$VTL_MODEL_CHANGER" ;;
	*) fail "vtl_hctl: unknown LUN '$1' (tape, changer)" ;;
	esac
}
vtl_tape_file() { echo "$VTL_DIR/$1"; }

# Both LUNs present, each with its sg node and its driver's node (st, ch).
vtl_ready() {
	local t c
	t=$(vtl_hctl tape)
	c=$(vtl_hctl changer)
	[ -n "$t" ] && [ -n "$c" ] && [ -n "$(hctl_sg "$t")" ] && [ -n "$(hctl_sg "$c")" ] &&
		[ -d "/sys/bus/scsi/devices/$t/scsi_tape" ] && [ -d "/sys/bus/scsi/devices/$c/scsi_changer" ]
}

vtl_pid() { cat "$VTL_RUN/$1.pid" 2>/dev/null || true; }
vtl_alive() {
	local pid
	pid=$(vtl_pid "$1")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
# The abstract socket iscsiadm talks to iscsid on.
iscsid_listening() { grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix; }
tgtd_listening() { [ -S /var/run/tgtd/socket.0 ]; }

# The files open-iscsi reads, ours: the build machine's iscsid.conf starts
# iscsid through systemctl (no systemd in dom0), waits 120 s before failing
# commands of a lost session, and its node database may hold targets.
vtl_iscsi_config() {
	rm -rf /etc/iscsi/nodes /etc/iscsi/send_targets /etc/iscsi/static /etc/iscsi/isns \
		/etc/iscsi/fw /etc/iscsi/slp /run/lock/iscsi
	mkdir -p /etc/iscsi /run/lock/iscsi
	echo "InitiatorName=$VTL_INITIATOR" >/etc/iscsi/initiatorname.iscsi
	cat >/etc/iscsi/iscsid.conf <<EOT
# Written by tests/e2e/lib/devtype.sh in dom0 (tmpfs overlay).
iscsid.startup = /bin/false
node.startup = manual
node.leading_login = No
node.session.timeo.replacement_timeout = 15
node.conn[0].timeo.login_timeout = 15
node.conn[0].timeo.logout_timeout = 15
node.conn[0].timeo.noop_out_interval = 0
node.conn[0].timeo.noop_out_timeout = 0
node.session.err_timeo.abort_timeout = 15
node.session.err_timeo.lu_reset_timeout = 30
node.session.err_timeo.tgt_reset_timeout = 30
node.session.initial_login_retry_max = 8
node.session.cmds_max = 128
node.session.queue_depth = 32
node.session.iscsi.InitialR2T = No
node.session.iscsi.ImmediateData = Yes
node.session.iscsi.FirstBurstLength = 262144
node.session.iscsi.MaxBurstLength = 16776192
node.conn[0].iscsi.MaxRecvDataSegmentLength = 262144
node.conn[0].iscsi.MaxXmitDataSegmentLength = 0
node.session.nr_sessions = 1
node.session.scan = auto
EOT
}

# dom0_iscsi_login IQN PORTAL: iscsid started on our own configuration
# (vtl_iscsi_config), and a login to IQN at PORTAL through a node record of
# our own (no discovery, nothing from the build machine).  $VTL_RUN holds
# iscsid's pid for vtl_stop and san_kernel_logout.
dom0_iscsi_login() {
	vtl_iscsi_config
	setsid iscsid -f -n </dev/null >"$CASEOUT/iscsid.log" 2>&1 3>&- &
	echo $! >"$VTL_RUN/iscsid.pid"
	wait_for "iscsid's socket" 20 iscsid_listening || fail "iscsid did not start: $(tail -n 3 "$CASEOUT/iscsid.log" | tr '\n' ' ')"
	iscsiadm -m node -o new -T "$1" -p "$2" >&2
	iscsiadm -m node -T "$1" -p "$2" --login >&2 ||
		fail "dom0's iSCSI login to $1 at $2 failed (see dom0.log, iscsid.log, tgtd.log)"
}

# tgtd's target: LUN 1 an empty tape drive, LUN 2 a changer with one drive
# (element 2, which is LUN 1), slots 1000-1003 (mtx's 1-4) holding TAPE01-03.
vtl_target() {
	local a="tgtadm --lld iscsi --mode logicalunit --tid 1" i
	tgtadm --lld iscsi --op new --mode target --tid 1 -T "$VTL_IQN"
	# A tape LUN needs a backing file when it is made (else bs null): an
	# empty cleaning cartridge, and the drive offline = no cartridge loaded.
	$a --op new --lun 1 -b "$VTL_DIR/NOTAPE" --device-type tape
	$a --op update --lun 1 --params online=0
	$a --op new --lun 2 -b "$VTL_DIR/smc" --device-type changer
	$a --op update --lun 2 --params media_home="$VTL_DIR"
	$a --op update --lun 2 --params element_type=1,start_address=1,quantity=1
	$a --op update --lun 2 --params element_type=4,start_address=2,quantity=1
	$a --op update --lun 2 --params element_type=4,address=2,tid=1,lun=1
	$a --op update --lun 2 --params element_type=2,start_address=1000,quantity=4
	for i in 1 2 3; do
		$a --op update --lun 2 --params "element_type=2,address=$((999 + i)),barcode=TAPE0$i,sides=1"
	done
	tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
}

vtl_start() {
	local i
	[ "$(stat -f -c %T /)" = overlayfs ] || fail "vtl_start: / is not dom0's overlay; refusing to touch /etc/iscsi"
	vtl_stop
	# dom0-init never brings loopback up.
	ip link set lo up
	# dom0 cannot autoload modules (the kernel's modprobe runs in the
	# initramfs, which has none): iscsi_tcp's connections need crc32c.
	modprobe -a sg st ch iscsi_tcp crc32c_generic
	mkdir -p "$VTL_RUN" "$VTL_DIR"
	rm -rf "${VTL_DIR:?}"/* /var/run/tgtd
	tgtimg --op new --device-type tape --barcode NOTAPE --size 1 --type clean \
		--file "$VTL_DIR/NOTAPE" >/dev/null
	for i in 1 2 3; do
		tgtimg --op new --device-type tape --barcode "TAPE0$i" --size 64 --type data \
			--file "$VTL_DIR/TAPE0$i" >/dev/null
	done
	dd if=/dev/zero of="$VTL_DIR/smc" bs=1k count=1 status=none
	# -f: in the foreground, its log on stderr.  Loopback only: without
	# portal= it listens on every address.
	# Both daemons in a session of their own: iscsid's SIGTERM handler
	# signals its whole process group (killpg), which would be this case.
	setsid tgtd -f --iscsi portal="$VTL_PORTAL" </dev/null >"$CASEOUT/tgtd.log" 2>&1 3>&- &
	echo $! >"$VTL_RUN/tgtd.pid"
	wait_for "tgtd's socket" 20 tgtd_listening || fail "tgtd did not start: $(tail -n 3 "$CASEOUT/tgtd.log" | tr '\n' ' ')"
	vtl_target >&2 || fail "setting up tgtd's target failed (see dom0.log)"
	tgtadm --lld iscsi --op show --mode target >"$CASEOUT/tgt-target.txt"

	dom0_iscsi_login "$VTL_IQN" "$VTL_PORTAL"
	wait_for "the tape library's LUNs" 60 vtl_ready ||
		fail "tape drive or changer did not appear in dom0: $(lsscsi -g 2>&1 | tr '\n' ';')"
	say "tape library up: tape $(vtl_hctl tape) (/dev/$(hctl_sg "$(vtl_hctl tape)")," \
		"$(ls "/sys/bus/scsi/devices/$(vtl_hctl tape)/scsi_tape" | tr '\n' ' ')), changer $(vtl_hctl changer)" \
		"(/dev/$(hctl_sg "$(vtl_hctl changer)"), $(ls "/sys/bus/scsi/devices/$(vtl_hctl changer)/scsi_changer"))"
}

# Stop what vtl_start started (the pids it recorded; never by name).
vtl_stop() {
	local pid n
	if [ -d /sys/class/iscsi_session ] && [ -n "$(ls /sys/class/iscsi_session 2>/dev/null)" ]; then
		# Without a logout the kernel would wait replacement_timeout for tgtd.
		iscsiadm -m node -T "$VTL_IQN" -p "$VTL_PORTAL" --logout >&2 || true
	fi
	iscsiadm -m node -o delete -T "$VTL_IQN" -p "$VTL_PORTAL" >/dev/null 2>&1 || true
	for n in iscsid tgtd; do
		pid=$(vtl_pid "$n")
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			if [ "$n" = tgtd ]; then
				# tgtd's own way out; SIGTERM if it does not take it.
				tgtadm --lld iscsi --op delete --mode target --tid 1 --force >&2 || true
				tgtadm --lld iscsi --op delete --mode system >&2 || true
				wait_for "tgtd exit" 5 eval "! kill -0 $pid 2>/dev/null" || true
			fi
			if kill -0 "$pid" 2>/dev/null; then
				kill -TERM "$pid" 2>/dev/null || true
				wait_for "$n exit" 10 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
			fi
			wait "$pid" 2>/dev/null || true
		fi
		rm -f "$VTL_RUN/$n.pid"
	done
	return 0
}

# --- the CD drive: QEMU's scsi-cd on a virtio-scsi HBA (lib/boot.sh) ---

cdrom_hctl() { scsi_hctl_by_model "$CDROM_MODEL"; }
cdrom_ready() {
	local h
	h=$(cdrom_hctl)
	[ -n "$h" ] && [ -n "$(hctl_sg "$h")" ] && [ -n "$(ls "/sys/bus/scsi/devices/$h/block" 2>/dev/null)" ]
}
cdrom_start() {
	modprobe -a virtio_scsi sr_mod sg
	wait_for "the CD drive" 30 cdrom_ready ||
		fail "no SCSI device with model $CDROM_MODEL in dom0 (is the QEMU scsi-cd there? $(lsscsi -g 2>&1 | tr '\n' ';'))"
	say "CD drive $(cdrom_hctl): /dev/$(ls "/sys/bus/scsi/devices/$(cdrom_hctl)/block") /dev/$(hctl_sg "$(cdrom_hctl)")"
}
cdrom_stop() {
	local h
	h=$(cdrom_hctl)
	[ -z "$h" ] || eject -t "/dev/$(ls "/sys/bus/scsi/devices/$h/block")" >&2 || true
	modprobe -r virtio_scsi >&2 || true
}

# --- a disk target for the iscsi:// cases (tests/iscsi/tgtd.sh) ---

# san_start DIR PORT CTL: dom0's private tgtd on 127.0.0.1:PORT, control
# port CTL, its LUN images in DIR (kept across a stop and start); SAN_URL
# is then the URL of its disk target, to which /LUN is added.  san_destroy
# DIR from case_cleanup.
san_start() {
	# dom0-init never brings loopback up.
	ip link set lo up
	"$REPO/tests/iscsi/tgtd.sh" start "$1" "$2" "$3" >&2 || fail "tgtd did not start (see dom0.log)"
	SAN_URL="iscsi://127.0.0.1:$2/iqn.2026-12.org.pvscsi.test:disk"
}
san_destroy() {
	san_kernel_logout
	[ ! -x "$REPO/tests/iscsi/tgtd.sh" ] || "$REPO/tests/iscsi/tgtd.sh" destroy "$1" >/dev/null 2>&1
}

# san_kernel_login PORT LUN: dom0's own open-iscsi logs in to the disk
# target of san_start (one session: dom0's single I_T nexus, the way
# administrators pass SAN LUNs through today); SAN_KSG is then LUN's sg
# node (sgN).  san_destroy logs out.
san_kernel_login() {
	local iqn=iqn.2026-12.org.pvscsi.test:disk portal=127.0.0.1:$1 h d
	[ "$(stat -f -c %T /)" = overlayfs ] || fail "san_kernel_login: / is not dom0's overlay; refusing to touch /etc/iscsi"
	modprobe -a sg iscsi_tcp crc32c_generic
	mkdir -p "$VTL_RUN"
	dom0_iscsi_login "$iqn" "$portal"
	SAN_KSG=""
	for _ in $(seq 60); do
		for d in /sys/class/iscsi_session/session*/device/target*/[0-9]*:*:*:"$2"; do
			[ -e "$d" ] || continue
			h=$(basename "$d")
			SAN_KSG=$(hctl_sg "$h")
		done
		[ -z "$SAN_KSG" ] || break
		sleep 0.5
	done
	[ -n "$SAN_KSG" ] || fail "dom0's session has no LUN $2 with an sg node: $(lsscsi -g 2>&1 | tr '\n' ';')"
	say "dom0's kernel initiator ($VTL_INITIATOR) logged in to $iqn: LUN $2 is $h, /dev/$SAN_KSG"
}
san_kernel_logout() {
	local pid
	pid=$(vtl_pid iscsid)
	[ -n "$pid" ] || return 0
	iscsiadm -m node --logoutall=all >&2 2>/dev/null || true
	iscsiadm -m node -o delete >/dev/null 2>&1 || true
	kill -TERM "$pid" 2>/dev/null || true
	wait_for "iscsid exit" 10 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$VTL_RUN/iscsid.pid"
}
