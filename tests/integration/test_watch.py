"""Root integration tests for `conntrace watch`.

Each test runs the real conntrace, drives TCP traffic between a client and a
server in separate processes, and compares every line conntrace printed with
what RFC 793 prescribes and with the pids the test itself knows.
"""
import ctypes
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import time

from ctlib import (CONNTRACE, Pipe, Ports, VethPair, Watch, bpf_prog_names,
                   conn_lines, enter_netns, listen_on, nice_of, reap,
                   run_as_nobody, sh, spawn, ss_time_wait, stop_proc,
                   transitions, wait_tracing, while_running)

next_port = Ports(21000)
PAYLOAD = b"x" * 1000

ACTIVE_CLOSE = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                ("FIN_WAIT2", "TIME_WAIT")]
PASSIVE_CLOSE_ACCEPTED = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                          ("ESTABLISHED", "CLOSE_WAIT"),
                          ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]
ACTIVE_CLOSE_ACCEPTED = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                         ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                         ("FIN_WAIT2", "TIME_WAIT")]
PASSIVE_CLOSE_CONNECTED = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                           ("ESTABLISHED", "CLOSE_WAIT"),
                           ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]
LISTENER = [("CLOSE", "LISTEN"), ("LISTEN", "CLOSE")]



def state_lines(events, rport):
    """The transitions (not the other events) of sockets whose remote
    port is rport."""
    return [e for e in events if e["rport"] == rport and e["event"] == "state"]


def set_comm(name):
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def read_until_eof(sock):
    while sock.recv(65536):
        pass


# --- processes --------------------------------------------------------------

def server(family, addr, port, ready, mode, netns=None):
    """Accepts one connection. mode: 'wait_eof' (peer closes first),
    'close_first' (we close first), 'rst' (peer resets)."""
    if netns:
        enter_netns(netns)
    set_comm("ctserver")
    ls = listen_on(family, addr, port)
    ready.send({"pid": os.getpid()})
    conn, _ = ls.accept()
    if mode == "close_first":
        conn.recv(len(PAYLOAD))
        conn.close()
    else:
        try:
            read_until_eof(conn)
        except ConnectionResetError:
            pass
        conn.close()
    ls.close()


def wait_turn(go):
    if go:
        go.recv()
    else:
        time.sleep(0.05)


def client(family, addr, port, out, mode, netns=None, go=None):
    """Connects and reports its local port. mode: 'close_first',
    'silent_close', 'wait_eof', 'rst' or 'refused'."""
    if netns:
        enter_netns(netns)
    set_comm("ctclient")
    c = socket.socket(family, socket.SOCK_STREAM)
    if mode == "refused":
        try:
            c.connect((addr, port))
        except ConnectionRefusedError:
            out.send({"pid": os.getpid(), "lport": 0, "refused": True})
            return
        raise AssertionError("connect to a closed port succeeded")
    t = time.monotonic()	# no transition of this connection is older
    c.connect((addr, port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1], "t": t})
    if mode == "silent_close":
        # Nothing sent: a peer that closes with unread data resets instead.
        wait_turn(go)
        c.close()
        return
    c.sendall(PAYLOAD)
    if mode == "close_first":
        wait_turn(go)
        c.close()
    elif mode == "wait_eof":
        read_until_eof(c)
        c.close()
    elif mode == "rst":
        time.sleep(0.1)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def run_pair(family, addr, port, server_mode, client_mode, netns_srv=None,
             netns_cli=None):
    ready, report = Pipe(), Pipe()
    spid = spawn(server, family, addr, port, ready, server_mode, netns_srv)
    srv = ready.recv()
    cpid = spawn(client, family, addr, port, report, client_mode, netns_cli)
    cli = report.recv()
    assert reap(cpid) == 0, "client failed"
    assert reap(spid) == 0, "server failed"
    assert srv["pid"] == spid and cli["pid"] == cpid
    return spid, cpid, cli["lport"]


# --- assertions -------------------------------------------------------------

