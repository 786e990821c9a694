#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# The README's first command: installs whatever is missing (make and the
# compilers included), builds conntrace, and runs it with the arguments
# given, e.g. `tools/run.sh top --once`. It needs only what a minimal
# Debian has (sh, apt-get, dpkg). Run it as root, from any directory.
set -eu

top=$(dirname "$0")/..
"$top/tools/install-deps.sh"
make --no-print-directory -C "$top" -j"$(nproc)"
exec "$top/conntrace" "$@"
