# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Build-machine side: one boot of Xen under QEMU and the results of a run.
# Sourced by run.sh and demo.sh after lib/assets.sh and lib/initramfs.sh,
# and by dom0-main.sh for case_timeout.  QEMU itself: tests/lib/qemu.sh.

# shellcheck source=../../lib/qemu.sh
. "$E2E_DIR/../lib/qemu.sh"

# shellcheck source=../../lib/cases.sh
. "$E2E_DIR/../lib/cases.sh"
case_var() { case_file_var "$E2E_DIR/cases/$1.sh" "$2"; }
case_timeout() { case_file_timeout "$E2E_DIR/cases/$1.sh" 300; }

# A fresh directory build/e2e/out/<date-time>-XXXX; build/e2e/out/latest
# points to it.  Only the 20 newest runs are kept.
new_run_dir() {
	local out=$BUILD/out d
	mkdir -p "$out"
	d=$(mktemp -d "$out/$(date +%Y%m%d-%H%M%S)-XXXX")
	chmod 755 "$d"
	ln -sfn "$(basename "$d")" "$out/latest"
	# shellcheck disable=SC2012
	ls -1d "$out"/2* 2>/dev/null | sort | head -n -20 | while read -r old; do rm -rf "$old"; done
	echo "$d"
}

# write_config RUN CASES [DOM0_MAIN [INIT]]: what dom0 reads from the share
# (INIT: busybox, or systemd for the systemd flavour, lib/dom0-systemd.sh).
write_config() {
	local total=0 c t
	for c in $2; do
		t=$(case_timeout "${c#*/}")
		total=$((total + t + 120))
	done
	# Xen + dom0 boot, and slack for the machine being busy.
	QEMU_TIMEOUT=${E2E_TIMEOUT:-$((total + 300))}
	cat >"$1/config" <<EOT
REPO=$REPO
BUILD=$BUILD
KVER=$KVER
MODDIR=$MODDIR
CASES="$2"
PVSCSID=${PVSCSID:-$REPO/build/rel/pvscsid}
DOM0_MAIN=${3:-dom0-main.sh}
INIT=${4:-busybox}
DEB_DIR=$REPO/build/deb
SOAK_SECS=${SOAK_SECS:-}
E2E_PVSCSID_ARGS="${E2E_PVSCSID_ARGS:-}"
EOT
}

# The selected cases (of CASES) that have no line in RUN/case-results yet.
cases_without_result() {
	local c out=""
	for c in $2; do
		grep -qE "^(PASS|FAIL) $c(:|\$)" "$1/case-results" 2>/dev/null || out="$out $c"
	done
	echo "$out"
}

