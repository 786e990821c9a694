"""Tests of the test helpers themselves: a namespace setup that fails
halfway must leave no namespace behind, and must say why ip failed."""
import os

import ctlib
from ctlib import Netns, VethPair


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
