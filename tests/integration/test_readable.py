"""Root integration tests for issue 12's readable output: ls -H and
watch -L -H (units), ls -r (names, bounded), ls --interval/--count
(repeated listings) and states --by (counts per key)."""
import json
import socket
import subprocess
import time

from ctlib import CONNTRACE, Pipe, Ports, Watch, listen_on, reap, spawn
from test_ls import Pair, ss_states, wait_established_bytes
from test_top import exchange

next_port = Ports(27000)


def human(n):
    """The units -H promises, computed here from the bytes the test sent."""
    units, v, u = ["B", "KiB", "MiB", "GiB", "TiB"], float(n), 0
    while u < 4 and v >= (1023.95 if u else 1023.5):
        v /= 1024
        u += 1
    return ("%.1f %s" if u else "%.0f %s") % (v, units[u])


def run(*args, timeout=60):
    p = subprocess.run([CONNTRACE, *args], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p.stdout


def test_ls_human_sizes():
    port, up, down = next_port(), 70001, 3000000
    pair = Pair(socket.AF_INET, "127.0.0.1", port, up, down)
    try:
        wait_established_bytes(port, pair.lport, up, down)
        expr = "sport = :%d and dport = :%d" % (pair.lport, port)
        plain = run("ls", "-t", expr).splitlines()
        sized = run("ls", "-tH", expr).splitlines()
        rows = json.loads(run("ls", "-tHj", expr))
    finally:
        pair.close()
    assert len(plain) == 2 and len(sized) == 2, (plain, sized)
    # Sent and Received come before the Container word that ends a line.
    assert plain[1].split()[-3:-1] == [str(up), str(down)], plain
    # "68.4 KiB 2.9 MiB": the Sent and Received columns, in units.
    assert sized[1].split()[-5:-1] == (human(up) + " " + human(down)).split(), sized
    assert "Sent" in sized[0] and "Received" in sized[0], sized
    # JSON stays in bytes.
    assert (rows["tx_bytes"], rows["rx_bytes"]) == (up, down), rows


def test_watch_lifetime_human_sizes():
    port, up, down = next_port(), 5000000, 1536
    w = Watch("-L", "-H", "--port", str(port), json_lines=False)
    try:
        spid, cpid, lport = exchange(socket.AF_INET, "127.0.0.1", port, up, down)
        assert reap(cpid) == 0 and reap(spid) == 0
        want = (human(up) + " " + human(down)).split()

        def seen(ev):
            # TX_BYTES RX_BYTES, then MS, CONTAINER and NETNS end the line.
            return any(":%d" % lport in line and want == line.split()[-7:-3]
                       for line in ev)
        ok = w.wait_for(seen, 8.0)
    finally:
        w.stop()
    assert ok, (want, w.events)


def test_ls_resolve_names_loopback_quickly():
    port = 8080  # http-alt in the services file
    if ss_states(port):
        port = 5432  # postgresql
    pair = Pair(socket.AF_INET, "127.0.0.1", port, 10, 10)
    try:
        t0 = time.monotonic()
        out = run("ls", "-tlr", "sport = :%d" % port).splitlines()
        took = time.monotonic() - t0
        plain = run("ls", "-tl", "sport = :%d" % port).splitlines()
    finally:
        pair.close()
    svc = socket.getservbyport(port, "tcp")
    name = socket.gethostbyaddr("127.0.0.1")[0]
    assert len(out) == 2, out
    assert out[1].split()[4] == "%s:%s" % (name, svc), out
    # Off by default: numbers.
    assert plain[1].split()[4] == "127.0.0.1:%d" % port, plain
    # Bounded: 300 ms an address at most, 3 s a run.
    assert took < 4.0, took


def test_ls_repeats_with_interval_and_count():
    port = next_port()
    pair = Pair(socket.AF_INET, "127.0.0.1", port, 10, 10)
    try:
        t0 = time.monotonic()
        out = run("ls", "-tl", "--interval", "0.4", "--count", "3",
                  "sport = :%d" % port)
        took = time.monotonic() - t0
        rows = [json.loads(line) for line in
                run("ls", "-tlj", "-d", "0.3", "--count", "2",
                    "sport = :%d" % port).splitlines()]
    finally:
        pair.close()
    blocks = out.strip("\n").split("\n\n")
    assert len(blocks) == 3, out
    stamps = []
    for b in blocks:
        lines = b.splitlines()
        # The time, the header, the one listener.
        assert len(lines) == 3, b
        stamps.append(lines[0])
        assert "Netid" in lines[1] and ":%d" % port in lines[2], b
    assert stamps == sorted(stamps) and len(set(stamps)) == 3, stamps
    assert 0.8 <= took < 10, took
    assert len(rows) == 2 and rows[0]["time"] < rows[1]["time"], rows
    assert all(r["lport"] == port for r in rows), rows


def test_ls_interval_ends_at_ctrl_c():
    p = subprocess.Popen([CONNTRACE, "ls", "-tl", "--interval", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.7)
        p.send_signal(2)
        out, err = p.communicate(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out.count(b"Netid") >= 2, out


def holding_server(port, ready, n, done):
    ls_ = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({})
    held = [ls_.accept()[0] for _ in range(n)]
    done.recv()
    del held


def holding_client(ports, out, done):
    held = [socket.create_connection(("127.0.0.1", p)) for p in ports]
    out.send({})
    done.recv()
    del held


def test_states_by_counts_against_ss():
    # 3 connections to port a, 1 to port b, each held by its own process;
    # ss, taken just before, is the ground truth.
    a, b = next_port(), next_port()
    pipes = {k: Pipe() for k in ("ra", "rb", "out", "da", "db", "dc")}
    pids = []
    try:
        pids.append(spawn(holding_server, a, pipes["ra"], 3, pipes["da"]))
        pids.append(spawn(holding_server, b, pipes["rb"], 1, pipes["db"]))
        pipes["ra"].recv()
        pipes["rb"].recv()
        pids.append(spawn(holding_client, [a, a, b, a], pipes["out"],
                          pipes["dc"]))
        pipes["out"].recv()
        expr = "dport = :%d or dport = :%d" % (a, b)
        ss = subprocess.run(["ss", "-Htan", expr], capture_output=True,
                            text=True, check=True).stdout.splitlines()
        got = json.loads(run("states", "--by", "rport", "-j", expr))
        text = run("states", "--by", "rport", expr).splitlines()
        st = json.loads(run("states", "--by", "state", "-j", expr))
        comm = json.loads(run("states", "--by", "comm", "-j", expr))
    finally:
        for k in ("da", "db", "dc"):
            pipes[k].send({})
        codes = [reap(pid) for pid in pids]
    assert codes == [0] * len(pids), codes
    want = {}
    for line in ss:
        rport = int(line.split()[4].rsplit(":", 1)[1])
        want[rport] = want.get(rport, 0) + 1
    assert want == {a: 3, b: 1}, ss
    assert got["by"] == "rport", got
    assert got["counts"] == [{"rport": a, "count": 3}, {"rport": b, "count": 1}], got
    assert text[0].split() == ["COUNT", "RPORT"], text
    assert [l.split() for l in text[1:]] == [["3", str(a)], ["1", str(b)]], text
    assert st["counts"] == [{"state": "ESTABLISHED", "count": 4}], st
    # The client sockets are all held by the one client process.
    assert sum(c["count"] for c in comm["counts"]) == 4, comm
    assert all(c["comm"].startswith("python") for c in comm["counts"]), comm
