"""Tests of the test helpers themselves: a namespace setup that fails
halfway must leave no namespace behind, and must say why ip failed; a
lossy transfer told to go on until it lost something did lose, as the
kernel counts it."""
import os

import ctlib
from ctlib import (Netns, Pipe, VethPair, bulk_client, lossy_server, reap,
                   spawn, ss_total_retrans)


def ct_namespaces():
    return {n for n in os.listdir("/run/netns") if n.startswith("ct-")} \
        if os.path.isdir("/run/netns") else set()


def expect_setup_failure(ns, want_in_message):
    """Enters ns, which must fail; returns the failure's message."""
    before = ct_namespaces()
    try:
        with ns:
            raise AssertionError("setup did not fail")
    except RuntimeError as exc:
        msg = str(exc)
    assert want_in_message in msg, msg
    left = [n for n in ns.names if os.path.exists("/run/netns/" + n)]
    assert not left, "left behind: %s" % left
    assert ct_namespaces() <= before, ct_namespaces() - before
    return msg


def test_veth_setup_failure_cleans_up():
    # ip refuses the address after both namespaces and the pair exist.
    msg = expect_setup_failure(VethPair("fail", "198.18.9.1", "198.18.9.300"),
                               "198.18.9.300")
    # ip's own words, not only its exit status.
    assert "exit 1: " in msg and len(msg.split("exit 1: ", 1)[1]) > 0, msg


def test_netns_setup_failure_cleans_up():
    real_sh = ctlib.sh

    def sh_failing_on_lo(*cmd):
        if cmd[-3:] == ("set", "lo", "up"):
            real_sh("ip", "link", "set", "no-such-device-ct", "up")
        real_sh(*cmd)

    ctlib.sh = sh_failing_on_lo
    try:
        expect_setup_failure(Netns("fail"), "no-such-device-ct")
    finally:
        ctlib.sh = real_sh


def test_setup_success_then_removed():
    with VethPair("ok", "198.18.9.5", "198.18.9.6") as net:
        assert all(os.path.exists("/run/netns/" + n) for n in net.names)
    assert not any(os.path.exists("/run/netns/" + n) for n in net.names)


def test_bulk_client_goes_on_until_it_retransmitted():
    """The client's own count (TCP_INFO at a fixed offset) is what ss -ti
    shows, and more than nothing: 1 MiB, and on to 8 MiB at most, is more
    than a hundred draws of a 5% loss."""
    size, port = 1 << 20, 26990
    ready, out, go = Pipe(), Pipe(), Pipe()
    kids = []
    with VethPair("bulk", "198.18.9.9", "198.18.9.10") as net:
        try:
            kids.append(spawn(lossy_server, net.b, net.addr_b, port, ready,
                              0.05))
            ready.recv()
            kids.append(spawn(bulk_client, net.a, net.addr_b, port, out, go,
                              size, True))
            lport = out.recv()["lport"]
            done = out.recv(timeout=60)
            assert size <= done["sent"] <= 8 * size, done
            assert done["sent"] % 65536 == 0, done
            assert done["retrans"] > 0, done
            assert ss_total_retrans(net.a, lport, port) == done["retrans"], \
                done
        finally:
            go.send({})
            codes = [reap(pid, timeout=30) for pid in kids]
    assert codes == [0] * len(kids), codes
