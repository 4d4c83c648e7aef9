# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The dom0 side of the e2e harness, sourced by lib/run-case.sh (bash, set -eEu).
# A case's dom0() function uses these helpers:
#
#   fail MSG                          end the case as FAIL with MSG
#   lun_file NAME SIZE [OPTS]         make a file LUN; sets PDEV for the backend
#   lun_mem SIZE                      a RAM LUN; sets PDEV
#   lun_sdebug [sg|sd|hctl]           the scsi_debug disk; sets PDEV (the form
#                                     only matters to pvscsid's resolver)
#   lun_tape [ro], lun_changer [ro], lun_cdrom   dom0's tape drive, medium
#                                     changer (vtl_start) and CD drive
#                                     (cdrom_start), lib/devtype.sh; set PDEV
#   vscsi_attach DOMID VHOST DEVN PDEV VDEV   attach before the guest runs
#                                     (VSCSI_FEATURE_HOST=1: the vhost it
#                                     creates has feature-host=1)
#   guest_start                       unpause the guest
#   xl_front_install                  the project's xl front first in PATH
#   iso_make PATH LABEL               an ISO 9660 image with a random file and its SHA256SUMS
#   guest_wait_mark NAME [TIMEOUT]    wait until the guest printed `mark NAME`
#   vscsi_hot_add DOMID VHOST DEVN PDEV VDEV  Reconfiguring handshake, add
#   vscsi_hot_remove DOMID VHOST DEVN         Reconfiguring handshake, remove
#   pvscsid_kill9 / pvscsid_start     (pvscsid backend only)
#
# Variables a case sees: BACKEND, CASE, DOMID, GUEST, CASEOUT.
# The LUN helpers come from lib/backend-$BACKEND.sh.

XS_BE_ROOT=/local/domain/0/backend/vscsi

# Progress goes to the serial console (fd 3) and the case's dom0.log.
# The project's xl front, installed in dom0's (tmpfs) /usr/local/sbin and
# found first in PATH, as an administrator would have it.
xl_front_install() {
	PATH=/usr/local/sbin:$PATH
	export PATH
	# Once a boot (dom0's /run is its own tmpfs): install.sh costs about 4 s
	# under TCG, and the binary does not change within a run.  Again when
	# libvirt's hook directory has appeared since, without the hook.
	if [ ! -e /run/e2e-xl-front ] ||
		{ [ -d /etc/libvirt/hooks ] && [ ! -e /etc/libvirt/hooks/libxl.d/50-pvscsi ]; }; then
		"$REPO/xl-plugin/install.sh" >&2 || fail "xl-plugin/install.sh failed"
		: >/run/e2e-xl-front
	fi
	[ "$(command -v xl)" = /usr/local/sbin/xl ] || fail "xl is $(command -v xl), not the front"
}

# Under TCG every fork and exec in dom0 costs about 0.1 s (xl about 0.8 s),
# taken from the guest's and the backend's CPU: the helpers that run often
# (say, the wait loops) use bash's builtins for the clock, the taint flag,
# the console and sleeping, and xenstore rather than xl for the guest's
# liveness.
say() {
	local m
	printf -v m '[%s %(%T)T] %s' "$BACKEND/$CASE" -1 "$*"
	echo "$m" >&3
	echo "$m" >&2
}

# The first verdict wins; later ones (from cleanup, traps) are ignored.
finish() {
	[ -s "$CASEOUT/result" ] && return 0
	if [ "$1" = PASS ]; then
		echo "PASS $BACKEND/$CASE" >"$CASEOUT/result"
	else
		shift
		echo "FAIL $BACKEND/$CASE: $*" | tr -d '\r' | head -n1 >"$CASEOUT/result"
	fi
}

fail() {
	local g=
	# A dom0 check that fails after the guest did (its I/O broke, say) would
	# hide the first cause: name both.
	[ -z "${GUEST:-}" ] || g=$(guest_fail_reason 2>/dev/null) || true
	[ -z "$g" ] || [[ $* == *"$g"* ]] || set -- "$*; the guest had failed first: $g"
	say "FAIL: $*"
	finish FAIL "$*"
	exit 1
}

