# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Bring up dom0's Xen control plane (xen-under-qemu.md, "dom0 initramfs"
# steps 3-4): ptys, xenfs, the Xen device modules, xenstored, xen-init-dom0,
# xenconsoled.  Sourced by dom0-main.sh and demo-dom0.sh (bash, in dom0).
# Needs KVER, MODDIR.  dom0_env_up returns 1 with DOM0_ENV_ERROR set.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '[dom0 %s] %s\n' "$(date +%T)" "$*"; }

# busybox (lib/dom0-init runs the cases itself) or systemd (the systemd
# flavour: lib/dom0-systemd.sh).
DOM0_INIT=busybox
[ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] || DOM0_INIT=systemd

DOM0_ENV_ERROR=
env_err() {
	DOM0_ENV_ERROR=$*
	return 1
}

dom0_env_up() {
	local n
	say "dom0 up ($DOM0_INIT as init): kernel $(uname -r), $(nproc) vcpus, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
	# xenconsoled needs ptys, else `xl create` times out on "console tty".
	mkdir -p /dev/pts /dev/shm
	# devtmpfs has no /dev/fd: bash's process substitution wants it.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	if [ "$DOM0_INIT" = systemd ]; then
		# systemd mounted /dev/pts and /run; a tmpfs over /run would hide its own.
		mountpoint -q /dev/pts || env_err "systemd did not mount /dev/pts" || return 1
		systemctl is-active --quiet xen.service ||
			env_err "xen.service is not active: $(systemctl status --no-pager xen.service 2>&1 | tail -n 3 | tr '\n' ' ')" ||
			return 1
	else
		mount -t devpts devpts /dev/pts -o gid=5,mode=620,ptmxmode=666 || env_err "mount devpts" || return 1
		mount -t tmpfs tmpfs /run
		[ -L /var/run ] || mount -t tmpfs tmpfs /var/run
	fi
	mkdir -p /run/lock /var/run/xen /var/run/xenstored /var/lib/xen /var/log/xen /var/tmp/e2e /tmp
	# Let modprobe find the unpacked modules of the kernel we run.
	mkdir -p /lib/modules
	rm -rf "/lib/modules/$KVER"
	ln -s "$MODDIR" "/lib/modules/$KVER"
	modprobe configfs || env_err "modprobe configfs" || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	modprobe -a xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs || env_err "modprobe xen modules" || return 1
	mountpoint -q /proc/xen || mount -t xenfs xenfs /proc/xen || env_err "mount xenfs" || return 1
	for n in evtchn gntdev privcmd xenbus; do
		[ -e "/dev/xen/$n" ] || env_err "/dev/xen/$n missing" || return 1
	done

	local xb=/usr/lib/xen-4.17/bin
	# Under systemd, Debian's /etc/init.d/xen (xen.service) started them.
	if [ "$DOM0_INIT" != systemd ]; then
		"$xb/xenstored" --pid-file /run/xenstored.pid || env_err "xenstored did not start" || return 1
		for _ in $(seq 50); do
			xenstore-exists / 2>/dev/null && break
			sleep 0.2
		done
		xenstore-exists / || env_err "xenstored not answering" || return 1
		"$xb/xen-init-dom0" >/dev/null || env_err "xen-init-dom0 failed" || return 1
		"$xb/xenconsoled" --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen ||
			env_err "xenconsoled did not start" || return 1
	fi
	xenstore-exists / || env_err "xenstored not answering" || return 1
	pidof xenconsoled >/dev/null || env_err "xenconsoled is not running" || return 1
	xl list >/dev/null || env_err "xl list failed" || return 1
	# The guest kernel and initramfs, in RAM (dom0-init bound them here).
	GUEST_KERNEL=/var/lib/e2e/vmlinux
	GUEST_RAMDISK=/var/lib/e2e/domU-initramfs.cpio
	[ -s "$GUEST_KERNEL" ] && [ -s "$GUEST_RAMDISK" ] || env_err "no guest images in /var/lib/e2e" || return 1
	export GUEST_KERNEL GUEST_RAMDISK
	say "Xen control plane up: Xen $(xl info | awk '/^xen_version/ {print $3}'), $(xl info | awk '/^free_memory/ {print $3}') MiB free for guests"
}
