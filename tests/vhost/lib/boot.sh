# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# tests/vhost: the modes, the guests' QEMU, the standard boot and how each
# case runs.  Sourced by run.sh after tests/lib/qemu.sh and lib/harness.sh.
#
# A mode is a back-end behind a QEMU:
#   vhost    pvscsi-vhost-user behind Debian's QEMU (7.2)
#   ref      QEMU's own virtio-scsi-pci + scsi-hd (the reference)
#   restart  pvscsi-vhost-user behind a QEMU whose vhost-user-scsi reconnects
#            (>= 8.2; Debian 12's 7.2 has no chardev event handling in
#            hw/scsi/vhost-user-scsi.c): bookworm-backports', unpacked under
#            build/vhost/bpo, never installed
# Each mode runs its cases in one standard boot (below), one after the other,
# then each case with BOOT=own, which boots its own guests.

# shellcheck source=../../lib/cases.sh
. "$VH_DIR/../lib/cases.sh"
vh_case_var() { case_file_var "$VH_DIR/cases/$1.sh" "$2"; }
# An own boot's time limit per guest, 600 s unless the case says otherwise.
vh_case_timeout() { case_file_timeout "$VH_DIR/cases/$1.sh" 600; }

# A QEMU whose vhost-user-scsi reconnects: bookworm-backports', downloaded
# with apt-get into a private apt state (the system's sources stay as they
# are) and unpacked, like the e2e kernel.  Prints the binary's path.
QEMU_BPO_PKGS="qemu-system-x86 qemu-system-data seabios"
fetch_reconnect_qemu() {
	local d=$OUT/bpo a
	if [ -x "$d/root/usr/bin/qemu-system-x86_64" ]; then
		echo "$d/root/usr/bin/qemu-system-x86_64"
		return 0
	fi
	log "fetching QEMU from bookworm-backports (vhost-user-scsi reconnect)"
	mkdir -p "$d/apt/lists/partial" "$d/apt/cache/archives/partial" "$d/debs"
	echo "deb http://deb.debian.org/debian bookworm-backports main" >"$d/apt/sources.list"
	a=(-o "Dir::Etc::SourceList=$d/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$d/apt/lists" -o "Dir::Cache=$d/apt/cache")
	apt-get -q "${a[@]}" update >&2 || die "apt-get update (bookworm-backports) failed"
	# shellcheck disable=SC2046
	(cd "$d/debs" && apt-get -q "${a[@]}" download $(printf '%s/bookworm-backports ' $QEMU_BPO_PKGS)) >&2 ||
		die "apt-get download of $QEMU_BPO_PKGS failed"
	for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/root"; done
	"$d/root/usr/bin/qemu-system-x86_64" --version >&2 || die "the unpacked QEMU does not run"
	echo "$d/root/usr/bin/qemu-system-x86_64"
}

# mode_setup MODE: MODE, RUN and what the mode's guests boot with
# (MODE_QEMU, MODE_QEMU_ARGS, MODE_CHARDEV_OPTS for a vhost-user socket,
# MODE_SHARED_MEM); returns 1 with MODE_ERROR if the mode cannot run here.
mode_setup() {
	MODE=$1
	RUN=$OUT/$MODE
	MODE_QEMU=qemu-system-x86_64
	MODE_QEMU_ARGS=()
	MODE_CHARDEV_OPTS=""
	# A vhost-user back-end maps guest RAM from the memfd QEMU passes.
	MODE_SHARED_MEM=1
	MODE_ERROR=""
	rm -rf "$RUN"
	mkdir -p "$RUN"
	case $MODE in
	vhost) ;;
	ref) MODE_SHARED_MEM=0 ;;
	restart)
		MODE_QEMU=$(fetch_reconnect_qemu) || {
			MODE_ERROR="no QEMU that reconnects vhost-user-scsi"
			return 1
		}
		MODE_QEMU_ARGS=(-L "$OUT/bpo/root/usr/share/seabios" -L "$OUT/bpo/root/usr/share/qemu")
		MODE_CHARDEV_OPTS=",reconnect-ms=500"
		;;
	*)
		MODE_ERROR="unknown mode '$MODE' (vhost, ref, restart)"
		return 1
		;;
	esac
}

