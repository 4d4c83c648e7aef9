#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the xl front as PREFIX/sbin/xl-pvscsi with PREFIX/sbin/xl pointing
# at it, ahead of Xen's /usr/sbin/xl in root's PATH (the layout of make
# install); the man pages xl-scsi(1), xl-vscsi.cfg(5); the bash completion
# of xl; where libvirt is installed (/etc/libvirt/hooks exists), its libxl
# hook /etc/libvirt/hooks/libxl.d/50-pvscsi (restart libvirtd once: it looks
# for hooks when it starts).  The front finds Xen's xl each time it runs (xl-pvscsi --xen-xl
# shows which one; XL_REAL overrides), so a Xen upgrade needs nothing here.
#
# usage: xl-plugin/install.sh [--prefix DIR] [--destdir DIR] [--bin FILE] [--force] [--uninstall]
#   --prefix DIR   default /usr/local
#   --destdir DIR  stage into DIR (packaging); nothing is checked against the live system
#   --bin FILE     the front to install (default build/rel/xl-pvscsi)
#   --force        replace files that are not the front's; each is kept as FILE.pvscsi-orig
#   --uninstall    remove what this script installed; put every FILE.pvscsi-orig back
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=/usr/local
destdir=
src=$repo/build/rel/xl-pvscsi
force=0
uninstall=0

usage() {
	sed -n '2,13s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift ;;
	--prefix=*) prefix=${1#--prefix=} ;;
	--destdir) destdir=$2; shift ;;
	--destdir=*) destdir=${1#--destdir=} ;;
	--bin) src=$2; shift ;;
	--bin=*) src=${1#--bin=} ;;
	--force) force=1 ;;
	--uninstall) uninstall=1 ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
	shift
done

sbin=$destdir$prefix/sbin
man1=$destdir$prefix/share/man/man1/xl-scsi.1
man5=$destdir$prefix/share/man/man5/xl-vscsi.cfg.5
comp=$destdir$prefix/share/bash-completion/completions/xl
# libvirtd reads /etc/libvirt/hooks whatever the prefix.
hook=$destdir/etc/libvirt/hooks/libxl.d/50-pvscsi
# What replaced files are kept as, and what --uninstall puts back.
orig=.pvscsi-orig
# The front's binary says this (front.c's FRONT_MARK); no other xl does.
mark="is this front itself, not Xen's xl"

exists() { [ -e "$1" ] || [ -L "$1" ]; }

# ours KIND PATH: whether PATH is what this script installs there.
ours() {
	case $1 in
	# (a regular file with the mark: the front itself, as earlier versions installed it)
	link) [ "$(readlink "$2")" = xl-pvscsi ] || { [ ! -L "$2" ] && grep -q "$mark" "$2" 2>/dev/null; } ;;
	bin) [ ! -L "$2" ] && grep -q "$mark" "$2" 2>/dev/null ;;
	man) [ ! -L "$2" ] && grep -m 1 '^\.TH' "$2" 2>/dev/null | grep -q '"pvscsi"' ;;
	comp) [ ! -L "$2" ] && grep -q _xl_pvscsi "$2" 2>/dev/null ;;
	hook) [ ! -L "$2" ] && grep -q scsi-libvirt-hook "$2" 2>/dev/null ;;
	esac
}

# Every file this script owns, as "KIND PATH" lines.
targets() {
	printf '%s\n' "bin $sbin/xl-pvscsi" "link $sbin/xl" "man $man1" "man $man5" "comp $comp"
	if [ -d "${hook%/libxl.d/*}" ] || exists "$hook"; then echo "hook $hook"; fi
}

if [ "$uninstall" = 1 ]; then
	if targets | {
		st=0
		while read -r kind t; do
			if exists "$t" && ! ours "$kind" "$t"; then
				echo "install.sh: $t is not the xl front's; left alone" >&2
				st=1
				continue
			fi
			if exists "$t$orig"; then
				# One rename: the original is back with its inode, mode, owner and times.
				mv -fT "$t$orig" "$t"
				echo "restored $t"
			elif exists "$t"; then
				rm -f "$t"
				echo "removed $t"
			fi
		done
		exit "$st"
	}; then
		exit 0
	fi
	exit 1
