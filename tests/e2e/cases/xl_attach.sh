# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_attach: xl scsi-attach/scsi-list/scsi-detach/scsi-assignable-list through the installed xl front on a running guest; -N changes nothing; a second domain asking for the same PDEV is refused.
#
# The scsi_debug disk is attached while the guest runs (a new controller),
# then a file LUN to the connected controller (Reconfiguring handshake).
# The guest uses both; scsi-list shows them (text, states by name, columns
# in line, and --json parsed); scsi-assignable-list shows the scsi_debug
# disk held by the guest at 0:0:1:0 (text and --json); a second, paused
# domain is refused the scsi_debug disk; scsi-detach takes the disk away
# while the guest watches it go, scsi-assignable-list shows it free, and the
# file LUN stays.  Then the file
# LUN's image is removed under it, and scsi-detach still takes it away (a
# backing that vanished must not keep a device attached).
BACKENDS="pvscsid"
TIMEOUT=600

# Every row of FILE's table starts its columns where the header's words
# start ("held by" is one column of scsi-assignable-list).
columns_in_line() {
	awk '
		NR == 1 {
			h = $0; gsub(/held by/, "held_by", h)
			n = 0
			for (i = 1; i <= length(h); i++)
				if (substr(h, i, 1) != " " && (i == 1 || substr(h, i - 1, 1) == " "))
					start[++n] = i
			next
		}
		{
			for (k = 2; k <= n; k++)
				if (substr($0, start[k] - 1, 1) != " " || substr($0, start[k], 1) == " ") {
					print "column " k " out of line: " $0
					bad = 1
				}
		}
		END { exit bad }
	' "$1"
}

# scsi-assignable-list's view of LUN HCTL, text and --json: "held" by the
# guest as v-dev VDEV, or "free".
assignable_is() {
	local hctl=$1 want=$2 vdev=$3 tag=$4 row
	xl scsi-assignable-list >"$CASEOUT/assignable-$tag.txt" ||
		fail "xl scsi-assignable-list failed"
	say "$(cat "$CASEOUT/assignable-$tag.txt")"
	columns_in_line "$CASEOUT/assignable-$tag.txt" >&2 ||
		fail "scsi-assignable-list's columns are out of line"
	row=$(awk -v h="$hctl" '$1 == h' "$CASEOUT/assignable-$tag.txt")
	[ -n "$row" ] || fail "scsi-assignable-list does not list $hctl"
	if [ "$want" = held ]; then
		echo "$row" | grep -q " $GUEST($vdev) " ||
			fail "scsi-assignable-list does not show $hctl held by $GUEST($vdev): $row"
	else
		echo "$row" | grep -q " free " || fail "scsi-assignable-list does not show $hctl free: $row"
	fi
	xl scsi-assignable-list --json >"$CASEOUT/assignable-$tag.json" ||
		fail "xl scsi-assignable-list --json failed"
	python3 - "$CASEOUT/assignable-$tag.json" "$hctl" "$want" "$DOMID" "$GUEST" "$vdev" <<'EOF' >&2 ||
import json, sys
path, hctl, want, domid, name, vdev = sys.argv[1:]
lus = [u for u in json.load(open(path)) if u["hctl"] == hctl]
assert len(lus) == 1, "%s listed %d times" % (hctl, len(lus))
u = lus[0]
if want == "held":
    assert u["free"] is False, u
    assert u["holders"] == [{"domid": int(domid), "name": name, "v-dev": vdev}], u
else:
    assert u["free"] is True and u["holders"] == [], u
assert u["type"] == "disk" and u["pdt"] == 0, u
EOF
		fail "scsi-assignable-list --json does not show $hctl $want"
}

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
	head -n1 "$CASEOUT/scsi-list.txt" |
		grep -Eq '^Idx +BE +state +ctrl +phy-hctl +vir-hctl +devstate +type$' ||
		fail "scsi-list header: $(head -n1 "$CASEOUT/scsi-list.txt")"
	grep -Eq "^0 +0 +Connected +0 +$(sdebug_hctl) +0:0:1:0 +Connected +disk\$" "$CASEOUT/scsi-list.txt" ||
		fail "scsi-list has no connected row for $(sdebug_hctl) at 0:0:1:0"
	grep -Eq "^1 +0 +Connected +0 +file:.* +0:0:0:0 +Connected +disk\$" "$CASEOUT/scsi-list.txt" ||
		fail "scsi-list has no connected row for the file LUN at 0:0:0:0"
	[ "$(wc -l <"$CASEOUT/scsi-list.txt")" -eq 3 ] || fail "scsi-list has other rows"
	columns_in_line "$CASEOUT/scsi-list.txt" >&2 || fail "scsi-list's columns are out of line"
	xl scsi-list --json "$GUEST" >"$CASEOUT/scsi-list.json" || fail "xl scsi-list --json failed"
	python3 - "$CASEOUT/scsi-list.json" "$DOMID" "$GUEST" "$(sdebug_hctl)" "$file" <<'EOF' >&2 ||
import json, sys
path, domid, name, hctl, file = sys.argv[1:]
doms = json.load(open(path))
assert [d["domid"] for d in doms] == [int(domid)] and doms[0]["name"] == name, doms
ctrls = doms[0]["controllers"]
assert len(ctrls) == 1 and ctrls[0]["ctrl"] == 0, ctrls
c = ctrls[0]
assert (c["state"], c["state-name"]) == (4, "Connected"), c
assert (c["frontend-state"], c["frontend-state-name"]) == (4, "Connected"), c
devs = {d["v-dev"]: d for d in c["devs"]}
assert sorted(devs) == ["0:0:0:0", "0:0:1:0"], devs
for d in devs.values():
    assert (d["state"], d["state-name"], d["type"]) == (4, "Connected", "disk"), d
assert devs["0:0:1:0"]["phy-hctl"] == hctl and devs["0:0:1:0"]["idx"] == 0, devs
assert devs["0:0:0:0"]["p-dev"].startswith("file:"), devs
EOF
		fail "scsi-list --json: $(head -c 600 "$CASEOUT/scsi-list.json")"
	assignable_is "$(sdebug_hctl)" held 0:0:1:0 attached
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
	assignable_is "$(sdebug_hctl)" free "" detached

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
