#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real SCSI passthrough without touching the host: boot the e2e Debian
# kernel (tests/e2e/lib/assets.sh) under QEMU with a throw-away initramfs,
# load scsi_debug + sg there, and run build/asan/tests/passthrough_ut (its
# "sg real device" suite runs only when a scsi_debug sg node exists) and
# pvscsi-cdb against /dev/sg0.
#
# usage: tests/tool/sg-scsi-debug-vm.sh     (after make build/asan/tests/passthrough_ut
#                                             build/asan/pvscsi-cdb and the e2e assets)
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
env=build/e2e/assets.env
[ -s "$env" ] || {
	echo "no $env: run tests/e2e/lib/assets.sh first" >&2
	exit 1
}
# shellcheck disable=SC1090
. "./$env"
ut=build/asan/tests/passthrough_ut
tool=build/asan/pvscsi-cdb
for f in "$ut" "$tool" "$KERNEL"; do
	[ -e "$f" ] || {
		echo "missing $f" >&2
		exit 1
	}
done

work=$(mktemp -d /var/tmp/pvscsi-sgvm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/mods" "$root/proc" "$root/sys" "$root/dev" "$root/var/tmp"
cp /usr/bin/busybox "$root/bin/"
for a in sh mount insmod sleep poweroff echo mkdir cat; do ln -s busybox "$root/bin/$a"; done
for m in drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/scsi/sg crypto/crct10dif_common \
	crypto/crct10dif_generic lib/crc-t10dif drivers/scsi/scsi_debug; do
	cp "$MODDIR/kernel/$m.ko" "$root/mods/"
done
cp "$ut" "$tool" "$root/bin/"
for l in $(ldd "$ut" "$tool" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done

cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /var/tmp
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
for m in scsi_common scsi_mod sg crct10dif_common crct10dif_generic crc-t10dif scsi_debug; do
	insmod /mods/$m.ko
done
sleep 1
rc=0
ASAN_OPTIONS=detect_leaks=1 /bin/passthrough_ut || rc=1
# The filter answers FORMAT UNIT itself; INQUIRY comes from the device.
out=$(/bin/pvscsi-cdb --lun sg:/dev/sg0 --in 8 04 00 00 00 00 00)
echo "$out"
case "$out" in
*'"sense":"700005000000000a00000000200000c00000"'*) ;;
*) rc=1 ;;
esac
out=$(/bin/pvscsi-cdb --lun sg:/dev/sg0 --in 36 12 00 00 00 24 00)
echo "$out"
case "$out" in
*'"status":0,'*'"data":"0000'*'4c696e7578202020736373695f6465627567'*'"residual":0}') ;;
*) rc=1 ;;
esac
echo "SGVM RESULT rc=$rc"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz"

timeout -k 10 600 qemu-system-x86_64 -accel tcg -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt \
	-m 1024 -smp 2 -nographic -no-reboot -kernel "$KERNEL" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" >"$work/console.log" 2>&1 || true
grep -E 'Test:|passed|FAILED|asserts|status|SGVM' "$work/console.log" | tr -d '\r'
grep -q 'SGVM RESULT rc=0' "$work/console.log"
