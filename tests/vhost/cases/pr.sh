# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# pr: two QEMU guests, each with its own vhost-user-scsi-pci, served by one
# pvscsi-vhost-user process (two controllers, one socket each, one LUN pool)
# and sharing one file LUN, fence each other with SCSI-3 persistent
# reservations.  Guest 1 registers and takes WRITE EXCLUSIVE; guest 2
# registers, its WRITE gets RESERVATION CONFLICT, and it preempts guest 1;
# guest 1's WRITE then conflicts, and guest 2's goes through.  The same
# steps as tests/e2e/cases/pr.sh with two Xen guests on pvscsid.
MODES=vhost
BOOT=own

host() {
	truncate -s 64M "$CASEOUT/shared.img"
	backend_start pr --socket-path="$CASEOUT/a.sock" --name=a --ctl-socket="$CASEOUT/pr.ctl" \
		--lun "a/0:0=file:$CASEOUT/shared.img"
	# The second controller at run time, on the same backing: one unit, two users.
	backend_ctl pr ctrl-add b "$CASEOUT/b.sock" 2 || fail "ctrl-add b refused"
	backend_ctl pr add b/0:0 "file:$CASEOUT/shared.img" || fail "add b/0:0 refused"
	backend_ctl pr list b >"$CASEOUT/list-b.txt"
	grep -q "^0:0 file:$CASEOUT/shared.img .* users=2\$" "$CASEOUT/list-b.txt" ||
		fail "the second controller's LUN is not the first's unit: $(cat "$CASEOUT/list-b.txt")"
	backend_ctl pr ctrl-list >"$CASEOUT/ctrl-list.txt"
	grep -q "^b $CASEOUT/b.sock listening luns=1 " "$CASEOUT/ctrl-list.txt" ||
		fail "ctrl-list: $(cat "$CASEOUT/ctrl-list.txt")"
	guest_boot 1 "vus:$CASEOUT/a.sock"
	guest_boot 2 "vus:$CASEOUT/b.sock"
	guest_wait_mark a-reserved 400 1
	guest_tell 2 go
	guest_wait_mark b-preempted 400 2
	guest_tell 1 go
}

guest() {
	wait_lun 0:0:0 240
	sg=$(sg_of 0:0:0)
	# tests/e2e/lib/guest-lib.sh: the steps, the same on both transports.
	if [ "$GUEST" = 1 ]; then
		pr_first "$sg" wait_host go 400
	else
		wait_host go 400
		pr_second "$sg"
	fi
}
