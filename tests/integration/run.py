#!/usr/bin/env python3
"""Runs every test_* function of every tests/integration/test_*.py module.
Arguments select tests whose name contains one of them."""
import glob
import importlib
import os
import sys

from ctlib import Results

HERE = os.path.dirname(os.path.abspath(__file__))


def collect():
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod = importlib.import_module(os.path.basename(path)[:-3])
        for name in sorted(dir(mod)):
            fn = getattr(mod, name)
            if name.startswith("test_") and callable(fn):
                yield "%s.%s" % (mod.__name__[5:], name[5:]), fn


def main():
    if os.geteuid() != 0:
        print("integration tests need root")
        print("integration: 0 passed, 1 failed")
        return 1
    only = sys.argv[1:]
    res = Results()
    for name, fn in collect():
        if not only or any(o in name for o in only):
            res.run(name, fn)
    print("integration: %d passed, %d failed, %d skipped" %
          (res.passed, res.failed, res.skipped))
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
