"""Root integration tests for `--netns`: what is not a network namespace
is called so, and a namespace bind-mounted anywhere works even when no
process is in it.
"""
import contextlib
import ctypes
import json
import os
import socket
import subprocess
import tempfile

from ctlib import CLONE_NEWNET, CONNTRACE, _libc

MNT_DETACH = 2


def ls(*args):
    return subprocess.run([CONNTRACE, "ls", *args], capture_output=True,
                          text=True, timeout=30)


def test_not_a_network_namespace():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        # A FIFO with no writer must not block either (timeout above).
        for path in ("/dev/zero", fifo, "/etc/passwd", "/proc/self/ns/mnt",
                     "/proc/self/ns/uts", d):
            p = ls("-tn", "--netns", path)
            assert p.returncode == 2, (path, p.returncode, p.stderr)
            assert p.stderr == "conntrace: network namespace '%s': not a network namespace\n" % path, p.stderr
            assert p.stdout == "", p.stdout


def test_missing_namespace_is_input_error():
    p = ls("-tn", "--netns", "ct-no-such-namespace")
    assert p.returncode == 2 and "No such file" in p.stderr, p.stderr
    assert len(p.stderr.splitlines()) == 1, p.stderr


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


@contextlib.contextmanager
def bound_namespace():
    """A new network namespace bind-mounted on a file in a temporary
    directory (not /run/netns), with no process in it: the listener it
    holds belongs to this process, which stays in its own namespace."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ns")
        open(path, "w").close()
        mounted = False
        try:
            try:
                subprocess.run(["unshare", "--net=" + path, "true"], check=True)
            finally:
                # unshare mounts before it runs its command: a command that
                # fails still leaves the mount, which must go with the rest.
                mounted = os.stat(path).st_dev != os.stat(d).st_dev
            subprocess.run(["nsenter", "--net=" + path, "ip", "link", "set",
                            "lo", "up"], check=True)
            own = os.open("/proc/self/ns/net", os.O_RDONLY)
            target = os.open(path, os.O_RDONLY)
            try:
                setns(target)
                try:
                    ls = socket.socket()
                    ls.bind(("127.0.0.1", 0))
                    ls.listen()
                finally:
                    setns(own)
            finally:
                os.close(own)
                os.close(target)
            try:
                yield path, ls.getsockname()[1]
            finally:
                ls.close()
        finally:
            if mounted:
                _libc.umount2(path.encode(), MNT_DETACH)


def test_bind_mounted_namespace_without_process():
    with bound_namespace() as (path, port):
        ino = os.stat(path).st_ino
        procs = [p for p in os.listdir("/proc") if p.isdigit()]
        in_ns = []
        for pid in procs:
            with contextlib.suppress(OSError):
                if os.stat("/proc/%s/ns/net" % pid).st_ino == ino:
                    in_ns.append(pid)
        assert in_ns == [], "a process is in the namespace: %s" % in_ns
        p = ls("-tln", "--json", "--netns", path)
        assert p.returncode == 0, p.stderr
        rows = [json.loads(r) for r in p.stdout.splitlines()]
        assert [(r["lport"], r["netns"]) for r in rows] == [(port, ino)], rows
