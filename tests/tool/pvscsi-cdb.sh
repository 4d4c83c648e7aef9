#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsi-cdb against file:, mem: and cdrom: LUNs: exact JSON for INQUIRY, READ
# CAPACITY(16), WRITE(10)/READ(10) round trips and REPORT LUNS, plus the
# tool's own contract (unit attention clearing, sequences, exit codes); and
# an iscsi:// LUN of a private tgtd (tests/iscsi/tgtd.sh).
#
# Usage: tests/tool/pvscsi-cdb.sh [BINARY]   (default build/asan/pvscsi-cdb,
# else build/rel/pvscsi-cdb).  Ends with an 'N passed, N failed' line.
set -u
# ok, fail, check, finish (run from the top of the tree, or any directory:
# $0 is still this script before any cd).
. "$(dirname "$0")/lib.sh"

cdb=${1:-}
if [ -z "$cdb" ]; then
	for b in build/asan/pvscsi-cdb build/rel/pvscsi-cdb; do
		[ -x "$b" ] && cdb=$b && break
	done
fi
if [ -z "$cdb" ] || [ ! -x "$cdb" ]; then
	echo "pvscsi-cdb binary not found (make build/asan/pvscsi-cdb)" >&2
	exit 1
fi

tmp=$(mktemp -d /var/tmp/pvscsi-cdb-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# hex of a string, as the tool prints data
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# N copies of the hex byte B
rep() { i=0; while [ "$i" -lt "$2" ]; do printf '%s' "$1"; i=$((i + 1)); done; }

good() { # data residual
	printf '{"status":0,"status_name":"GOOD","host":0,"host_name":"OK","sense":"","sense_key":null,"sense_key_name":null,"asc":null,"ascq":null,"asc_text":null,"data":"%s","residual":%s}' "$1" "$2"
}
# libsgutils2's words (sg3_utils' table of T10's codes) for the codes used below.
asc_text() {
	case "$1/$2" in
	32/0) echo "Invalid command operation code" ;;
	33/0) echo "Logical block address out of range" ;;
	39/0) echo "Write protected" ;;
	41/0) echo "Power on, reset, or bus device reset occurred" ;;
	*) echo "asc_text: no words for $1/$2 in this test" >&2 ;;
	esac
}
check_cond() { # sense key key_name asc ascq residual
	printf '{"status":2,"status_name":"CHECK CONDITION","host":0,"host_name":"OK","sense":"%s","sense_key":%s,"sense_key_name":"%s","asc":%s,"ascq":%s,"asc_text":"%s","data":"","residual":%s}' "$1" "$2" "$3" "$4" "$5" "$(asc_text "$4" "$5")" "$6"
}

truncate -s 1M "$tmp/disk.img"
truncate -s 2M "$tmp/disk4k.img"

# ---- INQUIRY (SPC-5 6.7.2): direct access, SPC-4, HiSup + format 2, 96 bytes, CmdQue ----
inq_head=000006125b000002$(hex "PVSCSI  ")
check "INQUIRY file:" \
	"$(good "${inq_head}$(hex "FILE            ")$(hex 0001)" 0)" \
	"$("$cdb" --lun "file:$tmp/disk.img" --in 36 12 00 00 00 24 00)"
check "INQUIRY mem: (joined CDB hex, 4 spare bytes)" \
	"$(good "${inq_head}$(hex "MEM             ")$(hex 0001)" 4)" \
	"$("$cdb" --lun mem:1M --in 40 120000002400)"

# ---- READ CAPACITY(16) (SBC-4 5.20.2) ----
# 1 MiB / 512: last LBA 7FFh, 512, 4 KiB physical (LBPPBE 3), LBPME|LBPRZ (thin)
check "READ CAPACITY(16) file: 512" \
	"$(good "00000000000007ff000002000003c000$(rep 00 16)" 0)" \
	"$("$cdb" --lun "file:$tmp/disk.img" --in 32 9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00)"
check "READ CAPACITY(16) file: 4096" \
	"$(good "00000000000001ff000010000000c000$(rep 00 16)" 0)" \
	"$("$cdb" --lun "file:$tmp/disk4k.img,bs=4096" --in 32 9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00)"
check "READ CAPACITY(16) mem: 4096" \
	"$(good "00000000000000ff000010000000c000$(rep 00 16)" 0)" \
	"$("$cdb" --lun mem:1M,bs=4096 --in 32 9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00)"

# ---- REPORT LUNS (SPC-5 6.29): one LUN, 0 ----
check "REPORT LUNS file:" \
	"$(good "00000008000000000000000000000000" 48)" \
	"$("$cdb" --lun "file:$tmp/disk.img" --in 64 a0 00 00 00 00 00 00 00 00 40 00 00)"
check "REPORT LUNS mem:" \
	"$(good "00000008000000000000000000000000" 16)" \
	"$("$cdb" --lun mem:64K --in 32 a0 00 00 00 00 00 00 00 00 20 00 00)"

