# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What the benchmark scripts share: running a bench so that a signal or an
error always ends in its cleanup; starting and stopping children; reading a
tracer's CPU time and its BPF programs' run counts; and holding many open
loopback connections in processes of their own (Conns).

The holders are this file run as `python3 benchlib.py --hold ...`."""
import ctypes
import errno
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
SOMAXCONN = "/proc/sys/net/core/somaxconn"
PORT_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
NR_OPEN = "/proc/sys/fs/nr_open"
PR_SET_PDEATHSIG = 1
CAP_SYS_RESOURCE = 24


class Interrupted(Exception):
    pass


def read_file(path, default=""):
    """A file's text, or default if it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def env_int(prog, name, default, lo, hi):
    """An environment setting as a whole number in lo..hi; exits if bad."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        sys.exit(f"{prog}: {name}={raw!r} is not a whole number")
    if not lo <= v <= hi:
        sys.exit(f"{prog}: {name}={v} is outside {lo}..{hi}")
    return v


def env_sizes(prog, name, default, lo, hi, most=6):
    """A comma-separated list of counts (10k allowed) from the environment."""
    sizes = []
    for s in os.environ.get(name, default).split(","):
        s = s.strip().replace("_", "")
        if not s:
            continue
        if s.lower().endswith("k") and s[:-1].isdigit():
            s = str(int(s[:-1]) * 1000)
        if not s.isdigit() or not lo <= int(s) <= hi:
            sys.exit(f"{prog}: bad size {s!r} in {name} ({lo}..{hi})")
        sizes.append(int(s))
    if not sizes or len(sizes) > most:
        sys.exit(f"{prog}: {name} needs 1 to {most} sizes")
    return sizes


def _ignore_stop_signals():
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def run_guarded(bench, name, errors=(RuntimeError,)):
    """Runs bench.run(), then bench.cleanup() whatever happens. Returns the
    exit status: 0, 1 on one of `errors`, 130 when interrupted."""
    def on_signal(sig, frame):
        # Once: the cleanup that follows must not be cut short.
        _ignore_stop_signals()
        raise Interrupted(signal.Signals(sig).name)

    # Set even if the caller ignored them (a background job ignores SIGINT):
    # handled signals are reset to the default in the children.
    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    try:
        bench.run()
    except Interrupted as e:
        print(f"{name}: interrupted ({e}), stopping", file=sys.stderr)
        return 130
    except errors as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    finally:
        _ignore_stop_signals()
        bench.cleanup()
    return 0


class Part:
    """What every bench part keeps: where results go, a scratch directory,
    its children, its warnings, and kernel.bpf_stats_enabled to restore."""

    def __init__(self, name):
        self.name = name
        self.outdir = os.environ.get("OUTPUT", ".output")
        self.tmp = tempfile.mkdtemp(prefix=f"conntrace-{name.replace(' ', '-')}.",
                                    dir=os.environ.get("BENCH_TMP") or None)
        self.children = Children(os.environ.get("BENCH_PIDFILE"))
        self.stats = None
        self.warnings = []

    def begin(self, conntrace):
        """Checks that the part can run, turns bpf_stats on, and returns the
        machine's description."""
        check_can_run(conntrace)
        self.stats = BpfStats()
        self.stats.enable()
        return machine()

    def cleanup(self):
        self.children.stop_all()
        if self.stats:
            self.stats.restore()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_part(make, name, var):
    """A bench part's main: skipped when the variable var is 0, else
    make() run guarded. Returns the exit status."""
    if os.environ.get(var, "1") == "0":
        print(f"{name}: skipped ({var}=0)", file=sys.stderr)
        return 0
    return run_guarded(make(), name, (RuntimeError, OSError))


def merge_json(outdir, key, value, prog):
    """Stores value under key in outdir/bench.json, keeping the other keys."""
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "bench.json")
    doc = {}
    try:
        with open(path) as f:
            doc = json.load(f)
        if not isinstance(doc, dict):
            doc = {}
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        print(f"{prog}: {path} unreadable ({e}): writing it anew", file=sys.stderr)
    doc[key] = value
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"(also written to {path}, key \"{key}\")", file=sys.stderr)


