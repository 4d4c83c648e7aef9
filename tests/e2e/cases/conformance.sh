# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# conformance: libiscsi's SCSI conformance suite, every test of its LINUX
# family (the tests that run on a local /dev/sg device), against a file LUN
# through pvscsid (the ReadOnly suite against a read-only one).  Per-test results go to conformance-results.txt, each
# suite's time to conformance-times.txt (docs/compat.md has the table).
#
# The case is judged against the lists below, which docs/compat.md explains
# test by test: it fails when a test fails or is skipped that is not listed,
# when a listed one no longer fails or is no longer skipped (the lists and
# compat.md are then out of date), and when a test gives no result.
#
# pvscsid only: the reference backend cannot run it.  iscsi-test-cu starts
# with PERSISTENT RESERVE IN (READ KEYS) and a buffer of several pages, and
# xen-scsiback+LIO (Linux 6.1) oopses dom0 in target_scsi3_emulate_pr_in
# (LIO vmaps the guest's granted pages; see docs/testing.md).
BACKENDS="pvscsid"
# A safety net: the whole family takes about 2 minutes on an idle machine.
TIMEOUT=900

dom0() {
	# The tests address the first and last 256 blocks and a few in between:
	# their time does not depend on the capacity.  Under 65536 blocks:
	# WriteSame16.Unmap then leaves out its 32 MiB WRITE(16) and READ(16),
	# beyond what the guest's frontend can carry (128 segments): its sg
	# driver refuses them (SG_IO ioctl failed) and nothing reaches pvscsid.
	lun_file conf0 16M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	# The ReadOnly suite runs on a write-protected LUN (it skips the other).
	lun_file conf1 1M ,ro
	vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
	guest_start
}

# The lists: one test a line, NAME [reason]; NAME may end in * (all the
# tests of a suite).
# Tests the case does not run, with the reason.
NOT_RUN="
"

# Expected failures, each explained in docs/compat.md.
KNOWN_FAIL="
LINUX.GetLBAStatus.UnmapSingle test bug with LBPPB > 1: asks for LBA i+1, wants a descriptor starting at i+LBPPB
LINUX.WriteSame10.InvalidDataOutSize a Data-Out longer than the block: residual, not an error
LINUX.WriteSame16.InvalidDataOutSize a Data-Out longer than the block: residual, not an error
"

# Tests the suite itself skips, in whole or in part (it prints [SKIPPED]),
# because the LUN lacks what they need; docs/compat.md lists why.
KNOWN_SKIP="
LINUX.ReadOnly.ReadOnlySBC its ORWRITE part (not implemented)
LINUX.CompareAndWrite.InvalidDataOutSize iSCSI only: it rewrites the CDB inside the iSCSI PDU
LINUX.MultipathIO.* needs a second path to the LUN
LINUX.OrWrite.* ORWRITE is not implemented
LINUX.ReadDefectData10.* READ DEFECT DATA is not implemented
LINUX.ReadDefectData12.* READ DEFECT DATA is not implemented
LINUX.WriteAtomic16.* WRITE ATOMIC is not implemented
LINUX.WriteSame10.ZeroBlocks WSNZ=1: WRITE SAME of 0 blocks is refused
LINUX.WriteSame16.ZeroBlocks WSNZ=1: WRITE SAME of 0 blocks is refused
"

# The awk functions that read the lists above (written to files).
LISTS_AWK='
	function load(file, pat, why,    n, re, line, f) {
		n = 0
		while ((getline line < file) > 0) {
			if (split(line, f, " ") == 0) continue
			re = f[1]
			gsub(/\./, "\\.", re)
			gsub(/\*/, ".*", re)
			n++
			pat[n] = "^" re "$"
			sub(/^ *[^ ]+ */, "", line)
			why[n] = line
		}
		close(file)
		return n
	}
	# The index of the first entry of @pat matching @t, else 0.
	function find(t, pat, n,    i) {
		for (i = 1; i <= n; i++)
			if (t ~ pat[i]) return i
		return 0
	}
'

