#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_sockdiag: sock_diag answers as the
kernel sends them, and the malformed ones that once read past the buffer.
Usage: tests/fuzz/sockdiag_seeds.py DIR"""
import os
import socket
import struct
import sys

SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_INFO, INET_DIAG_SKMEMINFO = 2, 7
TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT = 1, 10, 6


def nlmsg(mtype, body, length=None):
    n = 16 + len(body) if length is None else length
    pad = b"\0" * (-len(body) % 4)
    return struct.pack("=IHHII", n, mtype, 2, 0, 0) + body + pad


def attr(atype, payload):
    pad = b"\0" * (-len(payload) % 4)
    return struct.pack("=HH", 4 + len(payload), atype) + payload + pad


def diag_msg(family, state, sport, dport, src, dst, inode=1234):
    alen = 4 if family == socket.AF_INET else 16
    src = socket.inet_pton(family, src).ljust(16, b"\0")[:16]
    dst = socket.inet_pton(family, dst).ljust(16, b"\0")[:16]
    assert alen in (4, 16)
    ident = struct.pack(">HH", sport, dport) + src + dst + \
        struct.pack("=III", 0, 0x1234, 0)
    return struct.pack("=BBBB", family, state, 0, 0) + ident + \
        struct.pack("=IIIII", 0, 0, 0, 0, inode)


def tcp_info(acked, received):
    # The fields ct_sockrec keeps, at their offsets in struct tcp_info.
    info = bytearray(232)
    struct.pack_into("=II", info, 68, 2000, 500)	# rtt, rttvar
    struct.pack_into("=I", info, 80, 10)		# snd_cwnd
    struct.pack_into("=Q", info, 120, acked)
    struct.pack_into("=Q", info, 128, received)
    return bytes(info)


def main(out):
    os.makedirs(out, exist_ok=True)
    est = diag_msg(socket.AF_INET, TCP_ESTABLISHED, 80, 40000,
                   "127.0.0.1", "127.0.0.1")
    full = est + attr(INET_DIAG_INFO, tcp_info(1001, 2002)) + \
        attr(INET_DIAG_SKMEMINFO, struct.pack("=9I", *range(9)))
    lis6 = diag_msg(socket.AF_INET6, TCP_LISTEN, 443, 0, "::1", "::")
    seeds = {
        "established_v4": nlmsg(SOCK_DIAG_BY_FAMILY, full) +
        nlmsg(NLMSG_DONE, struct.pack("=i", 0)),
        "listener_v6_and_time_wait": nlmsg(SOCK_DIAG_BY_FAMILY, lis6) +
        nlmsg(SOCK_DIAG_BY_FAMILY, diag_msg(socket.AF_INET, TCP_TIME_WAIT,
                                            40000, 80, "10.0.0.1", "10.0.0.2")),
        # An older kernel's shorter tcp_info, and a truncated attribute.
        "short_info": nlmsg(SOCK_DIAG_BY_FAMILY, est +
                            attr(INET_DIAG_INFO, tcp_info(5, 6)[:104])),
        "attr_past_end": nlmsg(SOCK_DIAG_BY_FAMILY, est +
                               struct.pack("=HH", 400, INET_DIAG_INFO)),
        "not_found": nlmsg(NLMSG_ERROR, struct.pack("=i", -2) + bytes(16)),
        # Read past the buffer once: a header with no body (state_cb), and
        # a length of 2^31 that libmnl takes as negative (fill_rec).
        "header_only": nlmsg(SOCK_DIAG_BY_FAMILY, b""),
        "length_2_31": nlmsg(SOCK_DIAG_BY_FAMILY, b"", length=1 << 31),
        "length_max": nlmsg(SOCK_DIAG_BY_FAMILY, est[:20], length=0xffffffff),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