def expect_conn(w, lport, rport, want, pid):
    ok = w.wait_for(lambda ev: transitions(conn_lines(ev, lport, rport)) == want)
    lines = conn_lines(w.events, lport, rport)
    assert ok, "port %d->%d: want %s, got %s" % (lport, rport, want, transitions(lines))
    for e in lines:
        assert e["pid"] == pid, "%s->%s owned by %s (%s), want %d" % (
            e["old"], e["new"], e["pid"], e["comm"], pid)
    return lines


def expect_time_wait_derived(lines, lport, rport, netns=None):
    tw = [e for e in lines if e["new"] == "TIME_WAIT"]
    assert len(tw) == 1 and tw[0]["derived"] is True, "TIME_WAIT line %s" % tw
    assert ss_time_wait(lport, rport, netns), \
        "ss does not list %d->%d in TIME-WAIT" % (lport, rport)


def expect_listener(w, port, pid):
    ok = w.wait_for(lambda ev: transitions(conn_lines(ev, port, 0)) == LISTENER)
    lines = conn_lines(w.events, port, 0)
    assert ok, "listener: got %s" % transitions(lines)
    assert all(e["pid"] == pid for e in lines), "listener owners %s" % lines


# --- tests ------------------------------------------------------------------

def check_active_open_close(family=socket.AF_INET, addr="127.0.0.1"):
    port = next_port()
    w = Watch("--port", str(port))
    try:
        spid, cpid, lport = run_pair(family, addr, port, "wait_eof", "close_first")
        cl = expect_conn(w, lport, port, ACTIVE_CLOSE, cpid)
        expect_conn(w, port, lport, PASSIVE_CLOSE_ACCEPTED, spid)
        expect_listener(w, port, spid)
        expect_time_wait_derived(cl, lport, port)
        assert cl[0]["owner"] == "connect"
        fam = "ipv6" if family == socket.AF_INET6 else "ipv4"
        assert all(e["family"] == fam and e["laddr"] == addr for e in cl)
    finally:
        w.stop()


def test_active_open_close_ipv4():
    check_active_open_close()


def test_active_open_close_ipv6():
    check_active_open_close(socket.AF_INET6, "::1")


def test_server_closes_first():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port,
                                     "close_first", "wait_eof")
        sl = expect_conn(w, port, lport, ACTIVE_CLOSE_ACCEPTED, spid)
        expect_conn(w, lport, port, PASSIVE_CLOSE_CONNECTED, cpid)
        expect_time_wait_derived(sl, port, lport)
    finally:
        w.stop()


def test_refused_connect():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        report = Pipe()
        cpid = spawn(client, socket.AF_INET, "127.0.0.1", port, report, "refused")
        assert report.recv()["refused"]
        assert reap(cpid) == 0
        want = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "CLOSE")]
        ok = w.wait_for(lambda ev: transitions(state_lines(ev, port)) == want)
        lines = state_lines(w.events, port)
        assert ok, "got %s" % transitions(lines)
        assert all(e["pid"] == cpid for e in lines), lines
        w.settle()
        assert not any(e.get("new") == "TIME_WAIT" for e in w.events)
    finally:
        w.stop()


def test_rst_abort():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port, "rst", "rst")
        expect_conn(w, lport, port, [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                                     ("ESTABLISHED", "CLOSE")], cpid)
        expect_conn(w, port, lport, [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                                     ("ESTABLISHED", "CLOSE")], spid)
        w.settle()
        assert not any(e.get("new") == "TIME_WAIT" for e in w.events)
    finally:
        w.stop()


def prefork_child(ls, report, go, do_io):
    set_comm("ctworker")
    conn, peer = ls.accept()
    report.send({"pid": os.getpid(), "peer": peer[1]})
    if do_io:
        read_until_eof(conn)
    else:
        go.recv()  # hold the socket without any I/O until told
    conn.close()


def prefork_server(port, ready, children):
    set_comm("ctparent")
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    for report, go, do_io in children:
        # One child at a time, so the test knows which one accepts.
        pid = spawn(prefork_child, ls, report, go, do_io)
        assert reap(pid, timeout=20) == 0
    ls.close()


