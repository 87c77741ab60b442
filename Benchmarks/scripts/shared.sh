#!/usr/bin/env bash
# The shared tier in `make bench`: three release sidecars in front of one fake upstream,
# two (A, B) on a throwaway PostgreSQL, one (C) without. Prints, from one run:
# - the latency a miss adds with shared.url set (A) against not set (C);
# - the shared hit: a request stored through A, asked of B (a local miss, a PostgreSQL hit);
# - hit throughput of A and B together.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-16}
upstream_port=${BENCH_UPSTREAM_PORT:-18100}
pg_port=${BENCH_PG_PORT:-18432}
a_port=18767; b_port=18768; c_port=18769

(cd "$root" && swift build -c release --product cachette)
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream)

. "$here/common.sh"
start_upstream

start_postgres "$pg_port"
stop_pg() { stop_postgres; cleanup; }
trap stop_pg EXIT
url=$pg_url

cat >"$work/shared.yaml" <<YAML
logging:
  level: warning
upstream:
  base_url: http://127.0.0.1:$upstream_port/v1
YAML
for replica in a:$a_port:"$url" b:$b_port:"$url" c:$c_port:; do
  IFS=: read -r name port rest <<<"$replica"
  shared=()
  [ -n "$rest" ] && shared=(--shared "$url")
  "$root/.build/release/cachette" serve --config "$work/shared.yaml" --port "$port" --db "$work/$name.sqlite" \
    "${shared[@]}" >"$work/$name.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$c_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
for port in $a_port $b_port; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"state":"up"' && break; sleep 0.1; done
done

count() { awk '/requests in/ {print $1}' "$1"; }
miss() { # name port
  BENCH_RUN="$1-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" "http://127.0.0.1:$2/v1/chat/completions" >"$work/$1.txt"
}

echo
echo "== miss path, 1 connection, $duration each: direct, without shared.url (C), with it (A), twice in turn"
miss direct $upstream_port
for round in 1 2; do
  miss "plain$round" $c_port
  miss "shared$round" $a_port
done

echo
echo "== shared hit: the requests A stored, asked of B (a local miss, a PostgreSQL hit), 1 connection"
sleep 1  # A's last batch
stored=$(count "$work/shared2.txt")
BENCH_SCRIPTS="$here" BENCH_RUN="shared2-$$" BENCH_LIMIT=$((stored * 9 / 10)) wrk -t1 -c1 -d"$duration" --latency -s "$here/shared-hit.lua" \
  "http://127.0.0.1:$b_port/v1/chat/completions" >"$work/shared-hit.txt"

echo
echo "== hits through A and B at once, $connections connections in all, $duration"
wrk -t1 -c$((connections / 2)) -d2s -s "$here/hit.lua" "http://127.0.0.1:$a_port/v1/chat/completions" >/dev/null
wrk -t1 -c$((connections / 2)) -d2s -s "$here/hit.lua" "http://127.0.0.1:$b_port/v1/chat/completions" >/dev/null
wrk -t1 -c$((connections / 2)) -d"$duration" --latency -s "$here/hit.lua" "http://127.0.0.1:$a_port/v1/chat/completions" >"$work/hit-a.txt" &
wrk -t1 -c$((connections / 2)) -d"$duration" --latency -s "$here/hit.lua" "http://127.0.0.1:$b_port/v1/chat/completions" >"$work/hit-b.txt"
wait "$!" 2>/dev/null || true

echo
echo "== summary (shared tier)"
printf 'direct            p50 %6s us   p99 %6s us\n' "$(percentile "$work/direct.txt" 50)" "$(percentile "$work/direct.txt" 99)"
for round in 1 2; do
  for kind in plain shared; do
    f="$work/$kind$round.txt"
    printf '%-17s p50 %6s us   p99 %6s us   adds %5.0f us at p50\n' "miss, $kind" "$(percentile "$f" 50)" "$(percentile "$f" 99)" \
      "$(awk -v a="$(percentile "$f" 50)" -v b="$(percentile "$work/direct.txt" 50)" 'BEGIN { print a - b }')"
  done
done
printf 'shared hit        p50 %6s us   p99 %6s us   (%s requests)\n' "$(percentile "$work/shared-hit.txt" 50)" \
  "$(percentile "$work/shared-hit.txt" 99)" "$(count "$work/shared-hit.txt")"
printf 'hits, A + B       %.0f req/s   (A %s, B %s)\n' "$(awk -v a="$(rps "$work/hit-a.txt")" -v b="$(rps "$work/hit-b.txt")" 'BEGIN { print a + b }')" \
  "$(rps "$work/hit-a.txt")" "$(rps "$work/hit-b.txt")"
echo "B's shared reads: $(curl -fs "http://127.0.0.1:$b_port/stats" | grep -o '"shared":{[^}]*}')"
