# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# iscsi_failover: the iSCSI target goes away under a guest's fio verify and
# comes back.  dom0's tgtd (tests/iscsi/tgtd.sh) exports the disk the guest
# gets as iscsi://127.0.0.1:PORT/IQN/1; once fio runs, dom0 kills tgtd,
# waits 10 s and starts it again (its LUN data is in files, kept).  The
# verify must end clean: the commands in flight are sent again on the new
# session, new ones are BUSY meanwhile, which the guest's SCSI layer
# retries.  pvscsid stays up and logs the loss and the recovery.
#
# The guest runs fio rounds until dom0 hot-adds a mem: LUN at 0:0:1:0.
BACKENDS="pvscsid"
TIMEOUT=900

FO_DIR=/var/tmp/e2e/tgt-fo
FO_PORT=3271

case_cleanup() { san_destroy "$FO_DIR"; }

dom0() {
	local url log
	xl_front_install
	san_start "$FO_DIR" "$FO_PORT" 10
	url=$SAN_URL/1
	xl scsi-attach "$GUEST" "$url" 0:0:0:0 || fail "xl scsi-attach $url to $GUEST failed"
	guest_start
	guest_wait_mark fio-running 300
	sleep 3
	"$REPO/tests/iscsi/tgtd.sh" stop "$FO_DIR" >&2
	say "tgtd killed under the guest's fio verify"
	sleep 10
	pvscsid_alive || fail "pvscsid died while the target was away"
	"$REPO/tests/iscsi/tgtd.sh" start "$FO_DIR" "$FO_PORT" 10 >&2 || fail "tgtd did not start again"
	say "tgtd started again"
	# pvscsid tries a login 1, 2, 4, then every 8 s: the session is back
	# within about 10 s.  A few more seconds of fio on it, then the end.
	wait_for "pvscsid's new session" 60 file_has "$PVSCSID_LOG" "session re-established" ||
		fail "pvscsid logged no recovery within 60 s of tgtd's restart"
	sleep 5
	xl scsi-attach "$GUEST" mem:1M 0:0:1:0 || fail "signalling $GUEST"
	guest_wait_end "$TIMEOUT"
	pvscsid_alive || fail "pvscsid died"
	log=$(cat "$PVSCSID_LOG" 2>/dev/null)
	printf '%s\n' "$log" | grep -q "session lost" || fail "pvscsid logged no session loss"
	printf '%s\n' "$log" | grep -q "session re-established" || fail "pvscsid logged no recovery"
	say "pvscsid: $(printf '%s\n' "$log" | grep -E -m2 'session (lost|re-established)' | sed 's/.*iscsi LUN/iscsi LUN/' | tr '\n' ';')"
}

guest() {
	wait_lun 0:0:0 240
	sd=$(sd_of 0:0:0)
	(
		n=0
		while [ ! -e /tmp/fo-done ] || [ $n -eq 0 ]; do
			fio_verify "$sd" --size=24M
			n=$((n + 1))
		done
		echo "fio: $n rounds of write+verify passed on $sd across the target's restart"
	) &
	fio_pid=$!
	mark fio-running
	wait_lun 0:1:0 600
	touch /tmp/fo-done
	wait $fio_pid || fail "fio on $sd failed across the target's restart"
}
