#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""The flight recorder's cost and the replay's speed (make bench, issue 17).

`conntrace record --port P` runs while loopback connections to port P open
and close one after another until BENCH_RECORD_EVENTS transitions were
caused (10 a connection, see bench_churn.py). Reported:
  - the recorder's CPU time (user + system, from /proc) per 100,000
    recorded transitions;
  - bytes of recording per transition (the whole file: header, snapshots,
    block framing), and per transition or event (each connection's
    connect and accept latency are events, recorded too);
  - replay speed, the median of BENCH_RECORD_RUNS runs of each:
    `replay --info` (read, inflate, count), `replay` (watch lines) and
    `replay --json` to /dev/null (every line rendered), in records and in
    transitions a second of wall time, and in records per second of the
    replay's own CPU time (user + system), which other load on the
    machine moves less. The issue's target: 1,000,000 events a second.

  BENCH_RECORD         0 to skip this part (default 1)
  BENCH_RECORD_EVENTS  transitions to cause (default 300000)
  BENCH_RECORD_RUNS    runs of each replay (default 5)
  BENCH_RECORD_COPIES  the recording replayed as a ring of this many
                       copies of it (default 10), so that the replay's
                       start (50 ms here) does not weigh on its speed

Results are printed and merged into $OUTPUT/bench.json under "record".
"""
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONNTRACE = os.path.join(ROOT, "conntrace")
TMP = os.environ.get("BENCH_TMP", "/tmp")
PIDFILE = os.environ.get("BENCH_PIDFILE")
PORT = 29000 + os.getpid() % 900
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def churn(conns):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", PORT))
    ls.listen(128)
    deadline = time.monotonic() + 300
    for _ in range(conns):
        if time.monotonic() > deadline:
            break
        c = socket.create_connection(("127.0.0.1", PORT))
        a, _ = ls.accept()
        c.sendall(b"x" * 16)
        a.recv(16)
        c.close()
        a.recv(1)
        a.close()
    ls.close()


def timed(args, keep=False):
    """Runs `conntrace replay ARGS` once: (wall s, CPU s, stdout). Its
    output goes to /dev/null unless kept: reading it here would cost more
    than the replay."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([CONNTRACE, "replay", *args],
                       stdout=subprocess.PIPE if keep else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        raise RuntimeError("replay %s: %s" % (args, p.stderr.strip()))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, p.stdout


def replay_speed(name, args, runs, records, lines, doc):
    """Medians of runs replays to /dev/null, into doc under name."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, _ = timed(args)
        walls.append(wall)
        cpus.append(cpu)
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    doc["replay_%s_s" % name] = round(wall, 3)
    doc["replay_%s_records_per_s" % name] = round(records / wall)
    doc["replay_%s_transitions_per_s" % name] = round(lines / wall)
    doc["replay_%s_records_per_cpu_s" % name] = round(records / max(cpu, 1e-3))


def ring_of_copies(path, copies):
    """Makes PATH.1 ... PATH.(copies-1), links to PATH: replay reads a
    ring's older files first, each standing alone, so the replay reads
    the recording copies times in one run. Returns the names made."""
    made = []
    for k in range(1, copies):
        name = "%s.%d" % (path, k)
        os.link(path, name)
        made.append(name)
    return made


def main():
    events = int(os.environ.get("BENCH_RECORD_EVENTS", "300000"))
    path = os.path.join(TMP, "bench.rec")
    rec = subprocess.Popen([CONNTRACE, "record", "-w", path, "--port",
                            str(PORT)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    if PIDFILE:
        with open(PIDFILE, "a") as f:
            f.write("%d conntrace\n" % rec.pid)
    err = b""
    while b"recording to" not in err:
        chunk = os.read(rec.stderr.fileno(), 4096)
        if not chunk:
            raise RuntimeError("record did not start: %r" % err)
        err += chunk
    try:
        cpu0 = cpu_seconds(rec.pid)
        churn(events // 10)
        time.sleep(1.5)  # the last transitions and a flush
        cpu1 = cpu_seconds(rec.pid)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.communicate(timeout=60)
    size = os.path.getsize(path)
    _, _, info = timed(["--info", path], keep=True)
    m = re.search(r"^transitions: (\d+)", info, re.M)
    lines = int(m.group(1)) if m else 0
    records = sum(int(n) for n in re.findall(r"blocks, (\d+) records", info))
    # The events too (each connection's connect and accept latency).
    m = re.search(r"^events: (\d+)", info, re.M)
    tevs = int(m.group(1)) if m else 0
    doc = {
        "transitions_caused": events // 10 * 10,
        "transitions": lines,
        "events": tevs,
        "records": records,
        "file_bytes": size,
        "bytes_per_transition": round(size / max(lines, 1), 1),
        "bytes_per_transition_or_event": round(size / max(lines + tevs, 1), 1),
        "cpu_s_per_100k_transitions": round((cpu1 - cpu0) * 1e5 / max(lines, 1), 3),
    }
    runs = int(os.environ.get("BENCH_RECORD_RUNS", "5"))
    copies = max(1, int(os.environ.get("BENCH_RECORD_COPIES", "10")))
    ring = ring_of_copies(path, copies)
    doc["replay_copies"] = copies
    try:
        for name, args in (("info", ["--info", path]), ("watch", [path]),
                           ("json", [path, "--json"])):
            replay_speed(name, args, runs, records * copies, lines * copies,
                         doc)
    finally:
        for name in ring:
            os.unlink(name)
    for k, v in doc.items():
        print("record: %-40s %s" % (k, v))
    # What the recording says it lost, so that a shortfall has a cause.
    lost = info[info.find("lost while recording"):].split("\nfile ")[0]
    print("record: " + lost.strip().replace("\n", "\nrecord: "))
    doc["lost"] = lost.strip()
    for name in ("watch", "json"):
        rate = doc["replay_%s_records_per_s" % name]
        print("record: replay %-5s %9d events/s (target >= 1,000,000: %s)" %
              (name, rate, "met" if rate >= 1e6 else "MISSED"))
    out = os.path.join(os.environ.get("OUTPUT", ".output"), "bench.json")
    try:
        with open(out) as f:
            whole = json.load(f)
    except (OSError, ValueError):
        whole = {}
    whole["record"] = doc
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(whole, f, indent=2)
        f.write("\n")
    os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
