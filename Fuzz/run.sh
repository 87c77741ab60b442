#!/usr/bin/env bash
# Builds the libFuzzer targets with every module instrumented, seeds each from the test
# fixtures, replays the kept crash inputs (Fuzz/regressions/<target>/), then fuzzes each
# target for FUZZ_SECONDS. Exits non-zero on any crash; a new crash input is left in
# .build-fuzz/crashes/ to be fixed and kept under Fuzz/regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-FuzzKeying FuzzStreams FuzzTranslation FuzzCompression FuzzTokenizer FuzzConfig FuzzImport FuzzStoredEntry}"
SCRATCH=.build-fuzz
for target in $TARGETS; do
  CACHETTE_FUZZ=1 swift build -c release --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address --product "$target"
done
BIN="$SCRATCH/release"

seed() {  # seed TARGET FILE...: one corpus file per input file, or per line with --lines
  local dir="$SCRATCH/corpus/$1"; shift
  mkdir -p "$dir"
  if [ "$1" = "--lines" ]; then
    shift
    cat "$@" | split -l 1 -a 4 - "$dir/line-"
  else
    cp "$@" "$dir/"
  fi
}
fixtures=Tests/CachetteCoreTests/Fixtures
seed FuzzKeying $fixtures/translation/*.json
seed FuzzKeying --lines Benchmarks/corpus/compression-corpus.jsonl
seed FuzzStreams $fixtures/translation/*.sse $fixtures/responses/*.sse
seed FuzzTranslation $fixtures/translation/*.json $fixtures/translation/*.sse
seed FuzzCompression --lines Benchmarks/corpus/compression-corpus.jsonl
seed FuzzCompression $fixtures/responses/*.json
seed FuzzTokenizer --lines $fixtures/tokenizer-fixtures.jsonl
seed FuzzConfig config/cachette.yaml config/pricing.yaml Fuzz/seeds/network.yaml
# A real export (every route and format, streams and a translation) and its entries' stored columns.
seed FuzzImport --lines Fuzz/seeds/import.jsonl
seed FuzzStoredEntry Fuzz/seeds/stored/*.bin

mkdir -p "$SCRATCH/crashes"
for target in $TARGETS; do
  if [ -d "Fuzz/regressions/$target" ] && [ -n "$(ls -A "Fuzz/regressions/$target")" ]; then
    echo "== $target: replaying kept crash inputs"
    "$BIN/$target" "Fuzz/regressions/$target"/*
  fi
  echo "== $target: fuzzing for ${SECONDS_EACH}s"
  "$BIN/$target" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="$SCRATCH/crashes/$target-" -print_final_stats=1 "$SCRATCH/corpus/$target" 2>&1 \
    | tee "$SCRATCH/$target.log" | grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" || true
  test "${PIPESTATUS[0]}" -eq 0 || { echo "== $target crashed; the input is in $SCRATCH/crashes/"; exit 1; }
done
echo "fuzz: every target ran clean"
