# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The host side of a tests/vhost case, sourced by run.sh.  A case's host()
# runs in its own process (bash, set -eE: any failing command fails the
# case with its line) beside the guest's guest(), with these helpers:
#
#   fail MSG                          end the case as FAIL with MSG
#   say MSG                           a line in the case's host.log
#   guest_wait_mark NAME [SECS] [N]   wait until guest N (1) printed `mark NAME`
#                                     in this case (120 s); fails if the guest
#                                     ended the case or died first
#   lun_add T:L IMAGE                 hot add a file LUN (ref: device_add of the
#                                     drive the standard boot declared for T:L)
#   lun_remove T:L                    hot remove it
#   lun_resize T:L IMAGE SIZE         grow the LUN's image to SIZE and tell the
#                                     back-end (ref: block_resize)
#   ctl CMD...                        the mode's back-end's control socket
#   hmp CMD                           guest 1's QEMU monitor (HMP)
#   backend_start NAME ARG...         start pvscsi-vhost-user ARG... (files
#                                     CASEOUT/NAME.{log,pid,args}); returns when
#                                     each --socket-path it was given listens
#   backend_stop NAME, backend_kill9 NAME, backend_restart NAME (the same
#   arguments), backend_wait_inflight NAME (until its stats show requests in
#   flight, 3 s at most), backend_ctl NAME CMD...
#                                     NAME is found in the case's directory,
#                                     then the mode's: `backend` is the standard
#                                     boot's (vhost, restart)
#
# A case with BOOT=own boots its own guests (several at once if it likes):
#   guest_boot N DEVICE...            boot guest N; it runs the case's guest()
#                                     with GUEST=N.  DEVICE: vus:SOCKET[:QUEUES]
#                                     (a vhost-user-scsi-pci on SOCKET, 2 queues,
#                                     with the mode's chardev options) or any
#                                     QEMU argument
#   guest_wait N                      wait until guest N powered off; fail
#                                     unless its guest() passed
#   guest_hmp N CMD                   guest N's QEMU monitor
#   guest_tell N WORD [SECS]          send guest N a word, again until the
#                                     guest says it heard it (300 s); its
#                                     guest() waits for it with `wait_host
#                                     WORD` (also in the standard boot)
# The harness waits for every guest host() leaves running, then stops every
# back-end the case started.
#
# Variables: MODE (vhost, ref, restart), CASE, CASEOUT (build/vhost/MODE/CASE:
# the case's files), RUN (build/vhost/MODE: the standard boot's images
# img0..img3 and logs), BIN (pvscsi-vhost-user), TIMEOUT (an own boot's
# time limit per guest).

say() { printf '%s [%s/%s] %s\n' "$(date +%T)" "$MODE" "${CASE:-}" "$*" >&2; }

# The first verdict wins; later ones (cleanup, traps) are ignored.
host_verdict() {
	[ -s "$CASEOUT/host-result" ] && return 0
	echo "$*" | tr -d '\r' | head -n1 >"$CASEOUT/host-result"
}

fail() {
	[ -n "${CASE:-}" ] || die "$*"
	say "FAIL: $*"
	host_verdict FAIL "$*"
	exit 1
}

# --- the guests of this case ---

guest_dir() {
	if [ "$BOOT" = own ]; then echo "$CASEOUT/g$1"; else echo "$RUN"; fi
}

# Guest N's console in this case, without carriage returns.  In the
# standard boot, the dispatcher (boot.sh) writes each case's lines apart.
guest_console() {
	if [ "$BOOT" = own ]; then
		tr -d '\r' <"$CASEOUT/g$1/serial.log" 2>/dev/null || true
	else
		cat "$CASEOUT/console.log" 2>/dev/null || true
	fi
}

guest_alive() {
	local p
	p=$(cat "$(guest_dir "$1")/run.pid" 2>/dev/null) || return 0
	kill -0 "$p" 2>/dev/null
}
guest_case_done() { guest_console "$1" | grep -qE "^@@VH (CASE $CASE (PASS|FAIL)|END)"; }
guest_has_mark() { guest_console "$1" | grep -qFx "@@E2E MARK $2"; }
guest_reason() { guest_console "$1" | sed -n "s/^@@VH CASE $CASE FAIL //p" | head -n1; }

