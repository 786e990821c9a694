#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_recfile: small recordings as
docs/recording-format.md describes them, whole, cut short and damaged.
Usage: tests/fuzz/recfile_seeds.py DIR"""
import os
import struct
import sys
import zlib

MAGIC = b"CTREC\r\n\x1a"
BLOCK_MAGIC = 0x4B4C4243
REC_LINE, REC_SNAP, REC_SOCK, REC_LOSS, REC_END = range(0x100, 0x105)
EVENT_SIZE = 160              # struct ct_event
SOCK_SIZE = 128               # struct ct_tcp_rec


def header(text=b"hostname=seed\nboot_wall_ns=1000\nfile_index=0\n"):
    return (MAGIC + struct.pack("<II", 1, len(text)) + text +
            struct.pack("<I", zlib.crc32(text)))


def rec(rtype, payload):
    return struct.pack("<HH", rtype, len(payload)) + payload


def block(records, first=1000, last=2000):
    raw = b"".join(records)
    z = zlib.compress(raw, 1)
    h = struct.pack("<IIIIQQ", BLOCK_MAGIC, len(z), len(raw), len(records),
                    first, last)
    return h + z + struct.pack("<I", zlib.crc32(h + z))


def line(skaddr, old, new, ts):
    ev = bytearray(EVENT_SIZE)
    struct.pack_into("<IIQQ", ev, 0, 1, 0, ts, skaddr)
    ev[54], ev[55] = old, new
    return struct.pack("<QQ", ts, 0) + bytes(24) + bytes(ev)


def sock(skaddr, state):
    s = bytearray(SOCK_SIZE)
    struct.pack_into("<Q", s, 0, skaddr)
    s[66] = state
    return bytes(s)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    snap = [rec(REC_SNAP, struct.pack("<QII", 1000, 0, 2)),
            rec(REC_SOCK, sock(0x10, 1)), rec(REC_SOCK, sock(0x20, 10))]
    lines = [rec(REC_LINE, line(0x10, 1, 4, 1500)),
             rec(REC_LINE, line(0x10, 4, 7, 1600)),
             rec(3, bytes(56)), rec(9, b"future record")]
    end = [rec(REC_LOSS, struct.pack("<QQQQQ", 2000, 1, 0, 0, 0)),
           rec(REC_END, struct.pack("<QII", 2000, 0, 0))]
    whole = header() + block(snap) + block(lines) + block(end)
    seeds = {
        "whole": whole,
        "cut_in_block": whole[:-9],
        "cut_in_header": whole[:15],
        "header_only": header(),
        "bad_crc": whole[:60] + bytes([whole[60] ^ 1]) + whole[61:],
        "record_past_block": header() + block([b"\x00\x01\xff\xff"]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
