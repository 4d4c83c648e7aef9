#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units, backend/pvscsid.service and
# vhost-user/pvscsi-vhost-user@.service: systemd-analyze verify has nothing
# to say about them (with ExecStart pointing at the built programs, as
# make install points it at SBINDIR, and their man pages where man finds
# them), systemd-analyze security --offline rates each below 5 (it was 9.6
# UNSAFE), they are Type=notify, and the programs take the options their
# ExecStart gives.
#
# Usage: tests/tool/systemd-units_ut.sh [DIR]   (the programs' directory;
# default build/asan, else build/rel).  Ends with an 'N passed, N failed'
# line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

dir=${1:-}
if [ -z "$dir" ]; then
	for d in build/asan build/rel; do
		[ -x "$d/pvscsid" ] && [ -x "$d/pvscsi-vhost-user" ] && dir=$d && break
	done
fi
if [ -z "$dir" ]; then
	echo "programs not found (make build/asan/pvscsid build/asan/pvscsi-vhost-user)" >&2
	exit 1
fi
dir=$(cd "$dir" && pwd)
top=$(pwd)
tmp=$(mktemp -d /var/tmp/pvscsi-units-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v systemd-analyze >/dev/null 2>&1; then
	fail "systemd-analyze is needed (scripts/install-deps build: systemd)"
	echo "$passed passed, $failed failed"
	exit 1
fi

mkdir -p "$tmp/units" "$tmp/man/man8"
cp docs/*.8 "$tmp/man/man8/"
# verify looks up Documentation=man:... with man(1).
export MANPATH="$tmp/man"

# unit FILE: the unit copied with ExecStart on the built programs
for u in backend/pvscsid.service vhost-user/pvscsi-vhost-user@.service; do
	sed "s|/usr/sbin/|$dir/|g" "$u" >"$tmp/units/${u##*/}"
done

# ---- systemd-analyze verify: exit 0 and not one line ----
for name in pvscsid.service pvscsi-vhost-user@test.service; do
	(cd "$tmp" && systemd-analyze verify "units/$name") >"$tmp/verify" 2>&1
	st=$?
	if [ "$st" = 0 ] && [ ! -s "$tmp/verify" ]; then
		ok "systemd-analyze verify $name: clean"
	else
		fail "systemd-analyze verify $name: clean" "exit $st" "$(cat "$tmp/verify")"
	fi
done
# The check itself: a unit with a mistake is not clean.
sed 's/^Restart=on-failure/Restart=on-failure\nRestartSecs=2/' "$tmp/units/pvscsid.service" >"$tmp/bad.service"
mkdir -p "$tmp/bad" && mv "$tmp/bad.service" "$tmp/bad/pvscsid.service"
if (cd "$tmp" && systemd-analyze verify bad/pvscsid.service) 2>&1 | grep -q "Unknown key 'RestartSecs'"; then
	ok "verify complains about a misspelt key (the check can fail)"
else
	fail "verify complains about a misspelt key (the check can fail)"
fi

# ---- systemd-analyze security --offline: below 5 ----
for u in pvscsid.service pvscsi-vhost-user@.service; do
	systemd-analyze security --offline=true --no-pager "$tmp/units/$u" >"$tmp/sec" 2>&1
	st=$?
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$tmp/sec")
	if [ "$st" = 0 ] && [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l < 5.0) }'; then
		ok "systemd-analyze security $u: exposure $level (< 5)"
	else
		fail "systemd-analyze security $u: exposure below 5" "exit $st, level '$level'" \
			"$(grep '✗' "$tmp/sec" | head -n 20)"
	fi
	# Its own threshold agrees (exposure x 10; exit non-zero above it).
	if systemd-analyze security --offline=true --threshold=49 --no-pager "$tmp/units/$u" >/dev/null 2>&1; then
		ok "systemd-analyze security --threshold=49 $u"
	else
		fail "systemd-analyze security --threshold=49 $u"
	fi
done

# ---- what the programs must match ----
for u in backend/pvscsid.service vhost-user/pvscsi-vhost-user@.service; do
	if grep -qx "Type=notify" "$u"; then ok "$u: Type=notify"; else fail "$u: Type=notify"; fi
done
# ExecStart's options, with --version after them: parsed, then exit 0.
for u in backend/pvscsid.service vhost-user/pvscsi-vhost-user@.service; do
	cmd=$(sed -n 's/^ExecStart=//p' "$u" | sed "s|/usr/sbin/|$dir/|; s|%i|test|g; s|%t|/run|g")
	# shellcheck disable=SC2086
	out=$(cd "$tmp" && $cmd --version 2>&1)
	st=$?
	if [ "$st" = 0 ] && echo "$out" | grep -q "(pvscsi) $(cat "$top/VERSION")\$"; then
		ok "$u: the program takes ExecStart's options"
	else
		fail "$u: the program takes ExecStart's options" "$cmd --version: exit $st" "$out"
	fi
done
# pvscsid after Debian's xen.service, not after units Debian does not have.
if grep -qx "After=xen.service" backend/pvscsid.service && grep -qx "Wants=xen.service" backend/pvscsid.service &&
	! grep -v '^#' backend/pvscsid.service | grep -q "proc-xen.mount\|xenstored.service\|xen-init-dom0"; then
	ok "pvscsid.service: ordered after xen.service only"
else
	fail "pvscsid.service: ordered after xen.service only" "$(grep -E '^(After|Wants|Requires)=' backend/pvscsid.service)"
fi

finish