# ---- WRITE(10) then READ(10) ----
pattern=$(rep a5 256)$(rep 3c 256)
check "mem: WRITE(10) LBA 5 then READ(10) LBA 4..5 in one process" \
	"$(good "" 0)
$(good "$(rep 00 512)$pattern" 0)" \
	"$("$cdb" --lun mem:1M --out-hex "$pattern" 2a 00 00 00 00 05 00 00 01 00 \
		--then --in 1024 28 00 00 00 00 04 00 00 02 00)"

printf '%s' "$pattern" | xxd -r -p >"$tmp/block.bin"
check "file: WRITE(10) FUA from --out FILE" \
	"$(good "" 0)" \
	"$("$cdb" --lun "file:$tmp/disk.img" --out "$tmp/block.bin" 2a 08 00 00 00 07 00 00 01 00)"
check "file: the block landed at byte 7*512" \
	"$pattern" \
	"$(dd if="$tmp/disk.img" bs=512 skip=7 count=1 2>/dev/null | od -An -tx1 -v | tr -d ' \n')"
check "file: READ(10) in a new process, buffer 1 KiB larger" \
	"$(good "$pattern" 1024)" \
	"$("$cdb" --lun "file:$tmp/disk.img" --in 1536 28 00 00 00 00 07 00 00 01 00)"
check "file: READ(10) at 4096 after WRITE(10) at 4096" \
	"$(good "" 0)
$(good "$(rep 5a 4096)" 0)" \
	"$("$cdb" --lun "file:$tmp/disk4k.img,bs=4096" --out-hex "$(rep 5a 4096)" 2a 00 00 00 01 ff 00 00 01 00 \
		--then --in 4096 28 00 00 00 01 ff 00 00 01 00)"

# ---- sequences ----
cat >"$tmp/seq" <<EOF
# write two blocks, read them back, then one past the end
--out-hex $(rep 11 512)$(rep 22 512) 2a 00 00 00 00 00 00 00 02 00
--in 1024 28 00 00 00 00 00 00 00 02 00
--in 512 28 00 00 00 00 80 00 00 01 00   # LBA 128 of 128 blocks
EOF
check "--sequence on mem:64K" \
	"$(good "" 0)
$(good "$(rep 11 512)$(rep 22 512)" 0)
$(check_cond 700005000000000a00000000210000000000 5 "ILLEGAL REQUEST" 33 0 512)" \
	"$("$cdb" --lun mem:64K --sequence "$tmp/seq")"

# ---- unit attention handling ----
ua=$(check_cond 700006000000000a00000000290000000000 6 "UNIT ATTENTION" 41 0 0)
check "--keep-ua: the power-on UNIT ATTENTION, then GOOD" \
	"$ua
$(good "" 0)" \
	"$("$cdb" --lun mem:64K --keep-ua 00 00 00 00 00 00 --then 00 00 00 00 00 00)"
check "default: cleared for each initiator" \
	"$(good "" 0)
$(good "" 0)" \
	"$("$cdb" --lun mem:64K 00 00 00 00 00 00 --then --initiator 9 00 00 00 00 00 00)"
check "--keep-ua: a second initiator has its own" \
	"$(good "" 0)
$ua" \
	"$("$cdb" --lun mem:64K --keep-ua 12 00 00 00 00 00 --then --initiator 2 00 00 00 00 00 00)"

# ---- errors reported in JSON, exit 0 ----
check "vendor opcode C0h: INVALID COMMAND OPERATION CODE" \
	"$(check_cond 700005000000000a00000000200000c00000 5 "ILLEGAL REQUEST" 32 0 8)" \
	"$("$cdb" --lun mem:64K --in 8 c0 00 00 00 00 00)"
out=$("$cdb" --lun "file:$tmp/disk.img" --ro --out "$tmp/block.bin" 2a 00 00 00 00 00 00 00 01 00)
check "--ro: WRITE(10) gets DATA PROTECT / WRITE PROTECTED" \
	"$(check_cond 700007000000000a00000000270000000000 7 "DATA PROTECT" 39 0 512)" "$out"

# ---- exit codes ----
"$cdb" --lun "file:$tmp/missing.img" 00 00 00 00 00 00 >"$tmp/out" 2>"$tmp/err"
check "missing backing: exit 1" 1 $?
check "missing backing: message" "pvscsi-cdb: file LUN '$tmp/missing.img': no such file or device" "$(cat "$tmp/err")"
check "missing backing: no JSON" "" "$(cat "$tmp/out")"
"$cdb" --lun mem:64K 12 zz >/dev/null 2>"$tmp/err"
check "bad CDB byte: exit 2" 2 $?
check "bad CDB byte: message" "pvscsi-cdb: bad CDB byte 'zz' (hex, CDB at most 32 bytes)" "$(head -n 1 "$tmp/err")"
"$cdb" 00 00 00 00 00 00 >/dev/null 2>&1
check "no --lun: exit 2" 2 $?
"$cdb" --lun mem:64K >/dev/null 2>&1
check "no CDB: exit 2" 2 $?
"$cdb" --lun mem:64K --in 0 12 00 00 00 00 00 >/dev/null 2>&1
check "--in 0: exit 2" 2 $?
"$cdb" --lun mem:64K --frobnicate 00 >/dev/null 2>&1
check "unknown option: exit 2" 2 $?
"$cdb" --lun bogus:x 00 00 00 00 00 00 >/dev/null 2>&1
check "bad spec: exit 1" 1 $?

