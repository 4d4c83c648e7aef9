#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the two busybox initramfs images the e2e environment boots:
#   build/e2e/dom0-initramfs.cpio     mounts the build machine's / (9p) as
#                                     dom0's root and runs lib/dom0-init;
#                                     carries the guest kernel and initramfs
#   build/e2e/domU-initramfs.cpio     the PV guest: SCSI/ext4/st/ch/sr modules,
#                                     sg3_utils, lsscsi, fio, iscsi-test-cu,
#                                     e2fsprogs, mtx, mt-st, tar, blkid, eject,
#                                     every case's guest part (cases/*.sh) and
#                                     the project's own tools (tools/*.c).
#                                     Not compressed: xl's domain builder would
#                                     gunzip it in userspace at every guest
#                                     creation (about a minute under TCG).
# Each image is rebuilt only when one of its inputs changed (a stamp holds the
# checksum of the inputs).  Needs fetch_assets (lib/assets.sh) to have run.
set -eu

# Dom0 needs these to reach its root over virtio-9p, in this order.
DOM0_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	9pnet 9pnet_virtio netfs fscache 9p overlay"

# Guest modules (the recipe's list, ext4 for the filesystem case, the tape,
# changer and CD drivers and ISO 9660 for the device-type cases); their
# dependencies are added from modules.dep.  crc32c_generic is not a symbol
# dependency of ext4 but ext4's metadata checksums ask the crypto API for it.
GUEST_MODULES="scsi_common scsi_mod crct10dif_common crc-t10dif crc64 crc64-rocksoft t10-pi
	sd_mod sg xen-scsifront crc16 mbcache jbd2 crc32c_generic ext4
	st ch cdrom sr_mod isofs"

# Guest tools; each is copied with the shared libraries ldd lists.
guest_tools() {
	# dash runs /init and the cases: busybox's shell would run its own
	# applets (lsscsi, mke2fs) in preference to the real tools in PATH.
	echo /bin/dash
	ls /usr/bin/sg_*
	# The device-type cases: a changer (mtx), a tape (mt-st, GNU tar for
	# its -b), a CD (util-linux's blkid, eject; busybox's mount and
	# sha256sum do, and /init needs busybox's mount before /proc is there).
	for t in lsscsi fio iscsi-test-cu mke2fs mkfs.ext4 e2fsck mtx mt-st tar blkid eject; do
		p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") ||
			die "guest tool $t not installed (scripts/install-deps e2e)"
		echo "$p"
	done
}

# Print the path (relative to $MODDIR) of module NAME, dependencies first,
# each once.  modules.dep lists a module's full dependency closure.
mod_path() {
	# Module file names use '-' or '_' interchangeably with the module name.
	n1=$1 n2=$(echo "$1" | tr _ -) n3=$(echo "$1" | tr - _)
	awk -F: -v a="$n1" -v b="$n2" -v c="$n3" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.[a-z]+)?$/, "", f)
		if (f == a || f == b || f == c) { print $1; exit }
	}' "$MODDIR/modules.dep"
}
mod_closure() {
	for m in "$@"; do
		p=$(mod_path "$m")
		[ -n "$p" ] || die "module $m not in $MODDIR/modules.dep"
		# Dependencies in modules.dep are listed last-needed-first: reverse them.
		deps=$(awk -F: -v p="$p" '$1 == p { print $2 }' "$MODDIR/modules.dep")
		for d in $deps; do echo "$d"; done | tac
		echo "$p"
	done | awk '!seen[$0]++'
}

# fio's I/O engines for Ceph (librbd, librados), GlusterFS and NBD pull in
# about 70 MB of libraries (Ceph's, ICU's, GnuTLS's) that the guest never
# uses: it runs fio's libaio engine only.  Each becomes a stub of the same
# soname in which every function fio takes from it aborts, which takes
# three quarters off the image that every guest creation copies and every
# guest boot unpacks.
FIO_STUB_LIBS="librbd.so.1 librados.so.2 libgfapi.so.0 libnbd.so.0"

