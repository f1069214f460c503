#!/usr/bin/env bash
# twig's performance figures, measured side by side on this machine in one
# run, with the product's targets. Each figure is a ratio taken inside one
# Go benchmark (both sides measured in the same process, back to back).
#
#   bash .ci/bench.sh           # full: the scaling pair is 5,000 vs 50,000 prompts (~10 min)
#   bash .ci/bench.sh --quick   # the scaling pair is 550 vs 5,500 prompts (~2 min)
#
# A step that fails is named, with the end of its output, and the other
# steps still run. After the table, a "FAIL: ..." line names each figure
# that misses its target or was not measured, and the script exits 1 if
# any step failed or any figure missed. BENCH_NO_FAIL=1 prints the same
# and exits 0 (figures for information only).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="5000,50000"
if [ "${1:-}" = "--quick" ]; then sizes="550,5500"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
: >"$log"
failures=()

# run CMD...: runs one step, shows its benchmark lines, keeps its output
# in the log; a failure is named (with the end of the output) and recorded.
run() {
  echo "== $*" >&2
  local out=$tmp/step rc
  set +e
  "$@" 2>&1 | tee "$out" | grep -E '^Benchmark' >&2
  rc=${PIPESTATUS[0]}
  set -e
  cat "$out" >>"$log"
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: step \"$*\" exited with status $rc; the end of its output:" >&2
    tail -n 25 "$out" | sed 's/^/    /' >&2
    failures+=("FAIL: step \"$*\" exited with status $rc")
  fi
}
run go test ./pipelines -run '^$' -bench 'Pipeline$' -benchtime 3x
run go test ./pipelines -run '^$' -bench 'InFlight' -benchtime 1x
run go test ./inference/worker -run '^$' -bench 'Batching'
run go test ./exporters -run '^$' -bench 'ExportRatio/s3/zstd|ShardMemory' -benchtime 3x
TWIG_BENCH_SIZES=$sizes run go test ./cmd/twig -run '^$' -bench 'Scale' -benchtime 1x -timeout 60m

metric() { # metric BENCHMARK_REGEX UNIT
  { grep -E "^$1" "$log" || true; } | head -1 | awk -v unit="$2" '{for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i}'
}
# figure LABEL VALUE TARGET [CHECK]: prints a row of the table; CHECK
# (">= X" or "<= X", TARGET itself when omitted) is what the value must
# meet. A figure with a target and no value is a miss.
figure() {
  local label=$1 value=$2 target=$3 check=${4:-$3}
  printf '%-58s %-12s %s\n' "$label" "$value" "$target"
  [ -n "$check" ] || return 0
  if [ -z "$value" ]; then
    failures+=("FAIL: $label: not measured vs target $target")
  elif ! awk -v v="$value" -v c="$check" 'BEGIN {
        split(c, p, " ")
        if (p[1] == ">=") exit !(v + 0 >= p[2] + 0)
        if (p[1] == "<=") exit !(v + 0 <= p[2] + 0)
        exit 2
      }'; then
    failures+=("FAIL: $label $value vs target $target")
  fi
}
small=${sizes%,*}; large=${sizes#*,}
printf '\n%-58s %-12s %s\n' "figure ($(uname -m), $(nproc) cores, $(date -u +%F))" "measured" "target"
figure "pipeline: trajectories/s with the simulator" "$(metric BenchmarkPipeline traj/s)" ""
figure "pipeline: share of CPU outside the simulator" "$(metric BenchmarkPipeline overhead-share)" ""
figure "concurrency efficiency (64 in flight, 250 ms batches)" "$(metric BenchmarkInFlight efficiency)" ">= 0.9"
figure "batching gain, pipeline vs one prompt at a time" "$(metric BenchmarkInFlight batching-gain)" ">= 10"
figure "batching gain, worker alone (64 in flight vs serial)" "$(metric BenchmarkBatching speedup)" ">= 10"
figure "export: shard vs raw write speed, to S3 (versitygw)" "$(metric BenchmarkExportRatio/s3/zstd ratio)" ">= 0.5"
figure "export: writer peak heap, 5,000 vs 500 rows" "$(metric BenchmarkShardMemory ratio)" "~1 (<= 1.5)" "<= 1.5"
figure "memory: peak RSS at $large over $small prompts" "$(metric BenchmarkScale rss-ratio)" "<= 1.5"
figure "scaling: time at $large over $small prompts" "$(metric BenchmarkScale time-ratio)" "<= 11"

if [ "${#failures[@]}" -eq 0 ]; then
  echo
  echo "PASS: every step ran and every figure meets its target"
  exit 0
fi
echo
printf '%s\n' "${failures[@]}"
if [ "${BENCH_NO_FAIL:-}" = 1 ]; then
  echo "BENCH_NO_FAIL=1: ${#failures[@]} failure(s) above reported for information, exit 0"
  exit 0
fi
echo "${#failures[@]} failure(s): exit 1 (BENCH_NO_FAIL=1 reports them without failing)"
exit 1
