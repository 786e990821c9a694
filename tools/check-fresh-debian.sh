#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Checks the README's Quick start on a fresh, minimal Debian 12: builds a
# root filesystem with debootstrap (its default variant), adds git, clones
# this repository's current branch (committed work only) into /root of it,
# and runs the two README commands there, as written, as root, in a chroot.
# For whoever changes the setup; make test does not run it (it downloads a
# root filesystem and takes minutes).
#
# Usage: tools/check-fresh-debian.sh [--mirror URL] [--lock FILE] [--keep]
#   --mirror URL  Debian mirror for debootstrap (default: the first Debian
#                 archive in this machine's apt sources)
#   --lock FILE   hold FILE (flock) while the README commands run, since
#                 they load BPF programs and make network namespaces (not
#                 during debootstrap)
#   --keep        keep the root filesystem (it is printed) for inspection
# Run as root. Everything it mounts is unmounted at the end, whatever happens.
set -euo pipefail

mirror=""
lock=""
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--mirror) mirror=$2; shift 2 ;;
	--lock) lock=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--mirror URL] [--lock FILE] [--keep]" >&2; exit 2 ;;
	esac
done

say() { echo "check-fresh-debian: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
branch=$(git -C "$src" rev-parse --abbrev-ref HEAD)
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
	say "uncommitted changes are not checked: only $branch as committed"

if [ -z "$mirror" ]; then
	# The first archive whose path ends in /debian, in either sources format.
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -E 's,^[[:space:]]*(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z]+://[^[:space:]]*/debian)/?([[:space:]].*)?$,\3,p' |
		head -n 1) || true	# some of the files may not exist
	[ -n "$mirror" ] || die "no Debian mirror in the apt sources: give --mirror"
fi
command -v debootstrap >/dev/null || {
	say "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

root=$(mktemp -d "${TMPDIR:-/tmp}/ct-fresh-debian.XXXXXX")
chmod 755 "$root"	# apt downloads as _apt, which must reach its cache
mounts=(proc sys dev run)
run_pid=""

# Recursively and lazily, so that one busy mount cannot keep the others.
unmount_all() {
	local m
	for m in "${mounts[@]}"; do
		! mountpoint -q "$root/$m" || umount -R -l "$root/$m"
	done
	! mountpoint -q "$root" || umount -R -l "$root"
}

cleanup() {
	local rc=$?
	if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
		kill -KILL "$run_pid"
		wait "$run_pid" 2>/dev/null
	fi
	unmount_all
	if grep -q " $root/" /proc/self/mounts; then
		say "still mounted under $root; not removed"
	elif [ "$keep" -eq 1 ]; then
		say "kept $root"
	else
		rm -rf --one-file-system "$root"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A shell command in the root, as a login there would run it: a clean
# environment, and not the lock's descriptor.
login=(chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	/bin/sh -c)
in_root() {
	"${login[@]}" "$1" 9>&-
}

lock_take() {
	[ -z "$lock" ] && return 0
	exec 9>>"$lock"
	flock 9
}

lock_drop() {
	[ -z "$lock" ] && return 0
	flock -u 9
	exec 9>&-
}

say "debootstrap bookworm from $mirror into $root"
debootstrap bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
	die "debootstrap failed: $(tail -n 5 "$root.debootstrap.log")"
rm -f "$root.debootstrap.log"

# What a booted machine has: a / that is a mount point (ip netns makes it
# a slave mount, which fails on a plain directory), /proc, /sys (with BTF
# and bpffs under it), /dev, and a /run of its own for the tests' network
# namespaces.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount -t tmpfs -o mode=755 tmpfs "$root/run"

say "adding git"
in_root 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null'
for tool in make cc gcc clang sudo; do
	! in_root "command -v $tool" >/dev/null ||
		die "$tool is already there: not a minimal root"
done

git clone -q --no-hardlinks -b "$branch" "$src" "$root/root/conntrace"
chmod 700 "$root/root"

# README command 1 starts conntrace, which runs until Ctrl-C: once it says
# it is tracing, send what Ctrl-C sends. chroot, env, sh, tools/run.sh and
# conntrace exec each other, so $! is conntrace by then.
say "README command 1: tools/run.sh (install, build, run)"
log1=$root/root/run.log
lock_take
"${login[@]}" 'cd /root/conntrace && exec tools/run.sh' >"$log1" 2>&1 9>&- &
run_pid=$!
for _ in $(seq 3600); do
	grep -q "tracing" "$log1" && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.5
done
if grep -q "tracing" "$log1"; then
	sleep 2
	kill -INT "$run_pid"
fi
rc=0
wait "$run_pid" || rc=$?
run_pid=""
lock_drop
if ! grep -q "tracing" "$log1" || [ "$rc" -ne 0 ]; then
	tail -n 30 "$log1" >&2
	die "README command 1 failed (exit $rc)"
fi
say "README command 1 passed: conntrace traced and ended cleanly on SIGINT"

say "README command 2: tools/install-deps.sh && make test"
log2=$root/root/test.log
rc=0
lock_take
in_root 'cd /root/conntrace && tools/install-deps.sh && make test' \
	>"$log2" 2>&1 || rc=$?
lock_drop
tail -n 5 "$log2" >&2
if ! grep -q -E '^all: [0-9]+ passed, 0 failed$' "$log2" || [ "$rc" -ne 0 ]; then
	grep -E '^(FAIL|==)' "$log2" >&2 || true
	die "README command 2 failed (exit $rc); log in $log2 (use --keep)"
fi
leftover=$(ls "$root/run/netns" 2>/dev/null || true)
[ -z "$leftover" ] || die "network namespaces left behind: $leftover"
say "README command 2 passed"
say "both README commands pass on a fresh Debian 12 from $branch"
