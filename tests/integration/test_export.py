"""Root integration tests for `conntrace export`.

A real Prometheus (Debian's package) scrapes the exporter on loopback every
second; the test drives known traffic between separate processes, each
with a process name of its own, and asserts that what Prometheus stored
equals what the test sent: bytes per process name, transitions and
connections opened. Then the exposition against `promtool check metrics`
and the format's rules, bad clients, and the series cap.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ctlib import (CONNTRACE, Netns, Pipe, Ports, VethPair, bulk_client,
                   enter_netns, listen_on, lossy_server, reap, recv_exact,
                   require_tools, set_comm, spawn, ss_total_retrans,
                   stop_proc)
from test_containers import Cgroups

next_port = Ports(29000)
OM_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"

# The kernel's own transitions (no TIME_WAIT: the tracepoint never sees
# it) for a connection the client closes first, and for the listener.
CLIENT_TRANSITIONS = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                      ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                      ("FIN_WAIT2", "CLOSE")]
SERVER_TRANSITIONS = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                      ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"),
                      ("LAST_ACK", "CLOSE")]
LISTENER_TRANSITIONS = [("CLOSE", "LISTEN"), ("LISTEN", "CLOSE")]


def free_port():
    """A port the kernel says is free now (for Prometheus, which cannot
    tell which one it got); the caller retries if another takes it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path="/metrics", accept=None, timeout=5.0):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


