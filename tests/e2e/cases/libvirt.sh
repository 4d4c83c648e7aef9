# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# libvirt: a libvirt-managed guest (libvirtd 9.0, libxl driver, in dom0) gets its LUNs from the pvscsi hook: a <hostdev type='scsi'> and a <metadata> device at virsh start, again after virsh save, a scsi_debug host number change and virsh restore; a bad device fails virsh start with the hook's line; nothing is left in xenstore after virsh save, the guest's poweroff and virsh destroy.
#
# libvirtd runs from Debian's packages unpacked on the build machine
# (tests/e2e/run.sh: fetch_libvirt), copied into dom0's tmpfs root, with
# only the libxl driver loaded (docs/plans/libvirt.md sections 5 and 8).
# xl-plugin/install.sh installs the hook because /etc/libvirt/hooks exists.
#
# The guest has two LUNs:
#   0:0:0:0  scsi_debug, in pvscsi's <metadata> element by its identity
#            (naa., vpd_use_hostno=0 as in xl_restore), so that it is found
#            again after the reload that changes its host number;
#   0:0:1:0  dom0's CD drive as libvirt's own <hostdev type='scsi'>, by
#            adapter name='scsi_hostN', the only adapter form libvirt's
#            parser takes (its host number stays: virtio_scsi is not reloaded).
# The restore is done --paused then resumed (docs/libvirt.md: libvirt runs
# the started hook only after it unpaused a plain restore).
#
# Not covered here (unit tests only, tests/unit/xl_libvirt_ut.c): a device
# refused at started rather than prepare (it takes a LUN that disappears
# between the two), reconnect after a libvirtd restart, and migration (no
# localhost migration in libvirt, no log-dirty under TCG).  Not covered at
# all: a restore without --paused (the guest runs before the hook attaches:
# docs/libvirt.md; the "hold" of docs/plans/libvirt.md 7.2 is not built).
BACKENDS="pvscsid"
TIMEOUT=900
# dom0_after follows libvirt through the guest's own poweroff.
GUEST_POWEROFF=self

LV_NS=https://github.com/pvscsi/pvscsi/libvirt/1
LV_PID=/run/e2e-libvirtd.pid

