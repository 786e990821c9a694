#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Loopback throughput with and without a tracer attached (make bench).

Runs iperf3 over 127.0.0.1 at each write size, N rounds of the modes
untraced / floor / conntrace / nethogs in a rotating order, and reports the
median receiver throughput of each mode and its ratio to the untraced
median. "floor" attaches programs that do nothing to the hooks conntrace
counts bytes with (tools/bench_floor*): the least any tracer there costs.
In the last round's conntrace and floor runs kernel.bpf_stats_enabled is
set, and the run time of their BPF programs (found through their file
descriptors) is read with bpftool: the average kernel-side cost per call.
With two or more CPUs, the iperf3 client and server are pinned to CPUs 0
and 1, which steadies the runs.

Started by tools/bench.sh, which installs what is missing and keeps a
last-resort cleanup. Configuration comes from the environment:

  BENCH_ROUNDS    rounds per write size (default 5)
  BENCH_SECONDS   measured seconds per run (default 5)
  BENCH_OMIT      warm-up seconds iperf3 leaves out of each run (default 1)
  BENCH_SIZES     write sizes, comma separated (default 128,16K)
  BENCH_NETHOGS   0 to leave nethogs out (default 1)
  BENCH_FLOOR     0 to leave the floor out (default 1)
  BENCH_PIN       0 to leave the iperf3 processes unpinned (default 1)
  BENCH_BPF_STATS 0 to leave kernel.bpf_stats_enabled alone (default 1)
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

from benchlib import env_int, read_file, run_guarded
import time

CONNTRACE = "./conntrace"
BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
# Targets from the issue: ratio traced/untraced at each write size.
TARGETS = {128: 0.98, 16384: 0.995}
READY_TIMEOUT = 20.0    # seconds for a tracer to attach
STOP_TIMEOUT = 10.0     # seconds for a tracer to exit after SIGINT
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


