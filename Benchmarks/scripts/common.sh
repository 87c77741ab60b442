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

# A throwaway PostgreSQL on port $1 in $work, stopped on exit; sets $pg_url. PostgreSQL
# refuses to run as root: as root, the cluster runs as nobody.
start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then chown nobody:nogroup "$work"; as_pg=(runuser -u nobody --); fi
  "${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U cachette -A trust --no-sync >/dev/null
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-p $1 -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
  pg_url="postgres://cachette@127.0.0.1:$1/postgres?sslmode=disable"
}
stop_postgres() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; }
