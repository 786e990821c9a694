#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# The kernel matrix cleans up after itself: a run stopped by a signal
# while its guest runs, and a run whose guest fails, leave no QEMU and no
# run files behind. Runs the harness in a scratch output directory that
# borrows the kernel and userland caches of the real one, so that its
# QEMU and its files are told apart from any other run's.
#   tests/kmatrix/test-cleanup.sh   ends with "kmatrix-cleanup: N passed, M failed"
set -u
cd "$(dirname "$0")/../.." || exit 2
CACHE=${OUTPUT:-.output}/kmatrix
passed=0
failed=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kmatrix-cleanup.XXXXXX") || exit 2
harness=""

finish() {
	[ -n "$harness" ] && kill "$harness" 2>/dev/null && wait "$harness" 2>/dev/null
	rm -rf "$scratch"
}
trap finish EXIT

check() {	# NAME CONDITION-STATUS MESSAGE
	if [ "$2" -eq 0 ]; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1: $3"
		failed=$((failed + 1))
	fi
}

# QEMU processes whose command line names the scratch directory.
qemus() {
	local pid
	for pid in $(pgrep -x qemu-system-x86); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$scratch/" &&
			echo "$pid"
	done
}

# What a run may leave: its logs and the caches, nothing else.
leftovers() {
	find "$scratch/out/kmatrix" -mindepth 1 -maxdepth 1 \
		! -name '*.log' ! -name '.lock' ! -name 'userland.cpio' ! -type l
}

# Warms the caches once (the first kernel download and userland), then
# links them into the scratch output directory.
setup() {
	local pkg
	pkg=$(tests/kmatrix/run.sh kernels | head -1) || return 1
	[ -n "$pkg" ] || return 1
	if [ ! -e "$CACHE/$pkg/.done" ] || [ ! -e "$CACHE/userland.cpio" ]; then
		tests/kmatrix/run.sh cmd true >/dev/null || return 1
	fi
	mkdir -p "$scratch/out/kmatrix" &&
		ln -s "$(realpath "$CACHE/$pkg")" "$scratch/out/kmatrix/$pkg" &&
		cp -p "$CACHE/userland.cpio" "$scratch/out/kmatrix/"
}

# Starts the harness on a guest that sleeps, waits until the guest runs,
# sends signal $1 to the harness alone and checks what is left.
stopped_by() {
	local sig=$1 name="stopped by SIG$1" t rc
	# A shell cannot trap a signal that was ignored when it started. A
	# background job starts with SIGINT ignored unless job control is on,
	# and this script may itself have started with it ignored (run under
	# nohup, or in the background of a script): both are undone here.
	set -m
	OUTPUT=$scratch/out KMATRIX_TIMEOUT=600 env --default-signal=INT,TERM \
		tests/kmatrix/run.sh cmd 'echo KMATRIX sleeping; sleep 500' \
		>"$scratch/harness.out" 2>&1 &
	harness=$!
	set +m
	for t in $(seq 240); do
		grep -aqs '^KMATRIX sleeping' "$scratch"/out/kmatrix/*.log && break
		kill -0 "$harness" 2>/dev/null || break
		sleep 0.5
	done
	grep -aqs '^KMATRIX sleeping' "$scratch"/out/kmatrix/*.log
	check "$name: the guest was running" $? "$(tail -3 "$scratch/harness.out")"
	[ -n "$(qemus)" ]
	check "$name: its QEMU was found" $? "no QEMU names $scratch"
	kill -"$sig" "$harness"
	for t in $(seq 60); do
		kill -0 "$harness" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$harness" 2>/dev/null
	check "$name: the harness ended within 30 s" $((!$?)) "still running"
	wait "$harness"
	rc=$?
	harness=""
	[ "$rc" -ne 0 ]
	check "$name: it failed (exit $rc)" $? "exit 0 after a signal"
	sleep 1
	[ -z "$(qemus)" ]
	check "$name: no QEMU left" $? "QEMU still running: $(qemus)"
	[ -z "$(leftovers)" ]
	check "$name: no run files left" $? "$(leftovers)"
	rm -f "$scratch"/out/kmatrix/*.log
}

# A guest whose step fails: the run fails and still cleans up.
guest_fails() {
	local name="a failing guest" rc
	OUTPUT=$scratch/out KMATRIX_TIMEOUT=600 tests/kmatrix/run.sh cmd 'exit 3' \
		>"$scratch/harness.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && grep -q 'step cmd failed (rc=3)' "$scratch/harness.out"
	check "$name: the run failed with the step named (exit $rc)" $? \
		"$(tail -3 "$scratch/harness.out")"
	[ -z "$(qemus)" ]
	check "$name: no QEMU left" $? "QEMU still running: $(qemus)"
	[ -z "$(leftovers)" ]
	check "$name: no run files left" $? "$(leftovers)"
}

if ! setup; then
	echo "FAIL setup: cannot fetch the kernel or build the guest's userland"
	echo "kmatrix-cleanup: 0 passed, 1 failed"
	exit 1
fi
stopped_by TERM
stopped_by INT
guest_fails
echo "kmatrix-cleanup: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
