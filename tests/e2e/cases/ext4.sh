# shellcheck shell=sh
# ext4: a filesystem on a file LUN: mkfs.ext4, mount, write files, umount,
# e2fsck -fn finds it clean, mount again and every file reads back the same.
TIMEOUT=400

dom0() {
	lun_file fs0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
}

guest() {
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	run mkfs.ext4 -q -F -b 4096 -E nodiscard "$sd"
	mkdir -p /mnt
	run mount -t ext4 "$sd" /mnt
	# A mix of sizes: many small files, a few large ones, a directory tree.
	mkdir -p /mnt/small /mnt/deep/a/b/c
	i=0
	while [ $i -lt 100 ]; do
		dd if=/dev/urandom of=/mnt/small/f$i bs=1k count=$((i % 13 + 1)) 2>/dev/null
		i=$((i + 1))
	done
	for n in 1 2 3; do
		dd if=/dev/urandom of=/mnt/deep/a/b/c/big$n bs=1M count=8 2>/dev/null
	done
	(cd /mnt && find . -type f | sort | xargs sha256sum) >/tmp/sums
	echo "wrote $(wc -l </tmp/sums) files, $(du -sk /mnt | cut -f1) KiB"
	run umount /mnt
	# Read back from the backend, not from the guest's page cache.
	sync
	echo 3 >/proc/sys/vm/drop_caches
	blockdev --flushbufs "$sd"
	# -f: check even though clean; -n: read-only, answer no.  Status 0 = clean.
	show e2fsck -fn "$sd"
	run mount -t ext4 -o ro "$sd" /mnt
	if ! (cd /mnt && sha256sum -c /tmp/sums >/tmp/check 2>&1); then
		grep -v ': OK$' /tmp/check | head -n 20
		fail "$(grep -vc ': OK$' /tmp/check) of $(wc -l </tmp/sums) files read back differ after remount"
	fi
	echo "all $(wc -l </tmp/sums) files read back intact"
	run umount /mnt
}
