#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Loopback connection churn, untraced and traced by `conntrace watch`
(make bench; issue 9's benchmark 3 and issue 10's "churn without loss").

A generator opens short connections as fast as it can (or at a set rate):
BENCH_CHURN_CLIENTS client processes connect to a server process, send 16
bytes and close; the server accepts, reads to the end and closes. Each run
lasts BENCH_CHURN_SECONDS and uses a listening port of its own.

What the generator caused is known exactly: every connection goes through
the RFC 793 sequences of both ends, which conntrace documents to print as

  client  CLOSE -> SYN_SENT -> ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2
          -> TIME_WAIT (derived; or -> CLOSE when the kernel keeps no
          time-wait socket)
  server  LISTEN -> SYN_RECV -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK
          -> CLOSE

that is 10 transitions a connection (TIME_WAIT -> CLOSE comes 60 s later,
after the run), and, with `watch -L`, 2 lines a connection (one for each
end). conntrace runs with `--port P` for the run's port; the listener's own
lines are not counted. After the run, "printed + lost == caused" is checked
with the loss conntrace reports on stderr at exit.

Reported, for `watch --json` and `watch -L --json`:
  - connections per second, traced and untraced, interleaved over rounds
    (target: ratio >= 0.95);
  - the state hook's cost per transition, run_time_ns / run_cnt of its
    programs (target: <= 150 ns), with kernel.bpf_stats_enabled=1;
  - printed, lost and caused at full speed;
  - the highest rate tried that lost nothing (rates tried: full speed,
    then fractions of the untraced rate), and the loss at twice that rate.

  BENCH_CHURN          0 to skip this part (default 1)
  BENCH_CHURN_SECONDS  seconds per run (default 5)
  BENCH_CHURN_CLIENTS  client processes (default: twice the number of CPUs)
  BENCH_CHURN_ROUNDS   rounds of untraced / watch / watch -L at full speed,
                       interleaved (default 3)
  BENCH_CHURN_MAX      most connections in one run (default 200000)

Results are printed and merged into $OUTPUT/bench.json under "churn".
"""
import json
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import time

from benchlib import (Part, env_int, merge_json,
                      prog_ids_of, prog_stats, read_file, run_part, stats_delta,
                      wait_for_text)

CONNTRACE = "./conntrace"
PAYLOAD = b"x" * 16
SOURCES = 64                # client addresses 127.0.1.1 .. 127.0.1.64
PER_CONN = {"watch": 10, "watch -L": 2}
TARGET_RATIO = 0.95
TARGET_STATE_NS = 150
FRACTIONS = (0.75, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05)
SETTLE = 1.5                # seconds for the last closes and lookups


# ---------------------------------------------------------------------------
# The generator's processes: this script run as --serve or --client.

def serve(port):
    """Accepts, reads to the end, closes; until stdin ends. Prints
    'ready' once listening and 'served N' at the end."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    ls.setblocking(False)
    ep = select.epoll()
    ep.register(ls.fileno(), select.EPOLLIN)
    ep.register(0, select.EPOLLIN)
    conns = {}
    served = 0

    def drain(c):
        """Reads what is there; True once the peer's end is read (closed)."""
        while True:
            try:
                if not c.recv(4096):
                    c.close()
                    return True
            except (BlockingIOError, InterruptedError):
                return False

    print("ready", flush=True)
    while True:
        for fd, _ in ep.poll(1.0):
            if fd == 0:
                print(f"served {served} open {len(conns)}", flush=True)
                return
            if fd == ls.fileno():
                while True:
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    # The 16 bytes and the FIN are usually in already.
                    if drain(c):
                        served += 1
                        continue
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
                continue
            c = conns[fd]
            ep.unregister(fd)
            del conns[fd]
            if drain(c):
                served += 1
            else:
                conns[c.fileno()] = c
                ep.register(c.fileno(), select.EPOLLIN)