def test_prefork_server():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        ready, rep1, rep2, go2, cli1, cli2 = (Pipe() for _ in range(6))
        ppid = spawn(prefork_server, port, ready,
                     [(rep1, None, True), (rep2, go2, False)])
        assert ready.recv()["pid"] == ppid

        # Each client closes only once its worker has accepted.
        go1, go2c = Pipe(), Pipe()
        c1 = spawn(client, socket.AF_INET, "127.0.0.1", port, cli1,
                   "close_first", None, go1)
        lport1 = cli1.recv()["lport"]
        child1 = rep1.recv()
        go1.send({"close": True})
        assert child1["peer"] == lport1 and reap(c1) == 0

        c2 = spawn(client, socket.AF_INET, "127.0.0.1", port, cli2,
                   "silent_close", None, go2c)
        lport2 = cli2.recv()["lport"]
        child2 = rep2.recv()
        go2c.send({"close": True})
        assert child2["peer"] == lport2 and reap(c2) == 0
        # The client closed first: the worker, which did no I/O, must own
        # the CLOSE_WAIT that the kernel made in the client's process.
        want2 = PASSIVE_CLOSE_ACCEPTED[:3]
        assert w.wait_for(lambda ev: transitions(conn_lines(ev, port, lport2)) == want2)
        go2.send({"close": True})
        assert reap(ppid, timeout=20) == 0

        for lport, child in ((lport1, child1), (lport2, child2)):
            lines = expect_conn_owners(w, port, lport, PASSIVE_CLOSE_ACCEPTED)
            owners = [e["pid"] for e in lines]
            # Every line, those before accept() too, is the accepting worker's.
            assert owners == [child["pid"]] * 5, \
                "port %d: owners %s, parent %d, worker %d" % (
                    lport, owners, ppid, child["pid"])
        expect_listener(w, port, ppid)
    finally:
        w.stop()


def expect_conn_owners(w, lport, rport, want):
    ok = w.wait_for(lambda ev: transitions(conn_lines(ev, lport, rport)) == want)
    lines = conn_lines(w.events, lport, rport)
    assert ok, "port %d->%d: want %s, got %s" % (lport, rport, want, transitions(lines))
    return lines


def test_owner_of_connection_older_than_conntrace():
    port = next_port()
    ready, report, go = Pipe(), Pipe(), Pipe()
    spid = spawn(server, socket.AF_INET, "127.0.0.1", port, ready, "wait_eof")
    ready.recv()
    cpid = spawn(client, socket.AF_INET, "127.0.0.1", port, report,
                 "close_first", None, go)
    lport = report.recv()["lport"]
    # Started after the connection exists: owners come from the file walk.
    w = Watch("--port", str(port))
    try:
        go.send({"close": True})
        assert reap(cpid) == 0 and reap(spid) == 0
        expect_conn(w, lport, port, ACTIVE_CLOSE[2:], cpid)
        sl = expect_conn(w, port, lport, PASSIVE_CLOSE_ACCEPTED[2:], spid)
        assert sl[0]["owner"] in ("holder", "io"), sl[0]
    finally:
        w.stop()


def test_veth_namespaces():
    port = next_port()
    with VethPair("w") as net:
        w = Watch("--port", str(port))
        try:
            spid, cpid, lport = run_pair(socket.AF_INET, net.addr_b, port,
                                         "wait_eof", "close_first",
                                         netns_srv=net.b, netns_cli=net.a)
            cl = expect_conn(w, lport, port, ACTIVE_CLOSE, cpid)
            sl = expect_conn(w, port, lport, PASSIVE_CLOSE_ACCEPTED, spid)
            expect_time_wait_derived(cl, lport, port, net.a)
            assert cl[0]["laddr"] == net.addr_a and sl[0]["laddr"] == net.addr_b
            assert cl[0]["netns"] != sl[0]["netns"]
        finally:
            w.stop()


def test_filter_expression():
    port = next_port()
    # ss language: only the client's end of the connection (its dport).
    w = Watch("dport = :%d and state established or dport = :%d" % (port, port))
    try:
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port,
                                     "wait_eof", "close_first")
        expect_conn(w, lport, port, ACTIVE_CLOSE, cpid)
        w.settle()
        assert all(e["rport"] == port for e in w.events), \
            [e for e in w.events if e["rport"] != port]
    finally:
        w.stop()


