#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# make bench: what conntrace costs, in one run on one machine (README,
# "Benchmarks"). The Python parts, each skipped with its variable set to 0:
#   tools/bench_run.py    iperf3 throughput untraced / floor / watch / top /
#                         nethogs, and run counts per send call (BENCH_RUN)
#   tools/bench_ls.py     ls -tanp against ss and netstat, 10 to 100,000
#                         sockets, many processes and one (BENCH_LS)
#   tools/bench_top.py    top's own CPU and memory per second of refresh with
#                         1,000 to 100,000 connections open (BENCH_TOP)
#   tools/bench_churn.py  connections per second traced by watch and untraced,
#                         and printed + lost == caused (BENCH_CHURN)
#   tools/bench_events.py watch's event hooks: ns per run, and iperf3 with
#                         them attached (BENCH_EVENTS)
#   tools/bench_export.py export's CPU between scrapes and its scrape time
#                         and CPU per scrape, 1,000 to 100,000 connections (BENCH_EXPORT)
#   tools/bench_record.py the recorder's CPU and bytes per transition, and
#                         replay speed (BENCH_RECORD)
# Results in $OUTPUT/bench.json. Run as root from anywhere.
#
# This script installs what the bench needs (only what is missing), then
# runs the Python parts and, whatever happens to them, stops every process
# they started and restores kernel.bpf_stats_enabled.
# shellcheck disable=SC2317  # stop_pid and cleanup run from a trap
set -eu

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF, kernel.bpf_stats_enabled)" >&2
	exit 1
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
for p in iperf3 nethogs bpftool python3 net-tools; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bench: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || true
	# nethogs and net-tools (netstat) are optional: the bench goes on
	# without them.
	for p in $missing; do
		apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
			echo "bench: could not install $p" >&2
	done
fi
for p in iperf3 bpftool python3; do
	if ! command -v "$p" >/dev/null; then
		echo "bench: $p is missing and could not be installed" >&2
		exit 1
	fi
done
[ -x ./conntrace ] || { echo "bench: build conntrace first (make)" >&2; exit 1; }

STATS=/proc/sys/kernel/bpf_stats_enabled
stats_orig=$(cat "$STATS" 2>/dev/null || echo "")
tmp=$(mktemp -d /tmp/conntrace-bench.XXXXXX)
py=""

# Stop a process we started, if it is still the one we started.
stop_pid() { # pid comm
	local _ state
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 0
	kill -INT "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		# Gone, or a zombie whose parent (the Python part) died.
		state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
		[ "${state%% *}" = Z ] && return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

cleanup() {
	local _ pid comm
	trap - EXIT INT TERM HUP
	if [ -n "$py" ] && kill -0 "$py" 2>/dev/null; then
		# The Python part stops its own children; give it the time to.
		kill -TERM "$py" 2>/dev/null || true
		for _ in $(seq 200); do
			kill -0 "$py" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$py" 2>/dev/null || true
	fi
	# Last resort, for anything it could not stop.
	if [ -f "$tmp/pids" ]; then
		while read -r pid comm; do
			stop_pid "$pid" "$comm"
		done <"$tmp/pids"
	fi
	if [ -n "$stats_orig" ] && [ "$(cat "$STATS")" != "$stats_orig" ]; then
		echo "$stats_orig" >"$STATS"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Runs one Python part in the background, so that a signal to this shell
# is acted on at once, not after the whole part; its status in part_rc.
run_part() { # script
	part_rc=0
	BENCH_PIDFILE="$tmp/pids" BENCH_TMP="$tmp" python3 "$1" &
	py=$!
	wait "$py" || part_rc=$?
	py=""
}

rc=0
for part in run ls top churn events export record; do
	var="BENCH_${part^^}"
	if [ "${!var:-1}" = 0 ]; then
		echo "bench: $part skipped ($var=0)" >&2
		continue
	fi
	run_part "tools/bench_$part.py"
	# Interrupted: stop here. A failed part still lets the others run.
	if [ "$part_rc" -eq 130 ]; then
		exit 130
	fi
	if [ "$rc" -eq 0 ]; then
		rc=$part_rc
	fi
done
exit "$rc"
