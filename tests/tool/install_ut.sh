#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make install and make uninstall into an empty DESTDIR: exactly the expected
# files with their modes, a pvscsi.pc that a program builds and links
# against (and runs with the installed shared library), units whose
# ExecStart follows SBINDIR, an xl that is left alone when it is not ours,
# and nothing left behind by make uninstall.
#
# Usage: tests/tool/install_ut.sh   (from the top of the tree; builds
# build/rel through make install).  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /var/tmp/pvscsi-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$(cat VERSION)

files() { (cd "$1" && find . \( -type f -o -type l \) | sort | tr '\n' ' '); }

d=$tmp/root
make -s install DESTDIR="$d" PREFIX=/usr >"$tmp/install.log" 2>&1
check "make install PREFIX=/usr: exit 0" 0 $?
want=""
for f in /usr/bin/pvscsi-cdb $(for h in libpvscsi/include/pvscsi/*.h; do echo /usr/include/pvscsi/${h##*/}; done) \
	/usr/lib/libpvscsi.a /usr/lib/libpvscsi.so /usr/lib/libpvscsi.so.0 /usr/lib/libpvscsi.so.$version \
	/usr/lib/pkgconfig/pvscsi.pc \
	$(for u in backend/*.service vhost-user/*.service; do [ -e "$u" ] && echo /usr/lib/systemd/system/${u##*/}; done) \
	/usr/sbin/pvscsi-vhost-user /usr/sbin/pvscsictl /usr/sbin/pvscsid /usr/sbin/xl /usr/sbin/xl-pvscsi \
	/lib/modprobe.d/pvscsi.conf /etc/libvirt/hooks/libxl.d/50-pvscsi \
	$(for b in xl-plugin/*.bash-completion; do [ -e "$b" ] && n=${b##*/} && echo /usr/share/bash-completion/completions/${n%.bash-completion}; done) \
	$(for m in docs/*.[158]; do echo /usr/share/man/man${m##*.}/${m##*/}; done); do
	want="$want.$f "
done
want=$(echo "$want" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
check "the files installed" "$want" "$(files "$d")"
check "pvscsid is executable" 755 "$(stat -c %a "$d/usr/sbin/pvscsid")"
check "a man page is 644" 644 "$(stat -c %a "$d/usr/share/man/man1/xl-scsi.1")"
check "xen-scsiback is blacklisted for udev" 1 "$(grep -c '^blacklist xen-scsiback$' "$d/lib/modprobe.d/pvscsi.conf")"
check "xl is the front" xl-pvscsi "$(readlink "$d/usr/sbin/xl")"
check "the libvirt hook is executable" 755 "$(stat -c %a "$d/etc/libvirt/hooks/libxl.d/50-pvscsi")"
check "and runs the installed front" 1 \
	"$(grep -c '^exec /usr/sbin/xl-pvscsi scsi-libvirt-hook "\$@"$' "$d/etc/libvirt/hooks/libxl.d/50-pvscsi")"
check "the unit runs the installed daemon" 1 \
	"$(grep -c '^ExecStart=/usr/sbin/pvscsid' "$d/usr/lib/systemd/system/pvscsid.service")"
check "pvscsi.pc version" "$version" \
	"$(PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_PATH=$d/usr/lib/pkgconfig pkg-config --modversion pvscsi)"

# A program built with pkg-config against the installed library, and run with it.
cat >"$tmp/t.c" <<'EOF'
#include <stdio.h>
#include "pvscsi/pvscsi.h"
int main(void)
{
	char err[128];
	struct pvs_spec s;

	if (pvs_spec_parse("mem:1M", &s, err, sizeof(err)))
		return 1;
	printf("%s %s\n", pvs_pdt_name(1), s.kind == PVS_SPEC_MEM ? "mem" : "?");
	return 0;
}
EOF
flags=$(PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_PATH=$d/usr/lib/pkgconfig pkg-config --cflags --libs pvscsi)
# shellcheck disable=SC2086
cc -o "$tmp/t" "$tmp/t.c" $flags >"$tmp/cc.log" 2>&1
check "a program builds with pkg-config's flags" 0 $?
check "and runs on the installed libpvscsi.so" "tape mem" "$(LD_LIBRARY_PATH=$d/usr/lib "$tmp/t" 2>&1)"
check "it is linked dynamically" 1 "$(LD_LIBRARY_PATH=$d/usr/lib ldd "$tmp/t" 2>/dev/null | grep -c "libpvscsi.so.0 => $d/usr/lib/libpvscsi.so.0")"

make -s uninstall DESTDIR="$d" PREFIX=/usr >"$tmp/uninstall.log" 2>&1
check "make uninstall: exit 0" 0 $?
check "make uninstall leaves no file" "" "$(files "$d")"

# Another prefix: units follow SBINDIR; an xl that is not ours is left alone, by both.
d=$tmp/local
mkdir -p "$d/usr/local/sbin"
echo "#!/bin/sh" >"$d/usr/local/sbin/xl"
make -s install DESTDIR="$d" >"$tmp/install2.log" 2>&1
check "make install (PREFIX /usr/local): exit 0" 0 $?
check "an xl that is not the front is left alone" "#!/bin/sh" "$(cat "$d/usr/local/sbin/xl")"
check "and make install says so" 1 "$(grep -c 'exists and is not the pvscsi front' "$tmp/install2.log")"
check "the unit runs /usr/local/sbin/pvscsid" 1 \
	"$(grep -c '^ExecStart=/usr/local/sbin/pvscsid' "$d/usr/local/lib/systemd/system/pvscsid.service")"
check "the libvirt hook runs /usr/local/sbin/xl-pvscsi" 1 \
	"$(grep -c '^exec /usr/local/sbin/xl-pvscsi scsi-libvirt-hook' "$d/etc/libvirt/hooks/libxl.d/50-pvscsi")"
make -s uninstall DESTDIR="$d" >/dev/null 2>&1
check "make uninstall keeps the xl it did not install" "./usr/local/sbin/xl " "$(files "$d")"

finish
