#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What `conntrace top` costs per second of refresh with many connections
open (make bench, issue 9's benchmark 2).

For each count N, holds N established loopback connections (idle: the cost
measured is the refresh's, not traffic's), starts `conntrace top --json
--interval 1` with its output to /dev/null (batch mode), lets it settle,
then over BENCH_TOP_SECONDS reads:

  cpu     its user + system time (/proc/PID/stat)
  bpf     the run time of the programs it attached to hooks, which run in
          other tasks and so are not in its CPU time (kernel.bpf_stats_enabled
          is set for the part); its iterators' time is already in its system
          time, and is shown apart
  rss     its resident memory at the end and its peak (VmRSS, VmHWM)

and reports (cpu + bpf) / wall as a share of one core. Targets (issue 9):
at most 1% of a core at 10,000 connections, at most 5% at 100,000, and at
most 16 MiB resident at 100,000. Results are printed and merged into
$OUTPUT/bench.json under "top".

  BENCH_TOP          0 to skip this part (default 1)
  BENCH_TOP_CONNS    connection counts (default 1k,10k,100k)
  BENCH_TOP_SECONDS  measured seconds per count (default 20)
  BENCH_TOP_SETTLE   seconds before measuring (default 5)
"""
import os
import subprocess
import sys
import time

from benchlib import (ConnsPart, cpu_seconds, env_int,
                      env_sizes, hook_prog_ids, loadavg, machine_line,
                      merge_json, prog_ids_of, prog_stats, read_file, rss_kib,
                      run_part, stats_delta, target, target_cells,
                      total_run_ns, wait_for_text)

CONNTRACE = "./conntrace"
TARGET_CPU = {10000: 1.0, 100000: 5.0}     # percent of one core
TARGET_RSS_MIB = {100000: 16.0}


class BenchTop(ConnsPart):
    def __init__(self):
        super().__init__("bench top")
        self.sizes = env_sizes("bench top", "BENCH_TOP_CONNS", "1k,10k,100k", 1, 150000)
        self.seconds = env_int("bench top", "BENCH_TOP_SECONDS", 20, 2, 600)
        self.settle = env_int("bench top", "BENCH_TOP_SETTLE", 5, 1, 60)
        self.argv = [CONNTRACE, "top", "--json", "--interval", "1"]

    def one_size(self, n):
        entry = {"loadavg_before": loadavg()}
        entry.update(self.conns.open(n))
        print(f"bench top: {n} connections open in {entry['setup_s']:.1f} s "
              f"({entry['processes']} processes)", file=sys.stderr, flush=True)
        err = os.path.join(self.tmp, f"top-{n}.err")
        with open(err, "w") as ef:
            p = self.children.start(self.argv, stdout=subprocess.DEVNULL, stderr=ef)
        try:
            if wait_for_text(err, r"tracing|attached|ready", p, 30) is None:
                raise RuntimeError(f"conntrace top did not start: {read_file(err)[-300:]}")
            time.sleep(self.settle)
            hooks = hook_prog_ids(p.pid)
            ids = prog_ids_of(p.pid) | hooks
            h0, s0 = prog_stats(hooks), prog_stats(ids)
            c0, t0 = cpu_seconds(p.pid), time.monotonic()
            time.sleep(self.seconds)
            # Programs loaded meanwhile (an iterator per refresh) count too.
            ids |= prog_ids_of(p.pid)
            c1, t1 = cpu_seconds(p.pid), time.monotonic()
            h1, s1 = prog_stats(hooks), prog_stats(ids)
            rss, hwm = rss_kib(p.pid)
            if p.poll() is not None:
                raise RuntimeError(f"conntrace top exited: {read_file(err)[-300:]}")
        finally:
            self.children.stop(p)
        said = [l for l in read_file(err).splitlines()[1:] if l.strip()]
        if said:
            self.warnings.append(f"N={n}: conntrace top said: " + " / ".join(said[:3]))
        delta = stats_delta(s1, s0)
        wall = t1 - t0
        hook_ns = total_run_ns(stats_delta(h1, h0))
        entry.update({
            "wall_s": round(wall, 2), "cpu_s": c1 - c0,
            "hook_bpf_s": hook_ns / 1e9,
            "all_bpf_s": total_run_ns(delta) / 1e9,
            "programs": delta, "rss_kib": rss, "peak_rss_kib": hwm,
            "loadavg_after": loadavg()})
        entry["core_percent"] = 100.0 * (entry["cpu_s"] + entry["hook_bpf_s"]) / wall
        self.conns.close()
        return entry

    def run(self):
        mach = self.begin(CONNTRACE)
        t0 = time.monotonic()
        results = []
        for n in self.sizes:
            results.append(self.one_size(n))
        self.report(mach, results, time.monotonic() - t0)

    def report(self, mach, results, elapsed):
        lines = [f"conntrace bench top: {' '.join(self.argv)} > /dev/null with N idle "
                 f"loopback connections open, {self.seconds} s measured after "
                 f"{self.settle} s",
                 machine_line(mach), "",
                 f"{'N':>7} {'cpu':>7} {'hook bpf':>9} {'core':>7} {'target':>7} "
                 f"{'rss':>6} {'peak':>6} {'target':>7}  programs (runs, ms)",
                 f"{'':>7} {'ms/s':>7} {'ms/s':>9} {'%':>7} {'%':>7} "
                 f"{'MiB':>6} {'MiB':>6} {'MiB':>7}"]
        for e in results:
            n, w = e["connections"], e["wall_s"]
            e["targets"] = {
                "core_percent": target(e["core_percent"], TARGET_CPU.get(n)),
                "rss_mib": target((e["peak_rss_kib"] or 0) / 1024,
                                  TARGET_RSS_MIB.get(n))}
            progs = ", ".join(f"{k} {v['run_cnt']}/{v['run_time_ns'] / 1e6:.1f}"
                              for k, v in sorted(e["programs"].items()) if v["run_cnt"])
            tc, mc = target_cells(e["targets"]["core_percent"])
            tr, mr = target_cells(e["targets"]["rss_mib"])
            lines.append(
                f"{n:>7} {1000 * e['cpu_s'] / w:7.2f} {1000 * e['hook_bpf_s'] / w:9.3f} "
                f"{e['core_percent']:7.2f} {tc:>7}{mc} {(e['rss_kib'] or 0) / 1024:6.1f} "
                f"{(e['peak_rss_kib'] or 0) / 1024:6.1f} {tr:>7}{mr}  {progs}")
        lines.append("core % = (cpu + hook bpf) / wall; iterators' BPF time is inside cpu")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        merge_json(self.outdir, "top", {
            "machine": mach, "command": " ".join(self.argv), "seconds": self.seconds,
            "settle": self.settle, "elapsed_s": round(elapsed, 1), "sizes": results,
            "warnings": self.warnings}, "bench top")


def main():
    return run_part(BenchTop, "bench top", "BENCH_TOP")


if __name__ == "__main__":
    sys.exit(main())
