# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# demo: what `make demo` shows: a 128 MiB file-backed disk and dom0's
# scsi_debug disk attached to a PV guest; the guest lists them, asks them
# INQUIRY and READ CAPACITY, and writes a filesystem it reads back.
# Not in the default run: `make demo` runs it to show, and every step it
# shows is checked in the default run already (basic: the file and
# scsi_debug LUNs, INQUIRY, READ CAPACITY; xl_attach: xl scsi-attach; ext4:
# a filesystem written and read back).
DEFAULT=no
TIMEOUT=400

# pvscsid: attach with the project's `xl scsi-attach` (the xl front, installed
# in dom0's tmpfs /usr/local/sbin).  The kernel backend fallback has no
# toolstack of ours, so it writes the xenstore nodes itself.
demo_attach() {
	if [ "$BACKEND" = pvscsid ]; then
		say "demo: xl scsi-attach $GUEST $PDEV $1"
		xl scsi-attach "$GUEST" "$PDEV" "$1" || fail "xl scsi-attach $GUEST $PDEV $1 failed"
	else
		vscsi_attach "$DOMID" 0 "$2" "$PDEV" "$1"
	fi
}

demo_list() {
	local line
	[ "$BACKEND" = pvscsid ] || return 0
	say "demo: xl scsi-list $GUEST ($1):"
	xl scsi-list "$GUEST" | while IFS= read -r line; do say "    $line"; done
}

dom0() {
	[ "$BACKEND" != pvscsid ] || xl_front_install
	say "demo: a file-backed disk (128 MiB) for the guest at 0:0:0:0"
	lun_file demo-disk 128M
	demo_attach 0:0:0:0 0
	say "demo: dom0's scsi_debug disk for the guest at 0:0:1:0"
	lun_sdebug sg
	demo_attach 0:0:1:0 1
	say "demo: backend nodes: $(xenstore-ls -f "$XS_BE_ROOT/$DOMID" | grep -E 'p-dev|v-dev' | sed 's|.*/vscsi-devs/||' | tr '\n' ' ')"
	demo_list "before the guest runs"
	guest_start
	guest_wait_mark seen 240
	demo_list "with the guest's frontend connected"
	say "demo: the guest sees its disks; now a filesystem"
	guest_wait_mark fs-done 300
	say "demo: filesystem written and read back"
}

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	mark seen
	show lsscsi -g
	show sg_inq "$(sg_of 0:0:0)"
	show sg_readcap "$(sg_of 0:0:0)"
	show sg_inq "$(sg_of 0:1:0)"
	show sg_readcap "$(sg_of 0:1:0)"
	sd=$(sd_of 0:0:0)
	run mkfs.ext4 -q -F -b 4096 -L demo "$sd"
	mkdir -p /mnt
	run mount "$sd" /mnt
	echo "hello from a Xen PV guest over vscsiif" >/mnt/hello.txt
	dd if=/dev/urandom of=/mnt/random.bin bs=1M count=16 2>/dev/null
	(cd /mnt && sha256sum hello.txt random.bin) >/tmp/sums
	run umount /mnt
	echo 3 >/proc/sys/vm/drop_caches
	run mount -o ro "$sd" /mnt
	(cd /mnt && sha256sum -c /tmp/sums) || fail "the files read back differ"
	show cat /mnt/hello.txt
	show df -h /mnt
	run umount /mnt
	show echo "filesystem on $sd written, remounted and read back: checksums match"
	mark fs-done
}
