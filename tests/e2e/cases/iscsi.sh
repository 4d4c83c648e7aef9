# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# iscsi: a guest cluster fenced on one SAN LUN.  dom0's tgtd
# (tests/iscsi/tgtd.sh, on 127.0.0.1) exports a disk; both guests get it as
# iscsi://127.0.0.1:PORT/IQN/2 through xl scsi-attach, and pvscsid logs in
# once per guest, as iqn.2026-12.org.pvscsi:xen.<the domain's UUID>: two
# I_T nexuses at the target.  Guest A registers and takes WRITE EXCLUSIVE;
# guest B registers; A is saved and restored (xl save, xl restore) and
# keeps its nexus and its reservation; B sees A's reservation, its WRITE
# conflicts, it preempts A; A's WRITE then conflicts and B's goes through
# (the steps of the pr case, with the reservations kept by the target, not
# by pvscsid).
#
# Then the same steps on LUN 1 of the same target through dom0's own
# kernel initiator (open-iscsi), passed through as /dev/sgN to both guests,
# the way it is done without iscsi:// LUNs: one session, one nexus for the
# whole host.  B cannot register a key of its own, B's WRITE goes through
# A's WRITE EXCLUSIVE, B cannot preempt, and A is never fenced
# (docs/network-luns.md reports both).
#
# dom0 paces the two guests: LUNs hot-added at 0:0:1:0 and then 0:0:3:0
# are the other guest's signal to go on.
BACKENDS="pvscsid"
TIMEOUT=700

ISCSI_B=e2e-pvscsid-iscsi-b
ISCSI_DIR=/var/tmp/e2e/tgt
ISCSI_PORT=3270

case_cleanup() {
	[ -z "$MUTE_PID" ] || kill "$MUTE_PID" 2>/dev/null
	guest_b_cleanup "$ISCSI_B"
	san_destroy "$ISCSI_DIR"
}

# The initiator name pvscsid logs in with for domain $1.
iscsi_iname() {
	local vm
	vm=$(xenstore-read "/local/domain/$(domid_of "$1")/vm") || return 1
	echo "iqn.2026-12.org.pvscsi:xen.${vm##*/}" | tr 'A-F' 'a-f'
}

# Two sessions at the target, one per guest, named after the domains' UUIDs.
iscsi_sessions() {
	local a b
	a=$(iscsi_iname "$GUEST") && b=$(iscsi_iname "$ISCSI_B") || fail "no UUID for the guests"
	tgtadm -C 9 --lld iscsi --op show --mode target >"$CASEOUT/tgt-target.txt"
	grep -q "Initiator: $a " "$CASEOUT/tgt-target.txt" || fail "no session of $a at the target"
	grep -q "Initiator: $b " "$CASEOUT/tgt-target.txt" || fail "no session of $b at the target"
	say "the target has one session per guest: $a and $b"
}

# tgtd's I_T nexus number for initiator $1.
iscsi_nexus() {
	tgtadm -C 9 --lld iscsi --op show --mode target |
		awk -v n="$1" '$1 == "I_T" && $2 == "nexus:" { x = $3 } $1 == "Initiator:" && $2 == n { print x; exit }'
}

# Once both guests are registered: the sessions, then A saved and restored
# while it holds its reservation.  pvscsid keeps a closed LUN's session a
# while (libpvscsi/iscsi.c, ISCSI_LINGER) and the restored guest takes it
# up: the same nexus, so tgt (which keys registrations by session) still
# has A's registration and reservation.
iscsi_check() {
	local a n1 n2 img=/var/tmp/e2e/iscsi-a.save
	iscsi_sessions
	a=$(iscsi_iname "$GUEST")
	n1=$(iscsi_nexus "$a")
	[ -n "$n1" ] || fail "no I_T nexus of $a at the target"
	xl save "$GUEST" "$img" >&2 || fail "xl save $GUEST failed"
	xl restore "$img" >&2 || fail "xl restore $GUEST failed"
	rm -f "$img"
	DOMID=$(domid_of "$GUEST")
	[ "$(iscsi_iname "$GUEST")" = "$a" ] || fail "the restored $GUEST logs in as $(iscsi_iname "$GUEST"), not $a"
	wait_for "$GUEST's LUN after the restore" 60 eval \
		"[ \"\$(xenstore-read $XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/state 2>/dev/null)\" = 4 ]" ||
		fail "$GUEST's iscsi:// LUN did not connect after the restore"
	n2=$(iscsi_nexus "$a")
	[ "$n1" = "$n2" ] || fail "the restored $GUEST is I_T nexus '$n2' at the target, it was $n1"
	say "$GUEST saved and restored (domid $DOMID) holding its reservation: still I_T nexus $n2 at the target"
}

