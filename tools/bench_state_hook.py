#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""The state hook's cost per transition under loopback churn.

Starts `conntrace watch` (output thrown away), makes CHURN_CONNS short
loopback connections between two processes, and reads the run time and run
count of conntrace's state program from the kernel's BPF stats
(kernel.bpf_stats_enabled, restored on exit). Run as root, under the
shared lock other root tests use.

Settings: CHURN_CONNS (default 3000), CHURN_SECONDS (time bound, 60).
"""
import json
import os
import socket
import subprocess
import sys
import time

from benchlib import env_int, read_file, run_guarded

HERE = os.path.dirname(os.path.abspath(__file__))
CONNTRACE = os.environ.get("CT_BIN") or os.path.join(os.path.dirname(HERE), "conntrace")
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def prog_ids(pid):
    """The ids of the BPF programs a process holds, from its fdinfo."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        for line in read_file(os.path.join(d, fd)).splitlines():
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    return ids


def state_progs(pid):
    """run_time_ns of pid's state programs, ct_state_* and ct_rescue_*, and
    run_cnt and recursion_misses of the first (ct_rescue_* runs for every
    transition too, and takes what the kernel skipped the first for).
    Names as bpftool shows them, at most 15 characters without BTF."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"],
                         capture_output=True, text=True, check=True).stdout
    ids = prog_ids(pid)
    tot = [0, 0, 0]
    for p in json.loads(out or "[]"):
        name = p.get("name", "")
        if not name.startswith(("ct_state", "ct_rescue")) or p["id"] not in ids:
            continue
        tot[0] += p.get("run_time_ns", 0)
        if name.startswith("ct_state"):
            tot[1] += p.get("run_cnt", 0)
            tot[2] += p.get("recursion_misses", 0)
    return tot


def serve(ls, count):
    ls.settimeout(10)
    for _ in range(count):
        c, _ = ls.accept()
        c.close()


def churn(port, count, deadline):
    done = 0
    while done < count and time.monotonic() < deadline:
        c = socket.create_connection(("127.0.0.1", port))
        c.close()
        done += 1
    return done


class Bench:
    def __init__(self):
        self.count = env_int("bench_state_hook", "CHURN_CONNS", 3000, 1, 20000)
        self.seconds = env_int("bench_state_hook", "CHURN_SECONDS", 60, 1, 600)
        self.stats_orig = read_file(STATS).strip()
        self.watch = None
        self.server = 0

    def run(self):
        with open(STATS, "w") as f:
            f.write("1")
        self.watch = subprocess.Popen([CONNTRACE, "watch", "--json"],
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        line = self.watch.stderr.readline().decode()
        if "tracing" not in line:
            raise RuntimeError("conntrace did not start: " + line.strip())
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(512)
        port = ls.getsockname()[1]
        self.server = os.fork()
        if self.server == 0:
            try:
                serve(ls, self.count)
            finally:
                os._exit(0)
        ls.close()
        before = state_progs(self.watch.pid)
        t0 = time.monotonic()
        done = churn(port, self.count, t0 + self.seconds)
        secs = time.monotonic() - t0
        time.sleep(0.5)
        after = state_progs(self.watch.pid)
        ns, cnt, miss = (a - b for a, b in zip(after, before))
        print("churn: %d connections in %.2f s, %d transitions, %.0f ns per "
              "transition, %d recursion misses" %
              (done, secs, cnt, ns / cnt if cnt else 0, miss))

    def cleanup(self):
        if self.server:
            try:
                os.waitpid(self.server, 0)
            except ChildProcessError:
                pass
        if self.watch and self.watch.poll() is None:
            self.watch.send_signal(2)
            self.watch.wait(timeout=10)
        if self.stats_orig:
            with open(STATS, "w") as f:
                f.write(self.stats_orig)


if __name__ == "__main__":
    sys.exit(run_guarded(Bench(), "bench_state_hook", (RuntimeError, OSError)))