# vh_qemu DIR CASES N TIMEOUT [QEMU-ARG...]: boot a guest of the mode in the
# background (QEMU_PID): the vhost guest initramfs, 512 MiB, 2 vCPUs; it runs
# CASES (comma-separated) as guest N.  DIR gets serial.log, qemu.log, the
# monitor's mon.sock, run.pid, and host.sock: a second serial port (the
# guest's ttyS1), on which guest_tell sends the guest words.
vh_qemu() {
	local dir=$1 cases=$2 n=$3 t=$4 shm=()
	shift 4
	[ "$MODE_SHARED_MEM" = 0 ] || shm=(--shared-mem)
	qemu_start --bin "$MODE_QEMU" --serial "$dir/serial.log" --log "$dir/qemu.log" --timeout "$t" \
		--mem 512 --smp 2 --nodefaults ${shm[@]+"${shm[@]}"} \
		--kernel "$KERNEL" --initrd "$OUT/guest.cpio.gz" \
		--append "console=ttyS0 loglevel=4 e2e.mode=$MODE e2e.cases=$cases e2e.guest=$n" \
		-- ${MODE_QEMU_ARGS[@]+"${MODE_QEMU_ARGS[@]}"} -monitor "unix:$dir/mon.sock,server=on,wait=off" \
		-chardev "socket,id=hostctl,path=$dir/host.sock,server=on,wait=off" -device isa-serial,chardev=hostctl \
		"$@"
	echo "$QEMU_PID" >"$dir/run.pid"
}

# --- a case's host part ---

# host_part CASE shared|own: the case's host() in this (background) process;
# its verdict goes to CASEOUT/host-result, its trace to CASEOUT/host.log.
host_part() {
	CASE=$1
	BOOT=$2
	CASEOUT=$RUN/$CASE
	TIMEOUT=600
	# Not the standard guest: only what this process starts is its own.
	QEMU_PIDS=()
	GUEST_PID=()
	mkdir -p "$CASEOUT"
	rm -f "$CASEOUT/host-result"
	exec >>"$CASEOUT/host.log" 2>&1
	PS4='+ ${EPOCHREALTIME%????} '
	set -eE
	trap host_part_exit EXIT
	trap 'exit 143' TERM
	# Only at this level: a command substitution that fails inside, as
	# `case $(cmd) in` may, is not a failure of the case.  A subshell that
	# fails fails here.
	HOST_LEVEL=$BASH_SUBSHELL
	trap '[ "$BASH_SUBSHELL" != "$HOST_LEVEL" ] || fail "host: line $LINENO: \`$BASH_COMMAND\` failed"' ERR
	# shellcheck disable=SC1090
	. "$VH_DIR/cases/$CASE.sh"
	if declare -F host >/dev/null; then
		set -x
		host
		[ "$BOOT" != own ] || guest_wait_all
		set +x
	elif [ "$BOOT" = own ]; then
		fail "BOOT=own, but no host() to boot the guests"
	fi
	host_verdict PASS
}

