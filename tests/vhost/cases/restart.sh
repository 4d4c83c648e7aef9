# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# restart: pvscsi-vhost-user is killed (SIGKILL) and started again while fio
# writes (rate-limited to about 8 s of writing) and then verifies on two
# LUNs; QEMU reconnects and the new process resubmits what was in flight.
# fio verifies without an error.
MODES=restart
ORDER=80

host() {
	guest_wait_mark restart
	# A crash, not a clean stop: nothing is drained.  Aim for a moment with
	# requests in flight, so that the new process has something to resubmit.
	backend_wait_inflight backend
	backend_kill9 backend
	sleep 1
	backend_restart backend
}

guest() {
	(
		sleep 3
		mark restart
	) &
	fio2 --size=48M --rate=6m
	wait
}
