# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# xl_migrate: xl migrate-receive through the xl front re-resolves the LUNs before the guest runs on the receiving side, and refuses a domain whose LUN is missing; the guest reads back what it wrote.
#
# Live migration to localhost is tried first ("xl migrate -s '' GUEST
# '/usr/local/sbin/xl migrate-receive'", no ssh in dom0).  Xen under QEMU
# has no log-dirty support (xc: "Failed to enable logdirty: 95"), so when that
# is the reason it fails, the guest is saved instead and the image is sent to
# xl migrate-receive with xl's own migration protocol (banner, stream,
# "ready", permission to go, report), dom0 playing the sender: the receiving
# side is exactly what a migration runs.  Before that, one attempt with the
# file LUN's image moved away must be refused without "ready" and leave no
# domain behind.  After the migration dom0 hot-adds a memory LUN, the guest's
# sign that it runs again.
BACKENDS="pvscsid"
TIMEOUT=700

# Play xl migrate's sender with a saved image: 0, or 1 when the receiver
# refused (no "ready"), after which nothing is left running.
xlm_send() {
	local img=$1 banner msg st pid wfd rfd d
	d=$(mktemp -d /tmp/xlm.XXXXXX)
	mkfifo "$d/to" "$d/from"
	/usr/local/sbin/xl migrate-receive <"$d/to" >"$d/from" 2>>"$CASEOUT/receiver.log" &
	pid=$!
	exec {wfd}>"$d/to" {rfd}<"$d/from"
	IFS= read -r banner <&"$rfd" || fail "no banner from xl migrate-receive"
	[ "$banner" = "xl migration receiver ready, send binary domain data." ] ||
		fail "unexpected banner: $banner"
	cat "$img" >&"$wfd" || fail "cannot send the image"
	if ! IFS= read -r -d '' msg <&"$rfd"; then
		exec {wfd}>&- {rfd}<&-
		wait "$pid" || true
		rm -rf "$d"
		return 1
	fi
	[ "$msg" = "domain received, ready to unpause" ] || fail "the receiver said: $msg"
	printf 'domain is yours, you are cleared to unpause\0' >&"$wfd"
	IFS= read -r -d '' msg <&"$rfd" || fail "no report from the receiver"
	[ "$msg" = "my copy unpause results are as follows" ] || fail "the receiver reported: $msg"
	st=$(head -c1 <&"$rfd" | od -An -tu1 | tr -d ' ')
	[ "$st" = 0 ] || fail "the receiver reports status $st"
	exec {wfd}>&- {rfd}<&-
	wait "$pid" || fail "xl migrate-receive exited with an error"
	rm -rf "$d"
	return 0
}

dom0() {
	local cfg old sg file img=/var/tmp/e2e/migrate.save
	xl_front_install
	lun_sdebug sg
	sg=$PDEV
	lun_file disk3 32M
	file=$PDEV
	xl destroy "$GUEST"
	cfg=$CASEOUT/vscsi.cfg
	sed 's/^memory = .*/memory = 384/' "$CASEOUT/guest.cfg" >"$cfg"
	printf "vscsi = [ '%s,0:0:0:0', '%s,0:0:1:0' ]\n" "$sg" "$file" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create with vscsi= failed"
	DOMID=$(domid_of "$GUEST")
	guest_wait_mark written 400

	old=$DOMID
	if xl migrate -s '' "$GUEST" '/usr/local/sbin/xl migrate-receive' >"$CASEOUT/migrate.log" 2>&1; then
		say "live migration to localhost done"
	elif grep -q 'Failed to enable logdirty' "$CASEOUT/migrate.log"; then
		say "no live migration here (no log-dirty under QEMU): sending a saved image to xl migrate-receive"
		guest_alive || fail "the guest did not survive the failed live migration"
		xl save "$GUEST" "$img" >&2 || fail "xl save failed"
		xenstore-rm "$XS_BE_ROOT/$old" 2>/dev/null || true
		# The file LUN's image is not there: the receiver must refuse the domain.
		mv "${file#file:}" "${file#file:}.away"
		if xlm_send "$img"; then
			fail "xl migrate-receive took a domain whose file LUN is missing"
		fi
		say "refused as it should: $(grep -m1 'PDEV\|p-dev' "$CASEOUT/receiver.log")"
		xl list | grep -q -- "--incoming" && fail "an incoming domain was left behind"
		mv "${file#file:}.away" "${file#file:}"
		xlm_send "$img" || fail "xl migrate-receive refused the domain: $(tail -n 3 "$CASEOUT/receiver.log")"
		rm -f "$img"
	else
		fail "xl migrate failed: $(tail -n 2 "$CASEOUT/migrate.log" | tr '\n' ' ')"
	fi
	DOMID=$(domid_of "$GUEST")
	[ "$DOMID" != "$old" ] || fail "the guest kept domid $old"
	say "migrated: domid $old -> $DOMID"
	# xenconsoled named the new domain's log while it was NAME--incoming and
	# keeps writing there: let the harness read that one from now on.
	if [ -e "/var/log/xen/guest-$GUEST--incoming.log" ]; then
		cp "$(console_log)" "$CASEOUT/console-before-migration.log"
		ln -sf "guest-$GUEST--incoming.log" "$(console_log)"
	fi
	xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev" >/dev/null ||
		fail "no backend nodes for the migrated guest"
	xenstore-rm "$XS_BE_ROOT/$old" 2>/dev/null || true
	xl scsi-list "$GUEST" >&2
	xl scsi-attach "$GUEST" mem:4M 0:0:5:0 || fail "the hot add after the migration failed"
	return 0
}

guest() {
	wait_lun 0:0:0 240
	wait_lun 0:1:0 240
	pattern_write 0:0:0 0:1:0
	mark written
	wait_lun 0:5:0 600
	pattern_check "after the migration" 0:0:0 0:1:0
}
