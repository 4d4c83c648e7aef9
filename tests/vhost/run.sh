#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end: pvscsi-vhost-user behind QEMU's vhost-user-scsi-pci (TCG, guest
# RAM a shared memfd), the Debian kernel's virtio_scsi in a busybox guest,
# and the same cases against QEMU's own virtio-scsi-pci + scsi-hd on the
# same kind of images as the reference.  One case per file,
# tests/vhost/cases/NAME.sh (see docs/testing.md); each mode runs its cases
# in one boot of its standard guest, and a case with BOOT=own in guests of
# its own.
#
# usage: tests/vhost/run.sh [-m "vhost ref restart"] [-l] [CASE|MODE/CASE ...]
#   -m MODES  vhost: pvscsi-vhost-user behind Debian's QEMU; ref: QEMU's own
#             virtio-scsi (the reference); restart: pvscsi-vhost-user behind a
#             QEMU that reconnects vhost-user-scsi (>= 8.2: bookworm-backports',
#             unpacked under build/vhost/bpo, never installed)
#   -l        list the cases and exit
#   CASE      run only these cases (and the setup case of their boot)
# Prints one line per case ("MODE/CASE: PASS|FAIL ..."), the differences of
# the guest's view between vhost and ref, and a last line "N passed, N failed".
# Logs: build/vhost/<mode>/{serial.log,backend.log,qemu.log,view.txt} and
# build/vhost/<mode>/<case>/{console.log,host.log,result}.
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
# shellcheck source=../lib/qemu.sh
. "$REPO/tests/lib/qemu.sh"
# shellcheck source=lib/harness.sh
. "$VH_DIR/lib/harness.sh"
# shellcheck source=lib/boot.sh
. "$VH_DIR/lib/boot.sh"

usage() {
	sed -n '10,21s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

modes="vhost ref restart"
list=0
sel=""
while [ $# -gt 0 ]; do
	case $1 in
	-m)
		[ $# -ge 2 ] || usage 2
		modes=$2
		shift
		;;
	-l | --list) list=1 ;;
	-h | --help) usage 0 ;;
	-*) usage 2 >&2 ;;
	*) sel="$sel $1" ;;
	esac
	shift
done
[ "$modes" = both ] && modes="vhost ref"

# sr_mod and isofs, util-linux's blkid and eject: the cdrom case's drives.
GUEST_MODULES="virtio_pci virtio_scsi sd_mod sg sr_mod isofs"
# iscsi-test-cu, sg_unmap and sg_get_lba_status: the rbd case (with e2e's conformance.sh).
GUEST_TOOLS="sg_inq sg_readcap sg_luns sg_persist sg_raw sg_turs sg_unmap sg_get_lba_status lsscsi fio blkid eject iscsi-test-cu"