# Bounded: a libvirtd that hangs must not hang the case past its timeout's report.
lv() { timeout 300 virsh -q -c xen:///system "$@"; }

libvirt_up() {
	local tree=$REPO/build/e2e/libvirt drv=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver
	[ -x "$tree/usr/sbin/libvirtd" ] || fail "no libvirt in $tree (tests/e2e/run.sh fetch_libvirt)"
	# Into the tmpfs root: libvirtd, virsh and their files at their usual paths.
	(cd "$tree" && tar cf - usr etc 2>/dev/null) | (cd / && tar xf -) || fail "cannot copy libvirt into dom0"
	# libvirt names the host CPU after the newest model of its cpu_map whose every
	# feature the CPU has; QEMU's qemu64 (tests/lib/qemu.sh) lacks vme, which even
	# the smallest model (486: fpu, pse, vme) wants, and the libxl driver then
	# refuses to start ("Cannot find suitable CPU model").  A 486 without vme, in
	# dom0's copy only.
	sed -i "/<feature name='vme'\/>/d" /usr/share/libvirt/cpu_map/x86_486.xml
	mkdir -p /etc/libvirt/hooks /var/log/libvirt /run/e2e-lvdrv
	ln -sf "$drv/libvirt_driver_libxl.so" /run/e2e-lvdrv/
	# The front, and (since /etc/libvirt/hooks exists) the hook, before libvirtd looks for it.
	xl_front_install
	[ -x /etc/libvirt/hooks/libxl.d/50-pvscsi ] || fail "install.sh did not install the libvirt hook"
	# In the foreground (in the background of this shell): its exit status and stderr are kept.
	(
		trap - ERR
		set +eE
		LIBVIRT_DRIVER_DIR=/run/e2e-lvdrv \
			LIBVIRT_LOG_OUTPUTS="1:file:/var/log/libvirt/libvirtd.log 3:stderr" \
			LIBVIRT_LOG_FILTERS="1:libxl 1:util.hook 1:util.command 1:daemon 3:*" \
			libvirtd --pid-file=$LV_PID </dev/null >/var/log/libvirt/libvirtd.stderr 2>&1
		echo "libvirtd exited with status $?" >>/var/log/libvirt/libvirtd.stderr
	) &
	wait_for "libvirtd" 120 lv_ready ||
		fail "libvirtd does not answer: $(grep -E ' (error|warning) |exited' /var/log/libvirt/libvirtd.stderr /var/log/libvirt/libvirtd.log 2>/dev/null | tail -n 3 | tr '\n' ' ')"
	say "libvirtd up: $(lv version | grep -i 'running hypervisor' | tr -s ' ')"
}

# libvirtd answers; a libvirtd that has exited never will.
lv_ready() {
	if grep -q "^libvirtd exited" /var/log/libvirt/libvirtd.stderr 2>/dev/null; then
		mkdir -p "$CASEOUT/libvirt"
		cp -r /var/log/libvirt/. "$CASEOUT/libvirt/"
		fail "libvirtd exited: $(grep -E ' (error|warning) |exited' /var/log/libvirt/libvirtd.stderr /var/log/libvirt/libvirtd.log | tail -n 3 | tr '\n' ' ')"
	fi
	timeout 20 virsh -q -c xen:///system version >/dev/null 2>&1
}

libvirt_down() {
	local pid
	if [ -s $LV_PID ]; then
		pid=$(cat $LV_PID)
		kill "$pid" 2>/dev/null
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		rm -f $LV_PID
	fi
	mkdir -p "$CASEOUT/libvirt"
	cp -r /var/log/libvirt/. "$CASEOUT/libvirt/" 2>/dev/null
	return 0
}

case_cleanup() {
	# virsh destroy runs the stopped and release hooks before it returns.
	lv destroy "$GUEST" >/dev/null 2>&1
	lv undefine "$GUEST" >/dev/null 2>&1
	libvirt_down
	cdrom_stop
}

# scsi_debug with a host-independent identity; "moved": back on another host number.
lv_sdebug_load() {
	local hosts=1 d
	[ "${1:-}" = moved ] && hosts=2
	for _ in $(seq 40); do
		[ -d /sys/module/scsi_debug ] || break
		rmmod scsi_debug 2>/dev/null && break
		sleep 0.5
	done
	[ -d /sys/module/scsi_debug ] && fail "scsi_debug stays in use (held by pvscsid?)"
	modprobe -a sd_mod sg
	modprobe scsi_debug dev_size_mb=64 vpd_use_hostno=0 add_host=$hosts || fail "modprobe scsi_debug failed"
	wait_for "scsi_debug disk" 20 sdebug_hctl_quiet || fail "scsi_debug disk did not appear"
	if [ "$hosts" = 2 ]; then
		wait_for "second scsi_debug host" 20 eval \
			'[ "$(ls -d /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/[0-9]*:* | wc -l)" = 2 ]' ||
			fail "scsi_debug did not make two disks"
		d=$(sdebug_hctl)
		echo 1 >"/sys/class/scsi_device/$d/device/delete"
		wait_for "disk $d gone" 20 eval "[ ! -e /sys/class/scsi_device/$d ]" || fail "cannot delete $d"
	fi
	wait_for "scsi_debug sd" 20 eval '[ -b "/dev/$(sdebug_sd)" ]' || fail "no sd node for scsi_debug"
}

# The first of domain $1's nodes still in xenstore (pvscsi's backend, its
# frontend, the toolstack's record), or nothing.
lv_left() {
	local p
	for p in "$XS_BE_ROOT/$1" "/local/domain/$1/device/vscsi" "/libxl/$1/device/vscsi"; do
		xenstore-exists "$p" 2>/dev/null && echo "$p" && return 0
	done
	return 0
}
lv_gone() { [ -z "$(lv_left "$1")" ]; }

# Nothing of domain $1 left in xenstore ($2: after what).
lv_nothing_left() {
	local p
	p=$(lv_left "$1")
	if [ -n "$p" ]; then
		xenstore-ls -f "$p" >>"$CASEOUT/xenstore.txt" 2>&1
		fail "$2: $p is still in xenstore"
	fi
}

# The domain XML: $1 name, $2 the scsi_debug identity, $3 the CD drive's hostdev source.
lv_xml() {
	cat <<EOT
<domain type='xen'>
  <name>$1</name>
  <memory unit='MiB'>384</memory>
  <vcpu>1</vcpu>
  <metadata>
    <pvscsi:scsi xmlns:pvscsi='$LV_NS'>
      <pvscsi:vscsi>$2,0:0:0:0</pvscsi:vscsi>
    </pvscsi:scsi>
  </metadata>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$GUEST_RAMDISK</initrd>
    <cmdline>console=hvc0 loglevel=4 e2e.case=$CASE e2e.backend=$BACKEND</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <console type='pty'><target type='xen' port='0'/></console>
    <hostdev mode='subsystem' type='scsi'>
      <source>$3</source>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='1' unit='0'/>
    </hostdev>
  </devices>
</domain>
EOT
}

dom0() {
	local h1 h2 wwid cd src img=/var/tmp/e2e/lv.save disk=/var/tmp/e2e/lv-sdebug.img pdev old
	libvirt_up
	cdrom_start
	# libvirt's parser takes only <adapter name='scsi_hostN'/> in <devices>
	# (it refuses a hostdev without name=): the CD drive's host number, which
	# stays as it is while virtio_scsi stays loaded.
	cd=$(cdrom_hctl)
	src="<adapter name='scsi_host${cd%%:*}'/><address bus='$(echo "$cd" | cut -d: -f2)' target='$(echo "$cd" | cut -d: -f3)' unit='$(echo "$cd" | cut -d: -f4)'/>"
	lv_sdebug_load
	h1=$(sdebug_hctl)
	wwid=$(cat "/sys/class/scsi_device/$h1/device/wwid")
	case $wwid in naa.*) ;; *) fail "scsi_debug's wwid is '$wwid', not naa." ;; esac
	say "scsi_debug $h1 is $wwid; the CD drive is $cd"

	# A device that is not there: virsh start fails with the hook's line, no domain is left.
	lv_xml e2e-lv-bad "naa.6001405999999999999999999999999f" "$src" | sed 's/e2e.case=[^ <]*/e2e.case=none/' >"$CASEOUT/bad.xml"
	lv define "$CASEOUT/bad.xml" >&2 || fail "virsh define of bad.xml failed"
	if lv start e2e-lv-bad 2>"$CASEOUT/bad.err"; then
		fail "virsh start accepted a LUN that does not exist"
	fi
	say "refused: $(grep -v '^+' "$CASEOUT/bad.err" | tr '\n' ' ')"
	grep -q "Hook script execution failed" "$CASEOUT/bad.err" || fail "the error is not the hook's: $(cat "$CASEOUT/bad.err")"
	grep -q "pvscsi: e2e-lv-bad: prepare: domain XML:[0-9]*: <vscsi>: " "$CASEOUT/bad.err" ||
		fail "the error does not name the device: $(cat "$CASEOUT/bad.err")"
	xl domid e2e-lv-bad >/dev/null 2>&1 && fail "a domain e2e-lv-bad was left behind"
	lv undefine e2e-lv-bad >&2

	# The harness made the guest with xl: make it again with libvirt.
	xl destroy "$GUEST"
	lv_xml "$GUEST" "$wwid" "$src" >"$CASEOUT/guest.xml"
	lv define "$CASEOUT/guest.xml" >&2 || fail "virsh define failed"
	lv dumpxml "$GUEST" >"$CASEOUT/defined.xml"
	# libvirt's libxl driver keeps both carriers (docs/plans/libvirt.md section 2 and 4).
	grep -q "<hostdev mode='subsystem' type='scsi'" "$CASEOUT/defined.xml" || fail "libvirt dropped the SCSI hostdev"
	grep -q "$LV_NS" "$CASEOUT/defined.xml" || fail "libvirt dropped pvscsi's metadata"
	rm -f "$(console_log)"
	lv start "$GUEST" 2>"$CASEOUT/start.err" >&2 || fail "virsh start failed: $(cat "$CASEOUT/start.err")"
	DOMID=$(domid_of "$GUEST")
	say "virsh start: domid $DOMID"
	xl scsi-list "$GUEST" | tee "$CASEOUT/scsi-list.txt" >&2
	[ "$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev" 2>/dev/null)" = "$h1" ] ||
		[ "$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-1/p-dev" 2>/dev/null)" = "$h1" ] ||
		fail "scsi_debug $h1 is not attached: $(xenstore-ls -f "$XS_BE_ROOT/$DOMID" 2>&1 | grep p-dev | tr '\n' ' ')"
	guest_wait_mark written 400

	# Save: libvirt destroys the domain; the release hook leaves nothing behind.
	old=$DOMID
	lv save "$GUEST" "$img" >&2 || fail "virsh save failed"
	lv_nothing_left "$old" "after virsh save"
	say "saved; domain $old left nothing in xenstore; scsi_debug was $h1"
	dd if="/dev/$(sdebug_sd)" of="$disk" bs=1M status=none || fail "cannot copy the scsi_debug disk"
	lv_sdebug_load moved
	h2=$(sdebug_hctl)
	[ "${h1%%:*}" != "${h2%%:*}" ] || fail "scsi_debug kept host number ${h1%%:*}"
	dd if="$disk" of="/dev/$(sdebug_sd)" bs=1M conv=fsync status=none || fail "cannot copy the disk back"
	say "scsi_debug is now $h2"

	lv restore --paused "$img" 2>"$CASEOUT/restore.err" >&2 || fail "virsh restore failed: $(cat "$CASEOUT/restore.err")"
	DOMID=$(domid_of "$GUEST")
	pdev=$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-0/p-dev" 2>/dev/null || true)
	[ "$pdev" = "$h2" ] || pdev=$(xenstore-read "$XS_BE_ROOT/$DOMID/0/vscsi-devs/dev-1/p-dev" 2>/dev/null || true)
	say "restored paused as domid $DOMID, scsi_debug's p-dev is $pdev"
	[ "$pdev" = "$h2" ] || fail "scsi_debug's p-dev is $pdev, the disk is at $h2"
	lv resume "$GUEST" >&2 || fail "virsh resume failed"
	xl scsi-list "$GUEST" >&2
	# The sign for the guest that it runs again.
	xl scsi-attach "$GUEST" mem:4M 0:0:5:0 >&2 || fail "the hot add after the restore failed"
	rm -f "$img" "$disk"
	return 0
}

