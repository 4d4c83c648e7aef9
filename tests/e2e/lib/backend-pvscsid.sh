# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Our userspace backend, build/rel/pvscsid (PVSCSID from the run config).
# It watches backend/vscsi itself and resolves each dev's p-dev string, so a
# LUN helper only has to choose the p-dev.  Sourced by run-case.sh.

# The log is written in dom0's tmpfs and copied out (backend_collect): with
# --verbose it has two lines per command, and each line-buffered write to a
# file on the 9p output share is a round trip to QEMU, about 1 ms under
# TCG - most of a command's time in the backend.
PVSCSID_LOG=/var/log/pvscsid-$CASE.log

backend_start() {
	# xen-scsiback would claim the same backend/vscsi nodes.
	if [ -d /sys/module/xen_scsiback ]; then
		# Its configfs fabric directory holds a reference to the module.
		rmdir /sys/kernel/config/target/xen-pvscsi 2>/dev/null || true
		rmmod xen-scsiback || fail "xen-scsiback is loaded and cannot be unloaded"
	fi
	[ -x "$PVSCSID" ] || fail "pvscsid not built ($PVSCSID missing; run make)"
	pvscsid_start
}

pvscsid_pid() { cat "$CASEOUT/pvscsid.pid" 2>/dev/null || true; }
pvscsid_alive() {
	local pid
	pid=$(pvscsid_pid)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

pvscsid_start() {
	local pid i
	[ -n "$(pvscsid_pid)" ] || rm -f "$PVSCSID_LOG" # a log of this case only
	# shellcheck disable=SC2086 # a case's own options, then the run's, word by word
	"$PVSCSID" --foreground --verbose --log-file "$PVSCSID_LOG" ${PVSCSID_ARGS:-} \
		${E2E_PVSCSID_ARGS:-} \
		>>"$CASEOUT/pvscsid.stdout" 2>&1 &
	pid=$!
	echo "$pid" >"$CASEOUT/pvscsid.pid"
	# It logs "started" once xenstore and its control socket are set up.
	for ((i = 0; i < 100; i++)); do
		file_has "$PVSCSID_LOG" "started (pid $pid)" || ! kill -0 "$pid" 2>/dev/null && break
		nap 0.1
	done
	pvscsid_alive ||
		fail "pvscsid exited at start: $(tail -n 2 "$PVSCSID_LOG" "$CASEOUT/pvscsid.stdout" 2>/dev/null | tr '\n' ' ')"
	say "pvscsid started (pid $(pvscsid_pid))${PVSCSID_ARGS:+ with $PVSCSID_ARGS}${E2E_PVSCSID_ARGS:+ (run: $E2E_PVSCSID_ARGS)}"
}

pvscsid_kill9() {
	local pid
	pid=$(pvscsid_pid)
	pvscsid_alive || fail "pvscsid is not running"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	say "pvscsid (pid $pid) killed with SIGKILL"
}

# The backend must still be running when the guest part has finished.
backend_check() {
	pvscsid_alive || fail "pvscsid died during the case (see pvscsid.log)"
}

backend_stop() {
	local pid
	pid=$(pvscsid_pid)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait_for "pvscsid exit" 10 eval "! kill -0 $pid 2>/dev/null" || kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$CASEOUT/pvscsid.pid" /var/tmp/e2e/*.img
	backend_collect
}

backend_collect() {
	[ ! -f "$PVSCSID_LOG" ] || cp "$PVSCSID_LOG" "$CASEOUT/pvscsid.log"
	# A case that failed with pvscsid still running: where each of its
	# threads is (a hang shows there), once, before the teardown stops it.
	if grep -q '^FAIL' "$CASEOUT/result" 2>/dev/null && [ ! -e "$CASEOUT/pvscsid-stacks.txt" ] &&
		pvscsid_alive && command -v gdb >/dev/null; then
		timeout 120 gdb -p "$(pvscsid_pid)" -batch -ex 'thread apply all bt' \
			>"$CASEOUT/pvscsid-stacks.txt" 2>&1 || true
	fi
}

lun_file() {
	local img=/var/tmp/e2e/$1.img
	mkdir -p /var/tmp/e2e
	rm -f "$img"
	truncate -s "$2" "$img"
	PDEV=file:$img${3:-}
	say "file LUN $1 ($2) -> $PDEV"
}

lun_mem() {
	PDEV=mem:$1
	say "memory LUN -> $PDEV"
}

lun_sdebug() {
	sdebug_load
	case ${1:-sg} in
	sg) PDEV=/dev/$(sdebug_sg) ;;
	sd) PDEV=/dev/$(sdebug_sd) ;;
	hctl) PDEV=$(sdebug_hctl) ;;
	*) fail "lun_sdebug: unknown form $1" ;;
	esac
	say "scsi_debug LUN -> $PDEV"
}

# lun_tape [ro], lun_changer [ro]: the tape drive / medium changer of dom0's
# tape library (vtl_start, lib/devtype.sh); lun_cdrom [ro]: dom0's CD drive
# (cdrom_start).  Always the sg node: opening /dev/st0 itself would rewind
# the tape on close.  ro: the p-dev's trailing option, "/dev/sgN,ro".
lun_tape() { lun_sg_dev tape "$(vtl_hctl tape)" "${1:-}"; }
lun_changer() { lun_sg_dev changer "$(vtl_hctl changer)" "${1:-}"; }
lun_cdrom() { lun_sg_dev cdrom "$(cdrom_hctl)" "${1:-}"; }
lun_sg_dev() {
	local sg
	[ -n "$2" ] || fail "lun_$1: no $1 in dom0 (vtl_start or cdrom_start first)"
	case ${3:-} in "" | ro) ;; *) fail "lun_$1: unknown option '$3' (ro)" ;; esac
	sg=$(hctl_sg "$2")
	[ -n "$sg" ] || fail "lun_$1: $2 has no sg node"
	PDEV=/dev/$sg${3:+,$3}
	say "$1 $2 -> $PDEV"
}

# lun_cdrom_adapter: dom0's CD drive by libvirt's adapter addressing, the
# SCSI host under its virtio-scsi PCI device with that host's unique_id
# ("pci_0000_00_05_0/unique_id=2:0:0:0", docs/resolve.md): real sysfs for
# the resolver's PCI form.
lun_cdrom_adapter() {
	local h host dev pci uid
	h=$(cdrom_hctl)
	[ -n "$h" ] || fail "lun_cdrom_adapter: no CD drive in dom0 (cdrom_start first)"
	host=${h%%:*}
	dev=$(readlink -f "/sys/class/scsi_host/host$host/device")
	pci=$(echo "$dev" | tr / '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n1)
	[ -n "$pci" ] || fail "lun_cdrom_adapter: host$host ($dev) is under no PCI device"
	uid=$(cat "/sys/class/scsi_host/host$host/unique_id")
	PDEV=pci_$(echo "$pci" | tr ':.' '__')/unique_id=$uid:${h#*:}
	say "cdrom $h -> $PDEV (host$host under PCI $pci, unique_id $uid)"
}