# boot_xen RUN [N]: boot Xen + dom0 under QEMU with RUN shared (writable, tag
# e2eout); dom0 runs DOM0_MAIN and powers off.  The serial console (Xen, dom0
# and everything the dom0 scripts print) goes to RUN/serial.log (serial-N.log
# for boot N > 1); lines that start with "[" are progress and are echoed here.
# Returns 124 on timeout.
boot_xen() {
	local run=$1 qpid wpid rc=0 serial=$1/serial.log cdargs=()
	[ "${2:-1}" = 1 ] || serial=$1/serial-$2.log
	# dom0's CD drive (the optical cases, lib/devtype.sh): a scsi-cd with
	# CD_ISO (build_cd_iso) on its own virtio-scsi HBA.  dom0 loads no
	# driver for it until a case asks (cdrom_start), so the other cases see
	# no difference.
	if [ -n "${CD_ISO:-}" ]; then
		# shellcheck disable=SC2054 # the commas are QEMU's
		cdargs=(-drive "if=none,id=pvcd,file=$CD_ISO,format=raw,media=cdrom,readonly=on"
			-device virtio-scsi-pci,id=cdhba
			-device scsi-cd,bus=cdhba.0,scsi-id=0,lun=0,drive=pvcd,vendor=PVSCSI,product=E2E-ISO)
	fi
	log "booting Xen under QEMU (TCG), timeout ${QEMU_TIMEOUT}s; serial: $serial"
	qemu_start --serial "$serial" --log "$run/qemu.log" --timeout "$QEMU_TIMEOUT" \
		--mem 3072 --smp 2 --kernel "$XEN_ELF" \
		--append "console=com1 com1=115200 dom0_mem=1536M,max:1536M bootscrub=0" \
		--initrd "$KERNEL console=hvc0 loglevel=4,$BUILD/dom0-initramfs.cpio" \
		-- -monitor none \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$run,mount_tag=e2eout,security_model=none,multidevs=remap" \
		"${cdargs[@]}"
	qpid=$QEMU_PID
	# A dom0 whose kernel oopsed may not manage to power off: give it a
	# minute after it said so, then stop QEMU.
	(
		while kill -0 "$qpid" 2>/dev/null; do
			if [ -e "$run/aborted" ]; then
				sleep 60
				kill "$qpid" 2>/dev/null
				exit 0
			fi
			sleep 5
		done
	) &
	wpid=$!
	# Progress: follow the serial log until QEMU (or its timeout) exits.
	qemu_console "$qpid" "$serial" |
		sed -u 's/\r$//' | grep --line-buffered -E '^\[[a-z]|FATAL|dom0-init|^--- ' >&2 || true
	qemu_wait "$qpid" || rc=$?
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	if [ -e "$run/aborted" ]; then
		return 0
	elif qemu_timed_out "$rc"; then
		log "QEMU timed out after ${QEMU_TIMEOUT}s; last lines of the serial console:"
		tr -d '\r' <"$serial" | tail -n 40 >&2
		return 124
	elif [ "$rc" != 0 ]; then
		log "QEMU exited with status $rc:"
		tail -n 20 "$run/qemu.log" >&2
	fi
	return "$rc"
}

# finish_results RUN CASES QEMU_RC: RUN/results with one line per selected
# case (those dom0 never reported on are failures) and "N passed, N failed";
# compare the guests' views between backends; print; return 1 on failure.
finish_results() {
	local run=$1 cases=$2 qrc=$3 c line np=0 nf=0 why
	case $qrc in
	0) why="no result from dom0 (see serial.log)" ;;
	124) why="no result: QEMU timed out after ${QEMU_TIMEOUT}s" ;;
	*) why="no result: QEMU exited with status $qrc" ;;
	esac
	: >"$run/results"
	for c in $cases; do
		line=$(grep -E "^(PASS|FAIL) $c(:|\$)" "$run/case-results" 2>/dev/null | tail -n1 || true)
		[ -n "$line" ] || line="FAIL $c: $why"
		echo "$line" >>"$run/results"
		case $line in PASS*) np=$((np + 1)) ;; *) nf=$((nf + 1)) ;; esac
	done
	echo "$np passed, $nf failed" >>"$run/results"
	compare_views "$run"
	# Where each failure happened: the end of its guest console.
	grep '^FAIL' "$run/results" | while read -r _ c _; do
		c=${c%:}
		[ -s "$run/$c/console.log" ] || continue
		echo "--- $c: last lines of the guest console ($run/$c/console.log)"
		sed -n '/^@@E2E BEGIN/,/^--- guest dmesg/p' "$run/$c/console.log" | grep -v '^@@R ' | tail -n 8
	done
	echo
	echo "e2e results ($run/results):"
	cat "$run/results"
	[ "$nf" = 0 ]
}

# For every case run on both backends, put the guest's two views (lines the
# guest recorded with `show`) side by side in RUN/compare/CASE.txt.
compare_views() {
	local run=$1 k c n
	for k in "$run"/kernel/*/view.txt; do
		[ -f "$k" ] || continue
		c=$(basename "$(dirname "$k")")
		[ -f "$run/pvscsid/$c/view.txt" ] || continue
		mkdir -p "$run/compare"
		{
			echo "# $c: the guest's view, kernel backend (left) vs pvscsid (right)"
			diff -y -W 200 -t "$k" "$run/pvscsid/$c/view.txt" || true
		} >"$run/compare/$c.txt"
		diff -u "$k" "$run/pvscsid/$c/view.txt" >"$run/compare/$c.diff" || true
		n=$(grep -c '^[-+][^-+]' "$run/compare/$c.diff" || true)
		echo "compare $c: ${n:-0} lines differ between kernel and pvscsid (compare/$c.txt)"
	done
}