def client(port, index, count, rate, seconds):
    """connect, send, close; count times or for seconds, at rate per second
    (0: as fast as possible). Prints 'done N failed F'."""
    no_port = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
    t0 = time.monotonic()
    end = t0 + seconds
    done = failed = 0
    while done < count:
        now = time.monotonic()
        if now >= end:
            break
        if rate:
            due = t0 + done / rate
            if due > now:
                time.sleep(due - now)
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_IP, no_port, 1)
        s.bind((f"127.0.1.{1 + (index + done) % SOURCES}", 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(PAYLOAD)
            done += 1
        except OSError:
            failed += 1
            if failed > 10:
                break
        finally:
            s.close()
    print(f"done {done} failed {failed} seconds {time.monotonic() - t0:.3f}", flush=True)


# ---------------------------------------------------------------------------
# The bench.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_printed(path, port):
    """The lines of the churn's port that watch printed, less the
    listener's own (CLOSE -> LISTEN, LISTEN -> CLOSE) and TIME_WAIT ->
    CLOSE, which comes 60 s after a connection (after a run, within a
    soak)."""
    n = 0
    with open(path) as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("rport") == 0 and d.get("lport") == port:
                continue
            if d.get("old") == "TIME_WAIT":
                continue
            n += 1
    return n


def lost_in(text):
    """What conntrace reported lost or missed at exit, summed: '<n> events
    lost', '<n> transitions missed (...)'; not accept records, which are
    no lines."""
    found = re.compile(r"(\d+)\s+(?:[a-z]+\s+){0,2}?(?:lost|missed)\b")
    return sum(int(n) for line in text.splitlines()
               if "accept records" not in line
               for n in found.findall(line))


class BenchChurn(Part):
    def __init__(self):
        super().__init__("bench churn")
        self.seconds = env_int("bench churn", "BENCH_CHURN_SECONDS", 5, 1, 60)
        # Twice the CPUs: the CPUs never idle, so that a tracer that keeps
        # them awake does not make loopback wake-ups look cheaper.
        self.nclients = env_int("bench churn", "BENCH_CHURN_CLIENTS",
                                2 * (os.cpu_count() or 1), 1, 64)
        self.rounds = env_int("bench churn", "BENCH_CHURN_ROUNDS", 3, 1, 20)
        self.max_conns = env_int("bench churn", "BENCH_CHURN_MAX", 200000, 100, 2000000)
        self.nrun = 0

    def me(self, *args, **kw):
        return self.children.start([sys.executable, os.path.abspath(__file__), *args],
                                   "python3", stdout=subprocess.PIPE, text=True, **kw)

    def generate(self, port, rate):
        """One run of the generator against a server of its own: (connections
        made, seconds, connections the server closed)."""
        server = self.me("--serve", str(port), stdin=subprocess.PIPE)
        try:
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the churn server did not start")
            per = self.max_conns // self.nclients
            prate = rate / self.nclients if rate else 0
            clients = [self.me("--client", str(port), str(i), str(per), f"{prate:.3f}",
                               str(self.seconds)) for i in range(self.nclients)]
            done = failed = 0
            secs = 0.0
            for c in clients:
                out, _ = c.communicate(timeout=self.seconds + 60)
                self.children.stop(c)
                m = re.match(r"done (\d+) failed (\d+) seconds (\S+)", out)
                if not m:
                    raise RuntimeError(f"a churn client said {out!r}")
                done += int(m.group(1))
                failed += int(m.group(2))
                secs = max(secs, float(m.group(3)))
            if failed:
                raise RuntimeError(f"{failed} connects failed in the generator")
            time.sleep(SETTLE)
            out, _ = server.communicate(input="", timeout=30)
            m = re.match(r"served (\d+) open (\d+)", out)
            served = int(m.group(1)) if m else None
        finally:
            self.children.stop(server)
        return done, secs, served

    def traced(self, mode, rate):
        """One run under conntrace: what the generator caused, what conntrace
        printed and what it reported lost."""
        self.nrun += 1
        port = free_port()
        argv = [CONNTRACE, "watch", "--json", "--port", str(port)]
        if mode == "watch -L":
            argv.insert(2, "-L")
        else:
            # Transitions only: printed + lost is counted against the
            # transitions caused, and the default stream has events too.
            argv[3:3] = ["--events", "state"]
        out = os.path.join(self.tmp, f"run{self.nrun}.out")
        err = os.path.join(self.tmp, f"run{self.nrun}.err")
        with open(out, "w") as o, open(err, "w") as e:
            ct = self.children.start(argv, stdout=o, stderr=e)
        try:
            if wait_for_text(err, r"tracing|attached|ready", ct, 30) is None:
                raise RuntimeError(f"{mode} did not start: {read_file(err)[-300:]}")
            ids = prog_ids_of(ct.pid)
            s0 = prog_stats(ids)
            done, secs, served = self.generate(port, rate)
            ids |= prog_ids_of(ct.pid)
            prog = stats_delta(prog_stats(ids), s0)
            if ct.poll() is not None:
                raise RuntimeError(f"{mode} exited during the run: {read_file(err)[-300:]}")
        finally:
            self.children.stop(ct)
        printed = count_printed(out, port)
        said = read_file(err).splitlines()[1:]
        lost = lost_in("\n".join(said))
        r = {"rate_asked": rate or None, "connections": done, "seconds": secs,
             "rate": done / secs if secs else 0, "served": served,
             "caused": PER_CONN[mode] * done, "printed": printed, "lost": lost,
             "stderr": said, "programs": prog}
        r["balanced"] = printed + lost == r["caused"]
        r["state_hook"] = self.state_cost(prog)
        return r

    @staticmethod
    def state_cost(prog):
        """The state hook's cost per transition: both its programs' time
        over the first's runs (the second, on the same tracepoint, runs for
        each transition too and takes what the kernel skipped the first
        for); its skips: the first's recursion_misses."""
        state = {n: p for n, p in prog.items()
                 if "state" in n or n.startswith("ct_rescue")}
        first = [p for n, p in state.items() if "state" in n]
        runs = sum(p["run_cnt"] for p in first)
        ns = sum(p["run_time_ns"] for p in state.values())
        miss = sum(p["recursion_misses"] for p in first)
        return {"runs": runs, "ns_per_run": ns / runs if runs else None,
                "recursion_misses": miss}

    def log(self, what, r):
        print(f"bench churn: {what}: {r['rate']:.0f} conn/s"
              + (f" (asked {r['rate_asked']:.0f})" if r.get("rate_asked") else "")
              + (f", printed {r['printed']} + lost {r['lost']} vs caused {r['caused']}"
                 if "caused" in r else ""), file=sys.stderr, flush=True)

    def untraced(self):
        done, secs, served = self.generate(free_port(), 0)
        return {"connections": done, "seconds": secs, "rate": done / secs if secs else 0,
                "served": served}

    def full_speed(self):
        """BENCH_CHURN_ROUNDS rounds of untraced, watch and watch -L at full
        speed, in a rotating order: the ratio is taken within each round."""
        kinds = ["untraced"] + list(PER_CONN)
        runs = {k: [] for k in kinds}
        for rnd in range(self.rounds):
            k = rnd % len(kinds)
            for kind in kinds[k:] + kinds[:k]:
                r = self.untraced() if kind == "untraced" else self.traced(kind, 0)
                runs[kind].append(r)
                self.log(f"round {rnd + 1} {kind} full speed", r)
        return runs

    def search(self, mode, full, untraced_rate):
        """The highest rate that lost nothing, and the loss at twice it."""
        ok = [r for r in full if r["lost"] == 0 and r["balanced"]]
        best = max(ok, key=lambda r: r["rate"]) if ok else None
        tried = []
        if best is None:
            for f in FRACTIONS:
                r = self.traced(mode, f * untraced_rate)
                self.log(f"{mode} at {f:g} x untraced", r)
                tried.append(r)
                if r["lost"] == 0 and r["balanced"]:
                    best = r
                    break
        twice = None
        if best:
            rate = 2 * best["rate"]
            twice = self.traced(mode, rate if rate < untraced_rate else 0)
            self.log(f"{mode} at twice the zero-loss rate", twice)
        return {"tried": tried, "zero_loss": best, "twice": twice}

    def run(self):
        mach = self.begin(CONNTRACE)
        t0 = time.monotonic()
        runs = self.full_speed()
        base = statistics.median(r["rate"] for r in runs["untraced"])
        modes = {}
        for mode in PER_CONN:
            full = runs[mode]
            res = {"full": full,
                   "ratio": statistics.median(t["rate"] / u["rate"] for t, u in
                                              zip(full, runs["untraced"]) if u["rate"])}
            res.update(self.search(mode, full, base))
            modes[mode] = res
        self.stats.restore()
        self.report(mach, runs["untraced"], base, modes, time.monotonic() - t0)

    def report(self, mach, untraced, base, modes, elapsed):
        lines = ["conntrace bench churn: short loopback connections (connect, send 16 B, "
                 f"close) from {self.nclients} client processes to a server process, "
                 f"{self.seconds} s a run",
                 f"machine: nproc {mach['nproc']} ({mach.get('cpu', '?')}), Linux "
                 f"{mach['kernel']}, load at start {' '.join(mach['loadavg'])}",
                 "untraced, full speed: " + ", ".join(f"{r['rate']:.0f}" for r in untraced)
                 + " conn/s "
                 f"(median {base:.0f})", "",
                 f"{'mode':<9} {'run':<16} {'conn/s':>8} {'/untr.':>6} {'caused':>8} "
                 f"{'printed':>8} {'lost':>7} {'p+l=c':>6} {'state ns':>9} {'skipped':>7}"]
        for mode, res in modes.items():
            rows = [(f"full speed {i + 1}", r) for i, r in enumerate(res["full"])]
            rows += [(f"at {r['rate_asked']:.0f}/s", r) for r in res["tried"]]
            if res["twice"]:
                rows.append(("2x zero-loss", res["twice"]))
            for label, r in rows:
                sh = r["state_hook"]
                lines.append(
                    f"{mode:<9} {label:<16} {r['rate']:8.0f} {r['rate'] / base:6.3f} "
                    f"{r['caused']:>8} {r['printed']:>8} {r['lost']:>7} "
                    f"{'yes' if r['balanced'] else 'NO':>6} "
                    + (f"{sh['ns_per_run']:9.0f}" if sh["ns_per_run"] else f"{'-':>9}")
                    + f" {sh['recursion_misses']:>7}")
        lines += ["", "/untr. = rate / median untraced rate; p+l=c: printed + lost == "
                  "caused; state ns: run_time_ns of the state hook's two programs / "
                  "run_cnt of the first (bpf_stats' own clock reads included); "
                  "skipped: the first's recursion_misses, which the second takes (lost "
                  "counts what it could not)"]
        for mode, res in modes.items():
            every = res["full"] + res["tried"] + ([res["twice"]] if res["twice"] else [])
            ns = statistics.median(r["state_hook"]["ns_per_run"] for r in res["full"]
                                   if r["state_hook"]["ns_per_run"]) \
                if any(r["state_hook"]["ns_per_run"] for r in res["full"]) else None
            z, tw = res["zero_loss"], res["twice"]
            res["targets"] = {
                "ratio": {"value": res["ratio"], "target": TARGET_RATIO,
                          "met": res["ratio"] >= TARGET_RATIO},
                "state_ns": {"value": ns, "target": TARGET_STATE_NS,
                             "met": ns is not None and ns <= TARGET_STATE_NS},
                "balanced": {"met": all(r["balanced"] for r in every)}}
            t = res["targets"]
            lines.append(
                f"{mode}: traced/untraced {res['ratio']:.3f} (paired median; target >= "
                f"{TARGET_RATIO}: {'ok' if t['ratio']['met'] else 'MISSED'}); state hook "
                + (f"{ns:.0f}" if ns else "-") + f" ns a transition (target <= "
                f"{TARGET_STATE_NS}: {'ok' if t['state_ns']['met'] else 'MISSED'}); "
                f"printed + lost == caused in all {len(every)} runs: "
                f"{'yes' if t['balanced']['met'] else 'NO'}; "
                + (f"zero loss up to {z['rate']:.0f} conn/s" if z
                   else "loss at every rate tried")
                + (f", at {tw['rate']:.0f}/s: lost {tw['lost']}, missing "
                   f"{tw['caused'] - tw['printed'] - tw['lost']}, of {tw['caused']}"
                   if tw else ""))
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)
        merge_json(self.outdir, "churn", {
            "machine": mach, "seconds": self.seconds, "clients": self.nclients,
            "rounds": self.rounds, "untraced": untraced, "untraced_median": base,
            "modes": modes, "elapsed_s": round(elapsed, 1), "warnings": self.warnings},
            "bench churn")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return 0
    if len(sys.argv) > 6 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
               float(sys.argv[5]), float(sys.argv[6]))
        return 0
    return run_part(BenchChurn, "bench churn", "BENCH_CHURN")


if __name__ == "__main__":
    sys.exit(main())
