#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# The sanitizer pass of make test: the unit tests and a sample of every
# mode, built by `make SANITIZE=1` (AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer), with TCP traffic on loopback while they run.
# A sanitizer report fails, as does a mode that ends badly or prints nothing.
# Usage: tests/run-sanitized.sh [DIR]   (the build, default .output-san)
# The last line is always "sanitize: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2

dir=${1:-.output-san}
bin=$dir/conntrace
passed=0
failed=0
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-sanitized.XXXXXX") || exit 2
traffic=""
cleanup() {
	[ -z "$traffic" ] || kill "$traffic" 2>/dev/null
	[ -z "$traffic" ] || wait "$traffic" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# Unit tests: their own runner counts them.
unit_out=$(tests/run-unit.sh "$dir"/tests/test_* 2>&1)
unit_line=$(echo "$unit_out" | tail -n 1)
if [[ $unit_line =~ ^unit:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] &&
	[ "${BASH_REMATCH[2]}" -eq 0 ]; then
	passed=$((passed + BASH_REMATCH[1]))
	echo "ok   unit tests under the sanitizers ($unit_line)"
else
	echo "$unit_out" | grep -v -E '^\[ *(RUN|OK) *\]'
	fail "unit tests under the sanitizers" "${unit_line:-no summary}"
fi

if [ "$(id -u)" -ne 0 ]; then
	fail "modes" "need root"
	echo "sanitize: $passed passed, $failed failed"
	exit 1
fi

# Loopback traffic until killed (or 60 s): a listener and a client that
# connects, sends, reads the echo and closes, over and over. It prints its
# port first.
python3 -u - >"$tmp/port" 2>"$tmp/traffic.err" <<'EOF' &
import socket, threading, time
ls = socket.create_server(("127.0.0.1", 0))
print(ls.getsockname()[1])
def serve():
    while True:
        c, _ = ls.accept()
        c.sendall(c.recv(4096))
        c.close()
threading.Thread(target=serve, daemon=True).start()
end = time.monotonic() + 60
while time.monotonic() < end:
    with socket.create_connection(("127.0.0.1", ls.getsockname()[1])) as c:
        c.sendall(b"x" * 1000)
        c.recv(4096)
    time.sleep(0.02)
EOF
traffic=$!
for _ in $(seq 50); do
	[ -s "$tmp/port" ] && break
	sleep 0.1
done
port=$(head -n 1 "$tmp/port")
if [ -z "$port" ]; then
	fail "traffic" "did not start: $(cat "$tmp/traffic.err")"
	echo "sanitize: $passed passed, $failed failed"
	exit 1
fi

# Runs `conntrace ARGS` under the sanitizers. It passes if it exits 0, says
# nothing a sanitizer says, and its output contains the extended regular
# expression want.
sample() {
	local want=$1 rc
	shift
	timeout --kill-after=5 60 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	verdict "$*" "$rc" "$want"
}

# Passes name if rc is 0, $tmp/err holds no sanitizer report and $tmp/out
# has a line matching each extended regular expression given.
verdict() {
	local name=$1 rc=$2 want
	shift 2
	if grep -q -E 'Sanitizer|runtime error:' "$tmp/err"; then
		cat "$tmp/err"
		fail "$name" "sanitizer report"
		return
	elif [ "$rc" -ne 0 ]; then
		tail -n 20 "$tmp/err"
		fail "$name" "exit $rc"
		return
	fi
	for want; do
		if ! grep -q -E -- "$want" "$tmp/out"; then
			head -n 20 "$tmp/out"
			fail "$name" "no output matching '$want'"
			return
		fi
	done
	pass "$name"
}

sample "\"lport\":$port" ls -tanpeoim --json
sample 'LISTEN' states
sample 'Tcp' stats -d 0.3 --count 2 -z
sample 'lo' stats --interfaces -d 0.3 --count 2
sample '"processes"' top --once --json
sample ":$port" watch --duration 3
sample ":$port" watch -L --duration 3
sample 'state' hooks
sample "localhost:$port" ls -tHr --interval 0.2 --count 2
sample '"count"' states --by comm --json

# export runs until stopped: two scrapes in either format, then SIGTERM.
export_sample() {
	local pid rc eport=""
	"$bin" export --listen 127.0.0.1:0 --interval 0.5 >/dev/null 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 100); do
		eport=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$tmp/err")
		[ -n "$eport" ] && break
		sleep 0.1
	done
	sleep 1.2
	python3 - "$eport" >"$tmp/out" 2>&1 <<'EOF2'
import sys, urllib.request
for accept in ("text/plain", "application/openmetrics-text"):
    req = urllib.request.Request("http://127.0.0.1:%s/metrics" % sys.argv[1],
                                 headers={"Accept": accept})
    print(urllib.request.urlopen(req, timeout=5).read().decode())
EOF2
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	verdict export "$rc" '^# EOF' '^conntrace_tcp_transitions_total'
}
export_sample

# The recorder, then its file in every view of replay.
rec_rc=0
timeout --kill-after=5 60 "$bin" record -w "$tmp/rec" --duration 3 -d 0.5 \
	2>"$tmp/err" || rec_rc=$?
if grep -q -E 'Sanitizer|runtime error:' "$tmp/err" || [ "$rec_rc" -ne 0 ]; then
	tail -n 20 "$tmp/err"
	fail "record" "exit $rec_rc, or a sanitizer report"
else
	pass "record -w FILE --duration 3"
fi
sample ":$port" replay "$tmp/rec"
sample '"processes"' replay "$tmp/rec" top --json -d 0.5
sample 'LISTEN' replay "$tmp/rec" ls
sample 'TCP STATE' replay "$tmp/rec" states -d 0.5
sample 'transitions' replay --info "$tmp/rec"

echo "sanitize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
