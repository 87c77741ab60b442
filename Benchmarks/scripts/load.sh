#!/usr/bin/env bash
# End-to-end figures for `make bench`: a release sidecar in front of a fast local fake
# upstream, driven by wrk. Prints cache-hit throughput and latency, and the latency
# the sidecar adds to a miss compared with calling the upstream directly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-16}
threads=${BENCH_THREADS:-2}
upstream_port=${BENCH_UPSTREAM_PORT:-18100}
sidecar_port=${BENCH_SIDECAR_PORT:-18766}
nginx_port=${BENCH_NGINX_PORT:-18180}
nginx_proxy_port=${BENCH_NGINX_PROXY_PORT:-18181}
router_port=${BENCH_ROUTER_PORT:-18760}

(cd "$root" && swift build -c release --product cachette)
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream && swift build -c release --product StreamReplay \
  && swift build -c release --product BareProxy && swift build -c release --product ClientProbe \
  && swift build -c release --product BareNIO)

. "$here/common.sh"
start_upstream
# claude-* goes to the same fake as an Anthropic upstream: the translated miss.
cat >"$work/bench.yaml" <<YAML
logging:
  level: warning
upstreams:
  - name: anthropic
    base_url: http://127.0.0.1:$upstream_port/v1
    format: anthropic
    models: ["claude-*"]
  - name: default
    base_url: http://127.0.0.1:$upstream_port/v1
YAML
"$root/.build/release/cachette" serve --config "$work/bench.yaml" --port "$sidecar_port" \
  --db "$work/bench.sqlite" >"$work/sidecar.log" 2>&1 &
pids+=($!)
# The same sidecar with server.fast_lane: false: every hit through the router, for a same-run A/B.
sed 's/^logging:/server:\n  fast_lane: false\nlogging:/' "$work/bench.yaml" >"$work/router.yaml"
"$root/.build/release/cachette" serve --config "$work/router.yaml" --port "$router_port" \
  --db "$work/router.sqlite" >"$work/router.log" 2>&1 &
pids+=($!)
# The floor of the stack: Hummingbird in, AsyncHTTPClient out, nothing else.
bare_proxy_port=${BENCH_BARE_PROXY_PORT:-18767}
"$root/Benchmarks/.build/release/BareProxy" "$bare_proxy_port" "$upstream_port" >"$work/bare-proxy.log" 2>&1 &
pids+=($!)
# A second fake that paces a stream's events after the first, as a provider's tokens
# come, with a sidecar and the bare relays in front of it: a relay's first byte measured
# apart from the CPU the fake spends writing 200 events at once on this small machine.
paced_port=${BENCH_PACED_PORT:-18110}; pace_us=${BENCH_PACE_US:-200}
paced_sidecar_port=$((paced_port + 1)); paced_proxy_port=$((paced_port + 2))
"$root/Benchmarks/.build/release/BenchUpstream" "$paced_port" "$pace_us" >"$work/paced-upstream.log" 2>&1 &
pids+=($!)
sed "s/:$upstream_port/:$paced_port/" "$work/bench.yaml" >"$work/paced.yaml"
"$root/.build/release/cachette" serve --config "$work/paced.yaml" --port "$paced_sidecar_port" \
  --db "$work/paced.sqlite" >"$work/paced-sidecar.log" 2>&1 &
pids+=($!)
"$root/Benchmarks/.build/release/BareProxy" "$paced_proxy_port" "$paced_port" >"$work/paced-proxy.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$sidecar_port/health" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$router_port/health" >/dev/null 2>&1 \
    && curl -fs "http://127.0.0.1:$paced_sidecar_port/health" >/dev/null 2>&1 && curl -fs -X POST \
    "http://127.0.0.1:$upstream_port/v1/chat/completions" -d '{}' >/dev/null 2>&1 && break
  sleep 0.1
done

errors() { awk '/Non-2xx|Socket errors/ {print}' "$1"; }

