#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# xl-plugin/install.sh: the files and modes it installs (xl -> xl-pvscsi, as
# make install lays them out); a file that is not the front's is refused,
# and with --force kept as FILE.pvscsi-orig (the very file: same inode),
# never overwritten, not even by a second --force; --uninstall puts every
# original back exactly (inode, mode, times, a symbolic link's target) and
# leaves a file that is not the front's alone; without --destdir it asks the
# front where Xen's xl is and refuses when there is none, or when Xen's xl
# is the very file it would move aside.
#
# The front is a stand-in script carrying the front's mark, whose --xen-xl
# answers $FAKE_XEN_XL (or fails with $FAKE_XEN_XL_ERR): install.sh is
# tested, not the front (tests/unit/xl_find_ut.c does that).
#
# Usage: tests/tool/xl-install_ut.sh   (from the top of the tree).  Ends with
# an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /var/tmp/xl-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
inst=xl-plugin/install.sh

# Every file and link below $1 with what identifies it exactly.
state() {
	(cd "$1" && find . \( -type f -o -type l \) | sort | while read -r f; do
		if [ -L "$f" ]; then
			echo "$f -> $(readlink "$f") $(stat -c '%i' "$f")"
		else
			echo "$f $(stat -c '%i %a %s %Y' "$f") $(md5sum <"$f" | cut -c1-8)"
		fi
	done)
}
files() { (cd "$1" && find . \( -type f -o -type l \) | sort | tr '\n' ' '); }

front=$tmp/xl-pvscsi
cat >"$front" <<'EOS'
#!/bin/sh
# xl-pvscsi stand-in: is this front itself, not Xen's xl
case ${1:-} in
--xen-xl)
	if [ -n "${FAKE_XEN_XL_ERR:-}" ]; then echo "$FAKE_XEN_XL_ERR" >&2; exit 1; fi
	echo "$FAKE_XEN_XL"
	;;
esac
EOS
chmod 0755 "$front"

# --- a fresh staged install, and its uninstall -------------------------------
d=$tmp/fresh
"$inst" --destdir "$d" --prefix /usr --bin "$front" >"$tmp/log" 2>&1
check "fresh install: exit 0" 0 $?
check "fresh install: the files" \
	"./usr/sbin/xl ./usr/sbin/xl-pvscsi ./usr/share/bash-completion/completions/xl ./usr/share/man/man1/xl-scsi.1 ./usr/share/man/man5/xl-vscsi.cfg.5 " \
	"$(files "$d")"
check "xl points at xl-pvscsi" xl-pvscsi "$(readlink "$d/usr/sbin/xl")"
check "xl-pvscsi 755, man page 644, completion 644" "755 644 644" \
	"$(stat -c %a "$d/usr/sbin/xl-pvscsi" "$d/usr/share/man/man1/xl-scsi.1" \
		"$d/usr/share/bash-completion/completions/xl" | tr '\n' ' ' | sed 's/ $//')"
check "the completion is the front's" 1 "$(grep -c '^complete -F _xl_pvscsi' "$d/usr/share/bash-completion/completions/xl")"
"$inst" --destdir "$d" --prefix /usr --bin "$front" >"$tmp/log" 2>&1
check "installing again over itself: exit 0, nothing kept" "0 " "$? $(files "$d" | grep -o '[^ ]*pvscsi-orig')"
"$inst" --destdir "$d" --prefix /usr --uninstall >"$tmp/log" 2>&1
check "uninstall: exit 0" 0 $?
check "uninstall: nothing left" "" "$(files "$d")"

# --- where libvirt is installed: its libxl hook too -------------------------
d=$tmp/libvirt
mkdir -p "$d/etc/libvirt/hooks"
echo "#!/bin/sh" >"$d/etc/libvirt/hooks/libxl"
"$inst" --destdir "$d" --prefix /usr/local --bin "$front" >"$tmp/log" 2>&1
check "with /etc/libvirt/hooks: exit 0" 0 $?
check "the hook is installed beside the administrator's, 755" "755 #!/bin/sh" \
	"$(stat -c %a "$d/etc/libvirt/hooks/libxl.d/50-pvscsi") $(cat "$d/etc/libvirt/hooks/libxl")"
