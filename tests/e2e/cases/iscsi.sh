# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# iscsi: a guest cluster fenced on one SAN LUN.  dom0's tgtd
# (tests/iscsi/tgtd.sh, on 127.0.0.1) exports a disk; both guests get it as
# iscsi://127.0.0.1:PORT/IQN/2 through xl scsi-attach, and pvscsid logs in
# once per guest, as iqn.2026-12.org.pvscsi:xen.<the domain's UUID>: two
# I_T nexuses at the target.  Guest A registers and takes WRITE EXCLUSIVE;
# guest B registers, its WRITE conflicts, it preempts A; A's WRITE then
# conflicts and B's goes through (the steps of the pr case, with the
# reservations kept by the target, not by pvscsid).
#
# dom0 paces the two guests as in pr: a mem: LUN hot-added at 0:0:1:0 is
# the other guest's signal to go on.
BACKENDS="pvscsid"
TIMEOUT=600

ISCSI_B=e2e-pvscsid-iscsi-b
ISCSI_DIR=/var/tmp/e2e/tgt
ISCSI_PORT=3270

case_cleanup() {
	guest_b_cleanup "$ISCSI_B"
	san_destroy "$ISCSI_DIR"
}

# The initiator name pvscsid logs in with for domain $1.
iscsi_iname() {
	local vm
	vm=$(xenstore-read "/local/domain/$(xl domid "$1")/vm") || return 1
	echo "iqn.2026-12.org.pvscsi:xen.${vm##*/}" | tr 'A-F' 'a-f'
}

# Two sessions at the target, one per guest, named after the domains' UUIDs.
iscsi_sessions() {
	local a b
	a=$(iscsi_iname "$GUEST") && b=$(iscsi_iname "$ISCSI_B") || fail "no UUID for the guests"
	tgtadm -C 9 --lld iscsi --op show --mode target >"$CASEOUT/tgt-target.txt"
	grep -q "Initiator: $a " "$CASEOUT/tgt-target.txt" || fail "no session of $a at the target"
	grep -q "Initiator: $b " "$CASEOUT/tgt-target.txt" || fail "no session of $b at the target"
	say "the target has one session per guest: $a and $b"
}

dom0() {
	local url
	xl_front_install
	san_start "$ISCSI_DIR" "$ISCSI_PORT" 9
	url=$SAN_URL/2
	xl scsi-attach "$GUEST" "$url" 0:0:0:0 || fail "xl scsi-attach $url to $GUEST failed"
	guest_start
	guest_b_create "$ISCSI_B" "$url,0:0:0:0"
	pr_pace "$ISCSI_B" iscsi_sessions
}

guest() { pr_guest; }
