# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# What the suites (tests/e2e, tests/vhost) read from a case file without
# running it: its settings.

# case_file_var FILE VAR: a VAR=value assignment at the start of a line of
# FILE (read, not sourced: the case files define shell functions).
case_file_var() {
	sed -n "s/^$2=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}\$/\1/p" "$1" | head -n1
}

# case_file_timeout FILE DEFAULT: the case's TIMEOUT, which may be an
# expression of the run's settings (soak: TIMEOUT=$((${SOAK_SECS:-180} + 480))):
# the case file sourced in a subshell, which only defines its functions and
# variables.
case_file_timeout() {
	(
		set +eu
		# shellcheck disable=SC1090
		. "$1" >/dev/null 2>&1
		echo "${TIMEOUT:-$2}"
	)
}
