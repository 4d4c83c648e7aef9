#!/bin/bash
# End to end: pvscsi-vhost-user behind QEMU's vhost-user-scsi-pci (TCG, guest
# RAM a shared memfd), the Debian kernel's virtio_scsi in a busybox guest,
# and the same guest cases against QEMU's own virtio-scsi-pci + scsi-hd on
# the same kind of images as the reference.  One boot per back-end; the
# guest runs every case (tests/vhost/guest.sh) in that boot.
#
# usage: tests/vhost/run.sh [-m "vhost ref restart"]
#   -m MODES  vhost: pvscsi-vhost-user behind Debian's QEMU; ref: QEMU's own
#             virtio-scsi (the reference); restart: pvscsi-vhost-user killed
#             and started again during fio verify, behind a QEMU that
#             reconnects vhost-user-scsi (>= 8.2: bookworm-backports' QEMU,
#             unpacked under build/vhost/bpo, never installed)
# Prints one line per case ("MODE/CASE: PASS|FAIL ..."), the differences of
# the guest's view between the two, and a last line "N passed, N failed".
# Logs: build/vhost/<mode>/{serial.log,backend.log,qemu.log,view.txt}.
# Assets (kernel) come from tests/e2e/lib/assets.sh, the initramfs helpers
# from tests/e2e/lib/initramfs.sh and the guest helpers from
# tests/e2e/lib/guest-lib.sh.
set -eu

VH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$VH_DIR/../.." && pwd)
E2E_DIR=$REPO/tests/e2e
BUILD=$REPO/build/e2e
OUT=$REPO/build/vhost
BIN=${VHOST_BIN:-$REPO/build/rel/pvscsi-vhost-user}
# shellcheck source=../e2e/lib/assets.sh
. "$E2E_DIR/lib/assets.sh"
# shellcheck source=../e2e/lib/initramfs.sh
. "$E2E_DIR/lib/initramfs.sh"

modes="vhost ref restart"
while [ $# -gt 0 ]; do
	case $1 in
	-m) modes=$2; shift ;;
	-h | --help) sed -n '9,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) sed -n '9,20s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
	shift
done
[ "$modes" = both ] && modes="vhost ref"

# The cases each boot runs (guest.sh).  Debian 12's QEMU 7.2 cannot
# reconnect a vhost-user-scsi back-end (no chardev event handling in
# hw/scsi/vhost-user-scsi.c before 8.2), so the restart runs on a newer one.
declare -A CASES_OF=([vhost]=discover,inq,readcap,luns,fio,hotplug,resize
	[ref]=discover,inq,readcap,luns,fio,hotplug,resize [restart]=discover,restart)
[ -x "$BIN" ] || die "$BIN not built (make all)"

GUEST_MODULES="virtio_pci virtio_scsi sd_mod sg"
GUEST_TOOLS="sg_inq sg_readcap sg_luns lsscsi fio"

build_guest_initramfs() {
	local img=$OUT/guest.cpio.gz root=$OUT/guest-root sum tools t
	tools=""
	for t in $GUEST_TOOLS; do
		tools="$tools $(command -v "$t")" || die "guest tool $t not installed"
	done
	# shellcheck disable=SC2086
	sum=$({
		inputs_sum "$VH_DIR/guest-init" "$VH_DIR/guest.sh" "$E2E_DIR/lib/guest-lib.sh" \
			"$VH_DIR/run.sh" /bin/busybox $tools
		echo "$KVER"
	} | sha256sum | cut -d' ' -f1)
	if [ -s "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	log "building the vhost guest initramfs"
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,tmp,etc,e2e,lib/modules}
	install_busybox "$root"
	# shellcheck disable=SC2086
	copy_with_libs "$root" $tools
	# shellcheck disable=SC2086
	for p in $(mod_closure $GUEST_MODULES); do
		cp "$MODDIR/$p" "$root/lib/modules/"
		basename "$p" >>"$root/etc/modules"
	done
	install -m 755 "$VH_DIR/guest-init" "$root/init"
	install -m 644 "$VH_DIR/guest.sh" "$E2E_DIR/lib/guest-lib.sh" "$root/e2e/"
	pack "$root" "$img"
	echo "$sum" >"$img.stamp"
	rm -rf "$root"
}

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

