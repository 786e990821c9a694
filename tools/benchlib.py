# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""What the benchmark scripts share: running a bench so that a signal or an
error always ends in its cleanup."""
import os
import signal
import sys

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(Exception):
    pass


def read_file(path, default=""):
    """A file's text, or default if it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def env_int(prog, name, default, lo, hi):
    """An environment setting as a whole number in lo..hi; exits if bad."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        sys.exit(f"{prog}: {name}={raw!r} is not a whole number")
    if not lo <= v <= hi:
        sys.exit(f"{prog}: {name}={v} is outside {lo}..{hi}")
    return v


def _ignore_stop_signals():
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def run_guarded(bench, name, errors=(RuntimeError,)):
    """Runs bench.run(), then bench.cleanup() whatever happens. Returns the
    exit status: 0, 1 on one of `errors`, 130 when interrupted."""
    def on_signal(sig, frame):
        # Once: the cleanup that follows must not be cut short.
        _ignore_stop_signals()
        raise Interrupted(signal.Signals(sig).name)

    # Set even if the caller ignored them (a background job ignores SIGINT):
    # handled signals are reset to the default in the children.
    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    try:
        bench.run()
    except Interrupted as e:
        print(f"{name}: interrupted ({e}), stopping", file=sys.stderr)
        return 130
    except errors as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    finally:
        _ignore_stop_signals()
        bench.cleanup()
    return 0
