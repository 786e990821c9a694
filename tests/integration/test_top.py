"""Root integration tests for byte accounting: `conntrace top` and
`conntrace watch --lifetime`.

Client and server run in separate processes and move a number of bytes the
test chooses; conntrace must report exactly that many, per connection and
per process, and agree with the kernel's own counters (ss -ti).
"""
import os
import re
import socket
import subprocess
import tempfile
import time

from ctlib import (CONNTRACE, Pipe, Ports, VethPair, Watch, enter_netns,
                   kernel_symbols,
                   listen_on, reap, recv_exact, spawn, big_rcvbuf)

next_port = Ports(23000)


def top(*args):
    return Watch("--interval", "0.5", *args, mode="top")


def last(w):
    return w.events[-1] if w.events else {"processes": [], "connections": []}


def conn_of(snap, pid, port):
    for c in snap["connections"]:
        if c["pid"] == pid and port in (c["lport"], c["rport"]):
            return c
    return None


def proc_of(snap, pid):
    for p in snap["processes"]:
        if p["pid"] == pid:
            return p
    return None


def wait_bytes(w, pid, port, tx, rx, timeout=8.0):
    """Waits until the (pid, port) share shows exactly tx and rx bytes."""
    def ok(ev):
        c = ev and conn_of(ev[-1], pid, port)
        return c and c["tx_bytes"] == tx and c["rx_bytes"] == rx
    if not w.wait_for(ok, timeout):
        c = conn_of(last(w), pid, port)
        raise AssertionError("pid %d port %d: want tx %d rx %d, got %s" % (
            pid, port, tx, rx, c and (c["tx_bytes"], c["rx_bytes"])))


def wait_proc(w, pid, tx, rx, timeout=8.0):
    def ok(ev):
        p = ev and proc_of(ev[-1], pid)
        return p and p["tx_bytes"] == tx and p["rx_bytes"] == rx
    if not w.wait_for(ok, timeout):
        p = proc_of(last(w), pid)
        raise AssertionError("process %d: want tx %d rx %d, got %s" % (
            pid, tx, rx, p and (p["tx_bytes"], p["rx_bytes"])))



# --- processes --------------------------------------------------------------

def tcp_server(family, addr, port, ready, up, down, hold=None, netns=None,
               peek=False):
    """Receives `up` bytes, sends `down`, waits for the peer to close."""
    if netns:
        enter_netns(netns)
    ls = listen_on(family, addr, port)
    ready.send({"pid": os.getpid()})
    c, _ = ls.accept()
    if peek:
        # A peek must not count: the same bytes are read again below.
        c.recv(min(up, 100), socket.MSG_PEEK)
    recv_exact(c, up)
    c.sendall(b"d" * down)
    if hold:
        hold.recv()
    while c.recv(65536):
        pass
    c.close()
    ls.close()