# The yardstick: Debian's nginx, one process, serving the fake upstream's 1 KB answer
# as a static file (GET: nginx serves no static file to a POST).
mkdir -p "$work/www" "$work/nginx"
curl -fs -X POST "http://127.0.0.1:$upstream_port/bare" -d '{}' >"$work/www/answer.json"
cat >"$work/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
  # The floor of any proxy on this machine: nginx in front of the same fake upstream,
  # with kept-alive upstream connections.
  upstream fake {
    server 127.0.0.1:$upstream_port;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
NGINX
/usr/sbin/nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)
# The floor under the lane's design: SwiftNIO's HTTP/1 server alone, every request
# answered on its connection's loop: the static answer, a relay through AsyncHTTPClient's
# delegate API on that loop, and a relay through a kept-alive NIOHTTP1 client channel.
nio_static_port=${BENCH_NIO_PORT:-18182}
nio_ahc_port=$((nio_static_port + 1)); nio_proxy_port=$((nio_static_port + 2))
paced_ahc_port=$((nio_static_port + 3)); paced_nio_port=$((nio_static_port + 4))
for mode in "static $nio_static_port $upstream_port" "ahc $nio_ahc_port $upstream_port" "nio $nio_proxy_port $upstream_port" \
  "ahc $paced_ahc_port $paced_port" "nio $paced_nio_port $paced_port"; do
  set -- $mode
  "$root/Benchmarks/.build/release/BareNIO" "$2" "$3" "$1" "$work/www/answer.json" >"$work/nio-$2.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$nginx_port/answer.json" >/dev/null 2>&1 && curl -fs -X POST "http://127.0.0.1:$nio_proxy_port/bare" -d '{}' \
    >/dev/null 2>&1 && break
  sleep 0.1
done

echo
echo "== yardstick: nginx, one process, a static 1 KB file, $connections connections, $duration"
wrk -t"$threads" -c"$connections" -d"$duration" --latency "http://127.0.0.1:$nginx_port/answer.json" >"$work/nginx.txt"
nginx_rps=$(rps "$work/nginx.txt"); nginx_p50=$(percentile "$work/nginx.txt" 50); nginx_p99=$(percentile "$work/nginx.txt" 99)

# name script url: a warm-up (the first request misses and stores; the rest are hits),
# then the measured load into $work/name.txt.
hits() {
  wrk -t"$threads" -c"$connections" -d2s -s "$here/$2" "$3" >/dev/null
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/$2" "$3" >"$work/$1.txt"
  cat "$work/$1.txt"
}

echo
echo "== cache hit: 1 KB answer, $connections connections, $threads wrk threads, $duration"
hits hit hit.lua "http://127.0.0.1:$sidecar_port/v1/chat/completions"
hit_rps=$(rps "$work/hit.txt"); hit_p50=$(percentile "$work/hit.txt" 50); hit_p99=$(percentile "$work/hit.txt" 99)

echo
echo "== cache hit with server.fast_lane: false (every hit through the router), same load"
hits hit-router hit.lua "http://127.0.0.1:$router_port/v1/chat/completions"

echo
echo "== Responses cache hit: the same prompt as a /v1/responses request, 1 KB answer, $connections connections"
hits hit-responses hit-responses.lua "http://127.0.0.1:$sidecar_port/v1/responses"

echo
echo "== ceiling: the same load against the bare Hummingbird fake upstream (collect body, write 1 KB)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/hit.lua" \
  "http://127.0.0.1:$upstream_port/bare" >"$work/bare.txt"
bare_rps=$(rps "$work/bare.txt"); bare_p50=$(percentile "$work/bare.txt" 50); bare_p99=$(percentile "$work/bare.txt" 99)

echo
echo "== floor of the server library: the same load against bare SwiftNIO (read the body, write the same 1 KB)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/hit.lua" \
  "http://127.0.0.1:$nio_static_port/bare" >"$work/nio-static.txt"

