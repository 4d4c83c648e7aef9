#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The manual pages of the programs (docs/pvscsid.8, docs/pvscsi-vhost-user.8,
# docs/pvscsi-cdb.8, docs/xl-pvscsi.8, docs/pvscsictl.8): groff finds nothing to warn about (-ww), man renders
# them, they have the sections a reader looks for, and every option each
# program's --help lists (and every control command of pvscsi-vhost-user,
# every command of pvscsictl) is in its page.
#
# Usage: tests/tool/man_ut.sh [DIR]   (the programs' directory; default
# build/asan, else build/rel).  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

dir=${1:-}
if [ -z "$dir" ]; then
	for d in build/asan build/rel; do
		[ -x "$d/pvscsid" ] && [ -x "$d/pvscsi-vhost-user" ] && [ -x "$d/pvscsi-cdb" ] &&
			[ -x "$d/xl-pvscsi" ] && [ -x "$d/pvscsictl" ] && dir=$d && break
	done
fi
if [ -z "$dir" ]; then
	echo "programs not found (make build/asan/pvscsid build/asan/pvscsi-vhost-user build/asan/pvscsi-cdb build/asan/xl-pvscsi build/asan/pvscsictl)" >&2
	exit 1
fi
tmp=$(mktemp -d /var/tmp/pvscsi-man-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v groff >/dev/null 2>&1 || ! command -v man >/dev/null 2>&1; then
	fail "groff and man are needed (scripts/install-deps build: groff-base, man-db)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# has_entry PAGE OPTION: a .TP entry whose tag line names OPTION as roff
# writes it (\- for -), followed by a blank, a quote, an = or the line's end.
has_entry() {
	awk -v w="$(printf '%s' "$2" | sed 's/-/\\\\-/g')" '
		prev == ".TP" && /^\.B/ {
			line = $0 " "
			i = index(line, w)
			if (i && substr(line, i + length(w), 1) ~ /[ "=]/) found = 1
		}
		{ prev = $0 }
		END { exit !found }' "$1"
}

for p in pvscsid pvscsi-vhost-user pvscsi-cdb xl-pvscsi pvscsictl; do
	page=docs/$p.8
	if [ ! -f "$page" ]; then
		fail "$page exists"
		continue
	fi
	groff -man -ww -z "$page" >"$tmp/groff" 2>&1
	st=$?
	if [ "$st" = 0 ] && [ ! -s "$tmp/groff" ]; then ok "$p.8: groff -man -ww quiet"; else fail "$p.8: groff -man -ww quiet" "$(head -n 10 "$tmp/groff")"; fi
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$tmp/man" 2>"$tmp/man.err"
	st=$?
	if [ "$st" = 0 ] && [ ! -s "$tmp/man.err" ] && [ "$(wc -l <"$tmp/man")" -gt 40 ]; then
		ok "$p.8: man -l renders it without warnings"
	else
		fail "$p.8: man -l renders it without warnings" "exit $st" "$(head -n 10 "$tmp/man.err")"
	fi
	# The first request after the SPDX comment line.
	th=$(grep -v '^\.\\"' "$page" | head -n 1)
	if echo "$th" | grep -q "^\.TH $(echo "$p" | tr a-z A-Z) 8 "; then ok "$p.8: .TH names it, section 8"; else fail "$p.8: .TH names it, section 8" "$th"; fi
	missing=
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^$s\$" "$tmp/man" || missing="$missing [$s]"
	done
	case $p in pvscsid | pvscsi-vhost-user)
		for s in SIGNALS FILES ENVIRONMENT LOGGING; do
			grep -q "^$s\$" "$tmp/man" || missing="$missing [$s]"
		done ;;
	esac
	if [ -z "$missing" ]; then ok "$p.8: its sections"; else fail "$p.8: its sections" "missing:$missing"; fi
	missing=
	for o in $("$dir/$p" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		has_entry "$page" "$o" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then ok "$p.8: an entry for every option of --help"; else fail "$p.8: an entry for every option of --help" "missing:$missing"; fi
done

# pvscsi-vhost-user's control commands, as its usage lists them, in the
# page's CONTROL COMMANDS section as rendered.
LC_ALL=C.UTF-8 MANWIDTH=80 man -l docs/pvscsi-vhost-user.8 2>/dev/null |
	sed -n '/^CONTROL COMMANDS$/,/^[A-Z]/p' >"$tmp/ctl"
missing=
for c in $("$dir/pvscsi-vhost-user" --help | sed -n '/^control commands:/,/^[A-Z]/p' |
	tr '|' '\n' | sed 's/^control commands://' | awk '{ print $1 }' | grep '^[a-z]'); do
	grep -qE "(^|[ ,])$c( |,|\$)" "$tmp/ctl" || missing="$missing $c"
done
[ -s "$tmp/ctl" ] || missing="$missing (no CONTROL COMMANDS section)"
if [ -z "$missing" ]; then ok "pvscsi-vhost-user.8: every control command"; else fail "pvscsi-vhost-user.8: every control command" "missing:$missing"; fi

# The pages refer to each other, and xl-scsi(1) to pvscsid(8).
for p in pvscsid pvscsi-vhost-user pvscsi-cdb; do
	for q in pvscsid pvscsi-vhost-user pvscsi-cdb; do
		[ "$p" = "$q" ] && continue
		if grep -q "^\.BR $q (8)" "docs/$p.8"; then ok "$p.8 refers to $q(8)"; else fail "$p.8 refers to $q(8)"; fi
	done
done
# pvscsictl's commands, as its usage lists them, in the page's COMMANDS
# section; it and pvscsid(8) refer to each other.
LC_ALL=C.UTF-8 MANWIDTH=80 man -l docs/pvscsictl.8 2>/dev/null |
	sed -n '/^COMMANDS$/,/^[A-Z]/p' >"$tmp/ctlcmds"
missing=
for c in $("$dir/pvscsictl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }'); do
	grep -qE "^ +$c( |\$)" "$tmp/ctlcmds" || missing="$missing $c"
done
[ -s "$tmp/ctlcmds" ] || missing="$missing (no COMMANDS section)"
if [ -z "$missing" ]; then ok "pvscsictl.8: every command"; else fail "pvscsictl.8: every command" "missing:$missing"; fi
for pq in "pvscsid pvscsictl" "pvscsictl pvscsid"; do
	set -- $pq
	if grep -q "^\.BR $2 (8)" "docs/$1.8"; then ok "$1.8 refers to $2(8)"; else fail "$1.8 refers to $2(8)"; fi
done
if grep -q "^\.BR pvscsid (8)" docs/xl-scsi.1; then ok "xl-scsi.1 refers to pvscsid(8)"; else fail "xl-scsi.1 refers to pvscsid(8)"; fi
if grep -q "^\.BR xl\\\\-pvscsi (8)" docs/xl-scsi.1; then ok "xl-scsi.1 refers to xl-pvscsi(8)"; else fail "xl-scsi.1 refers to xl-pvscsi(8)"; fi

finish
