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

# wrk prints latency percentiles like "50%  112.00us"; normalise them to microseconds.
percentile() { # file percent
  awk -v p="$2%" '$1 == p {
    v = $2; n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000
  }' "$1"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
