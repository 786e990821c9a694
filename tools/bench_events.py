#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What watch's event hooks cost (make bench; issue 14's benchmark).

Per event: with kernel.bpf_stats_enabled=1, `conntrace watch --events all`
runs while this script makes events on loopback: refused connects (a reset
sent for no socket, a reset received, a failed connect), connections reset
with SO_LINGER 0, and a transfer through a socket filter that drops a share
of the packets (retransmits, and kfree_skb drops with reason
SOCKET_FILTER). The run count and run time of each program give the
nanoseconds per run; kfree_skb's program runs for every drop on the host,
TCP or not, and pays its filter on each.

Throughput: iperf3 over 127.0.0.1 with 128-byte writes, untraced, under
`watch --events state` and under `watch --events all`, in a rotating
order, BENCH_EVENTS_ROUNDS rounds (default 3) of BENCH_EVENTS_SECONDS
(default 4): the median of each and its ratio to the untraced median.
Loopback loses nothing, so this shows what the hooks cost where nothing
goes wrong: nothing per send or receive.
"""

import ctypes
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

from benchlib import (Part, env_int, merge_json, prog_ids_of, prog_stats,
                      run_part, wait_for_text)

CONNTRACE = "./conntrace"
SO_ATTACH_FILTER = 26
# The lossy transfer's reader gives up past this: the bench always ends.
READ_TIMEOUT_S = 60


def reap(pid):
    """Waits for the reader, bounded by its own timeout, then kills it."""
    deadline = time.monotonic() + READ_TIMEOUT_S + 5
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def drop_share(sock, share):
    """A classic BPF socket filter dropping `share` of packets at random."""
    threshold = int((1.0 - share) * 0xffffffff)
    insns = [(0x20, 0, 0, 0xfffff038), (0x35, 0, 1, threshold),
             (0x06, 0, 0, 0), (0x06, 0, 0, 0xffffffff)]
    prog = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *i) for i in insns))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(prog)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_events(n):
    """n refused connects, n reset connections, and one lossy transfer."""
    closed = free_port()
    for _ in range(n):
        c = socket.socket()
        try:
            c.connect(("127.0.0.1", closed))
        except ConnectionRefusedError:
            pass
        c.close()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    for _ in range(n):
        c = socket.create_connection(ls.getsockname())
        a, _ = ls.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        a.close()
    drop_share(ls, 0.05)
    c = socket.create_connection(ls.getsockname())
    a, _ = ls.accept()
    pid = os.fork()
    if pid == 0:
        # The child must not hold the sender's end too, or its close
        # sends no FIN and the reader waits for ever.
        c.close()
        ls.close()
        a.settimeout(READ_TIMEOUT_S)
        try:
            while a.recv(65536):
                pass
        finally:
            os._exit(0)
    a.close()
    try:
        c.sendall(b"x" * (8 << 20))
    finally:
        c.close()
        ls.close()
        reap(pid)


class BenchEvents(Part):
    def __init__(self):
        super().__init__("bench events")
        self.rounds = env_int("bench events", "BENCH_EVENTS_ROUNDS", 3, 1, 20)
        self.seconds = env_int("bench events", "BENCH_EVENTS_SECONDS", 4, 1, 60)

    def watch(self, events, tag):
        err = os.path.join(self.tmp, f"watch-{tag}.err")
        with open(err, "w") as ef, open(os.devnull, "w") as out:
            p = self.children.start([CONNTRACE, "watch", "--json", "--events",
                                     events], "conntrace", stdout=out, stderr=ef)
        if not wait_for_text(err, "tracing", p, 20):
            self.children.stop(p)
            raise RuntimeError("conntrace watch did not start: " +
                               open(err).read().strip())
        return p

    def per_event(self):
        p = self.watch("all", "per-event")
        try:
            time.sleep(0.5)
            make_events(200)
            time.sleep(0.5)
            stats = prog_stats(prog_ids_of(p.pid))
        finally:
            self.children.stop(p)
        res = {}
        for name, s in sorted(stats.items()):
            if s["run_cnt"] and s["type"] in ("tracing", "raw_tracepoint"):
                res[name] = {"runs": s["run_cnt"],
                             "ns_per_run": round(s["run_time_ns"] / s["run_cnt"], 1)}
        return res

    def iperf(self, port):
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port),
                              "-l", "128", "-t", str(self.seconds), "-J"],
                             capture_output=True, text=True,
                             timeout=self.seconds + 30)
        return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]

    def throughput(self):
        port = free_port()
        server = self.children.start(["iperf3", "-s", "-B", "127.0.0.1", "-p",
                                      str(port)], "iperf3",
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(1)
        modes = ("untraced", "state", "all")
        res = {m: [] for m in modes}
        try:
            for r in range(self.rounds):
                for m in modes[r % 3:] + modes[:r % 3]:
                    p = None if m == "untraced" else self.watch(m, f"{m}-{r}")
                    try:
                        res[m].append(self.iperf(port))
                    finally:
                        if p:
                            self.children.stop(p)
        finally:
            self.children.stop(server)
        med = {m: statistics.median(v) for m, v in res.items()}
        return {m: {"median_gbit_s": round(med[m] / 1e9, 3),
                    "ratio": round(med[m] / med["untraced"], 3)} for m in modes}

    def run(self):
        mach = self.begin(CONNTRACE)
        per_event = self.per_event()
        tput = self.throughput()
        print("event hooks, ns per run (bpf_stats), watch --events all:")
        for name, s in per_event.items():
            print(f"  {name:20s} {s['ns_per_run']:8.1f} ns  ({s['runs']} runs)")
        print("iperf3 127.0.0.1, 128-byte writes, median of "
              f"{self.rounds} x {self.seconds} s:")
        for m, s in tput.items():
            print(f"  {m:9s} {s['median_gbit_s']:.3f} Gbit/s  x{s['ratio']:.3f}")
        merge_json(self.outdir, "events", {"machine": mach, "per_event": per_event,
                                           "throughput_128B": tput},
                   "bench events")


def main():
    return run_part(BenchEvents, "bench events", "BENCH_EVENTS")


if __name__ == "__main__":
    sys.exit(main())
