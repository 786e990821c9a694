"""Helpers for conntrace's integration tests: run the real binary, drive
real TCP traffic from separate processes, and read what conntrace said.

Traffic goes only to loopback or to network namespaces these helpers make.
Every wait is bounded in time.
"""
import ctypes
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONNTRACE = os.path.join(ROOT, "conntrace")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Watch:
    """A running `conntrace MODE --json`, read line by line. With mode None,
    `conntrace ARGS`; with json_lines False, events are the text lines."""

    def __init__(self, *args, mode="watch", ready_timeout=20.0, json_lines=True):
        self.json_lines = json_lines
        argv = [CONNTRACE] + ([mode] if mode else []) + \
            (["--json"] if json_lines else []) + list(args)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.events = []
        self.stderr = ""
        self._buf = b""
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout):
        self.stderr = wait_tracing(self.proc, timeout)

    def _read_available(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            self._add(line)
        return True

    def _add(self, line):
        if line.strip():
            self.events.append(json.loads(line) if self.json_lines
                               else line.decode())

    def wait_for(self, pred, timeout=5.0):
        """Reads until pred(events) is true or timeout passes."""
        deadline = time.monotonic() + timeout
        while not pred(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._read_available(min(left, 0.2))
        return True

    def settle(self, quiet=0.3, timeout=5.0):
        """Reads until no line came for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read_available(quiet):
            pass

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        """Stops conntrace and returns its exit code."""
        out, err = stop_proc(self.proc, sig, timeout)
        self._buf += out
        for line in self._buf.split(b"\n"):
            self._add(line)
        self._buf = b""
        self.stderr += err.decode()
        return self.proc.returncode


def stop_proc(proc, sig=signal.SIGINT, timeout=10.0):
    """Sends sig to proc if it still runs, and waits for it; kills it past
    timeout. Returns its (stdout, stderr), as communicate() does."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def wait_tracing(proc, timeout=20.0, word=b"tracing"):
    """Reads a starting conntrace's stderr until it says it is tracing
    (or the word its mode says when ready); returns what it said. Kills
    it and raises if it never does."""
    deadline = time.monotonic() + timeout
    err = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stderr], [], [], 0.1)
        if r:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            err += chunk
            if word in err:
                return err.decode()
    proc.kill()
    proc.wait()
    raise RuntimeError("conntrace did not start: " + err.decode())


NOBODY = 65534


def run_as_nobody(*args, timeout=30):
    """Runs `conntrace ARGS` as nobody, from a copy anyone can run: the
    clone may be where nobody cannot read (under /root, mode 700)."""
    tmp = tempfile.mkdtemp(prefix="ct-nobody-")
    try:
        os.chmod(tmp, 0o755)
        binary = os.path.join(tmp, "conntrace")
        shutil.copy(CONNTRACE, binary)
        os.chmod(binary, 0o755)
        return subprocess.run([binary, *args], capture_output=True, text=True,
                              timeout=timeout, user=NOBODY, group=NOBODY,
                              extra_groups=[], cwd="/")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Ports:
    """Test ports, each used once, below the ephemeral range (32768+) so
    that no client's port can take one of ours."""

    def __init__(self, base):
        self.next = base + os.getpid() % 900

    def __call__(self):
        self.next += 1
        return self.next


def listen_on(family, addr, port, backlog=8):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    return s


def recv_exact(sock, n):
    """Reads exactly n bytes, or fails."""
    got = 0
    while got < n:
        chunk = sock.recv(min(65536, n - got))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (got, n))
        got += len(chunk)


def spawn(fn, *args):
    """Runs fn(*args) in a child process; returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fn(*args)
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def reap(pid, timeout=10.0):
    """Waits for a child; kills it past timeout. Returns its exit status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -signal.SIGKILL


class Pipe:
    """A one-way message channel between forked processes, with one
    reader: two readers would share its bytes."""

    def __init__(self):
        self.r, self.w = os.pipe()

    def send(self, msg):
        os.write(self.w, (json.dumps(msg) + "\n").encode())

    def recv(self, timeout=10.0):
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from peer process")
            r, _, _ = select.select([self.r], [], [], left)
            if r:
                chunk = os.read(self.r, 1)
                if not chunk:
                    raise EOFError("peer process went away")
                data += chunk
        return json.loads(data)


def enter_netns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def sh(*cmd):
    """Runs a command; a failure raises with the command's own message."""
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (
            " ".join(cmd), r.returncode, r.stderr.strip()))


class Namespaces:
    """Network namespaces named in self.names, made by setup() on enter and
    removed on exit, also when setup() fails halfway (then __exit__ would
    not run)."""

    names = ()

    def setup(self):
        raise NotImplementedError

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for ns in self.names:
            if os.path.exists("/run/netns/" + ns):
                subprocess.run(["ip", "netns", "del", ns],
                               stderr=subprocess.DEVNULL)


