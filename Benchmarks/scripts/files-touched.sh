#!/usr/bin/env bash
# Which of Cachette's source files one request runs code in: the measure issue 31 used
# for "a newcomer can follow it". A build with LLVM's source-based coverage serves, per
# kind of request, a warm-up and then N requests of that kind; another run serves the
# warm-up alone. A function counts as touched when it ran at least N more times in the
# first run, so background work on timers (flushes, bookkeeping) is left out.
#
# Kinds: a hit, a miss and a streamed miss, each with compression off and at `safe`.
# Prints each kind's files, Server then Core, and a summary line per kind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
upstream_port=${BENCH_UPSTREAM_PORT:-18100}
port=${FILES_PORT:-18791}
count=${FILES_REQUESTS:-5}
build="$root/.build-coverage"

(cd "$root" && swift build --product cachette --build-path "$build" -Xswiftc -profile-generate -Xswiftc -profile-coverage-mapping)
(cd "$root/Benchmarks" && swift build -c release --product BenchUpstream)
binary="$build/debug/cachette"
# The toolchain's own LLVM tools: Debian's may not read the profiles its runtime writes.
toolchain=$(dirname "$(readlink -f "$(command -v swift)")")

. "$here/common.sh"
start_upstream

body() { # text stream
  printf '{"model":"gpt-4o","stream":%s,"messages":[{"role":"user","content":"Tell me about %s."}]}' "$2" "$1"
}
post() { curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' -d "$1"; }

# serve NAME LEVEL KIND N: a sidecar's profile after the warm-up and N requests of KIND.
serve() {
  local name=$1 level=$2 kind=$3 n=$4
  printf 'logging:\n  level: warning\ncompression:\n  level: "%s"\nupstreams:\n  - name: default\n    base_url: http://127.0.0.1:%s/v1\n' \
    "$level" "$upstream_port" >"$work/$name.yaml"
  LLVM_PROFILE_FILE="$work/$name.profraw" "$binary" serve --config "$work/$name.yaml" --port "$port" --db "$work/$name.sqlite" \
    >"$work/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  # The warm-up: a miss and a hit of another question, streamed and not, so one-time work
  # (first connections, lazy tables) is in both runs.
  for stream in false true; do post "$(body warm-up $stream)"; post "$(body warm-up $stream)"; done
  sleep 1.2 # the first flush, so the hits below read memory as they do in steady state
  local i
  for i in $(seq 1 "$n"); do
    case $kind in
      hit) post "$(body warm-up false)" ;;
      miss) post "$(body "question $i" false)" ;;
      stream) post "$(body "question $i" true)" ;;
    esac
  done
  sleep 1.2
  kill -TERM $pid
  wait $pid || true
  "$toolchain/llvm-profdata" merge -sparse -o "$work/$name.profdata" "$work/$name.profraw"
  "$toolchain/llvm-cov" export -format=text -skip-expansions -instr-profile="$work/$name.profdata" "$binary" >"$work/$name.json"
}

for level in off safe; do
  serve "base-$level" "$level" hit 0
  for kind in hit miss stream; do
    serve "$kind-$level" "$level" "$kind" "$count"
    python3 - "$work/base-$level.json" "$work/$kind-$level.json" "$count" "$kind, compression $level" "$root/Sources/" <<'PY'
import collections, json, sys
base, run, n, label, sources = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def counts(path):
    found = collections.Counter()
    for function in json.load(open(path))["data"][0]["functions"]:
        mine = [f for f in function["filenames"] if f.startswith(sources)]
        if mine:
            found[(function["name"], mine[0])] += function["count"]
    return found
before, after = counts(base), counts(run)
files = sorted({f[len(sources):] for (name, f), c in after.items() if c - before.get((name, f), 0) >= n})
server = [f for f in files if f.startswith("CachetteServer/")]
core = [f for f in files if f.startswith("CachetteCore/")]
print(f"== {label}: {len(server) + len(core)} files ({len(server)} server, {len(core)} core)")
for f in server + core:
    print("   ", f)
PY
  done
done
