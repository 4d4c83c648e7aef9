# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# pr: two guests share one file LUN ('shareable') and fence each other with
# SCSI-3 persistent reservations, as a guest cluster (pacemaker's
# fence_scsi) does.  Guest A registers and takes WRITE EXCLUSIVE; guest B
# registers, its WRITE gets RESERVATION CONFLICT, and it preempts A; A's
# WRITE then conflicts, and B's goes through.  Each guest reaches the LUN
# through its own domain and vhost, so pvscsid must see one logical unit
# with two I_T nexuses.
#
# dom0 paces the two guests: it waits for one's mark, then hot-adds a
# mem: LUN at 0:0:1:0 of the other, which is that guest's signal to go on.
BACKENDS="pvscsid"
TIMEOUT=600
# pvscsid arming every ring after each pass (--no-defer-kicks): the path
# the other cases, run with the default, no longer take.
PVSCSID_ARGS="--no-defer-kicks"

PR_B=e2e-pvscsid-pr-b

case_cleanup() { guest_b_cleanup "$PR_B"; }

dom0() {
	xl_front_install
	lun_file pr 16M
	xl scsi-attach "$GUEST" "$PDEV" 0:0:0:0,shareable || fail "xl scsi-attach to $GUEST failed"
	guest_start
	guest_b_create "$PR_B" "$PDEV,0:0:0:0,shareable"
	pr_pace "$PR_B"
}

# tests/e2e/lib/guest-lib.sh: the steps, the same on both transports.
guest() { pr_guest; }
