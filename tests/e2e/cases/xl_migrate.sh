# shellcheck shell=bash
# xl_migrate: xl migrate to localhost, the receiving xl front re-resolving the LUNs before the guest runs there; the guest reads back what it wrote.
#
# The receiver is started as "xl migrate -s '' GUEST '/usr/local/sbin/xl
# migrate-receive'" (no ssh in dom0).  After the migration dom0 hot-adds a
# memory LUN, the guest's sign that it runs on the new domain.
BACKENDS="pvscsid"
TIMEOUT=700

xlm_front() {
	PATH=/usr/local/sbin:$PATH
	export PATH
	"$REPO/xl-plugin/install.sh" >&2 || fail "xl-plugin/install.sh failed"
	[ "$(command -v xl)" = /usr/local/sbin/xl ] || fail "xl is $(command -v xl), not the front"
}

dom0() {
	local cfg old sg file
	xlm_front
	lun_sdebug sg
	sg=$PDEV
	lun_file disk3 32M
	file=$PDEV
	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	sed 's/^memory = .*/memory = 384/' "$CASEOUT/guest.cfg" >"$cfg"
	printf "vscsi = [ '%s,0:0:0:0', '%s,0:0:1:0' ]\n" "$sg" "$file" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(xl domid "$GUEST")
	guest_wait_mark written 400

	old=$DOMID
	xl migrate -s '' "$GUEST" '/usr/local/sbin/xl migrate-receive' >&2 ||
		fail "xl migrate to localhost failed"
	DOMID=$(xl domid "$GUEST")
	[ "$DOMID" != "$old" ] || fail "the guest kept domid $old"
	say "migrated: domid $old -> $DOMID"
	xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev" >/dev/null ||
		fail "no backend nodes for the migrated guest"
	xenstore-rm "$XS_BE_ROOT/$old" 2>/dev/null || true
	xl scsi-list "$GUEST" >&2
	xl scsi-attach "$GUEST" mem:4M 0:0:5:0 || fail "the hot add after the migration failed"
	return 0
}

guest() {
	local l
	wait_lun 0:0:0 240
	wait_lun 0:1:0 240
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
	for l in 0:0:0 0:1:0; do
		dd if=/tmp/pattern of="$(sd_of $l)" bs=1M oflag=direct 2>/dev/null ||
			fail "write to $l failed"
	done
	mark written
	wait_lun 0:5:0 600
	for l in 0:0:0 0:1:0; do
		dd if="$(sd_of $l)" of=/tmp/back bs=1M count=8 iflag=direct 2>/dev/null ||
			fail "read from $l after the migration failed"
		cmp -s /tmp/pattern /tmp/back || fail "$l does not read back what was written"
		echo "$l reads back what it wrote"
	done
}