# A login that never ends holds up nobody.  A portal in dom0 takes the
# connection and never answers; $GUEST's xl scsi-attach of it waits while
# pvscsid logs in on a thread of its own (15 s, ISCSI_OPEN_TIMEOUT).
# Meanwhile pvscsid's one event loop, the one that serves every ring, is
# free: its control socket answers at once and shows the device opening
# (before, the login ran on that loop and nothing answered for 15 s).  Then
# $GUEST's attach fails, naming the portal, and nothing of it is left.  (xl scsi-attach itself holds the
# toolstack's host-wide lock until its device is Connected, so a second xl
# scsi-attach waits for the first: the wait is xl's, not pvscsid's.)
MUTE_PORT=3279
MUTE_PID=
mute_check() {
	local url="iscsi://127.0.0.1:$MUTE_PORT/iqn.2026-12.org.pvscsi.test:mute/0"
	local apid t0 t1 rc=0
	rm -f /tmp/mute.ready
	python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
open(sys.argv[2], "w").close()
time.sleep(300)' "$MUTE_PORT" /tmp/mute.ready &
	MUTE_PID=$!
	wait_for "the mute portal to listen" 60 test -e /tmp/mute.ready ||
		fail "the mute portal (python3 in dom0) did not start"
	t0=$(date +%s)
	xl scsi-attach "$GUEST" "$url" 0:0:4:0 >"$CASEOUT/mute-attach.txt" 2>&1 &
	apid=$!
	wait_for "pvscsid's login to the mute portal" 30 \
		grep -q "p-dev '$url' opens on a thread of its own" "$PVSCSID_LOG" ||
		fail "pvscsid did not start $GUEST's login to $url"
	"$(dirname "$PVSCSID")/pvscsictl" --socket /run/pvscsid/control status --json \
		>"$CASEOUT/mute-status.json" || fail "pvscsictl status while $GUEST's login waits"
	t1=$(date +%s)
	kill -0 "$apid" 2>/dev/null ||
		fail "$GUEST's attach of the mute portal ended before pvscsid's status answered ($((t1 - t0)) s)"
	grep -q '"opening": *true' "$CASEOUT/mute-status.json" ||
		fail "pvscsictl status shows no device opening: $(cat "$CASEOUT/mute-status.json")"
	say "while $GUEST's login to a mute portal waits, pvscsid answered its status" \
		"$((t1 - t0)) s into it, the device \"opening\""
	wait "$apid" || rc=$?
	kill "$MUTE_PID" 2>/dev/null || :
	wait "$MUTE_PID" 2>/dev/null || :
	MUTE_PID=
	[ $rc != 0 ] || fail "xl scsi-attach of the mute portal $url succeeded"
	grep -q "could not add" "$CASEOUT/mute-attach.txt" ||
		fail "xl scsi-attach of the mute portal: $(cat "$CASEOUT/mute-attach.txt")"
	grep "p-dev '$url': " "$PVSCSID_LOG" | grep -q "127.0.0.1:$MUTE_PORT" ||
		fail "pvscsid's log does not name the mute portal"
	say "$GUEST's attach of the mute portal failed after $(($(date +%s) - t0)) s:" \
		"$(grep -o "p-dev '$url': .*" "$PVSCSID_LOG" | tail -n 1)"
}

