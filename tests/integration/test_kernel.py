"""Root integration tests for the kernel side's session: `conntrace hooks`,
the hooks CONNTRACE_HOOKS forces (each must still count exactly), and
what a broken kernel BTF (CONNTRACE_BTF) makes conntrace say.
"""
import contextlib
import json
import os
import socket
import subprocess
import tempfile

import test_top
import test_watch
from ctlib import CONNTRACE, SLOW, Watch, listen_on

IO_PROGS = {"tp_btf": ["ct_send_btf", "ct_recv_btf"],
            "raw_tp": ["ct_send_raw", "ct_recv_raw"],
            "tracepoint": ["ct_send_tp", "ct_recv_tp"]}
# tp_btf and raw_tp each with the program that takes what the kernel
# skipped the first for (the classic tracepoint's skip covers every program).
STATE_PROGS = {"tp_btf": ["ct_state_btf", "ct_rescue_btf"],
               "raw_tp": ["ct_state_raw", "ct_rescue_raw"],
               "tracepoint": ["ct_state_tp"]}


@contextlib.contextmanager
def env(name, value):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


# `hooks` loads every variant: over 120 s in the kernel matrix's 6.12
# guest (emulated CPU, host busy), where one such run was cut off.
def run(*args, extra_env=None, timeout=120 * SLOW):
    e = dict(os.environ, **(extra_env or {}))
    return subprocess.run([CONNTRACE, *args], capture_output=True, text=True,
                          timeout=timeout, env=e)