# A kernel oops in dom0 (the reference backend has bugs that oops it, see
# docs/testing.md) leaves it half-dead: notice it (taint flag D) and stop.
dom0_oopsed() {
	local t
	read -r t </proc/sys/kernel/tainted
	[ $((t & 128)) != 0 ]
}
dom0_oops_line() { dmesg | grep -m1 -E 'BUG:|Oops|general protection|RIP:' || true; }

# wait_for DESC TIMEOUT CMD...: poll CMD until it succeeds.
wait_for() {
	local desc=$1 t=$2 end
	shift 2
	end=$((EPOCHSECONDS + t))
	until "$@"; do
		[ "$EPOCHSECONDS" -lt "$end" ] || return 1
		if dom0_oopsed; then
			fail "dom0 kernel oops while waiting for $desc: $(dom0_oops_line)"
		fi
		nap 0.5
	done
}

# nap SECS: sleep without a fork: a read that times out on a pipe this
# shell holds both ends of, so nothing ever arrives.
exec {NAP_FD}<> <(:)
nap() { read -rt "$1" -u "$NAP_FD" _ || true; }

xs_read() { xenstore-read "$1" 2>/dev/null || true; }
xs_is() { [ "$(xs_read "$1")" = "$2" ]; }

# Everything under the case's vscsi nodes, for failure reports.
xs_dump() {
	{
		echo "--- xenstore backend/vscsi/$DOMID"
		xenstore-ls -f "$XS_BE_ROOT/$DOMID" 2>&1 || true
		echo "--- xenstore device/vscsi of $DOMID"
		xenstore-ls -f "/local/domain/$DOMID/device/vscsi" 2>&1 || true
	} >>"$CASEOUT/xenstore.txt"
}

# --- guest life cycle ---

console_log() { echo "/var/log/xen/guest-$GUEST.log"; }
# The guest console without carriage returns.
console_text() { tr -d '\r' <"$(console_log)" 2>/dev/null || true; }

guest_create() {
	local cfg=$CASEOUT/guest.cfg
	cat >"$cfg" <<EOT
name = "$GUEST"
type = "pv"
kernel = "$GUEST_KERNEL"
ramdisk = "$GUEST_RAMDISK"
extra = "console=hvc0 loglevel=4 e2e.case=$CASE e2e.backend=$BACKEND"
memory = ${GUEST_MEMORY:-512}
vcpus = ${GUEST_VCPUS:-1}
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOT
	rm -f "$(console_log)"
	# shellcheck disable=SC2086 # flags, word-split on purpose
	xl ${GUEST_XL_FLAGS--vvv} create -p "$cfg" >"$CASEOUT/xl-create.log" 2>&1 ||
		fail "xl create failed: $(tail -n 3 "$CASEOUT/xl-create.log" | tr "\n" " ")"
	DOMID=$(domid_of "$GUEST") || fail "no domain $GUEST after xl create"
	say "guest $GUEST created paused, domid $DOMID"
}

guest_start() {
	xl unpause "$GUEST"
	say "guest unpaused"
}