# ---- cdrom: drives (MMC-6): type 05h with RMB, 2048-byte blocks, an empty drive ----
truncate -s 200K "$tmp/cd.iso"
check "INQUIRY cdrom: type 05h, RMB" "$(good 058006125b000002 0)" \
	"$("$cdb" --lun "cdrom:$tmp/cd.iso" --in 8 12 00 00 00 08 00)"
check "READ CAPACITY cdrom: last LBA 99, 2048-byte blocks" "$(good 0000006300000800 0)" \
	"$("$cdb" --lun "cdrom:$tmp/cd.iso" --in 8 25 00 00 00 00 00 00 00 00 00)"
check "GET CONFIGURATION cdrom: current profile CD-ROM" "$(good 0000003800000008 0)" \
	"$("$cdb" --lun "cdrom:$tmp/cd.iso" --in 8 46 00 00 00 00 00 00 00 08 00)"
check "TEST UNIT READY on an empty cdrom: drive: MEDIUM NOT PRESENT - TRAY CLOSED" 1 \
	"$("$cdb" --lun cdrom: 00 00 00 00 00 00 | grep -c '"sense_key":2,.*"asc":58,"ascq":1,')"
"$cdb" --lun "cdrom:$tmp/disk.img,bs=512" 00 00 00 00 00 00 >/dev/null 2>"$tmp/err"
check "cdrom: with bs=: refused, why said" 1 "$(grep -c '2048-byte blocks' "$tmp/err")"

# ---- iscsi://: a LUN of a real target, through libiscsi ----
port=$((30000 + $$ % 10000))
ctl=$((2000 + $$ % 1000))
if tests/iscsi/tgtd.sh start "$tmp/tgt" "$port" "$ctl" >"$tmp/tgt.log" 2>&1; then
	url="iscsi://127.0.0.1:$port/iqn.2026-12.org.pvscsi.test:disk/1"
	out=$("$cdb" --lun "$url" --out-hex "$(rep 5a 512)" 2a 00 00 00 00 07 00 00 01 00 \
		--then --in 512 28 00 00 00 00 07 00 00 01 00 2>&1)
	check "iscsi: WRITE(10) then READ(10) of LBA 7" "$(good "" 0)
$(good "$(rep 5a 512)" 0)" "$out"
	out=$("$cdb" --lun "$url" --in 8 25 00 00 00 00 00 00 00 00 00 2>&1)
	check "iscsi: READ CAPACITY(10) of the 64 MiB disk" "$(good 0001ffff00000200 0)" "$out"
	"$cdb" --lun "iscsi://127.0.0.1:$port/iqn.2026-12.org.pvscsi.test:disk/9" 00 00 00 00 00 00 \
		>/dev/null 2>"$tmp/err"
	check "iscsi: LUN 9 refused (exit 1)" 1 $?
	check "iscsi: LUN 9 named" 1 "$(grep -c "has no LUN 9" "$tmp/err")"
	tests/iscsi/tgtd.sh destroy "$tmp/tgt" >/dev/null 2>&1
else
	fail "iscsi: tgtd did not start" "$(tail -n 3 "$tmp/tgt.log")"
fi

# --filter: the per-type tables, and docs/lun-core.md is what they print.
out=$("$cdb" --filter tape)
check "--filter tape: REWIND passes" 1 "$(printf '%s\n' "$out" | grep -c '^| 01h | REWIND | yes | passes |')"
check "--filter tape: FORMAT MEDIUM refused" 1 "$(printf '%s\n' "$out" | grep -c '^| 04h | FORMAT MEDIUM | no |')"
out=$("$cdb" --filter changer)
check "--filter changer: MOVE MEDIUM passes read-only" 1 "$(printf '%s\n' "$out" | grep -c '^| A5h | MOVE MEDIUM | yes | passes |')"
check "--filter 8 = changer" "$out" "$("$cdb" --filter 8)"
"$cdb" --filter robot >/dev/null 2>"$tmp/err"
check "--filter robot: exit 2" 2 $?
doc=$(dirname "$0")/../../docs/lun-core.md
for t in disk tape cd changer other; do
	n=$t
	[ "$t" = other ] && n=0x0c
	want=$("$cdb" --filter "$n")
	got=$(sed -n "/^<!-- filter $t: /,/^<!-- end filter -->/p" "$doc" | sed '1d;$d')
	check "docs/lun-core.md: the $t table is pvscsi-cdb --filter $n's" "$want" "$got"
done

finish