guest_wait_mark() {
	local mark=$1 t=${2:-120} n=${3:-1} end r
	end=$((SECONDS + t))
	say "waiting for guest $n's mark '$mark'"
	until guest_has_mark "$n" "$mark"; do
		if guest_case_done "$n" || ! guest_alive "$n"; then
			guest_has_mark "$n" "$mark" && break
			r=$(guest_reason "$n")
			fail "guest $n ended the case before '$mark'${r:+: $r}"
		fi
		[ "$SECONDS" -lt "$end" ] || fail "guest $n did not reach '$mark' within ${t}s"
		sleep 0.2
	done
	say "guest $n: mark '$mark'"
}

guest_hmp() { qemu_hmp "$(guest_dir "$1")/mon.sock" "$2"; }

guest_tell() {
	local n=$1 w=$2 t=${3:-300} end i
	end=$((SECONDS + t))
	say "telling guest $n: $w"
	while :; do
		# Before the guest listens (it boots), a word may be lost: send it
		# again until the guest's console says it was heard.
		python3 - "$(guest_dir "$n")/host.sock" "$w" <<'PY' || true
import socket, sys
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall((sys.argv[2] + "\n").encode())
    s.close()
except OSError as e:
    print("guest_tell: %s: %s" % (sys.argv[1], e))
PY
		for i in $(seq 10); do
			guest_console "$n" | grep -qFx "@@VH HEARD $w" && return 0
			sleep 0.2
		done
		guest_alive "$n" || fail "guest $n is gone: it did not hear '$w'"
		[ "$SECONDS" -lt "$end" ] || fail "guest $n did not hear '$w' within ${t}s"
	done
}
hmp() { guest_hmp 1 "$1"; }

# expand_devices ARRAY DEVICE...: the QEMU arguments for guest_boot's
# DEVICEs, appended to the array named ARRAY.
expand_devices() {
	local -n _ed=$1
	local d spec q k=${#_ed[@]}
	shift
	for d in "$@"; do
		case $d in
		vus:*)
			spec=${d#vus:}
			q=2
			case $spec in *:[0-9]*) q=${spec##*:} spec=${spec%:*} ;; esac
			_ed+=(-chardev "socket,id=vus$k,path=$spec$MODE_CHARDEV_OPTS"
				-device "vhost-user-scsi-pci,chardev=vus$k,num_queues=$q")
			k=$((k + 1))
			;;
		*) _ed+=("$d") ;;
		esac
	done
}

declare -A GUEST_PID=()

guest_boot() {
	local n=$1 a=()
	shift
	[ "$BOOT" = own ] || fail "guest_boot: only in a case with BOOT=own"
	[ -z "${GUEST_PID[$n]:-}" ] || fail "guest_boot: guest $n is already running"
	expand_devices a "$@"
	mkdir -p "$CASEOUT/g$n"
	say "booting guest $n:${a[*]+ ${a[*]}}"
	vh_qemu "$CASEOUT/g$n" "$CASE" "$n" "$TIMEOUT" ${a[@]+"${a[@]}"}
	GUEST_PID[$n]=$QEMU_PID
}

guest_wait() {
	local n=$1 rc=0 r
	[ -n "${GUEST_PID[$n]:-}" ] || fail "guest_wait: no guest $n running"
	say "waiting for guest $n to finish"
	qemu_wait "${GUEST_PID[$n]}" || rc=$?
	unset "GUEST_PID[$n]"
	guest_console "$n" | sed -n 's/^@@R view.txt //p' >"$CASEOUT/g$n/view.txt"
	r=$(guest_console "$n" | sed -n -E "s/^@@VH CASE $CASE (PASS|FAIL.*)\$/\1/p" | head -n1)
	case $r in
	PASS) say "guest $n passed" ;;
	FAIL*) fail "guest $n: ${r#FAIL }" ;;
	*)
		if qemu_timed_out "$rc"; then
			fail "guest $n gave no result: QEMU timed out after ${TIMEOUT}s (see g$n/serial.log)"
		fi
		fail "guest $n gave no result (QEMU exit status $rc, see g$n/serial.log)"
		;;
	esac
}

