#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the fuzz targets: tests/fuzz/corpus/NAME/*.

Each target reads its input as a stream of decisions (tests/fuzz/fz.h); the
encoders below write those decisions in the same order, so a seed is a
well-formed case the unit tests cover (a TEST UNIT READY, a WRITE then a
READ through a scatter-gather list, a vhost-user start-up as QEMU sends it,
the VPD pages and configs of resolve_ut and xl_cfg_ut...) from which the
fuzzer mutates.  Run it from the top of the tree after changing a harness's
input format; it replaces the generated seeds (named gen-*) and keeps the
others (regressions saved from crashes, named after what they caught).

usage: tests/fuzz/mkseeds.py
"""
import glob
import os
import struct

OUT = "tests/fuzz/corpus"


class Input:
    """The fz.h stream: little-endian integers, fz_range(), NUL-ended strings."""

    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b += struct.pack("<B", v & 0xFF)
        return self

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xFFFF)
        return self

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.b += struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
        return self

    def bool(self, v):
        return self.u8(1 if v else 0)

    def rng(self, lo, hi, v):
        """fz_range(lo, hi) answering v."""
        assert lo <= v <= hi, (lo, hi, v)
        span = hi - lo
        if span == 0:
            return self
        if span < 0x100:
            return self.u8(v - lo)
        if span < 0x10000:
            return self.u16(v - lo)
        return self.u32(v - lo)

    def raw(self, data):
        self.b += bytes(data)
        return self

    def str(self, s):
        self.b += s.encode() if isinstance(s, str) else s
        self.b += b"\0"
        return self


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "gen-" + name), "wb") as f:
        f.write(bytes(data.b if isinstance(data, Input) else data))


def clear_generated():
    for p in glob.glob(os.path.join(OUT, "*", "gen-*")):
        os.remove(p)


# ---- vscsiif ------------------------------------------------------------

def vscsiif_req(rqid=7, act=1, cdb=b"\0" * 6, cdb_len=None, channel=0, id_=0, lun=0,
                ref=0, dirn=3, nseg=0, segs=()):
    cmnd = bytes(cdb).ljust(16, b"\0")
    r = struct.pack("<HBB16sHHHHHBB", rqid, act, len(cdb) if cdb_len is None else cdb_len,
                    cmnd, 30, channel, id_, lun, ref, dirn, nseg)
    seg = b"".join(struct.pack("<IHH", g, o, l) for g, o, l in segs).ljust(26 * 8, b"\0")
    r += seg + b"\0" * 12
    assert len(r) == 252
    return r


def seeds_vscsiif():
    tail = Input().u16(3).u32(0).u32(0).u8(18).bool(True).raw(b"\x70\0\x05" + b"\0" * 15)
    cases = {
        "tur": vscsiif_req(),
        "read10-direct": vscsiif_req(cdb=b"\x28\0\0\0\0\x10\0\0\x09\0", dirn=2, nseg=2,
                                     segs=[(100, 0, 4096), (101, 0, 512)]),
        "write10-subpage": vscsiif_req(cdb=b"\x2a\0\0\0\0\x10\0\0\x02\0", dirn=1, nseg=3,
                                       segs=[(100, 3584, 512), (101, 0, 4), (102, 100, 508)]),
        "direct-26": vscsiif_req(cdb=b"\x28" + b"\0" * 7 + b"\xd0\0", dirn=2, nseg=26,
                                 segs=[(100 + i, 0, 4096) for i in range(26)]),
        "abort": vscsiif_req(act=2, cdb=b"", ref=5),
        "reset": vscsiif_req(act=3, cdb=b""),
    }
    for name, req in cases.items():
        for sel in (2, 0):
            # Not indirect: a bool (no extra descriptor check), then the response.
            write("vscsiif", "%s-%d" % (name, sel), Input().u8(sel).raw(req).u8(0).raw(tail.b))
    # Indirect: one page of 3 descriptors, then the descriptors.
    req = vscsiif_req(cdb=b"\x2a\0\0\0\0\x10\0\0\x10\0", dirn=1, nseg=0x81, segs=[(200, 0, 24)])
    descs = b"".join(struct.pack("<IHH", 300 + i, 0, 4096) for i in range(3))
    write("vscsiif", "indirect", Input().u8(2).raw(req).raw(descs).raw(tail.b))
    req = vscsiif_req(cdb=b"\x28" + b"\0" * 9, dirn=2, nseg=0x82, segs=[(200, 4000, 96), (201, 0, 8)])
    descs = b"".join(struct.pack("<IHH", 300 + i, 512 * i, 512) for i in range(13))
    write("vscsiif", "indirect-2pages", Input().u8(4).raw(req).raw(descs).raw(tail.b))


# ---- vq -----------------------------------------------------------------

def vq_setup(i, shape=0x34, num_log2=4, inflight=None):
    """Two 4 KiB regions (gpa 0 and 8 KiB), rings one after another at region 0's start."""
    shape = (shape & 0xF0) | num_log2
    if inflight is not None:
        shape |= 0x40
    i.u8(shape)
    i.u8(0).u16(0).raw(b"\0" * 512)   # region 0: 4 KiB at gpa 0
    i.u8(0).u8(1).raw(b"\0" * 512)    # region 1: 4 KiB after a 4 KiB hole
    i.u8(0)                           # rings: contiguous in region 0
    i.u16(0)                          # base
    if inflight is not None:
        i.rng(0, len(inflight), len(inflight)).raw(inflight)
    return i


