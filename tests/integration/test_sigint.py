"""SIGINT and SIGTERM end the live modes within half a second, even while
connections pour in faster than conntrace can read their events, and the
mode still prints its loss report on the way out.

The load is loopback connection churn from separate processes, bounded in
count and in time.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from ctlib import (CONNTRACE, Pipe, Ports, emulated_cpu, listen_on, reap, skip,
                   spawn, wait_tracing)

next_port = Ports(24000)
CLIENTS = 2
CHURN_S = 4.0		# the generator stops by itself after this
MAX_CONNS = 200000	# per client
LOAD_S = 2.0		# churn this long before the signal
DEADLINE_S = 0.5	# the target: gone this soon after the signal


def churn_server(port, ready):
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, backlog=4096)
    ls.settimeout(0.2)
    ready.send("up")
    end = time.monotonic() + CHURN_S + 1
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        try:
            c.recv(1)
        except OSError:
            pass
        c.close()


def churn_client(port, out):
    # A reset on close: no TIME_WAIT, so the ephemeral ports never run out.
    linger = struct.pack("ii", 1, 0)
    end = time.monotonic() + CHURN_S
    n = 0
    while n < MAX_CONNS and time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        try:
            # A byte each, so every close is a share that top accounts for.
            s.connect(("127.0.0.1", port))
            s.send(b"x")
            n += 1
        except OSError:
            pass
        s.close()
    out.send(n)


class Churn:
    """A listener and CLIENTS connecting processes, reaped on exit."""

    def __enter__(self):
        self.port = next_port()
        self.pids = []
        self.counts = Pipe()
        ready = Pipe()
        try:
            self.pids.append(spawn(churn_server, self.port, ready))
            ready.recv()
            for _ in range(CLIENTS):
                self.pids.append(spawn(churn_client, self.port, self.counts))
        except BaseException:
            self.__exit__()
            raise
        return self

    def connections(self):
        return sum(self.counts.recv(timeout=CHURN_S + 5) for _ in range(CLIENTS))

    def __exit__(self, *exc):
        for pid in self.pids:
            reap(pid, timeout=CHURN_S + 5)


class CpuCap:
    """A cgroup that holds a process to a quarter of one CPU: its consumer
    then falls behind the load for sure, as on a busy machine. Without a
    CPU controller it caps nothing, and the load alone must do. (At a
    tenth, watch ended 0.62 s after SIGTERM in 2 runs of 20: the work
    after the stop, detaching and the loss report, waits for the quota.)"""

    SHARE_US, PERIOD_US = 25000, 100000

    def __init__(self, wanted=True):
        self.wanted = wanted

    def __enter__(self):
        name = "ct-sigint-%d" % os.getpid()
        self.path = None
        if not self.wanted:
            return self
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            path = os.path.join("/sys/fs/cgroup", name)
            limits = {"cpu.max": "%d %d" % (self.SHARE_US, self.PERIOD_US)}
        elif os.path.isdir("/sys/fs/cgroup/cpu"):
            path = os.path.join("/sys/fs/cgroup/cpu", name)
            limits = {"cpu.cfs_period_us": str(self.PERIOD_US),
                      "cpu.cfs_quota_us": str(self.SHARE_US)}
        else:
            return self
        try:
            os.mkdir(path)
            self.path = path
            for f, v in limits.items():
                with open(os.path.join(path, f), "w") as fh:
                    fh.write(v)
        except OSError:
            self.__exit__()
        return self

    def add(self, pid):
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as fh:
                fh.write(str(pid))

    def __exit__(self, *exc):
        if not self.path:
            return
        # Whatever is still inside goes back to the root before the rmdir.
        root = os.path.dirname(self.path)
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as fh:
                pids = fh.read().split()
            for pid in pids:
                with open(os.path.join(root, "cgroup.procs"), "w") as fh:
                    fh.write(pid)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(self.path)
                break
            except OSError:
                time.sleep(0.1)
        self.path = None


def start(mode, args, out, ready=b"tracing"):
    p = subprocess.Popen([CONNTRACE, mode, *args], stdout=out,
                         stderr=subprocess.PIPE)
    wait_tracing(p, word=ready)
    return p


def signal_under_load(p, cap, sig):
    """Seconds from the signal to the exit, and the connections made."""
    with Churn() as churn:
        cap.add(p.pid)
        time.sleep(LOAD_S)
        assert p.poll() is None, "conntrace ended before the signal"
        t0 = time.monotonic()
        p.send_signal(sig)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running 30 s after the signal")
        took = time.monotonic() - t0
        return took, churn.connections()


def json_lines(data):
    """What a mode printed is whole: every line a complete JSON object."""
    lines = data.decode().splitlines()
    assert lines, "printed nothing under load"
    for line in lines:
        json.loads(line)


def check_stops_under_load(mode, args, report, sig=signal.SIGINT,
                           ready=b"tracing", check_out=json_lines,
                           deadline=DEADLINE_S):
    slow = emulated_cpu()
    if slow:
        skip("its deadline and load are for a real CPU: %s" % slow)
    with tempfile.TemporaryFile() as out, CpuCap() as cap:
        p = start(mode, args, out, ready)
        try:
            took, made = signal_under_load(p, cap, sig)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            err = p.stderr.read().decode()
            p.stderr.close()
        # The load was real: thousands of connections while conntrace ran.
        print("%s %s: ended %.3f s after %s, %d connections" % (
            mode, " ".join(args), took, signal.Signals(sig).name, made))
        assert made >= 2000, "only %d connections made" % made
        assert p.returncode == 0, "exit %s: %s" % (p.returncode, err)
        assert took < deadline, "ended %.2f s after the signal" % took
        assert report in err, "no loss report in: %r" % err
        out.seek(0)
        check_out(out.read())
    return err


# The default stream: transitions and every event kind this kernel has.
WATCH_ARGS = ["--json", "-v"]
TOP_ARGS = ["--json", "-v", "--interval", "0.5"]


def test_watch_sigint_under_churn():
    check_stops_under_load("watch", WATCH_ARGS, "events lost")


def test_watch_sigterm_under_churn():
    check_stops_under_load("watch", WATCH_ARGS, "events lost",
                           sig=signal.SIGTERM)


def test_watch_lifetime_sigint_under_churn():
    check_stops_under_load("watch", WATCH_ARGS + ["-L"], "events lost")


def test_top_sigint_under_churn():
    # Capped like watch: a sample under way ends at the signal too.
    check_stops_under_load("top", TOP_ARGS, "close records lost")


def test_top_sigterm_under_churn():
    check_stops_under_load("top", TOP_ARGS, "close records lost",
                           sig=signal.SIGTERM)


def nothing_printed(data):
    assert data == b"", "printed on stdout: %r" % data[:200]


def test_export_sigterm_under_churn():
    # Its losses are metrics; on the way out it says it detached.
    check_stops_under_load(
        "export", ["--listen", "127.0.0.1:0", "--interval", "0.5", "-v"],
        "export stopped", sig=signal.SIGTERM, ready=b"serving metrics",
        check_out=nothing_printed)


def test_record_sigint_under_churn():
    d = tempfile.mkdtemp(prefix="ct-sigint-")
    path = os.path.join(d, "rec")
    try:
        err = check_stops_under_load("record", ["-w", path, "-v"],
                                     "events lost", ready=b"recording to",
                                     check_out=nothing_printed)
        # The recording was closed whole: replay reads it to its end.
        r = subprocess.run([CONNTRACE, "replay", path, "watch", "--json"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        json_lines(r.stdout)
        # What the stop had no time for is in the recording's losses too.
        r = subprocess.run([CONNTRACE, "replay", "--info", path],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        m = re.search(r"kernel records, ring buffer full: (\d+)", r.stdout)
        assert m, r.stdout
        said = sum(int(n) for n in re.findall(
            r"conntrace: (\d+) events lost \((?:ring buffer full|left in "
            r"the ring buffer at exit|held at the stop)", err))
        assert int(m.group(1)) == said, (r.stdout, err)
    finally:
        shutil.rmtree(d, ignore_errors=True)