class Children:
    """Every process the bench starts, so that nothing outlives it."""

    def __init__(self, pidfile):
        self.procs = []
        self.pidfile = pidfile

    def _write(self):
        if not self.pidfile:
            return
        with open(self.pidfile, "w") as f:
            for p, comm in self.procs:
                if p.poll() is None:
                    f.write(f"{p.pid} {comm}\n")

    def start(self, argv, comm, **kw):
        # A session of its own: a Ctrl-C at the terminal reaches the bench,
        # which stops its children itself, in order.
        p = subprocess.Popen(argv, start_new_session=True,
                             stdin=subprocess.DEVNULL, **kw)
        self.procs.append((p, comm))
        self._write()
        return p

    def stop(self, p, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """Signal p, wait up to timeout, then SIGKILL. Returns its status."""
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.procs = [(q, c) for q, c in self.procs if q is not p]
        self._write()
        return p.returncode

    def stop_all(self):
        for p, _ in list(self.procs):
            try:
                self.stop(p, signal.SIGINT, 5)
            except Exception:  # keep going: the others must stop too
                pass


def wait_for_text(path, pattern, proc, timeout):
    """Wait until the file holds a line matching pattern; returns that line."""
    rx = re.compile(pattern, re.I)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in read_file(path).splitlines():
            if rx.search(line):
                return line.strip()
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


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


def cpu_ticks(pid):
    """utime + stime of pid in clock ticks, or None."""
    stat = read_file(f"/proc/{pid}/stat")
    if not stat:
        return None
    f = stat[stat.rfind(")") + 2:].split()
    return int(f[11]) + int(f[12])


def prog_ids_of(pid):
    """The ids of the BPF programs that pid holds, through fds or links."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        m = re.search(r"^prog_id:\s*(\d+)", read_file(f"/proc/{pid}/fdinfo/{fd}"), re.M)
        if m:
            ids.add(int(m.group(1)))
    return ids


def bpf_prog_stats(ids):
    """bpftool prog show --json, reduced to conntrace's programs in ids."""
    try:
        out = subprocess.run(["bpftool", "prog", "show", "--json"],
                             capture_output=True, text=True, timeout=30)
        progs = json.loads(out.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        return None, f"bpftool prog show failed: {e}"
    res = {}
    for p in progs:
        if p.get("id") in ids and p.get("name", "").startswith("ct_"):
            res[p["name"]] = (p.get("run_time_ns", 0), p.get("run_cnt", 0),
                              p.get("recursion_misses", 0))
    return res, None


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


def set_bpf_stats(value):
    try:
        with open(BPF_STATS_SYSCTL, "w") as f:
            f.write(f"{value}\n")
        return True
    except OSError:
        return False


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
        self.stats_orig = None
        self.server = None
        self.port = None

    # -- set-up -----------------------------------------------------------

    def pick_conntrace(self):
        try:
            r = subprocess.run([CONNTRACE, "top", "--help"], capture_output=True,
                               timeout=10, stdin=subprocess.DEVNULL)
            has_top = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            has_top = False
        if has_top:
            self.ct_mode = "top"
            self.ct_argv = [CONNTRACE, "top", "--json", "--interval", "1"]
        else:
            self.ct_mode = "watch"
            self.ct_argv = [CONNTRACE, "watch", "--json"]
            self.warnings.append("'conntrace top' is not available: measured "
                                 "'conntrace watch', which loads the same hooks "
                                 "but does no byte accounting in user space")

    def pick_nethogs(self):
        self.nethogs = shutil.which("nethogs") if self.want_nethogs else None
        if self.want_nethogs and not self.nethogs:
            self.warnings.append("nethogs is not installed: its runs are skipped")
        # -t: trace mode, plain text instead of curses (no terminal here);
        # -a: all devices, loopback included; -d 1: refresh every second,
        # like conntrace top --interval 1.
        self.nh_argv = [self.nethogs, "-t", "-a", "-d", "1"] if self.nethogs else None

    def pick_floor(self):
        out = self.outdir
        self.floor_argv = None
        if not self.want_floor:
            return
        exe, obj = os.path.join(out, "bench_floor"), os.path.join(out, "bench_floor.bpf.o")
        if os.access(exe, os.X_OK) and os.path.exists(obj):
            self.floor_argv = [exe, obj]
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

    def iperf(self, size):
        argv = ["iperf3", "-c", "127.0.0.1", "-p", str(self.port),
                "-l", iperf_len(size), "-t", str(self.seconds),
                "-O", str(self.omit), "-J"] + (["-A", "0,1"] if self.pin else [])
        last = "?"
        for attempt in range(3):
            p = self.children.start(argv, "iperf3", stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                out, _ = p.communicate(timeout=self.seconds + self.omit + 30)
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
            return d["end"]["sum_received"]["bits_per_second"]
        raise RuntimeError(f"iperf3 -l {iperf_len(size)} failed 3 times: {last}")

    def start_tracer(self, mode, size, rnd):
        tag = f"{mode}-{size}-{rnd}"
        if mode == "conntrace":
            argv, ready_in, pattern = self.ct_argv, "err", r"tracing|attached|ready"
        elif mode == "floor":
            argv, ready_in, pattern = self.floor_argv, "err", r"ready"
        else:
            # nethogs prints its first "Refreshing:" once it captures.
            argv, ready_in, pattern = self.nh_argv, "out", r"^Refreshing:"
        out_path = os.path.join(self.tmp, tag + ".out")
        err_path = os.path.join(self.tmp, tag + ".err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            # conntrace's own output goes nowhere, as in the command.
            p = self.children.start(argv, os.path.basename(argv[0])[:15],
                                    stdout=subprocess.DEVNULL if mode == "conntrace" else out,
                                    stderr=err)
        path = err_path if ready_in == "err" else out_path
        line = wait_for_text(path, pattern, p, READY_TIMEOUT)
        if line is None:
            rc = self.children.stop(p)
            msg = read_file(err_path).strip()[-500:]
            raise RuntimeError(f"{mode} did not get ready (status {rc}): {msg}")
        return p, line, err_path

    def run_one(self, mode, size, rnd, acc):
        tracer = None
        ready = None
        # bpf_stats adds two clock reads to every hooked call: only the
        # last round measures the cost per call, so the medians stay clean.
        stats = (mode in ("conntrace", "floor") and self.stats_orig is not None
                 and rnd == self.rounds - 1)
        self.wait_alone(mode, size, rnd)
        try:
            if stats:
                set_bpf_stats(1)
            if mode != "untraced":
                tracer, ready, err_path = self.start_tracer(mode, size, rnd)
            time.sleep(SETTLE)
            t0 = time.monotonic()
            c0 = cpu_ticks(tracer.pid) if tracer else None
            bps = self.iperf(size)
            c1 = cpu_ticks(tracer.pid) if tracer else None
            wall = time.monotonic() - t0
            others = other_tracers({tracer.pid} if tracer else set(),
                                   prog_ids_of(tracer.pid) if tracer else set())
            if others:
                self.disturbed.append(f"{size_label(size)} round {rnd + 1} {mode}: "
                                      + ", ".join(others))
            if c0 is not None and c1 is not None:
                acc["cpu"][mode].append(100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / wall)
            if mode == "conntrace":
                acc["ready"] = ready
            if stats:
                self.collect_stats(tracer.pid, acc)
            if tracer:
                if tracer.poll() is not None:
                    raise RuntimeError(f"{mode} exited during the run "
                                       f"(status {tracer.returncode})")
                rc = self.children.stop(tracer)
                tracer = None
                if rc != 0:
                    self.warnings.append(f"{mode} exited with status {rc} after SIGINT "
                                         f"({size_label(size)}, round {rnd + 1})")
                if mode == "conntrace":
                    # What it said besides its ready line (losses, evictions),
                    # counted once per kind of message.
                    for l in read_file(err_path).splitlines():
                        l = l.strip()
                        if l and l != ready:
                            key = re.sub(r"\d+", "N", l)
                            n, _ = self.ct_said.get(key, (0, l))
                            self.ct_said[key] = (n + 1, l)
            return bps
        finally:
            if tracer:
                self.children.stop(tracer)
            if stats:
                set_bpf_stats(self.stats_orig)
            time.sleep(SETTLE)

    def wait_alone(self, mode, size, rnd):
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
            self.disturbed.append(f"{size_label(size)} round {rnd + 1} {mode} (before): "
                                  + ", ".join(others))

    def collect_stats(self, pid, acc):
        ids = prog_ids_of(pid)
        stats, err = bpf_prog_stats(ids)
        if err:
            self.warnings.append(err)
            return
        for name, (ns, cnt, miss) in stats.items():
            t = acc["bpf"].setdefault(name, [0, 0, 0])
            t[0] += ns
            t[1] += cnt
            t[2] += miss

    # -- the whole bench ----------------------------------------------------

    def run(self):
        self.pick_conntrace()
        self.pick_nethogs()
        self.pick_floor()
        modes = (["untraced"] + (["floor"] if self.floor_argv else []) + ["conntrace"]
                 + (["nethogs"] if self.nethogs else []))
        if self.want_stats:
            orig = read_file(BPF_STATS_SYSCTL).strip()
            if orig in ("0", "1") and set_bpf_stats(orig):
                self.stats_orig = int(orig)
            else:
                self.warnings.append("cannot write kernel.bpf_stats_enabled: "
                                     "no per-call cost")
        mach = self.machine()
        est = len(self.sizes) * self.rounds * len(modes) * (self.seconds + self.omit + 2.5)
        print(f"bench: {len(self.sizes)} sizes x {self.rounds} rounds x {len(modes)} "
              f"modes, about {est / 60:.1f} min", file=sys.stderr, flush=True)
        self.start_server()
        results = []
        t_start = time.monotonic()
        for size in self.sizes:
            acc = {"bps": {m: [] for m in modes}, "cpu": {m: [] for m in modes},
                   "bpf": {}, "ready": None}
            for rnd in range(self.rounds):
                k = rnd % len(modes)
                order = modes[k:] + modes[:k]
                for mode in order:
                    bps = self.run_one(mode, size, rnd, acc)
                    acc["bps"][mode].append(bps)
                    print(f"bench: {size_label(size):>7} round {rnd + 1}/{self.rounds} "
                          f"{mode:<9} {bps / 1e9:8.3f} Gbit/s", file=sys.stderr, flush=True)
            results.append((size, acc))
        elapsed = time.monotonic() - t_start
        self.report(mach, modes, results, elapsed)

    def report(self, mach, modes, results, elapsed):
        doc = {
            "machine": mach,
            "config": {"rounds": self.rounds, "seconds": self.seconds, "omit": self.omit,
                       "sizes": self.sizes, "modes": modes,
                       "conntrace_mode": self.ct_mode,
                       "conntrace_cmd": " ".join(self.ct_argv),
                       "nethogs_cmd": " ".join(self.nh_argv) if self.nh_argv else None,
                       "floor_cmd": " ".join(self.floor_argv) if self.floor_argv else None,
                       "pinned": self.pin,
                       "bpf_stats": self.stats_orig is not None},
            "elapsed_s": round(elapsed, 1),
            "sizes": [],
            "warnings": self.warnings,
        }
        lines = []
        lines.append("conntrace bench: iperf3 TCP over 127.0.0.1, receiver throughput")
        lines.append(f"machine: nproc {mach['nproc']} ({mach['cpu']}), Linux {mach['kernel']} "
                     f"{mach['arch']}, load at start {' '.join(mach['loadavg_at_start'])}")
        lines.append(f"runs: {self.rounds} rounds per size of {', '.join(modes)} in rotating "
                     f"order, {self.seconds} s each after {self.omit} s warm-up; "
                     f"iperf3 {mach['iperf3']}")
        lines.append(f"conntrace: {' '.join(self.ct_argv)}"
                     + (f"  [{results[0][1]['ready']}]" if results and results[0][1]["ready"]
                        else ""))
        if self.nh_argv:
            lines.append(f"nethogs: {' '.join(self.nh_argv)} (version {mach['nethogs']})")
        if self.floor_argv:
            lines.append("floor: programs that do nothing on the same hooks "
                         "(tools/bench_floor.bpf.c)")
        if self.pin:
            lines.append("iperf3 client pinned to CPU 0, server to CPU 1")
        lines.append("")
        hdr = (f"{'write':<7} {'mode':<9} {'median':>9} {'min':>8} {'max':>8} "
               f"{'ratio':>6} {'paired':>6} {'target':>7} {'':<5} {'cpu':>6}")
        lines.append(hdr)
        lines.append(f"{'':<7} {'':<9} {'Gbit/s':>9} {'Gbit/s':>8} {'Gbit/s':>8} "
                     f"{'':>6} {'':>6} {'':>7} {'':<5} {'tracer':>6}")
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
                target = TARGETS.get(size) if mode == "conntrace" else None
                verdict = "" if target is None else ("ok" if ratio >= target else "BELOW")
                entry["modes"][mode] = {
                    "bits_per_second": v, "median": med, "min": min(v), "max": max(v),
                    "ratio": ratio, "paired_ratio": paired, "tracer_cpu_percent": cpu,
                    "target": target, "meets_target": None if target is None else ratio >= target,
                }
                lines.append(
                    f"{size_label(size):<7} {mode:<9} {med / 1e9:9.3f} {min(v) / 1e9:8.3f} "
                    f"{max(v) / 1e9:8.3f} {ratio:6.3f} {paired:6.3f} "
                    + (f"{'>=' + format(target, 'g'):>7} {verdict:<5}" if target else f"{'':>7} {'':<5}")
                    + (f" {cpu:5.1f}%" if cpu is not None else f" {'-':>6}"))
            if "floor" in acc["bps"]:
                fl = statistics.median(acc["bps"]["floor"])
                entry["conntrace_over_floor"] = (statistics.median(acc["bps"]["conntrace"]) / fl
                                                 if fl else None)
            u = acc["bps"]["untraced"]
            spread = (max(u) - min(u)) / base if base else 0.0
            entry["untraced_spread"] = spread
            entry["bpf_stats"] = {n: {"run_time_ns": t[0], "run_cnt": t[1],
                                      "recursion_misses": t[2],
                                      "avg_ns": t[0] / t[1] if t[1] else None}
                                  for n, t in sorted(acc["bpf"].items())}
            doc["sizes"].append(entry)
        lines.append("")
        lines.append("ratio = median(mode) / median(untraced); paired = median over rounds of "
                     "mode/untraced in the same round;")
        over = [(e["label"], e["conntrace_over_floor"]) for e in doc["sizes"]
                if e.get("conntrace_over_floor")]
        if over:
            lines.append("conntrace / floor (what conntrace's programs add to the "
                         "hooks' own cost): "
                         + ", ".join(f"{l} {r:.3f}" for l, r in over))
        lines.append("spread of the untraced runs, (max-min)/median: "
                     + ", ".join(f"{e['label']} {100 * e['untraced_spread']:.1f}%"
                                 for e in doc["sizes"])
                     + " (ratio differences below this are noise)")
        if self.stats_orig is not None:
            lines.append("")
            lines.append("kernel-side cost per hooked call, in the last round's conntrace "
                         "and floor runs, with kernel.bpf_stats_enabled=1 (run_time_ns / run_cnt;")
            lines.append("the stats themselves add two clock reads to every call):")
            lines.append(f"{'write':<7} {'program':<22} {'calls':>12} {'avg ns':>8} {'misses':>7}")
            for e in doc["sizes"]:
                for name, s in e["bpf_stats"].items():
                    if not s["run_cnt"]:
                        continue
                    lines.append(f"{e['label']:<7} {name:<22} {s['run_cnt']:>12} "
                                 f"{s['avg_ns']:8.1f} {s['recursion_misses']:>7}")
            lines.append(f"kernel.bpf_stats_enabled restored to {self.stats_orig}")
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
        for w in self.warnings:
            lines.append(f"warning: {w}")
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
        if self.stats_orig is not None:
            set_bpf_stats(self.stats_orig)


def main():
    return run_guarded(Bench(), "bench", (RuntimeError,))


if __name__ == "__main__":
    sys.exit(main())