# domid_of NAME: the domid of domain NAME, from xenstore in two forks (xl
# domid costs 0.6 to 0.8 s under TCG); xl's answer when xenstore has none
# (a domain half torn down).  Fails when there is no such domain.
domid_of() {
	local ids=() paths=() names=() i
	mapfile -t ids < <(xenstore-list /local/domain 2>/dev/null)
	for i in "${ids[@]}"; do paths+=("/local/domain/$i/name"); done
	if [ ${#paths[@]} -gt 0 ] && mapfile -t names < <(xenstore-read "${paths[@]}" 2>/dev/null) &&
		[ ${#names[@]} = ${#ids[@]} ]; then
		for i in "${!names[@]}"; do
			[ "${names[$i]}" != "$1" ] || { echo "${ids[$i]}"; return 0; }
		done
		return 1
	fi
	xl domid "$1" 2>/dev/null
}

# The domid xl last gave for $GUEST answers while it still carries that
# name; xl is asked again once it does not (destroyed, or migrated).
ALIVE_DOMID=
guest_alive() {
	if [ -n "$ALIVE_DOMID" ] &&
		[ "$(xenstore-read "/local/domain/$ALIVE_DOMID/name" 2>/dev/null)" = "$GUEST" ]; then
		return 0
	fi
	ALIVE_DOMID=$(domid_of "$GUEST") && return 0
	ALIVE_DOMID=
	return 1
}
# file_has FILE TEXT: FILE holds TEXT anywhere (bash builtins only).
file_has() {
	local t=
	[ -r "$1" ] || return 1
	read -r -d '' t <"$1" || true
	[[ $t == *"$2"* ]]
}
# console_has LOG LINE: LOG (a guest console, lines ending in CR LF) has
# a line starting with LINE.  Read by the shell itself: no fork.
console_has() {
	local t=
	[ -r "$1" ] || return 1
	read -r -d '' t <"$1" || true
	[[ $'\n'$t == *$'\n'"$2"* ]]
}
guest_ended() { console_has "/var/log/xen/guest-$GUEST.log" '@@E2E END'; }

# The guest's first failure reason, if it reported one.
guest_fail_reason() { console_text | sed -n 's/^@@E2E RESULT FAIL //p' | head -n1; }

guest_wait_mark() {
	local mark=$1 t=${2:-120}
	say "waiting for guest mark '$mark'"
	if ! wait_for "mark $mark" "$t" guest_has_mark_or_end "$mark"; then
		fail "guest did not reach '$mark' within ${t}s"
	fi
	console_text | grep -q "^@@E2E MARK $mark\$" && return 0
	fail "guest ended before '$mark': $(guest_fail_reason)"
}
guest_has_mark_or_end() {
	console_has "/var/log/xen/guest-$GUEST.log" "@@E2E MARK $1"$'\r' ||
		guest_ended || guest_gone_lately
}
# The polls' liveness check: xenstore's answer costs a fork, about 0.1 s of
# dom0's CPU under TCG, taken from the backend and the guest; asked every
# 2 s, not at every half-second poll (the console, read by the shell
# itself, is checked at each).
GONE_ASKED=0
guest_gone_lately() {
	[ $((EPOCHSECONDS - GONE_ASKED)) -ge 2 ] || return 1
	GONE_ASKED=$EPOCHSECONDS
	! guest_alive
}

# A guest that stopped printing may be spinning in its kernel: its vCPUs'
# registers and stack, symbolised with dom0's kallsyms (the same kernel;
# PV kernels load at a fixed address), into CASEOUT/xenctx.txt.
# guest_dump_vcpus [DOMID]: the case's guest unless another is named.
guest_dump_vcpus() {
	local map=/tmp/e2e-kallsyms.map i dom=${1:-${DOMID:-}}
	[ -n "$dom" ] || return 0
	awk '{ print $1, $2, $3 }' /proc/kallsyms >"$map" 2>/dev/null || return 0
	echo "===== domain $dom" >>"$CASEOUT/xenctx.txt"
	for i in 1 2; do
		/usr/lib/xen-4.17/bin/xenctx -s "$map" -S -C -n 2 -l MAX "$dom" \
			>>"$CASEOUT/xenctx.txt" 2>&1 || true
		echo "=====" >>"$CASEOUT/xenctx.txt"
		sleep 1
	done
}

# Wait until the guest printed its END line (then it powers off) or died.
guest_wait_end() {
	local t=$1
	say "waiting up to ${t}s for the guest part to finish"
	if ! wait_for "guest end" "$t" guest_end_or_gone; then
		guest_dump_vcpus
		fail "guest did not finish within ${t}s (console: $(console_text | tail -n1); vCPU state in xenctx.txt)"
	fi
	# With END on the console its part is over: what it does next (a 2 s
	# pause for xenconsoled, then poweroff -f) checks nothing, and waiting
	# for it cost about 4 s per case.  A case that looks at the guest's own
	# poweroff says GUEST_POWEROFF=self.
	if [ "${GUEST_POWEROFF:-}" = self ]; then
		wait_for "guest poweroff" 15 eval '! guest_alive' || true
	elif guest_alive; then
		xl destroy "$GUEST" 2>/dev/null || true
	fi
}
guest_end_or_gone() { guest_ended || guest_gone_lately; }

# PASS if the guest said so; the case has already failed otherwise.
guest_verdict() {
	local r
	r=$(console_text | sed -n 's/^@@E2E RESULT //p' | head -n1)
	case $r in
	PASS) return 0 ;;
	FAIL*) fail "guest: ${r#FAIL }" ;;
	*) fail "guest gave no result (crashed or powered off early; see console.log)" ;;
	esac
}

# --- a second guest of a case (e2e.role=b), through the xl front ---

# guest_b_create NAME VSCSI-ENTRY...: the case's guest.cfg renamed NAME, with
# 384 MiB, e2e.role=b on its command line and these vscsi= entries.
guest_b_create() {
	local name=$1 cfg=$CASEOUT/$1.cfg e list=""
	shift
	for e in "$@"; do list="$list${list:+, }'$e'"; done
	sed "s/^name = .*/name = \"$name\"/; s/^memory = .*/memory = 384/; s/e2e.case=$CASE/e2e.case=$CASE e2e.role=b/" \
		"$CASEOUT/guest.cfg" >"$cfg"
	printf 'vscsi = [ %s ]\n' "$list" >>"$cfg"
	xl create "$cfg" >&2 || fail "xl create $name failed"
}
guest_b_text() { tr -d '\r' <"/var/log/xen/guest-$1.log" 2>/dev/null || true; }
# guest_b_has NAME 'MARK x' | RESULT | 'RESULT PASS'
guest_b_has() { console_has "/var/log/xen/guest-$1.log" "@@E2E $2"; }
# guest_b_wait_mark NAME MARK SECS: fail if it ends first or takes longer.
guest_b_wait_mark() {
	wait_for "$1 mark $2" "$3" eval "guest_b_has '$1' 'MARK $2' || guest_b_has '$1' RESULT" ||
		fail "$1 did not reach '$2' within $3 s"
	guest_b_has "$1" "MARK $2" || fail "$1 ended before '$2': $(guest_b_text "$1" | sed -n 's/^@@E2E RESULT //p')"
}
# guest_b_verdict NAME SECS: its RESULT line, PASS or the case fails with its reason.
guest_b_verdict() {
	wait_for "$1's verdict" "$2" eval "guest_b_has '$1' RESULT" || fail "$1 gave no verdict"
	guest_b_has "$1" 'RESULT PASS' || fail "$1: $(guest_b_text "$1" | sed -n 's/^@@E2E RESULT FAIL //p')"
}
# guest_b_cleanup NAME: destroy it and keep its console as console-b.log.
guest_b_cleanup() {
	xl destroy "$1" 2>/dev/null || true
	[ ! -f "/var/log/xen/guest-$1.log" ] || guest_b_text "$1" >"$CASEOUT/console-b.log"
}

# Copy the console log and split out the files the guest recorded
# (lines "@@R FILE text", see guest-lib.sh `record`).
collect_guest_output() {
	local log
	log=$(console_log)
	[ -f "$log" ] || return 0
	console_text >"$CASEOUT/console.log"
	awk -v dir="$CASEOUT" '
		/^@@R [A-Za-z0-9._-]+ / {
			f = $2; line = $0; sub(/^@@R [^ ]+ /, "", line)
			if (line == "@@R-EMPTY") line = ""
			print line > (dir "/" f)
		}' "$CASEOUT/console.log"
}

# --- vscsi attach / detach by writing xenstore (xl 4.17 has no vscsi) ---

# vscsi_attach DOMID VHOST DEVN PDEV VDEV: before the guest runs (paused),
# create the vhost's backend and frontend nodes (first call) and dev-DEVN.
# One xenstore-write is one transaction, so a backend never sees half of it.
# The vhost's feature-host is $VSCSI_FEATURE_HOST (default 0) when the call
# creates it.
vscsi_attach() {
	local domid=$1 vhost=$2 n=$3 pdev=$4 vdev=$5 fh=${VSCSI_FEATURE_HOST:-0}
	local be=$XS_BE_ROOT/$domid/$vhost fe=/local/domain/$domid/device/vscsi/$vhost
	local dev=$be/vscsi-devs/dev-$n
	say "attach dev-$n: p-dev $pdev -> v-dev $vdev (vhost $vhost)"
	if ! xenstore-exists "$be/state" 2>/dev/null; then
		[ "$fh" = 0 ] || say "vhost $vhost: feature-host=$fh"
		xenstore-write \
			"$be/frontend" "$fe" "$be/frontend-id" "$domid" "$be/online" 1 \
			"$be/feature-host" "$fh" "$be/state" 1 \
			"$dev/p-dev" "$pdev" "$dev/v-dev" "$vdev" "$dev/state" 1 \
			"$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1
		# Backend: dom0's, readable by the guest.  Frontend: the guest's.
		xenstore-chmod -r "$be" n0 "r$domid"
		xenstore-chmod -r "$fe" "n$domid" r0
	else
		xenstore-write "$dev/p-dev" "$pdev" "$dev/v-dev" "$vdev" "$dev/state" 1
		xenstore-chmod -r "$dev" n0 "r$domid"
	fi
}

vscsi_states() {
	local be=$XS_BE_ROOT/$1/$2
	echo "backend state $(xs_read "$be/state"), frontend state" \
		"$(xs_read "$(xs_read "$be/frontend")/state")$(for d in $(xenstore-list "$be/vscsi-devs" 2>/dev/null); do
			printf ', %s %s' "$d" "$(xs_read "$be/vscsi-devs/$d/state")"
		done)"
}