# The guests and back-ends the case started go with it.
host_part_exit() {
	local rc=$? f
	set +eEx
	trap - ERR
	qemu_kill_all
	for f in "$CASEOUT"/*.args; do
		[ -e "$f" ] && backend_stop "$(basename "$f" .args)"
	done
	[ -s "$CASEOUT/host-result" ] ||
		host_verdict FAIL "host part ended with status $rc without a verdict (see host.log)"
}

# --- the standard boot ---

# std_boot CASES: the mode's standard guest, LUNs in RUN:
#   0:0 img0 (64 MiB), 0:1 img3 (16 MiB), 1:0 img1 (64 MiB) from the start,
#   img2 (32 MiB) for a hot add at 2:0 (ref declares it as drive hp);
# it runs CASES (space-separated) in this order in one boot, each case's
# host() beside its guest().  Writes RUN/CASE/result for each case and
# RUN/view.txt, the guest's view.
std_boot() {
	local cases=$1 dev=() qpid rc=0 fpid
	truncate -s 64M "$RUN/img0" "$RUN/img1"
	truncate -s 16M "$RUN/img3"
	truncate -s 32M "$RUN/img2"
	if [ "$MODE" = ref ]; then
		declare -gA REF_DRIVE=([0:0]=d0 [0:1]=d3 [1:0]=d1 [2:0]=hp)
		declare -gA REF_IMAGE=([0:0]=$RUN/img0 [0:1]=$RUN/img3 [1:0]=$RUN/img1 [2:0]=$RUN/img2)
		dev=(-device virtio-scsi-pci,id=scsi0,num_queues=2
			-drive "if=none,id=d0,file=$RUN/img0,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=d0
			-drive "if=none,id=d3,file=$RUN/img3,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=d3
			-drive "if=none,id=d1,file=$RUN/img1,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=1,lun=0,drive=d1
			-drive "if=none,id=hp,file=$RUN/img2,format=raw")
	else
		# 1:0 makes its buffered writes in the event loop (writes=inline):
		# fio.sh verifies it beside 0:0, which goes through io_uring.
		backend_start backend --socket-path="$RUN/vhost.sock" --ctl-socket="$RUN/ctl.sock" \
			--lun "0:0=file:$RUN/img0" --lun "0:1=file:$RUN/img3" \
			--lun "1:0=file:$RUN/img1,writes=inline"
		expand_devices dev "vus:$RUN/vhost.sock"
	fi
	log "$MODE: booting the guest under QEMU (TCG)"
	vh_qemu "$RUN" "${cases// /,}" 1 "${VHOST_E2E_TIMEOUT:-600}" "${dev[@]}"
	qpid=$QEMU_PID
	# In the background, so that a signal reaches this shell's traps at once.
	qemu_console "$qpid" "$RUN/serial.log" | dispatch &
	fpid=$!
	wait "$fpid" || true
	qemu_wait "$qpid" || rc=$?
	[ "$MODE" = ref ] || backend_stop backend
	sed -n 's/^@@R view.txt //p' "$RUN/serial.log" | tr -d '\r' |
		sed -E 's|/dev/sg[0-9]+|/dev/sgN|g; s|/dev/sd[a-z]+|/dev/sdX|g' >"$RUN/view.txt"
	if qemu_timed_out "$rc"; then
		log "$MODE: QEMU timed out after ${VHOST_E2E_TIMEOUT:-600}s (see $RUN/serial.log)"
	elif [ "$rc" != 0 ]; then
		log "$MODE: QEMU exited with status $rc (see $RUN/qemu.log)"
	fi
}

# Follow the standard guest's console (stdin): each case's lines go to
# RUN/CASE/console.log, where its host part reads them; the host part starts
# when the guest starts the case and is waited for when the guest reports.
dispatch() {
	local line cur="" hpid=""
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"@@VH RUN "*)
			[ -z "$cur" ] || case_end "$cur" "$hpid" 5
			cur=${line#@@VH RUN }
			mkdir -p "$RUN/$cur"
			: >"$RUN/$cur/console.log"
			host_part "$cur" shared &
			hpid=$!
			;;
		esac
		[ -z "$cur" ] || printf '%s\n' "$line" >>"$RUN/$cur/console.log"
		case $line in
		"@@VH CASE $cur PASS" | "@@VH CASE $cur FAIL"*)
			case_end "$cur" "$hpid" 30
			cur=""
			;;
		esac
	done
	[ -z "$cur" ] || case_end "$cur" "$hpid" 5
}

# case_end CASE PID GRACE: the guest is done with CASE; give its host part
# GRACE seconds to finish, then the verdict (also printed).
case_end() {
	local c=$1 pid=$2 i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $(($3 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		CASEOUT=$RUN/$c host_verdict FAIL "host part still running ${3}s after the guest part ended"
		kill -TERM "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	shared_verdict "$c"
	echo "$MODE/$c: $(cat "$RUN/$c/result")" >&2
}

# PASS if the guest said so and the host part ran through.
shared_verdict() {
	local c=$1 g h r
	g=$(sed -n -E "s/^@@VH CASE $c (PASS|FAIL.*)\$/\1/p" "$RUN/$c/console.log" 2>/dev/null | head -n1)
	h=$(cat "$RUN/$c/host-result" 2>/dev/null || true)
	case $g in
	"") r="FAIL no result (see $RUN/serial.log)" ;;
	FAIL*) r=$g ;;
	*)
		case $h in
		PASS) r=PASS ;;
		FAIL*) r="FAIL host: ${h#FAIL }" ;;
		*) r="FAIL host part gave no verdict (see $RUN/$c/host.log)" ;;
		esac
		;;
	esac
	echo "$r" >"$RUN/$c/result"
}

# --- a case with its own guests ---

own_case() {
	local c=$1 hp t end r
	t=$(vh_case_timeout "$c")
	mkdir -p "$RUN/$c"
	log "$MODE/$c: the case boots its own guests"
	host_part "$c" own &
	hp=$!
	OWN_HOST_PART=$hp
	# Guests have their own time limit; this is the safety net.
	end=$((SECONDS + t + 120))
	while kill -0 "$hp" 2>/dev/null; do
		if [ "$SECONDS" -ge "$end" ]; then
			CASEOUT=$RUN/$c host_verdict FAIL "case did not finish within $((t + 120))s (killed)"
			kill -TERM "$hp" 2>/dev/null || true
		fi
		sleep 1
	done
	wait "$hp" 2>/dev/null || true
	OWN_HOST_PART=""
	r=$(cat "$RUN/$c/host-result" 2>/dev/null || true)
	echo "${r:-FAIL host part gave no verdict (see $RUN/$c/host.log)}" >"$RUN/$c/result"
	echo "$MODE/$c: $(cat "$RUN/$c/result")" >&2
}

# run_mode MODE CASES: every case of MODE, in order; RUN/CASE/result each.
run_mode() {
	local m=$1 cases=$2 c shared="" own=""
	if ! mode_setup "$m"; then
		log "$m: $MODE_ERROR: cases not run"
		for c in $cases; do
			mkdir -p "$RUN/$c"
			echo "FAIL not run: $MODE_ERROR" >"$RUN/$c/result"
		done
		return 0
	fi
	for c in $cases; do
		if [ "$(vh_case_var "$c" BOOT)" = own ]; then own="$own $c"; else shared="$shared $c"; fi
	done
	[ -z "$shared" ] || std_boot "${shared# }"
	for c in $own; do
		own_case "$c"
	done
}