dom0() {
	local url
	xl_front_install
	san_start "$ISCSI_DIR" "$ISCSI_PORT" 9
	san_kernel_login "$ISCSI_PORT" 1
	url=$SAN_URL/2
	xl scsi-attach "$GUEST" "$url" 0:0:0:0 || fail "xl scsi-attach $url to $GUEST failed"
	xl scsi-attach "$GUEST" "/dev/$SAN_KSG" 0:0:2:0,shareable || fail "xl scsi-attach /dev/$SAN_KSG to $GUEST failed"
	guest_start
	guest_b_create "$ISCSI_B" "$url,0:0:0:0" "/dev/$SAN_KSG,0:0:2:0,shareable"
	# pr_pace's steps (harness.sh), with the second round after them.
	guest_wait_mark a-reserved 300
	guest_b_wait_mark "$ISCSI_B" b-ready 300
	iscsi_check
	mute_check
	xl scsi-attach "$ISCSI_B" mem:1M 0:0:1:0 || fail "signalling $ISCSI_B"
	guest_b_wait_mark "$ISCSI_B" b-preempted 300
	xl scsi-attach "$GUEST" mem:1M 0:0:1:0 || fail "signalling $GUEST"
	# Through dom0's kernel initiator: one nexus for both guests.
	guest_wait_mark a2-reserved 300
	xl scsi-attach "$ISCSI_B" mem:1M 0:0:3:0 || fail "signalling $ISCSI_B"
	guest_b_wait_mark "$ISCSI_B" b2-done 300
	xl scsi-attach "$GUEST" mem:1M 0:0:3:0 || fail "signalling $GUEST"
	guest_wait_end "$TIMEOUT"
	guest_b_verdict "$ISCSI_B" 300
	say "$ISCSI_B: $(guest_b_text "$ISCSI_B" | grep -c '^pr:') steps passed," \
		"$(guest_b_text "$ISCSI_B" | grep -c '^kernel nexus:') through the kernel initiator"
}

# The same steps on the LUN dom0's kernel initiator passes through: every
# result is what one shared nexus gives, where pr_first and pr_second's
# fencing needs two.
kernel_nexus() {
	_sg=$(sg_of 0:2:0)
	if [ "$(guest_role)" = a ]; then
		run sg_persist --out --no-inquiry --register --param-sark=0xaaaa "$_sg"
		pr_settle "$_sg"
		run sg_persist --out --no-inquiry --reserve --param-rk=0xaaaa --prout-type=1 "$_sg"
		[ "$(pr_holder "$_sg")" = 0xaaaa ] || fail "A holds no reservation on the kernel's LUN"
		echo "kernel nexus: A registered and reserved WRITE EXCLUSIVE"
		mark a2-reserved
		wait_lun 0:3:0 300
		_r=$(pr_write "$_sg")
		[ "$_r" = good ] || fail "A's WRITE after B's attempts: $_r"
		echo "kernel nexus: A's WRITE after B's attempt to preempt it: GOOD, A was never fenced"
		run sg_persist --out --no-inquiry --clear --param-rk=0xaaaa "$_sg"
	else
		wait_lun 0:3:0 300
		[ "$(pr_holder "$_sg")" = 0xaaaa ] || fail "B does not see A's reservation on the kernel's LUN"
		_rc=0
		sg_persist --out --no-inquiry --register --param-sark=0xbbbb "$_sg" || _rc=$?
		# 24: RESERVATION CONFLICT; the nexus is registered already, with A's key.
		[ $_rc = 24 ] || fail "B's REGISTER on the shared nexus: status $_rc, not RESERVATION CONFLICT"
		echo "kernel nexus: B cannot register a key of its own (RESERVATION CONFLICT): the nexus is A's"
		_r=$(pr_write "$_sg")
		[ "$_r" = good ] || fail "B's WRITE under A's reservation on the shared nexus: $_r"
		echo "kernel nexus: B's WRITE under A's WRITE EXCLUSIVE: GOOD, B is the holder's nexus"
		_rc=0
		sg_persist --out --no-inquiry --preempt --param-rk=0xbbbb --param-sark=0xaaaa \
			--prout-type=1 "$_sg" || _rc=$?
		[ $_rc = 24 ] || fail "B's PREEMPT on the shared nexus: status $_rc, not RESERVATION CONFLICT"
		echo "kernel nexus: B cannot preempt A (RESERVATION CONFLICT): it has no key"
		mark b2-done
	fi
}

guest() {
	wait_lun 0:2:0 240
	pr_guest
	kernel_nexus
}