check "and runs the front by its absolute path" 1 \
	"$(grep -c '^exec /usr/local/sbin/xl-pvscsi scsi-libvirt-hook "\$@"$' "$d/etc/libvirt/hooks/libxl.d/50-pvscsi")"
"$inst" --destdir "$d" --prefix /usr/local --uninstall >"$tmp/log" 2>&1
check "uninstall removes the hook, not the administrator's" "./etc/libvirt/hooks/libxl " "$(files "$d")"

# --- over Debian's xl and Xen's completion ----------------------------------
d=$tmp/debian
mkdir -p "$d/usr/sbin" "$d/usr/lib/xen-common/bin" "$d/usr/share/bash-completion/completions"
printf '#!/bin/sh\n' >"$d/usr/lib/xen-common/bin/xen-utils-wrapper"
chmod 0755 "$d/usr/lib/xen-common/bin/xen-utils-wrapper"
ln -s ../lib/xen-common/bin/xen-utils-wrapper "$d/usr/sbin/xl"
printf '_xl() { :; }\ncomplete -F _xl xl\n' >"$d/usr/share/bash-completion/completions/xl"
chmod 0640 "$d/usr/share/bash-completion/completions/xl"
touch -d '2023-01-02 03:04:05' "$d/usr/share/bash-completion/completions/xl"
before=$(state "$d")

"$inst" --destdir "$d" --prefix /usr --bin "$front" >"$tmp/log" 2>&1
check "without --force: exit 1" 1 $?
check "without --force: both files named" 2 "$(grep -c 'exists and is not the xl front.s (--force keeps it as' "$tmp/log")"
check "without --force: nothing changed" "$before" "$(state "$d")"

"$inst" --destdir "$d" --prefix /usr --bin "$front" --force >"$tmp/log" 2>&1
check "--force: exit 0" 0 $?
check "--force: Debian's xl kept as xl.pvscsi-orig, the same link" \
	"../lib/xen-common/bin/xen-utils-wrapper" "$(readlink "$d/usr/sbin/xl.pvscsi-orig")"
check "--force: xl is the front now" xl-pvscsi "$(readlink "$d/usr/sbin/xl")"
check "--force: Xen's completion kept, the very file" \
	"$(echo "$before" | awk '$1 == "./usr/share/bash-completion/completions/xl" { print $2, $3, $4, $5, $6 }')" \
	"$(state "$d" | awk '$1 == "./usr/share/bash-completion/completions/xl.pvscsi-orig" { print $2, $3, $4, $5, $6 }')"
check "--force: says what it kept" 2 "$(grep -c '^kept .* as .*\.pvscsi-orig$' "$tmp/log")"
kept=$(state "$d" | grep pvscsi-orig)

"$inst" --destdir "$d" --prefix /usr --bin "$front" --force >"$tmp/log" 2>&1
check "a second --force: exit 0, the kept originals untouched" "0 $kept" "$? $(state "$d" | grep pvscsi-orig)"

"$inst" --destdir "$d" --prefix /usr --uninstall >"$tmp/log" 2>&1
check "uninstall: exit 0" 0 $?
check "uninstall: every original back exactly, nothing else left" "$before" "$(state "$d")"