guest_wait_all() {
	local n
	for n in "${!GUEST_PID[@]}"; do
		guest_wait "$n"
	done
}

# --- pvscsi-vhost-user ---

be_base() {
	if [ -e "${CASEOUT:-$RUN}/$1.args" ]; then echo "${CASEOUT:-$RUN}/$1"; else echo "$RUN/$1"; fi
}

# be_arg BASE OPTION: the values given to --OPTION in its arguments.
be_arg() {
	local a prev=""
	while IFS= read -r -d '' a; do
		case $a in "--$2="*) echo "${a#--"$2"=}" ;; esac
		[ "$prev" != "--$2" ] || echo "$a"
		prev=$a
	done <"$1.args"
}

be_launch() {
	local base=$1 args=() s
	mapfile -d '' args <"$base.args"
	for s in $(be_arg "$base" socket-path); do rm -f "$s"; done
	"$BIN" ${VHOST_VERBOSE:+--verbose} "${args[@]}" </dev/null >>"$base.log" 2>&1 &
	echo $! >"$base.pid"
	# Not a job of this shell: a kill -9 (restart) is no news to print.
	disown $!
	for s in $(be_arg "$base" socket-path); do
		for _ in $(seq 50); do
			[ -S "$s" ] && break
			sleep 0.1
		done
		[ -S "$s" ] || fail "pvscsi-vhost-user did not create $s (see $base.log)"
	done
}

backend_start() {
	local base=${CASEOUT:-$RUN}/$1
	shift
	printf '%s\0' "$@" >"$base.args"
	be_launch "$base"
}

backend_restart() { be_launch "$(be_base "$1")"; }

backend_kill9() { kill -KILL "$(cat "$(be_base "$1").pid")" 2>/dev/null || true; }

backend_stop() {
	local base p
	base=$(be_base "$1")
	p=$(cat "$base.pid" 2>/dev/null) || return 0
	rm -f "$base.pid"
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
}

backend_ctl() {
	local sock
	sock=$(be_arg "$(be_base "$1")" ctl-socket)
	shift
	"$BIN" ctl "$sock" "$@"
}
ctl() { backend_ctl backend "$@"; }

# A moment with requests in flight (the back-end's stats say so), 3 s at most.
backend_wait_inflight() {
	local sock
	sock=$(be_arg "$(be_base "$1")" ctl-socket)
	for _ in $(seq 300); do
		case $("$BIN" ctl "$sock" stats 2>/dev/null) in
		*" inflight=0"*) sleep 0.01 ;;
		*) break ;;
		esac
	done
}

# --- LUNs, whatever the back-end ---

ref_drive() {
	[ -n "${REF_DRIVE[$1]:-}" ] || fail "ref: the standard boot declares no drive for $1"
	[ -z "${2:-}" ] || [ "${REF_IMAGE[$1]}" = "$2" ] ||
		fail "ref: the drive for $1 is ${REF_IMAGE[$1]}, not $2"
	echo "${REF_DRIVE[$1]}"
}

lun_add() {
	local d
	case $MODE in
	ref)
		d=$(ref_drive "$1" "$2")
		hmp "device_add scsi-hd,drive=$d,bus=scsi0.0,channel=0,scsi-id=${1%:*},lun=${1#*:},id=lun${1/:/-}"
		;;
	*) ctl add "$1" "file:$2" ;;
	esac
}

lun_remove() {
	case $MODE in
	ref) hmp "device_del lun${1/:/-}" ;;
	*) ctl remove "$1" ;;
	esac
}

lun_resize() {
	local d
	case $MODE in
	ref)
		d=$(ref_drive "$1" "$2")
		hmp "block_resize $d $3"
		;;
	*)
		truncate -s "$3" "$2"
		ctl resize "$1"
		;;
	esac
}
