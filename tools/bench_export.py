#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What `conntrace export` costs with many connections open (make bench).

For each count N, holds N established loopback connections (idle), starts
`conntrace export --listen 127.0.0.1:0` (refresh every second), lets it
settle, then:

  between   over BENCH_EXPORT_SECONDS with no scrape: its user + system
            time plus the run time of the programs it attached to hooks
            (kernel.bpf_stats_enabled is on for the part), as a share of
            one core
  scrape    BENCH_EXPORT_SCRAPES scrapes of /metrics, one after another,
            each timed from connect to the last byte: median and maximum
  rss       its resident memory at the end and its peak

Targets (issue 16): a scrape under 100 ms and at most 1% of a core between
scrapes at 100,000 connections. Results are printed and merged into
$OUTPUT/bench.json under "export".

  BENCH_EXPORT          0 to skip this part (default 1)
  BENCH_EXPORT_CONNS    connection counts (default 10k,100k)
  BENCH_EXPORT_SECONDS  measured seconds between scrapes (default 20)
  BENCH_EXPORT_SCRAPES  timed scrapes per count (default 20)
  BENCH_EXPORT_SETTLE   seconds before measuring (default 5)
"""
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

from benchlib import (ConnsPart, cpu_seconds, env_int, env_sizes,
                      hook_prog_ids, loadavg, merge_json, prog_stats, read_file,
                      rss_kib, run_part, stats_delta, total_run_ns,
                      wait_for_text)

CONNTRACE = "./conntrace"
TARGET_SCRAPE_MS = {100000: 100.0}
TARGET_CPU = {100000: 1.0}     # percent of one core


def scrape_ms(port):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        body = r.read()
    return 1000 * (time.monotonic() - t0), len(body)


class BenchExport(ConnsPart):
    def __init__(self):
        super().__init__("bench export")
        self.sizes = env_sizes("bench export", "BENCH_EXPORT_CONNS", "10k,100k", 1, 150000)
        self.seconds = env_int("bench export", "BENCH_EXPORT_SECONDS", 20, 2, 600)
        self.scrapes = env_int("bench export", "BENCH_EXPORT_SCRAPES", 20, 1, 1000)
        self.settle = env_int("bench export", "BENCH_EXPORT_SETTLE", 5, 1, 60)
        self.argv = [CONNTRACE, "export", "--listen", "127.0.0.1:0"]

    def measure(self, p, port):
        hooks = hook_prog_ids(p.pid)
        h0 = prog_stats(hooks)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(self.seconds)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
        h1 = prog_stats(hooks)
        times, size = [], 0
        for _ in range(self.scrapes):
            ms, size = scrape_ms(port)
            times.append(ms)
        wall = t1 - t0
        hook_s = total_run_ns(stats_delta(h1, h0)) / 1e9
        return {"wall_s": round(wall, 2), "cpu_s": c1 - c0, "hook_bpf_s": hook_s,
                "core_percent": 100.0 * (c1 - c0 + hook_s) / wall,
                "scrape_ms_median": statistics.median(times),
                "scrape_ms_max": max(times), "scrape_bytes": size}

    def one_size(self, n):
        entry = {"loadavg_before": loadavg()}
        entry.update(self.conns.open(n))
        print(f"bench export: {n} connections open in {entry['setup_s']:.1f} s",
              file=sys.stderr, flush=True)
        err = os.path.join(self.tmp, f"export-{n}.err")
        with open(err, "w") as ef:
            p = self.children.start(self.argv, stdout=subprocess.DEVNULL, stderr=ef)
        try:
            line = wait_for_text(err, r"serving metrics on", p, 30)
            if line is None:
                raise RuntimeError(f"conntrace export did not start: {read_file(err)[-300:]}")
            port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
            time.sleep(self.settle)
            entry.update(self.measure(p, port))
            entry["rss_kib"], entry["peak_rss_kib"] = rss_kib(p.pid)
            if p.poll() is not None:
                raise RuntimeError(f"conntrace export exited: {read_file(err)[-300:]}")
        finally:
            self.children.stop(p, timeout=15)
        entry["loadavg_after"] = loadavg()
        self.conns.close()
        return entry

    def run(self):
        mach = self.begin(CONNTRACE)
        t0 = time.monotonic()
        results = [self.one_size(n) for n in self.sizes]
        self.report(mach, results, time.monotonic() - t0)

    def report(self, mach, results, elapsed):
        lines = [f"conntrace bench export: {' '.join(self.argv)} with N idle loopback "
                 f"connections open; {self.seconds} s without scrapes, then "
                 f"{self.scrapes} scrapes",
                 f"machine: nproc {mach['nproc']} ({mach.get('cpu', '?')}), Linux "
                 f"{mach['kernel']}, load at start {' '.join(mach['loadavg'])}", "",
                 f"{'N':>7} {'cpu':>7} {'core':>6} {'target':>7} {'scrape':>7} "
                 f"{'max':>7} {'target':>7} {'bytes':>7} {'rss':>6} {'peak':>6}",
                 f"{'':>7} {'ms/s':>7} {'%':>6} {'%':>7} {'ms':>7} {'ms':>7} "
                 f"{'ms':>7} {'':>7} {'MiB':>6} {'MiB':>6}"]
        for e in results:
            n = e["connections"]
            tc, ts = TARGET_CPU.get(n), TARGET_SCRAPE_MS.get(n)
            e["targets"] = {
                "core_percent": {"target": tc, "met": None if tc is None
                                 else e["core_percent"] <= tc},
                "scrape_ms": {"target": ts, "met": None if ts is None
                              else e["scrape_ms_max"] <= ts}}
            mark = (lambda t: "" if t["met"] is None else " ok" if t["met"] else " MISSED")
            lines.append(
                f"{n:>7} {1000 * (e['cpu_s'] + e['hook_bpf_s']) / e['wall_s']:7.2f} "
                f"{e['core_percent']:6.2f} {('<=' + format(tc, 'g')) if tc else '-':>7}"
                f"{mark(e['targets']['core_percent'])} {e['scrape_ms_median']:7.2f} "
                f"{e['scrape_ms_max']:7.2f} {('<=' + format(ts, 'g')) if ts else '-':>7}"
                f"{mark(e['targets']['scrape_ms'])} {e['scrape_bytes']:7d} "
                f"{(e['rss_kib'] or 0) / 1024:6.1f} {(e['peak_rss_kib'] or 0) / 1024:6.1f}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        merge_json(self.outdir, "export", {
            "machine": mach, "command": " ".join(self.argv), "seconds": self.seconds,
            "scrapes": self.scrapes, "settle": self.settle,
            "elapsed_s": round(elapsed, 1), "sizes": results,
            "warnings": self.warnings}, "bench export")


def main():
    return run_part(BenchExport, "bench export", "BENCH_EXPORT")


if __name__ == "__main__":
    sys.exit(main())