echo
echo "== miss path: unique requests, 1 connection, $duration, direct vs through the sidecar"
BENCH_RUN="direct-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$upstream_port/v1/chat/completions" >"$work/direct.txt"
BENCH_RUN="sidecar-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$sidecar_port/v1/chat/completions" >"$work/miss.txt"
BENCH_RUN="bare-proxy-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$bare_proxy_port/v1/chat/completions" >"$work/bare-proxy.txt"
BENCH_RUN="nginx-proxy-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$nginx_proxy_port/v1/chat/completions" >"$work/nginx-proxy.txt"
BENCH_RUN="nio-ahc-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$nio_ahc_port/v1/chat/completions" >"$work/nio-ahc-miss.txt"
BENCH_RUN="nio-proxy-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$nio_proxy_port/v1/chat/completions" >"$work/nio-proxy-miss.txt"
direct_p50=$(percentile "$work/direct.txt" 50); miss_p50=$(percentile "$work/miss.txt" 50)
direct_p99=$(percentile "$work/direct.txt" 99); miss_p99=$(percentile "$work/miss.txt" 99)
proxy_p50=$(percentile "$work/bare-proxy.txt" 50)
ngx_p50=$(percentile "$work/nginx-proxy.txt" 50); ngx_p99=$(percentile "$work/nginx-proxy.txt" 99)

# What one request costs in CPU and in thread switches (a miss by default; PER_SCRIPT=hit.lua
# PER_KIND=hit for a hit), the sidecar against the bare proxy: on a small machine the
# switches, not the cache's own work, set the latency.
# Each runs under `perf stat -I` from its start, so threads it spawns later are counted;
# the steady rate over the load window is divided by the requests per second.
per_request() { # name port command...
  command -v perf >/dev/null || return 0
  local name=$1 port=$2; shift 2
  local t0; t0=$(date +%s.%N)
  perf stat -I 250 -x, -e context-switches,task-clock -o "$work/$name.perf" -- "$@" >"$work/$name.log" 2>&1 &
  local perf_pid=$!
  for _ in $(seq 1 100); do
    curl -fs -X POST "http://127.0.0.1:$port/v1/chat/completions" -d '{"model":"gpt-4o","messages":[]}' >/dev/null 2>&1 && break
    sleep 0.1
  done
  local script="$here/${PER_SCRIPT:-miss.lua}"
  BENCH_RUN="$name-warm-$$" wrk -t1 -c1 -d1s -s "$script" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
  local t1; t1=$(date +%s.%N)
  BENCH_RUN="$name-$$" wrk -t1 -c1 -d4s -s "$script" "http://127.0.0.1:$port/v1/chat/completions" >"$work/$name.txt"
  local t2; t2=$(date +%s.%N)
  pkill -INT -P "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  awk -F, -v t0="$t0" -v t1="$t1" -v t2="$t2" -v rps="$(rps "$work/$name.txt")" -v name="$name" -v kind="${PER_KIND:-miss}" '
    /^#/ || NF < 4 { next }
    $1 > t1 - t0 + 0.5 && $1 <= t2 - t0 {
      if ($4 ~ /context-switches/) { cs += $2; n++ }
      if ($4 ~ /task-clock/) { ms += $2 }
    }
    END { if (n > 0 && rps > 0) printf "%-11s %5.1f context switches and %4.0f us of CPU per %s\n", name, cs / (n * 0.25 * rps), ms * 1000 / (n * 0.25 * rps), kind }' "$work/$name.perf"
}
measure_port=${BENCH_MEASURE_PORT:-18768}
per_request sidecar "$measure_port" "$root/.build/release/cachette" serve --config "$work/bench.yaml" --port "$measure_port" \
  --db "$work/measure.sqlite" >"$work/per-request.txt"
per_request bare-proxy "$((measure_port + 1))" "$root/Benchmarks/.build/release/BareProxy" "$((measure_port + 1))" "$upstream_port" \
  >>"$work/per-request.txt"
per_request nio-proxy "$((measure_port + 4))" "$root/Benchmarks/.build/release/BareNIO" "$((measure_port + 4))" "$upstream_port" nio \
  "$work/www/answer.json" >>"$work/per-request.txt"
per_request nio-ahc "$((measure_port + 5))" "$root/Benchmarks/.build/release/BareNIO" "$((measure_port + 5))" "$upstream_port" ahc \
  "$work/www/answer.json" >>"$work/per-request.txt"
PER_SCRIPT=hit.lua PER_KIND=hit per_request lane-hit "$((measure_port + 2))" "$root/.build/release/cachette" serve \
  --config "$work/bench.yaml" --port "$((measure_port + 2))" --db "$work/measure-hit.sqlite" >>"$work/per-request.txt"
