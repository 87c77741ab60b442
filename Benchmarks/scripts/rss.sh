#!/usr/bin/env bash
# Memory under a long run of unique misses, for `make bench`: a release sidecar with a
# 64 MiB memory tier and a 256 MiB disk budget takes BENCH_REQUESTS (default 1,000,000)
# different requests; its RSS is sampled throughout. The result is RSS against
# cache.memory_bytes: what is left is the sidecar's fixed overhead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
requests=${BENCH_REQUESTS:-1000000}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-16}
upstream_port=${BENCH_UPSTREAM_PORT:-18101}
sidecar_port=${BENCH_SIDECAR_PORT:-18767}
memory_mib=64

(cd "$root" && swift build -c release --product cachette)
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream)

. "$here/common.sh"
start_upstream
cat >"$work/rss.yaml" <<YAML
logging:
  level: warning
upstream:
  base_url: http://127.0.0.1:$upstream_port/v1
cache:
  memory_bytes: ${memory_mib}MiB
  max_bytes: 256MiB
YAML
"$root/.build/release/cachette" serve --config "$work/rss.yaml" --port "$sidecar_port" --db "$work/rss.sqlite" >"$work/sidecar.log" 2>&1 &
sidecar=$!
pids+=($sidecar)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$sidecar_port/health" >/dev/null 2>&1 && break; sleep 0.1; done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$sidecar/status"; }
started_kib=$(rss_kib)
# Sampled every second while the load runs.
( while kill -0 "$sidecar" 2>/dev/null; do rss_kib >>"$work/rss.samples" 2>/dev/null || true; sleep 1; done ) &
pids+=($!)

echo
echo "== RSS: $requests unique misses, $connections connections, cache.memory_bytes ${memory_mib} MiB"
misses_now() { curl -fs "http://127.0.0.1:$sidecar_port/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["misses"])'; }
start=$(date +%s)
round=0
# Rounds of 10 s until the sidecar has counted the misses asked for (wrk has no request count).
while [ "$(misses_now)" -lt "$requests" ]; do
  round=$((round + 1))
  BENCH_RUN="$$-$round" wrk -t"$threads" -c"$connections" -d10s -s "$here/unique.lua" \
    "http://127.0.0.1:$sidecar_port/v1/chat/completions" >>"$work/rss.txt"
  awk -v r="$round" -v k="$(rss_kib)" -v m="$(misses_now)" 'BEGIN { if (r % 6 == 0) printf "  %d misses, rss %.1f MiB\n", m, k/1024 }'
done
elapsed=$(( $(date +%s) - start ))
sleep 2  # the writer's last flush
ended_kib=$(rss_kib)
peak_kib=$(sort -n "$work/rss.samples" | tail -1)
stats=$(curl -fs "http://127.0.0.1:$sidecar_port/stats")
misses=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["misses"])')
entries=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cache"]["entries"])')
grep -E "Non-2xx|Socket errors" "$work/rss.txt" | sort | uniq -c || true
awk -v s="$started_kib" -v p="$peak_kib" -v e="$ended_kib" -v m="$memory_mib" -v n="$misses" -v t="$elapsed" -v k="$entries" 'BEGIN {
  printf "rss: %d misses in %d s (%d entries kept on disk); at start %.1f MiB, peak %.1f MiB, at end %.1f MiB\n", n, t, k, s/1024, p/1024, e/1024
  printf "rss: peak minus cache.memory_bytes (%d MiB) = %.1f MiB fixed overhead\n", m, p/1024 - m
}'
