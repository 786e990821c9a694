#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# The kernel matrix: boots Debian-packaged kernels under QEMU and runs
# conntrace's integration tests inside, once per hook family that kernel
# must load, so that paths this machine cannot attach (fexit, kprobes) are
# proven to count right where they do attach.
#
#   tests/kmatrix/run.sh [quick|full]
#   tests/kmatrix/run.sh cmd 'COMMAND'   (one shell command in the guest)
#   tests/kmatrix/run.sh kernels         (the kernel packages it would boot)
#
# quick: `conntrace hooks`, then the I/O-hook and owner tests with each
# hook family forced; full: the whole integration suite unforced as well.
# KMATRIX_KERNELS names kernel packages (default: Debian 12's own cloud
# kernel; "all": the whole matrix); KMATRIX_TIMEOUT bounds each guest in
# seconds (1500, full: 3600); KMATRIX_ACCEL is QEMU's -accel. Everything is
# cached under $OUTPUT/kmatrix; nothing is installed but the packages
# tools/install-deps.sh names. Ends with "kmatrix: N passed, M failed, K
# skipped" (tests of every kernel; a step that is not the suite counts as
# one). A signal or a failure stops QEMU and removes the run's files.
set -u
cd "$(dirname "$0")/../.." || exit 2
SET=${1:-quick}
CMD=${2:-}
case $SET in
quick|full|kernels) ;;
cmd) [ -n "$CMD" ] || { echo "usage: $0 cmd 'COMMAND'" >&2; exit 2; } ;;
*) echo "usage: $0 [quick|full|kernels] | $0 cmd 'COMMAND'" >&2; exit 2 ;;
esac
BUILD=${OUTPUT:-.output}/kmatrix
# The whole suite ran 1,500 s and more on 6.1 with the host busy.
case $SET in
full) TIMEOUT=${KMATRIX_TIMEOUT:-3600} ;;
*) TIMEOUT=${KMATRIX_TIMEOUT:-1500} ;;
esac
PY=/usr/bin/python3	# the system's Python: the guest gets its files

passed=0
failed=0
skipped=0
work=""		# this run's files: the guest's root (stage), archives, QEMU's pid
stage=""
timer=""	# the `timeout` that runs QEMU

# Stops this run's QEMU and removes its files, however the run ends.
cleanup() {
	local pid qemu
	if [ -n "$timer" ]; then
		kill "$timer" 2>/dev/null	# timeout passes the signal to QEMU
		wait "$timer" 2>/dev/null
		timer=""
	fi
	# QEMU outliving its timeout (a timeout killed by SIGKILL) still goes.
	if [ -n "$work" ] && pid=$(cat "$work/qemu.pid" 2>/dev/null); then
		qemu=$(readlink -f "$(command -v qemu-system-x86_64)")
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$qemu" ] &&
			kill -9 "$pid" 2>/dev/null
	fi
	[ -n "$work" ] && rm -rf "$work"
	work="" stage=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

die() {
	echo "kmatrix: $*" >&2
	echo "kmatrix: $passed passed, $((failed + 1)) failed, $skipped skipped"
	exit 1
}

# Debian 12's kernel: what its cloud metapackage depends on, unsigned
# (the same kernel without the Secure Boot signature, smaller to fetch).
default_kernels() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1-unsigned/p' | head -1
}

# "all": Debian 12's kernel and the newest backported 6.12, which has the
# sock_*_length tracepoints 6.1 lacks.
all_kernels() {
	default_kernels
	apt-cache search --names-only '^linux-image-6\.12\..*-cloud-amd64-unsigned$' 2>/dev/null |
		awk '{ print $1 }' | sort -V | tail -1
}