def check_can_run(conntrace):
    """Raises unless we are root and conntrace is built, run from the top of
    the tree."""
    if os.geteuid() != 0:
        raise RuntimeError("needs root (BPF, sysctls)")
    if not os.access(conntrace, os.X_OK):
        raise RuntimeError("build conntrace first (make), and run from the top "
                           "of the tree")


def machine():
    """What the figures were taken on."""
    mach = {"nproc": os.cpu_count(), "kernel": os.uname().release,
            "arch": os.uname().machine, "loadavg": loadavg()}
    for line in read_file("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            mach["cpu"] = line.split(":", 1)[1].strip()
            break
    return mach


def loadavg():
    return read_file("/proc/loadavg").split()[:3]


def machine_line(mach):
    """The line of a part's table that says what it ran on."""
    return (f"machine: nproc {mach['nproc']} ({mach.get('cpu', '?')}), Linux "
            f"{mach['kernel']}, load at start {' '.join(mach['loadavg'])}")


def target(value, limit):
    """A figure against its upper limit; met is None where none is set."""
    return {"target": limit, "met": None if limit is None else value <= limit}


def target_cells(t):
    """A target's two cells in a table: the limit, and whether it was met."""
    limit = ("<=" + format(t["target"], "g")) if t["target"] else "-"
    return limit, "" if t["met"] is None else " ok" if t["met"] else " MISSED"


# ---------------------------------------------------------------------------
# Children, CPU time and BPF run counts.

class Children:
    """Every process a bench starts, listed in a pid file for bench.sh's
    last-resort cleanup, so that nothing outlives the bench."""

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

    def start(self, argv, comm=None, **kw):
        # A session of its own: a Ctrl-C at the terminal reaches the bench,
        # which stops its children itself, in order.
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append((p, comm or os.path.basename(argv[0])[:15]))
        self._write()
        return p

    def stop(self, p, sig=signal.SIGINT, timeout=10.0):
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
    """Waits until the file holds a line matching pattern; returns it."""
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


def cpu_seconds(pid):
    """utime + stime of pid in seconds, or None."""
    stat = read_file(f"/proc/{pid}/stat")
    if not stat:
        return None
    f = stat[stat.rfind(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    """(VmRSS, VmHWM) of pid in KiB, or (None, None)."""
    vals = {}
    for line in read_file(f"/proc/{pid}/status").splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            vals[k] = int(v.split()[0])
    return vals.get("VmRSS"), vals.get("VmHWM")


def _fdinfos(pid):
    """The fdinfo text of each of pid's descriptors."""
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return
    for fd in fds:
        yield read_file(f"/proc/{pid}/fdinfo/{fd}")


def prog_ids_of(pid):
    """The ids of the BPF programs that pid holds (fds of programs, and of
    links, whose fdinfo names the program too)."""
    return {int(m.group(1)) for m in
            (re.search(r"^prog_id:\s*(\d+)", info, re.M) for info in _fdinfos(pid)) if m}


def hook_prog_ids(pid):
    """The programs pid has attached through links other than iterators:
    they run in other tasks' context, so their time is not in pid's CPU
    time (an iterator's is, in the read() that runs it)."""
    ids = set()
    for info in _fdinfos(pid):
        kind = re.search(r"^link_type:\s*(\S+)", info, re.M)
        prog = re.search(r"^prog_id:\s*(\d+)", info, re.M)
        if kind and prog and kind.group(1) != "iter":
            ids.add(int(prog.group(1)))
    return ids


def bpf_progs():
    """bpftool prog show --json: every loaded program, or raises."""
    try:
        out = subprocess.run(["bpftool", "prog", "show", "--json"],
                             capture_output=True, text=True, timeout=30)
        return json.loads(out.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        raise RuntimeError(f"bpftool prog show failed: {e}")


def prog_stats(ids):
    """{name: {run_cnt, run_time_ns, recursion_misses}} of the programs in
    ids, summed by name."""
    res = {}
    for p in bpf_progs():
        if p.get("id") in ids:
            s = res.setdefault(p.get("name", str(p["id"])),
                               {"run_cnt": 0, "run_time_ns": 0, "recursion_misses": 0,
                                "type": p.get("type")})
            for k in ("run_cnt", "run_time_ns", "recursion_misses"):
                s[k] += p.get(k, 0)
    return res


def stats_delta(after, before):
    """Per program: after - before (programs loaded in between count from 0)."""
    out = {}
    for name, a in after.items():
        b = before.get(name, {})
        out[name] = {k: a[k] - b.get(k, 0) for k in ("run_cnt", "run_time_ns",
                                                      "recursion_misses")}
        out[name]["type"] = a.get("type")
    return out


def total_runs(stats):
    return sum(s["run_cnt"] for s in stats.values())


def total_run_ns(stats):
    return sum(s["run_time_ns"] for s in stats.values())


class BpfStats:
    """kernel.bpf_stats_enabled=1 for the bench, restored by restore()."""

    def __init__(self):
        self.orig = read_file(BPF_STATS_SYSCTL).strip()
        if self.orig not in ("0", "1"):
            raise RuntimeError("cannot read kernel.bpf_stats_enabled")

    @staticmethod
    def set(v):
        with open(BPF_STATS_SYSCTL, "w") as f:
            f.write(f"{v}\n")

    def enable(self):
        self.set(1)

    def restore(self):
        if read_file(BPF_STATS_SYSCTL).strip() != self.orig:
            self.set(self.orig)


def conntrace_help(conntrace, mode):
    """The --help text of a mode, to use the options it has."""
    try:
        r = subprocess.run([conntrace, mode, "--help"], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
        return r.stdout + r.stderr
    except (OSError, subprocess.TimeoutExpired):
        return ""


class Sysctls:
    """Sysctls changed for the run, restored by restore() (idempotent)."""

    def __init__(self, prog):
        self.prog = prog
        self.saved = {}

    @staticmethod
    def write(path, value):
        with open(path, "w") as f:
            f.write(f"{value}\n")

    def set(self, path, value):
        if path not in self.saved:
            self.saved[path] = read_file(path).strip()
        self.write(path, value)

    def restore(self, path=None):
        for p in [path] if path else list(self.saved):
            if p in self.saved:
                try:
                    self.write(p, self.saved[p])
                except OSError as e:
                    print(f"{self.prog}: could not restore {p} to {self.saved[p]}: {e}",
                          file=sys.stderr)
                del self.saved[p]


# ---------------------------------------------------------------------------
# Many open loopback connections, held by processes of their own.
#
# A holder listens, connects to itself and accepts, so it holds both ends
# of each of its connections; then it forks into as many processes as it
# was told, each keeping its own slice of the sockets. Closed with a reset
# (SO_LINGER 0): no TIME_WAIT left behind for the next size or for others.

SOURCES = 4         # client addresses 127.0.0.1 .. 127.0.0.SOURCES
PAIR_SHARE = 0.4    # at most this share of the ephemeral range per
                    # (source address, listening port) pair
MAX_PORTS = 64
BACKLOG = 4096
BATCH = 256         # connects in flight at once
FD_SLACK = 256
LINGER0 = struct.pack("ii", 1, 0)


def _say(msg):
    os.write(1, (msg + "\n").encode())


def _die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _hold_until_eof():
    """Keeps everything open until the bench closes our stdin (or dies)."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def _connect_all(nconn, ports, deadline):
    """Opens nconn connections to ourselves; returns the fds of both ends."""
    listeners = {}
    for port in ports:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", port))
        ls.listen(BACKLOG)
        ls.setblocking(False)
        listeners[ls.fileno()] = ls
    pairs = [(f"127.0.0.{a}", p) for a in range(1, SOURCES + 1) for p in ports]
    no_port = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
    ep = select.epoll()
    for fd in listeners:
        ep.register(fd, select.EPOLLIN)
    pending = {}
    held = []
    accepted = connected = started = failed = 0
    last_err = ""
    while (connected < nconn or accepted < nconn) and time.monotonic() < deadline:
        while len(pending) < BATCH and started < nconn:
            src, port = pairs[started % len(pairs)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            s.setsockopt(socket.IPPROTO_IP, no_port, 1)
            s.bind((src, 0))
            started += 1
            err = s.connect_ex(("127.0.0.1", port))
            if err in (0, errno.EINPROGRESS):
                pending[s.fileno()] = s
                ep.register(s.fileno(), select.EPOLLOUT)
            else:
                s.close()
                started -= 1
                failed += 1
                last_err = os.strerror(err)
                if failed > 100 + nconn // 100:
                    raise RuntimeError(f"{failed} connects failed ({last_err})")
                break
        for fd, _ in ep.poll(0.1):
            if fd in listeners:
                while accepted < nconn:
                    try:
                        c, _ = listeners[fd].accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                    held.append(c.detach())
                    accepted += 1
                continue
            s = pending.pop(fd)
            ep.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                s.close()
                started -= 1
                failed += 1
                last_err = os.strerror(err)
            else:
                held.append(s.detach())
                connected += 1
    ep.close()
    for ls in listeners.values():
        ls.close()
    if connected < nconn or accepted < nconn:
        raise RuntimeError(f"connected {connected}, accepted {accepted} of {nconn} "
                           f"in time" + (f" (last error: {last_err})" if failed else ""))
    return held


def _fork_slices(held, nprocs):
    """Splits held over nprocs processes (this one included); each closes
    the others' sockets. Returns the pids, ours first."""
    chunk = -(-len(held) // nprocs)
    slices = [held[i * chunk:(i + 1) * chunk] for i in range(nprocs)]
    r, w = os.pipe()
    pids = [os.getpid()]
    for i in range(1, nprocs):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            os.close(r)
            mine = set(slices[i])
            for fd in held:
                if fd not in mine:
                    os.close(fd)
            os.write(w, b"x")
            os.close(w)
            _hold_until_eof()
        pids.append(pid)
    os.close(w)
    got = 0
    while got < nprocs - 1:
        b = os.read(r, 4096)
        if not b:
            break
        got += len(b)
    os.close(r)
    if got < nprocs - 1:
        raise RuntimeError(f"only {got} of {nprocs - 1} holder children ready")
    for s in slices[1:]:
        for fd in s:
            os.close(fd)
    return pids


def _holder_main(argv):
    """--hold NCONN NPROCS PORT,PORT,... DEADLINE_S"""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    # Reaped by nobody but the kernel: children exit when we are told to.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() == 1:
        os._exit(1)
    try:
        nconn, nprocs = int(argv[0]), int(argv[1])
        ports = [int(p) for p in argv[2].split(",")]
        need = 2 * nconn + len(ports) + FD_SLACK
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
        held = _connect_all(nconn, ports, time.monotonic() + float(argv[3]))
        pids = _fork_slices(held, nprocs)
        _say(f"held {len(held)} pids {','.join(map(str, pids))}")
    except Exception as e:  # tell the bench, which reads our stdout
        _say(f"error {type(e).__name__}: {e}")
        os._exit(1)
    _hold_until_eof()


class _Holder:
    """One holder process and its report on stdout."""

    def __init__(self, index, argv, errpath):
        self.name = f"holder {index}"
        self.errpath = errpath
        with open(errpath, "w") as err:
            r_out, w_out = os.pipe()
            r_in, w_in = os.pipe()
            try:
                self.pid = os.posix_spawn(
                    sys.executable, [sys.executable, os.path.abspath(__file__),
                                     "--hold"] + argv, os.environ,
                    file_actions=[(os.POSIX_SPAWN_DUP2, r_in, 0),
                                  (os.POSIX_SPAWN_DUP2, w_out, 1),
                                  (os.POSIX_SPAWN_DUP2, err.fileno(), 2)],
                    setsid=True)
            finally:
                os.close(r_in)
                os.close(w_out)
        self.stdin, self.stdout, self.buf, self.status = w_in, r_out, b"", None

    def expect(self, word, deadline):
        """The rest of the next line that starts with word."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                if line.startswith(word + " "):
                    return line[len(word) + 1:]
                if line.startswith("error"):
                    raise RuntimeError(f"{self.name}: {line}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.name}: no '{word}' in time")
            r, _, _ = select.select([self.stdout], [], [], min(left, 1.0))
            if r:
                data = os.read(self.stdout, 4096)
                if not data:
                    err = read_file(self.errpath).strip().splitlines()[-3:]
                    raise RuntimeError(f"{self.name} exited"
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

    def stop(self, timeout):
        """Closes its stdin (it and its children exit, closing their
        sockets), waits, and kills it if it lingers."""
        if self.stdin is not None:
            os.close(self.stdin)
            self.stdin = None
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        if self.stdout is not None:
            os.close(self.stdout)
            self.stdout = None


def fds_per_process():
    """How many descriptors one holder may open: up to fs.nr_open with
    CAP_SYS_RESOURCE, else up to the hard RLIMIT_NOFILE. (fds, why)."""
    nr_open = int(read_file(NR_OPEN, "1048576").strip() or 1048576)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    caps = 0
    for line in read_file("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            caps = int(line.split()[1], 16)
    if caps & (1 << CAP_SYS_RESOURCE):
        return nr_open - FD_SLACK - MAX_PORTS, f"fs.nr_open {nr_open}"
    if hard == resource.RLIM_INFINITY:
        hard = nr_open
    return hard - FD_SLACK - MAX_PORTS, (f"hard RLIMIT_NOFILE {hard}, which cannot be "
                                         "raised without CAP_SYS_RESOURCE")


def _free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Conns:
    """Holds n established loopback connections (2n sockets) in `procs`
    processes, or in as few as the descriptor limit allows (procs=0):
    open() then close(). `pids` are the holders' pids; `pidfile` lists them
    for bench.sh's cleanup."""

    SETUP_BASE = 30.0       # seconds allowed to open the connections:
    SETUP_PER_10K = 4.0     # base + this per 10,000

    def __init__(self, prog, tmp, sysctls, pidfile=None):
        self.prog, self.tmp, self.sysctls, self.pidfile = prog, tmp, sysctls, pidfile
        self.holders = []
        self.pids = []
        self.info = {}

    def _write_pidfile(self):
        if self.pidfile:
            with open(self.pidfile, "a") as f:
                for h in self.holders:
                    f.write(f"{h.pid} python3\n")

    def _ports_needed(self, nconn):
        lo, hi = (int(x) for x in read_file(PORT_RANGE).split())
        per_pair = int((hi - lo + 1) * PAIR_SHARE)
        nports = max(1, -(-nconn // (per_pair * SOURCES)))
        if nports > MAX_PORTS // 2:
            self.sysctls.set(PORT_RANGE, "10000\t65000")
            nports = max(1, -(-nconn // (int(55001 * PAIR_SHARE) * SOURCES)))
        return nports

    def open(self, n, procs=0):
        per_proc, why = fds_per_process()
        nholders = max(1, -(-2 * n // per_proc))
        if nholders > 64:
            raise RuntimeError(f"{n} connections need {nholders} holders ({why})")
        procs = max(procs, nholders)
        counts = [n // nholders + (i < n % nholders) for i in range(nholders)]
        nprocs = [procs // nholders + (i < procs % nholders) for i in range(nholders)]
        nports = self._ports_needed(max(counts))
        limit = self.SETUP_BASE + self.SETUP_PER_10K * n / 10000
        t0 = time.monotonic()
        somax = int(read_file(SOMAXCONN, "4096").strip() or 4096)
        if somax < BACKLOG:
            self.sysctls.set(SOMAXCONN, str(BACKLOG))
        try:
            for i, c in enumerate(counts):
                ports = ",".join(map(str, _free_ports(nports)))
                self.holders.append(_Holder(i, [str(c), str(nprocs[i]), ports, str(limit)],
                                            os.path.join(self.tmp, f"holder{i}.err")))
            self._write_pidfile()
            for h in self.holders:
                got = h.expect("held", t0 + limit + 10)
                self.pids += [int(p) for p in got.split()[2].split(",")]
        finally:
            self.sysctls.restore(SOMAXCONN)
        self.info = {"connections": n, "sockets": 2 * n, "processes": len(self.pids),
                     "holders": nholders, "fds_per_process": why,
                     "setup_s": round(time.monotonic() - t0, 2)}
        return self.info

    def close(self, timeout=30.0):
        for h in self.holders:
            if h.stdin is not None:
                os.close(h.stdin)
                h.stdin = None
        for h in self.holders:
            h.stop(timeout)
        self.holders = []
        self.pids = []
        self.sysctls.restore(PORT_RANGE)


class ConnsPart(Part):
    """A part that holds connections open: its holders and the sysctls it
    changed for them are undone at cleanup as well."""

    def __init__(self, name):
        super().__init__(name)
        self.sysctls = Sysctls(name)
        self.conns = Conns(name, self.tmp, self.sysctls,
                           os.environ.get("BENCH_PIDFILE"))

    def cleanup(self):
        self.children.stop_all()
        self.conns.close(timeout=10)
        self.sysctls.restore()
        super().cleanup()


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--hold":
    _holder_main(sys.argv[2:])
