"""make deb: the package installs into a scratch root and onto this machine,
its conntrace runs (help, version, and hooks, which loads the real
programs), and it removes cleanly from both."""
import glob
import os
import shutil
import subprocess
import tempfile

from ctlib import ROOT, require_tools


def sh(*cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, (cmd, p.stdout, p.stderr)
    return p.stdout


def build_deb():
    # The build and the package tools, not the kernel: a kernel-matrix
    # guest has neither.
    require_tools("make", "dpkg-deb", "dpkg")
    out = sh("make", "-s", "--no-print-directory", "deb", cwd=ROOT)
    deb = os.path.join(ROOT, out.strip().splitlines()[-1])
    assert deb.endswith(".deb") and os.path.isfile(deb), out
    return deb


def test_deb_installs_runs_and_removes():
    deb = build_deb()
    fields = sh("dpkg-deb", "-f", deb, "Package", "Version", "Depends")
    assert "Package: conntrace" in fields, fields
    depends = fields.split("Depends:", 1)[1].strip()
    for dep in ("libbpf", "libelf", "libc6"):
        assert dep in depends, depends
    # Every dependency is a package installed on this machine.
    for dep in depends.split(", "):
        status = sh("dpkg-query", "-W", "-f=${Status}", dep.split()[0])
        assert status.endswith("installed"), (dep, status)
    files = sh("dpkg-deb", "-c", deb)
    for path in ("./usr/sbin/conntrace", "./usr/share/man/man8/conntrace.8.gz",
                 "./usr/share/bash-completion/completions/conntrace"):
        assert path in files, (path, files)

    root = tempfile.mkdtemp(prefix="ct-deb-")
    try:
        admin = os.path.join(root, "var", "lib", "dpkg")
        for d in ("info", "updates"):
            os.makedirs(os.path.join(admin, d))
        open(os.path.join(admin, "status"), "w").close()
        # The scratch database knows no libraries; the machine's has them.
        dpkg = ["dpkg", "--instdir=" + root, "--admindir=" + admin,
                "--force-script-chrootless", "--force-not-root"]
        sh(*dpkg, "--force-depends", "-i", deb)
        binary = os.path.join(root, "usr", "sbin", "conntrace")
        assert "Usage: conntrace" in sh(binary, "--help")
        assert sh(binary, "--version").split() == ["conntrace",
                                                   fields.split("Version:")[1].split()[0]]
        assert '"trials"' in sh(binary, "hooks", "--json")
        if shutil.which("man"):
            page = sh("man", "-l", os.path.join(root, "usr/share/man/man8/conntrace.8.gz"),
                      env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
            assert "EXIT STATUS" in page
        sh(*dpkg, "-r", "conntrace")
        left = [p for p in glob.glob(os.path.join(root, "usr", "**"), recursive=True)
                if os.path.isfile(p)]
        assert left == [], left
        status = subprocess.run([*dpkg, "-s", "conntrace"], capture_output=True,
                                text=True)
        assert "install ok installed" not in status.stdout, status.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


def installed(name):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name],
                       capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.endswith(" installed")


def test_deb_installs_on_this_machine_and_purges():
    """What a user does: dpkg -i, run it, dpkg --purge; nothing left."""
    deb = build_deb()
    # A conntrace the machine already has is not ours to replace.
    assert not installed("conntrace"), "a conntrace package is installed here"
    paths = ["/usr/sbin/conntrace", "/usr/share/man/man8/conntrace.8.gz",
             "/usr/share/bash-completion/completions/conntrace",
             "/usr/lib/systemd/system/conntrace-export.service"]
    try:
        sh("dpkg", "-i", deb)
        assert installed("conntrace")
        for p in paths:
            assert os.path.isfile(p), p
        with open(paths[3]) as f:
            assert "ExecStart=/usr/sbin/conntrace export" in f.read()
        version = sh("dpkg-deb", "-f", deb, "Version").strip()
        assert sh(paths[0], "--version").split() == ["conntrace", version]
        assert '"trials"' in sh(paths[0], "hooks", "--json")
    finally:
        subprocess.run(["dpkg", "--purge", "conntrace"], capture_output=True,
                       timeout=120)
    assert not installed("conntrace")
    for p in paths:
        assert not os.path.exists(p), p