# Unpacks kernel package $1 into $BUILD/$1 once; prints that directory.
fetch_kernel() {
	local pkg=$1 dir=$BUILD/$1 deb
	if [ ! -e "$dir/.done" ]; then
		rm -rf "$dir" "$BUILD/dl" && mkdir -p "$dir" "$BUILD/dl" || return 1
		(cd "$BUILD/dl" && apt-get download -q -o APT::Sandbox::User=root \
			"$pkg" >/dev/null) || return 1
		deb=$(ls "$BUILD"/dl/*.deb) && dpkg-deb -x "$deb" "$dir" || return 1
		rm -rf "$BUILD/dl"
		touch "$dir/.done"
	fi
	echo "$dir"
}

# Copies file $1 (an absolute path) to the same path in the stage.
stage_file() {
	: "${stage:?}"	# never the host's own root
	mkdir -p "$stage$(dirname "$1")" && cp -L "$1" "$stage$1"
}

# Copies the shared libraries that programs $@ load into the stage.
copy_libs() {
	local lib
	for lib in $(ldd "$@" 2>/dev/null |
		     awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ { print $1 }' |
		     sort -u); do
		[ -e "$stage$lib" ] || stage_file "$lib" || return 1
	done
}

# Copies programs (absolute paths) and their libraries into the stage.
copy_with_libs() {
	local f
	for f in "$@"; do
		stage_file "$f" || return 1
	done
	copy_libs "$@"
}

# The guest's userland, from this machine's own packages: busybox for
# the basics, the system's Python without what tests never import, the
# iproute2 and bpftool the tests call.
stage_userland() {
	local pyver pylib
	: "${stage:?}"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp} || return 1
	cp /bin/busybox "$stage/bin/busybox" || return 1
	for a in sh mount insmod reboot cut cat sync ls env sleep mkdir rm true false head; do
		ln -s busybox "$stage/bin/$a"
	done
	ln -s ../../bin/busybox "$stage/usr/bin/env"	# scripts' #!/usr/bin/env
	pyver=$(readlink -f $PY) || return 1
	pylib=/usr/lib/$(basename "$pyver")
	copy_with_libs "$pyver" /usr/sbin/ip /usr/bin/ss /usr/bin/nstat \
		/usr/sbin/bpftool /usr/bin/nsenter /usr/bin/unshare /bin/bash || return 1
	# The names that ls -r and the tests' resolver look up.
	cp /etc/services /etc/hosts "$stage/etc/" || return 1
	ln -s "$(basename "$pyver")" "$stage/usr/bin/python3"
	mkdir -p "$stage/usr/lib" && cp -a "$pylib" "$stage/usr/lib/" || return 1
	(cd "$stage$pylib" && rm -rf test config-* idlelib tkinter ensurepip \
		lib2to3 pydoc_data distutils ./*-packages) || return 1
	copy_libs "$pylib"/lib-dynload/*.so || return 1
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
}

# conntrace, its tests, the modules the tests need, the init and the plan.
stage_conntrace() {
	local kdir=$1 m n out f
	: "${stage:?}"
	mkdir -p "$stage/ct/tests" "$stage/kmatrix/modules" || return 1
	cp conntrace "$stage/ct/conntrace" && copy_libs conntrace || return 1
	cp -r tests/integration "$stage/ct/tests/" || return 1
	# What the docs and export tests read besides the binary.
	mkdir -p "$stage/ct/tools" &&
		cp -r doc dist conntrace.8 conntrace.bash-completion "$stage/ct/" &&
		cp tools/gen-docs.py "$stage/ct/tools/" || return 1
	rm -rf "$stage/ct/tests/integration/__pycache__"
	# In load order (no modprobe in the guest): veth for the namespace
	# tests, sock_diag for ss and for conntrace's time-wait lookups.
	# Newer packages compress them (6.12: .ko.xz); busybox's insmod
	# wants them plain.
	n=10
	for m in drivers/net/veth net/ipv4/inet_diag net/ipv4/tcp_diag \
		 net/ipv4/udp_diag net/unix/unix_diag; do
		out=$stage/kmatrix/modules/$n-$(basename $m).ko
		for f in "$kdir"/lib/modules/*/kernel/$m.ko*; do
			case $f in
			*.xz) xz -dc "$f" >"$out" ;;
			*) cp "$f" "$out" ;;
			esac || return 1
		done
		[ -s "$out" ] || { echo "kmatrix: no module $m in $kdir" >&2; return 1; }
		n=$((n + 1))
	done
	cp tests/kmatrix/init "$stage/init" || return 1
	plan >"$stage/kmatrix/plan"
}