class Exporter:
    """`conntrace export` on a free loopback port, stopped by SIGTERM."""

    def __init__(self, *args, interval="0.5"):
        self.proc = subprocess.Popen(
            [CONNTRACE, "export", "--listen", "127.0.0.1:0", "--interval",
             interval, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.stderr = ""
        self.port = None
        deadline = time.monotonic() + 20
        err = b""
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stderr.readline()
            err += line
            m = re.search(rb"serving metrics on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("export did not start: " + err.decode())
        self.stderr = err.decode()
        # The first refresh: until then /metrics answers 503.
        self.wait_metrics()

    def wait_metrics(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return http_get(self.port)[2]
            except urllib.error.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("no refresh within %.0f s" % timeout)

    def metrics(self, accept=None):
        return http_get(self.port, accept=accept)[2]

    def wait_text(self, pred, timeout=10.0):
        """The first /metrics text pred accepts, scraped every 0.2 s."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.metrics()
            if pred(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.2)

    def stop(self):
        _, err = stop_proc(self.proc, signal.SIGTERM)
        self.stderr += err.decode()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Prometheus:
    """A Prometheus server scraping targets every second, with its config
    and storage in a temporary directory removed on exit, also when it
    failed to start."""

    def __init__(self, target_port):
        self.dir = tempfile.mkdtemp(prefix="ct-prom-")
        self.proc = None
        try:
            self._start(target_port)
        except BaseException:
            self.close()
            raise

    def _start(self, target_port):
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: conntrace\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % target_port)
        for _ in range(3):
            self.port = free_port()
            self.log = open(os.path.join(self.dir, "log"), "w+")
            self.proc = subprocess.Popen(
                ["prometheus", "--config.file=" + conf,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port,
                 "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
            if self._ready(20):
                return
            self._kill()
        raise RuntimeError("prometheus did not start: " + self._log())

    def _ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if http_get(self.port, "/-/ready", timeout=1)[0] == 200:
                    return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        return False

    def _log(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def close(self):
        try:
            if self.proc:
                self._kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, q):
        """The instant vector of q, as {frozenset(labels): float}."""
        url = "/api/v1/query?query=" + urllib.parse.quote(q)
        body = json.loads(http_get(self.port, url)[2])
        assert body["status"] == "success", body
        return {frozenset((k, v) for k, v in r["metric"].items()
                          if k not in ("instance", "job")):
                float(r["value"][1]) for r in body["data"]["result"]}

    def value(self, q):
        v = self.query(q)
        return sum(v.values()) if v else None

    def wait_values(self, want, timeout=20.0):
        """Waits until every query q of want equals want[q], then checks
        they stay so for two more scrapes: an overcount would show there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = {q: self.value(q) for q in want}
            if got == want:
                time.sleep(2.5)
                got = {q: self.value(q) for q in want}
                break
            time.sleep(0.3)
        bad = {q: (want[q], got[q]) for q in want if got[q] != want[q]}
        assert not bad, "want, and what Prometheus has: %s" % bad

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- traffic ------------------------------------------------------------------

def server(port, sizes, ready):
    """Accepts one connection per (up, down): reads up, sends down, waits
    for the client to close, then closes."""
    set_comm("ct-exp-srv")
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    for up, down in sizes:
        c, _ = ls.accept()
        recv_exact(c, up)
        c.sendall(b"d" * down)
        while c.recv(65536):
            pass
        c.close()
    ls.close()


def client(port, sizes):
    set_comm("ct-exp-cli")
    for up, down in sizes:
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"u" * up)
        recv_exact(c, down)
        c.close()


def pair(srv, srv_args, cli, cli_args, timeout=10.0):
    """A server process, then once it is listening a client process; both
    must succeed."""
    ready = Pipe()
    spid = spawn(srv, *srv_args, ready)
    try:
        ready.recv()
        cpid = spawn(cli, *cli_args)
        assert reap(cpid, timeout=timeout) == 0, "client failed"
    finally:
        assert reap(spid, timeout=30) == 0, "server failed"


def drive(port, sizes):
    pair(server, (port, sizes), client, (port, sizes))


# --- tests ----------------------------------------------------------------------

def test_prometheus_stores_ground_truth():
    require_tools("prometheus")
    port = next_port()
    sizes = [(1000 + 7 * i, 20000 + 13 * i) for i in range(6)]
    up = sum(u for u, _ in sizes)
    down = sum(d for _, d in sizes)
    n = len(sizes)
    with Exporter("--port", str(port)) as ex, Prometheus(ex.port) as prom:
        prom.wait_values({'up{job="conntrace"}': 1})
        drive(port, sizes)
        b = 'conntrace_payload_bytes_total{comm="%s",direction="%s",protocol="tcp"}'
        want = {
            b % ("ct-exp-cli", "sent"): up,
            b % ("ct-exp-cli", "received"): down,
            b % ("ct-exp-srv", "sent"): down,
            b % ("ct-exp-srv", "received"): up,
            # Nobody else's bytes in the filter: every byte has its owner.
            "sum(conntrace_payload_bytes_total)": 2 * (up + down),
            'conntrace_tcp_connections_opened_total{side="active"}': n,
            'conntrace_tcp_connections_opened_total{side="passive"}': n,
            'conntrace_tcp_connections_closed_total{side="active"}': n,
            'conntrace_tcp_connections_closed_total{side="passive"}': n,
            "conntrace_tcp_connect_duration_seconds_count": n,
        }
        trans = {}
        for t in CLIENT_TRANSITIONS + SERVER_TRANSITIONS:
            trans[t] = trans.get(t, 0) + n
        for t in LISTENER_TRANSITIONS:
            trans[t] = trans.get(t, 0) + 1
        for (a, b2), k in trans.items():
            want['conntrace_tcp_transitions_total{from="%s",to="%s"}' % (a, b2)] = k
        want["sum(conntrace_tcp_transitions_total)"] = sum(trans.values())
        prom.wait_values(want)
        # Prometheus asked for OpenMetrics, and parsed it: up is 1.
        assert prom.value('up{job="conntrace"}') == 1
        assert prom.value('conntrace_scrapes_total') >= 5
    assert ex.proc.returncode == 0, ex.stderr
    assert "SIGTERM received" in ex.stderr, ex.stderr
    assert "programs detached" in ex.stderr, ex.stderr


def refused(port, out):
    """One connect to a loopback port nobody listens on."""
    set_comm("ct-exp-refuse")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5)
        out.send({"errno": 0})
    except OSError as e:
        out.send({"errno": e.errno})


def retrans_fails(netns):
    """TcpExtTCPRetransFail in netns, told when a count is off: segments
    sent again that failed to go out. The hook skips them, and
    tcpi_total_retrans counts those that failed past its own count."""
    out = subprocess.run(["ip", "netns", "exec", netns, "nstat", "-asz",
                          "TcpExtTCPRetransFail"], capture_output=True,
                         text=True).stdout.split()
    name = "TcpExtTCPRetransFail"
    return out[out.index(name) + 1] if name in out[:-1] else "?"


def test_prometheus_stores_retransmits_and_failures():
    """Segments lost at random between two namespaces: Prometheus stores
    as many retransmits as the kernel counted on the two sockets (ss -ti),
    each end's under its name; a refused connect, by errno and name."""
    require_tools("prometheus")
    port = next_port()
    ready, cout, go, rout = Pipe(), Pipe(), Pipe(), Pipe()
    kids = []
    with VethPair("xr", "198.18.30.1", "198.18.30.2") as net, \
            Exporter("--port", str(port)) as ex, Prometheus(ex.port) as prom:
        try:
            prom.wait_values({'up{job="conntrace"}': 1})
            kids.append(spawn(lossy_server, net.b, net.addr_b, port, ready, 0.05))
            ready.recv()
            # On past 4 MiB until the client retransmitted: losses at
            # random may miss it.
            kids.append(spawn(bulk_client, net.a, net.addr_b, port, cout, go,
                              4 << 20, True))
            lport = cout.recv()["lport"]
            assert cout.recv(timeout=60)["sent"]
            cli = ss_total_retrans(net.a, lport, port)
            srv = ss_total_retrans(net.b, port, lport)
            assert cli > 0, "the filter lost nothing: no test"
            kids.append(spawn(refused, port, rout))
            assert rout.recv()["errno"] == 111
            r = 'conntrace_tcp_retransmits_total{comm="%s"}'
            want = {
                "sum(%s)" % (r % "ctbulkcli"): cli,
                # SYN-ACKs and anything sent before accept() count for
                # the listener's process, as top counts them; no series
                # at all when the server sent nothing again.
                "sum(%s) or vector(0)" % (r % "ctlossysrv"): srv,
                # Both ends' owners are known: none is nobody's, and a
                # failure says where a stray one went.
                "sum(%s) or vector(0)" % (r % "?"): 0,
                "sum(conntrace_tcp_retransmits_total)": cli + srv,
                'conntrace_tcp_connect_failures_total{errno="ECONNREFUSED",'
                'comm="ct-exp-refuse"}': 1,
                "sum(conntrace_tcp_connect_failures_total)": 1,
                'conntrace_tcp_resets_total{comm="ct-exp-refuse",'
                'direction="received"}': 1,
                "conntrace_events_lost_total": 0,
            }
            try:
                prom.wait_values(want)
            except AssertionError as e:
                raise AssertionError("%s; sent again but failed to go "
                                     "(TCPRetransFail): client %s, server %s"
                                     % (e, retrans_fails(net.a),
                                        retrans_fails(net.b))) from e
        finally:
            go.send({})
            for pid in kids:
                reap(pid, timeout=30)
    assert ex.proc.returncode == 0, ex.stderr


def series_lines(text):
    return [l for l in text.splitlines() if l and not l.startswith("#")]


def check_exposition(text, om):
    """The format's rules, family by family."""
    helps, types, seen = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in helps, "two HELP lines for " + name
            helps[name] = True
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name not in types, "two TYPE lines for " + name
            types[name] = kind
            if kind == "counter":
                assert name.endswith("_total") != om, line
        elif line and not line.startswith("#"):
            key = line.rsplit(" ", 1)[0]
            assert key not in seen, "duplicate series " + key
            seen.add(key)
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", key).group(0)
            base = re.sub(r"_(total|bucket|sum|count)$", "", name)
            fam = name if name in types else base
            assert fam in types and fam in helps, "no TYPE/HELP for " + name
            if types[fam] == "counter":
                assert name.endswith("_total"), line
    assert helps.keys() == types.keys()
    assert text.endswith("# EOF\n") == om
    if om:
        assert text.count("# EOF") == 1


def test_exposition_promtool_and_rules():
    require_tools("promtool")
    port = next_port()
    with Exporter("--port", str(port)) as ex:
        drive(port, [(100, 200), (300, 400)])
        time.sleep(1.2)
        classic = ex.metrics()
        status, ctype, om = http_get(ex.port, accept=OM_ACCEPT)
        assert ctype.startswith("application/openmetrics-text"), ctype
        assert http_get(ex.port)[1].startswith("text/plain; version=0.0.4")
        r = subprocess.run(["promtool", "check", "metrics"], input=classic,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        check_exposition(classic, False)
        check_exposition(om, True)
        # Open sockets by state, idle ones too: the listener and both
        # ends of three connections that never move a byte.
        ls = listen_on(socket.AF_INET, "127.0.0.1", port)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        held += [ls.accept()[0] for _ in range(3)]
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                text = ex.metrics()
                got = (metric_value(text, 'conntrace_tcp_connections{state="ESTABLISHED"}'),
                       metric_value(text, 'conntrace_tcp_connections{state="LISTEN"}'))
                if got == (6, 1):
                    break
                time.sleep(0.2)
            assert got == (6, 1), got
        finally:
            for s in held + [ls]:
                s.close()
        assert 'comm="ct-exp-cli"' in classic
        # The short page, and nothing else.
        assert http_get(ex.port, "/")[0] == 200
        for path in ("/metrics/", "/x", "/metrics?x=1/../"):
            try:
                http_get(ex.port, path)
                if path.startswith("/metrics?"):
                    continue  # a query string is no other page
                raise AssertionError(path + " answered")
            except urllib.error.HTTPError as e:
                assert e.code == 404, (path, e.code)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % ex.port,
                                     data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("POST answered")
        except urllib.error.HTTPError as e:
            assert e.code == 405, e.code


def raw(port, data, timeout=5.0):
    """Sends data on a new connection; returns what came back until close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except (ConnectionResetError, BrokenPipeError):
        return b"reset"
    finally:
        s.close()


def assert_answers(ex, within=2.0):
    t0 = time.monotonic()
    status, _, text = http_get(ex.port, timeout=within)
    assert status == 200 and "conntrace_series" in text
    assert time.monotonic() - t0 < within


def test_bad_clients():
    with Exporter() as ex:
        assert_answers(ex)
        rss0 = rss_kib(ex.proc.pid)
        # Malformed requests get an error, or the door: never a hang.
        for junk in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
                     b"GET /metrics HTTP/9.9\r\n\r\n",
                     b"GET /metrics HTTP/1.1\r\nHost\r\n\r\n",
                     bytes(range(256)) * 4 + b"\r\n\r\n",
                     b"GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            out = raw(ex.port, junk)
            assert not out.startswith(b"HTTP/1.1 200"), junk
            assert_answers(ex)
        # A 1 MB header: refused, and the exporter goes on.
        big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + \
            b"a" * (1 << 20) + b"\r\n\r\n"
        out = raw(ex.port, big)
        assert out == b"reset" or re.match(rb"HTTP/1\.1 4\d\d", out), out[:100]
        assert_answers(ex)
        # Slowloris: connections that send a byte now and then.
        slow = []
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", ex.port), timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            slow.append(s)
        try:
            for _ in range(6):
                for s in slow:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
                assert_answers(ex)
                time.sleep(0.5)
        finally:
            for s in slow:
                s.close()
        # 200 scrapes at once: every one answered in full.
        results = []

        def scrape():
            try:
                results.append(http_get(ex.port, timeout=20)[0])
            except Exception as e:  # counted below as a failure
                results.append(repr(e))

        threads = [threading.Thread(target=scrape) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results.count(200) == 200, [r for r in results if r != 200][:5]
        assert_answers(ex)
        grown = rss_kib(ex.proc.pid) - rss0
        assert grown < 32 * 1024, "RSS grew by %d KiB" % grown
        assert ex.proc.poll() is None
    assert ex.proc.returncode == 0, ex.stderr


def many_peers(port, n, ready):
    """Accepts n connections from the test's own 127.x.y.z addresses."""
    set_comm("ct-exp-peers")
    ls = listen_on(socket.AF_INET, "0.0.0.0", port, backlog=512)
    ready.send({})
    for _ in range(n):
        c, _ = ls.accept()
        c.recv(1)
        c.close()
    ls.close()


def connect_many(port, n):
    """One short connection to each of n loopback addresses."""
    set_comm("ct-exp-many")
    for i in range(n):
        addr = "127.1.%d.%d" % (i // 250, 1 + i % 250)
        c = socket.create_connection((addr, port), timeout=5)
        c.sendall(b"x")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        c.close()


def distinct_peers(port, n):
    pair(many_peers, (port, n), connect_many, (port, n), timeout=120)


def series_count(text):
    return int(re.search(r"^conntrace_series (\d+)$", text, re.M).group(1))


def test_cardinality_bounded():
    n = 10000
    port = next_port()
    with Exporter("--port", str(port)) as plain, \
            Exporter("--port", str(port), "--by", "remote-net/32",
                     "--max-series", "600") as by:
        before = series_count(plain.metrics())
        distinct_peers(port, n)
        time.sleep(1.5)
        text = plain.metrics()
        lines = series_lines(text)
        # No address label by default: the series do not grow with peers.
        assert not re.search(r'"127\.\d+\.\d+\.\d+', text)
        assert series_count(text) < before + 50, (before, series_count(text))
        assert len(lines) < 1000
        # A scrape after quiet may get the text it found while its refresh
        # is under way: the next ones have it.
        text = by.wait_text(lambda t: 'remote_net="other"' in t)
        # Asked for, addresses are labels, up to the cap, then "other".
        assert re.search(r'remote_net="127\.\d+\.\d+\.\d+/32"', text)
        assert series_count(text) <= 600 + 30, series_count(text)
        assert 'remote_net="other"' in text
        folded = int(re.search(r"^conntrace_series_folded_total (\d+)$",
                               text, re.M).group(1))
        assert folded > 0
        assert len(series_lines(text)) < 2000


def test_unit_file_installs():
    """make install puts the unit where systemd looks, and systemd reads
    it without a complaint (its binary path pointed at this build)."""
    require_tools("make")
    dest = tempfile.mkdtemp(prefix="ct-install-")
    try:
        r = subprocess.run(["make", "-s", "-C", os.path.dirname(CONNTRACE),
                            "install", "DESTDIR=" + dest],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        unit = os.path.join(dest, "usr/local/lib/systemd/system/conntrace-export.service")
        binary = os.path.join(dest, "usr/local/sbin/conntrace")
        assert os.access(binary, os.X_OK)
        with open(unit) as f:
            text = f.read()
        assert "ExecStart=/usr/local/sbin/conntrace export\n" in text
        if not shutil.which("systemd-analyze"):
            return
        check = os.path.join(dest, "conntrace-export.service")
        with open(check, "w") as f:
            f.write(text.replace("/usr/local/sbin/conntrace", binary))
        r = subprocess.run(["systemd-analyze", "verify", check],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_grafana_dashboard():
    """Every query of the dashboard is valid PromQL (promtool checks it as
    a recording rule) and names only metrics the exporter serves."""
    require_tools("promtool")
    path = os.path.join(os.path.dirname(CONNTRACE), "dist", "grafana-conntrace.json")
    with open(path) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    with Exporter() as ex:
        served = set(re.findall(r"^# TYPE (\S+)", ex.metrics(), re.M))
    for e in exprs:
        for name in re.findall(r"\bconntrace_[a-z_]+", e):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in served or base in served, (name, e)
    tmp = tempfile.mkdtemp(prefix="ct-dash-")
    try:
        rules = os.path.join(tmp, "rules.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, e in enumerate(exprs):
                e = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
                f.write("      - record: dashboard_%d\n        expr: %s\n"
                        % (i, json.dumps(e)))
        r = subprocess.run(["promtool", "check", "rules", rules],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def selected(text, name, **want):
    """The sum of the series of name whose labels include want, as a
    Prometheus selector picks them; None if there is none."""
    total = None
    for labels, v in re.findall(r"^%s\{(.*)\} (\S+)$" % re.escape(name), text, re.M):
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
        if all(have.get(k) == v2 for k, v2 in want.items()):
            total = (total or 0) + float(v)
    return total


def metric_value(text, line_start):
    m = re.search(r"^%s (\S+)$" % re.escape(line_start), text, re.M)
    return float(m.group(1)) if m else None


def state_misses(text):
    """Transitions whose state program the kernel skipped because another
    BPF program ran on that CPU (recursion): conntrace cannot see them,
    only count them."""
    return sum(float(v) for v in re.findall(
        r'^conntrace_bpf_recursion_misses_total\{program="ct_state_\w+"\} (\S+)$',
        text, re.M))


def test_burst_between_refreshes():
    """More transitions between two refreshes than the ring buffer holds
    (2,000 connections, ten records each, in one 5 s interval): every one
    is counted, none lost. A transition the kernel skipped the program for
    (2 of 20,002 once, on the kernel matrix's emulated CPU) is counted as
    missed instead."""
    n, port = 2000, next_port()
    with Exporter("--port", str(port), interval="5") as ex:
        t0 = time.monotonic()
        pair(server, (port, [(1, 1)] * n), client, (port, [(1, 1)] * n),
             timeout=60)
        burst = time.monotonic() - t0
        deadline = time.monotonic() + 15
        want = n * (len(CLIENT_TRANSITIONS) + len(SERVER_TRANSITIONS)) + 2
        while time.monotonic() < deadline:
            text = ex.metrics()
            got = sum(float(v) for v in re.findall(
                r"^conntrace_tcp_transitions_total\{.*\} (\S+)$", text, re.M))
            if got + state_misses(text) == want:
                break
            time.sleep(0.5)
        assert got + state_misses(text) == want, (got, want, burst, re.findall(
            r"^conntrace_(?:events_lost|bpf_recursion).* [1-9].*$", text, re.M))
        assert metric_value(text, "conntrace_events_lost_total") == 0
        assert metric_value(
            text, 'conntrace_tcp_connections_opened_total{side="passive"}') == n
        assert selected(text, "conntrace_payload_bytes_total", comm="ct-exp-cli",
                        direction="sent", protocol="tcp") == n


def test_port_in_use_one_line():
    """A port taken: one line and exit 1, before any program is loaded."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = subprocess.run([CONNTRACE, "export", "--listen",
                            "127.0.0.1:%d" % s.getsockname()[1]],
                           capture_output=True, text=True, timeout=10)
    finally:
        s.close()
    assert r.returncode == 1, r
    assert r.stderr == ("conntrace: cannot serve HTTP on the --listen address: "
                        "Address already in use\n"), r.stderr


def in_cgroup(cg, rel, fn, *args):
    """fn(*args) in cgroup rel (run in a child by spawn)."""
    cg.join(rel)
    fn(*args)


def test_container_label():
    """A server in a systemd service's cgroup, a client in a Docker
    scope's and a refused connect in a Kubernetes pod's, all made by the
    test: each one's bytes, failure and reset are exported under the
    container its cgroup path names, and only there."""
    port, dead = next_port(), next_port()
    sizes = [(3000 + 11 * i, 9000 + 17 * i) for i in range(4)]
    up = sum(u for u, _ in sizes)
    down = sum(d for _, d in sizes)
    b = "conntrace_payload_bytes_total"
    # No filter: the names of the test's processes set their series apart.
    with Cgroups() as cg, Exporter() as ex:
        pair(in_cgroup, (cg, cg.service, server, port, sizes),
             in_cgroup, (cg, cg.docker, client, port, sizes))
        out = Pipe()
        pid = spawn(in_cgroup, cg, cg.pod, refused, dead, out)
        assert out.recv()["errno"] == 111
        assert reap(pid) == 0
        want = {
            (b, "ct-exp-cli", cg.docker_name, "sent"): up,
            (b, "ct-exp-cli", cg.docker_name, "received"): down,
            (b, "ct-exp-srv", cg.service_name, "sent"): down,
            (b, "ct-exp-srv", cg.service_name, "received"): up,
            # Nowhere else: every byte of each is under its container.
            (b, "ct-exp-cli", None, "sent"): up,
            (b, "ct-exp-srv", None, "received"): up,
            ("conntrace_tcp_connect_failures_total", "ct-exp-refuse",
             cg.pod_name, None): 1,
            ("conntrace_tcp_resets_total", "ct-exp-refuse", cg.pod_name,
             "received"): 1,
        }

        def got(text):
            res = {}
            for k in want:
                sel = {"comm": k[1]}
                if k[2]:
                    sel["container"] = k[2]
                if k[3]:
                    sel["direction"] = k[3]
                res[k] = selected(text, k[0], **sel)
            return res

        text = ex.wait_text(lambda t: got(t) == want, timeout=15)
        assert got(text) == want, (got(text), want)
        assert metric_value(text, "conntrace_series_folded_total") == 0
    assert ex.proc.returncode == 0, ex.stderr


def netns_listener(netns, port, ready, go):
    """Listens in netns until told to go."""
    enter_netns(netns)
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    go.recv(timeout=60)
    ls.close()


def socket_fds(pid):
    """The sockets pid holds, at the fewest over a few looks: a scrape's
    own connection comes and goes."""
    counts = []
    for _ in range(5):
        n = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
            except OSError:
                pass    # closed meanwhile
        counts.append(n)
        time.sleep(0.05)
    return min(counts)


def sockets_after_refresh(ex, pred, timeout=10.0):
    """Scrapes (each may refresh, and read the listeners' drop counters)
    until pred(the exporter's socket count) holds; returns the count."""
    deadline = time.monotonic() + timeout
    while True:
        ex.metrics()
        n = socket_fds(ex.proc.pid)
        if pred(n) or time.monotonic() > deadline:
            return n
        time.sleep(0.3)


def test_gone_listeners_let_go():
    """Listeners in 8 namespaces the test makes, three times over: while
    they listen the exporter reads their drop counters through a socket in
    each namespace; once they and their namespaces are gone it holds none
    of those sockets (each would keep its namespace alive) and still
    answers."""
    port = next_port()
    with Exporter("--port", str(port)) as ex:
        base = sockets_after_refresh(ex, lambda n: True)
        for _ in range(3):
            kids, gos = [], []
            try:
                with contextlib.ExitStack() as stack:
                    for i in range(8):
                        ns = stack.enter_context(Netns("xg"))
                        ready, go = Pipe(), Pipe()
                        kids.append(spawn(netns_listener, ns.name, port,
                                          ready, go))
                        gos.append(go)
                        ready.recv()
                    held = sockets_after_refresh(ex, lambda n: n >= base + 8)
                    assert held >= base + 8, (held, base)
                    for go in gos:
                        go.send({})
                    for pid in kids:
                        assert reap(pid) == 0
                    kids = []
            finally:
                for go in gos:
                    go.send({})
                for pid in kids:
                    reap(pid)
            # One more at most: a listener of the host's own namespace
            # may come meanwhile (a leak is 8 a round).
            left = sockets_after_refresh(ex, lambda n: n <= base)
            assert left <= base + 1, (left, base)
    assert ex.proc.returncode == 0, ex.stderr
