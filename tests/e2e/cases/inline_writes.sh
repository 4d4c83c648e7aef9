# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# inline_writes: file LUNs with writes=inline, whose buffered writes
# pvscsid's event loop makes itself (pwritev2) rather than io_uring's io-wq:
# ext4 with 1 KiB blocks (the shape that lost writes behind xen-scsifront,
# docs/compat.md) on one, fio write+verify with sub-page blocks from
# sub-page buffers, sequential and random at QD 16, on the other.  pvscsid
# only: the kernel backend has no such option.
TIMEOUT=600
BACKENDS="pvscsid"

dom0() {
	lun_file iw0 64M ",writes=inline"
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	lun_file iw1 64M ",writes=inline"
	vscsi_attach "$DOMID" 0 1 "$PDEV" 0:0:1:0
	guest_start
	guest_wait_mark luns-done 540
	# pvscsid serves both as asked: the option is in each LUN's spec.
	"$(dirname "$PVSCSID")/pvscsictl" --socket /run/pvscsid/control stats --json \
		>"$CASEOUT/stats.json" || fail "pvscsictl stats --json failed"
	n=$(grep -o 'iw[01]\.img,writes=inline' "$CASEOUT/stats.json" | sort -u | wc -l)
	[ "$n" = 2 ] || fail "stats: $n of 2 LUNs with writes=inline ($(head -c 600 "$CASEOUT/stats.json"))"
	say "stats: both LUNs served with writes=inline"
	lun_mem 1M
	vscsi_hot_add "$DOMID" 0 2 "$PDEV" 0:0:2:0
}

guest() {
	wait_lun 0:0:0
	wait_lun 0:1:0
	ext4_roundtrip "$(sd_of 0:0:0)" 1024
	sd=$(sd_of 0:1:0)
	fio_verify "$sd" --size=24M --rw=write --bssplit=$SUBPAGE_BS --mem_align=1536
	fio_verify "$sd" --size=24M --rw=randwrite --bssplit=$SUBPAGE_BS --mem_align=1024
	mark luns-done
	wait_lun 0:2:0 300
}