def tcp_client(family, addr, port, out, up, down, hold=None, netns=None):
    if netns:
        enter_netns(netns)
    c = socket.create_connection((addr, port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    c.sendall(b"u" * up)
    recv_exact(c, down)
    if hold:
        hold.recv()
    c.close()


def exchange(family, addr, port, up, down, netns_srv=None, netns_cli=None,
             peek=False, hold=None):
    ready, report = Pipe(), Pipe()
    spid = spawn(tcp_server, family, addr, port, ready, up, down, None,
                 netns_srv, peek)
    ready.recv()
    cpid = spawn(tcp_client, family, addr, port, report, up, down, hold,
                 netns_cli)
    lport = report.recv()["lport"]
    return spid, cpid, lport


def check_exchange(family, addr, up=123457, down=65537, top_args=(),
                   started=None, **kw):
    port = next_port()
    w = top("--port", str(port), *top_args)
    try:
        if started:
            started(w)
        spid, cpid, lport = exchange(family, addr, port, up, down, **kw)
        assert reap(cpid) == 0 and reap(spid) == 0
        wait_bytes(w, cpid, port, up, down)
        wait_bytes(w, spid, port, down, up)
        wait_proc(w, cpid, up, down)
        wait_proc(w, spid, down, up)
    finally:
        assert w.stop() == 0, w.stderr


# --- tests ------------------------------------------------------------------

def test_tcp_exact_bytes_ipv4():
    check_exchange(socket.AF_INET, "127.0.0.1", peek=True)


def test_tcp_exact_bytes_ipv6():
    check_exchange(socket.AF_INET6, "::1")


def test_tcp_ipv4_mapped():
    # An IPv4 client of a dual-stack [::] server: the server's socket is
    # IPv6 with a mapped address.
    port, up, down = next_port(), 4321, 1234
    w = top("--port", str(port))
    try:
        ready, report = Pipe(), Pipe()
        spid = spawn(tcp_server, socket.AF_INET6, "::", port, ready, up, down)
        ready.recv()
        cpid = spawn(tcp_client, socket.AF_INET, "127.0.0.1", port, report,
                     up, down)
        report.recv()
        assert reap(cpid) == 0 and reap(spid) == 0
        wait_bytes(w, spid, port, down, up)
        wait_bytes(w, cpid, port, up, down)
        srv = conn_of(last(w), spid, port)
        assert srv["family"] == "ipv6" and srv["raddr"] == "::ffff:127.0.0.1", srv
    finally:
        w.stop()


def shared_sender(port, out, first, second, done):
    """Sends `first` bytes, forks; the child sends `second` on the same
    socket: each process must get its own share."""
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"a" * first)
    child = os.fork()
    if child == 0:
        c.sendall(b"b" * second)
        os._exit(0)
    assert os.waitpid(child, 0)[1] == 0
    out.send({"pid": os.getpid(), "child": child})
    done.recv()
    c.close()


def test_socket_shared_after_fork():
    # Splitting one socket's bytes among processes needs the per-call
    # hooks: the kernel counts per socket, not per process (--shares).
    port, first, second = next_port(), 3000, 5000
    w = top("--port", str(port), "--shares")
    try:
        ready, out, done = Pipe(), Pipe(), Pipe()
        spid = spawn(tcp_server, socket.AF_INET, "127.0.0.1", port, ready,
                     first + second, 0)
        ready.recv()
        ppid = spawn(shared_sender, port, out, first, second, done)
        kid = out.recv()["child"]
        wait_bytes(w, ppid, port, first, 0)
        wait_bytes(w, kid, port, second, 0)
        wait_proc(w, spid, 0, first + second)
        done.send({})
        assert reap(ppid) == 0 and reap(spid) == 0
    finally:
        w.stop()


def test_tcp_veth_namespaces():
    with VethPair("t", "198.18.1.1", "198.18.1.2") as net:
        check_exchange(socket.AF_INET, net.addr_b, netns_srv=net.b,
                       netns_cli=net.a)


def ss_bytes(port):
    """bytes_acked and bytes_received of the server side, from ss -ti."""
    out = subprocess.run(["ss", "-tinH", "state", "established",
                          "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    acked = re.search(r"bytes_acked:(\d+)", out)
    recvd = re.search(r"bytes_received:(\d+)", out)
    assert acked and recvd, "ss -ti shows no counters: %r" % out
    return int(acked.group(1)), int(recvd.group(1))


def test_tcp_agrees_with_ss():
    port, up, down = next_port(), 300001, 70001
    hold = Pipe()
    w = top("--port", str(port), "--verbose")
    try:
        spid, cpid, lport = exchange(socket.AF_INET, "127.0.0.1", port, up,
                                     down, hold=hold)
        wait_bytes(w, spid, port, down, up)
        # conntrace's own check (top -v) says the same, for both ends.
        assert w.wait_for(lambda ev: all(
            (c := conn_of(ev[-1], pid, port)) and c.get("kernel_agrees")
            for pid in (spid, cpid))), [
                conn_of(last(w), p, port) for p in (spid, cpid)]
        # The connection is still open: the kernel's truth, side by side.
        acked, received = ss_bytes(port)
        c = conn_of(last(w), spid, port)
        assert (c["tx_bytes"], c["rx_bytes"]) == (acked, received), \
            "conntrace %s vs ss -ti acked %d received %d" % (c, acked, received)
        hold.send({"close": True})
        assert reap(cpid) == 0 and reap(spid) == 0
    finally:
        w.stop()


def prefork_child(ls, report, job):
    c, peer = ls.accept()
    report.send({"pid": os.getpid(), "peer": peer[1]})
    # Which client this child got was the kernel's choice: the test then
    # says how many bytes that client moves.
    load = job.recv()
    recv_exact(c, load["up"])
    c.sendall(b"d" * load["down"])
    while c.recv(65536):
        pass
    c.close()


def prefork_parent(port, ready, pipes):
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, 8)
    ready.send({"pid": os.getpid()})
    kids = [spawn(prefork_child, ls, report, job) for report, job in pipes]
    for k in kids:
        assert reap(k, 20) == 0
    ls.close()


def test_prefork_children_own_their_bytes():
    port = next_port()
    loads = [(10007, 2003), (20011, 4001)]	# bytes up and down per client
    pipes = [(Pipe(), Pipe()) for _ in loads]	# per child: report, job
    w = top("--port", str(port))
    try:
        ready = Pipe()
        ppid = spawn(prefork_parent, port, ready, pipes)
        ready.recv()
        clients = {}
        for up, down in loads:
            out = Pipe()
            cpid = spawn(tcp_client, socket.AF_INET, "127.0.0.1", port, out,
                         up, down)
            clients[out.recv()["lport"]] = (cpid, up, down)
        kids = []
        for report, job in pipes:
            msg = report.recv()
            cpid, up, down = clients[msg["peer"]]
            job.send({"up": up, "down": down})
            kids.append((msg["pid"], cpid, up, down))
        assert len({k[1] for k in kids}) == len(loads), "a client accepted twice"
        for cpid, _, _ in clients.values():
            assert reap(cpid) == 0
        assert reap(ppid, 20) == 0
        for kpid, cpid, up, down in kids:
            wait_bytes(w, kpid, port, down, up)
            wait_proc(w, kpid, down, up)
            wait_proc(w, cpid, up, down)
        assert proc_of(last(w), ppid) is None, "the parent did no I/O"
    finally:
        w.stop()


def udp_server(port, ready, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_rcvbuf(s)
    s.bind(("127.0.0.1", port))
    ready.send({"pid": os.getpid()})
    s.settimeout(10)
    for _ in range(count):
        assert len(s.recvfrom(65536)[0]) == size
    s.close()


def udp_client(port, out, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.send({"pid": os.getpid()})
    for _ in range(count):
        s.sendto(b"q" * size, ("127.0.0.1", port))
    s.close()


def test_udp_exact_bytes():
    # UDP sockets keep no byte counters: -u counts them per call.
    port, count, size = next_port(), 200, 1200
    w = top("-u")
    try:
        ready, out = Pipe(), Pipe()
        spid = spawn(udp_server, port, ready, count, size)
        ready.recv()
        cpid = spawn(udp_client, port, out, count, size)
        out.recv()
        assert reap(cpid) == 0 and reap(spid) == 0
        wait_proc(w, cpid, count * size, 0)
        wait_proc(w, spid, 0, count * size)
        srv = conn_of(last(w), spid, port)
        assert srv and srv["proto"] == "udp" and srv["rx_calls"] == count
    finally:
        w.stop()


def short_client(port, out, n, size):
    out.send({"pid": os.getpid()})
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"s" * size)
        c.close()


def short_server(port, ready, n, size):
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, 128)
    ready.send({"pid": os.getpid()})
    for _ in range(n):
        c, _ = ls.accept()
        recv_exact(c, size)
        c.close()
    ls.close()


def run_short(port, n, size):
    ready, out = Pipe(), Pipe()
    spid = spawn(short_server, port, ready, n, size)
    ready.recv()
    cpid = spawn(short_client, port, out, n, size)
    out.recv()
    assert reap(cpid, 60) == 0 and reap(spid, 60) == 0
    return spid, cpid


def test_many_short_connections():
    # Closed sockets' memory is reused at once: each must count on its own.
    port, n, size = next_port(), 300, 1000
    w = top("--port", str(port))
    try:
        spid, cpid = run_short(port, n, size)
        wait_proc(w, cpid, n * size, 0)
        wait_proc(w, spid, 0, n * size)
    finally:
        w.stop()


def many_client(port, out, n, size, go):
    socks = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"m" * (size + i))
        socks.append(c)
    out.send({"pid": os.getpid(),
              "ports": [c.getsockname()[1] for c in socks]})
    go.recv()
    for c in socks:
        c.close()


def many_server(port, ready, n, size):
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, 128)
    ready.send({"pid": os.getpid()})
    conns = []
    for _ in range(n):
        c, peer = ls.accept()
        conns.append(c)
    for c in conns:
        while c.recv(65536):
            pass
        c.close()
    ls.close()