# Every case, in the order they run: by ORDER (50 if unset), then name.
all_cases=$(
	for f in "$VH_DIR"/cases/*.sh; do
		c=$(basename "$f" .sh)
		echo "$(vh_case_var "$c" ORDER) $c"
	done | awk 'NF == 1 { $2 = $1; $1 = 50 } { print $1, $2 }' | sort -k1,1n -k2,2 | cut -d' ' -f2
)
case_modes() {
	local m
	m=$(vh_case_var "$1" MODES)
	echo "${m:-vhost ref}"
}

if [ "$list" = 1 ]; then
	for c in $all_cases; do
		printf '%-10s %-20s %s\n' "$c" "$(case_modes "$c")" \
			"$(sed -n "2s/^# *$c: *//p" "$VH_DIR/cases/$c.sh" | cut -c1-60)$([ "$(vh_case_var "$c" BOOT)" = own ] && echo ' [own guests]')$([ "$(vh_case_var "$c" DEFAULT)" = no ] && echo ' [only when named]')"
	done
	exit 0
fi

# The cases of each mode: those named (or all but DEFAULT=no ones), and the
# SETUP cases of the standard boot when another of its cases runs.
declare -A CASES_OF
for m in $modes; do
	chosen=""
	for c in $all_cases; do
		case " $(case_modes "$c") " in *" $m "*) ;; *) continue ;; esac
		if [ -n "$sel" ]; then
			case " $sel " in *" $c "* | *" $m/$c "*) ;; *) continue ;; esac
		elif [ "$(vh_case_var "$c" DEFAULT)" = no ]; then
			continue
		fi
		chosen="$chosen $c"
	done
	std=0
	for c in $chosen; do
		[ "$(vh_case_var "$c" BOOT)" = own ] || [ "$(vh_case_var "$c" SETUP)" = yes ] || std=1
	done
	ordered=""
	for c in $all_cases; do
		case " $chosen " in
		*" $c "*) ordered="$ordered $c" ;;
		*)
			if [ "$std" = 1 ] && [ "$(vh_case_var "$c" SETUP)" = yes ]; then
				case " $(case_modes "$c") " in *" $m "*) ordered="$ordered $c" ;; esac
			fi
			;;
		esac
	done
	CASES_OF[$m]=${ordered# }
done
for s in $sel; do
	found=0
	for m in $modes; do
		for c in ${CASES_OF[$m]}; do
			if [ "$s" = "$c" ] || [ "$s" = "$m/$c" ]; then found=1; fi
		done
	done
	[ "$found" = 1 ] || die "no case '$s' in mode(s) $modes (see --list)"
done

[ -x "$BIN" ] || die "$BIN not built (make all)"

build_guest_initramfs() {
	local img=$OUT/guest.cpio.gz root=$OUT/guest-root sum tools t
	tools=""
	for t in $GUEST_TOOLS; do
		tools="$tools $(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t")" ||
			die "guest tool $t not installed (scripts/install-deps e2e)"
	done
	# shellcheck disable=SC2086
	sum=$({
		inputs_sum "$VH_DIR/lib/guest-init" "$VH_DIR/lib/guest-lib.sh" "$E2E_DIR/lib/guest-lib.sh" \
			"$E2E_DIR/cases/conformance.sh" "$E2E_DIR/lib/initramfs.sh" \
			"$VH_DIR"/cases/*.sh "$VH_DIR/run.sh" /bin/busybox $tools
		echo "$KVER"
	} | sha256sum | cut -d' ' -f1)
	if [ -s "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	log "building the vhost guest initramfs"
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,tmp,etc,e2e/cases,lib/modules}
	install_busybox "$root"
	# fio's unused engines' libraries as stubs, as in the e2e guest (initramfs.sh).
	build_fio_stubs "$OUT/fio-stubs"
	# shellcheck disable=SC2086
	STUBS=$OUT/fio-stubs copy_with_libs "$root" $tools
	# shellcheck disable=SC2086
	for p in $(mod_closure $GUEST_MODULES); do
		cp "$MODDIR/$p" "$root/lib/modules/"
		basename "$p" >>"$root/etc/modules"
	done
	install -m 755 "$VH_DIR/lib/guest-init" "$root/init"
	install -m 644 "$E2E_DIR/lib/guest-lib.sh" "$root/e2e/"
	install -m 644 "$VH_DIR/lib/guest-lib.sh" "$root/e2e/vhost-guest-lib.sh"
	install -m 644 "$VH_DIR"/cases/*.sh "$root/e2e/cases/"
	install -m 644 "$E2E_DIR/cases/conformance.sh" "$root/e2e/conformance.sh"
	pack "$root" "$img"
	echo "$sum" >"$img.stamp"
	rm -rf "$root"
}

# An interrupted run leaves no QEMU and no back-end behind (a case's own
# guests and back-ends go with its host part).
OWN_HOST_PART=""
cleanup() {
	qemu_kill_all
	[ -z "$OWN_HOST_PART" ] || kill -TERM "$OWN_HOST_PART" 2>/dev/null || true
	[ -z "${RUN:-}" ] || backend_stop backend
}
qemu_kill_on_exit
trap cleanup EXIT

fetch_assets
mkdir -p "$OUT"
build_guest_initramfs
for m in $modes; do
	[ -z "${CASES_OF[$m]}" ] || run_mode "$m" "${CASES_OF[$m]}"
done

np=0
nf=0
: >"$OUT/results"
for m in $modes; do
	for c in ${CASES_OF[$m]}; do
		r=$(cat "$OUT/$m/$c/result" 2>/dev/null || true)
		line="$m/$c: ${r:-FAIL no result (see $OUT/$m/serial.log)}"
		echo "$line" >>"$OUT/results"
		case $line in *": PASS") np=$((np + 1)) ;; *) nf=$((nf + 1)) ;; esac
	done
done
if [[ " $modes " == *" vhost "* && " $modes " == *" ref "* ]] &&
	[ -f "$OUT/ref/view.txt" ] && [ -f "$OUT/vhost/view.txt" ]; then
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