# HMP command on QEMU's monitor socket.
hmp() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(1)
try:
    s.recv(4096)
except OSError:
    pass
s.sendall((sys.argv[2] + "\n").encode())
time.sleep(0.5)
try:
    print(s.recv(65536).decode(errors="replace"))
except OSError:
    pass
PY
}

start_backend() {
	local run=$1
	rm -f "$run/vhost.sock"
	"$BIN" ${VHOST_VERBOSE:+--verbose} --socket-path="$run/vhost.sock" --ctl-socket="$run/ctl.sock" \
		--lun "0:0=file:$run/img0" --lun "0:1=file:$run/img3" --lun "1:0=file:$run/img1" \
		</dev/null >>"$run/backend.log" 2>&1 &
	echo $! >"$run/backend.pid"
	for _ in $(seq 50); do
		[ -S "$run/vhost.sock" ] && return 0
		sleep 0.1
	done
	die "pvscsi-vhost-user did not create $run/vhost.sock (see $run/backend.log)"
}

ctl() { "$BIN" ctl "$RUN/ctl.sock" "$@" >>"$RUN/actions.log" 2>&1; }

# The host's part of a guest MARK.
act() {
	local mode=$1 what=$2
	echo "$(date +%T) $what" >>"$RUN/actions.log"
	case $mode/$what in
	vhost/hotadd) ctl add 2:0 "file:$RUN/img2" ;;
	vhost/hotremove) ctl remove 2:0 ;;
	vhost/resize) truncate -s 96M "$RUN/img1" && ctl resize 1:0 ;;
	*/restart)
		# A crash, not a clean stop: nothing is drained.  Aim for a moment
		# with requests in flight (the back-end's stats say so), so that
		# the new process has something to resubmit.
		for _ in $(seq 300); do
			case $("$BIN" ctl "$RUN/ctl.sock" stats 2>/dev/null) in
			*" inflight=0"*) sleep 0.01 ;;
			*) break ;;
			esac
		done
		kill -KILL "$(cat "$RUN/backend.pid")" 2>/dev/null || true
		sleep 1
		start_backend "$RUN"
		;;
	ref/hotadd) hmp "$RUN/mon.sock" "device_add scsi-hd,drive=hp,bus=scsi0.0,channel=0,scsi-id=2,lun=0,id=hp0" >>"$RUN/actions.log" ;;
	ref/hotremove) hmp "$RUN/mon.sock" "device_del hp0" >>"$RUN/actions.log" ;;
	ref/resize) hmp "$RUN/mon.sock" "block_resize d1 96M" >>"$RUN/actions.log" ;;
	esac
}

