#!/bin/sh
# Regenerates vmlinux/<arch>/vmlinux.h from a kernel's BTF. CO-RE makes one
# header good for every kernel, so this is only needed to use types that the
# committed header lacks. Usage: tools/gen-vmlinux.sh [BTF file]
set -eu

btf=${1:-/sys/kernel/btf/vmlinux}
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
out="$(dirname "$0")/../vmlinux/$arch/vmlinux.h"

mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out from $btf"