# A kept original is never overwritten: the file in its place changed meanwhile.
"$inst" --destdir "$d" --prefix /usr --bin "$front" --force >/dev/null 2>&1
rm "$d/usr/sbin/xl"
printf '#!/bin/sh\necho someone else\n' >"$d/usr/sbin/xl"
chmod 0755 "$d/usr/sbin/xl"
mid=$(state "$d")
"$inst" --destdir "$d" --prefix /usr --bin "$front" --force >"$tmp/log" 2>&1
check "--force over a foreign file with a kept original already there: exit 1" 1 $?
check "and it says so" 1 "$(grep -c 'xl.pvscsi-orig already exists; never overwriting a kept original' "$tmp/log")"
check "and nothing changed" "$mid" "$(state "$d")"
"$inst" --destdir "$d" --prefix /usr --uninstall >"$tmp/log" 2>&1
check "uninstall with a foreign xl: exit 1" 1 $?
check "that xl and its kept original left alone, the rest restored" \
	"./usr/lib/xen-common/bin/xen-utils-wrapper ./usr/sbin/xl ./usr/sbin/xl.pvscsi-orig ./usr/share/bash-completion/completions/xl " \
	"$(files "$d")"
check "the foreign xl is still there" "echo someone else" "$(sed -n 2p "$d/usr/sbin/xl")"

# The front as earlier versions installed it (the binary itself as xl): replaced, not kept.
d=$tmp/old
mkdir -p "$d/usr/local/sbin"
cp "$front" "$d/usr/local/sbin/xl"
"$inst" --destdir "$d" --bin "$front" >"$tmp/log" 2>&1
check "over an earlier install: exit 0, xl is the link, nothing kept" "0 xl-pvscsi " \
	"$? $(readlink "$d/usr/local/sbin/xl") $(files "$d" | grep -o '[^ ]*pvscsi-orig')"

# Something else as the front is refused.
printf '#!/bin/sh\n' >"$tmp/not-front"
chmod 0755 "$tmp/not-front"
"$inst" --destdir "$tmp/nf" --bin "$tmp/not-front" >"$tmp/log" 2>&1
check "--bin that is not the front: exit 1, nothing installed" "1 " "$? $(files "$tmp/nf" 2>/dev/null)"

# --- the live system (a private prefix): Xen's xl as the front finds it -------
p=$tmp/live
FAKE_XEN_XL_ERR="xl: Xen's xl not found: tried /usr/lib/xen-4.99/bin/xl (no such file); set XL_REAL to Xen's xl" \
	"$inst" --prefix "$p" --bin "$front" >"$tmp/log" 2>&1
check "no Xen's xl: exit 1" 1 $?
check "no Xen's xl: the front's line, then why nothing was installed" \
	"xl: Xen's xl not found: tried /usr/lib/xen-4.99/bin/xl (no such file); set XL_REAL to Xen's xl|install.sh: not installed: the front would not find Xen's xl (above)" \
	"$(tr '\n' '|' <"$tmp/log" | sed 's/|$//')"
check "no Xen's xl: nothing installed" "" "$(files "$p" 2>/dev/null)"

mkdir -p "$p/sbin"
printf '#!/bin/sh\n' >"$p/sbin/xl"
chmod 0755 "$p/sbin/xl"
FAKE_XEN_XL=$p/sbin/xl "$inst" --prefix "$p" --bin "$front" --force >"$tmp/log" 2>&1
check "Xen's xl is PREFIX/sbin/xl itself: exit 1, even with --force" 1 $?
check "and it says so" 1 "$(grep -c "sbin/xl is Xen's xl itself" "$tmp/log")"
check "and nothing changed" "./sbin/xl " "$(files "$p")"
rm "$p/sbin/xl"

FAKE_XEN_XL=/usr/lib/xen-4.17/bin/xl PATH=/usr/bin:/bin "$inst" --prefix "$p" --bin "$front" >"$tmp/log" 2>&1
check "Xen's xl found: exit 0" 0 $?
check "says which Xen's xl the installed front finds" 1 \
	"$(grep -c "^Xen's xl, as the front finds it now: /usr/lib/xen-4.17/bin/xl$" "$tmp/log")"
check "warns that PREFIX/sbin is not first in PATH" 1 "$(grep -c "put $p/sbin before /usr/sbin" "$tmp/log")"
"$inst" --prefix "$p" --uninstall >/dev/null 2>&1
check "live uninstall: nothing left" "" "$(files "$p")"

finish
