# Sourced by the benchmark scripts: a work folder removed on exit with every process
# started into `pids`, and the fake upstream on $upstream_port.
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_upstream() {
  "$root/Benchmarks/.build/release/BenchUpstream" "$upstream_port" >"$work/upstream.log" 2>&1 &
  pids+=($!)
}
