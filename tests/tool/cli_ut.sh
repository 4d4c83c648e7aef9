#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# --version and --help of every program: --version prints "NAME (pvscsi)
# VERSION" with VERSION the file VERSION (the one version of the tree),
# nothing else, exit 0; --help (and -h) prints the usage on stdout, nothing
# on stderr, exit 0; an unknown option is one line on stderr naming it,
# exit 2.
#
# Usage: tests/tool/cli_ut.sh [DIR]   (the programs' directory; default
# build/asan, else build/rel).  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

dir=${1:-}
if [ -z "$dir" ]; then
	for d in build/asan build/rel; do
		[ -x "$d/pvscsid" ] && [ -x "$d/pvscsi-vhost-user" ] && [ -x "$d/pvscsi-cdb" ] && dir=$d && break
	done
fi
if [ -z "$dir" ]; then
	echo "programs not found (make build/asan/pvscsid build/asan/pvscsi-vhost-user build/asan/pvscsi-cdb)" >&2
	exit 1
fi
version=$(cat VERSION)
tmp=$(mktemp -d /var/tmp/pvscsi-cli-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for p in pvscsid pvscsi-vhost-user pvscsi-cdb; do
	timeout 10 "$dir/$p" --version >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	if [ "$st" = 0 ] && [ "$(cat "$tmp/out")" = "$p (pvscsi) $version" ] && [ ! -s "$tmp/err" ]; then
		ok "$p --version"
	else
		fail "$p --version" "exit $st, stdout '$(cat "$tmp/out")', expected '$p (pvscsi) $version'" \
			"stderr: $(head -c 300 "$tmp/err")"
	fi
	for h in --help -h; do
		timeout 10 "$dir/$p" "$h" >"$tmp/out" 2>"$tmp/err" </dev/null
		st=$?
		if [ "$st" = 0 ] && grep -qi "^usage: $p " "$tmp/out" && grep -q -- "--version" "$tmp/out" &&
			[ ! -s "$tmp/err" ]; then
			ok "$p $h: usage on stdout, exit 0"
		else
			fail "$p $h: usage on stdout, exit 0" "exit $st" "stdout: $(head -c 300 "$tmp/out")" \
				"stderr: $(head -c 300 "$tmp/err")"
		fi
	done
	timeout 10 "$dir/$p" --no-such-option >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	if [ "$st" = 2 ] && [ ! -s "$tmp/out" ] && grep -q "^$p: unknown option '--no-such-option'" "$tmp/err"; then
		ok "$p --no-such-option: exit 2, named on stderr"
	else
		fail "$p --no-such-option: exit 2, named on stderr" "exit $st" \
			"stderr: $(head -c 300 "$tmp/err")"
	fi
done

# The daemons' mistakes are one line each (pvscsi-cdb adds its usage after its line).
for p in pvscsid pvscsi-vhost-user; do
	timeout 10 "$dir/$p" --no-such-option >"$tmp/out" 2>"$tmp/err" </dev/null
	if [ "$(wc -l <"$tmp/err")" = 1 ]; then
		ok "$p: an unknown option is one line"
	else
		fail "$p: an unknown option is one line" "$(cat "$tmp/err")"
	fi
done

finish
