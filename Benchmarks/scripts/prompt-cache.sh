#!/usr/bin/env bash
# Anthropic prompt-cache steering in `make bench`: generated agent sessions, one-shots
# sharing system prompts, unique long documents and short questions, replayed through a
# release sidecar in front of the billing fake, native and translated, and priced against
# no markers and against marking the system prompt and the last turn. Two seeds
# (PROMPT_CACHE_SEEDS): the steering rules were written against neither.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seeds=${PROMPT_CACHE_SEEDS:-2026 7}
port=${BENCH_SIDECAR_PORT:-18771}
fake_port=${BENCH_FAKE_PORT:-18772}
binary=${CACHETTE_BINARY:-$root/.build/release/cachette}

[ -n "${CACHETTE_BINARY:-}" ] || (cd "$root" && swift build -c release --product cachette)
. "$here/common.sh"

python3 "$root/Tests/Integration/fake_upstream.py" "$fake_port" --billing >"$work/fake.log" 2>&1 &
pids+=($!)
cat >"$work/prompt-cache.yaml" <<YAML
logging:
  level: warning
upstreams:
  - name: anthropic
    base_url: http://127.0.0.1:$fake_port/v1
    format: anthropic
    models: ["claude-*"]
YAML
"$binary" serve --config "$work/prompt-cache.yaml" --port "$port" --db "$work/cache.sqlite" >"$work/sidecar.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$fake_port/_calls" >/dev/null 2>&1 && break
  sleep 0.1
done
status=0
for seed in $seeds; do
  python3 "$here/prompt_cache_replay.py" "http://127.0.0.1:$port" "http://127.0.0.1:$fake_port" --seed "$seed" || status=1
  echo
done
curl -fs "http://127.0.0.1:$port/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("steering:", json.dumps(s.get("prompt_cache", {})))'
exit $status
