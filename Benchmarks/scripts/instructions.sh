#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: this VM's perf
# has no hardware `instructions` event. Each server runs under callgrind with counting
# off; after a warm-up, counting runs while one wrk connection sends requests, and the
# count is divided by the requests wrk completed. Timings under valgrind mean nothing;
# the counts are exact up to the one request in flight at each end of the window.
#
# Figures: a bare Hummingbird handler (collect the body, write 1 KB), the cache hit (on
# the fast lane, and through the router with server.fast_lane: false), the bare proxy (Hummingbird in, AsyncHTTPClient out), and the miss with compression
# `safe` and `off`. The fake upstream runs natively, so a miss counts only the proxy.
# CACHETTE_BINARY measures another build of the sidecar (an older commit, say).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
window=${INSTRUCTIONS_SECONDS:-8}
upstream_port=${BENCH_UPSTREAM_PORT:-18100}
port=${INSTRUCTIONS_PORT:-18790}

if [ -z "${CACHETTE_BINARY:-}" ]; then
  (cd "$root" && swift build -c release --product cachette)
  CACHETTE_BINARY="$root/.build/release/cachette"
fi
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream && swift build -c release --product BareProxy \
  && swift build -c release --product BareNIO)

. "$here/common.sh"
start_upstream

# Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain emits, so each binary runs
# without its debug sections (symbols stay). It also writes into sigsuspend's mask,
# which libdispatch's main thread passes in read-only memory: the preload copies it.
strip --strip-debug -o "$work/cachette" "$CACHETTE_BINARY"
for binary in BenchUpstream BareProxy BareNIO; do
  strip --strip-debug -o "$work/$binary" "$root/Benchmarks/.build/release/$binary"
done
cat >"$work/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return (int)syscall(SYS_rt_sigsuspend, &copy, 8); }
C
cc -O2 -shared -fPIC -o "$work/sigsuspend.so" "$work/sigsuspend.c"

cat >"$work/safe.yaml" <<YAML
logging:
  level: warning
upstreams:
  - name: default
    base_url: http://127.0.0.1:$upstream_port/v1
YAML
{ printf 'compression:\n  level: "off"\n'; cat "$work/safe.yaml"; } >"$work/off.yaml"

wait_for() { # url log: the first answer under valgrind takes seconds
  for _ in $(seq 1 600); do
    curl -fs -m 30 -X POST "$1" -d '{"model":"gpt-4o","messages":[]}' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "no answer from $1:" >&2
  tail -20 "$2" >&2
  return 1
}

# name url script command...: prints the instructions per request.
count() {
  local name=$1 url=$2 script=$3; shift 3
  LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$work/$name.out" "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  wait_for "$url" "$work/$name.log"
  BENCH_RUN="$name-warm-$$" wrk -t1 -c1 -d3s --timeout 10s -s "$here/$script" "$url" >/dev/null
  callgrind_control -i on "$pid" >/dev/null
  BENCH_RUN="$name-$$" wrk -t1 -c1 -d"${window}s" --timeout 10s -s "$here/$script" "$url" >"$work/$name.txt"
  callgrind_control -d "$pid" >/dev/null
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local requests instructions
  requests=$(awk '/requests in/ {print $1}' "$work/$name.txt")
  # The first dump holds only what ran while counting was on.
  instructions=$(awk '/^totals:/ {print $2}' "$work/$name.out.1")
  if [ -z "$requests" ] || [ "$requests" -eq 0 ] || [ -z "$instructions" ]; then
    echo "$name: no count (see $work/$name.log)" >&2
    return 1
  fi
  printf '%-22s %9d instructions per request (%d requests)\n' "$name" "$((instructions / requests))" "$requests"
}

echo "== instructions per request (callgrind, user space, one connection, ${window}s of requests each)"
count bare-handler "http://127.0.0.1:$port/bare" hit.lua "$work/BenchUpstream" "$port"
count hit "http://127.0.0.1:$port/v1/chat/completions" hit.lua \
  "$work/cachette" serve --config "$work/safe.yaml" --port "$port" --db "$work/hit.sqlite"
# The hit through the router (server.fast_lane: false), when the binary knows the setting.
{ printf 'server:\n  fast_lane: false\n'; cat "$work/safe.yaml"; } >"$work/router.yaml"
probe=0
timeout 5 "$work/cachette" serve --config "$work/router.yaml" --port "$port" --db "$work/probe.sqlite" >/dev/null 2>&1 || probe=$?
if [ "$probe" -eq 124 ]; then  # still serving after 5 s: the setting is known
  count hit-router "http://127.0.0.1:$port/v1/chat/completions" hit.lua \
    "$work/cachette" serve --config "$work/router.yaml" --port "$port" --db "$work/router.sqlite"
fi
count bare-proxy "http://127.0.0.1:$port/v1/chat/completions" miss.lua "$work/BareProxy" "$port" "$upstream_port"
# The floors under the lane's design: bare SwiftNIO answering the hit's 1 KB, and relaying
# a miss through AsyncHTTPClient or through a kept-alive NIOHTTP1 channel on the same loop.
curl -fs -X POST "http://127.0.0.1:$upstream_port/bare" -d '{}' >"$work/answer.json"
count bare-nio-static "http://127.0.0.1:$port/bare" hit.lua "$work/BareNIO" "$port" "$upstream_port" static "$work/answer.json"
count bare-nio-ahc "http://127.0.0.1:$port/v1/chat/completions" miss.lua "$work/BareNIO" "$port" "$upstream_port" ahc "$work/answer.json"
count bare-nio-proxy "http://127.0.0.1:$port/v1/chat/completions" miss.lua "$work/BareNIO" "$port" "$upstream_port" nio "$work/answer.json"
count miss-safe "http://127.0.0.1:$port/v1/chat/completions" miss.lua \
  "$work/cachette" serve --config "$work/safe.yaml" --port "$port" --db "$work/safe.sqlite"
count miss-off "http://127.0.0.1:$port/v1/chat/completions" miss.lua \
  "$work/cachette" serve --config "$work/off.yaml" --port "$port" --db "$work/off.sqlite"
