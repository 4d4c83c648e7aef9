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

guest() {
	role=a
	case " $(cat /proc/cmdline) " in *" e2e.role=b "*) role=b ;; esac
	wait_lun 0:0:0 240
	sg=$(sg_of 0:0:0)
	show sg_persist --in --read-capabilities --no-inquiry "$sg"
	# tests/e2e/lib/guest-lib.sh: the steps, the same on both transports.
	if [ $role = a ]; then
		pr_first "$sg" wait_lun 0:1:0 300
	else
		mark b-ready
		wait_lun 0:1:0 300
		pr_second "$sg"
	fi
}
