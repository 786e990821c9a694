"""Root integration tests for what every mode does with its standard
output: closed, full, or a pipe whose reader goes away; and for table
columns that fit long IPv6 addresses."""
import os
import select
import socket
import subprocess
import time

from ctlib import (CONNTRACE, Pipe, Ports, emulated_cpu, enter_netns, listen_on,
                   reap, sh, skip, spawn, SLOW)

next_port = Ports(26000)

FULL_MSG = "conntrace: write error: No space left on device"
CLOSED_MSG = "conntrace: write error: Bad file descriptor"

# Every mode, and the help texts, each ending by itself. Run beside
# Traffic, so that watch --json has lines to write.
ONE_SHOT = [
    ["ls", "-tan"],
    ["ls", "-tan", "--json"],
    ["states"],
    ["states", "--json"],
    ["stats"],
    ["stats", "--json"],
    ["stats", "--interval", "0.1", "--count", "1"],
    ["hooks"],
    ["hooks", "--json"],
    ["--help"],
    ["ls", "--help"],
    ["states", "--help"],
    ["watch", "--help"],
    ["top", "--help"],
    ["stats", "--help"],
    ["hooks", "--help"],
    ["watch", "--duration", "2"],
    ["watch", "--json", "--duration", "2"],
    ["top", "--once"],
    ["top", "--json", "--once"],
    ["export", "--help"],
]


# `hooks` loads every variant: more than 30 s on an emulated CPU (SLOW),
# and over 120 s in the 6.12 guest with the host busy.
def run(args, timeout=60 * SLOW, **kw):
    return subprocess.run([CONNTRACE, *args], stderr=subprocess.PIPE,
                          text=True, timeout=timeout, **kw)


