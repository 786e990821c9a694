"""Two instances of watch and one of top at once: each sees the traffic as
if it ran alone, and when they end nothing of theirs stays attached.
"""
import json
import socket
import signal
import subprocess
import time

from ctlib import Ports, Watch, bpf_prog_names
from test_watch import ACTIVE_CLOSE, PASSIVE_CLOSE_ACCEPTED, expect_conn, run_pair

next_port = Ports(26000)


def ours():
    """conntrace's programs and the links that hold them, by id."""
    progs = {p for p in bpf_prog_names() if p.startswith("ct_")}
    out = subprocess.run(["bpftool", "link", "show", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ids = set()
    listing = json.loads(out.stdout or "[]")
    names = subprocess.run(["bpftool", "prog", "show", "--json"],
                           capture_output=True, text=True)
    by_id = {p["id"]: p.get("name", "") for p in json.loads(names.stdout or "[]")}
    for link in listing:
        if by_id.get(link.get("prog_id"), "").startswith("ct_"):
            ids.add(link["id"])
    return progs, ids


def wait_gone(before):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        progs, links = ours()
        if not (progs - before[0]) and not (links - before[1]):
            return
        time.sleep(0.2)
    raise AssertionError("left attached: programs %s, links %s" % (progs, links))


def test_two_watches_and_top_side_by_side():
    before = ours()
    port = next_port()
    running = []
    try:
        for _ in range(2):
            running.append(Watch("--port", str(port)))
        running.append(Watch("--interval", "0.5", mode="top"))
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port, "wait_eof",
                                     "close_first")
        for w in running[:2]:
            expect_conn(w, lport, port, ACTIVE_CLOSE, cpid)
            expect_conn(w, port, lport, PASSIVE_CLOSE_ACCEPTED, spid)
        top = running[2]
        assert top.wait_for(lambda ev: len(ev) >= 2, timeout=10), \
            "top printed no snapshot beside the watches"
    finally:
        codes = [w.stop(signal.SIGINT) for w in running]
    assert codes == [0] * len(running), [w.stderr for w in running]
    wait_gone(before)
