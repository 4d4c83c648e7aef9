#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsid's start-up failures on a host without Xen: whether it daemonizes or
# not, and whatever the log's destination, the one who started it gets one
# line on stderr saying why, and exit status 1 (the daemonizing parent waits
# for the daemon's verdict); the line is not printed twice where the log
# already reaches stderr; systemd gets it as STATUS= and never READY=1; the
# pid file is released before the parent returns.  Bad --log-target values
# are usage errors (exit 2).
#
# Usage: tests/tool/pvscsid-startup_ut.sh [BINARY]   (default
# build/asan/pvscsid, else build/rel/pvscsid).  Ends with an 'N passed,
# N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

bin=${1:-}
if [ -z "$bin" ]; then
	for b in build/asan/pvscsid build/rel/pvscsid; do
		[ -x "$b" ] && bin=$b && break
	done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
	echo "pvscsid binary not found (make build/asan/pvscsid)" >&2
	exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d /var/tmp/pvscsid-startup-test.XXXXXX)
holder=
listener=
cleanup() {
	# Only what this script started, by pid.
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

# run ARGS...: pvscsid with its pid file and state directory here; sets st,
# stdout in out, stderr in err.  A parent that never returns fails too.
run() {
	timeout 20 "$bin" --pid-file "$tmp/p.pid" --state-dir "$tmp/state" --sysfs-root "$tmp/sys" \
		"$@" >out 2>err </dev/null
	st=$?
}

# one_line NAME STATUS TEXT: exit STATUS, nothing on stdout, exactly one
# line on stderr, and it is "pvscsid: TEXT..."
one_line() {
	if [ "$st" = "$2" ] && [ ! -s out ] && [ "$(wc -l <err)" = 1 ] && grep -q "^pvscsid: $3" err; then
		ok "$1"
	else
		fail "$1" "exit $st (expected $2), $(wc -l <err) stderr lines, expected one: pvscsid: $3" \
			"stderr: $(head -c 600 err)"
	fi
}

mkdir sys
xs="cannot open xenstore: No such file or directory (is xenstored running, /proc/xen mounted?)"

# ---- before the fork: refused starts ----
printf '4242\n' >p.pid
flock p.pid sleep 60 &
holder=$!
i=0
while [ "$i" -lt 50 ] && flock -n p.pid true; do sleep 0.1; i=$((i + 1)); done
run
one_line "daemonizing, another instance holds the lock" 1 \
	"refusing to start: another pvscsid is running (pid 4242, holding the lock on $tmp/p.pid)"
run --log-file "$tmp/lock.log"
one_line "the same with --log-file" 1 "refusing to start: another pvscsid is running (pid 4242"
if [ "$(cat p.pid)" = 4242 ]; then ok "the holder's pid file untouched"; else fail "the holder's pid file untouched" "$(cat p.pid)"; fi
kill "$holder"
wait "$holder" 2>/dev/null
holder=
rm -f p.pid

mkdir -p sys/module/xen_scsiback
run
one_line "daemonizing, xen-scsiback loaded" 1 "refusing to start: the kernel's xen-scsiback is loaded ($tmp/sys/module/xen_scsiback)"
rmdir sys/module/xen_scsiback

# ---- usage ----
run --log-target stderr
one_line "--log-target stderr without --foreground" 2 "--log-target stderr needs --foreground"
run --log-target=file
one_line "--log-target file" 2 "--log-target: 'file' is not auto, journal, syslog or stderr"

# ---- after the fork: the daemon's own failure reaches the parent ----
if [ -e /proc/xen/capabilities ] || [ -e /dev/xen/xenbus ]; then
	# On a Xen host the daemon would find xenstore and serve for real.
	echo "skip the daemon's failures: this host runs Xen"
else
	export XENSTORED_PATH="$tmp/no-xenstored"
	run
	one_line "daemonizing: the daemon's failure, through the parent" 1 "$xs"
	if [ ! -e p.pid ]; then ok "the pid file is gone when the parent returns"; else fail "the pid file is gone when the parent returns" "$(ls -l p.pid)"; fi
	if [ "$(stat -c %a state 2>/dev/null)" = 700 ]; then ok "the state directory made 0700"; else fail "the state directory made 0700"; fi

	run --log-file "$tmp/d.log"
	one_line "daemonizing with --log-file" 1 "$xs"
	if grep -q "pvscsid\[[0-9]*\] error: $xs" d.log; then ok "the log file has it too"; else fail "the log file has it too" "$(cat d.log)"; fi

	run --foreground --log-file "$tmp/f.log"
	one_line "foreground with --log-file" 1 "$xs"
	if grep -q "error: $xs" f.log; then ok "the foreground log file has it"; else fail "the foreground log file has it" "$(cat f.log)"; fi

	run --foreground --syslog
	one_line "foreground with --syslog" 1 "$xs"

	# The log is on stderr already: the line once, stamped, and no plain copy.
	run --foreground
	if [ "$st" = 1 ] && [ "$(grep -c "cannot open xenstore" err)" = 1 ] &&
		grep -q "^[0-9T:.-]*Z pvscsid\[[0-9]*\] error: $xs" err; then
		ok "foreground, log on stderr: the line once"
	else
		fail "foreground, log on stderr: the line once" "exit $st" "$(cat err)"
	fi

	# systemd: stderr is the journal's stream; the line is in the journal
	# (or syslog without journald), not twice.
	jr() {
		JOURNAL_STREAM=$(stat -c '%d:%i' err) timeout 20 "$bin" --pid-file "$tmp/p.pid" \
			--state-dir "$tmp/state" --sysfs-root "$tmp/sys" "$@" >out 2>err </dev/null
		st=$?
	}
	: >err
	jr --foreground --log-target journal
	if [ "$st" = 1 ] && [ ! -s err ]; then
		ok "stderr is the journal: nothing printed twice"
	else
		fail "stderr is the journal: nothing printed twice" "exit $st" "$(cat err)"
	fi
	: >err
	jr --foreground --log-file "$tmp/j.log"
	one_line "stderr is the journal, log in a file: the line on stderr (systemctl status)" 1 "$xs"

	# --log-target journal: the entries as libsystemd would get them (an
	# LD_PRELOAD sd_journal_sendv appends their fields to a file).
	if command -v cc >/dev/null 2>&1; then
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
		cc -shared -fPIC -o shim.so shim.c
		FAKE_JOURNAL=$tmp/journal.txt LD_PRELOAD=$tmp/shim.so \
			ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0" \
			run --log-target journal
		one_line "daemonizing, --log-target journal: the line on stderr" 1 "$xs"
		if grep -qx "MESSAGE=$xs|PRIORITY=3|SYSLOG_IDENTIFIER=pvscsid|SYSLOG_FACILITY=3" journal.txt &&
			grep -qx "MESSAGE=pvscsid exiting after an error|PRIORITY=3|SYSLOG_IDENTIFIER=pvscsid|SYSLOG_FACILITY=3" journal.txt; then
			ok "--log-target journal: the daemon's entries"
		else
			fail "--log-target journal: the daemon's entries" "$(cat journal.txt 2>&1)"
		fi
	else
		fail "--log-target journal" "cc is needed (scripts/install-deps build)"
	fi

	# sd_notify: STATUS= with the reason, and no READY=1.
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$tmp/notify.sock" >notify.out 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print("listening", flush=True)
while True:
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    print(d.decode().replace("\n", " | "), flush=True)
PY
		listener=$!
		i=0
		while [ "$i" -lt 100 ] && ! grep -q listening notify.out; do sleep 0.1; i=$((i + 1)); done
		NOTIFY_SOCKET="$tmp/notify.sock" run --foreground --log-file "$tmp/n.log"
		i=0
		while [ "$i" -lt 50 ] && ! grep -q STATUS= notify.out; do sleep 0.1; i=$((i + 1)); done
		if [ "$st" = 1 ] && grep -qx "STATUS=$xs" notify.out && ! grep -q READY= notify.out; then
			ok "sd_notify: STATUS= the reason, never READY=1"
		else
			fail "sd_notify: STATUS= the reason, never READY=1" "exit $st" "$(cat notify.out)"
		fi
		kill "$listener"
		wait "$listener" 2>/dev/null
		listener=
	else
		fail "sd_notify" "python3 is needed (scripts/install-deps build)"
	fi
	unset XENSTORED_PATH
fi

finish