def test_comm_filter_in_kernel():
    port = next_port()
    w = Watch("--port", str(port), "-c", "ctclient")
    try:
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port,
                                     "wait_eof", "close_first")
        expect_conn(w, lport, port, ACTIVE_CLOSE, cpid)
        w.settle()
        others = [e for e in w.events if e["pid"] != cpid]
        assert not others, "lines of other processes: %s" % others
    finally:
        w.stop()


def test_stop_on_sigint_detaches():
    check_teardown(signal.SIGINT, want_rc=0)


def test_sigkill_leaves_nothing():
    check_teardown(signal.SIGKILL, want_rc=-signal.SIGKILL)


def check_teardown(sig, want_rc):
    w = Watch()
    assert any(n.startswith("ct_state") for n in bpf_prog_names()), \
        "conntrace's program is not loaded while it runs"
    rc = w.stop(sig)
    assert rc == want_rc, "exit %s" % rc
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [n for n in bpf_prog_names() if n.startswith("ct_")]
        if not left:
            return
        time.sleep(0.2)
    raise AssertionError("programs still loaded: %s" % left)


def test_duration_ends_by_itself():
    t0 = time.monotonic()
    p = subprocess.run([CONNTRACE, "--duration", "1", "--json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 < 15


def run_cli(*args):
    return subprocess.run([CONNTRACE, *args], capture_output=True, text=True,
                          timeout=30)


def test_errors_are_one_line():
    for args, rc, word in ((["--bogus"], 2, "unknown option"),
                           (["--pid", "abc"], 2, "invalid --pid"),
                           (["watch", "extra"], 2, "'extra'"),
                           (["frobnicate"], 2, "unknown mode")):
        p = run_cli(*args)
        assert p.returncode == rc, "%s: exit %d" % (args, p.returncode)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and word in lines[0], "%s: %r" % (args, p.stderr)


def test_help():
    for args in (["--help"], ["watch", "--help"], ["-h"]):
        p = run_cli(*args)
        assert p.returncode == 0 and "--duration" in p.stdout, args


def test_not_root():
    p = run_as_nobody()
    assert p.returncode == 1, "exit %d: %s" % (p.returncode, p.stderr)
    assert "root" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


# --- the command line: a filter first, start-up line, -F files -------------

def test_filter_as_first_argument():
    # `conntrace FILTER` is `conntrace watch FILTER`, as the usage says.
    port, other = next_port(), next_port()
    w = Watch("dport = :%d" % port, mode=None, json_lines=False)
    try:
        spid, cpid, lport = run_pair(socket.AF_INET, "127.0.0.1", port,
                                     "wait_eof", "close_first")
        run_pair(socket.AF_INET, "127.0.0.1", other, "wait_eof", "close_first")
        w.wait_for(lambda ev: sum(("%d" % cpid) in l.split()[1:2]
                                  for l in ev) >= len(ACTIVE_CLOSE))
        w.settle()
    finally:
        rc = w.stop()
    assert rc == 0, w.stderr
    rows = [l.split() for l in w.events if not l.startswith("TIME")]
    # Every row is the client's end, whose remote port is `port`.
    assert rows and all(r[4] == "127.0.0.1:%d" % port for r in rows), rows
    # Transitions only: the stream has events (a drop, a reset) too.
    mine = [(r[5], r[7]) for r in rows if r[1] == str(cpid)
            and r[3] == "127.0.0.1:%d" % lport and r[6] == "->"]
    assert mine == ACTIVE_CLOSE, mine


def test_first_word_not_a_mode():
    for args, word in ((["lss"], "unknown mode 'lss'"),
                       (["dport = :abc"], "bad port"),
                       (["dport"], "missing port"),
                       (["state", "bogus"], "unknown state")):
        p = run_cli(*args)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2, "%s: exit %d" % (args, p.returncode)
        assert len(lines) == 1 and word in lines[0], "%s: %r" % (args, p.stderr)


def test_start_line_says_what_it_does():
    w = Watch("--lifetime")
    w.stop()
    assert "one line per closed connection" in w.stderr, w.stderr
    assert "state transitions" not in w.stderr, w.stderr
    w = Watch()
    w.stop()
    assert "tracing TCP state transitions" in w.stderr, w.stderr


def secret_file():
    """A root-only file whose first line looks like /etc/shadow's."""
    fd, path = tempfile.mkstemp(prefix="ct-secret-")
    os.write(fd, b"root:$6$S3CRETsalt$S3CREThash:19000:0:99999:7:::\n")
    os.close(fd)
    os.chmod(path, 0o600)
    return path


def test_filter_file_after_privilege_check():
    # An ordinary user learns that root is needed, not that the file is
    # unreadable: the file is opened after the check.
    path = secret_file()
    try:
        for mode in ([], ["watch"], ["top"]):
            p = run_as_nobody(*mode, "-F", path)
            lines = p.stderr.strip().splitlines()
            assert p.returncode == 1, "%s: exit %d: %s" % (mode, p.returncode, p.stderr)
            assert len(lines) == 1 and "root" in lines[0], p.stderr
            assert "Permission denied" not in p.stderr, p.stderr
    finally:
        os.unlink(path)


def test_filter_file_words_not_printed():
    path = secret_file()
    try:
        for mode in (["watch"], ["top"], ["ls"], ["states"]):
            p = run_cli(*mode, "-F", path)
            assert p.returncode == 2, "%s: exit %d" % (mode, p.returncode)
            assert "S3CRET" not in p.stderr and "root:" not in p.stderr, p.stderr
            assert "line 1 column 1" in p.stderr, p.stderr
            assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    finally:
        os.unlink(path)


def test_filter_file_fifo_does_not_block():
    d = tempfile.mkdtemp(prefix="ct-fifo-")
    fifo = os.path.join(d, "filter")
    try:
        os.mkfifo(fifo)
        for mode in (["watch"], ["top"], ["ls"]):
            t0 = time.monotonic()
            p = run_cli(*mode, "-F", fifo)
            assert time.monotonic() - t0 < 10
            assert p.returncode == 2, "%s: exit %d" % (mode, p.returncode)
            assert "not a regular file" in p.stderr, p.stderr
        # A pipe is still welcome on stdin.
        p = subprocess.run([CONNTRACE, "ls", "--json", "-F", "-"],
                           input="sport = :1 # none\n", capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and p.stdout == "", p.stderr
    finally:
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.rmdir(d)


# --- owners without per-call hooks (accept hook, file walk) -----------------

def expect_all_owned(w, lport, rport, want, pid):
    lines = expect_conn_owners(w, lport, rport, want)
    owners = [(e["old"], e["new"], e["pid"]) for e in lines]
    assert all(e["pid"] == pid for e in lines), \
        "port %d->%d: owners %s, want %d" % (lport, rport, owners, pid)
    return lines


def closing_server(port, ready, linger0):
    """Accepts one connection and closes it at once: no I/O at all, or
    with the peer's data unread and SO_LINGER 0 (a reset)."""
    set_comm("ctserver")
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    conn, _ = ls.accept()
    if linger0:
        recv_ready(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    conn.close()
    ls.close()


def recv_ready(conn):
    """Waits until the peer's bytes arrived, without reading them."""
    conn.settimeout(5)
    conn.recv(1, socket.MSG_PEEK)


def sending_client(port, out, send):
    set_comm("ctclient")
    c = socket.create_connection(("127.0.0.1", port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    if send:
        c.sendall(PAYLOAD)
    try:
        read_until_eof(c)
    except ConnectionResetError:
        pass
    c.close()


def check_server_closes(linger0, want):
    port = next_port()
    w = Watch("--port", str(port))
    try:
        ready, report = Pipe(), Pipe()
        spid = spawn(closing_server, port, ready, linger0)
        assert ready.recv()["pid"] == spid
        cpid = spawn(sending_client, port, report, linger0)
        lport = report.recv()["lport"]
        assert reap(cpid) == 0 and reap(spid) == 0
        expect_all_owned(w, port, lport, want, spid)
    finally:
        w.stop()


def test_accepted_closed_before_io():
    check_server_closes(False, ACTIVE_CLOSE_ACCEPTED)


def test_rst_unread_data_linger0():
    check_server_closes(True, [("LISTEN", "SYN_RECV"),
                               ("SYN_RECV", "ESTABLISHED"),
                               ("ESTABLISHED", "CLOSE")])


def scm_acceptor(port, ready, chan, done):
    """Accepts, passes the socket to the worker over a UNIX socket, and
    closes its own descriptor before the peer does anything."""
    set_comm("ctacceptor")
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    conn, _ = ls.accept()
    socket.send_fds(chan, [b"x"], [conn.fileno()])
    conn.close()
    ls.close()
    done.send({"closed": True})


def scm_worker(chan, report, go):
    set_comm("ctscmworker")
    _, fds, _, _ = socket.recv_fds(chan, 1, 1)
    conn = socket.socket(fileno=fds[0])
    report.send({"pid": os.getpid()})
    read_until_eof(conn)
    # Held until the test saw the peer's close: its holder is knowable.
    go.recv()
    conn.close()


def test_descriptor_passed_over_unix_socket():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ready, wrep, done, crep, go, wgo = (Pipe() for _ in range(6))
        wpid = spawn(scm_worker, b, wrep, wgo)
        apid = spawn(scm_acceptor, port, ready, a, done)
        a.close()
        b.close()
        assert ready.recv()["pid"] == apid
        cpid = spawn(client, socket.AF_INET, "127.0.0.1", port, crep,
                     "close_first", None, go)
        lport = crep.recv()["lport"]
        assert wrep.recv()["pid"] == wpid and done.recv()["closed"]
        assert reap(apid) == 0
        go.send({"close": True})
        assert reap(cpid) == 0
        assert w.wait_for(lambda ev: transitions(conn_lines(ev, port, lport))
                          == PASSIVE_CLOSE_ACCEPTED[:3])
        wgo.send({"close": True})
        assert reap(wpid) == 0
        lines = expect_conn_owners(w, port, lport, PASSIVE_CLOSE_ACCEPTED)
        owners = [e["pid"] for e in lines]
        # Accepted by the acceptor; the worker holds it once it is passed.
        assert owners == [apid, apid, wpid, wpid, wpid], \
            "owners %s, acceptor %d, worker %d" % (owners, apid, wpid)
    finally:
        w.stop()


def expect_failed_connect(w, port, cpid):
    """Both lines of a failed connect, owned by the client, with its port."""
    want = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "CLOSE")]
    assert w.wait_for(lambda ev: transitions(state_lines(ev, port)) == want)
    lines = state_lines(w.events, port)
    ports = [e["lport"] for e in lines]
    assert len(set(ports)) == 1 and ports[0] != 0, "local ports %s" % ports
    assert all(e["pid"] == cpid for e in lines), lines


def test_refused_connect_local_port():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        report = Pipe()
        cpid = spawn(client, socket.AF_INET, "127.0.0.1", port, report, "refused")
        assert report.recv()["refused"] and reap(cpid) == 0
        expect_failed_connect(w, port, cpid)
    finally:
        w.stop()


def timeout_client(addr, port, out, netns):
    enter_netns(netns)
    set_comm("ctclient")
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
    try:
        c.connect((addr, port))
    except (TimeoutError, OSError) as e:
        out.send({"pid": os.getpid(), "err": e.errno})
        return
    raise AssertionError("connect through a blackhole succeeded")


def test_syn_timeout_local_port():
    import errno
    port = next_port()
    with VethPair("st") as net:
        # The server's answers vanish: the client's SYN times out.
        sh("ip", "-n", net.b, "route", "add", "blackhole", net.addr_a + "/32")
        w = Watch("--port", str(port))
        try:
            ready, report = Pipe(), Pipe()
            spid = spawn(server, socket.AF_INET, net.addr_b, port, ready,
                         "wait_eof", net.b)
            ready.recv()
            cpid = spawn(timeout_client, net.addr_b, port, report, net.a)
            res = report.recv(timeout=20)
            assert res["err"] == errno.ETIMEDOUT, res
            assert reap(cpid) == 0
            expect_failed_connect(w, port, cpid)
        finally:
            w.stop()
            reap(spid, timeout=0.1)


def reuseport_worker(port, ready, report, go):
    set_comm("ctrpworker")
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    ready.send({"pid": os.getpid()})
    ls.settimeout(1.0)
    go.recv()
    try:
        conn, peer = ls.accept()
    except socket.timeout:
        report.send({"pid": os.getpid(), "peer": 0})
        return
    report.send({"pid": os.getpid(), "peer": peer[1], "t": time.monotonic()})
    read_until_eof(conn)
    conn.close()


# How long an accepted socket's lines wait for accept() (README, "Owners").
ACCEPT_WAIT_S = 0.5


def expect_acceptor(w, port, lport, pid, waited):
    """Every line of an accepted connection names the worker that accepted
    it. Lines from before accept() may say unknown instead, but only when
    accept() came later than conntrace waits for it (a loaded machine
    runs the workers late): never another process."""
    if waited < ACCEPT_WAIT_S - 0.05:
        expect_all_owned(w, port, lport, PASSIVE_CLOSE_ACCEPTED, pid)
        return
    lines = expect_conn_owners(w, port, lport, PASSIVE_CLOSE_ACCEPTED)
    owners = [(e["old"], e["new"], e["pid"]) for e in lines]
    assert all(e["pid"] in (None, pid) for e in lines), owners
    # The worker's own close() comes after its accept().
    assert lines[-2]["pid"] == pid and lines[-1]["pid"] == pid, owners


def test_reuseport_workers():
    port = next_port()
    w = Watch("--port", str(port))
    try:
        workers = []
        for _ in range(2):
            ready, report, go = Pipe(), Pipe(), Pipe()
            pid = spawn(reuseport_worker, port, ready, report, go)
            assert ready.recv()["pid"] == pid
            workers.append((pid, report, go))
        clients, connected = [], {}
        for _ in range(4):
            rep = Pipe()
            cpid = spawn(client, socket.AF_INET, "127.0.0.1", port, rep,
                         "close_first")
            r = rep.recv()
            clients.append((cpid, r["lport"]))
            connected[r["lport"]] = r["t"]
        for _, _, go in workers:
            go.send({"go": True})
        accepted = {}
        for pid, report, _ in workers:
            r = report.recv()
            if r["peer"]:
                accepted[r["peer"]] = (pid, r["t"])
        for cpid, _ in clients:
            reap(cpid)
        for pid, _, _ in workers:
            assert reap(pid) == 0
        assert accepted, "no worker accepted"
        for lport, (pid, t) in accepted.items():
            expect_acceptor(w, port, lport, pid, t - connected[lport])
        # A connection no worker accepted has no owner, never a guessed one.
        w.settle()
        for cpid, lport in clients:
            if lport not in accepted:
                assert all(e["pid"] is None for e in
                           conn_lines(w.events, port, lport)), lport
    finally:
        w.stop()


PER_CALL = ("ct_send", "ct_recv", "ct_fx_", "ct_kp_", "ct_kr_")


def held_prog_names(pid):
    """Names of the BPF programs a process holds (programs and links)."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    names = []
    for i in ids:
        out = subprocess.run(["bpftool", "prog", "show", "id", str(i), "--json"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            names.append(json.loads(out.stdout).get("name", ""))
    return names


def test_watch_attaches_no_per_call_hook():
    w = Watch()
    try:
        names = held_prog_names(w.proc.pid)
        assert any(n.startswith("ct_state") for n in names), names
        assert any(n.startswith("ct_accept") for n in names), names
        per_call = [n for n in names if n.startswith(PER_CALL)]
        assert not per_call, "per-call programs loaded: %s" % per_call
        assert "io=none" in w.stderr, w.stderr
    finally:
        w.stop()


def ring_bytes_of(pid):
    """The size of the ring buffer a process holds, from its maps' fdinfo
    (BPF_MAP_TYPE_RINGBUF is 27)."""
    sizes = []
    fds = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fds):
        try:
            with open(os.path.join(fds, fd)) as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines()
                            if ":" in l)
        except OSError:
            continue
        if info.get("map_type", "").strip() == "27":
            sizes.append(int(info["max_entries"]))
    assert len(sizes) == 1, "ring buffers held by %d: %s" % (pid, sizes)
    return sizes[0]


def test_boost_raises_the_priority():
    """watch reads at 5 nice levels above where it started (the test's
    own level), as many as --boost says, and none with 0."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    for args, levels in (((), 5), (("--boost", "0"), 0),
                         (("--boost", "12"), 12)):
        w = Watch(*args)
        got, rc = while_running(w, nice_of)
        assert got == max(-20, base - levels), (args, got, base)
        assert rc == 0, w.stderr


def tcp_opens():
    """ActiveOpens + PassiveOpens of this namespace, from /proc/net/snmp."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Tcp:")]
    tcp = dict(zip(rows[0][1:], rows[1][1:]))
    return int(tcp["ActiveOpens"]) + int(tcp["PassiveOpens"])


def churn_server(port, ready, stop, seconds=30.0):
    """Accepts and closes all that comes, at once (a full accept queue
    would drop SYNs, and the clients would stall for a second), until
    told to stop, or for seconds at most."""
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, backlog=4096)
    ls.setblocking(False)
    ready.send({"pid": os.getpid()})
    end = time.monotonic() + seconds
    while time.monotonic() < end and \
            not select.select([stop.r], [], [], 0)[0]:
        if not select.select([ls], [], [], 0.2)[0]:
            continue
        try:
            ls.accept()[0].close()
        except (BlockingIOError, ConnectionError):
            pass


def churn_client(port, index, seconds, stop):
    """Opens and closes connections to port for that long or until told
    to stop, from an address of its own (127.0.1.index), which has ports
    enough."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and \
            not select.select([stop.r], [], [], 0)[0]:
        socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=("127.0.1.%d" % index, 0)
                                 ).close()


def sized_start(port):
    """Starts watch -v and stops it: (its ring's size, the opens a second
    it said it saw while starting, the rate the test saw meanwhile, what
    it wrote on stderr)."""
    n0, t0 = tcp_opens(), time.monotonic()
    w = subprocess.Popen([CONNTRACE, "watch", "-v", "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = ""
    try:
        err = wait_tracing(w)
        size = ring_bytes_of(w.pid)
        rate = (tcp_opens() - n0) / (time.monotonic() - t0)
    finally:
        err += stop_proc(w)[1].decode()
    assert w.returncode == 0, err
    m = re.search(r"the ring buffer is (\d+) MiB \(for (\d+) TCP opens a "
                  r"second while starting", err)
    assert m and int(m.group(1)) << 20 == size, (size, err)
    return size, int(m.group(2)), rate, err


def test_ring_sized_from_the_rate_at_start():
    """Without --ring-size, watch sizes its ring for a quarter of a second
    of the transitions of the connections opened while it starts (five
    records of 184 bytes an open, both ends counted), as the power of two
    from 8 to 64 MiB that holds them. The rate is the kernel's
    (ActiveOpens + PassiveOpens) over some 0.1 s, in which the churn
    sometimes stalls (seen with any command started): of 5 starts, one at
    least must see about the rate the test sees over the whole start."""
    port = next_port()
    ready, stop = Pipe(), Pipe()
    kids = [spawn(churn_server, port, ready, stop)]
    starts = []
    try:
        ready.recv()
        kids += [spawn(churn_client, port, i + 1, 20.0, stop) for i in range(2)]
        time.sleep(1.0)
        for _ in range(5):
            starts.append(sized_start(next_port()))
            size, said, rate, err = starts[-1]
            if rate / 3 < said < rate * 3:
                break
    finally:
        stop.send({})
        for k in kids:
            reap(k, timeout=30)
    assert any(rate / 3 < said < rate * 3 for _, said, rate, _ in starts), \
        [s[:3] for s in starts]
    for size, said, rate, err in starts:
        want = 8 << 20
        while want < said * 5 * 184 / 4 and want < 64 << 20:
            want *= 2
        assert size == want, (size, want, said, err)


def test_ring_size_sets_the_kernel_ring():
    """--ring-size is the kernel's ring: 8 MiB by default for watch, the
    MiB asked rounded up to a power of two, and top keeps 1 MiB."""
    cases = [((), "watch", 8 << 20), (("--ring-size", "3"), "watch", 4 << 20),
             (("--interval", "0.5"), "top", 1 << 20),
             (("--interval", "0.5", "--ring-size", "2"), "top", 2 << 20)]
    for args, mode, want in cases:
        w = Watch(*args, mode=mode)
        got, rc = while_running(w, ring_bytes_of)
        assert got == want, "%s %s: ring of %d bytes" % (mode, args, got)
        assert rc == 0, w.stderr
