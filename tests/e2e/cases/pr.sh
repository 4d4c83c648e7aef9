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

PR_B=e2e-pvscsid-pr-b

pr_b_log() { tr -d '\r' <"/var/log/xen/guest-$PR_B.log" 2>/dev/null || true; }
pr_b_has() { pr_b_log | grep -q "^@@E2E $1"; }

case_cleanup() {
	xl destroy "$PR_B" 2>/dev/null || true
	[ ! -f "/var/log/xen/guest-$PR_B.log" ] || pr_b_log >"$CASEOUT/console-b.log"
}

dom0() {
	local cfg
	xl_front_install
	lun_file pr 16M
	xl scsi-attach "$GUEST" "$PDEV" 0:0:0:0,shareable || fail "xl scsi-attach to $GUEST failed"
	guest_start
	cfg=$CASEOUT/pr-b.cfg
	sed "s/^name = .*/name = \"$PR_B\"/; s/^memory = .*/memory = 384/; s/e2e.case=pr/e2e.case=pr e2e.role=b/" \
		"$CASEOUT/guest.cfg" >"$cfg"
	printf "vscsi = [ '%s,0:0:0:0,shareable' ]\n" "$PDEV" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create $PR_B failed"

	guest_wait_mark a-reserved 300
	wait_for "$PR_B ready" 300 eval "pr_b_has 'MARK b-ready' || pr_b_has RESULT" ||
		fail "$PR_B did not come up"
	pr_b_has RESULT && fail "$PR_B: $(pr_b_log | sed -n 's/^@@E2E RESULT //p')"
	xl scsi-attach "$PR_B" mem:1M 0:0:1:0 || fail "signalling $PR_B"
	wait_for "$PR_B preempting" 300 eval "pr_b_has 'MARK b-preempted' || pr_b_has RESULT" ||
		fail "$PR_B did not preempt"
	pr_b_has 'MARK b-preempted' || fail "$PR_B: $(pr_b_log | sed -n 's/^@@E2E RESULT //p')"
	xl scsi-attach "$GUEST" mem:1M 0:0:1:0 || fail "signalling $GUEST"
	guest_wait_end "$TIMEOUT"
	wait_for "$PR_B's verdict" 300 eval "pr_b_has RESULT" || fail "$PR_B gave no verdict"
	pr_b_has 'RESULT PASS' || fail "$PR_B: $(pr_b_log | sed -n 's/^@@E2E RESULT FAIL //p')"
	say "$PR_B: $(pr_b_log | grep -c '^pr:') steps passed"
}

# Take the unit attentions a reservation change left for this nexus: the
# sg3_utils commands would report them as failures.
pr_settle() {
	_i=0
	while ! sg_turs "$1" >/dev/null 2>&1 && [ $_i -lt 5 ]; do _i=$((_i + 1)); done
}

# pr_write SG: the status line of one WRITE(10) of a zero block to LBA 100.
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
	sg_persist --in --read-reservation --no-inquiry "$1" 2>&1 | tee /tmp/pr-rr.out >&2 || true
	sed -n 's/.*Key=\(0x[0-9a-f]*\).*/\1/p' /tmp/pr-rr.out | head -n1
}

guest() {
	role=a
	case " $(cat /proc/cmdline) " in *" e2e.role=b "*) role=b ;; esac
	wait_lun 0:0:0 240
	sg=$(sg_of 0:0:0)
	show sg_persist --in --read-capabilities --no-inquiry "$sg"
	if [ $role = a ]; then
		run sg_persist --out --no-inquiry --register --param-sark=0xaaaa "$sg"
		pr_settle "$sg"
		run sg_persist --out --no-inquiry --reserve --param-rk=0xaaaa --prout-type=1 "$sg"
		[ "$(pr_holder "$sg")" = 0xaaaa ] || fail "A holds no reservation after RESERVE"
		[ "$(pr_write "$sg")" = good ] || fail "A, the holder, cannot write"
		echo "pr: A registered, reserved WRITE EXCLUSIVE and wrote"
		mark a-reserved
		wait_lun 0:1:0 300
		r=$(pr_write "$sg")
		[ "$r" = conflict ] || fail "A's WRITE after B preempted it: $r, not RESERVATION CONFLICT"
		echo "pr: A's WRITE after the preemption: RESERVATION CONFLICT"
		[ "$(pr_holder "$sg")" = 0xbbbb ] || fail "A does not see B's reservation"
		echo "pr: A sees B's reservation"
	else
		mark b-ready
		wait_lun 0:1:0 300
		[ "$(pr_holder "$sg")" = 0xaaaa ] || fail "B does not see A's reservation"
		echo "pr: B sees A's reservation"
		run sg_persist --out --no-inquiry --register --param-sark=0xbbbb "$sg"
		r=$(pr_write "$sg")
		[ "$r" = conflict ] || fail "B's WRITE under A's reservation: $r, not RESERVATION CONFLICT"
		echo "pr: B's WRITE under A's reservation: RESERVATION CONFLICT"
		pr_settle "$sg"
		run sg_persist --out --no-inquiry --preempt --param-rk=0xbbbb --param-sark=0xaaaa \
			--prout-type=1 "$sg"
		[ "$(pr_holder "$sg")" = 0xbbbb ] || fail "B holds no reservation after PREEMPT"
		[ "$(pr_write "$sg")" = good ] || fail "B, the new holder, cannot write"
		echo "pr: B preempted A and wrote"
		mark b-preempted
	fi
}