# Wait for the vhost to be Connected (4) before a reconfiguration.
vscsi_wait_connected() {
	local be=$XS_BE_ROOT/$1/$2
	wait_for "backend connected" "${3:-60}" xs_is "$be/state" 4 ||
		{ xs_dump; fail "vhost $2 not connected ($(vscsi_states "$1" "$2"))"; }
}

# Hot add (vscsiif-protocol.md): the toolstack writes dev-N (state 1) and the
# backend state 7 together; backend adds (dev 3) and goes 8; the frontend adds
# the LUN and goes 4; the backend moves dev-N to 4 and itself back to 4.
vscsi_hot_add() {
	local domid=$1 vhost=$2 n=$3 pdev=$4 vdev=$5
	local be=$XS_BE_ROOT/$domid/$vhost dev=$XS_BE_ROOT/$domid/$vhost/vscsi-devs/dev-$n
	vscsi_wait_connected "$domid" "$vhost"
	say "hot add dev-$n: p-dev $pdev -> v-dev $vdev"
	xenstore-write "$dev/p-dev" "$pdev" "$dev/v-dev" "$vdev" "$dev/state" 1 "$be/state" 7
	xenstore-chmod -r "$dev" n0 "r$domid"
	wait_for "dev-$n connected" "${HOTPLUG_TIMEOUT:-60}" \
		eval "xs_is $dev/state 4 && xs_is $be/state 4" ||
		{
			xs_dump
			guest_dump_vcpus "$domid"
			fail "hot add of dev-$n did not complete ($(vscsi_states "$domid" "$vhost"); vCPUs in xenctx.txt)"
		}
	say "hot add dev-$n done"
}

