# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_attach: xl scsi-attach/scsi-list/scsi-detach through the installed xl front on a running guest; -N changes nothing; a second domain asking for the same PDEV is refused.
#
# The scsi_debug disk is attached while the guest runs (a new controller),
# then a file LUN to the connected controller (Reconfiguring handshake).
# The guest uses both; scsi-list shows them (text and --json); a second,
# paused domain is refused the scsi_debug disk; scsi-detach takes the disk
# away while the guest watches it go, and the file LUN stays.  Then the file
# LUN's image is removed under it, and scsi-detach still takes it away (a
# backing that vanished must not keep a device attached).
BACKENDS="pvscsid"
TIMEOUT=600

dom0() {
	local sg file before second
	xl_front_install
	lun_sdebug sg
	sg=$PDEV
	lun_file disk0 64M
	file=$PDEV
	guest_start
	guest_wait_mark ready 240

	xl scsi-attach "$GUEST" "$sg" 0:0:1:0 || fail "xl scsi-attach $sg 0:0:1:0 failed"
	before=$(xenstore-ls -f "$XS_BE_ROOT/$DOMID" | md5sum)
	xl -N scsi-attach "$GUEST" "$file" 0:0:0:0 >"$CASEOUT/dryrun.txt" ||
		fail "xl -N scsi-attach failed"
	grep -q "^write $XS_BE_ROOT/$DOMID/0/state = \"7\"$" "$CASEOUT/dryrun.txt" ||
		fail "the dry run shows no hot add: $(head -c 300 "$CASEOUT/dryrun.txt")"
	[ "$(xenstore-ls -f "$XS_BE_ROOT/$DOMID" | md5sum)" = "$before" ] ||
		fail "xl -N scsi-attach changed xenstore"
	xl scsi-attach "$GUEST" "$file" 0:0:0:0 || fail "xl scsi-attach $file 0:0:0:0 failed"

	xl scsi-list "$GUEST" >"$CASEOUT/scsi-list.txt" || fail "xl scsi-list failed"
	say "$(cat "$CASEOUT/scsi-list.txt")"
	head -n1 "$CASEOUT/scsi-list.txt" | grep -q '^Idx BE  state ctrl phy-hctl' ||
		fail "scsi-list header: $(head -n1 "$CASEOUT/scsi-list.txt")"
	grep -Eq "^0 +0 +4 +0 +$(sdebug_hctl) +0:0:1:0 +4 +disk\$" "$CASEOUT/scsi-list.txt" ||
		fail "scsi-list has no connected row for $(sdebug_hctl) at 0:0:1:0"
	grep -Eq "^1 +0 +4 +0 +file:.* +0:0:0:0 +4 +disk\$" "$CASEOUT/scsi-list.txt" ||
		fail "scsi-list has no connected row for the file LUN at 0:0:0:0"
	xl scsi-list --json "$GUEST" >"$CASEOUT/scsi-list.json" || fail "xl scsi-list --json failed"
	grep -q '"v-dev":"0:0:1:0"' "$CASEOUT/scsi-list.json" || fail "--json lacks 0:0:1:0"
	# The identity is kept in the domain's configuration (what xl save carries).
	xl list -l "$GUEST" | grep -q '"pvscsi/0/dev-0/spec"' ||
		fail "the domain's configuration has no pvscsi/0/dev-0/spec"

	second=e2e-xl-second
	sed "s/^name = .*/name = \"$second\"/; s/^memory = .*/memory = 256/" \
		"$CASEOUT/guest.cfg" >"$CASEOUT/second.cfg"
	xl create -p "$CASEOUT/second.cfg" >&2 || fail "cannot create the second domain"
	if xl scsi-attach "$second" "$sg" 0:0:0:0 2>"$CASEOUT/second.err"; then
		xl destroy "$second"
		fail "the second domain was given $sg"
	fi
	say "second domain refused: $(cat "$CASEOUT/second.err")"
	grep -q "already assigned to domain $GUEST" "$CASEOUT/second.err" ||
		{ xl destroy "$second"; fail "unexpected refusal: $(cat "$CASEOUT/second.err")"; }
	xl destroy "$second"

	guest_wait_mark used 400
	xl scsi-detach "$GUEST" 0:0:1:0 || fail "xl scsi-detach 0:0:1:0 failed"
	xl scsi-list "$GUEST" | grep -q ' 0:0:1:0 ' && fail "0:0:1:0 still listed after scsi-detach"
	xl scsi-detach "$GUEST" 0:0:1:0 2>/dev/null && fail "a second scsi-detach of 0:0:1:0 succeeded"

	guest_wait_mark kept 240
	rm -f /var/tmp/e2e/disk0.img
	say "disk0.img removed under 0:0:0:0"
	xl scsi-detach "$GUEST" 0:0:0:0 || fail "xl scsi-detach of 0:0:0:0, whose image was removed, failed"
	xl scsi-list "$GUEST" | grep -q ' 0:0:0:0 ' && fail "0:0:0:0 still listed after scsi-detach"
	grep -q "removed from its file system" "$PVSCSID_LOG" ||
		fail "pvscsid did not log the removed image"
	return 0
}

guest() {
	mark ready
	wait_lun 0:1:0 240
	wait_lun 0:0:0 240
	show lsscsi
	fio_verify "$(sd_of 0:1:0)" --size=16M
	fio_verify "$(sd_of 0:0:0)" --size=16M
	mark used
	wait_gone 0:1:0 240
	hctl_of 0:0:0 >/dev/null || fail "0:0:0 went away with 0:1:0"
	mark kept
	wait_gone 0:0:0 240
}
