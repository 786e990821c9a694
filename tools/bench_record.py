#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""The flight recorder's cost and the replay's speed (make bench, issue 17).

`conntrace record --port P` runs while loopback connections to port P open
and close one after another until BENCH_RECORD_EVENTS transitions were
caused (10 a connection, see bench_churn.py). Reported:
  - the recorder's CPU time (user + system, from /proc) per 100,000
    recorded transitions;
  - bytes of recording per transition (the whole file: header, snapshots,
    block framing);
  - replay speed in records a second: `replay --info` (read, inflate,
    count) and `replay --json` to /dev/null (every line rendered).

  BENCH_RECORD         0 to skip this part (default 1)
  BENCH_RECORD_EVENTS  transitions to cause (default 300000)

Results are printed and merged into $OUTPUT/bench.json under "record".
"""
import json
import os
import re
import signal
import socket
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


def timed(args):
    t0 = time.monotonic()
    p = subprocess.run([CONNTRACE, "replay", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError("replay %s: %s" % (args, p.stderr.strip()))
    return time.monotonic() - t0, p.stdout


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
    t_info, info = timed(["--info", path])
    m = re.search(r"^transitions: (\d+)", info, re.M)
    lines = int(m.group(1)) if m else 0
    records = sum(int(n) for n in re.findall(r"blocks, (\d+) records", info))
    t_json, _ = timed([path, "--json"])
    doc = {
        "transitions": lines,
        "records": records,
        "file_bytes": size,
        "bytes_per_transition": round(size / max(lines, 1), 1),
        "cpu_s_per_100k_transitions": round((cpu1 - cpu0) * 1e5 / max(lines, 1), 3),
        "replay_info_records_per_s": round(records / t_info),
        "replay_json_transitions_per_s": round(lines / t_json),
    }
    for k, v in doc.items():
        print("record: %-32s %s" % (k, v))
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
