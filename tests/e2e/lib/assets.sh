#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetch and unpack what the e2e environment boots: the Xen hypervisor and one
# Debian kernel (image + modules), unpacked (never installed) under build/e2e/.
# Everything is cached: a second run only checks that the files are there.
#
# usage: tests/e2e/lib/assets.sh   (or sourced: fetch_assets sets KVER, KERNEL,
#                                  GUEST_KERNEL, MODDIR, XEN_ELF)
set -eu

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
REPO=${REPO:-$(cd "$E2E_DIR/../.." && pwd)}
BUILD=${BUILD:-$REPO/build/e2e}

log() { printf 'e2e: %s\n' "$*" >&2; }
die() {
	printf 'e2e: error: %s\n' "$*" >&2
	exit 1
}

# The kernel package the linux-image-amd64 metapackage points at.  Never a
# glob: "linux-image-6.1.0-*" would download every version ever published.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

# apt-get download the named package into $BUILD/debs once.
download() {
	pkg=$1
	mkdir -p "$BUILD/debs"
	if ! ls "$BUILD/debs/${pkg}_"*.deb >/dev/null 2>&1; then
		log "downloading $pkg"
		(cd "$BUILD/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
			die "apt-get download $pkg failed (try: apt-get update)"
	fi
	ls "$BUILD/debs/${pkg}_"*.deb | head -n1
}

# The guests boot the same kernel as dom0, but as the ELF inside the bzImage:
# xl's domain builder would otherwise xz-decompress it in userspace on every
# guest creation, which under TCG takes tens of seconds.
extract_vmlinux() {
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "no xz payload in $1"
	tail -c +$((off + 1)) "$1" | xz -dc --single-stream >"$2.tmp" 2>/dev/null || true
	[ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = 177ELF ] || die "cannot extract the ELF kernel from $1"
	mv "$2.tmp" "$2"
}

# Each piece is made only if it is missing, so a run never replaces files
# that another run (sharing build/e2e) may be booting from.
fetch_assets() {
	local kpkg kver xdeb kdeb
	mkdir -p "$BUILD"
	kpkg=$(kernel_pkg)
	if [ -z "$kpkg" ]; then
		# apt lists may be missing on a fresh machine.
		apt-get update -qq || true
		kpkg=$(kernel_pkg)
	fi
	[ -n "$kpkg" ] || die "apt-cache depends linux-image-amd64 names no kernel"
	kver=${kpkg#linux-image-}

	if [ ! -s "$BUILD/xen.elf" ]; then
		xdeb=$(download xen-hypervisor-4.17-amd64)
		log "unpacking $(basename "$xdeb")"
		rm -rf "$BUILD/xen"
		dpkg-deb -x "$xdeb" "$BUILD/xen"
		# QEMU's multiboot loader wants the uncompressed ELF.
		zcat "$BUILD/xen/boot/xen-4.17-amd64.gz" >"$BUILD/xen.elf.tmp"
		mv "$BUILD/xen.elf.tmp" "$BUILD/xen.elf"
	fi
	if [ ! -s "$BUILD/kernel/lib/modules/$kver/modules.dep" ]; then
		kdeb=$(download "$kpkg")
		log "unpacking $(basename "$kdeb")"
		rm -rf "$BUILD/kernel"
		dpkg-deb -x "$kdeb" "$BUILD/kernel"
		[ -s "$BUILD/kernel/boot/vmlinuz-$kver" ] || die "no vmlinuz-$kver in $kdeb"
		depmod -b "$BUILD/kernel" "$kver"
	fi
	[ -s "$BUILD/vmlinux-$kver" ] ||
		extract_vmlinux "$BUILD/kernel/boot/vmlinuz-$kver" "$BUILD/vmlinux-$kver"

	KVER=$kver
	KERNEL=$BUILD/kernel/boot/vmlinuz-$kver
	GUEST_KERNEL=$BUILD/vmlinux-$kver
	MODDIR=$BUILD/kernel/lib/modules/$kver
	XEN_ELF=$BUILD/xen.elf
}

# libvirt 9.0 for the libvirt case, unpacked into $BUILD/libvirt (never
# installed here): dom0 copies it into its own tmpfs root.  libvirtd, its
# libxl driver, virsh, and the one library of theirs this machine lacks
# (docs/plans/libvirt.md section 5).
LIBVIRT_PKGS="libvirt0 libssh-4 libvirt-daemon libvirt-daemon-driver-xen libvirt-clients"
fetch_libvirt() {
	local p deb
	[ -x "$BUILD/libvirt/usr/sbin/libvirtd" ] && [ -e "$BUILD/libvirt/.complete" ] && return 0
	rm -rf "$BUILD/libvirt.tmp"
	mkdir -p "$BUILD/libvirt.tmp"
	for p in $LIBVIRT_PKGS; do
		deb=$(download "$p")
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$BUILD/libvirt.tmp"
	done
	rm -rf "$BUILD/libvirt.tmp/usr/share/doc" "$BUILD/libvirt.tmp/usr/share/man" "$BUILD/libvirt.tmp/usr/share/locale"
	touch "$BUILD/libvirt.tmp/.complete"
	rm -rf "$BUILD/libvirt"
	mv "$BUILD/libvirt.tmp" "$BUILD/libvirt"
}

# Run directly: just fetch.
if [ "$(basename "$0")" = assets.sh ]; then
	fetch_assets
	echo "KVER=$KVER KERNEL=$KERNEL GUEST_KERNEL=$GUEST_KERNEL XEN_ELF=$XEN_ELF"
fi
