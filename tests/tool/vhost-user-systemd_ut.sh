#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsi-vhost-user under systemd's eyes: READY=1 only once its sockets
# listen, STATUS= following controllers and front-ends, STOPPING=1 on
# SIGTERM (through a NOTIFY_SOCKET this script listens on); journal entries
# with VHOST= for the lines of a controller's front-end, the protocol's
# included (sd_journal_sendv replaced by an LD_PRELOAD shim that appends
# each entry to a file); --log-file stamped, reopened on SIGHUP; bad
# --log-target and --log-file values.
#
# Usage: tests/tool/vhost-user-systemd_ut.sh [BINARY]   (default
# build/asan/pvscsi-vhost-user, else build/rel/pvscsi-vhost-user).  Needs
# python3 and cc.  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

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

tmp=$(mktemp -d /var/tmp/vhost-systemd-test.XXXXXX)
daemon=
listener=
cleanup() {
	# Only what this script started, by pid.
	[ -n "$daemon" ] && stop_daemon
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

# check_run NAME COMMAND...: ok when COMMAND succeeds (lib.sh's check compares values)
check_run() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "$(tail -n 5 notify.out journal.txt err 2>/dev/null)"; fi
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
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
# alive PID: running, not a zombie waiting to be reaped
alive() {
	state=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$state" ] && [ "${state#Z}" = "$state" ]
}
# stop_daemon: SIGTERM to the daemon itself, at most 30 s to exit, then
# SIGKILL (its children too: an ASan leak check's tracer); sets st.  Not
# through timeout(1): it follows every signal it forwards with SIGCONT, and
# a SIGCONT that lands while LeakSanitizer stops the world at exit cancels
# the stop it waits for, and both wait for ever.
stop_daemon() {
	kill -TERM "$daemon" 2>/dev/null
	i=0
	while alive "$daemon" && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$daemon"; then
		for c in $(ps -o pid= --ppid "$daemon"); do kill -KILL "$c"; done
		kill -KILL "$daemon"
		echo "  (pid $daemon did not exit within 30 s of SIGTERM: killed)"
	fi
	wait "$daemon"
	st=$?
	daemon=
}

if ! command -v python3 >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
	fail "python3 and cc are needed (scripts/install-deps build)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# ---- the notify socket: one line per datagram, newlines shown as ' | ' ----
python3 - "$tmp/notify.sock" >notify.out 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\n", " | "), flush=True)
PY
listener=$!
wait_for has notify.out listening || fail "notify listener"

# ---- the journal: an sd_journal_sendv that appends "FIELD=v|FIELD=v" lines ----
cat >shim.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
int sd_journal_sendv(const struct iovec *iov, int n);
int sd_journal_sendv(const struct iovec *iov, int n)
{
	const char *path = getenv("FAKE_JOURNAL");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (!f)
		return -2;
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.*s", i ? "|" : "", (int)iov[i].iov_len, (const char *)iov[i].iov_base);
	fputc('\n', f);
	fclose(f);
	return 0;
}
EOF
cc -shared -fPIC -o shim.so shim.c || fail "building the journal shim"

# ---- READY=1 after listening, STATUS=, the journal, STOPPING=1 ----
# ASan wants to be first in the link order; the shim only replaces one symbol.
env NOTIFY_SOCKET="$tmp/notify.sock" FAKE_JOURNAL="$tmp/journal.txt" LD_PRELOAD="$tmp/shim.so" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0" \
	"$bin" --socket-path=vm1.sock --name vm1 --ctl-socket=c.ctl --lun vm1/0:0=mem:1M \
	--log-target journal 2>err &
daemon=$! # env execs the program: this is its pid
if wait_for has notify.out "READY=1"; then
	ok "READY=1 sent"
	# Written once every socket listened: they exist by now.
	if [ -S vm1.sock ] && [ -S c.ctl ]; then ok "READY=1 after the sockets listen"; else fail "READY=1 after the sockets listen" "$(ls -l)"; fi
	check_run "READY=1 with STATUS=" has notify.out "READY=1 | STATUS=1 controller, 0 with a front-end"
	"$bin" ctl c.ctl ctrl-add vm2 vm2.sock 2 >/dev/null
	check_run "STATUS= follows ctrl-add" wait_for has notify.out "STATUS=2 controllers, 0 with a front-end"

	# A front-end on vm1 that sends a request the back-end does not know.
	python3 - "$tmp/vm1.sock" >py.out 2>&1 <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
time.sleep(0.3)
s.sendall(struct.pack("<III", 999, 1, 0))
time.sleep(0.3)
s.close()
PY
	check_run "STATUS= counts the front-end" wait_for has notify.out "STATUS=2 controllers, 1 with a front-end"
	after_left() { [ "$(grep -c "^STATUS=2 controllers, 0 with a front-end\$" notify.out)" = 2 ]; }
	check_run "STATUS= after it left" wait_for after_left
	wait_for has journal.txt "front-end disconnected"
	check_run "journal: a controller's own line has VHOST=" has journal.txt \
		"MESSAGE=front-end connected|PRIORITY=6|SYSLOG_IDENTIFIER=pvscsi-vhost-user|SYSLOG_FACILITY=3|VHOST=vm1"
	check_run "journal: the protocol's line gets the controller's VHOST=" grep -q \
		"^MESSAGE=vhost-user: request 999 ([^)]*) not supported|PRIORITY=3|SYSLOG_IDENTIFIER=pvscsi-vhost-user|SYSLOG_FACILITY=3|VHOST=vm1\$" \
		journal.txt
	check_run "journal: ctrl-add's line names vm2" has journal.txt "MESSAGE=controller vm2 added on vm2.sock|PRIORITY=6|SYSLOG_IDENTIFIER=pvscsi-vhost-user|SYSLOG_FACILITY=3|VHOST=vm2"
	check_run "journal: a --lun's line has its controller and LUN" has journal.txt \
		"MESSAGE=LUN vm1/0:0: mem:1M (2048 blocks of 512)|PRIORITY=6|SYSLOG_IDENTIFIER=pvscsi-vhost-user|SYSLOG_FACILITY=3|VHOST=vm1|LUN=0:0"
	if [ ! -s err ]; then ok "nothing on stderr with --log-target journal"; else fail "nothing on stderr with --log-target journal" "$(cat err)"; fi

	stop_daemon
	check_run "exit 0 on SIGTERM" [ "$st" = 0 ]
	check_run "STOPPING=1 on SIGTERM" has notify.out "STOPPING=1 | STATUS=stopping: draining the queues"
	check_run "journal: the program's own line has no VHOST=" grep -qx \
		"MESSAGE=signal 15: exiting|PRIORITY=6|SYSLOG_IDENTIFIER=pvscsi-vhost-user|SYSLOG_FACILITY=3" journal.txt
else
	fail "READY=1 sent" "$(cat notify.out err)"
fi

# ---- systemd connected stderr to the journal: the journal, not stderr ----
: >err
rm -f journal.txt
env JOURNAL_STREAM="$(stat -c '%d:%i' err)" FAKE_JOURNAL="$tmp/journal.txt" LD_PRELOAD="$tmp/shim.so" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0" \
	"$bin" --socket-path=auto.sock 2>>err &
daemon=$!
if wait_for has journal.txt "MESSAGE=listening on auto.sock|PRIORITY=6"; then
	ok "auto: the journal when stderr is its stream"
else
	fail "auto: the journal when stderr is its stream" "$(cat err)"
fi
stop_daemon
if [ ! -s err ]; then ok "auto: nothing printed on that stderr"; else fail "auto: nothing printed on that stderr" "$(cat err)"; fi

# ---- --log-file: stamped, alone, reopened on SIGHUP ----
: >err
"$bin" --socket-path=f.sock --log-file "$tmp/vu.log" 2>err &
daemon=$!
if wait_for has vu.log "listening on f.sock"; then
	check_run "--log-file: stamped lines" grep -q "^[0-9T:.-]*Z pvscsi-vhost-user\[[0-9]*\] info: listening on f.sock\$" vu.log
	mv vu.log vu.log.1
	kill -HUP "$daemon"
	check_run "SIGHUP reopens the log file" wait_for has vu.log "log file reopened"
	check_run "still serving after SIGHUP" alive "$daemon"
	stop_daemon
	check_run "exit 0 on SIGTERM after SIGHUP" [ "$st" = 0 ]
	check_run "--log-file alone: nothing on stderr" [ ! -s err ]
else
	fail "--log-file" "$(cat err)"
fi

# ---- bad values: one line ----
timeout 10 "$bin" --socket-path=b.sock --log-target=file >out 2>err
st=$?
if [ "$st" = 2 ] && [ "$(wc -l <err)" = 1 ] &&
	has err "pvscsi-vhost-user: --log-target 'file': expected auto, journal, syslog or stderr"; then
	ok "--log-target file: exit 2, one line"
else
	fail "--log-target file: exit 2, one line" "exit $st" "$(cat err)"
fi
timeout 10 "$bin" --socket-path=b.sock --log-file "$tmp/no/such/dir/x.log" >out 2>err
st=$?
if [ "$st" = 1 ] && [ "$(wc -l <err)" = 1 ] &&
	has err "pvscsi-vhost-user: --log-file $tmp/no/such/dir/x.log: No such file or directory"; then
	ok "--log-file in a missing directory: exit 1, one line"
else
	fail "--log-file in a missing directory: exit 1, one line" "exit $st" "$(cat err)"
fi
check_run "nothing left listening on b.sock" [ ! -e b.sock ]

finish
