#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Builds each libFuzzer target and runs it for a short, bounded time on a
# copy of its seed corpus (tests/fuzz/corpus/TARGET), so the repository is
# never written to.
# Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]
#   SECONDS per target (default 20, or $FUZZ_SECONDS); every target if none.
# The last line is always "fuzz: N passed, N failed", one count per target.
# A crash, leak, hang or broken invariant fails, and its input is kept in
# .output/fuzz-crashes/TARGET/.
set -u
cd "$(dirname "$0")/../.." || exit 2

secs=${1:-${FUZZ_SECONDS:-20}}
[ $# -gt 0 ] && shift
out=${OUTPUT:-.output}
clang=${CLANG:-clang}

# The code each target reaches, and the libraries it needs.
declare -A srcs=(
	[filter]="src/engine/filter.c src/engine/cgroup.c src/lib/grow.c src/lib/u64map.c src/output/format.c src/output/strbuf.c"
	[sockdiag]="src/engine/diag.c src/engine/sockdump.c src/engine/netns.c src/lib/u64map.c src/lib/grow.c"
	[stats]="src/engine/stats_proc.c src/engine/stats_data.c src/lib/grow.c"
	# Option parsing reaches every mode's table, and through them most of
	# the engine: a hand-kept list went stale with each new option.
	[options]="$(ls src/*/*.c | grep -v '^src/cli/main.c$' | tr '\n' ' ')"
	[recfile]="src/engine/recread.c src/engine/recmodel.c src/lib/u64map.c"
)
declare -A libs=([sockdiag]="-lmnl" [recfile]="-lz"
	[options]="-lbpf -lelf -lz -lmnl -lncurses -pthread -lmicrohttpd")
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(filter sockdiag stats options recfile)

passed=0
failed=0

# Builds and runs one target; its report goes to stdout.
run_target() {
	local t=$1 bin=$out/fuzz_$1 tmp rc dict=()

	# shellcheck disable=SC2086
	if ! "$clang" -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Iinclude -Isrc -I"$out" \
		${srcs[$t]} "tests/fuzz/fuzz_$t.c" ${libs[$t]:-} -o "$bin"; then
		echo "run.sh: cannot build $bin (needs clang and libclang-rt-dev)" >&2
		return 1
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_$t.XXXXXX") || return 1
	mkdir "$tmp/corpus" "$tmp/artifacts"
	cp "tests/fuzz/corpus/$t/"* "$tmp/corpus/"
	# A dictionary of the grammar's words reaches past the first keyword.
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	"$bin" -max_total_time="$secs" -runs=50000000 -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$tmp/artifacts/" "$tmp/corpus" >"$tmp/log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$tmp/artifacts")" ]; then
		# The report of what went wrong, without libFuzzer's progress lines.
		grep -v -E '^#[0-9]+' "$tmp/log" | tail -n 60
		mkdir -p "$out/fuzz-crashes/$t"
		cp "$tmp/artifacts/"* "$out/fuzz-crashes/$t/" 2>/dev/null
		echo "run.sh: fuzz_$t failed (exit $rc); inputs in $out/fuzz-crashes/$t/" >&2
		rm -rf "$tmp"
		return 1
	fi
	grep -E '^Done' "$tmp/log" | sed "s/^/fuzz_$t: /"
	rm -rf "$tmp"
}

mkdir -p "$out" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
for t in "${targets[@]}"; do
	if [ -z "${srcs[$t]:-}" ]; then
		echo "run.sh: no fuzz target '$t' (have: ${!srcs[*]})" >&2
		failed=$((failed + 1))
	elif run_target "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
