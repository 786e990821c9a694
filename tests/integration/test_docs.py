"""The man page and the bash completion against the option tables: every
mode `conntrace help` lists and every option each mode's --help lists
(--help is made from the tables) must be in both, and the completion must
complete them. Needs no root, but runs with the other integration tests."""
import os
import re
import shutil
import subprocess

from ctlib import CONNTRACE, ROOT

MAN = os.path.join(ROOT, "conntrace.8")
COMPLETION = os.path.join(ROOT, "conntrace.bash-completion")


def helptext(*args):
    p = subprocess.run([CONNTRACE, *args], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def modes():
    text = helptext("help").split("Modes:\n", 1)[1].split("\n\n", 1)[0]
    found = [line.split()[0] for line in text.splitlines() if line.strip()]
    assert "watch" in found and "ls" in found, found
    return found


def options(mode):
    """(short letter or None, long name) of each option line of --help."""
    opts = []
    for line in helptext(mode, "--help").splitlines():
        m = re.match(r"^  (?:-(\S), |    )--([a-z0-9-]+)", line)
        if m:
            opts.append((m.group(1), m.group(2)))
    assert ("h", "help") in opts, (mode, opts)
    return opts


def test_man_page_names_every_mode_and_option():
    page = open(MAN).read()
    sections = re.split(r"^\.SS ", page, flags=re.M)
    by_mode = {s.split("\n", 1)[0]: s for s in sections[1:]}
    for mode in modes():
        assert mode in by_mode, "no section for mode %s" % mode
        for short, name in options(mode):
            assert "\\fB\\-\\-%s\\fR" % name in by_mode[mode], (mode, name)
            if short:
                assert "\\fB\\-%s\\fR" % short in by_mode[mode], (mode, short)
    for title in ("FILTERS", "JSON OUTPUT", "EXIT STATUS", "OVERHEAD"):
        assert re.search(r"^\.SH %s$" % title, page, re.M), title


def test_man_page_is_current_and_renders():
    # Made again from the binary: the same bytes, so it cannot lag the tables.
    p = subprocess.run([os.path.join(ROOT, "tools", "gen-docs.py"), CONNTRACE,
                        "man", os.path.join(ROOT, "doc", "conntrace.8.in")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == open(MAN).read()
    if not shutil.which("man"):
        return
    r = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, MANWIDTH="80",
                                                       MANPAGER="cat", PAGER="cat"))
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    assert "conntrace ls" in r.stdout and "EXIT STATUS" in r.stdout


def complete(line):
    """What the completion offers for the last word of line."""
    words = line.split(" ")
    script = ('source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _conntrace; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script, "bash", COMPLETION, *words],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_completion_of_modes_options_and_values():
    assert set(modes()) <= complete("conntrace "), complete("conntrace ")
    for mode in modes():
        got = complete("conntrace %s --" % mode)
        want = {"--" + name for _, name in options(mode)}
        assert want <= got, (mode, want - got)
    # Watch's options without a mode, as conntrace runs it.
    assert {"--lifetime", "--json"} <= complete("conntrace --")
    assert {"--help", "--human"} <= complete("conntrace ls --h")
    assert complete("conntrace states --by ") == {"raddr", "rport", "lport",
                                                 "comm", "state", "container",
                                                 "process"}
    assert complete("conntrace top --view h") == {"hosts"}
    assert str(os.getpid()) in complete("conntrace watch --pid ")
    assert {"established"} <= complete("conntrace ls state est")
    assert {"time-wait"} <= complete("conntrace state time")
