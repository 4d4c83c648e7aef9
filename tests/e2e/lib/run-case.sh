#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run one case against one backend in dom0, started by lib/dom0-main.sh:
#   backend_start; guest_create (paused); the case's dom0(); wait for the
#   guest part to finish; verdict; the case's dom0_after() if it has one;
#   cleanup (always, from the EXIT trap).
# Writes OUT/BACKEND/CASE/result (one line: PASS or FAIL with a reason) and
# the case's logs next to it.  Any failing command in dom0() fails the case.
#
# usage: run-case.sh BACKEND CASE | run-case.sh --cleanup BACKEND CASE
set -eEu

cleanup_only=0
if [ "$1" = --cleanup ]; then
	cleanup_only=1
	shift
fi
BACKEND=$1
CASE=$2
CASEOUT=$OUT/$BACKEND/$CASE
GUEST=e2e-$BACKEND-$CASE
DOMID=
mkdir -p "$CASEOUT"

# shellcheck source=harness.sh
. "$E2E_DIR/lib/harness.sh"
# shellcheck source=devtype.sh
. "$E2E_DIR/lib/devtype.sh"
# shellcheck disable=SC1090
. "$E2E_DIR/lib/backend-$BACKEND.sh"

# fd 3: progress for the serial console; everything else (with a trace of
# every command) goes to the case's dom0.log.
exec 3>&1 >>"$CASEOUT/dom0.log" 2>&1
BASH_XTRACEFD=2
PS4='+ ${EPOCHREALTIME%????} '

cleanup() {
	local rc=$?
	set +eE
	trap - ERR
	# The logs first: tearing down may hang (a broken kernel) or be cut short.
	collect_guest_output
	backend_collect
	if dom0_oopsed; then
		finish FAIL "dom0 kernel oops: $(dom0_oops_line)"
		return 0
	fi
	if [ -z "$DOMID" ]; then
		DOMID=$(domid_of "$GUEST" || true)
	fi
	if guest_alive; then
		xs_dump
		xl destroy "$GUEST"
	fi
	[ -n "$DOMID" ] && xenstore-rm "$XS_BE_ROOT/$DOMID" 2>/dev/null
	backend_stop
	# What the case set up beyond the helpers (loop and dm devices, mounts),
	# once the backend has let go of it.
	if declare -F case_cleanup >/dev/null; then
		case_cleanup
	fi
	collect_guest_output
	dmesg | tail -n 40 >"$CASEOUT/dom0-dmesg.txt"
	[ "$cleanup_only" = 1 ] && return 0
	if [ ! -s "$CASEOUT/result" ]; then
		finish FAIL "dom0 part ended with status $rc without a verdict (see dom0.log)"
	fi
	if grep -q '^FAIL' "$CASEOUT/result"; then
		# Show where it went wrong on the serial console too.
		{
			echo "--- $BACKEND/$CASE: last lines of the guest console"
			tail -n 15 "$CASEOUT/console.log" 2>/dev/null
			echo "--- $BACKEND/$CASE: last lines of dom0.log"
			tail -n 15 "$CASEOUT/dom0.log"
		} >&3
	fi
}
trap cleanup EXIT
trap 'fail "dom0: line $LINENO: \`$BASH_COMMAND\` failed"' ERR
trap 'fail "killed (case timeout)"' TERM

if [ "$cleanup_only" = 1 ]; then
	exit 0
fi

rm -f "$CASEOUT/result"
set -x
# shellcheck disable=SC1090
. "$E2E_DIR/cases/$CASE.sh"
backend_start
guest_create
dom0
guest_wait_end "${TIMEOUT:-300}"
backend_check
guest_verdict
# What a case checks in dom0 once the guest part has passed (optional).
if declare -F dom0_after >/dev/null; then
	dom0_after
fi
finish PASS
