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

# Take the unit attentions a reservation change left for this nexus: the
# sg3_utils commands would report them as failures.
pr_settle() {
	_i=0
	while ! sg_turs "$1" >/dev/null 2>&1 && [ $_i -lt 5 ]; do _i=$((_i + 1)); done
}

# pr_write SG: good, conflict or other, for one WRITE(10) of a zero block to LBA 100.
pr_write() {
	pr_settle "$1"
	_rc=0
	sg_raw -s 512 -i /dev/zero "$1" 2a 00 00 00 00 64 00 00 01 00 >/tmp/pr-write.out 2>&1 || _rc=$?
	cat /tmp/pr-write.out >&2
	# sg3_utils' exit status 24 is SG_LIB_CAT_RES_CONFLICT.
	if [ $_rc = 24 ] || grep -qi "reservation conflict" /tmp/pr-write.out; then
		echo conflict
	elif [ $_rc = 0 ]; then
		echo good
	else
		echo "other (status $_rc): $(tr '\n' ' ' </tmp/pr-write.out)"
	fi
}

pr_holder() {
	pr_settle "$1"
	sg_persist --in --read-reservation --no-inquiry "$1" >/tmp/pr-rr.out 2>&1 || true
	cat /tmp/pr-rr.out >&2
	sed -n 's/.*Key=\(0x[0-9a-f]*\).*/\1/p' /tmp/pr-rr.out | head -n1
}

guest() {
	wait_lun 0:0:0 240
	sg=$(sg_of 0:0:0)
	if [ "$GUEST" = 1 ]; then
		run sg_persist --out --no-inquiry --register --param-sark=0xaaaa "$sg"
		pr_settle "$sg"
		run sg_persist --out --no-inquiry --reserve --param-rk=0xaaaa --prout-type=1 "$sg"
		[ "$(pr_holder "$sg")" = 0xaaaa ] || fail "guest 1 holds no reservation after RESERVE"
		[ "$(pr_write "$sg")" = good ] || fail "guest 1, the holder, cannot write"
		echo "pr: guest 1 registered, reserved WRITE EXCLUSIVE and wrote"
		mark a-reserved
		wait_host go 400
		r=$(pr_write "$sg")
		[ "$r" = conflict ] || fail "guest 1's WRITE after the preemption: $r, not RESERVATION CONFLICT"
		echo "pr: guest 1's WRITE after the preemption: RESERVATION CONFLICT"
		[ "$(pr_holder "$sg")" = 0xbbbb ] || fail "guest 1 does not see guest 2's reservation"
		echo "pr: guest 1 sees guest 2's reservation"
	else
		wait_host go 400
		[ "$(pr_holder "$sg")" = 0xaaaa ] || fail "guest 2 does not see guest 1's reservation"
		echo "pr: guest 2 sees guest 1's reservation"
		run sg_persist --out --no-inquiry --register --param-sark=0xbbbb "$sg"
		r=$(pr_write "$sg")
		[ "$r" = conflict ] || fail "guest 2's WRITE under guest 1's reservation: $r, not RESERVATION CONFLICT"
		echo "pr: guest 2's WRITE under guest 1's reservation: RESERVATION CONFLICT"
		pr_settle "$sg"
		run sg_persist --out --no-inquiry --preempt --param-rk=0xbbbb --param-sark=0xaaaa \
			--prout-type=1 "$sg"
		[ "$(pr_holder "$sg")" = 0xbbbb ] || fail "guest 2 holds no reservation after PREEMPT"
		[ "$(pr_write "$sg")" = good ] || fail "guest 2, the new holder, cannot write"
		echo "pr: guest 2 preempted guest 1 and wrote"
		mark b-preempted
	fi
}
