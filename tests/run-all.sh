#!/bin/bash
# Runs every test suite and ends with one summary line for all of them.
set -u
cd "$(dirname "$0")/.." || exit 2

total_pass=0
total_fail=0
total_skip=0
status=0

run_suite() {
	local name=$1 out rc line
	shift
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc)"
		total_fail=$((total_fail + 1))
		status=1
		return
	fi
	total_pass=$((total_pass + $(echo "$line" | sed -E 's/^[a-z-]+: ([0-9]+) passed.*/\1/')))
	total_fail=$((total_fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
	case $line in
	*skipped*) total_skip=$((total_skip + $(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/'))) ;;
	esac
	[ "$rc" -eq 0 ] || status=1
}

run_suite layers tools/check-layers.py
run_suite unit tests/run-unit.sh .output/tests/test_*
run_suite fuzz env OUTPUT=.output tests/fuzz/run.sh 5
run_suite sanitize tests/run-sanitized.sh .output-san
run_suite integration tests/integration/run.sh
run_suite kmatrix tests/kmatrix/run.sh quick
run_suite kmatrix-cleanup tests/kmatrix/test-cleanup.sh

echo "all: $total_pass passed, $total_fail failed"
# Apart, so that the line above reads the same with and without skips.
[ "$total_skip" -eq 0 ] || echo "all: $total_skip skipped (named above)"
exit $status
