# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_create: xl create with vscsi= through the xl front: the guest starts with its LUNs; a bad entry fails the create with its line and leaves no domain.
BACKENDS="pvscsid"
TIMEOUT=500

dom0() {
	local sg file bad cfg line
	xl_front_install
	lun_sdebug sg
	sg=$PDEV
	lun_file disk1 32M
	file=$PDEV

	# A bad second entry: nothing is created, the message shows the line.
	bad=$CASEOUT/bad.cfg
	sed 's/^name = .*/name = "e2e-xl-bad"/' "$CASEOUT/guest.cfg" >"$bad"
	printf "vscsi = [ '%s,0:0:0:0',\n          '/dev/sg999,0:0:0:1' ]\n" "$file" >>"$bad"
	line=$(($(wc -l <"$bad")))
	if xl create "$bad" 2>"$CASEOUT/bad.err"; then
		xl destroy e2e-xl-bad
		fail "xl create accepted /dev/sg999"
	fi
	say "bad entry refused: $(head -n1 "$CASEOUT/bad.err")"
	grep -q "bad.cfg:$line: vscsi entry '/dev/sg999,0:0:0:1'" "$CASEOUT/bad.err" ||
		fail "the message does not name line $line: $(head -n1 "$CASEOUT/bad.err")"
	xl domid e2e-xl-bad >/dev/null 2>&1 && fail "a domain e2e-xl-bad was left behind"

	# The harness made the guest paused without devices: make it again, with vscsi=.
	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	cp "$CASEOUT/guest.cfg" "$cfg"
	printf "vscsi = [ '%s,0:0:0:0', '%s,0:0:1:0' ]\n" "$sg" "$file" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(domid_of "$GUEST")
	say "guest created again with vscsi=, domid $DOMID"
	xl list "$GUEST" | tail -n1 | awk '{print $5}' | grep -q p &&
		fail "the guest is still paused after xl create"
	xl scsi-list "$GUEST" | tee -a "$CASEOUT/scsi-list.txt" >&2
	xl list -l "$GUEST" | grep -q '"pvscsi/0/dev-1/spec"' ||
		fail "the domain's configuration lacks the second device"
	return 0
}

guest() {
	wait_lun 0:0:0 240
	wait_lun 0:1:0 240
	show lsscsi
	fio_verify "$(sd_of 0:0:0)" --size=16M
	fio_verify "$(sd_of 0:1:0)" --size=16M
}
