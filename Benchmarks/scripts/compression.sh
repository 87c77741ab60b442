#!/usr/bin/env bash
# Prompt compression on the corpus in Benchmarks/corpus: tokens saved per level and kind,
# JSON values checked, and the time compression adds per request.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
(cd "$root/Benchmarks" && swift build -c release --product CompressionBench)
echo
"$root/Benchmarks/.build/release/CompressionBench" "$root/Benchmarks/corpus/compression-corpus.jsonl"
