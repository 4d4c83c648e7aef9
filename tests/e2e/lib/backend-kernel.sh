# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The reference backend: Linux xen-scsiback with LIO (xen-under-qemu.md).
# Every LUN is exported by one target, $LIO_WWN, tpgt_1, as lun_N; its p-dev
# for xen-scsiback is "$LIO_WWN:N".  Sourced by run-case.sh.

LIO=/sys/kernel/config/target
LIO_WWN=naa.5001405000000001
LIO_NEXUS=naa.5001405000000002
LIO_TPG=$LIO/xen-pvscsi/$LIO_WWN/tpgt_1
LIO_NEXT_LUN=0

backend_start() {
	modprobe -a target_core_mod target_core_file target_core_pscsi xen-scsiback
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	# A previous case may have died half-way: start from nothing.
	lio_teardown
	mkdir -p "$LIO_TPG"
	echo "$LIO_NEXUS" >"$LIO_TPG/nexus"
	say "xen-scsiback + LIO ready ($LIO_WWN)"
}

backend_check() { :; }
backend_stop() { lio_teardown; }
backend_collect() { :; }

# Export the LIO backstore directory $1 as the next LUN; sets PDEV.
lio_export() {
	local n=$LIO_NEXT_LUN serial
	# An emulated backstore (not pscsi) reports its VPD pages (0x80, 0x83...)
	# only once it has a unit serial; targetcli sets one the same way.
	case $1 in */pscsi_*) ;; *)
		serial=$(echo "$1" | sha256sum | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/')
		echo "$serial" >"$1/wwn/vpd_unit_serial"
		;;
	esac
	mkdir "$LIO_TPG/lun/lun_$n"
	ln -s "$1" "$LIO_TPG/lun/lun_$n/port0"
	LIO_NEXT_LUN=$((n + 1))
	PDEV=$LIO_WWN:$n
}

# lun_file NAME SIZE [OPTS]: fileio backstore on /var/tmp/e2e/NAME.img.
# OPTS (pvscsid syntax, e.g. ",bs=4096"): bs= sets LIO's block_size.
lun_file() {
	local name=$1 size=$2 opts=${3:-} img=/var/tmp/e2e/$1.img d bs
	mkdir -p /var/tmp/e2e
	rm -f "$img"
	truncate -s "$size" "$img"
	d=$LIO/core/fileio_0/$name
	mkdir -p "$d"
	echo "fd_dev_name=$img,fd_dev_size=$(stat -c %s "$img")" >"$d/control"
	echo 1 >"$d/enable"
	bs=$(echo "$opts" | sed -n 's/.*bs=\([0-9]*\).*/\1/p')
	[ -z "$bs" ] || echo "$bs" >"$d/attrib/block_size"
	lio_export "$d"
	say "fileio LUN $name ($size) -> $PDEV"
}

# lun_mem SIZE: an LIO ramdisk (rd_mcp).
lun_mem() {
	local bytes d
	bytes=$(numfmt --from=iec "$1")
	d=$LIO/core/rd_mcp_0/mem$LIO_NEXT_LUN
	mkdir -p "$d"
	echo "rd_pages=$((bytes / 4096))" >"$d/control"
	echo 1 >"$d/enable"
	lio_export "$d"
	say "ramdisk LUN ($1) -> $PDEV"
}

# lio_pscsi NAME H:C:T:L UDEV_PATH: a pscsi backstore on that dom0 SCSI
# device, exported as the next LUN; sets PDEV.  pscsi claims a disk (TYPE_DISK,
# TYPE_ZBC) exclusively through its block device node, UDEV_PATH; any other
# type (tape, changer, CD) it takes by H:C:T:L alone, but it still refuses to
# enable without a udev_path (target_core_pscsi.c, pscsi_configure_device),
# which then only names the device: give its sg node.
lio_pscsi() {
	local d=$LIO/core/pscsi_0/$1 h c t l
	IFS=: read -r h c t l <<<"$2"
	mkdir -p "$d"
	echo "scsi_host_id=$h,scsi_channel_id=$c,scsi_target_id=$t,scsi_lun_id=$l" >"$d/control"
	echo "$3" >"$d/udev_path"
	echo 1 >"$d/enable"
	lio_export "$d"
}

# lun_sdebug [FORM]: pscsi on dom0's scsi_debug disk (FORM is for pvscsid).
lun_sdebug() {
	local hctl
	sdebug_load
	hctl=$(sdebug_hctl)
	lio_pscsi sdebug "$hctl" "/dev/$(sdebug_sd)"
	say "pscsi LUN on scsi_debug $hctl -> $PDEV"
}

# lun_tape, lun_changer: pscsi on the tape drive / medium changer of dom0's
# tape library (vtl_start, lib/devtype.sh); lun_cdrom: on dom0's CD drive
# (cdrom_start).  LIO has no read-only LUN for xen-scsiback's nexus: the ro
# cases are pvscsid's.
lun_tape() { lun_pscsi_dev tape "$(vtl_hctl tape)" "${1:-}"; }
lun_changer() { lun_pscsi_dev changer "$(vtl_hctl changer)" "${1:-}"; }
lun_cdrom() { lun_pscsi_dev cdrom "$(cdrom_hctl)" "${1:-}"; }
lun_pscsi_dev() {
	[ -n "$2" ] || fail "lun_$1: no $1 in dom0 (vtl_start or cdrom_start first)"
	[ -z "$3" ] || fail "lun_$1 $3: the kernel backend has no options for pscsi LUNs"
	lio_pscsi "$1" "$2" "/dev/$(hctl_sg "$2")"
	say "pscsi LUN on the $1 $2 (/dev/$(hctl_sg "$2")) -> $PDEV"
}

# Remove every LIO object this backend may have made; safe to call twice.
lio_teardown() {
	local l d try
	[ -d "$LIO/core" ] || return 0
	if [ -d "$LIO_TPG" ]; then
		for l in "$LIO_TPG"/lun/lun_*; do
			[ -d "$l" ] || continue
			rm -f "$l"/port0
			rmdir "$l"
		done
		# The nexus goes once xen-scsiback has let go of the guest's vhost.
		for try in $(seq 20); do
			[ -z "$(cat "$LIO_TPG/nexus" 2>/dev/null)" ] && break
			echo NULL >"$LIO_TPG/nexus" 2>/dev/null && break
			sleep 0.5
		done
		rmdir "$LIO_TPG" "$(dirname "$LIO_TPG")"
	fi
	for d in "$LIO"/core/fileio_*/* "$LIO"/core/pscsi_*/* "$LIO"/core/rd_mcp_*/*; do
		[ -d "$d" ] && [ "$(basename "$d")" != alua ] && [ "$(basename "$d")" != action ] &&
			rmdir "$d"
	done
	for d in "$LIO"/core/fileio_* "$LIO"/core/pscsi_* "$LIO"/core/rd_mcp_*; do
		[ -d "$d" ] && rmdir "$d"
	done
	rm -f /var/tmp/e2e/*.img
	LIO_NEXT_LUN=0
}