# What each kernel must offer: the hook families it must load, forced one
# by one so that a family that stops loading fails here instead of
# falling back quietly, and what `conntrace hooks --json` must say.
variants() {
	case $(basename "$kernel_dir") in
	linux-image-6.1.*)
		# No sock_*_length tracepoints (6.3): fexit, then kprobes.
		echo "state=tp_btf,io=fentry state=raw_tp,io=fentry"
		echo "state=tp_btf,io=kprobe state=tracepoint,io=kprobe" ;;
	*)
		echo "state=tp_btf,io=tp_btf state=raw_tp,io=raw_tp"
		echo "state=tracepoint,io=tracepoint" ;;
	esac
}

probe_expect() {
	case $(basename "$kernel_dir") in
	linux-image-6.1.*)
		echo "j['io_tp_btf'] is False and j['io_tracefs'] is False and j['chosen']['io'] == 'fentry'" ;;
	*)
		echo "j['io_tp_btf'] is True and j['chosen']['io'] == 'tp_btf'" ;;
	esac
}

# One step a line: name, CONNTRACE_HOOKS or -, command (tab-separated).
plan() {
	local v py="python3 -u tests/integration/run.py"
	# One run of hooks (tens of seconds under emulation): its trials, then
	# the check of what the probe says.
	local check="import json, sys; j = json.load(sys.stdin); \
[print('hooks: %s %s: load %s, attach %s' % (t['for'], t['hook'], t['load'], t['attach'])) for t in j['trials']]; \
print('hooks: chosen', j['chosen']); sys.exit(0 if $(probe_expect) else 1)"
	if [ "$SET" = cmd ]; then
		printf 'cmd\t-\t%s\n' "$CMD"
		return
	fi
	printf 'hooks\t-\t./conntrace hooks --json | python3 -c "%s"\n' "$check"
	for v in $(variants); do
		printf '%s\t%s\t%s iohook top.socket_shared_after_fork top.prefork_children_own_their_bytes\n' \
			"$v" "$v" "$py"
	done
	if [ "$SET" = full ]; then
		printf 'suite\t-\t%s\n' "$py"
	fi
}

# Plain emulation runs every virtual CPU on one host thread. With a
# thread each (tcg,thread=multi), Debian's 6.12 guest oopsed in 2 of 4
# full runs (int3 in inet_sk_state_store, from connect() and close(),
# in the output tests, which attach and detach the state tracepoint
# many times): the kernel patches that call site at each attach and
# detach, and an emulated CPU apparently ran a breakpoint the patching
# had already taken out again. Never with one thread (the output tests
# ran through on 6.12 twice, once in a full run of 2,102 s).
# KMATRIX_ACCEL overrides (e.g. tcg,thread=multi).
qemu_accel() {
	if [ -n "${KMATRIX_ACCEL:-}" ]; then
		echo "$KMATRIX_ACCEL"
	elif [ -w /dev/kvm ]; then
		echo kvm
	else
		echo tcg,thread=single
	fi
}

# Packs directory $1 into cpio archive $2.
pack() {
	(cd "$1" && find . | cpio -o -H newc --quiet) >"$2.tmp" && mv "$2.tmp" "$2"
}