dom0_after() {
	local id=$DOMID
	# The guest powered itself off at its end: libvirt ran stopped and release
	# on the death event, after virsh had returned.
	wait_for "libvirt to see the guest shut off" 60 eval '[ "$(lv domstate "$GUEST" 2>/dev/null)" = "shut off" ]' ||
		fail "the guest is '$(lv domstate "$GUEST" 2>&1)' after its poweroff"
	wait_for "domain $id's nodes gone" 30 lv_gone "$id" || lv_nothing_left "$id" "after the guest's poweroff"
	say "guest poweroff: domain $id left nothing in xenstore"
	# virsh destroy of a running guest (started again: it boots meanwhile).
	lv start "$GUEST" >&2 || fail "virsh start (again) failed"
	id=$(domid_of "$GUEST")
	xenstore-exists "$XS_BE_ROOT/$id" || fail "virsh start (again): nothing attached to domain $id"
	lv destroy "$GUEST" >&2 || fail "virsh destroy failed"
	lv_nothing_left "$id" "after virsh destroy"
	say "virsh destroy: domain $id left nothing in xenstore"
	[ -z "$(ls /run/pvscsi-libvirt.* 2>/dev/null)" ] || fail "the hook's record is left: $(ls /run/pvscsi-libvirt.*)"
}

guest() {
	wait_lun 0:0:0 240
	wait_dev 0:1:0 cdrom
	show lsscsi -g
	pattern_write 0:0:0
	sr=$(dev_of 0:1:0 cdrom)
	dd if="$sr" of=/tmp/cd1 bs=2048 count=64 2>/dev/null || fail "cannot read the CD drive"
	mark written
	# Saved and restored meanwhile; dom0 then adds 0:5:0.
	wait_lun 0:5:0 600
	pattern_check "after the restore" 0:0:0
	dd if="$sr" of=/tmp/cd2 bs=2048 count=64 2>/dev/null || fail "cannot read the CD drive after the restore"
	cmp -s /tmp/cd1 /tmp/cd2 || fail "the CD drive reads differently after the restore"
	echo "the CD drive reads the same after the restore"
}
