#!/usr/bin/env bash
# Does the shared tier flap when the machine is busy? Two release sidecars share one
# throwaway PostgreSQL at the default shared.timeout (250 ms). For SHARED_LOAD_SECONDS,
# each takes unique misses (a shared read, a flight claim and a write per request) from
# 8 connections while busy loops (SHARED_LOAD_BURNERS, default one per core) hold every
# core. Prints, per sidecar: the requests
# served, the shared reads that were late, how often the tier went down, and its state
# at the end. CACHETTE_BINARY measures another build (an older commit, say); run it
# twice, old and new, in one session to compare.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${SHARED_LOAD_SECONDS:-20}
burn=${SHARED_LOAD_BURNERS:-$(nproc)}
upstream_port=${BENCH_UPSTREAM_PORT:-18100}
pg_port=${BENCH_PG_PORT:-18433}
ports=(18771 18772)

if [ -z "${CACHETTE_BINARY:-}" ]; then
  (cd "$root" && swift build -c release --product cachette)
  CACHETTE_BINARY="$root/.build/release/cachette"
fi
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream)

. "$here/common.sh"
start_upstream

start_postgres "$pg_port"
burners=()
stop_all() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_postgres
  cleanup
}
trap stop_all EXIT
url=$pg_url

printf 'logging:\n  level: info\nupstream:\n  base_url: http://127.0.0.1:%s/v1\n' "$upstream_port" >"$work/shared.yaml"
for i in 0 1; do
  "$CACHETTE_BINARY" serve --config "$work/shared.yaml" --port "${ports[$i]}" --db "$work/r$i.sqlite" --shared "$url" >"$work/r$i.log" 2>&1 &
  pids+=($!)
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"state":"up"' && break; sleep 0.1; done
done

for _ in $(seq 1 "$burn"); do
  (while :; do :; done) &
  burners+=($!)
done
for i in 0 1; do
  BENCH_RUN="load$i-$$" wrk -t1 -c8 -d"${seconds}s" -s "$here/miss.lua" "http://127.0.0.1:${ports[$i]}/v1/chat/completions" >"$work/load$i.txt" &
done
wait_for_wrk() { while pgrep -f "wrk -t1 -c8 -d${seconds}s" >/dev/null; do sleep 0.5; done; }
wait_for_wrk
for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
burners=()

echo "== shared tier under CPU load: $(basename "$(dirname "$(dirname "$CACHETTE_BINARY")")")/$(basename "$CACHETTE_BINARY"), ${seconds}s, $burn busy loops"
for i in 0 1; do
  shared=$(curl -fs "http://127.0.0.1:${ports[$i]}/stats" | grep -o '"shared":{[^}]*}' || echo '?')
  printf 'replica %s: %6s requests   went down %s times   %s\n' "$i" "$(awk '/requests in/ {print $1}' "$work/load$i.txt")" \
    "$(grep -c 'shared tier is down' "$work/r$i.log" || true)" "$shared"
done
