#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd flavour of dom0 (run.sh puts INIT=systemd in the run config):
# lib/dom0-init runs this in the new root (the build machine's / over 9p
# with a tmpfs overlay) just before it hands PID 1 to /lib/systemd/systemd
# with --unit=pvscsi-e2e.target.  Only the overlay changes, never the build
# machine: systemd boots the host's own Debian 12, with only what the run
# needs, and Debian's /etc/init.d/xen (xen.service) brings up the Xen
# control plane as it would on a real host.
#
# usage: dom0-systemd.sh OUT   (in the new root, before systemd)
set -eu

OUT=$1
# shellcheck disable=SC1091
. "$OUT/config" # REPO KVER MODDIR
E2E_DIR=$REPO/tests/e2e

# The build machine's fstab names its own disks: dom0 has none of them, and
# systemd would wait for each.  dom0-init mounted everything dom0 needs.
printf '# pvscsi e2e dom0 (systemd flavour): dom0-init mounted the root\n' >/etc/fstab

# The build machine may be a container: systemd must see dom0 as it is (a
# Xen domain), not take the container's marker for its own situation.
rm -f /.dockerenv /run/.containerenv

# The kernel dom0 runs is unpacked under build/e2e; udev and modprobe find
# its modules here from the first moment.
mkdir -p /lib/modules
rm -rf "/lib/modules/$KVER"
ln -s "$MODDIR" "/lib/modules/$KVER"

# Units the build machine enables that have no business in dom0 (an iSCSI
# initiator, network time, the pstore archive) or that would act on guests
# (xendomains saves and restores them): masked in the overlay only.
for u in open-iscsi.service iscsid.service iscsid.socket systemd-timesyncd.service \
	systemd-pstore.service xendomains.service tgt.service getty@.service \
	serial-getty@.service systemd-networkd.service ssh.service; do
	ln -sfn /dev/null "/etc/systemd/system/$u"
done

# dpkg's man-db trigger would index every manual page of the build machine
# over 9p under TCG (many minutes); Debian skips it without this file.
rm -f /var/lib/man-db/auto-update

# xenconsoled writes each guest's console to /var/log/xen/guest-NAME.log,
# where the harness reads it.
{
	[ ! -f /etc/default/xen ] || cat /etc/default/xen
	echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen"'
} >/etc/default/xen.e2e
mv /etc/default/xen.e2e /etc/default/xen
mkdir -p /var/log/xen

cat >/etc/systemd/system/pvscsi-e2e.target <<EOT
[Unit]
Description=pvscsi end-to-end run (dom0 with systemd as init)
Requires=pvscsi-e2e.service
After=pvscsi-e2e.service
AllowIsolate=yes
EOT
# The cases run as a service after xen.service, as an administrator's
# commands would run on a booted host; the machine powers off after them.
cat >/etc/systemd/system/pvscsi-e2e.service <<EOT
[Unit]
Description=pvscsi end-to-end cases
Wants=xen.service systemd-journald.service
After=xen.service systemd-journald.service systemd-udev-trigger.service

[Service]
Type=oneshot
ExecStart=/bin/bash $E2E_DIR/lib/dom0-main.sh $OUT
ExecStopPost=/bin/sh -c 'echo "dom0-init: powering off"; sync; systemctl poweroff --force --force'
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TimeoutStartSec=infinity
EOT
echo "dom0-systemd: overlay ready, starting systemd"