boot() {
	local mode=$1 qpid rc=0
	RUN=$OUT/$mode
	rm -rf "$RUN"
	mkdir -p "$RUN"
	truncate -s 64M "$RUN/img0" "$RUN/img1"
	truncate -s 16M "$RUN/img3"
	truncate -s 32M "$RUN/img2"
	local dev=() qemu=qemu-system-x86_64
	if [ "$mode" != ref ]; then
		start_backend "$RUN"
		# share=on: the back-end maps guest RAM from the memfd QEMU passes.
		dev=(-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
			-device vhost-user-scsi-pci,chardev=vus,num_queues=2)
		if [ "$mode" = restart ]; then
			qemu=$(fetch_reconnect_qemu) || {
				log "$mode: no QEMU that reconnects vhost-user-scsi: cases not run"
				kill -TERM "$(cat "$RUN/backend.pid")" 2>/dev/null || true
				return 0
			}
			dev+=(-L "$OUT/bpo/root/usr/share/seabios" -L "$OUT/bpo/root/usr/share/qemu"
				-chardev "socket,id=vus,path=$RUN/vhost.sock,reconnect-ms=500")
		else
			dev+=(-chardev "socket,id=vus,path=$RUN/vhost.sock")
		fi
	else
		dev=(-device virtio-scsi-pci,id=scsi0,num_queues=2
			-drive "if=none,id=d0,file=$RUN/img0,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=d0
			-drive "if=none,id=d3,file=$RUN/img3,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=d3
			-drive "if=none,id=d1,file=$RUN/img1,format=raw"
			-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=1,lun=0,drive=d1
			-drive "if=none,id=hp,file=$RUN/img2,format=raw"
			-monitor "unix:$RUN/mon.sock,server=on,wait=off")
	fi
	: >"$RUN/serial.log"
	log "$mode: booting the guest under QEMU (TCG)"
	timeout -k 10 "${VHOST_E2E_TIMEOUT:-600}" "$qemu" -accel tcg \
		-cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt -m 512 -smp 2 -nodefaults \
		-display none -no-reboot -serial "file:$RUN/serial.log" \
		-kernel "$KERNEL" -initrd "$OUT/guest.cpio.gz" \
		-append "console=ttyS0 loglevel=4 e2e.mode=$mode e2e.cases=${CASES_OF[$mode]}" \
		"${dev[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
	qpid=$!
	# No filter between tail and read: a buffering one would hold the marks back.
	tail --pid="$qpid" -n +1 -F "$RUN/serial.log" 2>/dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			"@@E2E MARK "*) act "$mode" "${line#@@E2E MARK }" ;;
			"@@VH CASE "*) echo "$mode/${line#@@VH CASE }" | sed 's/ /: /' >&2 ;;
			esac
		done
	wait "$qpid" || rc=$?
	if [ "$mode" != ref ]; then
		kill -TERM "$(cat "$RUN/backend.pid")" 2>/dev/null || true
	fi
	sed -n 's/^@@R view.txt //p' "$RUN/serial.log" | tr -d '\r' |
		sed -E 's|/dev/sg[0-9]+|/dev/sgN|g; s|/dev/sd[a-z]+|/dev/sdX|g' >"$RUN/view.txt"
	[ "$rc" = 0 ] || log "$mode: QEMU exited with status $rc (see $RUN/qemu.log)"
}

fetch_assets
mkdir -p "$OUT"
build_guest_initramfs
for m in $modes; do
	boot "$m"
done

np=0
nf=0
: >"$OUT/results"
for m in $modes; do
	for c in ${CASES_OF[$m]//,/ }; do
		line=$(tr -d '\r' <"$OUT/$m/serial.log" | grep -E "^@@VH CASE $c (PASS|FAIL)" | head -n1 || true)
		if [ -z "$line" ]; then
			line="$m/$c: FAIL no result (see $OUT/$m/serial.log)"
		else
			line="$m/$c: ${line#@@VH CASE $c }"
		fi
		echo "$line" >>"$OUT/results"
		case $line in *": PASS"*) np=$((np + 1)) ;; *) nf=$((nf + 1)) ;; esac
	done
done
if [[ " $modes " == *" vhost "* && " $modes " == *" ref "* ]]; then
	diff -u "$OUT/ref/view.txt" "$OUT/vhost/view.txt" >"$OUT/compare.diff" || true
	echo "compare: $(grep -c '^[-+][^-+]' "$OUT/compare.diff" || true) lines of the guest's view differ between QEMU's virtio-scsi (-) and pvscsi-vhost-user (+): $OUT/compare.diff" >>"$OUT/results"
fi
if [[ " $modes " == *" restart "* ]] && [ -f "$OUT/restart/backend.log" ]; then
	echo "restart: $(grep -c 'front-end connected' "$OUT/restart/backend.log") connections; requests in flight at the kill, resubmitted from the inflight region: $(sed -n 's/.*resubmitting \([0-9]*\) requests.*/\1/p' "$OUT/restart/backend.log" | awk '{ n += $1 } END { print n + 0 }')" >>"$OUT/results"
fi
echo "$np passed, $nf failed" >>"$OUT/results"
echo
cat "$OUT/results"
[ "$nf" = 0 ]