def hooks_json(extra_env=None):
    p = run("hooks", "--json", extra_env=extra_env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_hooks_lists_programs_and_choice():
    h = hooks_json()
    trials = {(t["for"], t["hook"]): t for t in h["trials"]}
    for hook, progs in STATE_PROGS.items():
        assert trials[("state", hook)]["programs"] == progs, trials[("state", hook)]
    for hook, progs in IO_PROGS.items():
        assert trials[("io", hook)]["programs"] == progs, trials[("io", hook)]
    # fexit and kprobe variants: one program (or pair) per function.
    kp = trials[("io", "kprobe")]["programs"]
    assert "ct_kp_tcp_sendmsg" in kp and "ct_kr_tcp_sendmsg" in kp, kp
    fx = trials[("io", "fentry")]["programs"]
    want = "ct_fx_tcp_recvmsg_old" if h["recvmsg_has_nonblock"] else "ct_fx_tcp_recvmsg"
    assert want in fx and len([p for p in fx if "tcp_recvmsg" in p]) == 1, fx
    assert "ct_owner_files" in h["iterators"], h["iterators"]
    # The choice is the first variant that loads and attaches.
    first_ok = [t["hook"] for t in h["trials"]
                if t["for"] == "state" and t["attach"] == "ok"][0]
    assert h["chosen"] == {"state": first_ok, "io": h["chosen"]["io"],
                           "forced": False}, h["chosen"]
    assert trials[("io", h["chosen"]["io"])]["attach"] == "ok"
    text = run("hooks").stdout
    assert "chosen: state=%s, io=%s\n" % (first_ok, h["chosen"]["io"]) in text, text


def io_attaches(io):
    """Whether this kernel attaches the I/O family io: the sock_*_length
    families need Linux 6.3 (the kernel matrix runs these tests on 6.1)."""
    return any(t["for"] == "io" and t["hook"] == io and t["attach"] == "ok"
               for t in hooks_json()["trials"])


EVENT_PROGS = ("ct_retrans", "ct_synack", "ct_rst_sent", "ct_rst_recv",
               "ct_drop")


def test_hooks_lists_event_hooks():
    trials = [t for t in hooks_json()["trials"] if t["for"] == "event"]
    # Each event tracepoint in both families, one program each.
    want = [[p + suffix] for p in EVENT_PROGS for suffix in ("_btf", "_raw")]
    assert [t["programs"] for t in trials] == want, trials
    assert [t["hook"] for t in trials] == ["tp_btf", "raw_tp"] * len(EVENT_PROGS)
    text = run("hooks").stdout
    for t in trials:
        line = "event  %-11s %-28s %-28s %s" % (t["hook"], t["load"], t["attach"],
                                                t["programs"][0])
        assert line in text, (line, text)
    # What watch runs is what hooks says attaches: the first family of each.
    first = {}
    for t in trials:
        if t["attach"] == "ok":
            first.setdefault(t["programs"][0].rsplit("_", 1)[0], t["programs"][0])
    assert len(first) == len(EVENT_PROGS), trials
    w = Watch("--events", "all")
    try:
        names, _ = test_top.bpf_of(w.proc.pid)
    finally:
        assert w.stop() == 0, w.stderr
    held = sorted(n for n in names if n.startswith(EVENT_PROGS))
    assert held == sorted(first.values()), (held, first)


def test_hooks_forced_are_shown():
    io = "raw_tp" if io_attaches("raw_tp") else "fentry"
    forced = {"CONNTRACE_HOOKS": "state=tracepoint,io=" + io}
    h = hooks_json(forced)
    assert h["chosen"] == {"state": "tracepoint", "io": io,
                           "forced": True}, h["chosen"]
    text = run("hooks", extra_env=forced).stdout
    assert "chosen: state=tracepoint, io=%s (forced by CONNTRACE_HOOKS)" % io in text


def test_bad_hooks_env_is_one_line_exit_2():
    for value in ("io=bogus", "state=kprobe", "io", "net=tp_btf"):
        for args in (["hooks"], ["watch", "--duration", "1"], ["top", "--once"]):
            p = run(*args, extra_env={"CONNTRACE_HOOKS": value}, timeout=30)
            assert p.returncode == 2, (value, args, p.returncode, p.stderr)
            lines = p.stderr.strip().splitlines()
            assert len(lines) == 1 and "CONNTRACE_HOOKS" in lines[0], p.stderr
            assert p.stdout == "", p.stdout
    # top --shares counts every call: forbidding every I/O hook is the
    # user's error too.
    p = run("top", "--once", "--shares", extra_env={"CONNTRACE_HOOKS": "io=none"})
    assert p.returncode == 2 and "io=none" in p.stderr, p.stderr


def check_forced_bytes(state, io):
    # The per-call path is what a forced I/O hook changes: top counts TCP
    # through it only with --shares.
    if not io_attaches(io):
        # Forced where the kernel lacks it: one line, and no fallback.
        p = run("top", "--once", "--shares",
                extra_env={"CONNTRACE_HOOKS": "state=%s,io=%s" % (state, io)})
        assert p.returncode == 1 and "forced by CONNTRACE_HOOKS" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        return
    with env("CONNTRACE_HOOKS", "state=%s,io=%s" % (state, io)):
        w = Watch("--interval", "0.5", "--shares", mode="top")
        try:
            assert "per-call hook: %s)" % io in w.stderr, w.stderr
        finally:
            w.stop()
        test_top.check_exchange(socket.AF_INET, "127.0.0.1", up=54321, down=12345,
                                top_args=("--shares",))


def test_forced_raw_tp_counts_exact_bytes():
    check_forced_bytes("raw_tp", "raw_tp")


def test_forced_tracepoint_counts_exact_bytes():
    check_forced_bytes("tracepoint", "tracepoint")


def test_forced_typed_io_beside_untyped_state():
    # No socket storage here (the state hook is untyped): the hash path.
    check_forced_bytes("raw_tp", "tp_btf")


def test_forced_hooks_in_watch():
    # watch attaches no per-call hook, whatever I/O family is forced.
    with env("CONNTRACE_HOOKS", "state=raw_tp,io=tracepoint"):
        port = test_watch.next_port()
        w = Watch("--port", str(port))
        try:
            assert "hooks: state=raw_tp, io=none" in w.stderr, w.stderr
            spid, cpid, lport = test_watch.run_pair(
                socket.AF_INET, "127.0.0.1", port, "wait_eof", "close_first")
            test_watch.expect_conn(w, lport, port, test_watch.ACTIVE_CLOSE, cpid)
            test_watch.expect_conn(w, port, lport,
                                   test_watch.PASSIVE_CLOSE_ACCEPTED, spid)
        finally:
            w.stop()


@contextlib.contextmanager
def bad_btf_files():
    with tempfile.TemporaryDirectory() as d:
        empty, junk = os.path.join(d, "empty"), os.path.join(d, "junk")
        open(empty, "wb").close()
        with open(junk, "wb") as f:
            f.write(b"\x9f\xeb\x01\x00" + os.urandom(4096))  # BTF magic, then noise
        yield empty, junk


def test_invalid_btf_is_named():
    with bad_btf_files() as files:
        for path in files:
            for args in (["watch", "--duration", "1"], ["top", "--once"], ["hooks"]):
                p = run(*args, extra_env={"CONNTRACE_BTF": path}, timeout=30)
                lines = p.stderr.strip().splitlines()
                assert p.returncode == 1, (path, args, p.returncode, p.stderr)
                assert len(lines) == 1, p.stderr
                assert "not valid BTF" in lines[0] and path in lines[0], p.stderr
                assert "No such process" not in p.stderr


def test_missing_btf_is_named():
    p = run("watch", "--duration", "1", extra_env={"CONNTRACE_BTF": "/nonexistent/btf"})
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip() == ("conntrace: kernel BTF not available "
                                "(/nonexistent/btf): No such file or directory")


def test_ls_falls_back_quietly_on_invalid_btf():
    ls = listen_on(socket.AF_INET, "127.0.0.1", 0)
    port = ls.getsockname()[1]
    try:
        with bad_btf_files() as files:
            for path in files:
                # The kernel walk, which reads the BTF, not the cheaper /proc.
                p = run("ls", "-tlnp", "--json",
                        extra_env={"CONNTRACE_BTF": path,
                                   "CONNTRACE_OWNER_WALK": "bpf"})
                assert p.returncode == 0, p.stderr
                assert "libbpf" not in p.stderr and p.stderr == "", p.stderr
                rows = [r for r in map(json.loads, p.stdout.splitlines())
                        if r.get("lport") == port]
                # The owner still comes, from /proc.
                assert len(rows) == 1 and rows[0]["pid"] == os.getpid(), rows
    finally:
        ls.close()
