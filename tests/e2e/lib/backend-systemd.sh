# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The systemd flavour: dom0 boots with systemd as init (lib/dom0-systemd.sh),
# and the backend is pvscsid as an administrator gets it: the packages of
# this tree (make deb, DEB_DIR in the run config) installed with dpkg -i,
# the service started with systemctl, its log in the journal.  Removing the
# packages (backend_stop, or the case itself) must give Xen's xl back.
# Sourced by run-case.sh.

# The LUN helpers and pvscsid's checks are the pvscsid backend's.
# shellcheck source=backend-pvscsid.sh
. "$E2E_DIR/lib/backend-pvscsid.sh"

# The unit runs with PrivateTmp=yes: an image in /var/tmp would be another
# directory to the daemon.  /srv stays writable (ProtectSystem=full).
LUN_DIR=/srv/xen/e2e

# deb_of PACKAGE: sets DEB to the package's file in DEB_DIR.
deb_of() {
	DEB=$(ls "${DEB_DIR:?no DEB_DIR in the run config}/$1"_*.deb 2>/dev/null | head -n1 || true)
	[ -n "$DEB" ] || fail "no $1 package in $DEB_DIR (make deb)"
}

backend_start() {
	if [ -d /sys/module/xen_scsiback ]; then
		rmdir /sys/kernel/config/target/xen-pvscsi 2>/dev/null || true
		rmmod xen-scsiback || fail "xen-scsiback is loaded and cannot be unloaded"
	fi
	# What the packages must give back when they go.
	XL_WAS=$(readlink /usr/sbin/xl || echo "(a file)")
	XL_INODE=$(stat -c %i /usr/sbin/xl)
	say "before dpkg -i: /usr/sbin/xl -> $XL_WAS (inode $XL_INODE)"
	local lib
	deb_of libpvscsi0
	lib=$DEB
	deb_of pvscsi
	dpkg -i "$lib" "$DEB" >"$CASEOUT/dpkg-i.log" 2>&1 ||
		fail "dpkg -i failed: $(tail -n 3 "$CASEOUT/dpkg-i.log" | tr '\n' ' ')"
	say "installed: $(dpkg-query -W -f='${Package} ${Version}, ' pvscsi libpvscsi0)"
	dpkg-divert --list /usr/sbin/xl | grep -q 'by pvscsi$' ||
		fail "no diversion of /usr/sbin/xl by pvscsi: $(dpkg-divert --list /usr/sbin/xl)"
	[ "$(systemctl is-enabled pvscsid.service 2>&1)" = enabled ] ||
		fail "pvscsid.service is not enabled after dpkg -i: $(systemctl is-enabled pvscsid.service 2>&1)"
	systemctl start pvscsid.service ||
		fail "systemctl start pvscsid failed: $(journalctl -b -u pvscsid --no-pager -n 3 -o cat | tr '\n' ' ')"
	[ "$(systemctl is-active pvscsid.service)" = active ] ||
		fail "pvscsid.service is $(systemctl is-active pvscsid.service) after start"
	say "pvscsid started by systemd (pid $(systemctl show -p MainPID --value pvscsid.service)): $(systemctl show -p StatusText --value pvscsid.service)"
}

backend_check() {
	[ "$(systemctl is-active pvscsid.service)" = active ] ||
		fail "pvscsid.service is $(systemctl is-active pvscsid.service) after the guest part: $(journalctl -b -u pvscsid --no-pager -n 3 -o cat | tr '\n' ' ')"
}

# Stop and remove whatever a case left installed (a failed case too).
backend_stop() {
	systemctl stop pvscsid.service 2>/dev/null || true
	backend_collect
	if dpkg-query -W -f='${Status}' pvscsi 2>/dev/null | grep -q 'ok installed'; then
		dpkg -r pvscsi libpvscsi0 >>"$CASEOUT/dpkg-r.log" 2>&1 || true
	fi
	rm -rf "$LUN_DIR"
}

backend_collect() {
	journalctl -b -u pvscsid.service --no-pager -o short-precise >"$CASEOUT/pvscsid.log" 2>&1 || true
	journalctl -b -u pvscsid.service --no-pager -o verbose >"$CASEOUT/pvscsid-journal.txt" 2>&1 || true
}

pvscsid_kill9() { fail "pvscsid_kill9: not in the systemd flavour (systemctl kill)"; }
pvscsid_start() { fail "pvscsid_start: not in the systemd flavour (systemctl start)"; }

lun_file() {
	local img=$LUN_DIR/$1.img
	mkdir -p "$LUN_DIR"
	rm -f "$img"
	truncate -s "$2" "$img"
	PDEV=file:$img${3:-}
	say "file LUN $1 ($2) -> $PDEV"
}
