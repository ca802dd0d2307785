#!/usr/bin/env bash
# The cluster benchmarks of bench/README.md: the same loads on one router,
# on one router with cluster flags and no peer, and across two nodes of a
# cluster (subscribers and callees on node B, publishers and callers on
# node A), one Markdown table row per run, every run against freshly
# started routers. Router CPU per operation is both nodes' CPU together.
#
#   bash bench/cluster.sh              # 10 s runs
#   DURATION=3s bash bench/cluster.sh  # a smoke test
#
# Environment: DURATION (10s), BIN (bin/). Ports 18180-18183 (WebSocket)
# and 18190-18191 (routes) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
BIN=${BIN:-bin}
mkdir -p "$BIN"
go build -o "$BIN/junction" ./cmd/junction
go build -o "$BIN/load" ./bench/load

pids=()
start() { # start PORT [cluster flags...]: a router in the background; sets last_pid
	local port=$1
	shift
	"$BIN/junction" router --listen "127.0.0.1:$port" --max-connections -1 --max-connections-per-ip -1 \
		--log-level warn "$@" >>"$BIN/cluster.log" 2>&1 &
	last_pid=$!
	pids+=("$last_pid")
	for _ in $(seq 100); do
		if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "router on $port did not start; see $BIN/cluster.log" >&2
	exit 1
}
wait_nodes() { # wait_nodes PORT N: until the node on PORT sees N nodes
	for _ in $(seq 100); do
		if [ "$(curl -fs "http://127.0.0.1:$1/healthz" | jq '.nodes | length')" = "$2" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "node on $1 does not see $2 nodes" >&2
	exit 1
}
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap stop_all EXIT

echo "| Run | Command | Throughput | Latency p50 / p99 / p99.9 / max | Router CPU per op (cores) | Load CPU per op (cores) | Busier side |"
echo "|---|---|---|---|---|---|---|"

row() { # row NAME CMD JSON
	echo "$3" | tail -1 | jq -r --arg name "$1" --arg cmd "$2" '
		def f(x; n): (x * pow(10; n) | round) / pow(10; n);
		(if .mode == "rpc" then "\(.calls_per_s | round) calls/s\(if .errors then ", errors \(.errors | tostring)" else "" end)"
		 else "\(.delivered_per_s | round) events/s, \(.lost) lost" end) as $tput
		| "\(f(.latency.p50_ms; 3)) / \(f(.latency.p99_ms; 2)) / \(f(.latency.p999_ms; 2)) / \(f(.latency.max_ms; 2)) ms" as $lat
		| "| \($name) | `\($cmd)` | \($tput) | \($lat) | \(f(.cpu.router_cpu_us_per_op; 2)) µs/\(.cpu.op) (\(f(.cpu.router_cores; 2))) | \(f(.cpu.load_cpu_us_per_op; 2)) µs/\(.cpu.op) (\(f(.cpu.load_cores; 2))) | \(if .cpu.router_cores >= .cpu.load_cores then "routers" else "load tool" end) |"'
}

# bench NAME LOAD-ARGS...: the load against one router, one clustered
# router alone, and two nodes.
bench() {
	local name=$1 out
	shift
	start 18180
	out=$("$BIN/load" -url ws://127.0.0.1:18180/ws "$@" -pid "$last_pid" -json 2>&1) || out='{"mode":"failed"}'
	row "$name, one router" "bin/load $*" "$out"
	stop_all

	start 18181 --cluster-listen 127.0.0.1:18190 --node-name solo
	out=$("$BIN/load" -url ws://127.0.0.1:18181/ws "$@" -pid "$last_pid" -json 2>&1) || out='{"mode":"failed"}'
	row "$name, one clustered node" "bin/load $*" "$out"
	stop_all

	start 18182 --cluster-listen 127.0.0.1:18190 --node-name a
	local a=$last_pid
	start 18183 --cluster-listen 127.0.0.1:18191 --peers 127.0.0.1:18190 --node-name b
	local b=$last_pid
	wait_nodes 18182 2
	wait_nodes 18183 2
	out=$("$BIN/load" -url ws://127.0.0.1:18183/ws -to ws://127.0.0.1:18182/ws "$@" -pid "$b" -peer-pid "$a" -json 2>&1) ||
		out='{"mode":"failed"}'
	row "$name, across two nodes" "bin/load -to ... $*" "$out"
	stop_all
}

bench "pubsub 100 subs" -mode pubsub -subs 100 -pubs 1 -duration "$DURATION"
bench "pubsub 100 subs, 200 events/s" -mode pubsub -subs 100 -pubs 1 -rate 200 -duration "$DURATION"
bench "rpc 8×16" -mode rpc -callers 8 -inflight 16 -duration "$DURATION"
bench "rpc 1×1 (light load)" -mode rpc -callers 1 -inflight 1 -duration "$DURATION"
