#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""How long listing sockets takes at every scale (make bench, issue 9's
benchmark 4).

For each size N (sockets) and each layout, holds N/2 established loopback
connections (both ends open, so N sockets) and times, interleaved in a
rotating order, one warm-up and BENCH_LS_RUNS runs of:

  conntrace ls -tanp        the command under test (owners, chosen walk)
  ... walk=proc / walk=bpf  the same with each owner walk forced
                            (CONNTRACE_OWNER_WALK): what the choice saves
  conntrace ls -tan         without owners
  ss -tan, ss -tanp         the targets (-p walks /proc/*/fd)
  netstat -tanp             context

each with its output to /dev/null. The layouts:

  many  the sockets spread over many processes (N/100, 2 to 500)
  one   every socket in one process, or in as few as RLIMIT_NOFILE allows

Targets (issue 9): conntrace ls -tanp at most 1.0 x ss -tanp at every
size, and at most 1.0 x ss -tan from 10,000 sockets up. Also reports the
peak RSS of every command (from its warm-up run). Results are printed and
merged into $OUTPUT/bench.json under "ls".

Started by tools/bench.sh; runs alone as well, as root from the top of the
tree after make:  python3 tools/bench_ls.py

  BENCH_LS          0 to skip this part (default 1)
  BENCH_LS_SIZES    socket counts, comma separated (default 10,1k,10k,100k)
  BENCH_LS_LAYOUTS  many, one or both (default many,one)
  BENCH_LS_RUNS     timed runs per command, size and layout (default 5)
  BENCH_PIDFILE     where to list the children for bench.sh's cleanup
  OUTPUT            build directory for bench.json (default .output)

The connections are on 127.0.0.0/8 and closed with a reset. For the run it
may raise net.core.somaxconn (while listeners are created) and widen
net.ipv4.ip_local_port_range; both are restored, on errors and Ctrl-C too.
"""

import ctypes
import os
import select
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time

from benchlib import (Conns, check_can_run, Sysctls, env_int, env_sizes, loadavg, machine,
                      merge_json, read_file, run_part)

CONNTRACE = "./conntrace"
TARGET_VS_SS_TANP = 1.0     # at every size
TARGET_VS_SS_TAN = 1.0      # from TARGET_TAN_FROM sockets up
TARGET_TAN_FROM = 10000
CMD_TIMEOUT = 120.0         # seconds for one listing before it is killed
PR_SET_CHILD_SUBREAPER = 36
LAYOUTS = ("many", "one")


def many_procs(sockets):
    return max(2, min(500, sockets // 100))


def with_env(env):
    return dict(os.environ, **env) if env else os.environ


def timed_run(argv, stdout_path, errpath, timeout, running, env=None):
    """Runs argv once, spawned from here; returns (seconds, exit status,
    rusage, timed out). The rusage's times are the command's, but not its
    ru_maxrss: exec records the peak RSS of the memory it replaces, and
    posix_spawn's child replaces ours (see rss_run)."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, stdout_path,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
               (os.POSIX_SPAWN_OPEN, 2, errpath,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    t0 = time.monotonic()
    pid = os.posix_spawn(argv[0], argv, with_env(env), file_actions=actions)
    return reap(pid, t0, timeout, running)


def reap(pid, t0, timeout, running):
    running.add(pid)
    try:
        pidfd = os.pidfd_open(pid)
        try:
            p = select.poll()
            p.register(pidfd, select.POLLIN)
            done = p.poll(max(0.0, t0 + timeout - time.monotonic()) * 1000)
        finally:
            os.close(pidfd)
        if not done:
            os.kill(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
        t1 = time.monotonic()
    finally:
        running.discard(pid)
    return t1 - t0, status, ru, not done


def rss_run(argv, errpath, timeout, running, env=None):
    """Runs argv once so that wait4 tells its own peak RSS: forked by a
    small shell (exec keeps the peak of the memory it replaces, a copy of
    the shell's, not of this Python), which exits at once; as the child
    subreaper we then reap the command itself. Same returns as timed_run."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    script = (" ".join(shlex.quote(a) for a in argv)
              + f" </dev/null >/dev/null 2>{shlex.quote(errpath)} & echo $!")
    r, w = os.pipe()
    t0 = time.monotonic()
    try:
        sh = os.posix_spawn("/bin/sh", ["sh", "-c", script], with_env(env),
                            file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
    finally:
        os.close(w)
    out = b""
    try:
        while True:
            rd, _, _ = select.select([r], [], [], max(0.0, t0 + timeout - time.monotonic()))
            data = os.read(r, 64) if rd else b""
            if not data:
                break
            out += data
    finally:
        os.close(r)
        os.waitpid(sh, 0)
    if not out.strip().isdigit():
        raise RuntimeError(f"could not start {' '.join(argv)} through /bin/sh")
    return reap(int(out), t0, timeout, running)




class BenchLs:
    def __init__(self):
        self.sizes = env_sizes("bench ls", "BENCH_LS_SIZES", "10,1k,10k,100k", 2, 300000)
        self.layouts = [x.strip() for x in
                        os.environ.get("BENCH_LS_LAYOUTS", "many,one").split(",") if x.strip()]
        if not self.layouts or any(x not in LAYOUTS for x in self.layouts):
            sys.exit("bench ls: BENCH_LS_LAYOUTS takes many and/or one")
        self.runs = env_int("bench ls", "BENCH_LS_RUNS", 5, 1, 50)
        self.outdir = os.environ.get("OUTPUT", ".output")
        self.running = set()        # pids of listings in flight
        self.tmp = tempfile.mkdtemp(prefix="conntrace-bench-ls.",
                                    dir=os.environ.get("BENCH_TMP") or None)
        self.sysctls = Sysctls("bench ls")
        self.conns = Conns("bench ls", self.tmp, self.sysctls,
                           os.environ.get("BENCH_PIDFILE"))
        self.warnings = []

    def commands(self):
        ss = shutil.which("ss")
        ct = [CONNTRACE, "ls", "-tanp"]
        cmds = [("conntrace ls -tanp", ct, None),
                ("  walk=proc", ct, {"CONNTRACE_OWNER_WALK": "proc"}),
                ("  walk=bpf", ct, {"CONNTRACE_OWNER_WALK": "bpf"}),
                ("conntrace ls -tan", [CONNTRACE, "ls", "-tan"], None),
                ("ss -tan", [ss, "-tan"], None),
                ("ss -tanp", [ss, "-tanp"], None)]
        netstat = shutil.which("netstat")
        if netstat:
            cmds.append(("netstat -tanp", [netstat, "-tanp"], None))
        else:
            self.warnings.append("netstat is not installed (net-tools): left out")
        return cmds

    def count_rows(self, argv, env=None, marks=()):
        """Runs argv once into a file: (rows after the header, rows naming
        one of marks)."""
        out = os.path.join(self.tmp, "rows.out")
        err = os.path.join(self.tmp, "rows.err")
        _, status, _, timed_out = timed_run(argv, out, err, CMD_TIMEOUT, self.running, env)
        if timed_out or os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: "
                               + (read_file(err).strip()[-300:] or "timed out"))
        rows = marked = 0
        with open(out, "rb") as f:
            next(f, None)
            for line in f:
                rows += 1
                if marks and any(m in line for m in marks):
                    marked += 1
        os.unlink(out)
        return rows, marked

    def measure(self, label, cmds):
        res = {name: {"wall_s": [], "maxrss_kib": None, "user_s": [], "sys_s": [],
                      "failed": None} for name, _, _ in cmds}
        errpath = os.path.join(self.tmp, "cmd.err")
        for rep in range(self.runs + 1):
            k = rep % len(cmds)
            for name, argv, env in cmds[k:] + cmds[:k]:
                r = res[name]
                if r["failed"]:
                    continue
                # The warm-up also measures the peak RSS, the runs the time.
                if rep == 0:
                    secs, status, ru, timed_out = rss_run(argv, errpath, CMD_TIMEOUT,
                                                          self.running, env)
                else:
                    secs, status, ru, timed_out = timed_run(argv, "/dev/null", errpath,
                                                            CMD_TIMEOUT, self.running, env)
                code = os.waitstatus_to_exitcode(status)
                if timed_out or code != 0:
                    r["failed"] = (f"timed out after {CMD_TIMEOUT:.0f} s" if timed_out
                                   else f"exit {code}: " + read_file(errpath).strip()[-200:])
                    self.warnings.append(f"{label}: {name} {r['failed']}")
                    continue
                if rep == 0:
                    r["maxrss_kib"] = ru.ru_maxrss
                    continue
                r["wall_s"].append(secs)
                r["user_s"].append(ru.ru_utime)
                r["sys_s"].append(ru.ru_stime)
        for r in res.values():
            for key in ("wall_s", "user_s", "sys_s"):
                r["median_" + key] = statistics.median(r[key]) if r[key] else None
        return res

    def one_case(self, n, layout, cmds):
        label = f"{n} sockets, {layout}"
        entry = {"sockets_asked": n, "layout": layout, "loadavg_before": loadavg(),
                 "tcp_sockets_before": self.count_rows([shutil.which("ss"), "-tan"])[0]}
        entry.update(self.conns.open(n // 2, many_procs(n) if layout == "many" else 0))
        entry["host_processes"] = sum(1 for d in os.listdir("/proc") if d.isdigit())
        print(f"bench ls: {label}: {entry['sockets']} sockets in {entry['processes']} "
              f"processes, open in {entry['setup_s']:.1f} s", file=sys.stderr, flush=True)
        # The work is really done: every socket listed, ours with their owner.
        marks = tuple(f" {pid}/".encode() for pid in self.conns.pids)
        rows, owned = self.count_rows(cmds[0][1], marks=marks)
        entry.update(conntrace_rows=rows, conntrace_rows_with_holder_pids=owned)
        if owned < entry["sockets"]:
            self.warnings.append(f"{label}: conntrace ls -tanp gave {owned} of "
                                 f"{entry['sockets']} held sockets their holder's pid")
        entry["commands"] = self.measure(label, cmds)
        entry["loadavg_after"] = loadavg()
        self.conns.close()
        return entry

    def run(self):
        check_can_run(CONNTRACE)
        if not shutil.which("ss"):
            raise RuntimeError("ss (iproute2) is missing")
        cmds = self.commands()
        mach = machine()
        print(f"bench ls: sizes {', '.join(map(str, self.sizes))} sockets, layouts "
              f"{', '.join(self.layouts)}; 1 warm-up + {self.runs} runs of "
              f"{len(cmds)} commands each", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        results = [self.one_case(n, layout, cmds)
                   for n in self.sizes for layout in self.layouts]
        mach["loadavg_at_end"] = loadavg()
        self.report(mach, cmds, results, time.monotonic() - t0)

    def report(self, mach, cmds, results, elapsed):
        def ms(v):
            return f"{v * 1000:8.1f}" if v is not None else f"{'-':>8}"

        def ratio(a, b):
            return a / b if a is not None and b else None

        def fmt(x, w):
            return f"{x:{w}.2f}" if x is not None else f"{'-':>{w}}"

        lines = ["conntrace bench ls: listing N TCP sockets (N/2 established loopback "
                 "connections, both ends held), output to /dev/null",
                 f"machine: nproc {mach['nproc']} ({mach.get('cpu', '?')}), Linux "
                 f"{mach['kernel']}, load at start {' '.join(mach['loadavg'])}",
                 f"runs: 1 warm-up + {self.runs} timed runs per command, interleaved in "
                 "rotating order; wall time from spawn to reap (median)",
                 "layouts: many = N/100 processes (2..500); one = a single process, or as "
                 "few as RLIMIT_NOFILE allows",
                 "",
                 f"{'N':>7} {'layout':<5} {'procs':>5} {'command':<19} {'median':>8} "
                 f"{'/ss-tan':>7} {'/ss-tanp':>8} {'maxRSS':>7}",
                 f"{'':>7} {'':<5} {'':>5} {'':<19} {'ms':>8} {'':>7} {'':>8} {'MiB':>7}"]
        summary = []
        for e in results:
            c = e["commands"]
            base, basep = c["ss -tan"]["median_wall_s"], c["ss -tanp"]["median_wall_s"]
            for name, _, _ in cmds:
                r = c[name]
                r["ratio_vs_ss_tan"] = ratio(r["median_wall_s"], base)
                r["ratio_vs_ss_tanp"] = ratio(r["median_wall_s"], basep)
                rss = r["maxrss_kib"]
                lines.append(
                    f"{e['sockets']:>7} {e['layout']:<5} {e['processes']:>5} {name:<19} "
                    f"{ms(r['median_wall_s'])} {fmt(r['ratio_vs_ss_tan'], 7)} "
                    f"{fmt(r['ratio_vs_ss_tanp'], 8)} "
                    + (f"{rss / 1024:7.1f}" if rss is not None else f"{'-':>7}")
                    + (f"  FAILED: {r['failed']}" if r["failed"] else ""))
            ct = c["conntrace ls -tanp"]
            a, b = ct["ratio_vs_ss_tan"], ct["ratio_vs_ss_tanp"]
            tan_applies = e["sockets"] >= TARGET_TAN_FROM
            e["targets"] = {
                "vs_ss_tanp": {"ratio": b, "target": TARGET_VS_SS_TANP,
                               "met": b is not None and b <= TARGET_VS_SS_TANP},
                "vs_ss_tan": {"ratio": a, "target": TARGET_VS_SS_TAN if tan_applies else None,
                              "met": (a is not None and a <= TARGET_VS_SS_TAN)
                              if tan_applies else None}}
            verdict = (lambda t: "-" if t["met"] is None else "ok" if t["met"] else "MISSED")
            summary.append(f"N={e['sockets']} {e['layout']}: /ss-tanp {fmt(b, 4).strip()} "
                           f"{verdict(e['targets']['vs_ss_tanp'])}, /ss-tan "
                           f"{fmt(a, 4).strip()} {verdict(e['targets']['vs_ss_tan'])}; "
                           f"{e['conntrace_rows_with_holder_pids']} of {e['sockets']} "
                           f"held sockets with their holder's pid")
        lines += ["", f"targets: conntrace ls -tanp <= {TARGET_VS_SS_TANP:g} x ss -tanp at "
                  f"every N, <= {TARGET_VS_SS_TAN:g} x ss -tan from N={TARGET_TAN_FROM} up"]
        lines += summary
        lines.append(f"load average at end: {' '.join(mach['loadavg_at_end'])}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        merge_json(self.outdir, "ls", {
            "machine": mach, "elapsed_s": round(elapsed, 1), "cases": results,
            "config": {"sizes": self.sizes, "layouts": self.layouts, "runs": self.runs,
                       "commands": {name: (" ".join(f"{k}={v}" for k, v in
                                                    (env or {}).items()) + " "
                                           + " ".join(argv)).strip()
                                    for name, argv, env in cmds}},
            "warnings": self.warnings}, "bench ls")

    def cleanup(self):
        for pid in list(self.running):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        self.conns.close(timeout=10)
        self.sysctls.restore()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    return run_part(BenchLs, "bench ls", "BENCH_LS")


if __name__ == "__main__":
    sys.exit(main())
