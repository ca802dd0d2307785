#!/usr/bin/env bash
# Idle sessions over the nodes of one cluster on this machine: NODES
# routers clustered through their embedded NATS servers, and as many load
# tools, started together, each opening SESSIONS/NODES idle sessions on
# its own node and reading that node's RSS after SETTLE. Every node
# mirrors every session of its peers, so a node's RSS growth divided by
# its own sessions is the cluster's memory per session; the last line
# gives it for the whole cluster.
#
# It is how 50,000 sessions are measured where one process may not open
# 50,000 files: a router holds one descriptor per session and the load
# tool one per client, and raising the hard limit needs CAP_SYS_RESOURCE.
#
#   bash bench/idle-cluster.sh                      # 50,000 over 3 nodes
#   SESSIONS=3000 SETTLE=5s bash bench/idle-cluster.sh   # a smoke test
#
# Environment: SESSIONS (50000), NODES (3), SETTLE (30s), BIN (bin/).
# Ports 18280+i (WebSocket) and 18290+i (routes) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS=${SESSIONS:-50000}
NODES=${NODES:-3}
SETTLE=${SETTLE:-30s}
BIN=${BIN:-bin}
per=$(((SESSIONS + NODES - 1) / NODES))
files=$((per + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$files" ]; then
	echo "each node and load tool needs $files open files, over the hard limit of $(ulimit -Hn): use more NODES" >&2
	exit 1
fi
mkdir -p "$BIN"
go build -o "$BIN/junction" ./cmd/junction
go build -o "$BIN/load" ./bench/load

pids=()
loads=()
stop_all() {
	for p in "${loads[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${loads[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

: >"$BIN/idle-cluster.log"
for i in $(seq 0 $((NODES - 1))); do
	peers=()
	if [ "$i" -gt 0 ]; then
		peers=(--peers 127.0.0.1:18290)
	fi
	(
		ulimit -n "$files"
		exec "$BIN/junction" router --listen "127.0.0.1:$((18280 + i))" --max-connections -1 --max-connections-per-ip -1 \
			--log-level warn --cluster-listen "127.0.0.1:$((18290 + i))" --node-name "n$i" "${peers[@]}"
	) >>"$BIN/idle-cluster.log" 2>&1 &
	pids+=("$!")
done
for i in $(seq 0 $((NODES - 1))); do
	for _ in $(seq 300); do
		if [ "$(curl -fs "http://127.0.0.1:$((18280 + i))/healthz" | jq '.nodes | length' 2>/dev/null)" = "$NODES" ]; then
			continue 2
		fi
		sleep 0.1
	done
	echo "node n$i does not see $NODES nodes; see $BIN/idle-cluster.log" >&2
	exit 1
done

for i in $(seq 0 $((NODES - 1))); do
	(
		ulimit -n "$files"
		exec "$BIN/load" -url "ws://127.0.0.1:$((18280 + i))/ws" -mode idle -sessions "$per" -settle "$SETTLE" \
			-dial-timeout 30s -pid "${pids[$i]}" -json
	) >"$BIN/idle-cluster.$i.out" 2>&1 &
	loads+=("$!")
done
failed=0
for p in "${loads[@]}"; do
	wait "$p" || failed=1
done
loads=()
if [ "$failed" != 0 ]; then
	tail -n 3 "$BIN"/idle-cluster.*.out >&2
	exit 1
fi

echo "| Node | Sessions | Opened in | RSS before → after | RSS growth per own session |"
echo "|---|---|---|---|---|"
for i in $(seq 0 $((NODES - 1))); do
	tail -1 "$BIN/idle-cluster.$i.out" | jq -r --arg node "n$i" '
		def mib(x): ((x / 1048576 * 10 | round) / 10);
		"| \($node) | \(.sessions) | \((.connect_seconds * 10 | round) / 10) s | \(mib(.router_rss_before)) → \(mib(.router_rss_after)) MiB | \((.bytes_per_session / 1024 * 10 | round) / 10) KiB |"'
done
# Each node read its RSS SETTLE after its own sessions were open; the
# readings hold all of the cluster's sessions if every node had opened
# its sessions by then (the tools started together).
for i in $(seq 0 $((NODES - 1))); do tail -1 "$BIN/idle-cluster.$i.out"; done | jq -rs --arg settle "$SETTLE" '
	def secs(s): s | if endswith("ms") then (.[:-2] | tonumber) / 1000 elif endswith("m") then (.[:-1] | tonumber) * 60 else (.[:-1] | tonumber) end;
	(map(.connect_seconds) | max - min) as $skew
	| (map(.disconnects) | add) as $lost
	| (map(.sessions) | add) as $n
	| (map(.router_rss_after - .router_rss_before) | add) as $grown
	| if $skew >= secs($settle) then "the nodes did not all hold their sessions at once (connect times differ by \($skew) s, over SETTLE): raise SETTLE" | halt_error(1)
	  elif $lost > 0 then "\($lost) sessions ended before the readings" | halt_error(1)
	  else "cluster: \($n) sessions on \(length) nodes, RSS grown \(($grown / 1048576 * 10 | round) / 10) MiB in all, \(($grown / $n / 1024 * 100 | round) / 100) KiB per session" end'
