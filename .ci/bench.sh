#!/usr/bin/env bash
# twig's performance figures, measured side by side on this machine in one
# run, with the product's targets. Each figure is a ratio taken inside one
# Go benchmark (both sides measured in the same process, back to back).
#
#   bash .ci/bench.sh           # full: the scaling pair is 5,000 vs 50,000 prompts (~10 min)
#   bash .ci/bench.sh --quick   # the scaling pair is 550 vs 5,500 prompts (~2 min)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="5000,50000"
if [ "${1:-}" = "--quick" ]; then sizes="550,5500"; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { echo "== $*" >&2; "$@" 2>&1 | tee -a "$log" | grep -E '^Benchmark' >&2; }
run go test ./pipelines -run '^$' -bench 'Pipeline$' -benchtime 3x
run go test ./pipelines -run '^$' -bench 'InFlight' -benchtime 1x
run go test ./inference/worker -run '^$' -bench 'Batching'
run go test ./exporters -run '^$' -bench 'ExportRatio/s3/zstd|ShardMemory' -benchtime 3x
TWIG_BENCH_SIZES=$sizes run go test ./cmd/twig -run '^$' -bench 'Scale' -benchtime 1x -timeout 60m

metric() { # metric BENCHMARK_REGEX UNIT
  grep -E "^$1" "$log" | head -1 | awk -v unit="$2" '{for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i}'
}
small=${sizes%,*}; large=${sizes#*,}
printf '\n%-58s %-12s %s\n' "figure ($(uname -m), $(nproc) cores, $(date -u +%F))" "measured" "target"
printf '%-58s %-12s %s\n' "pipeline: trajectories/s with the simulator" "$(metric BenchmarkPipeline traj/s)" ""
printf '%-58s %-12s %s\n' "pipeline: share of CPU outside the simulator" "$(metric BenchmarkPipeline overhead-share)" ""
printf '%-58s %-12s %s\n' "concurrency efficiency (64 in flight, 250 ms batches)" "$(metric BenchmarkInFlight efficiency)" ">= 0.9"
printf '%-58s %-12s %s\n' "batching gain, pipeline vs one prompt at a time" "$(metric BenchmarkInFlight batching-gain)" ">= 10"
printf '%-58s %-12s %s\n' "batching gain, worker alone (64 in flight vs serial)" "$(metric BenchmarkBatching speedup)" ">= 10"
printf '%-58s %-12s %s\n' "export: shard vs raw write speed, to S3 (versitygw)" "$(metric BenchmarkExportRatio/s3/zstd ratio)" ">= 0.5"
printf '%-58s %-12s %s\n' "export: writer peak heap, 5,000 vs 500 rows" "$(metric BenchmarkShardMemory ratio)" "~1"
printf '%-58s %-12s %s\n' "memory: peak RSS at $large over $small prompts" "$(metric BenchmarkScale rss-ratio)" "<= 1.5"
printf '%-58s %-12s %s\n' "scaling: time at $large over $small prompts" "$(metric BenchmarkScale time-ratio)" "<= 11"
