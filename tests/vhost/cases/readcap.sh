# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# readcap: READ CAPACITY(10) of 0:0:0 and READ CAPACITY(16) of 0:1:0.
ORDER=30

guest() {
	show sg_readcap "$(sg_of 0:0:0)"
	show sg_readcap --long "$(sg_of 0:1:0)"
}