fi

if [ ! -f "$src" ] || [ ! -x "$src" ]; then
	echo "install.sh: $src missing: run make first" >&2
	exit 1
fi
ours bin "$src" || { echo "install.sh: $src is not the xl front" >&2; exit 1; }

if [ -z "$destdir" ]; then
	# The front's own search, as it will run: one line saying where it looked if it finds nothing.
	if ! real=$("$src" --xen-xl); then
		echo "install.sh: not installed: the front would not find Xen's xl (above)" >&2
		exit 1
	fi
	# Xen's xl found at PREFIX/sbin/xl itself would be moved aside, out of the front's sight.
	where() { echo "$(readlink -f "$(dirname "$1")" 2>/dev/null || dirname "$1")/$(basename "$1")"; }
	if [ "$(where "$real")" = "$(where "$sbin/xl")" ]; then
		echo "install.sh: $sbin/xl is Xen's xl itself; install under another --prefix," \
			"or divert it to /usr/sbin/xl.distrib with dpkg-divert" >&2
		exit 1
	fi
fi

# Everything is checked before anything changes: a refusal leaves the system as it was.
bad=$(targets | while read -r kind t; do
	if exists "$t" && ! ours "$kind" "$t"; then
		if [ "$force" != 1 ]; then
			echo "install.sh: $t exists and is not the xl front's (--force keeps it as $t$orig)"
		elif exists "$t$orig"; then
			echo "install.sh: $t is not the xl front's and $t$orig already exists; never overwriting a kept original"
		fi
	fi
done)
if [ -n "$bad" ]; then
	echo "$bad" >&2
	exit 1
fi

# place KIND SOURCE TARGET: the original, if not ours, kept as TARGET.pvscsi-orig
# (a hard link: the very file), then the new one renamed over it (never a moment without).
place() {
	if exists "$3" && ! ours "$1" "$3"; then
		ln -P "$3" "$3$orig" 2>/dev/null || cp -a "$3" "$3$orig"
		echo "kept $3 as $3$orig"
	fi
	mkdir -p "$(dirname "$3")"
	if [ "$1" = link ]; then
		ln -sfn "$2" "$3.pvscsi-new"
	else
		mode=0644
		[ "$1" = bin ] || [ "$1" = hook ] && mode=0755
		install -m "$mode" "$2" "$3.pvscsi-new"
	fi
	mv -fT "$3.pvscsi-new" "$3"
}

place bin "$src" "$sbin/xl-pvscsi"
place link xl-pvscsi "$sbin/xl"
place man "$repo/docs/xl-scsi.1" "$man1"
place man "$repo/docs/xl-vscsi.cfg.5" "$man5"
place comp "$repo/xl-plugin/xl.bash-completion" "$comp"
if [ -d "${hook%/libxl.d/*}" ]; then
	# The front's absolute path: libvirtd's PATH decides which xl a bare "xl" is.
	mkdir -p "$(dirname "$hook")"
	sed "s|/usr/sbin/|$prefix/sbin/|g" "$repo/xl-plugin/libvirt-hook" >"$hook.src"
	place hook "$hook.src" "$hook"
	rm -f "$hook.src"
	echo "installed the libvirt hook $hook (restart libvirtd to have it run)"
fi
echo "installed $sbin/xl-pvscsi, $sbin/xl -> xl-pvscsi, the man pages xl-scsi(1), xl-vscsi.cfg(5)" \
	"and the bash completion of xl"

if [ -z "$destdir" ]; then
	echo "Xen's xl, as the front finds it now: $("$sbin/xl-pvscsi" --xen-xl 2>&1)"
	# The front only works if it is found first.
	found=$(PATH=${PATH:-/usr/sbin:/usr/bin:/sbin:/bin} command -v xl || true)
	if [ "$found" != "$prefix/sbin/xl" ]; then
		echo "install.sh: warning: 'xl' in this PATH is $found; put $prefix/sbin before /usr/sbin" >&2
	fi
fi