PER_SCRIPT=hit.lua PER_KIND=hit per_request router-hit "$((measure_port + 3))" "$root/.build/release/cachette" serve \
  --config "$work/router.yaml" --port "$((measure_port + 3))" --db "$work/measure-router.sqlite" >>"$work/per-request.txt"
cat "$work/per-request.txt"

echo
echo "== the upstream client alone: AsyncHTTPClient round trips to the fake, one at a time"
"$root/Benchmarks/.build/release/ClientProbe" "$upstream_port" 3000 | tee "$work/client.txt"

echo
echo "== large miss: unique ~24 KB conversations, 1 connection, $duration, direct, bare proxy, sidecar"
for target in "direct-large $upstream_port" "bare-proxy-large $bare_proxy_port" "miss-large $sidecar_port"; do
  set -- $target
  BENCH_RUN="$1-$$" wrk -t1 -c1 -d"$duration" --latency -s "$here/miss-large.lua" \
    "http://127.0.0.1:$2/v1/chat/completions" >"$work/$1.txt"
done

echo
echo "== Responses miss: unique /v1/responses requests, 1 connection, $duration, direct vs through the sidecar"
BENCH_RUN="direct-responses-$$" BENCH_SHAPE=responses wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$upstream_port/v1/responses" >"$work/direct-responses.txt"
BENCH_RUN="responses-$$" BENCH_SHAPE=responses wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$sidecar_port/v1/responses" >"$work/miss-responses.txt"

echo
echo "== translated miss: unique claude-* chat requests, 1 connection, $duration, direct /v1/messages vs through the sidecar"
BENCH_RUN="direct-messages-$$" BENCH_MODEL=claude-sonnet-4-6 wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$upstream_port/v1/messages" >"$work/direct-messages.txt"
BENCH_RUN="translated-$$" BENCH_MODEL=claude-sonnet-4-6 wrk -t1 -c1 -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$sidecar_port/v1/chat/completions" >"$work/translated.txt"
dm_p50=$(percentile "$work/direct-messages.txt" 50); tr_p50=$(percentile "$work/translated.txt" 50)

echo
echo "== streamed miss: unique 200-chunk stream requests, 1 keep-alive connection, $duration, direct, bare proxy, sidecar"
echo "   (the fake writes all 200 events at once)"
"$root/Benchmarks/.build/release/StreamReplay" "$upstream_port" --misses "${duration%s}" | tee "$work/ttfb-direct.txt"
"$root/Benchmarks/.build/release/StreamReplay" "$bare_proxy_port" --misses "${duration%s}" | tee "$work/ttfb-bare-proxy.txt"
"$root/Benchmarks/.build/release/StreamReplay" "$sidecar_port" --misses "${duration%s}" | tee "$work/ttfb-sidecar.txt"
first_byte() { awk '/time to first byte/ { print $6 }' "$1"; }
ttfb_direct=$(first_byte "$work/ttfb-direct.txt"); ttfb_sidecar=$(first_byte "$work/ttfb-sidecar.txt")
ttfb_proxy=$(first_byte "$work/ttfb-bare-proxy.txt")
echo "   (the fake paces the events after the first ${pace_us} us apart): direct, bare SwiftNIO through a NIOHTTP1 channel,"
echo "   through AsyncHTTPClient on the loop, bare proxy, sidecar"
for target in "direct $paced_port" "nio $paced_nio_port" "ahc $paced_ahc_port" "proxy $paced_proxy_port" \
  "sidecar $paced_sidecar_port"; do
  set -- $target
  "$root/Benchmarks/.build/release/StreamReplay" "$2" --misses "${duration%s}" | tee "$work/paced-$1.txt"
done

echo
echo "== stream replay: one cached 200-chunk stream, $connections concurrent clients, $duration"
"$root/Benchmarks/.build/release/StreamReplay" "$sidecar_port" "$connections" "${duration%s}" | tee "$work/replay.txt"

echo
echo "== under load, $connections connections, $duration: unique misses; streamed misses, each sent 4 times in a row so later copies join the first"
BENCH_RUN="miss-load-$$" wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$sidecar_port/v1/chat/completions" >"$work/miss-load.txt"
BENCH_RUN="joined-load-$$" BENCH_STREAM=1 BENCH_SHARE=4 wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/miss.lua" \
  "http://127.0.0.1:$sidecar_port/v1/chat/completions" >"$work/joined-load.txt"

