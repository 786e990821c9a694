"""Integration tests for `conntrace stats`.

Every test that counts runs conntrace and its traffic in a network namespace
of its own: the kernel keeps these counters per namespace, so nothing else on
the host (other tests included) can move them, and the bounds can be tight.
Traffic goes only to 127.0.0.1 inside that namespace; every wait is bounded.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time

from ctlib import (CONNTRACE, Netns, Pipe, enter_netns, reap, run_as_nobody,
                   spawn)

N = 20			# connections per test
SLACK = 2		# what a private namespace may add on its own (nothing, so far)
PORT = 5001		# free: the namespace is new
PAYLOAD = b"s" * 1000
# /proc/net/snmp fields that are settings, not counters: nstat drops them.
NOT_COUNTERS = {"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm", "TcpRtoMin",
                "TcpRtoMax", "TcpMaxConn", "TcpCurrEstab"}

def stats(*args, ns=None, timeout=15, **kw):
    """Runs `conntrace stats ARGS` to its end; returns the CompletedProcess."""
    cmd = [CONNTRACE, "stats", *args]
    if ns:
        cmd = ns.cmd(*cmd)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, **kw)


def stats_json(*args, ns=None):
    """The single snapshot `conntrace stats --json ARGS` prints."""
    r = stats("--json", *args, ns=ns)
    assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr)
    lines = r.stdout.splitlines()
    assert len(lines) == 1, "want one JSON line, got %r" % r.stdout
    return json.loads(lines[0])


# --- traffic, from processes of their own -----------------------------------

def server(ns, n, ready):
    enter_netns(ns)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", PORT))
    ls.listen(n)
    ls.settimeout(10)
    ready.send({"pid": os.getpid()})
    for _ in range(n):
        conn, _ = ls.accept()
        conn.settimeout(10)
        while conn.recv(65536):
            pass
        conn.close()
    ls.close()


def client(ns, n, done):
    enter_netns(ns)
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        c.sendall(PAYLOAD)
        c.close()
    done.send({"pid": os.getpid()})


def make_connections(ns, n=N):
    """Exactly n TCP connections from a client process to a server process."""
    ready, done = Pipe(), Pipe()
    spid = spawn(server, ns.name, n, ready)
    ready.recv()
    cpid = spawn(client, ns.name, n, done)
    done.recv(timeout=20)
    assert reap(cpid) == 0, "client failed"
    assert reap(spid) == 0, "server failed"


# --- a running `conntrace stats -d` ------------------------------------------

class Interval:
    """`conntrace stats -d ...` read one JSON line at a time."""

    def __init__(self, ns, *args):
        self.proc = subprocess.Popen(ns.cmd(CONNTRACE, "stats", *args),
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._buf = b""

    def line(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not r:
                raise TimeoutError("no snapshot within %.1fs" % timeout)
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("conntrace ended: " + self.proc.stderr.read().decode())
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def finish(self, timeout=10.0):
        """Waits for the end; returns (exit code, remaining lines, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        rest = [json.loads(x) for x in (self._buf + out).splitlines() if x.strip()]
        return self.proc.returncode, rest, err.decode()


def grown(before, after, name):
    return after["counters"][name] - before["counters"][name]


def lo_of(snap):
    los = [i for i in snap["interfaces"] if i["name"] == "lo"]
    assert len(los) == 1, "lo listed %d times" % len(los)
    return los[0]


# --- reference: /proc read by Python, for the naming ------------------------

def reference_counters(ns):
    """nstat's names and values, computed here from the same three files."""
    def cat(name):
        r = subprocess.run(ns.cmd("cat", "/proc/net/" + name),
                           capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else ""

    out = {}
    for f in ("snmp", "snmp6", "netstat"):
        lines = cat(f).splitlines()
        if f == "snmp6":
            for line in lines:
                if line.split():
                    name, val = line.split()
                    out[name] = int(val)
            continue
        for hdr, vals in zip(lines[0::2], lines[1::2]):
            h, v = hdr.split(), vals.split()
            prefix = h[0].rstrip(":")
            for field, val in zip(h[1:], v[1:]):
                if prefix + field not in NOT_COUNTERS:
                    out[prefix + field] = int(val)
    return out


# --- tests: counting ----------------------------------------------------------

def test_connections_counted():
    with Netns("stats") as ns:
        names = ("-z", "TcpActiveOpens", "TcpPassiveOpens")
        before = stats_json(*names, ns=ns)
        make_connections(ns)
        after = stats_json(*names, ns=ns)
        assert set(after["counters"]) == {"TcpActiveOpens", "TcpPassiveOpens"}
        assert after["interval_s"] is None
        for name in ("TcpActiveOpens", "TcpPassiveOpens"):
            d = grown(before, after, name)
            assert N <= d <= N + SLACK, "%s grew by %d for %d connections" % (name, d, N)


def test_interval_count_two():
    with Netns("stats") as ns:
        run = Interval(ns, "-d", "1", "--count", "2", "--json", "-z", "TcpActiveOpens")
        try:
            first = run.line()
            # The baseline was read before the first line: these all count.
            make_connections(ns)
        finally:
            rc, rest, err = run.finish()
        assert rc == 0, "exit %d: %s" % (rc, err)
        snaps = [first] + rest
        assert len(snaps) == 2, "want 2 snapshots, got %d" % len(snaps)
        for s in snaps:
            assert list(s["counters"]) == ["TcpActiveOpens"]
            assert 0.5 <= s["interval_s"] <= 2.0, s["interval_s"]
        # Ticks keep to a grid from the first read: one late wake-up makes
        # the next interval shorter, but two never end before 2 s.
        spent = sum(s["interval_s"] for s in snaps)
        assert 1.999 <= spent <= 3.0, spent
        total = sum(s["counters"]["TcpActiveOpens"] for s in snaps)
        assert N <= total <= N + SLACK, "deltas sum to %d for %d connections" % (total, N)


def test_deltas_hide_zeros():
    with Netns("stats") as ns:
        run = Interval(ns, "-d", "1", "--count", "2", "--json", "Tcp*")
        try:
            first = run.line()
            make_connections(ns)
        finally:
            rc, rest, err = run.finish()
        assert rc == 0, err
        assert first["counters"] == {}, "idle namespace moved: %s" % first
        second = rest[0]
        assert second["counters"]["TcpActiveOpens"] == N
        assert all(v > 0 for v in second["counters"].values())
        assert all(k.startswith("Tcp") for k in second["counters"])


def test_names_and_values_match_proc():
    with Netns("stats") as ns:
        ref = reference_counters(ns)
        got = stats_json("-z", ns=ns)["counters"]
        assert list(got) == list(ref), "names differ: %s" % (set(got) ^ set(ref))
        assert got == ref
        # Names as nstat spells them, from each of the three files.
        for name in ("TcpActiveOpens", "TcpExtTCPSynRetrans", "IpExtInOctets",
                     "Ip6InReceives", "Udp6InDatagrams"):
            assert name in got, name


def test_same_as_nstat():
    if not shutil.which("nstat"):
        print("     (nstat not installed: compared with /proc only)")
        return
    with Netns("stats") as ns:
        # -s: leave nstat's history file alone; an idle namespace stays still.
        r = subprocess.run(ns.cmd("nstat", "-asz", "--json"),
                           capture_output=True, text=True, timeout=15)
        assert r.returncode == 0, r.stderr
        want = json.loads(r.stdout)["kernel"]
        got = stats_json("-z", ns=ns)["counters"]
        assert got == want, "differs from nstat: %s" % (set(got) ^ set(want))


def test_zeros_hidden_by_default():
    with Netns("stats") as ns:
        make_connections(ns, 2)
        some = stats_json(ns=ns)["counters"]
        every = stats_json("-z", ns=ns)["counters"]
        assert some and all(v > 0 for v in some.values())
        assert set(some) < set(every)
        assert {k: v for k, v in every.items() if v} == some


def test_globs():
    with Netns("stats") as ns:
        got = stats_json("-z", "IpExt*Octets", "Udp6*", ns=ns)["counters"]
        assert "IpExtInOctets" in got and "Udp6InDatagrams" in got
        assert all(k.startswith("Udp6") or
                   (k.startswith("IpExt") and k.endswith("Octets")) for k in got)
        assert stats_json("-z", "NoSuchCounter*", ns=ns)["counters"] == {}


def test_text_output():
    with Netns("stats") as ns:
        make_connections(ns, 3)
        r = stats("TcpActiveOpens", "TcpPassiveOpens", ns=ns)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert [line.split() for line in r.stdout.splitlines()] == \
            [["TcpActiveOpens", "3"], ["TcpPassiveOpens", "3"]], r.stdout
        r = stats("-d", "0.2", "--count", "2", "-z", "TcpActiveOpens", ns=ns)
        lines = r.stdout.splitlines()
        assert r.returncode == 0 and len(lines) == 4, r.stdout
        assert lines[0].startswith("# ") and lines[0].endswith(" s)")
        assert lines[1].split() == ["TcpActiveOpens", "0"]


# --- tests: interfaces ------------------------------------------------------

def test_interfaces_lo_grows():
    with Netns("stats") as ns:
        before = lo_of(stats_json("--interfaces", "lo", ns=ns))
        make_connections(ns)
        after = stats_json("--interfaces", ns=ns)
        lo = lo_of(after)
        assert [i["name"] for i in after["interfaces"]] == ["lo"]
        assert lo["mtu"] == 65536
        # SYN, SYN-ACK, ACK, data, FIN at least: each one sent and received.
        for k in ("rx_packets", "tx_packets"):
            assert lo[k] - before[k] >= 5 * N, "%s grew by %d" % (k, lo[k] - before[k])
        assert lo["rx_bytes"] - before["rx_bytes"] >= N * len(PAYLOAD)
        assert lo["rx_packets"] == lo["tx_packets"]  # lo hears what it says
        assert lo["rx_errors"] == lo["tx_errors"] == 0


def test_interfaces_interval():
    with Netns("stats") as ns:
        run = Interval(ns, "--interfaces", "-d", "1", "--count", "2", "--json", "lo")
        try:
            first = run.line()
            make_connections(ns)
        finally:
            rc, rest, err = run.finish()
        assert rc == 0 and len(rest) == 1, "exit %d, %d more lines: %s" % (rc, len(rest), err)
        assert lo_of(first)["rx_packets"] == 0
        lo = lo_of(rest[0])
        assert lo["mtu"] == 65536 and 0.5 <= rest[0]["interval_s"] <= 2.0
        assert lo["tx_packets"] >= 5 * N


def test_interfaces_text():
    with Netns("stats") as ns:
        r = stats("--interfaces", ns=ns)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split() == ["Iface", "MTU", "RX-OK", "RX-ERR", "RX-DRP",
                                    "RX-OVR", "TX-OK", "TX-ERR", "TX-DRP",
                                    "TX-OVR", "RX-BYTES", "TX-BYTES"]
        lo = [line.split() for line in lines[1:] if line.split()[0] == "lo"]
        assert len(lo) == 1 and lo[0][1] == "65536" and len(lo[0]) == 12, lines


# --- tests: the command line and the process --------------------------------

def test_cli_errors():
    bad = [["--bogus"], ["-x"], ["-d"], ["-d", "0"], ["-d", "abc"],
           ["--interval", "-1"], ["--count", "3"], ["-d", "1", "--count", "0"],
           ["-d", "1", "--count", "1000000001"], ["-d", "86401"],
           ["[Tcp"], ["Tcp*", "IpExt\\"]]
    for args in bad:
        r = stats(*args)
        lines = r.stderr.splitlines()
        assert r.returncode == 2, "%s: exit %d" % (args, r.returncode)
        assert r.stdout == "", "%s printed %r" % (args, r.stdout)
        assert len(lines) == 1 and lines[0].startswith("conntrace: "), \
            "%s: stderr %r" % (args, r.stderr)


def test_help():
    for flag in ("-h", "--help"):
        r = stats(flag)
        assert r.returncode == 0 and r.stderr == ""
        assert r.stdout.startswith("Usage: conntrace stats")
    r = subprocess.run([CONNTRACE, "--help"], capture_output=True, text=True,
                       timeout=10)
    assert "stats" in r.stdout


def check_signal_ends_cleanly(sig):
    p = subprocess.Popen([CONNTRACE, "stats", "-d", "30", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("still running 5s after signal %d" % sig)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, err)
    assert time.monotonic() - t0 < 2, "slow to stop"
    assert out == b"" and err == b""


def test_sigint_ends_cleanly():
    check_signal_ends_cleanly(signal.SIGINT)


def test_sigterm_ends_cleanly():
    check_signal_ends_cleanly(signal.SIGTERM)


def test_no_root_needed():
    for args in (["--json"], ["--interfaces", "--json"], ["-d", "0.1", "--count", "1", "--json"]):
        r = run_as_nobody("stats", *args, timeout=10)
        assert r.returncode == 0, "%s as nobody: exit %d: %s" % (args, r.returncode, r.stderr)
        snap = json.loads(r.stdout.splitlines()[0])
        assert "counters" in snap or "interfaces" in snap
