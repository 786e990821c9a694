#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""How long listing sockets takes with many connections open (make bench).

For each size N, opens N established TCP connections over loopback, held
by two processes of this script (one accepts and holds the server ends,
the other connects and holds the client ends), then times, interleaved
in a rotating order, one warm-up and BENCH_LS_RUNS runs of:

  conntrace ls -tanp   the command under test (with owners)
  conntrace ls -tan    the same without owners (context: no BPF iterator)
  ss -tan              the target to beat: no owners
  ss -tanp             with owners
  netstat -tanp        with owners (context)

each with its output to /dev/null. Reports the median wall time of each,
the ratios conntrace/ss-tan and conntrace/ss-tanp against the issue's
targets, and the peak RSS of every command (from wait4, on the warm-up
run, which is started through a small shell so that the RSS is the
command's own), to see whether memory stays flat as N grows. The results
are printed and merged into $OUTPUT/bench.json under "ls".

Each holder raises its RLIMIT_NOFILE to what it needs; where that is not
allowed (root without CAP_SYS_RESOURCE, as in some containers) the
connections are split over as many server/client pairs of holders as the
hard limit requires.

Started by tools/bench.sh after the iperf3 part; runs alone as well, as
root from the top of the tree after make:  python3 tools/bench_ls.py

  BENCH_LS        0 to skip this part (default 1)
  BENCH_LS_SIZES  connection counts, comma separated (default 10000,100000)
  BENCH_LS_RUNS   timed runs per command and size (default 5)
  BENCH_PIDFILE   where to list the children for bench.sh's cleanup
  OUTPUT          build directory for bench.json (default .output)

For the run it may raise net.core.somaxconn (only while the listeners are
created) and widen net.ipv4.ip_local_port_range (only if the range is too
small for N); both are restored, on errors and Ctrl-C too. Everything is
on 127.0.0.0/8; the connections are closed with a reset, so no TIME_WAIT
sockets are left behind to skew the next size or other users.
"""

import ctypes
import errno
import json
import os
import platform
import resource
import select
import shlex
import shutil
import signal
import socket
import statistics
import struct
import sys

from benchlib import env_int, read_file, run_guarded
import tempfile
import time

CONNTRACE = "./conntrace"
SOMAXCONN = "/proc/sys/net/core/somaxconn"
PORT_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
NR_OPEN = "/proc/sys/fs/nr_open"

# Targets from the issue, for conntrace ls -tanp.
TARGET_VS_SS_TAN = 1.0      # no slower than ss -tan (which shows no owners)
TARGET_VS_SS_TANP = 0.3     # at most 0.3x ss -tanp

SOURCES = 4                 # client addresses 127.0.0.1 .. 127.0.0.SOURCES
PAIR_SHARE = 0.4            # at most this share of the ephemeral range per
                            # (source address, listening port) pair
MAX_PORTS = 64
BACKLOG = 65535
BATCH = 512                 # connects in flight at once
FD_SLACK = 256
SETUP_BASE = 30.0           # seconds allowed to open the connections:
SETUP_PER_10K = 3.0         # base + this per 10,000
CMD_TIMEOUT = 120.0         # seconds for one listing before it is killed
TEARDOWN_TIMEOUT = 30.0

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
CAP_SYS_RESOURCE = 24


# ---------------------------------------------------------------------------
# The holders: this script run as "--hold server|client ...".

def holder_prepare(nfiles):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    # Die with the bench, whatever happens to it.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < nfiles:
        # Above the hard limit only with CAP_SYS_RESOURCE: the bench splits
        # the connections over enough holders when it is missing.
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfiles, max(hard, nfiles)))


def say(msg):
    os.write(1, (msg + "\n").encode())


def hold_until_eof():
    """Keep everything open until the bench closes our stdin (or dies)."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


LINGER0 = struct.pack("ii", 1, 0)


def hold_server(nports, count, deadline_s):
    holder_prepare(count + FD_SLACK)
    deadline = time.monotonic() + deadline_s
    listeners = []
    for _ in range(nports):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(BACKLOG)
        ls.setblocking(False)
        listeners.append(ls)
    say("ports " + " ".join(str(ls.getsockname()[1]) for ls in listeners))
    ep = select.epoll()
    by_fd = {ls.fileno(): ls for ls in listeners}
    for fd in by_fd:
        ep.register(fd, select.EPOLLIN)
    held = []
    while len(held) < count and time.monotonic() < deadline:
        for fd, _ in ep.poll(0.2):
            ls = by_fd[fd]
            while len(held) < count:
                try:
                    s, _ = ls.accept()
                except (BlockingIOError, InterruptedError):
                    break
                # A reset on close: no TIME_WAIT left behind.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                held.append(s.detach())
    say(f"accepted {len(held)}")
    hold_until_eof()


def hold_client(count, ports, nsources, deadline_s):
    holder_prepare(count + FD_SLACK)
    deadline = time.monotonic() + deadline_s
    pairs = [(f"127.0.0.{a}", p) for a in range(1, nsources + 1) for p in ports]
    no_port = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
    poller = select.epoll()
    pending = {}
    held = []
    started = failed = 0
    max_failed = 100 + count // 100
    last_err = ""

    def failure(err):
        nonlocal failed, started, last_err
        failed += 1
        started -= 1        # try that one again
        last_err = os.strerror(err)

    while len(held) < count and failed <= max_failed and time.monotonic() < deadline:
        while len(pending) < BATCH and started < count:
            src, port = pairs[started % len(pairs)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            # The port is chosen at connect, per 4-tuple: not one per bind.
            s.setsockopt(socket.IPPROTO_IP, no_port, 1)
            s.bind((src, 0))
            started += 1
            err = s.connect_ex(("127.0.0.1", port))
            if err == 0:
                held.append(s.detach())
            elif err == errno.EINPROGRESS:
                pending[s.fileno()] = s
                poller.register(s.fileno(), select.EPOLLOUT)
            else:
                s.close()
                failure(err)
                if err == errno.EADDRNOTAVAIL:
                    break   # out of ports: let the pending ones finish
        for fd, _ in poller.poll(0.2):
            s = pending.pop(fd)
            poller.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                s.close()
                failure(err)
            else:
                s.setblocking(True)
                held.append(s.detach())
    say(f"connected {len(held)} failed {failed}" + (f" ({last_err})" if failed else ""))
    hold_until_eof()


def holder_main(argv):
    try:
        if argv[0] == "server":
            hold_server(int(argv[1]), int(argv[2]), float(argv[3]))
        elif argv[0] == "client":
            hold_client(int(argv[1]), [int(p) for p in argv[2].split(",")],
                        int(argv[3]), float(argv[4]))
    except Exception as e:  # tell the bench, which reads our stdout
        say(f"error {type(e).__name__}: {e}")
        os._exit(1)
    os._exit(2)


# ---------------------------------------------------------------------------
# The bench.

def write_sysctl(path, value):
    with open(path, "w") as f:
        f.write(f"{value}\n")


def loadavg():
    return read_file("/proc/loadavg").split()[:3]


def env_sizes():
    raw = os.environ.get("BENCH_LS_SIZES", "10000,100000")
    sizes = []
    for s in raw.split(","):
        s = s.strip().replace("_", "")
        if not s:
            continue
        if s.lower().endswith("k") and s[:-1].isdigit():
            s = str(int(s[:-1]) * 1000)
        if not s.isdigit() or not 1 <= int(s) <= 300000:
            sys.exit(f"bench ls: bad size {s!r} in BENCH_LS_SIZES (1..300000)")
        sizes.append(int(s))
    if not sizes or len(sizes) > 6:
        sys.exit("bench ls: BENCH_LS_SIZES needs 1 to 6 sizes")
    return sizes


class Sysctls:
    """Sysctls changed for the run, restored by restore() (idempotent)."""

    def __init__(self):
        self.saved = {}

    def set(self, path, value):
        if path not in self.saved:
            self.saved[path] = read_file(path).strip()
        write_sysctl(path, value)

    def restore(self, path=None):
        for p in [path] if path else list(self.saved):
            if p in self.saved:
                try:
                    write_sysctl(p, self.saved[p])
                except OSError as e:
                    print(f"bench ls: could not restore {p} to {self.saved[p]}: {e}",
                          file=sys.stderr)
                del self.saved[p]


class Holder:
    """One holder process and its line-by-line reports on stdout."""

    def __init__(self, kind, index, argv, tmp):
        self.name = f"{kind} {index}"
        self.errpath = os.path.join(tmp, f"holder-{kind}{index}.err")
        with open(self.errpath, "w") as err:
            r_out, w_out = os.pipe()
            r_in, w_in = os.pipe()
            try:
                self.pid = os.posix_spawn(
                    sys.executable, [sys.executable, os.path.abspath(__file__),
                                     "--hold", kind] + argv,
                    os.environ,
                    file_actions=[(os.POSIX_SPAWN_DUP2, r_in, 0),
                                  (os.POSIX_SPAWN_DUP2, w_out, 1),
                                  (os.POSIX_SPAWN_DUP2, err.fileno(), 2)],
                    setsid=True)
            finally:
                os.close(r_in)
                os.close(w_out)
        self.stdin = w_in
        self.stdout = r_out
        self.buf = b""
        self.status = None

    def expect(self, word, deadline):
        """The next line starting with word, read until deadline."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                if line.startswith(word + " "):
                    return line[len(word) + 1:]
                if line.startswith("error"):
                    raise RuntimeError(f"{self.name} holder: {line}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.name} holder: no '{word}' in time")
            r, _, _ = select.select([self.stdout], [], [], min(left, 1.0))
            if r:
                data = os.read(self.stdout, 4096)
                if not data:
                    err = read_file(self.errpath).strip().splitlines()[-3:]
                    raise RuntimeError(f"{self.name} holder exited"
                                       + (": " + " / ".join(err) if err else ""))
                self.buf += data

    def alive(self):
        if self.status is not None:
            return False
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.status = -1
            return False
        if pid:
            self.status = status
            return False
        return True

    def release(self):
        """Close its stdin: it exits, closing its connections."""
        if self.stdin is not None:
            os.close(self.stdin)
            self.stdin = None

    def stop(self, timeout=TEARDOWN_TIMEOUT):
        """Release it and end it (it may still be opening connections),
        then wait, and kill it if it lingers."""
        self.release()
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        if self.stdout is not None:
            os.close(self.stdout)
            self.stdout = None


def timed_run(argv, stdout_path, errpath, timeout, running):
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
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
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


def rss_run(argv, errpath, timeout, running):
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
        sh = os.posix_spawn("/bin/sh", ["sh", "-c", script], os.environ,
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
        self.sizes = env_sizes()
        self.runs = env_int("bench ls", "BENCH_LS_RUNS", 5, 1, 50)
        self.outdir = os.environ.get("OUTPUT", ".output")
        self.pidfile = os.environ.get("BENCH_PIDFILE")
        self.sysctls = Sysctls()
        self.holders = []
        self.running = set()        # pids of listings in flight
        self.tmp = tempfile.mkdtemp(prefix="conntrace-bench-ls.",
                                    dir=os.environ.get("BENCH_TMP") or None)
        self.warnings = []

    # -- the connections ---------------------------------------------------

    def write_pidfile(self):
        if not self.pidfile:
            return
        with open(self.pidfile, "w") as f:
            for h in self.holders:
                if h.status is None:
                    f.write(f"{h.pid} python3\n")

    def plan(self, n):
        """Listening ports for n connections, widening the ephemeral range
        for the run if even MAX_PORTS would not do."""
        lo, hi = (int(x) for x in read_file(PORT_RANGE).split())
        span = hi - lo + 1
        per_pair = int(span * PAIR_SHARE)
        nports = max(2, -(-n // (per_pair * SOURCES)))
        if nports > MAX_PORTS:
            lo, hi = 10000, 65000
            self.sysctls.set(PORT_RANGE, f"{lo}\t{hi}")
            per_pair = int((hi - lo + 1) * PAIR_SHARE)
            nports = max(2, -(-n // (per_pair * SOURCES)))
            if nports > MAX_PORTS:
                raise RuntimeError(f"{n} connections need more than {MAX_PORTS} ports")
        return nports, (lo, hi)

    @staticmethod
    def fds_per_holder():
        """How many descriptors one holder may open: up to fs.nr_open with
        CAP_SYS_RESOURCE (root in a container may lack it), else up to the
        hard RLIMIT_NOFILE we have. Returns (fds, why)."""
        nr_open = int(read_file(NR_OPEN, "1048576").strip() or 1048576)
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        caps = 0
        for line in read_file("/proc/self/status").splitlines():
            if line.startswith("CapEff:"):
                caps = int(line.split()[1], 16)
        if caps & (1 << CAP_SYS_RESOURCE):
            return nr_open - FD_SLACK, f"fs.nr_open {nr_open}"
        if hard == resource.RLIM_INFINITY:
            hard = nr_open
        return hard - FD_SLACK, (f"hard RLIMIT_NOFILE {hard}, which cannot be raised "
                                 "without CAP_SYS_RESOURCE")

    def open_connections(self, n):
        per_holder, why = self.fds_per_holder()
        if per_holder < 1000:
            raise RuntimeError(f"too few file descriptors per process ({why})")
        # Two processes if they can hold n descriptors each, else pairs of
        # server and client holders, each pair with its own share.
        pairs = -(-n // per_holder)
        if pairs > 32:
            raise RuntimeError(f"{n} connections need {pairs} pairs of holders ({why})")
        counts = [n // pairs + (i < n % pairs) for i in range(pairs)]
        nports, prange = self.plan(counts[0])
        limit = SETUP_BASE + SETUP_PER_10K * n / 10000
        t0 = time.monotonic()
        deadline = t0 + limit + 10
        servers, clients, ports = [], [], []
        # listen() takes min(backlog, somaxconn) when it is called: raise
        # somaxconn only until the listeners exist.
        somax = int(read_file(SOMAXCONN, "4096").strip() or 4096)
        if somax < min(BACKLOG, n):
            self.sysctls.set(SOMAXCONN, str(min(BACKLOG, n)))
        try:
            for i, c in enumerate(counts):
                servers.append(Holder("server", i, [str(nports), str(c), str(limit)],
                                      self.tmp))
                self.holders.append(servers[-1])
                self.write_pidfile()
            for srv in servers:
                ports.append([int(p) for p in srv.expect("ports", deadline).split()])
        finally:
            self.sysctls.restore(SOMAXCONN)
        for i, c in enumerate(counts):
            clients.append(Holder("client", i, [str(c), ",".join(map(str, ports[i])),
                                                str(SOURCES), str(limit)], self.tmp))
            self.holders.append(clients[-1])
            self.write_pidfile()
        for i, c in enumerate(counts):
            got = clients[i].expect("connected", deadline)
            acc = servers[i].expect("accepted", deadline)
            if int(got.split()[0]) != c or int(acc) != c:
                raise RuntimeError(f"holder pair {i}: opened {got} of {c} connections, "
                                   f"accepted {acc}, in {time.monotonic() - t0:.1f} s")
        setup = time.monotonic() - t0
        return {"setup_s": round(setup, 2), "holder_pairs": pairs,
                "fds_per_holder": why, "listen_ports": nports * pairs,
                "source_addrs": SOURCES, "ephemeral_range": list(prange),
                "holder_pids": [h.pid for h in servers + clients]}

    def close_connections(self, timeout=TEARDOWN_TIMEOUT):
        # All at once, clients first: their resets close the server ends.
        for h in reversed(self.holders):
            h.release()
        for h in reversed(self.holders):
            h.stop(timeout)
        self.holders = []
        self.write_pidfile()

    # -- the listings ------------------------------------------------------

    def commands(self):
        cmds = [("conntrace ls -tanp", [CONNTRACE, "ls", "-tanp"]),
                ("conntrace ls -tan", [CONNTRACE, "ls", "-tan"]),
                ("ss -tan", [shutil.which("ss"), "-tan"]),
                ("ss -tanp", [shutil.which("ss"), "-tanp"])]
        netstat = shutil.which("netstat")
        if netstat:
            cmds.append(("netstat -tanp", [netstat, "-tanp"]))
        else:
            self.warnings.append("netstat is not installed (net-tools): left out")
        return cmds

    def count_rows(self, argv, marks=()):
        """Runs argv once into a file: (rows after the header, rows naming
        one of marks)."""
        out = os.path.join(self.tmp, "rows.out")
        err = os.path.join(self.tmp, "rows.err")
        _, status, _, timed_out = timed_run(argv, out, err, CMD_TIMEOUT, self.running)
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

    def measure(self, n, cmds):
        res = {name: {"wall_s": [], "maxrss_kib": None, "user_s": [], "sys_s": [],
                      "warmup_s": None, "failed": None} for name, _ in cmds}
        errpath = os.path.join(self.tmp, "cmd.err")
        for rep in range(self.runs + 1):
            k = rep % len(cmds)
            for name, argv in cmds[k:] + cmds[:k]:
                r = res[name]
                if r["failed"]:
                    continue
                # The warm-up also measures the peak RSS, the runs the time.
                if rep == 0:
                    secs, status, ru, timed_out = rss_run(argv, errpath, CMD_TIMEOUT,
                                                          self.running)
                else:
                    secs, status, ru, timed_out = timed_run(argv, "/dev/null", errpath,
                                                            CMD_TIMEOUT, self.running)
                code = os.waitstatus_to_exitcode(status)
                if timed_out or code != 0:
                    r["failed"] = (f"timed out after {CMD_TIMEOUT:.0f} s" if timed_out
                                   else f"exit {code}: "
                                   + read_file(errpath).strip()[-200:])
                    self.warnings.append(f"N={n}: {name} {r['failed']}; "
                                         "its other runs are skipped")
                    continue
                if rep == 0:
                    r["warmup_s"] = secs
                    r["maxrss_kib"] = ru.ru_maxrss
                    continue
                r["wall_s"].append(secs)
                r["user_s"].append(ru.ru_utime)
                r["sys_s"].append(ru.ru_stime)
            print(f"bench ls: N={n} " + ("warm-up" if rep == 0 else
                                         f"run {rep}/{self.runs}") + " done",
                  file=sys.stderr, flush=True)
        for r in res.values():
            for key in ("wall_s", "user_s", "sys_s"):
                v = r[key]
                r["median_" + key] = statistics.median(v) if v else None
            r["min_wall_s"] = min(r["wall_s"]) if r["wall_s"] else None
            r["max_wall_s"] = max(r["wall_s"]) if r["wall_s"] else None
        return res

    def one_size(self, n, cmds):
        entry = {"connections": n, "sockets": 2 * n, "loadavg_before": loadavg()}
        baseline, _ = self.count_rows([shutil.which("ss"), "-tan"])
        print(f"bench ls: opening {n} loopback connections "
              f"({baseline} TCP sockets already there)", file=sys.stderr, flush=True)
        entry.update(self.open_connections(n))
        entry["other_tcp_sockets"] = baseline
        print(f"bench ls: {n} connections open in {entry['setup_s']:.1f} s, "
              f"held by {entry['holder_pairs']} server and {entry['holder_pairs']} client "
              f"processes, from {entry['source_addrs']} addresses to "
              f"{entry['listen_ports']} ports",
              file=sys.stderr, flush=True)
        # The work is really done: every socket listed, ours with their owner.
        marks = tuple(f" {pid}/".encode() for pid in entry["holder_pids"])
        rows, owned = self.count_rows(cmds[0][1], marks)
        ss_rows, _ = self.count_rows([shutil.which("ss"), "-tan"])
        entry.update(conntrace_rows=rows, conntrace_rows_with_our_pids=owned,
                     ss_tan_rows=ss_rows)
        if rows < 2 * n or owned < 2 * n * 0.99:
            self.warnings.append(f"N={n}: conntrace ls -tanp listed {rows} sockets, "
                                 f"{owned} with the holders' pids; expected {2 * n}")
        if abs(rows - ss_rows) > max(100, n // 100):
            self.warnings.append(f"N={n}: conntrace listed {rows} sockets, ss -tan {ss_rows}")
        entry["commands"] = self.measure(n, cmds)
        entry["loadavg_after"] = loadavg()
        self.close_connections()
        return entry

    # -- the whole part ----------------------------------------------------

    def run(self):
        if os.geteuid() != 0:
            raise RuntimeError("needs root (BPF iterator, sysctls, rlimits)")
        if not os.access(CONNTRACE, os.X_OK):
            raise RuntimeError("build conntrace first (make), and run from the top "
                               "of the tree")
        if not shutil.which("ss"):
            raise RuntimeError("ss (iproute2) is missing")
        cmds = self.commands()
        mach = {"nproc": os.cpu_count(), "kernel": platform.release(),
                "arch": platform.machine(), "loadavg_at_start": loadavg()}
        for line in read_file("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                mach["cpu"] = line.split(":", 1)[1].strip()
                break
        print(f"bench ls: sizes {', '.join(map(str, self.sizes))}; "
              f"1 warm-up + {self.runs} runs of {len(cmds)} commands each",
              file=sys.stderr, flush=True)
        t0 = time.monotonic()
        results = []
        for n in self.sizes:
            results.append(self.one_size(n, cmds))
        mach["loadavg_at_end"] = loadavg()
        self.report(mach, cmds, results, time.monotonic() - t0)

    def report(self, mach, cmds, results, elapsed):
        def ms(v):
            return f"{v * 1000:9.1f}" if v is not None else f"{'-':>9}"

        def ratio(a, b):
            return a / b if a is not None and b else None

        lines = ["conntrace bench ls: listing N established loopback TCP connections "
                 "(2N sockets), output to /dev/null",
                 f"machine: nproc {mach['nproc']} ({mach.get('cpu', '?')}), Linux "
                 f"{mach['kernel']} {mach['arch']}, load at start "
                 f"{' '.join(mach['loadavg_at_start'])}",
                 f"runs: 1 warm-up + {self.runs} timed runs per command, interleaved in "
                 "rotating order; wall time from spawn to reap",
                 "",
                 f"{'N':>7} {'command':<19} {'median':>9} {'min':>9} {'max':>9} "
                 f"{'/ss-tan':>7} {'/ss-tanp':>8} {'maxRSS':>7} {'user':>7} {'sys':>7}",
                 f"{'':>7} {'':<19} {'ms':>9} {'ms':>9} {'ms':>9} "
                 f"{'':>7} {'':>8} {'MiB':>7} {'ms':>7} {'ms':>7}"]
        summary = []
        for e in results:
            c = e["commands"]
            base = c["ss -tan"]["median_wall_s"]
            basep = c["ss -tanp"]["median_wall_s"]
            for name, _ in cmds:
                r = c[name]
                r["ratio_vs_ss_tan"] = ratio(r["median_wall_s"], base)
                r["ratio_vs_ss_tanp"] = ratio(r["median_wall_s"], basep)
                rss = r["maxrss_kib"]
                lines.append(
                    f"{e['connections']:>7} {name:<19} {ms(r['median_wall_s'])} "
                    f"{ms(r['min_wall_s'])} {ms(r['max_wall_s'])} "
                    + (f"{r['ratio_vs_ss_tan']:7.2f} " if r["ratio_vs_ss_tan"] is not None
                       else f"{'-':>7} ")
                    + (f"{r['ratio_vs_ss_tanp']:8.2f} " if r["ratio_vs_ss_tanp"] is not None
                       else f"{'-':>8} ")
                    + (f"{rss / 1024:7.1f} " if rss is not None else f"{'-':>7} ")
                    + (f"{r['median_user_s'] * 1000:7.0f} {r['median_sys_s'] * 1000:7.0f}"
                       if r["median_user_s"] is not None else f"{'-':>7} {'-':>7}")
                    + (f"  FAILED: {r['failed']}" if r["failed"] else ""))
            ct = c["conntrace ls -tanp"]
            a, b = ct["ratio_vs_ss_tan"], ct["ratio_vs_ss_tanp"]
            e["targets"] = {
                "vs_ss_tan": {"ratio": a, "target": TARGET_VS_SS_TAN,
                              "met": a is not None and a <= TARGET_VS_SS_TAN},
                "vs_ss_tanp": {"ratio": b, "target": TARGET_VS_SS_TANP,
                               "met": b is not None and b <= TARGET_VS_SS_TANP}}
            fmt = (lambda x: f"{x:.2f}" if x is not None else "-")
            summary.append(
                f"N={e['connections']}: conntrace/ss-tan {fmt(a)} (target <= "
                f"{TARGET_VS_SS_TAN:g}: {'ok' if e['targets']['vs_ss_tan']['met'] else 'MISSED'}), "
                f"conntrace/ss-tanp {fmt(b)} (target <= {TARGET_VS_SS_TANP:g}: "
                f"{'ok' if e['targets']['vs_ss_tanp']['met'] else 'MISSED'}); "
                f"{e['conntrace_rows']} rows, {e['conntrace_rows_with_our_pids']} with "
                f"the holders' pids ({e['holder_pairs']} server + {e['holder_pairs']} "
                f"client processes); set-up {e['setup_s']:.1f} s; load "
                f"{' '.join(e['loadavg_before'])} -> {' '.join(e['loadavg_after'])}")
        lines.append("")
        lines.append("median/min/max: wall time of the timed runs; user, sys: median CPU "
                     "time; maxRSS: peak RSS in the warm-up run")
        lines += summary
        if len(results) > 1:
            first, last = results[0], results[-1]
            parts = []
            for name in ("conntrace ls -tanp", "conntrace ls -tan", "ss -tan", "ss -tanp"):
                x = first["commands"][name]["maxrss_kib"]
                y = last["commands"][name]["maxrss_kib"]
                if x and y:
                    parts.append(f"{name} {x / 1024:.1f} -> {y / 1024:.1f} MiB "
                                 f"(x{y / x:.2f})")
            lines.append(f"max RSS from N={first['connections']} to "
                         f"N={last['connections']}: " + "; ".join(parts))
        lines.append(f"load average at end: {' '.join(mach['loadavg_at_end'])} "
                     "(other work on the machine adds noise)")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        lines.append(f"elapsed: {elapsed:.0f} s")
        print("\n".join(lines), flush=True)

        doc_ls = {"machine": mach,
                  "config": {"sizes": self.sizes, "runs": self.runs, "warmup": 1,
                             "commands": {name: " ".join(argv) for name, argv in cmds},
                             "targets": {"conntrace_vs_ss_tan": TARGET_VS_SS_TAN,
                                         "conntrace_vs_ss_tanp": TARGET_VS_SS_TANP}},
                  "elapsed_s": round(elapsed, 1), "sizes": results,
                  "warnings": self.warnings}
        self.merge_json(doc_ls)

    def merge_json(self, doc_ls):
        os.makedirs(self.outdir, exist_ok=True)
        path = os.path.join(self.outdir, "bench.json")
        doc = {}
        try:
            with open(path) as f:
                doc = json.load(f)
            if not isinstance(doc, dict):
                doc = {}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            print(f"bench ls: {path} unreadable ({e}): writing it anew", file=sys.stderr)
            doc = {}
        doc["ls"] = doc_ls
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        print(f"(also written to {path}, key \"ls\")", file=sys.stderr)

    def cleanup(self):
        for pid in list(self.running):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        try:
            self.close_connections(timeout=10)
        except OSError as e:
            print(f"bench ls: stopping the holders: {e}", file=sys.stderr)
            for h in self.holders:
                if h.alive():
                    os.kill(h.pid, signal.SIGKILL)
        self.sysctls.restore()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--hold":
        holder_main(sys.argv[2:])
    if os.environ.get("BENCH_LS", "1") == "0":
        print("bench ls: skipped (BENCH_LS=0)", file=sys.stderr)
        return 0

    return run_guarded(BenchLs(), "bench ls", (RuntimeError, OSError))


if __name__ == "__main__":
    sys.exit(main())