def test_many_open_connections_each_exact():
    port, n, size = next_port(), 100, 500
    w = top("--port", str(port))
    try:
        ready, out, go = Pipe(), Pipe(), Pipe()
        spid = spawn(many_server, port, ready, n, size)
        ready.recv()
        cpid = spawn(many_client, port, out, n, size, go)
        ports = out.recv()["ports"]
        want = {p: size + i for i, p in enumerate(ports)}
        ok = w.wait_for(lambda ev: ev and all(
            (c := conn_of(ev[-1], cpid, p)) and c["tx_bytes"] == b
            and c["lport"] == p for p, b in want.items()))
        assert ok, "per-connection bytes differ"
        assert proc_of(last(w), cpid)["conns"] == n
        go.send({"close": True})
        assert reap(cpid) == 0 and reap(spid) == 0
        total = sum(want.values())
        wait_proc(w, cpid, total, 0)
        wait_proc(w, spid, 0, total)
    finally:
        w.stop()


def udp_spray(port, out, n, go):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.sendto(b"e" * 100, ("127.0.0.1", port))
    out.send({"pid": os.getpid()})
    go.recv()


def test_small_map_evicts_and_counts():
    # 60 UDP sockets at once: 60 (socket, process) pairs in 16 slots. (TCP
    # counts live with each socket where the kernel allows it, so UDP is
    # what fills the map here.)
    port, n = next_port(), 60
    w = top("--port", str(port), "--max-conns", "16", "-u")
    try:
        ready, out, go = Pipe(), Pipe(), Pipe()
        spid = spawn(udp_server, port, ready, n, 100)
        ready.recv()
        cpid = spawn(udp_spray, port, out, n, go)
        out.recv()
        assert w.wait_for(lambda ev: ev and ev[-1]["evicted"] > 0), \
            "no eviction counted with 61 shares in a 16-entry map"
        go.send({"close": True})
        assert reap(cpid) == 0 and reap(spid) == 0
    finally:
        rc = w.stop()
    assert rc == 0, w.stderr
    assert "evicted" in w.stderr, "exit report: %r" % w.stderr


