#!/bin/bash
# Root integration tests: real BPF programs, real traffic on loopback and
# between network namespaces the tests create.
set -u
cd "$(dirname "$0")"
exec python3 -u run.py "$@"