# CUnit's verbose output (iscsi-test-cu -v) to "VERDICT LINUX.SUITE.TEST[: why]":
# "  Test: NAME ...passed" or "FAILED" then "    N. file:line  - assertion";
# libiscsi's own messages ("    [SKIPPED] ...") come between the two.
cunit_results() {
	awk '
	function verdict(v, why) {
		if (cur != "") print v " " cur (why == "" ? "" : ": " why)
		cur = ""
	}
	function pending() {
		verdict("NORESULT", "no verdict from CUnit")
		if (failed != "") print "FAIL " failed ": " asserts
		failed = ""
	}
	/^Suite: / { pending(); suite = $2; next }
	{
		rest = $0
		if (match(rest, /^  Test: [^ ]+ \.\.\./)) {
			pending()
			cur = "LINUX." suite "." substr(rest, 9, RLENGTH - 12)
			skip = ""
			rest = substr(rest, RLENGTH + 1)
		}
		if (cur != "" && skip == "" && index(rest, "[SKIPPED]")) {
			skip = rest
			sub(/^ *\[SKIPPED\] */, "", skip)
		}
		if (cur != "" && rest == "passed") {
			verdict(skip == "" ? "PASS" : "SKIP", skip)
		} else if (cur != "" && rest == "FAILED") {
			failed = cur
			asserts = ""
			cur = ""
		} else if (failed != "" && rest ~ /^    [0-9]+\. /) {
			sub(/^    [0-9]+\. /, "", rest)
			gsub(/  +/, " ", rest)
			asserts = asserts (asserts == "" ? "" : "; ") rest
		} else if (failed != "" && rest !~ /^ *$/) {
			pending()
		}
	}
	END { pending() }
	'
}

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	sg=$(sg_of 0:0:0)
	sg_ro=$(sg_of 0:1:0)
	printf '%s\n' "$NOT_RUN" >/tmp/not_run
	printf '%s\n' "$KNOWN_FAIL" >/tmp/known_fail
	printf '%s\n' "$KNOWN_SKIP" >/tmp/known_skip
	iscsi-test-cu --list | grep -E '^LINUX\.[^.]+\.[^.]+$' >/tmp/all ||
		fail "iscsi-test-cu --list has no LINUX tests"
	# The plan: "NAME -" runs, "NAME REASON" is not run.
	awk "$LISTS_AWK"'
		BEGIN { n = load("/tmp/not_run", pat, why) }
		{ i = find($1, pat, n); print $1, i ? (why[i] == "" ? "(no reason given)" : why[i]) : "-" }
	' /tmp/all >/tmp/plan
	awk '$2 != "-" { t = $1; $1 = ""; print "NOTRUN " t ":" $0 }' /tmp/plan >/tmp/results
	: >/tmp/times
	for s in $(cut -d. -f2 /tmp/all | uniq); do
		# The whole suite, or the tests it runs as a comma list (iscsi-test-cu
		# takes the list from the end: reversed, they run in the suite's order).
		tests=$(awk -v s="LINUX.$s." 'index($1, s) == 1 && $2 == "-" { l = $1 (l == "" ? "" : ",") l }
			END { print l }' /tmp/plan)
		[ -n "$tests" ] || continue
		grep "^LINUX\.$s\." /tmp/plan | grep -qv ' -$' || tests=LINUX.$s
		dev=$sg
		[ "$s" != ReadOnly ] || dev=$sg_ro
		t0=$(cut -d' ' -f1 /proc/uptime)
		# --dataloss: allow the write tests; the LUN is scratch.  The timeout
		# only guards against a hang: the tests it cuts off give no result,
		# and that fails the case.  Streamed to the console as it runs.
		{ timeout 300 iscsi-test-cu --test="$tests" --dataloss --verbose "$dev" 2>&1 ||
			echo "iscsi-test-cu LINUX.$s: exit status $?"; } |
			tee /tmp/suite.log | sed 's/^/@@R iscsi-test-cu.log /'
		cunit_results </tmp/suite.log >>/tmp/results
		echo "LINUX.$s $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime) s" | tee -a /tmp/times
	done

	total=$(wc -l </tmp/all)
	{
		sort -k2 /tmp/results
		echo "$total tests: $(grep -c '^PASS' /tmp/results) passed," \
			"$(grep -c '^SKIP' /tmp/results) skipped by the suite (in whole or in part)," \
			"$(grep -c '^FAIL' /tmp/results) failed," \
			"$(grep -c '^NOTRUN' /tmp/results) not run by the case," \
			"$(grep -c '^NORESULT' /tmp/results) without a result"
	} >/tmp/table
	record conformance-results.txt cat /tmp/table
	record conformance-times.txt cat /tmp/times
	show grep -vE '^PASS ' /tmp/table

	# The verdict against the lists above: every test has one verdict, and
	# the failures and skips are exactly the listed ones.
	awk "$LISTS_AWK"'
		BEGIN {
			nf = load("/tmp/known_fail", kf, kfw)
			ns = load("/tmp/known_skip", ks, ksw)
		}
		FILENAME == "/tmp/all" { want[$1] = 1; next }
		{
			v = $1; t = $2; sub(/:.*/, "", t)
			if (!(t in want)) print t ": a verdict for a test not in the list"
			if (t in seen) print t ": more than one verdict"
			seen[t] = 1
			f = find(t, kf, nf); k = find(t, ks, ns)
			if (f) usedf[f] = 1
			if (k) useds[k] = 1
			if (v == "PASS" && f) print t " passes: drop it from KNOWN_FAIL and docs/compat.md"
			else if (v == "PASS" && k) print t " passes: drop it from KNOWN_SKIP and docs/compat.md"
			else if (v == "FAIL" && !f) print t " fails (not a known failure)"
			else if (v == "SKIP" && !k) print t " is skipped by the suite (not a known skip)"
			else if (v != "PASS" && v != "FAIL" && v != "SKIP" && v != "NOTRUN") print t ": no result"
		}
		END {
			for (t in want) if (!(t in seen)) print t ": no verdict"
			for (i = 1; i <= nf; i++) if (!(i in usedf)) print "KNOWN_FAIL entry " i " matches no test"
			for (i = 1; i <= ns; i++) if (!(i in useds)) print "KNOWN_SKIP entry " i " matches no test"
		}
	' /tmp/all /tmp/results >/tmp/bad
	if [ -s /tmp/bad ]; then
		cat /tmp/bad
		fail "conformance: $(head -n 1 /tmp/bad) ($(wc -l </tmp/bad) problems, see console.log)"
	fi
}