# The userland archive, rebuilt only when this script or Python changed.
userland_cpio() {
	local out=$BUILD/userland.cpio
	if [ ! "$out" -nt tests/kmatrix/run.sh ] || [ ! "$out" -nt "$PY" ]; then
		stage_userland && pack "$stage" "$out" && rm -rf "${stage:?}"/* ||
			return 1
	fi
}

# Boots userland and stage as one initramfs (the kernel unpacks
# concatenated archives in turn); the serial console goes to $1.
# In the background, so that a signal to this script stops it (cleanup).
boot() {
	local log=$1 initrd=$work/initrd.cpio rc
	pack "$stage" "$work/conntrace.cpio" &&
		cat "$BUILD/userland.cpio" "$work/conntrace.cpio" >"$initrd" || return 1
	rm -f "$work/conntrace.cpio"
	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
		-accel "$(qemu_accel)" -cpu max -smp 2 -m 1536 \
		-kernel "$(ls "$kernel_dir"/boot/vmlinuz-*)" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 rdinit=/init" \
		-display none -monitor none -serial "file:$log" -no-reboot \
		-nic none -pidfile "$work/qemu.pid" </dev/null 9>&- &
	timer=$!
	wait "$timer"
	rc=$?
	timer=""
	return $rc
}

# Counts the guest's tests from its console log; prints the log's summary.
# A step that runs the integration suite counts its tests (its summary
# line), any other step counts as one; a step that failed without a
# failed test (a crash) counts one failure more.
tally() {
	local log=$1 name rc p f s
	if [ "$SET" = cmd ]; then
		tr -d '\r' <"$log"
	else
		grep -aE '^(KMATRIX|[a-z]+: [0-9]+ passed|FAIL|skip |conntrace |hooks: )' "$log" | tr -d '\r'
	fi
	while read -r name rc p f s; do
		if [ "$p" = - ]; then
			[ "$rc" = rc=0 ] && p=1 f=0 || p=0 f=1
		elif [ "$rc" != rc=0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		[ "$rc" = rc=0 ] ||
			echo "kmatrix: $(basename "$kernel_dir"): step $name failed ($rc)"
		k_passed=$((k_passed + p)) k_failed=$((k_failed + f)) k_skipped=$((k_skipped + s))
	done < <(tr -d '\r' <"$log" | awk '
		/^KMATRIX step [^ ]* begin/ { p = "-"; f = 0; s = 0 }
		/^integration: [0-9]+ passed, [0-9]+ failed/ {
			p = $2; f = $4; s = ($6 == "" ? 0 : $6)
		}
		/^KMATRIX step [^ ]* rc=/ { print $3, $4, p, f, s }')
	if ! tr -d '\r' <"$log" | grep -aq '^KMATRIX end'; then
		echo "kmatrix: $(basename "$kernel_dir"): the guest did not finish (timeout ${TIMEOUT}s or crash)"
		k_failed=$((k_failed + 1))
	fi
}

# The hook families the guest's unforced run chose, from `hooks`.
chosen() {
	tr -d '\r' <"$1" | sed -n "s/^hooks: chosen {'state': '\([a-z_]*\)', 'io': '\([a-z_]*\)'.*/state \1, io \2/p" | head -1
}

run_kernel() {
	local pkg=$1 log start hooks k_passed=0 k_failed=0 k_skipped=0
	kernel_dir=$(fetch_kernel "$pkg") || die "$pkg: cannot fetch or unpack"
	work=$(mktemp -d "$BUILD/run.XXXXXX") || die "no temporary directory"
	stage=$work/root
	# The guest's root: 0755, or the tests' nobody is shut out.
	mkdir -m 755 "$stage" || die "cannot make $stage"
	userland_cpio || die "cannot stage the guest's userland"
	stage_conntrace "$kernel_dir" || die "cannot stage conntrace"
	log=$BUILD/$pkg.log
	start=$(date +%s)
	echo "== kmatrix: $pkg ($SET, $(qemu_accel))"
	boot "$log"
	echo "kmatrix: $pkg: guest ran $(($(date +%s) - start)) s"
	tally "$log"
	cleanup
	hooks=$(chosen "$log")
	echo "kmatrix: $pkg: $k_passed passed, $k_failed failed, $k_skipped skipped; hooks chosen: ${hooks:-not asked}"
	passed=$((passed + k_passed)) failed=$((failed + k_failed)) skipped=$((skipped + k_skipped))
}

kernels=${KMATRIX_KERNELS:-$(default_kernels)}
[ "$kernels" = all ] && kernels=$(all_kernels)
[ -n "$kernels" ] || die "no kernel package: set KMATRIX_KERNELS"
if [ "$SET" = kernels ]; then
	printf '%s\n' $kernels
	exit 0
fi
[ -x conntrace ] || die "build conntrace first (make)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make kmatrix installs it)"
mkdir -p "$BUILD" || die "cannot make $BUILD"
# Runs in one tree share the cache, the archives and the logs: one at a time.
exec 9>"$BUILD/.lock" && flock 9 || die "cannot lock $BUILD"
for k in $kernels; do
	run_kernel "$k"
done
echo "kmatrix: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