stats=$(curl -fs "http://127.0.0.1:$sidecar_port/stats")
echo
echo "== summary"
printf 'nginx       %10s req/s   p50 %8s us   p99 %8s us   (static 1 KB file, one process)\n' "$nginx_rps" "$nginx_p50" "$nginx_p99"
printf 'cache hit   %10s req/s   p50 %8s us   p99 %8s us\n' "$hit_rps" "$hit_p50" "$hit_p99"
awk -v r="$hit_rps" -v nr="$nginx_rps" -v p="$hit_p99" -v np="$nginx_p99" \
  'BEGIN { printf "cache hit against nginx: %.2fx its throughput, %.2fx its p99\n", r / nr, p / np }'
printf 'router hit  %10s req/s   p50 %8s us   p99 %8s us   (server.fast_lane: false)\n' "$(rps "$work/hit-router.txt")" \
  "$(percentile "$work/hit-router.txt" 50)" "$(percentile "$work/hit-router.txt" 99)"
awk -v r="$(rps "$work/hit-router.txt")" -v nr="$nginx_rps" -v p="$(percentile "$work/hit-router.txt" 99)" -v np="$nginx_p99" \
  'BEGIN { printf "router hit against nginx: %.2fx its throughput, %.2fx its p99\n", r / nr, p / np }'
printf 'responses hit %8s req/s   p50 %8s us   p99 %8s us\n' "$(rps "$work/hit-responses.txt")" "$(percentile "$work/hit-responses.txt" 50)" \
  "$(percentile "$work/hit-responses.txt" 99)"
printf 'bare server %10s req/s   p50 %8s us   p99 %8s us   (same load, no cache logic)\n' "$bare_rps" "$bare_p50" "$bare_p99"
printf 'bare NIO    %10s req/s   p50 %8s us   p99 %8s us   (SwiftNIO alone, same load)\n' "$(rps "$work/nio-static.txt")" \
  "$(percentile "$work/nio-static.txt" 50)" "$(percentile "$work/nio-static.txt" 99)"
awk -v r="$(rps "$work/nio-static.txt")" -v nr="$nginx_rps" -v p="$(percentile "$work/nio-static.txt" 99)" -v np="$nginx_p99" \
  -v h="$bare_rps" 'BEGIN { printf "bare NIO against nginx: %.2fx its throughput, %.2fx its p99; the bare Hummingbird handler %.2fx\n", r / nr, p / np, h / nr }'
printf 'direct      %10s req/s   p50 %8s us   p99 %8s us\n' "$(rps "$work/direct.txt")" "$direct_p50" "$direct_p99"
printf 'miss        %10s req/s   p50 %8s us   p99 %8s us\n' "$(rps "$work/miss.txt")" "$miss_p50" "$miss_p99"
awk -v a="$miss_p50" -v b="$direct_p50" -v a99="$miss_p99" -v b99="$direct_p99" \
  'BEGIN { printf "miss path adds %.0f us at p50 and %.0f us at p99\n", a - b, a99 - b99 }'
awk -v a="$ngx_p50" -v b="$direct_p50" -v a99="$ngx_p99" -v b99="$direct_p99" \
  'BEGIN { printf "nginx proxy_pass adds %.0f us at p50 and %.0f us at p99 (the floor of a proxy here)\n", a - b, a99 - b99 }'
printf 'bare proxy  %10s req/s   p50 %8s us   (Hummingbird + AsyncHTTPClient, nothing else)\n' "$(rps "$work/bare-proxy.txt")" "$proxy_p50"
awk -v a="$proxy_p50" -v b="$direct_p50" -v m="$miss_p50" \
  'BEGIN { printf "the stack alone adds %.0f us at p50; the sidecar itself adds %.0f us on top\n", a - b, m - a }'
for f in nio-ahc-miss nio-proxy-miss; do
  awk -v a="$(percentile "$work/$f.txt" 50)" -v b="$direct_p50" -v a99="$(percentile "$work/$f.txt" 99)" -v b99="$direct_p99" -v f="$f" \
    'BEGIN { printf "%s adds %.0f us at p50 and %.0f us at p99 (bare SwiftNIO in; out through %s, on the same loop)\n", f, a - b, a99 - b99,
      f == "nio-ahc-miss" ? "AsyncHTTPClient" : "a NIOHTTP1 channel" }'
