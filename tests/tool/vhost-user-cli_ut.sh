#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsi-vhost-user's command line: every bad option value gets one line
# naming the option, the value and what is accepted, with exit status 2;
# --socket-path and --ctl-socket never delete what is not a stale socket
# (files, a disk image, a symbolic link, a directory stay as they were) and
# never take over the live socket of another instance; a stale one (an
# instance killed with SIGKILL) is replaced.
#
# Usage: tests/tool/vhost-user-cli_ut.sh [BINARY]   (default
# build/asan/pvscsi-vhost-user, else build/rel/pvscsi-vhost-user).  Ends with
# an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"
# timeout --foreground throughout: without it, timeout follows each signal it
# forwards with SIGCONT, and one landing while LeakSanitizer stops the world at
# exit cancels the stop it waits for, so both wait for ever (seen under load).

bin=${1:-}
if [ -z "$bin" ]; then
	for b in build/asan/pvscsi-vhost-user build/rel/pvscsi-vhost-user; do
		[ -x "$b" ] && bin=$b && break
	done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
	echo "pvscsi-vhost-user binary not found (make build/asan/pvscsi-vhost-user)" >&2
	exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d /var/tmp/vhost-cli-test.XXXXXX)
first=
stale=
cleanup() {
	# Only the instances this script started, by their pids.
	[ -n "$first" ] && kill -TERM "$first" 2>/dev/null
	[ -n "$stale" ] && kill -KILL "$stale" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

# bad NAME STATUS TEXT ARGS...: exits STATUS with exactly one line on stderr,
# which contains TEXT.  A hang (what --fd=99 used to do) is a failure too.
bad() {
	name=$1 want=$2 text=$3
	shift 3
	timeout --foreground 10 "$bin" "$@" >out 2>err </dev/null
	st=$?
	lines=$(wc -l <err)
	if [ "$st" = "$want" ] && [ "$lines" = 1 ] && grep -qF -- "$text" err; then
		ok "$name"
	else
		fail "$name" "exit $st (expected $want), $lines stderr lines, expected one with: $text" \
			"stderr: $(head -c 600 err)"
	fi
}

# wait_for COMMAND...: up to 10 s for COMMAND to succeed
wait_for() {
	i=0
	while [ "$i" -lt 100 ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

same() { # NAME FILE COPY: FILE still there, byte for byte
	if [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1" "$2 changed or gone: $(ls -l "$2" 2>&1)"
	fi
}

printf 'precious\n' >victim.txt
cp victim.txt victim.copy
head -c 65536 /dev/urandom >disk.img
cp disk.img disk.copy
ln -s victim.txt link
mkdir dir

# ---- option values: one line, exit 2 ----
nq="expected a number of request queues from 1 to 16"
bad "--num-queues 0" 2 "--num-queues '0': $nq" --num-queues 0 --socket-path=a.sock
bad "--num-queues 17" 2 "--num-queues '17': $nq" --num-queues 17 --socket-path=a.sock
bad "--num-queues abc" 2 "--num-queues 'abc': $nq" --num-queues abc --socket-path=a.sock
bad "--num-queues=-1" 2 "--num-queues '-1': $nq" --num-queues=-1 --socket-path=a.sock
bad "--num-queues ' 4'" 2 "--num-queues ' 4': $nq" --num-queues ' 4' --socket-path=a.sock
fdacc="expected the number of an inherited, connected unix stream socket"
bad "--fd=abc" 2 "--fd 'abc': not a decimal number; $fdacc" --fd=abc
bad "--fd=-1" 2 "--fd '-1': not a decimal number; $fdacc" --fd=-1
bad "--fd=3x" 2 "--fd '3x': not a decimal number; $fdacc" --fd=3x
bad "--fd=99 (not open)" 2 "--fd 99: not an open file descriptor (Bad file descriptor); $fdacc" \
	--fd=99
bad "--fd=0 (/dev/null)" 2 "--fd 0: a character device, not a socket; $fdacc" --fd=0
# An open regular file on fd 5.
timeout --foreground 10 "$bin" --fd=5 5<victim.txt >out 2>err </dev/null
st=$?
if [ "$st" = 2 ] && [ "$(wc -l <err)" = 1 ] &&
	grep -qF -- "--fd 5: a regular file, not a socket; $fdacc" err; then
	ok "--fd=5 (a regular file)"
else
	fail "--fd=5 (a regular file)" "exit $st" "stderr: $(cat err)"
fi
one="expected exactly one of --socket-path=PATH or --fd=N"
bad "neither --socket-path nor --fd" 2 "neither --socket-path nor --fd given: $one"
bad "both --socket-path and --fd" 2 "both --socket-path and --fd given: $one" \
	--socket-path=a.sock --fd=0
bad "--lun without =SPEC" 2 "--lun '0:0': expected T:L=SPEC" --lun 0:0 --socket-path=a.sock
bad "--lun target 300" 2 "--lun '300:0=mem:1M': target:lun '300:0' is not T:L" \
	--lun 300:0=mem:1M --socket-path=a.sock
bad "a stray argument" 2 "'stray': not an option" stray --socket-path=a.sock
iname="an iSCSI name (iqn.YYYY-MM.reversed.domain:anything, at most 223 bytes)"
bad "--initiator-name with a space" 2 "--initiator-name 'iqn.x a': $iname" \
	--initiator-name 'iqn.x a' --socket-path=a.sock
bad "--initiator-name ''" 2 "--initiator-name '': $iname" --initiator-name '' --socket-path=a.sock
# An iSCSI LUN is a guest's session at the target: no name, no LUN (nothing is dialled).
bad "iscsi:// LUN without --initiator-name" 1 \
	"an iSCSI LUN needs the guest's initiator name, and this controller has none (--initiator-name, or ctrl-add's IQN)" \
	--lun 0:0=iscsi://127.0.0.1:1/iqn.2001-04.com.example:t/0 --socket-path=a.sock
bad "iscsi:// LUN, portal down" 1 \
	"cannot connect to the portal 127.0.0.1:1 of iqn.2001-04.com.example:t as iqn.2026-12.org.pvscsi:vm.web1" \
	--initiator-name iqn.2026-12.org.pvscsi:vm.web1 \
	--lun 0:0=iscsi://127.0.0.1:1/iqn.2001-04.com.example:t/0 --socket-path=a.sock
bad "--socket-path=''" 2 "--socket-path '': expected a path" --socket-path=

# ---- what is at a socket path is never destroyed ----
notsock="not a socket: refusing to replace it (expected a new path or a stale socket)"
bad "--ctl-socket victim.txt" 2 "--ctl-socket victim.txt: exists and is a regular file, $notsock" \
	--socket-path=a.sock --ctl-socket victim.txt
same "victim.txt kept" victim.txt victim.copy
bad "--socket-path=disk.img" 2 "--socket-path disk.img: exists and is a regular file, $notsock" \
	--socket-path=disk.img
same "disk.img kept" disk.img disk.copy
bad "--socket-path=link (symlink to a file)" 2 \
	"--socket-path link: exists and is a symbolic link, $notsock" --socket-path=link
if [ -L link ]; then ok "the symbolic link kept"; else fail "the symbolic link kept"; fi
same "its target kept" victim.txt victim.copy
bad "--socket-path=dir" 2 "--socket-path dir: exists and is a directory, $notsock" \
	--socket-path=dir
if [ -d dir ]; then ok "the directory kept"; else fail "the directory kept"; fi
if [ ! -e a.sock ]; then
	ok "no socket left behind by the refused runs"
else
	fail "no socket left behind by the refused runs" "$(ls -l a.sock)"
fi

# ---- a live instance is not taken over ----
timeout --foreground 600 "$bin" --socket-path=live.sock --ctl-socket=live.ctl --lun 0:0=mem:1M 2>first.log &
first=$!
if wait_for test -S live.sock && wait_for test -S live.ctl; then
	ino=$(stat -c %i live.sock)
	live="another process is listening on this socket (another pvscsi-vhost-user?): refusing to take it over"
	bad "second instance on a live --socket-path" 1 "--socket-path live.sock: $live" \
		--socket-path=live.sock
	bad "second instance on a live --ctl-socket" 1 "--ctl-socket live.ctl: $live" \
		--socket-path=other.sock --ctl-socket=live.ctl
	if [ ! -e other.sock ]; then ok "the refused instance left nothing"; else fail "the refused instance left nothing"; fi
	if [ -S live.sock ] && [ "$(stat -c %i live.sock)" = "$ino" ]; then
		ok "the first instance's socket is untouched"
	else
		fail "the first instance's socket is untouched" "$(ls -li live.sock 2>&1)"
	fi
	if "$bin" ctl live.ctl list 2>&1 | grep -q "^0:0 mem:1M"; then
		ok "the first instance still serves its control socket"
	else
		fail "the first instance still serves its control socket"
	fi
	# A control client that sends nothing is dropped when its 5 s are up
	# (the loop wakes for it; a quiet return alone does not ask the socket).
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(12)
t = time.monotonic()
left = s.recv(1)
print("closed after %.1f s" % (time.monotonic() - t) if left == b"" else "got %r" % left)
' live.ctl >silent.out 2>&1
	if grep -q "closed after [4-9]\." silent.out && grep -q "a client sent nothing for 5000 ms; dropped" first.log; then
		ok "a silent control client is dropped after 5 s"
	else
		fail "a silent control client is dropped after 5 s" "$(cat silent.out)" "$(tail -n 3 first.log)"
	fi
	kill -TERM "$first"
	wait "$first"
	st=$?
	first=
	if [ "$st" = 0 ] && [ ! -e live.sock ] && [ ! -e live.ctl ]; then
		ok "the first instance exits 0 on SIGTERM and removes its sockets"
	else
		fail "the first instance exits 0 on SIGTERM and removes its sockets" "exit $st" \
			"$(ls -l live.sock live.ctl 2>&1)" "$(cat first.log)"
	fi
else
	fail "first instance listening" "$(cat first.log)"
fi

# ---- a stale socket (its instance was killed) is replaced ----
"$bin" --socket-path=stale.sock 2>/dev/null &
stale=$!
if wait_for test -S stale.sock; then
	kill -KILL "$stale"
	wait "$stale" 2>/dev/null
	stale=
	timeout --foreground 600 "$bin" --socket-path=stale.sock 2>third.log &
	first=$!
	if wait_for grep -q "listening on stale.sock" third.log &&
		grep -q "stale.sock: removed a stale socket nobody listened on" third.log; then
		ok "a stale socket is replaced"
	else
		fail "a stale socket is replaced" "$(cat third.log)"
	fi
	kill -TERM "$first"
	wait "$first"
	first=
else
	fail "instance to leave a stale socket"
fi

# ---- --fd on real sockets (needs python3 for socketpair; skipped without it) ----
if command -v python3 >/dev/null 2>&1; then
	python3 - "$bin" >py.out 2>&1 <<'PY'
import socket, struct, subprocess, sys

bin = sys.argv[1]

def run(sock, what):
    try:
        p = subprocess.run([bin, "--fd=%d" % sock.fileno()], pass_fds=[sock.fileno()],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        print("%s exit %d: %s" % (what, p.returncode, p.stderr.decode().strip()))
    except subprocess.TimeoutExpired:
        print("%s: still running after 10 s (killed)" % what)

# A listening socket, a datagram socket: refused.
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind("py-listen.sock")
l.listen(1)
run(l, "listening")
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
run(d, "datagram")
# A connected one: served until it closes (exit 0), answering GET_FEATURES.
a, b = socket.socketpair()
p = subprocess.Popen([bin, "--fd=%d" % b.fileno()], pass_fds=[b.fileno()],
                     stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
b.close()
a.sendall(struct.pack("<III", 1, 1, 0))
hdr = a.recv(12)
req, flags, size = struct.unpack("<III", hdr)
a.close()
print("connected reply %d size %d exit %d" % (req, size, p.wait(timeout=10)))

# Kick fds that are no eventfd: /dev/zero (reads 8 bytes for ever) is
# refused by epoll and never read; an eventfd is read through the
# io_uring.  The daemon must not spin on either.
import os, time
a, b = socket.socketpair()
err = open("py-kick.err", "wb")
p = subprocess.Popen([bin, "--fd=%d" % b.fileno()], pass_fds=[b.fileno()],
                     stdin=subprocess.DEVNULL, stderr=err)
b.close()
a.sendall(struct.pack("<III", 3, 1, 0))  # SET_OWNER
zero = os.open("/dev/zero", os.O_RDONLY)
efd = os.eventfd(0, os.EFD_NONBLOCK)
socket.send_fds(a, [struct.pack("<IIIQ", 12, 1, 8, 2)], [zero])  # SET_VRING_KICK queue 2
socket.send_fds(a, [struct.pack("<IIIQ", 12, 1, 8, 3)], [efd])   # queue 3
os.eventfd_write(efd, 1)
a.sendall(struct.pack("<III", 1, 1, 0))  # GET_FEATURES: the messages before it were taken
a.recv(20)
def ticks():
    f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
t0 = ticks()
time.sleep(2)
used = ticks() - t0
a.close()
print("kick fds: exit %d, %d ticks in 2 s" % (p.wait(timeout=10), used))
PY
	acc="expected the number of an inherited, connected unix stream socket"
	if grep -q "^listening exit 2: pvscsi-vhost-user: --fd [0-9]*: a unix socket that is not connected (Transport endpoint is not connected); $acc\$" py.out; then
		ok "--fd on a listening socket"
	else
		fail "--fd on a listening socket" "$(cat py.out)"
	fi
	if grep -q "^datagram exit 2: pvscsi-vhost-user: --fd [0-9]*: a socket, but not a unix stream socket; $acc\$" py.out; then
		ok "--fd on a datagram socket"
	else
		fail "--fd on a datagram socket" "$(cat py.out)"
	fi
	if grep -q "^connected reply 1 size 8 exit 0\$" py.out; then
		ok "--fd on a connected socket: served, exit 0 when it closes"
	else
		fail "--fd on a connected socket: served, exit 0 when it closes" "$(cat py.out)"
	fi
	ticks=$(sed -n 's/^kick fds: exit 0, \([0-9]*\) ticks in 2 s$/\1/p' py.out)
	if [ -n "$ticks" ] && [ "$ticks" -lt 20 ] && grep -q "queue 2: epoll: Operation not permitted" py-kick.err; then
		ok "a kick fd that is no eventfd is polled, refused by epoll, and nothing spins"
	else
		fail "a kick fd that is no eventfd is polled, refused by epoll, and nothing spins" \
			"$(cat py.out)" "$(cat py-kick.err)"
	fi
else
	echo "skip --fd on real sockets: no python3"
fi

# ---- controllers at run time, one LUN pool ----
# check NAME WANT-STATUS TEXT CTL-WORDS...: the ctl client's exit status and a line of its reply.
check_ctl() {
	name=$1 want=$2 text=$3
	shift 3
	"$bin" ctl ctrls.ctl "$@" >ctl.out 2>&1
	st=$?
	if [ "$st" = "$want" ] && grep -qF -- "$text" ctl.out; then
		ok "$name"
	else
		fail "$name" "exit $st (expected $want), expected a line with: $text" "$(cat ctl.out)"
	fi
}
bad "--lun for a controller that does not exist" 1 "--lun nosuch/0:0=mem:1M: no controller 'nosuch'" \
	--socket-path=n.sock --lun nosuch/0:0=mem:1M
bad "--name with a slash" 2 "--name 'a/b': 1 to 31 of A-Z a-z 0-9 _ . -" --socket-path=n.sock --name=a/b
truncate -s 4M shared.img
# A login to a portal that never answers gives up after 3 s here (15 s by default).
PVS_ISCSI_OPEN_TIMEOUT=3 timeout --foreground 600 "$bin" --ctl-socket=ctrls.ctl 2>ctrls.log &
first=$!
if wait_for test -S ctrls.ctl; then
	check_ctl "ctrl-add: a bad name" 1 "error: controller name 'a/b': 1 to 31 of" ctrl-add a/b x.sock
	check_ctl "ctrl-add c1" 0 "ok" ctrl-add c1 c1.sock
	if [ -S c1.sock ]; then ok "c1 listens"; else fail "c1 listens" "$(cat ctrls.log)"; fi
	check_ctl "ctrl-add: the name again" 1 "error: controller 'c1' exists already" ctrl-add c1 c9.sock
	check_ctl "ctrl-add on a regular file" 1 \
		"error: ctrl-add victim.txt: exists and is a regular file, not a socket: refusing to replace it" \
		ctrl-add c2 victim.txt
	if [ "$(cat victim.txt)" = "precious" ]; then ok "the file kept"; else fail "the file kept"; fi
	check_ctl "ctrl-add: queues out of range" 1 "error: queues '17': expected 1 to 16" \
		ctrl-add c2 c2.sock 17
	check_ctl "ctrl-add c2 with 2 queues" 0 "ok" ctrl-add c2 c2.sock 2
	check_ctl "add c1/0:0" 0 "ok" add c1/0:0 "file:$tmp/shared.img"
	check_ctl "add c2/1:0, the same file by another path" 0 "ok" add c2/1:0 "file:./shared.img"
	check_ctl "one unit, two users" 0 "1:0 file:$tmp/shared.img blocks=8192 bs=512 inflight=0 users=2" \
		list c2
	check_ctl "other options on a shared backing" 1 \
		"a second user must use the same options ('ro' vs '')" add c2/1:1 "file:$tmp/shared.img,ro"
	check_ctl "add to a controller that does not exist" 1 "error: no controller 'nosuch'" \
		add nosuch/0:0 mem:1M
	check_ctl "ctrl-list" 0 "c2 c2.sock listening luns=1 initiator=0x" ctrl-list
	check_ctl "ctrl-remove c1" 0 "ok" ctrl-remove c1
	if [ ! -e c1.sock ]; then ok "c1's socket removed"; else fail "c1's socket removed"; fi
	check_ctl "the unit stays for c2" 0 "users=1" list c2
	check_ctl "ctrl-remove again" 1 "error: no controller 'c1'" ctrl-remove c1
	# The same commands in JSON (--json before or after the socket), and the JSON-only ones.
	"$bin" ctl --json ctrls.ctl add c2/2:0 mem:1M >ctl.out 2>&1
	check_ctl "JSON add c2/2:0" 0 '"lun":"2:0","unit":"u:' --json list c2
	check_ctl "JSON ctrl-list" 0 '[{"name":"c2","socket":"c2.sock","state":"listening","queues":2,"luns":2,' \
		--json ctrl-list
	check_ctl "JSON ctrl-add c3" 0 "{}" --json ctrl-add c3 c3.sock 1
	check_ctl "JSON ctrl-add c3 again" 1 \
		"pvscsi-vhost-user: ctrl-add: ctrl-add c3: controller 'c3' exists already (CommandFailed)" \
		--json ctrl-add c3 c3.sock
	check_ctl "JSON ctrl-add: queues not a number" 2 "ctl ctrl-add: queues 'x': expected 1 to 16" \
		--json ctrl-add c4 c4.sock x
	# An initiator name per controller added at run time, for its iscsi:// LUNs.
	check_ctl "ctrl-add c5 with an initiator name" 0 "ok" ctrl-add c5 c5.sock iqn.2026-12.org.example:vm.c5
	check_ctl "ctrl-list: c5's initiator name" 0 \
		"c5 c5.sock listening luns=0 initiator=0x" ctrl-list
	check_ctl "ctrl-list: the name itself" 0 "initiator-name=iqn.2026-12.org.example:vm.c5" ctrl-list
	check_ctl "ctrl-add with queues and an initiator name" 0 "ok" \
		ctrl-add c6 c6.sock 2 iqn.2026-12.org.example:vm.c6
	check_ctl "ctrl-add: a bad initiator name" 1 \
		"error: initiator name 'iqn.x,y': an iSCSI name (iqn.YYYY-MM.reversed.domain:anything" \
		ctrl-add c7 c7.sock iqn.x,y
	check_ctl "ctrl-add: a name, then queues" 1 "error: queues 'iqn.2026-12.org.example:x': expected" \
		ctrl-add c7 c7.sock iqn.2026-12.org.example:x 2
	check_ctl "ctrl-add: not an iSCSI name" 1 "error: queues 'web1': expected" ctrl-add c7 c7.sock web1
	check_ctl "iscsi:// LUN on c5 logs in as c5's name" 1 \
		"cannot connect to the portal 127.0.0.1:1 of iqn.2001-04.com.example:t as iqn.2026-12.org.example:vm.c5" \
		add c5/0:0 iscsi://127.0.0.1:1/iqn.2001-04.com.example:t/0
	# A login that takes its time holds up no other command: a portal that never answers.
	python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >mute.port &
	mute=$!
	wait_for test -s mute.port
	murl="iscsi://127.0.0.1:$(cat mute.port)/iqn.2026-12.org.pvscsi.test:mute/0"
	"$bin" ctl ctrls.ctl add c5/1:0 "$murl" >mute.out 2>&1 &
	apid=$!
	if wait_for grep -qF "LUN c5/1:0: $murl opens on a thread of its own" ctrls.log; then
		ok "an add of a mute portal logs in on a thread of its own"
	else
		fail "an add of a mute portal logs in on a thread of its own" "$(tail -n 5 ctrls.log)"
	fi
	check_ctl "another command while the login waits" 0 "2:0 mem:1M" list c2
	check_ctl "the same LUN again while it logs in" 1 "error: 1:0: an add of it is under way" \
		add c5/1:0 mem:1M
	if kill -0 "$apid" 2>/dev/null; then
		ok "the login still waits after the other commands"
	else
		fail "the login still waits after the other commands" "$(cat mute.out)"
	fi
	wait "$apid"
	st=$?
	if [ "$st" = 1 ] && grep -qF "error: " mute.out && grep -qF "127.0.0.1:$(cat mute.port)" mute.out; then
		ok "the mute portal's add fails, naming the portal"
	else
		fail "the mute portal's add fails, naming the portal" "exit $st: $(cat mute.out)"
	fi
	"$bin" ctl --json ctrls.ctl add c5/2:0 "$murl" >mute.out 2>&1 &
	apid=$!
	wait_for grep -qF "LUN c5/2:0: $murl opens on a thread of its own" ctrls.log
	check_ctl "JSON: another command while the login waits" 0 '"lun":"2:0"' --json list c2
	wait "$apid"
	st=$?
	if [ "$st" = 1 ] && grep -qF "127.0.0.1:$(cat mute.port)" mute.out && grep -qF "(CommandFailed)" mute.out; then
		ok "JSON: the mute portal's add fails, naming the portal"
	else
		fail "JSON: the mute portal's add fails, naming the portal" "exit $st: $(cat mute.out)"
	fi
	# The controller goes while its LUN logs in: the add ends with an error, nothing is left.
	"$bin" ctl ctrls.ctl add c6/0:0 "$murl" >mute.out 2>&1 &
	apid=$!
	wait_for grep -qF "LUN c6/0:0: $murl opens on a thread of its own" ctrls.log
	check_ctl "ctrl-remove c6 while its LUN logs in" 0 "ok" ctrl-remove c6
	wait "$apid"
	st=$?
	if [ "$st" = 1 ] && grep -qF "the controller was removed while its LUN opened" mute.out; then
		ok "the add on a removed controller ends"
	else
		fail "the add on a removed controller ends" "exit $st: $(cat mute.out)"
	fi
	check_ctl "iscsi:// LUN on c2, which has no name" 1 "this controller has none" \
		add c2/5:0 iscsi://127.0.0.1:1/iqn.2001-04.com.example:t/0
	check_ctl "JSON ctrl-add with an initiator name" 0 "{}" \
		--json ctrl-add c8 c8.sock iqn.2026-12.org.example:vm.c8
	check_ctl "JSON ctrl-list: the initiator name" 0 '"initiator_name":"iqn.2026-12.org.example:vm.c8"' \
		--json ctrl-list
	check_ctl "JSON ctrl-add: a bad initiator name" 1 "initiator name 'iqn.a b'" \
		--json ctrl-add c9 c9.sock "iqn.a b"
	for c in c5 c8; do check_ctl "ctrl-remove $c" 0 "ok" ctrl-remove "$c"; done
	check_ctl "JSON resize" 0 '{"changed":false}' --json resize c2/2:0
	check_ctl "JSON remove of what is not there" 1 "no LUN c2/9:9 (CommandFailed)" --json remove c2/9:9
	check_ctl "JSON ctrl-remove c3" 0 "{}" --json ctrl-remove c3
	check_ctl "JSON: an unknown command" 2 "ctl: unknown command 'frob'" --json frob
	check_ctl "JSON: too many words" 2 "ctl list: expected 0 to 1 arguments, got 2" --json list a b
	check_ctl "status text" 0 "controller c2 on c2.sock: listening, 2 queues, initiator 0x" status
	check_ctl "status text: a LUN" 0 "  2:0 unit u:" status
	check_ctl "stats --json" 0 '"controllers":[{"name":"c2","inflight":0,"requests":0' --json stats
	check_ctl "metrics: the text" 0 'pvscsi_controller_connected{controller="c2"} 0' metrics
	check_ctl "log-level" 0 "log level info" log-level
	check_ctl "log-level debug" 0 "log level debug (was info)" log-level debug
	check_ctl "log-level: a bad one" 1 "(InvalidArgument)" log-level loud
	check_ctl "the line stats still" 0 "requests=0 responses=0" stats c2
	# CD-ROM drives: a medium changed at run time (a path with a blank goes whole), refusals.
	truncate -s 64K a.iso
	truncate -s 32K "b c.iso"
	check_ctl "add a cdrom: drive" 0 "ok" add c2/3:0 "cdrom:$tmp/a.iso"
	check_ctl "hot-add an empty cdrom: drive" 0 "ok" add c2/3:1 cdrom:
	check_ctl "insert an image whose path has a blank" 0 "medium $tmp/b c.iso, 16 blocks" \
		insert c2/3:1 "$tmp/b c.iso"
	check_ctl "list: the medium" 0 \
		"3:1 cdrom: blocks=16 bs=2048 inflight=0 users=1 medium=$tmp/b c.iso tray=closed prevented=0" list c2
	check_ctl "eject" 0 "no medium, tray open" eject c2/3:0
	check_ctl "list: the tray open" 0 "3:0 cdrom:$tmp/a.iso blocks=0 bs=2048 inflight=0 users=1 medium=- tray=open prevented=0" \
		list c2
	check_ctl "status text: the drives" 0 "cdrom:$tmp/a.iso, read-only, 0 in flight, no medium, tray open" status
	check_ctl "status text: the medium" 0 "cdrom:, read-only, 0 in flight, medium $tmp/b c.iso" status
	check_ctl "eject --force" 0 "no medium, tray open" eject --force c2/3:1
	check_ctl "insert into what is no drive" 1 \
		"pvscsi-vhost-user: insert: insert c2/2:0: mem:1M is not a cdrom: drive (CommandFailed)" \
		insert c2/2:0 "$tmp/a.iso"
	check_ctl "insert an image of 9 bytes" 1 \
		"insert c2/3:0: cdrom image '$tmp/victim.txt': 9 bytes is not a positive multiple of 2048" \
		insert c2/3:0 "$tmp/victim.txt"
	check_ctl "the refused insert changed nothing" 0 "3:0 cdrom:$tmp/a.iso blocks=0 bs=2048 inflight=0 users=1 medium=- tray=open" \
		list c2
	check_ctl "insert: no such LUN" 1 "insert c2/3:9: no such LUN (CommandFailed)" insert c2/3:9 "$tmp/a.iso"
	check_ctl "eject: no such controller" 1 "eject c9/3:0: no controller 'c9' (CommandFailed)" eject c9/3:0
	check_ctl "insert: a missing path" 2 "ctl insert: expected 2 to 2 arguments, got 1" insert c2/3:0
	check_ctl "--force on another command" 2 "ctl list: --force is for insert and eject" list --force c2
	check_ctl "JSON insert --force" 0 '{"medium":true,"path":"'"$tmp"'/a.iso","blocks":32,"tray_open":false,"prevented":false}' \
		--json insert --force c2/3:0 "$tmp/a.iso"
	check_ctl "JSON list: the drive" 0 '"users":1,"cdrom":{"medium":true,"path":"'"$tmp"'/a.iso","blocks":32,' \
		--json list c2
	if command -v python3 >/dev/null; then
		python3 - ctrls.ctl "$tmp" >ctl.out 2>&1 <<'PY'
import socket, sys
def line(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(req.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            return out.decode()
        out += d
print(line("eject --force c2/3:0"), end="")
print(line("insert c2/3:0 %s/a.iso" % sys.argv[2]), end="")
print(line("eject c2/3:0 --force"), end="")
print(line("list c2"), end="")
PY
		if [ "$(sed -n 1,2p ctl.out)" = "$(printf 'ok\nok')" ] &&
			sed -n 3p ctl.out | grep -qx "error: usage: eject \[--force\] \[NAME/\]T:L" &&
			grep -qF "3:0 cdrom:$tmp/a.iso blocks=32 bs=2048 inflight=0 users=1 medium=$tmp/a.iso tray=closed prevented=0" ctl.out; then
			ok "the line protocol's insert and eject"
		else
			fail "the line protocol's insert and eject" "$(cat ctl.out)"
		fi
	fi
	if command -v python3 >/dev/null; then
		python3 - ctrls.ctl >ctl.out 2>&1 <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for req, cls in ((b'{"command":', "ParseError"), (b'{"command":"nope"}', "CommandNotFound"),
                 (b'{"command":"remove","arguments":{"lun":1}}', "InvalidArgument"),
                 (b'{"command":"status","arguments":{"x":1}}', "InvalidArgument")):
    f.write(req + b"\n")
    f.flush()
    r = json.loads(f.readline())
    assert r["error"]["class"] == cls, (req, r)
f.write(b'{"command":"ctrl-list"}\n')
f.flush()
print(json.loads(f.readline())["return"][0]["name"])
PY
		if [ "$(cat ctl.out)" = c2 ]; then ok "bad JSON requests: error replies, the connection serves on"; else fail "bad JSON requests: error replies, the connection serves on" "$(cat ctl.out)"; fi
	fi
	if pvscsictl=$(dirname "$bin")/pvscsictl && [ -x "$pvscsictl" ]; then
		"$pvscsictl" --socket ctrls.ctl stats >ctl.out 2>&1
		if grep -q "^  c2: 0 requests, 0 responses" ctl.out; then ok "pvscsictl stats on pvscsi-vhost-user"; else fail "pvscsictl stats on pvscsi-vhost-user" "$(cat ctl.out)"; fi
		"$pvscsictl" --socket ctrls.ctl status >ctl.out 2>&1
		if grep -q "^  c2 on c2.sock: listening, 2 queues" ctl.out; then ok "pvscsictl status on pvscsi-vhost-user"; else fail "pvscsictl status on pvscsi-vhost-user" "$(cat ctl.out)"; fi
	fi
	# A peer that is not root, end to end: the socket opened to it on
	# purpose (it is 0600 root's), the daemon checks SO_PEERCRED, answers
	# PermissionDenied and serves root on.
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
		chmod 755 "$tmp"
		chmod 666 ctrls.ctl
		setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - ctrls.ctl >ctl.out 2>&1 <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
# The daemon answers a refused peer at once and closes: the request may
# find the connection gone already, the reply is there to read either way.
try:
    s.sendall(b'{"command":"status"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass
line = s.makefile("rb").readline()
print(json.loads(line)["error"]["class"] if line else "no reply")
PY
		chmod 600 ctrls.ctl
		chmod 700 "$tmp"
		if [ "$(cat ctl.out)" = PermissionDenied ]; then ok "a non-root peer: PermissionDenied"; else fail "a non-root peer: PermissionDenied" "$(cat ctl.out)"; fi
		if "$bin" ctl ctrls.ctl --json ctrl-list 2>&1 | grep -q '"c2"'; then ok "and root is served after it"; else fail "and root is served after it"; fi
	fi
	kill -TERM "$first"
	wait "$first"
	st=$?
	first=
	# Only now: c6's login, abandoned, ended by its timeout, not by a reset.  A
	# target that drops the connection during a login makes libiscsi leak 24
	# bytes (docs/network-luns.md), which LeakSanitizer would report here.
	kill "$mute" 2>/dev/null
	wait "$mute" 2>/dev/null
	if [ "$st" = 0 ] && [ ! -e c2.sock ] && [ ! -e ctrls.ctl ]; then
		ok "exit 0 on SIGTERM, every controller's socket removed"
	else
		fail "exit 0 on SIGTERM, every controller's socket removed" "exit $st" "$(cat ctrls.log)"
	fi
else
	fail "--ctl-socket alone listening" "$(cat ctrls.log)"
fi

finish
