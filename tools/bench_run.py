#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Loopback throughput with and without a tracer attached, and the work
conntrace's BPF programs do per send and receive call (make bench; issue 9's
benchmark 1).

Throughput: iperf3 over 127.0.0.1 at each write size, N rounds of the modes
untraced / floor / watch / top / nethogs in a rotating order; the median
receiver throughput of each mode and its ratio to the untraced median.
"floor" attaches programs that do nothing to sock:sock_send_length and
sock_recv_length (tools/bench_floor*): the least any tracer that hooks
every call pays. "watch" is `conntrace watch --json`, "top" is `conntrace
top --json --interval 1`, both with their output to /dev/null.

Per-call work: with kernel.bpf_stats_enabled=1, conntrace watch and top each
run beside the floor, first idle for BENCH_SECONDS, then during an iperf3
run with 128-byte writes of the same length. The run counts of conntrace's
programs (those whose fds it holds, from /proc/PID/fdinfo) are compared with
the floor's, which count every send and receive call on the host, and with
iperf3's send calls (bytes sent / 128). A mode does no per-call work when
its run count during traffic stays at its idle count.

With two or more CPUs, the iperf3 client and server are pinned to CPUs 0
and 1, which steadies the runs. Started by tools/bench.sh, which installs
what is missing and keeps a last-resort cleanup. Settings:

  BENCH_ROUNDS    rounds per write size (default 5)
  BENCH_SECONDS   measured seconds per run (default 5)
  BENCH_OMIT      warm-up seconds iperf3 leaves out of each run (default 1)
  BENCH_SIZES     write sizes, comma separated (default 128,16K)
  BENCH_NETHOGS   0 to leave nethogs out (default 1)
  BENCH_FLOOR     0 to leave the floor out (default 1)
  BENCH_PIN       0 to leave the iperf3 processes unpinned (default 1)
  BENCH_BPF_STATS 0 to leave out the per-call part (default 1)
  BENCH_PIDFILE   where to list the children for bench.sh's cleanup
  OUTPUT          build directory for bench.json (default .output)
