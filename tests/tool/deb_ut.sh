#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make deb: the three Debian packages build from the tree, lintian finds no
# error in them (make deb fails otherwise), each holds what it should, the
# programs depend on the Xen libraries they were built against, and the xl
# front replaces Xen's /usr/sbin/xl by dpkg-divert, never by overwriting it.
# (Installing them is the systemd end-to-end flavour's job: this machine's
# own /usr/sbin/xl is not to be touched by a unit test.)
#
# Usage: tests/tool/deb_ut.sh   (from the top of the tree).  Ends with an
# 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

v=$(cat VERSION)
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# has DEB PATH: 1 when the package holds PATH
has() { dpkg-deb -c "$1" | awk '{ print $6 }' | grep -c -x "./$2"; }

make -s deb >build/deb-test.log 2>&1
rc=$?
[ $rc = 0 ] || tail -n 20 build/deb-test.log
check "make deb (dpkg-buildpackage, lintian --fail-on error): exit 0" 0 $rc
p=build/deb/pvscsi_${v}_$arch.deb
l=build/deb/libpvscsi0_${v}_$arch.deb
dv=build/deb/libpvscsi-dev_${v}_$arch.deb
for f in usr/sbin/pvscsid usr/sbin/pvscsi-vhost-user usr/sbin/xl-pvscsi usr/sbin/pvscsictl usr/bin/pvscsi-cdb \
	lib/systemd/system/pvscsid.service usr/share/man/man1/xl-scsi.1.gz lib/modprobe.d/pvscsi.conf \
	usr/share/man/man8/xl-pvscsi.8.gz; do
	check "pvscsi holds /$f" 1 "$(has "$p" "$f")"
done
check "pvscsi's /usr/sbin/xl is the front" "xl-pvscsi" \
	"$(dpkg-deb -c "$p" | awk '$6 == "./usr/sbin/xl" { print $8 }')"
check "libpvscsi0 holds the shared library" 1 "$(has "$l" "usr/lib/$ma/libpvscsi.so.$v")"
check "libpvscsi-dev holds pvscsi.pc" 1 "$(has "$dv" "usr/lib/$ma/pkgconfig/pvscsi.pc")"
check "libpvscsi-dev holds the headers" 1 "$(has "$dv" "usr/include/pvscsi/pvscsi.h")"
deps=$(dpkg-deb -f "$p" Depends)
check "pvscsi depends on the Xen libraries it links" 1 \
	"$(echo "$deps" | grep -c 'libxenstore.*libxentoollog\|libxenstore4')"
check "pvscsi depends on libpvscsi0 of its version" 1 "$(echo "$deps" | grep -c "libpvscsi0 (= $v)")"
ctl=$(mktemp -d)
dpkg-deb -e "$p" "$ctl"
# the scripts' diversions, joined across their continuation lines
div() { sed -e ':a' -e '/\\$/N; s/\\\n[[:blank:]]*/ /; ta' "$1" | tr -s ' ' | grep "dpkg-divert --package pvscsi --$2 --rename"; }
check "preinst diverts /usr/sbin/xl to xl.distrib" 1 \
	"$(div "$ctl/preinst" add | grep -c -- '--divert /usr/sbin/xl.distrib /usr/sbin/xl$')"
check "preinst diverts Xen's completion of xl" 1 \
	"$(div "$ctl/preinst" add | grep -c -- 'completions/xl.distrib /usr/share/bash-completion/completions/xl$')"
check "postrm removes both diversions" 2 "$(div "$ctl/postrm" remove | wc -l)"
check "pvscsi holds the completion" 1 "$(has "$p" usr/share/bash-completion/completions/xl)"
check "the service is enabled, not started, by the package" 0 "$(grep -c 'deb-systemd-invoke start' "$ctl/postinst")"
rm -rf "$ctl"

finish
