# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# group: a whole SCSI bus given to a running guest (xl scsi-attach scsi_hostN:0:*:* 0:0:*:*); LUNs removed and added in dom0 follow into the guest, another host's never.
#
# dom0's scsi_debug host gets two targets of two LUNs; xl scsi-attach of
# the whole bus (by libvirt's adapter name) gives the running guest all
# four at the same target and LUN numbers, and the guest reads each.  A
# LUN with no place in the group's v-dev range is refused.  In dom0 one LUN
# is deleted: the guest's monitor hot-removes it and the guest sees it go;
# a second scsi_debug host appears (its LUNs must never reach the guest)
# and the deleted LUN is scanned back: it is hot-added and the guest reads
# it again.  xl scsi-detach of a member alone is refused; of the group,
# every member goes.
BACKENDS="pvscsid"
TIMEOUT=700

SDEBUG=/sys/bus/pseudo/drivers/scsi_debug

# Back to one host with one LUN, as the other cases expect scsi_debug.
case_cleanup() {
	local d h
	h=${SDH:-}
	[ -e "$SDEBUG/add_host" ] && [ "$(cat "$SDEBUG/add_host" 2>/dev/null)" -gt 1 ] &&
		echo -1 >"$SDEBUG/add_host" 2>/dev/null
	echo 1 >"$SDEBUG/max_luns" 2>/dev/null
	echo 1 >"$SDEBUG/num_tgts" 2>/dev/null
	if [ -n "$h" ]; then
		for d in /sys/class/scsi_device/"$h":*; do
			[ -e "$d" ] && [ "$(basename "$d")" != "$h:0:0:0" ] &&
				echo 1 >"$d/device/delete" 2>/dev/null
		done
	fi
	return 0
}

# The domain's devices in xenstore: "v-dev=p-dev" words, sorted.
members() {
	local be=$XS_BE_ROOT/$DOMID/0 d
	for d in $(xenstore-list "$be/vscsi-devs" 2>/dev/null); do
		echo "$(xs_read "$be/vscsi-devs/$d/v-dev")=$(xs_read "$be/vscsi-devs/$d/p-dev")"
	done | sort | tr '\n' ' '
}

# members_are WORDS WHAT: within 60 s.
members_are() {
	local n=0
	while [ "$(members)" != "$1" ]; do
		n=$((n + 1))
		[ $n -lt 120 ] || fail "$2: the guest's devices are '$(members)', expected '$1'"
		sleep 0.5
	done
	say "$2: $1"
}

dom0() {
	local h
	xl_front_install
	sdebug_load
	h=$(sdebug_hctl)
	SDH=${h%%:*}
	echo 2 >"$SDEBUG/num_tgts" || fail "scsi_debug: cannot set num_tgts"
	echo 2 >"$SDEBUG/max_luns" || fail "scsi_debug: cannot set max_luns"
	echo "- - -" >"/sys/class/scsi_host/host$SDH/scan"
	wait_for "scsi_debug's four LUNs" 30 test -e "/sys/class/scsi_device/$SDH:0:1:1" ||
		fail "scsi_debug did not grow to two targets of two LUNs"
	say "dom0's scsi_debug host $SDH: $(cd /sys/class/scsi_device && echo "$SDH":*)"
	guest_start
	guest_wait_mark ready 240

	xl scsi-attach "$GUEST" "scsi_host$SDH:0:*:*" "0:0:*:*" ||
		fail "xl scsi-attach scsi_host$SDH:0:*:* 0:0:*:* failed"
	members_are "0:0:0:0=$SDH:0:0:0 0:0:0:1=$SDH:0:0:1 0:0:1:0=$SDH:0:1:0 0:0:1:1=$SDH:0:1:1 " attached
	if xl scsi-attach "$GUEST" "/dev/$(sdebug_sg)" 0:0:7:0 2>"$CASEOUT/inside.err"; then
		fail "a single LUN was attached inside the group's range"
	fi
	say "inside the group: $(cat "$CASEOUT/inside.err")"
	guest_wait_mark seen-4 240

	echo 1 >"/sys/class/scsi_device/$SDH:0:1:1/device/delete" || fail "cannot delete $SDH:0:1:1"
	members_are "0:0:0:0=$SDH:0:0:0 0:0:0:1=$SDH:0:0:1 0:0:1:0=$SDH:0:1:0 " "after deleting $SDH:0:1:1"
	guest_wait_mark gone-11 240

	echo 1 >"$SDEBUG/add_host" || fail "scsi_debug: cannot add a host"
	echo "0 1 1" >"/sys/class/scsi_host/host$SDH/scan"
	members_are "0:0:0:0=$SDH:0:0:0 0:0:0:1=$SDH:0:0:1 0:0:1:0=$SDH:0:1:0 0:0:1:1=$SDH:0:1:1 " "after scanning $SDH:0:1:1 back"
	guest_wait_mark back-11 240
	# The other host's LUNs exist in dom0, and none reached the guest.
	say "dom0 now: $(cd /sys/class/scsi_device && echo *)"
	sleep 3
	members_are "0:0:0:0=$SDH:0:0:0 0:0:0:1=$SDH:0:0:1 0:0:1:0=$SDH:0:1:0 0:0:1:1=$SDH:0:1:1 " "with a second scsi_debug host"

	if xl scsi-detach "$GUEST" 0:0:1:0 2>"$CASEOUT/member.err"; then
		fail "a member was detached alone"
	fi
	say "a member alone: $(cat "$CASEOUT/member.err")"
	xl scsi-detach "$GUEST" "0:0:*:*" || fail "xl scsi-detach of the group failed"
	members_are "" "the group detached"
	guest_wait_mark all-gone 240
}

read_lun() {
	wait_lun "$1" 120
	run dd if="$(sd_of "$1")" of=/dev/null bs=64k count=16 iflag=direct
}

guest() {
	mark ready
	for l in 0:0 0:1 1:0 1:1; do
		read_lun "0:$l"
	done
	show lsscsi
	mark seen-4
	wait_gone 0:1:1 120
	read_lun 0:1:0
	mark gone-11
	read_lun 0:1:1
	show lsscsi
	# Four LUNs on the pvscsi host, whatever dom0 added elsewhere.
	_n=$(ls /sys/class/scsi_device | wc -l)
	[ "$_n" = 4 ] || fail "the guest has $_n SCSI devices, expected 4: $(ls /sys/class/scsi_device)"
	mark back-11
	for l in 0:0 0:1 1:0 1:1; do
		wait_gone "0:$l" 120
	done
	mark all-gone
}
