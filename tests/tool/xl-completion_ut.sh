#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# xl-plugin/xl.bash-completion: the subcommands come from "xl help" as Xen's
# completion reads them (so the front's scsi-* verbs are offered); the
# scsi-* verbs' options, domains, LUNs and v-devs, the file of --xml; H:C:T:L, file: and naa.
# words completed across the ':' that bash splits words at.  "xl" is a
# stand-in that answers with the front's own outputs from the golden files
# (tests/xl/help.out, list.out, assignable.out).
#
# Usage: tests/tool/xl-completion_ut.sh   (from the top of the tree).  Ends
# with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /var/tmp/xl-completion-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# What the front prints, from the golden files (the "$ xl ..." lines dropped).
golden() { awk -v want="$ $2" '/^\$ / { on = ($0 == want); next } on' "tests/xl/$1"; }
golden help.out "" >/dev/null
cp tests/xl/help.out "$tmp/help"
golden list.out "xl scsi-list guest1" >"$tmp/list-guest1"
golden assignable.out "xl scsi-assignable-list" >"$tmp/assignable"
check "the golden outputs are there" "4 17" \
	"$(grep -c . "$tmp/list-guest1") $(grep -c . "$tmp/help")"

xl() {
	echo "$*" >>"$tmp/calls"
	case $* in
	help) cat "$tmp/help" ;;
	list) printf '%s\n' "Name                                        ID   Mem VCPUs	State	Time(s)" \
		"Domain-0                                     0  1024     1     r-----      10.0" \
		"guest1                                       5   256     1     -b----       1.0" \
		"guest2                                       7   256     1     -b----       1.0" ;;
	"scsi-list guest1") cat "$tmp/list-guest1" ;;
	scsi-assignable-list) cat "$tmp/assignable" ;;
	*) return 1 ;;
	esac
}

# shellcheck source=../../xl-plugin/xl.bash-completion
. xl-plugin/xl.bash-completion
COMP_WORDBREAKS=$' \t\n"\'@><=;|&(:'

# comp LINE: the completions offered with the cursor at the end of LINE.
comp() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMPREPLY=()
	_xl_pvscsi
	echo "${COMPREPLY[*]}"
}

check "registered for xl" "complete -o default -F _xl_pvscsi xl" "$(complete -p xl)"
check "the verbs from xl help, scsi-* included" \
	"create list pci-assignable-remove qemu-monitor-command scsi-attach scsi-detach scsi-insert scsi-eject scsi-list scsi-assignable-list scsi-resolve scsi-monitor" \
	"$(comp "xl ")"
check "scsi- verbs" "scsi-attach scsi-detach scsi-insert scsi-eject scsi-list scsi-assignable-list scsi-resolve scsi-monitor" \
	"$(comp "xl scsi-")"
check "after global options" "scsi-assignable-list" "$(comp "xl -v -N scsi-as")"
check "xl help VERB" "scsi-list" "$(comp "xl help scsi-l")"
check "scsi-attach options" "-N --dryrun -h --help --xml" "$(comp "xl scsi-attach -")"
check "domains, not Domain-0" "guest1 guest2" "$(comp "xl scsi-attach ")"
check "a domain after an option" "guest2" "$(comp "xl scsi-attach -N guest2")"
check "PDEV prefixes, then the LUNs: H:C:T:L and identities" \
	"file: mem: cdrom: /dev/ 2:0:0:0 naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1 2:0:1:0 naa.6001405bbbbbbbbbbbbbbbbbbbbbbbb2 3:0:0:0 4:0:0:0 4:0:0:1" \
	"$(comp "xl scsi-attach guest1 ")"
check "H:C:T:Ls after bash's ':' split: only the rest is replaced" "0:0 1:0" \
	"$(comp "xl scsi-attach guest1 2:0:")"
