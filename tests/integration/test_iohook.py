"""The per-call I/O hook counts exact bytes whichever family runs it: the
one conntrace picks here, or the one CONNTRACE_HOOKS forces. The kernel
matrix (tests/kmatrix) runs this file once per family its kernel has
(fexit and kprobes on 6.1), with CONNTRACE_HOOKS set for the whole run.
"""
import os
import re
import socket

import test_top
from ctlib import Pipe, Ports, big_rcvbuf, reap, spawn

next_port = Ports(29000)
UP, DOWN = 70001, 30011
COUNT, SIZE = 150, 1200


def forced_io_hook():
    """The I/O family CONNTRACE_HOOKS forces, None if it forces none."""
    for item in os.environ.get("CONNTRACE_HOOKS", "").split(","):
        if item.startswith("io="):
            return {"fexit": "fentry"}.get(item[3:], item[3:])
    return None


def started_with(w):
    # Unforced, the probe's choice is test_kernel's business: any family
    # but none will do here.
    m = re.search(r"per-call hook: (\w+)\)", w.stderr)
    assert m, w.stderr
    want = forced_io_hook()
    assert m.group(1) == want if want else m.group(1) != "none", (want, w.stderr)


def check_tcp(family, addr, peek=False):
    test_top.check_exchange(family, addr, UP, DOWN, top_args=("--shares",),
                            started=started_with, peek=peek)


def udp_server(family, addr, port, ready, peek):
    s = socket.socket(family, socket.SOCK_DGRAM)
    big_rcvbuf(s)
    s.bind((addr, port))
    ready.send({"pid": os.getpid()})
    s.settimeout(20)
    for _ in range(COUNT):
        if peek:
            # recvmsg()'s flags sit in a different argument before 5.19:
            # a hook reading the wrong one would count this peek.
            s.recv(SIZE, socket.MSG_PEEK)
        assert len(s.recv(65536)) == SIZE
    s.close()


def udp_client(family, addr, port, out):
    s = socket.socket(family, socket.SOCK_DGRAM)
    out.send({"pid": os.getpid()})
    for _ in range(COUNT):
        s.sendto(b"q" * SIZE, (addr, port))
    s.close()


def check_udp(family, addr):
    port = next_port()
    # No --port: the client's unconnected socket has no peer port to match.
    w = test_top.top("-u")
    try:
        started_with(w)
        ready, out = Pipe(), Pipe()
        spid = spawn(udp_server, family, addr, port, ready, True)
        ready.recv(30)
        cpid = spawn(udp_client, family, addr, port, out)
        out.recv(30)
        assert reap(cpid, 30) == 0 and reap(spid, 30) == 0
        test_top.wait_proc(w, cpid, COUNT * SIZE, 0, timeout=20)
        test_top.wait_proc(w, spid, 0, COUNT * SIZE, timeout=20)
        srv = test_top.conn_of(test_top.last(w), spid, port)
        assert srv and srv["rx_calls"] == COUNT, srv
    finally:
        assert w.stop() == 0, w.stderr


def test_tcp_exact_bytes():
    check_tcp(socket.AF_INET, "127.0.0.1", peek=True)
    check_tcp(socket.AF_INET6, "::1")


def test_udp_exact_bytes_and_peeks():
    check_udp(socket.AF_INET, "127.0.0.1")
    # udpv6_sendmsg/udpv6_recvmsg: functions of their own for fexit and kprobes.
    check_udp(socket.AF_INET6, "::1")
