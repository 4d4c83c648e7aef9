# shellcheck shell=sh
# restart: pvscsid is killed with SIGKILL while the guest runs fio
# write+verify, and started again; the guest's fio completes without a
# verify error (the frontend's retries carry it over the gap).
BACKENDS="pvscsid"
TIMEOUT=600

dom0() {
	lun_file disk0 64M
	vscsi_attach "$DOMID" 0 0 "$PDEV" 0:0:0:0
	guest_start
	guest_wait_mark fio-running 240
	sleep 3
	pvscsid_kill9
	sleep 2
	pvscsid_start
}

guest() {
	wait_lun 0:0:0
	sd=$(sd_of 0:0:0)
	mark fio-running
	fio_verify "$sd" --loops=2
}
