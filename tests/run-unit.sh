#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Runs cmocka test binaries and sums up their results.
# Usage: tests/run-unit.sh BINARY...
# The last line is always "unit: N passed, N failed", counting single tests.
# Exits non-zero if any test failed or any binary crashed or hung.
set -u

# A binary that runs longer than this is stopped and counted as failed.
TIMEOUT_S=${UNIT_TIMEOUT:-120}

# Other cmocka output formats (TAP, XML, subunit) would hide the counts.
unset CMOCKA_MESSAGE_OUTPUT

tests_passed=0
tests_failed=0
tests_skipped=0
bins_passed=0
bins_failed=()

run=(timeout --kill-after=5 "$TIMEOUT_S")
have_stdbuf=$(command -v stdbuf)

# True if bin loads a sanitizer runtime as a shared library (gcc does):
# that runtime must be the first library loaded, and stdbuf preloads its own.
sanitized() {
	ldd "$1" 2>/dev/null | grep -q -E 'lib(a|ub|t|l)san\.so'
}

log=$(mktemp "${TMPDIR:-/tmp}/run-unit.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT

# Prints the N of the first "[  WHAT  ] N test(s)" summary line in the log.
count() {
	sed -n -E "s/^\[ *$1 *\] ([0-9]+) test\(s\).*/\1/p" "$log" | head -n 1
}

if [ $# -eq 0 ]; then
	echo "run-unit.sh: no test binaries given" >&2
	echo "unit: 0 passed, 0 failed"
	exit 2
fi

for bin in "$@"; do
	name=$(basename "$bin")
	echo "=== $name"
	if [ ! -x "$bin" ]; then
		echo "run-unit.sh: $bin: not an executable file" >&2
		tests_failed=$((tests_failed + 1))
		bins_failed+=("$name (missing)")
		continue
	fi

	# Line-buffered, so a crash loses no output and both streams stay in
	# order. A sanitizer's report goes to stderr unbuffered anyway.
	if [ -n "$have_stdbuf" ] && ! sanitized "$bin"; then
		"${run[@]}" stdbuf -oL -eL "$bin" 2>&1 | tee "$log"
	else
		"${run[@]}" "$bin" 2>&1 | tee "$log"
	fi
	rc=${PIPESTATUS[0]}

	planned=$(sed -n -E 's/^\[=+\] Running ([0-9]+) test\(s\).*/\1/p' "$log" | head -n 1)
	passed=$(count "PASSED")
	failed=$(count "FAILED")
	skipped=$(count "SKIPPED")
	# cmocka always ends a finished run with a PASSED line, even for 0.
	finished=${passed:+yes}
	passed=${passed:-0}
	failed=${failed:-0}
	skipped=${skipped:-0}

	why=""
	if [ "$rc" -eq 124 ]; then
		why="timed out after ${TIMEOUT_S}s"
	elif [ -z "$finished" ] && [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ -z "$finished" ]; then
		why="exit status $rc before the end of its run"
	elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		why="exit status $rc without a failed test"
	fi
	if [ -n "$why" ]; then
		# No summary: count the passes seen; the rest died with the binary.
		[ -n "$finished" ] || passed=$(grep -c '^\[ *OK *\]' "$log")
		lost=$(( ${planned:-0} - passed - skipped ))
		[ "$lost" -ge 1 ] || lost=1
		[ "$lost" -ge "$failed" ] || lost=$failed
		failed=$lost
		echo "run-unit.sh: $name: $why" >&2
	fi

	tests_passed=$((tests_passed + passed))
	tests_failed=$((tests_failed + failed))
	tests_skipped=$((tests_skipped + skipped))
	if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
		bins_passed=$((bins_passed + 1))
	else
		bins_failed+=("$name${why:+ ($why)}")
	fi
done

echo
echo "binaries: $bins_passed passed, ${#bins_failed[@]} failed"
for b in "${bins_failed[@]+"${bins_failed[@]}"}"; do
	echo "  FAILED: $b"
done
[ "$tests_skipped" -eq 0 ] || echo "skipped: $tests_skipped test(s)"
echo "unit: $tests_passed passed, $tests_failed failed"

[ "$tests_failed" -eq 0 ] && [ "${#bins_failed[@]}" -eq 0 ]
