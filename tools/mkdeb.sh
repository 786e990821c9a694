#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Builds a Debian package of the built tree (make deb): what make install
# installs, under /usr, with Depends on the packages that hold the
# libraries the binary links. Offline: dpkg-deb and the local dpkg database
# only. Writes $OUTPUT/conntrace_VERSION_ARCH.deb and prints its path.
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}

version=$(./conntrace --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
stage=$OUTPUT/deb/conntrace
rm -rf "$OUTPUT/deb"
mkdir -p "$stage/DEBIAN"
make --no-print-directory -s install DESTDIR="$stage" PREFIX=/usr >/dev/null
# Debian keeps man pages compressed; -n: the same bytes every build.
gzip -9n "$stage/usr/share/man/man8/conntrace.8"

# The package of each library the loader resolves (libc6 among them).
depends=$(ldd ./conntrace | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
	while read -r lib; do
		real=$(readlink -f "$lib")
		dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null ||
			{ echo "mkdeb: no package holds $lib" >&2; exit 1; }
	done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g')
[ -n "$depends" ] || { echo "mkdeb: no library packages found" >&2; exit 1; }

size=$(du -sk "$stage" | awk '{print $1}')
cat > "$stage/DEBIAN/control" <<CONTROL
Package: conntrace
Version: $version
Architecture: $arch
Maintainer: conntrace developers <conntrace@localhost>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: which process owns each TCP connection, and what it does
 conntrace shows, with eBPF, the process that owns each TCP connection,
 its state transitions, and the bytes each process, connection and remote
 host moves; it lists sockets like ss and netstat, with their owners.
CONTROL

deb=$OUTPUT/conntrace_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