def vq_desc(i, idx, off, length, flags=0, nxt=None, region=0, table_off=None, table_region=0):
    """edit_desc(): descriptor idx of the ring's table (or of a table at table_off in
    table_region), its buffer at off in region."""
    how = region << 3 | table_region
    if table_off is not None:
        how |= 2
    if nxt is not None:
        how |= 0x40
    i.u8(how).u16(idx)
    if table_off is not None:
        i.u32(table_off)
    i.u32(off).u16(length).u16(flags)
    if nxt is not None:
        i.u16(nxt)
    return i


def seeds_vq():
    # One readable and one writable buffer, popped and pushed.
    i = vq_setup(Input())
    i.u8(4).u8(1)
    vq_desc(i, 0, 1024, 64, 1, 1)
    vq_desc(i, 1, 2048, 128, 2)
    i.u8(5).u16(0).u8(0).u8(0).u8(2).u16(0).u32(128).u8(0).u8(8).u8(0)
    write("vq", "chain", i)
    # An indirect table in region 1 with three descriptors.
    i = vq_setup(Input())
    i.u8(4).u8(2)
    vq_desc(i, 0, 256, 64, 1, 1, region=1, table_off=512, table_region=1)
    vq_desc(i, 1, 512, 32, 3, 2, region=1, table_off=512, table_region=1)
    vq_desc(i, 2, 1024, 200, 2, region=1, table_off=512, table_region=1)
    i.u8(4).u8(0)
    vq_desc(i, 0, 512, 48, 4, region=1)  # VRING_DESC_F_INDIRECT: the table above
    i.u8(5).u16(0).u8(0).u8(0).u8(9).u8(0)
    write("vq", "indirect", i)
    # A loop, a head out of range, the avail index far ahead.
    i = vq_setup(Input())
    i.u8(4).u8(1)
    vq_desc(i, 3, 100, 8, 1, 4)
    vq_desc(i, 4, 200, 8, 1, 3)
    i.u8(5).u16(3).u8(0).u8(0).u8(5).u16(0x8123).u8(0).u8(0).u8(6).u16(40).u8(0).u8(0)
    write("vq", "hostile", i)
    # Event index, then a restart with an inflight region that says head 2 is in flight.
    num = 16
    hdr = struct.pack("<QHHHH", 0, 1, num, 0, 0)
    descs = b"".join(struct.pack("<B5xHQ", 1 if h == 2 else 0, 0, 7 if h == 2 else 0)
                     for h in range(num))
    inf = (hdr + descs).ljust(64 * ((len(hdr + descs) + 63) // 64), b"\0")
    i = vq_setup(Input(), shape=0x30, inflight=inf)
    i.u8(4).u8(0)
    vq_desc(i, 2, 300, 16, 0)
    i.u8(0).u8(0).u8(2).u16(0).u32(16).u8(8).u8(1).u8(9).u8(1).u16(0).u8(0).u8(0)
    write("vq", "inflight", i)


# ---- cdb ----------------------------------------------------------------

def cdb_cmd(i, cdb, dirn=0, data=b"", length=None, initiator=0, iovs=1, splits=(), kind=0):
    """One command of cdb_fuzz: kind, shape, CDB, buffer size, cuts, bytes."""
    if length is None:
        length = len(data)
    shape = initiator | (dirn << 2) | ((iovs - 1) << 4)
    if dirn == 0 and length:
        shape |= 0x40
    i.u8(kind).u8(shape)
    i.rng(1, 32, len(cdb)).raw(cdb)
    i.u16(length)
    for s in splits:
        i.u32(s)
    if dirn != 2:  # a data-in buffer takes no input
        i.raw(data)
    return i


def be(n, v):
    return v.to_bytes(n, "big")


def seeds_cdb():
    NONE, OUT, IN = 0, 1, 2
    inq = [b"\x12\0\0\0\x60\0", b"\x12\x01\x00\0\xff\0", b"\x12\x01\x80\0\xff\0",
           b"\x12\x01\x83\0\xff\0", b"\x12\x01\xb0\0\x40\0", b"\x12\x01\xb1\0\x40\0",
           b"\x12\x01\xb2\0\x40\0"]
    i = Input().u8(0)
    for c in inq:
        cdb_cmd(i, c, IN, length=255)
    write("cdb", "inquiry", i)
    i = Input().u8(0)
    cdb_cmd(i, b"\x1a\0\x3f\0\xff\0", IN, length=255)
    cdb_cmd(i, b"\x5a\0\x08\0\0\0\0\x01\0\0", IN, length=256)
    cdb_cmd(i, b"\x25" + b"\0" * 9, IN, length=8)
    cdb_cmd(i, b"\x9e\x10" + b"\0" * 11 + b"\x20\0\0", IN, length=32)
    cdb_cmd(i, b"\xa0\0\0\0\0\0\0\0\x01\0\0\0", IN, length=256)
    cdb_cmd(i, b"\xa3\x0c\0\0\0\0\0\0\x10\0\0\0", IN, length=4096)
    cdb_cmd(i, b"\xa3\x0c\x01\x42\0\0\0\0\0\x40\0\0", IN, length=64)
    cdb_cmd(i, b"\x03\0\0\0\x12\0", IN, length=18)
    cdb_cmd(i, b"\x9e\x12" + b"\0" * 8 + b"\0\0\x10\0\0\0", IN, length=4096)
    write("cdb", "sense-and-reports", i)
    # MODE SELECT(6): the caching page with WCE off, then on.
    for wce in (0, 4):
        i = Input().u8(0)
        page = b"\x08\x12" + bytes([wce]) + b"\0" * 17
        cdb_cmd(i, b"\x15\x10\0\0" + bytes([4 + len(page)]) + b"\0", OUT,
                b"\0\0\0\0" + page)
        cdb_cmd(i, b"\x1a\0\x08\0\xff\0", IN, length=255, initiator=1)
        write("cdb", "mode-select-wce%d" % wce, i)
    # WRITE(10), READ(10), WRITE(16) over three iovecs, VERIFY with BYTCHK.
    blk = bytes(range(256)) * 2
    i = Input().u8(0)
    cdb_cmd(i, b"\x2a\0\0\0\0\x05\0\0\x02\0", OUT, blk * 2, iovs=3, splits=(100, 412))
    cdb_cmd(i, b"\x28\0\0\0\0\x05\0\0\x02\0", IN, length=1024, iovs=2, splits=(700,))
    cdb_cmd(i, b"\x2f\x02\0\0\0\x05\0\0\x01\0", OUT, blk)
    cdb_cmd(i, b"\x8a" + b"\0" * 8 + be(1, 7) + b"\0\0\0\x01\0\0", OUT, blk)
    cdb_cmd(i, b"\x08\0\0\x7f\x01\0", IN, length=512)
    write("cdb", "read-write", i)
    # WRITE SAME(10)/(16) with and without UNMAP, UNMAP with a parameter list.
    i = Input().u8(0)
    cdb_cmd(i, b"\x41\0\0\0\0\x10\0\0\x08\0", OUT, blk)
    cdb_cmd(i, b"\x93\x08" + be(8, 0x20) + be(4, 16) + b"\0\0", OUT, b"\0" * 512)
    unmap = be(2, 22) + be(2, 16) + b"\0" * 4 + be(8, 0x30) + be(4, 4) + b"\0" * 4
    cdb_cmd(i, b"\x42\0\0\0\0\0\0\0\x18\0", OUT, unmap)
    cdb_cmd(i, b"\x9e\x12" + b"\0" * 8 + b"\0\0\x10\0\0\0", IN, length=4096)
    write("cdb", "write-same-unmap", i)
    # COMPARE AND WRITE of one block: compare zeroes (a match), write a pattern; then a miscompare.
    i = Input().u8(0)
    cdb_cmd(i, b"\x89\0" + be(8, 9) + b"\0\0\0\x01\0\0", OUT, b"\0" * 512 + blk)
    cdb_cmd(i, b"\x89\0" + be(8, 9) + b"\0\0\0\x01\0\0", OUT, b"\0" * 512 + blk)
    write("cdb", "compare-and-write", i)
    # PERSISTENT RESERVE OUT: REGISTER, RESERVE (write exclusive), PR IN of each kind,
    # another initiator's WRITE, PREEMPT, RELEASE, CLEAR.
    def pro(sa, typ, key, sakey, init, flags=0):
        param = be(8, key) + be(8, sakey) + b"\0" * 4 + bytes([flags]) + b"\0" * 3
        return cdb_cmd(i, bytes([0x5f, sa, typ]) + b"\0" * 4 + be(2, 24) + b"\0", OUT, param,
                       initiator=init)
    i = Input().u8(0)
    pro(0, 0, 0, 0x1111, 0)
    pro(0, 0, 0, 0x2222, 1)
    pro(1, 1, 0x1111, 0, 0)
    for sa in range(4):
        cdb_cmd(i, bytes([0x5e, sa]) + b"\0" * 5 + be(2, 512) + b"\0", IN, length=512)
    cdb_cmd(i, b"\x2a\0\0\0\0\x01\0\0\x01\0", OUT, blk, initiator=1)
    pro(4, 1, 0x2222, 0x1111, 1)
    pro(2, 1, 0x2222, 0, 1)
    pro(3, 0, 0x2222, 0, 1)
    write("cdb", "persistent-reservations", i)
    # RESERVE(6)/RELEASE(6), START STOP, PREVENT ALLOW, SYNCHRONIZE CACHE, PRE-FETCH, a TMF.
    i = Input().u8(0)
    cdb_cmd(i, b"\x16\0\0\0\0\0")
    cdb_cmd(i, b"\x00\0\0\0\0\0", initiator=2)
    cdb_cmd(i, b"\x17\0\0\0\0\0")
    cdb_cmd(i, b"\x1b\0\0\0\0\0")
    cdb_cmd(i, b"\x28\0\0\0\0\0\0\0\x01\0", IN, length=512)
    cdb_cmd(i, b"\x1b\0\0\0\x01\0")
    cdb_cmd(i, b"\x1e\0\0\0\x01\0")
    cdb_cmd(i, b"\x35\0\0\0\0\0\0\0\0\0")
    cdb_cmd(i, b"\x34\x02\0\0\0\x04\0\0\x10\0")
    i.u8(15).u8(3)
    write("cdb", "reserve-start-stop-tmf", i)
    # A new LUN's unit attentions, untaken, on a 4096-byte LUN.
    i = Input().u8(5)
    cdb_cmd(i, b"\x00" * 6)
    cdb_cmd(i, b"\x03\0\0\0\x12\0", IN, length=18)
    cdb_cmd(i, b"\xa0\0\0\0\0\0\0\0\x01\0\0\0", IN, length=256, initiator=3)
    write("cdb", "unit-attention-4k", i)


# ---- ring ---------------------------------------------------------------

def ring_rw(i, write_, lba, pieces, indirect=False, desc_off=0, seed=0x40, unaligned=False):
    """queue_rw(): pieces is a list of (length, offset in its first page, gap pages)."""
    blocks = sum(p[0] for p in pieces) // 512
    shape = (1 if indirect else 0) | (0x40 if unaligned else 0) | (0x80 if blocks > 64 else 0)
    if desc_off % 8:
        shape |= 2
    i.u8(0 if write_ else 3).u8(shape)
    i.rng(1, 255 if blocks > 64 else 64, blocks)
    i.rng(1, 64, len(pieces))
    i.rng(0, 136, lba).u8(seed)
    left = blocks * 512
    for k, (ln, off, gap) in enumerate(pieces):
        i.u16(off).u8(gap)
        if k + 1 < len(pieces):
            i.rng(1, left - (len(pieces) - 1 - k), ln)
        left -= ln
    if desc_off % 8:
        i.u16(desc_off)
    else:
        i.u8(desc_off // 8)
    return i


def seeds_ring():
    pool = lambda i, hdr=0: i.u8(hdr).rng(0, 1024, 0)
    # Sub-page pieces, direct, as ring_ut's test_rw_subpage_direct.
    r = [(508, 4, 1), (3072, 2560, 0), (1024, 0, 1), (2048, 3072, 0), (5636, 1000, 1)]
    total = sum(p[0] for p in r)
    w = [(512, 3584, 0), (4, 100, 1), (total - 516, 4092, 0)]
    i = pool(Input())
    ring_rw(i, True, 16, w)
    i.u8(11)
    ring_rw(i, False, 16, r)
    i.u8(11)
    write("ring", "subpage-direct", i)
    # The worst layout at the bound: 64 blocks, each straddling two pages, indirect.
    i = pool(Input())
    ring_rw(i, True, 8, [(512, 3840, 0)] * 64, indirect=True)
    ring_rw(i, False, 8, [(32768, 1, 0)])
    i.u8(11)
    write("ring", "worst-layout-indirect", i)
    # Past the end; descriptors not starting on a descriptor; feature-sg-grant 26.
    i = pool(Input(), 2)
    ring_rw(i, True, 130, [(4096, 0, 0)])
    ring_rw(i, True, 0, [(512, 0, 0)] * 30, indirect=True, desc_off=4)
    i.u8(11)
    write("ring", "refused", i)
    # TMFs, raw slots (invalid, and with the pool's grants), a copy error, rewriting guest.
    i = pool(Input(), 0x40)
    i.u8(6).bool(True).u16(3)
    i.u8(7).u8(0).raw(vscsiif_req(rqid=40, act=0))
    i.u8(7).u8(1).raw(vscsiif_req(rqid=41, cdb=b"\x2a\0\0\0\0\x01\0\0\x01\0", dirn=1, nseg=1,
                                  segs=[(0, 0, 512)], id_=1))
    i.u8(7).u8(1).raw(vscsiif_req(rqid=42, cdb=b"\x28\0\0\0\0\x01\0\0\x01\0", dirn=2, nseg=0x81,
                                  segs=[(0, 0, 16)], id_=1))
    i.u8(8).bool(True).u8(1).u8(2)
    ring_rw(i, True, 3, [(1024, 0, 0)])
    i.u8(9).u8(0x55)
    i.u8(11)
    write("ring", "tmf-raw-errors", i)
    # A bogus producer index.
    i = pool(Input(), 0x10)
    ring_rw(i, True, 0, [(512, 0, 0)])
    i.u8(10).u16(40).bool(False)
    write("ring", "bogus-prod", i)


# ---- adopt --------------------------------------------------------------

def adopt_write(i, blocks, lba, seed=1, indirect=False):
    return i.u8(0).rng(1, 16, blocks).rng(0, 128 - blocks, lba).u8(seed).bool(indirect)


def seeds_adopt():
    for kill in (1, 3, 6, 10, 20, 40):
        for hdr, forge in ((0, 0), (0, 1), (0, 3), (6, 0)):
            i = Input().u8(hdr).u8(1).rng(1, 8, 2)
            adopt_write(i, 4, 0)
            i.u8(3).bool(True)
            for k in range(6):
                adopt_write(i, 2 + k, 10 * k, seed=k, indirect=k % 2 == 1)
                i.u8(2).rng(1, 16, 1).rng(0, 127, k).bool(False)
            i.u8(5).u8(1).u8(4).u8(2).u8(3).bool(False)
            i.u8(0xFF).rng(1, 64, kill).u8(forge)
            if forge & 2:
                i.raw(b"\0" * 252)
            i.bool(kill % 2 == 0)
            write("adopt", "kill%d-mode%d-forge%d" % (kill, hdr, forge), i)


# ---- vumsg --------------------------------------------------------------

VU = {n: k for k, n in enumerate([
    "GET_FEATURES", "SET_FEATURES", "SET_OWNER", "RESET_OWNER", "SET_MEM_TABLE",
    "SET_LOG_BASE", "SET_LOG_FD", "SET_VRING_NUM", "SET_VRING_ADDR", "SET_VRING_BASE",
    "GET_VRING_BASE", "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ERR",
    "GET_PROTOCOL_FEATURES", "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM", "SET_VRING_ENABLE",
    "SET_SLAVE_REQ_FD", "GET_CONFIG", "SET_CONFIG", "GET_INFLIGHT_FD", "SET_INFLIGHT_FD",
    "RESET_DEVICE"])}


def vu_msg(i, name, payload=b"", fds=(), need_reply=False, kick=None):
    fl = 1 if need_reply else 0
    if kick is not None:
        fl |= 4
    i.u8(VU[name]).u8(fl)
    if kick is not None:
        i.u8(kick)
    i.u16(len(payload)).raw(payload)
    i.u8(len(fds))
    for f in fds:
        i.raw(f)
    return i


def memfd(size, contents=None, off=0, short=False):
    """A memfd of size bytes; short: left at that size even when the message
    declares more (the harness grows it otherwise), which must be refused."""
    b = Input().u8((0x10 if contents else 0) | (0x20 if short else 0)).u32(size)
    if contents:
        b.raw(contents).u32(off)
    return bytes(b.b)


EVENTFD = bytes([2])


def vumsg_qemu_start(short_inflight=False, short_mem=False):
    feats = 1 << 32 | 1 << 28 | 1 << 29 | 1 << 0 | 1 << 1 | 1 << 30
    proto = 1 << 0 | 1 << 3 | 1 << 9 | 1 << 12 | 1 << 13
    i = Input().u8(1)
    vu_msg(i, "GET_FEATURES")
    vu_msg(i, "GET_PROTOCOL_FEATURES")
    vu_msg(i, "SET_PROTOCOL_FEATURES", struct.pack("<Q", proto))
    vu_msg(i, "SET_OWNER", need_reply=True)
    vu_msg(i, "GET_QUEUE_NUM")
    vu_msg(i, "GET_INFLIGHT_FD", struct.pack("<QQHH4x", 0, 0, 4, 64))
    vu_msg(i, "SET_INFLIGHT_FD", struct.pack("<QQHH4x", 4 * 2112, 0, 4, 64),
           [memfd(0 if short_inflight else 4 * 2112, short=short_inflight)],
           need_reply=True)
    vu_msg(i, "SET_FEATURES", struct.pack("<Q", feats), need_reply=True)
    mem = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 1 << 20, 0x7F0000000000, 0)
    vu_msg(i, "SET_MEM_TABLE", mem, [memfd(4096 if short_mem else 1 << 20, short=short_mem)],
           need_reply=True)
    for q in range(4):
        vu_msg(i, "SET_VRING_NUM", struct.pack("<II", q, 64))
        vu_msg(i, "SET_VRING_BASE", struct.pack("<II", q, 0))
        base = 0x7F0000000000 + 0x4000 * q
        vu_msg(i, "SET_VRING_ADDR", struct.pack("<IIQQQQ", q, 0, base, base + 0x1000,
                                                base + 0x800, 0), need_reply=True)
        vu_msg(i, "SET_VRING_KICK", struct.pack("<Q", q), [EVENTFD])
        vu_msg(i, "SET_VRING_CALL", struct.pack("<Q", q), [EVENTFD])
    for q in range(4):
        vu_msg(i, "SET_VRING_ENABLE", struct.pack("<II", q, 1), need_reply=True, kick=q)
    vu_msg(i, "GET_CONFIG", struct.pack("<III", 0, 36, 0) + b"\0" * 36)
    vu_msg(i, "SET_CONFIG", struct.pack("<III", 20, 4, 0) + struct.pack("<I", 96),
           need_reply=True)
    vu_msg(i, "GET_VRING_BASE", struct.pack("<II", 2, 0))
    vu_msg(i, "RESET_DEVICE", need_reply=True)
    return i


def seeds_vumsg():
    proto = 1 << 0 | 1 << 3 | 1 << 9 | 1 << 12 | 1 << 13
    write("vumsg", "qemu-start", vumsg_qemu_start())
    # Regions past the end of their fd (SIGBUS before the fd size checks).
    write("vumsg", "qemu-start-short-inflight", vumsg_qemu_start(short_inflight=True))
    write("vumsg", "qemu-start-short-mem", vumsg_qemu_start(short_mem=True))
    # Refused ones: a bad version, an oversized payload, too many fds, a region that wraps.
    i = Input().u8(0)
    vu_msg(i, "SET_PROTOCOL_FEATURES", struct.pack("<Q", proto))
    vu_msg(i, "SET_VRING_NUM", struct.pack("<II", 9, 64), need_reply=True)
    vu_msg(i, "SET_VRING_KICK", struct.pack("<Q", 2), [EVENTFD, EVENTFD], need_reply=True)
    mem = struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 0, 1 << 20, 0x1000, 0) + \
        struct.pack("<QQQQ", 1 << 62, 1 << 63, 0x7F0000000000, 0)
    vu_msg(i, "SET_MEM_TABLE", mem, [memfd(1 << 20), memfd(4096)], need_reply=True)
    vu_msg(i, "SET_CONFIG", struct.pack("<III", 20, 4, 0) + struct.pack("<I", 64),
           need_reply=True)
    i.u8(VU["GET_FEATURES"]).u8(2).u32(0x5).u16(0).u8(0)
    write("vumsg", "refused", i)


# ---- vscsi --------------------------------------------------------------

def vs_chain(i, out_pieces, in_pieces, indirect=False):
    """add_chain(): piece counts, indirect, then each piece's length and alignment."""
    out_len, in_len = sum(out_pieces), sum(in_pieces)
    if out_len:
        i.rng(1, 4, len(out_pieces))
    if in_len:
        i.rng(1, 3, len(in_pieces))
    i.bool(indirect)
    for total, pieces in ((out_len, out_pieces), (in_len, in_pieces)):
        done = 0
        for k, ln in enumerate(pieces):
            left = len(pieces) - k
            if left != 1:
                i.rng(1, total - done - (left - 1), ln)
            i.u8(3)
            done += ln
    return i


REQ, RSP = 51, 108


def vs_rw(i, write_, blocks, lba, out_pieces, in_pieces, indirect=False):
    i.u8(0).bool(write_).rng(1, 16, blocks).rng(0, 132, lba).bool(False).u64(0x1234)
    return vs_chain(i, out_pieces, in_pieces, indirect)


def vs_cmd(i, lunsel, cdb, out=b"", in_len=0, tag=7):
    sizes = (1 if out else 0) | (2 if in_len else 0)
    i.u8(2).u8(sizes).u8(lunsel).u64(tag).u8(0).rng(1, 32, len(cdb)).raw(cdb)
    if out:
        i.rng(0, 4096, len(out))
    if in_len:
        i.rng(0, 4096, in_len)
    i.raw(out)
    return vs_chain(i, [REQ + len(out)], [RSP + in_len] if in_len else [RSP])


def seeds_vscsi():
    for hdr in (0, 7, 0xB):
        i = Input().u8(hdr)
        vs_cmd(i, 0, b"\x12\0\0\0\x60\0", in_len=96)
        vs_cmd(i, 2, b"\x00" * 6)
        vs_rw(i, True, 2, 4, [20, REQ - 20 + 100, 924], [50, RSP - 50], indirect=bool(hdr & 2))
        vs_rw(i, False, 2, 4, [REQ], [RSP, 512, 512])
        i.u8(8).u8(2)
        # TMF LUN reset and ABORT TASK of tag 7, AN query, an event buffer, hot add.
        i.u8(4).u8(1).u8(5).u8(0).u64(7)
        vs_chain(i, [24], [1])
        i.u8(4).u8(0).u8(0).u8(0).u32(0xFF)
        vs_chain(i, [16], [5])
        i.u8(5).bool(True)
        vs_chain(i, [], [16])
        i.u8(8).u8(1).u8(7).u8(0).u8(8).u8(1).u8(8).u8(0).u8(7).u8(1).u8(8).u8(1)
        write("vscsi", "commands-%x" % hdr, i)
    # The hostile queue: a chain of two descriptors in region 1, a loop, a bogus avail index.
    i = Input().u8(3)
    i.u8(6).u8(1)
    i.u8(0).u8(0).u32(0x1000).u16(REQ).u16(1).u16(1)
    i.u8(0).u8(1).u32(0x2000).u16(RSP).u16(2).u16(0)
    i.u8(1).u16(0)
    i.u8(8).u8(3)
    i.u8(6).u8(0)
    i.u8(4).u8(5).u32(0).u16(16).u16(1).u16(5)
    i.u8(1).u16(5)
    i.u8(8).u8(3)
    i.u8(6).u8(0)
    i.u8(0).u8(6).u32(0).u16(16).u16(0).u16(0)
    i.u8(0).u16(200)
    i.u8(8).u8(3)
    write("vscsi", "hostile", i)


# ---- xlcfg --------------------------------------------------------------

def seeds_xlcfg():
    for p in sorted(glob.glob("tests/xl/cfg/*.cfg")):
        with open(p, "rb") as f:
            write("xlcfg", "cfg-" + os.path.basename(p), b"\0" + f.read())
    entries = ["/dev/sdb,0:0:0:0", "file:/var/lib/x.img,ro,bs=4096,0:0:1:0,shareable",
               "mem:64M,1:0:0:5", "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1:0,0:0:0:1,feature-host",
               "0:0:2:0,0:1:65535:16383,ro", "wwid:t10.QEMU CD,0:0:0:2",
               "file:/var/lib/x.img,cache=none,0:0:1:0,bs=4096,cache=writeback"]
    for k, e in enumerate(entries):
        write("xlcfg", "entry%d" % k, b"\x01" + e.encode())
    for k, (p, v) in enumerate([("file:/x.img,ro", "0:0:0:0,shareable"),
                                ("/dev/sg3", "1:0:0:0,feature-host"), ("mem:1G,bs=512", "0:0:0:9"),
                                ("file:/x.img,cache=none", "0:0:0:1,ro")]):
        write("xlcfg", "attach%d" % k, b"\x02" + p.encode() + b"\0" + v.encode())


# ---- vpd ----------------------------------------------------------------

def vpd_page(*desigs):
    body = b""
    for codeset, assoc, typ, data in desigs:
        body += bytes([codeset, assoc << 4 | typ, 0, len(data)]) + data
    return b"\0\x83" + len(body).to_bytes(2, "big") + body


def seeds_vpd():
    naa16 = bytes.fromhex("6001405aaaaaaaaaaaaaaaaaaaaaaaa1")
    pages = {
        "naa": vpd_page((1, 0, 3, naa16)),
        "tape": vpd_page((2, 0, 1, b"LIO-ORG TAPE0001"), (1, 1, 3, b"\x60" + b"\xff" * 15),
                         (1, 0, 2, bytes(range(8))), (1, 0, 3, bytes.fromhex("5001405123456789"))),
        "eui12-name": vpd_page((1, 0, 2, bytes(range(12))),
                               (3, 0, 8, b"iqn.2003-01.org.linux-iscsi:x\0\0\0")),
        "target": vpd_page((1, 2, 3, naa16), (2, 0, 1, b"VENDOR  serial")),
        "t10-255": vpd_page((2, 0, 1, b"\x01" * 255)),
    }
    for name, pg in pages.items():
        write("vpd", "page-" + name, Input().u8(0).u8(0).u8(255).u16(len(pg)).raw(pg))
        write("vpd", "page-%s-cut" % name,
              Input().u8(0).u8(2).u8(40).u16(len(pg) - 3).raw(pg[:-3]))
    for k, s in enumerate(["0:0:0:0", "4294967295:1:2:3", "1:2:3", "007:0:0:0", "0:0:0:4294967296"]):
        write("vpd", "hctl%d" % k, Input().u8(1).str(s))
    write("vpd", "stable-naa", Input().u8(2).u16(200).u32(3).str("naa.6001405AAAAAAAAAAAAAAAAAAAAAAAA1")
          .str("").str(""))
    write("vpd", "stable-t10", Input().u8(2).u16(2000).u32(0).str("t10.QEMU CD   ").str("")
          .str("/dev/disk/by-id/x"))


# ---- resolve ------------------------------------------------------------

FORMS = ["", "/dev/", "/dev/sg", "/dev/sda", "/dev/disk/by-id/", "/dev/disk/by-path/",
         "/dev/bsg/", "sg", "st", "nst", "sr", "0:0:", "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1",
         "naa.", "eui.", "t10.", "wwid:", "wwid:t10.QEMU CD", "scsi_host", "pci_0000_00_05_0",
         "pci_0000_00_05_0/unique_id=", "fc_host/wwpn=", "fc_host/wwpn=5001a4aabbccdd01"]


def seeds_resolve():
    specs = [("/dev/sda", ""), ("/dev/sg", "1"), ("/dev/disk/by-id/",
             "scsi-36001405aaaaaaaaaaaaaaaaaaaaaaaa1"), ("/dev/disk/by-path/",
             "pci-0000:00:05.0-scsi-0:0:0:0"), ("/dev/bsg/", "0:0:1:0"), ("sg", "2"),
             ("st", "0"), ("nst", "0"), ("sr", "0"), ("0:0:", "1:0"), ("", "2:0:0:3"),
             ("naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1", ":0"), ("wwid:t10.QEMU CD", ""),
             ("", "sdb"), ("/dev/", "sda1"), ("", "vda"), ("/dev/", "null"),
             ("/dev/disk/by-id/", "dm-name-vg-lv")]
    for k, (form, rest) in enumerate(specs):
        write("resolve", "spec%02d" % k, Input().u8(0).u8(FORMS.index(form)).str(rest))
    # Attributes rewritten: A's wwid and page, C's type and strings, D's identity.
    page = vpd_page((2, 0, 1, b"        "), (1, 2, 3, bytes.fromhex("6001405bbbbbbbbbbbbbbbbbbbbbbbb2")))
    i = Input().u8(0b01110001)
    wwid = b"t10.ATA     disk\n"
    i.u16(len(wwid)).raw(wwid).u16(len(page)).raw(page)
    for name, val in (("wwid", b"t10.QEMU CD\n"), ("vpd_pg83", page), ("type", b"5\n"),
                      ("vendor", b"QEMU    \n"), ("model", b"QEMU CD-ROM     \n"), ("rev", b"2.5+\n")):
        i.u16(len(val)).raw(val)
    i.u16(0xFFFF).u16(len(page)).raw(page)
    i.u8(FORMS.index("/dev/sda")).str("")
    write("resolve", "attributes", i)
    # What resolve_fuzz found: a wwid of blanks, a T10 vendor ID of blanks, a path through a node.
    for k, w in enumerate([b" \n", b"t10.        \n"]):
        write("resolve", "blank-wwid%d" % k,
              Input().u8(1).u16(len(w)).raw(w).u16(0xFFFF).u8(FORMS.index("/dev/sda")).str(""))
    write("resolve", "path-through-a-node", Input().u8(0).u8(FORMS.index("/dev/sda")).str("/"))
    # Adapters (issue 18): each form, then the hosts' attributes rewritten.
    adapters = [("scsi_host", "3:0:0:1"), ("pci_0000_00_05_0", ":0:0:0"),
                ("pci_0000_00_05_0/unique_id=", "1:0:0:3"), ("fc_host/wwpn=", "0x5001A4AABBCCDD01:0:0:1"),
                ("fc_host/wwpn=5001a4aabbccdd01", "/wwnn=5001a4aabbccdd00:0:0:1")]
    for k, (form, rest) in enumerate(adapters):
        write("resolve", "adapter%d" % k, Input().u8(0).u8(FORMS.index(form)).str(rest))
    # host0 and host2 swap unique_ids; host3's names lose their 0x and get another WWNN.
    i = Input().u8(0).u8(FORMS.index("pci_0000_00_05_0")).str(":0:0:0").u8(0b11011)
    for val in (b"1\n", b"0\n", b"5001A4AABBCCDD01\n", b"0x5001a4aabbccdd77\n"):
        i.u16(len(val)).raw(val)
    write("resolve", "adapter-attributes", i)


# ---- main ---------------------------------------------------------------

# ---- savecfg ------------------------------------------------------------

SAVECFG_JSON = (
    '{"c_info":{"type":"pv","name":"guest1","uuid":"5c0e3c4a-1f55-4b55-9d8e-000000000001",'
    '"xsdata":{"other/key":"keep",'
    '"pvscsi/1/dev-0/spec":"naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1:0,1:0:0:0,feature-host",'
    '"pvscsi/1/dev-0/by-id":"/dev/disk/by-id/wwn-0x6001405aaaaaaaaaaaaaaaaaaaaaaaa1",'
    '"pvscsi/1/dev-0/pdev":"/dev/sdb",'
    '"pvscsi/0/dev-2/spec":"file:/srv/a.img,0:0:0:2,ro"}},'
    '"b_info":{"max_vcpus":1,"max_memkb":524288,"target_memkb":524288,'
    '"type.pv":{"kernel":"/boot/vmlinuz","cmdline":"console=hvc0 \\u00e9\\n"}},'
    '"disks":[],"nics":[{"mac":"00:16:3e:00:00:01"}],"on_reboot":"restart",'
    '"n":12345678901234567890,"f":-1.5e-3,"t":true,"z":null}')


def save_image(flags, cfg, extra=b""):
    """savecfg_fuzz's save image: mode byte 1, flags, then what they ask for."""
    return bytes([1, flags]) + extra + cfg


def seeds_savecfg():
    write("savecfg", "json", b"\0" + SAVECFG_JSON.encode())
    write("savecfg", "json-no-xsdata", b"\0" + b'{"c_info":{"name":"g"},"b_info":{}}')
    write("savecfg", "json-bad-key", b"\0" + b'{"c_info":{"xsdata":{"pvscsi/x/dev-0/spec":"a"}}}')
    write("savecfg", "image-json", save_image(0, SAVECFG_JSON.encode()))
    write("savecfg", "image-text", save_image(4, b'name = "g"\nvscsi = [ "/dev/sdb,0:0:0:0" ]\n'))
    write("savecfg", "image-long-clen", save_image(16, b"{}", struct.pack("<I", 1 << 30)))
    write("savecfg", "image-byteorder", save_image(2, b"{}", struct.pack("<I", 0x04030201)))


# ---- spec -------------------------------------------------------------------


def seeds_spec():
    for i, t in enumerate([b"file:/srv/a.img,ro,bs=4096", b"mem:64M", b"mem:4K,bs=4096",
                           b"sg:/dev/sg3,raw", b"naa.5000c500a1b2c3d4:1,ro", b"2:0:1:0,raw",
                           b"t10.ATA QEMU,HARDDISK,ro", b"/dev/disk/by-id/wwn-0x5000c5,raw",
                           b"file:/x,raw", b"mem:0", b"sg:/dev/sg1,ro,raw", b"file:",
                           b"file:/srv/b.img,cache=none,bs=4096", b"mem:4K,cache=none",
                           b"rbd:rbd/vm1@snap,conf=/etc/ceph/c.conf,id=libvirt,bs=4096",
                           b"rbd:pool/a/b,conf=",
                           b"iscsi://bob@san.example:3261/iqn.2001-04.com.example:t/3,ro,chap=/etc/c",
                           b"iscsi://[fe80::1]/iqn.x:t/16383,raw",
                           b"iscsi://a%b@h/iqn.x:t/1", b"iscsi://h//1,chap="]):
        write("spec", "s%02d" % i, t)


# ---- sgfilter -----------------------------------------------------------------


def rsoc_list(descs):
    body = bytearray()
    for op, sa, servactv, ctdp in descs:
        d = bytearray(20 if ctdp else 8)
        d[0] = op
        d[2:4] = be(2, sa)
        d[5] = (1 if servactv else 0) | (2 if ctdp else 0)
        d[7] = 6
        if ctdp:
            d[9] = 10
        body += d
    return be(4, len(body)) + body


def seeds_sgfilter():
    lst = rsoc_list([(0x01, 0, False, False), (0x04, 0, False, False), (0x08, 0, False, True),
                     (0x3b, 0, False, False), (0xc0, 0, False, False), (0xa3, 0x0c, True, False)])
    cmds = [bytes([0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x02, 0, 0, 0]),
            bytes([0xa3, 0x0c, 0x01, 0x04, 0, 0, 0, 0, 0, 64, 0, 0]),
            bytes([0x01, 0, 0, 0, 0, 0]), bytes([0x04, 0, 0, 0, 0, 0]),
            bytes([0xa5, 0, 0, 0, 0, 2, 3, 0xe8, 0, 0, 0, 0]), bytes([0x0a, 1, 0, 0, 1, 0]),
            bytes([0x1a, 0, 0x3f, 0, 12, 0]), bytes([0x12, 1, 0xb0, 0, 64, 0]),
            bytes([0x3b, 0x05, 0, 0, 0, 0, 0, 0, 0, 0]), bytes([0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0])]
    for i, (pdt, mode) in enumerate([(1, 0), (1, 1), (1, 2), (8, 0), (8, 1), (5, 0), (5, 1),
                                     (0, 0), (0x0c, 0), (0x7f, 0)]):
        x = Input().u8(pdt).u8(mode).bool(True).u16(len(lst)).raw(lst).bool(False)
        for c in cmds:
            x.u8(len(c) - 1).u16(512).raw(c).bool(i % 2)
        write("sgfilter", "s%02d" % i, x)


# ---- xml ----------------------------------------------------------------

def seeds_xml():
    with open("tests/xl/list.xml", "rb") as f:
        write("xml", "list", f.read().replace(b"@ROOT@", b"/srv"))
    docs = [
        "<hostdev mode='subsystem' type='scsi' sgio='unfiltered'><source>"
        "<adapter name='scsi_host2'/><address bus='0' target='1' unit='0'/></source>"
        "<address type='drive' controller='0' bus='0' target='0' unit='0'/></hostdev>",
        "<hostdev mode='subsystem' type='scsi'><source>"
        "<adapter parent='pci_0000_00_1f_2' unique_id='1'/><address bus='0' target='0' unit='0'/>"
        "</source><readonly/><shareable/>"
        "<address type='drive' controller='1' bus='0' target='2' unit='3'/></hostdev>",
        "<hostdev type='scsi' rawio='yes'><source><adapter type='fc_host' "
        "wwnn='5001a4aabbccdd00' wwpn='5001a4aabbccdd01'/><address bus='0' target='0' unit='2'/>"
        "</source><alias name='hostdev0'/><address type='drive' unit='1'/></hostdev>",
        "<disk type='file' device='lun'><driver name='qemu' type='raw'/>"
        "<source file='/var/lib/x.img'/><target dev='sda' bus='scsi'/>"
        "<blockio logical_block_size='512'/><readonly/>"
        "<address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>",
        "<devices><disk type='file' device='cdrom'><target dev='sdb' bus='scsi'/><readonly/>"
        "<address type='drive'/></disk></devices>",
        "<?xml version='1.0'?>\n<!DOCTYPE d [<!ENTITY h 'scsi'>]>\n"
        "<hostdev type='&h;'/>",
        "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
        "<source file='/var/lib/x.img'/><target dev='sda' bus='scsi'/>"
        "<address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>",
    ]
    for k, d in enumerate(docs):
        write("xml", "doc%d" % k, d.encode())


def main():
    clear_generated()
    seeds_vscsiif()
    seeds_vq()
    seeds_cdb()
    seeds_ring()
    seeds_adopt()
    seeds_vumsg()
    seeds_vscsi()
    seeds_xlcfg()
    seeds_vpd()
    seeds_resolve()
    seeds_savecfg()
    seeds_spec()
    seeds_sgfilter()
    seeds_xml()


if __name__ == "__main__":
    main()