check "one H:C:T:L" "1:0" "$(comp "xl scsi-attach guest1 2:0:1")"
check "an identity" "naa.6001405bbbbbbbbbbbbbbbbbbbbbbbb2" "$(comp "xl scsi-attach guest1 naa.6001405b")"
check "file: prefix" "file:" "$(comp "xl scsi-attach guest1 fi")"
mkdir -p "$tmp/imgs"
: >"$tmp/imgs/disk.img"
check "file: names after file:" "$tmp/imgs/disk.img" "$(comp "xl scsi-attach guest1 file:$tmp/imgs/d")"
check "a device path" "$tmp/imgs/disk.img" "$(comp "xl scsi-attach guest1 $tmp/imgs/di")"
check "v-dev options after the comma" "0,ro" "$(comp "xl scsi-attach guest1 /dev/sg3 0:0:0:0,r")"
check "every v-dev option" "0,ro 0,shareable 0,feature-host" "$(comp "xl scsi-attach guest1 /dev/sg3 0:0:0:0,")"
check "nothing for a bare v-dev" "" "$(comp "xl scsi-attach guest1 /dev/sg3 0:0")"
check "--xml: a file" "$tmp/imgs/disk.img" "$(comp "xl scsi-attach guest1 --xml $tmp/imgs/d")"
check "--xml=: a file, after bash's '=' split" "$tmp/imgs/disk.img" \
	"$(comp "xl scsi-attach guest1 --xml=$tmp/imgs/d")"
check "--xml=: a file, '=' not a word break" "--xml=$tmp/imgs/disk.img" \
	"$(COMP_WORDBREAKS=$' \t\n:'; comp "xl scsi-attach guest1 --xml=$tmp/imgs/d")"
check "the domain after --xml FILE" "guest1 guest2" "$(comp "xl scsi-attach --xml $tmp/imgs/disk.img ")"
check "nothing after DOMAIN --xml FILE" "" "$(comp "xl scsi-attach guest1 --xml $tmp/imgs/disk.img ")"
check "nothing after --xml FILE DOMAIN" "" "$(comp "xl scsi-attach --xml - guest1 ")"
check "scsi-detach: the domain's v-devs" "0:0:0:0 0:0:1:0 1:0:0:5" \
	"$(comp "xl scsi-detach guest1 ")"
check "scsi-detach: one v-dev after ':'" "1:0" "$(comp "xl scsi-detach guest1 0:0:1")"
check "cdrom: images after cdrom:" "$tmp/imgs/disk.img" "$(comp "xl scsi-attach guest1 cdrom:$tmp/imgs/d")"
check "scsi-insert: the domain's v-devs" "0:0:0:0 0:0:1:0 1:0:0:5" "$(comp "xl scsi-insert guest1 ")"
check "scsi-insert: then the image" "$tmp/imgs/disk.img" "$(comp "xl scsi-insert guest1 0:0:0:0 $tmp/imgs/d")"
check "scsi-eject --force" "--force" "$(comp "xl scsi-eject --f")"
check "scsi-eject: nothing after the v-dev" "" "$(comp "xl scsi-eject guest1 0:0:0:0 ")"
check "scsi-list --json" "--json" "$(comp "xl scsi-list --j")"
check "scsi-list --xml" "--xml" "$(comp "xl scsi-list --x")"
check "scsi-list: several domains" "guest1 guest2" "$(comp "xl scsi-list guest1 ")"
check "scsi-assignable-list takes no operand" "" "$(comp "xl scsi-assignable-list ")"
check "scsi-resolve --vscsi-missing-ok" "--vscsi-missing-ok" "$(comp "xl scsi-resolve --vs")"
check "scsi-monitor -F" "-F -h --help" "$(comp "xl scsi-monitor -")"
check "restore --vscsi-missing-ok" "--vscsi-missing-ok" "$(comp "xl restore --vs")"
check "other verbs: file names (nothing from us)" "" "$(comp "xl create ")"
check "the cursor inside the line counts" "scsi-list" \
	"$(COMP_LINE="xl scsi-li guest1"; COMP_POINT=10; COMPREPLY=(); _xl_pvscsi; echo "${COMPREPLY[*]}")"
check "xl-pvscsi too" "complete -o default -F _xl_pvscsi xl-pvscsi" "$(complete -p xl-pvscsi)"

finish
