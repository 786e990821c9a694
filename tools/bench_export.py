#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What `conntrace export` costs with many connections open (make bench).

For each count N, holds N established loopback connections (idle), starts
`conntrace export --listen 127.0.0.1:0`, lets it settle, then:

  between   over BENCH_EXPORT_SECONDS with no scrape: its user + system
            time plus the run time of the programs it attached to hooks
            (kernel.bpf_stats_enabled is on for the part), as a share of
            one core
  first     the first scrape after that quiet time, timed from connect to
            the last byte (it finds the text old and asks for a refresh)
  scraped   BENCH_EXPORT_SCRAPES scrapes, one every BENCH_EXPORT_PERIOD
            seconds as Prometheus makes them: each one's time (median and
            maximum), the CPU a scrape costs (above the quiet rate), and the
            share of a core at that period
  rss       its resident memory at the end and its peak

Targets (issue 16): a scrape under 100 ms and at most 1% of a core between
scrapes at 100,000 connections. Results are printed and merged into
$OUTPUT/bench.json under "export".

  BENCH_EXPORT          0 to skip this part (default 1)
  BENCH_EXPORT_CONNS    connection counts (default 1k,10k,100k)
  BENCH_EXPORT_SECONDS  measured seconds between scrapes (default 20)
  BENCH_EXPORT_SCRAPES  timed scrapes per count (default 6)
  BENCH_EXPORT_PERIOD   seconds between them (default 5)
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
                      hook_prog_ids, loadavg, machine_line, merge_json,
                      prog_stats, read_file, rss_kib, run_part, stats_delta,
                      target, target_cells, total_run_ns, wait_for_text)

CONNTRACE = "./conntrace"
TARGET_SCRAPE_MS = {100000: 100.0}
TARGET_CPU = {100000: 1.0}     # percent of one core


def scrape_ms(port):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        body = r.read()
    return 1000 * (time.monotonic() - t0), len(body)


class Cost:
    """A process's CPU, with its hooks' BPF time, from one point on."""

    def __init__(self, pid, hooks):
        self.pid, self.hooks = pid, hooks
        self.c0, self.h0, self.t0 = cpu_seconds(pid), prog_stats(hooks), time.monotonic()

    def seconds(self):
        """(CPU seconds, hooks' BPF seconds, wall seconds) since then."""
        hook = total_run_ns(stats_delta(prog_stats(self.hooks), self.h0)) / 1e9
        return cpu_seconds(self.pid) - self.c0, hook, time.monotonic() - self.t0


class BenchExport(ConnsPart):
    def __init__(self):
        super().__init__("bench export")
        self.sizes = env_sizes("bench export", "BENCH_EXPORT_CONNS", "1k,10k,100k", 1, 150000)
        self.seconds = env_int("bench export", "BENCH_EXPORT_SECONDS", 20, 2, 600)
        self.scrapes = env_int("bench export", "BENCH_EXPORT_SCRAPES", 6, 2, 1000)
        self.period = env_int("bench export", "BENCH_EXPORT_PERIOD", 5, 1, 120)
        self.settle = env_int("bench export", "BENCH_EXPORT_SETTLE", 5, 1, 60)
        self.argv = [CONNTRACE, "export", "--listen", "127.0.0.1:0"]

    def quiet(self, p):
        cost = Cost(p.pid, hook_prog_ids(p.pid))
        time.sleep(self.seconds)
        cpu, hook, wall = cost.seconds()
        return {"wall_s": round(wall, 2), "cpu_s": cpu, "hook_bpf_s": hook,
                "core_percent": 100.0 * (cpu + hook) / wall}

    def scraped(self, p, port, quiet):
        """Scrapes at a steady period, as Prometheus does; the exporter
        learns the rhythm from the first two."""
        cost = Cost(p.pid, hook_prog_ids(p.pid))
        times, size = [], 0
        start = time.monotonic()
        for i in range(self.scrapes):
            time.sleep(max(0.0, start + i * self.period - time.monotonic()))
            ms, size = scrape_ms(port)
            times.append(ms)
        time.sleep(max(0.0, start + self.scrapes * self.period - time.monotonic()))
        cpu, hook, wall = cost.seconds()
        idle = (quiet["cpu_s"] + quiet["hook_bpf_s"]) / quiet["wall_s"]
        return {"scrape_ms": [round(t, 2) for t in times],
                "scrape_ms_median": statistics.median(times),
                "scrape_ms_max": max(times), "scrape_bytes": size,
                "scraped_core_percent": 100.0 * (cpu + hook) / wall,
                "cpu_ms_per_scrape": 1000 * max(0.0, cpu + hook - idle * wall) / self.scrapes}

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
            entry.update(self.quiet(p))
            entry["first_scrape_ms"] = scrape_ms(port)[0]
            entry.update(self.scraped(p, port, entry))
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
                 f"{self.scrapes} scrapes {self.period} s apart",
                 machine_line(mach), "",
                 f"{'N':>7} {'between':>8} {'target':>7} {'first':>7} {'scrape':>7} "
                 f"{'max':>7} {'target':>7} {'per':>7} {'scraped':>8} {'bytes':>7} "
                 f"{'rss':>6} {'peak':>6}",
                 f"{'':>7} {'core %':>8} {'%':>7} {'ms':>7} {'ms':>7} {'ms':>7} "
                 f"{'ms':>7} {'scrape':>7} {'core %':>8} {'':>7} {'MiB':>6} {'MiB':>6}",
                 f"{'':>7} {'':>8} {'':>7} {'':>7} {'':>7} {'':>7} {'':>7} "
                 f"{'cpu ms':>7}"]
        for e in results:
            n = e["connections"]
            e["targets"] = {
                "core_percent": target(e["core_percent"], TARGET_CPU.get(n)),
                "scrape_ms": target(max(e["scrape_ms_max"], e["first_scrape_ms"]),
                                    TARGET_SCRAPE_MS.get(n))}
            tc, mc = target_cells(e["targets"]["core_percent"])
            ts, ms = target_cells(e["targets"]["scrape_ms"])
            lines.append(
                f"{n:>7} {e['core_percent']:8.2f} {tc:>7}{mc} {e['first_scrape_ms']:7.2f} "
                f"{e['scrape_ms_median']:7.2f} {e['scrape_ms_max']:7.2f} {ts:>7}{ms} "
                f"{e['cpu_ms_per_scrape']:7.1f} {e['scraped_core_percent']:8.2f} "
                f"{e['scrape_bytes']:7d} {(e['rss_kib'] or 0) / 1024:6.1f} "
                f"{(e['peak_rss_kib'] or 0) / 1024:6.1f}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        merge_json(self.outdir, "export", {
            "machine": mach, "command": " ".join(self.argv), "seconds": self.seconds,
            "scrapes": self.scrapes, "period": self.period, "settle": self.settle,
            "elapsed_s": round(elapsed, 1), "sizes": results,
            "warnings": self.warnings}, "bench export")


def main():
    return run_part(BenchExport, "bench export", "BENCH_EXPORT")


if __name__ == "__main__":
    sys.exit(main())
