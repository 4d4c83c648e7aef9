# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# discover: the guest finds the standard boot's three LUNs (0:0:0 and 0:0:1
# on target 0, 0:1:0 on target 1) and lists them.  The other cases of the
# standard boot use them: it runs first whenever one of them runs.
MODES="vhost ref restart"
ORDER=10
SETUP=yes

guest() {
	wait_lun 0:0:0 60
	wait_lun 0:0:1 30
	wait_lun 0:1:0 30
	show lsscsi
}