# build_fio_stubs DIR: the stubs of FIO_STUB_LIBS, in DIR, with the symbol
# versions fio asks for (the dynamic loader warns on every run otherwise).
build_fio_stubs() {
	local dir=$1 fio lib real base
	fio=$(command -v fio) || die "fio not installed (scripts/install-deps e2e)"
	rm -rf "$dir"
	mkdir -p "$dir"
	for lib in $FIO_STUB_LIBS; do
		real=$(ldd "$fio" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$real" ] || continue
		base=$dir/${lib%%.so*}
		# "VERSION NAME" of each function fio takes from it (Base: unversioned).
		objdump -T "$fio" | awk '/\*UND\*/ { v = $(NF - 1); gsub(/[()]/, "", v); print v, $NF }' |
			sort -k2 | join -1 2 -2 1 -o 1.1,1.2 - \
			<(nm -D --defined-only "$real" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u) \
			>"$base.syms"
		{
			echo '#include <stdlib.h>'
			awk '{ printf "void %s(void);\nvoid %s(void) { abort(); }\n", $2, $2 }' "$base.syms"
		} >"$base.c"
		awk '$1 != "Base" { n[$1] = n[$1] " " $2 ";" }
			END { for (v in n) printf "%s { global:%s };\n", v, n[v] }' "$base.syms" >"$base.map"
		# shellcheck disable=SC2046 # no option at all when nothing is versioned
		cc -shared -fPIC -O1 -Wl,-soname,"$lib" \
			$([ -s "$base.map" ] && echo "-Wl,--version-script,$base.map") \
			-o "$dir/$lib" "$base.c" || die "cannot build the stub $lib for the guest's fio"
	done
}

# Copy a binary and its shared libraries (ldd) into the tree at ROOT,
# keeping their paths.  Symlinks are resolved: the target is copied.  A
# library of STUBS (a directory, build_fio_stubs) replaces the real one of
# that name, at the real one's path; what only the real one needed is left
# out.
copy_with_libs() {
	root=$1
	shift
	for bin in "$@"; do
		install -D -m 755 "$(readlink -f "$bin")" "$root$bin"
		LD_LIBRARY_PATH=${STUBS:-} ldd "$bin" 2>/dev/null |
			awk '/=> \// { print $1, $3 } /^\t\/[^ ]+ \(/ { print $1, $1 }'
	done | sort -u | while read -r name lib; do
		dest=$lib
		if [ -n "${STUBS:-}" ] && [ "${lib#"$STUBS"/}" != "$lib" ]; then
			dest=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
			[ -n "$dest" ] || die "no $name on this machine for the stub to stand in for"
		fi
		[ -e "$root$dest" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$dest"
	done
}

# Busybox applets as symlinks in /bin; the real tools live in /usr/{s,}bin
# and come first in PATH, so busybox's mke2fs/lsscsi do not shadow them.
install_busybox() {
	root=$1
	install -D -m 755 /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
}

# pack TREE IMAGE [gz]: newc cpio of a tree (owned by root in the archive,
# whoever builds it), gzipped with "gz".
pack() {
	(cd "$1" && find . | sort | cpio -o -H newc -R 0:0 --quiet) |
		if [ "${3:-}" = gz ]; then gzip -1; else cat; fi >"$2.tmp"
	mv "$2.tmp" "$2"
}

# The CD image dom0's CD drive holds (QEMU's scsi-cd, lib/boot.sh): ISO 9660
# labelled PVSCSI_ISO with a random 1 MiB file and its SHA256SUMS.  Made once
# and kept (a run never replaces what another may be booting from); sets
# CD_ISO.
CD_LABEL=PVSCSI_ISO
build_cd_iso() {
	local dir=$BUILD/cd-root
	CD_ISO=$BUILD/pvscsi.iso
	[ -s "$CD_ISO" ] && return 0
	command -v xorriso >/dev/null || die "xorriso not installed (scripts/install-deps e2e)"
	log "building the CD image"
	rm -rf "$dir"
	mkdir -p "$dir"
	head -c 1048576 /dev/urandom >"$dir/random.bin"
	(cd "$dir" && sha256sum random.bin >SHA256SUMS)
	xorriso -as mkisofs -quiet -V "$CD_LABEL" -r -J -o "$CD_ISO.tmp" "$dir" 2>/dev/null ||
		die "xorriso could not build $CD_ISO"
	mv "$CD_ISO.tmp" "$CD_ISO"
	rm -rf "$dir"
}

# Checksum of a list of files (contents and names): the rebuild stamp.
inputs_sum() {
	for f in "$@"; do
		printf '%s ' "$f"
		sha256sum <"$f"
	done | sha256sum | cut -d' ' -f1
}

# dom0's initramfs is two cpio archives back to back (the kernel unpacks
# both): uncompressed, the guest kernel and the domU initramfs under /guest,
# then the busybox part (gzip).  QEMU loads it straight into memory, so dom0
# has the guest images in RAM: reading 160 MB through 9p takes minutes.
# Needs build_domU_initramfs first.
build_dom0_initramfs() {
	local img=$BUILD/dom0-initramfs.cpio base=$BUILD/dom0-base.cpio.gz root sum m p
	sum=$(
		{
			inputs_sum "$E2E_DIR/lib/dom0-init" "$E2E_DIR/lib/initramfs.sh" /bin/busybox
			echo "$KVER"
		} | sha256sum | cut -d' ' -f1
	)
	if [ ! -s "$base" ] || [ "$(cat "$base.stamp" 2>/dev/null)" != "$sum" ]; then
		log "building dom0 initramfs"
		root=$BUILD/dom0-root
		rm -rf "$root"
		mkdir -p "$root"/{proc,sys,dev,lower,upper,newroot,modules,etc,guest}
		install_busybox "$root"
		# shellcheck disable=SC2086
		for m in $DOM0_MODULES; do
			p=$(mod_path "$m")
			[ -n "$p" ] || die "module $m not found"
			cp "$MODDIR/$p" "$root/modules/"
			basename "$p" >>"$root/etc/modules"
		done
		install -m 755 "$E2E_DIR/lib/dom0-init" "$root/init"
		pack "$root" "$base" gz
		echo "$sum" >"$base.stamp"
		rm -rf "$root"
	fi
	sum="$(cat "$base.stamp") $(cat "$BUILD/domU-initramfs.cpio.stamp") $(stat -c %s.%Y "$GUEST_KERNEL")"
	if [ -s "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	root=$BUILD/dom0-guest
	rm -rf "$root"
	mkdir -p "$root/guest"
	# Hard links: the same file system, no copy.
	ln "$GUEST_KERNEL" "$root/guest/vmlinux" 2>/dev/null || cp "$GUEST_KERNEL" "$root/guest/vmlinux"
	ln "$BUILD/domU-initramfs.cpio" "$root/guest/" 2>/dev/null || cp "$BUILD/domU-initramfs.cpio" "$root/guest/"
	# Uncompressed archive first: the kernel finds the next archive's magic
	# after a cpio trailer's padding, not after a gzip stream.
	{
		(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet)
		cat "$base"
	} >"$img.tmp"
	mv "$img.tmp" "$img"
	echo "$sum" >"$img.stamp"
	rm -rf "$root"
}

# The project's own guest tools (tests/e2e/tools/*.c), static: the guest has
# no compiler, and a static binary needs none of the libraries copied.
build_guest_tools() {
	local src bin
	mkdir -p "$BUILD/tools"
	for src in "$E2E_DIR"/tools/*.c; do
		bin=$BUILD/tools/$(basename "$src" .c)
		[ "$bin" -nt "$src" ] && continue
		cc -std=c11 -Wall -Wextra -Werror -O2 -static -o "$bin" "$src" ||
			die "cannot build guest tool $src"
	done
}

build_domU_initramfs() {
	img=$BUILD/domU-initramfs.cpio
	build_guest_tools
	tools=$(guest_tools)
	# shellcheck disable=SC2086
	sum=$(
		{
			inputs_sum "$E2E_DIR/lib/guest-init" "$E2E_DIR/lib/guest-lib.sh" \
				"$E2E_DIR/lib/initramfs.sh" "$E2E_DIR"/cases/*.sh /bin/busybox $tools \
				"$BUILD"/tools/*
			echo "$KVER"
		} | sha256sum | cut -d' ' -f1
	)
	if [ -s "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	log "building domU initramfs"
	root=$BUILD/domU-root
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,tmp,mnt,etc,e2e/cases,lib/modules}
	install_busybox "$root"
	build_fio_stubs "$BUILD/fio-stubs"
	# shellcheck disable=SC2086
	STUBS=$BUILD/fio-stubs copy_with_libs "$root" $tools
	install -m 755 "$BUILD"/tools/* "$root/usr/bin/"
	# mkfs.ext4 reads its defaults (features, inode size) from mke2fs.conf.
	[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
	# shellcheck disable=SC2086
	for p in $(mod_closure $GUEST_MODULES); do
		cp "$MODDIR/$p" "$root/lib/modules/"
		basename "$p" >>"$root/etc/modules"
	done
	install -m 755 "$E2E_DIR/lib/guest-init" "$root/init"
	install -m 644 "$E2E_DIR/lib/guest-lib.sh" "$root/e2e/"
	install -m 644 "$E2E_DIR"/cases/*.sh "$root/e2e/cases/"
	pack "$root" "$img"
	echo "$sum" >"$img.stamp"
	log "domU initramfs: $(du -h "$img" | cut -f1) ($(wc -l <"$root/etc/modules") modules)"
	rm -rf "$root"
}