# Hot remove: dev-N state 5 and backend state 7; the frontend removes the LUN
# and goes 7; the backend drops it (dev 6) and goes 8; frontend 4, backend 4.
# Then the toolstack deletes dev-N's nodes.
vscsi_hot_remove() {
	local domid=$1 vhost=$2 n=$3
	local be=$XS_BE_ROOT/$domid/$vhost dev=$XS_BE_ROOT/$domid/$vhost/vscsi-devs/dev-$n
	local fe
	fe=$(xs_read "$be/frontend")
	vscsi_wait_connected "$domid" "$vhost"
	say "hot remove dev-$n"
	xenstore-write "$dev/state" 5 "$be/state" 7
	wait_for "dev-$n closed" "${HOTPLUG_TIMEOUT:-60}" \
		eval "xs_is $dev/state 6 && xs_is $be/state 4" ||
		{
			xs_dump
			guest_dump_vcpus "$domid"
			fail "hot remove of dev-$n did not complete ($(vscsi_states "$domid" "$vhost"); vCPUs in xenctx.txt)"
		}
	xenstore-rm "$dev"
	xenstore-rm "$fe/vscsi-devs/dev-$n" 2>/dev/null || true
	say "hot remove dev-$n done"
}

# --- the scsi_debug disk in dom0 (one 64 MiB disk) ---