def sendfile_client(port, out, path, size):
    c = socket.create_connection(("127.0.0.1", port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    with open(path, "rb") as f:
        sent = 0
        while sent < size:
            sent += os.sendfile(c.fileno(), f.fileno(), sent, size - sent)
    recv_exact(c, 1)
    c.close()


def test_sendfile_is_counted():
    port, size = next_port(), 1 << 20
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(os.urandom(size))
        tmp.flush()
        w = top("--port", str(port))
        try:
            ready, out = Pipe(), Pipe()
            spid = spawn(tcp_server, socket.AF_INET, "127.0.0.1", port, ready,
                         size, 1)
            ready.recv()
            cpid = spawn(sendfile_client, port, out, tmp.name, size)
            out.recv()
            assert reap(cpid) == 0 and reap(spid) == 0
            # Since Linux 6.5 sendfile to a socket goes through sendmsg.
            wait_bytes(w, cpid, port, size, 1)
            wait_bytes(w, spid, port, 1, size)
        finally:
            w.stop()


def test_lifetime_summary_bytes():
    port, up, down = next_port(), 54321, 12345
    w = Watch("--port", str(port), "--lifetime")
    try:
        spid, cpid, lport = exchange(socket.AF_INET, "127.0.0.1", port, up, down)
        assert reap(cpid) == 0 and reap(spid) == 0
        ok = w.wait_for(lambda ev: len(ev) >= 2)
        assert ok, "summaries: %s" % w.events
        by_pid = {e["pid"]: e for e in w.events}
        cli, srv = by_pid[cpid], by_pid[spid]
        assert (cli["tx_bytes"], cli["rx_bytes"]) == (up, down), cli
        assert (srv["tx_bytes"], srv["rx_bytes"]) == (down, up), srv
        assert cli["duration_ms"] > 0 and srv["duration_ms"] > 0
    finally:
        w.stop()


def test_hook_variants_load():
    """Every variant loads and attaches where the kernel has its hook, and
    is refused where it has not: the kernel's own symbols say which."""
    import json
    p = subprocess.run([CONNTRACE, "hooks", "--json"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    trials = {(t["for"], t["hook"]): t for t in json.loads(p.stdout)["trials"]}
    has = kernel_symbols("__traceiter_sock_send_length",
                         "__traceiter_sock_recv_length", "register_kprobe")
    io_tps = {"__traceiter_sock_send_length",
              "__traceiter_sock_recv_length"} <= has
    for key in (("state", "tp_btf"), ("state", "raw_tp")):
        assert trials[key]["load"] == "ok" and trials[key]["attach"] == "ok", trials[key]
    # sock_{send,recv}_length came with Linux 6.3 (a tracepoint's
    # __traceiter_ function exists since 5.10, older than any kernel tested).
    for key in (("io", "tp_btf"), ("io", "raw_tp")):
        attached = trials[key]["attach"] == "ok"
        assert attached == io_tps, (io_tps, trials[key])
    # kprobes load through the verifier even where they cannot attach.
    kp = trials[("io", "kprobe")]
    assert kp["load"] == "ok", kp
    assert (kp["attach"] == "ok") == ("register_kprobe" in has), kp
    # fentry may be refused outright (EPERM on this kind of machine); where
    # it loads, it attaches.
    fx = trials[("io", "fentry")]
    assert fx["load"] in ("ok", "Operation not permitted"), fx
    assert fx["load"] != "ok" or fx["attach"] == "ok", fx


def test_filter_applies_to_every_view():
    # Two connections from one client process; the filter keeps one port.
    port_a, port_b = next_port(), next_port()
    w = top("dport = :%d or sport = :%d" % (port_a, port_a))
    try:
        for port, up in ((port_a, 1111), (port_b, 2222)):
            spid, cpid, _ = exchange(socket.AF_INET, "127.0.0.1", port, up, 7)
            assert reap(cpid) == 0 and reap(spid) == 0
            if port == port_a:
                wait_proc(w, cpid, up, 7)
        w.settle(quiet=1.2)
        snap = last(w)
        assert all(port_a in (c["lport"], c["rport"]) for c in snap["connections"])
        assert all(p["tx_bytes"] + p["rx_bytes"] <= 1111 + 7
                   for p in snap["processes"]), snap["processes"]
    finally:
        w.stop()


def test_top_cli():
    for args, rc in ((["top", "--help"], 0), (["top", "--bogus"], 2),
                     (["top", "--view", "nope"], 2), (["top", "-d", "0"], 2),
                     (["top", "--max-conns", "16777216"], 2)):
        p = subprocess.run([CONNTRACE, *args], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
    p = subprocess.run([CONNTRACE, "top", "--once", "--view", "hosts"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "REMOTE" in p.stdout, p.stdout + p.stderr


def test_start_line_says_when_it_ends():
    # --once and --count end by themselves: no Ctrl-C to ask for.
    for args in (["--once"], ["--count", "1"]):
        p = subprocess.run([CONNTRACE, "top", "--json", "--interval", "0.5",
                            *args], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (args, p.stderr)
        assert "tracing socket I/O" in p.stderr, p.stderr
        assert "Ctrl-C" not in p.stderr, (args, p.stderr)
        assert len(p.stdout.splitlines()) == 1, p.stdout
    w = top()
    w.stop()
    assert "Ctrl-C to end" in w.stderr, w.stderr


# --- kernel counters: nothing per call ---------------------------------------

def rows_of(w, pid, port):
    """Every row of (pid, port) in every snapshot so far."""
    return [c for ev in w.events for c in ev["connections"]
            if c["pid"] == pid and port in (c["lport"], c["rport"])]


def test_connection_shorter_than_a_refresh_is_exact():
    # Opened, used and closed well within one 2 s refresh: only its CLOSE
    # record can count it, and must do so exactly, for both ends.
    port, up, down = next_port(), 70001, 30011
    w = Watch("--interval", "2", "--port", str(port), mode="top")
    try:
        spid, cpid, _ = exchange(socket.AF_INET, "127.0.0.1", port, up, down)
        assert reap(cpid) == 0 and reap(spid) == 0
        wait_bytes(w, cpid, port, up, down)
        wait_bytes(w, spid, port, down, up)
        for pid in (cpid, spid):
            rows = rows_of(w, pid, port)
            assert rows and all(c["closed"] for c in rows), rows
    finally:
        assert w.stop() == 0, w.stderr


PER_CALL_PREFIXES = ("ct_send_", "ct_recv_", "ct_fx_", "ct_kp_", "ct_kr_")


def bpf_of(pid):
    """Names of the BPF programs a process holds, and its tracepoint links."""
    import json
    ids, tps = set(), set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                txt = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_id:\s+(\d+)", txt, re.M)
        if m:
            ids.add(int(m.group(1)))
        m = re.search(r"^tp_name:\s+(\S+)", txt, re.M)
        if m:
            tps.add(m.group(1))
    names = set()
    for i in ids:
        p = subprocess.run(["bpftool", "prog", "show", "id", str(i), "--json"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            names.add(json.loads(p.stdout)["name"])
    return names, tps


def test_default_top_attaches_no_per_call_program():
    w = top()
    try:
        w.wait_for(lambda ev: len(ev) >= 1)
        names, tps = bpf_of(w.proc.pid)
        assert "ct_tcp_counters" in names and tps, (names, tps)
        assert not [n for n in names if n.startswith(PER_CALL_PREFIXES)], names
        assert not [t for t in tps if "send_length" in t or "recv_length" in t], tps
    finally:
        assert w.stop() == 0, w.stderr
    # The check itself sees the hooks when they are there: -u attaches them.
    w = top("-u")
    try:
        w.wait_for(lambda ev: len(ev) >= 1)
        names, tps = bpf_of(w.proc.pid)
        assert [n for n in names if n.startswith(PER_CALL_PREFIXES)], names
    finally:
        assert w.stop() == 0, w.stderr


def test_closed_rows_keep_final_counts():
    # Held over several refreshes, then closed: each end's row turns
    # closed with its final counts, and stays listed for a while.
    port, up, down = next_port(), 5001, 7003
    hold = Pipe()
    w = top("--port", str(port))
    try:
        spid, cpid, _ = exchange(socket.AF_INET, "127.0.0.1", port, up, down,
                                 hold=hold)
        wait_bytes(w, cpid, port, up, down)
        time.sleep(1.2)
        assert not any(c["closed"] for c in rows_of(w, cpid, port))
        hold.send({"close": True})
        assert reap(cpid) == 0 and reap(spid) == 0
        for pid, tx, rx in ((cpid, up, down), (spid, down, up)):
            assert w.wait_for(lambda ev: ev and any(
                c["closed"] and (c["tx_bytes"], c["rx_bytes"]) == (tx, rx)
                for c in ev[-1]["connections"] if c["pid"] == pid)), \
                rows_of(w, pid, port)[-3:]
        n = len(w.events)
        assert w.wait_for(lambda ev: len(ev) >= n + 3, 5.0)
        for pid in (cpid, spid):
            c = conn_of(last(w), pid, port)
            assert c and c["closed"], "closed row gone within 1.5 s: %s" % c
    finally:
        assert w.stop() == 0, w.stderr


def passing_acceptor(port, ready, conns, first, worker_sock):
    """Accepts, reads `first` bytes, passes the socket to the worker."""
    ls = listen_on(socket.AF_INET, "127.0.0.1", port, 16)
    ready.send({"pid": os.getpid()})
    for _ in range(conns):
        c, _ = ls.accept()
        recv_exact(c, first)
        socket.send_fds(worker_sock, [b"s"], [c.fileno()])
        c.close()
        # Only now may the worker end it: whoever closes the last copy is
        # the process that ends the connection, and so its owner.
        worker_sock.send(b"c")
    ls.close()


def passing_worker(worker_sock, out, conns, rest):
    out.send({"pid": os.getpid()})
    for _ in range(conns):
        _, fds, _, _ = socket.recv_fds(worker_sock, 1, 1)
        c = socket.socket(fileno=fds[0])
        worker_sock.recv(1)  # the acceptor has closed its copy
        recv_exact(c, rest)
        c.close()


def passing_client(port, out, conns, first, rest):
    ports = []
    for _ in range(conns):
        c = socket.create_connection(("127.0.0.1", port))
        ports.append(c.getsockname()[1])
        c.sendall(b"p" * first)
        c.sendall(b"q" * rest)
        while c.recv(65536):
            pass
        c.close()
    out.send({"ports": ports})


def run_passing(port, conns, first, rest):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ready, wout, cout = Pipe(), Pipe(), Pipe()
    apid = spawn(passing_acceptor, port, ready, conns, first, a)
    ready.recv()
    wpid = spawn(passing_worker, b, wout, conns, rest)
    wout.recv()
    cpid = spawn(passing_client, port, cout, conns, first, rest)
    ports = cout.recv(30)["ports"]
    for pid in (cpid, apid, wpid):
        assert reap(pid, 30) == 0
    a.close()
    b.close()
    return apid, wpid, ports


def test_passed_descriptor_goes_to_its_owner():
    # Without --shares a passed socket's bytes go to its owner, the worker
    # that ended it: 10 rows, each closed with all it carried.
    port, conns, first, rest = next_port(), 10, 100, 300
    w = top("--port", str(port))
    try:
        apid, wpid, ports = run_passing(port, conns, first, rest)

        def done(ev):
            seen = {c["rport"]: c for e in ev for c in e["connections"]
                    if c["pid"] == wpid and c["closed"]}
            return all(p in seen and seen[p]["rx_bytes"] == first + rest
                       for p in ports)
        assert w.wait_for(done, 8.0), [
            (c["rport"], c["rx_bytes"], c["closed"])
            for c in rows_of(w, wpid, port)]
        wait_proc(w, wpid, 0, conns * (first + rest))
    finally:
        assert w.stop() == 0, w.stderr


def test_passed_descriptor_shares_with_shares():
    # With --shares the acceptor keeps what it read before passing the
    # socket on: 10 rows of `first` bytes, one per connection and each
    # closed, never one row that gathers the sockets the kernel placed at
    # the same address; the worker gets the rest.
    port, conns, first, rest = next_port(), 10, 100, 300
    w = top("--port", str(port), "--shares")
    try:
        apid, wpid, ports = run_passing(port, conns, first, rest)

        def closed_rows(ev, pid):
            return {c["rport"]: c["rx_bytes"] for e in ev
                    for c in e["connections"]
                    if c["pid"] == pid and c["closed"]}

        want = ({p: first for p in ports}, {p: rest for p in ports})
        assert w.wait_for(lambda ev: (closed_rows(ev, apid),
                                      closed_rows(ev, wpid)) == want, 8.0), \
            (closed_rows(w.events, apid), closed_rows(w.events, wpid))
        # No snapshot ever shows an acceptor row with more than one read.
        assert all(c["rx_bytes"] <= first for c in rows_of(w, apid, port))
    finally:
        assert w.stop() == 0, w.stderr
    assert "evicted" not in w.stderr and "beyond" not in w.stderr, w.stderr


def many_sharers(port, out, kids, each):
    """Sends `each` bytes, then `kids` children one after another do too."""
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"m" * each)
    for _ in range(kids):
        kid = os.fork()
        if kid == 0:
            c.sendall(b"k" * each)
            os._exit(0)
        assert os.waitpid(kid, 0)[1] == 0
    out.send({"pid": os.getpid()})
    c.close()


def test_sharers_beyond_what_a_socket_remembers_are_reported():
    # A socket remembers 4 processes with shares; the parent and the first
    # 3 of 6 children fill them, and the last 3 are counted at exit.
    port, kids, each = next_port(), 6, 1000
    w = top("--port", str(port), "--shares")
    try:
        ready, out = Pipe(), Pipe()
        spid = spawn(tcp_server, socket.AF_INET, "127.0.0.1", port, ready,
                     (kids + 1) * each, 0)
        ready.recv()
        ppid = spawn(many_sharers, port, out, kids, each)
        out.recv(30)
        assert reap(ppid) == 0 and reap(spid) == 0
        wait_proc(w, ppid, (kids + 1) * each - kids * each, 0)
    finally:
        assert w.stop() == 0, w.stderr
    assert "conntrace: 3 processes beyond the 4 a socket remembers" \
        in w.stderr, w.stderr


def fork_holder(port, out, first, second, done, kid_done):
    """Sends `first`, forks; the child sends `second`; both keep it open."""
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"a" * first)
    child = os.fork()
    if child == 0:
        c.sendall(b"b" * second)
        kid_done.recv(30)
        os._exit(0)
    out.send({"pid": os.getpid(), "child": child,
              "lport": c.getsockname()[1]})
    done.recv(30)
    assert os.waitpid(child, 0)[1] == 0
    c.close()


def test_shared_socket_marked_without_shares():
    # Without --shares a socket's bytes go to its owner (the process that
    # connected), and the row says that another process holds it too.
    port, first, second = next_port(), 3000, 5000
    w = top("--port", str(port))
    done, kid_done = Pipe(), Pipe()
    try:
        ready, out = Pipe(), Pipe()
        spid = spawn(tcp_server, socket.AF_INET, "127.0.0.1", port, ready,
                     first + second, 0)
        ready.recv()
        ppid = spawn(fork_holder, port, out, first, second, done, kid_done)
        msg = out.recv()
        wait_bytes(w, ppid, port, first + second, 0)
        assert w.wait_for(lambda ev: (c := conn_of(ev[-1], ppid, port))
                          and c["shared"], 6.0), conn_of(last(w), ppid, port)
        assert not rows_of(w, msg["child"], port), "bytes split without --shares"
    finally:
        done.send({})
        kid_done.send({})
        w.stop()
    assert reap(ppid) == 0 and reap(spid) == 0


def test_udp_needs_asking():
    # UDP has no per-socket counters: the header says how it is counted.
    p = subprocess.run([CONNTRACE, "top", "--once"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and "UDP not counted (-u)" in p.stdout, p.stdout
    p = subprocess.run([CONNTRACE, "top", "--once", "-u"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and "UDP per call" in p.stdout, p.stdout


def test_namespace_made_after_start():
    # top does not list the namespaces at every refresh (that walks /proc):
    # one named after it started is listed at the next refresh, and an open
    # connection there is counted before it closes.
    port, up, down = next_port(), 7777, 3333
    hold = Pipe()
    w = top("--port", str(port))
    try:
        assert w.wait_for(lambda ev: len(ev) >= 2), w.stderr
        with VethPair("tn", "198.18.3.1", "198.18.3.2") as net:
            spid, cpid, _ = exchange(socket.AF_INET, net.addr_b, port, up,
                                     down, netns_srv=net.b, netns_cli=net.a,
                                     hold=hold)
            try:
                wait_bytes(w, cpid, port, up, down, timeout=4.0)
                wait_bytes(w, spid, port, down, up, timeout=4.0)
            finally:
                hold.send({"close": True})
                assert reap(cpid) == 0 and reap(spid) == 0
    finally:
        assert w.stop() == 0, w.stderr

# --- hosts view ---------------------------------------------------------------

def short_conns_server(port, ready, n, up, down):
    ls = listen_on(socket.AF_INET, "127.0.0.2", port)
    ready.send({})
    for _ in range(n):
        c, _ = ls.accept()
        recv_exact(c, up)
        c.sendall(b"d" * down)
        c.close()
    ls.close()


def short_conns_client(port, n, up, down, gap):
    for _ in range(n):
        c = socket.create_connection(("127.0.0.2", port),
                                     source_address=("127.0.0.3", 0))
        c.sendall(b"u" * up)
        recv_exact(c, down)
        c.close()
        time.sleep(gap)


def host_of(snap, addr):
    for h in snap["hosts"]:
        if h["raddr"] == addr:
            return h
    return None


def window_rate(events, k, key, window):
    """What a window must show at snapshot k: the bytes of the whole
    intervals ending within it, over the time they span since the first
    snapshot (the intervals and bytes as conntrace printed them)."""
    ends = []
    t = 0.0
    for ev in events[:k + 1]:
        t += ev["interval_s"]
        ends.append(t)
    now, since = ends[-1], ends[-1] - window
    total = lambda j: (host_of(events[j], "127.0.0.2") or {}).get(key, 0)
    j = k
    while j >= 0 and ends[j] > since + 0.0005:
        j -= 1
    start = max(min(since, ends[j]) if j >= 0 else 0.0, 0.0)
    moved = total(k) - (total(j) if j >= 0 else 0)
    return moved / (now - start)


def test_hosts_view_counts_short_connections():
    # Issue 12, defect 5: 2 connections a second, 5 KB up and 20 KB down
    # each, all opened and closed between refreshes.
    port, n, up, down = next_port(), 6, 5000, 20000
    w = top("--interval", "1", "--port", str(port))
    ready = Pipe()
    spid = cpid = None
    try:
        spid = spawn(short_conns_server, port, ready, n, up, down)
        ready.recv()
        cpid = spawn(short_conns_client, port, n, up, down, 0.5)
        assert reap(cpid, 20) == 0 and reap(spid, 5) == 0
        cpid = spid = None

        def done(ev):
            h = ev and host_of(ev[-1], "127.0.0.2")
            return h and h["tx_bytes"] == n * up and h["rx_bytes"] == n * down
        assert w.wait_for(done, 8.0), last(w)["hosts"]
        w.wait_for(lambda ev: False, 1.2)  # one refresh with nothing new
    finally:
        for pid in (cpid, spid):
            if pid:
                reap(pid, 0.1)
        assert w.stop() == 0, w.stderr
    ev = [e for e in w.events if "hosts" in e]
    busy = [k for k, e in enumerate(ev)
            if any(p["tx_rate"] > 0 for p in e["processes"])]
    assert busy, ev
    for k in busy:
        h = host_of(ev[k], "127.0.0.2")
        # Listed from the first refresh that saw its bytes, with rates.
        assert h and h["tx_rate_2s"] > 0 and h["rx_rate_2s"] > 0, (k, ev[k])
    for k, e in enumerate(ev):
        h = host_of(e, "127.0.0.2")
        if not h:
            continue
        for key, d in (("tx_bytes", "tx"), ("rx_bytes", "rx")):
            for win in (2, 10, 40):
                want = window_rate(ev, k, key, win)
                got = h["%s_rate_%ds" % (d, win)]
                assert abs(got - want) <= 0.01 * want + 1, (k, d, win, got,
                                                            want, e)


def test_hosts_view_totals_and_rates_say_which():
    # Issue 12, defect 6: --totals (m on a terminal) shows totals in columns
    # that say so; rates say /s.
    port = next_port()
    done = Pipe()
    spid, cpid, _ = exchange(socket.AF_INET, "127.0.0.1", port, 3000, 4000,
                             hold=done)
    try:
        outs = {}
        for totals in (False, True):
            args = ["top", "--once", "--interval", "0.5", "--view", "hosts",
                    "--port", str(port)] + (["--totals"] if totals else [])
            p = subprocess.run([CONNTRACE, *args], capture_output=True,
                               text=True, timeout=30)
            assert p.returncode == 0, p.stderr
            outs[totals] = p.stdout.splitlines()
    finally:
        done.send({})
        assert reap(cpid) == 0 and reap(spid) == 0
    head, row = outs[True][1], outs[True][2]
    assert head.split() == ["REMOTE", "CONNS", "SENT", "RECEIVED"], outs
    # Both ends are on 127.0.0.1: 3000 + 4000 each way, moved before start.
    assert row.split() == ["127.0.0.1", "2", "6.8", "KiB", "6.8", "KiB"], outs
    head, row = outs[False][1], outs[False][2]
    assert "SEND/s" in head and "RECV/s" in head, outs
    assert row.split()[:2] == ["127.0.0.1", "2"] and row.count("0 B/s") == 6, outs