"""

import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys

from benchlib import (BpfStats, Children, cpu_seconds, env_int, prog_ids_of, prog_stats,
                      read_file, run_guarded, stats_delta, total_runs, wait_for_text)
import time

CONNTRACE = "./conntrace"
CT_MODES = ("watch", "top")
# No target for the ratio any more (issue 9 replaced issue 3's): conntrace
# is compared with the floor, what any per-call hook costs.
READY_TIMEOUT = 20.0    # seconds for a tracer to attach
SETTLE = 0.5            # pause around every run, the same for each mode
FOREIGN_WAIT = 30.0     # seconds to wait for someone else's tracer to end


def parse_size(s):
    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)\s*", s)
    if not m:
        sys.exit(f"bench: bad write size {s!r} in BENCH_SIZES")
    n = int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(2).lower()]
    if not 1 <= n <= (1 << 20):
        sys.exit(f"bench: write size {s!r} is outside 1..1M")
    return n


def size_label(n):
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


def iperf_len(n):
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def listening(port):
    """True once 127.0.0.1:port is in LISTEN (state 0A) in /proc/net/tcp."""
    want = f"0100007F:{port:04X}"
    for line in read_file("/proc/net/tcp").splitlines()[1:]:
        f = line.split()
        if len(f) > 3 and f[1] == want and f[3] == "0A":
            return True
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def all_ct_prog_ids():
    """Ids of every loaded BPF program named ct_*, whoever loaded it."""
    try:
        out = subprocess.run(["bpftool", "prog", "show", "--json"],
                             capture_output=True, text=True, timeout=30)
        return {p["id"] for p in json.loads(out.stdout or "[]")
                if p.get("name", "").startswith("ct_")}
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError):
        return set()


def other_tracers(own_pids, own_prog_ids):
    """What else traces this host: conntrace programs or nethogs not ours."""
    found = []
    progs = all_ct_prog_ids() - own_prog_ids
    if progs:
        found.append(f"{len(progs)} ct_* BPF programs")
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in own_pids:
            comm = read_file(f"/proc/{d}/comm").strip()
            if comm in ("conntrace", "nethogs") and \
               not read_file(f"/proc/{d}/stat").split(") ")[-1].startswith("Z"):
                found.append(f"{comm} pid {d}")
    return found


def tool_version(argv, pattern):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "?"


class Bench:
    def __init__(self):
        self.rounds = env_int("bench", "BENCH_ROUNDS", 5, 1, 50)
        self.seconds = env_int("bench", "BENCH_SECONDS", 5, 1, 60)
        self.omit = env_int("bench", "BENCH_OMIT", 1, 0, 10)
        self.sizes = [parse_size(s) for s in
                      os.environ.get("BENCH_SIZES", "128,16K").split(",") if s.strip()]
        if not self.sizes or len(self.sizes) > 8:
            sys.exit("bench: BENCH_SIZES needs 1 to 8 sizes")
        self.want_nethogs = os.environ.get("BENCH_NETHOGS", "1") != "0"
        self.want_floor = os.environ.get("BENCH_FLOOR", "1") != "0"
        self.pin = os.environ.get("BENCH_PIN", "1") != "0" and (os.cpu_count() or 1) >= 2
        self.want_stats = os.environ.get("BENCH_BPF_STATS", "1") != "0"
        self.outdir = os.environ.get("OUTPUT", ".output")
        self.children = Children(os.environ.get("BENCH_PIDFILE"))
        self.tmp = os.environ.get("BENCH_TMP") or "/tmp"
        self.warnings = []
        self.disturbed = []
        self.ct_said = {}
        self.bpf_stats = None
        self.server = None
        self.port = None

    # -- set-up -----------------------------------------------------------

    def pick_tracers(self):
        self.argv = {"watch": [CONNTRACE, "watch", "--json"],
                     "top": [CONNTRACE, "top", "--json", "--interval", "1"]}
        self.nethogs = shutil.which("nethogs") if self.want_nethogs else None
        if self.want_nethogs and not self.nethogs:
            self.warnings.append("nethogs is not installed: its runs are skipped")
        if self.nethogs:
            # -t: trace mode, plain text instead of curses (no terminal here);
            # -a: all devices, loopback included; -d 1: refresh every second,
            # like conntrace top --interval 1.
            self.argv["nethogs"] = [self.nethogs, "-t", "-a", "-d", "1"]
        exe = os.path.join(self.outdir, "bench_floor")
        obj = os.path.join(self.outdir, "bench_floor.bpf.o")
        if not self.want_floor:
            pass
        elif os.access(exe, os.X_OK) and os.path.exists(obj):
            self.argv["floor"] = [exe, obj]
        else:
            self.warnings.append("the floor programs are not built (make bench builds "
                                 "them): the floor runs are skipped")

    def machine(self):
        u = platform.uname()
        model = "?"
        for line in read_file("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        return {
            "nproc": os.cpu_count(),
            "cpu": model,
            "kernel": u.release,
            "arch": u.machine,
            "iperf3": tool_version(["iperf3", "--version"], r"iperf (\S+)"),
            "nethogs": tool_version([self.nethogs, "-V"], r"version (\S+)")
                       if self.nethogs else None,
            "conntrace": tool_version([CONNTRACE, "--version"], r"(\d[\w.+-]*)"),
            "loadavg_at_start": read_file("/proc/loadavg").split()[:3],
        }

    def start_server(self):
        self.port = free_port()
        log = open(os.path.join(self.tmp, "iperf3-server.log"), "w")
        self.server = self.children.start(
            ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.port)],
            "iperf3", stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if listening(self.port):
                return
            if self.server.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit("bench: the iperf3 server did not come up on 127.0.0.1:%d" % self.port)

    # -- one run ----------------------------------------------------------

    def iperf(self, size, seconds=None):
        """One iperf3 run: (receiver bits/s, bytes the client sent)."""
        seconds = seconds or self.seconds
        argv = ["iperf3", "-c", "127.0.0.1", "-p", str(self.port),
                "-l", iperf_len(size), "-t", str(seconds),
                "-O", str(self.omit), "-J"] + (["-A", "0,1"] if self.pin else [])
        last = "?"
        for attempt in range(3):
            p = self.children.start(argv, "iperf3", stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                out, _ = p.communicate(timeout=seconds + self.omit + 30)
            except subprocess.TimeoutExpired:
                self.children.stop(p, signal.SIGKILL, 5)
                last = "iperf3 client timed out"
                continue
            self.children.stop(p)
            try:
                d = json.loads(out)
            except ValueError:
                d = {"error": "no JSON from iperf3"}
            if "error" in d:
                last = d["error"]
                time.sleep(1 + attempt)  # e.g. the server still ends the last test
                continue
            # Omitted seconds are not in "end": count the sender's bytes
            # over every interval, warm-up included.
            sent = sum(i["sum"]["bytes"] for i in d["intervals"])
            return d["end"]["sum_received"]["bits_per_second"], sent
        raise RuntimeError(f"iperf3 -l {iperf_len(size)} failed 3 times: {last}")

    def start_tracer(self, mode, tag):
        """Starts a tracer and waits until it says it is ready."""
        argv = self.argv[mode]
        out_path = os.path.join(self.tmp, f"{tag}.out")
        err_path = os.path.join(self.tmp, f"{tag}.err")
        if mode == "nethogs":
            # nethogs prints its first "Refreshing:" once it captures.
            ready_in, pattern = out_path, r"^Refreshing:"
        else:
            ready_in, pattern = err_path, r"tracing|attached|ready"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            # conntrace's own output goes nowhere, as in the command.
            p = self.children.start(argv, stdout=subprocess.DEVNULL
                                    if mode in CT_MODES else out, stderr=err)
        line = wait_for_text(ready_in, pattern, p, READY_TIMEOUT)
        if line is None:
            rc = self.children.stop(p)
            msg = read_file(err_path).strip()[-500:]
            raise RuntimeError(f"{mode} did not get ready (status {rc}): {msg}")
        return p, line, err_path

    def stop_tracer(self, mode, p, ready, err_path, what):
        if p.poll() is not None:
            raise RuntimeError(f"{mode} exited during the run (status {p.returncode})")
        rc = self.children.stop(p)
        if rc != 0:
            self.warnings.append(f"{mode} exited with status {rc} after SIGINT ({what})")
        if mode in CT_MODES:
            # What it said besides its ready line (losses, evictions),
            # counted once per kind of message.
            for line in read_file(err_path).splitlines():
                line = line.strip()
                if line and line != ready:
                    key = mode + ": " + re.sub(r"\d+", "N", line)
                    n, _ = self.ct_said.get(key, (0, line))
                    self.ct_said[key] = (n + 1, line)

    def run_one(self, mode, size, rnd, acc):
        tracer = None
        what = f"{size_label(size)}, round {rnd + 1}"
        self.wait_alone(mode, what)
        try:
            if mode != "untraced":
                tracer, ready, err_path = self.start_tracer(mode, f"{mode}-{size}-{rnd}")
            time.sleep(SETTLE)
            t0 = time.monotonic()
            c0 = cpu_seconds(tracer.pid) if tracer else None
            bps, _ = self.iperf(size)
            c1 = cpu_seconds(tracer.pid) if tracer else None
            wall = time.monotonic() - t0
            others = other_tracers({tracer.pid} if tracer else set(),
                                   prog_ids_of(tracer.pid) if tracer else set())
            if others:
                self.disturbed.append(f"{what} {mode}: " + ", ".join(others))
            if c0 is not None and c1 is not None:
                acc["cpu"][mode].append(100.0 * (c1 - c0) / wall)
            if tracer:
                self.stop_tracer(mode, tracer, ready, err_path, what)
                tracer = None
            return bps
        finally:
            if tracer:
                self.children.stop(tracer)
            time.sleep(SETTLE)

    def wait_alone(self, mode, what):
        """Before a run, wait (bounded) until no other tracer is attached:
        someone else's conntrace would slow the untraced runs too."""
        deadline = time.monotonic() + FOREIGN_WAIT
        others = other_tracers(set(), set())
        if others:
            print(f"bench: waiting up to {FOREIGN_WAIT:.0f} s for other tracers to end: "
                  + ", ".join(others), file=sys.stderr, flush=True)
        while others and time.monotonic() < deadline:
            time.sleep(1)
            others = other_tracers(set(), set())
        if others:
            self.disturbed.append(f"{what} {mode} (before): " + ", ".join(others))

    # -- per-call work ------------------------------------------------------

    def window(self, pids, traffic):
        """Run counts of each pid's programs over one window of
        BENCH_SECONDS, idle or with 128-byte iperf3 traffic."""
        ids = {pid: prog_ids_of(pid) for pid in pids}
        before = {pid: prog_stats(ids[pid]) for pid in pids}
        sent = 0
        if traffic:
            _, sent = self.iperf(128, self.seconds)
        else:
            time.sleep(self.seconds + self.omit)
        return {pid: stats_delta(prog_stats(ids[pid]), before[pid]) for pid in pids}, sent

    def per_call(self, mode):
        """conntrace `mode` beside the floor, idle then under traffic."""
        self.wait_alone(mode, "per-call")
        ct = floor = None
        try:
            floor, _, _ = self.start_tracer("floor", f"percall-floor-{mode}")
            ct, ready, err_path = self.start_tracer(mode, f"percall-{mode}")
            time.sleep(SETTLE)
            idle, _ = self.window([ct.pid, floor.pid], False)
            busy, sent = self.window([ct.pid, floor.pid], True)
            self.stop_tracer(mode, ct, ready, err_path, "per-call")
            ct = None
        finally:
            for p in (ct, floor):
                if p:
                    self.children.stop(p)
        send_calls = sent // 128
        res = {"send_calls": send_calls, "seconds": self.seconds + self.omit,
               "idle": idle[list(idle)[0]], "busy": busy[list(busy)[0]],
               "floor_idle_runs": total_runs(idle[list(idle)[1]]),
               "floor_busy_runs": total_runs(busy[list(busy)[1]])}
        res["idle_runs"] = total_runs(res["idle"])
        res["busy_runs"] = total_runs(res["busy"])
        res["runs_per_send_call"] = res["busy_runs"] / send_calls if send_calls else None
        res["extra_runs_per_send_call"] = ((res["busy_runs"] - res["idle_runs"]) / send_calls
                                           if send_calls else None)
        # Grows with calls: traffic adds more than one run per 1,000 calls.
        res["grows_with_calls"] = (res["extra_runs_per_send_call"] is None or
                                   res["extra_runs_per_send_call"] > 0.001)
        return res

    # -- the whole bench ----------------------------------------------------

    def run(self):
        self.pick_tracers()
        modes = ["untraced"] + [m for m in ("floor", "watch", "top", "nethogs")
                                if m in self.argv]
        if self.want_stats:
            try:
                self.bpf_stats = BpfStats()
            except (RuntimeError, OSError) as e:
                self.warnings.append(f"{e}: no per-call figures")
        mach = self.machine()
        est = len(self.sizes) * self.rounds * len(modes) * (self.seconds + self.omit + 2.5)
        print(f"bench: {len(self.sizes)} sizes x {self.rounds} rounds x {len(modes)} "
              f"modes, about {est / 60:.1f} min", file=sys.stderr, flush=True)
        self.start_server()
        t_start = time.monotonic()
        calls = {}
        if self.bpf_stats and "floor" in self.argv:
            self.bpf_stats.enable()
            try:
                for mode in CT_MODES:
                    calls[mode] = self.per_call(mode)
                    print(f"bench: per-call {mode}: {calls[mode]['busy_runs']} runs for "
                          f"{calls[mode]['send_calls']} send calls "
                          f"(idle: {calls[mode]['idle_runs']})", file=sys.stderr, flush=True)
            finally:
                self.bpf_stats.restore()
        results = []
        for size in self.sizes:
            acc = {"bps": {m: [] for m in modes}, "cpu": {m: [] for m in modes}}
            for rnd in range(self.rounds):
                k = rnd % len(modes)
                for mode in modes[k:] + modes[:k]:
                    bps = self.run_one(mode, size, rnd, acc)
                    acc["bps"][mode].append(bps)
                    print(f"bench: {size_label(size):>7} round {rnd + 1}/{self.rounds} "
                          f"{mode:<9} {bps / 1e9:8.3f} Gbit/s", file=sys.stderr, flush=True)
            results.append((size, acc))
        self.report(mach, modes, results, calls, time.monotonic() - t_start)

    def report_calls(self, calls, lines):
        if not calls:
            return
        lines += ["", "per-call work: run counts of conntrace's BPF programs over "
                  f"{self.seconds + self.omit} s idle, then over an iperf3 run of the "
                  "same length with 128-byte writes",
                  "(floor = empty programs on sock_send_length/sock_recv_length: one run "
                  "per send or receive call on the host)",
                  f"{'mode':<6} {'idle runs':>10} {'busy runs':>10} {'floor runs':>11} "
                  f"{'send calls':>11} {'runs/send call':>15} {'grows?':>7}"]
        for mode, c in calls.items():
            lines.append(f"{mode:<6} {c['idle_runs']:>10} {c['busy_runs']:>10} "
                         f"{c['floor_busy_runs']:>11} {c['send_calls']:>11} "
                         f"{c['runs_per_send_call']:15.6f} "
                         f"{'YES' if c['grows_with_calls'] else 'no':>7}")
            for name, s in sorted(c["busy"].items()):
                if s["run_cnt"]:
                    avg = s["run_time_ns"] / s["run_cnt"]
                    lines.append(f"    {name:<22} {s['run_cnt']:>10} runs busy "
                                 f"({c['idle'].get(name, {}).get('run_cnt', 0)} idle), "
                                 f"{avg:.0f} ns a run, {s['recursion_misses']} missed")

    def report(self, mach, modes, results, calls, elapsed):
        doc = {
            "machine": mach,
            "config": {"rounds": self.rounds, "seconds": self.seconds, "omit": self.omit,
                       "sizes": self.sizes, "modes": modes,
                       "commands": {m: " ".join(a) for m, a in self.argv.items()},
                       "pinned": self.pin},
            "elapsed_s": round(elapsed, 1),
            "per_call": calls,
            "sizes": [],
            "warnings": self.warnings,
        }
        lines = ["conntrace bench: iperf3 TCP over 127.0.0.1, receiver throughput",
                 f"machine: nproc {mach['nproc']} ({mach['cpu']}), Linux {mach['kernel']} "
                 f"{mach['arch']}, load at start {' '.join(mach['loadavg_at_start'])}",
                 f"runs: {self.rounds} rounds per size of {', '.join(modes)} in rotating "
                 f"order, {self.seconds} s each after {self.omit} s warm-up; "
                 f"iperf3 {mach['iperf3']}"]
        lines += [f"{m}: {' '.join(a)}" for m, a in self.argv.items()]
        if self.pin:
            lines.append("iperf3 client pinned to CPU 0, server to CPU 1")
        lines += ["", f"{'write':<7} {'mode':<9} {'median':>9} {'min':>8} {'max':>8} "
                  f"{'ratio':>6} {'paired':>6} {'cpu':>6}",
                  f"{'':<7} {'':<9} {'Gbit/s':>9} {'Gbit/s':>8} {'Gbit/s':>8} "
                  f"{'':>6} {'':>6} {'tracer':>6}"]
        for size, acc in results:
            base = statistics.median(acc["bps"]["untraced"])
            entry = {"write_bytes": size, "label": size_label(size), "modes": {}}
            for mode in modes:
                v = acc["bps"][mode]
                med = statistics.median(v)
                ratio = med / base if base else 0.0
                # Per round: this mode against the untraced run of the same round.
                paired = statistics.median(a / b for a, b in zip(v, acc["bps"]["untraced"]) if b)
                cpu = statistics.median(acc["cpu"][mode]) if acc["cpu"][mode] else None
                entry["modes"][mode] = {
                    "bits_per_second": v, "median": med, "min": min(v), "max": max(v),
                    "ratio": ratio, "paired_ratio": paired, "tracer_cpu_percent": cpu}
                lines.append(
                    f"{size_label(size):<7} {mode:<9} {med / 1e9:9.3f} {min(v) / 1e9:8.3f} "
                    f"{max(v) / 1e9:8.3f} {ratio:6.3f} {paired:6.3f}"
                    + (f" {cpu:5.1f}%" if cpu is not None else f" {'-':>6}"))
            u = acc["bps"]["untraced"]
            entry["untraced_spread"] = (max(u) - min(u)) / base if base else 0.0
            doc["sizes"].append(entry)
        lines += ["", "ratio = median(mode) / median(untraced); paired = median over rounds "
                  "of mode/untraced in the same round;",
                  "spread of the untraced runs, (max-min)/median: "
                  + ", ".join(f"{e['label']} {100 * e['untraced_spread']:.1f}%"
                              for e in doc["sizes"])
                  + " (ratio differences below this are noise)"]
        self.report_calls(calls, lines)
        for n, example in self.ct_said.values():
            self.warnings.append(f"conntrace said on stopping, in {n} runs, e.g.: {example}")
        if self.disturbed:
            self.warnings.append(f"{len(self.disturbed)} runs had another tracer "
                                 f"attached (their numbers are skewed): "
                                 + "; ".join(self.disturbed[:5])
                                 + (" ..." if len(self.disturbed) > 5 else ""))
        doc["disturbed_runs"] = self.disturbed
        doc["machine"]["loadavg_at_end"] = read_file("/proc/loadavg").split()[:3]
        lines.append(f"load average at end: {' '.join(doc['machine']['loadavg_at_end'])}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        os.makedirs(self.outdir, exist_ok=True)
        path = os.path.join(self.outdir, "bench.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"(also written to {path})", file=sys.stderr)

    def cleanup(self):
        self.children.stop_all()
        if self.bpf_stats:
            self.bpf_stats.restore()


def main():
    return run_guarded(Bench(), "bench", (RuntimeError, OSError))


if __name__ == "__main__":
    sys.exit(main())
