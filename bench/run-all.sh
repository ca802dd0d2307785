#!/usr/bin/env bash
# Runs the whole benchmark set of bench/README.md against a router built
# from this tree and prints one Markdown table row per run.
#
#   bash bench/run-all.sh            # 10 s runs
#   DURATION=3s bash bench/run-all.sh  # a smoke test
#
# Each run gets a freshly started router (so one run's grown heap does not
# hide the next one's memory), started with the open-file limit raised to
# NOFILE (or the hard limit if that is lower: the 50,000-session run then
# reports the limit and fails; bench/idle-cluster.sh, run after it,
# spreads the 50,000 over three processes). Environment: DURATION (10s), PORT (18080),
# RSPORT (18081, RawSocket), NOFILE (200000), BIN (bin/), SKIP_50K=1 to
# leave out the 50,000-session run. The router's connection caps are off
# (--max-connections -1 --max-connections-per-ip -1): every session of the
# load tool comes from 127.0.0.1, over the default cap of 1,000 per address.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
PORT=${PORT:-18080}
RSPORT=${RSPORT:-18081}
NOFILE=${NOFILE:-200000}
BIN=${BIN:-bin}

mkdir -p "$BIN"
go build -o "$BIN/junction" ./cmd/junction
go build -o "$BIN/load" ./bench/load

router_pid=
start_router() { # start_router LISTEN_ADDRESS
	(
		ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
		exec "$BIN/junction" router --listen "$1" --rawsocket "127.0.0.1:$RSPORT" \
			--max-connections -1 --max-connections-per-ip -1 --log-level warn
	) >"$BIN/router.log" 2>&1 &
	router_pid=$!
	# Some shells fork once more for the subshell: measure the router
	# itself, not the shell waiting for it.
	for _ in $(seq 50); do
		if [ "$(cat "/proc/$router_pid/comm" 2>/dev/null)" = junction ]; then
			break
		fi
		child=$(pgrep -P "$router_pid" -n -x junction || true)
		if [ -n "$child" ]; then
			router_pid=$child
			break
		fi
		sleep 0.1
	done
	for _ in $(seq 100); do
		if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "router did not start; see $BIN/router.log" >&2
	exit 1
}
stop_router() {
	kill "$router_pid" 2>/dev/null || true
	wait "$router_pid" 2>/dev/null || true
	while kill -0 "$router_pid" 2>/dev/null; do
		sleep 0.1
	done
}
trap stop_router EXIT

echo "| Run | Command | Throughput | Latency p50 / p99 / p99.9 / max | Router CPU per op (cores) | Load CPU per op (cores) | Router RSS per session | Busier side |"
echo "|---|---|---|---|---|---|---|---|"

# run NAME LISTEN ARGS...: one run against a fresh router.
run() {
	local name=$1 listen=$2
	shift 2
	start_router "$listen"
	local args=("$@" -pid "$router_pid" -json)
	local out
	if ! out=$("$BIN/load" "${args[@]}" 2>&1); then
		echo "| $name | \`bin/load $*\` | FAILED: $(echo "$out" | tail -1) | | | | | |"
		stop_router
		return 0
	fi
	echo "$out" | tail -1 | jq -r --arg name "$name" --arg cmd "bin/load $*" '
		def f(x; n): (x * pow(10; n) | round) / pow(10; n);
		(if .mode == "rpc" then "\(.calls_per_s | round) calls/s"
		 elif .mode == "pubsub" then "\(.delivered_per_s | round) events/s, \(.lost) lost"
		 else "\(.sessions) sessions in \(f(.connect_seconds; 1)) s" end) as $tput
		| (if .latency then "\(f(.latency.p50_ms; 2)) / \(f(.latency.p99_ms; 2)) / \(f(.latency.p999_ms; 2)) / \(f(.latency.max_ms; 2)) ms" else "" end) as $lat
		| (if .floor then "\($lat); floor p99: Go \(f(.floor.go_rtt.p99_ms; 2)), blocking \(f(.floor.blocking_rtt.p99_ms; 2)) ms" else $lat end) as $lat
		| (if .mode == "idle" then "\(f(.bytes_per_session / 1024; 1)) KiB" else "" end) as $mem
		| "| \($name) | `\($cmd)` | \($tput) | \($lat) | \(f(.cpu.router_cpu_us_per_op; 2)) µs/\(.cpu.op) (\(f(.cpu.router_cores; 2))) | \(f(.cpu.load_cpu_us_per_op; 2)) µs/\(.cpu.op) (\(f(.cpu.load_cores; 2))) | \($mem) | \(if .cpu.router_cores >= .cpu.load_cores then "router" else "load tool" end) |"'
	stop_router
}

WS=ws://127.0.0.1:$PORT/ws
LOCAL=127.0.0.1:$PORT
run "rpc json 8×16" "$LOCAL" -url "$WS" -mode rpc -serializer json -callers 8 -inflight 16 -duration "$DURATION"
run "rpc msgpack 8×16" "$LOCAL" -url "$WS" -mode rpc -serializer msgpack -callers 8 -inflight 16 -duration "$DURATION"
run "rpc cbor 8×16" "$LOCAL" -url "$WS" -mode rpc -serializer cbor -callers 8 -inflight 16 -duration "$DURATION"
run "rpc json 8×16 RawSocket" "$LOCAL" -url "tcp://127.0.0.1:$RSPORT" -mode rpc -serializer json -callers 8 -inflight 16 -duration "$DURATION"
run "pubsub 100 subs" "$LOCAL" -url "$WS" -mode pubsub -subs 100 -pubs 1 -duration "$DURATION"
run "pubsub 1000 subs" "$LOCAL" -url "$WS" -mode pubsub -subs 1000 -pubs 1 -duration "$DURATION"
# The light-load run carries the machine's floor: a loopback round trip
# between two idle Go processes, and between two threads blocked in
# read(2), timed at the same cadence just before (bench/load -floor).
run "pubsub 100 subs, 200 events/s" "$LOCAL" -url "$WS" -mode pubsub -subs 100 -pubs 1 -rate 200 -duration "$DURATION" -floor 1000
run "idle 10,000" "$LOCAL" -url "$WS" -mode idle -sessions 10000
if [ -z "${SKIP_50K:-}" ]; then
	# Past ~28,000 connections to one address and port, sessions go to
	# 127.0.0.1-3, so the router listens on every address for this run.
	run "idle 50,000" "0.0.0.0:$PORT" -url "$WS" -mode idle -sessions 50000 -spread 3 -dial-timeout 30s -settle 5s
	# The same 50,000 over three nodes of a cluster on this machine: each
	# process then holds a third of the descriptors, which is what fits
	# under a hard open-file limit of 20,000.
	echo
	echo "idle 50,000 over a 3-node cluster (bash bench/idle-cluster.sh):"
	echo
	BIN=$BIN bash bench/idle-cluster.sh || echo "FAILED"
fi
