#!/bin/sh
# Install the xl front (build/rel/xl-pvscsi) as PREFIX/sbin/xl, ahead of Xen's
# own /usr/sbin/xl in root's PATH, and the man pages xl-scsi(1) and
# xl-vscsi.cfg(5).  The front runs Xen's xl (XL_REAL, default
# /usr/lib/xen-4.17/bin/xl) for every verb it does not handle.
#
# usage: xl-plugin/install.sh [--prefix DIR] [--destdir DIR] [--force] [--uninstall]
#   --prefix DIR   default /usr/local
#   --destdir DIR  stage into DIR (packaging); nothing is checked against the live system
#   --force        replace a PREFIX/sbin/xl that is not this front
#   --uninstall    remove what this script installed
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=/usr/local
destdir=
force=0
uninstall=0

usage() {
	sed -n '2,12s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift ;;
	--prefix=*) prefix=${1#--prefix=} ;;
	--destdir) destdir=$2; shift ;;
	--destdir=*) destdir=${1#--destdir=} ;;
	--force) force=1 ;;
	--uninstall) uninstall=1 ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
	shift
done

bin=$destdir$prefix/sbin/xl
man1=$destdir$prefix/share/man/man1/xl-scsi.1
man5=$destdir$prefix/share/man/man5/xl-vscsi.cfg.5
real=${XL_REAL:-/usr/lib/xen-4.17/bin/xl}

# Ours if the binary carries the front's own self-exec guard message.
is_front() { grep -q "is this front itself, not Xen's xl" "$1" 2>/dev/null; }

if [ "$uninstall" = 1 ]; then
	if [ -e "$bin" ] && ! is_front "$bin"; then
		echo "install.sh: $bin is not the xl front; left alone" >&2
		exit 1
	fi
	rm -f "$bin" "$man1" "$man5"
	echo "removed $bin and the man pages"
	exit 0
fi

src=$repo/build/rel/xl-pvscsi
[ -x "$src" ] || { echo "install.sh: $src missing: run make first" >&2; exit 1; }
if [ -z "$destdir" ]; then
	[ -x "$real" ] || {
		echo "install.sh: Xen's xl not found at $real (install xen-utils-4.17, or set XL_REAL)" >&2
		exit 1
	}
	case $(readlink -f "$real") in
	"$(readlink -f "$bin" 2>/dev/null || echo /nonexistent)")
		echo "install.sh: $bin is Xen's xl itself; refusing to replace it" >&2
		exit 1
		;;
	esac
fi
if [ -e "$bin" ] && ! is_front "$bin" && [ "$force" != 1 ]; then
	echo "install.sh: $bin exists and is not the xl front (use --force to replace it)" >&2
	exit 1
fi

install -D -m 0755 "$src" "$bin.new"
mv -f "$bin.new" "$bin"
install -D -m 0644 "$repo/docs/xl-scsi.1" "$man1"
install -D -m 0644 "$repo/docs/xl-vscsi.cfg.5" "$man5"
echo "installed $bin (Xen's xl: $real) and the man pages xl-scsi(1), xl-vscsi.cfg(5)"

if [ -z "$destdir" ]; then
	# The front only works if it is found first.
	found=$(PATH=${PATH:-/usr/sbin:/usr/bin:/sbin:/bin} command -v xl || true)
	if [ "$found" != "$prefix/sbin/xl" ]; then
		echo "install.sh: warning: 'xl' in this PATH is $found; put $prefix/sbin before /usr/sbin" >&2
	fi
fi
