#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Soak (make soak; issue 11): each long-running mode for SOAK_SECS at the
machine's highest loopback churn, with 20,000 idle connections held.

Modes: `watch --json`, `watch -L --json` (both on the churn's port and
transitions only, so that what was caused is known), `top --json`, and
`export` scraped every 5 s. For each: RSS every 5 s, CPU (user + sys),
BPF run time per program (kernel.bpf_stats_enabled=1, restored after),
loss, and the time from SIGINT to exit.

Targets, each failing the run (exit 1):
  - RSS flat after warm-up: the last sample at most 10% (and 2 MiB) above
    the first sample after SOAK_WARMUP seconds; for `watch`, plus the
    bound of its table of TIME_WAIT connections, which fills for 60 s (see
    HOLDS_KIB);
  - watch: printed + lost == caused, less what the kernel skips without a
    trace (at most 1 in 500, see tests/integration/test_churn.py), never
    more (watch -L's loss is in transitions, not its lines: reported only);
  - gone within 0.5 s of SIGINT.

  SOAK_SECS     seconds per mode (default 60, 10 to 600)
  SOAK_IDLE     idle connections held (default 20000)
  SOAK_WARMUP   seconds of warm-up before RSS must stay flat (default 15)
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from bench_churn import BenchChurn, count_printed, free_port, lost_in
from benchlib import (ConnsPart, cpu_seconds, env_int, prog_ids_of,
                      prog_stats, read_file, rss_kib, run_part, stats_delta,
                      wait_for_text)

CONNTRACE = "./conntrace"
SAMPLE_S = 5.0
DEADLINE_S = 0.5
KERNEL_SKIPS = 1 / 500
RSS_GROWTH, RSS_SLACK_KIB = 0.10, 2048
# Transitions a connection causes, as watch prints them (bench_churn's).
PER_CONN = 10
ON_PORT = ("watch", "watch -L")
# watch follows each connection in TIME_WAIT for the kernel's 60 s
# (TCP_TIMEWAIT_LEN) to print its end, so its table of held lines fills
# for the first 60 s of churn, past any warm-up shorter than that, and
# stops at MAX_HOLDS (65,536) entries of 248 bytes (src/engine/events.c):
# growth up to that bound is by design. watch -L holds none.
HOLDS_KIB = 65536 * 248 // 1024
BOUNDED = {"watch": HOLDS_KIB}


class Soak(ConnsPart):
    def __init__(self):
        super().__init__("soak")
        self.secs = env_int("soak", "SOAK_SECS", 60, 10, 600)
        self.idle = env_int("soak", "SOAK_IDLE", 20000, 0, 100000)
        self.warmup = env_int("soak", "SOAK_WARMUP", 15, 0, 300)
        # The churn generator of make bench, for as long as a mode runs.
        self.gen = BenchChurn()
        self.gen.seconds = self.secs
        self.gen.max_conns = 10 ** 8
        self.failed = []

    def cleanup(self):
        self.gen.cleanup()
        super().cleanup()

    def start(self, name, argv, ready):
        err = os.path.join(self.tmp, name.replace(" ", "_") + ".err")
        out = os.path.join(self.tmp, name.replace(" ", "_") + ".out")
        with open(out, "w") as o, open(err, "w") as e:
            ct = self.children.start([CONNTRACE, *argv], stdout=o, stderr=e)
        line = wait_for_text(err, ready, ct, 30)
        if line is None:
            raise RuntimeError(f"{name} did not start: {read_file(err)[-300:]}")
        return ct, out, err, line

    def one(self, name, argv, ready, port):
        ct, out, err, line = self.start(name, argv, ready)
        scrape = None
        if name == "export":
            scrape = "http://%s/metrics" % re.search(r"http://(\S+?)/metrics", line).group(1)
        ids = prog_ids_of(ct.pid)
        s0 = prog_stats(ids)
        cpu0 = cpu_seconds(ct.pid)
        made = {}
        gen = threading.Thread(target=lambda: made.update(
            zip(("done", "secs", "served"), self.gen.generate(port, 0))))
        t0 = time.monotonic()
        gen.start()
        rss, scrapes = [], 0
        while gen.is_alive():
            gen.join(SAMPLE_S)
            rss.append((round(time.monotonic() - t0), rss_kib(ct.pid)[0]))
            if scrape:
                with urllib.request.urlopen(scrape, timeout=5) as r:
                    metrics = r.read().decode()
                scrapes += 1
        if ct.poll() is not None:
            raise RuntimeError(f"{name} exited during the soak: {read_file(err)[-300:]}")
        prog = stats_delta(prog_stats(ids | prog_ids_of(ct.pid)), s0)
        cpu = cpu_seconds(ct.pid) - cpu0
        t1 = time.monotonic()
        ct.send_signal(signal.SIGINT)
        try:
            ct.wait(timeout=30)
        except subprocess.TimeoutExpired:
            ct.kill()
            ct.wait()
        stop_s = time.monotonic() - t1
        self.children.stop(ct)
        r = {"mode": name, "connections": made.get("done"), "cpu_s": round(cpu, 2),
             "rss_kib": rss, "stop_s": round(stop_s, 3),
             "bpf": {p: {"run_cnt": v["run_cnt"],
                         "ns_per_run": round(v["run_time_ns"] / v["run_cnt"])
                         if v["run_cnt"] else None} for p, v in prog.items()}}
        said = read_file(err)
        r["lost"] = lost_in(said)
        if name == "watch":
            r["caused"] = PER_CONN * (made.get("done") or 0)
            r["printed"] = count_printed(out, port)
            r["lost_transitions"] = lost_transitions(said)
        if scrape:
            r["scrapes"] = scrapes
            r["lost_metrics"] = [l for l in metrics.splitlines()
                                 if "lost" in l and not l.startswith("#")][:6]
        self.check(r)
        return r

    def check(self, r):
        name = r["mode"]
        after = [k for t, k in r["rss_kib"] if t >= self.warmup and k]
        if len(after) >= 2 and after[-1] > BOUNDED.get(name, 0) + max(
                after[0] * (1 + RSS_GROWTH), after[0] + RSS_SLACK_KIB):
            self.failed.append(f"{name}: RSS grew {after[0]} -> {after[-1]} KiB")
        if r["stop_s"] >= DEADLINE_S:
            self.failed.append(f"{name}: ended {r['stop_s']} s after SIGINT")
        if "caused" in r:
            got = r["printed"] + r["lost_transitions"]
            if got > r["caused"] or r["caused"] - got > r["caused"] * KERNEL_SKIPS:
                self.failed.append(f"{name}: printed {r['printed']} + lost "
                                   f"{r['lost_transitions']}, caused {r['caused']}")

    def run(self):
        self.begin(CONNTRACE)
        if self.idle:
            info = self.conns.open(self.idle)
            print(f"soak: {info['connections']} idle connections held by "
                  f"{info['processes']} processes", flush=True)
        res = []
        for name, argv, ready in (
                ("watch", ["watch", "--json", "--events", "state", "-v"], "tracing"),
                ("watch -L", ["watch", "-L", "--json", "--events", "state", "-v"], "tracing"),
                ("top", ["top", "--json", "-v"], "tracing"),
                ("export", ["export", "--listen", "127.0.0.1:0", "-v"], "serving metrics")):
            port = free_port()
            if name in ON_PORT:
                argv = argv + ["--port", str(port)]
            r = self.one(name, argv, ready, port)
            print("soak: " + json.dumps(r), flush=True)
            res.append(r)
        for f in self.failed:
            print("soak: FAIL " + f, flush=True)
        print(f"soak: {len(res)} modes, {len(self.failed)} failed", flush=True)
        if self.failed:
            raise RuntimeError("targets missed")


def lost_transitions(text):
    """The transitions watch reported lost: the ring buffer's and the
    kernel's recursion misses (not accept records: those cost an owner,
    never a line)."""
    return sum(int(n) for n in re.findall(
        r"^conntrace: (\d+) (?:events lost \(ring buffer full\)|transitions missed)",
        text, re.M))


if __name__ == "__main__":
    sys.exit(run_part(Soak, "soak", "SOAK"))
