#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the end-to-end cases in real Xen: Xen 4.17 under QEMU (TCG), dom0 = this
# machine's / over 9p, PV guests with the Linux xen-scsifront driver, and as
# the backend either the kernel's xen-scsiback+LIO (the reference) or our
# pvscsid, or (backend "systemd") pvscsid installed from the .deb of make deb
# and started by systemd as dom0's init.  The kernel and pvscsid cases share
# one boot; the systemd ones get a boot of their own.  See docs/testing.md.
#
# usage: tests/e2e/run.sh [-b kernel|pvscsid|systemd|both|all] [-l] [CASE|BACKEND/CASE ...]
#   -b, --backend B  run the cases against B only (default: all three; a case
#                    that names its BACKENDS runs only against those)
#   -l, --list       list the cases and exit
#   CASE             run only these cases (e.g. basic, or pvscsid/basic)
# Results: build/e2e/out/<run>/results (also printed), one line per case and
# a last line "N passed, N failed"; exit status 1 if any case failed.
set -eu

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
BUILD=$REPO/build/e2e
# shellcheck source=lib/assets.sh
. "$E2E_DIR/lib/assets.sh"
# shellcheck source=lib/initramfs.sh
. "$E2E_DIR/lib/initramfs.sh"
# shellcheck source=lib/boot.sh
. "$E2E_DIR/lib/boot.sh"
# An interrupted run leaves no QEMU behind.
qemu_kill_on_exit

usage() {
	sed -n '9,16s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

backends="kernel pvscsid systemd"
list=0
sel=""
while [ $# -gt 0 ]; do
	case $1 in
	-b | --backend)
		[ $# -ge 2 ] || usage 2
		backends=$2
		shift
		;;
	--backend=*) backends=${1#--backend=} ;;
	-l | --list) list=1 ;;
	-h | --help) usage 0 ;;
	-*) usage 2 ;;
	*) sel="$sel $1" ;;
	esac
	shift
done
[ "$backends" = both ] && backends="kernel pvscsid"
[ "$backends" = all ] && backends="kernel pvscsid systemd"
for b in $backends; do
	[ -f "$E2E_DIR/lib/backend-$b.sh" ] || die "unknown backend '$b' (kernel, pvscsid, systemd, both, all)"
done

# Every BACKEND/CASE pair to run, kernel cases first (xen-scsiback is
# unloaded before the first pvscsid case).
all_cases=$(cd "$E2E_DIR/cases" && ls ./*.sh | sed 's|^\./||; s|\.sh$||')
cases=""
for b in $backends; do
	for c in $all_cases; do
		cb=$(case_var "$c" BACKENDS)
		# systemd is a flavour of its own: only the cases that name it.
		case " ${cb:-kernel pvscsid} " in *" $b "*) ;; *) continue ;; esac
		if [ -n "$sel" ]; then
			case " $sel " in *" $c "* | *" $b/$c "*) ;; *) continue ;; esac
		elif [ "$(case_var "$c" DEFAULT)" = no ]; then
			# A reproducer of a known fault: run only when named.
			continue
		fi
		cases="$cases $b/$c"
	done
done
if [ "$list" = 1 ]; then
	for c in $all_cases; do
		cb=$(case_var "$c" BACKENDS)
		printf '%-12s %-16s %s\n' "$c" "${cb:-kernel pvscsid}" \
			"$(sed -n "s/^# $c: *//p" "$E2E_DIR/cases/$c.sh" | head -n1 | cut -c1-70)$([ "$(case_var "$c" DEFAULT)" = no ] && echo ' [only when named]')"
	done
	exit 0
fi
for s in $sel; do
	case " $cases " in *" $s "* | *"/$s "*) ;; *) die "no case '$s' for backend(s) $backends (see --list)" ;; esac
done
[ -n "$cases" ] || die "no case selected"

# The systemd flavour installs build/deb/*.deb: made again when a source is
# newer than them (check-unit's deb test made them in make check).
build_debs() {
	local deb newer
	deb=$(ls "$REPO"/build/deb/pvscsi_*.deb 2>/dev/null | head -n1 || true)
	if [ -n "$deb" ] && [ -f "${deb/pvscsi_/libpvscsi0_}" ]; then
		newer=$(cd "$REPO" && find libpvscsi protocol common xen backend xl-plugin vhost-user \
			tools debian Makefile VERSION -type f -newer "$deb" -print -quit)
		[ -n "$newer" ] || return 0
	fi
	log "building the Debian packages (make deb) for the systemd flavour"
	make -C "$REPO" -s deb >"$BUILD/make-deb.log" 2>&1 ||
		die "make deb failed: $(tail -n 5 "$BUILD/make-deb.log")"
}

# Runs may share build/e2e (several engineers, CI): build under a lock.
mkdir -p "$BUILD"
exec 9>"$BUILD/.lock"
flock 9
fetch_assets
build_domU_initramfs
build_dom0_initramfs
build_cd_iso
case " $cases " in *"/libvirt "*) fetch_libvirt ;; esac
# The systemd flavour installs the packages of this tree.
case " $cases " in *" systemd/"*) build_debs ;; esac
flock -u 9

run_dir=$(new_run_dir)
log "run $run_dir:$cases"
# demo.sh wants to know where this run's files are.
[ -z "${E2E_RUN_DIR_FILE:-}" ] || echo "$run_dir" >"$E2E_RUN_DIR_FILE"
# One boot runs every case of a flavour, unless a case oopses dom0's kernel
# (the reference backend can): then the cases left get a fresh boot, at most
# 4 boots.  $1: the cases, $2: dom0's init (busybox or systemd).
boot=1
rc=0
run_boots() {
	local left=$1 next tries=1 brc
	while :; do
		write_config "$run_dir" "$left" dom0-main.sh "$2"
		brc=0
		boot_xen "$run_dir" "$boot" || brc=$?
		[ "$brc" = 0 ] || rc=$brc
		boot=$((boot + 1))
		[ -e "$run_dir/aborted" ] || break
		next=$(cases_without_result "$run_dir" "$left")
		[ -n "$next" ] && [ "$next" != "$left" ] && [ "$tries" -lt 4 ] || break
		log "$(cat "$run_dir/aborted"); booting again for:$next"
		mv "$run_dir/aborted" "$run_dir/aborted-$boot"
		left=$next
		tries=$((tries + 1))
	done
}
busybox_cases="" systemd_cases=""
for c in $cases; do
	case $c in
	systemd/*) systemd_cases="$systemd_cases $c" ;;
	*) busybox_cases="$busybox_cases $c" ;;
	esac
done
[ -z "$busybox_cases" ] || run_boots "$busybox_cases" busybox
[ -z "$systemd_cases" ] || run_boots "$systemd_cases" systemd
finish_results "$run_dir" "$cases" "$rc"
