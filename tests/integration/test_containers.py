"""Root integration tests for containers: cgroup v2 directories made in the
runtimes' naming layouts, client and server processes moved into them, and
every transition, top row and ls row checked for its cgroup and container.

The cgroup2 mount is found in /proc/self/mountinfo (on hybrid machines it
is not /sys/fs/cgroup); paths are relative to it, as ss prints them.
"""
import errno
import json
import os
import socket
import struct
import subprocess
import uuid

from ctlib import (CONNTRACE, Netns, Pipe, Ports, Watch, enter_netns,
                   listen_on, reap, recv_exact, spawn)

next_port = Ports(24000)
UP, DOWN = 70001, 30011


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[:1] == ["cgroup2"]:
                # mountinfo escapes blanks as octal (\040).
                return pre.split()[4].encode().decode("unicode_escape")
    raise RuntimeError("no cgroup2 mount")


def own_cgroup():
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    raise RuntimeError("no cgroup v2 line in /proc/self/cgroup")


class Cgroups:
    """A docker scope, a kubepods pod slice and two services, under a
    parent of the test's own. Removed on exit, also when setup fails
    halfway; a process still in one goes back to the test's own cgroup."""

    def __init__(self):
        self.mount = cgroup2_mount()
        self.home = own_cgroup()
        tag = "%d-%s" % (os.getpid(), os.urandom(3).hex())
        self.top = "/ct-test-%s" % tag
        hexid = os.urandom(32).hex()
        uid = str(uuid.uuid4())
        self.docker = self.top + "/system.slice/docker-%s.scope" % hexid
        self.docker_name = "docker:" + hexid[:12]
        self.pod = (self.top + "/kubepods.slice/kubepods-besteffort.slice/"
                    "kubepods-besteffort-pod%s.slice" % uid.replace("-", "_"))
        self.pod_name = "pod:" + uid
        self.service_name = "ct-web-%s.service" % tag
        self.service = self.top + "/system.slice/" + self.service_name
        self.other_name = "ct-other-%s.service" % tag
        self.other = self.top + "/system.slice/" + self.other_name
        self.made = []

    def __enter__(self):
        try:
            for rel in (self.docker, self.pod, self.service, self.other):
                self._mkdirs(rel)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _mkdirs(self, rel):
        path = self.top
        for part in rel[len(self.top):].split("/"):
            path = path + "/" + part if part else path
            if not os.path.isdir(self.mount + path):
                os.mkdir(self.mount + path)
                self.made.append(path)

    def join(self, rel):
        """Moves the calling process into cgroup rel."""
        with open(self.mount + rel + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    def __exit__(self, *exc):
        for rel in sorted(self.made, key=len, reverse=True):
            try:
                with open(self.mount + rel + "/cgroup.procs") as f:
                    pids = f.read().split()
                for pid in pids:
                    with open(self.mount + self.home + "/cgroup.procs", "w") as f:
                        f.write(pid)
                os.rmdir(self.mount + rel)
            except OSError:
                pass
        self.made = []


# --- processes --------------------------------------------------------------

def server(cg, rel, port, ready, nconns, netns=None):
    """In cgroup rel: accepts nconns clients, then from each gets UP and
    sends DOWN, then waits for each to close."""
    if netns:
        enter_netns(netns)
    cg.join(rel)
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    conns = [ls.accept()[0] for _ in range(nconns)]
    for c in conns:
        recv_exact(c, UP)
        c.sendall(b"d" * DOWN)
    for c in conns:
        while c.recv(65536):
            pass
        c.close()
    ls.close()


def client(cg, rel, port, out, hold, move_to=None, netns=None):
    """In cgroup rel: connects, sends UP, gets DOWN, waits for hold, maybe
    moves to cgroup move_to, then closes."""
    if netns:
        enter_netns(netns)
    cg.join(rel)
    c = socket.create_connection(("127.0.0.1", port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    c.sendall(b"u" * UP)
    recv_exact(c, DOWN)
    hold.recv()
    if move_to:
        cg.join(move_to)
    c.close()


def run_pair(cg, port, clients, netns=None):
    """A server in the service cgroup, then each client of clients
    (cgroup, move_to); returns the pids, the clients' local ports, and
    the pipes that let each client close."""
    ready = Pipe()
    spid = spawn(server, cg, cg.service, port, ready, len(clients), netns)
    pids, lports, holds = [spid], [], []
    try:
        ready.recv()
        for rel, move_to in clients:
            out, hold = Pipe(), Pipe()
            pids.append(spawn(client, cg, rel, port, out, hold, move_to, netns))
            holds.append(hold)
            lports.append(out.recv()["lport"])
    except BaseException:
        for pid in pids:
            reap(pid, timeout=1)
        raise
    return pids, lports, holds


def release(holds):
    for h in holds:
        h.send("go")


def reap_all(pids):
    for pid in reversed(pids):
        assert reap(pid) == 0, "a test process failed"


def lines_of(events, lport, rport):
    return [e for e in events if e["lport"] == lport and e["rport"] == rport]


def key(e):
    return (e["lport"], e["rport"], e["old"], e["new"])


def assert_owner(lines, cgroup, name, what):
    assert lines, "no lines for " + what
    for e in lines:
        assert e["cgroup"] == cgroup and e["container"] == name, (what, e)


# --- tests ------------------------------------------------------------------

def test_transitions_carry_cgroup_and_filters_keep_theirs():
    port = next_port()
    with Cgroups() as cg:
        every = Watch("--events", "state", "--port", str(port))
        docker = Watch("--events", "state", "--port", str(port), "--container", cg.docker_name)
        pod = Watch("--events", "state", "port = %d and cgroup %s" % (port, cg.top + "/kubepods.slice"))
        service = Watch("--events", "state", "--port", str(port), "container",
                        cg.service_name[:-len(".service")])
        try:
            pids, (la, lb), holds = run_pair(cg, port, [(cg.docker, None),
                                                        (cg.pod, None)])
            release(holds)
            reap_all(pids)
            for w in (every, docker, pod, service):
                w.settle(quiet=0.8)
        finally:
            for w in (every, docker, pod, service):
                assert w.stop() == 0, w.stderr
        ev = every.events
        a, b = lines_of(ev, la, port), lines_of(ev, lb, port)
        srv = [e for e in ev if e["lport"] == port]
        assert_owner(a, cg.docker, cg.docker_name, "docker client")
        assert_owner(b, cg.pod, cg.pod_name, "pod client")
        assert_owner(srv, cg.service, cg.service_name, "server")
        want = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                ("ESTABLISHED", "FIN_WAIT1")]
        assert [(e["old"], e["new"]) for e in a][:3] == want, a
        assert len(ev) == len(a) + len(b) + len(srv), ev
        # Each filter keeps exactly the lines of its own connections.
        assert sorted(map(key, docker.events)) == sorted(map(key, a)), docker.events
        assert sorted(map(key, pod.events)) == sorted(map(key, b)), pod.events
        assert sorted(map(key, service.events)) == sorted(map(key, srv)), service.events


def passed_kernel(stderr):
    for line in stderr.splitlines():
        if line.endswith(" transitions passed the kernel's filters"):
            return int(line.split()[1])
    raise AssertionError("no count of what passed the kernel: " + stderr)


def test_container_filter_applied_in_the_kernel():
    # --container is passed down as a set of cgroup ids: the pod client's
    # transitions, whose owner the kernel knows, never reach user space.
    # Only those with an owner still to resolve (the server's before
    # accept) and the docker client's may pass.
    port = next_port()
    with Cgroups() as cg:
        every = Watch("--events", "state", "--port", str(port))
        docker = Watch("-v", "--events", "state", "--port", str(port),
                       "--container", cg.docker_name)
        try:
            pids, (la, lb), holds = run_pair(cg, port, [(cg.docker, None),
                                                        (cg.pod, None)])
            release(holds)
            reap_all(pids)
            for w in (every, docker):
                w.settle(quiet=0.8)
        finally:
            for w in (every, docker):
                assert w.stop() == 0, w.stderr
        a = lines_of(every.events, la, port)
        b = lines_of(every.events, lb, port)
        srv = [e for e in every.events if e["lport"] == port]
        assert sorted(map(key, docker.events)) == sorted(map(key, a)), docker.events
        passed = passed_kernel(docker.stderr)
        assert len(a) <= passed <= len(a) + len(srv), (passed, len(a), len(srv))
        assert len(b) >= 3, b


def reset_server(cg, rel, port, ready, done):
    """In cgroup rel: accepts one client and reads until it resets."""
    cg.join(rel)
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    ready.send({"pid": os.getpid()})
    c, _ = ls.accept()
    try:
        while c.recv(65536):
            pass
    except ConnectionResetError:
        pass
    c.close()
    ls.close()
    done.send({})


def reset_client(cg, rel, port, out, go):
    """In cgroup rel: connects and, once told, closes with SO_LINGER 0
    (a reset)."""
    cg.join(rel)
    c = socket.create_connection(("127.0.0.1", port))
    out.send({"pid": os.getpid(), "lport": c.getsockname()[1]})
    go.recv()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def refused_client(cg, rel, port, out):
    """In cgroup rel: connects to a port nobody listens on."""
    cg.join(rel)
    c = socket.socket()
    err = c.connect_ex(("127.0.0.1", port))
    out.send({"pid": os.getpid(), "errno": err})
    c.close()


def test_events_carry_the_owners_cgroup():
    # A reset sent from a docker scope, received in a service, and a
    # refused connect from a pod: each event names its owner's container,
    # in JSON and in the table, and --container keeps exactly its own.
    port = next_port()
    with Cgroups() as cg:
        args = ("--events", "reset,fail", "--port", str(port))
        every = Watch(*args)
        table = Watch(*args, json_lines=False)
        pod = Watch(*args, "--container", cg.pod_name)
        pids = []
        try:
            ready, done, out, go = Pipe(), Pipe(), Pipe(), Pipe()
            pids.append(spawn(reset_server, cg, cg.service, port, ready, done))
            ready.recv()
            pids.append(spawn(reset_client, cg, cg.docker, port, out, go))
            client = out.recv()
            go.send("go")
            done.recv(10)
            reap_all(pids)
            pids = [spawn(refused_client, cg, cg.pod, port, out)]
            refused = out.recv()
            assert refused["errno"] == errno.ECONNREFUSED, refused
            reap_all(pids)
            pids = []
            for w in (every, table, pod):
                w.settle(quiet=0.8)
        finally:
            for pid in pids:
                reap(pid, timeout=1)
            for w in (every, table, pod):
                assert w.stop() == 0, w.stderr
        sent = [e for e in every.events if e["event"] == "reset" and
                e["direction"] == "sent" and e["lport"] == client["lport"]]
        got = [e for e in every.events if e["event"] == "reset" and
               e["direction"] == "received" and e["lport"] == port]
        fail = [e for e in every.events if e["event"] == "fail"]
        assert_owner(sent, cg.docker, cg.docker_name, "reset sent")
        assert_owner(got, cg.service, cg.service_name, "reset received")
        assert_owner(fail, cg.pod, cg.pod_name, "refused connect")
        # The refused connect is a reset received in SYN_SENT, then the
        # failure: both the pod's, and nothing else.
        assert [(e["event"], e["state"]) for e in pod.events] == [
            ("reset", "SYN_SENT"), ("fail", "SYN_SENT")], pod.events
        assert_owner(pod.events, cg.pod, cg.pod_name, "pod's events")
        lines = [l for l in table.events if cg.docker_name in l]
        assert any("RST_SENT" in l for l in lines), table.events


def top_snapshot_ok(cg, la, lb):
    def rows(snap):
        return {c["cgroup"]: c for c in snap.get("containers", [])}

    def ok(events):
        if not events:
            return False
        r = rows(events[-1])
        d, p, s = r.get(cg.docker), r.get(cg.pod), r.get(cg.service)
        return bool(d and p and s and
                    (d["conns"], d["tx_bytes"], d["rx_bytes"]) == (1, UP, DOWN) and
                    (p["conns"], p["tx_bytes"], p["rx_bytes"]) == (1, UP, DOWN) and
                    (s["conns"], s["tx_bytes"], s["rx_bytes"]) == (2, 2 * DOWN, 2 * UP) and
                    d["container"] == cg.docker_name and
                    p["container"] == cg.pod_name and
                    s["container"] == cg.service_name)
    return ok


def ls_rows(*args):
    p = subprocess.run([CONNTRACE, "ls", "-tn", "--json", *args],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def test_top_and_ls_rows_carry_cgroup():
    port = next_port()
    with Cgroups() as cg:
        holds = []
        top = Watch("--interval", "0.5", "--port", str(port), mode="top")
        only = Watch("--interval", "0.5", "--port", str(port), "--container",
                     cg.pod_name[4:], mode="top")
        pids = []
        try:
            pids, (la, lb), holds = run_pair(cg, port, [(cg.docker, None),
                                                        (cg.pod, None)])
            assert top.wait_for(top_snapshot_ok(cg, la, lb), 10), \
                top.events[-1:] and top.events[-1]["containers"]
            for c in top.events[-1]["connections"]:
                want = {la: cg.docker, lb: cg.pod}.get(c["lport"], cg.service)
                assert c["cgroup"] == want, c
            assert only.wait_for(lambda ev: ev and [
                c["cgroup"] for c in ev[-1]["containers"]] == [cg.pod], 10), \
                only.events[-1:]
            snap = only.events[-1]
            assert [c["lport"] for c in snap["connections"]] == [lb], snap
            # ls: the socket's cgroup, as sock_diag (and ss) has it.
            rows = ls_rows("-a", "sport = %d or dport = %d" % (port, port))
            by = {(r["lport"], r["rport"]): r for r in rows}
            assert by[(la, port)]["cgroup"] == cg.docker, rows
            assert by[(la, port)]["container"] == cg.docker_name, rows
            assert by[(lb, port)]["container"] == cg.pod_name, rows
            for k in ((port, la), (port, lb), (port, 0)):
                assert by[k]["cgroup"] == cg.service, (k, rows)
                assert by[k]["container"] == cg.service_name, (k, rows)
            assert len(rows) == 5, rows
            kept = ls_rows("--cgroup", cg.top + "/system.slice",
                           "sport = %d or dport = %d" % (port, port))
            assert {(r["lport"], r["rport"]) for r in kept} == \
                {(la, port), (port, la), (port, lb)}, kept
            kept = ls_rows("--container", cg.pod_name,
                           "sport = %d or dport = %d" % (port, port))
            assert [(r["lport"], r["rport"]) for r in kept] == [(lb, port)], kept
            # states groups the same sockets by container.
            p = subprocess.run([CONNTRACE, "states", "--by-container", "--json",
                                "sport = %d or dport = %d" % (port, port)],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
            groups = {g["cgroup"]: g for g in json.loads(p.stdout)["containers"]}
            assert set(groups) == {cg.docker, cg.pod, cg.service}, groups
            assert groups[cg.docker]["states"] == {"ESTABLISHED": 1}, groups
            assert groups[cg.pod]["container"] == cg.pod_name, groups
            assert groups[cg.pod]["states"] == {"ESTABLISHED": 1}, groups
            assert groups[cg.service]["states"] == {"ESTABLISHED": 2,
                                                    "LISTEN": 1}, groups
            # states --by container counts the same sockets per name.
            p = subprocess.run([CONNTRACE, "states", "--by", "container",
                                "--json", "sport = %d or dport = %d" % (port, port)],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
            counts = {c["container"]: c["count"]
                      for c in json.loads(p.stdout)["counts"]}
            assert counts == {cg.docker_name: 1, cg.pod_name: 1,
                              cg.service_name: 3}, counts
        finally:
            release(holds)
            for pid in reversed(pids):
                reap(pid)
            assert top.stop() == 0, top.stderr
            assert only.stop() == 0, only.stderr


def test_owner_moving_between_cgroups():
    """A transition carries the cgroup its owner was in when the owner was
    last taken (connect, accept, close): the lines before close() keep
    the old cgroup, close() and those after carry the new one."""
    port = next_port()
    with Cgroups() as cg:
        w = Watch("--events", "state", "--port", str(port))
        try:
            pids, (la,), holds = run_pair(cg, port, [(cg.docker, cg.other)])
            release(holds)
            reap_all(pids)
            w.settle(quiet=0.8)
        finally:
            assert w.stop() == 0, w.stderr
        a = lines_of(w.events, la, port)
        steps = [(e["old"], e["new"], e["cgroup"]) for e in a]
        assert steps[:2] == [("CLOSE", "SYN_SENT", cg.docker),
                             ("SYN_SENT", "ESTABLISHED", cg.docker)], steps
        assert steps[2][:2] == ("ESTABLISHED", "FIN_WAIT1"), steps
        assert all(s[2] == cg.other for s in steps[2:]), steps
        assert all(e["container"] == cg.other_name for e in a[2:]), a
        srv = [e for e in w.events if e["lport"] == port]
        assert_owner(srv, cg.service, cg.service_name, "server")


def test_namespace_traffic_reported_under_it():
    """Traffic in a network namespace is seen by watch and top with no
    option, each line and row naming that namespace; --netns keeps only
    it. The same port carries traffic in our own namespace too."""
    port = next_port()
    with Cgroups() as cg, Netns("cg") as ns:
        ino = os.stat("/run/netns/" + ns.name).st_ino
        own = os.stat("/proc/self/ns/net").st_ino
        w = Watch("--events", "state", "--port", str(port))
        only = Watch("--events", "state", "--port", str(port), "--netns", ns.name)
        top = Watch("--interval", "0.5", "--port", str(port), mode="top")
        pids, holds = [], []
        try:
            pids, (la,), holds = run_pair(cg, port, [(cg.docker, None)],
                                          netns=ns.name)
            assert top.wait_for(lambda ev: ev and any(
                c["lport"] == la and c["netns"] == ino and
                c["netns_name"] == ns.name and
                c["container"] == cg.docker_name
                for c in ev[-1]["connections"]), 10), top.events[-1:]
            rows = ls_rows("--netns", ns.name, "sport = %d" % port)
            assert rows and all(r["netns"] == ino and r["netns_name"] == ns.name
                                for r in rows), rows
            assert all(r["container"] == cg.service_name for r in rows), rows
            release(holds)
            holds = []
            reap_all(pids)
            pids, (lb,), holds = run_pair(cg, port, [(cg.pod, None)])
            release(holds)
            holds = []
            reap_all(pids)
            pids = []
            for x in (w, only):
                x.settle(quiet=0.8)
        finally:
            release(holds)
            for pid in pids:
                reap(pid)
            for x in (w, only, top):
                assert x.stop() == 0, x.stderr
        a = lines_of(w.events, la, port)
        assert a and all(e["netns"] == ino and e["netns_name"] == ns.name
                         for e in a), a
        assert_owner(a, cg.docker, cg.docker_name, "client in namespace")
        b = lines_of(w.events, lb, port)
        assert b and all(e["netns"] == own and e["netns_name"] is None
                         for e in b), b
        assert_owner(b, cg.pod, cg.pod_name, "client in our namespace")
        mine = [e for e in w.events if e["netns"] == ino]
        assert sorted(map(key, only.events)) == sorted(map(key, mine)), only.events
        assert len(mine) < len(w.events), w.events


def moving_server(cg, made_in, moved_to, port, out, go):
    """Listens in cgroup made_in, moves to moved_to when told, accepts
    one client, and holds it until told again."""
    cg.join(made_in)
    ls = listen_on(socket.AF_INET, "127.0.0.1", port)
    out.send({"pid": os.getpid()})
    go.recv()
    cg.join(moved_to)
    c, peer = ls.accept()
    out.send({"accepted": peer[1]})
    go.recv()
    c.close()
    ls.close()


def holding_client(cg, rel, port, out, go):
    """In cgroup rel: connects, and holds the connection until told."""
    cg.join(rel)
    c = socket.create_connection(("127.0.0.1", port))
    out.send({"lport": c.getsockname()[1]})
    go.recv()
    c.close()


def states_json(*args):
    p = subprocess.run([CONNTRACE, "states", "--json", *args],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def check_owner_cgroups(cg, port, spid, acc, queued, clients, walk):
    """ls and states, with owners from one walk, against the cgroups the
    sockets' makers and holders were in."""
    env = dict(os.environ, CONNTRACE_OWNER_WALK=walk)
    mine = "sport = %d or dport = %d" % (port, port)

    def rows(*args):
        p = subprocess.run([CONNTRACE, "ls", "-tan", *args], env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def keys(*args):
        return {(r["lport"], r["rport"]) for r in map(
            json.loads, rows("--json", *args).splitlines())}

    got = {(r["lport"], r["rport"]): r for r in map(
        json.loads, rows("-p", "--json", mine).splitlines())}
    owned = {(port, 0): cg.pod, (port, acc): cg.pod}
    owned.update({(c, port): cg.other for c in clients})
    assert set(got) == set(owned) | {(port, queued)}, (walk, got)
    for k, rel in owned.items():
        want = (rel, "owner", spid if rel == cg.pod else got[k]["pid"])
        assert (got[k]["cgroup"], got[k]["cgroup_of"], got[k]["pid"]) == want, \
            (walk, k, got[k])
    # Not accepted yet: no owner, so the socket's own cgroup, said so.
    q = got[(port, queued)]
    assert (q["pid"], q["cgroup"], q["container"], q["cgroup_of"]) == \
        (None, cg.docker, cg.docker_name, "socket"), (walk, q)
    assert got[(port, acc)]["container"] == cg.pod_name, (walk, got)
    ends = ["127.0.0.1:%d" % port, "127.0.0.1:%d" % acc]
    table = [l for l in rows("-p", mine).splitlines()[1:]
             if l.split()[4:6] == ends]
    assert len(table) == 1 and table[0].endswith(
        " %d/python3 %s" % (spid, cg.pod_name)), (walk, table)
    # The filters match the cgroup each row shows, with or without -p.
    in_pod = {(port, 0), (port, acc)}
    assert keys("--container", cg.pod_name, mine) == in_pod, walk
    assert keys("-p", "--container", cg.pod_name[4:], mine) == in_pod, walk
    assert keys("container %s and (%s)" % (cg.pod_name, mine)) == in_pod, walk
    assert keys("--container", cg.docker_name, mine) == {(port, queued)}, walk
    assert keys("cgroup %s and (%s)" % (cg.docker, mine)) == {(port, queued)}, walk
    assert keys("--cgroup", cg.top + "/system.slice", mine) == \
        {(c, port) for c in clients} | {(port, queued)}, walk
    groups = {g["cgroup"]: g["states"] for g in states_json(
        "--by-container", mine)["containers"]}
    assert groups == {cg.pod: {"LISTEN": 1, "ESTABLISHED": 1},
                      cg.docker: {"ESTABLISHED": 1},
                      cg.other: {"ESTABLISHED": 2}}, (walk, groups)
    counts = {c["container"]: c["count"] for c in states_json(
        "--by", "container", mine)["counts"]}
    assert counts == {cg.pod_name: 2, cg.docker_name: 1,
                      cg.other_name: 2}, (walk, counts)


def test_ls_rows_carry_the_owners_cgroup():
    """A server listens in a docker scope, then moves to a pod before
    accept(): sock_diag still gives the accepted socket the listener's
    cgroup, but ls shows, filters and counts it under its holder's, from
    either owner walk. A connection still in the accept queue has no
    holder: it keeps the socket's cgroup."""
    port = next_port()
    with Cgroups() as cg:
        pids, gos = [], []
        try:
            out, go = Pipe(), Pipe()
            gos.append(go)
            pids.append(spawn(moving_server, cg, cg.docker, cg.pod, port,
                              out, go))
            spid = out.recv()["pid"]
            clients = []
            for _ in range(2):
                cout, cgo = Pipe(), Pipe()
                gos.append(cgo)
                pids.append(spawn(holding_client, cg, cg.other, port, cout, cgo))
                clients.append(cout.recv()["lport"])
            go.send("move and accept")
            acc = out.recv()["accepted"]
            queued = [c for c in clients if c != acc][0]
            # Without -p no owner is looked for: the socket's own cgroup.
            plain = {(r["lport"], r["rport"]): r for r in ls_rows(
                "-a", "sport = %d" % port)}
            assert {k: (r["cgroup"], r["cgroup_of"]) for k, r in plain.items()} == {
                k: (cg.docker, "socket") for k in
                ((port, 0), (port, acc), (port, queued))}, plain
            for walk in ("bpf", "proc"):
                check_owner_cgroups(cg, port, spid, acc, queued, clients, walk)
        finally:
            for g in gos:
                try:
                    g.send("go")
                except OSError:
                    pass
            for pid in reversed(pids):
                reap(pid)
