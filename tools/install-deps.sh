#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Installs the Debian packages conntrace needs to build and test, skipping
# what is already there so a warm machine pays nothing. Needs only what a
# minimal Debian has (sh, apt-get, dpkg), so it is the first step on a
# fresh machine, before make exists. Run as root. Arguments name extra
# packages a target needs beyond these (make kmatrix: QEMU and cpio).
set -eu

# libc6-dev: gcc only recommends it. libclang-rt-dev: the fuzzers' runtime.
PKGS="make gcc libc6-dev clang llvm libclang-rt-dev libbpf-dev bpftool libelf-dev \
zlib1g-dev libmnl-dev libncurses-dev libcmocka-dev pkg-config iproute2 python3 procps"
# export's HTTP server; prometheus (with promtool) scrapes it in the tests.
PKGS="$PKGS libmicrohttpd-dev prometheus"
# What a caller needs besides (the kernel matrix: qemu and the guest's tools).
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
