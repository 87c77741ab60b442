#!/usr/bin/env bash
# The dashboard's endpoints in `make bench`: a release sidecar on a ledger of one
# million requests over 30 days (BENCH_LEDGER_ROWS), each endpoint asked by wrk over
# one connection. The goal: /stats/series and /stats/recent under 10 ms.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${BENCH_DURATION:-10s}
rows=${BENCH_LEDGER_ROWS:-1000000}
port=${BENCH_SIDECAR_PORT:-18770}

(cd "$root" && swift build -c release --product cachette)
. "$here/common.sh"

cat >"$work/dashboard.yaml" <<YAML
logging:
  level: warning
upstream:
  base_url: http://127.0.0.1:9/v1
YAML
serve() {
  "$root/.build/release/cachette" serve --config "$work/dashboard.yaml" --port "$port" --db "$work/ledger.sqlite" >>"$work/sidecar.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the sidecar did not start"; cat "$work/sidecar.log"; exit 1
}
# Once to create the schema, then the ledger and its sums are filled behind its back
# (as the migrations fill them from an older ledger).
serve
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
now=$(date +%s)
started=$(date +%s.%N)
sqlite3 "$work/ledger.sqlite" <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO ledger (time, route, model, outcome, prompt_tokens, completion_tokens, cached_prompt_tokens, saved_cache_tokens,
                    saved_compression_tokens, prompt_tokens_before_compression, counted, latency_ms, spent_usd, saved_usd,
                    saved_compression_usd)
SELECT $now - i * (30.0 * 86400 / $rows), '/v1/chat/completions',
       CASE i % 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' ELSE 'claude-sonnet-4-5' END,
       CASE i % 5 WHEN 0 THEN 'hit' WHEN 1 THEN 'hit' WHEN 4 THEN 'error' ELSE 'miss' END,
       900, 120, 0, CASE WHEN i % 5 < 2 THEN 1020 ELSE 0 END, 40, 940, 0, 35.0,
       CASE WHEN i % 5 < 2 THEN 0 ELSE 0.0035 END, CASE WHEN i % 5 < 2 THEN 0.0035 ELSE 0.0001 END, 0.0001
FROM n;
DELETE FROM ledger_rollup;
INSERT INTO ledger_rollup
SELECT 60, CAST(time / 60 AS INTEGER) * 60, outcome, count(*), sum(saved_cache_tokens), sum(saved_compression_tokens),
       sum(spent_usd), sum(saved_usd - saved_compression_usd), sum(saved_compression_usd)
FROM ledger GROUP BY 2, 3;
INSERT INTO ledger_rollup
SELECT 3600, CAST(time / 3600 AS INTEGER) * 3600, outcome, count(*), sum(saved_cache_tokens), sum(saved_compression_tokens),
       sum(spent_usd), sum(saved_usd - saved_compression_usd), sum(saved_compression_usd)
FROM ledger GROUP BY 2, 3;
DELETE FROM ledger_model_hours;
INSERT INTO ledger_model_hours
SELECT CAST(time / 3600 AS INTEGER) * 3600, model, count(*), sum(outcome = 'hit'),
       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE prompt_tokens END), sum(CASE WHEN outcome = 'hit' THEN 0 ELSE completion_tokens END),
       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE cached_prompt_tokens END), sum(saved_cache_tokens + saved_compression_tokens),
       sum(saved_compression_tokens), sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
FROM ledger GROUP BY 1, 2;
SQL
echo "ledger: $(sqlite3 "$work/ledger.sqlite" 'SELECT count(*) FROM ledger') rows over 30 days," \
  "$(sqlite3 "$work/ledger.sqlite" 'SELECT count(*) FROM ledger_rollup') rollup rows," \
  "filled in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
serve

echo
printf '%-34s %10s %10s %10s\n' endpoint req/s "p50 ms" "p99 ms"
for path in "/stats/series?window=1h" "/stats/series?window=24h" "/stats/series?window=7d" "/stats/series?window=all" \
  "/stats/recent?limit=50" "/stats?window=24h" "/stats?window=7d"; do
  wrk -t1 -c1 -d"$duration" --latency "http://127.0.0.1:$port$path" >"$work/out.txt"
  printf '%-34s %10s %10.2f %10.2f\n' "$path" "$(rps "$work/out.txt")" \
    "$(awk -v v="$(percentile "$work/out.txt" 50)" 'BEGIN { print v / 1000 }')" \
    "$(awk -v v="$(percentile "$work/out.txt" 99)" 'BEGIN { print v / 1000 }')"
done