# iso_make PATH LABEL: an ISO 9660 image at PATH (xorriso) labelled LABEL,
# holding a random NAME.bin (NAME: PATH's base name without .iso) and its
# SHA256SUMS.
iso_make() {
	local name dir
	name=$(basename "$1" .iso)
	dir=$1.root
	command -v xorriso >/dev/null || fail "xorriso not installed (scripts/install-deps e2e)"
	rm -rf "$dir"
	mkdir -p "$dir"
	head -c 262144 /dev/urandom >"$dir/$name.bin"
	(cd "$dir" && sha256sum "$name.bin" >SHA256SUMS)
	xorriso -as mkisofs -quiet -V "$2" -r -J -o "$1" "$dir" 2>/dev/null ||
		fail "xorriso could not build $1"
	say "disc $2: $1 ($(stat -c %s "$1") bytes)"
}

sdebug_load() {
	if [ ! -d /sys/bus/pseudo/drivers/scsi_debug ]; then
		modprobe sd_mod
		modprobe sg
		modprobe scsi_debug dev_size_mb=64
	fi
	wait_for "scsi_debug disk" 20 sdebug_hctl_quiet || fail "scsi_debug disk did not appear"
}
sdebug_hctl_quiet() { [ -n "$(sdebug_hctl)" ]; }
# H:C:T:L of the scsi_debug disk.
sdebug_hctl() {
	local d
	for d in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/[0-9]*:*; do
		[ -e "$d" ] && basename "$d" && return 0
	done
	return 0
}
sdebug_sg() { ls "/sys/class/scsi_device/$(sdebug_hctl)/device/scsi_generic/"; }
sdebug_sd() { ls "/sys/class/scsi_device/$(sdebug_hctl)/device/block/"; }

# pr_pace B [CHECK...]: dom0's half of the two-guest fencing steps (pr_guest
# in the guests), once $GUEST has its LUN at 0:0:0:0 and has started: make
# guest B (guest_b_create B ENTRY... first), run CHECK... once both are
# registered and ready, then let B preempt and A find itself fenced.  A
# mem: LUN hot-added at 0:0:1:0 is each guest's signal to go on.
pr_pace() {
	local b=$1
	shift
	guest_wait_mark a-reserved 300
	guest_b_wait_mark "$b" b-ready 300
	[ $# -eq 0 ] || "$@"
	xl scsi-attach "$b" mem:1M 0:0:1:0 || fail "signalling $b"
	guest_b_wait_mark "$b" b-preempted 300
	xl scsi-attach "$GUEST" mem:1M 0:0:1:0 || fail "signalling $GUEST"
	guest_wait_end "$TIMEOUT"
	guest_b_verdict "$b" 300
	say "$b: $(guest_b_text "$b" | grep -c '^pr:') steps passed"
}
