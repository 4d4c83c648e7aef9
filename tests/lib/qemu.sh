# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The one place that boots QEMU for the test suites: tests/e2e (Xen under
# QEMU), tests/vhost (virtio-scsi guests) and tests/bench (both).  Sourced;
# needs bash.
#
#   qemu_start [OPTION...] [-- QEMU-ARG...]
#       start QEMU in the background (TCG) under a time limit and return at
#       once; sets QEMU_PID (the pid to wait for: the time limit's, which
#       passes signals on to QEMU).  Options:
#         --serial FILE    the serial console (COM1), truncated first (required)
#         --log FILE       QEMU's own stdout and stderr (required)
#         --kernel FILE    -kernel (required); --initrd FILE, --append TEXT
#         --mem MIB        guest RAM (512); --smp N (2)
#         --shared-mem     guest RAM in a memfd shared with other processes
#                          (a vhost-user back-end maps it)
#         --nodefaults     no default devices (monitor, NIC, VGA...)
#         --timeout SECS   then QEMU is killed (600): wait returns 124 or 137
#         --bin PATH       the QEMU binary (qemu-system-x86_64)
#         --name NAME      -name NAME with named threads ("CPU N/TCG")
#         --pidfile FILE   QEMU's own pid (to read its /proc counters)
#       Everything after -- is passed on as it is (devices, shares, -L).
#   qemu_console PID FILE   print FILE (a serial log) from its start and as it
#                           grows, until the QEMU of PID has exited
#   qemu_wait PID           wait for that QEMU; returns its exit status
#   qemu_timed_out STATUS   true if that status is the time limit's
#   qemu_kill_all           stop every QEMU this shell started and has not
#                           waited for (qemu_kill_on_exit: on exit, INT, TERM;
#                           a script with its own EXIT trap calls it there)
#   qemu_hmp SOCKET CMD     one command on a human monitor socket; prints
#                           the answer, fails if it says Error
#
# Every QEMU runs with -accel tcg -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt
# (no KVM here, -cpu max crashes Xen's dom0, Debian's userland needs SSSE3
# to SSE4.2; see xen-under-qemu.md), -display none and -no-reboot (a guest
# that reboots or panics ends the run).

QEMU_PIDS=()

qemu_start() {
	local serial="" log="" kernel="" initrd="" append="" mem=512 smp=2 shared=0 nodef=0
	local t=600 bin=${QEMU_BIN:-qemu-system-x86_64} name="" pidfile="" a=()
	while [ $# -gt 0 ]; do
		case $1 in
		--serial) serial=$2 ;;
		--log) log=$2 ;;
		--kernel) kernel=$2 ;;
		--initrd) initrd=$2 ;;
		--append) append=$2 ;;
		--mem) mem=$2 ;;
		--smp) smp=$2 ;;
		--timeout) t=$2 ;;
		--bin) bin=$2 ;;
		--name) name=$2 ;;
		--pidfile) pidfile=$2 ;;
		--shared-mem) shared=1 ;;
		--nodefaults) nodef=1 ;;
		--)
			shift
			break
			;;
		*)
			echo "qemu_start: unknown option $1" >&2
			return 2
			;;
		esac
		case $1 in --shared-mem | --nodefaults) ;; *) shift ;; esac
		shift
	done
	if [ -z "$serial" ] || [ -z "$log" ] || [ -z "$kernel" ]; then
		echo "qemu_start: --serial, --log and --kernel are required" >&2
		return 2
	fi
	a=(-accel tcg -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt)
	[ -z "$name" ] || a+=(-name "$name,debug-threads=on")
	[ -z "$pidfile" ] || a+=(-pidfile "$pidfile")
	a+=(-m "$mem" -smp "$smp")
	[ "$nodef" = 0 ] || a+=(-nodefaults)
	[ "$shared" = 0 ] || a+=(-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem)
	a+=(-display none -no-reboot -serial "file:$serial" -kernel "$kernel")
	[ -z "$initrd" ] || a+=(-initrd "$initrd")
	[ -z "$append" ] || a+=(-append "$append")
	: >"$serial"
	timeout -k 10 "$t" "$bin" "${a[@]}" "$@" </dev/null >"$log" 2>&1 &
	QEMU_PID=$!
	QEMU_PIDS+=("$QEMU_PID")
}

# No filter between tail and the reader: a buffering one would hold the
# guest's lines back.
qemu_console() {
	tail --pid="$1" -n +1 -F "$2" 2>/dev/null
}

qemu_wait() {
	local rc=0 p keep=()
	wait "$1" || rc=$?
	for p in "${QEMU_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	QEMU_PIDS=(${keep[@]+"${keep[@]}"})
	return "$rc"
}

qemu_timed_out() { [ "$1" = 124 ] || [ "$1" = 137 ]; }

qemu_kill_all() {
	local p
	for p in ${QEMU_PIDS[@]+"${QEMU_PIDS[@]}"}; do
		kill -TERM "$p" 2>/dev/null || true
	done
	QEMU_PIDS=()
}

qemu_kill_on_exit() {
	trap qemu_kill_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

qemu_hmp() {
	python3 - "$1" "$2" <<'PY'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
def until_prompt(buf=b""):
    end = time.time() + 10
    while not buf.rstrip().endswith(b"(qemu)") and time.time() < end:
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d:
            break
        buf += d
    return buf
until_prompt()
s.sendall((sys.argv[2] + "\n").encode())
out = until_prompt().decode(errors="replace")
# The monitor echoes the command with line-editing escapes, then answers.
out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out)
lines = [l.rstrip("\r") for l in out.split("\n")]
answer = "\n".join(l for l in lines[1:] if l.strip() and l.strip() != "(qemu)")
print("(qemu) " + sys.argv[2])
if answer:
    print(answer)
sys.exit(1 if "rror" in answer else 0)
PY
}
