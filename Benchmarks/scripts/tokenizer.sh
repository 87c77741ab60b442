#!/usr/bin/env bash
# Cachette's tokenizer next to tiktoken (the Python package), single-threaded, on the
# same texts (the golden fixtures unless CORPUS names another JSONL of {"text": ...}).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${CORPUS:-$root/Tests/CachetteCoreTests/Fixtures/tokenizer-fixtures.jsonl}
seconds=${BENCH_SECONDS:-3}

(cd "$root/Benchmarks" && swift build -c release --product TokenizerSpeed)
python3 -c 'import tiktoken' 2>/dev/null || python3 -m pip install -q 'tiktoken==0.14.0'

echo
echo "== tokenizer throughput, one thread, $(wc -l <"$corpus") texts, $(wc -c <"$corpus") bytes of JSONL"
"$root/Benchmarks/.build/release/TokenizerSpeed" "$corpus" "$seconds"
python3 "$here/tiktoken_speed.py" "$corpus" "$root/Sources/CachetteCore/Resources" "$seconds"