class Netns(Namespaces):
    """A fresh network namespace with lo up."""

    _seq = [0]

    def __init__(self, tag):
        Netns._seq[0] += 1
        self.name = "ct-%s-%d-%d" % (tag, os.getpid(), Netns._seq[0])
        self.names = (self.name,)

    def setup(self):
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")

    def cmd(self, *args):
        # `ip netns exec` also mounts the namespace's /sys, for the MTUs.
        return ["ip", "netns", "exec", self.name, *args]


class VethPair(Namespaces):
    """Two network namespaces joined by a veth pair."""

    def __init__(self, tag, addr_a="198.18.0.1", addr_b="198.18.0.2"):
        self.a, self.b = "ct-%s-a-%d" % (tag, os.getpid()), "ct-%s-b-%d" % (tag, os.getpid())
        self.names = (self.a, self.b)
        self.addr_a, self.addr_b = addr_a, addr_b

    def setup(self):
        sh("ip", "netns", "add", self.a)
        sh("ip", "netns", "add", self.b)
        sh("ip", "-n", self.a, "link", "add", "veth0", "type", "veth",
           "peer", "name", "veth1", "netns", self.b)
        for ns, addr, dev in ((self.a, self.addr_a, "veth0"),
                              (self.b, self.addr_b, "veth1")):
            sh("ip", "-n", ns, "addr", "add", addr + "/30", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")


def conn_lines(events, lport, rport):
    """The transitions of one connection seen from one end, in order
    (watch's stream has other events too: resets, failed connects)."""
    return [e for e in events if e["lport"] == lport and e["rport"] == rport
            and e.get("event", "state") == "state"]


def transitions(lines):
    return [(e["old"], e["new"]) for e in lines]


def ss_time_wait(lport, rport, netns=None):
    """True if ss lists the connection in TIME-WAIT (the kernel's truth)."""
    cmd = ["ss", "-tanH", "state", "time-wait"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[-2].endswith(":%d" % lport) \
                and cols[-1].endswith(":%d" % rport):
            return True
    return False


def prog_misses(pid, name):
    """recursion_misses of the program called name that process pid holds
    (by the program ids in its fdinfo), from bpftool; 0 if none."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                m = re.search(r"^prog_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    out = subprocess.run(["bpftool", "prog", "show", "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("bpftool prog show failed: " + out.stderr)
    return sum(p.get("recursion_misses", 0)
               for p in json.loads(out.stdout or "[]")
               if p.get("id") in ids and p.get("name") == name)


def bpf_prog_names():
    out = subprocess.run(["bpftool", "prog", "show", "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("bpftool prog show failed: " + out.stderr)
    return [p.get("name", "") for p in json.loads(out.stdout or "[]")]


class Skip(Exception):
    """A test that cannot run here (a kernel without what it checks, a
    tool the machine lacks): counted and named in the results, never
    passed quietly."""


def skip(reason):
    raise Skip(reason)


def require_tools(*names):
    """Skips the test unless every program in names is on PATH."""
    missing = [n for n in names if not shutil.which(n)]
    if missing:
        skip("needs %s, not installed here" % ", ".join(missing))


def emulated_cpu():
    """Why this CPU is too slow for tests of deadlines: a reason when it
    is emulated instruction by instruction (QEMU without KVM, as the
    kernel matrix runs here), else None."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and "QEMU TCG" in line:
                return "the CPU is emulated (%s)" % line.split(":", 1)[1].strip()
    return None


# How much longer to allow for waits that bound a test without being what
# it checks (a child's exit, a first line): an emulated CPU is tens of
# times slower than the machines the bounds were set on.
SLOW = 4 if emulated_cpu() else 1


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def run(self, name, fn):
        t0 = time.monotonic()
        try:
            fn()
        except Skip as why:
            self.skipped += 1
            print("skip %s: %s" % (name, why), flush=True)
            return
        except Exception as exc:  # a failing assertion or a broken setup
            self.failed += 1
            print("FAIL %s (%.1fs): %s" % (name, time.monotonic() - t0, exc), flush=True)
            traceback.print_exc()
            return
        self.passed += 1
        print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)


def kernel_symbols(*names):
    """Which of names the running kernel has, from /proc/kallsyms: what
    the kernel itself says, not what conntrace's probe thinks."""
    want, found = set(names), set()
    with open("/proc/kallsyms") as f:
        for line in f:
            sym = line.split()[2]
            if sym in want:
                found.add(sym)
    return found


# --- processes with names of their own, and losses ----------------------------

PR_SET_NAME = 15
SO_ATTACH_FILTER = 26


def set_comm(name):
    """Names this process (its comm), as conntrace will show it."""
    if _libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl PR_SET_NAME")


def drop_share(sock, share):
    """Attaches a socket filter that drops `share` of the packets the
    socket receives, at random (the kernel's own prandom, SKF_AD_RANDOM).
    Children of a listener inherit it."""
    threshold = int((1.0 - share) * 0xffffffff)
    insns = [(0x20, 0, 0, 0xfffff038),       # ld rand
             (0x35, 0, 1, threshold),        # jge #threshold -> drop
             (0x06, 0, 0, 0),                # ret #0: drop
             (0x06, 0, 0, 0xffffffff)]       # ret #-1: keep it all
    prog = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *i) for i in insns))
    fprog = struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(prog))
    # The kernel copies the program: prog may go once this returns.
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def ss_info(netns, lport, rport):
    """The words of ss -ti about one connection."""
    out = subprocess.run(["ip", "netns", "exec", netns, "ss", "-tinH",
                          "sport = :%d and dport = :%d" % (lport, rport)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip(), "ss does not list %d -> %d" % (lport, rport)
    return out.split()


def ss_total_retrans(netns, lport, rport, timeout=10.0):
    """tcpi_total_retrans of one connection, as ss -ti shows it, once
    nothing it sent is unacked (ss then shows no unacked:): with nothing in
    flight, nothing more is sent again."""
    deadline = time.monotonic() + timeout
    while True:
        words = ss_info(netns, lport, rport)
        if not any(w.startswith("unacked:") for w in words):
            break
        assert time.monotonic() < deadline, "still unacked: %s" % words
        time.sleep(0.1)
    for word in words:
        if word.startswith("retrans:"):
            return int(word.split("/")[1])
    return 0


SO_DETACH_FILTER = 27


def while_running(running, read):
    """read(pid) of a running conntrace (an object with .proc and .stop()),
    then stops it: (what read returned, its exit status)."""
    try:
        got = read(running.proc.pid)
    finally:
        rc = running.stop()
    return got, rc


def nice_of(pid):
    """The nice value of a process's main thread, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def lossy_server(netns, addr, port, ready, share, stop=None):
    """Accepts one connection through a lossy filter and reads to EOF,
    answering each 64 KiB with one byte. With a stop Pipe, it loses
    nothing more once told so there, and says so on ready."""
    enter_netns(netns)
    set_comm("ctlossysrv")
    ls = listen_on(socket.AF_INET, addr, port, backlog=4)
    drop_share(ls, share)
    ready.send({"pid": os.getpid()})
    conn, _ = ls.accept()
    got = 0
    while True:
        if stop and stop.r in select.select([conn, stop.r], [], [], 60)[0]:
            stop.recv()
            conn.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
            ready.send({"stopped": True})
            continue
        data = conn.recv(65536)
        if not data:
            break
        got += len(data)
        while got >= 65536:
            conn.sendall(b"k")
            got -= 65536
    conn.close()
    ls.close()


# The offset of tcpi_total_retrans (a __u32) in struct tcp_info, from the
# kernel's uapi header linux/tcp.h: eight one-byte fields, then 23 __u32
# from tcpi_rto to tcpi_rcv_space. The layout only grows at its end.
TCPI_TOTAL_RETRANS = 8 + 23 * 4


def total_retrans(sock):
    """The socket's tcpi_total_retrans, as TCP_INFO gives it."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO,
                           TCPI_TOTAL_RETRANS + 4)
    return struct.unpack_from("I", info, TCPI_TOTAL_RETRANS)[0]


def bulk_client(netns, addr, port, out, go, size, until_retrans=False,
                seconds=20.0):
    """Sends size bytes in 64 KiB writes, each answered by a byte; says
    how many it sent and its tcpi_total_retrans when done, and closes once
    told to go. until_retrans: it goes on past size (up to 8 times size,
    for at most seconds) until it has retransmitted. Over veth each write
    goes as one or two GSO packets, so a 5% loss on the way may by chance
    hit none of a few dozen: a test that needs a loss then has none. Once
    a write is answered every byte of it arrived, so a loss in it was
    already sent again when the count is read."""
    enter_netns(netns)
    set_comm("ctbulkcli")
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.connect((addr, port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    chunk = b"r" * 65536
    sent = 0
    deadline = time.monotonic() + seconds

    def more():
        if sent + len(chunk) <= size:
            return True
        return until_retrans and total_retrans(c) == 0 and \
            sent + len(chunk) <= 8 * size and time.monotonic() < deadline
    while more():
        c.sendall(chunk)
        c.recv(1)
        sent += len(chunk)
    out.send({"sent": sent, "retrans": total_retrans(c)})
    go.recv()
    c.close()


# Linux's number for it; Python's socket module does not name it.
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def big_rcvbuf(s, size=4 << 20):
    """A receive buffer of size bytes, whatever net.core.rmem_max allows
    (root only). SO_RCVBUF stops at rmem_max, 208 KiB on a stock kernel:
    too little for the UDP tests' bursts when the reader is slow, as in
    the kernel matrix's guest, where datagrams were dropped."""
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
