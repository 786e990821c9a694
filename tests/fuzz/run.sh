#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# Builds the filter fuzzer and runs it for a short, bounded time on a copy
# of the seed corpus, so the repository is never written to.
# Usage: tests/fuzz/run.sh [SECONDS]   (default 20, or $FUZZ_SECONDS)
# The last line is always "fuzz: N passed, N failed". A crash, leak, hang
# or broken invariant fails, and its input is kept in .output/fuzz-crashes/.
set -u
cd "$(dirname "$0")/../.."

secs=${1:-${FUZZ_SECONDS:-20}}
out=${OUTPUT:-.output}
bin=$out/fuzz_filter
clang=${CLANG:-clang}

summary() {
	echo "fuzz: $1 passed, $2 failed"
}

mkdir -p "$out" || { summary 0 1; exit 1; }
if ! "$clang" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iinclude -Isrc \
	src/engine/filter.c src/output/format.c src/output/strbuf.c tests/fuzz/fuzz_filter.c -o "$bin"; then
	echo "run.sh: cannot build $bin (needs clang and libclang-rt-dev)" >&2
	summary 0 1
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_filter.XXXXXX") || { summary 0 1; exit 1; }
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus" "$tmp/artifacts"
cp tests/fuzz/corpus/* "$tmp/corpus/"

# The grammar's words, so mutations reach past the first keyword.
cat >"$tmp/filter.dict" <<'EOF'
"state "
"exclude "
"sport"
"dport"
"port"
"src"
"dst"
"and"
"or"
"not"
"&&"
"||"
"!="
"<="
">="
"=="
" eq "
" neq "
" lt "
" ge "
"("
")"
"#"
"\x0a"
":443"
"*:"
"[::1]"
"::ffff:"
"10.0.0.0/8"
"2001:db8::/32"
"/33"
"/129"
"established"
"syn-recv"
"fin-wait-1"
"listening"
"connected"
"synchronized"
"bucket"
"big"
"all"
EOF

"$bin" -max_total_time="$secs" -runs=50000000 -max_len=2048 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-dict="$tmp/filter.dict" -artifact_prefix="$tmp/artifacts/" \
	"$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$tmp/artifacts")" ]; then
	# The report of what went wrong, without libFuzzer's progress lines.
	grep -v -E '^#[0-9]+' "$tmp/log" | tail -n 60
	mkdir -p "$out/fuzz-crashes"
	cp "$tmp/artifacts/"* "$out/fuzz-crashes/" 2>/dev/null
	echo "run.sh: fuzzer failed (exit $rc); inputs in $out/fuzz-crashes/" >&2
	summary 0 1
	exit 1
fi
grep -E '^(Done|stat::)' "$tmp/log"
summary 1 0
