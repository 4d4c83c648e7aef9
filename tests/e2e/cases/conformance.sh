# shellcheck shell=sh
# conformance: libiscsi's SCSI conformance suite (iscsi-test-cu, the LINUX
# family: the tests that run on a local /dev/sg device) against a file LUN.
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

guest() {
	wait_lun 0:0:0
	sg=$(sg_of 0:0:0)
	# --dataloss: allow the write tests; the LUN is scratch.
	iscsi-test-cu --test=LINUX --dataloss --normal "$sg" >/tmp/itc.log 2>&1 || true
	sed 's/^/@@R iscsi-test-cu.log /' /tmp/itc.log
	grep -q 'Run Summary' /tmp/itc.log ||
		fail "iscsi-test-cu did not run: $(tail -n 2 /tmp/itc.log | tr '\n' ' ')"
	# CUnit's summary table; the view has each test's verdict, so that the
	# two backends' results can be compared test by test.
	record conformance-summary.txt sed -n '/Run Summary/,/Elapsed/p' /tmp/itc.log
	show grep -E 'Test: |Run Summary|suites|tests|asserts' /tmp/itc.log
}
