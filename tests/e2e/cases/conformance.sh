# shellcheck shell=sh
# conformance: libiscsi's SCSI conformance suite (iscsi-test-cu, the LINUX
# family: the tests that run on a local /dev/sg device; a list of its
# suites, see SUITES) against a file LUN.
# Individual conformance failures do not fail the case: they are recorded
# (iscsi-test-cu.log, conformance-summary.txt).
# pvscsid only: the reference backend cannot run it.  iscsi-test-cu starts
# with PERSISTENT RESERVE IN (READ KEYS) and a buffer of several pages, and
# xen-scsiback+LIO (Linux 6.1) oopses dom0 in target_scsi3_emulate_pr_in
# (LIO vmaps the guest's granted pages; see docs/testing.md).
BACKENDS="pvscsid"
TIMEOUT=900

dom0() {
	lun_file conf0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
}

# The LINUX family whole takes longer than 15 minutes under TCG: these
# suites, each capped at 120 s, and no new suite after 600 s.
SUITES="TestUnitReady Inquiry ReadCapacity10 ReadCapacity16 ModeSense6
	ReportSupportedOpcodes Mandatory Read10 Write10 Read16 Write16 Verify10
	WriteVerify10 Prefetch10 WriteSame10 Unmap GetLBAStatus CompareAndWrite ReadOnly"

guest() {
	wait_lun 0:0:0
	sg=$(sg_of 0:0:0)
	start=$(date +%s)
	: >/tmp/itc.log
	for s in $SUITES; do
		if [ $(($(date +%s) - start)) -gt 600 ]; then
			echo "LINUX.$s: not run (time budget)" | tee -a /tmp/itc.log
			continue
		fi
		t0=$(date +%s)
		# --dataloss: allow the write tests; the LUN is scratch.  Streamed
		# to the console as it runs, so a timeout still shows how far it got.
		{ timeout 120 iscsi-test-cu --test="LINUX.$s" --dataloss --normal "$sg" 2>&1 ||
			echo "iscsi-test-cu LINUX.$s: exit status $?"; } |
			tee -a /tmp/itc.log | sed 's/^/@@R iscsi-test-cu.log /'
		echo "LINUX.$s: $(($(date +%s) - t0)) s"
	done
	grep -q 'Run Summary' /tmp/itc.log ||
		fail "iscsi-test-cu did not run: $(tail -n 2 /tmp/itc.log | tr '\n' ' ')"
	# Per suite: CUnit's "tests" summary line (total ran passed failed).
	grep -E '^ +tests +[0-9]|not run|exit status' /tmp/itc.log >/tmp/sum || true
	record conformance-summary.txt cat /tmp/sum
	show grep -E 'Test: |not run|exit status' /tmp/itc.log
}