def assert_write_error(args, p, msg):
    """Exit 1, and the write error told once, last (a live mode's start
    line and loss report may come before it)."""
    assert p.returncode == 1, (args, p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert [l for l in lines if "write error" in l] == [msg], (args, p.stderr)
    assert lines[-1] == msg, (args, p.stderr)


def churn(port, seconds):
    """Connects to port and closes, over and over, for a bounded time."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=1)
            c.sendall(b"x" * 100)
            c.close()
        except OSError:
            pass
        time.sleep(0.01)


def accept_all(port, seconds):
    s = listen_on(socket.AF_INET, "127.0.0.1", port, 128)
    s.settimeout(0.2)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            s.accept()[0].close()
        except OSError:
            pass


class Traffic:
    """Short connections on loopback from two processes, while it lasts.
    Leaving the block ends them; seconds only bounds a test that never
    leaves. It must outlast the loop over every mode: that took 110 s on
    the kernel matrix's emulated CPU, where 60 s of traffic left `watch
    --json` with nothing to write, so no write error to report."""

    def __init__(self, seconds=120 * SLOW):
        port = next_port()
        self.pids = [spawn(accept_all, port, seconds)]
        time.sleep(0.2)
        self.pids.append(spawn(churn, port, seconds))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            reap(pid)


def test_full_stdout_every_mode():
    with Traffic(), open("/dev/full", "w") as full:
        for args in ONE_SHOT:
            assert_write_error(args, run(args, stdout=full), FULL_MSG)


def test_closed_stdout_every_mode():
    """With descriptor 1 closed, nothing that conntrace opens later (a
    netlink socket, a BPF map) may take its place: writes fail with EBADF."""
    with Traffic():
        for args in ONE_SHOT:
            p = run(args, stdout=subprocess.DEVNULL,
                    preexec_fn=lambda: os.close(1))
            assert_write_error(args, p, CLOSED_MSG)


def read_line(f, timeout):
    """The first line written to pipe f, within timeout."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        assert left > 0, "no line within %s s: %r" % (timeout, buf)
        r, _, _ = select.select([f], [], [], left)
        if r:
            chunk = os.read(f.fileno(), 4096)
            assert chunk, "output ended before a line: %r" % buf
            buf += chunk
    return buf.split(b"\n")[0]


def ends_when_reader_goes(args, first_line_timeout=60 * SLOW):
    """As `conntrace ARGS | head -1`: the time from the reader's exit to
    conntrace's, its exit status and its stderr."""
    p = subprocess.Popen([CONNTRACE, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        read_line(p.stdout, first_line_timeout)
        p.stdout.close()
        t0 = time.monotonic()
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        return time.monotonic() - t0, p.returncode, err.decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def check_quiet_end(args, limit=1.0):
    took, rc, err = ends_when_reader_goes(args)
    assert rc == 0, (args, rc, err)
    assert "write error" not in err and "Broken pipe" not in err, (args, err)
    slow = emulated_cpu()
    if took >= limit and slow:
        skip("%s ended %.2f s after its reader, over %.1f s: a deadline for "
             "a real CPU, and %s" % (" ".join(args), took, limit, slow))
    assert took < limit, (args, took)


def test_head_ends_watch_at_once_under_traffic():
    with Traffic():
        check_quiet_end(["watch"])
        check_quiet_end(["watch", "--json"])
        check_quiet_end(["watch", "--lifetime", "--json"])


def test_head_ends_top_and_stats_at_once():
    with Traffic():
        check_quiet_end(["top", "--json"])
        check_quiet_end(["top", "--json", "--interval", "5"])
        check_quiet_end(["top"])
    check_quiet_end(["stats", "--json", "--interval", "5"])
    check_quiet_end(["stats", "--interval", "5"])


def test_head_ends_one_shot_modes_quietly():
    # A socket of the test's own, so that ls has a line to print on a
    # machine with no other (the kernel matrix's guest).
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen()
        for args in (["ls", "-tan"], ["ls", "-tan", "--json"], ["states"],
                     ["hooks"], ["--help"]):
            check_quiet_end(args, limit=5.0)


# Long enough that the old fixed 27-character column overflowed.
V6_SERVER = "2001:db8:1111:2222:3333:4444:5555:6666"
V6_CLIENT = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"


def v6_pair(ns, port, ready, done):
    enter_netns(ns)
    s = listen_on(socket.AF_INET6, V6_SERVER, port)
    c = socket.socket(socket.AF_INET6)
    c.bind((V6_CLIENT, 0))
    c.connect((V6_SERVER, port))
    a, _ = s.accept()
    ready.send({"cport": c.getsockname()[1]})
    done.recv()


def test_ls_columns_fit_long_ipv6():
    ns = "ct-out-%d" % os.getpid()
    port = next_port()
    ready, done = Pipe(), Pipe()
    pid = None
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for a in (V6_SERVER, V6_CLIENT):
            sh("ip", "-n", ns, "addr", "add", a + "/128", "dev", "lo", "nodad")
        pid = spawn(v6_pair, ns, port, ready, done)
        cport = ready.recv()["cport"]
        p = run(["ls", "-tan", "--netns", ns], stdout=subprocess.PIPE)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        head = lines[0]
        peer = head.index("Peer Address:Port")
        sent_end = head.index("Sent") + len("Sent")
        # Ground truth: the connections the kernel lists (ss) there.
        ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-tanH",
                             "state", "established"],
                            capture_output=True, text=True).stdout
        want = {tuple(l.split()[2:4]) for l in ss.splitlines()}
        assert ("[%s]:%d" % (V6_CLIENT, cport), "[%s]:%d" % (V6_SERVER, port)) \
            in want, ss
        rows = [l for l in lines[1:] if l.split()[1] == "ESTABLISHED"]
        assert {tuple(r.split()[4:6]) for r in rows} == want, p.stdout
        for row in rows:
            # The peer column starts under its title, Sent ends under its.
            assert row[peer - 1] == " " and row[peer] == "[", (head, row)
            assert row[sent_end - 1].isdigit() and row[sent_end] == " ", (head, row)
    finally:
        if pid:
            done.send({"close": True})
            reap(pid)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