done
printf 'large miss  %10s req/s   p50 %8s us   p99 %8s us   (~24 KB conversation)\n' "$(rps "$work/miss-large.txt")" \
  "$(percentile "$work/miss-large.txt" 50)" "$(percentile "$work/miss-large.txt" 99)"
awk -v m="$(percentile "$work/miss-large.txt" 50)" -v p="$(percentile "$work/bare-proxy-large.txt" 50)" \
  -v d="$(percentile "$work/direct-large.txt" 50)" \
  'BEGIN { printf "large miss adds %.0f us at p50 over a direct call (%.0f of it the bare proxy, %.0f the sidecar)\n", m - d, p - d, m - p }'
sed 's/^/per request: /' "$work/per-request.txt"
sed 's/^/upstream client alone, /' "$work/client.txt"
printf 'responses miss %7s req/s   p50 %8s us   p99 %8s us\n' "$(rps "$work/miss-responses.txt")" \
  "$(percentile "$work/miss-responses.txt" 50)" "$(percentile "$work/miss-responses.txt" 99)"
awk -v a="$(percentile "$work/miss-responses.txt" 50)" -v b="$(percentile "$work/direct-responses.txt" 50)" \
  'BEGIN { printf "responses miss adds %.0f us at p50 (over a direct /v1/responses call)\n", a - b }'
printf 'translated  %10s req/s   p50 %8s us   p99 %8s us\n' "$(rps "$work/translated.txt")" "$tr_p50" "$(percentile "$work/translated.txt" 99)"
awk -v a="$tr_p50" -v b="$dm_p50" 'BEGIN { printf "translated miss adds %.0f us at p50 (over a direct /v1/messages call)\n", a - b }'
printf 'streamed miss: first byte p50 %s us direct, %s us through the bare proxy, %s us through the sidecar (adds %s us, %s over the bare proxy)\n' \
  "$ttfb_direct" "$ttfb_proxy" "$ttfb_sidecar" "$((ttfb_sidecar - ttfb_direct))" "$((ttfb_sidecar - ttfb_proxy))"
paced_direct=$(first_byte "$work/paced-direct.txt")
printf 'paced stream (events after the first %s us apart): first byte p50 %s us direct; adds %s us through bare SwiftNIO with a NIOHTTP1 channel, %s with AsyncHTTPClient, %s through the bare proxy, %s through the sidecar\n' \
  "$pace_us" "$paced_direct" "$(($(first_byte "$work/paced-nio.txt") - paced_direct))" "$(($(first_byte "$work/paced-ahc.txt") - paced_direct))" \
  "$(($(first_byte "$work/paced-proxy.txt") - paced_direct))" "$(($(first_byte "$work/paced-sidecar.txt") - paced_direct))"
sed 's/^/stream replay: /' "$work/replay.txt"
printf 'misses, %s connections %7s req/s   p50 %8s us   p99 %8s us\n' "$connections" "$(rps "$work/miss-load.txt")" \
  "$(percentile "$work/miss-load.txt" 50)" "$(percentile "$work/miss-load.txt" 99)"
printf 'streamed misses with joiners, %s connections %7s req/s   p50 %8s us   p99 %8s us\n' "$connections" "$(rps "$work/joined-load.txt")" \
  "$(percentile "$work/joined-load.txt" 50)" "$(percentile "$work/joined-load.txt" 99)"
# Time the hypervisor took from this machine during the run: it moves every figure above.
echo "cpu steal now: $(vmstat 1 2 | tail -1 | awk '{print $NF}')%"
for f in nginx hit hit-router hit-responses bare nio-static nio-ahc-miss nio-proxy-miss direct miss bare-proxy nginx-proxy direct-large bare-proxy-large miss-large direct-responses miss-responses \
  direct-messages translated miss-load joined-load; do e=$(errors "$work/$f.txt"); [ -n "$e" ] && echo "$f: $e"; done
echo "sidecar /stats: $stats"
