#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: boot Xen under QEMU, create a PV guest, give it a file-backed
# disk and dom0's scsi_debug disk over vscsiif, and show what the guest sees.
# The backend is pvscsid (build/rel/pvscsid) when it is built, else the
# kernel's xen-scsiback (said loudly).  The demo is the e2e case
# cases/demo.sh run by run.sh; this script picks the backend and prints the
# guest's view at the end.
set -eu

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
PVSCSID=${PVSCSID:-$REPO/build/rel/pvscsid}

banner() { printf '\n==== %s\n' "$*"; }

if [ -x "$PVSCSID" ]; then
	backend=pvscsid
	banner "demo: backend pvscsid ($PVSCSID)"
else
	backend=kernel
	banner "demo: pvscsid is NOT built ($PVSCSID missing)"
	echo "!!!! Falling back to the Linux kernel backend (xen-scsiback + LIO)."
	echo "!!!! Run 'make' to build pvscsid and show our backend instead."
fi
banner "demo: booting Xen 4.17 under QEMU (TCG); this takes a few minutes"

runfile=$(mktemp)
trap 'rm -f "$runfile"' EXIT
rc=0
E2E_RUN_DIR_FILE=$runfile "$E2E_DIR/run.sh" -b "$backend" demo || rc=$?
run=$(cat "$runfile")
view=$run/$backend/demo/view.txt

banner "demo: what the guest saw (from $view)"
if [ -s "$view" ]; then
	sed 's/^\$ /\n$ /' "$view"
else
	echo "(nothing: the guest part did not run; see $run/serial.log)"
fi

banner "demo: summary"
if [ "$rc" = 0 ]; then
	echo "Xen 4.17 booted under QEMU; dom0 ran xenstored/xenconsoled; a PV guest"
	if [ "$backend" = pvscsid ]; then
		echo "was created and given two disks over vscsiif with the project's"
		echo "'xl scsi-attach' (backend: pvscsid; 'xl scsi-list' showed them):"
	else
		echo "was created and given two disks over vscsiif by writing xenstore nodes"
		echo "(backend: the kernel's xen-scsiback):"
	fi
	echo "a 128 MiB file-backed disk at 0:0:0:0 and dom0's"
	echo "scsi_debug disk at 0:0:1:0.  The guest listed them (lsscsi), asked"
	echo "INQUIRY and READ CAPACITY (sg3_utils), made an ext4 filesystem, wrote"
	echo "files, remounted and read them back intact."
	[ "$backend" = pvscsid ] || echo "NOTE: shown with the KERNEL backend: pvscsid was not built."
else
	echo "The demo FAILED: $(head -n1 "$run/results" 2>/dev/null)"
	echo "Logs: $run (serial.log, $backend/demo/console.log, $backend/demo/dom0.log)"
fi
echo "Logs of this run: $run"
exit "$rc"
